"""The tray icon's own notification (pystray's ``Icon.notify``): the last
resort, given the icon object once the shell has created it.

pystray's backends differ: win32 shows a balloon, darwin an
NSUserNotification, gtk/appindicator call the freedesktop server through Gio
(on the same bus our D-Bus backend would use), xorg has none
(``HAS_NOTIFICATION = False``).  An icon that says it has none, or no icon
yet, answers ``False``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ._base import Notifier

__all__ = ["TrayNotifier"]

log = logging.getLogger("parsec_tray.notifications")

# The smallest limits among pystray's backends (win32: 64 and 256 UTF-16
# units, terminator included).
_TITLE_MAX = 63
_BODY_MAX = 255


class TrayNotifier(Notifier):
    name = "tray"

    def __init__(self, icon: Any = None) -> None:
        self._icon = icon
        self._lock = threading.Lock()

    def attach(self, icon: Any) -> None:
        """Give the shell's icon (anything with ``notify(message, title)``)."""
        with self._lock:
            self._icon = icon

    @property
    def icon(self) -> Any:
        return self._icon

    def _notify(
        self,
        title: str,
        body: str,
        *,
        urgency: str,
        timeout_ms: int | None,
        on_click: Callable[[], None] | None,
    ) -> bool:
        with self._lock:
            icon = self._icon
        if icon is None or not getattr(icon, "HAS_NOTIFICATION", True):
            return False
        icon.notify(body[:_BODY_MAX], title[:_TITLE_MAX])
        return True
