"""Messages that agree with the numbers: the probability words, the one-sentence reading of the
result, robustness only for a genuine disagreement, withheld verdicts, the plain summary and the
model text — on fake results (no sampling), rendered through the real HTML and PDF paths.
"""

from __future__ import annotations

import math
import re
from typing import Any

import attrs
import numpy as np
import pytest

from nof1 import summary as S
from nof1 import verdict as rule
from nof1.report import fmt, render
from nof1.report.context import (
    headline,
    reading,
    sensitivity_status,
    verdict_sentence,
    verdict_short,
)
from nof1.report.plain import patient_summary, verdict_plain
from nof1.report.sections import adherence, methods, sensitivity
from test_report import SAE, Page, _review, pdf_pages, scenario

T = 0.8
WORDS = ("very likely", "likely", "uncertain", "unlikely", "very unlikely")


def section_text(section: Any) -> str:
    out = []
    for block in section.blocks:
        if hasattr(block, "text"):
            out.append(block.text)
        elif hasattr(block, "items"):
            out.extend(block.items)
        elif hasattr(block, "rows"):
            out.extend(" | ".join(map(str, row)) for row in block.rows)
    return "\n".join(out)


def primary_of(result: S.AnalysisResult) -> S.OutcomeResult:
    return next(o for o in result.outcomes if o.primary)


def page_one(html: str) -> str:
    """The text of page 1 only (the section with id page1)."""
    start = html.index('<section id="page1"')
    return Page(html[start : html.index("</section>", start)]).all_text


def with_all(result: S.AnalysisResult, **changes: Any) -> S.AnalysisResult:
    """Every outcome changed the same way (so no other outcome's text interferes)."""
    return attrs.evolve(result, outcomes=tuple(attrs.evolve(o, **changes) for o in result.outcomes))


def with_primary(result: S.AnalysisResult, **changes: Any) -> S.AnalysisResult:
    outcomes = tuple(attrs.evolve(o, **changes) if o.primary else o for o in result.outcomes)
    return attrs.evolve(result, outcomes=outcomes)


def sens(label: str, verdict: str, changes: bool = False) -> S.SensitivityResult:
    effect = S.EffectSummary(-2.0, -2.0, (-4.0, 0.1), 1.0, "difference")
    probs = S.Probabilities(0.95, 0.6, 0.01, 0.39)
    return S.SensitivityResult(label, effect, probs, verdict, changes)


# ------------------------------------------------------------------------------------------
# The one probability mapping
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "word"),
    [
        (1.0, "very likely"),
        (0.95, "very likely"),
        (0.9499, "likely"),
        (0.80, "likely"),
        (0.7999, "uncertain"),
        (0.5, "uncertain"),
        (0.2001, "uncertain"),
        (0.20, "unlikely"),
        (0.0501, "unlikely"),
        (0.05, "very unlikely"),
        (0.0, "very unlikely"),
    ],
)
def test_probability_words_at_the_boundaries(p: float, word: str) -> None:
    assert fmt.chance(p) == word


def test_probability_words_are_symmetric() -> None:
    mirror = dict(zip(WORDS, reversed(WORDS), strict=True))
    for p in np.linspace(0, 1, 2001):
        assert fmt.chance(1 - p) == mirror[fmt.chance(p)], p
    for p in (0.05, 0.2, 0.8, 0.95):  # the boundaries themselves, through float subtraction
        assert fmt.chance(1 - p) == mirror[fmt.chance(p)]


@pytest.mark.parametrize("p", [float("nan"), None, float("inf")])
def test_probability_word_for_nan_is_never_nan(p: float | None) -> None:
    assert fmt.chance(p) == "not known"
    assert "nan" not in fmt.hedge(p, "it was {adv} lower", "it may have been lower")
    assert "nan" not in fmt.odds_phrase(p)


def test_hedge_uses_the_mapping_adverbs() -> None:
    sure, unsure = "pain was {adv} lower", "it is uncertain whether pain was lower"
    assert fmt.hedge(0.96, sure, unsure) == "pain was very likely lower"
    assert fmt.hedge(0.85, sure, unsure) == "pain was probably lower"
    assert fmt.hedge(0.5, sure, unsure) == unsure
    assert fmt.hedge(0.1, sure, unsure) == "pain was probably not lower"
    assert fmt.hedge(0.01, sure, unsure) == "pain was very likely not lower"


def test_odds_phrase_reads_aloud() -> None:
    assert fmt.odds_phrase(0.85) == "an 85% chance"
    assert fmt.odds_phrase(0.11) == "an 11% chance"
    assert fmt.odds_phrase(0.32) == "a 32% chance"
    assert fmt.odds_phrase(0.001) == "a less than 1% chance"


def test_the_mapping_is_documented_in_the_clinician_guide() -> None:
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[1] / "docs" / "clinician-guide.md").read_text(
        encoding="utf-8"
    )
    assert "## The probability words" in guide
    for _low, word, adverb in fmt.PROBABILITY_WORDS:
        assert f"“{word}”" in guide
        if adverb:
            assert f"“{adverb}”" in guide


# ------------------------------------------------------------------------------------------
# One sentence that reconciles P(any benefit), P(≥ MCID) and the interval
# ------------------------------------------------------------------------------------------

#: (better, effect median, interval, probabilities (benefit, meaningful benefit, meaningful harm,
#: negligible), comparative expected, direction word, mcid word, interval wording)
READINGS = [
    # lower is better, B lowers, interval includes 0: the example of the issue
    (
        "lower",
        -1.4,
        (-3.1, 0.4),
        (0.91, 0.32, 0.0, 0.68),
        "less frequent",
        "probably",
        "uncertain",
        "still includes zero",
    ),
    # lower is better, B lowers, interval excludes 0
    (
        "lower",
        -3.0,
        (-4.1, -0.6),
        (0.995, 0.85, 0.0, 0.15),
        "less frequent",
        "very likely",
        "likely",
        "lies entirely below zero",
    ),
    # lower is better, but B raises it (harm direction), interval includes 0
    (
        "lower",
        1.2,
        (-0.8, 3.0),
        (0.12, 0.01, 0.3, 0.69),
        "more frequent",
        "probably",
        "uncertain",
        "still includes zero",
    ),
    # lower is better, B raises it, interval excludes 0
    (
        "lower",
        3.0,
        (0.9, 5.0),
        (0.0, 0.0, 0.96, 0.04),
        "more frequent",
        "very likely",
        "very likely",
        "lies entirely above zero",
    ),
    # higher is better, B raises it, includes 0
    (
        "higher",
        1.0,
        (-0.5, 2.4),
        (0.86, 0.2, 0.0, 0.8),
        "more frequent",
        "probably",
        "unlikely",
        "still includes zero",
    ),
    # higher is better, B raises it, excludes 0
    (
        "higher",
        3.0,
        (1.0, 5.0),
        (0.999, 0.9, 0.0, 0.1),
        "more frequent",
        "very likely",
        "likely",
        "lies entirely above zero",
    ),
    # higher is better, B lowers it, includes 0
    (
        "higher",
        -0.8,
        (-2.0, 0.6),
        (0.17, 0.0, 0.04, 0.96),
        "less frequent",
        "probably",
        "very unlikely",
        "still includes zero",
    ),
    # higher is better, B lowers it, excludes 0
    (
        "higher",
        -3.0,
        (-5.0, -1.0),
        (0.001, 0.0, 0.88, 0.12),
        "less frequent",
        "very likely",
        "likely",
        "lies entirely below zero",
    ),
    # no clear direction
    (
        "lower",
        -0.1,
        (-2.0, 1.9),
        (0.55, 0.05, 0.04, 0.91),
        "less frequent",
        "uncertain",
        "very unlikely",
        "includes zero",
    ),
]


@pytest.mark.parametrize(
    ("better", "median", "ci", "probs", "cmp", "direction", "mcid_word", "where"), READINGS
)
@pytest.mark.parametrize("plain", [False, True])
def test_reading_is_one_sentence_that_agrees_with_the_numbers(
    better: str,
    median: float,
    ci: tuple[float, float],
    probs: tuple[float, float, float, float],
    cmp: str,
    direction: str,
    mcid_word: str,
    where: str,
    plain: bool,
) -> None:
    _record, result = scenario()
    outcome = attrs.evolve(
        primary_of(result),
        better=better,
        effect=S.EffectSummary(median, median, ci, 1.0, "difference"),
        probabilities=S.Probabilities(*probs),
        verdict=rule.INCONCLUSIVE,
    )
    text = reading(outcome, "Magnesium", "Placebo", threshold=T, plain=plain)
    # one sentence: no full stop except inside numbers, and it starts with a capital
    assert not re.search(r"\.(\s|$)", text), text
    assert text[0].isupper()
    toward_benefit = probs[0] >= 0.5
    p_dir = probs[0] if toward_benefit else 1 - probs[0]
    p_mcid = probs[1] if toward_benefit else probs[2]
    if direction == "uncertain":
        assert text.startswith("It is uncertain whether headache day was " + cmp), text
    else:
        adverb = "probably" if direction == "probably" else "very likely"
        assert text.startswith(f"Headache day was {adverb} {cmp} on Magnesium than on Placebo")
    assert fmt.chance(p_dir) in ("uncertain", "likely", "very likely")  # never "probably not"
    assert f" is {mcid_word} (" in text
    if plain:
        assert fmt.odds_phrase(p_dir) in text and fmt.odds_phrase(p_mcid, T) in text
    else:
        assert fmt.percent(p_dir) in text and fmt.percent(p_mcid, T) in text
    assert where in text
    if where == "includes zero":
        assert "still" not in text
    firm = direction != "uncertain"
    contrast = firm and mcid_word not in ("likely", "very likely")
    assert (", but a difference" in text) == contrast
    assert fmt.interval(*ci) in text
    if plain:
        assert "CrI" not in text and "probability" not in text and "chance" in text
        assert "interval" not in text


def test_reading_is_empty_for_a_withheld_or_nan_result() -> None:
    _record, result = scenario(withheld=True)
    assert reading(primary_of(result), "Magnesium", "Placebo") == ""
    _record, result = scenario()
    nan = float("nan")
    broken = attrs.evolve(primary_of(result), probabilities=S.Probabilities(nan, nan, nan, nan))
    assert reading(broken, "Magnesium", "Placebo") == ""


def test_page_one_reads_the_result_in_one_sentence() -> None:
    record, result = scenario()
    h = headline(record, result)
    p = primary_of(result).probabilities
    assert h.effect_plain.startswith("Headache day was ")
    assert fmt.percent(p.benefit) in h.effect_plain
    assert fmt.percent(p.meaningful_benefit, T) in h.effect_plain
    assert not re.search(r"\.(\s|$)", h.effect_plain)


# ------------------------------------------------------------------------------------------
# Sensitivity: "could not be assessed", and robustness only for a genuine disagreement
# ------------------------------------------------------------------------------------------


def test_withheld_sensitivity_fit_could_not_be_assessed_never_changes() -> None:
    record, result = scenario()
    primary = primary_of(result)
    bad = S.Diagnostics(1.2, 40, 30, 9, 4, 1000, passed=False, problems=("R-hat 1.200 > 1.01",))
    withheld = S.sensitivity_result(
        "Sceptical prior",
        primary.effect_draws * 0.5,
        mcid=primary.mcid,
        better=primary.better,
        threshold=T,
        primary_verdict=primary.verdict,
        scale="difference",
        diag=bad,
    )
    assert withheld.verdict == S.WITHHELD and not withheld.verdict_changes
    # also a result written by an older version, where the flag said "changes"
    legacy = attrs.evolve(withheld, label="Vague prior", verdict_changes=True)
    result = with_all(result, sensitivity=(withheld, legacy))
    assert sensitivity_status(legacy, primary_of(result)) == "not assessed"
    rendered = render(record, result, figures=False)
    text = Page(rendered.html).all_text
    assert "could not be assessed" in text
    assert "verdict changes under" not in text.lower()
    assert "not yet strong enough to be robust" not in text
    table = section_text(sensitivity(record, result))
    rows = [r for r in table.splitlines() if r.startswith(("Sceptical prior", "Vague prior"))]
    assert rows and all(r.endswith("| could not be assessed") for r in rows), rows
    page1 = pdf_pages(rendered.pdf)[0]
    assert "robust" not in page1 and "changes" not in page1


def test_robustness_line_only_for_a_genuine_disagreement() -> None:
    record, result = scenario()
    primary = primary_of(result)
    same = sens("Vague prior", primary.verdict)
    differs = sens("Sceptical prior", rule.INCONCLUSIVE, changes=True)

    def page1(r: S.AnalysisResult) -> str:
        return page_one(render(record, r, figures=False).html)

    line = "the verdict changes under the sceptical prior sensitivity analysis"
    assert line in page1(with_primary(result, sensitivity=(differs, same)))
    assert "robust" not in page1(with_primary(result, sensitivity=(same,)))
    # a "changed" flag on a withheld sensitivity fit is no disagreement
    stale = attrs.evolve(differs, verdict=S.WITHHELD)
    assert "robust" not in page1(with_primary(result, sensitivity=(stale, same)))
    # nor is any sensitivity analysis when the primary verdict itself was withheld
    _record, withheld = scenario(withheld=True)
    assert "robust" not in page1(with_primary(withheld, sensitivity=(differs, same)))
    text = section_text(sensitivity(record, with_all(withheld, sensitivity=(differs,))))
    head = text.split("Peak pain")[0]  # the primary outcome's part
    assert "could not be assessed" in head and "changes under" not in head


def test_sensitivity_not_run_is_not_a_disagreement() -> None:
    record, result = scenario()
    not_run = S.SensitivityResult("Adherent days only", None, None, "not run", False, "no data")
    assert sensitivity_status(not_run, primary_of(result)) == "not run"
    result = with_all(result, sensitivity=(not_run,))
    assert "robust" not in Page(render(record, result, figures=False).html).all_text


# ------------------------------------------------------------------------------------------
# A withheld verdict reads the same everywhere
# ------------------------------------------------------------------------------------------


def test_withheld_verdict_reads_the_same_everywhere() -> None:
    record, result = scenario(withheld=True)
    primary = primary_of(result)
    rendered = render(record, result, figures=False)
    text = Page(rendered.html).all_text
    assert "No verdict (withheld) for headache day" in text  # page 1 and the outcome section
    assert verdict_short(primary, T).startswith("No verdict (withheld)")
    assert "no verdict (withheld)" in section_text(sensitivity(record, result))
    plain = section_text(patient_summary(record, result))
    assert "no verdict (withheld)" in plain
    assert "best estimate" not in plain  # no numbers to read from a withheld fit
    # no reading of an unreliable estimate
    assert not re.search(r"Headache day was (probably|very likely|uncertain)", text)


# ------------------------------------------------------------------------------------------
# The plain summary says what page 1 says
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verdict", "probs"),
    [
        (rule.BENEFIT, (0.97, 0.85, 0.0, 0.15)),
        (rule.BENEFIT, (0.999, 0.97, 0.0, 0.03)),
        (rule.HARM, (0.01, 0.0, 0.9, 0.1)),
        (rule.NEGLIGIBLE, (0.5, 0.02, 0.02, 0.96)),
        (rule.INCONCLUSIVE, (0.9, 0.5, 0.0, 0.5)),
    ],
)
def test_plain_summary_uses_the_same_probability_word_as_page_one(
    verdict: str, probs: tuple[float, float, float, float]
) -> None:
    _record, result = scenario()
    o = attrs.evolve(primary_of(result), verdict=verdict, probabilities=S.Probabilities(*probs))
    page1 = verdict_sentence(o, "Magnesium", "Placebo", T)
    plain = verdict_plain(o, "Magnesium", "Placebo", T)
    p = {rule.BENEFIT: probs[1], rule.HARM: probs[2], rule.NEGLIGIBLE: probs[3]}.get(verdict)
    if p is None:
        assert "uncertain" in plain and "Inconclusive" in page1
        return
    adverb = "very likely" if p >= 0.95 else "probably"
    assert f" {adverb} " in page1 and f" {adverb} " in plain
    assert fmt.percent(p, T) in page1 and fmt.percent(p, T) in plain
    # and the reading sentence: same words, same numbers
    assert (
        reading(o, "Magnesium", "Placebo", threshold=T).split(" (")[0]
        == reading(o, "Magnesium", "Placebo", threshold=T, plain=True).split(" (")[0]
    )


def test_plain_summary_lists_side_effects_per_arm_and_the_reviewed_stopping_rule() -> None:
    record, result = scenario(events=(SAE,))
    record = attrs.evolve(record, reviews=(_review(),))
    text = section_text(patient_summary(record, result))
    counts = {"A": 0, "B": 0}
    for e in record.adverse_events:
        day = record.schedule.day(e.date)
        if day is not None and day.arm in counts:
            counts[day.arm] += 1
    assert re.search(rf"{counts['B']} side effects? or health problems? while on Magnesium", text)
    assert f"and {counts['A']} while on Placebo" in text
    assert "Serious: Fell off a ladder on 2026-03-01" in text
    assert "A safety rule agreed before the trial was met on 2026-03-01" in text
    assert "Dr Okafor reviewed it on 2026-03-03 and decided to continue the trial" in text


def test_plain_summary_says_an_unreviewed_stopping_rule_needs_review() -> None:
    record, result = scenario(events=(SAE,))
    text = section_text(patient_summary(record, result))
    assert "has not been reviewed by a clinician yet" in text


def test_plain_summary_carries_the_robustness_caveat_and_no_jargon() -> None:
    record, result = scenario()
    primary = primary_of(result)
    differs = sens("sceptical prior", rule.INCONCLUSIVE, changes=True)
    result = with_primary(result, sensitivity=(differs, sens("vague prior", primary.verdict)))
    text = section_text(patient_summary(record, result))
    assert "Caution: when the calculation was repeated starting from a more doubtful" in text
    assert "not yet firm" in text
    for jargon in ("CrI", "MCID", "prior", "posterior", "credible", "sensitivity", "median"):
        assert jargon not in text, jargon
    same = with_primary(result, sensitivity=(sens("vague prior", primary.verdict),))
    assert "stayed the same" in section_text(patient_summary(record, same))


def test_plain_summary_agrees_with_page_one_in_the_rendered_report() -> None:
    record, result = scenario()
    rendered = render(record, result, figures=False)
    page1 = pdf_pages(rendered.pdf)[0]
    h = headline(record, result)
    plain = section_text(patient_summary(record, result))
    word = re.search(r"Magnesium (very likely|probably) improved", h.verdict)
    assert word is not None and f"Magnesium {word.group(1)} made a difference" in plain
    claim = h.effect_plain.split(" (")[0]
    assert claim in plain and claim in " ".join(page1.split())


# ------------------------------------------------------------------------------------------
# The model text is the model that was fitted
# ------------------------------------------------------------------------------------------


def test_methods_describe_the_model_recorded_for_each_outcome() -> None:
    record, result = scenario()
    described = {
        "headache_day": "Bayesian logistic model, period random intercepts (Gauss–Hermite)",
        "peak_pain": "Bayesian normal model, AR(1) residuals, period intercepts",
    }
    outcomes = tuple(
        attrs.evolve(
            o,
            model_description=described.get(o.name, f"model of {o.name}"),
            diagnostics=attrs.evolve(o.diagnostics, engine="grid")
            if o.name == "peak_pain"
            else o.diagnostics,
        )
        for o in result.outcomes
    )
    text = section_text(methods(record, attrs.evolve(result, outcomes=outcomes)))
    assert f"{described['headache_day']}; fitted by Markov chain Monte Carlo" in text
    assert f"{described['peak_pain']}; fitted by grid integration" in text
    assert "model of acute_med_days" in text
    # no fixed paragraph claiming one model or one engine for every outcome
    assert "fitted by Markov chain Monte Carlo. " not in text
    assert "scaled to each outcome's MCID" not in text


def test_methods_say_an_unfitted_outcome_was_not_fitted() -> None:
    record, result = scenario(too_little="peak_pain")
    text = section_text(methods(record, result))
    assert "Peak pain on headache days | not fitted: too few analysed days" in text


# ------------------------------------------------------------------------------------------
# Hostile input
# ------------------------------------------------------------------------------------------


def test_report_escapes_control_characters_in_outcome_identifiers_and_skip_reasons() -> None:
    # names from a CSV header reach the report as identifiers, not only as labels
    record, result = scenario()
    hostile = "Pain\x07\x1b[2J<b>"
    result = with_primary(result, name=hostile + "x", label="")
    result = attrs.evolve(result, skipped=((hostile, "too few days \x1b[31m<i>"),))
    rendered = render(record, result, figures=True)
    assert "\x07" not in rendered.html and "\x1b" not in rendered.html
    assert "<b>" not in rendered.html and "<i>" not in rendered.html
    assert "\ufffd" in Page(rendered.html).all_text  # shown as visible replacement marks
    text = " ".join(pdf_pages(rendered.pdf))
    assert "\x07" not in text and "\x1b" not in text


def test_report_escapes_html_and_control_characters_in_outcome_names() -> None:
    record, result = scenario()
    hostile = 'Pain <script>alert("x")</script> &\x07\x1b[31m'
    result = with_primary(result, label=hostile)
    rendered = render(record, result, figures=False)
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "\x07" not in rendered.html and "\x1b" not in rendered.html
    assert pdf_pages(rendered.pdf)[0]  # the PDF still renders


def test_nan_probabilities_are_never_printed_as_nan() -> None:
    record, result = scenario()
    nan = float("nan")
    result = with_primary(
        result,
        probabilities=S.Probabilities(nan, nan, nan, nan),
        verdict=rule.INCONCLUSIVE,
        diagnostics=attrs.evolve(
            primary_of(result).diagnostics, engine="grid", grid_change=nan, grid_edge_mass=nan
        ),
    )
    rendered = render(record, result, figures=False)
    text = Page(rendered.html).all_text
    assert not re.search(r"\bnan\b", text, re.IGNORECASE), re.findall(r".{40}\bnan\b.{40}", text)
    for page in pdf_pages(rendered.pdf):
        assert not re.search(r"\bnan\b", page, re.IGNORECASE)
    plain = section_text(patient_summary(record, result))
    assert "nan" not in plain.lower()
    assert math.isnan(primary_of(result).probabilities.benefit)


def test_adherence_section_does_not_claim_an_adherent_analysis_that_did_not_run() -> None:
    record, result = scenario()
    through = record.through(result)
    assert "is among the sensitivity analyses" in section_text(adherence(record, result, through))
    none = with_all(result, sensitivity=())
    text = section_text(adherence(record, none, through))
    assert "no adherent-days-only analysis was run" in text
    assert "is among the sensitivity analyses" not in text


def test_a_verdict_below_080_is_worded_uncertain_on_page_one_and_for_the_patient() -> None:
    # a protocol may set the decision threshold below 0.80: the words still follow the mapping
    _record, result = scenario()
    o = attrs.evolve(
        primary_of(result),
        verdict=rule.BENEFIT,
        probabilities=S.Probabilities(0.9, 0.75, 0.0, 0.25),
    )
    page1 = verdict_sentence(o, "Magnesium", "Placebo", 0.7)
    plain = verdict_plain(o, "Magnesium", "Placebo", 0.7)
    assert page1.startswith("Magnesium may have improved headache day") and "75%" in page1
    assert "Magnesium may have made a difference big enough to matter" in plain
    assert "probably" not in page1 and "probably" not in plain
    assert verdict_short(o, 0.7) == "Meaningful benefit uncertain (75%)"
