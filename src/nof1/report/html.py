"""The single self-contained HTML report: inline CSS, figures embedded as base64 PNG.

Nothing is loaded from the network or from other files, so the report can be e-mailed, archived
and printed as it is. The print stylesheet puts page 1 on its own sheet and repeats the INTERIM
banner at the top of every printed page.
"""

from __future__ import annotations

import base64

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from nof1.report.view import Bullets, Facts, Figure, Heading, Paragraph, ReportView, Table


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("nof1.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.tests["paragraph"] = lambda b: isinstance(b, Paragraph)
    env.tests["bullets"] = lambda b: isinstance(b, Bullets)
    env.tests["facts"] = lambda b: isinstance(b, Facts)
    env.tests["table"] = lambda b: isinstance(b, Table)
    env.tests["figure"] = lambda b: isinstance(b, Figure)
    env.tests["heading"] = lambda b: isinstance(b, Heading)
    env.filters["pct"] = lambda p: f"{100 * p:.1f}"
    return env


def render_html(view: ReportView, figures: dict[str, bytes]) -> str:
    """The report as one HTML document (a string)."""
    images = {
        key: "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        for key, png in figures.items()
    }
    template = _environment().get_template("report.html.j2")
    return template.render(view=view, images=images)
