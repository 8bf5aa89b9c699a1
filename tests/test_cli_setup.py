"""Setup commands through typer's CliRunner: exit codes, output, and exact error text."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import icalendar
import pytest
from typer.testing import CliRunner

from helpers import invoke
from nof1.protocol import TrialProtocol
from nof1.workspace import Workspace, next_monday

START = dt.date(2026, 12, 7)  # magnesium, seed 20261201: ABBAABAB, A = Pack 2, B = Pack 1
SEED = 20261201
runner = CliRunner()


def run(*args: object) -> tuple[int, str, str]:
    result = invoke(*args)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def blinded(make_workspace) -> Path:  # type: ignore[no-untyped-def]
    return make_workspace("mg", start=START, seed=SEED)


@pytest.fixture
def blinded_started(make_workspace) -> Path:  # type: ignore[no-untyped-def]
    return make_workspace("mg", start=START, seed=SEED, start_trial=True)


@pytest.fixture
def sleep(make_workspace) -> Path:  # type: ignore[no-untyped-def]
    return make_workspace("sleep", start=START, seed=SEED, template="migraine-sleep")


def assert_no_arm_names(text: str) -> None:
    assert "magnesium" not in text.lower()
    assert "placebo" not in text.lower()


# --------------------------------------------------------------------------------------------
# templates and init
# --------------------------------------------------------------------------------------------


def test_templates_lists_names_with_descriptions() -> None:
    code, out, _ = run("templates")
    assert code == 0
    lines = out.splitlines()
    names = [line.split()[0] for line in lines]
    assert names == ["migraine-magnesium", "migraine-pregnenolone", "migraine-sleep"]
    assert "oral magnesium vs identical placebo" in lines[0]
    assert "N-of-1 trial template" not in out


def test_init_creates_workspace_with_seed_start_and_comments(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "trial"
    code, out, _ = run(
        "init",
        folder,
        "--template",
        "migraine-magnesium",
        "--start",
        "2026-12-07",
        "--seed",
        "42",
    )
    assert code == 0
    text = (folder / "protocol.toml").read_text(encoding="utf-8")
    assert "# Why an N-of-1 trial" in text  # comments kept
    protocol = TrialProtocol.from_text(text)
    assert protocol.design.seed == 42
    assert protocol.design.start_date == START
    assert (folder / "reports").is_dir()
    assert out.startswith(
        f"Created {folder / 'protocol.toml'} from migraine-magnesium (start 2026-12-07, seed 42)."
    )


def test_init_draws_seed_from_os_entropy_and_starts_next_monday(tmp_path: Path) -> None:
    seeds = []
    for name in ("t", "u"):
        code, out, _ = run("init", tmp_path / name, "--template", "migraine-sleep")
        assert code == 0
        protocol = TrialProtocol.from_toml(tmp_path / name / "protocol.toml")
        seeds.append(protocol.design.seed)
        assert f"seed {protocol.design.seed})." in out
    assert all(s is not None and 0 <= s < 2**63 for s in seeds)
    assert seeds[0] != seeds[1]  # 63 random bits each: equal once in 9e18 runs
    start = protocol.design.start_date
    assert start is not None and start.weekday() == 0
    assert 1 <= (start - dt.date.today()).days <= 7


@pytest.mark.parametrize(
    ("today", "monday"),
    [
        (dt.date(2026, 11, 30), dt.date(2026, 12, 7)),  # Monday → a week later
        (dt.date(2026, 12, 6), dt.date(2026, 12, 7)),  # Sunday → tomorrow
        (dt.date(2026, 12, 2), dt.date(2026, 12, 7)),
    ],
)
def test_next_monday(today: dt.date, monday: dt.date) -> None:
    assert next_monday(today) == monday


def test_init_refuses_to_overwrite_a_protocol(blinded: Path) -> None:
    before = (blinded / "protocol.toml").read_text(encoding="utf-8")
    code, out, error = run("init", blinded, "--template", "migraine-sleep")
    assert code == 1
    assert error == (
        f"Error: {blinded / 'protocol.toml'} already exists: nof1 init never overwrites a "
        "protocol (choose a new folder, or edit the existing protocol.toml)\n"
    )
    assert (blinded / "protocol.toml").read_text(encoding="utf-8") == before


def test_init_unknown_template(tmp_path: Path) -> None:
    code, _, error = run("init", tmp_path / "x", "--template", "migraine-coffee")
    assert code == 1
    assert error == (
        "Error: unknown template 'migraine-coffee' (available: migraine-magnesium, "
        "migraine-pregnenolone, migraine-sleep; see `nof1 templates`)\n"
    )
    assert not (tmp_path / "x").exists()


def test_init_bad_start_date(tmp_path: Path) -> None:
    code, _, error = run("init", tmp_path / "x", "--template", "migraine-sleep", "--start", "soon")
    assert code == 1
    assert error == "Error: --start must be a date like 2026-12-07 or today (got 'soon')\n"
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("word", ["today", "Today", " TODAY "])
def test_init_start_today(tmp_path: Path, word: str) -> None:
    code, out, error = run("init", tmp_path / "x", "--template", "migraine-sleep", "--start", word)
    assert code == 0, error
    assert f"(start {dt.date.today().isoformat()}, seed " in out


def test_init_negative_seed_is_a_usage_error(tmp_path: Path) -> None:
    code, _, _ = run("init", tmp_path / "x", "--template", "migraine-sleep", "--seed", "-1")
    assert code == 2


def test_init_accepts_a_protocol_file_path(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[1] / "protocols" / "migraine-sleep.toml"
    code, _, _ = run("init", tmp_path / "x", "--template", source, "--seed", "1")
    assert code == 0
    assert TrialProtocol.from_toml(tmp_path / "x" / "protocol.toml").trial_id == "migraine-sleep"


def test_init_pregnenolone_lists_what_is_needed_before_start(tmp_path: Path) -> None:
    code, out, _ = run("init", tmp_path / "p", "--template", "migraine-pregnenolone")
    assert code == 0
    assert "Before `nof1 start` can lock the trial:" in out
    assert "supervision.clinician is empty" in out
    assert "supervision.signed_off is missing" in out


# --------------------------------------------------------------------------------------------
# today
# --------------------------------------------------------------------------------------------


def test_today_before_the_trial(blinded: Path) -> None:
    code, out, _ = run("today", "-t", blinded, "--date", "2026-12-01")
    assert code == 0
    assert "2026-12-01: the trial has not begun. Day 1 is 2026-12-07 (in 6 days)." in out


def test_today_run_in(blinded: Path) -> None:
    code, out, _ = run("today", "-t", blinded, "--date", "2026-12-08")
    assert code == 0
    assert "Run-in (baseline) day 2 of 14: take neither pack yet" in out
    assert "Next: period 1 from 2026-12-21: Pack 2." in out


def test_today_blinded_period_shows_the_pack_only(blinded_started: Path) -> None:
    code, out, error = run("today", "--trial", blinded_started, "--date", "2026-12-28")
    assert code == 0, error
    assert "2026-12-28: trial day 22 of 238." in out
    assert "Period 1 of 8 (block 1), day 8 of 28: take Pack 2, evening." in out
    assert "Analytic washout" not in out
    assert "not locked" not in out
    assert_no_arm_names(out + error)


def test_today_marks_analytic_washout_days(blinded: Path) -> None:
    code, out, _ = run("today", "-t", blinded, "--date", "2026-12-21")
    assert code == 0
    assert "day 1 of 28: take Pack 2, evening." in out
    assert "Analytic washout (days 1–7 of each period)" in out
    assert "Note: the trial is not locked yet" in out


def test_today_physical_washout(make_workspace) -> None:  # type: ignore[no-untyped-def]
    folder = make_workspace("p", start=START, seed=SEED, template="migraine-pregnenolone")
    # run-in 14 days, period 1 = days 15-42, washout = days 43-49
    code, out, _ = run("today", "-t", folder, "--date", "2027-01-19")
    assert code == 0
    assert "Washout day 2 of 7 after period 1: take neither pack; keep logging" in out
    assert_no_arm_names(out.replace("Pregnenolone", ""))
    assert "pregnenolone" not in out.lower()


def test_today_open_trial_names_the_arm(sleep: Path) -> None:
    code, out, _ = run("today", "-t", sleep, "--date", "2026-12-28")
    assert code == 0
    assert "take Usual sleep, as you normally would." in out


def test_today_after_the_end(blinded: Path) -> None:
    code, out, _ = run("today", "-t", blinded, "--date", "2027-08-02")
    assert code == 0
    assert "the trial ended on 2027-08-01 (day 238). Run `nof1 report`" in out


@pytest.mark.parametrize("date", ["2026-12-01", "2026-12-08", "2026-12-21", "2026-12-28"])
def test_today_prints_exactly_the_library_view_lines(blinded_started: Path, date: str) -> None:
    from nof1 import diary

    code, out, _ = run("today", "-t", blinded_started, "--date", date)
    with Workspace.open(blinded_started) as ws:
        view = diary.today(ws, dt.date.fromisoformat(date))
    assert code == 0
    assert out == "".join(f"{line}\n" for line in view.lines)


def test_today_bad_date(blinded: Path) -> None:
    code, _, error = run("today", "-t", blinded, "--date", "2027-02-30")
    assert code == 1
    assert error == "Error: --date must be a date like 2026-12-07 (got '2027-02-30')\n"


def test_today_outside_a_workspace(tmp_path: Path) -> None:
    code, _, error = run("today", "-t", tmp_path)
    assert code == 1
    assert error == (
        f"Error: {tmp_path / 'protocol.toml'} not found: this folder is not a trial workspace "
        "(create one with `nof1 init DIR --template NAME`, or pass --trial DIR)\n"
    )


def test_today_without_seed_says_how_to_fix(make_workspace) -> None:  # type: ignore[no-untyped-def]
    folder = make_workspace("noseed", start=START, seed=None)
    code, _, error = run("today", "-t", folder)
    assert code == 1
    assert error.startswith("Error: design.seed missing: the schedule needs both")


# --------------------------------------------------------------------------------------------
# schedule
# --------------------------------------------------------------------------------------------


def test_schedule_blinded_shows_codes_only(blinded: Path) -> None:
    code, out, error = run("schedule", "-t", blinded)
    assert code == 0
    assert_no_arm_names(out + error)
    assert "ABBAABAB" not in out and str(SEED) not in out
    rows = [line.split() for line in out.splitlines() if line[:1].isdigit()]
    assert [" ".join(r[6:8]) for r in rows] == [
        "Pack 2",
        "Pack 1",
        "Pack 1",
        "Pack 2",
        "Pack 2",
        "Pack 1",
        "Pack 2",
        "Pack 1",
    ]
    assert "Period  Block  Dates" in out and "Pack" in out and "Analysed from" in out
    assert "1       1      2026-12-21 – 2027-01-17  28    Pack 2      2026-12-28" in out
    assert "run-in         2026-12-07 – 2026-12-20  14" in out


def test_schedule_open_shows_arms_seed_and_sequence(sleep: Path) -> None:
    code, out, _ = run("schedule", "-t", sleep)
    assert code == 0
    assert "Scheme: pairwise (each block AB or BA at random), randomized" in out
    assert f"Seed: {SEED}" in out
    assert "Regular sleep schedule" in out and "Usual sleep" in out


def test_schedule_fixed_is_marked_not_randomized(make_workspace) -> None:  # type: ignore[no-untyped-def]
    folder = make_workspace(
        "fixed",
        start=START,
        template="migraine-sleep",
        replace=[('scheme = "pairwise"', 'scheme = "fixed"')],
    )
    code, out, _ = run("schedule", "-t", folder)
    assert code == 0
    assert "Scheme: fixed ABAB order — NOT RANDOMIZED" in out
    assert "NOT RANDOMIZED: the fixed order" in out


def test_schedule_physical_washouts_are_rows(make_workspace) -> None:  # type: ignore[no-untyped-def]
    folder = make_workspace("p", start=START, seed=SEED, template="migraine-pregnenolone")
    code, out, _ = run("schedule", "-t", folder)
    assert code == 0
    assert sum(line.startswith("washout") for line in out.splitlines()) == 5


def test_every_workspace_command_prints_lock_warnings_to_stderr(blinded_started: Path) -> None:
    path = blinded_started / "protocol.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("period_days = 28", "period_days = 21"),
        encoding="utf-8",
    )
    for args in (
        ("today",),
        ("schedule",),
        ("calendar", blinded_started / "c.ics"),
        ("allocation", "--export", blinded_started / "a.txt"),
    ):
        code, out, error = run(*args, "-t", blinded_started)
        assert code == 0, (args, error)
        assert error.startswith(
            "Warning: protocol.toml no longer matches the locked protocol: locked section design "
            "changed."
        ), args
        assert "Warning" not in out


# --------------------------------------------------------------------------------------------
# calendar
# --------------------------------------------------------------------------------------------


def test_calendar_writes_a_parseable_ics(blinded: Path, tmp_path: Path) -> None:
    target = tmp_path / "trial.ics"
    code, out, _ = run("calendar", target, "-t", blinded, "--reminder", "07:30")
    assert code == 0
    assert out == f"Wrote {target}: 8 periods, the run-in and a daily reminder at 07:30.\n"
    cal = icalendar.Calendar.from_ical(target.read_bytes())
    assert len(cal.walk("VEVENT")) == 10
    assert_no_arm_names(target.read_text(encoding="utf-8"))


def test_calendar_without_reminder(sleep: Path, tmp_path: Path) -> None:
    code, out, _ = run("calendar", tmp_path / "c.ics", "-t", sleep, "--no-reminder")
    assert code == 0
    assert out == f"Wrote {tmp_path / 'c.ics'}: 6 periods, the run-in.\n"


def test_calendar_bad_reminder_time(sleep: Path, tmp_path: Path) -> None:
    code, _, error = run("calendar", tmp_path / "c.ics", "-t", sleep, "--reminder", "8pm")
    assert code == 1
    assert error == "Error: --reminder must be a time like 20:00 (got '8pm')\n"
    assert not (tmp_path / "c.ics").exists()


# --------------------------------------------------------------------------------------------
# allocation
# --------------------------------------------------------------------------------------------


def test_allocation_needs_a_flag(blinded: Path) -> None:
    code, _, error = run("allocation", "-t", blinded)
    assert code == 1
    assert error == (
        "Error: choose --export FILE (the sealed list for whoever prepares the packs) or "
        "--reveal (shows the allocation to the patient and records it)\n"
    )


def test_allocation_export_and_reveal_together_is_an_error(blinded: Path, tmp_path: Path) -> None:
    code, _, error = run("allocation", "-t", blinded, "--export", tmp_path / "a", "--reveal")
    assert code == 1
    assert error == "Error: use --export FILE or --reveal, not both\n"


def test_allocation_export_csv_maps_codes_to_arms(blinded_started: Path, tmp_path: Path) -> None:
    target = tmp_path / "sealed.csv"
    code, out, _ = run("allocation", "-t", blinded_started, "--export", target)
    assert code == 0
    assert out == (
        f"Wrote the sealed allocation to {target}.\n"
        "Give it to Community pharmacist only; do not open it yourself.\n"
    )
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert "".join(r["arm"] for r in rows) == "ABBAABAB"
    assert [r["code"] for r in rows] == ["Pack 2" if r["arm"] == "A" else "Pack 1" for r in rows]
    assert [r["treatment"] for r in rows][:2] == ["Placebo", "Magnesium"]
    assert rows[0]["start"] == "2026-12-21" and rows[0]["end"] == "2027-01-17"
    # exporting does not reveal: patient-facing output still shows codes
    _, out, _ = run("schedule", "-t", blinded_started)
    assert_no_arm_names(out)


def test_allocation_export_text(blinded_started: Path, tmp_path: Path) -> None:
    target = tmp_path / "sealed.txt"
    code, _, _ = run("allocation", "-t", blinded_started, "--export", target)
    assert code == 0
    text = target.read_text(encoding="utf-8")
    assert text.startswith("SEALED ALLOCATION for Community pharmacist — do not show")
    assert (
        "Pack 1 = Magnesium, as agreed with your clinician, evening (intervention, arm B)" in text
    )
    assert "Period  1 (block 1): 2026-12-21 – 2027-01-17  Pack 2 = Placebo" in text


def test_allocation_export_before_start_warns(blinded: Path, tmp_path: Path) -> None:
    code, _, error = run("allocation", "-t", blinded, "--export", tmp_path / "a.txt")
    assert code == 0
    assert error.startswith("Warning: the trial is not locked yet")


def test_reveal_before_start_is_refused(blinded: Path) -> None:
    code, out, error = run("allocation", "-t", blinded, "--reveal")
    assert code == 1
    assert error == (
        "Error: the trial has not started: run `nof1 start` first (it locks the protocol and "
        "the schedule)\n"
    )
    assert_no_arm_names(out)


def test_reveal_shows_the_allocation_and_is_recorded(blinded_started: Path) -> None:
    code, out, error = run(
        "allocation", "-t", blinded_started, "--reveal", "--by", "Dr Jones", "--reason",
        "suspected side effect", "--early", "--yes",
    )  # fmt: skip
    assert code == 0
    assert out.startswith("Allocation revealed (recorded, by Dr Jones: suspected side effect).")
    assert "Pack 1 = Magnesium" in out and "Pack 2 = Placebo" in out
    assert error.startswith("Warning: early reveal") or dt.date.today() > dt.date(2027, 8, 1)
    with Workspace.open(blinded_started) as ws:
        info = ws.lock_info()
        assert info is not None
        assert [(r.by, r.reason) for r in info.reveals] == [("Dr Jones", "suspected side effect")]
    # once revealed, patient-facing output names the arms next to the codes
    _, out, _ = run("schedule", "-t", blinded_started)
    assert "Placebo (Pack 2)" in out and "allocation revealed" in out


def test_reveal_of_an_open_trial_is_refused(make_workspace) -> None:  # type: ignore[no-untyped-def]
    folder = make_workspace("s", start=START, template="migraine-sleep", start_trial=True)
    code, _, error = run("allocation", "-t", folder, "--reveal")
    assert code == 1
    assert error == "Error: this trial is not blinded: there is no allocation to reveal\n"


# --------------------------------------------------------------------------------------------
# help
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", ["templates", "init", "today", "schedule", "calendar", "allocation"]
)
def test_help_is_useful(command: str) -> None:
    code, out, _ = run(command, "--help")
    assert code == 0
    assert "Usage:" in out
    if command not in ("templates", "init"):
        assert "--trial" in out and "-t" in out
