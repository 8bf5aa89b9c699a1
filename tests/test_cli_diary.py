"""CLI diary commands through typer's CliRunner: exit codes, exact error text, nothing written."""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import DAYS_AGO, MakeWorkspace
from helpers import invoke
from nof1.cli import app
from nof1.store import Store

TODAY = dt.date.today()
START = TODAY - dt.timedelta(days=DAYS_AGO)
FULL = ["headache_day=yes", "peak_pain=4", "severity=mild", "acute_med_days=1"]
COMMANDS = [
    "start",
    "amend",
    "log",
    "event",
    "status",
    "history",
    "backup",
    "verify",
    "restore",
    "export",
    "import",
]


def run(folder: Path, *args: str, input: str | None = None):  # noqa: A002
    return invoke(*args, "--trial", folder, input=input)


def writes(folder: Path) -> int:
    """Rows in the audit trail: every write adds one."""
    with Store.open(folder / "nof1.sqlite", create=False) as store:
        return store.count("audit")


def assert_error(result, message: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines()[-1] == f"Error: {message}" or result.stderr == (
        f"Error: {message}\n"
    )


# -- start / amend ------------------------------------------------------------------------


def test_start_locks(workspace: Path) -> None:
    result = run(workspace, "start")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Trial 'migraine-magnesium' locked: 8 periods from ")


def test_start_lists_problems(make_workspace: MakeWorkspace) -> None:
    folder = make_workspace(seed=None)
    result = run(folder, "start")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: cannot start: fix 1 problem in protocol.toml first:\n"
        "  - design.seed is missing: add a whole number, or re-create the workspace with "
        "`nof1 init` which draws one\n"
    )


def test_amend_without_reason(started: Path) -> None:
    path = started / "protocol.toml"
    path.write_text(path.read_text().replace("mcid = 1.5", "mcid = 2.0"))
    result = run(started, "amend")
    assert_error(
        result, 'an amendment needs a reason: nof1 amend --reason "why the protocol changed"'
    )


def test_amend_with_reason(started: Path) -> None:
    path = started / "protocol.toml"
    path.write_text(path.read_text().replace("mcid = 1.5", "mcid = 2.0"))
    result = run(started, "amend", "--reason", "clinician asked")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Amendment recorded (outcomes): clinician asked")


# -- log: happy paths ---------------------------------------------------------------------


def test_log_today(started: Path) -> None:
    result = run(started, "log", *FULL, "--took", "yes")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"Logged {TODAY} (day 21, period 1 day 7): headache_day=yes, peak_pain=4, "
        "severity=mild, acute_med_days=1, took: yes\n"
    )
    assert result.stderr == ""


def test_log_yesterday(started: Path) -> None:
    result = run(started, "log", "--date", "yesterday", *FULL, "--took", "no")
    assert result.exit_code == 0, result.output
    assert f"Logged {TODAY - dt.timedelta(days=1)} (day 20" in result.stdout


def test_log_prompts_for_missing_values(started: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("nof1.cli.diary._interactive", lambda: True)
    result = run(started, "log", "headache_day=yes", input="eleven\n3\nmild\n0\nyes\n")
    assert result.exit_code == 0, result.output
    assert "What was your worst headache pain today" in result.stdout
    assert "peak_pain: a number 0–10 (e.g. 5)" in result.stdout
    assert "peak_pain must be a number 0–10 (got 'eleven')" in result.stderr
    assert "peak_pain=3, severity=mild, acute_med_days=0, took: yes" in result.stdout


def test_log_does_not_ask_questions_the_answers_skip(
    started: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("nof1.cli.diary._interactive", lambda: True)
    result = run(started, "log", input="no\n0\nyes\n")
    assert result.exit_code == 0, result.output
    assert "Did you have a headache today?" in result.stdout
    assert "worst headache pain" not in result.stdout
    assert "How severe" not in result.stdout
    assert "headache_day=no, acute_med_days=0, took: yes" in result.stdout


def test_log_refuses_a_value_for_a_skipped_question(started: Path) -> None:
    before = writes(started)
    result = run(started, "log", "headache_day=no", "peak_pain=3", "acute_med_days=0", "--took",
                 "yes")  # fmt: skip
    assert_error(
        result,
        "peak_pain is not asked when headache_day is no (the protocol asks it only if "
        "headache_day == yes): leave peak_pain out",
    )
    assert writes(started) == before


def test_log_correction(started: Path) -> None:
    run(started, "log", *FULL, "--took", "yes")
    result = run(started, "log", "--correct", "--reason", "typo", "peak_pain=2")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Corrected {TODAY}")
    history = run(started, "history", "today")
    assert "peak_pain = 4\n" in history.stdout
    assert "peak_pain = 2  correction: typo" in history.stdout


def test_history_of_empty_day(started: Path) -> None:
    result = run(started, "history", "yesterday")
    assert result.stdout == f"Nothing recorded for {TODAY - dt.timedelta(days=1)}.\n"


# -- log: every bad-input class -----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["pain=3"],
            "unknown outcome 'pain' (this protocol has: headache_day, peak_pain, severity, "
            "acute_med_days)",
        ),
        (["peak_pain=11"], "peak_pain must be a number 0–10 (got 11)"),
        (["peak_pain=bad"], "peak_pain must be a number 0–10 (got 'bad')"),
        (
            ["severity=awful"],
            "severity must be one of 0=none, 1=mild, 2=moderate, 3=severe (got 'awful')",
        ),
        (["acute_med_days=1.5"], "acute_med_days must be a whole number 0–10 (got 1.5)"),
        (["headache_day=maybe"], "headache_day must be yes or no (got 'maybe')"),
        (["peak_pain"], "'peak_pain' is not name=value: write e.g. headache_day=yes"),
        (
            ["--date", "01/02/2026"],
            "date must be YYYY-MM-DD, today or yesterday (got '01/02/2026')",
        ),
        (["--took", "sometimes"], "took must be yes, no or partial (got 'sometimes')"),
    ],
)
def test_log_bad_input(started: Path, args: list[str], message: str) -> None:
    base = {a.split("=")[0]: a for a in FULL}
    for a in args:
        if "=" in a:
            base[a.split("=")[0]] = a
    pairs = [a for a in base.values() if a.split("=")[0] not in {x.split("=")[0] for x in args}]
    rest = [a for a in args]
    if "--took" not in args:
        rest += ["--took", "yes"]
    before = writes(started)
    result = run(started, "log", *pairs, *rest)
    assert_error(result, message)
    assert writes(started) == before


def test_log_future_date(started: Path) -> None:
    tomorrow = TODAY + dt.timedelta(days=1)
    result = run(started, "log", "--date", tomorrow.isoformat(), *FULL, "--took", "yes")
    assert_error(
        result,
        f"date {tomorrow} is in the future (today is {TODAY}): log a day once it has happened",
    )
    assert writes(started) == 1


def test_log_before_trial_start(started: Path) -> None:
    day = START - dt.timedelta(days=1)
    result = run(started, "log", "--date", day.isoformat(), *FULL)
    end = START + dt.timedelta(days=14 + 8 * 28 - 1)
    assert_error(
        result,
        f"date {day} is before the trial starts ({START}): use a date from {START} to {end}",
    )


def test_log_after_trial_end(make_workspace: MakeWorkspace) -> None:
    start = TODAY - dt.timedelta(days=300)
    folder = make_workspace(start=start, start_trial=True)
    end = start + dt.timedelta(days=14 + 8 * 28 - 1)
    result = run(folder, "log", *FULL, "--took", "yes")
    assert_error(
        result,
        f"date {TODAY} is after the trial ended ({end}): use a date from {start} to {end}",
    )
    assert writes(folder) == 1


def test_log_day_already_logged(started: Path) -> None:
    run(started, "log", *FULL, "--took", "yes")
    before = writes(started)
    result = run(started, "log", *FULL, "--took", "yes")
    assert_error(
        result,
        f"{TODAY} is already logged: to change a value run `nof1 log --date {TODAY} --correct "
        f'--reason "why" name=value` (`nof1 history {TODAY}` shows what is there)',
    )
    assert writes(started) == before


def test_log_correct_without_reason(started: Path) -> None:
    run(started, "log", *FULL, "--took", "yes")
    result = run(started, "log", "--correct", "peak_pain=2")
    assert_error(result, '--correct needs --reason "why the value changed"')


def test_log_before_start(workspace: Path) -> None:
    result = run(workspace, "log", *FULL)
    assert_error(
        result,
        "nothing can be logged before `nof1 start`: run it first (it locks the protocol and "
        "the schedule)",
    )
    assert not (workspace / "nof1.sqlite").exists()


def test_log_missing_values_without_terminal(started: Path) -> None:
    result = run(started, "log", "headache_day=yes")
    assert_error(
        result,
        "missing values for peak_pain, severity, acute_med_days, --took and no terminal to "
        "ask: give every outcome as name=value and --took yes|no|partial",
    )
    assert writes(started) == 1


def test_log_outside_a_workspace(tmp_path: Path) -> None:
    result = run(tmp_path, "log", *FULL)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {tmp_path / 'protocol.toml'} not found")


# -- lock warnings and the guard ----------------------------------------------------------


def _edit_locked(folder: Path) -> None:
    path = folder / "protocol.toml"
    path.write_text(path.read_text().replace("mcid = 1.5", "mcid = 2.0"))


def test_log_refused_after_unamended_locked_edit(started: Path) -> None:
    _edit_locked(started)
    result = run(started, "log", *FULL, "--took", "yes")
    assert result.exit_code == 1
    assert result.stderr.startswith("Warning: protocol.toml no longer matches the locked protocol")
    assert result.stderr.endswith(
        "Error: protocol.toml changes locked section outcomes since the trial was locked: "
        'record the change with `nof1 amend --reason "why"` or undo the edit in protocol.toml\n'
    )
    assert writes(started) == 1


@pytest.mark.parametrize(
    "args", [["status"], ["history", "today"], ["export", "x.csv"], ["event"], ["amend"]]
)
def test_every_command_warns_about_lock_mismatch(started: Path, args: list[str]) -> None:
    _edit_locked(started)
    if args[0] == "export":
        args = ["export", str(started / "x.csv")]
    result = run(started, *args)
    assert (
        "Warning: protocol.toml no longer matches the locked protocol: locked section "
        "outcomes changed." in result.stderr
    )


# -- event and status ---------------------------------------------------------------------


def test_event_serious_is_loud(started: Path) -> None:
    result = run(started, "event", "--description", "fainted", "--severity", "severe", "--serious")
    assert result.exit_code == 0, result.output
    assert "STOPPING RULE MET: Any serious adverse event" in result.stderr


def test_event_without_description(started: Path) -> None:
    result = run(started, "event", "--severity", "mild")
    assert_error(
        result, '--description is empty: say what happened, e.g. --description "loose stools"'
    )
    assert writes(started) == 1


def test_event_bad_severity(started: Path) -> None:
    result = run(started, "event", "--description", "rash", "--severity", "awful")
    assert_error(result, "--severity must be mild, moderate or severe (got 'awful')")


def test_status_shows_period_and_code(started: Path) -> None:
    run(started, "log", *FULL, "--took", "yes")
    result = run(started, "status")
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"Today {TODAY}: day 21, period 1 (block 1), day 7 — take Pack ")
    assert "1 yes/0 partial/0 no" in result.stdout


def test_stopping_rule_reported_by_log_and_status(started: Path) -> None:
    for i in range(3):
        day = (TODAY - dt.timedelta(days=i)).isoformat()
        bad = ["headache_day=yes", "peak_pain=9", "severity=severe", "acute_med_days=2"]
        result = run(started, "log", "--date", day, *bad, "--took", "yes")
    assert "STOPPING RULE MET: Pain 9/10 or worse on 3 days in a row" in result.stderr
    assert "STOPPING RULE MET" in run(started, "status").stderr


# -- backup / restore ---------------------------------------------------------------------


def test_backup_restore_round_trip(started: Path, tmp_path: Path) -> None:
    run(started, "log", "--date", "yesterday", *FULL, "--took", "yes")
    result = run(started, "backup", str(tmp_path / "copy.sqlite"))
    assert result.exit_code == 0, result.output
    run(started, "log", *FULL, "--took", "yes")
    result = run(started, "restore", str(tmp_path / "copy.sqlite"))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Restored 4 entries from {tmp_path / 'copy.sqlite'}.")
    assert "Nothing recorded" in run(started, "history", "today").stdout
    assert list(started.glob("nof1.sqlite.before-restore-*"))


def test_restore_refuses_corrupt_backup(started: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 5000)
    run(started, "log", *FULL, "--took", "yes")
    result = run(started, "restore", str(bad))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {bad}")
    with Store.open(started / "nof1.sqlite") as store:
        assert store.count("entries") == 4


def test_restore_refuses_other_trial(
    started: Path, make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    other = make_workspace(
        "other", replace=[('id = "migraine-magnesium"', 'id = "other"')], start_trial=True
    )
    run(other, "backup", str(tmp_path / "other.sqlite"))
    before = writes(started)
    result = run(started, "restore", str(tmp_path / "other.sqlite"))
    assert result.exit_code == 1
    assert re.fullmatch(
        f"Error: {re.escape(str(tmp_path / 'other.sqlite'))} is a backup of another trial: the "
        r"trial identifier differs \(backup [0-9a-f]{12}, this trial [0-9a-f]{12}\); the locked "
        r"protocol hash differs \(backup [0-9a-f]{12}, this trial [0-9a-f]{12}\)\. Restore it "
        r"into its own workspace, or pass --force to replace this trial's data with it\n",
        result.stderr,
    ), result.stderr
    assert writes(started) == before  # nothing restored


def _damage(folder: Path, how: str) -> None:
    store = folder / "nof1.sqlite"
    for suffix in ("-wal", "-shm"):  # the commands closed the store: the WAL is checkpointed
        assert not Path(f"{store}{suffix}").exists() or suffix == "-shm"
    if how == "truncated":
        data = store.read_bytes()
        store.write_bytes(data[: len(data) // 3])
    else:
        store.write_bytes(os.urandom(8192))


@pytest.mark.parametrize("how", ["truncated", "garbage"])
def test_restore_repairs_a_damaged_store(started: Path, tmp_path: Path, how: str) -> None:
    run(started, "log", "--date", "yesterday", *FULL, "--took", "yes")
    assert run(started, "backup", str(tmp_path / "copy.sqlite")).exit_code == 0
    run(started, "log", *FULL, "--took", "yes")
    _damage(started, how)
    assert run(started, "status").exit_code == 1  # the damaged store is refused ...
    Path(f"{started / 'nof1.sqlite'}-wal").write_bytes(b"stale wal")  # and left a stale WAL
    result = run(started, "restore", str(tmp_path / "copy.sqlite"))
    assert result.exit_code == 0, result.output  # ... and restore repairs it
    damaged = sorted(started.glob("nof1.sqlite.damaged-*"))
    assert [p.name for p in damaged] == [damaged[0].name, f"{damaged[0].name}-wal"]
    assert re.fullmatch(r"nof1\.sqlite\.damaged-\d{8}T\d{6}Z", damaged[0].name)
    assert result.stdout.startswith("The data store was damaged (") and result.stdout.splitlines()[
        0
    ].endswith(
        f"it was moved aside as {damaged[0].name} (with its -wal/-shm files) and repaired from "
        "the backup."
    )
    assert f"Restored 4 entries from {tmp_path / 'copy.sqlite'}." in result.stdout
    assert run(started, "verify").exit_code == 0
    assert "Nothing recorded" in run(started, "history", "today").stdout
    assert stat.S_IMODE(os.stat(started / "nof1.sqlite").st_mode) == 0o600


def test_restore_refuses_other_schedule_naming_the_fingerprint(
    started: Path, make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    other = make_workspace("other", seed=99, start_trial=True)
    run(other, "backup", str(tmp_path / "other.sqlite"))
    result = run(started, "restore", str(tmp_path / "other.sqlite"))
    assert result.exit_code == 1
    assert "the schedule fingerprint differs (backup " in result.stderr
    assert "the trial identifier differs" in result.stderr


def test_restore_force_replaces_with_another_trial_and_says_so(
    started: Path, make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    other = make_workspace("other", seed=99, start_trial=True)
    run(other, "backup", str(tmp_path / "other.sqlite"))
    result = run(started, "restore", "--force", str(tmp_path / "other.sqlite"))
    assert result.exit_code == 0, result.output
    assert "Warning: restored with --force although the trial identifier differs" in result.stderr
    with Store.open(other / "nof1.sqlite") as theirs, Store.open(started / "nof1.sqlite") as mine:
        assert mine.trial_uid() == theirs.trial_uid()
        assert "forced over" in mine.audit()[-1].detail


def test_restore_of_the_same_trials_backup_keeps_its_identifier(
    started: Path, tmp_path: Path
) -> None:
    with Store.open(started / "nof1.sqlite") as store:
        uid = store.trial_uid()
    run(started, "backup", str(tmp_path / "copy.sqlite"))
    assert run(started, "restore", str(tmp_path / "copy.sqlite")).exit_code == 0
    with Store.open(started / "nof1.sqlite") as store:
        assert store.trial_uid() == uid
        assert store.audit()[-1].action == "restore"


def test_restore_into_a_folder_without_a_store(
    started: Path, make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    """A lost disk: protocol.toml copied to a new folder, the data come from the backup."""
    run(started, "log", "--date", "yesterday", *FULL, "--took", "yes")
    run(started, "backup", str(tmp_path / "copy.sqlite"))
    fresh = make_workspace("fresh")
    result = run(fresh, "restore", str(tmp_path / "copy.sqlite"))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Restored 4 entries from {tmp_path / 'copy.sqlite'}.\n")
    assert run(fresh, "verify").exit_code == 0


def test_restore_refuses_the_trials_own_store_as_backup(started: Path) -> None:
    run(started, "log", *FULL, "--took", "yes")
    before = writes(started)
    result = run(started, "restore", str(started / "nof1.sqlite"))
    assert_error(
        result,
        f"{started / 'nof1.sqlite'} is this trial's own data store, not a backup: give a file "
        "written by `nof1 backup`",
    )
    assert writes(started) == before


def test_restore_of_an_altered_backup_says_so_loudly(started: Path, tmp_path: Path) -> None:
    run(started, "log", "--date", "yesterday", *FULL, "--took", "yes")
    run(started, "backup", str(tmp_path / "copy.sqlite"))
    conn = sqlite3.connect(tmp_path / "copy.sqlite")
    conn.executescript("DROP TRIGGER entries_no_update; UPDATE entries SET value = 0;")
    conn.close()
    result = run(started, "restore", str(tmp_path / "copy.sqlite"))
    assert result.exit_code == 0
    assert "INTEGRITY CHECK FAILED" in result.stderr
    assert "entries row 1: content changed since it was written" in result.stderr


# -- export / import ----------------------------------------------------------------------


def test_export_import_round_trip(
    started: Path, make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    run(started, "log", "--date", "yesterday", *FULL, "--took", "partial")
    result = run(started, "export", str(tmp_path / "d.csv"))
    assert result.stdout == f"Wrote 4 rows to {tmp_path / 'd.csv'}\n"
    fresh = make_workspace("fresh", start_trial=True)
    result = run(fresh, "import", str(tmp_path / "d.csv"))
    assert result.exit_code == 0, result.output
    assert result.stdout == "Imported 4 values for 1 days\n"


def test_import_bad_file_writes_nothing(started: Path, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text(
        "date,day,period,block,arm,outcome,value,adherence\n"
        f"{START},1,,,,peak_pain,3,\n"
        f"{START},1,,,,peak_pain,4,\n"
    )
    result = run(started, "import", str(tmp_path / "d.csv"))
    assert_error(
        result,
        "1 problem in d.csv, nothing was imported:\n"
        f"  - line 3: duplicate row for {START} peak_pain (first at line 2)",
    )
    assert writes(started) == 1


# -- help and import weight ---------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "--trial" in result.stdout
    text = result.stdout.split("Usage:")[1].split("Options")[0]
    assert len(text.split("\n\n", 1)[1].strip()) > 20


HEAVY = ("numpy", "pymc", "arviz", "matplotlib", "scipy", "pytensor")
#: The web stack is loaded by `nof1 serve` only.
WEB = ("starlette", "uvicorn", "segno", "multipart", "python_multipart", "httpx", "httpx2")


def test_log_path_does_not_import_heavy_modules(started: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from typer.testing import CliRunner
        from nof1.cli import app
        result = CliRunner().invoke(app, ["log", *{FULL!r}, "--took", "yes", "--trial",
                                          {str(started)!r}])
        assert result.exit_code == 0, result.output
        result = CliRunner().invoke(app, ["status", "--trial", {str(started)!r}])
        assert result.exit_code == 0, result.output
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY + WEB!r}
                       or m.startswith("nof1.web"))
        print(",".join(heavy))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# -- early stop -------------------------------------------------------------------------------


def test_stop_is_recorded_with_its_reason_and_shown_by_status(started: Path) -> None:
    from typer.testing import CliRunner

    from nof1.cli import app
    from nof1.workspace import Workspace

    runner = CliRunner()
    result = runner.invoke(app, ["stop", "--reason", "serious adverse event", "-t", str(started)])
    assert result.exit_code == 0, result.output
    assert "Trial stopped early on" in result.stdout
    with Workspace.open(started) as ws:
        info = ws.lock_info()
        assert (
            info is not None
            and info.stopped is not None
            and info.stopped.reason == "serious adverse event"
        )
    status = runner.invoke(app, ["status", "-t", str(started)])
    assert "Trial stopped early on" in status.stdout


def test_stop_without_a_reason_is_refused_and_writes_nothing(started: Path) -> None:
    from typer.testing import CliRunner

    from nof1.cli import app
    from nof1.workspace import Workspace

    result = CliRunner().invoke(app, ["stop", "-t", str(started)])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: a stop needs a reason")
    with Workspace.open(started) as ws:
        assert ws.stopped is None
