"""Statistical properties of the simulator (nof1.simulate)."""

from __future__ import annotations

import datetime as dt

import attrs
import numpy as np
import pytest

from nof1.protocol import TrialProtocol
from nof1.schedule import build_schedule
from nof1.simulate import (
    ar1_latent,
    default_cutpoints,
    exposure,
    ordinal_expected,
    ordinal_shift,
    simulate_outcome,
    simulate_trial,
)

N = 20_000
TIME = np.arange(N, dtype=float)
ARM = (TIME // 14 % 2).astype(int)
TEMPLATE = "protocols/migraine-magnesium.toml"


def _lag1(y: np.ndarray) -> float:
    return float(np.corrcoef(y[:-1], y[1:])[0, 1])


def _protocol(**design: object) -> TrialProtocol:
    protocol = TrialProtocol.from_toml(TEMPLATE)
    values = {"start_date": dt.date(2026, 1, 5), "seed": 11, **design}
    return attrs.evolve(protocol, design=attrs.evolve(protocol.design, **values))


def test_ar1_latent_has_unit_variance_and_lag1_correlation_rho() -> None:
    z = ar1_latent(TIME, 0.6, np.random.default_rng(1))
    assert abs(z.std() - 1) < 0.03
    assert abs(_lag1(z) - 0.6) < 0.03


def test_ar1_latent_is_gap_exact() -> None:
    # observed every other day: the correlation between neighbours is rho**2
    z = ar1_latent(TIME[::2], 0.7, np.random.default_rng(2))
    assert abs(_lag1(z) - 0.49) < 0.03


def test_continuous_lag1_correlation_is_near_rho() -> None:
    y = simulate_outcome(
        "continuous", ARM, TIME, rng=np.random.default_rng(3), baseline=5, effect=0, rho=0.5
    )
    assert abs(_lag1(y) - 0.5) < 0.03


@pytest.mark.parametrize(
    ("kind", "baseline", "effect", "tolerance"),
    [("continuous", 5.0, -1.0, 0.06), ("count", 6.0, -2.0, 0.9), ("binary", 8.0, -3.0, 0.9)],
)
def test_effect_shows_in_means_on_the_verdict_scale(
    kind: str, baseline: float, effect: float, tolerance: float
) -> None:
    y = simulate_outcome(
        kind, ARM, TIME, rng=np.random.default_rng(4), baseline=baseline, effect=effect
    )
    scale = 1.0 if kind == "continuous" else 28.0
    difference = scale * (y[ARM == 1].mean() - y[ARM == 0].mean())
    assert abs(difference - effect) < tolerance
    assert abs(scale * y[ARM == 0].mean() - baseline) < 2 * tolerance


def test_ordinal_effect_is_a_latent_shift_matching_the_expected_category() -> None:
    cut = default_cutpoints(4)
    shift = ordinal_shift(-0.5, 0.0, cut)
    assert ordinal_expected(shift, cut) - ordinal_expected(0.0, cut) == pytest.approx(-0.5)
    y = simulate_outcome(
        "ordinal", ARM, TIME, rng=np.random.default_rng(5), baseline=0.0, effect=shift
    )
    assert abs(y[ARM == 1].mean() - y[ARM == 0].mean() + 0.5) < 0.05


def test_values_respect_the_declared_scale() -> None:
    rng = np.random.default_rng(6)
    pain = simulate_outcome(
        "continuous", ARM, TIME, rng=rng, baseline=8, effect=2, sd=3, minimum=0, maximum=10, step=1
    )
    assert pain.min() >= 0 and pain.max() <= 10 and np.all(pain == np.round(pain))
    doses = simulate_outcome("count", ARM, TIME, rng=rng, baseline=40, effect=0, maximum=3)
    assert doses.min() >= 0 and doses.max() <= 3 and np.all(doses == np.round(doses))
    days = simulate_outcome("binary", ARM, TIME, rng=rng, baseline=8, effect=0)
    assert set(np.unique(days)) == {0.0, 1.0}
    severity = simulate_outcome("ordinal", ARM, TIME, rng=rng, baseline=0, effect=0, n_categories=5)
    assert set(np.unique(severity)) == {0.0, 1.0, 2.0, 3.0, 4.0}


def test_missing_rate_is_respected() -> None:
    y = simulate_outcome(
        "continuous",
        ARM,
        TIME,
        rng=np.random.default_rng(7),
        baseline=0,
        effect=0,
        missing_rate=0.2,
    )
    assert abs(np.isnan(y).mean() - 0.2) < 0.01


def test_same_seed_same_values() -> None:
    def draw() -> np.ndarray:
        return simulate_outcome(
            "count",
            ARM[:200],
            TIME[:200],
            rng=np.random.default_rng(8),
            baseline=6,
            effect=-2,
            missing_rate=0.1,
        )

    np.testing.assert_array_equal(draw(), draw())


def test_exposure_ramps_in_and_out_over_lag_days() -> None:
    arm = np.array([0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0])
    level = exposure(arm, np.arange(arm.size), lag_days=4)
    np.testing.assert_allclose(level, [0, 0, 0.25, 0.5, 0.75, 1, 1, 0.75, 0.5, 0.25, 0])
    np.testing.assert_array_equal(exposure(arm, np.arange(arm.size)), arm)


def test_non_adherent_days_and_days_without_an_arm_get_no_effect() -> None:
    arm = np.array([1, 1, -1, 1])
    level = exposure(arm, np.arange(4), adherent=np.array([True, False, True, True]))
    np.testing.assert_array_equal(level, [1, 0, 0, 1])


def test_trend_moves_the_mean() -> None:
    y = simulate_outcome(
        "continuous",
        np.zeros(N, int),
        TIME,
        rng=np.random.default_rng(9),
        baseline=0,
        effect=0,
        trend_per_day=0.001,
        rho=0.0,
    )
    slope = np.polyfit(TIME, y, 1)[0]
    assert abs(slope - 0.001) < 0.0002


def test_bad_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        simulate_outcome("rating", ARM, TIME, rng=np.random.default_rng(), baseline=0, effect=0)


def test_simulated_trial_values_pass_the_protocols_own_checks() -> None:
    protocol = _protocol()
    trial = simulate_trial(protocol, build_schedule(protocol), seed=1, effects={"headache_day": -3})
    assert trial.observations
    for observation in trial.observations:
        protocol.outcome(observation.outcome).check_value(observation.value)


def test_simulated_trial_pain_and_severity_are_zero_on_headache_free_days() -> None:
    protocol = _protocol()
    trial = simulate_trial(protocol, build_schedule(protocol), seed=2)
    by_day: dict[dt.date, dict[str, float]] = {}
    for o in trial.observations:
        by_day.setdefault(o.date, {})[o.outcome] = o.value
    free = [v for v in by_day.values() if v["headache_day"] == 0]
    headache = [v for v in by_day.values() if v["headache_day"] == 1]
    assert free and headache
    # the template asks pain and severity only on headache days (ask_if): the simulated diary
    # leaves them out on the other days, as the person does, and the analysis reads them as 0
    assert all("peak_pain" not in v and "severity" not in v for v in free)
    assert all(protocol.effective(v)["peak_pain"] == 0 for v in free)
    assert all(protocol.effective(v)["severity"] == 0 for v in free)
    assert all(v["peak_pain"] > 0 and v["severity"] > 0 for v in headache)


def test_simulated_trial_headache_rate_and_effect_are_realistic() -> None:
    # two trials of 19 blocks: one of 40 blocks would pass the 3-year limit on a trial's length
    protocol = _protocol(blocks=19)
    values: dict[str, list[float]] = {"A": [], "B": []}
    # eight trials: one trial's headache rate varies by about ±1 day per 28 (autocorrelation)
    for seed in (3, 30, 300, 3000, 4, 40, 400, 4000):
        trial = simulate_trial(
            protocol, build_schedule(protocol), seed=seed, effects={"headache_day": -3}
        )
        arms = {d.date: d.arm for d in trial.schedule.days() if d.analysed}
        for o in trial.observations:
            if o.outcome == "headache_day" and o.date in arms:
                values[arms[o.date]].append(o.value)
    rate_a = 28 * np.mean(values["A"])
    rate_b = 28 * np.mean(values["B"])
    assert 6.5 < rate_a < 9.5
    assert abs((rate_b - rate_a) + 3) < 1.0


def _pain_by_arm(effects: dict[str, float], seeds: range) -> dict[str, list[float]]:
    protocol = _protocol(blocks=19)
    schedule = build_schedule(protocol)
    arms = {d.date: d.arm for d in schedule.days() if d.analysed}
    pain: dict[str, list[float]] = {"A": [], "B": []}
    for seed in seeds:
        trial = simulate_trial(
            protocol, schedule, seed=seed, effects=effects, missing_rate=0.0, adherence=1.0
        )
        headache = {o.date for o in trial.observations if o.outcome == "headache_day" and
                    o.value == 1}  # fmt: skip
        for o in trial.observations:
            if o.outcome == "peak_pain" and o.date in arms:
                assert o.date in headache  # pain is absent on headache-free days
                pain[str(arms[o.date])].append(o.value)
    return pain


def test_simulated_pain_intensity_does_not_carry_the_frequency_effect() -> None:
    """Fewer headache days on B must not make the remaining headache days worse (or better):
    the frequency effect lives in headache_day alone, so it is never counted twice. (With the
    pain drawn from the headache's own latent series the difference was +0.54 points.)"""
    pain = _pain_by_arm({"headache_day": -6.0}, range(8))
    assert len(pain["B"]) < 0.5 * len(pain["A"])  # far fewer headache days on B
    assert abs(np.mean(pain["B"]) - np.mean(pain["A"])) < 0.25


def test_simulated_pain_effect_acts_on_intensity_on_headache_days_only() -> None:
    pain = _pain_by_arm({"peak_pain": -1.5}, range(4))
    # on headache days, a little less than -1.5: pain is at least 1 on a headache day
    assert -1.8 < np.mean(pain["B"]) - np.mean(pain["A"]) < -1.0
    # and no effect on how often: about as many headache days on each arm
    assert 0.8 < len(pain["B"]) / len(pain["A"]) < 1.25


def test_simulated_trial_missing_days_adherence_and_events() -> None:
    protocol = _protocol(blocks=19)  # the longest trial under the 3-year limit
    schedule = build_schedule(protocol)
    trial = simulate_trial(protocol, schedule, seed=4, missing_rate=0.1, adherence=0.8)
    logged = {o.date for o in trial.observations}
    assert abs(1 - len(logged) / schedule.total_days - 0.1) < 0.03
    took = [a.took for a in trial.adherence]
    assert abs(took.count("yes") / len(took) - 0.8) < 0.04
    assert trial.events and all(not e.serious for e in trial.events)


def test_simulated_trial_stops_at_through_and_is_reproducible() -> None:
    protocol = _protocol()
    schedule = build_schedule(protocol)
    through = schedule.start + dt.timedelta(days=40)
    first = simulate_trial(protocol, schedule, seed=5, through=through)
    assert max(o.date for o in first.observations) <= through
    assert first == simulate_trial(protocol, schedule, seed=5, through=through)


def test_simulated_trial_refuses_unknown_outcome_names() -> None:
    protocol = _protocol()
    with pytest.raises(ValueError, match="unknown outcomes: migraine"):
        simulate_trial(protocol, build_schedule(protocol), seed=1, effects={"migraine": -1})
