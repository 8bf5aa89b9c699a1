"""Prior specifications (nof1.prior): scaling to the outcome, MCID translation, validation."""

from __future__ import annotations

import math

import attrs
import numpy as np
import pytest
from scipy.special import expit

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
    assert v.effect_sigma == pytest.approx(10 * d.effect_sigma)
    assert s.effect_mu == 0.0


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


def test_count_baseline_uses_maximum_before_data() -> None:
    p = default_prior(outcome("count", maximum=8.0), y=np.array([100.0, 100.0]))
    assert p.intercept_mu == pytest.approx(math.log(2.0))


def test_count_baseline_falls_back_to_data_then_to_one_per_day() -> None:
    o = outcome("count")
    assert default_prior(o, y=np.array([0.0, 1.0, 0.0, 1.0])).intercept_mu == pytest.approx(
        math.log(0.55)
    )
    assert default_prior(o).intercept_mu == 0.0


def test_count_sceptical_scale_moves_the_baseline_by_one_mcid() -> None:
    o = outcome("count", mcid=2.0)
    p = sceptical_prior(o, y=np.full(28, 8 / 28 - 0.05))  # 8 events per 28 days
    assert 28 * math.exp(p.intercept_mu) * math.exp(p.effect_sigma) == pytest.approx(10.0)


def test_binary_sceptical_scale_moves_one_half_by_mcid_days_per_28() -> None:
    p = sceptical_prior(outcome("binary", mcid=2.8))  # 0.1 per day
    assert expit(p.effect_sigma / 2) - expit(-p.effect_sigma / 2) == pytest.approx(0.1)


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
