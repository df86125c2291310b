"""Which tray hosts this Linux desktop has, asked cheaply before any toolkit
is imported.

- XEMBED (freedesktop "system tray"): a window owns the X selection
  ``_NET_SYSTEM_TRAY_S<screen>``.  Asked over the X11 core protocol on a
  socket (``tray/x11_wire.py`` holds the bytes; two round trips, no library
  loaded); whenever that cannot conclude (a DISPLAY form it does not handle,
  no socket, authorization refused, unexpected bytes, no answer within
  :data:`WIRE_TIMEOUT`) libX11 is asked through ctypes, imported only then,
  so no desktop gets a worse answer than libX11's.
- StatusNotifierItem: ``org.kde.StatusNotifierWatcher`` is on the session
  bus and says a host is registered.  Asked with Gio only when a session bus
  is known to exist (with a display but no bus, GLib would auto-launch a
  daemon that outlives us).

Every function answers ``False`` on any error: a wrong "no" only means the
fallback window is used.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ctypes

    from . import x11_wire
    from .x11_wire import Display

__all__ = [
    "WIRE_TIMEOUT",
    "has_display",
    "sni_host_present",
    "xembed_tray_present",
    "xembed_tray_present_libx11",
    "xembed_tray_present_wire",
]

# For the whole wire conversation (connect, setup, two replies); a local X
# server answers in about a millisecond.
WIRE_TIMEOUT = 1.0
_XAUTHORITY_MAX = 1 << 20


def has_display(env: dict[str, str] | None = None) -> bool:
    env = dict(os.environ) if env is None else env
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def _libx11() -> ctypes.CDLL | None:
    import ctypes
    import ctypes.util

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
    """Whether a window owns ``_NET_SYSTEM_TRAY_S<screen>`` on ``display``
    (default: ``$DISPLAY``): over the wire, else through libX11."""
    display = display if display is not None else os.environ.get("DISPLAY", "")
    if not display:
        return False
    try:
        answer = xembed_tray_present_wire(display)
    except Exception:  # a bug here must not cost the libX11 answer
        answer = None
    if answer is not None:
        return answer
    try:
        return xembed_tray_present_libx11(display)
    except Exception:
        return False


def xembed_tray_present_wire(display: str, timeout: float = WIRE_TIMEOUT) -> bool | None:
    """The answer of the X server of ``display`` over its socket, or
    ``None`` when the conversation cannot conclude (see the module header)."""
    from . import x11_wire

    where = x11_wire.parse_display(display)
    if where is None:
        return None
    deadline = time.monotonic() + timeout
    sock = _x11_connect(where, deadline)
    if sock is None:
        return None
    try:
        with sock:
            peer = None if where.local else _packed_peer(sock)
            family, address = x11_wire.auth_address(peer, socket.gethostname().encode())
            cookie = x11_wire.pick_cookie(_xauthority_entries(), family, address, where.number)
            if cookie is None:
                query = x11_wire.TrayOwnerQuery(where.screen)
            else:
                query = x11_wire.TrayOwnerQuery(where.screen, x11_wire.MIT_MAGIC_COOKIE, cookie)
            out = query.start()
            while True:
                if out:
                    if not _set_timeout(sock, deadline):
                        return None
                    sock.sendall(out)
                if query.answer is not None:
                    return query.answer
                if not _set_timeout(sock, deadline):
                    return None
                data = sock.recv(65536)
                if not data:  # the server hung up before it answered
                    return None
                out = query.receive(data)
    except (OSError, x11_wire.Inconclusive):
        return None


def _set_timeout(sock: socket.socket, deadline: float) -> bool:
    left = deadline - time.monotonic()
    if left <= 0:
        return False
    sock.settimeout(left)
    return True


def _x11_connect(where: Display, deadline: float) -> socket.socket | None:
    """A connected socket to the X server, as libxcb tries them: on Linux
    the abstract socket first, then the path; TCP for ``host:N``."""
    if not where.local:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            return socket.create_connection((where.host, where.tcp_port), timeout=left)
        except OSError:
            return None
    if not hasattr(socket, "AF_UNIX"):
        return None
    addresses = [where.socket_path]
    if sys.platform.startswith("linux"):
        addresses.insert(0, "\0" + where.socket_path)
    for address in addresses:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            if not _set_timeout(sock, deadline):
                sock.close()
                return None
            sock.connect(address)
            return sock
        except OSError:
            sock.close()
    return None


def _packed_peer(sock: socket.socket) -> bytes:
    host = sock.getpeername()[0].split("%", 1)[0]
    return socket.inet_pton(sock.family, host)


def _xauthority_entries() -> list[x11_wire.XauthEntry]:
    """The entries of the file libXau reads: ``$XAUTHORITY`` when set (even
    empty), else ``$HOME/.Xauthority``; none when it cannot be read."""
    from . import x11_wire

    path = os.environ.get("XAUTHORITY")
    if path is None:
        home = os.environ.get("HOME")
        if not home:
            return []
        path = os.path.join(home, ".Xauthority")
    try:
        with open(path, "rb") as f:
            data = f.read(_XAUTHORITY_MAX)
    except OSError:
        return []
    return x11_wire.parse_xauthority(data)


def xembed_tray_present_libx11(display: str | None = None) -> bool:
    """The same question asked through libX11 (``XOpenDisplay``, which also
    reads the Xauthority file, then ``XInternAtom`` and
    ``XGetSelectionOwner``): the reference answer, and the fallback."""
    import ctypes

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
