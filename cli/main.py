"""The ``parsec-tray`` command, and ``python -m parsec_tray``.

    parsec-tray [--backend B] [--autostart] [LINK]   the tray app (or hand LINK to the running one)
    parsec-tray status [--json]                      ask the running app for its state
    parsec-tray demo                                 a local Parsec server and the tray pointed at it
    parsec-tray create-org | bootstrap | devices | login | invite-user | ...

One parser: each module of :data:`COMMAND_MODULES` adds its subcommands
with ``register(sub)``.  Starting the tray (the common case, and the one
whose start time counts) is recognised by hand, builds no parser and
imports nothing of core; no module here imports a GUI toolkit or anything
heavy at import time.
"""

from __future__ import annotations

import importlib
import logging
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .tray import BACKEND_CHOICES, EXIT_NOT_RUNNING

if TYPE_CHECKING:
    import argparse

__all__ = ["COMMAND_MODULES", "EXIT_NOT_RUNNING", "build_parser", "gui_main", "main", "run"]

# Each names a module of this package with a ``register(sub)``; the order is
# the order of ``--help``.
COMMAND_MODULES = (
    "organizations",
    "invitations",
    "greeting",
    "members",
    "recovery",
    "tray",
)


def _is_link(arg: str) -> bool:
    # A recovery file too (the desktop entry hands it over as a path or a file:// URI).
    return ("://" in arg or arg.lower().endswith(".psrk")) and not arg.startswith("-")


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("parsec-tray")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


def build_parser(prog: str = "parsec-tray") -> argparse.ArgumentParser:
    import argparse

    from ..core.i18n import _
    from .common import add_common_options, exit_status_help
    from .tray import cmd_tray, tray_options

    parser = argparse.ArgumentParser(
        prog=prog,
        description=_(
            "Parsec Tray: a system-tray client for Parsec v3. Without a command, starts the tray app "
            "(a parsec3:// link as the only argument is handed to it)."
        ),
        epilog=exit_status_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_options(parser)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    tray_options(parser)
    parser.add_argument(
        "--autostart",
        action="store_true",
        help=_(
            "started at login: log in to the last used device (without a prompt when the OS keyring has it)"
        ),
    )
    parser.set_defaults(func=cmd_tray)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{name}").register(sub)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run a parsed command; every error becomes one line on stderr."""
    from ..core.errors import ParsecTrayError
    from ..core.i18n import _
    from .common import EXIT_ERROR, EXIT_INTERRUPTED, exit_status, print_error

    debug = getattr(args, "debug", False)
    _interrupt_on_sigterm()
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except ParsecTrayError as exc:
        if debug:
            traceback.print_exc()
        print_error(exc)
        return exit_status(exc)
    except KeyboardInterrupt:
        print(_("Interrupted; nothing was saved."), file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_ERROR
    except Exception as exc:  # a bug: still one sentence, traceback with --debug
        if debug:
            traceback.print_exc()
        print_error(
            _("unexpected {error}; run again with --debug for details and report it.").format(
                error=type(exc).__name__
            )
        )
        return EXIT_ERROR


def _interrupt_on_sigterm() -> None:
    """SIGTERM stops a command like Ctrl-C: its cleanup runs (a temporary
    file removed, a pending device file kept) instead of an abrupt end."""
    import signal
    import threading

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


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
    from ..tray.app import run

    try:
        return int(run(link, backend=backend, autostart=autostart))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from ..core.errors import ParsecTrayError
        from ..core.i18n import _
        from .common import print_error

        if debug:
            import traceback

            traceback.print_exc()
        if isinstance(exc, ParsecTrayError):
            print_error(exc)
        else:
            print_error(
                _("unexpected {error}; run again with --debug and report it.").format(
                    error=type(exc).__name__
                )
            )
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    launch = _app_launch(argv)
    if launch is not None:
        return _run_app(*launch)
    return run(build_parser().parse_args(argv))


def gui_main() -> int:
    return main()


if __name__ == "__main__":
    sys.exit(main())
