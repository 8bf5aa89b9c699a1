"""Replicated data from a fitted model, for the posterior predictive checks.

The p-values themselves are summaries of these replicates (:func:`nof1.summary.predictive_check`).
"""

from __future__ import annotations

import numpy as np

from nof1.model.spec import Fit, ModelData, ModelSpec
from nof1.model.terms import design

#: Posterior draws used for the predictive check.
PPC_DRAWS = 500


def continuous_replicates(
    fit: Fit, data: ModelData, spec: ModelSpec, seed: int, *, n_draws: int = PPC_DRAWS
) -> tuple[np.ndarray, np.ndarray]:
    """Expected values and replicated series of the continuous model for posterior draws.

    ``mu = X β`` per draw (level, effect, trend); replicated residuals follow the model's
    gap-exact AR(1) with the draw's ``sigma`` and ``rho`` (stationary start). With period
    intercepts, the replicates draw new ones from ``N(0, latent_sd**2)`` (they are not part of
    the posterior); ``mu`` leaves them out.

    Returns
    -------
    mu, y_rep : numpy.ndarray, shape (draws, n)

    Raises
    ------
    KeyError
        When the posterior lacks a coefficient of the design (not a continuous fit).
    """
    dm = design(data, spec)
    post = fit.idata.posterior
    # period intercepts (last columns) are not in the posterior: replicates draw new ones
    fixed = len(dm.names) - dm.periods
    names = dm.names[:fixed]
    beta = np.stack([np.asarray(post[n].values).reshape(-1) for n in names], axis=1)
    sigma = np.asarray(post["sigma"].values).reshape(-1)
    rho = (
        np.asarray(post["rho"].values).reshape(-1)
        if spec.autocorrelation and "rho" in post
        else np.zeros_like(sigma)
    )
    rng = np.random.default_rng([seed, 7])
    take = rng.choice(sigma.size, size=min(n_draws, sigma.size), replace=False)
    beta, sigma, rho = beta[take], sigma[take], rho[take]
    mu = beta @ dm.x[:, :fixed].T
    shocks = np.zeros_like(mu)
    if dm.periods:
        period_sd = np.asarray(post["latent_sd"].values).reshape(-1)[take]
        u = period_sd[:, None] * rng.standard_normal((take.size, dm.periods))
        shocks = u @ dm.x[:, fixed:].T
    gaps = np.diff(data.time)
    n = data.y.size
    e = np.zeros((take.size, n))
    z = rng.standard_normal((take.size, n))
    e[:, 0] = sigma * z[:, 0]
    for t in range(1, n):
        a = rho ** gaps[t - 1]
        e[:, t] = a * e[:, t - 1] + sigma * np.sqrt(1 - a**2) * z[:, t]
    return mu, mu + shocks + e
