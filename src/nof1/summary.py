"""Posterior draws → numbers a doctor can read: effect, probabilities, verdict, diagnostics.

Everything here is a pure function of arrays (or an ArviZ 1 ``xarray.DataTree``) returning a small
frozen result object. Nothing samples, nothing prints. The result types are the contract the
report and the JSON output (``docs/analysis-json.md``) are written against.

The *verdict scale* is "intervention (B) minus comparator (A)" on the outcome's verdict scale
(see ``docs/architecture.md``); ``better`` says which sign is good. The verdict rule itself lives
in :mod:`nof1.verdict` and is only called from here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
from attrs import field, frozen

from nof1 import verdict as verdict_rule
from nof1.dataset import PeriodSummary
from nof1.model.check import PredictiveCheck

#: The verdict shown when diagnostics still fail after the automatic retry.
WITHHELD = "withheld"

#: Diagnostics policy (documented in docs/methods.md).
RHAT_MAX = 1.01
ESS_BULK_MIN = 400.0
ESS_TAIL_MIN = 400.0
DIVERGENCES_MAX = 0

#: Grid integration policy (continuous outcomes): the answer moved by at most this many
#: posterior SDs when the grid was last doubled, and at most this mass lies on the grid's edge.
GRID_CHANGE_MAX = 0.01
GRID_EDGE_MAX = 1e-4

#: Importance-sampling policy (count, binary, ordinal): the Pareto k̂ of the smoothed weights at
#: most this (Vehtari et al. 2024: above 0.7 the estimate is unreliable), and the weights'
#: effective sample size at least ESS_BULK_MIN.
KHAT_MAX = 0.7

#: Tail ESS is the smaller ESS of the quantiles TAIL_PROB and 1 − TAIL_PROB.
TAIL_PROB = 0.05


# --------------------------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------------------------


def _interval(value: Sequence[float]) -> tuple[float, float]:
    low, high = value
    return (float(low), float(high))


def _optional_interval(value: Sequence[float] | None) -> tuple[float, float] | None:
    return None if value is None else _interval(value)


@frozen
class EffectSummary:
    """A posterior summary of one quantity; ``scale`` names what the numbers mean."""

    median: float
    mean: float
    ci95: tuple[float, float] = field(converter=_interval)
    sd: float
    scale: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "median": _num(self.median),
            "mean": _num(self.mean),
            "ci95": [_num(self.ci95[0]), _num(self.ci95[1])],
            "sd": _num(self.sd),
            "scale": self.scale,
        }


@frozen
class Probabilities:
    """Posterior probabilities of the effect, oriented by the outcome's better direction.

    ``benefit``: P(effect in the better direction); ``meaningful_benefit``: P(benefit ≥ MCID);
    ``meaningful_harm``: P(harm ≥ MCID); ``negligible``: P(|effect| < MCID).
    """

    benefit: float
    meaningful_benefit: float
    meaningful_harm: float
    negligible: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "benefit": _num(self.benefit),
            "meaningful_benefit": _num(self.meaningful_benefit),
            "meaningful_harm": _num(self.meaningful_harm),
            "negligible": _num(self.negligible),
        }


@frozen
class Diagnostics:
    """Sampler diagnostics over all model parameters, and whether they pass the policy.

    ``rhat`` is the largest rank-normalized split R-hat, ``ess_bulk``/``ess_tail`` the smallest
    effective sample sizes, ``divergences`` the post-warm-up divergent transitions, ``attempts``
    how many fits were run (the retry samples longer), ``problems`` the failures in words.
    ``effect_rhat``/``effect_ess_bulk``/``effect_ess_tail`` are the same measures for the effect
    alone (NaN when the posterior has no ``effect``): the precision of the number reported.

    A grid integration (``engine == "grid"``, continuous outcomes) has independent draws, so
    R-hat and ESS do not apply (NaN); its diagnostics are ``grid_change`` (how far the effect's
    mean and SD moved when the grid was last doubled, in posterior SDs), ``grid_edge_mass``
    (posterior mass on the edge of the grid's box) and ``grid_points``. An importance-sampling
    fit (``engine == "importance"``, the other kinds) also has independent draws; its
    diagnostics are ``importance_khat`` (Pareto k̂ of the smoothed weights) and
    ``importance_ess`` (the weights' effective sample size).
    """

    rhat: float
    ess_bulk: float
    ess_tail: float
    divergences: int
    chains: int
    draws: int
    attempts: int = 1
    passed: bool = True
    problems: tuple[str, ...] = ()
    effect_rhat: float = float("nan")
    effect_ess_bulk: float = float("nan")
    effect_ess_tail: float = float("nan")
    #: ``nuts`` (R-hat/ESS/divergences apply), ``grid`` (the ``grid_*`` fields apply) or
    #: ``importance`` (the ``importance_*`` fields apply).
    engine: str = "nuts"
    grid_points: int = 0
    grid_change: float = float("nan")
    grid_edge_mass: float = float("nan")
    importance_khat: float = float("nan")
    importance_ess: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "rhat": _num(self.rhat),
            "ess_bulk": _num(self.ess_bulk),
            "ess_tail": _num(self.ess_tail),
            "divergences": int(self.divergences),
            "chains": int(self.chains),
            "draws": int(self.draws),
            "attempts": int(self.attempts),
            "passed": bool(self.passed),
            "problems": list(self.problems),
            "effect": {
                "rhat": _num(self.effect_rhat),
                "ess_bulk": _num(self.effect_ess_bulk),
                "ess_tail": _num(self.effect_ess_tail),
            },
            "grid": (
                None
                if self.engine != "grid"
                else {
                    "points": int(self.grid_points),
                    "change": _num(self.grid_change),
                    "edge_mass": _num(self.grid_edge_mass),
                }
            ),
            "importance": (
                None
                if self.engine != "importance"
                else {"khat": _num(self.importance_khat), "ess": _num(self.importance_ess)}
            ),
        }


@frozen
class RandomizationResult:
    """The design-based randomization test (see :mod:`nof1.randomization`).

    ``p_value`` is ``None`` when the design was not randomized (``note`` says why). ``statistic``
    is the observed difference of period means, B − A, in outcome units. ``exact`` says whether
    all ``n_allocations`` were enumerated (else a seeded Monte Carlo sample of that size).
    """

    p_value: float | None
    statistic: float
    n_allocations: int
    exact: bool
    scheme: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "p_value": _num(self.p_value),
            "statistic": _num(self.statistic),
            "n_allocations": int(self.n_allocations),
            "exact": bool(self.exact),
            "scheme": self.scheme,
            "note": self.note,
        }


@frozen
class PairedComparison:
    """Mean within-block difference of period means (B − A) with a t interval and p-value."""

    mean_difference: float
    ci95: tuple[float, float] | None = field(converter=_optional_interval)
    p_value: float | None
    n_blocks: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean_difference": _num(self.mean_difference),
            "ci95": None if self.ci95 is None else [_num(self.ci95[0]), _num(self.ci95[1])],
            "p_value": _num(self.p_value),
            "n_blocks": int(self.n_blocks),
        }


@frozen
class SensitivityResult:
    """One sensitivity analysis (``label``: sceptical prior, vague prior, adherent days only)."""

    label: str
    effect: EffectSummary | None
    probabilities: Probabilities | None
    verdict: str
    verdict_changes: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "effect": None if self.effect is None else self.effect.to_dict(),
            "probabilities": None if self.probabilities is None else self.probabilities.to_dict(),
            "verdict": self.verdict,
            "verdict_changes": bool(self.verdict_changes),
            "note": self.note,
        }


@frozen
class OutcomeResult:
    """Everything the analysis says about one outcome.

    ``effect`` is on the verdict scale (B − A); ``relative`` is the rate or odds ratio (count,
    binary) or the latent-scale shift (ordinal), else ``None``. ``verdict`` is one of the
    :mod:`nof1.verdict` verdicts, or :data:`WITHHELD` with ``withheld_reason`` set.
    ``effect_draws`` are the posterior draws of the effect (for plots; not in the JSON).
    """

    name: str
    label: str
    kind: str
    better: str
    mcid: float
    units: str
    primary: bool
    effect: EffectSummary
    relative: EffectSummary | None
    probabilities: Probabilities
    verdict: str
    withheld_reason: str | None
    diagnostics: Diagnostics
    predictive_check: PredictiveCheck | None
    randomization: RandomizationResult | None
    paired: PairedComparison | None
    sensitivity: tuple[SensitivityResult, ...]
    periods: tuple[PeriodSummary, ...]
    n_analysed: int
    effect_draws: np.ndarray = field(eq=False, repr=False)
    model_description: str = ""
    #: What the data preparation did (averaging, values left out, the stated design), in words.
    notes: tuple[str, ...] = ()

    @property
    def withheld(self) -> bool:
        return self.verdict == WITHHELD

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "kind": self.kind,
            "better": self.better,
            "mcid": _num(self.mcid),
            "units": self.units,
            "primary": bool(self.primary),
            "n_analysed": int(self.n_analysed),
            "model": self.model_description,
            "effect": self.effect.to_dict(),
            "relative": None if self.relative is None else self.relative.to_dict(),
            "probabilities": self.probabilities.to_dict(),
            "verdict": self.verdict,
            "withheld_reason": self.withheld_reason,
            "diagnostics": self.diagnostics.to_dict(),
            "predictive_check": (
                None if self.predictive_check is None else self.predictive_check.to_dict()
            ),
            "randomization": None if self.randomization is None else self.randomization.to_dict(),
            "paired": None if self.paired is None else self.paired.to_dict(),
            "sensitivity": [s.to_dict() for s in self.sensitivity],
            "periods": [p.to_dict() for p in self.periods],
            "notes": list(self.notes),
        }


#: Version of the JSON layout documented in docs/analysis-json.md.
JSON_SCHEMA_VERSION = 1


@frozen
class AnalysisResult:
    """The result of ``nof1 analyze``: one :class:`OutcomeResult` per analysed outcome.

    ``interim`` is True when the schedule is not over (or the data end before it does).
    ``analysed_through`` is the last date with data (``None`` for CSV data without dates).
    ``protocol_hash`` is the protocol's SHA-256 fingerprint (``None`` for CSV data).
    """

    trial_id: str
    title: str
    interim: bool
    analysed_through: dt.date | None
    outcomes: tuple[OutcomeResult, ...]
    software_version: str
    protocol_hash: str | None
    created_at: str
    #: Secondary outcomes left out for too little data: (outcome name, reason).
    skipped: tuple[tuple[str, str], ...] = ()
    #: Which arm is A and which B: (("A", name), ("B", name)) — the protocol's arm names, or
    #: the treatment column's values for CSV data; empty when unknown.
    arms: tuple[tuple[str, str], ...] = ()

    def outcome(self, name: str) -> OutcomeResult:
        for result in self.outcomes:
            if result.name == name:
                return result
        raise KeyError(f"no result for outcome {name!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": JSON_SCHEMA_VERSION,
            "trial_id": self.trial_id,
            "title": self.title,
            "interim": bool(self.interim),
            "analysed_through": (
                None if self.analysed_through is None else self.analysed_through.isoformat()
            ),
            "software": {"name": "nof1", "version": self.software_version},
            "software_version": self.software_version,
            "protocol_hash": self.protocol_hash,
            "created_at": self.created_at,
            "outcomes": {o.name: o.to_dict() for o in self.outcomes},
            "skipped": [{"outcome": name, "reason": reason} for name, reason in self.skipped],
            "arms": (
                {
                    arm: {"value": value, "role": "control" if arm == "A" else "intervention"}
                    for arm, value in self.arms
                }
                if self.arms
                else None
            ),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The documented machine-readable result (``docs/analysis-json.md``)."""
        import json

        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)


def _num(value: float | None) -> float | None:
    """A JSON-safe float: ``None`` for missing or non-finite values."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------------------------


def summarize_draws(draws: np.ndarray, scale: str) -> EffectSummary:
    """Median, mean, equal-tailed 95% credible interval and SD of 1-D posterior draws."""
    x = np.asarray(draws, dtype=float).ravel()
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError("posterior draws must be a non-empty array of finite numbers")
    low, high = np.quantile(x, [0.025, 0.975])
    return EffectSummary(
        median=float(np.median(x)),
        mean=float(np.mean(x)),
        ci95=(float(low), float(high)),
        sd=float(np.std(x, ddof=1)) if x.size > 1 else 0.0,
        scale=scale,
    )


def probabilities(draws: np.ndarray, mcid: float, better: str) -> Probabilities:
    """The four verdict probabilities, computed by :func:`nof1.verdict.probabilities`."""
    p = verdict_rule.probabilities(np.asarray(draws, dtype=float).ravel(), mcid, better)

    def clip(key: str) -> float:  # weights summed in floating point can exceed 1 by 1e-16
        return float(min(1.0, max(0.0, p[key])))

    return Probabilities(
        benefit=clip("benefit"),
        meaningful_benefit=clip("meaningful_benefit"),
        meaningful_harm=clip("meaningful_harm"),
        negligible=clip("negligible"),
    )


def diagnostics(
    idata: Any,
    *,
    var_names: Sequence[str] | None = None,
    attempts: int = 1,
    rhat_max: float = RHAT_MAX,
    ess_bulk_min: float = ESS_BULK_MIN,
    ess_tail_min: float = ESS_TAIL_MIN,
) -> Diagnostics:
    """Worst R-hat and ESS over the posterior, divergences, and whether the policy passes.

    Parameters
    ----------
    idata : xarray.DataTree
        ArviZ 1's posterior container: must have a ``posterior`` group; divergences are read
        from ``sample_stats.diverging`` when present.
    var_names : sequence of str, optional
        Variables to check; default: every posterior variable.
    """
    import arviz_stats as azs

    posterior = idata.posterior
    names = list(var_names) if var_names is not None else list(posterior.data_vars)
    chains = int(posterior.sizes["chain"])
    draws = int(posterior.sizes["draw"])
    rhats, bulks, tails = [], [], []
    effect = (float("nan"),) * 3
    for name in names:
        values = np.asarray(posterior[name].values, dtype=float)
        values = values.reshape(chains, draws, -1)
        for j in range(values.shape[2]):
            x = values[:, :, j]
            if not np.all(np.isfinite(x)) or np.ptp(x) == 0:
                continue  # constants (e.g. fixed deterministics) carry no information
            rhat_x = azs.rhat(x, method="rank") if chains > 1 else float("nan")
            rhats.append(float(rhat_x))
            bulks.append(float(azs.ess(x, method="bulk")))
            # Tail ESS: the smaller of the ESS of the 5 % and 95 % quantiles (ArviZ's definition;
            # the array interface of arviz-stats needs the quantile stated).
            tails.append(float(azs.ess(x, method="tail", prob=TAIL_PROB)))
            if name == "effect" and values.shape[2] == 1:
                effect = (rhats[-1], bulks[-1], tails[-1])
    rhat = float(np.nanmax(rhats)) if rhats and not np.all(np.isnan(rhats)) else float("nan")
    ess_bulk = float(np.min(bulks)) if bulks else float("nan")
    ess_tail = float(np.min(tails)) if tails else float("nan")
    divergences = 0
    stats = getattr(idata, "sample_stats", None)
    if stats is not None and "diverging" in stats:
        divergences = int(np.asarray(stats["diverging"].values).sum())

    problems = []
    if chains < 2:
        problems.append("R-hat needs at least 2 chains")
    elif not rhat <= rhat_max:
        problems.append(f"R-hat {rhat:.3f} > {rhat_max}")
    if not ess_bulk >= ess_bulk_min:
        problems.append(f"bulk ESS {ess_bulk:.0f} < {ess_bulk_min:.0f}")
    if not ess_tail >= ess_tail_min:
        problems.append(f"tail ESS {ess_tail:.0f} < {ess_tail_min:.0f}")
    if divergences > DIVERGENCES_MAX:
        problems.append(f"{divergences} divergent transitions")
    return Diagnostics(
        rhat=rhat,
        ess_bulk=ess_bulk,
        ess_tail=ess_tail,
        divergences=divergences,
        chains=chains,
        draws=draws,
        attempts=attempts,
        passed=not problems,
        problems=tuple(problems),
        effect_rhat=effect[0],
        effect_ess_bulk=effect[1],
        effect_ess_tail=effect[2],
    )


def grid_diagnostics(
    *,
    points: int,
    change: float,
    edge_mass: float,
    draws: int,
    attempts: int = 1,
    change_max: float = GRID_CHANGE_MAX,
    edge_max: float = GRID_EDGE_MAX,
) -> Diagnostics:
    """Diagnostics of a grid integration, and whether they pass the policy.

    Parameters
    ----------
    points : grid points of the final grid.
    change : how far the effect's mean and SD moved at the last doubling (posterior SDs).
    edge_mass : share of the posterior mass on the edge of the grid's box.
    draws : independent draws made from the grid posterior.
    """
    problems = []
    if not change <= change_max:
        problems.append(f"grid answer still moving ({change:.2g} posterior SD > {change_max:g})")
    if not edge_mass <= edge_max:
        problems.append(f"grid edge mass {edge_mass:.2g} > {edge_max:g}")
    return _independent_draws(
        "grid",
        problems,
        ess=float(draws),
        draws=draws,
        attempts=attempts,
        grid_points=points,
        grid_change=change,
        grid_edge_mass=edge_mass,
    )


def importance_diagnostics(
    *,
    khat: float,
    ess: float,
    draws: int,
    attempts: int = 1,
    khat_max: float = KHAT_MAX,
    ess_min: float = ESS_BULK_MIN,
) -> Diagnostics:
    """Diagnostics of an importance-sampling fit (:mod:`nof1.model.importance`), and the policy.

    Parameters
    ----------
    khat : Pareto k̂ of the smoothed importance weights.
    ess : the weights' effective sample size.
    draws : equally weighted draws resampled from the weighted points.
    """
    problems = []
    if not khat <= khat_max:
        problems.append(f"importance weights unreliable (Pareto k̂ {khat:.2f} > {khat_max:g})")
    if not ess >= ess_min:
        problems.append(f"importance ESS {ess:.0f} < {ess_min:.0f}")
    return _independent_draws(
        "importance",
        problems,
        ess=float(min(ess, draws)),
        draws=draws,
        attempts=attempts,
        importance_khat=khat,
        importance_ess=ess,
    )


def _independent_draws(
    engine: str, problems: list[str], *, ess: float, draws: int, attempts: int, **fields: Any
) -> Diagnostics:
    """Diagnostics of a fit with independent draws: R-hat does not apply, every ESS is ``ess``;
    ``fields`` are the engine's own measures."""
    nan = float("nan")
    return Diagnostics(
        rhat=nan,
        ess_bulk=ess,
        ess_tail=ess,
        divergences=0,
        chains=1,
        draws=draws,
        attempts=attempts,
        passed=not problems,
        problems=tuple(problems),
        effect_rhat=nan,
        effect_ess_bulk=ess,
        effect_ess_tail=ess,
        engine=engine,
        **fields,
    )


def withheld_reason(diag: Diagnostics) -> str | None:
    """Why the verdict is withheld (``None`` when diagnostics pass)."""
    if diag.passed:
        return None
    tries = "once" if diag.attempts == 1 else f"{diag.attempts} times"
    if diag.engine == "grid":
        return (
            f"the grid integration did not settle after {diag.attempts} attempt(s) "
            f"({'; '.join(diag.problems)}); the numbers may be wrong, so no verdict is given"
        )
    return (
        f"the sampler did not converge reliably after sampling {tries} "
        f"({'; '.join(diag.problems)}); the numbers may be wrong, so no verdict is given"
    )


def sensitivity_result(
    label: str,
    draws: np.ndarray | None,
    *,
    mcid: float,
    better: str,
    threshold: float,
    primary_verdict: str,
    scale: str,
    diag: Diagnostics | None = None,
    note: str = "",
) -> SensitivityResult:
    """Summarize one sensitivity analysis and say whether its verdict differs from the primary.

    ``verdict_changes`` is True only when both verdicts were reached: a fit withheld for failed
    diagnostics (this one or the primary) could not be assessed and never "changes" the verdict.
    """
    if draws is None or np.asarray(draws).size == 0:
        return SensitivityResult(label, None, None, "not run", False, note)
    probs = probabilities(draws, mcid, better)
    result = verdict_rule.verdict(attrs.asdict(probs), threshold)
    if diag is not None and not diag.passed:
        result = WITHHELD
        note = (note + "; " if note else "") + "; ".join(diag.problems)
    return SensitivityResult(
        label=label,
        effect=summarize_draws(draws, scale),
        probabilities=probs,
        verdict=result,
        # A change only between two completed analyses: a withheld fit (either side) could not
        # be assessed, which is not a different verdict.
        verdict_changes=WITHHELD not in (result, primary_verdict) and result != primary_verdict,
        note=note,
    )
