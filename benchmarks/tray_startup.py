"""Benchmark: the tray app against a bare pystray icon, same run, same desktop.

In a private desktop (Xvfb, D-Bus, trayer; see tests/desktop_session.py):

- start time: from spawning the process until its icon is embedded in
  trayer and wider than 1 px (median of ``--rounds``, the two programs
  interleaved in a random order each round, one discarded warm-up each,
  which also compiles the bytecode both then run from);
- idle memory: resident set size 30 s after the icon appeared, both
  programs running side by side;
- idle CPU: clock ticks (utime + stime) used between 2 s and 32 s after the
  icon appeared (goal: 0).

The app starts logged out with no device (a newcomer).  Goals: start <= 1.3x,
memory <= 1.15x, no CPU while idle.  Prints a table and the ratios (``--json``
for a machine-readable line).  Never used for pass/fail in the tests.

    python benchmarks/tray_startup.py [--rounds 7] [--idle 30] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from desktop_session import DesktopSession  # noqa: E402

BARE_CLASS = "bare-pystray"
APP_CLASS = "parsec-tray"

# A bare pystray icon: the same 64 px image the app shows, a one-item menu,
# pystray's defaults otherwise.  The program name only makes its window
# findable, like the app's.
BARE = textwrap.dedent(
    f"""
    import gi
    gi.require_version("GLib", "2.0")
    from gi.repository import GLib
    GLib.set_prgname({BARE_CLASS!r})
    import pystray
    from PIL import Image
    image = Image.open({{icon!r}})
    pystray.Icon("bare", image, "Bare", menu=pystray.Menu(pystray.MenuItem("Quit", lambda icon, item: icon.stop()))).run()
    """
)


def start_bare_icon(session: Any, workdir: Path, state: str = "online") -> subprocess.Popen[bytes]:
    """The bare pystray icon (:data:`BARE`) with the app's ``state`` image, in
    ``session``'s desktop, once its window exists."""
    from desktop_session import wait_until
    from parsec_tray.tray.icons import state_icon_path

    script = workdir / "bare_icon.py"
    script.write_text(BARE.format(icon=str(state_icon_path(state))))
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        env=dict(session.env, PYSTRAY_BACKEND="gtk"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(lambda: session.search(classname=f"^{BARE_CLASS}$"), 30, "the bare icon")
    return proc


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


class Embedded:
    """Polls the X tree (python-xlib, in this process) for a class's icon."""

    def __init__(self, display: str) -> None:
        from Xlib import display as xdisplay

        self.d = xdisplay.Display(display)

    def width(self, classname: str) -> int:
        best = 0
        stack = [self.d.screen().root]
        while stack:
            w = stack.pop()
            try:
                cls = w.get_wm_class()
                children = w.query_tree().children
            except Exception:
                continue
            if cls and cls[0] == classname:
                try:
                    attrs = w.get_attributes()
                    if attrs.map_state != 0:
                        best = max(best, w.get_geometry().width)
                except Exception:
                    pass
            stack.extend(children)
        return best

    def wait(self, classname: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{classname} exited early ({proc.returncode})")
            if self.width(classname) > 1:
                return time.monotonic()
            time.sleep(0.005)
        raise TimeoutError(f"{classname} was not embedded in {timeout} s")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="parsec-tray-bench-"))
    from parsec_tray.tray.icons import state_icon_path

    bare_script = work / "bare_icon.py"
    bare_script.write_text(BARE.format(icon=str(state_icon_path("logged_out"))))

    with DesktopSession(work / "desktop") as s:
        s.prime_gtk()
        # Both programs run from compiled bytecode, as after a pip install:
        # the warm-up runs write it (to a private cache, never the source
        # tree), even where PYTHONDONTWRITEBYTECODE is set.
        base_env = dict(s.env, PYSTRAY_BACKEND="gtk", PYTHONPYCACHEPREFIX=str(work / "pycache"))
        base_env.pop("PYTHONDONTWRITEBYTECODE", None)
        app_env = dict(
            base_env,
            PARSEC_BASE_CONFIG_DIR=str(work / "config"),
            PARSEC_BASE_DATA_DIR=str(work / "data"),
            PARSEC_TRAY_RUNTIME_DIR=str(work / "run"),
        )
        app_env.pop("PYSTRAY_BACKEND")
        commands = {
            "bare": ([sys.executable, str(bare_script)], base_env, BARE_CLASS),
            "app": ([sys.executable, "-m", "parsec_tray"], app_env, APP_CLASS),
        }
        probe = Embedded(s.display)

        def start(name: str) -> tuple[subprocess.Popen[bytes], float]:
            cmd, env, cls = commands[name]
            t0 = time.monotonic()
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t1 = probe.wait(cls, proc)
            return proc, t1 - t0

        def stop(proc: subprocess.Popen[bytes]) -> None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            # Let the tray host drop the old icon before the next start.
            time.sleep(0.3)

        times: dict[str, list[float]] = {"bare": [], "app": []}
        for warm in ("bare", "app"):
            stop(start(warm)[0])
        for _ in range(args.rounds):
            order = ["bare", "app"]
            random.shuffle(order)
            for name in order:
                proc, t = start(name)
                times[name].append(t)
                stop(proc)

        # Idle: both side by side.
        procs = {}
        appeared = {}
        for name in ("bare", "app"):
            procs[name], _ = start(name)
            appeared[name] = time.monotonic()
        time.sleep(2.0)
        ticks0 = {n: cpu_ticks(p.pid) for n, p in procs.items()}
        time.sleep(max(0.0, args.idle - 2.0))
        ticks1 = {n: cpu_ticks(p.pid) for n, p in procs.items()}
        rss = {n: rss_mb(p.pid) for n, p in procs.items()}
        children = {n: _children(p.pid) for n, p in procs.items()}
        for p in procs.values():
            stop(p)

    start_med = {n: statistics.median(v) for n, v in times.items()}
    result = {
        "rounds": args.rounds,
        "start_s": {n: round(v, 3) for n, v in start_med.items()},
        "start_all_s": {n: [round(x, 3) for x in v] for n, v in times.items()},
        "start_ratio": round(start_med["app"] / start_med["bare"], 3),
        "rss_mb": {n: round(v, 1) for n, v in rss.items()},
        "rss_ratio": round(rss["app"] / rss["bare"], 3),
        "idle_ticks": {n: ticks1[n] - ticks0[n] for n in procs},
        "idle_seconds": args.idle - 2.0,
        "children_while_idle": children,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"start (median of {args.rounds}): bare {start_med['bare']:.3f} s, app {start_med['app']:.3f} s"
            f"  -> {result['start_ratio']:.2f}x (goal <= 1.10x)"
        )
        print(
            f"RSS after {args.idle:.0f} s idle: bare {rss['bare']:.1f} MB, app {rss['app']:.1f} MB"
            f"  -> {result['rss_ratio']:.2f}x (goal <= 1.15x)"
        )
        print(
            f"CPU ticks while idle ({args.idle - 2:.0f} s): bare {result['idle_ticks']['bare']}, "
            f"app {result['idle_ticks']['app']} (goal 0)"
        )
        print(f"child processes while idle: {children}")
    return 0


def _children(pid: int) -> int:
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    except OSError:
        return -1
    return len(out.stdout.split())


if __name__ == "__main__":
    os.environ.pop("DISPLAY", None)
    sys.exit(main())
