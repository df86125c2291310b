"""Start at login: one backend, chosen once per process.

``get_autostart()`` answers the process's backend (``PARSEC_TRAY_AUTOSTART``
= ``xdg`` | ``windows`` | ``macos`` | ``none`` overrides the choice):

- ``xdg``: an XDG autostart entry (Linux, BSDs: every freedesktop session);
- ``windows``: the per-user Run registry key;
- ``macos``: a per-user LaunchAgent;
- ``none``: ``SUPPORTED = False``; the menu hides "Start at login".

The menu entry is checkable: ``checked=is_enabled()``, and its action calls
``enable(default_command())`` or ``disable()``; errors are
:class:`AutostartError` (a sentence to show).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from ..platform_choice import by_platform, env_override
from ._base import AUTOSTART_FLAG, Autostart, AutostartError, NoAutostart

__all__ = [
    "AUTOSTART_FLAG",
    "AUTOSTARTS",
    "Autostart",
    "AutostartError",
    "choose",
    "default_command",
    "get_autostart",
    "make_autostart",
]

AUTOSTARTS = ("xdg", "windows", "macos", "none")
ENV_VAR = "PARSEC_TRAY_AUTOSTART"


def choose(
    override: str | None = None, *, platform: str | None = None, env: Mapping[str, str] | None = None
) -> str:
    env = os.environ if env is None else env
    return env_override(ENV_VAR, AUTOSTARTS, env=env, override=override, what="autostart") or by_platform(
        sys.platform if platform is None else platform, windows="windows", macos="macos", freedesktop="xdg"
    )


def make_autostart(name: str) -> Autostart:
    if name == "xdg":
        from ._xdg import XdgAutostart

        return XdgAutostart()
    if name == "windows":
        from ._windows import WindowsAutostart

        return WindowsAutostart()
    if name == "macos":
        from ._macos import LaunchAgentAutostart

        return LaunchAgentAutostart()
    return NoAutostart()


_lock = threading.Lock()
_autostart: Autostart | None = None


def get_autostart() -> Autostart:
    global _autostart
    with _lock:
        if _autostart is None:
            _autostart = make_autostart(choose())
        return _autostart


def default_command() -> list[str]:
    """The argv that starts this installation of the tray (``--autostart``
    is added by the backend).  On Windows ``pythonw.exe`` when it exists, so
    that no console window opens at login."""
    exe = Path(sys.executable)
    if sys.platform == "win32" and exe.name.lower() == "python.exe":
        gui = exe.with_name("pythonw.exe")
        if gui.exists():
            exe = gui
    return [str(exe), "-m", "parsec_tray"]


def _reset() -> None:
    """Forget the choice (tests only)."""
    global _autostart
    with _lock:
        _autostart = None
