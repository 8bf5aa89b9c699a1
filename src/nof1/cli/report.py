"""CLI command ``nof1 report``: analyse the trial and write the report for the doctor.

The analysis (PyMC) and the report (matplotlib, fpdf2) are imported inside the command so that
the daily commands stay fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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

HERE = Path(".")


@app.command("report")
@handle_errors
def report_command(
    trial: TrialOption = HERE,
    outcome: Annotated[
        str | None,
        typer.Option(
            "--outcome",
            help="Analyse and report only this outcome (default: every outcome, primary first).",
            show_default=False,
        ),
    ] = None,
    draws: Annotated[
        int | None,
        typer.Option(
            "--draws",
            min=50,
            help="Posterior draws per chain (default: the analysis default).",
            show_default=False,
        ),
    ] = None,
    tune: Annotated[
        int | None,
        typer.Option("--tune", min=50, help="Warm-up draws per chain.", show_default=False),
    ] = None,
    chains: Annotated[
        int | None,
        typer.Option("--chains", min=1, help="Number of chains.", show_default=False),
    ] = None,
    seed: SeedOption = None,
    engine: EngineOption = "auto",
    sensitivity: Annotated[
        bool,
        typer.Option(
            "--sensitivity/--no-sensitivity",
            help="Run the sensitivity analyses (three more fits per outcome).",
        ),
    ] = True,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder for the report files (default: the trial's reports/ folder).",
            show_default=False,
        ),
    ] = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace a report of the same name (default: a re-run on the same data writes "
            "NAME-2.html, NAME-3.html, ... beside the earlier report).",
        ),
    ] = False,
) -> None:
    """Analyse the trial and write the report: HTML, PDF and JSON in reports/.

    Prints the three file paths. Re-running never replaces an earlier report (the new files are
    numbered -2, -3, ...) unless --force. A report written before the trial's end is marked
    INTERIM on every page. The report informs a decision made with the clinician; it never
    recommends a dose.
    """
    check_engine(engine)
    from nof1.analysis import analyze_workspace
    from nof1.report import write_report
    from nof1.report.context import TrialRecord, effect_text, title, verdict_short
    from nof1.workspace import Workspace

    with Workspace.open(trial) as ws:
        for warning in ws.warnings():
            err(f"Warning: {warning}")
        ws.require_unblinded("report")
        options: dict[str, Any] = {
            name: value
            for name, value in (("draws", draws), ("tune", tune), ("chains", chains))
            if value is not None
        }
        progress = FitProgress(enabled=not quiet, lines=True)
        try:
            with captured_messages(ws.path, verbose=verbose):
                result = analyze_workspace(
                    ws,
                    outcome,
                    seed=seed,
                    sensitivity=sensitivity,
                    progress=progress,
                    engine=engine,
                    **options,
                )
                progress("writing the report (HTML, PDF, JSON)")
                record = TrialRecord.from_workspace(ws)
                files = write_report(ws, result, out, record=record, force=force)
        finally:
            progress.close()
    threshold = record.protocol.analysis.decision_threshold
    for o in result.outcomes:
        # the words of page 1's table (one probability mapping; "No verdict (withheld)")
        err(f"{title(o)}: {effect_text(o)} – {verdict_short(o, threshold)}")
    if result.interim:
        err("INTERIM report: the trial is not finished.")
    if record.integrity is not None and not record.integrity.ok:
        err("!" * 72)
        err(f"{record.integrity.summary()} — the report says so on page 1:")
        for line in record.integrity.lines()[:10]:
            err(f"  - {line}")
        err("!" * 72)
    elif record.integrity is not None:
        err(f"Data {record.integrity.summary()}.")
    for path in files.paths():
        typer.echo(str(path))
