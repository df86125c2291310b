"""The dialogs themselves: Tk/ttk forms, one process each, run as
``python -m parsec_tray.tray.tk_dialogs KIND`` (:mod:`.__main__`).

Started by :class:`~parsec_tray.tray.dialogs.DialogProcess`; stdin and
stdout carry the messages of :mod:`parsec_tray.tray.dialog_protocol`.
This process never calls the network or decrypts anything: it validates
fields inline (core's rules), sends ``submit`` with the values, and shows
what the tray answers (progress, errors with the fields kept, done).

- :mod:`.channel`: the pipe to the tray, in Tk's loop;
- :mod:`.spec_window`: every dialog, drawn from its description
  (:mod:`parsec_tray.tray.dialog_specs`), as the GTK renderer draws it;
- :mod:`.widgets`: the style, and the base of the fallback window;
- :mod:`.window`: the fallback window (the menu as buttons).

Importing this package imports nothing (no Tk): its modules do.
"""
