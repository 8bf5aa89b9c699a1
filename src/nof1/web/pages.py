"""The pages of the phone diary: today, diary form, side effect, progress, correct a day, reports.

Each handler parses the form, calls the library function the CLI calls (:func:`nof1.diary.log_day`,
:func:`nof1.diary.record_event`, :func:`nof1.diary.today`, :func:`nof1.diary.status`) and
renders a template. Validation is the library's: an :class:`~nof1.errors.EntryError` re-shows the
form with its text next to the field it names, and nothing is written. The workspace is opened
per request in a worker thread (SQLite connections belong to one thread), so the phone and the
CLI write through the same store transactions.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from attrs import frozen
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from nof1 import diary, diary_safety
from nof1.errors import EntryError, Nof1Error
from nof1.protocol import OutcomeSpec, TrialProtocol
from nof1.schedule import Day
from nof1.store import History
from nof1.web.security import REPORT_CSP, Attempts, Keys
from nof1.workspace import Workspace
from nof1.workspace_amend import shown_value

_REPORT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.html$")
#: A scale with at most this many whole-number steps is shown as buttons, not a number field.
MAX_BUTTONS = 11


@frozen
class Site:
    """What every page needs: the trial folder, the secrets, the templates and the clock."""

    trial: Path
    keys: Keys
    attempts: Attempts
    templates: Jinja2Templates
    clock: Callable[[], dt.date] = dt.date.today


def site(request: Request) -> Site:
    value: Site = request.app.state.site
    return value


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    s = site(request)
    page = name.split(".")[0].split("_")[0].replace("saved", "diary")
    context = {"csrf": s.keys.csrf, "today": s.clock(), "page": page, **context}
    return s.templates.TemplateResponse(request, name, context, status_code=status)


# --------------------------------------------------------------------------------------------
# Form fields from the protocol
# --------------------------------------------------------------------------------------------


@frozen
class Option:
    value: str  # what the form sends (the text the CLI would accept)
    label: str
    number: float  # the stored value (for the skip logic in app.js)


@frozen
class Question:
    """One outcome as a form field."""

    spec: OutcomeSpec
    options: tuple[Option, ...]  # empty: a number field
    value: str
    error: str
    condition: str  # "" or the ask_if in words
    example: str  # a plausible answer, as `nof1 log` shows in its prompt

    @property
    def name(self) -> str:
        return self.spec.name


def _options(spec: OutcomeSpec) -> tuple[Option, ...]:
    """Answer buttons: yes/no, the categories, or each step of a short whole-number scale
    (0–10 pain, 0–10 doses); other scales are a number field."""
    if spec.kind == "binary":
        return (Option("yes", "Yes", 1.0), Option("no", "No", 0.0))
    if spec.kind == "ordinal":
        return tuple(Option(c, c, float(i)) for i, c in enumerate(spec.categories))
    low = 0.0 if spec.kind == "count" and spec.minimum is None else spec.minimum
    high = spec.maximum
    if low is None or high is None or not (low.is_integer() and high.is_integer()):
        return ()
    if not 0 < high - low < MAX_BUTTONS:
        return ()
    return tuple(Option(f"{n}", f"{n}", float(n)) for n in range(int(low), int(high) + 1))


def _condition_text(protocol: TrialProtocol, spec: OutcomeSpec) -> str:
    condition = spec.ask_if
    if condition is None:
        return ""
    target = protocol.outcome(condition.outcome)
    shown = diary.show_value(target, condition.value)
    words = {"==": "is", "!=": "is not", ">=": "is at least", "<=": "is at most"}
    op = words.get(condition.operator, condition.operator)
    return f"Only if “{target.title}” {op} {shown}"


def questions(
    protocol: TrialProtocol, values: Mapping[str, str], errors: Mapping[str, str]
) -> list[Question]:
    return [
        Question(
            spec=o,
            options=_options(o),
            value=values.get(o.name, ""),
            error=errors.get(o.name, ""),
            condition=_condition_text(protocol, o),
            example=diary.example_value(o),
        )
        for o in protocol.outcomes
    ]


def field_of(message: str, fields: list[str]) -> str:
    """The form field an error message names first (``""``: a message for the whole form)."""
    found = []
    for name in fields:
        key = name.lstrip("-")
        match = re.search(rf"(?<![A-Za-z0-9_]){re.escape(key)}(?![A-Za-z0-9_])", message)
        if match:
            found.append((match.start(), name))
    return min(found)[1] if found else ""


def _text(form: FormData, key: str) -> str:
    """A text field, whole (a file upload or a missing field is empty). Never cut: a cut value
    could turn garbage into a valid answer; the body limit bounds the size."""
    value = form.get(key)
    return value if isinstance(value, str) else ""


def banners(
    ws: Workspace, triggered: tuple[diary_safety.TriggeredRule, ...], today: dt.date
) -> list[tuple[bool, list[str]]]:
    """Met stopping rules in the words the CLI prints: ``(loud, lines)`` per rule."""
    if not triggered:
        return []
    state = diary_safety.safety(ws)
    day = ws.schedule.day(today)
    return [diary_safety.banner(rule, day, state) for rule in triggered]


def take_question(ws: Workspace, day: Day) -> str:
    label = ws.arm_label(day.arm)
    if day.arm is not None and label == day.arm:
        label = ws.protocol.arm(day.arm).name
    return f"Did you take {label} on this day?"


# --------------------------------------------------------------------------------------------
# Sign-in
# --------------------------------------------------------------------------------------------


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def login(request: Request) -> Response:
    """``/login?token=...`` (the printed URL) or the pasted code: set the session cookie."""
    s = site(request)
    client = _client(request)
    if request.method == "POST":
        form = await request.form()
        token = _text(form, "token").strip()
    else:
        token = request.query_params.get("token", "").strip()
    if not token:
        return render(request, "login.html.j2", {"error": ""}, status=401)
    if s.attempts.blocked(client):
        response = render(
            request,
            "login.html.j2",
            {"error": "Too many wrong codes: wait 10 minutes, then open the printed link again."},
            status=429,
        )
        response.headers["retry-after"] = "600"
        return response
    if not s.keys.token_ok(token):
        s.attempts.fail(client)
        return render(
            request,
            "login.html.j2",
            {"error": "That access code is not right (or was replaced with --new-token)."},
            status=403,
        )
    response = RedirectResponse("/", status_code=303)  # the token leaves the address bar
    response.headers.append("set-cookie", s.keys.cookie_header())
    return response


# --------------------------------------------------------------------------------------------
# Today
# --------------------------------------------------------------------------------------------


def _today(s: Site) -> dict[str, Any]:
    with Workspace.open(s.trial) as ws:
        when = s.clock()
        view = diary.today(ws, when)
        yesterday = when - dt.timedelta(days=1)
        yesterday_open = (
            ws.is_locked
            and ws.schedule.day(yesterday) is not None
            and not ws.store.day_entries(yesterday)
        )
        return {
            "title": ws.protocol.title,
            "view": view,
            "yesterday": yesterday,
            "yesterday_open": yesterday_open,
            "warnings": ws.warnings(),
        }


async def today_page(request: Request) -> Response:
    return render(request, "today.html.j2", await run_in_threadpool(_today, site(request)))


# --------------------------------------------------------------------------------------------
# Diary form
# --------------------------------------------------------------------------------------------


def _diary_context(
    ws: Workspace,
    s: Site,
    date_text: str,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    *,
    took: str = "",
    note: str = "",
) -> dict[str, Any]:
    protocol = ws.protocol
    context: dict[str, Any] = {
        "title": protocol.title,
        "date_text": date_text,
        "errors": errors,
        "took": took,
        "note": note,
        "questions": questions(protocol, values, errors),
        "date": None,
        "day": None,
        "logged": [],
        "take": "",
    }
    try:
        date = diary.parse_date(date_text, today=s.clock())
        day = diary.check_date(ws, date, today=s.clock())
    except Nof1Error as exc:
        context["errors"] = {**errors, "date": str(exc)}
        return context
    assert day is not None
    context["date"] = date
    context["day"] = day
    context["yesterday"] = date - dt.timedelta(days=1)
    context["is_today"] = date == s.clock()
    context["needs_took"] = diary.needs_adherence(day)
    context["take"] = take_question(ws, day)
    context["logged"] = [
        (protocol.outcome(e.outcome).title, shown_value(protocol, e.outcome, e.value))
        for e in ws.store.day_entries(date)
        if e.outcome in {o.name for o in protocol.outcomes}
    ]
    return context


def _diary_get(s: Site, date_text: str) -> dict[str, Any]:
    with Workspace.open(s.trial) as ws:
        return _diary_context(ws, s, date_text, {}, {})


async def diary_page(request: Request) -> Response:
    date_text = request.query_params.get("date", "today")
    context = await run_in_threadpool(_diary_get, site(request), date_text)
    status = 400 if "date" in context["errors"] else 200
    return render(request, "diary.html.j2", context, status=status)


def _diary_post(s: Site, form: FormData) -> tuple[int, dict[str, Any]]:
    date_text = _text(form, "date") or "today"
    with Workspace.open(s.trial) as ws:
        protocol = ws.protocol
        values = {
            o.name: _text(form, o.name).strip()
            for o in protocol.outcomes
            if _text(form, o.name).strip()
        }
        took = _text(form, "took").strip()
        note = _text(form, "note").strip()
        try:
            date = diary.parse_date(date_text, today=s.clock())
            result = diary.log_day(
                ws,
                date,
                values,
                took=took or None,
                note=note,
                today=s.clock(),
                source="web",
            )
        except Nof1Error as exc:
            fields = ["date", *(o.name for o in protocol.outcomes), "--took", "took", "note"]
            where = field_of(str(exc), fields).lstrip("-") or "form"
            context = _diary_context(ws, s, date_text, values, {where: str(exc)}, took=took)
            context["note"] = note
            return 400, context
        return 200, {
            "title": protocol.title,
            "verb": "Logged",
            "date": result.date,
            "shown": [
                (protocol.outcome(n).title, diary.show_value(protocol.outcome(n), v))
                for n, v in result.values.items()
            ],
            "took": result.took,
            "banners": banners(ws, result.triggered, s.clock()),
        }


async def diary_submit(request: Request) -> Response:
    form = await request.form()
    if not site(request).keys.csrf_ok("diary", _text(form, "csrf")):
        return _csrf_refused()
    status, context = await run_in_threadpool(_diary_post, site(request), form)
    return render(request, "diary.html.j2" if status != 200 else "saved.html.j2", context, status)


async def trial_problem(request: Request, exc: Exception) -> Response:
    """A problem with the trial folder itself (protocol.toml broken, store unreadable, folder
    gone; 500) or its state (not started yet; 409): the library's words, and the server keeps
    running."""
    status = 409 if isinstance(exc, EntryError) else 500
    return render(
        request,
        "problem.html.j2",
        {"title": "nof1 diary", "message": str(exc), "status": status},
        status,
    )


def _csrf_refused() -> Response:
    return HTMLResponse(
        "<!doctype html><title>Refused</title><p>This form has expired or did not come from "
        "this diary: go back, reload the page and send it again.</p>",
        status_code=403,
    )


# --------------------------------------------------------------------------------------------
# Side effect (adverse event)
# --------------------------------------------------------------------------------------------


def _event_get(s: Site) -> dict[str, Any]:
    with Workspace.open(s.trial) as ws:
        return {"title": ws.protocol.title, "errors": {}, "form": {"date": s.clock().isoformat()}}


async def event_page(request: Request) -> Response:
    return render(request, "event.html.j2", await run_in_threadpool(_event_get, site(request)))


def _event_post(s: Site, form: FormData) -> tuple[int, dict[str, Any]]:
    fields = {k: _text(form, k).strip() for k in ("date", "description", "severity", "action")}
    serious = _text(form, "serious") == "yes"
    with Workspace.open(s.trial) as ws:
        try:
            date = diary.parse_date(fields["date"] or "today", today=s.clock())
            result = diary.record_event(
                ws,
                date,
                fields["description"],
                fields["severity"],
                serious=serious,
                action=fields["action"],
                today=s.clock(),
                source="web",
            )
        except Nof1Error as exc:
            names = ["date", "--description", "description", "--severity", "severity", "action"]
            where = field_of(str(exc), names).lstrip("-") or "form"
            form_values = {**fields, "serious": "yes" if serious else ""}
            return 400, {
                "title": ws.protocol.title,
                "errors": {where: str(exc)},
                "form": form_values,
            }
        return 200, {
            "title": ws.protocol.title,
            "event": result.event,
            "banners": banners(ws, result.triggered, s.clock()),
        }


async def event_submit(request: Request) -> Response:
    form = await request.form()
    if not site(request).keys.csrf_ok("event", _text(form, "csrf")):
        return _csrf_refused()
    status, context = await run_in_threadpool(_event_post, site(request), form)
    name = "event.html.j2" if status != 200 else "event_saved.html.j2"
    return render(request, name, context, status)


# --------------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------------


@frozen
class Cell:
    date: dt.date | None  # None: padding before the first day / after the last
    number: int = 0
    label: str = ""  # pack code (blinded) or arm, "run-in", "washout"
    state: str = ""  # logged, missing, today, future
    group: str = ""  # css class of the period's colour
    month: str = ""  # "Dec" on the first day shown and on each 1st


def _progress(s: Site) -> dict[str, Any]:
    with Workspace.open(s.trial) as ws:
        today = s.clock()
        status = diary.status(ws, today=today)
        schedule = ws.schedule
        logged = ws.store.logged_dates()
        codes = sorted({ws.arm_label(p.arm) for p in schedule.periods})
        cells = [Cell(None)] * schedule.start.weekday()
        for day in schedule.days():
            if day.phase == "period":
                label = ws.arm_label(day.arm)
                group = f"g{codes.index(label)}"
            else:
                label, group = day.phase.replace("_", "-"), "other"
            if day.date in logged:
                state = "logged today" if day.date == today else "logged"
            elif day.date == today:
                state = "today"
            elif day.date < today:
                state = "missing"
            else:
                state = "future"
            month = day.date.strftime("%b") if day.number == 1 or day.date.day == 1 else ""
            cells.append(Cell(day.date, day.number, label, state, group, month))
        cells += [Cell(None)] * (-len(cells) % 7)
        weeks = [cells[i : i + 7] for i in range(0, len(cells), 7)]
        return {
            "title": ws.protocol.title,
            "status": status,
            "weeks": weeks,
            "legend": [(c, f"g{i}") for i, c in enumerate(codes)],
            "stopped": diary_safety.stopped_line(ws.stopped) if ws.stopped else "",
            "banners": banners(ws, status.triggered, today),
        }


async def progress_page(request: Request) -> Response:
    return render(request, "progress.html.j2", await run_in_threadpool(_progress, site(request)))


# --------------------------------------------------------------------------------------------
# Correct a day
# --------------------------------------------------------------------------------------------


def _history_rows(ws: Workspace, h: History) -> list[tuple[str, str, str, str]]:
    """(when, what, value, why) for each record of a day, oldest first."""
    rows = []
    for e in h.entries:
        try:
            what = ws.protocol.outcome(e.outcome).title
        except KeyError:
            what = e.outcome
        shown = shown_value(ws.protocol, e.outcome, e.value)  # as `nof1 history` shows it
        why = f"correction: {e.reason}" if e.is_correction else ""
        rows.append((e.recorded_at, what, shown, _from(e.source, why)))
    for a in h.adherence:
        why = f"correction: {a.reason}" if a.supersedes is not None else ""
        rows.append((a.recorded_at, "Took", a.took, _from(a.source, why)))
    for n in h.notes:
        rows.append((n.recorded_at, "Note", n.text, _from(n.source, "")))
    # stamps are UTC ISO 8601: sorting them is sorting by time
    return [(_local(when), what, value, why) for when, what, value, why in sorted(rows)]


def _from(source: str, why: str) -> str:
    where = "phone" if source == "web" else "terminal"
    return f"{why} ({where})" if why else f"({where})"


def _local(stamp: str) -> str:
    return dt.datetime.fromisoformat(stamp).astimezone().strftime("%-d %b %H:%M")


def _correct_context(
    ws: Workspace,
    s: Site,
    date_text: str,
    errors: Mapping[str, str],
    values: Mapping[str, str] | None = None,
    *,
    reason: str = "",
    took: str | None = None,
) -> dict[str, Any]:
    protocol = ws.protocol
    context: dict[str, Any] = {
        "title": protocol.title,
        "date_text": date_text,
        "errors": errors,
        "reason": reason,
        "date": None,
        "questions": [],
        "history": [],
    }
    try:
        date = diary.parse_date(date_text, today=s.clock())
        day = diary.check_date(ws, date, today=s.clock())
    except Nof1Error as exc:
        context["errors"] = {**errors, "date": str(exc)}
        return context
    assert day is not None
    current = _current(ws, date)
    context.update(
        date=date,
        day=day,
        history=_history_rows(ws, ws.store.history(date)),
        questions=questions(protocol, {**current, **(values or {})}, errors),
        took=current.get("took", "") if took is None else took,
        needs_took=diary.needs_adherence(day) or "took" in current,
        take=take_question(ws, day),
        empty=not ws.store.day_entries(date),
    )
    return context


def _current(ws: Workspace, date: dt.date) -> dict[str, str]:
    """The values in force for a day, as the form shows them."""
    protocol = ws.protocol
    names = {o.name for o in protocol.outcomes}
    current = {
        e.outcome: _form_value(protocol.outcome(e.outcome), e.value)
        for e in ws.store.day_entries(date)
        if e.outcome in names
    }
    took = [a for a in ws.store.history(date).adherence]
    if took:
        current["took"] = took[-1].took
    return current


def _form_value(spec: OutcomeSpec, value: float) -> str:
    """A stored value as the form's answer; empty when it does not fit the scale any more."""
    if value != value:  # NaN: a row written outside nof1
        return ""
    try:
        spec.check_value(value)
    except ValueError:
        return ""
    if spec.kind in ("binary", "ordinal"):
        return diary.show_value(spec, value)
    return f"{value:g}"


def _correct_get(s: Site, date_text: str) -> dict[str, Any]:
    with Workspace.open(s.trial) as ws:
        return _correct_context(ws, s, date_text, {})


async def correct_page(request: Request) -> Response:
    date_text = request.query_params.get("date", "today")
    context = await run_in_threadpool(_correct_get, site(request), date_text)
    status = 400 if "date" in context["errors"] else 200
    return render(request, "correct.html.j2", context, status=status)


def _correct_post(s: Site, form: FormData) -> tuple[int, dict[str, Any]]:
    date_text = _text(form, "date") or "today"
    reason = _text(form, "reason").strip()
    with Workspace.open(s.trial) as ws:
        protocol = ws.protocol
        sent = {o.name: _text(form, o.name).strip() for o in protocol.outcomes}
        took = _text(form, "took").strip()
        note = _text(form, "note").strip()
        try:
            date = diary.parse_date(date_text, today=s.clock())
            diary.check_date(ws, date, today=s.clock())
            current = _current(ws, date)
            # only what changed is corrected: an unchanged field would add a needless row
            changed = {n: v for n, v in sent.items() if v and v != current.get(n, "")}
            result = diary.log_day(
                ws,
                date,
                changed,
                took=took if took and took != current.get("took") else None,
                note=note,
                correct=True,
                reason=reason,
                today=s.clock(),
                source="web",
            )
        except Nof1Error as exc:
            fields = [
                "date",
                *(o.name for o in protocol.outcomes),
                "--reason",
                "reason",
                "--took",
                "took",
                "--correct",
            ]
            where = field_of(str(exc), fields).lstrip("-")
            if where == "correct":  # "--correct needs --reason ..." belongs next to the reason
                where = "reason" if "--reason" in str(exc) else "form"
            where = where or "form"
            values = {n: v for n, v in sent.items() if v}
            context = _correct_context(
                ws, s, date_text, {where: str(exc)}, values, reason=reason, took=took
            )
            return 400, context
        return 200, {
            "title": protocol.title,
            "verb": "Corrected",
            "date": result.date,
            "shown": [
                (protocol.outcome(n).title, diary.show_value(protocol.outcome(n), v))
                for n, v in result.values.items()
            ],
            "took": result.took,
            "banners": banners(ws, result.triggered, s.clock()),
        }


async def correct_submit(request: Request) -> Response:
    form = await request.form()
    if not site(request).keys.csrf_ok("correct", _text(form, "csrf")):
        return _csrf_refused()
    status, context = await run_in_threadpool(_correct_post, site(request), form)
    return render(request, "correct.html.j2" if status != 200 else "saved.html.j2", context, status)


# --------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------


def report_files(reports: Path) -> list[Path]:
    """The HTML reports in ``reports/``: regular files only, no links, nothing outside it."""
    if not reports.is_dir() or reports.is_symlink():
        return []
    root = reports.resolve()
    found = []
    for path in reports.iterdir():
        if not _REPORT_NAME.match(path.name) or path.is_symlink() or not path.is_file():
            continue
        if path.resolve().parent != root:
            continue
        found.append(path)
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def _reports(s: Site) -> dict[str, Any]:
    with Workspace.open(s.trial) as ws:
        files = report_files(ws.reports_dir)
        return {
            "title": ws.protocol.title,
            "reports": [
                (
                    p.name,
                    dt.datetime.fromtimestamp(p.stat().st_mtime).strftime("%Y-%m-%d %H:%M"),
                )
                for p in files
            ],
        }


async def reports_page(request: Request) -> Response:
    return render(request, "reports.html.j2", await run_in_threadpool(_reports, site(request)))


def _report_bytes(s: Site, name: str) -> bytes | None:
    with Workspace.open(s.trial) as ws:
        for path in report_files(ws.reports_dir):
            if path.name == name:
                return path.read_bytes()
    return None


async def report_file(request: Request) -> Response:
    name = request.path_params["name"]
    body = await run_in_threadpool(_report_bytes, site(request), name)
    if body is None:
        return HTMLResponse("<!doctype html><title>Not found</title><p>No such report.", 404)
    return Response(
        body,
        media_type="text/html; charset=utf-8",
        headers={"content-security-policy": REPORT_CSP},
    )


# --------------------------------------------------------------------------------------------
# Add to home screen
# --------------------------------------------------------------------------------------------

MANIFEST = {
    "name": "nof1 diary",
    "short_name": "Diary",
    "description": "Your daily N-of-1 trial diary, served from your own computer.",
    "start_url": "/",
    "scope": "/",
    "display": "standalone",
    "background_color": "#ffffff",
    "theme_color": "#1f5f8b",
    "icons": [
        {"src": "/static/icon-192.png", "sizes": "192x192", "type": "image/png"},
        {"src": "/static/icon-512.png", "sizes": "512x512", "type": "image/png"},
        {"src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml"},
    ],
}


async def manifest(request: Request) -> Response:
    """The web app manifest (public: it holds no diary data, only the app's name and icons)."""

    return Response(json.dumps(MANIFEST), media_type="application/manifest+json")
