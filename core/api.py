"""What the CLI and the tray do, as plain functions: the only module of
``core`` that the shells (``cli/``, ``tray/``) need.

Every function either returns or raises a
:class:`~parsec_tray.core.errors.ParsecTrayError` whose ``str()`` is a
sentence for a person.  Nothing is written to disk unless the whole flow
succeeded.  ``progress`` callbacks receive short human sentences
("Deriving the key from the password…") and may be called from the calling
thread only.  These calls block (Argon2id ~0.5 s, network): call them off any
UI thread.
"""

from __future__ import annotations

__all__ = [
    "Progress",
    "CreatedDevice",
    "DeviceInfo",
    "OwnDevice",
    "RecoveryExport",
    "SecurityWarnings",
    "Session",
    "bootstrap_organization",
    "change_authentication",
    "check_authentication_change",
    "create_organization",
    "export_recovery_device",
    "fetch_own_devices",
    "find_device",
    "import_recovery_device",
    "list_devices",
    "login",
    "protect_with_keyring",
    "read_recovery_file",
    "session_security_warnings",
    "settle_pending_devices",
    "validate_person",
]

from .flows import (
    CreatedDevice,
    DeviceInfo,
    Progress,
    bootstrap_organization,
    create_organization,
    find_device,
    list_devices,
    login,
    protect_with_keyring,
    settle_pending_devices,
    validate_person,
)
from .own_devices import OwnDevice, SecurityWarnings, fetch_own_devices, session_security_warnings
from .protection import change_authentication, check_authentication_change
from .recovery import RecoveryExport, export_recovery_device, import_recovery_device, read_recovery_file
from .session import Session
