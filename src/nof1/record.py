"""What happened, as plain values: daily observations, adherence and adverse events.

These are the records the store keeps and the simulator produces. They carry no SQL and no
numpy, so the daily logging path stays light.
"""

from __future__ import annotations

import datetime as dt

from attrs import field, frozen

from nof1.vocab import SEVERITIES as SEVERITIES  # re-exported: older imports keep working
from nof1.vocab import TOOK as TOOK


@frozen
class Observation:
    """One outcome's value on one day (the newest value, after any corrections)."""

    date: dt.date
    outcome: str
    value: float


@frozen
class Adherence:
    """Whether the day's assigned intervention or pack was taken."""

    date: dt.date
    took: str = field()

    @took.validator
    def _check_took(self, _attr: object, value: str) -> None:
        if value not in TOOK:
            raise ValueError(f"took must be one of {', '.join(TOOK)} (got {value!r})")

    @property
    def adherent(self) -> bool:
        return self.took == "yes"


@frozen
class AdverseEvent:
    """An adverse event as reported by the person."""

    date: dt.date
    description: str
    severity: str = field()
    serious: bool = False
    action: str = ""

    @severity.validator
    def _check_severity(self, _attr: object, value: str) -> None:
        if value not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)} (got {value!r})")
