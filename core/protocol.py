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
        reply = unpackb(body, error=ProtocolError, what="server's reply")
    except ProtocolError:
        # unpackb's text names the decoder's exception class: not for people.
        raise ProtocolError("The server's reply cannot be decoded; is this a Parsec v3 server?") from None
    if not isinstance(reply, dict) or not isinstance(reply.get("status"), str):
        raise ProtocolError("The server's reply has no status; is this a Parsec v3 server?")
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


_ADMIN = "Contact an administrator of the organization."
_FORBIDDEN = {
    "invited": ("The server does not know this invitation.", "Check the link, or ask for a new invitation."),
    "authenticated": (
        "The server does not recognise this device.",
        "It may belong to another server, or its organization was reset.",
    ),
}


def _auth(message: str, hint: str | None = None) -> Callable[[HttpReply], RemoteError]:
    return lambda r: AuthenticationError(message, status=r.status, hint=hint)


def _forbidden(r: HttpReply) -> RemoteError:
    message, hint = _FORBIDDEN.get(r.family, ("The server refused access.", None))
    return AuthenticationError(message, status=r.status, hint=hint)


def _api_version(r: HttpReply) -> RemoteError:
    supported = r.headers.get("Supported-Api-Versions", "") or "another version"
    return IncompatibleServerError(
        f"This app and the server are not compatible: the app speaks Parsec API {API_VERSION}, "
        f"the server speaks {supported}.",
        client_versions=API_VERSION,
        server_versions=supported,
        hint="Check for a newer version of Parsec Tray; if it is up to date, contact the server's administrator.",
    )


def _not_understood(r: HttpReply) -> RemoteError:
    detail = _detail(r.body)
    return ProtocolError(
        f"The server could not understand the request (HTTP {r.status}{': ' + detail if detail else ''})."
    )


def _unavailable(r: HttpReply) -> RemoteError:
    return ServerUnavailableError(
        f"The server is unavailable (HTTP {r.status}).", status=r.status, hint="Try again in a moment."
    )


# The one table from a non-200 reply's HTTP status to its error; a status
# not in it is an unexpected answer (ProtocolError).  The refusals of the
# organization or of this user (460-463) are each their own class, so that
# a shell tells them apart without reading any text.
HTTP_ERRORS: dict[int, Callable[[HttpReply], RemoteError]] = {
    401: _auth("The server rejected the request's credentials."),
    403: _forbidden,
    404: lambda r: OrganizationNotFoundError(
        f"The organization {r.org!r} does not exist on this server.",
        status="organization_not_found",
        hint="Check the organization name and the server address.",
    ),
    410: lambda r: InvitationGoneError(
        "This invitation has already been used or was cancelled.",
        status="invitation_gone",
        hint="Ask for a new invitation.",
    ),
    422: _api_version,
    460: lambda r: OrganizationExpiredError(f"The organization {r.org} has expired.", status=r.status, hint=_ADMIN),
    461: lambda r: UserRevokedError(
        f"You have been revoked from the organization {r.org}; this device can no longer open it.",
        status=r.status,
        hint="If you think this is a mistake, contact an administrator of the organization.",
    ),
    462: lambda r: UserFrozenError(
        f"Your user is frozen in the organization {r.org}.",
        status=r.status,
        hint="Contact an administrator of the organization to be unfrozen.",
    ),
    463: lambda r: TosNotAcceptedError(
        f"The organization {r.org} has new terms of service, to accept before you go on.",
        status=r.status,
        hint="Read and accept them from the tray menu, or with 'parsec-tray terms --accept'.",
    ),
    464: _auth(
        "The organization does not accept this kind of client.",
        "Use the official Parsec client for this organization.",
    ),
    498: lambda r: _handshake_clock_error(r.headers, r.now),
    **dict.fromkeys((406, 413, 415), _not_understood),
    **dict.fromkeys(range(500, 600), _unavailable),
}


def http_error(
    status: int, headers: Mapping[str, str], body: bytes, family: str, org: str, *, now: float | None = None
) -> RemoteError:
    """The error for a non-200 reply to a ``family`` request
    (``anonymous``, ``invited``, ``authenticated``): see :data:`HTTP_ERRORS`.
    ``now`` (this computer's clock, Unix seconds) is compared with the
    reply's ``Date`` to say how far off the clock is on a 498."""
    make = HTTP_ERRORS.get(status)
    if make is None:
        return ProtocolError(f"Unexpected answer from the server (HTTP {status}).")
    return make(HttpReply(status, headers, body, family, org, time.time() if now is None else now))


CLOCK_HINT = "Set this computer's clock right (automatic date and time), then try again."


_OFFSET_UNITS = ((90, "second", 1), (90 * 60, "minute", 60), (36 * 3600, "hour", 3600))


def describe_offset(seconds: float) -> str:
    """``about 7 minutes ahead of`` the server's clock, in words a person reads."""
    size = abs(seconds)
    unit, per = next(
        ((u, p) for limit, u, p in _OFFSET_UNITS if size < limit), ("day", 86400)
    )
    n = round(size / per)
    return f"about {n} {unit}{'' if n == 1 else 's'} {'ahead of' if seconds > 0 else 'behind'}"


def _clock_error(offset: float | None) -> ClockOutOfSyncError:
    if offset is None:
        return ClockOutOfSyncError("This computer's clock is too far from the server's.", hint=CLOCK_HINT)
    return ClockOutOfSyncError(
        f"This computer's clock is {describe_offset(offset)} the server's.", offset_seconds=offset, hint=CLOCK_HINT
    )


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
    return ServerRefusedError(f"The server refused {cmd.replace('_', ' ')} ({status}).", status=str(status))
