"""Joining with an invitation, without a display: Join organization… takes
bootstrap and invitation links (an invitation goes to the claim dialog);
the claim dialog shows what the link is before anything starts, then the
tray drives it (``waiting`` -> ``choices`` -> ``code`` -> ``details``),
the person gives their details and a password (or the keyring); a wrong
code comes back to the wait; Cancel works at every step.  The claim's
worker checks the details as core will and sends them in the official
order (after the codes)."""

from __future__ import annotations

import subprocess
import sys
import threading
import types
from typing import Any

import pytest
from parsec_tray.core import AccessToken, ParsecInvitationAddr, ParsecOrganizationBootstrapAddr
from parsec_tray.tray import dialog_specs as S
from parsec_tray.tray import validation as V
from parsec_tray.tray.claiming import ClaimRun
from parsec_tray.tray.dialog_protocol import Kind

USER_LINK = "parsec3://127.0.0.1:6770/ACME?no_ssl=true&a=claim_user&p=xBCy2YVGB31DPzcxGZbGVUt7"
DEVICE_LINK = "parsec3://parsec.example.com/ACME?a=claim_device&p=xBCy2YVGB31DPzcxGZbGVUt7"
BOOTSTRAP_LINK = (
    "parsec3://127.0.0.1:6770/MyOrg?no_ssl=true&a=bootstrap_organization&p=xBAfR-B9HEqLB76Hg4kbRDTU"
)
USER = {
    "type": "USER",
    "organization_id": "ACME",
    "server": "127.0.0.1:6770",
    "encrypted": False,
    "invited_by": "Alice <alice@example.com>",
    "email": "bob@example.com",
    "device_label": "bob-pc",
}
DEVICE = {**USER, "type": "DEVICE", "email": "", "server": "parsec.example.com", "encrypted": True}
CHOICES = ["AB2C", "Q7XY", "MN4P", "ZZ9K"]
PASSWORD = "correct horse battery"


def model(init: dict[str, Any]) -> S.DialogModel:
    return S.DialogModel(S.spec_for(Kind.CLAIM, init))


def sent(effects: list[S.Effect]) -> list[dict[str, Any]]:
    return [e.msg for e in effects if e.what == "send"]


def ids(m: S.DialogModel) -> list[str]:
    return [b.id for b in m.buttons()]


def to_details(m: S.DialogModel) -> None:
    assert sent(m.press(S.START)) == [{"type": "start"}]
    m.receive({"type": "choices", "choices": CHOICES})
    m.press(S.CODE_PREFIX + "Q7XY")
    m.receive({"type": "code", "code": "K3LM"})
    m.receive({"type": "details", "user_name": "", "device_label": "bob-pc"})


# -- Join organization…: which links ----------------------------------------------------------


def test_join_takes_bootstrap_and_invitation_links_and_says_what_they_are() -> None:
    # The fixture links are real: core parses them as what they claim to be.
    assert isinstance(ParsecInvitationAddr.parse(USER_LINK), ParsecInvitationAddr)
    assert isinstance(ParsecOrganizationBootstrapAddr.parse(BOOTSTRAP_LINK), ParsecOrganizationBootstrapAddr)
    for link in (
        USER_LINK,
        DEVICE_LINK,
        BOOTSTRAP_LINK,
        ParsecInvitationAddr.parse(USER_LINK).to_http_redirection_url(),
    ):
        assert V.check_join_link(link) is None, link
    assert V.link_facts(USER_LINK) == (
        ("Link", "Join as a user"),
        ("Organization", "ACME"),
        ("Server", "127.0.0.1:6770"),
        ("Connection", "Not encrypted (test server)"),
    )
    assert V.link_facts(DEVICE_LINK)[0] == ("Link", "Add a device")
    assert V.link_facts(DEVICE_LINK)[2:] == (("Server", "parsec.example.com"), ("Connection", "Encrypted"))
    assert V.link_facts(BOOTSTRAP_LINK)[0] == ("Link", "Create an organization")
    assert V.link_facts("nonsense") == ()


@pytest.mark.parametrize(
    ("link", "says"),
    [
        ("", "Paste the link you received"),
        ("https://example.com/ACME", "This is not a Parsec link: it should start with parsec3://"),
        ("parsec3://127.0.0.1:6770/ACME?no_ssl=true&a=claim_user&p=!!", "'p' parameter"),
        ("parsec3://127.0.0.1:6770/ACME?no_ssl=true&a=frobnicate&p=xx", "does not handle links"),
    ],
)
def test_join_refuses_other_links_in_one_sentence(link: str, says: str) -> None:
    error = V.check_join_link(link)
    assert error is not None and says in error and error.count(". ") <= 1, error


def test_join_describes_the_link_as_it_is_typed() -> None:
    m = S.DialogModel(S.spec_for(Kind.JOIN, {"link": "", "device_label": "pc"}))
    assert m.details == ()
    m.change("link", BOOTSTRAP_LINK)
    assert dict(m.details)["Link"] == "Create an organization"
    m.change("link", "parsec3://nope")
    assert m.details == ()


def test_join_hands_an_invitation_link_to_the_claim_dialog_without_an_email() -> None:
    m = S.DialogModel(S.spec_for(Kind.JOIN, {"link": "", "device_label": "pc"}))
    m.change("link", " " + USER_LINK)
    effects = m.press("next")
    assert sent(effects) == [{"type": "action", "action": S.OPEN_LINK, "arg": USER_LINK}]
    assert effects[-1].what == S.CLOSE


def test_join_with_a_bootstrap_link_still_asks_the_email_then_the_account() -> None:
    m = S.DialogModel(S.spec_for(Kind.JOIN, {"link": BOOTSTRAP_LINK, "device_label": "pc"}))
    assert sent(m.press("next")) == [] and m.step == 1 and set(m.errors) == {"email"}
    m.change("email", "alice@example.com")
    assert sent(m.press("next")) == [] and m.step == 2


# -- the claim dialog ------------------------------------------------------------------------------


def test_the_first_page_says_what_the_link_is_and_sends_nothing() -> None:
    m = model(USER)
    assert m.step == 1 and not m.busy and m.heading == "Step 1 of 6: The invitation"
    assert dict(m.current.facts) == {
        "Link": "Join as a user",
        "Organization": "ACME",
        "Server": "127.0.0.1:6770",
        "Connection": "Not encrypted (test server)",
        "Invited by": "Alice <alice@example.com>",
        "Your email": "bob@example.com",
    }
    assert ids(m) == ["cancel", S.START] and m.default == S.START
    effects = m.press("cancel")
    assert sent(effects) == [{"type": "cancel"}] and effects[-1].what == S.CLOSE
    device = model(DEVICE)
    assert dict(device.current.facts)["Link"] == "Add a device"
    assert dict(device.current.facts)["Connection"] == "Encrypted" and "Your email" not in dict(
        device.current.facts
    )


def test_a_user_claim_step_by_step() -> None:
    m = model(USER)
    assert sent(m.press(S.START)) == [{"type": "start"}]
    assert m.step == 2 and m.busy and m.progress == "Waiting for an administrator…" and ids(m) == ["cancel"]
    m.receive({"type": "choices", "choices": CHOICES})
    assert m.step == 3 and not m.busy and not m.code_shown
    assert ids(m) == [*(S.CODE_PREFIX + c for c in CHOICES), S.NONE_OF_THESE, "cancel"]
    assert sent(m.press(S.CODE_PREFIX + "Q7XY")) == [{"type": "choose", "code": "Q7XY"}]
    m.receive({"type": "code", "code": "K3LM"})
    assert m.step == 4 and m.code == "K3LM" and m.code_shown and m.busy and ids(m) == ["cancel"]
    m.receive({"type": "details", "user_name": "", "device_label": "bob-pc"})
    assert m.step == 5 and not m.busy and not m.code_shown and m.focus == "user_name"
    assert dict(m.current.facts) == {"Email": "bob@example.com"} and m.values["device_label"] == "bob-pc"
    assert ids(m) == ["cancel", "next"]
    assert sent(m.press("next")) == [] and set(m.errors) == {"user_name"}
    m.change("user_name", "Bob")
    m.press("next")
    assert m.step == 6 and ids(m) == ["cancel", "back", "submit"] and m.focus == "password"
    m.press("back")
    assert m.step == 5 and ids(m) == ["cancel", "next"]
    m.press("back")
    assert m.step == 5  # no way back to the codes
    m.press("next")
    m.change("password", PASSWORD)
    m.change("confirm", PASSWORD + "!")
    assert sent(m.press("submit")) == [] and set(m.errors) == {"confirm"}
    m.change("confirm", PASSWORD)
    assert sent(m.press("submit")) == [
        {
            "type": "submit",
            "values": {"user_name": "Bob", "device_label": "bob-pc", "keyring": False, "password": PASSWORD},
        }
    ]
    assert m.busy and m.buttons_enabled  # Cancel still works
    m.receive({"type": "result", "organization": "ACME", "device": "/x/devices/ab.keys"})
    title, text = m.done_texts or ("", "")
    assert title == "You joined ACME" and "create a recovery file" in text
    assert ids(m) == ["create_recovery", "close"]
    effects = m.press("create_recovery")
    assert sent(effects) == [{"type": "action", "action": "create_recovery", "arg": "/x/devices/ab.keys"}]


def test_the_keyring_needs_no_password() -> None:
    m = model(DEVICE)
    assert set(m.spec.fields) == {"device_label", "keyring", "password", "confirm"}
    to_details(m)
    assert m.step == 5 and m.focus == "device_label"
    m.press("next")
    m.change("keyring", True)
    assert sent(m.press("submit")) == [
        {"type": "submit", "values": {"device_label": "bob-pc", "keyring": True, "password": ""}}
    ]


def test_a_wrong_code_goes_back_to_the_wait_with_the_explanation() -> None:
    m = model(USER)
    m.press(S.START)
    m.receive({"type": "choices", "choices": CHOICES})
    assert sent(m.press(S.NONE_OF_THESE)) == [{"type": "choose", "code": None}]
    m.receive({"type": "waiting", "banner": "The codes did not match."})
    assert m.step == 2 and m.busy and m.banner == "The codes did not match." and ids(m) == ["cancel"]
    m.receive({"type": "choices", "choices": CHOICES})
    assert m.step == 3 and m.banner is None


def test_a_refused_detail_comes_back_to_its_field_and_a_failure_leaves_close() -> None:
    m = model(USER)
    to_details(m)
    m.change("user_name", "Bob")
    m.press("next")
    m.change("password", PASSWORD)
    m.change("confirm", PASSWORD)
    m.press("submit")
    m.receive({"type": "error", "message": "Too long.", "step": 5, "field": "user_name"})
    assert m.step == 5 and not m.busy and m.errors == {"user_name": "Too long."}
    m.receive({"type": "error", "message": "This invitation was cancelled.", "step": None, "field": None})
    assert m.banner == "This invitation was cancelled." and ids(m) == ["close"]


@pytest.mark.parametrize("button", ["escape", "cancel"])
def test_closing_at_any_step_cancels(button: str) -> None:
    m = model(USER)
    m.press(S.START)
    assert m.busy and sent(m.press(button)) == [{"type": "cancel"}]


def test_the_greeting_dialog_keeps_its_steps() -> None:
    m = S.DialogModel(S.spec_for(Kind.GREET, {"type": "USER", "who": "bob@example.com"}))
    m.receive({"type": "code", "code": "K3LM"})
    assert m.step == 2 and m.code_shown
    m.receive({"type": "choices", "choices": CHOICES})
    assert m.step == 3 and not m.code_shown


# -- the claim's worker, with a dialog that records ----------------------------------------------------


class FakeDialog:
    def __init__(self, init: dict[str, Any]) -> None:
        self.init, self.alive = init, True
        self.proc: Any = None
        self.sent: list[dict[str, Any]] = []
        self.errors: list[tuple[str, int | None, str | None]] = []

    def send(self, msg: dict[str, Any]) -> None:
        self.sent.append(dict(msg))

    def failed(self, message: str, *, error_type: str, step: int | None, field: str | None) -> None:
        self.errors.append((message, step, field))

    def working(self) -> None:
        pass

    def progress(self, text: str) -> None:
        self.sent.append({"type": "progress", "text": text})


def _details_with(init: dict[str, Any], answers: list[dict[str, Any]]) -> tuple[Any, FakeDialog]:
    dlg = FakeDialog(init)
    run = ClaimRun(host=types.SimpleNamespace(), dlg=dlg, addr=None, info=None)  # type: ignore[arg-type]
    for values in answers:
        run.answer({"type": "submit", "values": values})
    return run.details(), dlg


def test_the_worker_asks_the_details_and_checks_them_as_core_will() -> None:
    details, dlg = _details_with(
        USER,
        [
            {"user_name": "B" * 300, "device_label": "pc", "keyring": False, "password": PASSWORD},
            {"user_name": "Bob", "device_label": "", "keyring": False, "password": PASSWORD},
            {"user_name": "Bob", "device_label": "pc", "keyring": False, "password": PASSWORD},
        ],
    )
    assert dlg.sent[0] == {"type": "details", "user_name": "", "device_label": "bob-pc"}
    assert [(step, field) for _m, step, field in dlg.errors] == [(5, "user_name"), (5, "device_label")]
    assert (str(details.device_label), details.user_name, details.password) == ("pc", "Bob", PASSWORD)
    assert PASSWORD not in repr(details)
    device, dlg = _details_with(DEVICE, [{"device_label": "laptop", "keyring": False, "password": PASSWORD}])
    assert (str(device.device_label), device.user_name) == ("laptop", None) and not dlg.errors


def test_the_worker_waits_for_continue_and_stops_when_closed() -> None:
    dlg = FakeDialog(USER)
    dlg.proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    run = ClaimRun(host=types.SimpleNamespace(), dlg=dlg, addr=None, info=None)  # type: ignore[arg-type]
    worker = threading.Thread(target=run.run, daemon=True)
    worker.start()
    assert not run.stop.wait(0.2) and dlg.sent == []  # nothing before Continue
    run.close()
    worker.join(10)
    assert not worker.is_alive() and dlg.sent == [] and dlg.errors == []
    assert dlg.proc.stdin is not None
    dlg.proc.stdin.close()
    dlg.proc.wait(10)


# -- what begin() says when the link cannot be used (the real server) ------------------------------


class Host:
    """What claiming.begin needs of the controller (its messages, its
    dialogs' ``open``), recorded."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []
        self.opened: list[tuple[str, dict[str, Any]]] = []
        self.dialogs = self

    def message(self, title: str, text: str) -> None:
        self.messages.append((title, text))

    def open(self, kind: str, init: dict[str, Any], *, target: str | None) -> None:
        self.opened.append((kind, init))
        return None


@pytest.mark.server
def test_an_unusable_invitation_gets_one_sentence_and_opens_nothing(
    parsec_server: Any, org_name: str, config_home: Any, tmp_path: Any
) -> None:
    from parsec_org import new_admin_session
    from parsec_tray.core import invitations
    from parsec_tray.tray import claiming

    alice = new_admin_session(parsec_server, org_name, config_home)
    cancelled = invitations.invite_new_user(alice, "bob@example.com")
    invitations.invite_cancel(alice, cancelled.token)
    pending = invitations.invite_new_device(alice)
    unknown = ParsecInvitationAddr(
        pending.link.server, pending.link.organization_id, "USER", AccessToken.new()
    )
    offline = ParsecInvitationAddr.parse(pending.url.replace(f":{pending.link.server.port}/", ":9/"))
    says = ("already been used or was cancelled", "does not know this invitation", "cannot be reached")
    for link, said in zip((cancelled.url, unknown.to_url(), offline.to_url()), says, strict=True):
        host = Host()
        claiming.begin(host, link)  # type: ignore[arg-type]
        assert not host.opened
        ((title, text),) = host.messages
        assert title == "Join organization" and text.endswith("."), text
        assert said in text and "Traceback" not in text and len(text) < 300, text
    # A usable one: its first page, with who invited and what it is.
    host = Host()
    claiming.begin(host, pending.url)  # type: ignore[arg-type]
    assert not host.messages
    ((kind, init),) = host.opened
    assert kind == Kind.CLAIM and init["type"] == "DEVICE" and init["organization_id"] == org_name
    assert init["invited_by"] == "Alice <alice@example.com>" and init["encrypted"] is False
    alice.close()
