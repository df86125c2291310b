"""The parts every dialog is made of: the style, a labelled field with its
hint or error line, and :class:`Dialog`, the window that speaks the
protocol (raise, progress, error, close) and that each dialog extends.

Keyboard: Return is the default button (Next / Create / Log in), Escape
cancels, Tab moves between fields (and selects a field's text, so typing
replaces a suggested value).  Without a window manager the first field gets
the focus with ``focus_force`` (focusing the window loses keystrokes).
"""

from __future__ import annotations

import sys
import tkinter as tk
from collections.abc import Callable
from tkinter import font as tkfont
from tkinter import ttk
from typing import Any

from .. import dialog_protocol as P
from .. import validation
from .channel import EOF, Channel

__all__ = ["APP", "KEYRING_NOTE", "PASSWORD_NOTE", "WRAP", "Dialog", "Field", "setup_style", "strength_hint"]

APP = "Parsec Tray"
WRAP = 380

PASSWORD_NOTE = (
    "This password encrypts your keys on this computer; you will type it to log in. "
    "Nobody can recover it, not even Parsec: if you lose it (or this computer), "
    "the keys stored here are lost for good. Once in, add a second device or a "
    "recovery file."
)

KEYRING_NOTE = (
    "Your desktop's keyring then keeps the key of this device: anyone who can open your "
    "session on this computer can open Parsec too."
)


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
    root._fonts = (heading, small)  # type: ignore[attr-defined]  # keep references
    style.configure("Heading.TLabel", font=heading)
    style.configure("Error.TLabel", foreground="#b3261e", font=small)
    style.configure("Hint.TLabel", foreground="#5f6368", font=small)
    style.configure("Banner.TLabel", foreground="#b3261e")
    style.configure("Strength0.TLabel", foreground="#b3261e", font=small)
    style.configure("Strength1.TLabel", foreground="#b3261e", font=small)
    style.configure("Strength2.TLabel", foreground="#b26a00", font=small)
    style.configure("Strength3.TLabel", foreground="#1e7e34", font=small)
    style.configure("Strength4.TLabel", foreground="#1e7e34", font=small)


class Field:
    """A label, an entry and a line under it for a hint or an error."""

    def __init__(
        self,
        parent: ttk.Frame,
        row: int,
        label: str,
        *,
        value: str = "",
        secret: bool = False,
        hint: str = "",
        check: Callable[[str], str | None] | None = None,
        describe: Callable[[str], tuple[str, str]] | None = None,
    ) -> None:
        ttk.Label(parent, text=label).grid(row=row, column=0, sticky="w", padx=(0, 12), pady=(8, 0))
        self.var = tk.StringVar(value=value)
        self.entry = ttk.Entry(parent, textvariable=self.var, width=38, show="•" if secret else "")
        self.entry.grid(row=row, column=1, sticky="ew", pady=(8, 0))
        self.hint = hint
        self.msg = ttk.Label(parent, text=hint, style="Hint.TLabel", wraplength=WRAP - 40, justify="left")
        self.msg.grid(row=row + 1, column=1, sticky="w")
        if not hint:
            self.msg.grid_remove()
        self.check = check
        self.describe = describe
        self.entry.bind("<FocusOut>", lambda _e: self.validate(quiet_if_empty=True), add="+")
        self.var.trace_add("write", lambda *_: self._recheck())

    @property
    def value(self) -> str:
        return self.var.get()

    def validate(self, *, quiet_if_empty: bool = False) -> str | None:
        if self.check is None:
            return None
        if quiet_if_empty and not self.value:
            return None
        error = self.check(self.value)
        if error:
            self.set_error(error)
        else:
            self.clear()
        return error

    @property
    def in_error(self) -> bool:
        return str(self.msg.cget("style")) == "Error.TLabel"

    def _recheck(self) -> None:
        # Clear a shown error as soon as the value becomes valid; never
        # nag while the person is still typing.
        if not self.in_error or (self.check is not None and not self.check(self.value)):
            self.clear()

    def set_error(self, text: str) -> None:
        self.msg.configure(text=text, style="Error.TLabel")
        self.msg.grid()

    def clear(self) -> None:
        """Show the hint, or what ``describe`` says about the value."""
        text, style = self.describe(self.value) if self.describe is not None else ("", "")
        if not text:
            text, style = self.hint, "Hint.TLabel"
        self.msg.configure(text=text, style=style)
        if text:
            self.msg.grid()
        else:
            self.msg.grid_remove()

    def focus(self, *, force: bool = False) -> None:
        (self.entry.focus_force if force else self.entry.focus_set)()
        self.entry.selection_range(0, "end")
        self.entry.icursor("end")


def strength_hint(password: str) -> tuple[str, str]:
    score, label = validation.password_strength(password)
    return (f"Strength: {label}", f"Strength{score}.TLabel") if score else ("", "")


class Dialog:
    heading = APP
    kind = "message"
    button_bar: ttk.Frame

    def __init__(self, root: tk.Tk, chan: Channel, init: dict[str, Any]) -> None:
        self.root = root
        self.chan = chan
        self.init = init
        self.busy = False
        self.fields: dict[str, Field] = {}
        self._reported: dict[str, Any] | None = None
        root.title(f"{self.heading} – {APP}")
        root.protocol("WM_DELETE_WINDOW", self.cancel)
        root.bind("<Escape>", lambda _e: self.cancel())
        root.bind("<Return>", lambda _e: self._then_report(self.default_action))
        root.bind("<KP_Enter>", lambda _e: self._then_report(self.default_action))
        self.outer = ttk.Frame(root, padding=(20, 16, 20, 16))
        self.outer.pack(fill="both", expand=True)
        self.build()
        chan.watch(root, lambda msg: self._then_report(lambda: self.on_message(msg)))

    # -- what the person sees, told to the tray (``state``) -----------------------------

    def state(self) -> dict[str, Any]:
        """The step shown, busy or not, the fields in error and the banner."""
        banner = getattr(self, "banner", None)
        return {
            "step": getattr(self, "step", None),
            "busy": self.busy,
            "errors": {name: str(f.msg.cget("text")) for name, f in self.fields.items() if f.in_error},
            "banner": str(banner.cget("text")) if banner is not None and banner.winfo_manager() else None,
        }

    def report(self) -> None:
        """Send ``state`` if it changed since it was last sent."""
        try:
            state = self.state()
        except tk.TclError:  # the window is gone
            return
        if state != self._reported:
            self._reported = state
            self.chan.send({"type": P.FromDialog.STATE, **state})

    def _then_report(self, fn: Callable[[], None]) -> None:
        fn()
        self.report()

    # to override
    def build(self) -> None:
        ttk.Label(self.outer, text=self.init.get("text", ""), wraplength=WRAP, justify="left").pack(
            anchor="w"
        )
        bar = ttk.Frame(self.outer)
        bar.pack(fill="x", pady=(16, 0))
        self.ok = ttk.Button(bar, text="OK", command=self.cancel, default="active")
        self.ok.pack(side="right")

    def first_focus(self) -> None:
        self.ok.focus_force()

    def default_action(self) -> None:
        self.cancel()

    def on_message(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind in (P.ToDialog.CLOSE, EOF, P.ToDialog.DONE):
            self.root.destroy()
        elif kind == P.ToDialog.RAISE:
            self.root.deiconify()
            self.root.lift()
            self.root.focus_force()
        elif kind == P.ToDialog.PROGRESS:
            self.set_progress(str(msg.get("text", "")))
        elif kind == P.ToDialog.ERROR:
            self.set_busy(False)
            self.show_error(str(msg.get("message", "")), msg.get("field"), msg.get("step"))

    # shared parts
    def cancel(self) -> None:
        if self.busy:
            self.set_progress("Please wait: this cannot be interrupted safely.")
            return
        self.chan.send({"type": P.FromDialog.CANCEL})
        self.root.destroy()

    def add_busy_row(self, parent: ttk.Frame) -> None:
        self.banner = ttk.Label(parent, text="", style="Banner.TLabel", wraplength=WRAP, justify="left")
        self.banner.pack(fill="x", pady=(12, 0))
        self.banner.pack_forget()
        self.busy_row = ttk.Frame(parent)
        self.progress = ttk.Progressbar(self.busy_row, mode="indeterminate", length=120)
        self.progress.pack(side="left")
        self.progress_text = ttk.Label(self.busy_row, text="", style="Hint.TLabel")
        self.progress_text.pack(side="left", padx=(8, 0))

    def set_busy(self, busy: bool, text: str = "Working…") -> None:
        self.busy = busy
        widgets: list[Any] = [f.entry for f in self.fields.values()] + self.buttons()
        for w in widgets:
            w.state(["disabled"] if busy else ["!disabled"])
        if busy:
            self.banner.pack_forget()
            self.busy_row.pack(fill="x", pady=(12, 0), before=self.button_bar)
            self.progress.start(15)
            self.progress_text.configure(text=text)
        else:
            self.progress.stop()
            self.busy_row.pack_forget()
        self.after_busy_change()

    def after_busy_change(self) -> None:
        pass

    def set_progress(self, text: str) -> None:
        self.progress_text.configure(text=text)

    def buttons(self) -> list[ttk.Button]:
        return []

    def show_error(self, message: str, field: Any, step: Any) -> None:
        target = self.fields.get(field) if isinstance(field, str) else None
        if target is not None:
            target.set_error(message)
            if getattr(target, "secret_reset", False):
                target.var.set("")
            target.focus(force=True)
            self.banner.pack_forget()
        else:
            self.banner.configure(text=message)
            self.banner.pack(fill="x", pady=(12, 0), before=self.button_bar)

    def values(self) -> dict[str, str]:
        return {name: f.value for name, f in self.fields.items()}
