"""What ``status`` says of the dialogs, without a display: only those whose
process runs now, and of a result only its public facts.  The processes are
stand-ins (the edge); the real ones are in test_tray_status_e2e.py."""

from __future__ import annotations

from typing import Any

from parsec_tray.tray.dialogs import DialogManager, DialogProcess

LINK = "parsec3://example.com/Org?a=claim_user&p=xBCgAAAAAAAAAAAAAAAAAAAAAA"


class FakeProc:
    """A child process that runs until ``end``."""

    stdin = None

    def __init__(self) -> None:
        self.rc: int | None = None

    def poll(self) -> int | None:
        return self.rc

    def end(self) -> None:
        self.rc = 0


class Started(DialogProcess):
    def start(self) -> DialogProcess:  # no child: a stand-in process
        self.proc = FakeProc()  # type: ignore[assignment]
        return self


def manager() -> DialogManager:
    return DialogManager(lambda dlg, msg: None, process=Started)


def test_a_result_shows_only_its_public_facts() -> None:
    m = manager()
    invite = m.open("invite_user", {"organization_id": "Org"})
    recovery = m.open("recovery_export", {"organization_id": "Org"})
    assert invite is not None and recovery is not None
    invite.succeeded({"link": LINK, "email_sent": "SUCCESS", "note": "Send them the link."})
    recovery.succeeded({"organization": "Org", "path": "/home/a/r.psrk", "passphrase": "ABCD-EFGH"})
    st: dict[str, Any] = m.status()
    assert st["invite_user"] == {
        "open": True, "busy": False, "error": None, "result_shown": True, "email_sent": "SUCCESS"
    }  # fmt: skip
    assert st["recovery_export"]["organization"] == "Org" and st["recovery_export"]["result_shown"]
    text = repr(st)
    assert not [s for s in (LINK, "claim_user", "r.psrk", "ABCD") if s in text], text


def test_a_closed_dialog_leaves_nothing() -> None:
    m = manager()
    invite = m.open("invite_user", {"organization_id": "Org"})
    login = m.open("login", {})
    assert invite is not None and login is not None
    invite.succeeded({"link": LINK, "email_sent": "SUCCESS"})
    invite.proc.end()  # type: ignore[union-attr]  # closed by the person, before the tray heard of it
    assert set(m.status()) == {"login"}
    m._exited(invite, 0)  # then its reader saw the end
    login.failed("Wrong password.", error_type="WrongPasswordError", step=None, field="password")
    assert m.status() == {
        "login": {
            "open": True, "busy": False, "error": "Wrong password.",
            "error_type": "WrongPasswordError", "field": "password",
        }
    }  # fmt: skip
    login.proc.end()  # type: ignore[union-attr]
    m._exited(login, 0)
    assert m.status() == {}
