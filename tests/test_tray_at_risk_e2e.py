""""At risk" through the whole app (Xvfb, trayer, dunst, gnome-keyring, the
real Parsec server): while logged in to the only device of a user with no
recovery file, the icon shows attention and the session's menu says so
with the entries that end it; one notification, not repeated at the next
start; the state clears by itself when a recovery file is made (the
server's COMMON_CERTIFICATE event)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import test_tray_live_e2e as live_e2e
from desktop_session import DesktopSession, TrayApp, wait_until
from parsec_server import ParsecServer
from test_tray_e2e import BLUE, GREEN, RED, _icon_shows

pytestmark = [pytest.mark.desktop, pytest.mark.server, pytest.mark.timeout(300)]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "tray-at-risk-e2e"

desktop = live_e2e.desktop
ka_server = live_e2e.ka_server


def session_of(app: TrayApp) -> dict[str, Any]:
    [s] = app.request({"cmd": "status"}, timeout=5)["sessions"]
    return dict(s)


def test_at_risk_shown_once_and_cleared_by_a_recovery_file(
    desktop: DesktopSession, ka_server: ParsecServer, org_name: str, tmp_path: Path
) -> None:
    s = desktop
    s.start_keyring("gk-risk")
    settings = tmp_path / "tray-config" / "settings.json"
    app = TrayApp(s, tmp_path / "app", env={"PARSEC_TRAY_CONFIG_DIR": str(settings.parent)})
    made = app.create_org(
        ka_server.url, ka_server.admin_token, org_name, email="alice@example.com", user="Alice",
        device="desk", password=None,
    )  # fmt: skip
    warning = f"Only this computer can open {org_name}: create a recovery file or add a device"
    title = f"Only this computer can open {org_name}"

    def at_risk_online(app: TrayApp) -> dict[str, Any]:
        return app.wait_status(
            lambda x: x["state"] == "online" and bool(x["sessions"]) and x["sessions"][0].get("at_risk"),
            60,
            "online and at risk",
        )

    with app.running(ARTIFACTS / "first", "--autostart"):
        s.wait_tray_icon(TrayApp.CLASSNAME)
        st = at_risk_online(app)
        assert st["icon"] == "needs_attention"
        wait_until(lambda: _icon_shows(s, RED), 10, "the attention icon")
        texts = [e.get("text") for e in app.menu()]
        i = texts.index(warning)
        assert texts[i + 1 : i + 3] == ["Create a recovery file…", "Add a device…"]
        wait_until(lambda: title in [t for t, _ in s.notifications_shown()], 30, "the at-risk notification")
        assert json.loads(settings.read_text())["at_risk_notified"] == [made["device_file"]]

    # The next start: still at risk, said in the menu, not notified again.
    with app.running(ARTIFACTS / "second", "--autostart"):
        s.wait_tray_icon(TrayApp.CLASSNAME)
        at_risk_online(app)
        app.wait_status(lambda x: x.get("stream") == "online", 60, "the events stream open")
        # A recovery file: the server announces its certificate, the risk is gone.
        out = app.cli(
            "export-recovery", "--device", made["device_file"], "--output", str(tmp_path / "r.psrk"), "--json"
        )
        assert out.returncode == 0, out.stderr
        st = app.wait_status(
            lambda x: x["state"] == "online" and not x["sessions"][0].get("at_risk"), 60, "no longer at risk"
        )
        assert st["icon"] == "online" and warning not in [e.get("text") for e in app.menu()]
        wait_until(lambda: _icon_shows(s, BLUE, GREEN), 10, "the online icon")
        assert [t for t, _ in s.notifications_shown()].count(title) == 1
        assert json.loads(settings.read_text())["at_risk_notified"] == []
