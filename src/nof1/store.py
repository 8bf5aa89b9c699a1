"""What happened: the trial's SQLite store. The only module that speaks SQL.

Design
------
* stdlib :mod:`sqlite3` in WAL mode with foreign keys, a busy timeout (several processes may log
  at once) and ``synchronous = FULL`` (a logged day survives a power cut once the command returns).
* The file is created with mode ``0600``: it holds health data. SQLite gives its ``-wal`` and
  ``-shm`` side files the permissions of the main file.
* A ``schema_version`` table and an ordered list of forward migrations (:data:`MIGRATIONS`);
  a store from a newer nof1 is refused rather than misread.
* One transaction per command: every write happens inside :meth:`Store.transaction`, which takes
  the write lock up front (``BEGIN IMMEDIATE``) and commits or rolls back as a whole.
* Append-only: outcome entries, adherence, events, notes, the lock, amendments, reveals and the
  audit trail are never updated or deleted (triggers refuse it). A correction is a new row with a
  reason; the newest row (highest id) for a day counts. Every write also adds an ``audit`` row
  naming the command.

Rows become objects through named constructors (``Entry.from_row``), never ``Cls(**row)``.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from attrs import define, field, frozen

from nof1 import files
from nof1.errors import OutputError, StoreError
from nof1.record import Adherence, AdverseEvent

BUSY_TIMEOUT_MS = 15_000

_APPEND_ONLY = (
    "lock",
    "amendments",
    "entries",
    "adherence",
    "adverse_events",
    "notes",
    "reveals",
    "audit",
)


def _append_only_triggers(table: str) -> tuple[str, str]:
    return (
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
    )


_V1: tuple[str, ...] = (
    """CREATE TABLE lock (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        trial_id TEXT NOT NULL,
        protocol_text TEXT NOT NULL,
        protocol_json TEXT NOT NULL,
        protocol_hash TEXT NOT NULL,
        locked_hash TEXT NOT NULL,
        schedule_json TEXT NOT NULL,
        schedule_fingerprint TEXT NOT NULL,
        locked_at TEXT NOT NULL
    )""",
    """CREATE TABLE amendments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
        sections TEXT NOT NULL,
        protocol_text TEXT NOT NULL,
        protocol_json TEXT NOT NULL,
        protocol_hash TEXT NOT NULL,
        locked_hash TEXT NOT NULL,
        schedule_json TEXT NOT NULL,
        schedule_fingerprint TEXT NOT NULL
    )""",
    """CREATE TABLE entries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        date TEXT NOT NULL,
        outcome TEXT NOT NULL,
        value REAL NOT NULL,
        recorded_at TEXT NOT NULL,
        command TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        supersedes INTEGER REFERENCES entries(id)
    )""",
    "CREATE INDEX entries_date ON entries (date, outcome, id)",
    """CREATE TABLE adherence (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        date TEXT NOT NULL,
        took TEXT NOT NULL CHECK (took IN ('yes', 'partial', 'no')),
        recorded_at TEXT NOT NULL,
        command TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        supersedes INTEGER REFERENCES adherence(id)
    )""",
    "CREATE INDEX adherence_date ON adherence (date, id)",
    """CREATE TABLE adverse_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        date TEXT NOT NULL,
        description TEXT NOT NULL,
        severity TEXT NOT NULL CHECK (severity IN ('mild', 'moderate', 'severe')),
        serious INTEGER NOT NULL CHECK (serious IN (0, 1)),
        action TEXT NOT NULL DEFAULT '',
        recorded_at TEXT NOT NULL,
        command TEXT NOT NULL
    )""",
    """CREATE TABLE notes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        date TEXT NOT NULL,
        text TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        command TEXT NOT NULL
    )""",
    """CREATE TABLE reveals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        by TEXT NOT NULL,
        command TEXT NOT NULL
    )""",
    """CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        command TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        row_id INTEGER,
        detail TEXT NOT NULL DEFAULT ''
    )""",
    *(sql for table in _APPEND_ONLY for sql in _append_only_triggers(table)),
)

#: Version 2: the trial can be stopped early (``nof1 stop``), with the date and the reason.
_V2: tuple[str, ...] = (
    """CREATE TABLE stops (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        date TEXT NOT NULL,
        reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
        command TEXT NOT NULL
    )""",
    *_append_only_triggers("stops"),
)

#: Reviews of met stopping rules (``nof1 review``): who reviewed which rule, met on which day
#: on which evidence, and whether the trial continues or stops. Append-only.
_REVIEWS: tuple[str, ...] = (
    """CREATE TABLE reviews (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        rule TEXT NOT NULL CHECK (length(trim(rule)) > 0),
        description TEXT NOT NULL DEFAULT '',
        met_on TEXT NOT NULL,
        evidence TEXT NOT NULL,
        by TEXT NOT NULL CHECK (length(trim(by)) > 0),
        decision TEXT NOT NULL CHECK (decision IN ('continue', 'stop')),
        note TEXT NOT NULL DEFAULT '',
        command TEXT NOT NULL
    )""",
    *_append_only_triggers("reviews"),
)

#: Ordered forward migrations; migration ``i`` (0-based) brings the schema to version ``i + 1``.
#: Append new migrations, never edit an old one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _REVIEWS)
SCHEMA_VERSION = len(MIGRATIONS)

#: Every append-only table (the triggers of each migration refuse updates and deletes).
APPEND_ONLY_TABLES = (*_APPEND_ONLY, "stops", "reviews")

_REQUIRED_TABLES = frozenset({"schema_version", *APPEND_ONLY_TABLES})


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


# --------------------------------------------------------------------------------------------
# Row values
# --------------------------------------------------------------------------------------------


@frozen
class Entry:
    """One stored outcome value, as written (corrections are further entries)."""

    id: int
    date: dt.date
    outcome: str
    value: float
    recorded_at: str
    command: str
    reason: str = ""
    supersedes: int | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Entry:
        return cls(
            id=row["id"],
            date=dt.date.fromisoformat(row["date"]),
            outcome=row["outcome"],
            value=float(row["value"]),
            recorded_at=row["recorded_at"],
            command=row["command"],
            reason=row["reason"],
            supersedes=row["supersedes"],
        )

    @property
    def is_correction(self) -> bool:
        return self.supersedes is not None


@frozen
class AdherenceEntry:
    """One stored adherence answer (corrections are further rows)."""

    id: int
    date: dt.date
    took: str
    recorded_at: str
    command: str
    reason: str = ""
    supersedes: int | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> AdherenceEntry:
        return cls(
            id=row["id"],
            date=dt.date.fromisoformat(row["date"]),
            took=row["took"],
            recorded_at=row["recorded_at"],
            command=row["command"],
            reason=row["reason"],
            supersedes=row["supersedes"],
        )

    def to_record(self) -> Adherence:
        return Adherence(date=self.date, took=self.took)


@frozen
class Note:
    """A free-text note for a day."""

    id: int
    date: dt.date
    text: str
    recorded_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Note:
        return cls(
            id=row["id"],
            date=dt.date.fromisoformat(row["date"]),
            text=row["text"],
            recorded_at=row["recorded_at"],
        )


@frozen
class History:
    """Everything ever written about one date, oldest first."""

    date: dt.date
    entries: tuple[Entry, ...]
    adherence: tuple[AdherenceEntry, ...]
    notes: tuple[Note, ...]
    events: tuple[AdverseEvent, ...]

    @property
    def empty(self) -> bool:
        return not (self.entries or self.adherence or self.notes or self.events)


@frozen
class LockRecord:
    """The protocol and schedule as locked by ``nof1 start`` or by the latest amendment."""

    trial_id: str
    protocol_text: str
    protocol: dict[str, Any]
    protocol_hash: str
    locked_hash: str
    schedule: dict[str, Any]
    schedule_fingerprint: str
    at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row, trial_id: str) -> LockRecord:
        return cls(
            trial_id=trial_id,
            protocol_text=row["protocol_text"],
            protocol=json.loads(row["protocol_json"]),
            protocol_hash=row["protocol_hash"],
            locked_hash=row["locked_hash"],
            schedule=json.loads(row["schedule_json"]),
            schedule_fingerprint=row["schedule_fingerprint"],
            at=row["locked_at"] if "locked_at" in row.keys() else row["at"],
        )


@frozen
class Amendment:
    """A recorded change to the locked protocol."""

    id: int
    at: str
    reason: str
    sections: tuple[str, ...]
    protocol_hash: str
    locked_hash: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Amendment:
        return cls(
            id=row["id"],
            at=row["at"],
            reason=row["reason"],
            sections=tuple(json.loads(row["sections"])),
            protocol_hash=row["protocol_hash"],
            locked_hash=row["locked_hash"],
        )


@frozen
class Reveal:
    """The allocation was revealed to the patient."""

    at: str
    by: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Reveal:
        return cls(at=row["at"], by=row["by"])


@frozen
class Stop:
    """The trial was stopped early on ``date`` for ``reason``."""

    at: str
    date: dt.date
    reason: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Stop:
        return cls(at=row["at"], date=dt.date.fromisoformat(row["date"]), reason=row["reason"])


@frozen
class Review:
    """A clinician's review of a met stopping rule (``nof1 review``)."""

    id: int
    at: str
    rule: str
    description: str
    met_on: dt.date
    evidence: str
    by: str
    decision: str
    note: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Review:
        return cls(
            id=row["id"],
            at=row["at"],
            rule=row["rule"],
            description=row["description"],
            met_on=dt.date.fromisoformat(row["met_on"]),
            evidence=row["evidence"],
            by=row["by"],
            decision=row["decision"],
            note=row["note"],
        )


@frozen
class AuditRecord:
    """One write, as recorded in the audit trail."""

    id: int
    at: str
    command: str
    action: str
    target: str
    row_id: int | None
    detail: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> AuditRecord:
        return cls(
            id=row["id"],
            at=row["at"],
            command=row["command"],
            action=row["action"],
            target=row["target"],
            row_id=row["row_id"],
            detail=row["detail"],
        )


@frozen
class BackupInfo:
    """What :func:`check_backup` found in a backup file."""

    path: Path
    schema_version: int
    trial_id: str | None
    entries: int
    locked_at: str | None


# --------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------


#: SQLite's side files of a store (WAL, shared memory, rollback journal).
_SIDE_FILES = ("-wal", "-shm", "-journal")


def _connect(path: Path, *, readonly: bool = False, immutable: bool = False) -> sqlite3.Connection:
    if readonly or immutable:
        query = "immutable=1" if immutable else "mode=ro"
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?{query}", uri=True, isolation_level=None)
    else:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _cannot_write(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite failed because the disk is full or the file/folder cannot be written."""
    name = getattr(exc, "sqlite_errorname", "")
    return name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_FULL", "SQLITE_IOERR"))


def _not_written(path: Path, why: str) -> StoreError:
    return StoreError(
        f"cannot write the data store {path} ({why}): nothing was recorded. Free disk space, or "
        "copy the trial folder to writable media, and run the command again"
    )


def _schema_version(conn: sqlite3.Connection) -> int:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def _too_new(path: Path, version: int) -> StoreError:
    return StoreError(
        f"{path.name} has schema version {version} but this nof1 understands up to "
        f"{SCHEMA_VERSION}: upgrade nof1 (pip install -U nof1) to read it"
    )


@define
class Store:
    """A connection to one trial's store. Open with :meth:`open`; close with :meth:`close`.

    Reads may happen at any time; writes only inside :meth:`transaction`.
    """

    path: Path
    _conn: sqlite3.Connection
    #: Opened read-only because the file or its folder cannot be written (read-only media):
    #: reading, exporting and backing up work; every write is refused with a clear error.
    read_only: bool = False
    _command: str | None = field(default=None, init=False)

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True) -> Store:
        """Open (and with ``create`` make, mode 0600) the store at ``path``, migrating it forward.

        Raises
        ------
        StoreError
            When the file is missing and ``create`` is false, is not a nof1 store, or comes from
            a newer nof1.
        """
        path = Path(path)
        if not path.exists():
            if not create:
                raise StoreError(f"no data store at {path}: run `nof1 start` first")
            try:
                files.create_private_file(path)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the data store {path}: {files.explain(exc)}"
                ) from None
        try:
            conn: sqlite3.Connection | None = None
            try:
                conn = _connect(path)
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
                store = cls(path, conn)
                store._migrate()
            except sqlite3.OperationalError as exc:
                if conn is not None:
                    conn.close()
                if not _cannot_write(exc):
                    raise
                store = cls._open_read_only(path)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is not a readable nof1 data store ({exc})") from None
        return store

    @classmethod
    def _open_read_only(cls, path: Path) -> Store:
        """Open a store whose file or folder cannot be written (read-only media).

        ``mode=ro`` still needs the ``-shm`` side file; on media where it cannot be created the
        file is opened ``immutable`` — safe only when no ``-wal`` holds changes not yet in the
        main file, which is checked first.
        """
        try:
            conn = _connect(path, readonly=True)
            conn.execute("SELECT 1 FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            wal = path.with_name(path.name + "-wal")
            if wal.exists() and wal.stat().st_size > 0:
                raise StoreError(
                    f"{path} cannot be written and {wal.name} holds changes not yet in it: copy "
                    "the trial folder to writable media and run the command there"
                ) from None
            conn = _connect(path, immutable=True)
        store = cls(path, conn, read_only=True)
        version = _schema_version(conn)
        if version != SCHEMA_VERSION:
            conn.close()
            if version > SCHEMA_VERSION:
                raise _too_new(path, version)
            raise StoreError(
                f"{path} needs an upgrade to this nof1's format but cannot be written: copy the "
                "trial folder to writable media and run the command there"
            )
        return store

    def _migrate(self) -> None:
        version = _schema_version(self._conn)
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise _too_new(self.path, version)
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            version = _schema_version(self._conn)  # another process may have migrated meanwhile
            for number in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[number - 1]:
                    self._conn.execute(statement)
                self._conn.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                    (number, _now()),
                )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return _schema_version(self._conn)

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def transaction(self, command: str) -> Iterator[Store]:
        """One command's writes, all or nothing. ``command`` is recorded in the audit trail."""
        if self._command is not None:
            raise StoreError(f"nested transaction ({command!r} inside {self._command!r})")
        if self.read_only:
            raise _not_written(self.path, "its file, folder or disk cannot be written")
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _cannot_write(exc):
                raise _not_written(self.path, str(exc)) from None
            raise StoreError(
                f"the data store is busy or locked ({exc}): try again in a moment"
            ) from None
        self._command = command
        try:
            yield self
            self._conn.execute("COMMIT")
        except BaseException as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError) and _cannot_write(exc):
                raise _not_written(self.path, str(exc)) from None
            raise
        finally:
            self._command = None

    def _insert(self, table: str, values: dict[str, Any], detail: str = "") -> int:
        if self._command is None:
            raise StoreError(f"write to {table} outside a transaction (use store.transaction)")
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cursor = self._conn.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values())
        )
        row_id = int(cursor.lastrowid or 0)
        self._conn.execute(
            "INSERT INTO audit (at, command, action, target, row_id, detail) "
            "VALUES (?, ?, 'insert', ?, ?, ?)",
            (_now(), self._command, table, row_id, detail),
        )
        return row_id

    def audit_note(self, action: str, detail: str = "") -> None:
        """Record an event that is not a row insert (e.g. a backup or a restore)."""
        if self._command is None:
            raise StoreError("audit note outside a transaction (use store.transaction)")
        self._conn.execute(
            "INSERT INTO audit (at, command, action, target, row_id, detail) "
            "VALUES (?, ?, ?, '', NULL, ?)",
            (_now(), self._command, action, detail),
        )

    # -- lock and amendments ------------------------------------------------------------------

    def write_lock(
        self,
        *,
        trial_id: str,
        protocol_text: str,
        protocol: dict[str, Any],
        protocol_hash: str,
        locked_hash: str,
        schedule: dict[str, Any],
        schedule_fingerprint: str,
    ) -> None:
        """Record the lock made by ``nof1 start``; :class:`StoreError` when already locked."""
        if self._conn.execute("SELECT 1 FROM lock").fetchone():
            raise StoreError("the trial is already locked")
        self._insert(
            "lock",
            {
                "id": 1,
                "trial_id": trial_id,
                "protocol_text": protocol_text,
                "protocol_json": _dumps(protocol),
                "protocol_hash": protocol_hash,
                "locked_hash": locked_hash,
                "schedule_json": _dumps(schedule),
                "schedule_fingerprint": schedule_fingerprint,
                "locked_at": _now(),
            },
            detail=protocol_hash,
        )

    def write_amendment(
        self,
        *,
        reason: str,
        sections: Sequence[str],
        protocol_text: str,
        protocol: dict[str, Any],
        protocol_hash: str,
        locked_hash: str,
        schedule: dict[str, Any],
        schedule_fingerprint: str,
    ) -> int:
        """Record an amendment; the newest amendment is the protocol in force."""
        return self._insert(
            "amendments",
            {
                "at": _now(),
                "reason": reason,
                "sections": json.dumps(list(sections)),
                "protocol_text": protocol_text,
                "protocol_json": _dumps(protocol),
                "protocol_hash": protocol_hash,
                "locked_hash": locked_hash,
                "schedule_json": _dumps(schedule),
                "schedule_fingerprint": schedule_fingerprint,
            },
            detail=reason,
        )

    def lock(self) -> LockRecord | None:
        """The original lock, or ``None`` before ``nof1 start``."""
        row = self._conn.execute("SELECT * FROM lock").fetchone()
        return None if row is None else LockRecord.from_row(row, row["trial_id"])

    def current_lock(self) -> LockRecord | None:
        """The protocol in force: the newest amendment, else the original lock."""
        lock = self.lock()
        if lock is None:
            return None
        row = self._conn.execute("SELECT * FROM amendments ORDER BY id DESC LIMIT 1").fetchone()
        return lock if row is None else LockRecord.from_row(row, lock.trial_id)

    def amendments(self) -> list[Amendment]:
        rows = self._conn.execute("SELECT * FROM amendments ORDER BY id").fetchall()
        return [Amendment.from_row(r) for r in rows]

    # -- daily records ------------------------------------------------------------------------

    def add_entry(self, date: dt.date, outcome: str, value: float, *, reason: str = "") -> int:
        """Append an outcome value; it supersedes any earlier value for the same day/outcome."""
        previous = self._conn.execute(
            "SELECT MAX(id) FROM entries WHERE date = ? AND outcome = ?",
            (date.isoformat(), outcome),
        ).fetchone()[0]
        return self._insert(
            "entries",
            {
                "date": date.isoformat(),
                "outcome": outcome,
                "value": float(value),
                "recorded_at": _now(),
                "command": self._command or "",
                "reason": reason,
                "supersedes": previous,
            },
            detail=f"{date.isoformat()} {outcome}={value:g}",
        )

    def add_adherence(self, date: dt.date, took: str, *, reason: str = "") -> int:
        """Append an adherence answer; it supersedes any earlier answer for the same day."""
        previous = self._conn.execute(
            "SELECT MAX(id) FROM adherence WHERE date = ?", (date.isoformat(),)
        ).fetchone()[0]
        return self._insert(
            "adherence",
            {
                "date": date.isoformat(),
                "took": took,
                "recorded_at": _now(),
                "command": self._command or "",
                "reason": reason,
                "supersedes": previous,
            },
            detail=f"{date.isoformat()} took={took}",
        )

    def add_event(self, event: AdverseEvent) -> int:
        return self._insert(
            "adverse_events",
            {
                "date": event.date.isoformat(),
                "description": event.description,
                "severity": event.severity,
                "serious": int(event.serious),
                "action": event.action,
                "recorded_at": _now(),
                "command": self._command or "",
            },
            detail=f"{event.date.isoformat()} {event.severity}",
        )

    def add_note(self, date: dt.date, text: str) -> int:
        return self._insert(
            "notes",
            {
                "date": date.isoformat(),
                "text": text,
                "recorded_at": _now(),
                "command": self._command or "",
            },
            detail=date.isoformat(),
        )

    def add_reveal(self, by: str) -> int:
        return self._insert(
            "reveals", {"at": _now(), "by": by, "command": self._command or ""}, detail=by
        )

    def add_stop(self, date: dt.date, reason: str) -> int:
        return self._insert(
            "stops",
            {
                "at": _now(),
                "date": date.isoformat(),
                "reason": reason,
                "command": self._command or "",
            },
            detail=date.isoformat(),
        )

    def add_review(
        self,
        *,
        rule: str,
        description: str,
        met_on: dt.date,
        evidence: str,
        by: str,
        decision: str,
        note: str,
    ) -> int:
        return self._insert(
            "reviews",
            {
                "at": _now(),
                "rule": rule,
                "description": description,
                "met_on": met_on.isoformat(),
                "evidence": evidence,
                "by": by,
                "decision": decision,
                "note": note,
                "command": self._command or "",
            },
            detail=f"{rule} {decision}",
        )

    # -- reading ------------------------------------------------------------------------------

    def current_entries(self) -> list[Entry]:
        """The newest entry per (date, outcome), ordered by date then outcome."""
        rows = self._conn.execute(
            "SELECT e.* FROM entries e JOIN ("
            "  SELECT MAX(id) AS id FROM entries GROUP BY date, outcome"
            ") newest ON newest.id = e.id ORDER BY e.date, e.outcome"
        ).fetchall()
        return [Entry.from_row(r) for r in rows]

    def current_adherence(self) -> list[AdherenceEntry]:
        """The newest adherence answer per date, ordered by date."""
        rows = self._conn.execute(
            "SELECT a.* FROM adherence a JOIN ("
            "  SELECT MAX(id) AS id FROM adherence GROUP BY date"
            ") newest ON newest.id = a.id ORDER BY a.date"
        ).fetchall()
        return [AdherenceEntry.from_row(r) for r in rows]

    def logged_dates(self) -> set[dt.date]:
        """Dates with at least one outcome entry."""
        rows = self._conn.execute("SELECT DISTINCT date FROM entries").fetchall()
        return {dt.date.fromisoformat(r[0]) for r in rows}

    def day_entries(self, date: dt.date) -> list[Entry]:
        """The newest entry per outcome for one date."""
        rows = self._conn.execute(
            "SELECT e.* FROM entries e JOIN ("
            "  SELECT MAX(id) AS id FROM entries WHERE date = ? GROUP BY outcome"
            ") newest ON newest.id = e.id ORDER BY e.outcome",
            (date.isoformat(),),
        ).fetchall()
        return [Entry.from_row(r) for r in rows]

    def _entries_on(self, date: dt.date) -> list[Entry]:
        rows = self._conn.execute(
            "SELECT * FROM entries WHERE date = ? ORDER BY id", (date.isoformat(),)
        ).fetchall()
        return [Entry.from_row(r) for r in rows]

    def events(self) -> list[AdverseEvent]:
        rows = self._conn.execute("SELECT * FROM adverse_events ORDER BY date, id").fetchall()
        return [_event_from_row(r) for r in rows]

    def notes(self) -> list[Note]:
        rows = self._conn.execute("SELECT * FROM notes ORDER BY date, id").fetchall()
        return [Note.from_row(r) for r in rows]

    def reveals(self) -> list[Reveal]:
        rows = self._conn.execute("SELECT * FROM reveals ORDER BY id").fetchall()
        return [Reveal.from_row(r) for r in rows]

    def stops(self) -> list[Stop]:
        rows = self._conn.execute("SELECT * FROM stops ORDER BY id").fetchall()
        return [Stop.from_row(r) for r in rows]

    def reviews(self) -> list[Review]:
        rows = self._conn.execute("SELECT * FROM reviews ORDER BY id").fetchall()
        return [Review.from_row(r) for r in rows]

    def audit(self) -> list[AuditRecord]:
        rows = self._conn.execute("SELECT * FROM audit ORDER BY id").fetchall()
        return [AuditRecord.from_row(r) for r in rows]

    def history(self, date: dt.date) -> History:
        """Every value ever written for ``date``, corrections included, oldest first."""
        key = date.isoformat()
        adherence = self._conn.execute(
            "SELECT * FROM adherence WHERE date = ? ORDER BY id", (key,)
        ).fetchall()
        notes = self._conn.execute("SELECT * FROM notes WHERE date = ? ORDER BY id", (key,))
        events = self._conn.execute(
            "SELECT * FROM adverse_events WHERE date = ? ORDER BY id", (key,)
        )
        return History(
            date=date,
            entries=tuple(self._entries_on(date)),
            adherence=tuple(AdherenceEntry.from_row(r) for r in adherence),
            notes=tuple(Note.from_row(r) for r in notes.fetchall()),
            events=tuple(_event_from_row(r) for r in events.fetchall()),
        )

    def count(self, table: str) -> int:
        if table not in APPEND_ONLY_TABLES:
            raise ValueError(f"unknown table {table!r}")
        return int(self._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def integrity_problems(self) -> list[str]:
        """``PRAGMA integrity_check`` and foreign-key check results; empty when healthy."""
        rows = [r[0] for r in self._conn.execute("PRAGMA integrity_check").fetchall()]
        problems = [r for r in rows if r != "ok"]
        problems += [
            f"foreign key broken in {r[0]} row {r[1]}"
            for r in self._conn.execute("PRAGMA foreign_key_check").fetchall()
        ]
        return problems

    # -- backup and restore -------------------------------------------------------------------

    def backup(
        self, dest: str | Path, *, force: bool = False, protected: Sequence[Path] = ()
    ) -> Path:
        """Write a consistent copy of the store to ``dest`` (mode 0600), even while others write.

        Uses SQLite's online backup API; the copy is a single self-contained file (rollback
        journal mode) so it can be moved or mailed on its own. It is written to a temporary file
        in the same folder and moved into place atomically (:mod:`nof1.files`): never onto this
        store or a ``protected`` file, never over an existing file unless ``force``.
        """
        given = Path(dest)
        protected = (self.path, *(self.path.with_name(self.path.name + s) for s in _SIDE_FILES),
                     *protected)  # fmt: skip
        try:
            place = files.check_destination(given, force=force, protected=protected)
            with files.private_temp(place) as tmp:
                target = sqlite3.connect(tmp, isolation_level=None)
                try:
                    self._conn.backup(target)
                    target.execute("PRAGMA journal_mode = DELETE")
                finally:
                    target.close()
                files.publish(tmp, place, force=force)
        except OutputError as exc:
            raise StoreError(f"backup not written: {exc}") from None
        except sqlite3.Error as exc:
            raise StoreError(f"backup to {given} failed ({exc}); nothing was written") from None
        return given

    def restore(self, source: str | Path, *, trial_id: str | None) -> BackupInfo:
        """Replace this store's contents with a checked backup (see :func:`check_backup`)."""
        info = check_backup(source, trial_id=trial_id)
        src = _connect(Path(source), readonly=True)
        try:
            src.backup(self._conn)
        except sqlite3.Error as exc:
            raise StoreError(
                f"restore from {source} failed ({exc}); the store is unchanged"
            ) from None
        finally:
            src.close()
        if self._conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            self._conn.execute("PRAGMA journal_mode = WAL")
        self._migrate()
        return info


def check_backup(path: str | Path, *, trial_id: str | None) -> BackupInfo:
    """Check a backup before it is restored: integrity, schema version and trial identity.

    ``trial_id`` is the id of the trial it should belong to (``None``: accept any trial).

    Raises
    ------
    StoreError
        Naming what is wrong: missing file, not an SQLite database, failed integrity check,
        missing tables, newer schema, or a backup of another trial.
    """
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"backup file not found: {path}")
    try:
        conn = _connect(path, readonly=True)
    except sqlite3.Error as exc:
        raise StoreError(f"{path} cannot be opened as a backup ({exc})") from None
    try:
        try:
            problems = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is not a nof1 backup: {exc}") from None
        if problems != ["ok"]:
            raise StoreError(
                f"{path} failed its integrity check ({'; '.join(problems[:3])}): "
                "it is damaged, use another backup"
            )
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = sorted(_REQUIRED_TABLES - tables)
        if missing:
            raise StoreError(f"{path} is not a nof1 backup (missing tables: {', '.join(missing)})")
        version = _schema_version(conn)
        if version > SCHEMA_VERSION:
            raise _too_new(path, version)
        lock = conn.execute("SELECT trial_id, locked_at FROM lock").fetchone()
        found = None if lock is None else str(lock["trial_id"])
        if trial_id is not None and found != trial_id:
            raise StoreError(
                f"{path} belongs to trial {found!r}, not to this trial {trial_id!r}: "
                "restore it into its own workspace"
            )
        entries = int(conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
        return BackupInfo(
            path=path,
            schema_version=version,
            trial_id=found,
            entries=entries,
            locked_at=None if lock is None else lock["locked_at"],
        )
    finally:
        conn.close()


def _event_from_row(row: sqlite3.Row) -> AdverseEvent:
    return AdverseEvent(
        date=dt.date.fromisoformat(row["date"]),
        description=row["description"],
        severity=row["severity"],
        serious=bool(row["serious"]),
        action=row["action"],
    )


def _dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
