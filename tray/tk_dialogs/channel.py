"""The pipe to the tray, in Tk's loop (:class:`~..dialog_pipe.Pipe`).

Messages are delivered in the Tk thread, without polling where Tk can
watch the pipe itself (Unix); elsewhere a reader thread fills a queue.
"""

from __future__ import annotations

import queue
import sys
import threading
import tkinter as tk
from collections.abc import Callable
from typing import Any

from ..dialog_pipe import EOF, Pipe

__all__ = ["EOF", "Channel"]


class Channel(Pipe):
    """JSON lines in on stdin, out on the original stdout, in Tk's thread."""

    def watch(self, root: tk.Tk, on_message: Callable[[dict[str, Any]], None]) -> None:
        messages: queue.Queue[dict[str, Any]] = queue.Queue()

        def drain() -> None:
            while True:
                try:
                    msg = messages.get_nowait()
                except queue.Empty:
                    return
                on_message(msg)

        for msg in self.pending():  # what arrived with the init line
            messages.put(msg)
        if not messages.empty():
            root.after_idle(drain)
        fd = self.fd
        if hasattr(root, "createfilehandler") and sys.platform != "win32":

            def readable(_fd: int, _mask: int) -> None:
                got = self.read()
                if got and got[-1].get("type") == EOF:
                    root.deletefilehandler(fd)
                for msg in got:
                    messages.put(msg)
                drain()

            root.createfilehandler(fd, tk.READABLE, readable)
            return

        def reader() -> None:
            while True:
                got = self.read()
                for msg in got:
                    messages.put(msg)
                if got and got[-1].get("type") == EOF:
                    return

        threading.Thread(target=reader, daemon=True).start()

        def poll() -> None:
            drain()
            root.after(100, poll)

        root.after(100, poll)
