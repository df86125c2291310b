"""The tray's side of a dialog: a child process speaking JSON lines.

Each dialog (and the fallback window) is ``python -m RENDERER KIND`` with
its stdin and stdout as pipes.  The renderer is chosen once
(:func:`renderer`): GTK 3 (``parsec_tray.tray.gtk_dialogs``) on Linux when
PyGObject and GTK are there, Tk (``parsec_tray.tray.tk_dialogs``) on Windows,
macOS and as the fallback; ``PARSEC_TRAY_DIALOGS=gtk|tk`` overrides it.  Both
draw the same descriptions (:mod:`.dialog_specs`).  The tray process never
imports a dialog toolkit: each keeps its own main loop in its own process
(measured the most reliable way here), a crashed dialog cannot take the tray
down, and the tray's memory does not grow with it.

The messages are those of :mod:`.dialog_protocol`.  A reader thread per
dialog blocks on the pipe (no CPU while idle) and hands each message to
``on_message``; ``on_exit`` runs once the process has ended.  If the tray
dies, the dialog reads EOF and closes itself.

What ``parsec-tray status`` says about a dialog (:meth:`DialogProcess.status`)
is computed from the process and what it was last told (busy, the error
shown, whether a result is shown, the rows rendered): the methods that send
a flow's outcome are the only ones that change it.  :class:`DialogManager`
keeps at most one dialog per kind.  ``status`` describes only the dialogs
whose process is running now (a closed one leaves nothing behind), and of a
result only the facts of :data:`PUBLIC_RESULTS`: never a link, a token, a
passphrase or the path of a file that holds a secret (a person reads
``status``, scripts log it).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

from . import dialog_protocol as P

__all__ = ["RENDERERS", "DialogManager", "DialogProcess", "renderer"]

log = logging.getLogger(__name__)

# What ``status`` may repeat of a result the dialog shows; the rest (the
# invitation link, the recovery passphrase, the device or recovery file's
# path) stays on the screen.  ``result_shown`` says that there is one.
PUBLIC_RESULTS = frozenset({"organization", "who", "email_sent", "confirmed"})

# Renderer -> (its module, the kinds it draws).  The fallback window (the
# menu as buttons when there is no tray host) is Tk's on every platform.
RENDERERS: dict[str, tuple[str, frozenset[str]]] = {
    "gtk": ("parsec_tray.tray.gtk_dialogs", frozenset(P.Kind) - {P.Kind.WINDOW}),
    "tk": ("parsec_tray.tray.tk_dialogs", frozenset(P.Kind)),
}
ENV = "PARSEC_TRAY_DIALOGS"


def _gtk_present() -> bool:
    try:
        import gi

        gi.require_version("Gtk", "3.0")  # the typelib is there (imports no GTK)
    except (ImportError, ValueError):
        return False
    return True


def choose_renderer(environ: Mapping[str, str], platform: str, gtk_present: Callable[[], bool]) -> str:
    """``gtk`` or ``tk`` (see the module header); an unknown override is ignored."""
    forced = environ.get(ENV, "").strip().lower()
    if forced in RENDERERS:
        return forced
    if forced:
        log.warning("%s=%r is not one of %s: choosing by platform", ENV, forced, ", ".join(RENDERERS))
    return "gtk" if platform.startswith("linux") and gtk_present() else "tk"


@functools.cache
def renderer() -> str:
    """The renderer of this process's dialogs, chosen once."""
    return choose_renderer(os.environ, sys.platform, _gtk_present)


def module_for(kind: str, name: str | None = None) -> str:
    """The module that draws dialog ``kind`` with renderer ``name`` (the chosen one)."""
    module, kinds = RENDERERS[name or renderer()]
    return module if kind in kinds else RENDERERS["tk"][0]


class DialogProcess:
    def __init__(
        self,
        kind: str,
        init: dict[str, Any],
        on_message: Callable[[DialogProcess, dict[str, Any]], None],
        on_exit: Callable[[DialogProcess, int], None],
        *,
        env: dict[str, str] | None = None,
        renderer: str | None = None,
    ) -> None:
        self.kind = kind
        self.env = env
        self.renderer = renderer  # None: the one chosen for the process
        self.init = init
        self.on_message = on_message
        self.on_exit = on_exit
        self.proc: subprocess.Popen[str] | None = None
        self.busy = False
        # What the dialog shows (an error opened with it: the quick login's banner).
        self.error: str | None = init.get("error")
        self.error_type: str | None = None
        self.field: str | None = None
        self.result: dict[str, Any] = {}
        self.done = False
        self.count: int | None = None  # invitations sent to it
        self.rendered: int | None = None  # ... and on its screen
        self.shown = False
        self.step: int | None = None  # the wizard's step on screen (its ``state``)
        self.invalid: list[str] = []  # the fields it shows in error (its ``state``)
        self._wlock = threading.Lock()

    # -- what it shows (the flows' outcomes) ------------------------------------------

    def status(self) -> dict[str, Any]:
        alive = self.alive
        out: dict[str, Any] = {
            "open": alive and not self.done,
            "busy": self.busy and alive,
            "error": self.error,
        }
        if self.error_type is not None:
            out["error_type"] = self.error_type
            out["field"] = self.field
        if self.done:
            out["done"] = True
        if self.result:
            out["result_shown"] = True
            out.update({k: v for k, v in self.result.items() if k in PUBLIC_RESULTS})
        if self.count is not None:
            out["count"] = self.count
        if self.rendered is not None:
            out["rendered"] = self.rendered
        if self.shown:
            out["shown"] = True
        if self.step is not None:
            out["step"] = self.step
        if self.invalid:
            out["invalid"] = list(self.invalid)
        return out

    def working(self) -> None:
        """A flow started for what the person submitted."""
        self.busy, self.error, self.error_type, self.field = True, None, None, None

    def progress(self, text: str) -> None:
        self.send(P.progress(text))

    def failed(self, message: str, *, error_type: str, step: int | None, field: str | None) -> None:
        self.busy, self.error, self.error_type, self.field = False, message, error_type, field
        self.send(P.error(message, step=step, field=field))

    def error_shown(self, message: str) -> None:
        """An error the dialog shows in its banner (no field, no flow)."""
        self.busy, self.error = False, message
        self.send(P.error(message))

    def succeeded(self, result: dict[str, Any] | None = None) -> None:
        """The flow is over: the dialog shows ``result``, or closes."""
        self.busy = False
        if result is not None:
            self.result = dict(result)
            self.send({"type": P.ToDialog.RESULT, **result})
        else:
            self.done = True
            self.send({"type": P.ToDialog.DONE})

    def listed(self, items: list[dict[str, Any]]) -> None:
        self.busy, self.error, self.count = False, None, len(items)
        self.send({"type": P.ToDialog.LIST, "items": items})

    def start(self) -> DialogProcess:
        kwargs: dict[str, Any] = {}
        if sys.platform == "win32":
            kwargs["creationflags"] = subprocess.CREATE_NO_WINDOW  # type: ignore[attr-defined]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module_for(self.kind, self.renderer), self.kind],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
            close_fds=True,
            env=self.env,
            **kwargs,
        )
        self.send({"type": P.ToDialog.INIT, **self.init})
        threading.Thread(target=self._read, name=f"dialog-{self.kind}", daemon=True).start()
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send(self, msg: Mapping[str, object]) -> None:
        proc = self.proc
        if proc is None or proc.stdin is None:
            return
        with self._wlock:
            try:
                proc.stdin.write(P.encode(msg))
                proc.stdin.flush()
            except (OSError, ValueError):  # the dialog is gone
                pass

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            msg = P.decode(line)
            if msg is None:
                log.warning("dialog %s wrote a line that is not a JSON object: %r", self.kind, line[:200])
                continue
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
        self.send({"type": P.ToDialog.CLOSE})
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()


class DialogManager:
    """The dialogs, at most one per kind (see the module header).

    ``on_message(dlg, msg)`` receives what the dialogs write, in their
    reader threads.  Thread-safe.
    """

    def __init__(
        self,
        on_message: Callable[[DialogProcess, dict[str, Any]], None],
        *,
        process: Callable[..., DialogProcess] = DialogProcess,
    ) -> None:
        self._on_message = on_message
        self._process = process
        self._lock = threading.Lock()
        self._open: dict[str, DialogProcess] = {}
        self._closed = False

    def open(self, kind: str, init: dict[str, Any], *, target: str | None = None) -> DialogProcess | None:
        """Open dialog ``kind`` about ``target``.  The one already open is
        raised when it is busy or about the same target, else replaced.
        None once closed for good, or when the process cannot start."""
        with self._lock:
            if self._closed:
                return None
            current = self._open.get(kind)
            if current is not None and current.alive:
                if current.busy or current.init.get("_target") == target:
                    current.send({"type": P.ToDialog.RAISE})
                    return current
                current.close()
            dlg = self._process(kind, {**init, "_target": target}, self._on_message, self._exited)
            self._open[kind] = dlg
        try:
            dlg.start()
        except OSError as exc:
            log.error("cannot start the %s dialog: %s", kind, exc)
            with self._lock:
                if self._open.get(kind) is dlg:
                    del self._open[kind]
            return None
        return dlg

    def _exited(self, dlg: DialogProcess, rc: int) -> None:
        with self._lock:
            if self._open.get(dlg.kind) is dlg:
                del self._open[dlg.kind]
        if rc not in (0, -15):
            log.warning("the %s dialog exited with status %s", dlg.kind, rc)

    def status(self) -> dict[str, dict[str, Any]]:
        """The running dialogs' status, by kind (see the module header)."""
        with self._lock:
            running = dict(self._open)
        return {kind: dlg.status() for kind, dlg in running.items() if dlg.alive}

    def close_all(self, timeout: float = 1.0) -> None:
        """Close every dialog; none opens any more."""
        with self._lock:
            self._closed = True
            dialogs = list(self._open.values())
        for dlg in dialogs:
            dlg.close(timeout=timeout)
