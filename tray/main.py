"""Entry point of the ``parsec-tray`` command (temporary: core CLI only)."""

from __future__ import annotations

from parsec_tray.core.cli import main as core_main


def main(argv: list[str] | None = None) -> int:
    return core_main(argv)


def gui_main() -> int:
    return main()
