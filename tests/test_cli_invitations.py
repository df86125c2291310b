"""The invitation commands of the CLI, against the real server."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from cli_runner import cli as run_cli
from cli_runner import ok_json
from parsec_tray.core.addr import ParsecInvitationAddr

pytestmark = pytest.mark.server


def cli(home: Path, *args: str, stdin: str = "pw\n") -> subprocess.CompletedProcess[str]:
    return run_cli(*args, home=home, stdin=stdin)


def test_invite_list_and_cancel(tmp_path: Path, parsec_server: Any, org_name: str) -> None:
    ok_json(cli(
        tmp_path, "create-org", "--server", parsec_server.url, "--org", org_name, "--email", "admin@example.com",
        "--user-name", "Ada", "--device-label", "desk", "--admin-token", parsec_server.admin_token,
        "--password-stdin", "--json",
    ))
    user = ok_json(cli(tmp_path, "invite-user", "bob@example.com", "--password-stdin", "--json"))
    link = ParsecInvitationAddr.parse(user["link"])
    assert (link.organization_id, link.invitation_type, link.token.hex()) == (org_name, "USER", user["token"])
    assert link.server.to_url() == parsec_server.url

    device = ok_json(cli(tmp_path, "invite-device", "--password-stdin", "--json"))
    assert ParsecInvitationAddr.parse(device["link"]).invitation_type == "DEVICE"

    pending = ok_json(cli(tmp_path, "invitations", "--password-stdin", "--json"))
    assert {(i["type"], i["token"], i["status"]) for i in pending} == {
        ("USER", user["token"], "PENDING"),
        ("DEVICE", device["token"], "PENDING"),
    }
    assert [i["claimer_email"] for i in pending if i["type"] == "USER"] == ["bob@example.com"]
    # Text form: the column headers, then one line per invitation.
    header, *lines = cli(tmp_path, "invitations", "--password-stdin").stdout.strip().splitlines()
    assert header.split() == ["FOR", "TYPE", "STATUS", "TOKEN", "LINK"]
    assert sorted(line.split()[:4] for line in lines) == [
        ["a", "new", "device", "device"],
        ["bob@example.com", "user", "pending", user["token"]],
    ]

    # Cancel by link, then again: the second time is a refusal in words.
    assert ok_json(cli(tmp_path, "cancel-invitation", user["link"], "--password-stdin", "--json"))["status"] == "CANCELLED"
    again = cli(tmp_path, "cancel-invitation", user["token"], "--password-stdin")
    assert again.returncode == 1 and "already cancelled" in again.stderr and "Traceback" not in again.stderr

    pending = ok_json(cli(tmp_path, "invitations", "--password-stdin", "--json"))
    assert [i["token"] for i in pending] == [device["token"]]
    everything = ok_json(cli(tmp_path, "invitations", "--all", "--password-stdin", "--json"))
    assert {i["token"]: i["status"] for i in everything}[user["token"]] == "CANCELLED"

    # The invited route now refuses the cancelled link (410): the claimer side agrees.
    from parsec_tray.core import invitations
    from parsec_tray.core.errors import InvitationGoneError

    with pytest.raises(InvitationGoneError):
        invitations.invite_info(user["link"])


def test_invite_refusals(tmp_path: Path, parsec_server: Any, org_name: str) -> None:
    ok_json(cli(
        tmp_path, "create-org", "--server", parsec_server.url, "--org", org_name, "--email", "admin@example.com",
        "--user-name", "Ada", "--device-label", "desk", "--admin-token", parsec_server.admin_token,
        "--password-stdin", "--json",
    ))
    r = cli(tmp_path, "invite-user", "admin@example.com", "--password-stdin")
    assert r.returncode == 1 and "already a member" in r.stderr
    r = cli(tmp_path, "invite-user", "not an email", "--password-stdin")
    assert r.returncode == 1 and "not a valid email" in r.stderr.lower()
    r = cli(tmp_path, "cancel-invitation", "00" * 16, "--password-stdin")
    assert r.returncode == 1 and "does not exist" in r.stderr
    r = cli(tmp_path, "invitations", "--password-stdin", stdin="wrong\n")
    assert r.returncode == 1 and "Wrong password" in r.stderr
    assert "Traceback" not in r.stderr
