"""core's invitation tracker, without a server: server events (core's own
typed events and invitation items) -> the intents a shell notifies.  The
same wiring runs for real in test_tray_live_e2e.py."""

from __future__ import annotations

import uuid

from parsec_tray.core import (
    InvitationCancelled,
    InvitationCompleted,
    InvitationCreated,
    InvitationTracker,
    Waiting,
)
from parsec_tray.core.events import GreetingAttemptCancelled, GreetingAttemptReady, Invitation
from parsec_tray.core.invitations import CreatedBy, DeviceInvitation, UserInvitation
from parsec_tray.core.values import AccessToken, DateTime, EmailAddress, HumanHandle, UserID

ME = UserID(uuid.uuid4())
OTHER = UserID(uuid.uuid4())
ORG = "MyOrg"


def token() -> AccessToken:
    return AccessToken.new()


def user_inv(tok: AccessToken, email: str, *, by: UserID = OTHER, status: str = "PENDING") -> UserInvitation:
    return UserInvitation(
        type="USER",
        token=tok,
        created_on=DateTime.now(),
        created_by=CreatedBy("USER", user_id=by, human_handle=HumanHandle("bob@example.com", "Bob")),
        status=status,
        claimer_email=EmailAddress(email),
    )


def device_inv(tok: AccessToken, *, status: str = "PENDING") -> DeviceInvitation:
    return DeviceInvitation(
        type="DEVICE",
        token=tok,
        created_on=DateTime.now(),
        created_by=CreatedBy("USER", user_id=ME, human_handle=HumanHandle("alice@example.com", "Alice")),
        status=status,
    )


def ready(tok: AccessToken) -> GreetingAttemptReady:
    return GreetingAttemptReady(token=tok, greeting_attempt=uuid.uuid4(), id=uuid.uuid4().hex)


def inv(tok: AccessToken, status: str) -> Invitation:
    return Invitation(token=tok, invitation_status=status, id=uuid.uuid4().hex)


def tracker(*items: object) -> InvitationTracker:
    t = InvitationTracker(ORG, ME.hex)
    assert t.resync(items) == []  # the first list is a silent baseline
    return t


# -- events -> intents ----------------------------------------------------------------


def test_waiting_names_the_claimer_and_the_organization() -> None:
    tok = token()
    t = tracker(user_inv(tok, "carol@example.com"))
    assert not t.needs_list(ready(tok))
    assert t.event(ready(tok), 0.0) == [
        Waiting(org=ORG, token=tok.hex(), email="carol@example.com", kind="user")
    ]
    assert t.waiting_labels(1.0) == ("carol@example.com",)
    # The server repeats it at each claimer poll: the tracker says it again,
    # the coalescer is the one that does not show it twice.
    assert len(t.event(ready(tok), 2.0)) == 1
    assert t.waiting_labels(3.0) == ("carol@example.com",)
    assert t.waiting_labels(2.0 + 61) == ()  # nobody heard of for a minute


def test_waiting_for_an_unknown_token_needs_the_list_first() -> None:
    tok = token()
    t = tracker()
    assert t.needs_list(ready(tok))
    t.learn([user_inv(tok, "dave@example.com")])
    assert not t.needs_list(ready(tok))
    [w] = t.event(ready(tok), 0.0)
    assert isinstance(w, Waiting) and w.email == "dave@example.com"


def test_waiting_device_is_described_by_its_kind() -> None:
    tok = token()
    t = tracker(device_inv(tok))
    [w] = t.event(ready(tok), 0.0)
    assert (w.kind, w.email, w.label) == ("device", None, "a new device")
    assert t.waiting_labels(0.0) == ("A new device",)


def test_created_by_another_admin_once_and_never_for_mine() -> None:
    theirs, mine, known = token(), token(), token()
    t = tracker(user_inv(known, "k@example.com"))
    # Unknown token: the list says who created it.
    assert t.needs_list(inv(theirs, "PENDING"))
    t.learn(
        [
            user_inv(known, "k@example.com"),
            user_inv(theirs, "e@example.com"),
            user_inv(mine, "m@example.com", by=ME),
        ]
    )
    assert t.event(inv(theirs, "PENDING"), 0.0) == [
        InvitationCreated(org=ORG, token=theirs.hex(), email="e@example.com", kind="user")
    ]
    assert t.event(inv(mine, "PENDING"), 0.0) == []
    # A re-invite of a pending email re-emits PENDING: nothing new.
    assert t.event(inv(theirs, "PENDING"), 1.0) == []
    assert t.event(inv(known, "PENDING"), 1.0) == []


def test_cancelled_and_completed() -> None:
    a, b, c = token(), token(), token()
    t = tracker(user_inv(a, "a@example.com"), user_inv(b, "b@example.com"), user_inv(c, "c@example.com"))
    t.event(ready(a), 0.0)
    assert t.event(inv(a, "CANCELLED"), 1.0) == [
        InvitationCancelled(org=ORG, token=a.hex(), email="a@example.com", kind="user")
    ]
    assert t.waiting_labels(1.0) == ()  # no longer waiting
    assert t.event(inv(a, "CANCELLED"), 1.0) == []  # said once
    assert t.event(inv(b, "FINISHED"), 1.0) == [
        InvitationCompleted(org=ORG, token=b.hex(), email="b@example.com", kind="user")
    ]
    # Cancelled from this app: no notification about our own action.
    t.cancelled_here.add(c.hex())
    assert t.event(inv(c, "CANCELLED"), 1.0) == []
    assert c.hex() not in t.cancelled_here


def test_greeting_attempt_cancelled_clears_the_waiting_entry() -> None:
    tok = token()
    t = tracker(user_inv(tok, "w@example.com"))
    t.event(ready(tok), 0.0)
    t.event(GreetingAttemptCancelled(token=tok, greeting_attempt=uuid.uuid4()), 1.0)
    assert t.waiting_labels(1.0) == ()


def test_resync_announces_what_was_missed() -> None:
    a, b, c, d = token(), token(), token(), token()
    t = tracker(user_inv(a, "a@example.com"), user_inv(b, "b@example.com"))
    out = t.resync(
        [
            user_inv(a, "a@example.com", status="CANCELLED"),
            user_inv(b, "b@example.com", status="FINISHED"),
            user_inv(c, "c@example.com"),  # new, by another admin
            user_inv(d, "d@example.com", by=ME),  # new, mine
        ]
    )
    assert [(type(i).__name__, i.email) for i in out] == [
        ("InvitationCancelled", "a@example.com"),
        ("InvitationCompleted", "b@example.com"),
        ("InvitationCreated", "c@example.com"),
    ]
    # The replayed events that may still arrive change nothing.
    assert t.event(inv(c, "PENDING"), 0.0) == []
    assert t.event(inv(a, "CANCELLED"), 0.0) == []


def test_learning_does_not_swallow_events_on_their_way() -> None:
    """A list read to understand one event must not pre-empt the events
    that follow it in the stream."""
    a, b = token(), token()
    t = tracker(user_inv(a, "a@example.com"))
    t.learn([user_inv(a, "a@example.com", status="CANCELLED"), user_inv(b, "b@example.com")])
    assert [type(i).__name__ for i in t.event(inv(b, "PENDING"), 0.0)] == ["InvitationCreated"]
    assert [type(i).__name__ for i in t.event(inv(a, "CANCELLED"), 0.0)] == ["InvitationCancelled"]
