"""The terms of service of a session's organization: fetched when the
server refuses until they are accepted, reviewed in their dialog (links in
the person's locale first), accepted with the exact version fetched, then
the session reconnects at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core import errors as E
from . import health
from .dialog_protocol import Kind
from .i18n import N_, _
from .threads import in_thread

if TYPE_CHECKING:
    from .controller import Controller
    from .sessions import SessionHolder

__all__ = [
    "accept_terms",
    "accept_terms_in_worker",
    "accept_terms_now",
    "fetch_terms",
    "open_terms",
    "open_url",
    "review_terms",
]

_NO_TERMS = N_("{org} has no terms of service any more.")  # translated where used
_OPEN_TERMS = N_("Open {url} in a browser to read the terms of service.")


def fetch_terms(host: Controller, holder: SessionHolder) -> Any:
    """The terms of service the person may review and accept (``tos_get``)."""
    from ..core import tos_get

    terms = tos_get(holder.session)
    with host.lock:
        holder.terms = terms
    return terms


def review_terms(host: Controller, key: str | None) -> None:
    """The terms of service dialog: their links (the person's locale
    first), Accept or Refuse and log out."""
    holder = host.holder(key)
    if holder is not None:
        in_thread(open_terms, "tos-review", host, holder)


def open_terms(host: Controller, holder: SessionHolder) -> None:
    from ..cli.members import user_locales

    org = holder.identity.organization_id
    try:
        terms = fetch_terms(host, holder)  # kept: Accept sends exactly these
    except E.ParsecTrayError as exc:
        host.message(_("Terms of service"), str(exc))
        return
    if terms is None:
        host.message(_("Terms of service"), _(_NO_TERMS).format(org=org))
        health.retry(host, holder, shown=True)
        return
    init = {
        "organization_id": org,
        "links": [list(pair) for pair in terms.urls_for(user_locales())],
        "updated_on": str(terms.updated_on)[:10],
    }
    host.dialogs.open(Kind.TERMS, init, target=holder.key)


def open_url(host: Controller, url: str) -> None:
    """A link of a dialog (the terms of service), in the browser."""
    import webbrowser

    if not url.startswith(("https://", "http://")) or not webbrowser.open(url):
        host.message(_("Terms of service"), _(_OPEN_TERMS).format(url=url))


def accept_terms(host: Controller, key: str | None) -> None:
    holder = host.holder(key)
    if holder is not None:
        in_thread(accept_terms_in_worker, "tos-accept", host, holder)


def accept_terms_in_worker(host: Controller, holder: SessionHolder) -> None:
    try:
        accept_terms_now(host, holder)
    except E.ParsecTrayError as exc:
        host.message(_("Terms of service"), str(exc))


def accept_terms_now(host: Controller, holder: SessionHolder) -> None:
    """``tos_accept`` with the exact ``updated_on`` of the terms fetched
    (those the person could review), then reconnect at once; raises
    what the server said (terms changed meanwhile: fetched again)."""
    from ..core import tos_accept

    try:
        with host.lock:
            terms = holder.terms
        if terms is None:
            terms = fetch_terms(host, holder)
        if terms is not None:
            tos_accept(holder.session, terms)
    except E.ServerRefusedError:  # changed while shown: the new ones are to review
        in_thread(fetch_terms, "tos-get", host, holder)
        raise
    with host.lock:
        holder.terms = None
        holder.retries = 0
    health.retry(host, holder, shown=True)
