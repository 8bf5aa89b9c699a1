"""The randomization test over the schedule's own scheme, and the paired block comparison."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy import stats

from nof1.dataset import TableSpec, table_from_rows
from nof1.errors import DataError
from nof1.protocol import Design
from nof1.randomization import (
    NOT_STATED,
    StatedScheme,
    _random_restricted_many,
    count_restricted,
    paired_comparison,
    randomization_test,
    statistic,
    table_randomization_test,
    unit_randomization_test,
)
from nof1.schedule import count_sequences


def test_statistic_is_mean_of_b_periods_minus_mean_of_a_periods():
    assert statistic(np.array([1.0, 3.0, 2.0, 6.0]), "ABAB") == pytest.approx(3.0)
    assert statistic(np.array([1.0, 3.0, np.nan, 6.0]), "ABAB") == pytest.approx(3.5)


@pytest.mark.parametrize("blocks", [1, 3, 4, 8])
def test_pairwise_enumerates_two_to_the_blocks(blocks):
    means = np.arange(2 * blocks, dtype=float)
    r = randomization_test(means, "AB" * blocks, Design(scheme="pairwise", blocks=blocks))
    assert r.exact and r.n_allocations == 2**blocks
    assert r.scheme == "pairwise"


def test_pairwise_p_value_by_hand():
    # Every block: A = 1, B = 2, so the observed statistic is 1. Flipping block k turns its
    # contribution to -1/3; |statistic| = 1 only when no block or every block is flipped:
    # 2 of the 2^3 = 8 allocations, p = 0.25.
    r = randomization_test([1, 2, 1, 2, 1, 2], "ABABAB", Design(scheme="pairwise", blocks=3))
    assert r.statistic == pytest.approx(1.0)
    assert r.p_value == pytest.approx(2 / 8)


def test_pairwise_p_value_by_hand_with_unequal_blocks():
    # ABBA with means 0, 3 | 1, 0: block differences B - A are 3 and 1, T = (3 + 1)/2 = 2.
    # The 4 allocations give (±3 ± 1)/2 = 2, 1, -1, -2, so |T| ≥ 2 in 2 of 4: p = 0.5.
    r = randomization_test([0, 3, 1, 0], "ABBA", Design(scheme="pairwise", blocks=2))
    assert r.statistic == pytest.approx(2.0)
    assert r.p_value == pytest.approx(0.5)


def test_counterbalanced_and_restricted_enumerate_exactly_the_scheme():
    design = Design(scheme="counterbalanced", blocks=4)
    r = randomization_test(np.arange(8.0), "ABBABAAB", design)
    assert r.n_allocations == 4 == count_sequences(design)
    design = Design(scheme="restricted", blocks=4, max_run=2)
    r = randomization_test(np.arange(8.0), "ABBABAAB", design)
    assert r.exact and r.n_allocations == count_sequences(design)


def test_fixed_design_has_no_randomization_test():
    r = randomization_test([1, 2, 1, 2], "ABAB", Design(scheme="fixed", blocks=2))
    assert r.p_value is None
    assert "not randomized" in r.note


def test_large_designs_use_seeded_monte_carlo():
    design = Design(scheme="pairwise", blocks=20)
    means = np.random.default_rng(1).normal(size=40)
    first = randomization_test(means, "AB" * 20, design, seed=5)
    again = randomization_test(means, "AB" * 20, design, seed=5)
    assert not first.exact and "drawn at random (seed 5)" in first.note
    assert first.p_value == again.p_value
    assert 0 < first.p_value <= 1


def test_missing_period_means_are_left_out():
    r = randomization_test([1, 2, None, 5], "ABAB", Design(scheme="pairwise", blocks=2))
    assert r.statistic == pytest.approx(2.5)  # (2 + 5)/2 - 1


def test_count_restricted_agrees_with_the_schedule():
    for blocks, max_run in [(3, 2), (4, 2), (5, 3)]:
        design = Design(scheme="restricted", blocks=blocks, max_run=max_run)
        assert count_restricted(blocks, blocks, max_run) == count_sequences(design)


def test_restricted_sampler_is_uniform():
    draws = _random_restricted_many(3, 3, 2, np.random.default_rng(3), 28_000)
    counts = Counter(draws)
    assert len(counts) == count_restricted(3, 3, 2) == 14
    assert all(max(s.count("AAA"), s.count("BBB")) == 0 for s in counts)
    chi2 = stats.chisquare(list(counts.values())).pvalue
    assert chi2 > 0.001


def test_unit_test_enumerates_small_reference_sets_by_hand():
    # ABAB with runs ≤ 1: only ABAB and BABA, whose statistics are ±T: p = 1.
    r = unit_randomization_test([0.0, 1.0, 0.0, 1.0], "ABAB", max_run=1)
    assert r.exact and r.n_allocations == 2 and r.p_value == pytest.approx(1.0)
    # no run limit: all 6 arrangements of 2 A and 2 B; only AABB and BBAA reach |T| = 5
    r = unit_randomization_test([0.0, 0.0, 5.0, 5.0], "AABB")
    assert r.n_allocations == 6 and r.scheme == "time unit-level, complete"
    assert r.p_value == pytest.approx(2 / 6)


def test_unit_test_never_takes_the_run_limit_from_the_data():
    # Without a stated --max-run, the longest observed run (1 here) is NOT used as the limit.
    r = unit_randomization_test([0.0, 1.0, 0.0, 1.0, 0.0, 1.0], "ABABAB")
    assert r.n_allocations == 20 and "no run over" not in r.note


def test_unit_test_uses_monte_carlo_for_long_day_level_series():
    arms = "AABABBABAB" * 7
    r = unit_randomization_test(np.arange(70.0), arms, max_run=2, seed=1)
    assert not r.exact and r.scheme == "time unit-level, restricted (max run 2)"
    assert "unit = one time unit" in r.note and "no run over 2" in r.note
    unrestricted = unit_randomization_test(np.arange(70.0), arms, seed=1)
    assert not unrestricted.exact and unrestricted.scheme == "time unit-level, complete"


def test_unit_test_keeps_units_without_a_value_in_every_arrangement():
    r = unit_randomization_test([0.0, None, 5.0, 5.0], "ABAB")
    assert r.n_allocations == 6 and np.isfinite(r.statistic)


# -- a table's stated scheme -------------------------------------------------------------


def injections(effect: float = 4.0) -> list[dict[str, str]]:
    """12 injections measured twice each, randomized in 6 pairs (AB or BA): the shape of the
    published series that a scheme guessed from the rows gave p = 3.8e-5."""
    order = "AB BA BA AB BA AB".split()
    rows = []
    rng = np.random.default_rng(7)
    for pair, arms in enumerate(order, start=1):
        for k, arm in enumerate(arms):
            injection = 2 * (pair - 1) + k + 1
            for _ in range(2):
                value = 10 + (effect if arm == "B" else 0) + rng.normal(0, 0.3)
                rows.append(
                    {
                        "injection": str(injection),
                        "pair": str(pair),
                        "drug": arm,
                        "y": f"{value:.2f}",
                    }
                )
    return rows


def injection_data(*, block: bool = True):
    spec = TableSpec("y", "drug", "injection", block="pair" if block else None, control="A", mcid=1)
    return table_from_rows(injections(), ["injection", "pair", "drug", "y"], spec)


def period_means(data) -> list[float | None]:
    return [p.mean for p in data.periods]


def test_table_test_is_not_run_without_a_stated_scheme():
    data = injection_data()
    r = table_randomization_test(data, None, period_means=period_means(data))
    assert r.p_value is None and r.scheme == "not stated" and r.note == NOT_STATED
    assert "--randomized-by" in r.note


def test_injection_pairs_give_the_design_based_p_not_a_row_level_one():
    data = injection_data()
    assert data.n == 12  # two measurements of each injection averaged: the unit is the injection
    r = table_randomization_test(data, StatedScheme("pair"), period_means=period_means(data))
    # 6 pairs: 2^6 = 64 allocations; a perfect separation gives the smallest p, 2/64.
    assert r.exact and r.n_allocations == 64
    assert r.p_value == pytest.approx(2 / 64)
    assert r.p_value > 3.8e-5 * 100


def test_injection_periods_stated_as_the_unit_enumerate_all_arrangements():
    data = injection_data()
    r = table_randomization_test(data, StatedScheme("period"), period_means=period_means(data))
    assert r.n_allocations == 924  # C(12, 6): every order of 6 A and 6 B injections
    assert r.p_value == pytest.approx(2 / 924)


def test_pair_scheme_refuses_blocks_that_are_not_one_a_and_one_b():
    rows = [{"t": str(t), "arm": a, "y": "1"} for t, a in enumerate("AABBBBAA", start=1)]
    data = table_from_rows(rows, ["t", "arm", "y"], TableSpec("y", "arm", "t", control="A", mcid=1))
    with pytest.raises(DataError) as info:
        table_randomization_test(data, StatedScheme("pair"), period_means=period_means(data))
    assert str(info.value) == (
        "--randomized-by pair needs every block to be one A and one B period; block 2 is A: give "
        "a --block column that marks the pairs, or state the unit that was randomized"
    )


def test_stated_max_run_the_data_contradict_is_an_error():
    rows = [{"t": str(t), "arm": a, "y": str(t)} for t, a in enumerate("AAABBABBAB", start=1)]
    data = table_from_rows(rows, ["t", "arm", "y"], TableSpec("y", "arm", "t", control="A", mcid=1))
    with pytest.raises(DataError) as info:
        table_randomization_test(data, StatedScheme("day", 2), period_means=period_means(data))
    assert str(info.value) == (
        "--max-run 2 cannot be right: the data have 3 time units (--time values) in a row on one "
        "treatment, which that randomization could not draw; check --max-run and --randomized-by"
    )


def test_unknown_randomized_by_is_refused():
    with pytest.raises(DataError) as info:
        StatedScheme("row")
    assert str(info.value).startswith(
        "--randomized-by must be day, period, pair or block (got 'row')"
    )


def test_max_run_with_pairs_or_below_one_is_refused():
    for unit in ("pair", "block"):
        with pytest.raises(DataError, match="--max-run applies only with --randomized-by day or"):
            StatedScheme(unit, 2)
    with pytest.raises(DataError, match=r"--max-run must be ≥ 1 \(got 0\)"):
        StatedScheme("day", 0)


def test_paired_comparison_matches_a_one_sample_t_test():
    means = [1.0, 2.0, 2.0, 4.0, 3.0, 6.0]  # block differences 1, 2, 3
    p = paired_comparison(means, "ABABAB", [1, 1, 2, 2, 3, 3])
    assert p.n_blocks == 3 and p.mean_difference == pytest.approx(2.0)
    t = stats.ttest_1samp([1, 2, 3], 0.0)
    assert p.p_value == pytest.approx(t.pvalue)
    half = stats.t.ppf(0.975, 2) * 1 / np.sqrt(3)
    assert p.ci95 == pytest.approx((2.0 - half, 2.0 + half))


def test_paired_comparison_skips_blocks_missing_an_arm():
    p = paired_comparison([1.0, None, 2.0, 4.0], "ABBA", [1, 1, 2, 2])
    assert p.n_blocks == 1 and p.ci95 is None and p.p_value is None
    assert p.mean_difference == pytest.approx(-2.0)


def test_paired_comparison_scales_to_the_verdict_scale():
    p = paired_comparison([0.25, 0.5, 0.25, 0.5], "ABAB", [1, 1, 2, 2], scale=28)
    assert p.mean_difference == pytest.approx(7.0)


def test_unit_test_over_too_many_units_is_not_run_and_says_why():
    r = unit_randomization_test(np.arange(1002.0), "AB" * 501)
    assert r.p_value is None and r.note.startswith("not run: 1002 time units are more than")


def test_long_alternating_series_enumerates_without_recursion_error():
    # 1000 strictly alternating days with --max-run 1: only ABAB... and BABA... are possible.
    r = unit_randomization_test(np.arange(1000.0), "AB" * 500, max_run=1)
    assert r.exact and r.n_allocations == 2 and r.p_value == pytest.approx(1.0)


def counterbalanced_injections() -> list[dict[str, str]]:
    """12 injections measured twice each in 3 counterbalanced blocks (ABBA or BAAB at random):
    8 possible allocations, so no design-based two-sided p below 2/8 (one-sided 1/8 = 0.125)."""
    rows = []
    for blk, pattern in enumerate(("ABBA", "BAAB", "ABBA"), start=1):
        for k, arm in enumerate(pattern):
            injection = 4 * (blk - 1) + k + 1
            for rep in range(2):
                value = 10 + (5 if arm == "B" else 0) + 0.1 * rep
                rows.append(
                    {"inj": str(injection), "blk": str(blk), "drug": arm, "y": f"{value:.2f}"}
                )
    return rows


def test_counterbalanced_injections_stated_by_block_have_eight_allocations():
    spec = TableSpec("y", "drug", "inj", block="blk", control="A", mcid=1)
    data = table_from_rows(counterbalanced_injections(), ["inj", "blk", "drug", "y"], spec)
    # periods are runs within a block: A|BB|A, B|AA|B, A|BB|A
    assert data.n == 12 and data.sequence == "ABABABABA"
    r = table_randomization_test(data, StatedScheme("block"), period_means=period_means(data))
    assert r.exact and r.n_allocations == 8 and r.scheme == "block mirror"
    assert r.p_value == pytest.approx(2 / 8)  # the best a perfect separation can reach


def test_counterbalanced_injections_are_not_pairs():
    spec = TableSpec("y", "drug", "inj", block="blk", control="A", mcid=1)
    data = table_from_rows(counterbalanced_injections(), ["inj", "blk", "drug", "y"], spec)
    with pytest.raises(DataError, match="--randomized-by pair needs every block to be one A and"):
        table_randomization_test(data, StatedScheme("pair"), period_means=period_means(data))


def test_block_scheme_refuses_a_block_with_one_treatment():
    rows = [
        {"t": str(t), "arm": a, "b": b}
        for t, (a, b) in enumerate(zip("ABABB", "11122", strict=True), start=1)
    ]
    rows = [{**row, "y": "1"} for row in rows]
    spec = TableSpec("y", "arm", "t", block="b", control="A", mcid=1)
    data = table_from_rows(rows, ["t", "arm", "b", "y"], spec)
    with pytest.raises(DataError) as info:
        table_randomization_test(data, StatedScheme("block"), period_means=period_means(data))
    assert str(info.value) == (
        "--randomized-by block needs both treatments in every block; block 2 is B: give a "
        "--block column that marks the blocks, or state the unit that was randomized"
    )


def test_block_mirror_matches_pairwise_for_blocks_of_two():
    data = injection_data()
    means = period_means(data)
    pair = table_randomization_test(data, StatedScheme("pair"), period_means=means)
    block = table_randomization_test(data, StatedScheme("block"), period_means=means)
    assert block.n_allocations == pair.n_allocations == 64
    assert block.p_value == pytest.approx(pair.p_value)
