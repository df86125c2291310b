"""One running instance per user: a local socket speaking JSON lines.

The first ``parsec-tray`` takes an exclusive lock (``instance.lock``) and
listens; any later launch finds the lock taken, connects, sends its request
(one JSON object on one line) and reads one JSON line back.  Requests are
``{"cmd": "status"}``, ``{"cmd": "open", "args": [...]}``, ``{"cmd": "menu"}``,
``{"cmd": "action", "action": ..., "arg": ...}`` and ``{"cmd": "quit"}``.

Where (the only platform-specific part):

- Linux/macOS: a Unix socket ``instance.sock`` in the runtime directory:
  ``$PARSEC_TRAY_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/parsec-tray``, else
  ``<tmp>/parsec-tray-<uid>``; the directory (and any parent it creates) is
  made mode 0700 whatever the umask, and refused, with one sentence, if it
  is a symbolic link, not a folder, or another user's.  Only the user can
  connect.
- Windows: a loopback TCP port and a random token, written to
  ``instance.json`` in the per-user runtime directory; a request without the
  token is refused (any local user could reach the port).

``PARSEC_TRAY_RUNTIME_DIR`` lets tests run two instances side by side.

json is imported where requests are read and written, not at import, and
paths are plain strings (no :mod:`pathlib`): the first launch takes the lock
and listens before its icon shows, and reads its first request only after
(``benchmarks/tray_startup.py``).

The server answers each client in its own short-lived thread with a
:data:`CLIENT_TIMEOUT`: one slow or silent local client blocks nobody.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from .i18n import N_

__all__ = ["AFTER_REPLY", "InstanceLock", "InstanceServer", "NotRunning", "acquire", "request", "runtime_dir"]

Handler = Callable[[dict[str, Any]], dict[str, Any]]
# A handler's reply may carry a callable under this key: it runs once the
# reply is sent (``quit`` must not end the process before answering).
AFTER_REPLY = "__after_reply__"
IS_WINDOWS = sys.platform == "win32"
MAX_LINE = 1 << 20
CLIENT_TIMEOUT = 2.0  # seconds a client has to send its request and read the reply
StrPath = str | os.PathLike[str]


class NotRunning(Exception):
    """No instance answers."""


def runtime_dir() -> str:
    import tempfile  # noqa: F401 (only for the fallbacks below)

    explicit = os.environ.get("PARSEC_TRAY_RUNTIME_DIR")
    if explicit:
        path = explicit
    elif IS_WINDOWS:
        base = os.environ.get("LOCALAPPDATA") or tempfile.gettempdir()
        path = os.path.join(base, "parsec-tray", "run")
    elif os.environ.get("XDG_RUNTIME_DIR"):
        path = os.path.join(os.environ["XDG_RUNTIME_DIR"], "parsec-tray")
    else:
        path = os.path.join(tempfile.gettempdir(), f"parsec-tray-{os.getuid()}")
    return _private_dir(path)


def _private_dir(path: str) -> str:
    """``path`` as a folder of ours, mode 0700, never through a symbolic
    link (in a shared /tmp another user could have made it first)."""
    from ..core import make_private_dirs

    try:
        make_private_dirs(path)
        st = os.lstat(path)
    except OSError as exc:
        raise _refused(
            path, N_("The runtime folder {path} cannot be created ({reason})."), reason=exc.strerror
        ) from None
    if IS_WINDOWS:
        return path
    import stat

    if stat.S_ISLNK(st.st_mode):
        raise _refused(path, N_("The runtime folder {path} is a symbolic link; it was not used."))
    if not stat.S_ISDIR(st.st_mode):
        raise _refused(path, N_("The runtime folder {path} is not a folder; it was not used."))
    if st.st_uid != os.getuid():
        raise _refused(path, N_("The runtime folder {path} belongs to another user; it was not used."))
    if st.st_mode & 0o077:
        try:
            os.chmod(path, 0o700, follow_symlinks=False)
        except (OSError, NotImplementedError):
            raise _refused(
                path, N_("The runtime folder {path} is open to other users and cannot be made private.")
            ) from None
    return path


def _refused(path: str, sentence: str, **facts: Any) -> Exception:
    """The error for a runtime folder we cannot use (core's errors are
    imported only then: they are not needed before the icon otherwise)."""
    from ..core.errors import LocalError
    from .i18n import _

    hint = _("Remove it, or set PARSEC_TRAY_RUNTIME_DIR to a folder of yours.")
    return LocalError(_(sentence).format(path=path, **facts), hint=hint)


# -- the lock ----------------------------------------------------------------


class InstanceLock:
    """An exclusive, process-lifetime lock on ``instance.lock``."""

    def __init__(self, path: str, fh: IO[bytes]) -> None:
        self.path = path
        self._fh = fh

    @classmethod
    def try_acquire(cls, directory: str) -> InstanceLock | None:
        path = os.path.join(directory, "instance.lock")
        fh = open(path, "a+b")  # noqa: SIM115 (held for the process lifetime)
        try:
            if IS_WINDOWS:
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return None
        return cls(path, fh)

    def release(self) -> None:
        with contextlib.suppress(OSError):
            self._fh.close()


# -- the endpoint ------------------------------------------------------------


def _listen(directory: str) -> tuple[socket.socket, str | None]:
    """A listening socket; on Windows also the token clients must send."""
    if IS_WINDOWS:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        import json
        import secrets

        token = secrets.token_hex(16)
        info = os.path.join(directory, "instance.json")
        tmp = os.path.join(directory, "instance.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps({"port": sock.getsockname()[1], "token": token, "pid": os.getpid()}))
        os.replace(tmp, info)
        return sock, token
    path = os.path.join(directory, "instance.sock")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # stale: we hold the lock, so nobody else listens here
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    sock.listen(8)
    return sock, None


def _connect(directory: str, timeout: float) -> tuple[socket.socket, str | None]:
    if IS_WINDOWS:
        import json

        try:
            with open(os.path.join(directory, "instance.json"), encoding="utf-8") as f:
                info = json.loads(f.read())
        except (OSError, ValueError):
            raise NotRunning() from None
        sock = socket.create_connection(("127.0.0.1", int(info["port"])), timeout=timeout)
        return sock, str(info["token"])
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(os.path.join(directory, "instance.sock"))
    except OSError:
        sock.close()
        raise
    return sock, None


def _same(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a, b)


def _read_line(sock: socket.socket) -> bytes:
    buf = bytearray()
    while b"\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
        if len(buf) > MAX_LINE:
            raise ValueError("line too long")
    return bytes(buf).split(b"\n", 1)[0]


class InstanceServer:
    """Answers requests from later launches: a daemon thread blocked in
    ``accept()`` (no CPU while idle) hands each connection to a thread of
    its own, which gives up after :data:`CLIENT_TIMEOUT`."""

    def __init__(self, lock: InstanceLock, directory: StrPath) -> None:
        self.lock = lock
        self.directory = os.fspath(directory)
        self._sock, self._token = _listen(self.directory)
        self._thread: threading.Thread | None = None
        self._closed = False
        self._handler_lock = threading.Lock()

    def serve(self, handler: Handler) -> None:
        self._thread = threading.Thread(
            target=self._loop, args=(handler,), name="instance-server", daemon=True
        )
        self._thread.start()

    def _loop(self, handler: Handler) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(
                target=self._client, args=(conn, handler), name="instance-client", daemon=True
            ).start()

    def _client(self, conn: socket.socket, handler: Handler) -> None:
        with conn:
            conn.settimeout(CLIENT_TIMEOUT)
            try:
                self._answer(conn, handler)
            except (OSError, ValueError):
                pass

    def _answer(self, conn: socket.socket, handler: Handler) -> None:
        import json

        try:
            req = json.loads(_read_line(conn) or b"null")
        except ValueError:
            req = None
        if not isinstance(req, dict):
            reply: dict[str, Any] = {"ok": False, "error": "bad request"}
        elif self._token is not None and not _same(str(req.get("token", "")), self._token):
            reply = {"ok": False, "error": "bad token"}
        else:
            req.pop("token", None)
            try:
                with self._handler_lock:  # reads and writes are concurrent; the handler runs one at a time
                    reply = handler(req)
            except Exception as exc:  # a bug must not kill the server thread
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        after = reply.pop(AFTER_REPLY, None)
        try:
            conn.sendall(json.dumps(reply).encode() + b"\n")
        finally:
            if callable(after):
                after()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._sock.close()
        name = "instance.json" if IS_WINDOWS else "instance.sock"
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(self.directory, name))
        self.lock.release()


def acquire(directory: StrPath | None = None) -> InstanceServer | None:
    """Become the instance (listening, not yet serving), or ``None`` when
    another process holds the lock."""
    where = os.fspath(directory) if directory is not None else runtime_dir()
    lock = InstanceLock.try_acquire(where)
    if lock is None:
        return None
    try:
        return InstanceServer(lock, where)
    except BaseException:
        lock.release()
        raise


def request(
    msg: dict[str, Any], *, directory: StrPath | None = None, timeout: float = 10.0, wait: float = 0.0
) -> dict[str, Any]:
    """Send one request to the running instance; :class:`NotRunning` when
    none answers.  ``wait``: keep trying that long (an instance that holds the
    lock but is not listening yet)."""
    import json

    where = os.fspath(directory) if directory is not None else runtime_dir()
    deadline = time.monotonic() + wait
    while True:
        try:
            sock, token = _connect(where, timeout)
            break
        except (OSError, NotRunning):
            if time.monotonic() >= deadline:
                raise NotRunning() from None
            time.sleep(0.05)
    with sock:
        body = dict(msg)
        if token is not None:
            body["token"] = token
        sock.sendall(json.dumps(body).encode() + b"\n")
        try:
            line = _read_line(sock)
        except (OSError, ValueError):
            raise NotRunning() from None
    if not line:
        raise NotRunning()
    reply = json.loads(line)
    if not isinstance(reply, dict):
        raise NotRunning()
    return reply
