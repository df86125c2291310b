"""The live session's parts, without a display or a server: the
notification pump's timing, the menu's new entries per state, the
settings file and the ``--autostart`` flag.  The same wiring runs for real
in test_tray_live_e2e.py; the events -> intents rules (core's tracker) are
tested in test_invitation_tracker.py."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from parsec_tray.cli import main as tray_main
from parsec_tray.tray import menu as M
from parsec_tray.tray import settings
from parsec_tray.tray.coalesce import Coalescer, InvitationCreated, Notification, Waiting
from parsec_tray.tray.live import NotificationPump
from parsec_tray.tray.state import Identity, SessionView, Snapshot, State

ORG = "MyOrg"


# -- the pump -----------------------------------------------------------------------------------


class FakeClock:
    """The pump's monotonic clock, moved by the test (then ``pump.wake()``)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Shown:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.items: list[tuple[float, Notification]] = []
        self.cond = threading.Condition()

    def __call__(self, n: Notification) -> None:
        with self.cond:
            self.items.append((self.clock(), n))
            self.cond.notify_all()

    def wait(self, count: int, timeout: float = 5.0) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.items) >= count, timeout), self.items


def test_pump_shows_the_first_at_once_and_a_burst_after_the_window() -> None:
    clock = FakeClock()
    shown, co = Shown(clock), Coalescer(window=30)
    pump = NotificationPump(shown, coalescer=co, clock=clock)
    try:
        pump.post([InvitationCreated(org=ORG, token="01" * 16, email="a@example.com")])
        shown.wait(1)
        assert shown.items[0][0] == 1000.0  # at once: the clock has not moved
        burst = [
            InvitationCreated(org=ORG, token=f"{i:032x}", email=f"p{i}@example.com") for i in range(2, 6)
        ]
        pump.post(burst)
        assert co.next_deadline() == 1030.0 and len(shown.items) == 1  # held until the window's end
        clock.now = 1030.0
        pump.wake()
        shown.wait(2)
        at, n = shown.items[1]
        assert n.count == 4 and n.title == f"4 new invitations in {ORG}"
        assert at == 1030.0  # shown when the window ended, merged
        assert co.next_deadline() is None  # nothing else held: nothing more to show
    finally:
        pump.stop()
    assert len(shown.items) == 2


def test_pump_thread_sleeps_without_deadline() -> None:
    """Nothing held: the thread waits on its condition with no timeout."""
    clock = FakeClock()
    shown, co = Shown(clock), Coalescer(window=10)
    pump = NotificationPump(shown, coalescer=co, clock=clock)
    try:
        pump.post([Waiting(org=ORG, token="02" * 16, email="w@example.com")])
        shown.wait(1)
        assert co.next_deadline() is None
        assert pump._thread is not None and pump._thread.is_alive()
    finally:
        pump.stop()
    pump._thread.join(2)
    assert not pump._thread.is_alive()


# -- the menu -----------------------------------------------------------------------------------


def ident(profile: str) -> Identity:
    return Identity(ORG, "a" * 32, "d" * 32, "parsec3://h", "Alice", "alice@example.com", "laptop", profile)


def actions(s: Snapshot) -> list[M.Action | None]:
    return [e.action for e in M.selectable(M.build_menu(s))]


def test_admin_menu_has_invitations() -> None:
    s = Snapshot(state=State.ONLINE, identity=ident("ADMIN"), live=True)
    assert actions(s) == [
        M.Action.INVITE_USER,
        M.Action.INVITE_DEVICE,
        M.Action.INVITATIONS,
        M.Action.MEMBERS,
        M.Action.LOGOUT,
        M.Action.CREATE_ORG,
        M.Action.JOIN_ORG,
        M.Action.QUIT,
    ]


def test_standard_user_cannot_invite_users() -> None:
    s = Snapshot(state=State.ONLINE, identity=ident("STANDARD"), live=True)
    assert actions(s)[:4] == [M.Action.INVITE_DEVICE, M.Action.INVITATIONS, M.Action.MEMBERS, M.Action.LOGOUT]
    assert "Invite user…" not in [e.text for e in M.build_menu(s)]


def test_invitation_entries_wait_for_the_server() -> None:
    s = Snapshot(state=State.OFFLINE, identity=ident("ADMIN"), live=True)
    entries = {e.text: e for e in M.build_menu(s)}
    assert not entries["Invite user…"].enabled and not entries["Pending invitations…"].enabled
    assert actions(s)[:2] == [M.Action.CHECK, M.Action.LOGOUT]


def test_waiting_people_are_listed() -> None:
    s = Snapshot(
        state=State.ONLINE, identity=ident("ADMIN"), live=True, waiting=("carol@example.com", "A new device")
    )
    texts = [e.text for e in M.build_menu(s)]
    assert "carol@example.com is waiting to be greeted" in texts
    assert "A new device is waiting to be greeted" in texts


@pytest.mark.parametrize("logged_in", [False, True])
def test_start_at_login_entry(logged_in: bool) -> None:
    base = Snapshot(state=State.ONLINE, identity=ident("ADMIN"), live=True) if logged_in else Snapshot()
    assert M.Action.TOGGLE_AUTOSTART not in actions(base)  # unsupported: hidden
    off = M.build_menu(Snapshot(**{**base.__dict__, "autostart": False}))
    entry = next(e for e in off if e.action is M.Action.TOGGLE_AUTOSTART)
    assert (entry.text, entry.checked) == ("Start at login", False)
    assert entry.to_json()["checked"] is False
    assert not any(e.action is M.Action.TOGGLE_LOGIN_DIALOG for e in off)
    on = M.build_menu(Snapshot(**{**base.__dict__, "autostart": True}))
    assert [e.checked for e in on if e.checked is not None] == [True, False]
    assert M.selectable(on)[-1].action is M.Action.QUIT


# -- settings and the command line ------------------------------------------------------------


def test_settings_are_replaced_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARSEC_TRAY_CONFIG_DIR", str(tmp_path / "cfg"))
    assert settings.load() == {}
    settings.update(last_device="/d/1.keys")
    settings.update(login_dialog_at_start=True)
    assert json.loads((tmp_path / "cfg" / "settings.json").read_text()) == {
        "last_device": "/d/1.keys",
        "login_dialog_at_start": True,
    }
    settings.update(login_dialog_at_start=None)
    assert settings.load() == {"last_device": "/d/1.keys"}
    assert [p.name for p in (tmp_path / "cfg").iterdir()] == ["settings.json"]  # no temp file left
    (tmp_path / "cfg" / "settings.json").write_text("{not json")
    assert settings.load() == {}


def test_autostart_flag_is_accepted() -> None:
    assert tray_main._app_launch(["--autostart"]) == (False, None, None, True)
    assert tray_main._app_launch(["--debug", "--autostart", "--backend", "gtk"]) == (True, "gtk", None, True)
    assert tray_main.build_parser().parse_args(["--autostart"]).autostart is True


# -- notifications and the sessions they are about ------------------------------------------------


def test_a_click_on_an_invitation_notification_opens_its_organization(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from parsec_tray.tray import notifications
    from parsec_tray.tray.notices import Notices

    handed: list[tuple[str, Any]] = []

    class Notifier:  # the edge: what the notifier was handed
        def notify(self, title: str, body: str, *, urgency: str = "normal", on_click: Any = None, **kw: Any) -> bool:
            handed.append((title, on_click))
            return True

    monkeypatch.setattr(notifications, "get_notifier", lambda: Notifier())
    clicks: list[str | None] = []
    notices = Notices(clicks.append)

    def note(topic: str, org: str | None) -> Notification:
        return Notification(f"{topic} in {org}", "body", "normal", topic, org, (), (), 0.0)

    for topic, org in (("waiting", "Club"), ("completed", "Work"), ("mixed", None)):
        notices._show(note(topic, org))
    assert [t for t, _ in handed] == ["waiting in Club", "completed in Work", "mixed in None"]
    assert handed[1][1] is None  # nothing to open for a completed invitation
    handed[0][1]()
    handed[2][1]()
    assert clicks == ["Club", None]
    assert [n["title"] for n in notices.recent()] == ["waiting in Club", "completed in Work", "mixed in None"]


def test_a_notification_is_about_the_session_of_its_organization() -> None:
    from parsec_tray.tray.sessions import SessionHolder, Sessions

    def holder(key: str, org: str) -> SessionHolder:
        return SessionHolder(
            key, object(), Identity(org, "a" * 32, "d" * 32, "parsec3://h"), offline_reason=None
        )

    s = Sessions()
    for key, org in (("/d/w1.keys", "Work"), ("/d/c.keys", "Club"), ("/d/w2.keys", "Work")):
        s.add(holder(key, org))
    assert s.current is not None and s.current.key == "/d/w2.keys"
    assert [h.key for h in (s.for_org("Club"), s.for_org("Work"))] == ["/d/c.keys", "/d/w2.keys"]
    s.touch("/d/w1.keys")  # used last: the one of its organization a click opens
    assert s.for_org("Work").key == "/d/w1.keys"  # type: ignore[union-attr]
    assert s.for_org("Elsewhere") is s.current and s.for_org(None) is s.current
    s.remove("/d/w1.keys")
    assert s.current is not None and s.current.key == "/d/w2.keys"


def test_one_person_waiting_gets_a_greet_button_and_is_withdrawn(monkeypatch: pytest.MonkeyPatch) -> None:
    from parsec_tray.tray import notifications
    from parsec_tray.tray.notices import Notices

    handed: list[dict[str, Any]] = []
    withdrawn: list[str] = []

    class Notifier:  # the edge: what the notifier was handed
        def notify(self, title: str, body: str, **kw: Any) -> bool:
            handed.append({"title": title, **kw})
            return True

        def withdraw(self, key: str) -> bool:
            withdrawn.append(key)
            return True

    monkeypatch.setattr(notifications, "get_notifier", lambda: Notifier())
    greeted: list[tuple[str | None, str]] = []
    notices = Notices(lambda org: None, on_greet=lambda org, token: greeted.append((org, token)))
    [n] = Coalescer().feed(Waiting(org=ORG, email="carol@example.com", token="ab12", kind="user"), 0.0)
    assert n.urgency == "critical"  # the coalescer's; the tray shows it at normal urgency
    notices._show(n)
    [shown] = handed
    assert shown["urgency"] == "normal" and shown["key"] == "waiting:ab12"
    [(label, press)] = shown["buttons"]
    assert label == "Greet"
    press()
    shown["on_click"]()
    assert greeted == [(ORG, "ab12"), (ORG, "ab12")]
    notices.still_waiting(["ab12"])
    assert withdrawn == []
    notices.still_waiting([])
    notices.still_waiting([])
    assert withdrawn == ["waiting:ab12"]


def test_waiting_entries_greet_their_person() -> None:
    view = SessionView(
        "/d/a.keys", ident("ADMIN"), State.ONLINE, live=True, waiting=("carol@example.com",), waiting_tokens=("ab12",)
    )
    s = Snapshot(state=State.ONLINE, identity=view.identity, live=True, sessions=(view,))
    [entry] = [e for e in M.build_menu(s) if e.action is M.Action.GREET]
    assert entry.text == "Greet carol@example.com (waiting)" and entry.enabled
    assert M.parse_greet_arg(entry.arg or "") == ("ab12", "/d/a.keys")
    assert "1 waiting to be greeted" in M.title(s)


def test_the_organization_configuration_outlives_the_stream() -> None:
    """What the last ORGANIZATION_CONFIG said is kept by the session when its
    event stream stops (a refusal, a retry) and replaced by the next one."""
    from parsec_tray.core.events import OrganizationConfig
    from parsec_tray.core.values import UserID
    from parsec_tray.tray.live import LiveSession
    from parsec_tray.tray.sessions import SessionHolder

    me = UserID(uuid.uuid4())

    def config(outsiders: bool, limit: int | None) -> OrganizationConfig:
        return OrganizationConfig(
            user_profile_outsider_allowed=outsiders,
            active_users_limit=limit,
            sse_keepalive_seconds=30,
            realm_minimum_archiving_period_before_deletion=None,
        )

    device = type("Device", (), {"organization_id": ORG, "user_id": me})()
    changes: list[int] = []
    live = LiveSession(
        type("S", (), {"device": device})(),
        on_state=lambda *_a: None,
        on_intents=lambda _i: None,
        on_change=lambda: changes.append(1),
    )
    holder = SessionHolder("k", object(), Identity(ORG, me.hex, "d" * 32, "parsec3://x"), offline_reason=None)
    assert holder.org_config is None and holder.outsider_allowed and holder.active_users_limit is None
    holder.live = live
    live._event(config(False, 3))
    live._event(config(False, 3))  # each connection says it again: no change to show
    assert changes == [1]
    assert not holder.outsider_allowed and holder.active_users_limit == 3
    assert holder.view().status_json()["organization_config"] == {
        "user_profile_outsider_allowed": False,
        "active_users_limit": 3,
    }
    holder.stop_live()
    assert holder.live is None and not holder.outsider_allowed and holder.active_users_limit == 3
    again = LiveSession(
        type("S", (), {"device": device})(),
        on_state=lambda *_a: None,
        on_intents=lambda _i: None,
        on_change=lambda: None,
    )
    holder.live = again
    assert holder.active_users_limit == 3  # until the new stream says otherwise
    again._event(config(True, None))
    assert holder.outsider_allowed and holder.active_users_limit is None
