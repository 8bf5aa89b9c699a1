"""Who gets what, when: the randomized sequence of periods and the calendar of trial days.

Reproducibility is a promise: the same protocol and seed give the same schedule on any machine
and in any later version of nof1. So randomness does not come from ``random`` or numpy (whose
streams may change between versions) but from a small, documented generator:

*Random bits.* Byte ``k`` of the stream for ``(seed, label)`` is byte ``k mod 32`` of
``SHA-256(f"nof1:{label}:{seed}:{k // 32}")`` (UTF-8). Bits are read most significant first.

*Uniform integer in [0, n).* Read ``n.bit_length()`` fresh bits as an unsigned integer; accept it
if it is < n, otherwise read again (exact rejection, never modulo).

*Sequences.* ``pairwise``: for each block, 0 → AB, 1 → BA. ``counterbalanced``: for each pair of
blocks, 0 → ABBA, 1 → BAAB. ``restricted``: the sequences with ``blocks`` periods of each arm and
no run longer than ``max_run`` are ordered lexicographically (A < B); one index is drawn
uniformly among them and unranked by counting completions — exact uniform, no rejection of whole
sequences. ``fixed``: ABAB... (not randomized). Stream label ``"sequence"``.

*Blinding codes.* One integer in [0, 2) from the stream labelled ``"codes"``: 0 gives arm A the
first label, 1 gives arm B the first label.

Dates: day 1 is ``design.start_date``, the first run-in day. Periods follow the run-in, with
``washout_days`` of physical washout (no arm) between consecutive periods. The first
``analytic_washout_days`` of each period are left out of the primary analysis.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from attrs import frozen

from nof1.errors import ScheduleError
from nof1.protocol import Design, TrialProtocol

PHASES = ("run_in", "period", "washout")


# --------------------------------------------------------------------------------------------
# The documented generator
# --------------------------------------------------------------------------------------------


class BitStream:
    """Deterministic random bits from SHA-256 in counter mode (see the module docstring)."""

    def __init__(self, seed: int, label: str) -> None:
        self._seed = seed
        self._label = label
        self._counter = 0
        self._buffer = b""
        self._bits = 0  # number of unread bits in _value
        self._value = 0

    def _byte(self) -> int:
        if not self._buffer:
            text = f"nof1:{self._label}:{self._seed}:{self._counter}"
            self._buffer = hashlib.sha256(text.encode("utf-8")).digest()
            self._counter += 1
        byte, self._buffer = self._buffer[0], self._buffer[1:]
        return byte

    def bits(self, count: int) -> int:
        """The next ``count`` bits as an unsigned integer, most significant first."""
        while self._bits < count:
            self._value = (self._value << 8) | self._byte()
            self._bits += 8
        extra = self._bits - count
        result = self._value >> extra
        self._value &= (1 << extra) - 1
        self._bits = extra
        return result

    def below(self, n: int) -> int:
        """A uniform integer in ``[0, n)`` by exact rejection."""
        if n < 1:
            raise ValueError(f"n must be ≥ 1 (got {n})")
        if n == 1:
            return 0
        width = n.bit_length()
        while True:
            candidate = self.bits(width)
            if candidate < n:
                return candidate


# --------------------------------------------------------------------------------------------
# Sequences
# --------------------------------------------------------------------------------------------


@cache
def _completions(a_left: int, b_left: int, last: str, run: int, max_run: int) -> int:
    """Number of valid ways to finish a restricted sequence from this state."""
    if a_left == 0 and b_left == 0:
        return 1
    total = 0
    for arm, left in (("A", a_left), ("B", b_left)):
        if left == 0 or (arm == last and run >= max_run):
            continue
        total += _completions(
            a_left - (arm == "A"),
            b_left - (arm == "B"),
            arm,
            run + 1 if arm == last else 1,
            max_run,
        )
    return total


def completions(a_left: int, b_left: int, last: str, run: int, max_run: int) -> int:
    """Ways to finish a sequence with ``a_left`` more A and ``b_left`` more B periods, no run
    longer than ``max_run``, given the ``last`` arm placed and the ``run`` it ends (``""``, 0 at
    the start). Counts every restricted sequence when called from the start."""
    return _completions(a_left, b_left, last, run, max_run)


def count_sequences(design: Design) -> int:
    """How many different sequences the design's scheme can produce."""
    if design.scheme == "pairwise":
        return 1 << design.blocks
    if design.scheme == "counterbalanced":
        return 1 << (design.blocks // 2)
    if design.scheme == "restricted":
        return _completions(design.blocks, design.blocks, "", 0, design.max_run)
    return 1


def _unrank_restricted(index: int, blocks: int, max_run: int) -> str:
    a_left, b_left, last, run = blocks, blocks, "", 0
    out = []
    while a_left or b_left:
        for arm in ("A", "B"):
            left = a_left if arm == "A" else b_left
            if left == 0 or (arm == last and run >= max_run):
                continue
            state = (
                a_left - (arm == "A"),
                b_left - (arm == "B"),
                arm,
                run + 1 if arm == last else 1,
            )
            n = _completions(*state, max_run)
            if index < n:
                out.append(arm)
                a_left, b_left, last, run = state
                break
            index -= n
    return "".join(out)


def draw_sequence(design: Design, seed: int) -> str:
    """The arm sequence (e.g. ``"ABBABAAB"``) the design's scheme draws for ``seed``."""
    stream = BitStream(seed, "sequence")
    if design.scheme == "pairwise":
        return "".join(("AB", "BA")[stream.below(2)] for _ in range(design.blocks))
    if design.scheme == "counterbalanced":
        return "".join(("ABBA", "BAAB")[stream.below(2)] for _ in range(design.blocks // 2))
    if design.scheme == "restricted":
        total = count_sequences(design)
        if total == 0:
            raise ScheduleError(
                f"design.max_run = {design.max_run} allows no balanced sequence of "
                f"{design.blocks} blocks: raise max_run"
            )
        return _unrank_restricted(stream.below(total), design.blocks, design.max_run)
    return "AB" * design.blocks


def allowed_sequences(design: Design) -> Iterator[str]:
    """Every sequence the scheme could have drawn (each once), for randomization tests.

    Yields ``count_sequences(design)`` items; callers should check that count first when the
    design is large.
    """
    if design.scheme == "pairwise":
        for choice in itertools.product(("AB", "BA"), repeat=design.blocks):
            yield "".join(choice)
    elif design.scheme == "counterbalanced":
        for choice in itertools.product(("ABBA", "BAAB"), repeat=design.blocks // 2):
            yield "".join(choice)
    elif design.scheme == "restricted":
        for index in range(count_sequences(design)):
            yield _unrank_restricted(index, design.blocks, design.max_run)
    else:
        yield "AB" * design.blocks


# --------------------------------------------------------------------------------------------
# Calendar of days
# --------------------------------------------------------------------------------------------


@frozen
class Period:
    """One treatment period (1-based ``index`` and ``block``); ``end`` is inclusive."""

    index: int
    block: int
    arm: str
    start: dt.date
    end: dt.date
    analysed_start: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@frozen
class Day:
    """One calendar day of the trial and what it is for."""

    date: dt.date
    number: int
    phase: str
    period: int | None = None
    block: int | None = None
    arm: str | None = None
    day_in_period: int | None = None
    analytic_washout: bool = False

    @property
    def analysed(self) -> bool:
        """Whether the day counts in the primary analysis (in a period, past the washout)."""
        return self.phase == "period" and not self.analytic_washout


@frozen
class Schedule:
    """A locked plan of periods. Build it with :func:`build_schedule`."""

    scheme: str
    seed: int
    sequence: str
    periods: tuple[Period, ...]
    start: dt.date
    end: dt.date
    run_in_days: int
    washout_days: int
    analytic_washout_days: int
    codes: dict[str, str]
    blinded: bool

    @property
    def randomized(self) -> bool:
        return self.scheme != "fixed"

    @property
    def total_days(self) -> int:
        return (self.end - self.start).days + 1

    def day_number(self, date: dt.date) -> int:
        """1-based trial day of ``date`` (may be ≤ 0 or past the end)."""
        return (date - self.start).days + 1

    def day(self, date: dt.date) -> Day | None:
        """The plan for ``date``, or ``None`` outside the trial."""
        number = self.day_number(date)
        if number < 1 or date > self.end:
            return None
        if number <= self.run_in_days:
            return Day(date=date, number=number, phase="run_in")
        for period in self.periods:
            if period.start <= date <= period.end:
                in_period = (date - period.start).days + 1
                return Day(
                    date=date,
                    number=number,
                    phase="period",
                    period=period.index,
                    block=period.block,
                    arm=period.arm,
                    day_in_period=in_period,
                    analytic_washout=in_period <= self.analytic_washout_days,
                )
        return Day(date=date, number=number, phase="washout")

    def days(self) -> tuple[Day, ...]:
        """Every day of the trial in order."""
        result = []
        for offset in range(self.total_days):
            day = self.day(self.start + dt.timedelta(days=offset))
            assert day is not None
            result.append(day)
        return tuple(result)

    def block_ends(self) -> tuple[int, ...]:
        """Trial day numbers of each block's last day (spline knots)."""
        return tuple(self.day_number(p.end) for p in self.periods if p.index % 2 == 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored at lock time and in reports."""
        return {
            "scheme": self.scheme,
            "seed": self.seed,
            "randomized": self.randomized,
            "sequence": self.sequence,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "run_in_days": self.run_in_days,
            "washout_days": self.washout_days,
            "analytic_washout_days": self.analytic_washout_days,
            "blinded": self.blinded,
            "codes": dict(sorted(self.codes.items())),
            "periods": [
                {
                    "index": p.index,
                    "block": p.block,
                    "arm": p.arm,
                    "start": p.start.isoformat(),
                    "end": p.end.isoformat(),
                    "analysed_start": p.analysed_start.isoformat(),
                }
                for p in self.periods
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schedule:
        """Rebuild a schedule from :meth:`to_dict` (the form stored at lock time)."""
        return cls(
            scheme=data["scheme"],
            seed=data["seed"],
            sequence=data["sequence"],
            periods=tuple(
                Period(
                    index=p["index"],
                    block=p["block"],
                    arm=p["arm"],
                    start=dt.date.fromisoformat(p["start"]),
                    end=dt.date.fromisoformat(p["end"]),
                    analysed_start=dt.date.fromisoformat(p["analysed_start"]),
                )
                for p in data["periods"]
            ),
            start=dt.date.fromisoformat(data["start"]),
            end=dt.date.fromisoformat(data["end"]),
            run_in_days=data["run_in_days"],
            washout_days=data["washout_days"],
            analytic_washout_days=data["analytic_washout_days"],
            codes=dict(data["codes"]),
            blinded=data["blinded"],
        )

    def fingerprint(self) -> str:
        """SHA-256 of :meth:`to_dict`."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def build_schedule(protocol: TrialProtocol) -> Schedule:
    """Build the schedule of a protocol that has a start date and a seed.

    Raises
    ------
    ScheduleError
        When ``design.start_date`` or ``design.seed`` is missing, or the restricted scheme
        admits no sequence.
    """
    design = protocol.design
    missing = [k for k in ("start_date", "seed") if getattr(design, k) is None]
    if missing:
        names = " and ".join(f"design.{k}" for k in missing)
        raise ScheduleError(
            f"{names} missing: the schedule needs both (`nof1 init` writes them; or add e.g. "
            "start_date = 2026-12-01 and seed = 12345 to [design])"
        )
    assert design.start_date is not None and design.seed is not None
    sequence = draw_sequence(design, design.seed)
    periods = []
    cursor = design.start_date + dt.timedelta(days=design.run_in_days)
    for i, arm in enumerate(sequence):
        start = cursor
        end = start + dt.timedelta(days=design.period_days - 1)
        periods.append(
            Period(
                index=i + 1,
                block=i // 2 + 1,
                arm=arm,
                start=start,
                end=end,
                analysed_start=start + dt.timedelta(days=design.analytic_washout_days),
            )
        )
        cursor = end + dt.timedelta(days=1 + design.washout_days)
    blinding = protocol.blinding
    if blinding.blinded:
        first, second = blinding.labels
        swap = BitStream(design.seed, "codes").below(2)
        codes = {"A": second, "B": first} if swap else {"A": first, "B": second}
    else:
        codes = {"A": protocol.comparator.name, "B": protocol.intervention.name}
    return Schedule(
        scheme=design.scheme,
        seed=design.seed,
        sequence=sequence,
        periods=tuple(periods),
        start=design.start_date,
        end=periods[-1].end,
        run_in_days=design.run_in_days,
        washout_days=design.washout_days,
        analytic_washout_days=design.analytic_washout_days,
        codes=codes,
        blinded=blinding.blinded,
    )
