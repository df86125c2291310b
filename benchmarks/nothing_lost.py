"""The figures of issue 12 ("nothing lost, nothing unbounded"), at full
count (the tests run the same scenarios a few times each):

- organizations lost over N dropped bootstrap answers (a proxy passes the
  request and drops the answer; half the time the server then stays
  unreachable, and a login settles it later) and N CLI runs killed when the
  answer arrives (or a little after);
- peak memory of a CLI run (child process, ``resource.getrusage``) against
  a gzip bomb and an endless body;
- how long flows take against a server that sends one byte at a time, as a
  ratio of their deadline;
- Python errors over 10,000 fuzzed device files and 10,000 fuzzed links.

    .venv/bin/python benchmarks/nothing_lost.py [--drops 100] [--kills 100] [--fuzz 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from cli_runner import home_env  # noqa: E402
from fuzz import fuzz_device_files, fuzz_links  # noqa: E402
from hostile_server import HostileServer  # noqa: E402
from parsec_server import ParsecServer, free_port  # noqa: E402
from parsec_tray.core import flows  # noqa: E402
from parsec_tray.core.crypto import Argon2idParams  # noqa: E402
from parsec_tray.core.devices import build_password_file, list_device_files, load_device_with_password  # noqa: E402
from parsec_tray.core.errors import OutcomeUnknownError, ParsecTrayError  # noqa: E402
from tcp_proxy import TCPProxy  # noqa: E402
from test_bounds import LINK, run_measured  # noqa: E402
from test_faults import fast_params, make_local  # noqa: E402
from test_nothing_lost import BOOTSTRAP, create_org_killed_at_answer, proxied  # noqa: E402


def lost_organizations(server: ParsecServer, orgs: list[str], config: Path) -> tuple[int, int]:
    """(bootstrapped organizations, those whose keys are not here or do
    not log in once settled)."""
    kept = {}
    for d in list_device_files(config):
        kept[str(d.file.organization_id)] = d
    bootstrapped = lost = 0
    for org in orgs:
        state = server.admin("GET", f"/administration/organizations/{org}", expect_error=True)
        if not (isinstance(state, dict) and state.get("is_bootstrapped")):
            continue
        bootstrapped += 1
        d = kept.get(org)
        try:
            assert d is not None
            local = load_device_with_password(d.file, "pw")
            assert [u["user_id"] for u in server.users(org)] == [local.user_id.hex]
            flows.login(flows.DeviceInfo.from_file(d.path, d.file, d.pending), password="pw").close()
        except (AssertionError, ParsecTrayError):
            lost += 1
    return bootstrapped, lost


def dropped_answers(server: ParsecServer, n: int, work: Path) -> dict[str, object]:
    original = Argon2idParams.new_default
    Argon2idParams.new_default = classmethod(lambda cls: cls(8, 1, 1, secrets.token_bytes(16)))  # type: ignore[method-assign]
    config = work / "drops"
    orgs = [f"Drop{secrets.token_hex(4)}n{i}" for i in range(n)]
    settled_at_once = settled_later = 0
    try:
        with TCPProxy(server.port) as proxy:
            for i, org in enumerate(orgs):
                later = i % 2 == 1
                proxy.on_reply_to(BOOTSTRAP, lambda: "drop", then_refuse=later)
                try:
                    created = flows.create_organization(
                        proxied(proxy), org, "a@example.com", "A", "x", password="pw",
                        admin_token=server.admin_token, config_dir=config,
                    )
                    assert created.session is not None
                    created.session.close()
                    settled_at_once += 1
                except OutcomeUnknownError as exc:
                    proxy.on_reply_to(None)
                    proxy.refuse(False)
                    flows.login(exc.device_id, password="pw", config_dir=config).close()
                    settled_later += 1
            proxy.on_reply_to(None)
            bootstrapped, lost = lost_organizations(server, orgs, config)
    finally:
        Argon2idParams.new_default = original  # type: ignore[method-assign]
    return {"runs": n, "bootstrapped": bootstrapped, "lost": lost,
            "settled_at_once": settled_at_once, "settled_at_login": settled_later}


def kills(server: ParsecServer, n: int, work: Path) -> dict[str, object]:
    home = work / "kills"
    env = home_env(home, PARSEC_TRAY_ADMIN_TOKEN=server.admin_token)
    seed = secrets.randbits(32)
    rng = random.Random(seed)
    orgs = [f"Kill{secrets.token_hex(4)}n{i}" for i in range(n)]
    with TCPProxy(server.port) as proxy:
        for i, org in enumerate(orgs):
            create_org_killed_at_answer(proxy, org, env, 0.0 if i % 2 == 0 else rng.uniform(0.0, 0.3))
        proxy.on_reply_to(None)
        config = home / "config" / "parsec3" / "libparsec"
        pending = sum(1 for d in list_device_files(config) if d.pending)
        bootstrapped, lost = lost_organizations(server, orgs, config)
    return {"runs": n, "seed": seed, "bootstrapped": bootstrapped, "pending_before_login": pending, "lost": lost}


def memory(work: Path) -> dict[str, object]:
    token = work / "token"
    token.write_text("t\n")
    token.chmod(0o600)
    out: dict[str, object] = {}
    with HostileServer("bomb") as bomb:
        rc, peak, _ = run_measured(
            work / "bomb", "create-org", "--server", bomb.url, "--org", "O", "--email", "a@example.com",
            "--user-name", "A", "--device-label", "x", "--admin-token-file", str(token), "--password-stdin",
        )
        out["gzip_bomb_1GiB_peak_MB"] = round(peak)
    with HostileServer("endless") as endless:
        rc, peak, _ = run_measured(
            work / "endless", "bootstrap", LINK.format(port=endless.port), "--email", "a@example.com",
            "--user-name", "A", "--device-label", "x", "--password-stdin",
        )
        out["endless_body_peak_MB"] = round(peak)
    # The baseline, same run: a CLI run that only derives the default Argon2id key.
    base = subprocess.run(
        [sys.executable, "-c", "import resource; from parsec_tray.core.crypto import Argon2idParams, "
         "derive_password_key; derive_password_key('pw', Argon2idParams.new_default()); "
         "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"],
        capture_output=True, text=True, check=True,
    )
    out["argon2id_only_peak_MB"] = round(int(base.stdout) / 1024)
    return out


def deadlines(work: Path, deadline: float = 5.0) -> dict[str, object]:
    original = (flows.FLOW_DEADLINE, flows.LOGIN_DEADLINE, flows.SETTLE_DEADLINE)
    flows.FLOW_DEADLINE = flows.LOGIN_DEADLINE = deadline
    flows.SETTLE_DEADLINE = deadline / 2
    out: dict[str, object] = {"deadline_s": deadline}
    try:
        with HostileServer("slow", interval=0.5) as slow:
            for name, run in [
                ("create_org", lambda: flows.create_organization(
                    slow.url, "O", "a@example.com", "A", "x", password="pw", admin_token="t",
                    config_dir=work / "slow1")),
                ("bootstrap", lambda: flows.bootstrap_organization(
                    LINK.format(port=slow.port), "a@example.com", "A", "x", password="pw",
                    config_dir=work / "slow2")),
                ("login", lambda: flows.login(slow_device(work / "slow3", slow.port), password="pw",
                                              config_dir=work / "slow3")),
            ]:
                start = time.monotonic()
                try:
                    run()
                    outcome = "returned"
                except ParsecTrayError as exc:
                    outcome = type(exc).__name__
                out[name] = {"outcome": outcome, "elapsed_over_deadline": round((time.monotonic() - start) / deadline, 2)}
    finally:
        flows.FLOW_DEADLINE, flows.LOGIN_DEADLINE, flows.SETTLE_DEADLINE = original
    return out


def slow_device(config: Path, port: int) -> str:
    local = make_local(port)
    path = config / "devices" / f"{local.device_id.hex}.keys"
    path.parent.mkdir(parents=True)
    path.write_bytes(build_password_file(local, "pw", params=fast_params()).dump())
    return local.device_id.hex


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--drops", type=int, default=100)
    p.add_argument("--kills", type=int, default=100)
    p.add_argument("--fuzz", type=int, default=10_000)
    args = p.parse_args()
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with ParsecServer(free_port()) as server:
            figures["dropped_answers"] = dropped_answers(server, args.drops, work)
            figures["kills_at_answer"] = kills(server, args.kills, work)
        figures["memory"] = memory(work)
        figures["deadlines"] = deadlines(work)
        seed = secrets.randbits(32)
        valid = build_password_file(make_local(1), "pw", params=fast_params()).dump()
        loaded, errors = fuzz_device_files(args.fuzz, seed, valid, work / "fuzz")
        figures["fuzzed_device_files"] = {"cases": args.fuzz, "seed": seed, "loaded": loaded, "python_errors": len(errors)}
        parsed, errors = fuzz_links(args.fuzz, seed)
        figures["fuzzed_links"] = {"cases": args.fuzz, "seed": seed, "parsed": parsed, "python_errors": len(errors)}
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
