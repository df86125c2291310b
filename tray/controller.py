"""The tray app's logic between the shell (icon or window), the dialogs and
``parsec_tray.core.api``.  No GUI import here.

Threads: the shell's main loop calls :meth:`Controller.perform` and
:meth:`Controller.menu_opened`; the instance server calls
:meth:`Controller.handle_request`; dialog reader threads deliver messages;
flows (Argon2id, network) run in short-lived worker threads, so the menu
never waits for them.  One lock guards the state; the shell is told about
every change through ``shell.refresh(snapshot, entries)``.

Session results carry a generation number: a ping that was started before a
logout (or before switching device) cannot change the new state.

While logged in with a real session, a :class:`~.live.LiveSession` keeps
the server's event stream open: its online/offline/error drive the state
(quietly: no notification), its invitation intents go through one
:class:`~.live.NotificationPump` to the notifier (chosen at the first
notification, not at start-up).  Invitation dialogs, start at login and the
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
from .state import DeviceSummary, Event, Identity, IllegalTransition, Snapshot, State, StateMachine

if TYPE_CHECKING:
    from .backends.base import Shell
    from .coalesce import Intent, Notification
    from .live import LiveSession, NotificationPump

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
    # Started at login (``--autostart``): log in to the last device at once.
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
        self._machine = StateMachine()
        self._session: Any = None
        self._identity: Identity | None = None
        self._reason: str | None = None
        self._generation = 0
        self._devices: tuple[DeviceSummary, ...] = ()
        self._lister = DeviceLister(self._devices_changed)
        self._dialogs: dict[str, DialogProcess] = {}
        self._dialog_status: dict[str, dict[str, Any]] = {}
        self._shell: Shell | None = None
        self._checking = False
        self._last_check = 0.0
        self._quitting = False
        self._pending_link: str | None = None
        self._flows: list[threading.Thread] = []
        self._live: LiveSession | None = None
        self._pump: NotificationPump | None = None
        self._autostart_enabled: bool | None = None
        self._login_dialog_at_start = False
        self._notified: deque[dict[str, str]] = deque(maxlen=20)

    # -- state ----------------------------------------------------------------

    def attach(self, shell: Shell) -> None:
        self._shell = shell

    @property
    def state(self) -> State:
        return self._machine.state

    def snapshot(self) -> Snapshot:
        with self._lock:
            dialogs = {k: dict(v) for k, v in self._dialog_status.items()}
            live = self._live
            extra: dict[str, Any] = {"dialogs": dialogs, "backend": self._shell.name if self._shell else None}
            if live is not None:
                extra["stream"] = live.stream_state
            if self._notified:
                extra["notified"] = list(self._notified)
            return Snapshot(
                state=self._machine.state,
                identity=self._identity,
                devices=self._devices,
                reason=self._reason,
                demo_server=self.options.demo_server,
                live=live is not None,
                waiting=live.waiting() if live is not None else (),
                autostart=self._autostart_enabled,
                login_dialog_at_start=self._login_dialog_at_start,
                extra=extra,
            )

    def menu(self) -> tuple[Entry, ...]:
        return build_menu(self.snapshot())

    def _changed(self) -> None:
        shell = self._shell
        if shell is not None and not self._quitting:
            snap = self.snapshot()
            shell.refresh(snap, build_menu(snap))

    def _fire(self, event: Event, generation: int | None = None) -> bool:
        with self._lock:
            if generation is not None and generation != self._generation:
                return False  # a result about a session that is gone
            try:
                self._machine.handle(event)
            except IllegalTransition as exc:
                log.debug("ignored: %s", exc)
                return False
        self._changed()
        return True

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
            threading.Thread(target=self._quick_login, name="quick-login", daemon=True).start()
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
            self.logout()
        elif action is Action.CHECK:
            self.check_connection(force=True)
        elif action is Action.INVITE_USER:
            self.open_invite("user")
        elif action is Action.INVITE_DEVICE:
            self.open_invite("device")
        elif action is Action.INVITATIONS:
            self.open_invitations()
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
            waiting = self._live is not None and bool(self._live.tracker.waiting)
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

    def open_invite(self, mode: str) -> None:
        with self._lock:
            ident = self._identity
        if ident is None:
            return
        self._open_dialog(f"invite_{mode}", {"mode": mode, "organization_id": ident.organization_id})

    def open_invitations(self) -> None:
        dlg = self._open_dialog("invitations", {})
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
        """Make ``session`` (already pinged by core, or unlocked offline with
        ``offline_error`` set) the app's session, and open its event stream."""
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
        with self._lock:
            if self._quitting:
                session.close()
                return
            old, self._session = self._session, session
            old_live, self._live = self._live, None
            self._identity = ident
            self._reason = str(offline) if offline is not None else None
            self._generation += 1
            generation = self._generation
            self._last_check = time.monotonic()
        self._fire(Event.UNLOCKED, generation)
        # core's login and bootstrap end with an authenticated ping.
        self._fire(Event.UNREACHABLE if offline is not None else Event.REACHED, generation)
        if old_live is not None:
            self._in_thread(old_live.stop, "stream-stop")
        if old is not None:
            threading.Thread(target=old.close, daemon=True).start()
        if device is not None:  # a real session (tests use stand-ins without one)
            self._start_live(session, generation)
        key = str(getattr(info, "device_file", "") or getattr(info, "key", ""))
        if key:
            from . import settings

            settings.update(last_device=key)

    # -- the live session (event stream) -------------------------------------------------------

    def _start_live(self, session: Any, generation: int) -> None:
        from .live import LiveSession

        options: dict[str, Any] = {}
        if os.environ.get("PARSEC_TRAY_BACKOFF_MAX"):  # tests: reconnect fast after a cut
            options["backoff_max"] = float(os.environ["PARSEC_TRAY_BACKOFF_MAX"])
        live = LiveSession(
            session,
            on_state=lambda state, message: self._on_stream_state(generation, state, message),
            on_intents=lambda intents: self._on_intents(generation, intents),
            on_change=self._changed,
            stream_options=options,
        )
        with self._lock:
            if generation != self._generation or self._quitting:
                return
            self._live = live
        try:
            live.start()
        except Exception:
            log.exception("the event stream could not start")
            with self._lock:
                if self._live is live:
                    self._live = None
            return
        self._changed()

    def _on_stream_state(self, generation: int, state: str, message: str | None) -> None:
        """Quiet on purpose: the icon and the menu change, nothing pops up."""
        event = {"online": Event.REACHED, "offline": Event.UNREACHABLE, "error": Event.REFUSED}.get(state)
        if event is None:
            return
        with self._lock:
            if generation != self._generation:
                return
            self._reason = message if event is not Event.REACHED else None
            self._last_check = time.monotonic()
        if not self._fire(event, generation):
            self._changed()  # same state, new reason

    def _on_intents(self, generation: int, intents: list[Intent]) -> None:
        with self._lock:
            if generation != self._generation or self._quitting:
                return
            if self._pump is None:
                from .live import NotificationPump

                self._pump = NotificationPump(self._show)
            pump = self._pump
        pump.post(intents)

    def _show(self, n: Notification) -> None:
        """In the notification thread: the notifier is chosen at the first one."""
        from .notifications import get_notifier

        on_click = self.open_invitations if n.topic in ("waiting", "created", "mixed") else None
        delivered = get_notifier().notify(n.title, n.body, urgency=n.urgency, on_click=on_click)
        with self._lock:
            self._notified.append({"title": n.title, "body": n.body, "delivered": str(delivered).lower()})
        log.info("notification %r: %s", n.title, "shown" if delivered else "not delivered")

    # -- invitations (worker threads) -------------------------------------------------------------

    def _session_or_fail(self) -> Any:
        with self._lock:
            session = self._session
        if session is None or getattr(session, "device", None) is None:
            raise E.ParsecTrayError("You are not logged in any more.")
        return session

    def _run_invite(self, dlg: DialogProcess, v: dict[str, Any], progress: Any) -> dict[str, Any]:
        from ..core import invitations

        session = self._session_or_fail()
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
            session = self._session_or_fail()
            items = invitations.invite_list(session)
        except E.ParsecTrayError as exc:
            dlg.send({"type": "error", "message": str(exc)})
            return
        except Exception as exc:
            log.exception("listing the invitations failed")
            dlg.send({"type": "error", "message": f"Something unexpected went wrong ({type(exc).__name__})."})
            return
        with self._lock:
            live = self._live
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

        with self._lock:
            live = self._live
        if live is not None:
            live.cancelling(token)
        try:
            invitations.invite_cancel(self._session_or_fail(), token)
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

    def _quick_login(self) -> None:
        """Started at login: the last device, without a prompt when the OS
        keyring holds its key; else a "Click to log in" notification (or the
        dialog, as the person chose)."""
        from . import settings

        try:
            devices = self._lister.refresh_now()
        except Exception as exc:
            log.warning("listing the devices failed: %s", exc)
            return
        prefs = settings.load()
        last = prefs.get("last_device")
        info = next((d for d in devices if d.key == last), None)
        if info is None and len(devices) == 1:
            info = devices[0]
        if info is None:
            return
        if info.protection == "keyring":
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
            return
        if prefs.get("login_dialog_at_start"):
            self.open_login(info.key)
            return
        from .notifications import get_notifier

        notifier = get_notifier()
        who = info.user_name or info.email
        delivered = notifier.HAS_ACTIONS and notifier.notify(
            "Parsec Tray",
            f"Click to log in to {info.organization_id} as {who}.",
            on_click=lambda: self.open_login(info.key),
        )
        if delivered:
            with self._lock:
                self._notified.append(
                    {
                        "title": "Parsec Tray",
                        "body": f"Click to log in to {info.organization_id} as {who}.",
                        "delivered": "true",
                    }
                )
        else:  # nothing to click on: the dialog itself
            self.open_login(info.key)

    # -- session ----------------------------------------------------------------------------

    def logout(self) -> None:
        with self._lock:
            session, self._session = self._session, None
            if session is None and not self._machine.state.logged_in:
                return
            live, self._live = self._live, None
            self._identity = None
            self._reason = None
            self._generation += 1
        self._fire(Event.LOGGED_OUT)
        if live is not None or session is not None:

            def close() -> None:
                if live is not None:
                    live.stop()
                if session is not None:
                    session.close()

            threading.Thread(target=close, name="logout", daemon=True).start()

    def check_connection(self, *, force: bool) -> None:
        with self._lock:
            session = self._session
            state = self._machine.state
            if session is None or self._checking:
                return
            if not force and state is State.ONLINE and time.monotonic() - self._last_check < CHECK_INTERVAL:
                return
            if not force and self._live is not None:
                return  # the event stream watches the server's keepalive
            self._checking = True
            generation = self._generation
        if force and state in (State.OFFLINE, State.NEEDS_ATTENTION):
            # Asked for: show "connecting" while we try.  A check on menu
            # open stays silent until its result, so that the menu being
            # shown does not change under the pointer.
            self._fire(Event.RETRY, generation)
        threading.Thread(target=self._ping, args=(session, generation), name="ping", daemon=True).start()

    def _ping(self, session: Any, generation: int) -> None:
        reason: str | None = None
        try:
            session.ping()
            event = Event.REACHED
        except (E.ServerUnreachableError, E.ServerUnavailableError) as exc:
            event, reason = Event.UNREACHABLE, str(exc)
        except E.ParsecTrayError as exc:
            event, reason = Event.REFUSED, str(exc)
        except Exception as exc:
            log.exception("ping failed")
            event, reason = Event.UNREACHABLE, f"unexpected {type(exc).__name__}"
        with self._lock:
            self._checking = False
            self._last_check = time.monotonic()
            if generation != self._generation:
                return
            self._reason = reason
        self._fire(event, generation)

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
            session, self._session = self._session, None
            live, self._live = self._live, None
            pump, self._pump = self._pump, None
            dialogs = list(self._dialogs.values())
        for dlg in dialogs:
            dlg.close(timeout=1.0)
        if pump is not None:
            pump.stop()
        if live is not None:
            try:
                live.stop(timeout=2.0)
            except Exception:
                log.debug("stopping the event stream failed", exc_info=True)
        if session is not None:
            try:
                session.close()
            except Exception:
                log.debug("closing the session failed", exc_info=True)
