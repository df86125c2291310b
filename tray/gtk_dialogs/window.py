"""A dialog model drawn with GTK 3: one window, redrawn from the model after
every event (a key, a press, a message from the tray).

Keyboard, as GTK does it everywhere: Return and Space activate the focused
button, Return in a text field runs the default (primary) button, Escape
cancels, Tab follows the controls left to right, top to bottom; the
buttons are in the order of :func:`~..dialog_specs.button_order`.  Every
control carries its accessible name (a field's is its label), so AT-SPI
finds it.  The steps of a wizard are pages of one ``Gtk.Stack``, as wide as
each other: the window keeps one width and stays centred, and is as tall as
the step on screen (no empty rows).  Wrapped text never widens the window:
it wraps to the column it is in (a field's line to the field's column).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, GLib, Gtk  # noqa: E402

from .. import dialog_protocol as P  # noqa: E402
from ..dialog_pipe import EOF, Pipe  # noqa: E402
from ..dialog_render import Renderer  # noqa: E402
from ..dialog_specs import (  # noqa: E402
    APP,
    COPY_BUTTON,
    Button,
    DialogModel,
    Field,
    Role,
    Step,
    spec_for,
)
from ..i18n import _  # noqa: E402

__all__ = ["GtkDialog", "run"]

WIDTH = 580  # px: the window's one width (wider only for a control that cannot wrap)
WRAP_CHARS = 64  # a check box's label

CSS = b"""
.parsec-heading { font-size: 135%; font-weight: bold; }
.parsec-code { font-size: 300%; font-weight: bold; letter-spacing: 8px; }
.parsec-done { font-size: 120%; font-weight: bold; }
.parsec-banner { color: @error_color; font-weight: bold; }
.parsec-error, .parsec-strength0, .parsec-strength1 { color: @error_color; }
.parsec-strength2 { color: @warning_color; }
.parsec-strength3, .parsec-strength4 { color: @success_color; }
"""
LINE_CLASSES = ["parsec-error", "dim-label"] + [f"parsec-strength{n}" for n in range(5)]


def _label(text: str, *, dim: bool = False, wrap: bool = True) -> Gtk.Label:
    label = Gtk.Label(label=text, xalign=0)
    label.set_line_wrap(wrap)
    if wrap:
        # Asks for no more than its longest word: it takes the width of its
        # column and wraps there, instead of widening the window to its text.
        label.set_max_width_chars(1)
        label.set_hexpand(True)
    if dim:
        label.get_style_context().add_class("dim-label")
    return label


class _FieldRow:
    def __init__(self, spec: Field, widget: Gtk.Widget, line: Gtk.Label | None) -> None:
        self.spec = spec
        self.widget = widget
        self.line = line


class GtkDialog(Renderer):
    def __init__(self, model: DialogModel, pipe: Pipe) -> None:
        super().__init__(model, pipe.send)
        self.pipe = pipe
        self.fields: dict[str, _FieldRow] = {}
        self.buttons: dict[str, Gtk.Button] = {}
        self.radios: dict[str, dict[str, Gtk.RadioButton]] = {}  # a choice's, by value
        self.conditional: list[tuple[Gtk.Widget, str]] = []  # shown while the model has the flag

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

        self.stack = Gtk.Stack(hhomogeneous=True, vhomogeneous=False)
        for i, step in enumerate(self.spec.steps, start=1):
            self.stack.add_named(self._page(step), str(i))
        if self.spec.done is not None:  # the last page, once the flow succeeded
            done = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=10)
            self.done_title = _label("", wrap=True)
            self.done_title.get_style_context().add_class("parsec-done")
            self.done_text = _label("")
            done.pack_start(self.done_title, False, False, 0)
            done.pack_start(self.done_text, False, False, 0)
            self.stack.add_named(done, "done")
        outer.pack_start(self.stack, True, True, 0)

        # A driven dialog's (Greet): the code to read aloud, large, and what
        # the guest asked for.
        self.code_label = _label("", wrap=False)
        self.code_label.get_style_context().add_class("parsec-code")
        self.code_label.set_selectable(True)
        self.code_label.get_accessible().set_description(_("Your code"))
        outer.pack_start(self.code_label, False, False, 0)
        self.details = Gtk.Grid(column_spacing=12, row_spacing=4)
        outer.pack_start(self.details, False, False, 0)
        self._details: tuple[tuple[str, str], ...] = ()

        # A result (an invitation's link, a passphrase) with its Copy button.
        _key, value_name, copy_label = self.spec.result_value
        self.result_box = Gtk.Box(spacing=8)
        self.link_entry = Gtk.Entry(editable=False, hexpand=True)
        self.link_entry.get_accessible().set_name(value_name)
        copy = Gtk.Button(label=copy_label)
        copy.connect("clicked", lambda _b: self.apply(self.model.copy(self.link_entry.get_text())))
        self.copy_button = copy
        self.result_box.pack_start(self.link_entry, True, True, 0)
        self.result_box.pack_start(copy, False, False, 0)
        if self.spec.save_value is not None:
            save = Gtk.Button(label=self.spec.save_value[0])
            save.connect("clicked", lambda _b: self.apply(self.model.save()))
            self.result_box.pack_start(save, False, False, 0)
        outer.pack_start(self.result_box, False, False, 0)
        if self.spec.confirm:  # under what is to be kept, once the flow succeeded
            self.confirm = Gtk.CheckButton(label=self.spec.confirm)
            self.confirm.get_child().set_line_wrap(True)
            self.confirm.get_child().set_max_width_chars(WRAP_CHARS)
            self.confirm.set_receives_default(False)
            self.confirm.connect("toggled", self._confirmed)
            outer.pack_start(self.confirm, False, False, 0)
        self.note = _label("", dim=True)
        outer.pack_start(self.note, False, False, 0)

        self.banner = Gtk.Box(spacing=8)
        self.banner_text = _label("")
        self.banner_text.get_style_context().add_class("parsec-banner")
        self.banner.pack_start(self.banner_text, True, True, 0)
        self.banner.get_accessible().set_name(_("Error"))
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
        for text, url in step.links:  # opened by the tray (the browser), not by GTK
            link = Gtk.LinkButton.new_with_label(url, text)
            link.set_halign(Gtk.Align.START)
            link.connect("activate-link", self._link)
            page.pack_start(link, False, False, 0)
        grid = self._grid([f for f in step.fields if not f.when], step.facts)
        page.pack_start(grid, False, False, 0)
        for note in step.notes:
            text = _label(note.text, dim=not note.warning and not note.heading)
            if note.warning:
                bar = Gtk.InfoBar(message_type=Gtk.MessageType.WARNING)
                box = Gtk.Box(spacing=8)
                box.pack_start(
                    Gtk.Image.new_from_icon_name("dialog-warning", Gtk.IconSize.DIALOG), False, False, 0
                )
                box.pack_start(text, True, True, 0)
                bar.get_content_area().add(box)
                bar.get_accessible().set_name(_("Warning"))
                part: Gtk.Widget = bar
            elif note.heading:
                # A part of its own, with the fields shown under the same condition.
                frame = Gtk.Frame(label=note.heading)
                frame.get_accessible().set_name(note.heading)
                inner = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=8)
                for side in ("top", "bottom", "start", "end"):
                    getattr(inner, f"set_margin_{side}")(10)
                inner.pack_start(text, False, False, 0)
                inner.pack_start(
                    self._grid([f for f in step.fields if f.when and f.when == note.when]), False, False, 0
                )
                frame.add(inner)
                part = frame
            else:
                part = text
            page.pack_start(part, False, False, 0)
            if note.when:
                self.conditional.append((part, note.when))
        if self.spec.rows:
            # A plain box, not a Gtk.ListBox: Tab goes from button to button.
            self.list = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=12)
            self.list.get_accessible().set_name(self.spec.title)
            page.pack_start(self.list, False, False, 0)
        return page

    def _grid(self, fields: list[Field], facts: tuple[tuple[str, str], ...] = ()) -> Gtk.Grid:
        grid = Gtk.Grid(column_spacing=12, row_spacing=4)
        row = 0
        for key, value in facts:
            grid.attach(_label(key, dim=True, wrap=False), 0, row, 1, 1)
            fact = _label(value)
            fact.set_selectable(True)
            fact.set_can_focus(False)
            grid.attach(fact, 1, row, 1, 1)
            row += 1
        for f in fields:
            if f.kind == "check":
                check = Gtk.CheckButton(label=f.label)
                check.set_receives_default(False)  # Return on it runs the default button
                check.connect("toggled", lambda c, name=f.name: self.changed(name, c.get_active()))
                grid.attach(check, 0, row, 2, 1)
                self.fields[f.name] = _FieldRow(f, check, None)
                row += 1
                continue
            widget = self._choice(f) if f.kind == "choice" else self._entry(f)
            widget.get_accessible().set_name(f.label)
            label = _label(f.label, wrap=False)
            label.set_valign(Gtk.Align.START if f.kind == "choice" else Gtk.Align.CENTER)
            label.set_mnemonic_widget(widget)
            place: Gtk.Widget = widget
            if f.kind in ("save", "open"):  # the path, and a native file dialog to pick it
                place = Gtk.Box(spacing=6)
                choose = Gtk.Button(label=_("Choose…"))
                choose.get_accessible().set_name(_("Choose: {field}").format(field=f.label))
                choose.connect("clicked", lambda _b, name=f.name: self.choose(name))
                place.pack_start(widget, True, True, 0)
                place.pack_start(choose, False, False, 0)
            line = _label("", dim=True)
            grid.attach(label, 0, row, 1, 1)
            grid.attach(place, 1, row, 1, 1)
            grid.attach(line, 1, row + 1, 1, 1)
            self.fields[f.name] = _FieldRow(f, widget, line)
            row += 2
        return grid

    def _entry(self, f: Field) -> Gtk.Entry:
        entry = Gtk.Entry(hexpand=True)
        entry.set_width_chars(32)
        if f.kind == "secret":
            entry.set_visibility(False)
            entry.set_input_purpose(Gtk.InputPurpose.PASSWORD)
        entry.connect("changed", lambda e, name=f.name: self.changed(name, e.get_text()))
        entry.connect("activate", lambda _e: self.press(self.model.default))
        entry.connect("focus-out-event", self._left, f.name)
        return entry

    def _choice(self, f: Field) -> Gtk.Box:
        """Radio buttons, none chosen at first: the group's first member is
        never shown (GTK always has one member of a group active)."""
        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=2)
        unset = Gtk.RadioButton()
        self.radios[f.name] = {"": unset}
        for value, text in f.options:
            radio = Gtk.RadioButton.new_with_label_from_widget(unset, text)
            radio.set_receives_default(False)
            radio.connect("toggled", self._chosen, f.name, value)
            self.radios[f.name][value] = radio
            box.pack_start(radio, False, False, 0)
        return box

    def _chosen(self, radio: Gtk.RadioButton, name: str, value: str) -> None:
        if radio.get_active():
            self.changed(name, value)

    def draw_rows(self, rows: list[dict[str, Any]]) -> None:
        for child in self.list.get_children():
            self.list.remove(child)
        listing = self.model.listing
        self.intro.set_text("" if rows else _(listing.empty))
        self.intro.set_visible(not rows)
        for r in rows:
            title, detail = listing.texts(r)
            # The texts over the row's buttons: a row is as wide as the window.
            box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=4)
            box.pack_start(_label(title), False, False, 0)
            box.pack_start(_label(detail, dim=True), False, False, 0)
            actions = Gtk.Box(spacing=8, halign=Gtk.Align.END)
            for action in listing.actions(r):
                button = Gtk.Button(label=action.label)
                button.get_accessible().set_name(action.name.format(title=title))
                button.connect("clicked", lambda _b, a=action.id, row=r: self.row_action(a, row))
                actions.pack_start(button, False, False, 0)
            box.pack_start(actions, False, False, 0)
            self.list.pack_start(box, False, False, 0)
        self.list.show_all()

    def draw_buttons(self, buttons: list[Button]) -> None:
        for child in self.button_box.get_children():
            self.button_box.remove(child)
        self.buttons = {}
        for b in buttons:
            button = Gtk.Button(label=b.label)
            button.connect("clicked", lambda _b, bid=b.id: self.press(bid))
            if b.role == Role.PRIMARY:
                button.get_style_context().add_class("suggested-action")
                button.set_can_default(True)
            self.button_box.pack_start(button, False, False, 0)
            self.buttons[b.id] = button
        # The extras at the start (left), the others at the end, in order.
        spacer = Gtk.Box(hexpand=True)
        self.button_box.pack_start(spacer, True, True, 0)
        self.button_box.reorder_child(spacer, sum(b.role == Role.EXTRA for b in buttons))
        self.button_box.show_all()
        # Return runs the default button, unless the focus is on another
        # button (buttons "receive the default": Return presses them).
        self.buttons[next(b.id for b in buttons if b.role == Role.PRIMARY)].grab_default()

    def buttons_sensitive(self, sensitive: bool) -> None:
        for button in self.buttons.values():
            button.set_sensitive(sensitive)

    def draw(self) -> None:
        m = self.model
        self.step_label.set_text(m.heading)
        self.step_label.set_visible(bool(m.heading))
        done = m.done_texts
        if done is not None:
            self.done_title.set_text(done[0])
            self.done_text.set_text(done[1])
        self.stack.set_visible_child_name("done" if done is not None else str(m.step))
        for widget, flag in self.conditional:
            widget.set_visible(flag in m.flags)
        editable = not m.busy and m.result is None
        for name, row in self.fields.items():
            value = m.values.get(name)
            if isinstance(row.widget, Gtk.CheckButton):
                if row.widget.get_active() != bool(value):
                    row.widget.set_active(bool(value))
            elif isinstance(row.widget, Gtk.Entry) and row.widget.get_text() != str(value or ""):
                row.widget.set_text(str(value or ""))
            elif name in self.radios:
                radio = self.radios[name].get(str(value or ""))
                if radio is not None and not radio.get_active():
                    radio.set_active(True)
            row.widget.set_sensitive(editable)
            if row.line is not None:
                text, style = m.field_line(name)
                row.line.set_text(text)
                row.line.set_visible(bool(text))
                ctx = row.line.get_style_context()
                for cls in LINE_CLASSES:
                    ctx.remove_class(cls)
                ctx.add_class("dim-label" if style == "hint" else f"parsec-{style}")
                row.widget.get_accessible().set_description(text)  # what a screen reader says of it
        self.code_label.set_text(m.code or "")
        self.code_label.set_visible(m.code_shown)
        if m.details != self._details:
            self._details = m.details
            for child in self.details.get_children():
                self.details.remove(child)
            for row_n, (key, value) in enumerate(m.details):
                self.details.attach(_label(key, dim=True, wrap=False), 0, row_n, 1, 1)
                fact = _label(value)
                fact.set_selectable(True)
                self.details.attach(fact, 1, row_n, 1, 1)
            self.details.show_all()
        self.details.set_visible(bool(m.details) and m.result is None)
        self.banner.set_visible(bool(m.banner))
        self.banner_text.set_text(m.banner or "")
        self.busy_box.set_visible(m.busy)
        self.progress.set_text(m.progress)
        (self.spinner.start if m.busy else self.spinner.stop)()
        self.result_box.set_visible(m.link is not None)
        self.link_entry.set_text(m.link or "")
        self.note.set_text(m.note)
        self.note.set_visible(bool(m.note))
        if self.spec.confirm:
            self.confirm.set_visible(m.result is not None)
            if self.confirm.get_active() != m.confirmed:
                self.confirm.set_active(m.confirmed)

    def focus_field(self, name: str) -> None:
        self.fields[name].widget.grab_focus()  # an entry selects its text: typing replaces it

    def focus_button(self, button: str) -> None:
        (self.copy_button if button == COPY_BUTTON else self.buttons[button]).grab_focus()

    def focused(self) -> str | None:
        widget = self.win.get_focus()  # a radio button, or an entry inside a row: up to what we know
        while widget is not None:
            if widget is self.copy_button:
                return COPY_BUTTON
            for name, row in self.fields.items():
                if widget is row.widget:
                    return name
            for button, w in self.buttons.items():
                if widget is w:
                    return button
            widget = widget.get_parent()
        return None

    def ask_delete(self, title: str, answer: Callable[[bool], None]) -> None:
        window, question, detail, yes = self.model.listing.ask
        dialog = Gtk.MessageDialog(
            transient_for=self.win,
            modal=True,
            message_type=Gtk.MessageType.QUESTION,
            text=_(question).format(title=title),
            secondary_text=_(detail),
        )
        dialog.set_title(f"{_(window)} – {APP}")
        dialog.get_accessible().set_name(dialog.get_title())  # else it is named after its icon
        dialog.add_button(_("_Keep"), Gtk.ResponseType.CANCEL)
        delete = dialog.add_button(_(yes), Gtk.ResponseType.ACCEPT)
        delete.get_style_context().add_class("destructive-action")
        dialog.set_default_response(Gtk.ResponseType.CANCEL)

        def responded(_d: Gtk.MessageDialog, response: int) -> None:
            dialog.hide()
            GLib.idle_add(dialog.destroy)
            _focus_window(self.win)
            answer(response == Gtk.ResponseType.ACCEPT)

        dialog.connect("response", responded)
        dialog.connect("map-event", lambda d, _e: _focus_window(d))
        dialog.show_all()

    def _link(self, link: Gtk.LinkButton) -> bool:
        self.apply(self.model.open_link(link.get_uri()))
        return True  # handled

    def _confirmed(self, check: Gtk.CheckButton) -> None:
        if not self.syncing:
            self.apply(self.model.confirm(check.get_active()))

    def ask_path(self, name: str, answer: Callable[[str | None], None], *, save: bool) -> None:
        if save:
            chooser = Gtk.FileChooserNative.new(
                _("Save – {app}").format(app=APP),
                self.win,
                Gtk.FileChooserAction.SAVE,
                _("_Save"),
                _("_Cancel"),
            )
            chooser.set_do_overwrite_confirmation(True)
        else:
            chooser = Gtk.FileChooserNative.new(
                _("Open – {app}").format(app=APP),
                self.win,
                Gtk.FileChooserAction.OPEN,
                _("_Open"),
                _("_Cancel"),
            )
            psrk = Gtk.FileFilter()
            psrk.set_name(_("Recovery files (*.psrk)"))
            psrk.add_pattern("*.psrk")
            chooser.add_filter(psrk)
        folder, base = os.path.split(os.path.expanduser(name))
        if folder and os.path.isdir(folder):
            chooser.set_current_folder(folder)
        if save:
            chooser.set_current_name(base)

        def responded(_c: Gtk.FileChooserNative, response: int) -> None:
            path = chooser.get_filename() if response == Gtk.ResponseType.ACCEPT else None
            chooser.destroy()
            _focus_window(self.win)
            answer(path)

        chooser.connect("response", responded)
        chooser.show()

    def copy(self, text: str) -> None:
        clipboard = Gtk.Clipboard.get(Gdk.SELECTION_CLIPBOARD)
        clipboard.set_text(text, -1)
        clipboard.store()

    def close(self) -> None:
        self.win.destroy()
        Gtk.main_quit()

    # -- events ---------------------------------------------------------------------------------

    def _message(self, msg: dict[str, Any]) -> bool:
        if msg.get("type") == P.ToDialog.RAISE:
            self.win.present()
            _focus_window(self.win)
        else:
            self.receive(msg)
        return False

    def _readable(self, _fd: int, _condition: int) -> bool:
        msgs = self.pipe.read()
        for msg in msgs:
            self._message(msg)
        return not (msgs and msgs[-1].get("type") == EOF)

    def _left(self, _entry: Gtk.Entry, _event: Any, name: str) -> bool:
        # Only when the focus moves inside the window (a lost window focus is no "leave").
        if self.win.has_toplevel_focus() and not self.syncing:
            GLib.idle_add(self._left_later, name)
        return False

    def _left_later(self, name: str) -> bool:
        self.left(name)
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
        _focus_window(self.win)
        GLib.timeout_add(2000, self._shown_later)  # in case no focus ever comes
        return False

    def _on_focus_in(self, _win: Gtk.Window, _event: Any) -> bool:
        GLib.idle_add(self._shown_later)
        return False

    def _shown_later(self) -> bool:
        self.say_shown()
        return False


def _focus_window(win: Gtk.Window) -> None:
    gdk_window = win.get_window()
    if gdk_window is not None:
        gdk_window.focus(Gdk.CURRENT_TIME)


def run(kind: str, init: dict[str, Any], pipe: Pipe) -> int:
    if not Gtk.init_check(sys.argv[:1])[0]:
        print(_("parsec-tray: cannot open the display for a GTK dialog"), file=sys.stderr)
        return 1
    provider = Gtk.CssProvider()
    provider.load_from_data(CSS)
    screen = Gdk.Screen.get_default()
    if screen is not None:
        Gtk.StyleContext.add_provider_for_screen(screen, provider, Gtk.STYLE_PROVIDER_PRIORITY_APPLICATION)
    GtkDialog(DialogModel(spec_for(kind, init), sys.platform), pipe)
    Gtk.main()
    return 0
