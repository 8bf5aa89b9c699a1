"""Bad input, hostile or accidental: one clear ``Error:`` line naming the row or field and the
fix, never a traceback, and nothing written.

Covers the tidy import (JSON and CSV cells), the protocol file (encoding, NUL, nesting, trial
length), a full disk and read-only media, and control/bidi characters in free text.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import DAYS_AGO, MakeWorkspace, template_text
from nof1 import store as store_module
from nof1.cli import app
from nof1.cli.base import printable
from nof1.errors import ProtocolError
from nof1.protocol import MAX_TRIAL_DAYS, TrialProtocol, set_design_values
from nof1.store import Store
from nof1.tidy import COLUMNS, MAX_IMPORT_BYTES

TODAY = dt.date.today()
START = TODAY - dt.timedelta(days=DAYS_AGO)
FULL = ["headache_day=yes", "peak_pain=4", "severity=mild", "acute_med_days=1"]
ESC = "\x1b[2J\x1b[31m"  # clear the screen, then red
RLO = "\u202e"  # right-to-left override: "yes" would read "sey"


def run(folder: Path, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]  # noqa: A002
    return CliRunner().invoke(app, [*args, "--trial", str(folder)], input=input)


def error_line(result) -> str:  # type: ignore[no-untyped-def]
    """The single ``Error:`` line of a failed command (no traceback)."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    return str(errors[0] if lines[-1] == errors[0] else result.stderr.split("Error: ", 1)[1])


def audit_rows(folder: Path) -> int:
    with Store.open(folder / "nof1.sqlite", create=False) as store:
        return store.count("audit")


def row(**changes: Any) -> dict[str, Any]:
    """A valid tidy row (run-in day 1, peak_pain 4) with ``changes``."""
    base: dict[str, Any] = dict.fromkeys(COLUMNS)
    base.update(date=START.isoformat(), outcome="peak_pain", value=4)
    base.update(changes)
    return base


def write_json(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"format": "nof1-tidy", "version": 1, "rows": rows}), "utf-8")
    return path


def import_error(folder: Path, path: Path) -> str:
    before = audit_rows(folder)
    line = error_line(run(folder, "import", str(path)))
    assert audit_rows(folder) == before, "nothing may be written"
    return line


# ------------------------------------------------------------------------------------------
# JSON import
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_import_json_rejects_nan_and_infinity(started: Path, tmp_path: Path, constant: str) -> None:
    path = tmp_path / "d.json"
    text = json.dumps({"rows": [row(), row(outcome="acute_med_days", value=0)]})
    path.write_text(text.replace('"value": 0', f'"value": {constant}'), encoding="utf-8")
    line = import_error(started, path)
    assert f"row 2: value is {constant}, which is not a number: give a finite number" in line


def test_import_json_rejects_nan(started: Path, tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"rows": [row()]}).replace("4", "NaN", 1), encoding="utf-8")
    assert "row 1: value is NaN, which is not a number" in import_error(started, path)


@pytest.mark.parametrize("value", [True, False])
def test_import_json_rejects_boolean_value(started: Path, tmp_path: Path, value: bool) -> None:
    path = write_json(tmp_path / "d.json", [row(outcome="headache_day", value=value)])
    line = import_error(started, path)
    word = "true" if value else "false"
    assert f'row 1: value is {word} (a JSON boolean): write 1 or 0 (or "yes"/"no")' in line


@pytest.mark.parametrize("column", ["day", "period", "block"])
def test_import_json_rejects_boolean_in_number_column(
    started: Path, tmp_path: Path, column: str
) -> None:
    path = write_json(tmp_path / "d.json", [row(**{column: True})])
    assert f"row 1: {column} is true (a JSON boolean)" in import_error(started, path)


def test_import_json_rejects_fractional_day(started: Path, tmp_path: Path) -> None:
    path = write_json(tmp_path / "d.json", [row(day=1.5)])
    assert "row 1: day is 1.5: give a whole number" in import_error(started, path)


@pytest.mark.parametrize(("value", "kind"), [([4], "a list"), ({"v": 4}, "an object")])
def test_import_json_rejects_nested_cell(
    started: Path, tmp_path: Path, value: Any, kind: str
) -> None:
    path = write_json(tmp_path / "d.json", [row(value=value)])
    assert f"row 1: value is {kind}: give a single value" in import_error(started, path)


def test_import_json_rejects_number_as_date(started: Path, tmp_path: Path) -> None:
    path = write_json(tmp_path / "d.json", [row(date=20260101)])
    assert "row 1: date is a number: give it as text in quotes" in import_error(started, path)


def test_import_json_rejects_huge_integer(started: Path, tmp_path: Path) -> None:
    path = write_json(tmp_path / "d.json", [row(value=10**400)])
    assert "row 1: value is a number of 401 digits: too large" in import_error(started, path)


def test_import_json_rejects_integer_beyond_the_digit_limit(started: Path, tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"rows": [row(value=1)]}).replace(": 1", ": " + "9" * 5000), "utf-8")
    assert "d.json holds a number nof1 cannot read (Exceeds the limit" in import_error(
        started, path
    )


def test_import_json_rejects_deep_nesting(started: Path, tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert "is nested too deeply to be a tidy file" in import_error(started, path)


def test_import_json_rejects_huge_file(started: Path, tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    with path.open("wb") as handle:
        handle.truncate(MAX_IMPORT_BYTES + 1)  # sparse: no disk used
    line = import_error(started, path)
    assert line == (
        "Error: d.json is larger than 20 MB, far more than a trial's diary: check that it is "
        "the right file, or split it"
    )


@pytest.mark.parametrize(
    ("text", "kind"),
    [('"rows"', "text"), ("42", "a number"), ("null", "null"), ('{"rows": {}}', "an object")],
)
def test_import_json_rejects_wrong_top_level_type(
    started: Path, tmp_path: Path, text: str, kind: str
) -> None:
    path = tmp_path / "d.json"
    path.write_text(text, encoding="utf-8")
    assert f"or a list of rows (got {kind})" in import_error(started, path)


def test_import_json_rejects_rows_that_are_not_objects(started: Path, tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text("[1, 2]", encoding="utf-8")
    assert 'row 1 must be an object like {"date": ..., ...} (got a number)' in import_error(
        started, path
    )


@pytest.mark.parametrize("text", ["", "   \n\n"])
def test_import_json_rejects_empty_file(started: Path, tmp_path: Path, text: str) -> None:
    path = tmp_path / "d.json"
    path.write_text(text, encoding="utf-8")
    assert "d.json is empty: nothing to import" in import_error(started, path)


def test_import_json_rejects_empty_rows(started: Path, tmp_path: Path) -> None:
    path = write_json(tmp_path / "d.json", [])
    assert "d.json has no rows: nothing to import" in import_error(started, path)


def test_import_json_accepts_utf8_bom(started: Path, tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"rows": [row()]}).encode())
    result = run(started, "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Imported 1 values for 1 days")


def test_import_json_rejects_utf16_bom(started: Path, tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_bytes(json.dumps({"rows": [row()]}).encode("utf-16"))
    assert "d.json is UTF-16 text: save it as UTF-8 CSV or JSON" in import_error(started, path)


def test_import_json_rejects_duplicate_keys(started: Path, tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    text = json.dumps({"rows": [row()]}).replace('"value": 4', '"value": 4, "value": 9')
    path.write_text(text, encoding="utf-8")
    assert "row 1: value is given twice in this row: keep one" in import_error(started, path)


def test_import_json_rejects_newer_version(started: Path, tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"format": "nof1-tidy", "version": 7, "rows": [row()]}), "utf-8")
    assert "version must be 1 (got 7); a newer version needs a newer nof1" in import_error(
        started, path
    )


def test_import_json_rejects_nul_byte(started: Path, tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"rows": [row(outcome="peak\x00pain")]}), encoding="utf-8")
    # json.dumps escapes it; a raw NUL byte in the file is what a corrupted file holds
    path.write_bytes(path.read_bytes().replace(b"\\u0000", b"\x00"))
    assert "d.json line 1 contains a NUL byte: it is not a text file" in import_error(started, path)


def test_import_json_rejects_non_utf8(started: Path, tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_bytes(json.dumps({"rows": [row(outcome="peak_pain")]}).encode() + b"\n\xff")
    line = import_error(started, path)
    assert "d.json is not UTF-8 text (byte 0xff on line 2): save it as UTF-8" in line


# ------------------------------------------------------------------------------------------
# CSV import cells
# ------------------------------------------------------------------------------------------

HEADER = ",".join(COLUMNS)


def write_csv(path: Path, *lines: str) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("cell", ["nan", "NaN", "inf", "-inf", "Infinity", "1e309"])
def test_import_csv_rejects_nan_and_infinity(started: Path, tmp_path: Path, cell: str) -> None:
    path = write_csv(tmp_path / "d.csv", f"{START},,,,,peak_pain,{cell},")
    line = import_error(started, path)
    assert "line 2: peak_pain must be " in line
    assert repr(cell) in line


def test_import_csv_rejects_nan(started: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", f"{START},,,,,acute_med_days,nan,")
    assert "line 2: acute_med_days must be a plain decimal number like 4 or 2.5 (got 'nan')" in (
        import_error(started, path)
    )


@pytest.mark.parametrize("cell", ["true", "1_000", "٣", "0x10"])
def test_import_csv_rejects_non_decimal_number_text(
    started: Path, tmp_path: Path, cell: str
) -> None:
    path = write_csv(tmp_path / "d.csv", f"{START},,,,,peak_pain,{cell},")
    assert "line 2: peak_pain must be" in import_error(started, path)


def test_import_csv_rejects_nul_byte(started: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", f"{START},,,,,peak_pain,4,", f"{START},,,,,sev\x00,1,")
    assert "d.csv line 3 contains a NUL byte" in import_error(started, path)


def test_import_csv_rejects_huge_cell(started: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", f'{START},,,,,peak_pain,"{"9" * 200_000}",')
    line = import_error(started, path)
    assert "d.csv line " in line and "cannot be read as CSV (field larger than field limit" in line


def test_import_csv_rejects_huge_file(started: Path, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    with path.open("wb") as handle:
        handle.write((HEADER + "\n").encode())
        handle.truncate(MAX_IMPORT_BYTES + 1)
    assert "d.csv is larger than 20 MB" in import_error(started, path)


def test_import_csv_rejects_empty_file(started: Path, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("", encoding="utf-8")
    assert "d.csv is empty: nothing to import (the first line must be the header" in (
        import_error(started, path)
    )


def test_import_csv_rejects_header_only(started: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv")
    assert "d.csv has a header but no rows: nothing to import" in import_error(started, path)


def test_import_csv_accepts_utf8_bom(started: Path, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"\xef\xbb\xbf" + f"{HEADER}\n{START},,,,,peak_pain,4,\n".encode())
    result = run(started, "import", str(path))
    assert result.exit_code == 0, result.output


def test_import_csv_rejects_latin1(started: Path, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(f"{HEADER}\n{START},,,,,peak_pain,4,caf".encode() + b"\xe9\n")
    assert "d.csv is not UTF-8 text (byte 0xe9 on line 2)" in import_error(started, path)


def test_import_of_a_folder_is_one_error(started: Path, tmp_path: Path) -> None:
    folder = tmp_path / "d.csv"
    folder.mkdir()
    assert "is a folder: give the CSV or JSON file to import" in import_error(started, folder)


# ------------------------------------------------------------------------------------------
# The protocol file
# ------------------------------------------------------------------------------------------


def test_non_utf8_protocol_is_one_error_line(workspace: Path) -> None:
    protocol = workspace / "protocol.toml"
    data = protocol.read_bytes().replace(b"Magnesium", "Magn\xe9sium".encode("latin-1"), 1)
    protocol.write_bytes(data)
    line = error_line(run(workspace, "status"))
    assert line.startswith("Error: not UTF-8 text (byte 0xe9 on line ")
    assert line.endswith("): save the file as UTF-8 in your editor in protocol.toml")


def test_utf16_protocol_is_one_error_line(workspace: Path) -> None:
    protocol = workspace / "protocol.toml"
    protocol.write_bytes(protocol.read_text(encoding="utf-8").encode("utf-16"))
    assert error_line(run(workspace, "schedule")) == (
        "Error: the file is UTF-16 text: save it as UTF-8 in your editor in protocol.toml"
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_endless_protocol_file_is_one_error_line(workspace: Path) -> None:
    protocol = workspace / "protocol.toml"
    protocol.unlink()
    protocol.symlink_to("/dev/zero")  # endless: must not be read whole
    assert error_line(run(workspace, "status")) == (
        "Error: the file is over 1,000,000 bytes, far too large for a protocol: check that it is "
        "the right file in protocol.toml"
    )


def test_protocol_with_a_bom_is_read(workspace: Path) -> None:
    protocol = workspace / "protocol.toml"
    protocol.write_bytes(b"\xef\xbb\xbf" + protocol.read_bytes())
    assert run(workspace, "schedule").exit_code == 0


def test_protocol_with_a_nul_byte_is_one_error_line(workspace: Path) -> None:
    protocol = workspace / "protocol.toml"
    protocol.write_bytes(b"# header\n\x00" + protocol.read_bytes())
    assert error_line(run(workspace, "today")) == (
        "Error: line 2 contains a NUL byte: this is not a text file; save the protocol as plain "
        "UTF-8 text in protocol.toml"
    )


def test_invalid_toml_protocol_is_one_error_line(workspace: Path) -> None:
    protocol = workspace / "protocol.toml"
    protocol.write_text(protocol.read_text(encoding="utf-8") + "\n[design\n", encoding="utf-8")
    assert error_line(run(workspace, "status")).startswith("Error: not valid TOML: ")


def test_deeply_nested_toml_protocol_is_one_error_line(workspace: Path) -> None:
    protocol = workspace / "protocol.toml"
    protocol.write_text("x = " + "[" * 50_000 + "]" * 50_000 + "\n", encoding="utf-8")
    assert error_line(run(workspace, "status")) == (
        "Error: not valid TOML: arrays or tables are nested too deeply in protocol.toml"
    )


def test_init_with_a_non_utf8_template_file_is_one_error_line(tmp_path: Path) -> None:
    template = tmp_path / "mine.toml"
    template.write_bytes(template_text().encode("utf-8") + b"\n# caf\xe9\n")
    result = CliRunner().invoke(app, ["init", str(tmp_path / "t"), "--template", str(template)])
    assert "not UTF-8 text (byte 0xe9 on line" in error_line(result)
    assert not (tmp_path / "t").exists()


def protocol_text(**design: int) -> str:
    text = set_design_values(template_text(), {"start_date": TODAY, "seed": 1})
    for key, value in design.items():
        text = text.replace("[design]\n", f"[design]\n{key} = {value}\n", 1)
    return text


def test_trial_length_has_an_upper_bound() -> None:
    text = protocol_text()
    for key in ("blocks", "period_days"):
        text = "\n".join(line for line in text.splitlines() if not line.startswith(f"{key} ="))
    text = text.replace("[design]\n", "[design]\nblocks = 50\nperiod_days = 365\n", 1)
    with pytest.raises(ProtocolError) as caught:
        TrialProtocol.from_text(text)
    assert any(
        p.startswith("the trial would last ")
        and "design.blocks 50 × design.period_days 365" in p
        and p.endswith(
            f"more than the limit of {MAX_TRIAL_DAYS} days (3 years): use fewer blocks or "
            "shorter periods"
        )
        for p in caught.value.problems
    ), caught.value.problems


def test_huge_period_days_is_refused_before_a_calendar_is_built(workspace: Path) -> None:
    protocol = workspace / "protocol.toml"
    text = protocol.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("period_days =")]
    protocol.write_text(
        "\n".join(lines).replace("[design]\n", "[design]\nperiod_days = 365\n", 1),
        encoding="utf-8",
    )
    line = error_line(run(workspace, "calendar", str(workspace / "t.ics")))
    assert "design.period_days 365" in line and f"limit of {MAX_TRIAL_DAYS} days" in line
    assert not (workspace / "t.ics").exists()


def test_three_year_trial_is_allowed() -> None:
    protocol = TrialProtocol.from_text(protocol_text())
    assert protocol.design.total_days <= MAX_TRIAL_DAYS


# ------------------------------------------------------------------------------------------
# Full disk and read-only media
# ------------------------------------------------------------------------------------------


def _nof1_under_file_size_limit(limit: int, *args: str) -> subprocess.CompletedProcess[str]:
    code = textwrap.dedent(
        f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
        sys.argv = ["nof1", *{list(args)!r}]
        from nof1.cli import main
        main()
        """
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_import_on_a_full_disk_is_one_error_line_and_records_nothing(
    started: Path, tmp_path: Path
) -> None:
    """Disk full, for real: ``RLIMIT_FSIZE`` in a subprocess makes the kernel refuse SQLite's
    write-ahead-log growth with EFBIG (SIGXFSZ ignored) — the same failure as a full disk, and it
    binds root too (chmod and quotas do not). The limit leaves room for the 32 KiB -shm file."""
    lines = [HEADER]
    for i in range(DAYS_AGO + 1):  # every day so far: the write-ahead log outgrows the limit
        day = START + dt.timedelta(days=i)
        took = "yes" if i >= 14 else ""  # adherence on period days (after the 14-day run-in)
        lines += [f"{day},,,,,{pair.replace('=', ',')},{took}" for pair in FULL]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = audit_rows(started)
    out = _nof1_under_file_size_limit(33_000, "import", str(path), "--trial", str(started))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith(f"Error: cannot write the data store {started / 'nof1.sqlite'}")
    assert out.stderr.rstrip().endswith(
        "nothing was recorded. Free disk space, or copy the trial folder to writable media, and "
        "run the command again"
    )
    assert audit_rows(started) == before
    with Store.open(started / "nof1.sqlite", create=False) as store:
        assert store.integrity_problems() == []


def test_export_on_a_full_disk_is_one_error_line(started: Path, tmp_path: Path) -> None:
    """Disk full for a file output, for real: ``RLIMIT_FSIZE`` in a subprocess (binds root)."""
    assert run(started, "log", *FULL, "--took", "yes").exit_code == 0
    dest = tmp_path / "out"
    dest.mkdir()
    out = _nof1_under_file_size_limit(40, "export", str(dest / "d.csv"), "--trial", str(started))
    assert out.returncode == 1
    assert out.stderr.startswith(f"Error: cannot write {dest / 'd.csv'}: the file is larger")
    assert "nothing was written" in out.stderr and "Traceback" not in out.stderr
    assert list(dest.iterdir()) == []


def _cannot_open(message: str = "unable to open database file") -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError(message)
    exc.sqlite_errorname = "SQLITE_CANTOPEN"  # type: ignore[attr-defined]
    return exc


@pytest.fixture
def read_only_media(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Call it to turn the store's folder into read-only media, injected at the SQLite boundary:
    the read-write and ``mode=ro`` connections fail with the ``SQLITE_CANTOPEN`` that SQLite
    raises on a read-only mount (it cannot create the ``-shm`` file), so only ``immutable=1``
    opens. Root ignores chmod, so a real read-only folder needs a mount: see the ``unshare``
    test below, which runs where user namespaces are allowed."""
    real = store_module._connect

    def connect(path: Path, *, readonly: bool = False, immutable: bool = False):  # type: ignore[no-untyped-def]
        if not immutable:
            raise _cannot_open()
        return real(path, immutable=True)

    return lambda: monkeypatch.setattr(store_module, "_connect", connect)


def test_status_export_backup_work_on_read_only_media(
    started: Path, tmp_path: Path, read_only_media
) -> None:  # type: ignore[no-untyped-def]
    assert run(started, "log", *FULL, "--took", "yes").exit_code == 0
    read_only_media()
    status = run(started, "status")
    assert status.exit_code == 0, status.output
    assert "1 yes/0 partial/0 no" in status.stdout
    export = run(started, "export", str(tmp_path / "d.csv"))
    assert export.exit_code == 0, export.output
    assert len((tmp_path / "d.csv").read_text(encoding="utf-8").splitlines()) == 5
    backup = run(started, "backup", str(tmp_path / "b.sqlite"))
    assert backup.exit_code == 0, backup.output
    assert "not noted in its audit" in backup.stderr
    with Store.open(tmp_path / "b.sqlite", create=False) as store:
        assert store.count("entries") == 4


def test_log_on_read_only_media_is_one_error_line(started: Path, read_only_media) -> None:  # type: ignore[no-untyped-def]
    """Read-only media injected at the SQLite boundary (see :func:`read_only_media`)."""
    read_only_media()
    line = error_line(run(started, "log", *FULL, "--took", "yes"))
    assert line == (
        f"Error: cannot write the data store {started / 'nof1.sqlite'} (its file, folder or disk "
        "cannot be written): nothing was recorded. Free disk space, or copy the trial folder to "
        "writable media, and run the command again"
    )


def test_read_only_store_with_pending_wal_is_refused_not_misread(
    started: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``immutable=1`` ignores the -wal file; with unsaved changes in it, opening that way would
    silently hide them, so nof1 refuses (injected read-only failure as above)."""
    (started / "nof1.sqlite-wal").write_bytes(b"x" * 100)
    monkeypatch.setattr(
        store_module, "_connect", lambda *a, **k: (_ for _ in ()).throw(_cannot_open())
    )
    line = error_line(run(started, "status"))
    assert "nof1.sqlite-wal holds changes not yet in it: copy the trial folder" in line


def _can_mount_read_only(tmp_path: Path) -> bool:
    if shutil.which("unshare") is None or not sys.platform.startswith("linux"):
        return False
    probe = tmp_path / "probe"
    probe.mkdir()
    out = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"mount -o bind,ro {probe} {probe} && ! touch {probe}/x"],
        capture_output=True,
    )
    return out.returncode == 0


def test_status_export_backup_work_on_a_real_read_only_mount(started: Path, tmp_path: Path) -> None:
    """Real read-only media: the workspace is bind-mounted read-only in a private mount
    namespace (``unshare -rm``), which binds root too. Skipped where user namespaces are not
    allowed; the injected-failure tests above cover the same code everywhere."""
    if not _can_mount_read_only(tmp_path):
        pytest.skip("user namespaces (unshare -rm) are not available here")
    assert run(started, "log", *FULL, "--took", "yes").exit_code == 0
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    nof1 = f"{sys.executable} -m nof1"
    script = "; ".join(
        [
            f"mount -o bind,ro {started} {started}",
            f"{nof1} status --trial {started} > {out_dir}/status.txt 2>&1; echo status=$?",
            f"{nof1} export {out_dir}/d.csv --trial {started}; echo export=$?",
            f"{nof1} backup {out_dir}/b.sqlite --trial {started}; echo backup=$?",
            f"{nof1} log {' '.join(FULL)} --took yes --date yesterday --trial {started}; "
            "echo log=$?",
        ]
    )
    out = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True)
    assert "status=0" in out.stdout and "export=0" in out.stdout, out.stdout + out.stderr
    assert "backup=0" in out.stdout and "log=1" in out.stdout, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert "Error: cannot write the data store" in out.stderr
    assert len((out_dir / "d.csv").read_text(encoding="utf-8").splitlines()) == 5
    with Store.open(out_dir / "b.sqlite", create=False) as store:
        assert store.count("entries") == 4


def test_unexpected_os_error_is_one_error_line(
    started: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operating-system error the library did not anticipate (injected: EIO reading the
    protocol) still ends as one ``Error:`` line, never a traceback."""
    import errno

    import nof1.workspace

    def broken(path: Path) -> bytes:
        raise OSError(errno.EIO, "Input/output error", str(path))

    monkeypatch.setattr(nof1.workspace, "read_protocol_bytes", broken)
    line = error_line(run(started, "status"))
    assert line.startswith("Error: cannot read ") and "Input/output error" in line


# ------------------------------------------------------------------------------------------
# Control and bidi characters in free text
# ------------------------------------------------------------------------------------------


def test_printable_escapes_controls_bidi_and_format_characters() -> None:
    text = f"ok{ESC}\u009b\x7f{RLO}sey\u2066\u200b\u2028end\ttab\nnext"
    assert printable(text) == (
        "ok\\u001b[2J\\u001b[31m\\u009b\\u007f\\u202esey\\u2066\\u200b\\u2028end\\u0009tab\\u000anext"
    )
    assert printable(text, multiline=True).endswith("\\u0009tab\nnext")
    assert printable("Übelkeit, 頭痛 🙂") == "Übelkeit, 頭痛 🙂"


def test_printable_keeps_json_output_valid_and_equal() -> None:
    value = {"title": f"Mg{ESC}\u009b{RLO}\U000e0001\x7f"}
    shown = printable(json.dumps(value, ensure_ascii=False), multiline=True)
    assert "\x1b" not in shown and RLO not in shown and "\U000e0001" not in shown
    assert json.loads(shown) == value


def test_printable_escapes_a_lone_surrogate() -> None:
    assert printable("a\ud800b") == "a\\ud800b"


def test_note_with_escape_sequences_is_stored_raw_but_never_echoed_raw(started: Path) -> None:
    note = f"fine{ESC}{RLO}sey\nforged line"
    result = run(started, "log", *FULL, "--took", "yes", "--note", note)
    assert result.exit_code == 0, result.output
    history = run(started, "history", "today")
    assert history.exit_code == 0, history.output
    assert "\x1b" not in history.stdout and RLO not in history.stdout
    assert "note: fine\\u001b[2J\\u001b[31m\\u202esey\\u000aforged line" in history.stdout
    with Store.open(started / "nof1.sqlite", create=False) as store:
        assert store.notes()[0].text == note  # stored as given


def test_event_description_is_never_echoed_raw(started: Path) -> None:
    description = f"rash{ESC}{RLO}"
    result = run(started, "event", "--description", description, "--severity", "mild")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and RLO not in result.stdout
    assert "rash\\u001b[2J\\u001b[31m\\u202e" in result.stdout
    status = run(started, "status")
    assert "\x1b" not in status.stdout and "rash\\u001b" in status.stdout
    history = run(started, "history", "today")
    assert "adverse event: rash\\u001b[2J" in history.stdout


def test_correction_reason_is_never_echoed_raw(started: Path) -> None:
    assert run(started, "log", *FULL, "--took", "yes").exit_code == 0
    result = run(
        started, "log", "peak_pain=5", "--correct", "--reason", f"typo{ESC}", "--took", "yes"
    )
    assert result.exit_code == 0, result.output
    history = run(started, "history", "today")
    assert "correction: typo\\u001b[2J" in history.stdout and "\x1b" not in history.stdout


def test_stop_reason_is_never_echoed_raw(started: Path) -> None:
    result = run(started, "stop", "--reason", f"felt unwell{RLO}")
    assert result.exit_code == 0, result.output
    assert RLO not in result.stdout and "felt unwell\\u202e" in result.stdout
    status = run(started, "status")
    assert RLO not in status.stdout and "felt unwell\\u202e" in status.stdout


def test_reveal_name_is_never_echoed_raw(started: Path) -> None:
    args = ["allocation", "--reveal", "--by", f"Dr{ESC}X", "--reason", f"rash{RLO}"]
    result = run(started, *args, "--early", "--yes")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout + result.stderr
    assert "by Dr\\u001b[2J" in result.stdout and RLO not in result.stdout + result.stderr


def test_error_message_echoing_input_is_escaped(started: Path) -> None:
    result = run(started, "log", f"{ESC}=3", "--took", "yes")
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr  # the library's repr() or the CLI's escaping
    assert "'\\x1b[2J\\x1b[31m'" in result.stderr or "\\u001b[2J" in result.stderr


def test_protocol_names_are_escaped_in_terminal_output(make_workspace: MakeWorkspace) -> None:
    # TOML forbids raw control characters but allows the \\u escape and a raw bidi override
    folder = make_workspace(
        replace=[
            ('name = "Placebo', f'name = "Placebo\\u001b[2J{RLO}'),
            ("blinded = true", "blinded = false"),
        ]
    )
    result = run(folder, "schedule")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and RLO not in result.stdout
    assert "Placebo\\u001b[2J\\u202e" in result.stdout


def test_os_error_escaping_the_library_is_one_error_line(
    started: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's last line of defence: an ``OSError`` the library did not turn into a
    ``Nof1Error`` (injected into ``diary.status``) is one ``Error:`` line, not a traceback."""
    import errno

    from nof1 import diary

    def broken(ws: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system", "/media/stick/trial")

    monkeypatch.setattr(diary, "status", broken)
    assert error_line(run(started, "status")) == (
        "Error: /media/stick/trial: the folder is on read-only media: write to another folder"
    )


def test_review_note_and_stop_reason_are_never_echoed_raw(started: Path) -> None:
    event = run(started, "event", "--description", "fainted", "--severity", "severe", "--serious")
    assert event.exit_code == 0, event.output
    result = run(
        started, "review", "--rule", "serious_adverse_event", "--by", "Dr X",
        "--decision", "stop", "--note", f"see notes{ESC}{RLO}",
    )  # fmt: skip
    if result.exit_code == 1:  # the note is refused outright: nothing raw can be echoed
        assert "\x1b" not in result.stderr and RLO not in result.stderr
        return
    assert "\x1b" not in result.stdout + result.stderr
    assert RLO not in result.stdout + result.stderr
