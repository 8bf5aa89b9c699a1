"""CLI commands for the daily diary: start, amend, log, event, status, history, backup, verify,
restore, export, import.

Only light modules (stdlib + attrs) are imported here: ``nof1 log`` must start fast and must not
load numpy, PyMC, ArviZ or matplotlib.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer

from nof1 import diary, diary_safety
from nof1.cli.base import ForceOption, TrialOption, app, err, handle_errors, printable
from nof1.errors import EntryError
from nof1.protocol import OutcomeSpec
from nof1.vocab import SEVERITIES, words
from nof1.workspace import Workspace
from nof1.workspace_amend import shown_value, stored_value_problem

HERE = Path(".")


def _open(trial: Path) -> Workspace:
    """Open the workspace and print its lock warnings to stderr."""
    ws = Workspace.open(trial)
    for warning in ws.warnings():
        err(f"Warning: {warning}")
    return ws


def _interactive() -> bool:
    return sys.stdin.isatty()


def _announce(ws: Workspace, triggered: tuple[diary_safety.TriggeredRule, ...]) -> None:
    """Met stopping rules on stderr: a loud block until reviewed (or stopped), then one line."""
    if not triggered:
        return
    state = diary_safety.safety(ws)
    today = ws.schedule.day(dt.date.today())
    for rule in triggered:
        loud, lines = diary_safety.banner(rule, today, state)
        if loud:
            err("!" * 72)
            for line in lines:
                err(line)
            err("!" * 72)
        else:
            for line in lines:
                err(line)


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
        info = ws.lock_info()
        if info is not None and not info.locked_before_day1:
            err(
                f"Warning: day 1 ({info.day1}) has already passed: the protocol is locked after "
                "data collection began, and the report will say so. Lock before day 1 next time."
            )


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
    then logging and analysis are refused. Refused, listing every problem, when it would change
    a day already past or logged (its plan, or what its arm is: name, dose, timing, category,
    pack), make stored values invalid, or expose a blinded allocation before the reveal.
    """
    with _open(trial) as ws:
        amendment = ws.amend(reason)
        print(
            f"Amendment recorded ({', '.join(amendment.sections)}): "
            f"{printable(amendment.reason)}\n"
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
        print(f"Trial stopped early on {stopped.date}: {printable(stopped.reason)}")
        print("The report will analyse the data through that day as final (`nof1 report`).")
        print(
            "Do not take the trial intervention; contact your supervising clinician. Follow-up "
            "days can still be logged (nof1 log)."
        )


@app.command()
@handle_errors
def review(
    rule: Annotated[
        str,
        typer.Option(
            "--rule",
            help="The stopping rule reviewed: its name as `nof1 status` shows it (e.g. "
            "serious_adverse_event, peak_pain_threshold) or its number in the protocol.",
        ),
    ] = "",
    by: Annotated[
        str, typer.Option("--by", help="Who reviewed it, e.g. the supervising clinician.")
    ] = "",
    decision: Annotated[
        str, typer.Option("--decision", help="continue or stop (stop records the early stop).")
    ] = "",
    note: Annotated[str, typer.Option("--note", help="What was decided and why.")] = "",
    trial: TrialOption = HERE,
) -> None:
    """Record a clinician's review of a met stopping rule (append-only, audited).

    --decision continue quiets the stopping-rule banner to one line until new evidence meets
    the rule again; --decision stop records the early stop, as `nof1 stop` does. The report
    shows each rule's timeline: met on, reviewed by, decision.
    """
    with _open(trial) as ws:
        result = diary_safety.review_rule(ws, rule, by, decision, note)
        r = result.review
        print(
            f"Review recorded: stopping rule {printable(r.rule)} (met on {r.met_on}) reviewed by "
            f"{printable(r.by)}: "
            f"{r.decision}."
        )
        if r.decision == "continue":
            print(
                "The stopping-rule warning is now one line; it is loud again if new evidence "
                "meets the rule."
            )
        elif result.stop is not None:
            how = "was already stopped" if result.already_stopped else "is stopped"
            print(
                f"The trial {how} (last trial day {result.stop.date}): "
                f"{printable(result.stop.reason)}"
            )
            print(
                "Do not take the trial intervention. The report will analyse the data through "
                "that day as final (`nof1 report`)."
            )


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

    Questions the protocol asks only on some days (ask_if, e.g. peak_pain only when
    headache_day == yes) are not asked, and refused, on the other days.

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
        diary.check_skip_logic(ws, day_date, given, correct=correct)
        missing = diary.missing_outcomes(ws, day_date, given, correct=correct)
        ask_took = took is None and diary.needs_adherence(day, ws) and not correct
        if (missing or ask_took) and not _interactive():
            names = [o.name for o in missing] + (["--took"] if ask_took else [])
            raise EntryError(
                f"missing value{'s' if len(names) > 1 else ''} for {', '.join(names)} and no "
                "terminal to ask: give every outcome as name=value"
                + (" and --took yes|no|partial" if ask_took else "")
            )
        while missing:  # in protocol order: an answer may skip later questions (ask_if)
            given[missing[0].name] = _ask(missing[0])
            missing = diary.missing_outcomes(ws, day_date, given, correct=correct)
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
        for warning in result.warnings:
            err(f"Warning: {warning}")
        _announce(ws, result.triggered)


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
            f"Adverse event recorded for {e.date}: {printable(e.description)} ({e.severity}"
            f"{', SERIOUS' if e.serious else ''})"
        )
        if e.serious:
            err("A serious adverse event: contact your supervising clinician now.")
        _announce(ws, result.triggered)


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
            take = f" — take {s.label}" if not s.advice else ""
            print(
                f"Today {s.today}: day {s.day.number}, period {s.day.period} "
                f"(block {s.day.block}), day {s.day.day_in_period}{take}"
                + (" (analytic washout)" if s.day.analytic_washout and not s.advice else "")
            )
        else:
            print(f"Today {s.today}: day {s.day.number}, {s.day.phase.replace('_', '-')}")
        if s.advice:
            print(s.advice)
        if ws.stopped is not None:
            print(f"Trial stopped early on {ws.stopped.date}: {printable(ws.stopped.reason)}")
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
                print(
                    f"  {e.date} {e.severity}{' SERIOUS' if e.serious else ''}: "
                    f"{printable(e.description)}"
                )
        for warning in s.warnings:
            err(f"Warning: {warning}")
        _announce(ws, s.triggered)
        _integrity(ws)


def _integrity(ws: Workspace) -> bool:
    """Run `nof1 verify`'s check; print one line when it passes, a loud banner when not."""
    from nof1.integrity import verify

    report = verify(ws)
    if report.ok:
        print(f"Data {report.summary()}.")
        return True
    err("!" * 72)
    err(f"{report.summary()}:")
    for line in report.lines()[:10]:
        err(f"  - {line}")
    if len(report.problems) > 10:
        err(f"  - ... and {len(report.problems) - 10} more (run `nof1 verify`)")
    err("Keep a copy of nof1.sqlite as it is and tell your supervising clinician.")
    err("!" * 72)
    return False


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
        protocol = ws.protocol
        for entry in h.entries:
            name = entry.outcome if len(entry.outcome) <= 40 else f"{entry.outcome[:40]}…"
            shown = shown_value(protocol, entry.outcome, entry.value)
            problem = stored_value_problem(protocol, entry.outcome, entry.value)
            flag = "" if problem is None else f"  (does not fit the protocol: {_clip(problem)})"
            why = f"  correction: {printable(entry.reason)}" if entry.is_correction else ""
            print(
                f"  {_local(entry.recorded_at)}  {printable(name)} = {printable(shown)}{flag}{why}"
            )
        for a in h.adherence:
            why = f"  correction: {printable(a.reason)}" if a.supersedes is not None else ""
            print(f"  {_local(a.recorded_at)}  took = {a.took}{why}")
        for n in h.notes:
            print(f"  {_local(n.recorded_at)}  note: {printable(n.text)}")
        for e in h.events:
            print(f"  adverse event: {printable(e.description)} ({e.severity})")


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…"


def _local(stamp: str) -> str:
    try:
        return dt.datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError, OverflowError):  # written outside nof1: show what is there
        return _clip(repr(stamp), 32)


@app.command()
@handle_errors
def backup(
    file: Annotated[Path, typer.Argument(help="New file to write the copy to.")],
    trial: TrialOption = HERE,
    force: ForceOption = False,
) -> None:
    """Write a consistent copy of the data store (safe while other commands are logging).

    Runs the `nof1 verify` check first and prints the hash chain head: write it down (or mail
    it to your clinician) — a later `nof1 verify` of the copy must show the same or a newer
    chain containing it. A store that fails the check is still copied, with a loud warning.
    Works on a read-only trial folder too (the backup is then not noted in the audit trail).
    """
    with _open(trial) as ws:
        ws.require_locked()
        intact = _integrity(ws)
        path = ws.store.backup(file, force=force, protected=ws.protected_paths(file))
        if ws.store.read_only:
            err("Note: the trial folder is read-only, so this backup is not noted in its audit.")
        else:
            with ws.store.transaction("backup"):
                ws.store.audit_note("backup", str(path))
        print(f"Backed up {ws.store.count('entries')} entries to {path}")
        print(f"Chain head: {ws.store.chain_head()} (keep it with the copy)")
        if not intact:
            err("Warning: the copy holds the altered store as it is now (see above).")


@app.command()
@handle_errors
def verify(trial: TrialOption = HERE) -> None:
    """Check that the data store is exactly what nof1 wrote (tamper evidence).

    Checks SQLite's integrity, that the append-only triggers exist, the hash chain over every
    stored row (edited, deleted or inserted rows break it) and the locked protocol and schedule
    against their recorded hashes. Exits 1 naming each altered table, row and what changed.
    See docs/integrity.md.
    """
    from nof1.errors import StoreError
    from nof1.integrity import verify as check

    with Workspace.open(trial) as ws:
        if not ws.store_path.exists():
            raise StoreError(f"no data store at {ws.store_path}: run `nof1 start` first")
        report = check(ws)
        print(f"Store: {ws.store_path}")
        print(f"Triggers: {report.triggers}; hash chain: {report.chain_length} rows")
        print(f"Chain head: {report.chain_head}")
        if not report.ok:
            for line in report.lines():
                err(f"  - {line}")
            raise StoreError(report.summary())
        print(f"Trial identifier: {ws.store.trial_uid()}")
        info = ws.lock_info()
        if info is not None:
            print(f"Protocol SHA-256 (at lock): {info.protocol_hash}")
            print(
                "Locked before day 1"
                if info.locked_before_day1
                else f"Locked AFTER data collection began (day 1 was {info.day1})"
            )
        print(report.summary().capitalize() + ".")


@app.command()
@handle_errors
def restore(
    file: Annotated[Path, typer.Argument(help="A file written by `nof1 backup`.")],
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Restore even a backup of another trial (identifier or hashes differ)."
        ),
    ] = False,
    trial: TrialOption = HERE,
) -> None:
    """Replace the data store with a backup, after checking it.

    The backup must pass SQLite's integrity check, come from a compatible nof1 and belong to
    this trial (same trial identifier, locked protocol hash and schedule fingerprint; --force
    overrides). A healthy store is first copied next to it (nof1.sqlite.before-restore-...); a
    damaged one (truncated, unreadable) is moved aside as nof1.sqlite.damaged-... and repaired
    from the backup.
    """
    with Workspace.open(trial) as ws:  # no lock warnings: the store may be damaged
        result = ws.restore(file, force=force)
        if result.damaged is not None:
            print(
                f"The data store was damaged ({result.damage}); it was moved aside as "
                f"{result.damaged.name} (with its -wal/-shm files) and repaired from the backup."
            )
        for difference in result.forced:
            err(f"Warning: restored with --force although {difference}.")
        print(f"Restored {result.backup.entries} entries from {file}.")
        if result.kept is not None:
            print(f"The previous store was kept as {result.kept}")
        _integrity(ws)  # a backup altered outside nof1 is restored as it is, and said so


@app.command("export")
@handle_errors
def export_(
    file: Annotated[Path, typer.Argument(help="File to write (.csv or .json).")],
    format: Annotated[
        str | None,
        typer.Option("--format", "-f", help="csv or json (default: from the file name)."),
    ] = None,
    trial: TrialOption = HERE,
    force: ForceOption = False,
) -> None:
    """Export the diary in the tidy format (one row per day and outcome; see docs/tidy-format.md).

    In a blinded trial the arm column shows the pack codes until the allocation is revealed.
    """
    from nof1 import tidy

    with _open(trial) as ws:
        rows = tidy.export(ws, file, fmt=format, force=force)
        print(f"Wrote {rows} rows to {file}")
        misfits = [
            f"{o.date} {_clip(o.outcome, 40)} = {shown_value(ws.protocol, o.outcome, o.value)}: "
            f"{_clip(problem)}"
            for o in ws.observations()
            if (problem := stored_value_problem(ws.protocol, o.outcome, o.value)) is not None
        ]
        if misfits:
            err(
                f"Warning: {len(misfits)} exported value{'s' if len(misfits) > 1 else ''} "
                "do not fit the protocol in force and were exported as stored, e.g. "
                f"{'; '.join(misfits[:3])}"
            )


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
