"""Log in from the menu to a keyring device: no dialog at all; when the
keyring cannot open it, a notification says why (read back from dunst) and
nothing opens by itself.  Xvfb, trayer, dunst, gnome-keyring and the real
Parsec server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import test_tray_live_e2e as live_e2e
from desktop_session import DesktopSession, TrayApp, stop_process, wait_until
from parsec_server import ParsecServer

pytestmark = [pytest.mark.desktop, pytest.mark.server, pytest.mark.timeout(300)]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "tray-keyring-menu-e2e"

desktop = live_e2e.desktop
ka_server = live_e2e.ka_server


def test_keyring_device_logs_in_from_the_menu_without_a_dialog(
    desktop: DesktopSession, ka_server: ParsecServer, org_name: str, tmp_path: Path
) -> None:
    s = desktop
    daemon = s.start_keyring("gk-menu")
    app = TrayApp(s, tmp_path / "app")
    app.create_org(
        ka_server.url, ka_server.admin_token, org_name, email="alice@example.com", user="Alice",
        device="desk", password=None,
    )  # fmt: skip
    with app.running(ARTIFACTS):
        s.wait_tray_icon(TrayApp.CLASSNAME)
        wait_until(lambda: any(e.get("action") == "login" for e in app.menu()), 30, "the Log in entry")
        app.pick(f"Log in to {org_name}", screenshot="01-menu-login")
        st = app.wait_status(lambda x: x["state"] == "online", 60, "online")
        assert st["dialogs"] == {} and not s.search(name="^Log in")
        app.pick("Log out")
        app.wait_state("logged_out", 30)

        # No keyring any more: said in a notification, nothing opens.
        stop_process(daemon)
        shutil.rmtree(Path(s.env["XDG_DATA_HOME"]) / "keyrings")
        app.pick(f"Log in to {org_name}")
        bodies = wait_until(
            lambda: [b for t, b in s.notifications_shown() if t == f"Log in to {org_name}"], 60, "the notification"
        )
        assert bodies[0].startswith(f"The OS keyring did not open your device of {org_name}: "), bodies
        assert "Traceback" not in bodies[0]
        st = app.status()
        assert st["state"] == "logged_out" and st["dialogs"] == {} and not s.search(name="^Log in")
