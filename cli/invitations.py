"""Invitations, greeter side without the ceremony: ``invite-user``,
``invite-device``, ``invitations``, ``cancel-invitation``."""

from __future__ import annotations

import argparse
from typing import Any

from ..core.i18n import N_, _
from .common import EXIT_OK, emit, login_options, open_session, print_table, subparser

__all__ = ["register"]


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


# An invitation's type and status, in words (``invitations``).
KINDS = {"USER": N_("user"), "DEVICE": N_("device"), "SHAMIR_RECOVERY": N_("recovery")}
STATUSES = {"PENDING": N_("pending"), "CANCELLED": N_("cancelled"), "FINISHED": N_("finished")}

EMAIL_SENT = {
    "SUCCESS": N_("sent"),
    "SERVER_UNAVAILABLE": N_("not sent (the server's mail is down)"),
    "RECIPIENT_REFUSED": N_("not sent (the address was refused)"),
}


def cmd_invite(args: argparse.Namespace) -> int:
    from ..core import invite_new_device, invite_new_user

    _info, session = open_session(args)
    try:
        if args.command == "invite-user":
            new = invite_new_user(session, args.email, send_email=args.send_email)
        else:
            new = invite_new_device(session, send_email=args.send_email)
    finally:
        session.close()
    sent = EMAIL_SENT.get(new.email_sent)
    text = _("Invitation link: {link}").format(link=new.url)
    if args.send_email:
        text += "\n" + _("Email: {sent}").format(sent=_(sent) if sent else new.email_sent)
    emit(args, {"token": new.token.hex(), "link": new.url, "email_sent": new.email_sent}, text)
    return EXIT_OK


def cmd_invitations(args: argparse.Namespace) -> int:
    from ..core import invite_list

    _info, session = open_session(args)
    try:
        items = [i for i in invite_list(session) if args.all or i.is_pending]
        rows = [_invitation_json(i, session) for i in items]
    finally:
        session.close()
    if args.json:
        emit(args, rows, "")
    elif not rows:
        print(_("No pending invitation."))
    else:
        table = [
            (r.get("claimer_email", _("a new device")), _(KINDS.get(r["type"], r["type"])),
             _(STATUSES.get(r["status"], r["status"])), r["token"], r["link"])
            for r in rows
        ]  # fmt: skip
        print_table((_("FOR"), _("TYPE"), _("STATUS"), _("TOKEN"), _("LINK")), table)
    return EXIT_OK


def cmd_cancel_invitation(args: argparse.Namespace) -> int:
    from ..core import AccessToken, ParsecInvitationAddr, invite_cancel

    token = (
        ParsecInvitationAddr.parse(args.token).token if "://" in args.token else AccessToken(args.token.strip())
    )
    _info, session = open_session(args)
    try:
        invite_cancel(session, token)
    finally:
        session.close()
    emit(args, {"token": token.hex(), "status": "CANCELLED"}, _("The invitation is cancelled."))
    return EXIT_OK


def register(sub: Any) -> None:
    """Add the invitation subcommands."""
    p = subparser(sub, "invite-user", help=_("invite someone to join the organization (administrators)"))
    p.add_argument("email", help=_("the email of the person to invite"))
    p.add_argument("--send-email", action="store_true", help=_("have the server email the link"))
    login_options(p)
    p.set_defaults(func=cmd_invite)

    p = subparser(
        sub, "invite-device", help=_("add a device of yours: a link to open on your other computer")
    )
    p.add_argument("--send-email", action="store_true", help=_("have the server email the link to you"))
    login_options(p)
    p.set_defaults(func=cmd_invite)

    p = subparser(sub, "invitations", help=_("list the pending invitations"))
    p.add_argument("--all", action="store_true", help=_("also the cancelled and finished ones"))
    login_options(p)
    p.set_defaults(func=cmd_invitations)

    p = subparser(sub, "cancel-invitation", help=_("cancel an invitation"))
    p.add_argument("token", help=_("the invitation's token (32 hex) or its link"))
    login_options(p)
    p.set_defaults(func=cmd_cancel_invitation)


