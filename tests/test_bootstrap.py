"""Organization bootstrap: the request against libparsec's own request
loader and certificate verifiers, then the three flows and every refusal
against the real Parsec 3.9.3 server (checked with its administration API).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import traceback
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import require
from parsec_tray.core import api, bootstrap, protocol
from parsec_tray.core.addr import ParsecOrganizationBootstrapAddr, parse_server
from parsec_tray.core.administration import AdministrationClient
from parsec_tray.core.crypto import SecretKey, derive_password_key, key_to_passphrase
from parsec_tray.core.devices import read_device_file
from parsec_tray.core.errors import (
    ClockOutOfSyncError,
    InvalidBootstrapTokenError,
    OrganizationAlreadyExistsError,
    OrganizationNotFoundError,
    ParsecTrayError,
    ServerRefusedError,
    WrongPasswordError,
)
from parsec_tray.core.transport import AnonymousClient, AuthenticatedClient, Transport
from parsec_tray.core.values import (
    AccessToken,
    DateTime,
    DeviceLabel,
    HumanHandle,
    OrganizationID,
    UserProfile,
)

try:
    from parsec import _parsec as ref
except ImportError:  # checked by the fixture below (skip locally, fail under CI)
    ref = None


@pytest.fixture(autouse=True, scope="module")
def _reference() -> None:
    require(ref is not None, "parsec-cloud 3.9.3 (parsec._parsec, the reference bindings)")


PASSWORD = "correct horse battery staple"
EMAIL = "zoe@example.com"
NAME = "Zoé Martin"
LABEL = "Zoé's laptop"


def files_under(root: Path) -> list[str]:
    """Every file (device files, temporary files...) below ``root``."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink())


def assert_sentence(err: BaseException) -> str:
    """A ParsecTrayError whose text a person can read: a capitalised
    sentence, no traceback, class name, bytes or raw protocol status."""
    assert isinstance(err, ParsecTrayError), repr(err)
    text = str(err)
    assert text and text[0].isupper(), text
    assert text.rstrip().endswith((".", "!", "?")), text
    for noise in ("Traceback", "Error(", "Exception", "b'", "\\x", "requests.", "msgpack", "None"):
        assert noise not in text, text
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), f"raw identifier in {text!r}"
    assert not re.search(r"\w\(", text), f"repr or call in {text!r}"
    assert not re.search(r"[A-Za-z](Error|Exception)\b", text), f"an exception class in {text!r}"
    return text


def _addr(server_url: str, org: str, token: AccessToken | None) -> ParsecOrganizationBootstrapAddr:
    return ParsecOrganizationBootstrapAddr(parse_server(server_url), OrganizationID(org), token)


def _plan(token: AccessToken | None = None, **kw: Any) -> bootstrap.BootstrapPlan:
    addr = _addr("parsec3://127.0.0.1:6770?no_ssl=true", "BootstrapOrg", token)
    return bootstrap.prepare(addr, HumanHandle(EMAIL, NAME), DeviceLabel(LABEL), **kw)


# --- the request, checked by libparsec -----------------------------------------------

BOOTSTRAP = "organization_bootstrap"


@pytest.mark.parametrize("with_token", [True, False], ids=["link", "spontaneous"])
def test_request_loads_with_libparsec_request_loader(with_token: bool) -> None:
    token = AccessToken(os.urandom(16)) if with_token else None
    plan = _plan(token)
    req = ref.anonymous_cmds.latest.AnyCmdReq.load(protocol.encode_request(BOOTSTRAP, **plan.fields))
    assert isinstance(req, ref.anonymous_cmds.latest.organization_bootstrap.Req)
    if token is None:
        assert req.bootstrap_token is None
    else:
        assert req.bootstrap_token.bytes == bytes(token)
    assert req.root_verify_key.encode() == plan.device.root_verify_key.encode()
    assert req.user_certificate == plan.fields["user_certificate"]
    assert req.device_certificate == plan.fields["device_certificate"]
    assert req.redacted_user_certificate == plan.fields["redacted_user_certificate"]
    assert req.redacted_device_certificate == plan.fields["redacted_device_certificate"]
    assert req.sequester_authority_certificate is None
    # Equal to the request libparsec itself would build from these values.
    assert req == ref.anonymous_cmds.latest.organization_bootstrap.Req(
        ref.AccessToken.from_bytes(bytes(token)) if token else None,
        ref.VerifyKey(plan.device.root_verify_key.encode()),
        plan.fields["user_certificate"],
        plan.fields["device_certificate"],
        plan.fields["redacted_user_certificate"],
        plan.fields["redacted_device_certificate"],
        None,
    )


def test_request_has_exactly_the_seven_fields() -> None:
    assert set(_plan().fields) == {
        "bootstrap_token",
        "root_verify_key",
        "user_certificate",
        "device_certificate",
        "redacted_user_certificate",
        "redacted_device_certificate",
        "sequester_authority_certificate",
    }


def test_certificates_verify_with_libparsec_against_the_root_key() -> None:
    now = DateTime.now()
    plan = _plan(now=now)
    f, device = plan.fields, plan.device
    root = ref.VerifyKey(f["root_verify_key"])
    user = ref.UserCertificate.verify_and_load(f["user_certificate"], root)
    r_user = ref.UserCertificate.verify_and_load(f["redacted_user_certificate"], root)
    dev = ref.DeviceCertificate.verify_and_load(f["device_certificate"], root)
    r_dev = ref.DeviceCertificate.verify_and_load(f["redacted_device_certificate"], root)

    # Signed by the root key (author nil), same timestamp, same user (c.7).
    for cert in (user, r_user, dev, r_dev):
        assert cert.author is None
        assert cert.timestamp.as_timestamp_micros() == now.us
        assert cert.user_id.hex == device.user_id.hex
    assert user.profile.str == "ADMIN"
    assert (str(user.human_handle.email), user.human_handle.label) == (EMAIL, NAME)
    assert dev.device_label.str == LABEL
    assert dev.device_id.hex == r_dev.device_id.hex == device.device_id.hex
    assert dev.purpose.str == "STANDARD"
    assert not user.is_redacted and r_user.is_redacted
    assert not dev.is_redacted and r_dev.is_redacted
    assert user.redacted_compare(r_user) and dev.redacted_compare(r_dev)

    # The LocalDevice holds the keys the certificates announce.
    assert dev.verify_key.encode() == device.signing_key.verify_key.encode()
    assert user.public_key.encode() == device.private_key.public_key.encode()
    assert device.root_verify_key.encode() == f["root_verify_key"]
    assert device.initial_profile is UserProfile.ADMIN
    assert device.human_handle == HumanHandle(EMAIL, NAME)
    assert device.device_label == LABEL
    # The device's key really is that key: libparsec verifies what it signs.
    their_key = ref.VerifyKey(device.signing_key.verify_key.encode())
    assert their_key.verify(device.signing_key.sign(b"proof")) == b"proof"


def test_certificates_do_not_verify_with_another_root_key() -> None:
    a, b = _plan(), _plan()
    assert a.fields["root_verify_key"] != b.fields["root_verify_key"]
    with pytest.raises(ValueError):
        ref.UserCertificate.verify_and_load(
            a.fields["user_certificate"], ref.VerifyKey(b.fields["root_verify_key"])
        )


def test_every_plan_has_fresh_keys_and_ids() -> None:
    a, b = _plan().device, _plan().device
    assert a.user_id != b.user_id and a.device_id != b.device_id and a.user_realm_id != b.user_realm_id
    assert a.signing_key.encode() != b.signing_key.encode()
    assert a.private_key.encode() != b.private_key.encode()
    assert a.user_realm_key != b.user_realm_key and a.local_symkey != b.local_symkey
    assert (
        len(
            {
                a.signing_key.encode(),
                a.private_key.encode(),
                a.user_realm_key.encode(),
                a.local_symkey.encode(),
            }
        )
        == 4
    )


# --- replies made by libparsec --------------------------------------------------------

_REP = None if ref is None else ref.anonymous_cmds.latest.organization_bootstrap


def _reply(rep: Any) -> dict[str, Any]:
    return protocol.decode_reply(rep.dump())


def test_ok_reply_is_accepted() -> None:
    bootstrap.check_reply(_reply(_REP.RepOk()), "Org", None)


@pytest.mark.parametrize(
    ("rep", "token", "error", "words"),
    [
        ("RepInvalidBootstrapToken", "token", InvalidBootstrapTokenError, "no longer valid"),
        ("RepInvalidBootstrapToken", None, InvalidBootstrapTokenError, "needs a bootstrap link"),
        (
            "RepOrganizationAlreadyBootstrapped",
            "token",
            OrganizationAlreadyExistsError,
            "already been set up",
        ),
        ("RepInvalidCertificate", "token", ServerRefusedError, "certificates"),
    ],
)
def test_refusal_replies_made_by_libparsec(rep: str, token: str | None, error: type, words: str) -> None:
    tok = AccessToken(os.urandom(16)) if token else None
    with pytest.raises(error) as exc:
        bootstrap.check_reply(_reply(getattr(_REP, rep)()), "Org", tok)
    assert words in assert_sentence(exc.value)


def test_out_of_ballpark_reply_made_by_libparsec_states_the_offset() -> None:
    server = ref.DateTime.now()
    client = server.subtract(seconds=3600)
    rep = _REP.RepTimestampOutOfBallpark(300.0, 320.0, server, client)
    with pytest.raises(ClockOutOfSyncError) as exc:
        bootstrap.check_reply(_reply(rep), "Org", None)
    assert exc.value.offset_seconds == pytest.approx(-3600)
    assert "about 60 minutes behind" in assert_sentence(exc.value)


def test_unknown_status_is_a_refusal_not_a_crash() -> None:
    raw = b"\x81\xa6status\xb3organization_melted"  # {status: "organization_melted"}
    assert isinstance(_REP.Rep.load(raw), _REP.RepUnknownStatus)  # libparsec tolerates it too
    reply = protocol.decode_reply(raw)
    with pytest.raises(ServerRefusedError) as exc:
        bootstrap.check_reply(reply, "Org", None)
    assert isinstance(exc.value, ParsecTrayError) and exc.value.status == "organization_melted"


# --- against the real server ---------------------------------------------------------------


def _check_bootstrapped(server: Any, org: str, created: api.CreatedDevice, config: Path) -> None:
    try:
        assert server.organization(org)["is_bootstrapped"] is True
        users = server.users(org)
        assert [(u["user_email"], u["user_name"]) for u in users] == [(EMAIL, NAME)]
        assert users[0]["user_id"] == created.user_id
        assert files_under(config) == [f"parsec3/libparsec/devices/{created.device_id}.keys"]
        (info,) = api.list_devices()
        assert (info.organization_id, info.email, info.user_name, info.device_label) == (
            org,
            EMAIL,
            NAME,
            LABEL,
        )
        assert info.device_id == created.device_id and info.protection == "password"
        assert created.organization_url.startswith(f"{server.url.split('?')[0]}/{org}?no_ssl=true&p=")
        assert created.session is not None
        created.session.ping("still there")
    finally:
        if created.session is not None:
            created.session.close()


@pytest.mark.server
def test_create_with_admin_token(parsec_server: Any, org_name: str, config_home: Path) -> None:
    unknown = parsec_server.admin("GET", f"/administration/organizations/{org_name}", expect_error=True)
    assert unknown == {"_status": 404}
    created = api.create_organization(
        parsec_server.url,
        org_name,
        EMAIL,
        NAME,
        LABEL,
        password=PASSWORD,
        admin_token=parsec_server.admin_token,
    )
    _check_bootstrapped(parsec_server, org_name, created, config_home)


@pytest.mark.server
def test_create_spontaneously(spontaneous_server: Any, org_name: str, config_home: Path) -> None:
    created = api.create_organization(spontaneous_server.url, org_name, EMAIL, NAME, LABEL, password=PASSWORD)
    _check_bootstrapped(spontaneous_server, org_name, created, config_home)


@pytest.mark.server
def test_bootstrap_with_link(parsec_server: Any, org_name: str, config_home: Path) -> None:
    link = parsec_server.create_organization(org_name)
    assert parsec_server.organization(org_name)["is_bootstrapped"] is False
    created = api.bootstrap_organization(link, EMAIL, NAME, LABEL, password=PASSWORD)
    _check_bootstrapped(parsec_server, org_name, created, config_home)


@pytest.mark.server
def test_spontaneous_bootstrap_refused_by_a_normal_server(
    parsec_server: Any, org_name: str, config_home: Path
) -> None:
    with pytest.raises(OrganizationNotFoundError) as exc:
        api.create_organization(parsec_server.url, org_name, EMAIL, NAME, LABEL, password=PASSWORD)
    text = assert_sentence(exc.value)
    assert "administration token" in text and "bootstrap link" in text
    assert files_under(config_home) == []
    assert parsec_server.admin("GET", f"/administration/organizations/{org_name}", expect_error=True) == {
        "_status": 404
    }


@pytest.mark.server
def test_tokenless_bootstrap_of_an_organization_waiting_for_its_link(
    parsec_server: Any, org_name: str, config_home: Path
) -> None:
    parsec_server.create_organization(org_name)
    with pytest.raises(InvalidBootstrapTokenError) as exc:
        api.create_organization(parsec_server.url, org_name, EMAIL, NAME, LABEL, password=PASSWORD)
    text = assert_sentence(exc.value)
    assert "bootstrap link" in text and "administration token" in text
    assert files_under(config_home) == []
    assert parsec_server.organization(org_name)["is_bootstrapped"] is False


@pytest.mark.server
def test_reused_link_is_refused(parsec_server: Any, org_name: str, config_home: Path) -> None:
    link = parsec_server.create_organization(org_name)
    first = api.bootstrap_organization(link, EMAIL, NAME, LABEL, password=PASSWORD)
    assert first.session is not None
    first.session.close()
    before = files_under(config_home)
    assert len(before) == 1

    with pytest.raises(OrganizationAlreadyExistsError) as exc:
        api.bootstrap_organization(link, "other@example.com", "Other", "Other PC", password=PASSWORD)
    text = assert_sentence(exc.value)
    assert "already" in text and "link" in text
    assert files_under(config_home) == before
    assert [u["user_email"] for u in parsec_server.users(org_name)] == [EMAIL]


@pytest.mark.server
def test_link_replaced_by_a_newer_one_is_refused(
    parsec_server: Any, org_name: str, config_home: Path
) -> None:
    old_link = parsec_server.create_organization(org_name)
    new_link = parsec_server.create_organization(org_name)  # re-POST: new token, old one invalid
    assert old_link != new_link

    with pytest.raises(InvalidBootstrapTokenError) as exc:
        api.bootstrap_organization(old_link, EMAIL, NAME, LABEL, password=PASSWORD)
    text = assert_sentence(exc.value)
    assert "no longer valid" in text
    assert files_under(config_home) == []
    assert parsec_server.organization(org_name)["is_bootstrapped"] is False

    # The refusal was the token's: the new link works (no device file needed).
    addr = ParsecOrganizationBootstrapAddr.parse(new_link)
    plan = bootstrap.prepare(addr, HumanHandle(EMAIL, NAME), DeviceLabel(LABEL))
    transport = Transport(addr.server)
    try:
        reply = AnonymousClient(transport, addr.organization_id).send(BOOTSTRAP, **plan.fields)
        bootstrap.check_reply(reply, org_name, addr.token)
    finally:
        transport.close()
    assert parsec_server.organization(org_name)["is_bootstrapped"] is True


@pytest.mark.server
def test_create_with_admin_token_when_the_organization_exists(
    parsec_server: Any, org_name: str, config_home: Path
) -> None:
    _bootstrap_without_device_file(parsec_server, org_name)
    with pytest.raises(OrganizationAlreadyExistsError) as exc:
        api.create_organization(
            parsec_server.url,
            org_name,
            EMAIL,
            NAME,
            LABEL,
            password=PASSWORD,
            admin_token=parsec_server.admin_token,
        )
    assert "already exists" in assert_sentence(exc.value)
    assert files_under(config_home) == []


def _bootstrap_without_device_file(server: Any, org: str) -> None:
    transport = Transport(parse_server(server.url))
    try:
        addr = AdministrationClient(transport, server.admin_token).create_organization(OrganizationID(org))
        plan = bootstrap.prepare(addr, HumanHandle("first@example.com", "First"), DeviceLabel("First PC"))
        reply = AnonymousClient(transport, addr.organization_id).send(BOOTSTRAP, **plan.fields)
        bootstrap.check_reply(reply, org, addr.token)
        # The plan's device is really the organization's first device.
        pong = AuthenticatedClient(
            transport, plan.device.organization_id, plan.device.device_id, plan.device.signing_key
        ).send("ping", ping="first")
        assert pong == {"status": "ok", "pong": "first"}
    finally:
        transport.close()


@pytest.mark.server
def test_link_flow_with_sans_io_pieces_gives_the_device_the_server_knows(
    parsec_server: Any, org_name: str
) -> None:
    """prepare() + one POST: the server accepts the certificates and then
    authenticates the LocalDevice's keys; the admin API shows the user."""
    addr = ParsecOrganizationBootstrapAddr.parse(parsec_server.create_organization(org_name))
    plan = bootstrap.prepare(addr, HumanHandle(EMAIL, NAME), DeviceLabel(LABEL))
    transport = Transport(addr.server)
    try:
        reply = AnonymousClient(transport, addr.organization_id).send(BOOTSTRAP, **plan.fields)
        assert reply == {"status": "ok"}
        client = AuthenticatedClient(
            transport, addr.organization_id, plan.device.device_id, plan.device.signing_key
        )
        assert client.send("ping", ping="me")["pong"] == "me"
        # certificate_get returns our exact certificates, which libparsec verifies.
        certs = client.send(
            "certificate_get",
            common_after=None,
            sequester_after=None,
            shamir_recovery_after=None,
            realm_after={},
        )
        assert certs["status"] == "ok"
        assert certs["common_certificates"] == [
            plan.fields["user_certificate"],
            plan.fields["device_certificate"],
        ]
    finally:
        transport.close()
    assert [u["user_id"] for u in parsec_server.users(org_name)] == [plan.device.user_id.hex]
    assert uuid.UUID(parsec_server.users(org_name)[0]["user_id"]) == plan.device.user_id


# --- no secret in logs or error messages -------------------------------------------------------


def _forms(secret: bytes) -> set[str]:
    """The ways a key could be printed."""
    b64 = base64.b64encode(secret).decode()
    b64url = base64.urlsafe_b64encode(secret).decode()
    return {
        secret.hex(),
        secret.hex().upper(),
        b64,
        b64.rstrip("="),
        b64url,
        b64url.rstrip("="),
        base64.b32encode(secret).decode().rstrip("="),
        key_to_passphrase(SecretKey(secret)),
        repr(secret)[2:-1],
    }


def _leaks(texts: list[str], secrets: set[str]) -> list[str]:
    return [f"{s[:12]}… in {t[:200]!r}" for t in texts for s in secrets if s and s in t]


@pytest.mark.server
def test_no_password_or_key_in_logs_or_errors(
    parsec_server: Any, org_name: str, config_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, urllib3 included
    password = f"pw-{uuid.uuid4().hex}-Secret!"
    wrong = password[::-1]
    created = api.create_organization(
        parsec_server.url,
        org_name,
        EMAIL,
        NAME,
        LABEL,
        password=password,
        admin_token=parsec_server.admin_token,
    )
    assert created.session is not None
    device = created.session.device
    errors: list[BaseException] = []
    with pytest.raises(WrongPasswordError) as bad_password:
        api.login(created.device_id, password=wrong)
    errors.append(bad_password.value)
    with pytest.raises(OrganizationAlreadyExistsError) as exists:
        api.create_organization(
            parsec_server.url,
            org_name,
            EMAIL,
            NAME,
            LABEL,
            password=password,
            admin_token=parsec_server.admin_token,
        )
    errors.append(exists.value)
    session = api.login(created.device_id, password=password)
    session.ping()
    session.close()
    created.session.close()

    file = read_device_file(Path(created.device_file))
    assert file.algorithm is not None
    keys = [
        device.signing_key.encode(),
        device.private_key.encode(),
        device.user_realm_key.encode(),
        device.local_symkey.encode(),
        derive_password_key(password, file.algorithm).encode(),
        derive_password_key(wrong, file.algorithm).encode(),
    ]
    secrets = {password, wrong}.union(*(_forms(k) for k in keys))
    assert _leaks([f"log: {device.signing_key.encode().hex()}"], secrets)  # the scan does see a key

    records = caplog.records
    assert any(r.name.startswith("parsec_tray") for r in records), "the flow logged nothing to check"
    texts = [r.getMessage() for r in records] + [r.exc_text or "" for r in records]
    for err in errors:
        texts += [str(err), repr(err), "".join(traceback.format_exception(err))]
    texts += [repr(created), repr(session), repr(device), json.dumps(created.to_json())]
    assert not _leaks(texts, secrets)
    # Nor the replayable Authorization header.
    assert not any("PARSEC-SIGN-ED25519" in t for t in texts)
