"""Log out when the screen locks: the lock tracker as a table, the backend
choice, and the freedesktop backend against a real private dbus-daemon with
a stand-in screensaver that owns ``org.freedesktop.ScreenSaver`` (or GNOME's
name) and emits ``ActiveChanged`` as a desktop's locker does."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import require
from parsec_tray.tray import screenlock
from parsec_tray.tray.screenlock import LOCKED, UNLOCKED, LockTracker
from parsec_tray.tray.screenlock._freedesktop import SCREENSAVERS, FreedesktopScreenLock

FDO, GNOME = SCREENSAVERS


# --- the tracker: (source, active) -> transition ------------------------------------------


@pytest.mark.parametrize(
    "feeds, expected",
    [
        ([("a", True)], [LOCKED]),
        ([("a", False)], [None]),
        ([("a", True), ("a", True)], [LOCKED, None]),
        ([("a", True), ("a", False)], [LOCKED, UNLOCKED]),
        # two names announcing the same lock: one transition each way
        ([("a", True), ("b", True), ("a", False), ("b", False)], [LOCKED, None, None, UNLOCKED]),
        ([("a", True), ("b", False)], [LOCKED, None]),
        ([("a", False), ("a", True), ("a", False), ("a", False)], [None, LOCKED, UNLOCKED, None]),
    ],
)
def test_tracker_table(feeds: list[tuple[str, bool]], expected: list[str | None]) -> None:
    t = LockTracker()
    assert [t.feed(source, active) for source, active in feeds] == expected


def test_a_source_that_goes_away_drops_its_part() -> None:
    t = LockTracker()
    assert t.feed("a", True) == LOCKED
    assert t.forget("a") == UNLOCKED
    assert not t.locked


@pytest.mark.parametrize(
    "platform, expected",
    [
        ("linux", "freedesktop"),
        ("freebsd14", "freedesktop"),
        ("win32", "windows"),
        ("darwin", "macos"),
        ("aix", "none"),
    ],
)
def test_choice_per_platform(platform: str, expected: str) -> None:
    assert screenlock.choose(platform=platform, env={}) == expected


def test_choice_override_and_unknown() -> None:
    assert screenlock.choose(platform="linux", env={"PARSEC_TRAY_SCREENLOCK": "none"}) == "none"
    assert not screenlock.make_screenlock("none").SUPPORTED
    with pytest.raises(ValueError, match="PARSEC_TRAY_SCREENLOCK"):
        screenlock.choose(platform="linux", env={"PARSEC_TRAY_SCREENLOCK": "xscreensaver"})


def test_no_bus_is_not_an_error() -> None:
    monitor = FreedesktopScreenLock(session_bus=None, use_system_bus=False, env={})
    assert monitor.start(lambda _change: None) is False
    assert "no session bus" in monitor.reason


# --- the real thing: a private bus, a stand-in locker -------------------------------------------


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[str]:
    require(shutil.which("dbus-daemon") is not None, "dbus-daemon (Debian package dbus)")
    r, w = os.pipe()
    proc = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--nopidfile", f"--print-address={w}"],
        pass_fds=(w,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(w)
    with os.fdopen(r) as f:
        address = f.readline().strip()
    try:
        yield address
    finally:
        proc.terminate()
        proc.wait(10)


class Locker:
    """A screensaver on the bus: owns ``name.bus_name`` (unless an impostor),
    answers ``GetActive``, emits ``ActiveChanged``."""

    def __init__(self, address: str, name: Any, *, active: bool = False, own: bool = True) -> None:
        from jeepney import MatchRule
        from jeepney.bus_messages import message_bus
        from jeepney.io.threading import DBusRouter, Proxy, open_dbus_connection

        self.name = name
        self.active = active
        self.router = DBusRouter(open_dbus_connection(bus=address))
        self.bus = Proxy(message_bus, self.router, timeout=10)
        if own:
            assert self.bus.RequestName(name.bus_name, 4)[0] == 1  # DO_NOT_QUEUE -> primary owner
        self._calls = self.router.filter(MatchRule(type="method_call", interface=name.interface), bufsize=16)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        from jeepney import new_method_return

        try:
            while True:
                msg = self._calls.queue.get()
                if msg is None:
                    return
                self.router.send(new_method_return(msg, "b", (self.active,)))
        except Exception:
            return

    def emit(self, active: bool) -> None:
        from jeepney import DBusAddress, new_signal

        self.active = active
        self.router.send(
            new_signal(
                DBusAddress(self.name.path, interface=self.name.interface), "ActiveChanged", "b", (active,)
            )
        )
        self.bus.GetId()  # a round trip: the bus has routed the signal before it answers

    def close(self) -> None:
        self._calls.queue.put(None)
        self._thread.join(5)
        self.router.close()
        self.router.conn.close()


def changes(q: queue.Queue[str], n: int) -> list[str]:
    return [q.get(timeout=15) for _ in range(n)]


def test_lock_and_unlock_from_the_owner_only(bus: str) -> None:
    locker = Locker(bus, FDO)
    q: queue.Queue[str] = queue.Queue()
    monitor = FreedesktopScreenLock(session_bus=bus, use_system_bus=False)
    try:
        assert monitor.start(q.put), monitor.reason
        locker.emit(True)
        assert changes(q, 1) == [LOCKED]
        # Any other client of the bus can send the same signal: not believed.
        impostor = Locker(bus, FDO, own=False)
        impostor.emit(False)
        impostor.close()
        locker.emit(True)  # no change if the impostor was ignored; LOCKED again if not
        locker.emit(False)
        assert changes(q, 1) == [UNLOCKED]
        assert q.empty()
    finally:
        monitor.stop()
        locker.close()


def test_gnome_and_freedesktop_names_make_one_lock(bus: str) -> None:
    fdo, gnome = Locker(bus, FDO), Locker(bus, GNOME)
    q: queue.Queue[str] = queue.Queue()
    monitor = FreedesktopScreenLock(session_bus=bus, use_system_bus=False)
    try:
        assert monitor.start(q.put)
        gnome.emit(True)
        fdo.emit(True)
        gnome.emit(False)
        assert monitor.tracker.locked
        fdo.emit(False)
        assert changes(q, 2) == [LOCKED, UNLOCKED]
        assert q.empty()
    finally:
        monitor.stop()
        fdo.close()
        gnome.close()


def test_state_at_start_and_a_locker_that_quits(bus: str) -> None:
    locker = Locker(bus, FDO, active=True)
    q: queue.Queue[str] = queue.Queue()
    monitor = FreedesktopScreenLock(session_bus=bus, use_system_bus=False)
    try:
        assert monitor.start(q.put)
        assert monitor.tracker.locked  # read with GetActive, not announced as a change
        assert q.empty()
        locker.close()  # the locker dies while locked: it holds the lock no more
        assert changes(q, 1) == [UNLOCKED]
        # A locker that appears after us is followed too.
        late = Locker(bus, FDO)
        late.emit(True)
        assert changes(q, 1) == [LOCKED]
        late.close()
    finally:
        monitor.stop()


def test_stop_ends_the_receiver_threads(bus: str) -> None:
    monitor = FreedesktopScreenLock(session_bus=bus, use_system_bus=False)
    assert monitor.start(lambda _c: None)
    threads = [w.thread for w in monitor._watches]
    assert threads and all(t is not None and t.is_alive() for t in threads)
    monitor.stop()
    assert not any(t is not None and t.is_alive() for t in threads)
