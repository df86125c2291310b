"""Joining with an invitation link from the tray, end to end in the real
desktop session (Xvfb, trayer, dunst, a real Secret Service) against the
real Parsec server.

Alice (core, in this process) invites; the link is handed to Bob's running
tray as a browser would (a second ``parsec-tray LINK``); the claim dialog
says what the link is, and nothing but ``invite_info`` reaches the server
before Continue; Alice greets (core's greeter, in a thread of this test)
while the dialog is driven through its accessibility tree (AT-SPI): her
code among 4, Bob's code read off the dialog, his details, his password
(or the OS keyring); the end: a logged-in new device in ``status``, and the
user (or device) on the server.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from atspi_client import Accessibility
from desktop_session import DesktopSession, TrayApp, stop_process, wait_until
from parsec_org import new_admin_session
from parsec_server import ParsecServer
from parsec_tray.core import Approval, UserProfile, find_invitation, greet, invitations
from parsec_tray.core.addr import NOT_A_LINK
from test_tray_greet_e2e import shown_code
from test_tray_live_e2e import desktop, fast_status, save_log  # noqa: F401 - the desktop fixture

pytestmark = [pytest.mark.desktop, pytest.mark.server, pytest.mark.timeout(300)]

FAST = {"_PARSEC_INVITE_POLLING_THROTTLE_MS": "100"}
TITLE = "^Join organization"
PASSWORD = "bob's long password"


class Alice:
    """Core's greeter in a thread: her code out, the claimer's code in."""

    def __init__(self, session: Any, token: str) -> None:
        self.session, self.token = session, token
        self.codes: queue.Queue[str] = queue.Queue()
        self.theirs: queue.Queue[str] = queue.Queue()
        self.out: list[Any] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.out.append(greet(self.session, find_invitation(self.session, self.token), self))
        except BaseException as exc:
            self.out.append(exc)

    def show_code(self, code: str) -> None:
        self.codes.put(code)

    def choose_code(self, choices: list[str]) -> str | None:
        code = self.theirs.get(timeout=60)
        assert code in choices
        return code

    def review(self, claim: Any) -> Approval:
        return Approval(
            claim.requested_device_label, getattr(claim, "requested_human_handle", None), UserProfile.STANDARD
        )


def showing(a11y: Accessibility, name: str, role: str | None = None) -> bool:
    return any(
        n["name"] == name and n["showing"] and (role is None or n["role"] == role) for n in a11y.tree(TITLE)
    )


def claim_status(app: TrayApp) -> dict[str, Any]:
    return dict(fast_status(app).get("dialogs", {}).get("claim") or {})


@pytest.fixture
def bob_tray(desktop: DesktopSession, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[TrayApp]:  # noqa: F811
    keyring = desktop.start_keyring("gk-claim")
    app = TrayApp(desktop, tmp_path / "bob", env=FAST)
    app.env.pop("NO_AT_BRIDGE", None)  # its dialogs speak AT-SPI, as on a desktop
    try:
        app.start()
        try:
            desktop.wait_tray_icon(TrayApp.CLASSNAME)
            app.wait_state("logged_out", timeout=30)
            yield app
        finally:
            rc = app.stop()
            log = save_log(app, request.node.name)
        assert rc == 0, log[-3000:]
        assert "Traceback" not in log, log[-4000:]
        assert PASSWORD not in log
    finally:
        stop_process(keyring)


@pytest.mark.parametrize("kind", ["user", "device"])
def test_a_claim_link_given_to_the_running_tray_ends_logged_in(
    bob_tray: TrayApp, parsec_server: ParsecServer, org_name: str, tmp_path: Path, kind: str
) -> None:
    app = bob_tray
    s = app.session
    a11y = Accessibility(s.env)
    alice = new_admin_session(parsec_server, org_name, tmp_path / "alice")
    user = kind == "user"
    new = (
        invitations.invite_new_user(alice, "bob@example.com")
        if user
        else invitations.invite_new_device(alice)
    )

    # -- the link, as a browser hands it over: the first page says what it is.
    second = app.cli(new.link.to_http_redirection_url() if user else new.url, timeout=30)
    assert second.returncode == 0, second.stderr
    s.wait_dialog(TITLE)
    wait_until(lambda: showing(a11y, "Continue", "push button"), 30, "the first page", interval=0.3)
    names = {n["name"] for n in a11y.tree(TITLE) if n["showing"]}
    assert {"Join as a user" if user else "Add a device", org_name, "Not encrypted (test server)"} <= names
    assert "Alice <alice@example.com>" in names
    assert ("bob@example.com" in names) == user
    s.screenshot(f"01-{kind}-what-the-link-is")
    assert "invite_claimer_start_greeting_attempt" not in app.log_text()  # nothing sent yet

    # -- Continue: Alice greets; her code among 4, then Bob's code read to her.
    greeter = Alice(alice, new.token.hex())
    greeter.thread.start()
    a11y.press(TITLE, "Continue")
    hers = greeter.codes.get(timeout=60)
    wait_until(lambda: showing(a11y, hers, "push button"), 60, "the four codes", interval=0.3)
    assert showing(a11y, "None of these", "push button")
    a11y.press(TITLE, hers)
    mine = wait_until(lambda: shown_code(a11y, TITLE), 60, "Bob's code in the dialog", interval=0.3)
    greeter.theirs.put(mine)

    # -- the details, then the password (or the keyring), asked only now.
    wait_until(lambda: claim_status(app).get("step") == 5, 60, "the details step")
    assert not alice_has_new(alice, parsec_server, org_name, user)
    if user:
        assert showing(a11y, "bob@example.com")  # the invitation's email, fixed
        a11y.focus(TITLE, "Your name", "text")
        s.type("Bob")
    s.screenshot(f"02-{kind}-details")
    a11y.press(TITLE, "Next")
    wait_until(lambda: claim_status(app).get("step") == 6, 20, "the password step")
    if user:
        a11y.focus(TITLE, "Password", "password text")
        s.type(PASSWORD)
        a11y.focus(TITLE, "Confirm password", "password text")
        s.type(PASSWORD)
    else:
        a11y.press(TITLE, "Use the OS keyring instead of a password", role="check box")
    a11y.press(TITLE, "Join")

    # -- done: logged in, the recovery file advised, the new member on the server.
    wait_until(lambda: showing(a11y, f"You joined {org_name}"), 90, "the done page", interval=0.3)
    assert showing(a11y, "Create a recovery file", "push button")
    s.screenshot(f"03-{kind}-done")
    greeter.thread.join(60)
    (greeted,) = greeter.out
    assert not isinstance(greeted, BaseException), greeted
    st = app.wait_status(
        lambda x: any(v.get("device_id") == greeted.device_id.hex for v in x.get("sessions") or []),
        60,
        "the new device logged in",
    )
    (session,) = [v for v in st["sessions"] if v["device_id"] == greeted.device_id.hex]
    assert session["organization_id"] == org_name and session["state"] in ("online", "connecting")
    assert (app.devices_dir / f"{greeted.device_id.hex}.keys").is_file()
    if user:
        assert {u["user_email"] for u in parsec_server.users(org_name)} == {
            "alice@example.com",
            "bob@example.com",
        }
        assert session["user_id"] == greeted.user_id.hex != alice.device.user_id.hex
    else:
        assert session["user_id"] == alice.device.user_id.hex
    assert [i.status for i in invitations.invite_list(alice) if i.token == new.token] == ["FINISHED"]
    if user:
        # The advice's button: the recovery file dialog, for the new session.
        a11y.press(TITLE, "Create a recovery file")
        s.wait_window_gone(TITLE, timeout=10)
        s.wait_dialog("^Create a recovery file")
        recovery = fast_status(app)["dialogs"]["recovery_export"]
        assert recovery["open"]
        s.key("Escape")
        s.wait_window_gone("^Create a recovery file", timeout=10)
    else:
        a11y.press(TITLE, "Close")
        s.wait_window_gone(TITLE, timeout=10)
    alice.close()


def alice_has_new(alice: Any, server: ParsecServer, org: str, user: bool) -> bool:
    """Whether anything was created yet (it must not be before the details)."""
    if user:
        return len(server.users(org)) > 1
    return any(i.status == "FINISHED" for i in invitations.invite_list(alice))


def invite_bob_and_continue(
    app: TrayApp, server: ParsecServer, org_name: str, tmp_path: Path
) -> tuple[Accessibility, Any, Alice, str]:
    """Alice invites Bob and starts greeting; the link is handed to Bob's
    tray and its first page continued: Alice's code, once the server has
    paired them (with the accessibility client and Alice's session)."""
    s = app.session
    a11y = Accessibility(s.env)
    alice = new_admin_session(server, org_name, tmp_path / "alice")
    new = invitations.invite_new_user(alice, "bob@example.com")
    greeter = Alice(alice, new.token.hex())
    greeter.thread.start()
    assert app.cli(new.url, timeout=30).returncode == 0
    s.wait_dialog(TITLE)
    wait_until(lambda: showing(a11y, "Continue", "push button"), 30, "the first page", interval=0.3)
    a11y.press(TITLE, "Continue")
    return a11y, alice, greeter, greeter.codes.get(timeout=60)


def test_closing_the_claim_dialog_cancels_and_saves_nothing(
    bob_tray: TrayApp, parsec_server: ParsecServer, org_name: str, tmp_path: Path
) -> None:
    app, s = bob_tray, bob_tray.session
    a11y, alice, greeter, hers = invite_bob_and_continue(bob_tray, parsec_server, org_name, tmp_path)
    wait_until(lambda: showing(a11y, hers, "push button"), 60, "the four codes", interval=0.3)
    a11y.press(TITLE, "Cancel")  # instead of choosing her code
    s.wait_window_gone(TITLE, timeout=10)
    wait_until(
        lambda: "invite_claimer_cancel_greeting_attempt -> ok" in app.log_text(), 20, "the attempt cancelled"
    )
    greeter.thread.join(60)
    (out,) = greeter.out
    assert isinstance(out, BaseException), out  # the claimer left
    assert len(parsec_server.users(org_name)) == 1
    assert not list(app.devices_dir.glob("*.keys"))  # nothing saved
    assert fast_status(app)["state"] == "logged_out"
    alice.close()


def test_a_pasted_invitation_link_in_join_organization_opens_the_claim(
    bob_tray: TrayApp, parsec_server: ParsecServer, org_name: str, tmp_path: Path
) -> None:
    """Join organization… from the menu: a link that is not Parsec's gets
    one sentence next to the field; a pasted invitation link goes on to
    the claim dialog's first page (no email asked)."""
    app = bob_tray
    s = app.session
    a11y = Accessibility(s.env)
    alice = new_admin_session(parsec_server, org_name, tmp_path / "alice")
    new = invitations.invite_new_user(alice, "bob@example.com")
    app.pick("Join organization…")
    s.wait_dialog(TITLE)
    a11y.focus(TITLE, "Link", "text")
    s.type("https://example.com/invite")
    s.key("Return")
    wait_until(
        lambda: "link" in (fast_status(app).get("dialogs", {}).get("join") or {}).get("invalid", []),
        20,
        "the link refused",
    )
    assert showing(a11y, NOT_A_LINK)
    s.key("ctrl+a")
    s.type(new.url)
    s.key("Return")  # Next: the claim dialog takes over
    wait_until(lambda: claim_status(app).get("open"), 30, "the claim dialog")
    s.wait_dialog(TITLE)
    wait_until(lambda: showing(a11y, "Continue", "push button"), 30, "its first page", interval=0.3)
    assert showing(a11y, "Join as a user") and showing(a11y, "bob@example.com")
    assert not (fast_status(app).get("dialogs", {}).get("join") or {}).get("open")
    a11y.press(TITLE, "Cancel")
    s.wait_window_gone(TITLE, timeout=10)
    assert [i.status for i in invitations.invite_list(alice) if i.token == new.token] == ["PENDING"]
    alice.close()


def test_a_wrong_code_says_why_and_a_new_attempt_waits(
    bob_tray: TrayApp, parsec_server: ParsecServer, org_name: str, tmp_path: Path
) -> None:
    """Bob says none of the codes is Alice's: the attempt is cancelled on
    both sides, the dialog goes back to the wait and says why; Alice starts
    again and the codes are compared anew in the same dialog."""
    app, s = bob_tray, bob_tray.session
    a11y, alice, greeter, hers = invite_bob_and_continue(bob_tray, parsec_server, org_name, tmp_path)
    wait_until(lambda: showing(a11y, "None of these", "push button"), 60, "the four codes", interval=0.3)
    a11y.press(TITLE, "None of these")
    banner = wait_until(
        lambda: next(
            (n["name"] for n in a11y.tree(TITLE) if "codes did not match" in n["name"] and n["showing"]),
            None,
        ),
        30,
        "the explanation in the dialog",
        interval=0.3,
    )
    assert "Alice <alice@example.com>" in banner and claim_status(app).get("step") == 2
    greeter.thread.join(60)
    (out,) = greeter.out
    assert getattr(out, "reason", None) == "INVALID_SAS_CODE", out  # Alice was told
    s.screenshot("01-wrong-code")
    # Alice again: the same dialog, a new attempt.
    again = Alice(alice, greeter.token)
    again.thread.start()
    second = again.codes.get(timeout=60)
    wait_until(lambda: showing(a11y, second, "push button"), 60, "the new codes", interval=0.3)
    assert not any("codes did not match" in n["name"] and n["showing"] for n in a11y.tree(TITLE))
    a11y.press(TITLE, second)
    mine = wait_until(lambda: shown_code(a11y, TITLE), 60, "Bob's code", interval=0.3)
    assert mine and hers  # both sides got this far twice
    again.theirs.put(mine)
    wait_until(lambda: claim_status(app).get("step") == 5, 60, "the details step")
    a11y.press(TITLE, "Cancel")  # at the details: Alice waits for the claim
    s.wait_window_gone(TITLE, timeout=10)
    again.thread.join(60)
    (out,) = again.out
    assert isinstance(out, BaseException), out  # Bob left: nothing was created
    assert not list(app.devices_dir.glob("*.keys"))
    assert len(parsec_server.users(org_name)) == 1
    alice.close()
