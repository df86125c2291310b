"""The live session end to end, with real parts: Xvfb, a private D-Bus
session with trayer, dunst and a real Secret Service (gnome-keyring-daemon,
unlocked), the real Parsec server with a 2 s SSE keepalive, a loopback TCP
proxy between the app and the server, and the app started the way the
autostart entry starts it (``parsec-tray --autostart``).

What dunst showed is read back from dunst itself (``dunstctl history``).
Under ``CI=true`` nothing here is skipped: a missing component fails.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import require
from desktop_session import (
    DesktopSession,
    TrayApp,
    missing_desktop_tools,
    not_at_risk,
    stop_process,
    wait_until,
)
from parsec_org import add_user
from parsec_server import ParsecServer, free_port, have_parsec_server
from tcp_proxy import TCPProxy

pytestmark = [pytest.mark.desktop, pytest.mark.server, pytest.mark.timeout(300)]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "tray-live-e2e"
KEEPALIVE = 2
EMAIL = "alice@example.com"


@pytest.fixture(scope="module")
def ka_server() -> Iterator[ParsecServer]:
    """A real server whose SSE keepalive is 2 s (``PARSEC_SSE_KEEPALIVE``)."""
    require(have_parsec_server(), "parsec-cloud 3.9.3 (the reference server)")
    with ParsecServer(free_port(), env={"PARSEC_SSE_KEEPALIVE": str(KEEPALIVE)}) as server:
        yield server


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


def fast_status(app: TrayApp) -> dict[str, Any]:
    """The status straight from the instance socket (no CLI process start)."""
    return app.request({"cmd": "status"}, timeout=5)


def save_log(app: TrayApp, name: str) -> str:
    log = app.log_text()
    out = ARTIFACTS / name
    out.mkdir(parents=True, exist_ok=True)
    (out / "parsec-tray.log").write_text(log)
    return log


def create_keyring_org(app: TrayApp, server_url: str, org: str, admin_token: str) -> str:
    """A new organization, Alice's device protected by the OS keyring: its file."""
    made = app.create_org(
        server_url, admin_token, org, email=EMAIL, user="Alice", device="desk", password=None
    )
    return str(made["device_file"])


def test_autostart_keyring_login_notifications_and_a_cut(
    desktop: DesktopSession,
    ka_server: ParsecServer,
    org_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from parsec_tray.core import api
    from parsec_tray.core import invitations as inv
    from parsec_tray.core.addr import parse_server
    from parsec_tray.core.crypto import PrivateKey
    from parsec_tray.core.session import Session
    from parsec_tray.core.transport import Transport

    s = desktop
    keyring = s.start_keyring("gk-e2e")
    direct = parse_server(ka_server.url)
    sessions: list[Any] = []
    try:
        with TCPProxy(ka_server.port) as proxy:
            # The device's server is the proxy: everything the app sends goes through it.
            url = f"parsec3://127.0.0.1:{proxy.port}?no_ssl=true"
            # Reconnections after the cut retry within 1 s (the default caps at 30 s).
            app = TrayApp(s, tmp_path / "app", env={"PARSEC_TRAY_BACKOFF_MAX": "1"})
            device_file = create_keyring_org(app, url, org_name, ka_server.admin_token)

            # -- started at login: online without any prompt.
            app.start("--autostart")
            try:
                s.wait_tray_icon(TrayApp.CLASSNAME)
                st = app.wait_status(lambda x: x.get("stream") == "online", 60, "online, events stream open")
                assert st["state"] == "online" and st["organization_id"] == org_name and st["email"] == EMAIL
                assert st["dialogs"] == {} and not s.search(name="^Log in")
                assert st["profile"] == "ADMIN"
                texts = [e.get("text") for e in app.menu()]
                assert "Invite user…" in texts and "Pending invitations…" in texts

                # -- a second administrator, and a claimer, in this process,
                # talking to the server directly (not through the proxy).
                monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", s.env["DBUS_SESSION_BUS_ADDRESS"])
                monkeypatch.setenv("PARSEC_BASE_DATA_DIR", app.env["PARSEC_BASE_DATA_DIR"])
                alice_via_proxy = api.login(device_file)  # the keyring opens it: no password
                sessions.append(alice_via_proxy)
                alice = Session(alice_via_proxy.device, transport=Transport(direct))
                sessions.append(alice)
                bob = Session(add_user(alice, "bob@example.com", "Bob").device, transport=Transport(direct))
                sessions.append(bob)

                carol = inv.invite_new_user(bob, "carol@example.com")
                s.wait_notification(f"New invitation in {org_name}", "carol@example.com was invited.")

                claimer = inv.Claimer(carol.link, transport=Transport(direct))
                assert alice.device.user_id in claimer.info().greeters()
                attempt = claimer.start_greeting_attempt(alice.device.user_id)
                public_key = PrivateKey.generate().public_key.encode()
                waiting = (f"Waiting to join {org_name}", "carol@example.com is waiting to be greeted.")

                def polled() -> bool:
                    assert claimer.wait_peer(attempt, public_key) is None  # nobody greets yet
                    return waiting in s.notifications_shown()

                wait_until(polled, 30, "the 'is waiting' notification", interval=0.5)
                st = fast_status(app)
                assert st["waiting"] == ["carol@example.com"]
                assert "Greet carol@example.com (waiting)" in [e.get("text") for e in app.menu()]
                s.screenshot("01-waiting")

                def displayed() -> int:
                    return int(s.dunstctl("count", "displayed"))

                # The person stops waiting: the notification is withdrawn from the screen.
                s.dunstctl("history-pop")
                wait_until(lambda: displayed() == 1, 10, "the notification back on screen")
                claimer.cancel_greeting_attempt(attempt)
                wait_until(lambda: displayed() == 0, 30, "the notification withdrawn")
                assert ": notification withdrawn" in app.log_text()  # by the app (CloseNotification)
                assert fast_status(app)["waiting"] == []
                claimer.close()

                # -- Invite user… from the menu: the dialog shows the link; an
                # invitation of our own is not notified.
                app.pick("Invite user…", screenshot="02-menu-admin")
                s.wait_dialog("^Invite user")
                s.type("erin@example.com")
                s.key("Return")
                st = app.wait_status(
                    lambda x: (x.get("dialogs", {}).get("invite_user") or {}).get("result_shown"),
                    30,
                    "the invitation link",
                )
                assert "claim_user" not in json.dumps(st)  # the link is on the screen only
                time.sleep(0.3)
                s.screenshot("03-invite-link")
                s.key("Return")  # Close
                s.wait_window_gone("^Invite user", timeout=10)
                pending = {
                    str(i.claimer_email)
                    for i in inv.invite_list(bob)
                    if i.is_pending and hasattr(i, "claimer_email")
                }
                assert pending == {"carol@example.com", "erin@example.com"}

                app.pick("Pending invitations…")
                s.wait_dialog("^Pending invitations")
                app.wait_status(
                    lambda x: (x.get("dialogs", {}).get("invitations") or {}).get("rendered") == 2,
                    30,
                    "the list",
                )
                time.sleep(0.3)
                s.screenshot("04-pending-invitations")
                s.key("Escape")
                s.wait_window_gone("^Pending invitations", timeout=10)

                # -- a silent cut: offline within keepalive + 5 s, quietly.
                before_cut = s.notifications_shown()
                proxy.pause()
                t0 = time.monotonic()
                wait_until(lambda: fast_status(app)["state"] == "offline", 30, "offline", interval=0.1)
                elapsed = time.monotonic() - t0
                assert elapsed <= KEEPALIVE + 5 + 1, f"offline only after {elapsed:.1f} s"
                assert fast_status(app)["reason"]

                proxy.kill_connections()
                proxy.refuse()
                proxy.resume()
                dave = inv.invite_new_user(bob, "dave@example.com")  # while the app is cut off
                wait_until(lambda: proxy.accepted >= 3, 30, "a few refused reconnections")
                assert fast_status(app)["state"] == "offline"
                assert s.notifications_shown() == before_cut  # going offline is not a notification

                proxy.refuse(False)
                app.wait_state("online", timeout=40)
                created = (f"New invitation in {org_name}", "dave@example.com was invited.")
                s.wait_notification(*created)
                time.sleep(2 * KEEPALIVE)  # time for a duplicate to show up, if any
                after = s.notifications_shown()
                assert after.count(created) == 1, after
                assert after == [*before_cut, created], after  # and nothing about coming back
                assert dave.token.hex() not in json.dumps(after)
            finally:
                rc = app.stop()
                log = save_log(app, "test_autostart_keyring_login_notifications_and_a_cut")
            assert rc == 0, log[-3000:]
            assert "Traceback" not in log, log[-4000:]
    finally:
        for session in sessions:
            session.close()
        stop_process(keyring)


def test_start_at_login_menu_toggle(desktop: DesktopSession, tmp_path: Path) -> None:
    s = desktop
    app = TrayApp(s, tmp_path / "app").start()
    entry = Path(s.env["XDG_CONFIG_HOME"]) / "autostart" / "parsec-tray.desktop"
    try:
        s.wait_tray_icon(TrayApp.CLASSNAME)
        app.wait_state("logged_out", timeout=30)
        toggle = next(e for e in app.menu() if e.get("action") == "toggle_autostart")
        assert toggle["checked"] is False and not entry.exists()

        app.pick("Start at login", screenshot="01-menu-autostart-off")
        wait_until(entry.exists, 15, "the autostart entry")
        exec_line = next(line for line in entry.read_text().splitlines() if line.startswith("Exec="))
        assert exec_line.endswith(" -m parsec_tray --autostart"), exec_line
        wait_until(
            lambda: next(e for e in app.menu() if e.get("action") == "toggle_autostart")["checked"],
            10,
            "the entry checked",
        )
        assert fast_status(app)["autostart"] is True

        app.pick("Start at login", screenshot="02-menu-autostart-on")
        wait_until(lambda: not entry.exists(), 15, "the autostart entry removed")
        wait_until(lambda: fast_status(app)["autostart"] is False, 10, "autostart off in the status")
    finally:
        rc = app.stop()
        log = save_log(app, "test_start_at_login_menu_toggle")
    assert rc == 0, log[-3000:]
    assert "Traceback" not in log, log[-4000:]


def test_two_organizations_at_once(
    tmp_path: Path,
    desktop: DesktopSession,
    ka_server: ParsecServer,
    org_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two keyring devices of two organizations logged in at once, from the
    menu; an invitation in the second is notified naming it while the first
    stays online; logging out of one leaves the other; Quit logs out of all
    and ``--autostart`` brings both back."""
    from parsec_tray.core import api
    from parsec_tray.core import invitations as inv

    s = desktop
    keyring = s.start_keyring("gk-e2e")
    orgs = (f"Work{org_name}"[:32], f"Club{org_name}"[:32])
    app = TrayApp(s, tmp_path / "app", env={"PARSEC_TRAY_CONFIG_DIR": str(tmp_path / "tray-config")})
    sessions: list[Any] = []
    name = "test_two_organizations_at_once"

    def by_org(st: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {x["organization_id"]: x for x in st["sessions"]}

    def both_online(st: dict[str, Any]) -> bool:
        seen = by_org(st)
        return all((seen.get(o) or {}).get("stream") == "online" for o in orgs) and st["state"] == "online"

    try:
        files = [create_keyring_org(app, ka_server.url, org, ka_server.admin_token) for org in orgs]

        with app.running(ARTIFACTS / name):
            s.wait_tray_icon(TrayApp.CLASSNAME)
            for i, org in enumerate(orgs):
                entry = f"Log in to {org} as Alice"
                app.wait_status(
                    lambda x, entry=entry: any(e.get("text", "").startswith(entry) for e in app.menu()),
                    30,
                    f"the entry {entry!r}",
                )
                app.pick(entry, screenshot=f"0{i + 1}-menu-before-login-{i + 1}")
                # A keyring device: logged in with no dialog at all.
                app.wait_status(
                    lambda x, org=org: (by_org(x).get(org) or {}).get("stream") == "online",
                    60,
                    f"{org} online",
                )
                assert app.request({"cmd": "status"})["dialogs"] == {} and not s.search(name="^Log in")
            st = app.wait_status(both_online, 60, "both organizations online")
            # The top-level fields are the most recently used session's.
            assert st["organization_id"] == orgs[1] and st["email"] == EMAIL
            assert [x["organization_id"] for x in st["sessions"]] == list(orgs)
            assert {x["device_id"] for x in st["sessions"]} == {Path(f).stem for f in files}
            texts = [e.get("text") for e in app.menu()]
            assert f"{orgs[0]}: Alice" in texts and f"{orgs[1]}: Alice" in texts
            assert not [t for t in texts if t and t.startswith("Log in to")]  # both are logged in
            s.open_tray_menu(TrayApp.CLASSNAME)
            s.screenshot("03-menu-two-sessions")
            s.key("Escape")

            # -- another administrator of the second organization invites someone.
            monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", s.env["DBUS_SESSION_BUS_ADDRESS"])
            monkeypatch.setenv("PARSEC_BASE_DATA_DIR", app.env["PARSEC_BASE_DATA_DIR"])
            alice_b = api.login(files[1])  # the keyring opens it: no password
            sessions.append(alice_b)
            bob = add_user(alice_b, "bob@example.com", "Bob")
            sessions.append(bob)
            inv.invite_new_user(bob, "carol@example.com")
            s.wait_notification(f"New invitation in {orgs[1]}", "carol@example.com was invited.")
            st = fast_status(app)
            assert [(x["organization_id"], x["state"]) for x in st["sessions"]] == [
                (orgs[0], "online"),
                (orgs[1], "online"),
            ]
            assert not_at_risk(s.notifications_shown()) == [
                (f"New invitation in {orgs[1]}", "carol@example.com was invited.")
            ]

            # -- log out of the second: the first stays online.
            app.pick("Log out", arg=files[1], screenshot="04-menu-logout-second")
            app.wait_status(lambda x: len(x["sessions"]) == 1, 15, "one session left")
            st = fast_status(app)
            assert [(x["organization_id"], x["state"]) for x in st["sessions"]] == [(orgs[0], "online")]
            assert st["state"] == "online" and st["organization_id"] == orgs[0]
            assert (by_org(st)[orgs[0]]).get("stream") == "online"

            # -- ... and back in; then Quit from the menu logs out of both.
            app.pick(f"Log in to {orgs[1]} as Alice")  # no dialog
            app.wait_status(both_online, 60, "both organizations online again")
            app.pick("Quit")
            assert app.proc is not None and app.proc.wait(20) == 0
        # Quit logged out of both, and the settings still name them for --autostart.
        saved = json.loads((tmp_path / "tray-config" / "settings.json").read_text())
        assert saved["logged_in"] == files and saved["last_device"] == files[1]

        # -- started at login: both back, without a prompt.
        with app.running(ARTIFACTS / f"{name}-autostart", "--autostart"):
            s.wait_tray_icon(TrayApp.CLASSNAME)
            st = app.wait_status(both_online, 60, "both organizations online after --autostart")
            assert st["organization_id"] == orgs[1]  # the last one used is the current one again
            assert st["dialogs"] == {} and not s.search(name="^Log in")
    finally:
        for session in sessions:
            session.close()
        stop_process(keyring)
