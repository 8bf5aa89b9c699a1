"""What the example scripts share: running `nof1` as a user would, and a simulated diary.

The examples drive the real command line (``python -m nof1 ...``) so that they show, and the
test suite checks, exactly what a person types.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from nof1.record import AdverseEvent
from nof1.simulate import simulate_trial
from nof1.tidy import rows_from_records, to_csv
from nof1.workspace import Workspace


def example_args(description: str, default_out: Path) -> argparse.Namespace:
    """``--out DIR`` (emptied first) and ``--quick`` (few posterior draws, for the tests)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=default_out)
    parser.add_argument("--quick", action="store_true", help="few posterior draws (tests)")
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    return args


def nof1(*args: str) -> None:
    """Run one `nof1` command as a person would (its output streams live, progress included),
    and stop the example if it fails."""
    print(f"\n$ nof1 {' '.join(args)}", flush=True)
    done = subprocess.run([sys.executable, "-m", "nof1", *args], check=False)
    if done.returncode != 0:
        raise SystemExit(f"`nof1 {args[0]}` failed with exit code {done.returncode}")


def write_simulated_diary(
    workspace: Path,
    path: Path,
    *,
    seed: int,
    effects: Mapping[str, float],
    through: dt.date | None = None,
) -> list[AdverseEvent]:
    """Simulate the person's diary with :mod:`nof1.simulate` and write it as a tidy CSV.

    The ``arm`` column shows what the person sees (pack codes while blinded), exactly as
    ``nof1 export`` would. Returns the simulated adverse events, to record with ``nof1 event``.
    """
    ws = Workspace.open(workspace)
    try:
        trial = simulate_trial(
            ws.protocol, ws.schedule, seed=seed, effects=effects, through=through
        )
        table = rows_from_records(
            ws.schedule,
            [o.name for o in ws.protocol.outcomes],
            trial.observations,
            trial.adherence,
            label=ws.arm_label,
        )
    finally:
        ws.close()
    path.write_text(to_csv(table), encoding="utf-8")
    return list(trial.events)


def record_events(trial: str, events: list[AdverseEvent]) -> None:
    """Record simulated adverse events through `nof1 event`."""
    for event in events:
        nof1(
            "event",
            "--trial",
            trial,
            "--date",
            event.date.isoformat(),
            "--description",
            event.description,
            "--severity",
            event.severity,
            "--serious" if event.serious else "--not-serious",
            "--action",
            event.action or "none",
        )
