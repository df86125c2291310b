"""Where libparsec keeps things, with the same environment overrides.

- config dir: ``$PARSEC_BASE_CONFIG_DIR`` or the OS config dir, then
  ``parsec3/libparsec``; device files live under its ``devices/``.
- data dir: ``$PARSEC_BASE_DATA_DIR`` or the OS data dir, then ``parsec3``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

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


def make_private_dirs(path: Path) -> Path:
    """Create ``path`` and its missing parents mode 0700 whatever the umask
    (``mkdir(parents=True)`` gives the parents 0777 minus the umask)."""
    missing: list[Path] = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            continue
        with contextlib.suppress(OSError):
            os.chmod(d, 0o700)  # mkdir's mode is masked by the umask
    return path
