"""Posterior predictive checks: replicated data from a fitted model and the statistics compared.

:func:`replicates` draws new data sets from the posterior for every outcome kind, and
:func:`predictive_check` compares statistics of the observed data with the same statistics of
the replicates (``docs/methods.md``). :func:`run` does both; the analysis records its
:class:`PredictiveCheck`, which lists the checks that ran and those that did not, with why.

Replicates, per posterior draw (``docs/methods-models.md``):

* continuous — ``X β`` plus a gap-exact AR(1) residual with the draw's ``sigma`` and ``rho``
  (plus new period intercepts ``N(0, latent_sd²)`` when the model has them: the posterior has
  ``latent_sd``);
* binary — Bernoulli with ``logit p = intercept + beta·arm + trend + latent``;
* count — negative binomial with ``mu = exp(intercept + beta·arm + trend + latent)`` and
  ``alpha = 1 / inv_dispersion``;
* ordinal — ordered logistic with ``eta = beta·arm + trend + latent`` and ``cutpoints``.

The latent term is not taken from the posterior but drawn anew for each replicate: one
intercept ``N(0, latent_sd²)`` per period (``latent = "period"``: the period intercepts are
integrated out of the fitted model), or a stationary gap-exact AR(1) path with ``latent_sd`` and
``latent_rho`` (``latent = "ar"``). A ``period_z`` in the posterior is ignored.

numpy only: no PyTensor, no sampling.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from attrs import frozen

from nof1.errors import AnalysisError
from nof1.model.spec import Fit, ModelData, ModelSpec
from nof1.model.terms import GH_NODES, GH_WEIGHTS, design, trend_basis

#: Posterior draws used for the predictive check.
PPC_DRAWS = 500
#: Fewer finite posterior draws than this and the check does not run (p-values too coarse).
MIN_DRAWS = 20
#: The spread of period means needs at least this many periods with analysed days.
MIN_PERIODS = 3
#: The residual autocorrelation needs at least this many pairs of consecutive days.
MIN_PAIRS = 10
#: A check is flagged when its p-value is below FLAG_LOW or above FLAG_HIGH (two-sided 5 %).
FLAG_LOW = 0.025
FLAG_HIGH = 0.975
#: Counts above this are not drawn (a draw that absurd is a misfit anyway).
_MAX_RATE = 1e12

#: Every check, in the order the report lists them.
CHECKS = ("zeros", "period_means", "autocorrelation", "mean_A", "mean_B")
_LABELS = {
    "period_means": "spread of period means (SD of the residual period means)",
    "autocorrelation": "day-to-day residual lag-1 autocorrelation",
    "mean_A": "mean on A days",
    "mean_B": "mean on B days",
}
_ZERO_LABELS = {
    "continuous": "share of days at or below 0",
    "count": "share of days with a zero count",
    "binary": "share of days without the event (0)",
    "ordinal": "share of days in the lowest category",
}


def check_label(name: str, kind: str) -> str:
    """The words for check ``name`` of an outcome of ``kind``."""
    return _ZERO_LABELS[kind] if name == "zeros" else _LABELS[name]


# --------------------------------------------------------------------------------------------
# Result values
# --------------------------------------------------------------------------------------------


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


@frozen
class CheckRun:
    """A check that ran: the statistic of the data, its replicated median and the p-value.

    ``p_value`` is P(replicated statistic > observed) + ½ P(equal); ``flagged`` when it is
    below :data:`FLAG_LOW` or above :data:`FLAG_HIGH`.
    """

    name: str
    label: str
    observed: float
    replicated: float
    p_value: float
    flagged: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "observed": _num(self.observed),
            "replicated_median": _num(self.replicated),
            "p_value": _num(self.p_value),
            "flagged": bool(self.flagged),
        }


@frozen
class CheckNotRun:
    """A check that did not run, and why."""

    name: str
    label: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "reason": self.reason}


@frozen
class PredictiveCheck:
    """The posterior predictive checks of one outcome: those that ran and those that did not.

    ``passed`` is False when any check that ran is flagged — a flag for the reader, never a
    withheld verdict. ``draws`` is the number of replicated data sets (0 when none were made).
    """

    ran: tuple[CheckRun, ...]
    not_run: tuple[CheckNotRun, ...]
    draws: int

    @property
    def passed(self) -> bool:
        return not self.flagged

    @property
    def flagged(self) -> tuple[CheckRun, ...]:
        return tuple(c for c in self.ran if c.flagged)

    def get(self, name: str) -> CheckRun | None:
        """The check ``name`` if it ran."""
        return next((c for c in self.ran if c.name == name), None)

    # The flat keys of JSON schema 1, kept for its readers.
    @property
    def acf1_observed(self) -> float | None:
        c = self.get("autocorrelation")
        return None if c is None else c.observed

    @property
    def acf1_p_value(self) -> float | None:
        c = self.get("autocorrelation")
        return None if c is None else c.p_value

    @property
    def period_means_p_value(self) -> float | None:
        c = self.get("period_means")
        return None if c is None else c.p_value

    @classmethod
    def not_available(cls, kind: str, reason: str) -> PredictiveCheck:
        """No replicates could be made: every check is listed as not run, with ``reason``."""
        return cls(
            ran=(),
            not_run=tuple(CheckNotRun(n, check_label(n, kind), reason) for n in CHECKS),
            draws=0,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "draws": int(self.draws),
            "flag_below": FLAG_LOW,
            "flag_above": FLAG_HIGH,
            "passed": bool(self.passed),
            "checks": [c.to_dict() for c in self.ran],
            "not_run": [c.to_dict() for c in self.not_run],
            "acf1_observed": _num(self.acf1_observed),
            "acf1_p_value": _num(self.acf1_p_value),
            "period_means_p_value": _num(self.period_means_p_value),
        }

    def summary(self) -> str:
        """One line naming the flagged checks (or saying none was), for terminal output."""
        if not self.ran:
            return "not run"
        if not self.flagged:
            return f"{len(self.ran)} check(s), none flagged"
        return "flagged: " + "; ".join(f"{c.label} p = {c.p_value:.3f}" for c in self.flagged)


# --------------------------------------------------------------------------------------------
# Replicates
# --------------------------------------------------------------------------------------------


@frozen(eq=False)
class Replicates:
    """Replicated data sets and the model's expected value per day, for the same draws.

    ``fitted`` is E[y] per draw and day, averaged over the latent term (period intercepts or
    latent AR(1)) — the value the residuals are taken from.
    """

    fitted: np.ndarray  # (draws, n)
    y_rep: np.ndarray  # (draws, n)


def _missing(name: str, kind: str, post: Any) -> AnalysisError:
    have = ", ".join(sorted(str(v) for v in post.data_vars)) or "none"
    return AnalysisError(
        f"predictive check: the posterior has no variable {name!r}, which the {kind} model "
        f"needs to replicate data (it has: {have}); refit the outcome with nof1.model.fit and "
        "the same ModelSpec"
    )


class _Posterior:
    """Posterior variables flattened to (draws, size), with the non-finite draws recorded."""

    def __init__(self, fit: Fit, kind: str) -> None:
        self.post = fit.idata.posterior
        self.kind = kind
        self.values: dict[str, np.ndarray] = {}

    def get(self, name: str, size: int | None = None) -> np.ndarray:
        if name not in self.post:
            raise _missing(name, self.kind, self.post)
        value = np.asarray(self.post[name].values, dtype=float)
        if value.ndim < 2:
            raise AnalysisError(
                f"predictive check: posterior variable {name!r} has shape {value.shape}; "
                "expected (chain, draw, ...): pass the InferenceData of a fit"
            )
        flat = value.reshape(value.shape[0] * value.shape[1], -1)
        if size is not None and flat.shape[1] != size:
            raise AnalysisError(
                f"predictive check: posterior variable {name!r} has {flat.shape[1]} value(s) per "
                f"draw but the data need {size}; refit the outcome with the same ModelSpec"
            )
        self.values[name] = flat
        return flat

    def keep(self, n_draws: int, rng: np.random.Generator) -> np.ndarray:
        """Indices of up to ``n_draws`` draws whose every variable used is finite."""
        arrays = list(self.values.values())
        total = arrays[0].shape[0]
        finite = np.ones(total, dtype=bool)
        for a in arrays:
            finite &= np.isfinite(a).all(axis=1)
        good = np.flatnonzero(finite)
        if good.size < MIN_DRAWS:
            bad = [n for n, a in self.values.items() if not np.isfinite(a).all()]
            raise AnalysisError(
                f"predictive check: only {good.size} of {total} posterior draws are finite "
                f"(non-finite values in {', '.join(map(repr, bad)) or 'none'}); at least "
                f"{MIN_DRAWS} are needed: refit the outcome"
            )
        return np.sort(rng.choice(good, size=min(n_draws, good.size), replace=False))


def _ar_path(
    rng: np.random.Generator, sd: np.ndarray, rho: np.ndarray, time: np.ndarray
) -> np.ndarray:
    """Stationary gap-exact AR(1) paths with SD ``sd`` and lag-1 correlation ``rho`` per draw."""
    draws, n = sd.size, time.size
    gaps = np.diff(np.asarray(time, dtype=float))
    z = rng.standard_normal((draws, n))
    e = np.empty((draws, n))
    e[:, 0] = sd * z[:, 0]
    rho = np.clip(rho, 0.0, 1.0)
    for t in range(1, n):
        a = rho ** gaps[t - 1]
        e[:, t] = a * e[:, t - 1] + sd * np.sqrt(np.maximum(1.0 - a**2, 0.0)) * z[:, t]
    return e


def _period_intercepts(
    rng: np.random.Generator, sd: np.ndarray, period: np.ndarray | None, what: str
) -> np.ndarray:
    if period is None:
        raise AnalysisError(
            f"predictive check: {what} needs the period of each day (ModelData.period is "
            "missing); build the data with nof1.analysis.model_data"
        )
    _, index = np.unique(period, return_inverse=True)
    u = rng.standard_normal((sd.size, int(index.max()) + 1)) * sd[:, None]
    out: np.ndarray = u[:, index]
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


def replicates(
    fit: Fit, data: ModelData, spec: ModelSpec, seed: int, *, n_draws: int = PPC_DRAWS
) -> Replicates:
    """Replicated data sets of ``data`` from up to ``n_draws`` posterior draws of ``fit``.

    Draws with a non-finite value in any variable used are skipped. Replicates have the
    support of the kind: 0/1 (binary), non-negative integers (count), 0..K-1 (ordinal).

    Raises
    ------
    AnalysisError
        When the posterior lacks a variable the kind needs (the message names it), a variable
        has the wrong size, or fewer than :data:`MIN_DRAWS` draws are finite.
    """
    rng = np.random.default_rng([seed, 7])
    kind = spec.kind
    post = _Posterior(fit, kind)
    n = data.y.size
    if kind == "continuous":
        dm = design(data, spec)
        # Period-intercept columns (``period_j``), when the model has them, are not in the
        # posterior: they are drawn anew below from ``latent_sd``.
        fixed = [j for j, name in enumerate(dm.names) if not name.startswith("period_")]
        coef = np.concatenate([post.get(dm.names[j], 1) for j in fixed], axis=1)
        sigma = post.get("sigma", 1)[:, 0]
        rho = post.get("rho", 1)[:, 0] if spec.autocorrelation else np.zeros_like(sigma)
        period_sd = post.get("latent_sd", 1)[:, 0] if "latent_sd" in post.post else None
        take = post.keep(n_draws, rng)
        fitted = coef[take] @ dm.x[:, fixed].T
        level = fitted
        if period_sd is not None:
            level = level + _period_intercepts(
                rng, np.abs(period_sd[take]), data.period, "latent_sd (period intercepts)"
            )
        y_rep = level + _ar_path(rng, sigma[take], rho[take], data.time)
        return Replicates(fitted=fitted, y_rep=y_rep)

    beta = post.get("beta", 1)[:, 0]
    basis, hinges = trend_basis(data.time, spec.trend, data.knots)
    slope = post.get("trend_slope", 1) if basis.shape[1] else None
    knots = post.get("trend_knots", hinges) if hinges else None
    latent = spec.latent if spec.autocorrelation else "none"
    latent_sd = post.get("latent_sd", 1)[:, 0] if latent != "none" else None
    latent_rho = post.get("latent_rho", 1)[:, 0] if latent == "ar" else None
    intercept = post.get("intercept", 1)[:, 0] if kind in ("count", "binary") else None
    inv_disp = post.get("inv_dispersion", 1)[:, 0] if kind == "count" else None
    k = int(data.n_categories or 0)
    if kind == "ordinal" and k < 3:
        raise AnalysisError(
            f"predictive check: an ordinal outcome needs n_categories ≥ 3 (got {k or None})"
        )
    cut = post.get("cutpoints", k - 1) if kind == "ordinal" else None
    take = post.keep(n_draws, rng)

    eta = beta[take, None] * np.asarray(data.arm, dtype=float)[None, :]
    if intercept is not None:
        eta = eta + intercept[take, None]
    if slope is not None:
        eta = eta + slope[take] * basis[None, :, 0]
    if knots is not None:
        eta = eta + knots[take] @ basis[:, 1:].T
    draws = take.size
    sd = np.zeros(draws) if latent_sd is None else np.abs(latent_sd[take])
    if latent == "period":
        u = _period_intercepts(rng, sd, data.period, "latent = 'period'")
    elif latent == "ar":
        assert latent_rho is not None
        u = _ar_path(rng, sd, latent_rho[take], data.time)
    else:
        u = np.zeros((draws, n))
    eta_rep = eta + u
    if kind == "count":
        assert intercept is not None and inv_disp is not None
        fitted = np.exp(np.minimum(eta + sd[:, None] ** 2 / 2.0, np.log(_MAX_RATE)))
        mu = np.exp(np.minimum(eta_rep, np.log(_MAX_RATE)))
        phi = np.abs(inv_disp[take])[:, None]  # 1 / alpha; 0 is a Poisson
        # Gamma–Poisson: rate ~ Gamma(alpha, mu / alpha), one per day and draw.
        poisson = np.broadcast_to(phi <= 1e-12, mu.shape)
        shape = np.broadcast_to(1.0 / np.where(phi > 1e-12, phi, 1.0), mu.shape)
        rate = np.where(poisson, mu, rng.gamma(shape) * mu * phi)
        y_rep = rng.poisson(np.minimum(rate, _MAX_RATE)).astype(float)
    elif kind == "binary":
        fitted = _expected_over_latent(_sigmoid, eta, sd)
        y_rep = (rng.random((draws, n)) < _sigmoid(eta_rep)).astype(float)
    else:
        assert cut is not None
        c = cut[take]

        def expected(e: np.ndarray) -> np.ndarray:
            out: np.ndarray = _sigmoid(e[..., None] - c[:, None, :]).sum(axis=-1)
            return out

        fitted = _expected_over_latent(expected, eta, sd)
        noise = rng.logistic(size=(draws, n))
        y_rep = ((eta_rep + noise)[..., None] > c[:, None, :]).sum(axis=-1).astype(float)
    return Replicates(fitted=fitted, y_rep=y_rep)


def _expected_over_latent(f: Any, eta: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """``E[f(eta + sd Z)]``, Z ~ N(0, 1), by Gauss–Hermite quadrature (one node at a time)."""
    if not np.any(sd > 0):
        out: np.ndarray = f(eta)
        return out
    total = np.zeros_like(eta)
    for node, weight in zip(GH_NODES, GH_WEIGHTS, strict=True):
        total += weight * f(eta + sd[:, None] * node)
    return total


# --------------------------------------------------------------------------------------------
# Statistics and p-values
# --------------------------------------------------------------------------------------------


def lag1_autocorrelation(residuals: np.ndarray, time: np.ndarray | None = None) -> np.ndarray:
    """Lag-1 autocorrelation of residuals along the last axis, over consecutive time steps only.

    Pairs ``(t, t + 1)`` are used only when both days are present (``time`` differs by 1), so a
    gap never counts as a neighbour. ``residuals`` may be 1-D or ``(draws, n)``. A constant
    series has autocorrelation 0.
    """
    r = np.asarray(residuals, dtype=float)
    if time is None:
        pair = np.ones(r.shape[-1] - 1, dtype=bool)
    else:
        pair = np.diff(np.asarray(time, dtype=float)) == 1
    r = r - r.mean(axis=-1, keepdims=True)
    num = (r[..., :-1] * r[..., 1:])[..., pair].sum(axis=-1)
    den = (r**2).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 1e-12 * r.shape[-1], num / np.where(den > 0, den, 1.0), 0.0)
    scaled: np.ndarray = np.asarray(out) * (r.shape[-1] / max(int(pair.sum()), 1))
    return scaled


def p_value(observed: float | np.ndarray, replicated: np.ndarray) -> float:
    """P(replicated > observed) + ½ P(replicated = observed) (mid-p: ties count half).

    ``observed`` is one number, or one per draw (a statistic of the data that depends on the
    draw's fitted values, compared draw by draw); pairs with a non-finite value are skipped.
    """
    rep = np.asarray(replicated, dtype=float)
    obs = np.broadcast_to(np.asarray(observed, dtype=float), rep.shape)
    ok = np.isfinite(rep) & np.isfinite(obs)
    if not ok.any():
        return math.nan
    rep, obs = rep[ok], obs[ok]
    tol = 1e-9 * np.maximum(1.0, np.abs(obs))
    above = float(np.mean(rep > obs + tol))
    tie = float(np.mean(np.abs(rep - obs) <= tol))
    return min(1.0, max(0.0, above + 0.5 * tie))


def _period_sd(r: np.ndarray, period: np.ndarray) -> np.ndarray:
    _, index = np.unique(period, return_inverse=True)
    counts = np.bincount(index).astype(float)
    sums = np.zeros(r.shape[:-1] + (counts.size,))
    for j in range(counts.size):
        sums[..., j] = r[..., index == j].sum(axis=-1)
    means = sums / counts
    out: np.ndarray = means.std(axis=-1, ddof=1)
    return out


def predictive_check(
    y: np.ndarray,
    reps: Replicates,
    *,
    kind: str,
    arm: np.ndarray,
    time: np.ndarray,
    period: np.ndarray | None,
) -> PredictiveCheck:
    """Compare statistics of the data ``y`` with those of the replicates, each with a p-value.

    Statistics: the share of zeros (continuous: of days ≤ 0; ordinal: the lowest category); the
    SD of the per-period means of the residuals (needs :data:`MIN_PERIODS` periods); the lag-1
    autocorrelation of the residuals over consecutive days (needs :data:`MIN_PAIRS` pairs); the
    mean on A days and on B days. Residuals are the data minus each draw's fitted value (the
    expected value, averaged over the latent term), compared draw by draw with the residuals of
    that draw's replicate; ``observed`` is then the median over the draws.
    """
    y = np.asarray(y, dtype=float)
    arm = np.asarray(arm)
    time = np.asarray(time, dtype=float)
    y_rep = np.asarray(reps.y_rep, dtype=float)
    fitted = np.asarray(reps.fitted, dtype=float)
    # Residuals from each draw's own fitted values, for the data and that draw's replicate
    # (realized discrepancies): the data's residuals are not shrunk by the fit that the
    # replicates' are not, so a good model gives p-values spread over (0, 1).
    r_obs, r_rep = y[None, :] - fitted, y_rep - fitted
    ran: list[CheckRun] = []
    not_run: list[CheckNotRun] = []

    def median(x: np.ndarray) -> float:
        x = np.asarray(x, dtype=float)
        x = x[np.isfinite(x)]
        return float(np.median(x)) if x.size else math.nan

    def add(name: str, observed: float | np.ndarray, replicated: np.ndarray) -> None:
        p = p_value(observed, replicated)
        flagged = math.isfinite(p) and (p < FLAG_LOW or p > FLAG_HIGH)
        ran.append(
            CheckRun(
                name,
                check_label(name, kind),
                median(np.atleast_1d(observed)),
                median(replicated),
                p,
                flagged,
            )
        )

    def skip(name: str, reason: str) -> None:
        not_run.append(CheckNotRun(name, check_label(name, kind), reason))

    if kind == "continuous":
        add("zeros", float(np.mean(y <= 0)), np.mean(y_rep <= 0, axis=1))
    else:
        add("zeros", float(np.mean(y == 0)), np.mean(y_rep == 0, axis=1))

    n_periods = 0 if period is None else len(np.unique(period))
    if n_periods >= MIN_PERIODS:
        assert period is not None
        add("period_means", _period_sd(r_obs, period), _period_sd(r_rep, period))
    else:
        skip(
            "period_means",
            f"{n_periods} period(s) with analysed days; needs at least {MIN_PERIODS}",
        )

    pairs = int(np.sum(np.diff(time) == 1))
    if pairs >= MIN_PAIRS:
        add(
            "autocorrelation",
            lag1_autocorrelation(r_obs, time),
            lag1_autocorrelation(r_rep, time),
        )
    else:
        skip(
            "autocorrelation",
            f"{pairs} pair(s) of consecutive days; needs at least {MIN_PAIRS}",
        )

    for name, value in (("mean_A", 0), ("mean_B", 1)):
        days = arm == value
        if days.any():
            add(name, float(y[days].mean()), y_rep[:, days].mean(axis=1))
        else:
            skip(name, "no analysed day in this arm")
    order = {n: i for i, n in enumerate(CHECKS)}
    return PredictiveCheck(
        ran=tuple(sorted(ran, key=lambda c: order[c.name])),
        not_run=tuple(sorted(not_run, key=lambda c: order[c.name])),
        draws=int(y_rep.shape[0]),
    )


def run(
    fit: Fit, data: ModelData, spec: ModelSpec, seed: int, *, n_draws: int = PPC_DRAWS
) -> PredictiveCheck:
    """Replicate ``data`` from ``fit`` and run every check the data allow.

    Raises
    ------
    AnalysisError
        When no replicates can be made (see :func:`replicates`).
    """
    reps = replicates(fit, data, spec, seed, n_draws=n_draws)
    return predictive_check(
        data.y, reps, kind=spec.kind, arm=data.arm, time=data.time, period=data.period
    )
