"""The terms of service dialog through the whole app (Xvfb, trayer, dunst,
gnome-keyring, the real Parsec server), driven through AT-SPI: the
organization's new terms put the session in its own state; Review the
terms of service… shows their links, the person's language first, each
opened in the browser; Accept needs the box ticked, sends ``tos_accept``
and the session is back online at once; newer terms then refused with
Refuse and log out end the session.  The person's language is French
there: the menu and the dialog speak it too."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import test_tray_live_e2e as live_e2e
from desktop_session import DesktopSession, TrayApp, wait_until
from parsec_server import ParsecServer
from test_tray_recovery_e2e import accessible_app

pytestmark = [pytest.mark.desktop, pytest.mark.server, pytest.mark.timeout(300)]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "tray-terms-e2e"
TOS = {"en_US": "https://example.invalid/tos_en.html", "fr_FR": "https://example.invalid/tos_fr.html"}
WIN = "^Conditions d'utilisation"  # the person's language is French (LANGUAGE)

desktop = live_e2e.desktop
ka_server = live_e2e.ka_server


def _session(app: TrayApp) -> dict[str, Any]:
    sessions = app.request({"cmd": "status"}, timeout=5)["sessions"]
    return dict(sessions[0]) if sessions else {}


def test_review_accept_then_refuse_the_terms(
    desktop: DesktopSession, ka_server: ParsecServer, org_name: str, tmp_path: Path
) -> None:
    s = desktop
    opened = tmp_path / "browser-opened"
    env = {
        "PARSEC_TRAY_BACKOFF_MAX": "1",
        "PARSEC_TRAY_REFUSAL_RETRY": "1",
        "LANGUAGE": "fr_FR",
        # The "browser": writes the address it was given.
        "BROWSER": "sh -c " + shlex.quote(f"echo %s >> {opened}"),
    }
    app, a11y, _made = accessible_app(s, ka_server, org_name, tmp_path, env=env)
    org_path = f"/administration/organizations/{org_name}"

    def terms_state() -> None:
        wait_until(lambda: _session(app).get("refusal") == "terms_of_service", 60, "the terms state")

    def review() -> None:
        app.pick("Lire les conditions d'utilisation")
        s.wait_dialog(WIN)
        app.wait_status(lambda x: (x["dialogs"].get("terms") or {}).get("shown"), 20, "the dialog shown")

    with app.running(ARTIFACTS / "run", "--autostart"):
        s.wait_tray_icon(TrayApp.CLASSNAME)
        app.wait_status(lambda x: x.get("stream") == "online", 60, "online, events stream open")
        ka_server.admin("PATCH", org_path, {"tos": TOS})
        terms_state()
        review()
        tree = a11y.tree(WIN)
        links = [n for n in tree if n["name"].startswith("Conditions d'utilisation (") and n["showing"]]
        names = [n["name"] for n in links]
        assert names == ["Conditions d'utilisation (Français)", "Conditions d'utilisation (English)"]
        assert any(n["name"] == "J'ai lu et j'accepte les conditions d'utilisation." for n in tree)
        s.screenshot("01-terms")

        # Each link in the browser.
        a11y.press(WIN, "Conditions d'utilisation (Français)", links[0]["role"])
        wait_until(lambda: opened.exists() and opened.read_text().strip(), 30, "the browser opened")
        assert opened.read_text().split() == [TOS["fr_FR"]]

        # Accept without the box: said, nothing sent.
        a11y.press(WIN, "Accepter")
        wait_until(
            lambda: any(n["name"] == "Cochez la case une fois les conditions lues." for n in a11y.tree(WIN)),
            10,
            "why not",
        )
        assert _session(app).get("refusal") == "terms_of_service"
        s.screenshot("02-not-ticked")
        a11y.press(WIN, "J'ai lu et j'accepte les conditions d'utilisation.", "check box")
        a11y.press(WIN, "Accepter")
        s.wait_window_gone(WIN, timeout=30)
        app.wait_status(lambda x: x.get("stream") == "online" and x["state"] == "online", 60, "accepted")
        assert "refusal" not in _session(app)

        # Newer terms, refused: the session ends.
        ka_server.admin("PATCH", org_path, {"tos": {"en_US": "https://example.invalid/tos_v2.html"}})
        terms_state()
        review()
        a11y.press(WIN, "Refuser et se déconnecter")
        s.wait_window_gone(WIN, timeout=30)
        app.wait_state("logged_out", 30)


def test_members_and_revoke_with_a_confirmation_naming_the_person(
    desktop: DesktopSession,
    ka_server: ParsecServer,
    org_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Members… lists the organization's users; an administrator's Revoke…
    asks first, naming the person, and the server then has them revoked."""
    from parsec_org import add_user
    from parsec_tray.core import api
    from parsec_tray.core.errors import UserRevokedError
    from parsec_tray.core.values import UserProfile

    s = desktop
    app, a11y, made = accessible_app(s, ka_server, org_name, tmp_path)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", s.env["DBUS_SESSION_BUS_ADDRESS"])
    monkeypatch.setenv("PARSEC_BASE_DATA_DIR", app.env["PARSEC_BASE_DATA_DIR"])
    alice = api.login(Path(made["device_file"]))  # the keyring opens it
    bob = add_user(alice, "bob@example.com", "Bob", UserProfile.STANDARD)
    win = f"^Members of {org_name}"
    try:
        with app.running(ARTIFACTS / "members", "--autostart"):
            s.wait_tray_icon(TrayApp.CLASSNAME)
            app.wait_state("online", 60)
            app.pick("Members")
            s.wait_dialog(win)
            app.wait_status(
                lambda x: (x["dialogs"].get("members") or {}).get("rendered") == 2, 30, "two rows"
            )
            tree = a11y.tree(win)
            labels = {n["name"] for n in tree if n["role"] == "label" and n["showing"]}
            assert {"Alice <alice@example.com>", "Bob <bob@example.com>"} <= labels
            assert any(t.startswith("Administrator, joined on ") and t.endswith(" · you") for t in labels)
            buttons = [n["name"] for n in tree if n["role"] == "push button" and n["showing"]]
            assert "Revoke Bob <bob@example.com>…" in buttons and not any("Alice" in b for b in buttons)
            s.screenshot("01-members")

            a11y.press(win, "Revoke Bob <bob@example.com>…")
            s.wait_window("^Revoke – ")
            s.screenshot("02-revoke-asked")
            a11y.press("^Revoke – ", "Keep")
            s.wait_window_gone("^Revoke – ", timeout=20)
            bob.ping()  # kept: still a member

            a11y.press(win, "Revoke Bob <bob@example.com>…")
            s.wait_window("^Revoke – ")
            a11y.press("^Revoke – ", "Revoke")
            wait_until(
                lambda: any(t.endswith(" · revoked on " + t[-10:]) for t in _labels(a11y, win)),
                30,
                "revoked shown",
            )
            with pytest.raises(UserRevokedError):  # the server's word
                bob.ping()
            assert "Revoke Bob <bob@example.com>…" not in [n["name"] for n in a11y.tree(win) if n["showing"]]
    finally:
        alice.close()
        bob.close()


def _labels(a11y: Any, win: str) -> list[str]:
    return [n["name"] for n in a11y.tree(win) if n["role"] == "label" and n["showing"]]
