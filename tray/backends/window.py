"""The fallback shell: a display but no tray host.

The menu is shown as a small window of buttons, drawn by a Tk child process
(``tk_dialogs window``) like every dialog, so this process still imports no
toolkit.  The main thread just waits; closing the window quits the app.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import dialog_protocol as P
from ..dialogs import DialogProcess
from ..menu import Entry, title, to_json
from .base import Shell

if TYPE_CHECKING:
    from ..controller import Controller
    from ..state import Snapshot

__all__ = ["WindowShell"]


class WindowShell(Shell):
    IS_TRAY_ICON = False
    name = "window"

    def __init__(self) -> None:
        self.controller: Controller | None = None
        self._done = threading.Event()
        self._window: DialogProcess | None = None

    def _on_message(self, dlg: DialogProcess, msg: dict[str, Any]) -> None:
        assert self.controller is not None  # (the window is made after it)
        if msg.get("type") == P.FromDialog.ACTION:
            try:
                self.controller.perform(str(msg.get("action")), msg.get("arg"))
            except ValueError:
                pass

    def _on_exit(self, dlg: DialogProcess, rc: int) -> None:
        assert self.controller is not None
        self.controller.quit()
        self._done.set()

    def refresh(self, snapshot: Snapshot, entries: tuple[Entry, ...]) -> None:
        window = self._window
        if window is not None:  # (made with a snapshot taken after any earlier change)
            window.send({"type": P.ToDialog.MENU, "title": title(snapshot), "entries": to_json(entries)})

    def run(self, connect: Callable[[], Controller]) -> None:
        # No icon to show first: the window is the controller's menu.
        controller = self.controller = connect()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: threading.Thread(target=controller.quit, daemon=True).start())
        snap = controller.snapshot()
        self._window = DialogProcess(
            P.Kind.WINDOW,
            {"title": title(snap), "entries": to_json(controller.menu())},
            self._on_message,
            self._on_exit,
        )
        self._window.start()
        controller.started()
        # Wake up now and then so that Python can run signal handlers.
        while not self._done.wait(3600):
            pass

    def stop(self) -> None:
        if self._window is not None:
            self._window.close(timeout=1.0)
        self._done.set()
