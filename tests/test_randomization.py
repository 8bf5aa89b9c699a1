"""The randomization test over the schedule's own scheme, and the paired block comparison."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy import stats

from nof1.protocol import Design
from nof1.randomization import (
    _random_restricted_many,
    count_restricted,
    is_unit_randomized,
    paired_comparison,
    randomization_test,
    statistic,
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
    r = unit_randomization_test([0.0, 1.0, 0.0, 1.0], "ABAB")
    assert r.exact and r.n_allocations == 2 and r.p_value == pytest.approx(1.0)
    # AABB-like with max run 2: 6 arrangements of 2 A and 2 B, all runs ≤ 2 except none
    r = unit_randomization_test([0.0, 0.0, 5.0, 5.0], "AABB")
    assert r.n_allocations == 6
    # only AABB and BBAA reach |T| = 5
    assert r.p_value == pytest.approx(2 / 6)


def test_unit_test_uses_monte_carlo_for_long_day_level_series():
    arms = "AABABBABAB" * 7
    r = unit_randomization_test(np.arange(70.0), arms, seed=1)
    assert not r.exact and r.scheme == "unit-level restricted (max run 2)"
    assert "unit = one time unit" in r.note


def test_is_unit_randomized_tells_days_from_periods():
    assert is_unit_randomized("AABABBAB")
    assert not is_unit_randomized("A" * 7 + "B" * 7 + "B" * 7 + "A" * 7)


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
