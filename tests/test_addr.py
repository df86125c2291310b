"""core/addr.py against the reference bindings (``parsec._parsec``).

Addresses we print parse with the bindings to the same fields and print back
identically; addresses the bindings print parse with us likewise.  Broken
links are refused by both, ours with an InvalidLinkError that says why.

The strategies keep to what a Parsec server name looks like (ASCII DNS names,
dotted IPv4, IPv6): the bindings go through the WHATWG URL parser, which also
rewrites Unicode names to punycode and numbers such as ``127.1`` to
``127.0.0.1``; we keep such names as written (documented differences).
"""

from __future__ import annotations

import base64
import ipaddress
import re
from typing import Any

import msgpack
import parsec._parsec as oracle  # the reference: its absence is a failure, never a skip
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from parsec_tray.core.addr import (
    ParsecAddr,
    ParsecInvitationAddr,
    ParsecOrganizationAddr,
    ParsecOrganizationBootstrapAddr,
    parse_link,
    parse_server,
)
from parsec_tray.core.errors import InvalidLinkError, InvalidValueError
from parsec_tray.core.values import AccessToken, OrganizationID

SETTINGS = settings(max_examples=150, deadline=None)

# --- strategies ------------------------------------------------------------------------

_ORG_PIECES = st.sampled_from(list("aZ09_-xyQ") + ["é", "ß", "Ω", "中", "Ⅻ", "e\u0301", "Org"])


def _valid_org(text: str) -> bool:
    try:
        OrganizationID(text)
    except InvalidValueError:
        return False
    return True


ORGS = st.lists(_ORG_PIECES, min_size=1, max_size=12).map("".join).filter(_valid_org).map(OrganizationID)
_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
_TOP = st.from_regex(r"[a-z]([a-z0-9-]{0,6}[a-z])?", fullmatch=True)  # never all digits
DNS_NAMES = st.builds(lambda labels, top: ".".join([*labels, top]), st.lists(_LABEL, max_size=3), _TOP)
HOSTS = st.one_of(
    DNS_NAMES,
    DNS_NAMES.map(str.upper),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: a.compressed),
    st.sampled_from(["localhost", "saas-v3.parsec.cloud", "app.parsec.cloud", "127.0.0.1", "::1"]),
)
PORTS = st.one_of(st.none(), st.sampled_from([80, 443, 6770]), st.integers(0, 65535))
SERVERS = st.builds(ParsecAddr, HOSTS, PORTS, st.booleans())
TOKENS = st.binary(min_size=16, max_size=16).map(AccessToken)
ROOT_KEYS = st.binary(min_size=32, max_size=32)
INVITATION_TYPES = st.sampled_from(["USER", "DEVICE", "SHAMIR_RECOVERY"])


# --- helpers -------------------------------------------------------------------------


def server_fields(addr: Any) -> tuple[str, int, bool]:
    """(hostname, effective port, TLS) of one of ours or of the bindings'."""
    server = addr if isinstance(addr, ParsecAddr) else getattr(addr, "server", None)
    if server is not None:
        return server.hostname, server.effective_port, server.use_ssl
    # The bindings keep the brackets of an IPv6 host.
    return addr.hostname.strip("[]"), addr.port, addr.use_ssl


def fields(addr: Any) -> tuple[Any, ...]:
    base = server_fields(addr)
    if isinstance(addr, ParsecOrganizationBootstrapAddr):
        return (*base, str(addr.organization_id), addr.token.hex() if addr.token is not None else None)
    if isinstance(addr, oracle.ParsecOrganizationBootstrapAddr):
        return (*base, addr.organization_id.str, addr.token.hex if addr.token is not None else None)
    if isinstance(addr, ParsecInvitationAddr):
        return (*base, str(addr.organization_id), addr.invitation_type, addr.token.hex())
    if isinstance(addr, oracle.ParsecInvitationAddr):
        return (*base, addr.organization_id.str, addr.invitation_type.str, addr.token.hex)
    if isinstance(addr, ParsecOrganizationAddr):
        return (*base, str(addr.organization_id), addr.root_verify_key)
    if isinstance(addr, oracle.ParsecOrganizationAddr):
        return (*base, addr.organization_id.str, addr.root_verify_key.encode())
    return base


def ref_server(ours: ParsecAddr) -> oracle.ParsecAddr:
    """The same server built by the bindings (their constructor wants brackets)."""
    host = f"[{ours.hostname}]" if ":" in ours.hostname else ours.hostname
    return oracle.ParsecAddr(host, ours.port, ours.use_ssl)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# --- ours -> bindings -> ours ---------------------------------------------------------------


@SETTINGS
@given(SERVERS)
@example(ParsecAddr("Example.COM", 443, True))
@example(ParsecAddr("example.com", 80, False))
@example(ParsecAddr("::1", 6770, False))
def test_server_address_both_ways(ours: ParsecAddr) -> None:
    ref = oracle.ParsecAddr.from_url(ours.to_url())
    assert server_fields(ref) == server_fields(ours)
    assert ref.to_url() == ours.to_url()
    assert ref.to_http_url() == ours.to_http_url()
    assert ref.to_http_url("/anonymous/Org") == ours.to_http_url("/anonymous/Org")
    assert parse_server(ref.to_url()) == ours
    assert parse_server(ref.to_http_redirection_url()) == ours  # http(s)://host/redirect
    built = ref_server(ours)
    assert built.to_url() == ours.to_url()


@SETTINGS
@given(SERVERS, ORGS, st.one_of(st.none(), TOKENS))
@example(ParsecAddr("127.0.0.1", 6770, False), OrganizationID("Org1"), None)
@example(ParsecAddr("saas-v3.parsec.cloud", None, True), OrganizationID("Été"), AccessToken(bytes(16)))
def test_bootstrap_address_both_ways(
    server: ParsecAddr, org: OrganizationID, token: AccessToken | None
) -> None:
    ours = ParsecOrganizationBootstrapAddr(server, org, token)
    for url in (ours.to_url(), ours.to_http_redirection_url()):
        ref = oracle.ParsecOrganizationBootstrapAddr.from_url(url, allow_http_redirection=True)
        assert fields(ref) == fields(ours)
        assert ref.to_url() == ours.to_url()
        assert ref.to_http_redirection_url() == ours.to_http_redirection_url()
        assert ParsecOrganizationBootstrapAddr.parse(url) == ours  # round trip
        assert parse_link(url) == ours
    built = oracle.ParsecOrganizationBootstrapAddr.build(
        ref_server(server),
        oracle.OrganizationID(str(org)),
        None if token is None else oracle.AccessToken.from_bytes(bytes(token)),
    )
    for url in (built.to_url(), built.to_http_redirection_url()):
        parsed = ParsecOrganizationBootstrapAddr.parse(url)
        assert fields(parsed) == fields(built)
        assert parsed.to_url() == built.to_url()
        assert parsed.to_http_redirection_url() == built.to_http_redirection_url()


@SETTINGS
@given(SERVERS, ORGS, INVITATION_TYPES, TOKENS)
def test_invitation_address_both_ways(
    server: ParsecAddr, org: OrganizationID, kind: str, token: AccessToken
) -> None:
    ours = ParsecInvitationAddr(server, org, kind, token)
    for url in (ours.to_url(), ours.to_http_redirection_url()):
        ref = oracle.ParsecInvitationAddr.from_url(url, allow_http_redirection=True)
        assert fields(ref) == fields(ours)
        assert ref.to_url() == ours.to_url()
        assert ref.to_http_redirection_url() == ours.to_http_redirection_url()
        assert ParsecInvitationAddr.parse(url) == ours
        assert parse_link(url) == ours
    built = oracle.ParsecInvitationAddr.build(
        ref_server(server),
        oracle.OrganizationID(str(org)),
        oracle.InvitationType.from_str(kind),
        oracle.AccessToken.from_bytes(bytes(token)),
    )
    for url in (built.to_url(), built.to_http_redirection_url()):
        parsed = ParsecInvitationAddr.parse(url)
        assert fields(parsed) == fields(built)
        assert parsed.to_url() == built.to_url()
        assert parsed.to_http_redirection_url() == built.to_http_redirection_url()


@SETTINGS
@given(SERVERS, ORGS, ROOT_KEYS)
def test_organization_address_both_ways(server: ParsecAddr, org: OrganizationID, root_key: bytes) -> None:
    ours = ParsecOrganizationAddr(server, org, root_key)
    ref = oracle.ParsecOrganizationAddr.from_url(ours.to_url())
    assert fields(ref) == fields(ours)
    assert ref.to_url() == ours.to_url()
    assert parse_link(ours.to_url()) == ours
    built = oracle.ParsecOrganizationAddr.build(
        ref_server(server), oracle.OrganizationID(str(org)), oracle.VerifyKey(root_key)
    )
    for url in (built.to_url(), built.to_http_redirection_url()):
        parsed = ParsecOrganizationAddr.parse(url)
        assert fields(parsed) == fields(built)
        assert parsed.to_url() == built.to_url()


@SETTINGS
@given(SERVERS, ORGS, st.one_of(st.none(), TOKENS), ROOT_KEYS)
def test_bootstrap_generates_the_organization_address(
    server: ParsecAddr, org: OrganizationID, token: AccessToken | None, root_key: bytes
) -> None:
    ours = ParsecOrganizationBootstrapAddr(server, org, token)
    ref = oracle.ParsecOrganizationBootstrapAddr.from_url(ours.to_url())
    assert ours.generate_organization_addr(root_key).to_url() == (
        ref.generate_organization_addr(oracle.VerifyKey(root_key)).to_url()
    )


def test_documented_examples() -> None:
    # Fact sheet, section g: the output order is no_ssl, a, p.
    addr = ParsecInvitationAddr(
        ParsecAddr("127.0.0.1", 6790, False),
        OrganizationID("Org1"),
        "USER",
        AccessToken("a0" + "00" * 14 + "01"),
    )
    assert (
        addr.to_url() == "parsec3://127.0.0.1:6790/Org1?no_ssl=true&a=claim_user&p=xBCgAAAAAAAAAAAAAAAAAAAB"
    )
    assert (
        addr.to_http_redirection_url()
        == "http://127.0.0.1:6790/redirect/Org1?a=claim_user&p=xBCgAAAAAAAAAAAAAAAAAAAB"
    )
    boot = ParsecOrganizationBootstrapAddr(ParsecAddr("example.com", None, True), OrganizationID("Org"), None)
    assert boot.to_url() == "parsec3://example.com/Org?a=bootstrap_organization&p=wA"


# --- accepted variations ---------------------------------------------------------------------

VARIANTS = [
    "parsec3://HOST.example.com/Org?a=bootstrap_organization&p=wA",  # host case
    "PARSEC3://host/Org?a=bootstrap_organization&p=wA",  # scheme case
    "parsec3://host/Org?no_ssl=TRUE&a=bootstrap_organization&p=wA",  # no_ssl case
    "parsec3://host/Org?no_ssl=false&a=bootstrap_organization&p=wA",
    "parsec3://host:443/Org?a=bootstrap_organization&p=wA",  # default port dropped
    "parsec3://host:80/Org?no_ssl=true&a=bootstrap_organization&p=wA",
    "parsec3://host:/Org?a=bootstrap_organization&p=wA",  # empty port
    "parsec3://host/E%CC%81t%C3%A9?a=bootstrap_organization&p=wA",  # NFC of the org
    "parsec3://host/Org?p=wA&x=1&a=bootstrap_organization",  # order, unknown parameters
    "parsec3://host/Org?a=bootstrap%5Forganization&p=w%41",  # percent-encoded query
    "parsec3://user:pw@host/Org?a=bootstrap_organization&p=wA#fragment",
    " parsec3://host/Org?a=bootstrap_organization&p=wA\n",
    "https://host/redirect/Org?a=bootstrap_organization&p=wA&no_ssl=true",  # no_ssl ignored there
    "http://host:80/redirect/Org?a=bootstrap_organization&p=wA",
    "parsec3://[::1]:6770/Org?no_ssl=true&a=bootstrap_organization&p=wA",
]


@pytest.mark.parametrize("url", VARIANTS)
def test_accepted_variants_match_reference(url: str) -> None:
    ref = oracle.ParsecOrganizationBootstrapAddr.from_url(url, allow_http_redirection=True)
    ours = ParsecOrganizationBootstrapAddr.parse(url)
    assert fields(ours) == fields(ref)
    assert ours.to_url() == ref.to_url()


# --- malformed links -------------------------------------------------------------------------

BIN = {n: b64(msgpack.packb(bytes(n))) for n in (15, 16, 17, 31, 32)}
BOOT = "parsec3://host/Org?a=bootstrap_organization&p="
MALFORMED = [
    # (what we parse with, url, fragment of our message, the bindings' parser)
    ("link", "", "empty", oracle.ParsecActionAddr),
    ("link", "   ", "empty", oracle.ParsecActionAddr),
    ("link", "ftp://host/Org?a=claim_user&p=" + BIN[16], "start with parsec3://", oracle.ParsecActionAddr),
    (
        "link",
        "parsec://host/Org?a=claim_user&p=" + BIN[16],
        "start with parsec3://",
        oracle.ParsecActionAddr,
    ),
    ("link", "host/Org?a=claim_user&p=" + BIN[16], "start with parsec3://", oracle.ParsecActionAddr),
    ("link", "parsec3:///Org?a=claim_user&p=" + BIN[16], "no server name", oracle.ParsecActionAddr),
    ("link", "parsec3://host:99999/Org?a=claim_user&p=" + BIN[16], "host or port", oracle.ParsecActionAddr),
    ("link", "parsec3://host:abc/Org?a=claim_user&p=" + BIN[16], "host or port", oracle.ParsecActionAddr),
    ("link", "parsec3://ho st/Org?a=claim_user&p=" + BIN[16], "server name", oracle.ParsecActionAddr),
    ("link", "parsec3://host/Org?a=pki_enrollment", "does not handle", None),
    ("link", "parsec3://host/Org?a=claim_user", "lacks the parameter 'p'", oracle.ParsecActionAddr),
    (
        "link",
        "parsec3://host/Org?a=claim_user&a=claim_user&p=" + BIN[16],
        "'a' twice",
        oracle.ParsecActionAddr,
    ),
    (
        "link",
        "parsec3://host/Org?a=claim_user&p=" + BIN[16] + "&p=" + BIN[16],
        "'p' twice",
        oracle.ParsecActionAddr,
    ),
    (
        "link",
        "parsec3://host/Org?no_ssl=true&no_ssl=true&a=claim_user&p=" + BIN[16],
        "'no_ssl' twice",
        oracle.ParsecActionAddr,
    ),
    (
        "link",
        "parsec3://host/Org?no_ssl=yes&a=claim_user&p=" + BIN[16],
        "'no_ssl' must be",
        oracle.ParsecActionAddr,
    ),
    (
        "link",
        "parsec3://host/Org?no_ssl&a=claim_user&p=" + BIN[16],
        "'no_ssl' must be",
        oracle.ParsecActionAddr,
    ),
    ("link", "parsec3://host/a.b?a=claim_user&p=" + BIN[16], "valid organization", oracle.ParsecActionAddr),
    ("link", "parsec3://host/Org/?a=claim_user&p=" + BIN[16], "valid organization", oracle.ParsecActionAddr),
    ("link", "parsec3://host/?a=claim_user&p=" + BIN[16], "valid organization", oracle.ParsecActionAddr),
    ("link", "parsec3://host/%FF?a=claim_user&p=" + BIN[16], "valid organization", oracle.ParsecActionAddr),
    (
        "link",
        "parsec3://host/" + "a" * 33 + "?a=claim_user&p=" + BIN[16],
        "valid organization",
        oracle.ParsecActionAddr,
    ),
    (
        "link",
        "parsec3://host/redirect/Org?a=claim_user&p=" + BIN[16],
        "valid organization",
        oracle.ParsecActionAddr,
    ),
    ("link", "parsec3://host/Org?a=claim_user&p=" + BIN[16] + "=", "base64url", oracle.ParsecActionAddr),
    ("link", BOOT + "wB", "base64url", oracle.ParsecActionAddr),  # spare bits set
    ("link", BOOT + "wA%3D%3D", "base64url", oracle.ParsecActionAddr),  # padding
    ("link", "parsec3://host/Org?a=claim_user&p=" + BIN[16] + "A", "base64url", oracle.ParsecActionAddr),
    (
        "link",
        "parsec3://host/Org?a=claim_user&p=" + BIN[16].replace("B", "!"),
        "base64url",
        oracle.ParsecActionAddr,
    ),
    ("link", "parsec3://host/Org?a=claim_user&p=x%2BC", "base64url", oracle.ParsecActionAddr),
    ("link", "parsec3://host/Org?a=claim_user&p=", "base64url", oracle.ParsecActionAddr),
    ("link", "parsec3://host/Org?a=claim_user&p=wQ", "not valid msgpack", oracle.ParsecActionAddr),
    ("link", "parsec3://host/Org?a=claim_user&p=" + BIN[15], "damaged", oracle.ParsecActionAddr),
    ("link", "parsec3://host/Org?a=claim_user&p=" + BIN[17], "damaged", oracle.ParsecActionAddr),
    (
        "link",
        "parsec3://host/Org?a=claim_user&p=" + b64(msgpack.packb(msgpack.ExtType(2, bytes(16)))),
        "damaged",
        oracle.ParsecActionAddr,
    ),
    ("link", "parsec3://host/Org?a=claim_user&p=wA", "damaged", oracle.ParsecActionAddr),
    ("link", BOOT + BIN[15], "damaged", oracle.ParsecActionAddr),
    ("link", BOOT + BIN[17], "damaged", oracle.ParsecActionAddr),
    ("link", BOOT + "kA", "damaged", oracle.ParsecActionAddr),
    ("link", "parsec3://host/Org?p=" + BIN[31], "root key", oracle.ParsecOrganizationAddr),
    ("link", "parsec3://host/Org?p=" + BIN[16], "root key", oracle.ParsecOrganizationAddr),
    ("link", "parsec3://host/Org", "lacks the parameter 'p'", oracle.ParsecOrganizationAddr),
    (
        "bootstrap",
        "parsec3://host/Org?a=claim_user&p=" + BIN[16],
        "invitation link, not an organization bootstrap",
        oracle.ParsecOrganizationBootstrapAddr,
    ),
    (
        "bootstrap",
        "parsec3://host/Org?a=claim_device&p=" + BIN[16],
        "invitation link, not an organization bootstrap",
        oracle.ParsecOrganizationBootstrapAddr,
    ),
    (
        "bootstrap",
        "parsec3://host/Org?p=wA",
        "lacks the parameter 'a'",
        oracle.ParsecOrganizationBootstrapAddr,
    ),
    (
        "bootstrap",
        "parsec3://host/Org?a=path&p=wA",
        "not an organization bootstrap link",
        oracle.ParsecOrganizationBootstrapAddr,
    ),
    ("invitation", BOOT + "wA", "not an invitation link", oracle.ParsecInvitationAddr),
    ("invitation", "parsec3://host/Org?p=" + BIN[16], "lacks the parameter 'a'", oracle.ParsecInvitationAddr),
    ("organization", "parsec3://host/Org?p=" + b64(msgpack.packb("a" * 32)), "root key", None),
    ("server", "parsec3://host/a.b", "has no path", oracle.ParsecAddr),
    ("server", "gopher://host", "start with parsec3://", oracle.ParsecAddr),
    ("server", "parsec3://host?no_ssl=1", "'no_ssl' must be", oracle.ParsecAddr),
]
OUR_PARSERS = {
    "link": parse_link,
    "bootstrap": ParsecOrganizationBootstrapAddr.parse,
    "invitation": ParsecInvitationAddr.parse,
    "organization": ParsecOrganizationAddr.parse,
    "server": parse_server,
}


@pytest.mark.parametrize(("parser", "url", "message", "reference"), MALFORMED)
def test_malformed_links_are_refused_with_a_reason(
    parser: str, url: str, message: str, reference: Any
) -> None:
    with pytest.raises(InvalidLinkError, match=re.escape(message)) as info:
        OUR_PARSERS[parser](url)
    assert str(info.value).endswith(".")  # a sentence
    if reference is not None:  # the bindings refuse it too
        with pytest.raises(ValueError):
            reference.from_url(url, allow_http_redirection=True)


def test_parse_link_dispatches_on_the_action() -> None:
    server = ParsecAddr("host", None, True)
    token = AccessToken(bytes(range(16)))
    org = OrganizationID("Org")
    for addr in (
        ParsecOrganizationBootstrapAddr(server, org, token),
        ParsecInvitationAddr(server, org, "DEVICE", token),
        ParsecOrganizationAddr(server, org, bytes(32)),
    ):
        assert parse_link(addr.to_url()) == addr
        assert type(parse_link(addr.to_url())) is type(addr)


# --- fuzzing -------------------------------------------------------------------------------

PARSERS = [
    parse_link,
    parse_server,
    ParsecOrganizationBootstrapAddr.parse,
    ParsecInvitationAddr.parse,
    ParsecOrganizationAddr.parse,
]
PREFIXES = st.sampled_from(
    [
        "",
        "parsec3://",
        "parsec3://host/",
        "parsec3://host/Org?",
        "https://host/redirect/",
        "http://[",
        "parsec3://h:",
    ]
)


@settings(max_examples=300, deadline=None)
@given(PREFIXES, st.text(max_size=60))
@example("parsec3://", "[::1")
@example("parsec3://", "host:-1/Org")
@example("", "parsec3://host/Org?a=claim_user&p=%FF")
def test_any_text_raises_only_invalid_link_error(prefix: str, text: str) -> None:
    for parser in PARSERS:
        try:
            parser(prefix + text)
        except InvalidLinkError:
            pass


def _mutate(url: str, edits: list[tuple[int, str, int]]) -> str:
    # Only after the server part: host rewriting (IDNA, IPv4 forms) is a
    # known difference.
    start = url.index("/", len("parsec3://")) + 1
    for where, what, cut in edits:
        where = start + where % (len(url) - start + 1)
        url = url[:where] + what + url[where + cut :]
    return url


_EDITS = st.lists(
    st.tuples(
        st.integers(min_value=0),
        st.sampled_from(
            [
                "",
                "a",
                "A",
                "=",
                "&",
                "?",
                "#",
                "%",
                "%41",
                "%2F",
                "/",
                "-",
                "_",
                "+",
                " ",
                ".",
                "é",
                "p=",
                "a=",
                "no_ssl=true&",
            ]
        ),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(SERVERS, ORGS, TOKENS, INVITATION_TYPES, _EDITS)
def test_mutated_links_we_accept_mean_the_same_to_the_reference(
    server: ParsecAddr, org: OrganizationID, token: AccessToken, kind: str, edits: list[tuple[int, str, int]]
) -> None:
    url = _mutate(ParsecInvitationAddr(server, org, kind, token).to_url(), edits)
    try:
        ours = parse_link(url)
    except InvalidLinkError:
        return
    reference = {
        ParsecOrganizationBootstrapAddr: oracle.ParsecOrganizationBootstrapAddr,
        ParsecInvitationAddr: oracle.ParsecInvitationAddr,
        ParsecOrganizationAddr: oracle.ParsecOrganizationAddr,
    }[type(ours)]
    ref = reference.from_url(url)
    assert fields(ref) == fields(ours)
    assert ref.to_url() == ours.to_url()


def test_ipv6_hosts_keep_their_brackets_in_urls() -> None:
    for text in ("::1", "fe80::1:0:0:1", "2001:db8::"):
        host = ipaddress.IPv6Address(text).compressed
        ours = ParsecAddr(host, 6770, False)
        assert ours.to_url() == oracle.ParsecAddr.from_url(f"parsec3://[{host}]:6770?no_ssl=true").to_url()
        assert parse_server(ours.to_url()) == ours
