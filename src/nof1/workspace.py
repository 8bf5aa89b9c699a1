"""A trial folder: ``protocol.toml``, the data store and ``reports/``; the lock and amendments.

Which protocol counts
---------------------
``nof1 start`` locks the protocol: its text, its normalized JSON, the SHA-256 of the whole
protocol and of the *locked sections* (:data:`nof1.protocol.LOCKED_SECTIONS`, the ones that decide
the analysis), and the schedule. Afterwards:

* edits to unlocked sections (e.g. the clinician's contact) take effect and are reported by
  :meth:`Workspace.warnings`;
* edits to locked sections are *not* used: :attr:`Workspace.protocol` stays the locked (or latest
  amended) protocol, every command warns, and commands that record or analyse data call
  :meth:`Workspace.guard`, which refuses until the edit is recorded with
  :meth:`Workspace.amend` (a reason is required) or undone;
* the schedule in force is the one stored at lock/amendment time, not a re-computation, so a day's
  assignment can never silently change.

An amendment may not change any day that is already past or logged (its plan, or what its arm
*is*), may not make stored values invalid, and while a blinded trial is unrevealed may not expose
or re-draw the allocation; its refusal then never depends on which pack is which arm.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

from attrs import define, field, frozen

from nof1 import files
from nof1.errors import LockError, StoreError, WorkspaceError
from nof1.protocol import (
    LOCKED_SECTIONS,
    TrialProtocol,
    decode_protocol,
    read_protocol_bytes,
    set_design_values,
)
from nof1.record import Adherence, AdverseEvent, Observation
from nof1.schedule import Schedule, build_schedule
from nof1.store import (
    Amendment,
    BackupInfo,
    LockRecord,
    Reveal,
    Stop,
    Store,
    check_backup,
    move_aside,
    restore_new,
    store_problem,
)
from nof1.templates import find_template
from nof1.workspace_amend import amendment_problems

PROTOCOL_FILE = "protocol.toml"
STORE_FILE = "nof1.sqlite"
REPORTS_DIR = "reports"
#: SQLite's side files of the store: written by SQLite only, never by an output command.
STORE_SIDE_FILES = ("-wal", "-shm", "-journal")


def own_files(folder: str | Path) -> list[Path]:
    """The files of a trial folder that no output command may write: protocol and store."""
    folder = Path(folder)
    store = folder / STORE_FILE
    return [
        folder / PROTOCOL_FILE,
        store,
        *(store.with_name(store.name + suffix) for suffix in STORE_SIDE_FILES),
    ]


#: Recorded in the lock's audit row when ``nof1 start`` locks after day 1 has already passed.
LATE_LOCK = "locked after data collection began"


@frozen
class LockInfo:
    """What the lock says about the trial, for the report and ``nof1 verify``.

    ``protocol_hash`` is the SHA-256 ``nof1 start`` printed (of the whole normalized protocol);
    the ``current_*`` values are those of the protocol in force (the latest amendment, else the
    same). ``locked_before_day1`` is false when ``nof1 start`` ran after the trial's first day.
    """

    trial_id: str
    trial_uid: str
    locked_at: str
    day1: dt.date
    locked_before_day1: bool
    protocol_hash: str
    locked_hash: str
    schedule_fingerprint: str
    current_protocol_hash: str
    current_locked_hash: str
    current_schedule_fingerprint: str
    amendments: tuple[Amendment, ...]
    reveals: tuple[Reveal, ...]
    stopped: Stop | None
    chain_head: str


@frozen
class RestoreResult:
    """What :meth:`Workspace.restore` did: the backup restored, and what was kept aside.

    ``damaged`` is where a damaged store was moved (``None`` when it was healthy); ``kept`` the
    copy of the healthy store taken first; ``forced`` the identity differences overridden with
    ``force``.
    """

    backup: BackupInfo
    damaged: Path | None
    damage: str | None
    kept: Path | None
    forced: tuple[str, ...]


def next_monday(today: dt.date) -> dt.date:
    """The first Monday strictly after ``today`` (a full week to prepare when today is Monday)."""
    return today + dt.timedelta(days=7 - today.weekday())


@define
class Workspace:
    """An open trial workspace. Build with :meth:`open`; it holds a store connection."""

    path: Path
    file_text: str
    file_protocol: TrialProtocol
    _store: Store | None = field(default=None, init=False)
    _lock: LockRecord | None = field(default=None, init=False)
    _lock_read: bool = field(default=False, init=False)
    _locked_protocol: TrialProtocol | None = field(default=None, init=False)
    _schedule: Schedule | None = field(default=None, init=False)
    #: (locked protocol, its changed locked sections): ``protocol`` is read many times per
    #: command and comparing normalized protocols is the costly part of the daily `nof1 log`.
    _changed: tuple[TrialProtocol, list[str]] | None = field(default=None, init=False)

    # -- opening --------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path) -> Workspace:
        """Open the workspace in folder ``path``.

        Raises
        ------
        WorkspaceError
            When the folder or its ``protocol.toml`` is missing.
        ProtocolError
            When ``protocol.toml`` is invalid.
        """
        path = Path(path)
        if not path.is_dir():
            raise WorkspaceError(
                f"trial folder not found: {path} (create one with `nof1 init DIR --template NAME`)"
            )
        protocol_path = path / PROTOCOL_FILE
        try:
            raw = read_protocol_bytes(protocol_path)
        except FileNotFoundError:
            raise WorkspaceError(
                f"{protocol_path} not found: this folder is not a trial workspace (create one "
                "with `nof1 init DIR --template NAME`, or pass --trial DIR)"
            ) from None
        except OSError as exc:
            raise WorkspaceError(f"cannot read {protocol_path}: {files.explain(exc)}") from None
        text = decode_protocol(raw, source=PROTOCOL_FILE)
        return cls(path, text, TrialProtocol.from_text(text, source=PROTOCOL_FILE))

    @classmethod
    def create(
        cls,
        path: str | Path,
        template: str | Path,
        start: dt.date | None = None,
        seed: int | None = None,
    ) -> Workspace:
        """Create a workspace in folder ``path`` from a template and open it.

        Writes ``protocol.toml`` (the template's text, comments kept, with ``start_date`` and
        ``seed`` set) and ``reports/``; the folder is created when missing. New folders are
        owner-only (0700) and the protocol file 0600.

        Parameters
        ----------
        template : a template name (:func:`nof1.templates.templates`) or a path to a .toml file.
        start : the first trial day (run-in day 1); default the next Monday after today.
        seed : the randomization seed; default drawn from the operating system's entropy.

        Raises
        ------
        TemplateError
            When the template is unknown.
        WorkspaceError
            When ``path`` already holds a protocol (never overwritten) or is not a folder.
        ProtocolError
            When the template itself is broken (nothing is written).
        """
        path = Path(path)
        source = find_template(template)
        target = path / PROTOCOL_FILE
        if target.exists():
            raise WorkspaceError(
                f"{target} already exists: nof1 init never overwrites a protocol (choose a new "
                "folder, or edit the existing protocol.toml)"
            )
        if path.exists() and not path.is_dir():
            raise WorkspaceError(f"{path} is a file, not a folder: choose a folder for the trial")
        if seed is not None and not 0 <= seed < 2**63:
            raise WorkspaceError(f"seed must be between 0 and 2**63 - 1 (got {seed})")
        start = start or next_monday(dt.date.today())
        seed = secrets.randbits(63) if seed is None else seed
        text = set_design_values(
            decode_protocol(read_protocol_bytes(source), source=source.name),
            {"start_date": start, "seed": seed},
        )
        TrialProtocol.from_text(text, source=source.name)  # a broken template fails here
        files.make_private_dir(path)  # owner-only whatever the umask: it will hold health data
        # never over an existing protocol, even one that appeared since the check above
        files.write_private(target, text)
        files.make_private_dir(path / REPORTS_DIR)
        return cls.open(path)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- paths and store --------------------------------------------------------------------

    @property
    def protocol_path(self) -> Path:
        return self.path / PROTOCOL_FILE

    @property
    def store_path(self) -> Path:
        return self.path / STORE_FILE

    @property
    def reports_dir(self) -> Path:
        """``reports/`` inside the workspace (created on first use)."""
        return files.make_private_dir(self.path / REPORTS_DIR)

    def protected_paths(self, dest: str | Path | None = None) -> list[Path]:
        """Files an output command must never write: this trial's protocol.toml and store files,
        and those of the folder ``dest`` is in (which may be another trial's workspace)."""
        protected = own_files(self.path)
        if dest is not None:
            protected += own_files(Path(dest).parent)
        return protected

    @property
    def store(self) -> Store:
        """The data store, created (mode 0600) when missing."""
        if self._store is None:
            self._store = Store.open(self.store_path, create=True)
        return self._store

    def _existing_store(self) -> Store | None:
        if self._store is None and not self.store_path.exists():
            return None
        return self.store

    def _refresh(self) -> None:
        self._lock_read = False
        self._lock = None
        self._locked_protocol = None
        self._schedule = None

    # -- lock state ---------------------------------------------------------------------------

    def current_lock(self) -> LockRecord | None:
        """The lock record in force (latest amendment, else the original), or ``None``."""
        if not self._lock_read:
            store = self._existing_store()
            self._lock = None if store is None else store.current_lock()
            self._lock_read = True
        return self._lock

    @property
    def is_locked(self) -> bool:
        return self.current_lock() is not None

    @property
    def locked_protocol(self) -> TrialProtocol | None:
        """The protocol in force as recorded in the store (``None`` before ``nof1 start``)."""
        lock = self.current_lock()
        if lock is None:
            return None
        if self._locked_protocol is None:
            self._locked_protocol = TrialProtocol.from_text(
                lock.protocol_text, source="the locked protocol"
            )
        return self._locked_protocol

    def changed_locked_sections(self) -> list[str]:
        """Locked sections of protocol.toml that differ from the protocol in force."""
        locked = self.locked_protocol
        if locked is None:
            return []
        if self._changed is None or self._changed[0] is not locked:
            self._changed = (locked, locked.changed_locked_sections(self.file_protocol))
        return list(self._changed[1])

    def changed_sections(self) -> list[str]:
        """Every top-level section of protocol.toml that differs from the protocol in force."""
        locked = self.locked_protocol
        if locked is None:
            return []
        mine, theirs = locked.normalized(), self.file_protocol.normalized()
        return [key for key in mine if mine[key] != theirs.get(key)]

    @property
    def protocol(self) -> TrialProtocol:
        """The protocol to use: protocol.toml, unless its locked sections were edited without an
        amendment — then the protocol in force (the locked or latest amended one)."""
        locked = self.locked_protocol
        if locked is not None and self.changed_locked_sections():
            return locked
        return self.file_protocol

    @property
    def schedule(self) -> Schedule:
        """The schedule in force: as stored at lock/amendment time, else built from the file.

        Raises
        ------
        ScheduleError
            Before ``nof1 start`` when the protocol has no start date or seed.
        StoreError
            When the stored schedule was altered into something unreadable.
        """
        if self._schedule is None:
            lock = self.current_lock()
            if lock is None:
                self._schedule = build_schedule(self.file_protocol)
            else:
                try:
                    self._schedule = Schedule.from_dict(lock.schedule)
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    raise StoreError(
                        f"the locked schedule in the data store is unreadable ({exc!r}): the "
                        "store was altered outside nof1; run `nof1 verify`, or restore a backup"
                    ) from None
        return self._schedule

    def guard(self) -> None:
        """Refuse to go on when locked sections of protocol.toml were edited without amendment.

        Raises
        ------
        LockError
            Naming the changed sections and the two ways out.
        """
        changed = self.changed_locked_sections()
        if changed:
            raise LockError(
                f"protocol.toml changes locked section{'s' if len(changed) > 1 else ''} "
                f"{', '.join(changed)} since the trial was locked: record the change with "
                '`nof1 amend --reason "why"` or undo the edit in protocol.toml'
            )

    def require_locked(self) -> LockRecord:
        lock = self.current_lock()
        if lock is None:
            raise LockError(
                "the trial has not started: run `nof1 start` first (it locks the protocol and "
                "the schedule)"
            )
        return lock

    def warnings(self) -> list[str]:
        """Lock mismatches and other things every command should tell the person about."""
        lock = self.current_lock()
        if lock is None:
            return []
        found: list[str] = []
        locked_changed = self.changed_locked_sections()
        if locked_changed:
            found.append(
                f"protocol.toml no longer matches the locked protocol: locked section"
                f"{'s' if len(locked_changed) > 1 else ''} {', '.join(locked_changed)} changed. "
                "The locked protocol is used, and logging and analysis are refused until you "
                'record an amendment (`nof1 amend --reason "why"`) or undo the edit.'
            )
        other = [s for s in self.changed_sections() if s not in LOCKED_SECTIONS]
        if other:
            found.append(
                f"protocol.toml changed section{'s' if len(other) > 1 else ''} "
                f"{', '.join(other)} since the trial was locked (these do not affect the "
                'analysis; `nof1 amend --reason "why"` records them).'
            )
        rebuilt = build_schedule(self.protocol) if not locked_changed else None
        if rebuilt is not None and rebuilt.fingerprint() != lock.schedule_fingerprint:
            found.append(
                "this nof1 version computes a different schedule from the locked protocol; the "
                "schedule stored at lock time is used"
            )
        return found

    # -- start and amend ----------------------------------------------------------------------

    def start(self) -> LockRecord:
        """Lock the protocol and the schedule (``nof1 start``).

        Raises
        ------
        LockError
            When the trial is already locked, or listing every ``start_problems()`` of the
            protocol.
        """
        lock = self.current_lock()
        if lock is not None:
            raise LockError(
                f"the trial was already started (locked {lock.at[:10]}): to change the protocol "
                'edit protocol.toml and run `nof1 amend --reason "why"`'
            )
        problems = self.file_protocol.start_problems()
        if problems:
            lines = "\n".join(f"  - {p}" for p in problems)
            raise LockError(
                f"cannot start: fix {len(problems)} problem{'s' if len(problems) > 1 else ''} "
                f"in protocol.toml first:\n{lines}"
            )
        protocol = self.file_protocol
        schedule = build_schedule(protocol)
        store = self.store
        late = dt.date.today() > schedule.start
        with store.transaction("start"):
            store.write_lock(
                trial_id=protocol.trial_id,
                protocol_text=self.file_text,
                protocol=protocol.normalized(),
                protocol_hash=protocol.fingerprint(),
                locked_hash=protocol.locked_fingerprint(),
                schedule=schedule.to_dict(),
                schedule_fingerprint=schedule.fingerprint(),
                note=f"{LATE_LOCK} (day 1 was {schedule.start.isoformat()})" if late else "",
            )
        self._refresh()
        result = self.current_lock()
        assert result is not None
        return result

    def amend(self, reason: str, *, today: dt.date | None = None) -> Amendment:
        """Record protocol.toml as the protocol in force, with a reason (``nof1 amend``).

        Raises
        ------
        LockError
            Before ``nof1 start``; without a reason; when nothing changed; or, listing every
            problem at once, when the change would expose a blinded allocation before a recorded
            reveal, change what a past or logged day was (its phase, period, arm letter, or what
            the arm is: name, dose, timing, category, pack code), or make stored values invalid.
        """
        self.require_locked()
        if not reason.strip():
            raise LockError(
                'an amendment needs a reason: nof1 amend --reason "why the protocol changed"'
            )
        new_protocol = self.file_protocol
        new_schedule = build_schedule(new_protocol)
        store = self.store
        # Checked inside the write transaction: a concurrent `log` or `amend` cannot slip in
        # between the checks and the write.
        with store.transaction("amend"):
            self._refresh()
            sections = self.changed_sections()
            if not sections:
                raise LockError("protocol.toml matches the protocol in force: nothing to amend")
            old_protocol = self.locked_protocol
            assert old_protocol is not None
            problems = amendment_problems(
                old_protocol,
                self.schedule,
                new_protocol,
                new_schedule,
                blind=self.is_blind,
                logged=store.logged_dates(),
                entries=store.current_entries(),
                today=today or dt.date.today(),
            )
            if problems:
                listed = "\n".join(f"  - {p}" for p in problems)
                raise LockError(
                    f"this amendment cannot be recorded, nothing was changed "
                    f"({len(problems)} problem{'s' if len(problems) > 1 else ''}):\n{listed}"
                )
            row_id = store.write_amendment(
                reason=reason.strip(),
                sections=sections,
                protocol_text=self.file_text,
                protocol=new_protocol.normalized(),
                protocol_hash=new_protocol.fingerprint(),
                locked_hash=new_protocol.locked_fingerprint(),
                schedule=new_schedule.to_dict(),
                schedule_fingerprint=new_schedule.fingerprint(),
            )
        self._refresh()
        return next(a for a in self.store.amendments() if a.id == row_id)

    @property
    def is_blind(self) -> bool:
        """Blinded and not revealed: nothing shown may depend on which pack is which arm."""
        lock = self.current_lock()
        blinded = self.schedule.blinded if lock is not None else self.protocol.blinding.blinded
        return blinded and not self.is_revealed

    # -- blinding -----------------------------------------------------------------------------

    @property
    def is_revealed(self) -> bool:
        store = self._existing_store()
        return store is not None and bool(store.reveals())

    def reveals(self) -> list[Reveal]:
        """The recorded reveals (who, when, why, whether early), oldest first."""
        store = self._existing_store()
        return [] if store is None else store.reveals()

    def check_reveal(
        self, by: str, reason: str, *, early: bool = False, today: dt.date | None = None
    ) -> bool:
        """Check that the allocation may be revealed now; return whether the reveal is early.

        The last trial day is the schedule's end, or the day of a recorded early stop. Revealing
        on or before it needs ``early`` (``--early``) and is reported as a deviation.

        Raises
        ------
        LockError
            Before ``nof1 start``; in an open trial; when already revealed; without who
            (``--by``) or why (``--reason``); before the last trial day has ended without
            ``early``.
        """
        self.require_locked()
        if not self.schedule.blinded:
            raise LockError("this trial is not blinded: there is no allocation to reveal")
        previous = self.reveals()
        if previous:
            raise LockError(
                f"the allocation was already revealed on {previous[0].at[:10]} by {previous[0].by}"
            )
        if not by.strip():
            raise LockError('say who reveals the allocation, e.g. --by "Dr Jones"')
        if not reason.strip():
            raise LockError(
                'say why the allocation is revealed, e.g. --reason "trial completed, results '
                'discussed with Dr Jones"'
            )
        today = today or dt.date.today()
        stop = self.stopped
        last = stop.date if stop is not None else self.schedule.end
        if today > last:
            return False
        if not early:
            raise LockError(
                f"the trial runs until {last.isoformat()}: revealing the allocation now unblinds "
                "the remaining days. Reveal after the last day, or, when it cannot wait (e.g. for "
                'a safety reason), add --early --reason "why" (recorded as an early reveal and '
                "reported as a deviation)"
            )
        return True

    def record_reveal(
        self, by: str, reason: str, *, early: bool = False, today: dt.date | None = None
    ) -> Reveal:
        """Record that the allocation was revealed to the patient: who, when, why (``--reveal``).

        Raises
        ------
        LockError
            As :meth:`check_reveal`.
        """
        with self.store.transaction("reveal"):  # checked inside: two reveals cannot race
            is_early = self.check_reveal(by, reason, early=early, today=today)
            self.store.add_reveal(by.strip(), reason.strip(), early=is_early)
        return self.reveals()[-1]

    # -- early stop ---------------------------------------------------------------------------

    @property
    def stopped(self) -> Stop | None:
        """The recorded early stop, or ``None`` while the trial runs to plan."""
        store = self._existing_store()
        stops = [] if store is None else store.stops()
        return stops[0] if stops else None

    def stop(self, reason: str, *, date: dt.date | None = None) -> Stop:
        """Record that the trial stopped early on ``date`` (default today) and why.

        The analysis then treats the data through ``date`` as final, and the report gives the
        date and reason (CENT item 14b). Logging afterwards stays possible (follow-up notes).
        """
        self.require_locked()
        date = date or dt.date.today()
        if not reason.strip():
            raise LockError(
                'a stop needs a reason, e.g. --reason "serious adverse event: fainted on 3 Feb"'
            )
        if self.stopped is not None:
            raise LockError(f"the trial was already stopped on {self.stopped.date.isoformat()}")
        schedule = self.schedule
        if not schedule.start <= date <= schedule.end:
            raise LockError(
                f"--date must be within the trial, {schedule.start.isoformat()} to "
                f"{schedule.end.isoformat()} (got {date.isoformat()})"
            )
        if date > dt.date.today():
            raise LockError(
                f"--date is in the future (got {date.isoformat()}): stop today or earlier"
            )
        with self.store.transaction("stop"):
            # Decided again inside the write transaction: of two racing stops only one lands.
            earlier = self.store.stops()
            if earlier:
                raise LockError(f"the trial was already stopped on {earlier[0].date.isoformat()}")
            self.store.add_stop(date, reason.strip())
        stop = self.stopped
        assert stop is not None
        return stop

    def require_unblinded(self, command: str) -> None:
        """Refuse to show B-versus-A results of a blinded trial before the recorded reveal.

        An analysis names the arms, so running it would unblind the patient without a trace.
        """
        if self.is_blind:
            raise LockError(
                f"`nof1 {command}` would unblind this blinded trial: its results name the arms. "
                "Record the reveal first with `nof1 allocation --reveal --by NAME --reason WHY` "
                "(normally after the last day), or let the allocation holder run the analysis on "
                "an exported copy"
            )

    def arm_label(self, arm: str | None) -> str:
        """What patient-facing output shows for an arm: the code while blinded and unrevealed."""
        if arm is None:
            return ""
        if self.is_blind:
            return self.schedule.codes[arm]
        return arm

    # -- what analysis reads ------------------------------------------------------------------

    def observations(self) -> list[Observation]:
        """The value in force (newest) per (date, outcome), ordered by date then outcome."""
        store = self._existing_store()
        if store is None:
            return []
        return [Observation(e.date, e.outcome, e.value) for e in store.current_entries()]

    def adherence(self) -> list[Adherence]:
        store = self._existing_store()
        return [] if store is None else [a.to_record() for a in store.current_adherence()]

    def adverse_events(self) -> list[AdverseEvent]:
        store = self._existing_store()
        return [] if store is None else store.events()

    def lock_info(self) -> LockInfo | None:
        """Hashes, lock time, amendments, reveals, stop and chain head; ``None`` before start."""
        store = self._existing_store()
        original = None if store is None else store.lock()
        current = self.current_lock()
        if store is None or original is None or current is None:
            return None
        try:
            day1 = dt.date.fromisoformat(str(original.schedule["start"]))
        except (KeyError, TypeError, ValueError):  # altered: `nof1 verify` names it
            day1 = dt.date.fromisoformat(original.at[:10])
        late = any(a.target == "lock" and LATE_LOCK in a.detail for a in store.audit())
        locked_on = dt.datetime.fromisoformat(original.at).astimezone().date()
        return LockInfo(
            trial_id=original.trial_id,
            trial_uid=store.trial_uid(),
            locked_at=original.at,
            day1=day1,
            locked_before_day1=not late and locked_on <= day1,
            protocol_hash=original.protocol_hash,
            locked_hash=original.locked_hash,
            schedule_fingerprint=original.schedule_fingerprint,
            current_protocol_hash=current.protocol_hash,
            current_locked_hash=current.locked_hash,
            current_schedule_fingerprint=current.schedule_fingerprint,
            amendments=tuple(store.amendments()),
            reveals=tuple(store.reveals()),
            stopped=self.stopped,
            chain_head=store.chain_head(),
        )

    # -- backup and restore -------------------------------------------------------------------

    def restore(self, backup: str | Path, *, force: bool = False) -> RestoreResult:
        """Replace the store with a checked backup; a damaged store is moved aside first.

        A healthy store is first copied to ``nof1.sqlite.before-restore-<UTC time>``; a damaged
        one (unreadable, truncated, failing ``PRAGMA integrity_check``) is moved with its
        ``-wal``/``-shm`` to ``nof1.sqlite.damaged-<UTC time>``. A backup of another trial
        (different identifier, locked protocol hash or schedule fingerprint) is refused unless
        ``force``.

        Raises
        ------
        StoreError
            When the backup is unusable, or belongs to another trial (naming what differs).
        """
        own = {Path(f"{self.store_path}{suffix}").resolve() for suffix in ("", "-wal", "-shm")}
        if Path(backup).resolve() in own:
            raise StoreError(
                f"{backup} is this trial's own data store, not a backup: give a file written by "
                "`nof1 backup`"
            )
        info = check_backup(backup)
        self.close()
        self._refresh()
        path = self.store_path
        damage = store_problem(path) if path.exists() else None
        differences = self._identity_differences(info, healthy=damage is None)
        if differences and not force:
            listed = "; ".join(differences)
            raise StoreError(
                f"{info.path} is a backup of another trial: {listed}. Restore it into its own "
                "workspace, or pass --force to replace this trial's data with it"
            )
        kept = damaged = None
        if damage is not None:
            damaged = move_aside(path, "damaged")
            restore_new(path, info.path)
        elif path.exists():
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            kept = self.store.backup(path.with_name(f"{path.name}.before-restore-{stamp}"))
            self.store.restore(info.path, trial_id=None)
        else:
            restore_new(path, info.path)
        self._refresh()
        store = self.store
        with store.transaction("restore"):
            detail = str(info.path)
            if damaged is not None:
                detail += f"; damaged store moved to {damaged.name}"
            if differences:
                detail += f"; forced over: {'; '.join(differences)}"
            store.audit_note("restore", detail)
        self._refresh()
        return RestoreResult(
            backup=info, damaged=damaged, damage=damage, kept=kept, forced=tuple(differences)
        )

    def _identity_differences(self, info: BackupInfo, *, healthy: bool) -> list[str]:
        """How the backup's identity differs from this trial's (empty: the same trial)."""
        mine: dict[str, str | None] = {}
        if healthy and self.store_path.exists():
            store = self.store
            lock = store.lock()
            if lock is not None:
                mine = {
                    "trial identifier": store.trial_uid(),
                    "locked protocol hash": lock.protocol_hash,
                    "schedule fingerprint": lock.schedule_fingerprint,
                }
            self.close()
        theirs = {
            "trial identifier": info.trial_uid,
            "locked protocol hash": info.protocol_hash,
            "schedule fingerprint": info.schedule_fingerprint,
        }
        found = [
            f"the {what} differs (backup {_short(theirs[what])}, this trial {_short(value)})"
            for what, value in mine.items()
            if theirs[what] is not None and theirs[what] != value
        ]
        if not mine and info.trial_id is not None and info.trial_id != self.file_protocol.trial_id:
            # No readable lock here (a damaged or fresh store): protocol.toml's id is all we have.
            found.append(
                f"the trial id differs (backup {info.trial_id!r}, protocol.toml "
                f"{self.file_protocol.trial_id!r})"
            )
        return found

    def deviations(self, today: dt.date | None = None) -> list[str]:
        """Departures from the protocol, in words, for the report."""
        store = self._existing_store()
        if store is None or not self.is_locked:
            return []
        today = today or dt.date.today()
        schedule = self.schedule
        found = [
            f"amendment on {a.at[:10]} ({', '.join(a.sections)}): {a.reason}"
            for a in store.amendments()
        ]
        for reveal in store.reveals():
            if reveal.early or dt.date.fromisoformat(reveal.at[:10]) <= schedule.end:
                why = f": {reveal.reason}" if reveal.reason else ""
                found.append(
                    f"allocation revealed to the patient on {reveal.at[:10]} by {reveal.by}, "
                    f"before the trial ended{why}"
                )
        logged = store.logged_dates()
        took = {a.date: a.took for a in store.current_adherence()}
        for period in schedule.periods:
            last = min(period.end, today - dt.timedelta(days=1))
            dates = [
                period.start + dt.timedelta(days=i) for i in range((last - period.start).days + 1)
            ]
            missing = sum(1 for d in dates if d not in logged)
            if missing:
                found.append(f"period {period.index}: {missing} day(s) without a diary entry")
            no = sum(1 for d in dates if took.get(d) == "no")
            partial = sum(1 for d in dates if took.get(d) == "partial")
            if no or partial:
                found.append(
                    f"period {period.index}: assigned treatment not taken on {no} day(s), "
                    f"partly taken on {partial}"
                )
        corrected = sum(1 for e in store.current_entries() if e.is_correction)
        if corrected:
            found.append(f"{corrected} value(s) corrected after first entry (see `nof1 history`)")
        return found


def _short(value: str | None) -> str:
    return "none" if value is None else value[:12]
