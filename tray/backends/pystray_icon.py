"""The tray icon through pystray (gtk, appindicator, win32, darwin, xorg).

Only the tray process imports this module: it imports GTK (on Linux) and
pystray, which need a display.

On GTK backends:

- the program name is set to ``parsec-tray`` before GTK starts, so the icon
  window's class is ``parsec-tray`` (window managers, tests and benchmarks
  find it by that name);
- pystray's D-Bus notifier is not created (and ``HAS_NOTIFICATION`` is
  False): notifications go through ``tray.notifications``, and creating it
  can auto-start a notification daemon (or fail without one) at start-up;
- a left click opens the menu too (no default item to run);
- the menu-open hook refreshes the menu synchronously before it is shown;
- folders are watched with GLib's file monitor (``HAS_FILE_WATCH``): no
  timer, the kernel (inotify) wakes the loop;
- SIGTERM and SIGINT stop the main loop cleanly (socket removed, dialogs
  closed).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..icons import tray_image
from ..menu import Entry, title
from .base import Shell

if TYPE_CHECKING:
    from ..controller import Controller
    from ..state import Snapshot

__all__ = ["APP_ID", "PystrayShell"]

APP_ID = "parsec-tray"


class _NoNotifier:
    def notify(self, *args: Any) -> None:
        pass

    def hide(self) -> None:
        pass


def _prepare_gtk() -> Any:
    import gi

    gi.require_version("GLib", "2.0")
    from gi.repository import GLib

    GLib.set_prgname(APP_ID)
    GLib.set_application_name("Parsec Tray")
    return GLib


def _icon_class(base: type, shell: PystrayShell, gtk: bool) -> type:
    if not gtk:
        return base

    class Icon(base):  # type: ignore[misc]
        # Without pystray's notifier this icon shows no notification; say so,
        # so that tray.notifications' last resort does not count on it.
        HAS_NOTIFICATION = False

        def _initialize(self) -> None:
            self._notifier = _NoNotifier()
            self._mark_ready()

        def _on_status_icon_popup_menu(self, status_icon: Any, button: Any, activate_time: Any) -> None:
            shell._menu_opening()
            # Rebuild now, in the GTK thread: what is shown is current.
            self._menu_handle = self._create_menu(self.menu)
            super()._on_status_icon_popup_menu(status_icon, button, activate_time)

        def _on_status_icon_activate(self, status_icon: Any) -> None:
            self._on_status_icon_popup_menu(status_icon, 1, 0)

    return Icon


class PystrayShell(Shell):
    def __init__(self, controller: Controller, backend: str) -> None:
        self.controller = controller
        self.name = backend
        self._glib: Any = None
        gtk = backend in ("gtk", "appindicator")
        self.HAS_MENU_OPEN_HOOK = backend == "gtk"
        self.HAS_FILE_WATCH = gtk
        self._monitors: list[Any] = []  # alive as long as the shell
        os.environ["PYSTRAY_BACKEND"] = backend
        if gtk:
            self._glib = _prepare_gtk()
        import pystray

        self._pystray = pystray
        snapshot = controller.snapshot()
        entries = controller.menu()
        cls = _icon_class(pystray.Icon, self, gtk)
        self._image = self._image_of(snapshot)
        self.icon = cls(APP_ID, self._image, title(snapshot), self._menu(entries))
        self._lock = threading.Lock()

    # -- rendering ---------------------------------------------------------

    @staticmethod
    def _image_of(snapshot: Snapshot) -> Any:
        """The state's icon, or the refusal's own, with the waiting badge."""
        refusal = snapshot.icon_refusal
        return tray_image(snapshot.icon.value, refusal.value if refusal else None, snapshot.icon_waiting)

    def _item(self, e: Entry) -> Any:
        pystray = self._pystray
        if e.separator:
            return pystray.Menu.SEPARATOR
        if e.submenu:
            return pystray.MenuItem(
                e.text, pystray.Menu(*(self._item(s) for s in e.submenu)), enabled=e.enabled
            )
        action = self._callback(e) if e.action is not None else None
        if e.checked is not None:
            checked = e.checked
            return pystray.MenuItem(
                e.text, action, enabled=e.enabled and action is not None, checked=lambda _item: checked
            )
        return pystray.MenuItem(e.text, action, enabled=e.enabled and action is not None)

    def _callback(self, e: Entry) -> Callable[[Any, Any], None]:
        action, arg = e.action, e.arg

        def run(icon: Any, item: Any) -> None:
            assert action is not None
            self.controller.perform(action, arg)

        return run

    def _menu(self, entries: tuple[Entry, ...]) -> Any:
        return self._pystray.Menu(*(self._item(e) for e in entries))

    def _menu_opening(self) -> None:
        try:
            self.controller.menu_opened()
        except Exception:  # never lose the menu to a refresh error
            import logging

            logging.getLogger(__name__).exception("refreshing the menu failed")

    # -- Shell ---------------------------------------------------------------

    def refresh(self, snapshot: Snapshot, entries: tuple[Entry, ...]) -> None:
        with self._lock:
            image = self._image_of(snapshot)
            if image is not self._image:  # cached: the same object for the same picture
                self._image = image
                self.icon.icon = image
            self.icon.title = title(snapshot)
            self.icon.menu = self._menu(entries)  # pystray schedules the rebuild

    def watch_directory(self, path: Path, on_change: Callable[[], None]) -> None:
        def start() -> bool:  # in the GLib loop, so that events arrive there
            import gi

            gi.require_version("Gio", "2.0")
            from gi.repository import Gio

            monitor = Gio.File.new_for_path(str(path)).monitor_directory(
                Gio.FileMonitorFlags.WATCH_MOVES, None
            )
            monitor.connect("changed", lambda *_args: on_change())
            self._monitors.append(monitor)
            return False  # once

        self._glib.idle_add(start)

    def run(self) -> None:
        def setup(icon: Any) -> None:
            icon.visible = True
            from ..notifications import set_tray_icon

            set_tray_icon(icon)  # the notifications' last resort
            self.controller.started()

        if self._glib is not None:
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._glib.unix_signal_add(self._glib.PRIORITY_DEFAULT, sig, self._on_signal)
        self.icon.run(setup)

    def _on_signal(self) -> bool:
        self.controller.quit()
        return False

    def stop(self) -> None:
        self.icon.stop()
