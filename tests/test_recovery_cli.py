"""The CLI contract of issue 8 against the real server: ``export-recovery``,
``import-recovery``, ``change-auth`` and ``login --json``'s ``at_risk``;
keyring cases in a real gnome-keyring (the sessions of test_keyring_cli)."""

from __future__ import annotations

import dataclasses
import json
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from cli_runner import cli, ok_json
from parsec_server import free_port
from parsec_tray.core.addr import ParsecAddr
from parsec_tray.core.devices import load_device_with_password, read_device_file
from parsec_tray.core.recovery import dump_recovery_device, load_recovery_device
from test_cli import CREATED_KEYS, DEVICE_KEYS, assert_error, device_files_in
from test_keyring_cli import run_in_session

pytestmark = pytest.mark.server

PASSPHRASE_RE = re.compile(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){12}")
EXPORT_KEYS = {"recovery_file", "passphrase", "device_id", "organization_id"}
PW = "first pw ✓"


def _create(server: Any, org: str, home: Path) -> dict[str, Any]:
    return ok_json(cli(
        "create-org", "--server", server.url, "--org", org, "--email", "r@example.com", "--user-name", "Rae",
        "--device-label", "desk", "--admin-token", server.admin_token, "--password-stdin", "--json",
        home=home, stdin=PW + "\n",
    ))


def _login(home: Path, password: str | None, *extra: str) -> dict[str, Any]:
    args = ["login", *extra, "--json"] + (["--password-stdin"] if password is not None else [])
    return ok_json(cli(*args, home=home, stdin=f"{password}\n" if password is not None else ""))


def test_export_import_and_change_auth(parsec_server: Any, org_name: str, tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    created = _create(parsec_server, org_name, home)
    assert _login(home, PW)["at_risk"] is True  # a lone device
    r = cli("login", "--password-stdin", home=home, stdin=PW + "\n")
    assert r.returncode == 0 and f"Only this computer can open {org_name}" in r.stderr, r.stderr

    # Export: default name in the current folder, 0600, the JSON of the contract.
    exported = ok_json(cli("export-recovery", "--password-stdin", "--json", home=home, stdin=PW + "\n", cwd=work))
    assert set(exported) == EXPORT_KEYS
    recovery = work / f"Parsec_Recovery_File_{org_name}.psrk"
    assert Path(exported["recovery_file"]) == recovery
    assert PASSPHRASE_RE.fullmatch(exported["passphrase"])
    assert exported["organization_id"] == org_name and exported["device_id"] != created["device_id"]
    assert stat.S_IMODE(recovery.stat().st_mode) == 0o600
    assert sorted(p.name for p in work.iterdir()) == [recovery.name]
    assert load_recovery_device(recovery.read_bytes(), exported["passphrase"]).device_id.hex == exported["device_id"]
    assert _login(home, PW)["at_risk"] is False
    r = cli("login", "--password-stdin", home=home, stdin=PW + "\n")
    assert r.returncode == 0 and "Only this computer" not in r.stderr, r.stderr

    # Never over an existing file, refused before the password is asked.
    raw = recovery.read_bytes()
    assert_error(cli("export-recovery", "--password-stdin", home=home, cwd=work), "already exists")
    assert_error(cli("export-recovery", "--output", str(recovery), home=home), "already exists")
    assert recovery.read_bytes() == raw

    # Text form: the passphrase once, with the advice to keep it apart.
    r = cli("export-recovery", "--output", str(work / "second.psrk"), "--password-stdin", home=home, stdin=PW + "\n")
    assert r.returncode == 0, r.stderr
    assert len(PASSPHRASE_RE.findall(r.stdout)) == 1
    assert "separate" in r.stdout and str(work / "second.psrk") in r.stdout

    # Import on a new computer: the passphrase as a person may type it.
    other = tmp_path / "other"
    typed = exported["passphrase"].lower().replace("-", " ")
    imported = ok_json(cli(
        "import-recovery", str(recovery), "--device-label", "new pc", "--password-stdin", "--json",
        home=other, stdin=f"{typed}\nnew pw\n",
    ))
    assert set(imported) == CREATED_KEYS
    assert imported["user_id"] == created["user_id"] and imported["organization_id"] == org_name
    assert imported["organization_url"] == created["organization_url"]
    assert device_files_in(other) == [Path(imported["device_file"])]
    assert recovery.read_bytes() == raw
    login = _login(other, "new pw")
    assert login["device_id"] == imported["device_id"] and login["at_risk"] is False

    # change-auth: current password, then the new one; in place, created_on kept.
    path = Path(imported["device_file"])
    before = read_device_file(path)
    changed = ok_json(cli("change-auth", "--new-password", "--password-stdin", "--json", home=other,
                          stdin="new pw\nthird pw\n"))
    assert set(changed) == DEVICE_KEYS and changed["protection"] == "password"
    assert Path(changed["device_file"]) == path
    after = read_device_file(path)
    assert after.created_on == before.created_on and after.protected_on > before.protected_on
    assert load_device_with_password(after, "third pw").device_id.hex == imported["device_id"]
    assert _login(other, "third pw")["device_id"] == imported["device_id"]
    raw_after = path.read_bytes()
    assert_error(cli("change-auth", "--new-password", "--password-stdin", home=other, stdin="wrong\nx\n"),
                 "wrong password")
    assert_error(cli("change-auth", "--new-password", "--password-stdin", home=other, stdin="third pw\n"),
                 "new password")
    assert path.read_bytes() == raw_after


def test_import_refusals_write_nothing(parsec_server: Any, org_name: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    created = _create(parsec_server, org_name, home)
    out = tmp_path / "r.psrk"
    exported = ok_json(cli("export-recovery", "--output", str(out), "--password-stdin", "--json", home=home,
                           stdin=PW + "\n"))
    other = tmp_path / "other"
    wrong = dump_recovery_device(load_recovery_device(out.read_bytes(), exported["passphrase"]))[0]

    def imp(path: Path, stdin: str, *extra: str) -> Any:
        return cli("import-recovery", str(path), "--device-label", "x", "--password-stdin", *extra,
                   home=other, stdin=stdin)

    assert_error(imp(out, f"{wrong}\npw\n"), "passphrase does not match")
    assert_error(imp(out, "ABCD-EFGH\npw\n"), "not a valid recovery passphrase")
    assert_error(imp(Path(created["device_file"]), f"{exported['passphrase']}\npw\n"), "not a recovery file")
    assert_error(imp(tmp_path / "none.psrk", "x\n"), "does not exist")
    assert_error(imp(out, ""), "standard input")
    assert_error(imp(out, f"{exported['passphrase']}\n"), "standard input")  # no line for the password
    assert_error(cli("import-recovery", str(out), "--device-label", "", "--password-stdin", home=other,
                     stdin=f"{exported['passphrase']}\npw\n"), "device name")
    # The same user's recovery device, but its server cannot be reached.
    device = load_recovery_device(out.read_bytes(), exported["passphrase"])
    dead_pass, dead_raw = dump_recovery_device(
        dataclasses.replace(device, server=ParsecAddr("127.0.0.1", free_port(), False))
    )
    dead = tmp_path / "dead.psrk"
    dead.write_bytes(dead_raw)
    assert_error(imp(dead, f"{dead_pass}\npw\n"), "cannot be reached", "nothing was saved")
    assert not [p for p in other.rglob("*") if p.is_file()]  # no device file, no temporary
    # Usage: change-auth needs exactly one of --new-password / --keyring.
    for args in ([], ["--new-password", "--keyring"]):
        r = cli("change-auth", *args, home=home)
        assert r.returncode == 2 and "Traceback" not in r.stderr


def test_keyring_import_and_switches(parsec_server: Any, org_name: str, tmp_path: Path) -> None:
    r = run_in_session(
        tmp_path,
        f"""
echo '{PW}' | $CLI create-org --server '{parsec_server.url}' --org {org_name} --email k@example.com \
    --user-name Kay --device-label desk --admin-token {parsec_server.admin_token} --password-stdin --json || exit 11
echo '{PW}' | $CLI export-recovery --output "$HOME/r.psrk" --password-stdin --json > "$HOME/exp.json" || exit 12
cat "$HOME/exp.json"
rm -r "$PARSEC_BASE_CONFIG_DIR"   # a new computer: only the recovery file is left
$PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["passphrase"].lower())' "$HOME/exp.json" \
  | $CLI import-recovery "$HOME/r.psrk" --device-label laptop --keyring --password-stdin --json || exit 13
$CLI devices --json || exit 14
$CLI login --json </dev/null || exit 15
echo 'pw two' | $CLI change-auth --new-password --password-stdin --json || exit 16
echo 'pw two' | $CLI login --password-stdin --json || exit 17
echo 'pw two' | $CLI change-auth --keyring --password-stdin --json || exit 18
$CLI login --json </dev/null || exit 19
# A locked keyring: refused, nothing changed, nothing added.
ls -R "$PARSEC_BASE_CONFIG_DIR" > "$HOME/tree"
sha256sum "$PARSEC_BASE_CONFIG_DIR"/parsec3/libparsec/devices/*.keys > "$HOME/before"
$PY -c 'import secretstorage; secretstorage.get_default_collection(secretstorage.dbus_init()).lock()' || exit 20
echo 'pw three' | $CLI change-auth --new-password --password-stdin
echo "rc=$?"
$PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["passphrase"])' "$HOME/exp.json" \
  | $CLI import-recovery "$HOME/r.psrk" --device-label again --keyring --password-stdin
echo "rc=$?"
sha256sum -c --quiet "$HOME/before" && ls -R "$PARSEC_BASE_CONFIG_DIR" | cmp -s - "$HOME/tree" && echo same
""",
    )
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[-3:] == ["rc=1", "rc=1", "same"], (r.stdout, r.stderr)
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 2 and all("locked" in e for e in errors), r.stderr
    _created, exported, imported, devices, login1, to_pw, login2, to_kr, login3 = (
        json.loads(x) for x in lines[:-3]
    )
    assert set(imported) == CREATED_KEYS
    assert [d["protection"] for d in devices] == ["keyring"]
    assert devices[0]["device_file"] == imported["device_file"]
    assert login1["device_id"] == imported["device_id"] and login1["at_risk"] is False
    assert to_pw["protection"] == "password" and to_kr["protection"] == "keyring"
    assert to_pw["device_file"] == to_kr["device_file"] == imported["device_file"]
    assert login2["device_id"] == login3["device_id"] == imported["device_id"]
    assert exported["organization_id"] == org_name


def test_keyring_missing_changes_nothing(parsec_server: Any, org_name: str, tmp_path: Path) -> None:
    r = run_in_session(
        tmp_path,
        f"""
echo '{PW}' | $CLI create-org --server '{parsec_server.url}' --org {org_name} --email n@example.com \
    --user-name Noa --device-label desk --admin-token {parsec_server.admin_token} --password-stdin --json || exit 11
echo '{PW}' | $CLI export-recovery --output "$HOME/r.psrk" --password-stdin --json > /dev/null || exit 12
sha256sum "$PARSEC_BASE_CONFIG_DIR"/parsec3/libparsec/devices/*.keys > "$HOME/before"
echo '{PW}' | $CLI change-auth --keyring --password-stdin
echo "rc=$?"
echo 'ABCD' | $CLI import-recovery "$HOME/r.psrk" --device-label x --keyring --password-stdin
echo "rc=$?"
sha256sum -c --quiet "$HOME/before" && echo same
ls "$PARSEC_BASE_CONFIG_DIR"/parsec3/libparsec/devices/ | wc -l
""",
        keyring=False,
    )
    lines = r.stdout.strip().splitlines()
    assert lines[-4:] == ["rc=1", "rc=1", "same", "1"], (r.stdout, r.stderr)
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 2 and all("keyring" in e.lower() for e in errors), r.stderr
    assert "Traceback" not in r.stderr
