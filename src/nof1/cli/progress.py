"""What the person sees while an analysis runs, and where the sampler's own messages go.

``nof1 analyze`` and ``nof1 report`` are quiet by default: PyMC's, PyTensor's and numba's log
messages and every Python warning raised meanwhile go to ``nof1.log`` in the trial workspace
(owner-only; appended, one block per run), and the person sees one progress line per outcome and
fit, with its elapsed time (:class:`FitProgress`). ``--verbose`` shows the messages as well.
For a CSV analysis there is no workspace, so without ``--verbose`` they are dropped.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

#: The log file's name inside the workspace.
LOG_FILE = "nof1.log"
#: Loggers of the scientific stack that talk while a model compiles and samples.
LOGGERS = ("pymc", "pytensor", "numba", "arviz", "arviz_base", "arviz_stats", "py.warnings")


@contextlib.contextmanager
def captured_messages(workspace: Path | None, *, verbose: bool) -> Iterator[Path | None]:
    """Route the stack's log messages and warnings to ``workspace/nof1.log``; yield its path.

    With ``verbose`` they are also shown on stderr. Everything is restored on exit.
    """
    log_path = None if workspace is None else workspace / LOG_FILE
    stream: TextIO | None = None
    handlers: list[logging.Handler] = []
    if log_path is not None:
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.chmod(log_path, 0o600)  # an older file keeps its mode otherwise
        stream = os.fdopen(fd, "a", encoding="utf-8")
        stamp = dt.datetime.now().astimezone().replace(microsecond=0).isoformat()
        stream.write(f"--- nof1 {' '.join(sys.argv[1:])} at {stamp}\n")
        file_handler = logging.StreamHandler(stream)
        file_handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handlers.append(file_handler)
    if verbose:
        shown = logging.StreamHandler(sys.stderr)
        shown.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        handlers.append(shown)
    if not handlers:
        handlers.append(logging.NullHandler())
    saved: list[tuple[logging.Logger, list[logging.Handler], bool, int]] = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, list(logger.handlers), logger.propagate, logger.level))
        logger.handlers = list(handlers)
        logger.propagate = False
        if name in ("pymc", "py.warnings"):
            logger.setLevel(logging.INFO)
    logging.captureWarnings(True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            yield log_path
    finally:
        logging.captureWarnings(False)
        for logger, old, propagate, level in saved:
            logger.handlers, logger.propagate = old, propagate
            logger.setLevel(level)
        if stream is not None:
            stream.close()


class FitProgress:
    """One progress line per step (outcome and fit) with its elapsed time, on stderr.

    On a terminal a rich display (spinner, step, elapsed time; a finished step keeps its time);
    elsewhere (a pipe, a log) the step names as plain lines when ``lines`` is set, else nothing.
    Call it with each step's message; :meth:`close` ends the display.
    """

    def __init__(self, *, enabled: bool = True, lines: bool = False) -> None:
        self._progress: Any = None
        self._task: Any = None
        self._lines = enabled and lines
        self._started = time.perf_counter()
        if enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(finished_text="✓"),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            )
            self._progress.start()

    def __call__(self, message: str) -> None:
        if self._progress is not None:
            self._finish_task()
            self._task = self._progress.add_task(message, total=1)
        elif self._lines:
            print(message, file=sys.stderr, flush=True)

    def _finish_task(self) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=1)
            self._progress.stop_task(self._task)

    def close(self) -> None:
        """End the display (the finished steps stay on screen with their times)."""
        if self._progress is not None:
            self._finish_task()
            self._progress.stop()
            self._progress = None
