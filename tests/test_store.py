"""Store: schema, append-only history, audit trail, concurrency, crash safety, backup/restore."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nof1.errors import StoreError
from nof1.record import AdverseEvent
from nof1.store import (
    SCHEMA_VERSION,
    Store,
    check_backup,
    move_aside,
    restore_new,
    store_problem,
)

D1 = dt.date(2026, 3, 1)
D2 = dt.date(2026, 3, 2)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "nof1.sqlite")
    yield s
    s.close()


def _lock(store: Store, trial_id: str = "t-1") -> None:
    with store.transaction("start"):
        store.write_lock(
            trial_id=trial_id,
            protocol_text="x",
            protocol={"a": 1},
            protocol_hash="h",
            locked_hash="lh",
            schedule={"s": 1},
            schedule_fingerprint="f",
        )


def test_new_store_file_is_private(tmp_path: Path) -> None:
    Store.open(tmp_path / "s.sqlite").close()
    assert stat.S_IMODE(os.stat(tmp_path / "s.sqlite").st_mode) == 0o600


def test_new_store_uses_wal_and_foreign_keys(store: Store) -> None:
    conn = store._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0


def test_new_store_has_current_schema_version(store: Store) -> None:
    assert store.schema_version == SCHEMA_VERSION


def test_missing_store_without_create_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="run `nof1 start` first"):
        Store.open(tmp_path / "none.sqlite", create=False)


def test_store_from_newer_version_is_refused(tmp_path: Path) -> None:
    Store.open(tmp_path / "s.sqlite").close()
    conn = sqlite3.connect(tmp_path / "s.sqlite")
    conn.execute("INSERT INTO schema_version VALUES (?, 'later')", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="upgrade nof1"):
        Store.open(tmp_path / "s.sqlite")


def test_garbage_file_is_not_a_store(tmp_path: Path) -> None:
    (tmp_path / "s.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a readable nof1 data store"):
        Store.open(tmp_path / "s.sqlite")


def test_write_outside_transaction_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="outside a transaction"):
        store.add_entry(D1, "pain", 3)


def test_transaction_rolls_back_everything_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction("log"):
            store.add_entry(D1, "pain", 3)
            raise RuntimeError("boom")
    assert store.count("entries") == 0
    assert store.count("audit") == 0


def test_newest_entry_counts(store: Store) -> None:
    with store.transaction("log"):
        store.add_entry(D1, "pain", 3)
    with store.transaction("log --correct"):
        store.add_entry(D1, "pain", 5, reason="typo")
    [entry] = store.current_entries()
    assert entry.value == 5
    assert entry.reason == "typo"


def test_correction_keeps_full_history(store: Store) -> None:
    with store.transaction("log"):
        first = store.add_entry(D1, "pain", 3)
    with store.transaction("log --correct"):
        store.add_entry(D1, "pain", 5, reason="typo")
    history = store.history(D1)
    assert [e.value for e in history.entries] == [3, 5]
    assert history.entries[1].supersedes == first
    assert history.entries[1].is_correction


def test_entries_cannot_be_updated(store: Store) -> None:
    with store.transaction("log"):
        store.add_entry(D1, "pain", 3)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store._conn.execute("UPDATE entries SET value = 9")


def test_entries_cannot_be_deleted(store: Store) -> None:
    with store.transaction("log"):
        store.add_entry(D1, "pain", 3)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store._conn.execute("DELETE FROM entries")


def test_every_write_is_audited_with_its_command(store: Store) -> None:
    with store.transaction("log"):
        store.add_entry(D1, "pain", 3)
        store.add_adherence(D1, "yes")
    with store.transaction("event"):
        store.add_event(AdverseEvent(D1, "nausea", "mild"))
    audit = store.audit()
    assert [(a.command, a.target) for a in audit] == [
        ("log", "entries"),
        ("log", "adherence"),
        ("event", "adverse_events"),
    ]


def test_adherence_newest_per_day(store: Store) -> None:
    with store.transaction("log"):
        store.add_adherence(D1, "no")
        store.add_adherence(D2, "yes")
    with store.transaction("log --correct"):
        store.add_adherence(D1, "partial", reason="remembered")
    assert [(a.date, a.took) for a in store.current_adherence()] == [(D1, "partial"), (D2, "yes")]


def test_events_notes_and_reveals_round_trip(store: Store) -> None:
    event = AdverseEvent(D1, "loose stools", "moderate", serious=False, action="halved dose")
    with store.transaction("misc"):
        store.add_event(event)
        store.add_note(D1, "travel day")
        store.add_reveal("Dr Jones", "trial completed", early=False)
    assert store.events() == [event]
    assert [n.text for n in store.notes()] == ["travel day"]
    assert [(r.by, r.reason, r.early) for r in store.reveals()] == [
        ("Dr Jones", "trial completed", False)
    ]


def test_lock_is_written_once(store: Store) -> None:
    _lock(store)
    with pytest.raises(StoreError, match="already locked"):
        _lock(store)


def test_current_lock_is_latest_amendment(store: Store) -> None:
    _lock(store)
    with store.transaction("amend"):
        store.write_amendment(
            reason="longer periods",
            sections=["design"],
            protocol_text="y",
            protocol={"a": 2},
            protocol_hash="h2",
            locked_hash="lh2",
            schedule={"s": 2},
            schedule_fingerprint="f2",
        )
    current = store.current_lock()
    assert current is not None
    assert (current.trial_id, current.protocol_hash, current.protocol) == ("t-1", "h2", {"a": 2})
    assert store.lock().protocol_hash == "h"  # type: ignore[union-attr]


def test_amendment_without_reason_is_refused_by_schema(store: Store) -> None:
    _lock(store)
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction("amend"):
            store.write_amendment(
                reason="  ",
                sections=[],
                protocol_text="y",
                protocol={},
                protocol_hash="h",
                locked_hash="l",
                schedule={},
                schedule_fingerprint="f",
            )


# -- backup and restore -------------------------------------------------------------------


def test_backup_restore_round_trip(store: Store, tmp_path: Path) -> None:
    _lock(store)
    with store.transaction("log"):
        store.add_entry(D1, "pain", 3)
    copy = store.backup(tmp_path / "backup.sqlite")
    with store.transaction("log"):
        store.add_entry(D2, "pain", 4)
    info = store.restore(copy, trial_id="t-1")
    assert info.entries == 1
    assert [e.date for e in store.current_entries()] == [D1]
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_backup_file_is_private_and_self_contained(store: Store, tmp_path: Path) -> None:
    _lock(store)
    copy = store.backup(tmp_path / "b.sqlite")
    assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600
    assert not Path(f"{copy}-wal").exists()


def test_backup_refuses_to_overwrite(store: Store, tmp_path: Path) -> None:
    (tmp_path / "b.sqlite").write_text("keep me")
    with pytest.raises(StoreError, match="already exists"):
        store.backup(tmp_path / "b.sqlite")


def test_corrupt_backup_is_refused(store: Store, tmp_path: Path) -> None:
    _lock(store)
    for i in range(200):
        with store.transaction("log"):
            store.add_entry(D1 + dt.timedelta(days=i), "pain", 3)
    copy = store.backup(tmp_path / "b.sqlite")
    data = bytearray(copy.read_bytes())
    data[4096 * 2 : 4096 * 2 + 2000] = b"\xff" * 2000  # smash a page in the middle
    copy.write_bytes(bytes(data))
    with pytest.raises(StoreError):
        check_backup(copy, trial_id="t-1")
    assert store.count("entries") == 200


def test_non_sqlite_backup_is_refused(tmp_path: Path) -> None:
    (tmp_path / "b.sqlite").write_bytes(b"hello" * 1000)
    with pytest.raises(StoreError, match="not a nof1 backup"):
        check_backup(tmp_path / "b.sqlite", trial_id=None)


def test_backup_of_another_trial_is_refused(store: Store, tmp_path: Path) -> None:
    _lock(store, trial_id="other-trial")
    copy = store.backup(tmp_path / "b.sqlite")
    with pytest.raises(StoreError, match="belongs to trial 'other-trial', not to this trial 't-1'"):
        check_backup(copy, trial_id="t-1")


def test_sqlite_file_without_nof1_tables_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "b.sqlite")
    conn.execute("CREATE TABLE x (a)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="missing tables"):
        check_backup(tmp_path / "b.sqlite", trial_id=None)


# -- several processes --------------------------------------------------------------------

SRC = str(Path(__file__).resolve().parents[1] / "src")

WRITER = textwrap.dedent(
    """
    import datetime as dt, sys
    sys.path.insert(0, {src!r})
    from nof1.store import Store
    store = Store.open(sys.argv[1])
    offset = int(sys.argv[2])
    for i in range(int(sys.argv[3])):
        with store.transaction("log"):
            store.add_entry(dt.date(2026, 1, 1) + dt.timedelta(days=offset + i), "pain", i)
            store.add_adherence(dt.date(2026, 1, 1) + dt.timedelta(days=offset + i), "yes")
    """
)


def test_two_processes_logging_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    Store.open(path).close()
    script = WRITER.format(src=SRC)
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(path), str(offset), "60"])
        for offset in (0, 1000)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with Store.open(path) as store:
        assert store.count("entries") == 120
        assert store.count("adherence") == 120
        assert store.count("audit") == 240
        assert store.integrity_problems() == []


HANGER = textwrap.dedent(
    """
    import datetime as dt, sys, time
    sys.path.insert(0, {src!r})
    from nof1.store import Store
    store = Store.open(sys.argv[1])
    with store.transaction("import"):
        for i in range(500):
            store.add_entry(dt.date(2027, 1, 1) + dt.timedelta(days=i), "pain", i)
        print("mid-write", flush=True)
        time.sleep(60)
    """
)


def test_process_killed_mid_write_leaves_store_consistent(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with Store.open(path) as store, store.transaction("log"):
        store.add_entry(D1, "pain", 3)
    proc = subprocess.Popen(
        [sys.executable, "-c", HANGER.format(src=SRC), str(path)], stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"mid-write"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with Store.open(path) as store:
        assert store.integrity_problems() == []
        assert store.count("entries") == 1
        assert store.count("audit") == 1
        with store.transaction("log"):  # and the write lock was released
            store.add_entry(D2, "pain", 4)
        assert store.count("entries") == 2


KILLED_LOOP = textwrap.dedent(
    """
    import datetime as dt, sys
    sys.path.insert(0, {src!r})
    from nof1.store import Store
    store = Store.open(sys.argv[1])
    print("go", flush=True)
    for i in range(100000):
        with store.transaction("log"):
            store.add_entry(dt.date(2026, 1, 1) + dt.timedelta(days=i), "pain", 1)
            store.add_adherence(dt.date(2026, 1, 1) + dt.timedelta(days=i), "yes")
    """
)


def test_process_killed_during_many_commits_keeps_whole_transactions(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    Store.open(path).close()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_LOOP.format(src=SRC), str(path)], stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with Store.open(path) as store:
        assert store.integrity_problems() == []
        entries = store.count("entries")
        assert entries > 0
        assert store.count("adherence") == entries  # no half-written command
        assert store.count("audit") == 2 * entries
        assert store.tamper_problems() == []  # the chain is whole: links commit with their rows
        assert store.chain_length() == 1 + 4 * entries


# -- damaged stores, identity, chain ---------------------------------------------------------


def test_store_problem_is_none_for_a_healthy_store(store: Store) -> None:
    _lock(store)
    assert store_problem(store.path) is None


def test_store_problem_names_a_truncated_store(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with Store.open(path) as s:
        _lock(s)
        for i in range(100):
            with s.transaction("log"):
                s.add_entry(D1 + dt.timedelta(days=i), "pain", 3)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    assert store_problem(path) == "database disk image is malformed"


def test_store_problem_names_garbage_bytes(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    path.write_bytes(os.urandom(4096))
    assert store_problem(path) == "file is not a database"


def test_store_problem_leaves_the_wal_of_a_damaged_store_alone(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    path.write_bytes(os.urandom(4096))
    Path(f"{path}-wal").write_bytes(b"evidence")
    store_problem(path)
    assert Path(f"{path}-wal").read_bytes() == b"evidence"


def test_move_aside_moves_the_store_with_its_wal_and_shm(tmp_path: Path) -> None:
    path = tmp_path / "nof1.sqlite"
    for suffix, data in (("", b"main"), ("-wal", b"wal"), ("-shm", b"shm")):
        Path(f"{path}{suffix}").write_bytes(data)
    first = move_aside(path, "damaged")
    path.write_bytes(b"again")
    second = move_aside(path, "damaged")  # the same second: a new name, nothing overwritten
    assert first != second and not path.exists()
    assert first.read_bytes() == b"main" and Path(f"{first}-wal").read_bytes() == b"wal"
    assert Path(f"{first}-shm").read_bytes() == b"shm" and second.read_bytes() == b"again"


def test_check_backup_reports_the_trial_identity(store: Store, tmp_path: Path) -> None:
    _lock(store)
    info = check_backup(store.backup(tmp_path / "b.sqlite"))
    assert info.trial_uid == store.trial_uid()
    assert (info.protocol_hash, info.schedule_fingerprint) == ("h", "f")


def test_restore_new_refuses_to_overwrite(store: Store, tmp_path: Path) -> None:
    copy = store.backup(tmp_path / "b.sqlite")
    with pytest.raises(StoreError, match="already exists: move it aside"):
        restore_new(store.path, copy)


def test_every_write_extends_the_chain_and_moves_its_head(store: Store) -> None:
    head = store.chain_head()
    with store.transaction("log"):
        store.add_entry(D1, "pain", 3)
    assert store.chain_head() != head
    assert store.chain_length() == 3  # trial identity, the entry, its audit row
    assert store.tamper_problems() == []


def test_a_rolled_back_write_leaves_no_chain_link(store: Store) -> None:
    length = store.chain_length()
    with pytest.raises(RuntimeError), store.transaction("log"):
        store.add_entry(D1, "pain", 3)
        raise RuntimeError("crash")
    assert store.chain_length() == length and store.tamper_problems() == []
