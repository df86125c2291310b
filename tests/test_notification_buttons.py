"""Buttons and withdrawal of the D-Bus notifier, against a stand-in
notification server on a private session bus (the real dunst cannot press
a button other than the default one): the actions sent with ``Notify``, the
server's ``ActionInvoked`` for a button running its callback (and nobody
else's), a notification shown again with the same key replacing it, and
``withdraw`` sending ``CloseNotification``.  The default action and the
withdrawal against dunst itself: test_tray_live_e2e.py."""

from __future__ import annotations

import queue
import threading
from typing import Any

from parsec_tray.tray.notifications import FreedesktopNotifier
from test_screenlock import bus  # noqa: F401 - a private dbus-daemon (fixture)

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"


class StandIn:
    """Owns ``org.freedesktop.Notifications``: records each call, answers
    ``Notify`` with a new id (or ``replaces_id``), emits signals."""

    def __init__(self, address: str) -> None:
        from jeepney import MatchRule
        from jeepney.bus_messages import message_bus
        from jeepney.io.threading import DBusRouter, Proxy, open_dbus_connection

        self.router = DBusRouter(open_dbus_connection(bus=address))
        self.bus = Proxy(message_bus, self.router, timeout=10)
        assert self.bus.RequestName(NAME, 4)[0] == 1
        self.calls: queue.Queue[tuple[str, tuple[Any, ...]]] = queue.Queue()
        self._in = self.router.filter(MatchRule(type="method_call", interface=NAME), bufsize=16)
        self._next = 41
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        from jeepney import HeaderFields, new_method_return

        while True:
            msg = self._in.queue.get()
            if msg is None:
                return
            member = msg.header.fields[HeaderFields.member]
            self.calls.put((member, tuple(msg.body)))
            if member == "GetCapabilities":
                self.router.send(new_method_return(msg, "as", (["actions", "body"],)))
            elif member == "Notify":
                self._next += 1
                nid = msg.body[1] or self._next
                self.router.send(new_method_return(msg, "u", (nid,)))
            else:
                self.router.send(new_method_return(msg))

    def call(self, member: str) -> tuple[Any, ...]:
        while True:
            got, body = self.calls.get(timeout=10)
            if got == member:
                return body

    def emit(self, member: str, signature: str, body: tuple[Any, ...]) -> None:
        from jeepney import DBusAddress, new_signal

        self.router.send(new_signal(DBusAddress(PATH, interface=NAME), member, signature, body))
        self.bus.GetId()  # routed before it answers

    def close(self) -> None:
        self._in.queue.put(None)
        self._thread.join(5)
        self.router.close()
        self.router.conn.close()


def test_a_button_runs_its_callback_and_a_key_replaces_then_withdraws(bus: str) -> None:  # noqa: F811
    server = StandIn(bus)
    notifier = FreedesktopNotifier(bus)
    greeted, opened = threading.Event(), threading.Event()
    try:
        assert notifier.notify(
            "Waiting to join Acme", "bob@example.com is waiting to be greeted.",
            on_click=opened.set, buttons=[("Greet", greeted.set)], key="waiting:t1",
        )  # fmt: skip
        body = server.call("Notify")
        nid = notifier.last_id
        assert body[1] == 0 and body[5] == ["default", "Open", "button-0", "Greet"]
        assert body[6]["urgency"] == ("y", 1)  # normal
        assert notifier.HAS_BUTTONS

        # The same key again: it replaces the one on screen.
        assert notifier.notify("Waiting to join Acme", "again", buttons=[("Greet", greeted.set)], key="waiting:t1")
        assert server.call("Notify")[1] == nid and notifier.last_id == nid

        server.emit("ActionInvoked", "us", (nid, "button-0"))
        assert greeted.wait(5) and not opened.is_set()

        # Withdrawn by its key, once.
        assert notifier.withdraw("waiting:t1")
        assert server.call("CloseNotification") == (nid,)
        assert not notifier.withdraw("waiting:t1")
    finally:
        notifier.close()
        server.close()
