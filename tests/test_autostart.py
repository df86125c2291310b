"""Start at login (tray/autostart/): real files read by real readers.

- XDG: the entry is validated by ``desktop-file-validate``, launched by GLib
  (what GNOME, Xfce, Cinnamon... use to start autostart entries) and by
  ``dex`` (what i3, Openbox... users run); the launched program writes the
  argv it received, which must be the command we enabled, byte for byte.
- Windows: the Run value is split by ``mslex`` (an independent
  implementation of the C runtime's command-line rules); the registry is a
  dict behind the backend's seam; without ``winreg`` (here) the backend
  refuses with a sentence.
- macOS: the LaunchAgent plist is written into a temporary HOME and read back
  with plistlib.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import require
from parsec_tray.core.errors import LocalError
from parsec_tray.tray import autostart
from parsec_tray.tray.autostart import AutostartError, choose, default_command, get_autostart
from parsec_tray.tray.autostart._macos import LABEL, LaunchAgentAutostart
from parsec_tray.tray.autostart._xdg import FILENAME, XdgAutostart, read_entry

REPO = Path(__file__).resolve().parent.parent
APP_ENTRY = REPO / "installers" / "linux" / "parsec-tray.desktop"

# Directory and program names a person (or an installer) could really have.
AWKWARD = {
    "plain": ("bin", "prog"),
    "spaces": ("My Apps", "parsec tray"),
    "quotes": ('O\'Brien "stuff"', 'it\'s "here"'),
    "shell": ("$HOME `id` (x) & y; z", "a|b<c>d~e#f*g?h"),
    "backslash": ("back\\slash", "a\\b"),
    "unicode": ("Données 日本", "Zoë"),
}


def _glib_keyfile(path: Path) -> Any:
    import gi

    gi.require_version("GLib", "2.0")
    from gi.repository import GLib

    kf = GLib.KeyFile()
    kf.load_from_file(str(path), GLib.KeyFileFlags.NONE)
    return kf


def make_recorder(folder: Path, name: str) -> Path:
    """An executable that writes the argv it received to $ARGV_OUT."""
    folder.mkdir(parents=True, exist_ok=True)
    prog = folder / name
    prog.write_text(
        f"#!{sys.executable}\n"
        + textwrap.dedent(
            """\
            import json, os, sys
            with open(os.environ["ARGV_OUT"], "w", encoding="utf-8") as f:
                json.dump(sys.argv, f)
            """
        ),
        encoding="utf-8",
    )
    prog.chmod(0o755)
    return prog


def xdg_env(tmp_path: Path) -> dict[str, str]:
    return {
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "home" / "cfg"),
        "XDG_CONFIG_DIRS": str(tmp_path / "etc-xdg"),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }


def validate(path: Path) -> None:
    require(shutil.which("desktop-file-validate") is not None, "desktop-file-validate (desktop-file-utils)")
    out = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and not out.stdout.strip() and not out.stderr.strip(), out.stdout + out.stderr


def wait_for_file(path: Path, timeout: float = 10) -> str:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size:
            return path.read_text(encoding="utf-8")
        time.sleep(0.05)
    raise AssertionError(f"{path} was not written: the autostart command did not run")


def glib_launch(entry: Path, env: dict[str, str]) -> None:
    """Start the entry the way GNOME/Xfce do (GDesktopAppInfo)."""
    code = textwrap.dedent(
        """\
        import sys, gi
        gi.require_version("Gio", "2.0")
        from gi.repository import Gio
        info = Gio.DesktopAppInfo.new_from_filename(sys.argv[1])
        if info is None:
            sys.exit("GLib refused the entry")
        info.launch([], None)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(entry)], env=env, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr


# -- XDG ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(AWKWARD))
def test_xdg_entry_is_valid_and_glib_starts_the_exact_command(tmp_path: Path, case: str) -> None:
    folder, name = AWKWARD[case]
    prog = make_recorder(tmp_path / folder, name)
    command = [str(prog), "arg with space", 'say "hi"', "$HOME", "50%", "back\\slash", "'single'"]
    env = xdg_env(tmp_path)
    a = XdgAutostart(env)
    a.enable(command)
    assert a.path == tmp_path / "home" / "cfg" / "autostart" / FILENAME
    validate(a.path)
    assert a.is_enabled()

    out = tmp_path / "argv.json"
    glib_launch(a.path, dict(env, ARGV_OUT=str(out)))
    assert json.loads(wait_for_file(out)) == [*command, "--autostart"]


def test_xdg_entry_has_the_app_entry_facts(tmp_path: Path) -> None:
    prog = make_recorder(tmp_path / "bin", "parsec-tray")
    a = XdgAutostart(xdg_env(tmp_path))
    a.enable([str(prog)])
    ours, app = _glib_keyfile(a.path), _glib_keyfile(APP_ENTRY)
    for key in ("Name", "Icon", "Comment", "GenericName"):
        assert ours.get_string("Desktop Entry", key) == app.get_string("Desktop Entry", key), key
    assert ours.get_boolean("Desktop Entry", "X-GNOME-Autostart-enabled") is True
    assert ours.get_string("Desktop Entry", "Type") == "Application"
    assert ours.get_string("Desktop Entry", "Exec").endswith(" --autostart")
    # The URL-handler facts stay with the app's entry.
    assert "MimeType" not in ours.get_keys("Desktop Entry")[0]


def test_dex_starts_an_entry_whose_path_has_spaces(tmp_path: Path) -> None:
    require(shutil.which("dex") is not None, "dex (Debian package dex)")
    prog = make_recorder(tmp_path / "My Apps", "parsec tray")
    env = xdg_env(tmp_path)
    a = XdgAutostart(env)
    a.enable([str(prog), "--backend", "gtk"])
    dry = subprocess.run(
        ["dex", "--autostart", "--dry-run"], env=env, capture_output=True, text=True, timeout=30
    )
    assert dry.returncode == 0, dry.stderr
    assert f"Executing command: {prog} --backend gtk --autostart" in dry.stdout.splitlines()
    out = tmp_path / "argv.json"
    run = subprocess.run(
        ["dex", "--autostart"], env=dict(env, ARGV_OUT=str(out)), capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(wait_for_file(out)) == [str(prog), "--backend", "gtk", "--autostart"]


def test_xdg_enable_and_disable_are_idempotent_and_atomic(tmp_path: Path) -> None:
    prog = make_recorder(tmp_path / "bin", "prog")
    a = XdgAutostart(xdg_env(tmp_path))
    assert not a.is_enabled()
    a.disable()  # nothing to remove: fine
    a.enable([str(prog)])
    first = a.path.read_bytes()
    a.enable([str(prog)])
    assert a.path.read_bytes() == first and a.is_enabled()
    assert sorted(p.name for p in a.path.parent.iterdir()) == [FILENAME]  # no temp file left
    a.disable()
    a.disable()
    assert not a.path.exists() and not a.is_enabled()
    # A newer command replaces the old one.
    other = make_recorder(tmp_path / "elsewhere", "prog")
    a.enable([str(prog)])
    a.enable([str(other)])
    assert str(other) in read_entry(a.path)["Exec"] and str(prog) not in read_entry(a.path)["Exec"]


def test_xdg_system_wide_entry_is_overridden_with_hidden(tmp_path: Path) -> None:
    require(shutil.which("dex") is not None, "dex (Debian package dex)")
    env = xdg_env(tmp_path)
    prog = make_recorder(tmp_path / "bin", "prog")
    system = tmp_path / "etc-xdg" / "autostart" / FILENAME
    system.parent.mkdir(parents=True)
    system.write_text(f"[Desktop Entry]\nType=Application\nName=Parsec Tray\nExec={prog}\n", encoding="utf-8")
    a = XdgAutostart(env)
    assert a.is_enabled()  # a package's entry starts us

    def dex_lists() -> list[str]:
        out = subprocess.run(
            ["dex", "--autostart", "--dry-run"], env=env, capture_output=True, text=True, timeout=30
        )
        return [line for line in out.stdout.splitlines() if line.startswith("Executing command:")]

    assert dex_lists() == [f"Executing command: {prog}"]
    a.disable()
    validate(a.path)
    assert read_entry(a.path)["Hidden"] == "true"
    assert not a.is_enabled() and dex_lists() == []
    a.enable([str(prog)])
    assert a.is_enabled() and dex_lists() == [f"Executing command: {prog} --autostart"]


def test_xdg_entry_of_a_moved_install_reads_as_off(tmp_path: Path) -> None:
    prog = make_recorder(tmp_path / "bin", "prog")
    a = XdgAutostart(xdg_env(tmp_path))
    a.enable([str(prog)])
    assert a.is_enabled()
    prog.unlink()
    assert not a.is_enabled()  # TryExec: the session would skip it


def test_xdg_entry_turned_off_by_the_session_settings_reads_as_off(tmp_path: Path) -> None:
    prog = make_recorder(tmp_path / "bin", "prog")
    a = XdgAutostart(xdg_env(tmp_path))
    a.enable([str(prog)])
    text = a.path.read_text(encoding="utf-8").replace(
        "X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false"
    )
    a.path.write_text(text, encoding="utf-8")
    assert not a.is_enabled()


def test_xdg_refuses_what_an_entry_cannot_hold_and_translates_os_errors(tmp_path: Path) -> None:
    a = XdgAutostart(xdg_env(tmp_path))
    with pytest.raises(AutostartError, match="control character"):
        a.enable(["/opt/new\nline/prog"])
    assert not a.path.exists()
    with pytest.raises(AutostartError):
        a.enable([])
    with pytest.raises(AutostartError, match="contains '%'"):
        a.enable(["/opt/100% sure/prog", "50%"])
    assert not a.path.exists()
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    b = XdgAutostart(dict(xdg_env(tmp_path), XDG_CONFIG_HOME=str(blocked)))
    with pytest.raises(AutostartError, match="Could not write") as err:
        b.enable(["/usr/bin/true"])
    assert isinstance(err.value, LocalError) and str(blocked) in str(err.value)


# -- Windows ------------------------------------------------------------------------------


class DictRegistry:
    """HKEY_CURRENT_USER as a dict; ``fail`` makes every write raise."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], Any] = {}
        self.fail: OSError | None = None

    def get(self, key: str, name: str) -> Any | None:
        return self.values.get((key, name))

    def set_string(self, key: str, name: str, value: str) -> None:
        if self.fail:
            raise self.fail
        self.values[(key, name)] = value

    def delete(self, key: str, name: str) -> None:
        if self.fail:
            raise self.fail
        self.values.pop((key, name), None)


def test_windows_module_imports_here_and_refuses_with_a_sentence() -> None:
    from parsec_tray.tray.autostart import _windows

    if sys.platform == "win32":
        pytest.fail("this test is about a system without winreg")
    assert _windows.winreg is None and _windows.WindowsAutostart.SUPPORTED is False
    w = _windows.WindowsAutostart()
    assert w.is_enabled() is False
    with pytest.raises(AutostartError, match="only available on Windows"):
        w.enable([r"C:\Program Files\Parsec Tray\parsec-tray.exe"])
    with pytest.raises(AutostartError, match="only available on Windows"):
        w.disable()


def test_windows_run_value_splits_back_to_the_command() -> None:
    try:
        import mslex
    except ImportError:
        mslex = None
    require(mslex is not None, "mslex (pip: an independent Windows command-line splitter)")
    from parsec_tray.tray.autostart._windows import APPROVED_KEY, RUN_KEY, VALUE_NAME, WindowsAutostart

    reg = DictRegistry()
    w = WindowsAutostart(registry=reg)
    command = [
        r"C:\Users\Zoë O'Brien\AppData\Local\Programs\Python\Python312\pythonw.exe",
        "-m",
        "parsec_tray",
        'say "hi"',
        "trailing\\",
        "",
        "%APPDATA%",
    ]
    assert not w.is_enabled()
    w.enable(command)
    value = reg.values[(RUN_KEY, VALUE_NAME)]
    # Run values are started without cmd.exe: no cmd metacharacter rules.
    assert mslex.split(value, like_cmd=False) == [*command, "--autostart"]
    assert w.is_enabled()
    # Turned off in Task Manager (first byte odd): off, until enabled again.
    reg.values[(APPROVED_KEY, VALUE_NAME)] = bytes([3]) + bytes(11)
    assert not w.is_enabled()
    reg.values[(APPROVED_KEY, VALUE_NAME)] = bytes([2]) + bytes(11)
    assert w.is_enabled()
    reg.values[(APPROVED_KEY, VALUE_NAME)] = bytes([3]) + bytes(11)
    w.enable(command)
    assert (APPROVED_KEY, VALUE_NAME) not in reg.values and w.is_enabled()
    w.disable()
    w.disable()
    assert reg.values == {} and not w.is_enabled()


def test_windows_registry_errors_become_autostart_errors() -> None:
    from parsec_tray.tray.autostart._windows import WindowsAutostart

    reg = DictRegistry()
    reg.fail = PermissionError(5, "Access is denied")
    w = WindowsAutostart(registry=reg)
    with pytest.raises(AutostartError, match="Access is denied"):
        w.enable(["C:\\parsec-tray.exe"])
    with pytest.raises(AutostartError, match="turn off"):
        w.disable()


# -- macOS ---------------------------------------------------------------------------------


def test_launch_agent_written_read_back_and_removed(tmp_path: Path) -> None:
    import plistlib

    home = tmp_path / "Users" / "zoë o'brien"
    m = LaunchAgentAutostart(home=home)
    assert m.SUPPORTED is (sys.platform == "darwin")
    assert not m.is_enabled()
    command = ["/Applications/Parsec Tray.app/Contents/MacOS/parsec-tray", "--backend", "darwin"]
    m.enable(command)
    path = home / "Library" / "LaunchAgents" / f"{LABEL}.plist"
    assert m.path == path
    with open(path, "rb") as f:
        data = plistlib.load(f)
    assert data["Label"] == "cloud.parsec.tray"
    assert data["ProgramArguments"] == [*command, "--autostart"]
    assert data["RunAtLoad"] is True and data.get("KeepAlive") is False
    assert data["LimitLoadToSessionType"] == "Aqua"
    assert path.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist')
    assert m.is_enabled()
    first = path.read_bytes()
    m.enable(command)
    assert path.read_bytes() == first
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    # Disabled=true (as some tools write) is off.
    path.write_bytes(plistlib.dumps(dict(data, Disabled=True)))
    assert not m.is_enabled()
    path.write_bytes(b"not a plist")
    assert not m.is_enabled()
    m.disable()
    m.disable()
    assert not path.exists() and not m.is_enabled()


# -- the choice ----------------------------------------------------------------------------


def test_choice_per_platform_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    assert choose(platform="linux", env={}) == "xdg"
    assert choose(platform="freebsd14", env={}) == "xdg"
    assert choose(platform="win32", env={}) == "windows"
    assert choose(platform="darwin", env={}) == "macos"
    assert choose(platform="emscripten", env={}) == "none"
    assert choose(platform="linux", env={"PARSEC_TRAY_AUTOSTART": "none"}) == "none"
    with pytest.raises(ValueError, match="xdg, windows, macos, none"):
        choose(platform="linux", env={"PARSEC_TRAY_AUTOSTART": "systemd"})

    monkeypatch.setenv("PARSEC_TRAY_AUTOSTART", "none")
    autostart._reset()
    try:
        a = get_autostart()
        assert a.name == "none" and a.SUPPORTED is False and not a.is_enabled()
        with pytest.raises(AutostartError, match="not available"):
            a.enable(default_command())
        a.disable()
        assert get_autostart() is a  # chosen once
    finally:
        autostart._reset()
    monkeypatch.delenv("PARSEC_TRAY_AUTOSTART")
    if sys.platform.startswith("linux"):
        assert get_autostart().name == "xdg" and get_autostart().SUPPORTED
    autostart._reset()


def test_default_command_starts_this_installation() -> None:
    cmd = default_command()
    out = subprocess.run([*cmd, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "parsec-tray" in out.stdout or "Parsec Tray" in out.stdout
