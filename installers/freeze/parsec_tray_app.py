"""The frozen app's entry point (PyInstaller runs this, see parsec-tray.spec).

In a frozen app ``sys.executable`` is the app itself, not a Python, and the
tray starts its helpers as ``sys.executable -m parsec_tray.<module> ...``
(the dialog processes, the device lister, the Start at login command).  So
this entry point understands that one form of ``-m``, for the app's own
modules only, and runs the module as ``python -m`` would; anything else is
the ``parsec-tray`` command line.
"""

from __future__ import annotations

import runpy
import sys


def main() -> int:
    argv = sys.argv
    if len(argv) >= 3 and argv[1] == "-m" and argv[2].partition(".")[0] == "parsec_tray":
        module = argv[2]
        sys.argv = [argv[0], *argv[3:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    from parsec_tray.cli.main import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
