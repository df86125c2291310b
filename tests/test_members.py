"""The organization's members from verified certificates, against the real
server: the list matches what the server's administration API says (who is
there, who is frozen), profiles follow user updates, revocation shows at
once; the CLI's ``users`` and ``revoke``; a tampered chain is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_runner import cli, ok_json
from parsec_org import PASSWORD, add_user, new_admin_session
from parsec_tray.core import members
from parsec_tray.core.errors import CryptoError, ServerRefusedError
from parsec_tray.core.own_devices import fetch_common_certificates
from parsec_tray.core.serialization import format_v0_dump
from parsec_tray.core.values import DateTime, UserProfile

pytestmark = pytest.mark.server


@pytest.fixture
def org(parsec_server: Any, org_name: str, config_home: Path) -> Any:
    alice = new_admin_session(parsec_server, org_name, config_home)
    alice_file = alice.device_file
    bob = add_user(alice, "bob@example.com", "Bob", UserProfile.STANDARD)
    carol = add_user(alice, "carol@example.com", "Carol", UserProfile.ADMIN)
    olga = add_user(alice, "olga@example.com", "Olga", UserProfile.OUTSIDER)
    yield alice, alice_file, bob, carol, olga
    for s in (alice, bob, carol, olga):
        s.close()


def by_email(people: list[members.Member]) -> dict[str, members.Member]:
    return {str(m.human_handle.email): m for m in people if m.human_handle}


def test_members_match_the_server(parsec_server: Any, org: Any, org_name: str) -> None:
    alice, _f, bob, carol, _olga = org
    parsec_server.admin(
        "POST",
        f"/administration/organizations/{org_name}/users/freeze",
        {"user_email": "carol@example.com", "frozen": True},
    )
    seen = members.list_members(alice)
    server = {u["user_email"]: u for u in parsec_server.users(org_name)}
    assert (
        set(by_email(seen))
        == set(server)
        == {"alice@example.com", "bob@example.com", "carol@example.com", "olga@example.com"}
    )
    for email, m in by_email(seen).items():
        assert m.user_id.hex == server[email]["user_id"]
        assert m.frozen is server[email]["frozen"]
        assert m.human_handle is not None and m.human_handle.label == server[email]["user_name"]
    got = by_email(seen)
    assert got["alice@example.com"].created_by is None  # certified by the root key
    assert got["bob@example.com"].created_by == alice.device.device_id
    assert [got[e].profile for e in ("alice@example.com", "bob@example.com", "olga@example.com")] == [
        UserProfile.ADMIN,
        UserProfile.STANDARD,
        UserProfile.OUTSIDER,
    ]
    # A standard user is not told who is frozen.
    assert all(m.frozen is None for m in members.list_members(bob))


def test_outsiders_see_redacted_names(org: Any) -> None:
    _alice, _f, _bob, _carol, olga = org
    seen = members.list_members(olga)
    assert len(seen) == 4 and all(m.human_handle is None for m in seen)
    assert all(m.describe().startswith("user ") for m in seen)


def test_profile_update_and_revocation(org: Any) -> None:
    alice, _f, bob, _carol, _olga = org
    a = alice.device
    update = {
        "type": "user_update_certificate",
        "author": a.device_id,
        "timestamp": DateTime.now(),
        "user_id": bob.device.user_id,
        "new_profile": "ADMIN",
    }
    reply = alice.client.send(
        "user_update", user_update_certificate=a.signing_key.sign(format_v0_dump(update))
    )
    assert reply["status"] == "ok", reply
    assert by_email(members.list_members(alice))["bob@example.com"].profile is UserProfile.ADMIN
    members.revoke_user(alice, bob.device.user_id, name="Bob")
    revoked = by_email(members.list_members(alice))["bob@example.com"]
    assert revoked.is_revoked and revoked.revoked_by == a.device_id
    with pytest.raises(ServerRefusedError, match="already revoked"):
        members.find_member(members.list_members(alice), "BOB@example.com ")
    with pytest.raises(ServerRefusedError, match="Nobody with the email"):
        members.find_member(members.list_members(alice), "zed@example.com")


def test_a_tampered_chain_is_refused(org: Any) -> None:
    alice, *_ = org
    certs = fetch_common_certificates(alice)
    assert members.members_from_certificates(certs, alice.device.root_verify_key)
    for i in range(len(certs)):
        broken = list(certs)
        broken[i] = broken[i][:70] + bytes([broken[i][70] ^ 1]) + broken[i][71:]
        with pytest.raises(CryptoError):
            members.members_from_certificates(broken, alice.device.root_verify_key)
    with pytest.raises(CryptoError):  # an update before the user it changes
        members.members_from_certificates(certs[:1] + certs[3:], alice.device.root_verify_key)


def test_cli_users_and_revoke(org: Any, tmp_path: Path) -> None:
    alice, alice_file, bob, *_ = org

    def run(*args: str) -> Any:
        return cli(
            *args, "--device", str(alice_file), "--password-stdin", home=tmp_path, stdin=PASSWORD + "\n"
        )

    listed = ok_json(run("users", "--json"))
    assert {u["email"] for u in listed} == {
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
        "olga@example.com",
    }
    assert [u["is_you"] for u in listed if u["email"] == "alice@example.com"] == [True]
    text = run("users")
    assert text.returncode == 0 and text.stdout.splitlines()[0].split()[:3] == ["NAME", "EMAIL", "PROFILE"]
    assert "Alice (you)" in text.stdout

    done = ok_json(run("revoke", "bob@example.com", "--json"))
    assert done == {"user_id": bob.device.user_id.hex, "email": "bob@example.com", "revoked": True}
    assert "bob@example.com" not in {u["email"] for u in ok_json(run("users", "--json"))}
    assert [
        u["revoked_on"] is not None
        for u in ok_json(run("users", "--all", "--json"))
        if u["email"] == "bob@example.com"
    ] == [True]
    again = run("revoke", "bob@example.com")
    assert again.returncode == 1 and "already revoked" in again.stderr and "Traceback" not in again.stderr
