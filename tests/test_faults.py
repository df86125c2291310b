"""Things going wrong: wrong password, no server, bad TLS, bad input, bad
links, a full disk, a killed process, and secrets in debug logs.

The promise under test: a failure says one actionable sentence, and leaves
nothing behind (no device file, no temporary file, no half-bootstrapped
organization when the disk is full).
"""

from __future__ import annotations

import dataclasses
import datetime
import errno
import http.server
import ipaddress
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cli_runner import CLI, cli, home_env
from conftest import require
from parsec_server import free_port
from parsec_tray.core import bootstrap as bootstrap_protocol
from parsec_tray.core import devices as devices_mod
from parsec_tray.core import flows
from parsec_tray.core.addr import ParsecOrganizationBootstrapAddr
from parsec_tray.core.crypto import Argon2idParams
from parsec_tray.core.device_file import DeviceFile
from parsec_tray.core.devices import (
    build_password_file,
    list_device_files,
    load_device_with_password,
    save_device_file,
)
from parsec_tray.core.errors import (
    DeviceFileWriteError,
    InvalidLinkError,
    InvalidValueError,
    OrganizationAlreadyExistsError,
    ServerUnreachableError,
    TLSError,
    WrongPasswordError,
)
from parsec_tray.core.local_device import LocalDevice
from parsec_tray.core.values import DeviceLabel, HumanHandle

pytestmark = pytest.mark.server

PASSWORD = "Faults-pa55word-Zq8"
FINAL_OR_PENDING = re.compile(r"^[0-9a-f]{32}\.keys(\.pending)?$")


# --- helpers ----------------------------------------------------------------------------------


def assert_error(r: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert r.returncode != 0, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    assert "unexpected" not in r.stderr.lower(), r.stderr
    assert r.stdout == ""
    message = r.stderr.strip()
    assert len(message.splitlines()) == 1, message
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message
    return message


def config_of(home: Path) -> Path:
    """The libparsec config folder (what the core calls ``config_dir``)."""
    return home / "config" / "parsec3" / "libparsec"


def files_under(home: Path) -> list[Path]:
    return sorted(p for p in home.rglob("*") if not p.is_dir()) if home.exists() else []


def org_state(server: Any, org: str) -> Any:
    return server.admin("GET", f"/administration/organizations/{org}", expect_error=True)


class Listener:
    """A TCP port that records whether anyone connected to it."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def connections(self) -> int:
        n = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return n
            conn.close()
            n += 1

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.close()


@dataclass
class Device:
    home: Path
    org: str
    out: dict[str, Any]

    @property
    def path(self) -> Path:
        return Path(self.out["device_file"])


@pytest.fixture(scope="module")
def device(parsec_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Device:
    home = tmp_path_factory.mktemp("faults-home")
    org = f"Faults{secrets.token_hex(4)}"
    r = cli(
        "create-org", "--server", parsec_server.url, "--org", org, "--email", "ann@example.com",
        "--user-name", "Ann", "--device-label", "lab", "--admin-token", parsec_server.admin_token,
        "--password-stdin", "--json", home=home, stdin=PASSWORD + "\n",
    )
    assert r.returncode == 0, r.stderr
    return Device(home, org, json.loads(r.stdout))


def fast_params() -> Argon2idParams:
    return Argon2idParams(8, 1, 1, secrets.token_bytes(16))


def make_local(port: int, device_label: str = "d") -> LocalDevice:
    """A device that exists only on this computer (keys and certificates made,
    never sent), for a server at 127.0.0.1:port."""
    addr = ParsecOrganizationBootstrapAddr.parse(
        f"parsec3://127.0.0.1:{port}/Solo?no_ssl=true&a=bootstrap_organization&p=wA"
    )
    return bootstrap_protocol.prepare(addr, HumanHandle("x@example.com", "X"), DeviceLabel(device_label)).device


def snapshot(path: Path) -> tuple[bytes, int, int]:
    st = path.stat()
    return path.read_bytes(), st.st_mtime_ns, st.st_mode


# --- wrong password ----------------------------------------------------------------------------


def test_wrong_password_cli_changes_nothing(device: Device) -> None:
    before = snapshot(device.path)
    listing = files_under(device.home)
    r = cli("login", "--password-stdin", home=device.home, stdin="not-" + PASSWORD + "\n")
    assert_error(r, "wrong password")
    assert snapshot(device.path) == before
    assert files_under(device.home) == listing


def test_wrong_password_api_changes_nothing(device: Device) -> None:
    before = snapshot(device.path)
    for wrong in ("x", PASSWORD.upper(), PASSWORD + " ", PASSWORD[:-1]):
        with pytest.raises(WrongPasswordError):
            flows.login(device.path, password=wrong, config_dir=config_of(device.home))
    assert snapshot(device.path) == before
    # And the right one still works (the file was not damaged by the attempts).
    session = flows.login(device.path, password=PASSWORD, config_dir=config_of(device.home))
    try:
        assert session.summary()["device_id"] == device.out["device_id"]
    finally:
        session.close()


# --- secrets never in logs ------------------------------------------------------------------------


def secret_forms(secret: bytes | str) -> list[str]:
    import base64

    if isinstance(secret, str):
        return [secret, repr(secret), secret.encode().hex()]
    return [secret.hex(), base64.b64encode(secret).decode(), base64.urlsafe_b64encode(secret).decode(), repr(secret)]


def test_debug_output_never_shows_password_or_keys(device: Device, tmp_path: Path) -> None:
    secret = "Wr0ng-But-Secret-Passphrase-7731"
    r = subprocess.run(
        [*CLI, "--debug", "login", "--password-stdin"], input=secret + "\n", capture_output=True, text=True,
        encoding="utf-8", env=home_env(device.home), timeout=120,
    )
    assert r.returncode != 0
    for form in secret_forms(secret):
        assert form not in r.stdout + r.stderr

    # Right password, unreachable server: the keys are in memory when it fails.
    local = make_local(free_port())
    good_secret = "Right-Secret-Passphrase-0042"
    path = save_device_file(build_password_file(local, good_secret, params=fast_params()), config=config_of(tmp_path))
    for extra in ([], ["--device", str(path)]):
        r = subprocess.run(
            [*CLI, "--debug", "login", *extra, "--password-stdin"], input=good_secret + "\n", capture_output=True,
            text=True, encoding="utf-8", env=home_env(tmp_path), timeout=120,
        )
        assert r.returncode != 0 and "reached" in r.stderr, r.stderr
        output = r.stdout + r.stderr
        for secret_value in (
            good_secret, local.signing_key.encode(), local.private_key.encode(), local.local_symkey.encode(),
            local.user_realm_key.encode(),
        ):
            for form in secret_forms(secret_value):
                assert form not in output


def test_debug_successful_login_shows_no_password(device: Device) -> None:
    r = subprocess.run(
        [*CLI, "--debug", "login", "--password-stdin", "--json"], input=PASSWORD + "\n", capture_output=True,
        text=True, encoding="utf-8", env=home_env(device.home), timeout=120,
    )
    assert r.returncode == 0, r.stderr
    for form in secret_forms(PASSWORD):
        assert form not in r.stdout + r.stderr


# --- no server / TLS ----------------------------------------------------------------------------


def test_unreachable_server_writes_nothing(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    token_file = tmp_path.parent / f"{tmp_path.name}-token"
    token_file.write_text("t\n")
    token_file.chmod(0o600)
    cases = [
        ["create-org", "--server", f"http://127.0.0.1:{port}", "--org", "O1", "--email", "a@example.com",
         "--user-name", "A", "--device-label", "x", "--admin-token-file", str(token_file), "--password-stdin"],
        # Spontaneous: the key file is prepared (temporary) before the request.
        ["create-org", "--server", f"parsec3://127.0.0.1:{port}?no_ssl=true", "--org", "O2", "--email",
         "a@example.com", "--user-name", "A", "--device-label", "x", "--password-stdin"],
        ["bootstrap", f"parsec3://127.0.0.1:{port}/O3?no_ssl=true&a=bootstrap_organization&p=xBCgAAAAAAAAAAAAAAAAAAAB",
         "--email", "a@example.com", "--user-name", "A", "--device-label", "x", "--password-stdin"],
    ]
    for args in cases:
        assert_error(cli(*args, home=tmp_path, stdin="pw\n"), "cannot be reached", str(port))
        assert files_under(tmp_path) == [], args


def test_unreachable_server_api(tmp_path: Path, fast_argon2: None) -> None:
    with pytest.raises(ServerUnreachableError):
        flows.create_organization(
            f"parsec3://127.0.0.1:{free_port()}?no_ssl=true", "O", "a@example.com", "A", "x",
            password="pw", config_dir=config_of(tmp_path),
        )
    assert files_under(tmp_path) == []


def test_tls_against_a_plain_http_server_never_falls_back(spontaneous_server: Any, org_name: str, tmp_path: Path) -> None:
    """parsec3:// without no_ssl=true is TLS. Were there a fallback to plain
    HTTP, this spontaneous server would create the organization."""
    r = cli(
        "create-org", "--server", f"parsec3://127.0.0.1:{spontaneous_server.port}", "--org", org_name,
        "--email", "a@example.com", "--user-name", "A", "--device-label", "x", "--password-stdin",
        home=tmp_path, stdin="pw\n",
    )
    assert_error(r, "secure connection")
    assert files_under(tmp_path) == []
    assert org_state(spontaneous_server, org_name) == {"_status": 404}


@pytest.fixture
def self_signed_https(tmp_path: Path) -> Iterator[dict[str, int]]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = tmp_path / "pem"
    pem.mkdir()
    cert_path, key_path = pem / "cert.pem", pem / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    counts = {"accepted": 0, "requests": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            counts["requests"] += 1
            self.send_response(404)
            self.end_headers()

        do_GET = do_POST  # noqa: N815

        def log_message(self, *_a: Any) -> None:
            pass

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)

    class Server(http.server.ThreadingHTTPServer):
        def get_request(self) -> Any:
            sock, addr = self.socket.accept()
            counts["accepted"] += 1
            return ctx.wrap_socket(sock, server_side=True), addr

        def handle_error(self, *_a: Any) -> None:
            pass

    httpd = Server(("127.0.0.1", 0), Handler)
    counts["port"] = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield counts
    httpd.shutdown()
    httpd.server_close()


def test_tls_certificate_not_trusted(self_signed_https: dict[str, int], tmp_path: Path) -> None:
    port = self_signed_https["port"]
    tmp_path = tmp_path / "home"
    r = cli(
        "create-org", "--server", f"https://127.0.0.1:{port}", "--org", "Org", "--email", "a@example.com",
        "--user-name", "A", "--device-label", "x", "--password-stdin",
        home=tmp_path, stdin="pw\n", env={"PARSEC_TRAY_ADMIN_TOKEN": "t"},
    )
    assert_error(r, "secure connection")
    assert self_signed_https["accepted"] >= 1  # it did try, over TLS...
    assert self_signed_https["requests"] == 0  # ...and sent nothing to an untrusted server
    assert files_under(tmp_path) == []
    with pytest.raises(TLSError):
        flows.create_organization(
            f"parsec3://127.0.0.1:{port}", "Org", "a@example.com", "A", "x", password="pw", admin_token="t",
            config_dir=config_of(tmp_path),
        )


# --- bad values: refused before the password and the network ----------------------------------------

BAD_VALUES = {
    "org": ["has space", "dots.not.allowed", "x" * 33, "", "é" * 17, "slash/org"],
    "email": ["not-an-email", "two@@example.com", "josé@example.com", "x@redacted.invalid", ""],
    "user_name": ["Bob <bob>", "at@sign", "semi;colon", 'quo"te', "x" * 255, ""],
    "device_label": ["", "x" * 256, "é" * 128],
}
GOOD = {"org": "GoodOrg", "email": "a@example.com", "user_name": "Alice", "device_label": "laptop"}
FRAGMENT = {"org": "organization", "email": "email", "user_name": "name", "device_label": "device"}


@pytest.mark.parametrize("field", sorted(BAD_VALUES))
def test_bad_value_refused_before_password_and_network(field: str, listener: Listener, tmp_path: Path) -> None:
    values = {**GOOD, field: BAD_VALUES[field][0]}
    # No --password-stdin and no terminal: had the password been asked
    # first, the error would be about the password.
    r = cli(
        "create-org", "--server", f"http://127.0.0.1:{listener.port}", "--org", values["org"], "--email",
        values["email"], "--user-name", values["user_name"], "--device-label", values["device_label"],
        "--admin-token", "t", home=tmp_path,
    )
    message = assert_error(r, FRAGMENT[field])
    assert "password" not in message.lower()
    if field != "org":
        link = f"http://127.0.0.1:{listener.port}/redirect/Org?a=bootstrap_organization&p=xBCgAAAAAAAAAAAAAAAAAAAB"
        r = cli("bootstrap", link, "--email", values["email"], "--user-name", values["user_name"],
                "--device-label", values["device_label"], home=tmp_path)
        message = assert_error(r, FRAGMENT[field])
        assert "password" not in message.lower()
    assert listener.connections() == 0
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("field", sorted(BAD_VALUES))
def test_bad_values_api(field: str, listener: Listener, tmp_path: Path) -> None:
    for bad in BAD_VALUES[field]:
        values = {**GOOD, field: bad}
        with pytest.raises(InvalidValueError):
            flows.create_organization(
                f"parsec3://127.0.0.1:{listener.port}?no_ssl=true", values["org"], values["email"],
                values["user_name"], values["device_label"], password="pw", admin_token="t",
                config_dir=config_of(tmp_path),
            )
    assert listener.connections() == 0
    assert files_under(tmp_path) == []


# --- links ----------------------------------------------------------------------------------------------


def bad_links(port: int) -> list[str]:
    base = f"parsec3://127.0.0.1:{port}"
    token = "xBCgAAAAAAAAAAAAAAAAAAAB"
    return [
        "",
        "   ",
        "parsec3://",
        base,
        f"{base}/Org?no_ssl=true",  # an organization address, not a bootstrap link
        f"{base}/Org?no_ssl=true&a=bootstrap_organization",  # no p
        f"{base}/Org?no_ssl=true&a=bootstrap_organization&p=%%%",
        f"{base}/Org?no_ssl=true&a=bootstrap_organization&p=xBA",  # 0-byte token
        f"{base}/Org?no_ssl=true&a=bootstrap_organization&p=kQ",  # msgpack [] instead of bytes
        f"{base}/Org?no_ssl=true&a=claim_user&p={token}",  # an invitation
        f"{base}/Org?no_ssl=true&no_ssl=true&a=bootstrap_organization&p={token}",
        f"{base}/Org?no_ssl=maybe&a=bootstrap_organization&p={token}",
        f"{base}/Org?no_ssl=true&a=launch_missiles&p={token}",
        f"{base}/bad%20org?no_ssl=true&a=bootstrap_organization&p={token}",
        f"parsec3://127.0.0.1:99999/Org?a=bootstrap_organization&p={token}",
        f"parsec://127.0.0.1:{port}/Org?a=bootstrap_organization&p={token}",  # Parsec v2
        "https://example.invalid/whatever",
        "mailto:someone@example.com",
        "file:///etc/passwd",
    ]


def test_malformed_and_foreign_links_api(listener: Listener, tmp_path: Path) -> None:
    for link in bad_links(listener.port):
        with pytest.raises(InvalidLinkError):
            flows.bootstrap_organization(
                link, "a@example.com", "A", "x", password="pw", config_dir=config_of(tmp_path)
            )
    assert listener.connections() == 0
    assert files_under(tmp_path) == []


@pytest.mark.parametrize(
    "link,fragment",
    [
        ("https://example.invalid/whatever", "link"),
        ("parsec3://127.0.0.1:1/Org?no_ssl=true&a=claim_user&p=xBCgAAAAAAAAAAAAAAAAAAAB", "invitation"),
        ("parsec3://127.0.0.1:1/Org?no_ssl=true&a=bootstrap_organization&p=%%%", "link"),
    ],
    ids=["foreign", "invitation", "bad-payload"],
)
def test_bad_link_cli(link: str, fragment: str, tmp_path: Path) -> None:
    r = cli("bootstrap", link, "--email", "a@example.com", "--user-name", "A", "--device-label", "x", home=tmp_path)
    assert "password" not in assert_error(r, fragment).lower()
    assert files_under(tmp_path) == []


def test_reused_bootstrap_link(parsec_server: Any, org_name: str, tmp_path: Path, fast_argon2: None) -> None:
    link = parsec_server.create_organization(org_name)
    first = flows.bootstrap_organization(
        link, "first@example.com", "First", "x", password="pw", config_dir=config_of(tmp_path / "a")
    )
    if first.session is not None:
        first.session.close()
    with pytest.raises(OrganizationAlreadyExistsError):
        flows.bootstrap_organization(link, "b@example.com", "B", "x", password="pw", config_dir=config_of(tmp_path / "b"))
    r = cli(
        "bootstrap", link, "--email", "c@example.com", "--user-name", "C", "--device-label", "x",
        "--password-stdin", home=tmp_path / "c", stdin="pw\n",
    )
    assert_error(r, "already")
    assert files_under(tmp_path / "b") == [] and files_under(tmp_path / "c") == []
    assert [u["user_email"] for u in parsec_server.users(org_name)] == ["first@example.com"]


def test_replaced_bootstrap_link(parsec_server: Any, org_name: str, tmp_path: Path) -> None:
    old = parsec_server.create_organization(org_name)
    new = parsec_server.create_organization(org_name)  # a new token invalidates the old one
    assert old != new
    r = cli(
        "bootstrap", old, "--email", "a@example.com", "--user-name", "A", "--device-label", "x",
        "--password-stdin", home=tmp_path, stdin="pw\n",
    )
    assert_error(r, "no longer valid")
    assert files_under(tmp_path) == []
    assert parsec_server.organization(org_name)["is_bootstrapped"] is False


# --- full disk -------------------------------------------------------------------------------------------


class FullDiskOs:
    """``os`` as ``core.devices`` sees it, on a disk that fills up after a
    few bytes (a partial write first, then ENOSPC)."""

    def __init__(self) -> None:
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def write(self, fd: int, data: Any) -> int:
        self.writes += 1
        if self.writes == 1:
            return os.write(fd, bytes(data[:10]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> FullDiskOs:
    fake = FullDiskOs()
    monkeypatch.setattr(devices_mod, "os", fake)
    return fake


def test_full_disk_admin_token_org_is_not_bootstrapped(
    full_disk: FullDiskOs, parsec_server: Any, org_name: str, tmp_path: Path, fast_argon2: None
) -> None:
    with pytest.raises(DeviceFileWriteError) as info:
        flows.create_organization(
            parsec_server.url, org_name, "a@example.com", "A", "x", password="pw",
            admin_token=parsec_server.admin_token, config_dir=config_of(tmp_path),
        )
    assert "disk is full" in str(info.value)
    assert full_disk.writes >= 2
    assert files_under(tmp_path) == []  # no device file, no temporary file
    assert parsec_server.organization(org_name)["is_bootstrapped"] is False


def test_full_disk_spontaneous_org_is_not_created(
    full_disk: FullDiskOs, spontaneous_server: Any, org_name: str, tmp_path: Path, fast_argon2: None
) -> None:
    with pytest.raises(DeviceFileWriteError, match="disk is full"):
        flows.create_organization(
            spontaneous_server.url, org_name, "a@example.com", "A", "x", password="pw",
            config_dir=config_of(tmp_path),
        )
    assert files_under(tmp_path) == []
    assert org_state(spontaneous_server, org_name) == {"_status": 404}


def test_full_disk_bootstrap_link_stays_usable(
    parsec_server: Any, org_name: str, tmp_path: Path, fast_argon2: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = parsec_server.create_organization(org_name)
    with monkeypatch.context() as m:
        m.setattr(devices_mod, "os", FullDiskOs())
        with pytest.raises(DeviceFileWriteError, match="disk is full"):
            flows.bootstrap_organization(link, "a@example.com", "A", "x", password="pw", config_dir=config_of(tmp_path))
    assert files_under(tmp_path) == []
    assert parsec_server.organization(org_name)["is_bootstrapped"] is False
    # Space freed: the very same link still works.
    created = flows.bootstrap_organization(link, "a@example.com", "A", "x", password="pw", config_dir=config_of(tmp_path))
    if created.session is not None:
        created.session.close()
    assert files_under(tmp_path) == [created.device_file]


def private_mount_namespace() -> list[str]:
    """``unshare`` arguments giving a private mount namespace where
    ``mount -t tmpfs`` works (root, or an unprivileged user namespace); the
    mount vanishes with the process, whatever happens to the test."""
    unshare = shutil.which("unshare")
    require(unshare is not None, "unshare (util-linux)")
    assert unshare is not None
    base = [unshare, "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        base.insert(1, "--map-root-user")
    return base


def test_full_disk_real_tmpfs(parsec_server: Any, org_name: str, tmp_path: Path) -> None:
    """A real, tiny, full tmpfs as PARSEC_BASE_CONFIG_DIR. Needs mount rights
    (root, or user namespaces): without them this is a missing component
    (skip locally, fail under CI), since the unit test above only simulates
    ENOSPC."""
    ns = private_mount_namespace()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    probe = subprocess.run([*ns, "mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True, text=True)
    require(probe.returncode == 0, f"mounting a tmpfs in a private mount namespace ({probe.stderr.strip()})")
    out = tmp_path / "out"
    out.mkdir()
    script = r"""
set -u
mount -t tmpfs -o size=128k tmpfs "$PARSEC_BASE_CONFIG_DIR" || exit 97
mkdir -p "$PARSEC_BASE_CONFIG_DIR/parsec3/libparsec/devices"
dd if=/dev/zero of="$PARSEC_BASE_CONFIG_DIR/filler" bs=4096 2>/dev/null
printf 'pw\n' | PARSEC_TRAY_ADMIN_TOKEN="$PT_TOKEN" "$PT_PY" -m parsec_tray.cli create-org --server "$PT_SERVER" \
    --org "$PT_ORG" --email a@example.com --user-name A --device-label x --password-stdin \
    >"$PT_OUT/stdout" 2>"$PT_OUT/stderr"
echo $? >"$PT_OUT/rc"
find "$PARSEC_BASE_CONFIG_DIR/parsec3" -type f >"$PT_OUT/files"
"""
    env = home_env(
        tmp_path, PARSEC_BASE_CONFIG_DIR=str(mnt), PT_PY=sys.executable, PT_SERVER=parsec_server.url,
        PT_ORG=org_name, PT_TOKEN=parsec_server.admin_token, PT_OUT=str(out),
    )
    run = subprocess.run([*ns, "sh", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    rc = int((out / "rc").read_text())
    stderr = (out / "stderr").read_text()
    assert rc != 0 and "Traceback" not in stderr
    assert "disk is full" in stderr.lower(), stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert (out / "stdout").read_text() == ""
    assert (out / "files").read_text().split() == []  # no device file, no temporary file
    assert parsec_server.organization(org_name)["is_bootstrapped"] is False
    assert not os.path.ismount(mnt)


# --- killed processes -------------------------------------------------------------------------------------


def assert_nothing_lost(server: Any, orgs: list[str], config: Path, password: str, context: str) -> None:
    """After kills: the listing (which recovers leftovers) leaves only device
    files and pending ones; every organization the server bootstrapped has
    its keys here, and a login settles a pending one."""
    root = config / "devices"
    listed = list_device_files(config)
    everything = sorted(p.name for p in root.rglob("*") if not p.is_dir())
    context = f"{context} files={everything}"
    assert all(FINAL_OR_PENDING.match(name) for name in everything), context  # no temporary file left
    assert sorted(d.path.name for d in listed) == everything, context
    kept = {}
    for d in listed:
        local = load_device_with_password(d.file, password)
        kept[str(local.organization_id)] = (d, local)
    for org in orgs:
        state = org_state(server, org)
        if not (isinstance(state, dict) and state.get("is_bootstrapped")):
            continue
        assert org in kept, f"{org} was bootstrapped but its keys are lost; {context}"
        d, local = kept[org]
        assert [u["user_id"] for u in server.users(org)] == [local.user_id.hex], context
        if d.pending:
            session = flows.login(flows.DeviceInfo.from_file(d.path, d.file, True), password=password)
            session.close()
            assert session.device_file == devices_mod.final_path_of(d.path) and session.device_file.exists()
            assert not d.path.exists(), context
    for org, (d, _local) in kept.items():
        if not d.pending:  # a final file only once the server said yes
            assert server.organization(org)["is_bootstrapped"] is True, context


def test_killed_create_org_leaves_only_complete_files(parsec_server: Any, org_name: str, tmp_path: Path) -> None:
    """SIGKILL create-org at random moments: every *.keys file left is
    complete. One uninterrupted run first measures how long a run takes on
    this machine, so that the kills spread over all its phases (Argon2id,
    temporary file, server requests, commit, login)."""
    env = home_env(tmp_path)

    def args(org: str) -> list[str]:
        return [
            *CLI, "create-org", "--server", parsec_server.url, "--org", org, "--email", "k@example.com",
            "--user-name", "K", "--device-label", "x", "--admin-token", parsec_server.admin_token,
            "--password-stdin", "--json",
        ]

    orgs = [f"{org_name}k{i}" for i in range(11)]
    start = time.monotonic()
    done = subprocess.run(args(orgs[0]), input=b"pw\n", capture_output=True, env=env, timeout=120)
    full_run = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    seed = secrets.randbits(32)
    rng = random.Random(seed)
    delays = [rng.uniform(0.0, min(1.5, full_run)) for _ in orgs[1:]]
    for org, delay in zip(orgs[1:], delays, strict=True):
        proc = subprocess.Popen(
            args(org), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        assert proc.stdin is not None
        proc.stdin.write(b"pw\n")
        proc.stdin.close()
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)

    assert_nothing_lost(parsec_server, orgs, config_of(tmp_path), "pw", f"seed={seed} delays={delays}")


REPLACER = r"""
import sys
from pathlib import Path
from parsec_tray.core.devices import AtomicWrite
path, a, b = Path(sys.argv[1]), Path(sys.argv[2]).read_bytes(), Path(sys.argv[3]).read_bytes()
i = 0
while True:
    AtomicWrite(path, a if i % 2 else b, replace=True).prepare().commit()
    if i == 0:
        print("ready", flush=True)
    i += 1
"""


def test_killed_while_replacing_leaves_old_or_new(tmp_path: Path) -> None:
    local = make_local(1)
    a = build_password_file(local, "pw", params=fast_params()).dump()
    b = build_password_file(dataclasses.replace(local, device_label=DeviceLabel("b" * 200)), "pw", params=fast_params()).dump()
    assert len(a) != len(b)
    (tmp_path / "a").write_bytes(a)
    (tmp_path / "b").write_bytes(b)
    target = tmp_path / "devices" / "dev.keys"
    target.parent.mkdir()
    target.write_bytes(a)
    seed = secrets.randbits(32)
    rng = random.Random(seed)
    for _ in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", REPLACER, str(target), str(tmp_path / "a"), str(tmp_path / "b")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n", proc.stderr.read() if proc.stderr else b""
        time.sleep(rng.uniform(0.0, 0.2))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        content = target.read_bytes()
        assert content in (a, b), f"seed={seed}: a mix of old and new ({len(content)} bytes)"
        assert DeviceFile.load(content).device_id == local.device_id
        assert [p.name for p in target.parent.iterdir() if p.name.endswith(".keys")] == ["dev.keys"]


@pytest.mark.server
def test_login_allow_offline_returns_an_offline_session(
    tmp_path: Path, parsec_server: Any, org_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tray logs in to a known device while its server is down: the keys
    are unlocked, the session says why it is offline; a wrong password still
    fails, and without allow_offline the login fails as before."""
    import socket

    from parsec_tray.core import api
    from parsec_tray.core.errors import ServerUnreachableError, WrongPasswordError
    from parsec_tray.core.transport import Transport

    monkeypatch.setenv("PARSEC_BASE_CONFIG_DIR", str(tmp_path / "cfg"))
    created = api.create_organization(
        parsec_server.url, org_name, "o@example.com", "Olu", "desk", password="pw",
        admin_token=parsec_server.admin_token,
    )
    assert created.session is not None
    created.session.close()
    # Point the device at a port where nothing listens: a real refused connection.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    real_url = Transport.url

    def to_dead_port(self: Transport, path: str) -> str:
        return real_url(self, path).replace(f":{parsec_server.port}/", f":{dead}/")

    monkeypatch.setattr(Transport, "url", to_dead_port)
    with pytest.raises(ServerUnreachableError):
        api.login(created.device_id, password="pw")
    with pytest.raises(WrongPasswordError):
        api.login(created.device_id, password="wrong", allow_offline=True)
    session = api.login(created.device_id, password="pw", allow_offline=True)
    assert isinstance(session.offline_error, ServerUnreachableError)
    assert session.summary()["device_id"] == created.device_id
    monkeypatch.setattr(Transport, "url", real_url)
    session.ping()  # back online with the same session
    session.close()
