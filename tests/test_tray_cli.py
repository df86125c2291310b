"""``parsec-tray`` (cli/main.py): the core subcommands pass through, the
tray's own ones work without a display, nothing heavy is imported to get
there, the backend is chosen as documented, and the menu's device list
comes from core (in a child process while the tray is idle)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from parsec_tray.tray import backends, hosts
from parsec_tray.tray.devices import DeviceLister, list_devices, scan

PASSWORD = "correct horse battery"


def run(*args: str, home: Path, stdin: str = "", display: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(
        PARSEC_BASE_CONFIG_DIR=str(home / "config"),
        PARSEC_BASE_DATA_DIR=str(home / "data"),
        PARSEC_TRAY_RUNTIME_DIR=str(home / "run"),
    )
    return subprocess.run(
        [sys.executable, "-m", "parsec_tray", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def ok_json(r: subprocess.CompletedProcess[str]) -> Any:
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_help_lists_core_and_tray_commands(tmp_path: Path) -> None:
    r = run("--help", home=tmp_path)
    assert r.returncode == 0
    for cmd in ("create-org", "bootstrap", "devices", "login", "status", "demo"):
        assert cmd in r.stdout


def test_importing_the_entry_point_is_light() -> None:
    code = (
        "import sys, parsec_tray.cli.main as m; "
        "print(sorted({n.split('.')[0] for n in sys.modules} & {'pystray','gi','tkinter','PIL','requests','nacl','zstandard'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_display_says_so_and_the_cli_still_works(tmp_path: Path) -> None:
    r = run(home=tmp_path)
    assert r.returncode == 2
    assert "needs a graphical session: neither DISPLAY nor WAYLAND_DISPLAY is set" in r.stderr
    assert "Traceback" not in r.stderr
    r = run("demo", home=tmp_path)
    assert r.returncode == 2 and "graphical session" in r.stderr
    assert ok_json(run("devices", "--json", home=tmp_path)) == []


@pytest.mark.server
def test_core_subcommands_pass_through(parsec_server: Any, org_name: str, tmp_path: Path) -> None:
    created = ok_json(
        run(
            "create-org",
            "--server",
            parsec_server.url,
            "--org",
            org_name,
            "--email",
            "a@example.com",
            "--user-name",
            "Alice",
            "--device-label",
            "pc",
            "--admin-token",
            parsec_server.admin_token,
            "--password-stdin",
            "--json",
            home=tmp_path,
            stdin=PASSWORD + "\n",
        )
    )
    assert parsec_server.organization(org_name)["is_bootstrapped"] is True
    devices = ok_json(run("devices", "--json", home=tmp_path))
    assert [d["device_id"] for d in devices] == [created["device_id"]]
    login = ok_json(run("login", "--password-stdin", "--json", home=tmp_path, stdin=PASSWORD + "\n"))
    assert login["device_id"] == created["device_id"] and login["organization_id"] == org_name
    r = run("login", "--password-stdin", home=tmp_path, stdin="wrong\n")
    assert r.returncode == 1 and r.stderr.startswith("Error: ") and "Traceback" not in r.stderr

    link = parsec_server.create_organization(org_name + "b")
    joined = ok_json(
        run(
            "bootstrap",
            link,
            "--email",
            "b@example.com",
            "--user-name",
            "Bob",
            "--device-label",
            "pc",
            "--password-stdin",
            "--json",
            home=tmp_path,
            stdin=PASSWORD + "\n",
        )
    )
    assert joined["organization_id"] == org_name + "b"


# -- device list for the menu --------------------------------------------------------


@pytest.mark.server
def test_device_list_matches_core(parsec_server: Any, org_name: str, config_home: Path) -> None:
    from parsec_tray.core import api

    seen: list[Any] = []
    lister = DeviceLister(seen.append)
    assert scan() == ()
    created = api.create_organization(
        parsec_server.url,
        org_name,
        "a@example.com",
        "Alice",
        "pc",
        password=PASSWORD,
        admin_token=parsec_server.admin_token,
    )
    if created.session:
        created.session.close()
    assert scan() != ()
    reference = [d.to_json() for d in api.list_devices()]
    # The child-process path (what an idle tray uses) and the in-process one agree with core.
    from parsec_tray.tray import devices as D

    child = D._list_in_child()
    assert [
        (d.key, d.device_id, d.organization_id, d.user_name, d.email, d.device_label, d.server_url)
        for d in child
    ] == [
        (
            r["device_file"],
            r["device_id"],
            r["organization_id"],
            r["human_handle"]["label"],
            r["human_handle"]["email"],
            r["device_label"],
            r["server_url"],
        )
        for r in reference
    ]
    assert list_devices() == child  # core is imported here: in process
    assert lister.refresh_now() == child and seen == [child]
    lister.refresh()  # nothing changed on disk: no listing, no callback
    assert seen == [child]


# -- backend choice -------------------------------------------------------------------


@pytest.fixture
def desktop_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("PARSEC_TRAY_BACKEND", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    return monkeypatch


def test_choice_without_display(desktop_env: pytest.MonkeyPatch) -> None:
    desktop_env.delenv("DISPLAY", raising=False)
    desktop_env.delenv("WAYLAND_DISPLAY", raising=False)
    assert backends.choose().name == "none"


@pytest.mark.parametrize(
    ("sni", "xembed", "expected"),
    [
        (True, True, "appindicator"),
        (False, True, "gtk"),
        (False, False, "window"),
        (True, False, "appindicator"),
    ],
)
def test_choice_by_tray_host(desktop_env: pytest.MonkeyPatch, sni: bool, xembed: bool, expected: str) -> None:
    desktop_env.setenv("DISPLAY", ":99")
    desktop_env.setattr(hosts, "sni_host_present", lambda: sni)
    desktop_env.setattr(hosts, "xembed_tray_present", lambda display=None: xembed)
    desktop_env.setattr(backends, "_appindicator_available", lambda: True)
    assert backends.choose().name == expected


def test_choice_override(desktop_env: pytest.MonkeyPatch) -> None:
    desktop_env.setenv("PARSEC_TRAY_BACKEND", "window")
    assert backends.choose().name == "window"
    assert backends.choose("gtk").name == "gtk"
    with pytest.raises(ValueError, match="unknown backend"):
        backends.choose("qt")


def test_no_tray_host_on_a_display_that_does_not_exist() -> None:
    assert hosts.xembed_tray_present(":4242") is False
    assert hosts.has_display({"WAYLAND_DISPLAY": "wayland-0"}) is True
    assert hosts.has_display({}) is False


def test_status_text_names_the_other_sessions() -> None:
    from parsec_tray.cli.tray import _status_text
    from parsec_tray.tray.state import Identity, SessionView, Snapshot, State

    work = Identity("Work", "a" * 32, "1" * 32, "parsec3://h", "Alice", "alice@example.com", "desk")
    club = Identity("Club", "b" * 32, "2" * 32, "parsec3://h", "Alice", "alice@example.com", "desk")
    snap = Snapshot(
        state=State.OFFLINE,
        identity=work,
        sessions=(
            SessionView("/d/w.keys", work, State.ONLINE),
            SessionView("/d/c.keys", club, State.OFFLINE),
        ),
    )
    assert _status_text(snap.status_json()).splitlines() == [
        "Parsec Tray is running: offline, Work as Alice on desk (parsec3://h).",
        "Also logged in to Club: offline.",
    ]
