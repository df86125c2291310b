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
from collections.abc import Callable, Iterable, Sequence
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
from ..core.i18n import N_, _

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
    "check_keyring",
    "exit_status_help",
    "profile_name",
    "json_option",
    "keyring_option",
    "login_options",
    "new_device_password",
    "admin_token",
    "open_session",
    "print_error",
    "print_table",
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
    (ServerUnreachableError, 4, N_("the server cannot be reached (or is unavailable)")),
    (ServerUnavailableError, 4, ""),
    (OrganizationNotFoundError, 10, N_("the organization does not exist on the server")),
    (OrganizationExpiredError, 11, N_("the organization has expired")),
    (UserRevokedError, 12, N_("your user was revoked from the organization")),
    (UserFrozenError, 13, N_("your user is frozen by an administrator")),
    (TosNotAcceptedError, 14, N_("new terms of service wait to be accepted (parsec-tray terms --accept)")),
    (ClockOutOfSyncError, 15, N_("this computer's clock is too far from the server's")),
    (IncompatibleServerError, 16, N_("the server speaks no API version this app speaks")),
)


def exit_status(exc: ParsecTrayError) -> int:
    """The exit status of a command that failed with ``exc``."""
    for cls, status, _what in EXIT_STATUSES:
        if isinstance(exc, cls):
            return status
    return EXIT_ERROR


def exit_status_help() -> str:
    from .tray import EXIT_NOT_RUNNING

    rows = [
        (EXIT_OK, _("done")),
        (EXIT_ERROR, _("failed (one sentence on stderr says why)")),
        (EXIT_USAGE, _("wrong usage")),
        (EXIT_NOT_RUNNING, _("status: the tray app is not running")),
    ]
    rows += [(status, _(what)) for _cls, status, what in EXIT_STATUSES if what]
    rows.append((EXIT_INTERRUPTED, _("interrupted")))
    return "\n".join([_("exit status:"), *(f"  {status:<3} {what}" for status, what in rows)])


def print_error(error: object) -> None:
    """The one line on stderr of a command that failed."""
    print(_("Error: {message}").format(message=error), file=sys.stderr)


def read_password(
    args: argparse.Namespace,
    *,
    confirm: bool,
    stdin: TextIO | None = None,
    prompt: str = N_("Password: "),
    what: str = N_("password"),
) -> str:
    """One secret: the next line of stdin with ``--password-stdin``, else
    asked on the terminal (twice when ``confirm``).  ``prompt`` and ``what``
    are marked with ``N_``, translated here."""
    stdin = stdin or sys.stdin
    prompt, what = _(prompt), _(what)
    if args.password_stdin:
        line = stdin.readline()
        if not line:
            raise CliError(
                _("--password-stdin was given but standard input has no line left for the {what}.").format(
                    what=what
                )
            )
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
        if not password:
            raise InvalidValueError(_("The {what} read from standard input is empty.").format(what=what), field="password")
        return password
    if not stdin.isatty():
        raise CliError(
            _("No terminal to ask the {what} on; pass it on standard input with --password-stdin.").format(
                what=what
            )
        )
    password = getpass.getpass(prompt)
    if not password:
        raise InvalidValueError(_("The {what} cannot be empty.").format(what=what), field="password")
    if confirm:
        print(
            _(
                "This password encrypts the device's keys on this computer. If it is lost, the keys"
                " cannot be recovered: keep it safe, and add a second device or a recovery file."
            ),
            file=sys.stderr,
        )
        if getpass.getpass(_("{prompt} (again): ").format(prompt=prompt.rstrip(": "))) != password:
            raise InvalidValueError(_("The two passwords differ; nothing was created."), field="password")
    return password


MAX_SECRET_FILE = 4096
ADMIN_TOKEN_ENV = "PARSEC_TRAY_ADMIN_TOKEN"


def read_secret_file(path: str, what: str) -> str:
    """The secret in the file ``path`` (one line, surrounding white space
    dropped), refused unless it is a regular file that only this user can
    read (other local users could have read the secret already).  ``what``
    is marked with ``N_``, translated here."""
    what = _(what)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise CliError(
            _("The {what} file {path} cannot be read ({reason}).").format(
                what=what, path=path, reason=exc.strerror
            )
        ) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CliError(_("The {what} file {path} is not a regular file.").format(what=what, path=path))
        if os.name == "posix" and (st.st_uid != os.getuid() or st.st_mode & 0o077):
            raise CliError(
                _(
                    "The {what} file {path} can be read by other users of this computer; it was not used."
                ).format(what=what, path=path),
                hint=_("Make it yours and private first: chmod 600 {path}").format(path=path),
            )
        raw = os.read(fd, MAX_SECRET_FILE + 1)
    finally:
        os.close(fd)
    if len(raw) > MAX_SECRET_FILE:
        raise CliError(
            _("The {what} file {path} is too large to hold a {what}.").format(what=what, path=path)
        )
    try:
        secret = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise CliError(_("The {what} file {path} is not text.").format(what=what, path=path)) from None
    if not secret:
        raise CliError(_("The {what} file {path} is empty.").format(what=what, path=path))
    return secret


def admin_token(args: argparse.Namespace) -> str | None:
    """The administration token: ``--admin-token-file``, then
    ``$PARSEC_TRAY_ADMIN_TOKEN``; ``--admin-token`` still works but every
    local user can read it in the process list, so it warns."""
    given = getattr(args, "admin_token", None)
    path = getattr(args, "admin_token_file", None)
    if given and path:
        raise CliError(_("--admin-token and --admin-token-file exclude each other."))
    if path:
        return read_secret_file(path, N_("administration token"))
    if given:
        print(
            _(
                "Warning: --admin-token is visible to other users of this computer (in the process list); "
                "use --admin-token-file FILE or ${variable} instead."
            ).format(variable=ADMIN_TOKEN_ENV),
            file=sys.stderr,
        )
        return str(given)
    return os.environ.get(ADMIN_TOKEN_ENV, "").strip() or None


def new_device_password(args: argparse.Namespace) -> str | None:
    """The new device's password, or None when it goes to the OS keyring."""
    if args.keyring:
        if args.password_stdin:
            raise CliError(
                _("--keyring and --password-stdin exclude each other: the keyring needs no password.")
            )
        check_keyring()
        return None
    return read_password(args, confirm=True)


def check_keyring() -> None:
    """Refuses ``--keyring`` where the OS keyring cannot be used."""
    from ..core import keyring_available

    if not keyring_available():
        raise KeyringError(
            _("The OS keyring cannot be used on this computer."),
            hint=_("Drop --keyring to protect the device with a password."),
        )


PROFILE_NAMES = {"standard": N_("standard"), "admin": N_("admin"), "outsider": N_("outsider")}


def profile_name(profile: Any) -> str:
    """A ``UserProfile`` in words (``standard``, ``admin``, ``outsider`` in English)."""
    value = str(profile.value).lower()
    return _(PROFILE_NAMES[value]) if value in PROFILE_NAMES else value


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


def print_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Rows under their column headers, each column as wide as its widest cell."""
    table = [list(header), *([str(c) for c in r] for r in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    print("\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table))


def created_text(created: Any) -> str:
    text: str = _(
        "Organization {org} is ready and you are logged in.\n"
        "Device file: {device_file}\n"
        "Organization address (share it with the official client): {url}\n"
        "Keys lost = data lost: add a second device or create a recovery file soon."
    ).format(org=created.organization_id, device_file=created.device_file, url=created.organization_url)
    return text


def emit_created(args: argparse.Namespace, created: Any) -> None:
    """Print a new device (``create-org --json``'s object) and close its session."""
    if created.session is not None:
        created.session.close()
    emit(args, created.to_json(), created_text(created))


def open_session(args: argparse.Namespace, **login_options: Any) -> tuple[Any, Any]:
    """Find the device named by --device and log in to it (``login_options``
    go to ``login``)."""
    from ..core import Protection, find_device, login

    info = find_device(args.device)
    if info.protection == Protection.PASSWORD:
        if not args.password_stdin and sys.stdin.isatty():
            print(_("Logging in to {device}").format(device=info.describe()), file=sys.stderr)
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
        "--debug", action="store_true", default=argparse.SUPPRESS, help=_("show tracebacks and debug logs")
    )
    return p


def login_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", help=_("device ID, a unique prefix of one, or the path of its device file"))
    p.add_argument("--password-stdin", action="store_true", help=_("read the password as one line of stdin"))
    p.add_argument(
        "--allow-slow-kdf",
        action="store_true",
        help=_("open a device file whose password check costs more than 8 times Parsec's default"),
    )
    json_option(p)


def json_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help=_("print the result as JSON (for scripts)"))


def keyring_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--keyring", action="store_true", help=_("protect the device with the OS keyring, not a password")
    )


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true", help=_("show tracebacks and debug logs"))
