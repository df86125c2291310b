"""The server's event stream (``GET /authenticated/<org>/events``), kept
open in a background thread.

Invariants:
- One daemon thread per :class:`EventStream`; it blocks in socket reads and
  in ``Event.wait`` (backoff), never polls.
- A connection that stays silent longer than the server's keepalive
  (``sse_keepalive_seconds`` of ORGANIZATION_CONFIG, 30 s until known) plus
  :data:`KEEPALIVE_MARGIN` is dead: the socket read timeout says so.
- Reconnections wait ``backoff_delay`` (0.5 s doubling up to 30 s, with
  jitter) and send ``Last-Event-ID`` so the server replays what was missed;
  events already seen (same id) are not delivered twice.  When the server
  cannot replay (``missed_events``), or when we reconnect without any id
  after having been connected, ``on_resync`` is called: the caller must
  re-read its state (``invite_list``...).
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
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from . import protocol
from .errors import ParsecTrayError, RemoteError, ServerUnavailableError, ServerUnreachableError
from .events import Event, EventParser, Keepalive, MissedEvents, OrganizationConfig
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

BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 30.0
DEFAULT_KEEPALIVE = 30.0  # the server's default, until ORGANIZATION_CONFIG says otherwise
KEEPALIVE_MARGIN = 5.0
CONNECT_TIMEOUT = 10.0
_READ_SIZE = 64 * 1024
_SEEN_IDS = 1024  # the server's replay cache holds 1024 events
_RETRYABLE_STATUSES = (408, 425, 429)

OnEvent = Callable[[Event], None]
OnState = Callable[[str, "str | None"], None]
OnResync = Callable[[], None]


def backoff_delay(
    failures: int,
    *,
    initial: float = BACKOFF_INITIAL,
    cap: float = BACKOFF_MAX,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before attempt ``failures + 1``: the exponential bound
    ``min(cap, initial * 2**failures)``, jittered down to half of it."""
    bound = min(cap, initial * 2.0 ** min(failures, 64))
    r = rng.random() if rng is not None else random.random()
    return bound / 2 + r * bound / 2


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
    ) -> None:
        self._session = session
        self._on_event = on_event
        self._on_state = on_state
        self._on_resync = on_resync
        self._last_event_id = last_event_id
        # A transport of its own: the stream holds one connection for hours
        # and must not share the fate (resets) of the command pool.
        self._own_transport = transport is None
        self._transport = transport or Transport(session.transport.server)
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._keepalive = keepalive
        self._margin = keepalive_margin
        self._connect_timeout = connect_timeout
        self._rng = rng or random.Random()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._resp: requests.Response | None = None
        self._state: str | None = None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._failures = 0
        self._connected_once = False
        self.error: ParsecTrayError | None = None
        self._thread: threading.Thread | None = None
        org = quote(str(session.device.organization_id), safe="")
        self._path = f"/authenticated/{org}/events"

    # --- public -------------------------------------------------------------------

    @property
    def state(self) -> str | None:
        return self._state

    @property
    def last_event_id(self) -> str | None:
        return self._last_event_id

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
        try:
            while not self._stop.is_set():
                try:
                    self._connect_and_read()
                except _Retry as exc:
                    if self._stop.is_set():
                        break
                    self._set_state("offline", str(exc))
                    delay = backoff_delay(
                        self._failures, initial=self._backoff_initial, cap=self._backoff_max, rng=self._rng
                    )
                    self._failures += 1
                    log.info("event stream: %s; retrying in %.1f s", exc, delay)
                    self._stop.wait(delay)
                except _Stop:
                    break
                except ParsecTrayError as exc:
                    self.error = exc
                    log.warning("event stream stopped: %s", exc)
                    self._set_state("error", str(exc))
                    break
        except Exception:  # pragma: no cover - a bug: say it, do not die silently
            log.exception("event stream crashed")
            self._set_state(
                "error", "The connection to the server's events stopped because of an internal error."
            )
        finally:
            if self._own_transport:
                self._transport.close()

    def _connect_and_read(self) -> None:
        headers = self._session.client.events_headers(self._last_event_id)
        headers["Accept-Encoding"] = "identity"  # a compressed stream would be buffered
        read_timeout = self._keepalive + self._margin
        try:
            resp = self._transport.request(
                "GET", self._path, headers=headers, stream=True, timeout=(self._connect_timeout, read_timeout)
            )
        except ServerUnreachableError as exc:
            raise _Retry(str(exc)) from None
        with self._lock:
            self._resp = resp
        try:
            if self._stop.is_set():
                raise _Stop()
            self._check_handshake(resp)
            reconnect_without_id = self._connected_once and self._last_event_id is None
            self._connected_once = True
            self._set_state("online", None)
            if reconnect_without_id:
                self._resync()
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
                self._handle(event, resp)

    def _handle(self, event: Event, resp: requests.Response) -> None:
        if event.id is not None:
            if event.id in self._seen:
                log.debug("event stream: dropping a replayed event %s", event.id)
                return
            self._seen[event.id] = None
            if len(self._seen) > _SEEN_IDS:
                self._seen.popitem(last=False)
            self._last_event_id = event.id
        if isinstance(event, Keepalive):
            return
        if isinstance(event, MissedEvents):
            self._resync()
            return
        if isinstance(event, OrganizationConfig):
            self._failures = 0  # a healthy connection: the next drop retries fast
            if event.sse_keepalive_seconds:
                self._keepalive = float(event.sse_keepalive_seconds)
                _set_read_timeout(resp, self._keepalive + self._margin)
        self._call(self._on_event, event)

    # --- helpers -----------------------------------------------------------------------

    def _resync(self) -> None:
        if self._on_resync is not None:
            self._call(self._on_resync)

    def _set_state(self, state: str, message: str | None) -> None:
        if state == self._state:
            return
        self._state = state
        if self._on_state is not None:
            self._call(self._on_state, state, message)

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
