"""Which invitation notifications to show, and when: sans-I/O, no threads, no clock.

The controller turns server events into *intents* (:class:`Waiting`,
:class:`InvitationCreated`, :class:`InvitationCancelled`,
:class:`InvitationCompleted`), feeds them with the current monotonic time and
shows the :class:`Notification` values it gets back.  It sleeps until
:meth:`Coalescer.next_deadline` (or until the next intent) and then calls
:meth:`Coalescer.flush`: no polling, and no wake-up at all while nothing is
pending.

Rules
-----
- The first intent after a quiet period is shown at once, and opens a window
  of ``window`` seconds.
- Intents arriving inside the window are held and merged; at the window's end
  ``flush`` emits at most ``max_per_flush`` notifications (one per
  organization and topic, waiting people first; what does not fit is counted
  in a last "more updates" notification) and opens a new window.  A window
  with nothing held closes silently: the next intent is shown at once.
- The same ``(token, topic)`` is never shown twice within
  ``remind_after`` seconds, whatever came in between: the server re-sends GREETING_ATTEMPT_READY at
  each claimer poll, and the person is still the same person.  A repeat is
  *absorbed* (covered by the notification that showed it).  After
  ``remind_after`` a still-waiting person is shown again, as a reminder.

Invariants (tested with hypothesis)
-----------------------------------
- Time never goes backwards: an older ``now`` raises ``ValueError`` and
  leaves the state unchanged.
- Notifications are emitted only at *emission instants* (an intent shown at
  once, or a flush); two instants are at least ``window`` apart and each
  emits at most ``max(1, max_per_flush)`` notifications.
- No intent is lost: each one's ``(token, topic)`` is in the ``keys`` of a
  notification emitted no later than ``window`` after it (named in its text
  or counted in a summary), or, for an absorbed repeat, of the one that
  showed it less than ``remind_after`` before.
- ``next_deadline()`` is ``None`` exactly when nothing is held.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

# The intents are core's (core/invitation_tracker.py, next to the events
# they interpret); this module re-exports them with the coalescer.
from ..core import Intent, InvitationCancelled, InvitationCompleted, InvitationCreated, Waiting
from .i18n import _, ngettext

__all__ = [
    "Coalescer",
    "Intent",
    "InvitationCancelled",
    "InvitationCompleted",
    "InvitationCreated",
    "Notification",
    "TOPICS",
    "Waiting",
]

#: Topics, most urgent first (the order summaries are emitted in).
TOPICS = ("waiting", "created", "completed", "cancelled")

@dataclass(frozen=True)
class Notification:
    """What to show.  ``keys`` are the ``(token, topic)`` pairs it covers, in
    arrival order; ``named`` the labels written in ``body`` (the others are
    counted).  ``topic`` is ``"mixed"`` and ``org`` ``None`` for the last
    "more updates" notification of a crowded flush."""

    title: str
    body: str
    urgency: str  # "normal" | "critical"
    topic: str
    org: str | None
    keys: tuple[tuple[str, str], ...]
    named: tuple[str, ...]
    at: float

    @property
    def count(self) -> int:
        return len(self.keys)

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(token for token, _ in self.keys))


def _names(labels: list[str], total: int, max_names: int) -> tuple[str, tuple[str, ...]]:
    """``"a@x"``, ``"a@x and b@y"``, ``"a@x, b@y and 3 more"``."""
    shown = labels[: max(1, max_names)]
    rest = total - len(shown)
    if rest > 0:
        more = ngettext("{names} and {n} more", "{names} and {n} more", rest)
        return more.format(names=", ".join(shown), n=rest), tuple(shown)
    if len(shown) == 1:
        return shown[0], tuple(shown)
    return _("{names} and {last}").format(names=", ".join(shown[:-1]), last=shown[-1]), tuple(shown)


def _capitalized(label: str, intent: Intent) -> str:
    # Generic labels start a sentence; an email is written as typed.
    return label[:1].upper() + label[1:] if not intent.email else label


def _render_group(org: str, topic: str, intents: list[Intent], at: float, max_names: int) -> Notification:
    n = len(intents)
    keys = tuple(i.key for i in intents)
    urgency = "critical" if topic == "waiting" else "normal"
    if n == 1:
        one = intents[0]
        who = _capitalized(one.label, one)
        title, body = {
            "waiting": (_("Waiting to join {org}"), _("{who} is waiting to be greeted.")),
            "created": (_("New invitation in {org}"), _("{who} was invited.")),
            "cancelled": (_("Invitation cancelled in {org}"), _("The invitation for {label} was cancelled.")),
            "completed": (_("Invitation completed in {org}"), _("{who} has joined.")),
        }[topic]
        title, body = title.format(org=org), body.format(who=who, label=one.label)
        return Notification(title, body, urgency, topic, org, keys, (one.label,), at)
    names, named = _names([i.label for i in intents], n, max_names)
    title, body = {
        "waiting": (
            ngettext("{n} person is waiting to join {org}", "{n} people are waiting to join {org}", n),
            _("{names} are waiting to be greeted."),
        ),
        "created": (
            ngettext("{n} new invitation in {org}", "{n} new invitations in {org}", n),
            _("{names} were invited."),
        ),
        "cancelled": (
            ngettext("{n} invitation cancelled in {org}", "{n} invitations cancelled in {org}", n),
            _("The invitations for {names} were cancelled."),
        ),
        "completed": (
            ngettext("{n} invitation completed in {org}", "{n} invitations completed in {org}", n),
            _("{names} have joined."),
        ),
    }[topic]
    title, body = title.format(n=n, org=org), body.format(names=names)
    return Notification(title, body, urgency, topic, org, keys, named, at)


_COUNTED: dict[str, Callable[[int], str]] = {
    "waiting": lambda n: ngettext("{n} person waiting", "{n} people waiting", n),
    "created": lambda n: ngettext("{n} new invitation", "{n} new invitations", n),
    "completed": lambda n: ngettext("{n} invitation completed", "{n} invitations completed", n),
    "cancelled": lambda n: ngettext("{n} invitation cancelled", "{n} invitations cancelled", n),
}


def _render_rest(groups: list[tuple[str, str, list[Intent]]], at: float, max_names: int) -> Notification:
    keys = tuple(i.key for _, _, intents in groups for i in intents)
    orgs = list(dict.fromkeys(org for org, _, _ in groups))
    per_topic: dict[str, int] = {}
    for _org, topic, intents in groups:
        per_topic[topic] = per_topic.get(topic, 0) + len(intents)
    counts = ", ".join(_COUNTED[t](c).format(n=c) for t in TOPICS if (c := per_topic.get(t)))
    where, _named = _names(orgs, len(orgs), max_names)
    n = len(keys)
    title = ngettext("{n} more invitation update", "{n} more invitation updates", n).format(n=n)
    body = _("In {where}: {counts}.").format(where=where, counts=counts)
    urgency = "critical" if "waiting" in per_topic else "normal"
    return Notification(title, body, urgency, "mixed", None, keys, (), at)


@dataclass
class Coalescer:
    """See the module header for the rules and invariants."""

    window: float = 1.0
    max_per_flush: int = 3
    max_names: int = 2
    remind_after: float = 60.0

    _now: float | None = field(default=None, init=False, repr=False)
    _window_end: float | None = field(default=None, init=False, repr=False)
    # (org, topic) -> token -> intent, in arrival order
    _pending: dict[tuple[str, str], OrderedDict[str, Intent]] = field(
        default_factory=dict, init=False, repr=False
    )
    # (token, topic) -> time it was last accepted, oldest first
    _last: OrderedDict[tuple[str, str], float] = field(default_factory=OrderedDict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.window <= 0:
            raise ValueError("window must be positive")
        if self.max_per_flush < 1:
            raise ValueError("max_per_flush must be at least 1")
        if self.remind_after < self.window:
            raise ValueError("remind_after must be at least one window")

    # -- time ------------------------------------------------------------------

    def _advance(self, now: float) -> None:
        if self._now is not None and now < self._now:
            raise ValueError(f"time went backwards: {now} < {self._now}")
        self._now = now
        # Forget what cannot suppress anything any more (times only grow, so
        # the oldest entries are first).
        while self._last:
            key, t = next(iter(self._last.items()))
            if now - t < self.remind_after:
                break
            del self._last[key]

    def next_deadline(self) -> float | None:
        """When ``flush`` has something to emit; ``None``: nothing held."""
        return self._window_end if self._pending else None

    @property
    def pending(self) -> int:
        """How many ``(token, topic)`` are held for the next flush."""
        return sum(len(g) for g in self._pending.values())

    # -- input -------------------------------------------------------------------

    def feed(self, intent: Intent, now: float) -> list[Notification]:
        self._advance(now)
        out: list[Notification] = []
        if self._window_end is not None and now >= self._window_end:
            # The caller is late for the deadline (or nothing was held).
            out = self._flush_due(now)
        token, topic = intent.key
        group = self._pending.get((intent.org, topic))
        if group is not None and token in group:
            return out  # already held: the flush will show it
        last = self._last.get(intent.key)
        if last is not None and now - last < self.remind_after:
            # Shown (or held) a moment ago: other news about the same
            # invitation in between (a re-invite re-emits PENDING) does not
            # make it news again.
            return out
        self._last[intent.key] = now
        self._last.move_to_end(intent.key)
        if self._window_end is None:
            self._window_end = now + self.window
            out.append(_render_group(intent.org, topic, [intent], now, self.max_names))
            return out
        self._pending.setdefault((intent.org, topic), OrderedDict())[token] = intent
        return out

    def flush(self, now: float) -> list[Notification]:
        """Emit what was held, if its window is over (else nothing)."""
        self._advance(now)
        if self._window_end is None or now < self._window_end:
            return []
        return self._flush_due(now)

    def _flush_due(self, now: float) -> list[Notification]:
        if not self._pending:
            self._window_end = None
            return []
        rank = {t: i for i, t in enumerate(TOPICS)}
        # dicts keep insertion order: sorted() is stable, so first-arrived
        # groups come first within a topic.
        groups = sorted(
            ((org, topic, list(g.values())) for (org, topic), g in self._pending.items()),
            key=lambda item: rank[item[1]],
        )
        self._pending.clear()
        self._window_end = now + self.window
        if len(groups) <= self.max_per_flush:
            return [_render_group(org, t, intents, now, self.max_names) for org, t, intents in groups]
        head = groups[: self.max_per_flush - 1]
        out = [_render_group(org, t, intents, now, self.max_names) for org, t, intents in head]
        out.append(_render_rest(groups[self.max_per_flush - 1 :], now, self.max_names))
        return out
