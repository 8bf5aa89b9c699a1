"""The verdict rule, in one place: posterior probabilities of the effect → a verdict.

Shared by the analysis (:mod:`nof1.summary`) and the design planner (:mod:`nof1.plan`) so that
the planner predicts exactly the verdicts the analysis will give. Pure numpy.

The effect is intervention (B) minus comparator (A) on the verdict scale; ``better`` ("lower"
or "higher") orients it so that a *benefit* is a change in the better direction. With decision
threshold ``t`` (the protocol's ``analysis.decision_threshold``, default 0.8):

* "meaningful benefit likely"        if P(benefit ≥ MCID) ≥ t;
* "meaningful harm likely"           if P(harm ≥ MCID) ≥ t;
* "no meaningful difference likely"  if P(|effect| < MCID) ≥ t;
* "inconclusive"                     otherwise.

The three events are disjoint, so with ``t > 0.5`` at most one rule can fire.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nof1.vocab import DIRECTIONS

BENEFIT = "meaningful benefit likely"
HARM = "meaningful harm likely"
NEGLIGIBLE = "no meaningful difference likely"
INCONCLUSIVE = "inconclusive"
#: Every verdict, in the order reports list them.
VERDICTS = (BENEFIT, NEGLIGIBLE, HARM, INCONCLUSIVE)


def oriented(effect: np.ndarray | float, better: str) -> np.ndarray:
    """The effect with its sign flipped when lower is better, so that positive = benefit."""
    if better not in DIRECTIONS:
        raise ValueError(f"better must be 'lower' or 'higher' (got {better!r})")
    x = np.asarray(effect, dtype=float)
    return -x if better == "lower" else x


def probabilities(
    effect_draws: np.ndarray,
    mcid: float,
    better: str,
    weights: np.ndarray | None = None,
) -> dict[str, float]:
    """The four verdict probabilities from posterior draws of the effect.

    Parameters
    ----------
    effect_draws : draws of B − A on the verdict scale (any shape; flattened).
    mcid : the minimal clinically important difference (≥ 0), same scale.
    better : "lower" or "higher".
    weights : optional non-negative weights per draw (e.g. from a quadrature grid).

    Returns
    -------
    dict
        ``benefit`` P(effect in the better direction), ``meaningful_benefit`` P(benefit ≥ MCID),
        ``meaningful_harm`` P(harm ≥ MCID), ``negligible`` P(|effect| < MCID).
    """
    if mcid < 0:
        raise ValueError(f"mcid must be ≥ 0 (got {mcid})")
    x = oriented(np.ravel(effect_draws), better)
    if x.size == 0:
        raise ValueError("no effect draws")
    w = np.full(x.size, 1.0 / x.size) if weights is None else np.ravel(weights) / np.sum(weights)
    return {
        "benefit": float(np.sum(w[x > 0])),
        "meaningful_benefit": float(np.sum(w[x >= mcid])),
        "meaningful_harm": float(np.sum(w[x <= -mcid])),
        "negligible": float(np.sum(w[np.abs(x) < mcid])),
    }


def verdict(probabilities: Mapping[str, float], threshold: float = 0.8) -> str:
    """The verdict for the probabilities of :func:`probabilities` at ``threshold`` (0.5–1)."""
    if not 0.5 < threshold < 1:
        raise ValueError(f"threshold must be between 0.5 and 1 (got {threshold})")
    if probabilities["meaningful_benefit"] >= threshold:
        return BENEFIT
    if probabilities["meaningful_harm"] >= threshold:
        return HARM
    if probabilities["negligible"] >= threshold:
        return NEGLIGIBLE
    return INCONCLUSIVE
