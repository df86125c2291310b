"""core/serialization.py against the reference bindings (``parsec._parsec``).

The bindings load what we pack (requests, signed format-v0 certificates)
and we load what they dump, byte for byte where the key order is the same.
"""

from __future__ import annotations

import math
import struct
import tracemalloc
import uuid

import msgpack
import parsec._parsec as oracle  # the reference: its absence is a failure, never a skip
import pytest
import zstandard
from hypothesis import example, given, settings
from hypothesis import strategies as st
from parsec_tray.core.crypto import SigningKey
from parsec_tray.core.errors import DeviceFileCorruptError, InvalidLinkError, ProtocolError
from parsec_tray.core.serialization import as_fields, format_v0_dump, format_v0_load, packb, unpackb
from parsec_tray.core.values import DateTime, DeviceID, UserID

SETTINGS = settings(max_examples=150, deadline=None)

CHRONO_US = st.integers(-8_334_601_228_800_000_000, 8_210_266_876_799_999_999)
AUTH = oracle.authenticated_cmds.latest
INVITED = oracle.invited_cmds.latest
ANONYMOUS = oracle.anonymous_cmds.latest


def ref_dt(us: int) -> oracle.DateTime:
    return oracle.DateTime.from_timestamp_micros(us)


# --- msgpack and the extension types, against protocol requests ----------------


@SETTINGS
@given(st.text(max_size=300))
@example("hello")
def test_ping_request_bytes_match_reference(text: str) -> None:
    ours = packb({"cmd": "ping", "ping": text})
    assert ours == ANONYMOUS.ping.Req(text).dump()
    assert ANONYMOUS.AnyCmdReq.load(ours).ping == text


@SETTINGS
@given(st.uuids())
def test_uuid_ext2_bytes_match_reference(greeter: uuid.UUID) -> None:
    req = INVITED.invite_claimer_start_greeting_attempt.Req(oracle.UserID.from_bytes(greeter.bytes))
    ours = packb({"cmd": "invite_claimer_start_greeting_attempt", "greeter": UserID(greeter)})
    assert ours == req.dump()
    assert b"\xd8\x02" + greeter.bytes in ours  # fixext16, type 2
    loaded = unpackb(req.dump())
    assert loaded["greeter"] == greeter and isinstance(loaded["greeter"], uuid.UUID)
    assert INVITED.AnyCmdReq.load(ours).greeter.bytes == greeter.bytes


@SETTINGS
@given(CHRONO_US, st.one_of(st.none(), CHRONO_US), st.dictionaries(st.uuids(), CHRONO_US, max_size=3))
@example(1_262_304_000_000_000, None, {})
@example(-1, 0, {})
def test_datetime_ext1_bytes_match_reference(
    common: int, shamir: int | None, realms: dict[uuid.UUID, int]
) -> None:
    req = AUTH.certificate_get.Req(
        ref_dt(common),
        None,
        None if shamir is None else ref_dt(shamir),
        {oracle.VlobID.from_bytes(k.bytes): ref_dt(v) for k, v in realms.items()},
    )
    ours = {
        "cmd": "certificate_get",
        "common_after": DateTime(common),
        "sequester_after": None,
        "shamir_recovery_after": None if shamir is None else DateTime(shamir),
        # A map keyed by ext2 values (strict_map_key=False on load).
        "realm_after": {k: DateTime(v) for k, v in realms.items()},
    }
    assert b"\xd7\x01" + struct.pack(">q", common) in packb(ours)  # fixext8, type 1
    if len(realms) <= 1:  # with several keys the bindings' map order is their own
        assert packb(ours) == req.dump()
    assert unpackb(req.dump()) == ours
    loaded = AUTH.AnyCmdReq.load(packb(ours))
    assert loaded.common_after.as_timestamp_micros() == common
    assert {k.bytes: v.as_timestamp_micros() for k, v in loaded.realm_after.items()} == {
        k.bytes: v for k, v in realms.items()
    }


def test_datetime_is_fixext8_of_big_endian_microseconds() -> None:
    us = 1_262_304_000_000_000  # 2010-01-01T00:00:00Z
    expected = b"\xd7\x01" + us.to_bytes(8, "big")
    assert expected in AUTH.certificate_get.Req(ref_dt(us), None, None, {}).dump()
    assert packb(DateTime(us)) == expected


# --- format v0 (0x00 + zstd), against signed certificates ------------------------


def _revoked_cert(author: uuid.UUID, us: int, user: uuid.UUID) -> dict[str, object]:
    return {
        "type": "revoked_user_certificate",
        "author": DeviceID(author),
        "timestamp": DateTime(us),
        "user_id": UserID(user),
    }


def ref_load_revoked(body: bytes, seed: bytes, author: uuid.UUID) -> oracle.RevokedUserCertificate:
    """The bindings' loader, given ``body`` signed by us with ``seed``."""
    return oracle.RevokedUserCertificate.verify_and_load(
        SigningKey(seed).sign(body),
        oracle.SigningKey(seed).verify_key,
        expected_author=oracle.DeviceID.from_bytes(author.bytes),
    )


@SETTINGS
@given(st.binary(min_size=32, max_size=32), st.uuids(), CHRONO_US, st.uuids())
def test_reference_certificate_loads_with_us(
    seed: bytes, author: uuid.UUID, us: int, user: uuid.UUID
) -> None:
    cert = oracle.RevokedUserCertificate(
        oracle.DeviceID.from_bytes(author.bytes), ref_dt(us), oracle.UserID.from_bytes(user.bytes)
    )
    signed = cert.dump_and_sign(oracle.SigningKey(seed))
    body = SigningKey(seed).verify_key.verify(signed)
    assert body[:5] == b"\x00\x28\xb5\x2f\xfd"  # version byte, zstd magic
    assert format_v0_load(body) == _revoked_cert(author, us, user)


@SETTINGS
@given(st.binary(min_size=32, max_size=32), st.uuids(), CHRONO_US, st.uuids())
def test_our_certificate_loads_with_reference(
    seed: bytes, author: uuid.UUID, us: int, user: uuid.UUID
) -> None:
    loaded = ref_load_revoked(format_v0_dump(_revoked_cert(author, us, user)), seed, author)
    assert loaded.timestamp.as_timestamp_micros() == us
    assert loaded.user_id.bytes == user.bytes
    assert loaded.author.bytes == author.bytes


def test_human_handle_is_an_array_on_the_wire() -> None:
    seed = bytes(range(32))
    cert = oracle.UserCertificate(
        None,
        ref_dt(1_700_000_000_000_000),
        oracle.UserID.from_bytes(bytes(16)),
        oracle.HumanHandle(oracle.EmailAddress("alice@example.com"), "Alice"),
        oracle.PrivateKey(bytes(range(32))).public_key,
        oracle.PrivateKeyAlgorithm.X25519_XSALSA20_POLY1305,
        oracle.UserProfile.ADMIN,
    )
    fields = format_v0_load(SigningKey(seed).verify_key.verify(cert.dump_and_sign(oracle.SigningKey(seed))))
    assert fields["human_handle"] == ["alice@example.com", "Alice"]
    assert fields["author"] is None and fields["profile"] == "ADMIN"


def _frames(raw: bytes) -> dict[str, bytes]:
    half = len(raw) // 2
    skippable = b"\x50\x2a\x4d\x18" + struct.pack("<I", 4) + b"skip"
    return {
        "streaming, no content size": zstandard.ZstdCompressor(write_content_size=False).compress(raw),
        "content size": zstandard.ZstdCompressor(write_content_size=True).compress(raw),
        "checksum": zstandard.ZstdCompressor(write_checksum=True).compress(raw),
        "level 1": zstandard.ZstdCompressor(level=1).compress(raw),
        "level 19": zstandard.ZstdCompressor(level=19, write_checksum=True).compress(raw),
        "two frames": zstandard.ZstdCompressor().compress(raw[:half])
        + zstandard.ZstdCompressor().compress(raw[half:]),
        "skippable frame first": skippable + zstandard.ZstdCompressor().compress(raw),
        "skippable frame last": zstandard.ZstdCompressor().compress(raw) + skippable,
    }


def _bad_frames(raw: bytes) -> dict[str, bytes]:
    good = zstandard.ZstdCompressor(write_checksum=True).compress(raw)
    return {
        "uncompressed body": raw,
        "truncated frame": good[:-5],
        "frame header only": good[:6],
        "trailing garbage": good + b"xyz",
        "bad checksum": good[:-1] + bytes([good[-1] ^ 1]),
        "empty": b"",
    }


@pytest.mark.parametrize("variant", list(_frames(b"x")))
def test_format_v0_frame_variants_accepted_like_reference(variant: str) -> None:
    author, user, seed = uuid.uuid4(), uuid.uuid4(), bytes(32)
    cert = _revoked_cert(author, 1_600_000_000_000_000, user)
    body = b"\x00" + _frames(packb(cert))[variant]
    assert format_v0_load(body) == cert
    assert ref_load_revoked(body, seed, author).user_id.bytes == user.bytes


@pytest.mark.parametrize("variant", list(_bad_frames(b"x")))
def test_format_v0_bad_frames_refused_like_reference(variant: str) -> None:
    author = uuid.uuid4()
    body = b"\x00" + _bad_frames(packb(_revoked_cert(author, 0, uuid.uuid4())))[variant]
    with pytest.raises(ValueError):
        ref_load_revoked(body, bytes(32), author)
    with pytest.raises(ProtocolError, match="compressed|format"):
        format_v0_load(body)


@pytest.mark.parametrize("first", [1, 2, 0x28, 0x80, 0xFF])
def test_format_v0_refuses_other_versions(first: int) -> None:
    body = format_v0_dump({"type": "x"})
    with pytest.raises(ProtocolError, match="format version"):
        format_v0_load(bytes([first]) + body[1:])
    with pytest.raises(ValueError):
        oracle.RevokedUserCertificate.unsecure_load(bytes(64) + bytes([first]) + body[1:])
    with pytest.raises(ProtocolError, match="format version"):
        format_v0_load(b"")


def test_format_v0_writes_what_the_official_writer_writes() -> None:
    body = format_v0_dump({"type": "x"})
    assert body[0] == 0
    params = zstandard.get_frame_parameters(body[1:])
    assert params.content_size == zstandard.CONTENTSIZE_UNKNOWN and not params.has_checksum


def _rle_frame(blocks: int) -> bytes:
    """A zstd frame of ``blocks`` RLE blocks of 128 KiB of zeros: 4 bytes each."""
    header = b"\x28\xb5\x2f\xfd\x00\x38"  # magic, no content size, 128 KiB window
    block = (128 * 1024) << 3 | 0b010  # size, type RLE, not last
    body = (struct.pack("<I", block)[:3] + b"\x00") * (blocks - 1)
    return header + body + struct.pack("<I", block | 1)[:3] + b"\x00"


def test_format_v0_decompression_bomb_is_refused_within_bounded_memory() -> None:
    assert zstandard.ZstdDecompressor().decompressobj().decompress(_rle_frame(8)) == bytes(1024 * 1024)
    bomb = b"\x00" + _rle_frame(8192)  # 32 KiB that expand to 1 GiB
    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError, match="compressed"):
            format_v0_load(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024


@SETTINGS
@given(st.binary(max_size=200))
def test_format_v0_garbage_raises_only_the_given_error(data: bytes) -> None:
    for body in (data, b"\x00" + data, b"\x00\x28\xb5\x2f\xfd" + data):
        try:
            format_v0_load(body, error=DeviceFileCorruptError, what="device file")
        except DeviceFileCorruptError as exc:
            assert "device file" in str(exc)


# --- round trips -------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.binary(max_size=20),
    CHRONO_US.map(DateTime),
    st.uuids(),
)
KEYS = st.one_of(st.text(max_size=10), st.uuids(), st.integers(-5, 5))
NESTED = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=20,
)


@SETTINGS
@given(NESTED)
def test_msgpack_round_trip(value: object) -> None:
    assert unpackb(packb(value)) == value


@SETTINGS
@given(st.dictionaries(st.text(max_size=10), NESTED, max_size=5))
def test_format_v0_round_trip(value: dict[str, object]) -> None:
    assert format_v0_load(format_v0_dump(value)) == value


@SETTINGS
@given(st.floats(allow_nan=False) | st.integers(-(2**63), 2**64 - 1))
def test_numbers_are_read_by_reference(number: float | int) -> None:
    # The ping field is a string for the bindings: a number must be refused by
    # both of us through the same msgpack, which proves the framing agrees.
    with pytest.raises(ValueError):
        ANONYMOUS.AnyCmdReq.load(packb({"cmd": "ping", "ping": number}))
    loaded = unpackb(packb(number))
    assert loaded == number and (
        not isinstance(number, float) or math.copysign(1, loaded) == math.copysign(1, number)
    )


# --- decoding failures: the given error class, never a library exception ----------

LIBRARY_FAILURES = {
    "msgpack ExtraData (trailing bytes)": packb({"a": 1}) + b"\xc0",
    "msgpack OutOfData (truncated)": packb({"a": "hello"})[:-2],
    "msgpack FormatException (reserved 0xc1)": b"\xc1",
    "msgpack StackError (nesting)": b"\x91" * 100_000 + b"\xc0",
    "UnicodeDecodeError (bad UTF-8 str)": b"\xa2\xff\xfe",
    "ext hook ValueError (datetime of 4 bytes)": msgpack.packb(msgpack.ExtType(1, b"\x00" * 4)),
    "ext hook ValueError (uuid of 8 bytes)": msgpack.packb(msgpack.ExtType(2, b"\x00" * 8)),
    "TypeError (unhashable map key)": b"\x81\x90\xc0",
    "empty input": b"",
}


@pytest.mark.parametrize("case", list(LIBRARY_FAILURES))
@pytest.mark.parametrize("error", [ProtocolError, DeviceFileCorruptError, InvalidLinkError])
def test_msgpack_failures_are_translated(case: str, error: type[Exception]) -> None:
    with pytest.raises(error, match="not valid msgpack"):
        unpackb(LIBRARY_FAILURES[case], error=error)  # type: ignore[arg-type]


@pytest.mark.parametrize("case", list(LIBRARY_FAILURES))
def test_msgpack_failures_inside_format_v0_are_translated(case: str) -> None:
    body = b"\x00" + zstandard.ZstdCompressor().compress(LIBRARY_FAILURES[case])
    with pytest.raises(DeviceFileCorruptError):
        format_v0_load(body, error=DeviceFileCorruptError)


def test_zstd_error_is_translated() -> None:
    with pytest.raises(zstandard.ZstdError):
        zstandard.ZstdDecompressor().decompressobj().decompress(b"\x28\xb5\x2f\xfd garbage")
    with pytest.raises(DeviceFileCorruptError, match="compressed"):
        format_v0_load(b"\x00\x28\xb5\x2f\xfd garbage", error=DeviceFileCorruptError)


def test_non_bytes_input_is_translated() -> None:
    with pytest.raises(ProtocolError):
        unpackb("text")  # type: ignore[arg-type]


@SETTINGS
@given(st.binary(max_size=100))
def test_arbitrary_bytes_raise_only_the_given_error(data: bytes) -> None:
    try:
        unpackb(data, error=InvalidLinkError)
    except InvalidLinkError:
        pass


def test_unknown_ext_types_are_kept() -> None:
    assert unpackb(msgpack.packb(msgpack.ExtType(5, b"ab"))) == msgpack.ExtType(5, b"ab")


# --- as_fields: map and legacy array forms -----------------------------------------

REVOKED_FIELDS = ("type", "author", "timestamp", "user_id")


def test_as_fields_map_and_array_forms_agree_with_reference() -> None:
    author, user, seed = uuid.uuid4(), uuid.uuid4(), bytes(range(32))
    cert = _revoked_cert(author, 1_650_000_000_000_000, user)
    as_array = [cert[name] for name in REVOKED_FIELDS]
    for form in (cert, as_array):
        body = format_v0_dump(form)  # type: ignore[arg-type]
        # The bindings read both forms...
        assert ref_load_revoked(body, seed, author).user_id.bytes == user.bytes
        # ...and so do we, to the same fields.
        assert as_fields(format_v0_load(body), REVOKED_FIELDS, required=REVOKED_FIELDS) == cert


def test_as_fields_rules() -> None:
    names = ("a", "b", "c")
    assert as_fields({"a": 1, "c": 3, "zz": 9}, names) == {"a": 1, "c": 3}  # unknown keys ignored
    assert as_fields([1, 2], names) == {"a": 1, "b": 2}  # trailing fields may be missing
    assert as_fields((1, 2, 3), names, required=names) == {"a": 1, "b": 2, "c": 3}
    with pytest.raises(ProtocolError, match="too many"):
        as_fields([1, 2, 3, 4], names)
    with pytest.raises(ProtocolError, match="'c'"):
        as_fields([1, 2], names, required=("c",))
    with pytest.raises(DeviceFileCorruptError, match="'b'"):
        as_fields({"a": 1}, names, required=("b",), error=DeviceFileCorruptError)
    with pytest.raises(ProtocolError, match="not a structure"):
        as_fields("abc", names)
    with pytest.raises(ProtocolError, match="not a structure"):
        as_fields(None, names)


@SETTINGS
@given(st.dictionaries(st.sampled_from("abcdef"), NESTED, max_size=6), st.integers(0, 6))
def test_as_fields_round_trip(fields: dict[str, object], cut: int) -> None:
    names = tuple("abcdef")
    present = {k: fields[k] for k in names if k in fields}
    assert as_fields(unpackb(packb(fields)), names) == present
    array = [fields.get(k) for k in names][:cut]
    assert as_fields(unpackb(packb(array)), names) == dict(zip(names, array, strict=False))
