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

The icon comes first (issue 14, "cold start"): it is made with the
logged-out image before the controller exists, and nothing else runs until
it is up.  On ``gtk`` the status icon shows without a menu (the menu is built
when it opens), so the controller is made (``connect``) only once the tray
host has embedded the icon at its size (``size-changed``; after
:data:`EMBED_WAIT` seconds at most) and :data:`SETTLE` seconds more, off
the GTK thread; a menu opened before that makes it at once and waits for it.  The other backends need their menu to show the
icon: the controller is made first, then the icon shown.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..icons import tray_image
from .base import Shell

if TYPE_CHECKING:
    from pathlib import Path

    from ..controller import Controller
    from ..menu import Entry
    from ..state import Snapshot

__all__ = ["APP_ID", "EMBED_WAIT", "SETTLE", "PystrayShell"]

APP_ID = "parsec-tray"
# The icon's first tooltip, until the controller gives its own.
FIRST_TITLE = "Parsec Tray"
# gtk: the longest wait for the tray host to embed the icon before the
# controller is made anyway (a host that never embeds it).
EMBED_WAIT = 2.0
# gtk: and then a moment more, unless the menu opens first: GTK learns the
# icon's size before the tray host has finished showing it, and making the
# controller takes a core for ~40 ms (imports) on a 2-core machine.
SETTLE = 0.3
# A menu opened before the controller exists waits this long for it.
CONNECT_WAIT = 10.0

log = logging.getLogger(__name__)


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
    def __init__(self, backend: str) -> None:
        self.controller: Controller | None = None
        self.name = backend
        self._glib: Any = None
        gtk = backend in ("gtk", "appindicator")
        self.HAS_MENU_OPEN_HOOK = backend == "gtk"
        self.HAS_FILE_WATCH = gtk
        self._monitors: list[Any] = []  # alive as long as the shell
        self._lock = threading.Lock()
        self._embedded = threading.Event()  # gtk: the tray host gave the icon its size
        self._wanted = threading.Event()  # gtk: the menu opened (or the app stops): connect now
        self._connected = threading.Event()  # the controller exists, its menu is set
        self._stopping = threading.Event()
        self._failure: BaseException | None = None
        os.environ["PYSTRAY_BACKEND"] = backend
        if gtk:
            self._glib = _prepare_gtk()
        import pystray

        self._pystray = pystray
        cls = _icon_class(pystray.Icon, self, gtk)
        self._image = tray_image("logged_out")  # what a new controller shows
        self.icon = cls(APP_ID, self._image, FIRST_TITLE, None)
        if self.HAS_MENU_OPEN_HOOK:
            self._watch_embedding()

    def _watch_embedding(self) -> None:
        status_icon = getattr(self.icon, "_status_icon", None)
        if status_icon is None:  # not pystray's GtkStatusIcon: nothing to wait for
            self._embedded.set()
            return

        def on_size(_status_icon: Any, size: int) -> bool:
            if size > 1:  # embedded 1 px wide first, then given its size
                self._embedded.set()
            return False  # GTK scales the image

        status_icon.connect("size-changed", on_size)

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
            assert action is not None and self.controller is not None  # (entries come from it)
            self.controller.perform(action, arg)

        return run

    def _menu(self, entries: tuple[Entry, ...]) -> Any:
        return self._pystray.Menu(*(self._item(e) for e in entries))

    def _menu_opening(self) -> None:
        self._wanted.set()  # clicked: it is shown, whatever the host said
        self._embedded.set()
        if not self._connected.wait(CONNECT_WAIT):
            log.warning("the menu opened before the app was ready")
            return
        controller = self.controller
        if controller is None:  # it failed to start (run() says why)
            return
        try:
            controller.menu_opened()
        except Exception:  # never lose the menu to a refresh error
            log.exception("refreshing the menu failed")

    # -- Shell ---------------------------------------------------------------

    def refresh(self, snapshot: Snapshot, entries: tuple[Entry, ...]) -> None:
        from ..menu import title

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

    def run(self, connect: Callable[[], Controller]) -> None:
        def setup(icon: Any) -> None:  # pystray's setup thread
            try:
                if self.HAS_MENU_OPEN_HOOK:
                    icon.visible = True  # (a GTK status icon is visible from the start)
                    self._embedded.wait(EMBED_WAIT)
                    self._wanted.wait(SETTLE)
                    if self._stopping.is_set():
                        return
                    controller = self._connect(connect)
                else:  # the icon needs its menu to show
                    controller = self._connect(connect)
                    icon.visible = True
            except BaseException as exc:  # no controller, a useless icon: end the loop, run() raises it
                self._failure = exc
                self._connected.set()
                icon.stop()
                return
            if self._stopping.is_set():
                return
            from ..notifications import set_tray_icon

            set_tray_icon(icon)  # the notifications' last resort
            controller.started()

        if self._glib is not None:
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._glib.unix_signal_add(self._glib.PRIORITY_DEFAULT, sig, self._on_signal)
        self.icon.run(setup)
        if self._failure is not None:
            raise self._failure

    def _connect(self, connect: Callable[[], Controller]) -> Controller:
        controller = connect()
        self.controller = controller
        self.refresh(controller.snapshot(), controller.menu())
        self._connected.set()
        return controller

    def _on_signal(self) -> bool:
        controller = self.controller
        if controller is not None:
            controller.quit()
        else:  # still starting: nothing to close yet
            self.stop()
        return False

    def stop(self) -> None:
        self._stopping.set()
        self._wanted.set()  # a setup thread waiting for the host gives up
        self._embedded.set()
        self.icon.stop()
