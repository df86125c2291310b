"""The notifications the tray shows: the invitation intents of every
session through one :class:`~.live.NotificationPump` (started with the
first intent), the notifier chosen at the first notification (not at
start-up), and the last ones shown, for ``parsec-tray status``.

Every notification names its organization (the coalescer writes it in the
title); a click on one about invitations opens that organization's Pending
invitations (``on_click(organization_id)``, None for a "more updates"
summary).  One about one person waiting to be greeted has a **Greet**
button, and its click greets them too (``on_greet(organization_id,
token)``); it is shown at normal urgency, and withdrawn as soon as they
stop waiting (:meth:`Notices.still_waiting`).  Thread-safe.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from .i18n import _

if TYPE_CHECKING:
    from .coalesce import Intent, Notification
    from .live import NotificationPump
    from .notifications._base import Button

__all__ = ["Notices"]

log = logging.getLogger(__name__)

# What a click on a notification of these topics opens: the invitations.
CLICKABLE = ("waiting", "created", "mixed")


class Notices:
    def __init__(
        self,
        on_click: Callable[[str | None], None],
        *,
        on_greet: Callable[[str | None, str], None] | None = None,
        keep: int = 20,
    ) -> None:
        self._on_click = on_click
        self._on_greet = on_greet
        self._waiting_shown: set[str] = set()  # tokens of the "is waiting" notifications on screen
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
        self,
        title: str,
        body: str,
        *,
        urgency: str = "normal",
        on_click: Callable[[], None] | None = None,
        buttons: Sequence[Button] = (),
        key: str | None = None,
    ) -> bool:
        """Show one notification now (a session's refusal...): delivered?"""
        from .notifications import get_notifier

        with self._lock:
            if self._stopped:
                return False
        delivered = get_notifier().notify(
            title, body, urgency=urgency, on_click=on_click, buttons=buttons, key=key
        )
        self.notified(title, body, delivered=delivered)
        log.info("notification %r: %s", title, "shown" if delivered else "not delivered")
        return delivered

    def still_waiting(self, tokens: Iterable[str]) -> None:
        """Withdraw the "is waiting" notifications of whoever is not in ``tokens``."""
        from .notifications import get_notifier

        keep = set(tokens)
        with self._lock:
            gone = self._waiting_shown - keep
            self._waiting_shown &= keep
        for token in gone:
            withdrawn = get_notifier().withdraw(_waiting_key(token))
            log.info("no longer waiting (%s): notification %s", token[:8], "withdrawn" if withdrawn else "gone")

    def _show(self, n: Notification) -> None:
        """In the pump's thread."""
        org = n.org
        on_click = (lambda: self._on_click(org)) if n.topic in CLICKABLE else None
        on_greet = self._on_greet
        if n.topic == "waiting" and len(n.tokens) == 1 and on_greet is not None:
            token = n.tokens[0]
            greet = lambda: on_greet(org, token)  # noqa: E731 - the click and the button
            with self._lock:
                self._waiting_shown.add(token)
            # Normal urgency: a critical one would stay on screen after they stop waiting.
            self.say(n.title, n.body, on_click=greet, buttons=[(_("Greet"), greet)], key=_waiting_key(token))
            return
        self.say(n.title, n.body, urgency=n.urgency, on_click=on_click)


def _waiting_key(token: str) -> str:
    return f"waiting:{token}"
