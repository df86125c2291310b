"""The dialogs themselves: Tk/ttk forms, one process each.

    python -m parsec_tray.tray.tk_dialogs create|join|login|message|window

Started by :class:`~parsec_tray.tray.dialogs.DialogProcess`; stdin and stdout
carry JSON lines (see that module).  This process never calls the network
or decrypts anything: it validates fields inline (core's rules), sends
``submit`` with the values, and shows what the tray answers (progress,
errors with the fields kept, done).  On EOF of stdin (the tray is gone) it
closes.

Keyboard: Return is the default button (Next / Create / Log in), Escape
cancels, Tab moves between fields (and selects a field's text, so typing
replaces a suggested value).  Without a window manager the first field gets
the focus with ``focus_force`` (focusing the window loses keystrokes).
"""

from __future__ import annotations

import json
import os
import queue
import socket
import sys
import threading
import tkinter as tk
from collections.abc import Callable
from tkinter import font as tkfont
from tkinter import ttk
from typing import Any, TextIO

from . import validation

__all__ = ["main"]

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


# -- the pipe to the tray ----------------------------------------------------


class Channel:
    """JSON lines in on stdin, out on the original stdout."""

    def __init__(self, inp: TextIO, out: TextIO) -> None:
        self.inp = inp
        self.out = out
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self._buf = b""

    def read_init(self) -> dict[str, Any]:
        # Straight from the file descriptor, like ``watch``: a buffered
        # readline() could swallow the messages sent right after init (the
        # Pending invitations list), which the fd watcher would never see.
        fd = self.inp.fileno()
        while b"\n" not in self._buf:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        try:
            msg = json.loads(line) if line else {}
        except ValueError:
            msg = {}
        return msg if isinstance(msg, dict) else {}

    def send(self, msg: dict[str, Any]) -> None:
        try:
            self.out.write(json.dumps(msg) + "\n")
            self.out.flush()
        except (OSError, ValueError):
            os._exit(0)  # the tray is gone: nobody to talk to

    def _push_lines(self, data: bytes) -> None:
        if not data:
            self.messages.put({"type": "eof"})
            return
        self._buf += data
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if isinstance(msg, dict):
                self.messages.put(msg)

    def watch(self, root: tk.Tk, on_message: Callable[[dict[str, Any]], None]) -> None:
        """Deliver messages in the Tk thread, without polling where Tk can
        watch the pipe itself (Unix)."""

        def drain() -> None:
            while True:
                try:
                    msg = self.messages.get_nowait()
                except queue.Empty:
                    return
                on_message(msg)

        fd = self.inp.fileno()
        if self._buf:  # what arrived with the init line
            rest, self._buf = self._buf, b""
            self._push_lines(rest)
            root.after_idle(drain)
        if hasattr(root, "createfilehandler") and sys.platform != "win32":

            def readable(_fd: int, _mask: int) -> None:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    root.deletefilehandler(fd)
                self._push_lines(data)
                drain()

            root.createfilehandler(fd, tk.READABLE, readable)
            return

        def reader() -> None:
            while True:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    data = b""
                self._push_lines(data)
                if not data:
                    return

        threading.Thread(target=reader, daemon=True).start()

        def poll() -> None:
            drain()
            root.after(100, poll)

        root.after(100, poll)


# -- widgets -----------------------------------------------------------------


def _setup_style(root: tk.Tk) -> None:
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


# -- dialogs -----------------------------------------------------------------


def _strength_hint(password: str) -> tuple[str, str]:
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
        root.title(f"{self.heading} – {APP}")
        root.protocol("WM_DELETE_WINDOW", self.cancel)
        root.bind("<Escape>", lambda _e: self.cancel())
        root.bind("<Return>", lambda _e: self.default_action())
        root.bind("<KP_Enter>", lambda _e: self.default_action())
        self.outer = ttk.Frame(root, padding=(20, 16, 20, 16))
        self.outer.pack(fill="both", expand=True)
        self.build()
        chan.watch(root, self.on_message)

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
        if kind in ("close", "eof", "done"):
            self.root.destroy()
        elif kind == "raise":
            self.root.deiconify()
            self.root.lift()
            self.root.focus_force()
        elif kind == "progress":
            self.set_progress(str(msg.get("text", "")))
        elif kind == "error":
            self.set_busy(False)
            self.show_error(str(msg.get("message", "")), msg.get("field"), msg.get("step"))

    # shared parts
    def cancel(self) -> None:
        if self.busy:
            self.set_progress("Please wait: this cannot be interrupted safely.")
            return
        self.chan.send({"type": "cancel"})
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


class Wizard(Dialog):
    """Create organization / Join organization: two steps, then submit."""

    step_titles = ("", "")

    def build(self) -> None:
        top = ttk.Frame(self.outer)
        top.pack(fill="x")
        ttk.Label(top, text=self.heading, style="Heading.TLabel").pack(anchor="w")
        self.step_label = ttk.Label(top, text="", style="Hint.TLabel")
        self.step_label.pack(anchor="w", pady=(2, 0))
        holder = ttk.Frame(self.outer)
        holder.pack(fill="both", expand=True, pady=(12, 0))
        self.pages = [ttk.Frame(holder), ttk.Frame(holder)]
        for page in self.pages:
            page.columnconfigure(1, weight=1)
        self.build_step1(self.pages[0])
        self.build_step2(self.pages[1])
        self.add_busy_row(self.outer)
        self.button_bar = ttk.Frame(self.outer)
        self.button_bar.pack(fill="x", side="bottom", pady=(16, 0))
        self.next_button = ttk.Button(
            self.button_bar, text="Next", command=self.default_action, default="active"
        )
        self.next_button.pack(side="right")
        self.back_button = ttk.Button(self.button_bar, text="Back", command=lambda: self.show_step(1))
        self.back_button.pack(side="right", padx=(0, 8))
        self.cancel_button = ttk.Button(self.button_bar, text="Cancel", command=self.cancel)
        self.cancel_button.pack(side="left")
        self.step = 0
        self.show_step(1, focus=False)

    def build_step2(self, page: ttk.Frame) -> None:
        ttk.Label(page, text="You, on this computer.", wraplength=WRAP, justify="left").grid(
            row=0, column=0, columnspan=2, sticky="w"
        )
        self.fields["user_name"] = Field(
            page, 1, "Your name", hint="As the others will see it.", check=validation.check_user_name
        )
        self.fields["device_label"] = Field(
            page,
            3,
            "Device name",
            value=str(self.init.get("device_label") or socket.gethostname()),
            check=validation.check_device_label,
        )
        pw = Field(
            page,
            5,
            "Password",
            secret=True,
            check=validation.check_password,
            hint=f"At least {validation.MIN_PASSWORD_LENGTH} characters; a long sentence is best.",
            describe=_strength_hint,
        )
        pw.secret_reset = True  # type: ignore[attr-defined]
        self.fields["password"] = pw
        confirm = Field(
            page,
            7,
            "Confirm password",
            secret=True,
            check=lambda v: validation.check_confirmation(self.fields["password"].value, v),
        )
        confirm.secret_reset = True  # type: ignore[attr-defined]
        self.fields["confirm"] = confirm
        ttk.Label(page, text=PASSWORD_NOTE, wraplength=WRAP, justify="left", style="Hint.TLabel").grid(
            row=9, column=0, columnspan=2, sticky="w", pady=(12, 0)
        )

    def build_step1(self, page: ttk.Frame) -> None:
        raise NotImplementedError

    def step_fields(self, step: int) -> list[str]:
        return self.step1_fields if step == 1 else ["user_name", "device_label", "password", "confirm"]

    step1_fields: list[str] = []
    submit_text = "Create"

    def show_step(self, step: int, *, focus: bool = True) -> None:
        if self.busy:
            return
        if step == self.step:
            return
        for i, page in enumerate(self.pages, start=1):
            if i == step:
                page.pack(fill="both", expand=True)
            else:
                page.pack_forget()
        self.step = step
        self.step_label.configure(text=f"Step {step} of 2: {self.step_titles[step - 1]}")
        self.next_button.configure(text="Next" if step == 1 else self.submit_text)
        if step == 1:
            self.back_button.pack_forget()
        else:
            self.back_button.pack(side="right", padx=(0, 8), after=self.next_button)
        self.banner.pack_forget()
        if focus:
            self.fields[self.step_fields(step)[0]].focus(force=True)

    def first_focus(self) -> None:
        self.fields[self.step_fields(1)[0]].focus(force=True)

    def buttons(self) -> list[ttk.Button]:
        return [self.next_button, self.back_button, self.cancel_button]

    def after_busy_change(self) -> None:
        # Cancel stays usable as "close" only once the work is over.
        pass

    def _check_step(self, step: int) -> bool:
        errors = validation.validate(self.kind, step, self.values())
        for name in self.step_fields(step):
            if name in errors:
                self.fields[name].set_error(errors[name])
            else:
                self.fields[name].clear()
        for name in self.step_fields(step):
            if name in errors:
                self.fields[name].focus(force=True)
                return False
        return True

    def default_action(self) -> None:
        if self.busy:
            return
        if self.step == 1:
            if self._check_step(1):
                self.show_step(2)
            return
        if not self._check_step(1):
            self.show_step(1)
            self._check_step(1)
            return
        if not self._check_step(2):
            return
        values = self.values()
        values.pop("confirm", None)
        self.set_busy(True)
        self.chan.send({"type": "submit", "values": values})

    def show_error(self, message: str, field: Any, step: Any) -> None:
        if step in (1, 2):
            self.show_step(int(step), focus=False)
        super().show_error(message, field, step)
        if not (isinstance(field, str) and field in self.fields):
            self.next_button.focus_force()


class CreateDialog(Wizard):
    heading = "Create organization"
    kind = "create"
    step_titles = ("Your organization", "Your account")
    step1_fields = ["email", "organization", "server", "admin_token"]
    submit_text = "Create organization"

    def build_step1(self, page: ttk.Frame) -> None:
        ttk.Label(
            page,
            text="Create a Parsec organization on a server; you will be its first administrator.",
            wraplength=WRAP,
            justify="left",
        ).grid(row=0, column=0, columnspan=2, sticky="w")
        self.fields["email"] = Field(page, 1, "Email address", check=validation.check_email)
        self.fields["organization"] = Field(
            page,
            3,
            "Organization name",
            hint="Letters, digits, '-' and '_'; no spaces.",
            check=validation.check_organization,
        )
        self.fields["server"] = Field(
            page,
            5,
            "Server",
            value=str(self.init.get("server") or ""),
            hint="parsec3://host[:port], as given by the server's administrator.",
            check=validation.check_server,
        )
        self.fields["admin_token"] = Field(
            page,
            7,
            "Administration token",
            value=str(self.init.get("admin_token") or ""),
            secret=True,
            hint="Only if this server asks for one; leave empty otherwise.",
        )


class JoinDialog(Wizard):
    heading = "Join organization"
    kind = "join"
    step_titles = ("The link", "Your account")
    step1_fields = ["link", "email"]
    submit_text = "Join organization"

    def build_step1(self, page: ttk.Frame) -> None:
        ttk.Label(
            page,
            text="Paste the bootstrap link the server's administrator gave you to set up the organization.",
            wraplength=WRAP,
            justify="left",
        ).grid(row=0, column=0, columnspan=2, sticky="w")
        link = Field(
            page, 1, "Bootstrap link", value=str(self.init.get("link") or ""), check=validation.check_link
        )
        self.fields["link"] = link
        self.link_info = ttk.Label(page, text="", style="Hint.TLabel")
        self.link_info.grid(row=3, column=1, sticky="w")
        link.var.trace_add("write", lambda *_: self._describe())
        self._describe()
        self.fields["email"] = Field(page, 4, "Email address", check=validation.check_email)

    def _describe(self) -> None:
        self.link_info.configure(text=validation.describe_link(self.fields["link"].value) or "")

    def first_focus(self) -> None:
        first = (
            "email"
            if self.fields["link"].value and not validation.check_link(self.fields["link"].value)
            else "link"
        )
        self.fields[first].focus(force=True)


class LoginDialog(Dialog):
    heading = "Log in"
    kind = "login"

    def build(self) -> None:
        d = self.init.get("device") or {}
        ttk.Label(self.outer, text="Log in", style="Heading.TLabel").pack(anchor="w")
        grid = ttk.Frame(self.outer)
        grid.pack(fill="x", pady=(12, 0))
        grid.columnconfigure(1, weight=1)
        who = d.get("user_name") or ""
        if d.get("email"):
            who = f"{who} <{d['email']}>" if who else d["email"]
        rows = [
            ("Organization", d.get("organization_id", "")),
            ("User", who),
            ("Device", d.get("device_label", "")),
            ("Server", d.get("server", "")),
        ]
        for i, (k, v) in enumerate(rows):
            ttk.Label(grid, text=k, style="Hint.TLabel").grid(row=i, column=0, sticky="w", padx=(0, 12))
            ttk.Label(grid, text=v).grid(row=i, column=1, sticky="w")
        self.password_needed = d.get("protection", "password") == "password"
        self.keyring = tk.BooleanVar(value=False)
        if self.password_needed:
            pw = Field(grid, len(rows), "Password", secret=True)
            pw.secret_reset = True  # type: ignore[attr-defined]
            self.fields["password"] = pw
            self.keyring_check = ttk.Checkbutton(
                self.outer,
                text="Log in without a password on this computer (OS keyring)",
                variable=self.keyring,
            )
            self.keyring_check.pack(anchor="w", pady=(12, 0))
            ttk.Label(
                self.outer, text=KEYRING_NOTE, style="Hint.TLabel", wraplength=WRAP, justify="left"
            ).pack(anchor="w")
        self.add_busy_row(self.outer)
        self.button_bar = ttk.Frame(self.outer)
        self.button_bar.pack(fill="x", side="bottom", pady=(16, 0))
        self.login_button = ttk.Button(
            self.button_bar, text="Log in", command=self.default_action, default="active"
        )
        self.login_button.pack(side="right")
        self.cancel_button = ttk.Button(self.button_bar, text="Cancel", command=self.cancel)
        self.cancel_button.pack(side="right", padx=(0, 8))
        if self.init.get("error"):  # why the quick login could not happen
            self.banner.configure(text=str(self.init["error"]))
            self.banner.pack(fill="x", pady=(12, 0), before=self.button_bar)

    def buttons(self) -> list[ttk.Button]:
        return [self.login_button, self.cancel_button]

    def first_focus(self) -> None:
        if "password" in self.fields:
            self.fields["password"].focus(force=True)
        else:
            self.login_button.focus_force()

    def default_action(self) -> None:
        if self.busy:
            return
        values = self.values()
        if self.password_needed:
            errors = validation.validate("login", 1, values)
            if errors:
                self.fields["password"].set_error(errors["password"])
                self.fields["password"].focus(force=True)
                return
            self.fields["password"].clear()
            if self.keyring.get():
                values["keyring"] = "1"
        self.set_busy(True, "Unlocking the device…")
        self.chan.send({"type": "submit", "values": values})


class InviteDialog(Dialog):
    """Invite user… (an email) or Add a device… (nothing to type): creates
    the invitation, then shows its link with a Copy button.

    The link is copied to the clipboard by this process: on X11 it stays
    there while this window is open (or until a clipboard manager takes it).
    """

    kind = "invite_user"

    def __init__(self, root: tk.Tk, chan: Channel, init: dict[str, Any]) -> None:
        self.mode = "device" if init.get("mode") == "device" else "user"
        self.heading = "Invite user" if self.mode == "user" else "Add a device"
        self.kind = f"invite_{self.mode}"
        super().__init__(root, chan, init)

    def build(self) -> None:
        org = self.init.get("organization_id", "")
        ttk.Label(self.outer, text=self.heading, style="Heading.TLabel").pack(anchor="w")
        text = (
            f"Invite someone to join {org}. They open the link with Parsec, then you greet them "
            "(you will compare short codes)."
            if self.mode == "user"
            else f"Create a link to add another computer of yours to {org}. Open it on that computer with "
            "Parsec, then greet it from here. A second device also keeps your data safe if this one is lost."
        )
        ttk.Label(self.outer, text=text, wraplength=WRAP, justify="left").pack(anchor="w", pady=(8, 0))
        self.form = ttk.Frame(self.outer)
        self.form.pack(fill="x", pady=(4, 0))
        self.form.columnconfigure(1, weight=1)
        if self.mode == "user":
            self.fields["email"] = Field(self.form, 0, "Email address", check=validation.check_email)
        self.send_email = tk.BooleanVar(value=self.mode == "user")
        self.email_check = ttk.Checkbutton(
            self.outer,
            text="Send the invitation by email" if self.mode == "user" else "Also send me the link by email",
            variable=self.send_email,
        )
        self.email_check.pack(anchor="w", pady=(8, 0))
        self.result = ttk.Frame(self.outer)
        self.link_var = tk.StringVar(value="")
        self.link_entry = ttk.Entry(self.result, textvariable=self.link_var, width=48, state="readonly")
        self.link_entry.pack(side="left", fill="x", expand=True)
        self.copy_button = ttk.Button(self.result, text="Copy link", command=self.copy)
        self.copy_button.pack(side="left", padx=(8, 0))
        self.result_note = ttk.Label(
            self.outer, text="", style="Hint.TLabel", wraplength=WRAP, justify="left"
        )
        self.add_busy_row(self.outer)
        self.button_bar = ttk.Frame(self.outer)
        self.button_bar.pack(fill="x", side="bottom", pady=(16, 0))
        self.ok = ttk.Button(
            self.button_bar,
            text="Invite" if self.mode == "user" else "Create link",
            command=self.default_action,
            default="active",
        )
        self.ok.pack(side="right")
        self.cancel_button = ttk.Button(self.button_bar, text="Cancel", command=self.cancel)
        self.cancel_button.pack(side="right", padx=(0, 8))
        self.done = False

    def buttons(self) -> list[ttk.Button]:
        return [self.ok, self.cancel_button, self.email_check]  # type: ignore[list-item]

    def first_focus(self) -> None:
        if "email" in self.fields:
            self.fields["email"].focus(force=True)
        else:
            self.ok.focus_force()

    def default_action(self) -> None:
        if self.busy:
            return
        if self.done:
            self.cancel()
            return
        values: dict[str, Any] = {"send_email": bool(self.send_email.get())}
        if "email" in self.fields:
            error = self.fields["email"].validate()
            if error:
                self.fields["email"].focus(force=True)
                return
            values["email"] = self.fields["email"].value.strip()
        self.set_busy(True, "Creating the invitation…")
        self.chan.send({"type": "submit", "values": values})

    def copy(self) -> None:
        self.root.clipboard_clear()
        self.root.clipboard_append(self.link_var.get())
        self.result_note.configure(text="Copied. Paste it in a message to the person you invite.")

    def on_message(self, msg: dict[str, Any]) -> None:
        if msg.get("type") == "result":
            self.set_busy(False)
            self.done = True
            self.link_var.set(str(msg.get("link", "")))
            for f in self.fields.values():
                f.entry.state(["disabled"])
            self.email_check.state(["disabled"])
            self.result.pack(fill="x", pady=(12, 0), before=self.button_bar)
            note = str(msg.get("note") or "Give this link to the person you invite.")
            self.result_note.configure(text=note)
            self.result_note.pack(anchor="w", pady=(4, 0), before=self.button_bar)
            self.ok.configure(text="Close")
            self.cancel_button.pack_forget()
            self.copy_button.focus_force()
        else:
            super().on_message(msg)


class InvitationsDialog(Dialog):
    """Pending invitations: one row each, with Copy link and Cancel."""

    heading = "Pending invitations"
    kind = "invitations"

    def build(self) -> None:
        ttk.Label(self.outer, text=self.heading, style="Heading.TLabel").pack(anchor="w")
        self.body = ttk.Frame(self.outer)
        self.body.pack(fill="both", expand=True, pady=(8, 0))
        self.status = ttk.Label(self.body, text="Loading…", style="Hint.TLabel")
        self.status.pack(anchor="w")
        self.add_busy_row(self.outer)
        self.button_bar = ttk.Frame(self.outer)
        self.button_bar.pack(fill="x", side="bottom", pady=(16, 0))
        self.ok = ttk.Button(self.button_bar, text="Close", command=self.cancel, default="active")
        self.ok.pack(side="right")
        self.refresh_button = ttk.Button(
            self.button_bar, text="Refresh", command=lambda: self.chan.send({"type": "refresh"})
        )
        self.refresh_button.pack(side="right", padx=(0, 8))
        self.note = ttk.Label(self.outer, text="", style="Hint.TLabel")

    def render(self, items: list[dict[str, Any]]) -> None:
        for child in self.body.winfo_children():
            child.destroy()
        if not items:
            ttk.Label(self.body, text="No pending invitation.", style="Hint.TLabel").pack(anchor="w")
        for it in items:
            row = ttk.Frame(self.body)
            row.pack(fill="x", pady=2)
            text = f"{it.get('label', '')}  (by {it.get('created_by', '')})"
            ttk.Label(row, text=text).pack(side="left")
            token, link = str(it.get("token", "")), str(it.get("link", ""))
            ttk.Button(row, text="Cancel", command=self._command(self._cancel, token)).pack(side="right")
            ttk.Button(row, text="Copy link", command=self._command(self._copy, link)).pack(
                side="right", padx=(0, 4)
            )
        self.root.update_idletasks()

    @staticmethod
    def _command(fn: Callable[[str], None], arg: str) -> Callable[[], None]:
        return lambda: fn(arg)

    def _cancel(self, token: str) -> None:
        self.chan.send({"type": "cancel_invitation", "token": token})

    def _copy(self, link: str) -> None:
        self.root.clipboard_clear()
        self.root.clipboard_append(link)
        self.note.configure(text="Link copied.")
        self.note.pack(anchor="w", before=self.button_bar)

    def first_focus(self) -> None:
        self.ok.focus_force()

    def default_action(self) -> None:
        self.cancel()

    def on_message(self, msg: dict[str, Any]) -> None:
        if msg.get("type") == "list":
            self.banner.pack_forget()
            items = list(msg.get("items") or [])
            self.render(items)
            self.chan.send({"type": "rendered", "count": len(items)})  # what the person sees
        else:
            super().on_message(msg)


class MessageDialog(Dialog):
    kind = "message"

    def __init__(self, root: tk.Tk, chan: Channel, init: dict[str, Any]) -> None:
        self.heading = str(init.get("title") or APP)
        super().__init__(root, chan, init)


class MenuWindow(Dialog):
    """The fallback when there is no tray host: the menu as buttons."""

    heading = "Menu"
    kind = "window"

    def __init__(self, root: tk.Tk, chan: Channel, init: dict[str, Any]) -> None:
        super().__init__(root, chan, init)
        root.title(APP)
        root.unbind("<Escape>")
        root.unbind("<Return>")

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
            text="No system tray was found, so Parsec Tray shows its menu here.",
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
        self.chan.send({"type": "action", "action": e["action"], "arg": e.get("arg")})

    def first_focus(self) -> None:
        if self.first_button is not None:
            self.first_button.focus_force()

    def on_message(self, msg: dict[str, Any]) -> None:
        if msg.get("type") == "menu":
            self.render(msg.get("entries") or [], msg.get("title") or APP)
        else:
            super().on_message(msg)

    def cancel(self) -> None:
        # Closing the only window of the app quits the app.
        self.chan.send({"type": "action", "action": "quit", "arg": None})
        self.root.destroy()


def _flatten(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for e in entries:
        if e.get("submenu"):
            out += _flatten(e["submenu"])
        else:
            out.append(e)
    return out


KINDS: dict[str, type[Dialog]] = {
    "create": CreateDialog,
    "join": JoinDialog,
    "login": LoginDialog,
    "invite_user": InviteDialog,
    "invite_device": InviteDialog,
    "invitations": InvitationsDialog,
    "message": MessageDialog,
    "window": MenuWindow,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in KINDS:
        print(
            f"usage: python -m {__spec__.name if __spec__ else 'tk_dialogs'} {{{','.join(KINDS)}}}",
            file=sys.stderr,
        )
        return 2
    chan = Channel(sys.stdin, sys.stdout)
    sys.stdout = sys.stderr  # stray prints must not corrupt the protocol
    init = chan.read_init()
    root = tk.Tk(className="parsec-tray-dialog")
    root.withdraw()
    root.option_add("*tearOff", False)
    _setup_style(root)
    dialog = KINDS[argv[0]](root, chan, init)
    root.resizable(False, False)
    root.update_idletasks()
    w, h = root.winfo_reqwidth(), root.winfo_reqheight()
    x = max(0, (root.winfo_screenwidth() - w) // 2)
    y = max(0, (root.winfo_screenheight() - h) // 3)
    root.geometry(f"+{x}+{y}")
    root.deiconify()
    root.after(50, dialog.first_focus)
    root.mainloop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
