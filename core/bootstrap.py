"""Organization bootstrap, without I/O: build the first user and device.

:func:`prepare` generates every key and signs the four certificates with a
fresh root key (which is then forgotten), returning the request fields and
the :class:`LocalDevice` to keep.  :func:`check_reply` turns the server's
reply into an error a person can act on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from .addr import ParsecOrganizationBootstrapAddr
from .certificates import new_user_certificates
from .crypto import PrivateKey, SecretKey, SigningKey
from .errors import (
    InvalidBootstrapTokenError,
    OrganizationAlreadyExistsError,
    OrganizationNotFoundError,
    ServerRefusedError,
)
from .i18n import _
from .local_device import LocalDevice
from .protocol import clock_error
from .values import AccessToken, DateTime, DeviceID, DeviceLabel, HumanHandle, UserID, UserProfile

__all__ = ["BootstrapPlan", "check_reply", "prepare"]


@dataclass(frozen=True, repr=False)
class BootstrapPlan:
    fields: dict[str, Any]  # organization_bootstrap request fields
    device: LocalDevice

    def __repr__(self) -> str:
        return f"BootstrapPlan({self.device!r})"

    def with_token(self, token: AccessToken | None) -> BootstrapPlan:
        return BootstrapPlan({**self.fields, "bootstrap_token": bytes(token) if token is not None else None}, self.device)


def prepare(
    addr: ParsecOrganizationBootstrapAddr,
    human_handle: HumanHandle,
    device_label: DeviceLabel,
    *,
    now: DateTime | None = None,
) -> BootstrapPlan:
    """Keys, certificates and request fields for bootstrapping ``addr``.

    The token only goes into ``fields["bootstrap_token"]``: a plan made
    before the token is known can be completed with :meth:`BootstrapPlan.with_token`.
    """
    ts = now or DateTime.now()
    root_key = SigningKey.generate()
    signing_key = SigningKey.generate()
    private_key = PrivateKey.generate()
    user_id = UserID(uuid.uuid4())
    device_id = DeviceID(uuid.uuid4())

    certs = new_user_certificates(
        author=None,
        author_signkey=root_key,
        timestamp=ts,
        user_id=user_id,
        human_handle=human_handle,
        public_key=private_key.public_key.encode(),
        profile=UserProfile.ADMIN,
        device_id=device_id,
        device_label=device_label,
        verify_key=signing_key.verify_key,
    )
    fields = {
        "bootstrap_token": bytes(addr.token) if addr.token is not None else None,
        "root_verify_key": root_key.verify_key.encode(),
        **certs.fields(),
        "sequester_authority_certificate": None,
    }
    device = LocalDevice(
        server=addr.server,
        organization_id=addr.organization_id,
        root_verify_key=root_key.verify_key,
        user_id=user_id,
        device_id=device_id,
        device_label=device_label,
        human_handle=human_handle,
        signing_key=signing_key,
        private_key=private_key,
        initial_profile=UserProfile.ADMIN,
        user_realm_id=uuid.uuid4(),
        user_realm_key=SecretKey.generate(),
        local_symkey=SecretKey.generate(),
    )
    return BootstrapPlan(fields, device)


def check_reply(
    reply: dict[str, Any], organization_id: str, token: AccessToken | None, *, from_link: bool = False
) -> None:
    status = reply.get("status")
    if status == "ok":
        return
    if status == "organization_already_bootstrapped":
        raise OrganizationAlreadyExistsError(
            _("The organization {organization_id!r} has already been set up.").format(
                organization_id=organization_id
            ),
            status=status,
            hint=(
                _(
                    "This bootstrap link was already used: ask the organization's administrator for an "
                    "invitation."
                )
                if from_link
                else _("Choose another name, or ask its administrator for an invitation.")
            ),
        )
    if status == "invalid_bootstrap_token":
        if token is None:
            raise InvalidBootstrapTokenError(
                _(
                    "This server does not let anyone create organizations: {organization_id!r} needs a "
                    "bootstrap link."
                ).format(organization_id=organization_id),
                status=status,
                hint=_(
                    "Ask the server's administrator for a bootstrap link, or give an administration token."
                ),
            )
        raise InvalidBootstrapTokenError(
            _("This bootstrap link is no longer valid (already used, or replaced by a newer one)."),
            status=status,
            hint=_("Ask the server's administrator for a new bootstrap link."),
        )
    if status == "organization_not_found":
        raise OrganizationNotFoundError(
            _("The organization {organization_id!r} does not exist on this server.").format(
                organization_id=organization_id
            ),
            status=status,
            hint=_("Check the server address and the organization name in the link."),
        )
    if status == "timestamp_out_of_ballpark":
        raise clock_error(reply)
    if status == "invalid_certificate":
        raise ServerRefusedError(
            _("The server refused the organization's certificates."),
            status=status,
            hint=_("This is a bug in Parsec Tray; please report it."),
        )
    raise ServerRefusedError(
        _("The server refused to set up the organization ({status}).").format(status=status),
        status=str(status),
    )
