"""What every notification backend offers.

``notify`` answers whether the notification was handed over: it never raises
for a delivery problem (no daemon, bus gone, helper program failed); those
are logged and answered with ``False`` so that a caller (or the fallback
chain) can try something else.  Wrong arguments (an unknown urgency) are a
programming error and raise ``ValueError``.

Feature flags, not platform checks, tell callers what a backend can do.
Text is always passed as data: backends never splice it into a command line,
a markup string or a serialized value without escaping it for that format.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence

__all__ = ["APP_NAME", "URGENCIES", "Button", "Notifier", "clean_body", "clean_title", "log_once"]

# A notification's button: its label, and what a press does.
Button = tuple[str, Callable[[], None]]

log = logging.getLogger("parsec_tray.notifications")

_logged: set[str] = set()
_logged_lock = threading.Lock()


def log_once(key: str, message: str, *args: object) -> None:
    """A warning the first time ``key`` is seen in this process, debug after:
    a backend failing on every notification must not flood the log."""
    with _logged_lock:
        first = key not in _logged
        _logged.add(key)
    log.log(logging.WARNING if first else logging.DEBUG, message, *args)


APP_NAME = "Parsec Tray"
URGENCIES = ("low", "normal", "critical")

# C0/C1 controls except tab and newline; a title is one line, so newlines go
# too.  D-Bus strings cannot hold NUL and must be valid UTF-8.
_BODY_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TITLE_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]+")


def _valid_utf8(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")


def clean_title(text: str) -> str:
    """One line: control characters (newlines included) become one space."""
    return _TITLE_CONTROLS.sub(" ", _valid_utf8(text))


def clean_body(text: str) -> str:
    """Newlines and tabs are kept; other control characters are dropped."""
    return _BODY_CONTROLS.sub("", _valid_utf8(text.replace("\r\n", "\n").replace("\r", "\n")))


class Notifier:
    #: ``on_click`` is called when the person clicks the notification.
    HAS_ACTIONS = False
    #: ``timeout_ms`` is honoured (else the platform's default applies).
    HAS_TIMEOUT = False
    #: ``urgency`` reaches the notification server.
    HAS_URGENCY = False
    #: ``buttons`` are shown (and their callbacks called); ``withdraw`` works.
    HAS_BUTTONS = False
    #: ``True`` from ``notify`` means the notification server accepted it
    #: (else: the request was handed to a library or program that does not
    #: say whether it was shown).
    CONFIRMS_DELIVERY = False

    name = "base"

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
        """Show a notification; ``True`` if it was handed over (see the flags).

        ``on_click`` (when ``HAS_ACTIONS``) runs in a backend thread: marshal
        to your own thread before touching the GUI.  ``buttons`` (label,
        callback), where ``HAS_BUTTONS``: the same.  ``key`` names the
        notification for :meth:`withdraw` (a new one with the same key
        replaces it).
        """
        if urgency not in URGENCIES:
            raise ValueError(f"urgency must be one of {', '.join(URGENCIES)}, not {urgency!r}")
        if timeout_ms is not None and timeout_ms < 0:
            raise ValueError("timeout_ms must be positive (or None for the server's default)")
        try:
            if self.HAS_BUTTONS:
                return self._notify_with(
                    clean_title(title), clean_body(body), urgency=urgency, timeout_ms=timeout_ms,
                    on_click=on_click, buttons=tuple(buttons), key=key,
                )  # fmt: skip
            return self._notify(
                clean_title(title),
                clean_body(body),
                urgency=urgency,
                timeout_ms=timeout_ms,
                on_click=on_click,
            )
        except Exception as exc:  # a notification must never take the app down
            log_once(f"{self.name}:error", "notification through %s failed: %r", self.name, exc)
            return False

    def _notify(
        self,
        title: str,
        body: str,
        *,
        urgency: str,
        timeout_ms: int | None,
        on_click: Callable[[], None] | None,
    ) -> bool:
        raise NotImplementedError

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
        """``_notify`` with buttons and a key (backends with ``HAS_BUTTONS``)."""
        return self._notify(title, body, urgency=urgency, timeout_ms=timeout_ms, on_click=on_click)

    def withdraw(self, key: str) -> bool:
        """Take back the notification shown with ``key``: True if it was."""
        return False

    def close(self) -> None:
        """Release connections and threads (idempotent)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
