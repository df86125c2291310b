"""Test helpers: an organization on the real server with several users.

``new_admin_session`` bootstraps an organization through the app's own
flow; ``add_user`` makes another user the way a greeter would at the end of
an invitation (``user_create`` with the four certificates signed by an
admin's device), without the SAS exchange; ``revoke_user`` revokes one.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from parsec_tray.core import api
from parsec_tray.core.certificates import new_user_certificates
from parsec_tray.core.crypto import PrivateKey, SecretKey, SigningKey
from parsec_tray.core.local_device import LocalDevice
from parsec_tray.core.serialization import format_v0_dump
from parsec_tray.core.session import Session
from parsec_tray.core.values import DateTime, DeviceID, DeviceLabel, HumanHandle, UserID, UserProfile

PASSWORD = "correct horse battery staple"


def new_admin_session(server: object, org: str, config_dir: Path) -> Session:
    created = api.create_organization(
        server.url,  # type: ignore[attr-defined]
        org,
        "alice@example.com",
        "Alice",
        "alice-laptop",
        password=PASSWORD,
        admin_token=server.admin_token,  # type: ignore[attr-defined]
        config_dir=config_dir,
    )
    assert created.session is not None
    return created.session


def add_user(admin: Session, email: str, label: str, profile: UserProfile = UserProfile.ADMIN) -> Session:
    a = admin.device
    now = DateTime.now()
    signing_key, private_key = SigningKey.generate(), PrivateKey.generate()
    user_id, device_id = UserID(uuid.uuid4()), DeviceID(uuid.uuid4())
    handle, dlabel = HumanHandle(email, label), DeviceLabel(f"{label}-laptop")
    certs = new_user_certificates(
        author=a.device_id,
        author_signkey=a.signing_key,
        timestamp=now,
        user_id=user_id,
        human_handle=handle,
        public_key=private_key.public_key.encode(),
        profile=profile,
        device_id=device_id,
        device_label=dlabel,
        verify_key=signing_key.verify_key,
    )
    reply = admin.client.send("user_create", **certs.fields())
    assert reply["status"] == "ok", reply
    device = LocalDevice(
        server=a.server,
        organization_id=a.organization_id,
        root_verify_key=a.root_verify_key,
        user_id=user_id,
        device_id=device_id,
        device_label=dlabel,
        human_handle=handle,
        signing_key=signing_key,
        private_key=private_key,
        initial_profile=profile,
        user_realm_id=uuid.uuid4(),
        user_realm_key=SecretKey.generate(),
        local_symkey=SecretKey.generate(),
    )
    return Session(device)


def revoke_user(admin: Session, user_id: UserID) -> None:
    a = admin.device
    cert = {
        "type": "revoked_user_certificate",
        "author": a.device_id,
        "timestamp": DateTime.now(),
        "user_id": user_id,
    }
    reply = admin.client.send(
        "user_revoke", revoked_user_certificate=a.signing_key.sign(format_v0_dump(cert))
    )
    assert reply["status"] == "ok", reply
