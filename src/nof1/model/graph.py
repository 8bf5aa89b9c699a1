"""The PyMC graphs per outcome kind, and the PyTensor terms they are built from (no sampling).

:func:`build_model` returns the full graph of every kind: ``effect`` on the verdict scale as a
Deterministic, plus ``rate_ratio`` (count), ``odds_ratio`` (binary) or ``latent_effect``
(ordinal). Day-level clustering (``autocorrelation=True``): the continuous model has gap-exact
AR(1) residuals; the other kinds get a latent process on the linear predictor (see
``docs/methods-models.md``). Verdict-scale effects average over that latent variation
(population-averaged over days), computed by Gauss–Hermite quadrature.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor.shape import shape_padright
from pytensor.tensor.variable import TensorVariable as _TensorVariable

from nof1.errors import DataError
from nof1.model.spec import ModelData, ModelSpec, check_y
from nof1.model.terms import GH_NODES, GH_WEIGHTS, gaps, trend_basis
from nof1.prior import PriorSpec

if TYPE_CHECKING:
    import pymc as pm

TensorVariable = _TensorVariable[Any, Any]


def build_model(data: ModelData, spec: ModelSpec) -> pm.Model:
    """Build the full PyMC model (no sampling).

    Every kind has ``effect`` (verdict scale) as a Deterministic, plus ``rate_ratio`` (count),
    ``odds_ratio`` (binary) or ``latent_effect`` (ordinal). The continuous model here keeps its
    linear coefficients as free variables; :func:`nof1.model.sampling.fit` samples an equivalent
    collapsed form.

    Raises
    ------
    DataError
        When ``y`` does not suit the kind (e.g. a negative count, a category out of range).
    """
    check_y(data, spec)
    import pymc as pm

    prior = spec.prior
    basis, hinges = trend_basis(data.time, spec.trend, data.knots)
    coords = {"day": np.arange(data.y.size)}
    with pm.Model(coords=coords) as model:
        trend = _trend_term(pm, basis, hinges, prior)
        beta = pm.Normal("beta", mu=prior.effect_mu, sigma=prior.effect_sigma)
        arm = data.arm.astype(float)
        if spec.kind == "continuous":
            alpha = pm.Normal("intercept", mu=prior.intercept_mu, sigma=prior.intercept_sigma)
            sigma = pm.HalfNormal("sigma", sigma=prior.sigma_scale)
            mu = alpha + beta * arm + trend
            if spec.autocorrelation:
                rho = pm.Beta("rho", alpha=prior.rho_alpha, beta=prior.rho_beta)
                a, c = ar_coefficients(rho, gaps(data.time))
                prev = np.concatenate([[0.0], data.y[:-1]])
                mu_prev = _shift(mu)
                cond_mu = mu + a * (prev - mu_prev)
                pm.Normal("y", mu=cond_mu, sigma=sigma * c, observed=data.y, dims="day")
            else:
                pm.Normal("y", mu=mu, sigma=sigma, observed=data.y, dims="day")
            pm.Deterministic("effect", beta)
            return model
        latent, latent_sd = _latent_term(pm, data, spec)
        if spec.kind == "count":
            alpha = pm.Normal("intercept", mu=prior.intercept_mu, sigma=prior.intercept_sigma)
            inv_alpha = pm.HalfNormal("inv_dispersion", sigma=prior.dispersion_scale)
            eta = alpha + beta * arm + trend + latent
            pm.NegativeBinomial(
                "y", mu=pm.math.exp(eta), alpha=1.0 / inv_alpha, observed=data.y, dims="day"
            )
            shift = 0.0 if latent_sd is None else latent_sd**2 / 2.0
            rate_a = pm.math.exp(alpha + shift)
            rate_b = pm.math.exp(alpha + beta + shift)
            pm.Deterministic("effect", data.exposure_days * (rate_b - rate_a))
            pm.Deterministic("rate_ratio", pm.math.exp(beta))
        elif spec.kind == "binary":
            alpha = pm.Normal("intercept", mu=prior.intercept_mu, sigma=prior.intercept_sigma)
            eta = alpha + beta * arm + trend + latent
            pm.Bernoulli("y", logit_p=eta, observed=data.y, dims="day")
            p_a = expected_over_latent(pm.math.sigmoid, alpha, latent_sd)
            p_b = expected_over_latent(pm.math.sigmoid, alpha + beta, latent_sd)
            pm.Deterministic("effect", data.exposure_days * (p_b - p_a))
            pm.Deterministic("odds_ratio", pm.math.exp(beta))
        else:
            k = int(data.n_categories or 0)
            cut_mu = np.asarray(prior.cutpoint_mu)
            if cut_mu.size != k - 1:
                from nof1.prior import _equal_probability_cutpoints

                cut_mu = np.asarray(_equal_probability_cutpoints(k))
            cutpoints = pm.Normal(
                "cutpoints",
                mu=cut_mu,
                sigma=prior.cutpoint_sigma,
                shape=k - 1,
                transform=pm.distributions.transforms.ordered,
                initval=cut_mu,
            )
            eta = beta * arm + trend + latent
            pm.OrderedLogistic(
                "y",
                eta=eta,
                cutpoints=cutpoints,
                observed=data.y.astype(int),
                compute_p=False,
                dims="day",
            )

            def expected(e: Any) -> Any:
                return pm.math.sum(pm.math.sigmoid(e[..., None] - cutpoints), axis=-1)

            e_a = expected_over_latent(expected, pm.math.constant(0.0), latent_sd)
            e_b = expected_over_latent(expected, beta, latent_sd)
            pm.Deterministic("effect", e_b - e_a)
            pm.Deterministic("latent_effect", beta)
    return model


def _trend_term(pm: Any, basis: np.ndarray, hinges: int, prior: PriorSpec) -> Any:
    if basis.shape[1] == 0:
        return 0.0
    slope = pm.Normal("trend_slope", mu=0.0, sigma=prior.trend_sigma)
    trend = slope * basis[:, 0]
    if hinges:
        tau = pm.HalfNormal("trend_tau", sigma=prior.trend_sigma)
        z = pm.Normal("trend_knot_z", 0.0, 1.0, shape=hinges)
        knots = pm.Deterministic("trend_knots", tau * z)
        trend = trend + pm.math.dot(basis[:, 1:], knots)
    return trend


def _latent_term(pm: Any, data: ModelData, spec: ModelSpec) -> tuple[Any, Any]:
    """Day-level clustering on the linear predictor: (term, its stationary SD) or (0, None)."""
    if not spec.autocorrelation:
        return 0.0, None
    prior = spec.prior
    sd = pm.HalfNormal("latent_sd", sigma=prior.latent_sigma_scale)
    if spec.latent == "period":
        if data.period is None:
            raise DataError(
                "model data: period is missing but ModelSpec.latent = 'period' needs the "
                "period index of each day (or use latent = 'ar')"
            )
        _, index = np.unique(data.period, return_inverse=True)
        z = pm.Normal("period_z", 0.0, 1.0, shape=int(index.max()) + 1)
        return sd * z[index], sd
    rho = pm.Beta("latent_rho", alpha=prior.rho_alpha, beta=prior.rho_beta)
    z = pm.Normal("latent_z", 0.0, 1.0, dims="day")
    chol = latent_ar_matrix(rho, data.time)
    return sd * pm.math.dot(chol, z), sd


def _shift(x: Any) -> Any:
    x = pt.as_tensor_variable(x)
    return pt.concatenate([pt.zeros((1,)), x[:-1]])


# --------------------------------------------------------------------------------------------
# PyTensor terms
# --------------------------------------------------------------------------------------------


def ar_coefficients(rho: TensorVariable, gap: np.ndarray) -> tuple[TensorVariable, ...]:
    """``a_i = rho**g_i`` and innovation scale ``c_i = sqrt(1 - rho**(2 g_i))`` (c_1 = 1, a_1 = 0).

    Written with ``expm1`` so the gradient stays finite as ``rho`` approaches 1.
    """
    log_rho = pt.log(rho)
    g = pt.as_tensor_variable(gap)
    a = pt.exp(g * log_rho)
    c = pt.sqrt(-pt.expm1(2.0 * g * log_rho))
    first = np.zeros(len(gap), dtype=bool)
    first[0] = True
    a = pt.where(first, 0.0, a)
    c = pt.where(first, 1.0, c)
    return a, c


def latent_ar_matrix(rho: TensorVariable, time: np.ndarray) -> TensorVariable:
    """Lower-triangular ``L``: ``L @ z`` is a stationary, gap-exact AR(1) for ``z ~ N(0, I)``.

    ``L[i, j] = c_j * rho**(t_i - t_j)`` for ``j <= i``: the closed form of the recursion
    ``u_i = rho**g_i u_{i-1} + c_i z_i``, so no scan is needed at sampling time.
    """
    t = np.asarray(time, dtype=float)
    diff = t[:, None] - t[None, :]
    lower = np.tril(np.ones_like(diff, dtype=bool))
    distance = np.where(lower, diff, 0.0)
    log_rho = pt.log(rho)
    _, c = ar_coefficients(rho, gaps(t))
    powers = pt.exp(pt.as_tensor_variable(distance) * log_rho)
    return pt.where(lower, powers, 0.0) * c[None, :]


def expected_over_latent(f: Callable[[Any], Any], eta: Any, sd: TensorVariable | None) -> Any:
    """``E[f(eta + sd * Z)]`` with Z ~ N(0, 1) by 21-point Gauss–Hermite (``f(eta)`` if no sd)."""
    if sd is None:
        return f(eta)
    nodes = pt.as_tensor_variable(GH_NODES)
    weights = pt.as_tensor_variable(GH_WEIGHTS)
    values = f(shape_padright(eta) + sd * nodes)
    return pt.sum(values * weights, axis=-1)
