"""Durability of the diary under kill -9 and concurrent writers. Prints figures; asserts nothing.

Part 1 — kill -9 during writes: a child process logs one day after another (``diary.log_day``,
the code behind ``nof1 log``) and prints ``committed DATE`` after each commit; the parent kills
it with SIGKILL at a random moment. After each kill the store is opened, ``PRAGMA
integrity_check`` must say ok, ``nof1 verify`` (a real process) must pass, and every day the
child reported as committed must be stored with all its values.

Part 2 — concurrent writers: four processes log 100 distinct days each into one store at the
same time; all 400 days must land.

    .venv/bin/python benchmarks/bench_durability.py [CYCLES] [SEED]
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOF1 = Path(sys.executable).with_name("nof1")
# a headache day: pain and severity are asked only on headache days (the template's skip logic)
VALUES = {"headache_day": "yes", "peak_pain": "3", "severity": "mild", "acute_med_days": "0"}

CHILD = textwrap.dedent(
    """
    import datetime as dt, sys
    from nof1 import diary
    from nof1.workspace import Workspace

    folder, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    values = {values!r}
    with Workspace.open(folder) as ws:
        schedule = ws.schedule
        logged = ws.store.logged_dates()
        print("ready", flush=True)
        for n in range(first, first + count):
            date = schedule.start + dt.timedelta(days=n)
            if date in logged:
                continue
            day = schedule.day(date)
            took = "yes" if diary.needs_adherence(day) else None
            diary.log_day(ws, date, values, took=took, today=schedule.end)
            print("committed", date.isoformat(), flush=True)
    """
).format(values=VALUES)


def make_workspace(folder: Path) -> None:
    from nof1.protocol import set_design_values
    from nof1.workspace import Workspace

    text = (ROOT / "protocols" / "migraine-magnesium.toml").read_text(encoding="utf-8")
    # 1,078 days (the longest trial under the 3-year limit): room for every write below
    text = text.replace("blocks = 4", "blocks = 19")
    start = dt.date.today() - dt.timedelta(days=1)
    folder.mkdir()
    (folder / "protocol.toml").write_text(
        set_design_values(text, {"start_date": start, "seed": 1234}), encoding="utf-8"
    )
    with Workspace.open(folder) as ws:
        ws.start()


def stored_days(folder: Path) -> dict[str, int]:
    """Values stored per date (a plain read-only SQLite connection: no nof1 code involved)."""
    conn = sqlite3.connect(f"{(folder / 'nof1.sqlite').resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT date, COUNT(DISTINCT outcome) FROM entries GROUP BY date")
        return {str(d): int(n) for d, n in rows}
    finally:
        conn.close()


def integrity_check(folder: Path) -> str:
    conn = sqlite3.connect(folder / "nof1.sqlite")
    try:
        return ", ".join(str(r[0]) for r in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()


def nof1_verify(folder: Path) -> tuple[int, str]:
    proc = subprocess.run(
        [str(NOF1), "verify", "--trial", str(folder)], capture_output=True, text=True, check=False
    )
    return proc.returncode, (proc.stdout + proc.stderr).strip().splitlines()[-1]


def kill_cycles(folder: Path, cycles: int, rng: random.Random) -> None:
    print(f"Part 1: {cycles} kill -9 cycles during writes")
    print(" cycle  killed after  reported  expected rows  stored rows  lost  integrity  verify")
    reported: set[str] = set()
    total_lost = 0
    failures = 0
    for cycle in range(1, cycles + 1):
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(folder), "0", "2814"], stdout=subprocess.PIPE
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        delay = rng.uniform(0.02, 0.6)
        time.sleep(delay)  # the pipe holds the child's reports meanwhile (64 KiB: plenty)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        buffer = proc.stdout.read().decode()
        proc.stdout.close()
        lines = buffer.splitlines()
        # a line cut by the kill is not a report of a commit
        complete = lines if buffer.endswith("\n") else lines[:-1]
        reported |= {line.split()[1] for line in complete if line.startswith("committed ")}
        stored = stored_days(folder)
        expected = len(reported) * len(VALUES)
        found = sum(min(stored.get(d, 0), len(VALUES)) for d in reported)
        lost = expected - found
        check = integrity_check(folder)
        code, verdict = nof1_verify(folder)
        total_lost += lost
        failures += int(check != "ok" or code != 0)
        print(
            f"{cycle:>6}  {delay:>10.3f} s  {len(reported):>8}  {expected:>13}  {found:>11}  "
            f"{lost:>4}  {check:>9}  {'ok' if code == 0 else verdict}"
        )
    print(
        f"Part 1 total: {len(reported)} days reported committed, {total_lost} rows lost, "
        f"{failures} cycles with a failed integrity_check or nof1 verify"
    )


def concurrent_writers(folder: Path, writers: int = 4, days: int = 100) -> None:
    print(f"\nPart 2: {writers} concurrent writer processes x {days} distinct days each")
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(folder), str(k * days), str(days)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(writers)
    ]
    outputs = [p.communicate() for p in procs]
    seconds = time.perf_counter() - start
    codes = [p.returncode for p in procs]
    committed = sum(out.count("committed ") for out, _ in outputs)
    stored = stored_days(folder)
    expected = writers * days * len(VALUES)
    found = sum(min(n, len(VALUES)) for n in stored.values())
    code, verdict = nof1_verify(folder)
    print(f"exit codes: {codes}; days reported committed: {committed}; wall {seconds:.1f} s")
    for _, err in outputs:
        if err.strip():
            print("stderr:", err.strip().splitlines()[-1])
    print(f"rows expected {expected}, stored {found}, lost {expected - found}")
    print(f"integrity_check: {integrity_check(folder)}; nof1 verify: {verdict}")


def main() -> None:
    cycles = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        kill_folder = Path(tmp) / "kill"
        make_workspace(kill_folder)
        kill_cycles(kill_folder, cycles, rng)
        writers_folder = Path(tmp) / "writers"
        make_workspace(writers_folder)
        concurrent_writers(writers_folder)
    print(f"(seed {seed}; Python {sys.version.split()[0]}; SQLite {sqlite3.sqlite_version})")


if __name__ == "__main__":
    main()
