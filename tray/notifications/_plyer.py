"""Notifications through plyer (``plyer.notification.notify``).

plyer's backends on Windows (a Shell_NotifyIcon balloon through ctypes) and
macOS (NSUserNotification through pyobjus) are real.  On Linux it picks, in
this order (plyer 2.1, ``platforms/linux/notification.py``):

1. ``/app`` is a directory (its Flatpak test) -> the desktop portal through
   ``gdbus call``, with the title and body spliced into a GVariant text: a
   quote in a name breaks it, and the rest of the text is parsed as GVariant;
2. dbus-python importable -> a real D-Bus call;
3. ``notify-send`` on ``PATH`` -> one process per notification: no icon
   (plyer passes it under a key it never reads), no timeout (always
   ``-t 0``), and its exit status is ignored;
4. else a class that silently does nothing.

Every one of them returns ``None``: plyer never says whether anything was
shown.  So this module predicts the route plyer would take
(:func:`plyer_linux_route`, checked against plyer's own choice in the tests)
and reports the backend unusable where the route is a no-op or splices, or
where no session bus exists (``notify-send`` would fail silently).

On the notify-send route the text still needs care: plyer puts the title and
the body *before* the options on notify-send's command line, so a text
starting with ``-`` would be parsed as an option.  The body is sent as markup
(every freedesktop server we know advertises ``body-markup``), so a leading
``-`` is written ``&#45;``; a title cannot be escaped and one starting with
``-`` is refused (``False``: the caller falls back).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import warnings
from collections.abc import Callable, Mapping

from ._base import APP_NAME, Notifier, log_once
from ._freedesktop import markup_escape, session_bus_address

__all__ = ["PlyerNotifier", "plyer_linux_route", "plyer_unusable_reason"]

# szInfoTitle[64] and szInfo[256] in NOTIFYICONDATAW: longer text makes
# plyer's balloon thread die with a ValueError nobody sees.
_WIN_TITLE_MAX = 63
_WIN_BODY_MAX = 255


def _is_linux_like(platform: str) -> bool:
    return platform not in ("win32", "cygwin", "darwin")


def plyer_linux_route(env: Mapping[str, str] | None = None) -> str:
    """The Linux class plyer would use: ``portal``, ``dbus-python``,
    ``notify-send`` or ``none`` (same tests, same order as plyer)."""
    env = os.environ if env is None else env
    if os.path.isdir("/app") or os.path.exists("/.flatpak-info"):
        return "portal"
    if importlib.util.find_spec("dbus") is not None:
        return "dbus-python"
    if shutil.which("notify-send", path=env.get("PATH", "")) is not None:
        return "notify-send"
    return "none"


def plyer_unusable_reason(platform: str | None = None, env: Mapping[str, str] | None = None) -> str | None:
    """``None`` if plyer can really deliver here; else why not (a sentence)."""
    platform = sys.platform if platform is None else platform
    if importlib.util.find_spec("plyer") is None:
        return "plyer is not installed"
    if platform == "win32":
        return None
    if platform == "darwin":
        if importlib.util.find_spec("pyobjus") is None:
            return "plyer needs pyobjus for notifications on macOS, and it is not installed"
        return None
    if not _is_linux_like(platform):
        return f"plyer has no notification backend for {platform}"
    route = plyer_linux_route(env)
    if route == "portal":
        return "inside Flatpak plyer splices the text into a GVariant string (quotes would break it)"
    if route == "none":
        return "plyer has neither dbus-python nor notify-send here: it would silently show nothing"
    if session_bus_address(env) is None:
        return f"no session bus: plyer's {route} route would fail without saying so"
    return None


def _default_icon(platform: str) -> str:
    try:
        from ..icons import ICONS_DIR, app_icon_path

        path = os.path.join(ICONS_DIR, "parsec-tray.ico") if platform == "win32" else app_icon_path(128)
        if os.path.isfile(path):
            return os.path.realpath(path)
    except Exception:
        pass
    return ""


class PlyerNotifier(Notifier):
    name = "plyer"

    def __init__(self, *, platform: str | None = None) -> None:
        self.platform = sys.platform if platform is None else platform
        self.route = plyer_linux_route() if _is_linux_like(self.platform) else self.platform
        # What plyer's route honours (see the module header).
        self.HAS_TIMEOUT = self.route in ("win32", "dbus-python")
        # HAS_URGENCY stays False: plyer's facade never passes one (notify-send gets -u normal).
        self.icon = _default_icon(self.platform)

    def _notify(
        self,
        title: str,
        body: str,
        *,
        urgency: str,
        timeout_ms: int | None,
        on_click: Callable[[], None] | None,
    ) -> bool:
        if self.route in ("notify-send", "dbus-python"):
            body = markup_escape(body)
        if self.route == "notify-send":
            if not title or title.startswith("-"):
                log_once(
                    "plyer:title", "plyer/notify-send cannot take a title that is empty or starts with '-'"
                )
                return False
            if body.startswith("-"):
                body = "&#45;" + body[1:]
        elif self.route == "portal":
            log_once(
                "plyer:portal", "plyer would splice the text into a GVariant string inside Flatpak: not used"
            )
            return False
        elif self.route == "none":
            return False
        if self.platform == "win32":
            title = title[:_WIN_TITLE_MAX]
            body = body[:_WIN_BODY_MAX]
        seconds = 10 if timeout_ms is None else max(1, round(timeout_ms / 1000))
        with warnings.catch_warnings():
            # plyer warns (each time it is first used) that dbus-python is missing.
            warnings.simplefilter("ignore")
            from plyer import notification

            notification.notify(
                title=title, message=body, app_name=APP_NAME, app_icon=self.icon, timeout=seconds
            )
        return True
