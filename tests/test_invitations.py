"""core/invitations.py: greeter commands and the first claimer commands,
against the real server; request bodies checked with the bindings' request
loaders; reply parsing checked on replies the bindings produce.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import require
from parsec_org import add_user, new_admin_session, revoke_user
from parsec_server import ParsecServer
from parsec_tray.core import errors, protocol
from parsec_tray.core import invitations as inv
from parsec_tray.core.addr import ParsecInvitationAddr
from parsec_tray.core.crypto import PrivateKey
from parsec_tray.core.event_stream import EventStream
from parsec_tray.core.events import Event, GreetingAttemptCancelled, GreetingAttemptReady, OrganizationConfig
from parsec_tray.core.session import Session
from parsec_tray.core.transport import Transport
from parsec_tray.core.values import AccessToken, DateTime, UserID, UserProfile

try:
    import parsec._parsec as P
    from parsec._parsec import authenticated_cmds, invited_cmds
except ImportError:  # pragma: no cover - require() fails or skips below
    P = None


def bindings() -> None:
    require(P is not None, "parsec-cloud 3.9.3 (the parsec._parsec reference bindings)")


class RecordingTransport(Transport):
    """Keeps every command body sent, to load it with the bindings."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.sent: list[tuple[str, bytes]] = []

    def command(
        self, family: str, org: Any, body: bytes, headers: Mapping[str, str], *, route: str = ""
    ) -> dict[str, Any]:
        self.sent.append((family, body))
        return super().command(family, org, body, headers, route=route)


def load_req(family: str, body: bytes) -> Any:
    mod = {"authenticated": authenticated_cmds, "invited": invited_cmds}[family]
    return mod.latest.AnyCmdReq.load(body)


@pytest.fixture
def alice(parsec_server: ParsecServer, org_name: str, config_home: Path) -> Iterator[Session]:
    bindings()
    s = new_admin_session(parsec_server, org_name, config_home)
    recorded = Session(s.device, transport=RecordingTransport(s.device.server))
    yield recorded
    recorded.close()
    s.close()


# --- greeter side, real server ---------------------------------------------------------


def test_invite_new_user_link_list_and_bodies(alice: Session) -> None:
    new = inv.invite_new_user(alice, "bob@example.com")
    assert isinstance(new.token, AccessToken) and new.email_sent == "SUCCESS"
    link = ParsecInvitationAddr.parse(new.url)
    assert link == new.link
    assert (link.server, link.organization_id, link.invitation_type, link.token) == (
        alice.device.server,
        alice.device.organization_id,
        "USER",
        new.token,
    )
    assert new.url.startswith(
        f"parsec3://127.0.0.1:{alice.device.server.port}/{alice.device.organization_id}?no_ssl=true&a=claim_user&p="
    )

    again = inv.invite_new_user(alice, "bob@example.com")
    assert again.token == new.token  # the pending invitation, not a new one

    items = inv.invite_list(alice)
    assert len(items) == 1
    item = items[0]
    assert isinstance(item, inv.UserInvitation)
    assert (item.type, item.token, item.status, item.claimer_email) == (
        "USER",
        new.token,
        "PENDING",
        "bob@example.com",
    )
    assert item.created_by.kind == "USER" and item.created_by.user_id == alice.device.user_id
    assert item.created_by.human_handle == alice.device.human_handle
    assert item.link(alice.device.server, alice.device.organization_id) == new.link
    assert abs(item.created_on.us - DateTime.now().us) < 600 * 10**6

    # What we sent is what the reference loaders read.
    reqs = [load_req(f, b) for f, b in alice.transport.sent]  # type: ignore[attr-defined]
    new_user = [r for r in reqs if isinstance(r, authenticated_cmds.latest.invite_new_user.Req)]
    assert [(r.claimer_email.str, r.send_email) for r in new_user] == [("bob@example.com", False)] * 2
    assert any(isinstance(r, authenticated_cmds.latest.invite_list.Req) for r in reqs)


def test_invite_new_device_and_claimer_info(alice: Session) -> None:
    new = inv.invite_new_device(alice)
    assert new.link.invitation_type == "DEVICE" and "a=claim_device" in new.url
    items = inv.invite_list(alice)
    assert [(type(i), i.token, i.status) for i in items] == [(inv.DeviceInvitation, new.token, "PENDING")]

    claimer_transport = RecordingTransport(new.link.server)
    info = inv.invite_info(new.url, transport=claimer_transport)
    assert isinstance(info, inv.DeviceInviteInfo)
    assert info.claimer_user_id == alice.device.user_id
    assert info.claimer_human_handle == alice.device.human_handle
    assert info.greeters() == [alice.device.user_id]
    ((family, body),) = claimer_transport.sent
    assert family == "invited" and isinstance(load_req(family, body), invited_cmds.latest.invite_info.Req)
    req = load_req("authenticated", alice.transport.sent[0][1])  # type: ignore[attr-defined]
    assert isinstance(req, authenticated_cmds.latest.invite_new_device.Req) and req.send_email is False


def test_cancel_then_cancel_again_and_the_link_is_gone(alice: Session) -> None:
    new = inv.invite_new_user(alice, "bob@example.com")
    inv.invite_cancel(alice, new.token)
    assert [i.status for i in inv.invite_list(alice)] == ["CANCELLED"]
    with pytest.raises(errors.InvitationGoneError) as e:
        inv.invite_cancel(alice, new.token)
    assert e.value.status == "invitation_already_cancelled" and "already cancelled" in str(e.value)
    with pytest.raises(errors.InvitationGoneError):
        inv.invite_info(new.link)  # HTTP 410 on the invited route
    req = load_req("authenticated", alice.transport.sent[1][1])  # type: ignore[attr-defined]
    assert isinstance(req, authenticated_cmds.latest.invite_cancel.Req) and req.token.bytes == bytes(
        new.token
    )


def test_cancel_completed_and_unknown_invitations(alice: Session) -> None:
    new = inv.invite_new_user(alice, "bob@example.com")
    assert alice.client.send("invite_complete", token=bytes(new.token))["status"] == "ok"
    with pytest.raises(errors.InvitationGoneError) as e:
        inv.invite_cancel(alice, new.token)
    assert e.value.status == "invitation_completed" and "already used" in str(e.value)
    with pytest.raises(errors.ServerRefusedError) as e2:
        inv.invite_cancel(alice, AccessToken.new())
    assert type(e2.value) is errors.ServerRefusedError
    assert e2.value.status == "invitation_not_found" and "does not exist" in str(e2.value)


def test_only_administrators_invite_users(alice: Session) -> None:
    bob = add_user(alice, "bob@example.com", "Bob", UserProfile.STANDARD)
    with pytest.raises(errors.ServerRefusedError) as e:
        inv.invite_new_user(bob, "carol@example.com")
    assert e.value.status == "author_not_allowed"
    assert str(e.value).startswith("Only administrators can invite users.")
    pending = inv.invite_new_user(alice, "carol@example.com")
    with pytest.raises(errors.ServerRefusedError) as e2:
        inv.invite_cancel(bob, pending.token)
    assert e2.value.status == "author_not_allowed" and "not allowed" in str(e2.value)
    # A standard user still invites their own devices, and sees only those.
    mine = inv.invite_new_device(bob)
    assert [i.token for i in inv.invite_list(bob)] == [mine.token]


def test_member_email_cannot_be_invited(alice: Session) -> None:
    with pytest.raises(errors.ServerRefusedError) as e:
        inv.invite_new_user(alice, "alice@example.com")
    assert e.value.status == "claimer_email_already_enrolled"
    assert "alice@example.com is already a member" in str(e.value)


def test_invalid_email_is_refused_before_sending(alice: Session) -> None:
    with pytest.raises(errors.InvalidValueError):
        inv.invite_new_user(alice, "not an email")
    assert alice.transport.sent == []  # type: ignore[attr-defined]


# --- claimer side, real server ---------------------------------------------------------


def test_claimer_start_and_wait_peer_notify_the_greeter(alice: Session) -> None:
    got: list[Event] = []
    cond = threading.Condition()

    def on_event(e: Event) -> None:
        with cond:
            got.append(e)
            cond.notify_all()

    new = inv.invite_new_user(alice, "bob@example.com")
    with EventStream(alice, on_event):
        with cond:  # registered on the server once its first event arrived
            assert cond.wait_for(lambda: any(isinstance(e, OrganizationConfig) for e in got), 30), got
        transport = RecordingTransport(new.link.server)
        with inv.Claimer(new.link, transport=transport) as claimer:
            info = claimer.info()
            assert isinstance(info, inv.UserInviteInfo)
            assert info.claimer_email == "bob@example.com"
            assert info.created_by.user_id == alice.device.user_id
            assert [a.user_id for a in info.administrators] == [alice.device.user_id]
            assert info.greeters() == [alice.device.user_id]

            attempt = claimer.start_greeting_attempt(info.greeters()[0])
            assert (
                claimer.wait_peer(attempt, PrivateKey.generate().public_key.encode()) is None
            )  # greeter not there
            with cond:
                assert cond.wait_for(lambda: any(isinstance(e, GreetingAttemptReady) for e in got), 30), got
            ready = next(e for e in got if isinstance(e, GreetingAttemptReady))
            assert ready.token == new.token and ready.greeting_attempt == attempt

            claimer.cancel_greeting_attempt(attempt)
            with cond:
                assert cond.wait_for(lambda: any(isinstance(e, GreetingAttemptCancelled) for e in got), 30), (
                    got
                )
            cancelled = next(e for e in got if isinstance(e, GreetingAttemptCancelled))
            assert cancelled.greeting_attempt == attempt

    reqs = [load_req("invited", b) for _, b in transport.sent]
    kinds = [
        "invite_info",
        "invite_claimer_start_greeting_attempt",
        "invite_claimer_step",
        "invite_claimer_cancel_greeting_attempt",
    ]
    assert len(reqs) == len(kinds)
    for r, kind in zip(reqs, kinds, strict=True):
        assert isinstance(r, getattr(invited_cmds.latest, kind).Req), (r, kind)
    start = load_req("invited", transport.sent[1][1])
    assert start.greeter.bytes == alice.device.user_id.bytes


def test_claimer_refusals(alice: Session) -> None:
    bob = add_user(alice, "bob@example.com", "Bob", UserProfile.STANDARD)
    eve = add_user(alice, "eve@example.com", "Eve", UserProfile.ADMIN)
    revoke_user(alice, eve.device.user_id)
    new = inv.invite_new_user(alice, "carol@example.com")
    with inv.Claimer(new.url) as claimer:
        cases = [
            (UserID(uuid.uuid4()), "greeter_not_found", "not a member"),
            (bob.device.user_id, "greeter_not_allowed", "cannot greet"),
            (eve.device.user_id, "greeter_revoked", "no longer a member"),
        ]
        for greeter, status, words in cases:
            with pytest.raises(errors.ServerRefusedError) as e:
                claimer.start_greeting_attempt(greeter)
            assert e.value.status == status and words in str(e.value)
        with pytest.raises(errors.ServerRefusedError) as e:
            claimer.step(uuid.uuid4(), {"step": "NUMBER_0_WAIT_PEER", "public_key": bytes(32)})
        assert e.value.status == "greeting_attempt_not_found"
        with pytest.raises(errors.InvalidValueError):
            claimer.cancel_greeting_attempt(uuid.uuid4(), "BECAUSE")
    with pytest.raises(errors.AuthenticationError):  # an unknown token: 403
        inv.invite_info(
            ParsecInvitationAddr(new.link.server, new.link.organization_id, "USER", AccessToken.new())
        )


# --- reply parsing against replies built by the bindings -------------------------------


def dumped(rep: Any) -> dict[str, Any]:
    return protocol.decode_reply(rep.dump())


def test_invite_list_reply_from_the_bindings() -> None:
    bindings()
    m = authenticated_cmds.latest.invite_list
    uid, claimer = P.UserID.new(), P.UserID.new()
    hh = P.HumanHandle(P.EmailAddress("alice@example.com"), "Alice")
    t1, t2, t3 = (P.AccessToken.new() for _ in range(3))
    now = P.DateTime.now()
    rep = m.RepOk(
        [
            m.InviteListItemUser(
                t1,
                now,
                m.InvitationCreatedByUser(uid, hh),
                P.EmailAddress("bob@example.com"),
                P.InvitationStatus.PENDING,
            ),
            m.InviteListItemDevice(
                t2, now, m.InvitationCreatedByExternalService("LDAP sync"), P.InvitationStatus.FINISHED
            ),
            m.InviteListItemShamirRecovery(
                t3, now, m.InvitationCreatedByUser(uid, hh), claimer, now, P.InvitationStatus.CANCELLED
            ),
        ]
    )
    user, device, shamir = inv.parse_invite_list(dumped(rep))
    us = now.as_timestamp_micros()
    assert isinstance(user, inv.UserInvitation) and user.claimer_email == "bob@example.com"
    assert (user.token, user.status, user.created_on, user.is_pending) == (
        AccessToken(t1.bytes),
        "PENDING",
        DateTime(us),
        True,
    )
    assert user.created_by == inv.CreatedBy(
        "USER", user_id=UserID(uid.hex), human_handle=user.created_by.human_handle
    )
    assert str(user.created_by.human_handle) == "Alice <alice@example.com>"
    assert isinstance(device, inv.DeviceInvitation) and device.status == "FINISHED" and not device.is_pending
    assert device.created_by == inv.CreatedBy("EXTERNAL_SERVICE", service_label="LDAP sync")
    assert device.created_by.describe() == "LDAP sync"
    assert isinstance(shamir, inv.ShamirRecoveryInvitation)
    assert (shamir.claimer_user_id.hex, shamir.shamir_recovery_created_on, shamir.status) == (
        claimer.hex,
        DateTime(us),
        "CANCELLED",
    )


def test_invite_info_replies_from_the_bindings() -> None:
    bindings()
    m = invited_cmds.latest.invite_info
    a1, a2 = P.UserID.new(), P.UserID.new()
    h1 = P.HumanHandle(P.EmailAddress("one@example.com"), "One")
    h2 = P.HumanHandle(P.EmailAddress("two@example.com"), "Two")
    now = P.DateTime.now()
    rep = m.RepOk(
        m.InvitationTypeUser(
            P.EmailAddress("new@example.com"),
            m.InvitationCreatedByUser(a2, h2),
            [
                m.UserGreetingAdministrator(a1, h1, m.UserOnlineStatus.ONLINE, None),
                m.UserGreetingAdministrator(a2, h2, m.UserOnlineStatus.OFFLINE, now),
            ],
        )
    )
    info = inv.parse_invite_info(dumped(rep))
    assert isinstance(info, inv.UserInviteInfo) and info.claimer_email == "new@example.com"
    assert [(a.user_id.hex, a.online_status) for a in info.administrators] == [
        (a1.hex, "ONLINE"),
        (a2.hex, "OFFLINE"),
    ]
    assert info.administrators[1].last_greeting_attempt_joined_on == DateTime(now.as_timestamp_micros())
    assert [g.hex for g in info.greeters()] == [a2.hex, a1.hex]  # the creator first

    dev = inv.parse_invite_info(
        dumped(m.RepOk(m.InvitationTypeDevice(a1, h1, m.InvitationCreatedByUser(a1, h1))))
    )
    assert isinstance(dev, inv.DeviceInviteInfo) and dev.claimer_user_id.hex == a1.hex
    assert str(dev.claimer_human_handle) == "One <one@example.com>"


@pytest.mark.parametrize(
    "reply",
    [
        {"status": "ok"},
        {"status": "ok", "invitations": [{"type": "USER"}]},
        {"status": "ok", "invitations": [1]},
        {
            "status": "ok",
            "invitations": [
                {
                    "type": "DEVICE",
                    "token": b"short",
                    "created_on": DateTime(1),
                    "status": "PENDING",
                    "created_by": {"type": "EXTERNAL_SERVICE", "service_label": "x"},
                }
            ],
        },
        {
            "status": "ok",
            "invitations": [
                {
                    "type": "DEVICE",
                    "token": bytes(16),
                    "created_on": DateTime(1),
                    "status": "PENDING",
                    "created_by": {"type": "ROBOT"},
                }
            ],
        },
    ],
)
def test_malformed_invite_list_is_a_protocol_error(reply: dict[str, Any]) -> None:
    with pytest.raises(errors.ProtocolError):
        inv.parse_invite_list(reply)


def test_unknown_invitation_types_are_skipped() -> None:
    item = {
        "type": "DEVICE",
        "token": bytes(16),
        "created_on": DateTime(1),
        "status": "PENDING",
        "created_by": {"type": "EXTERNAL_SERVICE", "service_label": "x"},
    }
    future = {**item, "type": "SOMETHING_NEW"}
    assert [i.type for i in inv.parse_invite_list({"status": "ok", "invitations": [future, item]})] == [
        "DEVICE"
    ]


def test_unmapped_status_keeps_the_server_word() -> None:
    class FakeClient:
        def send(self, cmd: str, **fields: Any) -> dict[str, Any]:
            return {"status": "some_new_refusal"}

    class FakeSession:
        client = FakeClient()

    with pytest.raises(errors.ServerRefusedError) as e:
        inv.invite_list(FakeSession())  # type: ignore[arg-type]
    assert e.value.status == "some_new_refusal"
