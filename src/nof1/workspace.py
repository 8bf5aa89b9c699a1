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

An amendment may not change the assignment of any day that is already past or logged.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

from attrs import define, field

from nof1.errors import LockError, WorkspaceError
from nof1.protocol import LOCKED_SECTIONS, TrialProtocol, set_design_values
from nof1.record import Adherence, AdverseEvent, Observation
from nof1.schedule import Schedule, build_schedule
from nof1.store import Amendment, LockRecord, Stop, Store
from nof1.templates import find_template

PROTOCOL_FILE = "protocol.toml"
STORE_FILE = "nof1.sqlite"
REPORTS_DIR = "reports"


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
            text = protocol_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise WorkspaceError(
                f"{protocol_path} not found: this folder is not a trial workspace (create one "
                "with `nof1 init DIR --template NAME`, or pass --trial DIR)"
            ) from None
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
            source.read_text(encoding="utf-8"), {"start_date": start, "seed": seed}
        )
        TrialProtocol.from_text(text, source=source.name)  # a broken template fails here
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:  # O_EXCL: two `nof1 init` at once cannot both write the protocol
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise WorkspaceError(
                f"{target} already exists: nof1 init never overwrites a protocol"
            ) from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        (path / REPORTS_DIR).mkdir(mode=0o700, exist_ok=True)
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
        folder = self.path / REPORTS_DIR
        folder.mkdir(exist_ok=True)
        return folder

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
        """
        if self._schedule is None:
            lock = self.current_lock()
            if lock is None:
                self._schedule = build_schedule(self.file_protocol)
            else:
                self._schedule = Schedule.from_dict(lock.schedule)
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
        with store.transaction("start"):
            store.write_lock(
                trial_id=protocol.trial_id,
                protocol_text=self.file_text,
                protocol=protocol.normalized(),
                protocol_hash=protocol.fingerprint(),
                locked_hash=protocol.locked_fingerprint(),
                schedule=schedule.to_dict(),
                schedule_fingerprint=schedule.fingerprint(),
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
            Before ``nof1 start``; without a reason; when nothing changed; or when the change
            would re-assign a day that is already past or logged.
        """
        self.require_locked()
        if not reason.strip():
            raise LockError(
                'an amendment needs a reason: nof1 amend --reason "why the protocol changed"'
            )
        sections = self.changed_sections()
        if not sections:
            raise LockError("protocol.toml matches the protocol in force: nothing to amend")
        new_protocol = self.file_protocol
        new_schedule = build_schedule(new_protocol)
        self._check_past_days(new_schedule, today or dt.date.today())
        store = self.store
        with store.transaction("amend"):
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

    def _check_past_days(self, new: Schedule, today: dt.date) -> None:
        old = self.schedule
        logged = self.store.logged_dates()
        last = max([today, *logged])
        day = old.start
        while day <= min(last, max(old.end, new.end)):
            before, after = old.day(day), new.day(day)
            key_before = None if before is None else (before.phase, before.period, before.arm)
            key_after = None if after is None else (after.phase, after.period, after.arm)
            if key_before != key_after:
                raise LockError(
                    f"this amendment changes the plan for {day.isoformat()}, a day already past "
                    "or logged: past assignments cannot change. Only change days still to come "
                    "(e.g. add blocks at the end), or undo the edit"
                )
            day += dt.timedelta(days=1)

    # -- blinding -----------------------------------------------------------------------------

    @property
    def is_revealed(self) -> bool:
        store = self._existing_store()
        return store is not None and bool(store.reveals())

    def record_reveal(self, by: str) -> None:
        """Record that the allocation was revealed to the patient, and by whom."""
        self.require_locked()
        if not self.protocol.blinding.blinded:
            raise LockError("this trial is not blinded: there is no allocation to reveal")
        if not by.strip():
            raise LockError('say who revealed the allocation, e.g. --by "Dr Jones"')
        with self.store.transaction("reveal"):
            self.store.add_reveal(by.strip())

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
            self.store.add_stop(date, reason.strip())
        stop = self.stopped
        assert stop is not None
        return stop

    def require_unblinded(self, command: str) -> None:
        """Refuse to show B-versus-A results of a blinded trial before the recorded reveal.

        An analysis names the arms, so running it would unblind the patient without a trace.
        """
        if self.protocol.blinding.blinded and not self.is_revealed:
            raise LockError(
                f"`nof1 {command}` would unblind this blinded trial: its results name the arms. "
                "Record the reveal first with `nof1 allocation --reveal --by NAME` (normally after "
                "the last day), or let the allocation holder run the analysis on an exported copy"
            )

    def arm_label(self, arm: str | None) -> str:
        """What patient-facing output shows for an arm: the code while blinded and unrevealed."""
        if arm is None:
            return ""
        if self.protocol.blinding.blinded and not self.is_revealed:
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

    def lock_info(self) -> dict[str, Any] | None:
        """Hashes, lock time, amendments and reveals; ``None`` before ``nof1 start``."""
        store = self._existing_store()
        original = None if store is None else store.lock()
        current = self.current_lock()
        if store is None or original is None or current is None:
            return None
        stop = self.stopped
        return {
            "trial_id": original.trial_id,
            "locked_at": original.at,
            "protocol_hash": current.protocol_hash,
            "locked_hash": current.locked_hash,
            "schedule_fingerprint": current.schedule_fingerprint,
            "original_protocol_hash": original.protocol_hash,
            "amendments": [
                {"at": a.at, "reason": a.reason, "sections": list(a.sections)}
                for a in store.amendments()
            ],
            "reveals": [{"at": r.at, "by": r.by} for r in store.reveals()],
            "stopped": None
            if stop is None
            else {"date": stop.date.isoformat(), "reason": stop.reason, "recorded_at": stop.at},
        }

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
            if dt.date.fromisoformat(reveal.at[:10]) <= schedule.end:
                found.append(
                    f"allocation revealed to the patient on {reveal.at[:10]} by {reveal.by}, "
                    "before the trial ended"
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
