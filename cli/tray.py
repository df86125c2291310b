"""The tray app's own commands: start it (no subcommand), ``status`` and
``demo``.  Nothing here imports a GUI toolkit until a command runs, nor
argparse: starting the tray (``cli.main``'s fast path) imports this module
for its constants only."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

__all__ = ["BACKEND_CHOICES", "EXIT_NOT_RUNNING", "register", "tray_options"]

EXIT_NOT_RUNNING = 3
BACKEND_CHOICES = ("gtk", "appindicator", "win32", "darwin", "xorg", "window")


def cmd_tray(args: argparse.Namespace) -> int:
    from ..tray.app import run

    return int(
        run(
            getattr(args, "link", None),
            backend=args.backend,
            autostart=bool(getattr(args, "autostart", False)),
        )
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from ..tray.demo import run_demo

    return int(run_demo(backend=args.backend, keep=args.keep))


def _status_text(st: dict[str, Any]) -> str:
    from ..core.i18n import N_, _

    state = str(st.get("state"))
    if state == "logged_out":
        return str(_("Parsec Tray is running: not logged in."))
    states = {
        "connecting": N_("connecting"),
        "online": N_("online"),
        "offline": N_("offline"),
        "needs_attention": N_("needs attention"),
    }
    def in_words(state: str) -> str:
        return str(_(states[state])) if state in states else state.replace("_", " ")

    facts = {
        "state": in_words(state),
        "org": st.get("organization_id"),
        "who": st.get("user_name") or st.get("email") or st.get("user_id"),
        "device": st.get("device_label"),
        "server": st.get("server_url"),
    }
    line: str  # (core's types do not reach cli/ under mypy's files = core, cli)
    if facts["device"]:
        line = _("Parsec Tray is running: {state}, {org} as {who} on {device} ({server}).").format(**facts)
    else:
        line = _("Parsec Tray is running: {state}, {org} as {who} ({server}).").format(**facts)
    if st.get("reason"):
        line += f"\n{st['reason']}"
    for other in st.get("sessions") or ():
        if other.get("device_id") != st.get("device_id"):
            also = _("Also logged in to {org}: {state}.")
            line += "\n" + also.format(
                org=other.get("organization_id"), state=in_words(str(other.get("state")))
            )
    return line


def cmd_status(args: argparse.Namespace) -> int:
    import json

    from ..core.i18n import _
    from ..tray.instance import NotRunning, request

    try:
        st = request({"cmd": "status"}, timeout=5)
    except NotRunning:
        if args.json:
            print(json.dumps({"running": False, "state": None}))
        else:
            print(_("Parsec Tray is not running."), file=sys.stderr)
        return EXIT_NOT_RUNNING
    keys = ("running", "state", "organization_id", "user_id", "device_id", "server_url")
    if args.json:
        out = {k: st.get(k) for k in keys}
        out.update({k: v for k, v in st.items() if k not in keys})
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(_status_text(st))
    return 0


def tray_options(p: argparse.ArgumentParser) -> None:
    from ..core.i18n import _

    p.add_argument(
        "--backend",
        choices=BACKEND_CHOICES,
        default=None,
        help=_("how to show the menu (default: chosen for this desktop; env PARSEC_TRAY_BACKEND)"),
    )


def register(sub: Any) -> None:
    """Add ``status`` and ``demo``."""
    import argparse

    from ..core.i18n import _

    p = sub.add_parser("status", help=_("the running app's state (exit status 3 when it is not running)"))
    p.add_argument("--json", action="store_true", help=_("one JSON object"))
    p.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help=_("show tracebacks and debug logs")
    )
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "demo", help=_("start a local Parsec server (parsec-cloud) and the tray pointed at it")
    )
    tray_options(p)
    p.add_argument("--keep", action="store_true", help=_("keep the demo's temporary files"))
    p.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help=_("show tracebacks and debug logs")
    )
    p.set_defaults(func=cmd_demo)
