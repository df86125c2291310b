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
    "Approval",
    "ClaimDetails",
    "CommonCertificate",
    "CreatedDevice",
    "DeviceInfo",
    "DeviceLabel",
    "EmailAddress",
    "EventStream",
    "GreetingAttemptCancelled",
    "GreetingAttemptReady",
    "HumanHandle",
    "Intent",
    "Invitation",
    "InvitationCancelled",
    "InvitationCompleted",
    "InvitationCreated",
    "InvitationTracker",
    "NOT_A_LINK",
    "OrganizationConfig",
    "OrganizationID",
    "ParsecInvitationAddr",
    "ParsecOrganizationBootstrapAddr",
    "Progress",
    "Protection",
    "ServerConfig",
    "Session",
    "UserClaim",
    "UserInvitation",
    "UserInviteInfo",
    "UserProfile",
    "Waiting",
    "app_config_dir",
    "archive_device_file",
    "bootstrap_organization",
    "change_authentication",
    "check_authentication_change",
    "check_recovery_target",
    "claim",
    "create_organization",
    "default_recovery_path",
    "devices_dir",
    "export_recovery_device",
    "find_device",
    "find_invitation",
    "find_member",
    "forget_keyring_user",
    "greet",
    "import_recovery_device",
    "invite_cancel",
    "invite_info",
    "invite_list",
    "invite_new_device",
    "invite_new_user",
    "keyring_available",
    "list_devices",
    "list_members",
    "login",
    "make_private_dirs",
    "offset_duration",
    "parse_link",
    "parse_server",
    "pick_choice",
    "protect_with_keyring",
    "read_recovery_file",
    "revoke_user",
    "server_config",
    "session_security_warnings",
    "settle_pending_devices",
    "tos_accept",
    "tos_get",
    "validate_person",
]

# Which module of core defines each name of the facade.
_HOMES = {
    "devices": "archive_device_file",
    "device_info": "DeviceInfo Protection",
    "addr": "NOT_A_LINK ParsecInvitationAddr ParsecOrganizationBootstrapAddr parse_link parse_server",
    "event_stream": "EventStream",
    "events": "CommonCertificate GreetingAttemptCancelled GreetingAttemptReady Invitation OrganizationConfig",
    "flows": "CreatedDevice Progress bootstrap_organization create_organization find_device list_devices login protect_with_keyring settle_pending_devices validate_person",
    "invitation_tracker": "Intent InvitationCancelled InvitationCompleted InvitationCreated InvitationTracker Waiting",
    "invitations": "UserInvitation UserInviteInfo invite_cancel invite_info invite_list invite_new_device invite_new_user",
    "invite": "Approval ClaimDetails UserClaim claim find_invitation greet",
    "invite.sas": "pick_choice",
    "keyring_store": "forget_keyring_user keyring_available",
    "members": "find_member list_members revoke_user",
    "own_devices": "session_security_warnings",
    "paths": "app_config_dir devices_dir",
    "private_dirs": "make_private_dirs",
    "protocol": "offset_duration",
    "protection": "change_authentication check_authentication_change",
    "recovery": "check_recovery_target default_recovery_path export_recovery_device import_recovery_device read_recovery_file",
    "server_info": "ServerConfig server_config",
    "session": "Session",
    "tos": "tos_accept tos_get",
    "values": "AccessToken DeviceLabel EmailAddress HumanHandle OrganizationID UserProfile",
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
    from .addr import (
        NOT_A_LINK,
        ParsecInvitationAddr,
        ParsecOrganizationBootstrapAddr,
        parse_link,
        parse_server,
    )
    from .device_info import DeviceInfo, Protection
    from .devices import archive_device_file
    from .event_stream import EventStream
    from .events import (
        CommonCertificate,
        GreetingAttemptCancelled,
        GreetingAttemptReady,
        Invitation,
        OrganizationConfig,
    )
    from .flows import (
        CreatedDevice,
        Progress,
        bootstrap_organization,
        create_organization,
        find_device,
        list_devices,
        login,
        protect_with_keyring,
        settle_pending_devices,
        validate_person,
    )
    from .invitation_tracker import (
        Intent,
        InvitationCancelled,
        InvitationCompleted,
        InvitationCreated,
        InvitationTracker,
        Waiting,
    )
    from .invitations import (
        UserInvitation,
        UserInviteInfo,
        invite_cancel,
        invite_info,
        invite_list,
        invite_new_device,
        invite_new_user,
    )
    from .invite import Approval, ClaimDetails, UserClaim, claim, find_invitation, greet
    from .invite.sas import pick_choice
    from .keyring_store import forget_keyring_user, keyring_available
    from .members import find_member, list_members, revoke_user
    from .own_devices import session_security_warnings
    from .paths import app_config_dir, devices_dir
    from .private_dirs import make_private_dirs
    from .protection import change_authentication, check_authentication_change
    from .protocol import offset_duration
    from .recovery import (
        check_recovery_target,
        default_recovery_path,
        export_recovery_device,
        import_recovery_device,
        read_recovery_file,
    )
    from .server_info import ServerConfig, server_config
    from .session import Session
    from .tos import tos_accept, tos_get
    from .values import AccessToken, DeviceLabel, EmailAddress, HumanHandle, OrganizationID, UserProfile
