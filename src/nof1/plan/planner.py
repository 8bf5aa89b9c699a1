"""The design planner: can this design answer the question, before months are spent on it?

For a protocol and assumptions about the outcome (expected effect, day-to-day SD or event rate,
autocorrelation, missing days, adherence, onset lag), :func:`plan` simulates complete trials
under each candidate design with :mod:`nof1.simulate`, analyses each with the fast
approximate posterior of the analysis model (:mod:`nof1.plan.approx`) and applies the analysis'
own verdict rule (:mod:`nof1.verdict`). Per design it reports

* **assurance** — P(verdict "meaningful benefit likely") when the assumed effect is true;
* **false benefit** — P(verdict "meaningful benefit likely") when there is no effect;
* the expected width of the 95% credible interval, and the verdict distribution.

The smallest design (fewest trial days) whose assurance reaches the target is recommended.
:func:`planning_table` and :func:`write_planning` record assumptions and results in the
protocol's ``[planning]`` table so the report can say how the design was chosen (CENT 7a).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import time as _time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import attrs
import numpy as np
from attrs import frozen

from nof1 import verdict as verdict_rule
from nof1.errors import PlanError
from nof1.plan.approx import posterior
from nof1.protocol import Design, OutcomeSpec, TrialProtocol, design_problems
from nof1.schedule import build_schedule
from nof1.simulate import (
    default_cutpoints,
    default_setting,
    ordinal_expected,
    ordinal_shift,
    simulate_outcome,
)
from nof1.vocab import BINARY, EXPOSURE_DAYS, ORDINAL, PER_EXPOSURE_KINDS

#: How much larger than the MCID the default expected effect is (an effect of exactly the MCID
#: can never reach P(benefit ≥ MCID) ≥ 0.8 on average, so planning for it is pointless).
DEFAULT_EFFECT_IN_MCIDS = 1.5
_START = dt.date(2000, 1, 3)


# --------------------------------------------------------------------------------------------
# values
# --------------------------------------------------------------------------------------------


#: Allowed ranges of the assumptions: (field, low, high, in words).
_RANGES = (
    ("rho", 0.0, 0.95, "between 0 and 0.95"),
    ("missing_rate", 0.0, 0.9, "between 0 and 0.9"),
    ("adherence", 0.05, 1.0, "between 0.05 and 1"),
    ("lag_days", 0.0, 365.0, "between 0 and 365"),
    ("asked_days", 1.0, float(EXPOSURE_DAYS), f"between 1 and {EXPOSURE_DAYS}"),
)


@frozen
class Assumptions:
    """What the planner assumes about the outcome, on the verdict scale.

    Parameters
    ----------
    effect : true effect B − A (units; events or days per 28 days; expected category).
    baseline : comparator level (mean in units; events or days per 28; expected category).
    sd : day-to-day SD (continuous outcomes).
    dispersion : negative-binomial shape of daily counts (count outcomes).
    rho : day-to-day autocorrelation.
    missing_rate : share of days not logged.
    adherence : share of period days the assigned treatment is taken.
    lag_days : days the effect takes to appear and to wear off (carryover).
    trend_per_day : slow drift (link scale; SDs per day for continuous outcomes).
    asked_days : days per 28 on which the outcome is asked and analysed: 28 for an outcome
        asked every day; for ``analyse = "when_asked"`` (intensity when present, e.g. peak
        pain on headache days) the expected number of headache days per 28, the same on both
        arms.
    """

    effect: float
    baseline: float
    sd: float = 1.0
    dispersion: float = 2.0
    rho: float = 0.5
    missing_rate: float = 0.05
    adherence: float = 0.95
    lag_days: float = 0.0
    trend_per_day: float = 0.0
    asked_days: float = float(EXPOSURE_DAYS)

    def __attrs_post_init__(self) -> None:
        for name, low, high, text in _RANGES:
            value = getattr(self, name)
            if not low <= value <= high:  # NaN fails too
                raise PlanError(f"must be {text} (got {value:g})", name)
        for name in ("sd", "dispersion"):
            value = getattr(self, name)
            if not value > 0:
                raise PlanError(f"must be > 0 (got {value:g})", name)
        for name in ("effect", "baseline", "trend_per_day"):
            if not math.isfinite(getattr(self, name)):
                raise PlanError(f"must be a finite number (got {getattr(self, name)})", name)

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in attrs.asdict(self).items()}


@frozen
class DesignOption:
    """One candidate design: blocks, period length and analytic washout (others as protocol)."""

    blocks: int
    period_days: int
    analytic_washout_days: int

    def label(self) -> str:
        washout = (
            f", first {self.analytic_washout_days} d of each period not analysed"
            if self.analytic_washout_days
            else ""
        )
        return f"{self.blocks} blocks × 2 periods × {self.period_days} d{washout}"


@frozen
class DesignResult:
    """Simulated operating characteristics of one design."""

    design: DesignOption
    total_days: int
    simulations: int
    assurance: float
    false_benefit: float
    ci_width: float
    verdicts: dict[str, float]
    null_verdicts: dict[str, float]
    is_protocol: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "blocks": self.design.blocks,
            "period_days": self.design.period_days,
            "analytic_washout_days": self.design.analytic_washout_days,
            "total_days": self.total_days,
            "simulations": self.simulations,
            "assurance": round(self.assurance, 4),
            "false_benefit": round(self.false_benefit, 4),
            "ci_width": round(self.ci_width, 4),
            "verdicts": {k: round(v, 4) for k, v in self.verdicts.items()},
            "null_verdicts": {k: round(v, 4) for k, v in self.null_verdicts.items()},
            "is_protocol": self.is_protocol,
        }


@frozen
class PlanResult:
    """Everything :func:`plan` found, for tables, the plot, JSON and ``[planning]``."""

    outcome: str
    kind: str
    mcid: float
    better: str
    threshold: float
    target: float
    assumptions: Assumptions
    results: tuple[DesignResult, ...]
    seed: int
    seconds: float
    method: str

    @property
    def recommended(self) -> DesignResult | None:
        """The design with the fewest trial days whose assurance reaches the target."""
        reaching = [r for r in self.results if r.assurance >= self.target]
        return min(reaching, key=lambda r: (r.total_days, r.design.blocks)) if reaching else None

    @property
    def protocol_result(self) -> DesignResult | None:
        return next((r for r in self.results if r.is_protocol), None)

    def to_dict(self) -> dict[str, Any]:
        best = self.recommended
        return {
            "outcome": self.outcome,
            "kind": self.kind,
            "mcid": self.mcid,
            "better": self.better,
            "decision_threshold": self.threshold,
            "target": self.target,
            "assumptions": self.assumptions.to_dict(),
            "method": self.method,
            "seed": self.seed,
            "seconds": round(self.seconds, 2),
            "designs": [r.to_dict() for r in self.results],
            "recommended": None if best is None else best.to_dict(),
        }


# --------------------------------------------------------------------------------------------
# defaults
# --------------------------------------------------------------------------------------------


def default_assumptions(protocol: TrialProtocol, outcome: OutcomeSpec, **given: Any) -> Assumptions:
    """Realistic assumptions for ``outcome``, overridden by any keyword in ``given``.

    Default effect: 1.5 MCIDs in the better direction. Baselines as in
    :func:`nof1.simulate.default_setting` (binary 8 days per 28, count 6 per 28, ordinal
    expected category 1, continuous 40% up the range with SD 15% of the range). Lag: half the
    analytic washout. An outcome analysed only when asked (``analyse = "when_asked"``, e.g.
    peak pain on headache days) is planned on the days it is expected to be asked
    (:func:`asked_days`), at 60% up its range as the simulator's intensity on event days.
    """
    sign = -1.0 if outcome.better == "lower" else 1.0
    values: dict[str, Any] = {
        "effect": sign * DEFAULT_EFFECT_IN_MCIDS * outcome.mcid,
        "lag_days": float(protocol.design.analytic_washout_days // 2),
    }
    if outcome.when_asked:
        values["asked_days"] = asked_days(protocol, outcome)
    if outcome.kind == "binary":
        values["baseline"] = 8.0
    elif outcome.kind == "count":
        values["baseline"] = 6.0
    elif outcome.kind == "ordinal":
        # every day: near category 1; asked only when present (severity on headache days):
        # the middle of the categories that can occur then, as the simulator's event days
        low, high = ordinal_range(outcome)
        values["baseline"] = (low + high) / 2 if outcome.absent_category is not None else 1.0
    elif outcome.minimum is not None and outcome.maximum is not None:
        span = outcome.maximum - outcome.minimum
        values["baseline"] = outcome.minimum + (0.6 if outcome.when_asked else 0.4) * span
        values["sd"] = 0.15 * span
    else:
        values["sd"] = 2.0 * outcome.mcid if outcome.mcid > 0 else 1.0
        values["baseline"] = 4.0 * values["sd"]
    given = {k: v for k, v in given.items() if v is not None}
    if "asked_days" in given and not outcome.when_asked:
        raise PlanError(
            f'is only for an outcome analysed only when asked (analyse = "when_asked"), and '
            f"{outcome.name} is analysed on every day: leave it out",
            "asked_days",
        )
    check_levels(outcome, given.get("baseline"), given.get("effect"))
    values.update(given)
    assumptions = Assumptions(**values)
    check_levels(outcome, assumptions.baseline, assumptions.effect)
    return assumptions


def asked_days(protocol: TrialProtocol, outcome: OutcomeSpec) -> float:
    """Expected days per 28 on which ``outcome`` is asked (28 without ``ask_if``).

    The condition outcome at its default level (:func:`nof1.simulate.default_setting`, e.g. 8
    headache days per 28): exact for a binary condition, else the share of 2,800 simulated days
    (fixed seed) on which the condition holds. At least 1 day.
    """
    condition = outcome.ask_if
    if condition is None:
        return float(EXPOSURE_DAYS)
    target = protocol.outcome(condition.outcome)
    setting = default_setting(target)
    if target.kind == BINARY:
        p_yes = setting.baseline / EXPOSURE_DAYS
        share = p_yes * condition.holds(1.0) + (1.0 - p_yes) * condition.holds(0.0)
    else:
        n = 100 * EXPOSURE_DAYS
        values = simulate_outcome(
            target.kind,
            np.zeros(n, dtype=int),
            np.arange(n, dtype=float),
            rng=np.random.default_rng(0),
            baseline=setting.baseline,  # ordinal: already a latent location
            effect=0.0,
            sd=setting.sd,
            dispersion=setting.dispersion,
            n_categories=max(len(target.categories), 2),
            minimum=None if target.kind == ORDINAL else target.minimum,
            maximum=None if target.kind == ORDINAL else target.maximum,
        )
        share = float(np.mean([condition.holds(float(v)) for v in values]))
    return float(min(max(round(share * EXPOSURE_DAYS, 2), 1.0), EXPOSURE_DAYS))


def check_levels(outcome: OutcomeSpec, baseline: float | None, effect: float | None) -> None:
    """Levels the simulator can produce on the outcome's scale; :class:`PlanError` otherwise."""
    if outcome.kind in PER_EXPOSURE_KINDS:
        top = float(EXPOSURE_DAYS) if outcome.kind == BINARY else float("inf")
        if baseline is not None and not 0 <= baseline <= top:
            raise PlanError(
                f"must be between 0 and {top:g} per {EXPOSURE_DAYS} days for {outcome.name} "
                f"(got {baseline:g})",
                "baseline",
            )
        if baseline is not None and effect is not None and not 0 <= baseline + effect <= top:
            raise PlanError(
                f"{effect:+g} takes {outcome.name} from {baseline:g} to {baseline + effect:g} "
                f"per {EXPOSURE_DAYS} days, outside 0–{top:g}",
                "effect",
            )
    if outcome.kind == ORDINAL and baseline is not None:
        low, high = ordinal_range(outcome)
        when = " when asked" if outcome.absent_category is not None else ""
        if not low < baseline < high:
            raise PlanError(
                f"must be an expected category between {low} and {high} (exclusive) for "
                f"{outcome.name}{when} (got {baseline:g})",
                "baseline",
            )
        if effect is not None and not low < baseline + effect < high:
            raise PlanError(
                f"{effect:+g} takes {outcome.name} outside its scale{when} {low}–{high}", "effect"
            )


def ordinal_range(outcome: OutcomeSpec) -> tuple[int, int]:
    """Lowest and highest category an ordinal outcome's analysis sees, in stored numbers: 0 to
    K − 1, or 1 to K − 1 for severity on headache days, where "none" (0) cannot occur."""
    low = outcome.category_offset
    return low, low + len(outcome.analysed_categories) - 1


def design_of(design: Design) -> DesignOption:
    return DesignOption(design.blocks, design.period_days, design.analytic_washout_days)


def alternative_designs(
    design: Design,
    blocks: Sequence[int] | None = None,
    period_days: Sequence[int] | None = None,
    analytic_washout_days: Sequence[int] | None = None,
) -> list[DesignOption]:
    """Candidate designs around the protocol's, sorted by trial length.

    Without choices: 2–8 blocks at the protocol's period, and 7–28-day periods at the
    protocol's number of blocks. With choices: every combination of the given values (the
    protocol's value where none are given). Every candidate obeys the protocol's own rules for a
    design (:func:`nof1.protocol.design_problems`: e.g. even blocks for a counterbalanced
    scheme, some analysed days in each period); default candidates that do not are left out.

    Raises
    ------
    PlanError
        When a number of blocks asked for is impossible under the scheme, or no combination
        asked for leaves analysed days in each period.
    """
    base = design_of(design)
    if blocks is None and period_days is None and analytic_washout_days is None:
        options = {attrs.evolve(base, blocks=b) for b in (2, 3, 4, 5, 6, 8)}
        options |= {attrs.evolve(base, period_days=p) for p in (7, 14, 21, 28)}
    else:
        for b in blocks or ():
            problems = design_problems(
                design.scheme,
                b,
                base.period_days,
                0,
                run_in_days=design.run_in_days,
                washout_days=design.washout_days,
            )
            if problems:
                raise PlanError(f"{b} blocks: " + "; ".join(problems))
        options = {
            DesignOption(b, p, w)
            for b in (blocks or [base.blocks])
            for p in (period_days or [base.period_days])
            for w in (
                analytic_washout_days
                if analytic_washout_days is not None
                else [base.analytic_washout_days]
            )
        }
    usable = {o for o in options if not _problems(design, o)}
    if not usable and options:
        first = sorted(options, key=lambda o: (o.blocks, o.period_days))[0]
        raise PlanError("no design asked for is possible: " + "; ".join(_problems(design, first)))
    usable.add(base)
    return sorted(usable, key=lambda o: (_total_days(design, o), o.blocks))


def _problems(design: Design, option: DesignOption) -> list[str]:
    """What makes ``option`` impossible under the protocol's scheme (the protocol's own rule)."""
    return design_problems(
        design.scheme,
        option.blocks,
        option.period_days,
        option.analytic_washout_days,
        run_in_days=design.run_in_days,
        washout_days=design.washout_days,
    )


def _total_days(design: Design, option: DesignOption) -> int:
    evolved = attrs.evolve(
        design,
        blocks=option.blocks,
        period_days=option.period_days,
        analytic_washout_days=option.analytic_washout_days,
    )
    return evolved.total_days


# --------------------------------------------------------------------------------------------
# simulation
# --------------------------------------------------------------------------------------------


@frozen
class _Job:
    protocol: TrialProtocol
    outcome: OutcomeSpec
    option: DesignOption
    assumptions: Assumptions
    seeds: tuple[int, ...]


def _layout(
    protocol: TrialProtocol, option: DesignOption, seed: int, cache: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, ...]]:
    """Day numbers, arm (1 = B, 0 = A, -1 none), analysed mask and block ends of one draw."""
    design = attrs.evolve(
        protocol.design,
        blocks=option.blocks,
        period_days=option.period_days,
        analytic_washout_days=option.analytic_washout_days,
        start_date=_START,
        seed=seed,
    )
    from nof1.schedule import draw_sequence

    sequence = draw_sequence(design, seed) if design.randomized else "fixed"
    if sequence not in cache:
        schedule = build_schedule(attrs.evolve(protocol, design=design))
        days = schedule.days()
        time = np.array([d.number for d in days], dtype=float)
        arm = np.array([{"A": 0, "B": 1}.get(d.arm or "", -1) for d in days])
        analysed = np.array([d.analysed for d in days])
        cache[sequence] = (time, arm, analysed, tuple(float(k) for k in schedule.block_ends()))
    result: tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, ...]] = cache[sequence]
    return result


def _period_of_days(
    protocol: TrialProtocol, option: DesignOption, cache: dict[str, Any]
) -> np.ndarray:
    """Period number of each day of the design (-1 outside periods): the same for any sequence."""
    if "period" not in cache:
        design = attrs.evolve(
            protocol.design,
            blocks=option.blocks,
            period_days=option.period_days,
            analytic_washout_days=option.analytic_washout_days,
            start_date=_START,
            seed=0,  # any sequence: the periods' days do not depend on it
        )
        days = build_schedule(attrs.evolve(protocol, design=design)).days()
        cache["period"] = np.array([-1 if d.period is None else d.period for d in days])
    period: np.ndarray = cache["period"]
    return period


def _simulation_inputs(outcome: OutcomeSpec, a: Assumptions) -> dict[str, Any]:
    """simulate_outcome keywords for the assumptions (ordinal: to the latent scale)."""
    kw: dict[str, Any] = {"baseline": a.baseline, "effect": a.effect}
    if outcome.kind == "continuous":
        kw["sd"] = a.sd
        kw["minimum"], kw["maximum"] = outcome.minimum, outcome.maximum
        if outcome.minimum is not None and outcome.maximum is not None:
            span = outcome.maximum - outcome.minimum
            if float(outcome.minimum).is_integer() and 0 < span <= 10 and span == int(span):
                kw["step"] = 1.0
    elif outcome.kind == "count":
        kw["dispersion"] = a.dispersion
        kw["maximum"] = outcome.maximum
    elif outcome.kind == "ordinal":
        # simulated on the analysed categories, numbered from 0 (severity on headache days:
        # mild, moderate, severe); a.baseline is in stored numbers
        k = len(outcome.analysed_categories)
        cut = default_cutpoints(k)
        level = a.baseline - outcome.category_offset
        location = ordinal_shift(level - ordinal_expected(0.0, cut), 0.0, cut)
        kw["baseline"] = location
        kw["effect"] = ordinal_shift(a.effect, location, cut) if a.effect else 0.0
        kw["cutpoints"] = cut
    return kw


def _run(job: _Job) -> np.ndarray:
    """Simulate and analyse ``len(job.seeds)`` trials under the effect and under no effect.

    Returns rows of (verdict index under effect, verdict index under null, CI width).
    """
    from nof1.prior import default_prior

    protocol, outcome, a = job.protocol, job.outcome, job.assumptions
    kinds = {v: i for i, v in enumerate(verdict_rule.VERDICTS)}
    kw = _simulation_inputs(outcome, a)
    null_kw = {**kw, "effect": 0.0}
    analysis = protocol.analysis
    cache: dict[str, Any] = {}
    rows = np.zeros((len(job.seeds), 3))
    for row, seed in enumerate(job.seeds):
        time, arm, analysed, knots = _layout(protocol, job.option, seed, cache)
        rng_adh = np.random.default_rng([seed, 1])
        adherent = (arm < 0) | (rng_adh.random(arm.size) < a.adherence)
        asked = _asked(a, arm, time, seed)
        for column, keywords in enumerate((kw, null_kw)):
            rng = np.random.default_rng([seed, 2])  # common random numbers: same noise
            y = simulate_outcome(
                outcome.kind,
                arm,
                time,
                rng=rng,
                rho=a.rho,
                trend_per_day=a.trend_per_day * (a.sd if outcome.kind == "continuous" else 1.0),
                missing_rate=a.missing_rate,
                lag_days=a.lag_days,
                adherent=adherent,
                **keywords,
            )
            keep = analysed & np.isfinite(y) & asked
            if len(np.unique(arm[keep])) < 2 or keep.sum() < 8:
                rows[row, column] = kinds[verdict_rule.INCONCLUSIVE]
                continue
            post = posterior(
                outcome.kind,
                y[keep],
                arm[keep],
                time[keep],
                # the prior reads stored categories; the model sees the analysed ones
                default_prior(outcome, y[keep] + _offset(outcome)),
                autocorrelation=analysis.autocorrelation,
                trend=analysis.trend,
                knots=knots,
                n_categories=len(outcome.analysed_categories) or None,
                # the analysis model's period intercepts (continuous outcomes)
                period=_period_of_days(protocol, job.option, cache)[keep],
                seed=seed,
                n_draws=2000,
            )
            probs = verdict_rule.probabilities(post.draws, outcome.mcid, outcome.better)
            rows[row, column] = kinds[verdict_rule.verdict(probs, analysis.decision_threshold)]
            if column == 0:
                low, high = post.ci95
                rows[row, 2] = high - low
    return rows


def _offset(outcome: OutcomeSpec) -> int:
    return outcome.category_offset if outcome.kind == ORDINAL else 0


def _asked(a: Assumptions, arm: np.ndarray, time: np.ndarray, seed: int) -> np.ndarray:
    """Days the outcome is asked: all, or autocorrelated event days (``a.asked_days`` per 28,
    no effect on them: the frequency effect is the condition outcome's own question)."""
    if a.asked_days >= EXPOSURE_DAYS:
        return np.ones(arm.size, dtype=bool)
    event = simulate_outcome(
        BINARY,
        arm,
        time,
        rng=np.random.default_rng([seed, 3]),
        baseline=a.asked_days,
        effect=0.0,
        rho=a.rho,
    )
    return np.asarray(event == 1.0)


def simulate_design(
    protocol: TrialProtocol,
    outcome: OutcomeSpec,
    option: DesignOption,
    assumptions: Assumptions,
    *,
    simulations: int = 500,
    seed: int = 0,
    jobs: int | None = None,
    pool: ProcessPoolExecutor | None = None,
) -> DesignResult:
    """Operating characteristics of one design by simulation (see the module docstring)."""
    seeds = [int(s) for s in np.random.default_rng(seed).integers(0, 2**31 - 1, simulations)]
    workers = jobs or os.cpu_count() or 1
    chunks = max(1, min(simulations, workers * 4))
    parts = [tuple(seeds[i::chunks]) for i in range(chunks)]
    batch = [_Job(protocol, outcome, option, assumptions, p) for p in parts if p]
    if pool is not None:
        rows = np.vstack(list(pool.map(_run, batch)))
    elif workers > 1 and simulations > 1:
        with _pool(workers) as own:
            rows = np.vstack(list(own.map(_run, batch)))
    else:
        rows = np.vstack([_run(job) for job in batch])
    names = verdict_rule.VERDICTS
    share = {name: float(np.mean(rows[:, 0] == i)) for i, name in enumerate(names)}
    null = {name: float(np.mean(rows[:, 1] == i)) for i, name in enumerate(names)}
    return DesignResult(
        design=option,
        total_days=_total_days(protocol.design, option),
        simulations=simulations,
        assurance=share[verdict_rule.BENEFIT],
        false_benefit=null[verdict_rule.BENEFIT],
        ci_width=float(np.mean(rows[:, 2])),
        verdicts=share,
        null_verdicts=null,
        is_protocol=option == design_of(protocol.design),
    )


def _pool(workers: int) -> ProcessPoolExecutor:
    import multiprocessing

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))


def check_run(*, simulations: int, target: float, jobs: int | None) -> None:
    """The run settings of :func:`plan`; :class:`PlanError` naming the setting otherwise."""
    if not 0.05 <= target <= 0.99:  # NaN fails too
        raise PlanError(f"must be between 0.05 and 0.99 (got {target:g})", "target")
    if simulations < 1:
        raise PlanError(f"must be ≥ 1 (got {simulations})", "simulations")
    if jobs is not None and jobs < 1:
        raise PlanError(f"must be ≥ 1 (got {jobs})", "jobs")


def plan(
    protocol: TrialProtocol,
    *,
    outcome: str | None = None,
    assumptions: Assumptions | None = None,
    designs: Iterable[DesignOption] | None = None,
    simulations: int = 500,
    target: float = 0.8,
    seed: int = 0,
    jobs: int | None = None,
) -> PlanResult:
    """Simulate the protocol's design and alternatives; see the module docstring.

    Parameters
    ----------
    protocol : the trial (start date and seed not needed: each simulation draws its own
        randomization, so assurance averages over the allocations the scheme can produce).
    outcome : outcome name (default: the primary outcome).
    assumptions : default :func:`default_assumptions`.
    designs : default :func:`alternative_designs` of the protocol's design.
    simulations : simulated trials per design (each analysed twice: with and without effect).
    target : assurance a design must reach to be recommended.
    seed : makes the whole plan reproducible.
    jobs : worker processes (default: all cores).
    """
    check_run(simulations=simulations, target=target, jobs=jobs)
    spec = protocol.outcome(outcome) if outcome else protocol.primary_outcome
    a = assumptions or default_assumptions(protocol, spec)
    options = list(designs) if designs is not None else alternative_designs(protocol.design)
    if design_of(protocol.design) not in options:
        options.append(design_of(protocol.design))
    start = _time.perf_counter()
    workers = jobs or os.cpu_count() or 1
    results = []
    if workers > 1:
        with _pool(workers) as pool:
            for option in options:
                results.append(
                    simulate_design(
                        protocol,
                        spec,
                        option,
                        a,
                        simulations=simulations,
                        seed=seed,
                        jobs=workers,
                        pool=pool,
                    )
                )
    else:
        for option in options:
            results.append(
                simulate_design(
                    protocol, spec, option, a, simulations=simulations, seed=seed, jobs=1
                )
            )
    results.sort(key=lambda r: (r.total_days, r.design.blocks))
    method = (
        "exact posterior on a (rho, sigma) grid"
        if spec.kind == "continuous"
        else "Laplace approximation with AR(1) sandwich"
    )
    return PlanResult(
        outcome=spec.name,
        kind=spec.kind,
        mcid=spec.mcid,
        better=spec.better,
        threshold=protocol.analysis.decision_threshold,
        target=target,
        assumptions=a,
        results=tuple(results),
        seed=seed,
        seconds=_time.perf_counter() - start,
        method=method,
    )


# --------------------------------------------------------------------------------------------
# recording in protocol.toml
# --------------------------------------------------------------------------------------------


def planning_table(result: PlanResult, *, today: dt.date | None = None) -> dict[str, Any]:
    """The ``[planning]`` table: assumptions, method and the results the report cites."""
    from nof1 import __version__

    mine = result.protocol_result
    best = result.recommended
    table: dict[str, Any] = {
        "planned_on": (today or dt.date.today()).isoformat(),
        "software_version": __version__,
        "outcome": result.outcome,
        "method": f"simulation, {result.method}",
        "simulations_per_design": mine.simulations if mine else result.results[0].simulations,
        "seed": result.seed,
        "target_assurance": result.target,
        "decision_threshold": result.threshold,
        "assumed": result.assumptions.to_dict(),
    }
    if mine is not None:
        table["assurance"] = round(mine.assurance, 3)
        table["false_benefit"] = round(mine.false_benefit, 3)
        table["expected_ci_width"] = round(mine.ci_width, 3)
    table["recommended"] = best.design.label() if best else "none reaches the target"
    table["designs"] = [
        {
            "blocks": r.design.blocks,
            "period_days": r.design.period_days,
            "analytic_washout_days": r.design.analytic_washout_days,
            "total_days": r.total_days,
            "assurance": round(r.assurance, 3),
            "false_benefit": round(r.false_benefit, 3),
            "expected_ci_width": round(r.ci_width, 3),
        }
        for r in result.results
    ]
    return table


_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")


def write_planning(text: str, table: Mapping[str, Any]) -> str:
    """Replace (or append) the ``[planning]`` section of protocol TOML text.

    Everything outside ``[planning]`` and its sub-tables, comments included, is kept as is.
    """
    import tomli_w

    note = "# Written by `nof1 plan --write`: how the design was chosen (cited in the report).\n"
    lines = [line for line in text.splitlines(keepends=True) if line.strip() != note.strip()]
    kept: list[str] = []
    inside = False
    for line in lines:
        match = _HEADER.match(line)
        if match:
            name = match.group(1).strip()
            inside = name == "planning" or name.startswith("planning.")
        if not inside:
            kept.append(line)
    body = "".join(kept).rstrip("\n")
    section = tomli_w.dumps({"planning": dict(table)})
    return f"{body}\n\n{note}{section}"
