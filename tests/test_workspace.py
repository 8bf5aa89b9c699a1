"""Workspace: opening, start (lock), amendments, the locked-sections guard, warnings."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from conftest import MakeWorkspace
from helpers import edit_protocol
from nof1.errors import LockError, ProtocolError, StoreError, TemplateError, WorkspaceError
from nof1.schedule import Schedule, build_schedule
from nof1.store import _CHAIN, MIGRATIONS
from nof1.templates import find_template
from nof1.workspace import Workspace


def test_open_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="trial folder not found"):
        Workspace.open(tmp_path / "nope")


def test_open_folder_without_protocol(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="not a trial workspace"):
        Workspace.open(tmp_path)


def test_open_invalid_protocol_reports_problems(workspace: Path) -> None:
    edit_protocol(workspace, "period_days = 28", "period_days = 0")
    with pytest.raises(ProtocolError, match="design.period_days must be ≥ 1"):
        Workspace.open(workspace)


START = dt.date(2026, 12, 7)


def test_create_writes_an_owner_only_workspace_from_a_template(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "trial"
    with Workspace.create(folder, "migraine-sleep", START, 42) as ws:
        assert ws.protocol.design.start_date == START and ws.protocol.design.seed == 42
        assert not ws.is_locked
    text = (folder / "protocol.toml").read_text(encoding="utf-8")
    template = find_template("migraine-sleep").read_text(encoding="utf-8")
    assert text.splitlines()[0] == template.splitlines()[0]  # the template's comments are kept
    assert (folder / "protocol.toml").stat().st_mode & 0o777 == 0o600
    assert folder.stat().st_mode & 0o777 == 0o700
    assert (folder / "reports").stat().st_mode & 0o777 == 0o700


def test_create_never_overwrites_a_protocol(tmp_path: Path) -> None:
    Workspace.create(tmp_path, "migraine-sleep", START, 1).close()
    before = (tmp_path / "protocol.toml").read_bytes()
    with pytest.raises(WorkspaceError, match="already exists: nof1 init never overwrites"):
        Workspace.create(tmp_path, "migraine-magnesium", START, 2)
    assert (tmp_path / "protocol.toml").read_bytes() == before


def test_create_rejects_a_file_as_the_folder(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("mine", encoding="utf-8")
    with pytest.raises(WorkspaceError, match="is a file, not a folder"):
        Workspace.create(path, "migraine-sleep", START, 1)
    assert path.read_text(encoding="utf-8") == "mine"


def test_create_from_a_broken_template_writes_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    text = find_template("migraine-sleep").read_text(encoding="utf-8")
    broken.write_text(text.replace("period_days = ", "period_days = -"), encoding="utf-8")
    with pytest.raises(ProtocolError, match="design.period_days must be ≥ 1"):
        Workspace.create(tmp_path / "t", broken, START, 1)
    assert not (tmp_path / "t").exists()


def test_create_with_an_unknown_template_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"unknown template 'migraine-coffee' \(available: "):
        Workspace.create(tmp_path / "t", "migraine-coffee", START, 1)
    assert not (tmp_path / "t").exists()


@pytest.mark.parametrize("seed", [-1, 2**63])
def test_create_rejects_a_seed_out_of_range(tmp_path: Path, seed: int) -> None:
    with pytest.raises(WorkspaceError, match=r"seed must be between 0 and 2\*\*63 - 1"):
        Workspace.create(tmp_path / "t", "migraine-sleep", START, seed)
    assert not (tmp_path / "t").exists()


def test_unlocked_workspace_creates_no_store(workspace: Path) -> None:
    with Workspace.open(workspace) as ws:
        assert not ws.is_locked
        assert ws.observations() == []
        assert ws.lock_info() is None
        assert ws.warnings() == []
    assert not (workspace / "nof1.sqlite").exists()


def test_start_locks_hashes_and_schedule(workspace: Path) -> None:
    with Workspace.open(workspace) as ws:
        lock = ws.start()
        assert ws.is_locked
        assert lock.protocol_hash == ws.protocol.fingerprint()
        assert lock.locked_hash == ws.protocol.locked_fingerprint()
        assert lock.schedule_fingerprint == build_schedule(ws.protocol).fingerprint()
        info = ws.lock_info()
        assert info is not None and info.amendments == ()


def test_start_twice_is_refused(started: Path) -> None:
    with Workspace.open(started) as ws, pytest.raises(LockError, match="already started"):
        ws.start()


def test_start_lists_every_problem(make_workspace: MakeWorkspace) -> None:
    folder = make_workspace(
        seed=None,
        replace=[('category = "supplement"', 'category = "hormone"')],
    )
    with Workspace.open(folder) as ws, pytest.raises(LockError) as info:
        ws.start()
    message = str(info.value)
    assert message.startswith("cannot start: fix 3 problems in protocol.toml first:")
    assert "design.seed is missing" in message
    assert "supervision.clinician is empty" in message
    assert "supervision.signed_off is missing" in message
    assert not (folder / "nof1.sqlite").exists() or not Workspace.open(folder).is_locked


def test_schedule_round_trips_through_dict(started: Path) -> None:
    with Workspace.open(started) as ws:
        built = build_schedule(ws.protocol)
        assert Schedule.from_dict(built.to_dict()) == built
        assert ws.schedule == built


def test_unlocked_section_edit_warns_but_is_allowed(started: Path) -> None:
    edit_protocol(started, 'clinician = ""', 'clinician = "Dr Jones"')
    with Workspace.open(started) as ws:
        ws.guard()
        assert ws.protocol.supervision.clinician == "Dr Jones"
        [warning] = ws.warnings()
        assert warning.startswith("protocol.toml changed section supervision since the trial")


def test_locked_section_edit_is_refused_by_guard(started: Path) -> None:
    edit_protocol(started, "mcid = 1.5", "mcid = 3.0")
    with Workspace.open(started) as ws:
        with pytest.raises(LockError) as info:
            ws.guard()
        assert str(info.value) == (
            "protocol.toml changes locked section outcomes since the trial was locked: record "
            'the change with `nof1 amend --reason "why"` or undo the edit in protocol.toml'
        )


def test_locked_section_edit_does_not_reach_analysis(started: Path) -> None:
    edit_protocol(started, "mcid = 1.5", "mcid = 3.0")
    with Workspace.open(started) as ws:
        assert ws.protocol.outcome("peak_pain").mcid == 1.5
        assert "locked section outcomes changed" in ws.warnings()[0]


def test_amend_requires_a_reason(started: Path) -> None:
    edit_protocol(started, "mcid = 1.5", "mcid = 3.0")
    with Workspace.open(started) as ws, pytest.raises(LockError, match="needs a reason"):
        ws.amend("   ")


def test_amend_with_nothing_changed_is_refused(started: Path) -> None:
    with Workspace.open(started) as ws, pytest.raises(LockError, match="nothing to amend"):
        ws.amend("why not")


def test_amend_before_start_is_refused(workspace: Path) -> None:
    with Workspace.open(workspace) as ws, pytest.raises(LockError, match="run `nof1 start`"):
        ws.amend("x")


def test_amend_records_new_locked_hash(started: Path) -> None:
    edit_protocol(started, "mcid = 1.5", "mcid = 2.5")
    with Workspace.open(started) as ws:
        amendment = ws.amend("clinician prefers 2.5 points")
        assert amendment.sections == ("outcomes",)
        assert ws.warnings() == []
        ws.guard()
        assert ws.protocol.outcome("peak_pain").mcid == 2.5
        info = ws.lock_info()
        assert info is not None
        assert info.current_locked_hash == ws.file_protocol.locked_fingerprint()
        assert info.amendments[0].reason == "clinician prefers 2.5 points"
    with Workspace.open(started) as ws:  # persists
        assert ws.protocol.outcome("peak_pain").mcid == 2.5
        assert ws.deviations()[0].endswith("(outcomes): clinician prefers 2.5 points")


def test_amend_cannot_reassign_past_days(started: Path) -> None:
    edit_protocol(started, "run_in_days = 14", "run_in_days = 10")
    with Workspace.open(started) as ws, pytest.raises(LockError, match="already past"):
        ws.amend("shorter run-in")


def test_amend_may_shorten_periods_not_yet_reached(started: Path) -> None:
    edit_protocol(started, "period_days = 28", "period_days = 21")  # today is day 6 of period 1
    with Workspace.open(started) as ws:
        ws.amend("shorter periods")
        assert ws.schedule.periods[0].days == 21


def test_amend_may_change_future_days(make_workspace: MakeWorkspace) -> None:
    folder = make_workspace(start=dt.date.today() + dt.timedelta(days=10), start_trial=True)
    edit_protocol(folder, "period_days = 28", "period_days = 21")
    with Workspace.open(folder) as ws:
        ws.amend("shorter periods, agreed before day 1")
        assert ws.schedule.periods[0].days == 21


def test_reveal_is_recorded(started: Path) -> None:
    with Workspace.open(started) as ws:
        assert ws.arm_label("A") in ("Pack 1", "Pack 2")
        ws.record_reveal("Dr Jones", "side effects made it obvious", early=True)
        assert ws.is_revealed
        assert ws.arm_label("A") == "A"
        assert "revealed to the patient" in ws.deviations()[0]


def test_reveal_in_open_trial_is_refused(make_workspace: MakeWorkspace) -> None:
    folder = make_workspace(replace=[("blinded = true", "blinded = false")], start_trial=True)
    with Workspace.open(folder) as ws, pytest.raises(LockError, match="not blinded"):
        ws.record_reveal("me", "curious", early=True)


# -- restore ------------------------------------------------------------------------------


def test_restore_of_a_healthy_store_keeps_a_copy_first(started: Path, tmp_path: Path) -> None:
    with Workspace.open(started) as ws:
        backup = ws.store.backup(tmp_path / "b.sqlite")
        result = ws.restore(backup)
        assert result.damaged is None and result.forced == ()
        assert result.kept is not None and result.kept.name.startswith(
            "nof1.sqlite.before-restore-"
        )
        assert ws.store.audit()[-1].action == "restore"


def test_restore_over_a_damaged_store_checks_protocol_toml_trial_id(
    started: Path, make_workspace: MakeWorkspace, tmp_path: Path
) -> None:
    other = make_workspace("other", replace=[('id = "migraine-magnesium"', 'id = "other"')])
    with Workspace.open(other) as ws:
        ws.start()
        backup = ws.store.backup(tmp_path / "other.sqlite")
    (started / "nof1.sqlite").write_bytes(b"\x00" * 1000)
    with Workspace.open(started) as ws, pytest.raises(StoreError) as caught:
        ws.restore(backup)
    assert "the trial id differs (backup 'other', protocol.toml 'migraine-magnesium')" in str(
        caught.value
    )
    assert (started / "nof1.sqlite").read_bytes() == b"\x00" * 1000  # nothing touched


def test_restore_of_a_backup_made_before_trial_identifiers(started: Path, tmp_path: Path) -> None:
    """An old backup has no identifier: the hashes decide, and the restored store gets one."""
    with Workspace.open(started) as ws:
        backup = ws.store.backup(tmp_path / "b.sqlite")
    before_chain = MIGRATIONS.index(_CHAIN)  # the schema version just before the chain
    conn = sqlite3.connect(backup)
    conn.executescript(
        "DROP TABLE chain; DROP TABLE trial;"
        f"DELETE FROM schema_version WHERE version > {before_chain};"
        "DROP TRIGGER entries_correction_needs_reason;"
        "DROP TRIGGER adherence_correction_needs_reason;"
        "ALTER TABLE entries DROP COLUMN source; ALTER TABLE adherence DROP COLUMN source;"
        "ALTER TABLE adverse_events DROP COLUMN source; ALTER TABLE notes DROP COLUMN source;"
    )
    conn.close()
    with Workspace.open(started) as ws:
        result = ws.restore(backup)
        assert result.backup.trial_uid is None and result.forced == ()
        assert len(ws.store.trial_uid()) == 32
        from nof1.integrity import verify

        assert verify(ws).ok
