"""A hostile HTTP server on loopback, for the bounds tests.

``HostileServer(mode)`` answers every request (any path) after reading it:

- ``"bomb"``: 200, ``Content-Encoding: gzip``, a 1 MB body that inflates
  to 1 GiB of zeros;
- ``"endless"``: 200, chunked, 64 KiB chunks for ever;
- ``"slow"``: one byte of a status line every ``interval`` seconds, for ever
  (every read is in time, the whole never comes);
- ``"slow_body"``: the headers at once, then one byte of body every
  ``interval`` seconds.

``requests`` counts the requests read; ``got_request`` is set at the first.
One thread per connection; :meth:`stop` closes them all.
"""

from __future__ import annotations

import socket
import threading
import zlib
from functools import cache

__all__ = ["HostileServer", "gzip_bomb"]

MSGPACK = "application/msgpack"


@cache
def gzip_bomb(inflated: int = 1 << 30) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    out = [c.compress(zeros) for _ in range(inflated // len(zeros))]
    out.append(c.flush())
    return b"".join(out)


class HostileServer:
    def __init__(self, mode: str, *, interval: float = 0.2) -> None:
        self.mode = mode
        self.interval = interval
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.requests = 0
        self.got_request = threading.Event()
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        if mode == "bomb":
            gzip_bomb()  # made before the first request

    @property
    def url(self) -> str:
        return f"parsec3://127.0.0.1:{self.port}?no_ssl=true"

    def start(self) -> HostileServer:
        threading.Thread(target=self._accept, name="hostile-server", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        try:
            self._sock.close()
        except OSError:
            pass
        with self._lock:
            for c in self._conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _read_request(self, conn: socket.socket) -> bool:
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            body += chunk
        self.requests += 1
        self.got_request.set()
        return True

    def _serve(self, conn: socket.socket) -> None:
        try:
            while not self._stop.is_set() and self._read_request(conn):
                getattr(self, f"_{self.mode}")(conn)
        except OSError:
            pass

    def _bomb(self, conn: socket.socket) -> None:
        body = gzip_bomb()
        conn.sendall(
            f"HTTP/1.1 200 OK\r\nContent-Type: {MSGPACK}\r\nContent-Encoding: gzip\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        )

    def _endless(self, conn: socket.socket) -> None:
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: {MSGPACK}\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        chunk = b"10000\r\n" + b"\x00" * 0x10000 + b"\r\n"
        while not self._stop.is_set():
            conn.sendall(chunk)

    def _trickle(self, conn: socket.socket, data: bytes) -> None:
        for i in range(len(data)):
            if self._stop.wait(self.interval):
                return
            conn.sendall(data[i : i + 1])

    def _slow(self, conn: socket.socket) -> None:
        while not self._stop.is_set():
            self._trickle(conn, b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000)

    def _slow_body(self, conn: socket.socket) -> None:
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: {MSGPACK}\r\nContent-Length: 100000\r\n\r\n".encode())
        self._trickle(conn, b"\x00" * 100_000)
