"""Every dialog described once, as data, and what it does, without a display.

A :class:`DialogSpec` says what a dialog shows: its steps, each step's
fields (label, kind, hint, check, initial value), its notes (plain or a
warning box), its facts (label/value rows) and its buttons.  :func:`spec_for`
builds one from a dialog kind and the ``init`` the tray sent.

:class:`DialogModel` is the dialog's behaviour as a sans-I/O machine: a
renderer (``tray.gtk_dialogs`` on Linux, ``tray.tk_dialogs`` elsewhere)
feeds it what the person did (:meth:`~DialogModel.change`,
:meth:`~DialogModel.leave`, :meth:`~DialogModel.press`) and what the tray
said (:meth:`~DialogModel.receive`), sends the messages it returns, and
draws what it now holds (step, busy, errors, banner, result, rows, focus).
The renderer never decides anything itself, so both toolkits behave alike.

Invariants: a submit leaves only when every field of every step passes its
check; a busy dialog sends nothing but ignores presses (Cancel says why);
``state()`` is the protocol's ``state`` message; sentences use named
placeholders (``.format``), translated (gettext) in the dialog's own process,
which has the tray's environment and so its language.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from . import dialog_protocol as P
from . import validation
from .i18n import N_, _

__all__ = [
    "BUTTON_ORDER",
    "Button",
    "DialogModel",
    "DialogSpec",
    "Field",
    "Note",
    "Role",
    "Step",
    "button_order",
    "row_texts",
    "spec_for",
]

APP = "Parsec Tray"
WAITING_TEXT = N_("Waiting for your guest…")  # a driven dialog's first wait (Greet's), translated where shown

Values = Mapping[str, Any]
Check = Callable[[Values], "str | None"]


class Role(StrEnum):
    """What a button is, which fixes where it goes (:func:`button_order`)."""

    CANCEL = "cancel"  # closes without doing anything
    BACK = "back"  # the previous step
    EXTRA = "extra"  # anything else (Refresh, Copy link)
    PRIMARY = "primary"  # the default button: Return in a field runs it


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    # save / open: a file to create / to read, with Choose… (the platform's file dialog)
    kind: Literal["text", "secret", "check", "choice", "save", "open"] = "text"
    hint: str = ""
    check: Check | None = None
    value: str | bool = ""
    strength: bool = False  # describe the password's strength under it
    clear_on_error: bool = False  # a refused secret is emptied
    send: bool = True  # part of ``submit`` (a confirmation is not)
    when: str = ""  # shown (and checked) only while the model has this flag
    options: tuple[tuple[str, str], ...] = ()  # a choice's (value, label) pairs


@dataclass(frozen=True)
class Note:
    text: str
    warning: bool = False  # drawn as a visible warning box
    heading: str = ""  # a part of its own: its title, above the text
    when: str = ""  # shown only while the model has this flag


@dataclass(frozen=True)
class Step:
    title: str
    intro: str = ""
    fields: tuple[Field, ...] = ()
    notes: tuple[Note, ...] = ()
    facts: tuple[tuple[str, str], ...] = ()
    links: tuple[tuple[str, str], ...] = ()  # (text, address): each opens in the browser


@dataclass(frozen=True)
class Button:
    id: str
    label: str
    role: Role


@dataclass(frozen=True)
class RowAction:
    id: str  # "copy" (the row's link), "delete" (asks first, then sends ``Rows.send``), "greet"
    label: str
    name: str  # its accessible name ({title}: the row's first line)


@dataclass(frozen=True)
class Rows:
    """What a list dialog lists: each row's texts and buttons, and what a
    confirmed deletion asks and sends."""

    key: str  # the field naming a row
    empty: str
    texts: Callable[[Mapping[str, Any]], tuple[str, str]]
    actions: Callable[[Mapping[str, Any]], tuple[RowAction, ...]]
    ask: tuple[str, str, str, str]  # window title, question ({title}), detail, the yes button
    send: str  # the message type of a confirmed deletion
    deleting: str
    deleted: str


@dataclass(frozen=True)
class DialogSpec:
    kind: str
    title: str
    steps: tuple[Step, ...]
    submit: str = ""  # the primary button's label on the last step ("" = no submit)
    busy_text: str = field(default_factory=lambda: _("Working…"))
    close_on_result: bool = False
    extra: tuple[Button, ...] = ()  # buttons beside the primary one (Refresh)
    rows: bool = False  # shows a list (Pending invitations, Members)
    listing: Rows | None = None  # what the list holds (None: invitations)
    initial_banner: str | None = None
    ask_server: bool = False  # step 1's Next asks the server how it creates organizations
    done: tuple[str, str] | None = None  # the last page: title and text ({organization})
    next_steps: tuple[Button, ...] = ()  # the last page's buttons: each sends an ``action``
    # The tray moves it from step to step (Greet): no Next or Back, Cancel
    # works while it waits, and the step's buttons may be the model's ``choices``.
    driven: bool = False
    shared_link: str = ""  # shown with its Copy button while waiting (Add a device greets at once)
    # What a result shows with its Copy button: its key, accessible name, Copy's label.
    result_value: tuple[str, str, str] = field(default_factory=lambda: ("link", _("Invitation link"), _("Copy link")))
    # A button saving that value to a file the person picks: its label, the file's
    # suggested name ({organization}).
    save_value: tuple[str, str] | None = None
    confirm: str = ""  # the last page's check: Close closes only once it is ticked
    copied: str = field(default_factory=lambda: _("Copied. Paste it in a message to the person you invite."))
    # A driven dialog's steps: which one each of the tray's messages shows
    # (() is Greet's: waiting 1, code 2, choices 3, claim the last), and how
    # many last steps the person fills in (Next and Back between them).
    moves: tuple[tuple[str, int], ...] = ()
    form_steps: int = 1
    # A driven dialog's first page, before anything starts (Join's claim):
    # the label of the button that sends ``start``.
    start: str = ""
    waiting_text: str = WAITING_TEXT
    # What the first step's link is, as label/value rows (Join organization).
    describe: Callable[[Values], tuple[tuple[str, str], ...]] | None = None
    # Next on the first step hands the dialog's link to the tray (which opens
    # the dialog it needs) when this says so: an invitation link in Join.
    hand_over: Callable[[Values], bool] | None = None

    def moved_to(self, message: str) -> int:
        """The step a driven dialog shows on the tray's ``message``."""
        moves = dict(self.moves) or {
            P.ToDialog.WAITING: 1,
            P.ToDialog.CODE: 2,
            P.ToDialog.CHOICES: 3,
            P.ToDialog.CLAIM: len(self.steps),
        }
        return moves.get(message, len(self.steps))

    @property
    def first_form_step(self) -> int:
        return len(self.steps) - self.form_steps + 1

    @property
    def fields(self) -> dict[str, Field]:
        return {f.name: f for s in self.steps for f in s.fields}

    def step_of(self, name: str) -> int:
        for i, s in enumerate(self.steps, start=1):
            if any(f.name == name for f in s.fields):
                return i
        raise KeyError(name)


# Where buttons go: left to right, the same in every dialog.  GNOME and macOS
# put the default button last (rightmost) with Cancel before it; Windows puts
# OK first and Cancel last.  Tab follows the same order.
BUTTON_ORDER: dict[str, tuple[Role, ...]] = {
    "linux": (Role.EXTRA, Role.CANCEL, Role.BACK, Role.PRIMARY),
    "darwin": (Role.EXTRA, Role.CANCEL, Role.BACK, Role.PRIMARY),
    "win32": (Role.EXTRA, Role.BACK, Role.PRIMARY, Role.CANCEL),
}


def button_order(buttons: list[Button], platform: str) -> list[Button]:
    order = BUTTON_ORDER.get(platform, BUTTON_ORDER["linux"])
    return sorted(buttons, key=lambda b: order.index(b.role))


# -- the texts -------------------------------------------------------------------------

PASSWORD_NOTE = N_(
    "This password encrypts your keys on this computer; you will type it to log in. "
    "Nobody can recover it, not even Parsec."
)
LOSS_WARNING = N_(
    "If you lose this password or this computer, nobody can give you back access to "
    "your data: there is no way back. Once in, add a second device or create a recovery file."
)
KEYRING_NOTE = N_(
    "Your desktop's keyring then keeps the key of this device: anyone who can open your "
    "session on this computer can open Parsec too."
)


def _t(text: str, **values: object) -> str:
    """A sentence translated (gettext), its named placeholders filled."""
    return _(text).format(**values)


def _one(check: Callable[[str], str | None], name: str) -> Check:
    return lambda v: check(str(v.get(name, "")))


def _your_name_field() -> Field:
    return Field(
        "user_name",
        _("Your name"),
        hint=_("As the others will see it."),
        check=_one(validation.check_user_name, "user_name"),
    )


def _device_field(init: Mapping[str, Any]) -> Field:
    return Field(
        "device_label",
        _("Device name"),
        hint=_("The name of this computer in the organization."),
        value=str(init.get("device_label") or socket.gethostname()),
        check=_one(validation.check_device_label, "device_label"),
    )


def _password_fields(*, unless_keyring: bool = False) -> tuple[Field, Field]:
    """Password and its confirmation; with ``unless_keyring``, not asked
    for while the ``keyring`` check is ticked."""
    hint = N_("At least {n} characters; a long sentence is best.")
    if unless_keyring:
        hint = N_("At least {n} characters; a long sentence is best. Not needed with the keyring.")

    def check(c: Check) -> Check:
        return (lambda v: None if v.get("keyring") else c(v)) if unless_keyring else c

    return (
        Field(
            "password",
            _("Password"),
            "secret",
            hint=_t(hint, n=validation.MIN_PASSWORD_LENGTH),
            check=check(_one(validation.check_password, "password")),
            strength=True,
            clear_on_error=True,
        ),
        Field(
            "confirm",
            _("Confirm password"),
            "secret",
            check=check(
                lambda v: validation.check_confirmation(str(v.get("password", "")), str(v.get("confirm", "")))
            ),
            clear_on_error=True,
            send=False,
        ),
    )


def _account_step(init: Mapping[str, Any]) -> Step:
    return Step(
        _("Your account"),
        _("You, on this computer."),
        (
            _your_name_field(),
            _device_field(init),
            *_password_fields(),
        ),
        (Note(_(PASSWORD_NOTE)), Note(_(LOSS_WARNING), warning=True)),
    )


NEEDS_TOKEN = "needs_token"  # the server does not create organizations on request
ADMIN_PART = N_(
    "This server does not create organizations on request. If you administer it, enter its "
    "administration token. Otherwise, ask its administrator for a bootstrap link, and open it "
    "with Join organization."
)


def _admin_token(v: Values) -> str | None:
    if str(v.get("admin_token", "")).strip():
        return None
    return _("Enter the server's administration token, or ask its administrator for a bootstrap link.")


def _create(init: Mapping[str, Any]) -> DialogSpec:
    return DialogSpec(
        P.Kind.CREATE,
        _("Create organization"),
        (
            Step(
                _("Your organization"),
                _("Create a Parsec organization on a server; you will be its first administrator."),
                (
                    Field("email", _("Email address"), check=_one(validation.check_email, "email")),
                    Field(
                        "organization",
                        _("Organization name"),
                        hint=_("Letters, digits, '-' and '_'; no spaces."),
                        check=_one(validation.check_organization, "organization"),
                    ),
                    Field(
                        "server",
                        _("Server"),
                        value=str(init.get("server") or ""),
                        hint=_("parsec3://host[:port], as given by the server's administrator."),
                        check=_one(validation.check_server, "server"),
                    ),
                    Field(
                        "admin_token",
                        _("Administration token"),
                        "secret",
                        value=str(init.get("admin_token") or ""),
                        check=_admin_token,
                        when=NEEDS_TOKEN,
                    ),
                ),
                (Note(_(ADMIN_PART), heading=_("I administer this server"), when=NEEDS_TOKEN),),
            ),
            _account_step(init),
        ),
        submit=_("Create organization"),
        busy_text=_("Creating the organization…"),
        ask_server=True,
        done=(  # translated where shown (_t)
            N_("{organization} is ready"),
            N_("The organization {organization} is ready, and you are its first administrator. "
            "What next? Add a second device or create a recovery file, so that losing this "
            "computer does not lose your data; then invite the others."),
        ),
        next_steps=(
            Button("invite_device", _("Add a device"), Role.EXTRA),
            Button("create_recovery", _("Create a recovery file"), Role.EXTRA),
            Button("invite_user", _("Invite someone"), Role.EXTRA),
        ),
    )


def _bootstrap_email(v: Values) -> str | None:
    """The email is a bootstrap link's only: an invitation has its own."""
    if validation.is_invitation_link(str(v.get("link", ""))):
        return None
    return validation.check_email(str(v.get("email", "")))


def _join(init: Mapping[str, Any]) -> DialogSpec:
    return DialogSpec(
        P.Kind.JOIN,
        _("Join organization"),
        (
            Step(
                _("The link"),
                _(
                    "Paste the link you received: an invitation to join an organization, or the bootstrap "
                    "link its server's administrator gave you to set one up."
                ),
                (
                    Field(
                        "link",
                        _("Link"),
                        value=str(init.get("link") or ""),
                        check=_one(validation.check_join_link, "link"),
                    ),
                    Field(
                        "email",
                        _("Email address"),
                        hint=_("For a bootstrap link: yours, as the first administrator."),
                        check=_bootstrap_email,
                    ),
                ),
            ),
            _account_step(init),
        ),
        submit=_("Join organization"),
        busy_text=_("Joining the organization…"),
        describe=lambda v: validation.link_facts(str(v.get("link", ""))),
        hand_over=lambda v: validation.is_invitation_link(str(v.get("link", ""))),
    )


def _claim(init: Mapping[str, Any]) -> DialogSpec:
    """Join with an invitation: what the link is (nothing sent yet), then
    the official claim steps, moved by the tray (tray/claiming.py)."""
    user = init.get("type") != "DEVICE"
    org = str(init.get("organization_id", ""))
    by = str(init.get("invited_by") or "")
    facts: tuple[tuple[str, str], ...] = (
        (_("Link"), _(validation.LINK_KINDS["USER" if user else "DEVICE"])),
        (_("Organization"), org),
        (_("Server"), str(init.get("server", ""))),
        (_("Connection"), _("Encrypted") if init.get("encrypted") else _("Not encrypted (test server)")),
        (_("Invited by"), by),
    )
    email = str(init.get("email") or "")
    if user:
        facts += ((_("Your email"), email),)
        details: tuple[Field, ...] = (
            _your_name_field(),
            _device_field(init),
        )
    else:
        details = (_device_field(init),)
    return DialogSpec(
        P.Kind.CLAIM,
        _("Join organization"),
        (
            Step(
                _("The invitation"),
                _t("You are invited to join {org} as a new user.", org=org)
                if user
                else _t("This link adds this computer to your account in {org}, as a new device.", org=org),
                notes=(
                    Note(
                        _(
                            "Nothing is sent to the server until you continue. Then an administrator greets "
                            "you: you will compare short codes, ideally on the phone or face to face."
                        )
                        if user
                        else _(
                            "Nothing is sent to the server until you continue. Then greet this computer "
                            "from your other device (Pending invitations…, Greet): you will compare short "
                            "codes between the two screens."
                        )
                    ),
                ),
                facts=facts,
            ),
            Step(
                _("Waiting"),
                _t("Waiting for an administrator of {org} to greet you. Keep this window open.", org=org)
                if user
                else _("Waiting for your other device to greet this one. Keep this window open."),
            ),
            Step(
                _("Their code"),
                _("Which code does the administrator read to you? If none of these is theirs, say so.")
                if user
                else _("Which code does your other device show? If none of these, say so."),
            ),
            Step(
                _("Your code"),
                _("Read this code to the administrator: they choose it among others.")
                if user
                else _("Choose this code on your other device."),
            ),
            Step(
                _("Your details"),
                _("You, on this computer.") if user else _("This computer, in the organization."),
                details,
                facts=((_("Email"), email),) if user else (),
            ),
            Step(
                _("Password"),
                _("How this device is protected on this computer."),
                (
                    Field("keyring", _("Use the OS keyring instead of a password"), "check", value=False),
                    *_password_fields(unless_keyring=True),
                ),
                # The loss warning is the last page's (with its Create a recovery file).
                (Note(PASSWORD_NOTE), Note(KEYRING_NOTE)),
            ),
        ),
        submit=_("Join"),
        busy_text=_("Joining the organization…"),
        driven=True,
        moves=(
            (P.ToDialog.WAITING, 2),
            (P.ToDialog.CHOICES, 3),
            (P.ToDialog.CODE, 4),
            (P.ToDialog.DETAILS, 5),
        ),
        form_steps=2,
        start=_("Continue"),
        waiting_text=_("Waiting for an administrator…") if user else _("Waiting for your other device…"),
        done=(  # translated where shown (_t)
            N_("You joined {organization}"),
            N_(
                "You are logged in to {organization}. If you lose this computer or your password, nobody "
                "can give you back your data: create a recovery file now, or add a second device."
            ),
        ),
        next_steps=(Button("create_recovery", _("Create a recovery file"), Role.EXTRA),),
    )


FORGOT = "import_recovery"  # Log in's "Forgot your password?": Import a recovery file…


def _login(init: Mapping[str, Any]) -> DialogSpec:
    d = init.get("device") or {}
    who = str(d.get("user_name") or "")
    if d.get("email"):
        who = _t("{name} <{email}>", name=who, email=d["email"]) if who else str(d["email"])
    facts = (
        (_("Organization"), str(d.get("organization_id", ""))),
        (_("User"), who),
        (_("Device"), str(d.get("device_label", ""))),
        (_("Server"), str(d.get("server", ""))),
    )
    fields: tuple[Field, ...] = ()
    notes: tuple[Note, ...] = ()
    extra: tuple[Button, ...] = ()
    if d.get("protection", "password") == "password":
        extra = (Button(FORGOT, _("Forgot your password?"), Role.EXTRA),)
        fields = (
            Field(
                "password",
                _("Password"),
                "secret",
                clear_on_error=True,
                check=lambda v: None if v.get("password") else _("Enter the password of this device."),
            ),
            Field("keyring", _("Log in without a password on this computer (keyring)"), "check", value=False),
        )
        notes = (Note(_(KEYRING_NOTE)),)
    return DialogSpec(
        P.Kind.LOGIN,
        _("Log in"),
        (Step("", "", fields, notes, facts),),
        submit=_("Log in"),
        busy_text=_("Unlocking the device…"),
        extra=extra,
        initial_banner=str(init["error"]) if init.get("error") else None,
    )


def _invite(init: Mapping[str, Any]) -> DialogSpec:
    org = str(init.get("organization_id", ""))
    if init.get("mode") == "device":
        return DialogSpec(
            P.Kind.INVITE_DEVICE,
            _("Add a device"),
            (
                Step(
                    "",
                    _t(
                        "Create a link to add another computer of yours to {org}. Open it on that "
                        "computer with Parsec, then greet it from here. A second device also keeps "
                        "your data safe if this one is lost.",
                        org=org,
                    ),
                    (Field("send_email", _("Also send me the link by email"), "check", value=False),),
                ),
            ),
            submit=_("Create link"),
            busy_text=_("Creating the invitation…"),
        )
    return DialogSpec(
        P.Kind.INVITE_USER,
        _("Invite user"),
        (
            Step(
                "",
                _t(
                    "Invite someone to join {org}. They open the link with Parsec, then you greet "
                    "them (you will compare short codes).",
                    org=org,
                ),
                (
                    Field("email", _("Email address"), check=_one(validation.check_email, "email")),
                    Field("send_email", _("Send the invitation by email"), "check", value=True),
                ),
                _config_notes(init, org),
            ),
        ),
        submit=_("Invite"),
        busy_text=_("Creating the invitation…"),
    )


# What the organization's configuration (ORGANIZATION_CONFIG, kept per
# session) changes in Invite user… and in the greeting's review.
NO_OUTSIDERS = N_("{org} does not allow External users: the people who join it are Members or Administrators.")
USERS_LIMIT_REACHED = N_(
    "{org} has reached its limit of {limit} active users: the person you invite cannot join "
    "until the server's administrator raises it or a member is revoked."
)


def _outsider_allowed(init: Mapping[str, Any]) -> bool:
    """Whether the organization accepts External users (unknown: yes, the server checks)."""
    return init.get("outsider_allowed") is not False


def _config_notes(init: Mapping[str, Any], org: str) -> tuple[Note, ...]:
    notes: list[Note] = []
    limit, active = init.get("active_users_limit"), init.get("active_users")
    if isinstance(limit, int) and isinstance(active, int) and active >= limit:
        notes.append(Note(_t(USERS_LIMIT_REACHED, org=org, limit=limit), warning=True))
    if not _outsider_allowed(init):
        notes.append(Note(_t(NO_OUTSIDERS, org=org)))
    return tuple(notes)


def _invitations(init: Mapping[str, Any]) -> DialogSpec:
    return DialogSpec(
        P.Kind.INVITATIONS,
        _("Pending invitations"),
        (Step("", _("Loading…")),),
        extra=(Button("refresh", _("Refresh"), Role.EXTRA),),
        rows=True,
    )


PROFILES = (
    ("STANDARD", N_("Member: sees what is shared with them")),
    ("ADMIN", N_("Administrator: also invites and manages members")),
    ("OUTSIDER", N_("External: sees only what is shared with them, cannot share")),
)
NONE_OF_THESE = "none"
CODE_PREFIX = "code:"  # a choice's button id: CODE_PREFIX + the code


def _profile_check(profiles: tuple[tuple[str, str], ...]) -> Check:
    def check(v: Values) -> str | None:
        if v.get("profile") in {p for p, _label in profiles}:
            return None
        return _("Choose what this person may do in the organization.")

    return check


def _greet(init: Mapping[str, Any]) -> DialogSpec:
    who = str(init.get("who") or _("your guest"))
    org = str(init.get("organization_id", ""))
    user = init.get("type") != "DEVICE"
    review: tuple[Field, ...] = (
        Field(
            "device_label",
            _("Device name"),
            hint=_("The name of their computer in the organization."),
            check=_one(validation.check_device_label, "device_label"),
        ),
    )
    notes: tuple[Note, ...] = ()
    if user:
        # External is not offered where the organization refuses it, and the review says why.
        profiles = PROFILES if _outsider_allowed(init) else tuple(p for p in PROFILES if p[0] != "OUTSIDER")
        notes = () if _outsider_allowed(init) else (Note(_t(NO_OUTSIDERS, org=org)),)
        review = (
            Field(
                "user_name",
                _("Name"),
                hint=_("As the others will see it; you may correct it."),
                check=_one(validation.check_user_name, "user_name"),
            ),
            *review,
            Field(
                "profile",
                _("Profile"),
                "choice",
                check=_profile_check(profiles),
                options=tuple((p, _(label)) for p, label in profiles),
            ),
        )
    return DialogSpec(
        P.Kind.GREET,
        _("Greet a new user") if user else _("Greet a new device"),
        (
            Step(
                _("Waiting"),
                _t(
                    "Waiting for {who} to open the invitation link with Parsec. Keep this window "
                    "open; you will compare short codes, ideally on the phone or face to face.",
                    who=who,
                )
                if user
                else _(
                    "Open this link with Parsec on your other computer. Keep this window open: "
                    "you will compare short codes between the two screens."
                ),
            ),
            Step(_("Your code"), _t("Read this code to {who}. They choose it among others.", who=who)),
            Step(
                _("Their code"),
                _t("Which code does {who} read to you? If none of these is theirs, say so.", who=who),
            ),
            Step(
                _("Review"),
                _t("Check what {who} asks for before they join {org}.", who=who, org=org)
                if user
                else _t("Check the name of the new device before it joins {org}.", org=org),
                review,
                notes,
            ),
        ),
        submit=_("Accept"),
        busy_text=_("Creating the certificates…"),
        driven=True,
        shared_link=str(init.get("link") or ""),
        done=(  # translated where shown (_t)
            N_("{who} joined {organization}"),
            N_("{who} is now in {organization}. They can log in from their computer."),
        ),
    )


def _message(init: Mapping[str, Any]) -> DialogSpec:
    return DialogSpec(P.Kind.MESSAGE, str(init.get("title") or APP), (Step("", str(init.get("text", ""))),))


RECOVERY_INFO = N_(
    "You need to save this recovery file and its passphrase in a secure place, if possible "
    "in separate places, as both are needed to recover access to {org} from a new device."
)
RECOVERY_CONFIRM = N_("I have saved the recovery file and its passphrase, in separate places.")


def recovery_file_name(organization: str) -> str:
    """The official client's name for a recovery file (fact sheet l.3)."""
    return f"Parsec_Recovery_File_{organization}.psrk"  # the same in every language


def _check_save_path(v: Values) -> str | None:
    path = str(v.get("path", "")).strip()
    if not path:
        return _("Choose where to save the recovery file.")
    if path.endswith(("/", "\\")):
        return _t("Add a file name, such as {name}.", name=recovery_file_name("MyOrg"))
    return None


def _recovery_export(init: Mapping[str, Any]) -> DialogSpec:
    org = str(init.get("organization_id", ""))
    return DialogSpec(
        P.Kind.RECOVERY_EXPORT,
        _("Create a recovery file"),
        (
            Step(
                "",
                _t(
                    "A recovery file, with its passphrase, lets you open {org} again from a new "
                    "computer if you lose this one or forget its password.",
                    org=org,
                ),
                (
                    Field(
                        "path",
                        _("Save the recovery file as"),
                        "save",
                        value=str(init.get("path") or recovery_file_name(org)),
                        hint=_("A file that does not exist yet; choose a place other than this computer if you can."),
                        check=_check_save_path,
                    ),
                ),
                (Note(_t(RECOVERY_INFO, org=org), warning=True),),
            ),
        ),
        submit=_("Create recovery file"),
        busy_text=_("Creating the recovery file…"),
        done=(  # translated where shown (_t)
            N_("Keep the file and its passphrase"),
            N_("The recovery file is saved as {path}. Here is its passphrase: save it or copy it "
            "somewhere else than the file (a password manager, a sheet of paper in a safe place). "
            "It is shown only now."),
        ),
        result_value=("passphrase", _("Passphrase"), _("Copy passphrase")),
        save_value=(_("Save passphrase…"), f"Parsec_Recovery_Code_{org}.txt"),
        confirm=_(RECOVERY_CONFIRM),
        copied=_("Passphrase copied. Paste it somewhere else than the recovery file."),
    )


def _recovery_import(init: Mapping[str, Any]) -> DialogSpec:
    return DialogSpec(
        P.Kind.RECOVERY_IMPORT,
        _("Import a recovery file"),
        (
            Step(
                _("The recovery file"),
                _(
                    "Forgot your password, or lost your computer? The recovery file and its passphrase "
                    "make a new device of yours on this computer."
                ),
                (
                    Field(
                        "path",
                        _("Recovery file"),
                        "open",
                        value=str(init.get("path") or ""),
                        hint=_("The .psrk file you saved."),
                        check=_one(validation.check_recovery_path, "path"),
                    ),
                    Field(
                        "passphrase",
                        _("Passphrase"),
                        hint=_("Saved with the file: 13 groups of 4 letters and digits."),
                        check=_one(validation.check_passphrase, "passphrase"),
                    ),
                ),
            ),
            Step(
                _("This device"),
                _("How this computer appears in the organization, and how you open it."),
                (
                    _device_field(init),
                    Field(
                        "keyring",
                        _("Log in without a password on this computer (keyring)"),
                        "check",
                        value=False,
                    ),
                    *_password_fields(unless_keyring=True),
                ),
                (Note(_(PASSWORD_NOTE)), Note(_(KEYRING_NOTE))),
            ),
        ),
        submit=_("Import and log in"),
        busy_text=_("Adding this device…"),
    )


CHANGE_AUTH_TEXTS = {
    # (mode, protection now): title, intro, submit (translated where used)
    ("password", "password"): (
        N_("Change password"),
        N_("The new password of {device} in {org}: you will type it to log in. Nobody can recover it."),
        N_("Change password"),
    ),
    ("password", "keyring"): (
        N_("Use a password"),
        N_("{device} in {org} will be opened with this password, not with the keyring any more."),
        N_("Use this password"),
    ),
    ("keyring", "password"): (
        N_("Use the keyring for quick login"),
        N_("{device} in {org} will open without a password on this computer."),
        N_("Use the keyring"),
    ),
}


def _change_auth(init: Mapping[str, Any]) -> DialogSpec:
    mode = "keyring" if init.get("mode") == "keyring" else "password"
    protection = "keyring" if init.get("protection") == "keyring" else "password"
    texts = CHANGE_AUTH_TEXTS.get((mode, protection), CHANGE_AUTH_TEXTS[("password", protection)])
    fields: tuple[Field, ...] = ()
    if protection == "password":  # the current one unlocks the keys first
        fields = (
            Field(
                "current_password",
                _("Current password"),
                "secret",
                clear_on_error=True,
                check=lambda v: (
                    None if v.get("current_password") else _("Enter the current password of this device.")
                ),
            ),
        )
    notes: tuple[Note, ...] = (Note(_(KEYRING_NOTE)),)
    if (mode, protection) != ("keyring", "password"):  # a new password
        fields += _password_fields()
        notes = (Note(_(PASSWORD_NOTE)), Note(_(LOSS_WARNING), warning=True))
    intro = _t(texts[1], device=init.get("device_label", ""), org=init.get("organization_id", ""))
    return DialogSpec(
        P.Kind.CHANGE_AUTH,
        _(texts[0]),
        (Step("", intro, fields, notes),),
        submit=_(texts[2]),
        busy_text=_("Protecting the device again…"),
    )


OPEN_URL = "open_url"  # a link's action: the tray opens ``arg`` in the browser
OPEN_LINK = "open_link"  # Join's Next with an invitation link: the tray opens its claim dialog
REFUSE_TERMS = "refuse_terms"
TERMS_ACCEPT = N_("I have read and accept the terms of service.")
LANGUAGES = {"en": "English", "fr": "Français", "de": "Deutsch", "es": "Español", "it": "Italiano"}


def _language(locale: str) -> str:
    return LANGUAGES.get(locale.replace("-", "_").split("_")[0].lower(), locale)


def _terms(init: Mapping[str, Any]) -> DialogSpec:
    org = str(init.get("organization_id", ""))
    links = tuple(
        (_t("Terms of service ({language})", language=_language(str(pair[0]))), str(pair[1]))
        for pair in init.get("links") or []
        if isinstance(pair, (list, tuple)) and len(pair) == 2
    )
    return DialogSpec(
        P.Kind.TERMS,
        _("Terms of service"),
        (
            Step(
                "",
                _t(
                    "{org} asks you to accept its terms of service (updated on {date}) before you "
                    "use it again. Read them first:",
                    org=org,
                    date=init.get("updated_on", ""),
                ),
                (
                    Field(
                        "accept",
                        _(TERMS_ACCEPT),
                        "check",
                        value=False,
                        check=lambda v: (
                            None if v.get("accept") else _("Tick the box once you have read the terms.")
                        ),
                    ),
                ),
                links=links,
            ),
        ),
        submit=_("Accept"),
        busy_text=_("Accepting the terms…"),
        extra=(Button(REFUSE_TERMS, _("Refuse and log out"), Role.EXTRA),),
    )


SPECS: dict[str, Callable[[Mapping[str, Any]], DialogSpec]] = {
    P.Kind.CREATE: _create,
    P.Kind.JOIN: _join,
    P.Kind.LOGIN: _login,
    P.Kind.INVITE_USER: _invite,
    P.Kind.INVITE_DEVICE: lambda init: _invite({**init, "mode": "device"}),
    P.Kind.INVITATIONS: _invitations,
    P.Kind.GREET: _greet,
    P.Kind.CLAIM: _claim,
    P.Kind.RECOVERY_EXPORT: _recovery_export,
    P.Kind.RECOVERY_IMPORT: _recovery_import,
    P.Kind.CHANGE_AUTH: _change_auth,
    P.Kind.TERMS: _terms,
    P.Kind.MESSAGE: _message,
}


def spec_for(kind: str, init: Mapping[str, Any]) -> DialogSpec:
    """The description of dialog ``kind`` opened with ``init``."""
    return SPECS[kind](init)


# -- the behaviour ----------------------------------------------------------------------

# Where the focus goes, besides a field.
DEFAULT = "@default"  # the primary button
COPY_BUTTON = "@copy"  # a result's Copy link

# The messages that move a driven dialog (Greet) from step to step.
DRIVEN = frozenset(
    {P.ToDialog.WAITING, P.ToDialog.CODE, P.ToDialog.CHOICES, P.ToDialog.CLAIM, P.ToDialog.DETAILS}
)
START = "start"  # a driven dialog's first page: its primary button

# What a renderer does besides sending messages.
CLOSE = "close"  # destroy the window
COPY = "copy"  # put ``arg`` on the clipboard
SAVE = "save"  # ask where (``msg["name"]`` suggested), then write ``arg`` there


@dataclass
class Effect:
    """One thing for the renderer to do: ``send`` a message, ``close``, ``copy``."""

    what: str
    msg: dict[str, Any] = field(default_factory=dict)
    arg: str = ""


def _send(msg: dict[str, Any]) -> Effect:
    return Effect("send", msg)


class DialogModel:
    """One dialog's state and behaviour (see the module header)."""

    def __init__(self, spec: DialogSpec, platform: str = "linux") -> None:
        self.spec = spec
        self.platform = platform
        self.values: dict[str, Any] = {f.name: f.value for f in spec.fields.values()}
        self.step = 1
        self.busy = False
        self.progress = ""
        self.errors: dict[str, str] = {}
        self.banner: str | None = spec.initial_banner
        self.result: dict[str, Any] | None = None
        self.note = ""  # feedback after an action (Copied, Deleted)
        self.rows: list[dict[str, Any]] | None = None
        self.confirming: str | None = None  # the invitation a deletion asks about
        self._deleted: str | None = None  # the one being deleted
        self.flags: set[str] = set()  # what shows the fields and notes marked ``when``
        self.asked: str | None = None  # the server whose way of creating organizations is known
        # A driven dialog (Greet): the code to read aloud, the codes to choose
        # among, and what the guest asked for (label/value rows).
        self.code: str | None = None
        self.choices: list[str] = []
        self.details: tuple[tuple[str, str], ...] = ()
        if spec.driven and not spec.start:
            self.busy, self.progress = True, spec.waiting_text
        if spec.describe is not None:
            self.details = spec.describe(self.values)
        self.confirmed = False  # the last page's check (``spec.confirm``)
        # Where the focus goes next (a field, DEFAULT or COPY), or None: the
        # renderer moves it there and sets None.
        self.focus: str | None = self._first_focus()

    # -- what is shown ----------------------------------------------------------------

    @property
    def wizard(self) -> bool:
        return len(self.spec.steps) > 1

    @property
    def current(self) -> Step:
        return self.spec.steps[self.step - 1]

    @property
    def heading(self) -> str:
        if self.wizard and self.done_texts is None:
            return _t(
                "Step {n} of {total}: {title}",
                n=self.step,
                total=len(self.spec.steps),
                title=self.current.title,
            )
        return ""

    @property
    def code_shown(self) -> bool:
        """A driven dialog's own code, large, on its step."""
        return self.code is not None and self.step == self.spec.moved_to(P.ToDialog.CODE)

    def visible(self, item: Field | Note) -> bool:
        return not item.when or item.when in self.flags

    @property
    def link(self) -> str | None:
        """The link a result shows (an invitation's), with its Copy button."""
        if self.spec.shared_link and self.step == 1 and self.result is None:
            return self.spec.shared_link
        key = self.spec.result_value[0]
        if self.result is None or not self.result.get(key):
            return None
        return str(self.result[key])

    @property
    def done_texts(self) -> tuple[str, str] | None:
        """The last page's title and text, once the flow succeeded."""
        if self.result is None or self.spec.done is None:
            return None
        values = {k: str(v) for k, v in self.result.items()}
        values.setdefault("organization", "")
        return _t(self.spec.done[0], **values), _t(self.spec.done[1], **values)

    def field_line(self, name: str) -> tuple[str, str]:
        """What goes under field ``name``: (text, "error" | "hint" | "strengthN")."""
        if name in self.errors:
            return self.errors[name], "error"
        f = self.spec.fields[name]
        if f.strength:
            score, label = validation.password_strength(str(self.values.get(name, "")))
            if score:
                return _t("Strength: {label}", label=label), f"strength{score}"
        return f.hint, "hint"

    def buttons(self) -> list[Button]:
        """The buttons now, in the platform's order."""
        out: list[Button] = list(self.spec.extra)
        if self.result is not None:
            out += self.spec.next_steps if self.spec.done is not None else ()
            out.append(Button("close", _("Close"), Role.PRIMARY))
            return button_order(out, self.platform)
        if self.spec.driven:
            return button_order(self._driven_buttons(), self.platform)
        if self.spec.rows or not self.spec.submit:
            out.append(Button("close", _("Close") if self.spec.rows else _("OK"), Role.PRIMARY))
            return button_order(out, self.platform)
        out.append(Button("cancel", _("Cancel"), Role.CANCEL))
        if self.wizard and self.step > 1:
            out.append(Button("back", _("Back"), Role.BACK))
        last = self.step == len(self.spec.steps)
        out.append(Button("submit" if last else "next", self.spec.submit if last else _("Next"), Role.PRIMARY))
        return button_order(out, self.platform)

    def _driven_buttons(self) -> list[Button]:
        if self.result is not None or (self.banner and not self.busy):
            return [Button("close", _("Close"), Role.PRIMARY)]  # done, or failed for good
        if self.spec.start and self.step == 1:
            return [Button("cancel", _("Cancel"), Role.CANCEL), Button(START, self.spec.start, Role.PRIMARY)]
        if self._form:
            out = [Button("cancel", _("Cancel"), Role.CANCEL)]
            if self.step > self.spec.first_form_step:
                out.append(Button("back", _("Back"), Role.BACK))
            if self.step == len(self.spec.steps):
                return [*out, Button("submit", self.spec.submit, Role.PRIMARY)]
            return [*out, Button("next", _("Next"), Role.PRIMARY)]
        choosing = self.step == self.spec.moved_to(P.ToDialog.CHOICES)
        out = [Button(CODE_PREFIX + c, c, Role.EXTRA) for c in self.choices if choosing]
        if choosing:
            out.append(Button(NONE_OF_THESE, _("None of these"), Role.EXTRA))
        # Until the review, Cancel is all there is to do (Return runs it).
        return [*out, Button("cancel", _("Cancel"), Role.PRIMARY)]

    @property
    def _form(self) -> bool:
        """A driven dialog on the steps the person fills in."""
        return self.spec.driven and self.step >= self.spec.first_form_step and self.result is None

    @property
    def buttons_enabled(self) -> bool:
        """A driven dialog can always be cancelled: its attempt with it."""
        return not self.busy or self.spec.driven

    @property
    def default(self) -> str:
        return next(b.id for b in self.buttons() if b.role == Role.PRIMARY)

    def state(self) -> dict[str, Any]:
        """The protocol's ``state`` message."""
        return {
            "type": P.FromDialog.STATE,
            "step": self.step if self.wizard else None,
            "busy": self.busy,
            "errors": dict(self.errors),
            "banner": self.banner,
        }

    def _first_focus(self) -> str:
        # The first field to fill in: a valid suggested value is skipped
        # (a given bootstrap link, a recovery file handed over), a suggested
        # device name is not.
        for f in self.current.fields:
            if f.kind in ("check", "choice") or not self.visible(f):
                continue
            given = (
                (f.name == "link" or f.kind == "open")
                and f.check is not None
                and f.check(self.values) is None
            )
            if not given:
                return f.name
        return DEFAULT

    # -- what the person does -------------------------------------------------------------

    def change(self, name: str, value: Any) -> None:
        """A field's value changed: a shown error goes as soon as it is fixed."""
        self.values[name] = value
        if name == "server" and str(value).strip() != self.asked:
            self.asked = None  # another server: ask it again
        if self.spec.describe is not None:
            self.details = self.spec.describe(self.values)
        f = self.spec.fields[name]
        if name in self.errors and (f.check is None or f.check(self.values) is None):
            if self.banner == self.errors.pop(name):
                self.banner = None

    def leave(self, name: str) -> None:
        """The focus left field ``name``: check it, unless it is empty."""
        f = self.spec.fields[name]
        if f.check is None or not self.values.get(name) or self.busy or not self.visible(f):
            return
        error = f.check(self.values)
        if error:
            self.errors[name] = error
        else:
            self.errors.pop(name, None)

    def _check(self, step: int) -> bool:
        ok = True
        for f in self.spec.steps[step - 1].fields:
            error = f.check(self.values) if f.check is not None and self.visible(f) else None
            if error:
                self.errors[f.name] = error
                if f.kind == "check":  # a box has no line under it: said in the banner
                    self.banner = error
                if ok:
                    self.focus = f.name
                ok = False
            else:
                self.errors.pop(f.name, None)
        return ok

    def _show(self, step: int) -> None:
        self.step = step
        self.banner = None
        self.focus = self._first_focus()

    def press(self, button: str) -> list[Effect]:
        """The person pressed ``button`` (an id of :meth:`buttons`, or
        ``copy`` / ``delete`` / ``confirm_delete`` / ``keep`` with a row)."""
        if self.spec.driven and button in ("cancel", "escape", "close"):
            return [_send({"type": P.FromDialog.CANCEL}), Effect(CLOSE)]
        if self.busy:
            if button in ("cancel", "escape"):
                self.progress = _("Please wait: this cannot be interrupted safely.")
            return []
        if button == "escape":
            button = "close" if self.result is not None or not self.spec.submit else "cancel"
        if button == "close" and self.result is not None and self.spec.confirm and not self.confirmed:
            self.banner = _t("Tick “{confirm}” once both are kept.", confirm=self.spec.confirm)
            return []
        if button in ("cancel", "close"):
            return [_send({"type": P.FromDialog.CANCEL}), Effect(CLOSE)]
        if button == START and self.spec.start and self.step == 1:
            self.step, self.busy, self.progress, self.banner = 2, True, self.spec.waiting_text, None
            self.focus = DEFAULT
            return [_send({"type": P.FromDialog.START})]
        if button == "back" and self.step > (self.spec.first_form_step if self.spec.driven else 1):
            self._show(self.step - 1)
        elif button == "next":
            if self.spec.hand_over is not None and self.step == 1 and self._check(1):
                if self.spec.hand_over(self.values):
                    link = str(self.values.get("link", "")).strip()
                    return [
                        _send({"type": P.FromDialog.ACTION, "action": OPEN_LINK, "arg": link}),
                        Effect(CLOSE),
                    ]
            if self._check(self.step):
                server = str(self.values.get("server", "")).strip()
                if self.spec.ask_server and self.step == 1 and self.asked != server:
                    self.busy, self.progress, self.banner = True, _("Asking the server…"), None
                    return [_send({"type": P.FromDialog.ASK_SERVER, "server": server})]
                self._show(self.step + 1)
        elif button in {b.id for b in self.spec.next_steps} and self.result is not None:
            action = {"type": P.FromDialog.ACTION, "action": button, "arg": self.result.get("device")}
            return [_send(action), Effect(CLOSE)]
        elif button == "submit":
            return self._submit()
        elif self.spec.driven and (button == NONE_OF_THESE or button.startswith(CODE_PREFIX)):
            code = button[len(CODE_PREFIX) :] if button.startswith(CODE_PREFIX) else None
            if code is not None and code not in self.choices:
                return []
            self.busy, self.progress, self.banner = True, _("Checking the codes…"), None
            return [_send({"type": P.FromDialog.CHOOSE, "code": code})]
        elif button == "refresh":
            self.note = ""
            return [_send({"type": P.FromDialog.REFRESH})]
        elif button != "refresh" and any(b.id == button for b in self.spec.extra):
            # The tray takes over (another dialog, a log out): this one closes.
            return [_send({"type": P.FromDialog.ACTION, "action": button, "arg": None}), Effect(CLOSE)]
        return []

    def _submit(self) -> list[Effect]:
        for step in range(1, len(self.spec.steps) + 1):
            if not self._check(step):
                self.step = step
                return []
        values = {
            f.name: self.values[f.name] if self.visible(f) else type(f.value)()
            for f in self.spec.fields.values()
            if f.send
        }
        self.busy, self.progress, self.banner = True, self.spec.busy_text, None
        return [_send({"type": P.FromDialog.SUBMIT, "values": values})]

    def open_link(self, url: str) -> list[Effect]:
        """A link of the step: the tray opens it in the browser."""
        if self.busy:
            return []
        return [_send({"type": P.FromDialog.ACTION, "action": OPEN_URL, "arg": url})]

    def confirm(self, value: bool) -> list[Effect]:
        """The last page's check (``spec.confirm``) was ticked or unticked."""
        self.confirmed = bool(value)
        if self.confirmed:
            self.banner = None
            return [_send({"type": P.FromDialog.CONFIRMED})]
        return []

    def save(self) -> list[Effect]:
        """Save passphrase…: the renderer asks where, writes, then says :meth:`saved`."""
        if self.spec.save_value is None or self.link is None:
            return []
        return [Effect(SAVE, {"name": self.spec.save_value[1]}, self.link)]

    def saved(self, path: str | None, error: str | None = None) -> None:
        """Where the renderer wrote the value (None: the person cancelled), or why it could not."""
        if error:
            self.banner = _t("The passphrase could not be saved: {error}", error=error)
        elif path:
            self.banner = None
            self.note = _t("Passphrase saved in {path}. Keep it apart from the recovery file.", path=path)

    @property
    def listing(self) -> Rows:
        return self.spec.listing or INVITATION_ROWS

    def copy(self, link: str) -> list[Effect]:
        if self.spec.rows:
            self.note = _("Link copied.")
        elif self.spec.kind == P.Kind.INVITE_DEVICE or self.spec.shared_link:
            self.note = _("Copied. Open it with Parsec on your other computer.")
        else:
            self.note = self.spec.copied
        return [Effect(COPY, arg=link)]

    def greet(self, token: str) -> list[Effect]:
        """A row's Greet: the tray opens the greeting dialog for it."""
        return [_send({"type": P.FromDialog.GREET, "token": token})]

    def delete(self, token: str) -> None:
        """Delete invitation…: ask first."""
        self.confirming = token

    def keep(self) -> None:
        self.confirming = None

    def confirm_delete(self) -> list[Effect]:
        token, self.confirming = self.confirming, None
        if token is None:
            return []
        rows = self.listing
        self.busy, self.progress = True, _(rows.deleting)
        self._deleted = token
        return [_send({"type": rows.send, rows.key: token})]

    # -- what the tray says -----------------------------------------------------------------

    def receive(self, msg: Mapping[str, Any]) -> list[Effect]:
        kind = msg.get("type")
        if kind in (P.ToDialog.CLOSE, P.ToDialog.DONE, "eof"):
            return [Effect(CLOSE)]
        if kind == P.ToDialog.ERROR and self._deleted is not None:
            self._deleted = None
        if kind == P.ToDialog.PROGRESS:
            self.progress = str(msg.get("text", ""))
        elif kind == P.ToDialog.SERVER:
            self.busy = False
            self.asked = str(self.values.get("server", "")).strip()
            if msg.get("creates_on_request"):
                self.flags.discard(NEEDS_TOKEN)
            else:
                self.flags.add(NEEDS_TOKEN)
            if self._check(1):
                self._show(2)
        elif kind in DRIVEN and self.spec.driven:
            self._driven(kind, msg)
        elif kind == P.ToDialog.ERROR:
            self._error(str(msg.get("message", "")), msg.get("field"), msg.get("step"))
        elif kind == P.ToDialog.RESULT:
            self.busy = False
            self.result = {k: v for k, v in msg.items() if k != "type"}
            self.note = str(msg.get("note") or "")
            self.focus = DEFAULT  # Close (Copy link is one Shift+Tab away)
        elif kind == P.ToDialog.LIST:
            was_deleting = self.busy and self._deleted is not None
            self.busy, self.banner = False, None
            self.rows = [dict(r) for r in msg.get("items") or [] if isinstance(r, Mapping)]
            if was_deleting:
                self.note, self._deleted = _(self.listing.deleted), None
            return [_send({"type": P.FromDialog.RENDERED, "count": len(self.rows)})]
        return []

    def _driven(self, kind: str, msg: Mapping[str, Any]) -> None:
        """The tray moved a driven dialog (Greet) to its next step."""
        self.result, self.errors = None, {}
        step = self.spec.moved_to(kind)
        if kind == P.ToDialog.WAITING:
            self.step, self.code, self.choices, self.details = step, None, [], ()
            self.busy, self.progress = True, _(self.spec.waiting_text)
            self.banner = str(msg["banner"]) if msg.get("banner") else None
            self.focus = DEFAULT
        elif kind == P.ToDialog.CODE:
            self.step, self.code, self.banner = step, str(msg.get("code", "")), None
            self.busy, self.progress = True, _("Waiting for them to choose your code…")
            self.focus = DEFAULT
        elif kind == P.ToDialog.CHOICES:
            self.step, self.busy, self.progress, self.banner = step, False, "", None
            self.choices = [str(c) for c in msg.get("choices") or []]
            self.focus = CODE_PREFIX + self.choices[0] if self.choices else DEFAULT
        elif kind in (P.ToDialog.CLAIM, P.ToDialog.DETAILS):
            self.step, self.busy, self.progress = step, False, ""
            for name in ("user_name", "device_label"):
                if name in self.spec.fields:
                    self.values[name] = str(msg.get(name) or "")
            if msg.get("email"):
                self.details = ((_("Email"), str(msg["email"])),)
            self.focus = self._first_focus()

    def _error(self, message: str, name: Any, step: Any) -> None:
        self.busy = False
        fields = self.spec.fields
        if isinstance(name, str) and name in fields:
            if fields[name].when:
                self.flags.add(fields[name].when)
            self.step = self.spec.step_of(name)
            self.errors[name] = message
            if fields[name].clear_on_error:
                self.values[name] = ""
            self.focus, self.banner = name, None
            return
        if step in range(1, len(self.spec.steps) + 1):
            self.step = int(step)
        self.banner = message
        self.focus = DEFAULT


def row_texts(row: Mapping[str, Any]) -> tuple[str, str]:
    """A pending invitation as two lines: who or what, then type, date and by whom."""
    kind = _("Device invitation") if row.get("type") == "DEVICE" else _("User invitation")
    when = str(row.get("created_on", ""))[:16].replace("T", " ")
    detail = _t("{kind}, created {when} by {by}", kind=kind, when=when, by=row.get("created_by", ""))
    if row.get("waiting"):
        detail = _t("{detail} · waiting now", detail=detail)
    return str(row.get("label", "")), detail


def _invitation_actions(row: Mapping[str, Any]) -> tuple[RowAction, ...]:
    return (
        RowAction("copy", _("Copy link"), _("Copy link of {title}")),
        RowAction("delete", _("Delete invitation…"), _("Delete invitation for {title}…")),
        # Last: Tab from Copy link reaches Delete invitation… first, as before.
        RowAction("greet", _("Greet"), _("Greet {title}")),
    )


# The texts of a Rows are translated where shown.
INVITATION_ROWS = Rows(
    key="token",
    empty=N_("No pending invitation."),
    texts=row_texts,
    actions=_invitation_actions,
    ask=(
        N_("Delete invitation"),
        N_("Delete the invitation for {title}?"),
        N_("Its link stops working: nobody can join with it any more."),
        N_("_Delete invitation"),
    ),
    send=P.FromDialog.CANCEL_INVITATION,
    deleting=N_("Deleting the invitation…"),
    deleted=N_("The invitation was deleted."),
)

PROFILE_NAMES = {"ADMIN": N_("Administrator"), "STANDARD": N_("Member"), "OUTSIDER": N_("External")}


def member_texts(row: Mapping[str, Any]) -> tuple[str, str]:
    """A member as two lines: name and email, then profile, joined on, revoked or frozen."""
    name, email = row.get("name"), row.get("email")
    title = _t("{name} <{email}>", name=name, email=email) if name and email else str(name or email or "")
    profile = _(PROFILE_NAMES[str(row.get("profile"))]) if str(row.get("profile")) in PROFILE_NAMES else str(row.get("profile", ""))
    detail = _t("{profile}, joined on {when}", profile=profile, when=str(row.get("created_on", ""))[:10])
    if row.get("revoked_on"):
        detail = _t("{detail} · revoked on {when}", detail=detail, when=str(row["revoked_on"])[:10])
    elif row.get("frozen"):
        detail = _t("{detail} · frozen", detail=detail)
    if row.get("me"):
        detail = _t("{detail} · you", detail=detail)
    return title, detail


def _member_actions(row: Mapping[str, Any]) -> tuple[RowAction, ...]:
    return (RowAction("delete", _("Revoke…"), _("Revoke {title}…")),) if row.get("can_revoke") else ()


MEMBER_ROWS = Rows(
    key="user_id",
    empty=N_("Nobody yet."),
    texts=member_texts,
    actions=_member_actions,
    ask=(
        N_("Revoke"),
        N_("Revoke {title}?"),
        N_("They lose access to the organization at once, on all their devices. This cannot be undone."),
        N_("_Revoke"),
    ),
    send=P.FromDialog.REVOKE_USER,
    deleting=N_("Revoking…"),
    deleted=N_("Revoked."),
)


def _members(init: Mapping[str, Any]) -> DialogSpec:
    return DialogSpec(
        P.Kind.MEMBERS,
        _t("Members of {org}", org=init.get("organization_id", "")),
        (Step("", _("Loading…")),),
        extra=(Button("refresh", _("Refresh"), Role.EXTRA),),
        rows=True,
        listing=MEMBER_ROWS,
    )


SPECS[P.Kind.MEMBERS] = _members
