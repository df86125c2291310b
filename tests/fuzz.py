"""Seeded fuzzers for device files and links, shared by the tests (a few
thousand cases) and ``benchmarks/nothing_lost.py`` (10,000 of each).

A *Python error* is any exception that is not a
:class:`~parsec_tray.core.errors.ParsecTrayError`: what a person would see
as "unexpected TypeError".
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
from parsec_tray.core import addr
from parsec_tray.core.devices import read_device_file
from parsec_tray.core.errors import ParsecTrayError
from parsec_tray.core.flows import DeviceInfo

__all__ = ["fuzz_device_files", "fuzz_links", "mutate_bytes", "mutate_device_file", "mutate_link"]

SMALL = [b"\x91\x90", b"\x90", b"\x80", b"\xc0", b"\x81\xa4type\x90", b"\x81\xa4type\x80", b"\x92\x90\x90",
         b"\x91\x80", b"\x81\xc0\xc0", b"\xd4\x01\x00", b"\xc7\x08\x01" + bytes(8)]


def _value(rng: random.Random, depth: int = 0) -> Any:
    kinds = ["int", "neg", "big", "str", "bytes", "nil", "bool", "float", "list", "map", "ext", "uuid"]
    kind = rng.choice(kinds if depth < 3 else kinds[:8])
    if kind == "int":
        return rng.randrange(0, 2**32)
    if kind == "neg":
        return -rng.randrange(1, 2**63)
    if kind == "big":
        return rng.randrange(2**32, 2**64)
    if kind == "str":
        return "".join(chr(rng.randrange(0, 0x2FFF)) for _ in range(rng.randrange(0, 40)))
    if kind == "bytes":
        return rng.randbytes(rng.randrange(0, 64))
    if kind == "nil":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "float":
        return rng.choice([0.0, -1.5, float("nan"), float("inf"), 1e308])
    if kind == "list":
        return [_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    if kind == "map":
        return {_value(rng, 3) if rng.random() < 0.3 else f"k{i}": _value(rng, depth + 1) for i in range(rng.randrange(0, 4))}
    if kind == "ext":
        return msgpack.ExtType(rng.randrange(0, 128), rng.randbytes(rng.choice([0, 1, 8, 9, 16])))
    return msgpack.ExtType(2, uuid.uuid4().bytes)


def _pack(obj: Any) -> bytes:
    try:
        return msgpack.packb(obj, use_bin_type=True)
    except (TypeError, ValueError, OverflowError):
        return msgpack.packb(None)


def mutate_bytes(rng: random.Random, raw: bytes) -> bytes:
    data = bytearray(raw)
    choice = rng.randrange(5)
    if choice == 0 and data:  # flip bits
        for _ in range(rng.randrange(1, 9)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif choice == 1:  # truncate
        del data[rng.randrange(len(data) + 1):]
    elif choice == 2:  # insert
        at = rng.randrange(len(data) + 1)
        data[at:at] = rng.randbytes(rng.randrange(1, 16))
    elif choice == 3 and data:  # set a byte to a msgpack marker
        data[rng.randrange(len(data))] = rng.choice([0x90, 0x91, 0x80, 0x81, 0xC0, 0xC4, 0xD4, 0xD9, 0xDC, 0xDE, 0xFF])
    else:  # a short foreign file
        return rng.choice(SMALL) if rng.random() < 0.5 else rng.randbytes(rng.randrange(0, 12))
    return bytes(data)


def mutate_device_file(rng: random.Random, raw: bytes) -> bytes:
    """A mutation of the valid device file ``raw``: bytes, or structure."""
    if rng.random() < 0.5:
        return mutate_bytes(rng, raw)
    obj = msgpack.unpackb(raw, raw=False, strict_map_key=False)
    assert isinstance(obj, dict)
    keys = list(obj)
    op = rng.randrange(4)
    if op == 0:
        obj[rng.choice(keys)] = _value(rng)
    elif op == 1:
        del obj[rng.choice(keys)]
    elif op == 2 and isinstance(obj.get("algorithm"), dict):
        algo = obj["algorithm"]
        algo[rng.choice(list(algo))] = _value(rng)
    else:
        as_list = [obj[k] for k in keys]
        as_list[rng.randrange(len(as_list))] = _value(rng)
        return _pack(as_list)  # the 3.0 array form
    return _pack(obj)


def fuzz_device_files(n: int, seed: int, valid: bytes, folder: Path) -> tuple[int, list[str]]:
    """``n`` mutations of ``valid`` read as files (and, when they load,
    listed and described); returns (files that loaded, Python errors)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    loaded, errors = 0, []
    path = folder / "fuzz.keys"
    for i in range(n):
        data = mutate_device_file(rng, valid)
        path.write_bytes(data)
        try:
            f = read_device_file(path)
            info = DeviceInfo.from_file(path, f)
            info.describe()
            info.to_json()
            loaded += 1
        except ParsecTrayError:
            pass
        except Exception as exc:  # noqa: BLE001 - what we count
            errors.append(f"case {i} ({data[:40].hex()}): {type(exc).__name__}: {exc}")
    return loaded, errors


VALID_LINKS = [
    "parsec3://parsec.example.com/Org?a=bootstrap_organization&p=xBCgAAAAAAAAAAAAAAAAAAAB",
    "parsec3://127.0.0.1:6770/My-Org?no_ssl=true&a=bootstrap_organization&p=xBCgAAAAAAAAAAAAAAAAAAAB",
    "https://parsec.example.com/redirect/Org?a=bootstrap_organization&p=xBCgAAAAAAAAAAAAAAAAAAAB",
    "parsec3://parsec.example.com/Org?a=claim_user&p=xBCgAAAAAAAAAAAAAAAAAAAB",
    "parsec3://parsec.example.com/Org?a=claim_device&p=xBCgAAAAAAAAAAAAAAAAAAAB",
    "parsec3://parsec.example.com:443/Org?p=xCCgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",
    "parsec3://[::1]:6770?no_ssl=true",
    "http://127.0.0.1:6770",
]
ALPHABET = "aZ09-_.~:/?#[]@!$&'()*+,;=%% \t\n\x00éλ\u202e\ufeff" + "".join(chr(c) for c in range(0x20, 0x7F))


def mutate_link(rng: random.Random, link: str) -> str:
    s = list(link)
    for _ in range(rng.randrange(1, 5)):
        op = rng.randrange(5)
        at = rng.randrange(len(s) + 1)
        if op == 0 and s:
            s[min(at, len(s) - 1)] = rng.choice(ALPHABET)
        elif op == 1:
            s.insert(at, rng.choice(["%", "%00", "%zz", "%ff", "@", "[", "]", ":", "::", "?", "&", "=", "#",
                                     "\\", "//", "p=", "a=", "no_ssl=", "xn--", "%2F", "-" * 40, "9" * 12]))
        elif op == 2:
            del s[at:]
        elif op == 3 and s:
            del s[min(at, len(s) - 1)]
        else:
            s.insert(at, chr(rng.randrange(0, 0x10FFFF)) if rng.random() < 0.2 else rng.choice(ALPHABET))
    return "".join(c for c in "".join(s) if not 0xD800 <= ord(c) <= 0xDFFF)


PARSERS: list[Callable[[str], Any]] = [
    addr.parse_link,
    addr.parse_server,
    addr.ParsecOrganizationBootstrapAddr.parse,
    addr.ParsecInvitationAddr.parse,
    addr.ParsecOrganizationAddr.parse,
]


def fuzz_links(n: int, seed: int) -> tuple[int, list[str]]:
    """``n`` mutated links through every parser; returns (parsed, Python errors)."""
    rng = random.Random(seed)
    parsed, errors = 0, []
    for i in range(n):
        link = mutate_link(rng, rng.choice(VALID_LINKS))
        for parse in PARSERS:
            try:
                result = parse(link)
                getattr(result, "to_url", lambda: None)()
                parsed += 1
            except ParsecTrayError:
                pass
            except Exception as exc:  # noqa: BLE001 - what we count
                errors.append(f"case {i} {parse.__qualname__}({link!r}): {type(exc).__name__}: {exc}")
    return parsed, errors
