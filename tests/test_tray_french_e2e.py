"""The tray in French end to end, with real parts: Xvfb, a private D-Bus
session with trayer, dunst and gnome-keyring, the real Parsec server, and
the app started with ``LANG=fr_FR.UTF-8`` the way the autostart entry
starts it.

Read back, not assumed: the menu from the running app, the notifications
from dunst itself (``dunstctl history``), a GTK dialog's accessible names
through AT-SPI (the dialog is a child process: it must pick the language
up from the same environment), and a CLI error.  The suite pins English
(tests/conftest.py sets ``LANGUAGE=en``), so this app gets ``LANGUAGE``
too: gettext reads it first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import test_tray_live_e2e as live_e2e
from atspi_client import Accessibility
from desktop_session import DesktopSession, TrayApp
from parsec_org import add_user
from parsec_server import ParsecServer

# The real parts of the live session's end-to-end tests (their fixtures).
desktop = live_e2e.desktop
ka_server = live_e2e.ka_server

pytestmark = [pytest.mark.desktop, pytest.mark.server, pytest.mark.timeout(300)]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "tray-french-e2e"
FRENCH = {"LANGUAGE": "fr", "LANG": "fr_FR.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}


def texts(app: TrayApp) -> list[str]:
    return [str(e.get("text")) for e in app.menu() if not e.get("separator")]


def test_menu_notifications_dialog_and_cli_in_french(
    desktop: DesktopSession,
    ka_server: ParsecServer,
    org_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from parsec_tray.core import api
    from parsec_tray.core import invitations as inv
    from parsec_tray.core.addr import parse_server
    from parsec_tray.core.session import Session
    from parsec_tray.core.transport import Transport

    s = desktop
    s.start_keyring("gk-french")
    app = TrayApp(s, tmp_path / "app", env=FRENCH)
    app.env.pop("NO_AT_BRIDGE", None)  # its dialogs answer AT-SPI
    made = app.create_org(
        ka_server.url, ka_server.admin_token, org_name, email="alice@example.com", user="Alice",
        device="desk", password=None,
    )  # fmt: skip
    sessions: list[Any] = []
    try:
        with app.running(ARTIFACTS, "--autostart"):
            s.wait_tray_icon(TrayApp.CLASSNAME)
            app.wait_status(lambda x: x.get("stream") == "online", 60, "online, events stream open")

            # -- the menu, as the running app builds it.
            menu = texts(app)
            assert menu[:2] == [f"{org_name} : Alice", "En ligne"], menu
            for entry in (
                "Inviter un utilisateur…",
                "Invitations en attente…",
                "Membres…",
                "Se déconnecter",
                "Créer une organisation…",
                "Rejoindre une organisation…",
                "Quitter",
            ):
                assert entry in menu, (entry, menu)
            assert not [t for t in menu if t in ("Log out", "Quit", "Online")], menu

            # -- notifications, read back from dunst: the lone device's risk,
            # then an invitation another administrator creates.
            s.wait_notification(
                f"Seul cet ordinateur peut ouvrir {org_name}",
                f"Si les clés de cet ordinateur sont perdues, {org_name} ne pourra plus être ouverte. "
                "Créez un fichier de récupération ou ajoutez un appareil depuis le menu de Parsec Tray.",
            )
            monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", s.env["DBUS_SESSION_BUS_ADDRESS"])
            monkeypatch.setenv("PARSEC_BASE_DATA_DIR", app.env["PARSEC_BASE_DATA_DIR"])
            alice = api.login(made["device_file"])  # the keyring opens it
            sessions.append(alice)
            bob = Session(
                add_user(alice, "bob@example.com", "Bob").device,
                transport=Transport(parse_server(ka_server.url)),
            )
            sessions.append(bob)
            inv.invite_new_user(bob, "carol@example.com")
            s.wait_notification(f"Nouvelle invitation dans {org_name}", "carol@example.com a été invité(e).")
            s.screenshot("01-notification")

            # -- a GTK dialog (its own process), read through AT-SPI.
            app.request({"cmd": "action", "action": "invite_user", "arg": made["device_file"]})
            s.wait_dialog("^Inviter un utilisateur")
            app.wait_status(lambda x: (x["dialogs"].get("invite_user") or {}).get("shown"), 20, "the dialog")
            tree = Accessibility(s.env).tree("^Inviter un utilisateur")
            names = {(n["role"], n["name"]) for n in tree if n["showing"]}
            for control in (
                ("text", "Adresse email"),
                ("check box", "Envoyer l'invitation par email"),
                ("push button", "Annuler"),
                ("push button", "Inviter"),
            ):
                assert control in names, (control, sorted(names))
            assert ("frame", "Inviter un utilisateur – Parsec Tray") in names, sorted(names)
            s.screenshot("02-invite-dialog")
            s.key("Escape")
            s.wait_window_gone("^Inviter un utilisateur", timeout=20)
    finally:
        for session in sessions:
            session.close()

    # -- a CLI error, in the same environment.
    r = app.cli("bootstrap", "parsec3://localhost/Org", "--email", "a@example.com", "--user-name", "A",
                "--device-label", "L")  # fmt: skip
    assert r.returncode == 1
    assert r.stderr == "Erreur : Il manque au lien le paramètre 'a'.\n"
