"""The I/O of a greeting: runs the machines of :mod:`.machines` over a link
(the server's invited or authenticated commands, or an in-memory one in
tests), asks the person through a small UI object, and creates or saves
what the ceremony produced.

- Each step is submitted again, identical, until the server has the peer's
  step of the same number (``not_ready`` until then), with the official
  throttle between submissions: 31, 62, 125, 250, 500 ms, then 1 s
  (libparsec ``client/src/invite/common.rs``; the base second can be
  changed with ``_PARSEC_INVITE_POLLING_THROTTLE_MS``, as there).
- While waiting for the peer (steps 0 to 3), an attempt cancelled by the
  peer with ``AUTOMATICALLY_CANCELLED`` (it started a new one) is followed
  by a new attempt, at most 8 times.
- A user claimer waits on every administrator at once, one attempt each,
  in threads: the first whose steps 0 to 3 finish wins and the others are
  cancelled (``MANUALLY_CANCELLED``).
- Any failure or interruption after an attempt exists cancels it (best
  effort), with the reason the machine gives (``INVALID_SAS_CODE`` …).
- The claimer's device file: see :func:`keep_claimed_device`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..addr import ParsecInvitationAddr, ParsecOrganizationAddr
from ..certificates import new_device_certificates, new_user_certificates, stamp_after
from ..crypto import Argon2idParams, SecretKey, derive_password_key
from ..device_file import DeviceFile
from ..devices import AtomicWrite, build_key_file
from ..errors import (
    GreetingCancelledError,
    InvalidLinkError,
    InvalidValueError,
    InvitationGoneError,
    ParsecTrayError,
    RemoteError,
    ServerRefusedError,
)
from ..flows import CreatedDevice
from ..i18n import _
from ..invitations import Claimer, Greeter, InvitationItem, InviteInfo, UserInviteInfo, invite_list
from ..local_device import LocalDevice
from ..paths import default_device_file, devices_dir
from ..session import Session
from ..values import AccessToken, DateTime, DeviceID, DeviceLabel, HumanHandle, UserID, UserProfile
from .machines import ClaimerMachine, GreeterMachine
from .payloads import DeviceClaim, DeviceConfirmation, PayloadError, UserClaim, UserConfirmation

__all__ = [
    "WAIT_PEER_MAX_ATTEMPTS",
    "Approval",
    "ClaimDetails",
    "ClaimedDeviceFile",
    "ClaimerLink",
    "ClaimerUI",
    "DeviceSaver",
    "Greeted",
    "GreeterLink",
    "GreeterUI",
    "claim",
    "claim_with",
    "find_invitation",
    "greet",
    "greet_with",
    "keep_claimed_device",
    "poll_delay",
]

log = logging.getLogger(__name__)

WAIT_PEER_MAX_ATTEMPTS = 8
THROTTLE_ENV = "_PARSEC_INVITE_POLLING_THROTTLE_MS"


# --- links and UIs ---------------------------------------------------------------------


class _Link(Protocol):
    def step(self, greeting_attempt: uuid.UUID, step: Mapping[str, Any], /) -> Mapping[str, Any] | None: ...

    def cancel_greeting_attempt(self, greeting_attempt: uuid.UUID, reason: str = ..., /) -> None: ...


class GreeterLink(_Link, Protocol):
    """What :class:`~parsec_tray.core.invitations.Greeter` offers."""

    def start_greeting_attempt(self) -> uuid.UUID: ...

    def create(self, cmd: str, fields: Mapping[str, Any]) -> DateTime | None: ...

    def complete(self) -> None: ...


class ClaimerLink(_Link, Protocol):
    """What :class:`~parsec_tray.core.invitations.Claimer` offers."""

    def start_greeting_attempt(self, greeter: UserID, /) -> uuid.UUID: ...


@dataclass(frozen=True)
class Approval:
    """What the greeter accepts: for a user, its name (the email cannot
    change) and profile; the device label."""

    device_label: DeviceLabel
    human_handle: HumanHandle | None = None
    profile: UserProfile = UserProfile.STANDARD


class GreeterUI(Protocol):
    def show_code(self, code: str) -> None:
        """The greeter's code, to read to the claimer (the claimer is there)."""

    def choose_code(self, choices: list[str]) -> str | None:
        """The claimer's code among ``choices``; ``None``: none of these."""

    def review(self, claim: UserClaim | DeviceClaim) -> Approval:
        """What the claimer asked for; what to create."""


class ClaimerUI(Protocol):
    def choose_code(self, choices: list[str], greeter: HumanHandle | None) -> str | None:
        """The greeter's code among ``choices``; ``None``: none of these."""

    def show_code(self, code: str) -> None:
        """The claimer's own code, to read to the greeter."""


@dataclass(frozen=True)
class ClaimDetails:
    """What the claimer asks for, given once both sides trust each other
    (the official order): the device's name, the user's name (a user
    invitation; the email is the invitation's), and the password that will
    protect the device file (``None``: the OS keyring)."""

    device_label: DeviceLabel
    user_name: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Greeted:
    """What a greeting created."""

    user_id: UserID
    device_id: DeviceID
    profile: UserProfile
    human_handle: HumanHandle
    device_label: DeviceLabel

    def to_json(self) -> dict[str, Any]:
        return {"user_id": self.user_id.hex, "device_id": self.device_id.hex, "profile": self.profile.value}


# --- polling ------------------------------------------------------------------------------


def poll_delay(polls_done: int, base_ms: float | None = None) -> float:
    """Seconds between the start of one submission and the next, after
    ``polls_done`` submissions (the official throttle)."""
    if base_ms is None:
        try:
            base_ms = float(os.environ.get(THROTTLE_ENV, "1000"))
        except ValueError:
            base_ms = 1000.0
    factor = {1: 32, 2: 16, 3: 8, 4: 4, 5: 2}.get(polls_done, 1)
    return max(base_ms, 0.0) / 1000.0 / factor


class _Stopped(Exception):
    """Another administrator answered first (or the person gave up)."""


class _Attempt:
    """One greeting attempt: its machine over a link, submitting steps."""

    def __init__(
        self, link: _Link, attempt: uuid.UUID, machine: GreeterMachine | ClaimerMachine, stop: threading.Event
    ) -> None:
        self.link, self.id, self.machine, self.stop = link, attempt, machine, stop

    def exchange(self) -> None:
        """Submit the machine's step until the peer's arrives, then give it
        to the machine (whose failures cancel the attempt with their reason)."""
        step = self.machine.step
        assert step is not None, self.machine.state
        polls, last = 0, 0.0
        while True:
            if polls:
                delay = last + poll_delay(polls) - time.monotonic()
                if self.stop.wait(max(delay, 0.0)):
                    raise _Stopped()
            elif self.stop.is_set():
                raise _Stopped()
            last = time.monotonic()
            polls += 1
            peer = self.link.step(self.id, step)
            if peer is not None:
                break
        try:
            self.machine.receive(peer)
        except PayloadError:
            self.cancel_quietly(self.machine.cancel_reason or "MANUALLY_CANCELLED")
            raise

    def submit_once(self) -> Mapping[str, Any] | None:
        step = self.machine.step
        assert step is not None
        return self.link.step(self.id, step)

    def cancel_quietly(self, reason: str = "MANUALLY_CANCELLED") -> None:
        """Tell the server, and forget any failure: the attempt is over for
        us whatever it answers."""
        try:
            self.link.cancel_greeting_attempt(self.id, reason)
        except Exception as exc:  # already cancelled, gone, offline: nothing more to do
            log.debug("cancelling greeting attempt: %s", type(exc).__name__)

    def wrong_code(self, i_am_greeter: bool) -> GreetingCancelledError:
        self.cancel_quietly("INVALID_SAS_CODE")
        return GreetingCancelledError(
            _("The codes did not match: the attempt is cancelled."),
            reason="INVALID_SAS_CODE",
            by_peer=False,
            origin="GREETER" if i_am_greeter else "CLAIMER",
            status=None,
            hint=_("Nothing was saved; start again, and compare the codes aloud."),
        )


def _wait_peer(
    start: Callable[[], uuid.UUID],
    link: _Link,
    make: Callable[[], GreeterMachine | ClaimerMachine],
    stop: threading.Event,
) -> _Attempt:
    """Steps 0 to 3 (keys and nonces), a new attempt each time the peer
    restarted (``AUTOMATICALLY_CANCELLED``), at most 8 more times."""
    for n in range(WAIT_PEER_MAX_ATTEMPTS + 1):
        if stop.is_set():
            raise _Stopped()
        attempt = _Attempt(link, start(), make(), stop)
        try:
            while attempt.machine.state != "know_sas":
                attempt.exchange()
            return attempt
        except GreetingCancelledError as exc:
            if exc.by_peer and exc.reason == "AUTOMATICALLY_CANCELLED" and n < WAIT_PEER_MAX_ATTEMPTS:
                continue
            raise
        except BaseException:
            attempt.cancel_quietly()
            raise
    raise AssertionError("unreachable")


@contextlib.contextmanager
def _cancel_on_failure(attempt: _Attempt) -> Any:
    try:
        yield
    except GreetingCancelledError:
        raise  # the server knows already, or the machine told it
    except BaseException:
        attempt.cancel_quietly()
        raise


# --- greeter --------------------------------------------------------------------------


def _certificates(
    author: LocalDevice, claim: UserClaim | DeviceClaim, approval: Approval, now: DateTime
) -> tuple[str, dict[str, Any], UserConfirmation | DeviceConfirmation]:
    device_id = DeviceID(uuid.uuid4())
    if isinstance(claim, UserClaim):
        assert approval.human_handle is not None
        user_id = UserID(uuid.uuid4())
        certs = new_user_certificates(
            author=author.device_id,
            author_signkey=author.signing_key,
            timestamp=now,
            user_id=user_id,
            human_handle=approval.human_handle,
            public_key=claim.public_key.encode(),
            profile=approval.profile,
            device_id=device_id,
            device_label=approval.device_label,
            verify_key=claim.verify_key,
        )
        confirmation: UserConfirmation | DeviceConfirmation = UserConfirmation(
            user_id,
            device_id,
            approval.device_label,
            approval.human_handle,
            approval.profile,
            author.root_verify_key,
        )
        return "user_create", certs.fields(), confirmation
    device_certs = new_device_certificates(
        author=author.device_id,
        author_signkey=author.signing_key,
        timestamp=now,
        user_id=author.user_id,
        device_id=device_id,
        device_label=approval.device_label,
        verify_key=claim.verify_key,
    )
    confirmation = DeviceConfirmation(
        author.user_id,
        device_id,
        approval.device_label,
        author.human_handle,
        author.initial_profile,
        author.private_key,
        author.user_realm_id,
        author.user_realm_key,
        author.root_verify_key,
    )
    return "device_create", device_certs.fields(), confirmation


def _check_approval(claim: UserClaim | DeviceClaim, approval: Approval) -> Approval:
    if isinstance(claim, UserClaim):
        handle = approval.human_handle or claim.requested_human_handle
        if handle.email != claim.requested_human_handle.email:
            # The invitation is for this email: the server refuses any other.
            handle = HumanHandle(claim.requested_human_handle.email, handle.label)
        return Approval(approval.device_label, handle, approval.profile)
    return Approval(approval.device_label, None, approval.profile)


def greet_with(
    link: GreeterLink,
    author: LocalDevice,
    *,
    is_user_invitation: bool,
    ui: GreeterUI,
    stop: threading.Event | None = None,
) -> Greeted:
    """Greet one claimer of the invitation ``link`` is for, as ``author``."""
    stop = stop or threading.Event()
    attempt = _wait_peer(
        link.start_greeting_attempt, link, lambda: GreeterMachine(is_user_invitation=is_user_invitation), stop
    )
    m = attempt.machine
    assert isinstance(m, GreeterMachine)
    with _cancel_on_failure(attempt):
        assert m.greeter_sas is not None
        ui.show_code(m.greeter_sas)
        attempt.exchange()  # 4: the claimer found our code
        if not m.choose_claimer_code(ui.choose_code(m.claimer_code_choices())):
            raise attempt.wrong_code(True)
        attempt.exchange()  # 5: we trust the claimer
        attempt.exchange()  # 6: the claim
        assert m.claim is not None
        approval = _check_approval(m.claim, ui.review(m.claim))
        now = DateTime.now()
        for _attempt in range(3):
            cmd, fields, confirmation = _certificates(author, m.claim, approval, now)
            after = link.create(cmd, fields)
            if after is None:
                break
            now = stamp_after(DateTime.now(), after)
        else:
            raise ServerRefusedError(
                _("The server kept refusing the new certificates' time."), status="require_greater_timestamp"
            )
        m.confirm(confirmation)
        attempt.exchange()  # 7: the confirmation
        attempt.exchange()  # 8: the claimer has it
    link.complete()
    return Greeted(
        confirmation.user_id,
        confirmation.device_id,
        confirmation.profile,
        confirmation.human_handle,
        confirmation.device_label,
    )


# --- claimer --------------------------------------------------------------------------


def _wait_any_greeter(
    links: Callable[[], ClaimerLink],
    greeters: Sequence[UserID],
    *,
    is_user_invitation: bool,
    stop: threading.Event,
) -> tuple[_Attempt, UserID]:
    """Steps 0 to 3 with every greeter at once; the first to get there wins."""
    make = lambda: ClaimerMachine(is_user_invitation=is_user_invitation)  # noqa: E731
    if len(greeters) == 1:
        link = links()
        return _wait_peer(lambda: link.start_greeting_attempt(greeters[0]), link, make, stop), greeters[0]
    lock = threading.Lock()
    settled = threading.Event()
    winner: list[tuple[_Attempt, UserID]] = []
    errors: list[BaseException] = []
    others = threading.Event()  # set: every attempt but the winner's stops

    def run(greeter: UserID) -> None:
        link = links()
        try:
            attempt = _wait_peer(lambda: link.start_greeting_attempt(greeter), link, make, others)
        except _Stopped:
            return
        except BaseException as exc:
            with lock:
                errors.append(exc)
                if len(errors) == len(greeters):
                    settled.set()
            return
        with lock:
            if winner:
                attempt.cancel_quietly()
                return
            winner.append((attempt, greeter))
            others.set()
            settled.set()

    threads = [
        threading.Thread(target=run, args=(g,), name=f"parsec-tray-claim-{g.hex[:8]}", daemon=True)
        for g in greeters
    ]
    for t in threads:
        t.start()
    try:
        while not settled.wait(0.5):
            if stop.is_set():
                raise _Stopped()
    finally:
        others.set()
        for t in threads:
            t.join()
    if winner:
        attempt, greeter = winner[0]
        attempt.stop = stop
        return attempt, greeter
    # Nobody can greet: the most telling error (a refusal of the invitation
    # itself beats "this administrator cannot greet").
    errors.sort(
        key=lambda e: (
            isinstance(e, GreetingCancelledError) or getattr(e, "status", "") == "greeter_not_allowed"
        )
    )
    raise errors[0]


class DeviceSaver(Protocol):
    def prepare(self, device: LocalDevice) -> AtomicWrite: ...


class ClaimedDeviceFile:
    """How the claimed device will be saved, made ready before the claim
    (step 6) lets the greeter create the device: the password's key derived
    (or the OS keyring opened) and the devices folder proven writable, so
    that what is left after the confirmation (encrypting, writing) cannot
    fail for a reason known in advance."""

    def __init__(self, password: str | None, config_dir: Path | None = None) -> None:
        self.config_dir = config_dir
        if password is None:
            from .. import keyring_store

            user, key = keyring_store._keyring_key(keyring_store.get_backend())
            self._build: Callable[[LocalDevice], DeviceFile] = lambda d: build_key_file(
                d, "keyring", key, keyring_service=keyring_store.KEYRING_SERVICE, keyring_user=user
            )
        else:
            params = Argon2idParams.new_default()
            secret = derive_password_key(password, params)
            self._build = lambda d: build_key_file(d, "password", secret, algorithm=params)
        probe = devices_dir(config_dir) / f".probe-{uuid.uuid4().hex}.keys"
        AtomicWrite(probe, bytes(4096)).prepare().abort()

    def prepare(self, device: LocalDevice) -> AtomicWrite:
        """The encrypted file, at its temporary name next to its place."""
        target = default_device_file(device.device_id.hex, self.config_dir)
        return AtomicWrite(target, self._build(device).dump()).prepare()


def keep_claimed_device(
    device: LocalDevice, prepare: Callable[[LocalDevice], AtomicWrite], acknowledge: Callable[[], None]
) -> Path:
    """Save the claimed device: the one place its keys reach the disk.

    The greeter created the device on the server before sending the
    confirmation (step 7), so from here the keys are never thrown away:
    the file is encrypted and written to its temporary name first, then
    step 8 is acknowledged, then the file is put in place whatever the
    acknowledgement's fate (a lost acknowledgement leaves the greeter
    waiting; the device works anyway, as the ping after this proves).
    """
    pending = prepare(device)
    try:
        acknowledge()
    except RemoteError as exc:
        log.warning("the greeter may not have received the acknowledgement: %s", exc.message)
    return pending.commit()


def claim_with(
    links: Callable[[], ClaimerLink],
    addr: ParsecInvitationAddr,
    greeters: Sequence[UserID],
    *,
    is_user_invitation: bool,
    ui: ClaimerUI,
    device_label: DeviceLabel | None,
    human_handle: HumanHandle | None,
    greeter_handles: Mapping[UserID, HumanHandle] | None = None,
    get_file: Callable[[], DeviceSaver],
    get_details: Callable[[], tuple[DeviceLabel, HumanHandle | None]] | None = None,
    stop: threading.Event | None = None,
) -> tuple[LocalDevice, Path, ParsecOrganizationAddr]:
    """Join through ``addr``: wait for one of ``greeters``, trade codes,
    ask what to claim (``get_details()``, when given, instead of
    ``device_label`` and ``human_handle``), get ready to save
    (``get_file()``, an object with ``prepare(device) -> AtomicWrite``),
    both once both sides trust each other, send the claim, and save the new
    device (:func:`keep_claimed_device`)."""
    stop = stop or threading.Event()
    attempt, greeter = _wait_any_greeter(links, greeters, is_user_invitation=is_user_invitation, stop=stop)
    m = attempt.machine
    assert isinstance(m, ClaimerMachine)
    with _cancel_on_failure(attempt):
        chosen = ui.choose_code(m.greeter_code_choices(), (greeter_handles or {}).get(greeter))
        if not m.choose_greeter_code(chosen):
            raise attempt.wrong_code(False)
        attempt.exchange()  # 4: we trust the greeter
        ui.show_code(m.own_code)
        attempt.exchange()  # 5: the greeter found our code
        if get_details is not None:
            device_label, human_handle = get_details()
        assert device_label is not None, "claim_with needs device_label or get_details"
        saver = get_file()  # what can fail in saving fails now, before the greeter creates anything
        m.make_claim(device_label, human_handle)
        attempt.exchange()  # 6: the claim
        attempt.exchange()  # 7: the confirmation
    conf = m.confirmation
    assert conf is not None and m.signing_key is not None
    if isinstance(conf, DeviceConfirmation):
        private_key, realm_id, realm_key = conf.private_key, conf.user_realm_id, conf.user_realm_key
    else:
        assert m.user_private_key is not None
        private_key, realm_id, realm_key = m.user_private_key, uuid.uuid4(), SecretKey.generate()
    device = LocalDevice(
        server=addr.server,
        organization_id=addr.organization_id,
        root_verify_key=conf.root_verify_key,
        user_id=conf.user_id,
        device_id=conf.device_id,
        device_label=conf.device_label,
        human_handle=conf.human_handle,
        signing_key=m.signing_key,
        private_key=private_key,
        initial_profile=conf.profile,
        user_realm_id=realm_id,
        user_realm_key=realm_key,
        local_symkey=SecretKey.generate(),
    )

    def acknowledge() -> None:
        try:
            attempt.submit_once()  # 8, once: not_ready is fine
        finally:
            m.acknowledged()

    path = keep_claimed_device(device, saver.prepare, acknowledge)
    return (
        device,
        path,
        ParsecOrganizationAddr(addr.server, addr.organization_id, conf.root_verify_key.encode()),
    )


# --- entry points for the shells ---------------------------------------------------------


def find_invitation(session: Session, token: str | AccessToken) -> InvitationItem:
    """The pending invitation a token (32 hex) or an invitation link names,
    among those this device may greet."""
    if isinstance(token, str) and "://" in token:
        addr = ParsecInvitationAddr.parse(token)
        if addr.organization_id != session.device.organization_id:
            raise InvalidLinkError(
                _("This invitation is for the organization {org}, not {device_org}.").format(
                    org=addr.organization_id, device_org=session.device.organization_id
                ),
                hint=_("Greet it from a device of that organization (--device)."),
            )
        wanted = addr.token
    else:
        wanted = AccessToken(token.strip() if isinstance(token, str) else token)
    for item in invite_list(session):
        if item.token != wanted:
            continue
        if item.status == "CANCELLED":
            raise InvitationGoneError(
                _("This invitation was cancelled."),
                status="invitation_cancelled",
                hint=_("Invite them again."),
            )
        if item.status == "FINISHED":
            raise InvitationGoneError(_("This invitation was already used."), status="invitation_completed")
        if item.type not in ("USER", "DEVICE"):
            raise ServerRefusedError(
                _("Parsec Tray cannot greet {kind} invitations.").format(
                    kind=item.type.lower().replace("_", " ")
                )
            )
        return item
    raise ServerRefusedError(
        _("There is no such invitation for you to greet."),
        status="invitation_not_found",
        hint=_("Run 'parsec-tray invitations' to list those you can greet."),
    )


def greet(
    session: Session, invitation: InvitationItem, ui: GreeterUI, *, stop: threading.Event | None = None
) -> Greeted:
    """Greet the claimer of ``invitation`` (from :func:`find_invitation`)."""
    return greet_with(
        Greeter(session, invitation.token),
        session.device,
        is_user_invitation=invitation.type == "USER",
        ui=ui,
        stop=stop,
    )


def _claimer_handle(info: UserInviteInfo, user_name: str | None) -> HumanHandle:
    if not user_name:
        raise InvalidValueError(_("Joining as a new user needs your name."))
    return HumanHandle(info.claimer_email, user_name)


def claim(
    addr: ParsecInvitationAddr,
    info: InviteInfo,
    ui: ClaimerUI,
    *,
    device_label: DeviceLabel | None = None,
    user_name: str | None = None,
    password: str | None = None,
    details: Callable[[], ClaimDetails] | None = None,
    config_dir: Path | None = None,
    stop: threading.Event | None = None,
) -> CreatedDevice:
    """Join through an invitation (``info`` from ``invite_info``): the new
    device is saved protected by ``password`` (or the OS keyring when
    ``None``), then logged in (ping).

    With ``details``, the device's name, the user's name and the password
    are asked after the codes (the official order) instead of given here:
    ``details()`` is called once both sides trust each other, before the
    claim is sent; what it raises cancels the attempt."""
    if info.type not in ("USER", "DEVICE"):
        raise InvalidLinkError(
            _("Parsec Tray cannot claim {kind} invitations.").format(kind=info.type.lower().replace("_", " "))
        )
    if details is None and device_label is None:
        raise TypeError("claim() needs device_label or details")
    handle: HumanHandle | None = None
    handles: dict[UserID, HumanHandle] = {}
    if isinstance(info, UserInviteInfo):
        if details is None:
            handle = _claimer_handle(info, user_name)
        handles = {a.user_id: a.human_handle for a in info.administrators}
    elif info.created_by.user_id is not None and info.created_by.human_handle is not None:
        handles = {info.created_by.user_id: info.created_by.human_handle}
    greeters = info.greeters()
    if not greeters:
        raise ServerRefusedError(
            _("Nobody in the organization can greet this invitation."),
            hint=_("Ask its administrator for help."),
        )
    protection = [password]  # replaced by what ``details()`` answers

    def get_details() -> tuple[DeviceLabel, HumanHandle | None]:
        assert details is not None
        asked = details()
        protection[0] = asked.password
        user = _claimer_handle(info, asked.user_name) if isinstance(info, UserInviteInfo) else None
        return asked.device_label, user

    with contextlib.ExitStack() as links:
        device, path, _org_addr = claim_with(
            lambda: links.enter_context(Claimer(addr)),
            addr,
            greeters,
            is_user_invitation=info.type == "USER",
            ui=ui,
            device_label=device_label,
            human_handle=handle,
            greeter_handles=handles,
            get_file=lambda: ClaimedDeviceFile(protection[0], config_dir),
            get_details=get_details if details is not None else None,
            stop=stop,
        )
    session = Session(device, path)
    try:
        session.ping()
    except ParsecTrayError as exc:
        session.close()
        raise exc.reworded(
            message=_("You joined {org} and the device is saved in {path}, but logging in failed: {reason}").format(
                org=addr.organization_id, path=path, reason=exc.message
            )
        ) from exc
    return CreatedDevice.of(device, path, session)
