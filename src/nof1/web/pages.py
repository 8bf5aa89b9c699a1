"""The pages that record: today (what to do, and the way in), the diary form, side effects and
correcting a day.

Each handler parses the form, calls the library function the CLI calls
(:func:`nof1.diary.log_day`, :func:`nof1.diary.record_event`, :func:`nof1.diary.today`) and
renders a template. Validation is the library's: an :class:`~nof1.errors.EntryError` re-shows
the form with its text next to the field it names, and nothing is written. The workspace is
opened per request in a worker thread (SQLite connections belong to one thread), so the phone
and the CLI write through the same store transactions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from nof1 import diary
from nof1.errors import Nof1Error
from nof1.web.form import current_answers, history_rows, questions
from nof1.web.site import (
    Site,
    banners,
    csrf_refused,
    field_of,
    form_text,
    render,
    site,
    take_question,
)
from nof1.workspace import Workspace
from nof1.workspace_amend import shown_value

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


def _saved_context(ws: Workspace, s: Site, result: diary.LogResult, verb: str) -> dict[str, Any]:
    """What the "saved" page shows after a day was logged or corrected."""
    protocol = ws.protocol
    return {
        "title": protocol.title,
        "verb": verb,
        "date": result.date,
        "shown": [
            (protocol.outcome(n).title, diary.show_value(protocol.outcome(n), v))
            for n, v in result.values.items()
        ],
        "took": result.took,
        "banners": banners(ws, result.triggered, s.clock()),
    }


def _diary_post(s: Site, form: FormData) -> tuple[int, dict[str, Any]]:
    date_text = form_text(form, "date") or "today"
    with Workspace.open(s.trial) as ws:
        protocol = ws.protocol
        values = {
            o.name: form_text(form, o.name).strip()
            for o in protocol.outcomes
            if form_text(form, o.name).strip()
        }
        took = form_text(form, "took").strip()
        note = form_text(form, "note").strip()
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
        return 200, _saved_context(ws, s, result, "Logged")


async def diary_submit(request: Request) -> Response:
    form = await request.form()
    if not site(request).keys.csrf_ok("diary", form_text(form, "csrf")):
        return csrf_refused()
    status, context = await run_in_threadpool(_diary_post, site(request), form)
    return render(request, "diary.html.j2" if status != 200 else "saved.html.j2", context, status)


# --------------------------------------------------------------------------------------------
# Side effect (adverse event)
# --------------------------------------------------------------------------------------------


def _event_get(s: Site) -> dict[str, Any]:
    with Workspace.open(s.trial) as ws:
        return {"title": ws.protocol.title, "errors": {}, "form": {"date": s.clock().isoformat()}}


async def event_page(request: Request) -> Response:
    return render(request, "event.html.j2", await run_in_threadpool(_event_get, site(request)))


def _event_post(s: Site, form: FormData) -> tuple[int, dict[str, Any]]:
    fields = {k: form_text(form, k).strip() for k in ("date", "description", "severity", "action")}
    serious = form_text(form, "serious") == "yes"
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
    if not site(request).keys.csrf_ok("event", form_text(form, "csrf")):
        return csrf_refused()
    status, context = await run_in_threadpool(_event_post, site(request), form)
    name = "event.html.j2" if status != 200 else "event_saved.html.j2"
    return render(request, name, context, status)


# --------------------------------------------------------------------------------------------
# Correct a day
# --------------------------------------------------------------------------------------------
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
    current = current_answers(ws, date)
    context.update(
        date=date,
        day=day,
        history=history_rows(ws, ws.store.history(date)),
        questions=questions(protocol, {**current, **(values or {})}, errors),
        took=current.get("took", "") if took is None else took,
        needs_took=diary.needs_adherence(day) or "took" in current,
        take=take_question(ws, day),
        empty=not ws.store.day_entries(date),
    )
    return context


def _correct_get(s: Site, date_text: str) -> dict[str, Any]:
    with Workspace.open(s.trial) as ws:
        return _correct_context(ws, s, date_text, {})


async def correct_page(request: Request) -> Response:
    date_text = request.query_params.get("date", "today")
    context = await run_in_threadpool(_correct_get, site(request), date_text)
    status = 400 if "date" in context["errors"] else 200
    return render(request, "correct.html.j2", context, status=status)


def _correct_post(s: Site, form: FormData) -> tuple[int, dict[str, Any]]:
    date_text = form_text(form, "date") or "today"
    reason = form_text(form, "reason").strip()
    with Workspace.open(s.trial) as ws:
        protocol = ws.protocol
        sent = {o.name: form_text(form, o.name).strip() for o in protocol.outcomes}
        took = form_text(form, "took").strip()
        note = form_text(form, "note").strip()
        try:
            date = diary.parse_date(date_text, today=s.clock())
            diary.check_date(ws, date, today=s.clock())
            current = current_answers(ws, date)
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
        return 200, _saved_context(ws, s, result, "Corrected")


async def correct_submit(request: Request) -> Response:
    form = await request.form()
    if not site(request).keys.csrf_ok("correct", form_text(form, "csrf")):
        return csrf_refused()
    status, context = await run_in_threadpool(_correct_post, site(request), form)
    return render(request, "correct.html.j2" if status != 200 else "saved.html.j2", context, status)
