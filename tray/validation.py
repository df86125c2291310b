"""Inline validation of the dialogs' fields (pure: no Tk, no network).

Each check returns the sentence to show under the field, or ``None``.  The
rules are core's (``parsec_tray.core.values`` and ``.addr``): the dialog
refuses exactly what the server or the flow would refuse, before any
password is asked for or any Argon2id runs.
"""

from __future__ import annotations

import re
from typing import Any

from ..core.errors import InvalidLinkError, InvalidValueError
from .i18n import N_, _

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "check_device_label",
    "check_email",
    "check_join_link",
    "check_link",
    "check_organization",
    "check_passphrase",
    "check_recovery_path",
    "check_server",
    "check_user_name",
    "describe_link",
    "is_invitation_link",
    "link_facts",
    "password_strength",
    "recovery_file_of",
    "validate",
]

MIN_PASSWORD_LENGTH = 8
_COMMON = {
    "password",
    "motdepasse",
    "12345678",
    "123456789",
    "1234567890",
    "qwertyuiop",
    "azertyuiop",
    "iloveyou",
}


def _strip_repr(message: str) -> str:
    # Core quotes the value back ("'a b' is not a valid ..."); the field is
    # right next to the message, so say "This is not ...".
    return re.sub(r"^'.*?' is not", "This is not", message, count=1, flags=re.S)


def check_email(value: str) -> str | None:
    from ..core import EmailAddress

    if not value.strip():
        return _("Enter your email address.")
    try:
        EmailAddress(value)
    except InvalidValueError as exc:
        return _strip_repr(str(exc))
    return None


def check_organization(value: str) -> str | None:
    from ..core import OrganizationID

    if not value:
        return _("Enter a name for the organization.")
    try:
        OrganizationID(value)
    except InvalidValueError as exc:
        return _strip_repr(str(exc))
    return None


def check_server(value: str) -> str | None:
    from ..core import parse_server

    if not value.strip():
        return _("Enter the server's address (parsec3://host or https://host).")
    try:
        parse_server(value.strip())
    except (InvalidLinkError, InvalidValueError) as exc:
        return str(exc)
    return None


def check_link(value: str) -> str | None:
    from ..core import NOT_A_LINK, ParsecOrganizationBootstrapAddr

    if not value.strip():
        return _("Paste the bootstrap link you were given (parsec3://…).")
    if not value.strip().lower().startswith("parsec3://"):
        return _(str(NOT_A_LINK))  # core's sentence: one source
    try:
        ParsecOrganizationBootstrapAddr.parse(value.strip())
    except (InvalidLinkError, InvalidValueError) as exc:
        return str(exc)
    return None


def describe_link(value: str) -> str | None:
    """ "Organization X on host:port" for a valid bootstrap link."""
    from ..core import ParsecOrganizationBootstrapAddr

    try:
        addr = ParsecOrganizationBootstrapAddr.parse(value.strip())
    except (InvalidLinkError, InvalidValueError):
        return None
    server, where = addr.server, addr.server.netloc
    if server.use_ssl:
        return _("Organization {org} on {where}").format(org=addr.organization_id, where=where)
    test = _("Organization {org} on {where}, not encrypted (test server)")
    return test.format(org=addr.organization_id, where=where)


# What Join organization… does with each kind of link it takes.
LINK_KINDS = {  # translated where shown
    "BOOTSTRAP": N_("Create an organization"),
    "USER": N_("Join as a user"),
    "DEVICE": N_("Add a device"),
}
ORGANIZATION_LINK = N_(
    "This link only names an organization: to join it, ask one of its administrators for an invitation."
)
OTHER_INVITATION = N_(
    "Parsec Tray cannot join with this kind of invitation; use the official Parsec client for it."
)


def _join_link(value: str) -> Any:
    """The bootstrap or invitation address ``value`` is; raises what core raises."""
    from ..core import ParsecInvitationAddr, ParsecOrganizationBootstrapAddr, parse_link

    addr = parse_link(value.strip())
    if isinstance(addr, ParsecInvitationAddr):
        if addr.invitation_type not in LINK_KINDS:
            raise InvalidLinkError(_(OTHER_INVITATION))
    elif not isinstance(addr, ParsecOrganizationBootstrapAddr):
        raise InvalidLinkError(_(ORGANIZATION_LINK))
    return addr


def check_join_link(value: str) -> str | None:
    """Join organization…'s link: a bootstrap link, or a user or device
    invitation (``parsec3://…`` or its ``https://…/redirect/…`` form)."""
    from ..core import NOT_A_LINK

    text = value.strip()
    if not text:
        return _("Paste the link you received (parsec3://…).")
    lowered = text.lower()
    if not lowered.startswith("parsec3://") and not (
        lowered.startswith(("https://", "http://")) and "/redirect/" in lowered
    ):
        return _(str(NOT_A_LINK))
    try:
        _join_link(text)
    except (InvalidLinkError, InvalidValueError) as exc:
        return str(exc)
    return None


def is_invitation_link(value: str) -> bool:
    """A valid user or device invitation link (Join hands it to the claim dialog)."""
    from ..core import ParsecInvitationAddr

    try:
        return isinstance(_join_link(value), ParsecInvitationAddr)
    except (InvalidLinkError, InvalidValueError):
        return False


def link_facts(value: str) -> tuple[tuple[str, str], ...]:
    """What a valid link is, as label/value rows (none for anything else):
    its kind, organization, server and whether the connection is encrypted."""
    try:
        addr = _join_link(value)
    except (InvalidLinkError, InvalidValueError):
        return ()
    server = addr.server
    kind = getattr(addr, "invitation_type", "BOOTSTRAP")
    return (
        (_("Link"), _(LINK_KINDS[kind])),
        (_("Organization"), str(addr.organization_id)),
        (_("Server"), server.netloc),
        (_("Connection"), _("Encrypted") if server.use_ssl else _("Not encrypted (test server)")),
    )


def check_user_name(value: str, email: str = "user@example.com") -> str | None:
    from ..core import HumanHandle

    if not value.strip():
        return _("Enter your name, as the others will see it.")
    try:
        HumanHandle("user@example.com", value)
    except InvalidValueError as exc:
        return _strip_repr(str(exc))
    return None


def check_device_label(value: str) -> str | None:
    from ..core import DeviceLabel

    if not value.strip():
        return _("Name this device, for example after this computer.")
    try:
        DeviceLabel(value)
    except InvalidValueError as exc:
        return _strip_repr(str(exc))
    return None


def password_strength(password: str) -> tuple[int, str]:
    """A simple hint, 0 (unusable) to 4: length first, then variety."""
    if not password:
        return 0, ""
    if len(password) < MIN_PASSWORD_LENGTH:
        return 0, _("Too short: use at least {n} characters").format(n=MIN_PASSWORD_LENGTH)
    if password.lower() in _COMMON or len(set(password)) <= 2:
        return 1, _("Weak: too easy to guess")
    kinds = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    score = 1 + (len(password) >= 12) + (len(password) >= 16) + (kinds >= 3)
    score = min(score, 4)
    return score, ("", _("Weak"), _("Fair"), _("Good"), _("Strong"))[score]


def check_password(password: str) -> str | None:
    score, label = password_strength(password)
    if not password:
        return _("Choose a password.")
    if score == 0:
        return _("{strength}.").format(strength=label)
    return None


def check_confirmation(password: str, confirmation: str) -> str | None:
    if password and not confirmation:
        return _("Type the password again.")
    if password and confirmation != password:
        return _("The two passwords differ.")
    return None


# The official form (fact sheet l.3); core also takes it lower-cased, with spaces.
_PASSPHRASE = re.compile(r"([A-Z0-9]{4}-){12}[A-Z0-9]{4}")


def check_passphrase(value: str) -> str | None:
    """The recovery file's passphrase, as saved: 13 groups of 4, dashes,
    spaces and case not mattering."""
    if not value.strip():
        return _("Enter the passphrase saved with the recovery file.")
    if not _PASSPHRASE.fullmatch(re.sub(r"[\s-]+", "-", value.strip().upper())):
        return _("The passphrase is 13 groups of 4 letters and digits, such as FH3H-N3DW-ABED-…")
    return None


def check_recovery_path(value: str) -> str | None:
    if not value.strip():
        return _("Choose the recovery file (a .psrk file).")
    return None


def recovery_file_of(arg: str) -> str | None:
    """The path of a recovery file handed over (a path or a ``file://`` URI
    ending in ``.psrk``, as the desktop entry passes it), else None."""
    from urllib.parse import unquote, urlsplit

    arg = arg.strip()
    if not arg.lower().endswith(".psrk"):
        return None
    if arg.lower().startswith("file://"):
        parts = urlsplit(arg)
        return unquote(parts.path) if parts.netloc in ("", "localhost") else None
    return None if "://" in arg else arg


def validate(kind: str, step: int, values: dict[str, Any]) -> dict[str, str]:
    """Field name -> error, for the fields of ``step`` of dialog ``kind``."""
    v = {k: (x if isinstance(x, str) else "") for k, x in values.items()}
    checks: dict[str, str | None] = {}
    if kind == "create" and step == 1:
        checks = {
            "email": check_email(v.get("email", "")),
            "organization": check_organization(v.get("organization", "")),
            "server": check_server(v.get("server", "")),
        }
    elif kind == "join" and step == 1:
        checks = {"link": check_link(v.get("link", "")), "email": check_email(v.get("email", ""))}
    elif kind in ("create", "join") and step == 2:
        checks = {
            "user_name": check_user_name(v.get("user_name", "")),
            "device_label": check_device_label(v.get("device_label", "")),
            "password": check_password(v.get("password", "")),
            "confirm": check_confirmation(v.get("password", ""), v.get("confirm", "")),
        }
    elif kind == "login":
        checks = {"password": None if v.get("password") else _("Enter the password of this device.")}
    return {k: msg for k, msg in checks.items() if msg}
