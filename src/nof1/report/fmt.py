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


# ------------------------------------------------------------------------------------------
# Probability words: the one mapping page 1, the sections and the plain summary all use
# ------------------------------------------------------------------------------------------

#: How a probability is said in words, highest first: (lowest probability, word about an event,
#: adverb for a claim). Symmetric: a probability ``p`` and ``1 − p`` get mirror words, so "very
#: likely" for an event is "very unlikely" for its opposite. The bounds are inclusive on the side
#: away from 50%: 0.80 is "likely", 0.20 is "unlikely", 0.95 "very likely", 0.05 "very
#: unlikely". Documented in docs/clinician-guide.md ("The probability words").
PROBABILITY_WORDS: tuple[tuple[float, str, str], ...] = (
    (0.95, "very likely", "very likely"),
    (0.80, "likely", "probably"),
    # strictly between 0.20 and 0.80
    (0.20, "uncertain", ""),
    (0.05, "unlikely", "probably not"),
    (0.00, "very unlikely", "very likely not"),
)

#: Said when a probability could not be computed (missing or NaN): never "nan".
UNKNOWN_CHANCE = "not known"


def _level(p: float | None) -> int | None:
    """Index into :data:`PROBABILITY_WORDS`; ``None`` for a missing or non-finite probability."""
    if p is None or not math.isfinite(float(p)):
        return None
    # Rounding to 1e-9 keeps the mapping symmetric in floating point (1 − 0.95 is 0.0500…04).
    q = min(1.0, max(0.0, round(float(p), 9)))
    if q >= 0.95:
        return 0
    if q >= 0.80:
        return 1
    if q > 0.20:
        return 2
    if q > 0.05:
        return 3
    return 4


def chance(p: float | None) -> str:
    """The word for the probability of an event: ``"very likely"``, ``"likely"``,
    ``"uncertain"``, ``"unlikely"``, ``"very unlikely"`` (``"not known"`` for NaN/None)."""
    level = _level(p)
    return UNKNOWN_CHANCE if level is None else PROBABILITY_WORDS[level][1]


def hedge(p: float | None, sure: str, unsure: str) -> str:
    """A claim with probability ``p`` in the words of :data:`PROBABILITY_WORDS`.

    ``sure`` holds ``{adv}`` where the adverb goes (``"pain was {adv} lower"`` → ``"pain was
    probably lower"``, ``"… very likely not lower"`` when ``p`` ≤ 0.20); ``unsure`` is the
    wording between 0.20 and 0.80 (``"it is uncertain whether pain was lower"``) and for an
    unknown probability. Capitalize at the start of a sentence with :func:`sentence`.
    """
    level = _level(p)
    if level is None or level == 2:
        return unsure
    return sure.format(adv=PROBABILITY_WORDS[level][2])


def sentence(text: str) -> str:
    """``text`` with its first letter capitalized (the rest untouched)."""
    return text[:1].upper() + text[1:]


def odds_phrase(p: float | None, threshold: float | None = None) -> str:
    """``"an 85% chance"``, ``"a 32% chance"``, ``"a less than 1% chance"`` (patient wording)."""
    share = percent(p, threshold)
    if share == EN_DASH:
        return "a chance that could not be calculated"
    share = share.replace("<", "less than ").replace(">", "more than ")
    digits = share.split("%")[0]
    spoken_an = digits.startswith("8") or digits.split(".")[0] in ("11", "18")
    return f"{'an' if spoken_an else 'a'} {share} chance"


def clean(text: str) -> str:
    """``text`` safe to print: tabs and line breaks become spaces, other control characters
    (terminal escapes, bells, C1 codes) become ``�`` so they are seen, not obeyed."""
    out = []
    for ch in text:
        if ch in "\t\n\r":
            out.append(" ")
        elif ord(ch) < 32 or 127 <= ord(ch) < 160:
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)
