"""Wall time of `nof1 log` as a whole process (interpreter start, imports, store write).

Each run logs one new day into a fresh, started workspace built from the magnesium template, so
every run does the full work: parse protocol.toml, open the store, check the lock, validate,
write one transaction, evaluate the stopping rules. Prints median and quartiles.

    .venv/bin/python benchmarks/bench_log.py [RUNS]
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOF1 = Path(sys.executable).with_name("nof1")


def make_workspace(folder: Path) -> None:
    from nof1.protocol import set_design_values
    from nof1.workspace import Workspace

    text = (ROOT / "protocols" / "migraine-magnesium.toml").read_text(encoding="utf-8")
    start = dt.date.today() - dt.timedelta(days=20)
    folder.mkdir()
    (folder / "protocol.toml").write_text(
        set_design_values(text, {"start_date": start, "seed": 1234}), encoding="utf-8"
    )
    with Workspace.open(folder) as ws:
        ws.start()


FLOOR_APP = """
from pathlib import Path
from typing import Annotated
import typer
app = typer.Typer()
@app.command()
def log(values: Annotated[list[str] | None, typer.Argument()] = None,
        took: Annotated[str | None, typer.Option("--took")] = None,
        trial: Annotated[Path, typer.Option("--trial")] = Path(".")) -> None:
    pass
@app.command()
def other() -> None:
    pass
app()
"""


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def summary(label: str, times: list[float]) -> str:
    q1, median, q3 = statistics.quantiles(times, n=4)
    return f"{label}: median {median:.3f} s, quartiles {q1:.3f}–{q3:.3f} s"


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    command = [
        str(NOF1),
        "log",
        "headache_day=yes",
        "peak_pain=4",
        "severity=mild",
        "acute_med_days=1",
        "--took",
        "yes",
    ]
    times: list[float] = []
    cpu_times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs + 1):
            folder = Path(tmp) / f"w{i}"
            make_workspace(folder)
            cpu = cpu_seconds()
            start = time.perf_counter()
            subprocess.run(
                [*command, "--trial", str(folder)],
                check=True,
                stdout=subprocess.DEVNULL,
                env={**os.environ},
            )
            elapsed = time.perf_counter() - start
            if i:  # the first run warms the page cache and .pyc files
                times.append(elapsed)
                cpu_times.append(cpu_seconds() - cpu)
    print(summary(f"nof1 log ({runs} runs, fresh workspace each)", times))
    print(f"  min {min(times):.3f} s, max {max(times):.3f} s")
    print(summary("  CPU time (user+sys) of the same runs", cpu_times))
    print(f"  load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    # What dominates: the interpreter alone, a two-command typer app with the same parameter
    # types, and importing the libraries the log path cannot do without (typer for the CLI,
    # attrs for the value classes, and the stdlib modules that read the protocol and the store).
    print(summary("  floor: python -c pass", timed([sys.executable, "-c", "pass"], runs)))
    floor = [sys.executable, "-c", FLOOR_APP, "log", "a=1", "--took", "yes", "--trial", "."]
    print(summary("  floor: minimal typer app, same parameter types", timed(floor, runs)))
    imports = "import typer, attrs, sqlite3, tomllib, hashlib, json"
    print(summary(f"  floor: {imports}", timed([sys.executable, "-c", imports], runs)))


if __name__ == "__main__":
    main()
