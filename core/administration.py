"""The server's administration API (JSON, bearer admin token)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .addr import ParsecOrganizationBootstrapAddr
from .errors import (
    AuthenticationError,
    OrganizationAlreadyExistsError,
    OrganizationNotFoundError,
    ProtocolError,
    ServerUnavailableError,
)
from .i18n import _
from .transport import Transport
from .values import OrganizationID

__all__ = ["AdministrationClient"]


class AdministrationClient:
    def __init__(self, transport: Transport, token: str) -> None:
        self.transport = transport
        self._token = token

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        resp = self.transport.request(
            method,
            f"/administration{path}",
            json_body=body,
            headers={"Authorization": f"Bearer {self._token}"},
        )
        try:
            payload = resp.json() if resp.content else None
        except ValueError:
            payload = None
        if resp.status_code == 200:
            return payload
        detail = payload.get("detail") if isinstance(payload, dict) else None
        if resp.status_code in (401, 403):
            raise AuthenticationError(
                _("The server refused the administration token."),
                status=resp.status_code,
                hint=_("Check the token given by the server's administrator."),
            )
        if resp.status_code >= 500:
            raise ServerUnavailableError(
                _("The server is unavailable (HTTP {status}).").format(status=resp.status_code),
                status=resp.status_code,
            )
        return _Refusal(resp.status_code, detail)

    def create_organization(self, organization_id: OrganizationID) -> ParsecOrganizationBootstrapAddr:
        out = self._call("POST", "/organizations", {"organization_id": str(organization_id)})
        if isinstance(out, _Refusal):
            if out.status == 400 and out.detail and "already exists" in out.detail.lower():
                raise OrganizationAlreadyExistsError(
                    _("The organization {organization_id!r} already exists on this server.").format(
                        organization_id=organization_id
                    ),
                    status="organization_already_exists",
                    hint=_("Choose another name, or ask its administrator for an invitation."),
                )
            raise ProtocolError(
                _("The server refused to create the organization (HTTP {status}: {detail}).").format(
                    status=out.status, detail=out.detail or _("no detail")
                )
            )
        if not isinstance(out, dict) or not isinstance(out.get("bootstrap_url"), str):
            raise ProtocolError(_("The server's answer to the organization creation has no bootstrap link."))
        link = ParsecOrganizationBootstrapAddr.parse(out["bootstrap_url"])
        # The server builds the link from our request; keep the address we used.
        return ParsecOrganizationBootstrapAddr(self.transport.server, organization_id, link.token)

    def organization(self, organization_id: OrganizationID) -> dict[str, Any]:
        out = self._call("GET", f"/organizations/{quote(str(organization_id), safe='')}")
        if isinstance(out, _Refusal):
            if out.status == 404:
                raise OrganizationNotFoundError(
                    _("The organization {organization_id!r} does not exist.").format(
                        organization_id=organization_id
                    )
                )
            raise ProtocolError(
                _("The administration API refused (HTTP {status}).").format(status=out.status)
            )
        if not isinstance(out, dict):
            raise ProtocolError(_("Unexpected answer from the administration API."))
        return out


class _Refusal:
    def __init__(self, status: int, detail: Any) -> None:
        self.status = status
        self.detail = detail if isinstance(detail, str) else None
