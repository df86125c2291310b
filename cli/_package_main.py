"""``python -m parsec_tray``: same as the ``parsec-tray`` command."""

import sys

from parsec_tray.cli.main import main

sys.exit(main())
