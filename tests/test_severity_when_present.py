"""Attack severity analysed on headache days only ("severity when present").

The templates' severity (none/mild/moderate/severe, asked only on headache days) is analysed
with ``analyse = "when_asked"``: on the days it was asked, over the categories that can occur
then (mild, moderate, severe), so a drop in headache frequency is not counted a second time as
"lower severity". Protocol rules, the data the model sees, the prior, the planner, the hostile
cases, and (real sampling) the frequency-only effect that must not move severity.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import attrs
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import template_text
from helpers import FakeFits
from nof1 import prior as priors
from nof1 import verdict
from nof1.analysis import Settings, analyze_outcome, baseline_values, model_data
from nof1.cli import app
from nof1.dataset import OutcomeData, from_records
from nof1.errors import DataError, PlanError, ProtocolError
from nof1.plan.planner import _simulation_inputs, default_assumptions, simulate_design
from nof1.protocol import TrialProtocol, set_design_values
from nof1.record import Observation
from nof1.schedule import Schedule, build_schedule
from nof1.simulate import default_cutpoints, simulate_trial

SEVERITY_PART = (
    'analyse = "when_asked"            # severity when present: analysed on headache days only\n'  # noqa: E501
)
SEVERITY = """categories = ["none", "mild", "moderate", "severe"]"""


def protocol(text: str | None = None, seed: int = 1) -> TrialProtocol:
    text = template_text() if text is None else text
    return TrialProtocol.from_text(
        set_design_values(text, {"start_date": dt.date(2026, 1, 5), "seed": seed})
    )


def problems(old: str, new: str) -> list[str]:
    text = template_text()
    assert old in text, old
    with pytest.raises(ProtocolError) as info:
        protocol(text.replace(old, new, 1))
    return list(info.value.problems)


def analysed_days(schedule: Schedule, n: int) -> list[dt.date]:
    """The first ``n`` analysed days of each period."""
    days = []
    for p in schedule.periods:
        days += [p.analysed_start + dt.timedelta(days=i) for i in range(n)]
    return days


def severity_data(
    p: TrialProtocol, by_day: dict[dt.date, tuple[float | None, float]]
) -> OutcomeData:
    """Severity's data from (headache_day or None when not logged, severity) per date."""
    obs = []
    for date, (headache, severity) in by_day.items():
        if headache is not None:
            obs.append(Observation(date, "headache_day", headache))
        obs.append(Observation(date, "severity", severity))
    return from_records(p.outcome("severity"), build_schedule(p), obs, protocol=p)


# -- the protocol ------------------------------------------------------------------------------


def test_every_template_analyses_severity_on_headache_days_over_mild_to_severe() -> None:
    for name in ("migraine-magnesium", "migraine-sleep", "migraine-pregnenolone"):
        spec = protocol(template_text(name)).outcome("severity")
        assert spec.when_asked and spec.skipped_value == 0.0
        assert spec.absent_category == 0 and spec.category_offset == 1
        assert spec.analysed_categories == ("mild", "moderate", "severe")
        assert spec.mcid == 0.5  # half a category of attack severity


def test_when_asked_ordinal_rejects_a_skipped_value_in_the_middle_of_the_scale() -> None:
    found = problems('skipped_value = "none" ', 'skipped_value = "moderate" ')
    assert found == [
        "outcomes[2].skipped_value of an ordinal outcome analysed when asked (analyse = "
        '"when_asked") is the category that means "absent" on a skipped day, which cannot '
        "occur on a day it is asked, so it must be the first or the last of severity's "
        "categories (none or severe) (got 'moderate'): reorder the categories or remove "
        "skipped_value"
    ]


def test_when_asked_ordinal_rejects_a_scale_left_with_two_categories() -> None:
    found = problems(SEVERITY, 'categories = ["none", "mild", "severe"]')
    assert found == [
        "outcomes[2]: severity is analysed only when asked, where its skipped_value 'none' "
        "cannot occur, which leaves 2 categories (mild, severe); an ordinal analysis needs at "
        'least 3: add a category, or use analyse = "every_day"'
    ]


def test_when_asked_ordinal_with_absent_as_last_category_keeps_the_others() -> None:
    text = template_text().replace(
        SEVERITY, 'categories = ["mild", "moderate", "severe", "none"]', 1
    )
    spec = protocol(text).outcome("severity")
    assert spec.absent_category == 3 and spec.category_offset == 0
    assert spec.analysed_categories == ("mild", "moderate", "severe")


def test_when_asked_ordinal_without_skipped_value_keeps_every_category() -> None:
    text = template_text().replace(
        'skipped_value = "none"            # a headache-free day is severity "none"\n', "", 1
    )
    spec = protocol(text).outcome("severity")
    assert spec.when_asked and spec.skipped_value is None and spec.absent_category is None
    assert spec.analysed_categories == spec.categories and spec.category_offset == 0


def test_severity_analysed_every_day_keeps_none() -> None:
    spec = protocol(template_text().replace(SEVERITY_PART, "", 1)).outcome("severity")
    assert not spec.when_asked and spec.absent_category is None
    assert spec.analysed_categories == ("none", "mild", "moderate", "severe")


# -- the data the model sees -------------------------------------------------------------------


def test_model_sees_the_headache_days_renumbered_over_mild_to_severe() -> None:
    p = protocol()
    days = analysed_days(build_schedule(p), 3)
    by_day: dict[dt.date, tuple[float | None, float]] = {}
    for i, date in enumerate(days):
        by_day[date] = (1.0, float(1 + i % 3)) if i % 2 == 0 else (0.0, 0.0)
    data = severity_data(p, by_day)
    headache = [d for i, d in enumerate(days) if i % 2 == 0]
    assert list(data.date) == headache  # headache-free days are not analysed
    assert set(data.y) == {1.0, 2.0, 3.0}  # stored coding: what the person logged
    md = model_data(data)
    assert md.n_categories == 3 and list(md.y) == list(data.y - 1.0)
    assert data.part.startswith("intensity when present: analysed only on the 12 days")
    assert (
        "categories analysed: mild, moderate, severe ('none' cannot occur when asked), so the "
        "expected category runs from mild to severe"
    ) in data.part
    assert data.part in data.notes


def test_when_asked_ordinal_rates_none_on_a_headache_day_as_mild_and_says_so() -> None:
    p = protocol()
    days = analysed_days(build_schedule(p), 2)
    by_day: dict[dt.date, tuple[float | None, float]] = dict.fromkeys(days, (1.0, 2.0))
    by_day[days[0]] = (1.0, 0.0)  # a headache day rated "none": a contradiction
    by_day[days[1]] = (1.0, 0.0)
    data = severity_data(p, by_day)
    assert data.n == len(days)  # the headache is kept
    assert data.y[0] == 1.0 and data.y[1] == 1.0  # read as "mild"
    assert min(model_data(data).y) == 0.0
    assert (
        "2 days rated 'none' although severity was asked (headache_day == yes), where 'none' "
        "cannot occur: analysed as 'mild', the nearest category that can; correct the diary "
        "if that is wrong"
    ) in data.notes


def test_when_asked_ordinal_none_without_headache_day_logged_is_not_analysed() -> None:
    p = protocol()
    days = analysed_days(build_schedule(p), 2)
    by_day: dict[dt.date, tuple[float | None, float]] = dict.fromkeys(days, (1.0, 3.0))
    by_day[days[0]] = (None, 0.0)  # "none" and no headache_day: not a day it was asked
    by_day[days[1]] = (None, 2.0)  # a rating without the condition: evidently asked
    data = severity_data(p, by_day)
    assert days[0] not in data.date and days[1] in data.date
    assert (
        "1 day rated 'none' without headache_day logged: read as days it was not asked, so not "
        "analysed; correct the diary if that is wrong"
    ) in data.notes


def test_when_asked_ordinal_with_no_asked_days_is_a_clear_error() -> None:
    p = protocol()
    days = analysed_days(build_schedule(p), 5)
    data = severity_data(p, dict.fromkeys(days, (0.0, 0.0)))  # no headache day at all
    assert data.n == 0
    assert "analysed only on the 0 days it was asked" in data.part
    with pytest.raises(DataError) as info:
        analyze_outcome(data, Settings(sensitivity=False), fit=FakeFits())
    assert str(info.value) == (
        "outcome 'severity' has too few analysed days to estimate an effect (0 in A, 0 in B; "
        "need at least 2 in each arm and 6 in all): log more days"
    )


def test_when_asked_ordinal_with_every_asked_day_in_one_category_gets_a_proper_prior() -> None:
    p = protocol()
    spec = p.outcome("severity")
    days = analysed_days(build_schedule(p), 4)
    data = severity_data(p, dict.fromkeys(days, (1.0, 2.0)))  # always "moderate"
    prior = priors.default_prior(spec, baseline_values(data))
    cut = np.asarray(prior.cutpoint_mu)
    assert cut.size == 2 and np.all(np.isfinite(cut)) and cut[0] < cut[1]
    # "moderate" is the middle analysed category: the cutpoints straddle latent 0
    assert cut[0] < 0 < cut[1]
    for make in (priors.sceptical_prior, priors.vague_prior):
        assert math.isfinite(make(spec, baseline_values(data)).effect_sigma)


def test_prior_of_severity_on_headache_days_has_no_cutpoint_for_none() -> None:
    spec = protocol().outcome("severity")
    assert len(priors.default_prior(spec).cutpoint_mu) == 2  # mild | moderate | severe
    baseline = np.array([1.0, 1.0, 2.0, 3.0])  # stored: mild, mild, moderate, severe
    cut = priors.default_prior(spec, baseline).cutpoint_mu
    shares = (np.array([2, 1, 1]) + 0.5) / (4 + 1.5)
    expected = [math.log(q / (1 - q)) for q in np.cumsum(shares)[:-1]]
    assert cut == pytest.approx(expected)
    # every day, "none" has its own cutpoint and the same days read differently
    every_day = attrs.evolve(spec, analyse="every_day")
    assert len(priors.default_prior(every_day, baseline).cutpoint_mu) == 3


# -- the planner -------------------------------------------------------------------------------


def test_planner_plans_severity_on_the_headache_days_over_mild_to_severe() -> None:
    p = protocol()
    spec = p.outcome("severity")
    a = default_assumptions(p, spec)
    assert a.asked_days == 8.0  # headache days per 28, as for peak pain
    assert a.baseline == 2.0  # moderate: the simulator's middle category on headache days
    kw = _simulation_inputs(spec, a)
    assert list(kw["cutpoints"]) == list(default_cutpoints(3))
    assert kw["baseline"] == pytest.approx(0.0, abs=1e-9)  # the simulator's location


def test_planner_refuses_a_severity_baseline_of_none_on_headache_days() -> None:
    p = protocol()
    with pytest.raises(PlanError) as info:
        default_assumptions(p, p.outcome("severity"), baseline=0.5)
    assert str(info.value) == (
        "baseline must be an expected category between 1 and 3 (exclusive) for severity when "
        "asked (got 0.5)"
    )
    with pytest.raises(PlanError, match="takes severity outside its scale when asked 1–3"):
        default_assumptions(p, p.outcome("severity"), baseline=1.5, effect=-0.6)


def test_planner_simulates_severity_on_headache_days_only() -> None:
    p = protocol()
    spec = p.outcome("severity")
    from nof1.plan.planner import design_of

    result = simulate_design(
        p, spec, design_of(p.design), default_assumptions(p, spec), simulations=4, seed=2, jobs=1
    )
    assert sum(result.verdicts.values()) == pytest.approx(1.0)
    assert math.isfinite(result.ci_width) and result.ci_width > 0


def test_cli_plan_for_severity_says_it_is_analysed_on_headache_days() -> None:
    args = ["plan", "--template", "migraine-magnesium", "--outcome", "severity"]
    result = CliRunner().invoke(app, [*args, "--sims", "3", "--jobs", "1", "--blocks", "2"])
    assert result.exit_code == 0, result.output
    assert "Outcome severity (ordinal); MCID 0.5" in result.output
    assert "comparator level 2" in result.output
    assert "analysed only when asked: on 8 of 28 days" in result.output


# -- the simulator -----------------------------------------------------------------------------


def test_simulated_severity_on_headache_days_does_not_follow_headache_frequency() -> None:
    """Fewer headache days leave the severity of each remaining attack as it was: the simulator
    draws severity from a latent series independent of the headache days' (same seed, so the
    same random numbers, with and without a frequency effect)."""
    p = protocol()
    schedule = build_schedule(p)
    for seed in range(3):
        runs = [
            {
                o.date: o.value
                for o in simulate_trial(p, schedule, seed=seed, effects=effects).observations
                if o.outcome == "severity"
            }
            for effects in ({}, {"headache_day": -5.0})
        ]
        fewer = set(runs[1])
        assert fewer and fewer < set(runs[0])  # fewer headache days on magnesium
        assert set(runs[0].values()) <= {1.0, 2.0, 3.0}  # never "none" when asked
        assert all(runs[1][d] == runs[0][d] for d in fewer)  # the same attacks, as severe


# -- real sampling -----------------------------------------------------------------------------


@pytest.mark.sampling
def test_a_frequency_only_effect_is_not_counted_again_as_lower_severity() -> None:
    """Headache days fall from 8 to 2 per 28; attack severity does not change. Analysed every
    day ("none" on headache-free days) severity appeared to fall; on headache days it does not."""
    p = protocol(seed=4)
    schedule = build_schedule(p)
    trial = simulate_trial(p, schedule, seed=21, effects={"headache_day": -6.0}, rho=0.3)
    settings = Settings(sensitivity=False, draws=400, tune=400, seed=4)
    spec = p.outcome("severity")
    results = {}
    for label, s in (("when asked", spec), ("every day", attrs.evolve(spec, analyse="every_day"))):
        data = from_records(s, schedule, trial.observations, trial.adherence, protocol=p)
        results[label] = analyze_outcome(data, settings, design=p.design)
    now, before = results["when asked"], results["every day"]
    assert now.diagnostics.passed and before.diagnostics.passed
    low, high = now.effect.ci95
    assert low < 0 < high and abs(now.effect.mean) < 0.25  # ~0: attack severity did not change
    assert "categories analysed: mild, moderate, severe" in now.model_description
    # every day, the frequency effect reappeared as "lower severity" (truth ≈ −0.4 categories)
    assert before.effect.ci95[1] < 0 and before.effect.mean < -0.25
    assert before.probabilities.benefit > 0.95


@pytest.mark.sampling
def test_when_asked_ordinal_with_every_asked_day_in_one_category_finds_no_difference() -> None:
    """Every headache day "moderate", in both arms: the two unobserved edge categories rest on
    their priors, the fit converges and the difference is ~0, confidently."""
    p = protocol()
    days = [d for d in analysed_days(build_schedule(p), 21) if d.day % 3 == 0]
    data = severity_data(p, dict.fromkeys(days, (1.0, 2.0)))
    assert data.n >= 40 and set(model_data(data).y) == {1.0}
    result = analyze_outcome(data, Settings(sensitivity=False, draws=400, tune=400, seed=2))
    assert result.diagnostics.passed, result.diagnostics.problems
    low, high = result.effect.ci95
    assert -0.2 < low < 0 < high < 0.2
    assert result.verdict == verdict.NEGLIGIBLE


@pytest.mark.sampling
def test_an_empty_lowest_category_leaves_a_sensible_estimate() -> None:
    """An ordinal outcome whose lowest category is never observed (severity 1-3 declared on a
    0-3 scale, as a CSV of headache days gives): the cutpoint of the empty category rests on
    its prior, and the effect on the observed categories is still recovered."""
    from nof1 import model
    from nof1.model import ModelData, ModelSpec

    rng = np.random.default_rng(5)
    n = 160
    arm = np.tile(np.repeat([0, 1], 20), 4)
    period = np.repeat(np.arange(1, 9), 20)
    location = np.where(arm == 1, -1.2, 0.0)  # B lowers severity
    latent = location + rng.logistic(size=n)
    y = 1.0 + (latent > -0.75) + (latent > 0.75)  # categories 1..3; 0 never occurs
    outcome = attrs.evolve(
        protocol().outcome("severity"), ask_if=None, skipped_value=None, analyse="every_day"
    )
    prior = priors.default_prior(outcome, y[arm == 0])
    assert prior.cutpoint_mu[0] < -3  # the empty category: a low, finite cutpoint
    data = ModelData(
        y=y, arm=arm, time=np.arange(1, n + 1, dtype=float), n_categories=4, period=period
    )
    spec = ModelSpec(
        kind="ordinal", autocorrelation=True, trend="none", prior=prior, latent="period"
    )
    fit = model.fit(data, spec, draws=400, tune=400, chains=2, seed=3)
    observed = float(y[arm == 1].mean() - y[arm == 0].mean())
    low, high = np.quantile(fit.effect, [0.025, 0.975])
    assert low < observed < high and high < 0
    assert np.all(np.isfinite(fit.effect))


# -- CSV data (`nof1 analyze --data`) ----------------------------------------------------------


def _severity_csv(path: Path, values: list[str]) -> Path:
    rows = ["day,treatment,severity"]
    for i, value in enumerate(values):
        rows.append(f"{i + 1},{'AB'[(i // 6) % 2]},{value}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_csv_ordinal_whose_lowest_category_never_occurs_says_so(tmp_path: Path) -> None:
    """Severity of headache days only (1-3, blank otherwise) in a CSV: the scale is 0-3 and the
    note says 0 was never seen, instead of the model's empty category passing unremarked."""
    from nof1 import analysis
    from nof1.dataset import TableSpec, read_table

    values = ["", "1", "2", "", "3", "2"] * 8
    path = _severity_csv(tmp_path / "severity.csv", values)
    spec = TableSpec("severity", "treatment", "day", kind="ordinal", mcid=0.5)
    completed = analysis._complete_table_outcome(read_table(path, spec))
    assert completed.outcome.categories == ("0", "1", "2", "3")
    assert (
        "categories 0–3; 0 never occurs in the data: the model's cutpoint next to an empty "
        "category rests on its prior (it adds almost nothing to the difference in expected "
        "category)"
    ) in completed.notes
    assert "16 row(s) without a value of 'severity' (empty or NA) left out" in completed.notes


def test_csv_ordinal_with_every_category_seen_has_no_empty_category_note(tmp_path: Path) -> None:
    from nof1 import analysis
    from nof1.dataset import TableSpec, read_table

    path = _severity_csv(tmp_path / "severity.csv", ["0", "1", "2", "3", "2", "1"] * 8)
    spec = TableSpec("severity", "treatment", "day", kind="ordinal", mcid=0.5)
    completed = analysis._complete_table_outcome(read_table(path, spec))
    assert not [n for n in completed.notes if "never occur" in n]
