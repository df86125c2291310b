"""The dialog's end of the pipe, without a toolkit: JSON lines in on stdin,
out on the original stdout (:mod:`.dialog_protocol`).

Both renderers (``tk_dialogs``, ``gtk_dialogs``) read the ``init`` line with
:meth:`Pipe.read_init`, hand what their main loop reads from the file
descriptor to :meth:`Pipe.feed`, and write with :meth:`Pipe.send`.  The end
of stdin becomes the local message ``{"type": "eof"}`` (the tray is gone:
the dialog closes).
"""

from __future__ import annotations

import os
from typing import Any, TextIO

from . import dialog_protocol as P

__all__ = ["EOF", "Pipe"]

# Not on the wire: what the pipe delivers when stdin ends.
EOF = "eof"


class Pipe:
    def __init__(self, inp: TextIO, out: TextIO) -> None:
        self.inp = inp
        self.out = out
        self._buf = b""

    @property
    def fd(self) -> int:
        return self.inp.fileno()

    def read_init(self) -> dict[str, Any]:
        # Straight from the file descriptor, like the main loops' watchers: a
        # buffered readline() could swallow the messages sent right after init
        # (the Pending invitations list), which the watcher would never see.
        while b"\n" not in self._buf:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return (P.decode(line) if line else None) or {}

    def pending(self) -> list[dict[str, Any]]:
        """The messages that arrived with the init line."""
        rest, self._buf = self._buf, b""
        return self.feed(rest) if rest else []

    def read(self) -> list[dict[str, Any]]:
        """Read what is there (the fd is readable): its messages, EOF at the end."""
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        return self.feed(data)

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """Bytes read from stdin -> the whole messages they complete (b"" = EOF)."""
        if not data:
            return [{"type": EOF}]
        self._buf += data
        out = []
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            msg = P.decode(line)
            if msg is not None:
                out.append(msg)
        return out

    def send(self, msg: dict[str, Any]) -> None:
        try:
            self.out.write(P.encode(msg))
            self.out.flush()
        except (OSError, ValueError):
            os._exit(0)  # the tray is gone: nobody to talk to
