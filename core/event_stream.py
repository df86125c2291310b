"""The server's event stream (``GET /authenticated/<org>/events``), kept
open in a background thread.

Invariants:
- One daemon thread per :class:`EventStream`; it blocks in socket reads and
  in ``Event.wait`` (backoff), never polls.
- A connection that stays silent longer than the server's keepalive
  (``sse_keepalive_seconds`` of ORGANIZATION_CONFIG, 30 s until known) plus
  :data:`KEEPALIVE_MARGIN` is dead: the socket read timeout says so.
- The reconnection rules are :class:`~parsec_tray.core.reconnect.Reconnect`'s
  (sans-I/O; this thread only does what it answers): reconnections wait
  ``backoff_delay`` (0.5 s doubling up to 30 s, with jitter) and send
  ``Last-Event-ID`` so the server replays what was missed; events already
  seen (same id) are not delivered twice.  When the server cannot replay
  (``missed_events``), or when we reconnect without any id after having
  been connected, ``on_resync`` is called: the caller must re-read its
  state (``invite_list``...).
- ``on_state(state, message)`` is called on changes only, with ``"online"``,
  ``"offline"`` (retrying; ``message`` says why) or ``"error"`` (final: the
  server refused the device, e.g. revoked; ``message`` is the sentence of
  the :class:`~parsec_tray.core.errors.ParsecTrayError`, kept in
  :attr:`EventStream.error`).  A refusal (404, 460-463, 498, 422) is final:
  the stream never knocks again by itself; its owner decides when to (the
  tray retries slowly, or when the person asks).
- Callbacks run in the stream's thread; their exceptions are logged and
  never stop the stream.
- :meth:`EventStream.stop` shuts the socket down from the calling thread so
  a blocked read returns at once.  While a connection is being *opened*
  (TCP connect, response headers) ``stop`` only waits ``timeout`` seconds;
  the thread then exits by itself when that attempt ends.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from . import protocol
from .errors import ParsecTrayError, RemoteError, ServerUnavailableError, ServerUnreachableError
from .events import Event, EventParser
from .reconnect import (
    BACKOFF_INITIAL,
    BACKOFF_MAX,
    DEFAULT_KEEPALIVE,
    KEEPALIVE_MARGIN,
    Deliver,
    Effect,
    Phase,
    ReadTimeout,
    Reconnect,
    Report,
    Resync,
    RetryAt,
    backoff_delay,
)
from .transport import Transport

if TYPE_CHECKING:
    import requests

    from .session import Session

__all__ = [
    "BACKOFF_INITIAL",
    "BACKOFF_MAX",
    "DEFAULT_KEEPALIVE",
    "KEEPALIVE_MARGIN",
    "EventStream",
    "backoff_delay",
]

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
_READ_SIZE = 64 * 1024
_RETRYABLE_STATUSES = (408, 425, 429)

OnEvent = Callable[[Event], None]
OnState = Callable[[str, "str | None"], None]
OnResync = Callable[[], None]


class _Retry(Exception):
    """This connection attempt failed or dropped; try again later."""


class _Stop(Exception):
    pass


class EventStream:
    def __init__(
        self,
        session: Session,
        on_event: OnEvent,
        on_state: OnState | None = None,
        on_resync: OnResync | None = None,
        *,
        last_event_id: str | None = None,
        transport: Transport | None = None,
        backoff_initial: float = BACKOFF_INITIAL,
        backoff_max: float = BACKOFF_MAX,
        keepalive: float = DEFAULT_KEEPALIVE,
        keepalive_margin: float = KEEPALIVE_MARGIN,
        connect_timeout: float = CONNECT_TIMEOUT,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._on_event = on_event
        self._on_state = on_state
        self._on_resync = on_resync
        # A transport of its own: the stream holds one connection for hours
        # and must not share the fate (resets) of the command pool.
        self._own_transport = transport is None
        self._transport = transport or Transport(session.transport.server)
        self._rules = Reconnect(
            last_event_id=last_event_id,
            keepalive=keepalive,
            keepalive_margin=keepalive_margin,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
            rng=rng,
        )
        self._connect_timeout = connect_timeout
        self._clock = clock
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._resp: requests.Response | None = None
        self.error: ParsecTrayError | None = None
        self._thread: threading.Thread | None = None
        org = quote(str(session.device.organization_id), safe="")
        self._path = f"/authenticated/{org}/events"

    # --- public -------------------------------------------------------------------

    @property
    def state(self) -> str | None:
        return self._rules.reported

    @property
    def last_event_id(self) -> str | None:
        return self._rules.last_event_id

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> EventStream:
        if self._thread is not None:
            raise RuntimeError("an EventStream starts once")
        self._thread = threading.Thread(target=self._run, name="parsec-tray-events", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the stream; returns within ``timeout`` seconds."""
        self._stop.set()
        with self._lock:
            resp = self._resp
        if resp is not None:
            _shutdown(resp)
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)
        if self._own_transport and (t is None or not t.is_alive()):
            self._transport.close()

    def __enter__(self) -> EventStream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the thread ------------------------------------------------------------------

    def _run(self) -> None:
        rules = self._rules
        try:
            while not self._stop.is_set():
                rules.connect()
                try:
                    self._connect_and_read()
                except _Retry as exc:
                    if self._stop.is_set():
                        break
                    self._do(rules.dropped(str(exc), self._clock()))
                except _Stop:
                    break
                except ParsecTrayError as exc:
                    self.error = exc
                    log.warning("event stream stopped: %s", exc)
                    self._do(rules.refused(str(exc)))
                    return
            rules.stop()
        except Exception:  # pragma: no cover - a bug: say it, do not die silently
            log.exception("event stream crashed")
            if rules.phase not in (Phase.REFUSED, Phase.STOPPED):
                self._do(
                    rules.refused(
                        "The connection to the server's events stopped because of an internal error."
                    )
                )
        finally:
            if self._own_transport:
                self._transport.close()

    def _do(self, effects: Iterable[Effect], resp: requests.Response | None = None) -> None:
        """What the rules answered, in order."""
        for effect in effects:
            match effect:
                case Report(state, message):
                    if self._on_state is not None:
                        self._call(self._on_state, state, message)
                case Deliver(event):
                    self._call(self._on_event, event)
                case Resync():
                    if self._on_resync is not None:
                        self._call(self._on_resync)
                case ReadTimeout(seconds):
                    if resp is not None:
                        _set_read_timeout(resp, seconds)
                case RetryAt(at, delay):
                    log.info("event stream: retrying in %.1f s", delay)
                    self._stop.wait(max(0.0, at - self._clock()))

    def _connect_and_read(self) -> None:
        headers = self._session.client.events_headers(self._rules.last_event_id)
        headers["Accept-Encoding"] = "identity"  # a compressed stream would be buffered
        try:
            resp = self._transport.request(
                "GET",
                self._path,
                headers=headers,
                stream=True,
                timeout=(self._connect_timeout, self._rules.read_timeout),
            )
        except ServerUnreachableError as exc:
            raise _Retry(str(exc)) from None
        with self._lock:
            self._resp = resp
        try:
            if self._stop.is_set():
                raise _Stop()
            self._check_handshake(resp)
            self._do(self._rules.connected(), resp)
            self._read(resp)
        finally:
            with self._lock:
                self._resp = None
            try:
                resp.close()
            except Exception:  # noqa: BLE001 - closing a broken socket
                pass

    def _check_handshake(self, resp: requests.Response) -> None:
        if resp.status_code != 200:
            try:
                body = resp.raw.read(64 * 1024) or b""
            except Exception:  # noqa: BLE001 - only for the error's detail
                body = b""
            err: RemoteError = protocol.http_error(
                resp.status_code,
                resp.headers,
                body,
                "authenticated",
                str(self._session.device.organization_id),
                # The clock that signed the request: what a 498 compares.
                now=self._session.transport.clock(),
                api_version=self._session.transport.api_version,
            )
            if isinstance(err, ServerUnavailableError) or resp.status_code in _RETRYABLE_STATUSES:
                raise _Retry(str(err))
            raise err
        ctype = resp.headers.get("Content-Type", "")
        if not ctype.startswith("text/event-stream"):
            # A captive portal or a misconfigured proxy: may go away.
            raise _Retry("The server answered something that is not an event stream.")

    def _read(self, resp: requests.Response) -> None:
        parser = EventParser()
        raw: Any = resp.raw
        read1 = getattr(raw, "read1", None)
        chunks = None if read1 is not None else resp.iter_content(chunk_size=None)
        while True:
            try:
                chunk = read1(_READ_SIZE) if read1 is not None else next(chunks, b"")  # type: ignore[arg-type]
            except Exception as exc:  # noqa: BLE001 - urllib3/socket errors, timeouts, our own shutdown
                if self._stop.is_set():
                    raise _Stop() from None
                log.debug("event stream read failed: %r", exc)
                raise _Retry("The connection to the server was lost.") from None
            if self._stop.is_set():
                raise _Stop()
            if not chunk:
                raise _Retry("The server closed the connection.")
            for event in parser.feed(chunk):
                self._do(self._rules.event(event), resp)

    # --- helpers -----------------------------------------------------------------------

    @staticmethod
    def _call(fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - a callback's bug must not stop the stream
            log.exception("event stream callback %r failed", fn)


def _socket_of(resp: requests.Response) -> socket.socket | None:
    raw: Any = resp.raw
    conn = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
    sock = getattr(conn, "sock", None)
    return sock if isinstance(sock, socket.socket) else None


def _set_read_timeout(resp: requests.Response, seconds: float) -> None:
    sock = _socket_of(resp)
    if sock is not None:
        try:
            sock.settimeout(seconds)
        except OSError:
            pass


def _shutdown(resp: requests.Response) -> None:
    """Make a read blocked in another thread return now.  ``close()`` alone
    does not: the socket stays referenced by the reader's file object."""
    sock = _socket_of(resp)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
            return
        except OSError:
            pass
    try:
        resp.raw.shutdown()  # urllib3 >= 2.3
    except Exception:  # noqa: BLE001
        pass
