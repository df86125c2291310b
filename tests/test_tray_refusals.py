"""Each refusal of the server is its own session state in the tray: the
pure parts (which error is which refusal, the menu of each), and the
controller against the real server with a clock off by 400 s (the one
refusal a tray process cannot be made to meet from outside): its own
state and sentence, one notification, and no knocking.  The others, with
the whole app, dunst and the keyring: test_tray_refusals_e2e.py."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from desktop_session import wait_until
from parsec_org import new_admin_session
from parsec_tray.core import errors as E
from parsec_tray.core.addr import parse_server
from parsec_tray.core.session import Session
from parsec_tray.core.transport import Transport
from parsec_tray.tray import health, logins, notifications
from parsec_tray.tray import menu as M
from parsec_tray.tray.controller import AppOptions, Controller
from parsec_tray.tray.sessions import about_offset, refusal_of
from parsec_tray.tray.state import REFUSALS, Identity, Refusal, Retry, SessionView, Snapshot, State
from tcp_proxy import TCPProxy

ORG = "ACME"


@pytest.mark.parametrize(
    ("error", "refusal"),
    [
        (E.UserRevokedError("r", status=461), Refusal.REVOKED),
        (E.UserFrozenError("f", status=462), Refusal.FROZEN),
        (E.OrganizationExpiredError("e", status=460), Refusal.EXPIRED),
        (E.OrganizationNotFoundError("n"), Refusal.NOT_FOUND),
        (E.TosNotAcceptedError("t", status=463), Refusal.TOS),
        (E.ClockOutOfSyncError("c", offset_seconds=-400.0), Refusal.CLOCK),
        (E.IncompatibleServerError("i", client_versions="5.5", server_versions="6.0"), Refusal.INCOMPATIBLE),
    ],
)
def test_each_error_is_its_refusal_with_its_own_menu(error: E.ParsecTrayError, refusal: Refusal) -> None:
    found = refusal_of(error)
    assert found is not None and found[0] is refusal
    view = SessionView("k", Identity(ORG, "u" * 32, "d" * 32, "parsec3://h"), State.NEEDS_ATTENTION,
                       refusal=refusal, refusal_detail=found[1])
    entries = M.build_menu(Snapshot(state=State.NEEDS_ATTENTION, sessions=(view,)))
    texts = [e.text for e in entries]
    assert view.refusal_text() in texts
    assert ORG in view.refusal_text("title") and ORG in view.refusal_text("body")
    actions = {e.action for e in entries if e.arg == "k"}
    assert M.Action.CHECK not in actions or refusal not in (Refusal.REVOKED, Refusal.TOS)
    if refusal is Refusal.REVOKED:
        assert "Remove this device…" in texts and REFUSALS[refusal].retry is Retry.NEVER
    elif refusal is Refusal.TOS:
        assert {"Review the terms of service…", "Accept the terms"} <= set(texts)
    else:
        assert "Check again" in texts
    # Every text is a sentence with named placeholders only.
    rule = REFUSALS[refusal]
    for text in (rule.status, rule.title, rule.body):
        assert "{}" not in text


def test_other_errors_are_no_refusal_and_the_details_are_words() -> None:
    assert refusal_of(E.AuthenticationError("bad token", status=403)) is None
    assert refusal_of(E.ServerUnreachableError("down")) is None
    assert about_offset(400) == "by about 7 minutes"
    assert about_offset(-30) == "by about 30 seconds"
    assert about_offset(3 * 3600) == "by about 3 hours"
    assert "five minutes" in about_offset(None)
    _, detail = refusal_of(E.IncompatibleServerError("i", client_versions="5.5", server_versions="6.0")) or (0, "")
    assert "5.5" in detail and "6.0" in detail


class Shell:
    name = "fake"
    HAS_FILE_WATCH = False

    def __init__(self) -> None:
        self.changes = threading.Condition()
        self.snapshots: list[Snapshot] = []

    def refresh(self, snapshot: Snapshot, entries: Any) -> None:
        with self.changes:
            self.snapshots.append(snapshot)
            self.changes.notify_all()

    def stop(self) -> None:
        pass


@pytest.mark.server
def test_a_clock_off_by_400_seconds_is_said_once_and_not_retried(
    parsec_server: Any, org_name: str, config_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARSEC_TRAY_CONFIG_DIR", str(tmp_path / "tray"))
    monkeypatch.setenv(notifications.ENV_VAR, "none")  # recorded by the controller all the same
    notifications._reset()
    alice = new_admin_session(parsec_server, org_name, config_home)
    with TCPProxy(parsec_server.port) as proxy:
        server = parse_server(f"parsec3://127.0.0.1:{proxy.port}?no_ssl=true")
        skewed = Session(alice.device, None, Transport(server, clock=lambda: time.time() + 400))
        c = Controller(AppOptions(refusal_retry=0.01))
        shell = Shell()
        c.attach(shell)  # type: ignore[arg-type]
        info = SimpleNamespace(user_name="Alice", email="alice@example.com", device_label="desk", key="dev-a")
        try:
            logins.adopt(c, skewed, info)

            def refused() -> SessionView | None:
                [v] = c.snapshot().sessions
                return v if v.state is State.NEEDS_ATTENTION and v.refusal is Refusal.CLOCK else None

            view = wait_until(refused, 30, "the clock refusal")
            assert view.refusal_text() == "The computer's clock is off by about 7 minutes"
            assert view.refusal_text() in [e.text for e in c.menu()]
            assert c.snapshot().status_json()["sessions"][0]["refusal"] == "clock_drift"
            connections = proxy.accepted

            # Asked for: one more try, one more connection, no second notification.
            c.perform(M.Action.CHECK, "dev-a")
            wait_until(lambda: proxy.accepted > connections and refused(), 30, "the check again")
            wait_until(lambda: refused() and c.snapshot().sessions[0].stream == "error", 30, "the stream stopped")
            assert proxy.accepted == connections + 1
            titles = [n["title"] for n in c.snapshot().extra.get("notified", [])]
            assert titles == [f"Clock out of sync for {org_name}"]
            # Opening the menu does not knock again (the stream said no for good).
            c.menu_opened()
            health.check_connection(c, force=False)
            assert not c.checking and proxy.accepted == connections + 1
        finally:
            c.shutdown(flow_timeout=1)
            alice.close()
            notifications._reset()


@pytest.mark.server
def test_an_organization_the_server_does_not_know_is_said_once_and_retried_slowly(
    parsec_server: Any, org_name: str, config_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from parsec_tray.core.values import OrganizationID

    monkeypatch.setenv("PARSEC_TRAY_CONFIG_DIR", str(tmp_path / "tray"))
    monkeypatch.setenv(notifications.ENV_VAR, "none")
    notifications._reset()
    alice = new_admin_session(parsec_server, org_name, config_home)
    gone = f"Gone{org_name}"[:32]
    with TCPProxy(parsec_server.port) as proxy:
        server = parse_server(f"parsec3://127.0.0.1:{proxy.port}?no_ssl=true")
        device = dataclasses.replace(alice.device, organization_id=OrganizationID(gone), server=server)
        session = Session(device, None, Transport(server))
        c = Controller(AppOptions(refusal_retry=0.05, refusal_retry_max=0.4))
        c.attach(Shell())  # type: ignore[arg-type]
        info = SimpleNamespace(user_name="Alice", email="alice@example.com", device_label="desk", key="dev-g")
        try:
            logins.adopt(c, session, info)

            def retried(n: int) -> SessionView | None:
                [v] = c.snapshot().sessions
                return v if v.refusal is Refusal.NOT_FOUND and v.retries >= n else None

            view = wait_until(lambda: retried(1), 30, "the refusal")
            assert view.refusal_text() == f"{gone} is not on the server any more"
            assert "Check again" in [e.text for e in c.menu()]
            view = wait_until(lambda: retried(4), 30, "four slow retries")
            # One connection per retry (each the stream's handshake), bounded.
            assert proxy.accepted <= view.retries + 1, (proxy.accepted, view.retries)
            titles = [n["title"] for n in c.snapshot().extra.get("notified", [])]
            assert titles == [f"{gone} not found"]
        finally:
            c.shutdown(flow_timeout=1)
            alice.close()
            notifications._reset()
