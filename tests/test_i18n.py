"""The translations: every message marked in core/, cli/ and tray/ has a French
translation with the same named placeholders; the compiled catalogue ships
in the installed package; the language follows the environment.

The messages are extracted from the sources with Babel, as a translator
would (babel.cfg), so a sentence marked tomorrow without its French fails
here."""

from __future__ import annotations

import gettext
import os
import re
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import parsec_tray
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from cli_runner import cli

REPO = Path(__file__).resolve().parent.parent
PO = REPO / "locale" / "fr" / "LC_MESSAGES" / "parsec-tray.po"
# _t: the dialogs' hook (tray/dialog_specs.py), gettext then format.
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "_t": None}
PERCENT = re.compile(r"%(\([^)]*\))?[-#0+]*\d*(\.\d+)?[sdifrxXeEgGc]")
# English only, whatever the machine's locale (tests/conftest.py pins LANGUAGE).
ENGLISH_ENV = {"LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": ""}


def extracted() -> Iterator[tuple[str, int, str | tuple[str, ...]]]:
    """(file, line, message) of every message marked in the sources."""
    with (REPO / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(REPO), method_map, options_map, keywords=KEYWORDS
    ):
        yield filename, lineno, message


def fields(text: str) -> set[str]:
    """The named placeholders of ``text``; positional ones raise."""
    names = set()
    for _literal, name, _spec, _conv in string.Formatter().parse(text):
        if name is None:
            continue
        assert name and not name.isdigit(), f"positional placeholder in {text!r}"
        names.add(name)
    return names


def catalogue() -> dict[str | tuple[str, ...], object]:
    with PO.open("rb") as f:
        catalog = read_po(f)
    assert not catalog.fuzzy, "the catalogue's header is fuzzy"
    return {m.id: m for m in catalog if m.id}


def test_sources_mark_messages() -> None:
    # The extraction itself works: the test below would pass on nothing.
    files = {name for name, _line, _msg in extracted()}
    assert any(name.startswith("cli/") for name in files)
    assert any(name.startswith("core/") for name in files)
    # The tray's menu, dialogs (their _t hook too), notifications and refusal texts.
    for name in ("menu", "dialog_specs", "coalesce", "state", "validation"):
        assert f"tray/{name}.py" in files, f"tray/{name}.py marks no message"
    assert "Step {n} of {total}: {title}" in {msg for _name, _line, msg in extracted()}  # through _t
    assert len(list(extracted())) > 200


def test_every_message_has_a_french_translation() -> None:
    messages = catalogue()
    problems = []
    for filename, lineno, msgid in extracted():
        where = f"{filename}:{lineno}"
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        for text in ids:
            if PERCENT.search(text):
                problems.append(f"{where}: %-placeholder in {text!r}; use named {{placeholders}}")
            try:
                fields(text)
            except AssertionError as exc:
                problems.append(f"{where}: {exc}")
        entry = messages.get(msgid)
        if entry is None:
            problems.append(f"{where}: no French translation of {msgid!r}")
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)  # type: ignore[attr-defined]
        if entry.fuzzy or not all(strings):  # type: ignore[attr-defined]
            problems.append(f"{where}: the French of {msgid!r} is fuzzy or empty")
            continue
        want = set().union(*(fields(t) for t in ids))
        for translated in strings:
            try:
                got = fields(translated)
            except AssertionError as exc:
                problems.append(f"{where}: French: {exc}")
                continue
            if got != want:
                problems.append(f"{where}: placeholders {sorted(got)} in the French of {msgid!r}, want {sorted(want)}")
            if PERCENT.search(translated):
                problems.append(f"{where}: %-placeholder in the French {translated!r}")
    assert not problems, "\n".join(problems)


def test_the_checks_catch_broken_translations() -> None:
    # The checks above, on what they must refuse.
    with pytest.raises(AssertionError):
        fields("The organization {} has expired.")
    with pytest.raises(AssertionError):
        fields("The organization {0} has expired.")
    assert fields("L'organisation {org} a expiré.") != fields("The organization {organization} has expired.")
    assert PERCENT.search("The organization %s has expired.")
    assert PERCENT.search("The organization %(org)s has expired.")
    assert not PERCENT.search("100 % sure, {org}")


def test_no_obsolete_or_untranslated_entries() -> None:
    # One source of truth: the catalogue holds what the sources mark, no more.
    marked = {msgid for _file, _line, msgid in extracted()}
    stale = sorted(str(m) for m in catalogue() if m not in marked)
    assert not stale, f"entries no source marks any more: {stale}"


def test_the_compiled_catalogue_is_in_the_installed_package() -> None:
    from parsec_tray.core import i18n

    mo = Path(parsec_tray.__path__[0]) / "locale" / "fr" / "LC_MESSAGES" / "parsec-tray.mo"
    assert mo.is_file(), "the wheel lacks the compiled French catalogue"
    assert Path(i18n.LOCALE_DIR) == mo.parents[2]
    with mo.open("rb") as f:
        fr = gettext.GNUTranslations(f)
    for msgid, entry in catalogue().items():
        if isinstance(msgid, str) and not entry.fuzzy:  # type: ignore[attr-defined]
            assert fr.gettext(msgid) == entry.string  # type: ignore[attr-defined]


def words(text: str) -> str:
    """``text`` with argparse's line wrapping undone."""
    return " ".join(text.split())


def bad_link(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return cli(
        "bootstrap", "parsec3://localhost/Org", "--email", "a@example.com", "--user-name", "A",
        "--device-label", "L", home=tmp_path, env={**ENGLISH_ENV, **env},
    )


LANGUAGES = [
    pytest.param({"LANG": "fr_FR.UTF-8"}, id="LANG"),
    pytest.param({"LANGUAGE": "fr", "LANG": "C.UTF-8"}, id="LANGUAGE"),
    pytest.param({"LC_ALL": "fr_FR.UTF-8"}, id="LC_ALL"),
    pytest.param({"LC_MESSAGES": "fr_FR.UTF-8"}, id="LC_MESSAGES"),
]


@pytest.mark.parametrize("env", LANGUAGES)
def test_cli_errors_and_help_in_french(tmp_path: Path, env: dict[str, str]) -> None:
    r = bad_link(tmp_path, **env)
    assert r.returncode == 1
    assert r.stderr == "Erreur : Il manque au lien le paramètre 'a'.\n"

    r = cli("login", "--password-stdin", home=tmp_path / "empty", env={**ENGLISH_ENV, **env})
    assert r.returncode == 1
    assert r.stderr.startswith("Erreur : Il n'y a encore aucun appareil sur cet ordinateur."), r.stderr

    r = cli("--help", home=tmp_path, env={**ENGLISH_ENV, **env})
    assert r.returncode == 0, r.stderr
    help_text = words(r.stdout)
    assert "Parsec Tray : un client Parsec v3 dans la zone de notification." in help_text
    assert "créer une organisation et en devenir le premier utilisateur" in help_text
    assert "code de sortie :" in help_text


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({"LANG": "C.UTF-8"}, id="C"),
        pytest.param({}, id="nothing"),
        pytest.param({"LANG": "de_DE.UTF-8"}, id="no-catalogue"),
        pytest.param({"LANGUAGE": "en", "LANG": "fr_FR.UTF-8"}, id="LANGUAGE-first"),
    ],
)
def test_english_otherwise(tmp_path: Path, env: dict[str, str]) -> None:
    r = bad_link(tmp_path, **env)
    assert r.stderr == "Error: The link lacks the parameter 'a'.\n"
    r = cli("--help", home=tmp_path, env={**ENGLISH_ENV, **env})
    assert "Parsec Tray: a system-tray client for Parsec v3." in words(r.stdout)
    assert "create an organization and become its first user" in words(r.stdout)


def test_the_suite_runs_in_english(tmp_path: Path) -> None:
    # conftest.py pins the language for this process and its children.
    assert os.environ.get("LANGUAGE") == "en"
    r = cli("bootstrap", "parsec3://localhost/Org", "--email", "a@example.com", "--user-name", "A",
            "--device-label", "L", home=tmp_path, env={"LANG": "fr_FR.UTF-8"})
    assert r.stderr == "Error: The link lacks the parameter 'a'.\n"


def test_the_catalogue_is_read_on_first_use_and_once() -> None:
    # In a fresh interpreter: importing reads nothing; two sentences, one read.
    code = (
        "import gettext\n"
        "reads = []\n"
        "real = gettext.translation\n"
        "gettext.translation = lambda *a, **k: reads.append(a) or real(*a, **k)\n"
        "from parsec_tray.core import i18n, errors, flows\n"
        "from parsec_tray.cli import main\n"
        "assert reads == [], reads\n"
        "first, second = i18n._('The link is empty.'), i18n._('Logging in…')\n"
        "assert len(reads) == 1 and reads[0][0] == 'parsec-tray', reads\n"
        "print(first, second, sep='|')\n"
    )
    env = {**ENGLISH_ENV, "LANG": "fr_FR.UTF-8"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env})
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Le lien est vide.|Connexion…\n"


def test_the_tray_texts_in_french() -> None:
    # In a fresh interpreter with LANG=fr: the texts built at run time (the
    # menu, a dialog's model), those of data tables translated where shown
    # (status lines, refusals, the invitation list's texts) and the notifications.
    code = (
        "from parsec_tray.tray import coalesce as C, dialog_specs as S, menu as M\n"
        "from parsec_tray.tray.state import Identity, Refusal, SessionView, Snapshot, State\n"
        "alice = Identity('MyOrg', 'u', 'd', 'parsec3://h', user_name='Alice', profile='ADMIN')\n"
        "s = Snapshot(state=State.OFFLINE, identity=alice, live=True, waiting=('bob@example.com',))\n"
        "print('|'.join(e.text for e in M.flatten(M.build_menu(s))))\n"
        "print(M.title(s))\n"
        "v = SessionView('k', alice, State.NEEDS_ATTENTION, refusal=Refusal.REVOKED)\n"
        "print(v.refusal_text('status'), v.refusal_text('body'), sep='|')\n"
        "m = S.DialogModel(S.spec_for('create', {}))\n"
        "print(m.spec.title, m.heading, '|'.join(b.label for b in m.buttons()), sep='|')\n"
        "m = S.DialogModel(S.spec_for('invitations', {}))\n"
        "m.delete('t'); m.confirm_delete()\n"
        "print(S.INVITATION_ROWS.empty, m.progress, sep='|')\n"
        "n = C.Coalescer().feed(C.Waiting(org='MyOrg', token='t', email='bob@example.com'), 0.0)\n"
        "print('|'.join(x.title + ': ' + x.body for x in n))\n"
    )
    env = {**os.environ, **ENGLISH_ENV, "LANG": "fr_FR.UTF-8"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    menu, title, refusal, dialog, rows, notified = r.stdout.splitlines()
    assert menu.split("|")[:2] == ["MyOrg : Alice", "Hors ligne : le serveur est injoignable"], menu
    shown = menu.split("|")
    assert "Vérifier la connexion" in shown and "bob@example.com attend d'être accueilli(e)" in shown, menu
    assert "Invitations en attente…" in shown and "Créer une organisation…" in shown, menu
    assert shown[-1] == "Quitter", menu
    assert title == "Parsec Tray : MyOrg : Alice, hors ligne, 1 en attente d'accueil"
    assert refusal.startswith("Révoqué(e) de MyOrg|Vous avez été révoqué(e) de MyOrg : cet appareil")
    assert dialog == "Créer une organisation|Étape 1 sur 2 : Votre organisation|Annuler|Suivant"
    assert rows == "No pending invitation.|Suppression de l'invitation…"  # N_: English until shown
    assert notified == "En attente pour rejoindre MyOrg: bob@example.com attend d'être accueilli(e)."


def test_the_tray_without_a_display_says_so_in_french(tmp_path: Path) -> None:
    # The tray's own last error, before any window: in French too.
    gone = ("DISPLAY", "WAYLAND_DISPLAY", "PARSEC_TRAY_BACKEND")
    env = {k: v for k, v in os.environ.items() if k not in gone}
    env.update(ENGLISH_ENV, LANG="fr_FR.UTF-8", PARSEC_TRAY_RUNTIME_DIR=str(tmp_path / "run"))
    tray = [sys.executable, "-m", "parsec_tray"]
    r = subprocess.run(tray, capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stderr == (
        "Parsec Tray a besoin d'une session graphique : ni DISPLAY ni WAYLAND_DISPLAY n'est défini.\n"
        "La ligne de commande fonctionne sans : lancez 'parsec-tray --help'.\n"
    )
