"""The numpy terms shared by the model and the planner: trend basis, design matrix, gap sums.

Nothing here imports PyTensor or samples, so the planner's worker processes
(:mod:`nof1.plan.approx`) use the very same design matrix and AR(1) algebra as the analysis
model (:mod:`nof1.model.continuous`) without loading the PyMC stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from attrs import frozen

from nof1.errors import DataError

if TYPE_CHECKING:
    from nof1.model.spec import ModelData, ModelSpec
    from nof1.prior import PriorSpec

#: Gauss–Hermite nodes and weights for E[f(Z)], Z ~ N(0, 1) (probabilists' Hermite).
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(21)
GH_NODES = _GH_NODES
GH_WEIGHTS = _GH_WEIGHTS / np.sqrt(2.0 * np.pi)


def scaled_time(time: np.ndarray) -> np.ndarray:
    """Time centred at mid-trial and scaled to [-1, 1] (so the level is the mid-trial level)."""
    t = np.asarray(time, dtype=float)
    mid = (t.min() + t.max()) / 2.0
    half = max((t.max() - t.min()) / 2.0, 1.0)
    return np.asarray((t - mid) / half)


def trend_basis(time: np.ndarray, trend: str, knots: tuple[float, ...]) -> tuple[np.ndarray, int]:
    """Columns of the trend and how many of them are spline hinges.

    Parameters
    ----------
    time : numpy.ndarray
        Day index of each observation.
    trend : {"none", "linear", "spline"}
    knots : tuple of float
        Block-end times; only those strictly inside the observed time range become hinges.

    Returns
    -------
    basis : numpy.ndarray, shape (n, p)
        ``linear``: scaled time. ``spline``: scaled time plus one hinge ``(t - k)_+`` per
        interior knot, each shifted so it is 0 at mid-trial (the trend is centred: the level
        parameter is the mid-trial level, where the effect is evaluated).
    n_hinges : int
    """
    t = np.asarray(time, dtype=float)
    n = t.size
    if trend == "none":
        return np.zeros((n, 0)), 0
    s = scaled_time(t)
    columns = [s]
    hinges = 0
    if trend == "spline":
        mid = (t.min() + t.max()) / 2.0
        half = max((t.max() - t.min()) / 2.0, 1.0)
        for k in sorted(set(knots)):
            if t.min() < k < t.max():
                ks = (k - mid) / half
                column = np.maximum(s - ks, 0.0) - max(0.0 - ks, 0.0)
                columns.append(column)
                hinges += 1
    return np.column_stack(columns), hinges


def gaps(time: np.ndarray) -> np.ndarray:
    """Gap in days before each observation (the first gets 1, unused)."""
    t = np.asarray(time, dtype=float)
    return np.concatenate([[1.0], np.diff(t)])


@frozen(eq=False)
class DesignMatrix:
    """Columns ``[1, arm, trend..., hinges..., periods...]`` of a linear predictor and their prior.

    ``sds`` is NaN for spline hinges, whose scale ``trend_tau`` is a parameter of the model,
    and for the period indicators (one per distinct period label, last), whose scale
    ``latent_sd`` is one too: the period intercepts ``u_p ~ N(0, latent_sd**2)``.
    """

    x: np.ndarray  # (n, p)
    means: np.ndarray  # (p,)
    sds: np.ndarray  # (p,)
    hinges: int
    names: tuple[str, ...]
    periods: int = 0

    @property
    def fixed(self) -> int:
        """How many leading columns have a fixed prior SD (level, effect, linear trend)."""
        return int(self.x.shape[1] - self.hinges - self.periods)


def design_matrix(
    arm: np.ndarray,
    time: np.ndarray,
    trend: str,
    knots: tuple[float, ...],
    prior: PriorSpec,
    period: np.ndarray | None = None,
) -> DesignMatrix:
    """The design matrix of level, effect and trend, with prior means and SDs.

    ``period`` (one integer label per day; any labels, in any order) adds one indicator
    column per distinct label: the period intercepts. They span the level and, as the arm is
    constant within a period, the arm contrast too; their Gaussian prior (scale
    ``latent_sd``) is what keeps the effect identified, and it widens the effect's interval
    by the between-period variation, as it should.
    """
    basis, hinges = trend_basis(time, trend, knots)
    n = np.asarray(arm).size
    columns = [np.ones(n), np.asarray(arm, dtype=float)]
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
    periods = 0
    if period is not None:
        index = period_index(period)
        periods = int(index.max()) + 1 if index.size else 0
        for j in range(periods):
            columns.append((index == j).astype(float))
            names.append(f"period_{j}")
            means.append(0.0)
            sds.append(np.nan)
    return DesignMatrix(
        np.column_stack(columns), np.array(means), np.array(sds), hinges, tuple(names), periods
    )


def period_index(period: np.ndarray) -> np.ndarray:
    """0-based index of each day's period among the distinct labels (labels may skip, repeat)."""
    return np.asarray(np.unique(np.asarray(period), return_inverse=True)[1].reshape(-1), dtype=int)


def period_term(data: ModelData, spec: ModelSpec) -> bool:
    """Whether the continuous model has period intercepts (``latent="period"`` with clustering).

    As for the other kinds, the period term belongs to the day-level clustering: it is on when
    ``spec.autocorrelation`` and ``spec.latent == "period"``, and needs ``data.period``.
    """
    if not (spec.autocorrelation and spec.latent == "period"):
        return False
    if data.period is None:
        raise DataError(
            "model data: period is missing but ModelSpec.latent = 'period' needs the period "
            "index of each day (or use latent = 'ar')"
        )
    return True


def design(data: ModelData, spec: ModelSpec) -> DesignMatrix:
    """:func:`design_matrix` of a model's data and specification (with its period term)."""
    period = data.period if period_term(data, spec) else None
    return design_matrix(data.arm, data.time, spec.trend, data.knots, spec.prior, period)


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
        return np.asarray(self.first + self.m0.sum(axis=0))

    def quadratic(self, rho: np.ndarray | None) -> np.ndarray:
        """The whitened quadratic form ``sum_i w_i w_i'`` for each value of ``rho``.

        ``rho=None`` (no autocorrelation) gives one (q, q) matrix ``Z'Z``; an array of ``d``
        values gives (d, q, q). Written with ``expm1`` so it stays exact as ``rho`` nears 1.
        """
        if rho is None:
            return self.independent()
        log_rho = np.log(np.asarray(rho, dtype=float).reshape(-1, 1))
        a = np.exp(self.levels * log_rho)  # (d, G)
        c2 = -np.expm1(2.0 * self.levels * log_rho)
        return np.asarray(
            self.first
            + np.einsum("dg,gqr->dqr", 1.0 / c2, self.m0)
            - np.einsum("dg,gqr->dqr", a / c2, self.m1)
            + np.einsum("dg,gqr->dqr", a**2 / c2, self.m2)
        )

    def log_jacobian(self, rho: np.ndarray) -> np.ndarray:
        """``-sum_i log c_i`` for each value of ``rho`` (the whitening's Jacobian), shape (d,)."""
        log_rho = np.log(np.asarray(rho, dtype=float).reshape(-1, 1))
        c2 = -np.expm1(2.0 * self.levels * log_rho)
        return np.asarray(-0.5 * np.sum(self.counts * np.log(c2), axis=1))
