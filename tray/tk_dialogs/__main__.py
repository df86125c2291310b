"""The one entry point of the dialogs:

python -m parsec_tray.tray.tk_dialogs create|join|login|invite_user|invite_device|invitations|message|window
"""

from __future__ import annotations

import sys
import tkinter as tk

from ..dialog_protocol import FromDialog, Kind
from .channel import Channel
from .forms import CreateDialog, JoinDialog, LoginDialog
from .invitations import InvitationsDialog, InviteDialog
from .widgets import Dialog, setup_style
from .window import MenuWindow, MessageDialog

__all__ = ["KINDS", "main"]

KINDS: dict[str, type[Dialog]] = {
    Kind.CREATE: CreateDialog,
    Kind.JOIN: JoinDialog,
    Kind.LOGIN: LoginDialog,
    Kind.INVITE_USER: InviteDialog,
    Kind.INVITE_DEVICE: InviteDialog,
    Kind.INVITATIONS: InvitationsDialog,
    Kind.MESSAGE: MessageDialog,
    Kind.WINDOW: MenuWindow,
}


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
    dialog = KINDS[argv[0]](root, chan, init)
    root.resizable(False, False)
    root.update_idletasks()
    w, h = root.winfo_reqwidth(), root.winfo_reqheight()
    x = max(0, (root.winfo_screenwidth() - w) // 2)
    y = max(0, (root.winfo_screenheight() - h) // 3)
    root.geometry(f"+{x}+{y}")
    root.deiconify()

    def shown() -> None:
        dialog.first_focus()
        chan.send({"type": FromDialog.SHOWN})
        dialog.report()

    root.after(50, shown)
    root.mainloop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
