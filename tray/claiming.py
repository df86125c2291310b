"""The claim dialog's worker: joining with an invitation link, ``core.claim``
in a thread of the tray process, its UI callbacks turned into dialog
messages (the claimer's side of :mod:`.greeting`).

:func:`begin` reads what the link is (the anonymous ``invite_info``, the
only request made before the person agrees) and opens the Claim dialog on
its first page.  Nothing more is sent until the person presses Continue
(``start``).  Then :class:`ClaimRun` answers the driver: the greeter's code
among 4 (``choices``), this side's code (``code``), then the details and
the password (``details``), asked once both sides trust each other.  A
wrong code starts a new attempt from the wait step, with the explanation in
the banner; closing the dialog stops the driver, which cancels the attempt
on the server, and nothing is saved.

Invariants: never runs on the UI thread; one run per dialog; the password
goes from the dialog to core and nowhere else (not in ``status``, not in
the log); the new device's session is adopted like a created one.
"""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING, Any

from ..core import errors as E
from . import dialog_protocol as P
from . import logins
from .dialogs import DialogProcess
from .greeting import RUNS, GreetingRun
from .i18n import N_, _

if TYPE_CHECKING:
    from .controller import Controller

__all__ = ["ClaimRun", "begin", "run_for"]

TITLE = N_("Join organization")  # translated where used
WRONG_CODE = N_(
    "The codes did not match, so nothing was saved. Make sure you are talking to {who}, then "
    "compare the codes again: a new attempt is waiting for them."
)
PEER_WRONG_CODE = N_(
    "{who} said your code was not among theirs, so nothing was saved. Make sure you are talking "
    "to {who}, then compare the codes again: a new attempt is waiting for them."
)
NO_KEYRING = N_("This computer has no usable keyring: choose a password instead.")


class ClaimRun(GreetingRun):
    """One Claim dialog's claim (see the module header); the waiting for
    the dialog's answers is the greeting's."""

    UNEXPECTED = N_("Something unexpected went wrong ({error}); nothing was saved. Please report it.")

    def __init__(self, host: Controller, dlg: DialogProcess, addr: Any, info: Any) -> None:
        super().__init__(host, dlg, None, None)
        self.addr, self.info = addr, info
        self.who = str(dlg.init.get("invited_by") or _("the administrator"))
        self.user = dlg.init.get("type") != "DEVICE"
        if not self.user:
            self.who = _("your other device")

    # -- ClaimerUI (the worker thread) ------------------------------------------------------

    def choose_code(self, choices: list[str], greeter: Any = None) -> str | None:
        if greeter is not None:
            self.who = str(greeter)
        self.dlg.send({"type": P.ToDialog.CHOICES, "choices": list(choices)})
        code = self._wait(P.FromDialog.CHOOSE).get("code")
        return str(code) if code else None

    def details(self) -> Any:
        """Your name (a user invitation), the device's name and the password
        (or the keyring), checked here as core will check them."""
        from ..core import ClaimDetails, DeviceLabel, HumanHandle, keyring_available

        self.dlg.send(
            {
                "type": P.ToDialog.DETAILS,
                "user_name": "",
                "device_label": str(self.dlg.init.get("device_label") or socket.gethostname()),
            }
        )
        while True:
            values = self._wait(P.FromDialog.SUBMIT).get("values") or {}
            keyring = bool(values.get("keyring"))
            password = None if keyring else str(values.get("password", ""))
            try:
                label = DeviceLabel(str(values.get("device_label", "")).strip())
                name = str(values.get("user_name", "")).strip() if self.user else None
                if self.user:
                    HumanHandle(str(self.dlg.init.get("email", "")), name or "")
            except E.InvalidValueError as exc:
                field = "device_label" if exc.field == "device_label" else "user_name"
                self.dlg.failed(str(exc), error_type=type(exc).__name__, step=5, field=field)
                continue
            if keyring and not keyring_available():
                self.dlg.failed(_(NO_KEYRING), error_type="KeyringUnavailableError", step=6, field="password")
                continue
            if not keyring and not password:
                self.dlg.failed(
                    _("Enter a password."), error_type="InvalidValueError", step=6, field="password"
                )
                continue
            self.dlg.working()
            self.dlg.progress(_("Protecting the device…"))
            return ClaimDetails(label, name, password)

    # -- the worker ---------------------------------------------------------------------------

    def run(self) -> None:
        from ..core import claim, find_device

        threading.Thread(target=self.watch, name="claim-watch", daemon=True).start()
        try:
            self._wait(P.FromDialog.START)  # nothing is sent before the person goes on
            while not self.stop.is_set():
                try:
                    created = claim(self.addr, self.info, self, details=self.details, stop=self.stop)
                except E.GreetingCancelledError as exc:
                    if exc.reason != "INVALID_SAS_CODE" or self.stop.is_set():
                        raise
                    text = _(PEER_WRONG_CODE if exc.by_peer else WRONG_CODE)
                    self.dlg.send({"type": P.ToDialog.WAITING, "banner": text.format(who=self.who)})
                    continue
                info = find_device(created.device_file)
                if created.session is not None:
                    logins.adopt(self.host, created.session, info)
                self.host.lister.refresh_now()
                self.dlg.succeeded({"organization": created.organization_id, "device": str(info.device_file)})
                return
        except Exception as exc:
            self.ended_on(exc)
        finally:
            RUNS.end(self.dlg)


def begin(host: Controller, link: str) -> None:
    """In a worker thread: what invitation ``link`` is (``invite_info``),
    then its Claim dialog, and the claim in another worker thread, waiting
    for the person to go on (unless that dialog already claims)."""
    from ..core import ParsecInvitationAddr, UserInviteInfo, invite_info

    try:
        addr = ParsecInvitationAddr.parse(link.strip())
        if addr.invitation_type not in ("USER", "DEVICE"):
            raise E.InvalidLinkError(_("Parsec Tray can join with user and device invitations only."))
        info = invite_info(addr)
    except E.ParsecTrayError as exc:
        host.message(_(TITLE), str(exc))  # core's sentence says what to do
        return
    user = isinstance(info, UserInviteInfo)
    init = {
        "type": "USER" if user else "DEVICE",
        "organization_id": str(addr.organization_id),
        "server": addr.server.netloc,
        "encrypted": addr.server.use_ssl,
        "invited_by": info.created_by.describe(),
        "email": str(info.claimer_email) if isinstance(info, UserInviteInfo) else "",
        "device_label": socket.gethostname(),
    }
    dlg = host.dialogs.open(P.Kind.CLAIM, init, target=addr.to_url())
    if dlg is None:
        return
    RUNS.start(host, dlg, lambda: ClaimRun(host, dlg, addr, info), "flow-claim")


def run_for(dlg: DialogProcess) -> ClaimRun | None:
    run = RUNS.of(dlg)
    return run if isinstance(run, ClaimRun) else None
