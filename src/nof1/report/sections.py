"""The report after page 1: one section per group of CENT 2015 items, in checklist order.

Each builder returns a :class:`~nof1.report.view.Section` of finished sentences, tables and
figure references; figures themselves are drawn by :mod:`nof1.report.figure` under the keys used
here (``timeline``, ``series-<outcome>``, ``posterior-<outcome>``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from nof1.report import fmt
from nof1.report.check import predictive_check_table
from nof1.report.context import (
    CHANGES,
    DISCLAIMER,
    NO_VERDICT,
    NOT_ASSESSED,
    NOT_RUN,
    SAME,
    TrialRecord,
    adherence_counts,
    arm_means,
    arm_names,
    changed_under,
    effect_plain,
    effect_text,
    has_effect,
    mcid_text,
    not_assessed,
    outcome_spec,
    reading,
    relative_text,
    sensitivity_status,
    sensitivity_verdict,
    title,
    units,
    verdict_class,
    verdict_sentence,
)
from nof1.report.plain import patient_summary
from nof1.report.view import (
    Block,
    Bullets,
    Facts,
    Figure,
    Heading,
    Paragraph,
    Section,
    Table,
)
from nof1.summary import AnalysisResult, OutcomeResult
from nof1.vocab import PER_EXPOSURE_KINDS, exposure_factor

SCHEME_METHOD = {
    "pairwise": "each block of two periods was AB or BA with equal probability",
    "counterbalanced": "each pair of blocks was ABBA or BAAB with equal probability",
    "restricted": "one sequence was drawn uniformly among all balanced sequences with no more "
    "than {max_run} periods in a row on one arm",
    "fixed": "not randomized: the periods alternated ABAB… in a fixed order",
}


def build_sections(
    record: TrialRecord, result: AnalysisResult, through: dt.date
) -> tuple[Section, ...]:
    sections = [
        background(record),
        design(record, result),
        conduct(record, result, through),
        adherence(record, result, through),
    ]
    for outcome in sorted(result.outcomes, key=lambda o: not o.primary):
        sections.append(outcome_section(record, outcome))
    sections += [
        harms(record),
        methods(record, result),
        sensitivity(record, result),
        planning(record),
        limitations(record, result),
        patient_summary(record, result),
        about(record, result, through),
    ]
    return tuple(sections)


# ------------------------------------------------------------------------------------------


def background(record: TrialRecord) -> Section:
    p = record.protocol
    purpose = (
        "Clinical care: the trial was run to guide this patient's own treatment, not as research."
        if p.purpose == "clinical_care"
        else f"Research: ethics approval {p.ethics_approval or 'not recorded'}."
    )
    blocks: list[Block] = [
        Paragraph(
            p.rationale
            or "The evidence from group trials does not say whether this patient benefits; "
            "randomized alternating periods can answer that for one person."
        ),
        Paragraph(
            "An N-of-1 trial fits when the condition is chronic and fairly stable, the treatment "
            "acts and wears off within days to weeks, and the outcome can be measured often. "
            "Comparing randomized periods within one person removes the guesswork of "
            "before-and-after impressions."
        ),
        Facts(
            (
                ("Diagnosis", p.condition),
                (
                    "Concurrent therapies",
                    "; ".join(p.concurrent_therapies) or "none recorded in the protocol",
                ),
                ("Purpose", purpose),
            )
        ),
    ]
    return Section("background", "Why an N-of-1 trial", tuple(blocks), cent="2, 3, 4")


def design(record: TrialRecord, result: AnalysisResult) -> Section:
    p, s = record.protocol, record.schedule
    d = p.design
    arm_b, arm_a = arm_names(p)
    method = SCHEME_METHOD[d.scheme].format(max_run=d.max_run)
    facts = [
        (
            "Intervention (B)",
            p.intervention.describe()
            + (f". {p.intervention.notes}" if p.intervention.notes else ""),
        ),
        (
            "Comparator (A)",
            p.comparator.describe() + (f". {p.comparator.notes}" if p.comparator.notes else ""),
        ),
        ("Scheme", f"{d.scheme}: {method}"),
        (
            "Blocks and periods",
            f"{d.blocks} blocks, {d.n_periods} periods of {fmt.days(d.period_days)}",
        ),
        ("Run-in", fmt.days(d.run_in_days) + " of diary before the first period"),
        ("Physical washout", fmt.days(d.washout_days) + " between periods (no treatment)"),
        (
            "Analytic washout",
            f"first {fmt.days(d.analytic_washout_days)} of each period left out of the primary "
            "analysis (carry-over and onset)",
        ),
        (
            "Randomization",
            "documented SHA-256 generator: the same seed always gives the same "
            "schedule, so anyone can re-create and check it",
        ),
        ("Seed", str(s.seed)),
        ("Sequence", " ".join(s.sequence)),
        ("Schedule fingerprint", s.fingerprint()),
        ("Protocol hash (SHA-256)", record.protocol_hash(result)),
        ("Locked", record.lock_line()),
    ]
    if p.blinding.blinded:
        codes = s.codes
        facts.append(
            (
                "Blinding",
                "blinded with coded packs held by "
                f"{p.blinding.allocation_holder or 'a third party'}; "
                f"the allocation was revealed for this analysis: {codes.get('A', '?')} = "
                f"{arm_a} (A), {codes.get('B', '?')} = {arm_b} (B)",
            )
        )
        reveals = () if record.lock_info is None else record.lock_info.reveals
        facts.append(
            (
                "Revealed to the patient",
                "; ".join(f"{fmt.date(r.at)} by {r.by}" for r in reveals) or "not recorded",
            )
        )
    else:
        facts.append(("Blinding", "open: the patient knew which treatment each period used"))
    sup = p.supervision
    facts.append(
        (
            "Supervision",
            (sup.clinician or "no clinician named")
            + (f", signed off {fmt.date(sup.signed_off)}" if sup.signed_off else "")
            + (" (required)" if p.needs_supervision else ""),
        )
    )
    rows = tuple(
        (
            str(per.index),
            str(per.block),
            f"{per.arm} – {p.arm(per.arm).name}",
            fmt.date(per.start),
            fmt.date(per.end),
            fmt.date(per.analysed_start),
        )
        for per in s.periods
    )
    blocks: list[Block] = [
        Facts(tuple(facts)),
        Table(
            ("Period", "Block", "Arm", "Start", "End", "Analysed from"),
            rows,
            caption="Planned periods",
            widths=(1, 1, 3, 2, 2, 2),
        ),
        Figure(
            "timeline",
            "Timeline: planned periods (top) and what was followed (bottom). Hatched: analytic "
            "washout days; gaps: days without a diary entry; markers: adverse events and days the "
            "treatment was not taken.",
            "Timeline of planned and followed periods",
        ),
    ]
    return Section("design", "Design, randomization and blinding", tuple(blocks), cent="5, 8–11")


def _completion(record: TrialRecord) -> str:
    """'completed as planned' only when no stopping rule was met; else how it was handled."""
    entries = record.stopping_rule_timeline()
    if not entries:
        return "completed as planned"
    unreviewed = [e.name for e in entries if not e.reviewed]
    if unreviewed:
        return (
            f"completed, but a stopping rule was met and not reviewed by a clinician "
            f"({', '.join(unreviewed)})"
        )
    return "completed after every stopping rule met was reviewed (see the timeline below)"


def _stopping_rule_timeline(record: TrialRecord) -> list[Block]:
    """Stopping rules met: met on, why, reviewed by, decision (CENT 14)."""
    entries = record.stopping_rule_timeline()
    if not entries:
        return []
    rows: list[tuple[str, ...]] = []
    for e in entries:
        met_on = fmt.date(e.met_on)
        if not e.reviews:
            rows.append((e.name, met_on, e.reason, "not reviewed", "–"))
        for r in e.reviews:
            decision = r.decision + (f": {r.note}" if r.note else "")
            rows.append((e.name, met_on, e.reason, f"{r.by}, {fmt.date(r.at)}", decision))
    return [
        Heading("Stopping-rule timeline"),
        Table(
            ("Rule", "Met on", "Why", "Reviewed by", "Decision"),
            tuple(rows),
            widths=(3, 2, 5, 3, 4),
        ),
    ]


def conduct(record: TrialRecord, result: AnalysisResult, through: dt.date) -> Section:
    blocks: list[Block] = []
    s = record.schedule
    last_logged = max((o.date for o in record.observations), default=None)
    facts = [
        ("Planned", f"{fmt.date(s.start)} to {fmt.date(s.end)} ({fmt.days(s.total_days)})"),
        ("Data through", fmt.date(through)),
        ("Last diary entry", fmt.date(last_logged)),
    ]
    stop_at, stop_reason = record.stop_info()
    if stop_at or stop_reason:
        facts.append(("Early stop", f"{stop_at}: {stop_reason or 'no reason given'}"))
    elif result.interim:
        facts.append(("Status", "ongoing: this is an interim report"))
    else:
        facts.append(("Status", _completion(record)))
    met = record.stopping_rules_met()
    if met:
        facts.append(("Stopping rules met", "; ".join(met)))
    blocks.append(Facts(tuple(facts)))
    blocks.extend(_stopping_rule_timeline(record))
    blocks.append(Heading("Deviations from the plan"))
    if record.deviations:
        blocks.append(Bullets(tuple(record.deviations)))
    else:
        blocks.append(Paragraph("None recorded."))
    blocks.append(Heading("Protocol amendments"))
    amendments = record.amendments()
    if amendments:
        blocks.append(
            Table(
                ("Date", "Sections changed", "Reason"),
                tuple(
                    (
                        fmt.date(a.at),
                        ", ".join(a.sections) or "–",
                        a.reason or "no reason given",
                    )
                    for a in amendments
                ),
                widths=(2, 3, 6),
            )
        )
    else:
        blocks.append(Paragraph("None: the analysis followed the protocol as locked."))
    for w in record.warnings:
        blocks.append(Paragraph(w, tone="warning"))
    return Section(
        "conduct", "Deviations, amendments and stopping", tuple(blocks), cent="12, 13, 14"
    )


def adherence(record: TrialRecord, result: AnalysisResult, through: dt.date) -> Section:
    p = record.protocol
    primary = p.primary_outcome
    took = {a.date: a.took for a in record.adherence}
    logged = record.logged_dates(primary.name)
    rows = []
    for per in record.schedule.periods:
        if per.start > through:
            rows.append(
                (str(per.index), f"{per.arm} – {p.arm(per.arm).name}", "not yet", "", "", "", "")
            )
            continue
        dates = [per.start + dt.timedelta(days=i) for i in range(per.days)]
        dates = [x for x in dates if x <= through]
        counts = {
            k: sum(1 for x in dates if took.get(x, "missing") == k)
            for k in ("yes", "partial", "no", "missing")
        }
        n_logged = sum(1 for x in dates if x in logged)
        rows.append(
            (
                str(per.index),
                f"{per.arm} – {p.arm(per.arm).name}",
                str(len(dates)),
                str(counts["yes"]),
                str(counts["partial"] + counts["no"]),
                str(counts["missing"]),
                f"{n_logged} ({fmt.percent(n_logged / len(dates)) if dates else '–'})",
            )
        )
    c = adherence_counts(record, through)
    adherent = [
        s
        for o in result.outcomes
        for s in o.sensitivity
        if s.label.lower() == "adherent days only" and s.effect is not None
    ]
    per_protocol = (
        "an adherent-days-only analysis is among the sensitivity analyses."
        if adherent
        else "no adherent-days-only analysis was run (see Sensitivity analyses)."
    )
    return Section(
        "adherence",
        "Adherence and data completeness",
        (
            Table(
                (
                    "Period",
                    "Arm",
                    "Days",
                    "Taken",
                    "Partly/not taken",
                    "Not recorded",
                    f"{title(primary)} logged",
                ),
                tuple(rows),
                widths=(1.2, 3, 1.2, 1.2, 2, 1.8, 2.4),
            ),
            Paragraph(
                f"Over all treatment-period days so far: taken {c['yes']}, partly {c['partial']}, "
                f"not taken {c['no']}, not recorded {c['missing']}. The primary analysis uses all "
                "analysed days as randomized (intention to treat); " + per_protocol,
                tone="note",
            ),
        ),
        cent="13, 15",
    )


def outcome_section(record: TrialRecord, outcome: OutcomeResult) -> Section:
    p = record.protocol
    arm_b, arm_a = arm_names(p)
    spec = outcome_spec(p, outcome.name)
    blocks: list[Block] = []
    facts = [
        ("Question asked daily", spec.question if spec else "–"),
        ("Kind", f"{outcome.kind}{' (primary outcome)' if outcome.primary else ''}"),
        ("Smallest difference that matters (MCID)", mcid_text(outcome)),
        ("Days analysed", str(outcome.n_analysed)),
    ]
    withheld = verdict_class(outcome) == "withheld"
    if has_effect(outcome):
        label = f"Effect, {arm_b} − {arm_a} (median, 95% CrI)"
        if withheld:
            label += ": unreliable, no verdict"
        facts.append((label, effect_text(outcome)))
        rel = relative_text(outcome)
        if rel:
            facts.append(("Relative effect", rel))
        means = arm_means(outcome)
        if means["A"] is not None or means["B"] is not None:
            u = units(outcome) if outcome.kind in ("binary", "count") else units(outcome)
            d = fmt.digits_for(outcome.kind, outcome.mcid)
            facts.append(
                (
                    "Observed means (analysed days)",
                    f"{arm_a} {fmt.number(means['A'], d)}, {arm_b} {fmt.number(means['B'], d)}"
                    f"{' ' + u if u else ''}",
                )
            )
        pr = outcome.probabilities
        t = p.analysis.decision_threshold
        facts.append(
            (
                "Probabilities",
                f"meaningful benefit {fmt.percent(pr.meaningful_benefit, t)}, negligible "
                f"{fmt.percent(pr.negligible, t)}, meaningful harm "
                f"{fmt.percent(pr.meaningful_harm, t)}; "
                f"any benefit {fmt.percent(pr.benefit)}",
            )
        )
    blocks.append(Facts(tuple(facts)))
    blocks.append(
        Paragraph(
            verdict_sentence(outcome, arm_b, arm_a, p.analysis.decision_threshold),
            tone="warning" if verdict_class(outcome) == "withheld" else "normal",
        )
    )
    plain = "" if withheld else effect_plain(outcome, arm_b, arm_a)
    if plain:
        blocks.append(Paragraph(plain + "."))
    said = reading(outcome, arm_b, arm_a, threshold=p.analysis.decision_threshold)
    if said:
        blocks.append(Paragraph(said + "."))
    blocks.append(
        Figure(
            f"series-{outcome.name}",
            f"{title(outcome)} day by day. Background: periods by arm; hatched: analytic washout "
            "days (not analysed); horizontal lines: period means of analysed days.",
            f"Daily {title(outcome)} with periods shaded by arm",
        )
    )
    per28 = outcome.kind in PER_EXPOSURE_KINDS
    mean_col = (
        f"Mean ({units(outcome)})"
        if per28
        else (f"Mean ({units(outcome)})" if units(outcome) else "Mean")
    )
    d = fmt.digits_for(outcome.kind, outcome.mcid)
    rows = tuple(
        (
            str(ps.period),
            str(ps.block),
            f"{ps.arm} – {p.arm(ps.arm).name}",
            str(ps.days_logged),
            str(ps.days_analysed),
            fmt.number(None if ps.mean is None else ps.mean * exposure_factor(outcome.kind), d),
        )
        for ps in outcome.periods
    )
    blocks.append(
        Table(
            ("Period", "Block", "Arm", "Days logged", "Days analysed", mean_col),
            rows,
            caption="Per-period summary (analysed days)",
            note="Periods with fewer than "
            f"{p.analysis.min_days_per_period} analysed days carry little information."
            if rows
            else "No period had analysable data.",
            widths=(1, 1, 3, 1.6, 1.8, 2.6),
        )
    )
    if has_effect(outcome) and outcome.effect_draws is not None and len(outcome.effect_draws):
        blocks.append(
            Figure(
                f"posterior-{outcome.name}",
                f"Posterior distribution of the effect ({arm_b} − {arm_a}) with the MCID lines: "
                "the area beyond each line is the probability of a meaningful benefit or harm.",
                f"Posterior density of the effect on {title(outcome)}",
            )
        )
    if outcome.model_description:
        blocks.append(Paragraph(f"Model: {outcome.model_description}", tone="note"))
    heading = f"Outcome: {title(outcome)}{' (primary)' if outcome.primary else ''}"
    section_id = f"outcome-{fmt.clean(outcome.name)}"
    return Section(section_id, heading, tuple(blocks), cent="6a, 16, 17")


def harms(record: TrialRecord) -> Section:
    p = record.protocol
    rows = []
    per_arm = {"A": 0, "B": 0, "other": 0}
    for e in sorted(record.adverse_events, key=lambda e: e.date):
        day = record.schedule.day(e.date)
        if day is not None and day.arm:
            where = f"{day.period} ({day.arm} – {p.arm(day.arm).name})"
            per_arm[day.arm] += 1
        else:
            where = day.phase.replace("_", "-") if day is not None else "outside schedule"
            per_arm["other"] += 1
        rows.append(
            (
                fmt.date(e.date),
                where,
                e.description,
                e.severity,
                "yes" if e.serious else "no",
                e.action or "–",
            )
        )
    blocks: list[Block] = []
    if rows:
        blocks.append(
            Table(
                ("Date", "Period", "Event", "Severity", "Serious", "Action"),
                tuple(rows),
                widths=(2, 2.6, 3.4, 1.6, 1.3, 2.6),
            )
        )
        blocks.append(
            Paragraph(
                f"Events on {p.intervention.name} (B): {per_arm['B']}; on {p.comparator.name} (A): "
                f"{per_arm['A']}; outside treatment periods: {per_arm['other']}."
            )
        )
    else:
        blocks.append(Paragraph("No adverse events were recorded."))
    if record.protocol.stopping_rules:
        blocks.append(Heading("Stopping rules agreed in the protocol"))
        blocks.append(
            Bullets(tuple(r.description or r.kind.replace("_", " ") for r in p.stopping_rules))
        )
    return Section("harms", "Harms", tuple(blocks), cent="19")


#: How a fit was computed, by ``Diagnostics.engine``.
ENGINES = {
    "nuts": "Markov chain Monte Carlo (NUTS)",
    "grid": "grid integration over the variance parameters (independent draws)",
    "importance": "importance sampling from a Laplace approximation (independent draws)",
}


def model_line(outcome: OutcomeResult) -> str:
    """The model fitted for one outcome, as the analysis recorded it, and how it was fitted."""
    if not outcome.model_description:
        reason = fmt.clean(outcome.withheld_reason or "no model was fitted")
        return f"not fitted: {reason.rstrip('.')}"
    engine = outcome.diagnostics.engine
    return f"{outcome.model_description}; fitted by {ENGINES.get(engine, engine)}"


def _sci(value: float) -> str:
    """``1.2e-03``; ``–`` for NaN (never ``nan``)."""
    return f"{value:.1e}" if math.isfinite(value) else fmt.EN_DASH


def methods(record: TrialRecord, result: AnalysisResult) -> Section:
    a = record.protocol.analysis
    blocks: list[Block] = [
        Paragraph(
            "Each outcome was analysed with its own Bayesian model of the daily values, with the "
            "treatment arm as the effect (B − A). The table below gives, for each outcome, the "
            "model that was actually fitted (likelihood, day-to-day dependence, period terms, "
            "time trend and priors) and how it was fitted, as recorded by the analysis."
            f" The decision threshold was {fmt.percent(a.decision_threshold)}: a verdict is "
            "given only when one of meaningful benefit, negligible difference or meaningful harm "
            "reaches it."
        )
    ]
    models = tuple((title(o), model_line(o)) for o in result.outcomes)
    if models:
        blocks.append(Facts(models))
    rows = []
    grid_rows = []
    importance_rows = []
    for o in result.outcomes:
        g = o.diagnostics
        if g.engine == "importance":  # independent draws: R-hat does not apply
            importance_rows.append(
                (
                    title(o),
                    fmt.number(g.importance_khat, 2),
                    fmt.number(g.importance_ess, 0),
                    f"{g.draws:,}",
                    str(g.attempts),
                    "passed" if g.passed else "failed: " + "; ".join(g.problems),
                )
            )
            continue
        if g.engine == "grid":  # independent draws: R-hat/ESS do not apply
            grid_rows.append(
                (
                    title(o),
                    f"{g.grid_points:,}",
                    _sci(g.grid_change),
                    _sci(g.grid_edge_mass),
                    f"{g.draws:,}",
                    str(g.attempts),
                    "passed" if g.passed else "failed: " + "; ".join(g.problems),
                )
            )
            continue
        rows.append(
            (
                title(o),
                fmt.number(g.rhat, 3),
                fmt.number(g.ess_bulk, 0),
                fmt.number(g.ess_tail, 0),
                str(g.divergences),
                f"{g.chains} × {g.draws}",
                str(g.attempts),
                "passed" if g.passed else "failed: " + "; ".join(g.problems),
            )
        )
    if grid_rows:
        blocks.append(
            Table(
                ("Outcome", "Grid points", "Change", "Edge mass", "Draws", "Fits", "Result"),
                tuple(grid_rows),
                caption="Grid integration diagnostics",
                note="Continuous outcomes: the model's log density is integrated over its "
                "variance parameters on a grid, refined until the effect's mean and SD move by "
                "at most 0.01 posterior SD (Change) with at most 0.0001 of the mass on the "
                "grid's edge; the draws are independent, so R-hat and ESS do not apply.",
                widths=(2.6, 1.5, 1.4, 1.4, 1.4, 0.9, 3.9),
            )
        )
    if importance_rows:
        blocks.append(
            Table(
                ("Outcome", "Pareto k̂", "ESS", "Draws", "Fits", "Result"),
                tuple(importance_rows),
                caption="Importance sampling diagnostics",
                note="Count, binary and ordinal outcomes (period intercepts integrated out): "
                "8,000 points from a Student-t approximation at the posterior mode, weighted by "
                "the model's exact posterior density (Pareto-smoothed). Policy: Pareto k̂ ≤ 0.7 "
                "and an ESS of the weights ≥ 400; when it fails, the outcome is sampled with NUTS "
                "instead (and then appears in the sampler table).",
                widths=(2.6, 1.5, 1.4, 1.4, 0.9, 4.2),
            )
        )
    if rows:
        blocks.append(
            Table(
                (
                    "Outcome",
                    "R-hat (max)",
                    "ESS bulk",
                    "ESS tail",
                    "Divergences",
                    "Chains × draws",
                    "Fits",
                    "Result",
                ),
                tuple(rows),
                caption="Sampler diagnostics",
                note="Policy: R-hat ≤ 1.01, bulk and tail ESS ≥ 400, no divergences. When a fit "
                "fails, it is re-run once with longer sampling; if it still fails, the verdict is "
                "withheld.",
                widths=(2.6, 1.4, 1.3, 1.3, 1.5, 1.7, 0.9, 2.4),
            )
        )
    blocks.append(predictive_check_table(result.outcomes))
    return Section("methods", "Statistical methods and diagnostics", tuple(blocks), cent="12a, 17")


def _verdict_word(verdict: str) -> str:
    return verdict.replace("_", " ")


#: The "Verdict changes" column, by :func:`~nof1.report.context.sensitivity_status`.
STATUS_WORDS = {
    SAME: "no",
    CHANGES: "yes",
    NOT_ASSESSED: "could not be assessed",
    NOT_RUN: "not run",
}


def robustness_lines(o: OutcomeResult) -> list[str]:
    """Whether the verdict is robust: a change only between completed analyses."""
    if not o.sensitivity:
        return ["No prior or adherence sensitivity analyses were run for this outcome."]
    if verdict_class(o) == "withheld":
        return [
            "The primary verdict was withheld, so the sensitivity analyses could not be assessed "
            "against it."
        ]
    lines = []
    changed = changed_under(o)
    failed = not_assessed(o)
    completed = [s for s in o.sensitivity if sensitivity_status(s, o) in (SAME, CHANGES)]
    if changed:
        lines.append(
            "The verdict changes under: "
            + ", ".join(changed)
            + ". The evidence is not yet strong enough to be robust; read the verdict with "
            "caution."
        )
    elif completed:
        lines.append(
            "The verdict is the same under every sensitivity analysis that could be assessed."
            if failed
            else "The verdict is the same under every sensitivity analysis."
        )
    if failed:
        lines.append(
            "Could not be assessed (the fit failed its reliability checks, so it neither "
            "confirms nor changes the verdict): " + ", ".join(failed) + "."
        )
    return lines


def sensitivity(record: TrialRecord, result: AnalysisResult) -> Section:
    blocks: list[Block] = []
    t = record.protocol.analysis.decision_threshold
    for o in result.outcomes:
        d = fmt.digits_for(o.kind, o.mcid)
        rows = [
            (
                "Primary analysis",
                f"{fmt.signed(o.effect.median, d)} ({fmt.interval(*o.effect.ci95, digits=d)})"
                if has_effect(o)
                else "not estimated",
                fmt.percent(o.probabilities.meaningful_benefit, t) if has_effect(o) else "–",
                NO_VERDICT.lower() if verdict_class(o) == "withheld" else _verdict_word(o.verdict),
                "–",
            )
        ]
        for s in o.sensitivity:
            eff = (
                f"{fmt.signed(s.effect.median, d)} ({fmt.interval(*s.effect.ci95, digits=d)})"
                if s.effect is not None
                else "–"
            )
            rows.append(
                (
                    s.label + (f" ({s.note})" if s.note else ""),
                    eff,
                    fmt.percent(s.probabilities.meaningful_benefit, t) if s.probabilities else "–",
                    sensitivity_verdict(s),
                    STATUS_WORDS[sensitivity_status(s, o)],
                )
            )
        blocks.append(Heading(title(o)))
        blocks.append(
            Table(
                (
                    "Analysis",
                    f"Effect, median (95% CrI), {units(o) or 'units'}",
                    "P(meaningful benefit)",
                    "Verdict",
                    "Verdict changes",
                ),
                tuple(rows),
                widths=(3.4, 3.2, 1.8, 2, 1.4),
            )
        )
        extra = []
        u = units(o)
        r = o.randomization
        if r is not None:
            if r.p_value is None:
                extra.append(f"Randomization test: not applicable ({r.note or 'not randomized'}).")
            else:
                extra.append(
                    f"Randomization test (design-based, {r.scheme}): observed difference of period "
                    f"means {fmt.signed(r.statistic, d)} {u}, p = {fmt.p_value(r.p_value)} over "
                    f"{r.n_allocations} "
                    f"{'possible allocations (exact)' if r.exact else 'sampled allocations'}."
                    + (f" {r.note}" if r.note else "")
                )
        q = o.paired
        if q is not None:
            ci = f" (95% CI {fmt.interval(*q.ci95, digits=d)})" if q.ci95 is not None else ""
            extra.append(
                f"Paired comparison of period means within {q.n_blocks} blocks: mean difference "
                f"{fmt.signed(q.mean_difference, d)} {u}{ci}, p = {fmt.p_value(q.p_value)}."
            )
        extra.extend(robustness_lines(o))
        if extra:
            blocks.append(Bullets(tuple(extra)))
    if not result.outcomes:
        blocks.append(Paragraph("No outcome was analysed."))
    return Section("sensitivity", "Sensitivity analyses", tuple(blocks), cent="12b, 18")


def _plain(value: Any) -> str:
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}" if math.isfinite(value) else fmt.EN_DASH
    return str(value)


def planning(record: TrialRecord) -> Section:
    plan = record.protocol.planning
    if not plan:
        return Section(
            "planning",
            "Planning",
            (
                Paragraph(
                    "The protocol records no planning calculation. The number of blocks was "
                    "agreed with the clinician; “nof1 plan” estimates how likely a design is to "
                    "reach a verdict."
                ),
            ),
            cent="7a",
        )
    scalars = [(k, v) for k, v in plan.items() if not _is_rows(v)]
    blocks: list[Block] = [
        Paragraph(
            "How the design was chosen before the trial, by simulating it under assumed effects "
            "(recorded in the protocol by “nof1 plan”). Assurance is the probability that the "
            "design reaches a meaningful-benefit verdict if the assumed effect is true; false "
            "benefit is that probability when there is no effect."
        ),
        Facts(tuple((str(k).replace("_", " ").capitalize(), _plain(v)) for k, v in scalars)),
    ]
    for key, rows in plan.items():
        if _is_rows(rows):
            columns = list(dict.fromkeys(c for row in rows for c in row))
            blocks.append(
                Table(
                    tuple(c.replace("_", " ").capitalize() for c in columns),
                    tuple(tuple(_plain(row.get(c, "")) for c in columns) for row in rows),
                    caption=str(key).replace("_", " ").capitalize(),
                )
            )
    return Section("planning", "Planning", tuple(blocks), cent="7a")


def _is_rows(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(isinstance(v, Mapping) for v in value)
    )


def limitations(record: TrialRecord, result: AnalysisResult) -> Section:
    p = record.protocol
    items = []
    if p.design.blocks < 3:
        items.append(
            f"Few periods: with only {p.design.blocks} block{'s' if p.design.blocks != 1 else ''}, "
            "one unusual period can move the result a lot."
        )
    else:
        items.append(
            f"Few periods: {p.design.n_periods} periods are few by statistical standards; one "
            "unusual period (an infection, a stressful month) can still move the result."
        )
    if p.blinding.blinded:
        items.append(
            "Unblinding: side effects (for example loose stools with magnesium-like supplements) "
            "can reveal which pack is active and bring back expectation effects."
            if "magnes" in p.intervention.name.lower()
            else "Unblinding: noticeable side effects can reveal which treatment is active and "
            "bring back expectation effects."
        )
        items.append(
            "Placebo response: blinding lets the comparison remove expectation effects, but both "
            "arms may look better than before the trial."
        )
    else:
        items.append(
            "Placebo response: the trial was open, so expecting the treatment to work can by "
            "itself improve how the outcome feels and is reported."
        )
    items.append(
        "Regression to the mean: trials often start when symptoms are at their worst, so "
        "everything may look better later; randomization protects the B − A comparison but not "
        "before-and-after impressions."
    )
    items.append(
        "Carry-over and slow onset: the analytic washout removes the first days of each period, "
        "but effects that build up over longer than that blur the difference."
    )
    items.append(
        "One person: the result applies to this patient, at this dose and time; it does not "
        "show how the treatment works for others, nor long-term safety."
    )
    if result.interim:
        items.append("Interim: the trial is not finished and later periods may change the result.")
    return Section(
        "limitations",
        "Limitations",
        (Bullets(tuple(items)), Paragraph(DISCLAIMER, tone="warning")),
        cent="20, 21",
    )


def about(record: TrialRecord, result: AnalysisResult, through: dt.date) -> Section:
    protocol_hash = record.protocol_hash(result)
    info = record.lock_info
    amended = (
        ()
        if info is None or not info.amendments
        else (
            (
                f"Protocol hash in force (after {len(info.amendments)} amendment"
                f"{'s' if len(info.amendments) != 1 else ''})",
                info.current_protocol_hash,
            ),
        )
    )
    return Section(
        "about",
        "About this report",
        (
            Facts(
                (
                    ("Trial", f"{result.trial_id} – {result.title}"),
                    ("Software", f"nof1 {result.software_version}"),
                    ("Protocol hash (SHA-256)", protocol_hash),
                    *amended,
                    ("Protocol locked", record.lock_line()),
                    ("Data integrity", record.integrity_line()),
                    ("Schedule fingerprint", record.schedule.fingerprint()),
                    ("Analysis created", str(result.created_at)),
                    ("Data through", fmt.date(through)),
                    ("Status", "INTERIM" if result.interim else "final"),
                )
            ),
            Paragraph(
                "The machine-readable result (JSON) next to this file holds every number in this "
                "report. Re-running “nof1 report” on the same data with the same seed and "
                "number of draws gives the same numbers.",
                tone="note",
            ),
        ),
        cent="24, 25",
    )
