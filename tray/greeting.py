"""The greeting dialog's worker: ``core.greet`` in a thread of the tray
process, its UI callbacks turned into dialog messages.

:class:`GreetingRun` is one open Greet dialog: the driver calls its
:class:`~parsec_tray.core.invite.GreeterUI` methods from the worker thread;
each sends the dialog its step (``code``, ``choices``, ``claim``) and, when
an answer is needed, waits for the dialog's ``choose`` or ``submit``.  A
wrong code starts a new attempt from the wait step, with the explanation in
the banner; closing the dialog (``cancel``, or its process ending) stops the
driver, which cancels the attempt on the server.

Invariants: never runs on the UI thread; one run per dialog; a run whose
dialog is gone stops within a second and leaves nothing created.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core import errors as E
from . import dialog_protocol as P
from .dialogs import DialogProcess
from .i18n import N_, _

if TYPE_CHECKING:
    from .controller import Controller

__all__ = ["RUNS", "GreetingRun", "Runs", "begin", "run_for"]

log = logging.getLogger(__name__)

# Translated where used.
WRONG_CODE = N_(
    "The codes did not match, so nothing was created. Make sure you are talking to {who}, "
    "then compare the codes again: a new attempt is waiting for them."
)
PEER_WRONG_CODE = N_(
    "{who} said your code was not among theirs, so nothing was created. Make sure you are "
    "talking to {who}, then compare the codes again: a new attempt is waiting for them."
)

CANNOT_GREET = N_("This person cannot be greeted: {reason}")


class Runs:
    """The ceremony of each open Greet or Claim dialog: one per dialog,
    started once however often the dialog is raised, gone when it ends."""

    def __init__(self) -> None:
        self._runs: dict[int, GreetingRun] = {}
        self._lock = threading.Lock()

    def start(self, host: Controller, dlg: DialogProcess, make: Callable[[], GreetingRun], name: str) -> None:
        with self._lock:
            if id(dlg) in self._runs:
                return  # raised: it runs already
            run = self._runs[id(dlg)] = make()
        host.start_flow(threading.Thread(target=run.run, name=name, daemon=True))

    def end(self, dlg: DialogProcess) -> None:
        with self._lock:
            self._runs.pop(id(dlg), None)

    def of(self, dlg: DialogProcess) -> GreetingRun | None:
        with self._lock:
            return self._runs.get(id(dlg))


RUNS = Runs()


class _Closed(Exception):
    """The dialog was closed: the driver cancels the attempt."""


class GreetingRun:
    """One Greet dialog's greeting (see the module header)."""

    def __init__(self, host: Controller, dlg: DialogProcess, holder: Any, invitation: Any) -> None:
        self.host, self.dlg, self.holder, self.invitation = host, dlg, holder, invitation
        self.stop = threading.Event()
        self.answers: queue.Queue[dict[str, Any]] = queue.Queue()
        self.who = str(dlg.init.get("who") or _("your guest"))

    # -- what the dialog writes (its reader thread) ---------------------------------------

    def answer(self, msg: dict[str, Any]) -> None:
        self.answers.put(msg)

    def close(self) -> None:
        self.stop.set()

    def watch(self) -> None:
        """In its own thread: the dialog's process ended (closed by the tray
        at exit, or killed) without a ``cancel``: stop all the same, even
        while the driver polls for the guest."""
        proc = self.dlg.proc
        if proc is not None:
            proc.wait()
        self.stop.set()

    def _wait(self, kind: str) -> dict[str, Any]:
        while not self.stop.is_set():
            if not self.dlg.alive and self.dlg.proc is not None:
                break
            try:
                msg = self.answers.get(timeout=0.5)  # wakes up to notice a dialog gone
            except queue.Empty:
                continue
            if msg.get("type") == kind:
                return msg
        self.stop.set()
        raise _Closed()

    # -- GreeterUI (the worker thread) ------------------------------------------------------

    def show_code(self, code: str) -> None:
        self.dlg.send({"type": P.ToDialog.CODE, "code": code})

    def choose_code(self, choices: list[str]) -> str | None:
        self.dlg.send({"type": P.ToDialog.CHOICES, "choices": list(choices)})
        code = self._wait(P.FromDialog.CHOOSE).get("code")
        return str(code) if code else None

    def review(self, claim: Any) -> Any:
        from ..core import Approval, DeviceLabel, HumanHandle, UserClaim, UserProfile

        user = isinstance(claim, UserClaim)
        self.dlg.send(
            {
                "type": P.ToDialog.CLAIM,
                "email": str(claim.requested_human_handle.email) if user else "",
                "user_name": claim.requested_human_handle.label if user else "",
                "device_label": str(claim.requested_device_label),
            }
        )
        while True:
            values = self._wait(P.FromDialog.SUBMIT).get("values") or {}
            try:
                label = DeviceLabel(str(values.get("device_label", "")).strip())
                if not user:
                    approval = Approval(label)
                else:
                    handle = HumanHandle(
                        str(claim.requested_human_handle.email), str(values.get("user_name", "")).strip()
                    )
                    approval = Approval(label, handle, UserProfile(str(values.get("profile", ""))))
            except (E.InvalidValueError, ValueError) as exc:
                field = exc.field if isinstance(exc, E.InvalidValueError) else "profile"
                self.dlg.failed(str(exc), error_type=type(exc).__name__, step=4, field=field)
                continue
            self.dlg.working()
            self.dlg.progress(_("Creating the certificates…"))
            return approval

    # -- the worker ---------------------------------------------------------------------------

    def run(self) -> None:
        from ..core import greet

        holder, invitation = self.holder, self.invitation
        threading.Thread(target=self.watch, name="greet-watch", daemon=True).start()
        try:
            while not self.stop.is_set():
                try:
                    greeted = greet(holder.session, invitation, self, stop=self.stop)
                except E.GreetingCancelledError as exc:
                    if exc.reason != "INVALID_SAS_CODE" or self.stop.is_set():
                        raise
                    text = PEER_WRONG_CODE if exc.by_peer else WRONG_CODE
                    self.dlg.send({"type": P.ToDialog.WAITING, "banner": _(text).format(who=self.who)})
                    continue
                who = greeted.human_handle.label if invitation.type == "USER" else str(greeted.device_label)
                self.dlg.succeeded({"who": who, "organization": holder.identity.organization_id})
                return
        except Exception as exc:
            self.ended_on(exc)
        finally:
            RUNS.end(self.dlg)

    # What a bug says (core's errors say what they are about).
    UNEXPECTED = N_("Something unexpected went wrong ({error}); nothing was created. Please report it.")

    def ended_on(self, exc: Exception) -> None:
        """In ``run``'s ``except``: the attempt ended on ``exc``, told in the
        dialog (unless the dialog was closed: stopping is the driver's way out,
        not a failure)."""
        if self.stop.is_set():
            return
        text = str(exc)
        if not isinstance(exc, E.ParsecTrayError):
            log.exception("%s failed", type(self).__name__)
            text = _(self.UNEXPECTED).format(error=type(exc).__name__)
        self.dlg.failed(text, error_type=type(exc).__name__, step=None, field=None)


def begin(host: Controller, holder: Any, token: str, *, link: str = "") -> None:
    """In a worker thread: find invitation ``token`` (hex) of session
    ``holder``, open its Greet dialog (showing ``link``, when given, to
    copy while it waits) and greet in another worker thread (unless that
    dialog already greets)."""
    from ..core import UserInvitation, find_invitation

    try:
        invitation = find_invitation(holder.session, token)
    except E.ParsecTrayError as exc:
        host.message(_("Greet"), _(CANNOT_GREET).format(reason=exc))
        return
    init = {
        "token": str(invitation.token),
        "type": invitation.type,
        "who": str(invitation.claimer_email)
        if isinstance(invitation, UserInvitation)
        else _("your new device"),
        "organization_id": holder.identity.organization_id,
        "link": link,
        # The organization's configuration (kept per session): External offered or not.
        "outsider_allowed": bool(getattr(holder, "outsider_allowed", True)),
    }
    dlg = host.dialogs.open(P.Kind.GREET, init, target=holder.key)
    if dlg is None:
        return
    RUNS.start(host, dlg, lambda: GreetingRun(host, dlg, holder, invitation), "flow-greet")


def run_for(dlg: DialogProcess) -> GreetingRun | None:
    return RUNS.of(dlg)
