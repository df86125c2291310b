"""The event stream's reconnection rules, without sockets, threads or clock.

:class:`Reconnect` is what the stream's thread (:mod:`.event_stream`) knows
between connections: the last event id, the ids already delivered, how many
attempts failed in a row, whether it was ever connected, the keepalive.  The
thread tells it what happened (a connection opened, an event arrived, the
connection dropped, the server refused) and does what it answers: a list of
effects (:class:`Report`, :class:`Deliver`, :class:`Resync`,
:class:`ReadTimeout`, :class:`RetryAt`).  Time is an argument.

Rules:

- An event whose id was already seen (the server replays after
  ``Last-Event-ID``) is not delivered twice; the last
  :data:`SEEN_IDS` ids are remembered (the size of the server's replay
  cache).  Keepalives move the last id but are not delivered.
- MISSED_EVENTS (the server cannot replay) -> :class:`Resync`; so does a
  connection opened without any event id after having been connected once.
- A drop waits :func:`backoff_delay` (0.5 s doubling up to 30 s, jittered)
  after the drop; the count of failures resets when the server sends its
  ORGANIZATION_CONFIG (a healthy connection: the next drop retries fast),
  whose keepalive also sets the read timeout (keepalive + margin).
- The state reported to the owner (``online``, ``offline`` with why,
  ``error`` with the refusal's sentence) is reported on changes only.
- A refusal is final.

The phases are a table, (phase, what happened) -> next phase
(:data:`TRANSITIONS`); anything else raises :class:`IllegalTransition` and
changes nothing.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .events import Event

__all__ = [
    "BACKOFF_INITIAL",
    "BACKOFF_MAX",
    "DEFAULT_KEEPALIVE",
    "KEEPALIVE_MARGIN",
    "SEEN_IDS",
    "TRANSITIONS",
    "Deliver",
    "Effect",
    "IllegalTransition",
    "Phase",
    "ReadTimeout",
    "Reconnect",
    "Report",
    "Resync",
    "RetryAt",
    "backoff_delay",
]

BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 30.0
DEFAULT_KEEPALIVE = 30.0  # the server's default, until ORGANIZATION_CONFIG says otherwise
KEEPALIVE_MARGIN = 5.0
SEEN_IDS = 1024  # the server's replay cache holds 1024 events


def backoff_delay(
    failures: int,
    *,
    initial: float = BACKOFF_INITIAL,
    cap: float = BACKOFF_MAX,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before attempt ``failures + 1``: the exponential bound
    ``min(cap, initial * 2**failures)``, jittered down to half of it."""
    bound = min(cap, initial * 2.0 ** min(failures, 64))
    r = rng.random() if rng is not None else random.random()
    return bound / 2 + r * bound / 2


class Phase(StrEnum):
    IDLE = "idle"  # not started
    CONNECTING = "connecting"  # a request is on its way
    ONLINE = "online"  # reading events
    WAITING = "waiting"  # dropped; waiting to try again
    REFUSED = "refused"  # final: the server refused the device (or a bug)
    STOPPED = "stopped"  # final: the owner stopped the stream


TRANSITIONS: dict[tuple[Phase, str], Phase] = {
    (Phase.IDLE, "connect"): Phase.CONNECTING,
    (Phase.WAITING, "connect"): Phase.CONNECTING,
    (Phase.CONNECTING, "connected"): Phase.ONLINE,
    (Phase.CONNECTING, "dropped"): Phase.WAITING,
    (Phase.ONLINE, "dropped"): Phase.WAITING,
    **{(p, "refused"): Phase.REFUSED for p in (Phase.IDLE, Phase.CONNECTING, Phase.ONLINE, Phase.WAITING)},
    **{(p, "stop"): Phase.STOPPED for p in (Phase.IDLE, Phase.CONNECTING, Phase.ONLINE, Phase.WAITING)},
}


class IllegalTransition(RuntimeError):
    """A bug of the driving thread: ``what`` cannot happen in ``phase``."""

    def __init__(self, phase: Phase, what: str) -> None:
        super().__init__(f"{what!r} cannot happen while {phase.value}")
        self.phase = phase
        self.what = what


@dataclass(frozen=True)
class Report:
    """Tell the owner the stream's state changed."""

    state: str  # online | offline | error
    message: str | None = None


@dataclass(frozen=True)
class Deliver:
    """Give this event to the owner."""

    event: Event


@dataclass(frozen=True)
class Resync:
    """Events were lost: the owner must re-read its state."""


@dataclass(frozen=True)
class ReadTimeout:
    """Set the open connection's read timeout to ``seconds``."""

    seconds: float


@dataclass(frozen=True)
class RetryAt:
    """Connect again at monotonic time ``at`` (``delay`` after the drop)."""

    at: float
    delay: float


Effect = Report | Deliver | Resync | ReadTimeout | RetryAt


class Reconnect:
    """See the module header.  Driven by one thread; reading
    :attr:`reported` and :attr:`last_event_id` from another is safe."""

    def __init__(
        self,
        *,
        last_event_id: str | None = None,
        keepalive: float = DEFAULT_KEEPALIVE,
        keepalive_margin: float = KEEPALIVE_MARGIN,
        backoff_initial: float = BACKOFF_INITIAL,
        backoff_max: float = BACKOFF_MAX,
        rng: random.Random | None = None,
    ) -> None:
        self.phase = Phase.IDLE
        self.reported: str | None = None  # the last state reported
        self.last_event_id = last_event_id
        self.keepalive = keepalive
        self.failures = 0
        self._margin = keepalive_margin
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._rng = rng or random.Random()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._connected_once = False

    @property
    def read_timeout(self) -> float:
        """A connection silent for longer than this is dead."""
        return self.keepalive + self._margin

    def _move(self, what: str) -> None:
        nxt = TRANSITIONS.get((self.phase, what))
        if nxt is None:
            raise IllegalTransition(self.phase, what)
        self.phase = nxt

    def _report(self, state: str, message: str | None) -> list[Effect]:
        if state == self.reported:
            return []
        self.reported = state
        return [Report(state, message)]

    # --- what happened ------------------------------------------------------------

    def connect(self) -> None:
        """A request is about to be sent (with :attr:`last_event_id`)."""
        self._move("connect")

    def connected(self) -> list[Effect]:
        """The server answered with an event stream."""
        self._move("connected")
        gap = self._connected_once and self.last_event_id is None
        self._connected_once = True
        return [*self._report("online", None), *([Resync()] if gap else [])]

    def event(self, event: Event) -> list[Effect]:
        """One event read from the open connection."""
        from .events import Keepalive, MissedEvents, OrganizationConfig

        if self.phase is not Phase.ONLINE:
            raise IllegalTransition(self.phase, "event")
        if event.id is not None:
            if event.id in self._seen:
                return []  # a replay of what was delivered already
            self._seen[event.id] = None
            if len(self._seen) > SEEN_IDS:
                self._seen.popitem(last=False)
            self.last_event_id = event.id
        if isinstance(event, Keepalive):
            return []
        if isinstance(event, MissedEvents):
            return [Resync()]
        out: list[Effect] = []
        if isinstance(event, OrganizationConfig):
            self.failures = 0
            if event.sse_keepalive_seconds:
                self.keepalive = float(event.sse_keepalive_seconds)
                out.append(ReadTimeout(self.read_timeout))
        return [*out, Deliver(event)]

    def dropped(self, why: str, now: float) -> list[Effect]:
        """The attempt failed or the connection was lost (``why``, a
        sentence); ``now`` is the monotonic time."""
        self._move("dropped")
        delay = backoff_delay(
            self.failures, initial=self._backoff_initial, cap=self._backoff_max, rng=self._rng
        )
        self.failures += 1
        return [*self._report("offline", why), RetryAt(now + delay, delay)]

    def refused(self, why: str) -> list[Effect]:
        """Final: the server refused (``why``, the error's sentence)."""
        self._move("refused")
        return self._report("error", why)

    def stop(self) -> None:
        self._move("stop")
