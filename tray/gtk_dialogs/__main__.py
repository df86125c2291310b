"""The entry point of the GTK dialogs:

python -m parsec_tray.tray.gtk_dialogs create|join|login|invite_user|invite_device|invitations|message
"""

from __future__ import annotations

import sys

from ..dialog_pipe import Pipe
from ..dialog_specs import SPECS

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in SPECS:
        print(f"usage: python -m parsec_tray.tray.gtk_dialogs {{{','.join(SPECS)}}}", file=sys.stderr)
        return 2
    pipe = Pipe(sys.stdin, sys.stdout)
    sys.stdout = sys.stderr  # stray prints must not corrupt the protocol
    init = pipe.read_init()
    from .window import run

    return run(argv[0], init, pipe)


if __name__ == "__main__":
    sys.exit(main())
