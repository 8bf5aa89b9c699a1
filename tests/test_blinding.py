"""Blinding cannot leak: import, reveal, export, amendments and every patient-facing message.

The strongest check here compares two trials whose allocations are exact opposites but whose
pack of every day is the same (seeds found below): everything the patient can see — pack codes,
dates, messages, files — must be identical for the two, so nothing can depend on which pack is
which arm.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import DAYS_AGO, MakeWorkspace, template_text
from nof1 import diary, store, tidy
from nof1.cli import app
from nof1.cli import setup as setup_cli
from nof1.errors import EntryError, LockError
from nof1.protocol import TrialProtocol, set_design_values
from nof1.schedule import build_schedule
from nof1.store import Store
from nof1.workspace import Workspace

runner = CliRunner()
TODAY = dt.date.today()
START = TODAY - dt.timedelta(days=DAYS_AGO)  # today is day 7 of period 1 (run-in is 14 days)
RUN_IN_DAY = START + dt.timedelta(days=2)
PERIOD_DAY = START + dt.timedelta(days=15)
FULL = {"headache_day": "yes", "peak_pain": "4.5", "severity": "mild", "acute_med_days": "1"}
ARM_WORDS = ("magnesium", "placebo", "arm a", "arm b", "= pack")


def run(*args: object, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args], input=input)
    return result.exit_code, result.stdout, result.stderr


@functools.cache
def opposite_seeds() -> tuple[int, int]:
    """Two seeds whose schedules give every period the same pack but the opposite arm."""
    text = template_text()
    seen: dict[tuple[str, ...], tuple[int, str]] = {}
    for seed in range(1, 5000):
        protocol = TrialProtocol.from_text(
            set_design_values(text, {"start_date": START, "seed": seed}), source="t"
        )
        schedule = build_schedule(protocol)
        packs = tuple(schedule.codes[p.arm] for p in schedule.periods)
        if packs in seen and seen[packs][1] != schedule.sequence:
            return seen[packs][0], seed
        seen.setdefault(packs, (seed, schedule.sequence))
    raise AssertionError("no pair of opposite seeds found")


@pytest.fixture
def pair(make_workspace: MakeWorkspace) -> tuple[Path, Path]:
    first, second = opposite_seeds()
    one = make_workspace("one", seed=first, start_trial=True)
    two = make_workspace("two", seed=second, start_trial=True)
    with Workspace.open(one) as a, Workspace.open(two) as b:
        assert a.schedule.sequence != b.schedule.sequence
        assert all(
            x.arm != y.arm for x, y in zip(a.schedule.periods, b.schedule.periods, strict=True)
        )
        assert [a.arm_label(p.arm) for p in a.schedule.periods] == [
            b.arm_label(p.arm) for p in b.schedule.periods
        ]
    return one, two


CHAIN_HEAD = re.compile(r"chain head [0-9a-f]{16,64}")


def same_for_both(pair: tuple[Path, Path], *args: object, names: bool = False) -> str:
    """Run one command on both trials; assert identical exit code, stdout and stderr, and (unless
    ``names``: the input itself holds one) that no arm name or letter is shown."""
    results = []
    for folder in pair:
        code, out, err = run(*args, "-t", folder)
        where = str(folder)
        # The hash-chain head differs between any two trials (each has a random identifier);
        # it is a hash, not the allocation.
        out, err = (CHAIN_HEAD.sub("chain head <hash>", text) for text in (out, err))
        results.append((code, out.replace(where, "<trial>"), err.replace(where, "<trial>")))
    assert results[0] == results[1], f"{args} differs between opposite allocations"
    _, out, err = results[0]
    shown = (out + err).lower()
    assert names or not any(word in shown for word in ARM_WORDS), out + err
    return out + err


def _csv(path: Path, *rows: str) -> Path:
    path.write_text("\n".join([",".join(tidy.COLUMNS), *rows]) + "\n", encoding="utf-8")
    return path


def _reveals(folder: Path) -> int:
    with Workspace.open(folder) as ws:
        return len(ws.reveals())


# --------------------------------------------------------------------------------------------
# import
# --------------------------------------------------------------------------------------------


def test_import_blinded_rejects_arm_letter_without_revealing(
    pair: tuple[Path, Path], tmp_path: Path
) -> None:
    # every combination on run-in and period days: letters, pack codes (right and wrong), junk
    dates = (RUN_IN_DAY, PERIOD_DAY, PERIOD_DAY + dt.timedelta(days=1))
    letter = (
        "this trial is blinded, so the arm column takes the pack code ('Pack 1' or 'Pack 2'), "
        "never A or B: use the pack code or leave the column empty"
    )
    for i, arm in enumerate(("A", "B", "a", "b", "Pack 1", "Pack 2", "Pack 3", "AB", "Placebo")):
        file = _csv(tmp_path / f"{i}.csv", *(f"{d},,,,{arm},peak_pain,3," for d in dates))
        text = same_for_both(pair, "import", file, names=arm == "Placebo")
        assert "nothing was imported" in text
        assert text.count(letter) == (3 if arm in ("A", "B", "a", "b") else 0)
    for folder in pair:
        with Workspace.open(folder) as ws:
            assert ws.observations() == []


@pytest.mark.parametrize("arm", ["A", "B", "b"])
def test_import_blinded_arm_letter_is_refused_on_every_kind_of_day(
    pair: tuple[Path, Path], tmp_path: Path, arm: str
) -> None:
    # the right letter is refused exactly like the wrong one: success would reveal the arm
    for date in (RUN_IN_DAY, PERIOD_DAY):
        file = _csv(tmp_path / f"{arm}-{date}.csv", f"{date},,,,{arm},peak_pain,3,")
        text = same_for_both(pair, "import", file)
        assert "never A or B" in text


def test_import_blinded_right_pack_code_is_accepted_in_both(
    pair: tuple[Path, Path], tmp_path: Path
) -> None:
    with Workspace.open(pair[0]) as ws:
        day = ws.schedule.day(PERIOD_DAY)
        assert day is not None and day.arm is not None
        pack = ws.schedule.codes[day.arm]
    file = _csv(tmp_path / "ok.csv", f"{PERIOD_DAY},16,1,1,{pack},peak_pain,3,yes")
    text = same_for_both(pair, "import", file)
    assert text == "Imported 1 values for 1 days\n"


def test_import_blinded_unknown_pack_code(started: Path, tmp_path: Path) -> None:
    with Workspace.open(started) as ws, pytest.raises(EntryError) as info:
        tidy.import_file(ws, _csv(tmp_path / "x.csv", f"{PERIOD_DAY},,,,Pack 9,peak_pain,3,"))
    assert str(info.value).endswith(
        "line 2: arm 'Pack 9' is not a pack code of this trial (use 'Pack 1' or 'Pack 2' or "
        "leave it empty)"
    )


def test_import_after_reveal_accepts_arm_letters(started: Path, tmp_path: Path) -> None:
    with Workspace.open(started) as ws:
        ws.record_reveal("Dr Jones", "side effects", early=True)
        day = ws.schedule.day(PERIOD_DAY)
        assert day is not None and day.arm is not None
        file = _csv(tmp_path / "x.csv", f"{PERIOD_DAY},,,,{day.arm},peak_pain,3,")
        assert tidy.import_file(ws, file).entries == 1


# --------------------------------------------------------------------------------------------
# nothing the patient sees depends on the allocation
# --------------------------------------------------------------------------------------------


def test_patient_facing_commands_do_not_depend_on_the_allocation(
    pair: tuple[Path, Path], tmp_path: Path
) -> None:
    for folder in pair:
        with Workspace.open(folder) as ws:
            for offset in range(DAYS_AGO):  # today is left for `nof1 log` below
                values = dict(FULL, peak_pain=str(offset % 7))
                diary.log_day(ws, START + dt.timedelta(days=offset), values, took="yes")
    same_for_both(pair, "today")
    for offset in (0, 14, 20, 45, 80, 200, 400):
        same_for_both(pair, "today", "--date", (START + dt.timedelta(days=offset)).isoformat())
    same_for_both(pair, "schedule")
    same_for_both(pair, "log", *(f"{k}={v}" for k, v in FULL.items()), "--took", "yes")
    same_for_both(pair, "event", "--description", "loose stools", "--severity", "mild")
    same_for_both(pair, "status")
    calendars = []
    for folder in pair:
        target = tmp_path / f"{folder.name}.ics"
        assert run("calendar", target, "-t", folder)[0] == 0
        lines = target.read_text(encoding="utf-8").splitlines()
        calendars.append([ln for ln in lines if not ln.startswith(("DTSTAMP", "UID"))])
    assert calendars[0] == calendars[1]
    assert not any(w in "\n".join(calendars[0]).lower() for w in ARM_WORDS)
    same_for_both(pair, "history", PERIOD_DAY.isoformat())
    exported = []
    for name in ("out.csv", "out.json"):
        texts = []
        for folder in pair:
            target = tmp_path / f"{folder.name}-{name}"
            code, _, _ = run("export", target, "-t", folder)
            assert code == 0
            texts.append(target.read_text(encoding="utf-8"))
        assert texts[0] == texts[1]
        exported.append(texts[0])
    assert json.loads(exported[1])["arm_coding"] == "code"
    refused = same_for_both(pair, "report")
    assert "would unblind this blinded trial" in refused
    same_for_both(pair, "allocation", "--reveal", "--by", "me", "--reason", "curious")
    same_for_both(pair, "allocation", "--reveal", "--by", "me", "--reason", "x", "--early")
    same_for_both(pair, "stop", "--reason", "stopping rule met")
    same_for_both(pair, "today")
    same_for_both(pair, "status")
    same_for_both(pair, "allocation", "--reveal", "--by", "me", "--reason", "stopped")  # no --yes
    for folder in pair:
        assert _reveals(folder) == 0


def test_amend_refusal_does_not_depend_on_the_allocation(pair: tuple[Path, Path]) -> None:
    # today is in period 1: only one arm has past days. Changing either arm's dose must be
    # refused identically, or success would say which arm period 1 had.
    doses = {
        "comparator": 'dose = "identical capsule"',
        "intervention": 'dose = "as agreed with your clinician"',
    }
    for table, line in doses.items():
        for folder in pair:
            _replace(folder, line, 'dose = "changed"')
        text = same_for_both(pair, "amend", "--reason", "new dose")
        assert f"{table}.dose" in text and "the affected days are not named" in text
        for folder in pair:
            _replace(folder, 'dose = "changed"', line)


# --------------------------------------------------------------------------------------------
# reveal
# --------------------------------------------------------------------------------------------


def test_reveal_before_last_period_needs_early_and_reason(started: Path) -> None:
    code, out, error = run("allocation", "-t", started, "--reveal", "--by", "Dr Jones", "--yes")
    assert code == 1
    assert error == (
        'Error: say why the allocation is revealed, e.g. --reason "trial completed, results '
        'discussed with Dr Jones"\n'
    )
    code, out, error = run(
        "allocation", "-t", started, "--reveal", "--by", "Dr Jones", "--reason", "why", "--yes"
    )
    assert code == 1
    end = (START + dt.timedelta(days=14 + 8 * 28 - 1)).isoformat()
    assert error == (
        f"Error: the trial runs until {end}: revealing the allocation now unblinds the remaining "
        "days. Reveal after the last day, or, when it cannot wait (e.g. for a safety reason), add "
        '--early --reason "why" (recorded as an early reveal and reported as a deviation)\n'
    )
    assert out == ""
    assert _reveals(started) == 0


def test_reveal_requires_by(started: Path) -> None:
    code, out, error = run(
        "allocation", "-t", started, "--reveal", "--reason", "x", "--early", "--yes"
    )
    assert code == 1
    assert error == 'Error: say who reveals the allocation, e.g. --by "Dr Jones"\n'
    assert out == "" and _reveals(started) == 0


def test_reveal_non_interactive_without_yes_names_yes(started: Path) -> None:
    code, out, error = run(
        "allocation", "-t", started, "--reveal", "--by", "Dr J", "--reason", "x", "--early"
    )
    assert code == 1
    assert error == (
        "Error: revealing the allocation needs a confirmation and there is no terminal to ask: "
        "add --yes to confirm\n"
    )
    assert out == "" and _reveals(started) == 0


def test_reveal_asks_for_confirmation(started: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(setup_cli, "_interactive", lambda: True)
    args = ("allocation", "-t", started, "--reveal", "--by", "Dr J", "--reason", "SAE", "--early")
    code, out, _ = run(*args, input="n\n")
    assert code == 0
    assert "cannot be undone" in out and out.endswith("Not revealed: nothing was recorded.\n")
    assert not any(word in out.lower() for word in ("magnesium", "placebo"))
    assert _reveals(started) == 0
    code, out, _ = run(*args, input="y\n")
    assert code == 0
    assert "Allocation revealed (recorded, by Dr J: SAE)." in out and "Magnesium" in out
    assert _reveals(started) == 1


def test_early_reveal_is_recorded_as_early_and_a_deviation(started: Path) -> None:
    code, _, error = run(
        "allocation", "-t", started, "--reveal", "--by", "Dr J", "--reason", "serious rash",
        "--early", "--yes",
    )  # fmt: skip
    assert code == 0
    assert error.startswith("Warning: early reveal, before the last trial day ended")
    with Workspace.open(started) as ws:
        (reveal,) = ws.reveals()
        assert (reveal.by, reveal.reason, reveal.early) == ("Dr J", "serious rash", True)
        assert reveal.at[:10] == dt.datetime.now(dt.UTC).date().isoformat()
        assert any(
            "revealed to the patient" in d and d.endswith("before the trial ended: serious rash")
            for d in ws.deviations()
        )
        info = ws.lock_info()
        assert info is not None and info.reveals[0].early is True


def test_reveal_after_the_last_day_is_not_early(make_workspace: MakeWorkspace) -> None:
    folder = make_workspace(start=TODAY - dt.timedelta(days=300), start_trial=True)
    code, out, error = run(
        "allocation", "-t", folder, "--reveal", "--by", "pharmacist", "--reason", "completed",
        "--yes",
    )  # fmt: skip
    assert code == 0 and error == ""
    assert out.startswith("Allocation revealed (recorded, by pharmacist: completed).")
    with Workspace.open(folder) as ws:
        assert [r.early for r in ws.reveals()] == [False]
        assert not any("revealed" in d for d in ws.deviations())


def test_reveal_early_flag_after_the_end_is_not_recorded_as_early(
    make_workspace: MakeWorkspace,
) -> None:
    folder = make_workspace(start=TODAY - dt.timedelta(days=300), start_trial=True)
    with Workspace.open(folder) as ws:
        assert ws.record_reveal("me", "done", early=True).early is False


def test_reveal_on_the_last_day_is_early(make_workspace: MakeWorkspace) -> None:
    folder = make_workspace(start=TODAY - dt.timedelta(days=14 + 8 * 28 - 1), start_trial=True)
    with Workspace.open(folder) as ws:
        assert ws.schedule.end == TODAY
        with pytest.raises(LockError, match="--early"):
            ws.record_reveal("me", "done")
        assert ws.record_reveal("me", "done", early=True).early is True


def test_reveal_after_an_early_stop_needs_no_early(started: Path) -> None:
    with Workspace.open(started) as ws:
        ws.stop("stopping rule met", date=TODAY - dt.timedelta(days=2))
        reveal = ws.record_reveal("Dr J", "trial stopped")
        assert reveal.early is False


def test_reveal_twice_shows_without_recording_again(started: Path) -> None:
    with Workspace.open(started) as ws:
        ws.record_reveal("Dr J", "SAE", early=True)
        with pytest.raises(LockError, match="already revealed"):
            ws.record_reveal("Dr J", "again", early=True)
    code, out, _ = run("allocation", "-t", started, "--reveal")
    assert code == 0
    assert out.startswith("The allocation was revealed on ") and "by Dr J." in out
    assert "Magnesium" in out
    assert _reveals(started) == 1


def test_reveal_refusals_show_no_arm(started: Path) -> None:
    attempts = [
        ("--reveal",),
        ("--reveal", "--by", "x"),
        ("--reveal", "--by", "x", "--reason", "y"),
        ("--reveal", "--by", "x", "--reason", "y", "--early"),
        ("--reveal", "--by", " ", "--reason", "y", "--early", "--yes"),
        ("--reveal", "--by", "x", "--reason", "  ", "--early", "--yes"),
    ]
    for extra in attempts:
        code, out, error = run("allocation", "-t", started, *extra)
        assert code == 1, extra
        assert out == ""
        assert not any(w in error.lower() for w in ("magnesium", "placebo", "= pack", "arm a"))
    assert _reveals(started) == 0


# --------------------------------------------------------------------------------------------
# export of the sealed list is audited
# --------------------------------------------------------------------------------------------


def test_allocation_export_is_recorded_in_the_audit_trail(started: Path, tmp_path: Path) -> None:
    target = tmp_path / "sealed.csv"
    code, out, _ = run("allocation", "-t", started, "--export", target, "--by", "Dr Jones")
    assert code == 0
    assert list(csv.DictReader(target.open(encoding="utf-8")))
    assert target.stat().st_mode & 0o777 == 0o600  # the sealed list unblinds: owner only
    with Store.open(started / "nof1.sqlite") as s:
        (note,) = [a for a in s.audit() if a.action == "allocation export"]
        assert note.command == "allocation"
        assert note.detail == f"by Dr Jones: {target.resolve()} (8 periods)"
        assert note.at[:10] == dt.datetime.now(dt.UTC).date().isoformat()
    assert _reveals(started) == 0  # exporting is not revealing


def test_allocation_export_records_the_login_name_by_default(
    started: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(setup_cli.getpass, "getuser", lambda: "pharm01")
    code, _, _ = run("allocation", "-t", started, "--export", tmp_path / "sealed.txt")
    assert code == 0
    with Store.open(started / "nof1.sqlite") as s:
        details = [a.detail for a in s.audit() if a.action == "allocation export"]
    assert details == [f"by pharm01: {(tmp_path / 'sealed.txt').resolve()} (8 periods)"]


def test_allocation_export_that_fails_records_nothing(started: Path, tmp_path: Path) -> None:
    target = tmp_path / "missing-folder" / "sealed.txt"
    code, out, error = run("allocation", "-t", started, "--export", target)
    assert code == 1 and out == ""
    assert error == (
        f"Error: cannot write {target}: folder {target.parent} does not exist; create it\n"
    )
    with Store.open(started / "nof1.sqlite") as s:
        assert not [a for a in s.audit() if a.action == "allocation export"]


# --------------------------------------------------------------------------------------------
# amendments that would expose the allocation
# --------------------------------------------------------------------------------------------


def _replace(folder: Path, old: str, new: str) -> None:
    path = folder / "protocol.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("blinded = true", "blinded = false", "blinding.blinded changes to false"),
        ('labels = ["Pack 1", "Pack 2"]', 'labels = ["Pack 2", "Pack 1"]', "blinding.labels"),
        ('labels = ["Pack 1", "Pack 2"]', 'labels = ["Red", "Blue"]', "blinding.labels"),
        ('scheme = "pairwise"', 'scheme = "counterbalanced"', "design.scheme"),
    ],
)
def test_amend_exposing_the_allocation_is_refused_before_reveal(
    make_workspace: MakeWorkspace, old: str, new: str, named: str
) -> None:
    # before day 1 too: the packs were prepared from the sealed list
    folder = make_workspace(start=TODAY + dt.timedelta(days=5), start_trial=True)
    _replace(folder, old, new)
    code, out, error = run("amend", "-t", folder, "--reason", "simplify")
    assert code == 1
    assert named in error
    assert "while the trial is blinded this would expose or re-draw the allocation" in error
    assert "--reveal --by NAME --reason" in error
    assert out == ""
    with Workspace.open(folder) as ws:
        assert ws.store.amendments() == []


def test_amend_changing_the_seed_is_refused_before_reveal(make_workspace: MakeWorkspace) -> None:
    folder = make_workspace(start=TODAY + dt.timedelta(days=5), start_trial=True)
    with Workspace.open(folder) as ws:
        seed = ws.protocol.design.seed
    _replace(folder, f"seed = {seed}", f"seed = {seed + 1}")
    with Workspace.open(folder) as ws, pytest.raises(LockError, match="design.seed changes"):
        ws.amend("new seed")


def test_amend_turning_blinding_off_after_reveal_is_allowed(started: Path) -> None:
    with Workspace.open(started) as ws:
        ws.record_reveal("Dr J", "SAE", early=True)
    _replace(started, "blinded = true", "blinded = false")
    with Workspace.open(started) as ws:
        amendment = ws.amend("blinding ended after the reveal")
        assert amendment.sections == ("blinding",)
        assert not ws.schedule.blinded


def test_amend_relabelling_packs_after_reveal_still_cannot_rewrite_past_days(
    started: Path,
) -> None:
    with Workspace.open(started) as ws:
        ws.record_reveal("Dr J", "SAE", early=True)
    _replace(started, 'labels = ["Pack 1", "Pack 2"]', 'labels = ["Red", "Blue"]')
    with Workspace.open(started) as ws, pytest.raises(LockError) as info:
        ws.amend("new labels")
    assert "it changes what was taken in period 1" in str(info.value)
    assert "pack 'Pack" in str(info.value)


def test_amend_of_unlocked_section_is_allowed_while_blinded(started: Path) -> None:
    _replace(started, 'allocation_holder = "Community pharmacist"', 'allocation_holder = "Dr K"')
    with Workspace.open(started) as ws:
        assert ws.amend("new holder").sections == ("blinding",)


# --------------------------------------------------------------------------------------------
# the store: who and why are required by the database itself; old stores migrate
# --------------------------------------------------------------------------------------------


def test_store_refuses_a_reveal_without_reason(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as s, pytest.raises(sqlite3.DatabaseError):
        with s.transaction("reveal"):
            s.add_reveal("Dr J", "   ")
    conn = sqlite3.connect(tmp_path / "s.sqlite")
    with pytest.raises(sqlite3.DatabaseError, match="a reveal needs who"):
        conn.execute("INSERT INTO reveals (at, by, command) VALUES ('2026', 'x', 'sql')")
    conn.execute("INSERT INTO reveals (at, by, reason, command) VALUES ('2026', 'x', 'y', 'sql')")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE reveals SET reason = ''")
    conn.close()


def test_old_store_migrates_and_keeps_its_reveals(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)")
    for number, migration in enumerate(store.MIGRATIONS[:2], start=1):
        for statement in migration:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version VALUES (?, 'then')", (number,))
    conn.execute("INSERT INTO reveals (at, by, command) VALUES ('2026-01-01T00:00', 'Dr J', 'x')")
    conn.close()
    with Store.open(path) as s:
        assert s.schema_version == store.SCHEMA_VERSION
        assert [(r.by, r.reason, r.early) for r in s.reveals()] == [("Dr J", "", False)]


def test_two_reveals_from_stale_workspaces_record_one(started: Path) -> None:
    first, second = Workspace.open(started), Workspace.open(started)
    try:
        first.check_reveal("Dr J", "SAE", early=True)
        second.check_reveal("Dr K", "SAE", early=True)  # both passed their checks
        first.record_reveal("Dr J", "SAE", early=True)
        with pytest.raises(LockError, match="already revealed"):
            second.record_reveal("Dr K", "SAE", early=True)
        assert [r.by for r in second.reveals()] == ["Dr J"]
    finally:
        first.close()
        second.close()


def test_import_huge_arm_cell_is_clipped_in_the_message(started: Path, tmp_path: Path) -> None:
    with Workspace.open(started) as ws, pytest.raises(EntryError) as info:
        tidy.import_file(
            ws, _csv(tmp_path / "x.csv", f"{PERIOD_DAY},,,,{'P' * 100_000},peak_pain,3,")
        )
    assert str(info.value).endswith(
        f"line 2: arm '{'P' * 40}…' is not a pack code of this trial (use 'Pack 1' or 'Pack 2' or "
        "leave it empty)"
    )
