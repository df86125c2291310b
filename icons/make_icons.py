"""Draw Parsec Tray's icons with Pillow: ``python icons/make_icons.py``.

Writes, next to this script:

- ``parsec-tray-<size>.png``: the app icon;
- ``state-<state>-<size>.png``: the tray icon for each app state
  (logged_out, connecting, online, offline, needs_attention);
- ``refusal-<refusal>-<size>.png``: the tray icon of a device the server
  refuses, one per refusal (``tray.state.Refusal``'s values): the attention
  icon with its own badge colour and glyph (a cross when revoked, a
  snowflake when frozen, an hourglass when expired, a question mark when the
  organization is not found, a page for new terms of service, a clock for
  clock drift, "not equal" for an incompatible server);
- ``parsec-tray.ico`` (Windows installer) and ``parsec-tray.icns`` (macOS).

Sizes are what tray hosts and launchers ask for: 16 to 256 px.  Everything is
drawn with shapes (no font: fonts differ between machines, and the output
must look the same wherever the script runs), at 8x and scaled down.  Small sizes
get a larger status badge so that the state stays readable at 16 px.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SIZES = (16, 20, 22, 24, 32, 48, 64, 128, 256)
STATES = ("logged_out", "connecting", "online", "offline", "needs_attention")

BLUE = (0, 112, 220, 255)  # the background of a usable (logged-in) icon
SLATE = (104, 120, 142, 255)  # logged out / offline: the keys are not in use
WHITE = (255, 255, 255, 255)
BADGES = {
    "connecting": (245, 166, 35, 255),
    "online": (46, 170, 80, 255),
    "offline": (140, 140, 140, 255),
    "needs_attention": (214, 48, 49, 255),
}
# One per ``tray.state.Refusal`` (tests/test_tray_icons.py holds the two
# lists together): the badge's colour, told apart by a tray host's few pixels.
REFUSALS = {
    "revoked": (214, 48, 49, 255),
    "frozen": (30, 180, 230, 255),
    "expired": (142, 68, 173, 255),
    "organization_not_found": (60, 60, 60, 255),
    "terms_of_service": (230, 120, 20, 255),
    "clock_drift": (200, 40, 150, 255),
    "incompatible_server": (150, 95, 40, 255),
}
SCALE = 8


def _padlock(d: ImageDraw.ImageDraw, s: int, color: tuple[int, int, int, int]) -> None:
    """A closed padlock centered in an ``s``-px square."""
    body_w, body_h = 0.50 * s, 0.36 * s
    x0, y0 = (s - body_w) / 2, 0.46 * s
    d.rounded_rectangle((x0, y0, x0 + body_w, y0 + body_h), radius=0.06 * s, fill=color)
    # The shackle: a thick arc above the body.
    sw = 0.30 * s
    sx0, sy0 = (s - sw) / 2, 0.20 * s
    d.arc(
        (sx0, sy0, sx0 + sw, sy0 + 0.40 * s), start=180, end=360, fill=color, width=max(1, round(0.075 * s))
    )
    d.rectangle((sx0, sy0 + 0.20 * s - 1, sx0 + 0.075 * s, y0 + 1), fill=color)
    d.rectangle((sx0 + sw - 0.075 * s, sy0 + 0.20 * s - 1, sx0 + sw, y0 + 1), fill=color)


def _keyhole(d: ImageDraw.ImageDraw, s: int, color: tuple[int, int, int, int]) -> None:
    cx, cy, r = s / 2, 0.60 * s, 0.055 * s
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=color)
    d.rectangle((cx - r / 2.2, cy, cx + r / 2.2, cy + 0.10 * s), fill=color)


def _badge(d: ImageDraw.ImageDraw, s: int, state: str, size: int) -> None:
    color = BADGES.get(state) or REFUSALS[state]
    frac = 0.52 if size <= 24 else 0.42
    r = frac * s / 2
    cx, cy = s - r - 0.01 * s, s - r - 0.01 * s
    ring = 0.05 * s  # a transparent ring sets the badge apart from the padlock
    d.ellipse((cx - r - ring, cy - r - ring, cx + r + ring, cy + r + ring), fill=(0, 0, 0, 0))
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=color)
    w = max(1, round(r * 0.28))
    if state == "online":  # a check mark
        d.line(
            [(cx - 0.48 * r, cy + 0.02 * r), (cx - 0.12 * r, cy + 0.38 * r), (cx + 0.52 * r, cy - 0.36 * r)],
            fill=WHITE,
            width=w,
            joint="curve",
        )
    elif state == "connecting":  # three dots
        dr = 0.15 * r
        for k in (-1, 0, 1):
            x = cx + k * 0.45 * r
            d.ellipse((x - dr, cy - dr, x + dr, cy + dr), fill=WHITE)
    elif state == "offline":  # a bar: no connection
        d.line([(cx - 0.5 * r, cy), (cx + 0.5 * r, cy)], fill=WHITE, width=w)
    elif state == "needs_attention":  # "!"
        d.line([(cx, cy - 0.55 * r), (cx, cy + 0.12 * r)], fill=WHITE, width=w)
        dr = w * 0.6
        d.ellipse((cx - dr, cy + 0.38 * r - dr, cx + dr, cy + 0.38 * r + dr), fill=WHITE)
    elif state in REFUSALS:
        _refusal_glyph(d, state, cx, cy, r, w, color)


def _refusal_glyph(
    d: ImageDraw.ImageDraw,
    refusal: str,
    cx: float,
    cy: float,
    r: float,
    w: int,
    bg: tuple[int, int, int, int],
) -> None:
    k = 0.50 * r  # the glyph's half-extent
    if refusal == "revoked":  # a cross
        d.line([(cx - k, cy - k), (cx + k, cy + k)], fill=WHITE, width=w)
        d.line([(cx - k, cy + k), (cx + k, cy - k)], fill=WHITE, width=w)
    elif refusal == "frozen":  # a snowflake: three bars through the centre
        for a in (0.0, 60.0, 120.0):
            dx, dy = k * 1.15 * math.cos(math.radians(a)), k * 1.15 * math.sin(math.radians(a))
            d.line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill=WHITE, width=max(1, round(w * 0.8)))
    elif refusal == "expired":  # an hourglass
        d.polygon([(cx - k, cy - k), (cx + k, cy - k), (cx, cy)], fill=WHITE)
        d.polygon([(cx - k, cy + k), (cx + k, cy + k), (cx, cy)], fill=WHITE)
    elif refusal == "organization_not_found":  # a question mark
        d.arc(
            (cx - 0.34 * r, cy - 0.62 * r, cx + 0.34 * r, cy - 0.02 * r),
            start=180,
            end=90,
            fill=WHITE,
            width=w,
        )
        d.line([(cx, cy - 0.04 * r), (cx, cy + 0.18 * r)], fill=WHITE, width=w)
        dr = w * 0.6
        d.ellipse((cx - dr, cy + 0.42 * r - dr, cx + dr, cy + 0.42 * r + dr), fill=WHITE)
    elif refusal == "terms_of_service":  # a page with lines of text
        d.rectangle((cx - 0.40 * r, cy - 0.55 * r, cx + 0.40 * r, cy + 0.55 * r), fill=WHITE)
        lw = max(1, round(w * 0.45))
        for y in (-0.28, 0.0, 0.28):
            d.line([(cx - 0.24 * r, cy + y * r), (cx + 0.24 * r, cy + y * r)], fill=bg, width=lw)
    elif refusal == "clock_drift":  # a clock face and its hands
        d.ellipse(
            (cx - 0.58 * r, cy - 0.58 * r, cx + 0.58 * r, cy + 0.58 * r),
            outline=WHITE,
            width=max(1, round(w * 0.7)),
        )
        d.line([(cx, cy), (cx, cy - 0.38 * r)], fill=WHITE, width=max(1, round(w * 0.6)))
        d.line([(cx, cy), (cx + 0.28 * r, cy)], fill=WHITE, width=max(1, round(w * 0.6)))
    elif refusal == "incompatible_server":  # "not equal"
        for y in (-0.2, 0.2):
            d.line([(cx - k, cy + y * r), (cx + k, cy + y * r)], fill=WHITE, width=max(1, round(w * 0.8)))
        d.line(
            [(cx + 0.3 * r, cy - 0.55 * r), (cx - 0.3 * r, cy + 0.55 * r)],
            fill=WHITE,
            width=max(1, round(w * 0.8)),
        )


def draw(size: int, state: str | None = None) -> Image.Image:
    """The icon for ``state`` (a state or a refusal; ``None``: the app icon) at ``size`` px."""
    s = size * SCALE
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    bg = SLATE if state in ("logged_out", "offline") else BLUE
    margin = 0.04 * s if size <= 24 else 0.07 * s
    d.rounded_rectangle((margin, margin, s - margin, s - margin), radius=0.22 * s, fill=bg)
    _padlock(d, s, WHITE)
    _keyhole(d, s, bg)
    if state in BADGES or state in REFUSALS:
        _badge(d, s, state, size)
    return img.resize((size, size), Image.Resampling.LANCZOS)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Draw Parsec Tray's icons.")
    parser.add_argument(
        "--out", type=Path, default=HERE, help="where to write them (default: next to this script)"
    )
    out: Path = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        draw(size).save(out / f"parsec-tray-{size}.png", optimize=True)
        for state in STATES:
            draw(size, state).save(out / f"state-{state}-{size}.png", optimize=True)
        for refusal in REFUSALS:
            draw(size, refusal).save(out / f"refusal-{refusal}-{size}.png", optimize=True)
    big = draw(256)
    big.save(out / "parsec-tray.ico", sizes=[(n, n) for n in (16, 20, 24, 32, 48, 64, 128, 256)])
    icns_sizes = (16, 32, 64, 128, 256, 512, 1024)
    frames = [draw(n) for n in icns_sizes]
    frames[-1].save(out / "parsec-tray.icns", append_images=frames[:-1])
    print(f"wrote {len(SIZES) * (1 + len(STATES) + len(REFUSALS)) + 2} files to {out}")


if __name__ == "__main__":
    main()
