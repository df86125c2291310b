"""Device key files (``*.keys``): the codec, the 3.0 array form, listing,
locations, atomic writes, and every way a file can be damaged, foreign or
crafted.  No server: files are built here from the documented layout
(fact sheet a, b.1, h) and keys are derived with libsodium directly, so
that the core is checked against the format, not against itself.
"""

from __future__ import annotations

import base64
import json
import os
import random
import secrets
import stat
import string
import struct
import sys
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import msgpack
import nacl.pwhash
import nacl.secret
import nacl.signing
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from parsec_tray.core import flows, paths
from parsec_tray.core.addr import ParsecAddr
from parsec_tray.core.crypto import Argon2idParams, PrivateKey, SecretKey, SigningKey
from parsec_tray.core.device_file import DeviceFile, decrypt_device
from parsec_tray.core.devices import (
    AtomicWrite,
    build_password_file,
    list_device_files,
    load_device_with_password,
    read_device_file,
    save_device_file,
    write_device_file,
)
from parsec_tray.core.errors import (
    DeviceFileCorruptError,
    DeviceFileError,
    DeviceFileWriteError,
    UnsupportedDeviceFileError,
    WrongPasswordError,
)
from parsec_tray.core.local_device import LocalDevice
from parsec_tray.core.values import (
    DateTime,
    DeviceID,
    DeviceLabel,
    HumanHandle,
    OrganizationID,
    UserID,
    UserProfile,
)

PASSWORD = "P@ssw0rd. ünïcode"
# Cheap parameters: the codec does not care, and hundreds of derivations run.
FAST_MEMLIMIT_KB, FAST_OPSLIMIT = 8, 1

# Documented key orders (fact sheet h.1 and h.2).
LOCAL_DEVICE_KEYS = [
    "type", "server_url", "organization_id", "root_verify_key", "user_id", "device_id", "device_label",
    "human_handle", "signing_key", "private_key", "initial_profile", "user_realm_id", "user_realm_key",
    "local_symkey",
]
COMMON_KEYS = [
    "type", "created_on", "protected_on", "server_url", "organization_id", "user_id", "device_id",
    "human_handle", "device_label",
]
PASSWORD_FILE_KEYS = [*COMMON_KEYS, "algorithm", "ciphertext", "totp_opaque_key_id"]
KEYRING_FILE_KEYS = [*COMMON_KEYS, "keyring_service", "keyring_user", "ciphertext", "totp_opaque_key_id"]
RECOVERY_FILE_KEYS = [*COMMON_KEYS, "ciphertext"]
ALGORITHM_KEYS = ["type", "memlimit_kb", "opslimit", "parallelism", "salt"]

PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00"


# --- independent encoding helpers (plain msgpack + libsodium) -----------------


def ext_dt(us: int) -> msgpack.ExtType:
    return msgpack.ExtType(1, struct.pack(">q", us))


def ext_id(u: uuid.UUID) -> msgpack.ExtType:
    return msgpack.ExtType(2, u.bytes)


def pack(obj: Any) -> bytes:
    out = msgpack.packb(obj, use_bin_type=True)
    assert isinstance(out, bytes)
    return out


def unpack_plain(raw: bytes) -> Any:
    """Decode without the core's ext hook: ext types stay ``ExtType``."""
    return msgpack.unpackb(raw, raw=False, strict_map_key=False)


def kdf(password: str, salt: bytes, *, memlimit_kb: int = FAST_MEMLIMIT_KB, opslimit: int = FAST_OPSLIMIT) -> bytes:
    return bytes(
        nacl.pwhash.argon2id.kdf(32, password.encode("utf-8"), salt, opslimit=opslimit, memlimit=memlimit_kb * 1024)
    )


def secretbox(key: bytes, data: bytes) -> bytes:
    return bytes(nacl.secret.SecretBox(key).encrypt(data))


class Identity:
    """What a device is made of, as raw values."""

    def __init__(self, *, org: str = "CoolOrg", server_url: str = "https://parsec.example.com/") -> None:
        self.org = org
        self.server_url = server_url
        self.user_id = uuid.uuid4()
        self.device_id = uuid.uuid4()
        self.user_realm_id = uuid.uuid4()
        self.email = "alice@example.com"
        self.label = "Alicey McAliceFace"
        self.device_label = "My dev1 machine"
        self.root_seed = secrets.token_bytes(32)
        self.signing_key = secrets.token_bytes(32)
        self.private_key = secrets.token_bytes(32)
        self.user_realm_key = secrets.token_bytes(32)
        self.local_symkey = secrets.token_bytes(32)

    @property
    def root_verify_key(self) -> bytes:
        return bytes(nacl.signing.SigningKey(self.root_seed).verify_key.encode())

    def local_device_values(self) -> list[Any]:
        return [
            "local_device", self.server_url, self.org, self.root_verify_key, ext_id(self.user_id),
            ext_id(self.device_id), self.device_label, [self.email, self.label], self.signing_key,
            self.private_key, "ADMIN", ext_id(self.user_realm_id), self.user_realm_key, self.local_symkey,
        ]

    def local_device_map(self) -> bytes:
        return pack(dict(zip(LOCAL_DEVICE_KEYS, self.local_device_values(), strict=True)))

    def local_device_array(self) -> bytes:
        return pack(self.local_device_values())

    def common_values(self, kind: str, server_url: str | None = None) -> list[Any]:
        return [
            kind, ext_dt(1262304000000000), ext_dt(1262304000000000 + 3_600_000_000),
            server_url if server_url is not None else self.server_url, self.org, ext_id(self.user_id),
            ext_id(self.device_id), [self.email, self.label], self.device_label,
        ]

    def password_file_map(
        self,
        password: str = PASSWORD,
        *,
        cleartext: bytes | None = None,
        algorithm: dict[str, Any] | None = None,
        totp: uuid.UUID | None = None,
        with_totp_key: bool = True,
    ) -> bytes:
        salt = secrets.token_bytes(16)
        algo = algorithm or {
            "type": "ARGON2ID", "memlimit_kb": FAST_MEMLIMIT_KB, "opslimit": FAST_OPSLIMIT, "parallelism": 1,
            "salt": salt,
        }
        if algorithm is None:
            ciphertext = secretbox(kdf(password, salt), cleartext if cleartext is not None else self.local_device_map())
        else:
            ciphertext = secrets.token_bytes(200)
        obj = dict(zip(COMMON_KEYS, self.common_values("password"), strict=True))
        obj["algorithm"] = algo
        obj["ciphertext"] = ciphertext
        if with_totp_key:
            obj["totp_opaque_key_id"] = ext_id(totp) if totp else None
        return pack(obj)

    def device(self) -> LocalDevice:
        return LocalDevice.load(self.local_device_map())


def assert_same_device(device: LocalDevice, ident: Identity) -> None:
    assert str(device.organization_id) == ident.org
    assert device.user_id == ident.user_id
    assert device.device_id == ident.device_id
    assert device.root_verify_key.encode() == ident.root_verify_key
    assert device.signing_key.encode() == ident.signing_key
    assert device.private_key.encode() == ident.private_key
    assert device.user_realm_id == ident.user_realm_id
    assert device.user_realm_key.encode() == ident.user_realm_key
    assert device.local_symkey.encode() == ident.local_symkey
    assert device.human_handle.email == ident.email and device.human_handle.label == ident.label
    assert str(device.device_label) == ident.device_label
    assert device.initial_profile is UserProfile.ADMIN


def fast_params() -> Argon2idParams:
    return Argon2idParams(FAST_MEMLIMIT_KB, FAST_OPSLIMIT, 1, secrets.token_bytes(16))


def random_file(ident: Identity | None = None, *, label: str | None = None) -> DeviceFile:
    """A listable password file (its ciphertext is never decrypted)."""
    ident = ident or Identity()
    dev = ident.device()
    return DeviceFile(
        type="password",
        created_on=DateTime.now(),
        protected_on=DateTime.now(),
        server=dev.server,
        organization_id=dev.organization_id,
        user_id=dev.user_id,
        device_id=dev.device_id,
        human_handle=dev.human_handle,
        device_label=DeviceLabel(label or ident.device_label),
        ciphertext=secrets.token_bytes(300),
        algorithm=fast_params(),
    )


def load_and_decrypt(raw: bytes, password: str = PASSWORD) -> LocalDevice:
    return load_device_with_password(DeviceFile.load(raw), password)


# --- hypothesis strategies ------------------------------------------------------


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


org_ids = (
    st.text(alphabet=string.ascii_letters + string.digits + "-_éßΩжー", min_size=1, max_size=32)
    .map(_nfc)
    .filter(lambda s: 1 <= len(s.encode()) <= 32)
)
emails = st.from_regex(r"[a-z0-9]{1,12}(\.[a-z0-9]{1,8}){0,2}(\+[a-z0-9]{1,5})?@[a-z0-9]{1,12}\.(com|org|fr)", fullmatch=True)
_text_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters='<>@,:;\\"[]')
user_names = st.text(alphabet=_text_chars, min_size=1, max_size=80).map(_nfc).filter(lambda s: 1 <= len(s.encode()) <= 254)
device_labels = (
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=90)
    .map(_nfc)
    .filter(lambda s: 1 <= len(s.encode()) <= 255)
)
datetimes = st.integers(-(2**63), 2**63 - 1).map(DateTime)
hostnames = st.one_of(
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z]([a-z0-9-]{0,10}[a-z0-9])?){0,3}", fullmatch=True),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
)
servers = st.builds(ParsecAddr, hostnames, st.none() | st.integers(1, 65535), st.booleans())
u32 = st.integers(0, 2**32 - 1)
argon_params = st.builds(Argon2idParams, u32, u32, u32, st.binary(min_size=16, max_size=16))


@st.composite
def device_files(draw: st.DrawFn, kind: str) -> DeviceFile:
    extra: dict[str, Any] = {}
    if kind == "password":
        extra["algorithm"] = draw(argon_params)
    if kind == "keyring":
        extra["keyring_service"] = draw(st.text(max_size=20))
        extra["keyring_user"] = draw(st.text(max_size=40))
    if kind != "recovery":
        extra["totp_opaque_key_id"] = draw(st.none() | st.uuids())
    return DeviceFile(
        type=kind,
        created_on=draw(datetimes),
        protected_on=draw(datetimes),
        server=draw(servers),
        organization_id=OrganizationID(draw(org_ids)),
        user_id=UserID(draw(st.uuids())),
        device_id=DeviceID(draw(st.uuids())),
        human_handle=HumanHandle(draw(emails), draw(user_names)),
        device_label=DeviceLabel(draw(device_labels)),
        ciphertext=draw(st.binary(max_size=600)),
        **extra,
    )


EXPECTED_KEYS = {"password": PASSWORD_FILE_KEYS, "keyring": KEYRING_FILE_KEYS, "recovery": RECOVERY_FILE_KEYS}


def check_raw_layout(raw: bytes, f: DeviceFile) -> None:
    obj = unpack_plain(raw)
    assert isinstance(obj, dict), "device files are written as msgpack maps"
    assert list(obj) == EXPECTED_KEYS[f.type]
    assert obj["type"] == f.type
    for name in ("created_on", "protected_on"):
        assert obj[name] == ext_dt(getattr(f, name).us)
    assert obj["user_id"] == ext_id(f.user_id) and obj["device_id"] == ext_id(f.device_id)
    assert obj["human_handle"] == [str(f.human_handle.email), f.human_handle.label]
    assert obj["server_url"] == f.server.to_http_url("/")
    assert obj["server_url"].startswith("https://" if f.server.use_ssl else "http://")
    assert isinstance(obj["ciphertext"], bytes) and obj["ciphertext"] == f.ciphertext
    if f.type == "password":
        assert f.algorithm is not None
        assert list(obj["algorithm"]) == ALGORITHM_KEYS
        assert obj["algorithm"] == {
            "type": "ARGON2ID", "memlimit_kb": f.algorithm.memlimit_kb, "opslimit": f.algorithm.opslimit,
            "parallelism": f.algorithm.parallelism, "salt": f.algorithm.salt,
        }
    if f.type != "recovery":
        want = ext_id(f.totp_opaque_key_id) if f.totp_opaque_key_id else None
        assert obj["totp_opaque_key_id"] == want


# --- codec round trips ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["password", "keyring", "recovery"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_device_file_map_round_trip(kind: str, data: st.DataObject) -> None:
    f = data.draw(device_files(kind))
    raw = f.dump()
    check_raw_layout(raw, f)
    back = DeviceFile.load(raw)
    assert back == f
    assert back.dump() == raw


@settings(max_examples=100, deadline=None)
@given(
    server=servers, org=org_ids, email=emails, name=user_names, label=device_labels,
    ids=st.tuples(st.uuids(), st.uuids(), st.uuids()), keys=st.lists(st.binary(min_size=32, max_size=32), min_size=5, max_size=5),
    profile=st.sampled_from(list(UserProfile)),
)
def test_local_device_round_trip(
    server: ParsecAddr, org: str, email: str, name: str, label: str,
    ids: tuple[uuid.UUID, uuid.UUID, uuid.UUID], keys: list[bytes], profile: UserProfile,
) -> None:
    device = LocalDevice(
        server=server,
        organization_id=OrganizationID(org),
        root_verify_key=SigningKey(keys[0]).verify_key,
        user_id=UserID(ids[0]),
        device_id=DeviceID(ids[1]),
        device_label=DeviceLabel(label),
        human_handle=HumanHandle(email, name),
        signing_key=SigningKey(keys[1]),
        private_key=PrivateKey(keys[2]),
        initial_profile=profile,
        user_realm_id=ids[2],
        user_realm_key=SecretKey(keys[3]),
        local_symkey=SecretKey(keys[4]),
    )
    raw = device.dump()
    obj = unpack_plain(raw)
    assert isinstance(obj, dict) and list(obj) == LOCAL_DEVICE_KEYS
    assert obj["type"] == "local_device"
    assert obj["server_url"] == server.to_http_url("/") and obj["server_url"].endswith("/")
    for name_, value in (("user_id", ids[0]), ("device_id", ids[1]), ("user_realm_id", ids[2])):
        assert obj[name_] == ext_id(value)
    for name_ in ("root_verify_key", "signing_key", "private_key", "user_realm_key", "local_symkey"):
        assert isinstance(obj[name_], bytes) and len(obj[name_]) == 32
    assert obj["signing_key"] == keys[1] and obj["private_key"] == keys[2]
    assert obj["root_verify_key"] == bytes(nacl.signing.SigningKey(keys[0]).verify_key.encode())
    assert obj["initial_profile"] == profile.value
    back = LocalDevice.load(raw)
    assert back.dump() == raw
    assert back.server == server


def test_password_file_written_by_core_decrypts_with_libsodium() -> None:
    """The core's own writer: documented layout, and the ciphertext opens
    with Argon2id(password) computed here, not by the core."""
    ident = Identity()
    f = build_password_file(ident.device(), PASSWORD, params=fast_params())
    raw = f.dump()
    check_raw_layout(raw, f)
    obj = unpack_plain(raw)
    algo = obj["algorithm"]
    key = kdf(PASSWORD, algo["salt"], memlimit_kb=algo["memlimit_kb"], opslimit=algo["opslimit"])
    clear = nacl.secret.SecretBox(key).decrypt(obj["ciphertext"])
    assert unpack_plain(clear) == unpack_plain(ident.local_device_map())
    assert list(unpack_plain(clear)) == LOCAL_DEVICE_KEYS


def test_default_password_parameters_are_parsec_defaults() -> None:
    params = Argon2idParams.new_default()
    assert (params.memlimit_kb, params.opslimit, params.parallelism) == (131072, 3, 1)
    assert len(params.salt) == 16 and params.salt != Argon2idParams.new_default().salt


# --- the 3.0 array form -------------------------------------------------------------


def test_reads_3_0_array_form_password_file() -> None:
    ident = Identity(server_url="https://parsec.example.com")  # 3.0: no trailing '/'
    salt = secrets.token_bytes(16)
    ciphertext = secretbox(kdf(PASSWORD, salt), ident.local_device_map())
    raw = pack([
        *ident.common_values("password", "https://parsec.example.com"),
        ["ARGON2ID", FAST_MEMLIMIT_KB, FAST_OPSLIMIT, 1, salt],
        ciphertext,
    ])  # 3.0 had no totp_opaque_key_id
    f = DeviceFile.load(raw)
    assert f.type == "password"
    assert f.algorithm == Argon2idParams(FAST_MEMLIMIT_KB, FAST_OPSLIMIT, 1, salt)
    assert f.server == ParsecAddr("parsec.example.com", None, True)
    assert f.created_on == DateTime(1262304000000000)
    assert f.protected_on == DateTime(1262304000000000 + 3_600_000_000)
    assert (f.organization_id, f.user_id, f.device_id) == ("CoolOrg", ident.user_id, ident.device_id)
    assert (f.human_handle.email, f.human_handle.label, f.device_label) == (ident.email, ident.label, ident.device_label)
    assert f.totp_opaque_key_id is None
    assert_same_device(load_device_with_password(f, PASSWORD), ident)
    with pytest.raises(WrongPasswordError):
        load_device_with_password(f, PASSWORD + "x")


def test_reads_array_form_keyring_file_and_array_form_local_device() -> None:
    ident = Identity(server_url="http://127.0.0.1:6770")
    key = secrets.token_bytes(32)
    raw = pack([
        *ident.common_values("keyring", "http://127.0.0.1:6770"),
        "parsec",
        "4d7e1f6a-0c1b-4a55-9a77-0f0e5c6d7b8a",
        secretbox(key, ident.local_device_array()),
    ])
    f = DeviceFile.load(raw)
    assert (f.type, f.keyring_service, f.keyring_user) == ("keyring", "parsec", "4d7e1f6a-0c1b-4a55-9a77-0f0e5c6d7b8a")
    assert f.server == ParsecAddr("127.0.0.1", 6770, False)
    device = decrypt_device(f, SecretKey(key))
    assert_same_device(device, ident)
    assert device.server.to_url() == "parsec3://127.0.0.1:6770?no_ssl=true"
    with pytest.raises(WrongPasswordError):
        decrypt_device(f, SecretKey(secrets.token_bytes(32)))


def test_reads_map_without_totp_field_and_with_unknown_extra_field() -> None:
    """< 3.8 files lack totp_opaque_key_id; later revisions may add keys."""
    ident = Identity()
    obj = unpack_plain(ident.password_file_map(with_totp_key=False))
    assert "totp_opaque_key_id" not in obj
    assert_same_device(load_and_decrypt(pack(obj)), ident)
    obj["some_future_field"] = [1, 2, 3]
    reordered = dict(reversed(list(obj.items())))
    assert_same_device(load_and_decrypt(pack(reordered)), ident)


def test_argon2id_parallelism_2() -> None:
    """Parsec writes parallelism 1, but a file may say otherwise (the
    format allows it and libparsec's argon2 crate honours it)."""
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    salt = secrets.token_bytes(16)

    def cryptography_kdf(lanes: int) -> bytes:
        return Argon2id(salt=salt, length=32, iterations=2, lanes=lanes, memory_cost=64).derive(PASSWORD.encode())

    # The reference derivation used below agrees with libsodium where both exist...
    assert cryptography_kdf(1) == kdf(PASSWORD, salt, memlimit_kb=64, opslimit=2)
    key2 = cryptography_kdf(2)
    # ...and parallelism changes the key, so ignoring it cannot pass.
    assert key2 != cryptography_kdf(1)
    ident = Identity()
    obj = unpack_plain(ident.password_file_map())
    obj["algorithm"] = {"type": "ARGON2ID", "memlimit_kb": 64, "opslimit": 2, "parallelism": 2, "salt": salt}
    obj["ciphertext"] = secretbox(key2, ident.local_device_map())
    f = DeviceFile.load(pack(obj))
    assert f.algorithm is not None and f.algorithm.parallelism == 2
    assert_same_device(load_device_with_password(f, PASSWORD), ident)
    with pytest.raises(WrongPasswordError):
        load_device_with_password(f, "not the password")


# --- listing ------------------------------------------------------------------------------


def write_raw(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_listing_follows_libparsec_rules(tmp_path: Path) -> None:
    config = tmp_path / "config"
    root = paths.devices_dir(config)
    a, b, c, z = Identity(), Identity(), Identity(), Identity()
    # Duplicates of A: component-wise path order puts a/x.keys first
    # ("a" < "a-b" < "a.keys"); a plain string sort would pick a-b/y.keys.
    write_raw(root / "a" / "x.keys", random_file(a, label="first").dump())
    write_raw(root / "a-b" / "y.keys", random_file(a, label="second").dump())
    write_raw(root / "a.keys", random_file(a, label="third").dump())
    write_raw(root / "b.keys", random_file(b).dump())
    write_raw(root / "sub" / "deeper" / "c.keys", random_file(c).dump())
    write_raw(root / "dir.keys" / "z.keys", random_file(z).dump())  # a folder named *.keys is walked into
    # Not device files by name:
    for name in ("d.key", "e.keys.bak", "E.KEYS", ".keys", "notes.txt", ".f.keys.0a1b2c3d4e5f.tmp"):
        write_raw(root / name, random_file().dump())
    # Unloadable *.keys files are skipped:
    write_raw(root / "garbage.keys", secrets.token_bytes(500))
    write_raw(root / "empty.keys", b"")
    write_raw(root / "image.keys", PNG_HEADER)
    write_raw(root / "truncated.keys", random_file().dump()[:-10])
    # Not regular files: a FIFO (opening it would block), symbolic links to a
    # file and to a folder (libparsec lists neither).
    os.mkfifo(root / "fifo.keys")
    outside = tmp_path / "outside"
    write_raw(outside / "linked.keys", random_file().dump())
    write_raw(outside / "sub" / "m.keys", random_file().dump())
    (root / "link.keys").symlink_to(outside / "linked.keys")
    (root / "linkdir").symlink_to(outside / "sub", target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)

    listed = list_device_files(config)
    # The complete leftover temporary file is recovered as a pending device,
    # listed after libparsec's own listing.
    assert [d.path.relative_to(root).as_posix() for d in listed] == [
        "a/x.keys", "b.keys", "dir.keys/z.keys", "sub/deeper/c.keys", "f.keys.pending",
    ]
    assert [d.pending for d in listed] == [False] * 4 + [True]
    listed = listed[:4]
    assert [d.file.device_id for d in listed] == [a.device_id, b.device_id, z.device_id, c.device_id]
    assert str(listed[0].file.device_label) == "first"
    infos = flows.list_devices(config)[:4]
    assert [i.device_file for i in infos] == [d.path for d in listed]
    assert [i.device_id for i in infos] == [d.file.device_id.hex for d in listed]


def test_listing_without_devices_folder(tmp_path: Path) -> None:
    assert list_device_files(tmp_path / "nothing") == []
    write_raw(paths.devices_dir(tmp_path / "cfg"), b"a file where the folder should be")
    assert list_device_files(tmp_path / "cfg") == []


def test_listing_shows_unsupported_protections(tmp_path: Path) -> None:
    """Like the official client, devices it cannot open are still listed
    (with their protection) rather than silently hidden."""
    root = paths.devices_dir(tmp_path)
    ident = Identity()
    write_raw(root / "totp.keys", ident.password_file_map(totp=uuid.uuid4()))
    other = Identity()
    write_raw(root / "pki.keys", foreign_protection_file(other, "pki"))
    listed = {d.file.device_id: d.file for d in list_device_files(tmp_path)}
    assert listed[ident.device_id].type == "password" and listed[ident.device_id].totp_opaque_key_id is not None
    assert listed[other.device_id].type == "pki"


# --- location, mode, no overwrite --------------------------------------------------------


def test_default_location_uses_parsec_base_config_dir(config_home: Path) -> None:
    f = random_file()
    path = save_device_file(f)
    assert path == config_home / "parsec3" / "libparsec" / "devices" / f"{f.device_id.hex}.keys"
    assert path.read_bytes() == f.dump()
    assert paths.config_dir() == config_home / "parsec3" / "libparsec"
    assert paths.data_dir() == Path(os.environ["PARSEC_BASE_DATA_DIR"]) / "parsec3"
    assert [d.path for d in list_device_files()] == [path]


@pytest.mark.skipif(sys.platform != "linux", reason="XDG base directories are the Linux convention")
def test_default_location_follows_xdg_without_override(
    config_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PARSEC_BASE_CONFIG_DIR")
    monkeypatch.delenv("PARSEC_BASE_DATA_DIR")
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    f = random_file()
    path = save_device_file(f)
    assert path == xdg / "parsec3" / "libparsec" / "devices" / f"{f.device_id.hex}.keys"
    assert paths.data_dir() == tmp_path / "xdg-data" / "parsec3"
    # No XDG_CONFIG_HOME, or a relative one (ignored by the spec): ~/.config.
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")
    assert paths.config_dir() == home / ".config" / "parsec3" / "libparsec"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert paths.default_device_file("ab" * 16) == home / ".config" / "parsec3" / "libparsec" / "devices" / f"{'ab' * 16}.keys"


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_saved_file_mode_is_0600(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        path = save_device_file(random_file(), config=tmp_path)
        replaced = write_device_file(tmp_path / "r.keys", b"x")
        write_device_file(replaced, b"y", replace=True)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(replaced.stat().st_mode) == 0o600
    assert replaced.read_bytes() == b"y"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_never_overwrites_an_existing_file(tmp_path: Path) -> None:
    f = random_file()
    target = paths.default_device_file(f.device_id.hex, tmp_path)
    write_raw(target, b"someone else's file")
    with pytest.raises(DeviceFileWriteError) as info:
        save_device_file(f, config=tmp_path)
    assert str(target) in str(info.value)
    assert target.read_bytes() == b"someone else's file"
    assert leftovers(target.parent) == []
    # A dangling symbolic link is not replaced either (nor its target created).
    link = tmp_path / "link.keys"
    link.symlink_to(tmp_path / "nowhere.keys")
    with pytest.raises(DeviceFileWriteError):
        write_device_file(link, f.dump())
    assert link.is_symlink() and not (tmp_path / "nowhere.keys").exists()
    assert leftovers(tmp_path) == []


def test_file_appearing_between_prepare_and_commit_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "devices" / "x.keys"
    pending = AtomicWrite(target, b"ours").prepare()
    assert len(leftovers(target.parent)) == 1
    target.write_bytes(b"theirs")
    with pytest.raises(DeviceFileWriteError):
        pending.commit()
    assert target.read_bytes() == b"theirs"
    assert leftovers(target.parent) == []


def test_abort_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "x.keys"
    AtomicWrite(target, b"data").prepare().abort()
    assert list(tmp_path.iterdir()) == []


# --- damaged files ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good() -> tuple[Identity, bytes]:
    ident = Identity()
    return ident, ident.password_file_map()


def test_good_file_opens(good: tuple[Identity, bytes]) -> None:
    ident, raw = good
    assert_same_device(load_and_decrypt(raw), ident)


def test_truncated_at_every_length(good: tuple[Identity, bytes], tmp_path: Path) -> None:
    _, raw = good
    for n in range(len(raw)):
        with pytest.raises(DeviceFileCorruptError):
            DeviceFile.load(raw[:n])
    # Through the file reader: the message names the file.
    path = write_raw(tmp_path / "t.keys", raw[: len(raw) // 2])
    with pytest.raises(DeviceFileCorruptError) as info:
        read_device_file(path)
    assert str(path) in str(info.value)


def test_truncated_or_extended_ciphertext(good: tuple[Identity, bytes]) -> None:
    _, raw = good
    obj = unpack_plain(raw)
    ct = obj["ciphertext"]
    # Nonce is 24 bytes, MAC 16: cut inside each part, at each boundary, and
    # one byte short; then one byte too many.
    for n in (0, 1, 23, 24, 25, 39, 40, 41, len(ct) // 2, len(ct) - 1):
        obj["ciphertext"] = ct[:n]
        with pytest.raises((WrongPasswordError, DeviceFileCorruptError)):
            load_and_decrypt(pack(obj))
    obj["ciphertext"] = ct + b"\x00"
    with pytest.raises((WrongPasswordError, DeviceFileCorruptError)):
        load_and_decrypt(pack(obj))


def test_bit_flips_in_ciphertext(good: tuple[Identity, bytes]) -> None:
    _, raw = good
    obj = unpack_plain(raw)
    ct = obj["ciphertext"]
    for i in range(len(ct)):
        flipped = bytearray(ct)
        flipped[i] ^= 1 << (i % 8)
        obj["ciphertext"] = bytes(flipped)
        with pytest.raises((WrongPasswordError, DeviceFileCorruptError)):
            load_and_decrypt(pack(obj))


def test_bit_flips_anywhere_in_the_file(good: tuple[Identity, bytes]) -> None:
    """Flip one bit at every byte of the file (two bit positions each): the
    result is a DeviceFileError, or the very same device; never anything else."""
    ident, raw = good
    opened = 0
    for i in range(len(raw)):
        for mask in (0x01, 0x40):
            flipped = bytearray(raw)
            flipped[i] ^= mask
            try:
                device = load_and_decrypt(bytes(flipped))
            except DeviceFileError:
                continue
            opened += 1
            assert device.device_id == ident.device_id
            assert device.user_id == ident.user_id
            assert str(device.organization_id) == ident.org
            assert device.signing_key.encode() == ident.signing_key
    # Flips in cosmetic metadata (dates, labels) still open: the check above ran.
    assert opened > 0


def test_ids_in_metadata_must_match_encrypted_device(good: tuple[Identity, bytes]) -> None:
    ident, raw = good
    for name, value in (
        ("device_id", ext_id(uuid.uuid4())),
        ("user_id", ext_id(uuid.uuid4())),
        ("organization_id", "OtherOrg"),
    ):
        obj = unpack_plain(raw)
        obj[name] = value
        with pytest.raises(DeviceFileCorruptError):
            load_and_decrypt(pack(obj))
    # Same check when the file is sound but wraps another device entirely.
    other = Identity()
    swapped = ident.password_file_map(cleartext=other.local_device_map())
    with pytest.raises(DeviceFileCorruptError):
        load_and_decrypt(swapped)


def test_encrypted_payload_that_is_not_a_device(good: tuple[Identity, bytes]) -> None:
    ident, _ = good
    for cleartext in (
        b"",
        b"\xc1",
        pack({"type": "user_manifest"}),
        pack({**unpack_plain(ident.local_device_map()), "signing_key": b"short"}),
        ident.local_device_map()[:-5],
    ):
        with pytest.raises(DeviceFileCorruptError):
            load_and_decrypt(ident.password_file_map(cleartext=cleartext))


FOREIGN = {
    "empty": b"",
    "random": bytes(random.Random(7).randrange(256) for _ in range(700)),
    "json": json.dumps({"type": "password", "ciphertext": "AAAA"}).encode(),
    "png": PNG_HEADER,
    "text": b"hello, this is not a key file\n",
    "zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00",
    "msgpack-int": pack(42),
    "msgpack-nil": pack(None),
    "other-type": pack({"type": "local_device", "ciphertext": b"x"}),
    "empty-array": pack([]),
    "nested-deep": b"\x91" * 100_000 + b"\xc0",
}


@pytest.mark.parametrize("name", sorted(FOREIGN))
def test_foreign_file(name: str, tmp_path: Path) -> None:
    path = write_raw(paths.devices_dir(tmp_path) / f"{name}.keys", FOREIGN[name])
    with pytest.raises(DeviceFileCorruptError) as info:
        read_device_file(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)
    assert list_device_files(tmp_path) == []


def test_oversized_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "big.keys"
    with open(path, "wb") as fd:
        fd.truncate(64 * 1024 * 1024)
    with pytest.raises(DeviceFileCorruptError):
        read_device_file(path)


def test_totp_protected_file_is_refused_clearly(good: tuple[Identity, bytes]) -> None:
    ident, _ = good
    f = DeviceFile.load(ident.password_file_map(totp=uuid.uuid4()))
    with pytest.raises(UnsupportedDeviceFileError) as info:
        load_device_with_password(f, PASSWORD)
    message = str(info.value)
    assert "one-time code" in message
    assert "official Parsec client" in message


def foreign_protection_file(ident: Identity, kind: str) -> bytes:
    """pki / account_vault / openbao files, from their 3.9.3 schemas."""
    obj: dict[str, Any] = dict(zip(COMMON_KEYS, ident.common_values(kind), strict=True))
    if kind == "pki":
        obj["certificate_ref"] = {"hash": "sha256-" + base64.b64encode(secrets.token_bytes(32)).decode()}
        obj["algorithm"] = "RSAES_OAEP_SHA256"
        obj["encrypted_key"] = secrets.token_bytes(256)
        obj["ciphertext"] = secrets.token_bytes(300)
        obj["totp_opaque_key_id"] = None
    elif kind == "account_vault":
        obj["ciphertext_key_id"] = ext_id(uuid.uuid4())
        obj["ciphertext"] = secrets.token_bytes(300)
        obj["totp_opaque_key_id"] = None
    elif kind == "openbao":
        obj["ciphertext"] = secrets.token_bytes(300)
        obj["openbao_preferred_auth_id"] = "OIDC_HEXAGONE"
        obj["openbao_entity_id"] = str(uuid.uuid4())
        obj["openbao_ciphertext_key_path"] = f"{uuid.uuid4()}/{uuid.uuid4()}"
        obj["totp_opaque_key_id"] = None
    return pack(obj)


@pytest.mark.parametrize(
    "kind,words", [("pki", "smartcard"), ("account_vault", "Parsec account"), ("openbao", "single sign-on")]
)
def test_other_protections_are_unsupported_with_a_clear_message(kind: str, words: str) -> None:
    ident = Identity()
    f = DeviceFile.load(foreign_protection_file(ident, kind))
    assert f.type == kind and f.device_id == ident.device_id
    with pytest.raises(UnsupportedDeviceFileError) as info:
        load_device_with_password(f, PASSWORD)
    message = str(info.value)
    assert words in message and "official Parsec client" in message
    assert "\n" not in message
    with pytest.raises(UnsupportedDeviceFileError):
        f.dump()  # never written by us


def test_unknown_protection_type_is_not_a_device_file() -> None:
    ident = Identity()
    obj = unpack_plain(ident.password_file_map())
    obj["type"] = "quantum"
    with pytest.raises(DeviceFileCorruptError):
        DeviceFile.load(pack(obj))


def test_unknown_password_algorithm() -> None:
    ident = Identity()
    obj = unpack_plain(ident.password_file_map())
    obj["algorithm"]["type"] = "SCRYPT"
    with pytest.raises(UnsupportedDeviceFileError):
        DeviceFile.load(pack(obj))


@pytest.fixture
def no_derivation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any Argon2id derivation fails the test: crafted parameters must be
    refused before a byte is allocated."""
    import cryptography.hazmat.primitives.kdf.argon2 as crypto_argon2

    def forbidden(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("Argon2id was run with crafted parameters")

    monkeypatch.setattr(nacl.pwhash.argon2id, "kdf", forbidden)
    monkeypatch.setattr(crypto_argon2, "Argon2id", forbidden)


@pytest.mark.parametrize(
    "memlimit_kb,opslimit,parallelism",
    [
        (2**32 - 1, 1, 1),  # 4 TiB of memory
        (2**31, 3, 1),
        (131072, 2**32 - 1, 1),  # four billion passes
        (2**24 * 8, 1, 2**24 - 1),  # sixteen million lanes
    ],
)
@pytest.mark.usefixtures("no_derivation")
def test_absurd_argon2id_parameters_refused_before_deriving(memlimit_kb: int, opslimit: int, parallelism: int) -> None:
    ident = Identity()
    raw = ident.password_file_map(algorithm={
        "type": "ARGON2ID", "memlimit_kb": memlimit_kb, "opslimit": opslimit, "parallelism": parallelism,
        "salt": secrets.token_bytes(16),
    })
    f = DeviceFile.load(raw)  # still a device file (listed, as by libparsec)
    with pytest.raises(UnsupportedDeviceFileError) as info:
        load_device_with_password(f, PASSWORD)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "algorithm",
    [
        {"memlimit_kb": 2**40},  # not a u32: libparsec cannot load it either
        {"opslimit": -1},
        {"parallelism": 2**32},
        {"memlimit_kb": True},
        {"salt": b"short salt"},
        {"salt": "a string salt..."},
    ],
    ids=lambda a: "-".join(f"{k}={v!r}"[:24] for k, v in a.items()),
)
@pytest.mark.usefixtures("no_derivation")
def test_malformed_argon2id_parameters_make_the_file_unloadable(algorithm: dict[str, Any]) -> None:
    ident = Identity()
    algo = {"type": "ARGON2ID", "memlimit_kb": 8, "opslimit": 1, "parallelism": 1, "salt": secrets.token_bytes(16)}
    algo.update(algorithm)
    with pytest.raises(DeviceFileCorruptError):
        DeviceFile.load(ident.password_file_map(algorithm=algo))


@pytest.mark.parametrize(
    "memlimit_kb,opslimit,parallelism", [(0, 1, 1), (8, 0, 1), (8, 1, 0), (8, 1, 2), (7, 1, 1)]
)
@pytest.mark.usefixtures("no_derivation")
def test_impossible_argon2id_parameters(memlimit_kb: int, opslimit: int, parallelism: int) -> None:
    ident = Identity()
    f = DeviceFile.load(ident.password_file_map(algorithm={
        "type": "ARGON2ID", "memlimit_kb": memlimit_kb, "opslimit": opslimit, "parallelism": parallelism,
        "salt": secrets.token_bytes(16),
    }))
    with pytest.raises(DeviceFileError) as info:
        load_device_with_password(f, PASSWORD)
    assert not isinstance(info.value, WrongPasswordError)
