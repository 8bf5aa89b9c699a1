"""The design planner (nof1.plan): assumptions, designs, simulation, [planning] writing."""

from __future__ import annotations

import datetime as dt

import attrs
import matplotlib
import pytest

from nof1.errors import PlanError, ProtocolError
from nof1.plan import (
    Assumptions,
    DesignOption,
    alternative_designs,
    default_assumptions,
    design_of,
    plan,
    planning_table,
    simulate_design,
    write_planning,
)
from nof1.plan.planner import _total_days
from nof1.protocol import TrialProtocol
from nof1.report.plan_figure import plot_plan
from nof1.schedule import build_schedule
from nof1.verdict import BENEFIT, VERDICTS

matplotlib.use("Agg")
TEMPLATE = "protocols/migraine-magnesium.toml"


@pytest.fixture(scope="module")
def protocol() -> TrialProtocol:
    return TrialProtocol.from_toml(TEMPLATE)


def test_default_effect_is_one_and_a_half_mcids_in_the_better_direction(
    protocol: TrialProtocol,
) -> None:
    a = default_assumptions(protocol, protocol.outcome("headache_day"))
    assert a.effect == -3.0 and a.baseline == 8.0 and a.lag_days == 3.0
    pain = default_assumptions(protocol, protocol.outcome("peak_pain"), sd=2.0)
    # intensity when present: 60% up the scale on headache days, as the simulator draws it
    assert pain.sd == 2.0 and pain.baseline == 6.0


def test_pain_is_planned_on_the_expected_headache_days(protocol: TrialProtocol) -> None:
    assert default_assumptions(protocol, protocol.outcome("peak_pain")).asked_days == 8.0
    assert default_assumptions(protocol, protocol.outcome("headache_day")).asked_days == 28.0
    given = default_assumptions(protocol, protocol.outcome("peak_pain"), asked_days=12)
    assert given.asked_days == 12.0


def test_asked_days_follow_the_condition(protocol: TrialProtocol) -> None:
    from nof1.plan.planner import asked_days

    text = open(TEMPLATE, encoding="utf-8").read()
    free = TrialProtocol.from_text(
        text.replace('ask_if = "headache_day == yes"   #', 'ask_if = "headache_day == no"   #', 1)
    )
    assert asked_days(free, free.outcome("peak_pain")) == 20.0
    on_pain = TrialProtocol.from_text(
        text.replace(
            'ask_if = "headache_day == yes"\nskipped_value = "none"',
            'ask_if = "peak_pain >= 7"\nanalyse = "when_asked"',
            1,
        )
    )
    share = asked_days(on_pain, on_pain.outcome("severity"))
    assert 1.0 <= share < 28.0  # simulated from peak pain's default level


def test_asked_days_is_refused_for_an_outcome_analysed_every_day(protocol: TrialProtocol) -> None:
    with pytest.raises(PlanError) as caught:
        default_assumptions(protocol, protocol.outcome("headache_day"), asked_days=8)
    assert str(caught.value) == (
        'asked_days is only for an outcome analysed only when asked (analyse = "when_asked"), '
        "and headache_day is analysed on every day: leave it out"
    )


def test_fewer_asked_days_give_a_wider_interval(protocol: TrialProtocol) -> None:
    outcome = protocol.outcome("peak_pain")
    every = Assumptions(effect=-2.0, baseline=6.0, sd=1.5, rho=0.3, lag_days=0)
    headache = attrs.evolve(every, asked_days=8.0)
    option = design_of(protocol.design)
    wide = simulate_design(protocol, outcome, option, headache, simulations=6, seed=2, jobs=1)
    narrow = simulate_design(protocol, outcome, option, every, simulations=6, seed=2, jobs=1)
    assert wide.ci_width > 1.4 * narrow.ci_width  # about sqrt(28 / 8) = 1.9 times


def test_alternative_designs_include_the_protocol_and_are_sorted_by_length(
    protocol: TrialProtocol,
) -> None:
    options = alternative_designs(protocol.design)
    assert design_of(protocol.design) in options
    lengths = [protocol.design.run_in_days + 2 * o.blocks * o.period_days for o in options]
    assert lengths == sorted(lengths)


def test_alternative_designs_from_choices(protocol: TrialProtocol) -> None:
    options = alternative_designs(protocol.design, [2, 3], [14], [0, 7])
    assert DesignOption(2, 14, 0) in options and DesignOption(3, 14, 7) in options
    assert len(options) == 5  # 4 combinations + the protocol's own design


@pytest.fixture(scope="module")
def counterbalanced(protocol: TrialProtocol) -> TrialProtocol:
    design = attrs.evolve(
        protocol.design, scheme="counterbalanced", blocks=4, start_date=dt.date(2026, 1, 5), seed=7
    )
    return attrs.evolve(protocol, design=design)


def test_counterbalanced_alternatives_have_the_days_their_schedule_has(
    counterbalanced: TrialProtocol,
) -> None:
    """The planner proposed 3 and 5 blocks (attrs.evolve bypassed "even blocks"): the schedule
    then had 4 periods while the planner's table said 182 days."""
    options = alternative_designs(counterbalanced.design)
    assert {o.blocks for o in options} == {2, 4, 6, 8}
    for option in options:
        design = attrs.evolve(
            counterbalanced.design,
            blocks=option.blocks,
            period_days=option.period_days,
            analytic_washout_days=option.analytic_washout_days,
        )
        schedule = build_schedule(attrs.evolve(counterbalanced, design=design))
        assert len(schedule.periods) == 2 * option.blocks
        assert schedule.total_days == _total_days(counterbalanced.design, option)


def test_counterbalanced_odd_blocks_asked_for_are_refused(counterbalanced: TrialProtocol) -> None:
    with pytest.raises(PlanError, match=r"^3 blocks: design.blocks must be even for scheme "):
        alternative_designs(counterbalanced.design, [2, 3, 4])


def test_simulating_an_impossible_design_is_refused(counterbalanced: TrialProtocol) -> None:
    spec = counterbalanced.primary_outcome
    a = default_assumptions(counterbalanced, spec)
    with pytest.raises(ProtocolError, match="must be even for scheme 'counterbalanced'"):
        simulate_design(counterbalanced, spec, DesignOption(3, 14, 0), a, simulations=2, jobs=1)


def test_planner_and_protocol_share_the_analysed_days_rule(protocol: TrialProtocol) -> None:
    # 7-day periods with a 6-day analytic washout keep 1 analysed day: a valid protocol design,
    # so the planner offers it; 7 of 7 keeps none and neither accepts it.
    options = alternative_designs(protocol.design, [2], [7], [6, 7])
    assert DesignOption(2, 7, 6) in options and DesignOption(2, 7, 7) not in options
    attrs.evolve(protocol.design, period_days=7, analytic_washout_days=6)
    with pytest.raises(ProtocolError, match="analytic_washout_days must be < design.period_days"):
        attrs.evolve(protocol.design, period_days=7, analytic_washout_days=7)
    with pytest.raises(PlanError, match="no design asked for is possible"):
        alternative_designs(protocol.design, [2], [7], [7])


def test_large_effect_is_found_and_no_effect_rarely_gives_benefit(
    protocol: TrialProtocol,
) -> None:
    outcome = protocol.outcome("peak_pain")  # every day here (asked_days 28); MCID 1.5
    a = Assumptions(effect=-3.0, baseline=5.0, sd=1.0, rho=0.3, lag_days=0)
    result = simulate_design(
        protocol, outcome, design_of(protocol.design), a, simulations=12, seed=3, jobs=1
    )
    assert result.assurance >= 0.9
    assert result.false_benefit <= 0.1
    assert set(result.verdicts) == set(VERDICTS)
    assert sum(result.verdicts.values()) == pytest.approx(1.0)
    assert result.is_protocol and result.total_days == protocol.design.total_days


def test_plan_is_reproducible_and_recommends_the_smallest_design_reaching_target(
    protocol: TrialProtocol,
) -> None:
    a = Assumptions(effect=-1.5, baseline=4.0, sd=1.5)
    designs = [DesignOption(2, 28, 7), DesignOption(6, 28, 7)]
    kwargs = dict(outcome="peak_pain", assumptions=a, designs=designs, simulations=8, seed=5)
    first = plan(protocol, jobs=1, target=0.5, **kwargs)
    again = plan(protocol, jobs=1, target=0.5, **kwargs)
    assert [r.assurance for r in first.results] == [r.assurance for r in again.results]
    reaching = [r for r in first.results if r.assurance >= 0.5]
    if reaching:
        assert first.recommended is min(reaching, key=lambda r: r.total_days)
    assert first.protocol_result is not None  # the protocol's design is always included
    assert (
        first.to_dict()["designs"][0]["total_days"] <= first.to_dict()["designs"][-1]["total_days"]
    )


@pytest.mark.parametrize("name", ["headache_day", "acute_med_days", "severity"])
def test_every_outcome_kind_can_be_planned(protocol: TrialProtocol, name: str) -> None:
    outcome = protocol.outcome(name)
    result = simulate_design(
        protocol,
        outcome,
        design_of(protocol.design),
        default_assumptions(protocol, outcome),
        simulations=4,
        seed=1,
        jobs=1,
    )
    assert 0.0 <= result.assurance <= 1.0 and result.ci_width > 0


def test_bad_target_is_refused(protocol: TrialProtocol) -> None:
    with pytest.raises(PlanError, match=r"^target must be between 0.05 and 0.99 \(got 1.5\)$"):
        plan(protocol, target=1.5, simulations=1, jobs=1)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"rho": float("nan")}, "rho must be between 0 and 0.95 (got nan)"),
        ({"missing_rate": 0.95}, "missing_rate must be between 0 and 0.9 (got 0.95)"),
        ({"sd": 0.0}, "sd must be > 0 (got 0)"),
        ({"effect": float("inf")}, "effect must be a finite number (got inf)"),
        ({"asked_days": 0.0}, "asked_days must be between 1 and 28 (got 0)"),
        ({"asked_days": 29.0}, "asked_days must be between 1 and 28 (got 29)"),
        ({"asked_days": float("nan")}, "asked_days must be between 1 and 28 (got nan)"),
    ],
)
def test_assumptions_value_refuses_impossible_settings(
    protocol: TrialProtocol, given: dict[str, float], message: str
) -> None:
    """Invariants on the value: the CLI, the library and attrs.evolve all meet the same rule."""
    with pytest.raises(PlanError) as caught:
        default_assumptions(protocol, protocol.outcome("peak_pain"), **given)
    assert str(caught.value) == message
    good = default_assumptions(protocol, protocol.outcome("peak_pain"))
    with pytest.raises(PlanError):
        attrs.evolve(good, **given)


def test_binary_levels_must_stay_within_28_days(protocol: TrialProtocol) -> None:
    with pytest.raises(PlanError, match=r"^effect -9 takes headache_day from 8 to -1 per 28 days"):
        default_assumptions(protocol, protocol.outcome("headache_day"), baseline=8.0, effect=-9.0)


def _small_result(protocol: TrialProtocol):  # type: ignore[no-untyped-def]
    a = Assumptions(effect=-2.0, baseline=4.0, sd=1.0)
    return plan(
        protocol,
        outcome="peak_pain",
        assumptions=a,
        designs=[DesignOption(2, 28, 7)],
        simulations=3,
        seed=1,
        jobs=1,
    )


def test_write_planning_keeps_comments_and_replaces_an_old_section(
    protocol: TrialProtocol,
) -> None:
    text = open(TEMPLATE, encoding="utf-8").read()
    table = planning_table(_small_result(protocol), today=dt.date(2026, 1, 2))
    once = write_planning(text, table)
    twice = write_planning(once, table)
    assert once == twice
    assert "# MCIDs: a reduction of 2 headache days" in once
    assert once.count("[planning]") == 1
    parsed = TrialProtocol.from_text(once)
    assert parsed.planning["outcome"] == "peak_pain"
    assert parsed.planning["designs"][0]["blocks"] == 2
    assert parsed.outcomes == protocol.outcomes


def test_plot_writes_a_png(protocol: TrialProtocol, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "plan.png"
    plot_plan(_small_result(protocol), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_benefit_constant_is_the_verdict_the_planner_counts() -> None:
    assert BENEFIT == "meaningful benefit likely"
