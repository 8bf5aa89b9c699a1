"""Where a diary record came from: the ``source`` column (migration ``_ENTRY_SOURCE``)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from nof1 import store as store_module
from nof1.errors import StoreError
from nof1.record import AdverseEvent
from nof1.store import Store

DAY = dt.date(2026, 12, 1)


def old_store(path: Path) -> None:
    """A store as nof1 wrote it before the source column (every earlier migration applied)."""
    index = store_module.MIGRATIONS.index(store_module._ENTRY_SOURCE)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)")
    for number, migration in enumerate(store_module.MIGRATIONS[:index], start=1):
        for step in migration:
            if callable(step):
                step(conn)
            else:
                conn.execute(step)
        conn.execute("INSERT INTO schema_version VALUES (?, 'then')", (number,))
    conn.execute(
        "INSERT INTO entries (date, outcome, value, recorded_at, command) "
        "VALUES ('2026-11-30', 'headache_day', 1, 'then', 'log')"
    )
    conn.close()


def test_old_rows_are_from_the_cli_after_the_migration(tmp_path: Path) -> None:
    path = tmp_path / "nof1.sqlite"
    old_store(path)
    with Store.open(path) as store:
        assert store.schema_version == store_module.SCHEMA_VERSION
        assert [e.source for e in store.current_entries()] == ["cli"]


def test_each_diary_table_records_its_source(tmp_path: Path) -> None:
    with Store.open(tmp_path / "nof1.sqlite") as store:
        with store.transaction("log", source="web"):
            store.add_entry(DAY, "headache_day", 0)
            store.add_adherence(DAY, "yes")
            store.add_note(DAY, "from the phone")
            store.add_event(AdverseEvent(DAY, "rash", "mild"))
        with store.transaction("log --correct"):
            store.add_entry(DAY, "headache_day", 1, reason="typo")
        history = store.history(DAY)
        assert [e.source for e in history.entries] == ["web", "cli"]
        assert [a.source for a in history.adherence] == ["web"]
        assert [n.source for n in history.notes] == ["web"]
        row = store._conn.execute("SELECT source FROM adverse_events").fetchone()
        assert row[0] == "web"


def test_unknown_source_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with Store.open(tmp_path / "nof1.sqlite") as store:
        with pytest.raises(StoreError, match=r"source must be one of cli, web \(got 'phone'\)"):
            with store.transaction("log", source="phone"):
                store.add_entry(DAY, "headache_day", 0)
        assert store.count("entries") == 0


def test_the_database_refuses_a_forged_source(tmp_path: Path) -> None:
    with Store.open(tmp_path / "nof1.sqlite") as store:
        with pytest.raises(sqlite3.IntegrityError):
            store._conn.execute(
                "INSERT INTO notes (date, text, recorded_at, command, source) "
                "VALUES ('2026-12-01', 'x', 'now', 'log', 'cloud')"
            )


def test_source_cannot_be_changed_afterwards(tmp_path: Path) -> None:
    with Store.open(tmp_path / "nof1.sqlite") as store:
        with store.transaction("log", source="web"):
            store.add_entry(DAY, "headache_day", 0)
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            store._conn.execute("UPDATE entries SET source = 'cli'")
