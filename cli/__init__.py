"""The command line of Parsec Tray: every tray action as a subcommand, one
parser, one entry point (:func:`parsec_tray.cli.main.main`).

This package is the only code that talks to a person on a terminal
(``print``, ``getpass``, ``argparse``); it reaches core only through its
facade.
"""
