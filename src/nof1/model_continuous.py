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
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from nof1.model_terms import ar_coefficients, gaps, trend_basis, whiten


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


def build_marginal_model(data: Any, spec: Any) -> pm.Model:
    """PyMC model of ``(sigma, rho, tau)`` with ``beta`` integrated out (see module docstring)."""
    prior = spec.prior
    x, m, sds, hinges, _ = design(data, spec)
    y = data.y.astype(float)
    n, p = x.shape
    with pm.Model() as model:
        sigma = pm.HalfNormal("sigma", sigma=prior.sigma_scale)
        if spec.autocorrelation:
            rho = pm.Beta("rho", alpha=prior.rho_alpha, beta=prior.rho_beta)
            a, c = ar_coefficients(rho, gaps(data.time))
            yw = whiten(pt.as_tensor_variable(y), a, c)
            xw = whiten(pt.as_tensor_variable(x), a, c)
            log_jac = -pt.sum(pt.log(c))
        else:
            yw, xw, log_jac = pt.as_tensor_variable(y), pt.as_tensor_variable(x), 0.0
        if hinges:
            tau = pm.HalfNormal("trend_tau", sigma=prior.trend_sigma)
            var = pt.concatenate(
                [pt.as_tensor_variable(sds[: p - hinges] ** 2), pt.ones(hinges) * tau**2]
            )
        else:
            var = pt.as_tensor_variable(sds**2)
        s2 = sigma**2
        r = yw - pt.sum(xw * m, axis=1)
        # Gram matrix and X'r as elementwise sums, and a Cholesky unrolled into scalar ops: the
        # matrices are tiny (p <= ~10), and fused C elementwise code beats p x p LAPACK calls
        # (Python-level ops, and BLAS thread wake-ups on a busy machine).
        gram = pt.sum(xw[:, :, None] * xw[:, None, :], axis=0)
        b = pt.sum(xw * r[:, None], axis=0)
        precision = [[gram[j, k] / s2 for k in range(p)] for j in range(p)]
        for j in range(p):
            precision[j][j] = precision[j][j] + 1.0 / var[j]
        log_diag, half = _unrolled_cholesky_solve(precision, [b[j] / s2 for j in range(p)])
        logdet = n * pt.log(s2) + pt.sum(pt.log(var)) + 2.0 * log_diag
        quad = pt.sum(r**2) / s2 - half
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
    y = data.y.astype(float)
    sigma = posterior["sigma"]
    shape = sigma.shape
    s2 = sigma.reshape(-1) ** 2
    d = s2.size
    p = x.shape[1]
    if spec.autocorrelation:
        rho = posterior["rho"].reshape(-1)
        g = gaps(data.time)
        a = rho[:, None] ** g[None, :]
        a[:, 0] = 0.0
        c = np.sqrt(-np.expm1(2.0 * g[None, :] * np.log(rho[:, None])))
        c[:, 0] = 1.0
        yw = (y[None, :] - a * np.concatenate([np.zeros((d, 1)), np.tile(y[:-1], (d, 1))], 1)) / c
        xprev = np.concatenate([np.zeros((1, p)), x[:-1]], 0)
        xw = (x[None, :, :] - a[:, :, None] * xprev[None, :, :]) / c[:, :, None]
    else:
        yw = np.tile(y, (d, 1))
        xw = np.broadcast_to(x, (d,) + x.shape)
    var = np.tile(sds**2, (d, 1))
    if hinges:
        var[:, p - hinges :] = posterior["trend_tau"].reshape(-1, 1) ** 2
    r = yw - np.einsum("dnp,p->dn", xw, m)
    gram = np.einsum("dnp,dnq->dpq", xw, xw)
    b = np.einsum("dnp,dn->dp", xw, r)
    precision = gram / s2[:, None, None]
    precision[:, np.arange(p), np.arange(p)] += 1.0 / var
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
