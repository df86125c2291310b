"""What a server says about itself before anyone logs in: the anonymous
``server_config`` command (``POST /anonymous_server``, no organization, no
authentication; sheet part 2, n.5).

Invariant: unknown values are read as the cautious case (a server that
does not say ``SPONTANEOUS`` is one that asks for an administration token).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import protocol
from .addr import parse_server
from .errors import ProtocolError
from .transport import Transport

__all__ = ["ServerConfig", "server_config"]

SERVER_CONFIG_DEADLINE = 15.0  # seconds


@dataclass(frozen=True)
class ServerConfig:
    creates_organizations_on_request: bool  # ``organization_bootstrap`` is ``SPONTANEOUS``


def server_config(server_url: str) -> ServerConfig:
    """Ask the server at ``server_url`` (parsec3:// or https://) how it is set up."""
    transport = Transport(parse_server(server_url.strip()))
    try:
        with transport.deadline(SERVER_CONFIG_DEADLINE):
            body = protocol.encode_request("server_config")
            reply = transport.command("anonymous_server", None, body, {})
    finally:
        transport.close()
    if reply.get("status") != "ok":
        raise ProtocolError(
            "The server did not say how it is set up (server_config: {status}).".format(
                status=reply.get("status")
            )
        )
    return ServerConfig(creates_organizations_on_request=reply.get("organization_bootstrap") == "SPONTANEOUS")
