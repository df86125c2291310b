"""The anonymous ``server_config`` against the real server: a normal one
wants an administration token, a spontaneous one creates organizations on
request; a server that cannot be reached says so in words."""

from __future__ import annotations

import pytest
from parsec_server import ParsecServer, free_port
from parsec_tray.core import errors as E
from parsec_tray.core import server_config


def test_a_normal_server_asks_for_a_token(parsec_server: ParsecServer) -> None:
    assert server_config(parsec_server.url).creates_organizations_on_request is False


def test_a_spontaneous_server_creates_organizations_on_request(spontaneous_server: ParsecServer) -> None:
    assert server_config(spontaneous_server.url).creates_organizations_on_request is True


def test_nobody_there_is_said_in_words() -> None:
    with pytest.raises(E.ServerUnreachableError) as err:
        server_config(f"parsec3://127.0.0.1:{free_port()}?no_ssl=true")
    assert "Traceback" not in str(err.value) and str(err.value)


def test_not_a_server_address_is_a_bad_link() -> None:
    with pytest.raises((E.InvalidLinkError, E.InvalidValueError)):
        server_config("http//nowhere")
