"""Run the command line as a person (or a script) would: a subprocess with
its own Parsec config/data home, stdin given or empty (never a TTY)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["CLI", "Spawned", "cli", "home_env", "ok_json"]

# The code path the ``parsec-tray`` script delegates to for these commands.
CLI = [sys.executable, "-m", "parsec_tray.cli"]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


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
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the CLI (in ``cwd`` if given); without ``stdin`` its standard
    input is empty (not a TTY).  ``env``: more environment variables
    (``PARSEC_TRAY_ADMIN_TOKEN``...)."""
    return subprocess.run(
        [*(exe or CLI), *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=home_env(home, **(env or {})),
        cwd=cwd,
        timeout=120,
    )


def ok_json(r: subprocess.CompletedProcess[str]) -> Any:
    """A success: exit 0, no traceback, one JSON document on stdout."""
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    return json.loads(r.stdout)


class Spawned:
    """A CLI process talked to line by line through pipes (the ``--json``
    event contracts): :meth:`event` waits for the next stdout line (read by
    a thread, so nothing sits unseen in a buffer), with a deadline, and
    :meth:`answer` writes one stdin line."""

    def __init__(
        self,
        *args: str,
        home: Path | None = None,
        env: dict[str, str] | None = None,
        command: tuple[list[str], dict[str, str]] | None = None,
    ) -> None:
        """``parsec-tray ARGS`` with ``home``'s folders, or ``command``: a
        whole argv and environment of its own."""
        import queue
        import threading

        argv, full_env = command or ([*CLI, *args], home_env(home, **(env or {})))
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=full_env,
            # A test run started in the background (no job control, as CI
            # may start it) ignores SIGINT, and a child inherits that: give
            # the command Ctrl-C as a terminal would.
            preexec_fn=_default_sigint,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put("")  # end of output

    def event(self, timeout: float = 60) -> Any:
        return json.loads(self.line(timeout))

    def line(self, timeout: float = 60) -> str:
        """The next line of standard output (without its end of line)."""
        import queue

        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self.proc.kill()
            raise AssertionError(f"no event within {timeout}s; stderr: {self.finish()[1]}") from None
        assert line, f"the process ended; stderr: {self.finish()[1]}"
        return line.rstrip("\n")

    def answer(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        """Exit status and standard error, once the process ended."""
        assert self.proc.stdin is not None and self.proc.stderr is not None
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        self.proc.wait(timeout)
        return self.proc.returncode, self.proc.stderr.read()
