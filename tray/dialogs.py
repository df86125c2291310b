"""The tray's side of a dialog: a child process speaking JSON lines.

Each dialog (and the fallback window) is ``python -m
parsec_tray.tray.tk_dialogs KIND`` with its stdin and stdout as pipes.  The
tray process never imports Tk: GTK and Tk keep their own main loops in their
own processes (measured the most reliable way here), a crashed dialog cannot
take the tray down, and the tray's memory does not grow with Tk.

The tray writes ``{"type": "init", ...}`` first, then ``busy``/``progress``/
``error``/``done``/``raise``/``menu``/``close``; the dialog writes ``submit``,
``cancel`` and ``action``.  A reader thread per dialog blocks on the pipe (no
CPU while idle) and hands each message to ``on_message``; ``on_exit`` runs
once the process has ended.  If the tray dies, the dialog reads EOF and
closes itself.
"""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["DialogProcess"]

log = logging.getLogger(__name__)
MODULE = "parsec_tray.tray.tk_dialogs"


class DialogProcess:
    def __init__(
        self,
        kind: str,
        init: dict[str, Any],
        on_message: Callable[[DialogProcess, dict[str, Any]], None],
        on_exit: Callable[[DialogProcess, int], None],
        *,
        env: dict[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self.env = env
        self.init = init
        self.on_message = on_message
        self.on_exit = on_exit
        self.proc: subprocess.Popen[str] | None = None
        self.busy = False
        self.last_error: str | None = None
        self._wlock = threading.Lock()

    def start(self) -> DialogProcess:
        kwargs: dict[str, Any] = {}
        if sys.platform == "win32":
            kwargs["creationflags"] = subprocess.CREATE_NO_WINDOW  # type: ignore[attr-defined]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", MODULE, self.kind],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
            close_fds=True,
            env=self.env,
            **kwargs,
        )
        self.send({"type": "init", **self.init})
        threading.Thread(target=self._read, name=f"dialog-{self.kind}", daemon=True).start()
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send(self, msg: dict[str, Any]) -> None:
        proc = self.proc
        if proc is None or proc.stdin is None:
            return
        with self._wlock:
            try:
                proc.stdin.write(json.dumps(msg) + "\n")
                proc.stdin.flush()
            except (OSError, ValueError):  # the dialog is gone
                pass

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                log.warning("dialog %s wrote a non-JSON line: %r", self.kind, line[:200])
                continue
            if isinstance(msg, dict):
                try:
                    self.on_message(self, msg)
                except Exception:
                    log.exception("handling a message from dialog %s failed", self.kind)
        rc = self.proc.wait()
        with contextlib.suppress(OSError, ValueError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.on_exit(self, rc)
        except Exception:
            log.exception("on_exit of dialog %s failed", self.kind)

    def close(self, timeout: float = 2.0) -> None:
        """Ask the dialog to close; terminate it if it does not."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        self.send({"type": "close"})
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
