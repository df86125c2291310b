"""The command line's help, walked through its one parser (``cli/main.py``):
every subcommand has a one-line description in the command list, and every
option and argument says what it is for.  Run in English and in French."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from parsec_tray.cli.main import build_parser


def _subcommands(
    parser: argparse.ArgumentParser,
) -> Iterator[tuple[str, str | None, argparse.ArgumentParser]]:
    """Each subcommand: its name, its line in the command list, its parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield name, helps.get(name), sub


def _gaps(parser: argparse.ArgumentParser) -> list[str]:
    """What lacks a description or a help, as ``command: what``."""
    gaps = []
    for action in parser._actions:
        if action.help is None and not isinstance(action, argparse._SubParsersAction):
            gaps.append(f"(top level): {'/'.join(action.option_strings) or action.dest}")
    for name, text, sub in _subcommands(parser):
        if not text or text == argparse.SUPPRESS or "\n" in str(text):
            gaps.append(f"{name}: no one-line description")
        for action in sub._actions:
            if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
                continue
            if not action.help or not str(action.help).strip():
                gaps.append(f"{name}: {'/'.join(action.option_strings) or action.dest}")
    return gaps


def test_every_subcommand_is_described_and_every_option_helped() -> None:
    parser = build_parser()
    names = [name for name, _a, _p in _subcommands(parser)]
    assert {"create-org", "bootstrap", "devices", "login", "invitations", "greet", "claim", "status"} <= set(
        names
    )
    assert _gaps(parser) == []


def test_the_walker_finds_what_lacks_help() -> None:
    """The walk above can fail: a parser with the gaps it looks for."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--loud", action="store_true")
    sub = parser.add_subparsers()
    p = sub.add_parser("quiet")
    p.add_argument("--fine", help="fine")
    p.add_argument("path")
    p.add_argument("--hidden", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub.add_parser("said", help="said")
    assert _gaps(parser) == ["(top level): --loud", "quiet: no one-line description", "quiet: path"]


@pytest.mark.parametrize("lang", ["C.UTF-8", "fr_FR.UTF-8"])
def test_help_lists_every_subcommand_with_its_line(lang: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_") and k not in {"LANGUAGE", "LANG"}}
    env["LANGUAGE" if lang.startswith("fr") else "LANG"] = "fr" if lang.startswith("fr") else lang
    out = subprocess.run(
        [sys.executable, "-m", "parsec_tray", "--help"], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    parser = build_parser()
    for name, _a, _p in _subcommands(parser):
        line = next((ln for ln in out.stdout.splitlines() if ln.strip().startswith(name + " ")), None)
        assert line is not None and len(line.strip()) > len(name) + 2, (name, out.stdout)
    version = subprocess.run(
        [sys.executable, "-m", "parsec_tray", "--version"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert version.returncode == 0 and version.stdout.startswith("parsec-tray "), version
