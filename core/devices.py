"""Device key files on disk: listing, loading, and saving atomically.

Invariants:
- A save writes a temporary file in the target folder (mode 0600), fsyncs
  it, then links it into place without overwriting another file (or
  replaces the same device's file when asked); the folder is fsynced.  A
  failure at any point leaves no partial file and the previous file intact.
- Listing follows libparsec: every regular ``*.keys`` file under
  ``devices/`` (recursively), sorted paths, unloadable files skipped,
  de-duplicated by device id (first path wins).
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from .crypto import Argon2idParams, SecretKey, derive_password_key
from .device_file import DeviceFile, decrypt_device, encrypt_device
from .errors import (
    CryptoError,
    DeviceFileCorruptError,
    DeviceFileError,
    DeviceFileWriteError,
    InvalidValueError,
    UnsupportedDeviceFileError,
)
from .local_device import LocalDevice
from .paths import default_device_file, devices_dir
from .values import DateTime

__all__ = [
    "ListedDevice",
    "list_device_files",
    "load_device_file",
    "load_device_with_password",
    "save_device_with_password",
    "write_device_file",
]

log = logging.getLogger(__name__)

MAX_DEVICE_FILE_SIZE = 1024 * 1024


@dataclass(frozen=True)
class ListedDevice:
    path: Path
    file: DeviceFile


def read_device_file(path: Path) -> DeviceFile:
    try:
        with open(path, "rb") as fd:
            raw = fd.read(MAX_DEVICE_FILE_SIZE + 1)
    except FileNotFoundError:
        raise DeviceFileError(f"The device file {path} does not exist.") from None
    except IsADirectoryError:
        raise DeviceFileError(f"{path} is a folder, not a device file.") from None
    except OSError as exc:
        raise DeviceFileError(f"The device file {path} cannot be read ({exc.strerror}).") from None
    if len(raw) > MAX_DEVICE_FILE_SIZE:
        raise DeviceFileCorruptError(f"{path} is too large to be a Parsec device file.")
    try:
        return DeviceFile.load(raw)
    except DeviceFileCorruptError as exc:
        raise DeviceFileCorruptError(f"{path} is not a usable Parsec device file: {exc}") from None


load_device_file = read_device_file


def list_device_files(config: Path | None = None) -> list[ListedDevice]:
    root = devices_dir(config)
    paths: list[Path] = []
    # Like libparsec: symbolic links are neither followed into (folders) nor
    # listed (files); only regular files count.
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            p = Path(dirpath) / name
            if p.suffix != ".keys":
                continue
            try:
                if not stat.S_ISREG(os.lstat(p).st_mode):
                    continue
            except OSError:
                continue
            paths.append(p)
    seen: set[str] = set()
    out: list[ListedDevice] = []
    for p in sorted(paths):
        try:
            f = read_device_file(p)
        except DeviceFileError as exc:
            log.info("skipping %s: %s", p, exc.message)
            continue
        if f.device_id.hex in seen:
            continue
        seen.add(f.device_id.hex)
        out.append(ListedDevice(p, f))
    return out


def _check_password_algorithm(params: Argon2idParams) -> None:
    """Refuse parameters that cannot be right before deriving anything (a
    crafted file could ask for terabytes of memory)."""
    if params.opslimit < 1 or params.parallelism < 1 or params.memlimit_kb < 8 * params.parallelism:
        raise DeviceFileCorruptError("The device file's password parameters are invalid; it may be damaged.")
    try:
        params.check()
    except CryptoError:
        raise UnsupportedDeviceFileError(
            "The device file asks for password parameters far beyond what Parsec uses "
            f"({params.memlimit_kb} KiB, {params.opslimit} passes, {params.parallelism} lanes); it was not opened.",
            hint="It may be damaged or crafted; open it with the official Parsec client only if you trust it.",
        ) from None


def load_device_with_password(file: DeviceFile, password: str) -> LocalDevice:
    if file.type != "password":
        file.check_supported()
        raise DeviceFileError(f"This device is protected by its {file.type}, not by a password.")
    file.check_supported()
    assert file.algorithm is not None
    _check_password_algorithm(file.algorithm)
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
        raise InvalidValueError("The password cannot be empty.", field="password")
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
            f"The disk is full: the device file {path} could not be saved.",
            hint="Free some space and try again; nothing was saved.",
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return DeviceFileWriteError(
            f"Permission denied: the device file {path} could not be saved.",
            hint="Check the rights on that folder; nothing was saved.",
        )
    return DeviceFileWriteError(f"The device file {path} could not be saved ({exc.strerror or exc}).")


class AtomicWrite:
    """Two-phase, atomic creation of one file.

    :meth:`prepare` writes and fsyncs a temporary file next to the target
    (so a full disk or a read-only folder shows up before anything
    irreversible happens elsewhere); :meth:`commit` puts it in place without
    overwriting another file (unless ``replace``); :meth:`abort` removes it.
    """

    def __init__(self, path: Path, data: bytes, *, replace: bool = False) -> None:
        self.path = path
        self.data = data
        self.replace = replace
        self.tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        self._prepared = False

    def _exists_error(self) -> DeviceFileWriteError:
        return DeviceFileWriteError(f"A device file already exists at {self.path}; it was left untouched.")

    def prepare(self) -> AtomicWrite:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not self.replace and self.path.exists():
                raise self._exists_error()
            fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
            try:
                view = memoryview(self.data)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            self.abort()
            raise _write_error(self.path, exc) from None
        except BaseException:
            self.abort()
            raise
        self._prepared = True
        return self

    def commit(self) -> Path:
        assert self._prepared, "prepare() first"
        try:
            if self.replace:
                os.replace(self.tmp, self.path)
            else:
                try:
                    os.link(self.tmp, self.path)  # fails if the target exists: no overwrite race
                except FileExistsError:
                    raise self._exists_error() from None
                except OSError as exc:
                    if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                        raise
                    if self.path.exists():
                        raise self._exists_error() from None
                    os.rename(self.tmp, self.path)  # file systems without hard links
            _fsync_dir(self.path.parent)
        except OSError as exc:
            raise _write_error(self.path, exc) from None
        finally:
            self.abort()
        return self.path

    def abort(self) -> None:
        try:
            os.unlink(self.tmp)
        except OSError:
            pass


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
