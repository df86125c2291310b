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
import os
import stat
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
    "admin_token",
    "open_session",
    "progress",
    "read_password",
    "read_secret_file",
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
            raise InvalidValueError("The password read from standard input is empty.")
        return password
    if not stdin.isatty():
        raise CliError("No terminal to ask the password on; pass it on standard input with --password-stdin.")
    password = getpass.getpass("Password: ")
    if not password:
        raise InvalidValueError("The password cannot be empty.")
    if confirm:
        print(
            "This password encrypts the device's keys on this computer. If it is lost, the keys"
            " cannot be recovered: keep it safe, and add a second device or a recovery file.",
            file=sys.stderr,
        )
        if getpass.getpass("Password (again): ") != password:
            raise InvalidValueError("The two passwords differ; nothing was created.")
    return password


MAX_SECRET_FILE = 4096
ADMIN_TOKEN_ENV = "PARSEC_TRAY_ADMIN_TOKEN"


def read_secret_file(path: str, what: str) -> str:
    """The secret in the file ``path`` (one line, surrounding white space
    dropped), refused unless it is a regular file that only this user can
    read (other local users could have read the secret already)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise CliError(f"The {what} file {path} cannot be read ({exc.strerror}).") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CliError(f"The {what} file {path} is not a regular file.")
        if os.name == "posix" and (st.st_uid != os.getuid() or st.st_mode & 0o077):
            raise CliError(
                f"The {what} file {path} can be read by other users of this computer; it was not used.",
                hint=f"Make it yours and private first: chmod 600 {path}",
            )
        raw = os.read(fd, MAX_SECRET_FILE + 1)
    finally:
        os.close(fd)
    if len(raw) > MAX_SECRET_FILE:
        raise CliError(f"The {what} file {path} is too large to hold a {what}.")
    try:
        secret = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise CliError(f"The {what} file {path} is not text.") from None
    if not secret:
        raise CliError(f"The {what} file {path} is empty.")
    return secret


def admin_token(args: argparse.Namespace) -> str | None:
    """The administration token: ``--admin-token-file``, then
    ``$PARSEC_TRAY_ADMIN_TOKEN``; ``--admin-token`` still works but every
    local user can read it in the process list, so it warns."""
    given = getattr(args, "admin_token", None)
    path = getattr(args, "admin_token_file", None)
    if given and path:
        raise CliError("--admin-token and --admin-token-file exclude each other.")
    if path:
        return read_secret_file(path, "administration token")
    if given:
        print(
            "Warning: --admin-token is visible to other users of this computer (in the process list); "
            f"use --admin-token-file FILE or ${ADMIN_TOKEN_ENV} instead.",
            file=sys.stderr,
        )
        return str(given)
    return os.environ.get(ADMIN_TOKEN_ENV, "").strip() or None


def new_device_password(args: argparse.Namespace) -> str | None:
    """The new device's password, or None when it goes to the OS keyring."""
    if args.keyring:
        from ..core.keyring_store import keyring_available

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
    from ..core import api

    info = api.find_device(args.device)
    if info.protection == "password":
        if not args.password_stdin and sys.stdin.isatty():
            print(f"Logging in to {info.describe()}", file=sys.stderr)
        password: str | None = read_password(args, confirm=False)
    else:
        password = None
    return info, api.login(
        info, password=password, progress=progress(args), allow_slow_kdf=getattr(args, "allow_slow_kdf", False)
    )


def subparser(sub: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(name, **kwargs)
    # Also accepted after the subcommand; SUPPRESS keeps a --debug given
    # before it.
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks and debug logs")
    return p


def login_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", help="device id, unique prefix of one, or path to a .keys file")
    p.add_argument("--password-stdin", action="store_true")
    p.add_argument(
        "--allow-slow-kdf",
        action="store_true",
        help="open a device file whose password check costs more than 8 times Parsec's default",
    )
    p.add_argument("--json", action="store_true")


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")


