"""The greeting dialog's steps without a display: the tray drives it
(``waiting`` -> ``code`` -> ``choices`` -> ``claim`` -> ``result``), the
person picks a code or "None of these", reviews and accepts; a wrong code
comes back to the wait step with its explanation; Cancel works at every
step, even while it waits."""

from __future__ import annotations

import subprocess
import sys
import threading
import types
from typing import Any

import pytest
from parsec_tray.tray import dialog_specs as S
from parsec_tray.tray.dialog_protocol import Kind
from parsec_tray.tray.greeting import GreetingRun

USER = {"organization_id": "ACME", "type": "USER", "who": "bob@example.com", "token": "ab" * 16}
DEVICE = {**USER, "type": "DEVICE", "who": "your new device"}
CHOICES = ["AB2C", "Q7XY", "MN4P", "ZZ9K"]


def model(init: dict[str, Any]) -> S.DialogModel:
    return S.DialogModel(S.spec_for(Kind.GREET, init))


def sent(effects: list[S.Effect]) -> list[dict[str, Any]]:
    return [e.msg for e in effects if e.what == "send"]


def ids(m: S.DialogModel) -> list[str]:
    return [b.id for b in m.buttons()]


def to_choices(m: S.DialogModel) -> None:
    m.receive({"type": "code", "code": "K3LM"})
    m.receive({"type": "choices", "choices": CHOICES})


def test_it_opens_waiting_and_cancel_works_while_it_waits() -> None:
    m = model(USER)
    assert m.step == 1 and m.busy and m.progress == S.WAITING_TEXT
    assert m.heading == "Step 1 of 4: Waiting" and "bob@example.com" in m.current.intro
    assert ids(m) == ["cancel"] and m.buttons_enabled
    effects = m.press("cancel")
    assert sent(effects) == [{"type": "cancel"}] and effects[-1].what == S.CLOSE


def test_a_user_greeting_step_by_step() -> None:
    m = model(USER)
    m.receive({"type": "code", "code": "K3LM"})
    assert m.step == 2 and m.code == "K3LM" and m.busy and ids(m) == ["cancel"]
    m.receive({"type": "choices", "choices": CHOICES})
    assert m.step == 3 and not m.busy
    assert ids(m) == [*(S.CODE_PREFIX + c for c in CHOICES), S.NONE_OF_THESE, "cancel"]
    assert m.focus == S.CODE_PREFIX + "AB2C"
    assert sent(m.press(S.CODE_PREFIX + "MN4P")) == [{"type": "choose", "code": "MN4P"}]
    assert m.busy and sent(m.press(S.CODE_PREFIX + "AB2C")) == []  # one answer only
    m.receive({"type": "claim", "email": "bob@example.com", "user_name": "Bob", "device_label": "bob-pc"})
    assert m.step == 4 and not m.busy and m.details == (("Email", "bob@example.com"),)
    assert m.values["user_name"] == "Bob" and m.values["device_label"] == "bob-pc"
    assert ids(m) == ["cancel", "submit"] and m.default == "submit"
    # The profile is chosen explicitly: no default.
    assert sent(m.press("submit")) == [] and set(m.errors) == {"profile"}
    m.change("user_name", "Bob B.")
    m.change("profile", "ADMIN")
    assert sent(m.press("submit")) == [
        {"type": "submit", "values": {"user_name": "Bob B.", "device_label": "bob-pc", "profile": "ADMIN"}}
    ]
    assert m.busy and m.buttons_enabled  # creating the certificates: Cancel still works
    m.receive({"type": "result", "who": "Bob B.", "organization": "ACME"})
    assert m.done_texts == (
        "Bob B. joined ACME",
        "Bob B. is now in ACME. They can log in from their computer.",
    )
    assert ids(m) == ["close"] and m.focus == S.DEFAULT


def test_none_of_these_sends_no_code_and_a_wrong_code_restarts_from_the_wait() -> None:
    m = model(USER)
    to_choices(m)
    assert sent(m.press(S.NONE_OF_THESE)) == [{"type": "choose", "code": None}]
    m.receive({"type": "waiting", "banner": "The codes did not match."})
    assert m.step == 1 and m.busy and m.banner == "The codes did not match."
    assert m.code is None and m.choices == [] and ids(m) == ["cancel"]
    to_choices(m)  # the next attempt: the explanation goes
    assert m.step == 3 and m.banner is None


def test_a_failure_for_good_leaves_only_close() -> None:
    m = model(USER)
    m.receive({"type": "error", "message": "This invitation was cancelled.", "step": None, "field": None})
    assert not m.busy and m.banner == "This invitation was cancelled." and ids(m) == ["close"]


def test_a_code_not_offered_is_not_sent() -> None:
    m = model(USER)
    to_choices(m)
    assert sent(m.press(S.CODE_PREFIX + "NOPE")) == [] and not m.busy


def test_a_device_greeting_reviews_only_the_label() -> None:
    m = model(DEVICE)
    assert m.spec.title == "Greet a new device" and set(m.spec.fields) == {"device_label"}
    to_choices(m)
    m.press(S.CODE_PREFIX + "Q7XY")
    m.receive({"type": "claim", "email": "", "user_name": "", "device_label": "laptop"})
    assert m.details == () and m.focus == "device_label"
    m.change("device_label", "")
    assert sent(m.press("submit")) == [] and "device_label" in m.errors
    m.change("device_label", "laptop 2")
    assert sent(m.press("submit")) == [{"type": "submit", "values": {"device_label": "laptop 2"}}]


def test_a_refused_review_comes_back_to_its_field() -> None:
    m = model(USER)
    to_choices(m)
    m.press(S.CODE_PREFIX + "AB2C")
    m.receive({"type": "claim", "email": "bob@example.com", "user_name": "Bob", "device_label": "pc"})
    m.change("profile", "STANDARD")
    m.press("submit")
    m.receive({"type": "error", "message": "A user name is too long.", "step": 4, "field": "user_name"})
    assert m.step == 4 and not m.busy and m.errors == {"user_name": "A user name is too long."}


@pytest.mark.parametrize("button", ["escape", "cancel"])
def test_closing_at_any_step_cancels(button: str) -> None:
    m = model(USER)
    to_choices(m)
    m.press(S.CODE_PREFIX + "AB2C")
    assert m.busy
    assert sent(m.press(button)) == [{"type": "cancel"}]


def test_the_driving_messages_are_ignored_by_other_dialogs() -> None:
    m = S.DialogModel(S.spec_for(Kind.LOGIN, {"device": {"organization_id": "ACME"}}))
    m.receive({"type": "code", "code": "K3LM"})
    assert m.code is None and m.step == 1


def test_pending_invitations_greet_sends_the_row_token() -> None:
    m = S.DialogModel(S.spec_for(Kind.INVITATIONS, {"organization_id": "ACME"}))
    assert sent(m.greet("cd" * 16)) == [{"type": "greet", "token": "cd" * 16}]


def test_add_a_device_shows_its_link_while_it_waits_only() -> None:
    link = "parsec3://127.0.0.1:6770/ACME?no_ssl=true&a=claim_device&p=xx"
    m = model({**DEVICE, "link": link})
    assert m.link == link and "other computer" in m.current.intro
    assert m.copy(link)[0].arg == link and "other computer" in m.note
    m.receive({"type": "code", "code": "K3LM"})
    assert m.link is None  # the codes now
    m.receive({"type": "waiting", "banner": "The codes did not match."})
    assert m.link == link  # waiting again: the link again
    assert model(USER).link is None


def test_a_greeting_stops_when_its_dialog_process_ends_without_a_word() -> None:
    """The tray closed it at exit, or it was killed: no ``cancel`` came, and
    the driver (which may be polling for the guest) is stopped all the same."""
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    dlg: Any = types.SimpleNamespace(proc=proc, init=USER, alive=True)
    run = GreetingRun(host=None, dlg=dlg, holder=None, invitation=None)  # type: ignore[arg-type]
    watcher = threading.Thread(target=run.watch, daemon=True)
    watcher.start()
    assert not run.stop.wait(0.2)  # the dialog is there: nothing stops
    assert proc.stdin is not None
    proc.stdin.close()  # the dialog ends
    watcher.join(10)
    assert run.stop.is_set()


def test_where_external_users_are_refused_the_review_does_not_offer_them_and_says_why() -> None:
    allowed = model({**USER, "outsider_allowed": True})
    assert [p for p, _ in allowed.spec.fields["profile"].options] == ["STANDARD", "ADMIN", "OUTSIDER"]
    assert allowed.spec.steps[3].notes == ()
    m = model({**USER, "outsider_allowed": False})
    assert [p for p, _ in m.spec.fields["profile"].options] == ["STANDARD", "ADMIN"]
    [note] = m.spec.steps[3].notes
    assert (
        note.text
        == "ACME does not allow External users: the people who join it are Members or Administrators."
    )
    to_choices(m)
    m.press(S.CODE_PREFIX + "AB2C")
    m.receive({"type": "claim", "email": "bob@example.com", "user_name": "Bob", "device_label": "bob-pc"})
    m.change("profile", "OUTSIDER")  # not offered: refused if sent anyway
    assert sent(m.press("submit")) == [] and set(m.errors) == {"profile"}
    m.change("profile", "STANDARD")
    assert sent(m.press("submit"))[0]["values"]["profile"] == "STANDARD"
    # A device greeting has no profile, and no such note.
    assert model({**DEVICE, "outsider_allowed": False}).spec.steps[3].notes == ()
