"""The screen lock on freedesktop desktops, over D-Bus with jeepney.

Sources, each optional:

- the session bus: ``ActiveChanged(b)`` of ``org.freedesktop.ScreenSaver``
  (KDE, Xfce, Cinnamon, MATE, light-locker…) and ``org.gnome.ScreenSaver``
  (GNOME Shell);
- the system bus: logind's ``Lock`` / ``Unlock`` signals on this login
  session's object (``loginctl lock-session`` and the desktops that ask
  logind to lock).

Invariants:

- A signal is believed only from the current owner of the name it claims
  to come from (the owners are read at start and followed through
  ``NameOwnerChanged``); any other client of the bus could send one.  A
  service that quits drops its part of the lock.
- One connection per bus, each with one receiver thread blocked in
  ``receive`` (no polling); :meth:`FreedesktopScreenLock.stop` closes them,
  which ends the threads.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._base import OnChange, ScreenLockMonitor

__all__ = ["SCREENSAVERS", "FreedesktopScreenLock", "ScreenSaverName"]

log = logging.getLogger("parsec_tray.screenlock")

_TIMEOUT = 3.0


@dataclass(frozen=True)
class ScreenSaverName:
    bus_name: str
    path: str
    interface: str


SCREENSAVERS = (
    ScreenSaverName(
        "org.freedesktop.ScreenSaver", "/org/freedesktop/ScreenSaver", "org.freedesktop.ScreenSaver"
    ),
    ScreenSaverName("org.gnome.ScreenSaver", "/org/gnome/ScreenSaver", "org.gnome.ScreenSaver"),
)
LOGIND = "org.freedesktop.login1"
LOGIND_SESSION_INTERFACE = "org.freedesktop.login1.Session"
_DBUS = ("/org/freedesktop/DBus", "org.freedesktop.DBus", "org.freedesktop.DBus")


def system_bus_address(env: Mapping[str, str]) -> str | None:
    address = env.get("DBUS_SYSTEM_BUS_ADDRESS")
    if address:
        return address
    path = "/run/dbus/system_bus_socket"
    return f"unix:path={path}" if os.path.exists(path) else None


class _Watch:
    """One bus connection, the names it follows, and its receiver thread."""

    def __init__(self, monitor: FreedesktopScreenLock, address: str, label: str) -> None:
        from jeepney.io.blocking import open_dbus_connection

        self.monitor = monitor
        self.label = label
        self.conn = open_dbus_connection(bus=address, auth_timeout=_TIMEOUT)
        self.owners: dict[str, str] = {}  # well-known name -> unique name of its owner
        # (sender's well-known name, interface, member) -> (source, active or None for ActiveChanged)
        self.routes: dict[tuple[str, str, str], tuple[str, bool | None]] = {}
        self.thread: threading.Thread | None = None

    def call(
        self,
        path: str,
        bus_name: str,
        interface: str,
        method: str,
        signature: str = "",
        args: tuple[Any, ...] = (),
    ) -> Any:
        from jeepney import DBusAddress, new_method_call
        from jeepney.wrappers import unwrap_msg

        msg = new_method_call(DBusAddress(path, bus_name, interface), method, signature, args)
        return unwrap_msg(self.conn.send_and_get_reply(msg, timeout=_TIMEOUT))

    def add_match(self, arg0: str | None = None, **rule: str) -> None:
        from jeepney import MatchRule

        match = MatchRule(type="signal", **rule)
        if arg0 is not None:
            match.add_arg_condition(0, arg0)
        self.call(*_DBUS, "AddMatch", "s", (match.serialise(),))

    def follow(self, bus_name: str) -> bool:
        """Track the owner of ``bus_name``; whether it has one now."""
        self.add_match(
            sender="org.freedesktop.DBus",
            interface="org.freedesktop.DBus",
            member="NameOwnerChanged",
            arg0=bus_name,
        )
        try:
            (owner,) = self.call(*_DBUS, "GetNameOwner", "s", (bus_name,))
        except Exception:  # org.freedesktop.DBus.Error.NameHasNoOwner
            return False
        self.owners[bus_name] = owner
        return True

    def run(self) -> None:
        self.thread = threading.Thread(
            target=self._receive, name=f"parsec-tray-screenlock-{self.label}", daemon=True
        )
        self.thread.start()

    def _receive(self) -> None:
        from jeepney import HeaderFields, MessageType

        try:
            while True:
                msg = self.conn.receive()
                if msg.header.message_type != MessageType.signal:
                    continue
                fields = msg.header.fields
                self._signal(
                    fields.get(HeaderFields.sender, ""),
                    fields.get(HeaderFields.interface, ""),
                    fields.get(HeaderFields.member, ""),
                    msg.body,
                )
        except Exception as exc:  # closed by stop(), or the bus went away
            log.debug("screen-lock watch on the %s bus ended: %r", self.label, exc)

    def _signal(self, sender: str, interface: str, member: str, body: tuple[Any, ...]) -> None:
        if member == "NameOwnerChanged" and interface == "org.freedesktop.DBus":
            if sender != "org.freedesktop.DBus" or len(body) != 3:
                return
            name, _old, new = body
            if new:
                self.owners[name] = new
            else:
                self.owners.pop(name, None)
                for (bus_name, _iface, _member), (source, _active) in self.routes.items():
                    if bus_name == name:
                        self.monitor.feed(source, False)
            return
        for (bus_name, iface, wanted), (source, active) in self.routes.items():
            if iface != interface or wanted != member or self.owners.get(bus_name) != sender:
                continue
            if active is None:
                if not body or not isinstance(body[0], bool):
                    return
                active = body[0]
            self.monitor.feed(source, active)
            return

    def close(self) -> None:
        # Closing a socket does not wake a thread blocked reading it, and
        # closing it under that thread can leave it blocked for good: shut
        # it down, let the thread see the end, then close.
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout=5)
        try:
            self.conn.close()
        except Exception:
            pass


class FreedesktopScreenLock(ScreenLockMonitor):
    name = "freedesktop"

    def __init__(
        self,
        session_bus: str | None = None,
        system_bus: str | None = None,
        *,
        env: Mapping[str, str] | None = None,
        use_system_bus: bool = True,
    ) -> None:
        super().__init__()
        env = os.environ if env is None else env
        from ..notifications._freedesktop import session_bus_address

        self.session_bus = session_bus if session_bus is not None else session_bus_address(env)
        self.system_bus = (
            (system_bus if system_bus is not None else system_bus_address(env)) if use_system_bus else None
        )
        self._watches: list[_Watch] = []

    def feed(self, source: str, active: bool) -> None:
        self._feed(source, active)

    def start(self, on_change: OnChange) -> bool:
        super().start(on_change)
        why: list[str] = []
        try:
            import jeepney  # noqa: F401
        except ImportError:
            self.reason = "jeepney is not installed"
            return False
        if self.session_bus:
            try:
                self._watches.append(self._watch_session())
            except Exception as exc:
                why.append(f"the session bus is unreachable ({exc.__class__.__name__})")
        else:
            why.append("there is no session bus")
        if self.system_bus:
            try:
                watch = self._watch_logind()
                if watch is not None:
                    self._watches.append(watch)
            except Exception as exc:
                log.debug("logind cannot be watched: %r", exc)
        for watch in self._watches:
            watch.run()
        self.reason = "; ".join(why)
        return bool(self._watches)

    def _watch_session(self) -> _Watch:
        assert self.session_bus is not None
        watch = _Watch(self, self.session_bus, "session")
        try:
            for saver in SCREENSAVERS:
                watch.routes[(saver.bus_name, saver.interface, "ActiveChanged")] = (saver.bus_name, None)
                watch.add_match(interface=saver.interface, member="ActiveChanged", path=saver.path)
                if watch.follow(saver.bus_name):
                    try:
                        (active,) = watch.call(saver.path, saver.bus_name, saver.interface, "GetActive")
                        self.tracker.feed(saver.bus_name, bool(active))  # the state at start, not a change
                    except Exception:
                        pass
        except BaseException:
            watch.close()
            raise
        return watch

    def _watch_logind(self) -> _Watch | None:
        assert self.system_bus is not None
        watch = _Watch(self, self.system_bus, "system")
        try:
            if not watch.follow(LOGIND):
                watch.close()
                return None
            (path,) = watch.call(
                "/org/freedesktop/login1",
                LOGIND,
                "org.freedesktop.login1.Manager",
                "GetSessionByPID",
                "u",
                (os.getpid(),),
            )
            for member, active in (("Lock", True), ("Unlock", False)):
                watch.routes[(LOGIND, LOGIND_SESSION_INTERFACE, member)] = ("logind", active)
                watch.add_match(interface=LOGIND_SESSION_INTERFACE, member=member, path=path)
        except BaseException:
            watch.close()
            raise
        return watch

    def stop(self) -> None:
        super().stop()
        watches, self._watches = self._watches, []
        for watch in watches:
            watch.close()
