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

from ..core.errors import (
    CliError,
    ClockOutOfSyncError,
    IncompatibleServerError,
    InvalidValueError,
    KeyringError,
    OrganizationExpiredError,
    OrganizationNotFoundError,
    ParsecTrayError,
    ServerUnavailableError,
    ServerUnreachableError,
    TosNotAcceptedError,
    UserFrozenError,
    UserRevokedError,
)

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXIT_STATUSES",
    "CliError",
    "add_common_options",
    "created_text",
    "emit",
    "emit_created",
    "exit_status",
    "exit_status_help",
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

# The server's refusals, each its own exit status (most specific class
# first: ClockOutOfSyncError is an AuthenticationError too).
EXIT_STATUSES: tuple[tuple[type[ParsecTrayError], int, str], ...] = (
    (ServerUnreachableError, 4, "the server cannot be reached (or is unavailable)"),
    (ServerUnavailableError, 4, ""),
    (OrganizationNotFoundError, 10, "the organization does not exist on the server"),
    (OrganizationExpiredError, 11, "the organization has expired"),
    (UserRevokedError, 12, "your user was revoked from the organization"),
    (UserFrozenError, 13, "your user is frozen by an administrator"),
    (TosNotAcceptedError, 14, "new terms of service wait to be accepted (parsec-tray terms --accept)"),
    (ClockOutOfSyncError, 15, "this computer's clock is too far from the server's"),
    (IncompatibleServerError, 16, "the server speaks no API version this app speaks"),
)


def exit_status(exc: ParsecTrayError) -> int:
    """The exit status of a command that failed with ``exc``."""
    for cls, status, _what in EXIT_STATUSES:
        if isinstance(exc, cls):
            return status
    return EXIT_ERROR


def exit_status_help() -> str:
    lines = [
        "exit status:",
        f"  {EXIT_OK:<3} done",
        f"  {EXIT_ERROR:<3} failed (one sentence on stderr says why)",
        f"  {EXIT_USAGE:<3} wrong usage",
        "  3   status: the tray app is not running",
    ]
    lines += [f"  {status:<3} {what}" for _cls, status, what in EXIT_STATUSES if what]
    lines.append(f"  {EXIT_INTERRUPTED:<3} interrupted")
    return "\n".join(lines)


def read_password(
    args: argparse.Namespace,
    *,
    confirm: bool,
    stdin: TextIO | None = None,
    prompt: str = "Password: ",
    what: str = "password",
) -> str:
    """One secret: the next line of stdin with ``--password-stdin``, else
    asked on the terminal (twice when ``confirm``)."""
    stdin = stdin or sys.stdin
    if args.password_stdin:
        line = stdin.readline()
        if not line:
            raise CliError(f"--password-stdin was given but standard input has no line left for the {what}.")
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
        if not password:
            raise InvalidValueError(f"The {what} read from standard input is empty.", field="password")
        return password
    if not stdin.isatty():
        raise CliError(f"No terminal to ask the {what} on; pass it on standard input with --password-stdin.")
    password = getpass.getpass(prompt)
    if not password:
        raise InvalidValueError(f"The {what} cannot be empty.", field="password")
    if confirm:
        print(
            "This password encrypts the device's keys on this computer. If it is lost, the keys"
            " cannot be recovered: keep it safe, and add a second device or a recovery file.",
            file=sys.stderr,
        )
        if getpass.getpass(f"{prompt.rstrip(': ')} (again): ") != password:
            raise InvalidValueError("The two passwords differ; nothing was created.", field="password")
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
        from ..core import keyring_available

        if args.password_stdin:
            raise CliError(
                "--keyring and --password-stdin exclude each other: the keyring needs no password."
            )
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


def emit_created(args: argparse.Namespace, created: Any) -> None:
    """Print a new device (``create-org --json``'s object) and close its session."""
    if created.session is not None:
        created.session.close()
    emit(args, created.to_json(), created_text(created))


def open_session(args: argparse.Namespace, **login_options: Any) -> tuple[Any, Any]:
    """Find the device named by --device and log in to it (``login_options``
    go to ``login``)."""
    from ..core import find_device, login

    info = find_device(args.device)
    if info.protection == "password":
        if not args.password_stdin and sys.stdin.isatty():
            print(f"Logging in to {info.describe()}", file=sys.stderr)
        password: str | None = read_password(args, confirm=False)
    else:
        password = None
    login_options.setdefault("allow_slow_kdf", getattr(args, "allow_slow_kdf", False))
    return info, login(info, password=password, progress=progress(args), **login_options)


def subparser(sub: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(name, **kwargs)
    # Also accepted after the subcommand; SUPPRESS keeps a --debug given
    # before it.
    p.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks and debug logs"
    )
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
