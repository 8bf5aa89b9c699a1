"""Period intercepts integrated out (nof1.model.marginal): the quadrature against brute force."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import integrate, special, stats

from nof1.model import ModelData, ModelSpec, build_model
from nof1.model.marginal import cells, count_values, period_loglik
from nof1.prior import default_prior
from nof1.protocol import OutcomeSpec

CUTPOINTS = np.array([-0.4, 0.9, 2.1])


def day_loglik(kind: str, y: np.ndarray, eta: np.ndarray, inv_dispersion: float) -> np.ndarray:
    """Log density of each day given its linear predictor, straight from scipy."""
    if kind == "binary":
        return np.asarray(stats.bernoulli.logpmf(y, special.expit(eta)))
    if kind == "count":
        alpha = 1.0 / inv_dispersion
        mu = np.exp(eta)
        return np.asarray(stats.nbinom.logpmf(y, alpha, alpha / (alpha + mu)))
    upper = np.append(CUTPOINTS, np.inf)[y.astype(int)]
    lower = np.insert(CUTPOINTS, 0, -np.inf)[y.astype(int)]
    return np.asarray(np.log(special.expit(upper - eta) - special.expit(lower - eta)))


def brute_force(
    kind: str, y: np.ndarray, level: np.ndarray, sd: float, inv_dispersion: float = 0.4
) -> float:
    """log ∫ N(u; 0, sd²) Π_d f(y_d | level_d + u) du by adaptive quadrature (scipy.quad)."""

    def log_integrand(u: float) -> float:
        prior = stats.norm.logpdf(u, 0.0, sd)
        return float(day_loglik(kind, y, level + u, inv_dispersion).sum() + prior)

    grid = np.linspace(-12 * sd - 10, 12 * sd + 10, 4001)
    values = np.array([log_integrand(u) for u in grid])
    top = values.max()
    mode = grid[values.argmax()]
    width = 12 * sd + 10
    value, _ = integrate.quad(
        lambda u: np.exp(log_integrand(u) - top),
        mode - width,
        mode + width,
        points=[mode],
        limit=400,
        epsabs=0.0,
        epsrel=1e-12,
    )
    return float(np.log(value) + top)


def quadrature(
    kind: str,
    y: np.ndarray,
    level: np.ndarray,
    period: np.ndarray,
    sd: float,
    inv_dispersion: float = 0.4,
) -> np.ndarray:
    """:func:`period_loglik` evaluated for days that each form their own cell."""
    arm = np.zeros(y.size)
    basis = level.reshape(-1, 1)  # a distinct 'trend row' per level keeps days apart
    k = CUTPOINTS.size + 1 if kind == "ordinal" else 0
    c = cells(y, arm, period, basis, k)
    cell_level = c.basis[:, 0]
    out = period_loglik(
        kind,
        pt.as_tensor_variable(cell_level),
        pt.as_tensor_variable(sd),
        pt.as_tensor_variable(c.membership),
        pt.as_tensor_variable(c.period),
        days=pt.as_tensor_variable(c.days),
        total=pt.as_tensor_variable(c.total),
        counts=pt.as_tensor_variable(c.counts),
        cutpoints=pt.as_tensor_variable(CUTPOINTS),
        inv_dispersion=pt.as_tensor_variable(inv_dispersion),
        y=pt.as_tensor_variable(count_values(y)),
    )
    return np.asarray(pytensor.function([], out)())


def one_period(kind: str, rng: np.random.Generator, days: int = 21) -> np.ndarray:
    if kind == "binary":
        return rng.binomial(1, 0.3, days).astype(float)
    if kind == "count":
        return rng.negative_binomial(2.5, 2.5 / (2.5 + 0.8), days).astype(float)
    return rng.integers(0, 4, days).astype(float)


@pytest.mark.parametrize("kind", ["binary", "count", "ordinal"])
@pytest.mark.parametrize("sd", [0.05, 0.7, 2.5])
def test_period_marginal_equals_brute_force_integral(kind: str, sd: float) -> None:
    rng = np.random.default_rng(3)
    y = one_period(kind, rng)
    level = np.full(y.size, -0.6)
    got = quadrature(kind, y, level, np.zeros(y.size, dtype=int), sd)
    assert got.shape == (1,)
    assert got[0] == pytest.approx(brute_force(kind, y, level, sd), abs=1e-7)


@pytest.mark.parametrize("kind", ["binary", "count", "ordinal"])
def test_period_marginal_with_a_trend_evaluates_each_day(kind: str) -> None:
    rng = np.random.default_rng(4)
    y = one_period(kind, rng, days=14)
    level = np.linspace(-1.0, 0.5, 14)
    got = quadrature(kind, y, level, np.zeros(14, dtype=int), 0.9)
    assert got[0] == pytest.approx(brute_force(kind, y, level, 0.9), abs=1e-7)


def test_period_marginal_survives_a_sharp_likelihood_of_many_events() -> None:
    # 28 days at ~12 events a day: the likelihood in u is ~40x narrower than its prior, where
    # a fixed (non-adaptive) Gauss-Hermite rule of 20 nodes would be badly off.
    rng = np.random.default_rng(5)
    y = rng.poisson(12.0, 28).astype(float)
    level = np.full(28, np.log(12.0) - 1.0)
    got = quadrature("count", y, level, np.zeros(28, dtype=int), 2.0, inv_dispersion=0.01)
    assert got[0] == pytest.approx(
        brute_force("count", y, level, 2.0, inv_dispersion=0.01), abs=1e-7
    )


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_period_marginal_of_a_period_with_every_day_alike(value: float) -> None:
    y = np.full(28, value)
    level = np.full(28, 3.0 if value == 0 else -3.0)  # far from the data: Newton must travel
    got = quadrature("binary", y, level, np.zeros(28, dtype=int), 1.5)
    assert got[0] == pytest.approx(brute_force("binary", y, level, 1.5), abs=1e-7)


def test_period_marginal_with_many_nodes_agrees_with_the_default_rule() -> None:
    from nof1.model import marginal

    rng = np.random.default_rng(6)
    y = one_period("count", rng, days=28)
    level = np.full(28, -0.5)
    default = quadrature("count", y, level, np.zeros(28, dtype=int), 1.2)
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    saved = marginal._NODES, marginal._LOG_WEIGHTS
    try:
        marginal._NODES, marginal._LOG_WEIGHTS = nodes, np.log(weights / np.sqrt(2 * np.pi))
        many = quadrature("count", y, level, np.zeros(28, dtype=int), 1.2)
    finally:
        marginal._NODES, marginal._LOG_WEIGHTS = saved
    assert default[0] == pytest.approx(many[0], abs=1e-9)


def test_cells_hold_exact_sufficient_statistics() -> None:
    y = np.array([0, 1, 1, 0, 1, 1, 0, 0, 1], dtype=float)
    arm = np.array([0, 0, 0, 1, 1, 1, 1, 0, 0])
    period = np.array([7, 7, 7, 9, 9, 9, 9, 40, 40])  # any integers, not contiguous
    c = cells(y, arm, period, np.zeros((9, 0)))
    assert c.membership.shape == (3, 3)
    assert list(c.days) == [3, 4, 2] and list(c.total) == [2, 2, 1]
    assert list(c.period) == [0, 1, 2] and list(c.arm) == [0, 1, 0]


def test_cells_split_a_period_that_holds_both_arms() -> None:
    y = np.array([1, 0, 1, 1], dtype=float)
    c = cells(y, np.array([0, 1, 0, 1]), np.zeros(4, dtype=int), np.zeros((4, 0)))
    assert c.membership.shape == (1, 2) and list(c.days) == [2, 2] and list(c.total) == [2, 1]


def test_cells_count_the_categories_of_an_ordinal_outcome() -> None:
    y = np.array([0, 3, 3, 1, 2, 2], dtype=float)
    c = cells(y, np.array([0, 0, 0, 1, 1, 1]), np.array([0, 0, 0, 1, 1, 1]), np.zeros((6, 0)), 4)
    assert c.counts.tolist() == [[1, 0, 0, 2], [0, 1, 2, 0]]


def test_period_loglik_rejects_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind must be count, binary or ordinal"):
        period_loglik("continuous", pt.zeros(1), 1.0, pt.ones((1, 1)), pt.zeros(1, dtype="int64"))


# --------------------------------------------------------------------------------------------
# the whole graph
# --------------------------------------------------------------------------------------------


def _outcome(kind: str) -> OutcomeSpec:
    extra: dict[str, Any] = {"categories": ("0", "1", "2", "3")} if kind == "ordinal" else {}
    return OutcomeSpec(name="x", kind=kind, question="?", better="lower", mcid=1.0, **extra)


@pytest.mark.parametrize("kind", ["binary", "count", "ordinal"])
def test_model_log_density_is_the_sum_of_brute_force_period_integrals(kind: str) -> None:
    rng = np.random.default_rng(8)
    period = np.repeat(np.arange(4), 10)
    arm = np.repeat([0, 1, 1, 0], 10)
    y = np.concatenate([one_period(kind, rng, days=10) for _ in range(4)])
    data = ModelData(
        y=y,
        arm=arm,
        time=np.arange(40.0),
        period=period,
        n_categories=4 if kind == "ordinal" else None,
    )
    spec = ModelSpec(
        kind=kind,
        autocorrelation=True,
        trend="none",
        prior=default_prior(_outcome(kind)),
        latent="period",
    )
    model = build_model(data, spec)
    assert "period_z" not in model.named_vars
    point = {"beta": -0.4, "latent_sd_signed": -0.8}  # the sign is not a parameter
    if kind == "ordinal":
        mid = model.rvs_to_transforms[model["cutpoints_mid"]]
        point["cutpoints_mid_ordered__"] = mid.forward(CUTPOINTS + 0.2).eval()
    else:
        point["intercept_mid"] = -0.7 - 0.4 / 2
    if kind == "count":
        point["inv_dispersion_log__"] = np.log(0.4)
    terms = model.compile_logp(vars=list(model.potentials), jacobian=False)
    got = float(terms(point))
    level = (-0.4 * arm) + (0.0 if kind == "ordinal" else -0.7)
    expected = sum(
        brute_force(kind, y[period == p], level[period == p], 0.8, inv_dispersion=0.4)
        for p in range(4)
    )
    assert got == pytest.approx(expected, abs=1e-6)
