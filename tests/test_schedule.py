"""Schedule: scheme invariants (hypothesis), dates, exact uniform sampling, pinned seeds."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nof1.errors import ScheduleError
from nof1.protocol import Design, TrialProtocol, set_design_values
from nof1.schedule import (
    BitStream,
    allowed_sequences,
    build_schedule,
    count_sequences,
    draw_sequence,
)

ROOT = Path(__file__).resolve().parents[1]
START = dt.date(2026, 12, 7)


def make_protocol(blinded: bool = False, **design: Any) -> TrialProtocol:
    """A minimal valid protocol with the given [design] keys."""
    design.setdefault("start_date", START)
    design.setdefault("seed", 1)
    data: dict[str, Any] = {
        "trial": {"title": "T", "id": "t", "patient": "P", "condition": "C"},
        "comparator": {"name": "Usual care"},
        "intervention": {"name": "Thing"},
        "design": design,
        "outcomes": [
            {
                "name": "pain",
                "kind": "continuous",
                "question": "Pain?",
                "better": "lower",
                "mcid": 1.0,
                "min": 0,
                "max": 10,
                "primary": True,
            }
        ],
    }
    if blinded:
        data["blinding"] = {"blinded": True, "allocation_holder": "Pharmacist"}
    return TrialProtocol.from_mapping(data)


def max_run_length(sequence: str) -> int:
    return max(len(list(group)) for _, group in itertools.groupby(sequence))


seeds = st.integers(min_value=0, max_value=2**63 - 1)


# --------------------------------------------------------------------------------------------
# scheme invariants
# --------------------------------------------------------------------------------------------


@given(blocks=st.integers(1, 12), seed=seeds)
def test_pairwise_each_block_is_ab_or_ba(blocks: int, seed: int) -> None:
    sequence = draw_sequence(Design(scheme="pairwise", blocks=blocks), seed)
    assert len(sequence) == 2 * blocks
    assert all(sequence[i : i + 2] in ("AB", "BA") for i in range(0, len(sequence), 2))


@given(pairs=st.integers(1, 6), seed=seeds)
def test_counterbalanced_pairs_of_blocks_are_mirrored(pairs: int, seed: int) -> None:
    sequence = draw_sequence(Design(scheme="counterbalanced", blocks=2 * pairs), seed)
    assert len(sequence) == 4 * pairs
    assert all(sequence[i : i + 4] in ("ABBA", "BAAB") for i in range(0, len(sequence), 4))


@given(blocks=st.integers(1, 10), max_run=st.integers(1, 5), seed=seeds)
def test_restricted_is_balanced_with_no_run_longer_than_max_run(
    blocks: int, max_run: int, seed: int
) -> None:
    sequence = draw_sequence(Design(scheme="restricted", blocks=blocks, max_run=max_run), seed)
    assert sequence.count("A") == sequence.count("B") == blocks
    assert max_run_length(sequence) <= max_run


@given(blocks=st.integers(1, 12), seed=seeds)
def test_fixed_is_abab_whatever_the_seed(blocks: int, seed: int) -> None:
    design = Design(scheme="fixed", blocks=blocks)
    assert draw_sequence(design, seed) == "AB" * blocks
    assert not design.randomized


@given(
    scheme=st.sampled_from(["pairwise", "counterbalanced", "restricted", "fixed"]),
    pairs=st.integers(1, 3),
    seed=seeds,
)
@settings(deadline=None)
def test_every_scheme_is_balanced_and_draws_an_allowed_sequence(
    scheme: str, pairs: int, seed: int
) -> None:
    design = Design(scheme=scheme, blocks=2 * pairs, max_run=2)
    sequence = draw_sequence(design, seed)
    assert sequence.count("A") == sequence.count("B") == 2 * pairs
    assert sequence == draw_sequence(design, seed)  # deterministic
    assert sequence in set(allowed_sequences(design))


@given(blocks=st.integers(1, 6), max_run=st.integers(1, 4))
@settings(deadline=None)
def test_restricted_enumeration_is_exactly_the_valid_sequences_in_order(
    blocks: int, max_run: int
) -> None:
    design = Design(scheme="restricted", blocks=blocks, max_run=max_run)
    brute = sorted(
        s
        for s in ("".join(p) for p in itertools.product("AB", repeat=2 * blocks))
        if s.count("A") == blocks and max_run_length(s) <= max_run
    )
    listed = list(allowed_sequences(design))
    assert len(listed) == count_sequences(design) == len(set(listed))
    assert listed == sorted(listed)  # lexicographic unranking, A < B
    assert all(max_run_length(s) <= max_run and s.count("A") == blocks for s in listed)
    assert listed == brute


def test_sequence_counts_per_scheme() -> None:
    assert count_sequences(Design(scheme="pairwise", blocks=4)) == 16
    assert count_sequences(Design(scheme="counterbalanced", blocks=4)) == 4
    assert count_sequences(Design(scheme="restricted", blocks=3, max_run=2)) == 14
    assert count_sequences(Design(scheme="restricted", blocks=4, max_run=2)) == 34
    assert count_sequences(Design(scheme="fixed", blocks=4)) == 1


# --------------------------------------------------------------------------------------------
# uniformity (deterministic seeds, so these never flake)
# --------------------------------------------------------------------------------------------


def chi_square_p(counts: Counter[str], categories: list[str]) -> float:
    from scipy.stats import chisquare

    observed = [counts[c] for c in categories]
    return float(chisquare(observed).pvalue)


@pytest.mark.parametrize(("blocks", "max_run"), [(3, 2), (4, 2), (3, 1), (4, 3)])
def test_restricted_sampler_is_uniform_over_valid_sequences(blocks: int, max_run: int) -> None:
    design = Design(scheme="restricted", blocks=blocks, max_run=max_run)
    valid = list(allowed_sequences(design))
    draws = Counter(draw_sequence(design, seed) for seed in range(400 * len(valid)))
    assert set(draws) == set(valid)  # every valid sequence occurs, nothing else
    assert chi_square_p(draws, valid) > 0.001


def test_restricted_three_blocks_max_run_two_has_fourteen_equally_likely_sequences() -> None:
    design = Design(scheme="restricted", blocks=3, max_run=2)
    valid = list(allowed_sequences(design))
    assert len(valid) == 14
    draws = Counter(draw_sequence(design, seed) for seed in range(14_000))
    assert min(draws.values()) > 850 and max(draws.values()) < 1150  # expected 1000 each


@pytest.mark.parametrize("scheme", ["pairwise", "counterbalanced"])
def test_pairwise_and_counterbalanced_are_uniform(scheme: str) -> None:
    design = Design(scheme=scheme, blocks=4)
    valid = list(allowed_sequences(design))
    draws = Counter(draw_sequence(design, seed) for seed in range(300 * len(valid)))
    assert set(draws) == set(valid)
    assert chi_square_p(draws, valid) > 0.001


def test_blinding_codes_are_assigned_both_ways_about_equally() -> None:
    swaps = Counter(BitStream(seed, "codes").below(2) for seed in range(4000))
    assert 1850 < swaps[1] < 2150


@given(n=st.integers(1, 10_000), seed=seeds)
def test_below_stays_in_range(n: int, seed: int) -> None:
    stream = BitStream(seed, "x")
    assert all(0 <= stream.below(n) < n for _ in range(5))


# --------------------------------------------------------------------------------------------
# the documented algorithm, re-implemented from the module docstring
# --------------------------------------------------------------------------------------------


class ReferenceStream:
    """Byte k is byte k mod 32 of SHA-256("nof1:{label}:{seed}:{k // 32}"); bits MSB first."""

    def __init__(self, seed: int, label: str) -> None:
        self.seed, self.label, self.position = seed, label, 0

    def bit(self) -> int:
        k, offset = divmod(self.position, 8)
        block = hashlib.sha256(f"nof1:{self.label}:{self.seed}:{k // 32}".encode()).digest()
        self.position += 1
        return (block[k % 32] >> (7 - offset)) & 1

    def below(self, n: int) -> int:
        if n == 1:
            return 0
        while True:
            value = 0
            for _ in range(n.bit_length()):
                value = (value << 1) | self.bit()
            if value < n:
                return value


@given(seed=seeds, blocks=st.integers(1, 8))
@settings(max_examples=50)
def test_draws_follow_the_documented_generator(seed: int, blocks: int) -> None:
    stream = ReferenceStream(seed, "sequence")
    expected = "".join(("AB", "BA")[stream.below(2)] for _ in range(blocks))
    assert draw_sequence(Design(scheme="pairwise", blocks=blocks), seed) == expected

    design = Design(scheme="restricted", blocks=blocks, max_run=2)
    index = ReferenceStream(seed, "sequence").below(count_sequences(design))
    assert draw_sequence(design, seed) == list(allowed_sequences(design))[index]


# --------------------------------------------------------------------------------------------
# pinned seeds: a reproducibility promise — these must never change
# --------------------------------------------------------------------------------------------


def test_magnesium_template_with_seed_20261201_is_pinned() -> None:
    text = (ROOT / "protocols" / "migraine-magnesium.toml").read_text(encoding="utf-8")
    text = set_design_values(text, {"start_date": START, "seed": 20261201})
    schedule = build_schedule(TrialProtocol.from_text(text))
    assert schedule.sequence == "ABBAABAB"
    assert schedule.codes == {"A": "Pack 2", "B": "Pack 1"}
    assert (schedule.start, schedule.end) == (START, dt.date(2027, 8, 1))
    assert schedule.periods[0].start == dt.date(2026, 12, 21)
    assert schedule.periods[0].analysed_start == dt.date(2026, 12, 28)
    assert schedule.fingerprint() == (
        "034579b5d3ac5b17bdfb97112cf2922a4026abf64b5d7377bbdf60690e67aaa3"
    )


@pytest.mark.parametrize(
    ("scheme", "blocks", "expected"),
    [
        ("pairwise", 4, ["BAABBAAB", "ABABBABA", "ABABABBA", "ABBAABAB"]),
        ("counterbalanced", 4, ["BAABABBA", "ABBAABBA", "ABBAABBA", "ABBABAAB"]),
        ("restricted", 4, ["BAABAABB", "AABBABAB", "AABBABAB", "ABAABBAB"]),
        ("fixed", 3, ["ABABAB"] * 4),
    ],
)
def test_known_seeds_give_known_sequences(scheme: str, blocks: int, expected: list[str]) -> None:
    design = Design(scheme=scheme, blocks=blocks, max_run=2)
    assert [draw_sequence(design, seed) for seed in (0, 1, 42, 20261201)] == expected


def test_bit_stream_is_pinned() -> None:
    assert BitStream(0, "sequence").bits(16) == 18055
    assert BitStream(12345, "codes").below(2) == 1


# --------------------------------------------------------------------------------------------
# dates
# --------------------------------------------------------------------------------------------


@given(
    scheme=st.sampled_from(["pairwise", "counterbalanced", "restricted", "fixed"]),
    pairs=st.integers(1, 3),
    period_days=st.integers(2, 30),
    run_in=st.integers(0, 20),
    washout=st.integers(0, 10),
    analytic=st.integers(0, 1),
    seed=seeds,
    blinded=st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_dates_are_contiguous_and_days_are_labelled(
    scheme: str,
    pairs: int,
    period_days: int,
    run_in: int,
    washout: int,
    analytic: int,
    seed: int,
    blinded: bool,
) -> None:
    analytic = analytic * (period_days - 1)  # 0 or the largest allowed
    protocol = make_protocol(
        blinded=blinded,
        scheme=scheme,
        blocks=2 * pairs,
        period_days=period_days,
        run_in_days=run_in,
        washout_days=washout,
        analytic_washout_days=analytic,
        max_run=2,
        seed=seed,
    )
    schedule = build_schedule(protocol)
    periods = schedule.periods
    assert periods[0].start == START + dt.timedelta(days=run_in)
    for before, after in itertools.pairwise(periods):
        assert after.start == before.end + dt.timedelta(days=1 + washout)
    for period in periods:
        assert period.days == period_days
        assert period.block == (period.index + 1) // 2
        assert period.analysed_start == period.start + dt.timedelta(days=analytic)
    assert schedule.end == periods[-1].end
    assert schedule.total_days == protocol.design.total_days
    assert "".join(p.arm for p in periods) == schedule.sequence

    days = schedule.days()
    assert [d.number for d in days] == list(range(1, schedule.total_days + 1))
    assert [d.date for d in days] == [
        START + dt.timedelta(days=i) for i in range(schedule.total_days)
    ]
    phases = Counter(d.phase for d in days)
    assert phases["run_in"] == run_in
    assert phases["washout"] == (len(periods) - 1) * washout
    assert phases["period"] == len(periods) * period_days
    assert sum(d.analytic_washout for d in days) == len(periods) * analytic
    assert sum(d.analysed for d in days) == len(periods) * (period_days - analytic)
    for d in days:
        if d.phase == "period":
            assert d.period is not None
            assert d.arm == periods[d.period - 1].arm
            assert d.analysed == (d.date >= periods[d.period - 1].analysed_start)
        else:
            assert d.arm is None and d.period is None and not d.analysed
    assert schedule.day(START - dt.timedelta(days=1)) is None
    assert schedule.day(schedule.end + dt.timedelta(days=1)) is None
    assert schedule.block_ends() == tuple(
        schedule.day_number(p.end) for p in periods if p.index % 2 == 0
    )
    if blinded:
        assert sorted(schedule.codes.values()) == ["Pack 1", "Pack 2"]
    else:
        assert schedule.codes == {"A": "Usual care", "B": "Thing"}


def test_to_dict_is_json_ready_and_fingerprint_stable() -> None:
    schedule = build_schedule(make_protocol(seed=7, blocks=2))
    data = schedule.to_dict()
    assert data["sequence"] == schedule.sequence and data["randomized"] is True
    assert data["periods"][0]["start"] == (START).isoformat()
    assert schedule.fingerprint() == build_schedule(make_protocol(seed=7, blocks=2)).fingerprint()
    assert schedule.fingerprint() != build_schedule(make_protocol(seed=8, blocks=2)).fingerprint()


@pytest.mark.parametrize(
    ("design", "message"),
    [
        ({"seed": None}, "design.seed missing"),
        ({"start_date": None}, "design.start_date missing"),
        ({"start_date": None, "seed": None}, "design.start_date and design.seed missing"),
    ],
)
def test_build_schedule_without_seed_or_start_says_so(design: dict[str, Any], message: str) -> None:
    design = {k: v for k, v in {"start_date": START, "seed": 1, **design}.items() if v is not None}
    data: dict[str, Any] = {
        "trial": {"title": "T", "id": "t", "patient": "P", "condition": "C"},
        "comparator": {"name": "A"},
        "intervention": {"name": "B"},
        "design": design,
        "outcomes": [
            {
                "name": "d",
                "kind": "binary",
                "question": "?",
                "better": "lower",
                "mcid": 2.0,
                "primary": True,
            }
        ],
    }
    with pytest.raises(ScheduleError, match=message):
        build_schedule(TrialProtocol.from_mapping(data))
