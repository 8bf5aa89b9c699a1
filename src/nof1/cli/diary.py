"""CLI commands for the daily diary: start, amend, log, event, status, history, backup, restore,
export, import.

Only light modules (stdlib + attrs) are imported here: ``nof1 log`` must start fast and must not
load numpy, PyMC, ArviZ or matplotlib.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer

from nof1 import diary
from nof1.cli.base import TrialOption, app, err, handle_errors
from nof1.errors import EntryError
from nof1.protocol import OutcomeSpec
from nof1.vocab import SEVERITIES, words
from nof1.workspace import Workspace

HERE = Path(".")


def _open(trial: Path) -> Workspace:
    """Open the workspace and print its lock warnings to stderr."""
    ws = Workspace.open(trial)
    for warning in ws.warnings():
        err(f"Warning: {warning}")
    return ws


def _interactive() -> bool:
    return sys.stdin.isatty()


def _loud(triggered: tuple[diary.TriggeredRule, ...]) -> None:
    for rule in triggered:
        err("!" * 72)
        err(f"STOPPING RULE MET: {rule.message}")
        err("Stop the trial intervention and contact your supervising clinician.")
        err("!" * 72)


def _show(spec: OutcomeSpec, value: float) -> str:
    if spec.kind == "binary":
        return "yes" if value else "no"
    if spec.kind == "ordinal":
        return spec.categories[int(value)]
    return f"{value:g}"


# --------------------------------------------------------------------------------------------


@app.command()
@handle_errors
def start(trial: TrialOption = HERE) -> None:
    """Lock the protocol and the randomized schedule: the trial begins.

    Records a SHA-256 of the normalized protocol, of its locked sections (arms, design,
    blinding, outcomes, analysis) and the schedule. Refuses, listing every problem, when the
    protocol is not ready (no start date or seed, missing clinician sign-off, ...).
    """
    with Workspace.open(trial) as ws:
        lock = ws.start()
        schedule = ws.schedule
        print(
            f"Trial {lock.trial_id!r} locked: {len(schedule.periods)} periods from "
            f"{schedule.start} to {schedule.end}."
        )
        print(f"Protocol SHA-256: {lock.protocol_hash}")
        print(f"Schedule fingerprint: {lock.schedule_fingerprint}")
        print("Log every day with `nof1 log`; see where you are with `nof1 status`.")


@app.command()
@handle_errors
def amend(
    reason: Annotated[
        str, typer.Option("--reason", help="Why the protocol changed (required, recorded).")
    ] = "",
    trial: TrialOption = HERE,
) -> None:
    """Record the edited protocol.toml as an amendment of the locked protocol.

    Needed after editing a locked section (arms, design, blinding, outcomes, analysis): until
    then logging and analysis are refused. An amendment may not change the plan of a day that
    is already past or logged.
    """
    with _open(trial) as ws:
        amendment = ws.amend(reason)
        print(
            f"Amendment recorded ({', '.join(amendment.sections)}): {amendment.reason}\n"
            f"Protocol SHA-256 now {amendment.protocol_hash}"
        )


@app.command("stop")
@handle_errors
def stop_(
    reason: Annotated[
        str, typer.Option("--reason", help="Why the trial stops early (required, recorded).")
    ] = "",
    date: Annotated[
        str, typer.Option("--date", "-d", help="Last trial day: YYYY-MM-DD, today or yesterday.")
    ] = "today",
    trial: TrialOption = HERE,
) -> None:
    """Record that the trial stopped early (e.g. a stopping rule was met), with the reason.

    The analysis then treats the data through that day as final and the report states the early
    stop and its reason. Stop taking the trial intervention and talk to your clinician.
    """
    with _open(trial) as ws:
        stopped = ws.stop(reason, date=diary.parse_date(date))
        print(f"Trial stopped early on {stopped.date}: {stopped.reason}")
        print("The report will analyse the data through that day as final (`nof1 report`).")


@app.command()
@handle_errors
def log(
    values: Annotated[
        list[str] | None,
        typer.Argument(
            help="Outcome values as name=value, e.g. headache_day=yes peak_pain=4. Values not "
            "given are asked for (in a terminal).",
            show_default=False,
        ),
    ] = None,
    date: Annotated[
        str, typer.Option("--date", "-d", help="YYYY-MM-DD, today or yesterday (local time).")
    ] = "today",
    took: Annotated[
        str | None,
        typer.Option(
            "--took", help="Did you take the assigned treatment/pack today: yes, no or partial."
        ),
    ] = None,
    note: Annotated[str, typer.Option("--note", help="A free-text note for the day.")] = "",
    correct: Annotated[
        bool, typer.Option("--correct", help="Change an already logged day (needs --reason).")
    ] = False,
    reason: Annotated[str, typer.Option("--reason", help="Why the value is being corrected.")] = "",
    trial: TrialOption = HERE,
) -> None:
    """Record today's (or another day's) outcomes and adherence.

    Example: nof1 log headache_day=yes peak_pain=6 severity=moderate acute_med_days=1 --took yes

    A day is logged once; to change it later use --correct --reason "...": the new value counts
    and the old one stays in `nof1 history DATE`.
    """
    with _open(trial) as ws:
        day_date = diary.parse_date(date)
        day = diary.check_date(ws, day_date)
        assert day is not None
        diary.check_day_state(ws, day_date, correct=correct, reason=reason)
        protocol = ws.protocol
        given = diary.parse_pairs(protocol, values or [])
        missing = diary.missing_outcomes(ws, day_date, given, correct=correct)
        ask_took = took is None and diary.needs_adherence(day) and not correct
        if (missing or ask_took) and not _interactive():
            names = [o.name for o in missing] + (["--took"] if ask_took else [])
            raise EntryError(
                f"missing value{'s' if len(names) > 1 else ''} for {', '.join(names)} and no "
                "terminal to ask: give every outcome as name=value"
                + (" and --took yes|no|partial" if ask_took else "")
            )
        for spec in missing:
            given[spec.name] = _ask(spec)
        if ask_took:
            took = _ask_took()
        result = diary.log_day(
            ws, day_date, given, took=took, note=note, correct=correct, reason=reason
        )
        where = f"day {day.number}, run-in" if day.phase == "run_in" else f"day {day.number}"
        if day.phase == "period":
            where = f"day {day.number}, period {day.period} day {day.day_in_period}"
        shown = ", ".join(
            f"{name}={_show(protocol.outcome(name), v)}" for name, v in result.values.items()
        )
        verb = "Corrected" if correct else "Logged"
        took_text = f", took: {result.took}" if result.took else ""
        print(f"{verb} {day_date} ({where}): {shown}{took_text}")
        _loud(result.triggered)


def _ask(spec: OutcomeSpec) -> float:
    while True:
        text = typer.prompt(
            f"{spec.question}\n  {spec.name}: {spec.scale_text()} (e.g. "
            f"{diary.example_value(spec)})"
        )
        try:
            return diary.parse_value(spec, text)
        except EntryError as exc:
            err(f"  {exc}")


def _ask_took() -> str:
    while True:
        text = typer.prompt("Did you take today's assigned treatment/pack? (yes/no/partial)")
        try:
            return diary.parse_took(text)
        except EntryError as exc:
            err(f"  {exc}")


@app.command()
@handle_errors
def event(
    description: Annotated[
        str, typer.Option("--description", help="What happened, e.g. 'loose stools'.")
    ] = "",
    severity: Annotated[str, typer.Option("--severity", help=f"{words(SEVERITIES)}.")] = "",
    serious: Annotated[
        bool,
        typer.Option(
            "--serious/--not-serious",
            help="Serious: led to hospital, was life-threatening or disabling.",
        ),
    ] = False,
    action: Annotated[
        str, typer.Option("--action", help="What was done, e.g. 'stopped the pack for 2 days'.")
    ] = "",
    date: Annotated[
        str, typer.Option("--date", "-d", help="YYYY-MM-DD, today or yesterday.")
    ] = "today",
    trial: TrialOption = HERE,
) -> None:
    """Record an adverse event (side effect). A serious event is reported loudly."""
    with _open(trial) as ws:
        result = diary.record_event(
            ws,
            diary.parse_date(date),
            description,
            severity,
            serious=serious,
            action=action,
        )
        e = result.event
        print(
            f"Adverse event recorded for {e.date}: {e.description} ({e.severity}"
            f"{', SERIOUS' if e.serious else ''})"
        )
        if e.serious:
            err("A serious adverse event: contact your supervising clinician now.")
        _loud(result.triggered)


@app.command()
@handle_errors
def status(trial: TrialOption = HERE) -> None:
    """Where the trial stands: today's period, days logged and missing, adherence, events."""
    with _open(trial) as ws:
        s = diary.status(ws)
        if s.day is None:
            state = "before the trial" if s.today < s.start else "the trial has ended"
            print(f"Today {s.today}: {state} ({s.start} to {s.end}).")
        elif s.day.phase == "period":
            print(
                f"Today {s.today}: day {s.day.number}, period {s.day.period} "
                f"(block {s.day.block}), day {s.day.day_in_period} — take {s.label}"
                + (" (analytic washout)" if s.day.analytic_washout else "")
            )
        else:
            print(f"Today {s.today}: day {s.day.number}, {s.day.phase.replace('_', '-')}")
        if ws.stopped is not None:
            print(f"Trial stopped early on {ws.stopped.date}: {ws.stopped.reason}")
        else:
            print(f"Days left after today: {s.days_left}")
        if s.run_in_logged or s.run_in_missing:
            print(f"Run-in: {s.run_in_logged} logged, {s.run_in_missing} missing")
        print("period  block  treatment  dates                     logged  missing  adherence")
        for p in s.periods:
            if p.elapsed == 0:
                adherence = "-"
            else:
                adherence = f"{p.took_yes} yes/{p.took_partial} partial/{p.took_no} no"
            print(
                f"{p.index:>6}  {p.block:>5}  {p.label:<9}  {p.start} to {p.end}  "
                f"{p.logged:>6}  {p.missing:>7}  {adherence}"
            )
        if s.events:
            print(f"Adverse events: {len(s.events)}")
            for e in s.events:
                print(f"  {e.date} {e.severity}{' SERIOUS' if e.serious else ''}: {e.description}")
        for warning in s.warnings:
            err(f"Warning: {warning}")
        _loud(s.triggered)


@app.command()
@handle_errors
def history(
    date: Annotated[str, typer.Argument(help="YYYY-MM-DD, today or yesterday.")],
    trial: TrialOption = HERE,
) -> None:
    """Everything recorded for a day, corrections included (oldest first)."""
    with _open(trial) as ws:
        day = diary.parse_date(date)
        diary.require_started(ws)
        h = ws.store.history(day)
        if h.empty:
            print(f"Nothing recorded for {day}.")
            return
        print(f"History of {day}:")
        for entry in h.entries:
            try:
                shown = _show(ws.protocol.outcome(entry.outcome), entry.value)
            except KeyError:
                shown = f"{entry.value:g}"
            why = f"  correction: {entry.reason}" if entry.is_correction else ""
            print(f"  {_local(entry.recorded_at)}  {entry.outcome} = {shown}{why}")
        for a in h.adherence:
            why = f"  correction: {a.reason}" if a.supersedes is not None else ""
            print(f"  {_local(a.recorded_at)}  took = {a.took}{why}")
        for n in h.notes:
            print(f"  {_local(n.recorded_at)}  note: {n.text}")
        for e in h.events:
            print(f"  adverse event: {e.description} ({e.severity})")


def _local(stamp: str) -> str:
    return dt.datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")


@app.command()
@handle_errors
def backup(
    file: Annotated[Path, typer.Argument(help="New file to write the copy to.")],
    trial: TrialOption = HERE,
) -> None:
    """Write a consistent copy of the data store (safe while other commands are logging)."""
    with _open(trial) as ws:
        ws.require_locked()
        path = ws.store.backup(file)
        with ws.store.transaction("backup"):
            ws.store.audit_note("backup", str(path))
        print(f"Backed up {ws.store.count('entries')} entries to {path}")


@app.command()
@handle_errors
def restore(
    file: Annotated[Path, typer.Argument(help="A file written by `nof1 backup`.")],
    trial: TrialOption = HERE,
) -> None:
    """Replace the data store with a backup, after checking it.

    The backup must pass SQLite's integrity check, come from a compatible nof1 and belong to
    this trial. The current store is first copied next to it (nof1.sqlite.before-restore-...).
    """
    from nof1.store import check_backup

    with _open(trial) as ws:
        info = check_backup(file, trial_id=ws.protocol.trial_id)
        safety = None
        if ws.store_path.exists():
            stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
            safety = ws.store.backup(ws.path / f"{ws.store_path.name}.before-restore-{stamp}")
        ws.store.restore(file, trial_id=ws.protocol.trial_id)
        with ws.store.transaction("restore"):
            ws.store.audit_note("restore", str(file))
        print(f"Restored {info.entries} entries from {file}.")
        if safety is not None:
            print(f"The previous store was kept as {safety}")


@app.command("export")
@handle_errors
def export_(
    file: Annotated[Path, typer.Argument(help="File to write (.csv or .json).")],
    format: Annotated[
        str | None,
        typer.Option("--format", "-f", help="csv or json (default: from the file name)."),
    ] = None,
    trial: TrialOption = HERE,
) -> None:
    """Export the diary in the tidy format (one row per day and outcome; see docs/tidy-format.md).

    In a blinded trial the arm column shows the pack codes until the allocation is revealed.
    """
    from nof1 import tidy

    with _open(trial) as ws:
        rows = tidy.export(ws, file, fmt=format)
        print(f"Wrote {rows} rows to {file}")


@app.command("import")
@handle_errors
def import_(
    file: Annotated[Path, typer.Argument(help="A tidy CSV or JSON file (docs/tidy-format.md).")],
    trial: TrialOption = HERE,
) -> None:
    """Import days from a tidy CSV/JSON file: every row is checked first; all or nothing."""
    from nof1 import tidy

    with _open(trial) as ws:
        result = tidy.import_file(ws, file)
        print(
            f"Imported {result.entries} values for {result.days} days"
            + (f" ({result.unchanged} rows already present, skipped)" if result.unchanged else "")
        )
