"""LocalDevice: the secret part of a device key file (all the device's keys).

Serialized as a plain msgpack map (no format byte, no compression), keys in
libparsec's order; the legacy array form is read too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from .addr import ParsecAddr, parse_server
from .crypto import PrivateKey, SecretKey, SigningKey, VerifyKey
from .errors import DeviceFileCorruptError, InvalidLinkError, InvalidValueError, ParsecTrayError
from .i18n import N_, _
from .serialization import as_fields, packb, unpackb
from .values import DeviceID, DeviceLabel, HumanHandle, OrganizationID, UserID, UserProfile

__all__ = ["LocalDevice", "server_url_to_wire", "server_url_from_wire"]

_FIELDS = (
    "type", "server_url", "organization_id", "root_verify_key", "user_id", "device_id", "device_label",
    "human_handle", "signing_key", "private_key", "initial_profile", "user_realm_id", "user_realm_key",
    "local_symkey",
)


def server_url_to_wire(server: ParsecAddr) -> str:
    """``ParsecAddr`` in device files: the http(s) URL with a trailing '/'."""
    return server.to_http_url("/")


def server_url_from_wire(value: Any) -> ParsecAddr:
    if not isinstance(value, str):
        raise DeviceFileCorruptError(_("The device's server address is not text."))
    try:
        return parse_server(value)
    except InvalidLinkError:
        raise DeviceFileCorruptError(_("The device's server address is not valid.")) from None


@dataclass(frozen=True, repr=False)
class LocalDevice:
    server: ParsecAddr
    organization_id: OrganizationID
    root_verify_key: VerifyKey
    user_id: UserID
    device_id: DeviceID
    device_label: DeviceLabel
    human_handle: HumanHandle
    signing_key: SigningKey
    private_key: PrivateKey
    initial_profile: UserProfile
    user_realm_id: uuid.UUID
    user_realm_key: SecretKey
    local_symkey: SecretKey

    def __repr__(self) -> str:  # never print keys
        return f"LocalDevice({self.organization_id}, user={self.user_id.hex}, device={self.device_id.hex})"

    def dump(self) -> bytes:
        return packb(
            {
                "type": "local_device",
                "server_url": server_url_to_wire(self.server),
                "organization_id": str(self.organization_id),
                "root_verify_key": self.root_verify_key.encode(),
                "user_id": self.user_id,
                "device_id": self.device_id,
                "device_label": str(self.device_label),
                "human_handle": self.human_handle.to_wire(),
                "signing_key": self.signing_key.encode(),
                "private_key": self.private_key.encode(),
                "initial_profile": self.initial_profile.value,
                "user_realm_id": self.user_realm_id,
                "user_realm_key": self.user_realm_key.encode(),
                "local_symkey": self.local_symkey.encode(),
            }
        )

    @classmethod
    def load(cls, raw: bytes) -> LocalDevice:
        obj = unpackb(raw, error=DeviceFileCorruptError, what=N_("decrypted device"))
        f = as_fields(
            obj, _FIELDS, required=_FIELDS, error=DeviceFileCorruptError, what=N_("decrypted device")
        )
        if f["type"] != "local_device":
            raise DeviceFileCorruptError(_("The decrypted data is not a Parsec device."))
        try:
            hh = f["human_handle"]
            if not isinstance(hh, (list, tuple)) or len(hh) != 2:
                raise ValueError("human_handle")
            for name in ("user_id", "device_id", "user_realm_id"):
                if not isinstance(f[name], uuid.UUID):
                    raise ValueError(name)
            return cls(
                server=server_url_from_wire(f["server_url"]),
                organization_id=OrganizationID(f["organization_id"]),
                root_verify_key=VerifyKey(f["root_verify_key"]),
                user_id=UserID(f["user_id"]),
                device_id=DeviceID(f["device_id"]),
                device_label=DeviceLabel(f["device_label"]),
                human_handle=HumanHandle(hh[0], hh[1]),
                signing_key=SigningKey(f["signing_key"]),
                private_key=PrivateKey(f["private_key"]),
                initial_profile=UserProfile(f["initial_profile"]),
                user_realm_id=f["user_realm_id"],
                user_realm_key=SecretKey(f["user_realm_key"]),
                local_symkey=SecretKey(f["local_symkey"]),
            )
        except (ParsecTrayError, InvalidValueError, ValueError, TypeError) as exc:
            if isinstance(exc, DeviceFileCorruptError):
                raise
            raise DeviceFileCorruptError(_("The decrypted device has an invalid field.")) from None
