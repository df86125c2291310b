"""The tray's own small settings: ``settings.json`` under
``core.paths.app_config_dir()``.

Keys (all optional):

- ``last_device``: the device file (``DeviceInfo.key``) of the last
  successful login: the current session after ``--autostart``, and the one
  it opens when none was logged in at the last quit;
- ``logged_in``: the device files logged in to, in login order (kept as
  they are when the app quits): the ones ``--autostart`` opens;
- ``login_dialog_at_start``: with ``--autostart`` and a password device,
  open the Log in dialog at once (``true``) rather than a "Click to log in"
  notification (``false``, the default);
- ``logout_on_lock``: log out of every session when the screen locks, and
  log in again when it unlocks (``false``, the default).

Invariants: the file is replaced atomically (temp file in the same folder,
fsync, rename), so a crash leaves the old or the new content, never half;
an unreadable or malformed file reads as ``{}`` (settings are conveniences,
never a reason not to start); no secret is ever stored here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

__all__ = ["FILENAME", "load", "path", "update"]

log = logging.getLogger(__name__)

FILENAME = "settings.json"
_lock = threading.Lock()


def path() -> Path:
    from ..core import app_config_dir

    return Path(app_config_dir()) / FILENAME


def load() -> dict[str, Any]:
    try:
        data = json.loads(path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def update(**changes: Any) -> dict[str, Any]:
    """Merge ``changes`` into the file (``None`` removes a key); returns the
    new settings.  Errors are logged, not raised."""
    with _lock:
        data = load()
        for key, value in changes.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        target = path()
        tmp: str | None = None
        try:
            from ..core import make_private_dirs

            make_private_dirs(target.parent)  # 0700 whatever the umask
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{FILENAME}.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
            tmp = None
        except OSError as exc:
            log.warning("could not save the settings to %s: %s", target, exc)
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        return data
