"""A dialog model drawn with Tk/ttk (Windows, macOS, and Linux without GTK):
the same descriptions and behaviour as the GTK renderer
(:mod:`parsec_tray.tray.dialog_specs`), redrawn after every event.

Keyboard: Return and Space activate the focused button (Tk's buttons only
know Space: Return is routed here), Return in a field runs the default
button, Escape cancels; buttons are created in their visual order (the
platform's, :func:`~..dialog_specs.button_order`), so Tab follows them
left to right after the fields.  The steps are pages of one holder that
keeps the size of the largest (one size, centred once).  Without a window
manager the focus is given with ``focus_force`` (focusing the window loses
keystrokes).
"""

from __future__ import annotations

import os
import tkinter as tk
from collections.abc import Callable
from tkinter import filedialog, messagebox, ttk
from typing import Any

from ..dialog_render import Renderer
from ..dialog_specs import APP, COPY_BUTTON, Button, DialogModel, Field, Role, Step
from ..i18n import _
from .channel import Channel

__all__ = ["TkDialog"]

WRAP = 420
STYLES = {"error": "Error.TLabel", "hint": "Hint.TLabel"}


class TkDialog(Renderer):
    def __init__(self, root: tk.Tk, chan: Channel, model: DialogModel) -> None:
        super().__init__(model, chan.send)
        self.root = root
        self.chan = chan
        self.vars: dict[str, tk.StringVar | tk.BooleanVar] = {}
        self.widgets: dict[str, ttk.Widget] = {}
        self.lines: dict[str, ttk.Label] = {}
        self.buttons: dict[str, ttk.Button] = {}
        self.radios: dict[str, list[ttk.Radiobutton]] = {}  # a choice's
        self.conditional: list[tuple[tk.Widget, str]] = []  # shown while the model has the flag

        root.title(f"{self.spec.title} – {APP}")
        root.protocol("WM_DELETE_WINDOW", lambda: self.press("escape"))
        root.bind("<Escape>", lambda _e: self.press("escape"))
        root.bind("<Return>", self._on_return)
        root.bind("<KP_Enter>", self._on_return)
        outer = ttk.Frame(root, padding=(20, 16, 20, 16))
        outer.pack(fill="both", expand=True)
        self.outer = outer
        ttk.Label(outer, text=self.spec.title, style="Heading.TLabel").pack(anchor="w")
        self.step_label = ttk.Label(outer, text="", style="Hint.TLabel")
        self.holder = ttk.Frame(outer)
        self.holder.pack(fill="both", expand=True, pady=(12, 0))
        self.pages = [self._page(step) for step in self.spec.steps]
        self.done_page = ttk.Frame(self.holder)  # the last page, once the flow succeeded
        self.done_title = ttk.Label(self.done_page, text="", style="Heading.TLabel", wraplength=WRAP)
        self.done_title.pack(anchor="w")
        self.done_text = ttk.Label(self.done_page, text="", wraplength=WRAP, justify="left")
        self.done_text.pack(anchor="w", pady=(8, 0))

        # A driven dialog's (Greet): the code to read aloud, and what the guest asked for.
        self.code = ttk.Label(outer, text="", style="Code.TLabel")
        self.details = ttk.Frame(outer)
        self._details: tuple[tuple[str, str], ...] = ()

        self.result = ttk.Frame(outer)
        self.link_var = tk.StringVar(value="")
        ttk.Entry(self.result, textvariable=self.link_var, width=48, state="readonly").pack(
            side="left", fill="x", expand=True
        )
        self.copy_button = ttk.Button(
            self.result,
            text=self.spec.result_value[2],
            command=lambda: self.apply(self.model.copy(self.link_var.get())),
        )
        self.copy_button.pack(side="left", padx=(8, 0))
        if self.spec.save_value is not None:
            ttk.Button(
                self.result, text=self.spec.save_value[0], command=lambda: self.apply(self.model.save())
            ).pack(side="left", padx=(8, 0))
        self.confirm_var = tk.BooleanVar(value=False)
        self.confirm = ttk.Checkbutton(  # under what is to be kept, once the flow succeeded
            outer,
            text=self.spec.confirm,
            variable=self.confirm_var,
            command=lambda: self.apply(self.model.confirm(self.confirm_var.get())),
        )
        self.note = ttk.Label(outer, text="", style="Hint.TLabel", wraplength=WRAP, justify="left")
        self.banner = ttk.Label(outer, text="", style="Banner.TLabel", wraplength=WRAP, justify="left")
        self.busy_row = ttk.Frame(outer)
        self.progress = ttk.Progressbar(self.busy_row, mode="indeterminate", length=120)
        self.progress.pack(side="left")
        self.progress_text = ttk.Label(self.busy_row, text="", style="Hint.TLabel")
        self.progress_text.pack(side="left", padx=(8, 0))
        self.button_bar = ttk.Frame(outer)
        self.button_bar.pack(fill="x", side="bottom", pady=(16, 0))
        self._fix_size()
        chan.watch(root, self.receive)
        self.render(focus=False)

    # -- building -------------------------------------------------------------------

    def _page(self, step: Step) -> ttk.Frame:
        page = ttk.Frame(self.holder)
        page.columnconfigure(1, weight=1)
        row = 0
        if step.intro:
            self.intro = ttk.Label(page, text=step.intro, wraplength=WRAP, justify="left")
            self.intro.grid(row=row, column=0, columnspan=2, sticky="w", pady=(0, 4))
            row += 1
        for text, url in step.links:  # opened by the tray (the browser)
            link = ttk.Button(page, text=text, command=self._command(self._open, url))
            link.grid(row=row, column=0, columnspan=2, sticky="w", pady=(2, 0))
            row += 1
        for key, value in step.facts:
            ttk.Label(page, text=key, style="Hint.TLabel").grid(row=row, column=0, sticky="w", padx=(0, 12))
            ttk.Label(page, text=value).grid(row=row, column=1, sticky="w")
            row += 1
        row = self._fields(page, [f for f in step.fields if not f.when], row)
        for note in step.notes:
            part: tk.Widget
            if note.warning:
                box = tk.Frame(
                    page, background="#fff4e5", highlightthickness=1, highlightbackground="#e0a040"
                )
                tk.Label(
                    box, text="⚠", background="#fff4e5", foreground="#b26a00", font=("TkDefaultFont", 16)
                ).pack(side="left", padx=(8, 4), pady=6)
                tk.Label(
                    box,
                    text=note.text,
                    background="#fff4e5",
                    wraplength=WRAP - 50,
                    justify="left",
                    anchor="w",
                ).pack(side="left", fill="x", expand=True, padx=(0, 8), pady=6)
                box.grid(row=row, column=0, columnspan=2, sticky="ew", pady=(12, 0))
            elif note.heading:
                # A part of its own, with the fields shown under the same condition.
                frame = ttk.Labelframe(page, text=note.heading, padding=(10, 6, 10, 10))
                frame.columnconfigure(1, weight=1)
                ttk.Label(frame, text=note.text, wraplength=WRAP - 30, justify="left").grid(
                    row=0, column=0, columnspan=2, sticky="w"
                )
                self._fields(frame, [f for f in step.fields if f.when and f.when == note.when], 1)
                frame.grid(row=row, column=0, columnspan=2, sticky="ew", pady=(12, 0))
                part = frame
            else:
                part = ttk.Label(page, text=note.text, style="Hint.TLabel", wraplength=WRAP, justify="left")
                part.grid(row=row, column=0, columnspan=2, sticky="w", pady=(12, 0))
            if note.when:
                self.conditional.append((part, note.when))
            row += 1
        if self.spec.rows:
            self.list = ttk.Frame(page)
            self.list.grid(row=row, column=0, columnspan=2, sticky="ew")
        return page

    def _fields(self, parent: ttk.Frame | ttk.Labelframe, fields: list[Field], row: int) -> int:
        """Fields from grid row ``row`` of ``parent``; the next free row."""
        for f in fields:
            if f.kind == "check":
                var: tk.StringVar | tk.BooleanVar = tk.BooleanVar(value=bool(f.value))
                widget: ttk.Widget = ttk.Checkbutton(parent, text=f.label, variable=var)
                widget.grid(row=row, column=0, columnspan=2, sticky="w", pady=(8, 0))
                row += 1
            elif f.kind == "choice":
                # Radio buttons sharing a variable that none of them holds: none chosen.
                ttk.Label(parent, text=f.label).grid(
                    row=row, column=0, sticky="nw", padx=(0, 12), pady=(8, 0)
                )
                var = tk.StringVar(value=str(f.value))
                box = ttk.Frame(parent)
                box.grid(row=row, column=1, sticky="w", pady=(8, 0))
                self.radios[f.name] = [
                    ttk.Radiobutton(box, text=text, value=value, variable=var) for value, text in f.options
                ]
                for radio in self.radios[f.name]:
                    radio.pack(anchor="w")
                widget = self.radios[f.name][0]
                line = ttk.Label(parent, text="", style="Hint.TLabel", wraplength=WRAP - 60, justify="left")
                line.grid(row=row + 1, column=1, sticky="w")
                self.lines[f.name] = line
                row += 2
            else:
                ttk.Label(parent, text=f.label).grid(row=row, column=0, sticky="w", padx=(0, 12), pady=(8, 0))
                var = tk.StringVar(value=str(f.value))
                widget = ttk.Entry(parent, textvariable=var, width=38, show="•" if f.kind == "secret" else "")
                widget.grid(row=row, column=1, sticky="ew", pady=(8, 0))
                if f.kind in ("save", "open"):  # the path, and the platform's file dialog to pick it
                    ttk.Button(parent, text=_("Choose…"), command=self._command(self.choose, f.name)).grid(
                        row=row, column=2, sticky="w", padx=(6, 0), pady=(8, 0)
                    )
                line = ttk.Label(parent, text="", style="Hint.TLabel", wraplength=WRAP - 60, justify="left")
                line.grid(row=row + 1, column=1, sticky="w")
                self.lines[f.name] = line
                widget.bind("<FocusOut>", self._on_leave(f.name), add="+")
                row += 2
            var.trace_add("write", self._on_change(f.name))
            self.vars[f.name] = var
            self.widgets[f.name] = widget
        return row

    def _fix_size(self) -> None:
        # The holder takes the size of the largest step, so the window never
        # changes size between steps.
        self.root.update_idletasks()
        width = max(p.winfo_reqwidth() for p in self.pages)
        height = max(p.winfo_reqheight() for p in self.pages) + 40  # room for error lines
        if len(self.pages) > 1:
            self.holder.configure(width=width, height=height)
            self.holder.pack_propagate(False)

    def draw_rows(self, rows: list[dict[str, Any]]) -> None:
        for child in self.list.winfo_children():
            child.destroy()
        listing = self.model.listing
        self.intro.configure(text="" if rows else _(listing.empty))
        for r in rows:
            title, detail = listing.texts(r)
            line = ttk.Frame(self.list)
            line.pack(fill="x", pady=3)
            texts = ttk.Frame(line)
            texts.pack(side="left", fill="x", expand=True)
            ttk.Label(texts, text=title).pack(anchor="w")
            ttk.Label(texts, text=detail, style="Hint.TLabel").pack(anchor="w")
            for action in listing.actions(r):
                ttk.Button(line, text=action.label, command=self._row_command(action.id, r)).pack(
                    side="left", padx=(6, 0)
                )

    def draw_buttons(self, buttons: list[Button]) -> None:
        for child in self.button_bar.winfo_children():
            child.destroy()
        self.buttons = {}
        for b in buttons:  # created in visual order: Tab follows it
            self.buttons[b.id] = ttk.Button(
                self.button_bar,
                text=b.label,
                command=self._command(self.press, b.id),
                default="active" if b.role == Role.PRIMARY else "normal",
            )
        for b in buttons:
            if b.role == Role.EXTRA:
                self.buttons[b.id].pack(side="left", padx=(0, 8))
        for b in reversed([b for b in buttons if b.role != Role.EXTRA]):
            self.buttons[b.id].pack(side="right", padx=(8, 0))

    def buttons_sensitive(self, sensitive: bool) -> None:
        for button in self.buttons.values():
            button.state(["!disabled"] if sensitive else ["disabled"])

    def draw(self) -> None:
        m = self.model
        if m.heading:  # (a wizard's step)
            self.step_label.configure(text=m.heading)
            self.step_label.pack(anchor="w", pady=(2, 0), before=self.holder)
        done = m.done_texts
        if done is not None:
            self.done_title.configure(text=done[0])
            self.done_text.configure(text=done[1])
            self.step_label.pack_forget()
        for i, page in enumerate([*self.pages, self.done_page], start=1):
            if i == (len(self.pages) + 1 if done is not None else m.step):
                page.pack(fill="both", expand=True)
            else:
                page.pack_forget()
        for widget, flag in self.conditional:
            (widget.grid if flag in m.flags else widget.grid_remove)()
        editable = not m.busy and m.result is None
        for name, var in self.vars.items():
            value = m.values.get(name)
            if isinstance(var, tk.BooleanVar):
                if var.get() != bool(value):
                    var.set(bool(value))
            elif var.get() != str(value or ""):
                var.set(str(value or ""))
            controls: list[ttk.Widget] = [*self.radios[name]] if name in self.radios else [self.widgets[name]]
            for widget in controls:
                widget.state(["!disabled"] if editable else ["disabled"])
            line = self.lines.get(name)
            if line is not None:
                text, style = m.field_line(name)
                line.configure(text=text, style=STYLES.get(style, f"S{style[1:]}.TLabel"))
                (line.grid if text else line.grid_remove)()
        self._place(self.code, m.code_shown, anchor="w", pady=(8, 0), after=self.holder)
        self.code.configure(text=m.code or "")
        if m.details != self._details:
            self._details = m.details
            for child in self.details.winfo_children():
                child.destroy()
            for n, (key, value) in enumerate(m.details):
                ttk.Label(self.details, text=key, style="Hint.TLabel").grid(
                    row=n, column=0, sticky="w", padx=(0, 12)
                )
                ttk.Label(self.details, text=value).grid(row=n, column=1, sticky="w")
        self._place(self.details, bool(m.details) and m.result is None, fill="x", pady=(8, 0))
        self._place(self.banner, bool(m.banner), fill="x", pady=(12, 0))
        self.banner.configure(text=m.banner or "")
        self._place(self.busy_row, m.busy, fill="x", pady=(12, 0))
        self.progress_text.configure(text=m.progress)
        (self.progress.start if m.busy else self.progress.stop)()
        self._place(self.result, m.link is not None, fill="x", pady=(12, 0))
        self.link_var.set(m.link or "")
        self._place(self.note, bool(m.note), anchor="w", pady=(4, 0))
        self.note.configure(text=m.note)
        self._place(self.confirm, bool(self.spec.confirm) and m.result is not None, anchor="w", pady=(12, 0))
        if self.confirm_var.get() != m.confirmed:
            self.confirm_var.set(m.confirmed)

    def render(self, *, focus: bool = True) -> None:
        try:
            super().render(focus=focus)
        except tk.TclError:  # the window is gone
            pass

    def _place(self, widget: tk.Widget, shown: bool, **pack: Any) -> None:
        if shown and not widget.winfo_manager():
            widget.pack(**(pack if "after" in pack else {"before": self.button_bar, **pack}))
        elif not shown and widget.winfo_manager():
            widget.pack_forget()

    def focus_field(self, name: str) -> None:
        widget = self.widgets[name]
        widget.focus_force()
        if isinstance(widget, ttk.Entry):
            widget.selection_range(0, "end")  # typing replaces it
            widget.icursor("end")

    def focus_button(self, button: str) -> None:
        (self.copy_button if button == COPY_BUTTON else self.buttons[button]).focus_force()

    def shown(self) -> None:
        """The window is mapped: the focus goes to its place, and the tray is told."""
        self.apply_focus()
        self.say_shown()

    def ask_delete(self, title: str, answer: Callable[[bool], None]) -> None:
        window, question, detail, _yes = self.model.listing.ask

        def ask() -> None:
            answer(
                messagebox.askokcancel(
                    f"{_(window)} – {APP}",
                    f"{_(question).format(title=title)}\n\n{_(detail)}",
                    icon="warning",
                    default="cancel",
                    parent=self.root,
                )
            )

        self.root.after_idle(ask)

    def ask_path(self, name: str, answer: Callable[[str | None], None], *, save: bool) -> None:
        folder, base = os.path.split(os.path.expanduser(name))
        if save:
            path = filedialog.asksaveasfilename(
                parent=self.root,
                initialdir=folder or None,
                initialfile=base,
                title=_("Save – {app}").format(app=APP),
            )
        else:
            path = filedialog.askopenfilename(
                parent=self.root,
                initialdir=folder or None,
                title=_("Open – {app}").format(app=APP),
                filetypes=[(_("Recovery files"), "*.psrk"), (_("All files"), "*")],
            )
        answer(path or None)

    def copy(self, text: str) -> None:
        self.root.clipboard_clear()
        self.root.clipboard_append(text)

    def close(self) -> None:
        self.root.destroy()

    # -- events ----------------------------------------------------------------------------------

    @staticmethod
    def _command(fn: Callable[[str], None], arg: str) -> Callable[[], None]:
        return lambda: fn(arg)

    def _on_change(self, name: str) -> Callable[..., None]:
        return lambda *_a: self._changed(name)

    def _on_leave(self, name: str) -> Callable[[Any], None]:
        return lambda _e: self._left(name)

    def _open(self, url: str) -> None:
        self.apply(self.model.open_link(url))

    def _row_command(self, action: str, row: dict[str, Any]) -> Callable[[], None]:
        return lambda: self.row_action(action, row)

    def _on_return(self, _event: Any) -> str:
        widget = self.root.focus_get()
        if isinstance(widget, ttk.Button):
            widget.invoke()  # Return on a focused button is that button
        elif not self.syncing:
            self.press(self.model.default)
        return "break"

    def _changed(self, name: str) -> None:
        self.changed(name, self.vars[name].get())

    def _left(self, name: str) -> None:
        # Only when the focus stays in this window (checked once it has moved).
        def check() -> None:
            if self.root.focus_get() is not None:
                self.left(name)

        self.root.after_idle(check)
