"""Outcome models (nof1.model): graphs without sampling, exact algebra and posterior, recovery."""

from __future__ import annotations

import itertools

import arviz_stats as azs
import numpy as np
import pytensor
import pytest
from scipy import integrate, optimize, stats
from scipy.special import logit

from nof1.errors import DataError
from nof1.model import Fit, ModelData, ModelSpec, build_model, fit
from nof1.model.continuous import build_marginal_model, draw_coefficients
from nof1.model.graph import latent_ar_matrix
from nof1.model.terms import design, trend_basis
from nof1.prior import default_prior
from nof1.protocol import OutcomeSpec
from nof1.simulate import default_cutpoints, ordinal_expected, simulate_outcome

KINDS = ("continuous", "count", "binary", "ordinal")
N_DAYS = 84  # 6 periods of 14 days
TIME = np.arange(N_DAYS, dtype=float)
ARM = np.repeat([0, 1, 1, 0, 1, 0], 14)
PERIOD = np.repeat(np.arange(6), 14)
KNOTS = (27.5, 55.5, 83.5)
FAST = "FAST_COMPILE"  # graph checks need values, not speed: skip the C compiler


def outcome(kind: str, mcid: float = 1.0) -> OutcomeSpec:
    extra: dict[str, object] = {}
    if kind == "continuous":
        extra = dict(minimum=0.0, maximum=10.0)
    if kind == "ordinal":
        extra = dict(categories=("none", "mild", "moderate", "severe"))
    return OutcomeSpec(name="x", kind=kind, question="?", better="lower", mcid=mcid, **extra)  # type: ignore[arg-type]


SETTINGS = {
    "continuous": dict(baseline=5.0, effect=-1.5, sd=1.5, minimum=0.0, maximum=10.0),
    "count": dict(baseline=10.0, effect=-6.0, dispersion=3.0),
    "binary": dict(baseline=12.0, effect=-8.0),
    "ordinal": dict(baseline=0.5, effect=-1.5, n_categories=4),
}


def simulated(kind: str, *, seed: int = 1, rho: float = 0.4, gaps: bool = True) -> ModelData:
    """Daily data from the project's simulator; ``gaps`` drops a few days (exact-gap paths)."""
    rng = np.random.default_rng(seed)
    y = simulate_outcome(kind, ARM, TIME, rng=rng, rho=rho, **SETTINGS[kind])  # type: ignore[arg-type]
    keep = np.ones(N_DAYS, dtype=bool)
    if gaps:
        keep[[5, 6, 30, 61]] = False
    return ModelData(
        y=y[keep],
        arm=ARM[keep],
        time=TIME[keep],
        n_categories=4 if kind == "ordinal" else None,
        knots=KNOTS,
        period=PERIOD[keep],
    )


def spec(
    kind: str, autocorrelation: bool = True, trend: str = "none", latent: str = "ar"
) -> ModelSpec:
    return ModelSpec(
        kind=kind,
        autocorrelation=autocorrelation,
        trend=trend,
        prior=default_prior(outcome(kind)),
        latent=latent,
    )


# --------------------------------------------------------------------------------------------
# tier 1: graphs, no sampling
# --------------------------------------------------------------------------------------------


def logp_and_gradient(model, point):  # type: ignore[no-untyped-def]
    """Log-probability and its gradient at ``point``, compiled once together (bambi's check)."""
    return model.compile_fn([model.logp(), model.dlogp()], mode=FAST, point_fn=True)(point)


GRAPHS = (
    [
        (kind, ac, trend, "ar")
        for kind, ac, trend in itertools.product(KINDS, (False, True), ("none", "linear", "spline"))
    ]
    + [(kind, True, trend, "period") for kind in KINDS[1:] for trend in ("none", "spline")]
    + [("continuous", True, "none", "period")]
)

EXTRA = {"count": "rate_ratio", "binary": "odds_ratio", "ordinal": "latent_effect"}


@pytest.mark.parametrize(("kind", "ac", "trend", "latent"), GRAPHS)
def test_graph_has_finite_logp_and_gradient_at_start(
    kind: str, ac: bool, trend: str, latent: str
) -> None:
    data = simulated(kind)
    model = build_model(data, spec(kind, ac, trend, latent))
    names = set(model.named_vars)
    marginal = latent == "period" and kind != "continuous"
    assert {"effect", "beta"} <= names
    if kind in EXTRA:
        assert EXTRA[kind] in names
    assert ("rho" in names) == (ac and kind == "continuous")
    assert ("latent_rho" in names) == (ac and kind != "continuous" and latent == "ar")
    # non-Gaussian period intercepts are integrated out, never sampled; the continuous NUTS
    # graph keeps them (the grid integrates them in closed form)
    assert ("period_z" in names) == (latent == "period" and kind == "continuous")
    assert ("latent_sd" in names) == (ac and (kind != "continuous" or latent == "period"))
    assert ("trend_slope" in names) == (trend != "none")
    assert ("trend_tau" in names) == (trend == "spline")
    if marginal:
        assert "y" not in names and [p.name for p in model.potentials] == ["y_marginal"]
    else:
        assert model["y"].shape.eval()[0] == data.y.size
    point = model.initial_point()
    logp, grad = logp_and_gradient(model, point)
    assert np.isfinite(logp)
    assert np.all(np.isfinite(grad)) and grad.size == sum(np.size(v) for v in point.values())


@pytest.mark.parametrize(
    ("ac", "trend"), itertools.product((False, True), TRENDS := ("none", "linear", "spline"))
)
def test_collapsed_continuous_graph_has_finite_logp_and_gradient(ac: bool, trend: str) -> None:
    model = build_marginal_model(simulated("continuous"), spec("continuous", ac, trend))
    assert {v.name for v in model.free_RVs} == {"sigma"} | ({"rho"} if ac else set()) | (
        {"trend_tau"} if trend == "spline" else set()
    )
    logp, grad = logp_and_gradient(model, model.initial_point())
    assert np.isfinite(logp)
    assert np.all(np.isfinite(grad))


def test_collapsed_likelihood_equals_the_dense_gaussian_integral() -> None:
    """p(y | sigma, rho) with beta integrated out = N(y; X m, sigma^2 R(rho) + X S X')."""
    data = simulated("continuous")
    s = spec("continuous", True, "linear")
    model = build_marginal_model(data, s)
    sigma, rho = 1.3, 0.55
    [graph] = model.replace_rvs_by_values([model.potentials[0]])
    potential = model.compile_fn(graph, point_fn=True, mode=FAST)
    value = potential({"sigma_log__": np.log(sigma), "rho_logodds__": logit(rho)})
    dm = design(data, s)
    x, m, sds = dm.x, dm.means, dm.sds
    t = data.time
    cov = sigma**2 * rho ** np.abs(t[:, None] - t[None, :]) + x @ np.diag(sds**2) @ x.T
    expected = stats.multivariate_normal(x @ m, cov).logpdf(data.y)
    assert value == pytest.approx(expected, rel=1e-9, abs=1e-7)


def _potential(model, values):  # type: ignore[no-untyped-def]
    [graph] = model.replace_rvs_by_values([model.potentials[0]])
    return model.compile_fn(graph, point_fn=True, mode=FAST)(values)


def test_collapsed_likelihood_with_period_intercepts_equals_the_dense_gaussian_integral() -> None:
    """With period intercepts u ~ N(0, tau^2 I): cov = sigma^2 R(rho) + X S X' + tau^2 U U'."""
    data = simulated("continuous")
    s = spec("continuous", True, "linear", latent="period")
    model = build_marginal_model(data, s)
    assert {v.name for v in model.free_RVs} == {"sigma", "rho", "latent_sd"}
    sigma, rho, tau = 1.3, 0.55, 0.7
    value = _potential(
        model,
        {"sigma_log__": np.log(sigma), "rho_logodds__": logit(rho), "latent_sd_log__": np.log(tau)},
    )
    dm = design(data, s)
    assert dm.periods == 6 and dm.names[-6:] == tuple(f"period_{j}" for j in range(6))
    fixed = dm.x[:, : dm.fixed]
    u = (data.period[:, None] == np.arange(6)[None, :]).astype(float)
    t = data.time
    cov = (
        sigma**2 * rho ** np.abs(t[:, None] - t[None, :])
        + fixed @ np.diag(dm.sds[: dm.fixed] ** 2) @ fixed.T
        + tau**2 * u @ u.T
    )
    expected = stats.multivariate_normal(fixed @ dm.means[: dm.fixed], cov).logpdf(data.y)
    assert value == pytest.approx(expected, rel=1e-9, abs=1e-7)


def test_collapsed_period_likelihood_equals_brute_force_integration_over_the_intercepts() -> None:
    """A numerical integral over two period intercepts, not the algebra, gives the same value."""
    rng = np.random.default_rng(3)
    time = np.array([0.0, 1, 2, 4, 5, 6, 7, 9])  # gaps inside the periods
    arm = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    period = np.array([0, 0, 0, 0, 1, 1, 1, 1])  # one period per arm: u spans the effect
    y = 5.0 - arm + rng.normal(0, 1, 8)
    data = ModelData(y=y, arm=arm, time=time, period=period)
    s = spec("continuous", True, "none", latent="period")
    sigma, rho, tau = 1.1, 0.4, 0.9
    value = _potential(
        build_marginal_model(data, s),
        {"sigma_log__": np.log(sigma), "rho_logodds__": logit(rho), "latent_sd_log__": np.log(tau)},
    )
    prior = s.prior
    x = np.column_stack([np.ones(8), arm])
    m = np.array([prior.intercept_mu, prior.effect_mu])
    cov = (
        sigma**2 * rho ** np.abs(time[:, None] - time[None, :])
        + x @ np.diag([prior.intercept_sigma**2, prior.effect_sigma**2]) @ x.T
    )
    given_u = stats.multivariate_normal(x @ m, cov)

    def integrand(u1: float, u0: float) -> float:
        shift = np.where(period == 0, u0, u1)
        return float(
            np.exp(given_u.logpdf(y - shift) - value)
            * stats.norm.pdf(u0, 0, tau)
            * stats.norm.pdf(u1, 0, tau)
        )

    total, _err = integrate.dblquad(integrand, -8 * tau, 8 * tau, -8 * tau, 8 * tau, epsabs=1e-10)
    assert np.log(total) == pytest.approx(0.0, abs=1e-6)


def test_collapsed_coefficient_draws_follow_the_gls_posterior() -> None:
    data = simulated("continuous")
    s = spec("continuous", True, "linear")
    sigma, rho, d = 1.3, 0.55, 40_000
    draws = draw_coefficients(
        data,
        s,
        {"sigma": np.full((1, d), sigma), "rho": np.full((1, d), rho)},
        np.random.default_rng(0),
    )
    dm = design(data, s)
    x, m, sds, names = dm.x, dm.means, dm.sds, dm.names
    t = data.time
    r_inv = np.linalg.inv(sigma**2 * rho ** np.abs(t[:, None] - t[None, :]))
    precision = np.diag(1 / sds**2) + x.T @ r_inv @ x
    cov = np.linalg.inv(precision)
    mean = cov @ (m / sds**2 + x.T @ r_inv @ data.y)
    got = np.column_stack([draws[n].ravel() for n in names])
    se = np.sqrt(np.diag(cov) / d)
    assert np.all(np.abs(got.mean(0) - mean) < 5 * se)
    cov_se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / d)
    assert np.all(np.abs(np.cov(got.T) - cov) < 5 * cov_se)


def test_latent_ar_matrix_gives_gap_exact_correlation() -> None:
    t = np.array([0.0, 1.0, 2.0, 5.0, 6.0, 10.0])
    rho = 0.7
    chol = pytensor.function([], latent_ar_matrix(pytensor.tensor.constant(rho), t))()
    assert chol @ chol.T == pytest.approx(rho ** np.abs(t[:, None] - t[None, :]))


def test_spline_basis_is_zero_at_mid_trial_with_one_hinge_per_interior_knot() -> None:
    basis, hinges = trend_basis(TIME, "spline", KNOTS + (200.0,))
    assert hinges == 2  # 83.5 is the last day's block end, 200 is outside
    mid = np.argmin(np.abs(TIME - TIME.mean()))
    assert np.abs(basis[mid]).max() < 0.02


def test_model_data_reports_every_problem() -> None:
    with pytest.raises(DataError, match="arm must contain days of both arms.*strictly increasing"):
        ModelData(y=[1.0, 2, 3, 4], arm=[0, 0, 0, 0], time=[0.0, 2, 1, 3])


def test_model_data_rejects_missing_values() -> None:
    with pytest.raises(DataError, match="y must be finite"):
        ModelData(y=[1.0, np.nan, 3, 4], arm=[0, 1, 0, 1], time=[0.0, 1, 2, 3])


def test_count_model_rejects_negative_counts() -> None:
    data = ModelData(y=[1.0, -1, 3, 4], arm=[0, 1, 0, 1], time=[0.0, 1, 2, 3])
    with pytest.raises(DataError, match="whole numbers"):
        build_model(data, spec("count"))


def test_period_latent_needs_periods() -> None:
    data = ModelData(y=[1.0, 0, 3, 4], arm=[0, 1, 0, 1], time=[0.0, 1, 2, 3])
    with pytest.raises(DataError, match="period is missing"):
        build_model(data, spec("count", latent="period"))


def test_continuous_period_model_needs_periods() -> None:
    data = ModelData(y=[1.0, 0, 3, 4], arm=[0, 1, 0, 1], time=[0.0, 1, 2, 3])
    with pytest.raises(DataError, match="period is missing"):
        build_marginal_model(data, spec("continuous", latent="period"))
    with pytest.raises(DataError, match="period is missing"):
        build_model(data, spec("continuous", latent="period"))


def test_model_data_rejects_nan_period() -> None:
    with pytest.raises(DataError, match=r"period must hold one whole-number .*got nan on day 1"):
        ModelData(y=[1.0, 0, 3, 4], arm=[0, 1, 0, 1], time=[0.0, 1, 2, 3], period=[0, np.nan, 1, 1])


def test_model_data_rejects_fractional_or_text_period() -> None:
    with pytest.raises(DataError, match=r"got 0.5 on day 2"):
        ModelData(y=[1.0, 0, 3, 4], arm=[0, 1, 0, 1], time=[0.0, 1, 2, 3], period=[0, 0, 0.5, 1])
    with pytest.raises(DataError, match="number the periods 0, 1, 2"):
        ModelData(y=[1.0, 0, 3, 4], arm=[0, 1, 0, 1], time=[0.0, 1, 2, 3], period=list("aabb"))


def test_period_labels_non_contiguous_and_unordered_give_the_same_model() -> None:
    """Labels 70, 3, 12, … (any integers, in any order) mean the same periods as 0..5."""
    data = simulated("continuous")
    relabelled = np.array([70, 3, 12, -5, 8, 41])[data.period]
    other = ModelData(y=data.y, arm=data.arm, time=data.time, knots=KNOTS, period=relabelled)
    s = spec("continuous", latent="period")
    point = {"sigma_log__": 0.3, "rho_logodds__": 0.2, "latent_sd_log__": -0.5}
    assert _potential(build_marginal_model(other, s), point) == pytest.approx(
        _potential(build_marginal_model(data, s), point), rel=1e-12
    )


def test_period_label_reused_for_two_stretches_shares_one_intercept() -> None:
    """A label that comes back later (non-contiguous) is one period: one column, not two."""
    data = simulated("continuous")
    folded = data.period % 4  # periods 0 and 4 share a label, 1 and 5 too
    other = ModelData(y=data.y, arm=data.arm, time=data.time, knots=KNOTS, period=folded)
    dm = design(other, spec("continuous", latent="period"))
    assert dm.periods == 4 and np.all(dm.x[:, -4:].sum(axis=1) == 1.0)
    model = build_marginal_model(other, spec("continuous", latent="period"))
    logp, grad = logp_and_gradient(model, model.initial_point())
    assert np.isfinite(logp) and np.all(np.isfinite(grad))


def test_continuous_describe_says_whether_there_is_a_period_term() -> None:
    assert "period random intercepts" in spec("continuous", latent="period").describe()
    text = spec("continuous").describe()
    assert "no period-level term" in text and "period random" not in text


def test_spec_rejects_a_prior_for_another_kind() -> None:
    with pytest.raises(ValueError, match="prior is for a binary outcome"):
        ModelSpec(
            kind="count",
            autocorrelation=False,
            trend="none",
            prior=default_prior(outcome("binary")),
        )


def test_describe_names_likelihood_and_structure() -> None:
    text = spec("count", True, "spline").describe()
    assert "negative binomial" in text and "latent AR(1)" in text and "spline" in text


def test_describe_says_period_intercepts_are_integrated_out() -> None:
    text = spec("binary", True, "none", latent="period").describe()
    assert "period random intercepts" in text and "Gauss–Hermite" in text


def test_period_graph_takes_data_with_any_period_labels() -> None:
    # hostile: period labels that are neither 0-based nor contiguous nor sorted by value
    data = simulated("binary")
    labels = np.array([90, 3, 3, 17, 5, 41])[np.searchsorted(np.unique(data.period), data.period)]
    relabelled = ModelData(y=data.y, arm=data.arm, time=data.time, period=labels)
    model = build_model(relabelled, spec("binary", latent="period"))
    logp, grad = logp_and_gradient(model, model.initial_point())
    assert np.isfinite(logp) and np.all(np.isfinite(grad))
    assert model["membership"].get_value().shape == (5, 5)  # 5 distinct labels, 5 cells


def test_period_graph_with_one_day_periods_has_finite_logp() -> None:
    # hostile: every day its own period (the random intercept is then a day effect)
    data = simulated("count")
    days = ModelData(y=data.y, arm=data.arm, time=data.time, period=np.arange(data.y.size))
    model = build_model(days, spec("count", latent="period"))
    logp, grad = logp_and_gradient(model, model.initial_point())
    assert np.isfinite(logp) and np.all(np.isfinite(grad))


def test_period_graph_keeps_finite_gradient_at_extreme_parameters() -> None:
    # hostile: a period SD of exactly 0, a tiny and a huge one, extreme dispersion and level
    model = build_model(simulated("count"), spec("count", latent="period"))
    for sd, log_inv, level in ((0.0, 3.0, 8.0), (1e-9, 3.0, 8.0), (20.0, -12.0, -8.0)):
        point = model.initial_point()
        point.update(latent_sd_signed=sd, inv_dispersion_log__=log_inv, intercept_mid=level)
        logp, grad = logp_and_gradient(model, point)
        assert np.isfinite(logp) and np.all(np.isfinite(grad))


# --------------------------------------------------------------------------------------------
# tier 4: real sampling
# --------------------------------------------------------------------------------------------


def _analytic_effect_posterior(data: ModelData, s: ModelSpec) -> tuple[np.ndarray, ...]:
    """Mixture over a sigma grid of the conditional Gaussian posterior of (level, effect)."""
    prior = s.prior
    x = np.column_stack([np.ones(data.y.size), data.arm])
    m = np.array([prior.intercept_mu, prior.effect_mu])
    s_inv = np.diag(1 / np.array([prior.intercept_sigma, prior.effect_sigma]) ** 2)
    y, n = data.y, data.y.size
    sigma = np.linspace(0.2, 5.0, 4000)
    logw, means, sds = [], [], []
    for sg in sigma:
        precision = s_inv + x.T @ x / sg**2
        cov = np.linalg.inv(precision)
        mean = cov @ (s_inv @ m + x.T @ y / sg**2)
        marginal_cov = sg**2 * np.eye(n) + x @ np.linalg.inv(s_inv) @ x.T
        logw.append(
            stats.multivariate_normal(x @ m, marginal_cov).logpdf(y)
            + stats.halfnorm(scale=prior.sigma_scale).logpdf(sg)
        )
        means.append(mean[1])
        sds.append(np.sqrt(cov[1, 1]))
    w = np.exp(np.array(logw) - max(logw))
    return w / w.sum(), np.array(means), np.array(sds)


@pytest.mark.sampling
def test_continuous_posterior_matches_the_analytic_posterior() -> None:
    data = simulated("continuous", rho=0.0, gaps=False)
    s = spec("continuous", autocorrelation=False)
    w, mu, sd = _analytic_effect_posterior(data, s)
    mean = float(w @ mu)
    post_sd = float(np.sqrt(w @ (sd**2 + mu**2) - mean**2))

    def cdf(q: float) -> float:
        return float(w @ stats.norm.cdf(q, mu, sd))

    def pdf(q: float) -> float:
        return float(w @ stats.norm.pdf(q, mu, sd))

    # Tolerances are Monte Carlo standard errors from the draws' own ESS, so a few thousand
    # draws suffice: a bias of ~0.05 posterior SDs in the mean or ~6% in the SD still fails.
    result = fit(data, s, draws=4000, tune=1000, chains=2, seed=11)
    draws = result.effect
    ess_mean = float(azs.ess(result.idata, var_names=["effect"], method="mean")["effect"])
    assert ess_mean > 2000  # the collapsed model's effect draws are nearly independent
    assert abs(draws.mean() - mean) < 4 * post_sd / np.sqrt(ess_mean)
    assert abs(draws.std() - post_sd) < 4 * post_sd / np.sqrt(2 * ess_mean)
    for prob in (0.025, 0.975):
        exact = optimize.brentq(
            lambda q, p=prob: cdf(q) - p, mean - 10 * post_sd, mean + 10 * post_sd
        )
        ess = float(
            azs.ess(result.idata, var_names=["effect"], method="quantile", prob=prob)["effect"]
        )
        mcse = np.sqrt(prob * (1 - prob) / ess) / pdf(exact)
        assert abs(np.quantile(draws, prob) - exact) < 3.5 * mcse


def _truth(kind: str) -> float:
    setting = SETTINGS[kind]
    if kind != "ordinal":
        return float(setting["effect"])
    cut = default_cutpoints(4)
    b = float(setting["baseline"])
    return ordinal_expected(b + float(setting["effect"]), cut) - ordinal_expected(b, cut)


@pytest.mark.sampling
@pytest.mark.parametrize("kind", KINDS)
def test_recovers_a_known_effect(kind: str) -> None:
    data = simulated(kind, seed=3)
    result = fit(data, spec(kind, autocorrelation=True), draws=500, tune=500, chains=2, seed=5)
    assert isinstance(result, Fit)
    low, high = np.quantile(result.effect, [0.025, 0.975])
    assert low < _truth(kind) < high
    assert result.effect.shape == (1000,)
    assert (result.relative is not None) == (kind in ("count", "binary"))
    assert (result.latent is not None) == (kind == "ordinal")
    if result.relative is not None:
        assert np.all(result.relative > 0)
    assert set(result.seconds) == {"build", "compile", "sample", "total"}


@pytest.mark.sampling
def test_continuous_spline_trend_recovers_the_effect_under_drift() -> None:
    rng = np.random.default_rng(8)
    y = simulate_outcome(
        "continuous",
        ARM,
        TIME,
        rng=rng,
        rho=0.4,
        trend_per_day=0.03,
        **SETTINGS["continuous"],  # type: ignore[arg-type]
    )
    data = ModelData(y=y, arm=ARM, time=TIME, knots=KNOTS)
    result = fit(data, spec("continuous", True, "spline"), draws=500, tune=500, seed=2)
    low, high = np.quantile(result.effect, [0.025, 0.975])
    assert low < -1.5 < high
    assert "trend_slope" in result.idata.posterior and "intercept" in result.idata.posterior


@pytest.mark.sampling
def test_same_seed_gives_the_same_draws() -> None:
    data = simulated("continuous")
    s = spec("continuous", True)
    a = fit(data, s, draws=200, tune=200, seed=4)
    b = fit(data, s, draws=200, tune=200, seed=4)
    assert np.array_equal(a.effect, b.effect)


def test_replicates_of_the_period_model_draw_new_period_shocks() -> None:
    """Period intercepts are not in the posterior: replicates draw them from N(0, latent_sd²)."""
    import arviz_base as azb

    from nof1.model.check import replicates

    data = simulated("continuous")
    s = spec("continuous", latent="period")
    spreads = []
    for period_sd in (1e-9, 2.0):
        shape = (1, 400)
        post = {
            "intercept": np.full(shape, 5.0),
            "effect": np.full(shape, -1.0),
            "sigma": np.full(shape, 0.5),
            "rho": np.full(shape, 0.3),
            "latent_sd": np.full(shape, period_sd),
        }
        fit_ = Fit(
            idata=azb.from_dict({"posterior": post}),
            effect=post["effect"].ravel(),
            relative=None,
            latent=None,
            seconds={},
        )
        rep = replicates(fit_, data, s, seed=1, n_draws=400)
        mu, y_rep = rep.fitted, rep.y_rep
        assert mu.shape == y_rep.shape == (400, data.y.size)
        means = np.stack([(y_rep - mu)[:, data.period == j].mean(axis=1) for j in range(6)], 1)
        spreads.append(float(means.std(axis=1).mean()))
    assert spreads[0] < 0.3 < 1.0 < spreads[1]
