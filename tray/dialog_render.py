"""What both renderers of a dialog model do the same way, with no toolkit.

:class:`Renderer` runs the loop "event -> model -> effects -> redraw": a
toolkit subclass (``gtk_dialogs.window``, ``tk_dialogs.spec_window``) only
draws.  It implements the ``draw_*`` / ``focus_*`` / ``ask_delete`` /
``copy`` / ``close`` hooks; this class decides when each runs (the rows and
the buttons are rebuilt only when they changed), moves the focus where the
model says, and sends ``shown`` and ``state`` (only when it changed).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from . import dialog_protocol as P
from .dialog_specs import CLOSE, COPY, COPY_BUTTON, DEFAULT, SAVE, Button, DialogModel, Effect

__all__ = ["Renderer", "write_private"]


def write_private(path: str, text: str) -> None:
    """``text`` (UTF-8) into ``path``, readable by its owner only; a file
    already there is replaced (the save dialog asked first)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)


class Renderer:
    def __init__(self, model: DialogModel, send: Callable[[dict[str, Any]], None]) -> None:
        self.model = model
        self.spec = model.spec
        self._send = send
        self._layout: tuple[tuple[str, str], ...] = ()
        self._rows: list[dict[str, Any]] | None = None
        self._reported: dict[str, Any] | None = None
        self._shown = False
        self._asking = False
        self.syncing = False  # the widgets are being set from the model: their signals are not the person's

    # -- the hooks a toolkit implements ---------------------------------------------------

    def draw(self) -> None:
        """Step, fields (values, lines, sensitivity), banner, busy, result, note."""
        raise NotImplementedError

    def draw_rows(self, rows: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def draw_buttons(self, buttons: list[Button]) -> None:
        raise NotImplementedError

    def buttons_sensitive(self, sensitive: bool) -> None:
        raise NotImplementedError

    def focus_field(self, name: str) -> None:
        raise NotImplementedError

    def focus_button(self, button: str) -> None:
        """``button``: an id of the model's buttons, or COPY_BUTTON."""
        raise NotImplementedError

    def focused(self) -> str | None:
        """The field name or button id (or COPY_BUTTON) that this window's
        keystrokes go to, or None."""
        raise NotImplementedError

    def ask_delete(self, title: str, answer: Callable[[bool], None]) -> None:
        """Ask whether to delete the invitation for ``title``; ``answer`` it, later."""
        raise NotImplementedError

    def copy(self, text: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def choose(self, name: str) -> None:
        """Choose… beside a file field (kind ``save`` or ``open``)."""

        def chosen(path: str | None) -> None:
            if path:
                self.model.change(name, path)
                self.render(focus=False)

        f = self.spec.fields[name]
        self.ask_path(str(self.model.values.get(name) or ""), chosen, save=f.kind == "save")

    def ask_path(self, name: str, answer: Callable[[str | None], None], *, save: bool) -> None:
        """Ask for a file to create (``save``; ``name`` suggested) or to open
        (``name`` the current choice) with the platform's file dialog;
        ``answer`` its path, or None when the person cancelled."""
        raise NotImplementedError

    def save_text(self, text: str, name: str) -> None:
        """Save passphrase…: ``text`` to a new file the person picks, for
        their eyes only (0600), exactly ``text`` (no newline)."""

        def write(path: str | None) -> None:
            error = None
            if path:
                try:
                    write_private(path, text)
                except OSError as exc:
                    error = exc.strerror or str(exc)
            self.then(self.model.saved, path, error)

        self.ask_path(name, write, save=True)

    # -- the loop ------------------------------------------------------------------------------

    def render(self, *, focus: bool = True) -> None:
        m = self.model
        self.syncing = True
        try:
            self.draw()
            if self.spec.rows and m.rows is not None and m.rows is not self._rows:
                self._rows = m.rows
                self.draw_rows(m.rows)
            buttons = m.buttons()
            layout = tuple((b.id, b.label) for b in buttons)
            if layout != self._layout:
                self._layout = layout
                self.draw_buttons(buttons)
            self.buttons_sensitive(m.buttons_enabled)
            if m.confirming is not None and not self._asking:
                self._asking = True
                self.ask_delete(self._title_of(m.confirming), self._answered)
        finally:
            self.syncing = False
        if focus:
            self.apply_focus()
        self.report()

    def apply_focus(self) -> None:
        target, self.model.focus = self.model.focus, None
        if target == DEFAULT:
            self.focus_button(self.model.default)
        elif target == COPY_BUTTON:
            self.focus_button(COPY_BUTTON)
        elif target is not None and target in self.spec.fields:
            self.focus_field(target)
        elif target is not None and target in {b.id for b in self.model.buttons()}:
            self.focus_button(target)  # a driven dialog's first choice

    def report(self) -> None:
        if not self._shown:
            return
        state = {**self.model.state(), "focus": self.focused()}
        if state != self._reported:
            self._reported = state
            self._send(state)

    def say_shown(self) -> None:
        """The window is mapped and has the focus: tell the tray (once)."""
        if not self._shown:
            self._shown = True
            self._send({"type": P.FromDialog.SHOWN})
            self.report()

    def _title_of(self, token: str) -> str:
        rows = self.model.listing
        row = next((r for r in self.model.rows or [] if str(r.get(rows.key)) == token), {})
        return rows.texts(row)[0]

    def row_action(self, action: str, row: dict[str, Any]) -> None:
        """A row's button (:class:`~.dialog_specs.RowAction`)."""
        if action == "copy":
            self.apply(self.model.copy(str(row.get("link", ""))))
        elif action == "delete":
            self.then(self.model.delete, str(row.get(self.model.listing.key, "")))
        elif action == "greet":
            self.apply(self.model.greet(str(row.get("token", ""))))

    def _answered(self, yes: bool) -> None:
        self._asking = False
        if yes:
            self.apply(self.model.confirm_delete())
        else:
            self.then(self.model.keep)

    # -- events ------------------------------------------------------------------------------------

    def press(self, button: str) -> None:
        self.apply(self.model.press(button))

    def receive(self, msg: dict[str, Any]) -> None:
        self.apply(self.model.receive(msg))

    def changed(self, name: str, value: Any) -> None:
        if not self.syncing:
            self.model.change(name, value)
            self.render(focus=False)

    def left(self, name: str) -> None:
        if not self.syncing:
            self.model.leave(name)
            self.render(focus=False)

    def then(self, fn: Callable[..., None], *args: Any) -> None:
        fn(*args)
        self.render()

    def apply(self, effects: list[Effect]) -> None:
        for e in effects:
            if e.what == "send":
                self._send(e.msg)
            elif e.what == COPY:
                self.copy(e.arg)
            elif e.what == SAVE:
                self.save_text(e.arg, str(e.msg.get("name", "")))
            elif e.what == CLOSE:
                self.close()
                return
        self.render()
