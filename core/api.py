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
from .own_devices import OwnDevice, SecurityWarnings, fetch_own_devices, session_security_warnings
from .protection import change_authentication, check_authentication_change
from .recovery import RecoveryExport, export_recovery_device, import_recovery_device, read_recovery_file
from .session import Session

__all__ = [
    *flows.__all__,
    "OwnDevice",
    "RecoveryExport",
    "SecurityWarnings",
    "Session",
    "change_authentication",
    "check_authentication_change",
    "export_recovery_device",
    "fetch_own_devices",
    "import_recovery_device",
    "read_recovery_file",
    "session_security_warnings",
]
