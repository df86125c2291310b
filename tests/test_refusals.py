"""When the server says no, against the real server: each refusal provoked
through the administration API or a real command (freeze, expire, terms of
service, ``user_revoke`` by an administrator, a clock off by ±400 s) becomes
its own error class with a sentence naming the organization, and the CLI
its own exit status; accepting the terms brings the device back; a revoked
device file is archived the way libparsec does."""

from __future__ import annotations

import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
from cli_runner import cli, ok_json
from conftest import require
from desktop_session import wait_until
from parsec_org import PASSWORD, add_user, new_admin_session
from parsec_tray.core import api, members, protocol, tos
from parsec_tray.core.devices import archive_device_file, list_device_files, save_device_with_password
from parsec_tray.core.errors import (
    ClockOutOfSyncError,
    IncompatibleServerError,
    OrganizationExpiredError,
    ParsecTrayError,
    ServerRefusedError,
    TosNotAcceptedError,
    UserFrozenError,
    UserRevokedError,
)
from parsec_tray.core.invitations import invite_list
from parsec_tray.core.session import Session
from parsec_tray.core.transport import Transport
from parsec_tray.core.values import DateTime, UserProfile

pytestmark = pytest.mark.server

TOS = {"en_US": "https://example.invalid/tos_en.html", "fr_FR": "https://example.invalid/tos_fr.html"}


@pytest.fixture
def org(parsec_server: Any, org_name: str, config_home: Path) -> Any:
    """Alice (admin, first user) and Bob (standard, his device saved with a password)."""
    alice = new_admin_session(parsec_server, org_name, config_home)
    bob = add_user(alice, "bob@example.com", "Bob", UserProfile.STANDARD)
    bob.device_file = save_device_with_password(bob.device, PASSWORD, config=config_home)
    bob.ping()
    yield alice, bob
    alice.close()
    bob.close()


def refusal(call: Any, error: type[Exception]) -> Any:
    """The server clears its handshake cache on its own event bus, a moment
    after the administration call answered: wait for the refusal itself."""
    seen: list[Exception] = []

    def probe() -> bool:
        try:
            call()
        except error as exc:
            seen.append(exc)
            return True
        return False

    wait_until(probe, 15, f"the server to answer {error.__name__}")
    return seen[0]


def accepted(call: Any) -> None:
    def probe() -> bool:
        try:
            call()
        except ParsecTrayError:
            return False
        return True

    wait_until(probe, 15, "the server to accept the device again")


def bob_cli(home: Path, bob: Session, *args: str, **kw: Any) -> Any:
    return cli(
        *args,
        "--device",
        str(bob.device_file),
        "--password-stdin",
        home=home,
        stdin=PASSWORD + "\n",
        **kw,
    )


def refused(r: Any, status: int, *words: str) -> None:
    assert r.returncode == status, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    line = r.stderr.strip()
    assert line.startswith("Error: ") and line.count("\n") == 0, line
    for w in words:
        assert w in line, line


def test_frozen_then_unfrozen(parsec_server: Any, org: Any, org_name: str, tmp_path: Path) -> None:
    alice, bob = org
    assert members.list_frozen_users(bob) is None  # only administrators may know
    parsec_server.admin(
        "POST",
        f"/administration/organizations/{org_name}/users/freeze",
        {"user_email": "bob@example.com", "frozen": True},
    )
    exc = refusal(bob.ping, UserFrozenError)
    assert exc.status == 462 and org_name in str(exc) and "administrator" in str(exc)
    assert members.list_frozen_users(alice) == {bob.device.user_id}
    refused(bob_cli(tmp_path, bob, "login"), 13, "frozen", org_name)
    parsec_server.admin(
        "POST",
        f"/administration/organizations/{org_name}/users/freeze",
        {"user_email": "bob@example.com", "frozen": False},
    )
    accepted(bob.ping)
    assert members.list_frozen_users(alice) == set()


def test_organization_expired(parsec_server: Any, org: Any, org_name: str, tmp_path: Path) -> None:
    _alice, bob = org
    parsec_server.admin("PATCH", f"/administration/organizations/{org_name}", {"is_expired": True})
    # ping would still pass: the server caches a handshake that succeeded
    # and does not clear it on expiry (fact sheet 2, n.1).
    exc = refusal(lambda: invite_list(bob), OrganizationExpiredError)
    assert exc.status == 460 and org_name in str(exc)
    refused(bob_cli(tmp_path, bob, "invitations"), 11, "expired")
    parsec_server.admin("PATCH", f"/administration/organizations/{org_name}", {"is_expired": False})
    accepted(lambda: invite_list(bob))


def test_revoked_and_archived(org: Any, org_name: str, config_home: Path, tmp_path: Path) -> None:
    alice, bob = org
    with pytest.raises(ServerRefusedError, match="Only an administrator"):
        members.revoke_user(bob, alice.device.user_id, name="Alice")
    with pytest.raises(ServerRefusedError, match="yourself"):
        members.revoke_user(alice, alice.device.user_id)
    members.revoke_user(alice, bob.device.user_id, name="Bob")
    with pytest.raises(ServerRefusedError, match="Bob is already revoked"):
        members.revoke_user(alice, bob.device.user_id, name="Bob")
    exc = refusal(bob.ping, UserRevokedError)
    assert exc.status == 461 and org_name in str(exc)
    refused(bob_cli(tmp_path, bob, "login"), 12, "revoked", org_name)

    assert bob.device_file is not None
    archived = archive_device_file(bob.device_file)
    assert archived.name == bob.device_file.name + ".archived" and archived.is_file()
    assert not bob.device_file.exists()
    assert bob.device.device_id not in {d.file.device_id for d in list_device_files(config_home)}
    assert any(d.file.device_id == alice.device.device_id for d in list_device_files(config_home))


def test_revocation_certificate_loads_with_the_reference(org: Any) -> None:
    ref = _ref()
    alice, bob = org
    now = DateTime.now()
    signed = members.revoked_user_certificate(alice, bob.device.user_id, now)
    theirs = ref.RevokedUserCertificate.verify_and_load(
        signed,
        ref.VerifyKey(alice.device.signing_key.verify_key.encode()),
        expected_author=ref.DeviceID.from_hex(alice.device.device_id.hex),
    )
    assert theirs.user_id.hex == bob.device.user_id.hex
    assert theirs.timestamp.as_timestamp_micros() == now.us


def _ref() -> Any:
    try:
        import parsec._parsec as ref
    except ImportError:
        require(False, "parsec-cloud 3.9.3 (parsec._parsec)")
    return ref


def test_terms_of_service(parsec_server: Any, org: Any, org_name: str, tmp_path: Path) -> None:
    alice, bob = org
    parsec_server.admin("PATCH", f"/administration/organizations/{org_name}", {"tos": TOS})
    exc = refusal(bob.ping, TosNotAcceptedError)
    assert exc.status == 463 and org_name in str(exc)
    refused(bob_cli(tmp_path, bob, "login"), 14, "terms of service")

    # The person's locale first.
    shown = ok_json(
        bob_cli(tmp_path, bob, "terms", "--json", env={"LANGUAGE": "", "LC_ALL": "", "LANG": "fr_FR.UTF-8"})
    )
    assert [t["locale"] for t in shown["terms"]] == ["fr_FR", "en_US"]
    assert shown["terms"][0]["url"] == TOS["fr_FR"] and shown["accepted"] is False
    terms = tos.tos_get(bob)
    assert terms is not None and terms.per_locale_urls == TOS
    assert [loc for loc, _ in terms.urls_for(["en_GB"])] == ["en_US", "fr_FR"]

    # Terms changed after they were shown: accepting the old ones is refused.
    parsec_server.admin(
        "PATCH", f"/administration/organizations/{org_name}", {"tos": {"en_US": TOS["en_US"]}}
    )
    with pytest.raises(ServerRefusedError, match="changed while you were reading"):
        tos.tos_accept(bob, terms)

    accepted = ok_json(bob_cli(tmp_path, bob, "terms", "--accept", "--json"))
    assert accepted["accepted"] is True
    bob.ping()  # back at once
    ok_json(bob_cli(tmp_path, bob, "login", "--json"))
    # Acceptance is per user.
    refusal(alice.ping, TosNotAcceptedError)
    parsec_server.admin("PATCH", f"/administration/organizations/{org_name}", {"tos": None})
    assert tos.tos_get(alice) is None


@pytest.mark.parametrize("offset", [400, -400])
def test_clock_off_by_400_seconds(org: Any, offset: int) -> None:
    _alice, bob = org
    skewed = Session(
        bob.device, bob.device_file, Transport(bob.device.server, clock=lambda: time.time() + offset)
    )
    try:
        with pytest.raises(ClockOutOfSyncError) as exc:
            skewed.ping()
    finally:
        skewed.close()
    assert exc.value.offset_seconds == pytest.approx(offset, abs=3)  # the server's Date is to the second
    assert f"about 7 minutes {'ahead of' if offset > 0 else 'behind'} the server's" in str(exc.value)
    assert "clock" in str(exc.value.hint)


def test_clock_drift_from_the_date_header_alone() -> None:
    now = 1_800_000_000.0
    err = protocol.http_error(
        498, {"Date": formatdate(now - 3 * 3600, usegmt=True)}, b"", "authenticated", "Org", now=now
    )
    assert isinstance(err, ClockOutOfSyncError) and err.offset_seconds == pytest.approx(3 * 3600)
    assert "about 3 hours ahead of" in str(err)
    for headers in ({}, {"Date": "not a date"}):
        err = protocol.http_error(498, headers, b"", "authenticated", "Org", now=now)
        assert isinstance(err, ClockOutOfSyncError) and err.offset_seconds is None and "clock" in str(err)


def test_incompatible_server_names_both_sides() -> None:
    err = protocol.http_error(422, {"Supported-Api-Versions": "6.0"}, b"", "authenticated", "Org")
    assert isinstance(err, IncompatibleServerError)
    assert err.client_versions == protocol.API_VERSION and err.server_versions == "6.0"
    assert protocol.API_VERSION in str(err) and "6.0" in str(err)


def test_an_api_version_the_real_server_does_not_speak(org: Any) -> None:
    """A client speaking API 4.9 (the transport's explicit option): the real
    server refuses it with 422, and the sentence names both sides' versions,
    for a command and for the event stream (which stops for good)."""
    import threading

    from parsec_tray.core.event_stream import EventStream

    _alice, bob = org
    old = Session(bob.device, bob.device_file, Transport(bob.device.server, api_version="4.9"))
    states: list[tuple[str, str | None]] = []
    stopped = threading.Event()

    def on_state(state: str, message: str | None) -> None:
        states.append((state, message))
        if state == "error":
            stopped.set()

    stream = EventStream(old, lambda _e: None, on_state)
    try:
        with pytest.raises(IncompatibleServerError) as exc:
            old.ping()
        stream.start()
        assert stopped.wait(30), states
    finally:
        stream.stop()
        old.close()
    err = exc.value
    assert (err.client_versions, err.server_versions) == ("4.9", "5.5")
    assert "the app speaks Parsec API 4.9, the server speaks 5.5" in str(err), str(err)
    assert type(stream.error) is IncompatibleServerError and str(stream.error) == str(err)
    assert states == [("error", str(err))]
    bob.ping()  # this app's own version is still welcome


def test_exit_statuses_are_documented() -> None:
    r = cli("--help")
    assert r.returncode == 0
    for status, words in (
        (11, "expired"),
        (12, "revoked"),
        (13, "frozen"),
        (14, "terms"),
        (15, "clock"),
        (16, "API"),
    ):
        assert any(
            line.strip().startswith(str(status)) and words in line for line in r.stdout.splitlines()
        ), (status, r.stdout)


def test_login_allows_pending_terms_for_a_shell(parsec_server: Any, org: Any, org_name: str) -> None:
    _alice, bob = org
    parsec_server.admin("PATCH", f"/administration/organizations/{org_name}", {"tos": TOS})
    refusal(bob.ping, TosNotAcceptedError)
    session = api.login(bob.device_file, password=PASSWORD, allow_pending_tos=True)
    try:
        assert isinstance(session.tos_error, TosNotAcceptedError)
        terms = tos.tos_get(session)
        assert terms is not None
        tos.tos_accept(session, terms)
        session.ping()
    finally:
        session.close()
