"""Invitations: the greeter's and the claimer's commands (the SAS ceremony
that uses them lives in :mod:`parsec_tray.core.invite`).

Reply parsing is pure (:func:`parse_invite_list`, :func:`parse_invite_info`);
the functions that send take a :class:`~parsec_tray.core.session.Session`
(greeter) or a :class:`Claimer` (invited route, bearer token).  Every
refusal status becomes a :class:`~parsec_tray.core.errors.ServerRefusedError`
(or :class:`~parsec_tray.core.errors.InvitationGoneError`) whose sentence
says what happened; ``status`` keeps the server's word.

Invitation links are built client-side (fact sheet g): the server only
returns the token.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .addr import ParsecAddr, ParsecInvitationAddr
from .errors import (
    GreetingCancelledError,
    InvalidValueError,
    InvitationGoneError,
    ProtocolError,
    RemoteError,
    ServerRefusedError,
)
from .i18n import N_, _
from .protocol import clock_error, unexpected_status
from .transport import InvitedClient, Transport
from .values import AccessToken, DateTime, EmailAddress, HumanHandle, OrganizationID, UserID

if TYPE_CHECKING:
    from .session import Session

__all__ = [
    "CANCEL_REASONS",
    "Claimer",
    "CreatedBy",
    "Greeter",
    "DeviceInvitation",
    "DeviceInviteInfo",
    "GreetingAdministrator",
    "InvitationItem",
    "InviteInfo",
    "NewInvitation",
    "ShamirRecoveryInvitation",
    "ShamirRecoveryInviteInfo",
    "UserInvitation",
    "UserInviteInfo",
    "invite_cancel",
    "invite_info",
    "invite_list",
    "invite_new_device",
    "invite_new_user",
    "parse_invite_info",
    "parse_invite_list",
]

CANCEL_REASONS = (
    "MANUALLY_CANCELLED",
    "INVALID_NONCE_HASH",
    "INVALID_SAS_CODE",
    "UNDECIPHERABLE_PAYLOAD",
    "UNDESERIALIZABLE_PAYLOAD",
    "INCONSISTENT_PAYLOAD",
    "AUTOMATICALLY_CANCELLED",
)


# --- values ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NewInvitation:
    token: AccessToken
    link: ParsecInvitationAddr
    email_sent: str  # SUCCESS | SERVER_UNAVAILABLE | RECIPIENT_REFUSED (SUCCESS when no email was asked)

    @property
    def url(self) -> str:
        return self.link.to_url()


@dataclass(frozen=True)
class CreatedBy:
    """Who created an invitation: a user, or an external service."""

    kind: str  # USER | EXTERNAL_SERVICE
    user_id: UserID | None = None
    human_handle: HumanHandle | None = None
    service_label: str | None = None

    def describe(self) -> str:
        if self.human_handle is not None:
            return str(self.human_handle)
        return self.service_label or _("an external service")


@dataclass(frozen=True, kw_only=True)
class InvitationItem:
    type: str  # USER | DEVICE | SHAMIR_RECOVERY
    token: AccessToken
    created_on: DateTime
    created_by: CreatedBy
    status: str  # PENDING | CANCELLED | FINISHED

    @property
    def is_pending(self) -> bool:
        return self.status == "PENDING"

    def link(self, server: ParsecAddr, organization_id: OrganizationID) -> ParsecInvitationAddr:
        return ParsecInvitationAddr(server, organization_id, self.type, self.token)


@dataclass(frozen=True, kw_only=True)
class UserInvitation(InvitationItem):
    claimer_email: EmailAddress


@dataclass(frozen=True, kw_only=True)
class DeviceInvitation(InvitationItem):
    pass


@dataclass(frozen=True, kw_only=True)
class ShamirRecoveryInvitation(InvitationItem):
    claimer_user_id: UserID
    shamir_recovery_created_on: DateTime


@dataclass(frozen=True)
class GreetingAdministrator:
    user_id: UserID
    human_handle: HumanHandle
    online_status: str  # ONLINE | OFFLINE | UNKNOWN
    last_greeting_attempt_joined_on: DateTime | None


@dataclass(frozen=True, kw_only=True)
class InviteInfo:
    type: str
    created_by: CreatedBy

    def greeters(self) -> list[UserID]:
        """The users who can greet this claimer (preferred one first)."""
        return []


@dataclass(frozen=True, kw_only=True)
class UserInviteInfo(InviteInfo):
    claimer_email: EmailAddress
    administrators: tuple[GreetingAdministrator, ...]

    def greeters(self) -> list[UserID]:
        ids = [a.user_id for a in self.administrators]
        creator = self.created_by.user_id
        if creator is not None and creator in ids:  # the official claimer prefers the creator
            ids.remove(creator)
            ids.insert(0, creator)
        return ids


@dataclass(frozen=True, kw_only=True)
class DeviceInviteInfo(InviteInfo):
    claimer_user_id: UserID
    claimer_human_handle: HumanHandle

    def greeters(self) -> list[UserID]:
        return [self.claimer_user_id]


@dataclass(frozen=True, kw_only=True)
class ShamirRecoveryInviteInfo(InviteInfo):
    claimer_user_id: UserID
    claimer_human_handle: HumanHandle
    shamir_recovery_created_on: DateTime
    threshold: int
    recipients: tuple[Mapping[str, Any], ...]


# --- reply parsing (pure) -----------------------------------------------------------


def _bad(what: str) -> ProtocolError:
    return ProtocolError(_("The server's {what} has an unexpected shape.").format(what=_(what)))


def _get(obj: Mapping[str, Any], name: str, kind: type | tuple[type, ...], what: str) -> Any:
    v = obj.get(name)
    if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
        raise _bad(what)
    return v


def _handle(value: Any, what: str) -> HumanHandle:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise _bad(what)
    try:
        return HumanHandle(value[0], value[1])
    except (InvalidValueError, TypeError):
        raise _bad(what) from None


def _user_id(value: Any, what: str) -> UserID:
    if not isinstance(value, uuid.UUID):
        raise _bad(what)
    return UserID(value)


def _created_by(value: Any, what: str) -> CreatedBy:
    if not isinstance(value, Mapping):
        raise _bad(what)
    kind = value.get("type")
    if kind == "USER":
        return CreatedBy(
            "USER",
            user_id=_user_id(value.get("user_id"), what),
            human_handle=_handle(value.get("human_handle"), what),
        )
    if kind == "EXTERNAL_SERVICE":
        return CreatedBy("EXTERNAL_SERVICE", service_label=_get(value, "service_label", str, what))
    raise _bad(what)


def _token(value: Any, what: str) -> AccessToken:
    if not isinstance(value, bytes) or len(value) != 16:
        raise _bad(what)
    return AccessToken(value)


def parse_invite_list(reply: Mapping[str, Any]) -> list[InvitationItem]:
    what = N_("invitation list")
    items = reply.get("invitations")
    if not isinstance(items, list):
        raise _bad(what)
    out: list[InvitationItem] = []
    for it in items:
        if not isinstance(it, Mapping):
            raise _bad(what)
        common: dict[str, Any] = {
            "token": _token(it.get("token"), what),
            "created_on": _get(it, "created_on", DateTime, what),
            "created_by": _created_by(it.get("created_by"), what),
            "status": _get(it, "status", str, what),
        }
        kind = it.get("type")
        if kind == "USER":
            try:
                email = EmailAddress(_get(it, "claimer_email", str, what))
            except InvalidValueError:
                raise _bad(what) from None
            out.append(UserInvitation(type="USER", claimer_email=email, **common))
        elif kind == "DEVICE":
            out.append(DeviceInvitation(type="DEVICE", **common))
        elif kind == "SHAMIR_RECOVERY":
            out.append(
                ShamirRecoveryInvitation(
                    type="SHAMIR_RECOVERY",
                    claimer_user_id=_user_id(it.get("claimer_user_id"), what),
                    shamir_recovery_created_on=_get(it, "shamir_recovery_created_on", DateTime, what),
                    **common,
                )
            )
        # an invitation type from a newer server: not ours to show
    return out


def parse_invite_info(reply: Mapping[str, Any]) -> InviteInfo:
    what = N_("invitation information")
    kind = reply.get("type")
    created_by = _created_by(reply.get("created_by"), what)
    if kind == "USER":
        admins = reply.get("administrators")
        if not isinstance(admins, list):
            raise _bad(what)
        parsed = []
        for a in admins:
            if not isinstance(a, Mapping):
                raise _bad(what)
            joined = a.get("last_greeting_attempt_joined_on")
            if joined is not None and not isinstance(joined, DateTime):
                raise _bad(what)
            parsed.append(
                GreetingAdministrator(
                    user_id=_user_id(a.get("user_id"), what),
                    human_handle=_handle(a.get("human_handle"), what),
                    online_status=_get(a, "online_status", str, what),
                    last_greeting_attempt_joined_on=joined,
                )
            )
        try:
            email = EmailAddress(_get(reply, "claimer_email", str, what))
        except InvalidValueError:
            raise _bad(what) from None
        return UserInviteInfo(
            type="USER", created_by=created_by, claimer_email=email, administrators=tuple(parsed)
        )
    if kind == "DEVICE":
        return DeviceInviteInfo(
            type="DEVICE",
            created_by=created_by,
            claimer_user_id=_user_id(reply.get("claimer_user_id"), what),
            claimer_human_handle=_handle(reply.get("claimer_human_handle"), what),
        )
    if kind == "SHAMIR_RECOVERY":
        recipients = reply.get("recipients")
        if not isinstance(recipients, list):
            raise _bad(what)
        return ShamirRecoveryInviteInfo(
            type="SHAMIR_RECOVERY",
            created_by=created_by,
            claimer_user_id=_user_id(reply.get("claimer_user_id"), what),
            claimer_human_handle=_handle(reply.get("claimer_human_handle"), what),
            shamir_recovery_created_on=_get(reply, "shamir_recovery_created_on", DateTime, what),
            threshold=_get(reply, "threshold", int, what),
            recipients=tuple(r for r in recipients if isinstance(r, Mapping)),
        )
    raise _bad(what)


# --- greeter side ----------------------------------------------------------------------


_Refusals = Mapping[str, tuple[type[ServerRefusedError], str, str | None]]


def greeting_cancelled(reply: Mapping[str, Any], *, i_am_greeter: bool) -> GreetingCancelledError:
    """``greeting_attempt_(already_)cancelled {origin, reason}``: who
    cancelled, why, in a sentence for this side."""
    origin, reason = reply.get("origin"), reply.get("reason")
    origin = origin if isinstance(origin, str) else None
    reason = reason if isinstance(reason, str) else "MANUALLY_CANCELLED"
    by_peer = origin != ("GREETER" if i_am_greeter else "CLAIMER")
    if reason == "INVALID_SAS_CODE":
        message = (
            _("The other side reported a wrong code: the codes did not match.")
            if by_peer
            else _("The codes did not match: the attempt is cancelled.")
        )
    elif by_peer:
        message = _("The other side cancelled the greeting.")
    else:
        message = _("This greeting attempt was cancelled.")
    return GreetingCancelledError(
        message,
        reason=reason,
        by_peer=by_peer,
        origin=origin,
        status=str(reply.get("status")),
        hint=_("Nothing was saved; start again."),
    )


def _refusal(cmd: str, reply: Mapping[str, Any], sentences: _Refusals, **facts: object) -> RemoteError:
    """The error for a refused ``cmd``: ``sentences`` (marked with ``N_``)
    are translated here, their placeholders filled from ``facts``."""
    status = reply.get("status")
    if status in ("greeting_attempt_cancelled", "greeting_attempt_already_cancelled"):
        return greeting_cancelled(reply, i_am_greeter=cmd.startswith("invite_greeter"))
    if isinstance(status, str) and status in sentences:
        cls, message, hint = sentences[status]
        return cls(_(message).format(**facts), status=status, hint=_(hint) if hint else None)
    return unexpected_status(cmd, reply)


def _new_invitation(session: Session, kind: str, reply: Mapping[str, Any]) -> NewInvitation:
    token = _token(reply.get("token"), "invitation")
    email_sent = reply.get("email_sent")
    d = session.device
    return NewInvitation(
        token=token,
        link=ParsecInvitationAddr(d.server, d.organization_id, kind, token),
        email_sent=email_sent if isinstance(email_sent, str) else "SUCCESS",
    )


def invite_new_user(session: Session, email: str, *, send_email: bool = False) -> NewInvitation:
    """Invite ``email`` to join the organization (administrators only).

    Inviting an email that already has a pending invitation returns that
    invitation again (same token)."""
    claimer = EmailAddress(email)
    reply = session.client.send("invite_new_user", claimer_email=str(claimer), send_email=bool(send_email))
    if reply.get("status") == "ok":
        return _new_invitation(session, "USER", reply)
    raise _refusal(
        "invite_new_user",
        reply,
        {
            "author_not_allowed": (
                ServerRefusedError,
                N_("Only administrators can invite users."),
                N_("Ask an administrator of the organization to send the invitation."),
            ),
            "claimer_email_already_enrolled": (
                ServerRefusedError,
                N_("{claimer} is already a member of this organization."),
                N_("To add a computer for them, they invite a new device from their own device."),
            ),
        },
        claimer=claimer,
    )


def invite_new_device(session: Session, *, send_email: bool = False) -> NewInvitation:
    """Invite a new device of this device's user."""
    reply = session.client.send("invite_new_device", send_email=bool(send_email))
    if reply.get("status") == "ok":
        return _new_invitation(session, "DEVICE", reply)
    raise _refusal("invite_new_device", reply, {})


def invite_list(session: Session) -> list[InvitationItem]:
    """Every invitation this user can greet: pending, cancelled and finished
    ones (filter on ``status``)."""
    reply = session.client.send("invite_list")
    if reply.get("status") != "ok":
        raise _refusal("invite_list", reply, {})
    return parse_invite_list(reply)


def invite_cancel(session: Session, token: AccessToken | bytes | str) -> None:
    reply = session.client.send("invite_cancel", token=bytes(AccessToken(token)))
    if reply.get("status") == "ok":
        return
    raise _refusal(
        "invite_cancel",
        reply,
        {
            "invitation_not_found": (
                ServerRefusedError,
                N_("This invitation does not exist in the organization."),
                N_("Check the link; it may belong to another organization."),
            ),
            "author_not_allowed": (
                ServerRefusedError,
                N_("You are not allowed to cancel this invitation."),
                N_(
                    "Only administrators cancel user invitations; a device invitation is cancelled by its "
                    "user."
                ),
            ),
            "invitation_completed": (
                InvitationGoneError,
                N_("This invitation was already used: it cannot be cancelled."),
                None,
            ),
            "invitation_already_cancelled": (
                InvitationGoneError,
                N_("This invitation was already cancelled."),
                None,
            ),
        },
    )


# --- claimer side --------------------------------------------------------------------


_CLAIMER_REFUSALS: dict[str, tuple[type[ServerRefusedError], str, str | None]] = {
    "greeter_not_found": (
        ServerRefusedError,
        N_("The person chosen to greet you is not a member of the organization."),
        N_("Choose another administrator."),
    ),
    "greeter_revoked": (
        ServerRefusedError,
        N_("The person chosen to greet you is no longer a member of the organization."),
        N_("Choose another administrator."),
    ),
    "greeter_not_allowed": (
        ServerRefusedError,
        N_("The person chosen to greet you cannot greet this invitation."),
        N_("Choose an administrator of the organization."),
    ),
    "greeting_attempt_not_found": (
        ServerRefusedError,
        N_("The server does not know this greeting attempt."),
        N_("Start again."),
    ),
    "greeting_attempt_not_joined": (
        ServerRefusedError,
        N_("The greeter has not joined this greeting attempt yet."),
        None,
    ),
    "step_mismatch": (
        ServerRefusedError,
        N_("The server holds another answer for this greeting step."),
        N_("Start again."),
    ),
    "step_too_advanced": (
        ServerRefusedError,
        N_("This greeting step comes before the other side is there."),
        N_("Start again."),
    ),
}


class Claimer:
    """The invited side of one invitation link (``Authorization: Bearer <token>``).

    A used or cancelled invitation makes every call raise
    :class:`~parsec_tray.core.errors.InvitationGoneError` (HTTP 410); an
    unknown token :class:`~parsec_tray.core.errors.AuthenticationError` (403).
    """

    def __init__(self, link: str | ParsecInvitationAddr, *, transport: Transport | None = None) -> None:
        self.addr = link if isinstance(link, ParsecInvitationAddr) else ParsecInvitationAddr.parse(link)
        self._own_transport = transport is None
        self.transport = transport or Transport(self.addr.server)
        self.client = InvitedClient(self.transport, self.addr.organization_id, self.addr.token)

    def close(self) -> None:
        if self._own_transport:
            self.transport.close()

    def __enter__(self) -> Claimer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, cmd: str, **fields: Any) -> dict[str, Any]:
        reply = self.client.send(cmd, **fields)
        if reply.get("status") == "ok":
            return reply
        raise _refusal(cmd, reply, _CLAIMER_REFUSALS)

    def info(self) -> InviteInfo:
        return parse_invite_info(self._send("invite_info"))

    def start_greeting_attempt(self, greeter: UserID | uuid.UUID) -> uuid.UUID:
        """Ask ``greeter`` to join; returns the greeting attempt id (the same
        one the greeter gets when it starts its side)."""
        reply = self._send("invite_claimer_start_greeting_attempt", greeter=UserID(greeter))
        attempt = reply.get("greeting_attempt")
        if not isinstance(attempt, uuid.UUID):
            raise _bad("greeting attempt")
        return attempt

    def step(self, greeting_attempt: uuid.UUID, claimer_step: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """Submit one claimer step; the greeter's step of the same number, or
        ``None`` while the greeter has not submitted it (``not_ready``)."""
        reply = self.client.send(
            "invite_claimer_step", greeting_attempt=greeting_attempt, claimer_step=dict(claimer_step)
        )
        status = reply.get("status")
        if status == "ok":
            greeter_step = reply.get("greeter_step")
            if not isinstance(greeter_step, Mapping):
                raise _bad("greeter step")
            return greeter_step
        if status == "not_ready":
            return None
        raise _refusal("invite_claimer_step", reply, _CLAIMER_REFUSALS)

    def wait_peer(self, greeting_attempt: uuid.UUID, public_key: bytes) -> bytes | None:
        """Step 0 (one poll): send our X25519 public key; the greeter's, or
        ``None`` while it has not joined.  Each poll makes the server send
        GREETING_ATTEMPT_READY to the greeter."""
        peer = self.step(greeting_attempt, {"step": "NUMBER_0_WAIT_PEER", "public_key": bytes(public_key)})
        if peer is None:
            return None
        key = peer.get("public_key")
        if peer.get("step") != "NUMBER_0_WAIT_PEER" or not isinstance(key, bytes) or len(key) != 32:
            raise _bad("greeter step")
        return key

    def cancel_greeting_attempt(
        self, greeting_attempt: uuid.UUID, reason: str = "MANUALLY_CANCELLED"
    ) -> None:
        if reason not in CANCEL_REASONS:
            raise InvalidValueError(
                _("{reason!r} is not a reason Parsec knows for cancelling.").format(reason=reason)
            )
        self._send("invite_claimer_cancel_greeting_attempt", greeting_attempt=greeting_attempt, reason=reason)


_GREETER_REFUSALS: dict[str, tuple[type[ServerRefusedError], str, str | None]] = {
    "invitation_not_found": (
        ServerRefusedError,
        N_("This invitation does not exist in the organization."),
        N_("Check the token; run 'parsec-tray invitations' to list them."),
    ),
    "invitation_completed": (InvitationGoneError, N_("This invitation was already used."), None),
    "invitation_cancelled": (
        InvitationGoneError,
        N_("This invitation was cancelled."),
        N_("Invite them again."),
    ),
    "author_not_allowed": (
        ServerRefusedError,
        N_("You are not allowed to greet this invitation."),
        N_("Administrators greet new users; a new device is greeted from one of its user's devices."),
    ),
    **{k: v for k, v in _CLAIMER_REFUSALS.items() if k.startswith(("greeting_attempt", "step_"))},
}

_CREATE_REFUSALS: dict[str, tuple[type[ServerRefusedError], str, str | None]] = {
    "author_not_allowed": (ServerRefusedError, N_("Only administrators can add users."), None),
    "active_users_limit_reached": (
        ServerRefusedError,
        N_("The organization has reached its number of users."),
        N_("Ask the server's administrator to raise the limit."),
    ),
    "human_handle_already_taken": (
        ServerRefusedError,
        N_("A member of the organization already has this email."),
        None,
    ),
    "user_already_exists": (ServerRefusedError, N_("This user already exists."), N_("Start again.")),
    "device_already_exists": (ServerRefusedError, N_("This device already exists."), N_("Start again.")),
    "invalid_certificate": (
        ServerRefusedError,
        N_("The server refused the new certificates."),
        N_("This is a bug in Parsec Tray; please report it."),
    ),
}


class Greeter:
    """The greeting side of one invitation, over an authenticated session:
    the same shape as :class:`Claimer` (start, step, cancel), plus what
    only a greeter does (create the user or device, complete)."""

    def __init__(self, session: Session, token: AccessToken | bytes | str) -> None:
        self.session = session
        self.token = AccessToken(token)

    def _send(self, cmd: str, sentences: _Refusals = _GREETER_REFUSALS, **fields: Any) -> dict[str, Any]:
        reply = self.session.client.send(cmd, **fields)
        if reply.get("status") == "ok":
            return reply
        raise _refusal(cmd, reply, sentences)

    def start_greeting_attempt(self) -> uuid.UUID:
        reply = self._send("invite_greeter_start_greeting_attempt", token=bytes(self.token))
        attempt = reply.get("greeting_attempt")
        if not isinstance(attempt, uuid.UUID):
            raise _bad("greeting attempt")
        return attempt

    def step(self, greeting_attempt: uuid.UUID, greeter_step: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """Submit one greeter step; the claimer's step of the same number, or
        ``None`` while it has not submitted it (``not_ready``)."""
        reply = self.session.client.send(
            "invite_greeter_step", greeting_attempt=greeting_attempt, greeter_step=dict(greeter_step)
        )
        status = reply.get("status")
        if status == "ok":
            claimer_step = reply.get("claimer_step")
            if not isinstance(claimer_step, Mapping):
                raise _bad("claimer step")
            return claimer_step
        if status == "not_ready":
            return None
        raise _refusal("invite_greeter_step", reply, _GREETER_REFUSALS)

    def cancel_greeting_attempt(self, greeting_attempt: uuid.UUID, reason: str = "MANUALLY_CANCELLED") -> None:
        if reason not in CANCEL_REASONS:
            raise InvalidValueError(
                _("{reason!r} is not a reason Parsec knows for cancelling.").format(reason=reason)
            )
        self._send("invite_greeter_cancel_greeting_attempt", greeting_attempt=greeting_attempt, reason=reason)

    def create(self, cmd: str, fields: Mapping[str, Any]) -> DateTime | None:
        """``user_create`` or ``device_create`` with signed certificates;
        ``None`` when accepted, else the timestamp the certificates must be
        strictly after (``require_greater_timestamp``)."""
        reply = self.session.client.send(cmd, **fields)
        status = reply.get("status")
        if status == "ok":
            return None
        if status == "require_greater_timestamp":
            after = reply.get("strictly_greater_than")
            if not isinstance(after, DateTime):
                raise _bad("reply")
            return after
        if status == "timestamp_out_of_ballpark":
            raise clock_error(reply)
        raise _refusal(cmd, reply, _CREATE_REFUSALS)

    def complete(self) -> None:
        self._send("invite_complete", token=bytes(self.token))


def invite_info(link: str | ParsecInvitationAddr, *, transport: Transport | None = None) -> InviteInfo:
    """What an invitation link is for, and who can greet it (claimer side)."""
    with Claimer(link, transport=transport) as claimer:
        return claimer.info()
