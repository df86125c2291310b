"""``--keyring`` on the command line, in a real Secret Service.

Each scenario is a shell script run inside its own ``dbus-run-session`` with
a fresh HOME, where a real gnome-keyring-daemon is started and unlocked; the
CLI runs there as a person would run it, against the real Parsec server.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import require

START_KEYRING = """
exec 3< <(echo -n gk-test | gnome-keyring-daemon --foreground --unlock --components=secrets 2>/dev/null)
keyring_pid=$!
trap 'kill $keyring_pid 2>/dev/null' EXIT
for i in $(seq 100); do
  "$PY" -c "import secretstorage, sys; c=secretstorage.dbus_init(); sys.exit(0 if secretstorage.get_default_collection(c) else 1)" 2>/dev/null && break
  sleep 0.1
done
"""


def session_command(tmp_path: Path, script: str, *, keyring: bool = True) -> tuple[list[str], dict[str, str]]:
    """The command and environment that run ``script`` in its own D-Bus
    session with a fresh HOME (and an unlocked gnome-keyring unless told)."""
    require(shutil.which("dbus-run-session") is not None, "dbus-run-session (Debian package dbus)")
    require(shutil.which("gnome-keyring-daemon") is not None, "gnome-keyring-daemon (Debian package gnome-keyring)")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "WAYLAND_DISPLAY")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_RUNTIME_DIR=str(tmp_path / "run"),
        PARSEC_BASE_CONFIG_DIR=str(tmp_path / "cfg"),
        PARSEC_BASE_DATA_DIR=str(tmp_path / "data"),
        PY=sys.executable,
        CLI=f"{shlex.quote(sys.executable)} -m parsec_tray.cli",
    )
    (tmp_path / "run").mkdir(mode=0o700, exist_ok=True)
    body = "set -u\n" + (START_KEYRING if keyring else "") + script
    return ["dbus-run-session", "--", "bash", "-c", body], env


def run_in_session(tmp_path: Path, script: str, *, keyring: bool = True) -> subprocess.CompletedProcess[str]:
    argv, env = session_command(tmp_path, script, keyring=keyring)
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)


def last_json(out: str) -> Any:
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.server
def test_create_org_with_keyring_then_login_without_password(
    tmp_path: Path, parsec_server: Any, org_name: str
) -> None:
    r = run_in_session(
        tmp_path,
        f"""
$CLI create-org --server '{parsec_server.url}' --org {org_name} --email k@example.com \
    --user-name Kay --device-label desk --admin-token {parsec_server.admin_token} --keyring --json </dev/null || exit 11
$CLI devices --json || exit 12
$CLI login --json </dev/null || exit 13
""",
    )
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.strip().splitlines()]
    created, devices, login = lines
    assert devices[0]["protection"] == "keyring"
    assert login["device_id"] == created["device_id"]
    assert parsec_server.organization(org_name)["is_bootstrapped"] is True
    # The device file is the official keyring kind, and keyring_user.txt is shared.
    assert (tmp_path / "data" / "parsec3" / "keyring_user.txt").read_text()
    assert "Traceback" not in r.stderr


@pytest.mark.server
def test_login_keyring_reprotects_a_password_device(tmp_path: Path, parsec_server: Any, org_name: str) -> None:
    r = run_in_session(
        tmp_path,
        f"""
echo pw-one | $CLI create-org --server '{parsec_server.url}' --org {org_name} --email p@example.com \
    --user-name Pat --device-label desk --admin-token {parsec_server.admin_token} --password-stdin --json || exit 11
$CLI devices --json || exit 12
echo pw-one | $CLI login --keyring --password-stdin --json || exit 13
$CLI devices --json || exit 14
$CLI login --json </dev/null || exit 15
""",
    )
    assert r.returncode == 0, r.stderr
    created, before, _login1, after, login2 = (json.loads(x) for x in r.stdout.strip().splitlines())
    assert before[0]["protection"] == "password"
    assert after[0]["protection"] == "keyring"
    assert after[0]["device_file"] == before[0]["device_file"] == created["device_file"]
    assert login2["device_id"] == created["device_id"]


@pytest.mark.server
def test_keyring_refusals_are_sentences(tmp_path: Path, parsec_server: Any, org_name: str) -> None:
    # No Secret Service on the bus: --keyring is refused before anything is created.
    r = run_in_session(
        tmp_path,
        f"""
$CLI create-org --server '{parsec_server.url}' --org {org_name} --email n@example.com \
    --user-name Noa --device-label desk --admin-token {parsec_server.admin_token} --keyring </dev/null
echo "rc=$?"
echo pw | $CLI create-org --server '{parsec_server.url}' --org {org_name} --email n@example.com \
    --user-name Noa --device-label desk --keyring --password-stdin
echo "rc=$?"
""",
        keyring=False,
    )
    codes = [line for line in r.stdout.splitlines() if line.startswith("rc=")]
    assert codes == ["rc=1", "rc=1"], (r.stdout, r.stderr)
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 2, r.stderr
    assert "keyring" in errors[0].lower() and "password" in errors[0].lower()
    assert "--password-stdin" in errors[1]
    assert "Traceback" not in r.stderr
    # Refused before the administration API was called: the organization does not exist.
    assert parsec_server.admin("GET", f"/administration/organizations/{org_name}", expect_error=True) == {
        "_status": 404
    }
    assert not list((tmp_path / "cfg").rglob("*.keys"))
