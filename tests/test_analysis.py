"""Orchestration: retry and withheld verdicts (fake fits), cross-checks, and real sampling runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import arviz_base as azb
import attrs
import numpy as np
import pytest
from attrs import evolve

from conftest import NO_SKIP_LOGIC, MakeWorkspace, template_text, without_skip_logic
from helpers import FakeFits, fill
from nof1 import analysis, model, verdict
from nof1.analysis import Settings, analyze_outcome, analyze_workspace
from nof1.dataset import TableSpec, from_records, read_table
from nof1.errors import DataError
from nof1.protocol import TrialProtocol, set_design_values
from nof1.schedule import build_schedule
from nof1.simulate import simulate_trial
from nof1.summary import WITHHELD

ROOT = Path(__file__).resolve().parents[1]
MELATONIN = ROOT / "examples" / "melatonin" / "melatonin_ema.csv"


@pytest.fixture(scope="module")
def protocol() -> TrialProtocol:
    text = set_design_values(
        without_skip_logic(template_text()), {"start_date": dt.date(2026, 1, 5), "seed": 11}
    )
    return TrialProtocol.from_text(text)


@pytest.fixture(scope="module")
def pain(protocol):
    schedule = build_schedule(protocol)
    trial = simulate_trial(
        protocol, schedule, seed=5, effects={"peak_pain": -2.0}, linked=False, adherence=0.8
    )
    return from_records(
        protocol.outcome("peak_pain"), schedule, trial.observations, trial.adherence
    )


def test_a_failed_fit_is_retried_longer_and_then_passes(pain):
    fake = FakeFits("bad", "good")
    result = analyze_outcome(pain, Settings(sensitivity=False, draws=500, tune=500), fit=fake)
    assert [c["draws"] for c in fake.calls] == [500, 1000]
    assert [c["tune"] for c in fake.calls] == [500, 1500]
    assert fake.calls[1]["target_accept"] == analysis.RETRY_TARGET_ACCEPT
    assert fake.calls[0]["seed"] != fake.calls[1]["seed"]
    assert result.diagnostics.attempts == 2 and result.diagnostics.passed
    assert result.verdict == verdict.BENEFIT and result.withheld_reason is None


class FakeGridFits:
    """A fake grid fitter: settled or still-moving grids in order, recording the point caps."""

    def __init__(self, *quality: str) -> None:
        self.quality = list(quality)
        self.calls: list[dict] = []

    def __call__(self, data, spec, *, draws, tune, chains, seed, grid_max_points=None, **_):
        self.calls.append({"draws": draws, "grid_max_points": grid_max_points})
        good = (self.quality.pop(0) if self.quality else "good") == "good"
        rng = np.random.default_rng(seed)
        effect = rng.normal(-2.0, 0.3, size=(chains, draws))
        idata = azb.from_dict({"posterior": {"effect": effect}})
        grid = model.GridInfo(
            parameters=("sigma", "rho"),
            points=64 * 64,
            points_per_axis=64,
            change=1e-6 if good else 0.2,
            edge_mass=1e-12,
            refinements=1,
        )
        return model.Fit(
            idata=idata,
            effect=effect.reshape(-1),
            relative=None,
            latent=None,
            seconds={"total": 0.0},
            sampler="grid",
            grid=grid,
        )


def test_an_unsettled_grid_is_retried_finer_and_reported_as_grid_diagnostics(pain):
    fake = FakeGridFits("bad", "good")
    result = analyze_outcome(pain, Settings(sensitivity=False, draws=500, tune=500), fit=fake)
    assert [c["grid_max_points"] for c in fake.calls] == [None, 64 * analysis.RETRY_GRID_FACTOR]
    d = result.diagnostics
    assert d.engine == "grid" and d.attempts == 2 and d.passed
    assert d.to_dict()["grid"]["points"] == 64 * 64 and d.to_dict()["rhat"] is None
    assert result.withheld_reason is None


def test_a_grid_that_never_settles_withholds_the_verdict(pain):
    fake = FakeGridFits("bad", "bad")
    result = analyze_outcome(pain, Settings(sensitivity=False, draws=500, tune=500), fit=fake)
    assert result.verdict == WITHHELD
    assert "grid integration did not settle" in result.withheld_reason
    assert "still moving" in result.withheld_reason


def test_verdict_is_withheld_when_the_retry_fails_too(pain):
    fake = FakeFits("bad", "bad")
    result = analyze_outcome(pain, Settings(sensitivity=False, draws=500, tune=500), fit=fake)
    assert result.verdict == WITHHELD
    assert "R-hat" in result.withheld_reason and "2 times" in result.withheld_reason
    assert result.effect is not None  # the numbers are shown, marked unreliable


def test_sensitivity_analyses_use_the_other_priors_and_adherent_days(pain):
    fake = FakeFits()
    result = analyze_outcome(pain, Settings(draws=500, tune=500), fit=fake)
    assert [c["prior"] for c in fake.calls] == ["default", "sceptical", "vague", "default"]
    assert fake.calls[-1]["n"] == pain.adherent_only().n < pain.n
    labels = [s.label for s in result.sensitivity]
    assert labels == ["sceptical prior", "vague prior", "adherent days only"]
    assert all(s.verdict == verdict.BENEFIT and not s.verdict_changes for s in result.sensitivity)


def test_predictive_check_and_cross_checks_are_filled_in(protocol, pain):
    result = analyze_outcome(
        pain, Settings(sensitivity=False), design=protocol.design, fit=FakeFits()
    )
    assert result.predictive_check is not None
    assert result.randomization.exact and result.randomization.n_allocations == 2**4
    assert result.paired.n_blocks == 4
    assert result.randomization.statistic == pytest.approx(result.paired.mean_difference)


def test_sampling_seeds_are_reproducible(pain):
    first, second = FakeFits(), FakeFits()
    a = analyze_outcome(pain, Settings(sensitivity=False, seed=3), fit=first)
    b = analyze_outcome(pain, Settings(sensitivity=False, seed=3), fit=second)
    assert first.calls[0]["seed"] == second.calls[0]["seed"]
    assert np.array_equal(a.effect_draws, b.effect_draws)
    assert analysis.derived_seed(3, "x", "default", 1) != analysis.derived_seed(3, "x", "vague", 1)


def test_too_few_days_is_a_clear_error(pain):
    few = evolve(
        pain,
        date=pain.date[:3],
        time=pain.time[:3],
        y=pain.y[:3],
        arm=pain.arm[:3],
        period=pain.period[:3],
        block=pain.block[:3],
        adherent=pain.adherent[:3],
    )
    with pytest.raises(DataError, match="too few analysed days"):
        analyze_outcome(few, Settings())


def test_csv_without_mcid_is_an_error_never_a_default_from_the_data():
    spec = TableSpec("mood", "melatonin", "study_day", better="higher")
    with pytest.raises(DataError) as info:
        analysis.analyze_table(MELATONIN, spec, fit=FakeFits())
    assert str(info.value) == (
        "--mcid is needed for outcome 'mood': give the smallest difference that would matter "
        "(B − A in the outcome's units; per 28 days for count and binary), chosen before looking "
        "at the data — e.g. --mcid 5, or per outcome --outcome mood:continuous:5:higher"
    )


def test_csv_outcome_gets_a_scale_but_keeps_its_stated_mcid():
    data = read_table(MELATONIN, TableSpec("mood", "melatonin", "study_day", mcid=5.0))
    completed = analysis._complete_table_outcome(data)
    assert completed.outcome.mcid == 5.0
    assert completed.outcome.minimum < data.y.min() and completed.outcome.maximum > data.y.max()
    assert not any("SD" in n for n in completed.notes)


def test_csv_count_outcome_without_mcid_is_refused_by_the_completion_too():
    data = read_table(MELATONIN, TableSpec("mood", "melatonin", "study_day"))
    data = evolve(data, outcome=evolve(data.outcome, kind="count"))
    with pytest.raises(DataError, match="--mcid is needed for outcome 'mood'"):
        analysis._complete_table_outcome(data)


def test_workspace_analysis_is_interim_before_the_schedule_ends(make_workspace: MakeWorkspace):
    from nof1.workspace import Workspace

    # pain asked every day: on headache days only, 60 days leave too few B days to analyse
    folder = make_workspace(
        start=dt.date.today() - dt.timedelta(days=60), start_trial=True, replace=NO_SKIP_LOGIC
    )
    with Workspace.open(folder) as ws:
        fill(ws)
        result = analyze_workspace(ws, "peak_pain", sensitivity=False, fit=FakeFits())
    assert result.interim
    assert result.protocol_hash == ws.protocol.fingerprint()
    assert result.analysed_through == dt.date.today() - dt.timedelta(days=1)
    assert [o.name for o in result.outcomes] == ["peak_pain"]


@pytest.mark.sampling
def test_real_sampling_recovers_a_known_effect_in_a_finished_workspace(
    make_workspace: MakeWorkspace,
):
    from nof1.workspace import Workspace

    start = dt.date.today() - dt.timedelta(days=14 + 8 * 28 + 2)
    folder = make_workspace(start=start, start_trial=True, replace=NO_SKIP_LOGIC)
    with Workspace.open(folder) as ws:
        # two MCIDs (1.5) of benefit: the period intercepts leave 8 periods' worth of
        # information, so one MCID's worth is not a sure "meaningful benefit" in one trial
        fill(ws, effect=-3.0)
        result = analyze_workspace(ws, "peak_pain", draws=500, tune=500, sensitivity=False)
    assert not result.interim
    o = result.outcome("peak_pain")
    assert o.diagnostics.passed, o.diagnostics.problems
    assert o.effect.ci95[0] < -3.0 < o.effect.ci95[1]
    assert o.verdict == verdict.BENEFIT
    assert o.randomization.n_allocations == 16 and o.randomization.exact


def test_a_sparse_secondary_outcome_is_skipped_with_its_reason(
    monkeypatch, make_workspace: MakeWorkspace
):
    from nof1.workspace import Workspace

    folder = make_workspace(start=dt.date.today() - dt.timedelta(days=80), start_trial=True)
    with Workspace.open(folder) as ws:
        fill(ws)
        # acute_med_days is asked every day (severity, asked on headache days only, would
        # read as "none" on the others: skipped is not missing)
        monkeypatch.setattr(
            Workspace, "observations", _without("acute_med_days", ws.observations())
        )
        result = analyze_workspace(ws, sensitivity=False, fit=FakeFits())
    assert [name for name, _ in result.skipped] == ["acute_med_days"]
    assert "too few analysed days" in result.skipped[0][1]
    assert "acute_med_days" not in [o.name for o in result.outcomes]
    assert result.to_dict()["skipped"][0]["outcome"] == "acute_med_days"


def test_a_stopped_trial_is_final_and_leaves_out_later_days(make_workspace: MakeWorkspace):
    from nof1.workspace import Workspace

    folder = make_workspace(start=dt.date.today() - dt.timedelta(days=80), start_trial=True)
    stop_day = dt.date.today() - dt.timedelta(days=10)
    with Workspace.open(folder) as ws:
        fill(ws)
        ws.stop("serious adverse event", date=stop_day)
        result = analyze_workspace(ws, "peak_pain", sensitivity=False, fit=FakeFits())
    assert result.interim is False
    assert result.analysed_through is not None and result.analysed_through <= stop_day


def _without(outcome: str, observations):
    kept = [o for o in observations if o.outcome != outcome]
    return lambda self: kept


def test_day_randomized_csv_does_not_give_each_short_run_a_period_intercept() -> None:
    """A CSV randomized by the day has a 'period' per run of one or two days; giving each a
    continuous period intercept made the grid's algebra take minutes and ~20 GB."""
    from pathlib import Path

    from nof1.analysis import MAX_CONTINUOUS_PERIODS, _latent
    from nof1.dataset import TableSpec, read_table

    csv = Path(__file__).resolve().parents[1] / "examples" / "melatonin" / "melatonin_ema.csv"
    spec = TableSpec(
        outcome="mood", treatment="melatonin", time="study_day", control="0", kind="continuous",
        better="higher", mcid=5.0,
    )  # fmt: skip
    data = read_table(csv, spec)
    assert data.period is not None and len(set(data.period)) > MAX_CONTINUOUS_PERIODS
    assert _latent(data) == "ar"
    # the same periods on a binary outcome keep the (cheap, per-period) integrated intercepts
    binary = attrs.evolve(data, outcome=attrs.evolve(data.outcome, kind="binary"))
    assert _latent(binary) == "period"
