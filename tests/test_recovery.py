"""Recovery files, own devices and the "at risk" rule, change of protection.

Checked against the reference: the ``parsec._parsec`` bindings decrypt our
recovery files with the passphrase we show and load the certificates the
real server stores (purpose, author); the real server accepts the devices
we certify and then authenticates their keys.
"""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import msgpack
import pytest
from conftest import require
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from parsec_org import PASSWORD, new_admin_session
from parsec_server import free_port
from parsec_tray.core import api
from parsec_tray.core.addr import ParsecAddr
from parsec_tray.core.certificates import DeviceCertificate
from parsec_tray.core.crypto import SigningKey, key_to_passphrase, passphrase_to_key
from parsec_tray.core.device_file import DeviceFile
from parsec_tray.core.devices import load_device_with_password, read_device_file
from parsec_tray.core.errors import (
    CryptoError,
    DeviceFileCorruptError,
    DeviceFileError,
    DeviceFileWriteError,
    InvalidValueError,
    ProtocolError,
    ServerRefusedError,
    ServerUnreachableError,
    UnsupportedDeviceFileError,
    WrongPasswordError,
)
from parsec_tray.core.own_devices import (
    OwnDevice,
    own_devices_from_certificates,
    security_warnings,
)
from parsec_tray.core.recovery import (
    device_create_retry,
    dump_recovery_device,
    load_recovery_device,
    new_device_for_user,
    recovery_device_label,
    recovery_file_name,
)
from parsec_tray.core.session import Session
from parsec_tray.core.values import DateTime, DeviceID, DeviceLabel

try:
    from parsec import _parsec as ref
except ImportError:  # checked by the fixture below (skip locally, fail under CI)
    ref = None


@pytest.fixture(autouse=True, scope="module")
def _reference() -> None:
    require(ref is not None, "parsec-cloud 3.9.3 (parsec._parsec, the reference bindings)")


RECOVERY_KEYS = [
    "type", "created_on", "protected_on", "server_url", "organization_id", "user_id", "device_id",
    "human_handle", "device_label", "ciphertext",
]


def _raw_map(raw: bytes) -> dict[str, Any]:
    obj = msgpack.unpackb(raw, raw=False, strict_map_key=False)
    assert isinstance(obj, dict)
    return obj


def _certificates(session: Session) -> list[bytes]:
    reply = session.client.send(
        "certificate_get", common_after=None, sequester_after=None, shamir_recovery_after=None, realm_after={}
    )
    assert reply["status"] == "ok"
    return list(reply["common_certificates"])


def _ref_devices(session: Session) -> dict[str, Any]:
    """device id hex → the reference's DeviceCertificate, for every device
    certificate the server returns (the user certificate is skipped)."""
    out = {}
    for signed in _certificates(session):
        try:
            cert = ref.DeviceCertificate.unsecure_load(signed)
        except Exception:  # a user certificate
            continue
        out[cert.device_id.hex] = cert
    return out


# --- pure: the recovery file codec --------------------------------------------------------


def _local(org: str = "RecOrg") -> Any:
    from parsec_tray.core import bootstrap
    from parsec_tray.core.addr import ParsecOrganizationBootstrapAddr
    from parsec_tray.core.values import HumanHandle, OrganizationID

    addr = ParsecOrganizationBootstrapAddr(ParsecAddr("127.0.0.1", 6770, False), OrganizationID(org), None)
    return bootstrap.prepare(addr, HumanHandle("r@example.com", "Rae"), DeviceLabel("desk")).device


def test_recovery_file_layout_and_reference_decryption() -> None:
    device = new_device_for_user(_local(), recovery_device_label(DateTime.now()))
    passphrase, raw = dump_recovery_device(device)
    obj = _raw_map(raw)
    assert list(obj) == RECOVERY_KEYS
    assert obj["type"] == "recovery" and obj["created_on"] == obj["protected_on"]
    assert obj["device_label"].startswith("recovery-") and obj["device_label"].endswith("Z")
    assert obj["server_url"] == "http://127.0.0.1:6770/"
    # The official decoder turns the passphrase into the key that opens it.
    key = ref.SecretKey.from_recovery_passphrase(passphrase)
    clear = msgpack.unpackb(key.decrypt(obj["ciphertext"]), raw=False, strict_map_key=False)
    assert clear["type"] == "local_device"
    assert clear["device_id"].data == device.device_id.bytes and clear["signing_key"] == device.signing_key.encode()
    back = load_recovery_device(raw, passphrase)
    assert back.dump() == device.dump()


def test_new_device_for_user_copies_the_user_and_renews_the_device() -> None:
    old = _local()
    new = new_device_for_user(old, DeviceLabel("other"))
    for same in ("server", "organization_id", "root_verify_key", "user_id", "human_handle", "initial_profile",
                 "user_realm_id"):
        assert getattr(new, same) == getattr(old, same), same
    assert new.private_key.encode() == old.private_key.encode()
    assert new.user_realm_key == old.user_realm_key
    assert new.device_id != old.device_id and new.device_label == "other"
    assert new.signing_key.encode() != old.signing_key.encode()
    assert new.local_symkey != old.local_symkey


def test_official_passphrase_forms_open_the_file() -> None:
    device = _local()
    passphrase, raw = dump_recovery_device(device)
    forms = [
        passphrase,
        passphrase.lower(),
        passphrase.replace("-", ""),
        passphrase.replace("-", " "),
        f"  {passphrase.lower().replace('-', ' ')}\n",
        passphrase.replace("O", "0").replace("I", "1"),
    ]
    for form in forms:
        # What the official decoder accepts, we accept, and it is the same key.
        assert ref.SecretKey.from_recovery_passphrase(form).secret == passphrase_to_key(passphrase).encode()
        assert load_recovery_device(raw, form).device_id == device.device_id


def test_wrong_or_malformed_passphrase() -> None:
    passphrase, raw = dump_recovery_device(_local())
    other = key_to_passphrase(passphrase_to_key(dump_recovery_device(_local())[0]))
    with pytest.raises(WrongPasswordError, match="passphrase does not match"):
        load_recovery_device(raw, other)
    for bad in ("", passphrase[:-5], passphrase + "-AAAA"):
        with pytest.raises(InvalidValueError, match="recovery passphrase"):
            load_recovery_device(raw, bad)


def test_tampered_recovery_files_are_refused() -> None:
    passphrase, raw = dump_recovery_device(_local())
    obj = _raw_map(raw)
    ct_start = raw.index(obj["ciphertext"])
    rng = random.Random(8)
    positions = sorted(set(rng.sample(range(len(raw)), 60)) | {0, len(raw) - 1, ct_start, ct_start + 30})
    for i in positions:
        flipped = bytearray(raw)
        flipped[i] ^= 1 << rng.randrange(8)
        try:
            back = load_recovery_device(bytes(flipped), passphrase)
        except (DeviceFileCorruptError, WrongPasswordError, UnsupportedDeviceFileError) as exc:
            assert "Traceback" not in str(exc)
            if i >= ct_start:
                assert isinstance(exc, WrongPasswordError), i  # the MAC catches it
            continue
        # A flip that still loads can only be in the public header and must
        # not have changed what was decrypted.
        assert i < ct_start
        assert back.dump() == load_recovery_device(raw, passphrase).dump()
    for cut in (0, 1, 10, len(raw) // 2, len(raw) - 1):
        with pytest.raises((DeviceFileCorruptError, WrongPasswordError)):
            load_recovery_device(raw[:cut], passphrase)
    # The header's ids must match the encrypted device.
    swapped = DeviceFile.load(raw)
    swapped = dataclasses.replace(swapped, device_id=DeviceID.new())
    with pytest.raises(DeviceFileCorruptError):
        load_recovery_device(swapped.dump(), passphrase)


def test_other_files_are_not_recovery_files(tmp_path: Path) -> None:
    from parsec_tray.core.crypto import Argon2idParams
    from parsec_tray.core.devices import build_password_file

    device = _local()
    params = Argon2idParams(8, 1, 1, bytes(16))
    password_file = build_password_file(device, "pw", params=params).dump()
    passphrase = dump_recovery_device(device)[0]
    with pytest.raises(DeviceFileCorruptError, match="protected by a password, not a recovery file"):
        load_recovery_device(password_file, passphrase)
    for junk in (b"", b"\x00" * 100, os.urandom(800), msgpack.packb({"type": "recovery"}), b"PK\x03\x04zip"):
        with pytest.raises(DeviceFileCorruptError, match="not a Parsec recovery file"):
            load_recovery_device(junk, passphrase)
    p = tmp_path / "x.psrk"
    p.write_bytes(password_file)
    with pytest.raises(DeviceFileCorruptError, match=r"x\.psrk"):
        api.read_recovery_file(p)
    with pytest.raises(DeviceFileError, match="recovery file .* does not exist"):
        api.read_recovery_file(tmp_path / "none.psrk")


def test_file_name_and_label() -> None:
    assert recovery_file_name("ACME") == "Parsec_Recovery_File_ACME.psrk"
    assert str(recovery_device_label(DateTime(1_796_128_082_481_174))) == "recovery-2026-12-01T12:28:02.481174Z"


def test_device_create_replies() -> None:
    now = DateTime(10_000_000)
    assert device_create_retry({"status": "ok"}, now) is None
    later = DateTime(20_000_000)
    assert device_create_retry({"status": "require_greater_timestamp", "strictly_greater_than": later}, now) == DateTime(
        20_500_000
    )
    assert device_create_retry({"status": "require_greater_timestamp", "strictly_greater_than": DateTime(0)}, now) == now
    from parsec_tray.core.errors import ClockOutOfSyncError

    with pytest.raises(ClockOutOfSyncError):
        device_create_retry({"status": "timestamp_out_of_ballpark"}, now)
    for status in ("invalid_certificate", "device_already_exists", "what"):
        with pytest.raises(ServerRefusedError) as info:
            device_create_retry({"status": status}, now)
        assert info.value.status == status
    with pytest.raises(ProtocolError):
        device_create_retry({"status": "require_greater_timestamp"}, now)


# --- pure: the at-risk rule -------------------------------------------------------------------

CUR = DeviceID.new()


def _own(purpose: str = "STANDARD", label: str | None = "laptop", device_id: DeviceID | None = None) -> OwnDevice:
    return OwnDevice(device_id or DeviceID.new(), DeviceLabel(label) if label else None, purpose, DateTime(0), None)


AT_RISK_TABLE = [
    # (devices besides the current one, at risk, has recovery, has other devices)
    ([], True, False, False),
    ([_own("PASSPHRASE_RECOVERY", "recovery-2026")], False, True, False),
    ([_own("PASSPHRASE_RECOVERY", "my key")], False, True, False),  # purpose is enough
    ([_own("STANDARD", "recovery_1796128082446")], False, True, False),  # pre-3.2: the label says it
    ([_own("STANDARD", "Recovery stick")], False, False, True),  # the prefix is case-sensitive
    ([_own("STANDARD", None)], False, False, True),  # redacted (OUTSIDER): another device
    ([_own("STANDARD", "phone")], False, False, True),
    ([_own("SHAMIR_RECOVERY", "shamir")], False, False, True),  # counts as another device
    ([_own("REGISTRATION", "reg")], False, False, True),
    ([_own("STANDARD", "phone"), _own("PASSPHRASE_RECOVERY", "recovery-x")], False, True, True),
]


@pytest.mark.parametrize(("others", "at_risk", "has_recovery", "has_others"), AT_RISK_TABLE)
def test_at_risk_rule(others: list[OwnDevice], at_risk: bool, has_recovery: bool, has_others: bool) -> None:
    current = _own("STANDARD", "this one", CUR)
    for order in (others + [current], [current] + others):
        w = security_warnings(order, CUR)
        assert (w.at_risk, w.has_recovery_device, w.has_multiple_devices) == (at_risk, has_recovery, has_others)


# --- against the real server --------------------------------------------------------------------


@pytest.mark.server
def test_export_then_import_against_the_server(
    parsec_server: Any, org_name: str, config_home: Path, tmp_path: Path
) -> None:
    session = new_admin_session(parsec_server, org_name, config_home)
    try:
        first = session.device.device_id
        assert api.session_security_warnings(session).at_risk is True  # a lone device
        out = tmp_path / "out" / recovery_file_name(org_name)
        exported = api.export_recovery_device(session, out)
        assert exported.recovery_file == out and exported.organization_id == org_name
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        assert not [p for p in out.parent.iterdir() if p != out]  # no temporary left
        w = api.session_security_warnings(session)
        assert (w.at_risk, w.has_recovery_device, w.has_multiple_devices) == (False, True, False)
        # The reference loads the certificate the server stores.
        certs = _ref_devices(session)
        rec = certs[exported.device_id]
        assert rec.purpose == ref.DevicePurpose.PASSPHRASE_RECOVERY
        assert rec.author.hex == first.hex
        assert str(rec.device_label).startswith("recovery-")
        ref.DeviceCertificate.verify_and_load(
            _certificates(session)[-1], ref.VerifyKey(session.device.signing_key.verify_key.encode()),
            expected_author=rec.author,
        )
    finally:
        session.close()

    before = out.read_bytes()
    mtime = out.stat().st_mtime_ns
    created = api.import_recovery_device(out, exported.passphrase.lower(), "new laptop", password="pw2",
                                         config_dir=config_home)
    assert created.session is not None
    try:
        created.session.ping()
        new_id = created.device_id
        certs = _ref_devices(created.session)
        assert certs[new_id].purpose == ref.DevicePurpose.STANDARD
        assert certs[new_id].author.hex == exported.device_id  # signed by the recovery device
        assert str(certs[new_id].device_label) == "new laptop"
        assert created.organization_id == org_name and created.user_id == session.device.user_id.hex
        w = api.session_security_warnings(created.session)
        assert (w.at_risk, w.has_recovery_device, w.has_multiple_devices) == (False, True, True)
        # Our own walk of the certificates agrees, and verifies each one.
        ours = api.fetch_own_devices(created.session)
        assert [(d.device_id.hex, d.purpose) for d in ours] == [
            (first.hex, "STANDARD"), (exported.device_id, "PASSPHRASE_RECOVERY"), (new_id, "STANDARD")
        ]
    finally:
        created.session.close()
    assert out.read_bytes() == before and out.stat().st_mtime_ns == mtime  # never written to
    f = read_device_file(created.device_file)
    assert f.type == "password" and f.device_label == "new laptop"
    assert load_device_with_password(f, "pw2").device_id.hex == new_id
    # The same file can be imported again.
    again = api.import_recovery_device(out, exported.passphrase, "third", password="pw3", config_dir=config_home)
    assert again.session is not None
    again.session.close()
    assert again.device_id != new_id


@pytest.mark.server
def test_export_never_overwrites_and_leaves_nothing_on_refusal(
    parsec_server: Any, org_name: str, config_home: Path, tmp_path: Path
) -> None:
    session = new_admin_session(parsec_server, org_name, config_home)
    try:
        existing = tmp_path / "taken.psrk"
        existing.write_bytes(b"mine")
        with pytest.raises(DeviceFileWriteError, match="already exists"):
            api.export_recovery_device(session, existing)
        assert existing.read_bytes() == b"mine"
        # A device the server does not know: refused, no file, no temporary.
        stranger = Session(dataclasses.replace(session.device, signing_key=SigningKey.generate()))
        try:
            target = tmp_path / "r" / "x.psrk"
            with pytest.raises(Exception) as info:
                api.export_recovery_device(stranger, target)
            assert "not recognise" in str(info.value)
            assert not list((tmp_path / "r").iterdir())
        finally:
            stranger.close()
        assert len([c for c in _ref_devices(session).values()]) == 1  # nothing was added
        assert api.session_security_warnings(session).at_risk is True
    finally:
        session.close()


@pytest.mark.server
def test_import_refusals_change_nothing(
    parsec_server: Any, org_name: str, config_home: Path, tmp_path: Path
) -> None:
    session = new_admin_session(parsec_server, org_name, config_home)
    try:
        exported = api.export_recovery_device(session, tmp_path / "r.psrk")
    finally:
        session.close()
    devices_before = sorted(p.name for p in (config_home / "devices").iterdir())
    raw = exported.recovery_file.read_bytes()
    wrong = dump_recovery_device(_local())[0]
    with pytest.raises(WrongPasswordError):
        api.import_recovery_device(exported.recovery_file, wrong, "x", password="p", config_dir=config_home)
    with pytest.raises(InvalidValueError):
        api.import_recovery_device(exported.recovery_file, exported.passphrase, "", password="p",
                                   config_dir=config_home)
    # The same user's device, on a server that cannot be reached.
    device = load_recovery_device(raw, exported.passphrase)
    dead = dataclasses.replace(device, server=ParsecAddr("127.0.0.1", free_port(), False))
    dead_passphrase, dead_raw = dump_recovery_device(dead)
    dead_file = tmp_path / "dead.psrk"
    dead_file.write_bytes(dead_raw)
    with pytest.raises(ServerUnreachableError) as info:
        api.import_recovery_device(dead_file, dead_passphrase, "x", password="p", config_dir=config_home)
    assert "nothing was saved" in str(info.value)
    after = sorted(p.name for p in (config_home / "devices").iterdir())
    assert after == devices_before  # no device file, no temporary
    assert exported.recovery_file.read_bytes() == raw


@pytest.mark.server
def test_forged_certificates_are_refused(parsec_server: Any, org_name: str, config_home: Path) -> None:
    session = new_admin_session(parsec_server, org_name, config_home)
    try:
        certs = _certificates(session)
    finally:
        session.close()
    d = session.device
    assert len(own_devices_from_certificates(certs, d.root_verify_key, d.user_id)) == 1
    for i in range(len(certs)):
        bad = list(certs)
        flipped = bytearray(bad[i])
        flipped[5] ^= 0x01  # in the signature
        bad[i] = bytes(flipped)
        with pytest.raises(CryptoError):
            own_devices_from_certificates(bad, d.root_verify_key, d.user_id)
    # A device certificate signed by a device nobody introduced.
    intruder = SigningKey.generate()
    forged = DeviceCertificate(
        author=DeviceID.new(), timestamp=DateTime.now(), user_id=d.user_id, device_id=DeviceID.new(),
        device_label=DeviceLabel("recovery-fake"), verify_key=intruder.verify_key.encode(),
        purpose="PASSPHRASE_RECOVERY",
    ).dump_and_sign(intruder)
    with pytest.raises(CryptoError, match="no earlier certificate"):
        own_devices_from_certificates([*certs, forged], d.root_verify_key, d.user_id)


# --- change of protection -------------------------------------------------------------------------


@pytest.mark.server
def test_change_password_in_place(parsec_server: Any, org_name: str, config_home: Path) -> None:
    session = new_admin_session(parsec_server, org_name, config_home)
    session.close()
    path = session.device_file
    assert path is not None
    old = read_device_file(path)
    old_raw = path.read_bytes()
    with pytest.raises(WrongPasswordError):
        api.change_authentication(path, current_password="nope", new_password="new pw")
    assert path.read_bytes() == old_raw
    with pytest.raises(InvalidValueError):
        api.change_authentication(path, current_password=PASSWORD, new_password="")
    assert path.read_bytes() == old_raw
    new = api.change_authentication(path, current_password=PASSWORD, new_password="new pw")
    assert new.type == "password" and new.created_on == old.created_on and new.protected_on > old.protected_on
    assert new.algorithm is not None and old.algorithm is not None and new.algorithm.salt != old.algorithm.salt
    with pytest.raises(WrongPasswordError):
        load_device_with_password(read_device_file(path), PASSWORD)
    device = load_device_with_password(read_device_file(path), "new pw")
    assert device.dump() == session.device.dump()  # the device itself is untouched
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    relogged = api.login(path, password="new pw")
    relogged.close()


def test_recovery_files_cannot_be_reprotected(tmp_path: Path) -> None:
    p = tmp_path / "devices" / "r.keys"
    p.parent.mkdir()
    p.write_bytes(dump_recovery_device(_local())[1])
    with pytest.raises(UnsupportedDeviceFileError, match="recovery file"):
        api.check_authentication_change(p)
    with pytest.raises(UnsupportedDeviceFileError, match="recovery file"):
        api.change_authentication(p, new_password="x")


_KILL_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from parsec_tray.core import api
    from parsec_tray.core import protection  # everything imported before counting
    path, old, new, kill_at = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    seen = 0
    def hook(event, args):
        global seen
        if event in ("open", "os.rename", "os.link", "os.remove", "os.chmod", "os.mkdir"):
            seen += 1
            if seen == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
    sys.addaudithook(hook)
    api.change_authentication(path, current_password=old, new_password=new)
    print(seen)
    """
)


@pytest.mark.server
def test_change_auth_killed_at_each_step_leaves_the_old_or_the_new_file(
    parsec_server: Any, org_name: str, config_home: Path
) -> None:
    """SIGKILL at every file-system event of a change of password (and a
    few at random ones): the device file always opens with the old or the
    new password, never neither."""
    session = new_admin_session(parsec_server, org_name, config_home)
    session.close()
    path = session.device_file
    assert path is not None

    def run(kill_at: int, old: str, new: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", _KILL_CHILD, str(path), old, new, str(kill_at)],
            capture_output=True, text=True, timeout=120, env=dict(os.environ),
        )

    # A full run counts the events (0 never fires).
    full = run(0, PASSWORD, "second")
    assert full.returncode == 0, full.stderr
    events = int(full.stdout)
    assert 3 <= events <= 40, events
    passwords = ["second", PASSWORD]
    current = "second"
    created_on = read_device_file(path).created_on
    outcomes = set()
    points = list(range(1, events + 1))
    points += random.Random(os.getpid()).sample(points, min(3, len(points)))
    for kill_at in points:
        target = passwords[1] if current == passwords[0] else passwords[0]
        r = run(kill_at, current, target)
        assert r.returncode == -signal.SIGKILL, (kill_at, r.stderr)
        f = read_device_file(path)
        opened = []
        for pw in (current, target):
            try:
                opened.append((pw, load_device_with_password(f, pw).device_id))
            except WrongPasswordError:
                pass
        assert len(opened) == 1, (kill_at, opened)
        assert opened[0][1] == session.device.device_id and f.created_on == created_on
        outcomes.add("new" if opened[0][0] == target else "old")
        current = opened[0][0]
    assert outcomes == {"old", "new"}  # the kills did land before and after the switch
    assert [d.device_file for d in api.list_devices(config_home)] == [path]


# --- device_create: retries and lost answers, against the real server ------------------------------


@pytest.mark.server
def test_require_greater_timestamp_is_retried(parsec_server: Any, org_name: str, config_home: Path) -> None:
    from parsec_tray.core.recovery import register_device

    session = new_admin_session(parsec_server, org_name, config_home)
    try:
        first = new_device_for_user(session.device, DeviceLabel("one"))
        register_device(session, first, "STANDARD")
        stamped = _ref_devices(session)[first.device_id.hex].timestamp
        # Stamped 2 s before the last certificate: the server asks for later, we sign again.
        second = new_device_for_user(session.device, DeviceLabel("two"))
        early = DateTime(stamped.as_timestamp_micros() - 2_000_000)
        register_device(session, second, "STANDARD", timestamp=early)
        cert = _ref_devices(session)[second.device_id.hex]
        assert cert.timestamp.as_timestamp_micros() > stamped.as_timestamp_micros()
        Session(second, transport=session.transport).ping()
    finally:
        session.close()


class _LostAnswer:
    """The request reaches the real server, its answer never comes back."""

    def __init__(self, client: Any, deliver: bool) -> None:
        self.client, self.deliver = client, deliver

    def send(self, cmd: str, **fields: Any) -> Any:
        if self.deliver:
            self.client.send(cmd, **fields)
        raise ServerUnreachableError("The server 127.0.0.1 did not answer in time.")


@pytest.mark.parametrize("delivered", [True, False])
@pytest.mark.server
def test_a_lost_answer_is_settled_by_a_ping(
    delivered: bool, parsec_server: Any, org_name: str, config_home: Path, tmp_path: Path
) -> None:
    session = new_admin_session(parsec_server, org_name, config_home)
    real = session.client
    try:
        session.client = _LostAnswer(real, delivered)  # type: ignore[assignment]
        target = tmp_path / "out" / "r.psrk"
        if delivered:  # the device exists: its file is kept
            exported = api.export_recovery_device(session, target)
            assert target.is_file() and exported.recovery_file == target
            session.client = real
            assert exported.device_id in _ref_devices(session)
            assert load_recovery_device(target.read_bytes(), exported.passphrase).device_id.hex == exported.device_id
        else:  # the server does not know it (yet): the file is kept all the same, and says so
            exported = api.export_recovery_device(session, target)
            assert exported.registered is False and exported.to_json()["registered"] is False
            assert [p.name for p in target.parent.iterdir()] == ["r.psrk"]
            session.client = real
            assert len(_ref_devices(session)) == 1
    finally:
        session.client = real
        session.close()


@pytest.mark.server
def test_an_outsider_sees_redacted_devices_and_is_at_risk(
    parsec_server: Any, org_name: str, config_home: Path
) -> None:
    from parsec_org import add_user
    from parsec_tray.core.values import UserProfile

    admin = new_admin_session(parsec_server, org_name, config_home)
    outsider = add_user(admin, "o@example.com", "Otto", UserProfile.OUTSIDER)
    try:
        devices = api.fetch_own_devices(outsider)
        assert [(d.device_id, d.device_label) for d in devices] == [(outsider.device.device_id, None)]
        assert api.session_security_warnings(outsider).at_risk is True
        # Its recovery device is recognised by purpose alone.
        api.export_recovery_device(outsider, config_home / "o.psrk")
        w = api.session_security_warnings(outsider)
        assert (w.at_risk, w.has_recovery_device) == (False, True)
        assert api.session_security_warnings(admin).at_risk is True  # another user's devices do not count
    finally:
        outsider.close()
        admin.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(label=st.text(min_size=1, max_size=60), name=st.text(min_size=1, max_size=60))
def test_recovery_codec_round_trip(label: str, name: str) -> None:
    from parsec_tray.core import bootstrap
    from parsec_tray.core.addr import ParsecOrganizationBootstrapAddr
    from parsec_tray.core.values import HumanHandle, OrganizationID

    try:
        handle, dlabel = HumanHandle("x@example.com", name), DeviceLabel(label)
    except InvalidValueError:
        assume(False)
        return
    addr = ParsecOrganizationBootstrapAddr(ParsecAddr("example.com", None, True), OrganizationID("Org"), None)
    device = new_device_for_user(bootstrap.prepare(addr, handle, dlabel).device, dlabel)
    passphrase, raw = dump_recovery_device(device)
    assert load_recovery_device(raw, passphrase).dump() == device.dump()
    header = DeviceFile.load(raw)
    assert (header.device_label, header.human_handle, header.type) == (dlabel, handle, "recovery")
    ref.SecretKey.from_recovery_passphrase(passphrase).decrypt(header.ciphertext)


@pytest.mark.server
def test_no_passphrase_or_key_in_logs(
    parsec_server: Any, org_name: str, config_home: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    session = new_admin_session(parsec_server, org_name, config_home)
    try:
        exported = api.export_recovery_device(session, tmp_path / "r.psrk")
    finally:
        session.close()
    wrong = dump_recovery_device(_local())[0]
    with pytest.raises(WrongPasswordError) as info:
        api.import_recovery_device(exported.recovery_file, wrong, "x", password="secret-pw", config_dir=config_home)
    created = api.import_recovery_device(exported.recovery_file, exported.passphrase, "x", password="secret-pw",
                                         config_dir=config_home)
    assert created.session is not None
    created.session.close()
    recovery = load_recovery_device(exported.recovery_file.read_bytes(), exported.passphrase)
    texts = [caplog.text, str(info.value), repr(exported), repr(created)]
    secrets_ = [exported.passphrase, exported.passphrase.replace("-", ""), wrong, "secret-pw",
                recovery.signing_key.encode().hex(), passphrase_to_key(exported.passphrase).encode().hex()]
    assert not [s for s in secrets_ for t in texts if s in t]


# Parsec's own vector: libparsec/crates/types/tests/unit/local_device_file.rs,
# ``recovery_device_file`` (a 3.0.0-b.11 file: msgpack array form; its
# plaintext is the pre-3.0 LocalDevice, not the 3.9.3 layout; fact sheet l.2).
OFFICIAL_RECOVERY_FILE = bytes.fromhex(
    "9aa87265636f76657279d70100047c0f0d84c000d70100047cc41a172000b668747470"
    "733a2f2f7061727365632e696e76616c6964a7436f6f6c4f7267d802a11cec00100000"
    "000000000000000000d802de10a11cec001000000000000000000092b1616c69636540"
    "6578616d706c652e636f6db2416c69636579204d63416c69636546616365af4d792064"
    "657631206d616368696e65c5021141d162cceacbc6845a582ee1497e37469ce46e6e09"
    "b33e1cd5d68d0e054188e38aa85e2a02d0a344cd986e712274f8824f9464fa5a27f7f2"
    "291f42cf579b6be44e0733f89a07f45150dfd8096634f685a44db07693e085e3af6f55"
    "25c14216f3860adaf612c4a8235e005bc1f9dc31aa24f49383b5afb9f7a2e788bbadb6"
    "75894a5f316085449b223df957b799140fe9cdfd3fea56fbaa452b250cad39ce4cc6c7"
    "ccdfe8248e15c7575c4b259f7d3aa93c106b5d99443724b6b2be4e9f55dd3ba5cd29da"
    "633aa20a643599221b8bfe99c6029f7f2160cd18c89a05d71713d51b57b98f56036a9c"
    "ab704376cd6a754985345fc6309de5c6e852489406b946e213a71154668ccf9adb0895"
    "27d28f84ba7b8425d0d13aa697e8ecaa5b6192b7400b1fc589bbb72a7b5dbf1b9942a3"
    "837d1bb1e86401f329172ed57e140a67ec80ba3a74fc804436588ec8057540529c1218"
    "87ba4e86236d53b1b8ed7f8d8d4798c769e5ddbdf785fbe9872cf5dc201016705f6742"
    "4dfd3a02ddc5be737a64325c80a3b678b3908e1036de6880c897fb87236decde2110ee"
    "ff7453f07b755bb634020d2a06fb3599513cbd0c56f25f2cd7fc10ecf11719ec719d7e"
    "36d6d79d9f72ec213d9be2113c9e90d9449e1e2b143c608662c9456b7fb34ff1dcbcf8"
    "f54ef860d6681f6a8c6ef65e7831a381999dfedc98e7b33afae58d4edb101475c29fd9"
    "804a7bd9adfc99bc2697e16c460e5a4f2dc7"
)
OFFICIAL_PASSPHRASE = "F4D4-ZGIQ-3DYH-WPFF-QPIM-DWXJ-VFKA-Z7FT-K444-EU2Q-7DAI-QPGW-NNWQ"


def test_official_recovery_file_envelope() -> None:
    from parsec_tray.core.recovery import parse_recovery_file

    header = parse_recovery_file(OFFICIAL_RECOVERY_FILE)
    assert (header.type, header.organization_id, header.device_label) == ("recovery", "CoolOrg", "My dev1 machine")
    assert header.device_id.hex == "de10a11cec0010000000000000000000"
    assert header.server.to_http_url("/") == "https://parsec.invalid/"
    assert str(header.created_on) == "2010-01-01T00:00:00Z" and str(header.protected_on) == "2010-01-10T00:00:00Z"
    # Its passphrase opens it (the reference agrees on the key)...
    key = passphrase_to_key(OFFICIAL_PASSPHRASE)
    assert ref.SecretKey.from_recovery_passphrase(OFFICIAL_PASSPHRASE).secret == key.encode()
    assert key.decrypt(header.ciphertext)
    # ... but the pre-3.0 device inside is not the 3.9.3 layout: refused in a sentence.
    with pytest.raises(DeviceFileCorruptError, match="not a Parsec recovery file"):
        load_recovery_device(OFFICIAL_RECOVERY_FILE, OFFICIAL_PASSPHRASE)
    with pytest.raises(WrongPasswordError):
        load_recovery_device(OFFICIAL_RECOVERY_FILE, dump_recovery_device(_local())[0])
