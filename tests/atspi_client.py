"""Reading and driving a dialog through its accessibility tree (AT-SPI), as a
screen reader would.

The AT-SPI bus lives in the test's private D-Bus session (``org.a11y.Bus``
is D-Bus-activated there the first time an application with its bridge
asks for it), so this runs as a child process with the session's
environment: ``python tests/atspi_client.py COMMAND JSON-ARGS``, one JSON
answer on stdout.  :class:`Accessibility` is the test's side.

Commands:
- ``tree`` ``{"window": REGEX}``: every node of that window: role, name,
  states (``focused``, ``showing``...), description;
- ``focus`` ``{"window", "name", "role"}``: give that control the focus;
- ``press`` ``{"window", "name"}``: run a push button's action.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()


def _frames(pattern: str) -> list[Any]:
    from gi.repository import Atspi

    desktop = Atspi.get_desktop(0)
    found = []
    for i in range(desktop.get_child_count()):
        app = desktop.get_child_at_index(i)
        if app is None:
            continue
        for j in range(app.get_child_count()):
            frame = app.get_child_at_index(j)
            if frame is not None and re.search(pattern, frame.get_name() or ""):
                found.append(frame)
    return found


def _walk(node: Any, out: list[Any], depth: int = 0) -> None:
    out.append(node)
    if depth > 40:
        return
    for i in range(node.get_child_count()):
        child = node.get_child_at_index(i)
        if child is not None:
            _walk(child, out, depth + 1)


def _describe(node: Any) -> dict[str, Any]:
    from gi.repository import Atspi

    states = node.get_state_set()
    return {
        "role": node.get_role_name(),
        "name": node.get_name() or "",
        "description": node.get_description() or "",
        "focused": states.contains(Atspi.StateType.FOCUSED),
        "showing": states.contains(Atspi.StateType.SHOWING),
        "sensitive": states.contains(Atspi.StateType.SENSITIVE),
    }


def _find(args: dict[str, Any]) -> Any:
    nodes: list[Any] = []
    for frame in _frames(args["window"]):
        _walk(frame, nodes)
    for node in nodes:
        d = _describe(node)
        if d["name"] == args["name"] and d["showing"] and d["role"] == args.get("role", d["role"]):
            return node
    raise SystemExit(json.dumps({"error": f"no showing {args.get('role', 'node')} named {args['name']!r}"}))


def main(command: str, args: dict[str, Any]) -> Any:
    import gi

    gi.require_version("Atspi", "2.0")
    from gi.repository import Atspi

    Atspi.init()
    if command == "tree":
        nodes: list[Any] = []
        for frame in _frames(args["window"]):
            _walk(frame, nodes)
        return [_describe(n) for n in nodes]
    node = _find(args)
    if command == "focus":
        return node.get_component_iface().grab_focus()
    if command == "text":
        return Atspi.Text.get_text(node, 0, Atspi.Text.get_character_count(node))
    if command == "extents":
        box = node.get_component_iface().get_extents(Atspi.CoordType.SCREEN)
        return [box.x, box.y, box.width, box.height]
    if command == "press":
        action = node.get_action_iface()
        names = [action.get_action_name(i) for i in range(action.get_n_actions())]
        return action.do_action(names.index("click"))
    raise SystemExit(json.dumps({"error": f"unknown command {command!r}"}))


class Accessibility:
    """The test's side: each call runs this file in the session's environment."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = {k: v for k, v in env.items() if k != "NO_AT_BRIDGE"}

    def _run(self, command: str, **args: Any) -> Any:
        done = subprocess.run(
            [sys.executable, str(HERE), command, json.dumps(args)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        out = done.stdout.strip().splitlines()
        if done.returncode or not out:
            raise AssertionError(f"atspi {command} {args}: {done.stdout or ''}{done.stderr[-2000:]}")
        return json.loads(out[-1])

    def tree(self, window: str) -> list[dict[str, Any]]:
        return list(self._run("tree", window=window))

    def focus(self, window: str, name: str, role: str | None = None) -> None:
        args: dict[str, Any] = {"window": window, "name": name}
        if role is not None:
            args["role"] = role
        assert self._run("focus", **args), f"{name!r} did not take the focus"

    def press(self, window: str, name: str, role: str = "push button") -> None:
        assert self._run("press", window=window, name=name, role=role), f"{name!r} did not press"

    def text(self, window: str, name: str, role: str = "text") -> str:
        """What the widget named ``name`` shows (an entry's text)."""
        return str(self._run("text", window=window, name=name, role=role))

    def extents(self, window: str, name: str, role: str) -> tuple[int, int, int, int]:
        """Where the widget named ``name`` is on the screen: x, y, width, height."""
        x, y, w, h = self._run("extents", window=window, name=name, role=role)
        return int(x), int(y), int(w), int(h)


if __name__ == "__main__":
    os.environ.pop("NO_AT_BRIDGE", None)
    print(json.dumps(main(sys.argv[1], json.loads(sys.argv[2]))))
