"""The committed icons: every state at every size, the installers' formats,
and the script that drew them draws them again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from parsec_tray.tray.icons import ICONS_DIR, TRAY_SIZE, app_icon_path, state_icon_path, state_image
from parsec_tray.tray.state import State
from PIL import Image, ImageChops

SIZES = (16, 20, 22, 24, 32, 48, 64, 128, 256)
SCRIPT = Path(__file__).resolve().parent.parent / "icons" / "make_icons.py"


@pytest.mark.parametrize("size", SIZES)
def test_every_state_and_size(size: int) -> None:
    for path in [app_icon_path(size)] + [state_icon_path(s.value, size) for s in State]:
        with Image.open(path) as img:
            assert img.format == "PNG" and img.size == (size, size) and img.mode == "RGBA"
            alpha = img.getchannel("A")
            assert alpha.getextrema() == (0, 255)  # transparent corners, opaque body


def test_states_look_different() -> None:
    images = {s: state_image(s.value).convert("RGBA") for s in State}
    assert all(img.size == (TRAY_SIZE, TRAY_SIZE) for img in images.values())
    states = list(State)
    for i, a in enumerate(states):
        for b in states[i + 1 :]:
            assert ImageChops.difference(images[a], images[b]).getbbox(alpha_only=False) is not None, (a, b)


def test_installer_formats() -> None:
    with Image.open(ICONS_DIR / "parsec-tray.ico") as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    with Image.open(ICONS_DIR / "parsec-tray.icns") as icns:
        assert icns.format == "ICNS"
        assert {(16, 16), (32, 32), (128, 128), (256, 256), (512, 512)} <= {s[:2] for s in icns.info["sizes"]}


def test_script_redraws_the_committed_icons(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], check=True, capture_output=True)
    committed = sorted(p.name for p in ICONS_DIR.glob("*.png"))
    assert sorted(p.name for p in tmp_path.glob("*.png")) == committed
    for name in committed:
        with Image.open(ICONS_DIR / name) as a, Image.open(tmp_path / name) as b:
            diff = ImageChops.difference(a.convert("RGBA"), b.convert("RGBA"))
            # Same drawing; allow last-bit differences between Pillow builds.
            assert max(hi for _, hi in diff.getextrema()) <= 8, name
