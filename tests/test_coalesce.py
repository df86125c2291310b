"""The notification coalescer (tray/coalesce.py): rules and invariants.

The driver below behaves like the controller will: before each intent it
runs every flush that fell due (sleeping until ``next_deadline()``), then
feeds the intent; at the end it flushes until nothing is held.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from parsec_tray.tray.coalesce import (
    TOPICS,
    Coalescer,
    Intent,
    InvitationCancelled,
    InvitationCompleted,
    InvitationCreated,
    Notification,
    Waiting,
)

KINDS = {
    "waiting": Waiting,
    "created": InvitationCreated,
    "cancelled": InvitationCancelled,
    "completed": InvitationCompleted,
}


def drive(c: Coalescer, timeline: Sequence[tuple[float, Intent]]) -> list[Notification]:
    out: list[Notification] = []
    for t, intent in timeline:
        while (d := c.next_deadline()) is not None and d <= t:
            out += c.flush(d)
        out += c.feed(intent, t)
    while (d := c.next_deadline()) is not None:
        out += c.flush(d)
    return out


def instants(notes: Sequence[Notification]) -> list[tuple[float, int]]:
    """(time, how many) for each emission instant."""
    seen: dict[float, int] = {}
    for n in notes:
        seen[n.at] = seen.get(n.at, 0) + 1
    return sorted(seen.items())


def counted_more(body: str) -> int:
    m = re.search(r" and (\d+) more\b", body)
    return int(m.group(1)) if m else 0


# -- examples ------------------------------------------------------------------------


def test_first_event_is_shown_at_once_naming_person_and_org() -> None:
    c = Coalescer()
    out = c.feed(Waiting(org="Acme", email="alice@example.com", token="t1"), 100.0)
    assert len(out) == 1
    n = out[0]
    assert "alice@example.com" in n.title + n.body and "Acme" in n.title + n.body
    assert n.keys == (("t1", "waiting"),) and n.at == 100.0 and n.urgency == "critical"
    assert c.next_deadline() is None  # nothing held: the caller need not wake up


def test_burst_is_merged_into_a_summary_at_the_window_end() -> None:
    c = Coalescer(window=1.0, max_names=2)
    assert len(c.feed(Waiting(org="Acme", email="a@x.org", token="a"), 0.0)) == 1
    for i, who in enumerate(["b@y.org", "c@z.org", "d@w.org"]):
        assert c.feed(Waiting(org="Acme", email=who, token=who), 0.1 + i * 0.1) == []
    assert c.next_deadline() == 1.0
    assert c.flush(0.99) == []  # early wake-up: nothing yet
    (summary,) = c.flush(1.0)
    assert summary.title == "3 people are waiting to join Acme"
    assert summary.body == "b@y.org, c@z.org and 1 more are waiting to be greeted."
    assert summary.named == ("b@y.org", "c@z.org") and summary.count == 3


def test_repeated_ready_for_the_same_claimer_is_not_shown_again() -> None:
    # GREETING_ATTEMPT_READY comes back at every claimer poll.
    c = Coalescer(window=1.0, remind_after=60.0)
    w = Waiting(org="Acme", email="a@x.org", token="a")
    assert len(c.feed(w, 0.0)) == 1
    for t in (0.5, 2.0, 5.0, 30.0, 59.0):
        assert c.feed(w, t) == [], t
        assert c.next_deadline() is None
    # Something else about the same invitation in between: the next one is news.
    assert len(c.feed(InvitationCancelled(org="Acme", email="a@x.org", token="a"), 70.0)) == 1
    assert len(c.feed(w, 80.0)) == 1
    # And a person still waiting long after is reminded.
    assert len(c.feed(w, 80.0 + 60.0)) == 1


def test_device_invitations_have_a_sentence_without_email() -> None:
    c = Coalescer()
    (n,) = c.feed(Waiting(org="Acme", token="d", kind="device"), 0.0)
    assert n.body == "A new device is waiting to be greeted."
    (n,) = c.feed(InvitationCompleted(org="Acme", email="b@x.org", token="b"), 5.0)
    assert n.title == "Invitation completed in Acme" and n.body == "b@x.org has joined."


def test_crowded_flush_counts_what_does_not_fit() -> None:
    c = Coalescer(window=1.0, max_per_flush=3)
    c.feed(Waiting(org="Acme", email="first@x.org", token="0"), 0.0)
    for i, org in enumerate(["A", "B", "C", "D"]):
        c.feed(InvitationCreated(org=org, email=f"u{i}@x.org", token=f"c{i}"), 0.2)
    c.feed(Waiting(org="Acme", email="w@x.org", token="w"), 0.3)
    out = c.flush(1.0)
    assert len(out) == 3
    assert out[0].topic == "waiting"  # waiting people come first
    assert out[-1].topic == "mixed" and out[-1].count == 3
    assert out[-1].body == "In B, C and 1 more: 3 new invitations."
    assert sum(n.count for n in out) == 5


def test_time_going_backwards_raises_and_changes_nothing() -> None:
    a, b = Coalescer(), Coalescer()
    for c in (a, b):
        c.feed(Waiting(org="O", email="x@y.z", token="1"), 10.0)
        c.feed(Waiting(org="O", email="p@q.r", token="2"), 10.5)
    with pytest.raises(ValueError):
        a.feed(Waiting(org="O", email="late@y.z", token="3"), 9.0)
    with pytest.raises(ValueError):
        a.flush(9.0)
    assert a.next_deadline() == b.next_deadline() and a.pending == b.pending
    assert a.flush(11.0) == b.flush(11.0)


def test_a_late_caller_still_gets_the_held_notifications() -> None:
    c = Coalescer(window=1.0)
    c.feed(Waiting(org="O", email="a@x", token="a"), 0.0)
    c.feed(Waiting(org="O", email="b@x", token="b"), 0.5)
    # No flush at 1.0 (the caller overslept): the next feed emits what was held.
    out = c.feed(Waiting(org="O", email="c@x", token="c"), 3.0)
    assert [n.keys for n in out] == [(("b", "waiting"),)]
    assert c.next_deadline() == 4.0 and c.pending == 1


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        Coalescer(window=0)
    with pytest.raises(ValueError):
        Coalescer(max_per_flush=0)
    with pytest.raises(ValueError):
        Coalescer(window=2, remind_after=1)


# -- properties ------------------------------------------------------------------------

ORGS = ["Acme", "Beta", "Gamma"]
# An invitation (token) belongs to one organization.
intents = st.builds(
    lambda topic, i: KINDS[topic](org=ORGS[i % len(ORGS)], email=f"person{i}@example.com", token=f"t{i}"),
    st.sampled_from(TOPICS),
    st.integers(0, 40),
)
timelines = st.lists(st.tuples(st.floats(0, 3, allow_nan=False), intents), max_size=120).map(
    lambda steps: [(round(sum(d for d, _ in steps[: i + 1]), 6), x) for i, (_, x) in enumerate(steps)]
)
params = st.fixed_dictionaries(
    {
        "window": st.sampled_from([0.5, 1.0, 2.0]),
        "max_per_flush": st.integers(1, 4),
        "max_names": st.integers(1, 3),
        "remind_after": st.sampled_from([2.0, 10.0, 60.0]),
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timeline=timelines, p=params)
@example(  # a waiting person, re-invited (same token), still waiting: shown once
    timeline=[
        (0.0, Waiting(org="Acme", token="t0", email="person0@example.com")),
        (0.0, InvitationCreated(org="Acme", token="t0", email="person0@example.com")),
        (0.0, Waiting(org="Acme", token="t0", email="person0@example.com")),
    ],
    p={"window": 0.5, "max_per_flush": 1, "max_names": 1, "remind_after": 2.0},
)
def test_invariants(timeline: list[tuple[float, Intent]], p: dict) -> None:
    c = Coalescer(**p)
    notes = drive(c, timeline)
    w, r = p["window"], p["remind_after"]
    # Emission instants are at least a window apart, each with few notifications.
    inst = instants(notes)
    for (t0, _), (t1, _) in zip(inst, inst[1:], strict=False):
        assert t1 - t0 >= w - 1e-9
    assert all(k <= p["max_per_flush"] for _, k in inst)
    # No intent is lost: covered no later than a window after it arrived, or
    # (an absorbed repeat) by the notification that showed it shortly before.
    for t, intent in timeline:
        assert any(intent.key in n.keys and t - r <= n.at <= t + w + 1e-9 for n in notes), (t, intent)
    # Nothing covered that was never fed; no key twice in one notification.
    fed = {i.key for _, i in timeline}
    for n in notes:
        assert set(n.keys) <= fed and len(set(n.keys)) == len(n.keys)
    # The same (token, topic) is never shown twice in a row within
    # remind_after - window (a repeat only after a reminder period).
    by_token: dict[str, list[tuple[float, str]]] = {}
    for n in notes:
        for token, topic in n.keys:
            by_token.setdefault(token, []).append((n.at, topic))
    for shows in by_token.values():
        for (t0, a), (t1, b) in zip(shows, shows[1:], strict=False):
            if a == b:
                assert t1 - t0 >= r - w - 1e-9
    # Every notification names or counts exactly what it covers.
    for n in notes:
        assert all(name in n.body for name in n.named)
        if n.topic != "mixed":
            assert len(n.named) + counted_more(n.body) == n.count
        else:
            assert n.title.startswith(f"{n.count} more invitation update")
    assert c.next_deadline() is None and c.pending == 0


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), distinct=st.integers(1, 500), start=st.floats(0, 1e6))
def test_500_waiting_in_one_second_give_a_handful(seed: int, distinct: int, start: float) -> None:
    # 500 READY events inside one second, from `distinct` claimers (repeats
    # are claimers polling again), as the server would send them.
    rnd = random.Random(seed)
    timeline = sorted(
        (
            (start + rnd.random() * 0.999, Waiting(org=ORGS[i % 2], email=f"p{i}@example.com", token=f"t{i}"))
            for i in [*range(distinct), *(rnd.randrange(distinct) for _ in range(500 - distinct))]
        ),
        key=lambda x: x[0],
    )
    c = Coalescer(window=1.0, max_per_flush=3, max_names=2)
    notes = drive(c, timeline)
    assert 1 <= len(notes) <= 4  # one at once, at most three when the window ends
    distinct = {i.token for _, i in timeline}
    covered = [k for n in notes for k in n.keys]
    assert sorted(covered) == sorted((t, "waiting") for t in distinct)  # each person exactly once
    # Each distinct person is named or counted in the text.
    named_or_counted = sum(len(n.named) + counted_more(n.body) for n in notes)
    assert named_or_counted == len(distinct)
