"""A device on this computer, as listed without decrypting its key file.

One type from core to the shells: ``list_devices`` makes :class:`DeviceInfo`
values, the CLI prints them, the tray's menu and state hold them.  When the
tray lists the devices in a child process (``parsec-tray devices --json``,
so that an idle tray never imports core's heavy modules), they cross the
process boundary as :meth:`DeviceInfo.to_json` and come back through
:meth:`DeviceInfo.from_json`: the only serialization of this type.

Invariant: this module imports nothing heavier than ``core.i18n``, so the
tray may use it before it ever logs in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .i18n import _

if TYPE_CHECKING:
    from .device_file import DeviceFile

__all__ = ["DeviceInfo", "Protection"]


class Protection(StrEnum):
    """What unlocks a device file's keys (the file's ``type``).  This
    client writes and opens the first three; the others are listed."""

    PASSWORD = "password"
    KEYRING = "keyring"
    RECOVERY = "recovery"
    PKI = "pki"
    ACCOUNT_VAULT = "account_vault"
    OPENBAO = "openbao"


@dataclass(frozen=True)
class DeviceInfo:
    """A local device key file, as listed without decrypting it."""

    device_file: Path
    organization_id: str
    user_id: str  # 32 hex
    device_id: str  # 32 hex
    email: str
    user_name: str  # human handle label
    device_label: str
    server_url: str  # parsec3://host[:port][?no_ssl=true]
    protection: Protection = Protection.PASSWORD
    # Created by a request whose answer was lost: the next login settles it.
    pending: bool = False

    @property
    def key(self) -> str:
        """The device file's path as text: unique on this computer, what
        the shells carry to name a device (menu actions, settings)."""
        return str(self.device_file)

    @classmethod
    def from_file(cls, path: Path, f: DeviceFile, pending: bool = False) -> DeviceInfo:
        return cls(
            device_file=path,
            organization_id=str(f.organization_id),
            user_id=f.user_id.hex,
            device_id=f.device_id.hex,
            email=str(f.human_handle.email),
            user_name=f.human_handle.label,
            device_label=str(f.device_label),
            server_url=f.server.to_url(),
            protection=Protection(f.type),
            pending=pending,
        )

    def describe(self) -> str:
        facts = {
            "org": self.organization_id,
            "user_name": self.user_name,
            "email": self.email,
            "device_label": self.device_label,
            "id": self.device_id[:8],
        }
        if self.pending:
            return _(
                "{org}: {user_name} <{email}> on {device_label} ({id}) (not confirmed by the server yet: "
                "log in to finish)"
            ).format(**facts)
        return _("{org}: {user_name} <{email}> on {device_label} ({id})").format(**facts)

    def to_json(self) -> dict[str, Any]:
        return {
            "device_file": str(self.device_file),
            "organization_id": self.organization_id,
            "user_id": self.user_id,
            "device_id": self.device_id,
            "human_handle": {"email": self.email, "label": self.user_name},
            "device_label": self.device_label,
            "server_url": self.server_url,
            "protection": str(self.protection),
            **({"pending": True} if self.pending else {}),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DeviceInfo:
        """The inverse of :meth:`to_json` (raises KeyError or ValueError on
        what it did not write)."""
        handle = d.get("human_handle") or {}
        return cls(
            device_file=Path(d["device_file"]),
            organization_id=str(d["organization_id"]),
            user_id=str(d["user_id"]),
            device_id=str(d["device_id"]),
            email=str(handle.get("email", "")),
            user_name=str(handle.get("label", "")),
            device_label=str(d.get("device_label", "")),
            server_url=str(d.get("server_url", "")),
            protection=Protection(d.get("protection", "password")),
            pending=bool(d.get("pending", False)),
        )
