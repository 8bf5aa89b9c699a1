"""The whole report as a view model: page 1 (:mod:`.context`), the CENT sections (:mod:`.sections`).

Assembling here, after both, keeps the imports one-way: ``sections`` uses the helpers of
``context`` and neither imports the other back.
"""

from __future__ import annotations

from nof1.report import fmt
from nof1.report.context import TrialRecord, front_page
from nof1.report.sections import build_sections
from nof1.report.view import ReportView
from nof1.summary import AnalysisResult


def build_view(record: TrialRecord, result: AnalysisResult) -> ReportView:
    """The whole report as a view model (page 1 + CENT sections)."""
    through = record.through(result)
    front = front_page(record, result, through)
    protocol_hash = record.protocol_hash(result)
    interim_text = (
        f"INTERIM REPORT – data through {fmt.date(through)}; the trial is not finished"
        if result.interim
        else ""
    )
    footer = (
        f"nof1 {result.software_version} · protocol {fmt.short_hash(protocol_hash)} · "
        "Informs a shared decision; not medical advice."
    )
    return ReportView(
        title=front.title,
        interim=bool(result.interim),
        interim_text=interim_text,
        front=front,
        sections=build_sections(record, result, through),
        footer=footer,
        metadata={
            "trial_id": result.trial_id,
            "patient": record.protocol.patient,
            "created_at": str(result.created_at),
            "analysed_through": fmt.date(through),
            "interim": str(bool(result.interim)).lower(),
            "protocol_hash": protocol_hash,
            "schedule_fingerprint": record.schedule.fingerprint(),
            "software_version": result.software_version,
            "integrity": "verified"
            if record.integrity is not None and record.integrity.ok
            else record.integrity_line(),
            "chain_head": "" if record.integrity is None else record.integrity.chain_head,
            "locked_before_day1": ""
            if record.lock_info is None
            else str(record.lock_info.locked_before_day1).lower(),
        },
    )
