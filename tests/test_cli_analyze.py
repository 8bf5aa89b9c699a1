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
        "--randomized-by",
        "--max-run",
        "--report",
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
        (
            [*CSV, "--mcid", "-1"],
            "--mcid must be a finite number > 0 (got -1): the smallest difference that would "
            "matter, chosen before looking at the data",
        ),
        ([*CSV, "--mcid", "5", "--engine", "gibbs"], "--engine must be auto or nuts (got 'gibbs')"),
        ([*CSV, "--threshold", "0.3"], "--threshold must be between 0.5 and 1 (got 0.3)"),
        ([*CSV[:2], "x.csv", *CSV[3:], "--mcid", "5"], "--data file not found: x.csv"),
        (
            CSV,
            "--mcid is needed for outcome 'mood': give the smallest difference that would matter "
            "(B − A in the outcome's units; per 28 days for count and binary), chosen before "
            "looking at the data — e.g. --mcid 5, or per outcome --outcome "
            "mood:continuous:5:higher",
        ),
        (
            [*CSV, "--mcid", "0"],
            "--mcid must be a finite number > 0 (got 0): the smallest difference that would "
            "matter, chosen before looking at the data",
        ),
        (
            [*CSV, "--mcid", "nan"],
            "--mcid must be a finite number > 0 (got nan): the smallest difference that would "
            "matter, chosen before looking at the data",
        ),
        (
            [*CSV, "--mcid", "inf"],
            "--mcid must be a finite number > 0 (got inf): the smallest difference that would "
            "matter, chosen before looking at the data",
        ),
        (
            [*CSV, "--mcid", "5", "--randomized-by", "row"],
            "--randomized-by must be day, period, pair or block (got 'row'): state the unit the "
            "study's randomization actually drew (day: each time unit; period: each run of one "
            "treatment; pair: the order within each block of two periods; block: each block or "
            "its mirror image, e.g. ABBA or BAAB)",
        ),
        (
            [*CSV, "--mcid", "5", "--max-run", "2"],
            "--max-run needs --randomized-by day or period (the unit whose runs it limits)",
        ),
        (
            [*CSV, "--mcid", "5", "--randomized-by", "pair", "--max-run", "2"],
            "--max-run applies only with --randomized-by day or period (got --randomized-by "
            "pair, whose blocks fix the runs)",
        ),
        (
            [*CSV, "--mcid", "5", "--randomized-by", "day", "--max-run", "1"],
            "--max-run 1 cannot be right: the data have 2 time units (--time values) in a row on "
            "one treatment, which that randomization could not draw; check --max-run and "
            "--randomized-by",
        ),
        (
            [*CSV, "--mcid", "5", "--outcome", "mood"],
            "--outcome 'mood' is given twice: give each outcome once",
        ),
        (
            [*CSV, "--mcid", "5", "--outcome", "agency:continuous:0:higher"],
            "--outcome 'agency:continuous:0:higher': MCID must be a finite number > 0 (got '0'): "
            "give the smallest difference that would matter",
        ),
        (
            [*CSV, "--control", "placebo", "--mcid", "5"],
            "--control 'placebo' is not a value of --treatment column 'melatonin' (values: 0, 1)",
        ),
        (
            [*CSV[:4], "mod", *CSV[5:], "--mcid", "5"],
            "--outcome column 'mod' is not in melatonin_ema.csv (columns: datetime, date, "
            "study_day, mood, agency, metacognition, melatonin, condition, mood_daily_mean): "
            "check the spelling",
        ),
        (
            [*CSV, "--kind", "count", "--mcid", "5"],
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
    assert data["arms"] == {  # named only after the reveal above
        "A": {"value": "Placebo", "role": "control"},
        "B": {"value": "Magnesium", "role": "intervention"},
    }
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
    assert "Arms: A = 'Placebo' (control), B = 'Magnesium' (intervention)" in result.stdout
    assert "INTERIM" in result.stdout


def with_fake_sampler(monkeypatch, fake) -> None:
    """`nof1 analyze` runs the workspace analysis with ``fake`` as its fitter (its parameter)."""
    monkeypatch.setattr(
        analysis, "analyze_workspace", functools.partial(analysis.analyze_workspace, fit=fake)
    )


@pytest.mark.sampling
def test_csv_path_end_to_end_json():
    result = run(
        *CSV, "--mcid", "5", "--trend", "linear", "--json", "--no-sensitivity", "--draws", "500",
        "--randomized-by", "day", "--max-run", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["protocol_hash"] is None and data["interim"] is False
    o = data["outcomes"]["mood"]
    assert o["n_analysed"] == 70
    assert o["diagnostics"]["divergences"] == 0
    low, high = o["effect"]["ci95"]
    assert low < 0 < high  # mood barely differs between melatonin and control days
    assert o["verdict"] == "no meaningful difference likely"
    assert o["randomization"]["scheme"] == "time unit-level, restricted (max run 2)"
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


# -- the researcher path: several outcomes, stated design, A/B naming, notes, report ----------


def with_fake_table_fitter(monkeypatch, fake) -> None:
    monkeypatch.setattr(
        analysis, "analyze_table", functools.partial(analysis.analyze_table, fit=fake)
    )


def test_randomized_by_without_data_is_an_error(started):
    result = run("analyze", "--trial", str(started), "--randomized-by", "day")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "Error: --randomized-by only applies with --data FILE (a workspace takes these from "
        "protocol.toml)\n"
    )


def test_workspace_refuses_several_outcomes(started):
    result = run("analyze", "--trial", str(started), "--outcome", "a", "--outcome", "b")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "Error: --outcome is given 2 times: for a workspace give one outcome, or none for all "
        "of them\n"
    )


def test_csv_without_stated_scheme_says_the_randomization_test_was_not_run(monkeypatch):
    with_fake_table_fitter(monkeypatch, FakeFits())
    result = run(*CSV, "--mcid", "5", "--no-sensitivity", "--json", "--quiet")
    assert result.exit_code == 0, result.stderr
    o = json.loads(result.stdout)["outcomes"]["mood"]
    assert o["randomization"]["p_value"] is None
    assert o["randomization"]["scheme"] == "not stated"
    assert o["randomization"]["note"].startswith("not run: how the treatments were randomized")
    assert "randomization scheme not stated: no randomization test" in o["notes"]
    table = run(*CSV, "--mcid", "5", "--no-sensitivity", "--quiet")
    assert "Randomization test: not run: how the treatments were randomized was not stated" in (
        " ".join(table.stdout.split())
    )


def test_csv_json_names_the_arms_and_carries_the_notes(monkeypatch):
    with_fake_table_fitter(monkeypatch, FakeFits())
    result = run(*CSV, "--control", "0", "--mcid", "5", "--no-sensitivity", "--json", "--quiet")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["arms"] == {
        "A": {"value": "0", "role": "control"},
        "B": {"value": "1", "role": "intervention"},
    }
    notes = data["outcomes"]["mood"]["notes"]
    assert "treatment column 'melatonin': A = '0' (control), B = '1' (intervention)" in notes
    assert (
        "195 values averaged to one per time unit (68 time units had more than one value)" in notes
    )


def test_csv_text_names_the_arms_and_prints_the_notes(monkeypatch):
    with_fake_table_fitter(monkeypatch, FakeFits())
    result = run(*CSV, "--mcid", "5", "--no-sensitivity", "--quiet")
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "Arms: A = '0' (control), B = '1' (intervention); effects are B − A." in text
    assert "Note: 195 values averaged to one per time unit" in text


def test_real_melatonin_series_with_its_stated_scheme(monkeypatch):
    """The real 70-day series (examples/melatonin, MIT, © Miura Meng; licence beside it):
    randomized by day, at most two days in a row — stated, not guessed."""
    with_fake_table_fitter(monkeypatch, FakeFits())
    result = run(
        *CSV, "--mcid", "5", "--randomized-by", "day", "--max-run", "2", "--no-sensitivity",
        "--json", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    o = json.loads(result.stdout)["outcomes"]["mood"]
    rand = o["randomization"]
    assert rand["scheme"] == "time unit-level, restricted (max run 2)"
    assert 0.05 < rand["p_value"] < 1 and rand["n_allocations"] == 20000
    assert "stated design: randomized by day, at most 2 in a row" in o["notes"]


def test_several_outcomes_in_one_run_each_with_its_own_mcid_and_direction(monkeypatch):
    fake = FakeFits()
    with_fake_table_fitter(monkeypatch, fake)
    result = run(
        "analyze", "--data", str(MELATONIN), "--treatment", "melatonin", "--time", "study_day",
        "--outcome", "mood:continuous:5:higher", "--outcome", "agency::3:", "--mcid", "4",
        "--no-sensitivity", "--json", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert list(data["outcomes"]) == ["mood", "agency"]
    mood, agency = data["outcomes"]["mood"], data["outcomes"]["agency"]
    assert (mood["mcid"], mood["better"], mood["primary"]) == (5.0, "higher", True)
    assert (agency["mcid"], agency["better"], agency["primary"]) == (3.0, "lower", False)
    assert agency["n_analysed"] == 53  # agency was rated on fewer days than mood
    assert data["title"] == "mood, agency in melatonin_ema.csv"


def test_single_outcome_takes_kind_mcid_and_better_from_the_options(monkeypatch):
    with_fake_table_fitter(monkeypatch, FakeFits())
    result = run(*CSV, "--mcid", "2.5", "--no-sensitivity", "--json", "--quiet")
    o = json.loads(result.stdout)["outcomes"]["mood"]
    assert (o["mcid"], o["better"], o["kind"]) == (2.5, "higher", "continuous")


def test_csv_label_with_markup_is_printed_as_text(tmp_path, monkeypatch):
    path = tmp_path / "m.csv"
    rows = ["day,arm,[red]pain"] + [f"{t},{'AB'[t % 2]},{t % 3}" for t in range(1, 13)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with_fake_table_fitter(monkeypatch, FakeFits())
    result = run(
        "analyze", "--data", str(path), "--treatment", "arm", "--time", "day", "--control", "A",
        "--outcome", "[red]pain", "--mcid", "1", "--no-sensitivity", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "[red]pain" in result.stdout


def test_report_from_csv_writes_private_html_pdf_and_json(tmp_path, monkeypatch):
    with_fake_table_fitter(monkeypatch, FakeFits())
    out = tmp_path / "reports"
    args = [*CSV, "--mcid", "5", "--randomized-by", "day", "--max-run", "2", "--no-sensitivity"]
    result = run(*args, "--report", str(out), "--quiet")
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "melatonin_ema-report.html",
        "melatonin_ema-report.json",
        "melatonin_ema-report.pdf",
    ]
    assert oct(out.stat().st_mode & 0o777) == "0o700"
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in out.iterdir())
    html = (out / "melatonin_ema-report.html").read_text(encoding="utf-8")
    for expected in ("not recorded", "Blinding", "Stopping rules", "Supervising clinician"):
        assert expected in html
    assert "“1” vs “0”" in html  # the arms are the treatment column's values
    assert (out / "melatonin_ema-report.pdf").read_bytes().startswith(b"%PDF")
    payload = json.loads((out / "melatonin_ema-report.json").read_text(encoding="utf-8"))
    assert payload["analysis"]["arms"]["B"]["value"] == "1"
    assert payload["report"]["patient"] == "not recorded"
    again = run(*args, "--report", str(out), "--quiet")  # never replaces the earlier report
    assert again.exit_code == 0 and (out / "melatonin_ema-report-2.html").exists()


def test_report_option_without_data_is_an_error(started, tmp_path):
    result = run("analyze", "--trial", str(started), "--report", str(tmp_path))
    assert result.exit_code == 1
    assert "Error: --report only applies with --data FILE" in result.stderr


def test_report_onto_an_existing_file_is_refused_before_the_analysis(tmp_path):
    target = tmp_path / "taken"
    target.write_text("keep", encoding="utf-8")
    result = run(*CSV, "--mcid", "5", "--report", str(target))
    assert result.exit_code == 1
    assert (
        result.stderr == f"Error: --report {target} is a file: give a folder for the report files\n"
    )
    assert target.read_text(encoding="utf-8") == "keep"


def test_csv_column_options_without_data_are_an_error(started):
    result = run("analyze", "--trial", str(started), "--control", "0", "--block", "b")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "Error: --block, --control only apply with --data FILE (a workspace takes these from "
        "protocol.toml)\n"
    )
