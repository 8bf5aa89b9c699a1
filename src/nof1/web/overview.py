"""The read-only pages: progress (the calendar of the trial, never the allocation while blinded),
the written HTML reports, and the web app manifest for "Add to Home screen".
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from attrs import frozen
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from nof1 import diary, diary_safety
from nof1.web.security import REPORT_CSP
from nof1.web.site import Site, banners, render, site
from nof1.workspace import Workspace

_REPORT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.html$")


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
