"""The organization's members: who they are, from verified certificates,
and what an administrator does to them (fact sheet 2, n.7 and p).

The list is built like the official client's (``LC/certif/list.rs``): one
member per ``user_certificate``; the current profile is the last
``user_update_certificate``'s, else the certificate's; a member is revoked
as soon as a ``revoked_user_certificate`` names them.  Every certificate is
verified before it is used (:func:`~parsec_tray.core.own_devices.verified_chain`).
Frozen users are known only to administrators (``list_frozen_users``).

Revocation is a ``revoked_user_certificate`` signed by an ADMIN's device
and sent with ``user_revoke``; it cannot be undone.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .crypto import VerifyKey
from .errors import CryptoError, ProtocolError, ServerRefusedError
from .i18n import _
from .own_devices import fetch_common_certificates, verified_chain
from .protocol import unexpected_status
from .serialization import format_v0_dump
from .values import DateTime, DeviceID, HumanHandle, UserID, UserProfile

if TYPE_CHECKING:
    from .session import Session

__all__ = [
    "Member",
    "find_member",
    "list_frozen_users",
    "list_members",
    "members_from_certificates",
    "revoke_user",
    "revoked_user_certificate",
]


@dataclass(frozen=True)
class Member:
    user_id: UserID
    human_handle: HumanHandle | None  # None in redacted certificates (seen by OUTSIDER users)
    profile: UserProfile
    created_on: DateTime
    created_by: DeviceID | None  # None: the organization's root key (its first user)
    revoked_on: DateTime | None = None
    revoked_by: DeviceID | None = None
    frozen: bool | None = None  # None: not known (only administrators are told)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_on is not None

    def describe(self) -> str:
        if self.human_handle is None:
            return _("user {id}").format(id=self.user_id.hex[:8])
        return f"{self.human_handle.label} <{self.human_handle.email}>"

    def to_json(self) -> dict[str, Any]:
        h = self.human_handle
        return {
            "user_id": self.user_id.hex,
            "email": str(h.email) if h else None,
            "name": h.label if h else None,
            "profile": self.profile.value,
            "created_on": str(self.created_on),
            "revoked_on": str(self.revoked_on) if self.revoked_on else None,
            "frozen": self.frozen,
        }


def _uid(value: Any) -> UserID:
    if isinstance(value, uuid.UUID):
        return UserID(value)
    raise CryptoError(_("A certificate names a user in an unexpected form."))


def members_from_certificates(
    common_certificates: Sequence[bytes], root_verify_key: VerifyKey, frozen: set[UserID] | None = None
) -> list[Member]:
    """Every user of the organization, in the order they joined."""
    members: dict[UserID, Member] = {}
    for kind, cert in verified_chain(common_certificates, root_verify_key):
        if kind == "user_certificate":
            members[cert.user_id] = Member(
                cert.user_id,
                cert.human_handle,
                cert.profile,
                cert.timestamp,
                cert.author,
                frozen=None if frozen is None else cert.user_id in frozen,
            )
        elif kind in ("user_update_certificate", "revoked_user_certificate"):
            uid = _uid(cert.get("user_id"))
            m = members.get(uid)
            if m is None:
                raise CryptoError(_("A certificate changes a user no earlier certificate introduced."))
            if kind == "user_update_certificate":
                m = Member(**{**m.__dict__, "profile": UserProfile(cert.get("new_profile"))})
            else:
                ts, author = cert.get("timestamp"), cert.get("author")
                m = Member(
                    **{
                        **m.__dict__,
                        "revoked_on": ts if isinstance(ts, DateTime) else m.created_on,
                        "revoked_by": DeviceID(author) if isinstance(author, uuid.UUID) else None,
                    }
                )
            members[uid] = m
    return list(members.values())


def list_members(session: Session) -> list[Member]:
    """The organization's users as this device may see them (with who is
    frozen when it is an administrator's)."""
    certs = fetch_common_certificates(session)
    frozen = list_frozen_users(session)
    try:
        return members_from_certificates(certs, session.device.root_verify_key, frozen)
    except (CryptoError, ValueError) as exc:
        raise ProtocolError(
            _("The server sent certificates that do not verify ({reason}).").format(reason=exc)
        ) from None


def find_member(members: Sequence[Member], email: str) -> Member:
    """The member with that email who is not revoked."""
    wanted = email.strip().lower()
    found = [m for m in members if m.human_handle and str(m.human_handle.email).lower() == wanted]
    active = [m for m in found if not m.is_revoked]
    if active:
        return active[0]
    if found:
        raise ServerRefusedError(
            _("{person} is already revoked.").format(person=found[0].describe()),
            status="user_already_revoked",
        )
    raise ServerRefusedError(
        _("Nobody with the email {email} is a member of this organization.").format(email=email.strip()),
        status="user_not_found",
    )


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
        raise ServerRefusedError(_("You cannot revoke yourself."), status="cannot_revoke_self")
    reply = session.client.send(
        "user_revoke", revoked_user_certificate=revoked_user_certificate(session, user_id)
    )
    status = reply.get("status")
    if status == "ok":
        return
    if status == "user_already_revoked":
        raise ServerRefusedError(_("{name} is already revoked.").format(name=name), status=str(status))
    if status == "user_not_found":
        raise ServerRefusedError(
            _("{name} is not a member of this organization.").format(name=name), status=str(status)
        )
    if status == "author_not_allowed":
        raise ServerRefusedError(
            _("Only an administrator of the organization can revoke a user."), status=str(status)
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
