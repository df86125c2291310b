"""Folders only their owner can enter, made without :mod:`pathlib`: the tray
makes its runtime folder before its icon shows, where every import counts
(``benchmarks/tray_startup.py``)."""

from __future__ import annotations

import contextlib
import os

__all__ = ["make_private_dirs"]


def make_private_dirs(path: str | os.PathLike[str]) -> None:
    """Create ``path`` and its missing parents mode 0700 whatever the umask
    (``mkdir(parents=True)`` gives the parents 0777 minus the umask)."""
    missing: list[str] = []
    p = os.fspath(path)
    while not os.path.exists(p) and p != os.path.dirname(p):
        missing.append(p)
        p = os.path.dirname(p)
    for d in reversed(missing):
        try:
            os.mkdir(d, mode=0o700)
        except FileExistsError:
            continue
        with contextlib.suppress(OSError):
            os.chmod(d, 0o700)  # mkdir's mode is masked by the umask
