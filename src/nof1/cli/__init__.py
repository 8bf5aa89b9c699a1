"""Command-line interface: ``nof1 COMMAND``. Parse, call the library, print, set the exit code.

Each area registers its commands on the shared :data:`app` from its own module. The console
script calls :func:`main`, which imports only the module that defines the command being run
(every module for ``--help`` or anything it does not recognise), and typer then builds only that
command: the daily ``nof1 log`` does not pay for building the others. Importing ``nof1.cli``
itself registers them all.
"""

from __future__ import annotations

import copy
import importlib
import sys
from typing import Any

from nof1.cli import base

#: The order of `nof1 --help`: set up, plan, run the trial (terminal, phone), analyse, report.
AREAS = ("setup", "plan", "diary", "serve", "analyze", "report")

#: Which module defines each command. ``tests/test_cli_reference.py`` keeps it complete.
COMMAND_AREA = {
    **dict.fromkeys(("templates", "init", "today", "schedule", "calendar", "allocation"), "setup"),
    "plan": "plan",
    **dict.fromkeys(
        (
            "start", "amend", "stop", "review", "log", "event", "status", "history",
            "backup", "verify", "restore", "export", "import",
        ),
        "diary",
    ),
    "serve": "serve",
    "analyze": "analyze",
    "report": "report",
}  # fmt: skip


def load(areas: tuple[str, ...] = AREAS) -> None:
    """Register the commands of ``areas`` on :data:`app` (in help order)."""
    for area in AREAS:
        if area in areas:
            importlib.import_module(f"nof1.cli.{area}")


#: Commands that load PyMC: once their output is flushed they exit without the interpreter's
#: teardown (freeing PyTensor's and numba's objects took 1–7 s, docs/methods-models.md).
HEAVY_COMMANDS = ("analyze", "report")


def main() -> None:
    """Entry point of the ``nof1`` console script and ``python -m nof1``."""
    command = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    area = COMMAND_AREA.get(command or "")
    load((area,) if area else AREAS)
    app = base.app
    if area:
        app = copy.copy(base.app)  # the shared app keeps every registered command
        app.registered_commands = [c for c in base.app.registered_commands if _name(c) == command]
    if command not in HEAVY_COMMANDS:
        app(prog_name="nof1")
        return
    try:
        app(prog_name="nof1")
        code: Any = 0
    except SystemExit as exc:  # typer ends every run with SystemExit
        code = exc.code
    exit_now(code)


def exit_now(code: Any) -> None:
    """Flush what was written and end the process at once, with ``sys.exit``'s exit status.

    Files and the data store are closed by then (the commands use them in ``with`` blocks);
    only the interpreter's own teardown is skipped.
    """
    import logging
    import os

    if isinstance(code, str):  # sys.exit("message"): print it, status 1
        print(code, file=sys.stderr)
    status = code if isinstance(code, int) else (0 if code is None else 1)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`nof1 analyze --json | head`)
            status = status or 1
    logging.shutdown()
    os._exit(status)


def _name(info: Any) -> str:
    """The name typer gives a registered command (explicit, or from its function's name)."""
    from typer.main import get_command_name

    return str(info.name or get_command_name(info.callback.__name__))


def __getattr__(name: str) -> Any:
    """``from nof1.cli import app``: the application with every command registered."""
    if name == "app":
        load()
        return base.app
    raise AttributeError(f"module 'nof1.cli' has no attribute {name!r}")


__all__ = ["app", "main", "load", "exit_now", "COMMAND_AREA", "HEAVY_COMMANDS"]
