"""Diary: parsing, validation (nothing written on error), corrections, events, stopping rules,
status."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DAYS_AGO, MakeWorkspace
from nof1 import diary
from nof1.errors import EntryError, LockError
from nof1.protocol import OutcomeSpec
from nof1.workspace import Workspace

TODAY = dt.date.today()
START = TODAY - dt.timedelta(days=DAYS_AGO)
RUN_IN_DAY = START + dt.timedelta(days=2)
PERIOD_DAY = START + dt.timedelta(days=15)  # period 1, day 2
FULL = {"headache_day": "yes", "peak_pain": "4", "severity": "mild", "acute_med_days": "1"}
QUIET = {"headache_day": "no", "peak_pain": "0", "severity": "none", "acute_med_days": "0"}


def _written(ws: Workspace) -> int:
    return ws.store.count("audit")


@pytest.fixture
def ws(started: Path) -> Workspace:
    w = Workspace.open(started)
    yield w
    w.close()


# -- parsing ------------------------------------------------------------------------------


def test_parse_date_words() -> None:
    day = dt.date(2026, 5, 10)
    assert diary.parse_date("today", today=day) == day
    assert diary.parse_date("Yesterday", today=day) == dt.date(2026, 5, 9)
    assert diary.parse_date("2026-01-02") == dt.date(2026, 1, 2)


@pytest.mark.parametrize("text", ["2026-13-01", "01/02/2026", "tomorrow", "2026-1-2", ""])
def test_parse_date_rejects(text: str) -> None:
    with pytest.raises(EntryError, match="date must be YYYY-MM-DD, today or yesterday"):
        diary.parse_date(text)


def test_parse_pairs_converts_every_kind(ws: Workspace) -> None:
    assert diary.parse_pairs(ws.protocol, [f"{k}={v}" for k, v in FULL.items()]) == {
        "headache_day": 1.0,
        "peak_pain": 4.0,
        "severity": 1.0,
        "acute_med_days": 1.0,
    }


def test_parse_pairs_unknown_outcome(ws: Workspace) -> None:
    with pytest.raises(EntryError) as info:
        diary.parse_pairs(ws.protocol, ["pain=3"])
    assert str(info.value) == (
        "unknown outcome 'pain' (this protocol has: headache_day, peak_pain, severity, "
        "acute_med_days)"
    )


def test_parse_pairs_without_equals(ws: Workspace) -> None:
    with pytest.raises(EntryError, match="'peak_pain' is not name=value"):
        diary.parse_pairs(ws.protocol, ["peak_pain"])


def test_parse_pairs_twice(ws: Workspace) -> None:
    with pytest.raises(EntryError, match="peak_pain is given twice"):
        diary.parse_pairs(ws.protocol, ["peak_pain=1", "peak_pain=2"])


def test_parse_took_aliases() -> None:
    assert [diary.parse_took(t) for t in ("Y", "no", "partial", "1")] == [
        "yes",
        "no",
        "partial",
        "yes",
    ]


def test_parse_took_rejects() -> None:
    with pytest.raises(EntryError, match="took must be yes, no or partial \\(got 'maybe'\\)"):
        diary.parse_took("maybe")


PAIN = OutcomeSpec("pain", "continuous", "q", "lower", 1.0, minimum=0, maximum=10)
COUNT = OutcomeSpec("doses", "count", "q", "lower", 1.0, minimum=0, maximum=10)


@given(st.floats(min_value=0, max_value=10))
def test_value_inside_scale_is_accepted(value: float) -> None:
    assert diary.parse_value(PAIN, repr(value)) == pytest.approx(value)


@given(st.floats(allow_nan=True).filter(lambda v: not 0 <= v <= 10))
def test_value_outside_scale_is_refused(value: float) -> None:
    with pytest.raises(EntryError, match="pain must be a number 0–10"):
        diary.parse_value(PAIN, repr(value))


@given(st.text().filter(lambda t: _not_number(t)))
def test_text_where_a_number_is_expected_is_refused(text: str) -> None:
    with pytest.raises(EntryError, match="pain"):
        diary.parse_value(PAIN, text)


def _not_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return True
    return False


@given(st.integers(min_value=0, max_value=10), st.sampled_from([0.25, 0.5, 0.75]))
def test_fractional_count_is_refused(whole: int, fraction: float) -> None:
    with pytest.raises(EntryError, match="doses must be a whole number 0–10"):
        diary.parse_value(COUNT, str(whole + fraction))


# -- logging ------------------------------------------------------------------------------


def test_log_records_values_and_adherence(ws: Workspace) -> None:
    result = diary.log_day(ws, PERIOD_DAY, FULL, took="yes", note="slept badly")
    assert result.day.phase == "period"
    assert {o.outcome: o.value for o in ws.observations()}["peak_pain"] == 4.0
    assert [(a.date, a.took) for a in ws.adherence()] == [(PERIOD_DAY, "yes")]
    assert ws.store.history(PERIOD_DAY).notes[0].text == "slept badly"


def test_run_in_day_needs_no_adherence(ws: Workspace) -> None:
    diary.log_day(ws, RUN_IN_DAY, FULL)
    assert ws.adherence() == []


def test_period_day_without_adherence_is_refused(ws: Workspace) -> None:
    with pytest.raises(EntryError, match="--took is missing: did you take today's Pack"):
        diary.log_day(ws, PERIOD_DAY, FULL)
    assert _written(ws) == 1  # only the lock


def test_missing_outcome_is_refused(ws: Workspace) -> None:
    values = dict(FULL)
    del values["severity"]
    with pytest.raises(EntryError) as info:
        diary.log_day(ws, RUN_IN_DAY, values)
    assert str(info.value) == (
        "missing value for severity: give it as name=value, e.g. severity=mild"
    )
    assert _written(ws) == 1


def test_bad_value_writes_nothing(ws: Workspace) -> None:
    with pytest.raises(EntryError, match=r"peak_pain must be a number 0–10 \(got 11\)"):
        diary.log_day(ws, RUN_IN_DAY, {**FULL, "peak_pain": "11"})
    assert _written(ws) == 1


def test_category_outside_list_is_refused(ws: Workspace) -> None:
    with pytest.raises(EntryError, match="severity must be one of 0=none, 1=mild"):
        diary.log_day(ws, RUN_IN_DAY, {**FULL, "severity": "awful"})


def test_future_date_is_refused(ws: Workspace) -> None:
    tomorrow = TODAY + dt.timedelta(days=1)
    with pytest.raises(EntryError) as info:
        diary.log_day(ws, tomorrow, FULL, took="yes")
    assert str(info.value) == (
        f"date {tomorrow} is in the future (today is {TODAY}): log a day once it has happened"
    )


def test_date_before_start_is_refused(ws: Workspace) -> None:
    before = START - dt.timedelta(days=1)
    with pytest.raises(EntryError, match=f"date {before} is before the trial starts"):
        diary.log_day(ws, before, FULL)


def test_date_after_end_is_refused(make_workspace: MakeWorkspace) -> None:
    folder = make_workspace(start=TODAY - dt.timedelta(days=400), start_trial=True)
    with Workspace.open(folder) as w:
        with pytest.raises(EntryError, match="is after the trial ended"):
            diary.log_day(w, TODAY, FULL)


def test_logging_before_start_is_refused(workspace: Path) -> None:
    with Workspace.open(workspace) as w:
        with pytest.raises(EntryError, match="nothing can be logged before `nof1 start`"):
            diary.log_day(w, RUN_IN_DAY, FULL)
    assert not (workspace / "nof1.sqlite").exists()


def test_logging_with_unamended_locked_edit_is_refused(ws: Workspace, started: Path) -> None:
    path = started / "protocol.toml"
    path.write_text(path.read_text().replace("mcid = 1.5", "mcid = 2.5"))
    with Workspace.open(started) as edited, pytest.raises(LockError, match="nof1 amend"):
        diary.log_day(edited, RUN_IN_DAY, FULL)


def test_relogging_a_day_is_refused(ws: Workspace) -> None:
    diary.log_day(ws, RUN_IN_DAY, FULL)
    with pytest.raises(EntryError, match=f"{RUN_IN_DAY} is already logged"):
        diary.log_day(ws, RUN_IN_DAY, FULL)
    assert ws.store.count("entries") == 4


def test_correction_needs_reason(ws: Workspace) -> None:
    diary.log_day(ws, RUN_IN_DAY, FULL)
    with pytest.raises(EntryError, match='--correct needs --reason "why the value changed"'):
        diary.log_day(ws, RUN_IN_DAY, {"peak_pain": "5"}, correct=True)


def test_correction_of_unlogged_day_is_refused(ws: Workspace) -> None:
    with pytest.raises(EntryError, match="has nothing to correct"):
        diary.log_day(ws, RUN_IN_DAY, {"peak_pain": "5"}, correct=True, reason="x")


def test_correction_keeps_history_and_newest_counts(ws: Workspace) -> None:
    diary.log_day(ws, RUN_IN_DAY, FULL)
    diary.log_day(ws, RUN_IN_DAY, {"peak_pain": "6"}, correct=True, reason="typo")
    assert {o.outcome: o.value for o in ws.observations()}["peak_pain"] == 6.0
    history = [
        (e.value, e.reason)
        for e in ws.store.history(RUN_IN_DAY).entries
        if e.outcome == "peak_pain"
    ]
    assert history == [(4.0, ""), (6.0, "typo")]


# -- events and stopping rules ------------------------------------------------------------


def test_event_is_recorded(ws: Workspace) -> None:
    result = diary.record_event(ws, PERIOD_DAY, "loose stools", "mild", action="none")
    assert ws.adverse_events() == [result.event]
    assert result.triggered == ()


def test_event_without_description_is_refused(ws: Workspace) -> None:
    with pytest.raises(EntryError, match="--description is empty"):
        diary.record_event(ws, PERIOD_DAY, "  ", "mild")
    assert _written(ws) == 1


def test_event_with_bad_severity_is_refused(ws: Workspace) -> None:
    with pytest.raises(EntryError, match="--severity must be mild, moderate or severe"):
        diary.record_event(ws, PERIOD_DAY, "rash", "awful")


def test_serious_event_triggers_stopping_rule(ws: Workspace) -> None:
    result = diary.record_event(ws, PERIOD_DAY, "fainted", "severe", serious=True)
    [rule] = result.triggered
    assert rule.new
    assert rule.rule.kind == "serious_adverse_event"
    assert "call your clinician" in rule.message


def test_outcome_threshold_rule_needs_consecutive_logged_days(ws: Workspace) -> None:
    bad = {**FULL, "peak_pain": "9"}
    results = [
        diary.log_day(ws, START + dt.timedelta(days=i), bad if i != 1 else FULL) for i in range(4)
    ]
    assert [len(r.triggered) for r in results] == [0, 0, 0, 0]
    result = diary.log_day(ws, START + dt.timedelta(days=5), bad)  # day 4 unlogged: no reset
    [rule] = result.triggered
    assert rule.new and "peak_pain ≥ 9 on 3 logged day(s) in a row" in rule.reason


def test_adverse_events_rule_counts_severity(make_workspace: MakeWorkspace) -> None:
    folder = make_workspace(
        replace=[
            (
                '[[stopping_rules]]\nkind = "serious_adverse_event"',
                '[[stopping_rules]]\nkind = "adverse_events"\ncount = 2\nseverity = "moderate"',
            )
        ],
        start_trial=True,
    )
    with Workspace.open(folder) as w:
        assert diary.record_event(w, PERIOD_DAY, "a", "moderate").triggered == ()
        assert diary.record_event(w, PERIOD_DAY, "b", "mild").triggered == ()
        [rule] = diary.record_event(w, PERIOD_DAY, "c", "severe").triggered
        assert rule.reason == "2 adverse events of severity moderate or worse"


# -- status -------------------------------------------------------------------------------


def test_status_counts_logged_missing_and_adherence(ws: Workspace) -> None:
    diary.log_day(ws, PERIOD_DAY, FULL, took="partial")
    s = diary.status(ws)
    assert s.day is not None and s.day.period == 1
    assert s.label in ("Pack 1", "Pack 2")
    first = s.periods[0]
    assert (first.elapsed, first.logged, first.missing) == (7, 1, 5)
    assert (first.took_yes, first.took_partial, first.took_no) == (0, 1, 0)
    assert s.run_in_missing == 14
    assert s.days_left == (s.end - TODAY).days


def test_status_warns_when_period_too_sparse(make_workspace: MakeWorkspace) -> None:
    folder = make_workspace(start=TODAY - dt.timedelta(days=14 + 28 + 3), start_trial=True)
    with Workspace.open(folder) as w:
        s = diary.status(w)
        assert s.periods[0].sparse
        assert s.warnings[0] == (
            "period 1 has only 0 analysed day(s) logged, fewer than "
            "analysis.min_days_per_period = 3: it will be left out of the analysis"
        )
        assert not s.periods[1].sparse


def test_status_before_start_is_refused(workspace: Path) -> None:
    with Workspace.open(workspace) as w, pytest.raises(EntryError, match="before `nof1 start`"):
        diary.status(w)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(list(FULL)), st.text(max_size=4), min_size=1))
def test_any_rejected_log_writes_nothing(ws: Workspace, values: dict[str, str]) -> None:
    before = _written(ws)
    try:
        diary.log_day(ws, RUN_IN_DAY, values)
    except EntryError:
        assert _written(ws) == before
    else:
        pytest.fail("a partial day must be refused")


# -- today (the words `nof1 today` and the phone diary share) -------------------------------


def test_today_view_period_day_blinded_shows_the_pack_only(ws: Workspace) -> None:
    view = diary.today(ws, PERIOD_DAY)
    assert view.phase == "period"
    assert view.coded
    assert view.take is not None and view.take.startswith("Pack ")
    assert view.phase_day == 2
    assert view.logged is False
    assert view.safety == "ok"
    assert view.lines[0] == f"{PERIOD_DAY}: trial day 16 of {view.total_days}."
    assert f"take {view.take}." in view.lines[1]
    text = " ".join(view.lines) + repr(view)
    for name in (ws.protocol.comparator.name, ws.protocol.intervention.name):
        assert name not in text


def test_today_view_run_in_has_nothing_to_take(ws: Workspace) -> None:
    view = diary.today(ws, RUN_IN_DAY)
    assert view.phase == "run_in"
    assert view.take is None
    assert (view.phase_day, view.phase_days) == (3, 14)
    assert view.next_date == START + dt.timedelta(days=14)


def test_today_view_knows_a_logged_day(ws: Workspace) -> None:
    diary.log_day(ws, RUN_IN_DAY, FULL)
    assert diary.today(ws, RUN_IN_DAY).logged is True


def test_today_view_before_and_after_the_trial(ws: Workspace) -> None:
    before = diary.today(ws, START - dt.timedelta(days=1))
    after = diary.today(ws, ws.schedule.end + dt.timedelta(days=1))
    assert (before.phase, after.phase) == ("before", "after")
    assert before.day is None and before.take is None
    assert "the trial has not begun" in before.lines[0]
    assert "the trial ended" in after.lines[0]


def test_today_view_does_not_create_the_store(workspace: Path) -> None:
    with Workspace.open(workspace) as w:
        view = diary.today(w, START)
    assert view.locked is False
    assert view.lines[0].startswith("Note: the trial is not locked yet")
    assert not (workspace / "nof1.sqlite").exists()
