"""Run the command line as a person (or a script) would: a subprocess with
its own Parsec config/data home, stdin given or empty (never a TTY)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["CLI", "cli", "home_env", "ok_json"]

# The code path the ``parsec-tray`` script delegates to for these commands.
CLI = [sys.executable, "-m", "parsec_tray.cli"]


def home_env(home: Path | None, **extra: str) -> dict[str, str]:
    """The environment with Parsec's (and XDG's) folders under ``home``."""
    env = dict(os.environ)
    if home is not None:
        env.update(
            PARSEC_BASE_CONFIG_DIR=str(home / "config"),
            PARSEC_BASE_DATA_DIR=str(home / "data"),
            XDG_CONFIG_HOME=str(home / "xdg-config"),
            XDG_DATA_HOME=str(home / "xdg-data"),
        )
    env.update(extra)
    return env


def cli(
    *args: str,
    home: Path | None = None,
    stdin: str | None = None,
    exe: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the CLI; without ``stdin`` its standard input is empty (not a TTY).
    ``env``: more environment variables (``PARSEC_TRAY_ADMIN_TOKEN``...)."""
    return subprocess.run(
        [*(exe or CLI), *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=home_env(home, **(env or {})),
        timeout=120,
    )


def ok_json(r: subprocess.CompletedProcess[str]) -> Any:
    """A success: exit 0, no traceback, one JSON document on stdout."""
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    return json.loads(r.stdout)
