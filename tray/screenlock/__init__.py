"""Log out when the screen locks: one backend, chosen once per process.

``make_screenlock()`` answers a new monitor for this desktop
(``PARSEC_TRAY_SCREENLOCK`` = ``freedesktop`` | ``windows`` | ``macos`` |
``none`` overrides the choice):

- ``freedesktop``: ``org.freedesktop.ScreenSaver`` / ``org.gnome.ScreenSaver``
  ``ActiveChanged`` on the session bus, and logind's session ``Lock`` /
  ``Unlock`` where the system bus has it;
- ``windows``: ``WTSRegisterSessionNotification``;
- ``macos``: the ``com.apple.screenIsLocked`` distributed notifications;
- ``none``: ``SUPPORTED = False``; the menu hides the option.

A monitor calls ``on_change(LOCKED | UNLOCKED)`` from its own thread, once
per change of the overall state (see :class:`LockTracker`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from ._base import LOCKED, UNLOCKED, LockTracker, NoScreenLock, ScreenLockMonitor

__all__ = [
    "LOCKED",
    "SCREENLOCKS",
    "UNLOCKED",
    "LockTracker",
    "ScreenLockMonitor",
    "choose",
    "make_screenlock",
]

SCREENLOCKS = ("freedesktop", "windows", "macos", "none")
ENV_VAR = "PARSEC_TRAY_SCREENLOCK"


def choose(
    override: str | None = None, *, platform: str | None = None, env: Mapping[str, str] | None = None
) -> str:
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    override = override or env.get(ENV_VAR) or None
    if override:
        if override not in SCREENLOCKS:
            raise ValueError(
                f"unknown screen-lock backend {override!r} in {ENV_VAR}; choose one of {', '.join(SCREENLOCKS)}"
            )
        return override
    if platform == "win32":
        return "windows"
    if platform == "darwin":
        return "macos"
    if platform.startswith(("linux", "freebsd", "openbsd", "netbsd", "dragonfly", "sunos")):
        return "freedesktop"
    return "none"


def make_screenlock(name: str | None = None) -> ScreenLockMonitor:
    name = name or choose()
    if name == "freedesktop":
        from ._freedesktop import FreedesktopScreenLock

        return FreedesktopScreenLock()
    if name == "windows":
        from ._windows import WindowsScreenLock

        return WindowsScreenLock()
    if name == "macos":
        from ._macos import MacScreenLock

        return MacScreenLock()
    return NoScreenLock()
