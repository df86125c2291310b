"""The app's state machine and the menu computed from it: no display needed."""

from __future__ import annotations

import itertools
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from parsec_tray.core import DeviceInfo, Protection
from parsec_tray.tray import menu as M
from parsec_tray.tray.state import (
    TRANSITIONS,
    Event,
    Identity,
    IllegalTransition,
    SessionView,
    Snapshot,
    State,
    StateMachine,
    most_urgent,
    next_state,
)

ALICE = Identity(
    "MyOrg",
    "a" * 32,
    "d" * 32,
    "parsec3://127.0.0.1:6770?no_ssl=true",
    "Alice",
    "alice@example.com",
    "laptop",
)


def dev(n: int, org: str = "MyOrg", user: str = "Alice", label: str = "laptop") -> DeviceInfo:
    return DeviceInfo(
        Path(f"/d/{n}.keys"),
        org,
        f"{n:032x}",
        f"{n:032x}",
        f"{user.lower()}@example.com",
        user,
        label,
        "parsec3://h",
    )


def texts(entries: tuple[M.Entry, ...]) -> list[str]:
    return ["---" if e.separator else e.text for e in entries]


# -- state machine -------------------------------------------------------------


def test_gui_free_import() -> None:
    # The pure modules (and the controller) never pull a toolkit in.
    code = (
        "import sys; import parsec_tray.tray.menu, parsec_tray.tray.state, parsec_tray.tray.controller; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pystray', 'gi', 'tkinter', 'PIL', 'requests', 'nacl'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(("state", "event"), list(itertools.product(State, Event)))
def test_every_pair_is_in_the_table_or_illegal(state: State, event: Event) -> None:
    machine = StateMachine(state)
    if (state, event) in TRANSITIONS:
        assert machine.handle(event) is TRANSITIONS[(state, event)]
    else:
        with pytest.raises(IllegalTransition):
            machine.handle(event)
        assert machine.state is state  # unchanged


def test_session_life() -> None:
    m = StateMachine()
    assert m.state is State.LOGGED_OUT
    path = [
        Event.UNLOCKED,
        Event.REACHED,
        Event.UNREACHABLE,
        Event.RETRY,
        Event.REACHED,
        Event.REFUSED,
        Event.LOGGED_OUT,
    ]
    assert [m.handle(e) for e in path] == [
        State.CONNECTING,
        State.ONLINE,
        State.OFFLINE,
        State.CONNECTING,
        State.ONLINE,
        State.NEEDS_ATTENTION,
        State.LOGGED_OUT,
    ]


def test_logged_out_only_accepts_unlock() -> None:
    allowed = {e for (s, e) in TRANSITIONS if s is State.LOGGED_OUT}
    assert allowed == {Event.UNLOCKED}
    with pytest.raises(IllegalTransition, match="'reached' is not allowed in state 'logged_out'"):
        next_state(State.LOGGED_OUT, Event.REACHED)


def test_switching_device_while_logged_in() -> None:
    for s in (State.CONNECTING, State.ONLINE, State.OFFLINE, State.NEEDS_ATTENTION):
        assert next_state(s, Event.UNLOCKED) is State.CONNECTING


# -- menu per state --------------------------------------------------------------


def test_logged_out_without_device() -> None:
    entries = M.build_menu(Snapshot())
    assert texts(entries) == [
        "Create organization…",
        "Join organization…",
        "Import a recovery file…",
        "---",
        "Log in… (no device on this computer yet)",
        "---",
        "Quit",
    ]
    assert [e.action for e in M.selectable(entries)] == [
        M.Action.CREATE_ORG,
        M.Action.JOIN_ORG,
        M.Action.IMPORT_RECOVERY,
        M.Action.QUIT,
    ]


def test_logged_out_one_entry_per_device() -> None:
    devices = (dev(1), dev(2, org="Other", user="Bob"))
    entries = M.build_menu(Snapshot(devices=devices))
    logins = [e for e in entries if e.action is M.Action.LOGIN]
    assert [e.text for e in logins] == ["Log in to MyOrg as Alice…", "Log in to Other as Bob…"]
    assert [e.arg for e in logins] == ["/d/1.keys", "/d/2.keys"]


def test_same_user_twice_shows_the_device_label() -> None:
    devices = (dev(1, label="laptop"), dev(2, label="desktop"))
    logins = [e.text for e in M.build_menu(Snapshot(devices=devices)) if e.action is M.Action.LOGIN]
    assert logins == ["Log in to MyOrg as Alice (laptop)…", "Log in to MyOrg as Alice (desktop)…"]


def test_many_devices_become_a_picker() -> None:
    devices = tuple(dev(n, org=f"Org{n}") for n in range(M.MAX_INLINE_DEVICES + 1))
    entries = M.build_menu(Snapshot(devices=devices))
    picker = [e for e in entries if e.submenu]
    assert len(picker) == 1 and picker[0].text == "Log in"
    assert len(picker[0].submenu) == len(devices)
    assert len(list(M.flatten(entries))) == len(entries) - 1 + len(devices)


@pytest.mark.parametrize(
    ("state", "status"),
    [
        (State.CONNECTING, "Connecting…"),
        (State.ONLINE, "Online"),
        (State.OFFLINE, "Offline: the server cannot be reached"),
        (State.NEEDS_ATTENTION, "Needs attention: The server refused this device."),
    ],
)
def test_logged_in(state: State, status: str) -> None:
    mine = DeviceInfo(
        Path("/d/1.keys"), "MyOrg", ALICE.user_id, ALICE.device_id, "a@x", "Alice", "laptop", "h"
    )
    snap = Snapshot(state=state, identity=ALICE, devices=(mine,), reason="The server refused this device.")
    entries = M.build_menu(snap)
    header, status_entry = entries[0], entries[1]
    assert (header.text, header.enabled, header.action) == ("MyOrg: Alice", False, None)
    assert (status_entry.text, status_entry.enabled) == (status, False)
    actions = [e.action for e in M.selectable(entries)]
    check = [M.Action.CHECK] if state in (State.OFFLINE, State.NEEDS_ATTENTION) else []
    assert actions == [*check, M.Action.LOGOUT, M.Action.CREATE_ORG, M.Action.JOIN_ORG, M.Action.QUIT]
    assert M.Action.LOGIN not in actions  # no second login to a device logged in


def test_two_sessions_one_section_each_and_the_other_devices() -> None:
    bob = Identity("Club", "b" * 32, "e" * 32, "parsec3://h", "Bob", "bob@example.com", "desk")
    devices = (dev(1), dev(2, org="Club", user="Bob"), dev(3, org="Third"))
    snap = Snapshot(
        state=State.OFFLINE,
        identity=bob,
        devices=devices,
        sessions=(
            SessionView("/d/1.keys", ALICE, State.ONLINE),
            SessionView("/d/2.keys", bob, State.OFFLINE, reason="The server cannot be reached."),
        ),
    )
    entries = M.build_menu(snap)
    assert texts(entries) == [
        "MyOrg: Alice",
        "Online",
        "---",
        "Change password…",
        "Use the keyring for quick login…",
        "Log out",
        "---",
        "Club: Bob",
        "Offline: the server cannot be reached",
        "Check connection",
        "---",
        "Change password…",
        "Use the keyring for quick login…",
        "Log out",
        "---",
        "Create organization…",
        "Join organization…",
        "---",
        "Log in to Third as Alice…",
        "---",
        "Quit",
    ]
    assert [(e.action, e.arg) for e in M.selectable(entries)][:7] == [
        (M.Action.CHANGE_PASSWORD, "/d/1.keys"),
        (M.Action.USE_KEYRING, "/d/1.keys"),
        (M.Action.LOGOUT, "/d/1.keys"),
        (M.Action.CHECK, "/d/2.keys"),
        (M.Action.CHANGE_PASSWORD, "/d/2.keys"),
        (M.Action.USE_KEYRING, "/d/2.keys"),
        (M.Action.LOGOUT, "/d/2.keys"),
    ]
    assert M.title(snap) == "Parsec Tray: Club: Bob and 1 more, offline"
    out = snap.status_json()
    assert out["state"] == "offline" and out["organization_id"] == "Club"
    assert out["sessions"] == [
        {"organization_id": "MyOrg", "user_id": "a" * 32, "device_id": "d" * 32,
         "server_url": ALICE.server_url, "state": "online"},
        {"organization_id": "Club", "user_id": "b" * 32, "device_id": "e" * 32,
         "server_url": "parsec3://h", "state": "offline"},
    ]  # fmt: skip


def test_the_icon_shows_the_most_urgent_state() -> None:
    assert most_urgent([]) is State.LOGGED_OUT
    assert most_urgent([State.ONLINE, State.CONNECTING]) is State.CONNECTING
    assert most_urgent([State.OFFLINE, State.ONLINE]) is State.OFFLINE
    assert most_urgent([State.ONLINE, State.NEEDS_ATTENTION, State.OFFLINE]) is State.NEEDS_ATTENTION


def test_demo_server_line_and_title() -> None:
    snap = Snapshot(demo_server="parsec3://127.0.0.1:1?no_ssl=true")
    entries = M.build_menu(snap)
    assert "Demo server: parsec3://127.0.0.1:1?no_ssl=true" in texts(entries)
    assert M.title(snap) == "Parsec Tray (demo): not logged in"
    assert M.title(Snapshot(state=State.OFFLINE, identity=ALICE)) == "Parsec Tray: MyOrg: Alice, offline"


def test_menu_json_round_trip_shape() -> None:
    snap = Snapshot(devices=tuple(dev(n, org=f"O{n}") for n in range(7)))
    data = M.to_json(M.build_menu(snap))
    assert data[2] == {"text": "Import a recovery file…", "enabled": True, "action": "import_recovery"}
    assert data[3] == {"separator": True}
    assert data[0] == {"text": "Create organization…", "enabled": True, "action": "create_org"}
    assert data[4]["submenu"][0]["action"] == "login" and data[4]["submenu"][0]["arg"] == "/d/0.keys"


def test_status_json() -> None:
    out = Snapshot(state=State.ONLINE, identity=ALICE).status_json()
    assert {
        k: out[k] for k in ("running", "state", "organization_id", "user_id", "device_id", "server_url")
    } == {
        "running": True,
        "state": "online",
        "organization_id": "MyOrg",
        "user_id": "a" * 32,
        "device_id": "d" * 32,
        "server_url": "parsec3://127.0.0.1:6770?no_ssl=true",
    }
    out = Snapshot(identity=ALICE).status_json()  # logged out: no identity leaks
    assert out["state"] == "logged_out" and out["organization_id"] is None and "user_name" not in out


def test_each_session_offers_what_fits_its_protection() -> None:
    def entries(protection: str) -> list[tuple[str, Any]]:
        d = replace(dev(1, org="MyOrg"), protection=Protection(protection))
        view = SessionView(key=d.key, identity=ALICE, state=State.ONLINE)
        return [(e.text, e.action) for e in M.build_menu(Snapshot(sessions=(view,), devices=(d,)))]

    pw = entries("password")
    assert ("Change password…", M.Action.CHANGE_PASSWORD) in pw
    assert ("Use the keyring for quick login…", M.Action.USE_KEYRING) in pw
    assert ("Use a password…", M.Action.USE_PASSWORD) not in pw
    kr = entries("keyring")
    assert ("Use a password…", M.Action.USE_PASSWORD) in kr and ("Change password…", M.Action.CHANGE_PASSWORD) not in kr
    # Before "Log out", in the session's own section.
    texts_ = [t for t, _ in pw]
    assert texts_.index("Change password…") < texts_.index("Log out")
