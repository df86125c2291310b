"""Logging in and out: a session adopted beside the others (its state, its
event stream, the settings' list of the devices logged in, what
``--autostart`` logs in to again), a log out, the screen lock's log out of
every session, a revoked device removed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..core import errors as E
from . import health
from .i18n import _
from .sessions import SessionHolder, session_key
from .state import Event, Identity, Refusal
from .threads import in_thread

if TYPE_CHECKING:
    from .coalesce import Intent
    from .controller import Controller

__all__ = [
    "adopt",
    "archive",
    "lock_out",
    "logout",
    "on_intents",
    "remember_sessions",
    "remove_device",
    "start_live",
    "take_locked_out",
]

log = logging.getLogger(__name__)


def adopt(host: Controller, session: Any, info: Any) -> None:
    """Hold ``session`` (already pinged by core, or unlocked offline with
    ``offline_error`` set) beside the other logged-in devices, and open
    its event stream.  A new login to a device already logged in
    replaces its session."""
    summary = session.summary()
    profile = getattr(getattr(getattr(session, "device", None), "initial_profile", None), "value", "")
    ident = Identity(
        organization_id=summary["organization_id"],
        user_id=summary["user_id"],
        device_id=summary["device_id"],
        server_url=summary["server_url"],
        user_name=info.user_name,
        email=info.email,
        device_label=info.device_label,
        profile=str(profile or ""),
    )
    offline = getattr(session, "offline_error", None)
    reason = str(offline) if offline is not None else None
    holder = SessionHolder(session_key(info, summary), session, ident, offline_reason=reason)
    holder.on_refusal = lambda exc: health.refused(host, holder, exc)
    with host.lock:
        if host.quitting:
            session.close()
            return
        old = host.sessions.add(holder)
    host.fire(holder, Event.UNLOCKED)
    # core's login and bootstrap end with an authenticated ping.
    host.fire(holder, Event.UNREACHABLE if offline is not None else Event.REACHED)
    if old is not None:
        in_thread(old.close, "logout")
    if offline is None and getattr(session, "device", None) is not None:
        in_thread(health.check_risk, "at-risk", host, holder)
    tos_error = getattr(session, "tos_error", None)
    if isinstance(tos_error, E.ParsecTrayError):
        health.refused(host, holder, tos_error)  # the stream starts once they are accepted
    else:
        start_live(host, holder)
    remember_sessions(host, last=holder.key)


def start_live(host: Controller, holder: SessionHolder) -> None:
    options: dict[str, Any] = {}
    if host.options.reconnect_max is not None:
        options["backoff_max"] = host.options.reconnect_max
    with host.lock:
        if host.quitting:
            return
        live = holder.start_live(
            on_state=lambda state, message: health.on_stream_state(host, holder, state, message),
            on_intents=lambda intents: on_intents(host, holder, intents),
            on_change=host.changed,
            stream_options=options,
            on_certificate=lambda: health.check_risk(host, holder),
        )
    if live is not None:
        host.changed()


def remember_sessions(host: Controller, last: str | None = None) -> None:
    """The settings say which devices are logged in (what ``--autostart``
    logs in to again); quitting leaves them as they are."""
    from . import settings

    with host.settings_lock:
        with host.lock:
            keys = [k for k in host.sessions.keys() if not k.startswith("device:")]
        changes: dict[str, Any] = {"logged_in": keys}
        if last is not None and not last.startswith("device:"):
            changes["last_device"] = last
        settings.update(**changes)


def logout(host: Controller, key: str | None = None) -> None:
    """Log out of device ``key`` (the current one without a key); the
    other sessions stay as they are."""
    with host.lock:
        holder = host.sessions.get(key)
        if holder is None:
            return
        host.sessions.remove(holder.key)
    host.changed()
    in_thread(holder.close, "logout")
    remember_sessions(host)


def lock_out(host: Controller) -> None:
    """The screen locked: log out of every session; the settings still
    name them (``--autostart``), and the unlock logs in to them again."""
    with host.lock:
        if host.quitting:
            return
        host.locked_out = [k for k in host.sessions.keys() if not k.startswith("device:")]
        holders = host.sessions.pop_all()
    host.changed()
    for holder in holders:
        in_thread(holder.close, "logout")
    log.info("screen locked: logged out of %d session(s)", len(holders))


def take_locked_out(host: Controller) -> list[str]:
    """The devices the last lock logged out of (once)."""
    with host.lock:
        keys, host.locked_out = host.locked_out, []
        return [] if host.quitting else keys


def remove_device(host: Controller, key: str | None) -> None:
    """A revoked device, once the person chose to: logged out, its file
    archived the way libparsec does (``<name>.keys.archived``)."""
    with host.lock:
        holder = host.sessions.get(key)
        if holder is None or holder.refusal is not Refusal.REVOKED:
            return
        path = getattr(holder.session, "device_file", None) or holder.key
    logout(host, holder.key)
    in_thread(archive, "archive", host, str(path))


def archive(host: Controller, path: str) -> None:
    from pathlib import Path

    from ..core import archive_device_file

    try:
        archive_device_file(Path(path))
    except E.ParsecTrayError as exc:
        host.message(_("Remove this device"), str(exc))
    host.lister.refresh(force=True)


def on_intents(host: Controller, holder: SessionHolder, intents: list[Intent]) -> None:
    with host.lock:
        if holder.closed or host.quitting:
            return
    host.notices.post(intents)
