"""The command line against a real Parsec 3.9.3 server: every command and
option of the contract, the JSON shapes, and what the server ends up with
(administration API, certificates checked with ``parsec._parsec``).

CLI runs use ``python -m parsec_tray.cli`` (the code path the
``parsec-tray`` script delegates to); one smoke test goes through the
installed ``parsec-tray`` script itself.
"""

from __future__ import annotations

import base64
import json
import os
import pty
import re
import secrets
import select
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import msgpack
import nacl.pwhash
import pytest
from cli_runner import CLI, cli, home_env, ok_json
from conftest import require
from parsec_tray.core.crypto import Argon2idParams
from parsec_tray.core.device_file import DeviceFile
from parsec_tray.core.devices import build_key_file, build_password_file, save_device_file
from parsec_tray.core.local_device import LocalDevice
from parsec_tray.core.transport import AuthenticatedClient, Transport
from parsec_tray.core.values import DeviceID, DeviceLabel, HumanHandle, OrganizationID

pytestmark = pytest.mark.server

# Leading/trailing spaces and non-ASCII are part of the password; the second
# line is not (--password-stdin reads one line).
PASSWORD = " correct horse ✓ battery "

CREATED_KEYS = {"device_file", "organization_id", "user_id", "device_id", "server_url", "organization_url"}
DEVICE_KEYS = {
    "device_file", "organization_id", "user_id", "device_id", "human_handle", "device_label", "server_url",
    "protection",
}
LOGIN_KEYS = {"organization_id", "user_id", "device_id", "server_url", "at_risk"}
LOCAL_DEVICE_KEYS = [
    "type", "server_url", "organization_id", "root_verify_key", "user_id", "device_id", "device_label",
    "human_handle", "signing_key", "private_key", "initial_profile", "user_realm_id", "user_realm_key",
    "local_symkey",
]
PASSWORD_FILE_KEYS = [
    "type", "created_on", "protected_on", "server_url", "organization_id", "user_id", "device_id",
    "human_handle", "device_label", "algorithm", "ciphertext", "totp_opaque_key_id",
]


def assert_error(r: subprocess.CompletedProcess[str], *fragments: str, one_line: bool = True) -> str:
    """A failure: exit ≠ 0, no traceback, nothing on stdout, an actionable
    message (one line unless told) containing every fragment."""
    assert r.returncode != 0, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr
    assert "unexpected" not in r.stderr.lower(), r.stderr  # the CLI's catch-all for bugs
    assert r.stdout == ""
    message = r.stderr.strip()
    assert message, "no message on stderr"
    if one_line:
        assert len(message.splitlines()) == 1, message
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message
    return message


def device_files_in(home: Path) -> list[Path]:
    root = home / "config" / "parsec3" / "libparsec" / "devices"
    return sorted(root.rglob("*.keys")) if root.exists() else []


def files_under(home: Path) -> list[Path]:
    return sorted(p for p in home.rglob("*") if not p.is_dir())


def admin_users(server: Any, org: str) -> list[tuple[str, str, str]]:
    return sorted((u["user_id"], u["user_email"], u["user_name"]) for u in server.users(org))


# --- one organization created through the CLI, shared by the read-only tests ----------


@dataclass
class Created:
    home: Path
    org: str
    out: dict[str, Any]
    email: str = "alice@example.com"
    user_name: str = "Alice Liddell"
    device_label: str = "Alice's laptop"

    @property
    def device_file(self) -> Path:
        return Path(self.out["device_file"])


@pytest.fixture(scope="module")
def created(parsec_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Created:
    home = tmp_path_factory.mktemp("created-home")
    org = f"CliOrg{secrets.token_hex(4)}"
    c = Created(home, org, {})
    r = cli(
        "create-org", "--server", parsec_server.url, "--org", org, "--email", c.email,
        "--user-name", c.user_name, "--device-label", c.device_label,
        "--admin-token", parsec_server.admin_token, "--password-stdin", "--json",
        home=home, stdin=PASSWORD + "\nthis second line is not the password\n",
    )
    c.out = ok_json(r)
    return c


def test_create_org_with_admin_token_json(created: Created, parsec_server: Any) -> None:
    out = created.out
    assert set(out) == CREATED_KEYS
    assert out["organization_id"] == created.org
    assert out["server_url"] == f"parsec3://127.0.0.1:{parsec_server.port}?no_ssl=true"
    assert re.fullmatch("[0-9a-f]{32}", out["user_id"]) and re.fullmatch("[0-9a-f]{32}", out["device_id"])
    # Default location, owner-only.
    expected = created.home / "config" / "parsec3" / "libparsec" / "devices" / f"{out['device_id']}.keys"
    assert created.device_file == expected and expected.is_file()
    assert expected.stat().st_mode & 0o777 == 0o600
    assert device_files_in(created.home) == [expected]
    # Organization address: parsec3 form carrying the root verify key.
    prefix = f"parsec3://127.0.0.1:{parsec_server.port}/{created.org}?no_ssl=true&p="
    assert out["organization_url"].startswith(prefix)
    # The server: bootstrapped, one user with our email and name.
    assert parsec_server.organization(created.org)["is_bootstrapped"] is True
    assert admin_users(parsec_server, created.org) == [(out["user_id"], created.email, created.user_name)]


def test_created_device_keys_are_the_ones_the_server_certified(created: Created, parsec_server: Any) -> None:
    """Decrypt the device file here (Argon2id by libsodium, secretbox by
    parsec._parsec), check its layout, then check the server's certificates
    (verified by parsec._parsec) hold the very keys of the file."""
    import parsec._parsec as oracle

    raw = created.device_file.read_bytes()
    outer = msgpack.unpackb(raw, raw=False)
    assert list(outer) == PASSWORD_FILE_KEYS
    assert outer["type"] == "password" and outer["totp_opaque_key_id"] is None
    for name in ("created_on", "protected_on"):
        assert isinstance(outer[name], msgpack.ExtType) and outer[name].code == 1 and len(outer[name].data) == 8
    assert outer["server_url"] == f"http://127.0.0.1:{parsec_server.port}/"
    assert outer["human_handle"] == [created.email, created.user_name]
    assert outer["device_label"] == created.device_label
    algo = outer["algorithm"]
    assert list(algo) == ["type", "memlimit_kb", "opslimit", "parallelism", "salt"]
    assert (algo["type"], algo["memlimit_kb"], algo["opslimit"], algo["parallelism"]) == ("ARGON2ID", 131072, 3, 1)
    assert isinstance(algo["salt"], bytes) and len(algo["salt"]) == 16

    key = nacl.pwhash.argon2id.kdf(
        32, PASSWORD.encode("utf-8"), algo["salt"], opslimit=algo["opslimit"], memlimit=algo["memlimit_kb"] * 1024
    )
    device = msgpack.unpackb(oracle.SecretKey(bytes(key)).decrypt(outer["ciphertext"]), raw=False)
    assert list(device) == LOCAL_DEVICE_KEYS
    assert device["type"] == "local_device"
    assert device["server_url"] == f"http://127.0.0.1:{parsec_server.port}/"
    assert device["organization_id"] == created.org
    for name in ("user_id", "device_id", "user_realm_id"):
        assert isinstance(device[name], msgpack.ExtType) and device[name].code == 2 and len(device[name].data) == 16
    assert device["user_id"].data.hex() == created.out["user_id"] == outer["user_id"].data.hex()
    assert device["device_id"].data.hex() == created.out["device_id"] == outer["device_id"].data.hex()
    for name in ("root_verify_key", "signing_key", "private_key", "user_realm_key", "local_symkey"):
        assert isinstance(device[name], bytes) and len(device[name]) == 32, name
    assert len({device[n] for n in ("signing_key", "private_key", "user_realm_key", "local_symkey")}) == 4
    assert device["human_handle"] == [created.email, created.user_name]
    assert device["device_label"] == created.device_label
    assert device["initial_profile"] == "ADMIN"

    # The organization address carries the root verify key of the device.
    p = created.out["organization_url"].rsplit("p=", 1)[1]
    assert msgpack.unpackb(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) == device["root_verify_key"]

    # Authenticated with the file's signing key (the server accepts it), fetch
    # the certificates and check them with the reference implementation.
    from parsec_tray.core.addr import parse_server
    from parsec_tray.core.crypto import SigningKey

    transport = Transport(parse_server(parsec_server.url))
    try:
        client = AuthenticatedClient(
            transport, OrganizationID(created.org), DeviceID(created.out["device_id"]), SigningKey(device["signing_key"])
        )
        reply = client.send(
            "certificate_get", common_after=None, sequester_after=None, shamir_recovery_after=None, realm_after={}
        )
    finally:
        transport.close()
    assert reply["status"] == "ok"
    root = oracle.VerifyKey(device["root_verify_key"])
    users, devices = [], []
    for signed in reply["common_certificates"]:
        for cls, bucket in ((oracle.UserCertificate, users), (oracle.DeviceCertificate, devices)):
            try:
                bucket.append(cls.verify_and_load(signed, root, None))
            except ValueError:
                pass
    assert len(users) == 1 and len(devices) == 1, reply["common_certificates"]
    user, dev = users[0], devices[0]
    assert user.user_id.hex == created.out["user_id"] and not user.is_redacted
    assert (str(user.human_handle.email), user.human_handle.label) == (created.email, created.user_name)
    assert user.profile == oracle.UserProfile.ADMIN
    assert user.public_key.encode() == oracle.PrivateKey(device["private_key"]).public_key.encode()
    assert dev.device_id.hex == created.out["device_id"] and dev.user_id.hex == created.out["user_id"]
    assert dev.device_label.str == created.device_label
    assert dev.verify_key.encode() == oracle.SigningKey(device["signing_key"]).verify_key.encode()
    assert user.timestamp == dev.timestamp


def test_create_org_http_server_form_text_output(parsec_server: Any, org_name: str, tmp_path: Path) -> None:
    r = cli(
        "create-org", "--server", parsec_server.http_url, "--org", org_name, "--email", "bob@example.com",
        "--user-name", "Bob", "--device-label", "desk", "--admin-token", parsec_server.admin_token,
        "--password-stdin", home=tmp_path, stdin="pw-http\n",
    )
    assert r.returncode == 0, r.stderr
    files = device_files_in(tmp_path)
    assert len(files) == 1
    assert str(files[0]) in r.stdout and org_name in r.stdout
    assert f"parsec3://127.0.0.1:{parsec_server.port}/{org_name}?no_ssl=true&p=" in r.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.stdout)  # without --json: text for a person
    f = DeviceFile.load(files[0].read_bytes())
    assert f.server.to_http_url("/") == f"http://127.0.0.1:{parsec_server.port}/"
    assert parsec_server.organization(org_name)["is_bootstrapped"] is True
    assert [(e, n) for _, e, n in admin_users(parsec_server, org_name)] == [("bob@example.com", "Bob")]


def test_create_org_spontaneous(spontaneous_server: Any, org_name: str, tmp_path: Path) -> None:
    assert spontaneous_server.admin("GET", f"/administration/organizations/{org_name}", expect_error=True) == {
        "_status": 404
    }
    out = ok_json(cli(
        "create-org", "--server", spontaneous_server.url, "--org", org_name, "--email", "carol@example.com",
        "--user-name", "Carol", "--device-label", "phone", "--password-stdin", "--json",
        home=tmp_path, stdin="pw-spont\n",
    ))
    assert set(out) == CREATED_KEYS and out["organization_id"] == org_name
    assert out["server_url"] == spontaneous_server.url
    assert device_files_in(tmp_path) == [Path(out["device_file"])]
    assert spontaneous_server.organization(org_name)["is_bootstrapped"] is True
    assert admin_users(spontaneous_server, org_name) == [(out["user_id"], "carol@example.com", "Carol")]


def test_create_org_without_token_on_a_server_that_refuses(parsec_server: Any, org_name: str, tmp_path: Path) -> None:
    r = cli(
        "create-org", "--server", parsec_server.url, "--org", org_name, "--email", "d@example.com",
        "--user-name", "D", "--device-label", "x", "--password-stdin", home=tmp_path, stdin="pw\n",
    )
    assert_error(r, "--admin-token")
    assert files_under(tmp_path) == []  # not even a temporary file


def test_create_org_that_already_exists(created: Created, parsec_server: Any, tmp_path: Path) -> None:
    r = cli(
        "create-org", "--server", parsec_server.url, "--org", created.org, "--email", "eve@example.com",
        "--user-name", "Eve", "--device-label", "x", "--password-stdin", home=tmp_path, stdin="pw\n",
        env={"PARSEC_TRAY_ADMIN_TOKEN": parsec_server.admin_token},
    )
    assert_error(r, "already exists")
    assert device_files_in(tmp_path) == []
    assert [e for _, e, _ in admin_users(parsec_server, created.org)] == [created.email]


# --- bootstrap -------------------------------------------------------------------------------


def new_bootstrap_links(server: Any, org: str) -> dict[str, str]:
    out = server.admin("POST", "/administration/organizations", {"organization_id": org})
    assert set(out) >= {"bootstrap_url", "bootstrap_url_as_http_redirection"}
    return dict(out)


@pytest.mark.parametrize("form", ["parsec3", "http-redirect"])
def test_bootstrap(form: str, parsec_server: Any, org_name: str, tmp_path: Path) -> None:
    links = new_bootstrap_links(parsec_server, org_name)
    link = links["bootstrap_url"] if form == "parsec3" else links["bootstrap_url_as_http_redirection"]
    assert link.startswith("parsec3://" if form == "parsec3" else f"http://127.0.0.1:{parsec_server.port}/redirect/")
    assert parsec_server.organization(org_name)["is_bootstrapped"] is False
    out = ok_json(cli(
        "bootstrap", link, "--email", "frank@example.com", "--user-name", "Frank Ü", "--device-label", "tablet",
        "--password-stdin", "--json", home=tmp_path, stdin="pw-boot\n",
    ))
    assert set(out) == CREATED_KEYS
    assert out["organization_id"] == org_name
    assert out["server_url"] == f"parsec3://127.0.0.1:{parsec_server.port}?no_ssl=true"
    assert out["organization_url"].startswith(f"parsec3://127.0.0.1:{parsec_server.port}/{org_name}?no_ssl=true&p=")
    assert device_files_in(tmp_path) == [Path(out["device_file"])]
    assert parsec_server.organization(org_name)["is_bootstrapped"] is True
    assert admin_users(parsec_server, org_name) == [(out["user_id"], "frank@example.com", "Frank Ü")]


def test_bootstrap_https_redirect_form_means_tls(parsec_server: Any, org_name: str, tmp_path: Path) -> None:
    """The https:// redirection form is TLS; against a plain-HTTP server it
    must fail, never fall back to http."""
    links = new_bootstrap_links(parsec_server, org_name)
    https_link = links["bootstrap_url_as_http_redirection"].replace("http://", "https://", 1)
    r = cli(
        "bootstrap", https_link, "--email", "g@example.com", "--user-name", "G", "--device-label", "x",
        "--password-stdin", home=tmp_path, stdin="pw\n",
    )
    assert_error(r, "secure connection")
    assert device_files_in(tmp_path) == []
    assert parsec_server.organization(org_name)["is_bootstrapped"] is False


# --- devices ------------------------------------------------------------------------------------


def make_local_device(server_url: str, *, device_id: str | None = None) -> LocalDevice:
    """A second device (never registered anywhere) for listing and choosing."""
    from parsec_tray.core import bootstrap as bootstrap_protocol
    from parsec_tray.core.addr import ParsecOrganizationBootstrapAddr, parse_server

    addr = ParsecOrganizationBootstrapAddr(parse_server(server_url), OrganizationID("OtherOrg"), None)
    plan = bootstrap_protocol.prepare(addr, HumanHandle("zoe@example.com", "Zoé Z"), DeviceLabel("Zoé's pc"))
    dev = plan.device
    if device_id is not None:
        dev = replace(dev, device_id=DeviceID(device_id))
    return dev


@dataclass
class TwoDevices:
    home: Path
    other_id: str
    other_file: Path
    keyring_file: Path
    keyring_id: str


@pytest.fixture
def two_devices(created: Created, tmp_path: Path, parsec_server: Any) -> TwoDevices:
    """A home with the created device, a second password device whose id
    shares 6 hex chars with it, and a keyring-protected device."""
    home = tmp_path / "two"
    root = home / "config" / "parsec3" / "libparsec" / "devices"
    root.mkdir(parents=True)
    shutil.copy2(created.device_file, root / created.device_file.name)
    cid = created.out["device_id"]
    other_id = cid[:6] + ("0" if cid[6] != "0" else "1") + uuid.uuid4().hex[7:]
    other = make_local_device(parsec_server.url, device_id=other_id)
    fast = Argon2idParams(8, 1, 1, secrets.token_bytes(16))
    other_file = save_device_file(build_password_file(other, "other-pw", params=fast), config=home / "config" / "parsec3" / "libparsec")
    kr = make_local_device(parsec_server.url)
    from parsec_tray.core.crypto import SecretKey

    keyring_file = save_device_file(
        build_key_file(kr, "keyring", SecretKey.generate(), keyring_service="parsec", keyring_user=str(uuid.uuid4())),
        config=home / "config" / "parsec3" / "libparsec",
    )
    return TwoDevices(home, other_id, other_file, keyring_file, kr.device_id.hex)


def test_the_devices_json_reads_back_as_the_devices_core_lists(two_devices: TwoDevices) -> None:
    # The tray lists the devices in a child process through this JSON: it
    # must read back as the very values core lists in process.
    from parsec_tray.core import DeviceInfo, Protection
    from parsec_tray.core.flows import list_devices

    out = ok_json(cli("devices", "--json", home=two_devices.home))
    listed = list_devices(two_devices.home / "config" / "parsec3" / "libparsec")
    assert [DeviceInfo.from_json(d) for d in out] == listed and len(listed) == 3
    assert sorted(d.protection for d in listed) == [Protection.KEYRING, Protection.PASSWORD, Protection.PASSWORD]
    assert all(type(d.protection) is Protection for d in listed)
    pending = replace(listed[0], pending=True)
    assert DeviceInfo.from_json(pending.to_json()) == pending


def test_devices_json_shape(created: Created, two_devices: TwoDevices, parsec_server: Any) -> None:
    out = ok_json(cli("devices", "--json", home=two_devices.home))
    assert isinstance(out, list) and len(out) == 3
    for item in out:
        assert set(item) == DEVICE_KEYS
        assert set(item["human_handle"]) == {"email", "label"}
        assert item["server_url"] == parsec_server.url
        assert Path(item["device_file"]).is_file()
    assert [item["device_file"] for item in out] == sorted(item["device_file"] for item in out)
    by_id = {item["device_id"]: item for item in out}
    mine = by_id[created.out["device_id"]]
    assert mine == {
        "device_file": str(two_devices.home / "config" / "parsec3" / "libparsec" / "devices" / created.device_file.name),
        "organization_id": created.org,
        "user_id": created.out["user_id"],
        "device_id": created.out["device_id"],
        "human_handle": {"email": created.email, "label": created.user_name},
        "device_label": created.device_label,
        "server_url": parsec_server.url,
        "protection": "password",
    }
    other = by_id[two_devices.other_id]
    assert (other["organization_id"], other["human_handle"], other["device_label"], other["protection"]) == (
        "OtherOrg", {"email": "zoe@example.com", "label": "Zoé Z"}, "Zoé's pc", "password",
    )
    assert other["device_file"] == str(two_devices.other_file)
    assert by_id[two_devices.keyring_id]["protection"] == "keyring"
    # Text form: the column headers, then one line per device, naming it.
    r = cli("devices", home=two_devices.home)
    header, *lines = r.stdout.strip().splitlines()
    assert r.returncode == 0 and header.split() == ["DEVICE", "ID", "DEVICE", "PROTECTION", "SERVER"]
    assert sorted(line.split()[0] for line in lines) == sorted(by_id)
    assert "OS keyring" in r.stdout and "password" in r.stdout


def test_devices_when_there_are_none(tmp_path: Path) -> None:
    assert ok_json(cli("devices", "--json", home=tmp_path)) == []
    r = cli("devices", home=tmp_path)
    assert r.returncode == 0 and r.stdout.strip() and "Traceback" not in r.stderr


# --- login ---------------------------------------------------------------------------------------


def expected_login(created: Created, server: Any) -> dict[str, Any]:
    return {
        "organization_id": created.org,
        "user_id": created.out["user_id"],
        "device_id": created.out["device_id"],
        "server_url": server.url,
        "at_risk": True,  # its only device, no recovery file
    }


def test_login_only_device(created: Created, parsec_server: Any) -> None:
    out = ok_json(cli("login", "--password-stdin", "--json", home=created.home, stdin=PASSWORD + "\n"))
    assert set(out) == LOGIN_KEYS
    assert out == expected_login(created, parsec_server)


@pytest.mark.parametrize("how", ["id", "prefix", "path"])
def test_login_choosing_among_several(how: str, created: Created, two_devices: TwoDevices, parsec_server: Any, tmp_path: Path) -> None:
    cid = created.out["device_id"]
    if how == "id":
        selector = cid
    elif how == "prefix":
        selector = cid[:8]  # unique, though 6 chars are shared with another device
    else:
        backup = tmp_path / "elsewhere" / "my backup.keys"  # outside devices/, space in the name
        backup.parent.mkdir()
        shutil.copy2(created.device_file, backup)
        selector = str(backup)
    # CRLF line ending and a trailing second line are not part of the password.
    out = ok_json(cli(
        "login", "--device", selector, "--password-stdin", "--json",
        home=two_devices.home, stdin=PASSWORD + "\r\nnot this\n",
    ))
    assert out == expected_login(created, parsec_server)


def test_login_ambiguous_lists_the_choices(created: Created, two_devices: TwoDevices) -> None:
    cid = created.out["device_id"]
    for args in ([], ["--device", cid[:6]]):
        r = cli("login", *args, "--password-stdin", home=two_devices.home, stdin=PASSWORD + "\n")
        message = assert_error(r, one_line=False)
        assert cid in message and two_devices.other_id in message
        if not args:
            assert two_devices.keyring_id in message
        else:
            assert two_devices.keyring_id not in message


def test_login_errors(created: Created, two_devices: TwoDevices, tmp_path: Path) -> None:
    assert_error(cli("login", "--device", "f" * 32, "--password-stdin", home=two_devices.home, stdin="x\n"), "f" * 32)
    missing = tmp_path / "missing.keys"
    assert_error(cli("login", "--device", str(missing), "--password-stdin", home=two_devices.home, stdin="x\n"), str(missing))
    assert_error(cli("login", "--password-stdin", home=tmp_path / "empty", stdin="x\n"), "no device")
    # No --password-stdin and no terminal: say how to pass it.
    assert_error(cli("login", home=created.home), "--password-stdin")
    # --password-stdin with nothing on stdin.
    assert_error(cli("login", "--password-stdin", home=created.home, stdin=""), "standard input")
    # A keyring device cannot be unlocked with a password here: say so.
    assert_error(cli("login", "--device", two_devices.keyring_id, "--password-stdin", home=two_devices.home, stdin="x\n"), "keyring")
    # A foreign file given as the device.
    junk = tmp_path / "junk.keys"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n")
    assert_error(cli("login", "--device", str(junk), "--password-stdin", home=two_devices.home, stdin="x\n"), str(junk))


def test_wrong_line_of_stdin_is_not_the_password(created: Created) -> None:
    r = cli("login", "--password-stdin", home=created.home, stdin="this second line is not the password\n")
    assert_error(r, "password")
    r = cli("login", "--password-stdin", home=created.home, stdin=PASSWORD.strip() + "\n")
    assert_error(r, "password")


# --- passwords typed on a terminal (no --password-stdin) -----------------------------------------


def run_on_terminal(args: list[str], home: Path, answers: list[str], timeout: float = 90) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as its controlling terminal and
    type each answer when a "Password" prompt shows up."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            os.execve(sys.executable, [*CLI, *args], home_env(home))
        finally:
            os._exit(127)
    output = b""
    typed = 0
    deadline = time.monotonic() + timeout
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(pid, 9)
                raise AssertionError(f"no progress on the terminal: {output!r}")
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child is gone
                break
            if not chunk:
                break
            output += chunk
            while typed < len(answers) and output.count(b"Password") > typed:
                os.write(fd, answers[typed].encode("utf-8") + b"\n")
                typed += 1
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode("utf-8", "replace").replace("\r\n", "\n")


def test_passwords_typed_on_a_terminal(parsec_server: Any, org_name: str, tmp_path: Path) -> None:
    typed = "typed on a tty ✓"
    base = [
        "create-org", "--server", parsec_server.url, "--org", org_name, "--email", "tty@example.com",
        "--user-name", "Tty", "--device-label", "term", "--admin-token", parsec_server.admin_token, "--json",
    ]
    # Confirmation differs: nothing created, not even on the server.
    code, output = run_on_terminal(base, tmp_path, [typed, typed + "!"])
    assert code != 0 and "Traceback" not in output and "differ" in output, output
    assert device_files_in(tmp_path) == []
    assert parsec_server.admin("GET", f"/administration/organizations/{org_name}", expect_error=True) == {"_status": 404}
    # Same password twice: created; the password is never echoed.
    code, output = run_on_terminal(base, tmp_path, [typed, typed])
    assert code == 0, output
    assert output.count("Password") == 2 and typed not in output
    created_json = json.loads(next(line for line in output.splitlines() if line.startswith("{")))
    assert device_files_in(tmp_path) == [Path(created_json["device_file"])]
    # Login asks once, and the typed password opens the file.
    code, output = run_on_terminal(["login", "--json"], tmp_path, [typed])
    assert code == 0, output
    assert output.count("Password") == 1 and typed not in output
    login = json.loads(next(line for line in output.splitlines() if line.startswith("{")))
    assert login["device_id"] == created_json["device_id"]
    code, output = run_on_terminal(["login"], tmp_path, ["wrong"])
    assert code != 0 and "wrong password" in output.lower() and "Traceback" not in output


# --- argument errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["create-org", "--server", "ftp://127.0.0.1:1", "--org", "O", "--email", "a@example.com",
          "--user-name", "A", "--device-label", "x", "--password-stdin"], "parsec3://"),
        (["create-org", "--server", "parsec3://", "--org", "O", "--email", "a@example.com",
          "--user-name", "A", "--device-label", "x", "--password-stdin"], "server"),
        (["bootstrap", "not a link at all", "--email", "a@example.com", "--user-name", "A",
          "--device-label", "x", "--password-stdin"], "link"),
    ],
    ids=["server-scheme", "server-no-host", "bootstrap-not-a-link"],
)
def test_argument_errors_are_one_line(args: list[str], fragment: str, tmp_path: Path) -> None:
    assert_error(cli(*args, home=tmp_path, stdin="pw\n"), fragment)
    assert device_files_in(tmp_path) == []


def test_usage_errors_have_no_traceback(tmp_path: Path) -> None:
    r = cli("create-org", "--org", "O", home=tmp_path)  # --server etc. missing
    assert r.returncode != 0 and "Traceback" not in r.stderr and "--server" in r.stderr
    r = cli(home=tmp_path)
    assert r.returncode != 0 and "Traceback" not in r.stderr


# --- the installed console script -----------------------------------------------------------------


def test_console_script_smoke(created: Created, two_devices: TwoDevices, parsec_server: Any) -> None:
    script = Path(sys.executable).parent / "parsec-tray"
    require(script.is_file() and os.access(script, os.X_OK), "the parsec-tray console script next to the interpreter")
    listed = ok_json(cli("devices", "--json", home=two_devices.home, exe=[str(script)]))
    assert listed == ok_json(cli("devices", "--json", home=two_devices.home))
    out = ok_json(cli(
        "login", "--device", created.out["device_id"], "--password-stdin", "--json",
        home=two_devices.home, stdin=PASSWORD + "\n", exe=[str(script)],
    ))
    assert out == expected_login(created, parsec_server)
    assert_error(cli("login", "--device", "0" * 32, "--password-stdin", home=two_devices.home, stdin="x\n", exe=[str(script)]))
