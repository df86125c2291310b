"""Validated values of Parsec v3, with the exact rules of libparsec.

Each constructor normalizes (NFC where Parsec does) and validates, raising
:class:`~parsec_tray.core.errors.InvalidValueError` with a sentence naming the
rule that was broken.  Instances are immutable.
"""

from __future__ import annotations

import re
import secrets
import time
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum

from .errors import InvalidValueError

__all__ = [
    "AccessToken",
    "DateTime",
    "DeviceID",
    "DeviceLabel",
    "EmailAddress",
    "HumanHandle",
    "OrganizationID",
    "UserID",
    "UserProfile",
    "new_id",
]

REDACTED_DOMAIN = "redacted.invalid"


@dataclass(frozen=True, order=True)
class DateTime:
    """A UTC instant with microsecond precision (msgpack ext type 1)."""

    us: int

    @classmethod
    def now(cls) -> DateTime:
        return cls(time.time_ns() // 1000)

    @classmethod
    def from_datetime(cls, dt: datetime) -> DateTime:
        if dt.tzinfo is None:
            raise ValueError("naive datetime")
        delta = dt - datetime(1970, 1, 1, tzinfo=timezone.utc)
        return cls((delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds)

    def to_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.us // 1_000_000, tz=timezone.utc).replace(
            microsecond=self.us % 1_000_000
        )

    def seconds(self) -> float:
        return self.us / 1_000_000

    def add_us(self, us: int) -> DateTime:
        return DateTime(self.us + us)

    def __str__(self) -> str:
        return self.to_datetime().isoformat().replace("+00:00", "Z")


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def _parse_uuid(value: object, what: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(hex=value)
        except ValueError:
            pass
    raise InvalidValueError(f"{value!r} is not a valid {what} (32 hexadecimal characters).")


class UserID(uuid.UUID):
    """A user id: a UUID shown as 32 lowercase hex characters."""

    __slots__ = ()

    def __init__(self, value: object) -> None:
        super().__init__(bytes=_parse_uuid(value, "user id").bytes)

    @classmethod
    def new(cls) -> UserID:
        return cls(new_id())

    def __str__(self) -> str:
        return self.hex


class DeviceID(uuid.UUID):
    """A device id: a UUID shown as 32 lowercase hex characters."""

    __slots__ = ()

    def __init__(self, value: object) -> None:
        super().__init__(bytes=_parse_uuid(value, "device id").bytes)

    @classmethod
    def new(cls) -> DeviceID:
        return cls(new_id())

    def __str__(self) -> str:
        return self.hex


def _word_or_dash(c: str) -> bool:
    # Unicode word characters as regex-syntax defines them (letters, marks,
    # digits, connector punctuation) plus '-'.
    if c == "-" or c == "_":
        return True
    cat = unicodedata.category(c)
    return cat[0] in ("L", "M") or cat in ("Nd", "Pc") or c in ("\u200c", "\u200d")


class OrganizationID(str):
    """1 to 32 bytes (UTF-8, after NFC) of word characters or '-'."""

    __slots__ = ()

    def __new__(cls, value: str) -> OrganizationID:
        if not isinstance(value, str):
            raise InvalidValueError("An organization name must be text.")
        v = unicodedata.normalize("NFC", value)
        if not 1 <= len(v.encode("utf-8")) <= 32 or not all(_word_or_dash(c) for c in v):
            raise InvalidValueError(
                f"{value!r} is not a valid organization name: use 1 to 32 letters, "
                "digits, '-' or '_' (no spaces or dots)."
            )
        return super().__new__(cls, v)


class DeviceLabel(str):
    """A device name: 1 to 255 bytes (UTF-8, after NFC)."""

    __slots__ = ()

    def __new__(cls, value: str) -> DeviceLabel:
        if not isinstance(value, str):
            raise InvalidValueError("A device name must be text.")
        v = unicodedata.normalize("NFC", value)
        if not 1 <= len(v.encode("utf-8")) <= 255:
            raise InvalidValueError("A device name must be 1 to 255 bytes long.")
        return super().__new__(cls, v)


# RFC 5322 dot-atom local part and an LDH domain, ASCII only: the subset of
# addresses email_address_parser accepts in libparsec's strict mode.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_RE = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


class EmailAddress(str):
    """An ASCII email address (use punycode for international domains)."""

    __slots__ = ()

    def __new__(cls, value: str, *, _allow_redacted: bool = False) -> EmailAddress:
        if not isinstance(value, str):
            raise InvalidValueError("An email address must be text.")
        v = value.strip()
        if not v.isascii():
            raise InvalidValueError(
                f"{value!r} is not a valid email address: only ASCII is allowed "
                "(write an international domain in punycode)."
            )
        local, sep, domain = v.rpartition("@")
        labels = domain.split(".")
        if (
            not sep
            or len(local) > 64
            or len(domain) > 254
            or not _LOCAL_RE.fullmatch(local)
            or len(labels) < 2
            or not all(_LABEL_RE.fullmatch(lab) for lab in labels)
        ):
            raise InvalidValueError(f"{value!r} is not a valid email address (expected name@example.com).")
        if domain.lower() == REDACTED_DOMAIN and not _allow_redacted:
            raise InvalidValueError(f"The domain {REDACTED_DOMAIN} is reserved by Parsec.")
        return super().__new__(cls, v)


_LABEL_FORBIDDEN = set('<>@,:;\\"[]')


@dataclass(frozen=True)
class HumanHandle:
    """A person: email and display name (``[email, label]`` on the wire)."""

    email: EmailAddress
    label: str

    def __init__(self, email: str, label: str) -> None:
        e = email if isinstance(email, EmailAddress) else EmailAddress(email)
        if not isinstance(label, str):
            raise InvalidValueError("A user name must be text.")
        lab = unicodedata.normalize("NFC", label)
        if not lab or len(lab.encode("utf-8")) >= 255 or _LABEL_FORBIDDEN & set(lab):
            raise InvalidValueError(
                f"{label!r} is not a valid user name: use 1 to 254 bytes without "
                'any of < > @ , : ; \\ " [ ].'
            )
        object.__setattr__(self, "email", e)
        object.__setattr__(self, "label", lab)

    @classmethod
    def redacted(cls, user_id: uuid.UUID) -> HumanHandle:
        obj = object.__new__(cls)
        object.__setattr__(obj, "email", EmailAddress(f"{user_id.hex}@{REDACTED_DOMAIN}", _allow_redacted=True))
        object.__setattr__(obj, "label", user_id.hex)
        return obj

    def to_wire(self) -> list[str]:
        return [str(self.email), self.label]

    def __str__(self) -> str:
        return f"{self.label} <{self.email}>"


class UserProfile(str, Enum):
    ADMIN = "ADMIN"
    STANDARD = "STANDARD"
    OUTSIDER = "OUTSIDER"


class AccessToken(bytes):
    """An invitation or bootstrap token: 16 random bytes (msgpack ``bin``)."""

    def __new__(cls, value: bytes | str) -> AccessToken:
        if isinstance(value, str):
            try:
                raw = bytes.fromhex(value)
            except ValueError:
                raise InvalidValueError("A token must be 32 hexadecimal characters.") from None
        else:
            raw = bytes(value)
        if len(raw) != 16:
            raise InvalidValueError("A token must be 16 bytes (32 hexadecimal characters).")
        return super().__new__(cls, raw)

    @classmethod
    def new(cls) -> AccessToken:
        return cls(secrets.token_bytes(16))

    def __str__(self) -> str:
        return self.hex()
