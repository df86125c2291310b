"""Benchmark: the recovery and change-of-protection flows against Argon2id
alone and an authenticated ping, measured in the same run against a real
Parsec server on loopback (parsec-cloud 3.9.3 must be installed).

- export-recovery: no key derivation, one ``device_create`` and the file fsynced: goal <= 5x a ping;
- import-recovery: one Argon2id, ``device_create`` and a ping: goal <= 1.25x Argon2id;
- change of password: two Argon2id (unlock, new salt), no network: goal <= 2.2x Argon2id;
- own devices and the at-risk rule (``certificate_get`` and the verified walk): goal <= 3x a ping.

    python benchmarks/recovery_flows.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from parsec_server import ParsecServer, free_port  # noqa: E402
from parsec_tray.core import api  # noqa: E402
from parsec_tray.core.crypto import Argon2idParams, derive_password_key  # noqa: E402

PASSWORD = "correct horse battery staple"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="parsec-tray-bench-"))
    os.environ["PARSEC_BASE_CONFIG_DIR"] = str(tmp / "config")
    os.environ["PARSEC_BASE_DATA_DIR"] = str(tmp / "data")
    samples: dict[str, list[float]] = {k: [] for k in ("argon", "ping", "export", "import", "change", "risk")}

    with ParsecServer(free_port()) as server:
        created = api.create_organization(
            server.url, "BenchRec", "a@example.com", "A", "d", password=PASSWORD, admin_token=server.admin_token
        )
        session = created.session
        assert session is not None
        first = api.export_recovery_device(session, tmp / "warm.psrk")  # warm up
        passwords = [PASSWORD]

        def timed(name: str, fn: Callable[[], object]) -> None:
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)

        def run_import(i: int) -> None:
            c = None

            def go() -> None:
                nonlocal c
                c = api.import_recovery_device(first.recovery_file, first.passphrase, f"bench {i}", password=PASSWORD)

            timed("import", go)
            if c is not None and c.session is not None:
                c.session.close()

        def run_change(_i: int) -> None:
            new = f"pw {len(passwords)}"
            timed("change", lambda: api.change_authentication(
                created.device_file, current_password=passwords[-1], new_password=new))
            passwords.append(new)

        steps: list[Callable[[int], None]] = [
            lambda _i: timed("argon", lambda: derive_password_key(PASSWORD, Argon2idParams.new_default())),
            lambda _i: timed("ping", session.ping),
            lambda i: timed("export", lambda: api.export_recovery_device(session, tmp / f"r{i}.psrk")),
            run_import,
            run_change,
            lambda _i: timed("risk", lambda: api.session_security_warnings(session)),
        ]
        rng = random.Random(8)
        for i in range(args.rounds):
            order = list(steps)
            rng.shuffle(order)  # the machine's noise hits them alike
            for step in order:
                step(i)
        session.close()

    argon, ping = statistics.median(samples["argon"]), statistics.median(samples["ping"])
    print(f"rounds: {args.rounds}; medians, and ratios to the baseline measured in this run")
    rows = [
        ("argon2id alone (128 MiB, t=3, p=1)", "argon", argon, ""),
        ("authenticated ping", "ping", ping, ""),
        ("export-recovery", "export", ping, "goal <= 5x ping"),
        ("import-recovery", "import", argon, "goal <= 1.25x argon2id"),
        ("change password", "change", argon, "goal <= 2.2x argon2id"),
        ("own devices + at-risk (after N exports)", "risk", ping, "goal <= 3x ping"),
    ]
    for label, key, base, goal in rows:
        med = statistics.median(samples[key])
        print(f"{label:42s} {med * 1000:8.1f} ms {med / base:6.2f}x   {goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
