"""The typer application and what every command shares: the --trial option and error handling.

Command modules (``cli/setup.py``, ``cli/diary.py``, ...) register on :data:`app`. Heavy modules
(numpy, PyMC, ArviZ, matplotlib) are imported inside the commands that need them, never here, so
``nof1 log`` starts fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from nof1.errors import Nof1Error

app = typer.Typer(
    name="nof1",
    help=(
        "Run a randomized N-of-1 trial of one intervention and hand the result to your doctor.\n\n"
        "Typical flow: nof1 init DIR --template NAME, edit DIR/protocol.toml with your clinician, "
        "nof1 plan, nof1 start, then nof1 log every day, nof1 status, and nof1 report at the end. "
        "This tool informs a decision made with your clinician; it never recommends a dose."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

TrialOption = Annotated[
    Path,
    typer.Option(
        "--trial",
        "-t",
        help="Trial workspace folder (holds protocol.toml and the data). Default: this folder.",
        show_default=False,
    ),
]

SeedOption = Annotated[
    int | None,
    typer.Option(
        "--seed",
        help="Root of the sampling seeds (default: the protocol's seed).",
        show_default=False,
    ),
]

EngineOption = Annotated[
    str,
    typer.Option(
        "--engine",
        help="auto: continuous outcomes by exact grid integration, other kinds by NUTS; "
        "nuts: every outcome by NUTS sampling.",
    ),
]


def check_engine(engine: str) -> str:
    """The --engine value, or ``Error`` naming the choices."""
    if engine not in ("auto", "nuts"):
        raise Nof1Error(f"--engine must be auto or nuts (got {engine!r})")
    return engine


def err(message: str) -> None:
    """Print a line to stderr (warnings and errors; stdout stays machine-readable)."""
    print(message, file=sys.stderr)


def handle_errors[F: Callable[..., Any]](func: F) -> F:
    """Turn a :class:`Nof1Error` into ``Error: ...`` on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Nof1Error as exc:
            err(f"Error: {exc}")
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]


def _print_version(value: bool) -> None:
    if value:
        from nof1 import __version__

        print(f"nof1 {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version (the exact build, from git) and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    # A root callback keeps `nof1` a command group even when only one command module is loaded
    # (see nof1.cli.main); without it typer would run a lone command as the whole program.
    pass
