"""A dialog model drawn with Tk/ttk (Windows, macOS, and Linux without GTK):
the same descriptions and behaviour as the GTK renderer
(:mod:`parsec_tray.tray.dialog_specs`), redrawn after every event.

Keyboard: Return and Space activate the focused button (Tk's buttons only
know Space: Return is routed here), Return in a field runs the default
button, Escape cancels; buttons are created in their visual order (the
platform's, :func:`~..dialog_specs.button_order`), so Tab follows them
left to right after the fields.  Without a window manager the focus is
given with ``focus_force`` (focusing the window loses keystrokes).

Layout, as the GTK renderer's: the window has one width, fixed once before
it is shown (the widest row that cannot wrap, at least :data:`MIN_WIDTH`,
at most the screen's) and kept by Tk's min and max sizes, so no text can
widen it; every text that wraps asks for no more than its longest word and
wraps to the width its column gets (its ``<Configure>``), a field's line to
the field's column.  Only the step on screen is packed: the window is as
tall as that step (no empty rows), and is centred again when the step
changes.
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

MIN_WIDTH = 580  # px: the window's width, unless a row that cannot wrap needs more
SCREEN_MARGIN = 24  # px kept free on each side of the screen
PAD = 20  # px: the window's padding, left and right
WRAP_SLACK = 8  # px: a label asks a few pixels more than its wrap length (its padding)
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
        self.columns: dict[str, tk.Widget] = {}  # what spans a field's column (its line wraps to it)
        # The texts that wrap, until the width is fixed: with what their column leaves
        # of the window's inner width (px, or "column": a field's column).
        self.wrapping: list[tuple[tk.Label | ttk.Label, int | str]] = []
        self.parts: list[ttk.Labelframe] = []  # a step's parts with their own fields (grid parents)
        self.width = 0  # px: the window's one width, once fixed
        self._placed: tuple[int, int] | None = None
        self._page_on_screen: ttk.Frame | None = None

        root.title(f"{self.spec.title} – {APP}")
        root.protocol("WM_DELETE_WINDOW", lambda: self.press("escape"))
        root.bind("<Escape>", lambda _e: self.press("escape"))
        root.bind("<Return>", self._on_return)
        root.bind("<KP_Enter>", self._on_return)
        root.bind("<Configure>", self._on_resize, add="+")
        outer = ttk.Frame(root, padding=(PAD, 16, PAD, 16))
        outer.pack(fill="both", expand=True)
        self.outer = outer
        ttk.Label(outer, text=self.spec.title, style="Heading.TLabel").pack(anchor="w")
        self.step_label = self._wrap(ttk.Label(outer, text="", style="Hint.TLabel"))
        self.holder = ttk.Frame(outer)
        self.holder.pack(fill="both", expand=True, pady=(12, 0))
        self.pages = [self._page(step) for step in self.spec.steps]
        self.done_page = ttk.Frame(self.holder)  # the last page, once the flow succeeded
        self.done_title = self._wrap(ttk.Label(self.done_page, text="", style="Heading.TLabel"))
        self.done_title.pack(fill="x")
        self.done_text = self._wrap(ttk.Label(self.done_page, text=""))
        self.done_text.pack(fill="x", pady=(8, 0))

        # A driven dialog's (Greet): the code to read aloud, and what the guest asked for.
        self.code = ttk.Label(outer, text="", style="Code.TLabel")
        self.details = ttk.Frame(outer)
        self.details.columnconfigure(1, weight=1)
        self._details: tuple[tuple[str, str], ...] = ()

        self.result = ttk.Frame(outer)
        self.link_var = tk.StringVar(value="")
        ttk.Entry(self.result, textvariable=self.link_var, width=20, state="readonly").pack(
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
        self.note = self._wrap(ttk.Label(outer, text="", style="Hint.TLabel"))
        self.banner = self._wrap(ttk.Label(outer, text="", style="Banner.TLabel"))
        self.busy_row = ttk.Frame(outer)
        self.progress = ttk.Progressbar(self.busy_row, mode="indeterminate", length=120)
        self.progress.pack(side="left")
        self.progress_text = self._wrap(ttk.Label(self.busy_row, text="", style="Hint.TLabel"), 128)
        self.progress_text.pack(side="left", fill="x", expand=True, padx=(8, 0))
        self.button_bar = ttk.Frame(outer)
        self.button_bar.pack(fill="x", side="bottom", pady=(16, 0))
        chan.watch(root, self.receive)
        self.render(focus=False)
        self._fix_width()

    # -- building -------------------------------------------------------------------

    def _page(self, step: Step) -> ttk.Frame:
        page = ttk.Frame(self.holder)
        page.columnconfigure(1, weight=1)
        row = 0
        if step.intro:
            self.intro = self._wrap(ttk.Label(page, text=step.intro))
            self.intro.grid(row=row, column=0, columnspan=3, sticky="ew", pady=(0, 4))
            row += 1
        for text, url in step.links:  # opened by the tray (the browser)
            link = ttk.Button(page, text=text, command=self._command(self._open, url))
            link.grid(row=row, column=0, columnspan=3, sticky="w", pady=(2, 0))
            row += 1
        for key, value in step.facts:
            ttk.Label(page, text=key, style="Hint.TLabel").grid(row=row, column=0, sticky="w", padx=(0, 12))
            value_label = self._wrap(ttk.Label(page, text=value), "column")
            value_label.grid(row=row, column=1, columnspan=2, sticky="ew")
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
                self._wrap(
                    tk.Label(box, text=note.text, background="#fff4e5", justify="left", anchor="w"), 60
                ).pack(side="left", fill="x", expand=True, padx=(0, 8), pady=6)
                box.grid(row=row, column=0, columnspan=3, sticky="ew", pady=(12, 0))
            elif note.heading:
                # A part of its own, with the fields shown under the same condition.
                frame = ttk.Labelframe(page, text=note.heading, padding=(10, 6, 10, 10))
                self.parts.append(frame)
                frame.columnconfigure(1, weight=1)
                self._wrap(ttk.Label(frame, text=note.text), 30).grid(
                    row=0, column=0, columnspan=3, sticky="ew"
                )
                self._fields(frame, [f for f in step.fields if f.when and f.when == note.when], 1)
                frame.grid(row=row, column=0, columnspan=3, sticky="ew", pady=(12, 0))
                part = frame
            else:
                part = self._wrap(ttk.Label(page, text=note.text, style="Hint.TLabel"))
                part.grid(row=row, column=0, columnspan=3, sticky="ew", pady=(12, 0))
            if note.when:
                self.conditional.append((part, note.when))
            row += 1
        if self.spec.rows:
            self.list = ttk.Frame(page)
            self.list.grid(row=row, column=0, columnspan=3, sticky="ew")
        return page

    def _fields(self, parent: ttk.Frame | ttk.Labelframe, fields: list[Field], row: int) -> int:
        """Fields from grid row ``row`` of ``parent``; the next free row."""
        for f in fields:
            if f.kind == "check":
                var: tk.StringVar | tk.BooleanVar = tk.BooleanVar(value=bool(f.value))
                widget: ttk.Widget = ttk.Checkbutton(parent, text=f.label, variable=var)
                widget.grid(row=row, column=0, columnspan=3, sticky="w", pady=(8, 0))
                row += 1
            elif f.kind == "choice":
                # Radio buttons sharing a variable that none of them holds: none chosen.
                ttk.Label(parent, text=f.label).grid(
                    row=row, column=0, sticky="nw", padx=(0, 12), pady=(8, 0)
                )
                var = tk.StringVar(value=str(f.value))
                box = ttk.Frame(parent)
                box.grid(row=row, column=1, columnspan=2, sticky="ew", pady=(8, 0))
                self.radios[f.name] = [
                    ttk.Radiobutton(box, text=text, value=value, variable=var) for value, text in f.options
                ]
                for radio in self.radios[f.name]:
                    radio.pack(anchor="w")
                widget = self.radios[f.name][0]
                line = self._wrap(ttk.Label(parent, text="", style="Hint.TLabel"), "column")
                line.grid(row=row + 1, column=1, columnspan=2, sticky="ew")
                self.lines[f.name] = line
                self.columns[f.name] = box
                row += 2
            else:
                ttk.Label(parent, text=f.label).grid(row=row, column=0, sticky="w", padx=(0, 12), pady=(8, 0))
                var = tk.StringVar(value=str(f.value))
                widget = ttk.Entry(parent, textvariable=var, width=20, show="•" if f.kind == "secret" else "")
                widget.grid(row=row, column=1, sticky="ew", pady=(8, 0))
                if f.kind in ("save", "open"):  # the path, and the platform's file dialog to pick it
                    ttk.Button(parent, text=_("Choose…"), command=self._command(self.choose, f.name)).grid(
                        row=row, column=2, sticky="w", padx=(6, 0), pady=(8, 0)
                    )
                # Under the entry, as wide as it (not under Choose…).
                line = self._wrap(ttk.Label(parent, text="", style="Hint.TLabel"), "column")
                line.grid(row=row + 1, column=1, sticky="ew")
                self.lines[f.name] = line
                self.columns[f.name] = widget
                widget.bind("<FocusOut>", self._on_leave(f.name), add="+")
                row += 2
            var.trace_add("write", self._on_change(f.name))
            self.vars[f.name] = var
            self.widgets[f.name] = widget
        return row

    # -- layout -----------------------------------------------------------------------

    def _wrap(self, label: Any, leaves: int | str = 0) -> Any:
        """``label`` wraps to the width it is given (it must be placed to
        stretch: sticky "ew" or fill "x"): its longest word until then.
        ``leaves``: what its column leaves of the window's inner width, for a
        first guess (px, or "column" for a field's column)."""
        label.configure(justify="left")
        if self.width:
            label.configure(wraplength=self._first_wrap(label, leaves))
        else:
            label.configure(wraplength=1)  # asks for its longest word: never widens the window
            self.wrapping.append((label, leaves))
        label.bind("<Configure>", self._rewrap, add="+")
        return label

    @staticmethod
    def _rewrap(event: Any) -> None:
        # The label got its column's width: wrap there (a few pixels under it, so
        # that what it asks for never exceeds what it got).  Not while it is off
        # screen: a step not shown gives its labels sizes of no meaning.
        width = int(event.width) - WRAP_SLACK
        if width > 1 and event.widget.winfo_viewable() and str(event.widget.cget("wraplength")) != str(width):
            event.widget.configure(wraplength=width)

    def _first_wrap(self, label: Any, leaves: int | str) -> int:
        used = self._beside_column(label.master) if leaves == "column" else int(leaves)
        return max(1, self.width - 2 * PAD - used - WRAP_SLACK)

    def _beside_column(self, parent: Any) -> int:
        """What the label column (0) and the Choose… column (2) of a grid take."""
        used = 30 if parent in self.parts else 0  # a part's padding and border
        for column, gap in ((0, 12), (2, 6)):
            sizes = [
                w.winfo_reqwidth() + gap
                for w in parent.grid_slaves(column=column)
                if int(str(w.grid_info().get("columnspan", 1))) == 1
            ]
            used += max(sizes, default=0)
        return used

    def _bar_width(self, labels: list[str]) -> int:
        bar = ttk.Frame(self.outer)
        for label in labels:
            ttk.Button(bar, text=label).pack(side="left", padx=(8, 0))
        self.root.update_idletasks()
        width = bar.winfo_reqwidth()
        bar.destroy()
        return int(width)

    def _button_rows(self) -> list[list[str]]:
        """The labels of the button rows the dialog can show (the widest decides)."""
        extra = [b.label for b in self.spec.extra]
        rows = [[b.label for b in self.model.buttons()]]
        if self.spec.submit:
            rows.append([*extra, _("Cancel"), _("Back"), self.spec.submit])
        if self.spec.next_steps:
            rows.append([*extra, *(b.label for b in self.spec.next_steps), _("Close")])
        return rows

    def _fix_width(self) -> None:
        """The window's one width, for every step: the widest row that cannot
        wrap, at least MIN_WIDTH, at most the screen's; Tk keeps it (min and
        max size), so nothing shown later can widen the window past the screen."""
        root = self.root
        root.update_idletasks()
        rows = (*self.pages, self.done_page, self.result, self.busy_row, self.code, self.confirm)
        inner = max(
            [int(w.winfo_reqwidth()) for w in rows] + [self._bar_width(b) for b in self._button_rows()]
        )
        width = max(MIN_WIDTH, inner + 2 * PAD, int(self.outer.winfo_reqwidth()))
        self.width = min(width, root.winfo_screenwidth() - 2 * SCREEN_MARGIN)
        root.minsize(self.width, 1)
        root.maxsize(self.width, root.winfo_screenheight())
        for label, leaves in self.wrapping:
            if label.winfo_exists():
                label.configure(wraplength=self._first_wrap(label, leaves))
        self.wrapping = []

    def place(self) -> None:
        """Before the window is shown: centred on the screen, a third of the
        free height above it."""
        self._placed = None
        self._centre(now=True)

    def _centre(self, *, now: bool = False) -> None:
        # Once every pending layout is done, so the height is the step's.
        self.root.update_idletasks()
        self._move(self.width, int(self.root.winfo_reqheight()), centre=True, now=now)

    def _move(self, width: int, height: int, *, centre: bool, now: bool = False) -> None:
        screen_width, screen_height = self.root.winfo_screenwidth(), self.root.winfo_screenheight()
        x = max(0, (screen_width - width) // 2)
        if centre or self._placed is None:
            y = max(0, (screen_height - height) // 3)
        else:  # the same step grew or shrank (a line under a field): its top stays, its bottom on screen
            y = max(0, min(self._placed[1], screen_height - height))
        if (x, y) != self._placed:
            self._placed = (x, y)
            if now:
                self.root.geometry(f"+{x}+{y}")
            else:  # not from within the window's own <Configure>: Tk would undo it
                self.root.after_idle(self.root.geometry, f"+{x}+{y}")

    def _on_resize(self, event: Any) -> None:
        if event.widget is self.root and self._placed is not None:
            self._move(int(event.width), int(event.height), centre=False)

    def draw_rows(self, rows: list[dict[str, Any]]) -> None:
        for child in self.list.winfo_children():
            child.destroy()
        listing = self.model.listing
        if rows:
            self.intro.grid_remove()  # no empty line above the rows
        else:
            self.intro.configure(text=_(listing.empty))
            self.intro.grid()
        for r in rows:
            title, detail = listing.texts(r)
            # The texts over the row's buttons: a row is as wide as the window.
            line = ttk.Frame(self.list)
            line.pack(fill="x", pady=(0, 12))
            self._wrap(ttk.Label(line, text=title)).pack(fill="x")
            self._wrap(ttk.Label(line, text=detail, style="Hint.TLabel")).pack(fill="x")
            actions = ttk.Frame(line)
            actions.pack(anchor="e", pady=(4, 0))
            for action in listing.actions(r):
                ttk.Button(actions, text=action.label, command=self._row_command(action.id, r)).pack(
                    side="left", padx=(8, 0)
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
            self.step_label.pack(fill="x", pady=(2, 0), before=self.holder)
        done = m.done_texts
        if done is not None:
            self.done_title.configure(text=done[0])
            self.done_text.configure(text=done[1])
            self.step_label.pack_forget()
        # Only the step on screen is packed: the window is as tall as it. A new
        # step is centred again, once it has its size (:meth:`_on_resize`).
        page = self.done_page if done is not None else self.pages[m.step - 1]
        if page is not self._page_on_screen:
            if self._page_on_screen is not None:
                self._page_on_screen.pack_forget()
            page.pack(fill="x")
            self._page_on_screen = page
            if self._placed is not None:
                self.root.after_idle(self._centre)
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
                column = self.columns[name]
                if text and not line.winfo_manager() and column.winfo_width() > 1:
                    line.configure(wraplength=column.winfo_width() - WRAP_SLACK)  # its field's width
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
                self._wrap(ttk.Label(self.details, text=value), "column").grid(row=n, column=1, sticky="ew")
        self._place(self.details, bool(m.details) and m.result is None, fill="x", pady=(8, 0))
        self._place(self.banner, bool(m.banner), fill="x", pady=(12, 0))
        self.banner.configure(text=m.banner or "")
        self._place(self.busy_row, m.busy, fill="x", pady=(12, 0))
        self.progress_text.configure(text=m.progress)
        (self.progress.start if m.busy else self.progress.stop)()
        self._place(self.result, m.link is not None, fill="x", pady=(12, 0))
        self.link_var.set(m.link or "")
        self._place(self.note, bool(m.note), fill="x", pady=(4, 0))
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
        self._viewable(widget)
        widget.focus_force()
        if isinstance(widget, ttk.Entry):
            widget.selection_range(0, "end")  # typing replaces it
            widget.icursor("end")

    def focus_button(self, button: str) -> None:
        widget = self.copy_button if button == COPY_BUTTON else self.buttons[button]
        self._viewable(widget)
        widget.focus_force()

    def _viewable(self, widget: tk.Widget) -> None:
        # Tk gives the focus to a widget that is not mapped yet (a new step's,
        # packed a moment ago) only once the X server says it is mapped: the
        # keys typed until then would go to the step before.  Laying out now
        # maps it, and focus_force then takes effect at once.
        if not widget.winfo_viewable():
            self.root.update_idletasks()

    def focused(self) -> str | None:
        try:
            widget = self.root.focus_lastfor()
        except (KeyError, tk.TclError):  # a widget tkinter did not make (a message box's), or gone
            return None
        if widget is self.copy_button:
            return COPY_BUTTON
        for name, w in self.widgets.items():
            if widget is w or widget in self.radios.get(name, ()):
                return name
        return next((b for b, w in self.buttons.items() if widget is w), None)

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
