"""The Tk dialogs in their child processes, typed into on a real X server
(Xvfb), with this test playing the tray's side of the pipe: inline
validation stops bad input, ``submit`` carries exactly what was typed,
errors come back to the right step and field with the other fields kept,
a busy dialog ignores a second Return, and the process ends when it should.

Screenshots go to ``test-artifacts/tray-dialogs/``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import require
from desktop_session import DesktopSession, missing_desktop_tools, wait_until
from parsec_tray.tray.dialogs import DialogProcess

pytestmark = [pytest.mark.desktop, pytest.mark.timeout(180)]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "tray-dialogs"
SERVER = "parsec3://127.0.0.1:6770?no_ssl=true"
PASSWORD = "correct horse battery"


@pytest.fixture
def xs(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[DesktopSession]:
    missing = missing_desktop_tools()
    require(not missing, "the desktop test tools (" + ", ".join(missing) + ")")
    with DesktopSession(
        tmp_path, tray_host=False, notifications=False, artifacts=ARTIFACTS / request.node.name
    ) as s:
        yield s


class Tray:
    """The tray's side: messages from the dialog, and its exit status."""

    def __init__(self, s: DesktopSession, kind: str, init: dict[str, Any]) -> None:
        self.inbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self.exit: queue.Queue[int] = queue.Queue()
        self.shown = threading.Event()  # the dialog says it is mapped and focused
        self.states: list[dict[str, Any]] = []  # what it says it shows, each time it changes
        self._changed = threading.Condition()
        self.dlg = DialogProcess(kind, init, self._received, lambda d, rc: self.exit.put(rc), env=s.env)
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


def test_create_dialog(xs: DesktopSession) -> None:
    tray = Tray(xs, "create", {"server": "", "admin_token": "", "device_label": "suggested-name"})
    xs.wait_dialog("^Create organization")
    assert tray.shown.wait(20)  # its own word: mapped, the first field focused

    # Step 1 with two bad fields: Return stays on step 1 and says why.
    type_fields(xs, "alice", "my org", SERVER)
    xs.key("Return")
    st = tray.wait_state(lambda st: bool(st["errors"]))
    assert st["step"] == 1 and set(st["errors"]) == {"email", "organization"} and not st["busy"]
    xs.screenshot("01-step1-inline-errors")
    tray.nothing_for(0.3)
    # The first wrong field has the focus, its text selected: retype it.
    xs.type("alice@example.com")
    xs.key("Tab")
    xs.type("MyOrg")
    xs.key("Return")
    assert tray.wait_state(lambda st: st["step"] == 2)["errors"] == {}

    # Step 2: the device name is suggested (Tab selects it, typing replaces it);
    # a mismatched confirmation stops the submit.
    type_fields(xs, "Alice", "laptop", PASSWORD, PASSWORD + "!")
    xs.key("Return")
    assert set(tray.wait_state(lambda st: bool(st["errors"]))["errors"]) == {"confirm"}
    xs.screenshot("02-step2-confirmation-differs")
    tray.nothing_for(0.3)
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


def test_login_dialog_wrong_then_right_password(xs: DesktopSession) -> None:
    device = {
        "organization_id": "MyOrg",
        "user_name": "Alice",
        "email": "alice@example.com",
        "device_label": "laptop",
        "server": "127.0.0.1:6770 (no TLS)",
        "protection": "password",
    }
    tray = Tray(xs, "login", {"device": device})
    xs.wait_dialog("^Log in")
    assert tray.shown.wait(20)  # its own word: mapped, the first field focused
    xs.key("Return")  # empty password: refused inline
    tray.nothing_for(0.3)
    xs.type("wrong password")
    xs.key("Return")
    assert tray.next() == {"type": "submit", "values": {"password": "wrong password"}}
    tray.dlg.send(
        {"type": "error", "message": "Wrong password for this device.", "step": None, "field": "password"}
    )
    st = tray.wait_state(lambda st: not st["busy"] and bool(st["errors"]))
    assert st["errors"] == {"password": "Wrong password for this device."}
    xs.screenshot("01-wrong-password")
    xs.type(PASSWORD)  # the field was emptied and focused
    xs.key("Return")
    assert tray.next() == {"type": "submit", "values": {"password": PASSWORD}}
    tray.dlg.send({"type": "done"})
    assert tray.exit_status() == 0


def test_join_dialog_with_a_link_starts_at_the_email(xs: DesktopSession) -> None:
    from parsec_tray.core.addr import ParsecOrganizationBootstrapAddr, parse_server
    from parsec_tray.core.values import AccessToken, OrganizationID

    link = ParsecOrganizationBootstrapAddr(
        parse_server(SERVER), OrganizationID("MyOrg"), AccessToken(b"k" * 16)
    ).to_url()
    tray = Tray(xs, "join", {"link": link, "device_label": "pc"})
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


def test_escape_cancels_and_a_dead_tray_closes_the_dialog(xs: DesktopSession) -> None:
    tray = Tray(xs, "create", {})
    xs.wait_dialog("^Create organization")
    assert tray.shown.wait(20)  # its own word: mapped, the first field focused
    xs.key("Escape")
    assert tray.next() == {"type": "cancel"}
    assert tray.exit_status() == 0

    tray = Tray(xs, "message", {"title": "Open link", "text": "This link cannot be used."})
    xs.wait_dialog("^Open link")
    assert tray.shown.wait(20)  # its own word: mapped, the first field focused
    assert tray.dlg.proc is not None and tray.dlg.proc.stdin is not None
    tray.dlg.proc.stdin.close()  # what the dialog sees when the tray dies
    assert tray.exit_status() == 0
    wait_until(lambda: not xs.search(name="^Open link"), 10, "the message window to close")
