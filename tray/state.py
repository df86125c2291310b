"""What the tray app knows, as a table-driven state machine (no I/O, no GUI).

States are named after what the app knows about one session (the app
holds several at once, one per logged-in device: each has its own machine,
and the icon shows :func:`most_urgent` of them):

- ``logged_out``: no device is unlocked;
- ``connecting``: a device is unlocked, the server has not answered yet;
- ``online``: the server accepted the device's last authenticated request;
- ``offline``: the last request did not reach the server;
- ``needs_attention``: the server answered but refused the device (revoked,
  clock out of sync, protocol mismatch): a person must act.

Invariant: the state changes only through :data:`TRANSITIONS`; an event that
has no entry for the current state raises :class:`IllegalTransition` and
leaves the state as it was.  :class:`Snapshot` is an immutable picture of
the sessions (:class:`SessionView`) plus what the menu and ``parsec-tray
status`` show; its top-level ``identity``/``reason``/``live``/``waiting``
are the most recently used session's, its ``state`` the icon's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core import DeviceInfo

from .i18n import N_, _

__all__ = [
    "REFUSALS",
    "TRANSITIONS",
    "Refusal",
    "RefusalRule",
    "Retry",
    "Event",
    "Identity",
    "IllegalTransition",
    "SessionView",
    "Snapshot",
    "State",
    "StateMachine",
    "most_urgent",
    "next_state",
]


class State(StrEnum):
    LOGGED_OUT = "logged_out"
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"
    NEEDS_ATTENTION = "needs_attention"

    @property
    def logged_in(self) -> bool:
        return self is not State.LOGGED_OUT


class Event(StrEnum):
    UNLOCKED = "unlocked"  # a device was decrypted: a new session exists
    REACHED = "reached"  # an authenticated request succeeded
    UNREACHABLE = "unreachable"  # a request did not reach the server
    REFUSED = "refused"  # the server refused the device
    RETRY = "retry"  # a new attempt to reach the server, after a failure
    LOGGED_OUT = "logged_out"  # the session was closed


_S, _E = State, Event
_IN = (_S.CONNECTING, _S.ONLINE, _S.OFFLINE, _S.NEEDS_ATTENTION)

TRANSITIONS: dict[tuple[State, Event], State] = {
    (_S.LOGGED_OUT, _E.UNLOCKED): _S.CONNECTING,
    # Creating or joining an organization while logged in switches device.
    **{(s, _E.UNLOCKED): _S.CONNECTING for s in _IN},
    **{(s, _E.REACHED): _S.ONLINE for s in _IN},
    **{(s, _E.UNREACHABLE): _S.OFFLINE for s in _IN},
    **{(s, _E.REFUSED): _S.NEEDS_ATTENTION for s in _IN},
    **{(s, _E.LOGGED_OUT): _S.LOGGED_OUT for s in _IN},
    (_S.OFFLINE, _E.RETRY): _S.CONNECTING,
    (_S.NEEDS_ATTENTION, _E.RETRY): _S.CONNECTING,
}


# Least urgent first: the icon shows the last one any session is in.
URGENCY = (_S.LOGGED_OUT, _S.ONLINE, _S.CONNECTING, _S.OFFLINE, _S.NEEDS_ATTENTION)


def most_urgent(states: Iterable[State]) -> State:
    """The state the icon shows for sessions in ``states`` (none: logged out)."""
    return max(states, key=URGENCY.index, default=State.LOGGED_OUT)


class Refusal(StrEnum):
    """Why the server refused a logged-in device: each its own session state
    (the machine's ``needs_attention``, told apart by this)."""

    REVOKED = "revoked"
    FROZEN = "frozen"
    EXPIRED = "expired"
    NOT_FOUND = "organization_not_found"
    TOS = "terms_of_service"
    CLOCK = "clock_drift"
    INCOMPATIBLE = "incompatible_server"


class Retry(StrEnum):
    NEVER = "never"  # the session ends (revoked) or waits for the person
    SLOW = "slow"  # a slow, bounded retry, and "Check again" in the menu
    ON_ACCEPT = "on_accept"  # reconnected at once when the terms are accepted


@dataclass(frozen=True)
class RefusalRule:
    """What the tray says and does about one :class:`Refusal`.  The texts
    have named placeholders: ``{org}``, and ``{detail}`` (the clock's
    offset, the API versions), and are translated where shown."""

    status: str  # the session's status line in the menu
    title: str  # the one notification's title
    body: str
    retry: Retry


REFUSALS: dict[Refusal, RefusalRule] = {
    Refusal.REVOKED: RefusalRule(
        N_("Revoked from {org}"),
        N_("Revoked from {org}"),
        N_(
            "You have been revoked from {org}: this device cannot open it any more. "
            "If you think this is a mistake, contact an administrator."
        ),
        Retry.NEVER,
    ),
    Refusal.FROZEN: RefusalRule(
        N_("Frozen in {org}: contact an administrator"),
        N_("Frozen in {org}"),
        N_(
            "Your account in {org} has been frozen. Contact an administrator; "
            "Parsec Tray will come back online by itself once it is unfrozen."
        ),
        Retry.SLOW,
    ),
    Refusal.EXPIRED: RefusalRule(
        N_("{org} has expired: contact an administrator"),
        N_("{org} has expired"),
        N_(
            "The organization {org} has expired. Contact an administrator; "
            "Parsec Tray will come back online by itself if it is renewed."
        ),
        Retry.SLOW,
    ),
    Refusal.NOT_FOUND: RefusalRule(
        N_("{org} is not on the server any more"),
        N_("{org} not found"),
        N_("The server does not know the organization {org} any more. Contact the server's administrator."),
        Retry.SLOW,
    ),
    Refusal.TOS: RefusalRule(
        N_("New terms of service to accept for {org}"),
        N_("New terms of service in {org}"),
        N_("{org} has new terms of service. Review and accept them from the Parsec Tray menu to go on."),
        Retry.ON_ACCEPT,
    ),
    Refusal.CLOCK: RefusalRule(
        N_("The computer's clock is off {detail}"),
        N_("Clock out of sync for {org}"),
        N_(
            "The server of {org} refused this device because the computer's clock is off {detail}. "
            "Set the clock right (or turn on automatic time), then choose Check again."
        ),
        Retry.NEVER,
    ),
    Refusal.INCOMPATIBLE: RefusalRule(
        N_("The server of {org} is not compatible"),
        N_("Server not compatible for {org}"),
        N_(
            "The server of {org} and this version of Parsec Tray have no protocol in common ({detail}). "
            "Update Parsec Tray, or contact the server's administrator."
        ),
        Retry.NEVER,
    ),
}


# While only this device can open the organization (see ``SessionView.at_risk``);
# translated where shown.
AT_RISK_STATUS = N_("Only this computer can open {org}: create a recovery file or add a device")
AT_RISK_TITLE = N_("Only this computer can open {org}")
AT_RISK_BODY = N_(
    "If the keys on this computer are lost, {org} cannot be opened any more. "
    "Create a recovery file or add a device from the Parsec Tray menu."
)


class IllegalTransition(Exception):
    def __init__(self, state: State, event: Event) -> None:
        super().__init__(f"event {event.value!r} is not allowed in state {state.value!r}")
        self.state = state
        self.event = event


def next_state(state: State, event: Event) -> State:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(state, event) from None


class StateMachine:
    """The current state; :meth:`handle` applies the table."""

    def __init__(self, state: State = State.LOGGED_OUT) -> None:
        self.state = state

    def handle(self, event: Event) -> State:
        self.state = next_state(self.state, event)
        return self.state


@dataclass(frozen=True)
class Identity:
    """Who the app is logged in as."""

    organization_id: str
    user_id: str
    device_id: str
    server_url: str
    user_name: str = ""
    email: str = ""
    device_label: str = ""
    # The user's profile as the device knows it (ADMIN | STANDARD | OUTSIDER;
    # "" when unknown).  Only decides which menu entries are offered: the
    # server checks every request anyway.
    profile: str = ""

    @property
    def is_admin(self) -> bool:
        return self.profile == "ADMIN"


@dataclass(frozen=True)
class SessionView:
    """One logged-in device as the menu and ``status`` show it.  ``key`` is
    the device file (:attr:`DeviceInfo.key`): what the menu's actions for
    this session carry as their ``arg``."""

    key: str
    identity: Identity
    state: State
    reason: str | None = None
    live: bool = False
    waiting: tuple[str, ...] = ()
    # Their invitations' tokens (hex), in the same order.
    waiting_tokens: tuple[str, ...] = ()
    # The event stream's own state (``connecting``/``online``/...), if any.
    stream: str | None = None
    # Why the server refuses the device (with ``needs_attention``), and the
    # detail its texts name (``{detail}``: the clock's offset...).
    refusal: Refusal | None = None
    refusal_detail: str = ""
    # How many slow retries the refusal has had (``status`` shows it).
    retries: int = 0
    # Only this device can open the organization (no recovery file, no
    # other device): the icon shows attention while online.
    at_risk: bool = False
    # The organization's configuration (ORGANIZATION_CONFIG), once known:
    # whether External users are allowed, the active users' limit (None: none).
    outsider_allowed: bool | None = None
    active_users_limit: int | None = None

    def refusal_text(self, which: str = "status") -> str:
        """The refusal's ``status``/``title``/``body`` sentence ("" without one)."""
        if self.refusal is None:
            return ""
        text: str = getattr(REFUSALS[self.refusal], which)
        return _(text).format(org=self.identity.organization_id, detail=self.refusal_detail)

    def status_json(self) -> dict[str, Any]:
        ident = self.identity
        out: dict[str, Any] = {
            "organization_id": ident.organization_id,
            "user_id": ident.user_id,
            "device_id": ident.device_id,
            "server_url": ident.server_url,
            "state": self.state.value,
        }
        if self.stream is not None:
            out["stream"] = self.stream
        if self.at_risk:
            out["at_risk"] = True
        if self.refusal is not None:
            out["refusal"] = self.refusal.value
            out["retries"] = self.retries
            if self.refusal_detail:  # the clock's offset, the API versions of each side
                out["refusal_detail"] = self.refusal_detail
        if self.outsider_allowed is not None:
            out["organization_config"] = {
                "user_profile_outsider_allowed": self.outsider_allowed,
                "active_users_limit": self.active_users_limit,
            }
        return out


@dataclass(frozen=True)
class Snapshot:
    state: State = State.LOGGED_OUT
    identity: Identity | None = None
    devices: tuple[DeviceInfo, ...] = ()
    # Why the app is offline or needs attention: a sentence for a person.
    reason: str | None = None
    # The loopback server of ``parsec-tray demo``, when there is one.
    demo_server: str | None = None
    # A real session with its event stream: the invitation entries exist.
    live: bool = False
    # Who is waiting to be greeted (emails, or "A new device"...), oldest first.
    waiting: tuple[str, ...] = ()
    # Start at login: None when this system has no way to do it (entry hidden).
    autostart: bool | None = None
    # Started at login with a password device: open the Log in dialog at once
    # (True) or show a "Click to log in" notification (False).
    login_dialog_at_start: bool = False
    # Log out when the screen locks: None when this desktop does not say
    # when it locks (entry hidden).
    logout_on_lock: bool | None = None
    # Every logged-in device, in the order they were logged in to.  Empty
    # with a logged-in ``state``: one session, described by the top-level
    # fields (see :meth:`views`).
    sessions: tuple[SessionView, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def icon(self) -> State:
        """The state the icon shows: the most urgent of the sessions', and
        attention while a session online is at risk."""
        risky = (State.NEEDS_ATTENTION for v in self.views() if v.at_risk and v.state is State.ONLINE)
        return most_urgent([self.state, *risky])

    @property
    def icon_refusal(self) -> Refusal | None:
        """The refusal whose own icon replaces the attention icon: the first
        refused session's (None when the icon does not show attention, or
        shows it for another reason)."""
        if self.icon is not State.NEEDS_ATTENTION:
            return None
        return next(
            (v.refusal for v in self.views() if v.state is State.NEEDS_ATTENTION and v.refusal is not None),
            None,
        )

    @property
    def icon_waiting(self) -> int:
        """How many people the icon's badge says are waiting to be greeted
        (every session's)."""
        views = self.views()
        return sum(len(v.waiting) for v in views) if views else len(self.waiting)

    def views(self) -> tuple[SessionView, ...]:
        """The sessions to show, one per logged-in device."""
        if self.sessions:
            return self.sessions
        if self.state.logged_in and self.identity is not None:
            return (SessionView("", self.identity, self.state, self.reason, self.live, self.waiting),)
        return ()

    def status_json(self) -> dict[str, Any]:
        """What ``parsec-tray status --json`` prints."""
        ident = self.identity if self.state.logged_in else None
        out: dict[str, Any] = {
            "running": True,
            "state": self.state.value,
            "icon": self.icon.value,
            # The image's name (a refusal's own icon) and the waiting badge.
            "icon_image": f"refusal-{r.value}" if (r := self.icon_refusal) else f"state-{self.icon.value}",
            "icon_badge": self.icon_waiting,
            "organization_id": ident.organization_id if ident else None,
            "user_id": ident.user_id if ident else None,
            "device_id": ident.device_id if ident else None,
            "server_url": ident.server_url if ident else None,
        }
        if ident:
            out["user_name"] = ident.user_name
            out["email"] = ident.email
            out["device_label"] = ident.device_label
        if self.reason:
            out["reason"] = self.reason
        if self.demo_server:
            out["demo_server"] = self.demo_server
        if ident and self.live:
            out["profile"] = ident.profile
            out["waiting"] = list(self.waiting)
        if self.autostart is not None:
            out["autostart"] = self.autostart
        if self.logout_on_lock is not None:
            out["logout_on_lock"] = self.logout_on_lock
        out["sessions"] = [v.status_json() for v in self.views()]
        out.update(self.extra)
        return out
