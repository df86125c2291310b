"""``parsec3://`` addresses, as libparsec parses and prints them.

``parsec3://host[:port]/<org>?[no_ssl=true&]a=<action>&p=<payload>``:
``parsec3`` means HTTPS unless ``no_ssl=true``; the default port (443/80) is
dropped; ``p`` is base64url (no padding) of compact msgpack.  The
redirection form ``http(s)://host[:port]/redirect/<org>?a=…&p=…`` is accepted
wherever a link is, the scheme then carrying TLS or not.

Parsing never guesses: an unknown scheme, a second ``no_ssl``, a bad
payload or a missing parameter is an :class:`InvalidLinkError` that says so.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from .errors import InvalidLinkError, InvalidValueError
from .i18n import N_, _
from .serialization import packb, unpackb
from .values import AccessToken, OrganizationID

__all__ = [
    "NOT_A_LINK",
    "ParsecAddr",
    "ParsecInvitationAddr",
    "ParsecOrganizationAddr",
    "ParsecOrganizationBootstrapAddr",
    "parse_link",
    "parse_server",
]

SCHEME = "parsec3"
# What a text that is no link at all gets; the tray's fields say it too.
NOT_A_LINK = N_(  # translated where used
    "This is not a Parsec link: it should start with parsec3://; copy it again from the message you received."
)
SAAS_LEGACY = "saas-v3.parsec.cloud"
SAAS_CURRENT = "app.parsec.cloud"

ACTION_BOOTSTRAP = "bootstrap_organization"
ACTION_CLAIM_USER = "claim_user"
ACTION_CLAIM_DEVICE = "claim_device"
ACTION_CLAIM_SHAMIR = "claim_shamir_recovery"
_INVITATION_ACTIONS = {
    ACTION_CLAIM_USER: "USER",
    ACTION_CLAIM_DEVICE: "DEVICE",
    ACTION_CLAIM_SHAMIR: "SHAMIR_RECOVERY",
}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64_msgpack(value: object) -> str:
    return _b64(packb(value))


_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")


def _un_b64_msgpack(value: str) -> object:
    # Strict base64url without padding, as libparsec's BASE64URL_NOPAD: the
    # standard decoder would skip foreign characters, take '+', '/' and '=',
    # and ignore non-zero spare bits, so only a canonical text is accepted.
    raw = b""
    if _B64URL_RE.fullmatch(value) and len(value) % 4 != 1:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError):
            pass
    if not raw or _b64(raw) != value:
        raise InvalidLinkError(_("The link's 'p' parameter is not valid base64url."))
    return unpackb(raw, error=InvalidLinkError, what=N_("link's 'p' parameter"))


@dataclass(frozen=True)
class ParsecAddr:
    """A server: host, port (None = default) and TLS or not."""

    hostname: str
    port: int | None
    use_ssl: bool

    def __post_init__(self) -> None:
        host = self.hostname.lower()
        if host == SAAS_LEGACY:
            host = SAAS_CURRENT
        object.__setattr__(self, "hostname", host)
        if self.port is not None and self.port == (443 if self.use_ssl else 80):
            object.__setattr__(self, "port", None)

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else (443 if self.use_ssl else 80)

    @property
    def netloc(self) -> str:
        """``host[:port]`` as a link writes it (what to show a person)."""
        host = self.hostname
        if ":" in host:  # IPv6
            host = f"[{host}]"
        return host if self.port is None else f"{host}:{self.port}"

    def to_url(self) -> str:
        url = f"{SCHEME}://{self.netloc}"
        return url if self.use_ssl else url + "?no_ssl=true"

    def to_http_url(self, path: str = "/") -> str:
        scheme = "https" if self.use_ssl else "http"
        return f"{scheme}://{self.netloc}{path}"

    def __str__(self) -> str:
        return self.to_url()

    def _org_url(self, org: str, params: list[tuple[str, str]]) -> str:
        query = ([("no_ssl", "true")] if not self.use_ssl else []) + params
        qs = "&".join(f"{k}={v}" for k, v in query)
        return f"{SCHEME}://{self.netloc}/{quote(org, safe='')}" + (f"?{qs}" if qs else "")

    def _redirect_url(self, org: str, params: list[tuple[str, str]]) -> str:
        qs = "&".join(f"{k}={v}" for k, v in params)
        return self.to_http_url(f"/redirect/{quote(org, safe='')}") + (f"?{qs}" if qs else "")


@dataclass(frozen=True)
class _Parsed:
    server: ParsecAddr
    path: str
    params: list[tuple[str, str]]

    def param(self, name: str, *, required: bool = True) -> str | None:
        values = [v for k, v in self.params if k == name]
        if len(values) > 1:
            raise InvalidLinkError(_("The link has the parameter {name!r} twice.").format(name=name))
        if not values:
            if required:
                raise InvalidLinkError(_("The link lacks the parameter {name!r}.").format(name=name))
            return None
        return values[0]

    def organization_id(self) -> OrganizationID:
        raw = self.path[1:] if self.path.startswith("/") else self.path
        try:
            return OrganizationID(unquote(raw, errors="strict"))
        except (InvalidValueError, UnicodeDecodeError):
            raise InvalidLinkError(_("The link does not name a valid organization.")) from None


def _split(url: str, *, server: bool = False) -> _Parsed:
    """``url`` in parts; ``server``: it was given as a server's address (the wording of errors)."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidLinkError(_("The link is empty."))
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidLinkError(_("The link's host or port is not valid.")) from None
    scheme = parts.scheme.lower()
    try:
        params = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False)
    except ValueError:
        raise InvalidLinkError(_("The link's query is not valid.")) from None
    path = parts.path
    if scheme == SCHEME:
        no_ssl = [v for k, v in params if k == "no_ssl"]
        if len(no_ssl) > 1:
            raise InvalidLinkError(_("The link has the parameter 'no_ssl' twice."))
        # libparsec compares the value case-insensitively.
        if no_ssl and no_ssl[0].lower() not in ("true", "false"):
            raise InvalidLinkError(_("The link's 'no_ssl' must be 'true' or 'false'."))
        use_ssl = not (no_ssl and no_ssl[0].lower() == "true")
    elif scheme in ("http", "https"):
        use_ssl = scheme == "https"
        segments = path.split("/")
        if len(segments) >= 2 and segments[1] == "redirect":
            path = "/" + "/".join(segments[2:])
    elif server:
        raise InvalidLinkError(
            _("This is not a Parsec server address: it should start with parsec3:// or https://.")
        )
    else:
        raise InvalidLinkError(_(NOT_A_LINK))
    params = [(k, v) for k, v in params if k != "no_ssl"]
    host = parts.hostname
    if not host:
        raise InvalidLinkError(_("The link has no server name."))
    _check_host(host)
    return _Parsed(ParsecAddr(host, port, use_ssl), path, params)


def _check_host(host: str) -> None:
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    try:
        host.encode("idna")
    except UnicodeError:
        raise InvalidLinkError(_("{host!r} is not a valid server name.").format(host=host)) from None
    if any(c in host for c in " /\\@%"):
        raise InvalidLinkError(_("{host!r} is not a valid server name.").format(host=host))


def parse_server(url: str) -> ParsecAddr:
    """``parsec3://host[:port][?no_ssl=true]`` or ``http(s)://host[:port]``."""
    parsed = _split(url, server=True)
    if parsed.path not in ("", "/"):
        # An organization or action link also names its server.
        try:
            parsed.organization_id()
        except InvalidLinkError:
            raise InvalidLinkError(
                _("A server address has no path (expected parsec3://host[:port]).")
            ) from None
    return parsed.server


@dataclass(frozen=True)
class ParsecOrganizationAddr:
    server: ParsecAddr
    organization_id: OrganizationID
    root_verify_key: bytes

    def to_url(self) -> str:
        return self.server._org_url(self.organization_id, [("p", _b64_msgpack(self.root_verify_key))])

    def __str__(self) -> str:
        return self.to_url()

    @classmethod
    def parse(cls, url: str) -> ParsecOrganizationAddr:
        parsed = _split(url)
        org = parsed.organization_id()
        payload = _un_b64_msgpack(parsed.param("p") or "")
        if not isinstance(payload, bytes) or len(payload) != 32:
            raise InvalidLinkError(_("The organization link does not carry a valid root key."))
        return cls(parsed.server, org, payload)


@dataclass(frozen=True)
class ParsecOrganizationBootstrapAddr:
    server: ParsecAddr
    organization_id: OrganizationID
    token: AccessToken | None

    def to_url(self) -> str:
        p = _b64_msgpack(bytes(self.token) if self.token is not None else None)
        return self.server._org_url(self.organization_id, [("a", ACTION_BOOTSTRAP), ("p", p)])

    def to_http_redirection_url(self) -> str:
        p = _b64_msgpack(bytes(self.token) if self.token is not None else None)
        return self.server._redirect_url(self.organization_id, [("a", ACTION_BOOTSTRAP), ("p", p)])

    def __str__(self) -> str:
        return self.to_url()

    def generate_organization_addr(self, root_verify_key: bytes) -> ParsecOrganizationAddr:
        return ParsecOrganizationAddr(self.server, self.organization_id, root_verify_key)

    @classmethod
    def parse(cls, url: str) -> ParsecOrganizationBootstrapAddr:
        parsed = _split(url)
        action = parsed.param("a")
        if action != ACTION_BOOTSTRAP:
            if action in _INVITATION_ACTIONS:
                raise InvalidLinkError(
                    _(
                        "This is an invitation link, not an organization bootstrap link: use 'Join "
                        "organization' with an invitation instead."
                    )
                )
            raise InvalidLinkError(
                _("This is not an organization bootstrap link (a=bootstrap_organization).")
            )
        org = parsed.organization_id()
        payload = _un_b64_msgpack(parsed.param("p") or "")
        if payload is None:
            return cls(parsed.server, org, None)
        if not isinstance(payload, bytes) or len(payload) != 16:
            raise InvalidLinkError(
                _("This bootstrap link is damaged: copy it again from the message you received.")
            )
        return cls(parsed.server, org, AccessToken(payload))


@dataclass(frozen=True)
class ParsecInvitationAddr:
    server: ParsecAddr
    organization_id: OrganizationID
    invitation_type: str  # "USER" | "DEVICE" | "SHAMIR_RECOVERY"
    token: AccessToken

    def _action(self) -> str:
        return {v: k for k, v in _INVITATION_ACTIONS.items()}[self.invitation_type]

    def to_url(self) -> str:
        return self.server._org_url(
            self.organization_id, [("a", self._action()), ("p", _b64_msgpack(bytes(self.token)))]
        )

    def to_http_redirection_url(self) -> str:
        return self.server._redirect_url(
            self.organization_id, [("a", self._action()), ("p", _b64_msgpack(bytes(self.token)))]
        )

    def __str__(self) -> str:
        return self.to_url()

    @classmethod
    def parse(cls, url: str) -> ParsecInvitationAddr:
        parsed = _split(url)
        action = parsed.param("a")
        if action not in _INVITATION_ACTIONS:
            raise InvalidLinkError(_("This is not an invitation link (a=claim_user or a=claim_device)."))
        org = parsed.organization_id()
        payload = _un_b64_msgpack(parsed.param("p") or "")
        if not isinstance(payload, bytes) or len(payload) != 16:
            raise InvalidLinkError(
                _("This invitation link is damaged: copy it again from the message you received.")
            )
        return cls(parsed.server, org, _INVITATION_ACTIONS[action], AccessToken(payload))


def parse_link(url: str) -> ParsecOrganizationBootstrapAddr | ParsecInvitationAddr | ParsecOrganizationAddr:
    """Any action link a person may paste or click."""
    parsed = _split(url)
    action = parsed.param("a", required=False)
    if action == ACTION_BOOTSTRAP:
        return ParsecOrganizationBootstrapAddr.parse(url)
    if action in _INVITATION_ACTIONS:
        return ParsecInvitationAddr.parse(url)
    if action is None:
        return ParsecOrganizationAddr.parse(url)
    raise InvalidLinkError(_("Parsec Tray does not handle links of kind {action!r}.").format(action=action))
