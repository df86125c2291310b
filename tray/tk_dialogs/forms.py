"""Create organization, Join organization (two-step wizards) and Log in."""

from __future__ import annotations

import socket
import tkinter as tk
from tkinter import ttk
from typing import Any

from .. import dialog_protocol as P
from .. import validation
from .widgets import KEYRING_NOTE, PASSWORD_NOTE, WRAP, Dialog, Field, strength_hint

__all__ = ["CreateDialog", "JoinDialog", "LoginDialog", "Wizard"]


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
            describe=strength_hint,
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
        self.chan.send({"type": P.FromDialog.SUBMIT, "values": values})

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
        values: dict[str, Any] = dict(self.values())
        if self.password_needed:
            errors = validation.validate("login", 1, values)
            if errors:
                self.fields["password"].set_error(errors["password"])
                self.fields["password"].focus(force=True)
                return
            self.fields["password"].clear()
            values["keyring"] = bool(self.keyring.get())
        self.set_busy(True, "Unlocking the device…")
        self.chan.send({"type": P.FromDialog.SUBMIT, "values": values})
