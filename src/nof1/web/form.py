"""The protocol's outcomes as form fields, and a logged day as the correction form shows it.

Display only: the values are checked by the library (:mod:`nof1.diary`) when the form is sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from attrs import frozen

from nof1 import diary
from nof1.protocol import OutcomeSpec, TrialProtocol
from nof1.store import History
from nof1.workspace import Workspace
from nof1.workspace_amend import shown_value

#: A scale with at most this many whole-number steps is shown as buttons, not a number field.
MAX_BUTTONS = 11


# --------------------------------------------------------------------------------------------
# Form fields from the protocol
# --------------------------------------------------------------------------------------------


@frozen
class Option:
    value: str  # what the form sends (the text the CLI would accept)
    label: str
    number: float  # the stored value (for the skip logic in app.js)


@frozen
class Question:
    """One outcome as a form field."""

    spec: OutcomeSpec
    options: tuple[Option, ...]  # empty: a number field
    value: str
    error: str
    condition: str  # "" or the ask_if in words
    example: str  # a plausible answer, as `nof1 log` shows in its prompt

    @property
    def name(self) -> str:
        return self.spec.name


def _options(spec: OutcomeSpec) -> tuple[Option, ...]:
    """Answer buttons: yes/no, the categories, or each step of a short whole-number scale
    (0–10 pain, 0–10 doses); other scales are a number field."""
    if spec.kind == "binary":
        return (Option("yes", "Yes", 1.0), Option("no", "No", 0.0))
    if spec.kind == "ordinal":
        return tuple(Option(c, c, float(i)) for i, c in enumerate(spec.categories))
    low = 0.0 if spec.kind == "count" and spec.minimum is None else spec.minimum
    high = spec.maximum
    if low is None or high is None or not (low.is_integer() and high.is_integer()):
        return ()
    if not 0 < high - low < MAX_BUTTONS:
        return ()
    return tuple(Option(f"{n}", f"{n}", float(n)) for n in range(int(low), int(high) + 1))


def _condition_text(protocol: TrialProtocol, spec: OutcomeSpec) -> str:
    condition = spec.ask_if
    if condition is None:
        return ""
    target = protocol.outcome(condition.outcome)
    shown = diary.show_value(target, condition.value)
    words = {"==": "is", "!=": "is not", ">=": "is at least", "<=": "is at most"}
    op = words.get(condition.operator, condition.operator)
    return f"Only if “{target.title}” {op} {shown}"


def questions(
    protocol: TrialProtocol, values: Mapping[str, str], errors: Mapping[str, str]
) -> list[Question]:
    return [
        Question(
            spec=o,
            options=_options(o),
            value=values.get(o.name, ""),
            error=errors.get(o.name, ""),
            condition=_condition_text(protocol, o),
            example=diary.example_value(o),
        )
        for o in protocol.outcomes
    ]


def history_rows(ws: Workspace, h: History) -> list[tuple[str, str, str, str]]:
    """(when, what, value, why) for each record of a day, oldest first."""
    rows = []
    for e in h.entries:
        try:
            what = ws.protocol.outcome(e.outcome).title
        except KeyError:
            what = e.outcome
        shown = shown_value(ws.protocol, e.outcome, e.value)  # as `nof1 history` shows it
        why = f"correction: {e.reason}" if e.is_correction else ""
        rows.append((e.recorded_at, what, shown, _from(e.source, why)))
    for a in h.adherence:
        why = f"correction: {a.reason}" if a.supersedes is not None else ""
        rows.append((a.recorded_at, "Took", a.took, _from(a.source, why)))
    for n in h.notes:
        rows.append((n.recorded_at, "Note", n.text, _from(n.source, "")))
    # stamps are UTC ISO 8601: sorting them is sorting by time
    return [(_local(when), what, value, why) for when, what, value, why in sorted(rows)]


def _from(source: str, why: str) -> str:
    where = "phone" if source == "web" else "terminal"
    return f"{why} ({where})" if why else f"({where})"


def _local(stamp: str) -> str:
    return dt.datetime.fromisoformat(stamp).astimezone().strftime("%-d %b %H:%M")


def current_answers(ws: Workspace, date: dt.date) -> dict[str, str]:
    """The values in force for a day, as the form shows them."""
    protocol = ws.protocol
    names = {o.name for o in protocol.outcomes}
    current = {
        e.outcome: form_value(protocol.outcome(e.outcome), e.value)
        for e in ws.store.day_entries(date)
        if e.outcome in names
    }
    took = [a for a in ws.store.history(date).adherence]
    if took:
        current["took"] = took[-1].took
    return current


def form_value(spec: OutcomeSpec, value: float) -> str:
    """A stored value as the form's answer; empty when it does not fit the scale any more."""
    if value != value:  # NaN: a row written outside nof1
        return ""
    try:
        spec.check_value(value)
    except ValueError:
        return ""
    if spec.kind in ("binary", "ordinal"):
        return diary.show_value(spec, value)
    return f"{value:g}"
