"""User and device certificates (and their redacted copies).

A certificate is ``Ed25519_sign(author_key, 0x00 || zstd(msgpack(map)))``
with the signature attached in front.  ``author`` is ``None`` for the
organization's root key (bootstrap) or the signing device's id.

Invariant: ``verify_and_load`` checks the signature *before* parsing the
payload, and then checks the payload's author is the one expected.

:func:`new_user_certificates` is the one builder of "a new user and its
first device" (organization bootstrap and user greeting both use it);
:func:`new_device_certificates` the one of "a new device of a user".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from .crypto import SigningKey, VerifyKey
from .errors import CryptoError, InvalidValueError
from .i18n import N_, _
from .serialization import as_fields, format_v0_dump, format_v0_load
from .values import DateTime, DeviceID, DeviceLabel, HumanHandle, UserID, UserProfile

__all__ = [
    "STAMP_AHEAD_US",
    "DeviceCertificate",
    "NewDeviceCertificates",
    "NewUserCertificates",
    "UserCertificate",
    "new_device_certificates",
    "new_user_certificates",
    "peek_certificate",
    "stamp_after",
]

# libparsec's USER_CERTIFICATE_STAMP_AHEAD_US: how far past the server's
# last certificate a certificate signed again is stamped.
STAMP_AHEAD_US = 500_000


def stamp_after(now: DateTime, after: DateTime) -> DateTime:
    """The timestamp to sign certificates again with when the server asked
    for one strictly after ``after`` (``require_greater_timestamp``)."""
    return max(now, after.add_us(STAMP_AHEAD_US), key=lambda t: t.us)

_USER_FIELDS = ("type", "author", "timestamp", "user_id", "human_handle", "public_key", "algorithm", "profile")
_DEVICE_FIELDS = (
    "type", "purpose", "author", "timestamp", "user_id", "device_id", "device_label", "verify_key", "algorithm",
)


def _author(value: Any) -> DeviceID | None:
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return DeviceID(value)
    raise CryptoError(_("The certificate's author is not valid."))


def _check_type(fields: dict[str, Any], expected: str) -> None:
    if fields.get("type") != expected:
        raise CryptoError(_("Expected a {expected}.").format(expected=expected.replace("_", " ")))


_Cert = TypeVar("_Cert", "UserCertificate", "DeviceCertificate")


def _verify_and_load(
    cls: type[_Cert], signed: bytes, author_verify_key: VerifyKey, expected_author: DeviceID | None, what: str
) -> _Cert:
    """Check the signature first, then parse, then check the author."""
    payload = author_verify_key.verify(signed)
    cert = cls.from_obj(format_v0_load(payload, error=CryptoError, what=_(what)))
    if cert.author != expected_author:
        raise CryptoError(_("The {what} was not signed by the expected author.").format(what=_(what)))
    return cert


@dataclass(frozen=True)
class UserCertificate:
    author: DeviceID | None
    timestamp: DateTime
    user_id: UserID
    human_handle: HumanHandle | None  # None when redacted
    public_key: bytes
    profile: UserProfile
    algorithm: str = "X25519_XSALSA20_POLY1305"

    @property
    def is_redacted(self) -> bool:
        return self.human_handle is None

    def redacted(self) -> UserCertificate:
        return replace(self, human_handle=None)

    def to_map(self) -> dict[str, Any]:
        return {
            "type": "user_certificate",
            "author": self.author,
            "timestamp": self.timestamp,
            "user_id": self.user_id,
            "human_handle": self.human_handle.to_wire() if self.human_handle else None,
            "public_key": self.public_key,
            "algorithm": self.algorithm,
            "profile": self.profile.value,
        }

    def dump_and_sign(self, author_signkey: SigningKey) -> bytes:
        return author_signkey.sign(format_v0_dump(self.to_map()))

    @classmethod
    def from_obj(cls, obj: Any) -> UserCertificate:
        f = as_fields(
            obj, _USER_FIELDS, required=_USER_FIELDS, error=CryptoError, what=N_("user certificate")
        )
        _check_type(f, "user_certificate")
        try:
            hh = f["human_handle"]
            return cls(
                author=_author(f["author"]),
                timestamp=_typed(f["timestamp"], DateTime),
                user_id=UserID(_typed(f["user_id"], uuid.UUID)),
                human_handle=HumanHandle(*hh) if hh is not None else None,
                public_key=_bytes32(f["public_key"]),
                profile=UserProfile(f["profile"]),
                algorithm=_const(f["algorithm"], "X25519_XSALSA20_POLY1305"),
            )
        except (InvalidValueError, ValueError, TypeError):
            raise CryptoError(_("The user certificate has an invalid field.")) from None

    @classmethod
    def verify_and_load(
        cls, signed: bytes, author_verify_key: VerifyKey, expected_author: DeviceID | None
    ) -> UserCertificate:
        return _verify_and_load(cls, signed, author_verify_key, expected_author, N_("user certificate"))


@dataclass(frozen=True)
class DeviceCertificate:
    author: DeviceID | None
    timestamp: DateTime
    user_id: UserID
    device_id: DeviceID
    device_label: DeviceLabel | None  # None when redacted
    verify_key: bytes
    purpose: str = "STANDARD"
    algorithm: str = "ED25519"

    @property
    def is_redacted(self) -> bool:
        return self.device_label is None

    def redacted(self) -> DeviceCertificate:
        return replace(self, device_label=None)

    def to_map(self) -> dict[str, Any]:
        return {
            "type": "device_certificate",
            "purpose": self.purpose,
            "author": self.author,
            "timestamp": self.timestamp,
            "user_id": self.user_id,
            "device_id": self.device_id,
            "device_label": str(self.device_label) if self.device_label is not None else None,
            "verify_key": self.verify_key,
            "algorithm": self.algorithm,
        }

    def dump_and_sign(self, author_signkey: SigningKey) -> bytes:
        return author_signkey.sign(format_v0_dump(self.to_map()))

    @classmethod
    def from_obj(cls, obj: Any) -> DeviceCertificate:
        # Pre-3.2 certificates lack ``purpose`` (maps only: no official
        # writer ever emitted certificates as arrays, and libparsec refuses
        # an 8-field array).
        required = tuple(n for n in _DEVICE_FIELDS if n != "purpose")
        f = as_fields(
            obj, _DEVICE_FIELDS, required=required, error=CryptoError, what=N_("device certificate")
        )
        _check_type(f, "device_certificate")
        try:
            label = f["device_label"]
            purpose = f.get("purpose")
            if purpose is None:  # absent or nil (NonRequiredOption): STANDARD
                purpose = "STANDARD"
            if purpose not in ("STANDARD", "SHAMIR_RECOVERY", "PASSPHRASE_RECOVERY", "REGISTRATION"):
                raise ValueError(purpose)
            return cls(
                author=_author(f["author"]),
                timestamp=_typed(f["timestamp"], DateTime),
                user_id=UserID(_typed(f["user_id"], uuid.UUID)),
                device_id=DeviceID(_typed(f["device_id"], uuid.UUID)),
                device_label=DeviceLabel(label) if label is not None else None,
                verify_key=_bytes32(f["verify_key"]),
                purpose=purpose,
                algorithm=_const(f["algorithm"], "ED25519"),
            )
        except (InvalidValueError, ValueError, TypeError):
            raise CryptoError(_("The device certificate has an invalid field.")) from None

    @classmethod
    def verify_and_load(
        cls, signed: bytes, author_verify_key: VerifyKey, expected_author: DeviceID | None
    ) -> DeviceCertificate:
        return _verify_and_load(cls, signed, author_verify_key, expected_author, N_("device certificate"))


def peek_certificate(signed: bytes) -> tuple[str, DeviceID | None]:
    """The ``type`` and ``author`` of a signed certificate, read *without*
    checking the signature: only to know which key must verify it."""
    if len(signed) < 64:
        raise CryptoError(_("The certificate is too short."))
    obj = format_v0_load(signed[64:], error=CryptoError, what=N_("certificate"))
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise CryptoError(_("The certificate has no type."))
    return obj["type"], _author(obj.get("author"))


def _typed(value: Any, kind: type) -> Any:
    if not isinstance(value, kind):
        raise TypeError(kind.__name__)
    return value


def _bytes32(value: Any) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise ValueError("key size")
    return value


def _const(value: Any, expected: str) -> str:
    if value != expected:
        raise ValueError(expected)
    return expected


# --- builders: what the server's user_create / device_create / bootstrap take ---------


@dataclass(frozen=True)
class NewDeviceCertificates:
    """A new device's certificate and its redacted copy, signed."""

    device: DeviceCertificate
    device_certificate: bytes
    redacted_device_certificate: bytes

    def fields(self) -> dict[str, bytes]:
        """The ``device_create`` request fields."""
        return {
            "device_certificate": self.device_certificate,
            "redacted_device_certificate": self.redacted_device_certificate,
        }


@dataclass(frozen=True)
class NewUserCertificates:
    """A new user's and its first device's certificates (and redacted copies),
    all with the same timestamp, signed by the same author."""

    user: UserCertificate
    user_certificate: bytes
    redacted_user_certificate: bytes
    device: NewDeviceCertificates

    def fields(self) -> dict[str, bytes]:
        """The ``user_create`` (and ``organization_bootstrap``) certificate fields."""
        return {
            "user_certificate": self.user_certificate,
            "redacted_user_certificate": self.redacted_user_certificate,
            **self.device.fields(),
        }


def new_device_certificates(
    *,
    author: DeviceID | None,
    author_signkey: SigningKey,
    timestamp: DateTime,
    user_id: UserID,
    device_id: DeviceID,
    device_label: DeviceLabel,
    verify_key: VerifyKey,
    purpose: str = "STANDARD",
) -> NewDeviceCertificates:
    cert = DeviceCertificate(
        author=author,
        timestamp=timestamp,
        user_id=user_id,
        device_id=device_id,
        device_label=device_label,
        verify_key=verify_key.encode(),
        purpose=purpose,
    )
    return NewDeviceCertificates(
        cert, cert.dump_and_sign(author_signkey), cert.redacted().dump_and_sign(author_signkey)
    )


def new_user_certificates(
    *,
    author: DeviceID | None,
    author_signkey: SigningKey,
    timestamp: DateTime,
    user_id: UserID,
    human_handle: HumanHandle,
    public_key: bytes,
    profile: UserProfile,
    device_id: DeviceID,
    device_label: DeviceLabel,
    verify_key: VerifyKey,
) -> NewUserCertificates:
    """``author`` ``None`` is the organization's root key (bootstrap), else
    the greeting device."""
    user = UserCertificate(
        author=author,
        timestamp=timestamp,
        user_id=user_id,
        human_handle=human_handle,
        public_key=public_key,
        profile=profile,
    )
    device = new_device_certificates(
        author=author,
        author_signkey=author_signkey,
        timestamp=timestamp,
        user_id=user_id,
        device_id=device_id,
        device_label=device_label,
        verify_key=verify_key,
    )
    return NewUserCertificates(
        user, user.dump_and_sign(author_signkey), user.redacted().dump_and_sign(author_signkey), device
    )
