"""The logged-in devices: one :class:`SessionHolder` per device, kept by
:class:`Sessions` in the order they were logged in to.  No GUI import, no
thread of its own.

A holder is everything the tray knows about one logged-in device: its core
session, its state machine (:mod:`.state`), why it is offline, its event
stream and invitation tracker (:class:`~.live.LiveSession`), whether a check
is in flight.  It is the only place that calls the server about that
device's invitations (the event stream's lists included).  Results of work
started for a holder (a ping, a stream state)
name the holder they are about: once it is closed (logged out, or replaced
by a new login to the same device) they change nothing.

Invariants: at most one holder per device file (``key``); ``current`` is
the most recently used holder (the one ``status``'s top-level fields and
actions without a device describe); the icon's state is
:func:`~.state.most_urgent` of the holders' states.  :class:`Sessions` is
not thread-safe: the controller holds its lock around every call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..core.errors import (
    ClockOutOfSyncError,
    IncompatibleServerError,
    OrganizationExpiredError,
    OrganizationNotFoundError,
    ParsecTrayError,
    ServerUnavailableError,
    ServerUnreachableError,
    TosNotAcceptedError,
    UserFrozenError,
    UserRevokedError,
)
from .i18n import N_, _
from .state import (
    Event,
    Identity,
    IllegalTransition,
    Refusal,
    SessionView,
    State,
    StateMachine,
    most_urgent,
)

if TYPE_CHECKING:
    from .coalesce import Intent
    from .live import LiveSession

__all__ = ["SessionHolder", "Sessions", "about_offset", "refusal_of", "session_key"]

log = logging.getLogger(__name__)

# Which refusal each of core's errors is (first match wins).
_REFUSAL_OF: tuple[tuple[type[ParsecTrayError], Refusal], ...] = (
    (UserRevokedError, Refusal.REVOKED),
    (UserFrozenError, Refusal.FROZEN),
    (OrganizationExpiredError, Refusal.EXPIRED),
    (OrganizationNotFoundError, Refusal.NOT_FOUND),
    (TosNotAcceptedError, Refusal.TOS),
    (ClockOutOfSyncError, Refusal.CLOCK),
    (IncompatibleServerError, Refusal.INCOMPATIBLE),
)


# The sentences' parts, with named placeholders (translated where used).
_OFFSET_UNKNOWN = N_("by more than five minutes")
_OFFSET_ABOUT = N_("by about {duration}")
_API_VERSIONS = N_("this app speaks API {mine}, the server {theirs}")
_API_OTHER = N_("another version")


def about_offset(seconds: float | None) -> str:
    """How far off the clock is, as the refusal texts say it ("by about 7 minutes")."""
    if seconds is None:
        return _(_OFFSET_UNKNOWN)
    from ..core import offset_duration  # the units core's own clock sentence uses

    return _(_OFFSET_ABOUT).format(duration=offset_duration(seconds))


def refusal_of(exc: BaseException) -> tuple[Refusal, str] | None:
    """The refusal ``exc`` says, and its detail; None: not one of them."""
    refusal = next((r for cls, r in _REFUSAL_OF if isinstance(exc, cls)), None)
    if refusal is None:
        return None
    if isinstance(exc, ClockOutOfSyncError):
        return refusal, about_offset(exc.offset_seconds)
    if isinstance(exc, IncompatibleServerError):
        theirs = exc.server_versions or _(_API_OTHER)
        return refusal, _(_API_VERSIONS).format(mine=exc.client_versions, theirs=theirs)
    return refusal, ""


def session_key(info: Any, summary: dict[str, str]) -> str:
    """The device file a session was opened from (its key everywhere in the
    tray); stand-ins without a file are told apart by their device id."""
    key = str(getattr(info, "device_file", "") or getattr(info, "key", ""))
    return key or f"device:{summary['device_id']}"


class SessionHolder:
    """One logged-in device (see the module header)."""

    def __init__(self, key: str, session: Any, identity: Identity, *, offline_reason: str | None) -> None:
        self.key = key
        self.session = session
        self.identity = identity
        self.machine = StateMachine()
        self.reason = offline_reason
        self.live: LiveSession | None = None
        self.checking = False
        self.last_check = time.monotonic()
        self.closed = False
        # Why the server refuses the device (see :data:`~.state.REFUSALS`);
        # the refusal last notified (one notification, not one per retry);
        # the slow retry's timer and how many retries it made.
        self.refusal: Refusal | None = None
        self.refusal_detail = ""
        self.notified_refusal: Refusal | None = None
        self.retry_timer: Any = None
        self.retries = 0
        # The terms of service the person may accept (``tos_get``'s, exact).
        self.terms: Any = None
        # Whether only this device can open the organization (no recovery
        # file, no other device): None until checked.
        self.at_risk: bool | None = None
        # Called with an error of a command reply that is a refusal.
        self.on_refusal: Callable[[ParsecTrayError], None] | None = None
        # The organization's configuration as the last connection of the
        # event stream said it (ORGANIZATION_CONFIG): kept across the
        # stream's restarts; None until a stream connected once.
        self._config: Any = None

    @property
    def org_config(self) -> Any:
        """The last ORGANIZATION_CONFIG of this session (None: not known yet)."""
        live = self.live
        return live.config if live is not None and live.config is not None else self._config

    @property
    def outsider_allowed(self) -> bool:
        """Whether the organization accepts External users (True until known:
        the server checks anyway)."""
        config = self.org_config
        return config is None or bool(config.user_profile_outsider_allowed)

    @property
    def active_users_limit(self) -> int | None:
        config = self.org_config
        return None if config is None else config.active_users_limit

    @property
    def state(self) -> State:
        return self.machine.state

    def fire(self, event: Event) -> bool:
        """Apply ``event``; False (and nothing changed) when it is illegal
        or the holder is closed."""
        if self.closed:
            return False
        try:
            self.machine.handle(event)
        except IllegalTransition as exc:
            log.debug("ignored: %s", exc)
            return False
        return True

    # -- the server (worker threads: each call is a network round trip) ----------------

    def ping(self) -> tuple[Event, str | None, ParsecTrayError | None]:
        """An authenticated request: the event it makes, why (offline), and
        the refusal's error."""
        try:
            self.session.ping()
        except (ServerUnreachableError, ServerUnavailableError) as exc:
            return Event.UNREACHABLE, str(exc), None
        except ParsecTrayError as exc:
            return Event.REFUSED, str(exc), exc
        except Exception as exc:
            log.exception("ping failed")
            return Event.UNREACHABLE, _("unexpected {error}").format(error=type(exc).__name__), None
        return Event.REACHED, None, None

    def _guarded(self, fn: Callable[[], Any]) -> Any:
        """A command: a refusal in its reply is this session's state too."""
        try:
            return fn()
        except ParsecTrayError as exc:
            on_refusal = self.on_refusal
            if on_refusal is not None and refusal_of(exc) is not None:
                on_refusal(exc)
            raise

    @property
    def stream_error(self) -> ParsecTrayError | None:
        """Why the event stream stopped for good (a refusal), if it did."""
        live = self.live
        stream = live.stream if live is not None else None
        error = getattr(stream, "error", None)
        return error if isinstance(error, ParsecTrayError) else None

    def start_live(
        self,
        *,
        on_state: Callable[[str, str | None], None],
        on_intents: Callable[[list[Intent]], None],
        on_change: Callable[[], None],
        stream_options: dict[str, Any],
        on_certificate: Callable[[], None] | None = None,
    ) -> LiveSession | None:
        """Open the event stream (a real session only); None when it cannot."""
        from .live import LiveSession

        if getattr(self.session, "device", None) is None or self.closed:
            return None  # a stand-in (tests)
        live = LiveSession(
            self.session,
            on_state=on_state,
            on_intents=on_intents,
            on_change=on_change,
            stream_options=stream_options,
            invite_list=self.invite_list,
            on_certificate=on_certificate,
        )
        self.live = live
        try:
            live.start()
        except Exception:
            log.exception("the event stream could not start")
            self.live = None
            return None
        return live

    def _require_session(self) -> Any:
        if self.closed or getattr(self.session, "device", None) is None:
            raise ParsecTrayError(_("You are not logged in any more."))
        return self.session

    def invite_list(self) -> list[Any]:
        """Every invitation of the organization, as the server lists them."""
        from ..core import invite_list

        session = self._require_session()
        return list(self._guarded(lambda: invite_list(session)))

    def invite(self, email: str | None, *, send_email: bool) -> Any:
        """A new invitation: of ``email`` as a user, or (None) of a new
        device of this user."""
        from ..core import invite_new_device, invite_new_user

        session = self._require_session()
        if email is not None:
            return self._guarded(lambda: invite_new_user(session, email, send_email=send_email))
        return self._guarded(lambda: invite_new_device(session, send_email=send_email))

    def pending_invitations(self) -> list[dict[str, Any]]:
        """The pending invitations, as the Pending invitations dialog shows
        them; what the list teaches is passed to the invitation tracker."""
        items = self.invite_list()
        live = self.live
        if live is not None:
            live.learn(items)
        d = self.session.device
        rows = []
        for it in items:
            if not it.is_pending:
                continue
            email = getattr(it, "claimer_email", None)
            rows.append(
                {
                    "token": bytes(it.token).hex(),
                    "type": it.type,
                    "label": str(email)
                    if email
                    else (_("A new device") if it.type == "DEVICE" else it.type.title()),
                    "created_by": it.created_by.describe(),
                    "created_on": str(it.created_on),
                    "link": it.link(d.server, d.organization_id).to_url(),
                }
            )
        return rows

    def cancel_invitation(self, token: str) -> None:
        """Cancel ``token`` (hex); this app's own cancel is not announced."""
        from ..core import invite_cancel

        session = self._require_session()
        live = self.live
        if live is not None:
            live.cancelling(token)
        try:
            self._guarded(lambda: invite_cancel(session, token))
        except ParsecTrayError:
            if live is not None:
                live.cancel_failed(token)
            raise

    def stop_retry(self) -> None:
        timer, self.retry_timer = self.retry_timer, None
        if timer is not None:
            timer.cancel()

    def stop_live(self, timeout: float = 5.0) -> None:
        """Stop the event stream (it is restarted by a retry)."""
        self._config = self.org_config  # the stream's last one outlives it
        live, self.live = self.live, None
        if live is not None:
            try:
                live.stop(timeout)
            except Exception:
                log.debug("stopping the event stream failed", exc_info=True)

    def active_users(self) -> int:
        """How many users of the organization are not revoked (a network
        round trip: call it off the menu's thread)."""
        from ..core import list_members

        session = self._require_session()
        return sum(1 for m in self._guarded(lambda: list_members(session)) if not m.is_revoked)

    def view(self) -> SessionView:
        live = self.live
        config = self.org_config
        return SessionView(
            key=self.key,
            identity=self.identity,
            state=self.machine.state,
            reason=self.reason,
            live=live is not None,
            waiting=live.waiting() if live is not None else (),
            waiting_tokens=tuple(t for t, _ in live.waiting_entries()) if live is not None else (),
            stream=live.stream_state if live is not None else None,
            refusal=self.refusal,
            refusal_detail=self.refusal_detail,
            retries=self.retries,
            at_risk=bool(self.at_risk),
            outsider_allowed=None if config is None else bool(config.user_profile_outsider_allowed),
            active_users_limit=None if config is None else config.active_users_limit,
        )

    def close(self, timeout: float = 5.0) -> None:
        """Stop the event stream and close the session (blocking: call it
        off the menu's thread).  Errors are logged: logging out never fails."""
        self.closed = True
        self.stop_retry()
        self.stop_live(timeout)
        try:
            self.session.close()
        except Exception:
            log.debug("closing the session failed", exc_info=True)


class Sessions:
    """The holders, in login order, and which one was used last."""

    def __init__(self) -> None:
        self._by_key: dict[str, SessionHolder] = {}
        self._current: str | None = None

    def __iter__(self) -> Iterator[SessionHolder]:
        return iter(list(self._by_key.values()))

    def __len__(self) -> int:
        return len(self._by_key)

    def keys(self) -> list[str]:
        return list(self._by_key)

    def add(self, holder: SessionHolder) -> SessionHolder | None:
        """Hold ``holder`` (now the current one); returns the holder it
        replaces (the same device logged in to again), closed-marked."""
        old = self._by_key.pop(holder.key, None)
        if old is not None:
            old.closed = True
        self._by_key[holder.key] = holder
        self._current = holder.key
        return old

    def remove(self, key: str) -> SessionHolder | None:
        holder = self._by_key.pop(key, None)
        if holder is not None:
            holder.closed = True
        if self._current == key:
            self._current = next(reversed(self._by_key), None) if self._by_key else None
        return holder

    def pop_all(self) -> list[SessionHolder]:
        holders = list(self._by_key.values())
        self._by_key.clear()
        self._current = None
        for h in holders:
            h.closed = True
        return holders

    def get(self, key: str | None) -> SessionHolder | None:
        """The holder of device ``key``; without one, the current holder."""
        return self._by_key.get(key) if key is not None else self.current

    def touch(self, key: str) -> None:
        """``key`` was used (an action about it): it becomes the current one."""
        if key in self._by_key:
            self._current = key

    def for_org(self, organization_id: str | None) -> SessionHolder | None:
        """The holder a notification about ``organization_id`` is about."""
        matching = [h for h in self._by_key.values() if h.identity.organization_id == organization_id]
        current = self.current
        if current is not None and (current in matching or not matching):
            return current
        return matching[-1] if matching else None

    @property
    def current(self) -> SessionHolder | None:
        return self._by_key.get(self._current) if self._current is not None else None

    def icon_state(self) -> State:
        return most_urgent(h.state for h in self._by_key.values())

    def views(self) -> tuple[SessionView, ...]:
        return tuple(h.view() for h in self._by_key.values())
