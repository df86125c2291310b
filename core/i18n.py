"""Translations: every sentence a person reads goes through :func:`_`.

The language is the standard library's choice from the environment
(``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``, in that order);
English, the language of the sources, when no catalogue matches.  The
catalogue (``parsec_tray/locale/<lang>/LC_MESSAGES/parsec-tray.mo``, compiled
at build time from the repository's ``locale/``) is loaded on first use,
once: importing this module reads no file.

Sentences take named placeholders (``_("… {org} …").format(org=org)``) so a
translation may put the words in its own order; :func:`N_` marks a text
translated later, where it is shown.
"""

from __future__ import annotations

import gettext
import os
from functools import cache

__all__ = ["DOMAIN", "LOCALE_DIR", "N_", "_", "ngettext", "translations"]

DOMAIN = "parsec-tray"
# parsec_tray/locale, next to parsec_tray/core (in the wheel and the frozen app);
# a string: the tray imports this module before its icon shows, without pathlib.
LOCALE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "locale")


@cache
def translations() -> gettext.NullTranslations:
    """The catalogue of the environment's language (English: none)."""
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, fallback=True)


def _(message: str) -> str:
    return translations().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations().ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks ``message`` for extraction only; :func:`_` translates it later."""
    return message
