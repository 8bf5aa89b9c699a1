"""The planner's fast posteriors (nof1.plan.approx) against exact answers where they exist."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import expit

from nof1.plan.approx import _inflation, continuous_posterior, glm_posterior, posterior
from nof1.prior import PriorSpec
from nof1.simulate import default_cutpoints, ordinal_shift, simulate_outcome

T = np.arange(168.0)
ARM = (T // 14 % 2).astype(int)


def _exact_normal_effect(y: np.ndarray, arm: np.ndarray, prior: PriorSpec) -> tuple[float, float]:
    """Posterior mean and SD of the effect, integrating sigma by adaptive quadrature."""
    x = np.column_stack([np.ones(y.size), arm])
    m = np.array([prior.intercept_mu, prior.effect_mu])
    s0 = np.diag([prior.intercept_sigma**2, prior.effect_sigma**2])

    def parts(sigma: float) -> tuple[float, float, float]:
        cov = s0 + 0  # marginal y ~ N(Xm, X S0 X' + sigma^2 I)
        marg = x @ cov @ x.T + sigma**2 * np.eye(y.size)
        logp = stats.multivariate_normal(x @ m, marg).logpdf(y)
        logp += stats.halfnorm(scale=prior.sigma_scale).logpdf(sigma)
        precision = np.linalg.inv(s0) + x.T @ x / sigma**2
        post_cov = np.linalg.inv(precision)
        mean = post_cov @ (np.linalg.inv(s0) @ m + x.T @ y / sigma**2)
        return logp, mean[1], post_cov[1, 1]

    grid = np.linspace(0.5, 3.0, 300)
    logs = np.array([parts(s)[0] for s in grid])
    ref = logs.max()

    def weight(s: float) -> float:
        return float(np.exp(parts(s)[0] - ref))

    z = integrate.quad(weight, 0.5, 3.0, limit=200)[0]
    mean = integrate.quad(lambda s: weight(s) * parts(s)[1], 0.5, 3.0, limit=200)[0] / z
    second = (
        integrate.quad(lambda s: weight(s) * (parts(s)[2] + parts(s)[1] ** 2), 0.5, 3.0, limit=200)[
            0
        ]
        / z
    )
    return mean, float(np.sqrt(second - mean**2))


def test_continuous_without_autocorrelation_matches_the_exact_posterior() -> None:
    rng = np.random.default_rng(1)
    n = 60
    arm = np.arange(n) // 10 % 2
    y = 5.0 - 1.0 * arm + rng.normal(0, 1.5, n)
    prior = PriorSpec(
        kind="continuous", intercept_mu=5, intercept_sigma=5, effect_sigma=2.5, sigma_scale=2.5
    )
    approx = continuous_posterior(y, arm, np.arange(n, dtype=float), prior, autocorrelation=False)
    mean, sd = _exact_normal_effect(y, arm, prior)
    assert abs(approx.mean - mean) < 0.02 * sd
    assert abs(approx.sd - sd) < 0.02 * sd


def test_continuous_with_autocorrelation_recovers_the_effect() -> None:
    y = simulate_outcome(
        "continuous", ARM, T, rng=np.random.default_rng(2), baseline=5, effect=-1.0, sd=1.5, rho=0.6
    )
    prior = PriorSpec(
        kind="continuous", intercept_mu=5, intercept_sigma=5, effect_sigma=2.5, sigma_scale=2.5
    )
    post = posterior("continuous", y, ARM, T, prior)
    low, high = post.ci95
    assert low < -1.0 < high
    assert post.method == "exact-grid"


def test_autocorrelation_widens_the_interval() -> None:
    y = simulate_outcome(
        "continuous", ARM, T, rng=np.random.default_rng(3), baseline=5, effect=0.0, sd=1.5, rho=0.7
    )
    prior = PriorSpec(
        kind="continuous", intercept_mu=5, intercept_sigma=5, effect_sigma=2.5, sigma_scale=2.5
    )
    naive = continuous_posterior(y, ARM, T, prior, autocorrelation=False)
    ar = continuous_posterior(y, ARM, T, prior, autocorrelation=True)
    assert ar.sd > 1.3 * naive.sd


def test_binary_laplace_matches_a_brute_force_grid_posterior() -> None:
    rng = np.random.default_rng(4)
    n = 200
    arm = np.arange(n) // 14 % 2
    y = (rng.random(n) < np.where(arm == 1, 0.2, 0.35)).astype(float)
    prior = PriorSpec(kind="binary", intercept_mu=0.0, intercept_sigma=1.5, effect_sigma=1.0)
    post = glm_posterior(
        "binary", y, arm, np.arange(n, dtype=float), prior, autocorrelation=False, n_draws=20000
    )
    a, b = np.meshgrid(np.linspace(-2.5, 1.0, 300), np.linspace(-2.5, 1.5, 300), indexing="ij")
    eta_a, eta_b = a, a + b
    n1, k1 = (arm == 1).sum(), y[arm == 1].sum()
    n0, k0 = (arm == 0).sum(), y[arm == 0].sum()
    logp = (
        k0 * eta_a
        - n0 * np.logaddexp(0, eta_a)
        + k1 * eta_b
        - n1 * np.logaddexp(0, eta_b)
        - 0.5 * (a / 1.5) ** 2
        - 0.5 * b**2
    )
    w = np.exp(logp - logp.max())
    w /= w.sum()
    effect = 28 * (expit(eta_b) - expit(eta_a))
    mean = float(np.sum(w * effect))
    sd = float(np.sqrt(np.sum(w * (effect - mean) ** 2)))
    assert abs(post.mean - mean) < 0.05 * sd
    assert abs(post.sd - sd) < 0.05 * sd


def test_sandwich_inflation_is_near_one_for_independent_days() -> None:
    rng = np.random.default_rng(5)
    x = np.column_stack([np.ones(T.size), ARM])
    residual = rng.normal(size=T.size)
    assert _inflation(x, T, residual, np.ones(T.size)) < 1.3


def test_sandwich_inflation_grows_with_autocorrelation() -> None:
    x = np.column_stack([np.ones(T.size), ARM])
    from nof1.simulate import ar1_latent

    residual = ar1_latent(T, 0.7, np.random.default_rng(6))
    assert _inflation(x, T, residual, np.ones(T.size)) > 2.0


@pytest.mark.parametrize(
    ("kind", "baseline", "effect"), [("count", 8.0, -4.0), ("binary", 10.0, -5.0)]
)
def test_count_and_binary_recover_the_effect_on_the_verdict_scale(
    kind: str, baseline: float, effect: float
) -> None:
    t = np.arange(400.0)
    arm = (t // 20 % 2).astype(int)
    y = simulate_outcome(
        kind, arm, t, rng=np.random.default_rng(7), baseline=baseline, effect=effect
    )
    prior = PriorSpec(kind=kind, intercept_mu=np.log(baseline / 28), intercept_sigma=1.5)
    post = posterior(kind, y, arm, t, prior)
    low, high = post.ci95
    assert low < effect < high


def test_ordinal_recovers_the_expected_category_difference() -> None:
    t = np.arange(400.0)
    arm = (t // 20 % 2).astype(int)
    cut = default_cutpoints(4)
    y = simulate_outcome(
        "ordinal",
        arm,
        t,
        rng=np.random.default_rng(8),
        baseline=0.0,
        effect=ordinal_shift(-0.5, 0.0, cut),
        cutpoints=cut,
    )
    prior = PriorSpec(kind="ordinal", cutpoint_mu=tuple(cut))
    post = posterior("ordinal", y, arm, t, prior, n_categories=4)
    low, high = post.ci95
    assert low < -0.5 < high and high < 0


def test_planner_workers_load_no_pytensor() -> None:
    """The planner shares the model's numpy terms (nof1.model.terms) without the PyMC stack."""
    code = (
        "import sys, numpy as np, nof1.plan.approx as a, nof1.plan.planner;"
        "from nof1.prior import PriorSpec;"
        "t = np.arange(40.0); arm = (t // 5 % 2).astype(int);"
        "a.posterior('continuous', np.sin(t) + arm, arm, t, PriorSpec(kind='continuous'),"
        " trend='spline', knots=(10.0, 20.0, 30.0), n_draws=50);"
        "print(sorted(m for m in ('pytensor', 'pymc', 'arviz') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        posterior("rating", np.zeros(5), np.zeros(5), np.arange(5.0), PriorSpec(kind="binary"))


def test_continuous_with_periods_matches_the_analysis_model() -> None:
    """The planner's period intercepts are the analysis model's: same mean and SD of the effect
    as the grid integration of the collapsed PyMC model, to within the planner's quadrature."""
    from nof1.model import ModelData, ModelSpec, fit

    period = (T // 14).astype(int)
    shock = np.random.default_rng(8).normal(0.0, 0.8, period.max() + 1)
    y = shock[period] + simulate_outcome(
        "continuous", ARM, T, rng=np.random.default_rng(7), baseline=5, effect=-1.0, sd=1.5, rho=0.4
    )
    prior = PriorSpec(
        kind="continuous",
        intercept_mu=5,
        intercept_sigma=5,
        effect_sigma=2.5,
        sigma_scale=2.5,
        latent_sigma_scale=0.625,
    )
    approx = posterior("continuous", y, ARM, T, prior, period=period)
    without = posterior("continuous", y, ARM, T, prior)
    spec = ModelSpec(
        kind="continuous", autocorrelation=True, trend="none", prior=prior, latent="period"
    )
    exact = fit(ModelData(y=y, arm=ARM, time=T, period=period), spec, draws=4000, seed=3).effect
    sd = float(np.std(exact))
    assert abs(approx.mean - float(np.mean(exact))) < 0.1 * sd
    assert abs(approx.sd - sd) < 0.05 * sd
    assert approx.sd > 1.1 * without.sd


def test_continuous_with_one_period_label_ignores_the_period_term() -> None:
    """As in the analysis, a single period label (e.g. a table without periods) adds nothing."""
    y = simulate_outcome(
        "continuous", ARM, T, rng=np.random.default_rng(9), baseline=5, effect=-1.0, sd=1.5, rho=0.4
    )
    prior = PriorSpec(kind="continuous", intercept_mu=5, intercept_sigma=5, effect_sigma=2.5)
    one = posterior("continuous", y, ARM, T, prior, period=np.zeros(T.size, dtype=int))
    none = posterior("continuous", y, ARM, T, prior)
    assert np.array_equal(one.draws, none.draws)
