"""Start at login on macOS: a per-user LaunchAgent,
``~/Library/LaunchAgents/cloud.parsec.tray.plist``.

launchd reads that folder at each login: writing or removing the file is
enough for the next login (``launchctl`` is not needed, and not called).
The agent runs once at load (``RunAtLoad``), only in a graphical session
(``LimitLoadToSessionType = Aqua``), and is not restarted when the person
quits the app (no ``KeepAlive``).

``is_enabled`` reads the file back: right label, ``RunAtLoad`` true,
``Disabled`` not true.  A ``launchctl disable`` override, kept by launchd
outside the file, is not seen.  The home folder is a seam (``home=``), so
this is tested on any OS; ``SUPPORTED`` is only true on macOS.
"""

from __future__ import annotations

import plistlib
import sys
from collections.abc import Sequence
from pathlib import Path

from ._base import Autostart, atomic_write, autostart_argv, remove_file

__all__ = ["LABEL", "LaunchAgentAutostart", "agent_plist"]

LABEL = "cloud.parsec.tray"


def agent_plist(command: Sequence[str]) -> bytes:
    return plistlib.dumps(
        {
            "Label": LABEL,
            "ProgramArguments": autostart_argv(command),
            "RunAtLoad": True,
            "KeepAlive": False,
            "LimitLoadToSessionType": "Aqua",
            "ProcessType": "Interactive",
        },
        fmt=plistlib.FMT_XML,
        sort_keys=True,
    )


class LaunchAgentAutostart(Autostart):
    SUPPORTED = sys.platform == "darwin"
    name = "macos"

    def __init__(self, home: Path | None = None) -> None:
        self._home = home

    @property
    def path(self) -> Path:
        home = self._home if self._home is not None else Path.home()
        return home / "Library" / "LaunchAgents" / f"{LABEL}.plist"

    def is_enabled(self) -> bool:
        try:
            with open(self.path, "rb") as f:
                data = plistlib.load(f)
        except (OSError, plistlib.InvalidFileException, ValueError):
            return False
        return (
            isinstance(data, dict)
            and data.get("Label") == LABEL
            and data.get("RunAtLoad") is True
            and data.get("Disabled") is not True
            and bool(data.get("ProgramArguments") or data.get("Program"))
        )

    def enable(self, command: Sequence[str]) -> None:
        atomic_write(self.path, agent_plist(command))

    def disable(self) -> None:
        remove_file(self.path)
