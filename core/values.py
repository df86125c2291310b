"""Validated values of Parsec v3, with the exact rules of libparsec.

Each constructor normalizes (NFC where Parsec does) and validates, raising
:class:`~parsec_tray.core.errors.InvalidValueError` with a sentence naming the
rule that was broken.  Instances are immutable.
"""

from __future__ import annotations

import re
import secrets
import string
import time
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from .errors import InvalidValueError
from .i18n import N_, _

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
        delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
        return cls((delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds)

    def to_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.us // 1_000_000, tz=UTC).replace(
            microsecond=self.us % 1_000_000
        )

    def seconds(self) -> float:
        return self.us / 1_000_000

    def add_us(self, us: int) -> DateTime:
        return DateTime(self.us + us)

    def __str__(self) -> str:
        # RFC 3339 as libparsec prints it (chrono's AutoSi: no fraction, or
        # 3 or 6 digits); plain integer arithmetic so that no i64 value can
        # make printing fail (``datetime`` stops at year 9999).
        days, rest = divmod(self.us, 86_400_000_000)
        secs, frac = divmod(rest, 1_000_000)
        year, month, day = _civil_from_days(days)
        if 0 <= year <= 9999:
            ymd = f"{year:04d}-{month:02d}-{day:02d}"
        else:
            ymd = f"{year:+05d}-{month:02d}-{day:02d}"
        if frac == 0:
            fraction = ""
        elif frac % 1000 == 0:
            fraction = f".{frac // 1000:03d}"
        else:
            fraction = f".{frac:06d}"
        return f"{ymd}T{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}{fraction}Z"


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """Proleptic Gregorian (year, month, day) of a day count since 1970-01-01."""
    z = days + 719_468
    era, doe = divmod(z, 146_097)
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def new_id() -> uuid.UUID:
    return uuid.uuid4()


# The text forms the ``uuid`` crate parses: simple, hyphenated, braced and
# URN.  ``uuid.UUID(hex=...)`` is far looser (it goes through ``int(x, 16)``,
# which takes "0x", signs, spaces, '_' and non-ASCII digits, and drops every
# '-'), so it only sees text that already has one of these shapes.
_HYPHENATED = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_UUID_TEXT_RE = re.compile(rf"[0-9a-fA-F]{{32}}|{_HYPHENATED}|\{{{_HYPHENATED}\}}|urn:uuid:{_HYPHENATED}")


def _parse_uuid(value: object, what: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str) and _UUID_TEXT_RE.fullmatch(value):
        return uuid.UUID(hex=value)
    raise InvalidValueError(
        _("{value!r} is not a valid {what} (32 hexadecimal characters).").format(value=value, what=_(what))
    )


class UserID(uuid.UUID):
    """A user id: a UUID shown as 32 lowercase hex characters."""

    __slots__ = ()

    def __init__(self, value: object) -> None:
        super().__init__(bytes=_parse_uuid(value, N_("user id")).bytes)

    @classmethod
    def new(cls) -> UserID:
        return cls(new_id())

    def __str__(self) -> str:
        return self.hex


class DeviceID(uuid.UUID):
    """A device id: a UUID shown as 32 lowercase hex characters."""

    __slots__ = ()

    def __init__(self, value: object) -> None:
        super().__init__(bytes=_parse_uuid(value, N_("device id")).bytes)

    @classmethod
    def new(cls) -> DeviceID:
        return cls(new_id())

    def __str__(self) -> str:
        return self.hex


# Letters that \w includes through the Alphabetic property without being
# in a letter or mark category: the circled and squared Latin letters (So).
_OTHER_ALPHABETIC_SYMBOLS = ((0x24B6, 0x24E9), (0x1F130, 0x1F149), (0x1F150, 0x1F169), (0x1F170, 0x1F189))


def _word_or_dash(c: str) -> bool:
    # '-' or a word character as regex-syntax defines \w (UTS #18): Alphabetic
    # (letters, letter numbers, Other_Alphabetic), marks, decimal digits,
    # connector punctuation and the join controls.
    if c == "-" or c == "_":
        return True
    cat = unicodedata.category(c)
    if cat[0] in ("L", "M") or cat in ("Nd", "Nl", "Pc") or c in ("\u200c", "\u200d"):
        return True
    cp = ord(c)
    return any(lo <= cp <= hi for lo, hi in _OTHER_ALPHABETIC_SYMBOLS)


def _utf8_size(value: str) -> int | None:
    """Length in UTF-8 bytes, or None for text Rust cannot hold (lone surrogates)."""
    try:
        return len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return None


class OrganizationID(str):
    """1 to 32 bytes (UTF-8, after NFC) of word characters or '-'."""

    __slots__ = ()

    def __new__(cls, value: str) -> OrganizationID:
        if not isinstance(value, str):
            raise InvalidValueError(_("An organization name must be text."), field="organization")
        v = unicodedata.normalize("NFC", value)
        if not all(_word_or_dash(c) for c in v) or not 1 <= (_utf8_size(v) or 0) <= 32:
            raise InvalidValueError(
                _(
                    "{value!r} is not a valid organization name: use 1 to 32 letters, digits, '-' or '_' "
                    "(no spaces or dots)."
                ).format(value=value),
                field="organization",
            )
        return super().__new__(cls, v)


class DeviceLabel(str):
    """A device name: 1 to 255 bytes (UTF-8, after NFC)."""

    __slots__ = ()

    def __new__(cls, value: str) -> DeviceLabel:
        if not isinstance(value, str):
            raise InvalidValueError(_("A device name must be text."), field="device_label")
        v = unicodedata.normalize("NFC", value)
        if not 1 <= (_utf8_size(v) or 0) <= 255:
            raise InvalidValueError(_("A device name must be 1 to 255 bytes long."), field="device_label")
        return super().__new__(cls, v)


# --- Email addresses ----------------------------------------------------------
# libparsec parses with email_address_parser 2.0 in strict mode (the
# ``address_single`` rule of its rfc5322.pest: RFC 5322 addr-spec without the
# obsolete forms), then refuses non-ASCII text and the reserved domain.  That
# accepts far more than name@example.com: quoted local parts, comments,
# folding white space, domain literals, one-label domains, any length, and the
# text is kept as typed.  Certificates may carry any of it, so the grammar is
# re-implemented here with PEG semantics (ordered choice that commits, greedy
# repetition).  Callers reading what a person typed should strip it first.

_WSP = " \t"
_ATEXT = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~")
_NO_WS_CTL = frozenset(chr(c) for c in (*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F))
_VCHAR_OR_CTL = frozenset(chr(c) for c in range(0x21, 0x7F)) | _NO_WS_CTL
_CTEXT = _VCHAR_OR_CTL - set("()\\")
_QTEXT = _VCHAR_OR_CTL - set('"\\')
_DTEXT = _VCHAR_OR_CTL - set("[]\\")


class _AddrSpec:
    """Matcher for an ASCII string; each rule method takes the position where
    the rule starts and returns where it ends, or -1."""

    def __init__(self, text: str) -> None:
        self.s = text

    def _opt(self, rule: Callable[[int], int], i: int) -> int:
        j = rule(i)
        return i if j < 0 else j

    def _run(self, chars: str | frozenset[str], i: int) -> int:
        while i < len(self.s) and self.s[i] in chars:
            i += 1
        return i

    def _one(self, chars: str | frozenset[str], i: int) -> int:
        return i + 1 if i < len(self.s) and self.s[i] in chars else -1

    def fws(self, i: int) -> int:
        # ((WSP* CRLF)? WSP+) | obs_FWS
        j = self._run(_WSP, i)
        j = j + 2 if self.s.startswith("\r\n", j) else i
        k = self._run(_WSP, j)
        if k > j:
            return k
        # obs_FWS = WSP+ (CRLF WSP+)*
        k = self._run(_WSP, i)
        if k == i:
            return -1
        while self.s.startswith("\r\n", k) and (m := self._run(_WSP, k + 2)) > k + 2:
            k = m
        return k

    def quoted_pair(self, i: int) -> int:
        # "\" followed by VCHAR, WSP, NUL, CR, LF or a control: any ASCII.
        return i + 2 if self.s.startswith("\\", i) and i + 1 < len(self.s) else -1

    def comment(self, i: int) -> int:
        # "(" (FWS? ccontent)* FWS? ")" with ccontent = ctext | quoted_pair | comment
        if not self.s.startswith("(", i):
            return -1
        i += 1
        while True:
            j = self._opt(self.fws, i)
            k = self._one(_CTEXT, j)
            if k < 0:
                k = self.quoted_pair(j)
            if k < 0:
                k = self.comment(j)
            if k < 0:
                break
            i = k
        i = self._opt(self.fws, i)
        return self._one(")", i)

    def cfws(self, i: int) -> int:
        # ((FWS? comment)+ FWS?) | FWS
        j = i
        while (k := self.comment(self._opt(self.fws, j))) >= 0:
            j = k
        return self._opt(self.fws, j) if j > i else self.fws(i)

    def dot_atom_text(self, i: int) -> int:
        # atext_wo_dash+ (("." CFWS* | "-"+) dot_atom_text)*, the grammar's
        # recursion unrolled: a separator must be followed by non-dash atext.
        wo_dash = _ATEXT - {"-"}
        i = self._run(wo_dash, i) if self._one(wo_dash, i) >= 0 else -1
        while i >= 0:
            if self.s.startswith(".", i):
                j = i + 1
                while (k := self.cfws(j)) >= 0:
                    j = k
            elif self.s.startswith("-", i):
                j = self._run("-", i)
            else:
                break
            if self._one(wo_dash, j) < 0:
                break
            i = self._run(wo_dash, j)
        return i

    def dot_atom(self, i: int) -> int:
        # WSP? dot_atom_text WSP?
        i = self.dot_atom_text(self._opt(lambda k: self._one(_WSP, k), i))
        return -1 if i < 0 else self._opt(lambda k: self._one(_WSP, k), i)

    def _delimited(self, i: int, open_: str, close: str, text: frozenset[str], pairs: bool) -> int:
        # CFWS? open (FWS? content)* FWS? close CFWS?
        i = self._opt(self.cfws, i)
        if not self.s.startswith(open_, i):
            return -1
        i += 1
        while True:
            j = self._opt(self.fws, i)
            k = self._one(text, j)
            if k < 0 and pairs:
                k = self.quoted_pair(j)
            if k < 0:
                break
            i = k
        i = self._one(close, self._opt(self.fws, i))
        return -1 if i < 0 else self._opt(self.cfws, i)

    def quoted_string(self, i: int) -> int:
        return self._delimited(i, '"', '"', _QTEXT, pairs=True)

    def domain_literal(self, i: int) -> int:
        # dtext refuses "\", so no quoted pair can start there.
        return self._delimited(i, "[", "]", _DTEXT, pairs=False)

    def split(self) -> tuple[str, str] | None:
        """(local part, domain) if the whole text is an addr-spec."""
        end = self.dot_atom(0)
        if end < 0:
            end = self.quoted_string(0)
        if end < 0 or not self.s.startswith("@", end):
            return None
        stop = self.dot_atom(end + 1)
        if stop < 0:
            stop = self.domain_literal(end + 1)
        if stop != len(self.s):
            return None
        return self.s[:end], self.s[end + 1 :]


class EmailAddress(str):
    """An ASCII email address (use punycode for international domains)."""

    __slots__ = ()

    def __new__(cls, value: str, *, _allow_redacted: bool = False) -> EmailAddress:
        if not isinstance(value, str):
            raise InvalidValueError(_("An email address must be text."), field="email")
        if not value.isascii():
            raise InvalidValueError(
                _(
                    "{value!r} is not a valid email address: only ASCII is allowed (write an "
                    "international domain in punycode)."
                ).format(value=value),
                field="email",
            )
        try:
            parts = _AddrSpec(value).split()
        except RecursionError:  # comments nested hundreds deep
            parts = None
        if parts is None:
            raise InvalidValueError(
                _("{value!r} is not a valid email address (expected name@example.com).").format(value=value),
                field="email",
            )
        if parts[1] == REDACTED_DOMAIN and not _allow_redacted:
            raise InvalidValueError(
                _("The domain {REDACTED_DOMAIN} is reserved by Parsec.").format(REDACTED_DOMAIN=REDACTED_DOMAIN),
                field="email",
            )
        return super().__new__(cls, value)


_LABEL_FORBIDDEN = set('<>@,:;\\"[]')


@dataclass(frozen=True)
class HumanHandle:
    """A person: email and display name (``[email, label]`` on the wire)."""

    email: EmailAddress
    label: str

    def __init__(self, email: str, label: str) -> None:
        e = email if isinstance(email, EmailAddress) else EmailAddress(email)
        if not isinstance(label, str):
            raise InvalidValueError(_("A user name must be text."), field="user_name")
        lab = unicodedata.normalize("NFC", label)
        if not 1 <= (_utf8_size(lab) or 0) <= 254 or _LABEL_FORBIDDEN & set(lab):
            raise InvalidValueError(
                _(
                    '{label!r} is not a valid user name: use 1 to 254 bytes without any of < > @ , : ; \\ " [ ].'
                ).format(label=label),
                field="user_name",
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


class UserProfile(StrEnum):
    ADMIN = "ADMIN"
    STANDARD = "STANDARD"
    OUTSIDER = "OUTSIDER"


_TOKEN_HEX_RE = re.compile(r"[0-9a-fA-F]{32}")


class AccessToken(bytes):
    """An invitation or bootstrap token: 16 random bytes (msgpack ``bin``)."""

    def __new__(cls, value: bytes | str) -> AccessToken:
        if isinstance(value, str):
            # Exactly what the hex crate decodes: no spaces (bytes.fromhex
            # skips them), no "0x".
            if not _TOKEN_HEX_RE.fullmatch(value):
                raise InvalidValueError(_("A token must be 32 hexadecimal characters."))
            raw = bytes.fromhex(value)
        elif isinstance(value, (bytes, bytearray, memoryview)):
            raw = bytes(value)
        else:  # bytes(16) would be a zero token
            raise InvalidValueError(_("A token must be bytes or hexadecimal text."))
        if len(raw) != 16:
            raise InvalidValueError(_("A token must be 16 bytes (32 hexadecimal characters)."))
        return super().__new__(cls, raw)

    @classmethod
    def new(cls) -> AccessToken:
        return cls(secrets.token_bytes(16))

    def __str__(self) -> str:
        return self.hex()
