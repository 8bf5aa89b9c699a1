"""Tamper evidence: each test is an attack on the store with the sqlite3 shell's SQL, and
`nof1 verify` (and status, backup, the integrity report) must name what was altered.

The SQL is run with Python's sqlite3 module: it is the same SQLite and the same statements a
person would type in the `sqlite3 nof1.sqlite` shell.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import DAYS_AGO, MakeWorkspace
from nof1.cli import app
from nof1.errors import StoreError
from nof1.integrity import protocol_hashes, schedule_hash, verify
from nof1.record import AdverseEvent
from nof1.store import (
    _V1,
    _V2,
    APPEND_ONLY_TABLES,
    GENESIS,
    SCHEMA_VERSION,
    Store,
    link_hash,
    row_hash,
)
from nof1.workspace import Workspace

TODAY = dt.date.today()
START = TODAY - dt.timedelta(days=DAYS_AGO)
FULL = ["headache_day=yes", "peak_pain=4", "severity=mild", "acute_med_days=1"]


def run(folder: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, [*args, "--trial", str(folder)])


@pytest.fixture
def trial(started: Path) -> Path:
    """A started trial with two logged days, an adverse event and a note."""
    for day in (TODAY - dt.timedelta(days=2), TODAY - dt.timedelta(days=1)):
        result = run(started, "log", "--date", day.isoformat(), *FULL, "--took", "yes")
        assert result.exit_code == 0, result.output
    result = run(
        started, "event", "--description", "loose stools", "--severity", "mild", "-d", "yesterday"
    )
    assert result.exit_code == 0, result.output
    return started


def shell(folder: Path, script: str) -> None:
    """What a person types into `sqlite3 nof1.sqlite`."""
    conn = sqlite3.connect(folder / "nof1.sqlite")
    conn.executescript(script)
    conn.commit()
    conn.close()


def trigger_sql(folder: Path, name: str) -> str:
    conn = sqlite3.connect(folder / "nof1.sqlite")
    (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()
    conn.close()
    return str(sql)


def problems(folder: Path) -> list[str]:
    with Workspace.open(folder) as ws:
        return verify(ws).lines()


def verify_fails_naming(folder: Path, *expected: str) -> None:
    result = run(folder, "verify")
    assert result.exit_code == 1, result.output
    for text in expected:
        assert f"  - {text}" in result.stderr, result.stderr
    assert re.search(
        r"Error: INTEGRITY CHECK FAILED: \d+ problems? \(the store was altered outside nof1\)\n$",
        result.stderr,
    )


# -- an untouched trial ------------------------------------------------------------------


def test_verify_passes_on_an_untouched_trial(trial: Path) -> None:
    result = run(trial, "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].startswith("Integrity verified (")
    with Workspace.open(trial) as ws:
        head = ws.store.chain_head()
    assert f"Chain head: {head}" in result.stdout


def test_every_row_of_every_append_only_table_is_chained(trial: Path) -> None:
    assert run(trial, "stop", "--reason", "felt faint").exit_code == 0
    with Workspace.open(trial) as ws:
        store = ws.store
        conn = store._conn
        for table in APPEND_ONLY_TABLES:
            ids = {r[0] for r in conn.execute(f"SELECT id FROM {table}")}
            links = {r[0] for r in conn.execute("SELECT row_id FROM chain WHERE tbl = ?", (table,))}
            assert ids == links, table
        assert store.count("chain") == sum(store.count(t) for t in APPEND_ONLY_TABLES)


def test_chain_can_be_recomputed_by_hand_as_docs_describe(trial: Path) -> None:
    conn = sqlite3.connect(trial / "nof1.sqlite")
    prev = GENESIS
    for tbl, row_id, columns, digest, prev_hash, hash_ in conn.execute(
        "SELECT tbl, row_id, columns, row_hash, prev_hash, hash FROM chain ORDER BY seq"
    ):
        names = json.loads(columns)
        values = conn.execute(
            f"SELECT {', '.join(names)} FROM {tbl} WHERE id = ?", (row_id,)
        ).fetchone()
        assert row_hash(tbl, row_id, dict(zip(names, values, strict=True))) == digest
        assert prev_hash == prev and link_hash(prev, digest) == hash_
        prev = hash_
    conn.close()


def test_lock_rehash_matches_what_start_recorded(trial: Path) -> None:
    with Workspace.open(trial) as ws:
        lock = ws.store.lock()
        assert lock is not None
        assert protocol_hashes(lock.protocol) == (lock.protocol_hash, lock.locked_hash)
        assert schedule_hash(lock.schedule) == ws.schedule.fingerprint()


# -- the attacks -------------------------------------------------------------------------


def test_deleting_an_adverse_event_with_the_sqlite3_shell_is_detected(trial: Path) -> None:
    guard = trigger_sql(trial, "adverse_events_no_delete")
    shell(
        trial,
        f"DROP TRIGGER adverse_events_no_delete; DELETE FROM adverse_events WHERE id = 1; {guard};",
    )
    verify_fails_naming(trial, "adverse_events row 1: deleted (its chain link remains)")


def test_deleting_an_adverse_event_and_its_chain_link_is_detected(trial: Path) -> None:
    shell(
        trial,
        "DROP TRIGGER adverse_events_no_delete; DROP TRIGGER chain_no_delete;"
        "DELETE FROM adverse_events WHERE id = 1;"
        "DELETE FROM chain WHERE tbl = 'adverse_events' AND row_id = 1;",
    )
    found = problems(trial)
    assert any(
        re.fullmatch(r"chain row \d+: links \d+ to \d+ are missing \(deleted\)", p) for p in found
    )
    assert any(p.startswith("chain row") and "does not follow" in p for p in found)


def test_deleting_the_newest_rows_and_their_links_is_detected(trial: Path) -> None:
    """The tail of the chain cut off: sqlite_sequence still remembers the highest ids."""
    shell(
        trial,
        "DROP TRIGGER audit_no_delete; DROP TRIGGER chain_no_delete;"
        "DROP TRIGGER adverse_events_no_delete;"
        "DELETE FROM audit WHERE id = (SELECT MAX(id) FROM audit);"
        "DELETE FROM adverse_events;"
        "DELETE FROM chain WHERE seq > (SELECT MAX(seq) - 4 FROM chain);",
    )
    found = problems(trial)
    assert any(re.fullmatch(r"chain row \d+: links \d+ to \d+ were deleted", p) for p in found)
    assert "adverse_events row 1: rows 1 to 1 were deleted" in found


def test_inserting_a_back_dated_entry_is_detected(trial: Path) -> None:
    early = (START + dt.timedelta(days=1)).isoformat()
    shell(
        trial,
        "INSERT INTO entries (date, outcome, value, recorded_at, command) "
        f"VALUES ('{early}', 'peak_pain', 1, '{early}T20:00:00+00:00', 'log');",
    )
    with Workspace.open(trial) as ws:
        new_id = max(e.id for e in ws.store.current_entries())
    verify_fails_naming(
        trial, f"entries row {new_id}: not in the hash chain (inserted outside nof1)"
    )


def test_editing_the_stored_schedule_json_in_the_lock_row_is_detected(trial: Path) -> None:
    with Workspace.open(trial) as ws:
        lock = ws.store.lock()
        assert lock is not None
        schedule = lock.schedule
    schedule["periods"][0]["arm"] = "B" if schedule["periods"][0]["arm"] == "A" else "A"
    edited = json.dumps(schedule, sort_keys=True, separators=(",", ":")).replace("'", "''")
    shell(
        trial,
        "DROP TRIGGER lock_no_update;"
        f"UPDATE lock SET schedule_json = '{edited}' WHERE id = 1;"
        f"{trigger_sql_text('lock_no_update')};",
    )
    verify_fails_naming(
        trial,
        "lock row 1: content changed since it was written",
        "lock row 1: stored schedule JSON does not match its recorded schedule fingerprint",
    )


def trigger_sql_text(name: str) -> str:
    from nof1.store import expected_triggers

    return expected_triggers()[name]


def test_editing_the_schedule_and_its_fingerprint_together_is_still_detected(trial: Path) -> None:
    with Workspace.open(trial) as ws:
        lock = ws.store.lock()
        assert lock is not None
        schedule = lock.schedule
    schedule["sequence"] = schedule["sequence"][::-1]
    fingerprint = schedule_hash(schedule)
    edited = json.dumps(schedule).replace("'", "''")
    shell(
        trial,
        "DROP TRIGGER lock_no_update;"
        f"UPDATE lock SET schedule_json = '{edited}', schedule_fingerprint = '{fingerprint}';"
        f"{trigger_sql_text('lock_no_update')};",
    )
    verify_fails_naming(trial, "lock row 1: content changed since it was written")


def test_editing_a_logged_value_is_detected(trial: Path) -> None:
    shell(
        trial,
        "DROP TRIGGER entries_no_update; UPDATE entries SET value = 9 WHERE id = 2;"
        f"{trigger_sql_text('entries_no_update')};",
    )
    verify_fails_naming(trial, "entries row 2: content changed since it was written")


def test_editing_a_value_and_its_row_hash_breaks_the_link(trial: Path) -> None:
    conn = sqlite3.connect(trial / "nof1.sqlite")
    columns = json.loads(
        conn.execute("SELECT columns FROM chain WHERE tbl = 'entries' AND row_id = 2").fetchone()[0]
    )
    conn.executescript("DROP TRIGGER entries_no_update; UPDATE entries SET value = 9 WHERE id = 2;")
    values = conn.execute(f"SELECT {', '.join(columns)} FROM entries WHERE id = 2").fetchone()
    forged = row_hash("entries", 2, dict(zip(columns, values, strict=True)))
    conn.executescript(
        f"DROP TRIGGER chain_no_update; UPDATE chain SET row_hash = '{forged}' "
        "WHERE tbl = 'entries' AND row_id = 2;"
    )
    conn.commit()
    conn.close()
    assert any("link hash does not match its content" in p for p in problems(trial))


def test_dropping_a_trigger_is_detected(trial: Path) -> None:
    shell(trial, "DROP TRIGGER notes_no_update;")
    verify_fails_naming(trial, "notes: trigger notes_no_update is missing (dropped)")


def test_dropping_the_correction_reason_trigger_is_detected(trial: Path) -> None:
    shell(trial, "DROP TRIGGER entries_correction_needs_reason;")
    verify_fails_naming(
        trial, "entries: trigger entries_correction_needs_reason is missing (dropped)"
    )


def test_replacing_a_trigger_with_a_harmless_one_is_detected(trial: Path) -> None:
    shell(
        trial,
        "DROP TRIGGER adverse_events_no_delete;"
        "CREATE TRIGGER adverse_events_no_delete BEFORE DELETE ON adverse_events "
        "BEGIN SELECT 1; END;",
    )
    verify_fails_naming(
        trial, "adverse_events: trigger adverse_events_no_delete was replaced by other SQL"
    )


def test_rewriting_the_locked_protocol_text_is_detected(trial: Path) -> None:
    with Workspace.open(trial) as ws:
        lock = ws.store.lock()
        assert lock is not None
        text = lock.protocol_text.replace("mcid = 1.5", "mcid = 3.0").replace("'", "''")
    shell(
        trial,
        f"DROP TRIGGER lock_no_update; UPDATE lock SET protocol_text = '{text}';"
        f"{trigger_sql_text('lock_no_update')};",
    )
    verify_fails_naming(
        trial,
        "lock row 1: content changed since it was written",
        "lock row 1: stored protocol text does not match its recorded protocol hash",
    )


def test_garbage_in_the_lock_json_gives_a_finding_not_a_traceback(trial: Path) -> None:
    shell(
        trial,
        "DROP TRIGGER lock_no_update; UPDATE lock SET schedule_json = '{not json';"
        f"{trigger_sql_text('lock_no_update')};",
    )
    found = problems(trial)
    assert "lock row 1: content changed since it was written" in found
    assert any(
        p.startswith("lock: the locked protocol or schedule in the data store is unreadable")
        for p in found
    )


def test_dropping_the_chain_table_is_detected(trial: Path) -> None:
    shell(trial, "DROP TABLE chain;")
    assert "chain: the hash chain table is missing (dropped)" in problems(trial)


# -- the commands that say so loudly -----------------------------------------------------


def test_status_says_loudly_when_the_store_was_altered(trial: Path) -> None:
    shell(trial, "DROP TRIGGER notes_no_update;")
    result = run(trial, "status")
    assert result.exit_code == 0
    assert (
        "INTEGRITY CHECK FAILED: 1 problem (the store was altered outside nof1):" in result.stderr
    )
    assert "  - notes: trigger notes_no_update is missing (dropped)" in result.stderr
    assert "Data integrity verified" not in result.stdout


def test_status_prints_integrity_verified_when_untouched(trial: Path) -> None:
    result = run(trial, "status")
    assert result.stdout.splitlines()[-1].startswith("Data integrity verified (")
    assert "INTEGRITY" not in result.stderr


def test_backup_says_loudly_and_still_copies_an_altered_store(trial: Path, tmp_path: Path) -> None:
    shell(
        trial,
        "DROP TRIGGER entries_no_update; UPDATE entries SET value = 0 WHERE id = 1;",
    )
    result = run(trial, "backup", str(tmp_path / "copy.sqlite"))
    assert result.exit_code == 0
    assert "INTEGRITY CHECK FAILED" in result.stderr
    assert "entries row 1: content changed since it was written" in result.stderr
    assert (tmp_path / "copy.sqlite").exists()


def test_backup_prints_the_chain_head_of_an_intact_store(trial: Path, tmp_path: Path) -> None:
    result = run(trial, "backup", str(tmp_path / "copy.sqlite"))
    assert result.exit_code == 0
    assert "Data integrity verified" in result.stdout


def test_verify_of_a_garbage_store_is_one_error_line(trial: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{trial / 'nof1.sqlite'}{suffix}").unlink(missing_ok=True)
    (trial / "nof1.sqlite").write_bytes(b"\x13garbage" * 1000)
    result = run(trial, "verify")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {trial / 'nof1.sqlite'} is not a readable nof1")
    assert len(result.stderr.splitlines()) == 1


def test_verify_before_start_says_there_is_no_store(workspace: Path) -> None:
    result = run(workspace, "verify")
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"Error: no data store at {workspace / 'nof1.sqlite'}: run `nof1 start` first\n"
    )


# -- the database refuses a correction without a reason -----------------------------------


def test_database_refuses_a_second_value_without_reason(trial: Path) -> None:
    day = (TODAY - dt.timedelta(days=1)).isoformat()
    conn = sqlite3.connect(trial / "nof1.sqlite")
    with pytest.raises(sqlite3.IntegrityError, match="needs a reason"):
        conn.execute(
            "INSERT INTO entries (date, outcome, value, recorded_at, command) "
            f"VALUES ('{day}', 'peak_pain', 1, 'x', 'sqlite3')"
        )
    with pytest.raises(sqlite3.IntegrityError, match="needs a reason"):
        conn.execute(
            "INSERT INTO adherence (date, took, recorded_at, command, reason) "
            f"VALUES ('{day}', 'no', 'x', 'sqlite3', '   ')"
        )
    conn.execute(
        "INSERT INTO entries (date, outcome, value, recorded_at, command, reason) "
        f"VALUES ('{day}', 'peak_pain', 1, 'x', 'sqlite3', 'typo')"
    )
    conn.close()


def test_store_refuses_a_second_value_without_reason(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as store:
        with store.transaction("log"):
            store.add_entry(dt.date(2026, 3, 1), "pain", 3)
            store.add_adherence(dt.date(2026, 3, 1), "yes")
        with pytest.raises(StoreError, match=r"^2026-03-01 is already logged \(pain\)"):
            with store.transaction("log"):
                store.add_entry(dt.date(2026, 3, 1), "pain", 4)
        with pytest.raises(StoreError, match="^adherence for 2026-03-01 is already logged"):
            with store.transaction("log"):
                store.add_adherence(dt.date(2026, 3, 1), "no")
        assert store.count("entries") == 1


# -- migration of an existing store ------------------------------------------------------


def _old_store(path: Path) -> None:
    """A schema-version-2 store, as nof1 wrote before the chain, with rows in it."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)")
    for number, statements in enumerate((_V1, _V2), start=1):
        for sql in statements:
            conn.execute(sql)
        conn.execute("INSERT INTO schema_version VALUES (?, 'then')", (number,))
    conn.execute(
        "INSERT INTO entries (date, outcome, value, recorded_at, command) "
        "VALUES ('2026-03-01', 'pain', 3, 't', 'log')"
    )
    conn.execute(
        "INSERT INTO adverse_events (date, description, severity, serious, recorded_at, command)"
        " VALUES ('2026-03-01', 'rash', 'mild', 0, 't', 'event')"
    )
    conn.execute("INSERT INTO audit (at, command, action, target) VALUES ('t', 'log', 'x', '')")
    conn.close()


def test_migration_chains_existing_rows_and_gives_the_trial_an_identifier(tmp_path: Path) -> None:
    _old_store(tmp_path / "old.sqlite")
    with Store.open(tmp_path / "old.sqlite") as store:
        assert store.schema_version == SCHEMA_VERSION
        assert re.fullmatch(r"[0-9a-f]{32}", store.trial_uid())
        assert store.count("chain") == 4  # trial identity, entry, event, audit
        assert store.tamper_problems() == []
        with store.transaction("event"):
            store.add_event(AdverseEvent(dt.date(2026, 3, 2), "itch", "mild", False, ""))
        assert store.tamper_problems() == []


def test_each_new_trial_gets_its_own_random_identifier(tmp_path: Path) -> None:
    with Store.open(tmp_path / "a.sqlite") as a, Store.open(tmp_path / "b.sqlite") as b:
        assert a.trial_uid() != b.trial_uid()


# -- lock honesty ------------------------------------------------------------------------


def test_start_in_the_past_warns_and_records_a_late_lock(make_workspace: MakeWorkspace) -> None:
    folder = make_workspace(start=TODAY - dt.timedelta(days=3))
    result = run(folder, "start")
    assert result.exit_code == 0
    day1 = TODAY - dt.timedelta(days=3)
    assert result.stderr == (
        f"Warning: day 1 ({day1}) has already passed: the protocol is locked after data "
        "collection began, and the report will say so. Lock before day 1 next time.\n"
    )
    with Workspace.open(folder) as ws:
        info = ws.lock_info()
        assert info is not None and not info.locked_before_day1 and info.day1 == day1
        lock_audit = [a for a in ws.store.audit() if a.target == "lock"]
        assert "locked after data collection began" in lock_audit[0].detail


def test_start_before_day1_is_locked_before_day1(make_workspace: MakeWorkspace) -> None:
    folder = make_workspace(start=TODAY + dt.timedelta(days=2))
    result = run(folder, "start")
    assert result.exit_code == 0 and result.stderr == ""
    with Workspace.open(folder) as ws:
        info = ws.lock_info()
        assert info is not None and info.locked_before_day1
        assert info.protocol_hash in result.stdout
        assert info.trial_uid == ws.store.trial_uid()
        assert info.chain_head == ws.store.chain_head()


def test_lock_info_is_a_frozen_value(started: Path) -> None:
    import attrs

    with Workspace.open(started) as ws:
        info = ws.lock_info()
        assert info is not None
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            info.protocol_hash = "x"  # type: ignore[misc]


@pytest.mark.parametrize("table", ["notes", "lock", "trial", "audit"])
def test_dropping_an_append_only_table_is_detected_not_a_traceback(trial: Path, table: str) -> None:
    shell(trial, f"DROP TABLE {table};")
    result = run(trial, "verify")
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[-1].startswith("Error: INTEGRITY CHECK FAILED")
    assert f"  - {table}: table is missing (dropped)" in result.stderr


# -- the by-hand checks of docs/integrity.md run as written -------------------------------


def _doc_blocks() -> list[str]:
    text = (Path(__file__).resolve().parents[1] / "docs" / "integrity.md").read_text("utf-8")
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_docs_by_hand_chain_check_prints_the_chain_head(trial: Path) -> None:
    import subprocess

    block = next(b for b in _doc_blocks() if "chain head" in b)
    out = subprocess.run(
        ["bash", "-c", block], cwd=trial, capture_output=True, text=True, check=True
    ).stdout
    with Workspace.open(trial) as ws:
        assert out == f"chain head {ws.store.chain_head()}\n"


def test_docs_by_hand_lock_check_gives_the_recorded_hashes(trial: Path) -> None:
    import shutil
    import subprocess

    if shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 shell is not installed")
    block = next(b for b in _doc_blocks() if "protocol_hash, schedule_fingerprint" in b)
    lines = subprocess.run(
        ["bash", "-c", block], cwd=trial, capture_output=True, text=True, check=True
    ).stdout.split()
    recorded, computed = lines[0].split("|"), lines[1:]
    assert recorded == computed


def test_docs_by_hand_chain_check_finds_a_deleted_event(trial: Path) -> None:
    import subprocess

    shell(
        trial,
        "DROP TRIGGER adverse_events_no_delete; DELETE FROM adverse_events;"
        f"{trigger_sql_text('adverse_events_no_delete')};",
    )
    block = next(b for b in _doc_blocks() if "chain head" in b)
    proc = subprocess.run(["bash", "-c", block], cwd=trial, capture_output=True, text=True)
    assert proc.returncode == 1
    assert re.fullmatch(r"broken at link \d+: adverse_events row 1\n", proc.stderr)


def test_an_append_only_table_added_later_is_chained_and_verified(tmp_path: Path) -> None:
    """A later migration's table is covered as soon as it has its triggers, even unlisted."""
    from nof1.store import _append_only_triggers

    with Store.open(tmp_path / "s.sqlite") as store:
        conn = store._conn
        conn.execute("CREATE TABLE opinions (id INTEGER PRIMARY KEY AUTOINCREMENT, note TEXT)")
        for sql in _append_only_triggers("opinions"):
            conn.execute(sql)
        with store.transaction("review"):
            store._insert("opinions", {"note": "continue"})
        assert store.tamper_problems() == []
        conn.execute("INSERT INTO opinions (note) VALUES ('forged')")
        assert [str(p) for p in store.tamper_problems()] == [
            "opinions row 2: not in the hash chain (inserted outside nof1)"
        ]


@pytest.mark.parametrize(
    "edit",
    [
        "schedule_json = '{not json'",
        "schedule_json = '{\"periods\": 3}'",
        "protocol_json = '[1, 2'",
    ],
)
def test_commands_give_one_error_line_on_an_unreadable_edited_lock(trial: Path, edit: str) -> None:
    shell(
        trial,
        f"DROP TRIGGER lock_no_update; UPDATE lock SET {edit};"
        f"{trigger_sql_text('lock_no_update')};",
    )
    for command in (["status"], ["log", *FULL, "--took", "yes"], ["today"]):
        result = run(trial, *command)
        assert result.exit_code == 1, (command, result.output)
        assert isinstance(result.exception, SystemExit)  # not a traceback
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("Error: the locked ") and "run `nof1 verify`" in last, last
    verify_fails_naming(trial, "lock row 1: content changed since it was written")
