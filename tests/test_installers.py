"""The install and test commands: installers/install.sh, tests/run, .ci/run
and the desktop entry."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require

REPO = Path(__file__).resolve().parent.parent
INSTALL_SH = REPO / "installers" / "install.sh"
TESTS_RUN = REPO / "tests" / "run"
CI_RUN = REPO / ".ci" / "run"
DESKTOP = REPO / "installers" / "linux" / "parsec-tray.desktop"
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


def test_desktop_entry_handles_parsec3_links() -> None:
    entry = desktop_entry(DESKTOP)
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "parsec-tray %u"
    assert "x-scheme-handler/parsec3" in entry["MimeType"].split(";")
    assert entry["Icon"] == "parsec-tray"
    assert {"Network", "FileTransfer"} <= set(entry["Categories"].split(";"))


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


@pytest.mark.timeout(1200)
def test_install_sh_into_a_fresh_home(tmp_path: Path) -> None:
    require(sys.platform == "linux", "Linux")
    home = tmp_path / "home"
    data = tmp_path / "data"
    home.mkdir()
    env = dict(os.environ)
    for key in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH", "PARSEC_TRAY_TEST_RUN"):
        env.pop(key, None)
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
        XDG_DATA_HOME=str(data),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        PARSEC_TRAY_SKIP_APT="1",
    )

    def install() -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["bash", str(INSTALL_SH), "--no-run"],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=1100,
        )
        assert proc.returncode == 0, f"install.sh failed:\n{proc.stdout}\n{proc.stderr}"
        return proc

    install()
    venv = data / "parsec-tray" / "venv"
    python = venv / "bin" / "python"
    link = home / ".local" / "bin" / "parsec-tray"
    assert python.exists()
    assert link.is_symlink() and link.resolve() == (venv / "bin" / "parsec-tray").resolve()

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
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

    installed_entry = data / "applications" / "parsec-tray.desktop"
    assert installed_entry.is_file()
    assert desktop_entry(installed_entry)["Exec"] in (f"{link} %u", "parsec-tray %u")
    validate_desktop_file(installed_entry)
    if list((REPO / "icons").glob("parsec-tray*.png")) or (REPO / "icons" / "parsec-tray.svg").exists():
        assert list((data / "icons" / "hicolor").glob("*/apps/parsec-tray.*")), "no icon installed"

    # Idempotent: a second run reuses the venv and installs no dependency.
    again = install()
    assert "reusing it" in again.stdout
    assert "dependencies already met" in again.stdout
    require(shutil.which("xdg-mime") is not None, "xdg-mime (xdg-utils)")
    proc = run("xdg-mime", "query", "default", "x-scheme-handler/parsec3")
    assert proc.stdout.strip() == "parsec-tray.desktop", proc.stdout + proc.stderr
