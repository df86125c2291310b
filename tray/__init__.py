"""The tray icon, its menu and dialogs: a thin shell over ``parsec_tray.core``.

Importing this package must not import pystray or any GUI toolkit: the
command line works without a display.
"""
