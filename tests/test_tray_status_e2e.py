"""``parsec-tray status`` tells what is open now and no secret, end to end:
Alice's tray online in the real desktop session (the real server), an
Invite user dialog opened from the menu and driven through its
accessibility tree.  While it shows the invitation link, ``status`` and
``status --json`` carry neither that link nor its token; once it is closed,
they carry nothing of it at all."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from atspi_client import Accessibility
from desktop_session import TrayApp, wait_until
from test_tray_greet_e2e import alice_tray  # noqa: F401 - Alice's tray, online
from test_tray_live_e2e import desktop  # noqa: F401 - the desktop fixture

pytestmark = [pytest.mark.desktop, pytest.mark.server, pytest.mark.timeout(300)]

WIN = "^Invite user"


def _both_outputs(app: TrayApp) -> tuple[dict[str, object], str]:
    """``status --json`` (parsed) and its raw text, with ``status``'s text."""
    as_json = app.cli("status", "--json")
    as_text = app.cli("status")
    assert as_json.returncode == 0 and as_text.returncode == 0, (as_json.stderr, as_text.stderr)
    return json.loads(as_json.stdout), as_json.stdout + as_text.stdout


def test_status_carries_no_link_no_token_and_no_closed_dialog(alice_tray: TrayApp, tmp_path: Path) -> None:  # noqa: F811
    app = alice_tray
    s = app.session
    a11y = Accessibility(s.env)
    app.pick("Invite user…")
    s.wait_dialog(WIN)
    s.type("erin@example.com")
    s.key("Return")
    st = app.wait_status(
        lambda x: (x["dialogs"].get("invite_user") or {}).get("result_shown"), 60, "the link shown"
    )
    dlg = st["dialogs"]["invite_user"]
    assert dlg["open"] is True and "link" not in dlg

    # The link on the screen is the server's invitation (the CLI lists it).
    listed = app.cli("invitations", "--json")
    assert listed.returncode == 0, listed.stderr
    (erin,) = [i for i in json.loads(listed.stdout) if i.get("claimer_email") == "erin@example.com"]
    assert a11y.text(WIN, "Invitation link") == erin["link"]
    secrets = {erin["link"], erin["token"], *parse_qs(urlsplit(erin["link"]).query)["p"]}
    s.screenshot("01-invite-link")

    # While it is shown: the dialog is described, the secrets are not.
    st, raw = _both_outputs(app)
    assert "invite_user" in st["dialogs"]  # type: ignore[operator]
    assert not [x for x in secrets if x in raw] and "claim_user" not in raw, raw

    # Closed: nothing of it is left.
    a11y.press(WIN, "Close")
    s.wait_window_gone(WIN, timeout=20)
    wait_until(lambda: "invite_user" not in app.status()["dialogs"], 20, "the closed dialog gone from status")
    st, raw = _both_outputs(app)
    assert st["dialogs"] == {}, st["dialogs"]
    assert not [x for x in secrets if x in raw] and "claim_user" not in raw, raw
    assert "erin@example.com" not in raw  # nor what was typed in it
