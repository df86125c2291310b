"""Recovery files (``.psrk``): export one, and make a new device from one
(fact sheet l).

A recovery file holds an extra device of the same user, certified on the
server with purpose ``PASSPHRASE_RECOVERY``, in libparsec's ``type:
"recovery"`` device file; its keys are encrypted with 32 random bytes that
the person keeps as the 13-group passphrase.  Importing authenticates as
that device and certifies a new STANDARD device, which is saved with a
password or the OS keyring; the recovery file itself is never written to
and can be imported again.

The codec and the device-creation reply handling are pure
(:func:`dump_recovery_device`, :func:`load_recovery_device`,
:func:`new_device_for_user`, :func:`device_create_retry`); the flows send
requests.  Invariants of the flows: every input is checked and the new
file is encrypted and written under a temporary name *before*
``device_create`` is sent; :func:`_register_and_keep` is the one place that
puts it in place or drops it, depending on what the server said.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .certificates import new_device_certificates, stamp_after
from .crypto import SecretKey, SigningKey, key_to_passphrase, passphrase_to_key
from .device_file import DeviceFile, decrypt_device
from .devices import DeviceSave, build_key_file, confirm_pending, read_key_file_bytes
from .errors import (
    DeviceFileCorruptError,
    DeviceFileError,
    DeviceFileWriteError,
    OutcomeUnknownError,
    ParsecTrayError,
    ProtocolError,
    ServerRefusedError,
    WrongPasswordError,
)
from .flows import CreatedDevice, Progress, _check_protection, _noop, _prepare_file, send_creating_device
from .i18n import N_, _
from .local_device import LocalDevice
from .protocol import clock_error
from .session import Session
from .values import DateTime, DeviceID, DeviceLabel, OrganizationID

__all__ = [
    "RecoveryExport",
    "device_create_retry",
    "dump_recovery_device",
    "export_recovery_device",
    "import_recovery_device",
    "load_recovery_device",
    "new_device_for_user",
    "read_recovery_file",
    "recovery_device_label",
    "recovery_file_name",
    "register_device",
]

log = logging.getLogger(__name__)

MAX_DEVICE_CREATE_ATTEMPTS = 5

def recovery_file_name(organization_id: OrganizationID | str) -> str:
    """The official client's name for the file (en-US)."""
    return f"Parsec_Recovery_File_{organization_id}.psrk"


def recovery_device_label(now: DateTime) -> DeviceLabel:
    """The official CLI's label: ``recovery-<RFC 3339 UTC>``; its prefix is
    what tells the official client it is a recovery device."""
    return DeviceLabel(f"recovery-{now}")


# --- pure: devices and the file ----------------------------------------------------


def new_device_for_user(existing: LocalDevice, label: DeviceLabel) -> LocalDevice:
    """Another device of ``existing``'s user: new id, signing key and local
    key; the user's private key and realm are copied, never regenerated
    (what was shared with the user is encrypted for them), as libparsec's
    ``from_existing_device_for_user``."""
    return dataclasses.replace(
        existing,
        device_id=DeviceID(uuid.uuid4()),
        device_label=label,
        signing_key=SigningKey.generate(),
        local_symkey=SecretKey.generate(),
    )


def dump_recovery_device(device: LocalDevice) -> tuple[str, bytes]:
    """``(passphrase, file bytes)`` for ``device``, under a fresh random key;
    ``protected_on`` = ``created_on``, as libparsec writes it."""
    key = SecretKey.generate()
    return key_to_passphrase(key), build_key_file(device, "recovery", key).dump()


_NOT_RECOVERY = N_("This is not a Parsec recovery file.")


def parse_recovery_file(raw: bytes) -> DeviceFile:
    """The header of a recovery file (no passphrase needed)."""
    try:
        file = DeviceFile.load(raw)
    except DeviceFileError:
        raise DeviceFileCorruptError(
            _(_NOT_RECOVERY), hint=_("It may be damaged; use the .psrk file you saved.")
        ) from None
    if file.type != "recovery":
        raise DeviceFileCorruptError(
            _("This is a device file protected by a {type}, not a recovery file.").format(type=file.type),
            hint=_("Log in to it with 'parsec-tray login', or give the .psrk file you saved."),
        )
    return file


def load_recovery_device(raw: bytes, passphrase: str) -> LocalDevice:
    """The recovery device inside ``raw``; the checks in libparsec's order:
    passphrase form, file, decryption, content."""
    key = passphrase_to_key(passphrase)
    file = parse_recovery_file(raw)
    try:
        return decrypt_device(file, key)
    except WrongPasswordError:
        raise WrongPasswordError(
            _("The passphrase does not match this recovery file."),
            hint=_("Check it (dashes, spaces and case do not matter), or use the file saved with it."),
        ) from None
    except DeviceFileCorruptError:
        raise DeviceFileCorruptError(_(_NOT_RECOVERY), hint=_("Its content is damaged.")) from None


def read_recovery_file(path: Path) -> bytes:
    """The bytes of the file at ``path``, checked to be a recovery file."""
    raw = read_key_file_bytes(path, N_("recovery file"))
    try:
        parse_recovery_file(raw)
    except DeviceFileCorruptError as exc:
        raise DeviceFileCorruptError(
            _("{path}: {reason}").format(path=path, reason=exc.message), hint=exc.hint
        ) from None
    return raw


# --- pure: device_create ---------------------------------------------------------------


def device_create_retry(reply: Mapping[str, Any], now: DateTime) -> DateTime | None:
    """``None`` when ``device_create`` succeeded; the timestamp to sign again
    with on ``require_greater_timestamp``; raises on any refusal."""
    status = reply.get("status")
    if status == "ok":
        return None
    if status == "require_greater_timestamp":
        after = reply.get("strictly_greater_than")
        if not isinstance(after, DateTime):
            raise ProtocolError(_("The server asked for a later timestamp without saying which."))
        return stamp_after(now, after)
    if status == "timestamp_out_of_ballpark":
        raise clock_error(reply)
    raise ServerRefusedError(
        _("The server refused to add the device ({status}).").format(status=status),
        status=str(status),
        hint=_("This is a bug in Parsec Tray if it happens again; please report it."),
    )


# --- flows --------------------------------------------------------------------------


def register_device(session: Session, new: LocalDevice, purpose: str, *, timestamp: DateTime | None = None) -> None:
    """``device_create`` for ``new``, certified by ``session``'s device
    (stamped ``timestamp``, default now), signed again with a later
    timestamp as long as the server asks for one."""
    ts = timestamp or DateTime.now()
    for _attempt in range(MAX_DEVICE_CREATE_ATTEMPTS):
        certs = new_device_certificates(
            author=session.device.device_id,
            author_signkey=session.device.signing_key,
            timestamp=ts,
            user_id=new.user_id,
            device_id=new.device_id,
            device_label=new.device_label,
            verify_key=new.signing_key.verify_key,
            purpose=purpose,
        )
        reply = session.client.send("device_create", **certs.fields())
        retry = device_create_retry(reply, DateTime.now())
        if retry is None:
            return
        ts = retry
    raise ServerRefusedError(
        _("The server kept asking for a later timestamp; the device was not added."),
        status="require_greater_timestamp",
        hint=_("Try again in a moment."),
    )


def _register_and_keep(session: Session, new: LocalDevice, purpose: str, save: DeviceSave, *, what: str) -> Path:
    """Certify ``new`` as ``session``'s user's device with its file kept the
    way every device-creating request keeps it
    (:func:`~parsec_tray.core.flows.send_creating_device`): final on
    success, removed on a refusal, settled by a ping with the new keys when
    the answer is lost, else left pending (:class:`OutcomeUnknownError`)."""
    settled = send_creating_device(
        save, new, lambda: register_device(session, new, purpose), what=what, seconds_left=session.transport.remaining
    )
    if settled is not None:
        settled.close()
    return save.path


@dataclass(frozen=True, repr=False)
class RecoveryExport:
    recovery_file: Path
    passphrase: str
    device_id: str  # the recovery device's
    organization_id: str

    # False: the server's answer was lost and no check could settle it; the
    # file is kept (it is the person's only copy), to be tried with
    # import-recovery or made again.
    registered: bool = True

    def __repr__(self) -> str:  # never print the passphrase
        return f"RecoveryExport({self.recovery_file}, device={self.device_id})"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "recovery_file": str(self.recovery_file),
            "passphrase": self.passphrase,
            "device_id": self.device_id,
            "organization_id": self.organization_id,
        }
        if not self.registered:
            out["registered"] = False
        return out


def default_recovery_path(organization_id: OrganizationID | str, folder: Path | None = None) -> Path:
    return (folder or Path.cwd()) / recovery_file_name(organization_id)


def check_recovery_target(path: Path) -> Path:
    """Refuse a target that exists, before anything is created."""
    if path.exists() or path.is_symlink():
        raise DeviceFileWriteError(
            _("A file already exists at {path}; it was left untouched.").format(path=path),
            hint=_("Choose another file name (--output), or move that file away."),
        )
    return path


def export_recovery_device(
    session: Session, output: Path | None = None, *, progress: Progress | None = None
) -> RecoveryExport:
    """Create a recovery device for ``session``'s user and save its file at
    ``output`` (default: the official name in the current folder), never
    over an existing file, mode 0600."""
    progress = progress or _noop
    d = session.device
    target = check_recovery_target(output or default_recovery_path(d.organization_id))
    recovery = new_device_for_user(d, recovery_device_label(DateTime.now()))
    passphrase, raw = dump_recovery_device(recovery)
    save = DeviceSave.prepare_data(target, raw)
    progress(_("Registering the recovery device on the server…"))
    registered = True
    try:
        path = _register_and_keep(
            session,
            recovery,
            "PASSPHRASE_RECOVERY",
            save,
            what=_("the recovery device was registered in {org}").format(org=d.organization_id),
        )
    except OutcomeUnknownError:
        # Unlike a device file, a recovery file is of no use under a pending
        # name nobody looks for: keep it where the person asked, and say so.
        path = confirm_pending(save.pending_path)
        registered = False
    log.info("recovery device %s saved to %s (registered: %s)", recovery.device_id.hex, path, registered)
    return RecoveryExport(path, passphrase, recovery.device_id.hex, str(d.organization_id), registered)


def import_recovery_device(
    recovery_file: Path,
    passphrase: str,
    device_label: str,
    *,
    password: str | None = None,
    use_keyring: bool = False,
    config_dir: Path | None = None,
    progress: Progress | None = None,
) -> CreatedDevice:
    """A new device of the recovery file's user on this computer, protected
    by ``password`` or the OS keyring, logged in (``.session``)."""
    progress = progress or _noop
    label = DeviceLabel(device_label)
    protection = _check_protection(password, use_keyring)
    raw = read_recovery_file(Path(recovery_file))
    progress(_("Opening the recovery file…"))
    recovery = load_recovery_device(raw, passphrase)
    new = new_device_for_user(recovery, label)
    progress(
        _("Encrypting the keys with your password…")
        if protection is not None
        else _("Storing the key in the OS keyring…")
    )
    save = _prepare_file(new, protection, config_dir)
    recovery_session = Session(recovery)
    try:
        progress(_("Adding this device on the server…"))
        path = _register_and_keep(
            recovery_session,
            new,
            "STANDARD",
            save,
            what=_("this device was added to {org}").format(org=new.organization_id),
        )
        progress(_("Logging in…"))
        session = Session(new, path, recovery_session.transport)
        try:
            session.ping()
        except ParsecTrayError as exc:
            # Nothing is lost: say so, or the person would think it all failed.
            raise exc.reworded(
                message=_("The new device is saved in {path}, but logging in failed: {reason}").format(
                    path=path, reason=exc.message
                )
            ) from exc
    except BaseException:
        recovery_session.close()
        raise
    return CreatedDevice.of(new, path, session)

