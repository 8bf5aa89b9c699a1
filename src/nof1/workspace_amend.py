"""The checks an amendment must pass (``nof1 amend``): what it may not change.

An amendment is refused, with every problem listed at once, when it would

* expose or re-draw the allocation of a blinded trial before the reveal is recorded (blinding
  turned off, pack labels changed, seed or scheme changed);
* change a day already past or logged: its plan (phase, period, day of period, analytic washout)
  or what its arm *is* (letter, pack code, name, dose, timing, category);
* make stored values invalid (outcome removed, kind changed, category removed or renamed, range
  narrowed);
* change which days an outcome's analysis uses (``analyse``: every day or only when asked) once
  values of it are stored: what its verdict is about would be chosen after seeing data.

While a blinded trial is unrevealed, neither the texts nor whether an amendment is refused may
depend on which pack is which arm: every text then depends only on protocol.toml and on dates and
values the patient already knows. Pure functions; :meth:`nof1.workspace.Workspace.amend` calls
:func:`amendment_problems` inside its write transaction. Stdlib + attrs only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Set

from nof1.protocol import OutcomeSpec, TrialProtocol
from nof1.schedule import Day, Schedule
from nof1.store import Entry

#: How many invalidated values an amendment refusal lists before "... and N more".
MAX_LISTED_VALUES = 10
#: What an arm *is* for the past-days check (``notes`` is free-text guidance, not identity).
ARM_FIELDS = ("name", "dose", "timing", "category")


def amendment_problems(
    old: TrialProtocol,
    old_schedule: Schedule,
    new: TrialProtocol,
    new_schedule: Schedule,
    *,
    blind: bool,
    logged: Set[dt.date],
    entries: Iterable[Entry],
    today: dt.date,
) -> list[str]:
    """Every reason to refuse amending ``old`` into ``new`` (empty: the amendment may go ahead).

    ``blind``: the trial is blinded and the allocation not revealed. ``logged``: dates with a
    stored value; ``entries``: the stored values in force; days up to ``today`` (included) and
    every logged day count as past.
    """
    return [
        *(blinding_exposures(old, old_schedule, new, new_schedule) if blind else []),
        *past_day_changes(
            old, old_schedule, new, new_schedule, blind=blind, logged=logged, today=today
        ),
        *invalidated_values(old, new, entries),
        *analysed_days_changes(old, new, entries),
    ]


def analysed_days_changes(
    old: TrialProtocol, new: TrialProtocol, entries: Iterable[Entry]
) -> list[str]:
    """Outcomes with stored values whose ``analyse`` (which days the analysis uses) changes.

    Switching peak pain between "every day, 0 when skipped" and "headache days only" changes
    the question its verdict answers (mean pain vs intensity when present): decided before the
    data, like the outcome's kind. Texts depend only on protocol.toml and stored counts.
    """
    stored: dict[str, int] = {}
    for entry in entries:
        stored[entry.outcome] = stored.get(entry.outcome, 0) + 1
    found = []
    for spec in new.outcomes:
        try:
            before = old.outcome(spec.name)
        except KeyError:
            continue
        if before.when_asked == spec.when_asked or not stored.get(spec.name):
            continue
        was, now = (_analysed_days(o) for o in (before, spec))
        found.append(
            f"it changes which days {_clip(spec.name)} is analysed on, from {was} to {now}, "
            f"after {_count(stored[spec.name], 'stored value')}: what its verdict is about "
            "(mean over every day, or intensity when present) must be fixed before the data "
            "are seen. Undo the analyse/ask_if/skipped_value edit (a new question needs a new "
            "outcome name)"
        )
    return found


def _analysed_days(spec: OutcomeSpec) -> str:
    if spec.when_asked:
        assert spec.ask_if is not None
        return f'only the days it is asked (analyse = "when_asked", {spec.ask_if.text})'
    if spec.ask_if is not None:
        return f"every day ({shown_value_of(spec, spec.skipped_value)} when skipped)"
    return "every day"


def blinding_exposures(
    old: TrialProtocol, old_schedule: Schedule, new: TrialProtocol, new_schedule: Schedule
) -> list[str]:
    """What in the amendment would expose the allocation of a blinded, unrevealed trial.

    Every text here depends only on protocol.toml (which the patient can read), never on the
    sealed allocation.
    """
    found: list[str] = []
    if not new.blinding.blinded:
        found.append("blinding.blinded changes to false (turns the blinding off)")
    if new.blinding.labels != old.blinding.labels:
        found.append(
            f"blinding.labels change from {list(old.blinding.labels)} to "
            f"{list(new.blinding.labels)} (the pack labels are part of the sealed allocation)"
        )
    if new.design.seed != old.design.seed:
        found.append("design.seed changes (it re-draws the sealed allocation)")
    if new.design.scheme != old.design.scheme:
        found.append(
            f"design.scheme changes from {old.design.scheme!r} to {new.design.scheme!r} "
            "(it re-draws the sealed allocation)"
        )
    if not found and new.blinding.blinded and new_schedule.codes != old_schedule.codes:
        found.append("the pack codes of the arms change (the sealed allocation changes)")
    if not found:
        return []
    return [
        f"while the trial is blinded this would expose or re-draw the allocation: "
        f"{'; '.join(found)}. Record the reveal first (`nof1 allocation --reveal --by NAME "
        '--reason "why"`, normally after the last day) or undo the edit in protocol.toml'
    ]


def past_day_changes(
    old: TrialProtocol,
    old_schedule: Schedule,
    new: TrialProtocol,
    new_schedule: Schedule,
    *,
    blind: bool,
    logged: Set[dt.date],
    today: dt.date,
) -> list[str]:
    """How the amendment would change days already past or logged (empty: it does not).

    A day's plan is its phase and period; in a period, also what its arm *is*: the letter,
    the pack code (blinded trials), and the arm's name, dose, timing and category. While the
    trial is blinded and unrevealed, the message and the refusal itself must not depend on
    which pack is which arm, so any change to either arm is refused once a period day is
    past, and no day or period is named for arm changes.
    """
    last = min(max([today, *logged]), max(old_schedule.end, new_schedule.end))
    replanned: list[dt.date] = []
    rearmed: dict[int, list[dt.date]] = {}
    arm_changes: dict[int, list[str]] = {}
    past_period_days = 0
    day = old_schedule.start
    while day <= last:
        before, after = old_schedule.day(day), new_schedule.day(day)
        key_before = None if before is None else _plan(before)
        key_after = None if after is None else _plan(after)
        if key_before != key_after:
            replanned.append(day)
        if before is not None and before.phase == "period":
            assert before.period is not None
            past_period_days += 1
            if after is not None and after.phase == "period":
                changes = _arm_changes(old, old_schedule, before.arm, new, new_schedule, after.arm)
                if changes:
                    rearmed.setdefault(before.period, []).append(day)
                    arm_changes[before.period] = changes
        day += dt.timedelta(days=1)
    found: list[str] = []
    if replanned:
        found.append(
            "it changes the plan (phase, period, day of period) of "
            f"{_count(len(replanned), 'day')} "
            f"already past or logged ({_spans(replanned)}): past assignments cannot change. "
            "Only change days still to come (e.g. add blocks at the end), or undo the edit"
        )
    if blind:
        changed = [
            *_arm_changes(old, old_schedule, "A", new, new_schedule, "A", role=True),
            *_arm_changes(old, old_schedule, "B", new, new_schedule, "B", role=True),
        ]
        resequenced = any(
            b.arm != a.arm
            for b, a in zip(old_schedule.periods, new_schedule.periods, strict=False)
            if b.start <= last
        )
        if past_period_days and (changed or resequenced):
            what = "; ".join(changed) if changed else "the arm order of past periods"
            found.append(
                f"it changes what was taken on trial days already past or logged ({what}). "
                "While the trial is blinded the affected days are not named. What a past "
                "day was cannot change: undo the edit (a new treatment needs a new trial)"
            )
    else:
        for period, dates in sorted(rearmed.items()):
            found.append(
                f"it changes what was taken in period {period} on {_count(len(dates), 'day')} "
                f"already past or logged ({_spans(dates)}): {'; '.join(arm_changes[period])}. "
                "What a past day was cannot change: undo the edit (a new treatment needs a "
                "new trial)"
            )
    return found


def invalidated_values(
    old: TrialProtocol, new: TrialProtocol, entries: Iterable[Entry]
) -> list[str]:
    """Stored values (in force) that are valid now but would be invalid after the amendment."""
    bad: list[str] = []
    for entry in entries:
        if stored_value_problem(old, entry.outcome, entry.value) is not None:
            continue  # already invalid: not this amendment's doing
        why = stored_value_problem(new, entry.outcome, entry.value, before=old)
        if why is not None:
            shown = shown_value(old, entry.outcome, entry.value)
            bad.append(f"{entry.date.isoformat()} {_clip(entry.outcome)} = {shown}: {why}")
    if not bad:
        return []
    listed = "\n".join(f"      {line}" for line in bad[:MAX_LISTED_VALUES])
    more = len(bad) - MAX_LISTED_VALUES
    tail = f"\n      ... and {more} more" if more > 0 else ""
    return [
        f"it makes {_count(len(bad), 'stored value')} invalid (keep the outcome, its kind, "
        "its categories and its range so the stored values still fit, or undo the edit):"
        f"\n{listed}{tail}"
    ]


def _plan(day: Day) -> tuple[object, ...]:
    """What a day is in the plan, apart from its arm (which does not depend on the allocation)."""
    return (day.phase, day.period, day.day_in_period, day.analytic_washout)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _spans(dates: list[dt.date]) -> str:
    """Sorted dates as runs: ``2026-01-01 – 2026-01-05, 2026-01-09``."""
    runs: list[tuple[dt.date, dt.date]] = []
    for date in sorted(dates):
        if runs and date - runs[-1][1] == dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], date)
        else:
            runs.append((date, date))
    return ", ".join(
        a.isoformat() if a == b else f"{a.isoformat()} – {b.isoformat()}" for a, b in runs
    )


def _arm_changes(
    old: TrialProtocol,
    old_schedule: Schedule,
    old_arm: str | None,
    new: TrialProtocol,
    new_schedule: Schedule,
    new_arm: str | None,
    *,
    role: bool = False,
) -> list[str]:
    """What differs between an arm before and after an amendment, in words (empty: nothing).

    ``role`` names the protocol table (``comparator.dose``) instead of the arm letter, for
    messages that must not say which arm a day had.
    """
    if old_arm is None or new_arm is None:
        return [] if old_arm == new_arm else ["the arm"]
    found = []
    if old_arm != new_arm:
        found.append(f"arm {old_arm} becomes arm {new_arm}")
    before, after = old.arm(old_arm), new.arm(new_arm)
    table = "comparator" if old_arm == "A" else "intervention"
    for name in ARM_FIELDS:
        was, now = getattr(before, name), getattr(after, name)
        if was != now:
            label = f"{table}.{name}" if role else name
            found.append(f"{label} {was!r} → {now!r}")
    if old_schedule.blinded and new_schedule.blinded:
        was, now = old_schedule.codes[old_arm], new_schedule.codes[new_arm]
        if was != now and not role:
            found.append(f"pack {was!r} → {now!r}")
    return found


def stored_value_problem(
    protocol: TrialProtocol, outcome: str, value: float, *, before: TrialProtocol | None = None
) -> str | None:
    """Why a stored value does not fit ``protocol`` (``None``: it fits), in words.

    With ``before`` (the protocol the value was recorded under), a changed kind or a renamed
    ordinal category also counts: the number would fit but would mean something else.
    """
    if value != value or value in (float("inf"), float("-inf")):
        return "not a finite number"
    try:
        spec = protocol.outcome(outcome)
    except KeyError:
        shown = outcome if len(outcome) <= 40 else f"{outcome[:40]}…"
        return f"outcome {shown!r} is not in the protocol"
    old_spec = None
    if before is not None:
        try:
            old_spec = before.outcome(outcome)
        except KeyError:
            old_spec = None
    if old_spec is not None and old_spec.kind != spec.kind:
        return f"its kind changes from {old_spec.kind} to {spec.kind}"
    try:
        spec.check_value(value)
    except ValueError as exc:
        if spec.kind == "ordinal":
            return f"category {value:g} is not defined (categories: {spec.scale_text()})"
        return str(exc)
    if spec.kind == "ordinal" and old_spec is not None:
        index = int(value)
        was = old_spec.categories[index] if index < len(old_spec.categories) else None
        if was is not None and was != spec.categories[index]:
            return f"category {index} changes from {was!r} to {spec.categories[index]!r}"
    return None


def shown_value(protocol: TrialProtocol, outcome: str, value: float) -> str:
    """A stored value for people: the category name for ordinal outcomes; never raises."""
    if value != value:
        return "(unreadable stored value)"
    try:
        spec = protocol.outcome(outcome)
    except KeyError:
        return f"{value:g}"
    if spec.kind == "ordinal" and float(value).is_integer() and 0 <= value < len(spec.categories):
        return f"{value:g} ({spec.categories[int(value)]})"
    return f"{value:g}"


def shown_value_of(spec: OutcomeSpec, value: float | None) -> str:
    """A value of ``spec`` for people (category name for ordinal outcomes)."""
    if value is None:
        return "no value"
    if spec.kind == "ordinal" and float(value).is_integer() and 0 <= value < len(spec.categories):
        return repr(spec.categories[int(value)])
    return f"{value:g}"


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…"
