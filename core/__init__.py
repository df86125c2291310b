"""Parsec v3 protocol, keys and device files, free of any GUI import.

This module is core's facade: the shells (``parsec_tray.cli``,
``parsec_tray.tray``) use the names of :data:`__all__` and nothing else
from core, apart from the error tree (``parsec_tray.core.errors``); a test
(tests/test_core_facade.py) holds that line.  Inside core, and in the
tests, the modules are imported directly.

Names load lazily (PEP 562): importing ``parsec_tray.core`` imports no
submodule, and the first use of a name imports the module that defines it.
An idle tray that has not logged in yet so never pays for requests, PyNaCl
or zstandard (about 14 MB).

Every function either returns or raises a
:class:`~parsec_tray.core.errors.ParsecTrayError` whose ``str()`` is a
sentence for a person.  They block (Argon2id ~0.5 s, the network): call
them off any UI thread.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "AccessToken",
    "CreatedDevice",
    "DeviceInfo",
    "DeviceLabel",
    "EmailAddress",
    "EventStream",
    "GreetingAttemptCancelled",
    "GreetingAttemptReady",
    "HumanHandle",
    "Invitation",
    "OrganizationID",
    "ParsecInvitationAddr",
    "ParsecOrganizationBootstrapAddr",
    "Progress",
    "Session",
    "app_config_dir",
    "bootstrap_organization",
    "create_organization",
    "devices_dir",
    "find_device",
    "invite_cancel",
    "invite_list",
    "invite_new_device",
    "invite_new_user",
    "keyring_available",
    "list_devices",
    "login",
    "parse_link",
    "parse_server",
    "protect_with_keyring",
    "validate_person",
]

# Which module of core defines each name of the facade.
_HOMES = {
    "addr": "ParsecInvitationAddr ParsecOrganizationBootstrapAddr parse_link parse_server",
    "event_stream": "EventStream",
    "events": "GreetingAttemptCancelled GreetingAttemptReady Invitation",
    "flows": "CreatedDevice DeviceInfo Progress bootstrap_organization create_organization find_device list_devices login protect_with_keyring validate_person",
    "invitations": "invite_cancel invite_list invite_new_device invite_new_user",
    "keyring_store": "keyring_available",
    "paths": "app_config_dir devices_dir",
    "session": "Session",
    "values": "AccessToken DeviceLabel EmailAddress HumanHandle OrganizationID",
}
_HOME = {name: module for module, names in _HOMES.items() for name in names.split()}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # the next use is a plain lookup
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from .addr import ParsecInvitationAddr, ParsecOrganizationBootstrapAddr, parse_link, parse_server
    from .event_stream import EventStream
    from .events import GreetingAttemptCancelled, GreetingAttemptReady, Invitation
    from .flows import (
        CreatedDevice,
        DeviceInfo,
        Progress,
        bootstrap_organization,
        create_organization,
        find_device,
        list_devices,
        login,
        protect_with_keyring,
        validate_person,
    )
    from .invitations import invite_cancel, invite_list, invite_new_device, invite_new_user
    from .keyring_store import keyring_available
    from .paths import app_config_dir, devices_dir
    from .session import Session
    from .values import AccessToken, DeviceLabel, EmailAddress, HumanHandle, OrganizationID
