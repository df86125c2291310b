"""The dialogs in their child processes, drawn by each renderer (GTK and
Tk, from the same descriptions), typed into on a real X server (Xvfb), with
this test playing the tray's side of the pipe: inline validation stops bad
input, ``submit`` carries exactly what was typed, errors come back to the
right step and field with the other fields kept, a busy dialog ignores a
second Return, the keyboard does what the focused button says, and the
process ends when it should.  The GTK dialogs are also read and driven
through their accessibility tree (AT-SPI), as a screen reader does.

Screenshots go to ``$PARSEC_TRAY_ARTIFACTS/tray-dialogs/`` (default
``test-artifacts/``).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from atspi_client import Accessibility
from conftest import require
from desktop_session import DesktopSession, missing_desktop_tools, wait_until
from parsec_tray.tray.dialogs import DialogProcess

pytestmark = [pytest.mark.desktop, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("PARSEC_TRAY_ARTIFACTS") or REPO / "test-artifacts") / "tray-dialogs"
SERVER = "parsec3://127.0.0.1:6770?no_ssl=true"
PASSWORD = "correct horse battery"


@pytest.fixture(params=["gtk", "tk"])
def renderer(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def xs(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[DesktopSession]:
    missing = missing_desktop_tools()
    require(not missing, "the desktop test tools (" + ", ".join(missing) + ")")
    with DesktopSession(
        tmp_path, tray_host=False, notifications=False, artifacts=ARTIFACTS / request.node.name
    ) as s:
        # The pointer out of the way, in a corner no dialog covers.  Without a
        # window manager Tk takes the focus "implicitly" while the pointer is in
        # its window and gives it back when the pointer leaves: a Tk dialog
        # centred again on a new step would move from under it and lose
        # keystrokes, now and then (a window manager gives the focus itself).
        s.xdotool("mousemove", "0", "0")
        yield s


class Tray:
    """The tray's side: messages from the dialog, and its exit status.

    GTK dialogs run with their accessibility bridge (``NO_AT_BRIDGE``
    unset), as on a desktop."""

    def __init__(self, s: DesktopSession, kind: str, init: dict[str, Any], renderer: str = "gtk") -> None:
        self.inbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self.exit: queue.Queue[int] = queue.Queue()
        self.shown = threading.Event()  # the dialog says it is mapped and focused
        self.states: list[dict[str, Any]] = []  # what it says it shows, each time it changes
        self._changed = threading.Condition()
        env = {k: v for k, v in s.env.items() if not (renderer == "gtk" and k == "NO_AT_BRIDGE")}
        self.dlg = DialogProcess(
            kind, init, self._received, lambda d, rc: self.exit.put(rc), env=env, renderer=renderer
        )
        self.dlg.start()

    def _received(self, dlg: DialogProcess, msg: dict[str, Any]) -> None:
        if msg == {"type": "shown"}:
            self.shown.set()
        elif msg.get("type") == "state":
            with self._changed:
                self.states.append(msg)
                self._changed.notify_all()
        else:
            self.inbox.put(msg)

    def wait_state(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20) -> dict[str, Any]:
        """The dialog's latest state, once it satisfies ``predicate``."""
        with self._changed:
            ok = self._changed.wait_for(lambda: bool(self.states) and predicate(self.states[-1]), timeout)
            assert ok, f"the dialog's state never matched; last: {self.states[-1:] or None}"
            return self.states[-1]

    def answer_server(self, server: str, *, creates: bool) -> None:
        """Step 1's Next asks how ``server`` creates organizations: answer."""
        assert self.next() == {"type": "ask_server", "server": server}
        self.dlg.send({"type": "server", "creates_on_request": creates})

    def next(self, timeout: float = 20) -> dict[str, Any]:
        return self.inbox.get(timeout=timeout)

    def nothing_for(self, seconds: float) -> None:
        with pytest.raises(queue.Empty):
            msg = self.inbox.get(timeout=seconds)
            pytest.fail(f"unexpected message from the dialog: {msg}")

    def exit_status(self, timeout: float = 20) -> int:
        return self.exit.get(timeout=timeout)


def type_fields(s: DesktopSession, *values: str) -> None:
    for i, v in enumerate(values):
        if i:
            s.key("Tab")
        s.type(v)


def centred_width(s: DesktopSession, wid: int) -> int:
    """The window's width, once checked that it is centred on the screen."""
    screen_width = int(s.xdotool("getdisplaygeometry").split()[0])
    g = s.geometry(wid)
    assert abs(2 * g.x + g.width - screen_width) <= 2, (g, screen_width)
    return g.width


def test_create_dialog(xs: DesktopSession, renderer: str) -> None:
    tray = Tray(xs, "create", {"server": "", "admin_token": "", "device_label": "suggested-name"}, renderer)
    wid = xs.wait_dialog("^Create organization")
    width = centred_width(xs, wid)
    assert tray.shown.wait(20)  # its own word: mapped, the first field focused

    # Step 1 with two bad fields: Return stays on step 1 and says why.
    type_fields(xs, "alice", "my org", SERVER)
    xs.key("Return")
    st = tray.wait_state(lambda st: bool(st["errors"]))
    assert st["step"] == 1 and set(st["errors"]) == {"email", "organization"} and not st["busy"]
    xs.screenshot("01-step1-inline-errors")
    tray.nothing_for(0.3)
    assert centred_width(xs, wid) == width  # long errors wrap, the window keeps its width
    # The first wrong field has the focus, its text selected: retype it.
    xs.type("alice@example.com")
    xs.key("Tab")
    xs.type("MyOrg")
    xs.key("Return")
    tray.answer_server(SERVER, creates=True)
    assert tray.wait_state(lambda st: st["step"] == 2)["errors"] == {}
    # What is typed once it says "step 2" goes to step 2.  Tk gives the focus
    # to a widget packed a moment ago only once the X server says it is
    # mapped: the "A" of "Alice" went to the organization's name, now and then.
    assert next(st for st in tray.states if st["step"] == 2)["focus"] == "user_name"

    # Step 2: the device name is suggested (Tab selects it, typing replaces it);
    # a mismatched confirmation stops the submit.
    type_fields(xs, "Alice", "laptop", PASSWORD, PASSWORD + "!")
    xs.key("Return")
    assert set(tray.wait_state(lambda st: bool(st["errors"]))["errors"]) == {"confirm"}
    xs.screenshot("02-step2-confirmation-differs")
    tray.nothing_for(0.3)
    assert centred_width(xs, wid) == width  # the other step too
    xs.type(PASSWORD)
    xs.key("Return")
    first = tray.next()
    expected = {
        "email": "alice@example.com",
        "organization": "MyOrg",
        "server": SERVER,
        "admin_token": "",
        "user_name": "Alice",
        "device_label": "laptop",
        "password": PASSWORD,
    }
    assert first == {"type": "submit", "values": expected}

    # Busy: a second Return does not submit twice.
    tray.dlg.send({"type": "progress", "text": "Deriving the key from the password…"})
    xs.key("Return")
    assert tray.wait_state(lambda st: st["busy"])["step"] == 2
    xs.screenshot("03-busy")
    tray.nothing_for(0.3)

    # The server refuses the name: back on step 1, that field in error, the rest kept.
    tray.dlg.send(
        {
            "type": "error",
            "message": "The organization 'MyOrg' already exists on this server.",
            "step": 1,
            "field": "organization",
        }
    )
    st = tray.wait_state(lambda st: st["step"] == 1 and not st["busy"])
    assert st["errors"] == {"organization": "The organization 'MyOrg' already exists on this server."}
    xs.screenshot("04-server-error-on-step1")
    xs.type("MyOrg2")  # the field has the focus, its text selected
    xs.key("Return")  # Next: step 2 still filled in
    tray.wait_state(lambda st: st["step"] == 2)
    xs.key("Return")  # Create
    assert tray.next() == {"type": "submit", "values": {**expected, "organization": "MyOrg2"}}

    # A failure without a field shows a banner and keeps everything.
    tray.dlg.send({"type": "error", "message": "The server cannot be reached.", "step": None, "field": None})
    assert tray.wait_state(lambda st: not st["busy"])["banner"] == "The server cannot be reached."
    xs.screenshot("05-banner-error")
    xs.key("Return")
    assert tray.next() == {"type": "submit", "values": {**expected, "organization": "MyOrg2"}}

    tray.dlg.send({"type": "done"})
    assert tray.exit_status() == 0
    xs.wait_window_gone("^Create organization", timeout=10)


# -- the layout, read off the screen (Tk has no accessibility tree) -----------------------


def is_red(pixel: tuple[int, int, int]) -> bool:
    """An error's text, in both renderers."""
    return pixel[0] > 150 and pixel[1] < 100 and pixel[2] < 100


def blank_band(s: DesktopSession, wid: int) -> int:
    """The tallest band of pixel rows in which the window shows nothing (each
    row of one colour): what an empty row or a step sized to another leaves."""
    img = s.grab(wid)
    tallest = run = 0
    for y in range(img.height):
        run = run + 1 if img.crop((0, y, img.width, y + 1)).getcolors(1) is not None else 0
        tallest = max(tallest, run)
    return tallest


def no_empty_band(s: DesktopSession, wid: int, also: Callable[[], bool] = lambda: True) -> None:
    """Wait until the window, as drawn (a redraw may be under way), leaves no
    band of 40 px empty (the paddings and gaps between rows are less) and
    ``also`` holds."""
    bands: list[int] = []

    def probe() -> bool:
        if not also():
            return False
        bands.append(blank_band(s, wid))
        return bands[-1] < 40

    try:
        wait_until(probe, 10, "")
    except TimeoutError:
        pytest.fail(f"the window keeps an empty band: {bands[-1:] or 'never drawn'} px tall")


def centred_again(s: DesktopSession, wid: int) -> None:
    """Tk's window, after a step change: centred, a third of the free height
    above it (once it has its new size)."""
    sw, sh = (int(v) for v in s.xdotool("getdisplaygeometry").split())
    seen: list[Any] = []

    def probe() -> bool:
        g = s.geometry(wid)
        seen.append(g)
        return abs(2 * g.x + g.width - sw) <= 2 and abs(g.y - max(0, (sh - g.height) // 3)) <= 2

    try:
        wait_until(probe, 10, "")
    except TimeoutError:
        pytest.fail(f"the window is not centred again on {sw}x{sh}: {seen[-1]}")


def error_and_field(
    s: DesktopSession, wid: int
) -> tuple[tuple[int, int, int, int], tuple[int, int, int]] | None:
    """Where the one error on screen is (left, top, right, bottom: its red
    text), and the field over it: the left and right ends of its white inside
    and the lowest row of it, in the window; None without both."""
    img = s.grab(wid)
    px = img.load()
    red = [(x, y) for y in range(img.height) for x in range(img.width) if is_red(px[x, y])]
    if not red:
        return None
    xs_, ys = [x for x, _ in red], [y for _, y in red]
    box = (min(xs_), min(ys), max(xs_), max(ys))
    for y in range(box[1] - 1, 0, -1):  # up from the error, to the first row crossing a field
        runs, start = [], None
        for x in range(img.width + 1):
            white = x < img.width and px[x, y] == (255, 255, 255)
            if white and start is None:
                start = x
            elif not white and start is not None:
                runs.append((start, x - 1))
                start = None
        wide = [r for r in runs if r[1] - r[0] >= 100]
        if wide:
            left, right = max(wide, key=lambda r: r[1] - r[0])
            return box, (left, right, y)
    return None


def test_create_dialog_layout(xs: DesktopSession, renderer: str) -> None:
    """One width, centred, for every step and the last page; each as tall as
    what it shows (no empty band); an error wraps within its field's column."""
    tray = Tray(xs, "create", {"server": SERVER, "device_label": "pc"}, renderer)
    wid = xs.wait_dialog("^Create organization")
    assert tray.shown.wait(20)
    width = centred_width(xs, wid)
    assert width >= 580
    no_empty_band(xs, wid)
    start = xs.geometry(wid).height

    type_fields(xs, "alice@example.com", "my org")
    xs.key("Return")
    assert list(tray.wait_state(lambda st: bool(st["errors"]))["errors"]) == ["organization"]
    step1 = wait_until(lambda: (h := xs.geometry(wid).height) > start and h, 10, "the error's lines")
    xs.screenshot(f"01-error-{renderer}")
    # Under its field, within the field's column (give or take the field's
    # border and padding), on more than one line: it wrapped there.
    seen: list[Any] = []

    def error_in_column() -> bool:
        seen.append(error_and_field(xs, wid))
        if seen[-1] is None:
            return False
        (left, top, right, bottom), (field_left, field_right, field_bottom) = seen[-1]
        return (
            field_left - 8 <= left and right <= field_right + 8 and top > field_bottom and bottom - top > 20
        )

    try:
        wait_until(error_in_column, 10, "")
    except TimeoutError:
        pytest.fail(f"the error is not within its field's column (error, field): {seen[-1]}")
    assert centred_width(xs, wid) == width

    xs.type("MyOrg")  # the field has the focus, its text selected
    xs.key("Return")
    tray.answer_server(SERVER, creates=True)
    tray.wait_state(lambda st: st["step"] == 2)
    step2 = wait_until(lambda: (h := xs.geometry(wid).height) > step1 and h, 10, "step 2, taller")
    no_empty_band(xs, wid)
    xs.screenshot(f"02-step2-{renderer}")
    assert centred_width(xs, wid) == width

    type_fields(xs, "Alice", "pc", PASSWORD, PASSWORD)
    xs.key("Return")
    assert tray.next()["type"] == "submit"
    tray.dlg.send({"type": "result", "organization": "MyOrg", "device": "/x/MyOrg.keys"})
    tray.wait_state(lambda st: not st["busy"])
    no_empty_band(xs, wid, lambda: xs.geometry(wid).height < step2)  # the last page: shorter
    xs.screenshot(f"03-done-{renderer}")
    assert centred_width(xs, wid) == width  # its four buttons fit the one width
    xs.key("Escape")
    assert tray.next() == {"type": "cancel"}
    assert tray.exit_status() == 0


def test_login_dialog_wrong_then_right_password(xs: DesktopSession, renderer: str) -> None:
    device = {
        "organization_id": "MyOrg",
        "user_name": "Alice",
        "email": "alice@example.com",
        "device_label": "laptop",
        "server": "127.0.0.1:6770, not encrypted (test server)",
        "protection": "password",
    }
    tray = Tray(xs, "login", {"device": device}, renderer)
    xs.wait_dialog("^Log in")
    assert tray.shown.wait(20)  # its own word: mapped, the first field focused
    xs.key("Return")  # empty password: refused inline
    tray.nothing_for(0.3)
    xs.type("wrong password")
    xs.key("Return")
    assert tray.next() == {"type": "submit", "values": {"password": "wrong password", "keyring": False}}
    tray.dlg.send(
        {"type": "error", "message": "Wrong password for this device.", "step": None, "field": "password"}
    )
    st = tray.wait_state(lambda st: not st["busy"] and bool(st["errors"]))
    assert st["errors"] == {"password": "Wrong password for this device."}
    xs.screenshot("01-wrong-password")
    xs.type(PASSWORD)  # the field was emptied and focused
    xs.key("Return")
    assert tray.next() == {"type": "submit", "values": {"password": PASSWORD, "keyring": False}}
    tray.dlg.send({"type": "done"})
    assert tray.exit_status() == 0


def test_join_dialog_with_a_link_starts_at_the_email(xs: DesktopSession, renderer: str) -> None:
    from parsec_tray.core.addr import ParsecOrganizationBootstrapAddr, parse_server
    from parsec_tray.core.values import AccessToken, OrganizationID

    link = ParsecOrganizationBootstrapAddr(
        parse_server(SERVER), OrganizationID("MyOrg"), AccessToken(b"k" * 16)
    ).to_url()
    tray = Tray(xs, "join", {"link": link, "device_label": "pc"}, renderer)
    xs.wait_dialog("^Join organization")
    assert tray.shown.wait(20)  # its own word: mapped, the first field focused
    xs.screenshot("01-link-given")
    xs.type("bob@example.com")
    xs.key("Return")
    tray.wait_state(lambda st: st["step"] == 2)
    type_fields(xs, "Bob", "desk", PASSWORD, PASSWORD)
    xs.key("Return")
    assert tray.next() == {
        "type": "submit",
        "values": {
            "link": link,
            "email": "bob@example.com",
            "user_name": "Bob",
            "device_label": "desk",
            "password": PASSWORD,
        },
    }
    tray.dlg.send({"type": "close"})
    assert tray.exit_status() == 0


def test_escape_cancels_and_a_dead_tray_closes_the_dialog(xs: DesktopSession, renderer: str) -> None:
    tray = Tray(xs, "create", {}, renderer)
    xs.wait_dialog("^Create organization")
    assert tray.shown.wait(20)  # its own word: mapped, the first field focused
    xs.key("Escape")
    assert tray.next() == {"type": "cancel"}
    assert tray.exit_status() == 0

    tray = Tray(xs, "message", {"title": "Open link", "text": "This link cannot be used."}, renderer)
    xs.wait_dialog("^Open link")
    assert tray.shown.wait(20)  # its own word: mapped, the first field focused
    assert tray.dlg.proc is not None and tray.dlg.proc.stdin is not None
    tray.dlg.proc.stdin.close()  # what the dialog sees when the tray dies
    assert tray.exit_status() == 0
    wait_until(lambda: not xs.search(name="^Open link"), 10, "the message window to close")


# -- the keyboard, as on every desktop (both renderers) --------------------------------


def test_return_on_a_focused_cancel_cancels(xs: DesktopSession, renderer: str) -> None:
    tray = Tray(xs, "create", {"server": SERVER}, renderer)
    xs.wait_dialog("^Create organization")
    assert tray.shown.wait(20)
    xs.type("alice@example.com")
    # Tab goes down the fields, then to the buttons left to right: Cancel first
    # (the administration token is not asked: its part is hidden).
    xs.key("Tab", "Tab", "Tab")
    xs.screenshot("01-cancel-focused")
    xs.key("Return")
    assert tray.next() == {"type": "cancel"}
    assert tray.exit_status() == 0


def test_return_on_a_focused_back_goes_back_and_space_too(xs: DesktopSession, renderer: str) -> None:
    tray = Tray(xs, "create", {"server": SERVER, "device_label": "pc"}, renderer)
    xs.wait_dialog("^Create organization")
    assert tray.shown.wait(20)
    type_fields(xs, "alice@example.com", "MyOrg")
    xs.key("Return")  # in a field: the default button (Next)
    tray.answer_server(SERVER, creates=True)
    tray.wait_state(lambda st: st["step"] == 2)
    xs.type("Alice")
    xs.key("Tab", "Tab", "Tab", "Tab", "Tab")  # name, device, password, confirm, Cancel -> Back
    xs.screenshot("01-back-focused")
    xs.key("Return")
    st = tray.wait_state(lambda st: st["step"] == 1)
    assert st["errors"] == {} and not st["busy"]
    tray.nothing_for(0.3)  # nothing submitted
    xs.key("Return")  # the focus is on the first field again: Next
    tray.wait_state(lambda st: st["step"] == 2)
    xs.key("Tab", "Tab", "Tab", "Tab", "Tab")
    xs.key("space")  # Space presses the focused button as well
    tray.wait_state(lambda st: st["step"] == 1)
    tray.nothing_for(0.3)
    xs.key("Escape")
    assert tray.next() == {"type": "cancel"}
    assert tray.exit_status() == 0


# -- the GTK dialogs through their accessibility tree --------------------------------------


def controls(tree: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kinds = ("text", "password text", "push button", "check box")
    return [n for n in tree if n["role"] in kinds and n["showing"]]


def test_gtk_create_dialog_read_and_driven_by_accessibility(xs: DesktopSession) -> None:
    a11y = Accessibility(xs.env)
    win = "^Create organization"
    tray = Tray(xs, "create", {"server": SERVER, "device_label": "pc"}, "gtk")
    wid = xs.wait_dialog(win)
    assert tray.shown.wait(20)
    width = centred_width(xs, wid)
    tree = a11y.tree(win)
    names = {(n["role"], n["name"]) for n in controls(tree)}
    assert names == {  # no administration token asked of a person at first
        ("text", "Email address"),
        ("text", "Organization name"),
        ("text", "Server"),
        ("push button", "Cancel"),
        ("push button", "Next"),
    }
    assert [n["name"] for n in controls(tree) if n["focused"]] == ["Email address"]
    # A screen reader hears the hint of a field as its description.
    assert next(n for n in tree if n["name"] == "Organization name" and n["role"] == "text")["description"]

    a11y.focus(win, "Organization name", "text")
    xs.type("MyOrg")
    a11y.press(win, "Next")  # the email is missing: said on the field
    st = tray.wait_state(lambda st: bool(st["errors"]))
    assert list(st["errors"]) == ["email"]
    email = next(n for n in a11y.tree(win) if n["name"] == "Email address" and n["role"] == "text")
    assert email["focused"] and email["description"] == st["errors"]["email"]
    # The error is under its field and wraps within the field's column.
    fx, fy, fw, fh = a11y.extents(win, "Email address", "text")
    ex, ey, ew, _eh = a11y.extents(win, st["errors"]["email"], "label")
    assert ex == fx and ex + ew <= fx + fw and ey >= fy + fh, ((fx, fy, fw, fh), (ex, ey, ew))
    xs.type("alice@example.com")
    a11y.press(win, "Next")
    # This server does not create organizations on request: the administrator's part.
    tray.answer_server(SERVER, creates=False)
    st = tray.wait_state(lambda st: "admin_token" in st["errors"])
    assert st["step"] == 1
    tree = a11y.tree(win)
    assert any(n["name"] == "I administer this server" and n["showing"] for n in tree)
    token = next(n for n in controls(tree) if n["name"] == "Administration token")
    assert token["role"] == "password text" and token["focused"]
    xs.screenshot("00-step1-administrator-part")
    xs.type("s3cret")
    a11y.press(win, "Next")  # the same server: not asked again
    tray.wait_state(lambda st: st["step"] == 2)
    tree = a11y.tree(win)
    assert {n["name"] for n in controls(tree)} >= {"Your name", "Device name", "Password", "Back"}
    warning = [n for n in tree if n["name"] == "Warning" and n["showing"]]
    assert warning, "the loss warning is not a visible warning box"
    assert any("no way back" in n["name"] for n in tree if n["showing"] and n["role"] == "label")
    xs.screenshot("01-step2-warning")
    for name, value in (("Your name", "Alice"), ("Password", PASSWORD), ("Confirm password", PASSWORD)):
        a11y.focus(win, name, "password text" if "assword" in name else "text")
        xs.type(value)
    a11y.press(win, "Create organization")
    assert tray.next() == {
        "type": "submit",
        "values": {
            "email": "alice@example.com",
            "organization": "MyOrg",
            "server": SERVER,
            "admin_token": "s3cret",
            "user_name": "Alice",
            "device_label": "pc",
            "password": PASSWORD,
        },
    }
    # The last page: ready, the first administrator, the next steps as buttons.
    tray.dlg.send({"type": "result", "organization": "MyOrg", "device": "/x/MyOrg.keys"})
    wait_until(
        lambda: any(n["name"] == "MyOrg is ready" and n["showing"] for n in a11y.tree(win)),
        10,
        "the last page",
    )
    buttons = [n["name"] for n in controls(a11y.tree(win)) if n["role"] == "push button"]
    assert buttons == ["Add a device", "Create a recovery file", "Invite someone", "Close"]
    xs.screenshot("02-ready")
    assert centred_width(xs, wid) == width  # the four buttons fit the one width
    a11y.press(win, "Invite someone")
    assert tray.next() == {"type": "action", "action": "invite_user", "arg": "/x/MyOrg.keys"}
    assert tray.exit_status() == 0


CLAIM_INIT = {
    "type": "USER",
    "organization_id": "ACME",
    "server": "127.0.0.1:6770",
    "encrypted": False,
    "invited_by": "Alice <alice@example.com>",
    "email": "bob@example.com",
    "device_label": "bob-pc",
}
SHOTS: list[tuple[str, dict[str, Any], str]] = [
    ("join", {"link": "", "device_label": "pc"}, "^Join organization"),
    (
        "login",
        {
            "device": {
                "organization_id": "ACME",
                "user_name": "Alice",
                "email": "alice@example.com",
                "device_label": "laptop",
                "server": "127.0.0.1:6770",
                "protection": "password",
            }
        },
        "^Log in",
    ),
    ("invite_user", {"organization_id": "ACME", "mode": "user"}, "^Invite user"),
    ("invite_device", {"organization_id": "ACME", "mode": "device"}, "^Add a device"),
    ("message", {"title": "Open link", "text": "This link cannot be used."}, "^Open link"),
    ("greet", {"organization_id": "ACME", "type": "USER", "who": "bob@example.com"}, "^Greet a new user"),
    ("claim", {**CLAIM_INIT}, "^Join organization"),
    ("recovery_export", {"organization_id": "ACME", "path": "/tmp/r.psrk"}, "^Create a recovery file"),
    ("recovery_import", {"path": "/tmp/r.psrk", "device_label": "pc"}, "^Import a recovery file"),
    (
        "change_auth",
        {"mode": "password", "protection": "password", "organization_id": "ACME"},
        "^Change password",
    ),
    (
        "terms",
        {
            "organization_id": "ACME",
            "updated_on": "2026-12-01",
            "links": [["en_US", "https://example.invalid/en"]],
        },
        "^Terms of service",
    ),
]
NEW_KINDS = SHOTS[-4:]


@pytest.mark.parametrize(("kind", "init", "title"), NEW_KINDS, ids=[s[0] for s in NEW_KINDS])
def test_the_recovery_auth_and_terms_dialogs_open_and_cancel_in_each_renderer(
    xs: DesktopSession, renderer: str, kind: str, init: dict[str, Any], title: str
) -> None:
    tray = Tray(xs, kind, init, renderer)
    xs.wait_dialog(title)
    assert tray.shown.wait(20)
    xs.screenshot(f"01-{kind}-{renderer}")
    xs.key("Escape")
    assert tray.next() == {"type": "cancel"}
    assert tray.exit_status() == 0


@pytest.mark.parametrize(("kind", "init", "title"), SHOTS, ids=[s[0] for s in SHOTS])
def test_gtk_every_control_has_an_accessible_name(
    xs: DesktopSession, kind: str, init: dict[str, Any], title: str
) -> None:
    a11y = Accessibility(xs.env)
    tray = Tray(xs, kind, init, "gtk")
    xs.wait_dialog(title)
    assert tray.shown.wait(20)
    found = controls(a11y.tree(title))
    assert found and all(n["name"] for n in found), found
    xs.screenshot(f"01-{kind}")
    a11y.press(title, "OK" if kind == "message" else "Cancel")
    assert tray.next() == {"type": "cancel"}
    assert tray.exit_status() == 0


INVITATION_ROWS = [
    {
        "token": "aa" * 16,
        "type": "USER",
        "label": "bob@example.com",
        "created_by": "Alice",
        "created_on": "2026-12-01T10:20:30Z",
        "link": "parsec3://127.0.0.1:6770/ACME?no_ssl=true&a=claim_user&p=xx",
    },
    {
        "token": "bb" * 16,
        "type": "DEVICE",
        "label": "A new device",
        "created_by": "Alice",
        "created_on": "2026-12-01T11:00:00Z",
        "link": "parsec3://127.0.0.1:6770/ACME?no_ssl=true&a=claim_device&p=yy",
    },
]


def test_pending_invitations_rows_layout(xs: DesktopSession, renderer: str) -> None:
    """Each row's texts over its buttons, in the one width, with no empty band."""
    tray = Tray(xs, "invitations", {"organization_id": "ACME"}, renderer)
    tray.dlg.send({"type": "list", "items": INVITATION_ROWS})
    wid = xs.wait_dialog("^Pending invitations")
    assert tray.shown.wait(20)
    assert tray.next() == {"type": "rendered", "count": 2}
    assert centred_width(xs, wid) >= 580
    no_empty_band(xs, wid)
    xs.screenshot(f"01-rows-{renderer}")
    xs.key("Escape")
    assert tray.next() == {"type": "cancel"}
    assert tray.exit_status() == 0


def test_gtk_pending_invitations_delete_asks_first(xs: DesktopSession) -> None:
    a11y = Accessibility(xs.env)
    win = "^Pending invitations"
    rows = INVITATION_ROWS
    tray = Tray(xs, "invitations", {"organization_id": "ACME"}, "gtk")
    tray.dlg.send({"type": "list", "items": rows})
    xs.wait_dialog(win)
    assert tray.shown.wait(20)
    assert tray.next() == {"type": "rendered", "count": 2}
    labels = {n["name"] for n in a11y.tree(win) if n["role"] == "label" and n["showing"]}
    assert "User invitation, created 2026-12-01 10:20 by Alice" in labels
    xs.screenshot("01-rows")
    a11y.press(win, "Greet A new device")  # each row has its Greet
    assert tray.next() == {"type": "greet", "token": "bb" * 16}
    a11y.press(win, "Delete invitation for bob@example.com…")
    confirm = "^Delete invitation"
    xs.wait_dialog(confirm)
    xs.screenshot("02-confirmation")
    xs.key("Escape")  # keep it: nothing is deleted
    xs.wait_window_gone(confirm, timeout=10)
    tray.nothing_for(0.3)
    a11y.press(win, "Delete invitation for bob@example.com…")
    xs.wait_dialog(confirm)
    a11y.press(confirm, "Delete invitation")
    assert tray.next() == {"type": "cancel_invitation", "token": "aa" * 16}
    tray.dlg.send({"type": "list", "items": rows[1:]})
    assert tray.next() == {"type": "rendered", "count": 1}
    assert any(n["name"] == "The invitation was deleted." and n["showing"] for n in a11y.tree(win)), (
        "no feedback after the deletion"
    )
    xs.screenshot("03-deleted")
    a11y.press(win, "Close")
    assert tray.next() == {"type": "cancel"}
    assert tray.exit_status() == 0


GREET_INIT = {"organization_id": "ACME", "type": "USER", "who": "bob@example.com", "token": "ab" * 16}
GREET = "^Greet a new user"


def test_gtk_greet_dialog_read_and_driven_by_accessibility(xs: DesktopSession) -> None:
    """The tray drives it step by step; the person reads the code, picks
    the guest's among the four, reviews and accepts, all through AT-SPI."""
    a11y = Accessibility(xs.env)
    tray = Tray(xs, "greet", GREET_INIT, "gtk")
    xs.wait_dialog(GREET)
    assert tray.shown.wait(20)
    assert tray.wait_state(lambda st: st["step"] == 1 and st["busy"])
    tray.dlg.send({"type": "code", "code": "K3LM"})
    tray.wait_state(lambda st: st["step"] == 2)
    tree = a11y.tree(GREET)
    big = [n for n in tree if n["description"] == "Your code"]
    assert [n["name"] for n in big if n["showing"]] == ["K3LM"], big
    xs.screenshot("01-greet-your-code")
    tray.dlg.send({"type": "choices", "choices": ["AB2C", "Q7XY", "MN4P", "ZZ9K"]})
    tray.wait_state(lambda st: st["step"] == 3 and not st["busy"])
    buttons = [n["name"] for n in a11y.tree(GREET) if n["role"] == "push button" and n["showing"]]
    assert buttons == ["AB2C", "Q7XY", "MN4P", "ZZ9K", "None of these", "Cancel"], buttons
    assert not any(n["description"] == "Your code" and n["showing"] for n in a11y.tree(GREET))
    xs.screenshot("02-greet-their-code")
    a11y.press(GREET, "MN4P")
    assert tray.next() == {"type": "choose", "code": "MN4P"}
    tray.dlg.send({"type": "claim", "email": "bob@example.com", "user_name": "Bob", "device_label": "bob-pc"})
    tray.wait_state(lambda st: st["step"] == 4 and not st["busy"])
    tree = a11y.tree(GREET)
    assert any(n["name"] == "bob@example.com" and n["showing"] for n in tree)
    a11y.press(GREET, "Accept")  # no profile yet: refused in the dialog
    tray.wait_state(lambda st: "profile" in st["errors"])
    a11y.press(GREET, "Member: sees what is shared with them", role="radio button")
    tray.wait_state(lambda st: "profile" not in st["errors"])
    xs.screenshot("03-greet-review")
    a11y.press(GREET, "Accept")
    assert tray.next() == {
        "type": "submit",
        "values": {"user_name": "Bob", "device_label": "bob-pc", "profile": "STANDARD"},
    }
    tray.dlg.send({"type": "result", "who": "Bob", "organization": "ACME"})
    wait_until(
        lambda: any(n["name"] == "Bob joined ACME" and n["showing"] for n in a11y.tree(GREET)),
        20,
        "the done page",
    )
    xs.screenshot("04-greet-done")
    a11y.press(GREET, "Close")
    assert tray.next() == {"type": "cancel"}
    assert tray.exit_status() == 0


def test_gtk_greet_dialog_wrong_code_waits_again_and_cancel_works_while_waiting(xs: DesktopSession) -> None:
    a11y = Accessibility(xs.env)
    tray = Tray(xs, "greet", GREET_INIT, "gtk")
    xs.wait_dialog(GREET)
    tray.dlg.send({"type": "code", "code": "K3LM"})
    tray.dlg.send({"type": "choices", "choices": ["AB2C", "Q7XY", "MN4P", "ZZ9K"]})
    tray.wait_state(lambda st: st["step"] == 3)
    a11y.press(GREET, "None of these")
    assert tray.next() == {"type": "choose", "code": None}
    tray.dlg.send({"type": "waiting", "banner": "The codes did not match, so nothing was created."})
    st = tray.wait_state(lambda st: st["step"] == 1 and st["banner"])
    assert st["busy"] and st["banner"] == "The codes did not match, so nothing was created."
    a11y.press(GREET, "Cancel")  # while it waits
    assert tray.next() == {"type": "cancel"}
    assert tray.exit_status() == 0


def test_tk_greet_dialog_by_keyboard(xs: DesktopSession) -> None:
    """The same steps drawn by Tk: the first code has the focus, Return picks
    it; the review's profile is a radio button; Return accepts."""
    tray = Tray(xs, "greet", GREET_INIT, "tk")
    wid = xs.wait_dialog(GREET)
    assert tray.shown.wait(20)
    width = centred_width(xs, wid)
    tray.dlg.send({"type": "code", "code": "K3LM"})
    tray.wait_state(lambda st: st["step"] == 2)
    no_empty_band(xs, wid)  # the code step is as tall as the code, not as the review
    centred_again(xs, wid)
    xs.screenshot("01-tk-greet-your-code")
    tray.dlg.send({"type": "choices", "choices": ["AB2C", "Q7XY", "MN4P", "ZZ9K"]})
    tray.wait_state(lambda st: st["step"] == 3 and not st["busy"])
    no_empty_band(xs, wid)
    centred_again(xs, wid)
    assert centred_width(xs, wid) == width
    xs.key("Return")
    assert tray.next() == {"type": "choose", "code": "AB2C"}
    tray.dlg.send({"type": "claim", "email": "bob@example.com", "user_name": "Bob", "device_label": "bob-pc"})
    tray.wait_state(lambda st: st["step"] == 4 and not st["busy"])
    xs.key("Return")  # no profile yet: refused in the dialog
    tray.wait_state(lambda st: "profile" in st["errors"])
    xs.key("space")  # the focus went to the field in error: the first profile
    tray.wait_state(lambda st: "profile" not in st["errors"])
    no_empty_band(xs, wid)
    centred_again(xs, wid)
    assert centred_width(xs, wid) == width
    xs.screenshot("02-tk-greet-review")
    xs.key("Return")
    assert tray.next() == {
        "type": "submit",
        "values": {"user_name": "Bob", "device_label": "bob-pc", "profile": "STANDARD"},
    }
    tray.dlg.send({"type": "result", "who": "Bob", "organization": "ACME"})
    xs.key("Return")  # Close
    assert tray.next() == {"type": "cancel"}
    assert tray.exit_status() == 0


def test_the_claim_dialog_walks_its_steps_in_each_renderer(xs: DesktopSession, renderer: str) -> None:
    """Join with an invitation, by keyboard: Continue, the greeter's code,
    the own code shown, the name, the password; the last page offers the
    recovery file."""
    tray = Tray(xs, "claim", CLAIM_INIT, renderer)
    wid = xs.wait_dialog("^Join organization")
    assert tray.shown.wait(20)
    width = centred_width(xs, wid)
    no_empty_band(xs, wid)
    xs.screenshot(f"01-claim-link-{renderer}")
    xs.key("Return")  # Continue
    assert tray.next() == {"type": "start"}
    tray.wait_state(lambda st: st["step"] == 2 and st["busy"])
    tray.dlg.send({"type": "choices", "choices": ["AB2C", "Q7XY", "MN4P", "ZZ9K"]})
    tray.wait_state(lambda st: st["step"] == 3 and not st["busy"])
    xs.key("Return")  # the first code has the focus
    assert tray.next() == {"type": "choose", "code": "AB2C"}
    tray.dlg.send({"type": "code", "code": "K3LM"})
    tray.wait_state(lambda st: st["step"] == 4)
    no_empty_band(xs, wid)  # the code's step is as tall as the code
    assert centred_width(xs, wid) == width
    xs.screenshot(f"02-claim-code-{renderer}")
    tray.dlg.send({"type": "details", "user_name": "", "device_label": "bob-pc"})
    tray.wait_state(lambda st: st["step"] == 5 and not st["busy"])
    xs.type("Bob")
    xs.key("Return")  # Next
    tray.wait_state(lambda st: st["step"] == 6)
    xs.type("correct horse battery")
    xs.key("Tab")
    xs.type("correct horse battery")
    no_empty_band(xs, wid)
    assert centred_width(xs, wid) == width
    xs.screenshot(f"03-claim-password-{renderer}")
    xs.key("Return")  # Join
    assert tray.next() == {
        "type": "submit",
        "values": {
            "user_name": "Bob",
            "device_label": "bob-pc",
            "keyring": False,
            "password": "correct horse battery",
        },
    }
    tray.dlg.send({"type": "result", "organization": "ACME", "device": "/x/ACME.keys"})
    tray.wait_state(lambda st: not st["busy"])
    no_empty_band(xs, wid)
    assert centred_width(xs, wid) == width
    xs.screenshot(f"04-claim-done-{renderer}")
    xs.key("Escape")
    assert tray.next() == {"type": "cancel"}
    assert tray.exit_status() == 0
