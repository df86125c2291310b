"""Where the icon files are, and the tray image for each state.

The PNGs are drawn by ``icons/make_icons.py`` and shipped as
``parsec_tray/icons`` (a sibling of this package).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

__all__ = ["ICONS_DIR", "TRAY_SIZE", "app_icon_path", "state_icon_path", "state_image"]

ICONS_DIR = Path(__file__).parent.parent / "icons"
# Hosts scale the image to their slot (16-32 px on most panels, more with
# HiDPI): scaling down 64 px stays sharp.
TRAY_SIZE = 64


def app_icon_path(size: int = 256) -> Path:
    return ICONS_DIR / f"parsec-tray-{size}.png"


def state_icon_path(state: str, size: int = TRAY_SIZE) -> Path:
    return ICONS_DIR / f"state-{state}-{size}.png"


@functools.cache
def state_image(state: str, size: int = TRAY_SIZE) -> Any:
    """A loaded ``PIL.Image`` (imported here, never by the CLI)."""
    from PIL import Image

    with Image.open(state_icon_path(state, size)) as img:
        img.load()
        return img.copy()
