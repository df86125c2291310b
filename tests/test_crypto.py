"""core/crypto.py against the reference bindings (``parsec._parsec``).

Signatures, secret boxes, sealed boxes and recovery passphrases go both
ways between our code and the bindings.  The bindings expose no password
derivation, so Argon2id is checked against an independent implementation
(below, written from RFC 9106 and checked with its test vector) and against
``cryptography``'s Argon2id.
"""

from __future__ import annotations

import hashlib
import struct

import nacl.exceptions
import nacl.public
import nacl.pwhash
import parsec._parsec as oracle  # the reference: its absence is a failure, never a skip
import pytest
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from hypothesis import example, given, settings
from hypothesis import strategies as st
from parsec_tray.core import crypto
from parsec_tray.core.crypto import (
    Argon2idParams,
    PrivateKey,
    PublicKey,
    SecretKey,
    SigningKey,
    VerifyKey,
    derive_password_key,
    key_to_passphrase,
    passphrase_to_key,
)
from parsec_tray.core.errors import CryptoError, InvalidValueError

SETTINGS = settings(max_examples=150, deadline=None)
KEYS = st.binary(min_size=32, max_size=32)
DATA = st.binary(max_size=300)


def flip(blob: bytes, bit: int) -> bytes:
    bit %= len(blob) * 8
    out = bytearray(blob)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def oracle_refuses(action) -> bool:
    try:
        action()
    except (ValueError, oracle.CryptoError):
        return True
    return False


# --- Ed25519 ----------------------------------------------------------------------


@SETTINGS
@given(KEYS, DATA)
def test_signatures_match_reference_both_ways(seed: bytes, data: bytes) -> None:
    ours, ref = SigningKey(seed), oracle.SigningKey(seed)
    assert ours.verify_key.encode() == ref.verify_key.encode()
    signed = ours.sign(data)
    assert signed == ref.sign(data)  # Ed25519 is deterministic
    assert signed[64:] == data and ours.sign_only_signature(data) == ref.sign_only_signature(data)
    assert ref.verify_key.verify(signed) == data  # theirs checks ours
    assert VerifyKey(ref.verify_key.encode()).verify(ref.sign(data)) == data  # ours checks theirs
    VerifyKey(ref.verify_key.encode()).verify_detached(ref.sign_only_signature(data), data)
    ref.verify_key.verify_with_signature(ours.sign_only_signature(data), data)
    assert SigningKey(ref.encode()).encode() == ours.encode() == seed


@SETTINGS
@given(KEYS, DATA, st.integers(min_value=0))
def test_any_flipped_bit_breaks_a_signature(seed: bytes, data: bytes, bit: int) -> None:
    tampered = flip(oracle.SigningKey(seed).sign(data), bit)
    vk = SigningKey(seed).verify_key
    with pytest.raises(CryptoError):
        vk.verify(tampered)
    assert oracle_refuses(lambda: oracle.SigningKey(seed).verify_key.verify(tampered))


@SETTINGS
@given(KEYS, DATA, st.data())
def test_truncated_signed_data_is_refused(seed: bytes, data: bytes, draw: st.DataObject) -> None:
    signed = SigningKey(seed).sign(data)
    cut = draw.draw(st.integers(0, len(signed) - 1))
    with pytest.raises(CryptoError):
        SigningKey(seed).verify_key.verify(signed[:cut])


def test_signature_errors_name_the_problem() -> None:
    signed = SigningKey(bytes(32)).sign(b"data")
    with pytest.raises(CryptoError, match="too short"):
        SigningKey(bytes(32)).verify_key.verify(signed[:63])
    with pytest.raises(CryptoError, match="does not match"):
        SigningKey(bytes(range(32))).verify_key.verify(signed)
    with pytest.raises(CryptoError, match="does not match"):
        SigningKey(bytes(32)).verify_key.verify_detached(signed[:64], b"other")


# --- SecretKey (XSalsa20-Poly1305) ---------------------------------------------------


@SETTINGS
@given(KEYS, DATA)
def test_secret_box_matches_reference_both_ways(raw: bytes, data: bytes) -> None:
    ours, ref = SecretKey(raw), oracle.SecretKey(raw)
    ciphered = ours.encrypt(data)
    assert len(ciphered) == 24 + 16 + len(data)  # nonce || mac || ciphertext
    assert ref.decrypt(ciphered) == data
    assert ours.decrypt(ref.encrypt(data)) == data
    assert ours.mac_512(data) == ref.mac_512(data)
    assert ours.encrypt(data) != ciphered  # a fresh nonce each time


@SETTINGS
@given(KEYS, DATA, st.integers(min_value=0))
def test_any_flipped_bit_breaks_a_secret_box(raw: bytes, data: bytes, bit: int) -> None:
    tampered = flip(oracle.SecretKey(raw).encrypt(data), bit)
    with pytest.raises(CryptoError):
        SecretKey(raw).decrypt(tampered)
    assert oracle_refuses(lambda: oracle.SecretKey(raw).decrypt(tampered))


@SETTINGS
@given(KEYS, DATA, st.data())
def test_truncated_secret_box_is_refused(raw: bytes, data: bytes, draw: st.DataObject) -> None:
    ciphered = SecretKey(raw).encrypt(data)
    cut = draw.draw(st.integers(0, len(ciphered) - 1))
    with pytest.raises(CryptoError):
        SecretKey(raw).decrypt(ciphered[:cut])


def test_secret_box_wrong_key() -> None:
    ciphered = SecretKey(bytes(32)).encrypt(b"secret")
    with pytest.raises(CryptoError, match="cannot be decrypted"):
        SecretKey(bytes(range(32))).decrypt(ciphered)


# --- Sealed box (X25519) ---------------------------------------------------------------


@SETTINGS
@given(KEYS, DATA)
def test_sealed_box_matches_reference_both_ways(raw: bytes, data: bytes) -> None:
    ours, ref = PrivateKey(raw), oracle.PrivateKey(raw)
    assert ours.public_key.encode() == ref.public_key.encode()
    assert ours.encode() == ref.encode() == raw
    sealed = ours.public_key.encrypt_for_self(data)
    assert len(sealed) == 32 + 16 + len(data)  # ephemeral key || box
    assert ref.decrypt_from_self(sealed) == data
    assert ours.decrypt_from_self(ref.public_key.encrypt_for_self(data)) == data
    assert ours.decrypt_from_self(PublicKey(ref.public_key.encode()).encrypt_for_self(data)) == data


@SETTINGS
@given(KEYS, DATA, st.integers(min_value=0))
def test_any_flipped_bit_breaks_a_sealed_box(raw: bytes, data: bytes, bit: int) -> None:
    tampered = flip(oracle.PrivateKey(raw).public_key.encrypt_for_self(data), bit)
    with pytest.raises(CryptoError):
        PrivateKey(raw).decrypt_from_self(tampered)
    assert oracle_refuses(lambda: oracle.PrivateKey(raw).decrypt_from_self(tampered))


@SETTINGS
@given(KEYS, DATA, st.data())
def test_truncated_sealed_box_is_refused(raw: bytes, data: bytes, draw: st.DataObject) -> None:
    sealed = PrivateKey(raw).public_key.encrypt_for_self(data)
    cut = draw.draw(st.integers(0, len(sealed) - 1))
    with pytest.raises(CryptoError):
        PrivateKey(raw).decrypt_from_self(sealed[:cut])


def test_sealed_box_wrong_key() -> None:
    sealed = PrivateKey(bytes(range(32))).public_key.encrypt_for_self(b"x")
    with pytest.raises(CryptoError, match="cannot be decrypted"):
        PrivateKey(bytes(32)).decrypt_from_self(sealed)


# --- error translation at the boundary -------------------------------------------------


@pytest.mark.parametrize("build", [SigningKey, VerifyKey, PrivateKey, PublicKey, SecretKey])
@pytest.mark.parametrize("raw", [b"", bytes(31), bytes(33), "x" * 32, None])
def test_bad_key_material_is_a_crypto_error(build, raw) -> None:
    with pytest.raises(CryptoError):
        build(raw)


@pytest.mark.parametrize("low_order", [bytes(32), b"\x01" + bytes(31)], ids=["zero", "one"])
def test_low_order_public_key_nacl_error_is_translated(low_order: bytes) -> None:
    # libsodium refuses (nacl.exceptions.RuntimeError); the bindings panic.
    with pytest.raises(nacl.exceptions.CryptoError):
        nacl.public.SealedBox(nacl.public.PublicKey(low_order)).encrypt(b"x")
    with pytest.raises(CryptoError):
        PublicKey(low_order).encrypt_for_self(b"x")


@pytest.mark.parametrize(
    "call",
    [
        lambda: VerifyKey(bytes(32)).verify("not bytes" * 10),  # nacl TypeError
        lambda: SecretKey(bytes(32)).decrypt(bytes(10)),  # nacl ValueError (short nonce)
        lambda: SecretKey(bytes(32)).decrypt(bytes(40)),  # nacl CryptoError
        lambda: PrivateKey(bytes(32)).decrypt_from_self(bytes(47)),  # nacl CryptoError
        lambda: PrivateKey(bytes(32)).decrypt_from_self(None),  # nacl TypeError
    ],
)
def test_nacl_exceptions_are_translated(call) -> None:
    with pytest.raises(CryptoError):
        call()


def test_argon2_nacl_failure_is_translated(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args, **kwargs):
        raise nacl.exceptions.RuntimeError("Unexpected library error")

    monkeypatch.setattr(nacl.pwhash.argon2id, "kdf", fail)
    with pytest.raises(CryptoError, match="Argon2id"):
        derive_password_key("pw", Argon2idParams(8, 1, 1, bytes(16)))


def test_argon2_cryptography_failures_are_translated(monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.kdf import argon2

    class Unsupported:
        def __init__(self, **kwargs):
            raise UnsupportedAlgorithm("no argon2 in this OpenSSL")

    class Failing:
        def __init__(self, **kwargs):
            pass

        def derive(self, pw):
            raise ValueError("boom")

    for replacement, message in ((Unsupported, "OpenSSL"), (Failing, "failed")):
        monkeypatch.setattr(argon2, "Argon2id", replacement)
        with pytest.raises(CryptoError, match=message):
            derive_password_key("pw", Argon2idParams(16, 1, 2, bytes(16)))


@pytest.mark.parametrize(
    "params",
    [
        Argon2idParams(7, 1, 1, bytes(16)),
        Argon2idParams(8, 0, 1, bytes(16)),
        Argon2idParams(8, 1, 0, bytes(16)),
        Argon2idParams(8, 1, 2, bytes(16)),  # under 8 KiB per lane: refused by Argon2 itself
        Argon2idParams(31, 1, 4, bytes(16)),
        Argon2idParams(8, 1, 65, bytes(16)),
        Argon2idParams(8, 65, 1, bytes(16)),
        Argon2idParams(5 * 1024 * 1024, 1, 1, bytes(16)),
        Argon2idParams(8, 1, 1, bytes(15)),
        Argon2idParams(8, 1, 1, "x" * 16),  # type: ignore[arg-type]
    ],
)
def test_unusable_argon2_parameters_are_a_crypto_error(params: Argon2idParams) -> None:
    with pytest.raises(CryptoError, match="Argon2id"):
        derive_password_key("password", params)


# --- Argon2id -------------------------------------------------------------------------
# An independent Argon2id (RFC 9106, version 0x13), slow but fine for a few KiB.

_MASK = (1 << 64) - 1


def _blake2b_long(data: bytes, length: int) -> bytes:
    """H' of RFC 9106 section 3.3."""
    prefixed = struct.pack("<I", length) + data
    if length <= 64:
        return hashlib.blake2b(prefixed, digest_size=length).digest()
    r = -(-length // 32) - 2
    v = hashlib.blake2b(prefixed).digest()
    out = v[:32]
    for _ in range(r - 1):
        v = hashlib.blake2b(v).digest()
        out += v[:32]
    return out + hashlib.blake2b(v, digest_size=length - 32 * r).digest()


def _gb(v: list[int], a: int, b: int, c: int, d: int) -> None:
    for r1, r2 in ((32, 24), (16, 63)):
        v[a] = (v[a] + v[b] + 2 * (v[a] & 0xFFFFFFFF) * (v[b] & 0xFFFFFFFF)) & _MASK
        x = v[d] ^ v[a]
        v[d] = ((x >> r1) | (x << (64 - r1))) & _MASK
        v[c] = (v[c] + v[d] + 2 * (v[c] & 0xFFFFFFFF) * (v[d] & 0xFFFFFFFF)) & _MASK
        x = v[b] ^ v[c]
        v[b] = ((x >> r2) | (x << (64 - r2))) & _MASK


def _permute(v: list[int], idx: list[int]) -> None:
    w = [v[i] for i in idx]
    for a, b, c, d in (
        (0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
        (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14),
    ):  # fmt: skip
        _gb(w, a, b, c, d)
    for i, x in zip(idx, w, strict=True):
        v[i] = x


def _compress(x: list[int], y: list[int]) -> list[int]:
    """G: XOR, then the BLAKE2b round on rows and columns, XOR again."""
    r = [a ^ b for a, b in zip(x, y, strict=True)]
    q = list(r)
    for row in range(8):
        _permute(q, list(range(16 * row, 16 * row + 16)))
    for col in range(8):
        _permute(q, [2 * col + 16 * k + j for k in range(8) for j in (0, 1)])
    return [a ^ b for a, b in zip(q, r, strict=True)]


def _words(block: bytes) -> list[int]:
    return list(struct.unpack("<128Q", block))


def reference_argon2id(
    password: bytes,
    salt: bytes,
    t: int,
    m: int,
    p: int,
    length: int = 32,
    secret: bytes = b"",
    ad: bytes = b"",
) -> bytes:
    h0 = hashlib.blake2b(
        struct.pack("<6I", p, length, m, t, 0x13, 2)
        + b"".join(struct.pack("<I", len(x)) + x for x in (password, salt, secret, ad))
    ).digest()
    segment = max(m, 8 * p) // (4 * p)
    lane_len = 4 * segment
    blocks = [[[0] * 128 for _ in range(lane_len)] for _ in range(p)]
    for lane in range(p):
        for j in (0, 1):
            blocks[lane][j] = _words(_blake2b_long(h0 + struct.pack("<II", j, lane), 1024))
    zero = [0] * 128
    for rnd in range(t):
        for sl in range(4):
            for lane in range(p):
                independent = rnd == 0 and sl < 2
                addresses: list[int] = []
                counter = 0
                for index in range(segment):
                    col = sl * segment + index
                    if rnd == 0 and col < 2:
                        continue
                    if independent:
                        if index % 128 == 0 or not addresses:
                            counter += 1
                            inputs = [rnd, lane, sl, 4 * segment * p, t, 2, counter] + [0] * 121
                            addresses = _compress(zero, _compress(zero, inputs))
                        rand = addresses[index % 128]
                    else:
                        rand = blocks[lane][col - 1 if col else lane_len - 1][0]
                    ref_lane = lane if rnd == 0 and sl == 0 else (rand >> 32) % p
                    same = ref_lane == lane
                    if rnd == 0:
                        area = sl * segment + index - 1 if same else sl * segment - (index == 0)
                    else:
                        area = lane_len - segment + index - 1 if same else lane_len - segment - (index == 0)
                    j1 = rand & 0xFFFFFFFF
                    rel = area - 1 - ((area * ((j1 * j1) >> 32)) >> 32)
                    start = 0 if rnd == 0 or sl == 3 else (sl + 1) * segment
                    ref = blocks[ref_lane][(start + rel) % lane_len]
                    new = _compress(blocks[lane][col - 1 if col else lane_len - 1], ref)
                    if rnd:
                        new = [a ^ b for a, b in zip(new, blocks[lane][col], strict=True)]
                    blocks[lane][col] = new
    final = [0] * 128
    for lane in range(p):
        final = [a ^ b for a, b in zip(final, blocks[lane][lane_len - 1], strict=True)]
    return _blake2b_long(struct.pack("<128Q", *final), length)


def test_independent_argon2id_passes_rfc9106_vector() -> None:
    tag = reference_argon2id(b"\x01" * 32, b"\x02" * 16, 3, 32, 4, 32, b"\x03" * 8, b"\x04" * 12)
    assert tag.hex() == "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"


# (opslimit, memlimit_kb, parallelism): small sizes, sizes Argon2 rounds
# down to a multiple of 4 lanes, and the parallelism > 1 path.
ARGON2_PARAMS = [(1, 8, 1), (2, 9, 1), (3, 16, 1), (1, 16, 2), (2, 30, 2), (1, 24, 3), (3, 32, 4), (1, 40, 5)]


@pytest.mark.parametrize(("ops", "mem", "lanes"), ARGON2_PARAMS)
def test_derive_password_key_matches_independent_argon2id(ops: int, mem: int, lanes: int) -> None:
    salt = hashlib.sha256(b"salt%d" % mem).digest()[:16]
    key = derive_password_key("P@ssw0rd é", Argon2idParams(mem, ops, lanes, salt))
    assert key.encode() == reference_argon2id("P@ssw0rd é".encode(), salt, ops, mem, lanes)


@settings(max_examples=25, deadline=None)
@given(st.text(max_size=20), st.binary(min_size=16, max_size=16), st.sampled_from(ARGON2_PARAMS))
def test_derivation_paths_agree(password: str, salt: bytes, params: tuple[int, int, int]) -> None:
    """libsodium (parallelism 1) and cryptography's Argon2id give one function:
    with one lane both code paths must agree, with more the cryptography path
    must match the same parameters given to cryptography directly."""
    ops, mem, lanes = params
    ours = derive_password_key(password, Argon2idParams(mem, ops, lanes, salt)).encode()
    direct = Argon2id(salt=salt, length=32, iterations=ops, lanes=lanes, memory_cost=mem).derive(
        password.encode()
    )
    assert ours == direct
    if lanes == 1:
        sodium = nacl.pwhash.argon2id.kdf(32, password.encode(), salt, opslimit=ops, memlimit=mem * 1024)
        assert ours == sodium


def test_default_parameters_128_mib() -> None:
    params = Argon2idParams.new_default()
    assert (params.memlimit_kb, params.opslimit, params.parallelism, len(params.salt)) == (131072, 3, 1, 16)
    # What libparsec writes in new device files.
    fake = oracle.UntrustedPasswordAlgorithm.generate_fake_from_seed(
        "a@example.com", oracle.SecretKey(bytes(32))
    )
    assert (fake.memlimit_kb, fake.opslimit, fake.parallelism) == (131072, 3, 1)
    key = derive_password_key("correct horse", params)
    direct = Argon2id(salt=params.salt, length=32, iterations=3, lanes=1, memory_cost=131072).derive(
        b"correct horse"
    )
    assert key.encode() == direct


# --- Recovery passphrase --------------------------------------------------------------


def test_reference_passphrases_decode_with_us() -> None:
    for _ in range(20):
        passphrase, key = oracle.SecretKey.generate_recovery_passphrase()
        assert passphrase_to_key(passphrase).encode() == key.secret
        assert key_to_passphrase(SecretKey(key.secret)) == passphrase


@SETTINGS
@given(KEYS)
def test_our_passphrases_decode_with_reference(raw: bytes) -> None:
    passphrase = key_to_passphrase(SecretKey(raw))
    assert len(passphrase) == 64 and passphrase.count("-") == 12
    assert oracle.SecretKey.from_recovery_passphrase(passphrase).secret == raw
    assert passphrase_to_key(passphrase).encode() == raw  # round trip


_EDITS = st.sampled_from(
    [
        "",
        "-",
        " ",
        "\n",
        "=",
        "==",
        "0",
        "1",
        "8",
        "9",
        "a",
        "q",
        "z",
        "ı",
        "ſ",
        "ß",
        "ﬀ",
        "é",
        "Ⅰ",
        "@",
        "A",
        "Q",
        "B",
        "7",
    ]
)


@SETTINGS
@given(KEYS, st.lists(st.tuples(st.integers(0, 70), _EDITS, st.integers(0, 1)), max_size=3), st.booleans())
@example(bytes(32), [(63, "B", 1)], False)  # spare bits set
@example(bytes(32), [(0, "ı", 0)], False)  # would uppercase to 'I'
@example(bytes(32), [(0, "ſ", 0)], False)  # would uppercase to 'S'
def test_edited_passphrases_match_reference(
    raw: bytes, edits: list[tuple[int, str, int]], lower: bool
) -> None:
    text = key_to_passphrase(SecretKey(raw))
    for where, what, cut in edits:
        text = text[:where] + what + text[where + cut :]
    if lower:
        text = text.lower()
    try:
        ref = oracle.SecretKey.from_recovery_passphrase(text).secret
    except (ValueError, oracle.CryptoError):
        ref = None
    try:
        ours = passphrase_to_key(text).encode()
    except InvalidValueError:
        ours = None
    assert ours == ref, text


@pytest.mark.parametrize("bad", ["", "ABCD", "A" * 51, "A" * 53, "A" * 56, "é" * 52, 42])
def test_bad_passphrases_are_invalid_values(bad) -> None:
    with pytest.raises(InvalidValueError, match="recovery passphrase"):
        passphrase_to_key(bad)


def test_crypto_module_exports() -> None:
    assert set(crypto.__all__) >= {"SigningKey", "VerifyKey", "SecretKey", "derive_password_key"}
