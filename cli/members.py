"""The organization as its members see it: ``users`` (who is in it),
``revoke`` (administrators), ``terms`` (the terms of service to read and
accept)."""

from __future__ import annotations

import argparse
import locale
import os
from typing import Any

from ..core.i18n import _
from .common import EXIT_OK, emit, login_options, open_session, print_table, profile_name, subparser

__all__ = ["register", "user_locales"]


def user_locales(env: dict[str, str] | None = None) -> list[str]:
    """The person's languages, most wanted first, from the usual variables
    (``LANGUAGE`` is a colon list; then ``LC_ALL``, ``LC_MESSAGES``, ``LANG``)."""
    env = dict(os.environ) if env is None else env
    out: list[str] = []
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        for item in env.get(var, "").split(":"):
            name = item.split(".")[0].split("@")[0]
            if name and name not in ("C", "POSIX") and name not in out:
                out.append(name)
    if not out:
        guess = locale.getlocale()[0]
        if guess:
            out.append(guess)
    return out


def cmd_terms(args: argparse.Namespace) -> int:
    from ..core import tos_accept, tos_get

    _info, session = open_session(args, allow_pending_tos=True)
    try:
        org = str(session.device.organization_id)
        terms = tos_get(session)
        pending = session.tos_error is not None
        if terms is not None and args.accept:
            tos_accept(session, terms)
            pending = False
    finally:
        session.close()
    if terms is None:
        emit(
            args,
            {"organization_id": org, "terms": None, "accepted": True},
            _("The organization {org} has no terms of service.").format(org=org),
        )
        return EXIT_OK
    urls = terms.urls_for(user_locales())
    lines = [_("The terms of service of {org} (updated on {date}):").format(org=org, date=terms.updated_on)]
    lines += [f"  {loc}: {url}" for loc, url in urls]
    if args.accept:
        lines.append(_("You accepted them."))
    elif pending:
        lines.append(_("They wait for you to accept them: read them, then run 'parsec-tray terms --accept'."))
    else:
        lines.append(_("You have accepted them."))
    emit(
        args,
        {
            "organization_id": org,
            "terms": [{"locale": loc, "url": url} for loc, url in urls],
            "updated_on": str(terms.updated_on),
            "accepted": not pending,
        },
        "\n".join(lines),
    )
    return EXIT_OK


def cmd_users(args: argparse.Namespace) -> int:
    from ..core import list_members

    _info, session = open_session(args)
    try:
        people = [m for m in list_members(session) if args.all or not m.is_revoked]
        me = session.device.user_id
    finally:
        session.close()
    if args.json:
        emit(args, [{**m.to_json(), "is_you": m.user_id == me} for m in people], "")
        return EXIT_OK
    rows = []
    hidden = _("(hidden)")
    for m in people:
        h = m.human_handle
        state = _("revoked") if m.is_revoked else _("frozen") if m.frozen else _("active")
        name = h.label if h else hidden
        if m.user_id == me:
            name = _("{name} (you)").format(name=name)
        rows.append(
            (name, str(h.email) if h else hidden, profile_name(m.profile), str(m.created_on)[:10], state)
        )
    print_table((_("NAME"), _("EMAIL"), _("PROFILE"), _("JOINED"), _("STATE")), rows)
    return EXIT_OK


def cmd_revoke(args: argparse.Namespace) -> int:
    from ..core import find_member, list_members, revoke_user

    _info, session = open_session(args)
    try:
        member = find_member(list_members(session), args.email)
        revoke_user(session, member.user_id, name=member.describe())
    finally:
        session.close()
    emit(
        args,
        {"user_id": member.user_id.hex, "email": args.email.strip(), "revoked": True},
        _("{person} is revoked: their devices can no longer open the organization.").format(
            person=member.describe()
        ),
    )
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``users``, ``revoke`` and ``terms``."""
    p = subparser(
        sub, "users", help=_("list the organization's users (name, email, profile, revoked or frozen)")
    )
    p.add_argument("--all", action="store_true", help=_("also the revoked users"))
    login_options(p)
    p.set_defaults(func=cmd_users)

    p = subparser(
        sub,
        "revoke",
        help=_("revoke a user: their devices can no longer open the organization (administrators)"),
    )
    p.add_argument("email", help=_("the email of the user to revoke"))
    login_options(p)
    p.set_defaults(func=cmd_revoke)

    p = subparser(sub, "terms", help=_("show the organization's terms of service, and accept them"))
    p.add_argument("--accept", action="store_true", help=_("accept the terms shown (they are shown first)"))
    login_options(p)
    p.set_defaults(func=cmd_terms)
