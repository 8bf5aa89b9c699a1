"""Report rendering on fake analysis results (no sampling): HTML structure, PDF text, edge cases.

Results are built from the real result types in ``nof1.summary`` with normal draws around chosen
effects, and the diary from ``nof1.simulate``, so these tests run in seconds. Most render without
figures; one scenario draws them.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import attrs
import matplotlib
import numpy as np
import pytest
from pypdf import PdfReader

from nof1 import summary as S
from nof1 import verdict as rule
from nof1.integrity import IntegrityReport
from nof1.model.check import CheckNotRun, CheckRun, PredictiveCheck
from nof1.protocol import TrialProtocol, set_design_values
from nof1.record import AdverseEvent
from nof1.report import TrialRecord, fmt, render, write_report
from nof1.report.context import verdict_sentence
from nof1.schedule import build_schedule
from nof1.simulate import simulate_trial
from nof1.store import Amendment, Problem
from nof1.workspace import LockInfo

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
START = dt.date(2026, 1, 5)

CENT_SECTIONS = (
    "page1",
    "background",
    "design",
    "conduct",
    "adherence",
    "outcome-headache_day",
    "outcome-peak_pain",
    "harms",
    "methods",
    "sensitivity",
    "planning",
    "limitations",
    "patient",
    "about",
)


# ------------------------------------------------------------------------------------------
# Builders
# ------------------------------------------------------------------------------------------


def make_protocol(replace: tuple[tuple[str, str], ...] = ()) -> TrialProtocol:
    text = (ROOT / "protocols" / "migraine-magnesium.toml").read_text(encoding="utf-8")
    for old, new in replace:
        assert old in text
        text = text.replace(old, new)
    text = set_design_values(text, {"start_date": START, "seed": 20240611})
    return TrialProtocol.from_text(text)


def outcome_result(
    spec: Any,
    schedule: Any,
    observations: Any,
    through: dt.date,
    *,
    center: float,
    sd: float,
    withheld: bool = False,
    too_little: bool = False,
) -> S.OutcomeResult:
    rng = np.random.default_rng(7)
    obs = {o.date: o.value for o in observations if o.outcome == spec.name}
    periods = []
    for p in schedule.periods:
        dates = [p.start + dt.timedelta(days=i) for i in range(p.days)]
        logged = [d for d in dates if d in obs and d <= through]
        analysed = [d for d in logged if d >= p.analysed_start]
        mean = float(np.mean([obs[d] for d in analysed])) if analysed and not too_little else None
        periods.append(
            S.PeriodSummary(
                p.index, p.block, p.arm, len(logged), 0 if too_little else len(analysed), mean
            )
        )
    if too_little:
        nan = float("nan")
        return S.OutcomeResult(
            name=spec.name,
            label=spec.label,
            kind=spec.kind,
            better=spec.better,
            mcid=spec.mcid,
            units=spec.units,
            primary=spec.primary,
            effect=S.EffectSummary(nan, nan, (nan, nan), nan, "difference"),
            relative=None,
            probabilities=S.Probabilities(nan, nan, nan, nan),
            verdict=S.WITHHELD,
            withheld_reason="too few analysed days in either arm (needs 3 per period)",
            diagnostics=S.Diagnostics(
                nan, nan, nan, 0, 0, 0, passed=False, problems=("not fitted",)
            ),
            predictive_check=None,
            randomization=None,
            paired=None,
            sensitivity=(),
            periods=tuple(periods),
            n_analysed=0,
            effect_draws=np.array([]),
        )
    draws = rng.normal(center, sd, 4000)
    probs = S.probabilities(draws, spec.mcid, spec.better)
    v = rule.verdict(attrs.asdict(probs), 0.8)
    diag = S.Diagnostics(1.003, 1450, 1200, 0, 4, 1000)
    if withheld:
        diag = S.Diagnostics(
            1.08,
            85,
            60,
            12,
            4,
            2000,
            attempts=2,
            passed=False,
            problems=("R-hat 1.080 > 1.01", "12 divergent transitions"),
        )
    relative = (
        S.summarize_draws(np.exp(rng.normal(-0.4, 0.2, 4000)), "odds ratio")
        if spec.kind in ("binary", "count")
        else None
    )
    sens = tuple(
        S.sensitivity_result(
            label,
            draws * k,
            mcid=spec.mcid,
            better=spec.better,
            threshold=0.8,
            primary_verdict=v,
            scale="difference",
        )
        for label, k in (
            ("Sceptical prior", 0.5),
            ("Vague prior", 1.05),
            ("Adherent days only", 1.0),
        )
    )
    return S.OutcomeResult(
        name=spec.name,
        label=spec.label,
        kind=spec.kind,
        better=spec.better,
        mcid=spec.mcid,
        units=spec.units,
        primary=spec.primary,
        effect=S.summarize_draws(draws, "difference"),
        relative=relative,
        probabilities=probs,
        verdict=S.WITHHELD if withheld else v,
        withheld_reason=S.withheld_reason(diag) if withheld else None,
        diagnostics=diag,
        predictive_check=PredictiveCheck(
            ran=(
                CheckRun("zeros", "share of days at or below 0", 0.0, 0.0, 0.5, False),
                CheckRun("autocorrelation", "lag-1 autocorrelation", 0.08, 0.02, 0.42, False),
            ),
            not_run=(CheckNotRun("period_means", "spread of period means", "only 2 periods"),),
            draws=500,
        ),
        randomization=S.RandomizationResult(0.0625, -2.1, 16, True, "pairwise"),
        paired=S.PairedComparison(-2.0, (-4.2, 0.2), 0.07, 4),
        sensitivity=sens,
        periods=tuple(periods),
        n_analysed=sum(p.days_analysed for p in periods),
        effect_draws=draws,
        model_description="AR(1) regression on the daily values",
    )


EFFECTS = {
    "headache_day": (-3.4, 1.0),
    "peak_pain": (-0.7, 0.5),
    "severity": (-0.2, 0.15),
    "acute_med_days": (-1.5, 1.2),
}


def scenario(
    *,
    interim: bool = False,
    withheld: bool = False,
    too_little: str = "",
    missing_rate: float = 0.05,
    replace: tuple[tuple[str, str], ...] = (),
    events: tuple[AdverseEvent, ...] = (),
    lock_info: LockInfo | None = None,
    deviations: tuple[str, ...] = (),
) -> tuple[TrialRecord, S.AnalysisResult]:
    protocol = make_protocol(replace)
    schedule = build_schedule(protocol)
    through = schedule.periods[3].end if interim else None
    sim = simulate_trial(
        protocol,
        schedule,
        seed=3,
        effects={"headache_day": -3.0},
        missing_rate=missing_rate,
        through=through,
    )
    outcomes = tuple(
        outcome_result(
            spec,
            schedule,
            sim.observations,
            sim.through,
            center=EFFECTS[spec.name][0],
            sd=EFFECTS[spec.name][1],
            withheld=withheld and spec.primary,
            too_little=spec.name == too_little,
        )
        for spec in protocol.outcomes
    )
    result = S.AnalysisResult(
        protocol.trial_id,
        protocol.title,
        interim,
        sim.through,
        outcomes,
        "0.1.0",
        protocol.fingerprint(),
        "2026-09-01T10:00:00+00:00",
    )
    record = TrialRecord(
        protocol,
        schedule,
        tuple(sim.observations),
        tuple(sim.adherence),
        tuple(sim.events) + events,
        lock_info,
        deviations,
    )
    return record, result


class Page(HTMLParser):
    """Collects section ids, headings, asset references and text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.links: list[str] = []
        self.tags: list[str] = []
        self.h2: list[str] = []
        self.text: list[str] = []
        self._in_h2 = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "section" and a.get("id"):
            self.sections.append(a["id"] or "")
        for key in ("src", "href"):
            if a.get(key):
                self.links.append(a[key] or "")
        self._in_h2 = tag == "h2"

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_h2:
            self.h2.append(data)

    @property
    def all_text(self) -> str:
        return re.sub(r"\s+", " ", "".join(self.text))


def pdf_pages(pdf: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(pdf))
    return [re.sub(r"\s+", " ", page.extract_text() or "") for page in reader.pages]


def headline_numbers(result: S.AnalysisResult) -> tuple[str, str]:
    primary = next(o for o in result.outcomes if o.primary)
    return fmt.signed(primary.effect.median), fmt.interval(*primary.effect.ci95)


@pytest.fixture(scope="module")
def final() -> tuple[TrialRecord, S.AnalysisResult, Any]:
    record, result = scenario()
    return record, result, render(record, result)  # with figures


# ------------------------------------------------------------------------------------------
# Formatting
# ------------------------------------------------------------------------------------------


def test_numbers_use_a_real_minus_sign_and_never_negative_zero() -> None:
    assert fmt.number(-2.345) == "−2.3"
    assert fmt.number(-0.01) == "0.0"
    assert fmt.signed(1.25, 2) == "+1.25"
    assert fmt.interval(-4.12, -0.6) == "−4.1 to −0.6"
    assert fmt.number(float("nan")) == "–"


def test_probability_just_below_the_threshold_is_not_rounded_up_to_it() -> None:
    assert fmt.percent(0.796, 0.8) == "79.6%"
    assert fmt.percent(0.7999, 0.8) == "79.9%"
    assert fmt.percent(0.796) == "80%"
    assert fmt.percent(0.001) == "<1%"
    assert fmt.percent(0.999) == ">99%"


@pytest.mark.parametrize(
    ("verdict", "probs", "expected"),
    [
        (rule.BENEFIT, (0.97, 0.85, 0.01, 0.14), "Magnesium probably improved headache day"),
        (rule.BENEFIT, (0.99, 0.96, 0.0, 0.04), "Magnesium very likely improved headache day"),
        (rule.HARM, (0.02, 0.0, 0.9, 0.1), "Headache day was probably worse on Magnesium"),
        (
            rule.NEGLIGIBLE,
            (0.5, 0.05, 0.05, 0.9),
            "probably smaller than the smallest difference that matters",
        ),
        (rule.INCONCLUSIVE, (0.9, 0.5, 0.0, 0.5), "Inconclusive for headache day"),
    ],
)
def test_verdict_sentence_names_the_arms_and_the_mcid(
    verdict: str, probs: tuple[float, float, float, float], expected: str
) -> None:
    _record, result = scenario()
    primary = attrs.evolve(
        result.outcomes[0], verdict=verdict, probabilities=S.Probabilities(*probs)
    )
    sentence = verdict_sentence(primary, "Magnesium", "Placebo", 0.8)
    assert expected in sentence
    assert "2.0 days per 28 days" in sentence


# ------------------------------------------------------------------------------------------
# HTML
# ------------------------------------------------------------------------------------------


def test_html_has_page_one_and_every_cent_section(final: Any) -> None:
    page = Page(final[2].html)
    for section in CENT_SECTIONS:
        assert section in page.sections
    headings = " ".join(page.h2)
    for title in (
        "Why an N-of-1 trial",
        "Design, randomization and blinding",
        "Harms",
        "Statistical methods",
        "Sensitivity analyses",
        "Planning",
        "Limitations",
        "Summary for the patient",
        "About this report",
    ):
        assert title in headings


def test_html_is_self_contained(final: Any) -> None:
    page = Page(final[2].html)
    assert "img" in page.tags
    assert page.links, "figures should be embedded"
    for link in page.links:
        assert link.startswith(("data:image/png;base64,", "#")), link
    assert "<link" not in final[2].html and "<script" not in final[2].html
    assert "@media print" in final[2].html


def test_html_page_one_shows_title_effect_verdict_and_arms(final: Any) -> None:
    record, result, rendered = final
    text = Page(rendered.html).all_text
    median, interval = headline_numbers(result)
    assert "N-of-1 trial of Magnesium vs Placebo for Episodic migraine" in text
    assert f"{median} days per 28 days (95% CrI {interval})" in text
    assert "Meaningful benefit" in text and "Meaningful harm" in text
    assert "Magnesium probably improved headache day" in text
    assert "P-001" in text
    assert re.search(r"No meaningful difference (very )?likely", text)  # secondary, short verdict
    assert "not medical advice" in text and "never recommends a dose" in text
    assert "was revealed for this analysis" in text  # blinded trial names the arms
    # the sceptical prior halves the effect: the verdict changes, and page 1 says so
    assert "changes under the sceptical prior sensitivity analysis" in text


def test_open_trial_does_not_claim_a_reveal() -> None:
    record, result = scenario(replace=(("blinded = true", "blinded = false"),))
    text = Page(render(record, result, figures=False).html).all_text
    assert "revealed" not in text
    assert "open: the patient knew" in text


def test_html_escapes_protocol_text() -> None:
    record, result = scenario(
        replace=(('condition = "Episodic migraine"', 'condition = "Migraine <b>x</b>"'),)
    )
    html = render(record, result, figures=False).html
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


# ------------------------------------------------------------------------------------------
# PDF
# ------------------------------------------------------------------------------------------


def test_pdf_opens_and_page_one_holds_the_headline_numbers(final: Any) -> None:
    _record, result, rendered = final
    pages = pdf_pages(rendered.pdf)
    assert len(pages) >= 5
    median, interval = headline_numbers(result)
    assert f"{median} days per 28 days (95% CrI {interval})" in pages[0]
    assert "Meaningful benefit" in pages[0]
    assert "Adherence" in pages[0] and "Serious adverse" in pages[0]
    assert "INTERIM" not in " ".join(pages)
    joined = " ".join(pages)
    for title in (
        "Why an N-of-1 trial",
        "Harms",
        "Sensitivity analyses",
        "Limitations",
        "About this report",
    ):
        assert title in joined


def test_pdf_has_figures(final: Any) -> None:
    reader = PdfReader(io.BytesIO(final[2].pdf))
    images = sum(len(page.images) for page in reader.pages)
    assert images >= 1 + 2 * 4  # timeline + series and posterior per outcome


def test_interim_report_is_marked_on_every_page() -> None:
    record, result = scenario(interim=True)
    rendered = render(record, result, figures=False)
    pages = pdf_pages(rendered.pdf)
    assert len(pages) > 3
    for page in pages:
        assert "INTERIM" in page
    page = Page(rendered.html)
    assert "INTERIM REPORT" in page.all_text
    assert 'class="interim-banner"' in rendered.html
    assert "the trial is not finished" in pages[0]


def test_withheld_verdict_renders_with_its_reason() -> None:
    record, result = scenario(withheld=True)
    rendered = render(record, result, figures=False)
    page1 = pdf_pages(rendered.pdf)[0]
    assert "No verdict (withheld) for headache day" in page1
    assert "did not converge" in page1
    assert "Unreliable estimate" in page1
    assert "Meaningful benefit:" not in page1  # no probability bar for a withheld verdict
    assert "No verdict (withheld) for headache day" in Page(rendered.html).all_text


def test_outcome_with_too_little_data_renders() -> None:
    record, result = scenario(too_little="peak_pain")
    rendered = render(record, result, figures=True)
    text = Page(rendered.html).all_text
    assert "too few analysed days" in text
    assert "not estimated" in text
    assert "posterior-peak_pain" not in rendered.html


def test_missing_days_are_counted_on_page_one() -> None:
    record, result = scenario(missing_rate=0.4)
    rendered = render(record, result, figures=False)
    page1 = pdf_pages(rendered.pdf)[0]
    match = re.search(r"logged on (\d+) of (\d+) treatment-period days", page1)
    assert match and int(match.group(1)) < 0.75 * int(match.group(2))


def test_serious_adverse_event_amendment_and_deviation_are_shown() -> None:
    sae = AdverseEvent(dt.date(2026, 3, 1), "Admitted with chest pain", "severe", True, "stopped")
    lock = LockInfo(
        trial_id="migraine-magnesium",
        trial_uid="cd" * 16,
        locked_at="2026-01-04T09:00:00+00:00",
        day1=dt.date(2026, 1, 5),
        locked_before_day1=True,
        protocol_hash="ab" * 32,
        locked_hash="ef" * 32,
        schedule_fingerprint="12" * 32,
        current_protocol_hash="34" * 32,
        current_locked_hash="56" * 32,
        current_schedule_fingerprint="12" * 32,
        amendments=(
            Amendment(1, "2026-03-02T10:00:00", "MCID clarified", ("outcomes",), "34" * 32, "5"),
        ),
        reveals=(),
        stopped=None,
        chain_head="78" * 32,
    )
    record, result = scenario(
        events=(sae,), lock_info=lock, deviations=("period 2: 3 day(s) without a diary entry",)
    )
    rendered = render(record, result, figures=False)
    page1 = pdf_pages(rendered.pdf)[0]
    assert "1 serious adverse event" in page1 and "chest pain" in page1
    assert "Stopping rule met" in page1
    text = Page(rendered.html).all_text
    assert "MCID clarified" in text
    assert "period 2: 3 day(s) without a diary entry" in text
    assert "ab" * 32 in text


def _lock_info(**changes: Any) -> LockInfo:
    values: dict[str, Any] = dict(
        trial_id="migraine-magnesium",
        trial_uid="cd" * 16,
        locked_at="2026-01-04T09:00:00+00:00",
        day1=dt.date(2026, 1, 5),
        locked_before_day1=True,
        protocol_hash="ab" * 32,
        locked_hash="ef" * 32,
        schedule_fingerprint="12" * 32,
        current_protocol_hash="ab" * 32,
        current_locked_hash="ef" * 32,
        current_schedule_fingerprint="12" * 32,
        amendments=(),
        reveals=(),
        stopped=None,
        chain_head="78" * 32,
    )
    values.update(changes)
    return LockInfo(**values)


def test_report_shows_one_protocol_hash_the_one_start_printed() -> None:
    record, result = scenario(lock_info=_lock_info())
    # the analysis hashed protocol.toml, whose unlocked sections may have been edited since
    result = attrs.evolve(result, protocol_hash="99" * 32)
    rendered = render(record, result, figures=False)
    text = Page(rendered.html).all_text
    assert "ab" * 32 in text and "99" * 32 not in text
    assert record.protocol.locked_fingerprint() not in text
    assert rendered.metadata["protocol_hash"] == "ab" * 32
    assert "before data collection began (day 1 was 2026-01-05)" in text


def test_report_says_when_the_protocol_was_locked_after_day1() -> None:
    record, result = scenario(lock_info=_lock_info(locked_before_day1=False))
    rendered = render(record, result, figures=False)
    assert "AFTER data collection began (day 1 was 2026-01-05)" in Page(rendered.html).all_text
    assert rendered.metadata["locked_before_day1"] == "false"


def test_report_prints_integrity_verified_and_chain_head() -> None:
    record, result = scenario(lock_info=_lock_info())
    record = attrs.evolve(record, integrity=IntegrityReport((), 12, "78" * 32, 24))
    rendered = render(record, result, figures=False)
    assert f"integrity verified; hash chain head {'78' * 32}" in Page(rendered.html).all_text
    assert "integrity verified" in " ".join(pdf_pages(rendered.pdf)).replace("\n", " ")
    assert rendered.metadata["integrity"] == "verified"
    assert rendered.metadata["chain_head"] == "78" * 32


def test_report_names_what_failed_the_integrity_check_on_page1() -> None:
    record, result = scenario(lock_info=_lock_info())
    problem = Problem("adverse_events", 3, "deleted (its chain link remains)")
    record = attrs.evolve(record, integrity=IntegrityReport((problem,), 12, "78" * 32, 24))
    rendered = render(record, result, figures=False)
    page1 = " ".join(pdf_pages(rendered.pdf)[0].split())
    assert "INTEGRITY CHECK FAILED" in page1
    assert "adverse_events row 3: deleted" in Page(rendered.html).all_text
    assert rendered.metadata["integrity"].startswith("INTEGRITY CHECK FAILED: 1 problem")


def test_planning_table_is_rendered_when_present() -> None:
    record, result = scenario()
    planning = {
        "target_assurance": 0.8,
        "assumed": {"effect": -3.0, "rho": 0.5},
        "designs": [{"blocks": 3, "assurance": 0.71}, {"blocks": 4, "assurance": 0.82}],
    }
    protocol = attrs.evolve(record.protocol, planning=planning)
    html = render(attrs.evolve(record, protocol=protocol), result, figures=False).html
    text = Page(html).all_text
    assert "Target assurance" in text and "effect: -3; rho: 0.5" in text
    assert "0.82" in text and "Designs" in text


# ------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------


def test_write_report_writes_html_pdf_and_json(tmp_path: Path) -> None:
    record, result = scenario(interim=True)
    ws = SimpleNamespace(reports_dir=tmp_path / "reports", protected_paths=lambda _path: [])
    files = write_report(ws, result, record=record)
    assert all(p.exists() and p.stat().st_size > 0 for p in files.paths())
    assert files.pdf.name.endswith("-interim.pdf")
    assert files.pdf.read_bytes().startswith(b"%PDF")
    payload = json.loads(files.json.read_text(encoding="utf-8"))
    assert payload["analysis"]["trial_id"] == "migraine-magnesium"
    assert payload["analysis"]["interim"] is True
    assert payload["report"]["files"]["html"] == files.html.name
    assert payload["report"]["protocol_hash"] == record.protocol.fingerprint()
    assert "Limitations" in payload["report"]["sections"]


# ------------------------------------------------------------------------------------------
# Stopping-rule timeline
# ------------------------------------------------------------------------------------------


def _review(decision: str = "continue") -> Any:
    from nof1.store import Review

    return Review(
        id=1,
        at="2026-03-03T09:00:00+00:00",
        rule="serious_adverse_event",
        description="Any serious adverse event",
        met_on=dt.date(2026, 3, 1),
        evidence="2026-03-01",
        by="Dr Okafor",
        decision=decision,
        note="unrelated fall; continue",
    )


SAE = AdverseEvent(dt.date(2026, 3, 1), "Fell off a ladder", "severe", True, "none")


def test_stopping_rule_timeline_is_in_html_pdf_and_json(tmp_path: Path) -> None:
    record, result = scenario(events=(SAE,))
    record = attrs.evolve(record, reviews=(_review(),))
    ws = SimpleNamespace(reports_dir=tmp_path / "reports", protected_paths=lambda _path: [])
    files = write_report(ws, result, record=record)
    html = Page(files.html.read_text(encoding="utf-8")).all_text
    assert "Stopping-rule timeline" in html
    assert "Dr Okafor, 2026-03-03" in html and "continue: unrelated fall; continue" in html
    assert "completed after every stopping rule met was reviewed" in html
    assert "completed as planned" not in html
    pdf = " ".join(pdf_pages(files.pdf.read_bytes()))
    assert "Stopping-rule timeline" in pdf and "Dr Okafor" in pdf
    assert "reviewed by Dr Okafor on 2026-03-03: continue" in pdf
    [entry] = json.loads(files.json.read_text(encoding="utf-8"))["report"]["stopping_rules"]
    assert entry["rule"] == "serious_adverse_event"
    assert entry["met_on"] == "2026-03-01"
    assert entry["reviews"][0]["by"] == "Dr Okafor"
    assert entry["reviews"][0]["decision"] == "continue"


def test_rule_met_and_not_reviewed_is_never_completed_as_planned() -> None:
    record, result = scenario(events=(SAE,))
    html = Page(render(record, result, figures=False).html).all_text
    assert "completed as planned" not in html
    assert "a stopping rule was met and not reviewed by a clinician" in html
    assert "NOT reviewed by a clinician" in html
    assert "not reviewed" in html


def test_no_rule_met_has_an_empty_timeline(tmp_path: Path) -> None:
    record, result = scenario()
    ws = SimpleNamespace(reports_dir=tmp_path / "reports", protected_paths=lambda _path: [])
    files = write_report(ws, result, record=record)
    assert json.loads(files.json.read_text(encoding="utf-8"))["report"]["stopping_rules"] == []
    assert "Stopping-rule timeline" not in files.html.read_text(encoding="utf-8")
