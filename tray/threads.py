"""Short-lived worker threads: flows (Argon2id, the network), pings and
lists run off the shell's loop, so the menu never waits for them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["in_thread"]


def in_thread(fn: Callable[..., Any], name: str, *args: Any) -> None:
    threading.Thread(target=fn, args=args, name=name, daemon=True).start()
