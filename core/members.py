"""The organization's members as an administrator acts on them: revoke a
user, and see who is frozen (fact sheet 2, n.7 and p).

Revocation is a ``revoked_user_certificate`` signed by an ADMIN's device
and sent with ``user_revoke``; it cannot be undone.  Frozen users are known
only to administrators (``list_frozen_users``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ServerRefusedError
from .protocol import unexpected_status
from .serialization import format_v0_dump
from .values import DateTime, UserID

if TYPE_CHECKING:
    from .session import Session

__all__ = ["list_frozen_users", "revoke_user", "revoked_user_certificate"]


def revoked_user_certificate(session: Session, user_id: UserID, now: DateTime | None = None) -> bytes:
    """The signed certificate that revokes ``user_id``, authored by this device."""
    d = session.device
    cert = {
        "type": "revoked_user_certificate",
        "author": d.device_id,
        "timestamp": now or DateTime.now(),
        "user_id": user_id,
    }
    return d.signing_key.sign(format_v0_dump(cert))


def revoke_user(session: Session, user_id: UserID, *, name: str = "this user") -> None:
    """Revoke ``user_id`` (``name`` says who in the errors)."""
    if user_id == session.device.user_id:
        raise ServerRefusedError("You cannot revoke yourself.", status="cannot_revoke_self")
    reply = session.client.send(
        "user_revoke", revoked_user_certificate=revoked_user_certificate(session, user_id)
    )
    status = reply.get("status")
    if status == "ok":
        return
    if status == "user_already_revoked":
        raise ServerRefusedError(f"{name} is already revoked.", status=str(status))
    if status == "user_not_found":
        raise ServerRefusedError(f"{name} is not a member of this organization.", status=str(status))
    if status == "author_not_allowed":
        raise ServerRefusedError(
            "Only an administrator of the organization can revoke a user.", status=str(status)
        )
    raise unexpected_status("user_revoke", reply)


def list_frozen_users(session: Session) -> set[UserID] | None:
    """The frozen users' ids; ``None`` when this user may not know (not an
    administrator)."""
    reply = session.client.send("list_frozen_users")
    status = reply.get("status")
    if status == "author_not_allowed":
        return None
    if status != "ok":
        raise unexpected_status("list_frozen_users", reply)
    return {UserID(u) for u in reply.get("frozen_users", [])}
