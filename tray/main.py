"""The ``parsec-tray`` command.

    parsec-tray [--backend B] [LINK]   the tray app (or hand LINK to the running one)
    parsec-tray status [--json]        ask the running app for its state
    parsec-tray demo                   a local Parsec server and the tray pointed at it
    parsec-tray create-org | bootstrap | devices | login ...   the core CLI

The core subcommands come from ``parsec_tray.core.cli`` (``register`` and
``run``): same options, output and exit codes.  This module imports no GUI
toolkit and nothing heavy at import time: the CLI starts fast and works
without a display; the app's modules are imported only to run it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

__all__ = ["EXIT_NOT_RUNNING", "build_parser", "gui_main", "main"]

EXIT_NOT_RUNNING = 3
BACKEND_CHOICES = ("gtk", "appindicator", "win32", "darwin", "xorg", "window")


def _is_link(arg: str) -> bool:
    return "://" in arg and not arg.startswith("-")


def cmd_tray(args: argparse.Namespace) -> int:
    from .app import run

    return run(
        getattr(args, "link", None), backend=args.backend, autostart=bool(getattr(args, "autostart", False))
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(backend=args.backend, keep=args.keep)


def _status_text(st: dict[str, Any]) -> str:
    state = str(st.get("state"))
    if state == "logged_out":
        return "Parsec Tray is running: not logged in."
    who = st.get("user_name") or st.get("email") or st.get("user_id")
    line = f"Parsec Tray is running: {state.replace('_', ' ')}, {st.get('organization_id')} as {who}"
    if st.get("device_label"):
        line += f" on {st['device_label']}"
    line += f" ({st.get('server_url')})."
    if st.get("reason"):
        line += f"\n{st['reason']}"
    return line


def cmd_status(args: argparse.Namespace) -> int:
    import json

    from .instance import NotRunning, request

    try:
        st = request({"cmd": "status"}, timeout=5)
    except NotRunning:
        if args.json:
            print(json.dumps({"running": False, "state": None}))
        else:
            print("Parsec Tray is not running.", file=sys.stderr)
        return EXIT_NOT_RUNNING
    keys = ("running", "state", "organization_id", "user_id", "device_id", "server_url")
    if args.json:
        out = {k: st.get(k) for k in keys}
        out.update({k: v for k, v in st.items() if k not in keys})
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(_status_text(st))
    return 0


def _tray_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend",
        choices=BACKEND_CHOICES,
        default=None,
        help="how to show the menu (default: chosen for this desktop; env PARSEC_TRAY_BACKEND)",
    )


def build_parser(prog: str = "parsec-tray") -> argparse.ArgumentParser:
    import argparse

    from ..core import cli as core_cli

    parser = argparse.ArgumentParser(
        prog=prog,
        description="Parsec Tray: a system-tray client for Parsec v3. Without a command, starts the tray app "
        "(a parsec3:// link as the only argument is handed to it).",
    )
    core_cli.add_common_options(parser)
    _tray_options(parser)
    parser.add_argument(
        "--autostart",
        action="store_true",
        help="started at login: log in to the last used device (without a prompt when the OS keyring has it)",
    )
    parser.set_defaults(func=cmd_tray)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    core_cli.register(sub)

    p = sub.add_parser("status", help="the running app's state (exit status 3 when it is not running)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("demo", help="start a local Parsec server (parsec-cloud) and the tray pointed at it")
    _tray_options(p)
    p.add_argument("--keep", action="store_true", help="keep the demo's temporary files")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_demo)
    return parser


def _app_launch(argv: Sequence[str]) -> tuple[bool, str | None, str | None, bool] | None:
    """``[--debug] [--autostart] [--backend B] [LINK]``, parsed by hand:
    starting the tray (the common case, and the one whose start time counts)
    builds no argparse subcommands and imports no core CLI.  ``None``:
    anything else."""
    debug, backend, link, autostart = False, None, None, False
    args = iter(argv)
    for arg in args:
        if arg == "--debug":
            debug = True
        elif arg == "--autostart":
            autostart = True
        elif arg == "--backend" or arg.startswith("--backend="):
            backend = arg.partition("=")[2] or next(args, "")
            if backend not in BACKEND_CHOICES:
                return None
        elif _is_link(arg) and link is None:
            link = arg
        else:
            return None
    return debug, backend, link, autostart


def _run_app(debug: bool, backend: str | None, link: str | None, autostart: bool = False) -> int:
    import logging

    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    from .app import run

    try:
        return run(link, backend=backend, autostart=autostart)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from ..core.errors import ParsecTrayError

        if debug:
            import traceback

            traceback.print_exc()
        if isinstance(exc, ParsecTrayError):
            print(f"Error: {exc}", file=sys.stderr)
        else:
            print(
                f"Error: unexpected {type(exc).__name__}; run again with --debug and report it.",
                file=sys.stderr,
            )
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    launch = _app_launch(argv)
    if launch is not None:
        return _run_app(*launch)
    from ..core import cli as core_cli

    return int(core_cli.run(build_parser().parse_args(argv)))


def gui_main() -> int:
    return main()


if __name__ == "__main__":
    sys.exit(main())
