"""The tray's gettext functions: core's (:mod:`parsec_tray.core.i18n`, which
picks the language from the environment), with their types for mypy (it
checks tray/ and core/ as two packages, so core's names are ``Any`` here).

Texts of data tables are marked with :func:`N_` and translated where shown;
a dialog's texts are translated in its own process (same environment, same
language) by :mod:`.dialog_specs`.
"""

from __future__ import annotations

from ..core.i18n import _ as _gettext
from ..core.i18n import ngettext as _ngettext

__all__ = ["N_", "_", "ngettext"]


def _(message: str) -> str:
    return str(_gettext(message))


def ngettext(singular: str, plural: str, n: int) -> str:
    return str(_ngettext(singular, plural, n))


def N_(message: str) -> str:
    """Marks ``message`` for extraction only; :func:`_` translates it later."""
    return message
