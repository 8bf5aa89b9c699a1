"""Summary logic on fake posteriors built with ArviZ from arrays (no sampling)."""

from __future__ import annotations

import datetime as dt
import json

import arviz_base as azb
import attrs
import numpy as np
import pytest
import xarray as xr

from nof1 import summary, verdict
from nof1.model.check import CheckNotRun, CheckRun, PredictiveCheck
from nof1.summary import (
    WITHHELD,
    AnalysisResult,
    Diagnostics,
    OutcomeResult,
    PairedComparison,
    PeriodSummary,
    Probabilities,
    RandomizationResult,
    SensitivityResult,
)

#: A predictive check that ran (autocorrelation, period means) and one that did not.
PPC = PredictiveCheck(
    ran=(
        CheckRun("period_means", "spread of period means", 0.4, 0.35, 0.4, False),
        CheckRun("autocorrelation", "lag-1 autocorrelation", 0.1, 0.05, 0.5, False),
    ),
    not_run=(CheckNotRun("zeros", "share of days at or below 0", "not applicable"),),
    draws=500,
)


def fake_idata(
    rng: np.random.Generator,
    chains: int = 2,
    draws: int = 1000,
    *,
    shift: float = 0.0,
    diverging: int = 0,
):
    """Independent normal draws; ``shift`` moves chain 1 away from chain 0 (non-convergence)."""
    effect = rng.normal(0.0, 1.0, size=(chains, draws))
    effect[1:] += shift
    sigma = np.abs(rng.normal(1.0, 0.1, size=(chains, draws)))
    div = np.zeros((chains, draws), dtype=bool)
    div.flat[:diverging] = True
    return azb.from_dict(
        {
            "posterior": {"effect": effect, "sigma": sigma, "const": np.ones((chains, draws))},
            "sample_stats": {"diverging": div},
        }
    )


def test_summarize_draws_gives_median_mean_interval_sd(rng):
    draws = rng.normal(2.0, 0.5, size=40_000)
    s = summary.summarize_draws(draws, "difference")
    assert s.median == pytest.approx(2.0, abs=0.02)
    assert s.mean == pytest.approx(2.0, abs=0.02)
    assert s.ci95[0] == pytest.approx(2.0 - 1.96 * 0.5, abs=0.03)
    assert s.ci95[1] == pytest.approx(2.0 + 1.96 * 0.5, abs=0.03)
    assert s.sd == pytest.approx(0.5, abs=0.01)


def test_summarize_draws_rejects_non_finite_draws():
    with pytest.raises(ValueError, match="finite"):
        summary.summarize_draws(np.array([1.0, np.nan]), "x")


@pytest.mark.parametrize(
    ("centre", "better", "expected"),
    [
        (-3.0, "lower", verdict.BENEFIT),
        (3.0, "higher", verdict.BENEFIT),
        (3.0, "lower", verdict.HARM),
        (0.0, "lower", verdict.NEGLIGIBLE),
        (1.0, "lower", verdict.INCONCLUSIVE),
    ],
)
def test_every_verdict_from_fake_draws(centre, better, expected, rng):
    draws = rng.normal(centre, 0.3 if expected != verdict.INCONCLUSIVE else 1.0, size=4000)
    probs = summary.probabilities(draws, 1.0, better)
    assert verdict.verdict(attrs.asdict(probs), 0.8) == expected


def test_probabilities_are_oriented_and_bounded():
    probs = summary.probabilities(np.full(100, -2.0), 1.0, "lower")
    assert attrs.astuple(probs) == pytest.approx((1.0, 1.0, 0.0, 0.0))
    probs = summary.probabilities(np.full(100, -2.0), 1.0, "higher")
    assert attrs.astuple(probs) == pytest.approx((0.0, 0.0, 1.0, 0.0))
    assert isinstance(probs, Probabilities)


def test_diagnostics_pass_on_well_mixed_chains(rng):
    d = summary.diagnostics(fake_idata(rng))
    assert d.passed, d.problems
    assert d.rhat < 1.01 and d.ess_bulk > 1000 and d.divergences == 0
    assert (d.chains, d.draws, d.attempts) == (2, 1000, 1)


def test_diagnostics_report_the_effect_apart_from_the_worst_parameter(rng):
    idata = fake_idata(rng)
    slow = np.cumsum(rng.normal(size=(2, 1000)), axis=1) * 0.01 + 1.0  # a sticky random walk
    idata.posterior["sigma"] = xr.DataArray(slow, dims=("chain", "draw"))
    d = summary.diagnostics(idata)
    assert d.effect_ess_bulk > 1000 > d.ess_bulk  # the worst parameter is sigma, not the effect
    assert d.effect_rhat < 1.01 < d.rhat
    assert d.to_dict()["effect"]["ess_bulk"] == pytest.approx(d.effect_ess_bulk)
    no_effect = summary.diagnostics(fake_idata(rng), var_names=["sigma"])
    assert np.isnan(no_effect.effect_ess_bulk) and no_effect.to_dict()["effect"]["rhat"] is None


def test_diagnostics_fail_and_name_the_problem_when_chains_disagree(rng):
    d = summary.diagnostics(fake_idata(rng, shift=1.0), attempts=2)
    assert not d.passed
    assert any(p.startswith("R-hat") for p in d.problems)
    reason = summary.withheld_reason(d)
    assert reason is not None and "after sampling 2 times" in reason and "R-hat" in reason


def test_diagnostics_count_divergences(rng):
    d = summary.diagnostics(fake_idata(rng, diverging=3))
    assert d.divergences == 3 and not d.passed
    assert "3 divergent transitions" in d.problems


def test_diagnostics_fail_on_low_ess(rng):
    d = summary.diagnostics(fake_idata(rng, draws=150))
    assert not d.passed
    assert any("bulk ESS" in p for p in d.problems)


def test_withheld_reason_is_none_when_diagnostics_pass(rng):
    assert summary.withheld_reason(summary.diagnostics(fake_idata(rng))) is None


def test_sensitivity_result_says_whether_the_verdict_changes(rng):
    same = summary.sensitivity_result(
        "sceptical prior",
        rng.normal(-3, 0.3, 2000),
        mcid=1.0,
        better="lower",
        threshold=0.8,
        primary_verdict=verdict.BENEFIT,
        scale="x",
    )
    assert same.verdict == verdict.BENEFIT and not same.verdict_changes
    changed = summary.sensitivity_result(
        "vague prior",
        rng.normal(0, 3, 2000),
        mcid=1.0,
        better="lower",
        threshold=0.8,
        primary_verdict=verdict.BENEFIT,
        scale="x",
    )
    assert changed.verdict == verdict.INCONCLUSIVE and changed.verdict_changes


def test_sensitivity_result_is_withheld_when_its_diagnostics_fail(rng):
    bad = summary.diagnostics(fake_idata(rng, shift=1.0))
    s = summary.sensitivity_result(
        "vague prior",
        rng.normal(-3, 0.3, 2000),
        mcid=1.0,
        better="lower",
        threshold=0.8,
        primary_verdict=verdict.BENEFIT,
        scale="x",
        diag=bad,
    )
    # could not be assessed: never reported as a changed verdict
    assert s.verdict == WITHHELD and not s.verdict_changes and "R-hat" in s.note


def make_outcome(verdict_text: str = verdict.BENEFIT, reason: str | None = None) -> OutcomeResult:
    draws = np.random.default_rng(7).normal(-2.0, 0.5, 2000)  # fixed data, not test noise
    diag = Diagnostics(1.002, 900.0, 800.0, 0, 2, 1000)
    return OutcomeResult(
        name="peak_pain",
        label="Peak pain",
        kind="continuous",
        better="lower",
        mcid=1.0,
        units="points",
        primary=True,
        effect=summary.summarize_draws(draws, "difference"),
        relative=None,
        probabilities=summary.probabilities(draws, 1.0, "lower"),
        verdict=verdict_text,
        withheld_reason=reason,
        diagnostics=diag,
        predictive_check=PPC,
        randomization=RandomizationResult(0.0625, -2.1, 16, True, "pairwise", "all 16"),
        paired=PairedComparison(-2.0, (-3.0, -1.0), 0.01, 4),
        sensitivity=(
            SensitivityResult("sceptical prior", None, None, "not run", False, "skipped"),
        ),
        periods=(PeriodSummary(1, 1, "A", 14, 7, 5.0), PeriodSummary(2, 1, "B", 14, 7, None)),
        n_analysed=56,
        effect_draws=draws,
        model_description="Bayesian normal model",
    )


def make_result(**kwargs) -> AnalysisResult:
    return AnalysisResult(
        trial_id="t1",
        title="Trial",
        interim=kwargs.get("interim", False),
        analysed_through=dt.date(2026, 3, 1),
        outcomes=(kwargs.get("outcome") or make_outcome(),),
        software_version="0.1.0",
        protocol_hash="ab" * 32,
        created_at="2026-03-02T10:00:00+00:00",
    )


def test_json_has_the_documented_shape():
    data = json.loads(make_result().to_json())
    assert set(data) >= {
        "schema_version",
        "trial_id",
        "title",
        "interim",
        "analysed_through",
        "software_version",
        "protocol_hash",
        "created_at",
        "outcomes",
    }
    o = data["outcomes"]["peak_pain"]
    assert set(o["effect"]) >= {"median", "mean", "ci95"} and len(o["effect"]["ci95"]) == 2
    assert set(o["probabilities"]) == {
        "benefit",
        "meaningful_benefit",
        "meaningful_harm",
        "negligible",
    }
    assert set(o["diagnostics"]) >= {"rhat", "ess_bulk", "ess_tail", "divergences"}
    assert o["randomization"]["p_value"] == 0.0625
    assert o["paired"]["ci95"] == [-3.0, -1.0]
    assert o["verdict"] == verdict.BENEFIT and o["withheld_reason"] is None
    assert o["relative"] is None
    assert [p["mean"] for p in o["periods"]] == [5.0, None]
    assert o["sensitivity"][0]["verdict"] == "not run"
    assert "effect_draws" not in o


def test_json_of_a_withheld_verdict_carries_the_reason():
    outcome = make_outcome(WITHHELD, "the sampler did not converge")
    data = json.loads(make_result(outcome=outcome, interim=True).to_json())
    o = data["outcomes"]["peak_pain"]
    assert o["verdict"] == "withheld"
    assert o["withheld_reason"] == "the sampler did not converge"
    assert data["interim"] is True
    assert outcome.withheld


def test_json_turns_non_finite_numbers_into_null():
    r = RandomizationResult(None, float("nan"), 1, True, "fixed", "not randomized")
    assert r.to_dict()["p_value"] is None and r.to_dict()["statistic"] is None


def test_result_types_are_frozen():
    with pytest.raises(AttributeError):
        make_outcome().verdict = "x"  # type: ignore[misc]


def test_grid_diagnostics_pass_and_name_the_engine_in_json(rng: np.random.Generator) -> None:
    d = summary.grid_diagnostics(points=4096, change=1e-6, edge_mass=1e-11, draws=2000)
    assert d.passed and d.engine == "grid"
    out = d.to_dict()
    assert out["engine"] == "grid" and out["rhat"] is None and out["effect"]["rhat"] is None
    assert out["grid"] == {"points": 4096, "change": 1e-6, "edge_mass": 1e-11}
    assert summary.diagnostics(fake_idata(rng)).to_dict()["grid"] is None


def test_grid_diagnostics_withhold_when_the_answer_still_moves_or_mass_is_on_the_edge() -> None:
    moving = summary.grid_diagnostics(points=100, change=0.3, edge_mass=1e-11, draws=2000)
    edge = summary.grid_diagnostics(points=100, change=1e-6, edge_mass=0.01, draws=2000)
    nan = summary.grid_diagnostics(points=100, change=float("nan"), edge_mass=0.0, draws=2000)
    for d in (moving, edge, nan):
        assert not d.passed
        reason = summary.withheld_reason(d)
        assert reason is not None and "grid integration did not settle" in reason
    assert "still moving" in moving.problems[0] and "edge mass" in edge.problems[0]
