"""Numbers and units in words, the way a clinician reads them.

One place decides how an effect, an interval or a probability is written, so page 1, the
sections, the figures and the tests all agree to the character.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

MINUS = "\u2212"  # a real minus sign: "−2.3", not the hyphen of "2-3"
EN_DASH = "\u2013"


def number(value: float | None, digits: int = 1) -> str:
    """``-2.345`` → ``"−2.3"``; ``None`` or NaN → ``"–"``. Never prints ``−0.0``."""
    if value is None or not math.isfinite(float(value)):
        return EN_DASH
    text = f"{float(value):.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    return text.replace("-", MINUS)


def signed(value: float | None, digits: int = 1) -> str:
    """Like :func:`number` but with an explicit ``+`` for positive values."""
    text = number(value, digits)
    if value is not None and math.isfinite(float(value)) and not text.startswith(MINUS):
        if float(text.replace(MINUS, "-")) != 0:
            return "+" + text
    return text


def percent(p: float | None, threshold: float | None = None) -> str:
    """A probability as a whole percentage, with ``<1%`` / ``>99%`` at the edges.

    With ``threshold``, a value just below it is never rounded up to it (``79.6%``, not ``80%``
    next to an 80% decision threshold that it did not reach).
    """
    if p is None or not math.isfinite(float(p)):
        return EN_DASH
    if threshold is not None and p < threshold and round(100 * p) >= round(100 * threshold):
        text = f"{100 * p:.1f}"
        if float(text) >= 100 * threshold:
            text = f"{math.floor(1000 * p) / 10:.1f}"
        return f"{text}%"
    if 0 < p < 0.005:
        return "<1%"
    if 0.995 < p < 1:
        return ">99%"
    return f"{100 * p:.0f}%"


def p_value(p: float | None) -> str:
    if p is None or not math.isfinite(float(p)):
        return EN_DASH
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}" if p < 0.01 else f"{p:.2f}"


def interval(low: float | None, high: float | None, digits: int = 1) -> str:
    """``"−4.1 to −0.6"`` (words, not a dash, so negative bounds stay readable)."""
    return f"{number(low, digits)} to {number(high, digits)}"


def date(value: Any) -> str:
    """ISO date (``2027-03-01``) from a date, datetime or ISO string; ``"–"`` when missing."""
    if value is None or value == "":
        return EN_DASH
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:10]


def to_date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def short_hash(value: str, n: int = 12) -> str:
    return value[:n] if value else EN_DASH


def digits_for(kind: str, mcid: float | None = None) -> int:
    """Decimals that show differences at the MCID's resolution without false precision."""
    if kind == "ordinal":
        return 2
    if mcid is not None and 0 < mcid < 1:
        return 2
    return 1
