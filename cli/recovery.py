"""Keys lost = data lost: ``export-recovery``, ``import-recovery``,
``change-auth``.

The contract is fixed (issue 8): with ``--password-stdin`` every secret the
command would ask on the terminal is read as one line of stdin, in the
order asked.  Every input that can be checked without a secret (the file,
the label, the keyring, the output path) is checked before any is asked;
a failure leaves nothing written or changed on disk.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..core.i18n import N_, _
from .common import (
    EXIT_OK,
    check_keyring,
    emit,
    emit_created,
    json_option,
    login_options,
    open_session,
    progress,
    read_password,
    subparser,
)

__all__ = ["register"]

_KEEP_APART = N_(
    "Keep the file and the passphrase in separate safe places: both are needed to get back in, "
    "and anyone who has both can open your account."
)


def cmd_export_recovery(args: argparse.Namespace) -> int:
    from ..core import check_recovery_target, default_recovery_path, export_recovery_device, find_device

    output = Path(args.output).expanduser().absolute() if args.output else None
    # Before the password is asked: the device and where its file goes.
    target = check_recovery_target(output or default_recovery_path(find_device(args.device).organization_id))
    _info, session = open_session(args)
    try:
        exported = export_recovery_device(session, target, progress=progress(args))
    finally:
        session.close()
    emit(
        args,
        exported.to_json(),
        "\n".join(
            [
                _("Recovery file saved at {recovery_file}").format(recovery_file=exported.recovery_file),
                _("Recovery passphrase (shown only now): {passphrase}").format(
                    passphrase=exported.passphrase
                ),
                _(_KEEP_APART),
            ]
            + (
                []
                if exported.registered
                else [
                    _(
                        "The server's answer was lost, so it is not known whether it registered this "
                        "recovery "
                        "file: keep it, and once the server answers again check it with 'parsec-tray login "
                        "--json' (at_risk) or make another one."
                    )
                ]
            )
        ),
    )
    return EXIT_OK


def cmd_import_recovery(args: argparse.Namespace) -> int:
    from ..core import DeviceLabel, import_recovery_device, read_recovery_file

    path = Path(args.file).expanduser()
    read_recovery_file(path)  # a recovery file, before any secret is asked
    DeviceLabel(args.device_label)
    if args.keyring:
        check_keyring()
    passphrase = read_password(
        args, confirm=False, prompt=N_("Recovery passphrase: "), what=N_("recovery passphrase")
    )
    password = (
        None
        if args.keyring
        else read_password(
            args, confirm=True, prompt=N_("Password for the new device: "), what=N_("password")
        )
    )
    created = import_recovery_device(
        path,
        passphrase,
        args.device_label,
        password=password,
        use_keyring=args.keyring,
        progress=progress(args),
    )
    emit_created(args, created)
    return EXIT_OK


def cmd_change_auth(args: argparse.Namespace) -> int:
    from ..core import DeviceInfo, Protection, change_authentication, check_authentication_change, find_device

    info = find_device(args.device)
    check_authentication_change(info.device_file)  # before any password is asked
    if args.keyring:
        check_keyring()
    current = None
    if info.protection == Protection.PASSWORD:
        current = read_password(
            args, confirm=False, prompt=N_("Current password: "), what=N_("current password")
        )
    new_password = (
        read_password(args, confirm=True, prompt=N_("New password: "), what=N_("new password"))
        if args.new_password
        else None
    )
    file = change_authentication(
        info.device_file, current_password=current, new_password=new_password, use_keyring=args.keyring
    )
    changed = DeviceInfo.from_file(info.device_file, file)
    emit(
        args,
        changed.to_json(),
        (
            _(
                "{device} is now protected by the OS keyring: it opens without a password while your "
                "session is unlocked."
            )
            if args.keyring
            else _("{device} is now protected by the new password.")
        ).format(device=changed.describe()),
    )
    return EXIT_OK


def register(sub: Any) -> None:
    p = subparser(
        sub, "export-recovery", help=_("create a recovery file (and its passphrase) for a device's user")
    )
    login_options(p)
    p.add_argument(
        "--output", metavar="FILE", help=_("where to save it (default: Parsec_Recovery_File_<org>.psrk here)")
    )
    p.set_defaults(func=cmd_export_recovery)

    p = subparser(sub, "import-recovery", help=_("make a new device on this computer from a recovery file"))
    p.add_argument("file", metavar="FILE", help=_("the .psrk recovery file"))
    p.add_argument("--device-label", required=True, help=_("the name of this new device"))
    p.add_argument(
        "--password-stdin", action="store_true",
        help=_("read the passphrase, then the new password, one line each from stdin"),
    )
    p.add_argument("--keyring", action="store_true", help=_("protect the new device with the OS keyring"))
    json_option(p)
    p.set_defaults(func=cmd_import_recovery)

    p = subparser(
        sub, "change-auth", help=_("change a device's password, or switch it to or from the OS keyring")
    )
    p.add_argument("--device", help=_("device ID, a unique prefix of one, or the path of its device file"))
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--new-password", action="store_true", help=_("protect it with a new password"))
    how.add_argument("--keyring", action="store_true", help=_("protect it with the OS keyring (quick login)"))
    p.add_argument(
        "--password-stdin", action="store_true",
        help=_("read the current password, then the new one, one line each from stdin"),
    )
    json_option(p)
    p.set_defaults(func=cmd_change_auth)

