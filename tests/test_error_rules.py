"""The error tree's rules that a reading of the code can check: no caught
error is changed (a caller that knows more raises a new one, see
``ParsecTrayError.reworded``), and no handler looks inside the text of the error it caught."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "cli", "tray")


def mutations(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) of each assignment to an attribute of a caught error."""
    out = []
    for handler in ast.walk(tree):
        if not isinstance(handler, ast.ExceptHandler) or handler.name is None:
            continue
        for node in ast.walk(handler):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            for t in targets:
                if (
                    isinstance(t, ast.Attribute)
                    and isinstance(t.value, ast.Name)
                    and t.value.id == handler.name
                ):
                    out.append((node.lineno, f"{handler.name}.{t.attr}"))
    return out


def text_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) of each ``"..." in str(exc)`` (or ``exc.message``) of a caught error."""
    out = []
    for handler in ast.walk(tree):
        if not isinstance(handler, ast.ExceptHandler) or handler.name is None:
            continue
        for node in ast.walk(handler):
            if isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
                for side in node.comparators:
                    dump = ast.dump(side)
                    if f"id='{handler.name}'" in dump:
                        out.append((node.lineno, ast.unparse(node)))
    return out


def sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def test_no_caught_error_is_changed() -> None:
    bad = [
        f"{p.relative_to(ROOT)}:{line}: {what}"
        for p in sources()
        for line, what in mutations(ast.parse(p.read_text(encoding="utf-8")))
    ]
    assert bad == [], "raise exc.reworded(...) from exc instead:\n" + "\n".join(bad)


def test_no_handler_looks_inside_the_text_of_the_error_it_caught() -> None:
    bad = [
        f"{p.relative_to(ROOT)}:{line}: {what}"
        for p in sources()
        for line, what in text_reads(ast.parse(p.read_text(encoding="utf-8")))
    ]
    assert bad == [], "use the error's class or structured fields:\n" + "\n".join(bad)


def test_the_checks_see_what_they_look_for() -> None:
    code = (
        "try:\n    pass\nexcept E as exc:\n    exc.hint = 'x'\n    exc.message += 'y'\n"
        "    if 'email' in str(exc).lower():\n        pass\n"
    )
    tree = ast.parse(code)
    assert mutations(tree) == [(4, "exc.hint"), (5, "exc.message")]
    assert text_reads(tree) == [(6, "'email' in str(exc).lower()")]
    assert mutations(ast.parse("try:\n    pass\nexcept E as exc:\n    new = exc.reworded(hint='x')\n")) == []
