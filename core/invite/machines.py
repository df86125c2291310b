"""The greeter and the claimer of a greeting attempt, as two small state
machines without I/O (fact sheet j.4, j.5).

Each machine says which step to submit next (:attr:`step`, identical every
time it is asked until the state changes, so the driver can re-send it
until the server answers ``ok``) and takes the peer's step of the same
number (:meth:`receive`).  The person's decisions are events too (the code
they chose, the claim, the confirmation).  Every transition is one row of
the machine's table ``(state, event) -> state``; an event the table does
not list raises :class:`~parsec_tray.core.errors.GreetingStateError` and
leaves the state unchanged.  States are named after what the party knows.

A peer step that is not the expected one raises
:class:`~parsec_tray.core.errors.ProtocolError` (state unchanged); a peer
step that shows cheating or corruption (nonce not matching its hash,
undecipherable payload) moves to ``cancelled`` with :attr:`cancel_reason`
set, for the driver to tell the server.  A wrong code chosen by the person
does the same with ``INVALID_SAS_CODE``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, ClassVar

from ..crypto import PrivateKey, PublicKey, SecretKey, SigningKey
from ..errors import GreetingStateError, ProtocolError
from ..i18n import _
from ..values import DeviceLabel, HumanHandle
from . import sas
from .payloads import DeviceClaim, DeviceConfirmation, PayloadError, UserClaim, UserConfirmation

__all__ = ["ClaimerMachine", "ClaimerState", "GreeterMachine", "GreeterState"]


class GreeterState(StrEnum):
    KNOW_NOTHING = "know_nothing"  # submit 0: our public key
    KNOW_PEER_KEY = "know_peer_key"  # submit 1: ask for the claimer's committed nonce
    KNOW_PEER_COMMITMENT = "know_peer_commitment"  # submit 2: our nonce
    NONCE_SENT = "nonce_sent"  # submit 3: ask for the claimer's nonce
    KNOW_SAS = "know_sas"  # show our code; submit 4: wait for the claimer's trust
    TRUSTED_BY_PEER = "trusted_by_peer"  # the person checks the claimer's code
    TRUSTED = "trusted"  # submit 5: say we trust the claimer
    PEER_KNOWS_TRUST = "peer_knows_trust"  # submit 6: ask for the claim
    KNOW_CLAIM = "know_claim"  # the person reviews; the driver creates the certificates
    CONFIRMED = "confirmed"  # submit 7: the confirmation
    CONFIRMATION_SENT = "confirmation_sent"  # submit 8: wait for the acknowledgement
    DONE = "done"
    CANCELLED = "cancelled"


class ClaimerState(StrEnum):
    KNOW_NOTHING = "know_nothing"  # submit 0: our public key
    KNOW_PEER_KEY = "know_peer_key"  # submit 1: the hash of our nonce
    NONCE_COMMITTED = "nonce_committed"  # submit 2: ask for the greeter's nonce
    KNOW_PEER_NONCE = "know_peer_nonce"  # submit 3: reveal our nonce
    KNOW_SAS = "know_sas"  # the person checks the greeter's code
    TRUSTS_PEER = "trusts_peer"  # submit 4: say we trust the greeter
    PEER_KNOWS_TRUST = "peer_knows_trust"  # show our code; submit 5: wait for the greeter's trust
    TRUSTED = "trusted"  # the person gives the claim (name, label)
    CLAIM_MADE = "claim_made"  # submit 6: the claim
    CLAIM_SENT = "claim_sent"  # submit 7: ask for the confirmation
    CONFIRMED = "confirmed"  # submit 8 once: acknowledge
    DONE = "done"
    CANCELLED = "cancelled"


# The events besides "reply" (the peer's step of the current number).
CODE_RIGHT, CODE_WRONG, BAD_PEER, CANCEL = "code_right", "code_wrong", "bad_peer", "cancel"
CLAIM, CONFIRM, ACKNOWLEDGED, REPLY = "claim", "confirm", "acknowledged", "reply"


def _cancellable(states: type[StrEnum], done: StrEnum, cancelled: StrEnum) -> dict[tuple[str, str], str]:
    return {(s, CANCEL): cancelled for s in states if s not in (done, cancelled)}


class _Machine:
    """What both machines share: the table walk and the step bookkeeping."""

    # (state, event) -> next state
    TABLE: ClassVar[Mapping[tuple[str, str], str]]
    # state -> (step number, our step's name, the peer step's name expected back)
    STEPS: ClassVar[Mapping[str, tuple[int, str, str]]]
    CANCELLED: ClassVar[str]
    i_am_greeter: ClassVar[bool]

    def __init__(self) -> None:
        self.state: str = "know_nothing"
        self.cancel_reason: str | None = None
        self._private_key = PrivateKey.generate()  # one fresh pair per attempt
        self._shared_key: SecretKey | None = None
        self.claimer_sas: str | None = None
        self.greeter_sas: str | None = None

    def _fire(self, event: str) -> None:
        nxt = self.TABLE.get((self.state, event))
        if nxt is None:
            raise GreetingStateError(
                _("A greeting in state {state!r} cannot take the event {event!r}.").format(
                    state=self.state, event=event
                )
            )
        self.state = nxt

    def _allow(self, event: str) -> None:
        if (self.state, event) not in self.TABLE:
            raise GreetingStateError(
                _("A greeting in state {state!r} cannot take the event {event!r}.").format(
                    state=self.state, event=event
                )
            )

    @property
    def step_number(self) -> int | None:
        row = self.STEPS.get(self.state)
        return row[0] if row else None

    @property
    def step(self) -> dict[str, Any] | None:
        """The step to submit now (``None`` while a decision is awaited or
        once finished)."""
        row = self.STEPS.get(self.state)
        if row is None:
            return None
        return {"step": row[1], **self._fields(self.state)}

    def _fields(self, state: str) -> dict[str, Any]:
        raise NotImplementedError

    def _on_reply(self, state: str, peer: Mapping[str, Any]) -> None:
        """Take the peer step's fields (already known to be the right step)."""

    def receive(self, peer_step: Mapping[str, Any]) -> None:
        """The peer's step of the number we submitted."""
        self._allow(REPLY)
        _number, _submitted, expected = self.STEPS[self.state]
        if peer_step.get("step") != expected:
            raise ProtocolError(
                _("The other side sent the greeting step {step!r} instead of {expected!r}.").format(
                    step=peer_step.get("step"), expected=expected
                )
            )
        self._on_reply(self.state, peer_step)
        self._fire(REPLY)

    def cancel(self, reason: str = "MANUALLY_CANCELLED") -> None:
        self._fire(CANCEL)
        self.cancel_reason = reason

    def _bad_peer(self, reason: str) -> None:
        self._fire(BAD_PEER)
        self.cancel_reason = reason

    @property
    def is_cancelled(self) -> bool:
        return self.state == self.CANCELLED

    @property
    def shared_key(self) -> SecretKey:
        if self._shared_key is None:
            raise GreetingStateError(_("The shared key is not known before step 0."))
        return self._shared_key

    def _take_peer_key(self, peer: Mapping[str, Any]) -> None:
        raw = peer.get("public_key")
        if not isinstance(raw, bytes) or len(raw) != 32:
            raise ProtocolError(_("The other side's public key is not valid."))
        self._shared_key = sas.shared_secret_key(
            self._private_key, PublicKey(raw), i_am_greeter=self.i_am_greeter
        )

    def _choose(self, right: str | None, chosen: str | None) -> bool:
        """The person's choice among the codes; ``None``: none of these."""
        self._allow(CODE_RIGHT)
        if chosen is not None and right is not None and hmac.compare_digest(chosen.upper(), right):
            self._fire(CODE_RIGHT)
            return True
        self._fire(CODE_WRONG)
        self.cancel_reason = "INVALID_SAS_CODE"
        return False


def _bytes_field(peer: Mapping[str, Any], name: str, size: int | None = None) -> bytes:
    value = peer.get(name)
    if not isinstance(value, bytes) or (size is not None and len(value) != size):
        raise ProtocolError(_("The other side's {field} is not valid.").format(field=name.replace("_", " ")))
    return value


G = GreeterState


class GreeterMachine(_Machine):
    """The administrator's (user invitation) or the user's own device's side."""

    CANCELLED = G.CANCELLED
    i_am_greeter = True
    STEPS: ClassVar[Mapping[str, tuple[int, str, str]]] = {
        G.KNOW_NOTHING: (0, "NUMBER_0_WAIT_PEER", "NUMBER_0_WAIT_PEER"),
        G.KNOW_PEER_KEY: (1, "NUMBER_1_GET_HASHED_NONCE", "NUMBER_1_SEND_HASHED_NONCE"),
        G.KNOW_PEER_COMMITMENT: (2, "NUMBER_2_SEND_NONCE", "NUMBER_2_GET_NONCE"),
        G.NONCE_SENT: (3, "NUMBER_3_GET_NONCE", "NUMBER_3_SEND_NONCE"),
        G.KNOW_SAS: (4, "NUMBER_4_WAIT_PEER_TRUST", "NUMBER_4_SIGNIFY_TRUST"),
        G.TRUSTED: (5, "5", "NUMBER_5_WAIT_PEER_TRUST"),  # sic: libparsec's discriminant is "5"
        G.PEER_KNOWS_TRUST: (6, "NUMBER_6_GET_PAYLOAD", "NUMBER_6_SEND_PAYLOAD"),
        G.CONFIRMED: (7, "NUMBER_7_SEND_PAYLOAD", "NUMBER_7_GET_PAYLOAD"),
        G.CONFIRMATION_SENT: (8, "NUMBER_8_WAIT_PEER_ACKNOWLEDGMENT", "NUMBER_8_ACKNOWLEDGE"),
    }
    TABLE: ClassVar[Mapping[tuple[str, str], str]] = {
        (G.KNOW_NOTHING, REPLY): G.KNOW_PEER_KEY,
        (G.KNOW_PEER_KEY, REPLY): G.KNOW_PEER_COMMITMENT,
        (G.KNOW_PEER_COMMITMENT, REPLY): G.NONCE_SENT,
        (G.NONCE_SENT, REPLY): G.KNOW_SAS,
        (G.NONCE_SENT, BAD_PEER): G.CANCELLED,  # the nonce does not match its hash
        (G.KNOW_SAS, REPLY): G.TRUSTED_BY_PEER,
        (G.TRUSTED_BY_PEER, CODE_RIGHT): G.TRUSTED,
        (G.TRUSTED_BY_PEER, CODE_WRONG): G.CANCELLED,
        (G.TRUSTED, REPLY): G.PEER_KNOWS_TRUST,
        (G.PEER_KNOWS_TRUST, REPLY): G.KNOW_CLAIM,
        (G.PEER_KNOWS_TRUST, BAD_PEER): G.CANCELLED,  # the claim cannot be read
        (G.KNOW_CLAIM, CONFIRM): G.CONFIRMED,
        (G.CONFIRMED, REPLY): G.CONFIRMATION_SENT,
        (G.CONFIRMATION_SENT, REPLY): G.DONE,
        **_cancellable(G, G.DONE, G.CANCELLED),
    }

    def __init__(self, *, is_user_invitation: bool) -> None:
        super().__init__()
        self.is_user_invitation = is_user_invitation
        self._nonce = sas.generate_nonce()
        self._peer_hashed_nonce: bytes | None = None
        self.claim: UserClaim | DeviceClaim | None = None
        self._confirmation_payload: bytes | None = None

    def _fields(self, state: str) -> dict[str, Any]:
        if state == G.KNOW_NOTHING:
            return {"public_key": self._private_key.public_key.encode()}
        if state == G.KNOW_PEER_COMMITMENT:
            return {"greeter_nonce": self._nonce}
        if state == G.CONFIRMED:
            return {"greeter_payload": self._confirmation_payload}
        return {}

    def _on_reply(self, state: str, peer: Mapping[str, Any]) -> None:
        if state == G.KNOW_NOTHING:
            self._take_peer_key(peer)
        elif state == G.KNOW_PEER_KEY:
            self._peer_hashed_nonce = _bytes_field(peer, "hashed_nonce", 32)
        elif state == G.NONCE_SENT:
            claimer_nonce = _bytes_field(peer, "claimer_nonce")
            assert self._peer_hashed_nonce is not None
            if not hmac.compare_digest(sas.hash_nonce(claimer_nonce), self._peer_hashed_nonce):
                self._bad_peer("INVALID_NONCE_HASH")
                raise PayloadError(
                    _("The other side's nonce does not match its commitment."), reason="INVALID_NONCE_HASH"
                )
            self.claimer_sas, self.greeter_sas = sas.sas_codes(claimer_nonce, self._nonce, self.shared_key)
        elif state == G.PEER_KNOWS_TRUST:
            payload = _bytes_field(peer, "claimer_payload")
            kind: type[UserClaim] | type[DeviceClaim] = UserClaim if self.is_user_invitation else DeviceClaim
            try:
                self.claim = kind.decrypt(self.shared_key, payload)
            except PayloadError as exc:
                self._bad_peer(exc.reason)
                raise

    def claimer_code_choices(self, count: int = 4) -> list[str]:
        """The claimer's code among decoys, for the person to pick (once the
        claimer trusts us)."""
        self._allow(CODE_RIGHT)
        assert self.claimer_sas is not None
        return sas.sas_choices(self.claimer_sas, count)

    def choose_claimer_code(self, chosen: str | None) -> bool:
        """The code the person picked (``None``: none of these); a wrong one
        cancels with ``INVALID_SAS_CODE``."""
        return self._choose(self.claimer_sas, chosen)

    def confirm(self, confirmation: UserConfirmation | DeviceConfirmation) -> None:
        """The certificates are on the server: send what was created."""
        self._allow(CONFIRM)
        wanted = UserConfirmation if self.is_user_invitation else DeviceConfirmation
        if not isinstance(confirmation, wanted):
            raise GreetingStateError(_("This greeting needs a {wanted}.").format(wanted=wanted.__name__))
        self._confirmation_payload = confirmation.encrypt(self.shared_key)
        self._fire(CONFIRM)


C = ClaimerState


class ClaimerMachine(_Machine):
    """The side that joins: a new user, or a new device of a user."""

    CANCELLED = C.CANCELLED
    i_am_greeter = False
    STEPS: ClassVar[Mapping[str, tuple[int, str, str]]] = {
        C.KNOW_NOTHING: (0, "NUMBER_0_WAIT_PEER", "NUMBER_0_WAIT_PEER"),
        C.KNOW_PEER_KEY: (1, "NUMBER_1_SEND_HASHED_NONCE", "NUMBER_1_GET_HASHED_NONCE"),
        C.NONCE_COMMITTED: (2, "NUMBER_2_GET_NONCE", "NUMBER_2_SEND_NONCE"),
        C.KNOW_PEER_NONCE: (3, "NUMBER_3_SEND_NONCE", "NUMBER_3_GET_NONCE"),
        C.TRUSTS_PEER: (4, "NUMBER_4_SIGNIFY_TRUST", "NUMBER_4_WAIT_PEER_TRUST"),
        C.PEER_KNOWS_TRUST: (5, "NUMBER_5_WAIT_PEER_TRUST", "5"),
        C.CLAIM_MADE: (6, "NUMBER_6_SEND_PAYLOAD", "NUMBER_6_GET_PAYLOAD"),
        C.CLAIM_SENT: (7, "NUMBER_7_GET_PAYLOAD", "NUMBER_7_SEND_PAYLOAD"),
        C.CONFIRMED: (8, "NUMBER_8_ACKNOWLEDGE", "NUMBER_8_WAIT_PEER_ACKNOWLEDGMENT"),
    }
    TABLE: ClassVar[Mapping[tuple[str, str], str]] = {
        (C.KNOW_NOTHING, REPLY): C.KNOW_PEER_KEY,
        (C.KNOW_PEER_KEY, REPLY): C.NONCE_COMMITTED,
        (C.NONCE_COMMITTED, REPLY): C.KNOW_PEER_NONCE,
        (C.KNOW_PEER_NONCE, REPLY): C.KNOW_SAS,
        (C.KNOW_SAS, CODE_RIGHT): C.TRUSTS_PEER,
        (C.KNOW_SAS, CODE_WRONG): C.CANCELLED,
        (C.TRUSTS_PEER, REPLY): C.PEER_KNOWS_TRUST,
        (C.PEER_KNOWS_TRUST, REPLY): C.TRUSTED,
        (C.TRUSTED, CLAIM): C.CLAIM_MADE,
        (C.CLAIM_MADE, REPLY): C.CLAIM_SENT,
        (C.CLAIM_SENT, REPLY): C.CONFIRMED,
        (C.CLAIM_SENT, BAD_PEER): C.CANCELLED,  # the confirmation cannot be read
        # Step 8 is submitted once, without waiting: the greeter may complete
        # the invitation (and the server forget the attempt) right after.
        (C.CONFIRMED, REPLY): C.DONE,
        (C.CONFIRMED, ACKNOWLEDGED): C.DONE,
        **_cancellable(C, C.DONE, C.CANCELLED),
    }

    def __init__(self, *, is_user_invitation: bool) -> None:
        super().__init__()
        self.is_user_invitation = is_user_invitation
        self._nonce = sas.generate_nonce()
        self._claim_payload: bytes | None = None
        # The new device's keys (and, for a new user, the user's), made with the claim.
        self.signing_key: SigningKey | None = None
        self.user_private_key: PrivateKey | None = None
        self.confirmation: UserConfirmation | DeviceConfirmation | None = None

    def _fields(self, state: str) -> dict[str, Any]:
        if state == C.KNOW_NOTHING:
            return {"public_key": self._private_key.public_key.encode()}
        if state == C.KNOW_PEER_KEY:
            return {"hashed_nonce": sas.hash_nonce(self._nonce)}
        if state == C.KNOW_PEER_NONCE:
            return {"claimer_nonce": self._nonce}
        if state == C.CLAIM_MADE:
            return {"claimer_payload": self._claim_payload}
        return {}

    def _on_reply(self, state: str, peer: Mapping[str, Any]) -> None:
        if state == C.KNOW_NOTHING:
            self._take_peer_key(peer)
        elif state == C.NONCE_COMMITTED:
            greeter_nonce = _bytes_field(peer, "greeter_nonce")
            self.claimer_sas, self.greeter_sas = sas.sas_codes(self._nonce, greeter_nonce, self.shared_key)
        elif state == C.CLAIM_SENT:
            payload = _bytes_field(peer, "greeter_payload")
            kind: Callable[[SecretKey, bytes], UserConfirmation | DeviceConfirmation] = (
                UserConfirmation.decrypt if self.is_user_invitation else DeviceConfirmation.decrypt
            )
            try:
                self.confirmation = kind(self.shared_key, payload)
            except PayloadError as exc:
                self._bad_peer(exc.reason)
                raise

    @property
    def own_code(self) -> str:
        """Our code, to read to the greeter (only once we trust it)."""
        if self.state not in (C.PEER_KNOWS_TRUST, C.TRUSTS_PEER) or self.claimer_sas is None:
            raise GreetingStateError(_("The claimer shows its code only after trusting the greeter."))
        return self.claimer_sas

    def greeter_code_choices(self, count: int = 4) -> list[str]:
        self._allow(CODE_RIGHT)
        assert self.greeter_sas is not None
        return sas.sas_choices(self.greeter_sas, count)

    def choose_greeter_code(self, chosen: str | None) -> bool:
        return self._choose(self.greeter_sas, chosen)

    def make_claim(self, device_label: DeviceLabel, human_handle: HumanHandle | None = None) -> None:
        """The new device's (and user's) keys and the request: the
        ``human_handle`` for a user invitation, none for a device."""
        self._allow(CLAIM)
        signing_key = SigningKey.generate()
        claim: UserClaim | DeviceClaim
        if self.is_user_invitation:
            if human_handle is None:
                raise GreetingStateError(_("A user claim needs the person's name and email."))
            user_key = PrivateKey.generate()
            claim = UserClaim(device_label, human_handle, user_key.public_key, signing_key.verify_key)
            self.user_private_key = user_key
        else:
            claim = DeviceClaim(device_label, signing_key.verify_key)
        self._claim_payload = claim.encrypt(self.shared_key)
        self.signing_key = signing_key
        self._fire(CLAIM)

    def acknowledged(self) -> None:
        """Step 8 was submitted (the greeter's reply is not awaited)."""
        self._fire(ACKNOWLEDGED)
