"""What the CLI and the tray do, as plain functions (the flows of
:mod:`.flows`).  The shells reach them through core's facade,
``parsec_tray.core``; this module keeps the name for the tests and scripts
that import it.

Every function either returns or raises a
:class:`~parsec_tray.core.errors.ParsecTrayError` whose ``str()`` is a
sentence for a person.  Nothing is written to disk unless the whole flow
succeeded.  ``progress`` callbacks receive short human sentences
("Deriving the key from the password…") and may be called from the calling
thread only.  These calls block (Argon2id ~0.5 s, network): call them off any
UI thread.
"""

from __future__ import annotations

from . import flows
from .flows import *  # noqa: F403
from .session import Session

__all__ = [*flows.__all__, "Session"]
