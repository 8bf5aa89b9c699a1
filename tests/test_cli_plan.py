"""`nof1 plan` through typer's CliRunner: exit codes, output, and one clear error per bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import matplotlib
import pytest
from typer.testing import CliRunner

from helpers import invoke
from nof1.cli import app
from nof1.protocol import TrialProtocol

matplotlib.use("Agg")
TEMPLATE = Path("protocols/migraine-magnesium.toml")
FAST = ["--sims", "3", "--jobs", "1", "--blocks", "2", "--outcome", "peak_pain"]


def _run(*args: str):  # type: ignore[no-untyped-def]
    return invoke("plan", *args)


@pytest.fixture
def trial(tmp_path: Path) -> Path:
    shutil.copy(TEMPLATE, tmp_path / "protocol.toml")
    return tmp_path


def test_plan_template_prints_a_table() -> None:
    result = _run("--template", "migraine-magnesium", *FAST)
    assert result.exit_code == 0, result.output
    assert "blocks" in result.stdout and "<- protocol" in result.stdout
    assert "3 simulated trials per design" in result.stdout


def test_plan_for_pain_on_headache_days_says_on_how_many_days() -> None:
    result = _run("--template", "migraine-magnesium", *FAST, "--asked-days", "10")
    assert result.exit_code == 0, result.output
    assert "analysed only when asked: on 10 of 28 days" in result.stdout


def test_plan_json_is_machine_readable() -> None:
    result = _run("--template", "migraine-magnesium", *FAST, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["outcome"] == "peak_pain"
    assert {d["blocks"] for d in data["designs"]} == {2, 4}
    assert set(data["assumptions"]) >= {"effect", "baseline", "rho", "missing_rate"}


def test_plan_write_records_planning_in_the_protocol(trial: Path) -> None:
    before = (trial / "protocol.toml").read_text()
    result = _run("--trial", str(trial), *FAST, "--write")
    assert result.exit_code == 0, result.output
    after = (trial / "protocol.toml").read_text()
    assert after.startswith(before.rstrip("\n"))  # nothing above is touched
    planning = TrialProtocol.from_toml(trial / "protocol.toml").planning
    assert planning["outcome"] == "peak_pain" and "assurance" in planning


def test_plan_plot_writes_a_png(tmp_path: Path) -> None:
    path = tmp_path / "plan.png"
    result = _run("--template", "migraine-magnesium", *FAST, "--plot", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rho", "1.2"], "Error: --rho must be between 0 and 0.95 (got 1.2)"),
        (["--missing", "-0.1"], "Error: --missing must be between 0 and 0.9 (got -0.1)"),
        (["--adherence", "0"], "Error: --adherence must be between 0.05 and 1 (got 0)"),
        (["--sims", "0"], "Error: --sims must be ≥ 1 (got 0)"),
        (["--sd", "-1"], "Error: --sd must be > 0 (got -1)"),
        (["--blocks", "two"], "Error: --blocks must be whole numbers separated by commas"),
        (["--outcome", "migraine"], "Error: --outcome: unknown outcome 'migraine'"),
        (["--template", "nope"], "Error: unknown template 'nope' (available: migraine-magnesium"),
        (["--target", "1"], "Error: --target must be between 0.05 and 0.99 (got 1)"),
        (
            ["--period-days", "28", "--washout", "28"],
            "Error: no design asked for is possible: design.analytic_washout_days must be < "
            "design.period_days (28)",
        ),
        (
            ["--outcome", "headache_day", "--baseline", "8", "--effect", "-9"],
            "Error: --effect -9 takes headache_day from 8 to -1 per 28 days, outside 0–28",
        ),
        (["--write"], "Error: --write needs a workspace (--trial DIR), not --template"),
        (
            ["--outcome", "peak_pain", "--asked-days", "0"],
            "Error: --asked-days must be between 1 and 28 (got 0)",
        ),
        (
            ["--outcome", "headache_day", "--asked-days", "8"],
            "Error: --asked-days is only for an outcome analysed only when asked (analyse = "
            '"when_asked"), and headache_day is analysed on every day: leave it out',
        ),
    ],
)
def test_bad_input_gives_one_clear_error(args: list[str], message: str) -> None:
    if "--template" not in args:
        args = ["--template", "migraine-magnesium", *args]
    result = _run(*args, "--jobs", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count("Error:") == 1


def test_trial_without_protocol_is_an_error(tmp_path: Path) -> None:
    result = _run("--trial", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: no protocol.toml in {tmp_path}")


def test_trial_and_template_together_are_refused(trial: Path) -> None:
    result = _run("--trial", str(trial), "--template", "migraine-magnesium")
    assert result.exit_code == 1
    assert "Error: give either --trial or --template, not both" in result.stderr


def test_plan_has_help_text() -> None:
    result = CliRunner().invoke(app, ["plan", "--help"])
    assert result.exit_code == 0
    assert "Simulate trials" in result.stdout
