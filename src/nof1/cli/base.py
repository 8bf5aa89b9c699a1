"""The typer application and what every command shares: the --trial option and error handling.

Command modules (``cli/setup.py``, ``cli/diary.py``, ...) register on :data:`app`. Heavy modules
(numpy, PyMC, ArviZ, matplotlib) are imported inside the commands that need them, never here, so
``nof1 log`` starts fast.
"""

from __future__ import annotations

import functools
import io
import sys
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from nof1.errors import Nof1Error
from nof1.files import explain

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
        help="auto: continuous outcomes by exact grid integration, other kinds by importance "
        "sampling (NUTS when its Pareto k-hat fails); nuts: every outcome by NUTS sampling.",
    ),
]


def check_engine(engine: str) -> str:
    """The --engine value, or ``Error`` naming the choices."""
    if engine not in ("auto", "nuts"):
        raise Nof1Error(f"--engine must be auto or nuts (got {engine!r})")
    return engine


#: --quiet and --verbose of the commands that fit models (analyze, report).
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress display while fitting.")
]
VerboseOption = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Also show the sampler's and compiler's messages and warnings (they always go "
        "to nof1.log in the workspace).",
    ),
]

ForceOption = Annotated[
    bool,
    typer.Option(
        "--force", help="Replace the file if it exists (never protocol.toml or the store)."
    ),
]

#: Unicode categories never written raw to a terminal: controls (C0, DEL, C1 — ESC starts
#: terminal escape sequences), format characters (bidi overrides such as U+202E, zero-width
#: characters), surrogates, and the line/paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def printable(text: object, *, multiline: bool = False) -> str:
    """``text`` with every control, bidi and format character written as an escape (``\\u001b``).

    Free text (notes, reasons, event descriptions, names) is stored exactly as given but never
    reaches a terminal raw: an ESC sequence could rewrite the screen, a right-to-left override
    could make ``yes`` read as ``sey``. ``multiline`` keeps line breaks (``\\n``) as they are.
    Every line the CLI writes passes through here (see :func:`handle_errors`).
    """
    chars = []
    for ch in str(text):
        if (multiline and ch == "\n") or unicodedata.category(ch) not in _UNSAFE_CATEGORIES:
            chars.append(ch)
        else:
            # \uXXXX (UTF-16 pairs beyond U+FFFF) is also a valid escape inside a JSON string,
            # so `--json` output piped to a file still parses to the same text.
            units = ch.encode("utf-16-be", "surrogatepass")
            for i in range(0, len(units), 2):
                chars.append(f"\\u{int.from_bytes(units[i : i + 2], 'big'):04x}")
    return "".join(chars)


class _EscapingWriter(io.TextIOBase):
    """A text stream that writes through :func:`printable` (line breaks kept) to another one."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def write(self, text: str | bytes) -> int:
        # click writes bytes when it finds no binary buffer (e.g. while prompting)
        shown = text.decode(self.encoding, "replace") if isinstance(text, bytes) else text
        self._target.write(printable(shown, multiline=True))
        return len(text)

    def flush(self) -> None:
        # also called when this wrapper is collected, possibly after its target was closed
        if not self._target.closed:
            self._target.flush()

    def isatty(self) -> bool:
        return bool(self._target.isatty())

    def fileno(self) -> int:
        return int(self._target.fileno())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self._target, "encoding", None) or "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self._target, "errors", None)

    def writable(self) -> bool:
        return True


@contextmanager
def escaped_output() -> Iterator[None]:
    """Route stdout and stderr through :func:`printable` for the duration of a command."""
    saved = sys.stdout, sys.stderr
    if isinstance(sys.stdout, _EscapingWriter):
        yield
        return
    sys.stdout, sys.stderr = _EscapingWriter(saved[0]), _EscapingWriter(saved[1])
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = saved


def err(message: str) -> None:
    """Print a line to stderr (warnings and errors; stdout stays machine-readable)."""
    print(printable(message, multiline=True), file=sys.stderr)


def handle_errors[F: Callable[..., Any]](func: F) -> F:
    """Run a command with escaped output; turn errors into ``Error: ...`` and exit code 1.

    A :class:`Nof1Error` is the library's own message. An operating-system error that escaped
    the library (a full disk, read-only media) is explained in one line too: never a traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with escaped_output():
            try:
                return func(*args, **kwargs)
            except Nof1Error as exc:
                err(f"Error: {exc}")
                raise typer.Exit(code=1) from None
            except OSError as exc:
                where = f"{exc.filename}: " if exc.filename else ""
                err(f"Error: {where}{explain(exc)}")
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
