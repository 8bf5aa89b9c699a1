"""Realistic daily data for every outcome kind: the project's one simulator.

The tests, the examples, the demo and the design planner all draw their data from here, so they
never drift apart.

How a day's value is made
-------------------------
Every outcome is driven by a latent standard-normal AR(1) series ``z`` whose correlation over a
gap of ``g`` days is exactly ``rho**g`` (missing or unsimulated days are handled exactly). The
latent series is turned into the outcome's values through its *quantile function* (a Gaussian
copula), so each kind keeps the marginal distribution it declares while the days stay
autocorrelated:

* **continuous** — ``baseline + trend + effect * exposure + sd * z``, then rounded to ``step``
  (if given) and clipped to ``[minimum, maximum]``. ``effect`` is the difference in means in
  outcome units (before clipping).
* **count** — negative binomial with mean ``(baseline + effect * exposure) / 28`` per day (both
  in events per 28 days, the verdict scale) and shape ``dispersion`` (variance
  ``mu + mu**2 / dispersion``), multiplied by ``exp(trend)``; clipped at ``maximum``.
* **binary** — yes with probability ``(baseline + effect * exposure) / 28`` (days per 28 days,
  the verdict scale), the trend added on the log-odds scale.
* **ordinal** — an ordered-logistic latent variable ``baseline + trend + effect * exposure + e``
  with logistic ``e``, cut at ``cutpoints``. Here ``effect`` is a **shift on the latent
  (log-odds) scale**, the parameter the ordinal model estimates. Convert an expected-category
  difference (the verdict scale) to a latent shift with :func:`ordinal_shift`;
  :func:`simulate_trial` does this for you.

``trend_per_day`` is on the outcome's link scale: units per day (continuous), log-rate per day
(count), log-odds per day (binary, ordinal), counted from the first day.

The intervention effect ramps in and out (carryover): ``exposure`` moves linearly towards 1 on
intervention days and towards 0 on other days, taking ``lag_days`` to get there (``lag_days=0``
switches at once). A day that is not adherent gets no effect that day.

This module needs numpy and :mod:`scipy.special` only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
from attrs import frozen
from scipy.special import expit, logit, ndtr

from nof1.protocol import OutcomeSpec, TrialProtocol
from nof1.record import Adherence, AdverseEvent, Observation
from nof1.schedule import Schedule
from nof1.vocab import EXPOSURE_DAYS, KINDS

_EPS = 1e-6


# --------------------------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------------------------


def ar1_latent(time: np.ndarray, rho: float, rng: np.random.Generator) -> np.ndarray:
    """A stationary standard-normal AR(1) series at the given day indices.

    The correlation between days ``t`` and ``s`` is ``rho**|t - s|`` exactly, whatever the gaps.

    Parameters
    ----------
    time : array of increasing day indices (gaps allowed).
    rho : lag-1 autocorrelation, ``-1 < rho < 1``.
    rng : random generator.
    """
    t = np.asarray(time, dtype=float)
    if not -1.0 < rho < 1.0:
        raise ValueError(f"rho must be between -1 and 1 (got {rho})")
    n = t.size
    z = np.empty(n)
    if n == 0:
        return z
    if np.any(np.diff(t) <= 0):
        raise ValueError("time must be strictly increasing")
    e = rng.standard_normal(n)
    z[0] = e[0]
    gaps = np.diff(t)
    a = rho**gaps
    b = np.sqrt(np.maximum(1.0 - a * a, 0.0))
    prev = z[0]
    for i in range(1, n):
        prev = a[i - 1] * prev + b[i - 1] * e[i]
        z[i] = prev
    return z


def exposure(
    arm: np.ndarray, time: np.ndarray, lag_days: float = 0, adherent: np.ndarray | None = None
) -> np.ndarray:
    """How much of the intervention effect acts on each day (0 to 1).

    Exposure moves linearly towards 1 on intervention days (``arm == 1``) and towards 0 on other
    days (``0`` comparator, ``-1`` no arm), reaching the target after ``lag_days`` days. The
    result is multiplied by ``adherent`` (a non-adherent day gets no effect that day).
    """
    arm = np.asarray(arm)
    target = (arm == 1).astype(float)
    if lag_days <= 0:
        level = target
    else:
        t = np.asarray(time, dtype=float).tolist()
        goals = target.tolist()
        out = []
        current = 0.0
        previous_time = t[0] - 1.0 if t else 0.0
        for now, goal in zip(t, goals, strict=True):
            step = (now - previous_time) / lag_days
            current += min(max(goal - current, -step), step)
            out.append(current)
            previous_time = now
        level = np.array(out, dtype=float)
    if adherent is not None:
        level = level * np.asarray(adherent, dtype=float)
    return np.asarray(level, dtype=float)


def default_cutpoints(n_categories: int) -> np.ndarray:
    """Evenly spaced ordinal cutpoints (1.5 log-odds apart, centred on 0)."""
    if n_categories < 2:
        raise ValueError(f"n_categories must be ≥ 2 (got {n_categories})")
    k = n_categories - 1
    return (np.arange(k) - (k - 1) / 2.0) * 1.5


def ordinal_probabilities(location: float, cutpoints: Sequence[float] | np.ndarray) -> np.ndarray:
    """Category probabilities of the ordered-logistic distribution at ``location``."""
    c = np.asarray(cutpoints, dtype=float)
    above = expit(location - c)  # P(Y > k) for each cutpoint k
    upper = np.concatenate([[1.0], above])
    lower = np.concatenate([above, [0.0]])
    return np.asarray(upper - lower)


def ordinal_expected(location: float, cutpoints: Sequence[float] | np.ndarray) -> float:
    """Expected category (0-based) of the ordered-logistic distribution at ``location``."""
    return float(np.sum(expit(location - np.asarray(cutpoints, dtype=float))))


def ordinal_shift(
    expected_difference: float, location: float, cutpoints: Sequence[float] | np.ndarray
) -> float:
    """The latent shift that changes the expected category by ``expected_difference``.

    Solves ``ordinal_expected(location + shift) - ordinal_expected(location) =
    expected_difference`` by bisection; raises ``ValueError`` when the difference is impossible
    on the scale.
    """
    c = np.asarray(cutpoints, dtype=float)
    start = ordinal_expected(location, c)
    goal = start + expected_difference
    if not 0.0 < goal < c.size:
        raise ValueError(
            f"an expected-category difference of {expected_difference:g} from "
            f"{start:.2f} leaves the scale 0–{c.size}"
        )
    low, high = -60.0, 60.0
    for _ in range(100):
        mid = 0.5 * (low + high)
        if ordinal_expected(location + mid, c) < goal:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


def _negative_binomial_quantile(
    u: np.ndarray, mu: np.ndarray, dispersion: float, cap: int
) -> np.ndarray:
    """Inverse CDF of the negative binomial (mean ``mu``, shape ``dispersion``), capped."""
    k = float(dispersion)
    q = mu / (k + mu)
    pmf = np.power(1.0 - q, k)
    cdf = pmf.copy()
    result = np.zeros(u.shape)
    undecided = u > cdf
    j = 0
    while undecided.any() and j < cap:
        result[undecided] += 1.0
        pmf = pmf * (j + k) / (j + 1.0) * q
        cdf = cdf + pmf
        j += 1
        undecided = undecided & (u > cdf)
    return result


# --------------------------------------------------------------------------------------------
# one outcome
# --------------------------------------------------------------------------------------------


def simulate_outcome(
    kind: str,
    arm: Sequence[int] | np.ndarray,
    time: Sequence[float] | np.ndarray,
    *,
    rng: np.random.Generator,
    baseline: float,
    effect: float,
    sd: float = 1.0,
    rho: float = 0.5,
    trend_per_day: float = 0.0,
    dispersion: float = 2.0,
    n_categories: int = 4,
    missing_rate: float = 0.0,
    lag_days: float = 0,
    adherent: Sequence[bool] | np.ndarray | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    cutpoints: Sequence[float] | np.ndarray | None = None,
    step: float | None = None,
    latent: np.ndarray | None = None,
) -> np.ndarray:
    """Simulate one outcome's daily values.

    Parameters
    ----------
    kind : ``"continuous"``, ``"count"``, ``"binary"`` or ``"ordinal"``.
    arm : per day ``0`` (comparator A), ``1`` (intervention B) or ``-1`` (no arm: run-in,
        physical washout); the effect acts only through :func:`exposure`.
    time : increasing day indices (gaps allowed; the AR(1) correlation is ``rho**gap``).
    rng : random generator (reproducible with a seed).
    baseline : the comparator level on the verdict scale: mean in units (continuous), events
        per 28 days (count), days per 28 days (binary); latent location (ordinal).
    effect : intervention minus comparator: in units (continuous), events per 28 days (count),
        days per 28 days (binary); a latent log-odds shift (ordinal, see :func:`ordinal_shift`).
    sd : day-to-day standard deviation (continuous only).
    rho : lag-1 autocorrelation of the latent AR(1) series (exact for continuous values;
        discrete values show a somewhat smaller correlation).
    trend_per_day : slow drift on the link scale (see the module docstring).
    dispersion : negative-binomial shape (count only; smaller = more overdispersed).
    n_categories : number of ordinal categories (ordinal only; ignored when ``cutpoints``).
    missing_rate : probability that a day is missing (NaN), independently per day.
    lag_days : days for the effect to ramp in after a switch to B and out after a switch away.
    adherent : per day, whether the assigned treatment was taken (default: all).
    minimum, maximum : the declared scale; values are clipped to it.
    cutpoints : ordinal cutpoints (default :func:`default_cutpoints`).
    step : round continuous values to multiples of ``step`` (e.g. 1 for a 0–10 rating).
    latent : a standard-normal AR(1) series to use instead of drawing one (correlated outcomes).

    Returns
    -------
    numpy.ndarray
        One float per day, NaN where missing.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
    if not 0.0 <= missing_rate < 1.0:
        raise ValueError(f"missing_rate must be in [0, 1) (got {missing_rate})")
    arm = np.asarray(arm, dtype=int)
    t = np.asarray(time, dtype=float)
    if arm.shape != t.shape:
        raise ValueError(f"arm and time must have the same length ({arm.size} vs {t.size})")
    adh = None if adherent is None else np.asarray(adherent, dtype=bool)
    z = ar1_latent(t, rho, rng) if latent is None else np.asarray(latent, dtype=float)
    expo = exposure(arm, t, lag_days, adh)
    drift = trend_per_day * (t - t[0]) if t.size else t

    if kind == "continuous":
        if sd < 0:
            raise ValueError(f"sd must be ≥ 0 (got {sd})")
        y = baseline + drift + effect * expo + sd * z
        if step:
            y = np.round(y / step) * step
    elif kind == "count":
        if baseline < 0 or baseline + effect < 0:
            raise ValueError(
                f"count rates must be ≥ 0 per {EXPOSURE_DAYS} days (got baseline {baseline:g}, "
                f"with effect {baseline + effect:g})"
            )
        if dispersion <= 0:
            raise ValueError(f"dispersion must be > 0 (got {dispersion})")
        mu = (baseline + effect * expo) / EXPOSURE_DAYS * np.exp(drift)
        cap = int(maximum) if maximum is not None else 10_000
        y = _negative_binomial_quantile(ndtr(z), np.maximum(mu, 0.0), dispersion, cap)
    elif kind == "binary":
        if not 0.0 <= baseline <= EXPOSURE_DAYS or not 0.0 <= baseline + effect <= EXPOSURE_DAYS:
            raise ValueError(
                f"binary rates must be within 0–{EXPOSURE_DAYS} days per {EXPOSURE_DAYS} days "
                f"(got baseline {baseline:g}, "
                f"with effect {baseline + effect:g})"
            )
        p = np.clip((baseline + effect * expo) / EXPOSURE_DAYS, _EPS, 1.0 - _EPS)
        if trend_per_day:
            p = expit(logit(p) + drift)
        # a high latent value means "yes", as a high value means more for the other kinds
        y = (ndtr(-z) < p).astype(float)
    else:
        c = default_cutpoints(n_categories) if cutpoints is None else np.asarray(cutpoints)
        u = np.clip(ndtr(z), 1e-12, 1.0 - 1e-12)
        ystar = baseline + drift + effect * expo + logit(u)
        y = np.sum(ystar[:, None] > c[None, :], axis=1).astype(float)

    if minimum is not None or maximum is not None:
        y = np.clip(y, minimum, maximum)
    if missing_rate > 0:
        y = np.where(rng.random(y.size) < missing_rate, np.nan, y)
    return np.asarray(y, dtype=float)


# --------------------------------------------------------------------------------------------
# a whole trial
# --------------------------------------------------------------------------------------------

#: Shared share of the latent variance across a trial's outcomes (bad days are bad for all).
_SHARED = 0.4
_EVENT_DESCRIPTIONS = (
    "loose stools",
    "mild nausea",
    "stomach upset",
    "tiredness",
    "vivid dreams",
    "dizziness on standing",
)


@frozen
class OutcomeSetting:
    """How :func:`simulate_trial` simulated one outcome (so tests can state the truth).

    ``effect`` is on the verdict scale; ``gated_by`` names the binary event outcome when the
    outcome is 0 on event-free days (then ``baseline`` and ``effect`` hold on event days only).
    ``latent_effect`` is the ordinal latent shift (ordinal only).
    """

    name: str
    kind: str
    baseline: float
    effect: float
    sd: float = 1.0
    dispersion: float = 2.0
    gated_by: str | None = None
    latent_effect: float | None = None


@frozen
class SimulatedTrial:
    """A simulated trial: what a person would have logged, plus the truth behind it."""

    schedule: Schedule
    observations: list[Observation]
    adherence: list[Adherence]
    events: list[AdverseEvent]
    settings: dict[str, OutcomeSetting]
    lag_days: float
    through: dt.date


def _skipped(protocol: TrialProtocol, values: Mapping[str, np.ndarray], i: int) -> set[str]:
    """Questions the protocol's ``ask_if`` skips on day ``i``: the person is not asked them, so
    the simulated diary has no value (the analysis reads their ``skipped_value``)."""
    if not any(o.ask_if is not None for o in protocol.outcomes):
        return set()
    return protocol.skipped({name: float(v[i]) for name, v in values.items()})


def _gate(protocol: TrialProtocol) -> OutcomeSpec | None:
    """The binary "bad event" outcome (e.g. headache day) that intensity outcomes depend on."""
    binaries = [o for o in protocol.outcomes if o.kind == "binary" and o.better == "lower"]
    if not binaries:
        return None
    primary = [o for o in binaries if o.primary]
    return (primary or binaries)[0]


def _is_intensity(outcome: OutcomeSpec) -> bool:
    """An outcome that is naturally 0 on event-free days (pain, severity, rescue doses)."""
    if outcome.better != "lower":
        return False
    if outcome.kind == "ordinal":
        return True
    if outcome.kind == "count":
        return outcome.minimum in (None, 0)
    return outcome.kind == "continuous" and outcome.minimum == 0 and outcome.maximum is not None


def default_setting(
    outcome: OutcomeSpec, effect: float = 0.0, gated_by: str | None = None
) -> OutcomeSetting:
    """Realistic baselines per outcome kind (episodic-migraine-like where the scale suggests).

    Binary: 8 days per 28 (episodic migraine). Count: 6 per 28, overdispersed; on event days
    only, 1 per event day. Continuous: 40% up the declared range with an SD of 15% of the range
    (60% up on event days); without a range, SD twice the MCID. Ordinal: expected category near
    1; on event days, the middle of the remaining categories.
    """
    name, kind = outcome.name, outcome.kind
    if kind == "binary":
        return OutcomeSetting(name, kind, baseline=8.0, effect=effect)
    if kind == "count":
        if gated_by:
            return OutcomeSetting(
                name, kind, baseline=28.0, effect=effect, dispersion=5.0, gated_by=gated_by
            )
        return OutcomeSetting(name, kind, baseline=6.0, effect=effect, dispersion=2.0)
    if kind == "continuous":
        if outcome.minimum is not None and outcome.maximum is not None:
            span = outcome.maximum - outcome.minimum
            share = 0.6 if gated_by else 0.4
            return OutcomeSetting(
                name,
                kind,
                baseline=outcome.minimum + share * span,
                effect=effect,
                sd=0.15 * span,
                gated_by=gated_by,
            )
        sd = 2.0 * outcome.mcid if outcome.mcid > 0 else 1.0
        low = outcome.minimum if outcome.minimum is not None else 0.0
        return OutcomeSetting(name, kind, baseline=low + 4.0 * sd, effect=effect, sd=sd)
    k = len(outcome.categories) - (1 if gated_by else 0)
    cut = default_cutpoints(max(k, 2))
    location = 0.0 if gated_by else float(cut[0] + 0.3)
    if k < 2:  # a gated 2-category scale: always the top category on event days
        return OutcomeSetting(name, kind, baseline=0.0, effect=0.0, gated_by=gated_by)
    shift = ordinal_shift(effect, location, cut) if effect else 0.0
    return OutcomeSetting(
        name, kind, baseline=location, effect=effect, gated_by=gated_by, latent_effect=shift
    )


def simulate_trial(
    protocol: TrialProtocol,
    schedule: Schedule,
    *,
    seed: int,
    effects: Mapping[str, float] | None = None,
    rho: float = 0.5,
    missing_rate: float = 0.05,
    adherence: float = 0.95,
    lag_days: float | None = None,
    trend_per_day: float = 0.0,
    through: dt.date | None = None,
    linked: bool = True,
    settings: Mapping[str, OutcomeSetting] | None = None,
) -> SimulatedTrial:
    """Simulate everything a person would log during a trial.

    Parameters
    ----------
    protocol, schedule : the trial and its schedule (``build_schedule(protocol)``).
    seed : makes the whole trial reproducible.
    effects : true effect per outcome name on the verdict scale (B minus A: units, events per
        28 days, days per 28 days, expected category); default 0. For an outcome that is 0 on
        event-free days (see ``linked``), the effect holds on event days only.
    rho : lag-1 autocorrelation of every outcome's latent AR(1) series.
    missing_rate : probability that a whole day goes unlogged.
    adherence : probability that the assigned treatment is taken on a period day ("yes");
        other days are "partial" or "no" and get no effect.
    lag_days : days for the effect to ramp in and out (default: half the protocol's analytic
        washout, so the analysed days see the full effect).
    trend_per_day : slow drift per day, on each outcome's link scale (in SDs for continuous
        outcomes).
    through : last date to simulate (an interim trial); default the schedule's end.
    linked : make intensity outcomes (``better = "lower"`` ordinal, count, and 0-based bounded
        continuous outcomes) 0 on days without the protocol's binary "bad event" outcome, as
        pain and severity are 0 on headache-free days. Such a two-part outcome's intensity is
        generated on event days only, from a latent series independent of the event's, and its
        ``effects`` entry acts on the intensity only: the frequency effect is the event
        outcome's own entry, so no effect is counted twice. Questions the protocol's ``ask_if``
        skips on a day are left out of that day's observations, as the diary leaves them out
        (so peak pain and severity, asked only on headache days, are absent on headache-free
        days; severity on a headache day is mild to severe, never "none").
    settings : override :func:`default_setting` per outcome name.

    Returns
    -------
    SimulatedTrial
    """
    rng = np.random.default_rng(seed)
    effects = dict(effects or {})
    unknown = sorted(set(effects) - {o.name for o in protocol.outcomes})
    if unknown:
        raise ValueError(f"effects name unknown outcomes: {', '.join(unknown)}")
    lag = float(protocol.design.analytic_washout_days // 2) if lag_days is None else lag_days
    days = [d for d in schedule.days() if through is None or d.date <= through]
    last = days[-1].date if days else schedule.start
    if not days:
        return SimulatedTrial(schedule, [], [], [], {}, lag, last)
    time = np.array([d.number for d in days], dtype=float)
    arm = np.array([{"A": 0, "B": 1}.get(d.arm or "", -1) for d in days])
    on_arm = arm >= 0
    took = np.where(
        rng.random(time.size) < adherence,
        "yes",
        np.where(rng.random(time.size) < 1 / 3, "partial", "no"),
    )
    adherent = ~on_arm | (took == "yes")
    logged = rng.random(time.size) >= missing_rate

    gate = _gate(protocol) if linked else None
    shared = ar1_latent(time, rho, rng)
    # Intensity outcomes (on event days only) share their own bad-day series, independent of the
    # event's: if they shared the event's latent, a treatment that makes events rarer would leave
    # only the most extreme days as event days and raise their intensity, so the frequency effect
    # would leak into "intensity when present" and be counted twice.
    shared_intensity = ar1_latent(time, rho, rng) if gate is not None else shared
    resolved: dict[str, OutcomeSetting] = {}
    values: dict[str, np.ndarray] = {}
    order = sorted(protocol.outcomes, key=lambda o: gate is None or o.name != gate.name)
    for outcome in order:
        gated_by = (
            gate.name
            if gate is not None and outcome is not gate and _is_intensity(outcome)
            else None
        )
        effect = float(effects.get(outcome.name, 0.0))
        setting = (settings or {}).get(outcome.name) or default_setting(outcome, effect, gated_by)
        resolved[outcome.name] = setting
        own = ar1_latent(time, rho, rng)
        common = shared_intensity if setting.gated_by else shared
        latent = np.sqrt(_SHARED) * common + np.sqrt(1.0 - _SHARED) * own
        n_categories = len(outcome.categories) - (1 if setting.gated_by else 0)
        step = None
        if outcome.kind == "continuous" and outcome.minimum is not None:
            span = (outcome.maximum or 0.0) - outcome.minimum
            integral = float(outcome.minimum).is_integer() and float(span).is_integer()
            step = 1.0 if integral and 0 < span <= 10 else None
        y = (
            simulate_outcome(
                outcome.kind,
                arm,
                time,
                rng=rng,
                baseline=setting.baseline,
                effect=(setting.latent_effect or 0.0)
                if outcome.kind == "ordinal"
                else setting.effect,
                sd=setting.sd,
                rho=rho,
                trend_per_day=trend_per_day * (setting.sd if outcome.kind == "continuous" else 1.0),
                dispersion=setting.dispersion,
                n_categories=max(n_categories, 2),
                lag_days=lag,
                adherent=adherent,
                minimum=None if outcome.kind == "ordinal" else outcome.minimum,
                maximum=None if outcome.kind == "ordinal" else outcome.maximum,
                step=step,
                latent=latent,
            )
            if outcome.kind != "ordinal" or n_categories >= 2
            else np.zeros(time.size)
        )
        if setting.gated_by:
            if outcome.kind == "ordinal":
                y = y + 1.0
            if outcome.kind == "continuous" and outcome.minimum == 0:
                y = np.maximum(y, 1.0 if step else 0.1)  # an event day has some pain
            y = np.where(values[setting.gated_by] == 1.0, y, 0.0)
        values[outcome.name] = y

    observations = [
        Observation(date=d.date, outcome=o.name, value=float(values[o.name][i]))
        for i, d in enumerate(days)
        if logged[i]
        for o in protocol.outcomes
        if o.name not in _skipped(protocol, values, i)
    ]
    adherence_records = [
        Adherence(date=d.date, took=str(took[i]))
        for i, d in enumerate(days)
        if logged[i] and on_arm[i]
    ]
    event_rate = np.where(arm == 1, 0.02, np.where(arm == 0, 0.012, 0.008))
    events = [
        AdverseEvent(
            date=d.date,
            description=str(rng.choice(_EVENT_DESCRIPTIONS)),
            severity="moderate" if rng.random() < 0.15 else "mild",
        )
        for i, d in enumerate(days)
        if rng.random() < event_rate[i]
    ]
    return SimulatedTrial(schedule, observations, adherence_records, events, resolved, lag, last)
