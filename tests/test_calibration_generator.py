"""The calibration harness: the independent generator's true estimand, and the summary arithmetic.

``benchmarks/calibration_generator.py`` computes the true effect by integration; here a very long
simulated trial (tens of thousands of periods) checks it, and is shown to tell the truth from
the tempting wrong answer that ignores non-adherence. ``benchmarks/calibration.py``'s summary
is checked on hand-made result rows.
"""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


gen = _load("calibration_generator")
calib = _load("calibration")


def _long_trial_estimate(kind: str, effect: float, periods: int = 24_000, seed: int = 7):
    """Day-pooled arm means of one very long trial, with a period-cluster SE of B − A."""
    rng = np.random.default_rng(seed)
    trial = gen.simulate(kind, effect, "AB" * (periods // 2), rng)
    name = calib.ANALYSED[kind]
    y = trial.values[name]
    ok = trial.cal.analysed & ~np.isnan(y)
    means, ses = [], []
    for arm in ("A", "B"):
        use = ok & (trial.cal.arm == arm)
        means.append(float(y[use].mean()))
        # ratio estimator over periods: residual totals per period
        per = trial.cal.period[use]
        resid = y[use] - means[-1]
        totals = np.bincount(per, weights=resid)[np.unique(per)]
        sizes = np.bincount(per)[np.unique(per)]
        ses.append(float(np.sqrt(np.sum(totals**2)) / sizes.sum()))
    factor = gen.scale_factor(kind)
    return factor * (means[1] - means[0]), factor * math.hypot(*ses), means, ses


@pytest.mark.parametrize("kind", ["continuous", "binary", "count", "ordinal", "pain"])
def test_true_effect_matches_a_very_long_simulated_trial(kind: str) -> None:
    effect = gen.EFFECTS[kind]
    estimate, se, means, ses = _long_trial_estimate(kind, effect)
    params = gen.parameters(kind, effect)
    assert gen.true_effect(params) == pytest.approx(effect, abs=1e-8)
    assert abs(estimate - effect) < 5 * se, (estimate, effect, se)
    base, treated = gen.arm_means(params)
    assert abs(means[0] - base) < 5 * ses[0]
    assert abs(means[1] - treated) < 5 * ses[1]
    # The per-protocol effect (every day taken) is a different number the check must reject:
    # it shows the large-sample check can tell the ITT truth from a plausible wrong one.
    if kind == "pain":
        wrong = gen.rounded_clipped_mean(
            params.intercept + params.beta,
            math.sqrt(gen.total_sd("pain") ** 2 + gen.PAIN_NOISE_SD**2),
            *gen.PAIN_RANGE,
        ) - gen.rounded_clipped_mean(
            params.intercept,
            math.sqrt(gen.total_sd("pain") ** 2 + gen.PAIN_NOISE_SD**2),
            *gen.PAIN_RANGE,
        )
    else:
        wrong = gen.scale_factor(kind) * (treated - base) / gen.ADHERENCE
    assert abs(estimate - wrong) > 5 * se, (estimate, wrong, se)


def test_baselines_are_the_issue_values() -> None:
    assert 28 * gen.arm_means(gen.parameters("binary", 0.0))[0] == pytest.approx(8.0)
    assert 28 * gen.arm_means(gen.parameters("count", 0.0))[0] == pytest.approx(6.0)
    expected = sum(i * p for i, p in enumerate(gen.ORDINAL_BASELINE))
    assert gen.arm_means(gen.parameters("ordinal", 0.0))[0] == pytest.approx(expected)
    assert gen.arm_means(gen.parameters("continuous", 0.0))[0] == pytest.approx(50.0, abs=1e-6)
    a, b = gen.pain_frequency(gen.parameters("pain", 0.0))
    assert (a, b) == (pytest.approx(8.0), pytest.approx(5.0))


def test_null_scenario_has_no_effect_even_with_pain_frequency_effect() -> None:
    for kind in gen.KINDS:
        assert gen.true_effect(gen.parameters(kind, 0.0)) == 0.0
    # pain: the frequency effect is on, the intensity truth stays 0
    assert gen.parameters("pain", 0.0).freq_beta < 0


def test_exact_means_match_brute_force() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(4.2, 2.0, size=2_000_000)
    brute = np.clip(np.floor(x + 0.5), 1, 10).mean()
    assert gen.rounded_clipped_mean(4.2, 2.0, 1, 10) == pytest.approx(brute, abs=0.005)
    x = rng.normal(10.0, 15.0, size=2_000_000)
    assert gen.clipped_normal_mean(10.0, 15.0, 0.0, 100.0) == pytest.approx(
        np.clip(x, 0, 100).mean(), abs=0.03
    )
    lam = np.array([0.3, 2.0, 9.0])
    pois = rng.poisson(lam, size=(1_000_000, 3))
    assert gen.capped_poisson_mean(lam) == pytest.approx(
        np.minimum(pois, 10).mean(axis=0), abs=0.01
    )


def test_calendar_is_the_magnesium_design() -> None:
    cal = gen.calendar("ABBAABBA")
    assert cal.day.size == 14 + 8 * 28
    assert (cal.arm[:14] == "").all() and not cal.analysed[:14].any()
    for p in range(1, 9):
        assert int((cal.analysed & (cal.period == p)).sum()) == 21
    level = gen.effect_level(cal)
    # full effect on every analysed B day, none on analysed A days
    assert (level[cal.analysed & (cal.arm == "B")] == 1).all()
    assert (level[cal.analysed & (cal.arm == "A")] == 0).all()


def test_generator_rejects_unknown_kind_and_bad_sequence() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        gen.parameters("hurdle", 0.0)
    with pytest.raises(ValueError, match="effect must be a finite number"):
        gen.parameters("binary", float("nan"))
    with pytest.raises(ValueError, match="sequence must be letters A and B"):
        gen.calendar("ABC")


def test_generator_does_not_import_nof1() -> None:
    code = (
        f"import sys; sys.path.insert(0, {str(BENCH)!r}); import calibration_generator; "
        "bad = [m for m in sys.modules if m == 'nof1' or m.startswith('nof1.')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_generator_is_deterministic_by_seed() -> None:
    a = gen.simulate("pain", -1.0, "ABBA", np.random.default_rng(11))
    b = gen.simulate("pain", -1.0, "ABBA", np.random.default_rng(11))
    for name in a.values:
        assert np.array_equal(a.values[name], b.values[name], equal_nan=True)
    # pain is logged on headache days only
    assert np.isnan(a.values["peak_pain"][a.values["headache_day"] == 0]).all()


def test_records_follow_the_product_schedule() -> None:
    from nof1.dataset import from_records
    from nof1.schedule import build_schedule

    protocol = calib.make_protocol(12345)
    calib.check_design(protocol)
    schedule = build_schedule(protocol)
    trial = gen.simulate("binary", -3.0, schedule.sequence, np.random.default_rng(2))
    observations, adherence = calib.records(trial, schedule)
    spec = calib.outcome_spec("binary", protocol)
    data = from_records(spec, schedule, observations, adherence)
    y = trial.values["headache_day"]
    keep = trial.cal.analysed & ~np.isnan(y)
    assert data.n == int(keep.sum())
    assert np.array_equal(data.y, y[keep])
    assert np.array_equal(data.arm, (trial.cal.arm[keep] == "B").astype(int))
    # non-adherent days are recorded as such (the adherent-only sensitivity analysis sees them)
    assert int((~data.adherent).sum()) == int((~trial.taken[keep]).sum()) > 0


def test_records_reject_a_sequence_that_is_not_the_schedules() -> None:
    from nof1.schedule import build_schedule

    schedule = build_schedule(calib.make_protocol(12345))
    other = schedule.sequence.translate(str.maketrans("AB", "BA"))
    trial = gen.simulate("binary", 0.0, other, np.random.default_rng(2))
    with pytest.raises(SystemExit, match="does not match the product's schedule"):
        calib.records(trial, schedule)


def _row(scenario: str, truth: float, mean: float, sd: float, low: float, high: float, v: str):
    return {
        "kind": "binary",
        "scenario": scenario,
        "truth": truth,
        "mean": mean,
        "sd": sd,
        "low": low,
        "high": high,
        "verdict": v,
        "engine": "nuts",
        "seconds": 2.0,
    }


def test_summary_arithmetic_on_fake_results() -> None:
    rows = [
        _row("null", 0.0, -3.0, 1.0, -5.0, -1.0, calib.BENEFIT),  # not covered, false benefit
        _row("null", 0.0, 2.0, 1.0, 0.5, 4.0, calib.HARM),  # not covered, false harm
        _row("null", 0.0, 0.0, 2.0, -4.0, 4.0, "no meaningful difference likely"),
        _row("null", 0.0, 1.0, 1.0, -1.0, 3.0, calib.WITHHELD),
        _row("effect", -3.0, -2.0, 1.0, -4.0, 0.0, calib.BENEFIT),
        _row("effect", -3.0, -1.0, 2.0, -5.0, 3.0, "inconclusive"),
    ]
    rows[-1]["seconds"] = 10.0
    s = calib.summarize(rows)
    assert (s["trials"], s["null_trials"], s["effect_trials"]) == (6, 4, 2)
    assert (s["coverage"]["k"], s["coverage"]["n"]) == (4, 6)
    assert s["coverage"]["half"] == pytest.approx(1.96 * math.sqrt(4 / 6 * 2 / 6 / 6))
    assert s["coverage_null"]["k"] == 2 and s["coverage_effect"]["k"] == 2
    assert s["false_benefit"]["p"] == pytest.approx(0.25)
    assert s["false_harm"]["p"] == pytest.approx(0.25)
    assert s["detection"]["p"] == pytest.approx(0.5)
    assert s["withheld"]["k"] == 1
    assert s["bias_null"]["mean"] == pytest.approx(0.0)
    assert s["bias_effect"]["mean"] == pytest.approx(1.5)
    z = [-3.0, 2.0, 0.0, 1.0, 1.0, 1.0]
    assert s["z"]["mean"] == pytest.approx(np.mean(z))
    assert s["z"]["sd"] == pytest.approx(np.std(z, ddof=1))
    assert s["z_effect"]["mean"] == pytest.approx(1.0)
    assert s["median_seconds"] == pytest.approx(2.0)
    assert s["engines"] == ["nuts"]
    assert s["truth_effect"] == -3.0
    text = calib.report("binary", s)
    assert "0.667 ± 0.377 (4/6)" in text and "false 'meaningful harm' (null)" in text


def test_summary_of_an_empty_scenario_is_not_a_number() -> None:
    s = calib.summarize([_row("null", 0.0, 0.0, 1.0, -1.0, 1.0, "inconclusive")])
    assert s["detection"]["n"] == 0 and math.isnan(s["detection"]["p"])
    assert math.isnan(s["bias_effect"]["mean"])
    assert "—" in calib.report("binary", s)


def test_cli_rejects_negative_trial_counts(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        calib.main(["--null", "-1"])
    assert "--null and --effect must be ≥ 0" in capsys.readouterr().err


def test_markdown_names_the_commit_and_uncommitted_changes() -> None:
    rows = [
        _row("null", 0.0, 0.5, 1.0, -1.5, 2.5, "inconclusive"),
        _row("effect", -3.0, -2.5, 1.0, -4.5, -0.5, calib.BENEFIT),
    ]
    payload = {
        "created_at": "2026-12-01T19:00:00+00:00",
        "nof1": {
            "version": "0.1",
            "branch": "models",
            "commit": "a" * 40,
            "src_commit": "b" * 40,
            "dirty": True,
        },
        "args": {"seed": 7, "no_sensitivity": True, "workers": 1},
        "kinds": ["binary"],
        "wall_seconds": 120.0,
        "summaries": {"binary": calib.summarize(rows)},
    }
    text = calib.markdown(payload)
    assert "src last changed in bbbbbbb + uncommitted changes" in text
    assert "| 2026-12-01 models @bbbbbbb+ | nuts | 1 + 1 | 1.000 ± 0.000 (2/2) |" in text
    assert "primary fit only" in text and "seed 7" in text
