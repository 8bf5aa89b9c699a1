"""Tamper evidence: is the trial's store still what nof1 wrote? (``nof1 verify``)

Four checks, all read-only (see docs/integrity.md for the design and how to check by hand):

1. SQLite's own ``PRAGMA integrity_check`` and foreign-key check;
2. every append-only trigger exists with its original SQL (:meth:`Store.tamper_problems`);
3. the hash chain: every row of every append-only table is linked, in order, with the hash of
   its content; deleted, edited and inserted rows break it (:meth:`Store.tamper_problems`);
4. the lock and every amendment: the stored protocol and schedule JSON are re-hashed and must
   give the hashes recorded next to them, and the stored protocol text must parse to the same
   protocol.

``status``, ``backup`` and ``report`` run the same :func:`verify` and say loudly when it fails.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from attrs import frozen

from nof1.errors import Nof1Error, StoreError
from nof1.protocol import LOCKED_SECTIONS, TrialProtocol
from nof1.store import LockRecord, Problem, Store
from nof1.workspace import Workspace

FAILED = "INTEGRITY CHECK FAILED"


@frozen
class IntegrityReport:
    """What :func:`verify` found. ``problems`` empty means the store is as nof1 wrote it."""

    problems: tuple[Problem, ...]
    chain_length: int
    chain_head: str
    triggers: int

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """One line: ``integrity verified (…, chain head …)`` or what failed."""
        if self.ok:
            return (
                f"integrity verified ({self.chain_length} rows in the hash chain, "
                f"chain head {self.chain_head[:16]})"
            )
        n = len(self.problems)
        return f"{FAILED}: {n} problem{'s' if n != 1 else ''} (the store was altered outside nof1)"

    def lines(self) -> list[str]:
        """The problems, one per line, as ``table row id: what``."""
        return [str(p) for p in self.problems]


def verify(ws: Workspace) -> IntegrityReport:
    """Check the workspace's store (see the module docstring); never writes."""
    return verify_store(ws.store)


def verify_store(store: Store) -> IntegrityReport:
    """Check one store: SQLite integrity, triggers, hash chain, lock re-hash."""
    problems = [Problem("database", None, p) for p in store.integrity_problems()]
    problems += store.tamper_problems()
    problems += _lock_problems(store)
    return IntegrityReport(
        problems=tuple(problems),
        chain_length=store.chain_length(),
        chain_head=store.chain_head(),
        triggers=store.trigger_count(),
    )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def protocol_hashes(protocol: dict[str, Any]) -> tuple[str, str]:
    """(whole-protocol hash, locked-sections hash) of a normalized protocol, as ``start`` makes."""

    def canonical(data: Any) -> str:
        return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    locked = {key: protocol.get(key) for key in LOCKED_SECTIONS}
    return _sha256(canonical(protocol)), _sha256(canonical(locked))


def schedule_hash(schedule: dict[str, Any]) -> str:
    """The schedule fingerprint of a stored schedule (as :meth:`Schedule.fingerprint`)."""
    return _sha256(json.dumps(schedule, sort_keys=True, separators=(",", ":")))


def _lock_problems(store: Store) -> list[Problem]:
    try:
        records = store.lock_history()
    except (ValueError, TypeError) as exc:  # JSON edited into something unreadable
        return [Problem("lock", None, f"stored protocol or schedule JSON is unreadable ({exc})")]
    except StoreError as exc:
        return [Problem("lock", None, str(exc))]
    found: list[Problem] = []
    for table, row_id, record in records:
        found += [Problem(table, row_id, what) for what in _record_problems(record)]
    return found


def _record_problems(record: LockRecord) -> list[str]:
    found = []
    whole, locked = protocol_hashes(record.protocol)
    if whole != record.protocol_hash:
        found.append("stored protocol JSON does not match its recorded protocol hash")
    if locked != record.locked_hash:
        found.append("stored protocol JSON does not match its recorded locked-sections hash")
    if schedule_hash(record.schedule) != record.schedule_fingerprint:
        found.append("stored schedule JSON does not match its recorded schedule fingerprint")
    try:
        parsed = TrialProtocol.from_text(record.protocol_text, source="the stored protocol")
        if parsed.fingerprint() != record.protocol_hash:
            found.append("stored protocol text does not match its recorded protocol hash")
    except Nof1Error as exc:
        found.append(f"stored protocol text no longer parses ({exc})")
    return found
