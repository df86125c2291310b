"""The frozen app (PyInstaller, installers/freeze/parsec-tray.spec), built
once per run and smoke-tested on Linux: it prints its version, lists
devices as the installed package does, runs its own helper modules (and
only those), and starts the tray in a real desktop session, whose dialog
opens as a child process of the same binary.  The macOS and Windows
metadata are checked for what this machine can check.

The build takes a minute or two: these tests are marked ``frozen``.
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import os
import plistlib
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from conftest import require
from desktop_session import DesktopSession, TrayApp, missing_desktop_tools, wait_until

pytestmark = [pytest.mark.frozen, pytest.mark.timeout(1200)]

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "installers" / "freeze" / "parsec-tray.spec"
INFO_PLIST = REPO / "installers" / "macos" / "Info.plist"
ISS = REPO / "installers" / "windows" / "parsec-tray.iss"
ARTIFACTS = REPO / "test-artifacts" / "frozen"
RECOVERY_TYPE = "application/x-parsec-recovery-file"


@pytest.fixture(scope="module")
def frozen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The frozen binary, dist/parsec-tray/parsec-tray."""
    require(sys.platform == "linux", "Linux (the frozen build is tested there)")
    require(importlib.util.find_spec("PyInstaller") is not None, "PyInstaller (the project's freeze extra)")
    work = tmp_path_factory.mktemp("freeze")
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(work / "dist"), "--workpath", str(work / "build"), str(SPEC)],
        cwd=work, capture_output=True, text=True, timeout=1100,
    )  # fmt: skip
    seconds = time.monotonic() - started
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "pyinstaller.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stderr[-4000:]
    folder = work / "dist" / "parsec-tray"
    exe = folder / "parsec-tray"
    assert exe.is_file() and os.access(exe, os.X_OK)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    # Figures for the record, not assertions.
    (ARTIFACTS / "build.txt").write_text(f"build: {seconds:.0f} s\nsize: {size / 2**20:.0f} MiB\n")
    return exe


def frozen_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(
        PARSEC_BASE_CONFIG_DIR=str(tmp_path / "config"),
        PARSEC_BASE_DATA_DIR=str(tmp_path / "data"),
        PARSEC_TRAY_CONFIG_DIR=str(tmp_path / "settings"),
        PARSEC_TRAY_RUNTIME_DIR=str(tmp_path / "run"),
    )
    return env


def run(argv: list[str | Path], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )


def test_frozen_prints_its_version(frozen: Path, tmp_path: Path) -> None:
    proc = run([frozen, "--version"], frozen_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"parsec-tray {metadata.version('parsec-tray')}\n"


def test_frozen_bundles_the_packages_data(frozen: Path) -> None:
    """The icons (tray states and app icon) and the desktop entry the XDG
    autostart backend copies, as the installed package has them."""
    import parsec_tray

    package = Path(parsec_tray.__path__[0])
    bundled = frozen.parent / "_internal" / "parsec_tray"
    for folder in ("icons", "installers/linux"):
        theirs = {p.relative_to(package / folder) for p in (package / folder).rglob("*") if p.is_file()}
        ours = {p.relative_to(bundled / folder) for p in (bundled / folder).rglob("*") if p.is_file()}
        assert theirs and ours == theirs, folder


def test_frozen_lists_devices_as_the_package_does(frozen: Path, tmp_path: Path) -> None:
    from parsec_tray.core.crypto import Argon2idParams
    from parsec_tray.core.devices import build_password_file, save_device_file
    from test_cli import make_local_device

    device = make_local_device("parsec3://127.0.0.1:6770?no_ssl=true")
    fast = Argon2idParams(8, 1, 1, secrets.token_bytes(16))
    save_device_file(
        build_password_file(device, "pw", params=fast), config=tmp_path / "config" / "parsec3" / "libparsec"
    )
    env = frozen_env(tmp_path)
    reference = run([sys.executable, "-m", "parsec_tray", "devices", "--json"], env)
    assert reference.returncode == 0, reference.stderr
    listed = json.loads(reference.stdout)
    assert [d["device_id"] for d in listed] == [device.device_id.hex]
    # Straight, and the way the tray asks for them (sys.executable -m parsec_tray).
    for argv in ([frozen, "devices", "--json"], [frozen, "-m", "parsec_tray", "devices", "--json"]):
        proc = run(argv, env)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout) == listed


def test_frozen_speaks_the_environments_language(frozen: Path, tmp_path: Path) -> None:
    """The compiled catalogue travels in the frozen app and is found there."""
    env = {**frozen_env(tmp_path), "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "fr_FR.UTF-8"}
    assert (frozen.parent / "_internal" / "parsec_tray" / "locale" / "fr" / "LC_MESSAGES" / "parsec-tray.mo").is_file()
    proc = run([frozen, "devices"], env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "Aucun appareil sur cet ordinateur pour l'instant. Créez une organisation ou rejoignez-en une.\n"
    proc = run([frozen, "devices"], {**env, "LANG": "C.UTF-8"})
    assert proc.stdout == "No device on this computer yet. Create an organization or join one.\n"


def test_frozen_runs_only_its_own_modules(frozen: Path, tmp_path: Path) -> None:
    proc = run([frozen, "-m", "json.tool", "--help"], frozen_env(tmp_path))
    assert proc.returncode != 0
    assert "json.tool" not in proc.stdout and "usage: parsec-tray" in proc.stderr


class FrozenTrayApp(TrayApp):
    def __init__(self, exe: Path, session: DesktopSession, workdir: Path) -> None:
        super().__init__(session, workdir)
        self.exe = exe
        for key in [k for k in self.env if k.startswith(("PYTHON", "VIRTUAL_ENV"))]:
            del self.env[key]

    def command(self, *args: str) -> list[str]:
        return [str(self.exe), *args]


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


@pytest.fixture
def desktop(tmp_path: Path) -> Iterator[DesktopSession]:
    missing = missing_desktop_tools()
    require(not missing, "the desktop test tools (" + ", ".join(missing) + ")")
    with DesktopSession(tmp_path / "desktop", artifacts=ARTIFACTS) as session:
        session.prime_gtk()
        yield session


@pytest.mark.desktop
def test_frozen_tray_starts_and_opens_a_dialog(frozen: Path, desktop: DesktopSession, tmp_path: Path) -> None:
    app = FrozenTrayApp(frozen, desktop, tmp_path / "app").start()
    try:
        desktop.wait_tray_icon(FrozenTrayApp.CLASSNAME)
        app.pick("Create organization")
        desktop.wait_dialog("^Create organization")
        desktop.screenshot("create-organization")
        assert app.proc is not None
        # The dialog is the frozen binary again, started by its `-m` way in.
        dialogs = wait_until(
            lambda: (
                [p for p in children(app.proc.pid) if Path(f"/proc/{p}/exe").resolve() == frozen.resolve()]
                or None
            ),
            10,
            "a dialog process of the frozen binary",
        )
        cmdline = Path(f"/proc/{dialogs[0]}/cmdline").read_bytes().split(b"\0")
        assert cmdline[1] == b"-m" and cmdline[2].startswith(b"parsec_tray."), cmdline
    finally:
        rc = app.stop()
        log = app.log_text()
        (ARTIFACTS / "parsec-tray.log").write_text(log)
    desktop.wait_window_gone("^Create organization")
    assert "Traceback" not in log, log[-4000:]
    assert rc in (0, None), f"the frozen parsec-tray exited with {rc}:\n{log[-4000:]}"


# -- what this machine can check of the other platforms ---------------------------------


def test_macos_info_plist_declares_the_scheme_and_the_recovery_file_type() -> None:
    with INFO_PLIST.open("rb") as f:
        info = plistlib.load(f)
    assert re.fullmatch(r"[A-Za-z0-9.-]+", info["CFBundleIdentifier"])
    assert info["CFBundleShortVersionString"] == metadata.version("parsec-tray")
    assert info["LSUIElement"] is True
    (url_type,) = info["CFBundleURLTypes"]
    assert url_type["CFBundleURLSchemes"] == ["parsec3"]
    (exported,) = info["UTExportedTypeDeclarations"]
    tags = exported["UTTypeTagSpecification"]
    assert tags["public.filename-extension"] == ["psrk"]
    assert tags["public.mime-type"] == RECOVERY_TYPE
    assert "public.data" in exported["UTTypeConformsTo"]
    (doc,) = info["CFBundleDocumentTypes"]
    assert doc["LSItemContentTypes"] == [exported["UTTypeIdentifier"]]
    assert doc["CFBundleTypeRole"] == "Viewer"


def test_windows_installer_registers_the_scheme_and_psrk_per_user() -> None:
    from parsec_tray.tray.autostart._windows import RUN_KEY, VALUE_NAME

    text = ISS.read_text(encoding="utf-8")
    defines = dict(re.findall(r'^#define (\w+) "([^"]*)"', text, re.M))
    setup = configparser.ConfigParser(interpolation=None, comment_prefixes=(";",), strict=False)
    setup.read_string("\n".join(line for line in text.splitlines() if not line.startswith("#")))
    assert setup["Setup"]["PrivilegesRequired"] == "lowest"
    assert defines["AppVersion"] == metadata.version("parsec-tray")
    # The program the spec builds (EXE name="parsec-tray").
    assert defines["AppExe"] == "parsec-tray.exe" and 'name="parsec-tray"' in SPEC.read_text()
    rows = [
        dict(re.findall(r'(\w+): ("(?:[^"]|"")*"|[^;]+)', line))
        for line in text.splitlines()
        if line.startswith("Root:")
    ]
    assert rows and all(r["Root"].strip() == "HKCU" for r in rows)
    keys = {r["Subkey"].strip('"') for r in rows}
    command = '"""{app}\\{#AppExe}"" ""%1"""'
    for key in (
        "Software\\Classes\\parsec3\\shell\\open\\command",
        "Software\\Classes\\{#ProgId}\\shell\\open\\command",
    ):
        assert key in keys
        assert any(r["Subkey"].strip('"') == key and r["ValueData"].strip() == command for r in rows)
    assert any(
        r["Subkey"].strip('"') == "Software\\Classes\\parsec3" and r["ValueName"].strip() == '"URL Protocol"'
        for r in rows
    )
    assert any(
        r["Subkey"].strip('"') == "Software\\Classes\\.psrk" and r["ValueData"].strip() == '"{#ProgId}"'
        for r in rows
    )
    # The app's own Start at login value goes with it.
    assert any(
        r["Subkey"].strip('"') == RUN_KEY and r["ValueName"].strip() == f'"{VALUE_NAME}"' for r in rows
    )
