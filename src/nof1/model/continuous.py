"""The continuous model with its linear coefficients integrated out (collapsed Gibbs-free NUTS).

Given the residual SD ``sigma``, the autocorrelation ``rho``, the spline shrinkage ``trend_tau``
and the SD of the period intercepts ``latent_sd``, the continuous model is a Gaussian linear
model: ``y = X beta + e`` with ``e`` a gap-exact AR(1) and a Gaussian prior on ``beta`` (level,
effect, trend, spline hinges ~ N(0, trend_tau**2), one intercept per period ~ N(0,
latent_sd**2)). The marginal likelihood ``p(y | sigma, rho, trend_tau, latent_sd)`` is then a
Gaussian integral in closed form, so NUTS only explores the 1–4 variance parameters; ``beta``
is drawn afterwards, exactly, from its Gaussian conditional posterior for every draw. The joint
draws are exact posterior draws of the full model (``p(theta | y) p(beta | theta, y)``), and the
effect draws are nearly independent.

Algebra (whitening ``W``: ``(v_i - a_i v_{i-1}) / c_i`` makes the AR(1) errors iid N(0, sigma^2)):
with ``r = W y - W X m``, ``A = (WX)'(WX)``, ``b = (WX)' r``, ``P = S^{-1} + A / sigma^2``::

    log p(y) = -1/2 [n log 2 pi + n log sigma^2 + log|S| + log|P|
                     + r'r / sigma^2 - b' P^{-1} b / sigma^4] - sum log c_i
    beta | . ~ N(m + P^{-1} b / sigma^2, P^{-1})

``A``, ``b`` and ``r'r`` are blocks of one (p+1) x (p+1) quadratic form, computed from a few
per-gap sums (:class:`nof1.model.terms.GapMoments`), so the sampled graph does not grow with
the trial's length.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from nof1.model.spec import ModelData, ModelSpec
from nof1.model.terms import GapMoments, design, period_index, period_term, trend_basis

#: Up to this many coefficients the marginal likelihood's algebra is written out in scalar
#: operations (fast to run, but its code grows as p**3); beyond, LAPACK calls.
UNROLL_MAX = 6
#: What fixes a collapsed graph: (autocorrelation, coefficients, spline hinges, periods).
Structure = tuple[bool, int, int, int]
#: Collapsed models built in this process, by structure (see :func:`collapsed_model`).
_MODELS: dict[Structure, CollapsedModel] = {}


class CollapsedModel:
    """The collapsed PyMC model of one structure, its data and prior numbers as ``pm.Data``.

    The structure is (autocorrelation, number of coefficients, spline hinges, periods); the
    per-gap sums, the number of days and the prior numbers are data inputs, so the default,
    sceptical, vague and adherent-only fits of an outcome share one graph and its compiled
    functions (:meth:`set` swaps the inputs; nothing is recompiled).
    """

    def __init__(self, autocorrelation: bool, p: int, hinges: int, periods: int = 0) -> None:
        self.autocorrelation, self.p, self.hinges = autocorrelation, p, hinges
        self.periods = periods
        self.model = _marginal_graph(autocorrelation, p, hinges, periods)
        self.cache: dict[str, Any] = {}  # compiled functions and samplers of this graph

    def set(self, data: ModelData, spec: ModelSpec) -> None:
        """Point the graph at ``data`` and ``spec.prior`` (shapes may change, the structure not)."""
        dm = design(data, spec)
        if (dm.x.shape[1], dm.hinges, dm.periods) != (self.p, self.hinges, self.periods):
            raise ValueError("collapsed model: the data and spec have another structure")
        moments = GapMoments.of(dm.x, data.y.astype(float), dm.means, data.time)
        prior = spec.prior
        values: dict[str, Any] = {
            "n_days": float(data.y.size),
            "fixed_var": dm.sds[: dm.fixed] ** 2,
            "sigma_scale": float(prior.sigma_scale),
        }
        if self.autocorrelation:
            values |= {
                "gap_levels": moments.levels,
                "gap_counts": moments.counts,
                "gap_m0": moments.m0,
                "gap_m1": moments.m1,
                "gap_m2": moments.m2,
                "gap_first": moments.first,
                "rho_alpha": float(prior.rho_alpha),
                "rho_beta": float(prior.rho_beta),
            }
        else:
            values["quadratic"] = moments.independent()
        if self.hinges:
            values["trend_sigma"] = float(prior.trend_sigma)
        if self.periods:
            values["latent_sigma_scale"] = float(prior.latent_sigma_scale)
        pm.set_data(values, model=self.model)


def structure(data: ModelData, spec: ModelSpec) -> Structure:
    """What fixes the collapsed graph: (autocorrelation, coefficients, spline hinges, periods)."""
    basis, hinges = trend_basis(data.time, spec.trend, data.knots)
    periods = 0
    if period_term(data, spec):
        assert data.period is not None
        periods = int(period_index(data.period).max()) + 1
    return spec.autocorrelation, 2 + basis.shape[1] + periods, hinges, periods


def collapsed_model(data: ModelData, spec: ModelSpec) -> CollapsedModel:
    """The cached collapsed model of this structure, pointed at ``data`` and ``spec.prior``."""
    key = structure(data, spec)
    model = _MODELS.get(key)
    if model is None:
        model = _MODELS[key] = CollapsedModel(*key)
    model.set(data, spec)
    return model


def build_marginal_model(data: ModelData, spec: ModelSpec) -> pm.Model:
    """PyMC model of the variance parameters with ``beta`` integrated out (module docstring)."""
    model = CollapsedModel(*structure(data, spec))
    model.set(data, spec)
    return model.model


def _marginal_graph(autocorrelation: bool, p: int, hinges: int, periods: int = 0) -> pm.Model:
    q = p + 1
    n_fixed = p - hinges - periods
    with pm.Model() as model:
        n = pm.Data("n_days", 1.0)
        fixed = pm.Data("fixed_var", np.ones(n_fixed))
        sigma = pm.HalfNormal("sigma", sigma=pm.Data("sigma_scale", 1.0))
        if autocorrelation:
            levels = pm.Data("gap_levels", np.ones(1))
            counts = pm.Data("gap_counts", np.ones(1))
            m0 = pm.Data("gap_m0", np.zeros((1, q, q)))
            m1 = pm.Data("gap_m1", np.zeros((1, q, q)))
            m2 = pm.Data("gap_m2", np.zeros((1, q, q)))
            first = pm.Data("gap_first", np.zeros((q, q)))
            rho = pm.Beta("rho", alpha=pm.Data("rho_alpha", 2.0), beta=pm.Data("rho_beta", 2.0))
            log_rho = pt.log(rho)
            a = pt.exp(levels * log_rho)[:, None, None]
            c2 = -pt.expm1(2.0 * levels * log_rho)  # 1 - rho**(2g), exact near rho = 1
            quadratic = first + pt.sum((m0 - a * m1 + a**2 * m2) / c2[:, None, None], axis=0)
            log_jac = -0.5 * pt.sum(counts * pt.log(c2))
        else:
            quadratic, log_jac = pm.Data("quadratic", np.eye(q)), 0.0
        var: list[Any] = [fixed[j] for j in range(n_fixed)]
        log_var: Any = pt.sum(pt.log(fixed))
        if hinges:
            tau = pm.HalfNormal("trend_tau", sigma=pm.Data("trend_sigma", 1.0))
            var += [tau**2] * hinges
            log_var = log_var + 2.0 * hinges * pt.log(tau)
        if periods:
            period_sd = pm.HalfNormal("latent_sd", sigma=pm.Data("latent_sigma_scale", 1.0))
            var += [period_sd**2] * periods
            log_var = log_var + 2.0 * periods * pt.log(period_sd)
        s2 = sigma**2
        if p <= UNROLL_MAX:
            # The p x p algebra as scalar ops with a Cholesky written out: the matrices are
            # tiny, and fused elementwise code beats p x p LAPACK calls.
            precision = [[quadratic[j, k] / s2 for k in range(p)] for j in range(p)]
            for j in range(p):
                precision[j][j] = precision[j][j] + 1.0 / var[j]
            b = [quadratic[j, p] / s2 for j in range(p)]
            log_diag, half = _unrolled_cholesky_solve(precision, b)
        else:
            # With period intercepts p grows with the trial; the written-out Cholesky's code
            # grows as p**3 and takes minutes to compile, so LAPACK's factorization is used.
            inv_var = 1.0 / pt.stack([pt.as_tensor(v) for v in var])
            precision_m = quadratic[:p, :p] / s2 + pt.diag(inv_var)
            chol = pt.linalg.cholesky(precision_m)
            w = pt.linalg.solve_triangular(chol, quadratic[:p, p] / s2, lower=True)
            log_diag = pt.sum(pt.log(pt.diagonal(chol)))
            half = pt.sum(w**2)
        logdet = n * pt.log(s2) + log_var + 2.0 * log_diag
        quad = quadratic[p, p] / s2 - half
        pm.Potential(
            "marginal_likelihood", -0.5 * (n * np.log(2 * np.pi) + logdet + quad) + log_jac
        )
    return model


def draw_coefficients(
    data: ModelData,
    spec: ModelSpec,
    posterior: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Exact draws of ``beta`` given each posterior draw of the variance parameters.

    Parameters
    ----------
    posterior : dict
        ``sigma`` (and ``rho``, ``trend_tau``, ``latent_sd`` when present) as arrays of shape
        (chains, draws).

    Returns
    -------
    dict
        One array of shape (chains, draws) per coefficient name (``intercept``, ``effect``,
        ``trend_slope``, ``trend_knot_j``). The period intercepts are drawn jointly with them
        (so the others are exact draws) but not returned: like the other kinds' period
        intercepts they are not part of the posterior (replicate data draw new ones from
        ``N(0, latent_sd**2)``).
    """
    shape = posterior["sigma"].shape
    names, mean, chol = conditional_coefficients(data, spec, posterior)
    d, p = mean.shape
    # beta = mean + L^{-T} z has covariance (L L')^{-1} = P^{-1}
    z = rng.standard_normal((d, p))
    lt = np.swapaxes(chol, 1, 2)
    noise = np.linalg.solve(lt, z[..., None])[..., 0]
    beta = mean + noise
    return {
        name: beta[:, j].reshape(shape)
        for j, name in enumerate(names)
        if not name.startswith("period_")
    }


def conditional_coefficients(
    data: ModelData, spec: ModelSpec, posterior: dict[str, np.ndarray]
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """The Gaussian posterior of ``beta`` given each value of the variance parameters.

    Returns
    -------
    names : the coefficient names, in column order
    mean : numpy.ndarray, shape (d, p)
    chol : numpy.ndarray, shape (d, p, p)
        Lower Cholesky factor of the conditional *precision* ``P``.
    """
    names, m, precision, b = _conditional_system(data, spec, posterior)
    chol = np.linalg.cholesky(precision)
    mean = m + np.linalg.solve(precision, b[..., None])[..., 0]
    return names, mean, chol


def conditional_effect(
    data: ModelData, spec: ModelSpec, posterior: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of the effect's Gaussian conditional, for each value, shape (d,) each.

    One solve of ``P [v, w] = [b / sigma**2, e_1]`` per value: the mean is ``m_1 + v_1``, the
    variance ``[P^{-1}]_{11} = w_1``.
    """
    _, m, precision, b = _conditional_system(data, spec, posterior)
    rhs = np.zeros(b.shape + (2,))
    rhs[..., 0] = b
    rhs[:, 1, 1] = 1.0
    solved = np.linalg.solve(precision, rhs)
    return m[1] + solved[:, 1, 0], solved[:, 1, 1]


def _conditional_system(
    data: ModelData, spec: ModelSpec, posterior: dict[str, np.ndarray]
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
    """Names, prior means, precisions ``P`` (d, p, p) and ``b / sigma**2`` (d, p)."""
    dm = design(data, spec)
    x, m, sds, hinges, names = dm.x, dm.means, dm.sds, dm.hinges, dm.names
    periods = dm.periods
    moments = GapMoments.of(x, data.y.astype(float), m, data.time)
    s2 = np.asarray(posterior["sigma"], dtype=float).reshape(-1) ** 2
    d = s2.size
    p = x.shape[1]
    if spec.autocorrelation:
        # the whitened sums depend on rho only: computed once per distinct value
        rho, inverse = np.unique(np.asarray(posterior["rho"]).reshape(-1), return_inverse=True)
        quadratic = moments.quadratic(rho)
        index = inverse.reshape(-1)
    else:
        quadratic = moments.independent()[None]
        index = np.zeros(d, dtype=int)
    var = np.tile(sds**2, (d, 1))
    if hinges:
        var[:, dm.fixed : dm.fixed + hinges] = (
            np.asarray(posterior["trend_tau"]).reshape(-1, 1) ** 2
        )
    if periods:
        var[:, p - periods :] = np.asarray(posterior["latent_sd"]).reshape(-1, 1) ** 2
    precision = quadratic[:, :p, :p][index] / s2[:, None, None]
    precision[:, np.arange(p), np.arange(p)] += 1.0 / var
    b = quadratic[:, :p, p][index] / s2[:, None]
    return names, m, precision, b


def _unrolled_cholesky_solve(a: list[list[Any]], v: list[Any]) -> tuple[Any, Any]:
    """``(sum log diag L, |L^{-1} v|^2)`` for ``a = L L'``, written out in scalar operations."""
    p = len(a)
    chol: list[list[Any]] = [[None] * p for _ in range(p)]
    for j in range(p):
        diag = a[j][j] - sum((chol[j][k] ** 2 for k in range(j)), start=pt.constant(0.0))
        chol[j][j] = pt.sqrt(diag)
        for i in range(j + 1, p):
            off = a[i][j] - sum((chol[i][k] * chol[j][k] for k in range(j)), start=pt.constant(0.0))
            chol[i][j] = off / chol[j][j]
    w: list[Any] = []
    for i in range(p):
        w.append(
            (v[i] - sum((chol[i][k] * w[k] for k in range(i)), start=pt.constant(0.0))) / chol[i][i]
        )
    log_diag = sum((pt.log(chol[j][j]) for j in range(p)), start=pt.constant(0.0))
    quad = sum((wi**2 for wi in w), start=pt.constant(0.0))
    return log_diag, quad
