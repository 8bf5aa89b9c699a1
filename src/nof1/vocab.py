"""The closed sets and constants every stage shares: one definition each, stdlib only.

Leftmost in the pipeline: any module may import it, and it imports nothing. Fields validate
against these sets (:func:`one_of`), and the CLI builds its choices and help text from them, so
adding a value happens here once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Outcome kinds, each with its own model and verdict scale.
CONTINUOUS, COUNT, BINARY, ORDINAL = "continuous", "count", "binary", "ordinal"
KINDS = (CONTINUOUS, COUNT, BINARY, ORDINAL)

#: Time trends the models can include.
TRENDS = ("none", "linear", "spline")

#: Which direction of an outcome is better.
DIRECTIONS = ("lower", "higher")

#: Adverse-event severities, mildest first (stopping rules compare by this order).
SEVERITIES = ("mild", "moderate", "severe")

#: Whether the day's assigned treatment was taken.
TOOK = ("yes", "partial", "no")

#: Count and binary effects are stated per this many days (events or days per 28 days).
EXPOSURE_DAYS = 28

#: The kinds whose verdict scale is "per ``EXPOSURE_DAYS`` days".
PER_EXPOSURE_KINDS = (COUNT, BINARY)

#: The verdict scale of each kind, in words (intervention B minus comparator A).
SCALES = {
    CONTINUOUS: "difference in means (B − A), outcome units",
    COUNT: f"difference in events per {EXPOSURE_DAYS} days (B − A)",
    BINARY: f"difference in days per {EXPOSURE_DAYS} days (B − A)",
    ORDINAL: "difference in expected category (B − A)",
}

#: The relative scale reported beside the verdict scale.
RELATIVE_SCALES = {
    COUNT: "rate ratio (B / A)",
    BINARY: "odds ratio (B / A)",
    ORDINAL: "latent-scale shift (B − A, logit units)",
}

#: Units of the verdict scale when the protocol names none.
UNITS = {
    BINARY: f"days per {EXPOSURE_DAYS} days",
    COUNT: f"events per {EXPOSURE_DAYS} days",
    ORDINAL: "categories",
}


def exposure_factor(kind: str) -> float:
    """What a daily mean is multiplied by to be on the verdict scale (28 or 1)."""
    return float(EXPOSURE_DAYS) if kind in PER_EXPOSURE_KINDS else 1.0


def words(options: tuple[str, ...], last: str = "or") -> str:
    """``"continuous, count, binary or ordinal"``, for help texts and errors."""
    return ", ".join(options[:-1]) + f" {last} {options[-1]}" if len(options) > 1 else options[0]


def one_of(options: tuple[str, ...]) -> Callable[[Any, Any, Any], None]:
    """An attrs field validator: the value must be one of ``options``.

    The message names the class and field, what was received and what is allowed, e.g.
    ``OutcomeSpec.kind must be one of continuous, count, binary, ordinal (got 'scale')``.
    """

    def check(instance: Any, attribute: Any, value: Any) -> None:
        if value not in options:
            raise ValueError(
                f"{type(instance).__name__}.{attribute.name} must be one of "
                f"{', '.join(options)} (got {value!r})"
            )

    return check
