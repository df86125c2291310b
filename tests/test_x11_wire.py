"""The pure X11 wire module (tray/x11_wire.py): DISPLAY strings, Xauthority
files (also as the real ``xauth`` writes them), the requests' bytes, and
the conversation fed with server bytes built here (whole, byte by byte,
refused, in error).  The same conversation against real X servers is in
tests/test_tray_hosts.py."""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
from pathlib import Path

import pytest
from conftest import require
from hypothesis import given, settings
from hypothesis import strategies as st
from parsec_tray.tray import x11_wire
from parsec_tray.tray.x11_wire import (
    FAMILY_INTERNET,
    FAMILY_INTERNET6,
    FAMILY_LOCAL,
    FAMILY_WILD,
    MIT_MAGIC_COOKIE,
    Display,
    Inconclusive,
    TrayOwnerQuery,
    XauthEntry,
)

# -- DISPLAY ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (":0", Display("", 0, 0)),
        (":1.0", Display("", 1, 0)),
        (":12.3", Display("", 12, 3)),
        ("unix:5", Display("", 5, 0)),
        ("unix:5.1", Display("", 5, 1)),
        ("localhost:2", Display("localhost", 2, 0)),
        ("host.example.org:3.1", Display("host.example.org", 3, 1)),
        ("127.0.0.1:10", Display("127.0.0.1", 10, 0)),
        ("[::1]:4", Display("::1", 4, 0)),
    ],
)
def test_display_forms_it_handles(text: str, expected: Display) -> None:
    assert x11_wire.parse_display(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0",
        ":",
        ":x",
        ":0.",
        ":0.x",
        "host::0",  # DECnet
        "tcp/host:0",
        "unix/:0",
        "/private/tmp/com.apple.launchd.AbC/org.xquartz:0",
        ":70000",
        ":0.300",
        "[::1:0",
        "[]:0",
        "[::1]x:0",
        ":0.1.2",
        "host:",
        ":٣",  # a digit, but not an ASCII one
        " :0",
    ],
)
def test_display_forms_it_cannot_say(text: str) -> None:
    assert x11_wire.parse_display(text) is None


def test_display_sockets() -> None:
    d = Display("", 7, 0)
    assert d.local and d.socket_path == "/tmp/.X11-unix/X7" and d.tcp_port == 6007
    assert not Display("localhost", 7, 0).local


# -- Xauthority ---------------------------------------------------------------


def xauth_entry(family: int, address: bytes, number: bytes, name: bytes, data: bytes) -> bytes:
    out = struct.pack(">H", family)
    for field in (address, number, name, data):
        out += struct.pack(">H", len(field)) + field
    return out


COOKIE = bytes(range(16))
HOST = b"myhost"


def test_xauthority_entries_round_trip() -> None:
    raw = xauth_entry(FAMILY_LOCAL, HOST, b"3", MIT_MAGIC_COOKIE, COOKIE) + xauth_entry(
        FAMILY_WILD, b"", b"", b"XDM-AUTHORIZATION-1", b"x" * 8
    )
    assert x11_wire.parse_xauthority(raw) == [
        XauthEntry(FAMILY_LOCAL, HOST, b"3", MIT_MAGIC_COOKIE, COOKIE),
        XauthEntry(FAMILY_WILD, b"", b"", b"XDM-AUTHORIZATION-1", b"x" * 8),
    ]


def test_xauthority_cut_short_keeps_the_complete_entries() -> None:
    first = xauth_entry(FAMILY_LOCAL, HOST, b"3", MIT_MAGIC_COOKIE, COOKIE)
    second = xauth_entry(FAMILY_LOCAL, HOST, b"4", MIT_MAGIC_COOKIE, COOKIE)
    raw = first + second
    for cut in range(len(first), len(raw)):
        assert [e.number for e in x11_wire.parse_xauthority(raw[:cut])] == [b"3"]
    for cut in range(len(first)):
        assert x11_wire.parse_xauthority(raw[:cut]) == []
    assert x11_wire.parse_xauthority(b"") == []


def test_xauthority_as_xauth_writes_it(tmp_path: Path) -> None:
    """The reference writer: entries the real xauth adds, read back."""
    require(shutil.which("xauth") is not None, "xauth (Debian package xauth)")
    path = tmp_path / "Xauthority"
    hexes = ("00112233445566778899aabbccddeeff", "ffeeddccbbaa99887766554433221100")
    for display, cookie in ((":7", hexes[0]), ("otherhost/unix:8", hexes[1])):
        subprocess.run(["xauth", "-q", "-f", str(path), "add", display, ".", cookie], check=True, timeout=10)
    entries = x11_wire.parse_xauthority(path.read_bytes())
    assert [(e.family, e.address, e.number, e.name, e.data) for e in entries] == [
        (FAMILY_LOCAL, socket.gethostname().encode(), b"7", MIT_MAGIC_COOKIE, bytes.fromhex(hexes[0])),
        (FAMILY_LOCAL, b"otherhost", b"8", MIT_MAGIC_COOKIE, bytes.fromhex(hexes[1])),
    ]
    family, address = x11_wire.auth_address(None, socket.gethostname().encode())
    assert x11_wire.pick_cookie(entries, family, address, 7) == bytes.fromhex(hexes[0])
    assert x11_wire.pick_cookie(entries, family, address, 8) is None


def test_pick_cookie_as_libxau_matches() -> None:
    def pick(
        *entries: XauthEntry, family: int = FAMILY_LOCAL, address: bytes = HOST, number: int = 3
    ) -> bytes | None:
        return x11_wire.pick_cookie(list(entries), family, address, number)

    mine = XauthEntry(FAMILY_LOCAL, HOST, b"3", MIT_MAGIC_COOKIE, b"mine")
    assert pick(mine) == b"mine"
    assert pick(XauthEntry(FAMILY_LOCAL, b"other", b"3", MIT_MAGIC_COOKIE, b"x")) is None
    assert pick(XauthEntry(FAMILY_LOCAL, HOST, b"4", MIT_MAGIC_COOKIE, b"x")) is None
    assert pick(XauthEntry(FAMILY_LOCAL, HOST, b"33", MIT_MAGIC_COOKIE, b"x")) is None
    assert pick(XauthEntry(FAMILY_INTERNET, HOST, b"3", MIT_MAGIC_COOKIE, b"x")) is None
    # FamilyWild matches any address; an entry without a number any display.
    assert pick(XauthEntry(FAMILY_WILD, b"", b"3", MIT_MAGIC_COOKIE, b"wild")) == b"wild"
    assert pick(XauthEntry(FAMILY_LOCAL, HOST, b"", MIT_MAGIC_COOKIE, b"any")) == b"any"
    assert pick(XauthEntry(FAMILY_WILD, b"", b"4", MIT_MAGIC_COOKIE, b"x")) is None
    # Only MIT-MAGIC-COOKIE-1 is spoken; the first match wins.
    xdm = XauthEntry(FAMILY_LOCAL, HOST, b"3", b"XDM-AUTHORIZATION-1", b"x")
    assert pick(xdm) is None
    assert pick(xdm, mine, XauthEntry(FAMILY_WILD, b"", b"", MIT_MAGIC_COOKIE, b"later")) == b"mine"
    ip = XauthEntry(FAMILY_INTERNET, b"\x0a\0\0\x02", b"3", MIT_MAGIC_COOKIE, b"ip")
    assert pick(ip, family=FAMILY_INTERNET, address=b"\x0a\0\0\x02") == b"ip"


def test_auth_address_as_libxcb_looks_it_up() -> None:
    assert x11_wire.auth_address(None, HOST) == (FAMILY_LOCAL, HOST)
    assert x11_wire.auth_address(socket.inet_aton("127.0.0.1"), HOST) == (FAMILY_LOCAL, HOST)
    assert x11_wire.auth_address(socket.inet_aton("10.0.0.2"), HOST) == (FAMILY_INTERNET, b"\x0a\0\0\x02")
    mapped = socket.inet_pton(socket.AF_INET6, "::ffff:10.0.0.2")
    assert x11_wire.auth_address(mapped, HOST) == (FAMILY_INTERNET, b"\x0a\0\0\x02")
    assert x11_wire.auth_address(socket.inet_pton(socket.AF_INET6, "::ffff:127.0.0.1"), HOST) == (
        FAMILY_LOCAL,
        HOST,
    )
    v6 = socket.inet_pton(socket.AF_INET6, "2001:db8::1")
    assert x11_wire.auth_address(v6, HOST) == (FAMILY_INTERNET6, v6)


# -- requests -------------------------------------------------------------------


def test_setup_request_bytes() -> None:
    assert x11_wire.setup_request() == b"l\0\x0b\0\0\0\0\0\0\0\0\0"
    req = x11_wire.setup_request(MIT_MAGIC_COOKIE, COOKIE)
    assert req == b"l\0\x0b\0\0\0\x12\0\x10\0\0\0" + MIT_MAGIC_COOKIE + b"\0\0" + COOKIE
    odd = x11_wire.setup_request(b"abcde", b"xyz")
    assert odd == b"l\0\x0b\0\0\0\x05\0\x03\0\0\0abcde\0\0\0xyz\0" and len(odd) % 4 == 0
    with pytest.raises(ValueError):
        x11_wire.setup_request(b"a", b"x" * 65536)


def test_intern_atom_and_get_selection_owner_bytes() -> None:
    name = b"_NET_SYSTEM_TRAY_S0"  # 19 bytes, padded to 20: 7 units
    assert x11_wire.intern_atom_request(name) == b"\x10\x01\x07\0\x13\0\0\0" + name + b"\0"
    assert x11_wire.intern_atom_request(b"ABCD", only_if_exists=False) == b"\x10\x00\x03\0\x04\0\0\0ABCD"
    assert x11_wire.get_selection_owner_request(0x1234) == b"\x17\0\x02\0\x34\x12\0\0"


# -- the conversation, against server bytes built here ---------------------------------


def setup_success(roots: int = 1, vendor: bytes = b"The X.Org Foundation") -> bytes:
    vendor_p = vendor + b"\0" * (-len(vendor) % 4)
    formats = struct.pack("<BBB5x", 24, 32, 32)
    screen = b"\0" * 40 * roots  # screens are not read: only their count
    extra = (
        struct.pack(
            "<IIIIHHBBBBBBBB4x",
            12101004,
            0x200000,
            0x1FFFFF,
            256,
            len(vendor),
            65535,
            roots,
            1,
            0,
            0,
            32,
            32,
            8,
            255,
        )
        + vendor_p
        + formats
        + screen
    )
    assert len(extra) % 4 == 0
    return struct.pack("<BxHHH", 1, 11, 0, len(extra) // 4) + extra


def setup_failed(reason: bytes) -> bytes:
    padded = reason + b"\0" * (-len(reason) % 4)
    return struct.pack("<BBHHH", 0, len(reason), 11, 0, len(padded) // 4) + padded


def reply(sequence: int, value: int, extra: bytes = b"") -> bytes:
    return struct.pack("<BxHII20x", 1, sequence, len(extra) // 4, value) + extra


def x_error(code: int, sequence: int, major: int) -> bytes:
    return struct.pack("<BBHIHB21x", 0, code, sequence, 0, 0, major)


def run(query: TrayOwnerQuery, server: bytes, chunk: int | None = None) -> list[bytes]:
    """Feed ``server`` (whole, or ``chunk`` bytes at a time); what the
    client sent in answer."""
    sent = [query.start()]
    step = chunk or len(server) or 1
    for at in range(0, len(server), step):
        out = query.receive(server[at : at + step])
        if out:
            sent.append(out)
    return sent


@pytest.mark.parametrize("chunk", [None, 1, 3, 31])
@pytest.mark.parametrize(("owner", "expected"), [(0x400001, True), (0, False)])
def test_owner_asked_and_answered(chunk: int | None, owner: int, expected: bool) -> None:
    query = TrayOwnerQuery(0)
    sent = run(query, setup_success() + reply(1, 0x1A5) + reply(2, owner), chunk)
    assert sent[0] == x11_wire.setup_request() + x11_wire.intern_atom_request(b"_NET_SYSTEM_TRAY_S0")
    assert sent[1:] == [x11_wire.get_selection_owner_request(0x1A5)]
    assert (query.answer, query.state, query.roots, query.atom) == (expected, "answered", 1, 0x1A5)


def test_the_cookie_goes_into_the_setup() -> None:
    query = TrayOwnerQuery(2, MIT_MAGIC_COOKIE, COOKIE)
    assert query.start() == x11_wire.setup_request(MIT_MAGIC_COOKIE, COOKIE) + x11_wire.intern_atom_request(
        b"_NET_SYSTEM_TRAY_S2"
    )


def test_an_atom_nobody_interned_means_no_owner() -> None:
    query = TrayOwnerQuery(0)
    assert run(query, setup_success() + reply(1, 0))[1:] == []
    assert query.answer is False and query.state == "answered"


def test_a_screen_the_server_does_not_have_means_no_owner() -> None:
    # libX11's XOpenDisplay fails on such a DISPLAY: the same "no".
    query = TrayOwnerQuery(1)
    run(query, setup_success(roots=1) + reply(1, 0x1A5))
    assert query.answer is False and query.state == "answered"
    two = TrayOwnerQuery(1)
    run(two, setup_success(roots=2) + reply(1, 0x1A5) + reply(2, 7))
    assert two.answer is True


def test_what_follows_the_answer_changes_nothing() -> None:
    query = TrayOwnerQuery(0)
    run(query, setup_success() + reply(1, 3) + reply(2, 4) + x_error(2, 3, 1))
    assert query.answer is True
    assert query.receive(b"\0" * 64) == b"" and query.answer is True


def test_replies_with_extra_length_and_events_are_skipped() -> None:
    query = TrayOwnerQuery(0)
    event = struct.pack("<BxH28x", 12, 0)  # an Expose, never selected
    run(query, setup_success() + event + reply(1, 9, b"\0" * 8) + reply(2, 5), 5)
    assert query.answer is True


def test_setup_refused() -> None:
    query = TrayOwnerQuery(0)
    with pytest.raises(Inconclusive) as caught:
        run(query, setup_failed(b"Authorization required, but no authorization protocol specified\n"))
    assert caught.value.stage == "setup"
    assert "Authorization required" in caught.value.reason
    assert query.answer is None and query.state == "asked_setup_and_atom"


def test_setup_asks_to_authenticate() -> None:
    query = TrayOwnerQuery(0)
    with pytest.raises(Inconclusive, match="authentication"):
        run(query, struct.pack("<B5xH", 2, 1) + b"more")
    assert query.answer is None


@pytest.mark.parametrize(
    ("server", "stage", "text"),
    [
        (setup_success() + x_error(2, 1, 16), "atom", "BadValue (request 16, sequence 1)"),
        (setup_success() + reply(1, 3) + x_error(5, 2, 23), "owner", "BadAtom (request 23, sequence 2)"),
        (setup_success() + x_error(99, 1, 16), "atom", "error 99"),
        (setup_success() + reply(2, 3), "atom", "a reply to request 2, expected 1"),
        (b"\x07" + b"\0" * 7, "setup", "unknown setup status 7"),
        (struct.pack("<BxHHH", 1, 10, 0, 0), "setup", "too short"),
        (setup_success()[:2] + b"\x0c\0" + setup_success()[4:], "setup", "protocol version 12"),
    ],
)
def test_what_it_cannot_conclude_from(server: bytes, stage: str, text: str) -> None:
    query = TrayOwnerQuery(0)
    with pytest.raises(Inconclusive) as caught:
        run(query, server)
    assert caught.value.stage == stage and text in caught.value.reason
    assert query.answer is None


def test_short_reads_wait_for_more() -> None:
    query = TrayOwnerQuery(0)
    query.start()
    whole = setup_success()
    assert query.receive(whole[:7]) == b""
    assert query.receive(whole[7:-1]) == b""
    assert query.state == "asked_setup_and_atom"
    assert query.receive(whole[-1:]) == b""
    assert query.state == "know_screen" and query.answer is None
    assert query.receive(reply(1, 3)[:31]) == b""
    assert query.receive(reply(1, 3)[31:]) == x11_wire.get_selection_owner_request(3)
    assert query.state == "know_atom" and query.answer is None


def test_illegal_steps_leave_the_state_unchanged() -> None:
    query = TrayOwnerQuery(0)
    with pytest.raises(Inconclusive):
        query.receive(b"\x01")  # nothing was asked yet
    assert query.state == "know_nothing"
    query.start()
    with pytest.raises(Inconclusive):
        query.start()
    assert query.state == "asked_setup_and_atom"


def test_a_reply_too_large_is_refused() -> None:
    query = TrayOwnerQuery(0)
    query.start()
    assert query.receive(struct.pack("<BxHHH", 1, 11, 0, 0xFFFF)) == b""  # 256 KiB announced: waits
    with pytest.raises(Inconclusive, match="more than"):
        query.receive(b"\0" * x11_wire.MAX_REPLY)


# -- properties ---------------------------------------------------------------------

_field = st.binary(max_size=40)
_entries = st.lists(st.builds(XauthEntry, st.integers(0, 0xFFFF), _field, _field, _field, _field), max_size=5)


@given(_entries, st.data())
@settings(max_examples=200, deadline=None)
def test_xauthority_round_trip_and_any_cut(entries: list[XauthEntry], data: st.DataObject) -> None:
    raw = b"".join(xauth_entry(*e) for e in entries)
    assert x11_wire.parse_xauthority(raw) == entries
    cut = data.draw(st.integers(0, len(raw)))
    parsed = x11_wire.parse_xauthority(raw[:cut])
    assert parsed == entries[: len(parsed)]


@pytest.mark.parametrize("before", ["nothing", "setup", "setup+atom"])
@given(st.binary(max_size=200), st.integers(1, 64), st.integers(0, 3))
@settings(max_examples=200, deadline=None)
def test_any_server_bytes_give_an_answer_or_inconclusive(
    before: str, server: bytes, chunk: int, screen: int
) -> None:
    """Whatever a server sends (after well-formed replies or not), the
    conversation answers, waits, or raises Inconclusive: never another
    exception."""
    prefix = {"nothing": b"", "setup": setup_success(4), "setup+atom": setup_success(4) + reply(1, 5)}[before]
    query = TrayOwnerQuery(screen)
    try:
        run(query, prefix + server, chunk)
    except Inconclusive:
        assert query.answer is None
    assert query.answer in (None, True, False)


@given(st.integers(0, 1), st.integers(1, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF), st.integers(1, 64))
@settings(max_examples=100, deadline=None)
def test_any_chunking_gives_the_same_answer(screen: int, atom: int, owner: int, chunk: int) -> None:
    query = TrayOwnerQuery(screen)
    sent = run(query, setup_success(roots=2) + reply(1, atom) + reply(2, owner), chunk)
    assert sent[1:] == [x11_wire.get_selection_owner_request(atom)]
    assert query.answer is (owner != 0)
