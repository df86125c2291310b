"""The dialogs the menu, the notifications and the links handed to the tray
open, with what each starts from (the device, the session, a suggested
server or file); what their messages do is :mod:`.dialog_flows`'.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core import Protection
from ..core import errors as E
from . import claiming, dialog_flows, greeting, startup
from .dialog_protocol import Kind
from .i18n import _
from .menu import parse_greet_arg
from .threads import in_thread
from .validation import recovery_file_of

if TYPE_CHECKING:
    from .controller import Controller
    from .dialogs import DialogProcess
    from .sessions import SessionHolder

log = logging.getLogger(__name__)

__all__ = [
    "default_server",
    "greet",
    "greet_from_menu",
    "greet_of",
    "login",
    "open_change_auth",
    "open_create",
    "open_import_recovery",
    "open_invitations",
    "open_invitations_of",
    "open_invite",
    "open_join",
    "open_link",
    "open_list",
    "open_login",
    "open_members",
    "open_recovery",
    "server_display",
]


def server_display(url: str) -> str:
    rest = url.split("://", 1)[-1]
    host, _sep, query = rest.partition("?")
    return _("{host}, not encrypted (test server)").format(host=host) if "no_ssl=true" in query else host


def default_server(host: Controller) -> str:
    if host.options.default_server:
        return host.options.default_server
    with host.lock:
        servers = [d.server_url for d in host.lister.devices]
    return servers[-1] if servers else ""


def open_create(host: Controller) -> None:
    init = {"server": default_server(host), "admin_token": host.options.admin_token or ""}
    host.dialogs.open(Kind.CREATE, {**init, "device_label": socket.gethostname()})


def open_join(host: Controller, link: str | None = None) -> None:
    host.dialogs.open(Kind.JOIN, {"link": link or "", "device_label": socket.gethostname()}, target=link)


def open_link(host: Controller, link: str) -> None:
    """A link or recovery file handed to the tray (its command line, another
    launch, Join's Next): the dialog it is for, or one sentence saying why none."""
    from ..core import ParsecInvitationAddr, ParsecOrganizationBootstrapAddr, parse_link

    link = link.strip()
    recovery = recovery_file_of(link)
    if recovery is not None:
        open_import_recovery(host, recovery)
        return
    try:
        addr = parse_link(link)
    except E.InvalidLinkError as exc:
        host.message(_("Open link"), str(exc))  # core's sentence says what it is and what to do
        return
    if isinstance(addr, ParsecOrganizationBootstrapAddr):
        open_join(host, link)
    elif isinstance(addr, ParsecInvitationAddr):
        in_thread(claiming.begin, "claim", host, link)  # asks the server who invited
    else:
        host.message(
            _("Open link"),
            _(
                "Organization links are not supported by this version of Parsec Tray yet; "
                "use the official Parsec client for them."
            ),
        )


def open_login(host: Controller, key: str | None, *, error: str | None = None) -> None:
    info = host.lister.find(key)
    if info is None:
        host.message(_("Log in"), _("This device is no longer on this computer."))
        return
    device = {
        "organization_id": info.organization_id,
        "user_name": info.user_name,
        "email": info.email,
        "device_label": info.device_label,
        "device_id": info.device_id,
        "server": server_display(info.server_url),
        "protection": info.protection,
    }
    host.dialogs.open(Kind.LOGIN, {"error": error, "device": device, "_key": info.key}, target=info.key)


def login(host: Controller, key: str | None) -> None:
    """The menu's "Log in to …": a keyring device with no dialog, the others in theirs."""
    info = host.lister.find(key)
    if info is not None and info.protection == Protection.KEYRING:
        in_thread(startup.menu_login, "quick-login", host, info)
        return
    open_login(host, key)


def open_invite(host: Controller, mode: str, key: str | None = None) -> None:
    holder = host.holder(key)
    if holder is None:
        return
    init: dict[str, Any] = {"mode": mode, "organization_id": holder.identity.organization_id}
    if mode == "user":
        # What the organization's configuration says about inviting (kept per session).
        init["outsider_allowed"] = holder.outsider_allowed
        if holder.active_users_limit is not None:
            # Counting the members is a round trip: off the menu's thread.
            in_thread(_open_invite_user, "invite-count", host, holder, init)
            return
    host.dialogs.open(f"invite_{mode}", init, target=holder.key)


def _open_invite_user(host: Controller, holder: SessionHolder, init: dict[str, Any]) -> None:
    """Invite user… with how many users are active against the limit."""
    init["active_users_limit"] = holder.active_users_limit
    try:
        init["active_users"] = holder.active_users()
    except E.ParsecTrayError as exc:  # the dialog opens anyway: the server says it at greeting
        log.info("could not count the active users: %s", exc)
    host.dialogs.open("invite_user", init, target=holder.key)


def open_invitations(host: Controller, key: str | None = None) -> None:
    open_list(host, Kind.INVITATIONS, key, dialog_flows.send_invitations)


def open_list(
    host: Controller, kind: Kind, key: str | None, send: Callable[[Controller, DialogProcess], None]
) -> None:
    """A list dialog of session ``key``, filled in a worker thread by ``send``."""
    holder = host.holder(key)
    if holder is None:
        return
    init = {"organization_id": holder.identity.organization_id}
    dlg = host.dialogs.open(kind, init, target=holder.key)
    if dlg is not None:
        in_thread(send, f"{kind}-list", host, dlg)


def open_recovery(host: Controller, key: str | None) -> None:
    """Create a recovery file…: its dialog, for this session (the file
    suggested in the home folder, under the official client's name)."""
    from pathlib import Path

    from .dialog_specs import recovery_file_name

    holder = host.holder(key)
    if holder is None:
        return
    org = holder.identity.organization_id
    init = {"organization_id": org, "path": str(Path.home() / recovery_file_name(org))}
    host.dialogs.open(Kind.RECOVERY_EXPORT, init, target=holder.key)


def open_import_recovery(host: Controller, path: str | None = None) -> None:
    """Import a recovery file… (the menu, Log in's "Forgot your password?",
    a ``.psrk`` handed to the tray): a new device from it."""
    init = {"path": path or "", "device_label": socket.gethostname()}
    host.dialogs.open(Kind.RECOVERY_IMPORT, init, target=path)


def open_members(host: Controller, key: str | None = None) -> None:
    open_list(host, Kind.MEMBERS, key, dialog_flows.send_members)


def open_change_auth(host: Controller, key: str | None, mode: str) -> None:
    """Change password… / Use the keyring… / Use a password… for the
    device of session ``key``."""
    holder = host.holder(key)
    if holder is None:
        return
    info = host.lister.find(holder.key)
    init = {
        "mode": mode,
        "protection": info.protection if info is not None else "password",
        "organization_id": holder.identity.organization_id,
        "device_label": holder.identity.device_label,
    }
    host.dialogs.open(Kind.CHANGE_AUTH, init, target=holder.key)


def open_invitations_of(host: Controller, organization_id: str | None) -> None:
    """A notification was clicked: the invitations of its organization."""
    with host.lock:
        holder = host.sessions.for_org(organization_id)
    open_invitations(host, holder.key if holder is not None else None)


def greet(host: Controller, key: str | None, token: str) -> None:
    """Greet the person waiting on invitation ``token`` (hex) of session
    ``key``: the one entry point of the menu's Greet entries and of the
    notification's Greet button.  Where the greeting dialog must plug
    in: :func:`.greeting.begin` opens it, in a worker thread."""
    log.info("greet %s in %s", token[:8], key)
    holder = host.holder(key)
    if holder is not None:
        in_thread(greeting.begin, "greet", host, holder, token)


def greet_from_menu(host: Controller, arg: str) -> None:
    token, key = parse_greet_arg(arg)
    greet(host, key, token)


def greet_of(host: Controller, organization_id: str | None, token: str) -> None:
    """A notification's Greet: the session of its organization."""
    with host.lock:
        holder = host.sessions.for_org(organization_id)
    if holder is not None:
        greet(host, holder.key, token)
