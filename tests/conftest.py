from __future__ import annotations

import itertools
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from parsec_server import ParsecServer, free_port, have_parsec_server  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() == "true"
# The tests read English sentences whatever the machine's locale: LANGUAGE
# comes first in gettext's order, for this process and every child
# (tests/test_i18n.py sets the language it tests explicitly).
os.environ["LANGUAGE"] = "en"
_org_counter = itertools.count()


def require(condition: bool, what: str) -> None:
    """Skip locally when a component is missing; fail under CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is missing; under CI every component must be present")
    pytest.skip(f"{what} is missing")


@pytest.fixture(scope="session")
def parsec_server() -> Iterator[ParsecServer]:
    require(have_parsec_server(), "parsec-cloud 3.9.3 (the reference server)")
    with ParsecServer(free_port()) as server:
        yield server


@pytest.fixture(scope="session")
def spontaneous_server() -> Iterator[ParsecServer]:
    require(have_parsec_server(), "parsec-cloud 3.9.3 (the reference server)")
    with ParsecServer(free_port(), spontaneous=True) as server:
        yield server


@pytest.fixture
def org_name(request: pytest.FixtureRequest) -> str:
    """A fresh organization name for each test (servers are shared)."""
    base = "".join(c for c in request.node.name if c.isalnum())[:20] or "Org"
    return f"{base}{os.getpid() % 1000}n{next(_org_counter)}"


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated Parsec config/data home (the official overrides)."""
    cfg = tmp_path / "config"
    data = tmp_path / "data"
    monkeypatch.setenv("PARSEC_BASE_CONFIG_DIR", str(cfg))
    monkeypatch.setenv("PARSEC_BASE_DATA_DIR", str(data))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    return cfg


@pytest.fixture
def fast_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process flows only: cheap Argon2id (key strength is not under test)."""
    from parsec_tray.core.crypto import Argon2idParams

    monkeypatch.setattr(
        Argon2idParams, "new_default", classmethod(lambda cls: cls(8, 1, 1, secrets.token_bytes(16)))
    )
