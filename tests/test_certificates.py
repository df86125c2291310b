"""User and device certificates, checked against libparsec itself.

The reference is the ``parsec._parsec`` Rust bindings shipped in
parsec-cloud 3.9.3 (the code the server runs): what we sign must load
there with the same values, what they sign must load here, and whatever we
accept they must accept too (never more lenient than the reference).
"""

from __future__ import annotations

import os
import struct
import uuid
from typing import Any

import msgpack
import pytest
import zstandard
from conftest import require
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from parsec_tray.core.certificates import DeviceCertificate, UserCertificate
from parsec_tray.core.crypto import PrivateKey, SigningKey, VerifyKey
from parsec_tray.core.errors import CryptoError, InvalidValueError
from parsec_tray.core.serialization import format_v0_dump
from parsec_tray.core.values import DateTime, DeviceID, DeviceLabel, HumanHandle, UserID, UserProfile

try:
    from parsec import _parsec as ref
except ImportError:  # checked by the fixture below (skip locally, fail under CI)
    ref = None


@pytest.fixture(autouse=True, scope="module")
def _reference() -> None:
    require(ref is not None, "parsec-cloud 3.9.3 (parsec._parsec, the reference bindings)")


HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# The range both sides can represent (libparsec's chrono stops at ±262143 years).
MIN_US = -8_334_601_228_800_000_000
MAX_US = 8_210_266_876_799_999_999
PURPOSES = ("STANDARD", "SHAMIR_RECOVERY", "PASSPHRASE_RECOVERY", "REGISTRATION")


# --- strategies ---------------------------------------------------------------

_ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-"
_local_part = st.lists(st.text(alphabet=_ATEXT, min_size=1, max_size=10), min_size=1, max_size=3).map(
    ".".join
)
_dns_label = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?", fullmatch=True)
_domain = st.lists(_dns_label, min_size=2, max_size=3).map(".".join)
emails = st.builds(lambda local, domain: f"{local}@{domain}", _local_part, _domain)
# Any text: the ones our rules refuse are discarded by ``assume``.
labels = st.text(min_size=1, max_size=40)
timestamps = st.integers(min_value=MIN_US, max_value=MAX_US)


def _handle(email: str, label: str) -> HumanHandle:
    try:
        return HumanHandle(email, label)
    except InvalidValueError:
        assume(False)
        raise


def _device_label(label: str) -> DeviceLabel:
    try:
        return DeviceLabel(label)
    except InvalidValueError:
        assume(False)
        raise


# --- conversions to and from the bindings --------------------------------------


def ref_vk(key: VerifyKey | SigningKey) -> Any:
    vk = key.verify_key if isinstance(key, SigningKey) else key
    return ref.VerifyKey(vk.encode())


def ref_device_id(device_id: uuid.UUID) -> Any:
    return ref.DeviceID.from_bytes(device_id.bytes)


def assert_same_user(theirs: Any, ours: UserCertificate) -> None:
    """A certificate loaded by libparsec has exactly our values."""
    if ours.author is None:
        assert theirs.author is None
    else:
        assert theirs.author.hex == ours.author.hex
    assert theirs.timestamp.as_timestamp_micros() == ours.timestamp.us
    assert theirs.user_id.hex == ours.user_id.hex
    assert theirs.public_key.encode() == ours.public_key
    assert theirs.algorithm.str == ours.algorithm == "X25519_XSALSA20_POLY1305"
    assert theirs.profile.str == ours.profile.value
    assert theirs.is_redacted == ours.is_redacted
    if ours.human_handle is None:
        # libparsec's placeholder for a redacted user (fact sheet c.5).
        assert str(theirs.human_handle.email) == f"{ours.user_id.hex}@redacted.invalid"
        assert theirs.human_handle.label == ours.user_id.hex
    else:
        assert str(theirs.human_handle.email) == ours.human_handle.email
        assert theirs.human_handle.label == ours.human_handle.label


def assert_same_device(theirs: Any, ours: DeviceCertificate) -> None:
    if ours.author is None:
        assert theirs.author is None
    else:
        assert theirs.author.hex == ours.author.hex
    assert theirs.timestamp.as_timestamp_micros() == ours.timestamp.us
    assert theirs.purpose.str == ours.purpose
    assert theirs.user_id.hex == ours.user_id.hex
    assert theirs.device_id.hex == ours.device_id.hex
    assert theirs.verify_key.encode() == ours.verify_key
    assert theirs.algorithm.str == ours.algorithm == "ED25519"
    assert theirs.is_redacted == ours.is_redacted
    if ours.device_label is None:
        assert theirs.device_label.str == ours.device_id.hex
    else:
        assert theirs.device_label.str == ours.device_label


def inner_msgpack(signed: bytes) -> bytes:
    """The msgpack document inside ``signature(64) || 0x00 || zstd(...)``."""
    assert signed[64] == 0
    return zstandard.ZstdDecompressor().decompressobj().decompress(signed[65:])


def make_user(
    *,
    author: DeviceID | None = None,
    ts: int | None = None,
    handle: HumanHandle | None = None,
    profile: UserProfile = UserProfile.STANDARD,
) -> UserCertificate:
    return UserCertificate(
        author=author,
        timestamp=DateTime(ts) if ts is not None else DateTime.now(),
        user_id=UserID.new(),
        human_handle=handle if handle is not None else HumanHandle("alice@example.com", "Alice"),
        public_key=PrivateKey.generate().public_key.encode(),
        profile=profile,
    )


def make_device(
    *,
    author: DeviceID | None = None,
    ts: int | None = None,
    label: DeviceLabel | None = None,
    purpose: str = "STANDARD",
) -> DeviceCertificate:
    return DeviceCertificate(
        author=author,
        timestamp=DateTime(ts) if ts is not None else DateTime.now(),
        user_id=UserID.new(),
        device_id=DeviceID.new(),
        device_label=label if label is not None else DeviceLabel("Laptop"),
        verify_key=SigningKey.generate().verify_key.encode(),
        purpose=purpose,
    )


# --- ours -> libparsec ------------------------------------------------------------


@HYPOTHESIS
@given(
    email=emails,
    label=labels,
    ts=timestamps,
    profile=st.sampled_from(list(UserProfile)),
    by_device=st.booleans(),
)
def test_our_user_certificates_load_in_libparsec(
    email: str, label: str, ts: int, profile: UserProfile, by_device: bool
) -> None:
    signer = SigningKey.generate()
    author = DeviceID.new() if by_device else None
    cert = make_user(author=author, ts=ts, handle=_handle(email, label), profile=profile)
    signed = cert.dump_and_sign(signer)
    redacted = cert.redacted().dump_and_sign(signer)

    expected = ref_device_id(author) if author is not None else None
    theirs = ref.UserCertificate.verify_and_load(signed, ref_vk(signer), expected_author=expected)
    theirs_redacted = ref.UserCertificate.verify_and_load(redacted, ref_vk(signer), expected_author=expected)
    assert_same_user(theirs, cert)
    assert_same_user(theirs_redacted, cert.redacted())
    # What the server checks at bootstrap / user_create (fact sheet c.5).
    assert theirs.redacted_compare(theirs_redacted)
    # And libparsec's own expectations on the user.
    ref.UserCertificate.verify_and_load(
        signed, ref_vk(signer), expected_user=ref.UserID.from_bytes(cert.user_id.bytes)
    )


@HYPOTHESIS
@given(label=labels, ts=timestamps, purpose=st.sampled_from(PURPOSES), by_device=st.booleans())
def test_our_device_certificates_load_in_libparsec(
    label: str, ts: int, purpose: str, by_device: bool
) -> None:
    signer = SigningKey.generate()
    author = DeviceID.new() if by_device else None
    cert = make_device(author=author, ts=ts, label=_device_label(label), purpose=purpose)
    signed = cert.dump_and_sign(signer)
    redacted = cert.redacted().dump_and_sign(signer)

    expected = ref_device_id(author) if author is not None else None
    theirs = ref.DeviceCertificate.verify_and_load(signed, ref_vk(signer), expected_author=expected)
    theirs_redacted = ref.DeviceCertificate.verify_and_load(
        redacted, ref_vk(signer), expected_author=expected
    )
    assert_same_device(theirs, cert)
    assert_same_device(theirs_redacted, cert.redacted())
    assert theirs.redacted_compare(theirs_redacted)
    ref.DeviceCertificate.verify_and_load(
        signed, ref_vk(signer), expected_device=ref_device_id(cert.device_id)
    )


def test_our_msgpack_is_byte_identical_to_libparsec() -> None:
    """Same key order and types as the official writer (only the zstd frame
    header may differ): the server stores and returns our exact bytes."""
    seed = os.urandom(32)
    ours_key, their_key = SigningKey(seed), ref.SigningKey(seed)
    author = DeviceID.new()
    user = make_user(author=author)
    device = make_device(author=author, purpose="SHAMIR_RECOVERY")
    their_user = ref.UserCertificate(
        ref_device_id(author),
        ref.DateTime.from_timestamp_micros(user.timestamp.us),
        ref.UserID.from_bytes(user.user_id.bytes),
        ref.HumanHandle(ref.EmailAddress("alice@example.com"), "Alice"),
        ref.PublicKey(user.public_key),
        ref.PrivateKeyAlgorithm.X25519_XSALSA20_POLY1305,
        ref.UserProfile.STANDARD,
    )
    their_device = ref.DeviceCertificate(
        ref_device_id(author),
        ref.DateTime.from_timestamp_micros(device.timestamp.us),
        ref.DevicePurpose.SHAMIR_RECOVERY,
        ref.UserID.from_bytes(device.user_id.bytes),
        ref_device_id(device.device_id),
        ref.DeviceLabel("Laptop"),
        ref.VerifyKey(device.verify_key),
        ref.SigningKeyAlgorithm.ED25519,
    )
    assert inner_msgpack(user.dump_and_sign(ours_key)) == inner_msgpack(their_user.dump_and_sign(their_key))
    assert inner_msgpack(device.dump_and_sign(ours_key)) == inner_msgpack(
        their_device.dump_and_sign(their_key)
    )


# --- libparsec -> ours ------------------------------------------------------------


@HYPOTHESIS
@given(
    email=emails,
    label=labels,
    ts=timestamps,
    profile=st.sampled_from(["ADMIN", "STANDARD", "OUTSIDER"]),
    by_device=st.booleans(),
    redacted=st.booleans(),
)
def test_libparsec_user_certificates_load_here(
    email: str, label: str, ts: int, profile: str, by_device: bool, redacted: bool
) -> None:
    try:
        their_handle = ref.HumanHandle(ref.EmailAddress(email), label)
    except (ValueError, TypeError):
        assume(False)
        raise
    signer = ref.SigningKey.generate()
    author = DeviceID.new() if by_device else None
    user_id = ref.UserID.new()
    public_key = ref.PrivateKey.generate().public_key
    theirs = ref.UserCertificate(
        ref_device_id(author) if author else None,
        ref.DateTime.from_timestamp_micros(ts),
        user_id,
        None if redacted else their_handle,
        public_key,
        ref.PrivateKeyAlgorithm.X25519_XSALSA20_POLY1305,
        ref.UserProfile.from_str(profile),
    )
    signed = theirs.dump_and_sign(signer)
    ours = UserCertificate.verify_and_load(signed, VerifyKey(signer.verify_key.encode()), author)
    assert ours.author == author
    assert ours.timestamp == DateTime(ts)
    assert ours.user_id.hex == user_id.hex
    assert ours.public_key == public_key.encode()
    assert ours.profile.value == profile
    assert ours.is_redacted is redacted
    if not redacted:
        assert ours.human_handle == HumanHandle(str(their_handle.email), their_handle.label)
        assert ours.human_handle is not None and ours.human_handle.label == their_handle.label


@HYPOTHESIS
@given(
    label=labels,
    ts=timestamps,
    purpose=st.sampled_from(PURPOSES),
    by_device=st.booleans(),
    redacted=st.booleans(),
)
def test_libparsec_device_certificates_load_here(
    label: str, ts: int, purpose: str, by_device: bool, redacted: bool
) -> None:
    try:
        their_label = ref.DeviceLabel(label)
    except (ValueError, TypeError):
        assume(False)
        raise
    signer = ref.SigningKey.generate()
    author = DeviceID.new() if by_device else None
    user_id, device_id = ref.UserID.new(), ref.DeviceID.new()
    verify_key = ref.SigningKey.generate().verify_key
    theirs = ref.DeviceCertificate(
        ref_device_id(author) if author else None,
        ref.DateTime.from_timestamp_micros(ts),
        ref.DevicePurpose.from_str(purpose),
        user_id,
        device_id,
        None if redacted else their_label,
        verify_key,
        ref.SigningKeyAlgorithm.ED25519,
    )
    signed = theirs.dump_and_sign(signer)
    ours = DeviceCertificate.verify_and_load(signed, VerifyKey(signer.verify_key.encode()), author)
    assert ours.author == author
    assert ours.timestamp == DateTime(ts)
    assert ours.purpose == purpose
    assert ours.user_id.hex == user_id.hex
    assert ours.device_id.hex == device_id.hex
    assert ours.verify_key == verify_key.encode()
    assert ours.is_redacted is redacted
    if not redacted:
        assert ours.device_label == their_label.str


# --- tampering ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def signed_pair() -> tuple[SigningKey, DeviceID, bytes, bytes]:
    signer = SigningKey.generate()
    author = DeviceID.new()
    return (
        signer,
        author,
        make_user(author=author).dump_and_sign(signer),
        make_device(author=author).dump_and_sign(signer),
    )


def _load(kind: str, signed: bytes, key: VerifyKey, author: DeviceID | None) -> Any:
    cls = UserCertificate if kind == "user" else DeviceCertificate
    return cls.verify_and_load(signed, key, author)


def _ref_load(kind: str, signed: bytes, key: VerifyKey) -> Any:
    cls = ref.UserCertificate if kind == "user" else ref.DeviceCertificate
    return cls.verify_and_load(signed, ref.VerifyKey(key.encode()))


@HYPOTHESIS
@given(data=st.data(), kind=st.sampled_from(["user", "device"]))
def test_a_flipped_byte_anywhere_is_refused(
    signed_pair: tuple[SigningKey, DeviceID, bytes, bytes], data: st.DataObject, kind: str
) -> None:
    signer, author, user, device = signed_pair
    signed = user if kind == "user" else device
    _load(kind, signed, signer.verify_key, author)  # intact: loads
    index = data.draw(st.integers(min_value=0, max_value=len(signed) - 1), label="index")
    mask = data.draw(st.integers(min_value=1, max_value=255), label="xor")
    tampered = bytearray(signed)
    tampered[index] ^= mask
    with pytest.raises(CryptoError):
        _load(kind, bytes(tampered), signer.verify_key, author)
    with pytest.raises(ValueError):  # the reference agrees
        _ref_load(kind, bytes(tampered), signer.verify_key)


@HYPOTHESIS
@given(data=st.data(), kind=st.sampled_from(["user", "device"]))
def test_a_truncated_certificate_is_refused(
    signed_pair: tuple[SigningKey, DeviceID, bytes, bytes], data: st.DataObject, kind: str
) -> None:
    signer, author, user, device = signed_pair
    signed = user if kind == "user" else device
    cut = data.draw(st.integers(min_value=0, max_value=len(signed) - 1), label="length")
    with pytest.raises(CryptoError):
        _load(kind, signed[:cut], signer.verify_key, author)


@pytest.mark.parametrize("kind", ["user", "device"])
def test_wrong_author_key_is_refused(
    signed_pair: tuple[SigningKey, DeviceID, bytes, bytes], kind: str
) -> None:
    signer, author, user, device = signed_pair
    signed = user if kind == "user" else device
    other = SigningKey.generate().verify_key
    with pytest.raises(CryptoError, match="signature"):
        _load(kind, signed, other, author)
    with pytest.raises(ValueError):
        _ref_load(kind, signed, other)


@pytest.mark.parametrize("kind", ["user", "device"])
def test_wrong_expected_author_is_refused(
    signed_pair: tuple[SigningKey, DeviceID, bytes, bytes], kind: str
) -> None:
    signer, author, user, device = signed_pair
    signed = user if kind == "user" else device
    assert _load(kind, signed, signer.verify_key, author).author == author
    with pytest.raises(CryptoError, match="expected author"):
        _load(kind, signed, signer.verify_key, DeviceID.new())
    # Signed by a device, claimed to come from the root key.
    with pytest.raises(CryptoError, match="expected author"):
        _load(kind, signed, signer.verify_key, None)


@pytest.mark.parametrize("kind", ["user", "device"])
def test_root_signed_certificate_is_not_a_device_signed_one(kind: str) -> None:
    root = SigningKey.generate()
    cert = make_user() if kind == "user" else make_device()
    signed = cert.dump_and_sign(root)
    assert _load(kind, signed, root.verify_key, None).author is None
    with pytest.raises(CryptoError, match="expected author"):
        _load(kind, signed, root.verify_key, DeviceID.new())


# Root-signed (author nil), so that a refusal can only come from the payload.
def _user_map() -> dict[str, Any]:
    return make_user().to_map()


def _device_map() -> dict[str, Any]:
    return make_device().to_map()


def _signed(obj: Any, key: SigningKey) -> bytes:
    return key.sign(format_v0_dump(obj))


# Well signed, yet not a certificate of that kind: (kind, builder).
MALFORMED: dict[str, tuple[str, Any]] = {
    "unknown type": ("user", lambda: {**_user_map(), "type": "admin_certificate"}),
    "user loaded as device": ("device", _user_map),
    "device loaded as user": ("user", _device_map),
    "no type": ("user", lambda: {k: v for k, v in _user_map().items() if k != "type"}),
    "not a structure": ("device", lambda: 42),
    "unknown profile": ("user", lambda: {**_user_map(), "profile": "ROOT"}),
    "unknown purpose": ("device", lambda: {**_device_map(), "purpose": "BACKDOOR"}),
    "empty purpose": ("device", lambda: {**_device_map(), "purpose": ""}),
    "unknown algorithm": ("device", lambda: {**_device_map(), "algorithm": "RSA"}),
    "short public key": ("user", lambda: {**_user_map(), "public_key": os.urandom(31)}),
    "missing user_id": ("user", lambda: {k: v for k, v in _user_map().items() if k != "user_id"}),
    "missing device_label": (
        "device",
        lambda: {k: v for k, v in _device_map().items() if k != "device_label"},
    ),
    "user_id as text": ("user", lambda: {**_user_map(), "user_id": uuid.uuid4().hex}),
    "timestamp as int": ("device", lambda: {**_device_map(), "timestamp": 1_700_000_000}),
    "bad email": ("user", lambda: {**_user_map(), "human_handle": ["not an email", "Alice"]}),
    "reserved email domain": ("user", lambda: {**_user_map(), "human_handle": ["a@redacted.invalid", "A"]}),
    "bad label": ("user", lambda: {**_user_map(), "human_handle": ["a@example.com", "<Alice>"]}),
    "empty device label": ("device", lambda: {**_device_map(), "device_label": ""}),
    "too many array fields": ("device", lambda: [*_device_map().values(), 1]),
    # No official writer ever emitted array certificates; libparsec refuses
    # an 8-field (purpose-less) array.
    "pre-3.2 array without purpose": (
        "device",
        lambda: [v for k, v in _device_map().items() if k != "purpose"],
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_well_signed_malformed_certificates_are_refused_like_libparsec(case: str) -> None:
    kind, build = MALFORMED[case]
    key = SigningKey.generate()
    obj = build()
    signed = _signed(obj, key)
    with pytest.raises(CryptoError) as refused:
        _load(kind, signed, key.verify_key, None)
    # Refused for its content, not for its signature or author.
    assert "signature" not in str(refused.value) and "author" not in str(refused.value)
    with pytest.raises((ValueError, TypeError)):
        _ref_load(kind, signed, key.verify_key)


@pytest.mark.parametrize("kind", ["user", "device"])
def test_the_malformed_cases_start_from_a_valid_certificate(kind: str) -> None:
    key = SigningKey.generate()
    obj = _user_map() if kind == "user" else _device_map()
    assert _load(kind, _signed(obj, key), key.verify_key, None).to_map() == obj


ENVELOPES: dict[str, Any] = {
    "version byte 1": lambda body: b"\x01" + zstandard.ZstdCompressor().compress(body),
    "no version byte": lambda body: zstandard.ZstdCompressor().compress(body),
    "uncompressed": lambda body: b"\x00" + body,
    "truncated zstd frame": lambda body: (b"\x00" + zstandard.ZstdCompressor().compress(body))[:-3],
    "garbage": lambda body: b"\x00" + os.urandom(40),
    "empty": lambda body: b"",
}


@pytest.mark.parametrize("case", list(ENVELOPES))
def test_well_signed_bad_envelopes_are_refused_like_libparsec(case: str) -> None:
    key = SigningKey.generate()
    body = msgpack.packb(_user_map(), default=_ext_default, use_bin_type=True)
    signed = key.sign(ENVELOPES[case](body))
    with pytest.raises(CryptoError):
        UserCertificate.verify_and_load(signed, key.verify_key, None)
    with pytest.raises(ValueError):
        ref.UserCertificate.verify_and_load(signed, ref.VerifyKey(key.verify_key.encode()))


def _ext_default(obj: Any) -> Any:
    if isinstance(obj, DateTime):
        return msgpack.ExtType(1, struct.pack(">q", obj.us))
    if isinstance(obj, uuid.UUID):
        return msgpack.ExtType(2, obj.bytes)
    raise TypeError(type(obj).__name__)


# --- never more lenient than the reference ---------------------------------------

_ALT_VALUES: list[Any] = [
    None,
    0,
    1,
    -1,
    True,
    1.5,
    "",
    "x",
    "ADMIN",
    "STANDARD",
    "OUTSIDER",
    "SHAMIR_RECOVERY",
    "ED25519",
    "X25519_XSALSA20_POLY1305",
    "user_certificate",
    "device_certificate",
    b"",
    b"PC",
    os.urandom(16),
    os.urandom(31),
    os.urandom(32),
    os.urandom(33),
    uuid.uuid4(),
    DateTime(0),
    DateTime(MAX_US),
    [],
    ["a@example.com", "Al"],
    ["a@example.com"],
    ["a@example.com", "Al", "x"],
    {"email": "a@example.com"},
    msgpack.ExtType(3, bytes(16)),
    "e\u0301",
    "a" * 300,
]


@pytest.mark.parametrize("kind", ["user", "device"])
def test_whatever_we_accept_libparsec_accepts_with_the_same_values(kind: str) -> None:
    """Every single-field substitution (or removal): if we load it, libparsec
    loads it too, and reads the same thing.  The reverse is not required:
    libparsec also takes encodings no writer produces (bin labels, enum
    indexes)."""
    key = SigningKey.generate()
    author = DeviceID.new()
    base = (make_user(author=author) if kind == "user" else make_device(author=author)).to_map()
    divergences = []
    accepted = 0
    variants: list[tuple[str, dict[str, Any]]] = [
        (f"{name}={value!r:.40}", {**base, name: value}) for name in base for value in _ALT_VALUES
    ]
    variants += [(f"without {name}", {k: v for k, v in base.items() if k != name}) for name in base]
    for what, obj in variants:
        signed = _signed(obj, key)
        expected = DeviceID(obj["author"]) if isinstance(obj.get("author"), uuid.UUID) else None
        try:
            ours = _load(kind, signed, key.verify_key, expected)
        except CryptoError:
            continue
        accepted += 1
        try:
            theirs = _ref_load(kind, signed, key.verify_key)
        except (ValueError, TypeError) as exc:
            divergences.append(f"{what}: we accept, libparsec refuses ({exc})")
            continue
        try:
            (assert_same_user if kind == "user" else assert_same_device)(theirs, ours)
        except AssertionError:
            divergences.append(f"{what}: both accept, different values")
    assert accepted > len(base), "the substitutions should include accepted ones"
    assert not divergences, "\n".join(divergences)


# --- array form, pre-3.2 --------------------------------------------------------


@pytest.mark.parametrize("kind", ["user", "device"])
def test_array_form_loads_like_libparsec(kind: str) -> None:
    key = SigningKey.generate()
    cert: UserCertificate | DeviceCertificate = make_user() if kind == "user" else make_device()
    signed = _signed(list(cert.to_map().values()), key)
    ours = _load(kind, signed, key.verify_key, None)
    assert ours == cert
    (assert_same_user if kind == "user" else assert_same_device)(
        _ref_load(kind, signed, key.verify_key), ours
    )


@pytest.mark.parametrize("purpose", ["absent", "nil"])
def test_pre_3_2_device_certificate_is_standard(purpose: str) -> None:
    key = SigningKey.generate()
    cert = make_device(author=DeviceID.new())
    obj = cert.to_map()
    if purpose == "absent":
        del obj["purpose"]
    else:
        obj["purpose"] = None
    signed = _signed(obj, key)
    ours = DeviceCertificate.verify_and_load(signed, key.verify_key, cert.author)
    assert ours.purpose == "STANDARD"
    assert ours == cert
    assert_same_device(_ref_load("device", signed, key.verify_key), ours)


def test_map_with_extra_keys_and_other_order_loads() -> None:
    key = SigningKey.generate()
    cert = make_user(author=DeviceID.new())
    obj = dict(reversed(list(cert.to_map().items())))
    obj["comment"] = "added by a later revision"
    signed = _signed(obj, key)
    ours = UserCertificate.verify_and_load(signed, key.verify_key, cert.author)
    assert ours == cert
    assert_same_user(_ref_load("user", signed, key.verify_key), ours)
