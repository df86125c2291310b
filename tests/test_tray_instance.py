"""One instance per user: the socket, the lock, and the CLI that talks to it
(no display needed: a stand-in instance answers)."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import require
from parsec_tray.core.errors import LocalError
from parsec_tray.tray import instance

LINK = "parsec3://127.0.0.1:6770/MyOrg?no_ssl=true&a=bootstrap_organization&p=xBCy2YVGB31DPzcxGZbGVUt7"


@pytest.fixture
def rundir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "run"
    monkeypatch.setenv("PARSEC_TRAY_RUNTIME_DIR", str(d))
    return d


class Recorder:
    def __init__(self, reply: dict[str, Any] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.reply = reply or {"ok": True}

    def __call__(self, req: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(req)
        if req.get("cmd") == "boom":
            raise RuntimeError("handler bug")
        return dict(self.reply)


@pytest.fixture
def served(rundir: Path) -> Iterator[tuple[instance.InstanceServer, Recorder]]:
    server = instance.acquire()
    assert server is not None
    rec = Recorder(
        {
            "running": True,
            "state": "online",
            "organization_id": "MyOrg",
            "user_id": "u",
            "device_id": "d",
            "server_url": "parsec3://h",
        }
    )
    server.serve(rec)
    yield server, rec
    server.close()


def test_runtime_dir_is_private(rundir: Path) -> None:
    d = instance.runtime_dir()
    assert isinstance(d, str)  # paths are strings before the icon (no pathlib there)
    assert Path(d) == rundir and stat.S_IMODE(os.stat(d).st_mode) == 0o700
    os.chmod(d, 0o755)
    assert stat.S_IMODE(os.stat(instance.runtime_dir()).st_mode) == 0o700


def test_runtime_dir_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARSEC_TRAY_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "xdg"))
    assert Path(instance.runtime_dir()) == tmp_path / "xdg" / "parsec-tray"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    assert Path(instance.runtime_dir()) == tmp_path / "tmp" / f"parsec-tray-{os.getuid()}"


def test_runtime_dir_of_someone_else_is_refused(rundir: Path) -> None:
    require(os.getuid() == 0, "root (to give a directory to another user)")
    rundir.mkdir(mode=0o700)
    os.chown(rundir, 65534, 65534)
    with pytest.raises(LocalError, match="belongs to another user"):  # one sentence, not a PermissionError
        instance.runtime_dir()


def test_one_listener_per_directory_and_requests_reach_it(
    served: tuple[instance.InstanceServer, Recorder], rundir: Path
) -> None:
    _, rec = served
    assert instance.acquire() is None  # the lock is taken
    assert instance.request({"cmd": "status"})["state"] == "online"
    instance.request({"cmd": "open", "args": [LINK]})
    assert rec.requests == [{"cmd": "status"}, {"cmd": "open", "args": [LINK]}]
    sock = rundir / "instance.sock"
    assert stat.S_ISSOCK(sock.stat().st_mode) and stat.S_IMODE(sock.stat().st_mode) & 0o077 == 0


def test_two_instances_isolated_by_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    servers = []
    for name in ("a", "b"):
        d = tmp_path / name
        d.mkdir(mode=0o700)
        server = instance.acquire(d)
        assert server is not None
        server.serve(lambda req, name=name: {"me": name})
        servers.append(server)
    try:
        assert instance.request({"cmd": "status"}, directory=tmp_path / "a") == {"me": "a"}
        assert instance.request({"cmd": "status"}, directory=tmp_path / "b") == {"me": "b"}
    finally:
        for s in servers:
            s.close()


def test_not_running(rundir: Path) -> None:
    with pytest.raises(instance.NotRunning):
        instance.request({"cmd": "status"})
    # A socket file left by a crash: nobody listens, still "not running"...
    rundir.mkdir(mode=0o700, exist_ok=True)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(rundir / "instance.sock"))
    stale.close()
    with pytest.raises(instance.NotRunning):
        instance.request({"cmd": "status"})
    # ... and the next instance takes over.
    server = instance.acquire()
    assert server is not None
    server.serve(lambda req: {"ok": "new"})
    try:
        assert instance.request({"cmd": "x"}) == {"ok": "new"}
    finally:
        server.close()
    assert not (rundir / "instance.sock").exists()


def test_lock_dies_with_its_process(rundir: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent("""
            import sys, time
            from parsec_tray.tray import instance
            s = instance.acquire()
            print("held" if s else "free", flush=True)
            time.sleep(60)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert instance.acquire() is None
    finally:
        holder.kill()
        holder.wait()
    server = instance.acquire()
    assert server is not None
    server.close()


def test_bad_requests_and_handler_bugs(
    served: tuple[instance.InstanceServer, Recorder], rundir: Path
) -> None:
    def raw(data: bytes) -> dict[str, Any]:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(rundir / "instance.sock"))
            s.sendall(data)
            return dict(json.loads(s.makefile().readline()))

    assert raw(b"not json\n") == {"ok": False, "error": "bad request"}
    assert raw(b"[1, 2]\n") == {"ok": False, "error": "bad request"}
    assert raw(b'{"cmd": "boom"}\n') == {"ok": False, "error": "RuntimeError: handler bug"}
    assert instance.request({"cmd": "status"})["state"] == "online"  # still serving


def test_windows_endpoint_needs_the_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loopback-TCP endpoint (Windows), exercised here: port and token
    in instance.json; a request without the token is refused."""
    monkeypatch.setattr(instance, "IS_WINDOWS", True)

    class Lock:
        released = False

        def release(self) -> None:
            self.released = True

    lock = Lock()
    server = instance.InstanceServer(lock, tmp_path)  # type: ignore[arg-type]
    server.serve(lambda req: {"echo": req})
    try:
        info = json.loads((tmp_path / "instance.json").read_text())
        assert set(info) == {"port", "token", "pid"}
        assert instance.request({"cmd": "status"}, directory=tmp_path) == {"echo": {"cmd": "status"}}
        with socket.create_connection(("127.0.0.1", info["port"])) as s:
            s.sendall(b'{"cmd": "status", "token": "guess"}\n')
            assert json.loads(s.makefile().readline()) == {"ok": False, "error": "bad token"}
    finally:
        server.close()
    assert lock.released and not (tmp_path / "instance.json").exists()


# -- the CLI against a running instance (a stand-in; no display needed) ------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run(
        [sys.executable, "-m", "parsec_tray", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_status_json_when_running(served: tuple[instance.InstanceServer, Recorder]) -> None:
    out = _cli("status", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert list(data)[:6] == ["running", "state", "organization_id", "user_id", "device_id", "server_url"]
    assert data["state"] == "online"
    out = _cli("status")
    assert out.returncode == 0 and out.stdout.startswith("Parsec Tray is running: online, MyOrg")


def test_status_when_not_running(rundir: Path) -> None:
    out = _cli("status", "--json")
    assert out.returncode == 3
    assert json.loads(out.stdout) == {"running": False, "state": None}
    out = _cli("status")
    assert out.returncode == 3 and "not running" in out.stderr


def test_second_launch_hands_over_the_link(served: tuple[instance.InstanceServer, Recorder]) -> None:
    _, rec = served
    t0 = time.monotonic()
    out = _cli(LINK)  # no display needed: the running instance shows the dialog
    assert out.returncode == 0, out.stderr
    assert "already running" in out.stderr
    assert rec.requests[-1] == {"cmd": "open", "args": [LINK]}
    out = _cli()
    assert out.returncode == 0 and rec.requests[-1] == {"cmd": "open", "args": []}
    assert time.monotonic() - t0 < 60
