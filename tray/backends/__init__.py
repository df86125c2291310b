"""The shell that shows the menu: chosen once per run, overridable.

Backends (``PARSEC_TRAY_BACKEND`` or ``--backend`` overrides the choice):

- ``gtk``: a GTK status icon, embedded by an XEMBED tray host (pystray);
- ``appindicator``: a StatusNotifierItem, for hosts that only speak SNI
  (GNOME with the AppIndicator extension, KDE) (pystray);
- ``win32`` / ``darwin``: the native notification-area / menu-bar icon
  (pystray);
- ``window``: no tray host; a small window offering the same actions.

On Linux the choice is made before GTK is imported: SNI host registered and
the AppIndicator typelib present -> ``appindicator``; an XEMBED tray
selection owned -> ``gtk``; a display but no host -> ``window``; no display ->
``none`` (the caller prints a message; the CLI still works).
"""

from __future__ import annotations

import os
import sys
from typing import NamedTuple

from ..i18n import _
from ..platform_choice import env_override
from .base import Shell

__all__ = ["BACKENDS", "Choice", "Shell", "choose", "make_shell"]

BACKENDS = ("gtk", "appindicator", "win32", "darwin", "xorg", "window")


class Choice(NamedTuple):  # (not a dataclass: dataclasses is not imported before the icon)
    name: str  # one of BACKENDS, or "none"
    reason: str


def _appindicator_available() -> bool:
    try:
        import gi
    except ImportError:
        return False
    for name in ("AyatanaAppIndicator3", "AppIndicator3"):
        try:
            gi.require_version(name, "0.1")
            return True
        except ValueError:
            continue
    return False


def choose(override: str | None = None) -> Choice:
    override = env_override("PARSEC_TRAY_BACKEND", BACKENDS, env=os.environ, override=override, what="backend")
    if override:
        return Choice(override, "chosen by PARSEC_TRAY_BACKEND/--backend")
    if sys.platform == "win32":
        return Choice("win32", "Windows")
    if sys.platform == "darwin":
        return Choice("darwin", "macOS")
    from .. import hosts

    if not hosts.has_display():
        return Choice("none", _("neither DISPLAY nor WAYLAND_DISPLAY is set"))  # said to the person
    if hosts.sni_host_present() and _appindicator_available():
        return Choice("appindicator", "a StatusNotifierItem host is registered")
    if hosts.xembed_tray_present():
        return Choice("gtk", "an XEMBED system tray owns _NET_SYSTEM_TRAY_S0")
    return Choice("window", "a display but no system tray host")


def make_shell(choice: Choice) -> Shell:
    """The shell of ``choice``, before the controller (see :meth:`Shell.run`)."""
    if choice.name == "window":
        from .window import WindowShell

        return WindowShell()
    from .pystray_icon import PystrayShell

    return PystrayShell(choice.name)
