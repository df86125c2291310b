"""Greeting from the tray, end to end in the real desktop session: Xvfb,
trayer, dunst, a real Secret Service, the real Parsec server.

A claimer (the CLI ``claim --json``, a second process) starts a greeting
attempt; the tray's "is waiting" notification is shown by dunst, whose
default action (``dunstctl action``) opens the greeting dialog; the codes
are exchanged through the dialog, driven by its accessibility tree
(AT-SPI) as a person with a screen reader would; the new user exists on
the server with the profile chosen.  A wrong code goes back to the wait
step, with its explanation, and the next attempt succeeds.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from atspi_client import Accessibility
from cli_runner import Spawned, ok_json
from cli_runner import cli as run_cli
from desktop_session import DesktopSession, TrayApp, stop_process, wait_until
from parsec_server import ParsecServer
from test_tray_e2e import _icon_shows
from test_tray_live_e2e import desktop, fast_status, save_log  # noqa: F401 - the desktop fixture

pytestmark = [pytest.mark.desktop, pytest.mark.server, pytest.mark.timeout(300)]

FAST = {"_PARSEC_INVITE_POLLING_THROTTLE_MS": "100"}
YELLOW = (250, 204, 20)  # the waiting count's badge (tray/icons.py)
TITLE = "^Greet a new user"


def shown_code(a11y: Accessibility, title: str) -> str | None:
    """The code the dialog shows to read aloud (its label described "Your code")."""
    for node in a11y.tree(title):
        if node["description"] == "Your code" and node["showing"] and node["name"]:
            return str(node["name"])
    return None


def greet_status(app: TrayApp) -> dict[str, Any]:
    return dict(fast_status(app).get("dialogs", {}).get("greet") or {})


def invite_bob(app: TrayApp) -> str:
    """bob@example.com invited (the CLI, as Alice): the link."""
    invited = app.cli("invite-user", "bob@example.com", "--json")
    assert invited.returncode == 0, invited.stderr
    return str(json.loads(invited.stdout)["link"])


def claimer_for(link: str, home: Path) -> Spawned:
    claimer = Spawned("claim", link, "--user-name", "Bob", "--password-stdin", "--json", home=home, env=FAST)
    claimer.answer("bob's long password")
    assert claimer.event()["event"] == "invitation"
    return claimer


def exchange_codes(a11y: Accessibility, claimer: Spawned, *, right: bool, title: str = TITLE) -> None:
    """Our code read to the claimer, theirs chosen in the dialog (or a wrong one)."""
    mine = wait_until(lambda: shown_code(a11y, title), 60, "the greeter's code in the dialog", interval=0.3)
    choose = claimer.event()
    assert choose["event"] == "choose_code" and mine in choose["choices"]
    claimer.answer(mine)
    theirs = claimer.event()
    assert theirs["event"] == "your_code"

    def offered() -> bool:
        found = {n["name"] for n in a11y.tree(title) if n["role"] == "push button" and n["showing"]}
        return theirs["code"] in found and "None of these" in found

    wait_until(offered, 60, "the four codes and None of these", interval=0.3)
    a11y.press(title, theirs["code"] if right else "None of these")


@contextlib.contextmanager
def admin_tray(
    s: DesktopSession,
    server: ParsecServer,
    org: str,
    workdir: Path,
    name: str,
    config: dict[str, Any] | None = None,
) -> Iterator[TrayApp]:
    """Alice's organization (its configuration patched with ``config``
    through the administration API), her device in the OS keyring, her tray
    online (its dialogs with their accessibility bridge), the at-risk notice
    out of the way; at the end, the tray stopped cleanly, its log clean."""
    keyring = s.start_keyring("gk-greet")
    app = TrayApp(s, workdir, env=FAST)
    app.env.pop("NO_AT_BRIDGE", None)  # its dialogs speak AT-SPI, as on a desktop
    try:
        app.create_org(
            server.url, server.admin_token, org,
            email="alice@example.com", user="Alice", device="desk", password=None,
        )  # fmt: skip
        if config:
            server.admin("PATCH", f"/administration/organizations/{org}", config)
        app.start("--autostart")
        try:
            s.wait_tray_icon(TrayApp.CLASSNAME)
            app.wait_status(lambda x: x.get("stream") == "online", 60, "online, events stream open")
            # Its device is the only one: that notice first, out of the way.
            wait_until(
                lambda: any(t.startswith("Only this computer") for t, _b in s.notifications_shown()),
                30,
                "the at-risk notice",
                interval=0.2,
            )
            yield app
        finally:
            rc = app.stop()
            log = save_log(app, name)
        assert rc == 0, log[-3000:]
        assert "Traceback" not in log, log[-4000:]
    finally:
        stop_process(keyring)


@pytest.fixture
def alice_tray(
    desktop: DesktopSession,  # noqa: F811
    parsec_server: ParsecServer,
    org_name: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[TrayApp]:
    with admin_tray(desktop, parsec_server, org_name, tmp_path / "app", request.node.name) as app:
        yield app


def test_greet_from_the_notification_wrong_code_then_right(
    alice_tray: TrayApp, parsec_server: ParsecServer, org_name: str, tmp_path: Path
) -> None:
    app = alice_tray
    s = app.session
    link = invite_bob(app)
    a11y = Accessibility(s.env)

    # -- the claimer waits: the notification's default action opens the dialog.
    # (Not closed before: a closed notification's actions are gone.)
    assert _icon_shows(s, absent=(YELLOW,))  # nobody waiting: no count on the icon
    claimer = claimer_for(link, tmp_path / "bob")
    st = app.wait_status(lambda x: x.get("waiting") == ["bob@example.com"], 60, "bob waiting")
    assert st["icon_badge"] == 1
    # The icon the tray host shows has the count's badge now.
    wait_until(lambda: _icon_shows(s, YELLOW), 10, "the waiting count on the icon")
    s.screenshot("00-one-waiting")
    wait_until(lambda: int(s.dunstctl("count", "displayed")) == 1, 30, "the notification on screen")
    s.dunstctl("action", "0")
    s.wait_dialog(TITLE)
    waiting = (f"Waiting to join {org_name}", "bob@example.com is waiting to be greeted.")
    assert waiting in s.notifications_shown()

    # -- a wrong code: nothing is created, the dialog waits again and says why.
    exchange_codes(a11y, claimer, right=False)
    status, err = claimer.finish()
    assert status == 1 and "codes did not match" in err and "Traceback" not in err
    banner = wait_until(
        lambda: next(
            (n["name"] for n in a11y.tree(TITLE) if "codes did not match" in n["name"] and n["showing"]),
            None,
        ),
        30,
        "the explanation in the dialog",
        interval=0.3,
    )
    assert "bob@example.com" in banner and greet_status(app)["open"]
    assert len(parsec_server.users(org_name)) == 1  # Alice alone
    s.screenshot("01-wrong-code")

    # -- the same dialog, a new attempt: the right code, a review, the new user.
    claimer = claimer_for(link, tmp_path / "bob")
    exchange_codes(a11y, claimer, right=True)
    wait_until(
        lambda: any(n["name"] == "Profile" and n["showing"] for n in a11y.tree(TITLE)),
        60,
        "the review",
        interval=0.3,
    )
    tree = a11y.tree(TITLE)
    assert any(n["name"] == "bob@example.com" and n["showing"] for n in tree)  # the email, fixed
    assert greet_status(app).get("step") == 4
    a11y.press(TITLE, "Accept")  # no profile chosen yet: refused, with the reason
    wait_until(lambda: "profile" in greet_status(app).get("invalid", []), 20, "the profile asked for")
    a11y.press(TITLE, "Administrator: also invites and manages members", role="radio button")
    wait_until(lambda: "profile" not in greet_status(app).get("invalid", []), 20, "a profile chosen")
    s.screenshot("02-review")
    a11y.press(TITLE, "Accept")
    done = claimer.event(timeout=60)
    assert done["event"] == "done" and done["organization_id"] == org_name
    status, err = claimer.finish()
    assert status == 0, err
    st = app.wait_status(lambda x: (x.get("dialogs", {}).get("greet") or {}).get("who"), 60, "the done page")
    assert st["dialogs"]["greet"]["who"] == "Bob"
    s.screenshot("03-done")
    on_server = {u["user_id"]: u for u in parsec_server.users(org_name)}
    assert on_server[done["user_id"]]["user_email"] == "bob@example.com"
    listed = app.cli("users", "--json")
    assert listed.returncode == 0, listed.stderr
    bob = next(u for u in json.loads(listed.stdout) if u["user_id"] == done["user_id"])
    assert (bob["email"], bob["name"], bob["profile"]) == ("bob@example.com", "Bob", "ADMIN"), bob
    a11y.press(TITLE, "Close")
    s.wait_window_gone(TITLE, timeout=10)
    # Bob greeted, nobody waits: the count is gone from the icon.
    app.wait_status(lambda x: x.get("icon_badge") == 0, 30, "nobody waiting")
    wait_until(lambda: _icon_shows(s, absent=(YELLOW,)), 10, "the icon without a count")


def test_the_organization_configuration_shapes_inviting_and_greeting(
    desktop: DesktopSession,  # noqa: F811
    parsec_server: ParsecServer,
    org_name: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """An organization without External users and at its limit of active
    users (set with the administration API): the session keeps what its
    stream's ORGANIZATION_CONFIG said, Invite user… says both, and the
    greeting's review offers no External profile, saying why."""
    config = {"user_profile_outsider_allowed": False, "active_users_limit": 1}
    with admin_tray(desktop, parsec_server, org_name, tmp_path / "app", request.node.name, config) as app:
        s = app.session
        a11y = Accessibility(s.env)
        st = app.wait_status(
            lambda x: "organization_config" in x["sessions"][0], 30, "the configuration kept"
        )
        assert st["sessions"][0]["organization_config"] == {
            "user_profile_outsider_allowed": False,
            "active_users_limit": 1,
        }

        def shown(title: str, part: str) -> bool:
            return any(part in n["name"] and n["showing"] for n in a11y.tree(title))

        # -- Invite user…: Alice alone fills the limit of one; no External users.
        app.pick("Invite user…")
        s.wait_dialog("^Invite user")
        wait_until(
            lambda: shown("^Invite user", "has reached its limit of 1 active users"), 20, "the limit said"
        )
        assert shown("^Invite user", f"{org_name} does not allow External users")
        s.screenshot("01-invite-user-limits")
        a11y.press("^Invite user", "Cancel")
        s.wait_window_gone("^Invite user", timeout=10)

        # -- the greeting's review: Member and Administrator only, and why.
        link = invite_bob(app)
        claimer = claimer_for(link, tmp_path / "bob")
        app.wait_status(lambda x: x.get("waiting") == ["bob@example.com"], 60, "bob waiting")
        wait_until(lambda: int(s.dunstctl("count", "displayed")) == 1, 30, "the notification on screen")
        s.dunstctl("action", "0")
        s.wait_dialog(TITLE)
        exchange_codes(a11y, claimer, right=True)
        wait_until(lambda: greet_status(app).get("step") == 4, 60, "the review")
        radios = {n["name"] for n in a11y.tree(TITLE) if n["role"] == "radio button" and n["showing"]}
        assert radios == {
            "Member: sees what is shared with them",
            "Administrator: also invites and manages members",
        }, radios
        assert shown(TITLE, f"{org_name} does not allow External users")
        s.screenshot("02-review-without-external")
        a11y.press(TITLE, "Cancel")
        s.wait_window_gone(TITLE, timeout=10)
        status, err = claimer.finish()
        assert status != 0 and "Traceback" not in err
        assert len(parsec_server.users(org_name)) == 1


def test_add_a_device_shows_the_link_and_greets_it_right_away(alice_tray: TrayApp, tmp_path: Path) -> None:
    """Add a device… from the menu: the link, to copy, in a dialog already
    waiting for the new device; the CLI claims it; the new device logs in."""
    app = alice_tray
    s = app.session
    title = "^Greet a new device"
    a11y = Accessibility(s.env)
    app.pick("Add a device…")
    s.wait_dialog("^Add a device")
    s.key("Return")  # Create link
    s.wait_dialog(title)
    s.wait_window_gone("^Add a device", timeout=10)
    pending = app.cli("invitations", "--json")
    assert pending.returncode == 0, pending.stderr
    (device,) = [i for i in json.loads(pending.stdout) if i["type"] == "DEVICE"]
    # The dialog shows that link, with its Copy button, while it waits.
    tree = a11y.tree(title)
    assert any(n["name"] == "Copy link" and n["showing"] for n in tree)
    s.screenshot("01-device-link")
    a11y.press(title, "Copy link")
    wait_until(
        lambda: any("other computer" in n["name"] and n["showing"] for n in a11y.tree(title)),
        20,
        "Copied",
        interval=0.3,
    )
    home = tmp_path / "laptop"
    claimer = Spawned(
        "claim",
        device["link"],
        "--device-label",
        "laptop",
        "--password-stdin",
        "--json",
        home=home,
        env=FAST,
    )
    claimer.answer("laptop's long password")
    assert claimer.event()["event"] == "invitation"
    exchange_codes(a11y, claimer, right=True, title=title)
    wait_until(lambda: greet_status(app).get("step") == 4, 60, "the review")
    a11y.press(title, "Accept")
    done = claimer.event(timeout=60)
    assert done["event"] == "done"
    status, err = claimer.finish()
    assert status == 0, err
    st = app.wait_status(lambda x: (x.get("dialogs", {}).get("greet") or {}).get("who"), 60, "the done page")
    assert st["dialogs"]["greet"]["who"] == "laptop"
    # The new device is Alice's, and it logs in.
    login = run_cli("login", "--password-stdin", "--json", home=home, stdin="laptop's long password\n")
    assert ok_json(login)["device_id"] == done["device_id"]
    users = app.cli("users", "--json")
    assert users.returncode == 0, users.stderr
    assert [u["user_id"] for u in json.loads(users.stdout) if u["is_you"]] == [done["user_id"]]
    a11y.press(title, "Close")
    s.wait_window_gone(title, timeout=10)


def test_greet_from_the_menu_and_closing_the_dialog_cancels_the_attempt(
    alice_tray: TrayApp, parsec_server: ParsecServer, org_name: str, tmp_path: Path
) -> None:
    app = alice_tray
    s = app.session
    a11y = Accessibility(s.env)
    claimer = claimer_for(invite_bob(app), tmp_path / "bob")
    app.wait_status(lambda x: x.get("waiting") == ["bob@example.com"], 60, "bob waiting")
    app.pick("Greet bob@example.com (waiting)")
    s.wait_dialog(TITLE)
    mine = wait_until(lambda: shown_code(a11y, TITLE), 60, "the greeter's code", interval=0.3)
    assert claimer.event()["event"] == "choose_code"
    claimer.answer(mine)
    assert claimer.event()["event"] == "your_code"
    wait_until(lambda: greet_status(app).get("step") == 3, 60, "the codes to choose among")
    a11y.press(TITLE, "Cancel")  # instead of choosing bob's code
    s.wait_window_gone(TITLE, timeout=10)
    status, err = claimer.finish()
    assert status != 0 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    wait_until(
        lambda: "invite_greeter_cancel_greeting_attempt -> ok" in app.log_text(),
        20,
        "the attempt cancelled",
    )
    assert "other side cancelled" in err, err  # the greeter left
    assert len(parsec_server.users(org_name)) == 1  # nobody joined
