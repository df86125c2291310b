"""core/keyring_store.py with a real Secret Service.

Each scenario runs in a child process inside its own ``dbus-run-session``
(fresh HOME, no DISPLAY), where a real ``gnome-keyring-daemon`` is started
by PID (unlocked with a password, or with a wrong one: locked), or not at
all; one scenario runs with no D-Bus at all.  The scenario bodies are the
``_child_*`` functions below; the parent only checks the child's exit
status and shows its output.  What we store is checked with secretstorage
(attributes, label, collection), with python-keyring (an independent
reader that looks up {service, username}) and with the reference bindings
(the passphrase decrypts the device file's ciphertext).

The error translation (one test per mapped library exception) runs in
process.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import require
from parsec_tray.core import errors
from parsec_tray.core import keyring_store as ks

TESTS = Path(__file__).resolve().parent
KEYRING_PASSWORD = "gk-test-password"
PASSPHRASE_RE = re.compile(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){12}")


def have(cmd: str) -> bool:
    return shutil.which(cmd) is not None


# --- the child side ---------------------------------------------------------------------


_BOOT = r"""
import os, subprocess, sys, time
mode, func = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.environ["PT_TESTS_DIR"])
daemon = None
if mode in ("unlocked", "wrong-password"):
    daemon = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    password = os.environ["PT_KEYRING_PASSWORD"] if mode == "unlocked" else "not-the-password"
    daemon.stdin.write(password.encode()); daemon.stdin.close()
    from contextlib import closing
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection
    with closing(open_dbus_connection()) as conn:
        deadline = time.monotonic() + 20
        while not conn.send_and_get_reply(message_bus.NameHasOwner("org.freedesktop.secrets")).body[0]:
            assert time.monotonic() < deadline, "gnome-keyring-daemon did not register"
            time.sleep(0.02)
try:
    import test_keyring_store
    getattr(test_keyring_store, func)()
finally:
    if daemon is not None:
        daemon.terminate()
        daemon.wait(10)
print("CHILD-OK")
"""


def run_child(tmp_path: Path, func: str, mode: str = "unlocked", env: dict[str, str] | None = None) -> str:
    """Run ``func`` in a child process with a fresh HOME and ``mode``:
    ``unlocked``, ``wrong-password`` (the login keyring stays locked),
    ``no-daemon`` (a bus, nothing started: D-Bus may activate a bare
    daemon) or ``no-bus``."""
    require(have("dbus-run-session"), "dbus-run-session (Debian package dbus)")
    require(have("gnome-keyring-daemon"), "gnome-keyring-daemon (Debian package gnome-keyring)")
    home = tmp_path / "home"
    run = tmp_path / "run"
    for d in (home, run):
        d.mkdir(exist_ok=True)
    run.chmod(0o700)
    child_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(run),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "PARSEC_BASE_DATA_DIR": str(tmp_path / "parsec-data"),
        "PARSEC_BASE_CONFIG_DIR": str(tmp_path / "parsec-config"),
        "PT_TESTS_DIR": str(TESTS),
        "PT_KEYRING_PASSWORD": KEYRING_PASSWORD,
        "PYTHONDONTWRITEBYTECODE": "1",
        **(env or {}),
    }
    if mode == "no-bus":
        cmd = [sys.executable, "-c", _BOOT, mode, func]
    else:
        cmd = ["dbus-run-session", "--", sys.executable, "-c", _BOOT, mode, func]
    proc = subprocess.run(cmd, env=child_env, capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "CHILD-OK" in proc.stdout, f"{func} ({mode}) failed:\n{out}"
    return out


def _device(label: str = "A", port: int = 1, org: str = "KeyringOrg") -> ks.LocalDevice:
    from parsec_tray.core import bootstrap
    from parsec_tray.core.addr import ParsecOrganizationBootstrapAddr, parse_server
    from parsec_tray.core.values import DeviceLabel, HumanHandle, OrganizationID

    addr = ParsecOrganizationBootstrapAddr(
        parse_server(f"parsec3://127.0.0.1:{port}?no_ssl=true"), OrganizationID(org), None
    )
    plan = bootstrap.prepare(
        addr, HumanHandle(f"{label.lower()}@example.com", label), DeviceLabel(f"{label}-pc")
    )
    return plan.device


@contextlib.contextmanager
def _bus() -> Iterator[object]:
    import secretstorage

    conn = secretstorage.dbus_init()
    try:
        yield conn
    finally:
        conn.close()


def _items(service: str = "parsec") -> list[tuple[str, dict[str, str], str, bytes, str]]:
    import secretstorage

    with _bus() as conn:
        return [
            (i.item_path, i.get_attributes(), i.get_label(), i.get_secret(), i.get_secret_content_type())
            for i in secretstorage.search_items(conn, {"service": service})
        ]


def _keyring_user() -> str:
    raw = ks.keyring_user_path().read_bytes()
    assert not raw.endswith(b"\n") and raw.strip() == raw, raw
    user = raw.decode()
    assert str(uuid.UUID(user)) == user and uuid.UUID(user).version == 4, user
    return user


def _child_roundtrip() -> None:
    import parsec._parsec as P
    from keyring.backends import SecretService
    from parsec_tray.core.devices import read_device_file
    from parsec_tray.core.paths import data_dir, default_device_file

    assert ks.keyring_available()
    assert ks.keyring_user_path() == data_dir() / "keyring_user.txt"
    assert str(ks.keyring_user_path()).startswith(os.environ["PARSEC_BASE_DATA_DIR"] + "/parsec3/")
    a = _device("A")
    path = ks.save_device_with_keyring(a)
    assert path == default_device_file(a.device_id.hex)
    user = _keyring_user()

    f = read_device_file(path)
    assert (f.type, f.keyring_service, f.keyring_user) == ("keyring", "parsec", user)

    ((item_path, attrs, label, secret, ctype),) = _items()
    # gnome-keyring adds xdg:schema to items created without one (keyring-rs's too).
    assert attrs.pop("xdg:schema", "org.freedesktop.Secret.Generic") == "org.freedesktop.Secret.Generic", (
        attrs
    )
    assert attrs == {
        "service": "parsec",
        "username": user,
        "target": "default",
        "application": "rust-keyring",
    }, attrs
    assert label == f"{user}@parsec:default (keyring v3.6.3)", label
    assert ctype == "text/plain", ctype
    assert item_path.startswith("/org/freedesktop/secrets/collection/login/"), item_path  # the default one
    passphrase = secret.decode()
    assert PASSPHRASE_RE.fullmatch(passphrase), passphrase

    # The reference implementation decrypts the file with that passphrase...
    key = P.SecretKey.from_recovery_passphrase(passphrase)
    assert key.decrypt(f.ciphertext) == a.dump()
    # ...and another Secret Service client finds the entry by {service, username}.
    assert SecretService.Keyring().get_password("parsec", user) == passphrase

    loaded = ks.load_device_with_keyring(f)
    assert loaded.dump() == a.dump()

    # A second device shares the keyring user and its entry.
    b = _device("B")
    path_b = ks.save_device_with_keyring(b)
    assert _keyring_user() == user
    assert len(_items()) == 1
    fb = read_device_file(path_b)
    assert fb.keyring_user == user and key.decrypt(fb.ciphertext) == b.dump()
    assert ks.load_device_with_keyring(fb).dump() == b.dump()

    # Two-phase saves (the bootstrap flow): the file, not written yet, same entry.
    c = _device("C")
    fc = ks.build_keyring_file(c)
    assert (fc.type, fc.keyring_user) == ("keyring", user) and key.decrypt(fc.ciphertext) == c.dump()
    assert not default_device_file(c.device_id.hex).exists() and len(_items()) == 1

    # No overwrite unless asked.
    with_err = None
    try:
        ks.save_device_with_keyring(b)
    except errors.DeviceFileWriteError as exc:
        with_err = exc
    assert with_err is not None
    assert ks.save_device_with_keyring(b, replace=True) == path_b


def _child_new_user_when_the_entry_is_gone_or_bad() -> None:
    import secretstorage
    from keyring.backends import SecretService
    from parsec_tray.core.crypto import SecretKey, key_to_passphrase
    from parsec_tray.core.devices import read_device_file

    backend = ks.get_backend()
    a = _device("A")
    fa = read_device_file(ks.save_device_with_keyring(a))
    user1 = _keyring_user()
    backend.delete_password("parsec", user1)
    assert _items() == []
    try:
        ks.load_device_with_keyring(fa)
        raise AssertionError("loaded without its keyring entry")
    except errors.KeyringError as exc:
        assert "no key for this device" in str(exc) and "password" in str(exc)

    b = _device("B")
    fb = read_device_file(ks.save_device_with_keyring(b))
    user2 = _keyring_user()
    assert user2 != user1 and fb.keyring_user == user2  # keyring_user.txt rewritten

    # An entry that is not a passphrase: not reused, and not loadable.
    with _bus() as conn:
        (item,) = list(secretstorage.search_items(conn, {"service": "parsec", "username": user2}))
        item.set_secret(b"this is not a passphrase")
    c = _device("C")
    fc = read_device_file(ks.save_device_with_keyring(c))
    user3 = _keyring_user()
    assert user3 not in (user1, user2)
    try:
        ks.load_device_with_keyring(fb)
        raise AssertionError("loaded with a garbage key")
    except errors.KeyringError as exc:
        assert "not a Parsec key" in str(exc)

    # A valid passphrase of another key: WrongPasswordError, with a sentence.
    with _bus() as conn:
        (item,) = list(secretstorage.search_items(conn, {"service": "parsec", "username": user3}))
        item.set_secret(key_to_passphrase(SecretKey.generate()).encode())
    try:
        ks.load_device_with_keyring(fc)
        raise AssertionError("loaded with the wrong key")
    except errors.WrongPasswordError as exc:
        assert "does not open this device" in str(exc)

    # An entry written by another tool, without keyring-rs's target attribute,
    # named by keyring_user.txt: reused (looked up by {service, username}).
    legacy_key = SecretKey.generate()
    SecretService.Keyring().set_password("parsec", "legacy-user", key_to_passphrase(legacy_key))
    ks.keyring_user_path().write_bytes(b"legacy-user")
    d = _device("D")
    fd = read_device_file(ks.save_device_with_keyring(d))
    assert fd.keyring_user == "legacy-user"
    assert legacy_key.decrypt(fd.ciphertext) == d.dump()
    assert ks.load_device_with_keyring(fd).dump() == d.dump()


def _child_locked() -> None:
    import secretstorage
    from parsec_tray.core.devices import read_device_file

    fa = read_device_file(ks.save_device_with_keyring(_device("A")))
    with _bus() as conn:
        secretstorage.Collection(conn).lock()
        assert secretstorage.Collection(conn).is_locked()
    for action in ("load", "save"):
        try:
            if action == "load":
                ks.load_device_with_keyring(fa)
            else:
                ks.save_device_with_keyring(_device("B"))
            raise AssertionError(f"{action} worked on a locked keyring")
        except errors.KeyringError as exc:
            assert "locked" in str(exc) and "password" in str(exc), str(exc)
    # Allowed to prompt: without a display the prompt is dismissed at once.
    try:
        ks.load_device_with_keyring(fa, backend=ks.SecretServiceKeyring(prompt_timeout=20))
        raise AssertionError("unlocked without a prompt")
    except errors.KeyringError as exc:
        assert "cancelled" in str(exc)
    # As libparsec: a locked keyring is still "available" (it can be unlocked).
    assert ks.keyring_available()


def _child_save_for_later() -> None:
    from parsec_tray.core.devices import read_device_file

    path = ks.save_device_with_keyring(_device("A"))
    assert ks.load_device_with_keyring(read_device_file(path))


def _child_load_with_a_locked_login_keyring() -> None:
    from parsec_tray.core.devices import list_device_files

    (listed,) = list_device_files()
    try:
        ks.load_device_with_keyring(listed.file)
        raise AssertionError("loaded from a keyring unlocked with the wrong password")
    except errors.KeyringError as exc:
        assert "locked" in str(exc) and "password" in str(exc)


def _child_quick_login_stays_lean() -> None:
    """Reading the key (every quick login) loads neither secretstorage nor
    cryptography: they would stay resident in the tray for good."""
    from parsec_tray.core.devices import list_device_files

    (listed,) = list_device_files()
    device = ks.load_device_with_keyring(listed.file)
    assert device.device_label == "A-pc"
    heavy = sorted({m.split(".")[0] for m in sys.modules} & {"secretstorage", "cryptography", "keyring"})
    assert heavy == [], heavy


def _child_load_a_locked_item_with_a_prompt_allowed() -> None:
    """A locked keyring with no one to answer the prompt: secretstorage's
    path, and a sentence at the end of the wait."""
    from parsec_tray.core.devices import list_device_files

    (listed,) = list_device_files()
    try:
        ks.load_device_with_keyring(listed.file, backend=ks.SecretServiceKeyring(prompt_timeout=0.5))
        raise AssertionError("loaded from a locked keyring")
    except errors.KeyringError as exc:
        assert "keyring" in str(exc).lower(), exc


def _no_keyring_checks(words: str) -> None:
    from parsec_tray.core.crypto import SecretKey
    from parsec_tray.core.devices import build_key_file

    assert not ks.keyring_available()
    a = _device("A")
    try:
        ks.save_device_with_keyring(a)
        raise AssertionError("saved without a keyring")
    except errors.KeyringError as exc:
        assert words in str(exc) and "password" in str(exc), str(exc)
    assert not ks.keyring_user_path().exists()
    assert not Path(os.environ["PARSEC_BASE_CONFIG_DIR"]).exists()  # no device file either
    f = build_key_file(
        a, "keyring", SecretKey.generate(), keyring_service="parsec", keyring_user=str(uuid.uuid4())
    )
    try:
        ks.load_device_with_keyring(f)
        raise AssertionError("loaded without a keyring")
    except errors.KeyringError as exc:
        assert "password" in str(exc), str(exc)


def _child_no_bus() -> None:
    assert "DBUS_SESSION_BUS_ADDRESS" not in os.environ
    _no_keyring_checks("No OS keyring (Secret Service) is reachable")


def _child_no_default_keyring() -> None:
    _no_keyring_checks("no default keyring")


def _child_server_login() -> None:
    from parsec_org import new_admin_session
    from parsec_tray.core.devices import read_device_file
    from parsec_tray.core.session import Session

    class Server:
        url = os.environ["PT_SERVER_URL"]
        admin_token = os.environ["PT_ADMIN_TOKEN"]

    created = new_admin_session(Server, os.environ["PT_ORG"], Path(os.environ["PARSEC_BASE_CONFIG_DIR"]))
    target = Path(os.environ["PARSEC_BASE_CONFIG_DIR"]) / "devices" / "by-keyring.keys"
    path = ks.save_device_with_keyring(created.device, path=target)
    created.close()
    device = ks.load_device_with_keyring(read_device_file(path))
    assert device.device_id == created.device.device_id
    session = Session(device, path)
    try:
        session.ping()
    finally:
        session.close()


def _child_forget_keyring_user() -> None:
    ks.save_device_with_keyring(_device("A"))
    user = _keyring_user()
    assert [i[1]["username"] for i in _items()] == [user]
    assert ks.forget_keyring_user() is True  # what the demo does when it ends
    assert _items() == []
    assert ks.forget_keyring_user() is False  # nothing left


# --- the parent side: scenarios ----------------------------------------------------------


@pytest.fixture(autouse=True)
def _isolated(config_home: Path) -> None:
    """Nothing here may touch the real keyring_user.txt or device folder."""


def test_save_load_attributes_and_reuse(tmp_path: Path) -> None:
    run_child(tmp_path, "_child_roundtrip")


def test_the_keyring_entry_of_a_throw_away_data_dir_can_be_forgotten(tmp_path: Path) -> None:
    run_child(tmp_path, "_child_forget_keyring_user")


def test_a_missing_or_bad_entry_makes_a_new_keyring_user(tmp_path: Path) -> None:
    run_child(tmp_path, "_child_new_user_when_the_entry_is_gone_or_bad")


def test_locked_keyring_is_a_keyring_error(tmp_path: Path) -> None:
    run_child(tmp_path, "_child_locked")


def test_login_keyring_unlocked_with_the_wrong_password(tmp_path: Path) -> None:
    run_child(tmp_path, "_child_save_for_later", "unlocked")
    run_child(tmp_path, "_child_load_with_a_locked_login_keyring", "wrong-password")


def test_quick_login_reads_the_key_without_secretstorage(tmp_path: Path) -> None:
    run_child(tmp_path, "_child_save_for_later", "unlocked")
    run_child(tmp_path, "_child_quick_login_stays_lean", "unlocked")
    run_child(tmp_path, "_child_load_a_locked_item_with_a_prompt_allowed", "wrong-password")


def test_no_dbus_is_a_keyring_error_not_a_traceback(tmp_path: Path) -> None:
    run_child(tmp_path, "_child_no_bus", "no-bus")


def test_no_default_keyring_is_a_keyring_error(tmp_path: Path) -> None:
    # Only a bus: D-Bus activation starts a bare gnome-keyring without a login keyring.
    run_child(tmp_path, "_child_no_default_keyring", "no-daemon")


def test_login_with_a_keyring_device(tmp_path: Path, parsec_server: object, org_name: str) -> None:
    run_child(
        tmp_path,
        "_child_server_login",
        env={
            "PT_SERVER_URL": parsec_server.url,  # type: ignore[attr-defined]
            "PT_ADMIN_TOKEN": parsec_server.admin_token,  # type: ignore[attr-defined]
            "PT_ORG": org_name,
        },
    )


# --- in process ------------------------------------------------------------------------------


def _dbus_error(name: str) -> Exception:
    from jeepney import DBusAddress, new_error, new_method_call
    from jeepney.wrappers import DBusErrorResponse

    call = new_method_call(
        DBusAddress("/org/freedesktop/secrets", "org.freedesktop.secrets"), "Unlock", "ao", ([],)
    )
    return DBusErrorResponse(new_error(call, name, "s", ("no",)))


def _win_error() -> Exception:
    class error(Exception):  # noqa: N801 - pywintypes.error's name
        pass

    error.__module__ = "pywintypes"
    exc = error(5, "CredWrite", "Access is denied.")
    exc.strerror = "Access is denied."  # type: ignore[attr-defined]
    return exc


def _mapped_cases() -> list[tuple[str, object, str]]:
    import keyring.errors as kerr
    import secretstorage.exceptions as sse

    return [
        ("SecretServiceNotAvailable", sse.SecretServiceNotAvailableException("no bus"), "No OS keyring"),
        ("Locked", sse.LockedException("locked"), "is locked"),
        ("PromptDismissed", sse.PromptDismissedException("no"), "was cancelled"),
        ("ItemNotFound", sse.ItemNotFoundException("none"), "no default keyring"),
        ("other secretstorage", sse.SecretStorageException("x"), "failed"),
        (
            "DBusErrorResponse",
            _dbus_error("org.freedesktop.Secret.Error.NoSession"),
            "org.freedesktop.Secret.Error.NoSession",
        ),
        ("KeyringLocked", kerr.KeyringLocked("locked"), "is locked"),
        ("NoKeyringError", kerr.NoKeyringError("none"), "No OS keyring"),
        ("InitError", kerr.InitError("none"), "No OS keyring"),
        ("PasswordSetError", kerr.PasswordSetError("no"), "refused"),
        ("pywintypes.error", _win_error(), "Access is denied"),
        ("TimeoutError", TimeoutError(), "not unlocked in time"),
        (
            "ConnectionResetError",
            ConnectionResetError(104, "Connection reset by peer"),
            "connection to the OS keyring",
        ),
    ]


@pytest.mark.parametrize("index", range(13))
def test_each_library_error_becomes_a_keyring_error(index: int) -> None:
    cases = _mapped_cases()
    assert len(cases) == 13
    what, exc, words = cases[index]
    for saving in (True, False):
        err = ks.translate_error(exc, saving=saving)  # type: ignore[arg-type]
        assert type(err) is errors.KeyringError, what
        assert words in str(err), (what, str(err))
        assert "password" in str(err), (what, str(err))


def test_backend_choice_and_no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ks, "_backend", None)
    monkeypatch.setenv(ks.BACKEND_ENV, "none")
    backend = ks.get_backend()
    assert isinstance(backend, ks.NoKeyring) and ks.get_backend() is backend
    assert not ks.keyring_available()
    with pytest.raises(errors.KeyringError, match="password instead"):
        ks.save_device_with_keyring(_device("A"))
    monkeypatch.setattr(ks, "_backend", None)
    monkeypatch.setenv(ks.BACKEND_ENV, "")
    expected = {
        "linux": ks.SecretServiceKeyring,
        "darwin": ks.MacKeychainKeyring,
        "win32": ks.WindowsCredentialKeyring,
    }
    platform = "linux" if sys.platform.startswith("linux") else sys.platform
    assert type(ks.get_backend()) is expected.get(platform, ks.NoKeyring)


def test_other_platform_backends_fail_cleanly_here() -> None:
    if sys.platform != "win32":
        with pytest.raises(errors.KeyringError, match="pywin32"):
            ks.WindowsCredentialKeyring().get_password("parsec", "u")
        assert ks.WindowsCredentialKeyring.target("parsec", "u") == "u.parsec"
    if sys.platform != "darwin":
        assert not ks.MacKeychainKeyring().available()
        with pytest.raises(errors.KeyringError, match="only on macOS"):
            ks.MacKeychainKeyring().get_password("parsec", "u")


def test_only_keyring_files_are_loaded() -> None:
    from parsec_tray.core.crypto import SecretKey
    from parsec_tray.core.devices import build_key_file

    f = build_key_file(_device("A"), "recovery", SecretKey.generate())
    with pytest.raises(errors.DeviceFileError, match="not by the OS keyring"):
        ks.load_device_with_keyring(f, backend=ks.NoKeyring())
