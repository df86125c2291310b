"""What every start-at-login backend offers.

``enable(command)`` registers ``command`` (the argv that starts the tray; the
backend appends ``--autostart``) to run when the person logs in;
``disable()`` undoes it; ``is_enabled()`` says what will happen at the next
login.  All three are idempotent and answer for the *current user* only.

``SUPPORTED`` says whether the backend has an effect on this system (the
menu shows "Start at login" only then).  Failures reach callers as
:class:`AutostartError` with a sentence a person can act on; ``OSError`` and
platform exceptions never escape.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ...core.errors import AutostartError
from ..i18n import _

__all__ = [
    "AUTOSTART_FLAG",
    "Autostart",
    "AutostartError",
    "NoAutostart",
    "atomic_write",
    "autostart_argv",
    "remove_file",
]

#: Added to the command so the app knows it was started at login.
AUTOSTART_FLAG = "--autostart"


def autostart_argv(command: Sequence[str]) -> list[str]:
    argv = [str(a) for a in command]
    if not argv or not argv[0]:
        raise AutostartError(_("Start at login needs the command that starts Parsec Tray."))
    if AUTOSTART_FLAG not in argv[1:]:
        argv.append(AUTOSTART_FLAG)
    return argv


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``path`` whole or not at all (a temp file in the same folder,
    fsync, rename), creating the folder; ``OSError`` becomes
    :class:`AutostartError`."""
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # The temp name does not end in .desktop / .plist: a session reading
        # the folder meanwhile ignores it.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise AutostartError(
            _("Could not write {path}: {reason}.").format(path=path, reason=exc.strerror or exc),
            hint=_("Check that this folder exists and that you may write to it."),
        ) from exc
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def remove_file(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        text = _("Could not remove {path}: {reason}.")
        raise AutostartError(text.format(path=path, reason=exc.strerror or exc)) from exc


class Autostart:
    SUPPORTED = False
    name = "base"

    def is_enabled(self) -> bool:
        raise NotImplementedError

    def enable(self, command: Sequence[str]) -> None:
        raise NotImplementedError

    def disable(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class NoAutostart(Autostart):
    """No start-at-login mechanism known here."""

    name = "none"

    def __init__(self, reason: str = "") -> None:
        self.reason = reason or _("this system has no start-at-login mechanism Parsec Tray knows")

    def is_enabled(self) -> bool:
        return False

    def enable(self, command: Sequence[str]) -> None:
        raise AutostartError(_("Start at login is not available: {reason}.").format(reason=self.reason))

    def disable(self) -> None:
        pass
