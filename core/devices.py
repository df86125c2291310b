"""Device key files on disk: listing, loading, and saving atomically.

Invariants:
- A save writes a temporary file in the target folder (mode 0600), fsyncs
  it, then links it into place without overwriting another file (or
  replaces the same device's file when asked); the folder is fsynced.  A
  failure at any point leaves no partial file and the previous file intact.
- Listing follows libparsec: every regular ``*.keys`` file under
  ``devices/`` (recursively), sorted paths, unloadable files skipped,
  de-duplicated by device id (first path wins).  Any exception from one
  file is caught at that file: one bad file hides nothing.  Non-regular
  files (FIFO, socket, device) are refused before being opened.
- A device the server may have created is never without its file (see
  :class:`DeviceSave`): once the irreversible request may have reached the
  server, its file is kept under ``<device id>.keys.pending`` until the
  outcome is settled (the server said yes or no, or an authenticated ping
  with its keys answered).  The listing shows pending files (``pending``)
  after the final ones, and :func:`recover_device_files` (run by every
  listing) turns a complete leftover temporary file into a pending one and
  removes incomplete ones.  A file some process is still writing holds an
  exclusive ``flock`` and is never touched.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .crypto import (
    ARGON2ID_DEFAULT_MEMLIMIT_KB,
    ARGON2ID_DEFAULT_OPSLIMIT,
    Argon2idParams,
    SecretKey,
    derive_password_key,
)
from .device_file import DeviceFile, decrypt_device, encrypt_device
from .errors import (
    CryptoError,
    DeviceFileCorruptError,
    DeviceFileError,
    DeviceFileWriteError,
    InvalidValueError,
    SlowKeyDerivationError,
    UnsupportedDeviceFileError,
)
from .i18n import N_, _
from .local_device import LocalDevice
from .paths import default_device_file, devices_dir, make_private_dirs
from .values import DateTime

__all__ = [
    "ARCHIVED_SUFFIX",
    "PENDING_SUFFIX",
    "SLOW_KDF_FACTOR",
    "AtomicWrite",
    "DeviceSave",
    "ListedDevice",
    "archive_device_file",
    "check_kdf_cost",
    "confirm_pending",
    "final_path_of",
    "kdf_cost_factor",
    "read_key_file_bytes",
    "list_device_files",
    "recover_device_files",
    "load_device_file",
    "load_device_with_password",
    "read_device_file",
    "save_device_with_password",
    "write_device_file",
]

log = logging.getLogger(__name__)

MAX_DEVICE_FILE_SIZE = 1024 * 1024


PENDING_SUFFIX = ".pending"
# AtomicWrite's temporary names: ".<target name>.<12 hex>.tmp".
_TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.[0-9a-f]{12}\.tmp$")


@dataclass(frozen=True)
class ListedDevice:
    path: Path
    file: DeviceFile
    # The server's answer to the request that created this device was not
    # received: the file is ``<device id>.keys.pending`` until settled.
    pending: bool = False


def _open_regular(path: Path, flags: int = os.O_RDONLY, what: str = N_("device file")) -> int:
    """A file descriptor on ``path`` if it is a regular file; a FIFO, socket
    or device is refused without blocking (``O_NONBLOCK``, then ``fstat``).
    ``what`` names the file in the sentences."""
    try:
        fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise DeviceFileError(
            _("The {what} {path} does not exist.").format(what=_(what), path=path)
        ) from None
    except IsADirectoryError:
        raise DeviceFileError(
            _("{path} is a folder, not a {what}.").format(path=path, what=_(what))
        ) from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket, or a FIFO nobody writes to (write side)
            raise DeviceFileError(
                _("{path} is not a regular file, so not a {what}.").format(path=path, what=_(what))
            ) from None
        raise DeviceFileError(
            _("The {what} {path} cannot be read ({reason}).").format(
                what=_(what), path=path, reason=exc.strerror
            )
        ) from None
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        os.close(fd)
        raise DeviceFileError(
            _("The {what} {path} cannot be read.").format(what=_(what), path=path)
        ) from None
    if stat.S_ISDIR(mode):
        os.close(fd)
        raise DeviceFileError(_("{path} is a folder, not a {what}.").format(path=path, what=_(what)))
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise DeviceFileError(
            _("{path} is not a regular file, so not a {what}.").format(path=path, what=_(what))
        )
    return fd


def _read_fd(fd: int, path: Path, what: str = N_("device file")) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= MAX_DEVICE_FILE_SIZE:
            chunk = os.read(fd, MAX_DEVICE_FILE_SIZE + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise DeviceFileError(
            _("The {what} {path} cannot be read ({reason}).").format(
                what=_(what), path=path, reason=exc.strerror
            )
        ) from None
    if size > MAX_DEVICE_FILE_SIZE:
        raise DeviceFileCorruptError(
            _("{path} is too large to be a Parsec {what}.").format(path=path, what=_(what))
        )
    return b"".join(chunks)


def read_key_file_bytes(path: Path, what: str = N_("device file")) -> bytes:
    """The bytes of a device (or recovery) file, at most
    :data:`MAX_DEVICE_FILE_SIZE`, never blocking on a FIFO; ``what`` names
    it in the sentences."""
    fd = _open_regular(path, what=_(what))
    try:
        return _read_fd(fd, path, what)
    finally:
        os.close(fd)


def _parse(raw: bytes, path: Path) -> DeviceFile:
    try:
        return DeviceFile.load(raw)
    except DeviceFileCorruptError as exc:
        raise DeviceFileCorruptError(
            _("{path} is not a usable Parsec device file: {reason}").format(path=path, reason=exc)
        ) from None


def read_device_file(path: Path) -> DeviceFile:
    """The device file at ``path``; a :class:`DeviceFileError` (never another
    exception) for anything that is not one, without blocking on a FIFO."""
    return _parse(read_key_file_bytes(path), path)


load_device_file = read_device_file


def _walk(root: Path) -> list[Path]:
    """Every regular file under ``root``.  Like libparsec, symbolic links
    are neither followed into (folders) nor listed (files)."""
    out: list[Path] = []
    for dirpath, _dirnames, filenames in os.walk(root, onerror=lambda _exc: None):
        for name in filenames:
            p = Path(dirpath) / name
            try:
                if not stat.S_ISREG(os.lstat(p).st_mode):
                    continue
            except OSError:
                continue
            out.append(p)
    return out


def list_device_files(config: Path | None = None, *, recover: bool = True) -> list[ListedDevice]:
    """The device files of ``config`` (libparsec's listing), then the pending
    ones (``pending=True``) of devices that have no final file.  With
    ``recover`` (the default), leftover temporary files are settled first
    (:func:`recover_device_files`)."""
    root = devices_dir(config)
    if recover:
        recover_device_files(config)
    paths = _walk(root)
    finals = sorted(p for p in paths if p.suffix == ".keys")
    pendings = sorted(p for p in paths if p.name.endswith(".keys" + PENDING_SUFFIX))
    seen: set[str] = set()
    out: list[ListedDevice] = []
    for p, pending in [*((p, False) for p in finals), *((p, True) for p in pendings)]:
        try:
            f = read_device_file(p)
            device_id = f.device_id.hex
        except DeviceFileError as exc:
            log.info("skipping %s: %s", p, exc.message)
            continue
        except Exception as exc:  # noqa: BLE001 - one bad file must hide nothing
            log.info("skipping %s: unexpected %s", p, type(exc).__name__)
            continue
        if device_id in seen:
            continue
        seen.add(device_id)
        out.append(ListedDevice(p, f, pending))
    return out


def _check_password_algorithm(params: Argon2idParams) -> None:
    """Refuse parameters that cannot be right before deriving anything (a
    crafted file could ask for terabytes of memory)."""
    if params.opslimit < 1 or params.parallelism < 1 or params.memlimit_kb < 8 * params.parallelism:
        raise DeviceFileCorruptError(
            _("The device file's password parameters are invalid; it may be damaged.")
        )
    try:
        params.check()
    except CryptoError:
        raise UnsupportedDeviceFileError(
            _(
                "The device file asks for password parameters far beyond what Parsec uses ({memlimit_kb} "
                "KiB, {opslimit} passes, {parallelism} lanes); it was not opened."
            ).format(
                memlimit_kb=params.memlimit_kb, opslimit=params.opslimit, parallelism=params.parallelism
            ),
            hint=_(
                "It may be damaged or crafted; open it with the official Parsec client only if you trust it."
            ),
        ) from None


# Files asking for more than this many times libparsec's default Argon2id
# cost (memory, or memory × passes) are opened only once the person agreed:
# at the cap, one attempt costs ~30 s and 1 GiB.
SLOW_KDF_FACTOR = 8


def kdf_cost_factor(params: Argon2idParams) -> float:
    """How many times libparsec's default cost ``params`` asks for (the
    larger of the memory ratio and the memory × passes ratio)."""
    memory = params.memlimit_kb / ARGON2ID_DEFAULT_MEMLIMIT_KB
    work = memory * params.opslimit / ARGON2ID_DEFAULT_OPSLIMIT
    return max(memory, work)


def check_kdf_cost(params: Argon2idParams) -> None:
    """:class:`SlowKeyDerivationError` when deriving would cost more than
    :data:`SLOW_KDF_FACTOR` times the default (the caller asks, then retries
    with ``allow_slow``)."""
    factor = kdf_cost_factor(params)
    if factor > SLOW_KDF_FACTOR:
        raise SlowKeyDerivationError(
            _(
                "This device file asks for a very slow password check ({mib} MiB of memory, {opslimit} "
                "passes: {factor:.0f} times Parsec's usual cost); it was not opened."
            ).format(mib=params.memlimit_kb // 1024, opslimit=params.opslimit, factor=factor),
            memlimit_kb=params.memlimit_kb,
            opslimit=params.opslimit,
            parallelism=params.parallelism,
            factor=factor,
            hint=_("Open it anyway only if you made it so (on the command line: --allow-slow-kdf)."),
        )


def load_device_with_password(file: DeviceFile, password: str, *, allow_slow: bool = False) -> LocalDevice:
    if file.type != "password":
        file.check_supported()
        raise DeviceFileError(
            _("This device is protected by its {type}, not by a password.").format(type=file.type)
        )
    file.check_supported()
    assert file.algorithm is not None
    _check_password_algorithm(file.algorithm)
    if not allow_slow:
        check_kdf_cost(file.algorithm)
    try:
        key = derive_password_key(password, file.algorithm)
    except CryptoError as exc:
        raise UnsupportedDeviceFileError(str(exc)) from None
    return decrypt_device(file, key)


def build_password_file(
    device: LocalDevice,
    password: str,
    *,
    params: Argon2idParams | None = None,
    created_on: DateTime | None = None,
) -> DeviceFile:
    if not password:
        raise InvalidValueError(_("The password cannot be empty."), field="password")
    params = params or Argon2idParams.new_default()
    key = derive_password_key(password, params)
    return build_key_file(device, "password", key, created_on=created_on, algorithm=params)


def build_key_file(
    device: LocalDevice,
    kind: str,
    key: SecretKey,
    *,
    created_on: DateTime | None = None,
    algorithm: Argon2idParams | None = None,
    keyring_service: str | None = None,
    keyring_user: str | None = None,
) -> DeviceFile:
    """The ``kind`` device file of ``device``, its keys encrypted with ``key``."""
    now = DateTime.now()
    return DeviceFile(
        type=kind,
        created_on=created_on or now,
        protected_on=now,
        server=device.server,
        organization_id=device.organization_id,
        user_id=device.user_id,
        device_id=device.device_id,
        human_handle=device.human_handle,
        device_label=device.device_label,
        ciphertext=encrypt_device(device, key),
        algorithm=algorithm,
        keyring_service=keyring_service,
        keyring_user=keyring_user,
    )


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_error(path: Path, exc: OSError) -> DeviceFileWriteError:
    if exc.errno == errno.ENOSPC or exc.errno == getattr(errno, "EDQUOT", -1):
        return DeviceFileWriteError(
            _("The disk is full: the device file {path} could not be saved.").format(path=path),
            hint=_("Free some space and try again; nothing was saved."),
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return DeviceFileWriteError(
            _("Permission denied: the device file {path} could not be saved.").format(path=path),
            hint=_("Check the rights on that folder; nothing was saved."),
        )
    return DeviceFileWriteError(
        _("The device file {path} could not be saved ({reason}).").format(
            path=path, reason=exc.strerror or exc
        )
    )


@contextlib.contextmanager
def _undo_on_error(path: Path, undo: Callable[[], None]) -> Iterator[None]:
    """Run ``undo`` if the block fails; an OSError becomes the sentence of
    :func:`_write_error`."""
    try:
        yield
    except OSError as exc:
        undo()
        raise _write_error(path, exc) from None
    except BaseException:
        undo()
        raise


def _close(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


def _lock(fd: int, *, wait: bool) -> bool:
    """An exclusive ``flock`` on ``fd``: the file is being written or used by
    a save in progress (ours, or another process's).  Without ``flock``
    (Windows) every file counts as free."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError:
        return False
    return True


def _link_no_overwrite(source: Path, target: Path) -> bool:
    """``source`` also becomes ``target`` (a hard link: never overwriting;
    a rename where there are no hard links); False if ``target`` exists."""
    try:
        os.link(source, target)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if target.exists():
            return False
        os.rename(source, target)
    return True


class AtomicWrite:
    """Two-phase, atomic creation of one file.

    :meth:`prepare` writes and fsyncs a temporary file next to the target
    (so a full disk or a read-only folder shows up before anything
    irreversible happens elsewhere); :meth:`commit` puts it in place without
    overwriting another file (unless ``replace``); :meth:`abort` removes it.
    From :meth:`prepare` to :meth:`commit` or :meth:`abort`, the temporary
    file is held under an exclusive ``flock``, so that
    :func:`recover_device_files` in another process leaves it alone.
    """

    def __init__(self, path: Path, data: bytes, *, replace: bool = False) -> None:
        self.path = path
        self.data = data
        self.replace = replace
        self.tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        self._prepared = False
        self._fd: int | None = None

    def _exists_error(self) -> DeviceFileWriteError:
        return DeviceFileWriteError(
            _("A device file already exists at {path}; it was left untouched.").format(path=self.path)
        )

    def _create_locked(self) -> int:
        for _attempt in range(3):
            fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
            _lock(fd, wait=True)
            if os.fstat(fd).st_nlink > 0:
                return fd
            # A recovery in another process took it for a leftover (in the
            # instant between open and flock) and removed it: a new name.
            os.close(fd)
            self.tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")
        raise OSError(errno.EAGAIN, "the temporary file keeps disappearing")

    def prepare(self) -> AtomicWrite:
        with _undo_on_error(self.path, self.abort):
            make_private_dirs(self.path.parent)
            if not self.replace and self.path.exists():
                raise self._exists_error()
            fd = self._fd = self._create_locked()
            view = memoryview(self.data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        self._prepared = True
        return self

    def commit(self) -> Path:
        assert self._prepared, "prepare() first"
        try:
            if self.replace:
                os.replace(self.tmp, self.path)
            elif not _link_no_overwrite(self.tmp, self.path):
                raise self._exists_error()
            _fsync_dir(self.path.parent)
        except OSError as exc:
            raise _write_error(self.path, exc) from None
        finally:
            self.abort()
        return self.path

    def release(self) -> None:
        """Close the temporary file (and its lock), leaving it on disk."""
        _close(self._fd)
        self._fd = None

    def abort(self) -> None:
        try:
            os.unlink(self.tmp)
        except OSError:
            pass
        self.release()


def pending_path_of(final: Path) -> Path:
    return final.with_name(final.name + PENDING_SUFFIX)


def final_path_of(pending: Path) -> Path:
    """``<id>.keys`` for ``<id>.keys.pending`` (or the path itself)."""
    name = pending.name
    return pending.with_name(name[: -len(PENDING_SUFFIX)]) if name.endswith(PENDING_SUFFIX) else pending


class DeviceSave:
    """Saving the file of a device that a server is about to create (an
    organization bootstrap, a claimed invitation, a recovery import): the
    device must never exist on the server without its file here.

    The caller does the network; the file follows :data:`_SAVE_STATES`
    (state, event) -> next state, named after what we know::

        prepare()  -> nothing_sent     temporary file, fsynced, locked
          abort()      -> not_created      removed
          sending()    -> maybe_created    "<device id>.keys.pending" (call it just before the request)
            confirmed()  -> created          "<device id>.keys" (the server said yes, or a ping with the keys did)
            refused()    -> not_created      removed (the server answered a definitive no, or nothing left)
            unknown()    -> outcome_unknown  kept pending; returns its path (settled by a later login)

    An illegal event raises ``RuntimeError`` and changes nothing.  A process
    killed at any point leaves a temporary file (recovered by
    :func:`recover_device_files`), the pending file, or the final file.
    """

    def __init__(self, path: Path, data: bytes) -> None:
        self._write = AtomicWrite(path, data)
        self.path = path
        self.pending_path = pending_path_of(path)
        self._state = "new"
        self._fd: int | None = None  # holds the pending file's lock while maybe_created

    @classmethod
    def prepare(cls, file: DeviceFile, path: Path | None = None, *, config: Path | None = None) -> DeviceSave:
        """Write ``file`` to a temporary file next to ``path`` (default: its
        device's file in ``config``).  Raises :class:`DeviceFileWriteError`
        (disk full, rights, a file already there) before anything is sent."""
        save = cls(path or default_device_file(file.device_id.hex, config), file.dump())
        save._move("prepare")
        return save

    @classmethod
    def prepare_data(cls, path: Path, data: bytes) -> DeviceSave:
        """Like :meth:`prepare`, for a file that is not a device file (a
        recovery file at a path the person chose)."""
        save = cls(path, data)
        save._move("prepare")
        return save

    @property
    def state(self) -> str:
        return self._state

    def _move(self, event: str) -> None:
        """Do ``event``'s file operation, then take its next state (the state
        does not change when the operation fails)."""
        next_state = _SAVE_STATES.get((self._state, event))
        if next_state is None:
            raise RuntimeError(f"DeviceSave: {event!r} is not allowed in state {self._state!r}")
        getattr(self, f"_on_{event}")()
        self._state = next_state

    def abort(self) -> None:
        """Nothing was sent: remove the temporary file."""
        self._move("abort")

    def sending(self) -> None:
        """Call just before the irreversible request: from now on the file
        is only removed on a definitive refusal."""
        self._move("sending")

    def confirmed(self) -> Path:
        """The device exists on the server: its file goes in place."""
        self._move("confirmed")
        return self.path

    def refused(self) -> None:
        """The server answered that it did not create the device."""
        self._move("refused")

    def unknown(self) -> Path:
        """No answer (lost, late, interrupted): the pending file stays."""
        self._move("unknown")
        return self.pending_path

    # --- the file operations of each event ----------------------------------------------

    def _on_prepare(self) -> None:
        if self.pending_path.exists():
            raise self._write._exists_error()
        self._write.prepare()

    def _on_abort(self) -> None:
        self._write.abort()

    def _on_sending(self) -> None:
        w = self._write
        with _undo_on_error(self.path, w.abort):
            if not _link_no_overwrite(w.tmp, self.pending_path):
                raise w._exists_error()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(w.tmp)  # the descriptor, and its lock, now hold the pending file
            _fsync_dir(self.path.parent)
        self._fd, w._fd = w._fd, None

    def _on_confirmed(self) -> None:
        try:
            self.path = confirm_pending(self.pending_path)
        finally:
            self._unlock()

    def _on_refused(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.pending_path)
        self._unlock()

    def _on_unknown(self) -> None:
        self._unlock()

    def _unlock(self) -> None:
        _close(self._fd)
        self._fd = None


_SAVE_STATES: dict[tuple[str, str], str] = {
    ("new", "prepare"): "nothing_sent",
    ("nothing_sent", "abort"): "not_created",
    ("nothing_sent", "sending"): "maybe_created",
    ("maybe_created", "confirmed"): "created",
    ("maybe_created", "refused"): "not_created",
    ("maybe_created", "unknown"): "outcome_unknown",
}


def confirm_pending(pending: Path) -> Path:
    """The device of the pending file ``pending`` exists on the server: it
    becomes ``<device id>.keys`` (never overwriting another file; if the same
    bytes are already there, the pending copy is just dropped)."""
    final = final_path_of(pending)
    if final == pending:
        return final
    try:
        linked = _link_no_overwrite(pending, final)
    except OSError as exc:
        raise _write_error(final, exc) from None
    if not linked and not _same_bytes(pending, final):
        raise DeviceFileWriteError(
            _(
                "A different device file already exists at {final}; the confirmed one stays at {pending}."
            ).format(final=final, pending=pending)
        )
    with contextlib.suppress(OSError):
        os.unlink(pending)
    _fsync_dir(final.parent)
    return final


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        return a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def _recover_one(path: Path, config: Path | None) -> None:
    m = _TEMP_NAME.match(path.name)
    pending = path.name.endswith(".keys" + PENDING_SUFFIX)
    if not m and not pending:
        return
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (OSError, AttributeError):
        return
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode) or not _lock(fd, wait=False):
            return  # not a file of ours, or a save in progress holds it
        if os.fstat(fd).st_nlink == 0:
            return  # removed meanwhile
        try:
            f: DeviceFile | None = _parse(_read_fd(fd, path), path)
        except DeviceFileError:
            f = None
        if pending:
            # Settled by a login; only a copy of an existing final file goes.
            final = final_path_of(path)
            if final.exists() and _same_bytes(path, final):
                os.unlink(path)
            return
        assert m is not None
        target = path.with_name(m.group("target"))
        if f is None:
            # Incomplete (killed while writing): no usable keys in it.
            log.info("removing the incomplete temporary file %s", path)
            os.unlink(path)
            return
        if not target.name.endswith(".keys"):
            return
        try:
            existing = read_device_file(target) if target.exists() else None
        except DeviceFileError:
            existing = None
        if existing is not None and existing.device_id == f.device_id:
            os.unlink(path)  # the device has its file: an interrupted replace or commit
            return
        try:
            os.link(path, pending_path_of(target))
        except FileExistsError:
            if _same_bytes(path, pending_path_of(target)):
                os.unlink(path)
            return
        os.unlink(path)
        log.info("recovered %s as %s", path, pending_path_of(target))
    except OSError as exc:
        log.info("could not recover %s: %s", path, exc.strerror)
    finally:
        os.close(fd)


def recover_device_files(config: Path | None = None) -> None:
    """Settle the leftovers of interrupted saves under ``devices/``: a
    complete temporary file becomes ``<device id>.keys.pending`` (it may hold
    the only keys of an organization created meanwhile), an incomplete one is
    removed, a pending file identical to its final file is removed.  Files a
    save in progress holds (``flock``) are left alone.  Never raises."""
    try:
        for path in _walk(devices_dir(config)):
            try:
                _recover_one(path, config)
            except Exception as exc:  # noqa: BLE001 - recovery must never break a listing
                log.info("could not recover %s: unexpected %s", path, type(exc).__name__)
    except Exception:  # noqa: BLE001
        log.info("recovering device files failed", exc_info=True)


def write_device_file(path: Path, data: bytes, *, replace: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically, mode 0600, never overwriting an
    existing file unless ``replace``."""
    return AtomicWrite(path, data, replace=replace).prepare().commit()


def save_device_file(file: DeviceFile, path: Path | None = None, config: Path | None = None) -> Path:
    target = path or default_device_file(file.device_id.hex, config)
    return write_device_file(target, file.dump())


def save_device_with_password(
    device: LocalDevice, password: str, *, path: Path | None = None, config: Path | None = None
) -> Path:
    return save_device_file(build_password_file(device, password), path, config)


ARCHIVED_SUFFIX = ".archived"


def archive_device_file(path: Path) -> Path:
    """Set a device file aside the way libparsec does (``x.keys`` →
    ``x.keys.archived``, ``LD/device/archive.rs``): the listing, ours and the
    official client's, no longer shows it, and the keys stay on disk."""
    target = path.with_name(path.name + ARCHIVED_SUFFIX)
    try:
        os.replace(path, target)
        _fsync_dir(path.parent)
    except FileNotFoundError:
        raise DeviceFileError(_("The device file {path} does not exist.").format(path=path)) from None
    except OSError as exc:
        raise _write_error(target, exc) from None
    return target
