"""``nof1 report`` end to end: a small simulated trial, the real analysis with few draws.

Uses the shared ``make_workspace`` fixture (tests/conftest.py) and ``nof1.simulate`` for the
diary. One sampling run (marked ``sampling``); the other tests check the command's surface.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from nof1.cli import app
from nof1.workspace import Workspace

SMALL = [
    ("blocks = 4", "blocks = 2"),
    ("period_days = 28 ", "period_days = 10 "),
    ("run_in_days = 14 ", "run_in_days = 4 "),
    ("analytic_washout_days = 7 ", "analytic_washout_days = 2 "),
]


def fill(folder: Path, *, effect: float = -6.0) -> None:
    """Log a simulated diary for every scheduled day up to yesterday."""
    from nof1.simulate import simulate_trial
    from nof1.workspace import Workspace

    with Workspace.open(folder) as ws:
        through = min(ws.schedule.end, dt.date.today() - dt.timedelta(days=1))
        sim = simulate_trial(
            ws.protocol, ws.schedule, seed=11, effects={"headache_day": effect}, through=through
        )
        with ws.store.transaction("import") as store:
            for o in sim.observations:
                store.add_entry(o.date, o.outcome, o.value)
            for a in sim.adherence:
                store.add_adherence(a.date, a.took)
            for e in sim.events:
                store.add_event(e)


def test_report_help_describes_the_command() -> None:
    result = CliRunner().invoke(app, ["report", "--help"])
    assert result.exit_code == 0
    assert "HTML, PDF and JSON" in result.output
    assert "--draws" in result.output and "--outcome" in result.output


def test_report_without_a_workspace_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", "--trial", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "Error:" in result.output


@pytest.mark.sampling
def test_report_end_to_end_on_a_small_simulated_trial(make_workspace) -> None:  # type: ignore[no-untyped-def]
    start = dt.date.today() - dt.timedelta(days=60)  # 4 + 4 × 10 days: over
    folder = make_workspace(start=start, replace=SMALL, start_trial=True)
    fill(folder)
    with Workspace.open(folder) as ws:
        # blinded: the report names the arms
        ws.record_reveal("test clinician", "report test", early=True)
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--trial",
            str(folder),
            "--outcome",
            "headache_day",
            "--draws",
            "150",
            "--tune",
            "150",
            "--chains",
            "2",
            "--no-sensitivity",
        ],
    )
    assert result.exit_code == 0, result.output
    paths = [Path(line) for line in result.stdout.strip().splitlines()]
    assert [p.suffix for p in paths] == [".html", ".pdf", ".json"]
    assert all(p.parent == folder / "reports" and p.exists() for p in paths)
    payload = json.loads(paths[2].read_text(encoding="utf-8"))
    effect = payload["analysis"]["outcomes"]["headache_day"]["effect"]
    from nof1.report import fmt

    page1 = " ".join((PdfReader(paths[1]).pages[0].extract_text() or "").split())
    assert fmt.signed(effect["median"]) in page1
    assert fmt.interval(*effect["ci95"]) in page1
    assert "N-of-1 trial of Magnesium vs Placebo" in page1
    assert payload["analysis"]["interim"] is False
    assert 'src="http' not in paths[0].read_text(encoding="utf-8")
    # one protocol hash everywhere (the one `nof1 start` printed) and the integrity line
    with Workspace.open(folder) as ws:
        info = ws.lock_info()
        assert info is not None
        assert payload["report"]["protocol_hash"] == info.protocol_hash
        assert payload["analysis"]["protocol_hash"] == info.protocol_hash
        assert payload["report"]["integrity"] == "verified"
        head = ws.store.chain_head()
        assert payload["report"]["chain_head"] == head
        assert payload["report"]["locked_before_day1"] == "false"  # started 60 days ago
    html = paths[0].read_text(encoding="utf-8")
    assert f"integrity verified; hash chain head {head}" in html
    assert "Data integrity verified" in result.stderr


def test_report_of_a_blinded_trial_needs_the_recorded_reveal(make_workspace) -> None:  # type: ignore[no-untyped-def]
    folder = make_workspace(start=dt.date.today() - dt.timedelta(days=60), start_trial=True)
    result = CliRunner().invoke(app, ["report", "--trial", str(folder)])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: `nof1 report` would unblind this blinded trial")
    assert not list((folder / "reports").glob("*"))
