"""A loopback TCP proxy for the network-failure tests.

``TCPProxy(port).start()`` listens on a free loopback port and relays every
connection to ``127.0.0.1:port``.  From the tests' thread:

- :meth:`pause` / :meth:`resume`: stop relaying bytes on every connection
  (existing and new ones: new connections are accepted, and wait) — a
  silent network, the case only a keepalive timeout detects;
- :meth:`refuse`: new connections are reset as soon as they are accepted
  (a server that went away);
- :meth:`kill_connections`: reset every open connection, both sides;
- :meth:`on_reply_to`: when the answer to a request containing some bytes
  (``b"POST /anonymous/"``) arrives, call a function (kill the client, count)
  and pass the answer on or drop it (the connection is reset: the request
  reached the server, its answer is lost);
- :meth:`rewrite`: replace bytes (regular expressions, case-insensitive) in
  what clients send and in what the server answers, in each chunk relayed
  (headers arrive in one: enough to change a header's value).

One thread runs a ``selectors`` loop; control calls are executed by that
thread and return once done.
"""

from __future__ import annotations

import queue
import re
import selectors
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["TCPProxy"]


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class TCPProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._commands: queue.Queue[tuple[Callable[[], Any], threading.Event]] = queue.Queue()
        self._peers: dict[socket.socket, socket.socket] = {}
        self._paused = False
        self._refusing = False
        self._running = False
        self._thread = threading.Thread(target=self._loop, name="tcp-proxy", daemon=True)
        self.accepted = 0  # connections accepted so far (refused ones included)
        self._clients: set[socket.socket] = set()
        self._marker: bytes | None = None
        self._reply_action: Callable[[], str] | None = None
        self._armed: set[socket.socket] = set()  # upstream sockets whose next bytes are the watched answer
        Rewrites = tuple[tuple[re.Pattern[bytes], bytes], ...]
        self._rewrites: tuple[Rewrites, Rewrites] = ((), ())  # (requests, replies)
        self._then_refuse = False

    # --- control (any thread) ---------------------------------------------------

    def start(self) -> TCPProxy:
        self._running = True
        self._sel.register(self._listener, selectors.EVENT_READ, "accept")
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._thread.start()
        return self

    def _call(self, fn: Callable[[], Any]) -> None:
        done = threading.Event()
        self._commands.put((fn, done))
        self._wake_w.send(b"x")
        if not done.wait(10):
            raise RuntimeError("the proxy thread did not answer")

    def pause(self) -> None:
        self._call(lambda: self._set_paused(True))

    def resume(self) -> None:
        self._call(lambda: self._set_paused(False))

    def refuse(self, on: bool = True) -> None:
        def go() -> None:
            self._refusing = on

        self._call(go)

    def kill_connections(self) -> None:
        self._call(self._kill_all)

    def on_reply_to(
        self, marker: bytes | None, action: Callable[[], str] | None = None, *, then_refuse: bool = False
    ) -> None:
        """From now on, the first bytes of the answer to a request containing
        ``marker`` call ``action()`` in the proxy thread, before being relayed;
        it returns ``"pass"`` or ``"drop"``.  ``then_refuse``: after a drop,
        refuse new connections (the server is gone) until :meth:`refuse`
        ``(False)``.  ``None``: stop watching."""

        def go() -> None:
            self._marker, self._reply_action = marker, action
            self._then_refuse = then_refuse
            self._armed.clear()

        self._call(go)

    def rewrite(
        self,
        requests: tuple[tuple[bytes, bytes], ...] = (),
        replies: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        """From now on, each ``(pattern, replacement)`` of ``requests`` is
        applied to what clients send, each of ``replies`` to what the server
        answers; ``rewrite()`` stops it."""
        compiled = (
            tuple((re.compile(p, re.IGNORECASE), r) for p, r in requests),
            tuple((re.compile(p, re.IGNORECASE), r) for p, r in replies),
        )

        def go() -> None:
            self._rewrites = compiled

        self._call(go)

    @property
    def open_connections(self) -> int:
        return len(self._peers) // 2

    def stop(self) -> None:
        if self._running:
            self._call(self._shutdown)
            self._thread.join(10)
        for s in (self._wake_r, self._wake_w):
            s.close()

    def __enter__(self) -> TCPProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the loop thread -------------------------------------------------------------

    def _set_paused(self, paused: bool) -> None:
        if paused == self._paused:
            return
        self._paused = paused
        for s in self._peers:
            if paused:
                self._sel.unregister(s)
            else:
                self._sel.register(s, selectors.EVENT_READ, "relay")

    def _kill_all(self) -> None:
        for s in list(self._peers):
            self._drop(s)

    def _shutdown(self) -> None:
        self._kill_all()
        self._sel.unregister(self._listener)
        self._listener.close()
        self._running = False

    def _drop(self, s: socket.socket) -> None:
        other = self._peers.pop(s, None)
        for sock in (s, other):
            if sock is None:
                continue
            self._peers.pop(sock, None)
            self._clients.discard(sock)
            self._armed.discard(sock)
            try:
                self._sel.unregister(sock)
            except (KeyError, ValueError):
                pass
            _reset(sock)

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        self.accepted += 1
        if self._refusing:
            _reset(client)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _reset(client)
            return
        for s in (client, upstream):
            s.setblocking(True)
            s.settimeout(5)
        self._peers[client] = upstream
        self._peers[upstream] = client
        self._clients.add(client)
        if not self._paused:
            self._sel.register(client, selectors.EVENT_READ, "relay")
            self._sel.register(upstream, selectors.EVENT_READ, "relay")

    def _relay(self, s: socket.socket) -> None:
        other = self._peers.get(s)
        if other is None:
            return
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if data and self._marker is not None:
            if s in self._clients and self._marker in data:
                self._armed.add(other)
            elif s in self._armed:
                self._armed.discard(s)
                assert self._reply_action is not None
                if self._reply_action() == "drop":
                    self._drop(s)
                    if self._then_refuse:
                        self._refusing = True
                        self._kill_all()
                    return
        if data:
            for pattern, replacement in self._rewrites[0 if s in self._clients else 1]:
                data = pattern.sub(replacement, data)
        if not data:
            # Half-close would be more faithful; a full close is enough here.
            other_peer = other
            self._peers.pop(s, None)
            self._peers.pop(other_peer, None)
            for sock in (s, other_peer):
                self._clients.discard(sock)
                self._armed.discard(sock)
                try:
                    self._sel.unregister(sock)
                except (KeyError, ValueError):
                    pass
                sock.close()
            return
        try:
            other.sendall(data)
        except OSError:
            self._drop(s)

    def _loop(self) -> None:
        while self._running:
            for key, _ in self._sel.select():
                what = key.data
                if what == "wake":
                    try:
                        self._wake_r.recv(4096)
                    except BlockingIOError:
                        pass
                    while True:
                        try:
                            fn, done = self._commands.get_nowait()
                        except queue.Empty:
                            break
                        try:
                            fn()
                        finally:
                            done.set()
                    if not self._running:
                        return
                elif what == "accept":
                    self._accept()
                elif what == "relay":
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock in self._peers:
                        self._relay(sock)
