"""Prior specifications for the outcome models, scaled to each outcome's declared scale.

A :class:`PriorSpec` holds the numbers of every prior the models in :mod:`nof1.model` use, on the
model's *own* parameter scale (outcome units, log-rate, log-odds or the ordinal latent scale).
Three constructors build one from an :class:`~nof1.protocol.OutcomeSpec`:

``default_prior``
    Weakly informative: rules out absurd values on the outcome's scale, lets the data speak.
``sceptical_prior``
    The effect centred at 0 with scale equal to the MCID, translated to the parameter scale.
``vague_prior``
    A reference prior: the default with every location scale ten times wider.

Priors are data-independent except in one documented place: for a count outcome with no declared
``maximum`` (or a binary/ordinal outcome whose baseline is needed to translate the MCID), an
optional ``y`` centres the *baseline* (never the effect). See ``docs/methods-models.md``.

This module imports numpy only (no PyMC): priors are plain numbers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from attrs import field, frozen

from nof1.protocol import OutcomeSpec
from nof1.vocab import EXPOSURE_DAYS, KINDS

LABELS = ("default", "sceptical", "vague")


def _positive(_inst: Any, attr: Any, value: float) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"PriorSpec.{attr.name} must be a finite number > 0 (got {value!r})")


def _finite(_inst: Any, attr: Any, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"PriorSpec.{attr.name} must be finite (got {value!r})")


def _float_tuple(values: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


@frozen
class PriorSpec:
    """Numbers of every prior, on the model's parameter scale.

    Parameters
    ----------
    kind : str
        Outcome kind: ``continuous``, ``count``, ``binary`` or ``ordinal``.
    label : str
        ``default``, ``sceptical`` or ``vague`` (for reports).
    intercept_mu, intercept_sigma : float
        Normal prior of the comparator (arm A) level at the trend's centre: mean in outcome units
        (continuous), log daily rate (count), log-odds (binary). Unused for ordinal (the
        cutpoints carry the level).
    effect_mu, effect_sigma : float
        Normal prior of the effect parameter: difference in means (continuous), log rate ratio
        (count), log odds ratio (binary), latent shift (ordinal).
    sigma_scale : float
        Half-normal scale of the residual SD (continuous only).
    trend_sigma : float
        Normal scale of the linear trend coefficient, per half trial (time is scaled to
        [-1, 1]), and half-normal scale of the spline knot-slope SD.
    rho_alpha, rho_beta : float
        Beta prior of the day-to-day autocorrelation ``rho`` in (0, 1).
    latent_sigma_scale : float
        Half-normal scale of the SD of the latent AR(1) process or period intercepts on the
        linear predictor (count, binary, ordinal with autocorrelation), and of the period
        intercepts of a continuous outcome (outcome units).
    dispersion_scale : float
        Half-normal scale of ``1/alpha``, the negative binomial overdispersion (count only).
    cutpoint_mu : tuple of float
        Prior means of the ordinal cutpoints (length ``n_categories - 1``), ordered.
    cutpoint_sigma : float
        Normal SD of each cutpoint around its mean.
    """

    kind: str = field()
    label: str = field(default="default")
    intercept_mu: float = field(default=0.0, validator=_finite)
    intercept_sigma: float = field(default=1.0, validator=_positive)
    effect_mu: float = field(default=0.0, validator=_finite)
    effect_sigma: float = field(default=1.0, validator=_positive)
    sigma_scale: float = field(default=1.0, validator=_positive)
    trend_sigma: float = field(default=1.0, validator=_positive)
    rho_alpha: float = field(default=2.0, validator=_positive)
    rho_beta: float = field(default=2.0, validator=_positive)
    latent_sigma_scale: float = field(default=0.5, validator=_positive)
    dispersion_scale: float = field(default=1.0, validator=_positive)
    cutpoint_mu: tuple[float, ...] = field(default=(), converter=_float_tuple)
    cutpoint_sigma: float = field(default=1.5, validator=_positive)

    @kind.validator
    def _check_kind(self, _attr: Any, value: str) -> None:
        if value not in KINDS:
            raise ValueError(f"PriorSpec.kind must be one of {', '.join(KINDS)} (got {value!r})")

    @label.validator
    def _check_label(self, _attr: Any, value: str) -> None:
        if value not in LABELS:
            raise ValueError(f"PriorSpec.label must be one of {', '.join(LABELS)} (got {value!r})")

    @cutpoint_mu.validator
    def _check_cutpoints(self, _attr: Any, value: tuple[float, ...]) -> None:
        if self.kind == "ordinal" and len(value) < 2:
            raise ValueError(
                "PriorSpec.cutpoint_mu needs at least 2 cutpoints for an ordinal outcome "
                f"(3+ categories; got {len(value)})"
            )
        if any(b <= a for a, b in zip(value, value[1:], strict=False)):
            raise ValueError(f"PriorSpec.cutpoint_mu must be increasing (got {list(value)})")

    def describe(self) -> str:
        """One line naming the effect prior on its own scale, for reports."""
        scale = {
            "continuous": "difference in means",
            "count": "log rate ratio",
            "binary": "log odds ratio",
            "ordinal": "latent shift (logit scale)",
        }[self.kind]
        return f"{self.label} prior: {scale} ~ Normal({self.effect_mu:g}, {self.effect_sigma:.3g})"


# --------------------------------------------------------------------------------------------
# constructors
# --------------------------------------------------------------------------------------------


def default_prior(outcome: OutcomeSpec, y: np.ndarray | None = None) -> PriorSpec:
    """Weakly informative prior scaled to the outcome's declared scale.

    Parameters
    ----------
    outcome : OutcomeSpec
        The outcome; its ``kind``, ``minimum``/``maximum`` and ``categories`` set the scales.
    y : numpy.ndarray, optional
        Observed values. Used only to centre the baseline rate of a count outcome that declares
        no ``maximum`` (as brms and rstanarm centre an intercept); the effect prior never sees it.

    Returns
    -------
    PriorSpec

    Notes
    -----
    continuous (range ``R = max - min``): level ~ N(mid-range, R/2), effect ~ N(0, R/4),
    residual SD ~ HalfNormal(R/4), linear trend ~ N(0, R/4), SD of the period intercepts ~
    HalfNormal(R/8).
    count: log daily rate ~ N(log baseline, 1.5), log rate ratio ~ N(0, 1), ``1/alpha`` ~
    HalfNormal(1). binary: log-odds ~ N(0, 1.5), log odds ratio ~ N(0, 1). ordinal: cutpoints
    ~ N(logit of equal-probability points, 1.5), latent shift ~ N(0, 1). Autocorrelation
    ``rho`` ~ Beta(2, 2); latent SD ~ HalfNormal(0.5) on the linear predictor.
    """
    kind = outcome.kind
    if kind == "continuous":
        low, high = _continuous_range(outcome)
        span = high - low
        return PriorSpec(
            kind=kind,
            intercept_mu=(low + high) / 2,
            intercept_sigma=span / 2,
            effect_sigma=span / 4,
            sigma_scale=span / 4,
            trend_sigma=span / 4,
            # SD of the period intercepts (docs/methods-models.md): half the residual SD's
            # scale, so a typical period shift is ~R/12 and one beyond R/4 is improbable
            latent_sigma_scale=span / 16,
        )
    if kind == "count":
        return PriorSpec(
            kind=kind,
            intercept_mu=math.log(_count_baseline(outcome, y)),
            intercept_sigma=1.5,
            effect_sigma=1.0,
            trend_sigma=0.5,
            latent_sigma_scale=0.5,
        )
    if kind == "binary":
        return PriorSpec(
            kind=kind, intercept_mu=0.0, intercept_sigma=1.5, effect_sigma=1.0, trend_sigma=0.5
        )
    if kind == "ordinal":
        k = _n_categories(outcome)
        return PriorSpec(
            kind=kind,
            effect_sigma=1.0,
            trend_sigma=0.5,
            cutpoint_mu=_equal_probability_cutpoints(k),
            cutpoint_sigma=1.5,
        )
    raise ValueError(f"outcome.kind must be one of {', '.join(KINDS)} (got {kind!r})")


def sceptical_prior(outcome: OutcomeSpec, y: np.ndarray | None = None) -> PriorSpec:
    """The default prior with the effect centred at 0 and scale equal to the MCID.

    The MCID is declared on the verdict scale; it is translated to the model's parameter scale:

    * continuous: the MCID itself (outcome units).
    * count: ``log(1 + mcid / baseline_28)``, the log rate ratio that moves the baseline number
      of events per 28 days by one MCID.
    * binary: ``2 * logit(0.5 + d / 2)`` with ``d = mcid / 28`` the change in daily probability:
      the log odds ratio that moves a probability of 0.5 symmetrically by ``d``. At 0.5 the
      logistic curve is steepest, so this is the *smallest* log odds ratio worth one MCID: the
      most sceptical translation.
    * ordinal: ``mcid / slope``, where ``slope`` is the derivative of the expected category with
      respect to the latent shift at the prior cutpoints (equal-probability categories).

    Parameters
    ----------
    outcome : OutcomeSpec
    y : numpy.ndarray, optional
        Passed to :func:`default_prior` (count baseline only).
    """
    base = default_prior(outcome, y)
    scale = effect_scale_for(outcome, outcome.mcid, base)
    return _evolve(base, label="sceptical", effect_mu=0.0, effect_sigma=scale)


def vague_prior(outcome: OutcomeSpec, y: np.ndarray | None = None) -> PriorSpec:
    """A reference prior: the default with level, effect and trend scales ten times wider.

    Variance-type priors (residual SD, latent SD, dispersion) are widened by 10 too; the
    autocorrelation prior becomes uniform, Beta(1, 1). Cutpoint SDs are widened to 10.
    """
    base = default_prior(outcome, y)
    return _evolve(
        base,
        label="vague",
        intercept_sigma=base.intercept_sigma * 10,
        effect_sigma=base.effect_sigma * 10,
        sigma_scale=base.sigma_scale * 10,
        trend_sigma=base.trend_sigma * 10,
        rho_alpha=1.0,
        rho_beta=1.0,
        latent_sigma_scale=base.latent_sigma_scale * 10,
        dispersion_scale=base.dispersion_scale * 10,
        cutpoint_sigma=10.0,
    )


def effect_scale_for(outcome: OutcomeSpec, difference: float, prior: PriorSpec) -> float:
    """Translate a difference on the verdict scale to a scale on the effect parameter's scale.

    Parameters
    ----------
    outcome : OutcomeSpec
    difference : float
        A positive difference on the verdict scale (e.g. the MCID).
    prior : PriorSpec
        Supplies the baseline (count: ``intercept_mu``; ordinal: ``cutpoint_mu``).

    Returns
    -------
    float
        A positive scale on the parameter's scale (see :func:`sceptical_prior`).
    """
    difference = abs(float(difference))
    if difference <= 0 or not math.isfinite(difference):
        raise ValueError(f"difference must be a finite number > 0 (got {difference!r})")
    kind = outcome.kind
    if kind == "continuous":
        return difference
    if kind == "count":
        baseline_28 = EXPOSURE_DAYS * math.exp(prior.intercept_mu)
        return math.log1p(difference / baseline_28)
    if kind == "binary":
        d = min(difference / EXPOSURE_DAYS, 0.98)
        return 2.0 * _logit(0.5 + d / 2.0)
    if kind == "ordinal":
        cut = np.asarray(prior.cutpoint_mu)
        p = 1.0 / (1.0 + np.exp(cut))  # P(Y > k) at latent 0
        slope = float(np.sum(p * (1.0 - p)))
        return difference / slope
    raise ValueError(f"outcome.kind must be one of {', '.join(KINDS)} (got {kind!r})")


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _evolve(prior: PriorSpec, **changes: Any) -> PriorSpec:
    import attrs

    return attrs.evolve(prior, **changes)


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _continuous_range(outcome: OutcomeSpec) -> tuple[float, float]:
    if outcome.minimum is None or outcome.maximum is None:
        raise ValueError(
            f"outcome {outcome.name!r} is continuous but has no scale: set min and max "
            "in its [[outcomes]] table"
        )
    return float(outcome.minimum), float(outcome.maximum)


def _count_baseline(outcome: OutcomeSpec, y: np.ndarray | None) -> float:
    """Baseline events per day: a quarter of the declared maximum, else the data, else 1."""
    if outcome.maximum is not None and outcome.maximum > 0:
        return max(float(outcome.maximum) / 4.0, 0.05)
    if y is not None:
        values = np.asarray(y, dtype=float)
        values = values[np.isfinite(values)]
        if values.size:
            return float(values.mean()) + 0.05
    return 1.0


def _n_categories(outcome: OutcomeSpec) -> int:
    k = len(outcome.categories)
    if k < 3:
        raise ValueError(
            f"outcome {outcome.name!r} is ordinal but lists {k} categories: give at least 3"
        )
    return k


def _equal_probability_cutpoints(k: int) -> tuple[float, ...]:
    """Logistic quantiles at 1/k, ..., (k-1)/k: every category equally likely at latent 0."""
    return tuple(_logit(j / k) for j in range(1, k))
