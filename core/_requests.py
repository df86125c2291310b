"""``requests``, imported without its character-set guesser.

requests imports charset_normalizer (or chardet) when it is imported, only
to guess the encoding of a text body that names none: about 4 MB that would
stay resident in the tray all day.  Parsec replies are msgpack or JSON,
never decoded as guessed text (requests then assumes UTF-8).  The guessers
are hidden during that one import, then shown again: nothing else in the
process is affected, and requests itself is not patched.

Every module of core that needs requests imports it from here.
"""

from __future__ import annotations

import sys
import warnings

__all__ = ["requests", "urllib3"]


def _import_without_guessing() -> None:
    if "requests" in sys.modules:
        return
    hidden = [name for name in ("charset_normalizer", "chardet") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # "import name" now raises ImportError
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Unable to find acceptable character detection")
            import requests  # noqa: F401
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


_import_without_guessing()

import requests  # noqa: E402
import requests.adapters  # noqa: E402, F401  (the transport subclasses these)
import urllib3  # noqa: E402
import urllib3.connection  # noqa: E402, F401
import urllib3.connectionpool  # noqa: E402, F401
