"""What the two parties of a greeting send each other, encrypted with the
shared key (steps 6 and 7; fact sheet j.5): the claimer's request and the
greeter's confirmation, for user and device invitations.

Each is ``SecretBox(shared).encrypt(0x00 || zstd(msgpack(map)))``.  Loading
tells why it failed with the cancel reason libparsec uses:
``UNDECIPHERABLE_PAYLOAD`` (wrong key, tampered), ``UNDESERIALIZABLE_PAYLOAD``
(not a document), ``INCONSISTENT_PAYLOAD`` (a document with bad fields).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from ..crypto import PrivateKey, PublicKey, SecretKey, VerifyKey
from ..errors import CryptoError, InvalidValueError, ParsecTrayError
from ..i18n import _
from ..serialization import as_fields, format_v0_dump, format_v0_load
from ..values import DeviceID, DeviceLabel, HumanHandle, UserID, UserProfile

__all__ = [
    "DeviceClaim",
    "DeviceConfirmation",
    "PayloadError",
    "UserClaim",
    "UserConfirmation",
]


class PayloadError(CryptoError):
    """The peer's payload cannot be used; ``reason`` is the cancel reason."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _seal(key: SecretKey, obj: dict[str, Any]) -> bytes:
    return key.encrypt(format_v0_dump(obj))


def _open(key: SecretKey, data: bytes, names: tuple[str, ...], kind: str) -> dict[str, Any]:
    try:
        plain = key.decrypt(data)
    except CryptoError:
        raise PayloadError(
            _("The other side's data cannot be decrypted."), reason="UNDECIPHERABLE_PAYLOAD"
        ) from None
    try:
        obj = format_v0_load(plain, error=CryptoError, what="data")
    except CryptoError:
        raise PayloadError(
            _("The other side's data is not readable."), reason="UNDESERIALIZABLE_PAYLOAD"
        ) from None
    try:
        f = as_fields(obj, names, required=names, error=CryptoError, what="data")
    except CryptoError:
        raise PayloadError(_("The other side's data lacks fields."), reason="INCONSISTENT_PAYLOAD") from None
    if f["type"] != kind:
        raise PayloadError(_("The other side sent data of another kind."), reason="INCONSISTENT_PAYLOAD")
    return f


def _uuid(value: Any) -> uuid.UUID:
    if not isinstance(value, uuid.UUID):
        raise TypeError("id")
    return value


def _key32(value: Any) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise ValueError("key")
    return value


def _handle(value: Any) -> HumanHandle:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError("human_handle")
    return HumanHandle(value[0], value[1])


def _build(make: Any) -> Any:
    try:
        return make()
    except (ParsecTrayError, InvalidValueError, ValueError, TypeError):
        raise PayloadError(
            _("The other side's data has an invalid field."), reason="INCONSISTENT_PAYLOAD"
        ) from None


_USER_CLAIM = ("type", "requested_device_label", "requested_human_handle", "public_key", "verify_key")
_DEVICE_CLAIM = ("type", "requested_device_label", "verify_key")
_USER_CONFIRMATION = (
    "type",
    "user_id",
    "device_id",
    "device_label",
    "human_handle",
    "profile",
    "root_verify_key",
)
_DEVICE_CONFIRMATION = (
    "type",
    "user_id",
    "device_id",
    "device_label",
    "human_handle",
    "profile",
    "private_key",
    "user_realm_id",
    "user_realm_key",
    "root_verify_key",
)


@dataclass(frozen=True)
class UserClaim:
    """Step 6, user invitation: who the claimer says it is, and its new keys."""

    requested_device_label: DeviceLabel
    requested_human_handle: HumanHandle
    public_key: PublicKey
    verify_key: VerifyKey

    def encrypt(self, key: SecretKey) -> bytes:
        return _seal(
            key,
            {
                "type": "invite_user_data",
                "requested_device_label": str(self.requested_device_label),
                "requested_human_handle": self.requested_human_handle.to_wire(),
                "public_key": self.public_key.encode(),
                "verify_key": self.verify_key.encode(),
            },
        )

    @classmethod
    def decrypt(cls, key: SecretKey, data: bytes) -> UserClaim:
        f = _open(key, data, _USER_CLAIM, "invite_user_data")
        return _build(  # type: ignore[no-any-return]
            lambda: cls(
                DeviceLabel(f["requested_device_label"]),
                _handle(f["requested_human_handle"]),
                PublicKey(_key32(f["public_key"])),
                VerifyKey(_key32(f["verify_key"])),
            )
        )


@dataclass(frozen=True)
class DeviceClaim:
    """Step 6, device invitation: the new device's label and verify key."""

    requested_device_label: DeviceLabel
    verify_key: VerifyKey

    def encrypt(self, key: SecretKey) -> bytes:
        return _seal(
            key,
            {
                "type": "invite_device_data",
                "requested_device_label": str(self.requested_device_label),
                "verify_key": self.verify_key.encode(),
            },
        )

    @classmethod
    def decrypt(cls, key: SecretKey, data: bytes) -> DeviceClaim:
        f = _open(key, data, _DEVICE_CLAIM, "invite_device_data")
        return _build(  # type: ignore[no-any-return]
            lambda: cls(DeviceLabel(f["requested_device_label"]), VerifyKey(_key32(f["verify_key"])))
        )


def _identity_fields(c: UserConfirmation | DeviceConfirmation) -> dict[str, Any]:
    return {
        "user_id": c.user_id,
        "device_id": c.device_id,
        "device_label": str(c.device_label),
        "human_handle": c.human_handle.to_wire(),
        "profile": c.profile.value,
    }


def _common_fields(f: dict[str, Any]) -> tuple[UserID, DeviceID, DeviceLabel, HumanHandle, UserProfile]:
    return (
        UserID(_uuid(f["user_id"])),
        DeviceID(_uuid(f["device_id"])),
        DeviceLabel(f["device_label"]),
        _handle(f["human_handle"]),
        UserProfile(f["profile"]),
    )


@dataclass(frozen=True, repr=False)
class UserConfirmation:
    """Step 7, user invitation: what the greeter created."""

    user_id: UserID
    device_id: DeviceID
    device_label: DeviceLabel
    human_handle: HumanHandle
    profile: UserProfile
    root_verify_key: VerifyKey

    def __repr__(self) -> str:
        return f"UserConfirmation(user={self.user_id.hex}, device={self.device_id.hex}, {self.profile})"

    def encrypt(self, key: SecretKey) -> bytes:
        return _seal(
            key,
            {
                "type": "invite_user_confirmation",
                **_identity_fields(self),
                "root_verify_key": self.root_verify_key.encode(),
            },
        )

    @classmethod
    def decrypt(cls, key: SecretKey, data: bytes) -> UserConfirmation:
        f = _open(key, data, _USER_CONFIRMATION, "invite_user_confirmation")
        return _build(  # type: ignore[no-any-return]
            lambda: cls(*_common_fields(f), VerifyKey(_key32(f["root_verify_key"])))
        )


@dataclass(frozen=True, repr=False)
class DeviceConfirmation:
    """Step 7, device invitation: also the user's own keys, which the new
    device shares with the user's other devices."""

    user_id: UserID
    device_id: DeviceID
    device_label: DeviceLabel
    human_handle: HumanHandle
    profile: UserProfile
    private_key: PrivateKey
    user_realm_id: uuid.UUID
    user_realm_key: SecretKey
    root_verify_key: VerifyKey

    def __repr__(self) -> str:  # never print keys
        return f"DeviceConfirmation(user={self.user_id.hex}, device={self.device_id.hex})"

    def encrypt(self, key: SecretKey) -> bytes:
        return _seal(
            key,
            {
                "type": "invite_device_confirmation",
                **_identity_fields(self),
                "private_key": self.private_key.encode(),
                "user_realm_id": self.user_realm_id,
                "user_realm_key": self.user_realm_key.encode(),
                "root_verify_key": self.root_verify_key.encode(),
            },
        )

    @classmethod
    def decrypt(cls, key: SecretKey, data: bytes) -> DeviceConfirmation:
        f = _open(key, data, _DEVICE_CONFIRMATION, "invite_device_confirmation")
        return _build(  # type: ignore[no-any-return]
            lambda: cls(
                *_common_fields(f),
                PrivateKey(_key32(f["private_key"])),
                _uuid(f["user_realm_id"]),
                SecretKey(_key32(f["user_realm_key"])),
                VerifyKey(_key32(f["root_verify_key"])),
            )
        )
