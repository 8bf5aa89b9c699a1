"""Tidy format: export (blinded codes), import validation, all-or-nothing, round trips."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DAYS_AGO, MakeWorkspace
from nof1 import diary, tidy
from nof1.errors import EntryError
from nof1.workspace import Workspace

TODAY = dt.date.today()
START = TODAY - dt.timedelta(days=DAYS_AGO)
PERIOD_DAY = START + dt.timedelta(days=15)
FULL = {"headache_day": "yes", "peak_pain": "4.5", "severity": "mild", "acute_med_days": "1"}
HEADER = ",".join(tidy.COLUMNS)


@pytest.fixture
def ws(started: Path) -> Workspace:
    w = Workspace.open(started)
    yield w
    w.close()


def _csv(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "in.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


def _problems(ws: Workspace, path: Path) -> str:
    before = ws.store.count("audit")
    with pytest.raises(EntryError) as info:
        tidy.import_file(ws, path)
    assert ws.store.count("audit") == before
    return str(info.value)


def test_export_csv_rows_and_columns(ws: Workspace, tmp_path: Path) -> None:
    diary.log_day(ws, PERIOD_DAY, FULL, took="partial")
    assert tidy.export(ws, tmp_path / "out.csv") == 4
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert tuple(rows[0]) == tidy.COLUMNS
    first = rows[1]
    assert first["date"] == PERIOD_DAY.isoformat()
    assert (first["day"], first["period"], first["block"]) == ("16", "1", "1")
    assert (first["outcome"], first["value"], first["adherence"]) == ("peak_pain", "4.5", "partial")


def test_blinded_export_shows_codes_not_arms(ws: Workspace, tmp_path: Path) -> None:
    diary.log_day(ws, PERIOD_DAY, FULL, took="yes")
    tidy.export(ws, tmp_path / "out.json")
    document = json.loads((tmp_path / "out.json").read_text())
    assert document["arm_coding"] == "code"
    assert {r["arm"] for r in document["rows"]} <= {"Pack 1", "Pack 2"}


def test_revealed_export_shows_arms(ws: Workspace, tmp_path: Path) -> None:
    diary.log_day(ws, PERIOD_DAY, FULL, took="yes")
    ws.record_reveal("Dr Jones", "test of the revealed export", early=True)
    tidy.export(ws, tmp_path / "out.json")
    document = json.loads((tmp_path / "out.json").read_text())
    assert document["arm_coding"] == "arm"
    assert {r["arm"] for r in document["rows"]} <= {"A", "B"}


def test_run_in_rows_have_empty_period(ws: Workspace) -> None:
    diary.log_day(ws, START, FULL)
    row = tidy.rows(ws)[0]
    assert (row.day, row.period, row.block, row.arm, row.adherence) == (1, None, None, None, None)


def test_export_unknown_format(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(EntryError, match="--format must be csv or json"):
        tidy.export(ws, tmp_path / "out.xlsx")


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_round_trip_into_fresh_workspace(
    ws: Workspace, make_workspace: MakeWorkspace, tmp_path: Path, suffix: str
) -> None:
    diary.log_day(ws, START, FULL)
    diary.log_day(ws, PERIOD_DAY, FULL, took="no")
    diary.log_day(ws, PERIOD_DAY, {"peak_pain": "7"}, correct=True, reason="typo")
    tidy.export(ws, tmp_path / f"d.{suffix}")
    with Workspace.open(make_workspace("fresh", start_trial=True)) as fresh:
        result = tidy.import_file(fresh, tmp_path / f"d.{suffix}")
        assert (result.entries, result.days) == (8, 2)
        assert fresh.observations() == ws.observations()
        assert fresh.adherence() == ws.adherence()


def test_reimport_of_own_export_changes_nothing(ws: Workspace, tmp_path: Path) -> None:
    diary.log_day(ws, PERIOD_DAY, FULL, took="yes")
    tidy.export(ws, tmp_path / "d.csv")
    result = tidy.import_file(ws, tmp_path / "d.csv")
    assert (result.entries, result.unchanged) == (0, 4)


def test_import_wrong_header(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("date,outcome,value,colour\n")
    assert _problems(ws, path) == (
        "in.csv: wrong header (missing columns day, period, block, arm, adherence; unknown "
        "column colour): the columns must be date,day,period,block,arm,outcome,value,adherence"
    )


def test_import_lists_every_problem_and_writes_nothing(ws: Workspace, tmp_path: Path) -> None:
    future = TODAY + dt.timedelta(days=1)
    path = _csv(
        tmp_path,
        f"{START},1,,,,peak_pain,3,",  # fine on its own
        "2026/01/01,1,,,,peak_pain,3,",
        f"{START},1,,,,pain,3,",
        f"{START},1,,,,severity,awful,",
        f"{future},,,,,peak_pain,3,",
        f"{START},2,,,,headache_day,yes,",
        f"{START},1,,,,peak_pain,5,",
        f"{PERIOD_DAY},,,,,peak_pain,3,sometimes",
    )
    assert _problems(ws, path) == (
        "7 problems in in.csv, nothing was imported:\n"
        "  - line 3: date must be YYYY-MM-DD (got '2026/01/01')\n"
        "  - line 4: unknown outcome 'pain' (this protocol has: headache_day, peak_pain, "
        "severity, acute_med_days)\n"
        "  - line 5: severity must be one of 0=none, 1=mild, 2=moderate, 3=severe (got 'awful')\n"
        f"  - line 6: date {future} is in the future\n"
        f"  - line 7: day 2 does not match the schedule for {START} (1)\n"
        f"  - line 8: duplicate row for {START} peak_pain (first at line 2)\n"
        "  - line 9: took must be yes, no or partial (got 'sometimes')"
    )


def test_import_date_outside_trial(ws: Workspace, tmp_path: Path) -> None:
    before = START - dt.timedelta(days=1)
    message = _problems(ws, _csv(tmp_path, f"{before},,,,,peak_pain,3,"))
    assert f"line 2: date {before} is outside the trial ({START} to " in message


def test_import_wrong_pack_code_names_the_scheduled_pack(ws: Workspace, tmp_path: Path) -> None:
    # the pack of each day is what `nof1 today` shows the patient; which arm it is stays hidden
    day = ws.schedule.day(PERIOD_DAY)
    assert day is not None and day.arm is not None
    right = ws.schedule.codes[day.arm]
    wrong = "Pack 2" if right == "Pack 1" else "Pack 1"
    message = _problems(ws, _csv(tmp_path, f"{PERIOD_DAY},,,,{wrong},peak_pain,3,yes"))
    assert message.endswith(
        f"line 2: arm '{wrong}' does not match the schedule for {PERIOD_DAY} ('{right}')"
    )


def test_import_open_trial_wrong_arm_letter(make_workspace: MakeWorkspace, tmp_path: Path) -> None:
    folder = make_workspace(
        "open", replace=[("blinded = true", "blinded = false")], start_trial=True
    )
    with Workspace.open(folder) as ws:
        day = ws.schedule.day(PERIOD_DAY)
        assert day is not None and day.arm is not None
        wrong = "B" if day.arm == "A" else "A"
        message = _problems(ws, _csv(tmp_path, f"{PERIOD_DAY},,,,{wrong},peak_pain,3,yes"))
        assert message.endswith(
            f"line 2: arm '{wrong}' does not match the schedule for {PERIOD_DAY} ('{day.arm}')"
        )


def test_import_accepts_code_or_arm(ws: Workspace, tmp_path: Path) -> None:
    day = ws.schedule.day(PERIOD_DAY)
    assert day is not None and day.arm is not None
    code = ws.schedule.codes[day.arm]
    result = tidy.import_file(ws, _csv(tmp_path, f"{PERIOD_DAY},16,1,1,{code},peak_pain,3,yes"))
    assert result.entries == 1


def test_import_conflicting_adherence(ws: Workspace, tmp_path: Path) -> None:
    message = _problems(
        ws,
        _csv(tmp_path, f"{PERIOD_DAY},,,,,peak_pain,3,yes", f"{PERIOD_DAY},,,,,severity,1,no"),
    )
    assert f"line 3: adherence 'no' differs from 'yes' for {PERIOD_DAY} at line 2" in message


def test_import_conflict_with_stored_value(ws: Workspace, tmp_path: Path) -> None:
    diary.log_day(ws, PERIOD_DAY, FULL, took="yes")
    message = _problems(ws, _csv(tmp_path, f"{PERIOD_DAY},,,,,peak_pain,9,"))
    assert f"{PERIOD_DAY} peak_pain is already logged as 4.5: correct it with" in message


def test_import_extra_cells(ws: Workspace, tmp_path: Path) -> None:
    message = _problems(ws, _csv(tmp_path, f"{START},1,,,,peak_pain,3,,oops"))
    assert message.endswith("line 2: more cells than columns")


def test_import_invalid_json(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "in.json").write_text("{nope")
    assert _problems(ws, tmp_path / "in.json").startswith("in.json is not valid JSON")


def test_import_missing_file(ws: Workspace, tmp_path: Path) -> None:
    assert _problems(ws, tmp_path / "none.csv") == f"import file not found: {tmp_path / 'none.csv'}"


def test_import_before_start(workspace: Path, tmp_path: Path) -> None:
    with Workspace.open(workspace) as w, pytest.raises(EntryError, match="before `nof1 start`"):
        tidy.import_file(w, _csv(tmp_path, f"{START},1,,,,peak_pain,3,"))


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=DAYS_AGO),
            st.sampled_from(["headache_day", "peak_pain", "severity", "acute_med_days"]),
            st.one_of(st.integers(-2, 12).map(str), st.sampled_from(["yes", "x", "", "0.5"])),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_import_is_all_or_nothing(ws: Workspace, tmp_path: Path, rows: list) -> None:  # type: ignore[type-arg]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(tidy.COLUMNS)
    for offset, outcome, value in rows:
        writer.writerow([START + dt.timedelta(days=offset), "", "", "", "", outcome, value, ""])
    path = tmp_path / "prop.csv"
    path.write_text(buffer.getvalue())
    before = len(ws.observations())
    try:
        result = tidy.import_file(ws, path)
    except EntryError:
        assert len(ws.observations()) == before
    else:
        assert len(ws.observations()) == before + result.entries
