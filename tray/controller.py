"""The tray app's coordinator, between the shell (icon or window), the
dialogs and core.  No GUI import here.

It holds small rooms, each named after what it holds, and wires them:

- :class:`~.sessions.Sessions`: one :class:`~.sessions.SessionHolder` per
  logged-in device (its session, state machine, event stream, invitation
  tracker); the icon shows the most urgent state of all;
- :class:`~.dialogs.DialogManager`: the dialog processes, whose status is
  computed from them; :mod:`.dialog_flows` holds one handler per (dialog
  kind, message) and the flows ``submit`` starts;
- :class:`~.notices.Notices`: the notifications (one pump for every
  session's invitation intents; a click opens that organization's
  invitations);
- :mod:`.startup`: the quick login of ``--autostart`` and the start-at-login
  settings; :mod:`.requests`: what other launches ask on the instance socket;
- :class:`~.devices.DeviceLister`: the devices on this computer.

Threads: the shell's main loop calls :meth:`Controller.perform` (through
:data:`ACTIONS`) and :meth:`Controller.menu_opened`; the instance server
calls :meth:`Controller.handle_request`; dialog reader threads deliver
messages; flows (Argon2id, network) run in short-lived worker threads, so
the menu never waits for them.  One lock guards the state; the shell is told
about every change through ``shell.refresh(snapshot, entries)``.

Results of work started for a holder (a ping, a stream state) are about that
holder: once it is logged out (or replaced by a new login to the same
device) they change nothing.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core import errors as E
from . import dialog_flows, greeting, requests, startup
from .devices import DeviceLister
from .dialog_protocol import Kind
from .dialogs import DialogManager, DialogProcess
from .menu import Action, Entry, build_menu, parse_greet_arg
from .notices import Notices
from .sessions import SessionHolder, Sessions, refusal_of, session_key
from .state import (
    AT_RISK_BODY,
    AT_RISK_TITLE,
    REFUSALS,
    DeviceSummary,
    Event,
    Identity,
    Refusal,
    Retry,
    Snapshot,
    State,
)
from .validation import recovery_file_of

if TYPE_CHECKING:
    from .backends.base import Shell
    from .coalesce import Intent
    from .screenlock import ScreenLockMonitor

__all__ = ["ACTIONS", "AppOptions", "Controller"]

log = logging.getLogger(__name__)

# The first menu waits at most this long for the first device listing.
FIRST_LISTING_WAIT = 5.0

_NO_TERMS = "{org} has no terms of service any more."
_OPEN_TERMS = "Open {url} in a browser to read the terms of service."


@dataclass(frozen=True)
class AppOptions:
    """Where devices live is core's business (``PARSEC_BASE_CONFIG_DIR``)."""

    default_server: str | None = None
    admin_token: str | None = None
    demo_server: str | None = None
    # Started at login (``--autostart``): log in at once to the devices that
    # were logged in when the app last quit.
    autostart: bool = False
    # While online without an event stream, opening the menu checks the
    # server at most this often (seconds).  No timer ever runs: an idle tray
    # uses no CPU.
    check_interval: float = 60.0
    # The longest wait between two reconnections of an event stream
    # (seconds; None: the stream's own default).
    reconnect_max: float | None = None
    # After a refusal that may end by itself (frozen, expired, organization
    # not found, terms of service), the first retry waits this long
    # (seconds), each next one twice as long, up to ``refusal_retry_max``.
    refusal_retry: float = 60.0
    refusal_retry_max: float = 1800.0

    @classmethod
    def from_environment(cls, env: Mapping[str, str], **fields: Any) -> AppOptions:
        """``fields``, and the two timings the environment may override
        (``PARSEC_TRAY_CHECK_INTERVAL``, ``PARSEC_TRAY_BACKOFF_MAX``,
        ``PARSEC_TRAY_REFUSAL_RETRY``: the end-to-end tests make them short)."""
        timings: dict[str, Any] = {}
        if env.get("PARSEC_TRAY_REFUSAL_RETRY"):
            timings["refusal_retry"] = float(env["PARSEC_TRAY_REFUSAL_RETRY"])
        if env.get("PARSEC_TRAY_CHECK_INTERVAL"):
            timings["check_interval"] = float(env["PARSEC_TRAY_CHECK_INTERVAL"])
        if env.get("PARSEC_TRAY_BACKOFF_MAX"):
            timings["reconnect_max"] = float(env["PARSEC_TRAY_BACKOFF_MAX"])
        return cls(**{**timings, **fields})


def _server_display(url: str) -> str:
    rest = url.split("://", 1)[-1]
    host, _, query = rest.partition("?")
    return host + (", not encrypted (test server)" if "no_ssl=true" in query else "")


def _in_thread(fn: Callable[..., Any], name: str, *args: Any) -> None:
    threading.Thread(target=fn, args=args, name=name, daemon=True).start()


class Controller:
    def __init__(self, options: AppOptions | None = None) -> None:
        self.options = options or AppOptions()
        self._lock = threading.RLock()
        self._sessions = Sessions()
        self._settings_lock = threading.Lock()
        self._devices: tuple[DeviceSummary, ...] = ()
        self._lister = DeviceLister(self._devices_changed)
        self._dialogs = DialogManager(lambda dlg, msg: dialog_flows.on_dialog_message(self, dlg, msg))
        self._shell: Shell | None = None
        self._quitting = False
        self._pending_link: str | None = None
        self._flows: list[threading.Thread] = []
        self._notices = Notices(self._open_invitations_of, on_greet=self._greet_of)
        self.autostart_enabled: bool | None = None
        self.login_dialog_at_start = False
        # Log out when the screen locks (None: this desktop cannot tell);
        # its monitor while on; the devices logged out by the last lock.
        self.logout_on_lock: bool | None = None
        self.screenlock: ScreenLockMonitor | None = None
        self._locked_out: list[str] = []

    # -- state ----------------------------------------------------------------

    def attach(self, shell: Shell) -> None:
        self._shell = shell

    @property
    def state(self) -> State:
        """The icon's state: the most urgent of the sessions'."""
        with self._lock:
            return self._sessions.icon_state()

    @property
    def checking(self) -> bool:
        """Whether a connection check is in flight."""
        with self._lock:
            return any(h.checking for h in self._sessions)

    def snapshot(self) -> Snapshot:
        with self._lock:
            views = self._sessions.views()
            current = self._sessions.current
            view = next((v for v in views if current is not None and v.key == current.key), None)
            extra: dict[str, Any] = {
                "dialogs": self._dialogs.status(),
                "backend": self._shell.name if self._shell else None,
            }
            if view is not None and view.live:
                extra["stream"] = view.stream
            notified = self._notices.recent()
            if notified:
                extra["notified"] = notified
            return Snapshot(
                state=self._sessions.icon_state(),
                identity=view.identity if view else None,
                devices=self._devices,
                reason=view.reason if view else None,
                demo_server=self.options.demo_server,
                live=view.live if view else False,
                waiting=view.waiting if view else (),
                autostart=self.autostart_enabled,
                login_dialog_at_start=self.login_dialog_at_start,
                logout_on_lock=self.logout_on_lock,
                sessions=views,
                extra=extra,
            )

    def menu(self) -> tuple[Entry, ...]:
        return build_menu(self.snapshot())

    def changed(self) -> None:
        shell = self._shell
        if shell is not None and not self._quitting:
            snap = self.snapshot()
            shell.refresh(snap, build_menu(snap))
            self._notices.still_waiting(t for v in snap.sessions for t in v.waiting_tokens)

    def notified(self, title: str, body: str, *, delivered: bool) -> None:
        """A notification was handed to the notifier (``status`` lists them)."""
        self._notices.notified(title, body, delivered=delivered)

    def _fire(self, holder: SessionHolder, event: Event) -> bool:
        """Apply ``event`` to ``holder``'s state (nothing once it is gone)."""
        with self._lock:
            fired = holder.fire(event)
        if fired:
            self.changed()
        return fired

    # -- start-up ---------------------------------------------------------------

    def started(self) -> None:
        """Called by the shell once its icon is up (embedded, where the
        shell can tell).

        The device list (a child process importing core, ~0.3 s of CPU) is
        read at once, so that it is ready for the first menu (which waits
        for it, if it is not); a link given on the command line opens at once.
        """
        link, self._pending_link = self._pending_link, None
        if link:
            _in_thread(self.open_link, "open-link", link)
        startup.read_autostart(self)
        if self.autostart_enabled is not None:
            self.changed()  # the "Start at login" entry
        _in_thread(startup.watch_screen_lock, "screenlock", self)
        self._watch_devices()
        if self.options.autostart and not link:
            _in_thread(startup.quick_login_all, "quick-login", self)
            return
        self._lister.refresh(force=True)

    def queue_link(self, link: str) -> None:
        """A link given on the command line of the first launch."""
        self._pending_link = link

    def _watch_devices(self) -> None:
        """A device made elsewhere (the CLI, the official client) is in the
        very next menu: the shell watches the devices folder where it can;
        elsewhere the menu-open hook scans it."""
        shell = self._shell
        if shell is None or not shell.HAS_FILE_WATCH:
            return
        from ..core import devices_dir

        folder = devices_dir()
        try:  # watched from the start: a missing folder would be polled
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            log.warning("cannot watch the devices folder %s: %s", folder, exc)
            return
        shell.watch_directory(folder, self._lister.refresh)

    def _devices_changed(self, devices: tuple[DeviceSummary, ...]) -> None:
        with self._lock:
            self._devices = devices
        self.changed()

    def refresh_devices(self) -> tuple[DeviceSummary, ...]:
        """List the devices now (a worker thread), and show them."""
        return self._lister.refresh_now()

    def _device(self, key: str | None) -> DeviceSummary | None:
        with self._lock:
            devices = self._devices
        if key is None:
            return devices[0] if len(devices) == 1 else None
        return next((d for d in devices if d.key == key), None)

    # -- what the person does ------------------------------------------------------

    def perform(self, action: Action | str, arg: str | None = None) -> None:
        action = Action(action)
        log.debug("action %s %s", action.value, arg or "")
        ACTIONS[action](self, arg)

    def menu_opened(self) -> None:
        """Just before the menu shows: refresh what is cheap to refresh (the
        first menu, opened right after start-up, waits for the device list)."""
        self._lister.refresh()
        self._lister.wait_listed(FIRST_LISTING_WAIT)
        before = self.autostart_enabled
        startup.read_autostart(self)
        with self._lock:
            waiting = any(h.live is not None and h.live.tracker.waiting for h in self._sessions)
        if waiting or before != self.autostart_enabled:
            self.changed()  # "is waiting" entries age out; autostart changed outside
        self.check_connection(force=False)

    # -- dialogs --------------------------------------------------------------------

    def _default_server(self) -> str:
        if self.options.default_server:
            return self.options.default_server
        with self._lock:
            servers = [d.server_url for d in self._devices]
        return servers[-1] if servers else ""

    def open_create(self) -> None:
        init = {"server": self._default_server(), "admin_token": self.options.admin_token or ""}
        self._dialogs.open(Kind.CREATE, {**init, "device_label": socket.gethostname()})

    def open_join(self, link: str | None = None) -> None:
        self._dialogs.open(Kind.JOIN, {"link": link or "", "device_label": socket.gethostname()}, target=link)

    def open_login(self, key: str | None, *, error: str | None = None) -> None:
        info = self._device(key)
        if info is None:
            self.message("Log in", "This device is no longer on this computer.")
            return
        device = {
            "organization_id": info.organization_id,
            "user_name": info.user_name,
            "email": info.email,
            "device_label": info.device_label,
            "device_id": info.device_id,
            "server": _server_display(info.server_url),
            "protection": info.protection,
        }
        self._dialogs.open(Kind.LOGIN, {"error": error, "device": device, "_key": info.key}, target=info.key)

    def login(self, key: str | None) -> None:
        """"Log in to …": a keyring device with no dialog, the others in theirs."""
        info = self._device(key)
        if info is not None and info.protection == "keyring":
            _in_thread(startup.menu_login, "quick-login", self, info)
            return
        self.open_login(key)

    def say(self, title: str, body: str, *, on_click: Callable[[], None] | None = None) -> bool:
        """One notification now (``status`` lists it)."""
        return self._notices.say(title, body, on_click=on_click)

    def _holder(self, key: str | None) -> SessionHolder | None:
        """The session of device ``key`` (the current one without a key),
        which becomes the current one."""
        with self._lock:
            holder = self._sessions.get(key)
            if holder is not None:
                self._sessions.touch(holder.key)
            return holder

    def holder_for(self, dlg: DialogProcess) -> SessionHolder:
        """The session a dialog was opened for (its ``_target``)."""
        with self._lock:
            holder = self._sessions.get(str(dlg.init.get("_target")))
        if holder is None:
            raise E.ParsecTrayError("You are not logged in any more.")
        return holder

    def open_invite(self, mode: str, key: str | None = None) -> None:
        holder = self._holder(key)
        if holder is not None:
            init = {"mode": mode, "organization_id": holder.identity.organization_id}
            self._dialogs.open(f"invite_{mode}", init, target=holder.key)

    def open_invitations(self, key: str | None = None) -> None:
        self._open_list(Kind.INVITATIONS, key, dialog_flows.send_invitations)

    def _open_list(self, kind: Kind, key: str | None, send: Callable[[Controller, DialogProcess], None]) -> None:
        """A list dialog of session ``key``, filled in a worker thread by ``send``."""
        holder = self._holder(key)
        if holder is None:
            return
        init = {"organization_id": holder.identity.organization_id}
        dlg = self._dialogs.open(kind, init, target=holder.key)
        if dlg is not None:
            _in_thread(send, f"{kind}-list", self, dlg)

    def message(self, title: str, text: str) -> None:
        self._dialogs.open(Kind.MESSAGE, {"title": title, "text": text}, target=text)

    def open_link(self, link: str) -> None:
        from ..core import ParsecOrganizationBootstrapAddr, parse_link

        link = link.strip()
        recovery = recovery_file_of(link)
        if recovery is not None:
            self.open_import_recovery(recovery)
            return
        try:
            addr = parse_link(link)
        except E.InvalidLinkError as exc:
            self.message("Open link", f"This link cannot be used: {exc}")
            return
        if isinstance(addr, ParsecOrganizationBootstrapAddr):
            self.open_join(link)
        else:
            self.message(
                "Open link",
                "Invitation and organization links are not supported by this version of Parsec Tray yet; "
                "use the official Parsec client for them.",
            )

    def start_flow(self, flow: threading.Thread) -> None:
        """A flow's worker thread: waited for at the end (see :meth:`shutdown`)."""
        with self._lock:
            self._flows = [t for t in self._flows if t.is_alive()] + [flow]
        flow.start()

    # -- sessions ----------------------------------------------------------------------------

    def adopt(self, session: Any, info: Any) -> None:
        """Hold ``session`` (already pinged by core, or unlocked offline with
        ``offline_error`` set) beside the other logged-in devices, and open
        its event stream.  A new login to a device already logged in
        replaces its session."""
        summary = session.summary()
        profile = getattr(getattr(getattr(session, "device", None), "initial_profile", None), "value", "")
        ident = Identity(
            organization_id=summary["organization_id"],
            user_id=summary["user_id"],
            device_id=summary["device_id"],
            server_url=summary["server_url"],
            user_name=info.user_name,
            email=info.email,
            device_label=info.device_label,
            profile=str(profile or ""),
        )
        offline = getattr(session, "offline_error", None)
        reason = str(offline) if offline is not None else None
        holder = SessionHolder(session_key(info, summary), session, ident, offline_reason=reason)
        holder.on_refusal = lambda exc: self._refused(holder, exc)
        with self._lock:
            if self._quitting:
                session.close()
                return
            old = self._sessions.add(holder)
        self._fire(holder, Event.UNLOCKED)
        # core's login and bootstrap end with an authenticated ping.
        self._fire(holder, Event.UNREACHABLE if offline is not None else Event.REACHED)
        if old is not None:
            _in_thread(old.close, "logout")
        if offline is None and getattr(session, "device", None) is not None:
            _in_thread(self._check_risk, "at-risk", holder)
        tos_error = getattr(session, "tos_error", None)
        if isinstance(tos_error, E.ParsecTrayError):
            self._refused(holder, tos_error)  # the stream starts once they are accepted
        else:
            self._start_live(holder)
        self._remember_sessions(last=holder.key)

    def _start_live(self, holder: SessionHolder) -> None:
        options: dict[str, Any] = {}
        if self.options.reconnect_max is not None:
            options["backoff_max"] = self.options.reconnect_max
        with self._lock:
            if self._quitting:
                return
            live = holder.start_live(
                on_state=lambda state, message: self._on_stream_state(holder, state, message),
                on_intents=lambda intents: self._on_intents(holder, intents),
                on_change=self.changed,
                stream_options=options,
                on_certificate=lambda: self._check_risk(holder),
            )
        if live is not None:
            self.changed()

    def _remember_sessions(self, last: str | None = None) -> None:
        """The settings say which devices are logged in (what ``--autostart``
        logs in to again); quitting leaves them as they are."""
        from . import settings

        with self._settings_lock:
            with self._lock:
                keys = [k for k in self._sessions.keys() if not k.startswith("device:")]
            changes: dict[str, Any] = {"logged_in": keys}
            if last is not None and not last.startswith("device:"):
                changes["last_device"] = last
            settings.update(**changes)

    def _on_stream_state(self, holder: SessionHolder, state: str, message: str | None) -> None:
        """Quiet on purpose: the icon and the menu change, nothing pops up."""
        event = {"online": Event.REACHED, "offline": Event.UNREACHABLE, "error": Event.REFUSED}.get(state)
        if event is None:
            return
        if event is Event.REFUSED:
            self._refused(holder, holder.stream_error, message)
            return
        self._reached_or_not(holder, event, message)

    def _reached_or_not(self, holder: SessionHolder, event: Event, reason: str | None) -> None:
        """The server answered (``REACHED``: a refusal is over) or could not
        be reached (what it would say is unknown again)."""
        with self._lock:
            if holder.closed:
                return
            holder.reason = reason if event is not Event.REACHED else None
            holder.last_check = time.monotonic()
            holder.refusal, holder.refusal_detail = None, ""
            if event is Event.REACHED:
                holder.notified_refusal = None
                holder.retries = 0
                holder.stop_retry()
        if not self._fire(holder, event):
            self.changed()  # same state, new reason

    # -- at risk: only this device can open the organization -----------------------------------------

    def _check_risk(self, holder: SessionHolder) -> None:
        """Whether only ``holder``'s device can open its organization (after
        login, and on every new certificate): the icon and the menu say so;
        one notification per device, not repeated at every start (the
        settings remember it until the risk is gone)."""
        from ..core import session_security_warnings
        from . import settings

        try:
            at_risk = session_security_warnings(holder.session).at_risk
        except E.ParsecTrayError as exc:
            log.info("checking whether %s is at risk failed: %s", holder.key, exc)
            return
        with self._lock:
            if holder.closed:
                return
            before, holder.at_risk = holder.at_risk, at_risk
        if before != at_risk:
            self.changed()
        notify = False
        with self._settings_lock:
            told = [k for k in settings.load().get("at_risk_notified") or [] if isinstance(k, str)]
            if at_risk and holder.key not in told:
                settings.update(at_risk_notified=[*told, holder.key])
                notify = True
            elif not at_risk and holder.key in told:
                settings.update(at_risk_notified=[k for k in told if k != holder.key])
        if notify:
            org = holder.identity.organization_id
            self._notices.say(AT_RISK_TITLE.format(org=org), AT_RISK_BODY.format(org=org))

    def open_recovery(self, key: str | None) -> None:
        """Create a recovery file…: its dialog, for this session (the file
        suggested in the home folder, under the official client's name)."""
        from pathlib import Path

        from .dialog_specs import recovery_file_name

        holder = self._holder(key)
        if holder is None:
            return
        org = holder.identity.organization_id
        init = {"organization_id": org, "path": str(Path.home() / recovery_file_name(org))}
        self._dialogs.open(Kind.RECOVERY_EXPORT, init, target=holder.key)

    def open_import_recovery(self, path: str | None = None) -> None:
        """Import a recovery file… (the menu, Log in's "Forgot your password?",
        a ``.psrk`` handed to the tray): a new device from it."""
        init = {"path": path or "", "device_label": socket.gethostname()}
        self._dialogs.open(Kind.RECOVERY_IMPORT, init, target=path)

    def open_members(self, key: str | None = None) -> None:
        self._open_list(Kind.MEMBERS, key, dialog_flows.send_members)

    def open_change_auth(self, key: str | None, mode: str) -> None:
        """Change password… / Use the keyring… / Use a password… for the
        device of session ``key``."""
        holder = self._holder(key)
        if holder is None:
            return
        info = self._device(holder.key)
        init = {
            "mode": mode,
            "protection": info.protection if info is not None else "password",
            "organization_id": holder.identity.organization_id,
            "device_label": holder.identity.device_label,
        }
        self._dialogs.open(Kind.CHANGE_AUTH, init, target=holder.key)

    def recheck_risk(self, key: str) -> None:
        """Whether session ``key`` is still at risk (a recovery file was made)."""
        with self._lock:
            holder = self._sessions.get(key)
        if holder is not None:
            self._check_risk(holder)

    # -- refusals: each its own state, one notification, no knocking ---------------------------------

    def _refused(self, holder: SessionHolder, exc: E.ParsecTrayError | None, reason: str | None = None) -> None:
        """The server refused ``holder``'s device (the event stream's
        handshake, or a command's reply): its state, one notification per
        refusal, and a slow retry where the refusal may end by itself."""
        found = refusal_of(exc) if exc is not None else None
        with self._lock:
            if holder.closed or self._quitting:
                return
            holder.last_check = time.monotonic()
            if found is None:
                holder.reason = reason or (str(exc) if exc is not None else None)
            else:
                holder.refusal, holder.refusal_detail = found
            view = holder.view()
            if found is not None:
                holder.reason = view.refusal_text()
            notify = found is not None and holder.notified_refusal is not found[0]
            if found is not None:
                holder.notified_refusal = found[0]
        if not self._fire(holder, Event.REFUSED):
            self.changed()
        if found is None:
            return
        refusal = found[0]
        if notify:
            on_click = (lambda: self.review_terms(holder.key)) if refusal is Refusal.TOS else None
            self._notices.say(view.refusal_text("title"), view.refusal_text("body"), on_click=on_click)
        if refusal is Refusal.TOS:
            _in_thread(self._fetch_terms, "tos-get", holder)
        if REFUSALS[refusal].retry in (Retry.SLOW, Retry.ON_ACCEPT):
            self._schedule_retry(holder)

    def _schedule_retry(self, holder: SessionHolder) -> None:
        """The next slow retry (bounded: it waits at most ``refusal_retry_max``)."""
        with self._lock:
            if holder.closed or self._quitting:
                return
            delay = min(self.options.refusal_retry_max, self.options.refusal_retry * 2.0 ** min(holder.retries, 32))
            holder.retries += 1
            holder.stop_retry()
            timer = threading.Timer(delay, self._retry, args=(holder,))
            timer.daemon = True
            holder.retry_timer = timer
        log.info("%s refused (%s): next try in %.0f s", holder.key, holder.refusal, delay)
        timer.start()

    def _retry(self, holder: SessionHolder, shown: bool = False) -> None:
        """Knock once more: a new event stream (its handshake is what tells;
        a ping may pass on the server's cache), or a ping for a stand-in."""
        with self._lock:
            if holder.closed or self._quitting:
                return
            holder.retry_timer = None
        if shown:
            self._fire(holder, Event.RETRY)
        holder.stop_live(timeout=2.0)
        if getattr(holder.session, "device", None) is None:
            self._ping(holder)
            return
        self._start_live(holder)

    def _fetch_terms(self, holder: SessionHolder) -> Any:
        """The terms of service the person may review and accept (``tos_get``)."""
        from ..core import tos_get

        terms = tos_get(holder.session)
        with self._lock:
            holder.terms = terms
        return terms

    def review_terms(self, key: str | None) -> None:
        """The terms of service dialog: their links (the person's locale
        first), Accept or Refuse and log out."""
        holder = self._holder(key)
        if holder is not None:
            _in_thread(self._open_terms, "tos-review", holder)

    def _open_terms(self, holder: SessionHolder) -> None:
        from ..cli.members import user_locales

        org = holder.identity.organization_id
        try:
            terms = self._fetch_terms(holder)  # kept: Accept sends exactly these
        except E.ParsecTrayError as exc:
            self.message("Terms of service", str(exc))
            return
        if terms is None:
            self.message("Terms of service", _NO_TERMS.format(org=org))
            self._retry(holder, shown=True)
            return
        init = {
            "organization_id": org,
            "links": [list(pair) for pair in terms.urls_for(user_locales())],
            "updated_on": str(terms.updated_on)[:10],
        }
        self._dialogs.open(Kind.TERMS, init, target=holder.key)

    def open_url(self, url: str) -> None:
        """A link of a dialog (the terms of service), in the browser."""
        import webbrowser

        if not url.startswith(("https://", "http://")) or not webbrowser.open(url):
            self.message("Terms of service", _OPEN_TERMS.format(url=url))

    def accept_terms(self, key: str | None) -> None:
        holder = self._holder(key)
        if holder is not None:
            _in_thread(self._accept_terms, "tos-accept", holder)

    def _accept_terms(self, holder: SessionHolder) -> None:
        try:
            self.accept_terms_now(holder)
        except E.ParsecTrayError as exc:
            self.message("Terms of service", str(exc))

    def accept_terms_now(self, holder: SessionHolder) -> None:
        """``tos_accept`` with the exact ``updated_on`` of the terms fetched
        (those the person could review), then reconnect at once; raises
        what the server said (terms changed meanwhile: fetched again)."""
        from ..core import tos_accept

        try:
            with self._lock:
                terms = holder.terms
            if terms is None:
                terms = self._fetch_terms(holder)
            if terms is not None:
                tos_accept(holder.session, terms)
        except E.ServerRefusedError:  # changed while shown: the new ones are to review
            _in_thread(self._fetch_terms, "tos-get", holder)
            raise
        with self._lock:
            holder.terms = None
            holder.retries = 0
        self._retry(holder, shown=True)

    def remove_device(self, key: str | None) -> None:
        """A revoked device, once the person chose to: logged out, its file
        archived the way libparsec does (``<name>.keys.archived``)."""
        with self._lock:
            holder = self._sessions.get(key)
            if holder is None or holder.refusal is not Refusal.REVOKED:
                return
            path = getattr(holder.session, "device_file", None) or holder.key
        self.logout(holder.key)
        _in_thread(self._archive, "archive", str(path))

    def _archive(self, path: str) -> None:
        from pathlib import Path

        from ..core import archive_device_file

        try:
            archive_device_file(Path(path))
        except E.ParsecTrayError as exc:
            self.message("Remove this device", str(exc))
        self._lister.refresh(force=True)

    def _on_intents(self, holder: SessionHolder, intents: list[Intent]) -> None:
        with self._lock:
            if holder.closed or self._quitting:
                return
        self._notices.post(intents)

    def _open_invitations_of(self, organization_id: str | None) -> None:
        """A notification was clicked: the invitations of its organization."""
        with self._lock:
            holder = self._sessions.for_org(organization_id)
        self.open_invitations(holder.key if holder is not None else None)

    def greet(self, key: str | None, token: str) -> None:
        """Greet the person waiting on invitation ``token`` (hex) of session
        ``key``: the one entry point of the menu's Greet entries and of the
        notification's Greet button.  Where the greeting dialog must plug
        in: :func:`.greeting.begin` opens it, in a worker thread."""
        log.info("greet %s in %s", token[:8], key)
        holder = self._holder(key)
        if holder is not None:
            _in_thread(greeting.begin, "greet", self, holder, token)

    def open_dialog(self, kind: str, init: dict[str, Any], *, target: str | None) -> DialogProcess | None:
        return self._dialogs.open(kind, init, target=target)

    def greet_from_menu(self, arg: str) -> None:
        token, key = parse_greet_arg(arg)
        self.greet(key, token)

    def _greet_of(self, organization_id: str | None, token: str) -> None:
        """A notification's Greet: the session of its organization."""
        with self._lock:
            holder = self._sessions.for_org(organization_id)
        if holder is not None:
            self.greet(holder.key, token)

    def logout(self, key: str | None = None) -> None:
        """Log out of device ``key`` (the current one without a key); the
        other sessions stay as they are."""
        with self._lock:
            holder = self._sessions.get(key)
            if holder is None:
                return
            self._sessions.remove(holder.key)
        self.changed()
        _in_thread(holder.close, "logout")
        self._remember_sessions()

    def lock_out(self) -> None:
        """The screen locked: log out of every session; the settings still
        name them (``--autostart``), and the unlock logs in to them again."""
        with self._lock:
            if self._quitting:
                return
            self._locked_out = [k for k in self._sessions.keys() if not k.startswith("device:")]
            holders = self._sessions.pop_all()
        self.changed()
        for holder in holders:
            _in_thread(holder.close, "logout")
        log.info("screen locked: logged out of %d session(s)", len(holders))

    def take_locked_out(self) -> list[str]:
        """The devices the last lock logged out of (once)."""
        with self._lock:
            keys, self._locked_out = self._locked_out, []
            return [] if self._quitting else keys

    def stop_screen_lock(self) -> None:
        monitor, self.screenlock = self.screenlock, None
        if monitor is not None:
            monitor.stop()

    def check_connection(self, *, force: bool, key: str | None = None) -> None:
        """Ping the server of device ``key`` (every session without a key)."""
        with self._lock:
            holders = list(self._sessions) if key is None else [h for h in [self._sessions.get(key)] if h]
        for holder in holders:
            with self._lock:
                state = holder.state
                if holder.closed or holder.checking:
                    continue
                refused = holder.refusal is not None or holder.stream_error is not None
                if refused and not force:
                    continue  # no knocking: the slow retry, or the person, asks again
                if refused and holder.refusal is not Refusal.REVOKED:
                    holder.stop_retry()
                    _in_thread(self._retry, "retry", holder, True)
                    continue
                recent = time.monotonic() - holder.last_check < self.options.check_interval
                if not force and (holder.live is not None or (state is State.ONLINE and recent)):
                    continue  # checked a moment ago, or the event stream watches the keepalive
                holder.checking = True
            if force and state in (State.OFFLINE, State.NEEDS_ATTENTION):
                # Asked for: show "connecting" while we try.  A check on menu
                # open stays silent until its result, so that the menu being
                # shown does not change under the pointer.
                self._fire(holder, Event.RETRY)
            _in_thread(self._ping, "ping", holder)

    def _ping(self, holder: SessionHolder) -> None:
        event, reason, exc = holder.ping()
        with self._lock:
            holder.checking = False
        if event is Event.REFUSED:
            self._refused(holder, exc, reason)
        else:
            self._reached_or_not(holder, event, reason)

    # -- requests from other launches, and the end ----------------------------------------------------

    def handle_request(self, req: dict[str, Any]) -> dict[str, Any]:
        return requests.handle(self, req)

    def quit(self) -> None:
        with self._lock:
            if self._quitting:
                return
            self._quitting = True
        self._dialogs.close_all(timeout=1.0)
        shell = self._shell
        if shell is not None:
            shell.stop()

    def shutdown(self, flow_timeout: float = 60.0) -> None:
        """After the shell's loop has ended: every session is logged out.  A
        flow still running (Quit chosen while an organization is being
        created) is waited for: cut short, it could leave an organization
        bootstrapped on the server without its device file here."""
        with self._lock:
            self._quitting = True
            flows = list(self._flows)
        deadline = time.monotonic() + flow_timeout
        for flow in flows:
            flow.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            holders = self._sessions.pop_all()  # the settings still name them: --autostart
        self._dialogs.close_all(timeout=1.0)
        self._notices.stop()
        self.stop_screen_lock()
        for holder in holders:
            holder.close(timeout=2.0)


ACTIONS: dict[Action, Callable[[Controller, str | None], None]] = {
    Action.CREATE_ORG: lambda c, arg: c.open_create(),
    Action.JOIN_ORG: lambda c, arg: c.open_join(),
    Action.LOGIN: lambda c, arg: c.login(arg),
    Action.LOGOUT: lambda c, arg: c.logout(arg),
    Action.CHECK: lambda c, arg: c.check_connection(force=True, key=arg),
    Action.INVITE_USER: lambda c, arg: c.open_invite("user", arg),
    Action.INVITE_DEVICE: lambda c, arg: c.open_invite("device", arg),
    Action.INVITATIONS: lambda c, arg: c.open_invitations(arg),
    Action.GREET: lambda c, arg: c.greet_from_menu(arg or ""),
    Action.CREATE_RECOVERY: lambda c, arg: c.open_recovery(arg),
    Action.IMPORT_RECOVERY: lambda c, arg: c.open_import_recovery(arg),
    Action.CHANGE_PASSWORD: lambda c, arg: c.open_change_auth(arg, "password"),
    Action.USE_PASSWORD: lambda c, arg: c.open_change_auth(arg, "password"),
    Action.USE_KEYRING: lambda c, arg: c.open_change_auth(arg, "keyring"),
    Action.MEMBERS: lambda c, arg: c.open_members(arg),
    Action.REMOVE_DEVICE: lambda c, arg: c.remove_device(arg),
    Action.REVIEW_TOS: lambda c, arg: c.review_terms(arg),
    Action.ACCEPT_TOS: lambda c, arg: c.accept_terms(arg),
    Action.TOGGLE_AUTOSTART: lambda c, arg: _in_thread(startup.toggle_autostart, "autostart", c),
    Action.TOGGLE_LOGIN_DIALOG: lambda c, arg: _in_thread(startup.toggle_login_dialog, "settings", c),
    Action.TOGGLE_LOGOUT_ON_LOCK: lambda c, arg: _in_thread(startup.toggle_logout_on_lock, "settings", c),
    Action.QUIT: lambda c, arg: c.quit(),
}
