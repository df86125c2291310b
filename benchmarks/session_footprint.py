"""Benchmark: what the tray costs while logged in, with one session and
with three, against a bare pystray icon measured in the same run.

In a private desktop (Xvfb, trayer, dunst, gnome-keyring; see
tests/desktop_session.py) with a real Parsec server on loopback, three
organizations are created with keyring devices.  For each count of sessions
(1, then 3) the app is started with ``--autostart`` and those devices in
its settings' ``logged_in``, waits until every session's event stream is
online, settles, then is measured for ``--idle`` seconds beside the bare
icon: resident memory (VmRSS), threads, and CPU ticks.  The first GTK
client of the display pays for probing GL (~55 MB), so a throw-away client
primes it first, as the desktop's panel would have.  Rounds interleave the
counts; medians and minimums are printed.

Goals (issue "Footprint while logged in"): one session <= 1.30x the bare
icon's memory; each extra session <= 2 MB and no extra thread beyond its
stream reader; 0 CPU ticks idle with one and three sessions.

    python benchmarks/session_footprint.py [--rounds 3] [--idle 30] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from desktop_session import DesktopSession, TrayApp, stop_process  # noqa: E402
from parsec_server import ParsecServer, free_port  # noqa: E402
from tray_startup import cpu_ticks, rss_mb, start_bare_icon  # noqa: E402

COUNTS = (1, 3)


def threads(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise RuntimeError("no Threads")


def measure(app: TrayApp, bare_pid: int, devices: list[str], idle: float) -> dict[str, Any]:
    settings = Path(app.env["PARSEC_TRAY_CONFIG_DIR"]) / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"logged_in": devices, "last_device": devices[-1]}))
    app.start("--autostart")
    try:
        app.wait_status(
            lambda st: len(st.get("sessions") or []) == len(devices)
            and all(s.get("stream") == "online" for s in st["sessions"]),
            120,
            f"{len(devices)} sessions online",
        )
        assert app.proc is not None
        pid = app.proc.pid
        time.sleep(3.0)  # the first keepalives, lazily loaded modules
        t0, b0 = cpu_ticks(pid), cpu_ticks(bare_pid)
        time.sleep(idle)
        return {
            "rss_mb": rss_mb(pid),
            "bare_rss_mb": rss_mb(bare_pid),
            "threads": threads(pid),
            "ticks": cpu_ticks(pid) - t0,
            "bare_ticks": cpu_ticks(bare_pid) - b0,
        }
    finally:
        app.stop()


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="parsec-tray-footprint-"))
    samples: dict[int, list[dict[str, Any]]] = {n: [] for n in COUNTS}
    with ParsecServer(free_port()) as server, DesktopSession(work / "desktop") as s:
        s.prime_gtk()
        keyring = s.start_keyring("bench")
        app = TrayApp(s, work / "app", env={"PARSEC_TRAY_CONFIG_DIR": str(work / "app" / "tray-config")})
        bare = None
        try:
            devices = [
                app.create_org(
                    server.url, server.admin_token, f"Foot{i}x{int(time.time()) % 100000}",
                    email=f"a{i}@example.com", user=f"Admin {i}", device=f"desk{i}", password=None,
                )["device_file"]
                for i in range(max(COUNTS))
            ]  # fmt: skip
            bare = start_bare_icon(s, work)
            for _ in range(args.rounds):
                for n in COUNTS:
                    samples[n].append(measure(app, bare.pid, devices[:n], args.idle))
        finally:
            if bare is not None:
                stop_process(bare)
            stop_process(keyring)
    out: dict[str, Any] = {"rounds": args.rounds, "idle_seconds": args.idle}
    for n in COUNTS:
        v = samples[n]
        out[f"sessions_{n}"] = {
            "rss_mb_median": round(statistics.median(x["rss_mb"] for x in v), 1),
            "rss_mb_min": round(min(x["rss_mb"] for x in v), 1),
            "ratio_median": round(statistics.median(x["rss_mb"] / x["bare_rss_mb"] for x in v), 3),
            "ratio_min": round(min(x["rss_mb"] / x["bare_rss_mb"] for x in v), 3),
            "bare_rss_mb_median": round(statistics.median(x["bare_rss_mb"] for x in v), 1),
            "threads": max(x["threads"] for x in v),
            "ticks_max": max(x["ticks"] for x in v),
            "bare_ticks_max": max(x["bare_ticks"] for x in v),
        }
    one, three = out["sessions_1"], out[f"sessions_{max(COUNTS)}"]
    extra = max(COUNTS) - 1
    out["per_extra_session_mb_median"] = round((three["rss_mb_median"] - one["rss_mb_median"]) / extra, 2)
    out["per_extra_session_threads"] = round((three["threads"] - one["threads"]) / extra, 2)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    res = run(args)
    if args.json:
        print(json.dumps(res))
        return 0
    print(f"logged in, streams open, {res['idle_seconds']:.0f} s idle; {res['rounds']} rounds (median | min)")
    for n in COUNTS:
        r = res[f"sessions_{n}"]
        print(
            f"{n} session(s): RSS {r['rss_mb_median']} | {r['rss_mb_min']} MB vs bare icon {r['bare_rss_mb_median']} MB"
            f" -> {r['ratio_median']}x | {r['ratio_min']}x; threads {r['threads']}; "
            f"CPU ticks {r['ticks_max']} (bare {r['bare_ticks_max']})"
        )
    print(
        f"each extra session: {res['per_extra_session_mb_median']} MB, {res['per_extra_session_threads']} threads "
        "(goal <= 2 MB, <= 1 thread); goal 1 session <= 1.30x, 0 ticks idle"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
