"""``parsec-tray demo``: a real Parsec server on loopback and the tray
pointed at it, to try Create organization -> Log out -> Log in with nothing
else installed.

The server is ``python -m parsec run --dev`` from the ``parsec-cloud``
package (in-memory database: everything is gone when the demo ends).  The
demo keeps its device files in a temporary directory too (a device of a
server that no longer exists is useless).  It is the user's one Parsec Tray
instance while it runs (``parsec-tray status`` sees it); it refuses to start
beside a running Parsec Tray.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .i18n import _

__all__ = ["DEMO_ADMIN_TOKEN", "DemoServer", "demo_server", "have_parsec_server", "run_demo"]

DEMO_ADMIN_TOKEN = "s3cr3t"  # what `parsec run --dev` sets
_PASTE = "export PARSEC_BASE_CONFIG_DIR={config} PARSEC_BASE_DATA_DIR={data}"


def have_parsec_server() -> bool:
    from importlib.util import find_spec

    return find_spec("parsec") is not None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DemoServer:
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"parsec3://127.0.0.1:{self.port}?no_ssl=true"


def _ready(port: int) -> bool:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/administration/organizations/__probe__",
        headers={"Authorization": f"Bearer {DEMO_ADMIN_TOKEN}"},
    )
    try:
        urllib.request.urlopen(req, timeout=1).close()
    except urllib.error.HTTPError:
        return True  # 404: the app answers
    except OSError:
        return False
    return True


@contextlib.contextmanager
def demo_server(workdir: Path, timeout: float = 60.0) -> Iterator[DemoServer]:
    port = _free_port()
    log_path = workdir / "parsec-server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "parsec", "run", "--dev", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = DemoServer(port, proc, log_path)
    try:
        deadline = time.monotonic() + timeout
        while not _ready(port):
            if proc.poll() is not None:
                raise RuntimeError(f"the Parsec server exited (status {proc.returncode}); see {log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Parsec server did not start in {timeout:.0f} s; see {log_path}")
            time.sleep(0.2)
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run_demo(*, backend: str | None = None, keep: bool = False, out: TextIO | None = None) -> int:
    out = out or sys.stderr
    if not have_parsec_server():
        print(
            _(
                "The demo needs the Parsec server from the 'parsec-cloud' package (Python 3.12):\n"
                "    pip install 'parsec-cloud==3.9.3'\n"
                "or point Parsec Tray at an existing server with 'Create organization…'."
            ),
            file=out,
        )
        return 1
    from . import instance
    from .app import EXIT_NO_DISPLAY, NO_DISPLAY
    from .backends import choose

    choice = choose(backend)
    if choice.name == "none":
        print(_(NO_DISPLAY).format(reason=choice.reason), file=out)
        return EXIT_NO_DISPLAY
    try:
        instance.request({"cmd": "status"}, timeout=5)
    except instance.NotRunning:
        pass
    else:
        print(_("Parsec Tray is already running: quit it (menu > Quit) to try the demo."), file=out)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="parsec-tray-demo-"))

    # Nothing of the demo outlives it: its devices, its keyring user (and
    # entry, deleted at the end), its settings are in its own folder.
    os.environ["PARSEC_BASE_CONFIG_DIR"] = str(workdir / "config")
    os.environ["PARSEC_BASE_DATA_DIR"] = str(workdir / "data")
    os.environ["PARSEC_TRAY_CONFIG_DIR"] = str(workdir / "tray")
    try:
        print(_("Starting a local Parsec server…"), file=out, flush=True)
        with demo_server(workdir) as server:
            print(
                _(
                    "Demo server: {server} (administration token {token}).\n"
                    "Right-click the Parsec Tray icon, then 'Create organization…': the server and its token are\n"
                    "already filled in. Quit from the menu (or Ctrl+C) to stop the demo; it leaves nothing behind.\n"
                    "For the command line to see the demo's devices, paste in another terminal:\n"
                    "    {paste}"
                ).format(
                    server=server.url,
                    token=DEMO_ADMIN_TOKEN,
                    paste=_PASTE.format(
                        config=shlex.quote(str(workdir / "config")), data=shlex.quote(str(workdir / "data"))
                    ),
                ),
                file=out,
                flush=True,
            )
            from .app import run
            from .controller import AppOptions

            return run(
                backend=backend,
                options=AppOptions.from_environment(
                    os.environ,
                    default_server=server.url,
                    admin_token=DEMO_ADMIN_TOKEN,
                    demo_server=server.url,
                ),
                out=out,
            )
    except RuntimeError as exc:
        print(_("Error: {message}").format(message=exc), file=out)
        return 1
    finally:
        if keep:
            print(_("Demo files kept in {path}").format(path=workdir), file=out)
        else:
            from ..core import forget_keyring_user

            forget_keyring_user()  # the demo's keyring entry, if it made one
            shutil.rmtree(workdir, ignore_errors=True)
