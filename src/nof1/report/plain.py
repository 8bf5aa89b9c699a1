"""The summary for the patient, in plain words, saying what page 1 says.

Every probability word comes from the one mapping in :mod:`nof1.report.fmt`
(:data:`~nof1.report.fmt.PROBABILITY_WORDS`) and every sentence about the result from the same
functions page 1 uses (:func:`~nof1.report.context.reading`), worded for a patient: no "CrI",
no "MCID", no "prior". It also says what page 1 shows around the result: side effects on each
treatment, a stopping rule that was met and what the clinician decided, and whether the result
held up when the calculation was repeated with other assumptions.
"""

from __future__ import annotations

from nof1.report import fmt
from nof1.report.context import (
    TrialRecord,
    arm_names,
    changed_under,
    effect_plain,
    mcid_text,
    not_assessed,
    reading,
    title,
    verdict_class,
    withheld_text,
)
from nof1.report.view import Paragraph, Section
from nof1.summary import AnalysisResult, OutcomeResult

#: Sensitivity analyses in the patient's words (others are shown by their own label).
PLAIN_SENSITIVITY = {
    "sceptical prior": "starting from a more doubtful assumption about the treatment",
    "vague prior": "starting from a looser assumption about the treatment",
    "adherent days only": "using only the days the treatment was taken as planned",
}


def _plain_label(label: str) -> str:
    return PLAIN_SENSITIVITY.get(label.strip().lower(), label)


def verdict_plain(outcome: OutcomeResult, arm_b: str, arm_a: str, threshold: float) -> str:
    """The verdict for the patient, with the same probability word as page 1's verdict."""
    kind = verdict_class(outcome)
    name = title(outcome).lower()
    mcid = mcid_text(outcome).split(" (")[0]
    p = outcome.probabilities
    if kind == "withheld":
        return (
            f"For {name}, there is no verdict (withheld): {withheld_text(outcome)}. The numbers "
            "should not be used."
        )
    if kind == "benefit":
        pb = p.meaningful_benefit
        claim = fmt.hedge(
            pb,
            f"{arm_b} {{adv}} made a difference big enough to matter",
            f"{arm_b} may have made a difference big enough to matter",
        )
        return f"For {name}, {claim} (at least {mcid}; {fmt.odds_phrase(pb, threshold)})."
    if kind == "harm":
        ph = p.meaningful_harm
        claim = fmt.hedge(
            ph,
            f"you were {{adv}} worse on {arm_b}",
            f"you may have been worse on {arm_b}",
        )
        return (
            f"For {name}, {claim} than on {arm_a}, by at least {mcid} "
            f"({fmt.odds_phrase(ph, threshold)})."
        )
    if kind == "negligible":
        pn = p.negligible
        claim = fmt.hedge(
            pn,
            f"any difference between {arm_b} and {arm_a} was {{adv}} too small to matter",
            f"any difference between {arm_b} and {arm_a} may have been too small to matter",
        )
        return f"For {name}, {claim} (less than {mcid}; {fmt.odds_phrase(pn, threshold)})."
    return (
        f"For {name}, the trial could not tell clearly whether {arm_b} helps: the result is "
        "uncertain."
    )


def side_effects(record: TrialRecord) -> str:
    """Side effects recorded on each treatment, serious ones named."""
    p = record.protocol
    arm_b, arm_a = arm_names(p)
    counts = {"B": 0, "A": 0, "other": 0}
    serious: list[str] = []
    for e in record.adverse_events:
        day = record.schedule.day(e.date)
        arm = day.arm if day is not None and day.arm in ("A", "B") else "other"
        counts[arm] += 1
        if e.serious:
            where = p.arm(arm).name if arm in ("A", "B") else "outside the treatment periods"
            serious.append(f"{e.description} on {fmt.date(e.date)} ({where})")
    if not record.adverse_events:
        return "You recorded no side effects or other health problems during the trial."

    def n(k: int) -> str:
        return f"{k} side effect{'s' if k != 1 else ''} or health problem{'s' if k != 1 else ''}"

    text = f"You recorded {n(counts['B'])} while on {arm_b} and {counts['A']} while on {arm_a}"
    text += f", and {counts['other']} outside the treatment periods." if counts["other"] else "."
    if serious:
        text += " Serious: " + "; ".join(serious) + "."
    else:
        text += " None was serious."
    return text


def stopping_rules(record: TrialRecord) -> list[str]:
    """Each safety (stopping) rule that was met, and what the clinician decided about it."""
    out = []
    for entry in record.stopping_rule_timeline():
        what = (entry.description or entry.name.replace("_", " ")).rstrip(". ")
        met = f" on {fmt.date(entry.met_on)}" if entry.met_on is not None else ""
        text = f"A safety rule agreed before the trial was met{met}: {what} ({entry.reason})."
        if entry.reviews:
            last = entry.reviews[-1]
            decision = {
                "continue": "to continue the trial",
                "stop": "to stop the trial",
            }.get(last.decision, last.decision)
            text += f" {last.by} reviewed it on {fmt.date(last.at)} and decided {decision}."
        else:
            text += " It has not been reviewed by a clinician yet: ask for that review."
        out.append(text)
    return out


def robustness(outcome: OutcomeResult) -> str:
    """Whether the result held up when the calculation was repeated with other assumptions."""
    if not outcome.sensitivity or verdict_class(outcome) == "withheld":
        return ""
    changed = changed_under(outcome)
    failed = not_assessed(outcome)
    ran = [s for s in outcome.sensitivity if s.effect is not None]
    if not ran:
        return ""
    if changed:
        how = "; ".join(_plain_label(c) for c in changed)
        text = (
            f"Caution: when the calculation was repeated {how}, the conclusion changed. The "
            "result is not yet firm."
        )
    elif len(failed) == len(ran):
        return (
            "The checks that repeat the calculation with other assumptions could not be "
            "completed reliably, so we cannot say whether the result is firm."
        )
    else:
        text = (
            "The conclusion stayed the same when the calculation was repeated with other "
            "assumptions."
        )
    if failed:
        text += (
            f" {len(failed)} of these checks ({'; '.join(_plain_label(f) for f in failed)}) "
            "could not be completed reliably."
        )
    return text


def patient_summary(record: TrialRecord, result: AnalysisResult) -> Section:
    p = record.protocol
    arm_b, arm_a = arm_names(p)
    threshold = p.analysis.decision_threshold
    primary = next((o for o in result.outcomes if o.primary), None)
    text = [
        f"You compared {arm_b} with {arm_a} in {p.design.n_periods} periods whose order was "
        + ("fixed in advance" if p.design.scheme == "fixed" else "decided by chance")
        + ", recording your symptoms every day."
    ]
    if primary is None:
        text.append("Your main outcome could not be analysed yet.")
    else:
        text.append(verdict_plain(primary, arm_b, arm_a, threshold))
        if verdict_class(primary) != "withheld":
            said = reading(primary, arm_b, arm_a, threshold=threshold, plain=True)
            if said:
                text.append(said + ".")
            best = effect_plain(primary, arm_b, arm_a, plain=True)
            if best:
                text.append(f"The best single estimate: {best}.")
            caveat = robustness(primary)
            if caveat:
                text.append(caveat)
    text.append(side_effects(record))
    text.extend(stopping_rules(record))
    if result.interim:
        text.append("The trial is not finished; this is an early look and it can change.")
    text.append(
        "Talk this through with your clinician before you change anything. This report does not "
        "tell you what to take or at what dose."
    )
    return Section(
        "patient",
        "Summary for the patient, in plain words",
        tuple(Paragraph(t) for t in text),
        cent="plain-language",
    )
