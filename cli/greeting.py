"""The SAS ceremony on the command line: ``greet`` (an administrator, or
the user's own device) and ``claim`` (the person joining, or the new
device).

The contract is fixed (other tests drive it): with ``--password-stdin`` the
first line of standard input is the password, and every later answer is
one more line, in the order asked.  ``--json`` prints one object per line,
flushed, each with an ``event`` key:

- claimer: ``invitation``, ``choose_code`` (then reads the greeter's code:
  the code, any case, or its 1-based number; empty or unknown: none of
  these), ``your_code``, ``done`` (the fields of ``create-org --json``);
- greeter: ``your_code``, ``choose_code`` (then reads the claimer's code),
  ``claim_request``, ``done`` (``user_id``, ``device_id``, ``profile``).

A wrong code on either side cancels the attempt (``INVALID_SAS_CODE``):
one sentence, exit status 1, nothing saved.
"""

from __future__ import annotations

import argparse
import socket
import sys
from typing import Any

from ..core.errors import CliError
from .common import EXIT_OK, emit, new_device_password, open_session, subparser

__all__ = ["register"]

PROFILES = ("standard", "admin", "outsider")


def _ask(args: argparse.Namespace, prompt: str) -> str:
    """One answer: a line of standard input (a prompt on a terminal)."""
    if sys.stdin.isatty():
        return input(prompt)
    if not args.json:
        print(prompt, file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def _choose(args: argparse.Namespace, choices: list[str], question: str) -> str | None:
    from ..core import pick_choice

    emit(
        args,
        {"event": "choose_code", "choices": choices},
        f"{question}\nFor security reasons, never choose a code at random.\n"
        + "\n".join(f"  {i}) {c}" for i, c in enumerate(choices, 1))
        + "\n  (nothing: none of these)",
    )
    chosen: str | None = pick_choice(_ask(args, "Code or number: "), choices)
    return chosen


def _handle_json(handle: Any) -> dict[str, str]:
    return {"email": str(handle.email), "name": handle.label}


# --- greet -------------------------------------------------------------------------------


class _GreeterPrompts:
    def __init__(self, args: argparse.Namespace, session: Any, profile: Any) -> None:
        self.args, self.session, self.profile = args, session, profile

    def show_code(self, code: str) -> None:
        emit(self.args, {"event": "your_code", "code": code}, f"The guest is there. Read them your code: {code}")

    def choose_code(self, choices: list[str]) -> str | None:
        return _choose(self.args, choices, "The guest found your code. Which code do they read to you?")

    def review(self, claim: Any) -> Any:
        from ..core import Approval, UserClaim

        if isinstance(claim, UserClaim):
            handle = claim.requested_human_handle
        else:
            handle = self.session.device.human_handle
        emit(
            self.args,
            {
                "event": "claim_request",
                "email": str(handle.email),
                "user_name": handle.label,
                "device_label": str(claim.requested_device_label),
            },
            f"They ask to join as {handle} on the device {claim.requested_device_label!r}.",
        )
        return Approval(
            claim.requested_device_label,
            claim.requested_human_handle if isinstance(claim, UserClaim) else None,
            self.profile,
        )


def cmd_greet(args: argparse.Namespace) -> int:
    from ..core import AccessToken, ParsecInvitationAddr, UserProfile, find_invitation, greet

    # Bad input is refused before the password is asked.
    target = args.invitation.strip()
    if "://" in target:
        ParsecInvitationAddr.parse(target)
    else:
        AccessToken(target)
    profile = UserProfile(args.profile.upper())
    _info, session = open_session(args)
    try:
        invitation = find_invitation(session, target)
        if not args.json:
            who = getattr(invitation, "claimer_email", None) or "your new device"
            print(f"Waiting for {who} to open the invitation link…", file=sys.stderr, flush=True)
        greeted = greet(session, invitation, _GreeterPrompts(args, session, profile))
    finally:
        session.close()
    emit(
        args,
        {"event": "done", **greeted.to_json()},
        f"{greeted.human_handle} joined {session.device.organization_id} on {greeted.device_label!r}"
        + (f" as {greeted.profile.value.lower()}." if invitation.type == "USER" else "."),
    )
    return EXIT_OK


# --- claim -------------------------------------------------------------------------------


class _ClaimerPrompts:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.greeter = "the greeter"

    def choose_code(self, choices: list[str], greeter: Any) -> str | None:
        if greeter is not None:
            self.greeter = str(greeter)
        return _choose(self.args, choices, f"{self.greeter} is there. Which code do they read to you?")

    def show_code(self, code: str) -> None:
        emit(self.args, {"event": "your_code", "code": code}, f"Read your code to {self.greeter}: {code}")


def _greeter_json(info: Any) -> dict[str, Any]:
    by = info.created_by
    out: dict[str, Any] = {"kind": by.kind}
    if by.user_id is not None:
        out["user_id"] = by.user_id.hex
    if by.human_handle is not None:
        out.update(_handle_json(by.human_handle))
    elif by.service_label is not None:
        out["name"] = by.service_label
    return out


def cmd_claim(args: argparse.Namespace) -> int:
    from ..core import DeviceLabel, HumanHandle, ParsecInvitationAddr, UserInviteInfo, claim, invite_info

    addr = ParsecInvitationAddr.parse(args.link)
    if addr.invitation_type not in ("USER", "DEVICE"):
        raise CliError("Parsec Tray can join with user and device invitations only.")
    label = DeviceLabel(args.device_label or socket.gethostname() or "My computer")
    password = new_device_password(args)
    info = invite_info(addr)
    kind = "user" if isinstance(info, UserInviteInfo) else "device"
    server = addr.server
    emit(
        args,
        {
            "event": "invitation",
            "type": kind,
            "organization_id": str(addr.organization_id),
            "greeter": _greeter_json(info),
        },
        (
            f"You are invited to join {addr.organization_id} by {info.created_by.describe()}"
            if kind == "user"
            else f"This adds a device to your account in {addr.organization_id}"
        )
        + f" (server {server.hostname}, {'encrypted' if server.use_ssl else 'NOT encrypted'}).",
    )
    user_name = None
    if isinstance(info, UserInviteInfo):
        user_name = args.user_name or _ask(args, "Your name: ")
        HumanHandle(info.claimer_email, user_name)  # refused here, before anyone waits
        if not args.json:
            print("Waiting for an administrator to greet you…", file=sys.stderr, flush=True)
    elif not args.json:
        print("Waiting for your other device to greet this one…", file=sys.stderr, flush=True)
    created = claim(addr, info, _ClaimerPrompts(args), device_label=label, user_name=user_name, password=password)
    if created.session is not None:
        created.session.close()
    emit(
        args,
        {"event": "done", **created.to_json()},
        f"You joined {created.organization_id} and you are logged in.\n"
        f"Device file: {created.device_file}\n"
        "Keys lost = data lost: add a second device or create a recovery file soon.",
    )
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``greet`` and ``claim``."""
    p = subparser(sub, "greet", help="greet someone who opened an invitation link (the code exchange)")
    p.add_argument("invitation", metavar="TOKEN|LINK", help="the invitation's token (32 hex) or its link")
    p.add_argument("--device", help="device id, unique prefix of one, or path to a .keys file")
    p.add_argument("--profile", choices=PROFILES, default="standard", help="the new user's profile")
    p.add_argument("--password-stdin", action="store_true", help="the password, then each answer, one line each")
    p.add_argument("--json", action="store_true", help="one JSON event per line")
    p.set_defaults(func=cmd_greet)

    p = subparser(sub, "claim", help="join an organization (or add this device) from an invitation link")
    p.add_argument("link", help="parsec3://…?a=claim_user|claim_device&p=… (or its https://…/redirect/… form)")
    p.add_argument("--user-name", help="your name (a user invitation; asked if missing)")
    p.add_argument("--device-label", help="this device's name (default: the computer's name)")
    p.add_argument("--password-stdin", action="store_true", help="the password, then each answer, one line each")
    p.add_argument("--keyring", action="store_true", help="protect the device with the OS keyring, not a password")
    p.add_argument("--json", action="store_true", help="one JSON event per line")
    p.set_defaults(func=cmd_claim)
