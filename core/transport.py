"""HTTP to a Parsec server with ``requests``: the only module that talks to
the network for commands.

One :class:`Transport` per server keeps a connection pool; it is reset after
a 500 (the server closes the keep-alive connection) and after connection
errors.  Every requests exception becomes a
:class:`~parsec_tray.core.errors.RemoteError` here.

Bounds (any server can be hostile, including one named in a clicked link):

- a reply body is read in chunks up to :data:`MAX_REPLY_SIZE` bytes, then
  refused (:class:`~parsec_tray.core.errors.ReplyTooLargeError`); we ask
  for ``identity`` and decode gzip/deflate ourselves, bounded by the same
  cap (no automatic decompression: a 1 MB gzip bomb stays a 1 MB read);
  other encodings are refused;
- every request has an overall deadline (:data:`REQUEST_DEADLINE`, and the
  flow's, see :meth:`Transport.deadline`) from connect to the last byte of
  the body, not only between bytes: a watchdog shuts the socket down when it
  passes (a server sending one byte a second) and the request fails with
  :class:`~parsec_tray.core.errors.DeadlineExceededError`.  A streamed
  request (the event stream) is under the deadline until its headers.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

from . import protocol
from ._requests import requests, urllib3  # requests without its charset guesser (core/_requests.py)
from .addr import ParsecAddr
from .crypto import SigningKey
from .errors import DeadlineExceededError, ProtocolError, ReplyTooLargeError, ServerUnreachableError, TLSError
from .i18n import _
from .values import AccessToken, DeviceID, OrganizationID

__all__ = ["AnonymousClient", "AuthenticatedClient", "InvitedClient", "TosClient", "Transport"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (10.0, 60.0)  # connect, read (between bytes)
# The whole of one request, connect to last byte.
REQUEST_DEADLINE = 90.0
# Generous for the largest legitimate reply (the certificates of a big
# organization: a few hundred bytes per user and device), far below what
# hurts (Argon2id's 128 MiB and the decoded copies fit in 400 MB).
MAX_REPLY_SIZE = 32 * 1024 * 1024
_CHUNK = 64 * 1024


# --- the watchdog: a socket to shut down when a request's deadline passes ------------------

_current = threading.local()


class _Watch:
    """One request's deadline; the connection it runs on registers itself."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.expired = False
        self.sent = False  # a byte of the request may have left
        self._lock = threading.Lock()

    def attach(self, sock: socket.socket | None) -> None:
        with self._lock:
            self.sock = sock
            if self.expired:
                self._shutdown()

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)


class _Watched:
    """Mixed into urllib3's connections: every write of a request (headers,
    body) goes through ``send``, after the connection (and TLS handshake) is
    up; it tells the current thread's watch which socket to shut down, and
    that the request may have reached the server from now on."""

    sock: socket.socket | None

    def send(self, data: Any) -> None:
        if self.sock is None:
            self.connect()  # type: ignore[attr-defined]  # may fail: nothing was sent
        watch: _Watch | None = getattr(_current, "watch", None)
        if watch is not None:
            watch.sent = True
            watch.attach(self.sock)
        super().send(data)  # type: ignore[misc]


class _HTTPConnection(_Watched, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_Watched, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Adapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def _decode_bounded(body: bytes, encoding: str, limit: int, too_large: ReplyTooLargeError) -> bytes:
    """``body`` decoded from ``Content-Encoding`` ``encoding``, never more
    than ``limit`` bytes of output."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        decoders = [zlib.decompressobj(16 + zlib.MAX_WBITS)]
    elif encoding == "deflate":  # zlib-wrapped, or raw deflate from some servers
        decoders = [zlib.decompressobj(), zlib.decompressobj(-zlib.MAX_WBITS)]
    else:
        raise ProtocolError(
            _("The server compressed its answer in a way this app does not accept ({encoding}).").format(
                encoding=encoding
            )
        )
    for d in decoders:
        out = bytearray()
        data = body
        try:
            while data:
                out += d.decompress(data, limit + 1 - len(out))
                if len(out) > limit:
                    raise too_large
                data = d.unconsumed_tail
        except zlib.error:
            continue
        return bytes(out)
    raise ProtocolError(_("The server's compressed answer cannot be decompressed."))


class Transport:
    """``clock`` (Unix seconds) dates the signed headers and is compared with
    the server's ``Date`` when it says the clock is off."""

    def __init__(
        self,
        server: ParsecAddr,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        request_deadline: float | None = None,
        max_reply_size: int | None = None,
        clock: Callable[[], float] = time.time,
        api_version: str = protocol.API_VERSION,
    ) -> None:
        self.server = server
        self.timeout = timeout
        self.clock = clock
        # The ``Api-Version`` every request and the event stream send: this
        # app's; another only for a client of another protocol version.
        self.api_version = api_version
        self.request_deadline = REQUEST_DEADLINE if request_deadline is None else request_deadline
        self.max_reply_size = MAX_REPLY_SIZE if max_reply_size is None else max_reply_size
        self._lock = threading.Lock()
        self._session: requests.Session | None = None
        self._flow_deadline: float | None = None  # monotonic
        self._flow_seconds = 0.0

    def _get_session(self) -> requests.Session:
        with self._lock:
            if self._session is None:
                s = requests.Session()
                s.trust_env = False  # never route a Parsec server through an env proxy
                s.headers["User-Agent"] = protocol.USER_AGENT
                s.headers["Accept-Encoding"] = "identity"  # we decode (bounded) what comes anyway
                adapter = _Adapter()
                s.mount("http://", adapter)
                s.mount("https://", adapter)
                self._session = s
            return self._session

    @contextlib.contextmanager
    def deadline(self, seconds: float) -> Iterator[None]:
        """Every request made inside ends within ``seconds`` from now (a
        flow's overall deadline), on top of each request's own."""
        previous = self._flow_deadline, self._flow_seconds
        self._flow_deadline, self._flow_seconds = time.monotonic() + seconds, seconds
        try:
            yield
        finally:
            self._flow_deadline, self._flow_seconds = previous

    def remaining(self) -> float | None:
        """Seconds left before the flow's deadline (``None``: no flow deadline)."""
        return None if self._flow_deadline is None else self._flow_deadline - time.monotonic()

    def _budget(self) -> tuple[float, float]:
        """Seconds left for the next request, and the deadline to name."""
        budget, named = self.request_deadline, self.request_deadline
        if self._flow_deadline is not None:
            left = self._flow_deadline - time.monotonic()
            if left < budget:
                budget, named = left, self._flow_seconds
        return budget, named

    def _deadline_error(self, seconds: float, watch: _Watch | None = None) -> DeadlineExceededError:
        return DeadlineExceededError(
            _("The server {hostname}:{port} did not complete its answer within {seconds:g} seconds.").format(
                hostname=self.server.hostname, port=self.server.effective_port, seconds=seconds
            ),
            seconds=seconds,
            hint=_("The server or the network is too slow; try again later."),
            request_sent=watch is None or watch.sent,
        )

    def _too_large(self) -> ReplyTooLargeError:
        mib = self.max_reply_size / (1024 * 1024)
        return ReplyTooLargeError(
            _("The server's answer is larger than {mib:g} MiB; it was not read.").format(mib=mib),
            limit=self.max_reply_size,
            hint=_("Check the server address: a Parsec server does not send this much."),
        )

    def _read_body(self, resp: requests.Response) -> bytes:
        limit = self.max_reply_size
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large()
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = resp.raw.read(_CHUNK, decode_content=False)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise self._too_large()
            chunks.append(chunk)
        return _decode_bounded(b"".join(chunks), resp.headers.get("Content-Encoding", ""), limit, self._too_large())

    def reset(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None

    def close(self) -> None:
        self.reset()

    def url(self, path: str) -> str:
        return self.server.to_http_url(path)

    def request(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        timeout: tuple[float, float] | None = None,
    ) -> requests.Response:
        """One request; without ``stream`` the body is read (bounded) and in
        ``resp.content`` when it returns."""
        budget, named = self._budget()
        if budget <= 0:
            raise self._deadline_error(named, _Watch())
        watch = _Watch()
        timer = threading.Timer(budget, watch.expire)
        timer.daemon = True
        _current.watch = watch
        timer.start()
        try:
            resp = self._send(method, path, data, json_body, headers, timeout, watch, named)
            watch.sent = True
            if stream:
                return resp
            try:
                body = self._read_body(resp)
            except (ReplyTooLargeError, ProtocolError):
                resp.close()
                self.reset()
                raise
            except Exception:  # noqa: BLE001 - urllib3/socket errors while reading the body
                resp.close()
                self.reset()
                if watch.expired:
                    raise self._deadline_error(named, watch) from None
                raise ServerUnreachableError(
                    _(
                        "The connection to the server {hostname}:{port} broke off in the middle of its "
                        "answer."
                    ).format(hostname=self.server.hostname, port=self.server.effective_port),
                    hint=_("Check your network connection and try again."),
                ) from None
            if watch.expired:
                self.reset()
                raise self._deadline_error(named, watch)
            resp._content = body  # what .content and .json() read from now on
            resp._content_consumed = True
            return resp
        finally:
            timer.cancel()
            _current.watch = None

    def _send(
        self,
        method: str,
        path: str,
        data: bytes | None,
        json_body: Any,
        headers: Mapping[str, str] | None,
        timeout: tuple[float, float] | None,
        watch: _Watch,
        named: float,
    ) -> requests.Response:
        try:
            resp = self._get_session().request(
                method,
                self.url(path),
                data=data,
                json=json_body,
                headers=dict(headers or {}),
                stream=True,
                timeout=timeout or self.timeout,
                allow_redirects=False,
            )
        except requests.exceptions.RequestException as exc:
            self.reset()
            if watch.expired:
                raise self._deadline_error(named, watch) from None
            raise self._translate(exc, watch.sent) from None
        except urllib3.exceptions.HTTPError:
            self.reset()
            if watch.expired:
                raise self._deadline_error(named, watch) from None
            raise ServerUnreachableError(
                _("The connection to the server {hostname}:{port} broke off.").format(
                    hostname=self.server.hostname, port=self.server.effective_port
                ),
                hint=_("Check your network connection and try again."),
                request_sent=watch.sent,
            ) from None
        if resp.status_code >= 500:
            self.reset()
        return resp

    def _translate(self, exc: requests.exceptions.RequestException, sent: bool) -> ServerUnreachableError:
        if isinstance(exc, requests.exceptions.SSLError):
            return TLSError(
                _(
                    "The secure connection to {hostname} failed (its certificate was refused, or "
                    "encryption could not start)."
                ).format(hostname=self.server.hostname),
                hint=_(
                    "Check the server address; a test server that is not encrypted has no_ssl=true in its link."
                ),
                request_sent=sent,
            )
        if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
            message = (
                _("The server {hostname}:{port} did not answer in time.")
                if isinstance(exc, requests.exceptions.Timeout)
                else _("The server {hostname}:{port} cannot be reached.")
            )
            return ServerUnreachableError(
                message.format(hostname=self.server.hostname, port=self.server.effective_port),
                hint=_("Check the address and your network connection."),
                request_sent=sent,
            )
        if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
            return ServerUnreachableError(
                _(
                    "The connection to the server {hostname}:{port} broke off in the middle of its answer."
                ).format(hostname=self.server.hostname, port=self.server.effective_port),
                hint=_("Check your network connection and try again."),
            )
        log.debug("request to %s failed: %s", self.server.hostname, type(exc).__name__)
        return ServerUnreachableError(
            _("The request to the server {hostname}:{port} could not be made.").format(
                hostname=self.server.hostname, port=self.server.effective_port
            ),
            hint=_("Check the server address."),
            request_sent=sent,
        )

    def command(
        self, family: str, org: OrganizationID | None, body: bytes, headers: Mapping[str, str], *, route: str = ""
    ) -> dict[str, Any]:
        """One command on ``/<family>/<org><route>``, or ``/<family>`` without
        an organization (``anonymous_server``)."""
        h = {"Content-Type": protocol.CONTENT_TYPE, "Api-Version": self.api_version, **headers}
        where = "" if org is None else "/" + quote(str(org), safe="")
        resp = self.request("POST", f"/{family}{where}{route}", data=body, headers=h)
        content = resp.content
        if resp.status_code != 200:
            name = "" if org is None else str(org)
            raise protocol.http_error(
                resp.status_code,
                resp.headers,
                content,
                family,
                name,
                now=self.clock(),
                api_version=h.get("Api-Version", self.api_version),
            )
        ctype = resp.headers.get("Content-Type", "")
        if not ctype.startswith(protocol.CONTENT_TYPE):
            raise ProtocolError(
                _("The server answered something that is not a Parsec reply; is this a Parsec server?")
            )
        return protocol.decode_reply(content)


class _Client:
    family = ""
    route = ""  # after /<family>/<org>: "/tos" for the terms-of-service commands

    def __init__(self, transport: Transport, organization_id: OrganizationID) -> None:
        self.transport = transport
        self.organization_id = organization_id

    def _headers(self) -> dict[str, str]:
        return {}

    def send(self, cmd: str, **fields: Any) -> dict[str, Any]:
        body = protocol.encode_request(cmd, **fields)
        reply = self.transport.command(self.family, self.organization_id, body, self._headers(), route=self.route)
        log.debug("%s %s -> %s", self.family, cmd, reply.get("status"))
        return reply


class AnonymousClient(_Client):
    family = "anonymous"


class InvitedClient(_Client):
    family = "invited"

    def __init__(self, transport: Transport, organization_id: OrganizationID, token: AccessToken) -> None:
        super().__init__(transport, organization_id)
        self._token = token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token.hex()}"}


class AuthenticatedClient(_Client):
    family = "authenticated"

    def __init__(
        self, transport: Transport, organization_id: OrganizationID, device_id: DeviceID, signing_key: SigningKey
    ) -> None:
        super().__init__(transport, organization_id)
        self.device_id = device_id
        self._signing_key = signing_key

    def _headers(self) -> dict[str, str]:
        # A fresh signature per request: the server allows ~5 minutes.
        return {"Authorization": protocol.auth_header(self.device_id, self._signing_key, now=self.transport.clock())}

    def tos(self) -> AuthenticatedClient:
        """The same device on ``/authenticated/<org>/tos``, the one route that
        works while new terms of service wait to be accepted."""
        return TosClient(self.transport, self.organization_id, self.device_id, self._signing_key)

    def events_headers(self, last_event_id: str | None = None) -> dict[str, str]:
        h = {"Accept": "text/event-stream", "Api-Version": self.transport.api_version, **self._headers()}
        if last_event_id:
            h["Last-Event-ID"] = last_event_id
        return h


class TosClient(AuthenticatedClient):
    route = "/tos"
