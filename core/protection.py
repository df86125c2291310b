"""Unlocking a device file, and changing how it is protected (fact sheet m).

A change of protection rewrites the same file in place: the device (keys,
ids, labels) is untouched, ``created_on`` is kept and ``protected_on`` is
now; a new password always gets a new random salt.  The new file is written
next to the old one and renamed over it (``write_device_file(...,
replace=True)``), so a crash at any point leaves either the old file or the
new one.  Nothing is sent to the server.  Going from the keyring to a
password leaves the keyring entry alone: it is shared by every keyring
device (libparsec never deletes it either).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from . import keyring_store
from .device_file import DeviceFile
from .devices import build_password_file, load_device_with_password, read_device_file, write_device_file
from .errors import InvalidValueError, UnsupportedDeviceFileError
from .i18n import _
from .local_device import LocalDevice

__all__ = ["change_authentication", "check_authentication_change", "reprotect_device_file", "unlock_device_file"]


def unlock_device_file(file: DeviceFile, password: str | None) -> LocalDevice:
    """The device in ``file``, with its password or from the OS keyring."""
    file.check_supported()
    if file.type == "keyring":
        return keyring_store.load_device_with_keyring(file)
    if file.type == "password":
        if not password:
            raise InvalidValueError(_("A password is needed to unlock this device."))
        return load_device_with_password(file, password)
    raise UnsupportedDeviceFileError(
        _("This is a recovery file, not a device: it cannot be unlocked or re-protected."),
        hint=_("Import it with 'parsec-tray import-recovery' to make a new device from it."),
    )


def reprotect_device_file(path: Path, device: LocalDevice, current: DeviceFile, password: str | None) -> Path:
    """Rewrite ``path`` (whose header is ``current``) with ``device``
    protected by ``password``, or by the OS keyring when ``None``, keeping
    its creation date."""
    if password is None:
        new = dataclasses.replace(keyring_store.build_keyring_file(device), created_on=current.created_on)
    else:
        new = build_password_file(device, password, created_on=current.created_on)
    return write_device_file(path, new.dump(), replace=True)


def check_authentication_change(path: Path) -> DeviceFile:
    """The header of the device file at ``path``, refused when its
    protection cannot be changed here (recovery file, TOTP, smartcard...)."""
    file = read_device_file(path)
    file.check_supported()
    if file.type not in ("password", "keyring"):
        unlock_device_file(file, None)  # raises the sentence for that kind
    return file


def change_authentication(
    path: Path, *, current_password: str | None = None, new_password: str | None = None, use_keyring: bool = False
) -> DeviceFile:
    """Protect the device file at ``path`` with ``new_password``, or with the
    OS keyring when ``use_keyring``; returns the new file's header.

    A wrong current password, a keyring that is missing or locked, or a bad
    new password changes nothing on disk."""
    if use_keyring == (new_password is not None):
        raise InvalidValueError(_("Choose either a new password or the OS keyring."))
    if new_password is not None and not new_password:
        raise InvalidValueError(_("The new password cannot be empty."))
    current = check_authentication_change(path)
    device = unlock_device_file(current, current_password)
    if use_keyring and current.type == "keyring":
        return current  # already so; rewriting would only change protected_on
    reprotect_device_file(path, device, current, new_password)
    return read_device_file(path)
