"""The fallback window: the menu as buttons when there is no tray host."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk
from typing import Any

from .. import dialog_protocol as P
from ..i18n import N_, _
from .channel import Channel
from .widgets import APP, Dialog

__all__ = ["MenuWindow"]


class MenuWindow(Dialog):
    """The fallback when there is no tray host: the menu as buttons."""

    heading = N_("Menu")  # translated where shown
    kind = "window"

    def __init__(self, root: tk.Tk, chan: Channel, init: dict[str, Any]) -> None:
        super().__init__(root, chan, init)
        root.title(APP)

    def build(self) -> None:
        self.body = ttk.Frame(self.outer)
        self.body.pack(fill="both", expand=True)
        self.render(self.init.get("entries") or [], self.init.get("title") or APP)

    def render(self, entries: list[dict[str, Any]], title: str) -> None:
        had_focus = self.root.focus_get() is not None
        for child in self.body.winfo_children():
            child.destroy()
        ttk.Label(self.body, text=APP, style="Heading.TLabel").pack(anchor="w")
        ttk.Label(
            self.body,
            text=_("No system tray was found, so Parsec Tray shows its menu here."),
            style="Hint.TLabel",
            wraplength=300,
            justify="left",
        ).pack(anchor="w", pady=(0, 8))
        first: ttk.Button | None = None
        for e in _flatten(entries):
            if e.get("separator"):
                ttk.Separator(self.body).pack(fill="x", pady=6)
            elif not e.get("enabled", True) or "action" not in e:
                ttk.Label(self.body, text=e.get("text", "")).pack(anchor="w", pady=1)
            else:
                text = e["text"]
                if "checked" in e:
                    text = ("☑ " if e["checked"] else "☐ ") + text
                b = ttk.Button(self.body, text=text, command=self._command(e))
                b.pack(fill="x", pady=1)
                first = first or b
        self.first_button = first
        if had_focus and first is not None:
            first.focus_set()

    def _command(self, e: dict[str, Any]) -> Callable[[], None]:
        return lambda: self._act(e)

    def _act(self, e: dict[str, Any]) -> None:
        self.chan.send({"type": P.FromDialog.ACTION, "action": e["action"], "arg": e.get("arg")})

    def first_focus(self) -> None:
        if self.first_button is not None:
            self.first_button.focus_force()

    def on_message(self, msg: dict[str, Any]) -> None:
        if msg.get("type") == P.ToDialog.MENU:
            self.render(msg.get("entries") or [], msg.get("title") or APP)
        else:
            super().on_message(msg)

    def cancel(self) -> None:
        # Closing the only window of the app quits the app.
        self.chan.send({"type": P.FromDialog.ACTION, "action": "quit", "arg": None})
        self.root.destroy()


def _flatten(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for e in entries:
        if e.get("submenu"):
            out += _flatten(e["submenu"])
        else:
            out.append(e)
    return out
