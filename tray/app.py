"""Run the tray app: one instance, a shell, the controller.

Order matters:

1. a running instance gets our arguments (a ``parsec3://`` link) and we
   exit: this works without a display (for example from a terminal);
2. then we need a display; without one, a message says so (exit 2);
3. the backend is chosen before GTK or pystray is imported;
4. the icon is shown before the controller is even imported (most of the
   app's modules): the shell makes it through ``connect`` once the icon is
   up (:meth:`~.backends.base.Shell.run`); start-up costs little more than a
   bare pystray icon (``benchmarks/tray_startup.py``);
5. the instance socket serves requests only once the controller exists
   (a request sent before waits in the socket's backlog).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, TextIO

from . import instance
from .i18n import N_, _

if TYPE_CHECKING:
    from .controller import AppOptions, Controller

__all__ = ["EXIT_NO_DISPLAY", "run"]

EXIT_NO_DISPLAY = 2

NO_DISPLAY = N_(  # translated where used
    "Parsec Tray needs a graphical session: {reason}.\n"
    "The command line works without one: run 'parsec-tray --help'."
)

log = logging.getLogger(__name__)


def run(
    link: str | None = None,
    *,
    backend: str | None = None,
    options: AppOptions | None = None,
    out: TextIO | None = None,
    autostart: bool = False,
) -> int:
    out = out or sys.stderr
    directory = instance.runtime_dir()
    server = instance.acquire(directory)
    if server is None:
        if autostart and not link:
            return 0  # started at login while already running: nothing to do
        # Another launch holds the lock: talk to it (it may still be starting).
        try:
            reply = instance.request(
                {"cmd": "open", "args": [link] if link else []}, directory=directory, wait=5
            )
        except instance.NotRunning:
            print(_("Another Parsec Tray is starting or stuck; try again in a moment."), file=out)
            return 1
        print(
            _("Parsec Tray is already running: it opens the link.")
            if link
            else _("Parsec Tray is already running: right-click its icon."),
            file=out,
        )
        return 0 if reply.get("ok", True) else 1

    try:
        from .backends import choose, make_shell

        try:
            choice = choose(backend)
        except ValueError as exc:
            print(_("Error: {message}").format(message=exc), file=out)
            return 2
        if choice.name == "none":
            print(_(NO_DISPLAY).format(reason=choice.reason), file=out)
            return EXIT_NO_DISPLAY
        if choice.name not in ("win32", "darwin") and sys.platform not in ("win32", "darwin"):
            from . import hosts

            if not hosts.has_display():  # a forced X11/Wayland backend cannot start either
                reason = _("the {backend} backend was chosen, but neither DISPLAY nor WAYLAND_DISPLAY is set")
                print(_(NO_DISPLAY).format(reason=reason.format(backend=choice.name)), file=out)
                return EXIT_NO_DISPLAY
        log.info("backend %s: %s", choice.name, choice.reason)
        try:
            shell = make_shell(choice)
        except Exception as exc:  # the toolkit could not start (display went away...)
            log.debug("starting the %s shell failed", choice.name, exc_info=True)
            icon = _("Parsec Tray could not show its icon ({backend}): {error}")
            print(icon.format(backend=choice.name, error=exc), file=out)
            return EXIT_NO_DISPLAY
        made: list[Controller] = []

        def connect() -> Controller:
            controller = _make_controller(options, autostart=autostart, link=link)
            controller.attach(shell)
            made.append(controller)
            server.serve(controller.handle_request)
            return controller

        try:
            shell.run(connect)
        finally:
            for controller in made:
                controller.shutdown()
        return 0
    finally:
        server.close()


def _make_controller(options: AppOptions | None, *, autostart: bool, link: str | None) -> Controller:
    from .controller import AppOptions, Controller

    if options is None:
        options = AppOptions.from_environment(os.environ)
    if autostart:
        import dataclasses

        options = dataclasses.replace(options, autostart=True)
    controller = Controller(options)
    if link:
        controller.queue_link(link)
    return controller
