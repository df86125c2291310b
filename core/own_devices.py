"""The user's own devices, from verified certificates, and the official
"keys lost = data lost" rule (fact sheet p).

There is no device-list command: :func:`own_devices_from_certificates`
walks ``certificate_get``'s common certificates in their (timestamp) order
and verifies each one with the key of its author, the organization's root
key for ``author = None`` or the verify key of a device certified earlier in
the list, before using it.  Parsing and the rule are pure; only
:func:`fetch_own_devices` sends a request.

The rule, as the official client states it (``getSecurityWarnings`` in
``client/src/components/misc/securityRecommendations.ts``, with
``listOwnDevices``): a device is a *recovery* device when its purpose is
``PASSPHRASE_RECOVERY`` or its label starts with ``recovery`` (certificates
older than 3.2 have no purpose); the user has a recovery device when the
count of (recovery or current) devices is not 1; the user has other devices
when some device is neither a recovery device nor the current one.  At risk
= neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .certificates import DeviceCertificate, UserCertificate, peek_certificate
from .crypto import VerifyKey
from .errors import CryptoError, ProtocolError
from .i18n import N_, _
from .protocol import unexpected_status
from .serialization import format_v0_load
from .values import DateTime, DeviceID, DeviceLabel, UserID

if TYPE_CHECKING:
    from .session import Session

__all__ = [
    "OwnDevice",
    "SecurityWarnings",
    "fetch_common_certificates",
    "fetch_own_devices",
    "own_devices_from_certificates",
    "security_warnings",
    "session_security_warnings",
    "verified_chain",
]

RECOVERY_LABEL_PREFIX = "recovery"


@dataclass(frozen=True)
class OwnDevice:
    device_id: DeviceID
    device_label: DeviceLabel | None  # None in redacted certificates (OUTSIDER users)
    purpose: str  # STANDARD, PASSPHRASE_RECOVERY, SHAMIR_RECOVERY, REGISTRATION
    created_on: DateTime
    created_by: DeviceID | None  # None: the organization's root key (bootstrap)

    @property
    def is_recovery(self) -> bool:
        return self.purpose == "PASSPHRASE_RECOVERY" or (
            self.device_label is not None and self.device_label.startswith(RECOVERY_LABEL_PREFIX)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id.hex,
            "device_label": self.device_label,
            "purpose": self.purpose,
            "created_on": str(self.created_on),
            "created_by": self.created_by.hex if self.created_by else None,
            "is_recovery": self.is_recovery,
        }


@dataclass(frozen=True)
class SecurityWarnings:
    has_recovery_device: bool
    has_multiple_devices: bool

    @property
    def at_risk(self) -> bool:
        """Only this device can open the organization: no recovery file, no
        other device."""
        return not (self.has_recovery_device or self.has_multiple_devices)


def security_warnings(devices: Iterable[OwnDevice], current: DeviceID) -> SecurityWarnings:
    devices = list(devices)
    others = [d for d in devices if not d.is_recovery and d.device_id != current]
    return SecurityWarnings(
        has_recovery_device=len(devices) != len(others) + 1,
        has_multiple_devices=bool(others),
    )


def verified_chain(common_certificates: Sequence[bytes], root_verify_key: VerifyKey) -> Iterator[tuple[str, Any]]:
    """Each common certificate, in the server's (timestamp) order, once its
    signature is checked with its author's key: the organization's root key
    for ``author = None``, else the verify key of a device an earlier
    certificate introduced.  Yields ``(type, certificate)``: a
    :class:`DeviceCertificate` or :class:`UserCertificate`, or the plain map
    of the other kinds (user updates, revocations).

    Raises :class:`CryptoError` when a certificate does not verify or is
    signed by a device no earlier certificate introduced."""
    keys: dict[DeviceID, VerifyKey] = {}
    for signed in common_certificates:
        if not isinstance(signed, bytes):
            raise CryptoError(_("A certificate is not binary data."))
        kind, author = peek_certificate(signed)
        if author is None:
            key = root_verify_key
        elif author in keys:
            key = keys[author]
        else:
            raise CryptoError(_("A certificate is signed by a device no earlier certificate introduced."))
        if kind == "device_certificate":
            cert = DeviceCertificate.verify_and_load(signed, key, author)
            keys[cert.device_id] = VerifyKey(cert.verify_key)
            yield kind, cert
        elif kind == "user_certificate":
            yield kind, UserCertificate.verify_and_load(signed, key, author)
        else:
            yield kind, format_v0_load(key.verify(signed), error=CryptoError, what=N_("certificate"))


def own_devices_from_certificates(
    common_certificates: Sequence[bytes], root_verify_key: VerifyKey, user_id: UserID
) -> list[OwnDevice]:
    """``user_id``'s devices in the order they were certified, from a
    verified chain (:func:`verified_chain`)."""
    return [
        OwnDevice(cert.device_id, cert.device_label, cert.purpose, cert.timestamp, cert.author)
        for kind, cert in verified_chain(common_certificates, root_verify_key)
        if kind == "device_certificate" and cert.user_id == user_id
    ]


def fetch_common_certificates(session: Session) -> list[bytes]:
    """Every common certificate of the organization (``certificate_get``)."""
    reply = session.client.send(
        "certificate_get", common_after=None, sequester_after=None, shamir_recovery_after=None, realm_after={}
    )
    return _common_certificates(reply)


def _common_certificates(reply: Mapping[str, Any]) -> list[bytes]:
    if reply.get("status") != "ok":
        raise unexpected_status("certificate_get", reply)
    certs = reply.get("common_certificates")
    if not isinstance(certs, list):
        raise ProtocolError(_("The server's list of certificates is malformed."))
    return certs


def fetch_own_devices(session: Session) -> list[OwnDevice]:
    """The logged-in user's devices, from the server's certificates."""
    certs = fetch_common_certificates(session)
    d = session.device
    try:
        return own_devices_from_certificates(certs, d.root_verify_key, d.user_id)
    except CryptoError as exc:
        raise ProtocolError(
            _("The server sent certificates that do not verify: {reason}").format(reason=exc.message)
        ) from None


def session_security_warnings(session: Session) -> SecurityWarnings:
    """The official warnings for the logged-in device (``.at_risk``)."""
    return security_warnings(fetch_own_devices(session), session.device.device_id)
