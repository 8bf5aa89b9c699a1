"""Analyse the 70-day melatonin self-experiment through nof1's CSV path.

Run from the repository root::

    .venv/bin/python examples/melatonin/analyze.py          # the table
    .venv/bin/python examples/melatonin/analyze.py --json   # the documented JSON

It is the same as::

    nof1 analyze --data examples/melatonin/melatonin_ema.csv --outcome mood \
        --treatment melatonin --control 0 --time study_day --better higher --mcid 5 \
        --trend linear --randomized-by day --max-run 2

Up to three mood ratings a day (0–100) are averaged per study day; the study randomized days
with at most two consecutive days in the same condition, and says so (``--randomized-by day
--max-run 2``), so the randomization test uses the day as its unit. See README.md beside this
file for what it finds.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nof1.cli import app

HERE = Path(__file__).resolve().parent

ARGS = [
    "analyze",
    "--data", str(HERE / "melatonin_ema.csv"),
    "--outcome", "mood",
    "--treatment", "melatonin",
    "--control", "0",
    "--time", "study_day",
    "--better", "higher",
    "--mcid", "5",
    "--trend", "linear",
    "--randomized-by", "day",
    "--max-run", "2",
]  # fmt: skip

if __name__ == "__main__":
    app(ARGS + sys.argv[1:], prog_name="nof1")
