"""The live session: the server's event stream turned into what the tray
shows (state, who is waiting) and into notifications.

Three parts, from pure to threaded:

- :class:`InvitationTracker` (no I/O, no threads, no clock): what this user
  knows about the organization's invitations, fed with server events and
  ``invite_list`` results; it answers the coalescer's intents
  (:mod:`.coalesce`) and says when it needs the list to understand an event.
- :class:`NotificationPump`: one thread, the :class:`~.coalesce.Coalescer`
  under one lock; it sleeps exactly until ``next_deadline()`` (not at all
  when nothing is held) and calls ``show`` outside the lock.
- :class:`LiveSession`: a :class:`~parsec_tray.core.event_stream.EventStream`
  for one session, wired to a tracker; network calls (``invite_list``) run
  in the stream's thread, so events are handled in order.

Rules (issue 4):

- GREETING_ATTEMPT_READY -> :class:`~.coalesce.Waiting` naming the claimer
  (the token is looked up in the known invitations; on a miss the list is
  read again);
- INVITATION PENDING for a token not seen before, created by another user
  -> :class:`~.coalesce.InvitationCreated`; a PENDING for a known pending
  token (a re-invite re-emits it) is nothing new;
- CANCELLED -> :class:`~.coalesce.InvitationCancelled`, except for tokens
  this app cancelled itself; FINISHED -> :class:`~.coalesce.InvitationCompleted`;
- the list is read after the first connection (a baseline: nothing is
  announced) and on every resync (missed events): what changed since is
  announced as if the events had arrived;
- going offline and back online is never a notification.

Tokens are hex strings everywhere here.  Importing this module imports no
part of core that needs the network (core is imported where it is used).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .coalesce import (
    Coalescer,
    Intent,
    InvitationCancelled,
    InvitationCompleted,
    InvitationCreated,
    Notification,
    Waiting,
)

__all__ = ["InvitationTracker", "Known", "LiveSession", "NotificationPump"]

log = logging.getLogger(__name__)

PENDING, CANCELLED, FINISHED = "PENDING", "CANCELLED", "FINISHED"
_KINDS = {"USER": "user", "DEVICE": "device", "SHAMIR_RECOVERY": "shamir_recovery"}
# A claimer re-polls every few seconds while waiting: one who has not been
# heard of for this long is no longer listed as waiting.
WAITING_FRESH = 60.0


@dataclass
class Known:
    """One invitation as this app knows it.  ``status`` is ``None`` while
    it was only *learned* from a list read to understand an event: its
    status is then the one the events say."""

    kind: str  # user | device | shamir_recovery
    email: str | None
    mine: bool  # created by this user
    status: str | None


def _token_hex(token: Any) -> str:
    return bytes(token).hex()


def _known(item: Any, my_user_id: str) -> Known:
    created_by = getattr(item, "created_by", None)
    creator = getattr(created_by, "user_id", None)
    email = getattr(item, "claimer_email", None)
    return Known(
        kind=_KINDS.get(str(getattr(item, "type", "")), "user"),
        email=str(email) if email else None,
        mine=creator is not None and creator.hex == my_user_id,
        status=str(item.status),
    )


class InvitationTracker:
    """See the module header.  Not thread-safe: :class:`LiveSession` holds a
    lock around it."""

    def __init__(self, org: str, my_user_id: str) -> None:
        self.org = org
        self.my_user_id = my_user_id
        self.known: dict[str, Known] = {}
        self.loaded = False
        self.cancelled_here: set[str] = set()
        # token -> (label, last seen): people waiting to be greeted
        self.waiting: dict[str, tuple[str, float]] = {}

    # -- input: lists ---------------------------------------------------------------

    def resync(self, items: Iterable[Any]) -> list[Intent]:
        """A full ``invite_list``: the first one is a silent baseline; later
        ones announce what changed (the events we missed)."""
        first = not self.loaded
        self.loaded = True
        out: list[Intent] = []
        for item in items:
            token = _token_hex(item.token)
            new = _known(item, self.my_user_id)
            old = self.known.get(token)
            self.known[token] = new
            if first:
                continue
            before = old.status if old is not None else None
            out += self._transition(token, new, before, new.status)
        return out

    def learn(self, items: Iterable[Any]) -> None:
        """A list read to understand an event: adds the invitations not
        known yet (status unknown: the events will say); touches nothing
        else, so that events already on their way still count."""
        for item in items:
            token = _token_hex(item.token)
            if token not in self.known:
                k = _known(item, self.my_user_id)
                k.status = None
                self.known[token] = k

    def forget_cancel(self, token: str) -> None:
        self.cancelled_here.discard(token)

    # -- input: events ----------------------------------------------------------------

    def needs_list(self, event: Any) -> bool:
        """Whether ``event`` names an invitation this tracker does not know."""
        from ..core import GreetingAttemptReady, Invitation

        if isinstance(event, (Invitation, GreetingAttemptReady)):
            return _token_hex(event.token) not in self.known
        return False

    def event(self, event: Any, now: float) -> list[Intent]:
        """The intents for one server event (call :meth:`learn` first when
        :meth:`needs_list` says so)."""
        from ..core import GreetingAttemptCancelled, GreetingAttemptReady, Invitation

        if isinstance(event, Invitation):
            token = _token_hex(event.token)
            k = self.known.get(token)
            if k is None:  # still unknown after a list: say what we can
                k = Known(kind="user", email=None, mine=False, status=None)
                self.known[token] = k
            before, k.status = k.status, event.invitation_status
            return self._transition(token, k, before, k.status)
        if isinstance(event, GreetingAttemptReady):
            token = _token_hex(event.token)
            k = self.known.get(token)
            if k is not None and k.status in (CANCELLED, FINISHED):
                return []
            kind = k.kind if k is not None else "user"
            email = k.email if k is not None else None
            intent = Waiting(org=self.org, token=token, email=email, kind=kind)
            self.waiting[token] = (intent.label[:1].upper() + intent.label[1:] if not email else email, now)
            return [intent]
        if isinstance(event, GreetingAttemptCancelled):
            self.waiting.pop(_token_hex(event.token), None)
        return []

    def _transition(self, token: str, k: Known, before: str | None, after: str | None) -> list[Intent]:
        if before == after:
            return []
        def intent(cls: type[Intent]) -> Intent:
            return cls(org=self.org, token=token, email=k.email, kind=k.kind)

        if after == PENDING:
            return [] if (k.mine or before is not None) else [intent(InvitationCreated)]
        if after in (CANCELLED, FINISHED):
            self.waiting.pop(token, None)
        if after == CANCELLED:
            if token in self.cancelled_here:
                self.cancelled_here.discard(token)
                return []
            return [intent(InvitationCancelled)]
        if after == FINISHED:
            return [intent(InvitationCompleted)]
        return []

    # -- output ---------------------------------------------------------------------------

    def waiting_labels(self, now: float, fresh: float = WAITING_FRESH) -> tuple[str, ...]:
        """Who is waiting, heard of less than ``fresh`` seconds ago, oldest first."""
        return tuple(label for _, label in self.waiting_entries(now, fresh))

    def waiting_entries(self, now: float, fresh: float = WAITING_FRESH) -> tuple[tuple[str, str], ...]:
        """(token, label) of who is waiting, as :meth:`waiting_labels`."""
        alive = sorted((t, token, label) for token, (label, t) in self.waiting.items() if now - t < fresh)
        return tuple((token, label) for _, token, label in alive)


class NotificationPump:
    """See the module header.  ``show`` is called in the pump's thread, one
    notification at a time, in order; the thread starts with the first intent."""

    def __init__(
        self,
        show: Callable[[Notification], None],
        *,
        coalescer: Coalescer | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._show = show
        self._co = coalescer or Coalescer()
        self._clock = clock
        self._cond = threading.Condition()
        self._ready: list[Notification] = []
        self._thread: threading.Thread | None = None
        self._stopped = False

    def post(self, intents: Iterable[Intent]) -> None:
        with self._cond:
            if self._stopped:
                return
            for intent in intents:
                self._ready += self._co.feed(intent, self._clock())
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="notifications", daemon=True)
                self._thread.start()
            self._cond.notify()

    def wake(self) -> None:
        """Read the clock again now: its time jumped (a resume from sleep,
        a test's clock), so a held notification may be due."""
        with self._cond:
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._ready and not self._stopped:
                    deadline = self._co.next_deadline()
                    if deadline is None:
                        self._cond.wait()  # nothing held: no wake-up at all
                        continue
                    left = deadline - self._clock()
                    if left > 0:
                        self._cond.wait(left)
                    else:
                        self._ready += self._co.flush(self._clock())
                if self._stopped:
                    return
                batch, self._ready = self._ready, []
            for n in batch:
                try:
                    self._show(n)
                except Exception:  # a notification must never stop the pump
                    log.exception("showing a notification failed")


class LiveSession:
    """The event stream of one session and its tracker.

    ``on_state(state, message)``: the stream's ``online`` / ``offline`` /
    ``error``; ``on_intents(intents)``: what to notify; ``on_change()``: the
    waiting list may have changed.  All are called from the stream's thread.
    """

    def __init__(
        self,
        session: Any,
        *,
        on_state: Callable[[str, str | None], None],
        on_intents: Callable[[list[Intent]], None],
        on_change: Callable[[], None],
        stream_options: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        invite_list: Callable[[], list[Any]] | None = None,
        on_certificate: Callable[[], None] | None = None,
    ) -> None:
        d = session.device
        self.session = session
        self.tracker = InvitationTracker(str(d.organization_id), d.user_id.hex)
        self._on_state = on_state
        self._on_intents = on_intents
        self._on_change = on_change
        self._clock = clock
        self._lock = threading.Lock()
        self._listed = False
        self._stream_options = stream_options or {}
        self._invite_list = invite_list
        self._on_certificate = on_certificate
        self.stream: Any = None
        # The last ORGANIZATION_CONFIG the server sent (each connection starts with one).
        self.config: Any = None

    def start(self) -> LiveSession:
        from ..core import EventStream

        self.stream = EventStream(
            self.session, self._event, self._state, self._resync, **self._stream_options
        ).start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self.stream is not None:
            self.stream.stop(timeout)

    @property
    def stream_state(self) -> str | None:
        return self.stream.state if self.stream is not None else None

    # -- what the app does itself ---------------------------------------------------------------

    def cancelling(self, token: str) -> None:
        """This app is about to cancel ``token``: its CANCELLED is no news."""
        with self._lock:
            self.tracker.cancelled_here.add(token)

    def cancel_failed(self, token: str) -> None:
        with self._lock:
            self.tracker.forget_cancel(token)

    def learn(self, items: Iterable[Any]) -> None:
        with self._lock:
            self.tracker.learn(items)

    def waiting(self) -> tuple[str, ...]:
        with self._lock:
            return self.tracker.waiting_labels(self._clock())

    def waiting_entries(self) -> tuple[tuple[str, str], ...]:
        with self._lock:
            return self.tracker.waiting_entries(self._clock())

    # -- the stream's callbacks (its thread) ---------------------------------------------------------

    def _list(self) -> list[Any] | None:
        from ..core import invite_list

        try:
            if self._invite_list is not None:  # the session holder's
                return self._invite_list()
            return list(invite_list(self.session))
        except Exception as exc:  # ParsecTrayError or a bug: the stream goes on
            log.info("reading the invitations failed: %s", exc)
            return None

    def _state(self, state: str, message: str | None) -> None:
        if state == "online" and not self._listed:
            items = self._list()
            if items is not None:
                self._listed = True
                with self._lock:
                    intents = self.tracker.resync(items)
                self._post(intents)
        self._on_state(state, message)

    def _resync(self) -> None:
        items = self._list()
        if items is None:
            return
        self._listed = True
        with self._lock:
            intents = self.tracker.resync(items)
        self._post(intents)
        self._on_change()

    def _event(self, event: Any) -> None:
        from ..core import CommonCertificate, OrganizationConfig

        if isinstance(event, OrganizationConfig):
            changed = event != self.config
            self.config = event
            if changed:
                self._on_change()
            return
        if isinstance(event, CommonCertificate) and self._on_certificate is not None:
            self._on_certificate()  # a new device, a recovery device, a revocation...
            return
        with self._lock:
            need = self.tracker.needs_list(event)
        if need:
            items = self._list()
            if items is not None:
                with self._lock:
                    self.tracker.learn(items)
        with self._lock:
            before = self.tracker.waiting_labels(self._clock())
            intents = self.tracker.event(event, self._clock())
            after = self.tracker.waiting_labels(self._clock())
        self._post(intents)
        if before != after:
            self._on_change()

    def _post(self, intents: list[Intent]) -> None:
        if intents:
            self._on_intents(intents)
