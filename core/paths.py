"""Where libparsec keeps things, with the same environment overrides.

- config dir: ``$PARSEC_BASE_CONFIG_DIR`` or the OS config dir, then
  ``parsec3/libparsec``; device files live under its ``devices/``.
- data dir: ``$PARSEC_BASE_DATA_DIR`` or the OS data dir, then ``parsec3``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .private_dirs import make_private_dirs

__all__ = ["config_dir", "data_dir", "devices_dir", "default_device_file", "app_config_dir", "make_private_dirs"]


def _os_config_base() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support"
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".config"


def _os_data_base() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support"
    xdg = os.environ.get("XDG_DATA_HOME")
    return Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"


def config_dir() -> Path:
    base = os.environ.get("PARSEC_BASE_CONFIG_DIR")
    return (Path(base) if base else _os_config_base()) / "parsec3" / "libparsec"


def data_dir() -> Path:
    base = os.environ.get("PARSEC_BASE_DATA_DIR")
    return (Path(base) if base else _os_data_base()) / "parsec3"


def devices_dir(config: Path | None = None) -> Path:
    return (config if config is not None else config_dir()) / "devices"


def default_device_file(device_id_hex: str, config: Path | None = None) -> Path:
    return devices_dir(config) / f"{device_id_hex}.keys"


def app_config_dir() -> Path:
    """Parsec Tray's own settings (last device, autostart choice)."""
    override = os.environ.get("PARSEC_TRAY_CONFIG_DIR")
    if override:
        return Path(override)
    return _os_config_base() / "parsec-tray"
