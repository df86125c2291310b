"""The tray app's coordinator, between the shell (icon or window), the
dialogs and core.  No GUI import here.

What it owns, each in a room named after what it holds:

- ``sessions`` (:class:`~.sessions.Sessions`): one
  :class:`~.sessions.SessionHolder` per logged-in device (its session, state
  machine, event stream, invitation tracker: the only caller of that
  device's ``invite_list``); the icon shows the most urgent state of all;
- ``dialogs`` (:class:`~.dialogs.DialogManager`): the dialog processes,
  whose status is computed from them; their messages go to
  :mod:`.dialog_flows` (one handler per dialog kind and message);
- ``notices`` (:class:`~.notices.Notices`): the notifications (one pump for
  every session's invitation intents; a click opens that organization's
  invitations or greets);
- ``lister`` (:class:`~.devices.DeviceLister`): the devices on this
  computer; ``options`` (:class:`~.options.AppOptions`): what the command
  line and environment set; the start-at-login and screen-lock settings.

The rooms that act are modules of functions of the controller (``host``):
:mod:`.logins` (adopt, log out, the screen lock's log out), :mod:`.health`
(stream states, pings, refusals, the at-risk check), :mod:`.terms`,
:mod:`.openers` (the dialogs the menu, the notifications and the links
open), :mod:`.greeting` / :mod:`.claiming` (the two sides of an
invitation), :mod:`.startup` (quick login, the settings),
:mod:`.requests` (the instance socket's commands).  They call one another
directly and share only what is here: the ``lock``, :meth:`Controller.fire`
and :meth:`Controller.changed`, :meth:`Controller.holder`,
:meth:`Controller.message` and :meth:`Controller.start_flow`.

Threads: the shell's main loop calls :meth:`Controller.perform` (through
the ``Action → handler`` table :data:`~.actions.ACTIONS`) and
:meth:`Controller.menu_opened`; the instance server calls
:meth:`Controller.handle_request`; dialog reader threads deliver messages;
flows (Argon2id, network) run in short-lived worker threads, so the menu
never waits for them.  One lock guards the state; the shell is told about
every change through ``shell.refresh(snapshot, entries)``.

Results of work started for a holder (a ping, a stream state) are about that
holder: once it is logged out (or replaced by a new login to the same
device) they change nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import partial
from typing import TYPE_CHECKING, Any

from . import dialog_flows, health, openers, requests, startup
from .actions import ACTIONS
from .devices import DeviceLister
from .dialog_protocol import Kind
from .dialogs import DialogManager
from .menu import Action, Entry, build_menu
from .notices import Notices
from .options import AppOptions
from .sessions import SessionHolder, Sessions
from .state import Event, Snapshot, State
from .threads import in_thread

if TYPE_CHECKING:
    from .backends.base import Shell
    from .screenlock import ScreenLockMonitor

__all__ = ["ACTIONS", "AppOptions", "Controller"]

log = logging.getLogger(__name__)

# The first menu waits at most this long for the first device listing.
FIRST_LISTING_WAIT = 5.0


class Controller:
    def __init__(self, options: AppOptions | None = None) -> None:
        self.options = options or AppOptions()
        self.lock = threading.RLock()
        self.sessions = Sessions()
        self.settings_lock = threading.Lock()
        self.lister = DeviceLister(lambda devices: self.changed())
        self.dialogs = DialogManager(lambda dlg, msg: dialog_flows.on_dialog_message(self, dlg, msg))
        self._shell: Shell | None = None
        self.quitting = False
        self._pending_link: str | None = None
        self._flows: list[threading.Thread] = []
        self.notices = Notices(
            partial(openers.open_invitations_of, self), on_greet=partial(openers.greet_of, self)
        )
        self.autostart_enabled: bool | None = None
        self.login_dialog_at_start = False
        # Log out when the screen locks (None: this desktop cannot tell);
        # its monitor while on; the devices logged out by the last lock.
        self.logout_on_lock: bool | None = None
        self.screenlock: ScreenLockMonitor | None = None
        self.locked_out: list[str] = []

    # -- what the shells show ---------------------------------------------------------

    def attach(self, shell: Shell) -> None:
        self._shell = shell

    @property
    def state(self) -> State:
        """The icon's state: the most urgent of the sessions'."""
        with self.lock:
            return self.sessions.icon_state()

    @property
    def checking(self) -> bool:
        """Whether a connection check is in flight."""
        with self.lock:
            return any(h.checking for h in self.sessions)

    def snapshot(self) -> Snapshot:
        with self.lock:
            views = self.sessions.views()
            current = self.sessions.current
            view = next((v for v in views if current is not None and v.key == current.key), None)
            extra: dict[str, Any] = {
                "dialogs": self.dialogs.status(),
                "backend": self._shell.name if self._shell else None,
            }
            if view is not None and view.live:
                extra["stream"] = view.stream
            notified = self.notices.recent()
            if notified:
                extra["notified"] = notified
            return Snapshot(
                state=self.sessions.icon_state(),
                identity=view.identity if view else None,
                devices=self.lister.devices,
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
        if shell is not None and not self.quitting:
            snap = self.snapshot()
            shell.refresh(snap, build_menu(snap))
            self.notices.still_waiting(t for v in snap.sessions for t in v.waiting_tokens)

    # -- what the rooms share ----------------------------------------------------------

    def fire(self, holder: SessionHolder, event: Event) -> bool:
        """Apply ``event`` to ``holder``'s state (nothing once it is gone)."""
        with self.lock:
            fired = holder.fire(event)
        if fired:
            self.changed()
        return fired

    def holder(self, key: str | None) -> SessionHolder | None:
        """The session of device ``key`` (the current one without a key),
        which becomes the current one."""
        with self.lock:
            holder = self.sessions.get(key)
            if holder is not None:
                self.sessions.touch(holder.key)
            return holder

    def message(self, title: str, text: str) -> None:
        """One sentence for the person, in a message dialog."""
        self.dialogs.open(Kind.MESSAGE, {"title": title, "text": text}, target=text)

    def start_flow(self, flow: threading.Thread) -> None:
        """A flow's worker thread: waited for at the end (see :meth:`shutdown`)."""
        with self.lock:
            self._flows = [t for t in self._flows if t.is_alive()] + [flow]
        flow.start()

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
            in_thread(openers.open_link, "open-link", self, link)
        startup.read_autostart(self)
        if self.autostart_enabled is not None:
            self.changed()  # the "Start at login" entry
        in_thread(startup.watch_screen_lock, "screenlock", self)
        self.lister.watch(self._shell)
        if self.options.autostart and not link:
            in_thread(startup.quick_login_all, "quick-login", self)
            return
        self.lister.refresh(force=True)

    def queue_link(self, link: str) -> None:
        """A link given on the command line of the first launch."""
        self._pending_link = link

    # -- what the person does ------------------------------------------------------

    def perform(self, action: Action | str, arg: str | None = None) -> None:
        action = Action(action)
        log.debug("action %s %s", action.value, arg or "")
        ACTIONS[action](self, arg)

    def menu_opened(self) -> None:
        """Just before the menu shows: refresh what is cheap to refresh (the
        first menu, opened right after start-up, waits for the device list)."""
        self.lister.refresh()
        self.lister.wait_listed(FIRST_LISTING_WAIT)
        before = self.autostart_enabled
        startup.read_autostart(self)
        with self.lock:
            waiting = any(h.live is not None and h.live.tracker.waiting for h in self.sessions)
        if waiting or before != self.autostart_enabled:
            self.changed()  # "is waiting" entries age out; autostart changed outside
        health.check_connection(self, force=False)

    # -- requests from other launches, and the end ----------------------------------------------------

    def handle_request(self, req: dict[str, Any]) -> dict[str, Any]:
        return requests.handle(self, req)

    def quit(self) -> None:
        with self.lock:
            if self.quitting:
                return
            self.quitting = True
        self.dialogs.close_all(timeout=1.0)
        shell = self._shell
        if shell is not None:
            shell.stop()

    def shutdown(self, flow_timeout: float = 60.0) -> None:
        """After the shell's loop has ended: every session is logged out.  A
        flow still running (Quit chosen while an organization is being
        created) is waited for: cut short, it could leave an organization
        bootstrapped on the server without its device file here."""
        with self.lock:
            self.quitting = True
            flows = list(self._flows)
        deadline = time.monotonic() + flow_timeout
        for flow in flows:
            flow.join(max(0.0, deadline - time.monotonic()))
        with self.lock:
            holders = self.sessions.pop_all()  # the settings still name them: --autostart
        self.dialogs.close_all(timeout=1.0)
        self.notices.stop()
        startup.stop_screen_lock(self)
        for holder in holders:
            holder.close(timeout=2.0)
