"""The committed icons: every state and every refusal at every size, the
installers' formats, the script that drew them draws them again, and the
waiting count's badge composed at run time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from parsec_tray.tray.icons import (
    BADGE_COLOR,
    ICONS_DIR,
    TRAY_SIZE,
    app_icon_path,
    badge_text,
    compose_badge,
    refusal_icon_path,
    state_icon_path,
    state_image,
    tray_image,
)
from parsec_tray.tray.state import Identity, Refusal, SessionView, Snapshot, State
from PIL import Image, ImageChops

SIZES = (16, 20, 22, 24, 32, 48, 64, 128, 256)
SCRIPT = Path(__file__).resolve().parent.parent / "icons" / "make_icons.py"


@pytest.mark.parametrize("size", SIZES)
def test_every_state_and_size(size: int) -> None:
    paths = [app_icon_path(size)] + [state_icon_path(s.value, size) for s in State]
    for path in paths + [refusal_icon_path(r.value, size) for r in Refusal]:
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


def test_refusals_look_different_from_each_other_and_from_attention() -> None:
    images = {r.value: tray_image("needs_attention", r.value) for r in Refusal}
    images["needs_attention"] = tray_image("needs_attention")
    names = list(images)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert ImageChops.difference(images[a], images[b]).getbbox(alpha_only=False) is not None, (a, b)


ALICE = Identity("MyOrg", "a" * 32, "d" * 32, "parsec3://127.0.0.1:6770?no_ssl=true")


def _view(state: State, refusal: Refusal | None = None, waiting: int = 0, key: str = "k") -> SessionView:
    names = tuple(f"p{i}@example.com" for i in range(waiting))
    return SessionView(key, ALICE, state, refusal=refusal, waiting=names)


def test_the_icon_is_chosen_from_the_state() -> None:
    frozen = _view(State.NEEDS_ATTENTION, Refusal.FROZEN)
    snap = Snapshot(
        state=State.NEEDS_ATTENTION, identity=ALICE, sessions=(_view(State.ONLINE, key="o"), frozen)
    )
    assert snap.icon_refusal is Refusal.FROZEN
    assert snap.status_json()["icon_image"] == "refusal-frozen"
    # Attention for another reason (only this device, online): the plain attention icon.
    risky = SessionView("r", ALICE, State.ONLINE, at_risk=True)
    snap = Snapshot(state=State.ONLINE, identity=ALICE, sessions=(risky,))
    assert snap.icon is State.NEEDS_ATTENTION and snap.icon_refusal is None
    assert snap.status_json()["icon_image"] == "state-needs_attention"
    # No refusal without attention; the badge counts every session's waiting people.
    snap = Snapshot(state=State.ONLINE, identity=ALICE, sessions=(_view(State.ONLINE, waiting=2),))
    assert snap.icon_refusal is None and snap.icon_waiting == 2
    both = (_view(State.ONLINE, waiting=2, key="a"), _view(State.ONLINE, waiting=1, key="b"))
    assert Snapshot(state=State.ONLINE, identity=ALICE, sessions=both).status_json()["icon_badge"] == 3


def test_badge_text() -> None:
    assert [badge_text(n) for n in (0, 1, 5, 9, 10, 250)] == ["", "1", "5", "9", "9+", "9+"]


def _count(img: Image.Image, rgb: tuple[int, ...], tol: int = 30) -> int:
    rgba = img.convert("RGBA")
    px = (rgba.getpixel((x, y)) for x in range(rgba.width) for y in range(rgba.height))
    return sum(
        1 for p in px if p[3] > 200 and all(abs(a - b) <= tol for a, b in zip(p[:3], rgb, strict=True))
    )


def test_the_badge_is_composed_on_the_state_icon() -> None:
    base = state_image("online")
    yellow = BADGE_COLOR[:3]
    assert _count(base, yellow) == 0 and compose_badge(base, "") == base
    one = tray_image("online", None, 1)
    assert one is tray_image("online", None, 1)  # cached
    assert tray_image("online", None, 12) is tray_image("online", None, 40)  # both "9+"
    assert one.size == base.size and one.mode == "RGBA"
    assert _count(one, yellow) > 100
    # Only the top-right corner changed: the state's own badge (bottom right) is intact.
    box = ImageChops.difference(one, base).getbbox(alpha_only=False)
    assert box is not None and box[0] >= TRAY_SIZE // 3 and box[3] <= TRAY_SIZE * 2 // 3, box
    # Each count draws other digits; the same count on another state, the same badge.
    images = [tray_image("online", None, n) for n in range(1, 11)]
    for i, a in enumerate(images):
        for b in images[i + 1 :]:
            assert ImageChops.difference(a, b).getbbox(alpha_only=False) is not None
    frozen = tray_image("needs_attention", "frozen", 3)
    corner = (TRAY_SIZE // 2, 0, TRAY_SIZE, TRAY_SIZE // 3)
    assert (
        ImageChops.difference(frozen.crop(corner), tray_image("online", None, 3).crop(corner)).getbbox()
        is None
    )
    assert ImageChops.difference(frozen, tray_image("needs_attention", "frozen")).getbbox() is not None


def test_installer_formats() -> None:
    with Image.open(Path(ICONS_DIR) / "parsec-tray.ico") as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    with Image.open(Path(ICONS_DIR) / "parsec-tray.icns") as icns:
        assert icns.format == "ICNS"
        assert {(16, 16), (32, 32), (128, 128), (256, 256), (512, 512)} <= {s[:2] for s in icns.info["sizes"]}


def test_script_redraws_the_committed_icons(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], check=True, capture_output=True)
    committed = sorted(p.name for p in Path(ICONS_DIR).glob("*.png"))
    assert sorted(p.name for p in tmp_path.glob("*.png")) == committed
    for name in committed:
        with Image.open(Path(ICONS_DIR) / name) as a, Image.open(tmp_path / name) as b:
            diff = ImageChops.difference(a.convert("RGBA"), b.convert("RGBA"))
            # Same drawing; allow last-bit differences between Pillow builds.
            assert max(hi for _, hi in diff.getextrema()) <= 8, name
