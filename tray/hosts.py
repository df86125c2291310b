"""Which tray hosts this Linux desktop has, asked cheaply before any toolkit
is imported.

- XEMBED (freedesktop "system tray"): a window owns the X selection
  ``_NET_SYSTEM_TRAY_S<screen>``.  Asked through libX11 with ctypes: one
  round trip, no python-xlib or GTK import.
- StatusNotifierItem: ``org.kde.StatusNotifierWatcher`` is on the session
  bus and says a host is registered.  Asked with Gio only when a session bus
  is known to exist (with a display but no bus, GLib would auto-launch a
  daemon that outlives us).

Every function answers ``False`` on any error: a wrong "no" only means the
fallback window is used.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

__all__ = ["has_display", "sni_host_present", "xembed_tray_present"]


def has_display(env: dict[str, str] | None = None) -> bool:
    env = dict(os.environ) if env is None else env
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def _libx11() -> ctypes.CDLL | None:
    # The soname first: ctypes.util.find_library runs ldconfig (~30 ms).
    for name in ("libX11.so.6", "libX11.dylib", "libX11.so"):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    found = ctypes.util.find_library("X11")
    if not found:
        return None
    try:
        return ctypes.CDLL(found)
    except OSError:
        return None


def xembed_tray_present(display: str | None = None) -> bool:
    display = display if display is not None else os.environ.get("DISPLAY", "")
    if not display:
        return False
    x11 = _libx11()
    if x11 is None:
        return False
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XDefaultScreen.argtypes = [ctypes.c_void_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XGetSelectionOwner.restype = ctypes.c_ulong
    x11.XGetSelectionOwner.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    dpy = x11.XOpenDisplay(display.encode())
    if not dpy:
        return False
    try:
        screen = x11.XDefaultScreen(dpy)
        atom = x11.XInternAtom(dpy, f"_NET_SYSTEM_TRAY_S{screen}".encode(), 0)
        return bool(atom and x11.XGetSelectionOwner(dpy, atom))
    finally:
        x11.XCloseDisplay(dpy)


def sni_host_present() -> bool:
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        if not runtime or not os.path.exists(os.path.join(runtime, "bus")):
            return False
    try:
        import gi

        gi.require_version("Gio", "2.0")
        from gi.repository import Gio, GLib

        bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
        owned = bus.call_sync(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "NameHasOwner",
            GLib.Variant("(s)", ("org.kde.StatusNotifierWatcher",)),
            GLib.VariantType("(b)"),
            Gio.DBusCallFlags.NONE,
            1000,
            None,
        ).unpack()[0]
        if not owned:
            return False
        reply = bus.call_sync(
            "org.kde.StatusNotifierWatcher",
            "/StatusNotifierWatcher",
            "org.freedesktop.DBus.Properties",
            "Get",
            GLib.Variant("(ss)", ("org.kde.StatusNotifierWatcher", "IsStatusNotifierHostRegistered")),
            GLib.VariantType("(v)"),
            Gio.DBusCallFlags.NONE,
            1000,
            None,
        ).unpack()[0]
        return bool(reply)
    except Exception:
        return False
