"""The tray menu as data, computed from a :class:`~.state.Snapshot`.

:func:`build_menu` is a pure function: the shells (pystray icon, fallback
window) render its entries and send the chosen entry's ``action`` (and
``arg``) back to the controller.  Entries carry action ids rather than
callables so that the same menu can cross a process boundary (the fallback
window), be printed as JSON (``status``/tests) and be compared in tests.

Logged in, the menu has one section per logged-in device (who, status,
its actions carrying the device file as ``arg``), then the entries to
create, join or log in to another device.

Every text is translated (gettext) when the menu is built, in the tray's
process: the fallback window shows them as they come.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..core import DeviceInfo, Protection
from .i18n import N_, _, ngettext
from .state import AT_RISK_STATUS, Identity, Refusal, SessionView, Snapshot, State

__all__ = ["SEPARATOR", "Action", "Entry", "build_menu", "flatten", "selectable", "title", "to_json"]

# Above this many devices, "Log in" becomes a submenu (the picker).
MAX_INLINE_DEVICES = 5


class Action(StrEnum):
    CREATE_ORG = "create_org"
    JOIN_ORG = "join_org"
    LOGIN = "login"  # arg: DeviceInfo.key
    # The session actions' arg is the session's device file (SessionView.key);
    # without one they are about the most recently used session.
    LOGOUT = "logout"
    CHECK = "check_connection"  # without an arg: every session
    INVITE_USER = "invite_user"
    INVITE_DEVICE = "invite_device"
    INVITATIONS = "invitations"
    GREET = "greet"  # arg: greet_arg(token, session key)
    CREATE_RECOVERY = "create_recovery"
    IMPORT_RECOVERY = "import_recovery"  # arg: a recovery file's path, or none
    CHANGE_PASSWORD = "change_password"
    USE_KEYRING = "use_keyring"
    USE_PASSWORD = "use_password"
    MEMBERS = "members"
    REMOVE_DEVICE = "remove_device"  # a revoked device: archive its file
    REVIEW_TOS = "review_tos"
    ACCEPT_TOS = "accept_tos"
    TOGGLE_AUTOSTART = "toggle_autostart"
    TOGGLE_LOGIN_DIALOG = "toggle_login_dialog"
    TOGGLE_LOGOUT_ON_LOCK = "toggle_logout_on_lock"
    QUIT = "quit"


@dataclass(frozen=True)
class Entry:
    text: str
    action: Action | None = None
    arg: str | None = None
    enabled: bool = True
    separator: bool = False
    submenu: tuple[Entry, ...] = ()
    # None: a plain entry; True/False: a check box in that state.
    checked: bool | None = None

    def to_json(self) -> dict[str, Any]:
        if self.separator:
            return {"separator": True}
        out: dict[str, Any] = {"text": self.text, "enabled": self.enabled}
        if self.checked is not None:
            out["checked"] = self.checked
        if self.action is not None:
            out["action"] = self.action.value
        if self.arg is not None:
            out["arg"] = self.arg
        if self.submenu:
            out["submenu"] = to_json(self.submenu)
        return out


SEPARATOR = Entry("", separator=True)

# Translated where shown.
STATUS_TEXT = {
    State.CONNECTING: N_("Connecting…"),
    State.ONLINE: N_("Online"),
    State.OFFLINE: N_("Offline: the server cannot be reached"),
    State.NEEDS_ATTENTION: N_("Needs attention"),
}
# The same, as the tooltip says it after who ("MyOrg: Alice, offline").
STATE_WORD = {
    State.CONNECTING: N_("connecting…"),
    State.ONLINE: N_("online"),
    State.OFFLINE: N_("offline"),
    State.NEEDS_ATTENTION: N_("needs attention"),
}


def _login_label(d: DeviceInfo, all_devices: tuple[DeviceInfo, ...]) -> str:
    org, who = d.organization_id, d.user_name or d.email
    twins = [o for o in all_devices if (o.organization_id, o.user_name) == (d.organization_id, d.user_name)]
    if len(twins) > 1:
        return _("Log in to {org} as {who} ({device})…").format(org=org, who=who, device=d.device_label or d.device_id[:8])
    return _("Log in to {org} as {who}…").format(org=org, who=who)


def _login_entries(shown: tuple[DeviceInfo, ...], all_devices: tuple[DeviceInfo, ...]) -> list[Entry]:
    if not shown:
        return [Entry(_("Log in… (no device on this computer yet)"), enabled=False)]
    entries = [Entry(_login_label(d, all_devices), Action.LOGIN, d.key) for d in shown]
    if len(entries) > MAX_INLINE_DEVICES:
        return [Entry(_("Log in"), submenu=tuple(entries))]
    return entries


def _who(ident: Identity) -> str:
    who = ident.user_name or ident.email or ident.user_id[:8]
    return _("{org}: {who}").format(org=ident.organization_id, who=who)


def header(s: Snapshot) -> str:
    """Who the most recently used session is (the tooltip's subject)."""
    return _("Not logged in") if s.identity is None else _who(s.identity)


def title(s: Snapshot) -> str:
    """The icon's tooltip: the most recently used session, and how many
    others there are; the state is the icon's (the most urgent of all)."""
    base = _("Parsec Tray (demo)") if s.demo_server else "Parsec Tray"
    if not s.state.logged_in:
        return _("{app}: not logged in").format(app=base)
    views = s.views()
    who = header(s)
    if len(views) > 1:
        n = len(views) - 1
        who = ngettext("{who} and {n} more", "{who} and {n} more", n).format(who=who, n=n)
    state = _(STATE_WORD[s.state])
    waiting = sum(len(v.waiting) for v in views)
    if waiting:
        return ngettext(
            "{app}: {who}, {state}, {n} waiting to be greeted", "{app}: {who}, {state}, {n} waiting to be greeted", waiting
        ).format(app=base, who=who, state=state, n=waiting)
    return _("{app}: {who}, {state}").format(app=base, who=who, state=state)


def greet_arg(token: str, key: str) -> str:
    """What a Greet entry carries: the invitation's token, then the session."""
    return f"{token}:{key}"


def parse_greet_arg(arg: str) -> tuple[str, str | None]:
    token, _, key = arg.partition(":")
    return token, key or None


def _waiting_entries(v: SessionView, online: bool) -> list[Entry]:
    """Who is waiting: each entry greets them (its token known), else it says so."""
    if len(v.waiting_tokens) != len(v.waiting):
        return [Entry(_("{who} is waiting to be greeted").format(who=label), enabled=False) for label in v.waiting]
    return [
        Entry(_("Greet {who} (waiting)").format(who=label), Action.GREET, greet_arg(token, v.key), enabled=online)
        for token, label in zip(v.waiting_tokens, v.waiting, strict=True)
    ]


def _live_entries(v: SessionView) -> list[Entry]:
    """Invitations (a real session only).  They need the server: shown but
    disabled while it cannot be reached."""
    if not v.live:
        return []
    online = v.state is State.ONLINE
    arg = v.key or None
    add_device = Entry(_("Add a device…"), Action.INVITE_DEVICE, arg, enabled=online)
    items: list[Entry] = []
    if v.at_risk:  # the risk, and what ends it, right there
        items += [
            Entry(_(AT_RISK_STATUS).format(org=v.identity.organization_id), enabled=False),
            Entry(_("Create a recovery file…"), Action.CREATE_RECOVERY, arg, enabled=online),
            add_device,
            SEPARATOR,
        ]
    items += _waiting_entries(v, online)
    if v.identity.is_admin:
        items.append(Entry(_("Invite user…"), Action.INVITE_USER, arg, enabled=online))
    if not v.at_risk:
        items.append(add_device)
    items += [
        Entry(_("Pending invitations…"), Action.INVITATIONS, arg, enabled=online),
        Entry(_("Members…"), Action.MEMBERS, arg, enabled=online),
        SEPARATOR,
    ]
    return items


def _refusal_entries(v: SessionView) -> list[Entry]:
    """What a person can do about the server's refusal of the device."""
    arg = v.key or None
    if v.refusal is Refusal.REVOKED:
        return [Entry(_("Remove this device…"), Action.REMOVE_DEVICE, arg)]
    if v.refusal is Refusal.TOS:
        return [
            Entry(_("Review the terms of service…"), Action.REVIEW_TOS, arg),
            Entry(_("Accept the terms"), Action.ACCEPT_TOS, arg),
        ]
    return [Entry(_("Check again"), Action.CHECK, arg)]


def _protection_entries(v: SessionView, protection: Protection | None) -> list[Entry]:
    """How this device is opened: its password changed, or the keyring instead (or back)."""
    arg = v.key or None
    if protection == Protection.KEYRING:
        return [Entry(_("Use a password…"), Action.USE_PASSWORD, arg)]
    if protection == Protection.PASSWORD:
        return [
            Entry(_("Change password…"), Action.CHANGE_PASSWORD, arg),
            Entry(_("Use the keyring for quick login…"), Action.USE_KEYRING, arg),
        ]
    return []


def _session_entries(v: SessionView, protection: Protection | None = None) -> list[Entry]:
    """One logged-in device's section: who, its status, its actions."""
    arg = v.key or None
    status = _(STATUS_TEXT[v.state])
    refused = v.state is State.NEEDS_ATTENTION and v.refusal is not None
    if refused:
        status = v.refusal_text()
    elif v.state is State.NEEDS_ATTENTION and v.reason:
        status = _("Needs attention: {reason}").format(reason=v.reason)
    items = [Entry(_who(v.identity), enabled=False), Entry(status, enabled=False)]
    if refused:
        items += _refusal_entries(v)
    elif v.state in (State.OFFLINE, State.NEEDS_ATTENTION):
        items.append(Entry(_("Check connection"), Action.CHECK, arg))
    mine = _protection_entries(v, protection)
    return [*items, SEPARATOR, *_live_entries(v), *mine, Entry(_("Log out"), Action.LOGOUT, arg), SEPARATOR]


def _settings_entries(s: Snapshot) -> list[Entry]:
    items: list[Entry] = []
    if s.autostart is not None:
        items.append(Entry(_("Start at login"), Action.TOGGLE_AUTOSTART, checked=s.autostart))
    if s.autostart:
        items.append(
            Entry(
                _("At login, ask for the password at once"),
                Action.TOGGLE_LOGIN_DIALOG,
                checked=s.login_dialog_at_start,
            )
        )
    if s.logout_on_lock is not None:
        items.append(Entry(_("Log out when the screen locks"), Action.TOGGLE_LOGOUT_ON_LOCK, checked=s.logout_on_lock))
    return [SEPARATOR, *items] if items else []


def build_menu(s: Snapshot) -> tuple[Entry, ...]:
    common = [
        Entry(_("Create organization…"), Action.CREATE_ORG),
        Entry(_("Join organization…"), Action.JOIN_ORG),
    ]
    views = s.views()
    items: list[Entry] = []
    if views:
        protection = {d.key: d.protection for d in s.devices}
        for v in views:
            items += _session_entries(v, protection.get(v.key))
        items += common
        # The devices not logged in yet: logging in keeps the others online.
        logged_in = {v.key for v in views} | {v.identity.device_id for v in views}
        others = tuple(d for d in s.devices if not {d.key, d.device_id} & logged_in)
        if others:
            items += [SEPARATOR, *_login_entries(others, s.devices)]
    else:
        recover = Entry(_("Import a recovery file…"), Action.IMPORT_RECOVERY)
        items += [*common, recover, SEPARATOR, *_login_entries(s.devices, s.devices)]
    if s.demo_server:
        items += [SEPARATOR, Entry(_("Demo server: {server}").format(server=s.demo_server), enabled=False)]
    items += _settings_entries(s)
    items += [SEPARATOR, Entry(_("Quit"), Action.QUIT)]
    return tuple(items)


def flatten(entries: Iterable[Entry]) -> Iterator[Entry]:
    """Every entry, submenus expanded in place (what the fallback window shows)."""
    for e in entries:
        if e.submenu:
            yield from flatten(e.submenu)
        else:
            yield e


def selectable(entries: Iterable[Entry]) -> list[Entry]:
    """The top-level entries keyboard navigation stops on, in order.

    GTK skips separators and disabled items on Down: the n-th entry here is
    the one ``n`` presses of Down select.
    """
    return [e for e in entries if not e.separator and e.enabled]


def to_json(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    return [e.to_json() for e in entries]
