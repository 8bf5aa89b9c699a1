"""Validating and recording a day: outcome values, adherence, notes, adverse events; status and
stopping rules.

Every invalid input raises one :class:`~nof1.errors.EntryError` that names the field and the fix,
and is raised *before* anything is written: a command either records everything it was given or
nothing. Stopping rules are evaluated after each write; the rules met are returned (with
``new=True`` for those this write tipped over) so the CLI can report them loudly. The rules,
their reviews and the safety state live in :mod:`nof1.diary_safety`; what one day is for the
patient (``diary.today``) in :mod:`nof1.diary_today`.

Stdlib + attrs only: this is the daily ``nof1 log`` path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from attrs import frozen

from nof1 import diary_safety
from nof1.diary_safety import TriggeredRule as TriggeredRule
from nof1.diary_today import AFTER as AFTER
from nof1.diary_today import BEFORE as BEFORE
from nof1.diary_today import TodayView as TodayView
from nof1.diary_today import arm_text as arm_text
from nof1.diary_today import shows_codes as shows_codes
from nof1.diary_today import take_text as take_text
from nof1.diary_today import today as today
from nof1.errors import EntryError
from nof1.protocol import OutcomeSpec, StoppingRule, TrialProtocol
from nof1.record import AdverseEvent, Observation
from nof1.schedule import Day
from nof1.vocab import SEVERITIES, TOOK
from nof1.workspace import Workspace

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


def needs_adherence(day: Day, ws: Workspace | None = None) -> bool:
    """Adherence is asked on treatment-period days (not in the run-in or a physical washout),
    and not for days after an early stop (nothing is to be taken then; it may still be given)."""
    if day.phase != "period":
        return False
    stop = None if ws is None else ws.stopped
    return stop is None or day.date <= stop.date


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
# Stopping rules (see :mod:`nof1.diary_safety`)
# --------------------------------------------------------------------------------------------


def evaluate_stopping_rules(
    protocol: TrialProtocol,
    observations: Sequence[Observation],
    events: Sequence[AdverseEvent],
) -> list[tuple[StoppingRule, str]]:
    """The stopping rules that the data meet, each with the reason in words."""
    return [(m.rule, m.reason) for m in diary_safety.rules_met(protocol, observations, events)]


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
    #: Said to the person but not refused (e.g. the intervention taken after the trial stopped).
    warnings: tuple[str, ...] = ()


def missing_outcomes(
    ws: Workspace, date: dt.date, given: Mapping[str, float], *, correct: bool = False
) -> list[OutcomeSpec]:
    """Outcomes still to be asked for, in protocol order (none when correcting: only given
    values change). A question its ``ask_if`` skips given the answers so far is not asked."""
    if correct:
        return []
    skipped = ws.protocol.skipped(given)
    return [o for o in ws.protocol.outcomes if o.name not in given and o.name not in skipped]


def check_skip_logic(
    ws: Workspace, date: dt.date, given: Mapping[str, float], *, correct: bool = False
) -> None:
    """Refuse a value for a question the day's answers skip, and (when correcting) a change
    that makes a question asked without giving its answer."""
    protocol = ws.protocol
    day = {e.outcome: e.value for e in ws.store.day_entries(date)} if correct else {}
    answers = {**day, **given}
    skipped = protocol.skipped(answers)
    for name in given:
        if name in skipped:
            condition = protocol.outcome(name).ask_if
            assert condition is not None
            shown = show_value(protocol.outcome(condition.outcome), answers[condition.outcome])
            raise EntryError(
                f"{name} is not asked when {condition.outcome} is {shown} (the protocol asks it "
                f"only if {condition.text}): leave {name} out"
            )
    if correct:
        # a correction may turn a skipped question into an asked one: its answer is needed
        newly = [
            o
            for o in protocol.outcomes
            if o.ask_if is not None
            and o.ask_if.outcome in given
            and o.name not in answers
            and o.name not in skipped
        ]
        if newly:
            names = ", ".join(o.name for o in newly)
            example = " ".join(f"{o.name}={example_value(o)}" for o in newly[:2])
            raise EntryError(
                f"this correction makes {names} asked on {date} (it had been skipped): give "
                f"{'them' if len(newly) > 1 else 'it'} too, e.g. {example}"
            )


def show_value(spec: OutcomeSpec, value: float) -> str:
    """A stored value as the person would type it (yes/no, the category, the number)."""
    if spec.kind == "binary":
        return "yes" if value else "no"
    if spec.kind == "ordinal" and float(value).is_integer() and 0 <= value < len(spec.categories):
        return spec.categories[int(value)]
    return f"{value:g}"


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
    source: str = "cli",
) -> LogResult:
    """Validate and record one day (``nof1 log``), all or nothing.

    A new day needs every outcome its ``ask_if`` conditions do not skip, and adherence on
    treatment-period days. A correction (``correct=True`` with a ``reason``) records only the
    values given, as new rows. ``source`` records where the entry came from (``cli``, ``web``).

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
    check_skip_logic(ws, date, parsed, correct=correct)
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
    if took_value is None and needs_adherence(day, ws) and not correct:
        raise EntryError(
            f"--took is missing: did you take today's {_what_to_take(ws, day)}? give --took yes, "
            "no or partial"
        )
    if correct and not parsed and took_value is None and not note.strip():
        raise EntryError("--correct was given but nothing to correct: give name=value or --took")
    before = diary_safety.current(ws)
    store = ws.store
    with store.transaction("log --correct" if correct else "log", source=source):
        # Decided again under the write lock: of several processes logging the same day at
        # once, exactly one succeeds and the others get the same "already logged" error.
        check_day_state(ws, date, correct=correct, reason=reason)
        check_skip_logic(ws, date, parsed, correct=correct)
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
        triggered=diary_safety.triggered(ws, before),
        warnings=tuple(_after_stop(ws, date, took_value)),
    )


def _after_stop(ws: Workspace, date: dt.date, took: str | None) -> list[str]:
    stop = ws.stopped
    if stop is None or took not in ("yes", "partial") or date <= stop.date:
        return []
    return [
        f"--took {took} for {date}, after the trial was stopped on {stop.date}: recorded, but "
        f"the trial intervention should no longer be taken; {diary_safety.CONTACT}."
    ]


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
    source: str = "cli",
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
    before = diary_safety.current(ws)
    with ws.store.transaction("event", source=source):
        ws.store.add_event(event)
    return EventResult(event=event, triggered=diary_safety.triggered(ws, before))


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
    #: Whether the trial intervention may be taken today, and why not.
    safety: diary_safety.SafetyState
    #: The words for today's line when the intervention must not be taken (else empty).
    advice: str = ""


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
    state = diary_safety.safety(ws, on=today)
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
        triggered=state.triggered,
        warnings=tuple(warnings),
        safety=state,
        advice=_safety_advice(state, day),
    )


def _safety_advice(state: diary_safety.SafetyState, day: Day | None) -> str:
    if state.state == diary_safety.STOPPED:
        assert state.stop is not None
        return diary_safety.stopped_line(state.stop)
    if state.state == diary_safety.RULE_MET:
        return f"A stopping rule is met. {diary_safety.advice(day)}"
    return ""


def _dates(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
