"""msgpack as Parsec v3 writes it, and the ``0x00 + zstd`` envelope.

Invariants:
- ext type 1 is a :class:`DateTime` (i64 big-endian microseconds, UTC);
  ext type 2 is a 16-byte id, decoded to :class:`uuid.UUID`.
- ``bin`` stays ``bytes`` and ``str`` stays ``str`` (``use_bin_type=True``,
  ``raw=False``); map keys may be ext values (``strict_map_key=False``).
- Structures are maps; readers also accept the legacy array form (fields in
  schema order) through :func:`as_fields`.
- Every decoding failure is raised as :class:`ValueError` subclasses of our
  own tree by the caller's choice (``error`` argument), never as a msgpack or
  zstandard exception.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import msgpack
import zstandard

from .errors import ParsecTrayError, ProtocolError
from .i18n import N_, _
from .values import DateTime

__all__ = [
    "as_fields",
    "format_v0_dump",
    "format_v0_load",
    "packb",
    "unpackb",
]

_EXT_DATETIME = 1
_EXT_UUID = 2
_MAX_DECOMPRESSED = 16 * 1024 * 1024


def _default(obj: Any) -> Any:
    if isinstance(obj, DateTime):
        return msgpack.ExtType(_EXT_DATETIME, struct.pack(">q", obj.us))
    if isinstance(obj, uuid.UUID):
        return msgpack.ExtType(_EXT_UUID, obj.bytes)
    raise TypeError(f"cannot serialize {type(obj).__name__}")


def _ext_hook(code: int, data: bytes) -> Any:
    if code == _EXT_DATETIME:
        if len(data) != 8:
            raise ValueError("bad datetime extension")
        return DateTime(struct.unpack(">q", data)[0])
    if code == _EXT_UUID:
        if len(data) != 16:
            raise ValueError("bad uuid extension")
        return uuid.UUID(bytes=data)
    return msgpack.ExtType(code, data)


def packb(obj: Any) -> bytes:
    """Serialize ``obj`` with Parsec's extension types."""
    out = msgpack.packb(obj, default=_default, use_bin_type=True)
    assert isinstance(out, bytes)
    return out


def unpackb(data: bytes, *, error: type[ParsecTrayError] = ProtocolError, what: str = N_("data")) -> Any:
    """Deserialize one msgpack document; trailing bytes are an error."""
    try:
        return msgpack.unpackb(
            data,
            ext_hook=_ext_hook,
            raw=False,
            strict_map_key=False,
            timestamp=0,
        )
    except (ValueError, TypeError, msgpack.UnpackException, msgpack.ExtraData, UnicodeDecodeError, RecursionError) as exc:
        raise error(
            _("The {what} is not valid msgpack ({reason}).").format(what=_(what), reason=type(exc).__name__)
        ) from None


def format_v0_dump(obj: Mapping[str, Any]) -> bytes:
    """``0x00 || zstd(msgpack(obj))``: certificates and invitation payloads."""
    # A streaming frame without content size, as the official writer emits.
    cctx = zstandard.ZstdCompressor(level=3, write_content_size=False)
    compressed = cctx.compress(packb(obj))
    return b"\x00" + compressed


def format_v0_load(
    data: bytes, *, error: type[ParsecTrayError] = ProtocolError, what: str = N_("data")
) -> Any:
    if not data or data[0] != 0:
        raise error(_("The {what} has an unknown format version.").format(what=_(what)))
    try:
        raw = _zstd_decompress(bytes(data[1:]))
    except zstandard.ZstdError:
        raise error(_("The {what} is not a valid compressed document.").format(what=_(what))) from None
    return unpackb(raw, error=error, what=what)


# Compressed bytes handed to zstd at a time: one step then yields at most a
# few MiB (a block never exceeds 128 KiB), so the size limit below is checked
# before a small "bomb" can fill the memory.
_ZSTD_STEP = 256


def _zstd_decompress(body: bytes) -> bytes:
    """All the frames of ``body`` (like zstd's ``decode_all``): frames without
    content size, truncated frames and trailing garbage handled."""
    out = bytearray()
    while True:
        dobj = zstandard.ZstdDecompressor().decompressobj()
        pos = 0
        while not dobj.eof:
            if pos >= len(body):
                raise zstandard.ZstdError("truncated frame")
            out += dobj.decompress(body[pos : pos + _ZSTD_STEP])
            pos += _ZSTD_STEP
            if len(out) > _MAX_DECOMPRESSED:
                raise zstandard.ZstdError("too large")
        body = dobj.unused_data + body[pos:]
        if not body:
            return bytes(out)


def as_fields(
    obj: Any,
    names: Sequence[str],
    *,
    required: Sequence[str] = (),
    error: type[ParsecTrayError] = ProtocolError,
    what: str = N_("data"),
) -> dict[str, Any]:
    """Return a ``{name: value}`` view of a struct in map or array form.

    In array form the fields come in schema order; trailing fields added by
    later revisions may be missing.  ``required`` names must be present.
    """
    if isinstance(obj, Mapping):
        fields = {k: obj[k] for k in names if k in obj}
    elif isinstance(obj, (list, tuple)):
        if len(obj) > len(names):
            raise error(_("The {what} has too many fields.").format(what=_(what)))
        fields = dict(zip(names, obj, strict=False))  # later revisions add trailing fields
    else:
        raise error(_("The {what} is not a structure.").format(what=_(what)))
    missing = [k for k in required if k not in fields]
    if missing:
        raise error(_("The {what} lacks the field {field!r}.").format(what=_(what), field=missing[0]))
    return fields
