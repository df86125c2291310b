"""The controller without a display: sessions, checks, requests, error
routing.  Sessions here are stand-ins with a ``ping`` the test controls; the
real ones are exercised end to end in test_tray_e2e.py."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from parsec_tray.core import errors as E
from parsec_tray.tray import health, logins, openers
from parsec_tray.tray.controller import Controller
from parsec_tray.tray.dialog_flows import error_target
from parsec_tray.tray.instance import AFTER_REPLY
from parsec_tray.tray.state import State


class FakeShell:
    name = "fake"

    def __init__(self) -> None:
        self.refreshes: list[State] = []
        self.stopped = threading.Event()

    def refresh(self, snapshot: Any, entries: Any) -> None:
        self.refreshes.append(snapshot.state)

    def stop(self) -> None:
        self.stopped.set()


class FakeSession:
    def __init__(self, org: str = "MyOrg", device_id: str = "d" * 32) -> None:
        self.org = org
        self.device_id = device_id
        self.closed = threading.Event()
        self.gate = threading.Event()
        self.gate.set()
        self.error: Exception | None = None
        self.pings = 0

    def summary(self) -> dict[str, str]:
        return {
            "organization_id": self.org,
            "user_id": "u" * 32,
            "device_id": self.device_id,
            "server_url": "parsec3://h",
        }

    def ping(self) -> None:
        self.pings += 1
        self.gate.wait(10)
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.closed.set()


@dataclass
class Info:
    user_name: str = "Alice"
    email: str = "alice@example.com"
    device_label: str = "laptop"
    key: str = ""


@pytest.fixture
def ctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Controller, FakeShell]:
    monkeypatch.setenv("PARSEC_BASE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("PARSEC_TRAY_CONFIG_DIR", str(tmp_path / "tray"))  # settings.json
    c = Controller()
    shell = FakeShell()
    c.attach(shell)  # type: ignore[arg-type]
    return c, shell


def wait_state(c: Controller, state: State) -> None:
    for _ in range(200):
        if c.state is state and not c.checking:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"state is {c.state}, not {state}")


def test_adopt_logout_and_stale_results(ctl: tuple[Controller, FakeShell]) -> None:
    c, shell = ctl
    s1 = FakeSession()
    logins.adopt(c, s1, Info())
    assert c.state is State.ONLINE and shell.refreshes[-2:] == [State.CONNECTING, State.ONLINE]
    st = c.handle_request({"cmd": "status"})
    assert (st["state"], st["organization_id"], st["user_name"]) == ("online", "MyOrg", "Alice")

    # A check is in flight when the person logs out: its answer is dropped.
    s1.gate.clear()
    s1.error = E.ServerUnreachableError("The server cannot be reached.")
    health.check_connection(c, force=True)
    logins.logout(c)
    assert c.state is State.LOGGED_OUT and s1.closed.wait(5)
    s1.gate.set()
    wait_state(c, State.LOGGED_OUT)
    assert c.handle_request({"cmd": "status"})["organization_id"] is None


def test_checks(ctl: tuple[Controller, FakeShell]) -> None:
    c, _ = ctl
    s = FakeSession()
    logins.adopt(c, s, Info())
    health.check_connection(c, force=False)  # checked at login: too soon
    assert s.pings == 0
    s.error = E.ServerUnreachableError("The server cannot be reached.")
    health.check_connection(c, force=True)
    wait_state(c, State.OFFLINE)
    assert c.snapshot().reason == "The server cannot be reached."

    s.error = None
    s.gate.clear()
    health.check_connection(c, force=True)  # asked for: "connecting" while it runs
    assert c.state is State.CONNECTING
    s.gate.set()
    wait_state(c, State.ONLINE)
    assert c.snapshot().reason is None

    s.error = E.AuthenticationError("This device was revoked.")
    health.check_connection(c, force=True)
    wait_state(c, State.NEEDS_ATTENTION)
    assert [e.text for e in c.menu()][:2] == ["MyOrg: Alice", "Needs attention: This device was revoked."]


def test_a_second_device_keeps_the_first_online(ctl: tuple[Controller, FakeShell]) -> None:
    c, _ = ctl
    s1, s2 = FakeSession("One", "1" * 32), FakeSession("Two", "2" * 32)
    logins.adopt(c, s1, Info(key="/d/one.keys"))
    logins.adopt(c, s2, Info(user_name="Bob", key="/d/two.keys"))
    assert not s1.closed.is_set() and not s2.closed.is_set()
    st = c.handle_request({"cmd": "status"})
    # The top-level fields are the most recently used session's.
    assert (st["state"], st["organization_id"], st["user_name"]) == ("online", "Two", "Bob")
    assert [(x["organization_id"], x["device_id"], x["state"]) for x in st["sessions"]] == [
        ("One", "1" * 32, "online"),
        ("Two", "2" * 32, "online"),
    ]
    headers = [e.text for e in c.menu() if not e.enabled and not e.separator]
    assert headers[:4] == ["One: Alice", "Online", "Two: Bob", "Online"]
    logouts = [e.arg for e in c.menu() if e.action is not None and e.action.value == "logout"]
    assert logouts == ["/d/one.keys", "/d/two.keys"]

    # The icon shows the most urgent state; a check of one leaves the other.
    s1.error = E.ServerUnreachableError("The server cannot be reached.")
    health.check_connection(c, force=True, key="/d/one.keys")
    wait_state(c, State.OFFLINE)
    st = c.handle_request({"cmd": "status"})
    assert [x["state"] for x in st["sessions"]] == ["offline", "online"] and s2.pings == 0
    assert st["organization_id"] == "Two" and "reason" not in st  # Two's: online, no reason

    # Logging out of one leaves the other as it was.
    c.perform("logout", "/d/one.keys")
    assert s1.closed.wait(5) and not s2.closed.is_set()
    st = c.handle_request({"cmd": "status"})
    assert st["state"] == "online" and [x["organization_id"] for x in st["sessions"]] == ["Two"]

    # A new login to a device already logged in replaces its session.
    s3 = FakeSession("Two", "2" * 32)
    logins.adopt(c, s3, Info(user_name="Bob", key="/d/two.keys"))
    assert s2.closed.wait(5) and not s3.closed.is_set()
    assert len(c.handle_request({"cmd": "status"})["sessions"]) == 1

    logins.logout(c)  # without a device: the current one
    assert s3.closed.wait(5) and c.state is State.LOGGED_OUT
    assert c.handle_request({"cmd": "status"})["sessions"] == []


def test_the_settings_name_the_logged_in_devices(ctl: tuple[Controller, FakeShell]) -> None:
    from parsec_tray.tray import settings

    c, _ = ctl
    one, two, again = FakeSession("One", "1" * 32), FakeSession("Two", "2" * 32), FakeSession("Two", "2" * 32)
    logins.adopt(c, one, Info(key="/d/one.keys"))
    logins.adopt(c, two, Info(key="/d/two.keys"))
    assert settings.load() == {"logged_in": ["/d/one.keys", "/d/two.keys"], "last_device": "/d/two.keys"}
    logins.logout(c, "/d/two.keys")
    assert settings.load() == {"logged_in": ["/d/one.keys"], "last_device": "/d/two.keys"}
    logins.adopt(c, again, Info(key="/d/two.keys"))
    c.shutdown()  # quitting logs out of all, and remembers them for --autostart
    assert c.state is State.LOGGED_OUT and one.closed.is_set() and again.closed.is_set()
    assert settings.load()["logged_in"] == ["/d/one.keys", "/d/two.keys"]


def test_requests(ctl: tuple[Controller, FakeShell]) -> None:
    c, shell = ctl
    menu = c.handle_request({"cmd": "menu"})
    assert menu["ok"] and menu["entries"][0]["action"] == "create_org"
    assert c.handle_request({"cmd": "action", "action": "nope"})["ok"] is False
    assert c.handle_request({"cmd": "what"}) == {"ok": False, "error": "unknown command 'what'"}
    reply = c.handle_request({"cmd": "quit"})
    after = reply.pop(AFTER_REPLY)
    assert reply == {"ok": True} and not shell.stopped.is_set()
    after()  # what the instance server does once the reply is sent
    assert shell.stopped.wait(5)


@pytest.mark.parametrize(
    ("kind", "exc", "target"),
    [
        ("login", E.WrongPasswordError("Wrong password."), (None, "password")),
        ("login", E.ServerUnreachableError("x"), (None, None)),
        ("create", E.OrganizationAlreadyExistsError("x"), (1, "organization")),
        ("join", E.OrganizationAlreadyExistsError("x"), (1, "link")),
        ("create", E.AuthenticationError("The server refused the administration token."), (1, "admin_token")),
        ("create", E.ClockOutOfSyncError("clock"), (None, None)),
        ("create", E.OrganizationNotFoundError("no spontaneous bootstrap"), (1, "admin_token")),
        ("join", E.InvalidBootstrapTokenError("used"), (1, "link")),
        ("create", E.ServerUnreachableError("x"), (1, "server")),
        ("join", E.ServerUnreachableError("x"), (1, "link")),
        ("create", E.InvalidValueError("'x' is not a valid email address.", field="email"), (1, "email")),
        ("create", E.DeviceFileWriteError("disk full"), (None, None)),
        (
            "create",
            E.InvalidValueError("A user name must be 1 to 255 bytes long.", field="user_name"),
            (2, "user_name"),
        ),
        (
            "join",
            E.InvalidValueError("A device name must be text.", field="device_label"),
            (2, "device_label"),
        ),
        ("join", E.InvalidValueError("Not a valid organization name.", field="organization"), (None, None)),
        ("create", E.InvalidValueError("The password cannot be empty.", field="password"), (2, "password")),
        # The message's words do not matter any more, only the field.
        ("create", E.InvalidValueError("This email address is not valid.", field=None), (None, None)),
    ],
)
def test_errors_go_to_their_step_and_field(kind: str, exc: Exception, target: tuple[Any, Any]) -> None:
    assert error_target(kind, exc) == target


@pytest.mark.parametrize(
    ("saved", "expected"),
    [
        # Every device logged in at the last quit; the last one used last (the current one).
        (
            {"logged_in": ["/d/a.keys", "/d/b.keys", "/d/c.keys"], "last_device": "/d/a.keys"},
            ["keyring /d/b.keys", "keyring /d/a.keys", "offer /d/c.keys dialog"],
        ),
        # Two password devices: one dialog at most, the other a notification.
        ({"logged_in": ["/d/c.keys", "/d/d.keys"]}, ["offer /d/c.keys dialog", "offer /d/d.keys"]),
        # None logged in at the last quit, or settings from before several sessions: the last device.
        ({"logged_in": [], "last_device": "/d/b.keys"}, ["keyring /d/b.keys"]),
        ({"last_device": "/d/c.keys"}, ["offer /d/c.keys dialog"]),
        # A device gone since: skipped.
        ({"logged_in": ["/d/gone.keys", "/d/a.keys"]}, ["keyring /d/a.keys"]),
    ],
)
def test_autostart_logs_in_again_to_every_device_logged_in_at_the_last_quit(
    ctl: tuple[Controller, FakeShell],
    monkeypatch: pytest.MonkeyPatch,
    saved: dict[str, Any],
    expected: list[str],
) -> None:
    from parsec_tray.core import DeviceInfo, Protection
    from parsec_tray.tray import settings, startup

    def dev(name: str, protection: str) -> DeviceInfo:
        return DeviceInfo(
            Path(f"/d/{name}.keys"),
            name.upper(),
            "u" * 32,
            name * 32,
            "a@x",
            "Al",
            "pc",
            "h",
            Protection(protection),
        )

    devices = (dev("a", "keyring"), dev("b", "keyring"), dev("c", "password"), dev("d", "password"))
    c, _ = ctl
    done: list[str] = []
    monkeypatch.setattr(c.lister, "refresh_now", lambda: devices)
    monkeypatch.setattr(startup, "_quick_login", lambda host, info: done.append(f"keyring {info.key}"))
    monkeypatch.setattr(
        startup,
        "_offer_login",
        lambda host, info, dialog: done.append(f"offer {info.key}" + (" dialog" if dialog else "")),
    )
    settings.update(**saved)
    startup.quick_login_all(c)
    assert done == expected


def test_the_timings_the_environment_may_shorten() -> None:
    from parsec_tray.tray.controller import AppOptions

    assert AppOptions.from_environment({}) == AppOptions()
    assert (AppOptions().check_interval, AppOptions().reconnect_max) == (60.0, None)
    got = AppOptions.from_environment(
        {"PARSEC_TRAY_CHECK_INTERVAL": "0", "PARSEC_TRAY_BACKOFF_MAX": "1"}, demo_server="parsec3://x"
    )
    assert (got.check_interval, got.reconnect_max, got.demo_server) == (0.0, 1.0, "parsec3://x")


def test_a_check_on_menu_open_waits_for_the_check_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from parsec_tray.tray.controller import AppOptions

    monkeypatch.setenv("PARSEC_TRAY_CONFIG_DIR", str(tmp_path / "tray"))
    for interval, pings in ((60.0, 0), (0.0, 1)):
        c = Controller(AppOptions(check_interval=interval))
        c.attach(FakeShell())  # type: ignore[arg-type]
        s = FakeSession()
        logins.adopt(c, s, Info())
        health.check_connection(c, force=False)  # what opening the menu does
        wait_state(c, State.ONLINE)
        assert s.pings == pings


def test_a_link_that_is_not_a_parsec_link_says_so_plainly(
    ctl: tuple[Controller, FakeShell], monkeypatch: pytest.MonkeyPatch
) -> None:
    c, _ = ctl
    said: list[tuple[str, str]] = []
    monkeypatch.setattr(c, "message", lambda title, text: said.append((title, text)))
    openers.open_link(c, "ftp://example.com/Org")
    openers.open_link(c, "parsec3://example.com/Org?a=claim_user&p=wA")
    assert said == [
        (
            "Open link",
            "This is not a Parsec link: it should start with parsec3://; copy it again from the message you received.",
        ),
        ("Open link", "This invitation link is damaged: copy it again from the message you received."),
    ]
