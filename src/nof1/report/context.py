"""Build the report's view model: plain-language sentences with numbers in their units.

:class:`TrialRecord` gathers what happened from a workspace (or from plain values in tests);
:func:`nof1.report.build.build_view` turns it and an :class:`~nof1.summary.AnalysisResult` into a
:class:`~nof1.report.view.ReportView` — page 1 for the clinician, then the CENT 2015 sections
(see :mod:`nof1.report.sections`). Nothing here draws or samples.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from attrs import field, frozen

from nof1.integrity import IntegrityReport, verify
from nof1.protocol import OutcomeSpec, TrialProtocol
from nof1.record import Adherence, AdverseEvent, Observation
from nof1.report import fmt
from nof1.report.view import FrontPage, Headline, ProbabilityBar
from nof1.schedule import Schedule
from nof1.store import Amendment, Review
from nof1.summary import AnalysisResult, OutcomeResult, SensitivityResult
from nof1.vocab import UNITS, exposure_factor
from nof1.workspace import LockInfo

if TYPE_CHECKING:
    from nof1.diary_safety import TimelineEntry
    from nof1.workspace import Workspace

DISCLAIMER = (
    "This report informs a decision that the patient makes together with their clinician. It is "
    "not medical advice, and it never recommends a dose."
)


@frozen
class TrialRecord:
    """What the report needs from a trial workspace, as plain values."""

    protocol: TrialProtocol
    schedule: Schedule
    observations: tuple[Observation, ...] = ()
    adherence: tuple[Adherence, ...] = ()
    adverse_events: tuple[AdverseEvent, ...] = ()
    lock_info: LockInfo | None = None
    deviations: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    #: Clinicians' reviews of met stopping rules (``nof1 review``), oldest first.
    reviews: tuple[Review, ...] = ()
    integrity: IntegrityReport | None = None

    @classmethod
    def from_workspace(cls, ws: Workspace) -> TrialRecord:
        """Read everything the report shows from an open :class:`~nof1.workspace.Workspace`."""
        return cls(
            protocol=ws.protocol,
            schedule=ws.schedule,
            observations=tuple(ws.observations()),
            adherence=tuple(ws.adherence()),
            adverse_events=tuple(ws.adverse_events()),
            lock_info=ws.lock_info(),
            deviations=tuple(ws.deviations()),
            warnings=tuple(ws.warnings()),
            reviews=tuple(ws.store.reviews()) if ws.is_locked else (),
            integrity=verify(ws),
        )

    # -- derived ----------------------------------------------------------------------------

    def through(self, result: AnalysisResult | None = None) -> dt.date:
        """The last day the report covers: the analysis's data end, else the last logged day."""
        if result is not None and result.analysed_through is not None:
            return min(fmt.to_date(result.analysed_through) or self.schedule.end, self.schedule.end)
        dates = [o.date for o in self.observations]
        return min(max(dates), self.schedule.end) if dates else self.schedule.start

    def period_days(self, through: dt.date) -> list[Any]:
        """Scheduled treatment-period days up to ``through``."""
        return [d for d in self.schedule.days() if d.phase == "period" and d.date <= through]

    def logged_dates(self, outcome: str) -> set[dt.date]:
        return {o.date for o in self.observations if o.outcome == outcome}

    def values(self, outcome: str) -> dict[dt.date, float]:
        return {o.date: o.value for o in self.observations if o.outcome == outcome}

    def stop_info(self) -> tuple[str, str]:
        """(date, reason) of a recorded early stop; empty when none."""
        stop = None if self.lock_info is None else self.lock_info.stopped
        if stop is None:
            return "", ""
        return fmt.date(stop.date), stop.reason

    def protocol_hash(self, result: AnalysisResult | None = None) -> str:
        """The one protocol hash the report shows: the one ``nof1 start`` printed."""
        if self.lock_info is not None:
            return self.lock_info.protocol_hash
        return (result.protocol_hash if result else None) or self.protocol.fingerprint()

    def lock_line(self) -> str:
        """When the protocol was locked, relative to the trial's first day."""
        info = self.lock_info
        if info is None:
            return "not locked"
        when = fmt.date(info.locked_at)
        if info.locked_before_day1:
            return f"{when}, before data collection began (day 1 was {fmt.date(info.day1)})"
        return (
            f"{when}, AFTER data collection began (day 1 was {fmt.date(info.day1)}): the "
            "protocol was locked late"
        )

    def integrity_line(self) -> str:
        """``integrity verified`` with the chain head, or what failed."""
        if self.integrity is None:
            return "not checked (no trial store)"
        if self.integrity.ok:
            return f"integrity verified; hash chain head {self.integrity.chain_head}"
        shown = "; ".join(self.integrity.lines()[:5])
        more = len(self.integrity.problems) - 5
        return (
            f"{self.integrity.summary()}: {shown}"
            + (f"; and {more} more (run `nof1 verify`)" if more > 0 else "")
            + f"; hash chain head {self.integrity.chain_head}"
        )

    def stopping_rules_met(self) -> list[str]:
        """The protocol's stopping rules that the data meet, in words."""
        from nof1.diary import evaluate_stopping_rules

        return [
            f"{rule.description or rule.kind.replace('_', ' ')} ({reason})"
            for rule, reason in evaluate_stopping_rules(
                self.protocol, self.observations, self.adverse_events
            )
        ]

    def stopping_rule_timeline(self) -> tuple[TimelineEntry, ...]:
        """Each stopping rule met or reviewed: met on, why, reviews (``TimelineEntry``)."""
        from nof1.diary_safety import timeline

        return timeline(self.protocol, self.observations, self.adverse_events, self.reviews)

    def amendments(self) -> list[Amendment]:
        return [] if self.lock_info is None else list(self.lock_info.amendments)


# ------------------------------------------------------------------------------------------
# Wording for one outcome
# ------------------------------------------------------------------------------------------


def units(outcome: OutcomeResult | OutcomeSpec) -> str:
    """Units of the verdict scale, in words."""
    if outcome.units:
        return fmt.clean(outcome.units)
    return UNITS.get(outcome.kind, "")


def title(outcome: OutcomeResult | OutcomeSpec) -> str:
    """The outcome's label (or its name in words), control characters made visible."""
    return fmt.clean(outcome.label or outcome.name.replace("_", " ").capitalize())


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(float(x))


def has_effect(outcome: OutcomeResult) -> bool:
    effect = outcome.effect
    return effect is not None and _finite(effect.median)


def effect_text(outcome: OutcomeResult) -> str:
    """``"−2.3 days per 28 days (95% CrI −4.1 to −0.6)"``: the headline numbers, B − A."""
    if not has_effect(outcome):
        return "not estimated"
    d = fmt.digits_for(outcome.kind, outcome.mcid)
    e = outcome.effect
    u = units(outcome)
    return (
        f"{fmt.signed(e.median, d)}{' ' + u if u else ''} "
        f"(95% CrI {fmt.interval(e.ci95[0], e.ci95[1], d)})"
    )


def effect_plain(outcome: OutcomeResult, arm_b: str, arm_a: str, *, plain: bool = False) -> str:
    """``"Headache day: 2.3 fewer days per 28 days on Magnesium than on Placebo (median
    estimate)"``; ``plain`` leaves out the outcome's name and "(median estimate)" (the patient's
    summary introduces it as the best single estimate)."""
    if not has_effect(outcome):
        return ""
    d = fmt.digits_for(outcome.kind, outcome.mcid)
    m = outcome.effect.median
    size = fmt.number(abs(m), d)
    if fmt.number(m, d) in ("0.0", "0.00", "0"):
        if plain:
            return f"about the same on {arm_b} as on {arm_a}"
        return f"{title(outcome)}: about the same on {arm_b} as on {arm_a} (median difference 0)"
    u = units(outcome)
    if outcome.kind in ("binary", "count"):
        words = f"{size} {'fewer' if m < 0 else 'more'} {u}".strip()
    else:
        words = f"{size}{' ' + u if u else ''} {'lower' if m < 0 else 'higher'}"
    if plain:
        return f"{words} on {arm_b} than on {arm_a}"
    return f"{title(outcome)}: {words} on {arm_b} than on {arm_a} (median estimate)"


def _comparative(outcome: OutcomeResult, lower: bool) -> str:
    """``lower``/``higher`` (``less``/``more frequent`` for days and events)."""
    if outcome.kind in ("binary", "count"):
        return "less frequent" if lower else "more frequent"
    return "lower" if lower else "higher"


def _chance_of(p: float, plain: bool, threshold: float | None = None) -> str:
    return fmt.odds_phrase(p, threshold) if plain else f"probability {fmt.percent(p, threshold)}"


def reading(
    outcome: OutcomeResult,
    arm_b: str,
    arm_a: str,
    *,
    threshold: float | None = None,
    plain: bool = False,
) -> str:
    """One sentence that reconciles P(any benefit), P(≥ MCID) and the 95% interval.

    E.g. "Headache day was probably less frequent on Magnesium than on Placebo (probability
    91%), but a difference at least as large as the smallest that matters (2.0 days per 28 days)
    is unlikely (probability 32%); the 95% interval, −3.1 to 0.4 days per 28 days, still
    includes zero (no difference)". The direction stated is the more probable one, so the claim
    is never "probably not"; every probability word comes from :func:`nof1.report.fmt.chance`.
    ``plain`` words it for the patient; ``threshold`` (the decision threshold) keeps P(≥ MCID)
    printed exactly as the probability bar prints it. Empty when the effect or its probabilities
    are missing or the verdict was withheld (the numbers are not to be read then).
    """
    p = outcome.probabilities
    if (
        not has_effect(outcome)
        or verdict_class(outcome) == "withheld"
        or p is None
        or not all(_finite(x) for x in (p.benefit, p.meaningful_benefit, p.meaningful_harm))
        or not all(_finite(x) for x in outcome.effect.ci95)
    ):
        return ""
    lower_is_better = outcome.better == "lower"
    toward_benefit = p.benefit >= 0.5
    p_direction = p.benefit if toward_benefit else 1.0 - p.benefit
    p_mcid = p.meaningful_benefit if toward_benefit else p.meaningful_harm
    goes_lower = toward_benefit == lower_is_better
    cmp = _comparative(outcome, goes_lower)
    name = title(outcome)
    claim = fmt.hedge(
        p_direction,
        f"{name} was {{adv}} {cmp} on {arm_b} than on {arm_a}",
        f"it is uncertain whether {name.lower()} was {cmp} on {arm_b} than on {arm_a}",
    )
    direction_firm = fmt.chance(p_direction) in ("likely", "very likely")
    mcid_word = fmt.chance(p_mcid)
    conj = "but" if direction_firm and mcid_word not in ("likely", "very likely") else "and"
    matters = "big enough to matter" if plain else "at least as large as the smallest that matters"
    mcid = mcid_text(outcome).split(" (")[0]
    d = fmt.digits_for(outcome.kind, outcome.mcid)
    low, high = outcome.effect.ci95
    u = units(outcome)
    span = f"{fmt.interval(low, high, d)}{' ' + u if u else ''}"
    what = (
        f"the range of likely differences ({arm_b} minus {arm_a}), {span},"
        if plain
        else f"the 95% interval, {span},"
    )
    if low <= 0 <= high:
        where = f"{'still ' if direction_firm else ''}includes zero (no difference)"
    else:
        where = f"lies entirely {'below' if high < 0 else 'above'} zero (no difference)"
    return (
        f"{fmt.sentence(claim)} ({_chance_of(p_direction, plain)}), {conj} a difference "
        f"{matters}{'' if plain else f' ({mcid})'} is {mcid_word} "
        f"({_chance_of(p_mcid, plain, threshold)}); {what} {where}"
    )


def relative_text(outcome: OutcomeResult) -> str:
    rel = outcome.relative
    if rel is None or not _finite(rel.median) or outcome.kind not in ("binary", "count"):
        return ""
    scale = rel.scale or ("odds ratio" if outcome.kind == "binary" else "rate ratio")
    return (
        f"{scale[0].upper()}{scale[1:]} {fmt.number(rel.median, 2)} "
        f"(95% CrI {fmt.interval(rel.ci95[0], rel.ci95[1], 2)})"
    )


def mcid_text(outcome: OutcomeResult | OutcomeSpec) -> str:
    d = fmt.digits_for(outcome.kind, outcome.mcid)
    u = units(outcome)
    direction = "lower" if outcome.better == "lower" else "higher"
    return f"{fmt.number(outcome.mcid, d)}{' ' + u if u else ''} ({direction} is better)"


def verdict_class(outcome: OutcomeResult) -> str:
    """``benefit``, ``harm``, ``negligible``, ``inconclusive`` or ``withheld``."""
    from nof1 import verdict as rule

    code = (outcome.verdict or "").lower()
    if outcome.withheld_reason or code == "withheld":
        return "withheld"
    known = {
        rule.BENEFIT: "benefit",
        rule.HARM: "harm",
        rule.NEGLIGIBLE: "negligible",
        rule.INCONCLUSIVE: "inconclusive",
    }
    if code in known:
        return known[code]
    if "harm" in code or "worse" in code:
        return "harm"
    if "negligible" in code or "no_" in code or "equival" in code or "no meaningful" in code:
        return "negligible"
    if "benefit" in code or "better" in code or "improv" in code:
        return "benefit"
    return "inconclusive"


#: How a withheld verdict is named everywhere (page 1, tables, sections, the plain summary).
NO_VERDICT = "No verdict (withheld)"


def withheld_text(outcome: OutcomeResult) -> str:
    """Why the verdict was withheld, without a trailing full stop."""
    return fmt.clean(outcome.withheld_reason or "the analysis could not support one").rstrip(".")


def verdict_sentence(outcome: OutcomeResult, arm_b: str, arm_a: str, threshold: float) -> str:
    """The verdict in one sentence, naming the arms, the MCID and the probability behind it.

    The probability word ("very likely", "probably") comes from the one mapping in
    :mod:`nof1.report.fmt`, so it is the word the plain summary uses for the same number.
    """
    kind = verdict_class(outcome)
    name = title(outcome).lower()
    mcid = mcid_text(outcome).split(" (")[0]
    p = outcome.probabilities
    if kind == "withheld":
        return f"{NO_VERDICT} for {name}: {withheld_text(outcome)}."
    if kind == "benefit":
        pb = p.meaningful_benefit
        claim = fmt.hedge(
            pb,
            f"{arm_b} {{adv}} improved {name}",
            f"{arm_b} may have improved {name}",
        )
        return (
            f"{claim} by at least the smallest difference that matters ({mcid}) compared with "
            f"{arm_a} (probability {fmt.percent(pb, threshold)})."
        )
    if kind == "harm":
        ph = p.meaningful_harm
        claim = fmt.hedge(
            ph,
            f"{name} was {{adv}} worse on {arm_b} than on {arm_a}",
            f"{name} may have been worse on {arm_b} than on {arm_a}",
        )
        return (
            f"{fmt.sentence(claim)} by at least the smallest difference that matters ({mcid}) "
            f"(probability {fmt.percent(ph, threshold)})."
        )
    if kind == "negligible":
        pn = p.negligible
        claim = fmt.hedge(
            pn,
            f"any difference in {name} between {arm_b} and {arm_a} was {{adv}} smaller",
            f"any difference in {name} between {arm_b} and {arm_a} may have been smaller",
        )
        return (
            f"{fmt.sentence(claim)} than the smallest difference that matters ({mcid}) "
            f"(probability {fmt.percent(pn, threshold)})."
        )
    return (
        f"Inconclusive for {name}: judged against the smallest difference that matters "
        f"({mcid}), no answer reached the {fmt.percent(threshold)} decision threshold "
        f"(meaningful benefit {fmt.percent(p.meaningful_benefit, threshold)}, negligible "
        f"{fmt.percent(p.negligible, threshold)}, meaningful harm "
        f"{fmt.percent(p.meaningful_harm, threshold)})."
    )


def verdict_short(outcome: OutcomeResult, threshold: float) -> str:
    """The verdict in a few words with its probability, for tables (same words as page 1)."""
    kind = verdict_class(outcome)
    p = outcome.probabilities
    if kind == "withheld":
        return f"{NO_VERDICT}: " + withheld_text(outcome).split(" (")[0]
    if kind == "benefit":
        pb = p.meaningful_benefit
        return f"Meaningful benefit {fmt.chance(pb)} ({fmt.percent(pb, threshold)})"
    if kind == "harm":
        ph = p.meaningful_harm
        return f"Meaningful harm {fmt.chance(ph)} ({fmt.percent(ph, threshold)})"
    if kind == "negligible":
        pn = p.negligible
        return f"No meaningful difference {fmt.chance(pn)} ({fmt.percent(pn, threshold)})"
    return (
        f"Inconclusive (benefit {fmt.percent(p.meaningful_benefit, threshold)}, negligible "
        f"{fmt.percent(p.negligible, threshold)}, harm {fmt.percent(p.meaningful_harm, threshold)})"
    )


# -- sensitivity analyses: only a completed analysis can agree or disagree --------------------

#: :func:`sensitivity_status` values.
SAME, CHANGES, NOT_ASSESSED, NOT_RUN = "same", "changes", "not assessed", "not run"


def sensitivity_status(s: SensitivityResult, primary: OutcomeResult) -> str:
    """``changes`` only for a genuine disagreement between two COMPLETED analyses.

    A sensitivity fit whose own diagnostics failed (verdict withheld), or any sensitivity fit
    when the primary verdict itself was withheld, ``could not be assessed``: it never counts as
    a changed verdict. Decided from the verdicts themselves, not from the stored
    ``verdict_changes`` flag, so results written by older versions read the same way.
    """
    from nof1.summary import WITHHELD

    if s.effect is None or s.verdict == NOT_RUN:
        return NOT_RUN
    if s.verdict == WITHHELD or verdict_class(primary) == "withheld":
        return NOT_ASSESSED
    return CHANGES if s.verdict != primary.verdict else SAME


def sensitivity_verdict(s: SensitivityResult) -> str:
    """The verdict column of the sensitivity table."""
    from nof1.summary import WITHHELD

    if s.verdict == WITHHELD:
        return "could not be assessed (its fit failed the reliability checks)"
    return s.verdict.replace("_", " ")


def changed_under(outcome: OutcomeResult) -> list[str]:
    """Labels of the completed sensitivity analyses whose verdict differs from the primary's."""
    return [s.label for s in outcome.sensitivity if sensitivity_status(s, outcome) == CHANGES]


def not_assessed(outcome: OutcomeResult) -> list[str]:
    """Labels of the sensitivity analyses that ran but could not be assessed."""
    return [s.label for s in outcome.sensitivity if sensitivity_status(s, outcome) == NOT_ASSESSED]


def probability_bar(outcome: OutcomeResult, threshold: float = 0.8) -> ProbabilityBar | None:
    p = outcome.probabilities
    if (
        p is None
        or not has_effect(outcome)
        or not all(_finite(x) for x in (p.meaningful_benefit, p.negligible, p.meaningful_harm))
    ):
        return None
    return ProbabilityBar(
        benefit=float(p.meaningful_benefit),
        negligible=float(p.negligible),
        harm=float(p.meaningful_harm),
        mcid_text=mcid_text(outcome),
        threshold=threshold,
    )


def arm_means(outcome: OutcomeResult) -> dict[str, float | None]:
    """Observed mean per arm over analysed days (from the period summaries), per 28 days for
    binary and count outcomes."""
    scale = exposure_factor(outcome.kind)
    out: dict[str, float | None] = {}
    for arm in ("A", "B"):
        pairs = [
            (float(p.mean), p.days_analysed)
            for p in outcome.periods
            if p.arm == arm and p.mean is not None and p.days_analysed
        ]
        n = sum(k for _, k in pairs)
        out[arm] = sum(m * k for m, k in pairs) / n * scale if n else None
    return out


# ------------------------------------------------------------------------------------------
# Page 1
# ------------------------------------------------------------------------------------------


def arm_names(protocol: TrialProtocol) -> tuple[str, str]:
    """(B, A) names as the report uses them (control characters made visible: a report from a
    CSV may name the arms after the data's values)."""
    return fmt.clean(protocol.intervention.name), fmt.clean(protocol.comparator.name)


def design_line(protocol: TrialProtocol) -> str:
    d = protocol.design
    scheme = {
        "pairwise": "randomized pairwise design (each block AB or BA at random)",
        "counterbalanced": "randomized counterbalanced design (ABBA or BAAB at random)",
        "restricted": f"restricted randomized design (no more than {d.max_run} periods in a row "
        "on one arm)",
        "fixed": "fixed alternating design (ABAB…, not randomized)",
    }[d.scheme]
    parts = [
        f"{d.blocks} blocks × 2 periods of {fmt.days(d.period_days)} ({d.n_periods} periods)",
        f"{fmt.days(d.run_in_days)} run-in" if d.run_in_days else "no run-in",
        f"{fmt.days(d.washout_days)} physical washout" if d.washout_days else "no physical washout",
        f"first {fmt.days(d.analytic_washout_days)} of each period not analysed"
        if d.analytic_washout_days
        else "all period days analysed",
        "blinded" if protocol.blinding.blinded else "open (not blinded)",
    ]
    return f"{scheme[0].upper()}{scheme[1:]}: " + "; ".join(parts) + "."


def adherence_counts(record: TrialRecord, through: dt.date) -> dict[str, int]:
    period_dates = {d.date for d in record.period_days(through)}
    counts = {"yes": 0, "partial": 0, "no": 0, "missing": 0}
    took = {a.date: a.took for a in record.adherence if a.date in period_dates}
    for day in period_dates:
        counts[took.get(day, "missing")] += 1
    return counts


def adherence_sentence(record: TrialRecord, through: dt.date) -> str:
    c = adherence_counts(record, through)
    total = sum(c.values())
    if not total:
        return "No treatment-period days yet."
    recorded = total - c["missing"]
    if not recorded:
        return f"Adherence was not recorded on any of the {total} treatment-period days."
    text = (
        f"Took the assigned treatment fully on {c['yes']} of {recorded} recorded treatment-period "
        f"days ({fmt.percent(c['yes'] / recorded)}); partly on {c['partial']}, not at all on "
        f"{c['no']}."
    )
    if c["missing"]:
        text += f" Not recorded on {c['missing']} of {total} days."
    return text


def completeness_sentence(record: TrialRecord, result: AnalysisResult, through: dt.date) -> str:
    primary = record.protocol.primary_outcome
    days = record.period_days(through)
    logged = record.logged_dates(primary.name)
    n_logged = sum(1 for d in days if d.date in logged)
    if not days:
        return "No treatment-period days yet."
    text = (
        f"{title(primary)} was logged on {n_logged} of {len(days)} treatment-period days "
        f"({fmt.percent(n_logged / len(days))})"
    )
    try:
        analysed = result.outcome(primary.name).n_analysed
        text += f"; {analysed} days entered the primary analysis"
    except KeyError:
        pass
    planned = sum(1 for d in record.schedule.days() if d.phase == "period")
    if through < record.schedule.end:
        text += f" (data through {fmt.date(through)}; {planned} treatment-period days planned)"
    return text + "."


def serious_sentence(record: TrialRecord, through: dt.date) -> str:
    serious = [e for e in record.adverse_events if e.serious]
    others = len(record.adverse_events) - len(serious)
    if not serious:
        tail = f" {others} non-serious adverse event{'s' if others != 1 else ''} (see Harms)."
        return "No serious adverse events." + (tail if others else " No adverse events recorded.")
    items = []
    for e in serious:
        day = record.schedule.day(e.date)
        where = (
            f"period {day.period}, {record.protocol.arm(day.arm).name}"
            if day is not None and day.arm
            else (day.phase.replace("_", "-") if day is not None else "outside the schedule")
        )
        items.append(f"{fmt.date(e.date)} ({where}): {e.description}, {e.severity}")
    return (
        f"{len(serious)} serious adverse event{'s' if len(serious) != 1 else ''}: "
        + "; ".join(items)
        + "."
    )


def primary_result(result: AnalysisResult, protocol: TrialProtocol) -> OutcomeResult | None:
    for o in result.outcomes:
        if o.primary:
            return o
    try:
        return result.outcome(protocol.primary_outcome.name)
    except KeyError:
        return None


def headline(record: TrialRecord, result: AnalysisResult) -> Headline:
    protocol = record.protocol
    arm_b, arm_a = arm_names(protocol)
    primary = primary_result(result, protocol)
    spec = protocol.primary_outcome
    if primary is None:
        return Headline(
            outcome=title(spec),
            question=spec.question,
            effect="not estimated",
            effect_plain="",
            relative="",
            bar=None,
            verdict=f"{NO_VERDICT} for {title(spec).lower()}: the primary outcome was not "
            "analysed.",
            withheld_reason="the primary outcome was not analysed",
            mcid=mcid_text(spec),
        )
    withheld = verdict_class(primary) == "withheld"
    threshold = protocol.analysis.decision_threshold
    return Headline(
        outcome=title(primary),
        question=spec.question,
        effect=effect_text(primary),
        # one sentence reconciling P(any benefit), P(≥ MCID) and the interval (empty if withheld)
        effect_plain=reading(primary, arm_b, arm_a, threshold=threshold),
        relative="" if withheld else relative_text(primary),
        bar=None
        if verdict_class(primary) == "withheld"
        else probability_bar(primary, protocol.analysis.decision_threshold),
        verdict=verdict_sentence(primary, arm_b, arm_a, protocol.analysis.decision_threshold),
        withheld_reason=(primary.withheld_reason or "")
        if verdict_class(primary) == "withheld"
        else "",
        mcid=mcid_text(primary),
    )


def front_page(record: TrialRecord, result: AnalysisResult, through: dt.date) -> FrontPage:
    protocol = record.protocol
    arm_b, arm_a = arm_names(protocol)
    sup = protocol.supervision
    facts = [
        ("Patient (pseudonym)", protocol.patient),
        ("Supervising clinician", sup.clinician or "not named in the protocol"),
        ("Condition", protocol.condition),
        ("Intervention (B)", protocol.intervention.describe()),
        ("Comparator (A)", protocol.comparator.describe()),
        (
            "Dates",
            f"started {fmt.date(record.schedule.start)}; planned end "
            f"{fmt.date(record.schedule.end)}; data through {fmt.date(through)}",
        ),
        ("Report", f"{'INTERIM, ' if result.interim else ''}created {fmt.date(result.created_at)}"),
    ]
    notes: list[str] = []
    if record.integrity is not None and not record.integrity.ok:
        notes.append(f"{record.integrity_line()}.")
    if result.interim:
        notes.append(
            "INTERIM: the trial is not finished. Early results are less certain and can change; "
            "do not act on them unless a stopping rule or safety concern requires it."
        )
    stop_at, stop_reason = record.stop_info()
    if stop_at or stop_reason:
        notes.append(
            f"The trial was stopped early on {stop_at}: {stop_reason or 'no reason given'}."
        )
    if protocol.blinding.blinded:
        codes = record.schedule.codes
        notes.append(
            f"Blinded trial: the allocation ({codes.get('B', '?')} = {arm_b}, "
            f"{codes.get('A', '?')} = {arm_a}) was revealed for this analysis."
        )
    for entry in record.stopping_rule_timeline():
        what = (entry.description or entry.name.replace("_", " ")).rstrip(". ")
        last = entry.reviews[-1] if entry.reviews else None
        review = (
            f"reviewed by {last.by} on {fmt.date(last.at)}: {last.decision}"
            if last is not None
            else "NOT reviewed by a clinician"
        )
        notes.append(
            f"Stopping rule met on {fmt.date(entry.met_on)}: {what} ({entry.reason}); {review}."
        )
    for name, reason in result.skipped:
        notes.append(f"{fmt.clean(name)} was not analysed: {fmt.clean(reason).rstrip('.')}.")
    amendments = record.amendments()
    if amendments:
        notes.append(
            f"The protocol was amended {len(amendments)} time{'s' if len(amendments) != 1 else ''} "
            "after it was locked (see Deviations and amendments)."
        )
    if record.deviations:
        notes.append(
            f"{len(record.deviations)} deviation{'s' if len(record.deviations) != 1 else ''} "
            "from the plan (see Deviations and amendments)."
        )
    primary = primary_result(result, protocol)
    if primary is not None and verdict_class(primary) != "withheld":
        changed = [label.lower() for label in changed_under(primary)]
        if changed:
            notes.append(
                f"{title(primary)}: the verdict changes under the {join(changed)} sensitivity "
                "analysis; the evidence is not yet strong enough to be robust."
            )
    for o in result.outcomes:
        diag = o.diagnostics
        if not diag.passed and verdict_class(o) != "withheld":
            notes.append(f"{title(o)}: sampler diagnostics flagged ({'; '.join(diag.problems)}).")
    others = tuple(
        (title(o), effect_text(o), verdict_short(o, protocol.analysis.decision_threshold))
        for o in result.outcomes
        if not o.primary
    )
    return FrontPage(
        title=f"N-of-1 trial of {arm_b} vs {arm_a} for {protocol.condition}",
        subtitle=protocol.title,
        facts=tuple(facts),
        design=design_line(protocol),
        headline=headline(record, result),
        adherence=adherence_sentence(record, through),
        completeness=completeness_sentence(record, result, through),
        serious_events=serious_sentence(record, through),
        other_outcomes=others,
        notes=tuple(notes),
    )


def outcome_spec(protocol: TrialProtocol, name: str) -> OutcomeSpec | None:
    try:
        return protocol.outcome(name)
    except KeyError:
        return None


def join(items: Sequence[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
