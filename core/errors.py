"""The one error tree of Parsec Tray.

Every error a caller can see derives from :class:`ParsecTrayError` and carries
a sentence a person can act on (``str(err)``).  Library exceptions (requests,
nacl, msgpack, zstandard, keyring, OSError) are translated at the boundary
where they happen; nothing above ``core`` should ever see them.

    ParsecTrayError
    ├── LocalError                       something on this computer
    │   ├── CliError                     the command line's input is unusable
    │   ├── InvalidValueError            a name, email, label... breaks a rule
    │   ├── InvalidLinkError             not a usable parsec3:// address
    │   ├── DeviceFileError
    │   │   ├── DeviceFileCorruptError   unreadable, truncated, tampered
    │   │   ├── UnsupportedDeviceFileError  TOTP, smartcard, unknown kind
    │   │   │   └── SlowKeyDerivationError  Argon2id costs far above the defaults: ask first
    │   │   ├── WrongPasswordError       decryption failed
    │   │   └── DeviceFileWriteError     disk full, permission, exists
    │   ├── DeviceNotFoundError          no device / ambiguous choice
    │   ├── KeyringError                 OS keyring missing or locked
    │   ├── AutostartError               start at login cannot be changed
    │   ├── CryptoError                  bad signature or undecipherable data
    │   └── GreetingStateError           a greeting step out of order (a bug)
    └── RemoteError                      something between us and the server
        ├── ServerUnreachableError       connection refused, DNS, timeout
        │   ├── TLSError                 certificate or handshake failure
        │   └── DeadlineExceededError    no complete answer within the overall deadline
        ├── OutcomeUnknownError          the reply to an irreversible request was lost; the keys are kept
        ├── ServerUnavailableError       5xx
        ├── ProtocolError                undecodable reply
        │   ├── IncompatibleServerError  422: no API version in common
        │   └── ReplyTooLargeError       a reply beyond the size cap (compressed or not)
        ├── AuthenticationError          device unknown, bad token
        │   ├── ClockOutOfSyncError      498 / timestamp_out_of_ballpark
        │   ├── OrganizationExpiredError 460
        │   ├── UserRevokedError         461
        │   ├── UserFrozenError          462
        │   └── TosNotAcceptedError      463: new terms of service to accept
        └── ServerRefusedError           the server said no (reply status)
            ├── OrganizationNotFoundError
            ├── OrganizationAlreadyExistsError
            ├── InvalidBootstrapTokenError
            ├── InvitationGoneError
            └── GreetingCancelledError   a greeting attempt ended (wrong code…)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "AutostartError",
    "AuthenticationError",
    "CliError",
    "ClockOutOfSyncError",
    "CryptoError",
    "DeadlineExceededError",
    "DeviceFileCorruptError",
    "DeviceFileError",
    "DeviceFileWriteError",
    "DeviceNotFoundError",
    "GreetingCancelledError",
    "GreetingStateError",
    "IncompatibleServerError",
    "InvalidBootstrapTokenError",
    "InvalidLinkError",
    "InvalidValueError",
    "InvitationGoneError",
    "KeyringError",
    "LocalError",
    "OrganizationAlreadyExistsError",
    "OrganizationExpiredError",
    "OrganizationNotFoundError",
    "OutcomeUnknownError",
    "ParsecTrayError",
    "ProtocolError",
    "RemoteError",
    "ReplyTooLargeError",
    "ServerRefusedError",
    "ServerUnavailableError",
    "ServerUnreachableError",
    "SlowKeyDerivationError",
    "TLSError",
    "TosNotAcceptedError",
    "UnsupportedDeviceFileError",
    "UserFrozenError",
    "UserRevokedError",
    "WrongPasswordError",
]


class ParsecTrayError(Exception):
    """Root of every error raised by Parsec Tray.

    ``str(err)`` is one sentence meant for a person; ``err.hint``, when set,
    says what to do next and is appended to the sentence.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} {self.hint}"
        return self.message

    def reworded(self, *, message: str | None = None, hint: str | None = None) -> Self:
        """A new error of the same class and facts, with another message or
        hint (what a caller that knows more says).  Raise it ``from`` this
        one: a raised error is never changed."""
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.message = self.message if message is None else message
        new.hint = self.hint if hint is None else hint
        new.args = (new.message,)
        return new


class LocalError(ParsecTrayError):
    """The problem is on this computer (input, files, keyring)."""


class CliError(LocalError):
    """What was given on the command line or its standard input is unusable."""


class InvalidValueError(LocalError, ValueError):
    """A value typed or read does not follow Parsec's rules.

    ``field`` names the value it is about, as the forms name their fields
    (``organization``, ``email``, ``user_name``, ``device_label``,
    ``password``...), or is None: a shell highlights that field without
    ever reading the message.
    """

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.field = field


class InvalidLinkError(LocalError, ValueError):
    """A ``parsec3://`` (or redirection) address cannot be used."""


class DeviceFileError(LocalError):
    """A device key file cannot be used."""


class DeviceFileCorruptError(DeviceFileError):
    """The file is not a Parsec device file, or it was damaged."""


class UnsupportedDeviceFileError(DeviceFileError):
    """A valid device file protected in a way this app does not handle."""


class SlowKeyDerivationError(UnsupportedDeviceFileError):
    """The file's Argon2id costs are far above libparsec's defaults: deriving
    would take long and much memory.  A shell asks the person, then retries
    with ``allow_slow_kdf=True``."""

    def __init__(
        self, message: str, *, memlimit_kb: int, opslimit: int, parallelism: int, factor: float,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.memlimit_kb = memlimit_kb
        self.opslimit = opslimit
        self.parallelism = parallelism
        self.factor = factor  # times libparsec's default cost


class WrongPasswordError(DeviceFileError):
    """The password (or keyring secret) does not decrypt the device."""


class DeviceFileWriteError(DeviceFileError):
    """The device file could not be written; nothing was left behind."""


class DeviceNotFoundError(LocalError):
    """No local device matches the request (or several do)."""


class KeyringError(LocalError):
    """The OS keyring is missing, locked or refused the operation."""


class AutostartError(LocalError):
    """Start at login could not be turned on or off."""


class CryptoError(LocalError):
    """A signature does not verify or data does not decrypt."""


class RemoteError(ParsecTrayError):
    """The problem is the server or the way to it."""


class ServerUnreachableError(RemoteError):
    """No answer: connection refused, name not resolved, timeout.

    ``request_sent`` is False when the request certainly never left (no
    connection, TLS handshake failed): a caller may then undo its
    preparations; True when it may have reached the server."""

    def __init__(self, message: str, *, hint: str | None = None, request_sent: bool = True) -> None:
        super().__init__(message, hint=hint)
        self.request_sent = request_sent


class TLSError(ServerUnreachableError):
    """The TLS handshake or certificate check failed."""


class DeadlineExceededError(ServerUnreachableError):
    """The server did not complete its answer within the overall deadline
    (a slow or stalling server: every byte in time, the whole too late)."""

    def __init__(self, message: str, *, seconds: float, hint: str | None = None, request_sent: bool = True) -> None:
        super().__init__(message, hint=hint, request_sent=request_sent)
        self.seconds = seconds


class OutcomeUnknownError(RemoteError):
    """An irreversible request (organization bootstrap, claim, import) may
    have reached the server but its answer did not come back.  Nothing is
    lost: the new device's file is kept at ``device_file`` (pending) and the
    outcome is settled at the next login with it (or a retry)."""

    def __init__(
        self, message: str, *, device_file: Path, device_id: str, organization_id: str,
        cause: ParsecTrayError | None = None, hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.device_file = device_file
        self.device_id = device_id
        self.organization_id = organization_id
        self.cause = cause


class ServerUnavailableError(RemoteError):
    """The server answered with a 5xx status."""

    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class ProtocolError(RemoteError):
    """The server's answer is not what Parsec v3 (API 5) says it should be."""


class IncompatibleServerError(ProtocolError):
    """The server speaks no API version this app speaks (HTTP 422)."""

    def __init__(
        self, message: str, *, client_versions: str, server_versions: str, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.client_versions = client_versions
        self.server_versions = server_versions


class ReplyTooLargeError(ProtocolError):
    """A reply (or its decompressed content) exceeds the size cap."""

    def __init__(self, message: str, *, limit: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.limit = limit


class AuthenticationError(RemoteError):
    """The server does not accept this device (or this invitation)."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class ClockOutOfSyncError(AuthenticationError):
    """This computer's clock differs too much from the server's."""

    def __init__(self, message: str, *, offset_seconds: float | None = None, hint: str | None = None) -> None:
        super().__init__(message, status=498, hint=hint)
        self.offset_seconds = offset_seconds


class OrganizationExpiredError(AuthenticationError):
    """The organization has expired (HTTP 460): nothing works until an
    administrator of the server renews it."""


class UserRevokedError(AuthenticationError):
    """This user was revoked (HTTP 461): for good."""


class UserFrozenError(AuthenticationError):
    """This user is frozen (HTTP 462) until an administrator unfreezes it."""


class TosNotAcceptedError(AuthenticationError):
    """The organization's terms of service must be accepted (HTTP 463)."""


class ServerRefusedError(RemoteError):
    """The server understood the request and refused it (reply status)."""

    def __init__(self, message: str, *, status: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class OrganizationNotFoundError(ServerRefusedError):
    """The organization does not exist on that server."""


class OrganizationAlreadyExistsError(ServerRefusedError):
    """The organization exists (and is bootstrapped) already."""


class InvalidBootstrapTokenError(ServerRefusedError):
    """The bootstrap link's token is wrong, used or replaced."""


class InvitationGoneError(ServerRefusedError):
    """The invitation was completed or cancelled."""


class GreetingStateError(LocalError):
    """A greeting machine was given an event its state does not allow."""


class GreetingCancelledError(ServerRefusedError):
    """A greeting attempt ended before its end: cancelled by this side or
    by the peer (``by_peer``), for ``reason`` (a ``CancelledGreetingAttemptReason``
    such as ``INVALID_SAS_CODE``); ``origin`` is ``GREETER`` or ``CLAIMER``
    when the server said who cancelled."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        by_peer: bool,
        origin: str | None = None,
        status: str | None = "greeting_attempt_cancelled",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, status=status, hint=hint)
        self.reason = reason
        self.by_peer = by_peer
        self.origin = origin
