"""The XEMBED tray-host check (tray/hosts.py) against real X servers: Xvfb
with and without a real tray host (trayer), one that requires an
MIT-MAGIC-COOKIE-1 (``-auth``, cookie added with ``xauth``), and a display
with no server.  Each answer is compared with libX11's (the ctypes path,
the reference), and each probe runs in a fresh interpreter that also says
whether ``ctypes`` got imported (it must not when the wire path answered).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from conftest import require
from desktop_session import DesktopSession, _read_line, missing_desktop_tools

pytestmark = pytest.mark.desktop

PROBE = """
import json, sys
from parsec_tray.tray import hosts
display = sys.argv[1]
answer = hosts.xembed_tray_present(display)
ctypes_imported = "ctypes" in sys.modules
print(json.dumps({
    "answer": answer,
    "ctypes": ctypes_imported,
    "wire": hosts.xembed_tray_present_wire(display),
    "libx11": hosts.xembed_tray_present_libx11(display),
}))
"""


def probe(display: str, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, display], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def free_display_number() -> int:
    """A display number no X server uses: no lock file, no socket, its TCP
    port free (numbers far above what ``-displayfd`` hands out)."""
    start = 300 + os.getpid() % 300
    for number in range(start, start + 300):
        if os.path.exists(f"/tmp/.X{number}-lock") or os.path.exists(f"/tmp/.X11-unix/X{number}"):
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", 6000 + number))
            except OSError:
                continue
        return number
    raise RuntimeError("no free X display number")


class LoopbackRelay:
    """Listens on ``127.0.0.1:port`` and relays each connection to a Unix
    socket: the TCP forms of DISPLAY reach Xvfb without an X server
    listening on every interface."""

    def __init__(self, port: int, unix_path: str) -> None:
        self.unix_path = unix_path
        self.listener = socket.create_server(("127.0.0.1", port))
        self.thread = threading.Thread(target=self._accept, name="x11-relay", daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                server.connect(self.unix_path)
            except OSError:
                client.close()
                server.close()
                continue
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()


class CookieDesktop(DesktopSession):
    """A desktop whose Xvfb requires a cookie (``-auth``), also reached over
    TCP on 127.0.0.1 through a :class:`LoopbackRelay`; ``XAUTHORITY`` in
    :attr:`env` names the file trayer uses."""

    cookie = secrets.token_hex(16)
    relay: LoopbackRelay | None = None

    def _start_xvfb(self) -> None:
        self.xauthority = self.workdir / "Xauthority"
        for _attempt in range(5):
            number = free_display_number()
            self.xauthority.unlink(missing_ok=True)
            subprocess.run(
                ["xauth", "-q", "-f", str(self.xauthority), "add", f":{number}", ".", self.cookie],
                check=True,
                timeout=10,
            )
            r, w = os.pipe()
            proc = self._spawn(
                "Xvfb",
                ["Xvfb", f":{number}", "-displayfd", str(w), "-auth", str(self.xauthority)]
                + ["-screen", "0", self.screen, "-noreset"],
                pass_fds=(w,),
            )
            os.close(w)
            try:
                _read_line(r, 15, "Xvfb's display number")
            except RuntimeError:  # the number was taken meanwhile: Xvfb exited
                proc.wait(5)
                continue
            self.display = f":{number}"
            self.env["DISPLAY"] = self.display
            self.env["XAUTHORITY"] = str(self.xauthority)
            self.relay = LoopbackRelay(6000 + number, f"/tmp/.X11-unix/X{number}")
            return
        raise RuntimeError("Xvfb with -auth did not start")

    def stop(self) -> None:
        if self.relay is not None:
            self.relay.close()
        super().stop()

    def tray_host_present(self) -> bool:
        # python-xlib reads XAUTHORITY from its own process's environment.
        code = (
            "from Xlib import display; d = display.Display(); "
            "print(d.get_selection_owner(d.intern_atom('_NET_SYSTEM_TRAY_S0')) != 0)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], env=self.env, capture_output=True, text=True, timeout=30
        )
        return out.stdout.strip() == "True"


S = TypeVar("S", bound=DesktopSession)


def _session(session: S) -> Iterator[S]:
    missing = missing_desktop_tools()
    require(not missing, "the desktop test tools (" + ", ".join(missing) + ")")
    with session:
        yield session


@pytest.fixture(scope="module")
def with_tray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DesktopSession]:
    yield from _session(DesktopSession(tmp_path_factory.mktemp("with-tray"), notifications=False))


@pytest.fixture(scope="module")
def without_tray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DesktopSession]:
    yield from _session(
        DesktopSession(tmp_path_factory.mktemp("without-tray"), tray_host=False, notifications=False)
    )


@pytest.fixture(scope="module")
def with_cookie(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CookieDesktop]:
    require(shutil.which("xauth") is not None, "xauth (Debian package xauth)")
    yield from _session(CookieDesktop(tmp_path_factory.mktemp("with-cookie"), notifications=False))


@pytest.mark.parametrize("suffix", ["", ".0"])
def test_a_tray_host_is_found(with_tray: DesktopSession, suffix: str) -> None:
    got = probe(with_tray.display + suffix, with_tray.env)
    assert got == {"answer": True, "ctypes": False, "wire": True, "libx11": True}


def test_unix_form_of_the_display(with_tray: DesktopSession) -> None:
    got = probe("unix" + with_tray.display, with_tray.env)
    assert got == {"answer": True, "ctypes": False, "wire": True, "libx11": True}


def test_no_tray_host(without_tray: DesktopSession) -> None:
    got = probe(without_tray.display, without_tray.env)
    assert got == {"answer": False, "ctypes": False, "wire": False, "libx11": False}


def test_a_screen_the_server_does_not_have(with_tray: DesktopSession) -> None:
    got = probe(with_tray.display + ".1", with_tray.env)
    assert got == {"answer": False, "ctypes": False, "wire": False, "libx11": False}


def test_no_server_on_that_display(with_tray: DesktopSession) -> None:
    got = probe(f":{free_display_number()}", with_tray.env)
    assert got == {"answer": False, "ctypes": True, "wire": None, "libx11": False}


def test_the_cookie_from_xauthority(with_cookie: CookieDesktop) -> None:
    got = probe(with_cookie.display, with_cookie.env)
    assert got == {"answer": True, "ctypes": False, "wire": True, "libx11": True}


def test_the_cookie_from_home(with_cookie: CookieDesktop) -> None:
    env = {k: v for k, v in with_cookie.env.items() if k != "XAUTHORITY"}
    home = Path(env["HOME"])
    (home / ".Xauthority").write_bytes(with_cookie.xauthority.read_bytes())
    try:
        got = probe(with_cookie.display, env)
    finally:
        (home / ".Xauthority").unlink()
    assert got == {"answer": True, "ctypes": False, "wire": True, "libx11": True}


def test_the_cookie_over_tcp(with_cookie: CookieDesktop) -> None:
    number = with_cookie.display.lstrip(":")
    for host in ("localhost", "127.0.0.1"):
        got = probe(f"{host}:{number}", with_cookie.env)
        assert got == {"answer": True, "ctypes": False, "wire": True, "libx11": True}, host


@pytest.mark.parametrize("cookie", ["wrong", "none"])
def test_a_refused_cookie_falls_back_to_libx11(
    with_cookie: CookieDesktop, tmp_path: Path, cookie: str
) -> None:
    bad = tmp_path / "Xauthority"
    if cookie == "wrong":
        subprocess.run(
            ["xauth", "-q", "-f", str(bad), "add", with_cookie.display, ".", secrets.token_hex(16)],
            check=True,
            timeout=10,
        )
    got = probe(with_cookie.display, {**with_cookie.env, "XAUTHORITY": str(bad)})
    # The server refuses both; libX11's "no" is the answer, after the wire gave up.
    assert got == {"answer": False, "ctypes": True, "wire": None, "libx11": False}


def test_a_display_form_the_wire_does_not_speak_falls_back(with_cookie: CookieDesktop) -> None:
    # libxcb's "protocol/host:N": the wire path cannot say, libX11 can.
    number = with_cookie.display.lstrip(":")
    got = probe(f"tcp/localhost:{number}", with_cookie.env)
    assert got == {"answer": True, "ctypes": True, "wire": None, "libx11": True}


@pytest.fixture
def fake_x_server() -> Iterator[tuple[str, socket.socket]]:
    """A listener on the abstract socket of a free display number: the wire
    path connects to it as to an X server (Linux only)."""
    require(sys.platform.startswith("linux"), "Linux abstract sockets")
    number = free_display_number()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(f"\0/tmp/.X11-unix/X{number}")
    listener.listen(2)
    with listener:
        yield f":{number}", listener


def test_a_server_that_never_answers_is_given_up(fake_x_server: tuple[str, socket.socket]) -> None:
    from parsec_tray.tray import hosts

    display, listener = fake_x_server
    assert hosts.xembed_tray_present_wire(display, timeout=0.3) is None
    conn, _ = listener.accept()
    with conn:
        conn.settimeout(5)
        assert conn.recv(12) == b"l\0\x0b\0\0\0\0\0\0\0\0\0"  # it did send the setup


@pytest.mark.parametrize(
    "server_says",
    [b"\x07" * 8, b"\x00\x05\x0b\x00\x00\x00\x02\x00nope\0\0\0\0", b"\x01\x00"],
    ids=["garbage", "refused", "hangs-up-midway"],
)
def test_a_server_saying_nonsense_is_given_up(
    fake_x_server: tuple[str, socket.socket], server_says: bytes
) -> None:
    from parsec_tray.tray import hosts

    display, listener = fake_x_server

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(server_says)

    server = threading.Thread(target=serve)
    server.start()
    try:
        assert hosts.xembed_tray_present_wire(display, timeout=5) is None
    finally:
        server.join(10)
