"""Desktop notifications: one backend, chosen once per process.

``get_notifier()`` answers the process's notifier (``PARSEC_TRAY_NOTIFIER``
= ``dbus`` | ``plyer`` | ``tray`` | ``none`` overrides the choice).  Callers
read feature flags (``HAS_ACTIONS``, ``HAS_TIMEOUT``, ``CONFIRMS_DELIVERY``),
never ``sys.platform``.

The choice
----------
- Linux and other freedesktop systems: ``dbus`` (a direct
  ``org.freedesktop.Notifications.Notify`` call with jeepney) when a session
  bus exists and a notification server owns, or can be activated for, that
  name; else -- only when jeepney is missing -- ``plyer`` if its route
  really delivers (dbus-python or notify-send, not Flatpak, a session bus),
  else ``tray`` (pystray's own notification); with no bus, or no server on
  it, nothing can show a notification: ``none``.
- Windows and macOS: ``plyer`` (its balloon / NSUserNotification backends are
  real; on macOS it needs pyobjus), else ``tray``.

The issue asked for plyer; on Linux it is not the default because its routes
there either need dbus-python (not installable from PyPI without a compiler
and libdbus headers), or run notify-send (a process per notification, twice
the latency, no icon, no timeout, no click, no delivery answer), or do
nothing at all without saying so, or (Flatpak) splice text into a GVariant
string.  It stays the Windows/macOS path, and a tested Linux path when
notify-send is present.

Fallback
--------
The chosen backend is wrapped so that a notification it could not deliver
(``False``) goes to the tray icon's notification once the shell has given
the icon with :func:`set_tray_icon`.  The choice, when it is not the
platform's first one, and the first runtime fallback are each logged once.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..platform_choice import env_override
from ._base import APP_NAME, Button, Notifier, log_once
from ._freedesktop import FreedesktopNotifier, probe_server, session_bus_address
from ._none import NoNotifier
from ._plyer import PlyerNotifier, plyer_unusable_reason
from ._tray import TrayNotifier

__all__ = [
    "APP_NAME",
    "NOTIFIERS",
    "Choice",
    "FallbackNotifier",
    "Notifier",
    "choose",
    "get_notifier",
    "make_notifier",
    "set_tray_icon",
]

log = logging.getLogger("parsec_tray.notifications")

NOTIFIERS = ("dbus", "plyer", "tray", "none")
ENV_VAR = "PARSEC_TRAY_NOTIFIER"


@dataclass(frozen=True)
class Choice:
    name: str  # one of NOTIFIERS
    reason: str
    fallback: bool = False  # not the platform's first choice
    address: str | None = None  # the session bus, for "dbus"


def choose(
    override: str | None = None,
    *,
    platform: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Choice:
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    override = env_override(ENV_VAR, NOTIFIERS, env=env, override=override, what="notifier")
    if override:
        return Choice(override, f"chosen by {ENV_VAR}", address=session_bus_address(env))
    if platform in ("win32", "darwin"):
        why = plyer_unusable_reason(platform, env)
        if why is None:
            return Choice("plyer", f"plyer's {platform} backend")
        return Choice("tray", f"{why}: using the tray icon's notification", fallback=True)
    address = session_bus_address(env)
    status, why = probe_server(address)
    if status == "ok":
        return Choice("dbus", why, address=address)
    if status != "no-jeepney":
        return Choice("none", f"{why}: no notification can be shown", fallback=True, address=address)
    plyer_why = plyer_unusable_reason(platform, env)
    if plyer_why is None:
        return Choice("plyer", f"{why}: using plyer", fallback=True, address=address)
    return Choice(
        "tray", f"{why} and {plyer_why}: using the tray icon's notification", fallback=True, address=address
    )


class FallbackNotifier(Notifier):
    """``primary``, then ``secondary`` for what ``primary`` did not deliver."""

    def __init__(self, primary: Notifier, secondary: Notifier) -> None:
        self.primary = primary
        self.secondary = secondary
        self.name = primary.name
        self.HAS_ACTIONS = primary.HAS_ACTIONS
        self.HAS_TIMEOUT = primary.HAS_TIMEOUT
        self.HAS_URGENCY = primary.HAS_URGENCY
        self.CONFIRMS_DELIVERY = primary.CONFIRMS_DELIVERY
        self.HAS_BUTTONS = primary.HAS_BUTTONS

    def notify(
        self,
        title: str,
        body: str,
        *,
        urgency: str = "normal",
        timeout_ms: int | None = None,
        on_click: Callable[[], None] | None = None,
        buttons: Sequence[Button] = (),
        key: str | None = None,
    ) -> bool:
        kw: dict[str, Any] = {"urgency": urgency, "timeout_ms": timeout_ms, "on_click": on_click}
        if self.primary.notify(title, body, **kw, buttons=buttons, key=key):
            self.HAS_ACTIONS = self.primary.HAS_ACTIONS  # may narrow once connected
            self.HAS_BUTTONS = self.primary.HAS_BUTTONS
            return True
        delivered = self.secondary.notify(title, body, **kw)
        if delivered:
            log_once(
                f"fallback:{self.primary.name}->{self.secondary.name}",
                "notifications: %s could not deliver; using %s instead",
                self.primary.name,
                self.secondary.name,
            )
        return delivered

    def withdraw(self, key: str) -> bool:
        return self.primary.withdraw(key)

    def close(self) -> None:
        self.primary.close()
        self.secondary.close()


_lock = threading.Lock()
_notifier: Notifier | None = None
_tray_notifier = TrayNotifier()


def make_notifier(choice: Choice) -> Notifier:
    if choice.name == "dbus":
        return FreedesktopNotifier(choice.address)
    if choice.name == "plyer":
        return PlyerNotifier()
    if choice.name == "tray":
        return _tray_notifier
    return NoNotifier(choice.reason)


def get_notifier() -> Notifier:
    """The process's notifier, chosen on the first call (thread-safe)."""
    global _notifier
    with _lock:
        if _notifier is None:
            choice = choose()
            primary = make_notifier(choice)
            if choice.name in ("tray", "none"):
                _notifier = primary
            else:
                _notifier = FallbackNotifier(primary, _tray_notifier)
            level = logging.WARNING if choice.fallback else logging.INFO
            log.log(level, "notifications: %s (%s)", choice.name, choice.reason)
        return _notifier


def set_tray_icon(icon: Any) -> None:
    """Give the shell's pystray icon: the last resort for notifications."""
    _tray_notifier.attach(icon)


def _reset() -> None:
    """Forget the choice (tests only)."""
    global _notifier
    with _lock:
        if _notifier is not None:
            _notifier.close()
        _notifier = None
        _tray_notifier.attach(None)
