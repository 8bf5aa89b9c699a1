"""What every page of the phone diary shares: the site (trial folder, secrets, templates, clock),
rendering, reading a form, placing a library error beside its field, the stopping-rule banners in
the CLI's words, signing in, and the answers for a refused form or a broken trial folder.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from attrs import frozen
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from nof1 import diary_safety
from nof1.errors import EntryError
from nof1.schedule import Day
from nof1.web.security import Attempts, Keys
from nof1.workspace import Workspace


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


def field_of(message: str, fields: list[str]) -> str:
    """The form field an error message names first (``""``: a message for the whole form)."""
    found = []
    for name in fields:
        key = name.lstrip("-")
        match = re.search(rf"(?<![A-Za-z0-9_]){re.escape(key)}(?![A-Za-z0-9_])", message)
        if match:
            found.append((match.start(), name))
    return min(found)[1] if found else ""


def form_text(form: FormData, key: str) -> str:
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
        token = form_text(form, "token").strip()
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


def csrf_refused() -> Response:
    return HTMLResponse(
        "<!doctype html><title>Refused</title><p>This form has expired or did not come from "
        "this diary: go back, reload the page and send it again.</p>",
        status_code=403,
    )
