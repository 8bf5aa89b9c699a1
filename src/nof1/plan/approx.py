"""Fast approximate posteriors of the analysis models, for the design planner.

The planner fits thousands of simulated trials, so it cannot run MCMC for each. This module
approximates the posterior of the *same* models :mod:`nof1.model` samples, with the same priors
(:func:`nof1.prior.default_prior`), and returns effect draws on the verdict scale so the verdict
comes from the one rule in :mod:`nof1.verdict`.

continuous — exact up to quadrature
    Given the residual SD ``sigma`` and the autocorrelation ``rho`` the model is a Gaussian
    linear model with gap-exact AR(1) errors and a Gaussian prior on (level, effect, trend), so
    the coefficients integrate out in closed form (the algebra of
    :mod:`nof1.model.continuous`, with the same :class:`~nof1.model.terms.GapMoments`). ``rho``
    is integrated on a 50-point grid over (0, 1) and ``log sigma`` by 9-point Gauss–Hermite
    quadrature around its conditional mode; with period intercepts (``period`` given, as the
    analysis does) their SD ``latent_sd`` is integrated over 8 equal-mass points of its
    half-normal prior. The effect's posterior is the resulting mixture of normals. No sampling
    error beyond the quadrature.

count, binary, ordinal — Laplace with an AR(1) sandwich
    The population-averaged (marginal) negative binomial / logistic / ordered-logistic model is
    fitted by maximizing the posterior (scipy), and the Hessian gives a Gaussian approximation.
    The analysis model's latent AR(1) day effects make days dependent; their effect on the
    uncertainty is carried over with a model-based sandwich: the residual autocorrelation is
    fitted as ``c * rho**gap`` (least squares over lags 1–7 of the standardized score residuals)
    and the likelihood information is divided by the resulting variance inflation of the effect.
    The effect draws are then population-averaged verdict-scale differences, as in
    :mod:`nof1.model`.

``benchmarks/validate_planner.py`` compares both against full PyMC fits (``docs/planner.md``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from attrs import frozen
from scipy import optimize
from scipy.special import expit, gammaln, ndtr, ndtri

from nof1.model.terms import GapMoments, design_matrix
from nof1.prior import PriorSpec
from nof1.vocab import EXPOSURE_DAYS, KINDS

N_DRAWS = 4000
_RHO_GRID = np.linspace(0.01, 0.99, 50)
#: Gauss–Hermite nodes in log sigma (around its conditional mode) and their log weights, with
#: the Gaussian kernel divided out so any smooth posterior is integrated accurately.
_GH_Z, _GH_W = np.polynomial.hermite_e.hermegauss(9)
_SIGMA_OFFSETS = _GH_Z
_SIGMA_LOG_WEIGHTS = np.log(_GH_W) + _GH_Z**2 / 2.0
#: The SD of the period intercepts at the midpoints of 8 equal-mass slices of its half-normal
#: prior, in units of the prior's scale (each node carries prior mass 1/8).
_PERIOD_SD_NODES = ndtri(0.5 + 0.5 * (np.arange(8) + 0.5) / 8)


@frozen(eq=False)
class ApproxPosterior:
    """An approximate posterior of the effect on the verdict scale.

    ``draws`` are equally weighted (for the continuous model: the mixture's quantiles at
    ``(i + 0.5) / n``), so :func:`nof1.verdict.probabilities` applies unchanged.
    """

    draws: np.ndarray
    method: str

    @property
    def mean(self) -> float:
        return float(np.mean(self.draws))

    @property
    def sd(self) -> float:
        return float(np.std(self.draws))

    @property
    def ci95(self) -> tuple[float, float]:
        low, high = np.quantile(self.draws, [0.025, 0.975])
        return float(low), float(high)


# --------------------------------------------------------------------------------------------
# continuous: exact marginal over (rho, sigma) grid
# --------------------------------------------------------------------------------------------


def continuous_posterior(
    y: np.ndarray,
    arm: np.ndarray,
    time: np.ndarray,
    prior: PriorSpec,
    *,
    autocorrelation: bool = True,
    trend: str = "none",
    knots: tuple[float, ...] = (),
    period: np.ndarray | None = None,
    n_draws: int = N_DRAWS,
) -> ApproxPosterior:
    """Posterior of the difference in means, integrating (rho, sigma[, latent_sd]) on a grid.

    Spline hinges (random knot slopes) use their prior SD ``trend_sigma`` (their own scale
    ``tau`` is fixed at its prior scale rather than integrated). ``period`` (one label per day)
    adds the analysis model's period intercepts; as there, they belong to the day-level
    clustering and are left out without ``autocorrelation``.
    """
    y = np.asarray(y, dtype=float)
    t = np.asarray(time, dtype=float)
    with_periods = period is not None and autocorrelation
    dm = design_matrix(
        np.asarray(arm), t, trend, knots, prior, np.asarray(period) if with_periods else None
    )
    x, m = dm.x, dm.means
    sds = np.where(np.isnan(dm.sds), prior.trend_sigma, dm.sds)
    # one row of prior variances per node of the period SD (a single row without periods)
    period_sd = prior.latent_sigma_scale * _PERIOD_SD_NODES if dm.periods else np.ones(1)
    var = np.tile(sds**2, (period_sd.size, 1))
    if dm.periods:
        var[:, -dm.periods :] = period_sd[:, None] ** 2
    n, p = x.shape
    rho = _RHO_GRID if autocorrelation else np.array([0.0])
    # the same per-gap sums as the analysis model (nof1.model.continuous): whitened X'X, X'r, r'r
    moments = GapMoments.of(x, y, m, t)
    if autocorrelation:
        quadratic = moments.quadratic(rho)
        log_jac = moments.log_jacobian(rho)
    else:
        quadratic = moments.independent()[None]
        log_jac = np.zeros(1)
    gram = quadratic[:, :p, :p]
    b = quadratic[:, :p, p]
    rr = quadratic[:, p, p]
    # conditional mode of sigma^2 given rho (GLS residual), then a grid in log sigma around it
    ridge = gram + 1e-9 * np.eye(p)
    fitted = np.einsum("gp,gp->g", b, np.linalg.solve(ridge, b[..., None])[..., 0])
    s_hat = np.sqrt(np.maximum((rr - fitted) / max(n - p, 1), 1e-12))
    log_sigma = np.log(s_hat)[:, None] + _SIGMA_OFFSETS[None, :] / np.sqrt(2.0 * n)
    s2 = np.exp(2.0 * log_sigma)[..., None]  # (G, K, 1): the last axis is the period SD node
    # (G, K, L, p, p): rho node, sigma node, period-SD node
    precision = (np.eye(p) / var[:, None, :])[None, None] + gram[:, None, None] / s2[
        ..., None, None
    ]
    chol = np.linalg.cholesky(precision)
    inverse = np.linalg.inv(precision)
    solved = np.einsum("gklpr,gr->gklp", inverse, b)  # P^{-1} b
    logdet = (
        n * np.log(s2)
        + np.sum(np.log(var), axis=1)[None, None]
        + 2.0 * np.sum(np.log(np.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)
    )
    quad = rr[:, None, None] / s2 - np.einsum("gklp,gp->gkl", solved, b) / s2**2
    loglik = -0.5 * (logdet + quad) + log_jac[:, None, None]
    sigma = np.exp(log_sigma)
    log_prior = -0.5 * (sigma / prior.sigma_scale) ** 2 + log_sigma  # HalfNormal, d log sigma
    if autocorrelation:
        log_prior = (
            log_prior
            + ((prior.rho_alpha - 1) * np.log(rho) + (prior.rho_beta - 1) * np.log1p(-rho))[:, None]
        )
    # the period-SD nodes carry equal prior mass: no prior term of their own
    logw = (log_prior + _SIGMA_LOG_WEIGHTS[None, :])[..., None] + loglik
    w = np.exp(logw - logw.max())
    w /= w.sum()
    mean = m[1] + solved[..., 1] / s2
    cov = inverse[..., 1, 1]
    return ApproxPosterior(
        _mixture_quantiles(w.ravel(), mean.ravel(), np.sqrt(cov.ravel()), n_draws), "exact-grid"
    )


def _mixture_quantiles(w: np.ndarray, mu: np.ndarray, sd: np.ndarray, n: int) -> np.ndarray:
    """Quantiles at (i + 0.5) / n of a normal mixture (equally weighted pseudo-draws)."""
    # the smallest components holding 0.05% of the mass cannot move a probability visibly
    order = np.argsort(w)[::-1]
    count = int(np.searchsorted(np.cumsum(w[order]), 0.9995 * w.sum())) + 1
    keep = order[:count]
    w, mu, sd = w[keep] / w[keep].sum(), mu[keep], sd[keep]
    grid = np.linspace((mu - 7 * sd).min(), (mu + 7 * sd).max(), 201)
    cdf = np.sum(w[None, :] * ndtr((grid[:, None] - mu[None, :]) / sd[None, :]), axis=1)
    cdf = np.maximum.accumulate(cdf)
    levels = (np.arange(n) + 0.5) / n
    return np.interp(levels, cdf, grid)


# --------------------------------------------------------------------------------------------
# count, binary, ordinal: Laplace + AR(1) sandwich
# --------------------------------------------------------------------------------------------


def _hessian(f: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of a scalar function."""
    k = x.size
    h = np.zeros((k, k))
    e = np.eye(k) * step
    f0 = f(x)
    for i in range(k):
        for j in range(i, k):
            if i == j:
                h[i, i] = (f(x + e[i]) - 2 * f0 + f(x - e[i])) / step**2
            else:
                h[i, j] = h[j, i] = (
                    f(x + e[i] + e[j])
                    - f(x + e[i] - e[j])
                    - f(x - e[i] + e[j])
                    + f(x - e[i] - e[j])
                ) / (4 * step**2)
    return h


def _inflation(x: np.ndarray, time: np.ndarray, residual: np.ndarray, info: np.ndarray) -> float:
    """Variance inflation of the effect from AR(1)-correlated standardized residuals.

    The residual autocorrelation is modelled as ``c * rho**gap`` (``c``, ``rho`` fitted by least
    squares to the empirical autocorrelations at lags 1–7); the sandwich ``H^-1 M H^-1`` with
    ``M = X' D R D X`` (``D = sqrt(info)``) over the naive ``H^-1`` gives the factor for the
    effect coefficient (≥ 1).
    """
    t = np.asarray(time, dtype=float)
    e = residual / np.sqrt(np.maximum(info, 1e-12))
    scale = np.mean(e * e)
    if scale <= 0:
        return 1.0

    def lag(g: int) -> float | None:
        idx = np.searchsorted(t, t + g)
        ok = idx < t.size
        ok[ok] = t[idx[ok]] == t[ok] + g
        if ok.sum() < 10:
            return None
        return float(np.mean(e[ok] * e[idx[ok]]) / scale)

    # least squares fit of c * rho**g to the autocorrelations at lags 1..7: lags 1 and 2 alone
    # are too noisy for ~150 days (a ratio of two noisy numbers)
    lags = [(g, lag(g)) for g in range(1, 8)]
    usable = [(g, r) for g, r in lags if r is not None]
    if not usable or usable[0][0] != 1 or usable[0][1] <= 0.02:
        return 1.0
    g_arr = np.array([g for g, _ in usable], dtype=float)
    r_arr = np.array([r for _, r in usable])
    best = (np.inf, 0.0, 0.0)
    for rho in (float(v) for v in np.linspace(0.05, 0.9, 35)):
        powers = rho**g_arr
        c = float(np.clip(np.dot(r_arr, powers) / np.dot(powers, powers), 0.0, 1.0))
        sse = float(np.sum((r_arr - c * powers) ** 2))
        if sse < best[0]:
            best = (sse, rho, c)
    _, rho, c = best
    distance = np.abs(t[:, None] - t[None, :])
    r = c * rho**distance
    np.fill_diagonal(r, 1.0)
    d = np.sqrt(info)
    xd = x * d[:, None]
    h = x.T @ (x * info[:, None])
    meat = xd.T @ r @ xd
    h_inv = np.linalg.pinv(h)
    sandwich = h_inv @ meat @ h_inv
    return float(max(sandwich[1, 1] / h_inv[1, 1], 1.0))


def _gaussian_update(
    mode: np.ndarray,
    h_lik: np.ndarray,
    h_prior: np.ndarray,
    prior_mean: np.ndarray,
    inflation: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Re-weigh the likelihood part of a Laplace posterior by ``1 / inflation``."""
    h_post = h_lik + h_prior
    mle = np.linalg.solve(h_lik + 1e-9 * np.eye(mode.size), h_post @ mode - h_prior @ prior_mean)
    h_adj = h_lik / inflation + h_prior
    cov = np.linalg.inv(h_adj)
    mean = cov @ (h_lik / inflation @ mle + h_prior @ prior_mean)
    return mean, (cov + cov.T) / 2.0


def _nb_loglik(y: np.ndarray, mu: np.ndarray, phi: float | np.ndarray) -> np.ndarray:
    return np.asarray(
        gammaln(y + phi)
        - gammaln(phi)
        - gammaln(y + 1)
        + phi * np.log(phi / (phi + mu))
        + y * np.log(mu / (phi + mu) + 1e-300)
    )


def glm_posterior(
    kind: str,
    y: np.ndarray,
    arm: np.ndarray,
    time: np.ndarray,
    prior: PriorSpec,
    *,
    autocorrelation: bool = True,
    trend: str = "none",
    knots: tuple[float, ...] = (),
    n_categories: int | None = None,
    exposure_days: float = float(EXPOSURE_DAYS),
    seed: int = 0,
    n_draws: int = N_DRAWS,
) -> ApproxPosterior:
    """Laplace approximation (with the AR(1) sandwich) for count, binary and ordinal outcomes."""
    y = np.asarray(y, dtype=float)
    t = np.asarray(time, dtype=float)
    dm = design_matrix(np.asarray(arm), t, trend, knots, prior)
    x, m = dm.x, dm.means
    sds = np.where(np.isnan(dm.sds), prior.trend_sigma, dm.sds)
    p = x.shape[1]
    rng = np.random.default_rng(seed)

    if kind == "ordinal":
        k = int(n_categories or (y.max() + 1))
        cut_mu = np.asarray(prior.cutpoint_mu, dtype=float)
        if cut_mu.size != k - 1:
            cut_mu = np.log(np.arange(1, k) / (k - np.arange(1, k)))
        xo = x[:, 1:]  # no intercept: the cutpoints carry the level
        prior_mean = np.concatenate([m[1:], cut_mu])
        prior_sd = np.concatenate([sds[1:], np.full(k - 1, prior.cutpoint_sigma)])
        yi = y.astype(int)
        q = xo.shape[1]

        def cdfs(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            eta = xo @ theta[:q]
            cut = theta[q:]
            upper = np.append(cut, np.inf)
            lower = np.insert(cut, 0, -np.inf)
            return expit(upper[yi] - eta), expit(lower[yi] - eta)

        def loglik(theta: np.ndarray) -> np.ndarray:
            hi, lo = cdfs(theta)
            return np.asarray(np.log(np.maximum(hi - lo, 1e-300)))

        def to_theta(z: np.ndarray) -> np.ndarray:
            cut = z[q] + np.concatenate([[0.0], np.cumsum(np.exp(z[q + 1 :]))])
            return np.concatenate([z[:q], cut])

        def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
            """Negative log posterior in the unconstrained parameters, with its gradient."""
            theta = to_theta(z)
            hi, lo = cdfs(theta)
            prob = np.maximum(hi - lo, 1e-300)
            d_hi, d_lo = hi * (1 - hi), lo * (1 - lo)
            value = -np.sum(np.log(prob)) + 0.5 * np.sum(((theta - prior_mean) / prior_sd) ** 2)
            grad = np.empty(theta.size)
            grad[:q] = xo.T @ ((d_hi - d_lo) / prob)  # d(-loglik)/d(beta)
            cut_grad = np.zeros(k - 1)
            np.add.at(cut_grad, yi[yi < k - 1], -(d_hi / prob)[yi < k - 1])
            np.add.at(cut_grad, yi[yi > 0] - 1, (d_lo / prob)[yi > 0])
            grad[q:] = cut_grad
            grad += (theta - prior_mean) / prior_sd**2
            gz = np.empty(z.size)
            gz[:q] = grad[:q]
            gz[q] = grad[q:].sum()
            tail = np.cumsum(grad[q:][::-1])[::-1]  # sum over cutpoints j >= m
            gz[q + 1 :] = tail[1:] * np.exp(z[q + 1 :])
            return float(value), gz

        z0 = np.concatenate([np.zeros(q), [cut_mu[0]], np.log(np.maximum(np.diff(cut_mu), 0.1))])
        res = optimize.minimize(objective, z0, jac=True, method="BFGS")
        mode = to_theta(res.x)
        h_lik = _hessian(lambda th: -float(np.sum(loglik(th))), mode)
        h_prior = np.diag(1.0 / prior_sd**2)
        eta = xo @ mode[:q]
        cut = mode[q:]
        # score and information of each day's linear predictor
        bounds = np.concatenate([[-np.inf], cut, [np.inf]])
        big_f = expit(bounds[None, :] - eta[:, None])
        dens = big_f * (1 - big_f)
        probs = np.maximum(np.diff(big_f, axis=1), 1e-300)
        scores = (dens[:, :-1] - dens[:, 1:]) / probs
        residual = scores[np.arange(y.size), yi]
        info = np.sum(probs * scores**2, axis=1)
        factor = _inflation(x, t, residual, info) if autocorrelation else 1.0
        mean, cov = _gaussian_update(mode, h_lik, h_prior, prior_mean, factor)
        draws = rng.multivariate_normal(mean, cov, size=n_draws, method="cholesky")
        shift, cuts = draws[:, 0], draws[:, q:]
        effect = np.sum(expit(shift[:, None] - cuts) - expit(-cuts), axis=1)
        return ApproxPosterior(effect, "laplace-ar1-sandwich")

    if kind == "binary":

        def loglik(theta: np.ndarray) -> np.ndarray:
            eta = x @ theta
            return np.asarray(y * eta - np.logaddexp(0.0, eta))

        prior_mean, prior_sd = m, sds
        theta = prior_mean.copy()
        h_prior = np.diag(1.0 / prior_sd**2)
        for _ in range(50):  # Newton on the log posterior (concave)
            prob = expit(x @ theta)
            grad = x.T @ (y - prob) - h_prior @ (theta - prior_mean)
            hess = x.T @ (x * (prob * (1 - prob))[:, None]) + h_prior
            step = np.linalg.solve(hess, grad)
            theta = theta + step
            if np.max(np.abs(step)) < 1e-8:
                break
        prob = expit(x @ theta)
        info = prob * (1 - prob)
        h_lik = x.T @ (x * info[:, None])
        factor = _inflation(x, t, y - prob, info) if autocorrelation else 1.0
        mean, cov = _gaussian_update(theta, h_lik, h_prior, prior_mean, factor)
        draws = rng.multivariate_normal(mean, cov, size=n_draws, method="cholesky")
        effect = exposure_days * (expit(draws[:, 0] + draws[:, 1]) - expit(draws[:, 0]))
        return ApproxPosterior(effect, "laplace-ar1-sandwich")

    if kind == "count":
        prior_mean, prior_sd = m, sds
        h_prior_lin = np.diag(1.0 / prior_sd**2)
        s_disp = prior.dispersion_scale

        def neg_post(z: np.ndarray) -> float:
            beta, log_phi = z[:p], z[p]
            phi = np.exp(log_phi)
            mu = np.exp(np.clip(x @ beta, -30, 30))
            nll = -np.sum(_nb_loglik(y, mu, phi))
            inv = 1.0 / phi  # HalfNormal on 1/phi, written in log phi (Jacobian 1/phi)
            lp = -0.5 * (inv / s_disp) ** 2 - log_phi
            return float(nll + 0.5 * np.sum(((beta - prior_mean) / prior_sd) ** 2) - lp)

        start = np.concatenate([prior_mean, [np.log(5.0)]])
        start[0] = np.log(max(y.mean(), 0.05))
        res = optimize.minimize(neg_post, start, method="BFGS")
        beta, phi = res.x[:p], float(np.exp(res.x[p]))
        mu = np.exp(x @ beta)
        info = phi * mu / (phi + mu)
        h_lik = x.T @ (x * info[:, None])
        residual = phi * (y - mu) / (phi + mu)
        factor = _inflation(x, t, residual, info) if autocorrelation else 1.0
        mean, cov = _gaussian_update(beta, h_lik, h_prior_lin, prior_mean, factor)
        draws = rng.multivariate_normal(mean, cov, size=n_draws, method="cholesky")
        effect = exposure_days * (np.exp(draws[:, 0] + draws[:, 1]) - np.exp(draws[:, 0]))
        return ApproxPosterior(effect, "laplace-ar1-sandwich")

    raise ValueError(f"kind must be count, binary or ordinal for glm_posterior (got {kind!r})")


def posterior(
    kind: str,
    y: np.ndarray,
    arm: np.ndarray,
    time: np.ndarray,
    prior: PriorSpec,
    *,
    autocorrelation: bool = True,
    trend: str = "none",
    knots: tuple[float, ...] = (),
    n_categories: int | None = None,
    period: np.ndarray | None = None,
    seed: int = 0,
    n_draws: int = N_DRAWS,
) -> ApproxPosterior:
    """Approximate posterior of the verdict-scale effect for any outcome kind.

    Parameters mirror :class:`nof1.model.ModelData` and :class:`nof1.model.ModelSpec`: ``y``,
    ``arm`` (0 = A, 1 = B), ``time`` and ``period`` are the analysed, non-missing days.
    ``period`` adds period intercepts to the continuous model, as the analysis does when the
    days' periods are known (more than one); the other kinds' approximations carry day-level
    dependence through their AR(1) sandwich.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
    if kind == "continuous":
        return continuous_posterior(
            y,
            arm,
            time,
            prior,
            autocorrelation=autocorrelation,
            trend=trend,
            knots=knots,
            period=period if period is not None and len(np.unique(period)) > 1 else None,
            n_draws=n_draws,
        )
    return glm_posterior(
        kind,
        y,
        arm,
        time,
        prior,
        autocorrelation=autocorrelation,
        trend=trend,
        knots=knots,
        n_categories=n_categories,
        seed=seed,
        n_draws=n_draws,
    )


__all__ = [
    "ApproxPosterior",
    "continuous_posterior",
    "glm_posterior",
    "posterior",
]
