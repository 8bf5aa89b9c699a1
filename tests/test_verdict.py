"""The verdict rule (nof1.verdict): every branch, orientation and edge."""

from __future__ import annotations

import numpy as np
import pytest

from nof1.verdict import (
    BENEFIT,
    HARM,
    INCONCLUSIVE,
    NEGLIGIBLE,
    VERDICTS,
    oriented,
    probabilities,
    verdict,
)


def _p(benefit: float = 0.5, mb: float = 0.0, mh: float = 0.0, neg: float = 0.0) -> dict:
    return {"benefit": benefit, "meaningful_benefit": mb, "meaningful_harm": mh, "negligible": neg}


def test_meaningful_benefit_when_its_probability_reaches_the_threshold() -> None:
    assert verdict(_p(mb=0.8), 0.8) == BENEFIT


def test_meaningful_harm_when_its_probability_reaches_the_threshold() -> None:
    assert verdict(_p(mh=0.85), 0.8) == HARM


def test_no_meaningful_difference_when_negligible_reaches_the_threshold() -> None:
    assert verdict(_p(neg=0.9), 0.8) == NEGLIGIBLE


def test_inconclusive_otherwise() -> None:
    assert verdict(_p(mb=0.79, mh=0.0, neg=0.21), 0.8) == INCONCLUSIVE


def test_threshold_changes_the_verdict() -> None:
    assert verdict(_p(mb=0.85), 0.9) == INCONCLUSIVE
    assert verdict(_p(mb=0.85), 0.8) == BENEFIT


def test_threshold_outside_half_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="threshold must be between 0.5 and 1"):
        verdict(_p(), 0.4)


def test_verdicts_lists_all_four() -> None:
    assert set(VERDICTS) == {BENEFIT, HARM, NEGLIGIBLE, INCONCLUSIVE}


def test_lower_is_better_turns_a_reduction_into_benefit() -> None:
    p = probabilities(np.array([-3.0, -2.5, -1.0, 0.5]), mcid=2.0, better="lower")
    assert p == {
        "benefit": 0.75,
        "meaningful_benefit": 0.5,
        "meaningful_harm": 0.0,
        "negligible": 0.5,
    }


def test_higher_is_better_turns_an_increase_into_benefit() -> None:
    p = probabilities(np.array([3.0, 2.0, -2.0, -5.0]), mcid=2.0, better="higher")
    assert p["meaningful_benefit"] == 0.5  # the boundary counts as meaningful
    assert p["meaningful_harm"] == 0.5
    assert p["negligible"] == 0.0


def test_weights_are_respected() -> None:
    p = probabilities(np.array([-3.0, 0.0]), 1.0, "lower", weights=np.array([3.0, 1.0]))
    assert p["meaningful_benefit"] == pytest.approx(0.75)
    assert p["negligible"] == pytest.approx(0.25)


def test_end_to_end_from_draws() -> None:
    rng = np.random.default_rng(0)
    assert verdict(probabilities(rng.normal(-3, 0.5, 4000), 1.0, "lower")) == BENEFIT
    assert verdict(probabilities(rng.normal(3, 0.5, 4000), 1.0, "lower")) == HARM
    assert verdict(probabilities(rng.normal(0, 0.2, 4000), 1.0, "lower")) == NEGLIGIBLE
    assert verdict(probabilities(rng.normal(0, 3.0, 4000), 1.0, "lower")) == INCONCLUSIVE


def test_bad_direction_and_mcid_are_refused() -> None:
    with pytest.raises(ValueError, match="better must be"):
        oriented(1.0, "down")
    with pytest.raises(ValueError, match="mcid must be"):
        probabilities(np.zeros(3), -1.0, "lower")
