"""End to end, with real parts: Xvfb, a private D-Bus session, a real XEMBED
tray host (trayer), the real Parsec server (parsec-cloud 3.9.3), and the app
driven like a person drives it (right click, arrow keys, typing).

Screenshots of the menus and dialogs go to ``test-artifacts/tray-e2e/``.
Under ``CI=true`` nothing here is skipped: a missing component fails.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import require
from desktop_session import DesktopSession, TrayApp, missing_desktop_tools, wait_until
from parsec_server import ParsecServer

pytestmark = [pytest.mark.desktop, pytest.mark.server, pytest.mark.timeout(300)]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "tray-e2e"
PASSWORD = "correct horse battery"
EMAIL = "alice@example.com"
USER = "Alice Martin"
DEVICE = "laptop-e2e"


@pytest.fixture
def desktop(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[DesktopSession]:
    missing = missing_desktop_tools()
    require(not missing, "the desktop test tools (" + ", ".join(missing) + ")")
    shots = ARTIFACTS / request.node.name
    with DesktopSession(tmp_path / "desktop", artifacts=shots) as session:
        session.prime_gtk()
        yield session


@pytest.fixture
def app(desktop: DesktopSession, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[TrayApp]:
    tray = TrayApp(desktop, tmp_path / "app")
    yield tray
    rc = tray.stop()
    log = tray.log_text()
    out = ARTIFACTS / request.node.name
    out.mkdir(parents=True, exist_ok=True)
    (out / "parsec-tray.log").write_text(log)
    assert "Traceback" not in log, log[-4000:]
    assert rc in (0, None), f"parsec-tray exited with {rc}:\n{log[-4000:]}"


SLATE, BLUE, GREEN, GREY = (104, 120, 142), (0, 112, 220), (46, 170, 80), (140, 140, 140)
RED = (214, 48, 49)  # needs attention (icons/make_icons.py)


def _count(img: Any, rgb: tuple[int, int, int], tol: int = 30) -> int:
    px = img.load()
    return sum(
        1
        for x in range(img.width)
        for y in range(img.height)
        if all(abs(a - b) <= tol for a, b in zip(px[x, y], rgb, strict=True))
    )


def _icon_shows(
    s: DesktopSession, *present: tuple[int, int, int], absent: tuple[tuple[int, int, int], ...] = ()
) -> bool:
    """The icon in the tray host shows these colours (a few pixels each)."""
    img = s.grab(s.wait_tray_icon(TrayApp.CLASSNAME))
    return all(_count(img, c) >= 3 for c in present) and all(_count(img, c) == 0 for c in absent)


def _dialog(st: dict[str, Any], kind: str) -> dict[str, Any]:
    """What ``status`` says about dialog ``kind`` (empty when none was opened)."""
    return dict(st.get("dialogs", {}).get(kind) or {})


def _create_step1(s: DesktopSession, app: TrayApp, org: str, server: str, admin_token: str | None) -> None:
    """Step 1 of Create organization: email, name, server; Next asks the
    server how it creates organizations, and only a server that does not
    create them on request has the administration token asked."""
    _type_fields(s, EMAIL, org, server)
    s.key("Return")
    if admin_token is not None:
        app.wait_status(
            lambda x: "admin_token" in _dialog(x, "create").get("invalid", []), 30, "the token asked for"
        )
        s.screenshot("02b-create-administrator-part")
        s.type(admin_token)  # the token field has the focus
        s.key("Return")
    app.wait_status(lambda x: _dialog(x, "create").get("step") == 2, 30, "step 2 of the dialog")


def _create_ready(s: DesktopSession, app: TrayApp, org: str) -> None:
    """The last page says the organization is ready; Return closes it."""
    app.wait_status(lambda x: _dialog(x, "create").get("organization") == org, 120, "the last page")
    s.screenshot("06-create-ready")
    s.key("Return")  # Close, the default button
    s.wait_window_gone("^Create organization", timeout=20)


def _type_fields(s: DesktopSession, *values: str) -> None:
    """Type into consecutive fields (Tab between), starting at the focused one."""
    for i, value in enumerate(values):
        if i:
            s.key("Tab")
        s.type(value)


def test_create_organization_logout_login(
    desktop: DesktopSession, app: TrayApp, parsec_server: ParsecServer, org_name: str
) -> None:
    s = desktop
    app.start()
    s.wait_tray_icon(TrayApp.CLASSNAME)
    st = app.wait_state("logged_out", timeout=30)
    assert st["backend"] == "gtk" and st["_exit_status"] == 0
    # The icon reflects the state: slate padlock, no badge.
    wait_until(lambda: _icon_shows(s, SLATE, absent=(BLUE, GREEN)), 10, "the logged-out icon")

    # -- Create organization, step 1 then step 2, typed in the dialog.
    app.pick("Create organization", screenshot="01-menu-logged-out")
    s.wait_dialog("^Create organization")
    s.screenshot("02-create-step1")
    _create_step1(s, app, org_name, parsec_server.url, parsec_server.admin_token)
    s.screenshot("03-create-step2")
    _type_fields(s, USER, DEVICE, PASSWORD, PASSWORD)
    s.screenshot("04-create-step2-filled")
    s.key("Return")
    app.wait_status(
        lambda x: _dialog(x, "create").get("busy") or _dialog(x, "create").get("done"), 20, "busy"
    )
    s.screenshot("05-create-busy")
    _create_ready(s, app, org_name)

    st = app.wait_state("online", timeout=30)
    assert st["organization_id"] == org_name
    assert st["server_url"] == parsec_server.url
    assert st["user_name"] == USER and st["email"] == EMAIL and st["device_label"] == DEVICE
    device_id = st["device_id"]
    # Online, but the only device of a user without a recovery file: at risk.
    assert st["icon"] == "needs_attention"
    wait_until(lambda: _icon_shows(s, RED), 10, "the attention icon (at risk)")

    # The server (administration API) has the organization bootstrapped, with us.
    assert parsec_server.organization(org_name)["is_bootstrapped"] is True
    users = parsec_server.users(org_name)
    assert [(u["user_id"], u["user_email"], u["user_name"]) for u in users] == [(st["user_id"], EMAIL, USER)]
    # The device file exists where core (and the official client) look.
    device_file = app.devices_dir / f"{device_id}.keys"
    assert device_file.is_file()

    # -- Log out.
    app.wait_status(lambda x: app.menu_index("Log out") > 0, timeout=10)
    app.pick("Log out", screenshot="06-menu-online")
    st = app.wait_state("logged_out", timeout=15)
    assert st["device_id"] is None

    # -- Log in with a wrong password: error shown in the dialog, nothing changed.
    login_entry = f"Log in to {org_name} as {USER}"
    app.wait_status(
        lambda x: any(e.get("text", "").startswith(login_entry) for e in app.menu()), 30, "the login entry"
    )
    app.pick(login_entry, screenshot="07-menu-logged-out-with-device")
    s.wait_dialog("^Log in")
    s.screenshot("08-login")
    s.type("not the password")
    s.key("Return")
    st = app.wait_status(
        lambda x: (x.get("dialogs", {}).get("login") or {}).get("error"), 60, "the login error"
    )
    time.sleep(0.3)
    s.screenshot("09-login-wrong-password")
    login = st["dialogs"]["login"]
    assert login["error_type"] == "WrongPasswordError" and login["field"] == "password"
    assert login["open"] is True and s.search(name="^Log in")
    assert st["state"] == "logged_out" and st["device_id"] is None
    assert device_file.is_file()

    # -- ... then with the right one (the dialog cleared and focused the field).
    s.type(PASSWORD)
    s.key("Return")
    s.wait_window_gone("^Log in", timeout=60)
    st = app.wait_state("online", timeout=30)
    assert (st["organization_id"], st["device_id"]) == (org_name, device_id)
    s.open_tray_menu(TrayApp.CLASSNAME)
    s.screenshot("10-menu-online-again")
    s.key("Escape")

    # -- Quit from the menu: the process ends, and status says so.
    app.pick("Quit")
    assert app.proc is not None
    assert app.proc.wait(20) == 0
    st = app.status()
    assert st["_exit_status"] == 3 and st["running"] is False


def test_join_link_handed_to_running_instance(
    desktop: DesktopSession, app: TrayApp, parsec_server: ParsecServer, org_name: str
) -> None:
    """A second launch with a parsec3:// link hands it to the running app,
    which opens Join organization with the link filled in."""
    s = desktop
    link = parsec_server.create_organization(org_name)
    app.start()
    s.wait_tray_icon(TrayApp.CLASSNAME)
    app.wait_state("logged_out", timeout=30)

    second = app.cli(link, timeout=30)
    assert second.returncode == 0, second.stderr
    assert "already running" in second.stderr

    s.wait_dialog("^Join organization")
    s.screenshot("01-join-step1-link-filled")
    # The link is valid, so the email field has the focus.
    s.type("bob@example.com")
    s.key("Return")
    app.wait_status(lambda x: _dialog(x, "join").get("step") == 2, 20, "step 2 of the dialog")
    _type_fields(s, "Bob", "desk", PASSWORD, PASSWORD)
    s.screenshot("02-join-step2")
    s.key("Return")
    s.wait_window_gone("^Join organization", timeout=120)

    st = app.wait_state("online", timeout=30)
    assert st["organization_id"] == org_name and st["email"] == "bob@example.com"
    assert parsec_server.organization(org_name)["is_bootstrapped"] is True
    assert [u["user_email"] for u in parsec_server.users(org_name)] == ["bob@example.com"]
    assert (app.devices_dir / f"{st['device_id']}.keys").is_file()


def test_appindicator_backend_falls_back_to_xembed(desktop: DesktopSession, tmp_path: Path) -> None:
    """The appindicator backend (chosen where a StatusNotifierItem host
    exists) still works with only an XEMBED host: libayatana embeds it."""
    app = TrayApp(desktop, tmp_path / "ai", env={"PARSEC_TRAY_BACKEND": "appindicator"}).start()
    try:
        desktop.wait_tray_icon(TrayApp.CLASSNAME)
        assert app.wait_state("logged_out", timeout=30)["backend"] == "appindicator"
        app.pick("Create organization", screenshot="01-appindicator-menu")
        desktop.wait_dialog("^Create organization")
        desktop.key("Escape")
        desktop.wait_window_gone("^Create organization", timeout=10)
    finally:
        rc = app.stop()
    assert rc == 0, app.log_text()[-3000:]
    assert "Traceback" not in app.log_text()


def test_demo(desktop: DesktopSession, tmp_path: Path) -> None:
    """``parsec-tray demo``: a real server on loopback, the tray pointed at it:
    Create organization needs only the email, the name and step 2."""
    app = TrayApp(desktop, tmp_path / "demo").start("demo")
    s = desktop
    s.wait_tray_icon(TrayApp.CLASSNAME, timeout=90)
    st = app.wait_state("logged_out", timeout=60)
    demo_url = st["demo_server"]
    assert demo_url.startswith("parsec3://127.0.0.1:") and demo_url.endswith("?no_ssl=true")
    assert any(e.get("text") == f"Demo server: {demo_url}" for e in app.menu())
    assert not any(e.get("action") == "toggle_autostart" for e in app.menu())  # a demo is not started at login

    app.pick("Create organization", screenshot="01-demo-menu")
    s.wait_dialog("^Create organization")
    s.screenshot("02-demo-create-prefilled")
    s.type(EMAIL)
    s.key("Tab")
    s.type("DemoOrg")
    s.key("Return")  # the server is filled in already, and asks for no token
    app.wait_status(lambda x: _dialog(x, "create").get("step") == 2, 30, "step 2 of the dialog")
    _type_fields(s, USER, DEVICE, PASSWORD, PASSWORD)
    s.key("Return")
    _create_ready(s, app, "DemoOrg")
    st = app.wait_state("online", timeout=30)
    assert st["server_url"] == demo_url and st["organization_id"] == "DemoOrg"

    app.pick("Log out")
    app.wait_state("logged_out")
    app.wait_status(
        lambda x: any(e.get("text", "").startswith("Log in to DemoOrg") for e in app.menu()),
        30,
        "login entry",
    )
    app.pick("Log in to DemoOrg")
    s.wait_dialog("^Log in")
    s.type(PASSWORD)
    s.key("Return")
    app.wait_state("online", timeout=60)

    app.pick("Quit")
    assert app.proc is not None and app.proc.wait(30) == 0
    log = app.log_text()
    assert "Traceback" not in log, log[-3000:]
    # Its settings were its own (the person's are untouched), its folder is gone.
    assert not (Path(s.env["XDG_CONFIG_HOME"]) / "parsec-tray" / "settings.json").exists()
    [config] = re.findall(r"export PARSEC_BASE_CONFIG_DIR=(\S+) ", log)  # the line to paste
    assert Path(config).name == "config" and not Path(config).parent.exists()
    # The demo server is gone with it.
    import socket as _socket

    port = int(demo_url.split(":")[2].split("?")[0])
    with pytest.raises(OSError), _socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_offline_and_back(
    desktop: DesktopSession, parsec_server: ParsecServer, org_name: str, tmp_path: Path
) -> None:
    """After login the app notices when the server cannot be reached (checked
    when the menu opens, never on a timer) and comes back with "Check
    connection"."""
    from tcp_proxy import TCPProxy

    s = desktop
    with TCPProxy(parsec_server.port) as proxy:
        url = f"parsec3://127.0.0.1:{proxy.port}?no_ssl=true"
        app = TrayApp(s, tmp_path / "app", env={"PARSEC_TRAY_CHECK_INTERVAL": "0"})
        made = app.cli(
            "create-org",
            "--server",
            url,
            "--org",
            org_name,
            "--email",
            EMAIL,
            "--user-name",
            USER,
            "--device-label",
            DEVICE,
            "--admin-token",
            parsec_server.admin_token,
            "--password-stdin",
            "--json",
            input=PASSWORD + "\n",
        )
        assert made.returncode == 0, made.stderr
        app.start()
        try:
            s.wait_tray_icon(TrayApp.CLASSNAME)
            app.wait_status(
                lambda x: any(e.get("action") == "login" for e in app.menu()), 30, "the login entry"
            )
            app.pick(f"Log in to {org_name}")
            s.wait_dialog("^Log in")
            s.type(PASSWORD)
            s.key("Return")
            app.wait_state("online", timeout=60)

            proxy.refuse()
            proxy.kill_connections()
            s.open_tray_menu(TrayApp.CLASSNAME)  # opening the menu checks the server
            s.key("Escape")
            st = app.wait_state("offline", timeout=30)
            assert st["organization_id"] == org_name and st["reason"]
            wait_until(lambda: _icon_shows(s, SLATE, GREY), 10, "the offline icon")
            app.pick("Check connection", screenshot="01-menu-offline")  # still offline
            app.wait_state("offline", timeout=30)

            proxy.refuse(False)
            app.pick("Check connection")
            st = app.wait_state("online", timeout=30)
            assert "reason" not in st
        finally:
            rc = app.stop()
            (ARTIFACTS / "test_offline_and_back").mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / "test_offline_and_back" / "parsec-tray.log").write_text(app.log_text())
        assert rc == 0, app.log_text()[-3000:]
        assert "Traceback" not in app.log_text()


def test_menu_stays_responsive_while_a_flow_waits_on_the_network(
    desktop: DesktopSession, app: TrayApp, parsec_server: ParsecServer, org_name: str
) -> None:
    """Argon2id and the network run off the GTK thread: with the server
    silent (a paused proxy), the dialog shows its busy state and the tray
    menu still opens; once the network is back, the creation completes."""
    from tcp_proxy import TCPProxy

    s = desktop
    with TCPProxy(parsec_server.port) as proxy:
        url = f"parsec3://127.0.0.1:{proxy.port}?no_ssl=true"
        app.start()
        s.wait_tray_icon(TrayApp.CLASSNAME)
        app.wait_state("logged_out", timeout=30)
        app.pick("Create organization")
        s.wait_dialog("^Create organization")
        _create_step1(s, app, org_name, url, parsec_server.admin_token)
        _type_fields(s, USER, DEVICE, PASSWORD, PASSWORD)
        proxy.pause()
        s.key("Return")
        app.wait_status(
            lambda x: (x.get("dialogs", {}).get("create") or {}).get("busy"), 30, "the busy dialog"
        )
        time.sleep(1.0)  # Argon2id is done by now; the request hangs
        s.open_tray_menu(TrayApp.CLASSNAME, timeout=5)
        s.screenshot("01-menu-while-creating")
        s.key("Escape")
        assert app.status()["state"] == "logged_out"
        proxy.resume()
        _create_ready(s, app, org_name)
        st = app.wait_state("online", timeout=30)
        assert st["organization_id"] == org_name


def test_a_device_made_with_the_cli_is_in_the_next_menu(
    desktop: DesktopSession, app: TrayApp, parsec_server: ParsecServer, org_name: str
) -> None:
    """The devices folder is watched: a device created while the tray runs
    is listed without the menu being opened (nothing else would list it),
    and is in the very next menu opened."""
    s = desktop

    def login_entries() -> list[str]:
        return [e["text"] for e in app.menu() if e.get("action") == "login"]

    def create(org: str) -> None:
        app.create_org(
            parsec_server.url,
            parsec_server.admin_token,
            org,
            email=EMAIL,
            user=USER,
            device=DEVICE,
            password=PASSWORD,
        )

    first, second = org_name, f"{org_name}x"
    create(first)
    app.start()
    s.wait_tray_icon(TrayApp.CLASSNAME)
    # The start-up listing has run: the device made before the start is there.
    wait_until(lambda: login_entries() == [f"Log in to {first} as {USER}…"], 30, "the first device")

    create(second)  # the CLI, while the tray runs; no menu is opened meanwhile
    entries = wait_until(lambda: len(login_entries()) == 2 and login_entries(), 20, "the second device")
    assert sorted(entries) == [f"Log in to {first} as {USER}…", f"Log in to {second} as {USER}…"]

    app.pick(f"Log in to {second} as {USER}", screenshot="01-menu-with-the-new-device")
    s.wait_dialog("^Log in")
    st = app.wait_status(lambda x: (x["dialogs"].get("login") or {}).get("shown"), 20, "the dialog shown")
    assert st["dialogs"]["login"]["open"] is True
    s.screenshot("02-login-to-the-new-device")
    s.key("Escape")
    s.wait_window_gone("^Log in", timeout=10)


def test_the_first_menu_opened_at_once_lists_the_devices(
    desktop: DesktopSession, app: TrayApp, parsec_server: ParsecServer, org_name: str
) -> None:
    """The icon shows before the app has listed its devices (or even made
    its controller); a menu opened the moment the icon is embedded still
    lists the device that was on disk: picking its entry opens its Log in
    dialog (with the device missing, the same position would be another
    entry)."""
    s = desktop
    app.create_org(
        parsec_server.url,
        parsec_server.admin_token,
        org_name,
        email=EMAIL,
        user=USER,
        device=DEVICE,
        password=PASSWORD,
    )
    app.start()
    wid = s.wait_tray_icon(TrayApp.CLASSNAME)
    s.right_click(wid)  # once: the menu shows when the app is ready for it
    wait_until(lambda: (s.popup_menus() or [None])[0], 30, "the first menu")
    s.screenshot("01-first-menu")
    # The menu is up, so the app now answers; where its device entry is:
    index = app.menu_index(f"Log in to {org_name} as {USER}")
    s.pick_menu_item(index)
    s.wait_dialog("^Log in")
    st = app.wait_status(lambda x: (x["dialogs"].get("login") or {}).get("shown"), 20, "the dialog shown")
    assert st["dialogs"]["login"]["open"] is True
    s.key("Escape")
    s.wait_window_gone("^Log in", timeout=10)


# Runs a program (``-m module`` or a script, then its arguments) and, the
# moment its GLib main loop starts (its icon made), writes the names of the
# modules imported by then to $MODULES_OUT, one per line (nothing imported
# for that: the list is the program's own).
RECORD_MODULES_AT_LOOP = textwrap.dedent(
    """
    import os, runpy, sys
    import gi
    gi.require_version("GLib", "2.0")
    from gi.repository import GLib
    _run = GLib.MainLoop.run
    def run(self, *args):
        GLib.MainLoop.run = _run
        with open(os.environ["MODULES_OUT"], "w") as f:
            f.write("\\n".join(sorted(sys.modules)))
        return _run(self, *args)
    GLib.MainLoop.run = run
    if sys.argv[1] == "-m":
        sys.argv = [sys.argv[2], *sys.argv[3:]]
        runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
    else:
        sys.argv = sys.argv[1:]
        runpy.run_path(sys.argv[0], run_name="__main__")
    """
)
BARE_ICON = textwrap.dedent(
    """
    import pystray
    from PIL import Image
    pystray.Icon("bare", Image.new("RGBA", (64, 64), (0, 112, 220, 255)), "Bare").run()
    """
)
# What the icon needs neither for itself nor for the one-instance socket and
# the backend choice: the app imports them once its icon is up.
NOT_BEFORE_THE_ICON = (
    "argparse",
    "ctypes",
    "dataclasses",
    "json",
    "pathlib",
    "parsec_tray.core.errors",
    "parsec_tray.core.paths",
    "parsec_tray.tray.controller",
    "parsec_tray.tray.menu",
    "parsec_tray.tray.state",
    "PIL.ImageDraw",
    "requests",
)


def test_the_icon_shows_before_the_rest_is_imported(
    desktop: DesktopSession, app: TrayApp, tmp_path: Path
) -> None:
    """Before its main loop starts (its icon made), the app imports nothing
    of :data:`NOT_BEFORE_THE_ICON` that a bare pystray icon does not import
    itself (``benchmarks/tray_startup.py`` measures what that is worth), and
    then starts as usual."""
    bare_out, app_out = tmp_path / "bare-modules", tmp_path / "app-modules"
    script = tmp_path / "bare_icon.py"
    script.write_text(BARE_ICON)
    bare = subprocess.Popen(
        [sys.executable, "-c", RECORD_MODULES_AT_LOOP, str(script)],
        env=dict(desktop.env, PYSTRAY_BACKEND="gtk", MODULES_OUT=str(bare_out)),
    )
    try:
        wait_until(lambda: bare_out.exists() and bare_out.stat().st_size > 0, 60, "the bare icon's main loop")
    finally:
        bare.terminate()
        bare.wait(10)
    app.env["MODULES_OUT"] = str(app_out)
    app.start(prelude=RECORD_MODULES_AT_LOOP)
    wait_until(lambda: app_out.exists() and app_out.stat().st_size > 0, 60, "the app's main loop")
    desktop.wait_tray_icon(TrayApp.CLASSNAME)
    assert app.wait_state("logged_out", timeout=30)["state"] == "logged_out"
    bare_modules = set(bare_out.read_text().split())
    app_modules = set(app_out.read_text().split())
    # Recorded at the right moment: the icon's backend was there, not yet the rest.
    assert {"pystray", "parsec_tray.tray.backends.pystray_icon"} <= app_modules
    assert "pystray" in bare_modules
    assert sorted(set(NOT_BEFORE_THE_ICON) & (app_modules - bare_modules)) == []


def test_create_organization_on_a_server_that_creates_them_on_request(
    desktop: DesktopSession, app: TrayApp, spontaneous_server: ParsecServer, org_name: str
) -> None:
    """The guide's way: an email, a name, a server and a password; the server
    creates organizations on request, so no administration token is asked."""
    s = desktop
    app.start()
    s.wait_tray_icon(TrayApp.CLASSNAME)
    app.wait_state("logged_out", timeout=30)
    app.pick("Create organization")
    s.wait_dialog("^Create organization")
    _create_step1(s, app, org_name, spontaneous_server.url, None)
    assert "invalid" not in _dialog(app.status(), "create")
    _type_fields(s, USER, DEVICE, PASSWORD, PASSWORD)
    s.key("Return")
    _create_ready(s, app, org_name)
    st = app.wait_state("online", timeout=30)
    assert st["organization_id"] == org_name and st["profile"] == "ADMIN"
    assert spontaneous_server.organization(org_name)["is_bootstrapped"] is True
