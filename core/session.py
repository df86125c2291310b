"""A logged-in device: its keys in memory and an authenticated client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import RemoteError, ServerRefusedError, TosNotAcceptedError
from .i18n import _
from .local_device import LocalDevice
from .protocol import unexpected_status
from .transport import AuthenticatedClient, Transport

__all__ = ["Session"]


class Session:
    def __init__(self, device: LocalDevice, device_file: Path | None = None, transport: Transport | None = None):
        self.device = device
        self.device_file = device_file
        self.transport = transport or Transport(device.server)
        self.client = AuthenticatedClient(
            self.transport, device.organization_id, device.device_id, device.signing_key
        )
        # Set by login(allow_offline=True) when the server could not be reached.
        self.offline_error: RemoteError | None = None
        # Set by login(allow_pending_tos=True) when terms of service wait.
        self.tos_error: TosNotAcceptedError | None = None

    def __repr__(self) -> str:
        return f"Session({self.device!r})"

    def ping(self, text: str = "parsec-tray") -> None:
        """An authenticated round trip: proves the server accepts our keys."""
        reply = self.client.send("ping", ping=text)
        if reply["status"] != "ok":
            raise unexpected_status("ping", reply)
        if reply.get("pong") != text:
            raise ServerRefusedError(
                _("The server answered the ping with something else."), status="bad_pong"
            )

    def summary(self) -> dict[str, Any]:
        d = self.device
        return {
            "organization_id": str(d.organization_id),
            "user_id": d.user_id.hex,
            "device_id": d.device_id.hex,
            "server_url": d.server.to_url(),
        }

    def close(self) -> None:
        self.transport.close()
