"""Invite user… / Add a device… and Pending invitations."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk
from typing import Any

from .. import dialog_protocol as P
from .. import validation
from .channel import Channel
from .widgets import WRAP, Dialog, Field

__all__ = ["InvitationsDialog", "InviteDialog"]


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
        self.chan.send({"type": P.FromDialog.SUBMIT, "values": values})

    def copy(self) -> None:
        self.root.clipboard_clear()
        self.root.clipboard_append(self.link_var.get())
        self.result_note.configure(text="Copied. Paste it in a message to the person you invite.")

    def on_message(self, msg: dict[str, Any]) -> None:
        if msg.get("type") == P.ToDialog.RESULT:
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
            self.button_bar, text="Refresh", command=lambda: self.chan.send({"type": P.FromDialog.REFRESH})
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
        self.chan.send({"type": P.FromDialog.CANCEL_INVITATION, "token": token})

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
        if msg.get("type") == P.ToDialog.LIST:
            self.banner.pack_forget()
            items = list(msg.get("items") or [])
            self.render(items)
            self.chan.send({"type": P.FromDialog.RENDERED, "count": len(items)})  # what the person sees
        else:
            super().on_message(msg)
