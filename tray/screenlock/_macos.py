"""The screen lock on macOS: the distributed notifications
``com.apple.screenIsLocked`` / ``com.apple.screenIsUnlocked``, observed on
``NSDistributedNotificationCenter`` through pyobjus (already the macOS
notification route's dependency), delivered on the main run loop that
pystray's darwin backend runs.

Written from Apple's documentation and imported only on macOS; it is not
exercised by the Linux test suite.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ._base import OnChange, ScreenLockMonitor

__all__ = ["MacScreenLock"]

log = logging.getLogger("parsec_tray.screenlock")

LOCKED_NOTE = "com.apple.screenIsLocked"
UNLOCKED_NOTE = "com.apple.screenIsUnlocked"


class MacScreenLock(ScreenLockMonitor):
    name = "macos"

    def __init__(self) -> None:
        super().__init__()
        self._center: Any = None
        self._observer: Any = None

    def start(self, on_change: OnChange) -> bool:
        super().start(on_change)
        try:
            import pyobjus
            from pyobjus.dylib_manager import INCLUDE, load_framework
        except ImportError:
            self.reason = "pyobjus is not installed"
            return False
        load_framework(INCLUDE.Foundation)
        autoclass: Callable[[str], Any] = pyobjus.autoclass
        protocol: Callable[[str], Callable[[Callable[..., None]], Callable[..., None]]] = pyobjus.protocol
        monitor = self

        class Observer:
            @protocol("NSObject")
            def screenLocked_(self, note: Any) -> None:
                monitor._feed("macos", True)

            @protocol("NSObject")
            def screenUnlocked_(self, note: Any) -> None:
                monitor._feed("macos", False)

        center = autoclass("NSDistributedNotificationCenter").defaultCenter()
        nsstring = autoclass("NSString")
        self._observer = Observer()
        for selector, name in (("screenLocked:", LOCKED_NOTE), ("screenUnlocked:", UNLOCKED_NOTE)):
            center.addObserver_selector_name_object_(
                self._observer, selector, nsstring.alloc().initWithUTF8String_(name), None
            )
        self._center = center
        return True

    def stop(self) -> None:
        super().stop()
        if self._center is not None:
            self._center.removeObserver_(self._observer)
            self._center = None
