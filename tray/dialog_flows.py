"""What each dialog's messages do: one handler per (dialog kind, message
type) in :data:`HANDLERS`, and the flows ``submit`` starts (create, join,
log in, invite) in :data:`FLOWS`.  No GUI import.

Flows run in worker threads (Argon2id and the network take seconds); a
flow's outcome goes back to its dialog through
:class:`~.dialogs.DialogProcess`'s methods (``succeeded``, ``failed``...),
which also make what ``status`` shows.  An error is routed to the step and
field it is about by :func:`error_target`, from the error's class and its
structured ``field`` (never its text).

The ``host`` is the :class:`~.controller.Controller`: these functions use
its sessions, device list and dialogs, and own none of them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core import errors as E
from . import claiming, greeting, health, logins, openers, terms
from . import dialog_protocol as P
from .dialog_protocol import FromDialog, Kind
from .dialogs import DialogProcess
from .i18n import N_, _

if TYPE_CHECKING:
    from .controller import Controller
    from .sessions import SessionHolder

__all__ = ["FLOWS", "HANDLERS", "error_target", "holder_for"]

log = logging.getLogger(__name__)

Flow = Callable[["Controller", DialogProcess, dict[str, Any]], "dict[str, Any] | None"]
Handler = Callable[["Controller", DialogProcess, dict[str, Any]], None]

# The fields of the wizards' two steps (the dialog puts the field on its step).
_STEP = {"organization": 1, "email": 1, "server": 1, "link": 1, "admin_token": 1}
_STEP.update({"user_name": 2, "device_label": 2, "password": 2})


def holder_for(host: Controller, dlg: DialogProcess) -> SessionHolder:
    """The session a dialog was opened for (its ``_target``)."""
    with host.lock:
        holder = host.sessions.get(str(dlg.init.get("_target")))
    if holder is None:
        raise E.ParsecTrayError(_("You are not logged in any more."))
    return holder


def error_target(kind: str, exc: BaseException) -> tuple[int | None, str | None]:
    """Which step and field of dialog ``kind`` an error belongs to."""
    if kind == Kind.LOGIN:
        if isinstance(exc, E.WrongPasswordError):
            return None, "password"
        return None, None
    if kind == Kind.CHANGE_AUTH:
        if isinstance(exc, E.WrongPasswordError):
            return None, "current_password"
        if isinstance(exc, E.InvalidValueError) and exc.field is None:
            return None, "password"
        return None, None
    if kind == Kind.RECOVERY_IMPORT:
        if isinstance(exc, E.InvalidValueError) and exc.field == "device_label":
            return 2, "device_label"
        if isinstance(exc, (E.WrongPasswordError, E.InvalidValueError)):
            return 1, "passphrase"
        if isinstance(exc, (E.DeviceFileError, E.DeviceNotFoundError)) and not isinstance(
            exc, E.DeviceFileWriteError
        ):
            return 1, "path"  # missing, unreadable, not a recovery file
        return None, None
    if kind == Kind.RECOVERY_EXPORT:
        # Where the file goes (it exists, the folder cannot be written), or the banner.
        return None, "path" if isinstance(exc, E.DeviceFileWriteError) else None
    first = "server" if kind == Kind.CREATE else "link"
    if isinstance(exc, E.OrganizationAlreadyExistsError):
        return 1, "organization" if kind == Kind.CREATE else "link"
    if isinstance(exc, (E.InvalidBootstrapTokenError, E.OrganizationNotFoundError)):
        return 1, "admin_token" if kind == Kind.CREATE else "link"
    if (
        isinstance(exc, E.AuthenticationError)
        and kind == Kind.CREATE
        and not isinstance(exc, E.ClockOutOfSyncError)
    ):
        return 1, "admin_token"
    if isinstance(exc, (E.InvalidLinkError, E.ServerUnreachableError)):
        return 1, first
    if isinstance(exc, E.InvalidValueError) and exc.field in _STEP:
        if kind == Kind.CREATE or exc.field != "organization":
            return _STEP[exc.field], exc.field
    return None, None


# -- the flows (worker threads) ---------------------------------------------------------------


def _run_create(host: Controller, dlg: DialogProcess, v: dict[str, Any]) -> dict[str, Any]:
    """The dialog stays open on its last page: the organization is ready,
    and the next steps are offered."""
    from ..core import create_organization

    created = create_organization(
        str(v.get("server", "")).strip(),
        str(v.get("organization", "")),
        str(v.get("email", "")).strip(),
        str(v.get("user_name", "")).strip(),
        str(v.get("device_label", "")).strip(),
        password=str(v.get("password", "")),
        admin_token=v.get("admin_token") or None,
        progress=dlg.progress,
    )
    info = _adopt_created(host, created, str(v.get("password", "")), dlg)
    return {"organization": str(info.organization_id), "device": str(info.device_file)}


def _run_join(host: Controller, dlg: DialogProcess, v: dict[str, Any]) -> None:
    from ..core import bootstrap_organization

    created = bootstrap_organization(
        str(v.get("link", "")).strip(),
        str(v.get("email", "")).strip(),
        str(v.get("user_name", "")).strip(),
        str(v.get("device_label", "")).strip(),
        password=str(v.get("password", "")),
        progress=dlg.progress,
    )
    _adopt_created(host, created, str(v.get("password", "")), dlg)


def _adopt_created(host: Controller, created: Any, password: str, dlg: DialogProcess) -> Any:
    from ..core import find_device, login

    info = find_device(created.device_file)
    session = created.session
    if session is None:
        session = login(info, password=password, progress=dlg.progress)
    logins.adopt(host, session, info)
    host.lister.refresh_now()
    return info


def _run_login(host: Controller, dlg: DialogProcess, v: dict[str, Any]) -> None:
    from ..core import find_device, login, protect_with_keyring

    info = find_device(str(dlg.init.get("_key")))
    password = v.get("password") or None
    session = login(info, password=password, progress=dlg.progress, allow_offline=True, allow_pending_tos=True)
    keyring_error: str | None = None
    if v.get("keyring") and info.protection != "keyring":
        dlg.progress(_("Storing the key in the OS keyring…"))
        try:
            protect_with_keyring(session)
        except E.ParsecTrayError as exc:  # logged in all the same
            keyring_error = str(exc)
    logins.adopt(host, session, info)
    if v.get("keyring"):
        host.lister.refresh_now()
    if keyring_error:
        host.message(
            _("Log in"),
            _(
                "You are logged in, but this computer's keyring could not keep the device: {error} "
                "You will type your password next time."
            ).format(error=keyring_error),
        )


_EMAIL_NOTES = {  # translated where used
    "SERVER_UNAVAILABLE": N_("The server could not send the email: give the link yourself."),
    "RECIPIENT_REFUSED": N_("The email was refused by the recipient's server: give the link yourself."),
}


def _run_invite(host: Controller, dlg: DialogProcess, v: dict[str, Any]) -> dict[str, Any] | None:
    holder = holder_for(host, dlg)
    send_email = bool(v.get("send_email"))
    dlg.progress(_("Creating the invitation…"))
    email = str(v.get("email", "")).strip() if dlg.kind == Kind.INVITE_USER else None
    new = holder.invite(email, send_email=send_email)
    if email is None:
        # A new device: greet it right away, in the greeting dialog that
        # shows the link (this one closes).
        greeting.begin(host, holder, str(new.token), link=new.url)
        return None
    note = _("The email was sent.") if new.email_sent == "SUCCESS" and send_email else ""
    if new.email_sent in _EMAIL_NOTES:
        note = _(_EMAIL_NOTES[new.email_sent])
    return {"link": new.url, "email_sent": new.email_sent, "note": note}


_UNREGISTERED = N_(  # translated where used
    "The server's answer was lost: this file may not work. Keep it, and create another one "
    "once the connection is back."
)


def _run_recovery_export(host: Controller, dlg: DialogProcess, v: dict[str, Any]) -> dict[str, Any]:
    """The recovery file saved where the person chose; its passphrase shown
    once, in the dialog only (the status leaves it out)."""
    from pathlib import Path

    from ..core import export_recovery_device

    holder = holder_for(host, dlg)
    dlg.progress(_("Creating the recovery file…"))
    path = Path(str(v.get("path", "")).strip()).expanduser()
    made = export_recovery_device(holder.session, path, progress=dlg.progress)
    health.recheck_risk(host, holder.key)  # a recovery device: no longer the only way in
    note = "" if made.registered else _(_UNREGISTERED)
    out = {
        "organization": made.organization_id,
        "path": str(made.recovery_file),
        "passphrase": made.passphrase,
    }
    return {**out, "note": note}


def _run_recovery_import(host: Controller, dlg: DialogProcess, v: dict[str, Any]) -> None:
    """A new device from the recovery file, logged in: a new session."""
    from pathlib import Path

    from ..core import import_recovery_device

    keyring = bool(v.get("keyring"))
    password = None if keyring else str(v.get("password", ""))
    created = import_recovery_device(
        Path(str(v.get("path", "")).strip()).expanduser(),
        str(v.get("passphrase", "")).strip(),
        str(v.get("device_label", "")).strip(),
        password=password,
        use_keyring=keyring,
        progress=dlg.progress,
    )
    _adopt_created(host, created, password or "", dlg)


def _run_change_auth(host: Controller, dlg: DialogProcess, v: dict[str, Any]) -> None:
    """The device file of the dialog's session protected anew (in place:
    a wrong current password changes nothing)."""
    from pathlib import Path

    from ..core import change_authentication

    holder = holder_for(host, dlg)
    keyring = dlg.init.get("mode") == "keyring"
    dlg.progress(_("Protecting the device again…"))
    change_authentication(
        Path(str(getattr(holder.session, "device_file", None) or holder.key)),
        current_password=v.get("current_password") or None,
        new_password=None if keyring else str(v.get("password", "")),
        use_keyring=keyring,
    )
    host.lister.refresh_now()  # the menu offers what fits the new protection


def _run_accept_terms(host: Controller, dlg: DialogProcess, v: dict[str, Any]) -> None:
    """``tos_accept`` with the terms the dialog showed; the session reconnects at once."""
    dlg.progress(_("Accepting the terms…"))
    terms.accept_terms_now(host, holder_for(host, dlg))


FLOWS: dict[str, Flow] = {
    Kind.CREATE: _run_create,
    Kind.JOIN: _run_join,
    Kind.LOGIN: _run_login,
    Kind.INVITE_USER: _run_invite,
    Kind.INVITE_DEVICE: _run_invite,
    Kind.RECOVERY_EXPORT: _run_recovery_export,
    Kind.RECOVERY_IMPORT: _run_recovery_import,
    Kind.CHANGE_AUTH: _run_change_auth,
    Kind.TERMS: _run_accept_terms,
}


def run_flow(host: Controller, flow: Flow, dlg: DialogProcess, values: dict[str, Any]) -> None:
    """In a worker thread: ``flow``, its outcome sent to ``dlg``."""
    try:
        result = flow(host, dlg, values)
    except E.ParsecTrayError as exc:
        _failed(dlg, exc, str(exc))
    except Exception as exc:  # a bug: say so in plain words, keep the fields
        log.exception("the %s flow failed", dlg.kind)
        _failed(
            dlg,
            exc,
            _("Something unexpected went wrong ({error}); nothing was changed. Please report it.").format(
                error=type(exc).__name__
            ),
        )
    else:
        dlg.succeeded(result)  # a dict: the dialog stays open and shows it


def _failed(dlg: DialogProcess, exc: BaseException, message: str) -> None:
    step, field = error_target(dlg.kind, exc)
    dlg.failed(message, error_type=type(exc).__name__, step=step, field=field)


# -- Pending invitations ----------------------------------------------------------------------------


def _fetch(dlg: DialogProcess, what: str, fetch: Callable[[], Any]) -> tuple[bool, Any]:
    """``(True, fetch())``, or ``(False, None)`` once the error is shown in ``dlg``."""
    try:
        return True, fetch()
    except E.ParsecTrayError as exc:
        dlg.error_shown(str(exc))
    except Exception as exc:
        log.exception("listing the %s failed", what)
        dlg.error_shown(_("Something unexpected went wrong ({error}).").format(error=type(exc).__name__))
    return False, None


def send_invitations(host: Controller, dlg: DialogProcess) -> None:
    """In a worker thread: the pending invitations, to ``dlg``."""
    ok, holder = _fetch(dlg, "invitations", lambda: holder_for(host, dlg))
    ok, rows = _fetch(dlg, "invitations", holder.pending_invitations) if ok else (False, [])
    if not ok:
        return
    # "waiting now": someone opened that invitation's link and waits to be greeted.
    waiting = set(holder.live.waiting()) if holder.live is not None else set()
    dlg.listed([{**row, "waiting": row.get("label") in waiting} for row in rows])


# -- Members -------------------------------------------------------------------------------------------


def send_members(host: Controller, dlg: DialogProcess) -> None:
    """In a worker thread: the organization's users, to ``dlg`` (who can be
    revoked: by an administrator, anyone not revoked but themselves)."""
    from ..core import list_members

    ok, session = _fetch(dlg, "members", lambda: holder_for(host, dlg).session)
    ok, members = _fetch(dlg, "members", lambda: list_members(session)) if ok else (False, [])
    if not ok:
        return
    me = session.device.user_id
    admin = getattr(session.device.initial_profile, "value", "") == "ADMIN"
    rows = []
    for m in members:
        row = m.to_json()
        row["me"] = m.user_id == me
        row["can_revoke"] = admin and not m.is_revoked and m.user_id != me
        rows.append(row)
    dlg.listed(rows)


def _revoke(host: Controller, dlg: DialogProcess, user_id: str) -> None:
    from ..core import list_members, revoke_user

    try:
        session = holder_for(host, dlg).session
        who = next((m for m in list_members(session) if m.user_id.hex == user_id), None)
        if who is None:
            raise E.ParsecTrayError(_("This person is not a member of the organization any more."))
        revoke_user(session, who.user_id, name=who.describe())
    except E.ParsecTrayError as exc:
        dlg.error_shown(str(exc))
        return
    send_members(host, dlg)


def ask_server(dlg: DialogProcess, server: str) -> None:
    """In a worker thread: does ``server`` create organizations on request?"""
    from ..core import server_config

    try:
        config = server_config(server)
    except E.ParsecTrayError as exc:
        _failed(dlg, exc, str(exc))
        return
    except Exception as exc:
        log.exception("asking the server how it creates organizations failed")
        unexpected = _("Something unexpected went wrong ({error}); nothing was changed.")
        _failed(dlg, exc, unexpected.format(error=type(exc).__name__))
        return
    dlg.busy = False
    dlg.send({"type": P.ToDialog.SERVER, "creates_on_request": config.creates_organizations_on_request})


def _cancel_invitation(host: Controller, dlg: DialogProcess, token: str) -> None:
    try:
        holder_for(host, dlg).cancel_invitation(token)
    except E.ParsecTrayError as exc:
        dlg.error_shown(str(exc))
        return
    send_invitations(host, dlg)


# -- what the dialogs write ---------------------------------------------------------------------------


def _in_thread(fn: Callable[..., None], name: str, *args: Any) -> None:
    threading.Thread(target=fn, args=args, name=name, daemon=True).start()


def _submit(host: Controller, dlg: DialogProcess, msg: dict[str, Any]) -> None:
    values = msg.get("values")
    if not isinstance(values, dict) or dlg.busy:
        return
    dlg.working()
    host.start_flow(
        threading.Thread(
            target=run_flow, args=(host, FLOWS[dlg.kind], dlg, values), name=f"flow-{dlg.kind}", daemon=True
        )
    )


def _shown(host: Controller, dlg: DialogProcess, msg: dict[str, Any]) -> None:
    dlg.shown = True


def _state(host: Controller, dlg: DialogProcess, msg: dict[str, Any]) -> None:
    step, errors = msg.get("step"), msg.get("errors")
    dlg.step = step if isinstance(step, int) else None
    dlg.invalid = sorted(str(k) for k in errors) if isinstance(errors, dict) else []


def _rendered(host: Controller, dlg: DialogProcess, msg: dict[str, Any]) -> None:
    count = msg.get("count")
    dlg.rendered = count if isinstance(count, int) else None


def _ask_server(host: Controller, dlg: DialogProcess, msg: dict[str, Any]) -> None:
    if dlg.busy:
        return
    dlg.working()
    _in_thread(ask_server, "ask-server", dlg, str(msg.get("server", "")))


def _refresh(host: Controller, dlg: DialogProcess, msg: dict[str, Any]) -> None:
    _in_thread(send_invitations, "invite-list", host, dlg)


def _cancel(host: Controller, dlg: DialogProcess, msg: dict[str, Any]) -> None:
    _in_thread(_cancel_invitation, "invite-cancel", host, dlg, str(msg.get("token", "")))


def _members_refresh(host: Controller, dlg: DialogProcess, msg: dict[str, Any]) -> None:
    _in_thread(send_members, "members", host, dlg)


def _revoke_user(host: Controller, dlg: DialogProcess, msg: dict[str, Any]) -> None:
    _in_thread(_revoke, "revoke", host, dlg, str(msg.get("user_id", "")))


def _action(host: Controller, dlg: DialogProcess, msg: dict[str, Any]) -> None:
    try:
        host.perform(str(msg.get("action")), msg.get("arg"))
    except ValueError:
        log.warning("unknown action from the window: %r", msg)


def _greet_answer(host: Controller, dlg: DialogProcess, msg: dict[str, Any]) -> None:
    """The code chosen, or the review accepted: to the greeting's worker."""
    run = greeting.run_for(dlg)
    if run is not None:
        run.answer(msg)


def _greet_row(host: Controller, dlg: DialogProcess, msg: dict[str, Any]) -> None:
    """Pending invitations' Greet: the greeting dialog for that invitation."""
    openers.greet(host, str(dlg.init.get("_target")), str(msg.get("token", "")))


def _greet_cancel(host: Controller, dlg: DialogProcess, msg: dict[str, Any]) -> None:
    run = greeting.run_for(dlg)
    if run is not None:
        run.close()


def _claim_answer(host: Controller, dlg: DialogProcess, msg: dict[str, Any]) -> None:
    """Continue, the code chosen, the details given: to the claim's worker."""
    run = claiming.run_for(dlg)
    if run is not None:
        run.answer(msg)


def _claim_cancel(host: Controller, dlg: DialogProcess, msg: dict[str, Any]) -> None:
    run = claiming.run_for(dlg)
    if run is not None:
        run.close()


def _join_action(host: Controller, dlg: DialogProcess, msg: dict[str, Any]) -> None:
    """Join's Next with an invitation link: the claim dialog takes over."""
    from .dialog_specs import OPEN_LINK

    if msg.get("action") == OPEN_LINK:
        openers.open_link(host, str(msg.get("arg") or ""))


def _confirmed(host: Controller, dlg: DialogProcess, msg: dict[str, Any]) -> None:
    dlg.result = {**dlg.result, "confirmed": True}


def _terms_action(host: Controller, dlg: DialogProcess, msg: dict[str, Any]) -> None:
    """A link of the terms (the browser), or Refuse and log out (that session)."""
    from .dialog_specs import OPEN_URL, REFUSE_TERMS

    if msg.get("action") == OPEN_URL:
        terms.open_url(host, str(msg.get("arg") or ""))
    elif msg.get("action") == REFUSE_TERMS:
        logins.logout(host, str(dlg.init.get("_target")))


HANDLERS: dict[tuple[str, str], Handler] = {
    **{(kind, FromDialog.SUBMIT): _submit for kind in FLOWS},
    **{(kind, FromDialog.SHOWN): _shown for kind in Kind},
    **{(kind, FromDialog.STATE): _state for kind in Kind},
    (Kind.INVITATIONS, FromDialog.RENDERED): _rendered,
    (Kind.INVITATIONS, FromDialog.REFRESH): _refresh,
    (Kind.INVITATIONS, FromDialog.CANCEL_INVITATION): _cancel,
    (Kind.INVITATIONS, FromDialog.GREET): _greet_row,
    (Kind.WINDOW, FromDialog.ACTION): _action,
    (Kind.CREATE, FromDialog.ASK_SERVER): _ask_server,
    # The next steps offered once the organization is created.
    (Kind.CREATE, FromDialog.ACTION): _action,
    # The greeting dialog: its worker waits for these (tray/greeting.py).
    (Kind.GREET, FromDialog.CHOOSE): _greet_answer,
    (Kind.GREET, FromDialog.SUBMIT): _greet_answer,
    (Kind.GREET, FromDialog.CANCEL): _greet_cancel,
    # Joining with an invitation: its worker waits for these (tray/claiming.py).
    (Kind.JOIN, FromDialog.ACTION): _join_action,
    (Kind.CLAIM, FromDialog.START): _claim_answer,
    (Kind.CLAIM, FromDialog.CHOOSE): _claim_answer,
    (Kind.CLAIM, FromDialog.SUBMIT): _claim_answer,
    (Kind.CLAIM, FromDialog.CANCEL): _claim_cancel,
    # Its last page's Create a recovery file.
    (Kind.CLAIM, FromDialog.ACTION): _action,
    (Kind.RECOVERY_EXPORT, FromDialog.CONFIRMED): _confirmed,
    # Log in's "Forgot your password?": Import a recovery file….
    (Kind.LOGIN, FromDialog.ACTION): _action,
    (Kind.TERMS, FromDialog.ACTION): _terms_action,
    (Kind.MEMBERS, FromDialog.RENDERED): _rendered,
    (Kind.MEMBERS, FromDialog.REFRESH): _members_refresh,
    (Kind.MEMBERS, FromDialog.REVOKE_USER): _revoke_user,
}


def on_dialog_message(host: Controller, dlg: DialogProcess, msg: dict[str, Any]) -> None:
    """One message from a dialog (its reader thread): its handler, if any."""
    handler = HANDLERS.get((dlg.kind, str(msg.get("type"))))
    if handler is not None:
        handler(host, dlg, msg)
