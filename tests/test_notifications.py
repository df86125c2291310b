"""Desktop notifications (tray/notifications/) against a real notification
daemon: dunst on a private D-Bus session (tests/desktop_session.py).

What dunst shows is read back with ``dunstctl history`` (JSON): ``message``
is the Pango markup dunst renders ("<b>summary</b>\\nbody"); Pango's own
parser turns it into the text on screen, which must be the coalescer's
title and body exactly, whatever a person typed into their email or an
organization name.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import parsec_tray
import pytest
from conftest import require
from desktop_session import DesktopSession, missing_desktop_tools, wait_until
from parsec_tray.tray import notifications
from parsec_tray.tray.coalesce import Coalescer, Waiting
from parsec_tray.tray.notifications import FallbackNotifier, choose, get_notifier, set_tray_icon
from parsec_tray.tray.notifications import _base as notif_base
from parsec_tray.tray.notifications._freedesktop import FreedesktopNotifier
from parsec_tray.tray.notifications._none import NoNotifier
from parsec_tray.tray.notifications._plyer import PlyerNotifier, plyer_linux_route, plyer_unusable_reason
from parsec_tray.tray.notifications._tray import TrayNotifier

# The icon the installed package ships (site-packages under tests/run).
ICON = (Path(parsec_tray.__path__[0]) / "icons" / "parsec-tray-128.png").resolve()

# (email, organization) as people could type them.  Parsec's own rules are
# stricter for organization ids, but labels and future fields are not, and
# nothing here may depend on it.
HOSTILE = {
    "quotes": ('o\'brien"q"@example.com', 'Acme "Q" Ltd'),
    "shell": ("$HOME`id`$(rm -rf x)@example.com", "Org; $(reboot) | `x`"),
    "markup": ("<b>bold</b>&amp;@example.com", "<i>Acme</i> & <span foreground='red'>Co</span>"),
    "dash": ("-u@example.com", "-t 0 --help"),
    "newline": ("a@example.com", "Line one\nLine two"),
    "cjk": ("josé.日本語@例え.jp", "株式会社 Ünïcødé"),
    "gvariant": ("x'}, 'body': <'pwned'>@example.com", "{'title': <'x'>}"),
}


def _pango_text(markup: str) -> str:
    import gi

    gi.require_version("Pango", "1.0")
    from gi.repository import Pango

    ok, _attrs, text, _accel = Pango.parse_markup(markup, -1, "\0")
    assert ok
    return str(text)


class Dunst:
    """What dunst shows, read back through dunstctl."""

    def __init__(self, session: DesktopSession) -> None:
        self.session = session

    def ctl(self, *args: str) -> str:
        out = subprocess.run(
            ["dunstctl", *args], env=self.session.env, capture_output=True, text=True, timeout=10
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    def history(self) -> list[dict[str, Any]]:
        """Every notification shown so far (newest first, dunst keeps 20)."""
        self.ctl("close-all")
        data = json.loads(self.ctl("history"))["data"][0]
        return [
            {k: v["data"] for k, v in e.items()} | {"text": _pango_text(e["message"]["data"])} for e in data
        ]

    def wait_shown(self, predicate: Any, timeout: float = 10) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            return next((e for e in self.history() if predicate(e)), None)

        return wait_until(probe, timeout, "the notification in dunst's history", interval=0.1)

    def ids(self) -> set[int]:
        return {e["id"] for e in self.history()}


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DesktopSession]:
    missing = missing_desktop_tools()
    require(not missing, "the desktop harness (" + ", ".join(missing) + ")")
    require(shutil.which("dunstctl") is not None, "dunstctl (Debian package dunst)")
    with DesktopSession(tmp_path_factory.mktemp("notify"), tray_host=False) as s:
        yield s


@pytest.fixture(autouse=True)
def fresh_choice() -> Iterator[None]:
    """Each test chooses anew and sees "log once" from the start."""
    notifications._reset()
    notif_base._logged.clear()
    yield
    notifications._reset()
    notif_base._logged.clear()


@pytest.fixture
def on_bus(session: DesktopSession, monkeypatch: pytest.MonkeyPatch) -> Dunst:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", session.env["DBUS_SESSION_BUS_ADDRESS"])
    monkeypatch.setenv("XDG_RUNTIME_DIR", session.env["XDG_RUNTIME_DIR"])
    monkeypatch.delenv("PARSEC_TRAY_NOTIFIER", raising=False)
    return Dunst(session)


@pytest.fixture
def no_bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.delenv("PARSEC_TRAY_NOTIFIER", raising=False)
    empty = tmp_path / "run"
    empty.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(empty))


def waiting_notification(email: str, org: str) -> Any:
    (n,) = Coalescer().feed(Waiting(org=org, email=email, token="t"), 0.0)
    return n


def on_screen(title: str, body: str) -> str:
    """What a person must read: the title on one line, then the body (dunst
    trims trailing blanks)."""
    return (title.replace("\n", " ") + "\n" + body).rstrip()


# -- the D-Bus backend --------------------------------------------------------------------


@pytest.mark.desktop
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_dbus_backend_shows_hostile_text_as_typed(on_bus: Dunst, case: str) -> None:
    email, org = HOSTILE[case]
    n = waiting_notification(email, org)
    notifier = FreedesktopNotifier()
    try:
        nid = notifier.send(n.title, n.body, urgency=n.urgency)
        assert nid is not None and nid > 0
        shown = on_bus.wait_shown(lambda e: e["id"] == nid)
    finally:
        notifier.close()
    assert shown["text"] == on_screen(n.title, n.body)
    assert email in shown["text"] and org.replace("\n", " ") in shown["text"]
    assert shown["appname"] == "Parsec Tray"
    assert shown["icon_path"] == str(ICON)


@pytest.mark.desktop
def test_dbus_backend_honours_timeout(on_bus: Dunst) -> None:
    notifier = FreedesktopNotifier()
    try:
        a = notifier.send("Timed", "four seconds", timeout_ms=4321)
        b = notifier.send("Default", "the server's timeout")
    finally:
        notifier.close()
    history = {e["id"]: e for e in on_bus.history()}
    assert history[a]["timeout"] == 4321 * 1000  # dunst keeps microseconds
    assert history[b]["timeout"] != 4321 * 1000


@pytest.mark.desktop
def test_click_runs_on_click_and_spoofed_clicks_do_not(on_bus: Dunst) -> None:
    from jeepney import DBusAddress, new_signal
    from jeepney.io.blocking import open_dbus_connection

    clicked = threading.Event()
    notifier = FreedesktopNotifier()
    try:
        on_bus.ctl("close-all")
        nid = notifier.send("Waiting to join Acme", "alice@example.com is waiting.", on_click=clicked.set)
        assert nid is not None and notifier.HAS_ACTIONS
        # Another program on the bus claims the person clicked: ignored.
        with open_dbus_connection(bus=os.environ["DBUS_SESSION_BUS_ADDRESS"]) as other:
            sig = new_signal(
                DBusAddress("/org/freedesktop/Notifications", interface="org.freedesktop.Notifications"),
                "ActionInvoked",
                "us",
                (nid, "default"),
            )
            other.send(sig)
        assert not clicked.wait(0.5)
        # The person clicks (dunst's default action on the top notification).
        on_bus.ctl("action", "0")
        assert clicked.wait(5)
    finally:
        notifier.close()


# -- plyer ---------------------------------------------------------------------------------

PLYER_CLASSES = {
    "NotifySendNotification": "notify-send",
    "NotifyDbus": "dbus-python",
    "NotifyDesktopPortals": "portal",
    "Notification": "none",
}


def _plyer_own_choice() -> str:
    from plyer.platforms.linux import notification as plyer_linux

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PLYER_CLASSES[type(plyer_linux.instance()).__name__]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="plyer's Linux routes")
def test_predicted_plyer_route_is_plyers_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert plyer_linux_route() == _plyer_own_choice()
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert plyer_linux_route() == _plyer_own_choice()
    if plyer_linux_route() == "none":
        assert "silently" in (plyer_unusable_reason("linux") or "")
        assert PlyerNotifier(platform="linux").notify("Title", "body") is False


@pytest.mark.desktop
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_plyer_backend_shows_hostile_text_as_typed(on_bus: Dunst, case: str) -> None:
    route = plyer_linux_route()
    require(route in ("notify-send", "dbus-python"), "notify-send (Debian package libnotify-bin)")
    assert plyer_unusable_reason() is None
    email, org = HOSTILE[case]
    n = waiting_notification(email, org)
    before = on_bus.ids()
    assert PlyerNotifier().notify(n.title, n.body, urgency=n.urgency) is True
    shown = on_bus.wait_shown(lambda e: e["id"] not in before and e["appname"] == "Parsec Tray")
    assert shown["text"] == on_screen(n.title, n.body)
    assert email in shown["text"]


@pytest.mark.desktop
def test_plyer_refuses_a_title_notify_send_would_take_for_an_option(on_bus: Dunst) -> None:
    require(plyer_linux_route() == "notify-send", "notify-send (Debian package libnotify-bin)")
    before = on_bus.ids()
    assert PlyerNotifier().notify("-u critical", "body") is False
    time.sleep(0.3)
    assert on_bus.ids() == before


def test_plyer_without_a_bus_is_not_used(no_bus: None) -> None:
    # notify-send (and dbus-python) would fail without a bus, and plyer would not say.
    reason = plyer_unusable_reason("linux") or ""
    if plyer_linux_route() in ("notify-send", "dbus-python"):
        assert "no session bus" in reason
    else:
        assert reason


# -- the choice, fallbacks and "log once" ----------------------------------------------------


@pytest.mark.desktop
def test_with_a_notification_server_the_choice_is_dbus_and_it_delivers(on_bus: Dunst) -> None:
    c = choose()
    assert c.name == "dbus" and not c.fallback
    n = get_notifier()
    assert n is get_notifier()
    assert n.name == "dbus" and n.CONFIRMS_DELIVERY and n.HAS_TIMEOUT
    before = on_bus.ids()
    assert n.notify("Chosen once", "through the session bus")
    shown = on_bus.wait_shown(lambda e: e["id"] not in before)
    assert shown["text"] == "Chosen once\nthrough the session bus"


@pytest.mark.desktop
def test_an_activatable_server_is_started_by_the_first_notification(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At login the tray may start before the notification daemon: the bus
    # starts it on the first Notify (dunst ships a D-Bus service file).
    missing = missing_desktop_tools()
    require(not missing, "the desktop harness (" + ", ".join(missing) + ")")
    with DesktopSession(tmp_path, tray_host=False, notifications=False) as s:
        assert not s.bus_name_owned("org.freedesktop.Notifications")
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", s.env["DBUS_SESSION_BUS_ADDRESS"])
        c = choose()
        assert c.name == "dbus" and "start" in c.reason
        notifier = FreedesktopNotifier()
        try:
            assert notifier.send("Started on demand", "by the bus") is not None
        finally:
            notifier.close()
        assert s.bus_name_owned("org.freedesktop.Notifications")
        shown = Dunst(s).wait_shown(lambda e: e["summary"] == "Started on demand")
        assert shown["text"] == "Started on demand\nby the bus"


def test_a_bus_without_notification_server_gives_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require(shutil.which("dbus-daemon") is not None, "dbus-daemon")
    # A bus with no service folders: nothing owns or can start the name.
    conf = tmp_path / "bus.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>session</type>
              <listen>unix:dir={tmp_path}</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow send_destination="*" eavesdrop="true"/>
                <allow eavesdrop="true"/>
                <allow own="*"/>
              </policy>
            </busconfig>
            """
        )
    )
    r, w = os.pipe()
    proc = subprocess.Popen(
        ["dbus-daemon", f"--config-file={conf}", "--nofork", "--nopidfile", f"--print-address={w}"],
        pass_fds=(w,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(w)
    try:
        with os.fdopen(r) as f:
            address = f.readline().strip()
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        monkeypatch.delenv("PARSEC_TRAY_NOTIFIER", raising=False)
        c = choose()
        assert c.name == "none" and c.fallback and "no notification server" in c.reason
        nobody = FreedesktopNotifier(address)
        try:
            assert nobody.notify("Nobody", "listens") is False
        finally:
            nobody.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_without_a_bus_the_choice_falls_back_and_is_logged_once(
    no_bus: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="parsec_tray.notifications")
    c = choose()
    if sys.platform.startswith("linux"):
        assert c.name == "none" and c.fallback and "no session bus" in c.reason
    first = get_notifier()
    second = get_notifier()
    assert first is second
    records = [r for r in caplog.records if r.name == "parsec_tray.notifications"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    assert first.notify("Title", "body") is False
    assert first.notify("Title", "body", urgency="critical", on_click=lambda: None) is False


def test_runtime_fallback_to_the_tray_icon_is_logged_once(
    no_bus: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Icon:
        HAS_NOTIFICATION = True

        def __init__(self) -> None:
            self.shown: list[tuple[str, str]] = []

        def notify(self, message: str, title: str | None = None) -> None:
            self.shown.append((title or "", message))

    caplog.set_level(logging.DEBUG, logger="parsec_tray.notifications")
    gone = FreedesktopNotifier(f"unix:path={tmp_path}/no-such-bus")
    icon = Icon()
    chain = FallbackNotifier(gone, TrayNotifier(icon))
    for i in range(3):
        assert chain.notify(f"Title {i}", "body") is True
    assert icon.shown == [("Title 0", "body"), ("Title 1", "body"), ("Title 2", "body")]
    warnings_ = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len([m for m in warnings_ if "using tray instead" in m]) == 1
    assert len([m for m in warnings_ if "unreachable" in m]) == 1, warnings_


@pytest.mark.parametrize("name", ["dbus", "plyer", "tray", "none"])
def test_override_picks_the_backend(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARSEC_TRAY_NOTIFIER", name)
    n = get_notifier()
    assert n.name == name
    expected = {
        "dbus": FreedesktopNotifier,
        "plyer": PlyerNotifier,
        "tray": TrayNotifier,
        "none": NoNotifier,
    }[name]
    inner = n.primary if isinstance(n, FallbackNotifier) else n
    assert type(inner) is expected


def test_override_with_an_unknown_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARSEC_TRAY_NOTIFIER", "growl")
    with pytest.raises(ValueError, match="dbus, plyer, tray, none"):
        get_notifier()


def test_windows_and_macos_prefer_plyer_then_the_tray(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    assert choose(platform="win32", env={}).name == "plyer"
    have_pyobjus = importlib.util.find_spec("pyobjus") is not None
    mac = choose(platform="darwin", env={})
    assert mac.name == ("plyer" if have_pyobjus else "tray")
    if not have_pyobjus:
        assert "pyobjus" in mac.reason and mac.fallback


def test_none_backend_never_raises() -> None:
    n = NoNotifier()
    for args in [("", ""), ("\x00" * 3, "\ud800 lone surrogate"), ("x" * 100_000, "y" * 100_000)]:
        assert n.notify(*args) is False
    assert n.notify("t", "b", urgency="bogus", timeout_ms=-5, on_click=lambda: 1 / 0) is False


def test_bad_arguments_are_programming_errors() -> None:
    n = FreedesktopNotifier("unix:path=/nonexistent")
    with pytest.raises(ValueError, match="urgency"):
        n.notify("t", "b", urgency="urgent")
    with pytest.raises(ValueError, match="timeout_ms"):
        n.notify("t", "b", timeout_ms=-1)


@pytest.mark.desktop
def test_text_that_d_bus_cannot_carry_is_cleaned_not_fatal(on_bus: Dunst) -> None:
    notifier = FreedesktopNotifier()
    try:
        nid = notifier.send("Bell\x07 and\x00 NUL", "lone \ud800 surrogate\x1b[31m")
    finally:
        notifier.close()
    assert nid is not None
    shown = on_bus.wait_shown(lambda e: e["id"] == nid)
    assert shown["text"] == "Bell  and  NUL\nlone ? surrogate[31m"


# -- the tray icon's own notification ---------------------------------------------------------


@pytest.mark.desktop
def test_tray_backend_through_a_real_pystray_icon(session: DesktopSession, on_bus: Dunst) -> None:
    """pystray's gtk icon notifies through the same daemon: the last resort works."""
    code = textwrap.dedent(
        """\
        import sys, threading
        import pystray
        from PIL import Image
        from parsec_tray.tray.notifications import _tray
        result = []
        def setup(icon):
            try:
                icon.visible = True
                result.append(_tray.TrayNotifier(icon).notify(sys.argv[1], sys.argv[2]))
            finally:
                threading.Timer(0.5, icon.stop).start()
        icon = pystray.Icon("parsec-tray-notify-test", Image.new("RGBA", (16, 16), "red"), "test")
        icon.run(setup)
        print(result[0] if result else 'setup failed')
        """
    )
    before = on_bus.ids()
    out = subprocess.run(
        [sys.executable, "-c", code, "From the tray icon", "o'brien@example.com"],
        env=dict(session.env, PYSTRAY_BACKEND="gtk"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and out.stdout.strip() == "True", out.stderr
    shown = on_bus.wait_shown(lambda e: e["id"] not in before and e["summary"] == "From the tray icon")
    assert shown["text"] == "From the tray icon\no'brien@example.com"


def test_tray_backend_without_icon_or_feature_says_no() -> None:
    class NoFeature:
        HAS_NOTIFICATION = False

        def notify(self, message: str, title: str | None = None) -> None:
            raise AssertionError("must not be called")

    t = TrayNotifier()
    assert t.notify("t", "b") is False
    t.attach(NoFeature())
    assert t.notify("t", "b") is False
    set_tray_icon(None)
