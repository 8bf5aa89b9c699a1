"""Validating and recording a day: outcome values, adherence, notes, adverse events; status and
stopping rules.

Every invalid input raises one :class:`~nof1.errors.EntryError` that names the field and the fix,
and is raised *before* anything is written: a command either records everything it was given or
nothing. Stopping rules are evaluated after each write; the rules met are returned (with
``new=True`` for those this write tipped over) so the CLI can report them loudly.

Stdlib + attrs only: this is the daily ``nof1 log`` path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from attrs import frozen

from nof1.errors import EntryError
from nof1.protocol import OutcomeSpec, StoppingRule, TrialProtocol
from nof1.record import AdverseEvent, Observation
from nof1.schedule import Day
from nof1.vocab import SEVERITIES, TOOK
from nof1.workspace import Workspace

_SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


# --------------------------------------------------------------------------------------------
# Parsing what the person typed
# --------------------------------------------------------------------------------------------


def parse_date(text: str, *, today: dt.date | None = None) -> dt.date:
    """``YYYY-MM-DD``, ``today`` or ``yesterday`` (local time) → a date."""
    today = today or dt.date.today()
    raw = text.strip().lower()
    if raw == "today":
        return today
    if raw == "yesterday":
        return today - dt.timedelta(days=1)
    try:
        return dt.date.fromisoformat(raw) if len(raw) == 10 else _bad_date(text)
    except ValueError:
        return _bad_date(text)


def _bad_date(text: str) -> dt.date:
    raise EntryError(f"date must be YYYY-MM-DD, today or yesterday (got {text!r})")


def parse_took(text: str) -> str:
    """Normalize an adherence answer to ``yes``, ``partial`` or ``no``."""
    raw = text.strip().lower()
    aliases = {"y": "yes", "n": "no", "p": "partial", "1": "yes", "0": "no"}
    took = aliases.get(raw, raw)
    if took not in TOOK:
        raise EntryError(f"took must be yes, no or partial (got {text!r})")
    return took


def parse_pairs(protocol: TrialProtocol, pairs: Sequence[str]) -> dict[str, float]:
    """``["peak_pain=3", "headache_day=yes"]`` → ``{"peak_pain": 3.0, "headache_day": 1.0}``."""
    values: dict[str, float] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise EntryError(
                f"{pair!r} is not name=value: write e.g. {protocol.outcomes[0].name}="
                f"{example_value(protocol.outcomes[0])}"
            )
        spec = outcome_spec(protocol, name)
        if name in values:
            raise EntryError(f"{name} is given twice: give each outcome once")
        values[name] = parse_value(spec, text)
    return values


def outcome_spec(protocol: TrialProtocol, name: str) -> OutcomeSpec:
    """The outcome called ``name``, or :class:`EntryError` listing the known ones."""
    try:
        return protocol.outcome(name)
    except KeyError as exc:
        raise EntryError(exc.args[0]) from None


def parse_value(spec: OutcomeSpec, value: str | float) -> float:
    """Check one value against its outcome's scale (text is parsed, numbers are checked)."""
    try:
        if isinstance(value, str):
            if not value.strip():
                raise ValueError(f"{spec.name} is empty: give {spec.scale_text()}")
            return spec.parse_value(value)
        return spec.check_value(float(value))
    except ValueError as exc:
        raise EntryError(str(exc)) from None


def example_value(spec: OutcomeSpec) -> str:
    """A plausible answer, shown in prompts and error messages."""
    if spec.kind == "binary":
        return "yes"
    if spec.kind == "ordinal":
        return spec.categories[1]
    if spec.kind == "count":
        return str(int(spec.minimum or 0))
    if spec.minimum is not None and spec.maximum is not None:
        middle = (spec.minimum + spec.maximum) / 2
        return str(int(middle)) if float(middle).is_integer() else f"{middle:g}"
    return "1"


def needs_adherence(day: Day) -> bool:
    """Adherence is asked on treatment-period days (not in the run-in or a physical washout)."""
    return day.phase == "period"


# --------------------------------------------------------------------------------------------
# Checking a date
# --------------------------------------------------------------------------------------------


def require_started(ws: Workspace) -> None:
    if not ws.is_locked:
        raise EntryError(
            "nothing can be logged before `nof1 start`: run it first (it locks the protocol and "
            "the schedule)"
        )


def check_date(
    ws: Workspace, date: dt.date, *, today: dt.date | None = None, after_end: bool = False
) -> Day | None:
    """The plan for a date that may be logged; :class:`EntryError` otherwise.

    ``after_end`` allows dates after the last trial day (adverse events); the result is then
    ``None`` for such a date.
    """
    require_started(ws)
    ws.guard()
    today = today or dt.date.today()
    schedule = ws.schedule
    span = f"use a date from {schedule.start} to {schedule.end}"
    if date > today:
        raise EntryError(
            f"date {date} is in the future (today is {today}): log a day once it has happened"
        )
    if date < schedule.start:
        raise EntryError(f"date {date} is before the trial starts ({schedule.start}): {span}")
    day = schedule.day(date)
    if day is None and not after_end:
        raise EntryError(f"date {date} is after the trial ended ({schedule.end}): {span}")
    return day


# --------------------------------------------------------------------------------------------
# Stopping rules
# --------------------------------------------------------------------------------------------


@frozen
class TriggeredRule:
    """A stopping rule that is met, why, and whether the latest write tipped it over."""

    rule: StoppingRule
    reason: str
    new: bool = False

    @property
    def message(self) -> str:
        what = self.rule.description or "a stopping rule of the protocol is met"
        return f"{what} ({self.reason})"


def evaluate_stopping_rules(
    protocol: TrialProtocol,
    observations: Sequence[Observation],
    events: Sequence[AdverseEvent],
) -> list[tuple[StoppingRule, str]]:
    """The protocol's stopping rules that the data meet, each with the reason in words.

    ``outcome_threshold`` counts consecutive *logged* days: an unlogged day between two bad days
    does not reset the run (erring on the side of safety).
    """
    met: list[tuple[StoppingRule, str]] = []
    for rule in protocol.stopping_rules:
        if rule.kind == "serious_adverse_event":
            serious = [e for e in events if e.serious]
            if serious:
                met.append((rule, f"serious adverse event on {serious[0].date}"))
        elif rule.kind == "adverse_events":
            floor = _SEVERITY_RANK[rule.severity]
            hits = [e for e in events if _SEVERITY_RANK[e.severity] >= floor]
            if len(hits) >= rule.count:
                met.append(
                    (rule, f"{len(hits)} adverse events of severity {rule.severity} or worse")
                )
        elif rule.kind == "outcome_threshold":
            reason = _threshold_run(protocol, rule, observations)
            if reason:
                met.append((rule, reason))
    return met


def _threshold_run(
    protocol: TrialProtocol, rule: StoppingRule, observations: Sequence[Observation]
) -> str | None:
    spec = protocol.outcome(rule.outcome)
    lower_is_better = spec.better == "lower"
    values = sorted((o.date, o.value) for o in observations if o.outcome == rule.outcome)
    run: list[dt.date] = []
    for date, value in values:
        bad = value >= rule.threshold if lower_is_better else value <= rule.threshold
        run = [*run, date] if bad else []
        if len(run) >= rule.days:
            sign = "≥" if lower_is_better else "≤"
            return (
                f"{rule.outcome} {sign} {rule.threshold:g} on {len(run)} logged day(s) in a row, "
                f"{run[0]} to {run[-1]}"
            )
    return None


def triggered_rules(
    ws: Workspace, before: Sequence[tuple[StoppingRule, str]] = ()
) -> list[TriggeredRule]:
    """The rules met now; ``new`` marks those not already met in ``before``."""
    old = {id(rule) for rule, _ in before}
    return [
        TriggeredRule(rule, reason, new=id(rule) not in old)
        for rule, reason in evaluate_stopping_rules(
            ws.protocol, ws.observations(), ws.adverse_events()
        )
    ]


def _met(ws: Workspace) -> list[tuple[StoppingRule, str]]:
    return evaluate_stopping_rules(ws.protocol, ws.observations(), ws.adverse_events())


# --------------------------------------------------------------------------------------------
# Logging a day
# --------------------------------------------------------------------------------------------


@frozen
class LogResult:
    """What ``nof1 log`` recorded."""

    date: dt.date
    day: Day
    values: dict[str, float]
    took: str | None
    corrected: bool
    triggered: tuple[TriggeredRule, ...]


def missing_outcomes(
    ws: Workspace, date: dt.date, given: Mapping[str, object], *, correct: bool = False
) -> list[OutcomeSpec]:
    """Outcomes still to be asked for (none when correcting: only given values change)."""
    if correct:
        return []
    return [o for o in ws.protocol.outcomes if o.name not in given]


def check_day_state(
    ws: Workspace, date: dt.date, *, correct: bool = False, reason: str = ""
) -> None:
    """Refuse re-logging a day without ``correct`` + reason, and correcting an empty day."""
    logged = bool(ws.store.day_entries(date))
    if logged and not correct:
        raise EntryError(
            f"{date} is already logged: to change a value run `nof1 log --date {date} "
            f'--correct --reason "why" name=value` (`nof1 history {date}` shows what is there)'
        )
    if correct and not reason.strip():
        raise EntryError('--correct needs --reason "why the value changed"')
    if correct and not logged:
        raise EntryError(f"{date} has nothing to correct: log it without --correct")


def log_day(
    ws: Workspace,
    date: dt.date,
    values: Mapping[str, str | float],
    *,
    took: str | None = None,
    note: str = "",
    correct: bool = False,
    reason: str = "",
    today: dt.date | None = None,
) -> LogResult:
    """Validate and record one day (``nof1 log``), all or nothing.

    A new day needs every outcome, and adherence on treatment-period days. A correction
    (``correct=True`` with a ``reason``) records only the values given, as new rows.

    Raises
    ------
    EntryError
        For any invalid input; nothing is written.
    LockError
        When protocol.toml's locked sections were edited without an amendment.
    """
    day = check_date(ws, date, today=today)
    assert day is not None
    check_day_state(ws, date, correct=correct, reason=reason)
    protocol = ws.protocol
    parsed = {name: parse_value(outcome_spec(protocol, name), v) for name, v in values.items()}
    missing = missing_outcomes(ws, date, parsed, correct=correct)
    if missing:
        names = ", ".join(o.name for o in missing)
        example = " ".join(f"{o.name}={example_value(o)}" for o in missing[:2])
        plural = len(missing) > 1
        raise EntryError(
            f"missing value{'s' if plural else ''} for {names}: give "
            f"{'them' if plural else 'it'} as name=value, e.g. {example}"
        )
    took_value = None if took is None else parse_took(took)
    if took_value is None and needs_adherence(day) and not correct:
        raise EntryError(
            f"--took is missing: did you take today's {_what_to_take(ws, day)}? give --took yes, "
            "no or partial"
        )
    if correct and not parsed and took_value is None and not note.strip():
        raise EntryError("--correct was given but nothing to correct: give name=value or --took")
    before = _met(ws)
    store = ws.store
    with store.transaction("log --correct" if correct else "log"):
        for name, value in parsed.items():
            store.add_entry(date, name, value, reason=reason.strip() if correct else "")
        if took_value is not None:
            store.add_adherence(date, took_value, reason=reason.strip() if correct else "")
        if note.strip():
            store.add_note(date, note.strip())
    return LogResult(
        date=date,
        day=day,
        values=parsed,
        took=took_value,
        corrected=correct,
        triggered=tuple(triggered_rules(ws, before)),
    )


def _what_to_take(ws: Workspace, day: Day) -> str:
    if day.arm is None:
        return "assigned treatment"
    label = ws.arm_label(day.arm)
    return label if label != day.arm else ws.protocol.arm(day.arm).name


# --------------------------------------------------------------------------------------------
# Adverse events
# --------------------------------------------------------------------------------------------


@frozen
class EventResult:
    event: AdverseEvent
    triggered: tuple[TriggeredRule, ...]


def record_event(
    ws: Workspace,
    date: dt.date,
    description: str,
    severity: str,
    *,
    serious: bool = False,
    action: str = "",
    today: dt.date | None = None,
) -> EventResult:
    """Validate and record an adverse event (``nof1 event``); dates after the trial are allowed."""
    check_date(ws, date, today=today, after_end=True)
    if not description.strip():
        raise EntryError(
            '--description is empty: say what happened, e.g. --description "loose stools"'
        )
    severity = severity.strip().lower()
    if severity not in SEVERITIES:
        raise EntryError(f"--severity must be mild, moderate or severe (got {severity!r})")
    event = AdverseEvent(
        date=date,
        description=description.strip(),
        severity=severity,
        serious=serious,
        action=action.strip(),
    )
    before = _met(ws)
    with ws.store.transaction("event"):
        ws.store.add_event(event)
    return EventResult(event=event, triggered=tuple(triggered_rules(ws, before)))


# --------------------------------------------------------------------------------------------
# Status
# --------------------------------------------------------------------------------------------


@frozen
class PeriodStatus:
    """One period's diary so far. ``label`` is the arm, or its code while blinded."""

    index: int
    block: int
    label: str
    start: dt.date
    end: dt.date
    elapsed: int
    logged: int
    missing: int
    analysed_logged: int
    analysed_possible: int
    took_yes: int
    took_partial: int
    took_no: int
    sparse: bool


@frozen
class Status:
    """Where the trial stands today (``nof1 status``)."""

    today: dt.date
    day: Day | None
    label: str
    start: dt.date
    end: dt.date
    days_left: int
    run_in_logged: int
    run_in_missing: int
    periods: tuple[PeriodStatus, ...]
    events: tuple[AdverseEvent, ...]
    triggered: tuple[TriggeredRule, ...]
    warnings: tuple[str, ...]


def status(ws: Workspace, *, today: dt.date | None = None) -> Status:
    """Current period and day, days logged and missing, adherence, events, days left, warnings."""
    require_started(ws)
    today = today or dt.date.today()
    schedule = ws.schedule
    protocol = ws.protocol
    logged = ws.store.logged_dates()
    took = {a.date: a.took for a in ws.adherence()}
    minimum = protocol.analysis.min_days_per_period
    periods: list[PeriodStatus] = []
    warnings: list[str] = []
    for p in schedule.periods:
        past = _dates(p.start, min(p.end, today))
        missing = [d for d in past if d not in logged and d < today]
        analysed = _dates(p.analysed_start, p.end)
        analysed_logged = sum(1 for d in analysed if d in logged)
        still_open = sum(1 for d in analysed if d >= today and d not in logged)
        sparse = analysed_logged + still_open < minimum
        if sparse:
            if still_open:
                warnings.append(
                    f"period {p.index} can reach at most {analysed_logged + still_open} analysed "
                    f"day(s), fewer than analysis.min_days_per_period = {minimum}: it will be "
                    "left out of the analysis"
                )
            else:
                warnings.append(
                    f"period {p.index} has only {analysed_logged} analysed day(s) logged, fewer "
                    f"than analysis.min_days_per_period = {minimum}: it will be left out of the "
                    "analysis"
                )
        periods.append(
            PeriodStatus(
                index=p.index,
                block=p.block,
                label=ws.arm_label(p.arm),
                start=p.start,
                end=p.end,
                elapsed=len(past),
                logged=sum(1 for d in past if d in logged),
                missing=len(missing),
                analysed_logged=analysed_logged,
                analysed_possible=len(analysed),
                took_yes=sum(1 for d in past if took.get(d) == "yes"),
                took_partial=sum(1 for d in past if took.get(d) == "partial"),
                took_no=sum(1 for d in past if took.get(d) == "no"),
                sparse=sparse,
            )
        )
    run_in_end = schedule.start + dt.timedelta(days=schedule.run_in_days - 1)
    run_in = _dates(schedule.start, min(today, run_in_end))
    day = schedule.day(today)
    if today < schedule.start:
        days_left = schedule.total_days
    else:
        days_left = max(0, (schedule.end - today).days)
    return Status(
        today=today,
        day=day,
        label=ws.arm_label(day.arm) if day is not None else "",
        start=schedule.start,
        end=schedule.end,
        days_left=days_left,
        run_in_logged=sum(1 for d in run_in if d in logged),
        run_in_missing=sum(1 for d in run_in if d not in logged and d < today),
        periods=tuple(periods),
        events=tuple(ws.adverse_events()),
        triggered=tuple(TriggeredRule(rule, reason) for rule, reason in _met(ws)),
        warnings=tuple(warnings),
    )


def _dates(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
