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
from nof1.model.marginal import cells, count_values, period_loglik
from nof1.model.spec import ModelData, ModelSpec, check_y
from nof1.model.terms import GH_NODES, GH_WEIGHTS, gaps, period_index, period_term, trend_basis
from nof1.prior import PriorSpec

if TYPE_CHECKING:
    import pymc as pm

TensorVariable = _TensorVariable[Any, Any]


def build_model(data: ModelData, spec: ModelSpec) -> pm.Model:
    """Build the full PyMC model (no sampling).

    Every kind has ``effect`` (verdict scale) as a Deterministic, plus ``rate_ratio`` (count),
    ``odds_ratio`` (binary) or ``latent_effect`` (ordinal). The continuous model here keeps its
    linear coefficients as free variables; :func:`nof1.model.sampling.fit` samples an equivalent
    collapsed form. For count, binary and ordinal outcomes the data and the prior numbers are
    ``pm.Data`` inputs (:class:`SampledModel`), so one graph serves every fit of an outcome.

    Raises
    ------
    DataError
        When ``y`` does not suit the kind (e.g. a negative count, a category out of range).
    """
    check_y(data, spec)
    if spec.kind != "continuous":
        model = SampledModel(structure(data, spec))
        model.set(data, spec)
        return model.model
    import pymc as pm

    prior = spec.prior
    basis, hinges = trend_basis(data.time, spec.trend, data.knots)
    coords = {"day": np.arange(data.y.size)}
    with pm.Model(coords=coords) as model:
        trend = _trend_term(pm, basis, hinges, prior)
        beta = pm.Normal("beta", mu=prior.effect_mu, sigma=prior.effect_sigma)
        arm = data.arm.astype(float)
        alpha = pm.Normal("intercept", mu=prior.intercept_mu, sigma=prior.intercept_sigma)
        sigma = pm.HalfNormal("sigma", sigma=prior.sigma_scale)
        mu = alpha + beta * arm + trend
        if period_term(data, spec):
            # period intercepts u_p ~ N(0, latent_sd^2), non-centred; the collapsed model
            # (nof1.model.continuous) integrates them out with the other coefficients
            assert data.period is not None
            index = period_index(data.period)
            latent_sd = pm.HalfNormal("latent_sd", sigma=prior.latent_sigma_scale)
            period_z = pm.Normal("period_z", 0.0, 1.0, shape=int(index.max()) + 1)
            mu = mu + latent_sd * period_z[index]
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


#: Structure of a count/binary/ordinal graph: kind, autocorrelation, latent, trend columns,
#: hinges, categories, periods, and the number of days when a day-level latent needs it.
Structure = tuple[str, bool, str, int, int, int, int, int]

#: The signed SD NUTS moves for integrated period intercepts (its sign is not a parameter).
SIGNED_SD = "latent_sd_signed"

#: Graphs built in this process, by structure (see :func:`sampled_model`).
_MODELS: dict[Structure, SampledModel] = {}


def structure(data: ModelData, spec: ModelSpec) -> Structure:
    """What fixes a count/binary/ordinal graph; everything else is a data input."""
    basis, hinges = trend_basis(data.time, spec.trend, data.knots)
    latent = spec.latent if spec.autocorrelation else "none"
    if latent == "period" and data.period is None:
        raise DataError(
            "model data: period is missing but ModelSpec.latent = 'period' needs the "
            "period index of each day (or use latent = 'ar')"
        )
    # The period intercepts are integrated out (nof1.model.marginal): the number of periods and
    # cells is a data shape, not a structure, so a fit on fewer periods reuses the graph.
    periods = 0
    days = data.y.size if latent == "ar" else 0  # the latent AR(1) has one value per day
    k = int(data.n_categories or 0) if spec.kind == "ordinal" else 0
    return (spec.kind, spec.autocorrelation, latent, basis.shape[1], hinges, k, periods, days)


def sampled_model(data: ModelData, spec: ModelSpec) -> SampledModel:
    """The cached graph of this structure, pointed at ``data`` and ``spec.prior``."""
    check_y(data, spec)
    key = structure(data, spec)
    model = _MODELS.get(key)
    if model is None:
        model = _MODELS[key] = SampledModel(key)
    model.set(data, spec)
    return model


class SampledModel:
    """A count/binary/ordinal PyMC graph whose data and prior numbers are ``pm.Data`` inputs.

    :meth:`set` swaps the inputs; ``cache`` keeps what was compiled for the graph (the NUTS
    sampler), so the default, sceptical, vague and adherent-only fits compile once.
    """

    def __init__(self, key: Structure) -> None:
        self.key = key
        self.model = _sampled_graph(key)
        self.cache: dict[Any, Any] = {}

    def set(self, data: ModelData, spec: ModelSpec) -> None:
        """Point the graph at ``data`` and ``spec.prior`` (the structure must be the same)."""
        import pymc as pm

        if structure(data, spec) != self.key:
            raise ValueError("sampled model: the data and spec have another structure")
        kind, _ac, latent, n_basis, _hinges, k, _periods, _days = self.key
        prior = spec.prior
        values: dict[str, Any] = {
            "y_obs": data.y.astype("int64"),
            "arm": data.arm.astype(float),
            "effect_mu": float(prior.effect_mu),
            "effect_sigma": float(prior.effect_sigma),
            "exposure_days": float(data.exposure_days),
        }
        if kind != "ordinal":
            values["intercept_mu"] = float(prior.intercept_mu)
            values["intercept_sigma"] = float(prior.intercept_sigma)
        if kind == "count":
            values["dispersion_scale"] = float(prior.dispersion_scale)
        if kind == "ordinal":
            values["cutpoint_mu"] = _cutpoint_means(prior, k)
            values["cutpoint_sigma"] = float(prior.cutpoint_sigma)
        if n_basis:
            basis, _ = trend_basis(data.time, spec.trend, data.knots)
            values["trend_basis"] = basis  # per day; per cell with period intercepts (below)
            values["trend_sigma"] = float(prior.trend_sigma)
        if latent != "none":
            values["latent_sigma_scale"] = float(prior.latent_sigma_scale)
        if latent == "period":
            assert data.period is not None
            basis, _ = trend_basis(data.time, spec.trend, data.knots)
            grouped = cells(data.y, data.arm, data.period, basis, k)
            values.update(
                cell_period=grouped.period,
                cell_arm=grouped.arm,
                cell_days=grouped.days,
                cell_total=grouped.total,
                membership=grouped.membership,
            )
            if n_basis:
                values["trend_basis"] = grouped.basis
            if kind == "ordinal":
                values["cell_counts"] = grouped.counts
            if kind == "count":
                values["count_values"] = count_values(data.y)
        if latent == "ar":
            t = np.asarray(data.time, dtype=float)
            values["latent_distance"] = np.tril(t[:, None] - t[None, :])
            values["latent_gaps"] = gaps(t)
            values["rho_alpha"] = float(prior.rho_alpha)
            values["rho_beta"] = float(prior.rho_beta)
        pm.set_data(values, model=self.model)


def _cutpoint_means(prior: PriorSpec, k: int) -> np.ndarray:
    cut_mu = np.asarray(prior.cutpoint_mu, dtype=float)
    if cut_mu.size != k - 1:
        from nof1.prior import _equal_probability_cutpoints

        cut_mu = np.asarray(_equal_probability_cutpoints(k), dtype=float)
    return cut_mu


def _sampled_graph(key: Structure) -> pm.Model:
    import pymc as pm

    kind, _ac, latent, n_basis, hinges, k, _periods, days = key
    n = max(days, 1)
    marginal = latent == "period"  # period intercepts integrated out per period (marginal.py)
    with pm.Model() as model:
        # Per day, or per cell (days sharing period, arm and trend row) when marginal.
        y = pm.Data("y_obs", np.zeros(n, dtype="int64"))
        arm = pm.Data("arm", np.zeros(n))
        exposure = pm.Data("exposure_days", 28.0)
        trend: Any = 0.0
        if n_basis:
            basis = pm.Data("trend_basis", np.zeros((n, n_basis)))
            trend_sigma = pm.Data("trend_sigma", 1.0)
            slope = pm.Normal("trend_slope", mu=0.0, sigma=trend_sigma)
            trend = slope * basis[:, 0]
            if hinges:
                tau = pm.HalfNormal("trend_tau", sigma=trend_sigma)
                z = pm.Normal("trend_knot_z", 0.0, 1.0, shape=hinges)
                knots = pm.Deterministic("trend_knots", tau * z)
                trend = trend + pm.math.dot(basis[:, 1:], knots)
        beta = pm.Normal("beta", mu=pm.Data("effect_mu", 0.0), sigma=pm.Data("effect_sigma", 1.0))
        latent_term: Any = 0.0
        latent_sd: Any = None
        if marginal:
            # The integrated likelihood depends on the SD only through its square, so NUTS moves
            # a signed SD v ~ N(0, scale), |v| ~ HalfNormal(scale): the same prior, but no
            # boundary at 0 and no long tail of log(SD) to crawl (the tail ESS of ``latent_sd``
            # was the usual reason a fit had to be repeated). The sign carries no information
            # and is dropped from the posterior (nof1.model.sampling).
            signed = pm.Normal(SIGNED_SD, 0.0, pm.Data("latent_sigma_scale", 0.5))
            latent_sd = pm.Deterministic("latent_sd", pt.sqrt(signed**2 + 1e-24))
        elif latent != "none":
            latent_sd = pm.HalfNormal("latent_sd", sigma=pm.Data("latent_sigma_scale", 0.5))
        if marginal:
            cell_arm = pm.Data("cell_arm", np.zeros(1))
            cell: dict[str, Any] = {
                "membership": pm.Data("membership", np.ones((1, 1))),
                "cell_period": pm.Data("cell_period", np.zeros(1, dtype="int64")),
                "days": pm.Data("cell_days", np.ones(1)),
                "total": pm.Data("cell_total", np.zeros(1)),
            }
            arm = cell_arm  # the trend basis is per cell too (SampledModel.set)
        elif latent == "ar":
            rho = pm.Beta(
                "latent_rho", alpha=pm.Data("rho_alpha", 2.0), beta=pm.Data("rho_beta", 2.0)
            )
            z = pm.Normal("latent_z", 0.0, 1.0, shape=days)
            distance = pm.Data("latent_distance", np.zeros((days, days)))
            gap = pm.Data("latent_gaps", np.ones(days))
            chol = _latent_ar_cholesky(rho, distance, gap)
            latent_term = latent_sd * pm.math.dot(chol, z)
        if kind in ("count", "binary"):
            # NUTS moves the midpoint between the arms, ``intercept + beta/2``, which the data
            # pin down nearly independently of ``beta`` (the A level is strongly correlated
            # with ``beta``; a diagonal mass matrix cannot undo that). Its prior, given beta,
            # is N(intercept_mu + beta/2, intercept_sigma): exactly intercept ~ N(intercept_mu,
            # intercept_sigma) (a shift, Jacobian 1).
            mid = pm.Normal(
                "intercept_mid",
                mu=pm.Data("intercept_mu", 0.0) + beta / 2.0,
                sigma=pm.Data("intercept_sigma", 1.0),
            )
            alpha = pm.Deterministic("intercept", mid - beta / 2.0)
            eta = alpha + beta * arm + trend + latent_term
        if kind == "count":
            inv_alpha = pm.HalfNormal("inv_dispersion", sigma=pm.Data("dispersion_scale", 1.0))
            if marginal:
                pm.Potential(
                    "y_marginal",
                    pt.sum(
                        period_loglik(
                            "count",
                            eta,
                            latent_sd,
                            cell["membership"],
                            cell["cell_period"],
                            days=cell["days"],
                            total=cell["total"],
                            inv_dispersion=inv_alpha,
                            y=pm.Data("count_values", np.zeros((2, 1))),
                        )
                    ),
                )
            else:
                pm.NegativeBinomial("y", mu=pm.math.exp(eta), alpha=1.0 / inv_alpha, observed=y)
            shift = 0.0 if latent_sd is None else latent_sd**2 / 2.0
            rate_a = pm.math.exp(alpha + shift)
            rate_b = pm.math.exp(alpha + beta + shift)
            pm.Deterministic("effect", exposure * (rate_b - rate_a))
            pm.Deterministic("rate_ratio", pm.math.exp(beta))
        elif kind == "binary":
            if marginal:
                pm.Potential(
                    "y_marginal",
                    pt.sum(
                        period_loglik(
                            "binary",
                            eta,
                            latent_sd,
                            cell["membership"],
                            cell["cell_period"],
                            days=cell["days"],
                            total=cell["total"],
                        )
                    ),
                )
            else:
                pm.Bernoulli("y", logit_p=eta, observed=y)
            p_a = expected_over_latent(pm.math.sigmoid, alpha, latent_sd)
            p_b = expected_over_latent(pm.math.sigmoid, alpha + beta, latent_sd)
            pm.Deterministic("effect", exposure * (p_b - p_a))
            pm.Deterministic("odds_ratio", pm.math.exp(beta))
        else:
            from nof1.prior import _equal_probability_cutpoints

            start = np.asarray(_equal_probability_cutpoints(k), dtype=float)
            cut_mu = pm.Data("cutpoint_mu", start)
            # As for the intercept: NUTS moves the cutpoints of the midpoint between the arms,
            # ``cutpoints - beta/2``, with the prior N(cutpoint_mu - beta/2, cutpoint_sigma)
            # given beta, which is exactly cutpoints ~ N(cutpoint_mu, cutpoint_sigma), ordered.
            mid_cut = pm.Normal(
                "cutpoints_mid",
                mu=cut_mu - beta / 2.0,
                sigma=pm.Data("cutpoint_sigma", 1.5),
                shape=k - 1,
                transform=pm.distributions.transforms.ordered,
                initval=start,
            )
            cutpoints = pm.Deterministic("cutpoints", mid_cut + beta / 2.0)
            eta = beta * arm + trend + latent_term
            if marginal:
                counts = pm.Data("cell_counts", np.zeros((1, k)))
                pm.Potential(
                    "y_marginal",
                    pt.sum(
                        period_loglik(
                            "ordinal",
                            eta,
                            latent_sd,
                            cell["membership"],
                            cell["cell_period"],
                            counts=counts,
                            cutpoints=cutpoints,
                        )
                    ),
                )
            else:
                pm.OrderedLogistic("y", eta=eta, cutpoints=cutpoints, observed=y, compute_p=False)

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


def _latent_ar_cholesky(rho: Any, distance: Any, gap: Any) -> Any:
    """:func:`latent_ar_matrix` from data inputs: ``distance[i, j] = t_i - t_j`` (0 above the
    diagonal) and the gap before each day."""
    log_rho = pt.log(rho)
    n = gap.shape[0]
    lower = pt.tril(pt.ones((n, n), dtype=bool))
    first = pt.eq(pt.arange(n), 0)
    c = pt.where(first, 1.0, pt.sqrt(-pt.expm1(2.0 * gap * log_rho)))
    powers = pt.exp(distance * log_rho)
    return pt.where(lower, powers, 0.0) * c[None, :]


def expected_over_latent(f: Callable[[Any], Any], eta: Any, sd: TensorVariable | None) -> Any:
    """``E[f(eta + sd * Z)]`` with Z ~ N(0, 1) by 21-point Gauss–Hermite (``f(eta)`` if no sd)."""
    if sd is None:
        return f(eta)
    nodes = pt.as_tensor_variable(GH_NODES)
    weights = pt.as_tensor_variable(GH_WEIGHTS)
    values = f(shape_padright(eta) + sd * nodes)
    return pt.sum(values * weights, axis=-1)
