"""The flows behind the CLI and the tray: create or bootstrap an
organization, list devices, log in.

Order matters for "nothing lost": inputs are validated before any network
call; the device file is encrypted and written to a temporary file (full
disk, no rights) *before* the server is asked to bootstrap
(:class:`~parsec_tray.core.devices.DeviceSave`).  Just before the request it
becomes ``<device id>.keys.pending``: from then on it is removed only when
the server answers a definitive no.  A lost or late answer (or an
interruption) is settled by an authenticated ping with the new keys: at
once if the server answers, else at the next login with that device or the
next attempt for the same organization
(:class:`~parsec_tray.core.errors.OutcomeUnknownError` says so, with the
file's path).  A flow that fails before sending leaves no file.

Every flow has an overall deadline (:data:`FLOW_DEADLINE`) on top of each
request's own.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import bootstrap as bootstrap_protocol
from . import keyring_store
from .addr import ParsecAddr, ParsecOrganizationAddr, ParsecOrganizationBootstrapAddr, parse_server
from .administration import AdministrationClient
from .device_file import DeviceFile
from .device_info import DeviceInfo, Protection
from .devices import (
    DeviceSave,
    build_password_file,
    confirm_pending,
    final_path_of,
    list_device_files,
    load_device_with_password,
    read_device_file,
)
from .errors import (
    AuthenticationError,
    DeviceFileError,
    DeviceNotFoundError,
    InvalidValueError,
    KeyringError,
    OrganizationAlreadyExistsError,
    OrganizationNotFoundError,
    OutcomeUnknownError,
    ParsecTrayError,
    ServerRefusedError,
    ServerUnavailableError,
    ServerUnreachableError,
    TLSError,
    TosNotAcceptedError,
)
from .i18n import _
from .local_device import LocalDevice
from .protection import reprotect_device_file
from .session import Session
from .transport import AnonymousClient, Transport
from .values import AccessToken, DeviceLabel, EmailAddress, HumanHandle, OrganizationID

__all__ = [
    "CreatedDevice",
    "DeviceInfo",
    "Progress",
    "bootstrap_organization",
    "create_organization",
    "find_device",
    "list_devices",
    "login",
    "protect_with_keyring",
    "send_creating_device",
    "settle_pending_devices",
    "validate_person",
]

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

FLOW_DEADLINE = 120.0  # create-org / bootstrap, end to end (Argon2id aside)
LOGIN_DEADLINE = 60.0
SETTLE_DEADLINE = 20.0  # the ping that settles a lost bootstrap answer


def _noop(_: str) -> None:
    pass


@dataclass(frozen=True)
class CreatedDevice:
    """The outcome of creating or bootstrapping an organization."""

    device_file: Path
    organization_id: str
    user_id: str
    device_id: str
    server_url: str
    organization_url: str
    session: Session | None = None

    @classmethod
    def of(cls, device: LocalDevice, path: Path, session: Session | None = None) -> CreatedDevice:
        org_addr = ParsecOrganizationAddr(device.server, device.organization_id, device.root_verify_key.encode())
        return cls(
            device_file=path,
            organization_id=str(device.organization_id),
            user_id=device.user_id.hex,
            device_id=device.device_id.hex,
            server_url=device.server.to_url(),
            organization_url=org_addr.to_url(),
            session=session,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "device_file": str(self.device_file),
            "organization_id": self.organization_id,
            "user_id": self.user_id,
            "device_id": self.device_id,
            "server_url": self.server_url,
            "organization_url": self.organization_url,
        }


# --- devices -----------------------------------------------------------------


def list_devices(config_dir: Path | None = None) -> list[DeviceInfo]:
    """The devices on this computer; never raises for a bad file (skipped)."""
    return [DeviceInfo.from_file(d.path, d.file, d.pending) for d in list_device_files(config_dir)]


def settle_pending_devices(config_dir: Path | None = None, *, seconds: float = 5.0) -> list[Path]:
    """Settle the pending devices that open without a prompt (OS keyring):
    an authenticated ping each (within ``seconds``); those the server
    knows become final (``seconds`` for all).  Returns their new paths.  Password devices wait
    for their login; never raises for one device."""
    settled = []
    deadline = time.monotonic() + seconds  # for all of them: a listing stays quick
    for info in list_devices(config_dir):
        if not info.pending or info.protection != Protection.KEYRING:
            continue
        try:
            device = _unlock(read_device_file(info.device_file), None)
        except ParsecTrayError as exc:
            log.info("cannot settle %s now: %s", info.device_file.name, exc.message)
            continue
        session = _settle_by_ping(device, info.device_file, device.server, deadline - time.monotonic())
        if session is None:
            continue
        session.close()
        try:
            settled.append(confirm_pending(info.device_file))
        except ParsecTrayError as exc:
            log.info("cannot settle %s: %s", info.device_file.name, exc.message)
    return settled


def find_device(selector: str | Path | None = None, *, config_dir: Path | None = None) -> DeviceInfo:
    """A device by id, unique id prefix, or ``.keys`` path; without a
    selector, the only device."""
    if selector is not None:
        text = str(selector)
        path = Path(text).expanduser()
        looks_like_id = bool(text) and all(c in "0123456789abcdefABCDEF-" for c in text)
        if text.endswith((".keys", ".keys.pending")) or (not looks_like_id and path.exists()):
            return DeviceInfo.from_file(path, read_device_file(path), path.name.endswith(".pending"))
    devices = list_devices(config_dir)
    if selector is None:
        if len(devices) == 1:
            return devices[0]
        if not devices:
            raise DeviceNotFoundError(
                _("There is no device on this computer yet."),
                hint=_("Create an organization, join one, or copy a device file here."),
            )
        raise DeviceNotFoundError(
            _("There are several devices; choose one with --device:\n{devices}").format(
                devices=_listing(devices)
            )
        )
    prefix = str(selector).lower().replace("-", "")
    matches = [d for d in devices if d.device_id.startswith(prefix)] if prefix else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise DeviceNotFoundError(
            _("No device matches {selector}.").format(selector=repr(selector)),
            hint=_("Run 'parsec-tray devices' to list them."),
        )
    raise DeviceNotFoundError(
        _("Several devices match {selector}; give more characters:\n{devices}").format(
            selector=repr(selector), devices=_listing(matches)
        )
    )


def _listing(devices: list[DeviceInfo]) -> str:
    return "\n".join(f"  {d.device_id}  {d.describe()}" for d in devices)


# --- create / bootstrap ----------------------------------------------------------


def validate_person(email: str, user_name: str, device_label: str) -> tuple[HumanHandle, DeviceLabel]:
    """The new user and device, validated before any password or network.

    Surrounding white space typed or pasted around an email is dropped."""
    return HumanHandle(EmailAddress(email.strip()), user_name), DeviceLabel(device_label)


def _check_password(password: str | None) -> str:
    if not password:
        raise InvalidValueError(_("A password is needed to protect the device's keys."), field="password")
    return password


def _check_protection(password: str | None, use_keyring: bool) -> str | None:
    """A new device is protected by a password or by the OS keyring (then
    ``None``), never both."""
    if use_keyring:
        if password:
            raise InvalidValueError(_("Choose a password or the OS keyring to protect the device, not both."))
        if not keyring_store.keyring_available():
            raise KeyringError(
                _("The OS keyring cannot be used on this computer."),
                hint=_("Protect the device with a password instead."),
            )
        return None
    return _check_password(password)


def _prepare_file(device: LocalDevice, password: str | None, config_dir: Path | None) -> DeviceSave:
    if password is None:
        file = keyring_store.build_keyring_file(device)
    else:
        file = build_password_file(device, password)
    return DeviceSave.prepare(file, config=config_dir)


def _unlock(file: DeviceFile, password: str | None, *, allow_slow_kdf: bool = False) -> LocalDevice:
    file.check_supported()
    if file.type == "keyring":
        return keyring_store.load_device_with_keyring(file)
    if file.type == "password":
        return load_device_with_password(file, _check_password(password), allow_slow=allow_slow_kdf)
    raise ParsecTrayError(
        _("This device is protected by its {protection}; Parsec Tray cannot unlock it.").format(
            protection=file.type
        )
    )


def _definitive(exc: BaseException) -> bool:
    """The request did not take: the server answered so, or the request was
    never sent (no connection, TLS handshake failed)."""
    if isinstance(exc, ServerUnreachableError):
        return not exc.request_sent
    return isinstance(exc, (ServerRefusedError, AuthenticationError))


def _settle_by_ping(
    device: LocalDevice, path: Path, server: ParsecAddr, seconds: float | None = None
) -> Session | None:
    """Did the server create ``device``?  A session when an authenticated
    ping with its keys succeeds (within ``seconds``, default
    :data:`SETTLE_DEADLINE`), ``None`` when it cannot tell now."""
    seconds = SETTLE_DEADLINE if seconds is None else min(seconds, SETTLE_DEADLINE)
    if seconds <= 0:
        return None
    session = Session(device, path, Transport(server))
    try:
        with session.transport.deadline(seconds):
            session.ping()
    except ParsecTrayError as exc:
        log.info("settling %s: %s", path.name, exc.message)
        session.close()
        return None
    except BaseException:
        session.close()
        raise
    return session


def _outcome_unknown(what: str, device: LocalDevice, pending: Path, cause: BaseException) -> OutcomeUnknownError:
    why = cause.message if isinstance(cause, ParsecTrayError) else _("the request was interrupted")
    return OutcomeUnknownError(
        _(
            "It is not known yet whether {what}: {why} Nothing is lost: the new device's keys are saved "
            "in {pending}."
        ).format(what=what, why=why, pending=pending),
        device_file=pending,
        device_id=device.device_id.hex,
        organization_id=str(device.organization_id),
        cause=cause if isinstance(cause, ParsecTrayError) else None,
        hint=_(
            "Log in with it once the server answers (parsec-tray login --device {device}): "
            "that finishes, or tells that it did not happen."
        ).format(device=device.device_id.hex[:8]),
    )


def send_creating_device(
    save: DeviceSave,
    device: LocalDevice,
    send: Callable[[], object],
    *,
    what: str,
    seconds_left: Callable[[], float | None] = lambda: None,
    progress: Progress = _noop,
) -> Session | None:
    """Run ``send()``, the irreversible request that creates ``device`` on
    its server (a bootstrap, the step of an invitation or of a recovery
    import that makes the server create it), so that its keys are never
    lost.  ``save`` is prepared (:meth:`DeviceSave.prepare`); ``send``
    returns on success and raises the server's refusal otherwise.

    - success: the file is final (``save.path``); returns ``None``;
    - a definitive refusal (the server answered no, or nothing was sent):
      the file is removed and the refusal re-raised;
    - no usable answer: an authenticated ping with ``device``'s keys, within
      ``seconds_left()`` (the flow's deadline) and :data:`SETTLE_DEADLINE`,
      settles it: the device exists → the file is final and the ping's
      :class:`Session` returned; else the file stays pending and
      :class:`OutcomeUnknownError` ("It is not known yet whether {what}…")
      is raised.
    """
    save.sending()
    try:
        send()
    except BaseException as exc:
        if _definitive(exc):
            save.refused()
            if type(exc) in (ServerUnreachableError, TLSError) and isinstance(exc, ServerUnreachableError):
                # Nothing left this computer: say that nothing was kept either.
                raise type(exc)(
                    _("{reason} Nothing was sent, and nothing was saved on this computer.").format(
                        reason=exc.message
                    ),
                    hint=exc.hint,
                    request_sent=False,
                ) from exc
            raise
        settled = None
        if isinstance(exc, Exception):
            progress(_("The server's answer was lost; checking with the new keys…"))
            settled = _settle_by_ping(device, save.pending_path, device.server, seconds_left())
        if settled is None:
            raise _outcome_unknown(what, device, save.unknown(), exc) from None
        settled.device_file = save.confirmed()
        log.info("%s: answer lost, the ping with the new keys settled it (%s)", what, settled.device_file)
        return settled
    save.confirmed()
    return None


def _earlier_attempts(server: ParsecAddr, org: OrganizationID, config_dir: Path | None) -> list[DeviceInfo]:
    return [
        d for d in list_devices(config_dir)
        if d.pending and d.organization_id == str(org) and d.server_url == server.to_url()
    ]


def _resume_earlier_attempt(
    server: ParsecAddr, org: OrganizationID, password: str | None, config_dir: Path | None, progress: Progress
) -> tuple[DeviceInfo, Session] | None:
    """A retry: an earlier attempt for this organization left a pending file
    that opens with this password (or keyring) and that the server knows."""
    for info in _earlier_attempts(server, org, config_dir):
        try:
            device = _unlock(read_device_file(info.device_file), password)
        except ParsecTrayError:
            continue  # another password: a login with it settles that one
        progress(_("Checking the earlier attempt for this organization…"))
        session = _settle_by_ping(device, info.device_file, server)
        if session is not None:
            session.device_file = confirm_pending(info.device_file)
            return info, session
    return None


def _created(server: ParsecAddr, org: OrganizationID, device: LocalDevice, session: Session) -> CreatedDevice:
    assert session.device_file is not None
    org_addr = ParsecOrganizationAddr(server, org, device.root_verify_key.encode())
    return CreatedDevice(
        device_file=session.device_file,
        organization_id=str(org),
        user_id=device.user_id.hex,
        device_id=device.device_id.hex,
        server_url=server.to_url(),
        organization_url=org_addr.to_url(),
        session=session,
    )


def _run_bootstrap(
    server: ParsecAddr,
    org: OrganizationID,
    get_token: Callable[[Transport], AccessToken | None],
    handle: HumanHandle,
    label: DeviceLabel,
    password: str | None,
    *,
    config_dir: Path | None,
    progress: Progress,
    spontaneous: bool = False,
    from_link: bool = False,
) -> CreatedDevice:
    resumed = _resume_earlier_attempt(server, org, password, config_dir, progress)
    if resumed is not None:
        info, session = resumed
        log.info("organization %s: the earlier attempt had created it (%s)", org, session.device_file)
        return _created(server, org, session.device, session)
    # The connection ends in the returned session, or is closed on failure.
    with contextlib.ExitStack() as on_failure, contextlib.ExitStack() as flow:
        transport = Transport(server)
        on_failure.callback(transport.close)
        # Ends with the flow, success or not: the session keeps the transport.
        flow.enter_context(transport.deadline(FLOW_DEADLINE))
        plan = bootstrap_protocol.prepare(ParsecOrganizationBootstrapAddr(server, org, None), handle, label)
        progress(
            _("Encrypting the keys with your password…")
            if password is not None
            else _("Storing the device's key in the OS keyring…")
        )
        # Argon2id (libsodium releases the GIL) runs while the token is fetched;
        # the encrypted file is on disk (temporary name) before the server is
        # asked anything irreversible.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parsec-tray-argon2id") as pool:
            preparing = pool.submit(_prepare_file, plan.device, password, config_dir)
            try:
                token = get_token(transport)
            except BaseException:
                with contextlib.suppress(BaseException):
                    preparing.result().abort()
                raise
            save = preparing.result()
        progress(_("Creating the organization on the server…"))

        def send() -> None:
            reply = AnonymousClient(transport, org).send("organization_bootstrap", **plan.with_token(token).fields)
            bootstrap_protocol.check_reply(reply, str(org), token, from_link=from_link)

        try:
            settled = send_creating_device(
                save,
                plan.device,
                send,
                what=_("the organization {org} was created").format(org=org),
                seconds_left=transport.remaining,
                progress=progress,
            )
        except OrganizationNotFoundError as exc:
            if spontaneous:
                raise OrganizationNotFoundError(
                    _("This server does not create organizations on request."),
                    status=exc.status,
                    hint=_("Ask the server's administrator for a bootstrap link or an administration token."),
                ) from None
            raise
        except OrganizationAlreadyExistsError as exc:
            earlier = _earlier_attempts(server, org, config_dir)
            if earlier:
                raise exc.reworded(
                    hint=_(
                        "An earlier attempt from this computer may have set it up: its keys are in "
                        "{device_file}; log in with that device to finish."
                    ).format(device_file=earlier[0].device_file)
                ) from exc
            raise
        _drop_other_attempts(server, org, save.path, config_dir)
        if settled is not None:
            return _created(server, org, plan.device, settled)
        path = save.path
        log.info("organization %s bootstrapped, device saved to %s", org, path)
        progress(_("Logging in…"))
        session = Session(plan.device, path, transport)
        try:
            session.ping()
        except ParsecTrayError as exc:
            # Nothing is lost: say so, or the person would think it all failed.
            raise exc.reworded(
                message=_(
                    "The organization {org} is created and your device is saved in {path}, but logging in "
                    "failed: {reason}"
                ).format(org=org, path=path, reason=exc.message)
            ) from exc
        on_failure.pop_all()
        return _created(server, org, plan.device, session)


def _drop_other_attempts(server: ParsecAddr, org: OrganizationID, kept: Path, config_dir: Path | None) -> None:
    """The server just bootstrapped ``org`` with our keys: it can be
    bootstrapped once only, and nobody can join it before, so an earlier
    pending file for it holds no device the server knows."""
    for info in _earlier_attempts(server, org, config_dir):
        if info.device_file != kept:
            with contextlib.suppress(OSError):
                info.device_file.unlink()
                log.info("removed %s: the organization was set up by a later attempt", info.device_file)


def create_organization(
    server: str,
    organization: str,
    email: str,
    user_name: str,
    device_label: str,
    *,
    password: str | None = None,
    use_keyring: bool = False,
    admin_token: str | None = None,
    config_dir: Path | None = None,
    progress: Progress | None = None,
) -> CreatedDevice:
    """Create ``organization`` on ``server`` (with an administration token,
    or spontaneously where the server allows it) and become its first user.

    The device is protected by ``password``, or by the OS keyring when
    ``use_keyring``."""
    progress = progress or _noop
    server_addr = parse_server(server)
    org = OrganizationID(organization)
    handle, label = validate_person(email, user_name, device_label)
    protection = _check_protection(password, use_keyring)

    def get_token(transport: Transport) -> AccessToken | None:
        if not admin_token:
            return None
        return AdministrationClient(transport, admin_token).create_organization(org).token

    return _run_bootstrap(
        server_addr, org, get_token, handle, label, protection,
        config_dir=config_dir, progress=progress, spontaneous=not admin_token,
    )


def bootstrap_organization(
    link: str,
    email: str,
    user_name: str,
    device_label: str,
    *,
    password: str | None = None,
    use_keyring: bool = False,
    config_dir: Path | None = None,
    progress: Progress | None = None,
) -> CreatedDevice:
    """Set up an organization from the bootstrap link a server admin made."""
    progress = progress or _noop
    addr = ParsecOrganizationBootstrapAddr.parse(link)
    handle, label = validate_person(email, user_name, device_label)
    protection = _check_protection(password, use_keyring)
    return _run_bootstrap(
        addr.server, addr.organization_id, lambda _transport: addr.token, handle, label, protection,
        config_dir=config_dir, progress=progress, from_link=True,
    )


# --- login -------------------------------------------------------------------------


def login(
    device: DeviceInfo | str | Path | None = None,
    *,
    password: str | None = None,
    config_dir: Path | None = None,
    progress: Progress | None = None,
    allow_offline: bool = False,
    allow_pending_tos: bool = False,
    allow_slow_kdf: bool = False,
) -> Session:
    """Unlock a device and prove its keys to the server (authenticated ping).

    With ``allow_offline``, a server that cannot be reached (or answers 5xx)
    does not fail the login: the unlocked session is returned with
    ``offline_error`` set, for a shell that shows "offline" and retries.  The
    server refusing the device still fails.

    A pending device (its creation's answer was lost) is settled here: the
    ping succeeds → its file becomes final; the server does not know it →
    an error that says the organization was not created (the file stays,
    for the person to delete); no answer → :class:`OutcomeUnknownError`
    (``allow_offline`` too: a device that may not exist is not "offline").

    A file whose Argon2id costs are far above libparsec's defaults raises
    :class:`~parsec_tray.core.errors.SlowKeyDerivationError` before deriving,
    unless ``allow_slow_kdf``.

    With ``allow_pending_tos``, new terms of service to accept do not fail
    the login: the session is returned with ``tos_error`` set, for a shell
    that shows the terms (``core.tos``)."""
    progress = progress or _noop
    info = device if isinstance(device, DeviceInfo) else find_device(device, config_dir=config_dir)
    file = read_device_file(info.device_file)
    progress(_("Unlocking the device…"))
    local = _unlock(file, password, allow_slow_kdf=allow_slow_kdf)
    progress(_("Connecting to the server…"))
    session = Session(local, info.device_file)
    pending_settled = False
    try:
        with session.transport.deadline(LOGIN_DEADLINE):
            session.ping()
    except (ServerUnreachableError, ServerUnavailableError) as exc:
        if info.pending:
            session.close()
            raise _outcome_unknown(
                _("this device was created on the server of {org}").format(org=local.organization_id),
                local,
                info.device_file,
                exc,
            ) from None
        if not allow_offline:
            session.close()
            raise
        session.offline_error = exc
    except TosNotAcceptedError as exc:
        # The server knows the device: only its terms of service wait.
        if info.pending:
            session.device_file = confirm_pending(info.device_file)
            pending_settled = True
        if not allow_pending_tos:
            session.close()
            raise
        session.tos_error = exc
    except (AuthenticationError, OrganizationNotFoundError) as exc:
        session.close()
        if info.pending:
            raise DeviceFileError(
                _(
                    "The server does not know this device of {org}: it was not created on the server "
                    "({reason})."
                ).format(org=local.organization_id, reason=exc.message),
                hint=_(
                    "The file {device_file} opens no organization; you may delete it and try again."
                ).format(device_file=info.device_file),
            ) from None
        raise
    except BaseException:
        session.close()
        raise
    if info.pending and session.offline_error is None and not pending_settled:
        session.device_file = confirm_pending(info.device_file)
        log.info("pending device %s confirmed by the server", final_path_of(info.device_file).name)
    return session


def protect_with_keyring(session: Session) -> Path:
    """Re-protect a logged-in device's file with the OS keyring, so that it
    opens without a prompt (quick login at startup).  The file is replaced
    atomically; its device, keys and creation date do not change."""
    path = session.device_file
    if path is None:
        raise DeviceNotFoundError(_("This session has no device file to protect."))
    current = read_device_file(path)
    if current.type == "keyring":
        return path
    return reprotect_device_file(path, session.device, current, None)
