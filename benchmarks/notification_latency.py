"""Benchmark: how long from ``notify()`` until the notification daemon has it.

In a private desktop (D-Bus, Xvfb, dunst; see tests/desktop_session.py) a
D-Bus *monitor* connection watches every ``Notify`` call to
``org.freedesktop.Notifications`` and dunst's reply to it.

What is measured, per notification: from just before the backend is called
until the monitor receives dunst's *reply* to the ``Notify`` call carrying a
unique marker in its summary, with nothing else on dunst's screen (its
reply time grows with what it shows).  The reply means dunst has parsed the call,
created the notification and queued it for display; it draws it on its next
main-loop turn (not observable on the bus; the same for every backend).
The monitor's own delivery delay is in every figure alike.

Compared in the same run, rounds interleaved in a random order:

- ``jeepney (baseline)``: a bare jeepney ``Notify`` call on an open
  connection, with the same arguments our backend sends (icon, hints: the
  daemon's own work depends on them): the floor for any direct D-Bus
  backend;
- ``jeepney, new connection``: the same call with a connection opened (and
  closed) each time;
- ``ours: dbus``: ``FreedesktopNotifier`` (markup escaping, hints, icon,
  reconnect logic; connection kept open);
- ``ours: plyer``: ``PlyerNotifier`` (plyer -> notify-send on Debian without
  dbus-python);
- ``notify-send``: the program alone, for what plyer adds.

p50/p95 over ``--rounds`` notifications each, and the ratios to the
baseline.  Never used for pass/fail in the tests.

The full "server event -> notification shown" latency needs the app wired
to the event stream: :func:`event_to_notification_latency` takes any
``trigger(marker)`` that makes *something* notify with ``marker`` in the
title (e.g. a claimer whose email contains it starting a greeting attempt
against a running tray app in this session), and measures it the same way.

    python benchmarks/notification_latency.py [--rounds 50] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from desktop_session import DesktopSession  # noqa: E402

BUS_NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"


class NotifyMonitor:
    """Watches the bus: for each ``Notify`` call, when the server replied.

    ``wait(marker)`` answers the ``time.perf_counter()`` at which the
    monitor received the server's reply to the ``Notify`` whose summary
    contains ``marker``.
    """

    def __init__(self, address: str) -> None:
        from jeepney import DBusAddress, new_method_call
        from jeepney.bus_messages import Monitoring
        from jeepney.io.threading import DBusRouter, Proxy, open_dbus_connection

        with open_dbus_connection(bus=address) as probe, DBusRouter(probe) as router:
            msg = new_method_call(
                DBusAddress("/org/freedesktop/DBus", "org.freedesktop.DBus", "org.freedesktop.DBus"),
                "GetNameOwner",
                "s",
                (BUS_NAME,),
            )
            self.server = router.send_and_get_reply(msg, timeout=5).body[0]
        self.conn = open_dbus_connection(bus=address)
        rules = [
            f"type='method_call',interface='{BUS_NAME}',member='Notify'",
            f"type='method_return',sender='{self.server}'",
        ]
        with DBusRouter(self.conn) as router:
            Proxy(Monitoring(), router, timeout=5).BecomeMonitor(rules)
        self._calls: dict[tuple[str, int], str] = {}  # (caller, serial) -> summary
        self._replied: dict[str, float] = {}
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from jeepney import HeaderFields, MessageType

        try:
            while True:
                msg = self.conn.receive()
                now = time.perf_counter()
                f = msg.header.fields
                if msg.header.message_type == MessageType.method_call:
                    self._calls[(f.get(HeaderFields.sender), msg.header.serial)] = msg.body[3]
                elif msg.header.message_type == MessageType.method_return:
                    summary = self._calls.pop(
                        (f.get(HeaderFields.destination), f.get(HeaderFields.reply_serial)), None
                    )
                    if summary is not None:
                        with self._cond:
                            self._replied[summary] = now
                            self._cond.notify_all()
        except Exception:
            return  # closed

    def wait(self, marker: str, timeout: float = 10) -> float:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for summary, t in self._replied.items():
                    if marker in summary:
                        del self._replied[summary]
                        return t
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no Notify reply for {marker!r}")
                self._cond.wait(left)

    def close(self) -> None:
        self.conn.close()
        self._thread.join(5)


def event_to_notification_latency(
    monitor: NotifyMonitor, trigger: Callable[[str], None], *, timeout: float = 30
) -> float:
    """Seconds from calling ``trigger(marker)`` until the notification server
    replied to a ``Notify`` whose title contains ``marker``.

    Extend here for the app: ``trigger`` can start a greeting attempt on the
    server as a claimer whose email contains ``marker``, with the tray app
    (logged in as an administrator, notifications on) running in the same
    session; the figure is then server event -> notification.
    """
    marker = f"m{uuid.uuid4().hex[:12]}"
    t0 = time.perf_counter()
    trigger(marker)
    return monitor.wait(marker, timeout) - t0


def _same_args(marker: str) -> tuple[Any, ...]:
    """What our backend sends (icon, hints, escaped body): the daemon's work
    differs with them (no icon -> a themed default icon is looked up)."""
    from parsec_tray.tray.notifications._freedesktop import _default_icon

    icon = _default_icon()
    hints = {"urgency": ("y", 1), "desktop-entry": ("s", "parsec-tray"), "image-path": ("s", icon)}
    body = "a@example.com is waiting to be greeted."
    return ("Parsec Tray", 0, icon, f"Waiting {marker}", body, [], hints, -1)


def _jeepney_persistent(address: str) -> tuple[Callable[[str], None], Callable[[], None]]:
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    conn = open_dbus_connection(bus=address)
    target = DBusAddress(PATH, BUS_NAME, BUS_NAME)

    def trigger(marker: str) -> None:
        msg = new_method_call(target, "Notify", "susssasa{sv}i", _same_args(marker))
        conn.send_and_get_reply(msg, timeout=5)

    return trigger, conn.close


def _jeepney_fresh(address: str) -> tuple[Callable[[str], None], Callable[[], None]]:
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    target = DBusAddress(PATH, BUS_NAME, BUS_NAME)

    def trigger(marker: str) -> None:
        with open_dbus_connection(bus=address) as conn:
            msg = new_method_call(target, "Notify", "susssasa{sv}i", _same_args(marker))
            conn.send_and_get_reply(msg, timeout=5)

    return trigger, lambda: None


def _ours_dbus(address: str) -> tuple[Callable[[str], None], Callable[[], None]]:
    from parsec_tray.tray.notifications._freedesktop import FreedesktopNotifier

    n = FreedesktopNotifier(address)
    return (
        lambda marker: _check(n.notify(f"Waiting {marker}", "a@example.com is waiting to be greeted."))
    ), n.close


def _ours_plyer(address: str) -> tuple[Callable[[str], None], Callable[[], None]]:
    from parsec_tray.tray.notifications._plyer import PlyerNotifier

    n = PlyerNotifier()
    return (
        lambda marker: _check(n.notify(f"Waiting {marker}", "a@example.com is waiting to be greeted."))
    ), n.close


def _notify_send(address: str) -> tuple[Callable[[str], None], Callable[[], None]]:
    def trigger(marker: str) -> None:
        subprocess.run(
            [
                "notify-send",
                "-a",
                "Parsec Tray",
                "--",
                f"Waiting {marker}",
                "a@example.com is waiting to be greeted.",
            ],
            check=True,
        )

    return trigger, lambda: None


def _check(ok: bool) -> None:
    if not ok:
        raise RuntimeError("the backend did not deliver")


BACKENDS: dict[str, Callable[[str], tuple[Callable[[str], None], Callable[[], None]]]] = {
    "jeepney (baseline)": _jeepney_persistent,
    "jeepney, new connection": _jeepney_fresh,
    "ours: dbus": _ours_dbus,
    "ours: plyer": _ours_plyer,
    "notify-send": _notify_send,
}


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, DesktopSession(Path(tmp), tray_host=False) as session:
        address = session.env["DBUS_SESSION_BUS_ADDRESS"]
        # Backends read the bus and PATH from the environment, like the app.
        os.environ.update(DBUS_SESSION_BUS_ADDRESS=address, XDG_RUNTIME_DIR=session.env["XDG_RUNTIME_DIR"])
        monitor = NotifyMonitor(address)
        made = {name: make(address) for name, make in BACKENDS.items()}
        samples: dict[str, list[float]] = {name: [] for name in BACKENDS}
        cold: dict[str, float] = {}
        try:
            names = list(BACKENDS)
            for name in names:  # first call: imports, connection, caps
                cold[name] = event_to_notification_latency(monitor, made[name][0])
            for _ in range(args.rounds):
                random.shuffle(names)
                for name in names:
                    # Same starting point for every sample: nothing on screen
                    # (dunst's reply time grows with what it shows), dunst idle.
                    subprocess.run(["dunstctl", "close-all"], env=session.env, check=False)
                    time.sleep(0.02)
                    samples[name].append(event_to_notification_latency(monitor, made[name][0]))
        finally:
            for _trigger, close in made.values():
                close()
            monitor.close()

    base50 = statistics.median(samples["jeepney (baseline)"])
    base95 = percentile(samples["jeepney (baseline)"], 95)
    rows = []
    for name in BACKENDS:
        s = samples[name]
        p50, p95 = statistics.median(s), percentile(s, 95)
        rows.append(
            {
                "backend": name,
                "p50_ms": round(p50 * 1000, 2),
                "p95_ms": round(p95 * 1000, 2),
                "first_call_ms": round(cold[name] * 1000, 2),
                "p50_ratio": round(p50 / base50, 2),
                "p95_ratio": round(p95 / base95, 2),
            }
        )
    if args.json:
        print(json.dumps({"rounds": args.rounds, "results": rows}))
        return 0
    print(f"notify() -> dunst's reply to Notify seen on the bus; {args.rounds} rounds each, interleaved")
    print(f"{'backend':<26}{'p50 ms':>9}{'p95 ms':>9}{'1st call':>10}{'p50 x':>8}{'p95 x':>8}")
    for row in rows:
        print(
            f"{row['backend']:<26}{row['p50_ms']:>9.2f}{row['p95_ms']:>9.2f}{row['first_call_ms']:>10.2f}"
            f"{row['p50_ratio']:>8.2f}{row['p95_ratio']:>8.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
