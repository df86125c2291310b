"""The app's options: what the command line and the environment set once,
at start (servers, timings); what the person changes lives in :mod:`.settings`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["AppOptions"]


@dataclass(frozen=True)
class AppOptions:
    """Where devices live is core's business (``PARSEC_BASE_CONFIG_DIR``)."""

    default_server: str | None = None
    admin_token: str | None = None
    demo_server: str | None = None
    # Started at login (``--autostart``): log in at once to the devices that
    # were logged in when the app last quit.
    autostart: bool = False
    # While online without an event stream, opening the menu checks the
    # server at most this often (seconds).  No timer ever runs: an idle tray
    # uses no CPU.
    check_interval: float = 60.0
    # The longest wait between two reconnections of an event stream
    # (seconds; None: the stream's own default).
    reconnect_max: float | None = None
    # After a refusal that may end by itself (frozen, expired, organization
    # not found, terms of service), the first retry waits this long
    # (seconds), each next one twice as long, up to ``refusal_retry_max``.
    refusal_retry: float = 60.0
    refusal_retry_max: float = 1800.0

    @classmethod
    def from_environment(cls, env: Mapping[str, str], **fields: Any) -> AppOptions:
        """``fields``, and the two timings the environment may override
        (``PARSEC_TRAY_CHECK_INTERVAL``, ``PARSEC_TRAY_BACKOFF_MAX``,
        ``PARSEC_TRAY_REFUSAL_RETRY``: the end-to-end tests make them short)."""
        timings: dict[str, Any] = {}
        if env.get("PARSEC_TRAY_REFUSAL_RETRY"):
            timings["refusal_retry"] = float(env["PARSEC_TRAY_REFUSAL_RETRY"])
        if env.get("PARSEC_TRAY_CHECK_INTERVAL"):
            timings["check_interval"] = float(env["PARSEC_TRAY_CHECK_INTERVAL"])
        if env.get("PARSEC_TRAY_BACKOFF_MAX"):
            timings["reconnect_max"] = float(env["PARSEC_TRAY_BACKOFF_MAX"])
        return cls(**{**timings, **fields})
