"""Prior specifications (nof1.prior): scaling to the outcome, MCID translation, validation."""

from __future__ import annotations

import math

import attrs
import numpy as np
import pytest
from scipy.special import expit, logit

from nof1.prior import (
    PriorSpec,
    default_prior,
    effect_scale_for,
    sceptical_prior,
    vague_prior,
)
from nof1.protocol import OutcomeSpec


def outcome(kind: str, **kw: object) -> OutcomeSpec:
    base: dict[str, object] = dict(name="x", kind=kind, question="?", better="lower", mcid=1.0)
    if kind == "continuous":
        base.update(minimum=0.0, maximum=10.0)
    if kind == "ordinal":
        base.update(categories=("none", "mild", "moderate", "severe"))
    base.update(kw)
    return OutcomeSpec(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["continuous", "count", "binary", "ordinal"])
def test_every_kind_has_a_default_sceptical_and_vague_prior(kind: str) -> None:
    o = outcome(kind)
    d, s, v = default_prior(o), sceptical_prior(o), vague_prior(o)
    assert (d.label, s.label, v.label) == ("default", "sceptical", "vague")
    assert d.kind == s.kind == v.kind == kind
    assert v.effect_sigma > d.effect_sigma
    assert s.effect_mu == 0.0


def test_continuous_vague_prior_is_ten_times_wider() -> None:
    o = outcome("continuous")
    assert vague_prior(o).effect_sigma == pytest.approx(10 * default_prior(o).effect_sigma)


def test_continuous_default_is_scaled_to_the_declared_range() -> None:
    p = default_prior(outcome("continuous", minimum=20.0, maximum=60.0))
    assert p.intercept_mu == 40.0
    assert p.intercept_sigma == 20.0
    assert p.effect_sigma == 10.0
    assert p.sigma_scale == 10.0


def test_continuous_without_range_is_an_error_naming_the_fix() -> None:
    o = attrs.evolve(outcome("continuous"), maximum=None)
    with pytest.raises(ValueError, match="set min and max"):
        default_prior(o)


def test_continuous_sceptical_scale_is_the_mcid() -> None:
    assert sceptical_prior(outcome("continuous", mcid=1.5)).effect_sigma == 1.5


def test_count_baseline_never_uses_the_scale_maximum() -> None:
    # issue 15: a quarter of the maximum (2.5 doses a day) made the sceptical prior absurd
    p = default_prior(outcome("count", maximum=10.0), y=np.full(27, 0.0))
    assert 28 * math.exp(p.intercept_mu) == pytest.approx(28 * 0.5 / 28)


def test_count_baseline_is_the_smoothed_rate_of_the_baseline_days() -> None:
    o = outcome("count")
    y = np.array([0.0, 1.0, 0.0, 1.0])
    assert default_prior(o, y=y).intercept_mu == pytest.approx(math.log(2.5 / 5))
    assert default_prior(o).intercept_mu == 0.0  # no data: one event a day


def test_count_baseline_ignores_nan_days() -> None:
    o = outcome("count")
    with_nan = default_prior(o, y=np.array([1.0, np.nan, 1.0, np.inf]))
    assert with_nan.intercept_mu == pytest.approx(math.log(2.5 / 3))


def test_count_baseline_of_an_empty_array_falls_back_to_one_a_day() -> None:
    assert default_prior(outcome("count"), y=np.array([])).intercept_mu == 0.0


def test_count_baseline_of_all_zero_days_stays_finite() -> None:
    p = sceptical_prior(outcome("count", mcid=2.0), y=np.zeros(84))
    assert math.isfinite(p.intercept_mu) and math.isfinite(p.effect_sigma)
    assert p.effect_sigma > 1.0  # 2 doses against a baseline near 0 per 28 days is a big ratio


def test_count_sceptical_scale_moves_the_baseline_by_one_mcid() -> None:
    o = outcome("count", mcid=2.0)
    y = np.array([8.0] + [0.0] * 27)  # 8 events in 28 baseline days
    p = sceptical_prior(o, y=y)
    baseline = 28 * math.exp(p.intercept_mu)
    assert baseline == pytest.approx(28 * 8.5 / 29)
    assert baseline * math.exp(p.effect_sigma) == pytest.approx(baseline + 2.0)


def test_count_sceptical_prior_of_the_demo_scale_is_not_degenerate() -> None:
    # issue 15: the demo's acute-medication sceptical SD was 0.028 with the max/4 baseline
    o = outcome("count", mcid=2.0, maximum=10.0)
    y = np.array([1.0] * 6 + [0.0] * 22)  # 6 doses per 28 days
    assert sceptical_prior(o, y=y).effect_sigma == pytest.approx(math.log1p(2 / (28 * 6.5 / 29)))
    assert sceptical_prior(o, y=y).effect_sigma > 0.25


def test_count_vague_prior_stays_within_the_declared_maximum() -> None:
    y = np.array([1.0] * 6 + [0.0] * 22)
    v = vague_prior(outcome("count", maximum=10.0), y=y)
    r0 = math.exp(v.intercept_mu)
    assert r0 * math.exp(1.96 * v.effect_sigma) <= 10.0 + 1e-9
    near = vague_prior(outcome("count", maximum=0.5), y=y)  # a maximum near the baseline
    assert near.effect_sigma == default_prior(outcome("count")).effect_sigma


def test_count_vague_prior_without_maximum_spans_a_fifty_fold_ratio() -> None:
    v = vague_prior(outcome("count"), y=np.ones(28))
    assert math.exp(1.96 * v.effect_sigma) == pytest.approx(50.4, rel=0.01)


def test_binary_baseline_is_the_smoothed_share_of_event_days() -> None:
    y = np.array([1.0] * 8 + [0.0] * 20)
    p = default_prior(outcome("binary"), y=y)
    assert expit(p.intercept_mu) == pytest.approx(8.5 / 29)


def test_binary_baseline_of_all_event_days_stays_inside_zero_one() -> None:
    p = sceptical_prior(outcome("binary", mcid=2.0), y=np.ones(56))
    assert 0 < expit(p.intercept_mu) < 1 and math.isfinite(p.effect_sigma)


def test_binary_sceptical_scale_moves_the_baseline_by_mcid_days_per_28() -> None:
    y = np.array([1.0] * 8 + [0.0] * 20)
    p = sceptical_prior(outcome("binary", mcid=2.8), y=y)  # 0.1 per day
    p0 = 8.5 / 29
    up, down = logit(p0 + 0.1) - logit(p0), logit(p0) - logit(p0 - 0.1)
    # the log odds ratio worth 0.1 a day at the person's baseline, either direction
    assert p.effect_sigma == pytest.approx((up + down) / 2)


def test_binary_sceptical_scale_without_data_moves_one_half_by_mcid_days_per_28() -> None:
    p = sceptical_prior(outcome("binary", mcid=2.8))  # 0.1 per day
    assert expit(p.effect_sigma) - 0.5 == pytest.approx(0.1)


def test_binary_sceptical_scale_of_a_huge_mcid_stays_finite() -> None:
    p = sceptical_prior(outcome("binary", mcid=27.9), y=np.array([1.0] * 8 + [0.0] * 20))
    assert math.isfinite(p.effect_sigma) and p.effect_sigma > 0


def test_binary_and_ordinal_vague_priors_are_bounded() -> None:
    for kind in ("binary", "ordinal"):
        v = vague_prior(outcome(kind))
        assert v.effect_sigma == 2.5 and v.intercept_sigma == 3.0


def test_ordinal_cutpoints_follow_the_baseline_category_shares() -> None:
    y = np.array([0.0] * 20 + [1.0] * 5 + [2.0] * 2 + [3.0] * 1)
    p = default_prior(outcome("ordinal"), y=y)
    shares = np.diff(np.concatenate([[0.0], expit(p.cutpoint_mu), [1.0]]))
    assert shares == pytest.approx((np.array([20, 5, 2, 1]) + 0.5) / 30)


def test_ordinal_cutpoints_with_an_empty_category_stay_increasing() -> None:
    p = default_prior(outcome("ordinal"), y=np.zeros(40))
    assert all(b > a for a, b in zip(p.cutpoint_mu, p.cutpoint_mu[1:], strict=False))


def test_ordinal_sceptical_scale_matches_the_slope_of_expected_category() -> None:
    o = outcome("ordinal", mcid=0.1)
    p = sceptical_prior(o)
    cut = np.array(p.cutpoint_mu)

    def expected(shift: float) -> float:
        return float(np.sum(expit(shift - cut)))

    # a small latent shift of one sceptical SD moves the expected category by ~ the MCID
    assert expected(p.effect_sigma / 2) - expected(-p.effect_sigma / 2) == pytest.approx(
        0.1, rel=0.01
    )


def test_ordinal_cutpoints_make_categories_equally_likely() -> None:
    p = default_prior(outcome("ordinal"))
    probs = np.diff(np.concatenate([[0.0], expit(p.cutpoint_mu), [1.0]]))
    assert probs == pytest.approx(np.full(4, 0.25))


def test_vague_prior_is_wider_everywhere_and_flat_on_rho() -> None:
    o = outcome("count")
    d, v = default_prior(o), vague_prior(o)
    assert v.intercept_sigma > d.intercept_sigma and v.latent_sigma_scale > d.latent_sigma_scale
    assert (v.rho_alpha, v.rho_beta) == (1.0, 1.0)


def test_prior_spec_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="effect_sigma must be a finite number > 0"):
        PriorSpec(kind="binary", effect_sigma=0.0)
    with pytest.raises(ValueError, match="kind must be one of"):
        PriorSpec(kind="poisson")
    with pytest.raises(ValueError, match="increasing"):
        PriorSpec(kind="ordinal", cutpoint_mu=(1.0, 0.0))


def test_effect_scale_rejects_non_positive_difference() -> None:
    o = outcome("binary")
    with pytest.raises(ValueError, match="> 0"):
        effect_scale_for(o, 0.0, default_prior(o))


def test_describe_names_the_scale() -> None:
    assert "log rate ratio" in default_prior(outcome("count")).describe()
