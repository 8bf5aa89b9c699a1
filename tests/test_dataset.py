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
            "--treatment column 'arm' must have exactly 2 different values (got 1: 0): the file "
            "must hold the rows of both treatments, and only those",
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


# -- hostile tables ---------------------------------------------------------------------------


def two_arms(**extra: str) -> list[dict[str, str]]:
    rows = [{"day": str(t), "arm": "AB"[t % 2], "y": "1"} for t in range(1, 7)]
    return [{**row, **extra} for row in rows]


def message(rows, spec, columns=None) -> str:
    with pytest.raises(DataError) as info:
        table_from_rows(rows, columns or list(rows[0]), spec)
    return str(info.value)


def test_csv_rejects_infinite_value():
    rows = two_arms()
    rows[2]["y"] = "inf"
    assert message(rows, TableSpec("y", "arm", "day", control="A")) == (
        "--outcome column 'y' has 'inf' on data line 4: give a finite number, or leave the cell "
        "empty for a missed rating"
    )


def test_csv_rejects_huge_value():
    rows = two_arms()
    rows[0]["y"] = "1e300"
    assert message(rows, TableSpec("y", "arm", "day", control="A")) == (
        "--outcome column 'y' has '1e300' on data line 2, beyond ±1e+12: rescale the column "
        "(e.g. to thousands)"
    )


def test_csv_rejects_huge_time_index():
    rows = two_arms()
    rows[0]["day"] = "1e300"
    assert "--time column 'day' must be a whole-number day or week index" in message(
        rows, TableSpec("y", "arm", "day", control="A")
    )


def test_csv_rejects_nan_time():
    rows = two_arms()
    rows[0]["day"] = "nan"
    assert message(rows, TableSpec("y", "arm", "day", control="A")) == (
        "--time column 'day' must be a whole-number day or week index; data line 2 has 'nan'"
    )


def test_csv_nan_outcome_is_a_missed_rating_and_said_so():
    rows = two_arms()
    rows[0]["y"] = "NaN"
    data = table_from_rows(rows, list(rows[0]), TableSpec("y", "arm", "day", control="A"))
    assert data.n == 5
    assert "1 row(s) without a value of 'y' (empty or NA) left out" in data.notes


def test_csv_rejects_outcome_column_that_is_all_nan():
    rows = two_arms(y="NaN")
    assert message(rows, TableSpec("y", "arm", "day", control="A")) == (
        "--outcome column 'y' has no values in data (every row is empty or NA): check the "
        "column name"
    )


def test_csv_rejects_control_character_in_treatment_label():
    rows = two_arms()
    rows[1]["arm"] = "B\x1b[31m"
    assert message(rows, TableSpec("y", "arm", "day", control="A")) == (
        "--treatment column 'arm' has a control character on data line 3 ('B\\x1b[31m'): labels "
        "must be plain printable text; remove it from the file"
    )


def test_csv_rejects_control_character_in_outcome_column_name():
    rows = [{"day": "1", "arm": "A", "y\x07": "1"}]
    assert message(rows, TableSpec("y\x07", "arm", "day")) == (
        "--outcome column 'y\\x07' has a control character: column names must be plain printable "
        "text"
    )


def test_csv_rejects_only_one_arm():
    rows = two_arms(arm="A")
    assert message(rows, TableSpec("y", "arm", "day", control="A")) == (
        "--treatment column 'arm' must have exactly 2 different values (got 1: A): the file "
        "must hold the rows of both treatments, and only those"
    )


def test_csv_rejects_duplicate_time_with_two_treatments():
    rows = two_arms()
    rows[1]["day"] = "1"
    assert message(rows, TableSpec("y", "arm", "day", control="A")) == (
        "--treatment column 'arm' changes within time 1 ('B' on line 2, 'A' on line 3): one "
        "treatment per time unit"
    )


def test_csv_duplicate_time_for_a_binary_outcome_is_refused():
    rows = two_arms()
    rows[1]["day"] = "1"
    rows[1]["arm"] = "B"
    assert message(rows, TableSpec("y", "arm", "day", kind="binary", control="A")) == (
        "--time column 'day' repeats for a binary outcome (e.g. time 1): averaging is only done "
        "for continuous outcomes; give one row per time unit"
    )


def test_csv_rejects_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_table(path, SPEC)
    assert str(info.value) == (
        "--data empty.csv is empty: it needs a header line naming the columns and one row per "
        "observation"
    )


def test_csv_rejects_header_without_rows(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("study_day,melatonin,mood\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_table(path, SPEC)
    assert str(info.value) == (
        "header.csv has no data rows: add one row per observation under the header"
    )


def test_csv_rejects_a_folder_as_data(tmp_path):
    with pytest.raises(DataError) as info:
        read_table(tmp_path, SPEC)
    assert str(info.value) == f"--data {tmp_path} is a folder: give a CSV file"


@pytest.mark.parametrize("mcid", [0.0, -1.0, float("nan"), float("inf")])
def test_table_spec_rejects_mcid_that_is_not_a_finite_positive_number(mcid):
    with pytest.raises(DataError, match=r"--mcid for outcome 'y' must be a finite number > 0"):
        TableSpec("y", "arm", "day", mcid=mcid)


def test_missed_rating_never_merges_two_periods():
    # The B day without a value still separates the two A runs: three periods, not one.
    rows = [
        {"day": "1", "arm": "A", "y": "1"},
        {"day": "2", "arm": "B", "y": ""},
        {"day": "3", "arm": "A", "y": "2"},
        {"day": "4", "arm": "B", "y": "5"},
    ]
    data = table_from_rows(rows, list(rows[0]), TableSpec("y", "arm", "day", control="A"))
    assert data.sequence == "ABAB"
    assert [p.mean for p in data.periods] == [1.0, None, 2.0, 5.0]
    assert data.units == ((1.0, "A"), (2.0, "B"), (3.0, "A"), (4.0, "B"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mood", ("mood", "continuous", 5.0, "lower")),
        ("mood:continuous:2:higher", ("mood", "continuous", 2.0, "higher")),
        ("pain::1.5:", ("pain", "continuous", 1.5, "lower")),
        ("days:binary:3:lower", ("days", "binary", 3.0, "lower")),
    ],
)
def test_outcome_option_long_and_short_forms(text, expected):
    spec = TableSpec.from_option(text, treatment="arm", time="day", mcid=5.0)
    assert (spec.outcome, spec.kind, spec.mcid, spec.better) == expected


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a:b", "--outcome 'a:b' must be NAME or NAME:KIND:MCID:BETTER"),
        (":continuous:5:higher", "--outcome ':continuous:5:higher' must be NAME or"),
        ("mood:counts:5:higher", "--outcome 'mood:counts:5:higher': KIND must be continuous, "),
        ("mood:continuous:nan:higher", "--outcome 'mood:continuous:nan:higher': MCID must be a "),
        ("mood:continuous:-2:higher", "MCID must be a finite number > 0 (got '-2')"),
        ("mood:continuous:inf:higher", "MCID must be a finite number > 0 (got 'inf')"),
        ("mood:continuous:5:up", "--outcome 'mood:continuous:5:up': BETTER must be lower or "),
    ],
)
def test_outcome_option_rejects_malformed_spec(text, error):
    with pytest.raises(DataError) as info:
        TableSpec.from_option(text, treatment="arm", time="day")
    assert error in str(info.value)


def test_melatonin_units_reproduce_the_published_allocation():
    """The real series' own allocation file (examples/melatonin, MIT, © Miura Meng) says day by
    day what the randomization drew; the CSV path must read exactly that, at most 2 in a row."""
    import json

    schedule = json.loads((MELATONIN.parent / "melatonin_schedule.json").read_text("utf-8"))
    data = read_table(MELATONIN, evolve_control(SPEC, "0"))
    drawn = "".join("B" if schedule[str(day)] else "A" for day in range(1, 71))
    assert "".join(arm for _, arm in data.units) == drawn
    assert "AAA" not in drawn and "BBB" not in drawn  # the stated --max-run 2 fits


def evolve_control(spec: TableSpec, control: str) -> TableSpec:
    import attrs

    return attrs.evolve(spec, control=control)


def test_csv_rejects_a_column_name_given_twice(tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text("day,arm,y,y\n1,A,1,2\n2,B,3,4\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_table(path, TableSpec("y", "arm", "day"))
    assert str(info.value) == (
        "--data twice.csv names the column 'y' more than once in its header: rename one, so that "
        "every column can be told apart"
    )


def test_csv_with_a_nul_byte_is_a_data_error(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"day,arm,y\n1,A\x00,1\n2,B,2\n")
    with pytest.raises(DataError) as info:
        read_table(path, TableSpec("y", "arm", "day"))
    assert str(info.value) == (
        "--treatment column 'arm' has a control character on nul.csv line 2 ('A\\x00'): labels "
        "must be plain printable text; remove it from the file"
    )
