"""No notifications: what is left when nothing can show one.  Never raises."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ._base import Button, Notifier

__all__ = ["NoNotifier"]


class NoNotifier(Notifier):
    name = "none"

    def __init__(self, reason: str = "notifications are turned off") -> None:
        self.reason = reason

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
        return False
