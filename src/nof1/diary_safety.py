"""Safety state: stopping rules, their reviews by a clinician, and whether the trial intervention
may be taken today.

A stopping rule is met by the data (a serious adverse event, too many adverse events, an outcome
beyond a threshold for days in a row). Until a clinician has reviewed it (``nof1 review``), every
daily command says so loudly and nothing tells the patient to take the trial intervention. A
review with the decision *continue* quiets the banner to one line for the evidence reviewed; new
evidence (another event, more bad days) makes the rule loud again. The decision *stop* records the
early stop, as ``nof1 stop`` does. The words are built here so that ``nof1 today``, ``nof1
status`` and the phone diary say the same thing.

Any serious adverse event counts as met even when a protocol forgot the rule for it.

Stdlib + attrs only: this is the daily path.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections import Counter
from collections.abc import Sequence

from attrs import frozen

from nof1.errors import EntryError
from nof1.protocol import StoppingRule, TrialProtocol
from nof1.record import SEVERITIES, AdverseEvent, Observation
from nof1.schedule import Day
from nof1.store import Review, Stop
from nof1.workspace import Workspace

_SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
DECISIONS = ("continue", "stop")
#: Longest accepted reviewer name and review note (characters).
MAX_BY, MAX_NOTE = 200, 4000

#: The safety state of a trial: nothing met; a rule met and not (fully) reviewed; every met rule
#: reviewed with the decision to continue; the trial stopped (``nof1 stop`` or a review).
OK, RULE_MET, REVIEWED, STOPPED = "ok", "rule_met", "reviewed", "stopped"

#: Used when a protocol has no ``serious_adverse_event`` rule: a serious event always counts.
IMPLICIT_SERIOUS_RULE = StoppingRule(
    kind="serious_adverse_event",
    description="A serious adverse event: stop the trial intervention and call your clinician.",
)

CONTACT = "contact your supervising clinician"


# --------------------------------------------------------------------------------------------
# The rules and their names
# --------------------------------------------------------------------------------------------


def protocol_rules(protocol: TrialProtocol) -> tuple[StoppingRule, ...]:
    """The protocol's stopping rules, plus the serious-adverse-event rule when it lacks one."""
    rules = protocol.stopping_rules
    if any(r.kind == "serious_adverse_event" for r in rules):
        return rules
    return (*rules, IMPLICIT_SERIOUS_RULE)


def rule_names(protocol: TrialProtocol) -> dict[str, StoppingRule]:
    """Each stopping rule under the name ``nof1 review --rule`` takes, in protocol order.

    ``serious_adverse_event``, ``adverse_events_<severity>``, ``<outcome>_threshold``; a second
    rule of the same name gets ``_2`` and so on.
    """
    names: dict[str, StoppingRule] = {}
    for rule in protocol_rules(protocol):
        if rule.kind == "adverse_events":
            base = f"adverse_events_{rule.severity}"
        elif rule.kind == "outcome_threshold":
            base = f"{rule.outcome}_threshold"
        else:
            base = rule.kind
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}_{n}"
        names[name] = rule
    return names


# --------------------------------------------------------------------------------------------
# Evaluating the rules
# --------------------------------------------------------------------------------------------


@frozen
class RuleMet:
    """A stopping rule the data meet: since when, why in words, and on which evidence.

    ``evidence`` lists the dates of every event or bad day that counts (one per item, sorted),
    so a review can tell whether anything new has happened since.
    """

    name: str
    rule: StoppingRule
    met_on: dt.date
    reason: str
    evidence: tuple[dt.date, ...]

    @property
    def evidence_text(self) -> str:
        return ",".join(d.isoformat() for d in self.evidence)


def rules_met(
    protocol: TrialProtocol,
    observations: Sequence[Observation],
    events: Sequence[AdverseEvent],
) -> list[RuleMet]:
    """The stopping rules the data meet, in protocol order.

    ``outcome_threshold`` counts consecutive *logged* days: an unlogged day between two bad days
    does not reset the run (erring on the side of safety).
    """
    met: list[RuleMet] = []
    for name, rule in rule_names(protocol).items():
        if rule.kind == "serious_adverse_event":
            serious = sorted(e.date for e in events if e.serious)
            if serious:
                reason = f"serious adverse event on {serious[0]}"
                met.append(RuleMet(name, rule, serious[0], reason, tuple(serious)))
        elif rule.kind == "adverse_events":
            floor = _SEVERITY_RANK[rule.severity]
            hits = sorted(e.date for e in events if _SEVERITY_RANK[e.severity] >= floor)
            if len(hits) >= rule.count:
                reason = f"{len(hits)} adverse events of severity {rule.severity} or worse"
                met.append(RuleMet(name, rule, hits[rule.count - 1], reason, tuple(hits)))
        elif rule.kind == "outcome_threshold":
            found = _threshold(protocol, rule, observations)
            if found is not None:
                met_on, reason, evidence = found
                met.append(RuleMet(name, rule, met_on, reason, evidence))
    return met


def _threshold(
    protocol: TrialProtocol, rule: StoppingRule, observations: Sequence[Observation]
) -> tuple[dt.date, str, tuple[dt.date, ...]] | None:
    spec = protocol.outcome(rule.outcome)
    lower_is_better = spec.better == "lower"
    values = sorted(_answers(protocol, rule.outcome, observations))
    first: tuple[dt.date, str] | None = None
    evidence: list[dt.date] = []
    run: list[dt.date] = []
    for date, value in values:
        bad = value >= rule.threshold if lower_is_better else value <= rule.threshold
        run = [*run, date] if bad else []
        if len(run) == rule.days:
            evidence.extend(run)
            if first is None:
                sign = "≥" if lower_is_better else "≤"
                first = (
                    date,
                    f"{rule.outcome} {sign} {rule.threshold:g} on {len(run)} logged day(s) in a "
                    f"row, {run[0]} to {run[-1]}",
                )
        elif len(run) > rule.days:
            evidence.append(date)
    if first is None:
        return None
    return first[0], first[1], tuple(evidence)


def _answers(
    protocol: TrialProtocol, outcome: str, observations: Sequence[Observation]
) -> list[tuple[dt.date, float]]:
    """An outcome's values per logged day; a question its ``ask_if`` skipped that day counts
    as its ``skipped_value`` (a headache-free day has pain 0: it ends a run of bad days), or as
    NaN when it has none (``analyse = "when_asked"``): a skipped day still ends a run."""
    if protocol.outcome(outcome).ask_if is None:
        return [(o.date, o.value) for o in observations if o.outcome == outcome]
    days: dict[dt.date, dict[str, float]] = {}
    for o in observations:
        days.setdefault(o.date, {})[o.outcome] = o.value
    result = []
    for date, values in days.items():
        if outcome in protocol.skipped(values):
            result.append((date, protocol.effective(values).get(outcome, math.nan)))
        elif outcome in values:
            result.append((date, values[outcome]))
    return result


@frozen
class TriggeredRule:
    """A stopping rule that is met, why, whether the latest write tipped it over, and the
    clinician's review that covers its evidence (``None`` while unreviewed)."""

    rule: StoppingRule
    reason: str
    new: bool = False
    name: str = ""
    met_on: dt.date | None = None
    review: Review | None = None

    @property
    def message(self) -> str:
        what = self.rule.description or "a stopping rule of the protocol is met"
        return f"{what} ({self.reason})"

    @property
    def reviewed(self) -> bool:
        return self.review is not None


def _covering_review(met: RuleMet, reviews: Sequence[Review]) -> Review | None:
    """The latest *continue* review of this rule whose evidence includes everything now met."""
    now = Counter(met.evidence_text.split(","))
    for review in reversed(reviews):
        if review.rule != met.name or review.decision != "continue":
            continue
        seen = Counter(review.evidence.split(","))
        if not now - seen:
            return review
    return None


def triggered(ws: Workspace, before: Sequence[RuleMet] = ()) -> tuple[TriggeredRule, ...]:
    """The rules met now, with their covering review; ``new`` marks those not met in ``before``."""
    if not ws.is_locked:
        return ()
    old = {m.name for m in before}
    reviews = ws.store.reviews()
    return tuple(
        TriggeredRule(
            m.rule,
            m.reason,
            new=m.name not in old,
            name=m.name,
            met_on=m.met_on,
            review=_covering_review(m, reviews),
        )
        for m in current(ws)
    )


def current(ws: Workspace) -> list[RuleMet]:
    """The rules the workspace's data meet now."""
    return rules_met(ws.protocol, ws.observations(), ws.adverse_events())


# --------------------------------------------------------------------------------------------
# The safety state and its words
# --------------------------------------------------------------------------------------------


@frozen
class SafetyState:
    """Whether the trial intervention may be taken, and why not."""

    state: str
    stop: Stop | None
    triggered: tuple[TriggeredRule, ...]

    @property
    def unreviewed(self) -> tuple[TriggeredRule, ...]:
        return tuple(t for t in self.triggered if not t.reviewed)

    @property
    def may_take(self) -> bool:
        """False once stopped, or while a met stopping rule is not reviewed."""
        return self.state in (OK, REVIEWED)


def safety(ws: Workspace, *, on: dt.date | None = None) -> SafetyState:
    """The safety state on ``on`` (default: now). A stop counts from its date on."""
    trig = triggered(ws)
    stop = ws.stopped if ws.is_locked else None
    if stop is not None and (on is None or on >= stop.date):
        return SafetyState(STOPPED, stop, trig)
    if any(not t.reviewed for t in trig):
        return SafetyState(RULE_MET, stop, trig)
    return SafetyState(REVIEWED if trig else OK, stop, trig)


def review_line(t: TriggeredRule) -> str:
    """The one line a reviewed rule gets instead of the banner."""
    assert t.review is not None
    r = t.review
    return (
        f"Stopping rule {t.name} (met on {t.met_on}) was reviewed by {r.by} on "
        f"{r.at[:10]}: continue."
    )


def advice(day: Day | None) -> str:
    """What to do when a stopping rule is met, for the phase of ``day``."""
    if day is None:
        return f"Do not take the trial intervention; {CONTACT}."
    if day.phase == "run_in":
        return (
            "There is no trial intervention to stop yet (run-in): call your supervising "
            "clinician before the first period starts."
        )
    if day.phase == "washout":
        return (
            "Take nothing from the trial (washout); call your supervising clinician before the "
            "next period starts."
        )
    return f"Stop the trial intervention: do not take it; {CONTACT} now."


def stopped_line(stop: Stop) -> str:
    return (
        f"The trial was stopped on {stop.date} ({stop.reason}). Do not take the trial "
        f"intervention; {CONTACT}. You can still log follow-up days (nof1 log)."
    )


def banner(t: TriggeredRule, day: Day | None, state: SafetyState) -> tuple[bool, list[str]]:
    """How a met rule is announced: ``(loud, lines)``. Loud until reviewed or stopped."""
    if t.reviewed:
        return False, [review_line(t)]
    if state.state == STOPPED:
        return False, [f"Stopping rule met: {t.message}; the trial is stopped."]
    return True, [
        f"STOPPING RULE MET: {t.message}",
        advice(day),
        f'Once your clinician has reviewed it: nof1 review --rule {t.name} --by "NAME" '
        "--decision continue|stop",
    ]


# --------------------------------------------------------------------------------------------
# Recording a review
# --------------------------------------------------------------------------------------------


@frozen
class ReviewResult:
    review: Review
    met: RuleMet
    stop: Stop | None
    already_stopped: bool


def _shown(text: str, limit: int = 40) -> str:
    """``repr`` of what was typed (control characters escaped), cut to ``limit`` characters."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"… ({len(text)} characters)"


def _check_text(value: str, option: str, limit: int, example: str) -> str:
    text = value.strip()
    bad = [c for c in text if unicodedata.category(c) in ("Cc", "Cf") and c not in "\t"]
    if bad:
        raise EntryError(
            f"{option} contains control or formatting characters "
            f"({', '.join(sorted({f'U+{ord(c):04X}' for c in bad}))}): write plain text, "
            f"e.g. {example}"
        )
    if len(text) > limit:
        raise EntryError(f"{option} is too long ({len(text)} characters; at most {limit})")
    return text


def review_rule(
    ws: Workspace,
    rule: str,
    by: str,
    decision: str,
    note: str = "",
    *,
    today: dt.date | None = None,
) -> ReviewResult:
    """Record a clinician's review of a met stopping rule (``nof1 review``), all or nothing.

    ``decision="stop"`` also records the early stop (today, or the last trial day once the
    trial is over), exactly as ``nof1 stop`` would, unless the trial is already stopped.

    Raises
    ------
    EntryError
        Unknown rule (the message lists the names), empty or unprintable ``by``, a decision
        other than continue/stop, or a rule that is not met; nothing is written.
    """
    if not ws.is_locked:
        raise EntryError("nothing to review before `nof1 start`: no stopping rule can be met yet")
    ws.guard()
    names = rule_names(ws.protocol)
    key = rule.strip()
    if key.isdigit() and 1 <= int(key) <= len(names):
        key = list(names)[int(key) - 1]
    if key not in names:
        raise EntryError(
            f"unknown stopping rule {_shown(rule)}: --rule must be one of {', '.join(names)} "
            f"(or its number, 1 to {len(names)})"
        )
    who = _check_text(by, "--by", MAX_BY, '--by "Dr Jones"')
    if not who:
        raise EntryError('--by is empty: say who reviewed the rule, e.g. --by "Dr Jones"')
    choice = decision.strip().lower()
    if choice not in DECISIONS:
        raise EntryError(f"--decision must be continue or stop (got {_shown(decision)})")
    text = _check_text(note, "--note", MAX_NOTE, '--note "pain settled; continue"')
    today = today or dt.date.today()
    store = ws.store
    schedule = ws.schedule
    with store.transaction("review"):
        # Decided inside the write transaction: what is met, and whether already stopped.
        met = {m.name: m for m in current(ws)}
        if key not in met:
            now = ", ".join(met) or "none"
            raise EntryError(
                f"stopping rule {key} is not met, so there is nothing to review (rules met now: "
                f"{now})"
            )
        m = met[key]
        stops = store.stops()
        store.add_review(
            rule=key,
            description=m.rule.description,
            met_on=m.met_on,
            evidence=m.evidence_text,
            by=who,
            decision=choice,
            note=text,
        )
        new_stop = False
        if choice == "stop" and not stops:
            date = min(max(today, schedule.start), schedule.end)
            reason = f"stopping rule {key} met on {m.met_on}; reviewed by {who}: stop"
            store.add_stop(date, f"{reason} ({text})" if text else reason)
            new_stop = True
    review = store.reviews()[-1]
    stop = ws.stopped
    return ReviewResult(
        review=review,
        met=m,
        stop=stop,
        already_stopped=choice == "stop" and not new_stop,
    )


# --------------------------------------------------------------------------------------------
# The timeline for the report
# --------------------------------------------------------------------------------------------


@frozen
class TimelineEntry:
    """One stopping rule in the report: when it was met and every review of it."""

    name: str
    description: str
    met_on: dt.date | None
    reason: str
    reviews: tuple[Review, ...]

    @property
    def reviewed(self) -> bool:
        return bool(self.reviews)

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.name,
            "description": self.description,
            "met_on": None if self.met_on is None else self.met_on.isoformat(),
            "reason": self.reason,
            "reviews": [
                {
                    "at": r.at,
                    "by": r.by,
                    "decision": r.decision,
                    "note": r.note,
                    "met_on": r.met_on.isoformat(),
                }
                for r in self.reviews
            ],
        }


def timeline(
    protocol: TrialProtocol,
    observations: Sequence[Observation],
    events: Sequence[AdverseEvent],
    reviews: Sequence[Review],
) -> tuple[TimelineEntry, ...]:
    """Every rule met or reviewed: met on, reason, reviews (oldest first). Pure."""
    met = {m.name: m for m in rules_met(protocol, observations, events)}
    names = [*met, *(r.rule for r in reviews if r.rule not in met)]
    entries: list[TimelineEntry] = []
    for name in dict.fromkeys(names):
        m = met.get(name)
        mine = tuple(r for r in reviews if r.rule == name)
        if m is not None:
            entries.append(TimelineEntry(name, m.rule.description, m.met_on, m.reason, mine))
        else:
            first = mine[0]
            entries.append(
                TimelineEntry(
                    name,
                    first.description,
                    first.met_on,
                    "no longer met by the data in force (values were corrected)",
                    mine,
                )
            )
    return tuple(entries)
