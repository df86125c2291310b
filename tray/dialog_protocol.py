"""The dialog protocol: how the tray process and a dialog process talk.

Each dialog (and the fallback window) is its own process,
``python -m parsec_tray.tray.tk_dialogs KIND`` (:class:`Kind`), started by
:class:`~.dialogs.DialogProcess`.  Its stdin and stdout carry one JSON
object per line (UTF-8, ``\\n``-terminated), each with a ``type``.  The
dialog never calls the network or decrypts anything: it validates fields
inline, sends what the person typed and shows what the tray answers.

Tray -> dialog (:class:`ToDialog`)
----------------------------------
``init``      first line, always: the dialog's initial values (per kind:
              ``server``, ``link``, ``device``, ``error``, ``mode``,
              ``organization_id``, ``title``/``text``, ``entries``...)
``raise``     show the window again (the menu entry was chosen once more)
``progress``  ``text``: what the running flow is doing
``error``     ``message``, and where it belongs: ``step`` (1, 2 or null) and
              ``field`` (a field name or null); the dialog stays open
``result``    the flow is over and the dialog stays open to show it
              (an invitation's ``link``, ``email_sent``, ``note``; a created
              organization's ``organization`` and ``device``; a recovery
              file's ``organization``, ``path`` and ``passphrase``)
``done``      the flow succeeded: the dialog closes
``list``      ``items``: the pending invitations (Pending invitations), the
              organization's users (Members)
``server``    ``creates_on_request``: whether the server asked about creates
              organizations on request (Create organization; answers
              ``ask_server``)
``menu``      ``title`` and ``entries`` (the fallback window's menu)
``close``     close now
``waiting``   (Greet) waiting for the guest: back to step 1; ``banner``:
              why, after a wrong code, or null
``code``      (Greet) ``code``: the greeter's code, to read aloud (step 2)
``choices``   (Greet) ``choices``: 4 codes, one of them the guest's (step 3)
``claim``     (Greet) what the guest asks for: ``email`` (a user
              invitation's, fixed), ``user_name``, ``device_label`` (step 4)
``details``   (Claim) your turn to say who you are: ``user_name`` and
              ``device_label`` suggested (step 5); ``waiting``, ``code``
              and ``choices`` move Claim too (steps 2, 4 and 3)

Dialog -> tray (:class:`FromDialog`)
------------------------------------
``shown``              the window is mapped and has the focus
``state``              what it shows changed: ``step`` (wizards; else null),
                       ``busy``, ``errors`` (field -> message), ``banner``
                       (the message shown without a field, or null) and
                       ``focus`` (the field or button id, or ``@copy``, that
                       the window's keystrokes go to; null for none of
                       them); sent after ``shown`` and after each key press
                       or message that changed it
``submit``             ``values``: the fields, validated
``cancel``             the person closed the dialog
``cancel_invitation``  ``token`` (hex) to cancel (Pending invitations)
``refresh``            read the invitations again (Pending invitations)
``ask_server``         ``server``: how does it create organizations? (Create
                       organization, before its step 2)
``rendered``           ``count`` rows are on screen (Pending invitations, Members)
``revoke_user``        ``user_id`` (hex) to revoke, once confirmed (Members)
``action``             ``action`` and ``arg`` of a menu entry (the window), or
                       of a next step offered once an organization is created
                       (``invite_device``, ``create_recovery``, ``invite_user``;
                       ``arg``: the new device's key)
``greet``              ``token`` (hex) to greet (Pending invitations'
                       Greet button: opens the greeting dialog)
``choose``             (Greet, Claim) ``code``: the other side's code as
                       chosen, or null for "None of these"
``start``              (Claim) the person read what the link is and goes on:
                       the tray starts the claim
``confirmed``          the person ticked that the recovery file and its
                       passphrase are both kept (Create a recovery file)

Invariants: ``init`` is the first line the tray writes; a dialog whose
stdin ends (the tray is gone) closes itself; unknown types are ignored on
both sides, so either side may be newer; no secret crosses except the
``values`` of ``submit`` (a password on its way to core) and a new
recovery file's ``passphrase`` in ``result`` (shown to be kept; the tray
never writes it to its status).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, Literal, NotRequired, TypedDict

__all__ = [
    "ActionMsg",
    "CancelInvitationMsg",
    "ErrorMsg",
    "FromDialog",
    "Kind",
    "ListMsg",
    "MenuMsg",
    "ProgressMsg",
    "RenderedMsg",
    "ResultMsg",
    "StateMsg",
    "SubmitMsg",
    "ToDialog",
    "decode",
    "encode",
    "error",
    "progress",
]


class Kind(StrEnum):
    """What a dialog process shows (its command-line argument)."""

    CREATE = "create"
    JOIN = "join"
    LOGIN = "login"
    INVITE_USER = "invite_user"
    INVITE_DEVICE = "invite_device"
    INVITATIONS = "invitations"
    GREET = "greet"
    CLAIM = "claim"
    RECOVERY_EXPORT = "recovery_export"
    RECOVERY_IMPORT = "recovery_import"
    CHANGE_AUTH = "change_auth"
    TERMS = "terms"
    MEMBERS = "members"
    MESSAGE = "message"
    WINDOW = "window"


class ToDialog(StrEnum):
    INIT = "init"
    RAISE = "raise"
    PROGRESS = "progress"
    ERROR = "error"
    RESULT = "result"
    DONE = "done"
    LIST = "list"
    SERVER = "server"
    MENU = "menu"
    CLOSE = "close"
    WAITING = "waiting"
    CODE = "code"
    CHOICES = "choices"
    CLAIM = "claim"
    DETAILS = "details"


class FromDialog(StrEnum):
    SHOWN = "shown"
    STATE = "state"
    SUBMIT = "submit"
    CANCEL = "cancel"
    CANCEL_INVITATION = "cancel_invitation"
    REFRESH = "refresh"
    ASK_SERVER = "ask_server"
    RENDERED = "rendered"
    ACTION = "action"
    CHOOSE = "choose"
    GREET = "greet"
    CONFIRMED = "confirmed"
    REVOKE_USER = "revoke_user"
    START = "start"


# -- tray -> dialog ---------------------------------------------------------------


class ProgressMsg(TypedDict):
    type: Literal[ToDialog.PROGRESS]
    text: str


class ErrorMsg(TypedDict):
    type: Literal[ToDialog.ERROR]
    message: str
    step: NotRequired[int | None]
    field: NotRequired[str | None]


class ResultMsg(TypedDict, total=False):
    type: Literal[ToDialog.RESULT]
    link: str
    email_sent: str
    note: str


class ListMsg(TypedDict):
    type: Literal[ToDialog.LIST]
    items: list[dict[str, Any]]


class MenuMsg(TypedDict):
    type: Literal[ToDialog.MENU]
    title: str
    entries: list[dict[str, Any]]


# -- dialog -> tray ---------------------------------------------------------------


class StateMsg(TypedDict):
    type: Literal[FromDialog.STATE]
    step: int | None
    busy: bool
    errors: dict[str, str]
    banner: str | None
    focus: str | None


class SubmitMsg(TypedDict):
    type: Literal[FromDialog.SUBMIT]
    values: dict[str, Any]


class CancelInvitationMsg(TypedDict):
    type: Literal[FromDialog.CANCEL_INVITATION]
    token: str


class RenderedMsg(TypedDict):
    type: Literal[FromDialog.RENDERED]
    count: int


class ActionMsg(TypedDict):
    type: Literal[FromDialog.ACTION]
    action: str
    arg: str | None


# -- building and reading lines ------------------------------------------------------


def progress(text: str) -> ProgressMsg:
    return {"type": ToDialog.PROGRESS, "text": text}


def error(message: str, *, step: int | None = None, field: str | None = None) -> ErrorMsg:
    return {"type": ToDialog.ERROR, "message": message, "step": step, "field": field}


def encode(msg: Any) -> str:
    """One message as one line (with its ``\\n``)."""
    return json.dumps(msg) + "\n"


def decode(line: str | bytes) -> dict[str, Any] | None:
    """One line as a message; None when it is not a JSON object."""
    try:
        msg = json.loads(line)
    except ValueError:
        return None
    return msg if isinstance(msg, dict) else None
