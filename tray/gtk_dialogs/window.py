"""A dialog model drawn with GTK 3: one window, redrawn from the model after
every event (a key, a press, a message from the tray).

Keyboard, as GTK does it everywhere: Return and Space activate the focused
button, Return in a text field runs the default (primary) button, Escape
cancels, Tab follows the controls left to right, top to bottom; the
buttons are in the order of :func:`~..dialog_specs.button_order`.  Every
control carries its accessible name (a field's is its label), so AT-SPI
finds it.  The steps of a wizard are pages of one ``Gtk.Stack`` (the
window keeps one size and stays centred).
"""

from __future__ import annotations

import sys
from typing import Any

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, GLib, Gtk  # noqa: E402

from .. import dialog_protocol as P  # noqa: E402
from ..dialog_pipe import EOF, Pipe  # noqa: E402
from ..dialog_specs import (  # noqa: E402
    APP,
    CLOSE,
    COPY,
    COPY_BUTTON,
    DEFAULT,
    DialogModel,
    Effect,
    Field,
    Role,
    Step,
    row_texts,
    spec_for,
)

__all__ = ["GtkDialog", "run"]

WIDTH = 520  # px: the window's one width
WRAP_CHARS = 64

CSS = b"""
.parsec-heading { font-size: 135%; font-weight: bold; }
.parsec-error, .parsec-strength0, .parsec-strength1 { color: @error_color; }
.parsec-strength2 { color: @warning_color; }
.parsec-strength3, .parsec-strength4 { color: @success_color; }
"""
LINE_CLASSES = ["parsec-error", "dim-label"] + [f"parsec-strength{n}" for n in range(5)]


def _label(text: str, *, dim: bool = False, wrap: bool = True) -> Gtk.Label:
    label = Gtk.Label(label=text, xalign=0)
    label.set_line_wrap(wrap)
    label.set_max_width_chars(WRAP_CHARS)
    if dim:
        label.get_style_context().add_class("dim-label")
    return label


class _FieldRow:
    def __init__(self, spec: Field, widget: Gtk.Widget, line: Gtk.Label | None) -> None:
        self.spec = spec
        self.widget = widget
        self.line = line


class GtkDialog:
    def __init__(self, model: DialogModel, pipe: Pipe) -> None:
        self.model = model
        self.pipe = pipe
        self.spec = model.spec
        self.fields: dict[str, _FieldRow] = {}
        self.buttons: dict[str, Gtk.Button] = {}
        self._layout: tuple[tuple[str, str], ...] = ()
        self._rows: list[dict[str, Any]] | None = None
        self._syncing = False
        self._reported: dict[str, Any] | None = None
        self._shown = False
        self._confirm: Gtk.MessageDialog | None = None

        self.win = Gtk.Window(title=f"{self.spec.title} – {APP}")
        self.win.set_resizable(False)
        self.win.set_position(Gtk.WindowPosition.CENTER)
        self.win.set_size_request(WIDTH, -1)
        self.win.connect("delete-event", self._on_delete)
        self.win.connect("key-press-event", self._on_key)
        self.win.connect("map-event", self._on_map)
        self.win.connect("focus-in-event", self._on_focus_in)

        outer = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=12)
        for side in ("top", "bottom", "start", "end"):
            getattr(outer, f"set_margin_{side}")(18)
        self.win.add(outer)
        heading = _label(self.spec.title, wrap=False)
        heading.get_style_context().add_class("parsec-heading")
        self.step_label = _label("", dim=True)
        top = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=2)
        top.pack_start(heading, False, False, 0)
        top.pack_start(self.step_label, False, False, 0)
        outer.pack_start(top, False, False, 0)

        self.stack = Gtk.Stack(homogeneous=True)
        for i, step in enumerate(self.spec.steps, start=1):
            self.stack.add_named(self._page(step), str(i))
        outer.pack_start(self.stack, True, True, 0)

        # A result (an invitation's link) with its Copy button.
        self.result_box = Gtk.Box(spacing=8)
        self.link_entry = Gtk.Entry(editable=False, hexpand=True)
        self.link_entry.get_accessible().set_name("Invitation link")
        copy = Gtk.Button(label="Copy link")
        copy.connect("clicked", lambda _b: self._apply(self.model.copy(self.link_entry.get_text())))
        self.copy_button = copy
        self.result_box.pack_start(self.link_entry, True, True, 0)
        self.result_box.pack_start(copy, False, False, 0)
        outer.pack_start(self.result_box, False, False, 0)
        self.note = _label("", dim=True)
        outer.pack_start(self.note, False, False, 0)

        self.banner = Gtk.InfoBar(message_type=Gtk.MessageType.ERROR)
        self.banner_text = _label("")
        self.banner.get_content_area().add(self.banner_text)
        self.banner.get_accessible().set_name("Error")
        outer.pack_start(self.banner, False, False, 0)

        self.busy_box = Gtk.Box(spacing=8)
        self.spinner = Gtk.Spinner()
        self.progress = _label("", dim=True)
        self.busy_box.pack_start(self.spinner, False, False, 0)
        self.busy_box.pack_start(self.progress, True, True, 0)
        outer.pack_start(self.busy_box, False, False, 0)

        self.button_box = Gtk.Box(spacing=8)
        outer.pack_end(self.button_box, False, False, 0)

        for msg in pipe.pending():
            GLib.idle_add(self._message, msg)
        GLib.io_add_watch(
            pipe.fd, GLib.PRIORITY_DEFAULT, GLib.IO_IN | GLib.IO_HUP | GLib.IO_ERR, self._readable
        )
        self.win.show_all()
        self.render()

    # -- building ---------------------------------------------------------------------

    def _page(self, step: Step) -> Gtk.Widget:
        page = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=10)
        if step.intro:
            self.intro = _label(step.intro)
            page.pack_start(self.intro, False, False, 0)
        grid = Gtk.Grid(column_spacing=12, row_spacing=4)
        row = 0
        for key, value in step.facts:
            grid.attach(_label(key, dim=True, wrap=False), 0, row, 1, 1)
            fact = _label(value)
            fact.set_selectable(True)
            fact.set_can_focus(False)
            grid.attach(fact, 1, row, 1, 1)
            row += 1
        for f in step.fields:
            if f.kind == "check":
                check = Gtk.CheckButton(label=f.label)
                check.connect("toggled", self._toggled, f.name)
                grid.attach(check, 0, row, 2, 1)
                self.fields[f.name] = _FieldRow(f, check, None)
                row += 1
                continue
            label = _label(f.label, wrap=False)
            label.set_valign(Gtk.Align.CENTER)
            entry = Gtk.Entry(hexpand=True)
            entry.set_width_chars(32)
            if f.kind == "secret":
                entry.set_visibility(False)
                entry.set_input_purpose(Gtk.InputPurpose.PASSWORD)
            label.set_mnemonic_widget(entry)
            entry.get_accessible().set_name(f.label)
            entry.connect("changed", self._changed, f.name)
            entry.connect("activate", lambda _e: self.press(self.model.default))
            entry.connect("focus-out-event", self._left, f.name)
            line = _label("", dim=True)
            grid.attach(label, 0, row, 1, 1)
            grid.attach(entry, 1, row, 1, 1)
            grid.attach(line, 1, row + 1, 1, 1)
            self.fields[f.name] = _FieldRow(f, entry, line)
            row += 2
        page.pack_start(grid, False, False, 0)
        for note in step.notes:
            text = _label(note.text, dim=not note.warning)
            if note.warning:
                bar = Gtk.InfoBar(message_type=Gtk.MessageType.WARNING)
                box = Gtk.Box(spacing=8)
                box.pack_start(
                    Gtk.Image.new_from_icon_name("dialog-warning", Gtk.IconSize.DIALOG), False, False, 0
                )
                box.pack_start(text, True, True, 0)
                bar.get_content_area().add(box)
                bar.get_accessible().set_name("Warning")
                page.pack_start(bar, False, False, 0)
            else:
                page.pack_start(text, False, False, 0)
        if self.spec.rows:
            self.list = Gtk.ListBox(selection_mode=Gtk.SelectionMode.NONE)
            self.list.get_accessible().set_name(self.spec.title)
            page.pack_start(self.list, False, False, 0)
        return page

    def _rebuild_rows(self, rows: list[dict[str, Any]]) -> None:
        for child in self.list.get_children():
            self.list.remove(child)
        self.intro.set_text("" if rows else "No pending invitation.")
        self.intro.set_visible(not rows)
        for r in rows:
            title, detail = row_texts(r)
            box = Gtk.Box(spacing=8)
            texts = Gtk.Box(orientation=Gtk.Orientation.VERTICAL)
            texts.pack_start(_label(title, wrap=False), False, False, 0)
            texts.pack_start(_label(detail, dim=True), False, False, 0)
            box.pack_start(texts, True, True, 0)
            token, link = str(r.get("token", "")), str(r.get("link", ""))
            copy = Gtk.Button(label="Copy link")
            copy.get_accessible().set_name(f"Copy link of {title}")
            copy.connect("clicked", lambda _b, link=link: self._apply(self.model.copy(link)))
            delete = Gtk.Button(label="Delete invitation…")
            delete.get_accessible().set_name(f"Delete invitation for {title}…")
            delete.connect("clicked", lambda _b, token=token: self._then(lambda: self.model.delete(token)))
            box.pack_start(copy, False, False, 0)
            box.pack_start(delete, False, False, 0)
            row = Gtk.ListBoxRow(activatable=False, selectable=False)
            row.set_can_focus(False)
            row.add(box)
            self.list.add(row)
        self.list.show_all()

    def _rebuild_buttons(self) -> None:
        for child in self.button_box.get_children():
            self.button_box.remove(child)
        self.buttons = {}
        for b in self.model.buttons():
            button = Gtk.Button(label=b.label)
            button.connect("clicked", lambda _b, bid=b.id: self.press(bid))
            if b.role == Role.PRIMARY:
                button.get_style_context().add_class("suggested-action")
            # Everything at the end (right), in order; the extras at the start.
            self.button_box.pack_start(button, False, False, 0)
            self.buttons[b.id] = button
        spacer = Gtk.Box(hexpand=True)
        first_main = next((i for i, b in enumerate(self.model.buttons()) if b.role != Role.EXTRA), 0)
        self.button_box.pack_start(spacer, True, True, 0)
        self.button_box.reorder_child(spacer, first_main)
        self.button_box.show_all()

    # -- the model on screen ------------------------------------------------------------------

    def render(self) -> None:
        m = self.model
        self._syncing = True
        try:
            self.step_label.set_text(m.heading)
            self.step_label.set_visible(bool(m.heading))
            self.stack.set_visible_child_name(str(m.step))
            editable = not m.busy and m.result is None
            for name, row in self.fields.items():
                value = m.values.get(name)
                if isinstance(row.widget, Gtk.CheckButton):
                    if row.widget.get_active() != bool(value):
                        row.widget.set_active(bool(value))
                elif isinstance(row.widget, Gtk.Entry) and row.widget.get_text() != str(value or ""):
                    row.widget.set_text(str(value or ""))
                row.widget.set_sensitive(editable)
                if row.line is not None:
                    text, style = m.field_line(name)
                    row.line.set_text(text)
                    row.line.set_visible(bool(text))
                    ctx = row.line.get_style_context()
                    for cls in LINE_CLASSES:
                        ctx.remove_class(cls)
                    ctx.add_class("dim-label" if style == "hint" else f"parsec-{style}")
                    row.widget.get_accessible().set_description(text)
            self.banner.set_visible(bool(m.banner))
            self.banner_text.set_text(m.banner or "")
            self.busy_box.set_visible(m.busy)
            self.progress.set_text(m.progress)
            (self.spinner.start if m.busy else self.spinner.stop)()
            self.result_box.set_visible(m.result is not None)
            if m.result is not None:
                self.link_entry.set_text(str(m.result.get("link", "")))
            self.note.set_text(m.note)
            self.note.set_visible(bool(m.note))
            if self.spec.rows and m.rows is not self._rows and m.rows is not None:
                self._rows = m.rows
                self._rebuild_rows(m.rows)
            layout = tuple((b.id, b.label) for b in m.buttons())
            if layout != self._layout:
                self._layout = layout
                self._rebuild_buttons()
            for button in self.buttons.values():
                button.set_sensitive(not m.busy)
            if m.confirming is not None and self._confirm is None:
                self._ask_delete(m.confirming)
        finally:
            self._syncing = False
        target, m.focus = m.focus, None
        if target == DEFAULT:
            self.buttons[m.default].grab_focus()
        elif target == COPY_BUTTON:
            self.copy_button.grab_focus()
        elif target in self.fields:
            self.fields[target].widget.grab_focus()
        self.report()

    def report(self) -> None:
        if not self._shown:
            return
        state = self.model.state()
        if state != self._reported:
            self._reported = state
            self.pipe.send(state)

    def _ask_delete(self, token: str) -> None:
        row = next((r for r in self.model.rows or [] if str(r.get("token")) == token), {})
        title, _ = row_texts(row)
        dialog = Gtk.MessageDialog(
            transient_for=self.win,
            modal=True,
            message_type=Gtk.MessageType.QUESTION,
            text=f"Delete the invitation for {title}?",
            secondary_text="Its link stops working: nobody can join with it any more.",
        )
        dialog.set_title(f"Delete invitation – {APP}")
        dialog.get_accessible().set_name(dialog.get_title())  # else it is named after its icon
        dialog.add_button("Keep", Gtk.ResponseType.CANCEL)
        delete = dialog.add_button("Delete invitation", Gtk.ResponseType.ACCEPT)
        delete.get_style_context().add_class("destructive-action")
        dialog.set_default_response(Gtk.ResponseType.CANCEL)
        dialog.connect("response", self._delete_answered)
        self._confirm = dialog
        dialog.show_all()
        dialog.connect("map-event", lambda d, _e: d.get_window().focus(Gdk.CURRENT_TIME))

    def _delete_answered(self, dialog: Gtk.MessageDialog, response: int) -> None:
        self._confirm = None
        dialog.hide()
        GLib.idle_add(dialog.destroy)
        if response == Gtk.ResponseType.ACCEPT:
            self._apply(self.model.confirm_delete())
        else:
            self._then(self.model.keep)
        self.win.get_window().focus(Gdk.CURRENT_TIME)

    # -- events ---------------------------------------------------------------------------------

    def press(self, button: str) -> None:
        self._apply(self.model.press(button))

    def _then(self, fn: Any) -> None:
        fn()
        self.render()

    def _apply(self, effects: list[Effect]) -> None:
        for e in effects:
            if e.what == "send":
                self.pipe.send(e.msg)
            elif e.what == COPY:
                clipboard = Gtk.Clipboard.get(Gdk.SELECTION_CLIPBOARD)
                clipboard.set_text(e.arg, -1)
                clipboard.store()
            elif e.what == CLOSE:
                self.win.destroy()
                Gtk.main_quit()
                return
        self.render()

    def _message(self, msg: dict[str, Any]) -> bool:
        if msg.get("type") == P.ToDialog.RAISE:
            self.win.present()
            gdk_window = self.win.get_window()
            if gdk_window is not None:
                gdk_window.focus(Gdk.CURRENT_TIME)
        else:
            self._apply(self.model.receive(msg))
        return False

    def _readable(self, _fd: int, _condition: int) -> bool:
        msgs = self.pipe.read()
        for msg in msgs:
            self._message(msg)
        return not (msgs and msgs[-1].get("type") == EOF)

    def _changed(self, entry: Gtk.Entry, name: str) -> None:
        if not self._syncing:
            self.model.change(name, entry.get_text())
            self.render()

    def _toggled(self, check: Gtk.CheckButton, name: str) -> None:
        if not self._syncing:
            self.model.change(name, check.get_active())
            self.render()

    def _left(self, _entry: Gtk.Entry, _event: Any, name: str) -> bool:
        # Only when the focus moves inside the window (a lost window focus is no "leave").
        if self.win.has_toplevel_focus() and not self._syncing:
            self.model.leave(name)
            GLib.idle_add(self._idle_render)
        return False

    def _idle_render(self) -> bool:
        self.render()
        return False

    def _on_key(self, _win: Gtk.Window, event: Gdk.EventKey) -> bool:
        if event.keyval == Gdk.KEY_Escape:
            self.press("escape")
            return True
        return False

    def _on_delete(self, _win: Gtk.Window, _event: Any) -> bool:
        self.press("escape")
        return True  # the model decides whether it closes

    def _on_map(self, _win: Gtk.Window, _event: Any) -> bool:
        # Without a window manager nobody gives the window the focus: take it.
        gdk_window = self.win.get_window()
        if gdk_window is not None:
            gdk_window.focus(Gdk.CURRENT_TIME)
        GLib.timeout_add(2000, self._say_shown)  # in case no focus ever comes
        return False

    def _on_focus_in(self, _win: Gtk.Window, _event: Any) -> bool:
        GLib.idle_add(self._say_shown)
        return False

    def _say_shown(self) -> bool:
        if not self._shown:
            self._shown = True
            self.pipe.send({"type": P.FromDialog.SHOWN})
            self.report()
        return False


def run(kind: str, init: dict[str, Any], pipe: Pipe) -> int:
    if not Gtk.init_check(sys.argv[:1])[0]:
        print("parsec-tray: cannot open the display for a GTK dialog", file=sys.stderr)
        return 1
    provider = Gtk.CssProvider()
    provider.load_from_data(CSS)
    screen = Gdk.Screen.get_default()
    if screen is not None:
        Gtk.StyleContext.add_provider_for_screen(screen, provider, Gtk.STYLE_PROVIDER_PRIORITY_APPLICATION)
    GtkDialog(DialogModel(spec_for(kind, init), sys.platform), pipe)
    Gtk.main()
    return 0
