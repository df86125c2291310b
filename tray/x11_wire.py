"""Just enough of the X11 core protocol to ask "does a window own the X
selection ``_NET_SYSTEM_TRAY_S<screen>``?", without libX11 and without I/O.

Bytes in, values and bytes out: the socket, the clock and the Xauthority file
are the caller's (``tray/hosts.py``).  What is here:

- :func:`parse_display`: a ``DISPLAY`` string to where the server listens,
  or ``None`` for the forms this module does not handle ("cannot say");
- :func:`parse_xauthority` / :func:`pick_cookie`: the entries of an
  Xauthority file and the MIT-MAGIC-COOKIE-1 one for this display, chosen
  as libXau's ``XauGetBestAuthByAddr`` chooses it for libxcb;
- :class:`TrayOwnerQuery`: a small conversation as a table of
  (state, message) -> next state: the connection setup and ``InternAtom``
  (only-if-exists) sent together, then ``GetSelectionOwner``.

Invariants: every request is built little-endian (byte order ``'l'``,
protocol 11.0) and padded to 4 bytes; an answer is given only when the
server said it (setup accepted, then an atom reply -- atom None: nobody
ever interned the name -- then an owner reply; or setup accepted without
the DISPLAY's screen, where libX11's XOpenDisplay fails too), and once given
nothing the server sends after it changes it; anything before it other than
those -- setup refused or asking to authenticate, an X error, a reply out of
sequence, bytes of the wrong shape, more than :data:`MAX_REPLY` -- raises
:class:`Inconclusive`, after which the caller asks libX11.
``Inconclusive`` never reaches a person: the caller turns it into that
fallback.  Import cost matters (this runs before the tray icon): no regex,
no dataclasses.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "FAMILY_INTERNET",
    "FAMILY_INTERNET6",
    "FAMILY_LOCAL",
    "FAMILY_WILD",
    "MAX_REPLY",
    "MIT_MAGIC_COOKIE",
    "Display",
    "Inconclusive",
    "TrayOwnerQuery",
    "XauthEntry",
    "auth_address",
    "get_selection_owner_request",
    "intern_atom_request",
    "parse_display",
    "parse_xauthority",
    "pick_cookie",
    "setup_request",
]

# Xauthority families (X.h / Xauth.h).
FAMILY_INTERNET = 0
FAMILY_INTERNET6 = 6
FAMILY_LOCAL = 256
FAMILY_WILD = 65535
MIT_MAGIC_COOKIE = b"MIT-MAGIC-COOKIE-1"

# A setup reply lists every screen's depths and visuals: a few KB on real
# servers.  Far more than that is not an X server we want to talk to.
MAX_REPLY = 1 << 20

_INTERN_ATOM = 16
_GET_SELECTION_OWNER = 23
_TCP_PORT_BASE = 6000


class Inconclusive(Exception):
    """The wire conversation cannot answer; ``stage`` says where it stopped
    (``setup``, ``atom``, ``owner``), ``reason`` what was seen."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage = stage
        self.reason = reason


# -- DISPLAY --------------------------------------------------------------


class Display(NamedTuple):
    """Where the X server of a DISPLAY string listens.  ``host`` is ``""``
    for the local sockets (``:N``, ``unix:N``), else a name or address
    reached over TCP on port ``6000 + number``."""

    host: str
    number: int
    screen: int

    @property
    def local(self) -> bool:
        return self.host == ""

    @property
    def tcp_port(self) -> int:
        return _TCP_PORT_BASE + self.number

    @property
    def socket_path(self) -> str:
        return f"/tmp/.X11-unix/X{self.number}"


_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
_V6_CHARS = frozenset("0123456789abcdefABCDEF:.")


def _number(text: str) -> int | None:
    return int(text) if text and text.isascii() and text.isdigit() else None


def parse_display(display: str) -> Display | None:
    """``:N``, ``:N.S``, ``unix:N``, ``host:N``, ``[v6-address]:N``; ``None``
    for anything else ("host::N" (DECnet), "proto/host:N", the launchd
    paths of macOS ("/private/tmp/...:0"))."""
    host, colon, rest = display.rpartition(":")
    if not colon:
        return None
    digits, dot, screen_digits = rest.partition(".")
    number = _number(digits)
    screen = _number(screen_digits) if dot else 0
    if number is None or screen is None or number > 65535 - _TCP_PORT_BASE or screen > 255:
        return None
    if host == "unix":
        host = ""
    elif host.startswith("[") and host.endswith("]") and len(host) > 2:
        host = host[1:-1]
        if not set(host) <= _V6_CHARS:
            return None
    elif not set(host) <= _HOST_CHARS:
        return None
    return Display(host, number, screen)


# -- Xauthority -------------------------------------------------------------


class XauthEntry(NamedTuple):
    family: int
    address: bytes
    number: bytes
    name: bytes
    data: bytes


def parse_xauthority(data: bytes) -> list[XauthEntry]:
    """The entries of an Xauthority file (big-endian: a family, then four
    length-prefixed fields).  Like libXau, reading stops at the first entry
    that is cut short; the complete ones before it are kept."""
    entries: list[XauthEntry] = []
    at = 0
    while at + 2 <= len(data):
        family = int.from_bytes(data[at : at + 2], "big")
        at += 2
        fields: list[bytes] = []
        for _ in range(4):
            if at + 2 > len(data):
                return entries
            size = int.from_bytes(data[at : at + 2], "big")
            at += 2
            if at + size > len(data):
                return entries
            fields.append(data[at : at + size])
            at += size
        entries.append(XauthEntry(family, fields[0], fields[1], fields[2], fields[3]))
    return entries


def auth_address(peer: bytes | None, hostname: bytes) -> tuple[int, bytes]:
    """The (family, address) libxcb looks up for a connection: a local
    socket (``peer`` is ``None``) or TCP to 127.0.0.1 is FamilyLocal with
    this host's name; otherwise the server's packed IPv4 (an IPv4-mapped
    IPv6 address counts as IPv4) or IPv6 address."""
    if peer is not None and len(peer) == 16 and peer[:12] == b"\0" * 10 + b"\xff\xff":
        peer = peer[12:]
    if peer is None or peer == b"\x7f\0\0\x01":
        return FAMILY_LOCAL, hostname
    if len(peer) == 4:
        return FAMILY_INTERNET, peer
    return FAMILY_INTERNET6, peer


def pick_cookie(entries: list[XauthEntry], family: int, address: bytes, number: int) -> bytes | None:
    """The data of the first MIT-MAGIC-COOKIE-1 entry that matches, as
    ``XauGetBestAuthByAddr`` matches: the family and address equal (or the
    entry is FamilyWild), and the display number equal (or the entry has
    none).  ``None``: no such entry (the setup is then sent without one)."""
    wanted = str(number).encode()
    for entry in entries:
        if entry.name != MIT_MAGIC_COOKIE:
            continue
        if entry.family != FAMILY_WILD and (entry.family != family or entry.address != address):
            continue
        if entry.number and entry.number != wanted:
            continue
        return entry.data
    return None


# -- requests -----------------------------------------------------------------


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def setup_request(auth_name: bytes = b"", auth_data: bytes = b"") -> bytes:
    """The connection setup: byte order ``'l'``, protocol 11.0, the
    authorization protocol name and data each padded to 4 bytes."""
    if len(auth_name) > 0xFFFF or len(auth_data) > 0xFFFF:
        raise ValueError("authorization name or data longer than 65535 bytes")
    head = (
        b"l\0"
        + (11).to_bytes(2, "little")
        + (0).to_bytes(2, "little")
        + len(auth_name).to_bytes(2, "little")
        + len(auth_data).to_bytes(2, "little")
        + b"\0\0"
    )
    return head + _pad(auth_name) + _pad(auth_data)


def intern_atom_request(name: bytes, only_if_exists: bool = True) -> bytes:
    """InternAtom (opcode 16); with ``only_if_exists`` the server answers
    atom 0 (None) for a name nobody interned instead of creating it."""
    body = _pad(name)
    units = 2 + len(body) // 4
    return (
        bytes([_INTERN_ATOM, 1 if only_if_exists else 0])
        + units.to_bytes(2, "little")
        + len(name).to_bytes(2, "little")
        + b"\0\0"
        + body
    )


def get_selection_owner_request(atom: int) -> bytes:
    """GetSelectionOwner (opcode 23) of ``atom``."""
    return bytes([_GET_SELECTION_OWNER, 0]) + (2).to_bytes(2, "little") + atom.to_bytes(4, "little")


# -- the conversation -------------------------------------------------------------

# (state, message) -> next state.  States say what the client knows.
_TRANSITIONS: dict[tuple[str, str], str] = {
    ("know_nothing", "start"): "asked_setup_and_atom",
    ("asked_setup_and_atom", "setup_accepted"): "know_screen",
    ("asked_setup_and_atom", "no_such_screen"): "answered",
    ("know_screen", "atom_reply"): "know_atom",
    ("know_screen", "no_atom"): "answered",
    ("know_atom", "owner_reply"): "answered",
}

_SETUP_STATUS = {0: "failed", 1: "accepted", 2: "authenticate"}
_X_ERRORS = {2: "BadValue", 5: "BadAtom", 11: "BadAlloc", 16: "BadLength", 17: "BadImplementation"}


class TrayOwnerQuery:
    """Asks whether ``_NET_SYSTEM_TRAY_S<screen>`` has an owner.

    ``start()`` gives the first bytes to send (setup + InternAtom, pipelined:
    the server reads requests that follow the setup once it accepted it);
    each ``receive(data)`` gives the bytes to send next (maybe ``b""``);
    ``answer`` is ``None`` until the server said, then ``True``/``False``.
    Raises :class:`Inconclusive` (and stays where it was) on anything else.
    """

    def __init__(self, screen: int = 0, auth_name: bytes = b"", auth_data: bytes = b"") -> None:
        self.screen = screen
        self.state = "know_nothing"
        self.answer: bool | None = None
        self.roots: int | None = None
        self.atom: int | None = None
        self._auth = (auth_name, auth_data)
        self._buffer = b""

    @property
    def selection(self) -> bytes:
        return f"_NET_SYSTEM_TRAY_S{self.screen}".encode()

    def _go(self, message: str) -> None:
        try:
            self.state = _TRANSITIONS[(self.state, message)]
        except KeyError:
            raise Inconclusive(self.state, f"{message} is not expected now") from None

    def start(self) -> bytes:
        self._go("start")
        return setup_request(*self._auth) + intern_atom_request(self.selection)

    def receive(self, data: bytes) -> bytes:
        if self.state == "know_nothing":
            if data:
                raise Inconclusive(self.state, "bytes arrived before anything was asked")
            return b""
        if self.state == "answered":  # said is said: what follows changes nothing
            self._buffer = b""
            return b""
        if len(self._buffer) + len(data) > MAX_REPLY:
            raise Inconclusive(self.state, f"more than {MAX_REPLY} bytes")
        self._buffer += data
        out = b""
        while self.state != "answered":
            sent = self._step()
            if sent is None:
                break
            out += sent
        if self.state == "answered":
            self._buffer = b""
        return out

    def _take(self, size: int) -> bytes | None:
        if len(self._buffer) < size:
            return None
        taken, self._buffer = self._buffer[:size], self._buffer[size:]
        return taken

    def _step(self) -> bytes | None:
        """One message off the buffer, or ``None`` when it is not all there."""
        if self.state == "asked_setup_and_atom":
            return self._setup_reply()
        return self._reply(1 if self.state == "know_screen" else 2)

    def _setup_reply(self) -> bytes | None:
        if len(self._buffer) < 8:
            return None
        status = _SETUP_STATUS.get(self._buffer[0])
        if status is None:
            raise Inconclusive("setup", f"unknown setup status {self._buffer[0]}")
        reply = self._take(8 + 4 * int.from_bytes(self._buffer[6:8], "little"))
        if reply is None:
            return None
        if status == "failed":
            reason = reply[8 : 8 + reply[1]].decode("latin-1")
            raise Inconclusive("setup", f"refused: {reason.strip() or 'no reason given'}")
        if status == "authenticate":
            raise Inconclusive("setup", "the server asks for further authentication")
        if len(reply) < 40:
            raise Inconclusive("setup", "accepted, but the reply is too short")
        if int.from_bytes(reply[2:4], "little") != 11:
            raise Inconclusive("setup", f"protocol version {int.from_bytes(reply[2:4], 'little')}")
        self.roots = reply[28]
        if self.screen >= self.roots:
            # libX11's XOpenDisplay fails the same way: no such screen.
            self._go("no_such_screen")
            self.answer = False
            return b""
        self._go("setup_accepted")
        return b""

    def _reply(self, sequence: int) -> bytes | None:
        stage = "atom" if sequence == 1 else "owner"
        if len(self._buffer) < 32:
            return None
        kind = self._buffer[0]
        if kind == 0:
            error = self._take(32)
            assert error is not None
            code = error[1]
            name = _X_ERRORS.get(code, f"error {code}")
            raise Inconclusive(
                stage, f"{name} (request {error[10]}, sequence {int.from_bytes(error[2:4], 'little')})"
            )
        if kind != 1:
            # An event: none was selected, but skipping one is harmless.
            size = 32 + (4 * int.from_bytes(self._buffer[4:8], "little") if (kind & 0x7F) == 35 else 0)
            return b"" if self._take(size) is not None else None
        reply = self._take(32 + 4 * int.from_bytes(self._buffer[4:8], "little"))
        if reply is None:
            return None
        got = int.from_bytes(reply[2:4], "little")
        if got != sequence:
            raise Inconclusive(stage, f"a reply to request {got}, expected {sequence}")
        value = int.from_bytes(reply[8:12], "little")
        if stage == "atom":
            if value == 0:
                # Nobody ever interned the name: nobody owns the selection.
                self._go("no_atom")
                self.answer = False
                return b""
            self._go("atom_reply")
            self.atom = value
            return get_selection_owner_request(value)
        self._go("owner_reply")
        self.answer = value != 0
        return b""
