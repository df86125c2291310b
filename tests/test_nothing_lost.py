"""A bootstrap never loses its keys (issue 12).

Once the bootstrap request may have reached the server, the prepared device
file is kept (``<device id>.keys.pending``) and the outcome settled by an
authenticated ping with its keys: at once when the server answers, else at
the next login or retry.  Checked against the real server, through a proxy
that passes the bootstrap request and drops its answer, and with the CLI
killed at the moment the answer arrives.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from cli_runner import CLI, home_env
from parsec_server import free_port
from parsec_tray.core import devices as devices_mod
from parsec_tray.core import flows, keyring_store
from parsec_tray.core.devices import (
    DeviceSave,
    build_password_file,
    list_device_files,
    recover_device_files,
)
from parsec_tray.core.errors import (
    DeviceFileError,
    OutcomeUnknownError,
    ProtocolError,
    ServerRefusedError,
    ServerUnreachableError,
)
from tcp_proxy import TCPProxy
from test_faults import assert_nothing_lost, config_of, fast_params, make_local

BOOTSTRAP = b"POST /anonymous/"

# Kept small so the suite stays fast; benchmarks/nothing_lost.py runs 100 of each.
DROPS = int(os.environ.get("PARSEC_TRAY_DROPS", "3"))
KILLS = int(os.environ.get("PARSEC_TRAY_KILLS", "6"))


def proxied(proxy: TCPProxy) -> str:
    return f"parsec3://127.0.0.1:{proxy.port}?no_ssl=true"


def create(server_url: str, org: str, config: Path, token: str) -> flows.CreatedDevice:
    return flows.create_organization(
        server_url, org, "ann@example.com", "Ann", "desk", password="pw", admin_token=token, config_dir=config
    )


# --- the dropped answer ------------------------------------------------------------------------


@pytest.mark.server
def test_dropped_answer_is_settled_at_once_by_a_ping(
    parsec_server: Any, org_name: str, tmp_path: Path, fast_argon2: None
) -> None:
    config = tmp_path / "cfg"
    with TCPProxy(parsec_server.port) as proxy:
        dropped = []
        proxy.on_reply_to(BOOTSTRAP, lambda: dropped.append(1) or "drop")
        for i in range(DROPS):
            org = f"{org_name}d{i}"
            created = create(proxied(proxy), org, config, parsec_server.admin_token)
            assert created.session is not None
            assert created.session.transport.remaining() is None  # the flow's deadline ended with it
            created.session.close()
            assert created.device_file.name == f"{created.device_id}.keys" and created.device_file.exists()
            assert [u["user_id"] for u in parsec_server.users(org)] == [created.user_id]
        assert len(dropped) == DROPS  # every answer was really lost
    assert sorted(p.name for p in (config / "devices").iterdir()) == sorted(
        f"{d.device_id}.keys" for d in flows.list_devices(config)
    )
    assert not any(d.pending for d in flows.list_devices(config))


@pytest.mark.server
def test_dropped_answer_and_server_gone_keeps_the_keys_until_login(
    parsec_server: Any, org_name: str, tmp_path: Path, fast_argon2: None
) -> None:
    config = tmp_path / "cfg"
    with TCPProxy(parsec_server.port) as proxy:
        proxy.on_reply_to(BOOTSTRAP, lambda: "drop", then_refuse=True)
        with pytest.raises(OutcomeUnknownError) as info:
            create(proxied(proxy), org_name, config, parsec_server.admin_token)
        err = info.value
        assert "not known yet" in str(err) and "Nothing is lost" in str(err) and "\n" not in str(err)
        assert str(err.device_file) in str(err)
        assert err.device_file.name == f"{err.device_id}.keys.pending" and err.device_file.exists()
        assert err.organization_id == org_name
        # The server did set it up: these keys are its only keys.
        assert parsec_server.organization(org_name)["is_bootstrapped"] is True
        listed = flows.list_devices(config)
        assert [(d.device_id, d.pending) for d in listed] == [(err.device_id, True)]
        assert "not confirmed" in listed[0].describe()
        # Still unreachable: a login says the same, and keeps the file.
        with pytest.raises(OutcomeUnknownError):
            flows.login(listed[0], password="pw", config_dir=config, allow_offline=True)
        assert err.device_file.exists()
        proxy.refuse(False)
        session = flows.login(err.device_id, password="pw", config_dir=config)
        session.close()
    final = config / "devices" / f"{err.device_id}.keys"
    assert session.device_file == final and final.exists() and not err.device_file.exists()
    assert [(d.device_id, d.pending) for d in flows.list_devices(config)] == [(err.device_id, False)]


@pytest.mark.server
def test_a_retry_finds_the_earlier_attempt(parsec_server: Any, org_name: str, tmp_path: Path, fast_argon2: None) -> None:
    config = tmp_path / "cfg"
    with TCPProxy(parsec_server.port) as proxy:
        proxy.on_reply_to(BOOTSTRAP, lambda: "drop", then_refuse=True)
        with pytest.raises(OutcomeUnknownError) as info:
            create(proxied(proxy), org_name, config, parsec_server.admin_token)
        proxy.on_reply_to(None)
        proxy.refuse(False)
        # The person tries again, same organization, same password.
        created = create(proxied(proxy), org_name, config, parsec_server.admin_token)
    assert created.session is not None
    created.session.close()
    assert created.device_id == info.value.device_id
    assert created.device_file.exists() and not info.value.device_file.exists()
    assert [u["user_id"] for u in parsec_server.users(org_name)] == [created.user_id]


@pytest.mark.server
def test_a_pending_device_the_server_does_not_know_is_said_so(
    parsec_server: Any, org_name: str, tmp_path: Path
) -> None:
    """Keys that were never accepted (the request did not take): the login
    says so and leaves the file for the person to delete."""
    config = tmp_path / "cfg"
    local = make_local(parsec_server.port)
    save = DeviceSave.prepare(build_password_file(local, "pw", params=fast_params()), config=config)
    save.sending()
    pending = save.unknown()
    with pytest.raises(DeviceFileError) as info:
        flows.login(local.device_id.hex, password="pw", config_dir=config)
    assert "was not created on the server" in str(info.value) and str(pending) in str(info.value)
    assert pending.exists()


# --- the state machine and the leftovers -----------------------------------------------------------


def test_device_save_states(tmp_path: Path) -> None:
    local = make_local(1)
    file = build_password_file(local, "pw", params=fast_params())
    save = DeviceSave.prepare(file, config=tmp_path)
    folder = tmp_path / "devices"
    [tmp] = list(folder.iterdir())
    assert tmp.name.startswith(f".{local.device_id.hex}.keys.") and tmp.stat().st_mode & 0o777 == 0o600
    with pytest.raises(RuntimeError):
        save.confirmed()  # not sent yet: an illegal event changes nothing
    assert save.state == "nothing_sent" and tmp.exists()
    save.sending()
    assert [p.name for p in folder.iterdir()] == [f"{local.device_id.hex}.keys.pending"]
    assert save.state == "maybe_created"
    with pytest.raises(RuntimeError):
        save.abort()  # sent: never removed without the server's answer
    assert save.pending_path.exists() and save.state == "maybe_created"
    path = save.confirmed()
    assert save.state == "created"
    assert [p.name for p in folder.iterdir()] == [path.name] == [f"{local.device_id.hex}.keys"]
    assert path.read_bytes() == file.dump()
    # A definitive refusal removes; before sending, abort removes.
    other = DeviceSave.prepare(build_password_file(make_local(1), "pw", params=fast_params()), config=tmp_path)
    other.sending()
    other.refused()
    third = DeviceSave.prepare(build_password_file(make_local(1), "pw", params=fast_params()), config=tmp_path)
    third.abort()
    assert [p.name for p in folder.iterdir()] == [path.name]


def test_leftover_temporary_files_are_recovered_or_removed(tmp_path: Path) -> None:
    folder = tmp_path / "devices"
    folder.mkdir()
    complete = build_password_file(make_local(1), "pw", params=fast_params())
    incomplete = build_password_file(make_local(1), "pw", params=fast_params()).dump()[:-7]
    done = build_password_file(make_local(1), "pw", params=fast_params())
    (folder / f".{complete.device_id.hex}.keys.0123456789ab.tmp").write_bytes(complete.dump())
    (folder / ".deadbeef.keys.ba9876543210.tmp").write_bytes(incomplete)
    (folder / f"{done.device_id.hex}.keys").write_bytes(done.dump())
    (folder / f".{done.device_id.hex}.keys.aaaaaaaaaaaa.tmp").write_bytes(done.dump())  # committed, not cleaned
    (folder / f"{done.device_id.hex}.keys.pending").write_bytes(done.dump())  # confirmed, not cleaned
    # A save in progress in another process holds its file: left alone.
    busy = DeviceSave.prepare(build_password_file(make_local(1), "pw", params=fast_params()), config=tmp_path)
    listed = list_device_files(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{done.device_id.hex}.keys", f"{complete.device_id.hex}.keys.pending", busy._write.tmp.name]
    )
    assert [(d.file.device_id, d.pending) for d in listed] == [(done.device_id, False), (complete.device_id, True)]
    busy.abort()
    recover_device_files(tmp_path)  # twice: nothing more to do
    assert len(list(folder.iterdir())) == 2


def test_a_save_in_progress_is_never_taken_for_a_leftover(tmp_path: Path) -> None:
    """Recovery running in a loop while saves run: every save completes."""
    stop = threading.Event()

    def recover() -> None:
        while not stop.is_set():
            recover_device_files(tmp_path)

    t = threading.Thread(target=recover, daemon=True)
    t.start()
    try:
        for _ in range(30):
            save = DeviceSave.prepare(build_password_file(make_local(1), "pw", params=fast_params()), config=tmp_path)
            save.sending()
            assert save.confirmed().exists()
    finally:
        stop.set()
        t.join(10)
    assert len(list_device_files(tmp_path)) == 30


# --- killed when the answer arrives ----------------------------------------------------------------


@pytest.mark.server
def test_killed_when_the_answer_arrives(parsec_server: Any, org_name: str, tmp_path: Path) -> None:
    """SIGKILL the CLI at the moment the bootstrap answer reaches the proxy
    (and a little after: during the commit and the login), many times: no
    organization the server set up is without its keys here."""
    env = home_env(tmp_path, PARSEC_TRAY_ADMIN_TOKEN=parsec_server.admin_token)
    seed = secrets.randbits(32)
    rng = random.Random(seed)
    orgs = [f"{org_name}k{i}" for i in range(KILLS)]
    delays = [0.0 if i % 2 == 0 else rng.uniform(0.0, 0.3) for i in range(KILLS)]
    with TCPProxy(parsec_server.port) as proxy:
        for org, delay in zip(orgs, delays, strict=True):
            create_org_killed_at_answer(proxy, org, env, delay)
        bootstrapped = [o for o in orgs if parsec_server.organization(o)["is_bootstrapped"]]
        assert bootstrapped, f"seed={seed}: no kill came after the request"
        proxy.on_reply_to(None)  # the devices' server is the proxy: the logins that settle go through it
        assert_nothing_lost(parsec_server, orgs, config_of(tmp_path), "pw", f"seed={seed} delays={delays}")


def create_org_killed_at_answer(proxy: TCPProxy, org: str, env: dict[str, str], delay: float) -> None:
    """``create-org`` through ``proxy``, killed when its bootstrap answer
    arrives (``delay`` 0), or ``delay`` seconds after it was let through."""
    proc = subprocess.Popen(
        [*CLI, "create-org", "--server", proxied(proxy), "--org", org, "--email", "k@example.com",
         "--user-name", "K", "--device-label", "x", "--password-stdin"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    kill_at_answer(proxy, proc, delay)
    assert proc.stdin is not None
    proc.stdin.write(b"pw\n")
    proc.stdin.close()
    proc.wait(timeout=120)


def kill_at_answer(proxy: TCPProxy, proc: subprocess.Popen[bytes], delay: float) -> None:
    """When the bootstrap answer arrives: SIGKILL ``proc`` now (the answer
    is lost), or let it through and kill ``delay`` seconds later."""

    def on_answer() -> str:
        if delay == 0.0:
            proc.send_signal(signal.SIGKILL)
            return "drop"
        threading.Timer(delay, lambda: proc.poll() is None and proc.send_signal(signal.SIGKILL)).start()
        return "pass"

    proxy.on_reply_to(BOOTSTRAP, on_answer)


def test_final_path_of() -> None:
    p = Path("/x/devices/ab.keys.pending")
    assert devices_mod.final_path_of(p) == Path("/x/devices/ab.keys")
    assert devices_mod.final_path_of(Path("/x/ab.keys")) == Path("/x/ab.keys")


class MemoryKeyring(keyring_store.KeyringBackend):
    """An in-memory OS keyring (the real one is tested in test_keyring_store)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, user: str) -> str | None:
        return self.items.get((service, user))

    def set_password(self, service: str, user: str, password: str) -> None:
        self.items[(service, user)] = password

    def delete_password(self, service: str, user: str) -> None:
        self.items.pop((service, user), None)

    def available(self) -> bool:
        return True


@pytest.mark.server
def test_listing_settles_a_keyring_device(
    parsec_server: Any, org_name: str, config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pending device that opens without a prompt is settled by the next
    listing (``devices``), not only by a login."""
    monkeypatch.setattr(keyring_store, "_backend", MemoryKeyring())
    with TCPProxy(parsec_server.port) as proxy:
        proxy.on_reply_to(BOOTSTRAP, lambda: "drop", then_refuse=True)
        with pytest.raises(OutcomeUnknownError) as info:
            flows.create_organization(
                proxied(proxy), org_name, "k@example.com", "K", "desk", use_keyring=True,
                admin_token=parsec_server.admin_token, config_dir=config_home,
            )
        assert flows.settle_pending_devices(config_home, seconds=1.0) == []  # still unreachable: kept
        assert info.value.device_file.exists()
        proxy.refuse(False)
        final = config_home / "devices" / f"{info.value.device_id}.keys"
        assert flows.settle_pending_devices(config_home) == [final]
    assert final.exists() and not info.value.device_file.exists()
    assert [(d.device_id, d.pending, d.protection) for d in flows.list_devices(config_home)] == [
        (info.value.device_id, False, "keyring")
    ]


@pytest.mark.server
def test_the_session_outlives_the_flows_deadline(
    parsec_server: Any, org_name: str, tmp_path: Path, fast_argon2: None
) -> None:
    created = create(parsec_server.url, org_name, tmp_path / "cfg", parsec_server.admin_token)
    assert created.session is not None
    assert created.session.transport.remaining() is None  # a tray session runs for hours
    created.session.ping()
    created.session.close()
    session = flows.login(created.device_id, password="pw", config_dir=tmp_path / "cfg")
    assert session.transport.remaining() is None
    session.close()


@pytest.mark.parametrize(
    "raised, kept",
    [
        (ServerRefusedError("no", status="invalid_certificate"), False),  # the server said no
        (ServerUnreachableError("refused", request_sent=False), False),  # never left this computer
        (ServerUnreachableError("reset", request_sent=True), True),  # may have reached the server
        (ProtocolError("garbled"), True),
        (KeyboardInterrupt(), True),  # SIGTERM, Ctrl-C while waiting for the answer
    ],
)
def test_send_creating_device_outcomes(raised: BaseException, kept: bool, tmp_path: Path) -> None:
    """The reusable path of every device-creating request (bootstrap,
    claim, recovery import), with the device's server not answering the
    settling ping."""
    local = make_local(free_port())
    save = DeviceSave.prepare(build_password_file(local, "pw", params=fast_params()), config=tmp_path)

    def send() -> None:
        raise raised

    expected: type[BaseException] = OutcomeUnknownError if kept else type(raised)
    with pytest.raises(expected) as info:
        flows.send_creating_device(save, local, send, what="the test device was created")
    assert save.pending_path.exists() == kept and not save.path.exists()
    if kept:
        assert isinstance(info.value, OutcomeUnknownError)
        assert info.value.device_file == save.pending_path and save.state == "outcome_unknown"
        assert "whether the test device was created" in str(info.value)
    else:
        assert save.state == "not_created" and list((tmp_path / "devices").iterdir()) == []


def test_send_creating_device_success(tmp_path: Path) -> None:
    local = make_local(1)
    save = DeviceSave.prepare(build_password_file(local, "pw", params=fast_params()), config=tmp_path)
    assert flows.send_creating_device(save, local, lambda: None, what="x") is None
    assert save.state == "created" and [p.name for p in (tmp_path / "devices").iterdir()] == [save.path.name]
