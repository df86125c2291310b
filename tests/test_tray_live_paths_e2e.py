"""The start-at-login paths of the live session, end to end, with real parts:
Xvfb, a private D-Bus session with trayer, dunst and (where a test needs
one) a real Secret Service (gnome-keyring-daemon started inside the session,
unlocked or locked), the real Parsec server, and the app started the way the
autostart entry starts it (``parsec-tray --autostart``).

- a password device: a "Click to log in" notification, clicked in dunst,
  opens the Log in dialog; with "ask for the password at once" chosen in the
  menu, the dialog opens directly;
- a keyring device whose keyring is locked, or absent: the Log in dialog
  opens with a banner that says why, nothing crashes, nobody is logged in;
- the Log in dialog's keyring check box: the device file becomes keyring
  protected, and the next start at login needs no prompt;
- Pending invitations -> Cancel: cancelled on the server, and this app's
  own cancel is not announced (another administrator's cancel is).

What dunst showed is read back from dunst itself (``dunstctl history``).
Under ``CI=true`` nothing here is skipped: a missing component fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import require
from desktop_session import (
    AT_RISK_TITLE,
    DesktopSession,
    TrayApp,
    missing_desktop_tools,
    not_at_risk,
    stop_process,
    wait_until,
)
from parsec_server import ParsecServer

pytestmark = [pytest.mark.desktop, pytest.mark.server, pytest.mark.timeout(300)]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "tray-live-paths-e2e"
PASSWORD = "correct horse battery"
KEYRING_PASSWORD = "gk-e2e"
EMAIL = "alice@example.com"
USER = "Alice Martin"
DEVICE = "desk"
BANNER_RED = (0xB3, 0x26, 0x1E)  # the banner's error colour (Tk's Banner.TLabel, GTK's @error_color)


# -- the desktop -------------------------------------------------------------------------------


@pytest.fixture
def desktop(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[DesktopSession]:
    missing = missing_desktop_tools()
    require(not missing, "the desktop test tools (" + ", ".join(missing) + ")")
    require(shutil.which("dunstctl") is not None, "dunstctl (Debian package dunst)")
    require(
        shutil.which("gnome-keyring-daemon") is not None,
        "gnome-keyring-daemon (Debian package gnome-keyring)",
    )
    with DesktopSession(tmp_path / "desktop", artifacts=ARTIFACTS / request.node.name) as session:
        session.prime_gtk()
        yield session


def displayed(s: DesktopSession) -> int:
    return int(s.dunstctl("count", "displayed").strip())


def red_pixels(s: DesktopSession, wid: int, rgb: tuple[int, int, int] = BANNER_RED, tol: int = 40) -> int:
    img = s.grab(wid)
    px = img.load()
    return sum(
        1
        for x in range(img.width)
        for y in range(img.height)
        if all(abs(a - b) <= tol for a, b in zip(px[x, y], rgb, strict=True))
    )


# -- the app -------------------------------------------------------------------------------------


def new_app(s: DesktopSession, tmp_path: Path) -> TrayApp:
    # Its settings.json where the test can read it (the official override).
    return TrayApp(s, tmp_path / "app", env={"PARSEC_TRAY_CONFIG_DIR": str(tmp_path / "app" / "tray")})


def settings(app: TrayApp) -> dict[str, Any]:
    path = Path(app.env["PARSEC_TRAY_CONFIG_DIR"]) / "settings.json"
    return dict(json.loads(path.read_text())) if path.exists() else {}


def create_org(app: TrayApp, server: ParsecServer, org: str, *, keyring: bool) -> dict[str, Any]:
    password = None if keyring else PASSWORD
    return app.create_org(
        server.url, server.admin_token, org, email=EMAIL, user=USER, device=DEVICE, password=password
    )


def devices(app: TrayApp) -> list[dict[str, Any]]:
    out = app.cli("devices", "--json")
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout))


@contextlib.contextmanager
def running(app: TrayApp, name: str, *args: str) -> Iterator[TrayApp]:
    """The app started with ``args``; stopped at the end, where it must exit
    0 with no traceback in its log (kept in the artifacts)."""
    with app.running(ARTIFACTS / name, *args):
        yield app


def dialog(st: dict[str, Any], kind: str) -> dict[str, Any]:
    return dict(st.get("dialogs", {}).get(kind) or {})


def menu_entry(app: TrayApp, action: str) -> dict[str, Any] | None:
    return next((e for e in app.menu() if e.get("action") == action), None)


# -- 1. a password device at login ------------------------------------------------------------


def test_autostart_password_device_click_to_log_in(
    desktop: DesktopSession, parsec_server: ParsecServer, org_name: str, tmp_path: Path
) -> None:
    s = desktop
    app = new_app(s, tmp_path)
    made = create_org(app, parsec_server, org_name, keyring=False)
    body = f"Click to log in to {org_name} as {USER}."
    with running(app, "test_autostart_password_device_click_to_log_in", "--autostart"):
        s.wait_tray_icon(TrayApp.CLASSNAME)
        st = app.wait_status(
            lambda x: {"title": "Parsec Tray", "body": body, "delivered": "true"} in x.get("notified", []),
            30,
            "the 'Click to log in' notification",
        )
        assert st["state"] == "logged_out" and st["dialogs"] == {}
        wait_until(lambda: displayed(s) == 1, 10, "one notification on screen")
        assert not s.search(name="^Log in")  # nothing opens by itself
        s.screenshot("01-click-to-log-in")

        s.dunstctl("action", "0")  # the person clicks it (the default action)
        s.wait_dialog("^Log in")
        # What dunst showed, word for word, and nothing else.
        assert s.notifications_shown() == [("Parsec Tray", body)]
        st = app.status()
        assert dialog(st, "login")["open"] is True and st["state"] == "logged_out"
        s.screenshot("02-login-dialog")

        s.type(PASSWORD)
        s.key("Return")
        s.wait_window_gone("^Log in", timeout=60)
        st = app.wait_status(lambda x: x.get("stream") == "online", 60, "online, events stream open")
        assert st["state"] == "online"
        assert (st["organization_id"], st["device_id"], st["email"]) == (org_name, made["device_id"], EMAIL)
        assert settings(app)["last_device"] == made["device_file"]
        assert [n["body"] for n in st["notified"] if not n["title"].startswith(AT_RISK_TITLE)] == [body]


def test_autostart_ask_for_the_password_at_once(
    desktop: DesktopSession, parsec_server: ParsecServer, org_name: str, tmp_path: Path
) -> None:
    """The choice is made in the menu ("Start at login", then "At login,
    ask for the password at once"), stored, and obeyed at the next login."""
    s = desktop
    app = new_app(s, tmp_path)
    made = create_org(app, parsec_server, org_name, keyring=False)
    name = "test_autostart_ask_for_the_password_at_once"
    with running(app, name):
        s.wait_tray_icon(TrayApp.CLASSNAME)
        app.wait_state("logged_out", timeout=30)
        # The device list is read a moment after start: the menu must not
        # change between reading it (the entry's position) and picking.
        app.wait_status(lambda x: menu_entry(app, "login") is not None, 30, "the login entry")
        assert menu_entry(app, "toggle_login_dialog") is None  # only offered with Start at login
        app.pick("Start at login")
        entry = wait_until(lambda: menu_entry(app, "toggle_login_dialog"), 15, "the 'ask at once' entry")
        assert entry["checked"] is False and entry["text"] == "At login, ask for the password at once"
        app.pick("At login, ask for the password at once", screenshot="01-menu-ask-at-once")
        wait_until(lambda: settings(app).get("login_dialog_at_start") is True, 15, "the choice stored")
        wait_until(lambda: (menu_entry(app, "toggle_login_dialog") or {}).get("checked"), 10, "checked")
        assert app.status()["state"] == "logged_out"

    with running(app, name, "--autostart"):
        s.wait_dialog("^Log in")  # straight away, no notification to click
        st = app.status()
        assert dialog(st, "login")["open"] is True and st["state"] == "logged_out"
        assert "notified" not in st
        s.screenshot("02-login-at-once")
        s.type(PASSWORD)
        s.key("Return")
        s.wait_window_gone("^Log in", timeout=60)
        st = app.wait_state("online", timeout=60)
        assert (st["organization_id"], st["device_id"]) == (org_name, made["device_id"])
        assert not_at_risk(s.notifications_shown()) == []  # dunst showed nothing else


# -- 2. a keyring device, but no usable keyring -------------------------------------------------


def _secret_service_pid(s: DesktopSession) -> int | None:
    out = subprocess.run(
        [
            "dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
            "org.freedesktop.DBus.GetConnectionUnixProcessID", "string:org.freedesktop.secrets",
        ],
        env=s.env, capture_output=True, text=True, timeout=10,
    )  # fmt: skip
    words = out.stdout.split()
    return int(words[-1]) if out.returncode == 0 and words and words[-1].isdigit() else None


@pytest.mark.parametrize("keyring", ["locked", "absent"])
def test_autostart_keyring_device_without_a_usable_keyring(
    desktop: DesktopSession, parsec_server: ParsecServer, org_name: str, tmp_path: Path, keyring: str
) -> None:
    """``locked``: gnome-keyring runs, its login keyring unlocked with a wrong
    password stays locked.  ``absent``: no keyring daemon and no keyring
    files (what D-Bus activation may start has no login keyring)."""
    s = desktop
    app = new_app(s, tmp_path)
    daemon = s.start_keyring(KEYRING_PASSWORD)
    try:
        made = create_org(app, parsec_server, org_name, keyring=True)
    finally:
        stop_process(daemon)
    assert [d["protection"] for d in devices(app)] == ["keyring"]
    keyrings = Path(s.env["XDG_DATA_HOME"]) / "keyrings"
    daemon = None
    if keyring == "locked":
        daemon = s.start_keyring("not-the-password", expect="locked")
    else:
        shutil.rmtree(keyrings)
    name = f"test_autostart_keyring_device_without_a_usable_keyring[{keyring}]"
    try:
        with running(app, name, "--autostart"):
            s.wait_tray_icon(TrayApp.CLASSNAME)
            wid = s.wait_dialog("^Log in", timeout=60)
            st = app.wait_status(lambda x: dialog(x, "login").get("error"), 10, "the banner's text")
            error = dialog(st, "login")["error"]
            assert error.startswith("Parsec Tray could not open this device without a prompt: ")
            assert "password-protected device" in error, error  # the way out that always exists
            if keyring == "locked":
                assert "The OS keyring is locked." in error and "Unlock the OS keyring" in error, error
            assert "Traceback" not in error and "Error(" not in error
            assert (
                "WARNING parsec_tray.tray.startup: quick login: the OS keyring did not open" in app.log_text()
            )
            time.sleep(0.3)
            s.screenshot("01-login-with-banner")
            assert red_pixels(s, wid) >= 20  # the banner is on screen, in the error colour
            assert st["state"] == "logged_out" and st["device_id"] is None
            assert "notified" not in st and s.notifications_shown() == []
            time.sleep(1.0)
            st = app.status()
            assert st["state"] == "logged_out" and dialog(st, "login")["open"] is True

            if keyring == "locked":
                # Do what the banner says: unlock the keyring, then Log in.
                stop_process(daemon)
                daemon = s.start_keyring(KEYRING_PASSWORD)
                s.key("Return")
                s.wait_window_gone("^Log in", timeout=60)
                st = app.wait_state("online", timeout=60)
                assert (st["organization_id"], st["device_id"]) == (org_name, made["device_id"])
    finally:
        if daemon is not None:
            stop_process(daemon)
        else:  # whatever D-Bus activated for the app: stopped by its PID
            pid = _secret_service_pid(s)
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)


# -- 3. the keyring check box of the Log in dialog ----------------------------------------------


def test_login_dialog_keyring_checkbox_then_autostart_without_prompt(
    desktop: DesktopSession, parsec_server: ParsecServer, org_name: str, tmp_path: Path
) -> None:
    s = desktop
    app = new_app(s, tmp_path)
    daemon = s.start_keyring(KEYRING_PASSWORD)
    name = "test_login_dialog_keyring_checkbox_then_autostart_without_prompt"
    try:
        made = create_org(app, parsec_server, org_name, keyring=False)
        assert [d["protection"] for d in devices(app)] == ["password"]
        with running(app, name):
            s.wait_tray_icon(TrayApp.CLASSNAME)
            app.wait_status(lambda x: menu_entry(app, "login") is not None, 30, "the login entry")
            app.pick(f"Log in to {org_name} as {USER}")
            s.wait_dialog("^Log in")
            s.type(PASSWORD)
            s.key("Tab")  # the password field, then the check box
            s.key("space")
            time.sleep(0.2)
            s.screenshot("01-login-keyring-checked")
            s.key("Return")
            s.wait_window_gone("^Log in", timeout=60)
            st = app.wait_state("online", timeout=60)
            assert (st["organization_id"], st["device_id"]) == (org_name, made["device_id"])
            listed = devices(app)
            assert [(d["device_id"], d["protection"]) for d in listed] == [(made["device_id"], "keyring")]
            time.sleep(0.5)  # a "could not keep the device" message would open now
            st = app.status()
            assert "message" not in st["dialogs"] and not s.search(name="^Log in")
            assert settings(app)["last_device"] == made["device_file"]

        # The next start at login: online, nothing to type, nothing shown.
        with running(app, name, "--autostart"):
            s.wait_tray_icon(TrayApp.CLASSNAME)
            st = app.wait_status(lambda x: x.get("stream") == "online", 60, "online, events stream open")
            assert st["state"] == "online" and st["device_id"] == made["device_id"]
            assert st["dialogs"] == {} and not s.search(name="^Log in")
            # (the first start said the device is at risk; this one does not again)
            assert "notified" not in st and not_at_risk(s.notifications_shown()) == []
    finally:
        stop_process(daemon)


# -- 4. Pending invitations -> Cancel ------------------------------------------------------------


def test_cancel_from_pending_invitations_is_not_notified(
    desktop: DesktopSession,
    parsec_server: ParsecServer,
    org_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from parsec_org import add_user
    from parsec_tray.core import api
    from parsec_tray.core import invitations as inv

    s = desktop
    app = new_app(s, tmp_path)
    daemon = s.start_keyring(KEYRING_PASSWORD)
    sessions: list[Any] = []
    name = "test_cancel_from_pending_invitations_is_not_notified"
    try:
        made = create_org(app, parsec_server, org_name, keyring=True)
        with running(app, name, "--autostart"):
            s.wait_tray_icon(TrayApp.CLASSNAME)
            app.wait_status(lambda x: x.get("stream") == "online", 60, "online, events stream open")

            # A second administrator, Bob, in this process.
            monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", s.env["DBUS_SESSION_BUS_ADDRESS"])
            monkeypatch.setenv("PARSEC_BASE_DATA_DIR", app.env["PARSEC_BASE_DATA_DIR"])
            alice = api.login(made["device_file"])  # the keyring opens it
            sessions.append(alice)
            bob = add_user(alice, "bob@example.com", "Bob")
            sessions.append(bob)
            inv.invite_new_user(bob, "carol@example.com")
            s.wait_notification(f"New invitation in {org_name}", "carol@example.com was invited.")
            inv.invite_new_user(bob, "dave@example.com")
            before = s.wait_notification(f"New invitation in {org_name}", "dave@example.com was invited.")
            pending = [i for i in inv.invite_list(bob) if i.is_pending]  # the order the dialog shows
            assert [str(i.claimer_email) for i in pending] == ["carol@example.com", "dave@example.com"]
            first, second = (bytes(i.token).hex() for i in pending)

            app.pick("Pending invitations…")
            s.wait_dialog("^Pending invitations")
            app.wait_status(lambda x: dialog(x, "invitations").get("rendered") == 2, 30, "the two rows")
            time.sleep(0.3)
            s.screenshot("01-pending-two")
            # Focus is on Close: Tab goes round to the first row's Copy link, then
            # its Delete invitation…, which asks first; Alt+D answers "Delete invitation".
            s.key("Tab", "Tab", "space")
            s.wait_dialog("^Delete invitation")
            s.screenshot("01b-delete-asks-first")
            s.key("alt+d")
            st = app.wait_status(lambda x: dialog(x, "invitations").get("rendered") == 1, 30, "one row left")
            assert dialog(st, "invitations")["count"] == 1
            time.sleep(0.3)
            s.screenshot("02-pending-one")

            # Cancelled on the server (read by another administrator), the other one kept.
            status = {bytes(i.token).hex(): i.status for i in inv.invite_list(bob)}
            assert (status[first], status[second]) == ("CANCELLED", "PENDING")
            listed = app.cli("invitations", "--all", "--json", "--device", made["device_file"])
            assert listed.returncode == 0, listed.stderr
            assert {r["token"]: r["status"] for r in json.loads(listed.stdout)} == status

            # Another administrator cancels the other one: that one is news.
            # Events arrive in order, so by the time it shows, our own cancel
            # would have been shown (or merged with it).
            inv.invite_cancel(bob, second)
            cancelled = (
                f"Invitation cancelled in {org_name}",
                "The invitation for dave@example.com was cancelled.",
            )
            s.wait_notification(*cancelled)
            time.sleep(1.5)  # the coalescer's window: anything held comes out now
            after = s.notifications_shown()
            assert after == [*before, cancelled], after
            assert not any("carol" in title + text for title, text in after[len(before) :])
            st = app.status()
            assert [n["body"] for n in st["notified"] if "cancelled" in n["title"]] == [cancelled[1]]
            app.wait_status(
                lambda x: dialog(x, "invitations").get("rendered") == 1, 5, "the dialog as it was"
            )
            s.key("Escape")
            s.wait_window_gone("^Pending invitations", timeout=10)
    finally:
        for session in sessions:
            session.close()
        stop_process(daemon)
