"""What this user knows about the organization's invitations, and what is
news in the server's events about them: no I/O, no threads, no clock.

:class:`InvitationTracker` is fed with server events (:mod:`.events`) and
``invite_list`` results (:mod:`.invitations`); it answers *intents*
(:class:`Waiting`, :class:`InvitationCreated`, :class:`InvitationCancelled`,
:class:`InvitationCompleted`), which a shell turns into notifications, and
says when it needs the list to understand an event.  Time is an argument.

Rules (issue 4):

- GREETING_ATTEMPT_READY -> :class:`Waiting` naming the claimer (the token
  is looked up in the known invitations; on a miss the list is read again:
  :meth:`InvitationTracker.needs_list`, then :meth:`InvitationTracker.learn`);
- INVITATION PENDING for a token not seen before, created by another user
  -> :class:`InvitationCreated`; a PENDING for a known pending token (a
  re-invite re-emits it) is nothing new;
- CANCELLED -> :class:`InvitationCancelled`, except for tokens this app
  cancelled itself; FINISHED -> :class:`InvitationCompleted`;
- the first list (after the first connection) is a silent baseline; every
  later one (a resync after missed events) announces what changed since as
  if the events had arrived;
- going offline and back online is never news.

Tokens are hex strings everywhere here.  Importing this module imports no
codec (the tray's coalescer uses the intents before any login): the event
types are imported where they are compared.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from .i18n import N_, _

__all__ = [
    "WAITING_FRESH",
    "Intent",
    "InvitationCancelled",
    "InvitationCompleted",
    "InvitationCreated",
    "InvitationTracker",
    "Known",
    "Waiting",
]

# Who an invitation without an email is for (translated where shown).
_GENERIC_LABELS = {
    "device": N_("a new device"),
    "shamir_recovery": N_("a recovery"),
}
_SOMEONE = N_("someone")


@dataclass(frozen=True, kw_only=True)
class Intent:
    """Something about one invitation (``token``) of one organization.

    ``email`` is the invited person's address; ``None`` for invitations that
    have none (a new device of the user, a recovery), described by ``kind``
    (``user`` | ``device`` | ``shamir_recovery``).
    """

    org: str
    token: str
    email: str | None = None
    kind: str = "user"

    TOPIC: ClassVar[str] = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.token, self.TOPIC)

    @property
    def label(self) -> str:
        if self.email:
            return self.email
        return _(_GENERIC_LABELS.get(self.kind, _SOMEONE))


@dataclass(frozen=True, kw_only=True)
class Waiting(Intent):
    """A claimer is waiting to be greeted (GREETING_ATTEMPT_READY)."""

    TOPIC: ClassVar[str] = "waiting"


@dataclass(frozen=True, kw_only=True)
class InvitationCreated(Intent):
    """An invitation was created by someone else (another administrator)."""

    TOPIC: ClassVar[str] = "created"


@dataclass(frozen=True, kw_only=True)
class InvitationCancelled(Intent):
    TOPIC: ClassVar[str] = "cancelled"


@dataclass(frozen=True, kw_only=True)
class InvitationCompleted(Intent):
    TOPIC: ClassVar[str] = "completed"


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
    """See the module header.  Not thread-safe: its owner (the tray's
    ``LiveSession``) holds a lock around it."""

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
        from .events import GreetingAttemptReady, Invitation

        if isinstance(event, (Invitation, GreetingAttemptReady)):
            return _token_hex(event.token) not in self.known
        return False

    def event(self, event: Any, now: float) -> list[Intent]:
        """The intents for one server event (call :meth:`learn` first when
        :meth:`needs_list` says so)."""
        from .events import GreetingAttemptCancelled, GreetingAttemptReady, Invitation

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
