"""CLI command ``nof1 analyze``: the Bayesian analysis of a trial workspace or of a CSV file.

NumPy, PyMC and ArviZ are imported inside the command only, so other commands start fast.
The command parses, calls :mod:`nof1.analysis`, and prints: a table for people, or the
documented JSON (``docs/analysis-json.md``) with ``--json``. No statistics here.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nof1.cli.base import (
    EngineOption,
    QuietOption,
    SeedOption,
    TrialOption,
    VerboseOption,
    app,
    check_engine,
    err,
    handle_errors,
)
from nof1.cli.progress import FitProgress, captured_messages
from nof1.errors import DataError
from nof1.vocab import DIRECTIONS, EXPOSURE_DAYS, KINDS, TRENDS, words

if TYPE_CHECKING:
    from nof1.summary import AnalysisResult

HERE = Path(".")


@app.command()
@handle_errors
def analyze(
    trial: TrialOption = HERE,
    outcome: Annotated[
        list[str] | None,
        typer.Option(
            "--outcome",
            "-o",
            help="Analyse only this outcome (workspace). With --data: an outcome column, "
            "repeatable; NAME or NAME:KIND:MCID:BETTER (e.g. mood:continuous:5:higher; an "
            "empty field takes --kind, --mcid or --better). The first is the primary outcome.",
            show_default=False,
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Analyse a CSV file collected elsewhere instead of a workspace "
            "(needs --outcome, --treatment, --time and an MCID for every outcome).",
            show_default=False,
        ),
    ] = None,
    treatment: Annotated[
        str | None,
        typer.Option(
            "--treatment", help="CSV column with the treatment of each row.", show_default=False
        ),
    ] = None,
    time: Annotated[
        str | None,
        typer.Option(
            "--time",
            help="CSV column with a whole-number day or week index (gaps allowed); several "
            "rows with the same time are averaged.",
            show_default=False,
        ),
    ] = None,
    block: Annotated[
        str | None,
        typer.Option(
            "--block",
            help="CSV column grouping periods into blocks (default: consecutive pairs of periods).",
            show_default=False,
        ),
    ] = None,
    control: Annotated[
        str | None,
        typer.Option(
            "--control",
            help="The value of --treatment that is the control arm (A).",
            show_default=False,
        ),
    ] = None,
    kind: Annotated[
        str,
        typer.Option("--kind", help=f"CSV outcome kind: {words(KINDS)}."),
    ] = "continuous",
    better: Annotated[
        str, typer.Option("--better", help=f"CSV outcome: is {words(DIRECTIONS)} better?")
    ] = "lower",
    mcid: Annotated[
        float | None,
        typer.Option(
            "--mcid",
            help="CSV outcome: smallest difference that matters (B − A; per "
            f"{EXPOSURE_DAYS} days for count and binary), chosen before seeing the data. "
            "Required for every outcome (here or in NAME:KIND:MCID:BETTER); never derived from "
            "the data.",
            show_default=False,
        ),
    ] = None,
    randomized_by: Annotated[
        str | None,
        typer.Option(
            "--randomized-by",
            help="CSV data: the unit the study's randomization drew — day (each --time value), "
            "period (each run of one treatment), pair (the order within each block of two "
            "periods) or block (each block as drawn or mirrored, e.g. ABBA or BAAB). Without it "
            "the randomization test is not run (the output says why).",
            show_default=False,
        ),
    ] = None,
    max_run: Annotated[
        int | None,
        typer.Option(
            "--max-run",
            help="CSV data, with --randomized-by day or period: the most units in a row on one "
            "treatment the randomization allowed (default: no limit).",
            show_default=False,
        ),
    ] = None,
    autocorrelation: Annotated[
        bool,
        typer.Option(
            "--autocorrelation/--no-autocorrelation",
            help="CSV data: model day-to-day autocorrelation.",
        ),
    ] = True,
    trend: Annotated[
        str, typer.Option("--trend", help=f"CSV data: time trend {words(TRENDS)}.")
    ] = "none",
    threshold: Annotated[
        float, typer.Option("--threshold", help="CSV data: decision threshold (0.5–1).")
    ] = 0.8,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="CSV data: also write the HTML, PDF and JSON report into this folder (protocol "
            "details a CSV file cannot hold are shown as not recorded).",
            show_default=False,
        ),
    ] = None,
    draws: Annotated[
        int, typer.Option("--draws", help="Posterior draws per chain (first attempt).", min=100)
    ] = 1000,
    seed: SeedOption = None,
    engine: EngineOption = "auto",
    no_sensitivity: Annotated[
        bool,
        typer.Option("--no-sensitivity", help="Skip the sensitivity analyses (faster)."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the documented JSON result to stdout.")
    ] = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Estimate the effect of the intervention on each outcome, with a verdict.

    Fits a Bayesian model per outcome (intervention B minus comparator A), checks the sampler
    and retries longer when needed (the verdict is withheld if it still fails), runs the
    sensitivity analyses and the randomization test. With --data, analyses a CSV file: every
    outcome needs an MCID, and the randomization test runs only over the scheme stated with
    --randomized-by.
    """
    outcomes = list(outcome or [])
    options = _check_options(
        data, outcomes, treatment, time, block, control, kind, better, trend, threshold, mcid,
        randomized_by, max_run, report,
    )  # fmt: skip
    check_engine(engine)
    progress = FitProgress(enabled=not quiet)
    written: tuple[Path, ...] = ()
    try:
        from nof1 import analysis

        if data is not None:
            from nof1.dataset import TableSpec
            from nof1.randomization import StatedScheme

            assert treatment is not None and time is not None
            specs = [
                TableSpec.from_option(
                    text,
                    treatment=treatment,
                    time=time,
                    block=block,
                    control=control,
                    kind=kind,
                    better=better,
                    mcid=mcid,
                )
                for text in outcomes
            ]
            stated = None if randomized_by is None else StatedScheme(randomized_by, max_run)
            with captured_messages(None, verbose=verbose):
                result = analysis.analyze_table(
                    data,
                    specs,
                    randomized_by=stated,
                    autocorrelation=autocorrelation,
                    trend=trend,
                    threshold=threshold,
                    draws=draws,
                    seed=seed if seed is not None else analysis.TABLE_SEED,
                    sensitivity=not no_sensitivity,
                    progress=progress,
                    engine=engine,
                )
                if report is not None:
                    from nof1.report import write_table_report

                    progress("writing the report (HTML, PDF, JSON)")
                    written = write_table_report(
                        result, report, source=data.name, threshold=threshold, protected=(data,)
                    ).paths()
        else:
            if options:
                verb = "applies" if len(options) == 1 else "apply"
                raise DataError(
                    f"{', '.join(options)} only {verb} with --data FILE (a workspace takes "
                    "these from protocol.toml)"
                )
            if len(outcomes) > 1:
                raise DataError(
                    f"--outcome is given {len(outcomes)} times: for a workspace give one outcome, "
                    "or none for all of them"
                )
            from nof1.workspace import Workspace

            name = outcomes[0] if outcomes else None
            with Workspace.open(trial) as ws:
                for warning in ws.warnings():
                    err(f"Warning: {warning}")
                ws.require_unblinded("analyze")
                if name is not None:
                    try:
                        ws.protocol.outcome(name)
                    except KeyError as exc:
                        raise DataError(f"--outcome: {exc.args[0]}") from None
                with captured_messages(ws.path, verbose=verbose):
                    result = analysis.analyze_workspace(
                        ws,
                        name,
                        draws=draws,
                        seed=seed,
                        sensitivity=not no_sensitivity,
                        progress=progress,
                        engine=engine,
                    )
    finally:
        progress.close()
    if as_json:
        print(result.to_json())
    else:
        _print_table(result)
    for path in written:
        err(str(path))


def _check_options(
    data: Path | None,
    outcomes: list[str],
    treatment: str | None,
    time: str | None,
    block: str | None,
    control: str | None,
    kind: str,
    better: str,
    trend: str,
    threshold: float,
    mcid: float | None,
    randomized_by: str | None,
    max_run: int | None,
    report: Path | None,
) -> list[str]:
    """Validate option values; return the CSV-only options given (an error without --data)."""
    if kind not in KINDS:
        raise DataError(f"--kind must be {words(KINDS)} (got {kind!r})")
    if better not in DIRECTIONS:
        raise DataError(f"--better must be {words(DIRECTIONS)} (got {better!r})")
    if trend not in TRENDS:
        raise DataError(f"--trend must be {words(TRENDS)} (got {trend!r})")
    if not 0.5 < threshold < 1:
        raise DataError(f"--threshold must be between 0.5 and 1 (got {threshold:g})")
    if mcid is not None and not (math.isfinite(mcid) and mcid > 0):
        raise DataError(
            f"--mcid must be a finite number > 0 (got {mcid:g}): the smallest difference that "
            "would matter, chosen before looking at the data"
        )
    if data is not None:
        missing = [
            name
            for name, value in (
                ("--outcome", outcomes or None),
                ("--treatment", treatment),
                ("--time", time),
            )
            if value is None
        ]
        if missing:
            raise DataError(f"--data needs {' and '.join(missing)} (the column names in the file)")
        if report is not None and report.exists() and not report.is_dir():
            raise DataError(f"--report {report} is a file: give a folder for the report files")
        if randomized_by is not None or max_run is not None:
            from nof1.randomization import StatedScheme

            if randomized_by is None:
                raise DataError(
                    "--max-run needs --randomized-by day or period (the unit whose runs it limits)"
                )
            StatedScheme(randomized_by, max_run)  # validates the pair before the slow part
        return []
    given = [
        name
        for name, value in (
            ("--treatment", treatment),
            ("--time", time),
            ("--block", block),
            ("--control", control),
            ("--mcid", mcid),
            ("--randomized-by", randomized_by),
            ("--max-run", max_run),
            ("--report", report),
        )
        if value is not None
    ]
    if kind != "continuous":
        given.append("--kind")
    if better != "lower":
        given.append("--better")
    if trend != "none":
        given.append("--trend")
    return given


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}"


def _print_table(result: AnalysisResult) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    # Labels come from the user's file: escaped, so "[red]" in a column name is text, not markup.
    title = escape(result.title) + ("  \\[INTERIM]" if result.interim else "")
    table = Table(title=title, title_justify="left")
    for column in (
        "Outcome",
        "Effect B − A (95% CrI)",
        "P(benefit ≥ MCID)",
        "P(negligible)",
        "P(harm ≥ MCID)",
        "Verdict",
        "Randomization p",
    ):
        table.add_column(column)
    for o in result.outcomes:
        e = o.effect
        rand = o.randomization
        table.add_row(
            escape(o.label) + (" (primary)" if o.primary else ""),
            f"{e.median:.2f} ({e.ci95[0]:.2f} to {e.ci95[1]:.2f})",
            _fmt(o.probabilities.meaningful_benefit),
            _fmt(o.probabilities.negligible),
            _fmt(o.probabilities.meaningful_harm),
            o.verdict,
            "not run" if rand is None or rand.p_value is None else f"{rand.p_value:.3f}",
        )
    console.print(table)
    if result.arms:
        arms = dict(result.arms)
        console.print(
            f"Arms: A = {arms['A']!r} (control), B = {arms['B']!r} (intervention); effects are "
            "B − A.",
            highlight=False,
            markup=False,
        )
    for o in result.outcomes:
        unit = "days" if result.protocol_hash is not None else "time units"
        lines = [f"{o.label}: {o.effect.scale}; MCID {o.mcid:g}; {o.n_analysed} {unit} analysed."]
        if o.withheld_reason:
            lines.append(f"  Verdict withheld: {o.withheld_reason}.")
        d = o.diagnostics
        if d.engine == "importance":
            lines.append(
                f"  Importance sampling: Pareto k̂ {d.importance_khat:.2f}, ESS "
                f"{d.importance_ess:.0f} of the weights; {d.draws} independent draws "
                f"({d.attempts} attempt(s))."
            )
        elif d.engine == "grid":
            lines.append(
                f"  Grid integration: {d.grid_points} points, answer moved {d.grid_change:.1e} "
                f"posterior SD at the last refinement, edge mass {d.grid_edge_mass:.1e}; "
                f"{d.draws} independent draws ({d.attempts} attempt(s))."
            )
        else:
            lines.append(
                f"  Sampler: R-hat {d.rhat:.3f}, bulk ESS {d.ess_bulk:.0f}, tail ESS "
                f"{d.ess_tail:.0f} (worst parameter); effect R-hat {d.effect_rhat:.3f}, bulk "
                f"ESS {d.effect_ess_bulk:.0f}; {d.divergences} divergences "
                f"({d.attempts} attempt(s))."
            )
        if o.predictive_check is not None and not o.predictive_check.passed:
            pc = o.predictive_check
            lines.append(f"  Predictive check {pc.summary()}.")
        for s in o.sensitivity:
            change = " (verdict changes)" if s.verdict_changes else ""
            lines.append(
                f"  Sensitivity, {s.label}: {s.verdict}{change}"
                + (f" — {s.note}" if s.note else "")
            )
        if o.paired is not None and o.paired.ci95 is not None:
            lo, hi = o.paired.ci95
            lines.append(
                f"  Paired blocks: {o.paired.mean_difference:.2f} ({lo:.2f} to {hi:.2f}), "
                f"{o.paired.n_blocks} blocks."
            )
        if o.randomization is not None and o.randomization.note:
            lines.append(f"  Randomization test: {o.randomization.note}.")
        lines.extend(f"  Note: {note}." for note in o.notes)
        console.print("\n".join(lines), highlight=False, markup=False)
    if result.interim:
        console.print(
            "INTERIM analysis: the trial is not over; do not act on this verdict alone.",
            highlight=False,
        )
