"""Assembles the phone diary: routes, templates, static files and the security guard."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from nof1.errors import Nof1Error
from nof1.web import overview, pages, site
from nof1.web.security import MAX_BODY, Attempts, Guard, Keys, allowed_hosts

HERE = Path(__file__).parent


def visible(value: Any) -> Any:
    """What a page shows of a value: control and formatting characters (a right-to-left
    override in a note, an escape sequence) as ``\\u202e``, as the terminal shows them."""
    if not isinstance(value, str) or isinstance(value, markupsafe.Markup):
        return value  # rendered markup (a macro's output) was made of finalized values
    return "".join(
        f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf") and c not in "\n\t" else c
        for c in value
    )


def templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        finalize=visible,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return Jinja2Templates(env=env)


def create_app(
    trial: Path,
    *,
    token: str,
    host: str = "127.0.0.1",
    port: int = 8765,
    clock: Callable[[], dt.date] = dt.date.today,
    attempts: Attempts | None = None,
) -> Starlette:
    """The ASGI application serving one trial workspace.

    Parameters
    ----------
    trial : the workspace folder.
    token : its access token (:func:`nof1.web.security.load_token`).
    host, port : the address served; the Host header must name it (plus localhost when
        ``host`` is 127.0.0.1).
    clock : today's date (tests pass a fixed day).
    """
    keys = Keys(token, port)
    tpl = templates()
    unauthorized = tpl.get_template("login.html.j2").render(error="").encode()
    routes = [
        Route("/", pages.today_page, methods=["GET"]),
        Route("/login", site.login, methods=["GET", "POST"]),
        Route("/diary", pages.diary_page, methods=["GET"]),
        Route("/diary", pages.diary_submit, methods=["POST"]),
        Route("/event", pages.event_page, methods=["GET"]),
        Route("/event", pages.event_submit, methods=["POST"]),
        Route("/progress", overview.progress_page, methods=["GET"]),
        Route("/correct", pages.correct_page, methods=["GET"]),
        Route("/correct", pages.correct_submit, methods=["POST"]),
        Route("/reports", overview.reports_page, methods=["GET"]),
        Route("/reports/{name}", overview.report_file, methods=["GET"]),
        Route("/manifest.webmanifest", overview.manifest, methods=["GET"]),
        Mount("/static", StaticFiles(directory=HERE / "static", html=False), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                Guard,
                keys=keys,
                hosts=allowed_hosts(host, port),
                unauthorized=lambda: unauthorized,
            )
        ],
        max_body_size=MAX_BODY,
        exception_handlers={Nof1Error: site.trial_problem},
    )
    app.state.site = site.Site(
        trial=Path(trial), keys=keys, attempts=attempts or Attempts(), templates=tpl, clock=clock
    )
    return app
