"""What every command of the CLI shares: reading secrets, printing results
(a sentence, or one JSON object with ``--json``), progress on a terminal,
the options every subcommand takes, and logging in to ``--device``.

Exit statuses: 0 done, 1 failed (one sentence on stderr), 2 usage, 130
interrupted.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from ..core.errors import CliError, InvalidValueError, KeyringError

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliError",
    "add_common_options",
    "created_text",
    "emit",
    "login_options",
    "new_device_password",
    "open_session",
    "progress",
    "read_password",
    "subparser",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def read_password(args: argparse.Namespace, *, confirm: bool, stdin: TextIO | None = None) -> str:
    stdin = stdin or sys.stdin
    if args.password_stdin:
        line = stdin.readline()
        if not line:
            raise CliError("--password-stdin was given but standard input is empty.")
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
        if not password:
            raise InvalidValueError("The password read from standard input is empty.", field="password")
        return password
    if not stdin.isatty():
        raise CliError("No terminal to ask the password on; pass it on standard input with --password-stdin.")
    password = getpass.getpass("Password: ")
    if not password:
        raise InvalidValueError("The password cannot be empty.", field="password")
    if confirm:
        print(
            "This password encrypts the device's keys on this computer. If it is lost, the keys"
            " cannot be recovered: keep it safe, and add a second device or a recovery file.",
            file=sys.stderr,
        )
        if getpass.getpass("Password (again): ") != password:
            raise InvalidValueError("The two passwords differ; nothing was created.", field="password")
    return password


def new_device_password(args: argparse.Namespace) -> str | None:
    """The new device's password, or None when it goes to the OS keyring."""
    if args.keyring:
        from ..core import keyring_available

        if args.password_stdin:
            raise CliError("--keyring and --password-stdin exclude each other: the keyring needs no password.")
        if not keyring_available():
            raise KeyringError(
                "The OS keyring cannot be used on this computer.",
                hint="Drop --keyring to protect the device with a password.",
            )
        return None
    return read_password(args, confirm=True)


def progress(args: argparse.Namespace) -> Callable[[str], None]:
    if getattr(args, "json", False) or not sys.stderr.isatty():
        return lambda _msg: None
    return lambda msg: print(msg, file=sys.stderr, flush=True)


def emit(args: argparse.Namespace, obj: Any, text: str) -> None:
    if args.json:
        json.dump(obj, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(text)
    sys.stdout.flush()


def created_text(created: Any) -> str:
    return (
        f"Organization {created.organization_id} is ready and you are logged in.\n"
        f"Device file: {created.device_file}\n"
        f"Organization address (share it with the official client): {created.organization_url}\n"
        "Keys lost = data lost: add a second device or create a recovery file soon."
    )


def open_session(args: argparse.Namespace) -> tuple[Any, Any]:
    """Find the device named by --device and log in to it."""
    from ..core import find_device, login

    info = find_device(args.device)
    if info.protection == "password":
        if not args.password_stdin and sys.stdin.isatty():
            print(f"Logging in to {info.describe()}", file=sys.stderr)
        password: str | None = read_password(args, confirm=False)
    else:
        password = None
    return info, login(info, password=password, progress=progress(args))


def subparser(sub: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(name, **kwargs)
    # Also accepted after the subcommand; SUPPRESS keeps a --debug given
    # before it.
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks and debug logs")
    return p


def login_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", help="device id, unique prefix of one, or path to a .keys file")
    p.add_argument("--password-stdin", action="store_true")
    p.add_argument("--json", action="store_true")


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")


