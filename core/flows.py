"""The flows behind the CLI and the tray: create or bootstrap an
organization, list devices, log in.

Order matters for "nothing lost": inputs are validated before any network
call; the device file is encrypted and written to a temporary file (full
disk, no rights) *before* the server is asked to bootstrap, and put in
place only once the server said yes.  A failing flow leaves no file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
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
from .devices import (
    AtomicWrite,
    build_password_file,
    list_device_files,
    load_device_with_password,
    read_device_file,
    write_device_file,
)
from .errors import (
    DeviceNotFoundError,
    InvalidValueError,
    KeyringError,
    OrganizationNotFoundError,
    ParsecTrayError,
    ServerUnavailableError,
    ServerUnreachableError,
)
from .local_device import LocalDevice
from .paths import default_device_file
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
    "validate_person",
]

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


def _noop(_: str) -> None:
    pass


@dataclass(frozen=True)
class DeviceInfo:
    """A local device key file, as listed without decrypting it."""

    device_file: Path
    organization_id: str
    user_id: str  # 32 hex
    device_id: str  # 32 hex
    email: str
    user_name: str  # human handle label
    device_label: str
    server_url: str  # parsec3://host[:port][?no_ssl=true]
    protection: str  # "password", "keyring", "recovery", "pki", ...

    @classmethod
    def from_file(cls, path: Path, f: DeviceFile) -> DeviceInfo:
        return cls(
            device_file=path,
            organization_id=str(f.organization_id),
            user_id=f.user_id.hex,
            device_id=f.device_id.hex,
            email=str(f.human_handle.email),
            user_name=f.human_handle.label,
            device_label=str(f.device_label),
            server_url=f.server.to_url(),
            protection=f.type,
        )

    def describe(self) -> str:
        return f"{self.organization_id}: {self.user_name} <{self.email}> on {self.device_label} ({self.device_id[:8]})"

    def to_json(self) -> dict[str, Any]:
        return {
            "device_file": str(self.device_file),
            "organization_id": self.organization_id,
            "user_id": self.user_id,
            "device_id": self.device_id,
            "human_handle": {"email": self.email, "label": self.user_name},
            "device_label": self.device_label,
            "server_url": self.server_url,
            "protection": self.protection,
        }


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
    return [DeviceInfo.from_file(d.path, d.file) for d in list_device_files(config_dir)]


def find_device(selector: str | Path | None = None, *, config_dir: Path | None = None) -> DeviceInfo:
    """A device by id, unique id prefix, or ``.keys`` path; without a
    selector, the only device."""
    if selector is not None:
        text = str(selector)
        path = Path(text).expanduser()
        looks_like_id = bool(text) and all(c in "0123456789abcdefABCDEF-" for c in text)
        if text.endswith(".keys") or (not looks_like_id and path.is_file()):
            return DeviceInfo.from_file(path, read_device_file(path))
    devices = list_devices(config_dir)
    if selector is None:
        if len(devices) == 1:
            return devices[0]
        if not devices:
            raise DeviceNotFoundError(
                "There is no device on this computer yet.",
                hint="Create an organization, join one, or copy a device file here.",
            )
        raise DeviceNotFoundError(
            "There are several devices; choose one with --device:\n"
            + "\n".join(f"  {d.device_id}  {d.describe()}" for d in devices)
        )
    prefix = str(selector).lower().replace("-", "")
    matches = [d for d in devices if d.device_id.startswith(prefix)] if prefix else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise DeviceNotFoundError(
            f"No device matches {selector!r}.", hint="Run 'parsec-tray devices' to list them."
        )
    raise DeviceNotFoundError(
        f"Several devices match {selector!r}; give more characters:\n"
        + "\n".join(f"  {d.device_id}  {d.describe()}" for d in matches)
    )


# --- create / bootstrap ----------------------------------------------------------


def validate_person(email: str, user_name: str, device_label: str) -> tuple[HumanHandle, DeviceLabel]:
    """The new user and device, validated before any password or network.

    Surrounding white space typed or pasted around an email is dropped."""
    return HumanHandle(EmailAddress(email.strip()), user_name), DeviceLabel(device_label)


def _check_password(password: str | None) -> str:
    if not password:
        raise InvalidValueError("A password is needed to protect the device's keys.", field="password")
    return password


def _check_protection(password: str | None, use_keyring: bool) -> str | None:
    """A new device is protected by a password or by the OS keyring (then
    ``None``), never both."""
    if use_keyring:
        if password:
            raise InvalidValueError("Choose a password or the OS keyring to protect the device, not both.")
        if not keyring_store.keyring_available():
            raise KeyringError(
                "The OS keyring cannot be used on this computer.",
                hint="Protect the device with a password instead.",
            )
        return None
    return _check_password(password)


def _prepare_file(device: LocalDevice, password: str | None, config_dir: Path | None) -> AtomicWrite:
    if password is None:
        file = keyring_store.build_keyring_file(device)
    else:
        file = build_password_file(device, password)
    target = default_device_file(device.device_id.hex, config_dir)
    return AtomicWrite(target, file.dump()).prepare()


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
    # The connection ends in the returned session, or is closed on failure.
    with contextlib.ExitStack() as on_failure:
        transport = Transport(server)
        on_failure.callback(transport.close)
        plan = bootstrap_protocol.prepare(ParsecOrganizationBootstrapAddr(server, org, None), handle, label)
        progress(
            "Encrypting the keys with your password…"
            if password is not None
            else "Storing the device's key in the OS keyring…"
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
            pending = preparing.result()
        try:
            progress("Creating the organization on the server…")
            client = AnonymousClient(transport, org)
            try:
                reply = client.send("organization_bootstrap", **plan.with_token(token).fields)
            except OrganizationNotFoundError as exc:
                if spontaneous:
                    raise OrganizationNotFoundError(
                        "This server does not create organizations on request.",
                        status=exc.status,
                        hint="Ask the server's administrator for a bootstrap link or an administration token.",
                    ) from None
                raise
            bootstrap_protocol.check_reply(reply, str(org), token, from_link=from_link)
        except BaseException:
            pending.abort()
            raise
        progress("Saving the device…")
        path = pending.commit()
        log.info("organization %s bootstrapped, device saved to %s", org, path)
        progress("Logging in…")
        session = Session(plan.device, path, transport)
        try:
            session.ping()
        except ParsecTrayError as exc:
            # Nothing is lost: say so, or the person would think it all failed.
            raise exc.reworded(
                message=f"The organization {org} is created and your device is saved in {path}, "
                f"but logging in failed: {exc.message}"
            ) from exc
        org_addr = ParsecOrganizationAddr(server, org, plan.device.root_verify_key.encode())
        on_failure.pop_all()
        return CreatedDevice(
            device_file=path,
            organization_id=str(org),
            user_id=plan.device.user_id.hex,
            device_id=plan.device.device_id.hex,
            server_url=server.to_url(),
            organization_url=org_addr.to_url(),
            session=session,
        )


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
) -> Session:
    """Unlock a device and prove its keys to the server (authenticated ping).

    With ``allow_offline``, a server that cannot be reached (or answers 5xx)
    does not fail the login: the unlocked session is returned with
    ``offline_error`` set, for a shell that shows "offline" and retries.  The
    server refusing the device still fails."""
    progress = progress or _noop
    info = device if isinstance(device, DeviceInfo) else find_device(device, config_dir=config_dir)
    file = read_device_file(info.device_file)
    file.check_supported()
    progress("Unlocking the device…")
    if file.type == "keyring":
        local = keyring_store.load_device_with_keyring(file)
    elif file.type == "password":
        local = load_device_with_password(file, _check_password(password))
    else:
        raise ParsecTrayError(f"This device is protected by its {file.type}; Parsec Tray cannot unlock it.")
    progress("Connecting to the server…")
    session = Session(local, info.device_file)
    try:
        session.ping()
    except (ServerUnreachableError, ServerUnavailableError) as exc:
        if not allow_offline:
            session.close()
            raise
        session.offline_error = exc
    except BaseException:
        session.close()
        raise
    return session


def protect_with_keyring(session: Session) -> Path:
    """Re-protect a logged-in device's file with the OS keyring, so that it
    opens without a prompt (quick login at startup).  The file is replaced
    atomically; its device, keys and creation date do not change."""
    path = session.device_file
    if path is None:
        raise DeviceNotFoundError("This session has no device file to protect.")
    current = read_device_file(path)
    if current.type == "keyring":
        return path
    file = dataclasses.replace(keyring_store.build_keyring_file(session.device), created_on=current.created_on)
    return write_device_file(path, file.dump(), replace=True)
