"""The short authentication strings (SAS) of a greeting, as pure functions.

Both parties derive the same 32-byte key from their X25519 exchange and the
same pair of 4-character codes from the two nonces (fact sheet b.3, b.4;
libparsec ``crypto/src/common/sas.rs``, ``types/src/sas_code.rs``).  The
claimer commits to its nonce (SHA-256) before seeing the greeter's, so
neither side can steer the codes.
"""

from __future__ import annotations

import hashlib
import secrets

from ..crypto import PrivateKey, PublicKey, SecretKey, sha256, x25519_shared
from ..errors import InvalidValueError
from ..i18n import _

__all__ = [
    "NONCE_SIZE",
    "SAS_ALPHABET",
    "decode_sas",
    "encode_sas",
    "generate_nonce",
    "hash_nonce",
    "pick_choice",
    "sas_choices",
    "sas_codes",
    "shared_secret_key",
]

NONCE_SIZE = 64
SAS_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1: read aloud without doubt
_SAS_BITS = 20
_SAS_MASK = (1 << _SAS_BITS) - 1


def generate_nonce() -> bytes:
    return secrets.token_bytes(NONCE_SIZE)


def hash_nonce(nonce: bytes) -> bytes:
    return sha256(nonce)


def shared_secret_key(mine: PrivateKey, peer: PublicKey, *, i_am_greeter: bool) -> SecretKey:
    """``BLAKE2b-512(X25519(mine, peer) || greeter_pk || claimer_pk)[:32]``:
    the same key on both sides (the greeter's public key hashed first)."""
    own = mine.public_key.encode()
    greeter_pk, claimer_pk = (own, peer.encode()) if i_am_greeter else (peer.encode(), own)
    digest = hashlib.blake2b(x25519_shared(mine, peer) + greeter_pk + claimer_pk, digest_size=64).digest()
    return SecretKey(digest[:32])


def encode_sas(value: int) -> str:
    """A 20-bit value as 4 characters, low bits first."""
    if not 0 <= value <= _SAS_MASK:
        raise InvalidValueError(_("A SAS code holds 20 bits."))
    out = []
    for _index in range(4):
        out.append(SAS_ALPHABET[value & 31])
        value >>= 5
    return "".join(out)


def decode_sas(code: str) -> int:
    if len(code) != 4 or any(c not in SAS_ALPHABET for c in code):
        raise InvalidValueError(
            _("{code!r} is not a code of 4 characters among {SAS_ALPHABET}.").format(
                code=code, SAS_ALPHABET=SAS_ALPHABET
            )
        )
    return sum(SAS_ALPHABET.index(c) << (5 * i) for i, c in enumerate(code))


def sas_codes(claimer_nonce: bytes, greeter_nonce: bytes, key: SecretKey) -> tuple[str, str]:
    """``(claimer_sas, greeter_sas)``: 40 bits of a keyed BLAKE2b over both
    nonces, the claimer's code in the low 20."""
    n = int.from_bytes(key.mac_512(claimer_nonce + greeter_nonce)[:5], "big")
    return encode_sas(n & _SAS_MASK), encode_sas((n >> _SAS_BITS) & _SAS_MASK)


def sas_choices(right: str, count: int = 4) -> list[str]:
    """``right`` among ``count - 1`` random other codes, shuffled (decoys are
    not made distinct from each other, as libparsec does)."""
    decode_sas(right)
    rng = secrets.SystemRandom()
    out = [right]
    while len(out) < count:
        decoy = encode_sas(rng.randrange(_SAS_MASK + 1))
        if decoy != right:
            out.append(decoy)
    rng.shuffle(out)
    return out


def pick_choice(answer: str, choices: list[str]) -> str | None:
    """What a person answered to a list of codes: the code itself (any case)
    or its 1-based number; ``None`` (empty, unknown) means "none of these"."""
    text = answer.strip().upper()
    if text.isdigit() and 1 <= int(text) <= len(choices):
        return choices[int(text) - 1]
    return text if text in choices else None
