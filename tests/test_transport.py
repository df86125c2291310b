"""HTTP transport: every answer a server can give (fact sheet d.3) becomes a
typed Parsec Tray error with a sentence, never a requests or msgpack
exception.  A small loopback HTTP/1.1 server plays the odd servers; the real
Parsec 3.9.3 server plays itself.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from parsec_server import free_port
from parsec_tray.core import bootstrap, protocol
from parsec_tray.core.addr import ParsecAddr, parse_server
from parsec_tray.core.administration import AdministrationClient
from parsec_tray.core.crypto import SigningKey
from parsec_tray.core.errors import (
    AuthenticationError,
    ClockOutOfSyncError,
    IncompatibleServerError,
    InvitationGoneError,
    OrganizationExpiredError,
    OrganizationNotFoundError,
    ParsecTrayError,
    ProtocolError,
    RemoteError,
    ServerUnavailableError,
    ServerUnreachableError,
    TLSError,
    TosNotAcceptedError,
    UserFrozenError,
    UserRevokedError,
)
from parsec_tray.core.local_device import LocalDevice
from parsec_tray.core.serialization import packb
from parsec_tray.core.transport import AnonymousClient, AuthenticatedClient, InvitedClient, Transport
from parsec_tray.core.values import AccessToken, DeviceID, DeviceLabel, HumanHandle, OrganizationID

MSGPACK = "application/msgpack"
OK_PING = packb({"status": "ok", "pong": "x"})


def assert_sentence(err: BaseException) -> str:
    """A Parsec Tray error a person can read (not a library's text)."""
    assert isinstance(err, ParsecTrayError), repr(err)
    text = str(err)
    assert text and text[0].isupper() and text.rstrip().endswith((".", "!", "?")), text
    for noise in (
        "Traceback",
        "Error(",
        "b'",
        "\\x",
        "requests.",
        "urllib3",
        "HTTPConnectionPool",
        "Max retries",
    ):
        assert noise not in text, text
    assert not re.search(r"[A-Za-z](Error|Exception)\b", text), f"an exception class in {text!r}"
    return text


# --- a loopback server with scripted answers -------------------------------------------------


@dataclass
class Answer:
    status: int = 200
    body: bytes = OK_PING
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": MSGPACK, "Api-Version": "5.5"})
    declared_length: int | None = None  # lie about Content-Length, then hang up


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = Answer()
        self.connections = 0
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections += 1  # one per accepted TCP connection (keep-alive aware)
        super().process_request(request, client_address)

    @property
    def addr(self) -> ParsecAddr:
        return ParsecAddr("127.0.0.1", self.server_address[1], False)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: connections are counted
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append((self.command, self.path, dict(self.headers.items()), body))
        a = self.server.answer
        self.send_response(a.status)
        for name, value in a.headers.items():
            self.send_header(name, value)
        self.send_header(
            "Content-Length", str(a.declared_length if a.declared_length is not None else len(a.body))
        )
        self.end_headers()
        self.wfile.write(a.body)
        if a.declared_length is not None:
            self.wfile.flush()
            self.close_connection = True

    do_GET = do_POST


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def transport(fake: FakeServer) -> Iterator[Transport]:
    t = Transport(fake.addr, timeout=(2.0, 5.0))
    yield t
    t.close()


ORG = OrganizationID("Org-1")


def _client(family: str, transport: Transport) -> Any:
    if family == "invited":
        return InvitedClient(transport, ORG, AccessToken(bytes(range(16))))
    if family == "authenticated":
        return AuthenticatedClient(transport, ORG, DeviceID.new(), SigningKey.generate())
    return AnonymousClient(transport, ORG)


def _json(detail: str) -> bytes:
    return json.dumps({"detail": detail}).encode()


JSON = {"Content-Type": "application/json"}

# status -> (expected error, family, words the sentence must hold)
HTTP_STATUSES: list[tuple[int, type[RemoteError], str, str]] = [
    (401, AuthenticationError, "authenticated", "credentials"),
    (403, AuthenticationError, "authenticated", "does not recognise this device"),
    (403, AuthenticationError, "invited", "does not know this invitation"),
    (403, AuthenticationError, "anonymous", "refused"),
    (404, OrganizationNotFoundError, "anonymous", "'Org-1' does not exist"),
    (406, ProtocolError, "authenticated", "HTTP 406"),
    (410, InvitationGoneError, "invited", "already been used or was cancelled"),
    (413, ProtocolError, "anonymous", "HTTP 413"),
    (415, ProtocolError, "anonymous", "HTTP 415"),
    (460, OrganizationExpiredError, "authenticated", "expired"),
    (461, UserRevokedError, "authenticated", "revoked"),
    (462, UserFrozenError, "authenticated", "frozen"),
    (463, TosNotAcceptedError, "authenticated", "terms of service"),
    (422, IncompatibleServerError, "authenticated", "not compatible"),
    (464, AuthenticationError, "authenticated", "kind of client"),
    (498, ClockOutOfSyncError, "authenticated", "clock"),
    (500, ServerUnavailableError, "authenticated", "unavailable"),
    (502, ServerUnavailableError, "anonymous", "unavailable"),
    (503, ServerUnavailableError, "invited", "unavailable"),
    (504, ServerUnavailableError, "anonymous", "unavailable"),
    (418, ProtocolError, "anonymous", "HTTP 418"),
    (302, ProtocolError, "anonymous", "HTTP 302"),
]


@pytest.mark.parametrize(
    ("status", "error", "family", "words"), HTTP_STATUSES, ids=[f"{s}-{f}" for s, _, f, _ in HTTP_STATUSES]
)
def test_http_status_maps_to_a_typed_error(
    fake: FakeServer, transport: Transport, status: int, error: type[RemoteError], family: str, words: str
) -> None:
    fake.answer = Answer(status, _json("Bad things"), JSON)
    with pytest.raises(error) as exc:
        _client(family, transport).send("ping", ping="x")
    assert type(exc.value) is error  # not a looser parent
    text = assert_sentence(exc.value)
    assert words in text, text
    if isinstance(exc.value, (AuthenticationError, ServerUnavailableError)):
        assert exc.value.status == status
    if status in (406, 413, 415):
        assert "Bad things" in text  # the server's detail is kept
    assert len(fake.requests) == 1


def test_422_names_the_versions_the_server_supports(fake: FakeServer, transport: Transport) -> None:
    fake.answer = Answer(422, b"", {"Supported-Api-Versions": "6.1;7.0"})
    with pytest.raises(ProtocolError) as exc:
        AnonymousClient(transport, ORG).send("ping", ping="x")
    text = assert_sentence(exc.value)
    assert "6.1;7.0" in text and protocol.API_VERSION in text


UNDECODABLE: dict[str, Answer] = {
    "garbage": Answer(body=b"\xc1\xc1 not msgpack at all"),
    "empty": Answer(body=b""),
    "non-map": Answer(body=packb(["status", "ok"])),
    "map without status": Answer(body=packb({"pong": "x"})),
    "status not text": Answer(body=packb({"status": 200})),
    "truncated": Answer(body=OK_PING[:-3]),
    "trailing bytes": Answer(body=OK_PING + b"\x00"),
    "HTML": Answer(body=b"<html>Welcome to nginx</html>", headers={"Content-Type": "text/html"}),
    "wrong Content-Type": Answer(body=OK_PING, headers={"Content-Type": "application/json"}),
    "no Content-Type": Answer(body=OK_PING, headers={}),
}


@pytest.mark.parametrize("case", list(UNDECODABLE))
def test_undecodable_200_is_a_protocol_error(fake: FakeServer, transport: Transport, case: str) -> None:
    fake.answer = UNDECODABLE[case]
    with pytest.raises(ProtocolError) as exc:
        AnonymousClient(transport, ORG).send("ping", ping="x")
    assert_sentence(exc.value)


def test_a_good_reply_decodes(fake: FakeServer, transport: Transport) -> None:
    """The control for the cases above: same server, a proper reply."""
    assert AnonymousClient(transport, ORG).send("ping", ping="x") == {"status": "ok", "pong": "x"}
    fake.answer = Answer(headers={"Content-Type": "application/msgpack; charset=binary"})
    assert AnonymousClient(transport, ORG).send("ping", ping="x")["pong"] == "x"


def test_a_reply_cut_short_is_a_remote_error(fake: FakeServer, transport: Transport) -> None:
    fake.answer = Answer(body=OK_PING, declared_length=len(OK_PING) + 50)
    with pytest.raises(ServerUnreachableError) as exc:
        AnonymousClient(transport, ORG).send("ping", ping="x")
    assert "broke off" in assert_sentence(exc.value)
    fake.answer = Answer()
    assert AnonymousClient(transport, ORG).send("ping", ping="x")["pong"] == "x"  # and we recover


def test_requests_carry_the_parsec_headers(fake: FakeServer, transport: Transport) -> None:
    AnonymousClient(transport, ORG).send("ping", ping="x")
    InvitedClient(transport, ORG, AccessToken(bytes(range(16)))).send("invite_info")
    device_id = DeviceID.new()
    AuthenticatedClient(transport, ORG, device_id, SigningKey.generate()).send("ping", ping="y")
    (m1, p1, h1, b1), (_, p2, h2, _), (_, p3, h3, _) = fake.requests
    assert (m1, p1, p2, p3) == ("POST", "/anonymous/Org-1", "/invited/Org-1", "/authenticated/Org-1")
    for h in (h1, h2, h3):
        assert h["Content-Type"] == MSGPACK
        assert h["Api-Version"] == "5.5"
        assert h["User-Agent"].startswith("Parsec-Client/")
    assert "Authorization" not in h1
    assert h2["Authorization"] == "Bearer " + bytes(range(16)).hex()
    assert h3["Authorization"].startswith(f"Bearer PARSEC-SIGN-ED25519.{device_id.hex}.")
    assert b1 == protocol.encode_request("ping", ping="x")


def test_organization_name_is_one_percent_encoded_path_segment(
    fake: FakeServer, transport: Transport
) -> None:
    AnonymousClient(transport, OrganizationID("Café-été")).send("ping", ping="x")
    assert fake.requests[0][1] == "/anonymous/Caf%C3%A9-%C3%A9t%C3%A9"


# --- connections -------------------------------------------------------------------------


def test_keep_alive_reuses_the_connection(fake: FakeServer, transport: Transport) -> None:
    client = AnonymousClient(transport, ORG)
    for _ in range(3):
        client.send("ping", ping="x")
    assert fake.connections == 1


@pytest.mark.parametrize("status", [500, 503])
def test_session_is_reset_after_a_5xx(fake: FakeServer, transport: Transport, status: int) -> None:
    client = AnonymousClient(transport, ORG)
    client.send("ping", ping="x")
    fake.answer = Answer(status, _json("boom"), JSON)  # the fake keeps the connection open
    with pytest.raises(ServerUnavailableError):
        client.send("ping", ping="x")
    assert fake.connections == 1
    fake.answer = Answer()
    assert client.send("ping", ping="x")["status"] == "ok"
    assert fake.connections == 2  # a new connection after the 5xx
    client.send("ping", ping="x")
    assert fake.connections == 2


def test_connection_refused_is_unreachable() -> None:
    port = free_port()  # nothing listens there
    transport = Transport(ParsecAddr("127.0.0.1", port, False), timeout=(2.0, 2.0))
    try:
        with pytest.raises(ServerUnreachableError) as exc:
            AnonymousClient(transport, ORG).send("ping", ping="x")
    finally:
        transport.close()
    assert type(exc.value) is ServerUnreachableError
    text = assert_sentence(exc.value)
    assert f"127.0.0.1:{port}" in text and "cannot be reached" in text


def test_server_that_never_answers_is_unreachable_after_the_timeout() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections (kernel backlog), never answers
    held: list[socket.socket] = []

    def accept_and_hold() -> None:
        try:
            conn, _ = listener.accept()
            held.append(conn)
        except OSError:
            pass

    threading.Thread(target=accept_and_hold, daemon=True).start()
    transport = Transport(ParsecAddr("127.0.0.1", listener.getsockname()[1], False), timeout=(1.0, 0.5))
    start = time.monotonic()
    try:
        with pytest.raises(ServerUnreachableError) as exc:
            AnonymousClient(transport, ORG).send("ping", ping="x")
    finally:
        transport.close()
        listener.close()
        for conn in held:
            conn.close()
    assert time.monotonic() - start < 5
    assert "did not answer in time" in assert_sentence(exc.value)


# --- against the real server ---------------------------------------------------------------


@pytest.mark.server
def test_tls_expected_on_a_plain_http_port_is_a_tls_error(parsec_server: Any) -> None:
    server = parse_server(f"parsec3://127.0.0.1:{parsec_server.port}")  # no no_ssl: HTTPS
    assert server.use_ssl
    transport = Transport(server, timeout=(3.0, 3.0))
    try:
        with pytest.raises(TLSError) as exc:
            AnonymousClient(transport, ORG).send("ping", ping="x")
    finally:
        transport.close()
    assert "no_ssl=true" in assert_sentence(exc.value)


@pytest.fixture(scope="module")
def real_device(parsec_server: Any) -> LocalDevice:
    """A bootstrapped organization on the real server (no device file)."""
    transport = Transport(parse_server(parsec_server.url))
    try:
        org = OrganizationID(f"Http{os.getpid() % 1000}x{uuid.uuid4().hex[:8]}")
        addr = AdministrationClient(transport, parsec_server.admin_token).create_organization(org)
        plan = bootstrap.prepare(addr, HumanHandle("max@example.com", "Max"), DeviceLabel("PC"))
        assert AnonymousClient(transport, org).send("organization_bootstrap", **plan.fields)["status"] == "ok"
        return plan.device
    finally:
        transport.close()


@pytest.mark.server
def test_real_server_statuses(parsec_server: Any, real_device: LocalDevice) -> None:
    """What the real server answers maps as the fact sheet says."""
    org = real_device.organization_id
    ping = protocol.encode_request("ping", ping="x")
    transport = Transport(real_device.server, timeout=(5.0, 10.0))
    try:
        with pytest.raises(OrganizationNotFoundError):
            AnonymousClient(transport, OrganizationID("NoSuchOrgAnywhere")).send("ping", ping="x")
        assert AnonymousClient(transport, org).send("ping", ping="x") == {"status": "ok", "pong": "x"}
        # 415: an unknown command.
        with pytest.raises(ProtocolError) as exc:
            transport.command("anonymous", org, protocol.encode_request("no_such_command"), {})
        assert "HTTP 415" in assert_sentence(exc.value)
        # 422: an API version the server does not speak.
        with pytest.raises(ProtocolError) as exc:
            transport.command("anonymous", org, ping, {"Api-Version": "4.0"})
        assert "5.5" in assert_sentence(exc.value)  # from Supported-Api-Versions
        # 401: an authenticated request without credentials.
        with pytest.raises(AuthenticationError) as exc:
            transport.command("authenticated", org, ping, {})
        assert exc.value.status == 401
        assert_sentence(exc.value)
        # 403: an invitation token the server does not know.
        with pytest.raises(AuthenticationError) as exc:
            InvitedClient(transport, org, AccessToken(bytes(16))).send("invite_info")
        assert exc.value.status == 403
        assert "invitation" in assert_sentence(exc.value)
    finally:
        transport.close()


@pytest.mark.server
def test_real_server_500_then_the_transport_still_works(real_device: LocalDevice) -> None:
    """``events_listen`` posted to the RPC route is a 500 and the server
    drops the connection (d.3): the next command must go through."""
    d = real_device
    transport = Transport(d.server, timeout=(5.0, 10.0))
    try:
        client = AuthenticatedClient(transport, d.organization_id, d.device_id, d.signing_key)
        assert client.send("ping", ping="before")["pong"] == "before"
        with pytest.raises(ServerUnavailableError) as exc:
            client.send("events_listen")
        assert exc.value.status == 500
        assert_sentence(exc.value)
        assert client.send("ping", ping="after")["pong"] == "after"
    finally:
        transport.close()


def test_requests_is_imported_without_a_charset_guesser() -> None:
    """About 4 MB the tray would keep all day: requests' encoding guesser is
    not loaded, requests falls back to UTF-8 for text, and the guesser can
    still be imported by anything else afterwards."""
    import subprocess
    import sys

    code = (
        "import sys, warnings; warnings.simplefilter('error'); "
        "import parsec_tray.core.transport, requests, requests.compat; "
        "assert requests.compat.chardet is None; "
        "assert not {'charset_normalizer', 'chardet'} & set(sys.modules), sorted(sys.modules); "
        "r = requests.models.Response(); r._content = 'é'.encode(); assert r.text == 'é'; "
        "import charset_normalizer; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
