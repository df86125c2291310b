"""``python -m parsec_tray``: same as the ``parsec-tray`` command."""

import sys

from parsec_tray.tray.main import main

sys.exit(main())
