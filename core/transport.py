"""HTTP to a Parsec server with ``requests``: the only module that talks to
the network for commands.

One :class:`Transport` per server keeps a connection pool; it is reset after
a 500 (the server closes the keep-alive connection) and after connection
errors.  Every requests exception becomes a
:class:`~parsec_tray.core.errors.RemoteError` here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from . import protocol
from ._requests import requests
from .addr import ParsecAddr
from .crypto import SigningKey
from .errors import ProtocolError, ServerUnreachableError, TLSError
from .values import AccessToken, DeviceID, OrganizationID

__all__ = ["AnonymousClient", "AuthenticatedClient", "InvitedClient", "TosClient", "Transport"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (10.0, 60.0)  # connect, read


class Transport:
    """``clock`` (Unix seconds) dates the signed headers and is compared with
    the server's ``Date`` when it says the clock is off."""

    def __init__(
        self,
        server: ParsecAddr,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.server = server
        self.timeout = timeout
        self.clock = clock
        self._lock = threading.Lock()
        self._session: requests.Session | None = None

    def _get_session(self) -> requests.Session:
        with self._lock:
            if self._session is None:
                s = requests.Session()
                s.trust_env = False  # never route a Parsec server through an env proxy
                s.headers["User-Agent"] = protocol.USER_AGENT
                self._session = s
            return self._session

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
        try:
            resp = self._get_session().request(
                method,
                self.url(path),
                data=data,
                json=json_body,
                headers=dict(headers or {}),
                stream=stream,
                timeout=timeout or self.timeout,
                allow_redirects=False,
            )
        except requests.exceptions.SSLError:
            self.reset()
            raise TLSError(
                f"The secure connection to {self.server.hostname} failed (TLS certificate or handshake).",
                hint="Check the server address; if the server has no TLS, its link says no_ssl=true.",
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            self.reset()
            what = "did not answer in time" if isinstance(exc, requests.exceptions.Timeout) else "cannot be reached"
            raise ServerUnreachableError(
                f"The server {self.server.hostname}:{self.server.effective_port} {what}.",
                hint="Check the address and your network connection.",
            ) from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
            self.reset()
            raise ServerUnreachableError(
                f"The connection to the server {self.server.hostname}:{self.server.effective_port} "
                "broke off in the middle of its answer.",
                hint="Check your network connection and try again.",
            ) from None
        except requests.exceptions.RequestException as exc:
            self.reset()
            log.debug("request to %s failed: %s", self.server.hostname, type(exc).__name__)
            raise ServerUnreachableError(
                f"The request to the server {self.server.hostname}:{self.server.effective_port} could not be made.",
                hint="Check the server address.",
            ) from None
        if resp.status_code >= 500:
            self.reset()
        return resp

    def command(
        self, family: str, org: OrganizationID, body: bytes, headers: Mapping[str, str], *, route: str = ""
    ) -> dict[str, Any]:
        h = {"Content-Type": protocol.CONTENT_TYPE, "Api-Version": protocol.API_VERSION, **headers}
        resp = self.request("POST", f"/{family}/{quote(str(org), safe='')}{route}", data=body, headers=h)
        content = resp.content
        if resp.status_code != 200:
            raise protocol.http_error(resp.status_code, resp.headers, content, family, str(org), now=self.clock())
        ctype = resp.headers.get("Content-Type", "")
        if not ctype.startswith(protocol.CONTENT_TYPE):
            raise ProtocolError("The server answered something that is not a Parsec reply; is this a Parsec server?")
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
        client = TosClient(self.transport, self.organization_id, self.device_id, self._signing_key)
        return client

    def events_headers(self, last_event_id: str | None = None) -> dict[str, str]:
        h = {"Accept": "text/event-stream", "Api-Version": protocol.API_VERSION, **self._headers()}
        if last_event_id:
            h["Last-Event-ID"] = last_event_id
        return h


class TosClient(AuthenticatedClient):
    route = "/tos"
