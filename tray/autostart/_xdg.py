"""Start at login on Linux and other freedesktop systems: an XDG autostart
entry, ``$XDG_CONFIG_HOME/autostart/parsec-tray.desktop``.

Invariants:

- Name, Icon and the descriptions come from the app's own desktop entry
  (``installers/linux/parsec-tray.desktop``, shipped in the package), so the
  two never disagree; ``Exec`` is the given command plus ``--autostart``.
- ``Exec`` is quoted per the Desktop Entry spec ("The Exec key"): an
  argument with a reserved character is put in double quotes with ``"``,
  `````, ``$`` and ``\\`` backslash-escaped inside; ``%`` is doubled; then
  the whole value gets the spec's string escapes (``\\`` -> ``\\\\``).  An
  argument with a control character (a newline...) cannot be written and is
  refused, and so is a program path with ``%``: GLib (GNOME, Xfce, MATE,
  Cinnamon) looks for the program named by the *unexpanded* first word, so
  ``%%`` there makes it drop the entry (a ``%`` in the other arguments is
  fine).
- The file is replaced atomically; ``disable`` removes it, or, when a
  system-wide entry of the same name exists (``$XDG_CONFIG_DIRS/autostart``),
  overrides it with ``Hidden=true`` (the spec's way to turn one off).
- ``is_enabled`` reads what a session would: the first entry of that name in
  the user's then the system's folders, ``Hidden``,
  ``X-GNOME-Autostart-enabled`` and ``TryExec``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..i18n import _
from ._base import Autostart, AutostartError, atomic_write, autostart_argv, remove_file

__all__ = ["FILENAME", "XdgAutostart", "desktop_entry", "exec_value", "quote_exec_arg"]

FILENAME = "parsec-tray.desktop"
_TEMPLATE_NAME = ("installers", "linux", FILENAME)
# Used when the shipped desktop entry cannot be found (the same facts).
_FALLBACK = {"Version": "1.4", "Name": "Parsec Tray", "Icon": "parsec-tray"}
_COPIED = re.compile(r"^(Version|Name|GenericName|Comment|Icon)(\[[^\]]+\])?$")

# "Reserved characters are space, tab, newline, double quote, single quote,
# backslash, greater-than, less-than, tilde, vertical bar, ampersand,
# semicolon, dollar, asterisk, question mark, hash mark, parentheses and
# backtick."  (= and * in the first word are not special, but harmless quoted.)
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")
_ESCAPED_IN_QUOTES = re.compile(r'(["`$\\])')
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def quote_exec_arg(arg: str) -> str:
    """One argument of an Exec value (before the string escapes)."""
    if _CONTROL.search(arg):
        raise AutostartError(
            _("The command cannot be written in a desktop entry: {arg} contains a control character.").format(
                arg=repr(arg)
            ),
            hint=_("Install Parsec Tray in a folder whose path has no newline or control character."),
        )
    if arg and not (set(arg) & _RESERVED):
        return arg.replace("%", "%%")
    return '"' + _ESCAPED_IN_QUOTES.sub(r"\\\1", arg).replace("%", "%%") + '"'


def _escape_string(value: str) -> str:
    """The spec's escapes for a value of type string."""
    return value.replace("\\", "\\\\")


def exec_value(argv: Sequence[str]) -> str:
    if "%" in argv[0]:
        raise AutostartError(
            _("The program path {path} contains '%': desktop sessions could not start it at login.").format(
                path=repr(argv[0])
            ),
            hint=_("Install Parsec Tray in a folder whose path has no '%'."),
        )
    return _escape_string(" ".join(quote_exec_arg(a) for a in argv))


def _template_paths() -> list[Path]:
    here = Path(__file__)
    # parsec_tray/tray/autostart/_xdg.py -> parsec_tray/installers/linux (the
    # wheel), and the repository's installers/linux (a checkout).
    return [here.parents[2].joinpath(*_TEMPLATE_NAME), here.resolve().parents[2].joinpath(*_TEMPLATE_NAME)]


def read_entry(path: Path) -> dict[str, str]:
    """The raw keys of the ``[Desktop Entry]`` group (no unescaping)."""
    keys: dict[str, str] = {}
    group = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1]
            continue
        if group == "Desktop Entry" and "=" in line:
            k, v = line.split("=", 1)
            keys.setdefault(k.strip(), v.strip())
    return keys


def _template() -> dict[str, str]:
    for path in _template_paths():
        try:
            keys = read_entry(path)
        except (OSError, UnicodeDecodeError):
            continue
        facts = {k: v for k, v in keys.items() if _COPIED.match(k)}
        if "Name" in facts:
            return facts
    return dict(_FALLBACK)


def desktop_entry(command: Sequence[str], *, hidden: bool = False) -> str:
    argv = autostart_argv(command)
    facts = _template()
    lines = ["[Desktop Entry]", "Type=Application"]
    lines += [f"{k}={v}" for k, v in facts.items()]
    lines.append(f"Exec={exec_value(argv)}")
    if os.path.isabs(argv[0]):
        # A moved or removed install: sessions skip the entry instead of
        # failing, and is_enabled() says it is off.
        lines.append(f"TryExec={_escape_string(argv[0])}")
    lines += ["Terminal=false", "StartupNotify=false", "X-GNOME-Autostart-enabled=true"]
    if hidden:
        lines.append("Hidden=true")
    return "\n".join(lines) + "\n"


class XdgAutostart(Autostart):
    SUPPORTED = True
    name = "xdg"

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = env

    @property
    def env(self) -> Mapping[str, str]:
        return os.environ if self._env is None else self._env

    def _config_home(self) -> Path:
        xdg = self.env.get("XDG_CONFIG_HOME")
        if xdg and os.path.isabs(xdg):
            return Path(xdg)
        home = self.env.get("HOME") or str(Path.home())
        return Path(home) / ".config"

    def _config_dirs(self) -> list[Path]:
        dirs = [d for d in (self.env.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":") if os.path.isabs(d)]
        return [Path(d) for d in dirs]

    @property
    def path(self) -> Path:
        return self._config_home() / "autostart" / FILENAME

    def _system_entries(self) -> list[Path]:
        return [p for d in self._config_dirs() if (p := d / "autostart" / FILENAME).is_file()]

    def is_enabled(self) -> bool:
        for path in [self.path, *self._system_entries()]:
            if not path.is_file():
                continue
            try:
                keys = read_entry(path)
            except (OSError, UnicodeDecodeError):
                return False
            if keys.get("Hidden") == "true" or keys.get("X-GNOME-Autostart-enabled") == "false":
                return False
            try_exec = keys.get("TryExec", "").replace("\\\\", "\\")
            if try_exec:
                if os.path.isabs(try_exec):
                    return os.access(try_exec, os.X_OK)
                return shutil.which(try_exec) is not None
            return "Exec" in keys
        return False

    def enable(self, command: Sequence[str]) -> None:
        atomic_write(self.path, desktop_entry(command).encode("utf-8"))

    def disable(self) -> None:
        if self._system_entries():
            # Removing ours would let the system-wide entry start us.
            atomic_write(self.path, desktop_entry(["parsec-tray"], hidden=True).encode("utf-8"))
            return
        remove_file(self.path)
