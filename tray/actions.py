"""What each menu action does: one row per :class:`~.menu.Action`, the
room (module) that does it and its argument (the entry's ``arg``: a device
key, a recovery file, a greet target).  The shell's main loop runs them
through :meth:`~.controller.Controller.perform`; they return at once (the
slow parts run in worker threads)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import health, logins, openers, startup, terms
from .menu import Action
from .threads import in_thread

if TYPE_CHECKING:
    from .controller import Controller

__all__ = ["ACTIONS"]

ACTIONS: dict[Action, Callable[[Controller, str | None], None]] = {
    Action.CREATE_ORG: lambda c, arg: openers.open_create(c),
    Action.JOIN_ORG: lambda c, arg: openers.open_join(c),
    Action.LOGIN: lambda c, arg: openers.login(c, arg),
    Action.LOGOUT: lambda c, arg: logins.logout(c, arg),
    Action.CHECK: lambda c, arg: health.check_connection(c, force=True, key=arg),
    Action.INVITE_USER: lambda c, arg: openers.open_invite(c, "user", arg),
    Action.INVITE_DEVICE: lambda c, arg: openers.open_invite(c, "device", arg),
    Action.INVITATIONS: lambda c, arg: openers.open_invitations(c, arg),
    Action.GREET: lambda c, arg: openers.greet_from_menu(c, arg or ""),
    Action.CREATE_RECOVERY: lambda c, arg: openers.open_recovery(c, arg),
    Action.IMPORT_RECOVERY: lambda c, arg: openers.open_import_recovery(c, arg),
    Action.CHANGE_PASSWORD: lambda c, arg: openers.open_change_auth(c, arg, "password"),
    Action.USE_PASSWORD: lambda c, arg: openers.open_change_auth(c, arg, "password"),
    Action.USE_KEYRING: lambda c, arg: openers.open_change_auth(c, arg, "keyring"),
    Action.MEMBERS: lambda c, arg: openers.open_members(c, arg),
    Action.REMOVE_DEVICE: lambda c, arg: logins.remove_device(c, arg),
    Action.REVIEW_TOS: lambda c, arg: terms.review_terms(c, arg),
    Action.ACCEPT_TOS: lambda c, arg: terms.accept_terms(c, arg),
    Action.TOGGLE_AUTOSTART: lambda c, arg: in_thread(startup.toggle_autostart, "autostart", c),
    Action.TOGGLE_LOGIN_DIALOG: lambda c, arg: in_thread(startup.toggle_login_dialog, "settings", c),
    Action.TOGGLE_LOGOUT_ON_LOCK: lambda c, arg: in_thread(startup.toggle_logout_on_lock, "settings", c),
    Action.QUIT: lambda c, arg: c.quit(),
}
