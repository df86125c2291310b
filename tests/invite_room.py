"""An in-memory stand-in for the server's side of one invitation's greeting
attempts (the rules of the 3.9.3 server, sheet j.2/j.3), for testing the
greeter and the claimer back to back without a server.

Every request our code sends is loaded with the reference request loaders
(``parsec._parsec``) and every reply given back is loaded with the
reference reply loaders first, so neither side can drift from the protocol.
The real :class:`~parsec_tray.core.invitations.Greeter` and
:class:`~parsec_tray.core.invitations.Claimer` run on top (through
:class:`RoomSession` and :class:`RoomTransport`).
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from parsec._parsec import authenticated_cmds, invited_cmds
from parsec_tray.core import protocol
from parsec_tray.core.invite.driver import Approval
from parsec_tray.core.serialization import packb
from parsec_tray.core.values import DateTime, UserProfile

SIDES = ("GREETER", "CLAIMER")


def step_number(step: Mapping[str, Any]) -> int:
    name = step["step"]
    return 5 if name == "5" else int(name.split("_")[1])


@dataclass
class Attempt:
    id: uuid.UUID
    greeter: uuid.UUID
    joined: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(SIDES, False))
    steps: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {s: [] for s in SIDES})
    cancelled: tuple[str, str] | None = None  # origin, reason


class Room:
    def __init__(self, greeters: list[uuid.UUID]) -> None:
        self.greeters = greeters
        self.cond = threading.Condition()
        self.attempts: dict[uuid.UUID, Attempt] = {}
        self.active: dict[uuid.UUID, uuid.UUID] = {}  # greeter -> attempt
        self.requests: list[tuple[str, Any]] = []  # (family, reference Req)
        self.created: list[tuple[str, dict[str, Any]]] = []
        self.completed = False
        self.starts: dict[str, int] = dict.fromkeys(SIDES, 0)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30) -> None:
        with self.cond:
            assert self.cond.wait_for(predicate, timeout), "the room never reached the awaited state"

    # --- the server's rules ---

    def start(self, side: str, greeter: uuid.UUID) -> dict[str, Any]:
        if greeter not in self.greeters:
            return {"status": "greeter_not_allowed"}
        self.starts[side] += 1
        current = self.attempts.get(self.active.get(greeter, uuid.UUID(int=0)))
        if current is not None and current.cancelled is None and current.joined[side]:
            current.cancelled = (side, "AUTOMATICALLY_CANCELLED")
            current = None
        if current is None or current.cancelled is not None:
            current = Attempt(uuid.uuid4(), greeter)
            self.attempts[current.id] = current
            self.active[greeter] = current.id
        current.joined[side] = True
        return {"status": "ok", "greeting_attempt": current.id}

    def step(self, side: str, attempt_id: uuid.UUID, step: dict[str, Any]) -> dict[str, Any]:
        att = self.attempts.get(attempt_id)
        if att is None:
            return {"status": "greeting_attempt_not_found"}
        if att.cancelled is not None:
            origin, reason = att.cancelled
            return {
                "status": "greeting_attempt_cancelled",
                "origin": origin,
                "reason": reason,
                "timestamp": DateTime.now(),
            }
        if not att.joined[side]:
            return {"status": "greeting_attempt_not_joined"}
        other = SIDES[1 - SIDES.index(side)]
        n, mine, theirs = step_number(step), att.steps[side], att.steps[other]
        if n < len(mine):
            if mine[n] != step:
                return {"status": "step_mismatch"}
        elif n == len(mine) and n <= len(theirs):
            mine.append(step)
        else:
            return {"status": "step_too_advanced"}
        if n < len(theirs):
            return {"status": "ok", f"{other.lower()}_step": theirs[n]}
        return {"status": "not_ready"}

    def cancel(self, side: str, attempt_id: uuid.UUID, reason: str) -> dict[str, Any]:
        att = self.attempts.get(attempt_id)
        if att is None:
            return {"status": "greeting_attempt_not_found"}
        if att.cancelled is not None:
            origin, why = att.cancelled
            return {
                "status": "greeting_attempt_already_cancelled",
                "origin": origin,
                "reason": why,
                "timestamp": DateTime.now(),
            }
        att.cancelled = (side, reason)
        return {"status": "ok"}

    # --- dispatch, checked with the reference loaders both ways ---

    def handle(self, family: str, body: bytes) -> dict[str, Any]:
        mod = {"authenticated": authenticated_cmds, "invited": invited_cmds}[family]
        req = mod.latest.AnyCmdReq.load(body)  # raises if we sent something the reference refuses
        fields = _unpack(body)
        cmd = fields.pop("cmd")
        with self.cond:
            self.requests.append((family, req))
            reply = self._dispatch(cmd, fields)
            self.cond.notify_all()
        getattr(mod.latest, cmd).Rep.load(packb(reply))  # a reply the reference accepts
        return reply

    def _dispatch(self, cmd: str, f: dict[str, Any]) -> dict[str, Any]:
        side = "GREETER" if cmd.startswith("invite_greeter") else "CLAIMER"
        if cmd == "invite_greeter_start_greeting_attempt":
            return self.start("GREETER", self._greeter_of_session)
        if cmd == "invite_claimer_start_greeting_attempt":
            return self.start("CLAIMER", f["greeter"])
        if cmd in ("invite_greeter_step", "invite_claimer_step"):
            return self.step(side, f["greeting_attempt"], f[f"{side.lower()}_step"])
        if cmd in ("invite_greeter_cancel_greeting_attempt", "invite_claimer_cancel_greeting_attempt"):
            return self.cancel(side, f["greeting_attempt"], f["reason"])
        if cmd in ("user_create", "device_create"):
            self.created.append((cmd, f))
            return {"status": "ok"}
        if cmd == "invite_complete":
            self.completed = True
            return {"status": "ok"}
        raise AssertionError(cmd)

    _greeter_of_session: uuid.UUID


def _unpack(body: bytes) -> dict[str, Any]:
    from parsec_tray.core.serialization import unpackb

    out = unpackb(body)
    assert isinstance(out, dict)
    return out


class RoomTransport:
    """In place of :class:`~parsec_tray.core.transport.Transport` for a Claimer."""

    def __init__(self, room: Room) -> None:
        self.room = room

    def command(
        self, family: str, org: Any, body: bytes, headers: Mapping[str, str], *, route: str = ""
    ) -> dict[str, Any]:
        assert family == "invited" and route == "" and headers["Authorization"].startswith("Bearer ")
        return self.room.handle(family, body)

    def close(self) -> None:
        pass


class _RoomClient:
    def __init__(self, room: Room, greeter: uuid.UUID) -> None:
        self.room, self.greeter = room, greeter

    def send(self, cmd: str, **fields: Any) -> dict[str, Any]:
        with self.room.cond:
            self.room._greeter_of_session = self.greeter
            return self.room.handle("authenticated", protocol.encode_request(cmd, **fields))


class RoomSession:
    """In place of a :class:`~parsec_tray.core.session.Session` for a Greeter."""

    def __init__(self, room: Room, device: Any) -> None:
        self.device = device
        self.client = _RoomClient(room, device.user_id)


# --- people who answer as told, each learning the other's code through a queue ---


class ScriptedGreeter:
    def __init__(
        self,
        codes: queue.Queue[str],
        theirs: queue.Queue[str],
        *,
        pick: str = "right",
        profile: UserProfile = UserProfile.STANDARD,
    ) -> None:
        self.codes, self.theirs, self.pick, self.profile = codes, theirs, pick, profile
        self.claims: list[Any] = []

    def show_code(self, code: str) -> None:
        self.codes.put(code)

    def choose_code(self, choices: list[str]) -> str | None:
        right = self.theirs.get(timeout=30)
        assert right in choices
        return _pick(self.pick, right, choices)

    def review(self, claim: Any) -> Approval:
        self.claims.append(claim)
        handle = getattr(claim, "requested_human_handle", None)
        return Approval(claim.requested_device_label, handle, self.profile)


class ScriptedClaimer:
    def __init__(self, codes: queue.Queue[str], theirs: queue.Queue[str], *, pick: str = "right") -> None:
        self.codes, self.theirs, self.pick = codes, theirs, pick
        self.greeters: list[Any] = []

    def choose_code(self, choices: list[str], greeter: Any) -> str | None:
        self.greeters.append(greeter)
        right = self.theirs.get(timeout=30)
        assert right in choices
        return _pick(self.pick, right, choices)

    def show_code(self, code: str) -> None:
        self.codes.put(code)


def _pick(how: str, right: str, choices: list[str]) -> str | None:
    if how == "right":
        return right
    if how == "none":
        return None
    return next(c for c in choices if c != right)
