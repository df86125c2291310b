"""The install and test commands: installers/install.sh, tests/run, .ci/run
and the desktop entry."""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import metadata
from pathlib import Path

import pytest
from conftest import require
from test_autostart import make_recorder, wait_for_file

REPO = Path(__file__).resolve().parent.parent
INSTALL_SH = REPO / "installers" / "install.sh"
TESTS_RUN = REPO / "tests" / "run"
CI_RUN = REPO / ".ci" / "run"
LINUX = REPO / "installers" / "linux"
DESKTOP = LINUX / "parsec-tray.desktop"
METAINFO = LINUX / "io.github.parsec_tray.ParsecTray.metainfo.xml"
MIME_XML = LINUX / "parsec-tray-mime.xml"
RECOVERY_TYPE = "application/x-parsec-recovery-file"
HICOLOR_INDEX = Path("/usr/share/icons/hicolor/index.theme")
PACKAGES = REPO / "installers" / "debian-packages.txt"
SCRIPTS = [INSTALL_SH, TESTS_RUN, CI_RUN, REPO / "installers" / "common.sh"]


def desktop_entry(path: Path) -> dict[str, str]:
    entry: dict[str, str] = {}
    group = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            group = line.strip()
        elif group == "[Desktop Entry]" and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            entry[key.strip()] = value.strip()
    return entry


def validate_desktop_file(path: Path) -> None:
    require(shutil.which("desktop-file-validate") is not None, "desktop-file-validate (desktop-file-utils)")
    proc = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "error:" not in output and "warning:" not in output, output


def test_desktop_entry_is_valid() -> None:
    validate_desktop_file(DESKTOP)


def test_desktop_entry_handles_parsec3_links_and_recovery_files() -> None:
    from parsec_tray.tray.backends.pystray_icon import APP_ID

    entry = desktop_entry(DESKTOP)
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "parsec-tray %u"
    assert {"x-scheme-handler/parsec3", RECOVERY_TYPE} <= set(entry["MimeType"].split(";"))
    assert entry["Icon"] == "parsec-tray"
    # The class of the tray's windows: launchers group them under this entry.
    assert entry["StartupWMClass"] == APP_ID
    assert {"Network", "FileTransfer"} <= set(entry["Categories"].split(";"))


def validate_metainfo(path: Path) -> None:
    require(shutil.which("appstreamcli") is not None, "appstreamcli (appstream)")
    proc = subprocess.run(
        ["appstreamcli", "validate", "--no-net", "--no-color", str(path)], capture_output=True, text=True
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert not re.search(r"^[EW]:", output, re.M), output


def test_metainfo_is_valid_and_names_the_desktop_entry() -> None:
    validate_metainfo(METAINFO)
    root = ET.parse(METAINFO).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("launchable[@type='desktop-id']") == DESKTOP.name
    assert METAINFO.name == f"{root.findtext('id')}.metainfo.xml"
    provided = {e.text for e in root.iterfind("provides/mediatype")}
    assert provided == set(filter(None, desktop_entry(DESKTOP)["MimeType"].split(";")))


def test_recovery_file_type_matches_psrk_with_the_app_icon() -> None:
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    (mime_type,) = ET.parse(MIME_XML).getroot().findall("m:mime-type", ns)
    assert mime_type.get("type") == RECOVERY_TYPE
    assert [g.get("pattern") for g in mime_type.findall("m:glob", ns)] == ["*.psrk"]
    icon = mime_type.find("m:icon", ns)
    assert icon is not None and icon.get("name") == desktop_entry(DESKTOP)["Icon"]


def hicolor_sizes() -> list[int]:
    """HICOLOR_SIZES of installers/install.sh."""
    match = re.search(r'^HICOLOR_SIZES="([0-9 ]+)"', INSTALL_SH.read_text(), re.M)
    assert match, "HICOLOR_SIZES not found in install.sh"
    return [int(n) for n in match.group(1).split()]


def test_installed_icon_sizes_are_hicolor_sizes_with_pngs_of_that_size() -> None:
    from PIL import Image

    require(HICOLOR_INDEX.is_file(), f"{HICOLOR_INDEX} (hicolor-icon-theme)")
    theme = configparser.ConfigParser(interpolation=None)
    theme.read(HICOLOR_INDEX)
    app_dirs = {d for d in theme["Icon Theme"]["Directories"].split(",") if d.endswith("/apps")}
    sizes = hicolor_sizes()
    for size in sizes:
        assert f"{size}x{size}/apps" in app_dirs
        assert theme[f"{size}x{size}/apps"].getint("Size") == size
        with Image.open(REPO / "icons" / f"parsec-tray-{size}.png") as img:
            assert img.size == (size, size)
    # Every app icon drawn at a size the theme has is installed.
    drawn = {int(p.stem.rsplit("-", 1)[1]) for p in (REPO / "icons").glob("parsec-tray-[0-9]*.png")}
    assert {n for n in drawn if f"{n}x{n}/apps" in app_dirs} == set(sizes)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_script_parses(script: Path) -> None:
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("script", [INSTALL_SH, TESTS_RUN], ids=lambda p: str(p.relative_to(REPO)))
def test_script_is_executable(script: Path) -> None:
    assert os.access(script, os.X_OK), f"chmod +x {script.relative_to(REPO)}"


def test_ci_runs_exactly_the_test_command() -> None:
    lines = [
        line.strip()
        for line in CI_RUN.read_text().splitlines()
        if line.strip() and not line.startswith("#") and not line.startswith("cd ")
    ]
    assert lines == ["set -euo pipefail", "exec bash tests/run"]


def test_readme_gives_the_two_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "bash installers/install.sh" in readme
    assert "bash tests/run" in readme


def test_package_list_tags() -> None:
    """Every package in installers/debian-packages.txt is tagged app and/or test."""
    tags: dict[str, set[str]] = {}
    for raw in PACKAGES.read_text().splitlines():
        words = raw.split("#", 1)[0].split()
        if words:
            tags[words[0]] = set(words[1:])
    assert all(t and t <= {"app", "test"} for t in tags.values()), tags
    for pkg in ("xvfb", "xdotool", "trayer", "dunst", "gnome-keyring", "dbus-x11", "imagemagick"):
        assert "test" in tags[pkg]
    for pkg in ("gir1.2-gtk-3.0", "gir1.2-ayatanaappindicator3-0.1", "libnotify-bin", "python3-tk"):
        assert {"app", "test"} <= tags[pkg]


def test_tests_use_the_installed_package() -> None:
    """Under tests/run, parsec_tray comes from site-packages and there is no bare `core`."""
    require(os.environ.get("PARSEC_TRAY_TEST_RUN") == "1", "the tests/run environment (it installs the package)")
    import importlib.util

    import parsec_tray

    assert "site-packages" in Path(parsec_tray.__path__[0]).parts, parsec_tray.__path__
    assert importlib.util.find_spec("core") is None, "the source tree is on sys.path"


def _pip_config_file() -> str | None:
    """The real user's pip configuration, kept when HOME is a temporary one."""
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    for candidate in (config_home / "pip" / "pip.conf", Path.home() / ".pip" / "pip.conf"):
        if candidate.is_file():
            return str(candidate)
    return None



def fresh_home_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a person with an empty HOME (and XDG folders in
    tmp_path) who runs the installer from this checkout."""
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ)
    for key in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH", "PARSEC_TRAY_TEST_RUN"):
        env.pop(key, None)
    # Where the app keeps things: this person's, not the test run's.
    for key in [k for k in env if k.startswith("PARSEC_BASE_")] + ["PARSEC_TRAY_CONFIG_DIR"]:
        env.pop(key, None)
    env.pop("XDG_CURRENT_DESKTOP", None)
    # Keep the real pip cache and configuration: a fresh HOME must not mean
    # downloading (and building PyGObject) again.
    env.setdefault(
        "PIP_CACHE_DIR", str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pip")
    )
    pip_conf = _pip_config_file()
    if pip_conf and "PIP_CONFIG_FILE" not in env:
        env["PIP_CONFIG_FILE"] = pip_conf
    # A pyenv install of Python 3.12 is found under the real HOME too.
    if "PYENV_ROOT" not in env and (Path.home() / ".pyenv").is_dir():
        env["PYENV_ROOT"] = str(Path.home() / ".pyenv")
    venv_bin = Path(sys.prefix) / "bin"
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p) != venv_bin
    )
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        PARSEC_TRAY_SKIP_APT="1",
        # Its own app instance: a tray running here is not "the running app".
        PARSEC_TRAY_RUNTIME_DIR=str(tmp_path / "run"),
    )
    (tmp_path / "run").mkdir(mode=0o700)
    return env


def all_files(root: Path) -> set[str]:
    # Made under HOME by the tools install.sh runs, not by it: pip's and
    # GLib's ~/.cache, and ~/.rustup, which pyenv's Python writes at `venv`
    # time on this machine.
    ignored = {"home/.cache", "home/.rustup"}
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if not any(str(p.relative_to(root)).startswith(i) for i in ignored)
    }


def test_logged_step_prints_one_line_and_the_log_on_failure(tmp_path: Path) -> None:
    log = tmp_path / "install.log"
    common = REPO / "installers" / "common.sh"

    def step(command: str) -> subprocess.CompletedProcess[str]:
        script = f'. "{common}"; pt_logged "{log}" "doing the step" sh -c \'{command}\''
        return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)

    ok = step("echo pip says a lot; echo more >&2")
    assert ok.returncode == 0, ok.stderr
    assert re.fullmatch(r"doing the step \.\.\. done \(\d+s\)\n", ok.stdout), ok.stdout
    assert ok.stderr == ""
    assert "pip says a lot" in log.read_text() and "more" in log.read_text()

    bad = step("for i in $(seq 1 40); do echo line $i; done; echo it broke >&2; exit 7")
    assert bad.returncode == 7
    assert bad.stdout == "doing the step ... FAILED (exit 7)\n"
    assert "it broke" in bad.stderr and "line 40" in bad.stderr and "line 5\n" not in bad.stderr
    assert f"Full log: {log}" in bad.stderr
    assert "pip says a lot" in log.read_text()  # appended, not replaced


@pytest.mark.timeout(1200)
def test_install_sh_into_a_fresh_home_then_uninstall(tmp_path: Path) -> None:
    """Install, check each piece with the freedesktop tools, run, uninstall:
    nothing of it is left, and the device files and settings are."""
    require(sys.platform == "linux", "Linux")
    for tool in ("xdg-mime", "gio", "mimetype", "update-mime-database", "update-desktop-database"):
        require(shutil.which(tool) is not None, f"{tool} (installers/debian-packages.txt)")
    env = fresh_home_env(tmp_path)
    home, data, config = Path(env["HOME"]), Path(env["XDG_DATA_HOME"]), Path(env["XDG_CONFIG_HOME"])
    # What the person already has, which uninstalling must leave alone.
    device = config / "parsec3" / "libparsec" / "devices" / "0123abcd.keys"
    settings = config / "parsec-tray" / "settings.json"
    for path, text in ((device, "keys"), (settings, "{}")):
        path.parent.mkdir(parents=True)
        path.write_text(text)
    before = all_files(tmp_path)

    def install(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["bash", str(INSTALL_SH), *args],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=1100,
        )
        assert proc.returncode == 0, f"install.sh {args} failed:\n{proc.stdout}\n{proc.stderr}"
        return proc

    first = install("--no-run")
    # pip's output is in the log, not on the terminal.
    log = data / "parsec-tray" / "install.log"
    assert "Successfully installed" in log.read_text()
    assert "Successfully installed" not in first.stdout + first.stderr
    assert re.search(r"^installing Parsec Tray from .* \.\.\. done \(\d+s\)$", first.stdout, re.M), first.stdout
    assert len(first.stdout.splitlines()) < 60, first.stdout

    venv = data / "parsec-tray" / "venv"
    python = venv / "bin" / "python"
    link = home / ".local" / "bin" / "parsec-tray"
    assert python.exists()
    assert link.is_symlink() and link.resolve() == (venv / "bin" / "parsec-tray").resolve()

    def run(*args: str | Path, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in args], cwd=tmp_path, env=dict(env, **extra), capture_output=True, text=True, timeout=120
        )

    for exe in (venv / "bin" / "parsec-tray", link):
        proc = run(exe, "--help")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "parsec-tray" in proc.stdout + proc.stderr

    proc = run(python, "-c", "import parsec_tray.core, parsec_tray.tray, gi; print(parsec_tray.__file__)")
    assert proc.returncode == 0, proc.stderr
    assert str(venv) in proc.stdout
    proc = run(python, "-c", "import core")
    assert proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr, proc.stdout + proc.stderr

    # The desktop entry and the AppStream metadata, as installed.
    installed_entry = data / "applications" / "parsec-tray.desktop"
    assert desktop_entry(installed_entry)["Exec"] == f"{link} %u"
    validate_desktop_file(installed_entry)
    validate_metainfo(data / "metainfo" / METAINFO.name)
    # The icons, where the theme looks for them; GLib names the app icon for
    # a recovery file.
    for size in hicolor_sizes():
        icon = data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "parsec-tray.png"
        assert icon.read_bytes() == (REPO / "icons" / f"parsec-tray-{size}.png").read_bytes()

    # A recovery file is of our type, for xdg-mime outside a desktop
    # (mimetype) and on GNOME (gio), and opens with our entry.
    recovery = tmp_path / "Parsec_Recovery_File_Acme.psrk"
    recovery.write_bytes(b"\x85\xa4type\xa8recovery\x00\x01")
    for desktop in ("", "GNOME"):
        proc = run("xdg-mime", "query", "filetype", recovery, XDG_CURRENT_DESKTOP=desktop)
        assert proc.stdout.strip() == RECOVERY_TYPE, (desktop, proc.stdout + proc.stderr)
    proc = run("gio", "info", "-a", "standard::icon", recovery)
    assert "standard::icon: parsec-tray," in proc.stdout, proc.stdout + proc.stderr
    for mime_type in ("x-scheme-handler/parsec3", RECOVERY_TYPE):
        proc = run("xdg-mime", "query", "default", mime_type)
        assert proc.stdout.strip() == "parsec-tray.desktop", proc.stdout + proc.stderr

    # What the app receives when a link or a recovery file is opened: the
    # launcher's place taken by a recorder for a moment.
    target = os.readlink(link)
    link.unlink()
    make_recorder(link.parent, link.name)
    try:
        bootstrap = "parsec3://127.0.0.1:6770/Acme?no_ssl=true&a=bootstrap_organization&p=xBCgAAA"
        for opened, argv in ((recovery, [str(recovery)]), (bootstrap, [bootstrap])):
            out = tmp_path / "argv.json"
            out.unlink(missing_ok=True)
            proc = run("gio", "open", opened, ARGV_OUT=str(out))
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert json.loads(wait_for_file(out))[1:] == argv
    finally:
        link.unlink()
        link.symlink_to(target)

    # Idempotent: a second run reuses the venv and installs no dependency;
    # then it runs the app in this terminal and says so.
    again = install("--", "--help")
    assert "reusing it" in again.stdout
    assert "dependencies already met" in again.stdout
    assert "keep it open" in again.stdout and "--detach" in again.stdout
    assert "usage: parsec-tray" in again.stdout
    # --detach: the terminal is free, the app's output in a log.
    detached = install("--detach", "--", "--version")
    assert "you can close this terminal" in detached.stdout, detached.stdout
    run_log = data / "parsec-tray" / "run.log"
    assert wait_for_file(run_log) == f"parsec-tray {metadata.version('parsec-tray')}\n"
    # The app's Start at login entry goes too.
    autostart = config / "autostart" / "parsec-tray.desktop"
    autostart.parent.mkdir(parents=True)
    autostart.write_text("[Desktop Entry]\n")

    gone = install("--uninstall")
    assert "left alone" in gone.stdout and str(device.parent) in gone.stdout, gone.stdout
    assert device.read_text() == "keys" and settings.read_text() == "{}"
    assert all_files(tmp_path) == before | {recovery.name, "argv.json"}
    for mime_type in ("x-scheme-handler/parsec3", RECOVERY_TYPE):
        proc = run("xdg-mime", "query", "default", mime_type)
        assert proc.stdout.strip() == "", proc.stdout
    proc = run("xdg-mime", "query", "filetype", recovery)
    assert proc.stdout.strip() != RECOVERY_TYPE
    # Twice is harmless.
    assert "nothing of Parsec Tray was installed here" in install("--uninstall").stdout
