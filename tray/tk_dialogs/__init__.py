"""The dialogs themselves: Tk/ttk forms, one process each, run as
``python -m parsec_tray.tray.tk_dialogs KIND`` (:mod:`.__main__`).

Started by :class:`~parsec_tray.tray.dialogs.DialogProcess`; stdin and
stdout carry the messages of :mod:`parsec_tray.tray.dialog_protocol`.
This process never calls the network or decrypts anything: it validates
fields inline (core's rules), sends ``submit`` with the values, and shows
what the tray answers (progress, errors with the fields kept, done).

- :mod:`.channel`: the pipe to the tray;
- :mod:`.widgets`: the style, fields and the base :class:`~.widgets.Dialog`;
- :mod:`.forms`: Create organization, Join organization, Log in;
- :mod:`.invitations`: Invite user / Add a device, Pending invitations;
- :mod:`.window`: a message, and the fallback window (the menu as buttons).

Importing this package imports nothing (no Tk): its modules do.
"""
