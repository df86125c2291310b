"""Benchmark: the tray app against a bare pystray icon, same run, same desktop.

In a private desktop (Xvfb, D-Bus, trayer; see tests/desktop_session.py):

- start time: from spawning the process until its icon is embedded in
  trayer and wider than 1 px (the two programs interleaved in a random order
  each round, one discarded warm-up each, which also compiles the bytecode
  both then run from: it runs for :data:`WARM_UP` seconds, so that what the
  app imports after its icon is up is compiled too, as after a pip install);
  the median and the minimum of ``--rounds`` for each, their ratios, and the
  median of the per-round ratios (app / bare of the same round: the least
  sensitive to other load on the machine);
- idle memory: resident set size 30 s after the icon appeared, both
  programs running side by side;
- idle CPU: clock ticks (utime + stime) used between 2 s and 32 s after the
  icon appeared (goal: 0).

Both run the same Python with the same flags and environment (the app
also gets its own empty config, data and runtime folders), from bytecode
compiled by the warm-up; the app is started as ``python -m parsec_tray``
(``parsec_tray.cli.main``, as the installed command).  The bare icon does only what showing an icon
needs (import GTK and pystray, load the image, run the loop); what the app
does more (one instance per user, the backend choice, its menu) is what is
measured.

``--imports N`` then runs each program N more times under
``python -X importtime`` and accounts for the difference: the modules each
had imported when its GLib main loop started (its icon made: from then on
only the loop and the tray host embed it; a marker written by a small
prelude, :data:`MARK_LOOP`, splits the log there), the ones only the app
imports by then (self time, median over the N runs, importtime's own
overhead included), and what the app imports once its loop runs.  PyGObject
loads a typelib's overrides where it is first needed: the app's backend
choice asks D-Bus through Gio before GTK is imported, so gi.repository.Gio
is listed as the app's, while the bare icon pays for it inside
gi.repository.Gtk (and Gtk's self time is that much smaller in the app).

The app starts logged out with no device (a newcomer).  Goals: start <=
1.10x, memory <= 1.15x, no CPU while idle.  Prints a table and the ratios
(``--json`` for a machine-readable line).  Never used for pass/fail in the
tests.

    python benchmarks/tray_startup.py [--rounds 11] [--idle 30] [--imports 0] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
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


def cpu_ns(pid: int) -> int:
    """CPU time used so far by ``pid``'s live threads (ns, from schedstat):
    much less sensitive than wall time to what else the machine runs."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total


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


START_GOAL = 1.10
WARM_UP = 3.0  # seconds each warm-up run lives after its icon is embedded
RSS_GOAL = 1.15

_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def parse_importtime(lines: list[str]) -> list[tuple[str, int, int, int]]:
    """``-X importtime`` lines as (module, self us, cumulative us, depth)."""
    out = []
    for line in lines:
        m = _IMPORT_LINE.match(line)
        if m:
            out.append((m[4], int(m[1]), int(m[2]), len(m[3]) // 2))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument(
        "--imports", type=int, default=0, metavar="N", help="import accounting over N runs each"
    )
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

        def spawn(
            name: str, *flags: str, stderr: Any = subprocess.DEVNULL
        ) -> tuple[subprocess.Popen[Any], float]:
            cmd, env, _cls = commands[name]
            t0 = time.monotonic()
            proc = subprocess.Popen(
                [cmd[0], *flags, *cmd[1:]], env=env, stdout=subprocess.DEVNULL, stderr=stderr, text=True
            )
            return proc, t0

        def embedded(name: str, proc: subprocess.Popen[Any], t0: float) -> float:
            return probe.wait(commands[name][2], proc) - t0

        def start(name: str) -> tuple[subprocess.Popen[Any], float]:
            proc, t0 = spawn(name)
            return proc, embedded(name, proc, t0)

        def stop(proc: subprocess.Popen[Any]) -> None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            # Let the tray host drop the old icon before the next start.
            time.sleep(0.3)

        times: dict[str, list[float]] = {"bare": [], "app": []}
        cpu: dict[str, list[float]] = {"bare": [], "app": []}  # ms, when seen embedded
        for warm in ("bare", "app"):
            proc, _ = start(warm)
            # Long enough for what the app imports once its icon is up to be
            # compiled too: the idle phase must not compile it (+2 MB).
            time.sleep(WARM_UP)
            stop(proc)
        for _ in range(args.rounds):
            order = ["bare", "app"]
            random.shuffle(order)
            for name in order:
                proc, t = start(name)
                cpu[name].append(cpu_ns(proc.pid) / 1e6)
                times[name].append(t)
                stop(proc)

        imports = _import_accounting(spawn, embedded, stop, args.imports) if args.imports else None

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

    med = {n: statistics.median(v) for n, v in times.items()}
    low = {n: min(v) for n, v in times.items()}
    paired = statistics.median(a / b for a, b in zip(times["app"], times["bare"], strict=True))
    result: dict[str, Any] = {
        "rounds": args.rounds,
        "start_s": {n: round(v, 3) for n, v in med.items()},
        "start_min_s": {n: round(v, 3) for n, v in low.items()},
        "start_all_s": {n: [round(x, 3) for x in v] for n, v in times.items()},
        "start_ratio": round(med["app"] / med["bare"], 3),
        "start_min_ratio": round(low["app"] / low["bare"], 3),
        "start_paired_ratio": round(paired, 3),
        "cpu_to_embed_ms": {n: round(statistics.median(v), 1) for n, v in cpu.items()},
        "cpu_ratio": round(statistics.median(cpu["app"]) / statistics.median(cpu["bare"]), 3),
        "rss_mb": {n: round(v, 1) for n, v in rss.items()},
        "rss_ratio": round(rss["app"] / rss["bare"], 3),
        "idle_ticks": {n: ticks1[n] - ticks0[n] for n in procs},
        "idle_seconds": args.idle - 2.0,
        "children_while_idle": children,
    }
    if imports is not None:
        result["imports"] = imports
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"start to icon embedded, {args.rounds} rounds:")
    print(
        f"  median: bare {med['bare']:.3f} s, app {med['app']:.3f} s  -> {result['start_ratio']:.2f}x (goal <= {START_GOAL:.2f}x)"
    )
    print(f"  min:    bare {low['bare']:.3f} s, app {low['app']:.3f} s  -> {result['start_min_ratio']:.2f}x")
    print(f"  median of the per-round ratios: {paired:.2f}x")
    c = result["cpu_to_embed_ms"]
    print(
        f"  CPU time used by then (median): bare {c['bare']:.0f} ms, app {c['app']:.0f} ms"
        f"  -> {result['cpu_ratio']:.2f}x"
    )
    print(
        f"RSS after {args.idle:.0f} s idle: bare {rss['bare']:.1f} MB, app {rss['app']:.1f} MB"
        f"  -> {result['rss_ratio']:.2f}x (goal <= {RSS_GOAL:.2f}x)"
    )
    print(
        f"CPU ticks while idle ({args.idle - 2:.0f} s): bare {result['idle_ticks']['bare']}, "
        f"app {result['idle_ticks']['app']} (goal 0)"
    )
    print(f"child processes while idle: {children}")
    if imports is not None:
        _print_imports(imports)
    return 0


# Runs a program (a script, or ``-m module``) after marking on stderr the
# moment its GLib main loop starts: the icon exists and only needs the loop
# (and the tray host) to be embedded.  Both programs import GLib anyway.
MARK_LOOP = textwrap.dedent(
    """
    import runpy, sys
    import gi
    gi.require_version("GLib", "2.0")
    from gi.repository import GLib
    _run = GLib.MainLoop.run
    def run(self, *args):
        GLib.MainLoop.run = _run
        sys.stderr.write("=== main loop\\n")
        sys.stderr.flush()
        return _run(self, *args)
    GLib.MainLoop.run = run
    del sys.argv[0]  # "-c"
    if sys.argv[0] == "-m":
        del sys.argv[0]
        runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
    else:
        runpy.run_path(sys.argv[0], run_name="__main__")
    """
)
LOOP_MARK = "=== main loop"


def _import_accounting(
    spawn: Any, embedded: Any, stop: Any, runs: int, settle: float = 2.0
) -> dict[str, Any]:
    """Each program ``runs`` times under ``-X importtime`` (through
    :data:`MARK_LOOP`): what it imported before its main loop started, and
    (the app) what it imports after, until ``settle`` seconds after its icon
    was seen embedded.  Self times in ms, medians over the runs."""
    seen: dict[str, dict[str, list[int]]] = {"bare": {}, "app": {}}
    after: dict[str, list[int]] = {}
    for _ in range(runs):
        for name in ("bare", "app"):
            proc, t0 = spawn(name, "-X", "importtime", "-c", MARK_LOOP, stderr=subprocess.PIPE)
            lines: list[str] = []
            reader = threading.Thread(target=_read_lines, args=(proc.stderr, lines), daemon=True)
            reader.start()
            embedded(name, proc, t0)
            time.sleep(settle)
            stop(proc)
            reader.join(5)
            marks = [i for i, line in enumerate(lines) if line.startswith(LOOP_MARK)]
            if not marks:
                raise RuntimeError(f"{name}: its main loop never started")
            split = marks[0]
            for mod, self_us, _cum, _depth in parse_importtime(lines[:split]):
                seen[name].setdefault(mod, []).append(self_us)
            if name == "app":
                for mod, self_us, _cum, _depth in parse_importtime(lines[split:]):
                    after.setdefault(mod, []).append(self_us)

    def med_ms(d: dict[str, list[int]]) -> dict[str, float]:
        return {m: statistics.median(v) / 1000 for m, v in d.items()}

    bare, app, later = med_ms(seen["bare"]), med_ms(seen["app"]), med_ms(after)
    only_app = {m: v for m, v in app.items() if m not in bare}
    top = sorted(only_app.items(), key=lambda kv: -kv[1])
    return {
        "runs": runs,
        "before_loop_ms": {"bare": round(sum(bare.values()), 1), "app": round(sum(app.values()), 1)},
        "before_loop_modules": {"bare": len(bare), "app": len(app)},
        "app_only_ms": round(sum(only_app.values()), 1),
        "app_only_modules": len(only_app),
        "app_only_top": [[m, round(v, 2)] for m, v in top[:15]],
        "bare_only": sorted(m for m in bare if m not in app),
        "after_loop_ms": round(sum(later.values()), 1),
        "after_loop_modules": len(later),
        "after_loop_top": [[m, round(v, 2)] for m, v in sorted(later.items(), key=lambda kv: -kv[1])[:10]],
    }


def _read_lines(stream: Any, into: list[str]) -> None:
    for line in stream:  # one at a time: ``into`` always holds what was written
        into.append(line)


def _print_imports(imp: dict[str, Any]) -> None:
    print(
        f"imports (-X importtime self times, median of {imp['runs']} runs each, importtime's overhead included):"
    )
    b, n = imp["before_loop_ms"], imp["before_loop_modules"]
    print(
        f"  before the main loop (icon made): bare {n['bare']} modules {b['bare']:.1f} ms, "
        f"app {n['app']} modules {b['app']:.1f} ms"
    )
    print(f"  difference of the totals (app - bare): {b['app'] - b['bare']:+.1f} ms")
    print(
        f"  only the app, before its main loop: {imp['app_only_modules']} modules, {imp['app_only_ms']:.1f} ms"
        " (a gi.repository module the bare icon loads inside gi.repository.Gtk counts here):"
    )
    for mod, ms in imp["app_only_top"]:
        print(f"    {ms:6.2f} ms  {mod}")
    if imp["bare_only"]:
        print(f"  only the bare icon: {', '.join(imp['bare_only'])}")
    print(
        f"  the app once its loop runs: {imp['after_loop_modules']} modules, {imp['after_loop_ms']:.1f} ms; top:"
    )
    for mod, ms in imp["after_loop_top"]:
        print(f"    {ms:6.2f} ms  {mod}")


def _children(pid: int) -> int:
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    except OSError:
        return -1
    return len(out.stdout.split())


if __name__ == "__main__":
    os.environ.pop("DISPLAY", None)
    sys.exit(main())
