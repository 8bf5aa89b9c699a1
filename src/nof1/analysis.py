"""Orchestration: per outcome, fit, check, retry, sensitivity analyses, cross-checks.

:func:`analyze_workspace` analyses a trial workspace; :func:`analyze_table` analyses data
collected elsewhere (a CSV file). Both return an :class:`~nof1.summary.AnalysisResult`.

Per outcome (``docs/methods.md`` has the reasoning):

1. Fit the protocol's model with the default prior.
2. Diagnostics policy (:mod:`nof1.summary`): max R-hat ≤ 1.01, min bulk and tail ESS ≥ 400,
   no divergences, over the effect and every hyperparameter. On failure the fit is repeated
   once, longer (twice the draws, three times the warm-up, target acceptance 0.95 where the
   sampler takes it). If it still fails the verdict is *withheld* and the reason shown.
   Continuous outcomes are integrated on a grid by default (:mod:`nof1.model.grid`): their
   policy is the grid's own (the answer settled as the grid was refined, negligible mass on
   its edge); a retry allows a finer grid. Count, binary and ordinal outcomes are
   importance-sampled from a Laplace approximation by default (:mod:`nof1.model.importance`):
   their policy is Pareto k̂ ≤ 0.7 and an importance ESS ≥ 400; when it fails they are sampled
   with NUTS (and that fit follows the NUTS policy above).
3. Posterior predictive checks (share of zeros, spread of period means, residual lag-1
   autocorrelation, mean per arm); the result lists those that ran and those that did not.
4. Sensitivity: sceptical prior, vague prior, adherent days only — each with its verdict and
   whether it differs from the primary verdict.
5. Design-based cross-check: randomization test and paired comparison across blocks.

Sampling seeds are derived from the protocol's seed (SHA-256 of the seed, outcome, analysis and
attempt), so the same data give the same numbers on every run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
from attrs import evolve, frozen

from nof1 import __version__
from nof1 import verdict as verdict_rule
from nof1.dataset import OutcomeData, TableSpec, from_workspace, read_csv, table_from_rows
from nof1.errors import AnalysisError, DataError
from nof1.model import Fit, ModelData, ModelSpec
from nof1.model.check import PredictiveCheck
from nof1.model.check import run as run_checks
from nof1.model.sampling import fit as sample_posterior
from nof1.protocol import Design, OutcomeSpec, TrialProtocol
from nof1.randomization import (
    StatedScheme,
    paired_comparison,
    randomization_test,
    table_randomization_test,
)
from nof1.summary import (
    WITHHELD,
    AnalysisResult,
    Diagnostics,
    OutcomeResult,
    PairedComparison,
    RandomizationResult,
    SensitivityResult,
    diagnostics,
    grid_diagnostics,
    importance_diagnostics,
    probabilities,
    sensitivity_result,
    summarize_draws,
    withheld_reason,
)
from nof1.vocab import RELATIVE_SCALES, SCALES, exposure_factor

if TYPE_CHECKING:
    from nof1.prior import PriorSpec
    from nof1.workspace import Workspace

DRAWS = 1000
TUNE = 1000
CHAINS = 2
#: The retry samples longer: draws × 2, warm-up × 3, target acceptance 0.95.
RETRY_DRAWS_FACTOR = 2
RETRY_TUNE_FACTOR = 3
RETRY_TARGET_ACCEPT = 0.95
#: A grid integration that did not settle is retried with up to this many times more points
#: per axis.
RETRY_GRID_FACTOR = 4
#: Seed used for CSV data when none is given.
TABLE_SEED = 20240601
#: Per-draw size above which a posterior variable counts as per-day latent (not diagnosed).
LATENT_SIZE = 20

Progress = Callable[[str], None]
#: Fits a model: :func:`nof1.model.fit` by default; tests pass a fake with the same signature.
Fitter = Callable[..., Fit]


@frozen
class Settings:
    """How to analyse one outcome: model choices, decision threshold, sampling effort."""

    autocorrelation: bool = True
    trend: str = "none"
    threshold: float = 0.8
    min_days_per_period: int = 3
    draws: int = DRAWS
    tune: int = TUNE
    chains: int = CHAINS
    seed: int = TABLE_SEED
    sensitivity: bool = True
    sampler: str | None = None
    engine: str = "auto"
    #: CSV data: how the treatments were randomized, as stated (``None``: no randomization test).
    randomized_by: StatedScheme | None = None

    @classmethod
    def from_protocol(cls, protocol: TrialProtocol, **overrides: Any) -> Settings:
        """The protocol's analysis choices (model, threshold, days per period) and its seed
        (``TABLE_SEED`` without one); ``overrides`` set the sampling effort and the rest."""
        a = protocol.analysis
        values: dict[str, Any] = {
            "autocorrelation": a.autocorrelation,
            "trend": a.trend,
            "threshold": a.decision_threshold,
            "min_days_per_period": a.min_days_per_period,
            "seed": protocol.design.seed or TABLE_SEED,
        }
        return cls(**(values | overrides))


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def analyze_workspace(
    ws: Workspace,
    outcome: str | None = None,
    *,
    draws: int = DRAWS,
    tune: int = TUNE,
    chains: int = CHAINS,
    seed: int | None = None,
    sensitivity: bool = True,
    today: dt.date | None = None,
    progress: Progress | None = None,
    fit: Fitter = sample_posterior,
    engine: str = "auto",
) -> AnalysisResult:
    """Analyse every outcome of a trial workspace (or only ``outcome``).

    Parameters
    ----------
    ws : nof1.workspace.Workspace
    outcome : name of one outcome; default all, primary first.
    draws, tune, chains : sampling effort of the first attempt (per chain).
    seed : overrides the protocol's ``design.seed`` as the root of the sampling seeds.
    sensitivity : run the sensitivity analyses (three more fits per outcome).
    today : the date used to decide whether the analysis is interim (default: today).
    progress : called with a short message before each step (for a progress display).
    fit : the model fitter (:func:`nof1.model.fit`); tests pass a fake.
    engine : ``auto`` (continuous outcomes by grid integration, others by importance sampling,
        NUTS when it fails) or ``nuts``.

    Raises
    ------
    DataError
        When an outcome is unknown or has too few analysed days in either arm.
    """
    protocol = ws.protocol
    schedule = ws.schedule
    specs = [protocol.outcome(outcome)] if outcome else _primary_first(protocol.outcomes)
    settings = Settings.from_protocol(
        protocol,
        draws=draws,
        tune=tune,
        chains=chains,
        sensitivity=sensitivity,
        engine=engine,
        **({} if seed is None else {"seed": seed}),
    )
    results = []
    skipped: list[tuple[str, str]] = []
    last_dates = []
    for spec in specs:
        data = from_workspace(ws, spec)
        if outcome is None and not spec.primary:
            try:
                _check_enough(data)
            except DataError as exc:
                # A sparse secondary outcome must not block the report of the others.
                skipped.append((spec.name, str(exc)))
                if progress is not None:
                    progress(f"{spec.name}: skipped, {exc}")
                continue
        if data.last_date is not None:
            last_dates.append(data.last_date)
        results.append(
            analyze_outcome(data, settings, design=protocol.design, progress=progress, fit=fit)
        )
    today = today or dt.date.today()
    through = max(last_dates) if last_dates else None
    if ws.stopped is not None:  # stopped early: the data through the stop day are final
        interim = False
    else:
        interim = today <= schedule.end or through is None or (schedule.end - through).days > 3
    return AnalysisResult(
        trial_id=protocol.trial_id,
        title=protocol.title,
        interim=interim,
        analysed_through=through,
        outcomes=tuple(results),
        software_version=__version__,
        protocol_hash=_locked_hash(ws) or protocol.fingerprint(),
        created_at=_now(),
        skipped=tuple(skipped),
        arms=(("A", protocol.comparator.name), ("B", protocol.intervention.name)),
    )


def _locked_hash(ws: Any) -> str | None:
    """The hash of the protocol in force as locked (what `nof1 start`/`amend` printed)."""
    lock = ws.current_lock() if hasattr(ws, "current_lock") else None
    return None if lock is None else lock.protocol_hash


def analyze_table(
    path: str | Path | None,
    spec: TableSpec | Sequence[TableSpec],
    *,
    data: OutcomeData | Sequence[OutcomeData] | None = None,
    randomized_by: StatedScheme | None = None,
    autocorrelation: bool = True,
    trend: str = "none",
    threshold: float = 0.8,
    draws: int = DRAWS,
    tune: int = TUNE,
    chains: int = CHAINS,
    seed: int = TABLE_SEED,
    sensitivity: bool = True,
    progress: Progress | None = None,
    fit: Fitter = sample_posterior,
    engine: str = "auto",
) -> AnalysisResult:
    """Analyse one or several outcomes of a CSV file (or ``data`` already read).

    Nothing about the verdict is chosen after seeing the data: every outcome needs its MCID
    (``spec.mcid``), and the randomization test runs only over the stated scheme
    (``randomized_by``; ``None`` reports it as not run, with the reason). Without a declared
    scale, a continuous outcome's priors are scaled to twice its observed range (see
    ``docs/methods.md``); that is the prior's width, never the effect's location.

    Parameters
    ----------
    path : the CSV file (read once for all outcomes); ``None`` with ``data``.
    spec : one :class:`~nof1.dataset.TableSpec` per outcome; they share the treatment, time,
        block and control columns. The first is the primary outcome.
    data : the outcomes already read (``read_table``), in the order of ``spec``.
    randomized_by : the stated randomization unit and run limit (``--randomized-by``).

    Raises
    ------
    DataError
        Naming the column, row or option to fix.
    """
    specs = [spec] if isinstance(spec, TableSpec) else list(spec)
    _check_table_specs(specs)
    if data is None:
        if path is None:
            raise DataError("--data FILE is needed")
        table = read_csv(path)
        outcomes = [
            table_from_rows(table.rows, table.columns, s, source=table.source) for s in specs
        ]
    else:
        outcomes = [data] if isinstance(data, OutcomeData) else list(data)
    settings = Settings(
        autocorrelation=autocorrelation,
        trend=trend,
        threshold=threshold,
        min_days_per_period=1,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
        sensitivity=sensitivity,
        engine=engine,
        randomized_by=randomized_by,
    )
    completed = [
        _complete_table_outcome(d, primary=i == 0, scheme=randomized_by)
        for i, d in enumerate(outcomes)
    ]
    for d in completed:
        _check_enough(d)
    results = tuple(
        analyze_outcome(d, settings, design=None, progress=progress, fit=fit) for d in completed
    )
    source = Path(str(path)).name if path is not None else "data"
    names = ", ".join(d.outcome.name for d in completed)
    labels = completed[0].arm_labels
    return AnalysisResult(
        trial_id=Path(str(path)).stem if path is not None else completed[0].outcome.name,
        title=f"{names} in {source}",
        interim=False,
        analysed_through=None,
        outcomes=results,
        software_version=__version__,
        protocol_hash=None,
        created_at=_now(),
        arms=(("A", labels[0]), ("B", labels[1])) if len(labels) == 2 else (),
    )


def _check_table_specs(specs: Sequence[TableSpec]) -> None:
    """Every outcome has a stated MCID; the outcomes share one treatment structure."""
    if not specs:
        raise DataError("--outcome is needed: name the outcome column(s) of the file")
    seen: set[str] = set()
    for s in specs:
        if s.outcome in seen:
            raise DataError(f"--outcome {s.outcome!r} is given twice: give each outcome once")
        seen.add(s.outcome)
        if s.mcid is None:
            raise DataError(
                f"--mcid is needed for outcome {s.outcome!r}: give the smallest difference that "
                "would matter (B − A in the outcome's units; per 28 days for count and binary), "
                "chosen before looking at the data — e.g. --mcid 5, or per outcome "
                f"--outcome {s.outcome}:{s.kind}:5:{s.better}"
            )
    first = specs[0]
    for s in specs[1:]:
        if (s.treatment, s.time, s.block, s.control) != (
            first.treatment,
            first.time,
            first.block,
            first.control,
        ):
            raise DataError(
                "every --outcome of one file shares --treatment, --time, --block and --control"
            )


def _complete_table_outcome(
    data: OutcomeData, *, primary: bool = True, scheme: StatedScheme | None = None
) -> OutcomeData:
    """Fill in what a CSV outcome lacks: its role and its scale; check the stated MCID."""
    spec = data.outcome
    if not (math.isfinite(spec.mcid) and spec.mcid > 0):
        raise DataError(
            f"--mcid is needed for outcome {spec.name!r}: give the smallest difference that "
            "would matter, chosen before looking at the data"
        )
    notes = list(data.notes)
    changes: dict[str, Any] = {"primary": primary}
    if spec.kind == "continuous" and (spec.minimum is None or spec.maximum is None):
        low, high = float(data.y.min()), float(data.y.max())
        span = max(high - low, 1e-6)
        changes["minimum"] = low - span / 2
        changes["maximum"] = high + span / 2
        notes.append(
            "no declared scale: priors are scaled to twice the observed range "
            f"({changes['minimum']:g} to {changes['maximum']:g})"
        )
    if spec.kind == "ordinal" and len(spec.categories) < 3:
        k = max(3, int(data.y.max()) + 1)
        changes["categories"] = tuple(str(i) for i in range(k))
    if spec.kind == "ordinal":  # e.g. severity 1-3 of headache days on a 0-3 scale
        k = len(changes.get("categories", spec.categories))
        empty = sorted(set(range(k)) - {int(v) for v in data.y})
        if empty:
            notes.append(
                f"categories 0–{k - 1}; {', '.join(map(str, empty))} never "
                f"{'occurs' if len(empty) == 1 else 'occur'} in the data: the model's cutpoint "
                "next to an empty category rests on its prior (it adds almost nothing to the "
                "difference in expected category)"
            )
    if scheme is None:
        notes.append("randomization scheme not stated: no randomization test")
    else:
        notes.append(f"stated design: {scheme.describe()}")
    return evolve(data, outcome=evolve(spec, **changes), notes=tuple(notes))


# --------------------------------------------------------------------------------------------
# One outcome
# --------------------------------------------------------------------------------------------


def analyze_outcome(
    data: OutcomeData,
    settings: Settings,
    *,
    design: Design | None = None,
    progress: Progress | None = None,
    fit: Fitter = sample_posterior,
) -> OutcomeResult:
    """Fit, check, retry, run the sensitivity analyses and the cross-checks for one outcome.

    ``fit`` samples each model (:func:`nof1.model.fit`); tests pass a fake fitter.
    """
    from nof1 import prior as priors

    spec = data.outcome
    say = progress or (lambda _message: None)
    _check_enough(data)
    scale = SCALES[spec.kind]

    say(f"{spec.name}: fitting (default prior)")
    baseline = baseline_values(data)
    model_spec = _model_spec(data, settings, priors.default_prior(spec, baseline))
    primary, diag = _fit_checked(data, model_spec, settings, "default", fit=fit, progress=say)
    effect_draws = np.asarray(primary.effect, dtype=float)
    effect = summarize_draws(effect_draws, scale)
    probs = probabilities(effect_draws, spec.mcid, spec.better)
    reason = withheld_reason(diag)
    primary_verdict = (
        WITHHELD if reason else verdict_rule.verdict(attrs.asdict(probs), settings.threshold)
    )
    relative_draws = primary.relative if primary.relative is not None else primary.latent
    relative = (
        None
        if relative_draws is None
        else summarize_draws(np.asarray(relative_draws), RELATIVE_SCALES[spec.kind])
    )

    say(f"{spec.name}: posterior predictive check")
    ppc = _predictive_check(primary, data, model_spec, settings.seed)

    sens: list[SensitivityResult] = []
    if settings.sensitivity:
        for label, make in (
            ("sceptical prior", priors.sceptical_prior),
            ("vague prior", priors.vague_prior),
        ):
            say(f"{spec.name}: sensitivity — {label}")
            alt = evolve(model_spec, prior=make(spec, baseline))
            s_fit, s_diag = _fit_checked(data, alt, settings, label, fit=fit, progress=say)
            sens.append(
                sensitivity_result(
                    label,
                    s_fit.effect,
                    mcid=spec.mcid,
                    better=spec.better,
                    threshold=settings.threshold,
                    primary_verdict=primary_verdict,
                    scale=scale,
                    diag=s_diag,
                )
            )
        sens.append(_adherent_sensitivity(data, model_spec, settings, primary_verdict, say, fit))

    say(f"{spec.name}: randomization test")
    rand, paired = _cross_checks(data, settings, design)
    return OutcomeResult(
        name=spec.name,
        label=spec.title,
        kind=spec.kind,
        better=spec.better,
        mcid=spec.mcid,
        units=spec.units,
        primary=spec.primary,
        effect=effect,
        relative=relative,
        probabilities=probs,
        verdict=primary_verdict,
        withheld_reason=reason,
        diagnostics=diag,
        predictive_check=ppc,
        randomization=rand,
        paired=paired,
        sensitivity=tuple(sens),
        periods=data.periods,
        n_analysed=data.n,
        effect_draws=effect_draws,
        # a two-part outcome says which part it is (e.g. pain on headache days only)
        model_description=model_spec.describe() + (f"; {data.part}" if data.part else ""),
        notes=data.notes,
    )


def _adherent_sensitivity(
    data: OutcomeData,
    model_spec: ModelSpec,
    settings: Settings,
    primary_verdict: str,
    say: Progress,
    fit: Fitter,
) -> SensitivityResult:
    label = "adherent days only"
    if data.source != "workspace":
        return SensitivityResult(label, None, None, "not run", False, "no adherence data")
    subset = data.adherent_only()
    dropped = data.n - subset.n
    if dropped == 0:
        return SensitivityResult(
            label,
            None,
            None,
            "not run",
            False,
            "every analysed day was recorded as adherent (or not recorded): same as primary",
        )
    try:
        _check_enough(subset)
    except DataError as exc:
        return SensitivityResult(label, None, None, "not run", False, str(exc))
    say(f"{data.outcome.name}: sensitivity — {label}")
    subset_fit, diag = _fit_checked(subset, model_spec, settings, label, fit=fit, progress=say)
    spec = data.outcome
    return sensitivity_result(
        label,
        subset_fit.effect,
        mcid=spec.mcid,
        better=spec.better,
        threshold=settings.threshold,
        primary_verdict=primary_verdict,
        scale=SCALES[spec.kind],
        diag=diag,
        note=f"{dropped} non-adherent day(s) left out",
    )


def _check_enough(data: OutcomeData) -> None:
    n_a = int((data.arm == 0).sum())
    n_b = int((data.arm == 1).sum())
    if n_a < 2 or n_b < 2 or data.n < 6:
        raise DataError(
            f"outcome {data.outcome.name!r} has too few analysed days to estimate an effect "
            f"({n_a} in A, {n_b} in B; need at least 2 in each arm and 6 in all): log more days"
        )


def _model_spec(data: OutcomeData, settings: Settings, prior: PriorSpec) -> ModelSpec:
    trend = settings.trend
    if trend == "spline" and len(data.knots) < 2:
        trend = "linear"
    return ModelSpec(
        kind=data.outcome.kind,
        autocorrelation=settings.autocorrelation,
        trend=trend,
        prior=prior,
        # Count, binary and ordinal outcomes: the clustering that day-to-day autocorrelation
        # causes is modelled with per-period intercepts. Measured on a 16-week count trial they
        # sample ~2.5x faster than a day-level latent AR(1) and without its divergences
        # (docs/methods-models.md); continuous outcomes keep exact AR(1) residuals.
        latent=_latent(data),
    )


#: Most periods a continuous model gives random intercepts. Its grid integrates one coefficient
#: per period in closed form on every grid point; a CSV randomized by the day has a "period" per
#: run of one or two days (the melatonin series: dozens), which made that algebra take minutes
#: and ~20 GB. Such short periods carry no month-to-month shock to model: the AR(1) residuals do.
MAX_CONTINUOUS_PERIODS = 24


def _latent(data: OutcomeData) -> str:
    periods = 0 if data.period is None else len(set(data.period))
    if periods < 2:
        return "ar"
    if data.outcome.kind == "continuous" and periods > MAX_CONTINUOUS_PERIODS:
        return "ar"
    return "period"


def baseline_values(data: OutcomeData) -> np.ndarray:
    """The days that set a prior's baseline: the comparator (arm A) days analysed, plus the
    run-in days logged before the first period (``nof1.prior``: never the effect's centre)."""
    run_in = [d.value for d in data.all_days if d.phase == "run_in" and math.isfinite(d.value)]
    return np.concatenate([data.y[data.arm == 0], np.asarray(run_in, dtype=float)])


def model_data(data: OutcomeData) -> ModelData:
    """The :class:`nof1.model.ModelData` of an outcome's analysed days."""
    return ModelData(
        y=data.model_y,  # ordinal: renumbered over the analysed categories
        arm=data.arm,
        time=data.time,
        n_categories=data.n_categories,
        knots=data.knots,
        period=data.period,
    )


def derived_seed(root: int, *parts: object) -> int:
    """A sampling seed from the root seed and labels (SHA-256; stable across versions)."""
    text = ":".join(["nof1", "analysis", str(root), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big")


def _fit_checked(
    data: OutcomeData,
    model_spec: ModelSpec,
    settings: Settings,
    label: str,
    *,
    fit: Fitter,
    progress: Progress,
) -> tuple[Fit, Diagnostics]:
    """Fit, and fit again when the diagnostics fail. Returns the last fit and diagnostics.

    An importance-sampling fit whose weights cannot be trusted is replaced by NUTS; a NUTS fit
    that fails is sampled once more, longer; a grid that did not settle is refined further.
    """
    md = model_data(data)
    draws, tune = settings.draws, settings.tune
    engine = settings.engine
    attempt = 1
    longer = False
    grid_points = 0
    while True:
        kwargs: dict[str, Any] = {
            "draws": draws,
            "tune": tune,
            "chains": settings.chains,
            "seed": derived_seed(settings.seed, data.outcome.name, label, attempt),
        }
        if settings.sampler:
            kwargs["sampler"] = settings.sampler
        if engine != "auto":
            kwargs["engine"] = engine
        if longer:
            kwargs["target_accept"] = RETRY_TARGET_ACCEPT
            if grid_points:
                kwargs["grid_max_points"] = grid_points * RETRY_GRID_FACTOR
        result = fit(md, model_spec, **kwargs)
        if result.grid is not None:
            grid_points = result.grid.points_per_axis
            diag = grid_diagnostics(
                points=result.grid.points,
                change=result.grid.change,
                edge_mass=result.grid.edge_mass,
                draws=int(result.effect.size),
                attempts=attempt,
            )
        elif result.importance is not None:
            diag = importance_diagnostics(
                khat=result.importance.khat,
                ess=result.importance.ess,
                draws=int(result.effect.size),
                attempts=attempt,
            )
        else:
            diag = diagnostics(result.idata, var_names=_diagnosed(result.idata), attempts=attempt)
        if diag.passed or longer:
            return result, diag
        attempt += 1
        if result.importance is not None:
            progress(f"{data.outcome.name}: {'; '.join(diag.problems)} — sampling with NUTS")
            engine = "nuts"
            continue
        progress(f"{data.outcome.name}: {'; '.join(diag.problems)} — sampling longer")
        draws, tune = draws * RETRY_DRAWS_FACTOR, tune * RETRY_TUNE_FACTOR
        longer = True


def _diagnosed(idata: Any) -> list[str]:
    """Posterior variables diagnosed: the effect and hyperparameters, not per-day latents."""
    post = idata.posterior
    names = []
    for name, var in post.data_vars.items():
        per_draw = int(np.prod([s for d, s in var.sizes.items() if d not in ("chain", "draw")]))
        if per_draw <= LATENT_SIZE:
            names.append(str(name))
    return names


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def _predictive_check(
    fit: Fit, data: OutcomeData, model_spec: ModelSpec, seed: int
) -> PredictiveCheck:
    """Posterior predictive checks for every kind (:mod:`nof1.model.check`, docs/methods.md).

    When no replicates can be made (a posterior without a variable the kind needs, too few
    finite draws), every check is recorded as not run, with the reason.
    """
    try:
        return run_checks(fit, model_data(data), model_spec, seed)
    except AnalysisError as exc:
        return PredictiveCheck.not_available(data.outcome.kind, str(exc))


def _cross_checks(
    data: OutcomeData, settings: Settings, design: Design | None
) -> tuple[RandomizationResult | None, PairedComparison | None]:
    """The randomization test and the paired comparison, on the verdict scale."""
    factor = exposure_factor(data.outcome.kind)
    means = [
        p.mean if p.mean is not None and p.days_analysed >= settings.min_days_per_period else None
        for p in data.periods
    ]
    arms = [p.arm for p in data.periods]
    blocks = [p.block for p in data.periods]
    paired = paired_comparison(means, arms, blocks, scale=factor)
    seed = derived_seed(settings.seed, data.outcome.name, "randomization")
    if design is not None:
        rand = randomization_test(means, "".join(arms), design, scale=factor, seed=seed)
        return rand, paired
    rand = table_randomization_test(
        data, settings.randomized_by, period_means=means, scale=factor, seed=seed
    )
    return rand, paired


def _primary_first(outcomes: tuple[OutcomeSpec, ...]) -> list[OutcomeSpec]:
    return sorted(outcomes, key=lambda o: not o.primary)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
