"""Where the icon files are, and the tray image for each state.

The PNGs are drawn by ``icons/make_icons.py`` and shipped as
``parsec_tray/icons`` (a sibling of this package): one per app state
(``state-<state>-<size>.png``) and one per refusal
(``refusal-<refusal>-<size>.png``, shown instead of the attention icon when
the server refuses a device).

The count of people waiting to be greeted is composed at run time
(:func:`tray_image`): a yellow badge in the top-right corner with the count
in seven-segment digits ("1" to "9", then "9+"), drawn with shapes (no font,
so it looks the same everywhere).  Each (state, refusal, count) image is
composed once and cached.
"""

from __future__ import annotations

import functools
import os
from typing import Any

__all__ = [
    "BADGE_COLOR",
    "ICONS_DIR",
    "TRAY_SIZE",
    "app_icon_path",
    "badge_text",
    "compose_badge",
    "refusal_icon_path",
    "state_icon_path",
    "state_image",
    "tray_image",
]

# A string, as the paths below: the icon shows before anything imports pathlib.
ICONS_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "icons")
# Hosts scale the image to their slot (16-32 px on most panels, more with
# HiDPI): scaling down 64 px stays sharp.
TRAY_SIZE = 64
# The waiting count's badge and its digits (apart from every state's and
# refusal's colours in icons/make_icons.py).
BADGE_COLOR = (250, 204, 20, 255)
_DIGIT_COLOR = (40, 40, 40, 255)
_SCALE = 4  # drawn at 4x and scaled down, like make_icons.py's 8x


def app_icon_path(size: int = 256) -> str:
    return os.path.join(ICONS_DIR, f"parsec-tray-{size}.png")


def state_icon_path(state: str, size: int = TRAY_SIZE) -> str:
    return os.path.join(ICONS_DIR, f"state-{state}-{size}.png")


def refusal_icon_path(refusal: str, size: int = TRAY_SIZE) -> str:
    return os.path.join(ICONS_DIR, f"refusal-{refusal}-{size}.png")


def _load(path: str) -> Any:
    from PIL import Image

    with Image.open(path) as img:
        img.load()
        return img.convert("RGBA")


@functools.cache
def state_image(state: str, size: int = TRAY_SIZE) -> Any:
    """A loaded ``PIL.Image`` (imported here, never by the CLI)."""
    return _load(state_icon_path(state, size))


def badge_text(count: int) -> str:
    """What the badge says for ``count`` people waiting ("" for none)."""
    if count <= 0:
        return ""
    return str(count) if count <= 9 else "9+"


# Seven segments: a (top), b (top right), c (bottom right), d (bottom),
# e (bottom left), f (top left), g (middle).
_SEGMENTS = {
    "0": "abcdef",
    "1": "bc",
    "2": "abged",
    "3": "abgcd",
    "4": "fgbc",
    "5": "afgcd",
    "6": "afgedc",
    "7": "abc",
    "8": "abcdefg",
    "9": "abcdfg",
}


def _digit(d: Any, ch: str, x0: float, y0: float, w: float, h: float) -> None:
    t = max(1.0, 0.24 * w)  # the stroke
    if ch == "1":  # its two segments, centred
        x0 -= (w - t) / 2
    half = y0 + h / 2
    boxes = {
        "a": (x0, y0, x0 + w, y0 + t),
        "b": (x0 + w - t, y0, x0 + w, half + t / 2),
        "c": (x0 + w - t, half - t / 2, x0 + w, y0 + h),
        "d": (x0, y0 + h - t, x0 + w, y0 + h),
        "e": (x0, half - t / 2, x0 + t, y0 + h),
        "f": (x0, y0, x0 + t, half + t / 2),
        "g": (x0, half - t / 2, x0 + w, half + t / 2),
    }
    for seg in _SEGMENTS[ch]:
        d.rectangle(boxes[seg], fill=_DIGIT_COLOR)


def _plus(d: Any, cx: float, cy: float, k: float) -> None:
    t = max(1.0, 0.4 * k)
    d.rectangle((cx - k, cy - t / 2, cx + k, cy + t / 2), fill=_DIGIT_COLOR)
    d.rectangle((cx - t / 2, cy - k, cx + t / 2, cy + k), fill=_DIGIT_COLOR)


def compose_badge(base: Any, text: str) -> Any:
    """``base`` (an RGBA image) with the count badge saying ``text`` in its
    top-right corner, behind a transparent ring; a new image."""
    if not text:
        return base.copy()
    from PIL import Image, ImageDraw  # ImageDraw loads FreeType: not before the icon shows

    size = base.width
    s = size * _SCALE
    r = 0.25 * s
    cx, cy = s - r - 0.01 * s, r + 0.01 * s
    ring = 0.05 * s
    layer = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=BADGE_COLOR)
    if len(text) == 1:
        w, h = 0.62 * r, 1.1 * r
        _digit(d, text, cx - w / 2, cy - h / 2, w, h)
    else:  # "9+"
        w, h = 0.5 * r, 0.9 * r
        _digit(d, text[0], cx - 0.78 * r, cy - h / 2, w, h)
        _plus(d, cx + 0.38 * r, cy, 0.3 * r)
    mask = Image.new("L", (s, s), 0)
    ImageDraw.Draw(mask).ellipse((cx - r - ring, cy - r - ring, cx + r + ring, cy + r + ring), fill=255)
    out = base.copy()
    out.paste((0, 0, 0, 0), mask=mask.resize((size, size), Image.Resampling.LANCZOS))
    out.alpha_composite(layer.resize((size, size), Image.Resampling.LANCZOS))
    return out


def tray_image(state: str, refusal: str | None = None, waiting: int = 0, size: int = TRAY_SIZE) -> Any:
    """The image the tray shows: the refusal's icon (when the server refuses
    a device) or the state's, with the count of people waiting."""
    return _tray_image(state, refusal, badge_text(waiting), size)


@functools.cache
def _tray_image(state: str, refusal: str | None, text: str, size: int) -> Any:
    base = _load(refusal_icon_path(refusal, size)) if refusal else state_image(state, size)
    return compose_badge(base, text)
