"""The pipe to the tray: JSON lines in on stdin, out on the original
stdout (the messages are in :mod:`parsec_tray.tray.dialog_protocol`).

Messages are delivered in the Tk thread, without polling where Tk can
watch the pipe itself (Unix); the end of stdin becomes a local ``eof``
message (the tray is gone: the dialog closes).
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import tkinter as tk
from collections.abc import Callable
from typing import Any, TextIO

from .. import dialog_protocol as P

__all__ = ["EOF", "Channel"]

# Not on the wire: what the channel delivers when stdin ends.
EOF = "eof"


class Channel:
    """JSON lines in on stdin, out on the original stdout."""

    def __init__(self, inp: TextIO, out: TextIO) -> None:
        self.inp = inp
        self.out = out
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self._buf = b""

    def read_init(self) -> dict[str, Any]:
        # Straight from the file descriptor, like ``watch``: a buffered
        # readline() could swallow the messages sent right after init (the
        # Pending invitations list), which the fd watcher would never see.
        fd = self.inp.fileno()
        while b"\n" not in self._buf:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return (P.decode(line) if line else None) or {}

    def send(self, msg: dict[str, Any]) -> None:
        try:
            self.out.write(P.encode(msg))
            self.out.flush()
        except (OSError, ValueError):
            os._exit(0)  # the tray is gone: nobody to talk to

    def _push_lines(self, data: bytes) -> None:
        if not data:
            self.messages.put({"type": EOF})
            return
        self._buf += data
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            msg = P.decode(line)
            if msg is not None:
                self.messages.put(msg)

    def watch(self, root: tk.Tk, on_message: Callable[[dict[str, Any]], None]) -> None:
        """Deliver messages in the Tk thread, without polling where Tk can
        watch the pipe itself (Unix)."""

        def drain() -> None:
            while True:
                try:
                    msg = self.messages.get_nowait()
                except queue.Empty:
                    return
                on_message(msg)

        fd = self.inp.fileno()
        if self._buf:  # what arrived with the init line
            rest, self._buf = self._buf, b""
            self._push_lines(rest)
            root.after_idle(drain)
        if hasattr(root, "createfilehandler") and sys.platform != "win32":

            def readable(_fd: int, _mask: int) -> None:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    root.deletefilehandler(fd)
                self._push_lines(data)
                drain()

            root.createfilehandler(fd, tk.READABLE, readable)
            return

        def reader() -> None:
            while True:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    data = b""
                self._push_lines(data)
                if not data:
                    return

        threading.Thread(target=reader, daemon=True).start()

        def poll() -> None:
            drain()
            root.after(100, poll)

        root.after(100, poll)
