"""The live session: the server's event stream turned into what the tray
shows (state, who is waiting) and into notifications.

Two threaded parts around core's pure
:class:`~parsec_tray.core.invitation_tracker.InvitationTracker` (what this
user knows about the organization's invitations, fed with server events and
``invite_list`` results; it answers the coalescer's intents and says when it
needs the list to understand an event; its rules are in its module):

- :class:`NotificationPump`: one thread, the :class:`~.coalesce.Coalescer`
  under one lock; it sleeps exactly until ``next_deadline()`` (not at all
  when nothing is held) and calls ``show`` outside the lock.
- :class:`LiveSession`: a :class:`~parsec_tray.core.event_stream.EventStream`
  for one session, wired to a tracker; network calls (``invite_list``) run
  in the stream's thread, so events are handled in order.

Importing this module imports no part of core that needs the network (core
is imported where it is used).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..core import InvitationTracker
from .coalesce import Coalescer, Intent, Notification

__all__ = ["LiveSession", "NotificationPump"]

log = logging.getLogger(__name__)


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
