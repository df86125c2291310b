"""Start-up at login: the quick login of ``--autostart``, and the two
settings of the menu about it (start at login, ask for the password at once).

Every device that was logged in when the app last quit is logged in again
(the last one used last, so that it is the current session), without a
prompt when the OS keyring holds its key; a password device gets a "Click
to log in" notification, or its Log in dialog (at once if the person chose
so, or when nothing can be clicked).  Runs in a worker thread.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..core import Protection
from ..core import errors as E
from . import logins, openers
from .i18n import N_, _

if TYPE_CHECKING:
    from ..core import DeviceInfo
    from .controller import Controller

__all__ = [
    "log_in_again",
    "menu_login",
    "quick_login_all",
    "read_autostart",
    "screen_lock_changed",
    "stop_screen_lock",
    "toggle_autostart",
    "toggle_login_dialog",
    "toggle_logout_on_lock",
    "watch_screen_lock",
]

log = logging.getLogger(__name__)


def quick_login_all(host: Controller) -> None:
    """Started at login: every device that was logged in when the app
    last quit (the last one used becomes the current session again),
    without a prompt when the OS keyring holds its key; else a "Click to
    log in" notification (or the dialog, as the person chose)."""
    from . import settings

    try:
        devices = host.lister.refresh_now()
    except Exception as exc:
        log.warning("listing the devices failed: %s", exc)
        return
    prefs = settings.load()
    last = prefs.get("last_device")
    # None logged in at the last quit (or settings older than several
    # sessions): the last device used, as before.
    keys = [k for k in prefs.get("logged_in") or [last] if isinstance(k, str)]
    if last in keys:  # last in, so that it is the current one
        keys = [k for k in keys if k != last] + [last]
    infos = [d for k in keys for d in devices if d.key == k]
    if not infos and len(devices) == 1:
        infos = [devices[0]]
    log_in_again(host, infos, first_dialog=True)


def log_in_again(host: Controller, infos: list[DeviceInfo], *, first_dialog: bool) -> None:
    """``infos``' devices: the keyring ones without a prompt, the others
    with a "Click to log in" notification (the first one's dialog, with
    ``first_dialog``, when the person chose so or nothing can be clicked)."""
    prompts = [info for info in infos if info.protection != Protection.KEYRING]
    for info in infos:
        if info.protection == Protection.KEYRING:
            _quick_login(host, info)
    for i, info in enumerate(prompts):
        _offer_login(host, info, dialog=first_dialog and i == 0)


def _keyring_session(info: DeviceInfo) -> Any:
    from ..core import find_device, login

    return login(find_device(info.key), password=None, allow_offline=True, allow_pending_tos=True)


# A keyring device the menu could not open (translated where used).
KEYRING_FAILED_TITLE = N_("Log in to {org}")
KEYRING_FAILED = N_("The OS keyring did not open your device of {org}: {why}")
KEYRING_FAILED_TWIN = N_(
    "The OS keyring did not open your device of {org}: {why} Click to log in with the password of "
    "your device {label} instead."
)


def menu_login(host: Controller, info: DeviceInfo) -> None:
    """"Log in to …" of a keyring device: no dialog.  When the keyring
    cannot open it, a notification says why, and offers the password of
    another device of the same person where there is one."""
    try:
        session = _keyring_session(info)
    except E.KeyringError as exc:
        log.warning("menu login: the OS keyring did not open %s: %s", info.key, exc)
        twin = next(
            (
                d
                for d in host.snapshot().devices
                if d.protection == Protection.PASSWORD
                and (d.organization_id, d.user_id) == (info.organization_id, info.user_id)
            ),
            None,
        )
        org = info.organization_id
        if twin is None:
            title = _(KEYRING_FAILED_TITLE).format(org=org)
            host.notices.say(title, _(KEYRING_FAILED).format(org=org, why=exc))
        else:
            host.notices.say(
                _(KEYRING_FAILED_TITLE).format(org=org),
                _(KEYRING_FAILED_TWIN).format(org=org, why=exc, label=twin.device_label or twin.device_id[:8]),
                on_click=lambda: openers.open_login(host, twin.key),
            )
        return
    except E.ParsecTrayError as exc:
        openers.open_login(host, info.key, error=str(exc))
        return
    logins.adopt(host, session, info)


def _quick_login(host: Controller, info: DeviceInfo) -> None:
    """A keyring device: logged in without a prompt, or its Log in dialog
    saying why not."""
    try:
        session = _keyring_session(info)
    except E.KeyringError as exc:
        log.warning("quick login: the OS keyring did not open %s: %s", info.key, exc)
        openers.open_login(
            host,
            info.key,
            # The keyring error says what to do (unlock it, or use a password device).
            error=_("Parsec Tray could not open this device without a prompt: {error}").format(error=exc),
        )
        return
    except E.ParsecTrayError as exc:
        log.warning("quick login to %s failed: %s", info.key, exc)
        openers.open_login(host, info.key, error=str(exc))
        return
    logins.adopt(host, session, info)


def _offer_login(host: Controller, info: DeviceInfo, *, dialog: bool) -> None:
    """A password device: the Log in dialog at once if the person chose
    so (one dialog at a time: ``dialog`` is False for the others), else a
    "Click to log in" notification (the dialog when nothing is clickable)."""
    from . import settings

    if settings.load().get("login_dialog_at_start") and dialog:
        openers.open_login(host, info.key)
        return
    from .notifications import get_notifier

    notifier = get_notifier()
    body = _("Click to log in to {org} as {who}.").format(org=info.organization_id, who=info.user_name or info.email)
    delivered = notifier.HAS_ACTIONS and notifier.notify(
        "Parsec Tray", body, on_click=lambda: openers.open_login(host, info.key)
    )
    if delivered:
        host.notices.notified("Parsec Tray", body, delivered=True)
    elif dialog:  # nothing to click on: the dialog itself
        openers.open_login(host, info.key)


# -- log out when the screen locks ------------------------------------------------------------------


def watch_screen_lock(host: Controller) -> None:
    """Where this desktop says when the screen locks: the menu's entry, and
    the monitor when the person turned the option on (a worker thread)."""
    from . import settings
    from .screenlock import make_screenlock

    if not make_screenlock().SUPPORTED:
        return
    host.logout_on_lock = bool(settings.load().get("logout_on_lock", False))
    if host.logout_on_lock:
        _start_screen_lock(host)
    host.changed()


def _start_screen_lock(host: Controller) -> None:
    from .screenlock import make_screenlock

    monitor = make_screenlock()
    if not monitor.start(lambda change: screen_lock_changed(host, change)):
        log.warning("log out when the screen locks: %s", monitor.reason)
    old, host.screenlock = host.screenlock, monitor
    if old is not None:
        old.stop()


def stop_screen_lock(host: Controller) -> None:
    monitor, host.screenlock = host.screenlock, None
    if monitor is not None:
        monitor.stop()


def toggle_logout_on_lock(host: Controller) -> None:
    from . import settings

    on = not host.logout_on_lock
    settings.update(logout_on_lock=on)
    host.logout_on_lock = on
    if on:
        _start_screen_lock(host)
    else:
        stop_screen_lock(host)
    host.changed()


def screen_lock_changed(host: Controller, change: str) -> None:
    """The monitor's thread: locked, log out of every session; unlocked,
    log in again to them (keyring devices at once, "Click to log in" for
    the others)."""
    from .screenlock import LOCKED

    if change == LOCKED:
        logins.lock_out(host)
        return
    keys = logins.take_locked_out(host)
    if not keys:
        return
    try:
        devices = host.lister.refresh_now()
    except Exception as exc:
        log.warning("listing the devices failed: %s", exc)
        return
    log_in_again(host, [d for k in keys for d in devices if d.key == k], first_dialog=False)


# -- the settings (worker threads, but read_autostart: it is cheap) -------------------------------


def read_autostart(host: Controller) -> None:
    """What the "Start at login" entries show, as the system has it now
    (nothing in the demo: a demo is not started at login)."""
    if host.options.demo_server:
        host.autostart_enabled = None
        return
    try:
        from .autostart import get_autostart

        backend = get_autostart()
        enabled = backend.is_enabled() if backend.SUPPORTED else None
    except Exception:
        log.debug("reading start at login failed", exc_info=True)
        enabled = None
    from . import settings

    host.autostart_enabled = enabled
    host.login_dialog_at_start = bool(settings.load().get("login_dialog_at_start", False))


def toggle_autostart(host: Controller) -> None:
    from .autostart import default_command, get_autostart

    backend = get_autostart()
    try:
        if backend.is_enabled():
            backend.disable()
        else:
            backend.enable(default_command())
    except E.AutostartError as exc:
        host.message(_("Start at login"), str(exc))
    read_autostart(host)
    host.changed()


def toggle_login_dialog(host: Controller) -> None:
    from . import settings

    settings.update(login_dialog_at_start=not host.login_dialog_at_start)
    read_autostart(host)
    host.changed()
