"""A display without any tray host: the app falls back to a small window with
the same actions (real Xvfb and D-Bus session, no trayer)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import require
from desktop_session import DesktopSession, TrayApp, missing_desktop_tools

pytestmark = [pytest.mark.desktop, pytest.mark.timeout(180)]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "tray-fallback"


@pytest.fixture
def bare_desktop(tmp_path: Path) -> Iterator[DesktopSession]:
    missing = missing_desktop_tools()
    require(not missing, "the desktop test tools (" + ", ".join(missing) + ")")
    with DesktopSession(tmp_path / "desktop", tray_host=False, artifacts=ARTIFACTS) as s:
        yield s


def test_window_with_the_menu_actions(bare_desktop: DesktopSession, tmp_path: Path) -> None:
    s = bare_desktop
    assert not s.tray_host_present()
    # The pointer out of the way, in a corner no window covers.  Without a
    # window manager Tk takes the focus "implicitly" while the pointer is in
    # its window and gives it back to PointerRoot when the pointer leaves;
    # the Create dialog, centred over the fallback window, would come under
    # the pointer and lose the focus it just took, now and then.
    s.xdotool("mousemove", "0", "0")
    app = TrayApp(s, tmp_path / "app").start()
    try:
        s.wait_dialog("^Parsec Tray$")
        st = app.wait_state("logged_out", timeout=30)
        assert st["backend"] == "window"
        assert not s.search(classname="^parsec-tray$")  # no icon was attempted
        time.sleep(0.3)
        s.screenshot("01-fallback-window")
        # The first button has the focus: "Create organization…" (same order as the menu).
        assert app.menu()[0]["text"] == "Create organization…"
        s.key("space")
        s.wait_dialog("^Create organization")
        s.screenshot("02-create-from-window")
        s.key("Escape")
        s.wait_window_gone("^Create organization", timeout=10)
    finally:
        rc = app.stop()
    log = app.log_text()
    assert rc == 0, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    assert not s.search(name="^Parsec Tray$")
