"""The command line: ``create-org``, ``bootstrap``, ``devices``, ``login``.

The contract (issue "Parsec-compatible core and CLI") is fixed: options,
JSON shapes, exit status ≠ 0 and one actionable sentence on stderr on any
failure, no traceback unless ``--debug``.  The tray's entry point
(``parsec_tray.tray.main``) adds its own subcommands around these through
:func:`register` and :func:`run`.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from .errors import InvalidValueError, KeyringError, OrganizationNotFoundError, ParsecTrayError

__all__ = ["build_parser", "main", "register", "run"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CliError(ParsecTrayError):
    pass


def _read_password(args: argparse.Namespace, *, confirm: bool, stdin: TextIO | None = None) -> str:
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


def _new_device_password(args: argparse.Namespace) -> str | None:
    """The new device's password, or None when it goes to the OS keyring."""
    if args.keyring:
        from .keyring_store import keyring_available

        if args.password_stdin:
            raise CliError("--keyring and --password-stdin exclude each other: the keyring needs no password.")
        if not keyring_available():
            raise KeyringError(
                "The OS keyring cannot be used on this computer.",
                hint="Drop --keyring to protect the device with a password.",
            )
        return None
    return _read_password(args, confirm=True)


def _progress(args: argparse.Namespace) -> Callable[[str], None]:
    if getattr(args, "json", False) or not sys.stderr.isatty():
        return lambda _msg: None
    return lambda msg: print(msg, file=sys.stderr, flush=True)


def _emit(args: argparse.Namespace, obj: Any, text: str) -> None:
    if args.json:
        json.dump(obj, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(text)
    sys.stdout.flush()


def _created_text(created: Any) -> str:
    return (
        f"Organization {created.organization_id} is ready and you are logged in.\n"
        f"Device file: {created.device_file}\n"
        f"Organization address (share it with the official client): {created.organization_url}\n"
        "Keys lost = data lost: add a second device or create a recovery file soon."
    )


def cmd_create_org(args: argparse.Namespace) -> int:
    from . import api
    from .addr import parse_server
    from .values import OrganizationID

    # Refuse bad input before asking for a password.
    parse_server(args.server)
    OrganizationID(args.org)
    api.validate_person(args.email, args.user_name, args.device_label)
    password = _new_device_password(args)
    try:
        created = api.create_organization(
            args.server,
            args.org,
            args.email,
            args.user_name,
            args.device_label,
            password=password,
            use_keyring=args.keyring,
            admin_token=args.admin_token,
            progress=_progress(args),
        )
    except OrganizationNotFoundError as exc:
        if not args.admin_token:  # spontaneous bootstrap refused: say it in CLI terms
            exc.hint = (
                "Ask the server's administrator for a bootstrap link (then run 'parsec-tray bootstrap LINK') "
                "or for an administration token (--admin-token)."
            )
        raise
    if created.session is not None:
        created.session.close()
    _emit(args, created.to_json(), _created_text(created))
    return EXIT_OK


def cmd_bootstrap(args: argparse.Namespace) -> int:
    from . import api
    from .addr import ParsecOrganizationBootstrapAddr

    ParsecOrganizationBootstrapAddr.parse(args.link)
    api.validate_person(args.email, args.user_name, args.device_label)
    password = _new_device_password(args)
    created = api.bootstrap_organization(
        args.link,
        args.email,
        args.user_name,
        args.device_label,
        password=password,
        use_keyring=args.keyring,
        progress=_progress(args),
    )
    if created.session is not None:
        created.session.close()
    _emit(args, created.to_json(), _created_text(created))
    return EXIT_OK


def cmd_devices(args: argparse.Namespace) -> int:
    from . import api

    devices = api.list_devices()
    if args.json:
        _emit(args, [d.to_json() for d in devices], "")
        return EXIT_OK
    if not devices:
        print("No device on this computer yet. Create an organization or join one.")
        return EXIT_OK
    for d in devices:
        print(f"{d.device_id}  {d.describe()}  [{d.protection}]  {d.server_url}")
    return EXIT_OK


def _open_session(args: argparse.Namespace) -> tuple[Any, Any]:
    """Find the device named by --device and log in to it."""
    from . import api

    info = api.find_device(args.device)
    if info.protection == "password":
        if not args.password_stdin and sys.stdin.isatty():
            print(f"Logging in to {info.describe()}", file=sys.stderr)
        password: str | None = _read_password(args, confirm=False)
    else:
        password = None
    return info, api.login(info, password=password, progress=_progress(args))


def cmd_login(args: argparse.Namespace) -> int:
    from . import api

    info, session = _open_session(args)
    try:
        summary = session.summary()
        if args.keyring and info.protection != "keyring":
            api.protect_with_keyring(session)
            if not args.json:
                print(
                    "The device is now protected by the OS keyring: it opens without a password"
                    " while your session is unlocked.",
                    file=sys.stderr,
                )
    finally:
        session.close()
    _emit(
        args,
        summary,
        f"Logged in to {summary['organization_id']} as {info.user_name} <{info.email}> on {info.device_label}.",
    )
    return EXIT_OK


def _subparser(sub: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(name, **kwargs)
    # Also accepted after the subcommand; SUPPRESS keeps a --debug given
    # before it.
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks and debug logs")
    return p


def _invitation_json(item: Any, session: Any) -> dict[str, Any]:
    d = session.device
    out = {
        "type": item.type,
        "token": item.token.hex(),
        "status": item.status,
        "created_on": str(item.created_on),
        "created_by": item.created_by.describe(),
        "link": item.link(d.server, d.organization_id).to_url(),
    }
    if item.type == "USER":
        out["claimer_email"] = str(item.claimer_email)
    return out


def cmd_invite(args: argparse.Namespace) -> int:
    from . import invitations

    _info, session = _open_session(args)
    try:
        if args.command == "invite-user":
            new = invitations.invite_new_user(session, args.email, send_email=args.send_email)
        else:
            new = invitations.invite_new_device(session, send_email=args.send_email)
    finally:
        session.close()
    sent = {"SUCCESS": "sent", "SERVER_UNAVAILABLE": "not sent (the server's mail is down)",
            "RECIPIENT_REFUSED": "not sent (the address was refused)"}.get(new.email_sent, new.email_sent)
    text = f"Invitation link: {new.url}"
    if args.send_email:
        text += f"\nEmail: {sent}"
    _emit(args, {"token": new.token.hex(), "link": new.url, "email_sent": new.email_sent}, text)
    return EXIT_OK


def cmd_invitations(args: argparse.Namespace) -> int:
    from . import invitations

    _info, session = _open_session(args)
    try:
        items = [i for i in invitations.invite_list(session) if args.all or i.is_pending]
        rows = [_invitation_json(i, session) for i in items]
    finally:
        session.close()
    if args.json:
        _emit(args, rows, "")
    elif not rows:
        print("No pending invitation.")
    else:
        for r in rows:
            who = r.get("claimer_email", "a new device")
            print(f"{r['token']}  {r['type']:6s} {r['status']:9s} {who}  {r['link']}")
    return EXIT_OK


def cmd_cancel_invitation(args: argparse.Namespace) -> int:
    from . import invitations
    from .addr import ParsecInvitationAddr
    from .values import AccessToken

    token = (
        ParsecInvitationAddr.parse(args.token).token if "://" in args.token else AccessToken(args.token.strip())
    )
    _info, session = _open_session(args)
    try:
        invitations.invite_cancel(session, token)
    finally:
        session.close()
    _emit(args, {"token": token.hex(), "status": "CANCELLED"}, "The invitation is cancelled.")
    return EXIT_OK


def _login_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", help="device id, unique prefix of one, or path to a .keys file")
    p.add_argument("--password-stdin", action="store_true")
    p.add_argument("--json", action="store_true")


def register(sub: Any) -> None:
    """Add the core subcommands to an ``add_subparsers()`` object."""
    p = _subparser(sub, "create-org", help="create an organization and become its first user")
    p.add_argument("--server", required=True, help="parsec3://host[:port][?no_ssl=true] or http(s)://host[:port]")
    p.add_argument("--org", required=True, help="organization name")
    p.add_argument("--email", required=True)
    p.add_argument("--user-name", required=True)
    p.add_argument("--device-label", required=True)
    p.add_argument("--admin-token", help="the server's administration token (otherwise: spontaneous bootstrap)")
    p.add_argument("--password-stdin", action="store_true", help="read the password as one line of stdin")
    p.add_argument("--keyring", action="store_true", help="protect the device with the OS keyring, not a password")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_create_org)

    p = _subparser(sub, "bootstrap", help="set up an organization from a bootstrap link")
    p.add_argument("link", help="parsec3://…?a=bootstrap_organization&p=… (or its https://…/redirect/… form)")
    p.add_argument("--email", required=True)
    p.add_argument("--user-name", required=True)
    p.add_argument("--device-label", required=True)
    p.add_argument("--password-stdin", action="store_true")
    p.add_argument("--keyring", action="store_true", help="protect the device with the OS keyring, not a password")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bootstrap)

    p = _subparser(sub, "devices", help="list the devices on this computer")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_devices)

    p = _subparser(sub, "login", help="unlock a device and connect to its server")
    _login_options(p)
    p.add_argument(
        "--keyring", action="store_true", help="then protect the device with the OS keyring (quick login)"
    )
    p.set_defaults(func=cmd_login)

    p = _subparser(sub, "invite-user", help="invite someone to join the organization (administrators)")
    p.add_argument("email")
    p.add_argument("--send-email", action="store_true", help="have the server email the link")
    _login_options(p)
    p.set_defaults(func=cmd_invite)

    p = _subparser(sub, "invite-device", help="invite a new device of your own")
    p.add_argument("--send-email", action="store_true", help="have the server email the link to you")
    _login_options(p)
    p.set_defaults(func=cmd_invite)

    p = _subparser(sub, "invitations", help="list the pending invitations")
    p.add_argument("--all", action="store_true", help="also the cancelled and finished ones")
    _login_options(p)
    p.set_defaults(func=cmd_invitations)

    p = _subparser(sub, "cancel-invitation", help="cancel an invitation")
    p.add_argument("token", help="the invitation's token (32 hex) or its link")
    _login_options(p)
    p.set_defaults(func=cmd_cancel_invitation)


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")


def build_parser(prog: str = "parsec-tray") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Parsec Tray command line")
    add_common_options(parser)
    register(parser.add_subparsers(dest="command", metavar="COMMAND"))
    return parser


def run(args: argparse.Namespace) -> int:
    """Run a parsed command; every error becomes one line on stderr."""
    debug = getattr(args, "debug", False)
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except ParsecTrayError as exc:
        if debug:
            traceback.print_exc()
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("Interrupted; nothing was saved.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_ERROR
    except Exception as exc:  # a bug: still one sentence, traceback with --debug
        if debug:
            traceback.print_exc()
        print(
            f"Error: unexpected {type(exc).__name__}; run again with --debug for details and report it.",
            file=sys.stderr,
        )
        return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
