"""What a model sees and what it is asked: :class:`ModelData`, :class:`ModelSpec`, :class:`Fit`.

A model knows nothing about trial designs: it sees daily outcomes ``y``, the arm of each day
(0 = comparator A, 1 = intervention B), the day index ``time`` (gaps allowed), and knots for a
spline trend. Effects are on the verdict scale (B minus A):

* continuous — difference in means, outcome units;
* count — difference in events per ``exposure_days`` (28), at the trend's centre;
* binary — difference in days per ``exposure_days``;
* ordinal — difference in expected category.

numpy and attrs only: the graph (:mod:`nof1.model.graph`) and the sampler
(:mod:`nof1.model.sampling`) import PyMC when they run.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from attrs import field, frozen

from nof1.errors import DataError
from nof1.prior import PriorSpec
from nof1.vocab import EXPOSURE_DAYS, KINDS, TRENDS, one_of

SAMPLERS = ("nutpie", "pymc")
#: How a posterior is computed: ``auto`` integrates continuous outcomes on a grid
#: (:mod:`nof1.model.grid`) and importance-samples the other kinds (:mod:`nof1.model.importance`,
#: NUTS when that cannot be trusted); ``nuts`` samples every kind with NUTS.
ENGINES = ("auto", "nuts")
#: Worker processes for the NUTS chains: 1 (both chains one after the other in the analysing
#: process). NUTS is now only the fallback of the importance sampler (and ``--engine nuts``):
#: a fallback count fit took 7.2 s, then 2.3 s, in this process against 7.9 s and 4.3 s with two
#: worker processes (2026-12-01, load ~2), and with an empty compile cache two workers gave a
#: first fit whose draws differed from the same fit repeated (cause not isolated; the workers
#: compile in their own processes), while one process gave the same draws every time
#: (``test_a_reused_sampler_gives_the_draws_of_a_fresh_one``). ``NOF1_CORES`` overrides.
CORES = max(1, int(os.environ.get("NOF1_CORES", "0")) or 1)
#: How the non-Gaussian kinds model day-level clustering when autocorrelation is on.
LATENT = ("ar", "period")


def _frozen_array(value: Any, dtype: type) -> np.ndarray:
    out: np.ndarray = np.array(value, dtype=dtype)
    out.setflags(write=False)
    return out


def _float_array(value: Any) -> np.ndarray:
    return _frozen_array(value, float)


def _int_array(value: Any) -> np.ndarray:
    return _frozen_array(value, int)


def _float_tuple(values: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def _optional_int_array(value: Any) -> np.ndarray | None:
    if value is None:
        return None
    try:
        numbers = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise DataError(
            "model data: period must hold one whole-number period label per day "
            f"(got values of type {np.asarray(value).dtype}); number the periods 0, 1, 2, …"
        ) from None
    bad = ~np.isfinite(numbers) | (numbers != np.round(numbers))
    if np.any(bad):
        day = int(np.flatnonzero(bad.reshape(-1))[0])
        raise DataError(
            "model data: period must hold one whole-number period label per day (got "
            f"{float(numbers.reshape(-1)[day])} on day {day}); give that day its period's "
            "number or drop the day"
        )
    return _int_array(numbers)


@frozen(eq=False)
class ModelData:
    """The arrays a model needs, for the analysed days only.

    Parameters
    ----------
    y : numpy.ndarray
        Daily outcome (finite). Count: non-negative integers; binary: 0/1; ordinal: 0..K-1.
    arm : numpy.ndarray
        0 for comparator A, 1 for intervention B.
    time : numpy.ndarray
        Day index, strictly increasing; gaps (missing days) allowed.
    n_categories : int, optional
        Number of ordinal categories (ordinal outcomes only).
    knots : tuple of float
        Block-end times, the knots of a spline trend.
    exposure_days : float
        Days the count/binary verdict scale refers to (28).
    period : numpy.ndarray, optional
        Period index of each day (0-based or any integers); used by ``latent="period"``.
    """

    y: np.ndarray = field(converter=_float_array)
    arm: np.ndarray = field(converter=_int_array)
    time: np.ndarray = field(converter=_float_array)
    n_categories: int | None = None
    knots: tuple[float, ...] = field(default=(), converter=_float_tuple)
    exposure_days: float = float(EXPOSURE_DAYS)
    period: np.ndarray | None = field(default=None, converter=_optional_int_array)

    def __attrs_post_init__(self) -> None:
        problems = []
        n = self.y.size
        if self.y.ndim != 1 or n < 4:
            problems.append(f"y must be a 1-D array of at least 4 days (got shape {self.y.shape})")
        for name in ("arm", "time") + (("period",) if self.period is not None else ()):
            size = getattr(self, name).size
            if size != n:
                problems.append(f"{name} must have one value per day of y ({n}; got {size})")
        if not np.all(np.isfinite(self.y)):
            problems.append("y must be finite: drop missing days (time may have gaps)")
        if not np.isin(self.arm, (0, 1)).all():
            problems.append("arm must be 0 (comparator A) or 1 (intervention B)")
        elif self.arm.size == n and len(np.unique(self.arm)) < 2:
            problems.append("arm must contain days of both arms (0 and 1) to estimate an effect")
        if self.time.size == n and not np.all(np.diff(self.time) > 0):
            problems.append("time must be strictly increasing (one row per day, sorted)")
        if self.n_categories is not None and self.n_categories < 3:
            problems.append(f"n_categories must be ≥ 3 (got {self.n_categories})")
        if not self.exposure_days > 0:
            problems.append(f"exposure_days must be > 0 (got {self.exposure_days})")
        if problems:
            raise DataError("model data: " + "; ".join(problems))


@frozen
class ModelSpec:
    """What to fit: the outcome kind, autocorrelation, trend and priors.

    Parameters
    ----------
    kind : {"continuous", "count", "binary", "ordinal"}
    autocorrelation : bool
        Model day-to-day dependence (AR(1) residuals, or latent clustering for non-Gaussian kinds).
    trend : {"none", "linear", "spline"}
    prior : PriorSpec
        Must be for the same kind.
    latent : {"ar", "period"}
        Clustering structure for count/binary/ordinal with autocorrelation: a gap-exact latent
        AR(1) on the linear predictor, or period-level random intercepts integrated out of the
        likelihood by adaptive Gauss–Hermite quadrature (:mod:`nof1.model.marginal`; needs
        ``ModelData.period``).
    """

    kind: str = field(validator=one_of(KINDS))
    autocorrelation: bool
    trend: str = field(validator=one_of(TRENDS))
    prior: PriorSpec = field()
    latent: str = field(default="ar", validator=one_of(LATENT))

    @prior.validator
    def _check_prior(self, _attr: Any, value: PriorSpec) -> None:
        if value.kind != self.kind:
            raise ValueError(
                f"ModelSpec.prior is for a {value.kind} outcome but kind is {self.kind!r}: "
                "build it with default_prior(outcome) for this outcome"
            )

    def describe(self) -> str:
        """A sentence naming the model, for reports."""
        likelihood = {
            "continuous": "normal",
            "count": "negative binomial (log link)",
            "binary": "logistic",
            "ordinal": "ordered logistic",
        }[self.kind]
        parts = [f"Bayesian {likelihood} model"]
        if self.autocorrelation:
            if self.kind == "continuous":
                parts.append("AR(1) residuals (gap-exact)")
                if self.latent == "period":
                    parts.append("period random intercepts (their SD integrated out)")
                else:
                    parts.append(
                        "no period-level term (periods unknown, only one, or more than 24)"
                    )
            elif self.latent == "ar":
                parts.append("latent AR(1) day effects")
            else:
                parts.append(
                    "period random intercepts (integrated out by adaptive Gauss–Hermite "
                    "quadrature; effect averaged over periods)"
                )
        if self.trend != "none":
            parts.append(f"{self.trend} time trend")
        return ", ".join(parts) + f"; {self.prior.describe()}"


@frozen
class GridInfo:
    """How a grid integration went (:mod:`nof1.model.grid`): its diagnostics.

    Attributes
    ----------
    parameters : the integrated parameters (``sigma``, ``rho``, ``trend_tau``, ``latent_sd``)
    points : grid points of the final grid; ``points_per_axis`` per parameter
    change : how far the effect's mean and SD moved at the last refinement of the grid, in
        posterior SDs (the integration error is smaller than this)
    edge_mass : share of the posterior mass on the edge of the grid's box (what it may miss)
    refinements : refinements and widenings done
    """

    parameters: tuple[str, ...]
    points: int
    points_per_axis: int
    change: float
    edge_mass: float
    refinements: int


@frozen
class ImportanceInfo:
    """How an importance-sampling fit went (:mod:`nof1.model.importance`): its diagnostics.

    Attributes
    ----------
    parameters : the model's value variables (the signed period SD moved as ``log |v|``)
    proposals : points drawn from the Student-t proposal
    khat : Pareto ``k̂`` of the smoothed weights (reliable at or below 0.7)
    ess : effective sample size of the weights, ``1 / Σ w²``
    adaptations : times the proposal was re-centred on the weighted moments
    """

    parameters: tuple[str, ...]
    proposals: int
    khat: float
    ess: float
    adaptations: int


@frozen(eq=False)
class Fit:
    """A fitted model: the posterior and the effect draws on the verdict scale.

    Attributes
    ----------
    idata : xarray.DataTree
    effect : numpy.ndarray
        1-D draws of B minus A on the verdict scale (chains concatenated).
    relative : numpy.ndarray or None
        Rate ratio (count) or odds ratio (binary) draws.
    latent : numpy.ndarray or None
        Ordinal latent-scale effect draws.
    seconds : dict
        ``build``, ``compile`` (for PyMC: all of ``pm.sample`` but its draw loop — compiling,
        chain initialisation, worker start-up), ``sample``, ``total`` wall-clock seconds.
    sampler : str
        ``grid`` (continuous outcomes, :mod:`nof1.model.grid`), ``importance`` (the other kinds,
        :mod:`nof1.model.importance`), ``pymc`` or ``nutpie`` (NUTS).
    grid : GridInfo or None
        The grid's diagnostics (grid fits only; NUTS fits are diagnosed from ``idata``).
    importance : ImportanceInfo or None
        The importance sampler's diagnostics (importance fits only).
    """

    idata: Any  # xarray.DataTree (ArviZ 1): its groups are dynamic attributes
    effect: np.ndarray
    relative: np.ndarray | None
    latent: np.ndarray | None
    seconds: dict[str, float]
    sampler: str = "pymc"
    grid: GridInfo | None = None
    importance: ImportanceInfo | None = None


def verdict_draws(posterior: Any) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """``effect``, ``rate_ratio``/``odds_ratio`` and ``latent_effect`` draws, chains concatenated.

    ``posterior`` is the ``posterior`` group of a fit (or any mapping of (chain, draw) arrays);
    a draw that the kind does not have is ``None``.
    """

    def flat(name: str) -> np.ndarray:
        return np.asarray(posterior[name]).reshape(-1)

    relative = next((flat(n) for n in ("rate_ratio", "odds_ratio") if n in posterior), None)
    latent = flat("latent_effect") if "latent_effect" in posterior else None
    return flat("effect"), relative, latent


def check_y(data: ModelData, spec: ModelSpec) -> None:
    """Raise :class:`~nof1.errors.DataError` when ``y`` does not suit the outcome kind."""
    y = data.y
    if spec.kind == "count" and (np.any(y < 0) or np.any(y != np.round(y))):
        raise DataError("model data: a count outcome needs whole numbers ≥ 0 in y")
    if spec.kind == "binary" and not np.isin(y, (0.0, 1.0)).all():
        raise DataError("model data: a binary outcome needs y values 0 or 1")
    if spec.kind == "ordinal":
        k = data.n_categories
        if k is None:
            raise DataError("model data: n_categories is missing for an ordinal outcome")
        if np.any(y != np.round(y)) or np.any(y < 0) or np.any(y > k - 1):
            raise DataError(f"model data: an ordinal outcome needs y in 0..{k - 1}")
