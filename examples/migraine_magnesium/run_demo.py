"""The migraine + magnesium trial, end to end, through the real `nof1` command line.

This is what `make demo` runs. It plays a whole blinded trial as a person would:

1. ``nof1 init``     — a workspace from the ``migraine-magnesium`` template (fixed seed);
2. ``nof1 start``    — lock the protocol and the randomized schedule;
3. the diary         — 238 days of realistic simulated data from :mod:`nof1.simulate` (this
   person's headache days fall by about 3 per 28 days on magnesium, and the pain of a headache
   day by 0.8 points: two separate effects, frequency and intensity when present, so neither is
   counted twice), written in the documented tidy format and loaded with ``nof1 import``;
   adverse events with ``nof1 event``;
4. ``nof1 status``   — the trial's state; a stopping rule the diary meets (e.g. pain 9/10 or
   worse on three logged days in a row) is shown loudly. With this seed none is met;
5. ``nof1 review``   — for each rule met, the supervising clinician's review (decision: continue;
   in a real trial this happens when the rule is met; the demo loads the diary in one go, so the
   review is recorded afterwards and the report's stopping-rule timeline shows both dates);
6. ``nof1 allocation --reveal --by … --reason … --yes`` — the pharmacist unblinds the allocation
   after the last day (recorded: who, when, why);
7. ``nof1 report``   — analysis and the HTML + PDF + JSON report in ``workspace/reports/``.

Run it with ``python examples/migraine_magnesium/run_demo.py [--quick] [--out DIR]``. ``--quick``
uses fewer posterior draws (the test suite runs it that way).
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

SEED = 20261201
#: True effects on the verdict scale (B minus A): headache days and acute-medication doses per
#: 28 days, peak pain points on headache days (intensity when present: the frequency effect is
#: headache_day's alone), expected severity category.
EFFECTS = {"headache_day": -3.0, "peak_pain": -0.8, "severity": -0.3, "acute_med_days": -2.5}


def main() -> None:
    args = example_args(__doc__.splitlines()[0], HERE / "workspace")
    workspace: Path = args.out

    # The trial ended a few days ago: 14 run-in days + 8 periods of 28 days = 238 days.
    start = dt.date.today() - dt.timedelta(days=238 + 3)
    trial = str(workspace)
    nof1(
        "init",
        trial,
        "--template",
        "migraine-magnesium",
        "--seed",
        str(SEED),
        "--start",
        start.isoformat(),
    )
    nof1("start", "--trial", trial)
    nof1("schedule", "--trial", trial)

    diary = workspace / "diary.csv"
    events = write_simulated_diary(workspace, diary, seed=SEED, effects=EFFECTS)
    nof1("import", str(diary), "--trial", trial)
    record_events(trial, events)
    nof1("status", "--trial", trial)
    for rule in rules_met(workspace):
        nof1(
            "review",
            "--rule",
            rule,
            "--by",
            "Dr A. Okafor (supervising GP)",
            "--decision",
            "continue",
            "--note",
            "three days of severe migraine pain, no adverse event; continue as planned",
            "--trial",
            trial,
        )
    nof1(
        "allocation",
        "--reveal",
        "--by",
        "community pharmacist",
        "--reason",
        "trial completed: results to be discussed with the clinician",
        "--yes",
        "--trial",
        trial,
    )

    draws = ["--draws", "300", "--tune", "300", "--no-sensitivity"] if args.quick else []
    nof1("report", "--trial", trial, *draws)
    print(f"\nDemo finished. Open the report in {workspace / 'reports'}")


def rules_met(workspace: Path) -> list[str]:
    """Names of the stopping rules the diary meets and no clinician has reviewed yet."""
    from nof1.diary_safety import triggered
    from nof1.workspace import Workspace

    with Workspace.open(workspace) as ws:
        return [t.name for t in triggered(ws) if not t.reviewed]


if __name__ == "__main__":
    main()
