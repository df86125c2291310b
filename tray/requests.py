"""What other launches of ``parsec-tray`` ask the running app, over the
instance socket (:mod:`.instance`): one handler per ``cmd`` in
:data:`COMMANDS`.  Each gets the request and returns the reply (a JSON
object); ``AFTER_REPLY`` in a reply runs once it is sent."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import openers
from .instance import AFTER_REPLY
from .menu import to_json
from .validation import recovery_file_of

if TYPE_CHECKING:
    from .controller import Controller

__all__ = ["COMMANDS", "handle"]


def _status(c: Controller, req: dict[str, Any]) -> dict[str, Any]:
    return c.snapshot().status_json()


def _menu(c: Controller, req: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "entries": to_json(c.menu())}


def _open(c: Controller, req: dict[str, Any]) -> dict[str, Any]:
    args = [a for a in req.get("args") or [] if isinstance(a, str)]
    links = [a for a in args if "://" in a or recovery_file_of(a) is not None]
    for link in links:
        openers.open_link(c, link)
    return {"ok": True, "opened": links}


def _action(c: Controller, req: dict[str, Any]) -> dict[str, Any]:
    try:
        c.perform(str(req.get("action")), req.get("arg"))
    except ValueError:
        return {"ok": False, "error": f"unknown action {req.get('action')!r}"}
    return {"ok": True}


def _quit(c: Controller, req: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, AFTER_REPLY: lambda: threading.Thread(target=c.quit, daemon=True).start()}


COMMANDS: dict[str, Callable[[Controller, dict[str, Any]], dict[str, Any]]] = {
    "status": _status,
    "menu": _menu,
    "open": _open,
    "action": _action,
    "quit": _quit,
}


def handle(c: Controller, req: dict[str, Any]) -> dict[str, Any]:
    handler = COMMANDS.get(str(req.get("cmd")))
    if handler is None:
        return {"ok": False, "error": f"unknown command {req.get('cmd')!r}"}
    return handler(c, req)
