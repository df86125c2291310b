"""Each logged-in session's health: what its event stream's state says,
the pings (on menu open or when asked), the server's refusals (each its own
state, one notification, a slow retry where it may end by itself, no
knocking otherwise) and the at-risk check (only this device can open its
organization).

Functions of the controller's room (``host``), called from the stream's and
the workers' threads; the controller's lock guards every holder's fields.
Results about a holder logged out meanwhile change nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from ..core import errors as E
from . import logins, terms
from .i18n import _
from .sessions import refusal_of
from .state import AT_RISK_BODY, AT_RISK_TITLE, REFUSALS, Event, Refusal, Retry, State
from .threads import in_thread

if TYPE_CHECKING:
    from .controller import Controller
    from .sessions import SessionHolder

__all__ = [
    "check_connection",
    "check_risk",
    "on_stream_state",
    "ping",
    "reached_or_not",
    "recheck_risk",
    "refused",
    "retry",
    "schedule_retry",
]

log = logging.getLogger(__name__)


def on_stream_state(host: Controller, holder: SessionHolder, state: str, message: str | None) -> None:
    """Quiet on purpose: the icon and the menu change, nothing pops up."""
    event = {"online": Event.REACHED, "offline": Event.UNREACHABLE, "error": Event.REFUSED}.get(state)
    if event is None:
        return
    if event is Event.REFUSED:
        refused(host, holder, holder.stream_error, message)
        return
    reached_or_not(host, holder, event, message)


def reached_or_not(host: Controller, holder: SessionHolder, event: Event, reason: str | None) -> None:
    """The server answered (``REACHED``: a refusal is over) or could not
    be reached (what it would say is unknown again)."""
    with host.lock:
        if holder.closed:
            return
        holder.reason = reason if event is not Event.REACHED else None
        holder.last_check = time.monotonic()
        holder.refusal, holder.refusal_detail = None, ""
        if event is Event.REACHED:
            holder.notified_refusal = None
            holder.retries = 0
            holder.stop_retry()
    if not host.fire(holder, event):
        host.changed()  # same state, new reason


def check_connection(host: Controller, *, force: bool, key: str | None = None) -> None:
    """Ping the server of device ``key`` (every session without a key)."""
    with host.lock:
        holders = list(host.sessions) if key is None else [h for h in [host.sessions.get(key)] if h]
    for holder in holders:
        with host.lock:
            state = holder.state
            if holder.closed or holder.checking:
                continue
            refused = holder.refusal is not None or holder.stream_error is not None
            if refused and not force:
                continue  # no knocking: the slow retry, or the person, asks again
            if refused and holder.refusal is not Refusal.REVOKED:
                holder.stop_retry()
                in_thread(retry, "retry", host, holder, True)
                continue
            recent = time.monotonic() - holder.last_check < host.options.check_interval
            if not force and (holder.live is not None or (state is State.ONLINE and recent)):
                continue  # checked a moment ago, or the event stream watches the keepalive
            holder.checking = True
        if force and state in (State.OFFLINE, State.NEEDS_ATTENTION):
            # Asked for: show "connecting" while we try.  A check on menu
            # open stays silent until its result, so that the menu being
            # shown does not change under the pointer.
            host.fire(holder, Event.RETRY)
        in_thread(ping, "ping", host, holder)


def ping(host: Controller, holder: SessionHolder) -> None:
    event, reason, exc = holder.ping()
    with host.lock:
        holder.checking = False
    if event is Event.REFUSED:
        refused(host, holder, exc, reason)
    else:
        reached_or_not(host, holder, event, reason)


def check_risk(host: Controller, holder: SessionHolder) -> None:
    """Whether only ``holder``'s device can open its organization (after
    login, and on every new certificate): the icon and the menu say so;
    one notification per device, not repeated at every start (the
    settings remember it until the risk is gone)."""
    from ..core import session_security_warnings
    from . import settings

    try:
        at_risk = session_security_warnings(holder.session).at_risk
    except E.ParsecTrayError as exc:
        log.info("checking whether %s is at risk failed: %s", holder.key, exc)
        return
    with host.lock:
        if holder.closed:
            return
        before, holder.at_risk = holder.at_risk, at_risk
    if before != at_risk:
        host.changed()
    notify = False
    with host.settings_lock:
        told = [k for k in settings.load().get("at_risk_notified") or [] if isinstance(k, str)]
        if at_risk and holder.key not in told:
            settings.update(at_risk_notified=[*told, holder.key])
            notify = True
        elif not at_risk and holder.key in told:
            settings.update(at_risk_notified=[k for k in told if k != holder.key])
    if notify:
        org = holder.identity.organization_id
        host.notices.say(_(AT_RISK_TITLE).format(org=org), _(AT_RISK_BODY).format(org=org))


def recheck_risk(host: Controller, key: str) -> None:
    """Whether session ``key`` is still at risk (a recovery file was made)."""
    with host.lock:
        holder = host.sessions.get(key)
    if holder is not None:
        check_risk(host, holder)


def refused(
    host: Controller, holder: SessionHolder, exc: E.ParsecTrayError | None, reason: str | None = None
) -> None:
    """The server refused ``holder``'s device (the event stream's
    handshake, or a command's reply): its state, one notification per
    refusal, and a slow retry where the refusal may end by itself."""
    found = refusal_of(exc) if exc is not None else None
    with host.lock:
        if holder.closed or host.quitting:
            return
        holder.last_check = time.monotonic()
        if found is None:
            holder.reason = reason or (str(exc) if exc is not None else None)
        else:
            holder.refusal, holder.refusal_detail = found
        view = holder.view()
        if found is not None:
            holder.reason = view.refusal_text()
        notify = found is not None and holder.notified_refusal is not found[0]
        if found is not None:
            holder.notified_refusal = found[0]
    if not host.fire(holder, Event.REFUSED):
        host.changed()
    if found is None:
        return
    refusal = found[0]
    if notify:
        on_click = (lambda: terms.review_terms(host, holder.key)) if refusal is Refusal.TOS else None
        host.notices.say(view.refusal_text("title"), view.refusal_text("body"), on_click=on_click)
    if refusal is Refusal.TOS:
        in_thread(terms.fetch_terms, "tos-get", host, holder)
    if REFUSALS[refusal].retry in (Retry.SLOW, Retry.ON_ACCEPT):
        schedule_retry(host, holder)


def schedule_retry(host: Controller, holder: SessionHolder) -> None:
    """The next slow retry (bounded: it waits at most ``refusal_retry_max``)."""
    with host.lock:
        if holder.closed or host.quitting:
            return
        delay = min(
            host.options.refusal_retry_max, host.options.refusal_retry * 2.0 ** min(holder.retries, 32)
        )
        holder.retries += 1
        holder.stop_retry()
        timer = threading.Timer(delay, retry, args=(host, holder))
        timer.daemon = True
        holder.retry_timer = timer
    log.info("%s refused (%s): next try in %.0f s", holder.key, holder.refusal, delay)
    timer.start()


def retry(host: Controller, holder: SessionHolder, shown: bool = False) -> None:
    """Knock once more: a new event stream (its handshake is what tells;
    a ping may pass on the server's cache), or a ping for a stand-in."""
    with host.lock:
        if holder.closed or host.quitting:
            return
        holder.retry_timer = None
    if shown:
        host.fire(holder, Event.RETRY)
    holder.stop_live(timeout=2.0)
    if getattr(holder.session, "device", None) is None:
        ping(host, holder)
        return
    logins.start_live(host, holder)
