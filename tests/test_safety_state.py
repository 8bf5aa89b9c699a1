"""Safety state follows the trial: after a stop, a serious adverse event or a met stopping rule,
nothing tells the patient to take the trial intervention; reviews of met rules are recorded,
validated and shown. Each test is named after what it attacks."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import DAYS_AGO, MakeWorkspace
from nof1 import diary, diary_safety
from nof1.cli import app
from nof1.errors import EntryError
from nof1.ical import calendar_bytes
from nof1.store import Store
from nof1.workspace import Workspace

TODAY = dt.date.today()
START = TODAY - dt.timedelta(days=DAYS_AGO)  # today: period 1, day 7 (run-in is 14 days)
FULL = ["headache_day=yes", "peak_pain=4", "severity=mild", "acute_med_days=1"]
PAIN9 = ["headache_day=yes", "peak_pain=9", "severity=severe", "acute_med_days=1"]
ARM_WORDS = ("magnesium", "placebo", "Magnesium", "Placebo")


def run(folder: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, [*args, "--trial", str(folder)])


def ok(folder: Path, *args: str):  # type: ignore[no-untyped-def]
    result = run(folder, *args)
    assert result.exit_code == 0, result.output
    return result


def writes(folder: Path) -> int:
    with Store.open(folder / "nof1.sqlite", create=False) as store:
        return store.count("audit")


def says_take_the_pack(text: str) -> bool:
    return "take Pack" in text or "— take " in text


def pain_rule_met(folder: Path) -> None:
    """Pain 9 on three logged days in a row (period 1, days 2-4): the threshold rule is met."""
    for back in (18, 17, 16):
        day = (TODAY - dt.timedelta(days=back)).isoformat()
        ok(folder, "log", "--date", day, *PAIN9, "--took", "yes")


def serious_event(folder: Path) -> None:
    ok(folder, "event", "--description", "fainted", "--severity", "severe", "--serious")


# -- today / status after a stop, a serious event or a met rule -----------------------------


def test_today_after_stop_never_says_take_the_pack(started: Path) -> None:
    ok(started, "stop", "--reason", "felt unwell", "--date", "yesterday")
    out = ok(started, "today").stdout
    assert not says_take_the_pack(out)
    assert "The trial was stopped on" in out and "Do not take the trial intervention" in out
    assert "contact your supervising clinician" in out
    assert "Next: period" not in out


def test_status_after_stop_never_says_take_the_pack(started: Path) -> None:
    ok(started, "stop", "--reason", "felt unwell")
    result = ok(started, "status")
    assert not says_take_the_pack(result.stdout)
    assert "Do not take the trial intervention" in result.stdout
    assert "contact your supervising clinician" in result.stdout


def test_today_after_serious_event_says_do_not_take_and_contact_clinician(started: Path) -> None:
    serious_event(started)
    out = ok(started, "today").stdout
    assert not says_take_the_pack(out)
    assert "STOPPING RULE MET" in out
    assert "do not take it; contact your supervising clinician now" in out
    assert "nof1 review --rule serious_adverse_event" in out


def test_status_with_unreviewed_rule_has_no_take_instruction(started: Path) -> None:
    pain_rule_met(started)
    result = ok(started, "status")
    assert not says_take_the_pack(result.stdout)
    assert "A stopping rule is met" in result.stdout
    assert "STOPPING RULE MET" in result.stderr


def test_rule_met_on_a_run_in_day_says_call_the_clinician(make_workspace: MakeWorkspace) -> None:
    folder = make_workspace(start=TODAY - dt.timedelta(days=3), start_trial=True)
    serious_event(folder)
    out = ok(folder, "today").stdout
    assert "There is no trial intervention to stop yet (run-in)" in out
    assert "call your supervising clinician" in out
    assert "Stop the trial intervention" not in out
    status = ok(folder, "status")
    assert "There is no trial intervention to stop yet (run-in)" in status.stdout


def test_blinded_rule_met_messages_never_name_an_arm(started: Path) -> None:
    pain_rule_met(started)
    text = ok(started, "today").output + ok(started, "status").output
    for word in ARM_WORDS:
        assert word not in text


def test_today_view_has_nothing_to_take_after_stop(started: Path) -> None:
    ok(started, "stop", "--reason", "felt unwell")
    with Workspace.open(started) as ws:
        view = diary.today(ws, TODAY)
        earlier = diary.today(ws, TODAY - dt.timedelta(days=3))
    assert view.take is None and view.safety == "stopped" and view.stopped_on == TODAY
    assert earlier.take is not None  # the plan of a day before the stop is history
    assert earlier.lines[-1] == f"(The trial was stopped later, on {TODAY}.)"


def test_today_after_the_end_of_a_stopped_trial_says_stopped_early(started: Path) -> None:
    ok(started, "stop", "--reason", "felt unwell")
    with Workspace.open(started) as ws:
        view = diary.today(ws, ws.schedule.end + dt.timedelta(days=1))
    assert "the trial was stopped early on" in view.lines[0]


# -- log after a stop ----------------------------------------------------------------------


def test_log_took_yes_after_stop_warns(started: Path) -> None:
    ok(started, "stop", "--reason", "felt unwell", "--date", "yesterday")
    result = ok(started, "log", *FULL, "--took", "yes")
    assert "Warning: --took yes for " in result.stderr
    assert "after the trial was stopped on" in result.stderr
    assert "contact your supervising clinician" in result.stderr


def test_log_took_no_after_stop_does_not_warn(started: Path) -> None:
    ok(started, "stop", "--reason", "felt unwell", "--date", "yesterday")
    result = ok(started, "log", *FULL, "--took", "no")
    assert "Warning: --took" not in result.stderr


def test_log_took_yes_on_a_day_before_the_stop_does_not_warn(started: Path) -> None:
    ok(started, "stop", "--reason", "felt unwell")
    result = ok(started, "log", "--date", "yesterday", *FULL, "--took", "yes")
    assert "Warning: --took" not in result.stderr


# -- the calendar after a stop ---------------------------------------------------------------


def test_calendar_after_stop_has_no_future_periods(started: Path, tmp_path: Path) -> None:
    ok(started, "stop", "--reason", "felt unwell")
    out = tmp_path / "trial.ics"
    result = ok(started, "calendar", str(out))
    assert "1 period, the run-in" in result.stdout
    text = out.read_text(encoding="utf-8")
    assert "N-of-1 period 2" not in text
    assert "N-of-1 period 1: Pack" in text and "(stopped early)" in text
    assert "N-of-1 trial stopped" in text
    until = (TODAY.strftime("%Y%m%d")) + "T235959"
    assert f"UNTIL={until}" in text


def test_calendar_after_stop_keeps_the_past() -> None:
    folder_text = Path(__file__).resolve().parents[1] / "protocols" / "migraine-pregnenolone.toml"
    from nof1.protocol import TrialProtocol, set_design_values
    from nof1.schedule import build_schedule

    text = set_design_values(
        folder_text.read_text(encoding="utf-8"), {"start_date": START, "seed": 1}
    )
    protocol = TrialProtocol.from_text(text)
    schedule = build_schedule(protocol)
    stop = schedule.periods[1].start + dt.timedelta(days=2)  # period 2, day 3
    ics = calendar_bytes(protocol, schedule, stopped=stop).decode()
    assert "N-of-1 run-in" in ics and "N-of-1 period 1:" in ics
    assert "washout after period 1" in ics
    assert "N-of-1 period 2:" in ics and "N-of-1 period 3" not in ics
    assert "washout after period 2" not in ics
    full = calendar_bytes(protocol, schedule).decode()
    assert "N-of-1 period 3" in full and "trial stopped" not in full


# -- nof1 review: bad input writes nothing -------------------------------------------------


def test_review_unknown_rule_lists_the_rule_names(started: Path) -> None:
    pain_rule_met(started)
    before = writes(started)
    result = run(started, "review", "--rule", "pain", "--by", "Dr X", "--decision", "continue")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: unknown stopping rule 'pain': --rule must be one of serious_adverse_event, "
        "peak_pain_threshold (or its number, 1 to 2)\n"
    )
    assert writes(started) == before


@pytest.mark.parametrize("by", ["", "   "])
def test_review_empty_by_writes_nothing(started: Path, by: str) -> None:
    pain_rule_met(started)
    before = writes(started)
    result = run(
        started, "review", "--rule", "peak_pain_threshold", "--by", by, "--decision", "stop"
    )
    assert result.exit_code == 1
    assert result.stderr == (
        'Error: --by is empty: say who reviewed the rule, e.g. --by "Dr Jones"\n'
    )
    assert writes(started) == before
    with Workspace.open(started) as ws:
        assert ws.stopped is None


@pytest.mark.parametrize("decision", ["", "maybe", "continue;stop", "STOPPED"])
def test_review_bad_decision_writes_nothing(started: Path, decision: str) -> None:
    pain_rule_met(started)
    before = writes(started)
    result = run(
        started, "review", "--rule", "peak_pain_threshold", "--by", "Dr X", "--decision", decision
    )
    assert result.exit_code == 1
    assert result.stderr == f"Error: --decision must be continue or stop (got {decision!r})\n"
    assert writes(started) == before


def test_review_rule_not_met_writes_nothing(started: Path) -> None:
    pain_rule_met(started)
    before = writes(started)
    result = run(
        started, "review", "--rule", "serious_adverse_event", "--by", "Dr X", "--decision", "stop"
    )
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: stopping rule serious_adverse_event is not met, so there is nothing to review "
        "(rules met now: peak_pain_threshold)\n"
    )
    assert writes(started) == before


def test_review_control_characters_in_by_are_refused(started: Path) -> None:
    pain_rule_met(started)
    before = writes(started)
    result = run(
        started, "review", "--rule", "1", "--by", "Dr X\x1b[2J\u202e", "--decision", "continue"
    )
    assert result.exit_code == 1
    assert "--by contains control or formatting characters (U+001B, U+202E)" in result.stderr
    assert "\x1b" not in result.stderr
    assert writes(started) == before


def test_review_huge_note_is_refused(started: Path) -> None:
    serious_event(started)
    with Workspace.open(started) as ws, pytest.raises(EntryError, match="--note is too long"):
        diary_safety.review_rule(ws, "serious_adverse_event", "Dr X", "continue", "x" * 5000)


def test_review_before_start_is_refused(workspace: Path) -> None:
    result = run(workspace, "review", "--rule", "1", "--by", "Dr X", "--decision", "continue")
    assert result.exit_code == 1
    assert "nothing to review before `nof1 start`" in result.stderr
    assert not (workspace / "nof1.sqlite").exists()


# -- nof1 review: what it records and quiets -----------------------------------------------


def test_review_continue_quiets_the_banner_to_one_line(started: Path) -> None:
    pain_rule_met(started)
    result = ok(
        started,
        "review",
        "--rule",
        "peak_pain_threshold",
        "--by",
        "Dr X",
        "--decision",
        "continue",
        "--note",
        "pain settled",
    )
    assert "reviewed by Dr X: continue" in result.stdout
    line = "Stopping rule peak_pain_threshold (met on "
    status = ok(started, "status")
    assert "STOPPING RULE MET" not in status.output and "!!!!" not in status.output
    assert status.stderr.count(line) == 1
    assert "— take Pack" in status.stdout
    today = ok(started, "today").stdout
    assert today.count(line) == 1 and "take Pack" in today
    event = ok(started, "event", "--description", "rash", "--severity", "mild")
    assert event.stderr.count(line) == 1 and "!!!!" not in event.stderr
    log = ok(started, "log", "--date", "yesterday", *FULL, "--took", "yes")
    assert log.stderr.count(line) == 1 and "!!!!" not in log.stderr


def test_new_evidence_after_a_review_is_loud_again(started: Path) -> None:
    serious_event(started)
    ok(
        started,
        "review",
        "--rule",
        "serious_adverse_event",
        "--by",
        "Dr X",
        "--decision",
        "continue",
    )
    assert "STOPPING RULE MET" not in ok(started, "status").stderr
    result = ok(
        started, "event", "--description", "fainted again", "--severity", "severe", "--serious"
    )
    assert "STOPPING RULE MET" in result.stderr
    assert not says_take_the_pack(ok(started, "today").stdout)


def test_review_stop_records_the_stop(started: Path) -> None:
    serious_event(started)
    result = ok(
        started, "review", "--rule", "serious_adverse_event", "--by", "Dr X", "--decision", "stop"
    )
    assert "The trial is stopped (last trial day" in result.stdout
    with Workspace.open(started) as ws:
        stop = ws.stopped
        assert stop is not None and stop.date == TODAY
        assert "reviewed by Dr X: stop" in stop.reason
        audit = [a.target for a in ws.store.audit()]
    assert audit[-2:] == ["reviews", "stops"]
    assert not says_take_the_pack(ok(started, "today").stdout)


def test_review_stop_of_an_already_stopped_trial_records_only_the_review(started: Path) -> None:
    serious_event(started)
    ok(started, "stop", "--reason", "fainted", "--date", "yesterday")
    result = ok(started, "review", "--rule", "1", "--by", "Dr X", "--decision", "stop")
    assert "The trial was already stopped" in result.stdout
    with Workspace.open(started) as ws:
        assert len(ws.store.stops()) == 1 and len(ws.store.reviews()) == 1


def test_reviews_are_append_only(started: Path) -> None:
    serious_event(started)
    ok(started, "review", "--rule", "1", "--by", "Dr X", "--decision", "continue")
    conn = sqlite3.connect(started / "nof1.sqlite")
    try:
        with pytest.raises(sqlite3.DatabaseError, match="reviews is append-only"):
            conn.execute("UPDATE reviews SET decision = 'stop'")
        with pytest.raises(sqlite3.DatabaseError, match="reviews is append-only"):
            conn.execute("DELETE FROM reviews")
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(
                "INSERT INTO reviews (at, rule, met_on, evidence, by, decision, command) "
                "VALUES ('x', 'r', '2026-01-01', '', 'Dr X', 'maybe', 'sql')"
            )
    finally:
        conn.close()


def test_protocol_without_a_serious_event_rule_still_stops_on_one(
    make_workspace: MakeWorkspace,
) -> None:
    folder = make_workspace(
        replace=[
            (
                '[[stopping_rules]]\nkind = "serious_adverse_event"\n',
                '[[stopping_rules]]\nkind = "adverse_events"\ncount = 5\n',
            )
        ],
        start_trial=True,
    )
    result = ok(folder, "event", "--description", "fainted", "--severity", "severe", "--serious")
    assert "STOPPING RULE MET: A serious adverse event" in result.stderr
    assert not says_take_the_pack(ok(folder, "today").stdout)


def test_log_after_stop_does_not_demand_took(started: Path) -> None:
    ok(started, "stop", "--reason", "felt unwell", "--date", "yesterday")
    result = ok(started, "log", *FULL)
    assert "took" not in result.stdout
    before = run(started, "log", "--date", (TODAY - dt.timedelta(days=2)).isoformat(), *FULL)
    assert before.exit_code == 1 and "--took" in before.stderr  # before the stop: still asked


def test_back_dated_serious_event_after_a_review_is_loud_again(started: Path) -> None:
    serious_event(started)
    ok(started, "review", "--rule", "1", "--by", "Dr X", "--decision", "continue")
    earlier = (TODAY - dt.timedelta(days=10)).isoformat()
    result = ok(
        started, "event", "--date", earlier, "--description", "fell", "--severity", "severe",
        "--serious",
    )  # fmt: skip
    assert "STOPPING RULE MET" in result.stderr


def test_correction_that_unmeets_a_reviewed_rule_stays_in_the_timeline(started: Path) -> None:
    pain_rule_met(started)
    ok(started, "review", "--rule", "peak_pain_threshold", "--by", "Dr X", "--decision", "continue")
    day = (TODAY - dt.timedelta(days=17)).isoformat()
    ok(started, "log", "--date", day, "peak_pain=2", "--correct", "--reason", "typo")
    with Workspace.open(started) as ws:
        assert diary_safety.safety(ws).state == diary_safety.OK
        [entry] = diary_safety.timeline(
            ws.protocol, ws.observations(), ws.adverse_events(), ws.store.reviews()
        )
    assert entry.name == "peak_pain_threshold" and entry.reviews[0].by == "Dr X"
    assert "no longer met" in entry.reason


def test_threshold_evidence_grows_with_a_longer_bad_run(started: Path) -> None:
    pain_rule_met(started)
    with Workspace.open(started) as ws:
        [first] = diary_safety.current(ws)
    ok(
        started,
        "log",
        "--date",
        (TODAY - dt.timedelta(days=15)).isoformat(),
        *PAIN9,
        "--took",
        "yes",
    )
    with Workspace.open(started) as ws:
        [second] = diary_safety.current(ws)
    assert first.met_on == second.met_on
    assert len(second.evidence) == len(first.evidence) + 1


def test_review_huge_rule_name_is_not_echoed_in_full(started: Path) -> None:
    serious_event(started)
    result = run(started, "review", "--rule", "x" * 100_000, "--by", "Dr X", "--decision", "stop")
    assert result.exit_code == 1
    assert "unknown stopping rule 'xxxx" in result.stderr and "(100000 characters)" in result.stderr
    assert len(result.stderr) < 400
