"""Terms of service: what the organization asks its users to accept, and
accepting it (fact sheet 2, n.3).

While new terms wait, every authenticated route but ``/authenticated/<org>/tos``
answers 463 (:class:`~parsec_tray.core.errors.TosNotAcceptedError`); these
two commands go through that route.  Acceptance must name the exact
``updated_on`` the server gave (to the microsecond), so a person accepts the
terms they were shown, never newer ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ProtocolError, ServerRefusedError
from .i18n import _
from .protocol import unexpected_status
from .values import DateTime

if TYPE_CHECKING:
    from .session import Session

__all__ = ["TermsOfService", "parse_tos_get", "tos_accept", "tos_get"]


@dataclass(frozen=True)
class TermsOfService:
    per_locale_urls: Mapping[str, str]  # e.g. {"en_US": "https://…", "fr_FR": "https://…"}
    updated_on: DateTime

    def urls_for(self, locales: Sequence[str]) -> list[tuple[str, str]]:
        """Every (locale, url), the person's locales first (``fr_FR`` also
        matches ``fr``, and the reverse), the others after in name order."""

        def rank(locale: str) -> int:
            lang = locale.replace("-", "_").split("_")[0].lower()
            for i, wanted in enumerate(locales):
                w = wanted.replace("-", "_").split(".")[0]
                if locale.lower() == w.lower():
                    return 2 * i
                if lang == w.split("_")[0].lower():
                    return 2 * i + 1
            return 2 * len(locales)

        return sorted(self.per_locale_urls.items(), key=lambda kv: (rank(kv[0]), kv[0]))


def parse_tos_get(reply: Mapping[str, Any]) -> TermsOfService | None:
    status = reply.get("status")
    if status == "no_tos":
        return None
    if status != "ok":
        raise unexpected_status("tos_get", reply)
    urls, updated_on = reply.get("per_locale_urls"), reply.get("updated_on")
    if (
        not isinstance(urls, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in urls.items())
        or not isinstance(updated_on, DateTime)
    ):
        raise ProtocolError(_("The server's terms of service cannot be read."))
    return TermsOfService(dict(urls), updated_on)


def tos_get(session: Session) -> TermsOfService | None:
    """The terms the organization asks to accept (``None``: there are none)."""
    return parse_tos_get(session.client.tos().send("tos_get"))


def tos_accept(session: Session, tos: TermsOfService) -> None:
    """Accept ``tos`` (as shown); the 463 refusals end at once."""
    reply = session.client.tos().send("tos_accept", tos_updated_on=tos.updated_on)
    status = reply.get("status")
    if status == "ok":
        return
    if status == "tos_mismatch":
        raise ServerRefusedError(
            _("The terms of service changed while you were reading them."),
            status="tos_mismatch",
            hint=_("Read the new terms and accept them again."),
        )
    if status == "no_tos":
        return  # nothing left to accept
    raise unexpected_status("tos_accept", reply)
