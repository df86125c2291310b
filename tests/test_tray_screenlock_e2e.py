"""Log out when the screen locks, through the whole app: Xvfb, trayer,
dunst, gnome-keyring, the real Parsec server, and a stand-in screensaver
that owns ``org.freedesktop.ScreenSaver`` on the desktop's session bus and
emits ``ActiveChanged`` (test_screenlock.py's :class:`Locker`).  Off by
default; the checkable entry turns it on (remembered in the settings);
locking logs out of every session, unlocking logs in again to the keyring
device with no dialog and offers "Click to log in" for the password one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import test_tray_live_e2e as live_e2e
from desktop_session import DesktopSession, TrayApp, wait_until
from parsec_org import PASSWORD
from parsec_server import ParsecServer
from test_screenlock import FDO, Locker

pytestmark = [pytest.mark.desktop, pytest.mark.server, pytest.mark.timeout(300)]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "tray-screenlock-e2e"

desktop = live_e2e.desktop
ka_server = live_e2e.ka_server


def lock_entry(app: TrayApp) -> dict[str, Any]:
    return next(e for e in app.menu() if e.get("action") == "toggle_logout_on_lock")


def test_lock_logs_out_and_unlock_logs_in_again(
    desktop: DesktopSession, ka_server: ParsecServer, org_name: str, tmp_path: Path
) -> None:
    s = desktop
    s.start_keyring("gk-lock")
    settings_dir = tmp_path / "tray-config"
    app = TrayApp(
        s, tmp_path / "app", env={"PARSEC_TRAY_SCREENLOCK": "freedesktop", "PARSEC_TRAY_CONFIG_DIR": str(settings_dir)}
    )
    keyring_org, password_org = f"{org_name}K", f"{org_name}P"
    keyring_device = app.create_org(
        ka_server.url, ka_server.admin_token, keyring_org, email="alice@example.com", user="Alice",
        device="desk", password=None,
    )  # fmt: skip
    app.create_org(
        ka_server.url, ka_server.admin_token, password_org, email="bob@example.com", user="Bob",
        device="desk", password=PASSWORD,
    )  # fmt: skip
    # The keyring device was logged in at the last quit: --autostart opens it.
    settings_dir.mkdir()
    (settings_dir / "settings.json").write_text(json.dumps({"logged_in": [keyring_device["device_file"]]}))
    locker = Locker(s.env["DBUS_SESSION_BUS_ADDRESS"], FDO)
    try:
        with app.running(ARTIFACTS, "--autostart"):
            s.wait_tray_icon(TrayApp.CLASSNAME)
            wait_until(lambda: lock_entry(app)["checked"] is False, 30, "the entry, off by default")
            app.wait_status(lambda x: x["state"] == "online", 60, "the keyring device online")

            # Both logged in: the keyring one by --autostart, the password one through its dialog.
            app.pick(f"Log in to {password_org}")
            s.wait_dialog("^Log in")
            s.type(PASSWORD)
            s.key("Return")
            app.wait_status(lambda x: len(x["sessions"]) == 2 and x["state"] == "online", 60, "two sessions")

            app.pick("Log out when the screen locks", screenshot="01-menu-lock-option")
            wait_until(lambda: lock_entry(app)["checked"] is True, 30, "the entry checked")
            assert json.loads((settings_dir / "settings.json").read_text())["logout_on_lock"] is True

            locker.emit(True)
            app.wait_status(lambda x: x["state"] == "logged_out" and x["sessions"] == [], 30, "logged out")
            locker.emit(False)
            st = app.wait_status(
                lambda x: [v["organization_id"] for v in x["sessions"]] == [keyring_org]
                and x["state"] == "online",
                60,
                "the keyring device back",
            )
            assert not any(d["open"] for d in st["dialogs"].values()), st["dialogs"]  # no prompt
            s.wait_notification("Parsec Tray", f"Click to log in to {password_org} as Bob.")
    finally:
        locker.close()
