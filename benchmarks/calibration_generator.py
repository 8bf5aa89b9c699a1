"""An independent data-generating process for the calibration harness (numpy and stdlib only).

Written from the description in issue 15, deliberately without ``nof1`` (in particular without
``nof1.simulate``): it must not share the product's modelling assumptions, or the calibration
would only check that the models fit data drawn from themselves.

Design (the ``migraine-magnesium`` template): a 14-day run-in, then 4 pairwise blocks (AB or
BA) of 28-day periods back to back, the first 7 days of each period left out of the analysis
(analytic washout). The harness passes the product's randomized sequence in so the arms match
the product's schedule day for day.

Every kind shares the same latent structure on its own scale:

* a day-level stationary AR(1) process over the whole trial (run-in included), with
  ``rho ~ Uniform(0.3, 0.5)`` drawn per trial;
* a period-level shock per period (and one for the run-in), independent normal;
* 5 % of days missing completely at random (nothing logged that day);
* non-adherence: on 10 % of treatment-period days the pack is not taken (recorded as
  ``took = "no"``); the intervention acts only on days it is taken, and the analysis is by
  assigned arm (intention to treat);
* onset and offset of the effect: the effect moves linearly to its new level over the first
  4 days of a period (inside the 7-day analytic washout, so analysed days carry the full
  effect of their own arm and none of the previous one).

Kinds (``effect`` is the TRUE estimand on the product's verdict scale, by assigned arm):

``continuous``  0–100 score, mean 50, marginal SD 15 of which 15 % period shocks and 85 % AR(1)
                day-level; clipped to 0–100. MCID 10; effect −10 or 0 (points).
``binary``      headache day, logit P = a + latent (AR(1) SD 0.8, period SD 0.4); baseline
                8 headache days per 28; effect −3 days/28 or 0.
``count``       acute-medication doses per day, Poisson with log rate a + latent (AR(1) SD 0.7,
                period SD 0.4), capped at 10; baseline 6 doses per 28 days; effect −3/28 or 0.
``ordinal``     4 categories from a *probit* latent (normal noise, not the product's logistic):
                category = number of cutpoints below a + latent + N(0, 1) (AR(1) SD 0.7, period
                SD 0.35); baseline probabilities 0.45, 0.25, 0.20, 0.10; effect −0.3 expected
                category or 0.
``pain``        two-part: headache days from the binary process with its frequency effect
                (−3 days/28 in EVERY pain trial, so that a frequency effect must not leak into
                the intensity verdict), and peak pain 1–10 recorded on headache days only:
                round(5.5 + AR(1) SD 1.0 + period SD 0.5 + N(0, 1.2²) + intensity effect),
                clipped to 1–10, independent of the headache latent. The estimand is the
                difference of the expected peak pain on headache days (B − A); effect −1.0 or 0.

True estimand: the difference of the marginal (population-averaged over latent days, periods
and adherence) mean of an analysed day under assigned B and under assigned A — times 28 for
binary and count (days or doses per 28 days), expected category for ordinal, expected peak pain
on headache days for pain. Each is computed by numerical integration of the generator's own
marginal means (Gauss–Hermite over the latent normal, exact sums over the rounding and capping)
in :func:`true_effect`; the intervention coefficient is solved (bisection) so that the true
estimand equals the requested effect exactly. ``tests/test_calibration_generator.py`` checks
the integration against large simulated samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

KINDS = ("continuous", "binary", "count", "ordinal", "pain")

RUN_IN_DAYS = 14
PERIOD_DAYS = 28
BLOCKS = 4
ANALYTIC_WASHOUT_DAYS = 7
ONSET_DAYS = 4
MISSING_RATE = 0.05
ADHERENCE = 0.90
RHO_RANGE = (0.3, 0.5)
EXPOSURE = 28.0

#: The effect sizes of the "effect" scenario, per kind, on the verdict scale (B − A).
EFFECTS = {
    "continuous": -10.0,
    "binary": -3.0,
    "count": -3.0,
    "ordinal": -0.3,
    "pain": -1.0,
}

# Latent structure per kind: (AR(1) day-level SD, period SD).
CONTINUOUS_SD = 15.0
CONTINUOUS_PERIOD_SHARE = 0.15
LATENT = {
    "continuous": (
        CONTINUOUS_SD * math.sqrt(1 - CONTINUOUS_PERIOD_SHARE),
        CONTINUOUS_SD * math.sqrt(CONTINUOUS_PERIOD_SHARE),
    ),
    "binary": (0.8, 0.4),
    "count": (0.7, 0.4),
    "ordinal": (0.7, 0.35),
    "pain": (1.0, 0.5),  # of the intensity on headache days; frequency uses "binary"
}
CONTINUOUS_MEAN = 50.0
CONTINUOUS_RANGE = (0.0, 100.0)
BINARY_BASELINE = 8.0 / 28.0
COUNT_BASELINE = 6.0 / 28.0
COUNT_MAX = 10
ORDINAL_BASELINE = (0.45, 0.25, 0.20, 0.10)
PAIN_MEAN = 5.5
PAIN_NOISE_SD = 1.2
PAIN_RANGE = (1, 10)
#: The headache-frequency effect present in every pain trial (days per 28 days).
PAIN_FREQUENCY_EFFECT = -3.0

_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(80)
_GH_W = _GH_W / _GH_W.sum()  # E[f(Z)], Z ~ N(0, 1)  ≈  sum(w * f(x))


# --------------------------------------------------------------------------------------------
# Small numerical helpers (numpy + math only)
# --------------------------------------------------------------------------------------------


def normal_cdf(x: np.ndarray | float) -> np.ndarray:
    """Standard normal CDF, elementwise."""
    arr = np.asarray(x, dtype=float)
    erf = np.vectorize(math.erf, otypes=[float])
    return np.asarray(0.5 * (1.0 + erf(arr / math.sqrt(2.0))))


def normal_quantile(p: float) -> float:
    """Inverse of :func:`normal_cdf` by bisection (to 1e-12)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1) (got {p})")
    return solve(lambda x: float(normal_cdf(x)) - p, -40.0, 40.0)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float))))


def solve(f: object, low: float, high: float, tol: float = 1e-12) -> float:
    """A root of the monotone function ``f`` on [low, high] by bisection."""
    fn = f  # typed loosely: a callable float -> float
    f_low = fn(low)  # type: ignore[operator]
    f_high = fn(high)  # type: ignore[operator]
    if f_low == 0:
        return low
    if f_high == 0:
        return high
    if (f_low > 0) == (f_high > 0):
        raise ValueError(f"no sign change on [{low}, {high}]")
    for _ in range(200):
        mid = 0.5 * (low + high)
        f_mid = fn(mid)  # type: ignore[operator]
        if (f_mid > 0) == (f_low > 0):
            low, f_low = mid, f_mid
        else:
            high = mid
        if high - low < tol:
            break
    return 0.5 * (low + high)


def latent_mean(f: object, eta: float, sd: float) -> float:
    """``E[f(eta + sd * Z)]``, Z ~ N(0, 1), by 80-point Gauss–Hermite quadrature."""
    values = f(eta + sd * _GH_X)  # type: ignore[operator]
    return float(np.sum(_GH_W * values))


def total_sd(kind: str) -> float:
    day, period = LATENT[kind]
    return math.hypot(day, period)


# --------------------------------------------------------------------------------------------
# Marginal means (the integration behind the true estimand)
# --------------------------------------------------------------------------------------------


def capped_poisson_mean(rate: np.ndarray, cap: int = COUNT_MAX) -> np.ndarray:
    """``E[min(Y, cap)]`` for ``Y ~ Poisson(rate)``, exactly: ``sum_{k<cap} P(Y > k)``."""
    lam = np.asarray(rate, dtype=float)
    pmf = np.exp(-lam)
    cdf = pmf.copy()
    total = 1.0 - cdf  # P(Y > 0)
    for k in range(1, cap):
        pmf = pmf * lam / k
        cdf = cdf + pmf
        total = total + (1.0 - cdf)
    return np.asarray(total)


def rounded_clipped_mean(mean: float, sd: float, low: int, high: int) -> float:
    """``E[clip(round(X), low, high)]`` for ``X ~ N(mean, sd²)`` (round half up), exactly."""
    ks = np.arange(low, high)
    return float(low + np.sum(1.0 - normal_cdf((ks + 0.5 - mean) / sd)))


def clipped_normal_mean(mean: float, sd: float, low: float, high: float) -> float:
    """``E[clip(X, low, high)]`` for ``X ~ N(mean, sd²)``, exactly."""
    a, b = (low - mean) / sd, (high - mean) / sd
    pa, pb = float(normal_cdf(a)), float(normal_cdf(b))
    da = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    db = math.exp(-b * b / 2) / math.sqrt(2 * math.pi)
    inside = mean * (pb - pa) + sd * (da - db)
    return low * pa + inside + high * (1.0 - pb)


@dataclass(frozen=True)
class Params:
    """Solved coefficients of one kind and scenario (see the module docstring)."""

    kind: str
    effect: float  # the requested true estimand
    intercept: float  # latent-scale intercept (mean for continuous/pain)
    beta: float  # latent-scale effect on days the intervention is taken
    cutpoints: tuple[float, ...] = ()  # ordinal
    freq_intercept: float = 0.0  # pain: headache-day process
    freq_beta: float = 0.0


def arm_means(p: Params) -> tuple[float, float]:
    """The marginal mean of an analysed day under assigned A and under assigned B.

    On the outcome's own daily scale: probability (binary), doses (count), expected category
    (ordinal), points (continuous), expected peak pain on a headache day (pain). B mixes taken
    (probability :data:`ADHERENCE`) and not-taken days.
    """
    kind = p.kind
    sd = total_sd(kind)
    if kind == "continuous":
        low, high = CONTINUOUS_RANGE

        def m(x: float) -> float:
            return clipped_normal_mean(x, sd, low, high)

    elif kind == "binary":

        def m(x: float) -> float:
            return latent_mean(sigmoid, x, sd)

    elif kind == "count":

        def m(x: float) -> float:
            return latent_mean(lambda e: capped_poisson_mean(np.exp(e)), x, sd)

    elif kind == "ordinal":
        cuts = np.asarray(p.cutpoints)

        def m(x: float) -> float:
            # P(category > k) = P(x + sd Z + N(0,1) > c_k) = Phi((x - c_k) / sqrt(1 + sd²))
            return float(np.sum(normal_cdf((x - cuts) / math.sqrt(1.0 + sd * sd))))

    elif kind == "pain":
        pain_sd = math.sqrt(sd * sd + PAIN_NOISE_SD**2)
        f_sd = total_sd("binary")
        low_p, high_p = PAIN_RANGE
        h_not = latent_mean(sigmoid, p.freq_intercept, f_sd)
        h_taken = latent_mean(sigmoid, p.freq_intercept + p.freq_beta, f_sd)
        # among headache days under B, the share on which the pack was taken
        w = ADHERENCE * h_taken / (ADHERENCE * h_taken + (1 - ADHERENCE) * h_not)
        base = rounded_clipped_mean(p.intercept, pain_sd, low_p, high_p)
        treated = rounded_clipped_mean(p.intercept + p.beta, pain_sd, low_p, high_p)
        return base, w * treated + (1 - w) * base
    else:
        raise ValueError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
    base = m(p.intercept)
    return base, ADHERENCE * m(p.intercept + p.beta) + (1 - ADHERENCE) * base


def scale_factor(kind: str) -> float:
    """Daily scale → verdict scale: 28 for binary and count, 1 otherwise."""
    return EXPOSURE if kind in ("binary", "count") else 1.0


def true_effect(p: Params) -> float:
    """The true estimand on the verdict scale: ``factor * (mean_B - mean_A)``."""
    a, b = arm_means(p)
    return scale_factor(p.kind) * (b - a)


def pain_frequency(p: Params) -> tuple[float, float]:
    """Pain trials: expected headache days per 28 analysed days under A and under B."""
    f = Params("binary", 0.0, p.freq_intercept, p.freq_beta)
    a, b = arm_means(f)
    return EXPOSURE * a, EXPOSURE * b


def _with_beta(p: Params, beta: float) -> Params:
    return Params(p.kind, p.effect, p.intercept, beta, p.cutpoints, p.freq_intercept, p.freq_beta)


def _solve_beta(p: Params, effect: float, span: float) -> Params:
    if effect == 0.0:
        return _with_beta(p, 0.0)
    beta = solve(lambda b: true_effect(_with_beta(p, b)) - effect, -span, span)
    return _with_beta(p, beta)


@lru_cache(maxsize=64)
def parameters(kind: str, effect: float) -> Params:
    """The coefficients of ``kind`` whose true estimand is ``effect`` (verdict scale)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
    if not math.isfinite(effect):
        raise ValueError(f"effect must be a finite number (got {effect!r})")
    if kind == "continuous":
        base = Params(kind, effect, CONTINUOUS_MEAN, 0.0)
        return _solve_beta(base, effect, 60.0)
    if kind == "binary":
        sd = total_sd(kind)
        a = solve(lambda x: latent_mean(sigmoid, x, sd) - BINARY_BASELINE, -10.0, 10.0)
        return _solve_beta(Params(kind, effect, a, 0.0), effect, 10.0)
    if kind == "count":
        sd = total_sd(kind)
        a = solve(
            lambda x: latent_mean(lambda e: capped_poisson_mean(np.exp(e)), x, sd) - COUNT_BASELINE,
            -10.0,
            2.0,
        )
        return _solve_beta(Params(kind, effect, a, 0.0), effect, 10.0)
    if kind == "ordinal":
        sd = total_sd(kind)
        scale = math.sqrt(1.0 + sd * sd)
        cum = np.cumsum(ORDINAL_BASELINE)[:-1]
        cuts = tuple(scale * normal_quantile(float(c)) for c in cum)
        return _solve_beta(Params(kind, effect, 0.0, 0.0, cuts), effect, 10.0)
    # pain
    freq = parameters("binary", PAIN_FREQUENCY_EFFECT)
    base = Params(
        kind,
        effect,
        PAIN_MEAN,
        0.0,
        freq_intercept=freq.intercept,
        freq_beta=freq.beta,
    )
    return _solve_beta(base, effect, 8.0)


# --------------------------------------------------------------------------------------------
# The calendar and the simulation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    """Day-level design arrays; ``day`` is 1-based (day 1 = first run-in day)."""

    sequence: str
    day: np.ndarray
    arm: np.ndarray  # "" in the run-in, else "A" / "B"
    period: np.ndarray  # 0 in the run-in, else 1-based
    day_in_period: np.ndarray  # 0 in the run-in, else 1-based
    analysed: np.ndarray


def draw_sequence(rng: np.random.Generator, blocks: int = BLOCKS) -> str:
    """A pairwise sequence: each block AB or BA with probability 1/2."""
    return "".join("AB" if rng.random() < 0.5 else "BA" for _ in range(blocks))


def calendar(sequence: str) -> Calendar:
    """The trial's days for a period sequence such as ``"ABBAABBA"``."""
    if not sequence or set(sequence) - {"A", "B"}:
        raise ValueError(f"sequence must be letters A and B (got {sequence!r})")
    n = RUN_IN_DAYS + PERIOD_DAYS * len(sequence)
    day = np.arange(1, n + 1)
    arm = np.full(n, "", dtype="<U1")
    period = np.zeros(n, dtype=int)
    in_period = np.zeros(n, dtype=int)
    for i, letter in enumerate(sequence):
        start = RUN_IN_DAYS + PERIOD_DAYS * i
        arm[start : start + PERIOD_DAYS] = letter
        period[start : start + PERIOD_DAYS] = i + 1
        in_period[start : start + PERIOD_DAYS] = np.arange(1, PERIOD_DAYS + 1)
    analysed = in_period > ANALYTIC_WASHOUT_DAYS
    return Calendar(sequence, day, arm, period, in_period, analysed)


def ar1(rng: np.random.Generator, n: int, rho: float, sd: float) -> np.ndarray:
    """A stationary AR(1) series of length ``n`` with marginal SD ``sd``."""
    z = rng.normal(size=n)
    innovation = math.sqrt(1.0 - rho * rho)
    out = np.empty(n)
    previous = float(z[0])
    out[0] = previous
    for t in range(1, n):
        previous = rho * previous + innovation * float(z[t])
        out[t] = previous
    return sd * out


def latent(rng: np.random.Generator, cal: Calendar, kind: str, rho: float) -> np.ndarray:
    """AR(1) day-level plus one shock per period (the run-in counts as period 0)."""
    day_sd, period_sd = LATENT[kind]
    shocks = rng.normal(0.0, period_sd, size=int(cal.period.max()) + 1)
    return ar1(rng, cal.day.size, rho, day_sd) + shocks[cal.period]


def effect_level(cal: Calendar) -> np.ndarray:
    """Fraction of the full effect present each day (onset/offset over :data:`ONSET_DAYS`)."""
    goal = np.concatenate([[0.0], [1.0 if a == "B" else 0.0 for a in cal.sequence]])
    now = goal[cal.period]
    before = goal[np.maximum(cal.period - 1, 0)]
    ramp = np.minimum(cal.day_in_period / ONSET_DAYS, 1.0)
    return np.where(cal.period > 0, before + (now - before) * ramp, 0.0)


@dataclass(frozen=True)
class Trial:
    """One simulated trial: per-day design, adherence and the logged values (NaN = not logged).

    ``values`` maps an outcome name to a float array over :attr:`Calendar.day`.
    """

    kind: str
    params: Params
    rho: float
    cal: Calendar
    taken: np.ndarray  # False on period days the pack was not taken (True in the run-in)
    values: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def truth(self) -> float:
        return self.params.effect


def simulate(kind: str, effect: float, sequence: str, rng: np.random.Generator) -> Trial:
    """One trial of ``kind`` whose true estimand is ``effect``, on the periods of ``sequence``.

    Outcome names: ``score`` (continuous), ``headache_day`` (binary), ``acute_med_days``
    (count), ``severity`` (ordinal), ``headache_day`` and ``peak_pain`` (pain).
    """
    params = parameters(kind, effect)
    cal = calendar(sequence)
    n = cal.day.size
    rho = float(rng.uniform(*RHO_RANGE))
    in_period = cal.period > 0
    taken = ~in_period | (rng.random(n) < ADHERENCE)
    # the intervention acts on days it is taken (placebo days: nothing to take that acts)
    active = effect_level(cal) * np.where(cal.arm == "B", taken, 1.0)
    missing = rng.random(n) < MISSING_RATE
    values: dict[str, np.ndarray] = {}
    if kind == "continuous":
        x = params.intercept + latent(rng, cal, kind, rho) + params.beta * active
        values["score"] = np.clip(x, *CONTINUOUS_RANGE)
    elif kind == "binary":
        eta = params.intercept + latent(rng, cal, kind, rho) + params.beta * active
        values["headache_day"] = (rng.random(n) < sigmoid(eta)).astype(float)
    elif kind == "count":
        eta = params.intercept + latent(rng, cal, kind, rho) + params.beta * active
        values["acute_med_days"] = np.minimum(rng.poisson(np.exp(eta)), COUNT_MAX).astype(float)
    elif kind == "ordinal":
        star = latent(rng, cal, kind, rho) + params.beta * active + rng.normal(size=n)
        cuts = np.asarray(params.cutpoints)
        values["severity"] = (star[:, None] > cuts[None, :]).sum(axis=1).astype(float)
    elif kind == "pain":
        eta = params.freq_intercept + latent(rng, cal, "binary", rho) + params.freq_beta * active
        headache = rng.random(n) < sigmoid(eta)
        x = (
            params.intercept
            + latent(rng, cal, "pain", rho)
            + rng.normal(0.0, PAIN_NOISE_SD, size=n)
            + params.beta * active
        )
        pain = np.clip(np.floor(x + 0.5), *PAIN_RANGE)
        values["headache_day"] = headache.astype(float)
        values["peak_pain"] = np.where(headache, pain, np.nan)  # asked on headache days only
    else:
        raise ValueError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
    for name in values:
        values[name] = np.where(missing, np.nan, values[name])
    return Trial(kind, params, rho, cal, taken, values)
