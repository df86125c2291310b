"""The local devices the menu offers, kept fresh cheaply.

A *scan* (names, sizes and modification times of the ``*.keys`` files in
core's devices directory) decides whether the list must be read again; it
costs a directory listing, so it runs on every menu open.  The *listing*
decodes the files through ``parsec_tray.core.list_devices``.

Until this process has imported core for another reason (a login, a
creation), the listing runs as ``python -m parsec_tray devices --json`` in a
child process: importing core (requests, PyNaCl, zstandard...) costs about
14 MB of resident memory, which an idle tray that nobody used yet should not
pay.  Listings run in a background thread; ``on_change`` receives the new
list when it differs.  The first listing starts as soon as the icon is up;
the first menu waits for it (:meth:`DeviceLister.wait_listed`), so that it
never shows an empty list on a computer that has devices.  A listing child
still running when the app exits is ended with it.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core import DeviceInfo
    from .backends.base import Shell

__all__ = ["DeviceLister"]

log = logging.getLogger(__name__)
Scan = tuple[tuple[str, int, int], ...]


def _devices_dir() -> Path:
    from ..core import devices_dir

    return Path(devices_dir())


def scan(directory: Path | None = None) -> Scan:
    directory = directory or _devices_dir()
    try:
        entries = [e for e in os.scandir(directory) if e.name.endswith(".keys") and e.is_file()]
    except OSError:
        return ()
    out = []
    for e in entries:
        try:
            st = e.stat()
        except OSError:
            continue
        out.append((e.name, st.st_size, st.st_mtime_ns))
    return tuple(sorted(out))


def _list_in_process() -> tuple[DeviceInfo, ...]:
    from ..core import list_devices

    return tuple(list_devices())


_children: set[subprocess.Popen[str]] = set()
_children_lock = threading.Lock()


def _list_in_child() -> tuple[DeviceInfo, ...]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "parsec_tray", "devices", "--json"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with _children_lock:
        _children.add(proc)
    try:
        stdout, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError("listing the devices took more than 60 s") from None
    finally:
        with _children_lock:
            _children.discard(proc)
    if proc.returncode != 0:
        raise RuntimeError(stderr.strip() or f"exit status {proc.returncode}")
    from ..core import DeviceInfo  # its module imports nothing heavy

    return tuple(DeviceInfo.from_json(d) for d in json.loads(stdout or "[]"))


@atexit.register
def _end_children() -> None:
    """A listing that outlives the app is of no use to anyone."""
    with _children_lock:
        children = list(_children)
    for proc in children:
        with contextlib.suppress(OSError):
            proc.kill()


def list_devices() -> tuple[DeviceInfo, ...]:
    """The devices, by the cheapest way available right now (blocking)."""
    if "parsec_tray.core.flows" in sys.modules:  # what core.list_devices loads
        return _list_in_process()
    return _list_in_child()


class DeviceLister:
    def __init__(self, on_change: Callable[[tuple[DeviceInfo, ...]], None]) -> None:
        self.on_change = on_change
        self.devices: tuple[DeviceInfo, ...] = ()
        self._scan: Scan | None = None
        self._lock = threading.Lock()
        self._running = False
        self._again = False
        self._listed = threading.Event()  # a first listing is over (done or failed)

    def wait_listed(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` seconds) until a first listing is over;
        at once after that.  False: still listing."""
        return self._listed.wait(timeout)

    def find(self, key: str | None) -> DeviceInfo | None:
        """Device ``key`` (a device file's path); without a key, the only
        device if there is only one."""
        devices = self.devices
        if key is None:
            return devices[0] if len(devices) == 1 else None
        return next((d for d in devices if d.key == key), None)

    def watch(self, shell: Shell | None) -> None:
        """A device made elsewhere (the CLI, the official client) is in the
        very next menu: the shell watches the devices folder where it can;
        elsewhere the menu-open hook scans it."""
        if shell is None or not shell.HAS_FILE_WATCH:
            return
        folder = _devices_dir()
        try:  # watched from the start: a missing folder would be polled
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            log.warning("cannot watch the devices folder %s: %s", folder, exc)
            return
        shell.watch_directory(folder, self.refresh)

    def refresh(self, *, force: bool = False) -> None:
        """Re-list in the background if the files changed (or ``force``)."""
        current = scan()
        with self._lock:
            if not force and current == self._scan:
                return
            if self._running:
                self._again = True
                return
            self._running = True
        threading.Thread(target=self._work, name="list-devices", daemon=True).start()

    def refresh_now(self) -> tuple[DeviceInfo, ...]:
        """List in the calling thread (a worker), then notify."""
        before = scan()
        devices = list_devices()
        with self._lock:
            self._scan = before
        self._publish(devices)
        self._listed.set()
        return devices

    def _work(self) -> None:
        while True:
            before = scan()
            try:
                devices: tuple[DeviceInfo, ...] | None = list_devices()
            except Exception as exc:
                log.warning("listing the devices failed: %s", exc)
                devices = None
            if devices is not None:
                with self._lock:
                    self._scan = before
                self._publish(devices)
            self._listed.set()
            with self._lock:
                if not self._again:
                    self._running = False
                    return
                self._again = False

    def _publish(self, devices: tuple[DeviceInfo, ...]) -> None:
        with self._lock:
            if devices == self.devices:
                return
            self.devices = devices
        self.on_change(devices)
