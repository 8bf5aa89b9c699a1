"""Posterior predictive checks (nof1.model.check) on synthetic posteriors: no sampling.

The posteriors are built with ArviZ from arrays under the names of docs/design decision #1
(``intercept``, ``beta``, ``latent_sd``, ``inv_dispersion``, ``cutpoints``, ...), so the checks
do not depend on which model produced them.
"""

from __future__ import annotations

import json
import math

import arviz_base as azb
import numpy as np
import pytest

from helpers import FakeFits
from nof1 import model
from nof1.analysis import Settings, analyze_outcome, model_data
from nof1.dataset import OutcomeData, PeriodSummary
from nof1.errors import AnalysisError
from nof1.model import check
from nof1.model.check import CHECKS, MIN_PAIRS, MIN_PERIODS
from nof1.model.terms import trend_basis
from nof1.prior import PriorSpec
from nof1.protocol import OutcomeSpec
from nof1.report.check import predictive_check_table

K = 5  # ordinal categories
N_PERIODS = 8
DAYS = 21


def make_data(kind: str, y: np.ndarray | None = None, *, periods: int = N_PERIODS, seed: int = 1):
    """Days of ``periods`` periods of DAYS days, alternating A/B, with a gap every period."""
    rng = np.random.default_rng(seed)
    n = periods * DAYS
    period = np.repeat(np.arange(periods), DAYS)
    arm = period % 2 if periods > 1 else np.arange(n) % 2
    time = np.arange(n) + 3.0 * period  # a 3-day washout gap between periods
    if y is None:
        y = {
            "continuous": rng.normal(5, 1, n),
            "binary": rng.binomial(1, 0.4, n),
            "count": rng.poisson(1.5, n),
            "ordinal": rng.integers(0, K, n),
        }[kind]
    knots = tuple(float(time[period == p][-1]) for p in range(1, periods, 2))
    return model.ModelData(
        y=y,
        arm=arm,
        time=time,
        period=period,
        knots=knots,
        n_categories=K if kind == "ordinal" else None,
    )


def make_spec(kind: str, *, latent: str = "period", trend: str = "none", ac: bool = True):
    return model.ModelSpec(
        kind=kind, autocorrelation=ac, trend=trend, prior=prior(kind), latent=latent
    )


def prior(kind: str) -> PriorSpec:
    cut = (-1.4, -0.4, 0.4, 1.4) if kind == "ordinal" else ()
    return PriorSpec(kind=kind, cutpoint_mu=cut)


def make_fit(post: dict[str, np.ndarray]) -> model.Fit:
    idata = azb.from_dict({"posterior": post})
    effect = np.asarray(post.get("beta", np.zeros((2, 100)))).reshape(-1)
    return model.Fit(idata=idata, effect=effect, relative=None, latent=None, seconds={})


def posterior(
    kind: str,
    data: model.ModelData,
    spec: model.ModelSpec,
    *,
    chains: int = 2,
    draws: int = 150,
    seed: int = 2,
    **values: float,
) -> dict[str, np.ndarray]:
    """Draws concentrated near ``values`` (defaults: a plausible model of ``make_data``)."""
    rng = np.random.default_rng(seed)

    def near(x: float, sd: float = 0.05, shape: tuple[int, ...] = ()) -> np.ndarray:
        return x + sd * rng.standard_normal((chains, draws, *shape))

    post: dict[str, np.ndarray] = {}
    if kind == "continuous":
        post["intercept"] = near(values.get("intercept", 5.0))
        post["effect"] = near(values.get("beta", 0.0))
        post["beta"] = post["effect"]
        post["sigma"] = np.abs(near(values.get("sigma", 1.0)))
        post["rho"] = np.clip(near(values.get("rho", 0.1)), 0, 0.99)
        basis, hinges = trend_basis(data.time, spec.trend, data.knots)
        if basis.shape[1]:
            post["trend_slope"] = near(0.0)
            for j in range(hinges):
                post[f"trend_knot_{j}"] = near(0.0)
        return post
    post["beta"] = near(values.get("beta", 0.0))
    if kind in ("count", "binary"):
        default = math.log(1.5) if kind == "count" else math.log(0.4 / 0.6)
        post["intercept"] = near(values.get("intercept", default))
    if kind == "count":
        post["inv_dispersion"] = np.abs(near(values.get("inv_dispersion", 0.05), 0.01))
    if kind == "ordinal":
        cut = np.array([-1.4, -0.4, 0.4, 1.4])
        post["cutpoints"] = cut + 0.05 * rng.standard_normal((chains, draws, K - 1))
    if spec.autocorrelation:
        post["latent_sd"] = np.abs(near(values.get("latent_sd", 0.2), 0.02))
        if spec.latent == "ar":
            post["latent_rho"] = np.clip(near(values.get("latent_rho", 0.3)), 0, 0.99)
    basis, hinges = trend_basis(data.time, spec.trend, data.knots)
    if basis.shape[1]:
        post["trend_slope"] = near(0.0)
    if hinges:
        post["trend_knots"] = near(0.0, shape=(hinges,))
    return post


# --------------------------------------------------------------------------------------------
# Replicates: shape and support
# --------------------------------------------------------------------------------------------

SUPPORT = {
    "binary": lambda y: np.isin(y, (0, 1)).all(),
    "count": lambda y: (y >= 0).all() and (y == np.round(y)).all(),
    "ordinal": lambda y: np.isin(y, np.arange(K)).all(),
    "continuous": lambda y: np.isfinite(y).all(),
}


@pytest.mark.parametrize("kind", ["binary", "count", "ordinal", "continuous"])
@pytest.mark.parametrize(("latent", "trend"), [("period", "none"), ("ar", "spline")])
def test_replicates_have_the_shape_and_support_of_the_kind(kind, latent, trend):
    data = make_data(kind)
    spec = make_spec(kind, latent=latent, trend=trend)
    reps = check.replicates(make_fit(posterior(kind, data, spec)), data, spec, seed=3, n_draws=120)
    assert reps.y_rep.shape == reps.fitted.shape == (120, data.y.size)
    assert SUPPORT[kind](reps.y_rep)
    assert np.isfinite(reps.fitted).all()


@pytest.mark.parametrize("kind", ["binary", "count", "ordinal"])
def test_replicates_without_autocorrelation_need_no_latent_sd(kind):
    data = make_data(kind)
    spec = make_spec(kind, ac=False, trend="linear")
    post = posterior(kind, data, spec)
    assert "latent_sd" not in post
    reps = check.replicates(make_fit(post), data, spec, seed=3)
    assert SUPPORT[kind](reps.y_rep)


def test_replicates_match_the_model_rates():
    """A count model at rate 1.5/day with little overdispersion replicates that mean and the
    Poisson-like variance; a binary model at p = 0.4 replicates p."""
    data = make_data("count")
    spec = make_spec("count", ac=False)
    reps = check.replicates(make_fit(posterior("count", data, spec)), data, spec, seed=4)
    assert abs(reps.y_rep.mean() - 1.5) < 0.05
    assert abs(reps.y_rep.var() - 1.5 * (1 + 0.05 * 1.5)) < 0.15
    data = make_data("binary")
    spec = make_spec("binary", ac=False)
    reps = check.replicates(make_fit(posterior("binary", data, spec)), data, spec, seed=4)
    assert abs(reps.y_rep.mean() - 0.4) < 0.02


def test_period_intercepts_are_drawn_anew_per_period():
    """latent = 'period': days of one period share one new intercept, so the spread of the
    replicated period means grows with latent_sd."""
    data = make_data("binary")
    spec = make_spec("binary")
    spreads = []
    for sd in (0.01, 1.5):
        post = posterior("binary", data, spec, latent_sd=sd)
        reps = check.replicates(make_fit(post), data, spec, seed=5)
        means = np.stack([reps.y_rep[:, data.period == p].mean(axis=1) for p in range(8)], 1)
        spreads.append(float(np.median(means.std(axis=1))))
    assert spreads[1] > 2 * spreads[0]


def test_a_period_z_in_the_posterior_is_ignored():
    data = make_data("count")
    spec = make_spec("count")
    post = posterior("count", data, spec)
    a = check.replicates(make_fit(post), data, spec, seed=6)
    post["period_z"] = np.full((2, 150, N_PERIODS), 50.0)  # would blow up counts if used
    b = check.replicates(make_fit(post), data, spec, seed=6)
    np.testing.assert_array_equal(a.y_rep, b.y_rep)


def test_continuous_replicates_add_period_intercepts_when_the_posterior_has_latent_sd():
    data = make_data("continuous")
    spec = make_spec("continuous")
    post = posterior("continuous", data, spec, rho=0.0)
    plain = check.replicates(make_fit(post), data, spec, seed=7)
    post["latent_sd"] = np.full((2, 150), 3.0)
    shocked = check.replicates(make_fit(post), data, spec, seed=7)

    def spread(y_rep):
        return np.median(
            np.stack([y_rep[:, data.period == p].mean(axis=1) for p in range(8)], 1).std(axis=1)
        )

    assert spread(shocked.y_rep) > 5 * spread(plain.y_rep)


# --------------------------------------------------------------------------------------------
# Statistics, p-values and the list of checks
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["binary", "count", "ordinal", "continuous"])
def test_checks_listed_are_exactly_the_ones_computed(kind):
    data = make_data(kind)
    spec = make_spec(kind)
    pc = check.run(make_fit(posterior(kind, data, spec)), data, spec, seed=8)
    ran = [c.name for c in pc.ran]
    assert sorted(ran + [c.name for c in pc.not_run]) == sorted(CHECKS)
    assert ran == list(CHECKS)  # enough periods and consecutive days: every check ran
    for c in pc.ran:
        assert 0.0 <= c.p_value <= 1.0
        assert c.flagged == (c.p_value < check.FLAG_LOW or c.p_value > check.FLAG_HIGH)
    assert pc.passed == (not any(c.flagged for c in pc.ran))
    out = pc.to_dict()
    assert [c["name"] for c in out["checks"]] == ran
    assert out["not_run"] == []
    assert out["acf1_p_value"] == pc.get("autocorrelation").p_value
    json.dumps(out, allow_nan=False)


def test_p_value_counts_ties_half_and_ignores_non_finite():
    assert check.p_value(1.0, np.array([0.0, 1.0, 2.0, 2.0])) == pytest.approx(0.625)
    assert check.p_value(1.0, np.array([np.nan, 2.0])) == 1.0
    assert math.isnan(check.p_value(1.0, np.array([np.nan])))


def test_lag1_autocorrelation_skips_gaps():
    x = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    assert check.lag1_autocorrelation(x) < -0.9
    # with a gap between every day there are no neighbours at all
    assert check.lag1_autocorrelation(x, np.arange(6) * 2.0) == 0.0


def test_residual_autocorrelation_uses_consecutive_days_only():
    """Residuals alternate within periods; the jump across each washout gap is not a pair."""
    data = make_data("continuous")
    r = np.where(np.arange(data.y.size) % 2 == 0, 1.0, -1.0)
    assert check.lag1_autocorrelation(r, data.time) < -0.99


def test_check_flags_zero_inflation_that_the_model_misses():
    rng = np.random.default_rng(10)
    base = make_data("count")
    y = np.where(rng.random(base.y.size) < 0.5, 0, rng.poisson(3.0, base.y.size))
    data = make_data("count", y)
    spec = make_spec("count")
    # the NB fitted to these data matches their mean (1.5) with modest overdispersion
    pc = check.run(make_fit(posterior("count", data, spec, inv_dispersion=0.3)), data, spec, 11)
    zeros = pc.get("zeros")
    assert zeros is not None and zeros.flagged and zeros.p_value < check.FLAG_LOW
    assert not pc.passed


def test_check_flags_day_to_day_dependence_that_the_model_misses():
    rng = np.random.default_rng(12)
    n = N_PERIODS * DAYS
    e = np.zeros(n)
    for t in range(1, n):
        e[t] = 0.8 * e[t - 1] + 0.6 * rng.normal()
    data = make_data("continuous", 5 + e)
    spec = make_spec("continuous", ac=False)
    post = posterior("continuous", data, spec, sigma=float(e.std()))
    pc = check.run(make_fit(post), data, spec, 13)
    acf = pc.get("autocorrelation")
    assert acf is not None and acf.flagged and acf.observed > 0.5


def test_check_flags_period_shifts_that_the_model_misses():
    rng = np.random.default_rng(14)
    data0 = make_data("continuous")
    shift = np.array([0.0, 2.0, -2.0, 1.5, -1.5, 0.0, 2.0, -2.0])[data0.period]
    data = make_data("continuous", 5 + shift + rng.normal(0, 1, data0.y.size))
    spec = make_spec("continuous")
    post = posterior("continuous", data, spec, sigma=float(data.y.std()), rho=0.0)
    pc = check.run(make_fit(post), data, spec, 15)
    assert pc.get("period_means").flagged


def test_well_specified_data_pass():
    data = make_data("count", seed=20)
    spec = make_spec("count", ac=False)
    pc = check.run(make_fit(posterior("count", data, spec)), data, spec, 21)
    assert pc.passed, pc.summary()


# --------------------------------------------------------------------------------------------
# Hostile input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["binary", "count", "ordinal", "continuous"])
def test_check_survives_all_zero_data(kind):
    data = make_data(kind, np.zeros(N_PERIODS * DAYS))
    spec = make_spec(kind)
    post = posterior(kind, data, spec, intercept=-4.0, beta=0.0, sigma=0.1)
    if kind == "ordinal":
        post["cutpoints"] = post["cutpoints"] + 4.0
    pc = check.run(make_fit(post), data, spec, 16)
    assert sorted(c.name for c in pc.ran + pc.not_run) == sorted(CHECKS)
    for c in pc.ran:
        assert math.isfinite(c.observed) and 0 <= c.p_value <= 1
    zeros = pc.get("zeros")
    assert zeros is not None and zeros.observed == 1.0


def test_check_with_one_period_lists_period_means_as_not_run():
    data = make_data("binary", periods=1)
    spec = make_spec("binary")
    pc = check.run(make_fit(posterior("binary", data, spec)), data, spec, 17)
    skipped = {c.name: c.reason for c in pc.not_run}
    assert list(skipped) == ["period_means"]
    assert f"needs at least {MIN_PERIODS}" in skipped["period_means"]
    assert pc.get("period_means") is None and pc.period_means_p_value is None


def test_check_without_consecutive_days_lists_autocorrelation_as_not_run():
    n = 2 * MIN_PAIRS
    data = model.ModelData(
        y=np.random.default_rng(1).normal(size=n),
        arm=np.arange(n) % 2,
        time=np.arange(n) * 2.0,
        period=np.arange(n) // 4,
    )
    spec = make_spec("continuous")
    pc = check.run(make_fit(posterior("continuous", data, spec)), data, spec, 18)
    assert [c.name for c in pc.not_run] == ["autocorrelation"]
    assert "0 pair(s) of consecutive days" in pc.not_run[0].reason


def test_check_skips_nan_draws():
    data = make_data("count")
    spec = make_spec("count")
    post = posterior("count", data, spec)
    post["beta"][0, :100] = np.nan
    post["latent_sd"][1, :10] = np.inf
    reps = check.replicates(make_fit(post), data, spec, seed=19)
    assert reps.y_rep.shape[0] == 2 * 150 - 110
    assert SUPPORT["count"](reps.y_rep)


def test_check_rejects_a_posterior_of_nan_draws():
    data = make_data("ordinal")
    spec = make_spec("ordinal")
    post = posterior("ordinal", data, spec)
    post["cutpoints"][:] = np.nan
    with pytest.raises(AnalysisError, match=r"0 of 300 posterior draws are finite.*'cutpoints'"):
        check.replicates(make_fit(post), data, spec, seed=20)


@pytest.mark.parametrize(
    ("kind", "missing"),
    [
        ("binary", "intercept"),
        ("count", "inv_dispersion"),
        ("ordinal", "cutpoints"),
        ("binary", "latent_sd"),
        ("continuous", "sigma"),
        ("continuous", "rho"),
    ],
)
def test_check_rejects_a_posterior_missing_a_variable(kind, missing):
    data = make_data(kind)
    spec = make_spec(kind)
    post = posterior(kind, data, spec)
    del post[missing]
    with pytest.raises(AnalysisError, match=f"no variable '{missing}'.*{kind} model"):
        check.replicates(make_fit(post), data, spec, seed=21)


def test_check_rejects_a_posterior_missing_the_latent_rho_of_an_ar_latent():
    data = make_data("count")
    spec = make_spec("count", latent="ar")
    post = posterior("count", data, spec)
    del post["latent_rho"]
    with pytest.raises(AnalysisError, match="'latent_rho'"):
        check.replicates(make_fit(post), data, spec, seed=22)


def test_check_rejects_cutpoints_of_the_wrong_size():
    data = make_data("ordinal")
    spec = make_spec("ordinal")
    post = posterior("ordinal", data, spec)
    post["cutpoints"] = post["cutpoints"][..., :2]
    with pytest.raises(AnalysisError, match="'cutpoints' has 2 value"):
        check.replicates(make_fit(post), data, spec, seed=23)


def test_check_rejects_a_trend_model_without_its_trend_draws():
    data = make_data("binary")
    spec = make_spec("binary", trend="spline")
    post = posterior("binary", data, spec)
    del post["trend_knots"]
    with pytest.raises(AnalysisError, match="'trend_knots'"):
        check.replicates(make_fit(post), data, spec, seed=24)


def test_check_survives_absurd_count_draws():
    data = make_data("count")
    spec = make_spec("count")
    post = posterior("count", data, spec, intercept=200.0, inv_dispersion=0.0)
    post["inv_dispersion"][:] = 0.0
    reps = check.replicates(make_fit(post), data, spec, seed=25)
    assert np.isfinite(reps.y_rep).all() and (reps.y_rep >= 0).all()


# --------------------------------------------------------------------------------------------
# Analysis, JSON and report list what ran
# --------------------------------------------------------------------------------------------


def outcome_data(kind: str) -> OutcomeData:
    md = make_data(kind)
    spec = OutcomeSpec(
        name=f"{kind}_outcome",
        question="How was today?",
        kind=kind,
        better="lower",
        mcid=1.0,
        **({"categories": tuple(f"c{i}" for i in range(K))} if kind == "ordinal" else {}),
    )
    return OutcomeData(
        outcome=spec,
        date=(None,) * md.y.size,
        time=md.time,
        y=md.y,
        arm=md.arm,
        period=md.period + 1,
        block=md.period // 2 + 1,
        adherent=np.ones(md.y.size, dtype=bool),
        knots=md.knots,
        periods=tuple(
            PeriodSummary(
                p + 1, p // 2 + 1, "AB"[p % 2], DAYS, DAYS, float(md.y[md.period == p].mean())
            )
            for p in range(N_PERIODS)
        ),
        source="table",
    )


class KindFits(FakeFits):
    """FakeFits plus the variables of the kind (decision #1 names)."""

    def __call__(self, data, spec, **kwargs):  # type: ignore[no-untyped-def]
        fit = super().__call__(data, spec, **kwargs)
        chains, draws = kwargs["chains"], kwargs["draws"]
        post = posterior(spec.kind, data, spec, chains=chains, draws=draws)
        return model.Fit(
            idata=azb.from_dict({"posterior": post}),
            effect=fit.effect,
            relative=None,
            latent=None,
            seconds=fit.seconds,
        )


@pytest.mark.parametrize("kind", ["binary", "count", "ordinal"])
def test_analysis_records_the_checks_that_ran_for_every_kind(kind):
    data = outcome_data(kind)
    settings = Settings(draws=100, tune=10, chains=2, sensitivity=False)
    result = analyze_outcome(data, settings, fit=KindFits())
    pc = result.predictive_check
    assert pc is not None and [c.name for c in pc.ran] == list(CHECKS) and pc.draws >= 100
    out = json.loads(json.dumps(result.to_dict(), allow_nan=False))["predictive_check"]
    assert [c["name"] for c in out["checks"]] == list(CHECKS)
    table = predictive_check_table([result])
    assert [row[1] for row in table.rows] == [c.label for c in pc.ran]


def test_analysis_lists_every_check_as_not_run_when_the_posterior_lacks_a_variable():
    """FakeFits has no ``beta``: the count checks cannot run, and the result says why."""
    data = outcome_data("count")
    settings = Settings(draws=100, tune=10, chains=2, sensitivity=False)
    result = analyze_outcome(data, settings, fit=FakeFits())
    pc = result.predictive_check
    assert pc is not None and pc.ran == () and not pc.flagged
    assert [c.name for c in pc.not_run] == list(CHECKS)
    assert all("no variable 'beta'" in c.reason for c in pc.not_run)
    rows = predictive_check_table([result]).rows
    assert len(rows) == len(CHECKS)
    assert all(row[-1].startswith("not run: ") for row in rows)
    assert not any(row[-1] in ("no misfit detected", "possible misfit") for row in rows)


def test_model_data_of_an_outcome_feeds_the_check():
    data = outcome_data("binary")
    md = model_data(data)
    spec = make_spec("binary")
    pc = check.run(make_fit(posterior("binary", md, spec)), md, spec, 26)
    assert pc.draws == 300


def test_p_value_compares_a_per_draw_statistic_draw_by_draw():
    observed = np.array([1.0, 2.0, 3.0, 4.0])
    assert check.p_value(observed, observed + 0.5) == 1.0
    assert check.p_value(observed, observed - 0.5) == 0.0
    assert check.p_value(observed, np.array([2.0, 1.0, np.nan, 4.0])) == pytest.approx(0.5)


def test_continuous_replicates_redraw_period_columns_of_the_design(monkeypatch):
    """A continuous design with period-intercept columns (``period_j``, not in the posterior):
    they are drawn anew from ``latent_sd``, never looked up."""
    from nof1.model import terms

    def with_periods(data, spec):
        dm = terms.design(data, spec)
        index = np.unique(data.period, return_inverse=True)[1]
        cols = [(index == j).astype(float) for j in range(index.max() + 1)]
        names = tuple(f"period_{j}" for j in range(len(cols)))
        return terms.DesignMatrix(
            np.column_stack([dm.x, *cols]),
            np.concatenate([dm.means, np.zeros(len(cols))]),
            np.concatenate([dm.sds, np.full(len(cols), np.nan)]),
            dm.hinges,
            dm.names + names,
        )

    monkeypatch.setattr(check, "design", with_periods)
    data = make_data("continuous")
    spec = make_spec("continuous")
    post = posterior("continuous", data, spec)
    post["latent_sd"] = np.full((2, 150), 0.5)
    reps = check.replicates(make_fit(post), data, spec, seed=27)
    assert reps.y_rep.shape == (300, data.y.size) and np.isfinite(reps.y_rep).all()


def test_check_rejects_a_period_latent_without_periods():
    data = make_data("binary")
    data = model.ModelData(y=data.y, arm=data.arm, time=data.time)
    spec = make_spec("binary")
    post = posterior("binary", make_data("binary"), spec)
    with pytest.raises(AnalysisError, match="needs the period of each day"):
        check.replicates(make_fit(post), data, spec, seed=28)
