"""Start at login on Windows: the per-user Run key.

``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``, value
``Parsec Tray`` (REG_SZ), the command line quoted the way the C runtime
splits it (``subprocess.list2cmdline``; the tests check it with an
independent splitter).  Task Manager's "Startup" tab can turn an entry off
without removing it: it writes a binary value of the same name under
``...\\Explorer\\StartupApproved\\Run`` whose first byte is odd when off.
``is_enabled`` reads both; ``enable`` removes that override (the person asked
for it again); ``disable`` removes both.

``winreg`` exists only on Windows: importing this module elsewhere works,
the backend says ``SUPPORTED = False`` and refuses with a sentence.  The
registry is reached through a small seam (``registry=``) so that the logic is
tested on any OS.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import Any, Protocol

from ..i18n import _
from ._base import Autostart, AutostartError, autostart_argv

winreg: Any
try:
    import winreg
except ImportError:  # not Windows
    winreg = None

__all__ = ["APPROVED_KEY", "RUN_KEY", "VALUE_NAME", "Registry", "WindowsAutostart", "WinregRegistry"]

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
VALUE_NAME = "Parsec Tray"


class Registry(Protocol):
    """The few HKEY_CURRENT_USER operations this backend needs."""

    def get(self, key: str, name: str) -> Any | None: ...  # the value, or None if absent

    def set_string(self, key: str, name: str, value: str) -> None: ...

    def delete(self, key: str, name: str) -> None: ...  # absent is fine


class WinregRegistry:
    def __init__(self) -> None:
        if winreg is None:
            raise AutostartError(_("The Windows registry is only available on Windows."))
        self._w: Any = winreg

    def get(self, key: str, name: str) -> Any | None:
        w = self._w
        try:
            with w.OpenKey(w.HKEY_CURRENT_USER, key, 0, w.KEY_READ) as k:
                return w.QueryValueEx(k, name)[0]
        except FileNotFoundError:
            return None

    def set_string(self, key: str, name: str, value: str) -> None:
        w = self._w
        with w.CreateKeyEx(w.HKEY_CURRENT_USER, key, 0, w.KEY_SET_VALUE) as k:
            w.SetValueEx(k, name, 0, w.REG_SZ, value)

    def delete(self, key: str, name: str) -> None:
        w = self._w
        try:
            with w.OpenKey(w.HKEY_CURRENT_USER, key, 0, w.KEY_SET_VALUE) as k:
                w.DeleteValue(k, name)
        except FileNotFoundError:
            pass


def command_line(command: Sequence[str]) -> str:
    return subprocess.list2cmdline(autostart_argv(command))


class WindowsAutostart(Autostart):
    SUPPORTED = winreg is not None
    name = "windows"

    def __init__(self, registry: Registry | None = None) -> None:
        self._registry = registry

    def _reg(self) -> Registry:
        if self._registry is None:
            self._registry = WinregRegistry()  # raises AutostartError off Windows
        return self._registry

    def _translate(self, action: str, exc: OSError) -> AutostartError:
        text = (
            _("Could not turn on start at login in the Windows registry: {reason}.")
            if action == "turn on"
            else _("Could not turn off start at login in the Windows registry: {reason}.")
        )
        return AutostartError(
            text.format(reason=exc.strerror or exc),
            hint=_("Check that your account may change {key}.").format(key="HKEY_CURRENT_USER\\" + RUN_KEY),
        )

    def is_enabled(self) -> bool:
        if self._registry is None and winreg is None:
            return False
        try:
            value = self._reg().get(RUN_KEY, VALUE_NAME)
            if not isinstance(value, str) or not value.strip():
                return False
            approved = self._reg().get(APPROVED_KEY, VALUE_NAME)
        except OSError:
            return False
        # Task Manager: 02 00.. (or 06) on, 03 00.. + a timestamp (or 07) off.
        return not (isinstance(approved, bytes | bytearray) and approved and approved[0] & 1)

    def enable(self, command: Sequence[str]) -> None:
        line = command_line(command)
        try:
            self._reg().set_string(RUN_KEY, VALUE_NAME, line)
            self._reg().delete(APPROVED_KEY, VALUE_NAME)
        except OSError as exc:
            raise self._translate("turn on", exc) from exc

    def disable(self) -> None:
        if self._registry is None and winreg is None:
            raise AutostartError(_("The Windows registry is only available on Windows."))
        try:
            self._reg().delete(RUN_KEY, VALUE_NAME)
            self._reg().delete(APPROVED_KEY, VALUE_NAME)
        except OSError as exc:
            raise self._translate("turn off", exc) from exc
