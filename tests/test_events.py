"""core/events.py: the SSE parser and the typed events of ``events_listen``.

The payloads are produced by the reference bindings
(``parsec._parsec.authenticated_cmds.latest.events_listen``, the code the
server itself uses to build each ``data:`` line), framed the way the server
frames them, then cut into arbitrary chunks.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import msgpack
import pytest
from conftest import require
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from parsec_tray.core import events as ev
from parsec_tray.core.serialization import packb
from parsec_tray.core.values import AccessToken, DateTime

try:
    import parsec._parsec as P
    from parsec._parsec import authenticated_cmds

    EL = authenticated_cmds.latest.events_listen
except ImportError:  # pragma: no cover - checked by require() below
    P = None
    EL = None


@pytest.fixture(autouse=True)
def _bindings() -> None:
    require(EL is not None, "parsec-cloud 3.9.3 (the parsec._parsec reference bindings)")


# --- what the server sends, built by the bindings ------------------------------


def binding_payload(spec: tuple[Any, ...]) -> bytes:
    """``RepOk(unit).dump()`` for one event described by ``spec``."""
    kind = spec[0]
    if kind == "INVITATION":
        _, token, status = spec
        unit = EL.APIEventInvitation(P.AccessToken.from_bytes(token), P.InvitationStatus.from_str(status))
    elif kind in ("GREETING_ATTEMPT_READY", "GREETING_ATTEMPT_JOINED", "GREETING_ATTEMPT_CANCELLED"):
        _, token, attempt = spec
        cls = {
            "GREETING_ATTEMPT_READY": EL.APIEventGreetingAttemptReady,
            "GREETING_ATTEMPT_JOINED": EL.APIEventGreetingAttemptJoined,
            "GREETING_ATTEMPT_CANCELLED": EL.APIEventGreetingAttemptCancelled,
        }[kind]
        unit = cls(P.AccessToken.from_bytes(token), P.GreetingAttemptID.from_bytes(attempt.bytes))
    elif kind == "ORGANIZATION_CONFIG":
        _, outsider, limit, keepalive, archiving = spec
        unit = EL.APIEventOrganizationConfig(
            outsider, P.ActiveUsersLimit.from_maybe_int(limit), keepalive, archiving
        )
    elif kind == "COMMON_CERTIFICATE":
        unit = EL.APIEventCommonCertificate(P.DateTime.from_timestamp_micros(spec[1]))
    elif kind == "PINGED":
        unit = EL.APIEventPinged(spec[1])
    elif kind == "PKI_ENROLLMENT":
        unit = EL.APIEventPkiEnrollment()
    else:  # pragma: no cover
        raise AssertionError(kind)
    return EL.RepOk(unit).dump()


def expected_event(spec: tuple[Any, ...], event_id: str | None) -> ev.Event:
    kind = spec[0]
    if kind == "INVITATION":
        return ev.Invitation(id=event_id, token=AccessToken(spec[1]), invitation_status=spec[2])
    if kind == "GREETING_ATTEMPT_READY":
        return ev.GreetingAttemptReady(id=event_id, token=AccessToken(spec[1]), greeting_attempt=spec[2])
    if kind == "GREETING_ATTEMPT_JOINED":
        return ev.GreetingAttemptJoined(id=event_id, token=AccessToken(spec[1]), greeting_attempt=spec[2])
    if kind == "GREETING_ATTEMPT_CANCELLED":
        return ev.GreetingAttemptCancelled(id=event_id, token=AccessToken(spec[1]), greeting_attempt=spec[2])
    if kind == "ORGANIZATION_CONFIG":
        return ev.OrganizationConfig(
            id=event_id,
            user_profile_outsider_allowed=spec[1],
            active_users_limit=spec[2],
            sse_keepalive_seconds=spec[3],
            realm_minimum_archiving_period_before_deletion=spec[4],
        )
    if kind == "COMMON_CERTIFICATE":
        return ev.CommonCertificate(id=event_id, timestamp=DateTime(spec[1]))
    if kind == "PINGED":
        return ev.Pinged(id=event_id, ping=spec[1])
    if kind == "PKI_ENROLLMENT":
        return ev.Unknown(id=event_id, name="PKI_ENROLLMENT")
    raise AssertionError(kind)  # pragma: no cover


tokens = st.binary(min_size=16, max_size=16)
event_specs = st.one_of(
    st.tuples(st.just("INVITATION"), tokens, st.sampled_from(["PENDING", "CANCELLED", "FINISHED"])),
    st.tuples(
        st.sampled_from(["GREETING_ATTEMPT_READY", "GREETING_ATTEMPT_JOINED", "GREETING_ATTEMPT_CANCELLED"]),
        tokens,
        st.uuids(),
    ),
    st.tuples(
        st.just("ORGANIZATION_CONFIG"),
        st.booleans(),
        st.none() | st.integers(0, 2**32 - 1),
        st.none() | st.integers(1, 2**32 - 1),  # a NonZeroU64 in the schema
        st.integers(0, 2**32 - 1),
    ),
    st.tuples(st.just("COMMON_CERTIFICATE"), st.integers(0, 2**55)),
    st.tuples(st.just("PINGED"), st.text(max_size=40)),
    st.tuples(st.just("PKI_ENROLLMENT")),
)
event_ids = st.none() | st.uuids().map(lambda u: u.hex)
# A frame: a Parsec event, a control frame, or a comment.
frames = st.one_of(
    st.tuples(st.just("event"), event_specs, event_ids),
    st.tuples(st.just("keepalive")),
    st.tuples(st.just("missed_events")),
    st.tuples(st.just("comment"), st.text(alphabet=st.characters(blacklist_characters="\r\n"), max_size=20)),
)
line_ends = st.sampled_from(["\n", "\r\n", "\r"])


def frame_lines(frame: tuple[Any, ...], space: bool) -> tuple[list[str], ev.Event | None]:
    sp = " " if space else ""
    if frame[0] == "event":
        _, spec, event_id = frame
        data = base64.b64encode(binding_payload(spec)).decode("ascii")
        lines = [f"data:{sp}{data}"]
        if event_id is not None:
            lines.append(f"id:{sp}{event_id}")
        return lines + [""], expected_event(spec, event_id)
    if frame[0] == "keepalive":
        return ["event:keepalive", "data:", ""], ev.Keepalive()
    if frame[0] == "missed_events":
        return [f"event:{sp}missed_events", "data:", ""], ev.MissedEvents()
    return [f":{frame[1]}"], None


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[ev.Event]]:
    """A whole stream and the events it must give."""
    fs = draw(st.lists(frames, max_size=12))
    text: list[str] = []
    expected: list[ev.Event] = []
    prev_end = ""
    for f in fs:
        lines, event = frame_lines(f, draw(st.booleans()))
        for line in lines:
            end = draw(line_ends)
            if prev_end == "\r" and not line and end == "\n":
                end = "\r"  # "\r" + "\n" would be read as one CRLF: not a blank line
            text.append(line + end)
            prev_end = end
        if event is not None:
            expected.append(event)
    return "".join(text).encode("utf-8"), expected


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, last = [], 0
    for p in points:
        out.append(data[last:p])
        last = p
    out.append(data[last:])
    return out


def parse_all(chunks: list[bytes]) -> list[ev.Event]:
    p = ev.EventParser()
    out: list[ev.Event] = []
    for c in chunks:
        out.extend(p.feed(c))
    return out


# --- properties ------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=streams(), cuts=st.lists(st.integers(min_value=0), max_size=30))
def test_any_chunking_yields_the_events_the_bindings_encoded(
    stream: tuple[bytes, list[ev.Event]], cuts: list[int]
) -> None:
    data, expected = stream
    assert parse_all([data]) == expected
    assert parse_all(chunked(data, cuts)) == expected


@settings(max_examples=50, deadline=None)
@given(stream=streams())
def test_byte_by_byte(stream: tuple[bytes, list[ev.Event]]) -> None:
    data, expected = stream
    assert parse_all([data[i : i + 1] for i in range(len(data))]) == expected


@settings(max_examples=300, deadline=None)
@given(
    junk=st.lists(
        st.binary(max_size=64) | st.sampled_from([b"\n", b"\r", b"data:", b"id:", b"event:"]), max_size=40
    )
)
def test_garbage_never_raises(junk: list[bytes]) -> None:
    p = ev.EventParser()
    for c in junk:
        for e in p.feed(c):
            assert isinstance(e, ev.Event)


@settings(max_examples=100, deadline=None)
@given(spec=event_specs)
def test_binding_payload_decodes(spec: tuple[Any, ...]) -> None:
    raw = ev.RawEvent("message", base64.b64encode(binding_payload(spec)).decode(), "ab" * 16)
    assert ev.decode_event(raw) == expected_event(spec, "ab" * 16)


# --- examples ----------------------------------------------------------------------


def sse(payload: dict[str, Any], event_id: str | None = None) -> bytes:
    body = b"data:" + base64.b64encode(packb(payload))
    if event_id:
        body += b"\nid:" + event_id.encode()
    return body + b"\n\n"


def test_fact_sheet_example() -> None:
    # d.4: the start of a real stream (ORGANIZATION_CONFIG without id, then an INVITATION).
    token = bytes.fromhex("5022aa64da37712e28425b2386782cb3")
    stream = (
        b"data:"
        + base64.b64encode(binding_payload(("ORGANIZATION_CONFIG", True, None, 30, 2592000)))
        + b"\n\n"
        b"data:hKZzdGF0dXOib2ulZXZlbnSqSU5WSVRBVElPTrFpbnZpdGF0aW9uX3N0YXR1c6dQRU5ESU5HpXRva2VuxBBQIqpk2jdxLihCWyOGeCyz\n"
        b"id:8f975835dfe743a0acf77884b33250bb\n\n"
    )
    got = parse_all([stream])
    assert got == [
        ev.OrganizationConfig(
            user_profile_outsider_allowed=True,
            active_users_limit=None,
            sse_keepalive_seconds=30,
            realm_minimum_archiving_period_before_deletion=2592000,
        ),
        ev.Invitation(
            id="8f975835dfe743a0acf77884b33250bb", token=AccessToken(token), invitation_status="PENDING"
        ),
    ]


def test_keepalive_and_missed_events_exactly_as_the_server_writes_them() -> None:
    assert parse_all([b"event:keepalive\ndata:\n\n", b"event:missed_events\ndata:\n\n"]) == [
        ev.Keepalive(),
        ev.MissedEvents(),
    ]


def test_frame_without_data_is_not_dispatched() -> None:
    p = ev.SSEParser()
    assert p.feed(b"event:keepalive\n\nid:abc\n\n") == []
    assert p.last_event_id == "abc"  # an id alone still moves the last id


def test_last_event_id_is_sticky_and_frames_carry_their_own_id() -> None:
    p = ev.SSEParser()
    a = p.feed(b"data:x\nid:one\n\ndata:y\n\n")
    assert [r.id for r in a] == ["one", None]
    assert p.last_event_id == "one"
    assert p.feed(b"data:z\nid:bad\0id\n\n")[0].id is None  # NUL: ignored
    assert p.last_event_id == "one"


def test_comments_bom_multiline_data_retry_and_unknown_fields() -> None:
    p = ev.SSEParser()
    got = p.feed("\ufeff: hello\r\nfoo:bar\r\ndata:a\r\ndata: b\r\nretry:1500\r\n\r\n".encode())
    assert got == [ev.RawEvent("message", "a\nb", None, 1500)]


def test_cr_then_lf_across_chunks_is_one_line_end() -> None:
    p = ev.SSEParser()
    assert p.feed(b"data:a\r") == []
    assert p.feed(b"\n") == []  # the LF completes the CR: not a blank line
    assert p.feed(b"\r") == [ev.RawEvent("message", "a")]


def test_utf8_split_inside_a_character() -> None:
    data = sse({"status": "ok", "event": "PINGED", "ping": "héllo ✓"}, "01" * 16)
    got = parse_all([data[:1]] + [data[i : i + 1] for i in range(1, len(data))])
    assert got == [ev.Pinged(id="01" * 16, ping="héllo ✓")]


@pytest.mark.parametrize(
    "data",
    [
        b"data:not base64!!\n\n",
        b"data:" + base64.b64encode(b"\xc1") + b"\n\n",  # not msgpack
        b"data:" + base64.b64encode(msgpack.packb([1, 2])) + b"\n\n",  # not a map
        sse({"status": "not_available"}),
        sse({"status": "ok"}),  # no event name
        sse({"status": "ok", "event": "INVITATION", "token": b"short", "invitation_status": "PENDING"}),
        sse({"status": "ok", "event": "INVITATION", "invitation_status": "PENDING"}),
        sse(
            {
                "status": "ok",
                "event": "GREETING_ATTEMPT_READY",
                "token": bytes(16),
                "greeting_attempt": b"x" * 16,
            }
        ),
        sse({"status": "ok", "event": "ORGANIZATION_CONFIG", "user_profile_outsider_allowed": 1}),
        sse({"status": "ok", "event": "COMMON_CERTIFICATE", "timestamp": 12}),
        sse({"status": "ok", "event": "PINGED", "ping": b"bytes"}),
    ],
)
def test_undecodable_events_are_dropped_and_parsing_goes_on(data: bytes) -> None:
    good = sse({"status": "ok", "event": "PINGED", "ping": "after"})
    assert parse_all([data + good]) == [ev.Pinged(ping="after")]


def test_unknown_names_are_reported_not_dropped() -> None:
    vlob = sse({"status": "ok", "event": "VLOB", "realm_id": uuid.uuid4(), "version": 3}, "cd" * 16)
    got = parse_all([vlob, b"event:something_new\ndata:\n\n"])
    assert [type(e) for e in got] == [ev.Unknown, ev.Unknown]
    assert got[0].name == "VLOB" and got[0].id == "cd" * 16 and got[0].fields["version"] == 3
    assert got[1].name == "something_new"


def test_overlong_line_is_dropped_and_the_parser_recovers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ev, "MAX_LINE", 100)
    p = ev.EventParser()
    assert p.feed(b"data:" + b"A" * 80) == []
    assert p.feed(b"A" * 80) == []  # over the limit: dropped
    assert p.feed(b"A" * 500) == []
    assert p.feed(b"\n\n" + sse({"status": "ok", "event": "PINGED", "ping": "ok"})) == [ev.Pinged(ping="ok")]
