"""The notifications the tray shows: the invitation intents of every
session through one :class:`~.live.NotificationPump` (started with the
first intent), the notifier chosen at the first notification (not at
start-up), and the last ones shown, for ``parsec-tray status``.

Every notification names its organization (the coalescer writes it in the
title); a click on one about invitations opens that organization's Pending
invitations (``on_click(organization_id)``, None for a "more updates"
summary).  Thread-safe.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .coalesce import Intent, Notification
    from .live import NotificationPump

__all__ = ["Notices"]

log = logging.getLogger(__name__)

# What a click on a notification of these topics opens: the invitations.
CLICKABLE = ("waiting", "created", "mixed")


class Notices:
    def __init__(self, on_click: Callable[[str | None], None], *, keep: int = 20) -> None:
        self._on_click = on_click
        self._lock = threading.Lock()
        self._pump: NotificationPump | None = None
        self._recent: deque[dict[str, str]] = deque(maxlen=keep)
        self._stopped = False

    def post(self, intents: Iterable[Intent]) -> None:
        with self._lock:
            if self._stopped:
                return
            if self._pump is None:
                from .live import NotificationPump

                self._pump = NotificationPump(self._show)
            pump = self._pump
        pump.post(intents)

    def notified(self, title: str, body: str, *, delivered: bool) -> None:
        """A notification was handed to the notifier."""
        with self._lock:
            self._recent.append({"title": title, "body": body, "delivered": str(delivered).lower()})

    def recent(self) -> list[dict[str, str]]:
        with self._lock:
            return list(self._recent)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            pump, self._pump = self._pump, None
        if pump is not None:
            pump.stop()

    def say(
        self, title: str, body: str, *, urgency: str = "normal", on_click: Callable[[], None] | None = None
    ) -> bool:
        """Show one notification now (a session's refusal...): delivered?"""
        from .notifications import get_notifier

        with self._lock:
            if self._stopped:
                return False
        delivered = get_notifier().notify(title, body, urgency=urgency, on_click=on_click)
        self.notified(title, body, delivered=delivered)
        log.info("notification %r: %s", title, "shown" if delivered else "not delivered")
        return delivered

    def _show(self, n: Notification) -> None:
        """In the pump's thread."""
        org = n.org
        on_click = (lambda: self._on_click(org)) if n.topic in CLICKABLE else None
        self.say(n.title, n.body, urgency=n.urgency, on_click=on_click)
