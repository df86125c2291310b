"""A private, throw-away Linux desktop for end-to-end tests and benchmarks.

``DesktopSession`` starts, in this order (see the measured notes this
follows): its own D-Bus session bus, ``Xvfb`` (display number read from
``-displayfd``), the activation environment, a real XEMBED tray host
(``trayer``) and a notification daemon (``dunst``).  Nothing leaks in from the
caller's desktop: ``DISPLAY``, ``WAYLAND_DISPLAY`` and
``DBUS_SESSION_BUS_ADDRESS`` are dropped first, ``HOME`` and
``XDG_RUNTIME_DIR`` point into the session's directory.  Every process it
starts is stopped by PID in ``stop()``.

It also drives the desktop the way a person would: ``xdotool`` to find, click
and type, ``import -window root`` for screenshots.  Tray icon discovery
checks the XEMBED selection with python-xlib, not with the app's own code.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["DesktopSession", "Geometry", "TrayApp", "missing_desktop_tools", "stop_process", "wait_until"]

T = TypeVar("T")

TOOLS = (
    "Xvfb",
    "dbus-daemon",
    "dbus-update-activation-environment",
    "dbus-send",
    "trayer",
    "dunst",
    "xdotool",
    "import",
)


# The "at risk" notification a lone device's first login shows (tests
# about other notifications leave it out with :func:`not_at_risk`).
AT_RISK_TITLE = "Only this computer can open "


def not_at_risk(shown: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [n for n in shown if not n[0].startswith(AT_RISK_TITLE)]


def missing_desktop_tools() -> list[str]:
    """The programs (and Python modules) this harness needs that are absent."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    for mod in ("Xlib", "gi", "tkinter"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(f"python module {mod}")
    return missing


def wait_until(probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.05) -> T:
    """Call ``probe`` until it returns something truthy; raise after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while True:
        try:
            value = probe()
            if value:
                return value
        except Exception as exc:  # a probe may fail while things start
            last_exc = exc
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"timed out after {timeout} s waiting for {what}" + (f" ({last_exc})" if last_exc else "")
            )
        time.sleep(interval)


_COLLECTION_STATE = (
    "import secretstorage, sys; c = secretstorage.dbus_init(); "
    "col = secretstorage.get_default_collection(c); print('locked' if col.is_locked() else 'unlocked')"
)


def stop_process(proc: subprocess.Popen[Any], timeout: float = 5) -> None:
    """Terminate ``proc`` (kill it if it lingers) and reap it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


@dataclass(frozen=True)
class Geometry:
    x: int
    y: int
    width: int
    height: int

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.width // 2, self.y + self.height // 2


class DesktopSession:
    def __init__(
        self,
        workdir: Path,
        *,
        screen: str = "800x600x24",
        tray_host: bool = True,
        notifications: bool = True,
        artifacts: Path | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.screen = screen
        self.tray_host = tray_host
        self.notifications = notifications
        self.artifacts = artifacts
        self.env: dict[str, str] = {}
        self.display = ""
        self._procs: list[tuple[str, subprocess.Popen[Any]]] = []
        self._logs: list[Any] = []

    # -- life cycle ---------------------------------------------------------

    def start(self) -> DesktopSession:
        missing = missing_desktop_tools()
        if missing:
            raise RuntimeError("missing for the desktop session: " + ", ".join(missing))
        home = self.workdir / "home"
        runtime = self.workdir / "run"
        for d in (home, runtime):
            d.mkdir(parents=True, exist_ok=True)
        runtime.chmod(0o700)
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")
        }
        env.update(
            HOME=str(home),
            XDG_RUNTIME_DIR=str(runtime),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_DATA_HOME=str(home / ".local/share"),
            XDG_CACHE_HOME=str(home / ".cache"),
            NO_AT_BRIDGE="1",
            GDK_BACKEND="x11",
        )
        env.pop("XDG_CURRENT_DESKTOP", None)
        self.env = env
        try:
            self._start_dbus()
            self._start_xvfb()
            subprocess.run(
                ["dbus-update-activation-environment", "DISPLAY", "HOME", "XDG_RUNTIME_DIR"],
                env=self.env,
                check=True,
                timeout=10,
            )
            if self.tray_host:
                self._spawn(
                    "trayer",
                    [
                        "trayer",
                        "--edge",
                        "top",
                        "--align",
                        "right",
                        "--widthtype",
                        "request",
                        "--height",
                        "24",
                        "--SetDockType",
                        "true",
                        "--transparent",
                        "false",
                        "--expand",
                        "true",
                    ],
                )
                try:
                    wait_until(self.tray_host_present, 15, "trayer to own _NET_SYSTEM_TRAY_S0")
                except TimeoutError:
                    log = (self.workdir / "trayer.log").read_text(errors="replace")[-2000:]
                    raise TimeoutError(f"trayer did not start on {self.display}: {log}") from None
            if self.notifications:
                self._spawn("dunst", ["dunst"])
                wait_until(
                    lambda: self.bus_name_owned("org.freedesktop.Notifications"), 15, "dunst on the bus"
                )
        except BaseException:
            self.stop()
            raise
        return self

    def prime_gtk(self) -> None:
        """Let a throw-away GTK 3 client open the display first.

        The first GTK 3 client of an X server probes GL visuals (loading
        Mesa and LLVM, about +55 MB resident) and caches the answer in the
        root window's GDK_VISUALS property; later clients skip the probe.  On
        a real desktop the panel did it long ago: measure like there.
        """
        code = (
            "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk, Gdk; "
            "Gtk.init_check(); Gdk.Display.get_default().sync()"
        )
        subprocess.run(
            [sys.executable, "-c", code], env=self.env, check=True, timeout=60, capture_output=True
        )

    def _spawn(self, name: str, args: list[str], **kw: Any) -> subprocess.Popen[Any]:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 (closed in stop)
        self._logs.append(log)
        kw.setdefault("stdout", log)
        kw.setdefault("stderr", log)
        proc = subprocess.Popen(args, env=self.env, start_new_session=True, **kw)
        self._procs.append((name, proc))
        return proc

    def _start_dbus(self) -> None:
        r, w = os.pipe()
        self._spawn(
            "dbus-daemon",
            ["dbus-daemon", "--session", "--nofork", "--nopidfile", f"--print-address={w}"],
            pass_fds=(w,),
        )
        os.close(w)
        address = _read_line(r, 15, "dbus-daemon's address")
        self.env["DBUS_SESSION_BUS_ADDRESS"] = address

    def _start_xvfb(self) -> None:
        r, w = os.pipe()
        self._spawn(
            "Xvfb",
            # -noreset: by default Xvfb resets whenever its last client leaves,
            # and a client connecting during the reset gets "cannot open display"
            # (our short probes made trayer lose that race now and then).
            ["Xvfb", "-displayfd", str(w), "-screen", "0", self.screen, "-nolisten", "tcp", "-noreset"],
            pass_fds=(w,),
        )
        os.close(w)
        number = _read_line(r, 15, "Xvfb's display number")
        self.display = f":{number}"
        self.env["DISPLAY"] = self.display

    def stop(self) -> None:
        for _name, proc in reversed(self._procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _name, proc in reversed(self._procs):
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self._procs.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()

    def __enter__(self) -> DesktopSession:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the Secret Service and the notification daemon ------------------------

    def keyring_state(self) -> str:
        """``locked`` / ``unlocked`` (the default collection), or the error."""
        out = subprocess.run(
            [sys.executable, "-c", _COLLECTION_STATE],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=20,
        )
        return out.stdout.strip() or f"error: {out.stderr.strip()[-300:]}"

    def start_keyring(self, password: str, *, expect: str = "unlocked") -> subprocess.Popen[Any]:
        """gnome-keyring-daemon on this session's bus, its login keyring
        created or unlocked with ``password`` (on stdin); a wrong password
        leaves it locked (``expect="locked"``).  Stopped with the session, or
        earlier with :func:`stop_process`."""
        proc = self._spawn(
            "gnome-keyring-daemon",
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE,
        )
        assert proc.stdin is not None
        proc.stdin.write(password.encode())
        proc.stdin.close()
        try:
            # Not one call to the Secret Service before this daemon owns its
            # name: the bus would start another daemon for that call (the
            # activation file of gnome-keyring), that one would hang the
            # call, and this one would quit with "another secret service is
            # running".  NameHasOwner starts nothing.
            wait_until(
                lambda: proc.poll() is not None or self.bus_name_owned("org.freedesktop.secrets"),
                30,
                "gnome-keyring-daemon on the bus",
            )
            if proc.poll() is not None:
                log = (self.workdir / "gnome-keyring-daemon.log").read_text(errors="replace")[-500:]
                raise RuntimeError(f"gnome-keyring-daemon exited ({proc.returncode}): {log}")
            wait_until(
                lambda: self.keyring_state() == expect, 30, f"a {expect} Secret Service collection", 0.2
            )
        except BaseException:
            stop_process(proc)
            raise
        return proc

    def dunstctl(self, *args: str) -> str:
        out = subprocess.run(["dunstctl", *args], env=self.env, capture_output=True, text=True, timeout=10)
        if out.returncode != 0:
            raise RuntimeError(f"dunstctl {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout

    def notifications_shown(self) -> list[tuple[str, str]]:
        """(summary, body) of every notification dunst has shown, oldest
        first: close what is on screen (it moves to the history), then read
        the history."""
        self.dunstctl("close-all")
        items = json.loads(self.dunstctl("history"))["data"][0]
        return [(n["summary"]["data"], n["body"]["data"]) for n in reversed(items)]

    def wait_notification(self, summary: str, body: str, timeout: float = 30) -> list[tuple[str, str]]:
        """Wait until dunst has shown (summary, body); returns the history."""
        last: list[tuple[str, str]] = []

        def probe() -> bool:
            nonlocal last
            last = self.notifications_shown()
            return (summary, body) in last

        try:
            wait_until(probe, timeout, f"the notification {summary!r} / {body!r}", interval=0.2)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; dunst showed {last}") from None
        return last

    # -- what is on the desktop --------------------------------------------

    def tray_host_present(self) -> bool:
        """Whether a window owns the XEMBED tray selection of screen 0."""
        from Xlib import display as xdisplay

        d = xdisplay.Display(self.display)
        try:
            atom = d.intern_atom("_NET_SYSTEM_TRAY_S0")
            return d.get_selection_owner(atom) != 0
        finally:
            d.close()

    def bus_name_owned(self, name: str) -> bool:
        out = subprocess.run(
            [
                "dbus-send",
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                f"string:{name}",
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return "boolean true" in out.stdout

    def xdotool(self, *args: str, check: bool = True, timeout: float = 30) -> str:
        out = subprocess.run(
            ["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and out.returncode != 0:
            raise RuntimeError(f"xdotool {' '.join(args)} failed ({out.returncode}): {out.stderr.strip()}")
        return out.stdout

    def search(
        self, *, classname: str | None = None, name: str | None = None, visible: bool = True
    ) -> list[int]:
        args = ["search"]
        if visible:
            args.append("--onlyvisible")
        if classname is not None:
            args += ["--classname", classname]
        if name is not None:
            args += ["--name", name]
        out = self.xdotool(*args, check=False)
        return [int(w) for w in out.split()]

    def geometry(self, wid: int) -> Geometry:
        out = self.xdotool("getwindowgeometry", "--shell", str(wid))
        v = dict(line.split("=", 1) for line in out.split() if "=" in line)
        return Geometry(int(v["X"]), int(v["Y"]), int(v["WIDTH"]), int(v["HEIGHT"]))

    def wait_tray_icon(self, classname: str, timeout: float = 20) -> int:
        """The icon window embedded in the tray host, once it is wider than 1 px."""

        def probe() -> int | None:
            for wid in self.search(classname=f"^{re.escape(classname)}$"):
                try:
                    g = self.geometry(wid)
                except RuntimeError:  # gone between search and query
                    continue
                # Embedded icons sit in the tray host; skip popup menus.
                if g.width > 1 and wid not in self.popup_menus():
                    return wid
            return None

        return wait_until(probe, timeout, f"a tray icon of class {classname!r} wider than 1 px")

    def wait_window(self, title_regex: str, timeout: float = 20) -> int:
        return wait_until(
            lambda: (self.search(name=title_regex) or [None])[0], timeout, f"a window titled {title_regex!r}"
        )

    def focused_window(self) -> int:
        out = self.xdotool("getwindowfocus", check=False).strip()
        return int(out) if out.isdigit() else 0

    def wait_dialog(self, title_regex: str, timeout: float = 20) -> int:
        """A window with that title, once it has the keyboard focus (typing
        earlier would send keys elsewhere)."""
        wid = self.wait_window(title_regex, timeout)
        try:
            wait_until(lambda: self.focused_window() == wid, timeout, f"the focus on {title_regex!r}")
        except TimeoutError as exc:  # say who has it: the next flaky run tells why
            focused = self.focused_window()
            name = self.xdotool("getwindowname", str(focused), check=False).strip() if focused else ""
            raise TimeoutError(f"{exc}; the focus is on window {focused} {name!r}, not {wid}") from None
        return wid

    def wait_window_gone(self, title_regex: str, timeout: float = 60) -> None:
        wait_until(lambda: not self.search(name=title_regex), timeout, f"no window titled {title_regex!r}")

    def popup_menus(self) -> list[int]:
        """Mapped override-redirect popup menus (what a right click opens)."""
        from Xlib import X
        from Xlib import display as xdisplay

        d = xdisplay.Display(self.display)
        try:
            menu_type = d.intern_atom("_NET_WM_WINDOW_TYPE_POPUP_MENU")
            wtype = d.intern_atom("_NET_WM_WINDOW_TYPE")
            found = []
            for w in d.screen().root.query_tree().children:
                attrs = w.get_attributes()
                if attrs.map_state != X.IsViewable or not attrs.override_redirect:
                    continue
                prop = w.get_full_property(wtype, X.AnyPropertyType)
                if prop is not None and menu_type in list(prop.value):
                    found.append(w.id)
            return found
        finally:
            d.close()

    def right_click(self, wid: int) -> None:
        g = self.geometry(wid)
        x, y = g.center
        self.xdotool("mousemove", str(x), str(y), "click", "3")

    def open_tray_menu(self, classname: str, timeout: float = 10) -> int:
        """Right-click the tray icon and wait until its menu is mapped."""
        wid = self.wait_tray_icon(classname)
        deadline = time.monotonic() + timeout
        while True:
            self.right_click(wid)
            try:
                return wait_until(lambda: (self.popup_menus() or [None])[0], 2, "the tray menu")
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise
                self.key("Escape")

    def pick_menu_item(self, index: int) -> None:
        """Pick the ``index``-th (1-based) selectable item of the open menu."""
        self.xdotool("key", "--delay", "40", *(["Down"] * index), "Return")

    def key(self, *keys: str, window: int | None = None) -> None:
        args = ["key", "--delay", "30"]
        if window is not None:
            args += ["--window", str(window)]
        self.xdotool(*args, *keys)

    def type(self, text: str) -> None:
        if not text.isascii():
            raise ValueError("xdotool type mangles non-ASCII text; keep test input ASCII")
        self.xdotool("type", "--delay", "5", text)

    def grab(self, wid: int) -> Any:
        """What the window shows on screen now, as a ``PIL.Image`` (RGB)."""
        import io

        from PIL import Image

        g = self.geometry(wid)
        out = subprocess.run(
            ["import", "-window", "root", "png:-"], env=self.env, capture_output=True, timeout=30, check=True
        )
        with Image.open(io.BytesIO(out.stdout)) as img:
            return img.convert("RGB").crop((g.x, g.y, g.x + g.width, g.y + g.height))

    def screenshot(self, name: str) -> Path | None:
        if self.artifacts is None:
            return None
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{name}.png"
        subprocess.run(
            ["import", "-window", "root", str(path)],
            env=self.env,
            check=False,
            timeout=30,
            capture_output=True,
        )
        return path


def _read_line(fd: int, timeout: float, what: str) -> str:
    """Read one line from a pipe a starting daemon writes to, with a deadline."""
    import select

    buf = b""
    deadline = time.monotonic() + timeout
    try:
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"timed out waiting for {what}")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 256)
                if not chunk:
                    break
                buf += chunk
    finally:
        os.close(fd)
    line = buf.decode().strip()
    if not line:
        raise RuntimeError(f"no {what}")
    return line


class TrayApp:
    """A ``parsec-tray`` process in a :class:`DesktopSession`, with its own
    devices directory and single-instance socket (isolated by environment)."""

    CLASSNAME = "parsec-tray"

    def __init__(self, session: DesktopSession, workdir: Path, *, env: dict[str, str] | None = None) -> None:
        self.session = session
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.runtime = self.workdir / "run"
        self.config = self.workdir / "config"
        self.env = dict(
            session.env,
            PARSEC_BASE_CONFIG_DIR=str(self.config),
            PARSEC_BASE_DATA_DIR=str(self.workdir / "data"),
            PARSEC_TRAY_RUNTIME_DIR=str(self.runtime),
            PYTHONUNBUFFERED="1",
        )
        self.env.update(env or {})
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "parsec-tray.log"
        self._log: Any = None

    @property
    def devices_dir(self) -> Path:
        return self.config / "parsec3" / "libparsec" / "devices"

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "parsec_tray", *args]

    def start(self, *args: str, prelude: str | None = None) -> TrayApp:
        """``prelude``: Python code run by ``python -c`` before the app's
        command line (``-m parsec_tray --debug ...``, its ``sys.argv[1:]``);
        it runs the app itself."""
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        command = self.command("--debug", *args)
        if prelude is not None:
            command = [command[0], "-c", prelude, *command[1:]]
        self.proc = subprocess.Popen(command, env=self.env, stdout=self._log, stderr=self._log)
        return self

    def cli(
        self, *args: str, input: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args), env=self.env, input=input, capture_output=True, text=True, timeout=timeout
        )

    def create_org(
        self,
        server_url: str,
        admin_token: str,
        org: str,
        *,
        email: str,
        user: str,
        device: str,
        password: str | None,
    ) -> dict[str, Any]:
        """``parsec-tray create-org``: the device protected by ``password``,
        or by the OS keyring (None).  Its ``--json`` output."""
        protection = ["--keyring"] if password is None else ["--password-stdin"]
        made = self.cli(
            "create-org", "--server", server_url, "--org", org, "--email", email, "--user-name", user,
            "--device-label", device, "--admin-token", admin_token, *protection, "--json",
            input="" if password is None else password + "\n",
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        return dict(json.loads(made.stdout))

    def status(self) -> dict[str, Any]:
        out = self.cli("status", "--json")
        data = json.loads(out.stdout)
        data["_exit_status"] = out.returncode
        return data

    def request(self, msg: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
        """One JSON line to the instance socket, one JSON line back."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(self.runtime / "instance.sock"))
            sock.sendall(json.dumps(msg).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
        return dict(json.loads(buf))

    def menu(self) -> list[dict[str, Any]]:
        return list(self.request({"cmd": "menu"})["entries"])

    def menu_index(self, prefix: str, arg: str | None = None) -> int:
        """1-based position of the entry among those Down stops on (with
        ``arg``: the one whose action is about that device file)."""
        selectable = [e for e in self.menu() if not e.get("separator") and e.get("enabled")]
        for i, e in enumerate(selectable, start=1):
            if e["text"].startswith(prefix) and (arg is None or e.get("arg") == arg):
                return i
        raise LookupError(
            f"no enabled menu entry starts with {prefix!r} (arg {arg!r}): {[e.get('text') for e in selectable]}"
        )

    def pick(self, prefix: str, screenshot: str | None = None, *, arg: str | None = None) -> None:
        index = self.menu_index(prefix, arg)
        self.session.open_tray_menu(self.CLASSNAME)
        if screenshot:
            self.session.screenshot(screenshot)
        self.session.pick_menu_item(index)

    def wait_status(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60, what: str = "a status"
    ) -> dict[str, Any]:
        last: dict[str, Any] = {}

        def probe() -> dict[str, Any] | None:
            nonlocal last
            last = self.status()
            return last if predicate(last) else None

        try:
            return wait_until(probe, timeout, what, interval=0.2)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; last status: {last}") from None

    def wait_state(self, state: str, timeout: float = 60) -> dict[str, Any]:
        return self.wait_status(lambda st: st.get("state") == state, timeout, f"state {state!r}")

    def stop(self, timeout: float = 15) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.request({"cmd": "quit"})
            except OSError:
                self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.proc.returncode

    @contextlib.contextmanager
    def running(self, artifacts: Path, *args: str) -> Iterator[TrayApp]:
        """Started with ``args``; stopped at the end, where it must exit 0
        with no traceback in its log (kept in ``artifacts``)."""
        self.start(*args)
        try:
            yield self
        finally:
            rc = self.stop()
            log = self.log_text()
            artifacts.mkdir(parents=True, exist_ok=True)
            (artifacts / "parsec-tray.log").write_text(log)
        assert rc == 0, log[-3000:]
        assert "Traceback" not in log, log[-4000:]

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


if __name__ == "__main__":  # a quick manual check: start, screenshot, stop
    import tempfile

    with (
        tempfile.TemporaryDirectory() as tmp,
        DesktopSession(Path(tmp), artifacts=Path.cwd() / "test-artifacts") as s,
    ):
        print("display", s.display, "bus", s.env["DBUS_SESSION_BUS_ADDRESS"], "tray", s.tray_host_present())
        print(s.screenshot("desktop-session-selftest"), file=sys.stderr)
