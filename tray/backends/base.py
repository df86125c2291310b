"""What every shell offers the controller.

A shell owns the main thread (``run`` blocks until ``stop``) and renders the
menu entries it is given.  ``refresh`` and ``stop`` may be called from any
thread.  Feature flags, not platform checks, tell callers what a shell can do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..menu import Entry
    from ..state import Snapshot

__all__ = ["Shell"]


class Shell:
    #: The shell calls ``controller.menu_opened()`` just before showing the
    #: menu (a cheap moment to refresh the device list and check the server).
    HAS_MENU_OPEN_HOOK = False
    #: An icon in a tray host (False: a plain window).
    IS_TRAY_ICON = True

    name = "base"

    def run(self) -> None:
        raise NotImplementedError

    def refresh(self, snapshot: Snapshot, entries: tuple[Entry, ...]) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError
