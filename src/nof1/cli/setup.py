"""CLI commands for setting a trial up: templates, init, today, schedule, calendar, allocation.

Patient-facing output of a blinded trial (``today``, ``schedule``, ``calendar``) shows only the
blinding codes until the allocation is revealed with ``nof1 allocation --reveal``, which is
recorded in the store. Only the stdlib, attrs and icalendar are imported here: these commands are
on the fast daily path.
"""

from __future__ import annotations

import csv
import datetime as dt
import getpass
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from nof1 import diary, files
from nof1.cli.base import ForceOption, TrialOption, app, err, handle_errors
from nof1.diary import arm_text, shows_codes
from nof1.errors import UsageError
from nof1.schedule import Schedule
from nof1.templates import find_template, template_description, templates
from nof1.workspace import PROTOCOL_FILE, Workspace

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def parse_date(text: str, option: str, *, also: str = "") -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        words = f"a date like 2026-12-07{' ' + also if also else ''}"
        raise UsageError(f"{option} must be {words} (got {text!r})") from None


@contextmanager
def workspace(trial: Path) -> Iterator[Workspace]:
    """Open the workspace and print its warnings to stderr."""
    ws = Workspace.open(trial)
    try:
        for warning in ws.warnings():
            err(f"Warning: {warning}")
        yield ws
    finally:
        ws.close()


def _span(first: dt.date, last: dt.date) -> str:
    return f"{first.isoformat()} – {last.isoformat()}"


# --------------------------------------------------------------------------------------------
# templates and init
# --------------------------------------------------------------------------------------------


@app.command("templates")
@handle_errors
def templates_command() -> None:
    """List the protocol templates that `nof1 init --template NAME` can copy."""
    found = templates()
    if not found:
        find_template("")  # raises TemplateError naming the folders looked in
    width = max(len(name) for name in found)
    for name, path in found.items():
        print(f"{name:<{width}}  {template_description(path)}")


@app.command("init")
@handle_errors
def init_command(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="Folder for the new trial workspace (created if missing)."
        ),
    ],
    template: Annotated[
        str,
        typer.Option(
            "--template",
            metavar="NAME",
            help="Template name (see `nof1 templates`) or path to a protocol .toml file.",
        ),
    ],
    start: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="First trial day (run-in day 1): YYYY-MM-DD or today. Default: next Monday.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=2**63 - 1,
            metavar="N",
            help="Randomization seed. Default: drawn from the operating system's entropy.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create a trial workspace: DIR/protocol.toml from a template, with seed and start date.

    The template's comments are kept. Edit protocol.toml with your clinician, check the plan with
    `nof1 schedule`, then lock it with `nof1 start`. Never overwrites an existing protocol.
    """
    if start is not None and start.strip().lower() == "today":
        start_date: dt.date | None = dt.date.today()
    elif start is not None:
        start_date = parse_date(start, "--start", also="or today")
    else:
        start_date = None
    with Workspace.create(directory, template, start_date, seed) as ws:
        protocol, design = ws.protocol, ws.protocol.design
    assert design.start_date is not None
    print(
        f"Created {directory / PROTOCOL_FILE} from {find_template(template).stem} "
        f"(start {design.start_date.isoformat()}, seed {design.seed})."
    )
    print("Next: edit protocol.toml with your clinician, check `nof1 schedule`, then `nof1 start`.")
    problems = [p for p in protocol.start_problems() if not p.startswith("design.")]
    if problems:
        print("Before `nof1 start` can lock the trial:")
        for problem in problems:
            print(f"  - {problem}")


# --------------------------------------------------------------------------------------------
# today and schedule
# --------------------------------------------------------------------------------------------


@app.command("today")
@handle_errors
def today_command(
    trial: TrialOption = Path("."),
    date: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Show another day instead of today (YYYY-MM-DD).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Say which period and day it is, what to take (or which pack), and whether it is a washout."""
    with workspace(trial) as ws:
        when = parse_date(date, "--date") if date is not None else dt.date.today()
        for line in diary.today(ws, when).lines:
            print(line)


def schedule_rows(ws: Workspace) -> list[tuple[str, str, str, str, str, str]]:
    """Rows of the plan: period, block, dates, days, arm or code, analysed from."""
    schedule = ws.schedule
    rows = []
    if schedule.run_in_days:
        last = schedule.start + dt.timedelta(days=schedule.run_in_days - 1)
        rows.append(
            ("run-in", "", _span(schedule.start, last), str(schedule.run_in_days), "(baseline)", "")
        )
    for period in schedule.periods:
        rows.append(
            (
                str(period.index),
                str(period.block),
                _span(period.start, period.end),
                str(period.days),
                arm_text(ws, period.arm),
                period.analysed_start.isoformat(),
            )
        )
        if schedule.washout_days and period.index < len(schedule.periods):
            first = period.end + dt.timedelta(days=1)
            last = first + dt.timedelta(days=schedule.washout_days - 1)
            rows.append(
                ("washout", "", _span(first, last), str(schedule.washout_days), "(none)", "")
            )
    return rows


def _describe_scheme(schedule: Schedule, blocks: int, max_run: int) -> str:
    if schedule.scheme == "fixed":
        return "fixed ABAB order — NOT RANDOMIZED"
    details = {
        "pairwise": "each block AB or BA at random",
        "counterbalanced": "pairs of blocks ABBA or BAAB at random",
        "restricted": f"balanced, at most {max_run} periods of one arm in a row, at random",
    }
    return f"{schedule.scheme} ({details[schedule.scheme]}), randomized"


@app.command("schedule")
@handle_errors
def schedule_command(trial: TrialOption = Path(".")) -> None:
    """Print the whole plan as a table: periods, blocks, dates, arm (or pack), analysed from."""
    with workspace(trial) as ws:
        schedule = ws.schedule
        design = ws.protocol.design
        coded = shows_codes(ws)
        print(f"Scheme: {_describe_scheme(schedule, design.blocks, design.max_run)}")
        if schedule.randomized and not coded:
            print(f"Seed: {schedule.seed}   Sequence: {schedule.sequence}")
        print(
            f"Dates: {_span(schedule.start, schedule.end)} ({schedule.total_days} days); "
            f"{'locked' if ws.is_locked else 'not locked yet (nof1 start)'}"
        )
        if schedule.blinded:
            holder = ws.protocol.blinding.allocation_holder
            state = "revealed" if not coded else f"held by {holder}"
            packs = " and ".join(sorted(schedule.codes.values()))
            print(f"Blinded: packs {packs}; allocation {state}.")
        header = ("Period", "Block", "Dates", "Days", "Pack" if coded else "Arm", "Analysed from")
        rows = [header, *schedule_rows(ws)]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        print()
        for row in rows:
            print(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )
        if schedule.analytic_washout_days:
            print(
                f"\nThe first {schedule.analytic_washout_days} days of each period (before "
                "'Analysed from') are logged but left out of the main analysis."
            )
        if not schedule.randomized:
            print(
                "\nNOT RANDOMIZED: the fixed order can line up with time trends and "
                "expectations, and there is no randomization test; the report says so."
            )


# --------------------------------------------------------------------------------------------
# calendar and allocation
# --------------------------------------------------------------------------------------------


@app.command("calendar")
@handle_errors
def calendar_command(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE.ics", help="The .ics file to write (a new file, or --force)."),
    ],
    trial: TrialOption = Path("."),
    reminder: Annotated[
        str, typer.Option(metavar="HH:MM", help="Local time of the daily logging reminder.")
    ] = "20:00",
    no_reminder: Annotated[
        bool, typer.Option("--no-reminder", help="Leave the daily reminder out.")
    ] = False,
    force: ForceOption = False,
) -> None:
    """Write the trial calendar (RFC 5545 .ics): periods, washouts, run-in, a daily reminder.

    Import it into any calendar app. Blinded trials show only the pack codes.
    """
    from nof1.ical import calendar_bytes

    try:
        at = dt.time.fromisoformat(reminder)
    except ValueError:
        raise UsageError(f"--reminder must be a time like 20:00 (got {reminder!r})") from None
    with workspace(trial) as ws:
        schedule = ws.schedule
        stop = ws.stopped if ws.is_locked else None
        stopped = None if stop is None else stop.date
        data = calendar_bytes(
            ws.protocol, schedule, reminder=None if no_reminder else at, stopped=stopped
        )
        files.write_private(file, data, force=force, protected=ws.protected_paths(file))
        periods = [p for p in schedule.periods if stopped is None or p.start <= stopped]
        washouts = (len(periods) - 1) if schedule.washout_days else 0
        if stopped is not None and schedule.washout_days and periods:
            washouts += int(periods[-1].end < stopped)
        parts = [f"{len(periods)} period{'s' if len(periods) != 1 else ''}"]
        if washouts:
            parts.append(f"{washouts} washout{'s' if washouts != 1 else ''}")
        if schedule.run_in_days:
            parts.append("the run-in")
        reminder_text = "" if no_reminder else f" and a daily reminder at {at.strftime('%H:%M')}"
        if stopped is not None:
            reminder_text += f", ending on the early stop ({stopped.isoformat()})"
        print(f"Wrote {file}: {', '.join(parts)}{reminder_text}.")
        if stopped is not None:
            print(
                "Nothing is planned after the stop. If you imported an earlier calendar, delete "
                "it first: calendar apps keep events that a new file leaves out."
            )


def allocation_rows(ws: Workspace) -> list[dict[str, str]]:
    """The sealed list: per period its dates, code and arm."""
    schedule = ws.schedule
    return [
        {
            "period": str(p.index),
            "block": str(p.block),
            "start": p.start.isoformat(),
            "end": p.end.isoformat(),
            "code": schedule.codes[p.arm],
            "arm": p.arm,
            "treatment": ws.protocol.arm(p.arm).name,
            "dose": ws.protocol.arm(p.arm).dose,
        }
        for p in schedule.periods
    ]


def allocation_text(ws: Workspace, *, sealed: bool) -> str:
    protocol, schedule = ws.protocol, ws.schedule
    out = io.StringIO()
    if sealed:
        out.write(
            f"SEALED ALLOCATION for {protocol.blinding.allocation_holder or 'the pack preparer'}"
            " — do not show to the patient.\n"
        )
    out.write(f"Trial {protocol.trial_id} ({protocol.title}), patient {protocol.patient}\n")
    out.write(f"Schedule fingerprint {schedule.fingerprint()[:16]}\n\n")
    for arm in ("A", "B"):
        role = "comparator" if arm == "A" else "intervention"
        out.write(f"{schedule.codes[arm]} = {protocol.arm(arm).describe()} ({role}, arm {arm})\n")
    out.write("\n")
    for row in allocation_rows(ws):
        out.write(
            f"Period {row['period']:>2} (block {row['block']}): {row['start']} – {row['end']}  "
            f"{row['code']} = {row['treatment']}\n"
        )
    return out.getvalue()


@app.command("allocation")
@handle_errors
def allocation_command(
    trial: TrialOption = Path("."),
    export: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Write the sealed code → arm list for whoever prepares the packs (.csv for CSV, "
            "else text). Recorded in the audit trail (who, when, which file).",
            show_default=False,
        ),
    ] = None,
    reveal: Annotated[
        bool,
        typer.Option(
            "--reveal",
            help="Show the allocation to the patient (asks first). Recorded: who, when, why.",
        ),
    ] = False,
    by: Annotated[
        str,
        typer.Option(
            metavar="NAME",
            help="Who reveals or exports the allocation (recorded; required with --reveal; "
            "--export defaults to your login name).",
            show_default=False,
        ),
    ] = "",
    reason: Annotated[
        str,
        typer.Option(
            metavar="WHY",
            help="Why the allocation is revealed (required with --reveal).",
            show_default=False,
        ),
    ] = "",
    early: Annotated[
        bool,
        typer.Option(
            "--early",
            help="Reveal before the last trial day has ended (needs --reason; reported as a "
            "deviation).",
        ),
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Reveal without asking for confirmation.")
    ] = False,
    force: ForceOption = False,
) -> None:
    """Export the sealed allocation for the pack preparer, or reveal it (recorded).

    A blinded trial shows only pack codes everywhere else. --reveal unblinds the patient: it
    needs --by and --reason, asks for confirmation (or --yes), and is refused before the last
    trial day has ended unless --early is given (then reported as a deviation). --export is
    recorded in the audit trail with who (--by) and which file.
    """
    if export is None and not reveal:
        raise UsageError(
            "choose --export FILE (the sealed list for whoever prepares the packs) or --reveal "
            "(shows the allocation to the patient and records it)"
        )
    if export is not None and reveal:
        raise UsageError("use --export FILE or --reveal, not both")
    with workspace(trial) as ws:
        schedule = ws.schedule
        if export is not None:
            _export_allocation(ws, export, by, force=force)
            holder = ws.protocol.blinding.allocation_holder or "the person who prepares the packs"
            print(f"Wrote the sealed allocation to {export}.")
            if schedule.blinded:
                print(f"Give it to {holder} only; do not open it yourself.")
            return
        if ws.schedule.blinded and ws.is_revealed:
            first = ws.reveals()[0]
            print(f"The allocation was revealed on {first.at[:10]} by {first.by}.")
            print(allocation_text(ws, sealed=False), end="")
            return
        ws.check_reveal(by, reason, early=early)  # every refusal comes before the question
        if not yes:
            if not _interactive():
                raise UsageError(
                    "revealing the allocation needs a confirmation and there is no terminal to "
                    "ask: add --yes to confirm"
                )
            confirmed = typer.confirm(
                "This shows the patient which pack is which treatment; it cannot be undone and "
                "is recorded. Reveal the allocation now?",
                default=False,
            )
            if not confirmed:
                print("Not revealed: nothing was recorded.")
                return
        revealed = ws.record_reveal(by, reason, early=early)  # recorded before anything is shown
        if revealed.early:
            err(
                "Warning: early reveal, before the last trial day ended: the remaining days are "
                "no longer blinded, and the report will say so."
            )
        print(f"Allocation revealed (recorded, by {revealed.by}: {revealed.reason}).")
        print(allocation_text(ws, sealed=False), end="")


def _export_allocation(ws: Workspace, export: Path, by: str, *, force: bool) -> None:
    """Write the sealed list and record who wrote which file, in one store transaction."""
    if not ws.is_locked:
        err(
            "Warning: the trial is not locked yet: export again after `nof1 start` if "
            "protocol.toml changes."
        )
    if export.suffix.lower() == ".csv":
        rows = allocation_rows(ws)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    else:
        text = allocation_text(ws, sealed=True)
    who = by.strip() or _login_name()
    with ws.store.transaction("allocation"):
        # a failed write raises OutputError: the transaction rolls back, nothing is recorded
        files.write_private(export, text, force=force, protected=ws.protected_paths(export))
        ws.store.audit_note(
            "allocation export",
            f"by {who}: {export.resolve()} ({len(allocation_rows(ws))} periods)",
        )


def _interactive() -> bool:
    return sys.stdin.isatty()


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment
        return "unknown user"
