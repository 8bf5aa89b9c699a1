"""The report of data collected elsewhere (``nof1 analyze --data FILE.csv --report DIR``).

A CSV file holds the outcome values and the treatment of each time unit, and nothing of the
protocol: not the design as planned, the blinding, adherence, the supervising clinician, adverse
events or stopping rules. This report has the same page 1 (the headline, the probability bar,
the verdict in words) and is rendered by the same HTML and PDF renderers as a trial's report;
what the file cannot know is said to be *not recorded*, never filled in with a default.
The wording helpers of :mod:`nof1.report.context` are shared, so a verdict reads the same here.
"""

from __future__ import annotations

from nof1.report import fmt
from nof1.report.context import (
    arm_means,
    effect_plain,
    effect_text,
    has_effect,
    mcid_text,
    probability_bar,
    relative_text,
    title,
    verdict_class,
    verdict_sentence,
    verdict_short,
)
from nof1.report.view import (
    Block,
    Bullets,
    Facts,
    Figure,
    FrontPage,
    Heading,
    Headline,
    Paragraph,
    ReportView,
    Section,
    Table,
)
from nof1.summary import AnalysisResult, OutcomeResult

NOT_RECORDED = "not recorded (a CSV file holds no protocol)"
#: What a CSV file cannot tell, in the order the report lists it.
UNKNOWN = (
    "Patient (pseudonym)",
    "Supervising clinician",
    "Condition",
    "Design as planned (periods, washout, run-in)",
    "Blinding",
    "Adherence",
    "Adverse events",
    "Stopping rules",
    "Protocol lock",
)


def arm_labels(result: AnalysisResult) -> tuple[str, str]:
    """(B, A) as the report names them: the values of the treatment column."""
    arms = dict(result.arms)
    return (
        f"“{arms['B']}”" if "B" in arms else "B (intervention)",
        f"“{arms['A']}”" if "A" in arms else "A (control)",
    )


def _headline(primary: OutcomeResult, arm_b: str, arm_a: str, threshold: float) -> Headline:
    withheld = verdict_class(primary) == "withheld"
    return Headline(
        outcome=title(primary),
        question=f"column {primary.name!r} of the file",
        effect=effect_text(primary),
        effect_plain="" if withheld else effect_plain(primary, arm_b, arm_a),
        relative="" if withheld else relative_text(primary),
        bar=None if withheld else probability_bar(primary, threshold),
        verdict=verdict_sentence(primary, arm_b, arm_a, threshold),
        withheld_reason=(primary.withheld_reason or "") if withheld else "",
        mcid=mcid_text(primary),
    )


def _randomization_line(outcome: OutcomeResult) -> str:
    rand = outcome.randomization
    if rand is None:
        return "not run"
    if rand.p_value is None:
        return rand.note or "not run"
    return f"p = {fmt.p_value(rand.p_value)} ({rand.scheme}; {rand.note})"


def _design_line(result: AnalysisResult) -> str:
    primary = result.outcomes[0]
    blocks = {p.block for p in primary.periods}
    rand = primary.randomization
    stated = (
        "randomization not stated (no randomization test)"
        if rand is None or rand.scheme == "not stated"
        else f"randomization as stated: {rand.scheme}"
    )
    return (
        f"{len(primary.periods)} periods (runs of one treatment) in {len(blocks)} blocks, read "
        f"from the file; {stated}. The design as planned is {NOT_RECORDED}."
    )


def _outcome_section(
    outcome: OutcomeResult, arm_b: str, arm_a: str, threshold: float, figures: set[str]
) -> Section:
    d = fmt.digits_for(outcome.kind, outcome.mcid)
    facts = [
        ("Kind", f"{outcome.kind}{' (primary outcome)' if outcome.primary else ''}"),
        ("Smallest difference that matters (MCID, as stated)", mcid_text(outcome)),
        ("Time units analysed", str(outcome.n_analysed)),
        (f"Effect, {arm_b} − {arm_a} (median, 95% CrI)", effect_text(outcome)),
    ]
    rel = relative_text(outcome)
    if rel:
        facts.append(("Relative effect", rel))
    if has_effect(outcome):
        means = arm_means(outcome)
        facts.append(
            (
                "Observed means (analysed time units)",
                f"{arm_a} {fmt.number(means['A'], d)}, {arm_b} {fmt.number(means['B'], d)}",
            )
        )
        pr = outcome.probabilities
        facts.append(
            (
                "Probabilities",
                f"meaningful benefit {fmt.percent(pr.meaningful_benefit, threshold)}, negligible "
                f"{fmt.percent(pr.negligible, threshold)}, meaningful harm "
                f"{fmt.percent(pr.meaningful_harm, threshold)}; any benefit "
                f"{fmt.percent(pr.benefit)}",
            )
        )
    facts.append(("Verdict", verdict_sentence(outcome, arm_b, arm_a, threshold)))
    facts.append(("Model", outcome.model_description or "–"))
    facts.append(("Randomization test", _randomization_line(outcome)))
    paired = outcome.paired
    if paired is not None and paired.ci95 is not None:
        lo, hi = paired.ci95
        facts.append(
            (
                "Paired comparison of blocks",
                f"{fmt.signed(paired.mean_difference, d)} (95% CI {fmt.interval(lo, hi, d)}), "
                f"{paired.n_blocks} blocks, p = {fmt.p_value(paired.p_value)}",
            )
        )
    blocks: list[Block] = [Facts(tuple(facts))]
    key = f"posterior-{outcome.name}"
    if key in figures:
        blocks.append(
            Figure(
                key,
                f"Posterior of the effect ({arm_b} − {arm_a}) with the MCID lines.",
                f"Posterior density of the effect of {title(outcome)} with the three regions.",
            )
        )
    if outcome.sensitivity:
        blocks.append(
            Table(
                ("Sensitivity analysis", "Effect (95% CrI)", "Verdict", "Note"),
                tuple(
                    (
                        s.label,
                        "–"
                        if s.effect is None
                        else f"{fmt.signed(s.effect.median, d)} "
                        f"({fmt.interval(s.effect.ci95[0], s.effect.ci95[1], d)})",
                        s.verdict,
                        s.note,
                    )
                    for s in outcome.sensitivity
                ),
                widths=(1.2, 1.4, 1.6, 1.8),
            )
        )
    blocks.append(
        Table(
            ("Period", "Block", "Arm", "Time units with a value", "Mean"),
            tuple(
                (
                    str(p.period),
                    str(p.block),
                    f"{p.arm} {arm_b if p.arm == 'B' else arm_a}",
                    str(p.days_analysed),
                    fmt.number(p.mean, d),
                )
                for p in outcome.periods
            ),
            caption="Periods are runs of one treatment in the file (split where --block changes).",
        )
    )
    if outcome.notes:
        blocks.append(Heading("How the file was read"))
        blocks.append(Bullets(tuple(f"{note[0].upper()}{note[1:]}." for note in outcome.notes)))
    return Section(f"outcome-{outcome.name}", title(outcome), tuple(blocks))


def build_table_view(
    result: AnalysisResult,
    *,
    source: str,
    threshold: float = 0.8,
    figures: set[str] | frozenset[str] = frozenset(),
) -> ReportView:
    """The report of an ``analyze_table`` result as a view model (page 1 + sections).

    ``source`` is the CSV file's name; ``figures`` the keys of the figures drawn (``posterior-``
    + outcome name), so that no section refers to a figure that is not there.
    """
    arm_b, arm_a = arm_labels(result)
    primary = result.outcomes[0]
    arms = dict(result.arms)
    notes: list[str] = [
        f"Data collected elsewhere ({source}): protocol details a CSV file cannot hold — the "
        "design as planned, blinding, adherence, the supervising clinician, adverse events and "
        "stopping rules — are not recorded in this report."
    ]
    if verdict_class(primary) != "withheld":
        changed = [s.label.lower() for s in primary.sensitivity if s.verdict_changes]
        if changed:
            notes.append(
                f"{title(primary)}: the verdict changes under the {', '.join(changed)} "
                "sensitivity analysis; the evidence is not yet strong enough to be robust."
            )
    for o in result.outcomes:
        if not o.diagnostics.passed and verdict_class(o) != "withheld":
            notes.append(f"{title(o)}: diagnostics flagged ({'; '.join(o.diagnostics.problems)}).")
    facts = (
        (
            "Data",
            f"{source}; {primary.n_analysed} time units analysed, {len(primary.periods)} periods",
        ),
        ("Intervention (B)", f"value {arms.get('B', '?')!r} of the treatment column"),
        ("Comparator (A)", f"value {arms.get('A', '?')!r} of the treatment column"),
        ("Patient (pseudonym)", "not recorded"),
        ("Supervising clinician", "not recorded"),
        ("Report", f"created {fmt.date(result.created_at)}"),
    )
    front = FrontPage(
        title=f"Analysis of {source}: {arm_b} vs {arm_a}",
        subtitle=f"{result.title} — data collected elsewhere, analysed by nof1 analyze --data",
        facts=facts,
        design=_design_line(result),
        headline=_headline(primary, arm_b, arm_a, threshold),
        adherence=f"Not recorded ({NOT_RECORDED.split('(')[1]}.",
        completeness=f"{primary.n_analysed} time units with a value of {title(primary).lower()}.",
        serious_events=f"Not recorded ({NOT_RECORDED.split('(')[1]}.",
        other_outcomes=tuple(
            (title(o), effect_text(o), verdict_short(o, threshold)) for o in result.outcomes[1:]
        ),
        notes=tuple(notes),
    )
    data_section = Section(
        "data",
        "Data and what was not recorded",
        (
            Facts(
                (
                    ("Source", source),
                    ("A (control)", repr(arms.get("A", "?"))),
                    ("B (intervention)", repr(arms.get("B", "?"))),
                    ("Design as read", _design_line(result)),
                    *((label, "not recorded") for label in UNKNOWN),
                )
            ),
            Paragraph(
                "The MCID and the randomization unit were stated by the analyst on the command "
                "line, not derived from the data.",
                tone="note",
            ),
        ),
    )
    methods = Section(
        "methods",
        "Methods",
        (
            Paragraph(
                "Each outcome is fitted with a Bayesian model of the time units (B − A); the "
                "verdict compares the posterior with the stated MCID at a decision threshold of "
                f"{fmt.percent(threshold)} (docs/methods.md). Repeated rows of one time unit are "
                "averaged. The randomization test runs only over the scheme stated with "
                "--randomized-by; it is not run when none was stated."
            ),
        ),
    )
    about = Section(
        "about",
        "About this report",
        (
            Facts(
                (
                    ("Software", f"nof1 {result.software_version}"),
                    ("Created", str(result.created_at)),
                    ("Data file", source),
                    ("Protocol hash", "none (no protocol)"),
                )
            ),
        ),
    )
    sections = (
        data_section,
        *(_outcome_section(o, arm_b, arm_a, threshold, set(figures)) for o in result.outcomes),
        methods,
        about,
    )
    return ReportView(
        title=front.title,
        interim=False,
        interim_text="",
        front=front,
        sections=sections,
        footer=f"nof1 {result.software_version} · {source}, no protocol · Not medical advice.",
        metadata={
            "trial_id": result.trial_id,
            "patient": "not recorded",
            "created_at": str(result.created_at),
            "analysed_through": "",
            "interim": "false",
            "protocol_hash": "",
            "schedule_fingerprint": "",
            "software_version": result.software_version,
            "integrity": "not checked (CSV file)",
            "chain_head": "",
            "locked_before_day1": "",
            "source": source,
        },
    )
