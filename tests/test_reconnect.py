"""The event stream's reconnection rules (core/reconnect.py), without a
socket, a thread or the real clock: what the stream's thread is told to do
after each thing that happens.  The same rules run against the real server
in test_event_stream.py."""

from __future__ import annotations

import itertools
import random

import pytest
from parsec_tray.core.events import Keepalive, MissedEvents, OrganizationConfig, Pinged
from parsec_tray.core.reconnect import (
    SEEN_IDS,
    TRANSITIONS,
    Deliver,
    IllegalTransition,
    Phase,
    ReadTimeout,
    Reconnect,
    Report,
    Resync,
    RetryAt,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


class NoJitter(random.Random):
    """The full exponential bound every time."""

    def random(self) -> float:
        return 1.0


def config(keepalive: int | None = 30, id: str | None = None) -> OrganizationConfig:
    return OrganizationConfig(
        user_profile_outsider_allowed=True,
        active_users_limit=None,
        sse_keepalive_seconds=keepalive,
        realm_minimum_archiving_period_before_deletion=None,
        id=id,
    )


def online(r: Reconnect) -> list[object]:
    r.connect()
    return list(r.connected())


def test_the_first_connection_is_online_and_no_resync() -> None:
    r = Reconnect()
    assert r.phase is Phase.IDLE and r.reported is None
    assert online(r) == [Report("online")]
    assert r.phase is Phase.ONLINE and r.reported == "online"


def test_a_replayed_event_is_delivered_once_and_its_id_is_sent_back() -> None:
    r = Reconnect()
    online(r)
    a, b = Pinged(ping="a", id="1"), Pinged(ping="b", id="2")
    assert r.event(a) == [Deliver(a)] and r.event(b) == [Deliver(b)]
    assert r.last_event_id == "2"
    clock = FakeClock()
    r.dropped("The connection to the server was lost.", clock())
    assert online(r) == [Report("online")]  # with an id: the server replays
    assert r.event(a) == [] and r.event(b) == []  # the replay, dropped
    c = Pinged(ping="c", id="3")
    assert r.event(c) == [Deliver(c)] and r.last_event_id == "3"


def test_the_ids_remembered_are_bounded_by_the_servers_replay_cache() -> None:
    r = Reconnect()
    online(r)
    first = Pinged(ping="x", id="0")
    r.event(first)
    for i in range(1, SEEN_IDS + 1):
        r.event(Pinged(ping="x", id=str(i)))
    assert r.event(first) == [Deliver(first)]  # forgotten: older than the cache


def test_keepalives_move_the_last_id_but_are_not_delivered() -> None:
    r = Reconnect()
    online(r)
    assert r.event(Keepalive(id="9")) == [] and r.last_event_id == "9"
    assert r.event(Keepalive()) == []


def test_a_gap_the_server_cannot_replay_is_a_resync() -> None:
    r = Reconnect(last_event_id="unknown-to-the-server")
    online(r)
    assert r.event(MissedEvents()) == [Resync()]


def test_reconnecting_without_any_id_after_a_connection_is_a_resync() -> None:
    r = Reconnect()
    clock = FakeClock()
    online(r)
    r.dropped("The server closed the connection.", clock())
    assert online(r) == [Report("online"), Resync()]
    # ... but not with an id to replay from.
    r.event(Pinged(ping="p", id="5"))
    r.dropped("The server closed the connection.", clock())
    assert online(r) == [Report("online")]


def test_drops_back_off_doubling_to_the_cap_and_reset_on_a_healthy_connection() -> None:
    clock = FakeClock()
    r = Reconnect(rng=NoJitter(), backoff_initial=0.5, backoff_max=4.0)
    delays = []
    for _ in range(6):
        r.connect()
        [*_, retry] = r.dropped("The server is unreachable.", clock())
        assert isinstance(retry, RetryAt) and retry.at == clock() + retry.delay
        delays.append(retry.delay)
        clock.now = retry.at
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    online(r)
    assert r.failures == 6  # connecting is not enough: the server must speak
    cfg = config()
    assert r.event(cfg) == [ReadTimeout(35.0), Deliver(cfg)]
    assert r.failures == 0
    [_, retry] = r.dropped("The connection to the server was lost.", clock())
    assert isinstance(retry, RetryAt) and retry.delay == 0.5


def test_the_jitter_stays_between_half_the_bound_and_the_bound() -> None:
    clock = FakeClock()
    r = Reconnect(rng=random.Random(7), backoff_initial=1.0, backoff_max=30.0)
    for failures in range(8):
        r.connect()
        [*_, retry] = r.dropped("down", clock())
        assert isinstance(retry, RetryAt)
        bound = min(30.0, 2.0**failures)
        assert bound / 2 <= retry.delay <= bound


def test_the_servers_keepalive_sets_the_read_timeout() -> None:
    r = Reconnect(keepalive=30.0, keepalive_margin=5.0)
    assert r.read_timeout == 35.0
    online(r)
    assert r.event(config(keepalive=2)) == [ReadTimeout(7.0), Deliver(config(keepalive=2))]
    assert r.read_timeout == 7.0
    assert r.event(config(keepalive=None)) == [Deliver(config(keepalive=None))]
    assert r.read_timeout == 7.0


def test_the_state_is_reported_on_changes_only() -> None:
    clock = FakeClock()
    r = Reconnect(rng=NoJitter())
    r.connect()
    first = r.dropped("The server is unreachable.", clock())
    assert first[0] == Report("offline", "The server is unreachable.")
    r.connect()
    again = r.dropped("The server is unreachable.", clock())
    assert [e for e in again if isinstance(e, Report)] == []  # still offline
    assert online(r) == [Report("online")]
    r.event(Pinged(ping="p", id="1"))
    r.dropped("lost", clock())
    assert online(r) == [Report("online")]


def test_a_refusal_is_final() -> None:
    r = Reconnect()
    online(r)
    assert r.refused("This device was revoked.") == [Report("error", "This device was revoked.")]
    assert r.phase is Phase.REFUSED
    for what in (r.connect, r.stop):
        with pytest.raises(IllegalTransition):
            what()
    assert r.phase is Phase.REFUSED and r.reported == "error"


def test_every_pair_is_in_the_table_or_illegal_and_leaves_the_phase() -> None:
    moves = {
        "connect": lambda r: r.connect(),
        "connected": lambda r: r.connected(),
        "dropped": lambda r: r.dropped("x", 0.0),
        "refused": lambda r: r.refused("x"),
        "stop": lambda r: r.stop(),
    }
    for phase, what in itertools.product(Phase, moves):
        r = Reconnect()
        r.phase = phase
        if (phase, what) in TRANSITIONS:
            moves[what](r)
            assert r.phase is TRANSITIONS[(phase, what)]
        else:
            with pytest.raises(IllegalTransition):
                moves[what](r)
            assert r.phase is phase, (phase, what)
    assert {p for p, _ in TRANSITIONS} == set(Phase) - {Phase.REFUSED, Phase.STOPPED}


def test_events_come_only_while_online() -> None:
    for phase in set(Phase) - {Phase.ONLINE}:
        r = Reconnect()
        r.phase = phase
        with pytest.raises(IllegalTransition):
            r.event(Pinged(ping="p", id="1"))
        assert r.last_event_id is None
