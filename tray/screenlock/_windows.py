"""The screen lock on Windows: ``WM_WTSSESSION_CHANGE`` (``WTS_SESSION_LOCK``
/ ``WTS_SESSION_UNLOCK``) delivered to a message-only window registered with
``WTSRegisterSessionNotification``, in a thread of its own running the
window's message loop.

Written from the Win32 documentation (wtsapi32, user32) and imported only on
Windows; it is not exercised by the Linux test suite.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ._base import OnChange, ScreenLockMonitor

__all__ = ["WindowsScreenLock"]

log = logging.getLogger("parsec_tray.screenlock")

WM_WTSSESSION_CHANGE = 0x02B1
WM_QUIT = 0x0012
WTS_SESSION_LOCK = 0x7
WTS_SESSION_UNLOCK = 0x8
NOTIFY_FOR_THIS_SESSION = 0
HWND_MESSAGE = -3


class WindowsScreenLock(ScreenLockMonitor):
    name = "windows"

    def __init__(self) -> None:
        super().__init__()
        self._thread: threading.Thread | None = None
        self._thread_id = 0
        self._ready = threading.Event()

    def start(self, on_change: OnChange) -> bool:
        super().start(on_change)
        try:
            import ctypes  # noqa: F401
            from ctypes import wintypes  # noqa: F401
        except (ImportError, ValueError) as exc:
            self.reason = f"the Windows API is not available ({exc})"
            return False
        self._thread = threading.Thread(target=self._loop, name="parsec-tray-screenlock", daemon=True)
        self._thread.start()
        self._ready.wait(5)
        return not self.reason

    def _loop(self) -> None:
        import ctypes
        from ctypes import wintypes

        user32: Any = ctypes.windll.user32  # type: ignore[attr-defined]
        kernel32: Any = ctypes.windll.kernel32  # type: ignore[attr-defined]
        wtsapi32: Any = ctypes.windll.wtsapi32  # type: ignore[attr-defined]
        wndproc_type = ctypes.WINFUNCTYPE(  # type: ignore[attr-defined]
            ctypes.c_ssize_t, wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM
        )

        def wndproc(hwnd: Any, msg: int, wparam: int, lparam: int) -> int:
            if msg == WM_WTSSESSION_CHANGE:
                if wparam == WTS_SESSION_LOCK:
                    self._feed("wts", True)
                elif wparam == WTS_SESSION_UNLOCK:
                    self._feed("wts", False)
                return 0
            return int(user32.DefWindowProcW(hwnd, msg, wparam, lparam))

        class WNDCLASS(ctypes.Structure):
            _fields_ = [
                ("style", wintypes.UINT),
                ("lpfnWndProc", wndproc_type),
                ("cbClsExtra", ctypes.c_int),
                ("cbWndExtra", ctypes.c_int),
                ("hInstance", wintypes.HINSTANCE),
                ("hIcon", wintypes.HICON),
                ("hCursor", wintypes.HANDLE),
                ("hbrBackground", wintypes.HBRUSH),
                ("lpszMenuName", wintypes.LPCWSTR),
                ("lpszClassName", wintypes.LPCWSTR),
            ]

        proc = wndproc_type(wndproc)
        wc = WNDCLASS()
        wc.lpfnWndProc = proc
        wc.hInstance = kernel32.GetModuleHandleW(None)
        wc.lpszClassName = "ParsecTrayScreenLock"
        self._thread_id = kernel32.GetCurrentThreadId()
        hwnd = None
        try:
            user32.RegisterClassW(ctypes.byref(wc))
            hwnd = user32.CreateWindowExW(
                0, wc.lpszClassName, "", 0, 0, 0, 0, 0, HWND_MESSAGE, None, wc.hInstance, None
            )
            if not hwnd or not wtsapi32.WTSRegisterSessionNotification(hwnd, NOTIFY_FOR_THIS_SESSION):
                self.reason = "Windows refused to report session changes"
                return
        finally:
            self._ready.set()
        msg = wintypes.MSG()
        try:
            while user32.GetMessageW(ctypes.byref(msg), None, 0, 0) > 0:
                user32.TranslateMessage(ctypes.byref(msg))
                user32.DispatchMessageW(ctypes.byref(msg))
        finally:
            wtsapi32.WTSUnRegisterSessionNotification(hwnd)
            user32.DestroyWindow(hwnd)

    def stop(self) -> None:
        super().stop()
        if self._thread is not None and self._thread_id:
            import ctypes

            ctypes.windll.user32.PostThreadMessageW(self._thread_id, WM_QUIT, 0, 0)  # type: ignore[attr-defined]
            self._thread.join(timeout=5)
            self._thread = None
