"""The tray app's logic between the shell (icon or window), the dialogs and
``parsec_tray.core.api``.  No GUI import here.

Threads: the shell's main loop calls :meth:`Controller.perform` and
:meth:`Controller.menu_opened`; the instance server calls
:meth:`Controller.handle_request`; dialog reader threads deliver messages;
flows (Argon2id, network) run in short-lived worker threads, so the menu
never waits for them.  One lock guards the state; the shell is told about
every change through ``shell.refresh(snapshot, entries)``.

Several devices can be logged in at once, each in its own
:class:`~.sessions.SessionHolder` (its session, state machine, event stream,
invitation tracker); the icon shows the most urgent state of all.  Results
of work started for a holder (a ping, a stream state) are about that
holder: once it is logged out (or replaced by a new login to the same
device) they change nothing.

Each real session has a :class:`~.live.LiveSession` keeping the server's
event stream open: its online/offline/error drive that session's state
(quietly: no notification), its invitation intents go through one
:class:`~.live.NotificationPump` to the notifier (chosen at the first
notification, not at start-up); every notification names its organization.  Invitation dialogs, start at login and the
quick login of ``--autostart`` live here too; every network call runs in a
worker thread.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core import errors as E
from .devices import DeviceLister
from .dialogs import DialogProcess
from .instance import AFTER_REPLY
from .menu import Action, Entry, build_menu, to_json
from .sessions import SessionHolder, Sessions, session_key
from .state import DeviceSummary, Event, Identity, Snapshot, State

if TYPE_CHECKING:
    from .backends.base import Shell
    from .coalesce import Intent, Notification
    from .live import NotificationPump

__all__ = ["AppOptions", "Controller"]

log = logging.getLogger(__name__)

# While online, opening the menu checks the server at most this often
# (seconds; the environment variable is for tests).  No timer ever runs:
# an idle tray uses no CPU.
CHECK_INTERVAL = float(os.environ.get("PARSEC_TRAY_CHECK_INTERVAL", "60"))
STARTUP_LISTING_DELAY = 1.0


@dataclass(frozen=True)
class AppOptions:
    """Where devices live is core's business (``PARSEC_BASE_CONFIG_DIR``)."""

    default_server: str | None = None
    admin_token: str | None = None
    demo_server: str | None = None
    # Started at login (``--autostart``): log in at once to the devices that
    # were logged in when the app last quit.
    autostart: bool = False


def _error_target(kind: str, exc: BaseException) -> tuple[int | None, str | None]:
    """Which step and field of dialog ``kind`` an error belongs to."""
    if kind == "login":
        if isinstance(exc, E.WrongPasswordError):
            return None, "password"
        return None, None
    first = "server" if kind == "create" else "link"
    if isinstance(exc, E.OrganizationAlreadyExistsError):
        return 1, "organization" if kind == "create" else "link"
    if isinstance(exc, (E.InvalidBootstrapTokenError, E.OrganizationNotFoundError)):
        return 1, "admin_token" if kind == "create" else "link"
    if (
        isinstance(exc, E.AuthenticationError)
        and kind == "create"
        and not isinstance(exc, E.ClockOutOfSyncError)
    ):
        return 1, "admin_token"
    if isinstance(exc, (E.InvalidLinkError, E.ServerUnreachableError)):
        return 1, first
    if isinstance(exc, E.InvalidValueError):
        text = str(exc).lower()
        for needle, field, step in (
            ("organization name", "organization", 1),
            ("email", "email", 1),
            ("user name", "user_name", 2),
            ("device name", "device_label", 2),
            ("password", "password", 2),
        ):
            if needle in text and (kind == "create" or field != "organization"):
                return step, field
    return None, None


def _server_display(url: str) -> str:
    rest = url.split("://", 1)[-1]
    host, _, query = rest.partition("?")
    return host + (" (no TLS)" if "no_ssl=true" in query else "")


class Controller:
    def __init__(self, options: AppOptions | None = None) -> None:
        self.options = options or AppOptions()
        self._lock = threading.RLock()
        self._sessions = Sessions()
        self._settings_lock = threading.Lock()
        self._devices: tuple[DeviceSummary, ...] = ()
        self._lister = DeviceLister(self._devices_changed)
        self._dialogs: dict[str, DialogProcess] = {}
        self._dialog_status: dict[str, dict[str, Any]] = {}
        self._shell: Shell | None = None
        self._quitting = False
        self._pending_link: str | None = None
        self._flows: list[threading.Thread] = []
        self._pump: NotificationPump | None = None
        self._autostart_enabled: bool | None = None
        self._login_dialog_at_start = False
        self._notified: deque[dict[str, str]] = deque(maxlen=20)

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
            dialogs = {k: dict(v) for k, v in self._dialog_status.items()}
            views = self._sessions.views()
            current = self._sessions.current
            view = next((v for v in views if current is not None and v.key == current.key), None)
            extra: dict[str, Any] = {"dialogs": dialogs, "backend": self._shell.name if self._shell else None}
            if view is not None and view.live:
                extra["stream"] = view.stream
            if self._notified:
                extra["notified"] = list(self._notified)
            return Snapshot(
                state=self._sessions.icon_state(),
                identity=view.identity if view else None,
                devices=self._devices,
                reason=view.reason if view else None,
                demo_server=self.options.demo_server,
                live=view.live if view else False,
                waiting=view.waiting if view else (),
                autostart=self._autostart_enabled,
                login_dialog_at_start=self._login_dialog_at_start,
                sessions=views,
                extra=extra,
            )

    def menu(self) -> tuple[Entry, ...]:
        return build_menu(self.snapshot())

    def _changed(self) -> None:
        shell = self._shell
        if shell is not None and not self._quitting:
            snap = self.snapshot()
            shell.refresh(snap, build_menu(snap))

    def _fire(self, holder: SessionHolder, event: Event) -> bool:
        """Apply ``event`` to ``holder``'s state (nothing once it is gone)."""
        with self._lock:
            fired = holder.fire(event)
        if fired:
            self._changed()
        return fired

    # -- start-up ---------------------------------------------------------------

    def started(self) -> None:
        """Called by the shell once its loop runs (icon shown).

        The device list (a child process importing core, ~0.3 s of CPU) is
        read a moment later, so that it does not compete with the tray host
        embedding the icon; a link given on the command line opens at once.
        """
        link, self._pending_link = self._pending_link, None
        if link:
            threading.Thread(target=self.open_link, args=(link,), name="open-link", daemon=True).start()
        self._read_autostart()
        if self._autostart_enabled is not None:
            self._changed()  # the "Start at login" entry
        if self.options.autostart and not link:
            threading.Thread(target=self._quick_login_all, name="quick-login", daemon=True).start()
            return
        timer = threading.Timer(STARTUP_LISTING_DELAY, self._lister.refresh, kwargs={"force": True})
        timer.daemon = True
        timer.start()

    def _devices_changed(self, devices: tuple[DeviceSummary, ...]) -> None:
        with self._lock:
            self._devices = devices
        self._changed()

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
        if action is Action.CREATE_ORG:
            self.open_create()
        elif action is Action.JOIN_ORG:
            self.open_join()
        elif action is Action.LOGIN:
            self.open_login(arg)
        elif action is Action.LOGOUT:
            self.logout(arg)
        elif action is Action.CHECK:
            self.check_connection(force=True, key=arg)
        elif action is Action.INVITE_USER:
            self.open_invite("user", arg)
        elif action is Action.INVITE_DEVICE:
            self.open_invite("device", arg)
        elif action is Action.INVITATIONS:
            self.open_invitations(arg)
        elif action is Action.TOGGLE_AUTOSTART:
            self._in_thread(self._toggle_autostart, "autostart")
        elif action is Action.TOGGLE_LOGIN_DIALOG:
            self._in_thread(self._toggle_login_dialog, "settings")
        elif action is Action.QUIT:
            self.quit()

    def menu_opened(self) -> None:
        """Just before the menu shows: refresh what is cheap to refresh."""
        self._lister.refresh()
        before = self._autostart_enabled
        self._read_autostart()
        with self._lock:
            waiting = any(h.live is not None and h.live.tracker.waiting for h in self._sessions)
        if waiting or before != self._autostart_enabled:
            self._changed()  # "is waiting" entries age out; autostart changed outside
        self.check_connection(force=False)

    @staticmethod
    def _in_thread(fn: Any, name: str, *args: Any) -> None:
        threading.Thread(target=fn, args=args, name=name, daemon=True).start()

    # -- dialogs --------------------------------------------------------------------

    def _open_dialog(
        self, kind: str, init: dict[str, Any], *, target: str | None = None
    ) -> DialogProcess | None:
        with self._lock:
            if self._quitting:
                return None
            current = self._dialogs.get(kind)
            if current is not None and current.alive:
                if current.busy or current.init.get("_target") == target:
                    current.send({"type": "raise"})
                    return current
                current.close()
            dlg = DialogProcess(
                kind, {**init, "_target": target}, self._on_dialog_message, self._on_dialog_exit
            )
            self._dialogs[kind] = dlg
            # A dialog opened with an error (the quick login's banner) reports
            # it like a flow's error: ``status`` says what the person reads.
            self._dialog_status[kind] = {"open": True, "busy": False, "error": init.get("error")}
        try:
            dlg.start()
        except OSError as exc:
            log.error("cannot start the %s dialog: %s", kind, exc)
            with self._lock:
                self._dialogs.pop(kind, None)
                self._dialog_status.pop(kind, None)
            return None
        return dlg

    def _default_server(self) -> str:
        if self.options.default_server:
            return self.options.default_server
        with self._lock:
            servers = [d.server_url for d in self._devices]
        return servers[-1] if servers else ""

    def open_create(self) -> None:
        self._open_dialog(
            "create",
            {
                "server": self._default_server(),
                "admin_token": self.options.admin_token or "",
                "device_label": socket.gethostname(),
            },
        )

    def open_join(self, link: str | None = None) -> None:
        self._open_dialog("join", {"link": link or "", "device_label": socket.gethostname()}, target=link)

    def open_login(self, key: str | None, *, error: str | None = None) -> None:
        info = self._device(key)
        if info is None:
            self.message("Log in", "This device is no longer on this computer.")
            return
        self._open_dialog(
            "login",
            {
                "error": error,
                "device": {
                    "organization_id": info.organization_id,
                    "user_name": info.user_name,
                    "email": info.email,
                    "device_label": info.device_label,
                    "device_id": info.device_id,
                    "server": _server_display(info.server_url),
                    "protection": info.protection,
                },
                "_key": info.key,
            },
            target=info.key,
        )

    def _holder(self, key: str | None, *, touch: bool = True) -> SessionHolder | None:
        """The session of device ``key`` (the current one without a key)."""
        with self._lock:
            holder = self._sessions.get(key)
            if holder is not None and touch:
                self._sessions.touch(holder.key)
            return holder

    def open_invite(self, mode: str, key: str | None = None) -> None:
        holder = self._holder(key)
        if holder is None:
            return
        self._open_dialog(
            f"invite_{mode}",
            {"mode": mode, "organization_id": holder.identity.organization_id},
            target=holder.key,
        )

    def open_invitations(self, key: str | None = None) -> None:
        holder = self._holder(key)
        if holder is None:
            return
        dlg = self._open_dialog(
            "invitations", {"organization_id": holder.identity.organization_id}, target=holder.key
        )
        if dlg is not None:
            self._in_thread(self._send_invitations, "invite-list", dlg)

    def message(self, title: str, text: str) -> None:
        self._open_dialog("message", {"title": title, "text": text}, target=text)

    def open_link(self, link: str) -> None:
        from ..core.addr import ParsecOrganizationBootstrapAddr, parse_link

        link = link.strip()
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

    def _on_dialog_message(self, dlg: DialogProcess, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        workers = {
            "create": self._run_create,
            "join": self._run_join,
            "login": self._run_login,
            "invite_user": self._run_invite,
            "invite_device": self._run_invite,
        }
        if kind == "submit" and dlg.kind in workers:
            values = msg.get("values")
            if not isinstance(values, dict) or dlg.busy:
                return
            dlg.busy = True
            with self._lock:
                self._dialog_status[dlg.kind] = {"open": True, "busy": True, "error": None}
            worker = workers[dlg.kind]
            flow = threading.Thread(
                target=self._run_flow, args=(worker, dlg, values), name=f"flow-{dlg.kind}", daemon=True
            )
            with self._lock:
                self._flows = [t for t in self._flows if t.is_alive()] + [flow]
            flow.start()
        elif kind == "cancel_invitation" and dlg.kind == "invitations":
            self._in_thread(self._cancel_invitation, "invite-cancel", dlg, str(msg.get("token", "")))
        elif kind == "rendered" and dlg.kind == "invitations":
            with self._lock:
                self._dialog_status.setdefault("invitations", {})["rendered"] = msg.get("count")
        elif kind == "refresh" and dlg.kind == "invitations":
            self._in_thread(self._send_invitations, "invite-list", dlg)
        elif kind == "action" and dlg.kind == "window":
            try:
                self.perform(str(msg.get("action")), msg.get("arg"))
            except ValueError:
                log.warning("unknown action from the window: %r", msg)

    def _on_dialog_exit(self, dlg: DialogProcess, rc: int) -> None:
        with self._lock:
            if self._dialogs.get(dlg.kind) is dlg:
                del self._dialogs[dlg.kind]
                status = self._dialog_status.get(dlg.kind, {})
                self._dialog_status[dlg.kind] = {**status, "open": False, "busy": False}
        if rc not in (0, -15):
            log.warning("the %s dialog exited with status %s", dlg.kind, rc)

    # -- flows (worker threads) ----------------------------------------------------------

    def _run_flow(self, worker: Any, dlg: DialogProcess, values: dict[str, str]) -> None:
        def progress(text: str) -> None:
            dlg.send({"type": "progress", "text": text})

        try:
            result = worker(dlg, values, progress)
        except E.ParsecTrayError as exc:
            self._flow_failed(dlg, exc, str(exc))
        except Exception as exc:  # a bug: say so in plain words, keep the fields
            log.exception("the %s flow failed", dlg.kind)
            self._flow_failed(
                dlg,
                exc,
                f"Something unexpected went wrong ({type(exc).__name__}); nothing was changed. Please report it.",
            )
        else:
            dlg.busy = False
            if isinstance(result, dict):  # the dialog stays open and shows it
                with self._lock:
                    self._dialog_status[dlg.kind] = {
                        "open": dlg.alive,
                        "busy": False,
                        "error": None,
                        **result,
                    }
                dlg.send({"type": "result", **result})
                return
            with self._lock:
                self._dialog_status[dlg.kind] = {"open": False, "busy": False, "error": None, "done": True}
            dlg.send({"type": "done"})

    def _flow_failed(self, dlg: DialogProcess, exc: BaseException, message: str) -> None:
        step, field = _error_target(dlg.kind, exc)
        dlg.busy = False
        dlg.last_error = message
        with self._lock:
            self._dialog_status[dlg.kind] = {
                "open": dlg.alive,
                "busy": False,
                "error": message,
                "error_type": type(exc).__name__,
                "field": field,
            }
        dlg.send({"type": "error", "message": message, "step": step, "field": field})

    def _run_create(self, dlg: DialogProcess, v: dict[str, str], progress: Any) -> None:
        from ..core import api

        created = api.create_organization(
            v.get("server", "").strip(),
            v.get("organization", ""),
            v.get("email", "").strip(),
            v.get("user_name", "").strip(),
            v.get("device_label", "").strip(),
            password=v.get("password", ""),
            admin_token=v.get("admin_token") or None,
            progress=progress,
        )
        self._adopt_created(created, v.get("password", ""), progress)

    def _run_join(self, dlg: DialogProcess, v: dict[str, str], progress: Any) -> None:
        from ..core import api

        created = api.bootstrap_organization(
            v.get("link", "").strip(),
            v.get("email", "").strip(),
            v.get("user_name", "").strip(),
            v.get("device_label", "").strip(),
            password=v.get("password", ""),
            progress=progress,
        )
        self._adopt_created(created, v.get("password", ""), progress)

    def _adopt_created(self, created: Any, password: str, progress: Any) -> None:
        from ..core import api

        info = api.find_device(created.device_file)
        session = created.session
        if session is None:
            session = api.login(info, password=password, progress=progress)
        self._adopt(session, info)
        self._lister.refresh_now()

    def _run_login(self, dlg: DialogProcess, v: dict[str, str], progress: Any) -> None:
        from ..core import api

        info = api.find_device(str(dlg.init.get("_key")))
        session = api.login(info, password=v.get("password") or None, progress=progress, allow_offline=True)
        keyring_error: str | None = None
        if v.get("keyring") and info.protection != "keyring":
            progress("Storing the key in the OS keyring…")
            try:
                api.protect_with_keyring(session)
            except E.ParsecTrayError as exc:  # logged in all the same
                keyring_error = str(exc)
        self._adopt(session, info)
        if v.get("keyring"):
            self._lister.refresh_now()
        if keyring_error:
            self.message(
                "Log in",
                f"You are logged in, but this computer's keyring could not keep the device: {keyring_error} "
                "You will type your password next time.",
            )

    def _adopt(self, session: Any, info: Any) -> None:
        """Hold ``session`` (already pinged by core, or unlocked offline with
        ``offline_error`` set) beside the other logged-in devices, and open
        its event stream.  A new login to a device already logged in
        replaces its session."""
        summary = session.summary()
        device = getattr(session, "device", None)
        profile = getattr(getattr(device, "initial_profile", None), "value", "")
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
        holder = SessionHolder(
            session_key(info, summary),
            session,
            ident,
            offline_reason=str(offline) if offline is not None else None,
        )
        with self._lock:
            if self._quitting:
                session.close()
                return
            old = self._sessions.add(holder)
        self._fire(holder, Event.UNLOCKED)
        # core's login and bootstrap end with an authenticated ping.
        self._fire(holder, Event.UNREACHABLE if offline is not None else Event.REACHED)
        if old is not None:
            self._in_thread(old.close, "logout")
        if device is not None:  # a real session (tests use stand-ins without one)
            self._start_live(holder)
        self._remember_sessions(last=holder.key)

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

    # -- the live session (event stream) -------------------------------------------------------

    def _start_live(self, holder: SessionHolder) -> None:
        from .live import LiveSession

        options: dict[str, Any] = {}
        if os.environ.get("PARSEC_TRAY_BACKOFF_MAX"):  # tests: reconnect fast after a cut
            options["backoff_max"] = float(os.environ["PARSEC_TRAY_BACKOFF_MAX"])
        live = LiveSession(
            holder.session,
            on_state=lambda state, message: self._on_stream_state(holder, state, message),
            on_intents=lambda intents: self._on_intents(holder, intents),
            on_change=self._changed,
            stream_options=options,
        )
        with self._lock:
            if holder.closed or self._quitting:
                return
            holder.live = live
        try:
            live.start()
        except Exception:
            log.exception("the event stream could not start")
            with self._lock:
                if holder.live is live:
                    holder.live = None
            return
        self._changed()

    def _on_stream_state(self, holder: SessionHolder, state: str, message: str | None) -> None:
        """Quiet on purpose: the icon and the menu change, nothing pops up."""
        event = {"online": Event.REACHED, "offline": Event.UNREACHABLE, "error": Event.REFUSED}.get(state)
        if event is None:
            return
        with self._lock:
            if holder.closed:
                return
            holder.reason = message if event is not Event.REACHED else None
            holder.last_check = time.monotonic()
        if not self._fire(holder, event):
            self._changed()  # same state, new reason

    def _on_intents(self, holder: SessionHolder, intents: list[Intent]) -> None:
        with self._lock:
            if holder.closed or self._quitting:
                return
            if self._pump is None:
                from .live import NotificationPump

                self._pump = NotificationPump(self._show)
            pump = self._pump
        pump.post(intents)

    def _show(self, n: Notification) -> None:
        """In the notification thread: the notifier is chosen at the first one.
        A click opens the invitations of the organization it names."""
        from .notifications import get_notifier

        on_click = None
        if n.topic in ("waiting", "created", "mixed"):
            with self._lock:
                holder = self._sessions.for_org(n.org)
            key = holder.key if holder is not None else None
            on_click = lambda: self.open_invitations(key)  # noqa: E731
        delivered = get_notifier().notify(n.title, n.body, urgency=n.urgency, on_click=on_click)
        with self._lock:
            self._notified.append({"title": n.title, "body": n.body, "delivered": str(delivered).lower()})
        log.info("notification %r: %s", n.title, "shown" if delivered else "not delivered")

    # -- invitations (worker threads) -------------------------------------------------------------

    def _holder_or_fail(self, dlg: DialogProcess) -> SessionHolder:
        """The session a dialog was opened for (its ``_target``)."""
        with self._lock:
            holder = self._sessions.get(str(dlg.init.get("_target")))
        if holder is None or getattr(holder.session, "device", None) is None:
            raise E.ParsecTrayError("You are not logged in any more.")
        return holder

    def _run_invite(self, dlg: DialogProcess, v: dict[str, Any], progress: Any) -> dict[str, Any]:
        from ..core import invitations

        session = self._holder_or_fail(dlg).session
        send_email = bool(v.get("send_email"))
        progress("Creating the invitation…")
        if dlg.kind == "invite_user":
            new = invitations.invite_new_user(session, str(v.get("email", "")).strip(), send_email=send_email)
        else:
            new = invitations.invite_new_device(session, send_email=send_email)
        sent = {
            "SUCCESS": "The email was sent." if send_email else "",
            "SERVER_UNAVAILABLE": "The server could not send the email: give the link yourself.",
            "RECIPIENT_REFUSED": "The email was refused by the recipient's server: give the link yourself.",
        }.get(new.email_sent, "")
        return {"link": new.url, "email_sent": new.email_sent, "note": sent}

    def _send_invitations(self, dlg: DialogProcess) -> None:
        from ..core import invitations

        try:
            holder = self._holder_or_fail(dlg)
            session = holder.session
            items = invitations.invite_list(session)
        except E.ParsecTrayError as exc:
            dlg.send({"type": "error", "message": str(exc)})
            return
        except Exception as exc:
            log.exception("listing the invitations failed")
            dlg.send({"type": "error", "message": f"Something unexpected went wrong ({type(exc).__name__})."})
            return
        with self._lock:
            live = holder.live
        if live is not None:
            live.learn(items)
        d = session.device
        rows = []
        for it in items:
            if not it.is_pending:
                continue
            email = getattr(it, "claimer_email", None)
            rows.append(
                {
                    "token": bytes(it.token).hex(),
                    "type": it.type,
                    "label": str(email)
                    if email
                    else ("A new device" if it.type == "DEVICE" else it.type.title()),
                    "created_by": it.created_by.describe(),
                    "created_on": str(it.created_on),
                    "link": it.link(d.server, d.organization_id).to_url(),
                }
            )
        with self._lock:
            self._dialog_status["invitations"] = {
                "open": dlg.alive,
                "busy": False,
                "error": None,
                "count": len(rows),
            }
        dlg.send({"type": "list", "items": rows})

    def _cancel_invitation(self, dlg: DialogProcess, token: str) -> None:
        from ..core import invitations

        try:
            holder = self._holder_or_fail(dlg)
        except E.ParsecTrayError as exc:
            dlg.send({"type": "error", "message": str(exc)})
            return
        with self._lock:
            live = holder.live
        if live is not None:
            live.cancelling(token)
        try:
            invitations.invite_cancel(holder.session, token)
        except E.ParsecTrayError as exc:
            if live is not None:
                live.cancel_failed(token)
            dlg.send({"type": "error", "message": str(exc)})
            return
        self._send_invitations(dlg)

    # -- start at login ---------------------------------------------------------------------------

    def _read_autostart(self) -> None:
        try:
            from .autostart import get_autostart

            backend = get_autostart()
            enabled = backend.is_enabled() if backend.SUPPORTED else None
        except Exception:
            log.debug("reading start at login failed", exc_info=True)
            enabled = None
        from . import settings

        at_start = bool(settings.load().get("login_dialog_at_start", False))
        with self._lock:
            self._autostart_enabled = enabled
            self._login_dialog_at_start = at_start

    def _toggle_autostart(self) -> None:
        from .autostart import get_autostart

        backend = get_autostart()
        try:
            if backend.is_enabled():
                backend.disable()
            else:
                from .autostart import default_command

                backend.enable(default_command())
        except E.AutostartError as exc:
            self.message("Start at login", str(exc))
        self._read_autostart()
        self._changed()

    def _toggle_login_dialog(self) -> None:
        from . import settings

        settings.update(login_dialog_at_start=not self._login_dialog_at_start)
        self._read_autostart()
        self._changed()

    # -- quick login (--autostart) -------------------------------------------------------------------

    def _quick_login_all(self) -> None:
        """Started at login: every device that was logged in when the app
        last quit (the last one used becomes the current session again),
        without a prompt when the OS keyring holds its key; else a "Click to
        log in" notification (or the dialog, as the person chose)."""
        from . import settings

        try:
            devices = self._lister.refresh_now()
        except Exception as exc:
            log.warning("listing the devices failed: %s", exc)
            return
        prefs = settings.load()
        last = prefs.get("last_device")
        # None logged in at the last quit (or settings older than several
        # sessions): the last device used, as before.
        keys = [k for k in prefs.get("logged_in") or [last] if isinstance(k, str)]
        if last in keys:  # last in, so that it is the current one
            keys = [k for k in keys if k != last] + [last]
        infos = [d for k in keys for d in devices if d.key == k]
        if not infos and len(devices) == 1:
            infos = [devices[0]]
        prompts = [info for info in infos if info.protection != "keyring"]
        for info in infos:
            if info.protection == "keyring":
                self._quick_login(info)
        for i, info in enumerate(prompts):
            self._offer_login(info, dialog=i == 0)

    def _quick_login(self, info: DeviceSummary) -> None:
        """A keyring device: logged in without a prompt, or its Log in dialog
        saying why not."""
        from ..core import api

        try:
            session = api.login(api.find_device(info.key), password=None, allow_offline=True)
        except E.KeyringError as exc:
            log.warning("quick login: the OS keyring did not open %s: %s", info.key, exc)
            self.open_login(
                info.key,
                # The keyring error says what to do (unlock it, or use a password device).
                error=f"Parsec Tray could not open this device without a prompt: {exc}",
            )
            return
        except E.ParsecTrayError as exc:
            log.warning("quick login to %s failed: %s", info.key, exc)
            self.open_login(info.key, error=str(exc))
            return
        self._adopt(session, info)

    def _offer_login(self, info: DeviceSummary, *, dialog: bool) -> None:
        """A password device: the Log in dialog at once if the person chose
        so (one dialog at a time: ``dialog`` is False for the others), else a
        "Click to log in" notification (the dialog when nothing is clickable)."""
        from . import settings

        if settings.load().get("login_dialog_at_start") and dialog:
            self.open_login(info.key)
            return
        from .notifications import get_notifier

        notifier = get_notifier()
        body = f"Click to log in to {info.organization_id} as {info.user_name or info.email}."
        delivered = notifier.HAS_ACTIONS and notifier.notify(
            "Parsec Tray", body, on_click=lambda: self.open_login(info.key)
        )
        if delivered:
            with self._lock:
                self._notified.append({"title": "Parsec Tray", "body": body, "delivered": "true"})
        elif dialog:  # nothing to click on: the dialog itself
            self.open_login(info.key)

    # -- session ----------------------------------------------------------------------------

    def logout(self, key: str | None = None) -> None:
        """Log out of device ``key`` (the current one without a key); the
        other sessions stay as they are."""
        with self._lock:
            holder = self._sessions.get(key)
            if holder is None:
                return
            self._sessions.remove(holder.key)
        self._changed()
        self._in_thread(holder.close, "logout")
        self._remember_sessions()

    def check_connection(self, *, force: bool, key: str | None = None) -> None:
        """Ping the server of device ``key`` (every session without a key)."""
        with self._lock:
            holders = list(self._sessions) if key is None else [h for h in [self._sessions.get(key)] if h]
        for holder in holders:
            self._check(holder, force=force)

    def _check(self, holder: SessionHolder, *, force: bool) -> None:
        with self._lock:
            state = holder.state
            if holder.closed or holder.checking:
                return
            if not force and state is State.ONLINE and time.monotonic() - holder.last_check < CHECK_INTERVAL:
                return
            if not force and holder.live is not None:
                return  # the event stream watches the server's keepalive
            holder.checking = True
        if force and state in (State.OFFLINE, State.NEEDS_ATTENTION):
            # Asked for: show "connecting" while we try.  A check on menu
            # open stays silent until its result, so that the menu being
            # shown does not change under the pointer.
            self._fire(holder, Event.RETRY)
        self._in_thread(self._ping, "ping", holder)

    def _ping(self, holder: SessionHolder) -> None:
        reason: str | None = None
        try:
            holder.session.ping()
            event = Event.REACHED
        except (E.ServerUnreachableError, E.ServerUnavailableError) as exc:
            event, reason = Event.UNREACHABLE, str(exc)
        except E.ParsecTrayError as exc:
            event, reason = Event.REFUSED, str(exc)
        except Exception as exc:
            log.exception("ping failed")
            event, reason = Event.UNREACHABLE, f"unexpected {type(exc).__name__}"
        with self._lock:
            holder.checking = False
            holder.last_check = time.monotonic()
            if holder.closed:
                return
            holder.reason = reason
        self._fire(holder, event)

    # -- requests from other launches ----------------------------------------------------------

    def handle_request(self, req: dict[str, Any]) -> dict[str, Any]:
        cmd = req.get("cmd")
        if cmd == "status":
            return self.snapshot().status_json()
        if cmd == "menu":
            return {"ok": True, "entries": to_json(self.menu())}
        if cmd == "open":
            args = [a for a in req.get("args") or [] if isinstance(a, str)]
            links = [a for a in args if "://" in a]
            for link in links:
                self.open_link(link)
            return {"ok": True, "opened": links}
        if cmd == "action":
            try:
                self.perform(str(req.get("action")), req.get("arg"))
            except ValueError:
                return {"ok": False, "error": f"unknown action {req.get('action')!r}"}
            return {"ok": True}
        if cmd == "quit":
            return {"ok": True, AFTER_REPLY: lambda: threading.Thread(target=self.quit, daemon=True).start()}
        return {"ok": False, "error": f"unknown command {cmd!r}"}

    def queue_link(self, link: str) -> None:
        """A link given on the command line of the first launch."""
        self._pending_link = link

    # -- the end ------------------------------------------------------------------------------------

    def quit(self) -> None:
        with self._lock:
            if self._quitting:
                return
            self._quitting = True
            dialogs = list(self._dialogs.values())
        for dlg in dialogs:
            dlg.close(timeout=1.0)
        shell = self._shell
        if shell is not None:
            shell.stop()

    def shutdown(self, flow_timeout: float = 60.0) -> None:
        """After the shell's loop has ended.  A flow still running (Quit
        chosen while an organization is being created) is waited for: cut
        short, it could leave an organization bootstrapped on the server
        without its device file here."""
        with self._lock:
            self._quitting = True
            flows = list(self._flows)
        deadline = time.monotonic() + flow_timeout
        for flow in flows:
            flow.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            holders = self._sessions.pop_all()  # the settings still name them: --autostart
            pump, self._pump = self._pump, None
            dialogs = list(self._dialogs.values())
        for dlg in dialogs:
            dlg.close(timeout=1.0)
        if pump is not None:
            pump.stop()
        for holder in holders:
            holder.close(timeout=2.0)
