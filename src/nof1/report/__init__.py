"""The report for the doctor: one self-contained HTML file, a PDF and the JSON result.

The only part of nof1 that draws. :func:`write_report` takes an open workspace and the
:class:`~nof1.summary.AnalysisResult` of ``analyze_workspace`` and writes three files::

    <trial_id>-<data-through>[-interim].html   self-contained (figures inline, print stylesheet)
    <trial_id>-<data-through>[-interim].pdf    the same content laid out for A4
    <trial_id>-<data-through>[-interim].json   {"report": metadata, "analysis": result JSON}

Running it again never replaces an earlier report: when a file of that name exists the new one
is ``<trial_id>-<data-through>[-interim]-2.html`` (``-3``, ...), unless ``force`` asks to replace
it. The files are owner-only and written atomically (:mod:`nof1.files`).

Page 1 is the clinician's summary; the rest follows the CENT 2015 checklist (see
``docs/clinician-guide.md``). Content is built once (:mod:`nof1.report.context`,
:mod:`nof1.report.sections`) and rendered twice (:mod:`nof1.report.html`,
:mod:`nof1.report.pdf`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attrs import frozen

from nof1 import files
from nof1.report.build import build_view
from nof1.report.context import TrialRecord
from nof1.report.view import ReportView
from nof1.summary import AnalysisResult

if TYPE_CHECKING:
    from nof1.workspace import Workspace

__all__ = [
    "ReportFiles",
    "TrialRecord",
    "build_view",
    "render",
    "write_report",
    "write_table_report",
]

#: Version of the report metadata block in the JSON file.
REPORT_SCHEMA_VERSION = 1


@frozen
class ReportFiles:
    """Where :func:`write_report` put the report."""

    html: Path
    pdf: Path
    json: Path

    def paths(self) -> tuple[Path, Path, Path]:
        return (self.html, self.pdf, self.json)


@frozen
class RenderedReport:
    view: ReportView
    html: str
    pdf: bytes
    metadata: dict[str, Any]


def render(record: TrialRecord, result: AnalysisResult, *, figures: bool = True) -> RenderedReport:
    """Build the view, draw the figures and render HTML and PDF in memory (no files).

    ``figures=False`` leaves the figures out (fast previews and tests of the text).
    """
    from nof1.report.figure import draw_figures
    from nof1.report.html import render_html
    from nof1.report.pdf import render_pdf

    view = build_view(record, result)
    drawn = draw_figures(record, result, record.through(result)) if figures else {}
    metadata: dict[str, Any] = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "title": view.title,
        **view.metadata,
        "interim": bool(result.interim),
        "sections": [s.title for s in view.sections],
        "verdict": view.front.headline.verdict,
        "stopping_rules": [entry.to_dict() for entry in record.stopping_rule_timeline()],
    }
    return RenderedReport(view, render_html(view, drawn), render_pdf(view, drawn), metadata)


def write_report(
    ws: Workspace,
    result: AnalysisResult,
    out_dir: str | Path | None = None,
    *,
    record: TrialRecord | None = None,
    force: bool = False,
) -> ReportFiles:
    """Write the HTML, PDF and JSON report of ``result`` for workspace ``ws``.

    Parameters
    ----------
    ws : nof1.workspace.Workspace
        The open trial workspace (protocol, schedule, diary, lock information).
    result : AnalysisResult
        What ``analyze_workspace`` returned.
    out_dir : path, optional
        Folder for the files; default ``ws.reports_dir``. Created when missing.
    record : TrialRecord, optional
        Use these values instead of reading them from ``ws`` (tests, CSV data).
    force : bool
        Replace a report of the same name instead of numbering the new one ``-2``, ``-3``, ...

    Raises
    ------
    OutputError
        When a file cannot be written (nothing is replaced; see :mod:`nof1.files`).
    """
    record = record or TrialRecord.from_workspace(ws)
    out = files.make_private_dir(out_dir if out_dir is not None else ws.reports_dir)
    rendered = render(record, result)
    stem = f"{result.trial_id}-{rendered.metadata['analysed_through']}"
    if result.interim:
        stem += "-interim"
    written = _report_files(out, stem, force=force)
    payload = {
        "report": {
            **rendered.metadata,
            "files": {"html": written.html.name, "pdf": written.pdf.name},
        },
        "analysis": result.to_dict(),
    }
    document = json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    protected = ws.protected_paths(written.html)
    for path, data in (
        (written.html, rendered.html),
        (written.pdf, rendered.pdf),
        (written.json, document),
    ):
        files.write_private(path, data, force=force, protected=protected)
    return written


def write_table_report(
    result: AnalysisResult,
    out_dir: str | Path,
    *,
    source: str,
    threshold: float = 0.8,
    force: bool = False,
    protected: tuple[str | Path, ...] = (),
) -> ReportFiles:
    """Write the HTML, PDF and JSON report of a CSV analysis (``analyze_table``) into ``out_dir``.

    The same page 1 and renderers as :func:`write_report`; what a CSV file cannot hold (design
    as planned, blinding, adherence, clinician, adverse events, stopping rules) is shown as not
    recorded (:mod:`nof1.report.table`). Files are ``<file stem>-report.html`` / ``.pdf`` /
    ``.json`` (``-2``, ``-3``, ... when taken, unless ``force``), owner-only, written atomically,
    never onto ``protected`` (e.g. the CSV file itself).

    Raises
    ------
    OutputError
        When a file cannot be written (nothing is replaced).
    """
    from nof1.report.figure import draw_posteriors
    from nof1.report.html import render_html
    from nof1.report.pdf import render_pdf
    from nof1.report.table import arm_labels, build_table_view

    arm_b, arm_a = arm_labels(result)
    drawn = draw_posteriors(result, arm_b, arm_a, threshold)
    view = build_table_view(result, source=source, threshold=threshold, figures=set(drawn))
    metadata: dict[str, Any] = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "title": view.title,
        **view.metadata,
        "interim": False,
        "sections": [s.title for s in view.sections],
        "verdict": view.front.headline.verdict,
        "stopping_rules": None,
    }
    html, pdf = render_html(view, drawn), render_pdf(view, drawn)
    out = files.make_private_dir(out_dir)
    written = _report_files(out, f"{result.trial_id}-report", force=force)
    payload = {
        "report": {**metadata, "files": {"html": written.html.name, "pdf": written.pdf.name}},
        "analysis": result.to_dict(),
    }
    document = json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    for path in written.paths():  # all three checked first: a refusal writes nothing
        files.check_destination(path, force=force, protected=protected)
    for path, data in ((written.html, html), (written.pdf, pdf), (written.json, document)):
        files.write_private(path, data, force=force, protected=protected)
    return written


def _report_files(out: Path, stem: str, *, force: bool) -> ReportFiles:
    """The file names: ``stem``, else the first free ``stem-2``, ``stem-3``, ... (unless force)."""
    number = 1
    while True:
        name = stem if number == 1 else f"{stem}-{number}"
        chosen = ReportFiles(out / f"{name}.html", out / f"{name}.pdf", out / f"{name}.json")
        if force or not any(os.path.lexists(p) for p in chosen.paths()):
            return chosen
        number += 1
