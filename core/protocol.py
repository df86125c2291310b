"""Parsec's command protocol without I/O: request bodies, reply parsing,
signed Authorization headers and the meaning of every HTTP status.

Requests are ``msgpack({"cmd": name, ...fields})``; replies are msgpack maps
with a ``status`` string.  Business refusals come inside a 200 reply;
handshake refusals are HTTP statuses (fact sheet d.3).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .crypto import SigningKey
from .errors import (
    AuthenticationError,
    ClockOutOfSyncError,
    IncompatibleServerError,
    InvitationGoneError,
    OrganizationExpiredError,
    OrganizationNotFoundError,
    ProtocolError,
    RemoteError,
    ServerRefusedError,
    ServerUnavailableError,
    TosNotAcceptedError,
    UserFrozenError,
    UserRevokedError,
)
from .i18n import N_, _, ngettext
from .serialization import packb, unpackb
from .values import DateTime, DeviceID

__all__ = [
    "API_VERSION",
    "HTTP_ERRORS",
    "HttpReply",
    "USER_AGENT",
    "auth_header",
    "clock_error",
    "describe_offset",
    "offset_duration",
    "decode_reply",
    "encode_request",
    "http_error",
]

API_VERSION = "5.5"
USER_AGENT = "Parsec-Client/3.9.3 ParsecTray/0.1"
CONTENT_TYPE = "application/msgpack"
AUTH_PREFIX = "PARSEC-SIGN-ED25519"


def encode_request(cmd: str, **fields: Any) -> bytes:
    return packb({"cmd": cmd, **fields})


def decode_reply(body: bytes) -> dict[str, Any]:
    try:
        reply = unpackb(body, error=ProtocolError, what=N_("server's reply"))
    except ProtocolError:
        # unpackb's text names the decoder's exception class: not for people.
        raise ProtocolError(_("The server's reply cannot be decoded; is this a Parsec v3 server?")) from None
    if not isinstance(reply, dict) or not isinstance(reply.get("status"), str):
        raise ProtocolError(_("The server's reply has no status; is this a Parsec v3 server?"))
    return reply


def auth_header(device_id: DeviceID, signing_key: SigningKey, now: float | None = None) -> str:
    """``Bearer PARSEC-SIGN-ED25519.<device hex>.<unix s>.<b64url padded sig>``."""
    ts = int(now if now is not None else time.time())
    signed_part = f"{AUTH_PREFIX}.{device_id.hex}.{ts}".encode("ascii")
    sig = base64.urlsafe_b64encode(signing_key.sign_only_signature(signed_part)).decode("ascii")
    return f"Bearer {signed_part.decode('ascii')}.{sig}"


def _detail(body: bytes) -> str:
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        return ""
    return detail if isinstance(detail, str) else ""


@dataclass(frozen=True)
class HttpReply:
    """What a non-200 reply says, for :data:`HTTP_ERRORS`."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    family: str  # anonymous | invited | authenticated
    org: str
    now: float  # this computer's clock (Unix seconds) when the reply came
    api_version: str = API_VERSION  # the version the request said it speaks


def _admin_hint() -> str:
    return _("Contact an administrator of the organization.")


def _forbidden_texts(family: str) -> tuple[str, str | None]:
    if family == "invited":
        return _("The server does not know this invitation."), _("Check the link, or ask for a new invitation.")
    if family == "authenticated":
        return (
            _("The server does not recognise this device."),
            _("It may belong to another server, or its organization was reset."),
        )
    return _("The server refused access."), None


def _auth(message: Callable[[], str], hint: Callable[[], str] | None = None) -> Callable[[HttpReply], RemoteError]:
    # Texts are looked up when the error is made, in the language of that moment.
    return lambda r: AuthenticationError(message(), status=r.status, hint=hint() if hint else None)


def _forbidden(r: HttpReply) -> RemoteError:
    message, hint = _forbidden_texts(r.family)
    return AuthenticationError(message, status=r.status, hint=hint)


def _api_version(r: HttpReply) -> RemoteError:
    supported = r.headers.get("Supported-Api-Versions", "") or _("another version")
    return IncompatibleServerError(
        _(
            "This app and the server are not compatible: the app speaks Parsec API {API_VERSION}, the "
            "server speaks {supported}."
        ).format(API_VERSION=r.api_version, supported=supported),
        client_versions=r.api_version,
        server_versions=supported,
        hint=_(
            "Check for a newer version of Parsec Tray; if it is up to date, contact the server's "
            "administrator."
        ),
    )


def _not_understood(r: HttpReply) -> RemoteError:
    detail = _detail(r.body)
    if detail:
        return ProtocolError(
            _("The server could not understand the request (HTTP {status}: {detail}).").format(
                status=r.status, detail=detail
            )
        )
    return ProtocolError(_("The server could not understand the request (HTTP {status}).").format(status=r.status))


def _unavailable(r: HttpReply) -> RemoteError:
    return ServerUnavailableError(
        _("The server is unavailable (HTTP {status}).").format(status=r.status),
        status=r.status,
        hint=_("Try again in a moment."),
    )


# The one table from a non-200 reply's HTTP status to its error; a status
# not in it is an unexpected answer (ProtocolError).  The refusals of the
# organization or of this user (460-463) are each their own class, so that
# a shell tells them apart without reading any text.
HTTP_ERRORS: dict[int, Callable[[HttpReply], RemoteError]] = {
    401: _auth(lambda: _("The server rejected the request's credentials.")),
    403: _forbidden,
    404: lambda r: OrganizationNotFoundError(
        _("The organization {org!r} does not exist on this server.").format(org=r.org),
        status="organization_not_found",
        hint=_("Check the organization name and the server address."),
    ),
    410: lambda r: InvitationGoneError(
        _("This invitation has already been used or was cancelled."),
        status="invitation_gone",
        hint=_("Ask for a new invitation."),
    ),
    422: _api_version,
    460: lambda r: OrganizationExpiredError(
        _("The organization {org} has expired.").format(org=r.org), status=r.status, hint=_admin_hint()
    ),
    461: lambda r: UserRevokedError(
        _("You have been revoked from the organization {org}; this device can no longer open it.").format(org=r.org),
        status=r.status,
        hint=_("If you think this is a mistake, contact an administrator of the organization."),
    ),
    462: lambda r: UserFrozenError(
        _("Your user is frozen in the organization {org}.").format(org=r.org),
        status=r.status,
        hint=_("Contact an administrator of the organization to be unfrozen."),
    ),
    463: lambda r: TosNotAcceptedError(
        _("The organization {org} has new terms of service, to accept before you go on.").format(org=r.org),
        status=r.status,
        hint=_("Read and accept them from the tray menu, or with 'parsec-tray terms --accept'."),
    ),
    464: _auth(
        lambda: _("The organization does not accept this kind of client."),
        lambda: _("Use the official Parsec client for this organization."),
    ),
    498: lambda r: _handshake_clock_error(r.headers, r.now),
    **dict.fromkeys((406, 413, 415), _not_understood),
    **dict.fromkeys(range(500, 600), _unavailable),
}


def http_error(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    family: str,
    org: str,
    *,
    now: float | None = None,
    api_version: str = API_VERSION,
) -> RemoteError:
    """The error for a non-200 reply to a ``family`` request
    (``anonymous``, ``invited``, ``authenticated``): see :data:`HTTP_ERRORS`.
    ``now`` (this computer's clock, Unix seconds) is compared with the
    reply's ``Date`` to say how far off the clock is on a 498; ``api_version``
    is what the request's ``Api-Version`` said (a 422 names it)."""
    make = HTTP_ERRORS.get(status)
    if make is None:
        return ProtocolError(_("Unexpected answer from the server (HTTP {status}).").format(status=status))
    return make(
        HttpReply(status, headers, body, family, org, time.time() if now is None else now, api_version)
    )


CLOCK_HINT = N_("Set this computer's clock right (automatic date and time), then try again.")


# (below this many seconds, the unit and its length in seconds)
_OFFSET_UNITS = ((90, "second", 1), (90 * 60, "minute", 60), (36 * 3600, "hour", 3600))


def _duration(n: int, unit: str) -> str:
    if unit == "second":
        return ngettext("{n} second", "{n} seconds", n).format(n=n)
    if unit == "minute":
        return ngettext("{n} minute", "{n} minutes", n).format(n=n)
    if unit == "hour":
        return ngettext("{n} hour", "{n} hours", n).format(n=n)
    return ngettext("{n} day", "{n} days", n).format(n=n)


def offset_duration(seconds: float) -> str:
    """The size of a clock offset in the unit a person would use ("7 minutes",
    "1 hour"), whatever its sign."""
    size = abs(seconds)
    unit, per = next(((u, p) for limit, u, p in _OFFSET_UNITS if size < limit), ("day", 86400))
    return _duration(round(size / per), unit)


def describe_offset(seconds: float) -> str:
    """How far this computer's clock is from the server's (``seconds`` > 0:
    ahead), as the sentence a person reads ("… about 7 minutes ahead of the
    server's.")."""
    duration = offset_duration(seconds)
    if seconds > 0:
        return _("This computer's clock is about {duration} ahead of the server's.").format(duration=duration)
    return _("This computer's clock is about {duration} behind the server's.").format(duration=duration)


def _clock_error(offset: float | None) -> ClockOutOfSyncError:
    if offset is None:
        return ClockOutOfSyncError(
            _("This computer's clock is too far from the server's."), hint=_(CLOCK_HINT)
        )
    return ClockOutOfSyncError(describe_offset(offset), offset_seconds=offset, hint=_(CLOCK_HINT))


def _handshake_clock_error(headers: Mapping[str, str], now: float) -> ClockOutOfSyncError:
    """A 498 says only "out of ballpark"; the reply's ``Date`` (to the
    second) says by how much."""
    from email.utils import parsedate_to_datetime

    offset = None
    date = headers.get("Date")
    if date:
        try:
            offset = now - parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            offset = None
    return _clock_error(offset)


def clock_error(reply: Mapping[str, Any]) -> ClockOutOfSyncError:
    """``timestamp_out_of_ballpark``: say by how much the clock is off."""
    server_ts, client_ts = reply.get("server_timestamp"), reply.get("client_timestamp")
    offset = None
    if isinstance(server_ts, DateTime) and isinstance(client_ts, DateTime):
        offset = (client_ts.us - server_ts.us) / 1_000_000
    return _clock_error(offset)


def unexpected_status(cmd: str, reply: Mapping[str, Any]) -> ServerRefusedError | ClockOutOfSyncError:
    """The error for a reply status the caller does not handle itself."""
    status = reply.get("status")
    if status == "timestamp_out_of_ballpark":
        return clock_error(reply)
    return ServerRefusedError(
        _("The server refused {command} ({status}).").format(command=cmd.replace("_", " "), status=status),
        status=str(status),
    )
