"""The continuous model with its linear coefficients integrated out (collapsed Gibbs-free NUTS).

Given the residual SD ``sigma``, the autocorrelation ``rho`` and the spline shrinkage ``tau``, the
continuous model is a Gaussian linear model: ``y = X beta + e`` with ``e`` a gap-exact AR(1) and
a Gaussian prior on ``beta`` (level, effect, trend). The marginal likelihood ``p(y | sigma, rho,
tau)`` is then a Gaussian integral in closed form, so NUTS only explores the 1–3 variance
parameters; ``beta`` is drawn afterwards, exactly, from its Gaussian conditional posterior for
every draw. The joint draws are exact posterior draws of the full model (``p(theta | y)
p(beta | theta, y)``), and the effect draws are nearly independent.

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
from nof1.model.terms import GapMoments, design


def build_marginal_model(data: ModelData, spec: ModelSpec) -> pm.Model:
    """PyMC model of ``(sigma, rho, tau)`` with ``beta`` integrated out (see module docstring)."""
    prior = spec.prior
    dm = design(data, spec)
    x, m, sds, hinges = dm.x, dm.means, dm.sds, dm.hinges
    moments = GapMoments.of(x, data.y.astype(float), m, data.time)
    n, p = x.shape
    with pm.Model() as model:
        sigma = pm.HalfNormal("sigma", sigma=prior.sigma_scale)
        if spec.autocorrelation:
            rho = pm.Beta("rho", alpha=prior.rho_alpha, beta=prior.rho_beta)
            log_rho = pt.log(rho)
            a = pt.exp(moments.levels * log_rho)[:, None, None]
            c2 = -pt.expm1(2.0 * moments.levels * log_rho)  # 1 - rho**(2g), exact near rho = 1
            quadratic = moments.first + pt.sum(
                (moments.m0 - a * moments.m1 + a**2 * moments.m2) / c2[:, None, None], axis=0
            )
            log_jac = -0.5 * pt.sum(moments.counts * pt.log(c2))
        else:
            quadratic, log_jac = pt.as_tensor_variable(moments.independent()), 0.0
        fixed = sds[: p - hinges] ** 2
        var: list[Any] = [float(v) for v in fixed]
        log_var: Any = float(np.sum(np.log(fixed)))
        if hinges:
            tau = pm.HalfNormal("trend_tau", sigma=prior.trend_sigma)
            var += [tau**2] * hinges
            log_var = log_var + 2.0 * hinges * pt.log(tau)
        s2 = sigma**2
        # The p x p algebra as scalar ops with a Cholesky written out: the matrices are tiny
        # (p <= ~10), and fused C elementwise code beats p x p LAPACK calls.
        precision = [[quadratic[j, k] / s2 for k in range(p)] for j in range(p)]
        for j in range(p):
            precision[j][j] = precision[j][j] + 1.0 / var[j]
        b = [quadratic[j, p] / s2 for j in range(p)]
        log_diag, half = _unrolled_cholesky_solve(precision, b)
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
    """Exact draws of ``beta`` given each posterior draw of ``(sigma, rho, tau)``.

    Parameters
    ----------
    posterior : dict
        ``sigma`` (and ``rho``, ``trend_tau`` when present) as arrays of shape (chains, draws).

    Returns
    -------
    dict
        One array of shape (chains, draws) per coefficient name (``intercept``, ``effect``,
        ``trend_slope``, ``trend_knot_j``).
    """
    dm = design(data, spec)
    x, m, sds, hinges, names = dm.x, dm.means, dm.sds, dm.hinges, dm.names
    moments = GapMoments.of(x, data.y.astype(float), m, data.time)
    sigma = posterior["sigma"]
    shape = sigma.shape
    s2 = sigma.reshape(-1) ** 2
    d = s2.size
    p = x.shape[1]
    if spec.autocorrelation:
        quadratic = moments.quadratic(posterior["rho"].reshape(-1))
    else:
        quadratic = np.broadcast_to(moments.independent(), (d, p + 1, p + 1))
    var = np.tile(sds**2, (d, 1))
    if hinges:
        var[:, p - hinges :] = posterior["trend_tau"].reshape(-1, 1) ** 2
    precision = quadratic[:, :p, :p] / s2[:, None, None]
    precision[:, np.arange(p), np.arange(p)] += 1.0 / var
    b = quadratic[:, :p, p]
    chol = np.linalg.cholesky(precision)
    mean = m + np.linalg.solve(precision, (b / s2[:, None])[..., None])[..., 0]
    # beta = mean + L^{-T} z has covariance (L L')^{-1} = P^{-1}
    z = rng.standard_normal((d, p))
    lt = np.swapaxes(chol, 1, 2)
    noise = np.linalg.solve(lt, z[..., None])[..., 0]
    beta = mean + noise
    return {name: beta[:, j].reshape(shape) for j, name in enumerate(names)}


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
