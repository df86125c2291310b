"""Inline validation of the dialogs: core's rules, plain sentences."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from parsec_tray.core.addr import NOT_A_LINK
from parsec_tray.tray import validation as V

LINK = "parsec3://127.0.0.1:6770/MyOrg?no_ssl=true&a=bootstrap_organization&p=xBCy2YVGB31DPzcxGZbGVUt7"


def test_create_step1() -> None:
    ok = {
        "email": "alice@example.com",
        "organization": "My-Org_2",
        "server": "parsec3://127.0.0.1:6770?no_ssl=true",
    }
    assert V.validate("create", 1, ok) == {}
    bad = V.validate("create", 1, {"email": "alice", "organization": "my org", "server": "ftp://x"})
    assert set(bad) == {"email", "organization", "server"}
    assert bad["organization"].startswith("This is not a valid organization name")
    assert "name@example.com" in bad["email"]
    assert V.validate("create", 1, {"email": "", "organization": "", "server": ""}) == {
        "email": "Enter your email address.",
        "organization": "Enter a name for the organization.",
        "server": "Enter the server's address (parsec3://host or https://host).",
    }


def test_organization_rules_follow_core() -> None:
    assert V.check_organization("a" * 32) is None
    assert V.check_organization("a" * 33) is not None
    assert V.check_organization("Équipe") is None  # unicode word characters
    assert V.check_organization("a.b") is not None


def test_step2_passwords() -> None:
    base = {"user_name": "Alice", "device_label": "laptop"}
    assert V.validate("create", 2, {**base, "password": "correct horse", "confirm": "correct horse"}) == {}
    errors = V.validate("join", 2, {**base, "password": "correct horse", "confirm": "correct hors"})
    assert errors == {"confirm": "The two passwords differ."}
    errors = V.validate("create", 2, {**base, "password": "short", "confirm": "short"})
    assert errors == {"password": "Too short: use at least 8 characters."}
    errors = V.validate("create", 2, {"user_name": "a<b", "device_label": "", "password": "", "confirm": ""})
    assert set(errors) == {"user_name", "device_label", "password"}


def test_join_step1_link() -> None:
    assert V.check_link(LINK) is None
    assert V.describe_link(LINK) == "Organization MyOrg on 127.0.0.1:6770, not encrypted (test server)"
    invitation = "parsec3://127.0.0.1:6770/MyOrg?no_ssl=true&a=claim_user&p=xBCy2YVGB31DPzcxGZbGVUt7"
    assert "invitation link" in (V.check_link(invitation) or "")
    assert V.describe_link("nonsense") is None
    # Not a link at all: what it should look like, and what to do.
    assert V.check_link("https://example.com/MyOrg") == NOT_A_LINK  # core's sentence, the one source
    assert V.check_join_link("example.com/MyOrg") == NOT_A_LINK
    assert NOT_A_LINK.startswith("This is not a Parsec link: it should start with parsec3://")
    assert V.validate("join", 1, {"link": LINK, "email": "bob@example.com"}) == {}


def test_login() -> None:
    assert V.validate("login", 1, {"password": ""}) == {"password": "Enter the password of this device."}
    assert V.validate("login", 1, {"password": "x"}) == {}  # the file decides


@pytest.mark.parametrize(
    ("password", "score"),
    [
        ("", 0),
        ("abc", 0),
        ("password", 1),
        ("aaaaaaaaaaaa", 1),
        ("abcdefgh", 1),
        ("abcdefghijkl", 2),
        ("Abcdefgh1!", 2),
        ("Abcdefghijk1", 3),
        ("correct horse battery staple", 3),
        ("Correct horse battery 9", 4),
    ],
)
def test_strength(password: str, score: int) -> None:
    assert V.password_strength(password)[0] == score


@given(st.text(max_size=40))
def test_strength_is_total_and_bounded(password: str) -> None:
    score, label = V.password_strength(password)
    assert 0 <= score <= 4
    assert (V.check_password(password) is None) == (score >= 1)
    assert bool(label) == bool(password)
