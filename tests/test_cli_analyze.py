"""``nof1 analyze`` through typer's CliRunner: exit codes, exact error text, JSON output."""

from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path

import pytest

from conftest import MakeWorkspace
from helpers import FakeFits, fill, invoke
from nof1 import analysis

ROOT = Path(__file__).resolve().parents[1]
MELATONIN = ROOT / "examples" / "melatonin" / "melatonin_ema.csv"
CSV = ["analyze", "--data", str(MELATONIN), "--outcome", "mood", "--treatment", "melatonin",
       "--time", "study_day", "--better", "higher"]  # fmt: skip


def run(*args: str):
    return invoke(*args)


def test_analyze_has_help_text():
    result = run("analyze", "--help")
    assert result.exit_code == 0
    assert "Estimate the effect of the intervention" in result.stdout
    for option in (
        "--data",
        "--treatment",
        "--time",
        "--block",
        "--control",
        "--kind",
        "--better",
        "--mcid",
        "--autocorrelation",
        "--trend",
        "--json",
    ):
        assert option in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["analyze", "--data", "x.csv", "--outcome", "y"],
            "--data needs --treatment and --time (the column names in the file)",
        ),
        (
            [*CSV, "--kind", "counts"],
            "--kind must be continuous, count, binary or ordinal (got 'counts')",
        ),
        ([*CSV, "--trend", "cubic"], "--trend must be none, linear or spline (got 'cubic')"),
        ([*CSV, "--mcid", "-1"], "--mcid must be > 0 (got -1)"),
        ([*CSV, "--engine", "gibbs"], "--engine must be auto or nuts (got 'gibbs')"),
        ([*CSV, "--threshold", "0.3"], "--threshold must be between 0.5 and 1 (got 0.3)"),
        ([*CSV[:2], "x.csv", *CSV[3:]], "--data file not found: x.csv"),
        (
            [*CSV, "--control", "placebo"],
            "--control 'placebo' is not a value of --treatment column 'melatonin' (values: 0, 1)",
        ),
        (
            [*CSV[:4], "mod", *CSV[5:]],
            "--outcome column 'mod' is not in melatonin_ema.csv (columns: datetime, date, "
            "study_day, mood, agency, metacognition, melatonin, condition, mood_daily_mean): "
            "check the spelling",
        ),
        (
            [*CSV, "--kind", "count"],
            "--outcome column 'mood' must be a whole number ≥ 0 for --kind count; "
            "melatonin_ema.csv line 133 has '81.5'",
        ),
    ],
)
def test_bad_input_is_one_error_line(args, message):
    result = run(*args)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {message}\n"
    assert result.stdout == ""


def test_csv_options_without_data_are_an_error(started):
    result = run("analyze", "--trial", str(started), "--trend", "linear")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "Error: --trend only applies with --data FILE (a workspace takes these from "
        "protocol.toml)\n"
    )


def reveal(folder):
    """The magnesium template is blinded: analysis needs the recorded reveal first."""
    from nof1.workspace import Workspace

    with Workspace.open(folder) as ws:
        ws.record_reveal("test clinician", "analysis test", early=True)


def test_blinded_trial_is_not_analysed_before_the_reveal(started):
    result = run("analyze", "--trial", str(started), "--outcome", "peak_pain")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "Error: `nof1 analyze` would unblind this blinded trial: its results name the arms. "
        "Record the reveal first with `nof1 allocation --reveal --by NAME --reason WHY` "
        "(normally after the last day), or let the allocation holder run the analysis on an "
        "exported copy\n"
    )
    assert result.stdout == ""


def test_unknown_workspace_outcome_is_an_error(started):
    reveal(started)
    result = run("analyze", "--trial", str(started), "--outcome", "mood")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "Error: --outcome: unknown outcome 'mood' (this protocol has: headache_day, peak_pain, "
        "severity, acute_med_days)\n"
    )


def test_too_early_in_the_trial_is_a_clear_error(started):
    reveal(started)
    result = run("analyze", "--trial", str(started), "--outcome", "peak_pain")
    assert result.exit_code == 1
    assert "has too few analysed days to estimate an effect" in result.stderr


def test_workspace_json_with_a_fake_sampler(monkeypatch, make_workspace: MakeWorkspace):
    from nof1.workspace import Workspace

    folder = make_workspace(start=dt.date.today() - dt.timedelta(days=80), start_trial=True)
    with Workspace.open(folder) as ws:
        fill(ws)
        ws.record_reveal("test clinician", "analysis test", early=True)
    with_fake_sampler(monkeypatch, FakeFits())
    result = run(
        "analyze", "--trial", str(folder), "--outcome", "peak_pain", "--json", "--no-sensitivity"
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["interim"] is True and data["trial_id"] == "migraine-magnesium"
    o = data["outcomes"]["peak_pain"]
    assert o["verdict"] == "meaningful benefit likely"
    assert o["randomization"]["n_allocations"] == 16


def test_workspace_table_with_a_fake_sampler(monkeypatch, make_workspace: MakeWorkspace):
    from nof1.workspace import Workspace

    folder = make_workspace(start=dt.date.today() - dt.timedelta(days=80), start_trial=True)
    with Workspace.open(folder) as ws:
        fill(ws)
        ws.record_reveal("test clinician", "analysis test", early=True)
    with_fake_sampler(monkeypatch, FakeFits("bad", "bad"))
    result = run("analyze", "--trial", str(folder), "--outcome", "peak_pain", "--no-sensitivity")
    assert result.exit_code == 0, result.stderr
    assert "withheld" in result.stdout
    assert "Verdict withheld: the sampler did not converge reliably" in result.stdout
    assert "INTERIM" in result.stdout


def with_fake_sampler(monkeypatch, fake) -> None:
    """`nof1 analyze` runs the workspace analysis with ``fake`` as its fitter (its parameter)."""
    monkeypatch.setattr(
        analysis, "analyze_workspace", functools.partial(analysis.analyze_workspace, fit=fake)
    )


@pytest.mark.sampling
def test_csv_path_end_to_end_json():
    result = run(
        *CSV, "--mcid", "5", "--trend", "linear", "--json", "--no-sensitivity", "--draws", "500"
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["protocol_hash"] is None and data["interim"] is False
    o = data["outcomes"]["mood"]
    assert o["n_analysed"] == 70
    assert o["diagnostics"]["divergences"] == 0
    low, high = o["effect"]["ci95"]
    assert low < 0 < high  # mood barely differs between melatonin and control days
    assert o["verdict"] == "no meaningful difference likely"
    assert o["randomization"]["scheme"] == "unit-level restricted (max run 2)"
    grid = o["diagnostics"]["grid"]
    assert o["diagnostics"]["engine"] == "grid" and o["diagnostics"]["rhat"] is None
    assert grid["change"] <= 0.01 and grid["edge_mass"] <= 1e-4 and grid["points"] > 0


def test_csv_table_shows_the_grid_diagnostics_and_nothing_from_the_sampler():
    result = run(*CSV, "--mcid", "5", "--no-sensitivity", "--draws", "500")
    assert result.exit_code == 0, result.stderr
    assert "Grid integration:" in result.stdout and "R-hat" not in result.stdout
    assert "pymc" not in result.stderr.lower() and "warning" not in result.stderr.lower()


def test_csv_with_engine_nuts_reports_sampler_diagnostics():
    result = run(*CSV, "--mcid", "5", "--no-sensitivity", "--engine", "nuts", "--json")
    assert result.exit_code == 0, result.stderr
    d = json.loads(result.stdout)["outcomes"]["mood"]["diagnostics"]
    assert d["engine"] == "nuts" and d["grid"] is None and d["rhat"] < 1.01
