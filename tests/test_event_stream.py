"""core/event_stream.py against the real server (with a 2 s SSE keepalive),
through a loopback proxy that cuts, silences and refuses connections, and
against a fake HTTP endpoint for the handshake statuses the real server
cannot be made to return on demand.
"""

from __future__ import annotations

import base64
import http.server
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import require
from parsec_org import add_user, new_admin_session, revoke_user
from parsec_server import ParsecServer, free_port, have_parsec_server
from parsec_tray.core import bootstrap, errors
from parsec_tray.core import invitations as inv
from parsec_tray.core.addr import ParsecOrganizationBootstrapAddr, parse_server
from parsec_tray.core.event_stream import EventStream, backoff_delay
from parsec_tray.core.events import Event, Invitation, OrganizationConfig, Pinged
from parsec_tray.core.serialization import packb
from parsec_tray.core.session import Session
from parsec_tray.core.transport import Transport
from parsec_tray.core.values import DeviceLabel, HumanHandle, OrganizationID
from tcp_proxy import TCPProxy

KEEPALIVE = 2
TIMEOUT = 40.0  # generous: offline must show within KEEPALIVE + 5 s


@pytest.fixture(scope="module")
def ka_server() -> Iterator[ParsecServer]:
    """A real server whose SSE keepalive is 2 s (``PARSEC_SSE_KEEPALIVE``)."""
    require(have_parsec_server(), "parsec-cloud 3.9.3 (the reference server)")
    with ParsecServer(free_port(), env={"PARSEC_SSE_KEEPALIVE": str(KEEPALIVE)}) as server:
        yield server


@pytest.fixture
def admins(ka_server: ParsecServer, org_name: str, tmp_path: Path) -> Iterator[tuple[Session, Session]]:
    """Two administrators of a fresh organization."""
    alice = new_admin_session(ka_server, org_name, tmp_path / "config")
    bob = add_user(alice, "bob@example.com", "Bob")
    yield alice, bob
    alice.close()
    bob.close()


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.states: list[tuple[str, str | None]] = []
        self.resyncs = 0
        self.cond = threading.Condition()

    def on_event(self, e: Event) -> None:
        with self.cond:
            self.events.append(e)
            self.cond.notify_all()

    def on_state(self, state: str, message: str | None) -> None:
        with self.cond:
            self.states.append((state, message))
            self.cond.notify_all()

    def on_resync(self) -> None:
        with self.cond:
            self.resyncs += 1
            self.cond.notify_all()

    def wait(self, pred: Callable[[Recorder], bool], what: str, timeout: float = TIMEOUT) -> None:
        # Short slices: some predicates look at things that do not notify (the proxy).
        deadline = time.monotonic() + timeout
        with self.cond:
            while not (ok := pred(self)) and time.monotonic() < deadline:
                self.cond.wait(0.05)
        assert ok, (
            f"timed out waiting for {what}; states={self.states} resyncs={self.resyncs} events={self.events}"
        )

    def state_names(self) -> list[str]:
        return [s for s, _ in self.states]

    def invitations(self, token: bytes) -> list[Invitation]:
        return [e for e in self.events if isinstance(e, Invitation) and e.token == token]

    def stream(self, session: Session, **kw: Any) -> EventStream:
        return EventStream(session, self.on_event, self.on_state, self.on_resync, **kw)


def via(proxy: TCPProxy) -> Transport:
    return Transport(parse_server(f"parsec3://127.0.0.1:{proxy.port}?no_ssl=true"))


def has_config(r: Recorder) -> bool:
    return any(isinstance(e, OrganizationConfig) for e in r.events)


# --- against the real server -------------------------------------------------------


def test_invitation_by_another_admin_arrives(admins: tuple[Session, Session]) -> None:
    alice, bob = admins
    r = Recorder()
    with r.stream(alice):
        r.wait(has_config, "ORGANIZATION_CONFIG")
        config = next(e for e in r.events if isinstance(e, OrganizationConfig))
        assert config.sse_keepalive_seconds == KEEPALIVE and config.id is None
        new = inv.invite_new_user(bob, "carol@example.com")
        r.wait(lambda r: len(r.invitations(new.token)) == 1, "the INVITATION event")
        got = r.invitations(new.token)[0]
        assert got.invitation_status == "PENDING" and got.id is not None and len(got.id) == 32
        inv.invite_cancel(bob, new.token)
        r.wait(lambda r: len(r.invitations(new.token)) == 2, "the CANCELLED event")
        assert r.invitations(new.token)[1].invitation_status == "CANCELLED"
    assert r.state_names() == ["online"]
    assert r.resyncs == 0


def _thread_cpu_ticks(native_id: int) -> int:
    with open(f"/proc/self/task/{native_id}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_silent_cut_goes_offline_and_missed_events_are_replayed_once(admins: tuple[Session, Session]) -> None:
    alice, bob = admins
    r = Recorder()
    with TCPProxy(alice.device.server.effective_port) as proxy:
        stream = r.stream(alice, transport=via(proxy), backoff_max=1.0).start()
        try:
            r.wait(has_config, "ORGANIZATION_CONFIG")
            first = inv.invite_new_user(bob, "before@example.com")
            r.wait(lambda r: len(r.invitations(first.token)) == 1, "the first invitation")

            if sys.platform.startswith("linux"):
                # Idle and online: the thread sleeps in a socket read (2 keepalives go by).
                tid = stream._thread.native_id  # type: ignore[union-attr]
                before = _thread_cpu_ticks(tid)
                time.sleep(2 * KEEPALIVE + 0.5)
                assert _thread_cpu_ticks(tid) - before <= 5, "the idle event thread uses CPU"

            proxy.pause()  # the network goes silent: no FIN, no RST, no keepalive
            r.wait(
                lambda r: r.state_names()[-1:] == ["offline"],
                "offline after a silent cut",
                timeout=KEEPALIVE + 5 + 10,  # well under the 35 s of an unconfigured read timeout
            )
            assert r.state_names() == ["online", "offline"]

            proxy.kill_connections()
            proxy.refuse()
            proxy.resume()
            during = inv.invite_new_user(bob, "during@example.com")  # while we are away
            r.wait(lambda r: proxy.accepted >= 3, "a few refused reconnection attempts")
            assert r.state_names() == ["online", "offline"]  # no state storm while retrying

            proxy.refuse(False)
            r.wait(lambda r: len(r.invitations(during.token)) >= 1, "the invitation made during the cut")
            # Events are ordered: once this ping is seen, any duplicate would have been too.
            bob.client.send("ping", ping="marker")
            r.wait(
                lambda r: any(isinstance(e, Pinged) and e.ping == "marker" for e in r.events), "the marker"
            )
        finally:
            stream.stop()
    assert len(r.invitations(during.token)) == 1
    assert len(r.invitations(first.token)) == 1
    assert r.state_names() == ["online", "offline", "online"]
    assert r.resyncs == 0  # replayed by Last-Event-ID, not resynced


def test_unknown_last_event_id_means_missed_events_and_resync(admins: tuple[Session, Session]) -> None:
    alice, bob = admins
    r = Recorder()
    with r.stream(alice, last_event_id=uuid.uuid4().hex):
        r.wait(lambda r: r.resyncs == 1, "the resync callback")
        new = inv.invite_new_user(bob, "carol@example.com")
        r.wait(lambda r: len(r.invitations(new.token)) == 1, "events after the resync")
    assert r.resyncs == 1


def test_reconnecting_without_any_event_id_resyncs(admins: tuple[Session, Session]) -> None:
    alice, _ = admins
    r = Recorder()
    with TCPProxy(alice.device.server.effective_port) as proxy:
        with r.stream(alice, transport=via(proxy), backoff_max=1.0):
            r.wait(has_config, "ORGANIZATION_CONFIG")
            assert r.resyncs == 0
            proxy.kill_connections()  # nothing with an id was received: no Last-Event-ID to send
            r.wait(lambda r: r.state_names() == ["online", "offline", "online"], "the reconnection")
            r.wait(lambda r: r.resyncs == 1, "a resync after reconnecting blind")


def test_unreachable_server_is_retried_until_it_answers(admins: tuple[Session, Session]) -> None:
    alice, _ = admins
    r = Recorder()
    with TCPProxy(alice.device.server.effective_port) as proxy:
        proxy.refuse()
        with r.stream(alice, transport=via(proxy), backoff_max=0.5):
            r.wait(lambda r: r.state_names() == ["offline"], "offline")
            assert "cannot be reached" in (r.states[0][1] or "")
            r.wait(lambda r: proxy.accepted >= 3, "retries")
            proxy.refuse(False)
            r.wait(lambda r: r.state_names() == ["offline", "online"], "online once the server answers")


def test_revoked_user_stops_with_an_error_state(admins: tuple[Session, Session]) -> None:
    alice, bob = admins
    r = Recorder()
    stream = r.stream(bob, backoff_max=0.5).start()
    try:
        r.wait(has_config, "ORGANIZATION_CONFIG")
        revoke_user(alice, bob.device.user_id)
        r.wait(lambda r: r.state_names()[-1:] == ["error"], "the error state")
        stream._thread.join(10)  # type: ignore[union-attr]
        assert not stream.running  # stopped for good: no retry loop
    finally:
        stream.stop()
    assert isinstance(stream.error, errors.AuthenticationError) and stream.error.status == 461
    assert "revoked" in (r.states[-1][1] or "")
    assert r.state_names().count("error") == 1


def test_stop_is_prompt_while_reading_and_while_waiting(
    parsec_server: ParsecServer, org_name: str, tmp_path: Path
) -> None:
    # The default server: a 30 s keepalive, so only stop() can end the read early.
    alice = new_admin_session(parsec_server, org_name, tmp_path / "config")
    r = Recorder()
    stream = r.stream(alice).start()
    r.wait(has_config, "ORGANIZATION_CONFIG")
    t0 = time.monotonic()
    stream.stop(timeout=10)
    assert not stream.running
    assert time.monotonic() - t0 < 5  # blocked in a read that only a keepalive would end otherwise

    with TCPProxy(alice.device.server.effective_port) as proxy:
        proxy.refuse()
        waiting = r.stream(alice, transport=via(proxy), backoff_initial=60.0, backoff_max=60.0).start()
        r.wait(lambda r: proxy.accepted >= 1 and waiting.state == "offline", "the backoff wait")
        t0 = time.monotonic()
        waiting.stop(timeout=10)
        assert not waiting.running
        assert time.monotonic() - t0 < 5
    alice.close()


def test_callback_errors_do_not_stop_the_stream(admins: tuple[Session, Session]) -> None:
    alice, bob = admins
    seen: list[Event] = []

    def bad(e: Event) -> None:
        seen.append(e)
        raise RuntimeError("a bug in the tray")

    def wait_for(pred: Callable[[], bool]) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not pred():
            assert time.monotonic() < deadline, seen
            time.sleep(0.05)

    stream = EventStream(alice, bad).start()
    try:
        # Events sent before the server registered the stream are not for it.
        wait_for(lambda: any(isinstance(e, OrganizationConfig) for e in seen))
        new = inv.invite_new_user(bob, "carol@example.com")
        wait_for(lambda: any(isinstance(e, Invitation) and e.token == new.token for e in seen))
        assert stream.running
    finally:
        stream.stop()


# --- handshake statuses, against a fake endpoint ---------------------------------------


class FakeEvents:
    """Answers GET /authenticated/<org>/events with the queued (status,
    content type, body) answers, then 461."""

    def __init__(self, answers: list[tuple[int, str, bytes]]) -> None:
        self.answers = list(answers)
        self.requests: list[dict[str, str]] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                fake.requests.append(dict(self.headers))
                status, ctype, body = (
                    fake.answers.pop(0) if fake.answers else (461, "application/json", b"{}")
                )
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def fake_session(port: int) -> Session:
    addr = ParsecOrganizationBootstrapAddr(
        parse_server(f"parsec3://127.0.0.1:{port}?no_ssl=true"), OrganizationID("Fake"), None
    )
    plan = bootstrap.prepare(addr, HumanHandle("a@example.com", "A"), DeviceLabel("pc"))
    return Session(plan.device)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, errors.AuthenticationError),
        (403, errors.AuthenticationError),
        (404, errors.OrganizationNotFoundError),
        (406, errors.ProtocolError),
        (422, errors.IncompatibleServerError),
        (460, errors.OrganizationExpiredError),
        (461, errors.UserRevokedError),
        (462, errors.UserFrozenError),
        (463, errors.TosNotAcceptedError),
        (464, errors.AuthenticationError),
        (498, errors.ClockOutOfSyncError),
    ],
)
def test_refusals_end_the_stream_with_their_sentence(status: int, cls: type[errors.ParsecTrayError]) -> None:
    fake = FakeEvents([(status, "application/json", b'{"detail":"no"}')])
    r = Recorder()
    stream = r.stream(fake_session(fake.port), backoff_initial=0.01, backoff_max=0.02).start()
    try:
        r.wait(lambda r: r.state_names() == ["error"], "the error state")
        stream._thread.join(10)  # type: ignore[union-attr]
        assert not stream.running
    finally:
        stream.stop()
        fake.close()
    assert type(stream.error) is cls
    assert r.states[0][1] == str(stream.error)
    assert len(fake.requests) == 1  # never retried


@pytest.mark.parametrize(
    "answer",
    [
        (500, "application/json", b"{}"),
        (502, "text/html", b"<h1>Bad gateway</h1>"),
        (503, "text/plain", b"down"),
        (504, "text/plain", b""),
        (429, "text/plain", b"slow down"),
        (200, "text/html", b"<html>captive portal</html>"),
    ],
)
def test_unavailable_answers_are_retried(answer: tuple[int, str, bytes]) -> None:
    fake = FakeEvents([answer, answer])  # then 461: ends the test
    r = Recorder()
    stream = r.stream(fake_session(fake.port), backoff_initial=0.01, backoff_max=0.02).start()
    try:
        r.wait(lambda r: r.state_names()[-1:] == ["error"], "the final refusal")
    finally:
        stream.stop()
        fake.close()
    assert r.state_names() == ["offline", "error"]
    assert len(fake.requests) == 3
    h = fake.requests[-1]
    assert h["Accept"] == "text/event-stream" and h["Authorization"].startswith("Bearer PARSEC-SIGN-ED25519.")


def test_replayed_duplicates_are_dropped_and_the_last_id_is_sent_back() -> None:
    def frame(ping: str, event_id: str) -> bytes:
        payload = base64.b64encode(packb({"status": "ok", "event": "PINGED", "ping": ping}))
        return b"data:" + payload + b"\nid:" + event_id.encode() + b"\n\n"

    a, b = "aa" * 16, "bb" * 16
    body = frame("one", a) + frame("one again", a) + frame("two", b)
    fake = FakeEvents([(200, "text/event-stream", body), (200, "text/event-stream", frame("two", b))])
    r = Recorder()
    stream = r.stream(fake_session(fake.port), backoff_initial=0.01, backoff_max=0.02).start()
    try:
        r.wait(lambda r: r.state_names()[-1:] == ["error"], "the final refusal")
    finally:
        stream.stop()
        fake.close()
    assert [e.ping for e in r.events if isinstance(e, Pinged)] == ["one", "two"]
    assert "Last-Event-ID" not in fake.requests[0]
    assert fake.requests[1]["Last-Event-ID"] == b and fake.requests[2]["Last-Event-ID"] == b


# --- backoff -------------------------------------------------------------------------


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(1)
    for failures in range(12):
        bound = min(30.0, 0.5 * 2**failures)
        for _ in range(50):
            d = backoff_delay(failures, rng=rng)
            assert bound / 2 <= d <= bound
    assert backoff_delay(0, rng=random.Random(2)) <= 0.5
    assert backoff_delay(1000, rng=random.Random(3)) <= 30.0
    delays = {round(backoff_delay(5, rng=rng), 6) for _ in range(20)}
    assert len(delays) > 10  # jittered: reconnecting clients do not move in step
