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
per-gap sums (:class:`GapMoments`), so the sampled graph does not grow with the trial's length.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from attrs import frozen

from nof1.model_terms import gaps, trend_basis


def design(data: Any, spec: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, list[str]]:
    """Design matrix, prior means, fixed prior SDs (NaN where ``tau`` applies), hinges, names."""
    prior = spec.prior
    basis, hinges = trend_basis(data.time, spec.trend, data.knots)
    n = data.y.size
    columns = [np.ones(n), data.arm.astype(float)]
    names = ["intercept", "effect"]
    means = [prior.intercept_mu, prior.effect_mu]
    sds = [prior.intercept_sigma, prior.effect_sigma]
    if basis.shape[1]:
        columns.append(basis[:, 0])
        names.append("trend_slope")
        means.append(0.0)
        sds.append(prior.trend_sigma)
        for j in range(hinges):
            columns.append(basis[:, 1 + j])
            names.append(f"trend_knot_{j}")
            means.append(0.0)
            sds.append(np.nan)
    return np.column_stack(columns), np.array(means), np.array(sds), hinges, names


@frozen
class GapMoments:
    """Cross-product sums of ``z_i = [x_i, u_i]`` (``u = y - X m``) grouped by the gap before day i.

    For every gap length ``g`` (days since the previous observation) the whitened quadratic
    form ``sum_i w_i w_i'`` with ``w_i = (z_i - a z_{i-1}) / c``, ``a = rho**g`` and
    ``c**2 = 1 - rho**(2g)`` expands into ``(M0 - a M1 + a**2 M2) / c**2``. So the likelihood
    needs these few (q x q) matrices, not the n-day series: NUTS evaluates a graph whose size
    does not grow with the trial, and the draws of ``beta`` reuse the same sums.
    """

    levels: np.ndarray  # (G,) distinct gaps
    counts: np.ndarray  # (G,) observations after each gap
    m0: np.ndarray  # (G, q, q) sum z_i z_i'
    m1: np.ndarray  # (G, q, q) sum z_i z_{i-1}' + z_{i-1} z_i'
    m2: np.ndarray  # (G, q, q) sum z_{i-1} z_{i-1}'
    first: np.ndarray  # (q, q) z_0 z_0' (the first day: a = 0, c = 1)

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray, m: np.ndarray, time: np.ndarray) -> GapMoments:
        z = np.column_stack([x, y - x @ m])
        g = gaps(time)[1:]
        cur, prev = z[1:], z[:-1]
        levels = np.unique(g)
        m0, m1, m2, counts = [], [], [], []
        for level in levels:
            k = g == level
            cross = cur[k].T @ prev[k]
            m0.append(cur[k].T @ cur[k])
            m1.append(cross + cross.T)
            m2.append(prev[k].T @ prev[k])
            counts.append(k.sum())
        q = z.shape[1]
        return cls(
            levels=levels.astype(float),
            counts=np.array(counts, dtype=float),
            m0=np.array(m0).reshape(-1, q, q),
            m1=np.array(m1).reshape(-1, q, q),
            m2=np.array(m2).reshape(-1, q, q),
            first=np.outer(z[0], z[0]),
        )

    def independent(self) -> np.ndarray:
        """The quadratic form without autocorrelation (``rho = 0``): ``Z'Z``."""
        return self.first + self.m0.sum(axis=0)


def build_marginal_model(data: Any, spec: Any) -> pm.Model:
    """PyMC model of ``(sigma, rho, tau)`` with ``beta`` integrated out (see module docstring)."""
    prior = spec.prior
    x, m, sds, hinges, _ = design(data, spec)
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
    data: Any, spec: Any, posterior: dict[str, np.ndarray], rng: np.random.Generator
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
    x, m, sds, hinges, names = design(data, spec)
    moments = GapMoments.of(x, data.y.astype(float), m, data.time)
    sigma = posterior["sigma"]
    shape = sigma.shape
    s2 = sigma.reshape(-1) ** 2
    d = s2.size
    p = x.shape[1]
    if spec.autocorrelation:
        log_rho = np.log(posterior["rho"].reshape(-1, 1))
        a = np.exp(moments.levels * log_rho)  # (d, G)
        c2 = -np.expm1(2.0 * moments.levels * log_rho)
        quadratic = (
            moments.first
            + np.einsum("dg,gqr->dqr", 1.0 / c2, moments.m0)
            - np.einsum("dg,gqr->dqr", a / c2, moments.m1)
            + np.einsum("dg,gqr->dqr", a**2 / c2, moments.m2)
        )
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
