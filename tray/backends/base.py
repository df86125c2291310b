"""What every shell offers the controller.

A shell owns the main thread (``run`` blocks until ``stop``) and renders the
menu entries it is given.  ``refresh`` and ``stop`` may be called from any
thread.  Feature flags, not platform checks, tell callers what a shell can do.

A shell exists before the controller: the icon is shown first, and the
controller (most of the app's modules) is made by the ``connect`` callback
``run`` is given, once the icon needs it (:meth:`Shell.run`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from ..controller import Controller
    from ..menu import Entry
    from ..state import Snapshot

__all__ = ["Shell"]


class Shell:
    #: The shell calls ``controller.menu_opened()`` just before showing the
    #: menu (a cheap moment to refresh the device list and check the server).
    HAS_MENU_OPEN_HOOK = False
    #: An icon in a tray host (False: a plain window).
    IS_TRAY_ICON = True
    #: ``watch_directory`` works: the shell's main loop is told when the
    #: files of a folder change (GLib's file monitor, inotify on Linux).
    HAS_FILE_WATCH = False

    name = "base"

    def run(self, connect: Callable[[], Controller]) -> None:
        """Show the icon (or window) and run the main loop until :meth:`stop`.

        ``connect()`` makes the controller, attached to this shell; the shell
        calls it once, from the thread of its choice: as soon as the icon is
        embedded where the icon shows without a menu (the GTK status icon,
        whose menu is built when it opens), before showing it otherwise.
        The shell then renders the controller's menu and calls
        ``controller.started()``.  An exception from ``connect`` stops the
        loop and is raised again by ``run``."""
        raise NotImplementedError

    def refresh(self, snapshot: Snapshot, entries: tuple[Entry, ...]) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def watch_directory(self, path: Path, on_change: Callable[[], None]) -> None:
        """Call ``on_change`` (in the shell's loop) whenever a file of
        ``path`` is created, changed, renamed or removed.  Only when
        :attr:`HAS_FILE_WATCH`."""
        raise NotImplementedError
