"""Benchmark: Argon2id alone vs a full login and a full create-org.

Everything is measured in the same run against a real Parsec server on
loopback (parsec-cloud 3.9.3 must be installed), and reported as ratios to
Argon2id alone with the same parameters (libparsec's defaults: 128 MiB,
t=3, p=1).  Goals: login <= 1.10x, create-org <= 1.25x.

    python benchmarks/core_flows.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from parsec_server import ParsecServer, free_port  # noqa: E402
from parsec_tray.core import api  # noqa: E402
from parsec_tray.core.crypto import Argon2idParams, derive_password_key  # noqa: E402

PASSWORD = "correct horse battery staple"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="parsec-tray-bench-")
    os.environ["PARSEC_BASE_CONFIG_DIR"] = str(Path(tmp) / "config")
    os.environ["PARSEC_BASE_DATA_DIR"] = str(Path(tmp) / "data")

    argon, login, create = [], [], []
    with ParsecServer(free_port()) as server:
        # Warm up the server, the connection pools and the imports.
        created = api.create_organization(
            server.url, "BenchWarm", "a@example.com", "A", "d", password=PASSWORD, admin_token=server.admin_token
        )
        if created.session:
            created.session.close()
        device = api.find_device(created.device_id)
        # Interleave the three measurements in a random order each round, so
        # that the machine's noise hits them alike.
        def run_argon(i: int) -> None:
            params = Argon2idParams.new_default()
            t0 = time.perf_counter()
            derive_password_key(PASSWORD, params)
            argon.append(time.perf_counter() - t0)

        def run_login(i: int) -> None:
            t0 = time.perf_counter()
            session = api.login(device, password=PASSWORD)
            login.append(time.perf_counter() - t0)
            session.close()

        def run_create(i: int) -> None:
            t0 = time.perf_counter()
            c = api.create_organization(
                server.url, f"Bench{i}", "a@example.com", "A", "d", password=PASSWORD, admin_token=server.admin_token
            )
            create.append(time.perf_counter() - t0)
            if c.session:
                c.session.close()

        rng = random.Random(1)
        for i in range(args.rounds):
            steps = [run_argon, run_login, run_create]
            rng.shuffle(steps)
            for step in steps:
                step(i)

    print(f"rounds: {args.rounds}; ratios to Argon2id alone (median | min)")
    rows = [
        ("argon2id alone (128 MiB, t=3, p=1)", argon, ""),
        ("login (read, derive, decrypt, ping)", login, "goal <= 1.10x"),
        ("create-org (admin API, bootstrap, save, ping)", create, "goal <= 1.25x"),
    ]
    for name, samples, goal in rows:
        med, low = statistics.median(samples), min(samples)
        print(
            f"{name:48s} {med * 1000:7.1f} ms {med / statistics.median(argon):5.2f}x | "
            f"{low * 1000:7.1f} ms {low / min(argon):5.2f}x   {goal}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
