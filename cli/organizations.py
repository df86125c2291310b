"""Organizations and devices: ``create-org``, ``bootstrap``, ``devices``,
``login``.

The contract is fixed: options, JSON shapes, exit status ≠ 0 and one
actionable sentence on stderr on any failure, no traceback unless
``--debug``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..core.errors import OrganizationNotFoundError
from .common import (
    EXIT_OK,
    created_text,
    emit,
    login_options,
    new_device_password,
    open_session,
    progress,
    subparser,
)

__all__ = ["register"]


def cmd_create_org(args: argparse.Namespace) -> int:
    from ..core import OrganizationID, create_organization, parse_server, validate_person

    # Refuse bad input before asking for a password.
    parse_server(args.server)
    OrganizationID(args.org)
    validate_person(args.email, args.user_name, args.device_label)
    password = new_device_password(args)
    try:
        created = create_organization(
            args.server,
            args.org,
            args.email,
            args.user_name,
            args.device_label,
            password=password,
            use_keyring=args.keyring,
            admin_token=args.admin_token,
            progress=progress(args),
        )
    except OrganizationNotFoundError as exc:
        if not args.admin_token:  # spontaneous bootstrap refused: say it in CLI terms
            raise exc.reworded(
                hint="Ask the server's administrator for a bootstrap link (then run 'parsec-tray bootstrap LINK') "
                "or for an administration token (--admin-token)."
            ) from exc
        raise
    if created.session is not None:
        created.session.close()
    emit(args, created.to_json(), created_text(created))
    return EXIT_OK


def cmd_bootstrap(args: argparse.Namespace) -> int:
    from ..core import ParsecOrganizationBootstrapAddr, bootstrap_organization, validate_person

    ParsecOrganizationBootstrapAddr.parse(args.link)
    validate_person(args.email, args.user_name, args.device_label)
    password = new_device_password(args)
    created = bootstrap_organization(
        args.link,
        args.email,
        args.user_name,
        args.device_label,
        password=password,
        use_keyring=args.keyring,
        progress=progress(args),
    )
    if created.session is not None:
        created.session.close()
    emit(args, created.to_json(), created_text(created))
    return EXIT_OK


def cmd_devices(args: argparse.Namespace) -> int:
    from ..core import list_devices

    devices = list_devices()
    if args.json:
        emit(args, [d.to_json() for d in devices], "")
        return EXIT_OK
    if not devices:
        print("No device on this computer yet. Create an organization or join one.")
        return EXIT_OK
    for d in devices:
        print(f"{d.device_id}  {d.describe()}  [{d.protection}]  {d.server_url}")
    return EXIT_OK


def cmd_login(args: argparse.Namespace) -> int:
    from ..core import protect_with_keyring

    info, session = open_session(args)
    try:
        summary = session.summary()
        if args.keyring and info.protection != "keyring":
            protect_with_keyring(session)
            if not args.json:
                print(
                    "The device is now protected by the OS keyring: it opens without a password"
                    " while your session is unlocked.",
                    file=sys.stderr,
                )
    finally:
        session.close()
    emit(
        args,
        summary,
        f"Logged in to {summary['organization_id']} as {info.user_name} <{info.email}> on {info.device_label}.",
    )
    return EXIT_OK


def register(sub: Any) -> None:
    """Add the core subcommands to an ``addsubparsers()`` object."""
    p = subparser(sub, "create-org", help="create an organization and become its first user")
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

    p = subparser(sub, "bootstrap", help="set up an organization from a bootstrap link")
    p.add_argument("link", help="parsec3://…?a=bootstrap_organization&p=… (or its https://…/redirect/… form)")
    p.add_argument("--email", required=True)
    p.add_argument("--user-name", required=True)
    p.add_argument("--device-label", required=True)
    p.add_argument("--password-stdin", action="store_true")
    p.add_argument("--keyring", action="store_true", help="protect the device with the OS keyring, not a password")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bootstrap)

    p = subparser(sub, "devices", help="list the devices on this computer")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_devices)

    p = subparser(sub, "login", help="unlock a device and connect to its server")
    login_options(p)
    p.add_argument(
        "--keyring", action="store_true", help="then protect the device with the OS keyring (quick login)"
    )
    p.set_defaults(func=cmd_login)
