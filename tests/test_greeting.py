"""Greeting and claiming through the real server: our greeter with our
claimer (core, then the CLI contract as two processes talking through
pipes), for user and device invitations; the claimer's new device then
logs in.  Every request both sides send is loaded with the reference
bindings' request loaders.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from cli_runner import Spawned, ok_json
from cli_runner import cli as run_cli
from conftest import require
from parsec_org import PASSWORD, add_user, new_admin_session
from parsec_server import ParsecServer
from parsec_tray.core import api, errors, invitations
from parsec_tray.core.invite import ClaimDetails, claim, find_invitation, greet
from parsec_tray.core.invite.driver import THROTTLE_ENV
from parsec_tray.core.session import Session
from parsec_tray.core.transport import Transport
from parsec_tray.core.values import DeviceLabel, UserProfile

try:
    from invite_room import ScriptedClaimer, ScriptedGreeter
    from parsec._parsec import anonymous_cmds, authenticated_cmds, invited_cmds
except ImportError:  # pragma: no cover - require() fails or skips below
    authenticated_cmds = None

pytestmark = pytest.mark.server


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, bytes]]]:
    """Every command body this process sends, whichever side sends it."""
    require(authenticated_cmds is not None, "parsec-cloud 3.9.3 (the parsec._parsec reference bindings)")
    monkeypatch.setenv(THROTTLE_ENV, "100")
    bodies: list[tuple[str, bytes]] = []
    real = Transport.command

    def command(
        self: Transport, family: str, org: Any, body: bytes, headers: Mapping[str, str], *, route: str = ""
    ) -> dict[str, Any]:
        bodies.append((family, body))
        return real(self, family, org, body, headers, route=route)

    monkeypatch.setattr(Transport, "command", command)
    yield bodies


def _loaded(bodies: list[tuple[str, bytes]]) -> list[str]:
    """Each body through the reference loader of its route; the command names."""
    names = []
    for family, body in bodies:
        mod = {"authenticated": authenticated_cmds, "invited": invited_cmds, "anonymous": anonymous_cmds}[
            family
        ]
        req = mod.latest.AnyCmdReq.load(body)
        names.append(type(req).__module__.rsplit(".", 1)[-1])
    return names


def _greet_in_thread(session: Session, token: Any, ui: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(greet(session, find_invitation(session, token), ui))
        except BaseException as exc:
            out.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


@pytest.mark.parametrize("kind", ["user", "device", "user-details-later"])
def test_our_greeter_with_our_claimer(
    parsec_server: ParsecServer, org_name: str, config_home: Path, tmp_path: Path, sent: Any, kind: str
) -> None:
    alice = new_admin_session(parsec_server, org_name, config_home)
    later = kind.endswith("-later")  # the tray's order: name and password asked after the codes
    kind = kind.split("-")[0]
    new = (
        invitations.invite_new_user(alice, "bob@example.com")
        if kind == "user"
        else invitations.invite_new_device(alice)
    )
    g_codes: queue.Queue[str] = queue.Queue()
    c_codes: queue.Queue[str] = queue.Queue()
    gui = ScriptedGreeter(g_codes, c_codes, profile=UserProfile.ADMIN)
    cui = ScriptedClaimer(c_codes, g_codes)
    t, greeted = _greet_in_thread(alice, new.token.hex(), gui)
    info = invitations.invite_info(new.link)
    claimer_home = tmp_path / "bob-config"
    asked: list[int] = []

    def details() -> ClaimDetails:
        asked.append(len(cui.greeters))  # after the greeter's code was chosen
        return ClaimDetails(DeviceLabel("bob-pc"), "Bob", PASSWORD)

    if later:
        created = claim(new.link, info, cui, details=details, config_dir=claimer_home)
        assert asked == [1]
    else:
        created = claim(
            new.link,
            info,
            cui,
            device_label=DeviceLabel("bob-pc"),
            user_name="Bob",
            password=PASSWORD,
            config_dir=claimer_home,
        )
    t.join(60)
    assert created.session is not None
    created.session.close()
    (result,) = greeted
    assert not isinstance(result, BaseException), result
    assert (result.user_id.hex, result.device_id.hex) == (created.user_id, created.device_id)
    assert created.device_file.parent == claimer_home / "devices"
    if kind == "user":
        assert result.profile == UserProfile.ADMIN and str(result.human_handle) == "Bob <bob@example.com>"
        assert created.user_id != alice.device.user_id
        assert [str(a) for a in cui.greeters] == ["Alice <alice@example.com>"]
    else:
        assert created.user_id == alice.device.user_id.hex and created.device_id != alice.device.device_id.hex
    # The invitation is used up; the new device opens from its file and pings.
    assert [i.status for i in invitations.invite_list(alice) if i.token == new.token] == ["FINISHED"]
    with pytest.raises(errors.InvitationGoneError):
        invitations.invite_info(new.link)
    listed = api.find_device(created.device_id, config_dir=claimer_home)
    again = api.login(listed, password=PASSWORD)
    again.close()
    names = _loaded(sent)
    for step in (
        "invite_greeter_start_greeting_attempt",
        "invite_greeter_step",
        "invite_claimer_start_greeting_attempt",
        "invite_claimer_step",
        "invite_complete",
        "user_create" if kind == "user" else "device_create",
    ):
        assert step in names, (step, names)
    assert names.count("invite_claimer_step") >= 9 and names.count("invite_greeter_step") >= 9
    alice.close()


def test_claim_waits_on_every_administrator(
    parsec_server: ParsecServer, org_name: str, config_home: Path, tmp_path: Path, sent: Any
) -> None:
    alice = new_admin_session(parsec_server, org_name, config_home)
    carol = add_user(alice, "carol@example.com", "Carol", UserProfile.ADMIN)
    new = invitations.invite_new_user(alice, "bob@example.com")
    g_codes: queue.Queue[str] = queue.Queue()
    c_codes: queue.Queue[str] = queue.Queue()
    info = invitations.invite_info(new.link)
    assert len(info.greeters()) == 2
    # Carol (not the invitation's author) is the one who greets.
    t, greeted = _greet_in_thread(carol, new.token.hex(), ScriptedGreeter(g_codes, c_codes))
    cui = ScriptedClaimer(c_codes, g_codes)
    created = claim(
        new.link,
        info,
        cui,
        device_label=DeviceLabel("pc"),
        user_name="Bob",
        password=PASSWORD,
        config_dir=tmp_path,
    )
    t.join(60)
    assert created.session is not None
    created.session.close()
    assert [str(g) for g in cui.greeters] == ["Carol <carol@example.com>"]
    assert greeted[0].user_id.hex == created.user_id
    starts = [n for n in _loaded(sent) if n == "invite_claimer_start_greeting_attempt"]
    assert len(starts) >= 2  # one attempt per administrator
    cancels = [n for n in _loaded(sent) if n == "invite_claimer_cancel_greeting_attempt"]
    assert len(cancels) >= 1  # Alice's attempt, once Carol won
    alice.close()


# --- the CLI contract, two processes -------------------------------------------------------


def _cli(home: Path, *args: str, stdin: str = PASSWORD + "\n") -> Any:
    return run_cli(*args, home=home, stdin=stdin)


def redirect_form(link: str) -> str:
    from parsec_tray.core.addr import ParsecInvitationAddr

    return ParsecInvitationAddr.parse(link).to_http_redirection_url()


def _admin(home: Path, server: ParsecServer, org: str) -> None:
    ok_json(
        _cli(
            home,
            "create-org",
            "--server",
            server.url,
            "--org",
            org,
            "--email",
            "alice@example.com",
            "--user-name",
            "Alice",
            "--device-label",
            "desk",
            "--admin-token",
            server.admin_token,
            "--password-stdin",
            "--json",
        )
    )


FAST = {THROTTLE_ENV: "100"}


def _ceremony(
    greeter: Spawned, claimer: Spawned, *, greeter_pick: str = "right", claimer_pick: str = "right"
) -> Any:
    invitation = claimer.event()
    assert invitation["event"] == "invitation"
    mine = greeter.event()
    assert mine["event"] == "your_code" and len(mine["code"]) == 4
    choose = claimer.event()
    assert (
        choose["event"] == "choose_code" and len(choose["choices"]) == 4 and mine["code"] in choose["choices"]
    )
    if claimer_pick == "right":
        claimer.answer(str(choose["choices"].index(mine["code"]) + 1))  # by number
    else:
        claimer.answer(next(c for c in choose["choices"] if c != mine["code"]).lower())
        return invitation
    theirs = claimer.event()
    assert theirs["event"] == "your_code"
    choose = greeter.event()
    assert choose["event"] == "choose_code" and theirs["code"] in choose["choices"]
    greeter.answer(theirs["code"].lower() if greeter_pick == "right" else "")  # by code, any case / none
    return invitation


def test_cli_greet_and_claim_a_user_then_a_device(
    tmp_path: Path, parsec_server: ParsecServer, org_name: str
) -> None:
    admin_home, bob_home, bob2_home = tmp_path / "alice", tmp_path / "bob", tmp_path / "bob2"
    _admin(admin_home, parsec_server, org_name)
    invited = ok_json(_cli(admin_home, "invite-user", "bob@example.com", "--password-stdin", "--json"))

    greeter = Spawned(
        "greet",
        invited["token"],
        "--profile",
        "admin",
        "--password-stdin",
        "--json",
        home=admin_home,
        env=FAST,
    )
    greeter.answer(PASSWORD)
    claimer = Spawned(
        "claim",
        invited["link"],
        "--user-name",
        "Bob",
        "--device-label",
        "bob-pc",
        "--password-stdin",
        "--json",
        home=bob_home,
        env=FAST,
    )
    claimer.answer("bob's password")
    invitation = _ceremony(greeter, claimer)
    assert invitation["type"] == "user" and invitation["organization_id"] == org_name
    assert invitation["greeter"]["email"] == "alice@example.com"
    request = greeter.event()
    assert request == {
        "event": "claim_request",
        "email": "bob@example.com",
        "user_name": "Bob",
        "device_label": "bob-pc",
    }
    g_done, c_done = greeter.event(), claimer.event()
    assert g_done["event"] == "done" and g_done["profile"] == "ADMIN"
    assert c_done["event"] == "done" and set(c_done) == {
        "event",
        "device_file",
        "organization_id",
        "user_id",
        "device_id",
        "server_url",
        "organization_url",
    }
    assert (g_done["user_id"], g_done["device_id"]) == (c_done["user_id"], c_done["device_id"])
    assert greeter.finish()[0] == 0 and claimer.finish()[0] == 0
    assert Path(c_done["device_file"]).is_file()
    # Bob logs in on his new device; then greets a second device of his own.
    assert (
        ok_json(_cli(bob_home, "login", "--password-stdin", "--json", stdin="bob's password\n"))["user_id"]
        == c_done["user_id"]
    )
    device = ok_json(_cli(bob_home, "invite-device", "--password-stdin", "--json", stdin="bob's password\n"))
    greeter = Spawned("greet", device["link"], "--password-stdin", "--json", home=bob_home, env=FAST)
    greeter.answer("bob's password")
    claimer = Spawned(
        "claim",
        redirect_form(device["link"]),  # the https://…/redirect/… form
        "--device-label",
        "bob-phone",
        "--password-stdin",
        "--json",
        home=bob2_home,
        env=FAST,
    )
    claimer.answer("phone password")
    assert _ceremony(greeter, claimer)["type"] == "device"
    assert greeter.event() == {
        "event": "claim_request",
        "email": "bob@example.com",
        "user_name": "Bob",
        "device_label": "bob-phone",
    }
    g_done, c_done2 = greeter.event(), claimer.event()
    assert c_done2["user_id"] == c_done["user_id"] and c_done2["device_id"] != c_done["device_id"]
    assert g_done["device_id"] == c_done2["device_id"]
    assert greeter.finish()[0] == 0 and claimer.finish()[0] == 0
    assert (
        ok_json(_cli(bob2_home, "login", "--password-stdin", "--json", stdin="phone password\n"))["device_id"]
        == c_done2["device_id"]
    )


def _bob_invited(tmp_path: Path, server: ParsecServer, org: str) -> tuple[Path, Path, Any, Spawned, Spawned]:
    """Alice's organization, Bob invited, and both CLIs started (passwords given)."""
    admin_home, bob_home = tmp_path / "alice", tmp_path / "bob"
    _admin(admin_home, server, org)
    invited = ok_json(_cli(admin_home, "invite-user", "bob@example.com", "--password-stdin", "--json"))
    greeter = Spawned("greet", invited["token"], "--password-stdin", "--json", home=admin_home, env=FAST)
    greeter.answer(PASSWORD)
    claimer = Spawned(
        "claim", invited["link"], "--user-name", "Bob", "--password-stdin", "--json", home=bob_home, env=FAST
    )
    claimer.answer("pw")
    return admin_home, bob_home, invited, greeter, claimer


@pytest.mark.parametrize("who", ["claimer", "greeter"])
def test_cli_wrong_code_cancels_and_saves_nothing(
    tmp_path: Path, parsec_server: ParsecServer, org_name: str, who: str
) -> None:
    admin_home, bob_home, invited, greeter, claimer = _bob_invited(tmp_path, parsec_server, org_name)
    _ceremony(greeter, claimer, claimer_pick="wrong" if who == "claimer" else "right", greeter_pick="wrong")
    (g_status, g_err), (c_status, c_err) = greeter.finish(), claimer.finish()
    assert g_status == 1 and c_status == 1
    chooser_err, other_err = (c_err, g_err) if who == "claimer" else (g_err, c_err)
    for err in (chooser_err, other_err):
        assert "codes did not match" in err and "start again" in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
    assert "other side reported a wrong code" in other_err
    assert "other side" not in chooser_err
    assert not (bob_home / "config").exists() or not list((bob_home / "config").rglob("*.keys"))
    # The invitation is still pending: start again.
    pending = ok_json(_cli(admin_home, "invitations", "--password-stdin", "--json"))
    assert [i["token"] for i in pending] == [invited["token"]]


def test_cli_claim_refusals_say_one_sentence(
    tmp_path: Path, parsec_server: ParsecServer, org_name: str
) -> None:
    from parsec_tray.core.addr import ParsecInvitationAddr, parse_server
    from parsec_tray.core.values import AccessToken

    admin_home, bob_home = tmp_path / "alice", tmp_path / "bob"
    _admin(admin_home, parsec_server, org_name)
    invited = ok_json(_cli(admin_home, "invite-user", "bob@example.com", "--password-stdin", "--json"))
    ok_json(_cli(admin_home, "cancel-invitation", invited["token"], "--password-stdin", "--json"))
    link = ParsecInvitationAddr.parse(invited["link"])
    unknown = ParsecInvitationAddr(link.server, link.organization_id, "USER", AccessToken.new()).to_url()
    from parsec_server import free_port

    offline = ParsecInvitationAddr(
        parse_server(f"parsec3://127.0.0.1:{free_port()}?no_ssl=true"),
        link.organization_id,
        "USER",
        link.token,
    ).to_url()
    bootstrap_link = f"parsec3://127.0.0.1:{link.server.port}/{org_name}?no_ssl=true&a=bootstrap_organization&p=xBCqqqqqqqqqqqqqqqqqqqqq"
    cases = [
        (invited["link"], "already been used or was cancelled"),
        (unknown, "does not know this invitation"),
        (offline, "cannot be reached"),
        (bootstrap_link, "not an invitation link"),
        ("parsec3://nope", "link"),
    ]
    for target, words in cases:
        r = _cli(bob_home, "claim", target, "--user-name", "Bob", "--password-stdin", "--json", stdin="pw\n")
        assert r.returncode != 0 and words in r.stderr, (target, r.stderr)
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert all(json.loads(line)["event"] == "invitation" for line in r.stdout.splitlines())
    assert not list(bob_home.rglob("*.keys")) and not list(bob_home.rglob("*.tmp"))
    # The greeter side: a cancelled or unknown invitation, a malformed token.
    for target, words in (
        (invited["token"], "cancelled"),
        ("00" * 16, "no such invitation"),
        ("xyz", "32 hexadecimal"),
    ):
        r = _cli(admin_home, "greet", target, "--password-stdin", "--json")
        assert r.returncode != 0 and words in r.stderr, (target, r.stderr)
        assert "Traceback" not in r.stderr and r.stdout == ""


def test_cli_claim_into_the_os_keyring(tmp_path: Path, parsec_server: ParsecServer, org_name: str) -> None:
    """A new device protected by a real Secret Service (gnome-keyring in its
    own D-Bus session) opens without a password afterwards."""
    from test_keyring_cli import session_command

    admin_home = tmp_path / "alice"
    _admin(admin_home, parsec_server, org_name)
    device = ok_json(_cli(admin_home, "invite-device", "--password-stdin", "--json"))
    greeter = Spawned("greet", device["token"], "--password-stdin", "--json", home=admin_home, env=FAST)
    greeter.answer(PASSWORD)
    (tmp_path / "new").mkdir()
    argv, env = session_command(
        tmp_path / "new",
        '$CLI claim "$LINK" --device-label laptop --keyring --json || exit 11\n'
        "$CLI login --json </dev/null || exit 12\n",
    )
    env.update(FAST, LINK=device["link"])
    claimer = Spawned(command=(argv, env))
    _ceremony(greeter, claimer)
    assert greeter.event()["event"] == "claim_request"
    g_done, c_done = greeter.event(), claimer.event()
    assert c_done["device_id"] == g_done["device_id"]
    login = claimer.event()
    assert login["device_id"] == c_done["device_id"]
    assert greeter.finish()[0] == 0
    status, err = claimer.finish()
    assert status == 0, err
    listed = list((tmp_path / "new" / "cfg").rglob("*.keys"))
    from parsec_tray.core.devices import read_device_file

    assert len(listed) == 1 and read_device_file(listed[0]).type == "keyring"


def _codes_shown(proc: Spawned) -> list[str]:
    """The numbered choices a text-mode prompt lists, up to "none of these"."""
    codes = []
    while "none of these" not in (line := proc.line()):
        if line.strip()[:2] in {f"{i})" for i in range(1, 5)}:
            codes.append(line.split(")")[1].strip())
    return codes


def test_cli_text_mode_is_sentences_and_prompts(
    tmp_path: Path, parsec_server: ParsecServer, org_name: str
) -> None:
    admin_home, new_home = tmp_path / "alice", tmp_path / "new"
    _admin(admin_home, parsec_server, org_name)
    device = ok_json(_cli(admin_home, "invite-device", "--password-stdin", "--json"))
    greeter = Spawned("greet", device["link"], "--password-stdin", home=admin_home, env=FAST)
    greeter.answer(PASSWORD)
    claimer = Spawned(
        "claim", device["link"], "--device-label", "laptop", "--password-stdin", home=new_home, env=FAST
    )
    claimer.answer("new password")
    intro = claimer.line()
    assert intro.startswith(f"This adds a device to your account in {org_name}") and "(test server)" in intro
    shown = greeter.line()
    assert shown.startswith("The guest is there. Read them your code: ")
    code = shown.rsplit(" ", 1)[1]
    choices = _codes_shown(claimer)
    assert code in choices and len(choices) == 4
    claimer.answer(code)
    mine = claimer.line()
    assert mine.startswith("Read your code to Alice <alice@example.com>: ")
    assert mine.rsplit(" ", 1)[1] in _codes_shown(greeter)
    greeter.answer(mine.rsplit(" ", 1)[1])
    assert greeter.line() == "They ask to join as Alice <alice@example.com> on the device 'laptop'."
    assert greeter.line() == "Alice <alice@example.com> joined " + org_name + " on 'laptop'."
    assert claimer.line() == f"You joined {org_name} and you are logged in."
    assert greeter.finish()[0] == 0 and claimer.finish()[0] == 0


def test_cli_interrupted_greeter_cancels_and_the_claimer_is_told(
    tmp_path: Path, parsec_server: ParsecServer, org_name: str
) -> None:
    import signal

    _admin_home, bob_home, _invited, greeter, claimer = _bob_invited(tmp_path, parsec_server, org_name)
    assert claimer.event()["event"] == "invitation"
    code = greeter.event()["code"]
    assert claimer.event()["event"] == "choose_code"
    greeter.proc.send_signal(signal.SIGINT)  # closing the greeting, as Ctrl-C does
    g_status, g_err = greeter.finish()
    assert g_status == 130 and "nothing was saved" in g_err and "Traceback" not in g_err
    claimer.answer(code)  # the right code, too late: the attempt is gone
    c_status, c_err = claimer.finish()
    assert c_status == 1 and "other side cancelled" in c_err and "Traceback" not in c_err
    assert not list(bob_home.rglob("*.keys"))
