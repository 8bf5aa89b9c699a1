"""CLI command ``nof1 plan``: can this design answer the question? (simulation planner).

Parses options, calls :func:`nof1.plan.plan`, prints a table or JSON, draws the plot and writes
``[planning]`` into protocol.toml. numpy/scipy are imported inside the command only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nof1 import files
from nof1.cli.base import app, err, handle_errors
from nof1.errors import PlanError, UsageError, WorkspaceError
from nof1.protocol import TrialProtocol
from nof1.templates import find_template

if TYPE_CHECKING:
    from nof1.plan import PlanResult

#: The option of `nof1 plan` that sets each planner setting (for error messages).
OPTIONS = {
    "effect": "--effect",
    "baseline": "--baseline",
    "sd": "--sd",
    "dispersion": "--dispersion",
    "rho": "--rho",
    "missing_rate": "--missing",
    "adherence": "--adherence",
    "lag_days": "--lag-days",
    "asked_days": "--asked-days",
    "simulations": "--sims",
    "target": "--target",
    "jobs": "--jobs",
}


def _ints(text: str | None, option: str, minimum: int) -> list[int] | None:
    if text is None:
        return None
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(
            f"{option} must be whole numbers separated by commas, e.g. 2,3,4 (got {text!r})"
        ) from None
    if not values or min(values) < minimum:
        raise UsageError(f"{option} values must be ≥ {minimum} (got {text!r})")
    return sorted(set(values))


def _load(trial: Path | None, template: str | None) -> tuple[TrialProtocol, Path | None]:
    if trial is not None and template is not None:
        raise UsageError("give either --trial or --template, not both")
    if template is not None:
        return TrialProtocol.from_toml(find_template(template)), None
    folder = trial if trial is not None else Path(".")
    path = folder / "protocol.toml"
    if not path.is_file():
        raise WorkspaceError(
            f"no protocol.toml in {folder}: pass --trial DIR of a workspace, or --template NAME "
            "(see `nof1 templates`)"
        )
    return TrialProtocol.from_toml(path), path


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _table(result: PlanResult) -> str:
    from nof1.verdict import INCONCLUSIVE, NEGLIGIBLE

    a = result.assumptions
    lines = [
        f"Outcome {result.outcome} ({result.kind}); MCID {result.mcid:g}; "
        f"{result.better} is better; decision threshold {result.threshold:g}",
        f"Assumed: effect {a.effect:+g}, comparator level {a.baseline:g}"
        + (f", day-to-day SD {a.sd:g}" if result.kind == "continuous" else "")
        + (f", dispersion {a.dispersion:g}" if result.kind == "count" else "")
        + f", autocorrelation {a.rho:g}, missing days {_pct(a.missing_rate)}, "
        f"adherence {_pct(a.adherence)}, onset/offset lag {a.lag_days:g} d"
        + (
            f", analysed only when asked: on {a.asked_days:g} of 28 days"
            if a.asked_days < 28
            else ""
        ),
        f"{result.results[0].simulations} simulated trials per design; {result.method}; "
        f"{result.seconds:.1f} s",
        "",
        "  blocks  period  not analysed  days  benefit found  false benefit  "
        "no difference  inconclusive  95% CI width",
    ]
    best = result.recommended
    for r in result.results:
        mark = "*" if best is not None and r is best else " "
        note = "  <- protocol" if r.is_protocol else ""
        lines.append(
            f"{mark} {r.design.blocks:>6}  {r.design.period_days:>4} d  "
            f"{r.design.analytic_washout_days:>10} d  {r.total_days:>4}  "
            f"{_pct(r.assurance):>13}  {_pct(r.false_benefit):>13}  "
            f"{_pct(r.verdicts[NEGLIGIBLE]):>13}  {_pct(r.verdicts[INCONCLUSIVE]):>12}  "
            f"{r.ci_width:>12.2f}{note}"
        )
    lines.append("")
    if best is None:
        lines.append(
            f"No design reaches {_pct(result.target)} probability of finding a meaningful "
            "benefit under these assumptions: consider more blocks, a larger expected effect, "
            "or a less variable outcome."
        )
    else:
        lines.append(
            f"* smallest design reaching {_pct(result.target)}: {best.design.label()} "
            f"({best.total_days} days; finds the benefit in {_pct(best.assurance)}, "
            f"false benefit {_pct(best.false_benefit)})."
        )
    return "\n".join(lines)


@app.command("plan")
@handle_errors
def plan_command(
    trial: Annotated[
        Path | None,
        typer.Option(
            "--trial",
            "-t",
            help="Trial workspace folder (default: this folder).",
            show_default=False,
        ),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            help="Plan a template instead of a workspace (see `nof1 templates`).",
            show_default=False,
        ),
    ] = None,
    outcome: Annotated[
        str | None, typer.Option("--outcome", help="Outcome to plan for (default: primary).")
    ] = None,
    effect: Annotated[
        float | None,
        typer.Option(
            "--effect",
            help="Expected effect B − A on the verdict scale (default: "
            "1.5 MCIDs in the better direction).",
        ),
    ] = None,
    baseline: Annotated[
        float | None,
        typer.Option(
            "--baseline",
            help="Comparator level: mean (continuous), events or days "
            "per 28 days (count, binary), expected category (ordinal).",
        ),
    ] = None,
    sd: Annotated[
        float | None, typer.Option("--sd", help="Day-to-day SD (continuous outcomes).")
    ] = None,
    dispersion: Annotated[
        float | None,
        typer.Option(
            "--dispersion",
            help="Negative-binomial shape of daily counts (smaller = more variable).",
        ),
    ] = None,
    rho: Annotated[
        float | None, typer.Option("--rho", help="Day-to-day autocorrelation, 0 to 0.95.")
    ] = None,
    missing: Annotated[
        float | None, typer.Option("--missing", help="Share of days not logged, 0 to 0.9.")
    ] = None,
    adherence: Annotated[
        float | None, typer.Option("--adherence", help="Share of days taken as assigned.")
    ] = None,
    lag_days: Annotated[
        float | None,
        typer.Option(
            "--lag-days",
            help="Days the effect takes to appear and wear off "
            "(default: half the analytic washout).",
        ),
    ] = None,
    asked_days: Annotated[
        float | None,
        typer.Option(
            "--asked-days",
            help="Days per 28 the outcome is asked and analysed, for an outcome analysed only "
            'when asked (analyse = "when_asked", e.g. peak pain on headache days; default: '
            "the expected headache days, 8).",
        ),
    ] = None,
    sims: Annotated[int, typer.Option("--sims", help="Simulated trials per design.")] = 500,
    target: Annotated[
        float, typer.Option("--target", help="Probability of finding the benefit to aim for.")
    ] = 0.8,
    blocks: Annotated[
        str | None, typer.Option("--blocks", help="Numbers of blocks to compare, e.g. 2,3,4,6.")
    ] = None,
    period_days: Annotated[
        str | None, typer.Option("--period-days", help="Period lengths to compare, e.g. 14,28.")
    ] = None,
    washout: Annotated[
        str | None,
        typer.Option(
            "--washout", help="Analytic washouts (days not analysed) to compare, e.g. 0,7."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the simulation.")] = 1,
    jobs: Annotated[
        int | None, typer.Option("--jobs", help="Worker processes (default: all cores).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write a PNG plot to this file.")
    ] = None,
    write: Annotated[
        bool,
        typer.Option(
            "--write",
            help="Record assumptions and results in protocol.toml "
            "[planning] (cited by the report).",
        ),
    ] = False,
) -> None:
    """Simulate trials to see whether a design can answer the question, and compare designs.

    Reports, per design, the probability of the verdict "meaningful benefit likely" if the
    assumed effect is true and if there is no effect, the expected width of the 95% interval,
    and the smallest design reaching --target.
    """
    block_list = _ints(blocks, "--blocks", 1)
    period_list = _ints(period_days, "--period-days", 2)
    washout_list = _ints(washout, "--washout", 0)
    if write and template is not None:
        raise UsageError("--write needs a workspace (--trial DIR), not --template")
    protocol, path = _load(trial, template)
    if outcome is not None:
        try:
            spec = protocol.outcome(outcome)
        except KeyError as exc:
            raise UsageError(f"--outcome: {exc.args[0]}") from None
    else:
        spec = protocol.primary_outcome

    from nof1 import plan as planner

    given = {
        "effect": effect,
        "baseline": baseline,
        "sd": sd,
        "dispersion": dispersion,
        "rho": rho,
        "missing_rate": missing,
        "adherence": adherence,
        "lag_days": lag_days,
        "asked_days": asked_days,
    }
    try:
        assumptions = planner.default_assumptions(protocol, spec, **given)
        planner.check_run(simulations=sims, target=target, jobs=jobs)
        designs = None
        if block_list or period_list or washout_list is not None:
            designs = planner.alternative_designs(
                protocol.design, block_list, period_list, washout_list
            )
        if not as_json:
            err(f"Simulating {sims} trials per design ... (Ctrl-C to stop)")
        result = planner.plan(
            protocol,
            outcome=spec.name,
            assumptions=assumptions,
            designs=designs,
            simulations=sims,
            target=target,
            seed=seed,
            jobs=jobs,
        )
    except PlanError as exc:
        if exc.field in OPTIONS:  # name the option the person typed
            raise UsageError(f"{OPTIONS[exc.field]} {exc.detail}") from None
        raise
    if as_json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(_table(result))
    if plot is not None:
        from nof1.report.plan_figure import plot_plan

        plot_plan(result, plot)
        err(f"Plot written to {plot}")
    if write:
        assert path is not None
        text = path.read_text(encoding="utf-8")
        new = planner.write_planning(text, planner.planning_table(result))
        TrialProtocol.from_text(new, source=path.name)  # never write a file that won't load
        files.write_private(path, new, force=True)  # atomic: a crash never leaves half a protocol
        err(f"Planning recorded in {path} [planning]")
