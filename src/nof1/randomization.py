"""The design-based cross-check: a randomization test and a paired comparison across blocks.

*Randomization test.* Under the sharp null hypothesis (the treatment changes nothing on any
day), the period means would have been the same whatever sequence the randomization drew. So
the test statistic — the mean of the B period means minus the mean of the A period means — is
recomputed for every sequence the schedule's own scheme could have drawn
(:func:`nof1.schedule.allowed_sequences`): all of them when there are at most
:data:`MAX_ENUMERATE`, else :data:`MONTE_CARLO_DRAWS` sequences drawn uniformly with a fixed seed
(the observed one counted in, so the p-value is never 0). The two-sided p-value is the share of
allocations whose |statistic| is at least the observed one. A ``fixed`` (non-randomized)
design has no randomization distribution: no test, and the note says so.

*Data without a schedule (CSV).* The scheme is never guessed from the data: the test runs only
over the scheme the user states with ``--randomized-by`` (:class:`StatedScheme`), else it is
reported as not run, with the reason. ``day``: each time unit was randomized; the reference set
is every arrangement of the observed numbers of A and B units (with no run longer than
``--max-run`` when the randomization limited runs). ``period``: the same over periods (runs of one
treatment). ``pair``: each block of two periods was AB or BA at random (2^blocks allocations).
``block``: each block was drawn as its observed pattern or its mirror image (AB/BA, ABBA/BAAB:
the pairwise and counterbalanced schemes), independently (2^blocks allocations).
A stated scheme that could not have produced the observed sequence (a run longer than
``--max-run``, a block that is not one A and one B period) is an error, not a test.

*Paired comparison.* Per block, the B period mean minus the A period mean; their mean with a
t interval (n_blocks − 1 degrees of freedom) and a two-sided one-sample t-test p-value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
from attrs import field, frozen

from nof1.dataset import OutcomeData
from nof1.errors import DataError
from nof1.protocol import Design
from nof1.schedule import allowed_sequences, completions, count_sequences
from nof1.summary import PairedComparison, RandomizationResult

MAX_ENUMERATE = 100_000
MONTE_CARLO_DRAWS = 20_000
MC_SEED = 20_240_601
#: Tolerance for ties between the observed and a permuted statistic (floating point).
_TIE = 1e-9


def statistic(means: np.ndarray, arms: str | Sequence[str]) -> float:
    """Mean of the B period means minus the mean of the A period means (NaN periods skipped)."""
    means = np.asarray(means, dtype=float)
    is_b = np.array([a == "B" for a in arms])
    ok = np.isfinite(means)
    b, a = means[is_b & ok], means[~is_b & ok]
    if b.size == 0 or a.size == 0:
        return float("nan")
    return float(b.mean() - a.mean())


def _statistics(means: np.ndarray, sequences: np.ndarray) -> np.ndarray:
    """Statistic for many sequences at once; ``sequences`` is (m, periods) of 0/1 (1 = B)."""
    ok = np.isfinite(means)
    x = np.where(ok, means, 0.0)
    b = sequences * ok
    a = (1 - sequences) * ok
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = (b @ x) / b.sum(axis=1) - (a @ x) / a.sum(axis=1)
    return out


def _p_value(observed: float, stats: np.ndarray, *, add_observed: bool) -> float:
    stats = stats[np.isfinite(stats)]
    extreme = int(np.sum(np.abs(stats) >= abs(observed) - _TIE))
    if add_observed:
        return (extreme + 1) / (stats.size + 1)
    return extreme / stats.size


def _encode(sequences: Iterable[str]) -> np.ndarray:
    return np.array([[c == "B" for c in s] for s in sequences], dtype=float)


def randomization_test(
    period_means: Sequence[float | None],
    sequence: str,
    design: Design,
    *,
    scale: float = 1.0,
    seed: int = MC_SEED,
) -> RandomizationResult:
    """Randomization test over exactly the design's scheme.

    Parameters
    ----------
    period_means : mean outcome of each period in schedule order (``None``/NaN when a period
        has no analysed days; it is left out of every allocation's statistic).
    sequence : the sequence actually drawn, e.g. ``"ABBA"``.
    design : the protocol's design (scheme, blocks, max_run).
    scale : multiplies the statistic (e.g. 28 for count/binary outcomes: per 28 days).
    seed : seed of the Monte Carlo sample when the reference set is too large to enumerate.
    """
    means = np.array([np.nan if m is None else m for m in period_means], dtype=float) * scale
    observed = statistic(means, sequence)
    if not design.randomized:
        return RandomizationResult(
            p_value=None,
            statistic=observed,
            n_allocations=1,
            exact=True,
            scheme=design.scheme,
            note="the fixed ABAB design was not randomized, so there is no randomization test",
        )
    total = count_sequences(design)
    if total <= MAX_ENUMERATE:
        seqs = _encode(allowed_sequences(design))
        stats = _statistics(means, seqs)
        p = _p_value(observed, stats, add_observed=False)
        note = f"all {total} allocations the {design.scheme} scheme allows were enumerated"
        return RandomizationResult(p, observed, total, True, design.scheme, note)
    rng = np.random.default_rng(seed)
    seqs = _encode(_sample_scheme(design, rng, MONTE_CARLO_DRAWS))
    stats = _statistics(means, seqs)
    p = _p_value(observed, stats, add_observed=True)
    note = (
        f"{MONTE_CARLO_DRAWS} of the {total} allocations drawn at random (seed {seed}); "
        "the observed allocation is counted in"
    )
    return RandomizationResult(p, observed, MONTE_CARLO_DRAWS, False, design.scheme, note)


def _sample_scheme(design: Design, rng: np.random.Generator, size: int) -> list[str]:
    if design.scheme == "pairwise":
        flips = rng.integers(0, 2, size=(size, design.blocks))
        return ["".join(("AB", "BA")[f] for f in row) for row in flips]
    if design.scheme == "counterbalanced":
        flips = rng.integers(0, 2, size=(size, design.blocks // 2))
        return ["".join(("ABBA", "BAAB")[f] for f in row) for row in flips]
    return _random_restricted_many(design.blocks, design.blocks, design.max_run, rng, size)


def count_restricted(n_a: int, n_b: int, max_run: int) -> int:
    """Number of sequences of ``n_a`` A and ``n_b`` B with no run longer than ``max_run``."""
    # Fill the cache from the small states up, so the cached recursion never goes deep.
    for ia in range(n_a + 1):
        for ib in range(n_b + 1):
            for last in "AB":
                for run in range(1, min(max_run, max(n_a, n_b)) + 1):
                    completions(ia, ib, last, run, max_run)
    return completions(n_a, n_b, "", 0, max_run)


def _random_restricted(n_a: int, n_b: int, max_run: int, rng: np.random.Generator) -> str:
    """One sequence drawn uniformly among those counted by :func:`count_restricted`."""
    return _random_restricted_many(n_a, n_b, max_run, rng, 1)[0]


def _random_restricted_many(
    n_a: int, n_b: int, max_run: int, rng: np.random.Generator, size: int
) -> list[str]:
    """Like :func:`_random_restricted_array`, as strings such as ``"ABBA"``."""
    rows = _random_restricted_array(n_a, n_b, max_run, rng, size)
    return ["".join("AB"[v] for v in row) for row in rows]


def _random_restricted_array(
    n_a: int, n_b: int, max_run: int, rng: np.random.Generator, size: int
) -> np.ndarray:
    """``size`` sequences drawn uniformly (and independently) among the restricted ones.

    Sequential sampling by completion counts: at each step an arm is chosen with probability
    proportional to the number of valid completions after it, which makes every whole sequence
    equally likely. Vectorized over the ``size`` sequences (counts held as floats: only their
    ratios matter).
    """
    table = _completion_table(n_a, n_b, max_run)
    a_left = np.full(size, n_a)
    b_left = np.full(size, n_b)
    last = np.full(size, -1)
    run = np.zeros(size, dtype=int)
    out = np.zeros((size, n_a + n_b), dtype=int)
    for step in range(n_a + n_b):
        weights = np.zeros((size, 2))
        for arm in (0, 1):
            left = a_left if arm == 0 else b_left
            same = last == arm
            new_run = np.where(same, run + 1, 1)
            ok = (left > 0) & ~(same & (run >= max_run))
            na = np.where(arm == 0, a_left - 1, a_left).clip(0)
            nb = np.where(arm == 1, b_left - 1, b_left).clip(0)
            w = table[na, nb, arm, np.minimum(new_run, max_run)]
            weights[:, arm] = np.where(ok, w, 0.0)
        p_b = weights[:, 1] / weights.sum(axis=1)
        choose_b = rng.random(size) < p_b
        arm_now = choose_b.astype(int)
        out[:, step] = arm_now
        run = np.where(arm_now == last, run + 1, 1)
        last = arm_now
        a_left = a_left - (arm_now == 0)
        b_left = b_left - (arm_now == 1)
    return out


@lru_cache(maxsize=4)
def _completion_table(n_a: int, n_b: int, max_run: int) -> np.ndarray:
    """``table[a, b, last, run]``: completions after the state (last 0 = A, 1 = B), as floats."""
    count_restricted(n_a, n_b, max_run)  # fills the cache from the small states up
    table = np.zeros((n_a + 1, n_b + 1, 2, max_run + 1))
    for ia in range(n_a + 1):
        for ib in range(n_b + 1):
            for il in (0, 1):
                for ir in range(1, max_run + 1):
                    table[ia, ib, il, ir] = float(completions(ia, ib, "AB"[il], ir, max_run))
    table.flags.writeable = False
    return table


def _restricted_all(n_a: int, n_b: int, max_run: int) -> list[str]:
    """Every sequence counted by :func:`count_restricted` (iterative: no recursion limit)."""
    out: list[str] = []
    stack: list[tuple[str, int, int, str, int]] = [("", n_a, n_b, "", 0)]
    while stack:
        prefix, a_left, b_left, last, run = stack.pop()
        if a_left == 0 and b_left == 0:
            out.append(prefix)
            continue
        for arm, left in (("B", b_left), ("A", a_left)):
            if left == 0 or (arm == last and run >= max_run):
                continue
            stack.append(
                (
                    prefix + arm,
                    a_left - (arm == "A"),
                    b_left - (arm == "B"),
                    arm,
                    run + 1 if arm == last else 1,
                )
            )
    return out


#: Largest number of units a unit-level test takes (beyond it the reference-set counts leave
#: floating point, and the run-limited sampler's tables grow too large).
MAX_UNITS = 1000
#: Monte Carlo allocations drawn and evaluated at a time.
CHUNK = 2000
#: Largest run-limited sampler table, (n_a + 1)(n_b + 1) × max run.
MAX_TABLE = 4_000_000


def unit_randomization_test(
    values: Sequence[float | None] | np.ndarray,
    arms: str,
    *,
    max_run: int | None = None,
    scale: float = 1.0,
    seed: int = MC_SEED,
    unit: str = "time unit",
) -> RandomizationResult:
    """Randomization test over arrangements of units, for randomization unit by unit.

    The reference set: every arrangement of the observed numbers of A and B units, with no run
    longer than ``max_run`` when given (``None``: no limit, complete randomization with fixed
    numbers). ``values`` may hold ``None``/NaN for units without data (they take part in every
    arrangement and are left out of every statistic). ``unit`` names the unit in the note.
    """
    x = np.array([np.nan if v is None else v for v in values], dtype=float) * scale
    n_a, n_b = arms.count("A"), arms.count("B")
    limit = max(n_a, n_b, 1) if max_run is None else max_run
    observed = statistic(x, arms)
    size = (n_a + 1) * (n_b + 1) * min(limit, max(n_a, n_b, 1))
    if n_a + n_b > MAX_UNITS or (max_run is not None and size > MAX_TABLE):
        return RandomizationResult(
            None,
            observed,
            0,
            False,
            f"{unit}-level",
            f"not run: {n_a + n_b} {unit}s are more than this test handles (at most {MAX_UNITS}, "
            "and fewer with a long --max-run); the paired comparison of blocks still applies",
        )
    total = math.comb(n_a + n_b, n_a) if max_run is None else count_restricted(n_a, n_b, limit)
    rule = "" if max_run is None else f" with no run over {max_run}"
    scheme = f"{unit}-level, " + (
        "complete" if max_run is None else f"restricted (max run {max_run})"
    )
    if total <= MAX_ENUMERATE:
        stats = _statistics(x, _encode(_restricted_all(n_a, n_b, limit)))
        p = _p_value(observed, stats, add_observed=False)
        note = (
            f"unit = one {unit}; all {total} arrangements of {n_a} A and {n_b} B units{rule} "
            "were enumerated"
        )
        return RandomizationResult(p, observed, total, True, scheme, note)
    rng = np.random.default_rng(seed)
    base = np.array([0] * n_a + [1] * n_b, dtype=np.int8)
    parts = []
    for start in range(0, MONTE_CARLO_DRAWS, CHUNK):  # in chunks: memory stays ~ CHUNK × units
        size = min(CHUNK, MONTE_CARLO_DRAWS - start)
        if max_run is None:
            seqs = rng.permuted(np.tile(base, (size, 1)), axis=1)
        else:
            seqs = _random_restricted_array(n_a, n_b, limit, rng, size)
        parts.append(_statistics(x, seqs.astype(float)))
    stats = np.concatenate(parts)
    p = _p_value(observed, stats, add_observed=True)
    note = (
        f"unit = one {unit}; {MONTE_CARLO_DRAWS} of the {total:.3g} arrangements of {n_a} A and "
        f"{n_b} B units{rule} drawn at random (seed {seed}); the observed arrangement is "
        "counted in"
    )
    return RandomizationResult(p, observed, MONTE_CARLO_DRAWS, False, scheme, note)


def _longest_run(arms: str) -> int:
    best = run = 0
    last = ""
    for arm in arms:
        run = run + 1 if arm == last else 1
        last = arm
        best = max(best, run)
    return best


#: The randomization units ``nof1 analyze --data`` accepts with ``--randomized-by``.
RANDOMIZED_BY = ("day", "period", "pair", "block")


def _check_unit(instance: StatedScheme, attribute: object, value: str) -> None:
    if value not in RANDOMIZED_BY:
        raise DataError(
            f"--randomized-by must be day, period, pair or block (got {value!r}): state the unit "
            "the study's randomization actually drew (day: each time unit; period: each run of "
            "one treatment; pair: the order within each block of two periods; block: each block "
            "or its mirror image, e.g. ABBA or BAAB)"
        )


def _check_max_run(instance: StatedScheme, attribute: object, value: int | None) -> None:
    if value is None:
        return
    if instance.unit in ("pair", "block"):
        raise DataError(
            f"--max-run applies only with --randomized-by day or period (got --randomized-by "
            f"{instance.unit}, whose blocks fix the runs)"
        )
    if value < 1:
        raise DataError(f"--max-run must be ≥ 1 (got {value})")


@frozen
class StatedScheme:
    """How a table's treatments were randomized, as the user states it (never guessed).

    ``unit`` is one of :data:`RANDOMIZED_BY`; ``max_run`` is the longest run of one treatment the
    randomization allowed (``day`` and ``period`` only; ``None``: no limit).
    """

    unit: str = field(validator=_check_unit)
    max_run: int | None = field(default=None, validator=_check_max_run)

    def describe(self) -> str:
        limit = "" if self.max_run is None else f", at most {self.max_run} in a row"
        return f"randomized by {self.unit}{limit}"


NOT_STATED = (
    "not run: how the treatments were randomized was not stated; give --randomized-by day, "
    "period, pair or block as the study's protocol says (a test over a scheme guessed from the "
    "data would not be design-based)"
)


def table_randomization_test(
    data: OutcomeData,
    stated: StatedScheme | None,
    *,
    period_means: Sequence[float | None],
    scale: float = 1.0,
    seed: int = MC_SEED,
) -> RandomizationResult:
    """The randomization test of a CSV table over the stated scheme, or why it was not run.

    Parameters
    ----------
    data : the table's outcome (its ``units`` and ``periods``).
    stated : what ``--randomized-by`` (and ``--max-run``) said; ``None``: not run.
    period_means : each period's mean (``None`` when it has too few values), in period order.

    Raises
    ------
    DataError
        When the stated scheme could not have produced the observed sequence.
    """
    if stated is None:
        return RandomizationResult(None, float("nan"), 0, False, "not stated", NOT_STATED)
    if stated.unit == "day":
        value_of = dict(zip(data.time.tolist(), data.y.tolist(), strict=True))
        arms = "".join(arm for _, arm in data.units)
        _check_runs(arms, stated, "time units (--time values)")
        values = [value_of.get(t) for t, _ in data.units]
        return unit_randomization_test(
            values, arms, max_run=stated.max_run, scale=scale, seed=seed, unit="time unit"
        )
    sequence = data.sequence
    if stated.unit == "period":
        _check_runs(sequence, stated, "periods")
        return unit_randomization_test(
            period_means, sequence, max_run=stated.max_run, scale=scale, seed=seed, unit="period"
        )
    blocks = [p.block for p in data.periods]
    for blk in sorted(set(blocks)):
        in_block = "".join(p.arm for p in data.periods if p.block == blk)
        if stated.unit == "pair" and sorted(in_block) != ["A", "B"]:
            raise DataError(
                f"--randomized-by pair needs every block to be one A and one B period; block "
                f"{blk} is {in_block}: give a --block column that marks the pairs, or state the "
                "unit that was randomized"
            )
        if set(in_block) != {"A", "B"}:
            raise DataError(
                f"--randomized-by block needs both treatments in every block; block {blk} is "
                f"{in_block}: give a --block column that marks the blocks, or state the unit that "
                "was randomized"
            )
    if stated.unit == "pair":
        return randomization_test(
            period_means,
            sequence,
            Design(scheme="pairwise", blocks=len(set(blocks))),
            scale=scale,
            seed=seed,
        )
    return mirror_randomization_test(period_means, sequence, blocks, scale=scale, seed=seed)


def mirror_randomization_test(
    period_means: Sequence[float | None],
    sequence: str,
    blocks: Sequence[int],
    *,
    scale: float = 1.0,
    seed: int = MC_SEED,
) -> RandomizationResult:
    """Randomization test when each block was its pattern or its mirror image, independently.

    Covers the pairwise (AB/BA) and counterbalanced (ABBA/BAAB) schemes and any block pattern:
    2^blocks allocations, enumerated up to :data:`MAX_ENUMERATE`, else a seeded sample.
    """
    means = np.array([np.nan if m is None else m for m in period_means], dtype=float) * scale
    observed_arms = np.array([c == "B" for c in sequence], dtype=float)
    block_ids = sorted(set(blocks))
    member = np.array([[b == blk for b in blocks] for blk in block_ids], dtype=float)
    k = len(block_ids)
    total = 1 << k
    exact = total <= MAX_ENUMERATE
    if exact:
        flips = np.array([[(i >> j) & 1 for j in range(k)] for i in range(total)], dtype=float)
    else:
        flips = np.random.default_rng(seed).integers(0, 2, size=(MONTE_CARLO_DRAWS, k))
        flips = flips.astype(float)
    flipped = flips @ member  # 1 where the period's block is mirrored
    seqs = np.abs(observed_arms[None, :] - flipped)
    stats = _statistics(means, seqs)
    observed = statistic(means, sequence)
    p = _p_value(observed, stats, add_observed=not exact)
    if exact:
        note = f"all {total} allocations (each of {k} blocks as drawn or mirrored) were enumerated"
    else:
        note = (
            f"{MONTE_CARLO_DRAWS} of the {total} allocations (each of {k} blocks as drawn or "
            f"mirrored) drawn at random (seed {seed}); the observed allocation is counted in"
        )
    return RandomizationResult(
        p, observed, total if exact else MONTE_CARLO_DRAWS, exact, "block mirror", note
    )


def _check_runs(arms: str, stated: StatedScheme, what: str) -> None:
    if stated.max_run is None:
        return
    longest = _longest_run(arms)
    if longest > stated.max_run:
        raise DataError(
            f"--max-run {stated.max_run} cannot be right: the data have {longest} {what} in a "
            f"row on one treatment, which that randomization could not draw; check --max-run "
            "and --randomized-by"
        )


def paired_comparison(
    period_means: Sequence[float | None],
    arms: str | Sequence[str],
    blocks: Sequence[int],
    *,
    scale: float = 1.0,
) -> PairedComparison:
    """Mean over blocks of (B period mean − A period mean), with a t interval and p-value.

    A block counts only when it has data in both arms (several periods of one arm in a block
    are averaged). With one usable block the interval and p-value are ``None``.
    """
    from scipy import stats as st

    per_block: dict[int, dict[str, list[float]]] = {}
    for m, arm, blk in zip(period_means, arms, blocks, strict=True):
        if m is None or not math.isfinite(m):
            continue
        per_block.setdefault(int(blk), {"A": [], "B": []})[arm].append(float(m) * scale)
    diffs = np.array(
        [
            np.mean(v["B"]) - np.mean(v["A"])
            for _, v in sorted(per_block.items())
            if v["A"] and v["B"]
        ]
    )
    n = int(diffs.size)
    if n == 0:
        return PairedComparison(float("nan"), None, None, 0)
    mean = float(diffs.mean())
    if n < 2:
        return PairedComparison(mean, None, None, n)
    se = float(diffs.std(ddof=1) / math.sqrt(n))
    if se == 0:
        return PairedComparison(mean, (mean, mean), 0.0 if mean != 0 else 1.0, n)
    q = float(st.t.ppf(0.975, n - 1))
    p = float(2 * st.t.sf(abs(mean / se), n - 1))
    return PairedComparison(mean, (mean - q * se, mean + q * se), p, n)
