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
  naming the command. The database itself refuses a second value for a day without a reason.
* Tamper evidence: every row appended to an append-only table (:data:`APPEND_ONLY_TABLES`) gets a
  link in one global hash chain (table ``chain``): ``row_hash`` = SHA-256 of the row's columns,
  ``hash`` = SHA-256 of the previous link's hash and ``row_hash`` (see docs/integrity.md).
  :meth:`Store.tamper_problems` re-computes it; :mod:`nof1.integrity` adds the lock re-hash.
* Every store gets a random trial identifier (table ``trial``) when it is created; restore
  compares it with the backup's.

Rows become objects through named constructors (``Entry.from_row``), never ``Cls(**row)``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
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

#: Where a diary record came from: ``cli`` (the terminal, imports) or ``web`` (``nof1 serve``).
SOURCES = ("cli", "web")
_SOURCED = ("entries", "adherence", "adverse_events", "notes")

#: Each diary record says where it came from; older rows are from the CLI.
_ENTRY_SOURCE: tuple[str, ...] = tuple(
    f"ALTER TABLE {table} ADD COLUMN source TEXT NOT NULL DEFAULT 'cli' "
    "CHECK (source IN ('cli', 'web'))"
    for table in _SOURCED
)

#: A reveal records why (``--reason``) and whether it came before the last period ended
#: (``--early``). Rows from before this migration keep an empty reason; new rows need one.
_REVEAL_REASON: tuple[str, ...] = (
    "ALTER TABLE reveals ADD COLUMN reason TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE reveals ADD COLUMN early INTEGER NOT NULL DEFAULT 0 CHECK (early IN (0, 1))",
    "CREATE TRIGGER reveals_need_reason BEFORE INSERT ON reveals "
    "WHEN length(trim(NEW.reason)) = 0 OR length(trim(NEW.by)) = 0 "
    "BEGIN SELECT RAISE(ABORT, 'a reveal needs who (by) and why (reason)'); END",
)

#: Every append-only table (no UPDATE, no DELETE; triggers refuse them), in hash-chain order for
#: the rows that existed before the chain. A new append-only table is added here (and gets its
#: triggers in its own migration): the hash chain and ``nof1 verify`` cover it from then on.
APPEND_ONLY_TABLES: tuple[str, ...] = ("trial", *_APPEND_ONLY, "stops", "reviews")

#: The chain's starting point: the ``prev_hash`` of the first link.
GENESIS = "0" * 64

#: Triggers that make the database itself refuse a second value for the same day without a
#: reason (a correction must say why), whatever program writes to it.
_CORRECTION_TRIGGERS: tuple[str, ...] = (
    "CREATE TRIGGER entries_correction_needs_reason BEFORE INSERT ON entries "
    "WHEN length(trim(NEW.reason)) = 0 AND EXISTS (SELECT 1 FROM entries "
    "WHERE date = NEW.date AND outcome = NEW.outcome) "
    "BEGIN SELECT RAISE(ABORT, 'entries: a second value for the same date and outcome needs a "
    "reason'); END",
    "CREATE TRIGGER adherence_correction_needs_reason BEFORE INSERT ON adherence "
    "WHEN length(trim(NEW.reason)) = 0 AND EXISTS (SELECT 1 FROM adherence "
    "WHERE date = NEW.date) "
    "BEGIN SELECT RAISE(ABORT, 'adherence: a second answer for the same date needs a reason'); "
    "END",
)

#: One migration step: an SQL statement, or a function for what SQL cannot do (hashing).
Step = str | Callable[[sqlite3.Connection], None]


def _create_identity(conn: sqlite3.Connection) -> None:
    conn.execute(
        "INSERT INTO trial (id, uid, created_at) VALUES (1, ?, ?)", (os.urandom(16).hex(), _now())
    )


def _append_only_tables(conn: sqlite3.Connection) -> list[str]:
    """:data:`APPEND_ONLY_TABLES` present in the store, then any other table guarded by a
    ``<table>_no_update`` trigger (an append-only table not yet listed is still chained)."""
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    guarded = {
        str(r[0])
        for r in conn.execute(
            "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_no_update'"
        )
    }
    listed = [t for t in APPEND_ONLY_TABLES if t in present]
    return listed + sorted((guarded & present) - set(listed) - {"chain"})


def _chain_existing_rows(conn: sqlite3.Connection) -> None:
    """Link every row already stored, table by table (APPEND_ONLY_TABLES order), by id."""
    for table in _append_only_tables(conn):
        for (row_id,) in conn.execute(f"SELECT id FROM {table} ORDER BY id").fetchall():
            _link(conn, table, int(row_id))


#: The hash chain over every append-only table, the trial's random identifier, and
#: database-level refusal of a correction without a reason. Last: it chains the rows of every
#: append-only table created before it.
_CHAIN: tuple[Step, ...] = (
    """CREATE TABLE trial (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        uid TEXT NOT NULL CHECK (length(uid) = 32),
        created_at TEXT NOT NULL
    )""",
    _create_identity,
    """CREATE TABLE chain (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        tbl TEXT NOT NULL,
        row_id INTEGER NOT NULL,
        columns TEXT NOT NULL,
        row_hash TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        UNIQUE (tbl, row_id)
    )""",
    *_append_only_triggers("trial"),
    *_append_only_triggers("chain"),
    *_CORRECTION_TRIGGERS,
    _chain_existing_rows,
)

#: Ordered forward migrations; migration ``i`` (0-based) brings the schema to version ``i + 1``.
#: Append new migrations, never edit an old one.
MIGRATIONS: tuple[tuple[Step, ...], ...] = (
    _V1,
    _V2,
    _REVIEWS,
    _REVEAL_REASON,
    _ENTRY_SOURCE,
    _CHAIN,
)
SCHEMA_VERSION = len(MIGRATIONS)

#: Tables every backup has: an older backup (before reviews or the chain) is migrated forward.
_REQUIRED_TABLES = frozenset({"schema_version", *_APPEND_ONLY, "stops"})


def expected_triggers() -> dict[str, str]:
    """Name -> SQL of every trigger the current schema must have (``nof1 verify`` checks them)."""
    statements = [
        sql for table in (*APPEND_ONLY_TABLES, "chain") for sql in _append_only_triggers(table)
    ]
    statements += _CORRECTION_TRIGGERS
    return {sql.split()[2]: sql for sql in statements}


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def row_hash(table: str, row_id: int, row: dict[str, Any]) -> str:
    """SHA-256 of one stored row: canonical JSON of ``{"table", "id", "row": {column: value}}``."""
    blob = _canonical({"table": table, "id": row_id, "row": row})
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def link_hash(prev_hash: str, this_row_hash: str) -> str:
    """SHA-256 of ``"<previous link hash>:<row hash>"``: the chain's link."""
    return hashlib.sha256(f"{prev_hash}:{this_row_hash}".encode()).hexdigest()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _link(conn: sqlite3.Connection, table: str, row_id: int) -> str:
    """Append the chain link of ``table`` row ``row_id`` (inside the caller's transaction)."""
    cursor = conn.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,))
    columns = [d[0] for d in cursor.description]
    values = cursor.fetchone()
    row = dict(zip(columns, values, strict=True))
    last = conn.execute("SELECT hash FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
    prev = GENESIS if last is None else str(last[0])
    digest = row_hash(table, row_id, row)
    new = link_hash(prev, digest)
    conn.execute(
        "INSERT INTO chain (tbl, row_id, columns, row_hash, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (table, row_id, json.dumps(columns), digest, prev, new),
    )
    return new


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _stored_real(value: Any) -> float:
    """A stored value as a float: NaN when the row holds something else (written outside nof1),
    so that reading, `nof1 history` and `nof1 export` show it instead of crashing."""
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return float("nan")


def _stored_date(row: sqlite3.Row, table: str) -> dt.date:
    raw = row["date"]
    try:
        return dt.date.fromisoformat(raw)
    except (TypeError, ValueError):
        raise StoreError(
            f"{table} row {row['id']} has date {str(raw)[:40]!r}, which is not a date: the store "
            "was changed outside nof1 (restore a backup with `nof1 restore FILE`)"
        ) from None


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
    source: str = "cli"

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Entry:
        return cls(
            id=row["id"],
            date=_stored_date(row, "entries"),
            outcome=str(row["outcome"]),
            value=_stored_real(row["value"]),
            recorded_at=row["recorded_at"],
            command=row["command"],
            reason=row["reason"],
            supersedes=row["supersedes"],
            source=row["source"],
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
    source: str = "cli"

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> AdherenceEntry:
        return cls(
            id=row["id"],
            date=_stored_date(row, "adherence"),
            took=row["took"],
            recorded_at=row["recorded_at"],
            command=row["command"],
            reason=row["reason"],
            supersedes=row["supersedes"],
            source=row["source"],
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
    source: str = "cli"

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Note:
        return cls(
            id=row["id"],
            date=dt.date.fromisoformat(row["date"]),
            text=row["text"],
            recorded_at=row["recorded_at"],
            source=row["source"],
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
        try:
            protocol, schedule = json.loads(row["protocol_json"]), json.loads(row["schedule_json"])
        except ValueError as exc:  # edited behind nof1's back
            raise StoreError(
                f"the locked protocol or schedule in the data store is unreadable ({exc}): the "
                "store was altered outside nof1; run `nof1 verify`, or restore a backup"
            ) from None
        return cls(
            trial_id=trial_id,
            protocol_text=row["protocol_text"],
            protocol=protocol,
            protocol_hash=row["protocol_hash"],
            locked_hash=row["locked_hash"],
            schedule=schedule,
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
    """The allocation was revealed to the patient: when, by whom, why, and whether early."""

    at: str
    by: str
    reason: str = ""
    early: bool = False

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Reveal:
        return cls(at=row["at"], by=row["by"], reason=row["reason"], early=bool(row["early"]))


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
    """What :func:`check_backup` found in a backup file.

    ``trial_uid`` is ``None`` for a backup made before trials had identifiers; ``protocol_hash``
    and ``schedule_fingerprint`` are the original lock's (``None`` before ``nof1 start``).
    """

    path: Path
    schema_version: int
    trial_id: str | None
    entries: int
    locked_at: str | None
    trial_uid: str | None = None
    protocol_hash: str | None = None
    schedule_fingerprint: str | None = None


@frozen
class Problem:
    """One sign of tampering: which table, which row (``None``: the table itself) and what."""

    table: str
    row_id: int | None
    what: str

    def __str__(self) -> str:
        where = self.table if self.row_id is None else f"{self.table} row {self.row_id}"
        return f"{where}: {self.what}"


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
    _source: str = field(default="cli", init=False)

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
            if conn is not None:
                conn.close()  # now, not whenever the garbage collector gets to it
            raise StoreError(
                f"{path} is not a readable nof1 data store ({exc}): restore a backup with "
                "`nof1 restore FILE` (the damaged file is kept aside)"
            ) from None
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
                    if isinstance(statement, str):
                        self._conn.execute(statement)
                    else:
                        statement(self._conn)
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
    def transaction(self, command: str, *, source: str = "cli") -> Iterator[Store]:
        """One command's writes, all or nothing. ``command`` is recorded in the audit trail;
        ``source`` (``cli`` or ``web``) on each diary record written."""
        if source not in SOURCES:
            raise StoreError(f"source must be one of {', '.join(SOURCES)} (got {source!r})")
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
        self._command, self._source = command, source
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
            self._command, self._source = None, "cli"

    def _insert(self, table: str, values: dict[str, Any], detail: str = "") -> int:
        if self._command is None:
            raise StoreError(f"write to {table} outside a transaction (use store.transaction)")
        if table in _SOURCED:
            values = {**values, "source": self._source}
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cursor = self._conn.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values())
        )
        row_id = int(cursor.lastrowid or 0)
        _link(self._conn, table, row_id)
        audit = self._conn.execute(
            "INSERT INTO audit (at, command, action, target, row_id, detail) "
            "VALUES (?, ?, 'insert', ?, ?, ?)",
            (_now(), self._command, table, row_id, detail),
        )
        _link(self._conn, "audit", int(audit.lastrowid or 0))
        return row_id

    def audit_note(self, action: str, detail: str = "") -> None:
        """Record an event that is not a row insert (e.g. a backup or a restore)."""
        if self._command is None:
            raise StoreError("audit note outside a transaction (use store.transaction)")
        audit = self._conn.execute(
            "INSERT INTO audit (at, command, action, target, row_id, detail) "
            "VALUES (?, ?, ?, '', NULL, ?)",
            (_now(), self._command, action, detail),
        )
        _link(self._conn, "audit", int(audit.lastrowid or 0))

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
        note: str = "",
    ) -> None:
        """Record the lock made by ``nof1 start``; :class:`StoreError` when already locked.

        ``note`` is added to the lock's audit row (e.g. that it was locked late).
        """
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
            detail=f"{protocol_hash}; {note}" if note else protocol_hash,
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

    def lock_history(self) -> list[tuple[str, int, LockRecord]]:
        """The lock and every amendment as ``(table, row id, record)``, oldest first.

        Raises
        ------
        StoreError
            When the tables cannot be read (dropped or altered).
        ValueError
            When the stored JSON is not JSON.
        """
        try:
            lock = self._conn.execute("SELECT * FROM lock").fetchone()
            if lock is None:
                return []
            found = [("lock", int(lock["id"]), LockRecord.from_row(lock, lock["trial_id"]))]
            for row in self._conn.execute("SELECT * FROM amendments ORDER BY id").fetchall():
                record = LockRecord.from_row(row, lock["trial_id"])
                found.append(("amendments", int(row["id"]), record))
        except sqlite3.Error as exc:
            raise StoreError(f"the lock cannot be read ({exc})") from None
        return found

    def amendments(self) -> list[Amendment]:
        rows = self._conn.execute("SELECT * FROM amendments ORDER BY id").fetchall()
        return [Amendment.from_row(r) for r in rows]

    # -- daily records ------------------------------------------------------------------------

    def add_entry(self, date: dt.date, outcome: str, value: float, *, reason: str = "") -> int:
        """Append an outcome value; it supersedes any earlier value for the same day/outcome.

        Without a ``reason`` the day must not have a value yet (decided inside the transaction,
        so of two writers racing for one day only the first succeeds).
        """
        previous = self._conn.execute(
            "SELECT MAX(id) FROM entries WHERE date = ? AND outcome = ?",
            (date.isoformat(), outcome),
        ).fetchone()[0]
        if previous is not None and not reason.strip():
            raise StoreError(
                f"{date} is already logged ({outcome}): a second value needs a correction "
                f'reason (`nof1 log --date {date} --correct --reason "why" name=value`)'
            )
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
        if previous is not None and not reason.strip():
            raise StoreError(
                f"adherence for {date} is already logged: a second answer needs a correction "
                f'reason (`nof1 log --date {date} --correct --reason "why" --took ...`)'
            )
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

    def add_reveal(self, by: str, reason: str, *, early: bool = False) -> int:
        return self._insert(
            "reveals",
            {
                "at": _now(),
                "by": by,
                "reason": reason,
                "early": int(early),
                "command": self._command or "",
            },
            detail=f"{'early ' if early else ''}by {by}: {reason}",
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
        if table not in (*APPEND_ONLY_TABLES, "chain"):
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

    # -- identity and tamper evidence ---------------------------------------------------------

    def trial_uid(self) -> str:
        """The random identifier this trial's store got when it was created (or migrated)."""
        try:
            row = self._conn.execute("SELECT uid FROM trial WHERE id = 1").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(
                f"{self.path.name}: the trial identifier cannot be read ({exc})"
            ) from None
        if row is None:
            raise StoreError(f"{self.path.name} has no trial identifier: run `nof1 verify`")
        return str(row[0])

    def chain_head(self) -> str:
        """The hash of the newest chain link (:data:`GENESIS` for an empty chain)."""
        if not self._has_table("chain"):
            return GENESIS
        row = self._conn.execute("SELECT hash FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
        return GENESIS if row is None else str(row[0])

    def chain_length(self) -> int:
        """Links in the hash chain (0 when the chain table is missing)."""
        if not self._has_table("chain"):
            return 0
        return int(self._conn.execute("SELECT COUNT(*) FROM chain").fetchone()[0])

    def _has_table(self, name: str) -> bool:
        return bool(
            self._conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
            ).fetchone()
        )

    def tamper_problems(self) -> list[Problem]:
        """Every sign that the store was altered outside nof1, as :class:`Problem` values.

        Checks that each append-only trigger exists with its original text, then walks the
        hash chain: each link follows the previous one, each linked row still exists with the
        same content, each row of an append-only table has a link, and no row was removed from
        the end of a table (``sqlite_sequence`` remembers the highest id ever used).
        """
        try:
            found = self._trigger_problems()
            found += self._chain_problems()
        except sqlite3.Error as exc:  # a table or column dropped or renamed behind nof1's back
            return [Problem("database", None, f"could not be checked ({exc})")]
        return found

    def trigger_count(self) -> int:
        """How many triggers the store has (``nof1 verify`` reports it)."""
        return int(
            self._conn.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'"
            ).fetchone()[0]
        )

    def _trigger_problems(self) -> list[Problem]:
        stored = {
            r["name"]: r["sql"]
            for r in self._conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            )
        }
        found = []
        for name, sql in expected_triggers().items():
            table = name.split("_no_")[0].split("_correction_")[0]
            if name not in stored:
                found.append(Problem(table, None, f"trigger {name} is missing (dropped)"))
            elif " ".join(str(stored[name]).split()) != " ".join(sql.split()):
                found.append(Problem(table, None, f"trigger {name} was replaced by other SQL"))
        return found

    def _chain_problems(self) -> list[Problem]:
        conn = self._conn
        tables = set(APPEND_ONLY_TABLES) | set(_append_only_tables(conn))
        present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        found: list[Problem] = [
            Problem(t, None, "table is missing (dropped)")
            for t in APPEND_ONLY_TABLES
            if t not in present
        ]
        if "chain" not in present:
            return [*found, Problem("chain", None, "the hash chain table is missing (dropped)")]
        prev = GENESIS
        expected_seq = 1
        linked: dict[str, set[int]] = {t: set() for t in tables}
        for link in conn.execute("SELECT * FROM chain ORDER BY seq"):
            seq, table, row_id = int(link["seq"]), str(link["tbl"]), int(link["row_id"])
            if seq != expected_seq:
                found.append(
                    Problem(
                        "chain", seq, f"links {expected_seq} to {seq - 1} are missing (deleted)"
                    )
                )
            expected_seq = seq + 1
            if link["prev_hash"] != prev:
                found.append(Problem("chain", seq, "does not follow the previous link"))
            if link["hash"] != link_hash(str(link["prev_hash"]), str(link["row_hash"])):
                found.append(Problem("chain", seq, "link hash does not match its content"))
            prev = str(link["hash"])
            if table not in tables or table not in present:
                found.append(Problem("chain", seq, f"names unknown table {table!r}"))
                continue
            linked[table].add(row_id)
            found += self._row_problem(table, row_id, link)
        last_seq = self._sequence("chain")
        if last_seq is not None and last_seq >= expected_seq:
            found.append(
                Problem("chain", expected_seq, f"links {expected_seq} to {last_seq} were deleted")
            )
        for table in _append_only_tables(conn):
            ids = [int(r[0]) for r in conn.execute(f"SELECT id FROM {table} ORDER BY id")]
            found += [
                Problem(table, i, "not in the hash chain (inserted outside nof1)")
                for i in ids
                if i not in linked[table]
            ]
            highest = self._sequence(table)
            top = max(linked[table] | set(ids), default=0)
            if highest is not None and highest > top:
                found.append(Problem(table, highest, f"rows {top + 1} to {highest} were deleted"))
        return found

    def _row_problem(self, table: str, row_id: int, link: sqlite3.Row) -> list[Problem]:
        try:
            columns = [str(c) for c in json.loads(link["columns"])]
            cursor = self._conn.execute(
                f"SELECT {', '.join(_quote(c) for c in columns)} FROM {table} WHERE id = ?",
                (row_id,),
            )
        except (ValueError, TypeError, sqlite3.Error) as exc:
            return [Problem(table, row_id, f"its columns cannot be read ({exc})")]
        values = cursor.fetchone()
        if values is None:
            return [Problem(table, row_id, "deleted (its chain link remains)")]
        if row_hash(table, row_id, dict(zip(columns, values, strict=True))) != link["row_hash"]:
            return [Problem(table, row_id, "content changed since it was written")]
        return []

    def _sequence(self, table: str) -> int | None:
        """The highest id ever used in an AUTOINCREMENT table (``None`` when not recorded)."""
        try:
            row = self._conn.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)
            ).fetchone()
        except sqlite3.OperationalError:
            return None
        return None if row is None else int(row[0])

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


def check_backup(path: str | Path, *, trial_id: str | None = None) -> BackupInfo:
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
        lock = conn.execute(
            "SELECT trial_id, locked_at, protocol_hash, schedule_fingerprint FROM lock"
        ).fetchone()
        found = None if lock is None else str(lock["trial_id"])
        if trial_id is not None and found != trial_id:
            raise StoreError(
                f"{path} belongs to trial {found!r}, not to this trial {trial_id!r}: "
                "restore it into its own workspace"
            )
        entries = int(conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
        uid = None
        if "trial" in tables:
            row = conn.execute("SELECT uid FROM trial WHERE id = 1").fetchone()
            uid = None if row is None else str(row[0])
        return BackupInfo(
            path=path,
            schema_version=version,
            trial_id=found,
            entries=entries,
            locked_at=None if lock is None else lock["locked_at"],
            trial_uid=uid,
            protocol_hash=None if lock is None else lock["protocol_hash"],
            schedule_fingerprint=None if lock is None else lock["schedule_fingerprint"],
        )
    finally:
        conn.close()


def store_problem(path: str | Path) -> str | None:
    """Why the store file at ``path`` is damaged (``None`` when it passes the integrity check).

    Used before a restore: a truncated file or garbage bytes cannot be opened or fail
    ``PRAGMA integrity_check``; such a store is moved aside rather than restored into. The check
    runs on a private copy of the file and its ``-wal``: opening a damaged store in place would
    let SQLite discard its write-ahead log, which is evidence (and may hold data).
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="nof1-check-") as folder:
        copy = Path(folder) / path.name
        for suffix in ("", "-wal"):
            source = Path(f"{path}{suffix}")
            if source.exists():
                shutil.copyfile(source, Path(f"{copy}{suffix}"))
        conn = None
        try:
            conn = _connect(copy)
            rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            return str(exc)
        finally:
            if conn is not None:
                conn.close()
    return None if rows == ["ok"] else "; ".join(rows[:3])


def move_aside(path: str | Path, label: str) -> Path:
    """Rename the store at ``path`` and its ``-wal``/``-shm`` to ``<name>.<label>-<UTC time>``."""
    path = Path(path)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.{label}-{stamp}")
    n = 1
    while any(Path(f"{target}{s}").exists() for s in ("", "-wal", "-shm")):
        n += 1
        target = path.with_name(f"{path.name}.{label}-{stamp}-{n}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            os.replace(source, Path(f"{target}{suffix}"))
    return target


def restore_new(path: str | Path, source: str | Path) -> None:
    """Create the store at ``path`` (which must not exist) as a copy of the backup ``source``.

    The backup should have been checked with :func:`check_backup`; open the result with
    :meth:`Store.open` (which migrates it forward).
    """
    path = Path(path)
    if path.exists():
        raise StoreError(f"{path} already exists: move it aside before restoring a new copy")
    files.create_private_file(path)
    try:
        src = _connect(Path(source), readonly=True)
        try:
            target = sqlite3.connect(path, isolation_level=None)
            try:
                src.backup(target)
                target.execute("PRAGMA journal_mode = WAL")
            finally:
                target.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        raise StoreError(f"restore from {source} failed ({exc})") from None


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
