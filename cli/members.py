"""The organization as its members see it: ``terms`` (the terms of service
to read and accept)."""

from __future__ import annotations

import argparse
import locale
import os
from typing import Any

from .common import EXIT_OK, emit, login_options, open_session, subparser

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
    from ..core import tos as tos_mod

    _info, session = open_session(args, allow_pending_tos=True)
    try:
        org = str(session.device.organization_id)
        terms = tos_mod.tos_get(session)
        pending = session.tos_error is not None
        if terms is not None and args.accept:
            tos_mod.tos_accept(session, terms)
            pending = False
    finally:
        session.close()
    if terms is None:
        emit(
            args,
            {"organization_id": org, "terms": None, "accepted": True},
            f"The organization {org} has no terms of service.",
        )
        return EXIT_OK
    urls = terms.urls_for(user_locales())
    lines = [f"The terms of service of {org} (updated on {terms.updated_on}):"]
    lines += [f"  {loc}: {url}" for loc, url in urls]
    if args.accept:
        lines.append("You accepted them.")
    elif pending:
        lines.append("They wait for you to accept them: read them, then run 'parsec-tray terms --accept'.")
    else:
        lines.append("You have accepted them.")
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


def register(sub: Any) -> None:
    """Add ``terms``."""
    p = subparser(sub, "terms", help="show the organization's terms of service, and accept them")
    p.add_argument("--accept", action="store_true", help="accept the terms shown (they are shown first)")
    login_options(p)
    p.set_defaults(func=cmd_terms)
