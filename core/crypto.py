"""Parsec's cryptographic primitives on PyNaCl (libsodium).

- SigningKey/VerifyKey: Ed25519; ``sign`` returns ``signature(64) || data``.
- PrivateKey/PublicKey: X25519; ``encrypt_for_self`` is a sealed box.
- SecretKey: XSalsa20-Poly1305 secretbox, ``nonce(24) || mac(16) || ct``.
- Argon2id password derivation: libsodium when parallelism is 1 (what Parsec
  writes); ``cryptography``'s Argon2id for files that say otherwise.
- The recovery-passphrase form of a SecretKey (base32, groups of 4).

Every nacl/cryptography exception is turned into
:class:`~parsec_tray.core.errors.CryptoError` here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions
import nacl.public
import nacl.pwhash
import nacl.secret
import nacl.signing

from .errors import CryptoError, InvalidValueError
from .i18n import N_, _

__all__ = [
    "Argon2idParams",
    "PrivateKey",
    "PublicKey",
    "SecretKey",
    "SigningKey",
    "VerifyKey",
    "derive_password_key",
    "passphrase_to_key",
    "key_to_passphrase",
]

KEY_SIZE = 32


def _raw32(value: bytes, what: str) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or len(value) != KEY_SIZE:
        raise CryptoError(_("A {what} must be {KEY_SIZE} bytes.").format(what=_(what), KEY_SIZE=KEY_SIZE))
    return bytes(value)


class VerifyKey:
    __slots__ = ("_vk",)

    def __init__(self, raw: bytes) -> None:
        try:
            self._vk = nacl.signing.VerifyKey(_raw32(raw, N_("verify key")))
        except (nacl.exceptions.CryptoError, ValueError, TypeError):
            raise CryptoError(_("Invalid Ed25519 verify key.")) from None

    def encode(self) -> bytes:
        return bytes(self._vk.encode())

    def verify(self, signed: bytes) -> bytes:
        """Check ``signature(64) || data`` and return ``data``."""
        if len(signed) < 64:
            raise CryptoError(_("Signed data is too short."))
        try:
            return bytes(self._vk.verify(signed))
        except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError, ValueError, TypeError):
            raise CryptoError(_("The signature does not match.")) from None

    def verify_detached(self, signature: bytes, data: bytes) -> None:
        self.verify(signature + data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VerifyKey) and hmac.compare_digest(self.encode(), other.encode())

    def __hash__(self) -> int:
        return hash(self.encode())


class SigningKey:
    __slots__ = ("_sk",)

    def __init__(self, seed: bytes) -> None:
        self._sk = nacl.signing.SigningKey(_raw32(seed, N_("signing key")))

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(secrets.token_bytes(KEY_SIZE))

    def encode(self) -> bytes:
        return bytes(self._sk.encode())

    @property
    def verify_key(self) -> VerifyKey:
        return VerifyKey(bytes(self._sk.verify_key.encode()))

    def sign(self, data: bytes) -> bytes:
        return bytes(self._sk.sign(data))

    def sign_only_signature(self, data: bytes) -> bytes:
        return bytes(self._sk.sign(data).signature)

    def __repr__(self) -> str:
        return "SigningKey(<secret>)"


class PublicKey:
    __slots__ = ("_pk",)

    def __init__(self, raw: bytes) -> None:
        self._pk = nacl.public.PublicKey(_raw32(raw, N_("public key")))

    def encode(self) -> bytes:
        return bytes(self._pk.encode())

    def encrypt_for_self(self, data: bytes) -> bytes:
        try:
            return bytes(nacl.public.SealedBox(self._pk).encrypt(data))
        except (nacl.exceptions.CryptoError, ValueError, TypeError):
            # libsodium refuses a low-order key (all-zero shared secret).
            raise CryptoError(_("Cannot encrypt for this public key.")) from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and self.encode() == other.encode()

    def __hash__(self) -> int:
        return hash(self.encode())


class PrivateKey:
    __slots__ = ("_sk",)

    def __init__(self, raw: bytes) -> None:
        self._sk = nacl.public.PrivateKey(_raw32(raw, N_("private key")))

    @classmethod
    def generate(cls) -> PrivateKey:
        return cls(secrets.token_bytes(KEY_SIZE))

    def encode(self) -> bytes:
        return bytes(self._sk.encode())

    @property
    def public_key(self) -> PublicKey:
        return PublicKey(bytes(self._sk.public_key.encode()))

    def decrypt_from_self(self, data: bytes) -> bytes:
        try:
            return bytes(nacl.public.SealedBox(self._sk).decrypt(data))
        except (nacl.exceptions.CryptoError, ValueError, TypeError):
            raise CryptoError(_("The data cannot be decrypted with this key.")) from None

    def __repr__(self) -> str:
        return "PrivateKey(<secret>)"


class SecretKey:
    __slots__ = ("_raw",)

    def __init__(self, raw: bytes) -> None:
        self._raw = _raw32(raw, N_("secret key"))

    @classmethod
    def generate(cls) -> SecretKey:
        return cls(secrets.token_bytes(KEY_SIZE))

    def encode(self) -> bytes:
        return self._raw

    def encrypt(self, data: bytes) -> bytes:
        return bytes(nacl.secret.SecretBox(self._raw).encrypt(data))

    def decrypt(self, data: bytes) -> bytes:
        try:
            return bytes(nacl.secret.SecretBox(self._raw).decrypt(data))
        except (nacl.exceptions.CryptoError, ValueError, TypeError):
            raise CryptoError(_("The data cannot be decrypted with this key.")) from None

    def mac_512(self, data: bytes) -> bytes:
        return hashlib.blake2b(data, key=self._raw, digest_size=64).digest()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretKey) and hmac.compare_digest(self._raw, other._raw)

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        return "SecretKey(<secret>)"


# --- Argon2id ---------------------------------------------------------------

ARGON2ID_DEFAULT_MEMLIMIT_KB = 128 * 1024
ARGON2ID_DEFAULT_OPSLIMIT = 3
ARGON2ID_DEFAULT_PARALLELISM = 1
# Refuse parameters that would exhaust this computer (a crafted file could
# ask for terabytes): 1 GiB and 32 passes are far above anything Parsec writes.
ARGON2ID_MAX_MEMLIMIT_KB = 1024 * 1024
ARGON2ID_MAX_OPSLIMIT = 32
ARGON2ID_MAX_PARALLELISM = 64


@dataclass(frozen=True)
class Argon2idParams:
    memlimit_kb: int
    opslimit: int
    parallelism: int
    salt: bytes

    @classmethod
    def new_default(cls) -> Argon2idParams:
        return cls(
            ARGON2ID_DEFAULT_MEMLIMIT_KB,
            ARGON2ID_DEFAULT_OPSLIMIT,
            ARGON2ID_DEFAULT_PARALLELISM,
            secrets.token_bytes(16),
        )

    def check(self) -> None:
        if not (8 <= self.memlimit_kb <= ARGON2ID_MAX_MEMLIMIT_KB):
            raise CryptoError(_("The device file asks for an unsupported Argon2id memory size."))
        if not (1 <= self.opslimit <= ARGON2ID_MAX_OPSLIMIT):
            raise CryptoError(_("The device file asks for an unsupported Argon2id pass count."))
        if not (1 <= self.parallelism <= ARGON2ID_MAX_PARALLELISM):
            raise CryptoError(_("The device file asks for an unsupported Argon2id parallelism."))
        if self.memlimit_kb < 8 * self.parallelism:
            # Argon2 needs 8 KiB per lane (RFC 9106); libparsec refuses less too.
            raise CryptoError(_("The device file asks for less Argon2id memory than its parallelism needs."))
        if not isinstance(self.salt, bytes) or len(self.salt) != 16:
            raise CryptoError(_("The device file's Argon2id salt is not 16 bytes."))


def derive_password_key(password: str, params: Argon2idParams) -> SecretKey:
    """Argon2id v1.3 of ``password`` → 32-byte SecretKey."""
    params.check()
    pw = password.encode("utf-8")
    if params.parallelism == 1:
        try:
            raw = nacl.pwhash.argon2id.kdf(
                KEY_SIZE,
                pw,
                params.salt,
                opslimit=params.opslimit,
                memlimit=params.memlimit_kb * 1024,
            )
        except (nacl.exceptions.CryptoError, ValueError, TypeError):
            raise CryptoError(_("The Argon2id key derivation failed (not enough memory?).")) from None
        return SecretKey(bytes(raw))
    # libsodium only does parallelism 1.
    try:
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
    except ImportError:  # pragma: no cover - cryptography < 44
        raise CryptoError(
            _("This device file uses Argon2id with parallelism > 1, which needs cryptography >= 44.")
        ) from None
    try:
        kdf = Argon2id(
            salt=params.salt,
            length=KEY_SIZE,
            iterations=params.opslimit,
            lanes=params.parallelism,
            memory_cost=params.memlimit_kb,
        )
        return SecretKey(kdf.derive(pw))
    except UnsupportedAlgorithm:
        raise CryptoError(
            _(
                "This device file uses Argon2id with parallelism > 1, which this system's OpenSSL cannot compute."
            )
        ) from None
    except (ValueError, TypeError, MemoryError):
        raise CryptoError(_("The Argon2id key derivation failed (not enough memory?).")) from None


# --- Recovery passphrase form of a SecretKey ------------------------------

_B32_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def key_to_passphrase(key: SecretKey) -> str:
    b32 = base64.b32encode(key.encode()).decode("ascii").rstrip("=")
    return "-".join(b32[i : i + 4] for i in range(0, len(b32), 4))


_PASSPHRASE_FIXES = {ord("0"): "O", ord("1"): "I"} | {c: chr(c - 32) for c in range(ord("a"), ord("z") + 1)}


def passphrase_to_key(passphrase: str) -> SecretKey:
    # As libparsec: ASCII-only uppercasing (str.upper() would turn 'ı' or 'ſ'
    # into letters), 0/1 read as O/I, anything else outside the alphabet
    # dropped, then strict unpadded base32: 52 characters whose 4 spare bits
    # are zero (b32decode would ignore them, so re-encoding must give it back).
    if not isinstance(passphrase, str):
        raise InvalidValueError(_("This is not a valid recovery passphrase."))
    s = "".join(c for c in passphrase.translate(_PASSPHRASE_FIXES) if c in _B32_ALPHABET)
    try:
        raw = base64.b32decode(s + "=" * (-len(s) % 8))
    except (ValueError, TypeError):
        raise InvalidValueError(_("This is not a valid recovery passphrase.")) from None
    if len(raw) != KEY_SIZE or base64.b32encode(raw).decode("ascii").rstrip("=") != s:
        raise InvalidValueError(_("This is not a valid recovery passphrase."))
    return SecretKey(raw)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def x25519_shared(my_sk: PrivateKey, peer_pk: PublicKey) -> bytes:
    shared = nacl.bindings.crypto_scalarmult(my_sk.encode(), peer_pk.encode())
    if shared == bytes(32):
        raise CryptoError(_("Refusing an all-zero X25519 shared secret."))
    return bytes(shared)
