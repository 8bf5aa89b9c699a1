"""Building model arrays from a workspace's records and from CSV files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from conftest import template_text
from nof1.dataset import TableSpec, from_records, read_table, table_from_rows
from nof1.errors import DataError
from nof1.protocol import TrialProtocol, set_design_values
from nof1.record import Adherence, Observation
from nof1.schedule import build_schedule
from nof1.simulate import simulate_trial

ROOT = Path(__file__).resolve().parents[1]
MELATONIN = ROOT / "examples" / "melatonin" / "melatonin_ema.csv"
START = dt.date(2026, 1, 5)


@pytest.fixture(scope="module")
def protocol() -> TrialProtocol:
    text = set_design_values(template_text(), {"start_date": START, "seed": 7})
    return TrialProtocol.from_text(text)


@pytest.fixture(scope="module")
def trial(protocol):
    schedule = build_schedule(protocol)
    return simulate_trial(protocol, schedule, seed=3, effects={"peak_pain": -1.0})


def test_only_analysed_days_are_in_the_arrays(protocol, trial):
    spec = protocol.outcome("peak_pain")
    data = from_records(spec, trial.schedule, trial.observations, trial.adherence)
    for date in data.date:
        day = trial.schedule.day(date)
        assert day is not None and day.analysed
    assert data.time.min() > protocol.design.run_in_days
    assert np.all(np.diff(data.time) > 0)
    logged = {d.date: d for d in data.all_days}
    phases = {d.phase for d in logged.values()}
    assert "run_in" in phases
    assert any(d.analysed is False and d.phase == "period" for d in logged.values())


def test_arms_periods_and_blocks_follow_the_schedule(protocol, trial):
    data = from_records(protocol.outcome("peak_pain"), trial.schedule, trial.observations)
    for date, arm, period, block in zip(data.date, data.arm, data.period, data.block, strict=True):
        day = trial.schedule.day(date)
        assert (arm, period, block) == (int(day.arm == "B"), day.period, day.block)
    assert data.sequence == trial.schedule.sequence
    assert data.knots == tuple(float(k) for k in trial.schedule.block_ends())
    assert len(data.periods) == 2 * protocol.design.blocks
    assert sum(p.days_analysed for p in data.periods) == data.n


def test_physical_washout_days_carry_no_arm(protocol):
    text = set_design_values(template_text(), {"start_date": START, "seed": 7}).replace(
        "washout_days = 0 ", "washout_days = 3 "
    )
    p = TrialProtocol.from_text(text)
    schedule = build_schedule(p)
    washout = next(d for d in schedule.days() if d.phase == "washout")
    obs = [Observation(washout.date, "peak_pain", 4.0)]
    data = from_records(p.outcome("peak_pain"), schedule, obs)
    assert data.n == 0
    assert data.all_days[0].arm is None and data.all_days[0].phase == "washout"


def test_adherent_only_drops_days_recorded_as_not_taken(protocol):
    schedule = build_schedule(protocol)
    days = [d for d in schedule.days() if d.analysed][:10]
    obs = [Observation(d.date, "peak_pain", 3.0) for d in days]
    took = [Adherence(days[0].date, "no"), Adherence(days[1].date, "partial")]
    took += [Adherence(days[2].date, "yes")]
    data = from_records(protocol.outcome("peak_pain"), schedule, obs, took)
    assert data.adherent.tolist() == [False, False] + [True] * 8  # unrecorded days are kept
    subset = data.adherent_only()
    assert subset.n == 8 and subset.date[0] == days[2].date
    assert "2 non-adherent" in subset.notes[-1]


def test_values_outside_the_calendar_are_ignored_with_a_note(protocol):
    schedule = build_schedule(protocol)
    obs = [Observation(START - dt.timedelta(days=3), "peak_pain", 2.0)]
    data = from_records(protocol.outcome("peak_pain"), schedule, obs)
    assert data.all_days == () and "outside the trial calendar" in data.notes[0]


# -- CSV ------------------------------------------------------------------------------------

SPEC = TableSpec(outcome="mood", treatment="melatonin", time="study_day", better="higher")


def test_melatonin_csv_is_averaged_per_day():
    data = read_table(MELATONIN, SPEC)
    assert data.n == 70
    assert data.time.tolist() == list(range(1, 71))
    assert data.y[0] == pytest.approx((65 + 60 + 55) / 3)
    assert data.arm.sum() == 35
    assert data.all_days[0].n_ratings == 3
    assert any("averaged" in note for note in data.notes)
    assert all(p.days_logged <= 2 for p in data.periods)  # randomized by day, runs of ≤ 2


def test_periods_are_runs_and_blocks_consecutive_pairs():
    rows = [{"t": str(t), "arm": arm, "y": str(t)} for t, arm in enumerate("AAABBBBBBAAA", start=1)]
    data = table_from_rows(rows, ["t", "arm", "y"], TableSpec("y", "arm", "t", control="A"))
    assert data.sequence == "ABA"
    assert data.period.tolist() == [1] * 3 + [2] * 6 + [3] * 3
    assert data.block.tolist() == [1] * 9 + [2] * 3
    assert data.knots == (9.0, 12.0)


def test_block_column_splits_runs_at_block_boundaries():
    rows = [
        {"t": str(t), "arm": arm, "y": "1", "b": str((t - 1) // 4 + 1)}
        for t, arm in enumerate("AABBBBAA", start=1)
    ]
    data = table_from_rows(
        rows, ["t", "arm", "y", "b"], TableSpec("y", "arm", "t", block="b", control="A")
    )
    assert data.sequence == "ABBA"
    assert data.block.tolist() == [1] * 4 + [2] * 4


def test_gaps_in_time_are_kept_and_missing_values_skipped():
    rows = [
        {"t": "1", "arm": "0", "y": "1"},
        {"t": "2", "arm": "1", "y": ""},
        {"t": "5", "arm": "1", "y": "3"},
        {"t": "6", "arm": "0", "y": "NA"},
    ]
    data = table_from_rows(rows, ["t", "arm", "y"], TableSpec("y", "arm", "t"))
    assert data.time.tolist() == [1.0, 5.0]


@pytest.mark.parametrize(
    ("spec", "rows", "message"),
    [
        (
            TableSpec("mood", "arm", "day"),
            [{"day": "1", "arm": "0", "y": "1"}],
            "--outcome column 'mood' is not in data (columns: day, arm, y): check the spelling",
        ),
        (
            TableSpec("y", "arm", "day"),
            [{"day": "one", "arm": "0", "y": "1"}],
            "--time column 'day' must be a whole-number day or week index; data line 2 has 'one'",
        ),
        (
            TableSpec("y", "arm", "day"),
            [{"day": "1", "arm": "0", "y": "x"}, {"day": "2", "arm": "1", "y": "2"}],
            "--outcome column 'y' must be numeric for a continuous outcome; data line 2 has 'x'",
        ),
        (
            TableSpec("y", "arm", "day"),
            [{"day": "1", "arm": "0", "y": "1"}],
            "--treatment column 'arm' must have exactly 2 different values (got 1: 0)",
        ),
        (
            TableSpec("y", "arm", "day"),
            [{"day": "1", "arm": "x", "y": "1"}, {"day": "2", "arm": "z", "y": "1"}],
            "--control is needed: cannot tell which value of --treatment column 'arm' is the "
            "control (x, z); add e.g. --control x",
        ),
        (
            TableSpec("y", "arm", "day", control="placebo"),
            [{"day": "1", "arm": "x", "y": "1"}, {"day": "2", "arm": "z", "y": "1"}],
            "--control 'placebo' is not a value of --treatment column 'arm' (values: x, z)",
        ),
        (
            TableSpec("y", "arm", "day"),
            [{"day": "1", "arm": "0", "y": "1"}, {"day": "1", "arm": "1", "y": "1"}],
            "--treatment column 'arm' changes within time 1 ('0' on line 2, '1' on line 3): "
            "one treatment per time unit",
        ),
        (
            TableSpec("y", "arm", "day", kind="count"),
            [{"day": "1", "arm": "0", "y": "1.5"}, {"day": "2", "arm": "1", "y": "1"}],
            "--outcome column 'y' must be a whole number ≥ 0 for --kind count; data line 2 has "
            "'1.5'",
        ),
        (
            TableSpec("y", "arm", "day", kind="binary"),
            [{"day": "1", "arm": "0", "y": "2"}, {"day": "2", "arm": "1", "y": "1"}],
            "--outcome column 'y' must be 0 or 1 for --kind binary; data line 2 has '2'",
        ),
    ],
)
def test_csv_problems_name_the_column_row_and_fix(spec, rows, message):
    with pytest.raises(DataError) as info:
        table_from_rows(rows, list(rows[0]), spec)
    assert str(info.value) == message


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="--data file not found"):
        read_table(tmp_path / "nope.csv", SPEC)
