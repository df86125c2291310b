"""Server-sent events of ``events_listen`` without I/O: bytes in, events out.

Two layers:

- :class:`SSEParser` follows the WHATWG "event stream interpretation"
  algorithm: UTF-8 (BOM dropped), lines ended by CRLF, LF or CR, ``field:value``
  with at most one space dropped after the colon, ``:comment`` lines, a blank
  line dispatching the frame.  It takes chunks split anywhere (inside a
  UTF-8 sequence, between CR and LF) and yields :class:`RawEvent` frames.
- :func:`decode_event` turns a frame into a typed event: ``event:keepalive``
  and ``event:missed_events`` are control frames; a default ("message") frame
  carries ``data:`` = standard base64 (padded) of the msgpack reply
  ``{status:"ok", event:NAME, ...}`` (fact sheet d.4).

Invariants: nothing here raises on what the server sends.  Undecodable
frames (bad base64, bad msgpack, wrong field types, status other than
``ok``) are logged and dropped (``None``); event names we do not model
become :class:`Unknown`.  A line longer than :data:`MAX_LINE` is dropped
instead of growing memory without bound.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import logging
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ProtocolError
from .i18n import N_
from .serialization import unpackb
from .values import AccessToken, DateTime

__all__ = [
    "MAX_FRAME",
    "MAX_LINE",
    "CommonCertificate",
    "Event",
    "EventParser",
    "GreetingAttemptCancelled",
    "GreetingAttemptJoined",
    "GreetingAttemptReady",
    "Invitation",
    "Keepalive",
    "MissedEvents",
    "OrganizationConfig",
    "Pinged",
    "RawEvent",
    "SSEParser",
    "Unknown",
    "decode_event",
]

log = logging.getLogger(__name__)

MAX_LINE = 4 * 1024 * 1024  # the server's biggest event (VLOB) carries < 1 MiB of blob
# A frame is many data: lines; beyond this many characters it is dropped
# whole (an endless frame must not grow memory without bound).
MAX_FRAME = 2 * MAX_LINE


# --- layer 1: the text/event-stream format ------------------------------------


@dataclass(frozen=True)
class RawEvent:
    """One dispatched frame.

    ``id`` is the ``id:`` given *in this frame* (``None`` without one; the
    parser's :attr:`SSEParser.last_event_id` keeps the spec's sticky value).
    """

    event: str  # "message" when the frame has no event: line
    data: str
    id: str | None = None
    retry: int | None = None


class SSEParser:
    """Incremental ``text/event-stream`` parser.

    ``feed(chunk)`` returns the frames completed by ``chunk``; a trailing
    incomplete frame waits for more bytes (and is discarded at end of
    stream, as the spec says).
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        self._first = True  # a BOM may start the stream
        self._pending_cr = False  # last chunk ended with CR: a following LF belongs to it
        self._skipping = False  # inside an over-long line
        self._data: list[str] = []
        self._data_size = 0
        self._frame_too_large = False
        self._event = ""
        self._id: str | None = None  # id: seen in the current frame
        self._retry: int | None = None
        self.last_event_id: str | None = None

    def feed(self, chunk: bytes) -> list[RawEvent]:
        text = self._decoder.decode(chunk)
        if self._first and text:
            self._first = False
            if text.startswith("\ufeff"):
                text = text[1:]
        return list(self._lines(text))

    def _lines(self, text: str) -> Iterator[RawEvent]:
        if self._pending_cr and text:
            self._pending_cr = False
            if text[0] == "\n":
                text = text[1:]
        buf = self._buf + text
        start = 0
        n = len(buf)
        while start < n:
            cr = buf.find("\r", start)
            lf = buf.find("\n", start)
            if cr == -1 and lf == -1:
                break
            end = lf if cr == -1 else cr if lf == -1 else min(cr, lf)
            line = buf[start:end]
            if buf[end] == "\r":
                if end + 1 < n:
                    start = end + 2 if buf[end + 1] == "\n" else end + 1
                else:
                    self._pending_cr = True
                    start = end + 1
            else:
                start = end + 1
            if self._skipping:
                self._skipping = False  # the end of the over-long line
                continue
            ev = self._line(line)
            if ev is not None:
                yield ev
        rest = buf[start:]
        if len(rest) > MAX_LINE:
            log.warning("dropping an event-stream line longer than %d characters", MAX_LINE)
            self._skipping = True
            rest = ""
        elif self._skipping:
            rest = ""
        self._buf = rest

    def _line(self, line: str) -> RawEvent | None:
        if not line:
            return self._dispatch()
        if line[0] == ":":
            return None  # comment
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            if self._frame_too_large:
                return None
            self._data_size += len(value) + 1
            if self._data_size > MAX_FRAME:
                log.warning("dropping an event-stream frame longer than %d characters", MAX_FRAME)
                self._frame_too_large = True
                self._data = []
                return None
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
                self.last_event_id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self._retry = int(value)
        # other field names are ignored
        return None

    def _dispatch(self) -> RawEvent | None:
        data, event, frame_id, retry = self._data, self._event, self._id, self._retry
        self._data, self._event, self._id, self._retry = [], "", None, None
        too_large, self._frame_too_large, self._data_size = self._frame_too_large, False, 0
        if too_large or not data:
            # No data: line at all: the spec dispatches nothing (an id: alone
            # still moved last_event_id).
            return None
        return RawEvent(event or "message", "\n".join(data), frame_id, retry)


# --- layer 2: Parsec's events ------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Event:
    """A server event; ``id`` is its ``id:`` (``None`` for the first
    ORGANIZATION_CONFIG frame and for control frames)."""

    id: str | None = None


@dataclass(frozen=True, kw_only=True)
class OrganizationConfig(Event):
    user_profile_outsider_allowed: bool
    active_users_limit: int | None
    sse_keepalive_seconds: int | None
    realm_minimum_archiving_period_before_deletion: int | None


@dataclass(frozen=True, kw_only=True)
class Invitation(Event):
    token: AccessToken
    invitation_status: str  # PENDING | CANCELLED | FINISHED (others kept as sent)


@dataclass(frozen=True, kw_only=True)
class GreetingAttemptReady(Event):
    token: AccessToken
    greeting_attempt: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class GreetingAttemptJoined(Event):
    token: AccessToken
    greeting_attempt: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class GreetingAttemptCancelled(Event):
    token: AccessToken
    greeting_attempt: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class CommonCertificate(Event):
    timestamp: DateTime


@dataclass(frozen=True, kw_only=True)
class Pinged(Event):
    ping: str


@dataclass(frozen=True, kw_only=True)
class Keepalive(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class MissedEvents(Event):
    """The server could not replay everything since ``Last-Event-ID``:
    state must be re-read (``invite_list``, ``certificate_get``)."""


@dataclass(frozen=True, kw_only=True)
class Unknown(Event):
    """An event this app does not model (VLOB, REALM_CERTIFICATE, a future
    one...), or an unknown ``event:`` control name."""

    name: str
    fields: Mapping[str, Any] = field(default_factory=dict, compare=False)


class _Bad(ValueError):
    pass


def _bool(f: Mapping[str, Any], name: str) -> bool:
    v = f.get(name)
    if not isinstance(v, bool):
        raise _Bad(name)
    return v


def _opt_int(f: Mapping[str, Any], name: str) -> int | None:
    v = f.get(name)
    if v is None:
        return None
    if not isinstance(v, int) or isinstance(v, bool):
        raise _Bad(name)
    return v


def _token(f: Mapping[str, Any]) -> AccessToken:
    v = f.get("token")
    if not isinstance(v, bytes) or len(v) != 16:
        raise _Bad("token")
    return AccessToken(v)


def _uuid(f: Mapping[str, Any], name: str) -> uuid.UUID:
    v = f.get(name)
    if not isinstance(v, uuid.UUID):
        raise _Bad(name)
    return v


def _str(f: Mapping[str, Any], name: str) -> str:
    v = f.get(name)
    if not isinstance(v, str):
        raise _Bad(name)
    return v


def _from_payload(name: str, f: Mapping[str, Any], event_id: str | None) -> Event:
    if name == "ORGANIZATION_CONFIG":
        return OrganizationConfig(
            id=event_id,
            user_profile_outsider_allowed=_bool(f, "user_profile_outsider_allowed"),
            active_users_limit=_opt_int(f, "active_users_limit"),
            sse_keepalive_seconds=_opt_int(f, "sse_keepalive_seconds"),
            realm_minimum_archiving_period_before_deletion=_opt_int(
                f, "realm_minimum_archiving_period_before_deletion"
            ),
        )
    if name == "INVITATION":
        return Invitation(id=event_id, token=_token(f), invitation_status=_str(f, "invitation_status"))
    if name in ("GREETING_ATTEMPT_READY", "GREETING_ATTEMPT_JOINED", "GREETING_ATTEMPT_CANCELLED"):
        cls = {
            "GREETING_ATTEMPT_READY": GreetingAttemptReady,
            "GREETING_ATTEMPT_JOINED": GreetingAttemptJoined,
            "GREETING_ATTEMPT_CANCELLED": GreetingAttemptCancelled,
        }[name]
        return cls(id=event_id, token=_token(f), greeting_attempt=_uuid(f, "greeting_attempt"))
    if name == "COMMON_CERTIFICATE":
        ts = f.get("timestamp")
        if not isinstance(ts, DateTime):
            raise _Bad("timestamp")
        return CommonCertificate(id=event_id, timestamp=ts)
    if name == "PINGED":
        return Pinged(id=event_id, ping=_str(f, "ping"))
    return Unknown(
        id=event_id, name=name, fields={k: v for k, v in f.items() if k not in ("status", "event")}
    )


def decode_event(raw: RawEvent) -> Event | None:
    """The typed event of one frame, or ``None`` (logged) when it cannot be
    understood."""
    if raw.event == "keepalive":
        return Keepalive()
    if raw.event == "missed_events":
        return MissedEvents()
    if raw.event != "message":
        return Unknown(id=raw.id, name=raw.event)
    try:
        payload = base64.b64decode(raw.data.strip(), validate=True)
    except (binascii.Error, ValueError):
        log.warning("ignoring an event whose data is not base64")
        return None
    try:
        obj = unpackb(payload, error=ProtocolError, what=N_("event"))
    except ProtocolError:
        log.warning("ignoring an event whose data is not msgpack")
        return None
    if not isinstance(obj, dict) or obj.get("status") != "ok" or not isinstance(obj.get("event"), str):
        log.warning("ignoring an event without status ok and an event name")
        return None
    name = obj["event"]
    try:
        return _from_payload(name, obj, raw.id)
    except (_Bad, ValueError, TypeError) as exc:
        log.warning("ignoring a %s event with an invalid field (%s)", name, exc)
        return None


class EventParser:
    """:class:`SSEParser` + :func:`decode_event`: bytes in, typed events out."""

    def __init__(self) -> None:
        self._sse = SSEParser()

    @property
    def last_event_id(self) -> str | None:
        return self._sse.last_event_id

    def feed(self, chunk: bytes) -> list[Event]:
        out: list[Event] = []
        for raw in self._sse.feed(chunk):
            ev = decode_event(raw)
            if ev is not None:
                out.append(ev)
        return out
