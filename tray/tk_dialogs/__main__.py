"""The one entry point of the Tk dialogs:

python -m parsec_tray.tray.tk_dialogs create|join|login|invite_user|invite_device|invitations|message|window
"""

from __future__ import annotations

import sys
import tkinter as tk

from ..dialog_protocol import FromDialog, Kind
from ..dialog_specs import SPECS, DialogModel, spec_for
from .channel import Channel
from .spec_window import TkDialog
from .widgets import centre, setup_style
from .window import MenuWindow

__all__ = ["KINDS", "main"]

KINDS = [*SPECS, Kind.WINDOW]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in KINDS:
        print(
            f"usage: python -m parsec_tray.tray.tk_dialogs {{{','.join(KINDS)}}}",
            file=sys.stderr,
        )
        return 2
    chan = Channel(sys.stdin, sys.stdout)
    sys.stdout = sys.stderr  # stray prints must not corrupt the protocol
    init = chan.read_init()
    root = tk.Tk(className="parsec-tray-dialog")
    root.withdraw()
    root.option_add("*tearOff", False)
    setup_style(root)
    if argv[0] == Kind.WINDOW:
        window = MenuWindow(root, chan, init)

        def shown() -> None:
            window.first_focus()
            chan.send({"type": FromDialog.SHOWN})
            window.report()

        root.resizable(False, False)
        centre(root)
    else:
        dialog = TkDialog(root, chan, DialogModel(spec_for(argv[0], init), sys.platform))
        shown = dialog.shown
        root.resizable(False, False)
        dialog.place()
    root.deiconify()
    root.after(50, shown)
    root.mainloop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
