"""Prior specifications for the outcome models, scaled to each outcome's declared scale.

A :class:`PriorSpec` holds the numbers of every prior the models in :mod:`nof1.model` use, on the
model's *own* parameter scale (outcome units, log-rate, log-odds or the ordinal latent scale).
Three constructors build one from an :class:`~nof1.protocol.OutcomeSpec`:

``default_prior``
    Weakly informative: rules out absurd values on the outcome's scale, lets the data speak.
``sceptical_prior``
    The effect centred at 0 with scale equal to the MCID, translated to the parameter scale at
    the person's own baseline.
``vague_prior``
    A reference prior: wider than the default, but within what the outcome can physically do.

Priors are data-independent except in one documented place, the *baseline*: for count, binary
and ordinal outcomes the level (log rate, log-odds, cutpoints) is centred on the comparator
(arm A) and run-in days passed as ``y`` (as brms and rstanarm centre an intercept), and the
sceptical prior translates the MCID at that baseline. The effect prior's centre never sees the
data. See ``docs/methods-models.md``.

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
#: SD of the default effect prior on the log rate ratio, log odds ratio or ordinal latent shift
#: (chosen by calibration: docs/methods-models.md).
EFFECT_SD = 1.5
#: Vague prior, count: SD of the log rate ratio (95 % of rate ratios within 1/50 to 50).
VAGUE_LOG_RATIO_SD = 2.0
#: Vague prior, binary and ordinal: SD of the log odds ratio / latent shift (OR 1/134 to 134).
VAGUE_LOGIT_SD = 2.5


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
        text = f"{self.label} prior: {scale} ~ Normal({self.effect_mu:g}, {self.effect_sigma:.3g})"
        if self.kind == "count":
            rate = EXPOSURE_DAYS * math.exp(self.intercept_mu)
            text += f"; baseline {rate:.3g} per {EXPOSURE_DAYS} days"
        elif self.kind == "binary":
            p0 = 1.0 / (1.0 + math.exp(-self.intercept_mu))
            text += f"; baseline {EXPOSURE_DAYS * p0:.3g} days per {EXPOSURE_DAYS}"
        return text


# --------------------------------------------------------------------------------------------
# constructors
# --------------------------------------------------------------------------------------------


def default_prior(outcome: OutcomeSpec, y: np.ndarray | None = None) -> PriorSpec:
    """Weakly informative prior scaled to the outcome's scale and the person's baseline.

    Parameters
    ----------
    outcome : OutcomeSpec
        The outcome; its ``kind``, ``minimum``/``maximum`` and ``categories`` set the scales.
    y : numpy.ndarray, optional
        The *baseline* days: the outcome on the comparator (arm A) days and the run-in days
        (:func:`nof1.analysis.baseline_values`). It centres the level of a count, binary or
        ordinal outcome (never the effect). Without it the level is centred on 1 event per day
        (count), a probability of 0.5 (binary) or equally likely categories (ordinal).

    Returns
    -------
    PriorSpec

    Notes
    -----
    continuous (range ``R = max - min``): level ~ N(mid-range, R/2), effect ~ N(0, R/4),
    residual SD ~ HalfNormal(R/4), linear trend ~ N(0, R/4), SD of the period intercepts ~
    HalfNormal(R/16).
    count: log daily rate ~ N(log r0, 1.5) with ``r0 = (events + 0.5) / (days + 1)`` of the
    baseline days; log rate ratio ~ N(0, EFFECT_SD); ``1/alpha`` ~ HalfNormal(1).
    binary: log-odds ~ N(logit p0, 1.5), ``p0 = (days with the event + 0.5) / (days + 1)``;
    log odds ratio ~ N(0, EFFECT_SD). ordinal: cutpoints ~ N(logit of the baseline's cumulative
    category shares (+0.5 per category), 1.5); latent shift ~ N(0, EFFECT_SD).
    Autocorrelation ``rho`` ~ Beta(2, 2); latent SD ~ HalfNormal(0.5) on the linear predictor.
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
            intercept_mu=math.log(_count_baseline(y)),
            intercept_sigma=1.5,
            effect_sigma=EFFECT_SD,
            trend_sigma=0.5,
            latent_sigma_scale=0.5,
        )
    if kind == "binary":
        return PriorSpec(
            kind=kind,
            intercept_mu=_logit(_binary_baseline(y)),
            intercept_sigma=1.5,
            effect_sigma=EFFECT_SD,
            trend_sigma=0.5,
        )
    if kind == "ordinal":
        k = _n_categories(outcome)
        return PriorSpec(
            kind=kind,
            effect_sigma=EFFECT_SD,
            trend_sigma=0.5,
            cutpoint_mu=_baseline_cutpoints(k, y, outcome.category_offset),
            cutpoint_sigma=1.5,
        )
    raise ValueError(f"outcome.kind must be one of {', '.join(KINDS)} (got {kind!r})")


def sceptical_prior(outcome: OutcomeSpec, y: np.ndarray | None = None) -> PriorSpec:
    """The default prior with the effect centred at 0 and scale equal to the MCID.

    The MCID is declared on the verdict scale; it is translated to the model's parameter scale
    at the baseline of :func:`default_prior` (the comparator and run-in days):

    * continuous: the MCID itself (outcome units).
    * count: ``log(1 + mcid / baseline_28)``, the log rate ratio that moves the baseline number
      of events per 28 days by one MCID.
    * binary: with ``p0`` the baseline daily probability and ``d = mcid / 28``, the mean of
      ``|logit(p0 + d) - logit(p0)|`` and ``|logit(p0 - d) - logit(p0)|`` (a direction that
      would leave (0, 1) is left out): the log odds ratio worth one MCID at the person's own
      baseline, in either direction.
    * ordinal: ``mcid / slope``, where ``slope`` is the derivative of the expected category with
      respect to the latent shift at the prior cutpoints (the baseline's category shares).

    Parameters
    ----------
    outcome : OutcomeSpec
    y : numpy.ndarray, optional
        The baseline days, passed to :func:`default_prior`.
    """
    base = default_prior(outcome, y)
    scale = effect_scale_for(outcome, outcome.mcid, base)
    return _evolve(base, label="sceptical", effect_mu=0.0, effect_sigma=scale)


def vague_prior(outcome: OutcomeSpec, y: np.ndarray | None = None) -> PriorSpec:
    """A reference prior: wider than the default, within what the outcome can physically do.

    continuous: level, effect, trend and residual scales ten times wider (a difference in means
    stays a difference in means). count, binary, ordinal: a ten-times wider prior on a log or
    logit scale would put most of its mass on impossible values (a log rate ratio ~ N(0, 10)
    gives rate ratios beyond e^±19), so:

    * count: log rate ratio ~ N(0, VAGUE_LOG_RATIO_SD = 2): 95 % of the prior mass has rate
      ratios within 1/50 to 50; when a declared ``maximum`` per day is nearer the baseline
      ``r0`` than 50-fold, the SD is ``log(maximum / r0) / 1.96`` (never below the default's).
    * binary, ordinal: log odds ratio / latent shift ~ N(0, VAGUE_LOGIT_SD = 2.5): odds ratios
      within 1/134 to 134, which carry a baseline probability of 0.29 to anywhere between 0.003
      and 0.98 — the whole physical range (the verdict scale, days per 28, is bounded by
      construction) without piling more mass on its ends.
    * levels (log rate, log-odds) ~ N(baseline, 3), cutpoint SD 3; latent SD ~ HalfNormal(1.5),
      ``1/alpha`` ~ HalfNormal(3), trend ~ N(0, 1.5): three times the default.

    The autocorrelation prior becomes uniform, Beta(1, 1).
    """
    base = default_prior(outcome, y)
    if outcome.kind == "continuous":
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
        )
    if outcome.kind == "count":
        effect_sd = VAGUE_LOG_RATIO_SD
        if outcome.maximum is not None and outcome.maximum > 0:
            reach = math.log(float(outcome.maximum) / math.exp(base.intercept_mu)) / 1.96
            effect_sd = min(effect_sd, reach)
        effect_sd = max(effect_sd, base.effect_sigma)
    else:
        effect_sd = VAGUE_LOGIT_SD
    return _evolve(
        base,
        label="vague",
        intercept_sigma=3.0,
        effect_sigma=effect_sd,
        trend_sigma=base.trend_sigma * 3,
        rho_alpha=1.0,
        rho_beta=1.0,
        latent_sigma_scale=base.latent_sigma_scale * 3,
        dispersion_scale=base.dispersion_scale * 3,
        cutpoint_sigma=3.0,
    )


def effect_scale_for(outcome: OutcomeSpec, difference: float, prior: PriorSpec) -> float:
    """Translate a difference on the verdict scale to a scale on the effect parameter's scale.

    Parameters
    ----------
    outcome : OutcomeSpec
    difference : float
        A positive difference on the verdict scale (e.g. the MCID).
    prior : PriorSpec
        Supplies the baseline (count and binary: ``intercept_mu``; ordinal: ``cutpoint_mu``).

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
        p0 = 1.0 / (1.0 + math.exp(-prior.intercept_mu))
        d = min(difference / EXPOSURE_DAYS, 0.98)
        moves = [abs(_logit(p0 + s) - _logit(p0)) for s in (d, -d) if 0.0 < p0 + s < 1.0]
        if not moves:  # d so large that both directions leave (0, 1): the widest move there is
            moves = [abs(_logit(0.99) - _logit(p0)), abs(_logit(0.01) - _logit(p0))]
        return float(np.mean(moves))
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


def _baseline_values(y: np.ndarray | None) -> np.ndarray:
    """The finite baseline values (comparator and run-in days), or an empty array."""
    if y is None:
        return np.zeros(0)
    values = np.asarray(y, dtype=float).reshape(-1)
    return values[np.isfinite(values)]


def _count_baseline(y: np.ndarray | None) -> float:
    """Baseline events per day: ``(events + 0.5) / (days + 1)`` of the baseline days, else 1."""
    values = _baseline_values(y)
    if values.size == 0:
        return 1.0
    return (float(np.clip(values, 0.0, None).sum()) + 0.5) / (values.size + 1.0)


def _binary_baseline(y: np.ndarray | None) -> float:
    """Baseline daily probability: ``(days with the event + 0.5) / (days + 1)``, else 0.5."""
    values = _baseline_values(y)
    if values.size == 0:
        return 0.5
    return (float((values > 0).sum()) + 0.5) / (values.size + 1.0)


def _baseline_cutpoints(k: int, y: np.ndarray | None, offset: int = 0) -> tuple[float, ...]:
    """Logits of the baseline's cumulative category shares (+0.5 per category), else equal.

    ``y`` holds stored categories; ``offset`` is :attr:`OutcomeSpec.category_offset` (1 when
    the analysis leaves out the category "none", which cannot occur when asked)."""
    values = _baseline_values(y)
    if values.size == 0:
        return _equal_probability_cutpoints(k)
    index = np.clip(np.round(values) - offset, 0, k - 1).astype(int)
    shares = (np.bincount(index, minlength=k) + 0.5) / (values.size + 0.5 * k)
    cumulative = np.cumsum(shares)[:-1]
    return tuple(_logit(float(q)) for q in cumulative)


def _n_categories(outcome: OutcomeSpec) -> int:
    """The categories the model sees (:attr:`OutcomeSpec.analysed_categories`)."""
    k = len(outcome.analysed_categories)
    if k < 3:
        raise ValueError(
            f"outcome {outcome.name!r} is ordinal but analyses {k} categories: give at least 3"
        )
    return k


def _equal_probability_cutpoints(k: int) -> tuple[float, ...]:
    """Logistic quantiles at 1/k, ..., (k-1)/k: every category equally likely at latent 0."""
    return tuple(_logit(j / k) for j in range(1, k))
