"""Every dialog's description and behaviour, without a display: the steps,
what validation stops, what ``submit`` carries, where the tray's errors
land, the buttons' order per platform, Pending invitations' confirmation,
and which renderer draws the dialogs."""

from __future__ import annotations

from typing import Any

import pytest
from parsec_tray.tray import dialog_specs as S
from parsec_tray.tray.dialog_protocol import Kind
from parsec_tray.tray.dialogs import RENDERERS, choose_renderer, module_for

SERVER = "parsec3://127.0.0.1:6770?no_ssl=true"
PASSWORD = "correct horse battery"
INITS: dict[str, dict[str, Any]] = {
    Kind.CREATE: {"server": "", "device_label": "pc"},
    Kind.JOIN: {"link": "", "device_label": "pc"},
    Kind.LOGIN: {"device": {"organization_id": "ACME", "protection": "password"}},
    Kind.INVITE_USER: {"organization_id": "ACME"},
    Kind.INVITE_DEVICE: {"organization_id": "ACME", "mode": "device"},
    Kind.INVITATIONS: {"organization_id": "ACME"},
    Kind.GREET: {"organization_id": "ACME", "type": "USER", "who": "bob@example.com", "token": "ab" * 16},
    Kind.CLAIM: {
        "type": "USER",
        "organization_id": "ACME",
        "server": "127.0.0.1:6770",
        "encrypted": False,
        "invited_by": "Alice <alice@example.com>",
        "email": "bob@example.com",
        "device_label": "pc",
    },
    Kind.RECOVERY_EXPORT: {"organization_id": "ACME", "path": "/home/a/Parsec_Recovery_File_ACME.psrk"},
    Kind.RECOVERY_IMPORT: {"path": "", "device_label": "pc"},
    Kind.CHANGE_AUTH: {
        "mode": "password",
        "protection": "password",
        "organization_id": "ACME",
        "device_label": "pc",
    },
    Kind.TERMS: {
        "organization_id": "ACME",
        "updated_on": "2026-12-01",
        "links": [["fr_FR", "https://example.invalid/fr"], ["en_US", "https://example.invalid/en"]],
    },
    Kind.MEMBERS: {"organization_id": "ACME"},
    Kind.MESSAGE: {"title": "Open link", "text": "This link cannot be used."},
}


def model(kind: str, platform: str = "linux", **init: Any) -> S.DialogModel:
    return S.DialogModel(S.spec_for(kind, {**INITS[kind], **init}), platform)


def sent(effects: list[S.Effect]) -> list[dict[str, Any]]:
    return [e.msg for e in effects if e.what == "send"]


def fill(m: S.DialogModel, **values: Any) -> None:
    for name, value in values.items():
        m.change(name, value)


STEP1 = {"email": "alice@example.com", "organization": "ACME", "server": SERVER}


def next_asks_the_server(m: S.DialogModel, *, creates: bool) -> None:
    """Step 1's Next: the dialog asks the tray how the server creates
    organizations, and is busy until the answer."""
    assert sent(m.press("next")) == [{"type": "ask_server", "server": SERVER}]
    assert m.busy and m.progress == "Asking the server…"
    assert m.press("next") == []  # busy: asked once
    m.receive({"type": "server", "creates_on_request": creates})
    assert not m.busy


STEP2 = {"user_name": "Alice", "device_label": "laptop", "password": PASSWORD, "confirm": PASSWORD}


@pytest.mark.parametrize("kind", [k for k in Kind if k != Kind.WINDOW])
def test_every_dialog_is_described(kind: str) -> None:
    spec = S.spec_for(kind, INITS[kind])
    assert spec.kind == kind and spec.title and spec.steps
    m = S.DialogModel(spec)
    buttons = m.buttons()
    assert sum(b.role == S.Role.PRIMARY for b in buttons) == 1, buttons
    assert all(f.label for f in spec.fields.values())  # every control has its accessible name
    assert m.focus is not None  # something has the focus when it opens
    assert m.state()["type"] == "state"


def test_create_step1_stops_bad_input_and_focuses_the_first_wrong_field() -> None:
    m = model(Kind.CREATE)
    assert m.focus == "email" and m.state()["step"] == 1
    fill(m, email="alice", organization="my org", server=SERVER)
    assert sent(m.press("next")) == []
    assert m.step == 1 and set(m.errors) == {"email", "organization"} and m.focus == "email"
    m.change("email", "alice@example.com")  # fixed: its error goes at once
    assert set(m.errors) == {"organization"}
    m.change("organization", "ACME")
    next_asks_the_server(m, creates=True)
    assert m.step == 2 and m.errors == {} and m.focus == "user_name"
    assert m.heading == "Step 2 of 2: Your account"


def test_create_submits_exactly_what_was_typed_and_a_busy_dialog_sends_nothing() -> None:
    m = model(Kind.CREATE)
    fill(m, **STEP1)
    next_asks_the_server(m, creates=True)
    fill(m, **{**STEP2, "confirm": PASSWORD + "!"})
    assert m.press("submit") == [] and set(m.errors) == {"confirm"}
    m.change("confirm", PASSWORD)
    out = sent(m.press("submit"))
    values = {**STEP1, **STEP2, "admin_token": ""}
    del values["confirm"]
    assert out == [{"type": "submit", "values": values}]
    assert m.busy and m.state()["busy"]
    assert m.press("submit") == [] and m.press("back") == [] and m.press("cancel") == []
    assert m.progress.startswith("Please wait")


def test_the_trays_errors_land_on_their_step_and_field_and_keep_the_rest() -> None:
    m = model(Kind.CREATE)
    fill(m, **STEP1)
    next_asks_the_server(m, creates=True)
    fill(m, **STEP2)
    m.press("submit")
    m.receive({"type": "error", "message": "It exists.", "step": 1, "field": "organization"})
    assert (m.step, m.errors, m.focus, m.busy) == (1, {"organization": "It exists."}, "organization", False)
    assert m.values["password"] == PASSWORD  # nothing lost
    m.receive({"type": "error", "message": "Refused.", "step": None, "field": "password"})
    assert m.step == 2 and m.values["password"] == "" and m.errors["password"] == "Refused."
    m.receive({"type": "error", "message": "Unreachable.", "step": None, "field": None})
    assert m.banner == "Unreachable." and m.focus == S.DEFAULT
    assert m.receive({"type": "done"})[0].what == S.CLOSE


def test_back_keeps_the_values_and_escape_cancels() -> None:
    m = model(Kind.JOIN)
    assert m.buttons()[0].id == "cancel"
    m.change("link", "not a link")
    m.change("email", "bob@example.com")
    m.press("next")
    assert m.step == 1 and list(m.errors) == ["link"] and m.focus == "link"
    m = model(Kind.CREATE)
    fill(m, **STEP1)
    next_asks_the_server(m, creates=True)
    m.press("back")
    assert m.step == 1 and m.values["email"] == "alice@example.com"
    m.press("next")  # the same server: not asked again
    assert m.step == 2 and not m.busy
    m.press("back")
    assert sent(m.press("escape")) == [{"type": "cancel"}]


def test_a_given_valid_link_is_skipped_for_the_focus() -> None:
    from parsec_tray.core.addr import ParsecOrganizationBootstrapAddr, parse_server
    from parsec_tray.core.values import AccessToken, OrganizationID

    link = ParsecOrganizationBootstrapAddr(
        parse_server(SERVER), OrganizationID("ACME"), AccessToken(b"k" * 16)
    ).to_url()
    assert model(Kind.JOIN, link=link).focus == "email"
    assert model(Kind.JOIN).focus == "link"


@pytest.mark.parametrize(
    ("platform", "step", "order"),
    [
        ("linux", 1, ["cancel", "next"]),
        ("linux", 2, ["cancel", "back", "submit"]),
        ("darwin", 2, ["cancel", "back", "submit"]),
        ("win32", 2, ["back", "submit", "cancel"]),
    ],
)
def test_buttons_follow_the_platform_the_same_in_every_dialog(
    platform: str, step: int, order: list[str]
) -> None:
    m = model(Kind.CREATE, platform)
    if step == 2:
        fill(m, **STEP1)
        next_asks_the_server(m, creates=True)
    assert [b.id for b in m.buttons()] == order
    # Cancel is where it is in the wizard, in every dialog.
    for kind in (Kind.LOGIN, Kind.INVITE_USER, Kind.INVITE_DEVICE):
        ids = [b.id for b in model(kind, platform).buttons() if b.role != S.Role.EXTRA]
        assert ids == (["submit", "cancel"] if platform == "win32" else ["cancel", "submit"])


def test_login_sends_the_password_and_the_keyring_choice() -> None:
    m = model(Kind.LOGIN, error="The keyring is locked.")
    assert m.banner == "The keyring is locked." and m.focus == "password"
    assert m.press("submit") == [] and m.errors == {"password": "Enter the password of this device."}
    m.change("password", "pw")
    m.change("keyring", True)
    assert sent(m.press("submit")) == [{"type": "submit", "values": {"password": "pw", "keyring": True}}]
    keyring = model(Kind.LOGIN, device={"organization_id": "ACME", "protection": "keyring"})
    assert keyring.spec.fields == {} and keyring.focus == S.DEFAULT


def test_invite_shows_the_link_then_closes() -> None:
    m = model(Kind.INVITE_USER)
    assert m.press("submit") == [] and "email" in m.errors
    m.change("email", "bob@example.com")
    assert sent(m.press("submit")) == [
        {"type": "submit", "values": {"email": "bob@example.com", "send_email": True}}
    ]
    m.receive({"type": "result", "link": "parsec3://x", "note": "The email was sent."})
    assert [b.id for b in m.buttons()] == ["close"] and m.focus == S.DEFAULT
    assert m.copy("parsec3://x")[0].arg == "parsec3://x" and m.note.startswith("Copied")
    assert [e.what for e in m.press("escape")] == ["send", S.CLOSE]
    device = model(Kind.INVITE_DEVICE)
    assert device.spec.title == "Add a device" and "person you invite" not in device.spec.steps[0].intro
    assert sent(device.press("submit")) == [{"type": "submit", "values": {"send_email": False}}]


def test_invite_user_says_what_the_organization_configuration_allows() -> None:
    plain = model(Kind.INVITE_USER, organization_id="ACME", outsider_allowed=True)
    assert plain.spec.steps[0].notes == ()
    m = model(Kind.INVITE_USER, organization_id="ACME", outsider_allowed=False)
    assert [n.text for n in m.spec.steps[0].notes] == [
        "ACME does not allow External users: the people who join it are Members or Administrators."
    ]
    full = model(Kind.INVITE_USER, organization_id="ACME", active_users_limit=2, active_users=2)
    [note] = full.spec.steps[0].notes
    assert note.warning and note.text.startswith("ACME has reached its limit of 2 active users:")
    # Below the limit, or the count unknown: nothing to say.
    assert (
        model(Kind.INVITE_USER, organization_id="ACME", active_users_limit=3, active_users=2)
        .spec.steps[0]
        .notes
        == ()
    )
    assert model(Kind.INVITE_USER, organization_id="ACME", active_users_limit=2).spec.steps[0].notes == ()
    # Inviting still works: the limit bites when the person is greeted.
    full.change("email", "bob@example.com")
    assert sent(full.press("submit"))[0]["type"] == "submit"


def test_pending_invitations_delete_asks_first_then_says_it_is_done() -> None:
    m = model(Kind.INVITATIONS)
    rows = [
        {
            "token": "aa",
            "type": "USER",
            "label": "bob@example.com",
            "created_by": "Alice",
            "link": "l1",
            "created_on": "2026-12-01T10:20:30Z",
        },
        {
            "token": "bb",
            "type": "DEVICE",
            "label": "A new device",
            "created_by": "Alice",
            "link": "l2",
            "created_on": "2026-12-01T11:00:00Z",
            "waiting": True,
        },
    ]
    assert sent(m.receive({"type": "list", "items": rows})) == [{"type": "rendered", "count": 2}]
    assert S.row_texts(rows[0]) == ("bob@example.com", "User invitation, created 2026-12-01 10:20 by Alice")
    assert S.row_texts(rows[1])[1].endswith("waiting now")
    m.delete("aa")
    assert m.confirming == "aa"
    m.keep()
    assert m.confirming is None
    m.delete("aa")
    assert sent(m.confirm_delete()) == [{"type": "cancel_invitation", "token": "aa"}]
    assert m.busy
    m.receive({"type": "list", "items": rows[1:]})
    assert m.note == "The invitation was deleted." and not m.busy and len(m.rows or []) == 1
    assert [b.id for b in m.buttons()] == ["refresh", "close"]
    assert sent(m.press("refresh")) == [{"type": "refresh"}] and m.note == ""


def test_the_renderer_is_chosen_once_by_platform_or_by_the_environment() -> None:
    assert choose_renderer({}, "linux", lambda: True) == "gtk"
    assert choose_renderer({}, "linux", lambda: False) == "tk"
    assert choose_renderer({}, "win32", lambda: True) == "tk"
    assert choose_renderer({}, "darwin", lambda: True) == "tk"
    assert choose_renderer({"PARSEC_TRAY_DIALOGS": "tk"}, "linux", lambda: True) == "tk"
    assert choose_renderer({"PARSEC_TRAY_DIALOGS": "GTK"}, "win32", lambda: True) == "gtk"
    assert choose_renderer({"PARSEC_TRAY_DIALOGS": "qt"}, "linux", lambda: True) == "gtk"
    assert module_for(Kind.CREATE, "gtk") == RENDERERS["gtk"][0]
    assert module_for(Kind.WINDOW, "gtk") == RENDERERS["tk"][0]  # the fallback window is Tk's
    assert module_for(Kind.CREATE, "tk") == RENDERERS["tk"][0]


def test_create_asks_for_the_token_only_when_the_server_does_not_create_on_request() -> None:
    # A server that creates organizations on request: no token asked, none sent.
    m = model(Kind.CREATE)
    fill(m, **STEP1)
    assert S.NEEDS_TOKEN not in m.flags  # the administrator's part is hidden at first
    next_asks_the_server(m, creates=True)
    assert m.step == 2 and S.NEEDS_TOKEN not in m.flags
    fill(m, **STEP2)
    assert sent(m.press("submit"))[0]["values"]["admin_token"] == ""

    # One that does not: the "I administer this server" part, its token required.
    m = model(Kind.CREATE)
    fill(m, **STEP1)
    next_asks_the_server(m, creates=False)
    assert m.step == 1 and S.NEEDS_TOKEN in m.flags and m.focus == "admin_token"
    assert m.errors["admin_token"].startswith("Enter the server's administration token")
    part = next(n for n in m.spec.steps[0].notes if n.when == S.NEEDS_TOKEN)
    assert part.heading == "I administer this server" and "bootstrap link" in part.text
    m.change("admin_token", "s3cret")
    assert "admin_token" not in m.errors
    m.press("next")
    assert m.step == 2 and not m.busy  # the same server: not asked again
    fill(m, **STEP2)
    assert sent(m.press("submit"))[0]["values"]["admin_token"] == "s3cret"

    # Another server is asked again; an unreachable one is said on its field.
    m.receive({"type": "error", "message": "Wrong token.", "step": 1, "field": "admin_token"})
    assert m.step == 1 and m.errors == {"admin_token": "Wrong token."}
    m.change("admin_token", "s3cret")
    m.change("server", "parsec3://127.0.0.1:1?no_ssl=true")
    assert sent(m.press("next")) == [{"type": "ask_server", "server": "parsec3://127.0.0.1:1?no_ssl=true"}]
    m.receive({"type": "error", "message": "Cannot reach it.", "step": 1, "field": "server"})
    assert (m.step, m.errors, m.focus, m.busy) == (1, {"server": "Cannot reach it."}, "server", False)


def test_a_pre_filled_token_goes_straight_to_step_2() -> None:
    m = model(Kind.CREATE, admin_token="given")
    fill(m, **STEP1)
    next_asks_the_server(m, creates=False)
    assert m.step == 2


def test_create_ends_on_a_page_that_says_ready_and_offers_the_next_steps() -> None:
    m = model(Kind.CREATE)
    fill(m, **STEP1)
    next_asks_the_server(m, creates=True)
    fill(m, **STEP2)
    m.press("submit")
    m.receive({"type": "result", "organization": "ACME", "device": "/devices/x.keys"})
    title, text = m.done_texts or ("", "")
    assert title == "ACME is ready" and "you are its first administrator" in text
    assert m.heading == "" and m.focus == S.DEFAULT
    assert [b.id for b in m.buttons()] == ["invite_device", "create_recovery", "invite_user", "close"]
    effects = m.press("create_recovery")
    assert sent(effects) == [{"type": "action", "action": "create_recovery", "arg": "/devices/x.keys"}]
    assert effects[-1].what == S.CLOSE


# -- Create a recovery file -----------------------------------------------------------------

PASSPHRASE = "2G3D-ULJH-AVJD-4INO-2ELA-775Q-NDFI-DXC2-4ZED-MEXF-OJG2-RA4I-LBFA"


def test_recovery_export_suggests_the_official_name_and_needs_a_path() -> None:
    assert S.recovery_file_name("ACME") == "Parsec_Recovery_File_ACME.psrk"
    m = model(Kind.RECOVERY_EXPORT)
    assert m.values["path"] == INITS[Kind.RECOVERY_EXPORT]["path"] and m.focus == "path"
    assert m.spec.fields["path"].kind == "save"
    assert any("separate places" in n.text and n.warning for n in m.current.notes)
    assert [b.id for b in m.buttons()] == ["cancel", "submit"]
    # Without an init path: the official name (the renderer's save dialog picks the folder).
    assert model(Kind.RECOVERY_EXPORT, path="").values["path"] == "Parsec_Recovery_File_ACME.psrk"
    for bad in ("", "  ", "/home/a/"):
        m.change("path", bad)
        assert m.press("submit") == [] and "path" in m.errors and not m.busy
    m.change("path", "/media/usb/r.psrk")
    assert "path" not in m.errors
    assert sent(m.press("submit")) == [{"type": "submit", "values": {"path": "/media/usb/r.psrk"}}]
    assert m.busy and m.progress == "Creating the recovery file…"


def test_recovery_export_a_refused_path_comes_back_on_its_field() -> None:
    m = model(Kind.RECOVERY_EXPORT)
    m.press("submit")
    m.receive({"type": "error", "message": "A file already exists at x.", "field": "path", "step": None})
    assert not m.busy and m.errors == {"path": "A file already exists at x."} and m.focus == "path"
    assert m.values["path"] == INITS[Kind.RECOVERY_EXPORT]["path"]  # kept, to be corrected


def _exported() -> S.DialogModel:
    m = model(Kind.RECOVERY_EXPORT)
    m.press("submit")
    m.receive(
        {"type": "result", "organization": "ACME", "path": "/media/usb/r.psrk", "passphrase": PASSPHRASE}
    )
    return m


def test_recovery_export_shows_the_passphrase_with_copy_and_save() -> None:
    m = _exported()
    assert m.link == PASSPHRASE and m.spec.result_value == ("passphrase", "Passphrase", "Copy passphrase")
    title, text = m.done_texts or ("", "")
    assert title == "Keep the file and its passphrase" and "/media/usb/r.psrk" in text
    assert [b.id for b in m.buttons()] == ["close"] and m.focus == S.DEFAULT
    # Copy: the clipboard, and a word about where it goes.
    assert [(e.what, e.arg) for e in m.copy(PASSPHRASE)] == [(S.COPY, PASSPHRASE)]
    assert "somewhere else than the recovery file" in m.note
    # Save passphrase…: the renderer asks where (the official name suggested), then says.
    [effect] = m.save()
    assert (effect.what, effect.arg, effect.msg) == (
        S.SAVE,
        PASSPHRASE,
        {"name": "Parsec_Recovery_Code_ACME.txt"},
    )
    m.saved(None)  # cancelled: nothing said
    assert m.banner is None
    m.saved("/home/a/code.txt")
    assert "/home/a/code.txt" in m.note and m.banner is None
    m.saved(None, "Permission denied")
    assert m.banner == "The passphrase could not be saved: Permission denied"
    assert PASSPHRASE not in str(m.state())  # what the tray is told never holds it


def test_recovery_export_closes_only_once_both_are_confirmed_kept() -> None:
    m = _exported()
    for way in ("close", "escape"):
        assert m.press(way) == [] and m.banner is not None and S.RECOVERY_CONFIRM in m.banner
    assert m.confirm(True) == [S.Effect("send", {"type": "confirmed"})]
    assert m.confirmed and m.banner is None
    assert m.confirm(False) == [] and not m.confirmed
    assert m.press("close") == []
    m.confirm(True)
    assert [e.what for e in m.press("close")] == ["send", S.CLOSE]


def test_recovery_export_cancel_before_creating_closes_at_once() -> None:
    m = model(Kind.RECOVERY_EXPORT)
    assert [e.what for e in m.press("escape")] == ["send", S.CLOSE]


# -- Import a recovery file ---------------------------------------------------------------------


def test_recovery_import_checks_the_file_and_passphrase_then_the_device() -> None:
    m = model(Kind.RECOVERY_IMPORT)
    assert m.wizard and m.focus == "path" and m.spec.fields["path"].kind == "open"
    assert m.press("next") == [] and set(m.errors) == {"path", "passphrase"}
    fill(m, path="/media/usb/r.psrk", passphrase="FH3H-N3DW")
    m.press("next")
    assert set(m.errors) == {"passphrase"} and "13 groups of 4" in m.errors["passphrase"]
    m.change("passphrase", PASSPHRASE.lower().replace("-", " "))  # as a person may type it
    m.press("next")
    assert m.step == 2 and not m.errors and m.values["device_label"] == "pc"
    # A password, or the keyring (then no password is asked for).
    assert m.press("submit") == [] and set(m.errors) == {"password"}
    m.change("keyring", True)
    assert m.press("submit") != [] and not m.errors
    values = {"path": "/media/usb/r.psrk", "passphrase": PASSPHRASE.lower().replace("-", " ")}
    values |= {"device_label": "pc", "keyring": True, "password": ""}
    assert m.busy


def test_recovery_import_sends_the_password_and_a_wrong_passphrase_comes_back_on_step_1() -> None:
    m = model(Kind.RECOVERY_IMPORT, path="/media/usb/r.psrk")
    assert m.focus == "passphrase"  # the file handed over: the passphrase is next
    fill(m, passphrase=PASSPHRASE)
    m.press("next")
    fill(m, password=PASSWORD, confirm=PASSWORD)
    assert sent(m.press("submit")) == [
        {
            "type": "submit",
            "values": {
                "path": "/media/usb/r.psrk",
                "passphrase": PASSPHRASE,
                "device_label": "pc",
                "keyring": False,
                "password": PASSWORD,
            },
        }
    ]
    m.receive({"type": "error", "message": "The passphrase does not match.", "field": "passphrase"})
    assert m.step == 1 and m.errors == {"passphrase": "The passphrase does not match."}
    assert m.focus == "passphrase" and m.values["password"] == PASSWORD  # the rest kept


def test_login_offers_the_recovery_file_for_a_forgotten_password() -> None:
    m = model(Kind.LOGIN)
    assert [b.id for b in m.buttons()] == ["import_recovery", "cancel", "submit"]
    assert [(e.what, e.msg) for e in m.press("import_recovery")] == [
        ("send", {"type": "action", "action": "import_recovery", "arg": None}),
        (S.CLOSE, {}),
    ]
    keyring = model(Kind.LOGIN, device={"organization_id": "ACME", "protection": "keyring"})
    assert "import_recovery" not in [b.id for b in keyring.buttons()]
    assert keyring.press("import_recovery") == []


def test_a_recovery_file_handed_over_as_a_path_or_a_file_uri() -> None:
    from parsec_tray.tray.validation import recovery_file_of

    assert (
        recovery_file_of("/home/a/Parsec_Recovery_File_ACME.psrk") == "/home/a/Parsec_Recovery_File_ACME.psrk"
    )
    assert recovery_file_of("file:///home/a/My%20File.PSRK") == "/home/a/My File.PSRK"
    assert recovery_file_of("file://localhost/tmp/r.psrk") == "/tmp/r.psrk"
    for not_one in ("file://elsewhere/tmp/r.psrk", "https://x/r.psrk", "/tmp/r.keys", "parsec3://h/Org"):
        assert recovery_file_of(not_one) is None


# -- Change password… / Use the keyring… / Use a password… ------------------------------------------


@pytest.mark.parametrize(
    ("mode", "protection", "title", "fields"),
    [
        ("password", "password", "Change password", ["current_password", "password", "confirm"]),
        ("password", "keyring", "Use a password", ["password", "confirm"]),
        ("keyring", "password", "Use the keyring for quick login", ["current_password"]),
    ],
)
def test_change_auth_asks_what_each_change_needs(
    mode: str, protection: str, title: str, fields: list[str]
) -> None:
    m = model(Kind.CHANGE_AUTH, mode=mode, protection=protection)
    assert m.spec.title == title and list(m.spec.fields) == fields and m.focus == fields[0]
    assert "pc" in m.current.intro and "ACME" in m.current.intro
    assert m.press("submit") == [] and set(m.errors) == {f for f in fields if f != "confirm"}
    typed = {"current_password": "old one", "password": PASSWORD, "confirm": PASSWORD}
    fill(m, **{k: v for k, v in typed.items() if k in fields})
    [msg] = sent(m.press("submit"))
    assert msg["values"] == {
        k: v for k, v in {"current_password": "old one", "password": PASSWORD}.items() if k in fields
    }


def test_change_auth_a_wrong_current_password_is_emptied_and_focused() -> None:
    m = model(Kind.CHANGE_AUTH)
    fill(m, current_password="wrong", password=PASSWORD, confirm=PASSWORD)
    m.press("submit")
    m.receive({"type": "error", "message": "Wrong password.", "field": "current_password"})
    assert m.values["current_password"] == "" and m.focus == "current_password"
    assert m.values["password"] == PASSWORD


# -- Terms of service ---------------------------------------------------------------------------


def test_terms_show_the_links_in_the_given_order_and_need_the_box_ticked() -> None:
    m = model(Kind.TERMS)
    assert m.current.links == (
        ("Terms of service (Français)", "https://example.invalid/fr"),
        ("Terms of service (English)", "https://example.invalid/en"),
    )
    assert "ACME" in m.current.intro and "2026-12-01" in m.current.intro
    assert [b.id for b in m.buttons()] == ["refuse_terms", "cancel", "submit"]
    assert [b.label for b in m.buttons()] == ["Refuse and log out", "Cancel", "Accept"]
    assert m.spec.fields["accept"].label == "I have read and accept the terms of service."
    # Accept without the box: nothing sent, said in the banner (a box has no line).
    assert m.press("submit") == [] and m.banner == "Tick the box once you have read the terms."
    m.change("accept", True)
    assert m.banner is None and not m.errors
    assert sent(m.press("submit")) == [{"type": "submit", "values": {"accept": True}}]
    assert m.busy and m.open_link("https://example.invalid/fr") == []  # busy: nothing


def test_terms_links_go_to_the_tray_and_refusing_closes() -> None:
    m = model(Kind.TERMS)
    assert sent(m.open_link("https://example.invalid/en")) == [
        {"type": "action", "action": "open_url", "arg": "https://example.invalid/en"}
    ]
    assert [(e.what, e.msg) for e in m.press("refuse_terms")] == [
        ("send", {"type": "action", "action": "refuse_terms", "arg": None}),
        (S.CLOSE, {}),
    ]
    m = model(Kind.TERMS)
    m.change("accept", True)
    m.press("submit")
    m.receive({"type": "error", "message": "The terms of service changed while you were reading them."})
    assert not m.busy and m.banner == "The terms of service changed while you were reading them."


# -- Members ------------------------------------------------------------------------------------------

ALICE_ROW = {
    "user_id": "a" * 32, "email": "alice@example.com", "name": "Alice", "profile": "ADMIN",
    "created_on": "2026-12-01T10:00:00Z", "revoked_on": None, "frozen": False, "me": True, "can_revoke": False,
}  # fmt: skip
BOB_ROW = {**ALICE_ROW, "user_id": "b" * 32, "email": "bob@example.com", "name": "Bob", "profile": "STANDARD"}
BOB_ROW |= {"me": False, "can_revoke": True}


def test_members_rows_say_who_what_since_when_and_revoked_or_frozen() -> None:
    assert S.member_texts(ALICE_ROW) == (
        "Alice <alice@example.com>",
        "Administrator, joined on 2026-12-01 · you",
    )
    assert S.member_texts({**BOB_ROW, "frozen": True}) == (
        "Bob <bob@example.com>",
        "Member, joined on 2026-12-01 · frozen",
    )
    revoked = {**BOB_ROW, "revoked_on": "2026-12-02T00:00:00Z", "can_revoke": False}
    assert S.member_texts(revoked)[1] == "Member, joined on 2026-12-01 · revoked on 2026-12-02"
    assert S.member_texts({**BOB_ROW, "name": None, "email": None, "profile": "OUTSIDER"})[1].startswith(
        "External"
    )
    rows = S.MEMBER_ROWS
    assert [a.id for a in rows.actions(BOB_ROW)] == ["delete"] and rows.actions(ALICE_ROW) == ()
    assert rows.actions(revoked) == ()


def test_members_revoke_asks_first_naming_the_person_then_sends_and_refreshes() -> None:
    m = model(Kind.MEMBERS)
    assert m.spec.title == "Members of ACME" and m.spec.rows
    assert [b.id for b in m.buttons()] == ["refresh", "close"]
    m.receive({"type": "list", "items": [ALICE_ROW, BOB_ROW]})
    m.delete(BOB_ROW["user_id"])
    assert m.confirming == BOB_ROW["user_id"]
    window, question, detail, yes = m.listing.ask
    assert question.format(title=S.member_texts(BOB_ROW)[0]) == "Revoke Bob <bob@example.com>?"
    assert "cannot be undone" in detail and yes == "_Revoke"
    m.keep()
    assert m.confirming is None and m.confirm_delete() == []  # kept: nothing sent
    m.delete(BOB_ROW["user_id"])
    assert sent(m.confirm_delete()) == [{"type": "revoke_user", "user_id": "b" * 32}]
    assert m.busy and m.progress == "Revoking…"
    m.receive(
        {"type": "list", "items": [ALICE_ROW, {**BOB_ROW, "revoked_on": "2026-12-02", "can_revoke": False}]}
    )
    assert not m.busy and m.note == "Revoked."


def test_invitations_still_ask_and_send_as_before() -> None:
    m = model(Kind.INVITATIONS)
    m.receive({"type": "list", "items": [{"token": "t1", "label": "bob@example.com", "link": "parsec3://x"}]})
    assert [a.id for a in m.listing.actions({})] == ["copy", "delete", "greet"]
    m.delete("t1")
    assert sent(m.confirm_delete()) == [{"type": "cancel_invitation", "token": "t1"}]
    assert sent(m.greet("t1")) == [{"type": "greet", "token": "t1"}]


def test_save_passphrase_writes_exactly_it_for_its_owner_only(tmp_path: Any) -> None:
    """Save passphrase…: the renderer's loop with the file dialog's answer
    given (the toolkits only draw): the text, no newline, mode 0600; a
    cancelled dialog writes nothing; a failure is said in the banner."""
    from parsec_tray.tray.dialog_render import Renderer

    answers: list[str | None] = []

    class Quiet(Renderer):
        def render(self, *, focus: bool = True) -> None:
            pass

        def ask_path(self, name: str, answer: Any, *, save: bool) -> None:
            assert save and name == "Parsec_Recovery_Code_ACME.txt"
            answer(answers.pop(0))

    m = _exported()
    r = Quiet(m, lambda msg: None)
    target = tmp_path / "code.txt"
    answers[:] = [str(target), None, str(tmp_path / "missing" / "x.txt")]
    r.apply(m.save())
    assert target.read_text() == PASSPHRASE and target.stat().st_mode & 0o777 == 0o600
    assert str(target) in m.note
    r.apply(m.save())  # cancelled
    assert sorted(p.name for p in tmp_path.iterdir()) == ["code.txt"]
    r.apply(m.save())
    assert m.banner is not None and m.banner.startswith("The passphrase could not be saved: ")
