"""Every shipped example runs end to end (with few posterior draws) and writes its report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, timeout=1500
    )
    assert done.returncode == 0, (
        f"{script.name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done


def report_json(reports: Path) -> dict:  # type: ignore[type-arg]
    files = sorted(reports.glob("*.json"))
    assert files, f"no JSON report in {reports}"
    return json.loads(files[-1].read_text(encoding="utf-8"))


@pytest.mark.sampling
def test_magnesium_demo_writes_a_final_report(tmp_path: Path) -> None:
    out = tmp_path / "magnesium"
    run_example(EXAMPLES / "migraine_magnesium" / "run_demo.py", "--quick", "--out", str(out))
    reports = out / "reports"
    assert len(list(reports.glob("*.html"))) == 1 and len(list(reports.glob("*.pdf"))) == 1
    report = report_json(reports)
    assert report["analysis"]["interim"] is False
    # A stopping rule met in the demo is shown with its review, never as "completed as planned".
    for rule in report["report"]["stopping_rules"]:
        assert rule["reviews"], f"stopping rule {rule['rule']} met and not reviewed"
    html = next(reports.glob("*.html")).read_text(encoding="utf-8")
    if report["report"]["stopping_rules"]:
        assert "completed as planned" not in html and "Stopping-rule timeline" in html


@pytest.mark.sampling
def test_sleep_example_writes_an_interim_report(tmp_path: Path) -> None:
    out = tmp_path / "sleep"
    done = run_example(EXAMPLES / "migraine_sleep" / "run_interim.py", "--quick", "--out", str(out))
    assert "$ nof1 analyze" in done.stdout
    assert report_json(out / "reports")["analysis"]["interim"] is True


@pytest.mark.sampling
def test_melatonin_example_analyses_the_real_spreadsheet() -> None:
    done = run_example(EXAMPLES / "melatonin" / "analyze.py", "--json", "--no-sensitivity")
    result = json.loads(done.stdout)
    mood = result["outcomes"]["mood"]
    # The documented finding (examples/melatonin/README.md): no effect on mood beyond the MCID.
    assert mood["verdict"] == "no meaningful difference likely"
    low, high = mood["effect"]["ci95"]
    assert -5 < low < high < 5
    assert mood["randomization"]["p_value"] is not None


def test_melatonin_copy_keeps_its_licence_notice() -> None:
    folder = EXAMPLES / "melatonin"
    assert "Miura Meng" in (folder / "LICENSE.md").read_text(encoding="utf-8")
    assert "LICENSE.md" in (folder / "README.md").read_text(encoding="utf-8")
