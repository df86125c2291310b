"""Create a recovery file… through the whole app (Xvfb, trayer, dunst,
gnome-keyring, the real Parsec server), the GTK dialog driven through its
accessibility tree: a file that already exists is refused on its field and
left untouched; then the file is made where the person said, its
passphrase shown (never in ``status``), the dialog closes only once the
person ticks that both are kept, the at-risk state clears, and the file
with that passphrase makes a new device (the CLI's import)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import test_tray_live_e2e as live_e2e
from atspi_client import Accessibility
from desktop_session import DesktopSession, TrayApp, wait_until
from parsec_server import ParsecServer

pytestmark = [pytest.mark.desktop, pytest.mark.server, pytest.mark.timeout(300)]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "tray-recovery-e2e"
PASSPHRASE_RE = re.compile(r"^([A-Z0-9]{4}-){12}[A-Z0-9]{4}$")
WIN = "^Create a recovery file"

desktop = live_e2e.desktop
ka_server = live_e2e.ka_server


def _dialog(st: dict[str, Any]) -> dict[str, Any]:
    return dict(st.get("dialogs", {}).get("recovery_export") or {})


def accessible_app(
    s: DesktopSession,
    server: ParsecServer,
    org: str,
    workdir: Path,
    *,
    password: str | None = None,
    env: dict[str, str] | None = None,
) -> tuple[TrayApp, Accessibility, dict[str, Any]]:
    """A keyring unlocked, the app (its dialogs answer AT-SPI, as on a
    desktop) and Alice's device made with the CLI (its ``--json``)."""
    s.start_keyring("gk-" + workdir.name)
    app = TrayApp(s, workdir / "app", env=env)
    app.env.pop("NO_AT_BRIDGE", None)
    made = app.create_org(
        server.url, server.admin_token, org, email="alice@example.com", user="Alice", device="desk",
        password=password,
    )  # fmt: skip
    return app, Accessibility(s.env), made


def _type_path(s: DesktopSession, a11y: Accessibility, path: Path) -> None:
    a11y.focus(WIN, "Save the recovery file as", "text")
    s.key("ctrl+a")
    s.type(str(path))


def test_create_a_recovery_file_from_the_menu(
    desktop: DesktopSession, ka_server: ParsecServer, org_name: str, tmp_path: Path
) -> None:
    s = desktop
    app, a11y, made = accessible_app(s, ka_server, org_name, tmp_path)
    there = tmp_path / "kept" / "already.psrk"
    there.parent.mkdir()
    there.write_bytes(b"not to be touched")
    target = tmp_path / "kept" / f"Parsec_Recovery_File_{org_name}.psrk"

    with app.running(ARTIFACTS / "run", "--autostart"):
        s.wait_tray_icon(TrayApp.CLASSNAME)
        app.wait_status(
            lambda x: x["state"] == "online" and bool(x["sessions"]) and x["sessions"][0].get("at_risk"),
            60,
            "online and at risk",
        )
        app.pick("Create a recovery file", screenshot="01-menu-at-risk")
        s.wait_dialog(WIN)
        app.wait_status(lambda x: _dialog(x).get("shown"), 20, "the dialog shown")
        tree = a11y.tree(WIN)
        path_entry = next(n for n in tree if n["name"] == "Save the recovery file as" and n["role"] == "text")
        assert path_entry["showing"]
        assert any(n["name"] == "Choose: Save the recovery file as" for n in tree)  # the native save dialog
        # The suggestion: the official name, in the home folder.
        assert a11y.text(WIN, "Save the recovery file as").endswith(f"/Parsec_Recovery_File_{org_name}.psrk")
        s.screenshot("02-dialog")

        # A file already there: refused on the field, left as it was, no secret shown.
        _type_path(s, a11y, there)
        a11y.press(WIN, "Create recovery file")
        st = app.wait_status(lambda x: _dialog(x).get("error"), 60, "the refusal")
        d = _dialog(st)
        assert d["error_type"] == "DeviceFileWriteError" and d["field"] == "path" and d["open"]
        assert there.read_bytes() == b"not to be touched" and not target.exists()
        assert st["sessions"][0].get("at_risk")
        s.screenshot("03-exists")

        # Another name: made, its passphrase shown in the dialog only.
        _type_path(s, a11y, target)
        s.key("Return")
        st = app.wait_status(lambda x: _dialog(x).get("result_shown"), 120, "the recovery file made")
        assert target.is_file() and not {"passphrase", "path"} & set(_dialog(st))
        assert target.stat().st_mode & 0o077 == 0
        passphrase = wait_until(lambda: a11y.text(WIN, "Passphrase") or None, 10, "the passphrase shown")
        assert PASSPHRASE_RE.match(passphrase), passphrase
        assert passphrase not in app.log_text()
        s.screenshot("04-passphrase")

        # The risk is gone (the menu and the icon say so).
        app.wait_status(lambda x: not x["sessions"][0].get("at_risk"), 60, "no longer at risk")
        assert "Create a recovery file…" not in [e.get("text") for e in app.menu()]

        # Close before ticking: the dialog stays and says why.
        a11y.press(WIN, "Close")
        wait_until(
            lambda: any(n["name"].startswith("Tick “") and n["showing"] for n in a11y.tree(WIN)),
            10,
            "why not",
        )
        assert s.search(name=WIN) and not _dialog(app.status()).get("confirmed")
        s.screenshot("05-not-confirmed")
        a11y.press(WIN, "I have saved the recovery file and its passphrase, in separate places.", "check box")
        app.wait_status(lambda x: _dialog(x).get("confirmed"), 10, "confirmed")
        a11y.press(WIN, "Close")
        s.wait_window_gone(WIN, timeout=20)

    # The file and that passphrase make a new device of the same user.
    out = app.cli(
        "import-recovery", str(target), "--device-label", "new pc", "--password-stdin", "--json",
        input=f"{passphrase}\nnew password here\n",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    imported = json.loads(out.stdout)
    assert imported["user_id"] == made["user_id"] and imported["organization_id"] == org_name


def _field(
    a11y: Accessibility, win: str, name: str, text: str, s: DesktopSession, role: str = "text"
) -> None:
    a11y.focus(win, name, role)
    s.key("ctrl+a")
    s.type(text)


def test_import_a_recovery_file_handed_to_the_running_tray(
    desktop: DesktopSession, ka_server: ParsecServer, org_name: str, tmp_path: Path
) -> None:
    """Log in's "Forgot your password?" opens Import a recovery file…; a
    ``.psrk`` handed to the running tray as a ``file://`` URI (what the
    desktop entry passes) opens it with the file filled in; a wrong
    passphrase comes back on its field with nothing written; the right one
    makes a new device of the same user, logged in."""
    s = desktop
    app, a11y, made = accessible_app(s, ka_server, org_name, tmp_path, password="old password 1")
    folder = tmp_path / "my files"
    folder.mkdir()
    recovery = folder / f"Parsec_Recovery_File_{org_name}.psrk"
    out = app.cli(
        "export-recovery", "--device", made["device_file"], "--output", str(recovery), "--password-stdin",
        "--json", input="old password 1\n",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    passphrase = json.loads(out.stdout)["passphrase"]
    raw = recovery.read_bytes()
    win = "^Import a recovery file"

    with app.running(ARTIFACTS / "import"):
        s.wait_tray_icon(TrayApp.CLASSNAME)
        app.wait_state("logged_out", 30)
        assert "Import a recovery file…" in [e.get("text") for e in app.menu()]

        # Log in, then "Forgot your password?": the import dialog instead.
        login = wait_until(
            lambda: next((e["text"] for e in app.menu() if e.get("action") == "login"), None),
            30,
            "the device",
        )
        app.pick(login)
        s.wait_dialog("^Log in")
        app.wait_status(lambda x: (x["dialogs"].get("login") or {}).get("shown"), 20, "Log in shown")
        a11y.press("^Log in", "Forgot your password?")
        s.wait_window_gone("^Log in", timeout=20)
        s.wait_dialog(win)
        app.wait_status(
            lambda x: (x["dialogs"].get("recovery_import") or {}).get("shown"), 20, "import shown"
        )
        assert a11y.text(win, "Recovery file") == ""
        s.screenshot("01-import-from-login")
        s.key("Escape")
        s.wait_window_gone(win, timeout=20)

        # The file handed over as the desktop entry does: a file:// URI, to the running tray.
        handed = app.cli(recovery.as_uri())
        assert handed.returncode == 0, handed.stderr
        s.wait_dialog(win)
        app.wait_status(
            lambda x: (
                (x["dialogs"].get("recovery_import") or {}).get("shown")
                and x["dialogs"]["recovery_import"]["open"]
            ),
            20,
            "import shown again",
        )
        assert a11y.text(win, "Recovery file") == str(recovery)

        # A passphrase of the right form, but not this file's: refused on its field, nothing written.
        wrong = "-".join(["AAAA"] * 13)
        devices_before = sorted(app.devices_dir.iterdir())
        _field(a11y, win, "Passphrase", wrong, s)
        a11y.press(win, "Next")
        _field(a11y, win, "Device name", "new laptop", s)
        _field(a11y, win, "Password", "a new password 2", s, "password text")
        _field(a11y, win, "Confirm password", "a new password 2", s, "password text")
        s.screenshot("02-step2")
        a11y.press(win, "Import and log in")
        st = app.wait_status(
            lambda x: (x["dialogs"].get("recovery_import") or {}).get("error"), 60, "refused"
        )
        d = st["dialogs"]["recovery_import"]
        assert d["error_type"] == "WrongPasswordError" and d["field"] == "passphrase" and d["open"]
        assert sorted(app.devices_dir.iterdir()) == devices_before and recovery.read_bytes() == raw
        assert st["state"] == "logged_out"
        s.screenshot("03-wrong-passphrase")

        # The right one, as a person may type it: a new device, logged in.
        _field(a11y, win, "Passphrase", passphrase.lower().replace("-", " "), s)
        a11y.press(win, "Next")
        a11y.press(win, "Import and log in")
        s.wait_window_gone(win, timeout=120)
        st = app.wait_state("online", 60)
        assert st["organization_id"] == org_name and st["user_id"] == made["user_id"]
        assert st["device_id"] != made["device_id"] and st["device_label"] == "new laptop"
        assert len(sorted(app.devices_dir.iterdir())) == len(devices_before) + 1
        assert recovery.read_bytes() == raw


def test_use_a_password_then_change_it_from_the_menu(
    desktop: DesktopSession, ka_server: ParsecServer, org_name: str, tmp_path: Path
) -> None:
    """A keyring device: "Use a password…" protects it with a password;
    then "Change password…" refuses a wrong current password (the file
    untouched) and takes the right one; the CLI logs in with the new one."""
    s = desktop
    app, a11y, made = accessible_app(s, ka_server, org_name, tmp_path)
    device_file = Path(made["device_file"])

    def actions() -> list[str]:
        return [str(e.get("action")) for e in app.menu()]

    with app.running(ARTIFACTS / "auth", "--autostart"):
        s.wait_tray_icon(TrayApp.CLASSNAME)
        app.wait_state("online", 60)
        wait_until(lambda: "use_password" in actions(), 30, "Use a password…")
        assert "change_password" not in actions()
        app.pick("Use a password")
        win = "^Use a password"
        s.wait_dialog(win)
        app.wait_status(lambda x: (x["dialogs"].get("change_auth") or {}).get("shown"), 20, "shown")
        _field(a11y, win, "Password", "first password 1", s, "password text")
        _field(a11y, win, "Confirm password", "first password 1", s, "password text")
        a11y.press(win, "Use this password")
        s.wait_window_gone(win, timeout=60)
        wait_until(lambda: "change_password" in actions(), 30, "Change password…")
        assert "use_password" not in actions() and "use_keyring" in actions()

        app.pick("Change password")
        win = "^Change password"
        s.wait_dialog(win)
        app.wait_status(lambda x: (x["dialogs"].get("change_auth") or {}).get("shown"), 20, "shown")
        before = device_file.read_bytes()
        _field(a11y, win, "Current password", "not it at all", s, "password text")
        _field(a11y, win, "Password", "second password 2", s, "password text")
        _field(a11y, win, "Confirm password", "second password 2", s, "password text")
        a11y.press(win, "Change password")
        st = app.wait_status(lambda x: (x["dialogs"].get("change_auth") or {}).get("error"), 60, "refused")
        d = st["dialogs"]["change_auth"]
        assert d["error_type"] == "WrongPasswordError" and d["field"] == "current_password" and d["open"]
        assert device_file.read_bytes() == before
        _field(a11y, win, "Current password", "first password 1", s, "password text")
        a11y.press(win, "Change password")
        s.wait_window_gone(win, timeout=60)
        assert app.status()["state"] == "online"

    login = app.cli(
        "login", "--device", str(device_file), "--password-stdin", "--json", input="second password 2\n"
    )
    assert login.returncode == 0, login.stderr
    assert json.loads(login.stdout)["device_id"] == made["device_id"]
