"""The dialogs drawn with GTK 3 (Linux), one process each:
``python -m parsec_tray.tray.gtk_dialogs KIND``.

What a dialog shows and does is :mod:`parsec_tray.tray.dialog_specs`
(a :class:`~parsec_tray.tray.dialog_specs.DialogModel`); this package only
draws it with the desktop's theme and gives every control its accessible
name, so a screen reader (AT-SPI) reads and drives it.  The pipe is
:mod:`parsec_tray.tray.dialog_pipe`, watched by GLib's main loop.

- :mod:`.window`: :class:`~.window.GtkDialog`, the renderer of a model.

Importing this package imports nothing (no GTK): its modules do.
"""
