"""A sleep-schedule trial looked at mid-way: an INTERIM analysis and report.

An open trial (a sleep routine cannot be blinded) from the ``migraine-sleep`` template: 14 run-in
days and six 4-week periods. The person started 100 days ago and has logged every day since
(simulated with :mod:`nof1.simulate`; this person's headache days fall by about 2 per 28 days on
the regular schedule). Half-way through, their clinician asks "is it working yet?":

1. ``nof1 init`` + ``nof1 start``; 2. the diary so far through ``nof1 import``;
3. ``nof1 today`` and ``nof1 status`` — where the trial stands;
4. ``nof1 analyze`` — the interim estimate; 5. ``nof1 report`` — marked INTERIM on every page.

An interim look is for safety and planning, not for stopping early because the numbers look
good: the verdict rule is the same, but with fewer periods the interval is wide, which is exactly
what the report shows. Run: ``python examples/migraine_sleep/run_interim.py [--quick]``.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from example_support import (  # noqa: E402
    example_args,
    nof1,
    record_events,
    write_simulated_diary,
)

SEED = 4242
EFFECTS = {"headache_day": -2.0, "peak_pain": -0.5, "severity": -0.2, "acute_med_days": -1.5}
DAYS_SO_FAR = 100


def main() -> None:
    args = example_args(__doc__.splitlines()[0], HERE / "workspace")
    workspace: Path = args.out

    today = dt.date.today()
    start = today - dt.timedelta(days=DAYS_SO_FAR)
    trial = str(workspace)
    nof1(
        "init",
        trial,
        "--template",
        "migraine-sleep",
        "--seed",
        str(SEED),
        "--start",
        start.isoformat(),
    )
    nof1("start", "--trial", trial)

    diary = workspace / "diary.csv"
    yesterday = today - dt.timedelta(days=1)
    events = write_simulated_diary(workspace, diary, seed=SEED, effects=EFFECTS, through=yesterday)
    nof1("import", str(diary), "--trial", trial)
    record_events(trial, events)
    nof1("today", "--trial", trial)
    nof1("status", "--trial", trial)

    quick = ["--draws", "300", "--no-sensitivity"] if args.quick else []
    nof1("analyze", "--trial", trial, "--outcome", "headache_day", *quick)
    nof1("report", "--trial", trial, *(quick + ["--tune", "300"] if args.quick else []))
    print(f"\nInterim report written to {workspace / 'reports'}")


if __name__ == "__main__":
    main()
