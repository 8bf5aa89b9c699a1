"""Amendments cannot rewrite the past; `history` and `export` read any stored value.

* The past-days check compares what each arm *is* on every past or logged day (letter, name,
  dose, timing, category, pack code), not only the letters.
* An amendment that would make stored values invalid is refused, listing them.
* Rows written straight into SQLite (values out of range, unknown outcomes, undefined categories,
  text in the number column, huge values) never crash `nof1 history` or `nof1 export`.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import DAYS_AGO, MakeWorkspace, template_text
from nof1 import diary
from nof1.cli import app
from nof1.errors import LockError
from nof1.protocol import TrialProtocol, set_design_values
from nof1.schedule import build_schedule
from nof1.workspace import Workspace
from nof1.workspace_amend import MAX_LISTED_VALUES

PAIN_PART = (
    'analyse = "when_asked"            # intensity when present: analysed on headache days only\n'  # noqa: E501
)
SEVERITY_PART = (
    'analyse = "when_asked"            # severity when present: analysed on headache days only\n'  # noqa: E501
)

runner = CliRunner()
TODAY = dt.date.today()
START = TODAY - dt.timedelta(days=DAYS_AGO)  # 14 run-in days; today is day 7 of period 1
PERIOD_1 = START + dt.timedelta(days=14)
FULL = {"headache_day": "yes", "peak_pain": "4.5", "severity": "mild", "acute_med_days": "1"}
OPEN = [("blinded = true", "blinded = false")]
COMPARATOR = (
    '[comparator]                      # arm A\nname = "Placebo"\ndose = "identical capsule"'
)
INTERVENTION = (
    '[intervention]                    # arm B\nname = "Magnesium"\n'
    'dose = "as agreed with your clinician"'
)


def run(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def edit(folder: Path, old: str, new: str) -> None:
    path = folder / "protocol.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def refusal(folder: Path, reason: str = "change") -> str:
    with Workspace.open(folder) as ws:
        before = (len(ws.store.amendments()), ws.store.count("audit"))
        with pytest.raises(LockError) as info:
            ws.amend(reason)
        assert (len(ws.store.amendments()), ws.store.count("audit")) == before
    return str(info.value)


def log_days(folder: Path, days: int, *, start: dt.date = START, **values: str) -> None:
    with Workspace.open(folder) as ws:
        for offset in range(days):
            diary.log_day(ws, start + dt.timedelta(days=offset), dict(FULL, **values), took="yes")


@pytest.fixture
def open_trial(make_workspace: MakeWorkspace) -> Path:
    return make_workspace("open", replace=OPEN, start_trial=True)


def period_1_arm(folder: Path) -> str:
    with Workspace.open(folder) as ws:
        arm = ws.schedule.periods[0].arm
    return arm


# --------------------------------------------------------------------------------------------
# what each arm is, on every past day
# --------------------------------------------------------------------------------------------


def test_amend_swapping_arm_tables_is_refused(open_trial: Path) -> None:
    text = (open_trial / "protocol.toml").read_text(encoding="utf-8")
    a_start, b_start = text.index("[comparator]"), text.index("[intervention]")
    end = text.index("[supervision]")
    a_body = text[a_start:b_start].split("\n", 1)[1]
    b_body = text[b_start:end].split("\n", 1)[1]
    swapped = text[:a_start] + "[comparator]\n" + b_body + "[intervention]\n" + a_body + text[end:]
    (open_trial / "protocol.toml").write_text(swapped, encoding="utf-8")
    code, out, error = run("amend", "-t", open_trial, "--reason", "tables were the wrong way round")
    assert code == 1 and out == ""
    arm = period_1_arm(open_trial)
    names = {"A": "'Placebo'", "B": "'Magnesium'"}
    other = {"A": "'Magnesium'", "B": "'Placebo'"}
    last = TODAY.isoformat()
    assert (
        f"it changes what was taken in period 1 on 7 days already past or logged "
        f"({PERIOD_1.isoformat()} – {last}): name {names[arm]} → {other[arm]}"
    ) in error
    assert "category" in error and "dose" in error
    with Workspace.open(open_trial) as ws:
        assert ws.store.amendments() == []


def test_amend_swapping_arm_tables_while_blinded_is_refused(started: Path) -> None:
    edit(started, 'name = "Placebo"', 'name = "Magnesium!"')
    edit(started, 'name = "Magnesium"', 'name = "Placebo"')
    edit(started, 'name = "Magnesium!"', 'name = "Magnesium"')
    message = refusal(started)
    assert (
        "it changes what was taken on trial days already past or logged (comparator.name "
        "'Placebo' → 'Magnesium'; intervention.name 'Magnesium' → 'Placebo')"
    ) in message
    assert "the affected days are not named" in message
    assert PERIOD_1.isoformat() not in message


@pytest.mark.parametrize(
    ("field", "old", "new"),
    [
        ("dose", None, 'dose = "double"'),
        ("timing", 'timing = "evening"', 'timing = "morning"'),
        ("category", None, 'category = "otc_drug"'),
    ],
)
def test_amend_changing_what_a_past_arm_was_is_refused(
    open_trial: Path, field: str, old: str | None, new: str
) -> None:
    arm = period_1_arm(open_trial)
    table_text = COMPARATOR if arm == "A" else INTERVENTION
    head = table_text.split("\n")[0]
    text = (open_trial / "protocol.toml").read_text(encoding="utf-8")
    start = text.index(head)
    end = text.index("\n[", start + 1)
    section = text[start:end]
    line = next(ln for ln in section.split("\n") if ln.startswith(f"{field} = "))
    (open_trial / "protocol.toml").write_text(
        text[:start] + section.replace(line, new) + text[end:], encoding="utf-8"
    )
    message = refusal(open_trial)
    assert "it changes what was taken in period 1 on 7 days already past or logged" in message
    assert f"{field} {line.split(' = ', 1)[1].split('#')[0].strip()!r}".replace('"', "") in (
        message.replace('"', "")
    )


def test_amend_changing_an_arm_not_yet_taken_is_allowed_in_an_open_trial(
    open_trial: Path,
) -> None:
    untaken = "B" if period_1_arm(open_trial) == "A" else "A"
    if untaken == "A":
        edit(open_trial, 'dose = "identical capsule"', 'dose = "two identical capsules"')
    else:
        edit(open_trial, 'dose = "as agreed with your clinician"', 'dose = "300 mg"')
    with Workspace.open(open_trial) as ws:
        ws.amend("dose agreed before the first period of this arm")
        assert ws.protocol.arm(untaken).dose in ("two identical capsules", "300 mg")


def test_amend_changing_arms_during_run_in_is_allowed(make_workspace: MakeWorkspace) -> None:
    begin = TODAY - dt.timedelta(days=5)
    folder = make_workspace(start=begin, start_trial=True)  # in the run-in
    log_days(folder, 5, start=begin)
    edit(folder, 'dose = "as agreed with your clinician"', 'dose = "300 mg"')
    with Workspace.open(folder) as ws:
        assert ws.amend("dose fixed before the first period").sections == ("intervention",)


def test_amend_arm_notes_are_not_what_the_arm_is(started: Path) -> None:
    edit(started, 'notes = "Capsules identical', 'notes = "Blister packs, capsules identical')
    with Workspace.open(started) as ws:
        assert ws.amend("clarified the packaging").sections == ("intervention",)


def test_amend_reassigning_past_days_names_the_days(started: Path) -> None:
    edit(started, "run_in_days = 14", "run_in_days = 10")
    message = refusal(started)
    first = START + dt.timedelta(days=10)
    assert (
        f"it changes the plan (phase, period, day of period) of 11 days already past or logged "
        f"({first.isoformat()} – {TODAY.isoformat()})"
    ) in message
    assert "already past" in message


def test_amend_future_days_only_is_allowed(started: Path) -> None:
    edit(started, "blocks = 4", "blocks = 5")
    with Workspace.open(started) as ws:
        ws.amend("one more block")
        assert len(ws.schedule.periods) == 10


# --------------------------------------------------------------------------------------------
# stored values must stay valid
# --------------------------------------------------------------------------------------------


def test_amend_narrowing_a_range_lists_the_values(started: Path) -> None:
    log_days(started, 13, peak_pain="9.5")
    edit(started, 'min = 0\nmax = 10\nunits = "points', 'min = 0\nmax = 8\nunits = "points')
    message = refusal(started)
    assert "it makes 13 stored values invalid" in message
    assert f"{START.isoformat()} peak_pain = 9.5: peak_pain must be a number 0–8 (got 9.5)" in (
        message
    )
    assert message.count("peak_pain = 9.5") == MAX_LISTED_VALUES
    assert message.endswith(f"... and {13 - MAX_LISTED_VALUES} more")


def test_amend_removing_a_category_in_use_is_refused(started: Path) -> None:
    log_days(started, 2, severity="severe")
    edit(
        started,
        'categories = ["none", "mild", "moderate", "severe"]',
        'categories = ["none", "mild", "moderate"]',
    )
    edit(started, SEVERITY_PART, "")  # on headache days 2 categories could not be analysed
    message = refusal(started)
    assert (
        f"{START.isoformat()} severity = 3 (severe): category 3 is not defined (categories: "
        "0=none, 1=mild, 2=moderate)"
    ) in message


def test_amend_renaming_a_category_in_use_is_refused(started: Path) -> None:
    log_days(started, 1, severity="moderate")
    edit(started, '"moderate", "severe"]', '"bad", "severe"]')
    message = refusal(started)
    assert "severity = 2 (moderate): category 2 changes from 'moderate' to 'bad'" in message


def test_amend_adding_a_category_at_the_end_is_allowed(started: Path) -> None:
    log_days(started, 3, severity="severe")
    edit(started, '"moderate", "severe"]', '"moderate", "severe", "disabling"]')
    with Workspace.open(started) as ws:
        assert ws.amend("a worse category was needed").sections == ("outcomes",)


def test_amend_widening_a_range_is_allowed(started: Path) -> None:
    log_days(started, 3, peak_pain="9.5")
    edit(started, 'min = 0\nmax = 10\nunits = "points', 'min = 0\nmax = 12\nunits = "points')
    with Workspace.open(started) as ws:
        ws.amend("wider scale")


def test_amend_removing_an_outcome_with_values_is_refused(started: Path) -> None:
    log_days(started, 2)
    text = (started / "protocol.toml").read_text(encoding="utf-8")
    start = text.index('[[outcomes]]\nname = "acute_med_days"')
    end = text.index("[analysis]")
    (started / "protocol.toml").write_text(text[:start] + text[end:], encoding="utf-8")
    message = refusal(started)
    assert "it makes 2 stored values invalid" in message
    assert f"{START.isoformat()} acute_med_days = 1: outcome 'acute_med_days' is not in the " in (
        message
    )


def test_amend_changing_an_outcome_kind_is_refused(started: Path) -> None:
    log_days(started, 2)
    edit(started, 'name = "acute_med_days"', 'name = "acute_med_days"\n#')
    edit(started, 'kind = "count"', 'kind = "continuous"')
    message = refusal(started)
    assert "acute_med_days = 1: its kind changes from count to continuous" in message


def test_amend_without_stored_values_may_change_outcomes(started: Path) -> None:
    edit(started, 'min = 0\nmax = 10\nunits = "points', 'min = 0\nmax = 5\nunits = "points')
    with Workspace.open(started) as ws:
        ws.amend("narrower scale before any value")


def test_amend_lists_every_problem_at_once(started: Path) -> None:
    log_days(started, DAYS_AGO, peak_pain="9.5")
    edit(started, "run_in_days = 14", "run_in_days = 10")
    edit(started, 'dose = "identical capsule"', 'dose = "other"')
    edit(started, 'min = 0\nmax = 10\nunits = "points', 'min = 0\nmax = 8\nunits = "points')
    message = refusal(started)
    assert message.startswith("this amendment cannot be recorded, nothing was changed (3 problems)")


def test_amend_ignores_values_already_invalid(started: Path) -> None:
    # a value written outside nof1 is not this amendment's doing: it does not block it
    insert_entries(started, [(START.isoformat(), "peak_pain", 42.0, "2026-01-01T00:00:00+00:00")])
    edit(started, "mcid = 1.5\nmin = 0", "mcid = 1.2\nmin = 0")
    with Workspace.open(started) as ws:
        ws.amend("larger MCID")


# --------------------------------------------------------------------------------------------
# history and export read whatever is stored
# --------------------------------------------------------------------------------------------


def insert_entries(folder: Path, rows: list[tuple[str, str, object, str]]) -> None:
    """Append rows straight into SQLite, as a hostile editor would (the store is append-only)."""
    conn = sqlite3.connect(folder / "nof1.sqlite", isolation_level=None)
    try:
        for date, outcome, value, recorded_at in rows:
            conn.execute(
                # a reason: the database refuses a second value for one day without one
                "INSERT INTO entries (date, outcome, value, recorded_at, reason, command) "
                "VALUES (?, ?, ?, ?, 'edited outside nof1', 'sqlite3')",
                (date, outcome, value, recorded_at),
            )
    finally:
        conn.close()


HOSTILE: list[tuple[str, object]] = [
    ("peak_pain", 15.0),  # outside the range
    ("no_such_outcome", 3.0),  # unknown outcome
    ("severity", 7.0),  # category no longer defined
    ("headache_day", 0.5),  # binary neither 0 nor 1
    ("acute_med_days", -3.0),  # negative count
    ("peak_pain", "NaN"),  # NaN-like text
    ("peak_pain", "abc"),  # text in the number column
    ("peak_pain", "9" * 400_000),  # huge text
    ("peak_pain", 1e308),  # huge number
    ("peak_pain", "-inf"),
    ("x" * 5000, 1.0),  # huge outcome name
]


@pytest.fixture
def hostile(started: Path) -> Path:
    day = START.isoformat()
    rows = [(day, name, value, "2026-01-01T00:00:00+00:00") for name, value in HOSTILE]
    rows.append((day, "peak_pain", 3.0, "not a timestamp"))
    # the same values on separate days, so each is the value in force somewhere (export)
    rows += [
        ((START + dt.timedelta(days=i + 1)).isoformat(), name, value, "2026-01-01T00:00:00Z")
        for i, (name, value) in enumerate(HOSTILE)
    ]
    insert_entries(started, rows)
    return started


def test_history_never_crashes_on_stored_values(hostile: Path) -> None:
    code, out, error = run("history", START.isoformat(), "-t", hostile)
    assert code == 0, error
    assert error == ""
    lines = out.splitlines()
    assert lines[0] == f"History of {START.isoformat()}:"
    assert len(lines) == 1 + len(HOSTILE) + 1
    assert "peak_pain = 15  (does not fit the protocol: peak_pain must be a number 0–10" in out
    assert (
        "no_such_outcome = 3  (does not fit the protocol: outcome 'no_such_outcome' is not" in out
    )
    assert "severity = 7  (does not fit the protocol: category 7 is not defined" in out
    assert out.count("(unreadable stored value)") == 2  # "abc", "NaN"
    assert "peak_pain = inf" in out and "peak_pain = -inf" in out and "1e+308" in out
    assert f"{'x' * 40}… = 1" in out
    assert "'not a timestamp'  peak_pain = 3" in out
    assert max(len(line) for line in lines) < 400


def test_history_of_a_day_after_a_category_was_removed(started: Path) -> None:
    insert_entries(started, [(START.isoformat(), "severity", 3.0, "2026-01-01T00:00:00Z")])
    code, out, _ = run("history", START.isoformat(), "-t", started)
    assert code == 0 and "severity = 3 (severe)" in out


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_export_never_crashes_on_stored_values(hostile: Path, tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"out.{suffix}"
    code, out, error = run("export", target, "-t", hostile)
    assert code == 0, error
    # in force: 6 outcomes on the first day (peak_pain = 3 is fine), one per later day
    assert out == f"Wrote {6 + len(HOSTILE)} rows to {target}\n"
    assert error.startswith(
        f"Warning: {5 + len(HOSTILE)} exported values do not fit the protocol in force and were "
        "exported as stored, e.g. "
    )
    assert len(error) < 1000
    text = target.read_text(encoding="utf-8")
    if suffix == "json":
        rows = json.loads(text)["rows"]
        assert {r["outcome"] for r in rows} >= {"no_such_outcome", "peak_pain", "severity"}


def test_export_row_with_a_garbage_date_is_a_clear_error(started: Path, tmp_path: Path) -> None:
    insert_entries(started, [("yesterday", "peak_pain", 3.0, "2026-01-01T00:00:00Z")])
    code, out, error = run("export", tmp_path / "out.csv", "-t", started)
    assert code == 1
    assert error.startswith("Error: entries row 1 has date 'yesterday', which is not a date")
    assert "Traceback" not in error


# --------------------------------------------------------------------------------------------
# checks happen inside the write transaction
# --------------------------------------------------------------------------------------------


def test_amend_sees_a_value_logged_after_it_opened_the_workspace(started: Path) -> None:
    edit(started, 'min = 0\nmax = 10\nunits = "points', 'min = 0\nmax = 8\nunits = "points')
    with Workspace.open(started) as amending:
        amending.changed_sections()  # the amending process has read the store already
        with Workspace.open(started) as other:
            store = other.store
            with store.transaction("log"):  # a concurrent `nof1 log` of an out-of-range value
                store.add_entry(START, "peak_pain", 9.0)
        with pytest.raises(LockError, match="it makes 1 stored value invalid"):
            amending.amend("narrower scale")


def test_amend_twice_from_stale_workspaces_records_one(started: Path) -> None:
    edit(started, "mcid = 1.5\nmin = 0", "mcid = 1.2\nmin = 0")
    first, second = Workspace.open(started), Workspace.open(started)
    try:
        assert first.changed_sections() == second.changed_sections() == ["outcomes"]
        first.amend("larger MCID")
        with pytest.raises(LockError, match="nothing to amend"):
            second.amend("larger MCID")
        assert len(second.store.amendments()) == 1
    finally:
        first.close()
        second.close()


def test_amend_moving_the_start_date_mid_trial_is_refused(started: Path) -> None:
    edit(started, f"start_date = {START.isoformat()}", f"start_date = {TODAY.isoformat()}")
    message = refusal(started)
    assert f"of {DAYS_AGO + 1} days already past or logged ({START.isoformat()} – " in message


def test_amend_new_seed_in_an_open_trial_names_the_reassigned_period(
    make_workspace: MakeWorkspace,
) -> None:
    folder = make_workspace("open", replace=OPEN, seed=1, start_trial=True)
    with Workspace.open(folder) as ws:
        first = ws.schedule.periods[0].arm
    seed = next(s for s in range(2, 200) if _first_arm(s) != first)  # period 1: other arm
    edit(folder, "seed = 1\n", f"seed = {seed}\n")
    message = refusal(folder)
    other = "B" if first == "A" else "A"
    assert "it changes what was taken in period 1 on 7 days already past or logged" in message
    assert f"arm {first} becomes arm {other}" in message


def _first_arm(seed: int) -> str:
    text = template_text().replace("blinded = true", "blinded = false")
    protocol = TrialProtocol.from_text(
        set_design_values(text, {"start_date": START, "seed": seed}), source="t"
    )
    return build_schedule(protocol).periods[0].arm


# -- which days an outcome is analysed on (analyse = "when_asked" / "every_day") --------------


def test_amend_refuses_switching_pain_to_every_day_after_values_are_stored(started: Path) -> None:
    log_days(started, 3)
    edit(started, PAIN_PART, "")
    message = refusal(started)
    assert message == (
        "this amendment cannot be recorded, nothing was changed (1 problem):\n"
        "  - it changes which days peak_pain is analysed on, from only the days it is asked "
        '(analyse = "when_asked", headache_day == yes) to every day (0 when skipped), after 3 '
        "stored values: what its verdict is about (mean over every day, or intensity when "
        "present) must be fixed before the data are seen. Undo the analyse/ask_if/skipped_value "
        "edit (a new question needs a new outcome name)"
    )


def test_amend_refuses_switching_severity_to_every_day_after_values_are_stored(
    started: Path,
) -> None:
    log_days(started, 2)
    edit(started, SEVERITY_PART, "")
    message = refusal(started)
    assert (
        "it changes which days severity is analysed on, from only the days it is asked "
        "(analyse = \"when_asked\", headache_day == yes) to every day ('none' when skipped)"
    ) in message
    assert "after 2 stored values" in message


def test_amend_refuses_dropping_ask_if_from_a_when_asked_outcome_with_values(
    started: Path,
) -> None:
    log_days(started, 1)
    edit(started, 'ask_if = "headache_day == yes"   # asked only on headache days\n', "")
    edit(started, PAIN_PART, "")
    edit(started, "skipped_value = 0                 # for the diary", "# for the diary")
    message = refusal(started)
    assert "from only the days it is asked" in message and "to every day, after 1 stored" in message


def test_amend_may_change_analysed_days_before_any_value_of_that_outcome(started: Path) -> None:
    edit(started, PAIN_PART, "")
    with Workspace.open(started) as ws:
        ws.amend("pain over every day, decided before any pain was logged")
        assert not ws.protocol.outcome("peak_pain").when_asked
