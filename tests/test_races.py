"""Check-then-write races: "already logged/stopped/imported" is decided inside the write
transaction, so of several processes doing the same thing at once exactly one succeeds.

Two kinds of test per command:

* *forced*: four forked processes each pass every check made before the transaction, then wait
  at a barrier placed just before ``BEGIN IMMEDIATE`` and race for the write lock — without the
  checks inside the transaction all four would write;
* *real*: four ``nof1`` processes started at the same moment, as a person double-clicking a
  shortcut would.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from conftest import DAYS_AGO
from nof1.store import Store
from nof1.workspace import Workspace

TODAY = dt.date.today()
YESTERDAY = TODAY - dt.timedelta(days=1)
FULL = ["headache_day=yes", "peak_pain=4", "severity=mild", "acute_med_days=1"]
N = 4
FORK = mp.get_context("fork")


def _child(barrier: Any, queue: Any, args: list[str]) -> None:
    """Run `nof1 ARGS` in this forked process; wait at the barrier before the transaction."""
    from typer.testing import CliRunner

    from nof1.cli import app

    original: Callable[..., AbstractContextManager[Store]] = Store.transaction

    def gated(self: Store, command: str) -> AbstractContextManager[Store]:
        barrier.wait(timeout=60)
        return original(self, command)

    Store.transaction = gated  # type: ignore[method-assign,assignment]
    result = CliRunner().invoke(app, args)
    queue.put((result.exit_code, result.stderr))


def forced_race(args: list[str]) -> list[tuple[int, str]]:
    barrier = FORK.Barrier(N)
    queue = FORK.Queue()
    children = [FORK.Process(target=_child, args=(barrier, queue, args)) for _ in range(N)]
    for child in children:
        child.start()
    results = [queue.get(timeout=120) for _ in children]
    for child in children:
        child.join(timeout=60)
    return results


def real_race(folder: Path, args: list[str]) -> list[tuple[int, str]]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "nof1", *args, "--trial", str(folder)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(N)
    ]
    out = []
    for proc in procs:
        _, stderr = proc.communicate(timeout=120)
        out.append((proc.returncode, stderr))
    return out


def exactly_one_succeeds(results: list[tuple[int, str]], message: str) -> None:
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1, 1, 1], results
    failures = [err for code, err in results if code == 1]
    for err in failures:
        assert err.splitlines()[-1].startswith(f"Error: {message}"), err


@pytest.fixture
def folder(started: Path) -> Iterator[Path]:
    yield started


def rows(folder: Path, table: str) -> int:
    with Store.open(folder / "nof1.sqlite", create=False) as store:
        return store.count(table)


# -- log ---------------------------------------------------------------------------------


def test_four_processes_logging_one_day_at_once_forced(folder: Path) -> None:
    args = ["log", "--date", YESTERDAY.isoformat(), *FULL, "--took", "yes", "-t", str(folder)]
    exactly_one_succeeds(forced_race(args), f"{YESTERDAY} is already logged")
    assert rows(folder, "entries") == 4 and rows(folder, "adherence") == 1


def test_four_nof1_log_processes_of_one_day_at_once(folder: Path) -> None:
    args = ["log", "--date", YESTERDAY.isoformat(), *FULL, "--took", "yes"]
    exactly_one_succeeds(real_race(folder, args), f"{YESTERDAY} is already logged")
    assert rows(folder, "entries") == 4 and rows(folder, "adherence") == 1


def test_four_corrections_at_once_all_land_with_their_reason(folder: Path) -> None:
    """Corrections are not a race: each is recorded (history keeps them all)."""
    base = ["log", "--date", YESTERDAY.isoformat(), "-t", str(folder)]
    from typer.testing import CliRunner

    from nof1.cli import app

    assert CliRunner().invoke(app, [*base, *FULL, "--took", "yes"]).exit_code == 0
    results = forced_race([*base, "--correct", "--reason", "typo", "peak_pain=5"])
    assert sorted(code for code, _ in results) == [0] * N
    assert rows(folder, "entries") == 4 + N


# -- stop --------------------------------------------------------------------------------


def test_four_processes_stopping_at_once_forced(folder: Path) -> None:
    args = ["stop", "--reason", "felt faint", "-t", str(folder)]
    exactly_one_succeeds(forced_race(args), f"the trial was already stopped on {TODAY}")
    assert rows(folder, "stops") == 1


def test_four_nof1_stop_processes_at_once(folder: Path) -> None:
    exactly_one_succeeds(
        real_race(folder, ["stop", "--reason", "felt faint"]),
        f"the trial was already stopped on {TODAY}",
    )
    assert rows(folder, "stops") == 1


# -- import ------------------------------------------------------------------------------


def _tidy_file(folder: Path, tmp_path: Path) -> Path:
    start = TODAY - dt.timedelta(days=DAYS_AGO)
    lines = ["date,day,period,block,arm,outcome,value,adherence"]
    for i in range(3):
        day = (start + dt.timedelta(days=i)).isoformat()
        for pair in FULL:
            name, value = pair.split("=")
            lines.append(f"{day},,,,,{name},{value},")
    path = tmp_path / "days.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_four_processes_importing_one_file_at_once_forced(folder: Path, tmp_path: Path) -> None:
    path = _tidy_file(folder, tmp_path)
    exactly_one_succeeds(
        forced_race(["import", str(path), "-t", str(folder)]),
        f"{TODAY - dt.timedelta(days=DAYS_AGO)} acute_med_days",
    )
    assert rows(folder, "entries") == 12
    with Workspace.open(folder) as ws:
        from nof1.integrity import verify

        assert verify(ws).ok


def test_four_nof1_import_processes_at_once(folder: Path, tmp_path: Path) -> None:
    path = _tidy_file(folder, tmp_path)
    results = real_race(folder, ["import", str(path)])
    # A process that starts after the winner committed sees the rows and skips them (exit 0,
    # nothing written); one that raced it is refused. Either way the rows land exactly once.
    assert sum(1 for code, _ in results if code == 0) >= 1
    for code, err in results:
        if code:
            assert "already imported or logged by another command meanwhile" in err, err
    assert rows(folder, "entries") == 12
