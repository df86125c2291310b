"""The command protocol without I/O (requests, replies, the signed
Authorization header, clock errors), checked against libparsec's bindings
and against the real Parsec 3.9.3 server.
"""

from __future__ import annotations

import base64
import os
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import require
from hypothesis import given, settings
from hypothesis import strategies as st
from parsec_tray.core import bootstrap, protocol
from parsec_tray.core.addr import parse_server
from parsec_tray.core.administration import AdministrationClient
from parsec_tray.core.crypto import SigningKey
from parsec_tray.core.errors import (
    AuthenticationError,
    ClockOutOfSyncError,
    ParsecTrayError,
    ProtocolError,
    ServerRefusedError,
)
from parsec_tray.core.local_device import LocalDevice
from parsec_tray.core.transport import AnonymousClient, AuthenticatedClient, Transport
from parsec_tray.core.values import AccessToken, DateTime, DeviceID, DeviceLabel, HumanHandle, OrganizationID

try:
    from parsec import _parsec as ref
except ImportError:  # checked by the fixture below (skip locally, fail under CI)
    ref = None


@pytest.fixture(autouse=True, scope="module")
def _reference() -> None:
    require(ref is not None, "parsec-cloud 3.9.3 (parsec._parsec, the reference bindings)")


HEADER_RE = re.compile(r"Bearer PARSEC-SIGN-ED25519\.([0-9a-f]{32})\.([0-9]+)\.([A-Za-z0-9_-]{86}==)")


def assert_sentence(err: BaseException) -> str:
    assert isinstance(err, ParsecTrayError), repr(err)
    text = str(err)
    assert text and text[0].isupper() and text.rstrip().endswith((".", "!", "?")), text
    for noise in ("Traceback", "Error(", "b'", "\\x", "requests.", "msgpack"):
        assert noise not in text, text
    assert not re.search(r"[A-Za-z](Error|Exception)\b", text), f"an exception class in {text!r}"
    return text


# --- the Authorization header -------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(now=st.floats(min_value=1e9, max_value=4e9, allow_nan=False), seed=st.binary(min_size=32, max_size=32))
def test_auth_header_shape_and_signature_checked_by_libparsec(now: float, seed: bytes) -> None:
    device_id = DeviceID.new()
    header = protocol.auth_header(device_id, SigningKey(seed), now=now)
    match = HEADER_RE.fullmatch(header)
    assert match, header
    hex_id, ts, sig_b64 = match.groups()
    assert hex_id == device_id.hex
    assert int(ts) == int(now)
    assert len(sig_b64) == 88  # base64url WITH padding (fact sheet d.2)
    signature = base64.urlsafe_b64decode(sig_b64)
    signed_part = f"PARSEC-SIGN-ED25519.{hex_id}.{ts}".encode()
    their_key = ref.SigningKey(seed)
    their_key.verify_key.verify_with_signature(signature, signed_part)  # raises if wrong
    # Ed25519 is deterministic: libparsec signs the same bytes identically.
    assert signature == their_key.sign_only_signature(signed_part)
    with pytest.raises(ref.CryptoError):
        ref.SigningKey.generate().verify_key.verify_with_signature(signature, signed_part)


def test_auth_header_uses_the_clock_by_default() -> None:
    before = int(time.time())
    match = HEADER_RE.fullmatch(protocol.auth_header(DeviceID.new(), SigningKey.generate()))
    assert match and before <= int(match.group(2)) <= int(time.time())


def _bootstrap(server: Any, org: str) -> LocalDevice:
    transport = Transport(parse_server(server.url))
    try:
        addr = AdministrationClient(transport, server.admin_token).create_organization(OrganizationID(org))
        plan = bootstrap.prepare(addr, HumanHandle("pat@example.com", "Pat"), DeviceLabel("Pat's PC"))
        reply = AnonymousClient(transport, addr.organization_id).send("organization_bootstrap", **plan.fields)
        bootstrap.check_reply(reply, org, addr.token)
        return plan.device
    finally:
        transport.close()


@pytest.fixture(scope="module")
def device(parsec_server: Any) -> LocalDevice:
    return _bootstrap(parsec_server, f"Proto{os.getpid() % 1000}x{uuid.uuid4().hex[:8]}")


@pytest.fixture
def transport(device: LocalDevice) -> Iterator[Transport]:
    t = Transport(device.server, timeout=(5.0, 10.0))
    yield t
    t.close()


def _ping(transport: Transport, device: LocalDevice, header: str) -> dict[str, Any]:
    body = protocol.encode_request("ping", ping="hello")
    return transport.command("authenticated", device.organization_id, body, {"Authorization": header})


@pytest.mark.server
@pytest.mark.parametrize("age", [0, 250], ids=["now", "250s-old"])
def test_real_server_accepts_our_header(transport: Transport, device: LocalDevice, age: int) -> None:
    header = protocol.auth_header(device.device_id, device.signing_key, now=time.time() - age)
    assert _ping(transport, device, header) == {"status": "ok", "pong": "hello"}


@pytest.mark.server
@pytest.mark.parametrize("shift", [-400, 310], ids=["400s-old", "310s-ahead"])
def test_real_server_refuses_a_header_out_of_ballpark(
    transport: Transport, device: LocalDevice, shift: int
) -> None:
    header = protocol.auth_header(device.device_id, device.signing_key, now=time.time() + shift)
    with pytest.raises(ClockOutOfSyncError) as exc:
        _ping(transport, device, header)
    assert exc.value.status == 498
    assert "clock" in assert_sentence(exc.value)


@pytest.mark.server
def test_real_server_refuses_an_unpadded_signature(transport: Transport, device: LocalDevice) -> None:
    header = protocol.auth_header(device.device_id, device.signing_key)
    assert header.endswith("==")
    with pytest.raises(AuthenticationError) as exc:
        _ping(transport, device, header.rstrip("="))
    assert exc.value.status == 401 and not isinstance(exc.value, ClockOutOfSyncError)
    assert_sentence(exc.value)


@pytest.mark.server
def test_real_server_refuses_another_key(transport: Transport, device: LocalDevice) -> None:
    header = protocol.auth_header(device.device_id, SigningKey.generate())
    with pytest.raises(AuthenticationError) as exc:
        _ping(transport, device, header)
    assert exc.value.status == 403
    assert "does not recognise this device" in assert_sentence(exc.value)


@pytest.mark.server
def test_authenticated_client_signs_every_request(transport: Transport, device: LocalDevice) -> None:
    client = AuthenticatedClient(transport, device.organization_id, device.device_id, device.signing_key)
    for i in range(3):
        assert client.send("ping", ping=f"p{i}") == {"status": "ok", "pong": f"p{i}"}
    assert HEADER_RE.fullmatch(client._headers()["Authorization"])


# --- timestamp_out_of_ballpark ------------------------------------------------------------


def _ballpark(server_us: int, client_us: int) -> dict[str, Any]:
    return {
        "status": "timestamp_out_of_ballpark",
        "ballpark_client_early_offset": 300.0,
        "ballpark_client_late_offset": 320.0,
        "server_timestamp": DateTime(server_us),
        "client_timestamp": DateTime(client_us),
    }


@pytest.mark.parametrize(
    ("delta_s", "words"),
    [
        (-3600, "about 60 minutes behind"),
        (-301, "about 5 minutes behind"),
        (900, "about 15 minutes ahead of"),
        (-40, "about 40 seconds behind"),
        (-1, "about 1 second behind"),
        (7200, "about 2 hours ahead of"),
        (86400, "about 24 hours ahead of"),
        (3 * 86400, "about 3 days ahead of"),
    ],
)
def test_clock_error_states_the_offset(delta_s: int, words: str) -> None:
    server = DateTime.now().us
    err = protocol.clock_error(_ballpark(server, server + delta_s * 1_000_000))
    assert isinstance(err, ClockOutOfSyncError)
    assert err.offset_seconds == pytest.approx(delta_s)
    assert words in assert_sentence(err)


def test_clock_error_without_timestamps_still_says_what_to_do() -> None:
    err = protocol.clock_error({"status": "timestamp_out_of_ballpark", "server_timestamp": "garbage"})
    assert err.offset_seconds is None
    assert "clock" in assert_sentence(err)


def test_clock_error_from_a_reply_made_by_libparsec() -> None:
    rep = ref.authenticated_cmds.latest.device_create.RepTimestampOutOfBallpark(
        300.0,
        320.0,
        ref.DateTime.from_timestamp_micros(1_800_000_000_000_000),
        ref.DateTime.from_timestamp_micros(1_800_000_000_000_000 + 7_200_000_000),
    )
    err = protocol.clock_error(protocol.decode_reply(rep.dump()))
    assert err.offset_seconds == pytest.approx(7200)
    assert "about 2 hours ahead of" in assert_sentence(err)


def test_unexpected_ballpark_status_becomes_a_clock_error() -> None:
    clock = protocol.unexpected_status("ping", _ballpark(0, 10_000_000_000))
    assert isinstance(clock, ClockOutOfSyncError)
    other = protocol.unexpected_status("ping", {"status": "author_not_allowed"})
    assert isinstance(other, ServerRefusedError) and other.status == "author_not_allowed"


@pytest.mark.server
@pytest.mark.parametrize("hours", [-1, 1], ids=["behind", "ahead"])
def test_real_server_ballpark_refusal_states_the_offset(parsec_server: Any, hours: int) -> None:
    org = f"Ballpark{os.getpid() % 1000}x{uuid.uuid4().hex[:8]}"
    transport = Transport(parse_server(parsec_server.url))
    try:
        addr = AdministrationClient(transport, parsec_server.admin_token).create_organization(
            OrganizationID(org)
        )
        skewed = DateTime(DateTime.now().us + hours * 3_600_000_000)
        plan = bootstrap.prepare(addr, HumanHandle("sam@example.com", "Sam"), DeviceLabel("PC"), now=skewed)
        client = AnonymousClient(transport, addr.organization_id)
        reply = client.send("organization_bootstrap", **plan.fields)
        assert reply["status"] == "timestamp_out_of_ballpark"
        with pytest.raises(ClockOutOfSyncError) as exc:
            bootstrap.check_reply(reply, org, addr.token)
        text = assert_sentence(exc.value)
        assert f"about 60 minutes {'behind' if hours < 0 else 'ahead of'}" in text
        assert exc.value.offset_seconds == pytest.approx(hours * 3600, abs=10)
        assert parsec_server.organization(org)["is_bootstrapped"] is False
        # Same link, right clock: accepted.
        fresh = bootstrap.prepare(addr, HumanHandle("sam@example.com", "Sam"), DeviceLabel("PC"))
        assert client.send("organization_bootstrap", **fresh.fields) == {"status": "ok"}
    finally:
        transport.close()


# --- request encoding, reply decoding -----------------------------------------------------

AUTH = None if ref is None else ref.authenticated_cmds.latest
ANON = None if ref is None else ref.anonymous_cmds.latest
INVITED = None if ref is None else ref.invited_cmds.latest


def test_ping_request_loads_with_libparsec() -> None:
    body = protocol.encode_request("ping", ping="x")
    assert body == bytes.fromhex("82a3636d64a470696e67a470696e67a178")  # {cmd: ping, ping: x}
    for family in (AUTH, ANON, INVITED):
        req = family.AnyCmdReq.load(body)
        assert isinstance(req, family.ping.Req) and req.ping == "x"
        assert req == family.ping.Req("x")


def test_requests_with_ids_tokens_and_timestamps_load_with_libparsec() -> None:
    token = AccessToken(os.urandom(16))
    realm = uuid.uuid4()
    now = DateTime.now()

    req = AUTH.AnyCmdReq.load(protocol.encode_request("invite_cancel", token=bytes(token)))
    assert isinstance(req, AUTH.invite_cancel.Req) and req.token.bytes == bytes(token)

    req = AUTH.AnyCmdReq.load(
        protocol.encode_request(
            "certificate_get",
            common_after=now,
            sequester_after=None,
            shamir_recovery_after=None,
            realm_after={realm: DateTime(5)},
        )
    )
    assert isinstance(req, AUTH.certificate_get.Req)
    assert req.common_after.as_timestamp_micros() == now.us
    assert req.sequester_after is None and req.shamir_recovery_after is None
    assert {k.hex: v.as_timestamp_micros() for k, v in req.realm_after.items()} == {realm.hex: 5}

    req = AUTH.AnyCmdReq.load(
        protocol.encode_request("invite_new_user", claimer_email="a@example.com", send_email=False)
    )
    assert isinstance(req, AUTH.invite_new_user.Req)
    assert (str(req.claimer_email), req.send_email) == ("a@example.com", False)

    req = AUTH.AnyCmdReq.load(protocol.encode_request("invite_list"))
    assert isinstance(req, AUTH.invite_list.Req)


def test_libparsec_refuses_what_we_would_get_wrong() -> None:
    """The checks above can fail: libparsec does refuse a token sent as a
    UUID (ext2) instead of bin, and an unknown command."""
    with pytest.raises(ValueError):
        AUTH.AnyCmdReq.load(protocol.encode_request("invite_cancel", token=uuid.uuid4()))
    with pytest.raises(ValueError):
        AUTH.AnyCmdReq.load(protocol.encode_request("no_such_command"))


def test_replies_made_by_libparsec_decode_here() -> None:
    assert protocol.decode_reply(AUTH.ping.RepOk("pong!").dump()) == {"status": "ok", "pong": "pong!"}

    token = ref.AccessToken.new()
    reply = protocol.decode_reply(
        AUTH.invite_new_user.RepOk(token, AUTH.invite_new_user.InvitationEmailSentStatus.SUCCESS).dump()
    )
    assert reply == {"status": "ok", "token": token.bytes, "email_sent": "SUCCESS"}

    realm = ref.VlobID.new()
    reply = protocol.decode_reply(
        AUTH.certificate_get.RepOk([b"a", b"b"], [], [b"c"], {realm: [b"d"]}).dump()
    )
    assert reply["common_certificates"] == [b"a", b"b"]
    assert reply["sequester_certificates"] == []
    assert reply["shamir_recovery_certificates"] == [b"c"]
    assert reply["realm_certificates"] == {uuid.UUID(bytes=realm.bytes): [b"d"]}

    reply = protocol.decode_reply(AUTH.organization_info.RepOk(12, 34).dump())
    assert reply == {"status": "ok", "total_metadata_bytes": 12, "total_block_bytes": 34}

    reply = protocol.decode_reply(AUTH.invite_new_user.RepAuthorNotAllowed().dump())
    assert reply == {"status": "author_not_allowed"}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xc1",
        b"\x93\x01\x02\x03",  # an array
        b"\xa2ok",  # a string
        b"\x81\xa4pong\xa1x",  # a map without status
        b"\x81\xa6status\x01",  # status not text
        b"\x82\xa6status\xa2ok\xa4pong",  # truncated
        b"\x81\xa6status\xa2ok\x00",  # trailing bytes
        b"\x81\xa6status\xa2\xff\xfe",  # invalid UTF-8
        b"\x81\xa6status\xd6\x01\x00\x00\x00\x00",  # ext1 of 4 bytes
        b"\xdb\xff\xff\xff\xff",  # a 4 GiB string header
    ],
)
def test_undecodable_replies_are_protocol_errors(body: bytes) -> None:
    with pytest.raises(ProtocolError) as exc:
        protocol.decode_reply(body)
    assert_sentence(exc.value)
