"""Greeting and claiming (the SAS ceremony of Parsec invitations).

- :mod:`.sas`: the key agreement and the codes, pure functions;
- :mod:`.payloads`: the encrypted claim and confirmation;
- :mod:`.machines`: the greeter and the claimer as table-driven state
  machines, without I/O;
- :mod:`.driver`: the I/O: polling, retries, several administrators at
  once, certificates, the claimer's device file.
"""

from __future__ import annotations

from .driver import (
    Approval,
    ClaimDetails,
    ClaimerUI,
    Greeted,
    GreeterUI,
    claim,
    find_invitation,
    greet,
    keep_claimed_device,
)
from .machines import ClaimerMachine, ClaimerState, GreeterMachine, GreeterState
from .payloads import DeviceClaim, DeviceConfirmation, UserClaim, UserConfirmation
from .sas import pick_choice, sas_choices, sas_codes

__all__ = [
    "Approval",
    "ClaimDetails",
    "ClaimerMachine",
    "ClaimerState",
    "ClaimerUI",
    "DeviceClaim",
    "DeviceConfirmation",
    "Greeted",
    "GreeterMachine",
    "GreeterState",
    "GreeterUI",
    "UserClaim",
    "UserConfirmation",
    "claim",
    "find_invitation",
    "greet",
    "keep_claimed_device",
    "pick_choice",
    "sas_choices",
    "sas_codes",
]
