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
from ..core.i18n import N_, _
from .common import (
    EXIT_OK,
    CliError,
    admin_token,
    emit,
    emit_created,
    json_option,
    keyring_option,
    login_options,
    new_device_password,
    open_session,
    print_table,
    progress,
    read_secret_file,
    subparser,
)

__all__ = ["register"]


def cmd_create_org(args: argparse.Namespace) -> int:
    from ..core import OrganizationID, create_organization, parse_server, validate_person

    # Refuse bad input before asking for a password.
    parse_server(args.server)
    OrganizationID(args.org)
    validate_person(args.email, args.user_name, args.device_label)
    token = admin_token(args)
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
            admin_token=token,
            progress=progress(args),
        )
    except OrganizationNotFoundError as exc:
        if not token:  # spontaneous bootstrap refused: say it in CLI terms
            raise exc.reworded(
                hint=_(
                    "Ask the server's administrator for a bootstrap link (then run 'parsec-tray bootstrap LINK') "
                    "or for an administration token (--admin-token-file FILE or $PARSEC_TRAY_ADMIN_TOKEN)."
                )
            ) from exc
        raise
    emit_created(args, created)
    return EXIT_OK


def cmd_bootstrap(args: argparse.Namespace) -> int:
    from ..core import ParsecOrganizationBootstrapAddr, bootstrap_organization, validate_person

    if (args.link is None) == (args.link_file is None):
        raise CliError(
            _("Give the bootstrap link, or --link-file FILE (which keeps its token off the command line).")
        )
    link = args.link if args.link is not None else read_secret_file(args.link_file, N_("bootstrap link"))
    ParsecOrganizationBootstrapAddr.parse(link)
    validate_person(args.email, args.user_name, args.device_label)
    password = new_device_password(args)
    created = bootstrap_organization(
        link,
        args.email,
        args.user_name,
        args.device_label,
        password=password,
        use_keyring=args.keyring,
        progress=progress(args),
    )
    emit_created(args, created)
    return EXIT_OK


# How a device file is protected, in words (``devices``).
PROTECTIONS = {"password": N_("password"), "keyring": N_("OS keyring")}


def cmd_devices(args: argparse.Namespace) -> int:
    from ..core import list_devices, settle_pending_devices

    settle_pending_devices()  # those that open without a prompt; the others at their login
    devices = list_devices()
    if args.json:
        emit(args, [d.to_json() for d in devices], "")
        return EXIT_OK
    if not devices:
        print(_("No device on this computer yet. Create an organization or join one."))
        return EXIT_OK
    rows = [(d.device_id, d.describe(), _(PROTECTIONS.get(d.protection, d.protection)), d.server_url)
            for d in devices]  # fmt: skip
    print_table((_("DEVICE ID"), _("DEVICE"), _("PROTECTION"), _("SERVER")), rows)
    for d in devices:
        if d.pending:
            kept = _("not confirmed by the server yet; its device file is kept at {device_file}").format(
                device_file=d.device_file
            )
            print(f"{d.device_id[:8]}: {kept}", file=sys.stderr)
    return EXIT_OK


def cmd_login(args: argparse.Namespace) -> int:
    from ..core import Protection, protect_with_keyring, session_security_warnings

    info, session = open_session(args)
    try:
        summary = session.summary()
        summary["at_risk"] = at_risk = session_security_warnings(session).at_risk
        if args.keyring and info.protection != Protection.KEYRING:
            protect_with_keyring(session)
            if not args.json:
                print(
                    _(
                        "The device is now protected by the OS keyring: it opens without a password"
                        " while your session is unlocked."
                    ),
                    file=sys.stderr,
                )
    finally:
        session.close()
    emit(
        args,
        summary,
        _("Logged in to {org} as {user_name} <{email}> on {device_label}.").format(
            org=summary["organization_id"],
            user_name=info.user_name,
            email=info.email,
            device_label=info.device_label,
        ),
    )
    if at_risk and not args.json:
        print(
            _(
                "Only this computer can open {org}: create a recovery file"
                " ('parsec-tray export-recovery') or add a device."
            ).format(org=summary["organization_id"]),
            file=sys.stderr,
        )
    return EXIT_OK


def new_user_options(p: argparse.ArgumentParser) -> None:
    """Who the organization's first user is, and this device's name."""
    p.add_argument("--email", required=True, help=_("your email"))
    p.add_argument("--user-name", required=True, help=_("your name, as the organization's members see it"))
    p.add_argument("--device-label", required=True, help=_("the name of this new device"))


def register(sub: Any) -> None:
    """Add the core subcommands to an ``addsubparsers()`` object."""
    p = subparser(sub, "create-org", help=_("create an organization and become its first user"))
    p.add_argument(
        "--server", required=True, help=_("parsec3://host[:port][?no_ssl=true] or http(s)://host[:port]")
    )
    p.add_argument("--org", required=True, help=_("organization name"))
    new_user_options(p)
    p.add_argument(
        "--admin-token-file",
        metavar="FILE",
        help=_(
            "a file only you can read holding the server's administration token "
            "(or set $PARSEC_TRAY_ADMIN_TOKEN; without either, the server is asked to create the "
            "organization on request)"
        ),
    )
    p.add_argument(
        "--admin-token",
        help=_("the administration token itself (visible to other local users: prefer the file)"),
    )
    p.add_argument("--password-stdin", action="store_true", help=_("read the password as one line of stdin"))
    keyring_option(p)
    json_option(p)
    p.set_defaults(func=cmd_create_org)

    p = subparser(sub, "bootstrap", help=_("set up an organization from a bootstrap link"))
    p.add_argument(
        "link",
        nargs="?",
        help=_("parsec3://…?a=bootstrap_organization&p=… (or its https://…/redirect/… form)"),
    )
    p.add_argument(
        "--link-file",
        metavar="FILE",
        help=_(
            "read the link from a file only you can read (its token stays off "
            "the command line, which other local users can read)"
        ),
    )
    new_user_options(p)
    p.add_argument("--password-stdin", action="store_true", help=_("read the password as one line of stdin"))
    keyring_option(p)
    json_option(p)
    p.set_defaults(func=cmd_bootstrap)

    p = subparser(sub, "devices", help=_("list the devices on this computer"))
    json_option(p)
    p.set_defaults(func=cmd_devices)

    p = subparser(sub, "login", help=_("unlock a device and connect to its server"))
    login_options(p)
    p.add_argument(
        "--keyring", action="store_true", help=_("then protect the device with the OS keyring (quick login)")
    )
    p.set_defaults(func=cmd_login)
