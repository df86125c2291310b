"""What every screen-lock backend offers, and the one piece of logic they
share: turning the signals of several sources into lock/unlock transitions.

A backend watches whatever its platform says about the screen lock and
feeds a :class:`LockTracker`; the tracker answers a transition only when
the overall state changes.  The screen counts as locked while **any**
source says so: GNOME, for one, announces the same lock on two bus names,
and a second "locked" must not log out twice, nor the first "unlocked" of
two unlock the session early.

``start`` never raises for a missing service (no bus, no screensaver on
it): the backend then stays quiet and says why in :attr:`ScreenLockMonitor.reason`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["LOCKED", "UNLOCKED", "LockTracker", "NoScreenLock", "ScreenLockMonitor"]

log = logging.getLogger("parsec_tray.screenlock")

LOCKED = "locked"
UNLOCKED = "unlocked"

OnChange = Callable[[str], None]


class LockTracker:
    """(source, active) in, ``LOCKED`` / ``UNLOCKED`` / ``None`` out."""

    def __init__(self) -> None:
        self._active: set[str] = set()
        self._lock = threading.Lock()

    @property
    def locked(self) -> bool:
        return bool(self._active)

    def feed(self, source: str, active: bool) -> str | None:
        with self._lock:
            was = bool(self._active)
            if active:
                self._active.add(source)
            else:
                self._active.discard(source)
            now = bool(self._active)
        if now == was:
            return None
        return LOCKED if now else UNLOCKED

    def forget(self, source: str) -> str | None:
        """A source went away (its service quit): it no longer holds the lock."""
        return self.feed(source, False)


class ScreenLockMonitor:
    """Calls ``on_change(LOCKED | UNLOCKED)`` from its own thread."""

    name = "base"
    SUPPORTED = True

    def __init__(self) -> None:
        self.tracker = LockTracker()
        self.reason = ""
        self._on_change: OnChange | None = None

    def start(self, on_change: OnChange) -> bool:
        """Start watching; ``False`` (and :attr:`reason`) when nothing can be watched."""
        self._on_change = on_change
        return False

    def stop(self) -> None:
        self._on_change = None

    def _feed(self, source: str, active: bool) -> None:
        change = self.tracker.feed(source, active)
        callback = self._on_change
        if change is not None and callback is not None:
            try:
                callback(change)
            except Exception:
                log.exception("the screen-lock handler failed")


class NoScreenLock(ScreenLockMonitor):
    """Where nothing tells us about the screen lock: the menu hides the option."""

    name = "none"
    SUPPORTED = False

    def start(self, on_change: OnChange) -> bool:
        self.reason = "this desktop does not say when the screen locks"
        return False
