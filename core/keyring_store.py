"""Devices protected by the OS keyring, in libparsec's format (fact sheet h.4),
so that the official client and Parsec Tray open each other's files.

What libparsec 3.9.3 does (``platform_device_loader/src/native/mod.rs``):

- one *keyring user* for all devices: a random hyphenated UUIDv4 kept in
  ``<data dir>/keyring_user.txt`` (no newline; data dir =
  ``$PARSEC_BASE_DATA_DIR`` or the OS data dir, then ``parsec3``), read back
  exactly as written;
- the keyring entry (service ``"parsec"``, user = keyring user) holds the
  recovery-passphrase form of a random :class:`SecretKey`;
- saving reuses the keyring user when the file exists and its entry decodes
  to a key; otherwise it makes a new user and key, stores the entry, then
  rewrites the file;
- the device file (``type: "keyring"``) names ``keyring_service`` and
  ``keyring_user``; loading looks up exactly those.

The entry is stored the way the keyring crate libparsec links (keyring-rs
3.6.3) stores it, so that the official client *finds* it:

- Linux/BSD, Secret Service: an item in the default collection with the
  attributes ``service``, ``username``, ``target="default"``,
  ``application="rust-keyring"`` and the label
  ``"<user>@<service>:default (keyring v3.6.3)"``, secret ``text/plain``
  UTF-8.  keyring-rs searches all collections for {target, service,
  username}, and only when nothing matches, the default collection for
  {service, username}; we look up by {service, username} (preferring
  ``target="default"``), which finds its items and older ones.  (Its
  keyutils cache in front of the Secret Service is not used here.)
- macOS: a generic password, service ``parsec``, account = keyring user
  (through python-keyring's macOS backend).
- Windows: a generic credential whose target name is ``<user>.parsec``,
  user name = keyring user, blob = the passphrase in UTF-16-LE, persisted
  ``CRED_PERSIST_ENTERPRISE`` (through pywin32's ``win32cred``; untested here).

Invariants: every keyring library exception becomes a
:class:`~parsec_tray.core.errors.KeyringError` whose sentence says what to
do (use a password instead); the Secret Service unlock prompt is only shown
when asked (``prompt_timeout``); optional platform modules are imported
lazily, so importing this module never fails on any OS.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from .crypto import SecretKey, key_to_passphrase, passphrase_to_key
from .device_file import DeviceFile, decrypt_device
from .devices import AtomicWrite, build_key_file
from .errors import DeviceFileError, InvalidValueError, KeyringError, WrongPasswordError
from .i18n import N_, _
from .local_device import LocalDevice
from .paths import data_dir, default_device_file

__all__ = [
    "KEYRING_SERVICE",
    "forget_keyring_user",
    "KeyringBackend",
    "MacKeychainKeyring",
    "NoKeyring",
    "SecretServiceKeyring",
    "WindowsCredentialKeyring",
    "build_keyring_file",
    "get_backend",
    "keyring_available",
    "keyring_user_path",
    "load_device_with_keyring",
    "save_device_with_keyring",
    "translate_error",
]

log = logging.getLogger(__name__)

KEYRING_SERVICE = "parsec"
KEYRING_USER_FILE = "keyring_user.txt"
KEYRING_RS_VERSION = "3.6.3"  # what libparsec 3.9.3 links; appears in labels and comments
BACKEND_ENV = "PARSEC_TRAY_KEYRING"  # secret-service | macos | windows | none

_SAVE_HINT = N_("Protect the device with a password instead.")
_LOAD_HINT = N_("Unlock the OS keyring and try again, or use a password-protected device instead.")


def keyring_user_path() -> Path:
    return data_dir() / KEYRING_USER_FILE


# --- translating library errors -------------------------------------------------------


def translate_error(exc: BaseException, *, saving: bool) -> KeyringError:
    """The :class:`KeyringError` for an exception from a keyring library."""
    hint = _(_SAVE_HINT if saving else _LOAD_HINT)
    name = type(exc).__name__
    module = type(exc).__module__ or ""
    if module.startswith("secretstorage"):
        if name == "SecretServiceNotAvailableException":
            return KeyringError(_("No OS keyring (Secret Service) is reachable on this computer."), hint=hint)
        if name == "LockedException":
            return KeyringError(_("The OS keyring is locked."), hint=hint)
        if name == "PromptDismissedException":
            return KeyringError(_("Unlocking the OS keyring was cancelled."), hint=hint)
        if name == "ItemNotFoundException":
            return KeyringError(_("The OS keyring has no default keyring to store keys in."), hint=hint)
        return KeyringError(_("The OS keyring failed ({name}).").format(name=name), hint=hint)
    if name == "DBusErrorResponse":
        what = getattr(exc, "name", None) or name
        return KeyringError(_("The OS keyring refused the operation ({what}).").format(what=what), hint=hint)
    if module.startswith("keyring"):
        if name == "KeyringLocked":
            return KeyringError(_("The OS keyring is locked."), hint=hint)
        if name in ("NoKeyringError", "InitError"):
            return KeyringError(_("No OS keyring is available on this computer."), hint=hint)
        return KeyringError(_("The OS keyring refused the operation ({name}).").format(name=name), hint=hint)
    if name == "error" and module.startswith("pywintypes"):
        strerror = getattr(exc, "strerror", None) or "error"
        return KeyringError(
            _("The Windows Credential Manager refused the operation ({strerror}).").format(strerror=strerror),
            hint=hint,
        )
    if isinstance(exc, TimeoutError):
        return KeyringError(_("The OS keyring was not unlocked in time."), hint=hint)
    if isinstance(exc, OSError):
        return KeyringError(
            _("The connection to the OS keyring failed ({reason}).").format(reason=exc.strerror or name),
            hint=hint,
        )
    return KeyringError(_("The OS keyring failed ({name}).").format(name=name), hint=hint)


# --- backends ------------------------------------------------------------------------------


class KeyringBackend:
    """Get/set one secret by (service, user).

    ``get_password`` returns ``None`` when there is no such entry and raises
    :class:`KeyringError` when the keyring cannot be used (none, locked).
    """

    name = "base"
    #: the backend stores entries where the official client looks for them
    official_layout = False

    def get_password(self, service: str, user: str) -> str | None:
        raise NotImplementedError

    def set_password(self, service: str, user: str, password: str) -> None:
        raise NotImplementedError

    def delete_password(self, service: str, user: str) -> None:
        raise NotImplementedError

    def available(self) -> bool:
        """Like libparsec: look an entry up; a missing entry is fine."""
        try:
            self.get_password(KEYRING_SERVICE, "tmp")
        except KeyringError as exc:
            log.info("OS keyring not available: %s", exc.message)
            return False
        return True


class NoKeyring(KeyringBackend):
    name = "none"

    def _fail(self) -> KeyringError:
        return KeyringError(_("No OS keyring is available on this computer."), hint=_(_SAVE_HINT))

    def get_password(self, service: str, user: str) -> str | None:
        raise self._fail()

    def set_password(self, service: str, user: str, password: str) -> None:
        raise self._fail()

    def delete_password(self, service: str, user: str) -> None:
        raise self._fail()

    def available(self) -> bool:
        return False


class SecretServiceKeyring(KeyringBackend):
    """The freedesktop Secret Service (GNOME Keyring, KWallet, KeePassXC) over
    D-Bus, with the attributes keyring-rs uses.

    ``prompt_timeout``: when set, a locked keyring shows the desktop's
    unlock dialog and waits that many seconds; when ``None`` (default), a
    locked keyring is an error at once.
    """

    name = "secret-service"
    official_layout = True

    def __init__(self, *, prompt_timeout: float | None = None) -> None:
        self.prompt_timeout = prompt_timeout

    @staticmethod
    def attributes(service: str, user: str) -> dict[str, str]:
        return {"service": service, "username": user, "target": "default", "application": "rust-keyring"}

    @staticmethod
    def label(service: str, user: str) -> str:
        return f"{user}@{service}:default (keyring v{KEYRING_RS_VERSION})"

    def _run(self, saving: bool, fn: Any) -> Any:
        try:
            import secretstorage
        except ImportError:
            raise KeyringError(
                _("Parsec Tray was installed without Secret Service support (secretstorage)."),
                hint=_(_SAVE_HINT if saving else _LOAD_HINT),
            ) from None
        conn = None
        try:
            conn = secretstorage.dbus_init()
            return fn(secretstorage, conn)
        except KeyringError:
            raise
        except Exception as exc:  # noqa: BLE001 - the boundary: secretstorage, jeepney, sockets
            raise translate_error(exc, saving=saving) from None
        finally:
            if conn is not None:
                try:
                    conn.close()
                except Exception:  # noqa: BLE001
                    pass

    def _unlock(self, obj: Any, saving: bool) -> None:
        if self.prompt_timeout is None:
            raise KeyringError(_("The OS keyring is locked."), hint=_(_SAVE_HINT if saving else _LOAD_HINT))
        dismissed = obj.unlock(timeout=self.prompt_timeout)
        if dismissed:
            raise KeyringError(
                _("Unlocking the OS keyring was cancelled."), hint=_(_SAVE_HINT if saving else _LOAD_HINT)
            )

    def get_password(self, service: str, user: str) -> str | None:
        # Reading, the common case (every quick login), goes straight over
        # jeepney: secretstorage would load cryptography (about 7 MB that stay
        # resident in the tray) for a transport encryption the local session
        # bus does not need.  Only a locked item with a prompt allowed takes
        # secretstorage's path (it knows the prompt dance).
        try:
            found = _plain_lookup(service, user)
        except KeyringError:
            raise
        except Exception as exc:  # noqa: BLE001 - the boundary: jeepney, sockets
            raise translate_error(exc, saving=False) from None
        if found is not _LOCKED:
            return found if isinstance(found, str) else None
        if self.prompt_timeout is None:
            raise KeyringError(_("The OS keyring is locked."), hint=_(_LOAD_HINT))
        return self._get_password_prompting(service, user)

    def _get_password_prompting(self, service: str, user: str) -> str | None:
        def go(ss: Any, conn: Any) -> str | None:
            items = list(ss.search_items(conn, {"service": service, "username": user}))
            if not items:
                return None
            # keyring-rs's own items first; then any other app's {service, username} item
            items.sort(key=lambda i: i.get_attributes().get("target") != "default")
            item = items[0]
            if item.is_locked():
                self._unlock(item, saving=False)
            return _secret_text(bytes(item.get_secret()))

        result: str | None = self._run(False, go)
        return result

    def set_password(self, service: str, user: str, password: str) -> None:
        def go(ss: Any, conn: Any) -> None:
            collection = ss.Collection(conn)  # the "default" alias; never created here (that prompts)
            if collection.is_locked():
                self._unlock(collection, saving=True)
            collection.create_item(
                self.label(service, user),
                self.attributes(service, user),
                password.encode("utf-8"),
                replace=True,
                content_type="text/plain",
            )

        self._run(True, go)

    def delete_password(self, service: str, user: str) -> None:
        def go(ss: Any, conn: Any) -> None:
            for item in ss.search_items(conn, {"service": service, "username": user}):
                item.delete()

        self._run(True, go)

    def available(self) -> bool:
        def go(ss: Any, conn: Any) -> bool:
            ss.Collection(conn)  # ItemNotFoundException without a default keyring
            list(ss.search_items(conn, {"service": KEYRING_SERVICE, "username": "tmp"}))
            return True

        try:
            ok: bool = self._run(False, go)
        except KeyringError as exc:
            log.info("OS keyring not available: %s", exc.message)
            return False
        return ok


_SECRETS = "org.freedesktop.secrets"
_LOCKED = object()  # the item exists but is locked


def _secret_text(secret: bytes) -> str:
    try:
        return secret.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyringError(
            _("The OS keyring's entry for this device is not text."), hint=_(_LOAD_HINT)
        ) from None


def _plain_lookup(service: str, user: str) -> Any:
    """The secret of the {service, username} item (keyring-rs's own, with
    ``target="default"``, first), ``None`` when there is none, or
    :data:`_LOCKED`; read with the Secret Service's ``plain`` session (the
    secret crosses the local session bus unencrypted, as with any D-Bus
    client that does not negotiate one)."""
    from jeepney import DBusAddress, Properties, new_method_call
    from jeepney.io.blocking import open_dbus_connection
    from jeepney.wrappers import DBusErrorResponse, unwrap_msg

    try:
        conn = open_dbus_connection(bus="SESSION")
    except (KeyError, OSError) as exc:  # no DBUS_SESSION_BUS_ADDRESS, or nothing there
        raise KeyringError(
            _("No OS keyring (Secret Service) is reachable on this computer."), hint=_(_LOAD_HINT)
        ) from exc
    try:
        secrets_service = DBusAddress("/org/freedesktop/secrets", _SECRETS, "org.freedesktop.Secret.Service")

        def call(addr: DBusAddress, method: str, signature: str = "", args: tuple[Any, ...] = ()) -> Any:
            try:
                return unwrap_msg(
                    conn.send_and_get_reply(new_method_call(addr, method, signature, args), timeout=10)
                )
            except DBusErrorResponse as exc:
                if exc.name in (
                    "org.freedesktop.DBus.Error.ServiceUnknown",
                    "org.freedesktop.DBus.Error.NameHasNoOwner",
                ):
                    raise KeyringError(
                        _("No OS keyring (Secret Service) is reachable on this computer."), hint=_(_LOAD_HINT)
                    ) from None
                raise

        unlocked, locked = call(
            secrets_service, "SearchItems", "a{ss}", ({"service": service, "username": user},)
        )
        paths = [(p, False) for p in unlocked] + [(p, True) for p in locked]
        if not paths:
            return None

        def is_keyring_rs(path: str) -> bool:
            item = DBusAddress(path, _SECRETS, "org.freedesktop.Secret.Item")
            msg = Properties(item).get("Attributes")
            ((_sig, attributes),) = unwrap_msg(conn.send_and_get_reply(msg, timeout=10))
            return bool(attributes.get("target") == "default")

        if len(paths) > 1:
            paths.sort(key=lambda p: not is_keyring_rs(p[0]))
        path, is_locked = paths[0]
        if is_locked:
            return _LOCKED
        _output, session = call(secrets_service, "OpenSession", "sv", ("plain", ("s", "")))
        try:
            (secrets,) = call(secrets_service, "GetSecrets", "aoo", ([path], session))
        finally:
            try:
                call(DBusAddress(session, _SECRETS, "org.freedesktop.Secret.Session"), "Close")
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        if path not in secrets:
            return _LOCKED  # locked between the search and the read
        _session, _params, value, _content_type = secrets[path]
        return _secret_text(bytes(value))
    finally:
        conn.close()


class MacKeychainKeyring(KeyringBackend):
    """macOS Keychain generic passwords (service, account) via python-keyring."""

    name = "macos"
    official_layout = True

    def _kr(self, saving: bool) -> Any:
        hint = _(_SAVE_HINT if saving else _LOAD_HINT)
        if sys.platform != "darwin":
            raise KeyringError(_("The macOS Keychain exists only on macOS."), hint=hint)
        try:
            from keyring.backends import macOS

            macOS.Keyring.priority  # noqa: B018 - raises when the Keychain API is unusable
            return macOS.Keyring()
        except Exception as exc:  # noqa: BLE001 - ImportError, RuntimeError, keyring.errors.*
            raise translate_error(exc, saving=saving) from None

    def _call(self, saving: bool, method: str, *args: str) -> Any:
        kr = self._kr(saving)
        try:
            return getattr(kr, method)(*args)
        except Exception as exc:  # noqa: BLE001 - the boundary
            raise translate_error(exc, saving=saving) from None

    def get_password(self, service: str, user: str) -> str | None:
        value = self._call(False, "get_password", service, user)
        return value if isinstance(value, str) else None

    def set_password(self, service: str, user: str, password: str) -> None:
        self._call(True, "set_password", service, user, password)

    def delete_password(self, service: str, user: str) -> None:
        self._call(True, "delete_password", service, user)

    def available(self) -> bool:
        # Reading an entry can prompt for the session password on macOS:
        # like libparsec, only check that the keychain can be opened.
        try:
            self._kr(False)
        except KeyringError:
            return False
        return True


class WindowsCredentialKeyring(KeyringBackend):
    """Windows Credential Manager generic credentials named ``<user>.<service>``
    (keyring-rs's naming; python-keyring names them differently)."""

    name = "windows"
    official_layout = True
    _ERROR_NOT_FOUND = 1168
    _CRED_TYPE_GENERIC = 1
    _CRED_PERSIST_ENTERPRISE = 3

    @staticmethod
    def target(service: str, user: str) -> str:
        return f"{user}.{service}"

    def _mod(self, saving: bool) -> Any:
        try:
            import win32cred

            return win32cred
        except ImportError:
            raise KeyringError(
                _("The Windows Credential Manager needs pywin32, which is not installed."),
                hint=_(_SAVE_HINT if saving else _LOAD_HINT),
            ) from None

    def get_password(self, service: str, user: str) -> str | None:
        win32cred = self._mod(False)
        try:
            cred = win32cred.CredRead(TargetName=self.target(service, user), Type=self._CRED_TYPE_GENERIC)
        except Exception as exc:  # noqa: BLE001 - pywintypes.error
            if getattr(exc, "winerror", None) == self._ERROR_NOT_FOUND:
                return None
            raise translate_error(exc, saving=False) from None
        blob = cred.get("CredentialBlob") or b""
        if isinstance(blob, str):
            return blob
        try:
            return bytes(blob).decode("utf-16-le")
        except UnicodeDecodeError:
            raise KeyringError(
                _("The OS keyring's entry for this device is not text."), hint=_(_LOAD_HINT)
            ) from None

    def set_password(self, service: str, user: str, password: str) -> None:
        win32cred = self._mod(True)
        credential = {
            "Type": self._CRED_TYPE_GENERIC,
            "TargetName": self.target(service, user),
            "UserName": user,
            "CredentialBlob": password,  # pywin32 stores str as UTF-16-LE, as keyring-rs does
            "Comment": f"keyring v{KEYRING_RS_VERSION}",
            "Persist": self._CRED_PERSIST_ENTERPRISE,
        }
        try:
            win32cred.CredWrite(credential, 0)
        except Exception as exc:  # noqa: BLE001 - pywintypes.error
            raise translate_error(exc, saving=True) from None

    def delete_password(self, service: str, user: str) -> None:
        win32cred = self._mod(True)
        try:
            win32cred.CredDelete(self.target(service, user), self._CRED_TYPE_GENERIC)
        except Exception as exc:  # noqa: BLE001
            if getattr(exc, "winerror", None) != self._ERROR_NOT_FOUND:
                raise translate_error(exc, saving=True) from None


_BACKENDS: dict[str, type[KeyringBackend]] = {
    "secret-service": SecretServiceKeyring,
    "macos": MacKeychainKeyring,
    "windows": WindowsCredentialKeyring,
    "none": NoKeyring,
}
_backend: KeyringBackend | None = None


def _platform_backend_name() -> str:
    if sys.platform == "win32":
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd", "dragonfly")):
        return "secret-service"
    return "none"


def get_backend() -> KeyringBackend:
    """The backend for this platform, chosen once (``$PARSEC_TRAY_KEYRING``
    overrides: ``secret-service``, ``macos``, ``windows`` or ``none``)."""
    global _backend
    if _backend is None:
        name = os.environ.get(BACKEND_ENV) or _platform_backend_name()
        cls = _BACKENDS.get(name)
        if cls is None:
            log.warning("unknown %s=%r: no OS keyring", BACKEND_ENV, name)
            cls = NoKeyring
        _backend = cls()
    return _backend


def keyring_available(backend: KeyringBackend | None = None) -> bool:
    """Can devices be protected by the OS keyring here?  (Never raises.)"""
    return (backend or get_backend()).available()


# --- saving and loading --------------------------------------------------------------------


def _read_keyring_user(path: Path) -> str | None:
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    try:
        user = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return user or None


def _keyring_key(backend: KeyringBackend) -> tuple[str, SecretKey]:
    """The shared keyring user and its key: reused when its entry decodes,
    else created (entry first, then ``keyring_user.txt``)."""
    path = keyring_user_path()
    user = _read_keyring_user(path)
    if user is not None:
        secret = backend.get_password(KEYRING_SERVICE, user)
        if secret is not None:
            try:
                return user, passphrase_to_key(secret)
            except InvalidValueError:
                log.info("the keyring entry of %s is not a passphrase: making a new keyring user", user)
    user = str(uuid.uuid4())
    key = SecretKey.generate()
    backend.set_password(KEYRING_SERVICE, user, key_to_passphrase(key))
    AtomicWrite(path, user.encode("utf-8"), replace=True).prepare().commit()
    return user, key


def build_keyring_file(device: LocalDevice, *, backend: KeyringBackend | None = None) -> DeviceFile:
    """The keyring-protected device file of ``device``, not written yet (for
    two-phase saves): gets or creates the shared keyring user and its entry.

    Raises :class:`KeyringError` when the keyring cannot be used."""
    user, key = _keyring_key(backend or get_backend())
    return build_key_file(device, "keyring", key, keyring_service=KEYRING_SERVICE, keyring_user=user)


def save_device_with_keyring(
    device: LocalDevice,
    path: Path | None = None,
    config: Path | None = None,
    *,
    replace: bool = False,
    backend: KeyringBackend | None = None,
) -> Path:
    """Write ``device`` to a keyring-protected device file (default:
    ``<config dir>/devices/<device id>.keys``); returns its path.

    Raises :class:`KeyringError` (no keyring, locked...) before writing the
    device file; never overwrites a file unless ``replace``."""
    file = build_keyring_file(device, backend=backend)
    target = path or default_device_file(device.device_id.hex, config)
    return AtomicWrite(target, file.dump(), replace=replace).prepare().commit()


def load_device_with_keyring(file: DeviceFile, *, backend: KeyringBackend | None = None) -> LocalDevice:
    """Decrypt a ``keyring`` device file with its key from the OS keyring."""
    if file.type != "keyring":
        file.check_supported()
        raise DeviceFileError(
            _("This device is protected by its {type}, not by the OS keyring.").format(type=file.type)
        )
    file.check_supported()
    service, user = file.keyring_service, file.keyring_user
    if not service or not user:
        raise DeviceFileError(_("This keyring device file does not name its keyring entry."))
    backend = backend or get_backend()
    secret = backend.get_password(service, user)
    if secret is None:
        raise KeyringError(
            _(
                "The OS keyring has no key for this device (service {service!r}, user {user!r}): it was "
                "deleted, or the device file comes from another computer or account."
            ).format(service=service, user=user),
            hint=_(
                "Use a password-protected device instead, or add this computer again from another device."
            ),
        )
    try:
        key = passphrase_to_key(secret)
    except InvalidValueError:
        raise KeyringError(
            _("The OS keyring's entry for this device (user {user!r}) is not a Parsec key.").format(
                user=user
            ),
            hint=_("Use a password-protected device instead."),
        ) from None
    try:
        return decrypt_device(file, key)
    except WrongPasswordError:
        raise WrongPasswordError(
            _("The key in the OS keyring does not open this device (its keyring entry was replaced)."),
            hint=_(
                "Use a password-protected device instead, or add this computer again from another device."
            ),
        ) from None


def forget_keyring_user(*, backend: KeyringBackend | None = None) -> bool:
    """Delete the keyring entry of this data dir's keyring user (what a
    throw-away data dir, the demo's, leaves in the OS keyring): True if
    there was one.  Never raises: a keyring that cannot be reached has
    nothing of it to delete."""
    user = _read_keyring_user(keyring_user_path())
    if user is None:
        return False
    try:
        backend = backend or get_backend()
        if backend.get_password(KEYRING_SERVICE, user) is None:
            return False
        backend.delete_password(KEYRING_SERVICE, user)
    except Exception as exc:  # noqa: BLE001 - best effort, logged
        log.info("the keyring entry of %s could not be deleted: %r", user, exc)
        return False
    return True
