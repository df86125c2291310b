"""Benchmark: the XEMBED tray-host check, over the X11 wire vs through libX11.

In a private desktop with a real tray host (Xvfb, D-Bus, trayer; see
tests/desktop_session.py), each run is a fresh interpreter that first
imports what the app has loaded when its backend choice asks
(``parsec_tray.tray.instance`` and ``parsec_tray.tray.backends``), then
times ``from parsec_tray.tray import hosts`` plus one call:

- ``libx11``: ``hosts.xembed_tray_present_libx11()`` (ctypes, _ctypes,
  ctypes.util imported, libX11 loaded: what the app did before);
- ``wire``: ``hosts.xembed_tray_present()`` (tray/x11_wire.py over the
  socket; ctypes is not imported).

The two alternate in a random order each round, after one discarded run
each (which compiles the bytecode).  Prints the medians, their ratio and
the median of the per-round ratios; ``--json`` for one line.  Never used for
pass/fail in the tests.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from desktop_session import DesktopSession  # noqa: E402

RUN = """
import sys, time
import parsec_tray.tray.instance, parsec_tray.tray.backends
t = time.perf_counter()
from parsec_tray.tray import hosts
answer = hosts.{call}()
elapsed = time.perf_counter() - t
print(elapsed, answer, "ctypes" in sys.modules)
"""
CALLS = {"libx11": "xembed_tray_present_libx11", "wire": "xembed_tray_present"}


def one(kind: str, env: dict[str, str]) -> tuple[float, bool, bool]:
    out = subprocess.run(
        [sys.executable, "-c", RUN.format(call=CALLS[kind])],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    elapsed, answer, ctypes_loaded = out.stdout.split()
    return float(elapsed), answer == "True", ctypes_loaded == "True"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, DesktopSession(Path(tmp), notifications=False) as desktop:
        for kind in CALLS:
            one(kind, desktop.env)
        times: dict[str, list[float]] = {kind: [] for kind in CALLS}
        seen: dict[str, set[tuple[bool, bool]]] = {kind: set() for kind in CALLS}
        for _ in range(args.rounds):
            kinds = list(CALLS)
            random.shuffle(kinds)
            for kind in kinds:
                elapsed, answer, ctypes_loaded = one(kind, desktop.env)
                times[kind].append(elapsed)
                seen[kind].add((answer, ctypes_loaded))
    med = {kind: statistics.median(t) for kind, t in times.items()}
    per_round = statistics.median(w / x for w, x in zip(times["wire"], times["libx11"], strict=True))
    figures = {
        "rounds": args.rounds,
        "libx11_median_ms": round(med["libx11"] * 1000, 2),
        "wire_median_ms": round(med["wire"] * 1000, 2),
        "ratio_wire_over_libx11": round(med["wire"] / med["libx11"], 3),
        "median_per_round_ratio": round(per_round, 3),
        "answers_libx11": sorted(f"answer={a} ctypes={c}" for a, c in seen["libx11"]),
        "answers_wire": sorted(f"answer={a} ctypes={c}" for a, c in seen["wire"]),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:24} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
