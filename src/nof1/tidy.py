"""The tidy diary format: one row per day and outcome (CSV and JSON). See docs/tidy-format.md.

Columns, in order: ``date, day, period, block, arm, outcome, value, adherence``.

Export writes the values in force (after corrections). Import checks *every* row first — header,
dates, values, duplicates, agreement with the protocol and the schedule — and then writes all rows
in one transaction, or nothing.

Blinding: while a blinded trial's allocation is not revealed, ``arm`` holds the pack code (e.g.
``Pack 2``), never ``A``/``B``, so an export can be shared without unblinding the patient. Import
then accepts only the pack code (an ``A``/``B`` is refused with one message, whatever the day's
arm) and never says which arm a date *should* have had.

Stdlib + attrs only.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from attrs import frozen

from nof1 import diary, files
from nof1.errors import EntryError
from nof1.record import Adherence, Observation
from nof1.schedule import Schedule
from nof1.workspace import Workspace

COLUMNS = ("date", "day", "period", "block", "arm", "outcome", "value", "adherence")
FORMAT_NAME = "nof1-tidy"
FORMAT_VERSION = 1
MAX_LISTED = 20
#: The largest file import reads. Three years of ten outcomes is under 3 MB in either format.
MAX_IMPORT_BYTES = 20_000_000
#: Columns that hold a whole number when given as a JSON number.
_INTEGER_COLUMNS = ("day", "period", "block")
#: Integers beyond this lose precision as floats (and overflow them far beyond).
_LARGEST_INTEGER = 2**53


@frozen
class TidyRow:
    """One row of the tidy format (``None`` for empty cells)."""

    date: dt.date
    day: int
    period: int | None
    block: int | None
    arm: str | None
    outcome: str
    value: float
    adherence: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "day": self.day,
            "period": self.period,
            "block": self.block,
            "arm": self.arm,
            "outcome": self.outcome,
            "value": self.value,
            "adherence": self.adherence,
        }

    def to_csv(self) -> list[str]:
        return [
            self.date.isoformat(),
            str(self.day),
            _cell(self.period),
            _cell(self.block),
            self.arm or "",
            self.outcome,
            _number(self.value),
            self.adherence or "",
        ]


@frozen
class ImportResult:
    entries: int
    days: int
    unchanged: int


def _cell(value: int | None) -> str:
    return "" if value is None else str(value)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _format(path: Path, fmt: str | None) -> str:
    chosen = (fmt or path.suffix.lstrip(".")).lower()
    if chosen not in ("csv", "json"):
        raise EntryError(
            f"--format must be csv or json (got {fmt or path.suffix or 'no file extension'!r}): "
            "give --format or name the file .csv or .json"
        )
    return chosen


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------


def rows(ws: Workspace) -> list[TidyRow]:
    """The tidy rows of the values in force, by date then in protocol outcome order."""
    diary.require_started(ws)
    return rows_from_records(
        ws.schedule,
        [o.name for o in ws.protocol.outcomes],
        ws.observations(),
        ws.adherence(),
        label=ws.arm_label,
    )


def rows_from_records(
    schedule: Schedule,
    outcome_order: Sequence[str],
    observations: Iterable[Observation],
    adherence: Iterable[Adherence],
    *,
    label: Callable[[str | None], str],
) -> list[TidyRow]:
    """Tidy rows for records kept anywhere (the store, a simulation), by date then outcome.

    ``label`` turns an arm code into what the ``arm`` column shows (the code itself, or a pack
    label while the trial is blinded).
    """
    order = {name: i for i, name in enumerate(outcome_order)}
    took = {a.date: a.took for a in adherence}
    result = []
    for obs in sorted(
        observations, key=lambda o: (o.date, order.get(o.outcome, len(order)), o.outcome)
    ):
        day = schedule.day(obs.date)
        result.append(
            TidyRow(
                date=obs.date,
                day=schedule.day_number(obs.date),
                period=None if day is None else day.period,
                block=None if day is None else day.block,
                arm=None if day is None or day.arm is None else label(day.arm),
                outcome=obs.outcome,
                value=obs.value,
                adherence=took.get(obs.date),
            )
        )
    return result


def to_csv(table: Iterable[TidyRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(r.to_csv() for r in table)
    return buffer.getvalue()


def to_json(ws: Workspace, table: Iterable[TidyRow]) -> str:
    blinded = ws.protocol.blinding.blinded and not ws.is_revealed
    document = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "trial_id": ws.protocol.trial_id,
        "arm_coding": "code" if blinded else "arm",
        "columns": list(COLUMNS),
        "rows": [r.to_dict() for r in table],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def export(ws: Workspace, path: str | Path, *, fmt: str | None = None, force: bool = False) -> int:
    """Write the tidy file (CSV or JSON, from ``fmt`` or the suffix); return the row count.

    The file is owner-only and written atomically; an existing file is replaced only with
    ``force``, and never the trial's own files (:func:`nof1.files.write_private`).
    """
    path = Path(path)
    chosen = _format(path, fmt)
    files.check_destination(path, force=force, protected=ws.protected_paths(path))
    table = rows(ws)
    text = to_csv(table) if chosen == "csv" else to_json(ws, table)
    files.write_private(path, text, force=force, protected=ws.protected_paths(path))
    return len(table)


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    """The file's text: UTF-8 (a byte-order mark is allowed), bounded in size, not empty."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_IMPORT_BYTES + 1)
    except FileNotFoundError:
        raise EntryError(f"import file not found: {path}") from None
    except IsADirectoryError:
        raise EntryError(f"{path} is a folder: give the CSV or JSON file to import") from None
    except OSError as exc:
        raise EntryError(f"cannot read {path} ({exc.strerror or exc})") from None
    if len(data) > MAX_IMPORT_BYTES:
        raise EntryError(
            f"{path.name} is larger than {MAX_IMPORT_BYTES // 1_000_000} MB, far more than a "
            "trial's diary: check that it is the right file, or split it"
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise EntryError(f"{path.name} is UTF-16 text: save it as UTF-8 CSV or JSON")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise EntryError(
            f"{path.name} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}): save "
            "it as UTF-8 CSV or JSON"
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise EntryError(
            f"{path.name} line {line} contains a NUL byte: it is not a text file; export the "
            "diary again as CSV or JSON"
        )
    if not text.strip():
        raise EntryError(
            f"{path.name} is empty: nothing to import (the first line must be the header "
            f"{','.join(COLUMNS)})"
        )
    return text


def read_records(path: Path) -> list[tuple[str, Mapping[str, Any]]]:
    """``(where, record)`` pairs from a CSV or JSON tidy file; file-level problems raise at once.

    Raises
    ------
    EntryError
        One message for a missing, unreadable, too large, empty, non-UTF-8 or malformed file, a
        wrong header or a file without rows; problems of single cells are left to the caller.
    """
    text = _read_text(path)
    if path.suffix.lower() == ".json":
        return _json_records(path, text)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    records: list[tuple[str, Mapping[str, Any]]] = []
    try:
        _check_columns(path, list(reader.fieldnames or []))
        for record in reader:
            if None in record:
                records.append((f"line {reader.line_num}", {"__extra__": record[None]}))
            else:
                records.append((f"line {reader.line_num}", record))
    except csv.Error as exc:
        raise EntryError(
            f"{path.name} line {reader.line_num} cannot be read as CSV ({exc}): save it as a "
            "plain comma-separated file"
        ) from None
    if not records:
        raise EntryError(f"{path.name} has a header but no rows: nothing to import")
    return records


class _NonFinite(str):
    """``NaN``, ``Infinity`` or ``-Infinity`` in JSON, kept to be reported with its row."""


class _Object(dict[str, Any]):
    """A JSON object that remembers keys given twice (JSON parsers keep the last silently)."""

    repeated: tuple[str, ...] = ()


def _json_object(pairs: list[tuple[str, Any]]) -> _Object:
    result = _Object(pairs)
    if len(result) < len(pairs):
        seen: set[str] = set()
        repeated = []
        for key, _ in pairs:
            if key in seen:
                repeated.append(key)
            seen.add(key)
        result.repeated = tuple(repeated)
    return result


def _json_records(path: Path, text: str) -> list[tuple[str, Mapping[str, Any]]]:
    expected = f'expected {{"format": "{FORMAT_NAME}", "rows": [{{"date": ..., ...}}, ...]}}'
    try:
        document = json.loads(text, parse_constant=_NonFinite, object_pairs_hook=_json_object)
    except json.JSONDecodeError as exc:
        raise EntryError(f"{path.name} is not valid JSON ({exc})") from None
    except RecursionError:
        raise EntryError(
            f"{path.name} is nested too deeply to be a tidy file: {expected}"
        ) from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise EntryError(f"{path.name} holds a number nof1 cannot read ({exc})") from None
    if isinstance(document, dict):
        repeated = getattr(document, "repeated", ())
        if repeated:
            raise EntryError(f"{path.name}: key {repeated[0]!r} is given twice")
        if document.get("format", FORMAT_NAME) != FORMAT_NAME:
            raise EntryError(f"{path.name}: format must be {FORMAT_NAME!r}: {expected}")
        version = document.get("version", FORMAT_VERSION)
        if type(version) is not int or not 1 <= version <= FORMAT_VERSION:
            raise EntryError(
                f"{path.name}: version must be {FORMAT_VERSION} (got {version!r}); a newer "
                "version needs a newer nof1"
            )
        data = document.get("rows")
    else:
        data = document
    if not isinstance(data, list):
        raise EntryError(f"{path.name}: {expected} or a list of rows (got {_json_kind(data)})")
    for i, record in enumerate(data):
        if not isinstance(record, dict):
            raise EntryError(
                f'{path.name}: row {i + 1} must be an object like {{"date": ..., ...}} (got '
                f"{_json_kind(record)})"
            )
        _check_columns(path, list(record))
    if not data:
        raise EntryError(f"{path.name} has no rows: nothing to import")
    return [(f"row {i + 1}", r) for i, r in enumerate(data)]


def _json_kind(value: Any) -> str:
    if isinstance(value, _NonFinite):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    return "a number"


def _cell_problems(record: Mapping[str, Any]) -> list[str]:
    """Cells of a JSON row whose type cannot be right, each with the fix (CSV cells are text)."""
    problems = []
    for key in getattr(record, "repeated", ()):
        problems.append(f"{key} is given twice in this row: keep one")
    for column in COLUMNS:
        value = record.get(column)
        if value is None or (isinstance(value, str) and not isinstance(value, _NonFinite)):
            continue
        kind = _json_kind(value)
        if isinstance(value, _NonFinite) or (isinstance(value, float) and not math.isfinite(value)):
            problems.append(f"{column} is {kind}, which is not a number: give a finite number")
        elif isinstance(value, bool):
            fix = '1 or 0 (or "yes"/"no")' if column == "value" else "a number or text"
            problems.append(f"{column} is {kind} (a JSON boolean): write {fix}")
        elif isinstance(value, dict | list):
            problems.append(f"{column} is {kind}: give a single value")
        elif column in ("date", "arm", "outcome", "adherence"):
            problems.append(f"{column} is {kind}: give it as text in quotes")
        elif column in _INTEGER_COLUMNS and not isinstance(value, int):
            problems.append(f"{column} is {value!r}: give a whole number")
        elif isinstance(value, int) and abs(value) > _LARGEST_INTEGER:
            problems.append(f"{column} is a number of {len(str(abs(value)))} digits: too large")
    return problems


_NUMBER_TEXT = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")


def _check_columns(path: Path, names: list[str]) -> None:
    missing = [c for c in COLUMNS if c not in names]
    unknown = [c for c in names if c not in COLUMNS]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
        raise EntryError(
            f"{path.name}: wrong header ({'; '.join(parts)}): the columns must be "
            f"{','.join(COLUMNS)}"
        )


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def import_file(ws: Workspace, path: str | Path, *, today: dt.date | None = None) -> ImportResult:
    """Validate every row of a tidy file, then write them all in one transaction.

    Rows identical to what is already stored are skipped; a row that disagrees with a stored
    value is an error (correct it with ``nof1 log --correct``).

    Raises
    ------
    EntryError
        Listing every problem found (by line or row); nothing is written.
    """
    path = Path(path)
    diary.require_started(ws)
    ws.guard()
    today = today or dt.date.today()
    schedule = ws.schedule
    protocol = ws.protocol
    records = read_records(path)
    stored = {(o.date, o.outcome): o.value for o in ws.observations()}
    stored_took = {a.date: a.took for a in ws.adherence()}
    problems: list[str] = []
    seen: dict[tuple[dt.date, str], str] = {}
    took_by_date: dict[dt.date, tuple[str, str]] = {}
    new_values: list[tuple[dt.date, str, float]] = []
    unchanged = 0
    for where, record in records:
        if "__extra__" in record:
            problems.append(f"{where}: more cells than columns")
            continue
        row_problems: list[str] = []

        def bad(message: str, _where: str = where, _acc: list[str] = row_problems) -> None:
            _acc.append(f"{_where}: {message}")

        types = _cell_problems(record)
        if types:
            problems += [f"{where}: {message}" for message in types]
            continue

        raw_date = _text(record.get("date"))
        try:
            date = dt.date.fromisoformat(raw_date) if len(raw_date) == 10 else None
        except ValueError:
            date = None
        if date is None:
            bad(f"date must be YYYY-MM-DD (got {raw_date!r})")
            problems += row_problems
            continue
        day = schedule.day(date)
        if date > today:
            bad(f"date {date} is in the future")
        elif day is None:
            bad(f"date {date} is outside the trial ({schedule.start} to {schedule.end})")
        name = _text(record.get("outcome"))
        spec = None
        try:
            spec = diary.outcome_spec(protocol, name)
        except EntryError as exc:
            bad(str(exc))
        value = None
        if spec is not None:
            raw_value = record.get("value")
            try:
                if spec.kind in ("continuous", "count") and isinstance(raw_value, str):
                    _check_number_text(spec.name, raw_value)
                value = diary.parse_value(
                    spec, raw_value if isinstance(raw_value, int | float) else _text(raw_value)
                )
            except EntryError as exc:
                bad(str(exc))
        if day is not None:
            _check_schedule(ws, record, day, bad)
        took_text = _text(record.get("adherence"))
        took = None
        if took_text:
            try:
                took = diary.parse_took(took_text)
            except EntryError as exc:
                bad(str(exc))
        if spec is not None:
            key = (date, spec.name)
            if key in seen:
                bad(f"duplicate row for {date} {spec.name} (first at {seen[key]})")
            else:
                seen[key] = where
        if took is not None:
            earlier = took_by_date.setdefault(date, (took, where))
            if earlier[0] != took:
                bad(f"adherence {took!r} differs from {earlier[0]!r} for {date} at {earlier[1]}")
            elif date in stored_took and stored_took[date] != took and earlier[1] == where:
                bad(
                    f"adherence for {date} is already stored as {stored_took[date]!r}: correct "
                    f"it with `nof1 log --date {date} --correct --reason ... --took {took}`"
                )
        if spec is not None and value is not None and not row_problems:
            key = (date, spec.name)
            if key in stored:
                if stored[key] != value:
                    bad(
                        f"{date} {spec.name} is already logged as {_number(stored[key])}: "
                        f"correct it with `nof1 log --date {date} --correct --reason ...`"
                    )
                else:
                    unchanged += 1
            else:
                new_values.append((date, spec.name, value))
        problems += row_problems
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems[:MAX_LISTED])
        extra = len(problems) - MAX_LISTED
        more = f"\n  - ... and {extra} more" if extra > 0 else ""
        raise EntryError(
            f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in {path.name}, "
            f"nothing was imported:\n{listed}{more}"
        )
    new_took = {d: t for d, (t, _) in took_by_date.items() if d not in stored_took}
    store = ws.store
    with store.transaction("import"):
        # Decided again under the write lock: a concurrent import or log may have written
        # these days since they were read above.
        now = {(e.date, e.outcome) for e in store.current_entries()}
        now_took = {a.date for a in store.current_adherence()}
        clash = sorted(
            {f"{d} {n}" for d, n, _ in new_values if (d, n) in now}
            | {f"{d} adherence" for d in new_took if d in now_took}
        )
        if clash:
            raise EntryError(
                f"{', '.join(clash[:5])}{' ...' if len(clash) > 5 else ''} already imported or "
                f"logged by another command meanwhile: nothing was imported; run the import "
                "again to skip what is now stored"
            )
        for date, name, value in new_values:
            store.add_entry(date, name, value)
        for date, took in sorted(new_took.items()):
            store.add_adherence(date, took)
    return ImportResult(
        entries=len(new_values),
        days=len({d for d, _, _ in new_values}),
        unchanged=unchanged,
    )


def _check_number_text(name: str, text: str) -> None:
    """A number cell is plain decimal: no ``nan``/``inf``, ``1_000`` or non-ASCII digits."""
    cell = text.strip()
    if cell and not _NUMBER_TEXT.match(cell):
        raise EntryError(f"{name} must be a plain decimal number like 4 or 2.5 (got {cell!r})")


def _check_schedule(ws: Workspace, record: Mapping[str, Any], day: Any, bad: Any) -> None:
    """Derived columns are optional; when given they must agree with the locked schedule.

    While a blinded trial is unrevealed the ``arm`` column is compared only as a pack code: an
    arm letter is refused with the same message whatever the day's arm, so no import attempt
    can tell which pack is which arm.
    """
    expected = {"day": day.number, "period": day.period, "block": day.block}
    for column, want in expected.items():
        got = _text(record.get(column))
        if not got:
            continue
        if got != _cell(want):
            bad(
                f"{column} {got} does not match the schedule for {day.date} "
                f"({_cell(want) or 'empty'})"
            )
    arm = _text(record.get("arm"))
    if not arm:
        return
    shown = repr(arm if len(arm) <= 40 else f"{arm[:40]}…")
    schedule = ws.schedule
    if ws.is_blind:
        codes = sorted(schedule.codes.values())
        packs = " or ".join(repr(c) for c in codes)
        if arm not in codes:
            if arm.upper() in ("A", "B"):
                bad(
                    f"arm {shown}: this trial is blinded, so the arm column takes the pack code "
                    f"({packs}), never A or B: use the pack code or leave the column empty"
                )
            else:
                bad(f"arm {shown} is not a pack code of this trial (use {packs} or leave it empty)")
            return
        want = "" if day.arm is None else schedule.codes[day.arm]
    else:
        want = "" if day.arm is None else day.arm
        if day.arm is not None and arm == schedule.codes[day.arm]:
            return
    if arm != want:
        where = f"{day.phase.replace('_', '-')} day" if day.arm is None else repr(want)
        bad(f"arm {shown} does not match the schedule for {day.date} ({where})")
