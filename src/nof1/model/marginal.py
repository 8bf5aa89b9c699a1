"""Period random intercepts integrated out: each period's likelihood by adaptive Gauss–Hermite.

With ``ModelSpec.latent = "period"`` the count, binary and ordinal models have a random intercept
per period, ``η_d = level_d + u_p`` with ``u_p ~ N(0, s²)``. Rather than sampling the ``u_p``
(a funnel in ``s``), the likelihood of each period is the one-dimensional integral

    L_p = ∫ N(u; 0, s²) ∏_{d in p} f(y_d | level_d + u) du,

computed by adaptive Gauss–Hermite quadrature (the ``nAGQ`` of lme4): a few damped Newton steps
find the mode ``m_p`` of the integrand and its curvature ``h_p``, and ``QUADRATURE_NODES`` nodes
are placed at ``m_p + z_k / sqrt(h_p)``. The integrand is log-concave for all three kinds (shown
below), so the mode is unique and the rule is accurate to many digits with 20 nodes
(``tests/test_model_marginal.py`` compares it with brute-force numerical integration).

Days that share a linear predictor (same period, arm and trend row) are grouped into *cells*,
whose sufficient statistics are exact:

* binary: days ``n`` and events ``k``: ``Σ log f = k η − n softplus(η)``;
* count (negative binomial, mean ``μ = e^η``, shape ``α``): days ``n`` and total ``S``:
  ``Σ log f = S η − S log α − (nα + S) softplus(η − log α) + Σ_d [lgamma(y_d + α) − lgamma(α)
  − lgamma(y_d + 1)]``; the last sum does not depend on ``u`` and is added once (the total is
  not sufficient for ``α``: the day-level terms stay, exactly);
* ordinal (cumulative logit, cutpoints ``θ``): the count of each category ``n_c``:
  ``Σ log f = Σ_c n_c log(F(θ_c − η) − F(θ_{c−1} − η))``.

With a time trend every day is its own cell (still exact). The first and second derivatives in
``η`` are closed-form (binary/count: ``k − n σ``, ``−n σ(1 − σ)``; ordinal: ``Σ n_c (F(a) + F(b)
− 1)``, ``−Σ n_c (f(a) + f(b))`` with ``a = θ_c − η``, ``b = θ_{c−1} − η``, ``f = F(1 − F)``), so
each is ≤ 0: log-concave. The quadrature's centre and scale are held fixed under
differentiation (the integral does not depend on where the nodes are put; only the rule's error,
~1e-10 here, does).

numpy for the cells; PyTensor for the terms (imported by :mod:`nof1.model.graph`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytensor.tensor as pt
from attrs import frozen
from pytensor.gradient import disconnected_grad
from pytensor.tensor.special import logsumexp

#: Nodes of the adaptive Gauss–Hermite rule per period.
QUADRATURE_NODES = 20
#: Damped Newton steps from u = 0 to the mode of each period's integrand.
NEWTON_STEPS = 4
#: Largest Newton step (on the linear predictor): steps are damped by ``MAX_STEP·tanh(·/MAX_STEP)``.
MAX_STEP = 3.0
#: Stand-in for ±infinity beyond the outer cutpoints (F(±BIG) is exactly 1 or 0 in float64).
BIG = 1.0e4

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(QUADRATURE_NODES)
#: log of the probabilists' weights normalised to the standard normal (they sum to 1).
_LOG_WEIGHTS = np.log(_WEIGHTS / np.sqrt(2.0 * np.pi))


@frozen(eq=False)
class Cells:
    """Days grouped into cells that share a linear predictor (period, arm and trend row).

    Attributes
    ----------
    period : (C,) 0-based period of each cell
    arm : (C,) 0 (A) or 1 (B)
    basis : (C, p) the trend columns of the cell
    days : (C,) number of days in the cell
    total : (C,) sum of ``y`` over the cell's days (binary: events; count: total count)
    counts : (C, K) days in each category (ordinal; ``(C, 0)`` otherwise)
    membership : (P, C) 1 where cell c lies in period p
    """

    period: np.ndarray
    arm: np.ndarray
    basis: np.ndarray
    days: np.ndarray
    total: np.ndarray
    counts: np.ndarray
    membership: np.ndarray


def cells(
    y: np.ndarray,
    arm: np.ndarray,
    period: np.ndarray,
    basis: np.ndarray,
    n_categories: int = 0,
) -> Cells:
    """Group the days into :class:`Cells` (exact sufficient statistics per cell)."""
    y = np.asarray(y, dtype=float)
    arm = np.asarray(arm, dtype=float)
    periods, period_index = np.unique(np.asarray(period), return_inverse=True)
    basis = np.asarray(basis, dtype=float).reshape(y.size, -1)
    rows = np.column_stack([period_index, arm, basis])
    keys, cell_of_day = np.unique(rows, axis=0, return_inverse=True)
    cell_of_day = cell_of_day.reshape(-1)
    c = keys.shape[0]
    days = np.bincount(cell_of_day, minlength=c).astype(float)
    total = np.bincount(cell_of_day, weights=y, minlength=c)
    counts = np.zeros((c, n_categories))
    if n_categories:
        np.add.at(counts, (cell_of_day, y.astype(int)), 1.0)
    cell_period = keys[:, 0].astype("int64")
    membership = np.zeros((periods.size, c))
    membership[cell_period, np.arange(c)] = 1.0
    return Cells(
        period=cell_period,
        arm=keys[:, 1].copy(),
        basis=keys[:, 2:].copy(),
        days=days,
        total=total,
        counts=counts,
        membership=membership,
    )


def count_values(y: np.ndarray) -> np.ndarray:
    """(2, V): the distinct daily counts and the number of days with each (``period_loglik``)."""
    values, days = np.unique(np.asarray(y, dtype=float), return_counts=True)
    return np.vstack([values, days.astype(float)])


def _logistic_terms(eta: Any, total: Any, weight: Any, offset: Any) -> tuple[Any, Any, Any]:
    """``S η − m softplus(η − o) − S o`` and its first two derivatives in ``η``."""
    if eta.ndim == 2:  # (C, Q): one column per quadrature node
        total, weight = total[:, None], weight[:, None]
    p = pt.sigmoid(eta - offset)
    value = total * (eta - offset) - weight * pt.softplus(eta - offset)
    return value, total - weight * p, -weight * p * (1.0 - p)


def _ordinal_terms(eta: Any, counts: Any, cutpoints: Any) -> tuple[Any, Any, Any]:
    """``Σ_c n_c log P(c | η)`` (cumulative logit) and its first two derivatives in ``η``.

    ``counts`` is (C, K); ``eta`` is (C,) or (C, Q); the terms have the shape of ``eta``.
    """
    big = pt.as_tensor_variable(np.array([BIG]))
    upper = pt.concatenate([cutpoints, big])  # (K,)
    lower = pt.concatenate([-big, cutpoints])
    e = eta[..., None]
    a = upper - e  # (..., K)
    b = lower - e
    log_fa = -pt.softplus(-a)
    log_fb = -pt.softplus(-b)
    log_p = log_fa + pt.log1mexp(pt.minimum(log_fb - log_fa, -1e-300))
    fa, fb = pt.sigmoid(a), pt.sigmoid(b)
    n = counts if eta.ndim == 1 else counts[:, None, :]
    value = pt.sum(n * log_p, axis=-1)
    d1 = pt.sum(n * (fa + fb - 1.0), axis=-1)
    d2 = -pt.sum(n * (fa * (1.0 - fa) + fb * (1.0 - fb)), axis=-1)
    return value, d1, d2


def period_loglik(
    kind: str,
    level: Any,
    sd: Any,
    membership: Any,
    cell_period: Any,
    *,
    days: Any = None,
    total: Any = None,
    counts: Any = None,
    cutpoints: Any = None,
    inv_dispersion: Any = None,
    y: Any = None,
) -> Any:
    """Log-likelihood of each period with its intercept ``u ~ N(0, sd²)`` integrated out, (P,).

    Parameters
    ----------
    kind : {"count", "binary", "ordinal"}
    level : (C,) linear predictor of each cell without the period intercept
    sd : the period intercepts' SD ``s`` (> 0)
    membership : (P, C) one-hot period of each cell; ``cell_period`` : (C,) the same as indices
    days, total : (C,) days and summed ``y`` per cell (count, binary)
    counts : (C, K) category counts per cell (ordinal); ``cutpoints`` : (K − 1,)
    inv_dispersion : ``1/α`` of the negative binomial (count)
    y : (2, V) the distinct daily counts and how many days had each (count: the ``u``-free
        ``lgamma`` terms, added to the first period — the sum over periods is what a model uses)
    """
    if kind == "count":
        alpha = 1.0 / inv_dispersion
        offset = pt.log(alpha)
        weight = days * alpha + total

        def terms(eta: Any) -> tuple[Any, Any, Any]:
            return _logistic_terms(eta, total, weight, offset)

    elif kind == "binary":

        def terms(eta: Any) -> tuple[Any, Any, Any]:
            return _logistic_terms(eta, total, days, 0.0)

    elif kind == "ordinal":

        def terms(eta: Any) -> tuple[Any, Any, Any]:
            return _ordinal_terms(eta, counts, cutpoints)

    else:
        raise ValueError(f"period_loglik: kind must be count, binary or ordinal (got {kind!r})")

    precision = 1.0 / sd**2
    # Newton's method for the mode of each period's log integrand (log-concave: unique mode).
    u = pt.zeros((membership.shape[0],))
    for _ in range(NEWTON_STEPS):
        _, d1, d2 = terms(level + u[cell_period])
        g1 = pt.dot(membership, d1) - u * precision
        g2 = pt.dot(membership, d2) - precision
        step = -g1 / g2
        u = u + MAX_STEP * pt.tanh(step / MAX_STEP)
    _, _, d2 = terms(level + u[cell_period])
    curvature = precision - pt.dot(membership, d2)
    centre = disconnected_grad(u)
    scale = disconnected_grad(1.0 / pt.sqrt(curvature))
    nodes = pt.as_tensor_variable(_NODES)
    log_weights = pt.as_tensor_variable(_LOG_WEIGHTS)
    at = centre[:, None] + scale[:, None] * nodes  # (P, Q)
    value, _, _ = terms(level[:, None] + at[cell_period])  # (C, Q)
    log_lik = pt.dot(membership, value)  # (P, Q)
    log_prior = -0.5 * (at / sd) ** 2 - pt.log(sd)
    log_terms = log_weights + log_lik + log_prior + 0.5 * nodes**2 + pt.log(scale)[:, None]
    result = logsumexp(log_terms, axis=1)
    if kind == "count":
        # ``y``: (distinct counts, days with that count), so a trial costs a few lgamma calls
        values, days_with = y[0], y[1]
        constant = pt.sum(
            days_with * (pt.gammaln(values + alpha) - pt.gammaln(alpha) - pt.gammaln(values + 1.0))
        )
        first = pt.eq(pt.arange(result.shape[0]), 0)
        result = result + pt.where(first, constant, 0.0)
    return result
