"""One bad file hides nothing, secrets stay off the command line, slow key
derivations ask first, the runtime folder and the instance socket resist
their neighbours (issue 12)."""

from __future__ import annotations

import dataclasses
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from cli_runner import CLI, cli, home_env, ok_json
from fuzz import fuzz_device_files, fuzz_links
from hostile_server import HostileServer
from parsec_tray.core import devices as devices_mod
from parsec_tray.core import flows
from parsec_tray.core.crypto import Argon2idParams
from parsec_tray.core.devices import AtomicWrite, build_password_file, load_device_with_password
from parsec_tray.core.errors import LocalError, SlowKeyDerivationError
from parsec_tray.tray import instance
from test_faults import assert_error, config_of, fast_params, make_local

FUZZ_CASES = int(os.environ.get("PARSEC_TRAY_FUZZ_CASES", "2000"))


def write_device(config: Path, password: str = "pw", **params: int) -> Path:
    local = make_local(1)
    algo = dataclasses.replace(fast_params(), **params) if params else fast_params()
    path = devices_mod.default_device_file(local.device_id.hex, config)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build_password_file(local, password, params=fast_params()).dump())
    if params:  # a file asking for other costs (its ciphertext does not matter: never derived)
        f = devices_mod.read_device_file(path)
        path.write_bytes(dataclasses.replace(f, algorithm=algo).dump())
    return path


# --- the listing survives any file ---------------------------------------------------------------


def test_fuzzed_device_files_raise_no_python_error(tmp_path: Path) -> None:
    seed = secrets.randbits(32)
    valid = build_password_file(make_local(1), "pw", params=fast_params()).dump()
    loaded, errors = fuzz_device_files(FUZZ_CASES, seed, valid, tmp_path)
    assert errors == [], f"seed={seed}: {len(errors)} Python errors, first: {errors[:3]}"
    assert 0 < loaded < FUZZ_CASES  # the fuzzer does reach both outcomes


def test_fuzzed_links_raise_no_python_error() -> None:
    seed = secrets.randbits(32)
    parsed, errors = fuzz_links(FUZZ_CASES, seed)
    assert errors == [], f"seed={seed}: {len(errors)} Python errors, first: {errors[:3]}"
    assert parsed > 0


def test_malformed_neighbours_hide_nothing(tmp_path: Path) -> None:
    config = config_of(tmp_path)
    good = write_device(config)
    root = good.parent
    (root / "9190.keys").write_bytes(b"\x91\x90")  # raised TypeError (unhashable) in the listing
    (root / "array.keys").write_bytes(b"\x92\x90\x90")
    (root / "map-type.keys").write_bytes(b"\x81\xa4type\x80")
    (root / "empty.keys").write_bytes(b"")
    os.mkfifo(root / "fifo.keys")
    (root / "dir.keys").mkdir()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(root / "sock.keys"))
        (root / "loop").symlink_to(root, target_is_directory=True)
        with open(root / "sparse.keys", "wb") as f:
            f.truncate(64 * 1024 * 1024)
        r = cli("--debug", "devices", "--json", home=tmp_path)
        listed = ok_json(r)
        assert [d["device_file"] for d in listed] == [str(good)]
        assert "9190.keys" in r.stderr  # skipped, and named with --debug
        assert flows.find_device(None, config_dir=config).device_file == good
        # Without --device, login picks the only device (then its password is asked).
        r = cli("login", "--password-stdin", home=tmp_path, stdin="wrong\n")
        assert_error(r, "wrong password")


def test_device_fifo_fails_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "dev.keys"
    os.mkfifo(fifo)
    other = tmp_path / "fifo"
    os.mkfifo(other)
    for path in (fifo, other):
        r = cli("login", "--device", str(path), "--password-stdin", home=tmp_path, stdin="pw\n")  # timeout: 120 s
        assert_error(r, "not a regular file", str(path))


# --- secrets off the command line ------------------------------------------------------------------


def admin_file(tmp_path: Path, token: str, mode: int = 0o600) -> Path:
    path = tmp_path / "admin-token"
    path.write_text(token + "\n")
    path.chmod(mode)
    return path


@pytest.mark.server
@pytest.mark.parametrize("how", ["file", "env"])
def test_admin_token_from_a_file_or_the_environment(
    how: str, parsec_server: Any, org_name: str, tmp_path: Path
) -> None:
    args = ["create-org", "--server", parsec_server.url, "--org", org_name, "--email", "a@example.com",
            "--user-name", "A", "--device-label", "x", "--password-stdin", "--json"]
    env = {}
    if how == "file":
        args += ["--admin-token-file", str(admin_file(tmp_path, parsec_server.admin_token))]
    else:
        env["PARSEC_TRAY_ADMIN_TOKEN"] = parsec_server.admin_token
    r = cli(*args, home=tmp_path / "home", stdin="pw\n", env=env)
    out = ok_json(r)
    assert r.stderr == ""  # no warning
    assert parsec_server.organization(out["organization_id"])["is_bootstrapped"] is True


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_admin_token_file_readable_by_others_is_refused(mode: int, tmp_path: Path) -> None:
    r = cli(
        "create-org", "--server", "parsec3://127.0.0.1:1?no_ssl=true", "--org", "O", "--email", "a@example.com",
        "--user-name", "A", "--device-label", "x", "--password-stdin",
        "--admin-token-file", str(admin_file(tmp_path, "secret-token", mode)), home=tmp_path, stdin="pw\n",
    )
    message = assert_error(r, "other users", "chmod 600")
    assert "secret-token" not in message


@pytest.mark.parametrize("how", ["--admin-token-file", "--admin-token", "env"])
def test_admin_token_in_proc_cmdline_only_when_given_on_it(how: str, tmp_path: Path) -> None:
    token = secrets.token_hex(16)
    args = [*CLI, "create-org", "--org", "O", "--email", "a@example.com", "--user-name", "A",
            "--device-label", "x", "--password-stdin"]
    env = home_env(tmp_path)
    if how == "--admin-token-file":
        args += [how, str(admin_file(tmp_path, token))]
    elif how == "--admin-token":
        args += [how, token]
    else:
        env["PARSEC_TRAY_ADMIN_TOKEN"] = token
    with HostileServer("slow") as server:  # holds the request: the process stays alive
        proc = subprocess.Popen(
            [*args, "--server", server.url], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, env=env,
        )
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.write(b"pw\n")
        proc.stdin.close()
        assert server.got_request.wait(60)
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        stderr = proc.stderr.read().decode()
    assert (token.encode() in cmdline) == (how == "--admin-token")
    assert ("visible to other users" in stderr) == (how == "--admin-token")
    assert token not in stderr


# --- Argon2id costs ----------------------------------------------------------------------------------


def test_slow_kdf_file_is_refused_before_deriving(tmp_path: Path) -> None:
    path = write_device(tmp_path, memlimit_kb=1024 * 1024, opslimit=32)
    f = devices_mod.read_device_file(path)
    with pytest.raises(SlowKeyDerivationError) as info:
        load_device_with_password(f, "pw")
    err = info.value
    assert (err.memlimit_kb, err.opslimit, err.parallelism) == (1024 * 1024, 32, 1)
    assert err.factor > devices_mod.SLOW_KDF_FACTOR
    r = cli("login", "--device", str(path), "--password-stdin", home=tmp_path, stdin="pw\n")
    assert_error(r, "very slow", "--allow-slow-kdf")


def test_costs_up_to_8x_the_defaults_open_without_asking() -> None:
    d = Argon2idParams.new_default()
    devices_mod.check_kdf_cost(d)
    devices_mod.check_kdf_cost(dataclasses.replace(d, memlimit_kb=d.memlimit_kb * 8))
    devices_mod.check_kdf_cost(dataclasses.replace(d, opslimit=d.opslimit * 8))
    with pytest.raises(SlowKeyDerivationError):
        devices_mod.check_kdf_cost(dataclasses.replace(d, opslimit=d.opslimit * 9))
    with pytest.raises(SlowKeyDerivationError):
        devices_mod.check_kdf_cost(dataclasses.replace(d, memlimit_kb=d.memlimit_kb * 4, opslimit=d.opslimit * 3))


def test_allow_slow_kdf_derives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices_mod, "SLOW_KDF_FACTOR", 0)  # every file counts as slow
    local = make_local(1)
    f = build_password_file(local, "pw", params=fast_params())
    with pytest.raises(SlowKeyDerivationError):
        load_device_with_password(f, "pw")
    assert load_device_with_password(f, "pw", allow_slow=True).device_id == local.device_id


# --- runtime folder, folders' modes, the instance socket, a forced backend -------------------------------


@pytest.fixture
def fallback_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No PARSEC_TRAY_RUNTIME_DIR nor XDG_RUNTIME_DIR: the /tmp fallback,
    here under tmp_path."""
    monkeypatch.delenv("PARSEC_TRAY_RUNTIME_DIR", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path / f"parsec-tray-{os.getuid()}"


def test_fallback_runtime_folder_is_private_whatever_the_umask(fallback_runtime: Path) -> None:
    old = os.umask(0)
    try:
        assert Path(instance.runtime_dir()) == fallback_runtime
    finally:
        os.umask(old)
    assert fallback_runtime.stat().st_mode & 0o777 == 0o700
    fallback_runtime.chmod(0o777)
    instance.runtime_dir()
    assert fallback_runtime.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("kind", ["symlink", "file", "other-owner"])
def test_fallback_runtime_folder_refused_with_a_sentence(kind: str, fallback_runtime: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    if kind == "symlink":
        fallback_runtime.symlink_to(elsewhere, target_is_directory=True)
    elif kind == "file":
        fallback_runtime.write_text("")
    else:
        fallback_runtime.mkdir(mode=0o700)
        os.chown(fallback_runtime, os.getuid() + 4242, -1)
    with pytest.raises(LocalError) as info:
        instance.runtime_dir()
    assert str(fallback_runtime) in str(info.value) and "\n" not in str(info.value)
    # Through the CLI: one sentence, no "unexpected PermissionError".
    env = {k: v for k, v in os.environ.items() if k not in ("PARSEC_TRAY_RUNTIME_DIR", "XDG_RUNTIME_DIR")}
    r = subprocess.run([*CLI, "status"], capture_output=True, text=True, env={**env, "TMPDIR": str(tmp_path)},
                       timeout=60)
    assert_error(r, str(fallback_runtime))


def test_folders_created_0700_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "c" / "x.keys"
    old = os.umask(0)
    try:
        AtomicWrite(target, b"data").prepare().commit()
    finally:
        os.umask(old)
    for d in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert d.stat().st_mode & 0o777 == 0o700, d
    assert target.stat().st_mode & 0o777 == 0o600


def test_one_silent_client_blocks_nobody(tmp_path: Path) -> None:
    server = instance.acquire(tmp_path)
    assert server is not None
    server.serve(lambda req: {"ok": True, "cmd": req.get("cmd")})
    try:
        silent = [socket.socket(socket.AF_UNIX) for _ in range(3)]
        for s in silent:
            s.connect(str(tmp_path / "instance.sock"))  # and sends nothing
        # Each silent client had the server for 10 s before: this timed out.
        assert instance.request({"cmd": "status"}, directory=tmp_path, timeout=instance.CLIENT_TIMEOUT) == {
            "ok": True, "cmd": "status",
        }
        for s in silent:
            s.close()
    finally:
        server.close()


def test_forced_backend_without_display_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(PARSEC_TRAY_BACKEND="window", PARSEC_TRAY_RUNTIME_DIR=str(tmp_path / "run"))
    r = subprocess.run([sys.executable, "-m", "parsec_tray"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
    assert "window backend" in r.stderr and "DISPLAY" in r.stderr


def test_bootstrap_link_from_a_file_stays_off_the_command_line(tmp_path: Path) -> None:
    with HostileServer("slow") as server:
        link = f"parsec3://127.0.0.1:{server.port}/Org?no_ssl=true&a=bootstrap_organization&p=xBCgAAAAAAAAAAAAAAAAAAAB"
        path = tmp_path / "link"
        path.write_text(link + "\n")
        path.chmod(0o644)
        r = cli("bootstrap", "--link-file", str(path), "--email", "a@example.com", "--user-name", "A",
                "--device-label", "x", "--password-stdin", home=tmp_path, stdin="pw\n")
        assert_error(r, "other users")
        path.chmod(0o600)
        proc = subprocess.Popen(
            [*CLI, "bootstrap", "--link-file", str(path), "--email", "a@example.com", "--user-name", "A",
             "--device-label", "x", "--password-stdin"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=home_env(tmp_path),
        )
        assert proc.stdin is not None
        proc.stdin.write(b"pw\n")
        proc.stdin.close()
        assert server.got_request.wait(60)  # the link was read and used
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    assert b"xBCgAAAAAAAAAAAAAAAAAAAB" not in cmdline and b"bootstrap" in cmdline
