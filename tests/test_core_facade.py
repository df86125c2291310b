"""Core's facade is real: the shells (``cli/``, ``tray/``) import from core
only the names of ``parsec_tray.core.__all__`` (and the error tree,
``parsec_tray.core.errors``, and the translation functions,
``parsec_tray.core.i18n``: like the errors, what every sentence needs); every name of the facade resolves; importing
the facade imports nothing."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import parsec_tray.core as core
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHELLS = ("cli", "tray")
ALLOWED_MODULES = {"parsec_tray.core", "parsec_tray.core.errors", "parsec_tray.core.i18n"}


def _package_of(path: Path, root: Path) -> str:
    """The dotted package of a shell file, as installed (tray/x.py -> parsec_tray.tray)."""
    rel = path.relative_to(root).with_suffix("")
    return ".".join(("parsec_tray", *rel.parts[:-1]))


def _resolve(package: str, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    base = package.split(".")[: len(package.split(".")) - (level - 1)]
    return ".".join([*base, *([module] if module else [])])


def core_imports(path: Path, root: Path = ROOT) -> list[tuple[int, str, str | None]]:
    """(line, module, name) of every import of core in ``path`` (name None
    for ``import module``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: list[tuple[int, str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = _resolve(_package_of(path, root), node.module, node.level)
            for alias in node.names:
                if module == "parsec_tray":  # from .. import core
                    if alias.name == "core":
                        out.append((node.lineno, "parsec_tray.core", None))
                elif module == "parsec_tray.core" or module.startswith("parsec_tray.core."):
                    out.append((node.lineno, module, alias.name))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "parsec_tray.core" or alias.name.startswith("parsec_tray.core."):
                    out.append((node.lineno, alias.name, None))
    return out


def violations(path: Path, root: Path = ROOT) -> list[str]:
    bad = []
    for line, module, name in core_imports(path, root):
        if module == "parsec_tray.core" and (name is None or name in core.__all__ or name == "errors"):
            continue
        if module in ("parsec_tray.core.errors", "parsec_tray.core.i18n"):
            continue
        what = f"{module}.{name}" if name else module
        bad.append(f"{path.relative_to(root)}:{line}: {what}")
    return bad


def shell_files() -> list[Path]:
    return sorted(p for shell in SHELLS for p in (ROOT / shell).rglob("*.py"))


def test_the_shells_import_only_the_facade_and_the_errors() -> None:
    files = shell_files()
    assert len(files) > 20  # the walk found the shells
    assert sum(len(core_imports(p)) for p in files) > 20  # ... and their imports of core
    bad = [v for p in files for v in violations(p)]
    assert bad == [], "import these through parsec_tray.core (add them to its __all__):\n" + "\n".join(bad)


def test_the_check_catches_each_way_round_the_facade(tmp_path: Path) -> None:
    (tmp_path / "tray").mkdir()
    shell = tmp_path / "tray" / "probe.py"
    cases = {
        "from ..core import api\n": ["parsec_tray.core.api"],
        "from ..core.addr import parse_link\n": ["parsec_tray.core.addr.parse_link"],
        "import parsec_tray.core.flows\n": ["parsec_tray.core.flows"],
        "from parsec_tray.core import sessions\n": ["parsec_tray.core.sessions"],
        "from ..core import login, errors\nfrom ..core.errors import CliError\nfrom .. import core\n": [],
    }
    for code, expected in cases.items():
        shell.write_text(code)
        found = [v.split(": ", 1)[1] for v in violations(shell, tmp_path)]
        assert found == expected, code


def test_the_facade_is_sorted_and_every_name_resolves() -> None:
    assert core.__all__ == sorted(core.__all__)
    assert len(set(core.__all__)) == len(core.__all__)
    for name in core.__all__:
        assert getattr(core, name) is not None, name
    assert set(dir(core)) >= set(core.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        core.nope  # noqa: B018


def test_importing_the_facade_imports_no_submodule() -> None:
    code = (
        "import sys, parsec_tray.core as c; from parsec_tray.core import errors; "
        "print(sorted(m for m in sys.modules if m.startswith('parsec_tray.core.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['parsec_tray.core.errors']"
