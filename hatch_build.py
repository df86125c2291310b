"""Hatch build hook: compiles the catalogues of ``locale/`` (the one source,
``<lang>/LC_MESSAGES/parsec-tray.po``) with Babel into the wheel, as
``parsec_tray/locale/<lang>/LC_MESSAGES/parsec-tray.mo``.  A catalogue that
does not parse fails the build; fuzzy entries are left out (English)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CatalogueBuildHook(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        self._out = Path(tempfile.mkdtemp(prefix="parsec-tray-mo-"))
        for po in sorted(Path(self.root, "locale").glob("*/LC_MESSAGES/*.po")):
            with po.open("rb") as f:
                catalog = read_po(f, abort_invalid=True)
            rel = po.relative_to(Path(self.root, "locale")).with_suffix(".mo")
            mo = self._out / rel
            mo.parent.mkdir(parents=True, exist_ok=True)
            with mo.open("wb") as f:
                write_mo(f, catalog, use_fuzzy=False)
            build_data["force_include"][str(mo)] = f"parsec_tray/locale/{rel.as_posix()}"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        out = getattr(self, "_out", None)
        if out is not None:
            shutil.rmtree(out, ignore_errors=True)
