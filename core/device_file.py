"""Device key files (``*.keys``) in libparsec's format: the codec only.

A device file is a plain msgpack map (no format byte, no zstd) whose
``type`` says how ``ciphertext`` is protected; ``ciphertext`` is
``SecretBox(key).encrypt(LocalDevice.dump())``.  3.0 files are arrays with
the same fields in the same order.  The metadata outside ``ciphertext``
(organization, user, device) is public and lets us list devices without a
password.

This module does no I/O; ``devices.py`` reads and writes files.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from .addr import ParsecAddr
from .crypto import Argon2idParams, SecretKey
from .errors import (
    CryptoError,
    DeviceFileCorruptError,
    InvalidValueError,
    UnsupportedDeviceFileError,
    WrongPasswordError,
)
from .i18n import N_, _
from .local_device import LocalDevice, server_url_from_wire, server_url_to_wire
from .serialization import as_fields, packb, unpackb
from .values import DateTime, DeviceID, DeviceLabel, HumanHandle, OrganizationID, UserID

__all__ = ["DeviceFile", "decrypt_device", "encrypt_device"]

_COMMON = (
    "type", "created_on", "protected_on", "server_url", "organization_id", "user_id", "device_id",
    "human_handle", "device_label",
)
_FIELDS: dict[str, tuple[str, ...]] = {
    "password": (*_COMMON, "algorithm", "ciphertext", "totp_opaque_key_id"),
    "keyring": (*_COMMON, "keyring_service", "keyring_user", "ciphertext", "totp_opaque_key_id"),
    "recovery": (*_COMMON, "ciphertext"),
    "pki": (*_COMMON, "certificate_ref", "algorithm", "encrypted_key", "ciphertext", "totp_opaque_key_id"),
    "account_vault": (*_COMMON, "ciphertext_key_id", "ciphertext", "totp_opaque_key_id"),
    "openbao": (
        *_COMMON, "ciphertext", "openbao_preferred_auth_id", "openbao_entity_id",
        "openbao_ciphertext_key_path", "totp_opaque_key_id",
    ),
}
_OPTIONAL = {"totp_opaque_key_id"}
_ALGO_FIELDS = ("type", "memlimit_kb", "opslimit", "parallelism", "salt")

PROTECTION_NAMES = {
    "password": N_("password"),
    "keyring": N_("keyring"),
    "recovery": N_("recovery file"),
    "pki": N_("smartcard"),
    "account_vault": N_("Parsec account"),
    "openbao": N_("single sign-on (OpenBao)"),
}


@dataclass(frozen=True)
class DeviceFile:
    type: str
    created_on: DateTime
    protected_on: DateTime
    server: ParsecAddr
    organization_id: OrganizationID
    user_id: UserID
    device_id: DeviceID
    human_handle: HumanHandle
    device_label: DeviceLabel
    ciphertext: bytes
    algorithm: Argon2idParams | None = None  # password
    keyring_service: str | None = None  # keyring
    keyring_user: str | None = None  # keyring
    totp_opaque_key_id: uuid.UUID | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def dump(self) -> bytes:
        if self.type not in ("password", "keyring", "recovery"):
            raise UnsupportedDeviceFileError(
                _("Writing {type} device files is not supported.").format(type=self.type)
            )
        out: dict[str, Any] = {
            "type": self.type,
            "created_on": self.created_on,
            "protected_on": self.protected_on,
            "server_url": server_url_to_wire(self.server),
            "organization_id": str(self.organization_id),
            "user_id": self.user_id,
            "device_id": self.device_id,
            "human_handle": self.human_handle.to_wire(),
            "device_label": str(self.device_label),
        }
        if self.type == "password":
            assert self.algorithm is not None
            out["algorithm"] = {
                "type": "ARGON2ID",
                "memlimit_kb": self.algorithm.memlimit_kb,
                "opslimit": self.algorithm.opslimit,
                "parallelism": self.algorithm.parallelism,
                "salt": self.algorithm.salt,
            }
        elif self.type == "keyring":
            out["keyring_service"] = self.keyring_service
            out["keyring_user"] = self.keyring_user
        out["ciphertext"] = self.ciphertext
        if self.type != "recovery":
            out["totp_opaque_key_id"] = self.totp_opaque_key_id
        return packb(out)

    @classmethod
    def load(cls, raw: bytes) -> DeviceFile:
        obj = unpackb(raw, error=DeviceFileCorruptError, what=N_("device file"))
        if isinstance(obj, dict):
            kind = obj.get("type")
        elif isinstance(obj, (list, tuple)) and obj:
            kind = obj[0]
        else:
            raise DeviceFileCorruptError(_("This is not a Parsec device file."))
        if not isinstance(kind, str) or kind not in _FIELDS:
            raise DeviceFileCorruptError(_("This is not a Parsec device file (unknown type)."))
        names = _FIELDS[kind]
        required = tuple(n for n in names if n not in _OPTIONAL)
        f = as_fields(obj, names, required=required, error=DeviceFileCorruptError, what=N_("device file"))
        try:
            hh = f["human_handle"]
            if not isinstance(hh, (list, tuple)) or len(hh) != 2:
                raise ValueError("human_handle")
            for name in ("created_on", "protected_on"):
                if not isinstance(f[name], DateTime):
                    raise ValueError(name)
            for name in ("user_id", "device_id"):
                if not isinstance(f[name], uuid.UUID):
                    raise ValueError(name)
            if not isinstance(f["ciphertext"], bytes):
                raise ValueError("ciphertext")
            totp = f.get("totp_opaque_key_id")
            if totp is not None and not isinstance(totp, uuid.UUID):
                raise ValueError("totp")
            algorithm = None
            keyring_service = keyring_user = None
            if kind == "password":
                a = as_fields(
                    f["algorithm"],
                    _ALGO_FIELDS,
                    required=_ALGO_FIELDS,
                    error=DeviceFileCorruptError,
                    what=N_("password algorithm"),
                )
                if a["type"] != "ARGON2ID":
                    raise UnsupportedDeviceFileError(
                        _("This device file uses an unknown password algorithm.")
                    )
                # libparsec: u32 integers and a 16-byte salt, else the file
                # does not load at all.
                for name in ("memlimit_kb", "opslimit", "parallelism"):
                    if not isinstance(a[name], int) or isinstance(a[name], bool) or not 0 <= a[name] < 2**32:
                        raise ValueError(name)
                if not isinstance(a["salt"], bytes) or len(a["salt"]) != 16:
                    raise ValueError("salt")
                algorithm = Argon2idParams(a["memlimit_kb"], a["opslimit"], a["parallelism"], a["salt"])
            elif kind == "keyring":
                keyring_service, keyring_user = f["keyring_service"], f["keyring_user"]
                if not isinstance(keyring_service, str) or not isinstance(keyring_user, str):
                    raise ValueError("keyring")
            return cls(
                type=kind,
                created_on=f["created_on"],
                protected_on=f["protected_on"],
                server=server_url_from_wire(f["server_url"]),
                organization_id=OrganizationID(f["organization_id"]),
                user_id=UserID(f["user_id"]),
                device_id=DeviceID(f["device_id"]),
                human_handle=HumanHandle(hh[0], hh[1]),
                device_label=DeviceLabel(f["device_label"]),
                ciphertext=f["ciphertext"],
                algorithm=algorithm,
                keyring_service=keyring_service,
                keyring_user=keyring_user,
                totp_opaque_key_id=totp,
                extra={k: v for k, v in f.items() if k not in _COMMON and k not in ("ciphertext",)},
            )
        except (InvalidValueError, ValueError, TypeError):
            raise DeviceFileCorruptError(
                _("The device file has an invalid field; it may be damaged.")
            ) from None

    @property
    def protection(self) -> str:
        return self.type

    def check_supported(self) -> None:
        if self.totp_opaque_key_id is not None:
            raise UnsupportedDeviceFileError(
                _(
                    "This device is also protected by a one-time code (TOTP), which Parsec Tray does not "
                    "support yet."
                ),
                hint=_("Open it with the official Parsec client."),
            )
        if self.type not in ("password", "keyring", "recovery"):
            raise UnsupportedDeviceFileError(
                _("This device is protected by {protection}, which Parsec Tray does not support.").format(
                    protection=_(PROTECTION_NAMES.get(self.type, self.type))
                ),
                hint=_("Open it with the official Parsec client."),
            )


def encrypt_device(device: LocalDevice, key: SecretKey) -> bytes:
    return key.encrypt(device.dump())


def decrypt_device(file: DeviceFile, key: SecretKey) -> LocalDevice:
    """Decrypt and check the device matches the file's public metadata."""
    file.check_supported()
    try:
        cleartext = key.decrypt(file.ciphertext)
    except CryptoError:
        if file.type == "password":
            raise WrongPasswordError(_("Wrong password for this device.")) from None
        raise WrongPasswordError(_("The key does not decrypt this device.")) from None
    device = LocalDevice.load(cleartext)
    if (
        device.device_id != file.device_id
        or device.user_id != file.user_id
        or device.organization_id != file.organization_id
    ):
        raise DeviceFileCorruptError(_("The device file's metadata does not match its encrypted content."))
    return device


