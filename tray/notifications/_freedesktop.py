"""Notifications by calling ``org.freedesktop.Notifications.Notify`` directly
on the session bus, with jeepney (pure Python; already there on Linux as a
dependency of keyring's Secret Service backend).

Why this and not plyer on Linux: plyer uses dbus-python if importable (rare
in a venv), else runs ``notify-send`` (a process per notification, about 4x
the latency: benchmarks/notification_latency.py; it ignores the timeout and
the icon, and cannot tell us whether anything was shown), else silently does
nothing; in Flatpak it splices the title into a GVariant text, so a quote
breaks it.  Here the text
travels as D-Bus string arguments, the server's answer (a notification id)
says it was accepted, and its ``ActionInvoked`` signal gives us clicks.

Invariants:

- Text is data: the title as the ``summary`` argument (never markup in the
  spec), the body as the ``body`` argument, escaped for Pango markup when the
  server advertises ``body-markup`` (so ``<b>`` in a person's name is shown
  as typed, not rendered bold).
- One connection per notifier, opened lazily, reopened once per call if the
  bus dropped it.  Its receiver thread (idle in ``select``: no polling) hands
  replies to their callers and signals to the click handling; it ends
  quietly when the connection closes or the bus goes away.
- ``ActionInvoked`` is only trusted from the server that answered our
  ``Notify``, and only for ids we created (the server sends it to the
  connection that called ``Notify``: this one).  Each ``on_click`` (the
  ``default`` action) and each button (actions ``button-0``, ``button-1``…)
  runs in a short-lived thread of its own, so it may call ``notify`` again.
- A notification shown with a ``key`` replaces the previous one of that key
  (``replaces_id``), and :meth:`FreedesktopNotifier.withdraw` closes it
  (``CloseNotification``).
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from ._base import APP_NAME, Button, Notifier, log_once

__all__ = [
    "BUS_NAME",
    "FreedesktopNotifier",
    "markup_escape",
    "probe_server",
    "session_bus_address",
]

log = logging.getLogger("parsec_tray.notifications")

BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
DESKTOP_ENTRY = "parsec-tray"  # installers/linux/parsec-tray.desktop
_URGENCY_BYTE = {"low": 0, "normal": 1, "critical": 2}
_CALL_TIMEOUT = 3.0  # a D-Bus-activated daemon may need a moment to start
_MAX_CALLBACKS = 256


def markup_escape(text: str) -> str:
    """Pango/notification-spec markup for plain ``text``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def session_bus_address(env: Mapping[str, str] | None = None) -> str | None:
    """``$DBUS_SESSION_BUS_ADDRESS``, else the systemd-style
    ``$XDG_RUNTIME_DIR/bus`` socket when it exists, else ``None``.

    Never auto-launches a bus (with a display but no bus, GLib-based tools
    would start a dbus-daemon that outlives us).
    """
    env = os.environ if env is None else env
    address = env.get("DBUS_SESSION_BUS_ADDRESS")
    if address:
        return address
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime:
        path = os.path.join(runtime, "bus")
        try:
            if stat.S_ISSOCK(os.stat(path).st_mode):
                return f"unix:path={path}"
        except OSError:
            pass
    return None


def _jeepney() -> Any:
    import jeepney  # noqa: F401  (ImportError is the caller's answer)
    import jeepney.io.threading

    return jeepney


def probe_server(address: str | None, timeout: float = 1.0) -> tuple[str, str]:
    """Whether a notification server is reachable on that bus: ``("ok", why)``,
    or ``("no-server" | "unreachable" | "no-bus" | "no-jeepney", why not)``.

    Owned or D-Bus-activatable both count (an activatable daemon such as
    dunst or mako is started by the bus on the first ``Notify``).
    """
    if not address:
        return "no-bus", "there is no session bus"
    try:
        _jeepney()
    except ImportError:
        return "no-jeepney", "jeepney is not installed"
    from jeepney.bus_messages import message_bus
    from jeepney.io.threading import DBusRouter, Proxy, open_dbus_connection

    try:
        conn = open_dbus_connection(bus=address, auth_timeout=timeout)
    except Exception as exc:
        return "unreachable", f"the session bus is unreachable ({exc.__class__.__name__}: {exc})"
    try:
        with DBusRouter(conn) as router:
            bus = Proxy(message_bus, router, timeout=timeout)
            if bus.NameHasOwner(BUS_NAME)[0]:
                return "ok", f"a notification server owns {BUS_NAME}"
            if BUS_NAME in bus.ListActivatableNames()[0]:
                return "ok", f"the bus can start a notification server for {BUS_NAME}"
            return "no-server", f"no notification server owns {BUS_NAME} on the session bus"
    except Exception as exc:
        return "unreachable", f"the session bus did not answer ({exc.__class__.__name__}: {exc})"
    finally:
        conn.close()


def _default_icon() -> str:
    try:
        from ..icons import app_icon_path

        path = app_icon_path(128)
        if os.path.isfile(path):
            return os.path.realpath(path)
    except Exception:  # icons are a nicety
        pass
    return DESKTOP_ENTRY  # the themed icon name the installer registers


class _Link:
    """One session-bus connection and its receiver thread."""

    def __init__(self, address: str, on_signal: Callable[[Any], None]) -> None:
        from jeepney.io.threading import open_dbus_connection

        self.conn = open_dbus_connection(bus=address, auth_timeout=_CALL_TIMEOUT)
        self._on_signal = on_signal
        self._replies: dict[int, Future[Any]] = {}
        self._lock = threading.Lock()
        self.closed = False
        self._thread = threading.Thread(target=self._receive, name="parsec-tray-notifications", daemon=True)
        self._thread.start()

    def call(self, msg: Any, timeout: float) -> Any:
        future: Future[Any] = Future()
        with self._lock:
            if self.closed:
                raise ConnectionError("the session bus connection is closed")
            serial = next(self.conn.outgoing_serial)
            self._replies[serial] = future
        try:
            self.conn.send(msg, serial=serial)
            return future.result(timeout)
        finally:
            with self._lock:
                self._replies.pop(serial, None)

    def _receive(self) -> None:
        from jeepney import HeaderFields, MessageType

        try:
            while True:
                msg = self.conn.receive()
                kind = msg.header.message_type
                if kind in (MessageType.method_return, MessageType.error):
                    with self._lock:
                        future = self._replies.get(msg.header.fields.get(HeaderFields.reply_serial, -1))
                    if future is not None and not future.done():
                        future.set_result(msg)
                elif kind == MessageType.signal:
                    self._on_signal(msg)
        except Exception as exc:  # closed by us (ReceiveStopped), or the bus went away
            with self._lock:
                self.closed = True
                pending = list(self._replies.values())
            for future in pending:
                if not future.done():
                    future.set_exception(ConnectionError(f"the session bus connection ended ({exc!r})"))

    def close(self) -> None:
        with self._lock:
            self.closed = True
        try:
            self.conn.close()  # interrupts the receiver
        except Exception:
            pass
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)


class FreedesktopNotifier(Notifier):
    HAS_ACTIONS = True  # narrowed to the server's "actions" capability once connected
    HAS_BUTTONS = True  # likewise
    HAS_TIMEOUT = True
    HAS_URGENCY = True
    CONFIRMS_DELIVERY = True

    name = "dbus"

    def __init__(self, address: str | None = None, *, icon: str | Path | None = None) -> None:
        self.address = address if address is not None else session_bus_address()
        self.icon = str(icon) if icon is not None else _default_icon()
        self.capabilities: frozenset[str] = frozenset()
        self.last_id: int | None = None
        self._lock = threading.Lock()
        self._link: _Link | None = None
        self._subscribed = False
        self._server: str | None = None  # unique name of the server that answered Notify
        # Per notification id, what each of its actions does.
        self._callbacks: OrderedDict[int, dict[str, Callable[[], None]]] = OrderedDict()
        self._keys: dict[str, int] = {}  # a caller's key -> the id shown with it
        self._cb_lock = threading.Lock()

    # -- connection (called with self._lock held) -----------------------------------

    def _connect(self) -> _Link:
        if self._link is not None and not self._link.closed:
            return self._link
        self._disconnect()
        if not self.address:
            raise ConnectionError("no session bus (DBUS_SESSION_BUS_ADDRESS is not set)")
        _jeepney()
        self._link = _Link(self.address, self._on_signal)
        try:
            self.capabilities = frozenset(self._call("GetCapabilities", "", ())[0])
        except Exception:
            self.capabilities = frozenset()
        self.HAS_ACTIONS = self.HAS_BUTTONS = "actions" in self.capabilities
        return self._link

    def _disconnect(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None
        self._subscribed = False

    def _call(self, method: str, signature: str, args: tuple[Any, ...], **addr: str) -> Any:
        from jeepney import DBusAddress, HeaderFields, new_method_call
        from jeepney.wrappers import unwrap_msg

        assert self._link is not None
        target = DBusAddress(
            addr.get("path", OBJECT_PATH), addr.get("bus_name", BUS_NAME), addr.get("interface", INTERFACE)
        )
        reply = self._link.call(new_method_call(target, method, signature, args), _CALL_TIMEOUT)
        body = unwrap_msg(reply)  # raises DBusErrorResponse for an error reply
        if method == "Notify":
            self._server = reply.header.fields.get(HeaderFields.sender)
        return body

    def _subscribe(self) -> None:
        if self._subscribed:
            return
        from jeepney import MatchRule

        rule = MatchRule(type="signal", interface=INTERFACE, path=OBJECT_PATH)
        self._call(
            "AddMatch",
            "s",
            (rule.serialise(),),
            path="/org/freedesktop/DBus",
            bus_name="org.freedesktop.DBus",
            interface="org.freedesktop.DBus",
        )
        self._subscribed = True

    # -- clicks (in the receiver thread: never block here) ---------------------------

    def _on_signal(self, msg: Any) -> None:
        from jeepney import HeaderFields

        fields = msg.header.fields
        if fields.get(HeaderFields.interface) != INTERFACE:
            return
        if self._server is None or fields.get(HeaderFields.sender) != self._server:
            return  # only the server we talked to may say "clicked"
        member = fields.get(HeaderFields.member)
        try:
            nid = int(msg.body[0])
        except (IndexError, TypeError, ValueError):
            return
        if member == "ActionInvoked" and len(msg.body) > 1:
            with self._cb_lock:
                callback = self._callbacks.get(nid, {}).get(str(msg.body[1]))
                if callback is not None:
                    self._callbacks.pop(nid, None)
            if callback is not None:
                threading.Thread(
                    target=self._run_click,
                    args=(callback,),
                    name="parsec-tray-notification-click",
                    daemon=True,
                ).start()
        # A NotificationClosed keeps its actions and key (at most
        # _MAX_CALLBACKS of them): the person may bring it back from the
        # server's history and click it, or it may be withdrawn from there.

    @staticmethod
    def _run_click(callback: Callable[[], None]) -> None:
        try:
            callback()
        except Exception:
            log.exception("a notification click handler failed")

    # -- Notifier -------------------------------------------------------------------

    def send(
        self,
        title: str,
        body: str,
        *,
        urgency: str = "normal",
        timeout_ms: int | None = None,
        on_click: Callable[[], None] | None = None,
    ) -> int | None:
        """Like ``notify``, but answers the server's notification id (or ``None``)."""
        ok = self.notify(title, body, urgency=urgency, timeout_ms=timeout_ms, on_click=on_click)
        return self.last_id if ok else None

    def _notify(
        self,
        title: str,
        body: str,
        *,
        urgency: str,
        timeout_ms: int | None,
        on_click: Callable[[], None] | None,
    ) -> bool:
        return self._notify_with(
            title, body, urgency=urgency, timeout_ms=timeout_ms, on_click=on_click, buttons=(), key=None
        )

    def _notify_with(
        self,
        title: str,
        body: str,
        *,
        urgency: str,
        timeout_ms: int | None,
        on_click: Callable[[], None] | None,
        buttons: tuple[Button, ...],
        key: str | None,
    ) -> bool:
        from jeepney.wrappers import DBusErrorResponse

        self.last_id = None
        actions: dict[str, tuple[str, Callable[[], None]]] = {}
        if on_click is not None:
            actions["default"] = ("Open", on_click)
        for i, (label, callback) in enumerate(buttons):
            actions[f"button-{i}"] = (label, callback)
        with self._lock:
            for attempt in (1, 2):
                try:
                    self._connect()
                    clickable = bool(actions) and "actions" in self.capabilities
                    if clickable:
                        self._subscribe()
                    with self._cb_lock:
                        replaces = self._keys.get(key, 0) if key is not None else 0
                    shown = {a: label for a, (label, _) in actions.items()} if clickable else {}
                    nid = self._notify_once(title, body, urgency, timeout_ms, shown, replaces)
                    break
                except DBusErrorResponse as exc:
                    log_once("dbus:refused", "the notification server refused a notification: %s", exc)
                    return False
                except (OSError, TimeoutError, ConnectionError) as exc:
                    self._disconnect()
                    if attempt == 2:
                        log_once(
                            "dbus:unreachable", "no notification: the session bus is unreachable (%r)", exc
                        )
                        return False
            with self._cb_lock:
                if key is not None:
                    self._keys.pop(key, None)
                    self._keys[key] = nid
                    while len(self._keys) > _MAX_CALLBACKS:
                        del self._keys[next(iter(self._keys))]
                if clickable:
                    self._callbacks[nid] = {a: cb for a, (_, cb) in actions.items()}
                    while len(self._callbacks) > _MAX_CALLBACKS:
                        self._callbacks.popitem(last=False)
        self.last_id = nid
        return True

    def withdraw(self, key: str) -> bool:
        """``CloseNotification`` of the one shown with ``key``, if any."""
        with self._cb_lock:
            nid = self._keys.pop(key, None)
            if nid is not None:
                self._callbacks.pop(nid, None)
        if nid is None:
            return False
        with self._lock:
            try:
                self._connect()
                self._call("CloseNotification", "u", (nid,))
            except Exception as exc:  # noqa: BLE001 - it may be gone already
                log.debug("closing notification %d failed: %r", nid, exc)
                return False
        return True

    def _notify_once(
        self,
        title: str,
        body: str,
        urgency: str,
        timeout_ms: int | None,
        actions: Mapping[str, str],
        replaces: int = 0,
    ) -> int:
        if "body-markup" in self.capabilities:
            body = markup_escape(body)
        hints: dict[str, tuple[str, Any]] = {
            "urgency": ("y", _URGENCY_BYTE[urgency]),
            "desktop-entry": ("s", DESKTOP_ENTRY),
        }
        if os.path.isabs(self.icon):
            hints["image-path"] = ("s", self.icon)
        expire = -1 if timeout_ms is None else int(timeout_ms)
        flat = [part for action, label in actions.items() for part in (action, label)]
        (nid,) = self._call(
            "Notify",
            "susssasa{sv}i",
            (APP_NAME, replaces, self.icon, title, body, flat, hints, expire),
        )
        return int(nid)

    def close(self) -> None:
        with self._lock:
            self._disconnect()
