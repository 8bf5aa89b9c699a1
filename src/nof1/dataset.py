"""The arrays a model needs, built from a trial workspace or from a CSV file.

Two sources, one result type (:class:`OutcomeData`):

*Workspace.* Every logged day is placed on the schedule's calendar. Run-in days, physical
washout days (which carry no arm) and the first ``analytic_washout_days`` of each period are
kept in :attr:`OutcomeData.all_days` for plots but left out of the analysed arrays. The primary
analysis is by *assigned* arm; :meth:`OutcomeData.adherent_only` drops analysed days recorded as
``partial`` or ``no`` adherence (days without an adherence record are kept: missing is not
evidence of non-adherence).

*CSV.* One row per observation. ``--time`` is a whole-number day or week index (gaps allowed).
Several rows with the same time (e.g. three mood ratings a day) are **averaged per time unit**;
the treatment must be the same on all of them. Periods are runs of the same treatment in time
order; blocks come from ``--block`` or are consecutive pairs of periods. Every problem raises one
:class:`~nof1.errors.DataError` that names the column, the row and the fix.

Arms are coded 0 = A (comparator / control) and 1 = B (intervention).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from attrs import evolve, field, frozen

from nof1.errors import DataError
from nof1.protocol import OutcomeSpec
from nof1.vocab import DIRECTIONS, KINDS, words

if TYPE_CHECKING:  # the workspace is only read through its documented methods
    from nof1.protocol import TrialProtocol
    from nof1.record import Adherence, Observation
    from nof1.schedule import Schedule
    from nof1.workspace import Workspace

#: Labels taken as the control arm when ``--control`` is not given (case-insensitive).
CONTROL_WORDS = ("0", "a", "control", "placebo", "comparator", "off", "no", "none", "baseline")


@frozen
class LoggedDay:
    """One day (or time unit) with data, whatever its phase; for plots and the report's series."""

    date: dt.date | None
    time: float
    value: float
    phase: str  # "run_in" | "period" | "washout" | "outside"
    period: int | None
    block: int | None
    arm: str | None
    analysed: bool
    adherent: bool | None = None
    n_ratings: int = 1


@frozen
class PeriodSummary:
    """One treatment period: its arm and the days logged and analysed in it."""

    period: int
    block: int
    arm: str
    days_logged: int
    days_analysed: int
    mean: float | None

    def to_dict(self) -> dict[str, Any]:
        mean = None if self.mean is None or not math.isfinite(self.mean) else float(self.mean)
        return {
            "period": int(self.period),
            "block": int(self.block),
            "arm": self.arm,
            "days_logged": int(self.days_logged),
            "days_analysed": int(self.days_analysed),
            "mean": mean,
        }


def _floats(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=float)


def _ints(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=int)


def _bools(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=bool)


@frozen
class OutcomeData:
    """The analysed days of one outcome as arrays, plus everything logged (for plots).

    ``time`` is the trial day number (or the CSV's time index); ``arm`` is 1 for B (the
    intervention) and 0 for A; ``period`` and ``block`` are 1-based; ``adherent`` is False only
    on days recorded as not fully adherent. ``knots`` are the times of block ends (spline
    knots). ``sequence`` is the arm of every period in order, e.g. ``"ABBA"``.
    """

    outcome: OutcomeSpec
    date: tuple[dt.date | None, ...]
    time: np.ndarray = field(converter=_floats, eq=False)
    y: np.ndarray = field(converter=_floats, eq=False)
    arm: np.ndarray = field(converter=_ints, eq=False)
    period: np.ndarray = field(converter=_ints, eq=False)
    block: np.ndarray = field(converter=_ints, eq=False)
    adherent: np.ndarray = field(converter=_bools, eq=False)
    all_days: tuple[LoggedDay, ...] = ()
    knots: tuple[float, ...] = ()
    periods: tuple[PeriodSummary, ...] = ()
    sequence: str = ""
    time_unit: str = "day"
    source: str = "workspace"
    notes: tuple[str, ...] = ()
    #: The values of the treatment column that are A and B (CSV data; empty for a workspace).
    arm_labels: tuple[str, ...] = ()
    #: Every time unit of a CSV table with its arm, including units without a value of this
    #: outcome: the units a day-level randomization drew (empty for a workspace).
    units: tuple[tuple[float, str], ...] = ()
    #: Which part of a two-part outcome is analysed, in words for the report (empty: the whole
    #: outcome on every analysed day), e.g. "intensity when present: analysed only on the 31
    #: days it was asked (headache_day == yes)".
    part: str = ""

    @property
    def n(self) -> int:
        return int(self.y.size)

    @property
    def n_categories(self) -> int | None:
        """Categories the ordinal model sees: :attr:`OutcomeSpec.analysed_categories`."""
        return len(self.outcome.analysed_categories) if self.outcome.kind == "ordinal" else None

    @property
    def model_y(self) -> np.ndarray:
        """``y`` as the model reads it. ``y`` keeps the stored coding (what the person logged,
        for the report); an ordinal outcome analysed when asked without its "absent" category
        (severity "none") is renumbered from 0 over the analysed categories."""
        offset = self.outcome.category_offset if self.outcome.kind == "ordinal" else 0
        return self.y - offset if offset else self.y

    @property
    def last_date(self) -> dt.date | None:
        dates = [d.date for d in self.all_days if d.date is not None]
        return max(dates) if dates else None

    def period_means(self) -> dict[int, float]:
        """Mean of the analysed values in each period that has any."""
        return {int(p): float(self.y[self.period == p].mean()) for p in np.unique(self.period)}

    def adherent_only(self) -> OutcomeData:
        """The same data restricted to adherent analysed days (the sensitivity analysis)."""
        keep = self.adherent
        dropped = int((~keep).sum())
        return evolve(
            self,
            date=tuple(d for d, k in zip(self.date, keep, strict=True) if k),
            time=self.time[keep],
            y=self.y[keep],
            arm=self.arm[keep],
            period=self.period[keep],
            block=self.block[keep],
            adherent=self.adherent[keep],
            notes=(*self.notes, f"adherent days only: {dropped} non-adherent day(s) left out"),
        )


# --------------------------------------------------------------------------------------------
# From a workspace
# --------------------------------------------------------------------------------------------


def from_workspace(ws: Workspace, outcome: str | OutcomeSpec) -> OutcomeData:
    """Build the data of one outcome from a trial workspace.

    Parameters
    ----------
    ws : nof1.workspace.Workspace
        Read through ``ws.protocol``, ``ws.schedule``, ``ws.observations()`` and
        ``ws.adherence()``.
    outcome : str or OutcomeSpec
        The outcome (by name).

    Raises
    ------
    DataError
        When the outcome is unknown.
    """
    protocol = ws.protocol
    if isinstance(outcome, str):
        try:
            spec = protocol.outcome(outcome)
        except KeyError as exc:
            raise DataError(str(exc.args[0])) from None
    else:
        spec = outcome
    observations, adherence = ws.observations(), ws.adherence()
    stop = ws.stopped
    if stop is not None:  # after an early stop the days no longer follow the schedule
        observations = [o for o in observations if o.date <= stop.date]
        adherence = [a for a in adherence if a.date <= stop.date]
    return from_records(
        spec, ws.schedule, observations, adherence, protocol.design.period_days, protocol=protocol
    )


def from_records(
    spec: OutcomeSpec,
    schedule: Schedule,
    observations: Sequence[Observation],
    adherence: Sequence[Adherence] = (),
    period_days: int | None = None,
    *,
    protocol: TrialProtocol | None = None,
) -> OutcomeData:
    """Build :class:`OutcomeData` from a schedule and records (``Observation``/``Adherence``).

    Used by :func:`from_workspace` and directly with simulated trials. An outcome with skip
    logic (``ask_if``) gets its ``skipped_value`` on the days its condition is false (see
    :func:`skip_filled`), or, with ``analyse = "when_asked"``, keeps only the days it was asked
    (see :func:`asked_only`: intensity when present); pass ``protocol`` when a condition
    outcome is itself conditional.
    """
    took = {a.date: a.took == "yes" for a in adherence}
    values: dict[dt.date, float] = {}
    for obs in observations:
        if obs.outcome == spec.name and obs.value is not None and math.isfinite(obs.value):
            values[obs.date] = float(obs.value)  # newest wins: records come oldest first
    contradictory = unasked = 0
    if spec.when_asked:
        values = asked_only(spec, values, observations, protocol)
        values, contradictory, unasked = _absent_when_asked(spec, values, observations)
    elif spec.ask_if is not None:
        values = skip_filled(spec, values, observations, protocol)

    logged: list[LoggedDay] = []
    outside = 0
    for date in sorted(values):
        day = schedule.day(date)
        if day is None:
            outside += 1
            continue
        logged.append(
            LoggedDay(
                date=date,
                time=float(day.number),
                value=values[date],
                phase=day.phase,
                period=day.period,
                block=day.block,
                arm=day.arm,
                analysed=day.analysed,
                adherent=took.get(date),
            )
        )
    analysed = [d for d in logged if d.analysed]
    periods = []
    for p in schedule.periods:
        in_period = [d for d in logged if d.period == p.index]
        used = [d.value for d in in_period if d.analysed]
        periods.append(
            PeriodSummary(
                period=p.index,
                block=p.block,
                arm=p.arm,
                days_logged=len(in_period),
                days_analysed=len(used),
                mean=float(np.mean(used)) if used else None,
            )
        )
    notes = []
    if outside:
        notes.append(f"{outside} value(s) dated outside the trial calendar were ignored")
    excluded = len(logged) - len(analysed)
    if excluded:
        notes.append(
            f"{excluded} logged day(s) in run-in, washout or analytic washout are not analysed"
        )
    part = ""
    if spec.when_asked:
        assert spec.ask_if is not None
        part = when_asked_part(spec, len(analysed))
        notes.append(part)
        if contradictory or unasked:
            notes.append(_absent_note(spec, contradictory, unasked))
    return OutcomeData(
        outcome=spec,
        date=tuple(d.date for d in analysed),
        time=[d.time for d in analysed],
        y=[d.value for d in analysed],
        arm=[1 if d.arm == "B" else 0 for d in analysed],
        period=[d.period for d in analysed],
        block=[d.block for d in analysed],
        adherent=[d.adherent is not False for d in analysed],
        all_days=tuple(logged),
        knots=tuple(float(k) for k in schedule.block_ends()),
        periods=tuple(periods),
        sequence=schedule.sequence,
        time_unit="day",
        source="workspace",
        notes=tuple(notes),
        part=part,
    )


def when_asked_part(spec: OutcomeSpec, days: int) -> str:
    """The sentence saying which days (and, for an ordinal outcome, which categories) a
    ``when_asked`` outcome's analysis uses."""
    assert spec.ask_if is not None
    plural = "day" if days == 1 else "days"
    text = (
        f"intensity when present: analysed only on the {days} {plural} it was asked "
        f"({spec.ask_if.text}); how often that happens is the outcome {spec.ask_if.outcome}"
    )
    absent = spec.absent_category
    if absent is not None:
        analysed = spec.analysed_categories
        text += (
            f"; categories analysed: {', '.join(analysed)} ({spec.categories[absent]!r} cannot "
            f"occur when asked), so the expected category runs from {analysed[0]} to "
            f"{analysed[-1]}"
        )
    return text


def _absent_when_asked(
    spec: OutcomeSpec, values: dict[dt.date, float], observations: Sequence[Any]
) -> tuple[dict[dt.date, float], int, int]:
    """Days of an ordinal ``when_asked`` outcome rated the "absent" category (severity "none").

    On a day whose condition was logged as met (a headache day) the answers contradict each
    other: the day is kept (a headache was reported) and read as the nearest category that can
    occur when asked ("mild"), the smallest change that makes the answers agree. On a day
    without the condition outcome, "none" itself says the question did not apply (no
    headache): the day is left out, as a headache-free day is. :func:`_absent_note` gives both
    numbers so the person can correct the diary. Returns the values and the two numbers.
    """
    absent = spec.absent_category
    if absent is None or spec.ask_if is None:
        return values, 0, 0
    condition = spec.ask_if.outcome
    known = {
        o.date
        for o in observations
        if o.outcome == condition and o.value is not None and math.isfinite(o.value)
    }
    nearest = float(absent + 1 if absent == 0 else absent - 1)
    result: dict[dt.date, float] = {}
    contradictory = unasked = 0
    for date, value in values.items():
        if value != absent:
            result[date] = value
        elif date in known:
            result[date] = nearest
            contradictory += 1
        else:
            unasked += 1
    return result, contradictory, unasked


def _absent_note(spec: OutcomeSpec, contradictory: int, unasked: int) -> str:
    absent = spec.absent_category
    assert absent is not None and spec.ask_if is not None
    name = repr(spec.categories[absent])
    nearest = spec.categories[absent + 1 if absent == 0 else absent - 1]
    parts = []
    if contradictory:
        parts.append(
            f"{_days(contradictory)} rated {name} although {spec.name} was asked "
            f"({spec.ask_if.text}), where {name} cannot occur: analysed as {nearest!r}, the "
            "nearest category that can"
        )
    if unasked:
        parts.append(
            f"{_days(unasked)} rated {name} without {spec.ask_if.outcome} logged: read as "
            "days it was not asked, so not analysed"
        )
    return "; ".join(parts) + "; correct the diary if that is wrong"


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _skipped_dates(
    spec: OutcomeSpec, observations: Sequence[Any], protocol: TrialProtocol | None
) -> set[dt.date]:
    """Dates whose logged answers make ``spec``'s ``ask_if`` condition false."""
    assert spec.ask_if is not None
    by_date: dict[dt.date, dict[str, float]] = {}
    for obs in observations:
        if obs.value is not None and math.isfinite(obs.value):
            by_date.setdefault(obs.date, {})[obs.outcome] = float(obs.value)
    skipped = set()
    for date, day in by_date.items():
        if protocol is not None:
            is_skipped = spec.name in protocol.skipped(day)
        else:
            condition = day.get(spec.ask_if.outcome)
            is_skipped = condition is not None and not spec.ask_if.holds(condition)
        if is_skipped:
            skipped.add(date)
    return skipped


def asked_only(
    spec: OutcomeSpec,
    values: dict[dt.date, float],
    observations: Sequence[Any],
    protocol: TrialProtocol | None = None,
) -> dict[dt.date, float]:
    """A ``when_asked`` outcome's values on the days it was asked (intensity when present).

    Peak pain on a headache-free day is not "0 pain on a headache day": the analysis of
    intensity uses only the days whose logged answers make the condition true. A value logged
    before a correction made the condition false is dropped; a day without the condition
    outcome keeps its logged value (the question was evidently asked). The days between are
    gaps, which the continuous model handles exactly.
    """
    skipped = _skipped_dates(spec, observations, protocol)
    return {date: v for date, v in sorted(values.items()) if date not in skipped}


def skip_filled(
    spec: OutcomeSpec,
    values: dict[dt.date, float],
    observations: Sequence[Any],
    protocol: TrialProtocol | None = None,
) -> dict[dt.date, float]:
    """An ``ask_if`` outcome's values per date as the analysis reads them.

    A skipped question is not missing at random: on a headache-free day peak pain is not
    unknown, it is structurally "none". So on every day whose logged answers make the condition
    false, the outcome takes its ``skipped_value`` (a value logged before a correction changed
    the condition is overridden); days where it was asked keep the logged value; days without
    the condition outcome stay as logged (missing if nothing was logged).
    """
    assert spec.ask_if is not None and spec.skipped_value is not None
    result = dict(values)
    for date in _skipped_dates(spec, observations, protocol):
        result[date] = spec.skipped_value
    return dict(sorted(result.items()))


# --------------------------------------------------------------------------------------------
# From a CSV file
# --------------------------------------------------------------------------------------------


#: Largest magnitude accepted for an outcome value: beyond it sums of squares overflow.
MAX_VALUE = 1e12
#: Largest magnitude accepted for a --time index (a day number, a Julian day, a week, ...).
MAX_TIME = 1e7


def _finite_mcid(instance: Any, attribute: Any, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise DataError(
            f"--mcid for outcome {instance.outcome!r} must be a finite number > 0 (got {value:g}): "
            "give the smallest difference that would matter"
        )


@frozen
class TableSpec:
    """What the user told ``nof1 analyze --data`` about the CSV columns and one outcome.

    ``mcid`` must be stated (a finite number > 0) before the analysis: it is never derived from
    the data. ``None`` is accepted here so that the analysis can say which outcome lacks one.
    """

    outcome: str
    treatment: str
    time: str
    block: str | None = None
    control: str | None = None
    kind: str = "continuous"
    better: str = "lower"
    mcid: float | None = field(default=None, validator=_finite_mcid)
    categories: tuple[str, ...] = ()

    @classmethod
    def from_option(
        cls,
        text: str,
        *,
        treatment: str,
        time: str,
        block: str | None = None,
        control: str | None = None,
        kind: str = "continuous",
        better: str = "lower",
        mcid: float | None = None,
    ) -> TableSpec:
        """One ``--outcome`` value: ``NAME``, or ``NAME:KIND:MCID:BETTER``.

        An empty field of the long form takes the value of ``--kind``, ``--mcid`` or
        ``--better`` (given here as ``kind``, ``mcid``, ``better``), e.g. ``pain::1.5:``.
        """
        parts = text.split(":")
        if len(parts) not in (1, 4) or not parts[0].strip():
            raise DataError(
                f"--outcome {text!r} must be NAME or NAME:KIND:MCID:BETTER (e.g. "
                "mood:continuous:5:higher; leave a field empty to use --kind, --mcid or "
                "--better); a column whose name holds ':' must be renamed"
            )
        name = parts[0].strip()
        if len(parts) == 4:
            kind_text, mcid_text, better_text = (part.strip() for part in parts[1:])
            kind = kind_text or kind
            better = better_text or better
            if mcid_text:
                try:
                    mcid = float(mcid_text)
                except ValueError:
                    mcid = float("nan")
                if not (math.isfinite(mcid) and mcid > 0):
                    raise DataError(
                        f"--outcome {text!r}: MCID must be a finite number > 0 (got "
                        f"{mcid_text!r}): give the smallest difference that would matter"
                    )
            if kind not in KINDS:
                raise DataError(f"--outcome {text!r}: KIND must be {words(KINDS)} (got {kind!r})")
            if better not in DIRECTIONS:
                raise DataError(
                    f"--outcome {text!r}: BETTER must be {words(DIRECTIONS)} (got {better!r})"
                )
        return cls(
            outcome=name,
            treatment=treatment,
            time=time,
            block=block,
            control=control,
            kind=kind,
            better=better,
            mcid=mcid,
        )


@frozen
class Table:
    """A CSV file as read: its column names and rows (dicts of text), and its name."""

    columns: tuple[str, ...]
    rows: tuple[dict[str, str], ...]
    source: str


def read_csv(path: str | Path) -> Table:
    """Read a CSV file (UTF-8, optional BOM) as text rows; problems raise :class:`DataError`."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = list(reader.fieldnames or [])
            rows = list(reader)
    except FileNotFoundError:
        raise DataError(f"--data file not found: {path}") from None
    except IsADirectoryError:
        raise DataError(f"--data {path} is a folder: give a CSV file") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"--data {path.name} is not a readable UTF-8 CSV file ({exc})") from None
    if not columns:
        raise DataError(
            f"--data {path.name} is empty: it needs a header line naming the columns and one "
            "row per observation"
        )
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise DataError(
            f"--data {path.name} names the column {repeated[0]!r} more than once in its header: "
            "rename one, so that every column can be told apart"
        )
    return Table(tuple(columns), tuple(rows), path.name)


def read_table(path: str | Path, spec: TableSpec) -> OutcomeData:
    """Read a CSV file into :class:`OutcomeData` (see the module docstring for the rules).

    Raises
    ------
    DataError
        Naming the file, column and row, and how to fix it.
    """
    table = read_csv(path)
    return table_from_rows(table.rows, table.columns, spec, source=table.source)


def _control_character(text: str) -> bool:
    return any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text)


def _clean(text: str, what: str, where: str) -> str:
    """``text`` stripped; a control character (a terminal escape, a line break) is refused."""
    if _control_character(text):
        raise DataError(
            f"{what} has a control character on {where} ({text!r}): labels must be plain "
            "printable text; remove it from the file"
        )
    return text.strip()


def table_from_rows(
    rows: Sequence[dict[str, str]],
    columns: Sequence[str],
    spec: TableSpec,
    source: str = "data",
) -> OutcomeData:
    """Build :class:`OutcomeData` from CSV rows (dicts of text); see :func:`read_table`.

    The treatment structure (time units, periods, blocks) comes from every row, including rows
    without a value for this outcome, so every outcome of one file shares it and a missed rating
    never merges two periods.
    """
    if spec.kind not in KINDS:
        raise DataError(f"--kind must be one of {', '.join(KINDS)} (got {spec.kind!r})")
    if spec.better not in DIRECTIONS:
        raise DataError(f"--better must be {words(DIRECTIONS)} (got {spec.better!r})")
    for option, column in (
        ("--outcome", spec.outcome),
        ("--treatment", spec.treatment),
        ("--time", spec.time),
        ("--block", spec.block),
    ):
        if column is None:
            continue
        if _control_character(column):
            raise DataError(
                f"{option} column {column!r} has a control character: column names must be "
                "plain printable text"
            )
        if column not in columns:
            shown = ", ".join(repr(c) if _control_character(c) else c for c in columns)
            raise DataError(
                f"{option} column {column!r} is not in {source} "
                f"(columns: {shown or 'none'}): check the spelling"
            )
    if not rows:
        raise DataError(f"{source} has no data rows: add one row per observation under the header")

    # Every row places its time unit on the treatment structure; a row without an outcome value
    # (a missed rating) adds no value.
    units: dict[float, dict[str, Any]] = {}
    missing = 0
    for i, row in enumerate(rows, start=2):  # line 1 is the header
        where = f"{source} line {i}"
        time_text = (row.get(spec.time) or "").strip()
        try:
            time = float(time_text)
        except ValueError:
            time = float("nan")
        if not math.isfinite(time) or not time.is_integer() or abs(time) > MAX_TIME:
            raise DataError(
                f"--time column {spec.time!r} must be a whole-number day or week index; "
                f"{where} has {time_text!r}"
            )
        arm_text = _clean(
            row.get(spec.treatment) or "", f"--treatment column {spec.treatment!r}", where
        )
        if not arm_text:
            raise DataError(
                f"--treatment column {spec.treatment!r} is empty on {where}: every row needs "
                "its treatment"
            )
        block_text = (
            _clean(row.get(spec.block) or "", f"--block column {spec.block!r}", where)
            if spec.block
            else None
        )
        unit = units.setdefault(
            time, {"arm": arm_text, "values": [], "block": block_text, "line": i}
        )
        if unit["arm"] != arm_text:
            raise DataError(
                f"--treatment column {spec.treatment!r} changes within time {_fmt(time)} "
                f"({unit['arm']!r} on line {unit['line']}, {arm_text!r} on line {i}): "
                "one treatment per time unit"
            )
        if unit["block"] != block_text:
            raise DataError(
                f"--block column {spec.block!r} changes within time {_fmt(time)} "
                f"(line {unit['line']} and line {i})"
            )
        value_text = (row.get(spec.outcome) or "").strip()
        if value_text == "" or value_text.lower() in ("na", "nan", "null"):
            missing += 1
            continue
        unit["values"].append(_parse_value(value_text, spec, where))
    if not any(u["values"] for u in units.values()):
        raise DataError(
            f"--outcome column {spec.outcome!r} has no values in {source} (every row is empty "
            "or NA): check the column name"
        )

    labels = sorted({u["arm"] for u in units.values()})
    if len(labels) != 2:
        shown = ", ".join(labels[:6])
        raise DataError(
            f"--treatment column {spec.treatment!r} must have exactly 2 different values "
            f"(got {len(labels)}: {shown}): the file must hold the rows of both treatments, and "
            "only those"
        )
    control = _control_label(labels, spec.control, spec.treatment)
    intervention = labels[1] if labels[0] == control else labels[0]

    times = sorted(units)
    repeated = [t for t in times if len(units[t]["values"]) > 1]
    if spec.kind != "continuous" and repeated:
        raise DataError(
            f"--time column {spec.time!r} repeats for a {spec.kind} outcome (e.g. time "
            f"{_fmt(repeated[0])}): averaging is only done for continuous outcomes; give one "
            "row per time unit"
        )
    arms = ["B" if units[t]["arm"] == intervention else "A" for t in times]

    # Periods are runs of the same treatment (split where a --block changes), over every unit.
    raw_blocks = _blocks_from_column(times, units, spec.block) if spec.block else None
    period_of: list[int] = []
    for j, arm in enumerate(arms):
        new_period = j > 0 and (
            arm != arms[j - 1] or (raw_blocks is not None and raw_blocks[j] != raw_blocks[j - 1])
        )
        period_of.append(1 if j == 0 else period_of[-1] + new_period)
    n_periods = period_of[-1]
    block_of = raw_blocks if raw_blocks is not None else [(p + 1) // 2 for p in period_of]
    sequence = "".join(arms[period_of.index(p)] for p in range(1, n_periods + 1))
    value_of = {t: float(np.mean(units[t]["values"])) for t in times if units[t]["values"]}
    used = [j for j, t in enumerate(times) if t in value_of]

    periods = []
    for p in range(1, n_periods + 1):
        idx = [j for j in range(len(times)) if period_of[j] == p]
        with_value = [value_of[times[j]] for j in idx if times[j] in value_of]
        periods.append(
            PeriodSummary(
                period=p,
                block=block_of[idx[0]],
                arm=arms[idx[0]],
                days_logged=len(with_value),
                days_analysed=len(with_value),
                mean=float(np.mean(with_value)) if with_value else None,
            )
        )
    knots = tuple(
        float(max(t for t, b in zip(times, block_of, strict=True) if b == blk))
        for blk in sorted(set(block_of))
    )
    outcome = OutcomeSpec(
        name=spec.outcome,
        kind=spec.kind,
        question=f"column {spec.outcome!r} of {source}",
        better=spec.better,
        mcid=float(spec.mcid) if spec.mcid is not None else float("nan"),
        label=spec.outcome,
        primary=True,
        categories=spec.categories,
    )
    n_values = sum(len(units[t]["values"]) for t in times)
    notes = [
        f"treatment column {spec.treatment!r}: A = {control!r} (control), "
        f"B = {intervention!r} (intervention)",
        f"{len(times)} time units, {n_periods} periods (runs of the same treatment); "
        f"{len(used)} time units have a value of {spec.outcome!r}",
    ]
    if repeated:
        notes.append(
            f"{n_values} values averaged to one per time unit ({len(repeated)} time units had "
            "more than one value)"
        )
    if missing:
        notes.append(f"{missing} row(s) without a value of {spec.outcome!r} (empty or NA) left out")
    logged = tuple(
        LoggedDay(
            date=None,
            time=times[j],
            value=value_of[times[j]],
            phase="period",
            period=period_of[j],
            block=block_of[j],
            arm=arms[j],
            analysed=True,
            n_ratings=len(units[times[j]]["values"]),
        )
        for j in used
    )
    return OutcomeData(
        outcome=outcome,
        date=tuple(None for _ in used),
        time=[times[j] for j in used],
        y=[value_of[times[j]] for j in used],
        arm=[1 if arms[j] == "B" else 0 for j in used],
        period=[period_of[j] for j in used],
        block=[block_of[j] for j in used],
        adherent=[True] * len(used),
        all_days=logged,
        knots=knots,
        periods=tuple(periods),
        sequence=sequence,
        time_unit="unit",
        source="csv",
        notes=tuple(notes),
        arm_labels=(control, intervention),
        units=tuple(zip(times, arms, strict=True)),
    )


def _parse_value(text: str, spec: TableSpec, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        if spec.kind == "binary" and text.lower() in ("yes", "no", "true", "false", "y", "n"):
            return 1.0 if text.lower() in ("yes", "true", "y") else 0.0
        if spec.kind == "ordinal" and spec.categories:
            lowered = [c.lower() for c in spec.categories]
            if text.lower() in lowered:
                return float(lowered.index(text.lower()))
        raise DataError(
            f"--outcome column {spec.outcome!r} must be numeric for a {spec.kind} outcome; "
            f"{where} has {text!r}"
        ) from None
    if not math.isfinite(value):
        raise DataError(
            f"--outcome column {spec.outcome!r} has {text!r} on {where}: give a finite number, "
            "or leave the cell empty for a missed rating"
        )
    if abs(value) > MAX_VALUE:
        raise DataError(
            f"--outcome column {spec.outcome!r} has {text!r} on {where}, beyond ±{MAX_VALUE:g}: "
            "rescale the column (e.g. to thousands)"
        )
    if spec.kind == "binary" and value not in (0.0, 1.0):
        raise DataError(
            f"--outcome column {spec.outcome!r} must be 0 or 1 for --kind binary; "
            f"{where} has {text!r}"
        )
    if spec.kind == "count" and (value < 0 or not value.is_integer()):
        raise DataError(
            f"--outcome column {spec.outcome!r} must be a whole number ≥ 0 for --kind count; "
            f"{where} has {text!r}"
        )
    if spec.kind == "ordinal":
        n = len(spec.categories)
        if value < 0 or not value.is_integer() or (n and value >= n):
            raise DataError(
                f"--outcome column {spec.outcome!r} must be a category 0..{max(n - 1, 0)} for "
                f"--kind ordinal; {where} has {text!r}"
            )
    return value


def _control_label(labels: list[str], control: str | None, column: str) -> str:
    if control is not None:
        if control not in labels:
            raise DataError(
                f"--control {control!r} is not a value of --treatment column {column!r} "
                f"(values: {', '.join(labels)})"
            )
        return control
    known = [label for label in labels if label.strip().lower() in CONTROL_WORDS]
    if len(known) == 1:
        return known[0]
    raise DataError(
        f"--control is needed: cannot tell which value of --treatment column {column!r} is the "
        f"control ({', '.join(labels)}); add e.g. --control {labels[0]}"
    )


def _blocks_from_column(
    times: list[float], units: dict[float, dict[str, Any]], column: str
) -> list[int]:
    raw = [units[t]["block"] or "" for t in times]
    order: dict[str, int] = {}
    for j, label in enumerate(raw):
        if not label:
            raise DataError(f"--block column {column!r} is empty at time {_fmt(times[j])}")
        order.setdefault(label, len(order) + 1)
    blocks = [order[label] for label in raw]
    for blk in set(blocks):
        idx = [j for j in range(len(times)) if blocks[j] == blk]
        if idx != list(range(idx[0], idx[-1] + 1)):
            raise DataError(
                f"--block column {column!r}: block {raw[idx[0]]!r} is not one contiguous stretch "
                "of time; blocks must not interleave"
            )
    return blocks


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
