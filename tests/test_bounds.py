"""Nothing unbounded (issue 12): a reply's size, its decompression, an
event-stream frame, and the time a request or a flow may take.

A gzip bomb and an endless body are served from loopback to a CLI run in a
child process that reports its own peak memory (``resource.getrusage``,
Argon2id's 128 MiB included); a server sending one byte at a time meets
the overall deadlines.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from cli_runner import home_env
from hostile_server import HostileServer
from parsec_tray.core import events, flows, transport
from parsec_tray.core.addr import parse_server
from parsec_tray.core.errors import (
    DeadlineExceededError,
    OutcomeUnknownError,
    ProtocolError,
    ReplyTooLargeError,
)
from parsec_tray.core.values import OrganizationID
from test_faults import config_of, files_under

PEAK_LIMIT_MB = 400
LINK = "parsec3://127.0.0.1:{port}/Org?no_ssl=true&a=bootstrap_organization&p=xBCgAAAAAAAAAAAAAAAAAAAB"

# Runs the CLI in this child process, then writes its exit status and peak
# resident memory (KiB on Linux) to $PT_OUT.
PEAK_RUNNER = r"""
import json, os, resource, sys
from parsec_tray.cli.main import main
rc = main(sys.argv[1:])
with open(os.environ["PT_OUT"], "w") as f:
    json.dump({"rc": rc, "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}, f)
"""


def run_measured(tmp_path: Path, *args: str, **env: str) -> tuple[int, float, str]:
    out = tmp_path / "peak.json"
    r = subprocess.run(
        [sys.executable, "-c", PEAK_RUNNER, *args], input="pw\n", capture_output=True, text=True, timeout=180,
        env=home_env(tmp_path, PT_OUT=str(out), **env),
    )
    assert "Traceback" not in r.stderr, r.stderr
    result = json.loads(out.read_text())
    return int(result["rc"]), result["peak_kib"] / 1024, r.stderr.strip()


def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "admin-token"
    path.write_text("s3cr3t\n")
    path.chmod(0o600)
    return path


# --- size and decompression ------------------------------------------------------------------------


def test_gzip_bomb_stays_within_memory(tmp_path: Path) -> None:
    with HostileServer("bomb") as server:
        rc, peak_mb, stderr = run_measured(
            tmp_path, "create-org", "--server", server.url, "--org", "Org", "--email", "a@example.com",
            "--user-name", "A", "--device-label", "x", "--admin-token-file", str(token_file(tmp_path)),
            "--password-stdin",
        )
        assert server.requests >= 1
    assert rc == 1 and len(stderr.splitlines()) == 1 and "larger than" in stderr, stderr
    assert peak_mb <= PEAK_LIMIT_MB, f"peak {peak_mb:.0f} MB"
    assert files_under(config_of(tmp_path)) == []  # nothing was sent to bootstrap: nothing kept


def test_endless_body_stays_within_memory(tmp_path: Path) -> None:
    with HostileServer("endless") as server:
        rc, peak_mb, stderr = run_measured(
            tmp_path, "bootstrap", LINK.format(port=server.port), "--email", "a@example.com",
            "--user-name", "A", "--device-label", "x", "--password-stdin",
        )
    # The bootstrap request was sent: its answer is unusable, so the keys
    # are kept (pending) and the person told so.
    assert rc == 1 and len(stderr.splitlines()) == 1, stderr
    assert "larger than" in stderr and "Nothing is lost" in stderr, stderr
    assert peak_mb <= PEAK_LIMIT_MB, f"peak {peak_mb:.0f} MB"
    [kept] = files_under(config_of(tmp_path))
    assert kept.name.endswith(".keys.pending")


def test_reply_cap_is_a_structured_error() -> None:
    with HostileServer("endless") as server:
        t = transport.Transport(parse_server(server.url), max_reply_size=1 << 20)
        with pytest.raises(ReplyTooLargeError) as info:
            t.command("anonymous", OrganizationID("Org"), b"\x80", {})
        t.close()
    assert info.value.limit == 1 << 20 and "1 MiB" in str(info.value)


def test_decompression_is_bounded_and_still_decodes() -> None:
    too_large = ReplyTooLargeError("x", limit=100)
    data = b"parsec" * 10
    gz = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    assert transport._decode_bounded(gz.compress(data) + gz.flush(), "gzip", 100, too_large) == data
    assert transport._decode_bounded(zlib.compress(data), "deflate", 100, too_large) == data
    assert transport._decode_bounded(raw.compress(data) + raw.flush(), "deflate", 100, too_large) == data
    with pytest.raises(ReplyTooLargeError):
        transport._decode_bounded(zlib.compress(bytes(101)), "deflate", 100, too_large)
    with pytest.raises(ProtocolError):
        transport._decode_bounded(b"x", "br", 100, too_large)


def test_event_stream_frame_is_bounded() -> None:
    parser = events.SSEParser()
    line = "data:" + "x" * 1024 * 1024 + "\n"
    frames = []
    for _ in range(events.MAX_FRAME // (1024 * 1024) + 2):
        frames += parser.feed(line.encode())
        assert sum(len(d) for d in parser._data) <= events.MAX_FRAME
    frames += parser.feed(b"\nevent:keepalive\ndata:\n\n")
    assert [f.event for f in frames] == ["keepalive"]  # the huge frame dropped whole, the next one fine


# --- deadlines ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["slow", "slow_body"])
def test_request_deadline_against_a_trickling_server(mode: str) -> None:
    with HostileServer(mode, interval=0.05) as server:
        t = transport.Transport(parse_server(server.url), request_deadline=1.0)
        with pytest.raises(DeadlineExceededError) as info:
            t.command("anonymous", OrganizationID("Org"), b"\x80", {})
        t.close()
    assert info.value.seconds == 1.0 and info.value.request_sent
    assert "within 1 seconds" in str(info.value)


def test_flow_deadline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast_argon2: None) -> None:
    monkeypatch.setattr(flows, "FLOW_DEADLINE", 1.5)
    monkeypatch.setattr(flows, "SETTLE_DEADLINE", 0.5)
    config = tmp_path / "cfg"
    with HostileServer("slow", interval=0.05) as server:
        # Administration API first: nothing sent to bootstrap, nothing kept.
        with pytest.raises(DeadlineExceededError) as info:
            flows.create_organization(
                server.url, "Org", "a@example.com", "A", "x", password="pw", admin_token="t", config_dir=config
            )
        assert info.value.seconds == 1.5
        assert files_under(config) == []
        # A bootstrap link: the request went out, its answer never ends.
        with pytest.raises(OutcomeUnknownError) as unknown:
            flows.bootstrap_organization(
                LINK.format(port=server.port), "a@example.com", "A", "x", password="pw", config_dir=config
            )
    assert isinstance(unknown.value.cause, DeadlineExceededError)
    assert unknown.value.device_file.exists() and unknown.value.device_file.name.endswith(".keys.pending")


def test_sigterm_during_a_stalled_request_leaves_nothing(tmp_path: Path) -> None:
    with HostileServer("slow") as server:
        proc = subprocess.Popen(
            [sys.executable, "-m", "parsec_tray.cli", "create-org", "--server", server.url, "--org", "Org",
             "--email", "a@example.com", "--user-name", "A", "--device-label", "x", "--password-stdin"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=home_env(tmp_path, PARSEC_TRAY_ADMIN_TOKEN="t"),
        )
        assert proc.stdin is not None
        proc.stdin.write("pw\n")
        proc.stdin.close()
        assert server.got_request.wait(60)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        assert proc.stderr is not None
        err = proc.stderr.read()
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert files_under(config_of(tmp_path)) == []


def test_no_automatic_decompression_is_asked(tmp_path: Path) -> None:
    t = transport.Transport(parse_server("parsec3://127.0.0.1:1?no_ssl=true"))
    assert t._get_session().headers["Accept-Encoding"] == "identity"
    t.close()


