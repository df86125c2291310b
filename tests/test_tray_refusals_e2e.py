"""The server's refusals reach the person through the whole app, with real
parts: Xvfb, trayer, dunst, gnome-keyring, the real Parsec server behind a
loopback TCP proxy (which counts the app's connections), the app started
the way the autostart entry starts it.  Each refusal is provoked the way
the fact sheet's n.7 says (the administration API, ``user_revoke`` by an
administrator): its own state and menu text, exactly one notification
read back from dunst, no reconnect loop, coming back by itself (frozen,
expired), the terms of service reviewed and accepted from the menu, the
revoked device's file archived once the person chose to."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import test_tray_live_e2e as live_e2e
from atspi_client import Accessibility
from desktop_session import DesktopSession, TrayApp, wait_until
from parsec_org import add_user
from parsec_server import ParsecServer
from tcp_proxy import TCPProxy
from test_tray_e2e import RED, _icon_shows

# The same real parts as the live session's end-to-end tests (their fixtures).
desktop = live_e2e.desktop
ka_server = live_e2e.ka_server

pytestmark = [pytest.mark.desktop, pytest.mark.server, pytest.mark.timeout(300)]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "tray-refusals-e2e"
# The badges of two refusals' own icons (icons/make_icons.py's REFUSALS).
FROZEN, EXPIRED, INCOMPATIBLE = (30, 180, 230), (142, 68, 173), (150, 95, 40)
TOS = {"en_US": "https://example.invalid/tos_en.html", "fr_FR": "https://example.invalid/tos_fr.html"}


def session_of(app: TrayApp) -> dict[str, Any]:
    [s] = app.request({"cmd": "status"}, timeout=5)["sessions"]
    return dict(s)


def texts(app: TrayApp) -> list[str]:
    return [str(e.get("text")) for e in app.menu()]


def test_each_refusal_once_in_words_and_no_knocking(
    desktop: DesktopSession,
    ka_server: ParsecServer,
    org_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from parsec_tray.core import api, members
    from parsec_tray.core.addr import parse_server
    from parsec_tray.core.session import Session
    from parsec_tray.core.transport import Transport
    from parsec_tray.core.values import UserProfile

    s = desktop
    s.start_keyring("gk-refusals")
    opened = tmp_path / "browser-opened"
    org_path = f"/administration/organizations/{org_name}"
    sessions: list[Any] = []
    with TCPProxy(ka_server.port) as proxy:
        url = f"parsec3://127.0.0.1:{proxy.port}?no_ssl=true"
        app = TrayApp(
            s,
            tmp_path / "app",
            env={
                "PARSEC_TRAY_BACKOFF_MAX": "1",
                "PARSEC_TRAY_REFUSAL_RETRY": "1",
                # The "browser": writes the address it was given.
                "BROWSER": "sh -c " + shlex.quote(f"echo %s >> {opened}"),
            },
        )
        app.env.pop("NO_AT_BRIDGE", None)  # the terms dialog answers AT-SPI
        made = app.create_org(
            url, ka_server.admin_token, org_name, email="alice@example.com", user="Alice", device="desk",
            password=None,
        )  # fmt: skip
        device_file = Path(made["device_file"])
        with app.running(ARTIFACTS, "--autostart"):
            s.wait_tray_icon(TrayApp.CLASSNAME)
            app.wait_status(lambda x: x.get("stream") == "online", 60, "online, events stream open")

            def refused(kind: str, title: str) -> dict[str, Any]:
                wait_until(lambda: session_of(app).get("refusal") == kind, 30, f"the {kind} state")
                bodies = wait_until(
                    lambda: [b for t, b in s.notifications_shown() if t == title], 30, f"the notification {title!r}"
                )
                assert org_name in bodies[0]
                assert app.request({"cmd": "status"})["state"] == "needs_attention"
                return session_of(app)

            def once(title: str) -> None:
                shown = [t for t, _ in s.notifications_shown() if t == title]
                assert shown == [title], s.notifications_shown()

            # -- frozen: said once, retried slowly, back by itself.
            ka_server.admin(
                "POST", f"{org_path}/users/freeze", {"user_email": "alice@example.com", "frozen": True}
            )
            refused("frozen", f"Frozen in {org_name}")
            assert f"Frozen in {org_name}: contact an administrator" in texts(app)
            # Its own icon, read back from the tray host: the snowflake's badge, not the "!".
            assert app.request({"cmd": "status"})["icon_image"] == "refusal-frozen"
            wait_until(lambda: _icon_shows(s, FROZEN, absent=(RED, EXPIRED)), 10, "the frozen icon")
            s.screenshot("00-frozen-icon")
            assert "Check again" in texts(app)
            before = proxy.accepted
            st = wait_until(lambda: (x := session_of(app))["retries"] >= 3 and x, 60, "three slow retries")
            # One connection per retry (the stream's handshake), none between.
            assert proxy.accepted - before <= st["retries"] + 1, (proxy.accepted, before, st)
            once(f"Frozen in {org_name}")
            ka_server.admin(
                "POST", f"{org_path}/users/freeze", {"user_email": "alice@example.com", "frozen": False}
            )
            app.wait_status(lambda x: x.get("stream") == "online" and x["state"] == "online", 60, "unfrozen")
            assert "refusal" not in session_of(app)

            # -- the organization expired (the stream's reconnection says so).
            ka_server.admin("PATCH", org_path, {"is_expired": True})
            refused("expired", f"{org_name} has expired")
            assert f"{org_name} has expired: contact an administrator" in texts(app)
            assert app.request({"cmd": "status"})["icon_image"] == "refusal-expired"
            wait_until(lambda: _icon_shows(s, EXPIRED, absent=(RED, FROZEN)), 10, "the expired icon")
            ka_server.admin("PATCH", org_path, {"is_expired": False})
            app.wait_status(lambda x: x.get("stream") == "online" and x["state"] == "online", 60, "renewed")
            once(f"{org_name} has expired")

            # -- new terms of service: reviewed in the browser, accepted from the menu.
            ka_server.admin("PATCH", org_path, {"tos": TOS})
            refused("terms_of_service", f"New terms of service in {org_name}")
            assert f"New terms of service to accept for {org_name}" in texts(app)
            # The terms dialog (tests/test_tray_terms_e2e.py): its first link in the browser.
            app.request({"cmd": "action", "action": "review_tos", "arg": str(device_file)})
            s.wait_dialog("^Terms of service")
            app.wait_status(lambda x: (x["dialogs"].get("terms") or {}).get("shown"), 20, "the terms dialog")
            a11y = Accessibility(s.env)
            a11y.press("^Terms of service", "Terms of service (English)")
            wait_until(lambda: opened.exists() and opened.read_text().strip(), 30, "the browser opened")
            assert opened.read_text().split() == [TOS["en_US"]]
            a11y.press("^Terms of service", "Cancel")
            s.wait_window_gone("^Terms of service", timeout=20)
            app.pick("Accept the terms", screenshot="01-accept-the-terms")
            app.wait_status(lambda x: x.get("stream") == "online" and x["state"] == "online", 60, "accepted")
            once(f"New terms of service in {org_name}")
            ka_server.admin("PATCH", org_path, {"tos": None})  # Bob, to come, need not accept them

            # -- revoked by another administrator: the session ends, never retried.
            monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", s.env["DBUS_SESSION_BUS_ADDRESS"])
            monkeypatch.setenv("PARSEC_BASE_DATA_DIR", app.env["PARSEC_BASE_DATA_DIR"])
            direct = parse_server(ka_server.url)
            via_proxy = api.login(device_file)  # the keyring opens it
            sessions.append(via_proxy)
            alice = Session(via_proxy.device, transport=Transport(direct))
            sessions.append(alice)
            bob = Session(
                add_user(alice, "bob@example.com", "Bob", UserProfile.ADMIN).device, transport=Transport(direct)
            )
            sessions.append(bob)
            members.revoke_user(bob, alice.device.user_id, name="Alice")
            st = refused("revoked", f"Revoked from {org_name}")
            assert st["retries"] == 0 and f"Revoked from {org_name}" in texts(app)
            assert "Check again" not in texts(app) and "Remove this device…" in texts(app)
            assert device_file.exists()  # nothing archived before the person chose to
            app.pick("Remove this device…", screenshot="02-remove-this-device")
            archived = device_file.with_name(device_file.name + ".archived")
            wait_until(archived.exists, 30, "the archived device file")
            assert not device_file.exists()
            app.wait_state("logged_out", 30)
            wait_until(lambda: not any(t.startswith("Log in to") for t in texts(app)), 30, "no Log in entry")
            once(f"Revoked from {org_name}")
            for sess in sessions:
                sess.close()


def test_incompatible_server_through_the_real_server(
    desktop: DesktopSession, ka_server: ParsecServer, org_name: str, tmp_path: Path
) -> None:
    """The real server refuses an API version it does not speak (HTTP 422):
    a proxy plays a server upgraded to API 6.0 only, rewriting the version
    each request says (to one the real server refuses) and the versions its
    refusal names.  The tray's session says which versions each side speaks
    (state, menu, one notification, its own icon), and so does the CLI,
    with its exit status."""
    s = desktop
    s.start_keyring("gk-incompatible")
    with TCPProxy(ka_server.port) as proxy:
        url = f"parsec3://127.0.0.1:{proxy.port}?no_ssl=true"
        app = TrayApp(
            s, tmp_path / "app", env={"PARSEC_TRAY_BACKOFF_MAX": "1", "PARSEC_TRAY_REFUSAL_RETRY": "1"}
        )
        app.create_org(
            url, ka_server.admin_token, org_name, email="alice@example.com", user="Alice", device="desk",
            password=None,
        )  # fmt: skip
        with app.running(ARTIFACTS, "--autostart"):
            s.wait_tray_icon(TrayApp.CLASSNAME)
            app.wait_status(lambda x: x.get("stream") == "online", 60, "online, events stream open")
            proxy.rewrite(
                requests=((rb"Api-Version: 5\.5", b"Api-Version: 4.9"),),
                replies=((rb"Supported-Api-Versions: 5\.5", b"Supported-Api-Versions: 6.0"),),
            )
            proxy.kill_connections()  # the stream connects again, and is refused
            title = f"Server not compatible for {org_name}"
            wait_until(lambda: session_of(app).get("refusal") == "incompatible_server", 30, "the refusal")
            st = session_of(app)
            assert st["refusal_detail"] == "this app speaks API 5.5, the server 6.0", st
            assert st["retries"] == 0 and app.request({"cmd": "status"})["state"] == "needs_attention"
            bodies = wait_until(
                lambda: [b for t, b in s.notifications_shown() if t == title],
                30,
                f"the notification {title!r}",
            )
            assert "(this app speaks API 5.5, the server 6.0)" in bodies[0] and org_name in bodies[0]
            assert f"The server of {org_name} is not compatible" in texts(app)
            assert app.request({"cmd": "status"})["icon_image"] == "refusal-incompatible_server"
            wait_until(lambda: _icon_shows(s, INCOMPATIBLE, absent=(RED,)), 10, "the incompatible icon")
            s.screenshot("03-incompatible-server")

            # -- the CLI: the same refusal, its sentence and its own exit status.
            r = app.cli("invitations", "--json")
            assert r.returncode == 16, (r.returncode, r.stderr)
            line = r.stderr.strip()
            assert "Traceback" not in r.stderr and line.startswith("Error: "), line
            assert "the app speaks Parsec API 5.5, the server speaks 6.0" in line, line
            shown = [t for t, _ in s.notifications_shown() if t == title]
            assert shown == [title], s.notifications_shown()
