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
from ..core.i18n import _
from .common import EXIT_OK, emit, keyring_option, new_device_password, open_session, profile_name, subparser

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
        "\n".join(
            [
                question,
                _("For security reasons, never choose a code at random."),
                *(f"  {i}) {c}" for i, c in enumerate(choices, 1)),
                "  " + _("(nothing: none of these)"),
            ]
        ),
    )
    chosen: str | None = pick_choice(_ask(args, _("Code or number: ")), choices)
    return chosen


def _handle_json(handle: Any) -> dict[str, str]:
    return {"email": str(handle.email), "name": handle.label}


# --- greet -------------------------------------------------------------------------------


class _GreeterPrompts:
    def __init__(self, args: argparse.Namespace, session: Any, profile: Any) -> None:
        self.args, self.session, self.profile = args, session, profile

    def show_code(self, code: str) -> None:
        emit(
            self.args,
            {"event": "your_code", "code": code},
            _("The guest is there. Read them your code: {code}").format(code=code),
        )

    def choose_code(self, choices: list[str]) -> str | None:
        return _choose(self.args, choices, _("The guest found your code. Which code do they read to you?"))

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
            _("They ask to join as {person} on the device {device_label}.").format(
                person=handle, device_label=repr(str(claim.requested_device_label))
            ),
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
            who = getattr(invitation, "claimer_email", None) or _("your new device")
            print(
                _("Waiting for {who} to open the invitation link…").format(who=who),
                file=sys.stderr,
                flush=True,
            )
        greeted = greet(session, invitation, _GreeterPrompts(args, session, profile))
    finally:
        session.close()
    emit(
        args,
        {"event": "done", **greeted.to_json()},
        _joined_text(greeted, session.device.organization_id, invitation.type == "USER"),
    )
    return EXIT_OK


def _joined_text(greeted: Any, org: Any, as_user: bool) -> str:
    facts = {"person": greeted.human_handle, "org": org, "device_label": repr(str(greeted.device_label))}
    if not as_user:
        return str(_("{person} joined {org} on {device_label}.")).format(**facts)
    return str(_("{person} joined {org} on {device_label} as {profile}.")).format(
        **facts, profile=profile_name(greeted.profile)
    )


# --- claim -------------------------------------------------------------------------------


class _ClaimerPrompts:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.greeter = _("the greeter")

    def choose_code(self, choices: list[str], greeter: Any) -> str | None:
        if greeter is not None:
            self.greeter = str(greeter)
        return _choose(
            self.args,
            choices,
            _("{greeter} is there. Which code do they read to you?").format(greeter=self.greeter),
        )

    def show_code(self, code: str) -> None:
        emit(
            self.args,
            {"event": "your_code", "code": code},
            _("Read your code to {greeter}: {code}").format(greeter=self.greeter, code=code),
        )


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


def _invitation_text(as_user: bool, org: Any, greeter: str, server: Any) -> str:
    facts = {
        "org": org,
        "greeter": greeter,
        "host": server.hostname,
        "security": _("encrypted") if server.use_ssl else _("not encrypted (test server)"),
    }
    if as_user:
        return str(_("You are invited to join {org} by {greeter} (server {host}, {security}).")).format(
            **facts
        )
    return str(_("This adds a device to your account in {org} (server {host}, {security}).")).format(**facts)


def cmd_claim(args: argparse.Namespace) -> int:
    from ..core import DeviceLabel, HumanHandle, ParsecInvitationAddr, UserInviteInfo, claim, invite_info

    addr = ParsecInvitationAddr.parse(args.link)
    if addr.invitation_type not in ("USER", "DEVICE"):
        raise CliError(_("Parsec Tray can join with user and device invitations only."))
    label = DeviceLabel(args.device_label or socket.gethostname() or _("My computer"))
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
        _invitation_text(kind == "user", addr.organization_id, info.created_by.describe(), server),
    )
    user_name = None
    if isinstance(info, UserInviteInfo):
        user_name = args.user_name or _ask(args, _("Your name: "))
        HumanHandle(info.claimer_email, user_name)  # refused here, before anyone waits
        if not args.json:
            print(_("Waiting for an administrator to greet you…"), file=sys.stderr, flush=True)
    elif not args.json:
        print(_("Waiting for your other device to greet this one…"), file=sys.stderr, flush=True)
    created = claim(addr, info, _ClaimerPrompts(args), device_label=label, user_name=user_name, password=password)
    if created.session is not None:
        created.session.close()
    emit(
        args,
        {"event": "done", **created.to_json()},
        _(
            "You joined {org} and you are logged in.\n"
            "Device file: {device_file}\n"
            "Keys lost = data lost: add a second device or create a recovery file soon."
        ).format(org=created.organization_id, device_file=created.device_file),
    )
    return EXIT_OK


def answers_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--password-stdin", action="store_true", help=_("the password, then each answer, one line each")
    )
    p.add_argument("--json", action="store_true", help=_("one JSON event per line"))


def register(sub: Any) -> None:
    """Add ``greet`` and ``claim``."""
    p = subparser(sub, "greet", help=_("greet someone who opened an invitation link (the code exchange)"))
    p.add_argument("invitation", metavar="TOKEN|LINK", help=_("the invitation's token (32 hex) or its link"))
    p.add_argument("--device", help=_("device ID, a unique prefix of one, or the path of its device file"))
    p.add_argument("--profile", choices=PROFILES, default="standard", help=_("the new user's profile"))
    answers_options(p)
    p.set_defaults(func=cmd_greet)

    p = subparser(sub, "claim", help=_("join an organization (or add this device) from an invitation link"))
    p.add_argument(
        "link", help=_("parsec3://…?a=claim_user|claim_device&p=… (or its https://…/redirect/… form)")
    )
    p.add_argument("--user-name", help=_("your name (a user invitation; asked if missing)"))
    p.add_argument("--device-label", help=_("this device's name (default: the computer's name)"))
    keyring_option(p)
    answers_options(p)
    p.set_defaults(func=cmd_claim)
