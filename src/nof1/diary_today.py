"""What one day of the trial is, for the patient: phase, what to take (pack codes while
blinded), whether it is logged, the safety state, and the exact sentences ``nof1 today`` prints.

The phone diary shows the same :attr:`TodayView.lines`, so both say the same words. Re-exported by
:mod:`nof1.diary` (``diary.today(ws, date)``).

Stdlib + attrs only: this is the daily path.
"""

from __future__ import annotations

import datetime as dt

from attrs import frozen

from nof1 import diary_safety
from nof1.diary_safety import TriggeredRule
from nof1.schedule import Day
from nof1.workspace import Workspace


def shows_codes(ws: Workspace) -> bool:
    """Whether patient-facing output must hide the arms (blinded and not revealed)."""
    return ws.schedule.blinded and not ws.is_revealed


def arm_text(ws: Workspace, arm: str) -> str:
    """How an arm is shown: its code while blinded, else its name (with the code once revealed)."""
    schedule = ws.schedule
    if shows_codes(ws):
        return schedule.codes[arm]
    name = ws.protocol.arm(arm).name
    return f"{name} ({schedule.codes[arm]})" if schedule.blinded else name


def take_text(ws: Workspace, arm: str) -> str:
    """What to take or do: code (+ shared timing) when blinded, else name, dose and timing."""
    protocol = ws.protocol
    if shows_codes(ws):
        timing = protocol.comparator.timing
        same = timing and timing == protocol.intervention.timing
        return f"{ws.schedule.codes[arm]}, {timing}" if same else ws.schedule.codes[arm]
    return protocol.arm(arm).describe()


def _phase_key(day: Day | None) -> tuple[str, int | None] | None:
    return None if day is None else (day.phase, day.period)


#: ``TodayView.phase`` outside the trial's days.
BEFORE, AFTER = "before", "after"


@frozen
class TodayView:
    """What one day of the trial is, in facts and in the exact words ``nof1 today`` prints.

    While the trial is blinded and not revealed, nothing here names an arm: ``take`` and
    ``next_label`` hold pack codes.

    Attributes
    ----------
    date
        The day shown.
    phase
        ``"before"``, ``"run_in"``, ``"period"``, ``"washout"`` or ``"after"``.
    day
        The schedule's day (``None`` before or after the trial).
    total_days, periods
        Length of the trial in days and in treatment periods.
    phase_day, phase_days
        Day n of m within the run-in, the washout or the period (``None`` outside the trial).
    take
        What to take today (pack code while blinded, else arm name, dose and timing), or
        ``None`` when nothing is to be taken — outside periods, or when the safety state says
        not to (see ``safety``).
    next_date, next_label
        When the next phase begins and what it is (``"washout"``, a pack code or an arm name);
        ``None`` when this phase runs to the end of the trial or the trial is over.
    coded
        Whether labels are pack codes (blinded and not revealed).
    locked, logged
        Whether ``nof1 start`` has run, and whether this day already has diary values.
    safety
        ``"ok"``, ``"rule_met"`` (a stopping rule is met and not reviewed), ``"reviewed"`` (met
        rules were all reviewed with the decision to continue) or ``"stopped"``.
    stopped_on, stop_reason
        The recorded early stop, if any.
    triggered
        The stopping rules met by the data so far.
    lines
        The sentences ``nof1 today`` prints, in order.
    """

    date: dt.date
    phase: str
    day: Day | None
    total_days: int
    periods: int
    phase_day: int | None
    phase_days: int | None
    take: str | None
    next_date: dt.date | None
    next_label: str | None
    coded: bool
    locked: bool
    logged: bool
    safety: str
    stopped_on: dt.date | None
    stop_reason: str
    triggered: tuple[TriggeredRule, ...]
    lines: tuple[str, ...]


def today(ws: Workspace, when: dt.date) -> TodayView:
    """The trial as it stands on ``when``: phase, what to take, logged or not, safety state.

    Once the trial is stopped (from the stop date on) or while a met stopping rule is not
    reviewed, nothing here says to take the trial intervention: ``take`` is ``None`` and the
    lines say why and to contact the supervising clinician. Works before ``nof1 start`` too
    (then nothing is logged and a line says to lock first); never creates the store.

    Raises
    ------
    ScheduleError
        When the protocol has no start date or seed yet.
    """
    schedule = ws.schedule
    locked = ws.is_locked
    coded = shows_codes(ws)
    neither = "neither pack" if coded else "neither arm"
    day = schedule.day(when)
    state = diary_safety.safety(ws, on=when)
    stop = state.stop
    logged = locked and bool(ws.store.day_entries(when))
    lines: list[str] = []
    if not locked:
        lines.append("Note: the trial is not locked yet; run `nof1 start` before the first day.")
    phase = BEFORE if when < schedule.start else AFTER if day is None else day.phase
    phase_day: int | None = None
    phase_days: int | None = None
    take: str | None = None
    next_date: dt.date | None = None
    next_label: str | None = None
    if day is None:
        if when < schedule.start:
            wait = (schedule.start - when).days
            lines.append(
                f"{when.isoformat()}: the trial has not begun. Day 1 is "
                f"{schedule.start.isoformat()} (in {wait} day{'s' if wait != 1 else ''})."
            )
        elif state.state == diary_safety.STOPPED:
            assert stop is not None
            lines.append(
                f"{when.isoformat()}: the trial was stopped early on {stop.date.isoformat()} "
                f"({stop.reason}). Run `nof1 report` for the analysis."
            )
        else:
            lines.append(
                f"{when.isoformat()}: the trial ended on {schedule.end.isoformat()} "
                f"(day {schedule.total_days}). Run `nof1 report` for the analysis."
            )
    elif state.state == diary_safety.STOPPED:
        assert stop is not None
        lines.append(f"{when.isoformat()}: trial day {day.number} of {schedule.total_days}.")
        lines.append(diary_safety.stopped_line(stop))
    else:
        lines.append(f"{when.isoformat()}: trial day {day.number} of {schedule.total_days}.")
        if day.phase == "run_in":
            phase_day, phase_days = day.number, schedule.run_in_days
            lines.append(
                f"Run-in (baseline) day {day.number} of {schedule.run_in_days}: take {neither} "
                "yet; just log your diary (nof1 log)."
            )
        elif day.phase == "washout":
            before = max(p for p in schedule.periods if p.end < when)
            phase_day, phase_days = (when - before.end).days, schedule.washout_days
            lines.append(
                f"Washout day {phase_day} of {schedule.washout_days} after "
                f"period {before.index}: take {neither}; keep logging (nof1 log)."
            )
        else:
            assert day.arm is not None and day.period is not None
            period = schedule.periods[day.period - 1]
            phase_day, phase_days = day.day_in_period, period.days
            where = (
                f"Period {day.period} of {len(schedule.periods)} (block {day.block}), day "
                f"{day.day_in_period} of {period.days}"
            )
            if state.may_take:
                take = take_text(ws, day.arm)
                lines.append(f"{where}: take {take}.")
            else:
                lines.append(f"{where}.")
            if day.analytic_washout and state.may_take:
                lines.append(
                    f"Analytic washout (days 1–{schedule.analytic_washout_days} of each period): "
                    "take and log as usual; this day is left out of the main analysis."
                )
        following = when + dt.timedelta(days=1)
        while following <= schedule.end and _phase_key(schedule.day(following)) == _phase_key(day):
            following += dt.timedelta(days=1)
        upcoming = schedule.day(following)
        if upcoming is not None and upcoming.phase == "washout":
            next_date, next_label = following, "washout"
        elif upcoming is not None:
            assert upcoming.arm is not None
            next_date, next_label = following, arm_text(ws, upcoming.arm)
        if not state.may_take:
            pass  # the next phase is not announced while the intervention must not be taken
        elif upcoming is None:
            lines.append(f"This phase runs to the end of the trial ({schedule.end.isoformat()}).")
        elif upcoming.phase == "washout":
            lines.append(f"Next: washout from {following.isoformat()}.")
        else:
            lines.append(
                f"Next: period {upcoming.period} from {following.isoformat()}: {next_label}."
            )
    for t in state.triggered:
        lines.extend(diary_safety.banner(t, day, state)[1])
    if stop is not None and state.state != diary_safety.STOPPED:
        lines.append(f"(The trial was stopped later, on {stop.date.isoformat()}.)")
    return TodayView(
        date=when,
        phase=phase,
        day=day,
        total_days=schedule.total_days,
        periods=len(schedule.periods),
        phase_day=phase_day,
        phase_days=phase_days,
        take=take,
        next_date=next_date,
        next_label=next_label,
        coded=coded,
        locked=locked,
        logged=logged,
        safety=state.state,
        stopped_on=None if stop is None else stop.date,
        stop_reason="" if stop is None else stop.reason,
        triggered=state.triggered,
        lines=tuple(lines),
    )
