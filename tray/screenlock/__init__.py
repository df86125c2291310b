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

from ..platform_choice import by_platform, env_override
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


def choose(override: str | None = None, *, platform: str | None = None, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env_override(ENV_VAR, SCREENLOCKS, env=env, override=override, what="screen-lock backend") or by_platform(
        sys.platform if platform is None else platform, windows="windows", macos="macos", freedesktop="freedesktop"
    )


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
