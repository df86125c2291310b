"""The style every Tk window shares, and :class:`Dialog`, the base of the
fallback window (the menu as buttons): a window that speaks the protocol
(raise, close, ``state``).  The dialogs themselves are
:class:`~.spec_window.TkDialog`, drawn from their descriptions.
"""

from __future__ import annotations

import sys
import tkinter as tk
from collections.abc import Callable
from tkinter import font as tkfont
from tkinter import ttk
from typing import Any

from .. import dialog_protocol as P
from ..i18n import _
from .channel import EOF, Channel

__all__ = ["APP", "Dialog", "centre", "setup_style"]

APP = "Parsec Tray"


def setup_style(root: tk.Tk) -> None:
    style = ttk.Style(root)
    preferred = {"win32": ("vista", "winnative"), "darwin": ("aqua",)}.get(sys.platform, ("clam",))
    for theme in preferred:
        if theme in style.theme_names():
            style.theme_use(theme)
            break
    base = tkfont.nametofont("TkDefaultFont")
    heading = base.copy()
    heading.configure(size=int(base.cget("size") * 1.35) if base.cget("size") > 0 else 13, weight="bold")
    small = base.copy()
    small.configure(size=max(8, int(base.cget("size") * 0.92)) if base.cget("size") > 0 else 9)
    code = base.copy()  # a greeting's code, to read aloud
    code.configure(size=int(base.cget("size") * 3) if base.cget("size") > 0 else 30, weight="bold")
    root._fonts = (heading, small, code)  # type: ignore[attr-defined]  # keep references
    style.configure("Code.TLabel", font=code)
    style.configure("Heading.TLabel", font=heading)
    style.configure("Error.TLabel", foreground="#b3261e", font=small)
    style.configure("Hint.TLabel", foreground="#5f6368", font=small)
    style.configure("Banner.TLabel", foreground="#b3261e")
    style.configure("Strength0.TLabel", foreground="#b3261e", font=small)
    style.configure("Strength1.TLabel", foreground="#b3261e", font=small)
    style.configure("Strength2.TLabel", foreground="#b26a00", font=small)
    style.configure("Strength3.TLabel", foreground="#1e7e34", font=small)
    style.configure("Strength4.TLabel", foreground="#1e7e34", font=small)


def centre(root: tk.Tk) -> None:
    """Place ``root`` (withdrawn, built) centred on the screen, a third of the
    free height above it."""
    root.update_idletasks()
    w, h = root.winfo_reqwidth(), root.winfo_reqheight()
    x = max(0, (root.winfo_screenwidth() - w) // 2)
    y = max(0, (root.winfo_screenheight() - h) // 3)
    root.geometry(f"+{x}+{y}")


class Dialog:
    heading = APP
    kind = "window"

    def __init__(self, root: tk.Tk, chan: Channel, init: dict[str, Any]) -> None:
        self.root = root
        self.chan = chan
        self.init = init
        self._reported: dict[str, Any] | None = None
        root.title(f"{_(self.heading)} – {APP}")
        root.protocol("WM_DELETE_WINDOW", self.cancel)
        self.outer = ttk.Frame(root, padding=(20, 16, 20, 16))
        self.outer.pack(fill="both", expand=True)
        self.build()
        chan.watch(root, lambda msg: self._then_report(lambda: self.on_message(msg)))

    def state(self) -> dict[str, Any]:
        return {"step": None, "busy": False, "errors": {}, "banner": None}

    def report(self) -> None:
        """Send ``state`` if it changed since it was last sent."""
        state = self.state()
        if state != self._reported:
            self._reported = state
            self.chan.send({"type": P.FromDialog.STATE, **state})

    def _then_report(self, fn: Callable[[], None]) -> None:
        fn()
        try:
            self.report()
        except tk.TclError:  # the window is gone
            pass

    # to override
    def build(self) -> None:
        raise NotImplementedError

    def first_focus(self) -> None:
        pass

    def on_message(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind in (P.ToDialog.CLOSE, EOF, P.ToDialog.DONE):
            self.root.destroy()
        elif kind == P.ToDialog.RAISE:
            self.root.deiconify()
            self.root.lift()
            self.root.focus_force()

    def cancel(self) -> None:
        self.chan.send({"type": P.FromDialog.CANCEL})
        self.root.destroy()
