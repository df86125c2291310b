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
    │   │   ├── WrongPasswordError       decryption failed
    │   │   └── DeviceFileWriteError     disk full, permission, exists
    │   ├── DeviceNotFoundError          no device / ambiguous choice
    │   ├── KeyringError                 OS keyring missing or locked
    │   ├── AutostartError               start at login cannot be changed
    │   └── CryptoError                  bad signature or undecipherable data
    └── RemoteError                      something between us and the server
        ├── ServerUnreachableError       connection refused, DNS, timeout
        │   └── TLSError                 certificate or handshake failure
        ├── ServerUnavailableError       5xx
        ├── ProtocolError                undecodable reply, API mismatch
        ├── AuthenticationError          device unknown, revoked, bad token
        │   └── ClockOutOfSyncError      498 / timestamp_out_of_ballpark
        └── ServerRefusedError           the server said no (reply status)
            ├── OrganizationNotFoundError
            ├── OrganizationAlreadyExistsError
            ├── InvalidBootstrapTokenError
            └── InvitationGoneError
"""

from __future__ import annotations

from typing import Self

__all__ = [
    "AutostartError",
    "AuthenticationError",
    "CliError",
    "ClockOutOfSyncError",
    "CryptoError",
    "DeviceFileCorruptError",
    "DeviceFileError",
    "DeviceFileWriteError",
    "DeviceNotFoundError",
    "InvalidBootstrapTokenError",
    "InvalidLinkError",
    "InvalidValueError",
    "InvitationGoneError",
    "KeyringError",
    "LocalError",
    "OrganizationAlreadyExistsError",
    "OrganizationNotFoundError",
    "ParsecTrayError",
    "ProtocolError",
    "RemoteError",
    "ServerRefusedError",
    "ServerUnavailableError",
    "ServerUnreachableError",
    "TLSError",
    "UnsupportedDeviceFileError",
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
    """No answer: connection refused, name not resolved, timeout."""


class TLSError(ServerUnreachableError):
    """The TLS handshake or certificate check failed."""


class ServerUnavailableError(RemoteError):
    """The server answered with a 5xx status."""

    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class ProtocolError(RemoteError):
    """The server's answer is not what Parsec v3 (API 5) says it should be."""


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
