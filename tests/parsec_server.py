"""Start and stop a real Parsec server (``python -m parsec run --dev``) on a
free loopback port, for the tests and the benchmarks.

The server comes from the ``parsec-cloud`` package (3.9.3, Python 3.12): the
same interpreter that runs the tests must have it (``pip install .[test]``).
Under CI (``CI=true``) a missing package is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

ADMIN_TOKEN = "s3cr3t"  # what --dev sets


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def have_parsec_server() -> bool:
    try:
        import parsec  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class ParsecServer:
    port: int
    spontaneous: bool = False
    env: dict[str, str] = field(default_factory=dict)  # extra settings, e.g. PARSEC_SSE_KEEPALIVE
    proc: subprocess.Popen[bytes] | None = None
    log_path: str = ""
    _log: Any = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        """The server as a ``parsec3://`` address."""
        return f"parsec3://127.0.0.1:{self.port}?no_ssl=true"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_token(self) -> str:
        return ADMIN_TOKEN

    def start(self, timeout: float = 60.0) -> ParsecServer:
        args = [sys.executable, "-m", "parsec", "run", "--dev", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.spontaneous:
            args.append("--spontaneous-organization-bootstrap")
        fd, self.log_path = tempfile.mkstemp(prefix=f"parsec-server-{self.port}-", suffix=".log")
        self._log = os.fdopen(fd, "wb")
        env = dict(os.environ)
        env.pop("PARSEC_DB", None)
        env.update(self.env)
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the Parsec server exited early; see {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    pass
                # The socket may accept before the app is ready: probe the API.
                self.admin("GET", "/administration/organizations/__probe__", expect_error=True)
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the Parsec server did not start in {timeout} s; see {self.log_path}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None, *, expect_error: bool = False) -> Any:
        """Call the administration API; returns the decoded JSON reply."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.http_url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            if expect_error:
                return {"_status": exc.code}
            raise

    def create_organization(self, org: str) -> str:
        """Create ``org`` with the administration API; returns its bootstrap link."""
        return str(self.admin("POST", "/administration/organizations", {"organization_id": org})["bootstrap_url"])

    def organization(self, org: str) -> Any:
        return self.admin("GET", f"/administration/organizations/{org}")

    def users(self, org: str) -> list[dict[str, Any]]:
        return list(self.admin("GET", f"/administration/organizations/{org}/users")["users"])

    def __enter__(self) -> ParsecServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
