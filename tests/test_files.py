"""Outputs never destroy data, and every file nof1 creates is owner-only (nof1.files + the CLI).

Each test attacks one way an output command could lose or expose data: writing onto the trial's
own files (directly, through ``..``, a symbolic link or a hard link), overwriting without
``--force``, following a symbolic link, leaving half a file on a full disk, and creating files
other users can read whatever the umask.
"""

from __future__ import annotations

import errno
import functools
import os
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from conftest import MakeWorkspace
from nof1 import files
from nof1.cli import app
from nof1.errors import OutputError
from nof1.store import Store

FULL = ["headache_day=yes", "peak_pain=4", "severity=mild", "acute_med_days=1"]
OWN_FILES = ("protocol.toml", "nof1.sqlite", "nof1.sqlite-wal", "nof1.sqlite-shm")


def run(folder: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, [*args, "--trial", str(folder)])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def error_line(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    return str(lines[-1])


def audit_rows(folder: Path) -> int:
    with Store.open(folder / "nof1.sqlite", create=False) as store:
        return store.count("audit")


@pytest.fixture
def umask() -> Iterator[functools.partial[int]]:
    """Set the process umask inside a test (restored afterwards)."""
    saved = os.umask(0o022)
    try:
        yield functools.partial(os.umask)
    finally:
        os.umask(saved)


@pytest.fixture
def logged(make_workspace: MakeWorkspace) -> Path:
    """A started trial with one logged day (so the store, its -wal and -shm exist)."""
    folder = make_workspace(start_trial=True)
    result = run(folder, "log", *FULL, "--took", "yes")
    assert result.exit_code == 0, result.output
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


# ------------------------------------------------------------------------------------------
# nof1.files: the library
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0o022, 0o000])
def test_write_private_is_owner_only_under_any_umask(tmp_path: Path, umask, mask: int) -> None:  # type: ignore[no-untyped-def]
    umask(mask)
    path = files.write_private(tmp_path / "out.csv", "a,b\n")
    assert path.read_text(encoding="utf-8") == "a,b\n"
    assert mode(path) == 0o600


def test_write_private_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("precious", encoding="utf-8")
    with pytest.raises(OutputError, match=r"already exists: choose a new file name"):
        files.write_private(path, "new")
    assert path.read_text(encoding="utf-8") == "precious"


def test_write_private_with_force_replaces_by_rename(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o644)
    before = path.stat().st_ino
    files.write_private(path, "new", force=True)
    assert path.read_text(encoding="utf-8") == "new"
    assert path.stat().st_ino != before  # a new file moved into place, not rewritten in place
    assert mode(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]  # no temporary file left


def test_write_private_refuses_protected_file_even_with_force(tmp_path: Path) -> None:
    protocol = tmp_path / "protocol.toml"
    protocol.write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(OutputError, match="it is the trial's own protocol.toml"):
        files.write_private(protocol, "oops", force=True, protected=[protocol])
    assert protocol.read_text(encoding="utf-8") == "x = 1\n"


def test_write_private_refuses_protected_file_reached_through_dotdot(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    store = tmp_path / "nof1.sqlite"
    store.write_bytes(b"data")
    with pytest.raises(OutputError, match="own nof1.sqlite"):
        files.write_private(tmp_path / "reports" / ".." / "nof1.sqlite", "x", force=True,
                            protected=[store])  # fmt: skip
    assert store.read_bytes() == b"data"


def test_write_private_refuses_protected_file_through_symlinked_folder(tmp_path: Path) -> None:
    trial = tmp_path / "trial"
    trial.mkdir()
    protocol = trial / "protocol.toml"
    protocol.write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "alias").symlink_to(trial)
    with pytest.raises(OutputError, match="own protocol.toml"):
        files.write_private(tmp_path / "alias" / "protocol.toml", "x", force=True,
                            protected=[protocol])  # fmt: skip
    assert protocol.read_text(encoding="utf-8") == "x = 1\n"


def test_write_private_refuses_hard_link_to_protected_file(tmp_path: Path) -> None:
    protocol = tmp_path / "protocol.toml"
    protocol.write_text("x = 1\n", encoding="utf-8")
    other = tmp_path / "elsewhere.toml"
    os.link(protocol, other)
    with pytest.raises(OutputError, match="own protocol.toml"):
        files.write_private(other, "x", force=True, protected=[protocol])
    assert protocol.read_text(encoding="utf-8") == "x = 1\n"


def test_write_private_does_not_follow_symlink_even_with_force(tmp_path: Path) -> None:
    target = tmp_path / "target.txt"
    target.write_text("keep me", encoding="utf-8")
    link = tmp_path / "out.csv"
    link.symlink_to(target)
    with pytest.raises(OutputError, match="is a symbolic link .* does not write through links"):
        files.write_private(link, "x", force=True)
    assert target.read_text(encoding="utf-8") == "keep me"
    assert link.is_symlink()


def test_write_private_refuses_dangling_symlink(tmp_path: Path) -> None:
    link = tmp_path / "out.csv"
    link.symlink_to(tmp_path / "would-be-created")
    with pytest.raises(OutputError, match="symbolic link"):
        files.write_private(link, "x")
    assert not (tmp_path / "would-be-created").exists()


def test_write_private_refuses_a_folder(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="it is a folder"):
        files.write_private(tmp_path, "x", force=True)


def test_write_private_names_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"folder .*missing does not exist; create it"):
        files.write_private(tmp_path / "missing" / "out.csv", "x")


def test_write_private_on_a_full_disk_keeps_the_old_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Disk full, simulated by an injected ``OSError(ENOSPC)`` at the write boundary
    (``files._write_all``): filling a real disk would need a dedicated small file system, and
    root ignores quotas. The file-size-limit test below fails a real write."""
    path = tmp_path / "out.csv"
    path.write_text("old", encoding="utf-8")

    def full(fd: int, data: bytes) -> None:
        os.write(fd, data[:3])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "_write_all", full)
    with pytest.raises(OutputError, match="the disk is full: free some space"):
        files.write_private(path, "new content", force=True)
    assert path.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_write_private_beyond_the_file_size_limit_is_one_clear_error(tmp_path: Path) -> None:
    """A real failing write: ``RLIMIT_FSIZE`` in a subprocess binds root too (EFBIG, with
    SIGXFSZ ignored) — the same path a full disk takes through the kernel."""
    code = textwrap.dedent(
        f"""
        import resource, signal
        from nof1 import files
        from nof1.errors import OutputError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
        try:
            files.write_private({str(tmp_path / "big.csv")!r}, "x" * 5000)
        except OutputError as exc:
            print("ERROR", exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("ERROR cannot write ")
    assert "larger than this system allows" in out.stdout
    assert list(tmp_path.iterdir()) == []


def test_publish_does_not_clobber_a_file_created_after_the_check(tmp_path: Path) -> None:
    dest = files.check_destination(tmp_path / "out.csv")
    dest.write_text("written meanwhile by someone else", encoding="utf-8")
    with files.private_temp(dest) as tmp:
        tmp.write_text("mine", encoding="utf-8")
        with pytest.raises(OutputError, match="already exists"):
            files.publish(tmp, dest)
    assert dest.read_text(encoding="utf-8") == "written meanwhile by someone else"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_make_private_dir_creates_every_missing_parent_owner_only(tmp_path: Path, umask) -> None:  # type: ignore[no-untyped-def]
    umask(0o000)
    folder = files.make_private_dir(tmp_path / "a" / "b")
    assert mode(tmp_path / "a") == 0o700
    assert mode(folder) == 0o700


def test_make_private_dir_refuses_a_file_of_that_name(tmp_path: Path) -> None:
    (tmp_path / "reports").write_text("", encoding="utf-8")
    with pytest.raises(OutputError, match="a file of that name exists"):
        files.make_private_dir(tmp_path / "reports")


# ------------------------------------------------------------------------------------------
# Output commands: the workspace's own files
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", OWN_FILES)
def test_export_refuses_to_overwrite_the_workspace_files(logged: Path, name: str) -> None:
    before = snapshot(logged)
    line = error_line(run(logged, "export", str(logged / name), "--format", "csv", "--force"))
    assert line == (
        f"Error: refusing to write {logged / name}: it is the trial's own {name}, which would be "
        "destroyed; choose another file name"
    )
    assert snapshot(logged) == before


def test_export_refuses_to_overwrite_protocol_toml(logged: Path) -> None:
    before = (logged / "protocol.toml").read_bytes()
    line = error_line(run(logged, "export", str(logged / "protocol.toml"), "-f", "csv"))
    assert "it is the trial's own protocol.toml" in line
    assert (logged / "protocol.toml").read_bytes() == before


def test_export_refuses_protocol_toml_reached_through_dotdot(logged: Path) -> None:
    before = (logged / "protocol.toml").read_bytes()
    dest = logged / "reports" / ".." / "protocol.toml"
    line = error_line(run(logged, "export", str(dest), "-f", "json", "--force"))
    assert "own protocol.toml" in line
    assert (logged / "protocol.toml").read_bytes() == before


def test_export_refuses_another_trials_store(logged: Path, make_workspace: MakeWorkspace) -> None:
    other = make_workspace("other", start_trial=True)
    before = (other / "nof1.sqlite").read_bytes()
    line = error_line(run(logged, "export", str(other / "nof1.sqlite"), "-f", "csv", "--force"))
    assert "own nof1.sqlite" in line
    assert (other / "nof1.sqlite").read_bytes() == before


def test_export_does_not_follow_symlink(logged: Path, tmp_path: Path) -> None:
    before = (logged / "protocol.toml").read_bytes()
    link = tmp_path / "diary.csv"
    link.symlink_to(logged / "protocol.toml")
    line = error_line(run(logged, "export", str(link), "--force"))
    assert "protocol.toml" in line
    assert (logged / "protocol.toml").read_bytes() == before


def test_export_does_not_follow_symlink_to_an_unrelated_file(logged: Path, tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("my notes", encoding="utf-8")
    link = tmp_path / "diary.csv"
    link.symlink_to(target)
    line = error_line(run(logged, "export", str(link), "--force"))
    assert "is a symbolic link" in line
    assert target.read_text(encoding="utf-8") == "my notes"


def test_export_refuses_to_overwrite_without_force(logged: Path, tmp_path: Path) -> None:
    dest = tmp_path / "diary.csv"
    dest.write_text("yesterday's export", encoding="utf-8")
    line = error_line(run(logged, "export", str(dest)))
    assert line == (
        f"Error: {dest} already exists: choose a new file name, or add --force to replace it"
    )
    assert dest.read_text(encoding="utf-8") == "yesterday's export"


def test_export_with_force_replaces_the_file(logged: Path, tmp_path: Path) -> None:
    dest = tmp_path / "diary.csv"
    dest.write_text("yesterday's export", encoding="utf-8")
    result = run(logged, "export", str(dest), "--force")
    assert result.exit_code == 0, result.output
    assert dest.read_text(encoding="utf-8").startswith("date,day,period")


def test_calendar_refuses_to_overwrite_protocol_toml(logged: Path) -> None:
    before = (logged / "protocol.toml").read_bytes()
    line = error_line(run(logged, "calendar", str(logged / "protocol.toml"), "--force"))
    assert "own protocol.toml" in line
    assert (logged / "protocol.toml").read_bytes() == before


def test_calendar_refuses_to_overwrite_without_force(logged: Path, tmp_path: Path) -> None:
    dest = tmp_path / "trial.ics"
    dest.write_text("my other calendar", encoding="utf-8")
    assert "already exists" in error_line(run(logged, "calendar", str(dest)))
    assert dest.read_text(encoding="utf-8") == "my other calendar"
    result = run(logged, "calendar", str(dest), "--force")
    assert result.exit_code == 0, result.output
    assert dest.read_text(encoding="utf-8").startswith("BEGIN:VCALENDAR")


def test_calendar_does_not_follow_symlink(logged: Path, tmp_path: Path) -> None:
    link = tmp_path / "trial.ics"
    link.symlink_to(logged / "nof1.sqlite")
    before = (logged / "nof1.sqlite").read_bytes()
    error_line(run(logged, "calendar", str(link), "--force"))
    assert (logged / "nof1.sqlite").read_bytes() == before


def test_allocation_export_refuses_to_overwrite_the_store(logged: Path) -> None:
    before = snapshot(logged)
    line = error_line(run(logged, "allocation", "--export", str(logged / "nof1.sqlite"),
                          "--force"))  # fmt: skip
    assert "own nof1.sqlite" in line
    assert snapshot(logged) == before


def test_allocation_export_refuses_to_overwrite_without_force(logged: Path, tmp_path: Path) -> None:
    dest = tmp_path / "sealed.csv"
    dest.write_text("the pharmacist's copy", encoding="utf-8")
    assert "already exists" in error_line(run(logged, "allocation", "--export", str(dest)))
    assert dest.read_text(encoding="utf-8") == "the pharmacist's copy"
    result = run(logged, "allocation", "--export", str(dest), "--force")
    assert result.exit_code == 0, result.output
    assert dest.read_text(encoding="utf-8").startswith("period,block,start")


def test_backup_refuses_to_overwrite_the_store(logged: Path) -> None:
    before = snapshot(logged)
    line = error_line(run(logged, "backup", str(logged / "nof1.sqlite"), "--force"))
    assert line.startswith("Error: backup not written: refusing to write ")
    assert "own nof1.sqlite" in line
    assert snapshot(logged) == before


@pytest.mark.parametrize("name", ["protocol.toml", "nof1.sqlite-wal", "nof1.sqlite-shm"])
def test_backup_refuses_to_overwrite_the_workspace_files(logged: Path, name: str) -> None:
    before = snapshot(logged)
    error_line(run(logged, "backup", str(logged / name), "--force"))
    assert snapshot(logged) == before


def test_backup_refuses_to_overwrite_without_force(logged: Path, tmp_path: Path) -> None:
    dest = tmp_path / "backup.sqlite"
    dest.write_bytes(b"last week's backup")
    line = error_line(run(logged, "backup", str(dest)))
    assert line == (
        f"Error: backup not written: {dest} already exists: choose a new file name, or add "
        "--force to replace it"
    )
    assert dest.read_bytes() == b"last week's backup"


def test_backup_with_force_replaces_and_leaves_no_temporary_file(
    logged: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    dest = folder / "backup.sqlite"
    dest.write_bytes(b"last week's backup")
    result = run(logged, "backup", str(dest), "--force")
    assert result.exit_code == 0, result.output
    assert dest.read_bytes().startswith(b"SQLite format 3")
    assert [p.name for p in folder.iterdir()] == ["backup.sqlite"]
    with Store.open(dest, create=False) as store:
        assert store.count("entries") == 4


def test_backup_does_not_follow_symlink(logged: Path, tmp_path: Path) -> None:
    target = tmp_path / "precious.db"
    target.write_bytes(b"precious")
    link = tmp_path / "backup.sqlite"
    link.symlink_to(target)
    assert "symbolic link" in error_line(run(logged, "backup", str(link), "--force"))
    assert target.read_bytes() == b"precious"


def test_refused_backup_is_not_recorded_in_the_audit(logged: Path) -> None:
    before = audit_rows(logged)
    error_line(run(logged, "backup", str(logged / "nof1.sqlite")))
    assert audit_rows(logged) == before


# ------------------------------------------------------------------------------------------
# The report: re-running never replaces an earlier report
# ------------------------------------------------------------------------------------------


@pytest.fixture
def quick_report(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """``write_report`` on a simulated result without drawing figures (fast)."""
    import nof1.report as report
    from test_report import scenario

    monkeypatch.setattr(report, "render", functools.partial(report.render, figures=False))
    record, result = scenario()

    def write(folder: Path, **kwargs):  # type: ignore[no-untyped-def]
        ws = SimpleNamespace(reports_dir=folder, protected_paths=lambda _path: [])
        return report.write_report(ws, result, record=record, **kwargs)

    return write


def test_report_rerun_writes_numbered_files_beside_the_earlier_report(
    tmp_path: Path, quick_report
) -> None:  # type: ignore[no-untyped-def]
    first = quick_report(tmp_path)
    first_html = first.html.read_bytes()
    second = quick_report(tmp_path)
    assert second.html.name == first.html.name.replace(".html", "-2.html")
    assert second.json.name.endswith("-2.json") and second.pdf.name.endswith("-2.pdf")
    assert first.html.read_bytes() == first_html
    third = quick_report(tmp_path)
    assert third.html.name.endswith("-3.html")
    import json

    assert json.loads(third.json.read_text(encoding="utf-8"))["report"]["files"]["html"] == (
        third.html.name
    )


def test_report_with_force_replaces_the_report_of_the_same_name(
    tmp_path: Path, quick_report
) -> None:  # type: ignore[no-untyped-def]
    first = quick_report(tmp_path)
    first.html.write_text("stale", encoding="utf-8")
    again = quick_report(tmp_path, force=True)
    assert again.html == first.html
    assert again.html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert len(list(tmp_path.iterdir())) == 3


def test_report_does_not_follow_symlink(tmp_path: Path, quick_report) -> None:  # type: ignore[no-untyped-def]
    first = quick_report(tmp_path)
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep", encoding="utf-8")
    first.html.unlink()
    first.html.symlink_to(target)
    with pytest.raises(OutputError, match="symbolic link"):
        quick_report(tmp_path, force=True)
    assert target.read_text(encoding="utf-8") == "keep"


@pytest.mark.parametrize("mask", [0o022, 0o000])
def test_report_files_and_folder_are_owner_only(tmp_path: Path, quick_report, umask, mask) -> None:  # type: ignore[no-untyped-def]
    umask(mask)
    written = quick_report(tmp_path / "out" / "reports")
    assert mode(tmp_path / "out") == 0o700
    assert mode(tmp_path / "out" / "reports") == 0o700
    assert [mode(p) for p in written.paths()] == [0o600, 0o600, 0o600]


# ------------------------------------------------------------------------------------------
# Privacy: owner-only whatever the umask
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0o022, 0o000])
def test_init_is_owner_only_under_umask(tmp_path: Path, umask, mask: int) -> None:  # type: ignore[no-untyped-def]
    umask(mask)
    folder = tmp_path / "new" / "trial"
    result = CliRunner().invoke(app, ["init", str(folder), "--template", "migraine-magnesium"])
    assert result.exit_code == 0, result.output
    assert mode(tmp_path / "new") == 0o700
    assert mode(folder) == 0o700
    assert mode(folder / "reports") == 0o700
    assert mode(folder / "protocol.toml") == 0o600


def test_init_is_owner_only_under_umask_000(tmp_path: Path, umask) -> None:  # type: ignore[no-untyped-def]
    umask(0o000)
    folder = tmp_path / "trial"
    result = CliRunner().invoke(app, ["init", str(folder), "--template", "migraine-magnesium"])
    assert result.exit_code == 0, result.output
    assert {p.name: mode(p) for p in [folder, *folder.iterdir()]} == {
        "trial": 0o700,
        "reports": 0o700,
        "protocol.toml": 0o600,
    }


def test_init_does_not_follow_a_symlink_named_protocol_toml(tmp_path: Path) -> None:
    folder = tmp_path / "trial"
    folder.mkdir()
    (folder / "protocol.toml").symlink_to(tmp_path / "planted.toml")
    result = CliRunner().invoke(app, ["init", str(folder), "--template", "migraine-magnesium"])
    assert "symbolic link" in error_line(result)
    assert not (tmp_path / "planted.toml").exists()


@pytest.mark.parametrize("mask", [0o022, 0o000])
def test_store_and_its_side_files_are_owner_only_under_umask(
    make_workspace: MakeWorkspace,
    umask,
    mask: int,  # type: ignore[no-untyped-def]
) -> None:
    umask(mask)
    folder = make_workspace()
    assert run(folder, "start").exit_code == 0
    with Store.open(folder / "nof1.sqlite") as store:  # keeps -wal and -shm open while checked
        with store.transaction("test"):
            store.audit_note("test")
        side = sorted(p.name for p in folder.iterdir() if p.name.startswith("nof1.sqlite"))
        assert side == ["nof1.sqlite", "nof1.sqlite-shm", "nof1.sqlite-wal"]
        assert {name: mode(folder / name) for name in side} == dict.fromkeys(side, 0o600)


@pytest.mark.parametrize("mask", [0o022, 0o000])
def test_outputs_are_owner_only_under_umask(logged: Path, tmp_path: Path, umask, mask: int) -> None:  # type: ignore[no-untyped-def]
    umask(mask)
    out = tmp_path / "out"
    out.mkdir()
    commands = {
        "diary.csv": ["export", str(out / "diary.csv")],
        "diary.json": ["export", str(out / "diary.json")],
        "trial.ics": ["calendar", str(out / "trial.ics")],
        "sealed.txt": ["allocation", "--export", str(out / "sealed.txt")],
        "sealed.csv": ["allocation", "--export", str(out / "sealed.csv")],
        "backup.sqlite": ["backup", str(out / "backup.sqlite")],
    }
    for args in commands.values():
        result = run(logged, *args)
        assert result.exit_code == 0, result.output
    assert {p.name: mode(p) for p in out.iterdir()} == dict.fromkeys(commands, 0o600)


def test_backup_before_restore_is_owner_only(logged: Path, tmp_path: Path, umask) -> None:  # type: ignore[no-untyped-def]
    umask(0o000)
    backup = tmp_path / "b.sqlite"
    assert run(logged, "backup", str(backup)).exit_code == 0
    result = run(logged, "restore", str(backup))
    assert result.exit_code == 0, result.output
    kept = [p for p in logged.iterdir() if ".before-restore-" in p.name]
    assert len(kept) == 1 and mode(kept[0]) == 0o600


# ------------------------------------------------------------------------------------------
# The planner's plot and --write
# ------------------------------------------------------------------------------------------


def _plan_result():  # type: ignore[no-untyped-def]
    from nof1.protocol import TrialProtocol
    from test_plan import _small_result

    return _small_result(TrialProtocol.from_toml(Path(__file__).parents[1] / "protocols" /
                                                 "migraine-magnesium.toml"))  # fmt: skip


def test_plan_plot_is_owner_only_under_umask_000(tmp_path: Path, umask) -> None:  # type: ignore[no-untyped-def]
    from nof1.report.plan_figure import plot_plan

    umask(0o000)
    plot_plan(_plan_result(), tmp_path / "plan.png")
    assert mode(tmp_path / "plan.png") == 0o600


def test_plan_plot_refuses_to_overwrite_protocol_toml(logged: Path) -> None:
    from nof1.report.plan_figure import plot_plan

    before = (logged / "protocol.toml").read_bytes()
    with pytest.raises(OutputError, match="own protocol.toml"):
        plot_plan(_plan_result(), logged / "protocol.toml")
    assert (logged / "protocol.toml").read_bytes() == before
