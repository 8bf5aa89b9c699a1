"""Attack severity: analysed on every day ("none" on headache-free days) against severity on
headache days only, on the same simulated trials.

Every trial is the ``migraine-magnesium`` template (4 pairwise blocks of 28-day periods, 7-day
analytic washout) simulated by the project's simulator (:func:`nof1.simulate.simulate_trial`,
linked outcomes: severity mild/moderate/severe on headache days from a latent series
independent of the headache days', "none" on headache-free days) with a headache-frequency
effect of −3 days/28 in EVERY trial, and a severity effect on headache days of 0 (``null``) or
``--severity-effect`` expected categories (``effect``). Severity goes through the product path
(:func:`nof1.analysis.analyze_outcome`, its default engine and draws) twice:

``when-asked``  the template as shipped: ``analyse = "when_asked"``: severity on the headache
                days it was asked, categories mild, moderate, severe. Truth: the expected
                severity difference on headache days by assigned arm (the severity effect, times
                the share of intervention headache days on which the pack was taken).
``every-day``   the same outcome with ``analyse = "every_day"``: every analysed day, "none" on
                headache-free days (the templates before this change). Truth: the difference of
                the expected category over ALL analysed days, which contains the frequency
                effect (≈ −0.20 categories under ``null``: the frequency effect counted again).

Per analysis it prints the mean estimate, the 95 % coverage of its own truth (with Monte Carlo
error), and how often the severity verdict is "meaningful benefit likely" or "benefit likely"
(P(any benefit) ≥ the decision threshold) when only the headache frequency changed.

Usage::

    .venv/bin/python benchmarks/severity_two_part.py --null 100 --effect 50 --workers 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import math
import multiprocessing as mp
import os
import time
from typing import Any

os.environ.setdefault("NOF1_CORES", "1")

import numpy as np  # noqa: E402

FREQUENCY_EFFECT = -3.0  # headache days per 28, in every trial
BASELINE_DAYS = 8.0  # the simulator's default headache days per 28
ADHERENCE = 0.95  # simulate_trial's default
START = dt.date(2026, 1, 5)


def headache_share(arm: str, adherent: bool = True) -> float:
    """Daily probability of a headache day in the simulator (by arm, on a taken/not taken day)."""
    if arm == "B" and adherent:
        return (BASELINE_DAYS + FREQUENCY_EFFECT) / 28.0
    return BASELINE_DAYS / 28.0


def truths(severity_effect: float) -> dict[str, float]:
    """True B − A of each analysis (see the module docstring); A's severity on a headache day
    is the simulator's default, expected category 2 (moderate)."""
    taken, missed = headache_share("B"), headache_share("B", adherent=False)
    base = headache_share("A")
    w = ADHERENCE * taken / (ADHERENCE * taken + (1 - ADHERENCE) * missed)
    a_all = base * 2.0
    b_all = ADHERENCE * taken * (2.0 + severity_effect) + (1 - ADHERENCE) * missed * 2.0
    return {"when-asked": w * severity_effect, "every-day": b_all - a_all}


def run_trial(job: tuple[str, int, int, float]) -> list[dict[str, Any]]:
    from attrs import evolve

    from nof1.analysis import Settings, analyze_outcome
    from nof1.dataset import from_records
    from nof1.protocol import TrialProtocol, set_design_values
    from nof1.schedule import build_schedule
    from nof1.simulate import simulate_trial
    from nof1.templates import find_template

    scenario, index, seed, size = job
    logging.getLogger("pymc").setLevel(logging.WARNING)
    effect = size if scenario == "effect" else 0.0
    ss = np.random.SeedSequence([seed, scenario == "effect", index])
    design_seed, sim_seed = (int(x % 2_000_000_000) + 1 for x in ss.generate_state(2))
    text = find_template("migraine-magnesium").read_text(encoding="utf-8")
    protocol = TrialProtocol.from_text(
        set_design_values(text, {"start_date": START, "seed": design_seed})
    )
    schedule = build_schedule(protocol)
    trial = simulate_trial(
        protocol,
        schedule,
        seed=sim_seed,
        effects={"headache_day": FREQUENCY_EFFECT, "severity": effect},
        rho=0.4,
    )
    when_asked = protocol.outcome("severity")
    if not when_asked.when_asked:
        raise SystemExit("Error: the template's severity is not analyse = 'when_asked'")
    every_day = evolve(when_asked, analyse="every_day")
    settings = Settings.from_protocol(protocol, sensitivity=False)
    truth = truths(effect)
    rows = []
    for label, spec in (("when-asked", when_asked), ("every-day", every_day)):
        data = from_records(spec, schedule, trial.observations, trial.adherence, protocol=protocol)
        start = time.perf_counter()
        result = analyze_outcome(data, settings, design=protocol.design)
        e = result.effect
        rows.append(
            {
                "analysis": label,
                "scenario": scenario,
                "truth": truth[label],
                "mean": e.mean,
                "sd": e.sd,
                "low": e.ci95[0],
                "high": e.ci95[1],
                "verdict": result.verdict,
                "p_benefit": result.probabilities.benefit,
                "n": data.n,
                "passed": result.diagnostics.passed,
                "seconds": time.perf_counter() - start,
            }
        )
    return rows


def _share(k: int, n: int) -> str:
    if n == 0:
        return "–"
    p = k / n
    return f"{p:.3f} ± {1.96 * math.sqrt(p * (1 - p) / n):.3f} ({k}/{n})"


def summary(rows: list[dict[str, Any]], threshold: float) -> str:
    from nof1.verdict import BENEFIT

    lines = []
    for scenario in ("null", "effect"):
        rs = [r for r in rows if r["scenario"] == scenario]
        if not rs:
            continue
        means = np.array([r["mean"] for r in rs])
        covered = sum(r["low"] <= r["truth"] <= r["high"] for r in rs)
        z = np.array([(r["mean"] - r["truth"]) / r["sd"] for r in rs if r["sd"] > 0])
        lines += [
            f"  {scenario}: truth {rs[0]['truth']:+.3f}; mean estimate {means.mean():+.3f} "
            f"± {1.96 * means.std(ddof=1) / math.sqrt(len(rs)):.3f}; analysed days (median) "
            f"{np.median([r['n'] for r in rs]):.0f}",
            f"    95% coverage of its truth  {_share(covered, len(rs))}; z-score SD "
            f"{z.std(ddof=1):.2f}; standardized bias {z.mean():+.2f}",
            f"    'meaningful benefit likely'  {_share(sum(r['verdict'] == BENEFIT for r in rs), len(rs))}",  # noqa: E501
            f"    P(any benefit) ≥ {threshold:g}        "
            f"{_share(sum(r['p_benefit'] >= threshold for r in rs), len(rs))}",
            f"    diagnostics passed {sum(r['passed'] for r in rs)}/{len(rs)}; median seconds "
            f"{np.median([r['seconds'] for r in rs]):.1f}",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--null", type=int, default=40)
    parser.add_argument("--effect", type=int, default=0)
    parser.add_argument("--severity-effect", type=float, default=-0.5)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=3000)
    args = parser.parse_args()
    jobs = [("null", i, args.seed, args.severity_effect) for i in range(args.null)]
    jobs += [("effect", i, args.seed, args.severity_effect) for i in range(args.effect)]
    start = time.perf_counter()
    if args.workers > 1:
        with mp.get_context("fork").Pool(args.workers) as pool:
            results = pool.map(run_trial, jobs, chunksize=2)
    else:
        results = [run_trial(job) for job in jobs]
    rows = [row for trial in results for row in trial]
    wall = time.perf_counter() - start
    import nof1

    print(
        f"{len(jobs)} trials ({args.null} no severity effect, {args.effect} severity effect "
        f"{args.severity_effect:+g} categories on headache days; headache frequency "
        f"{FREQUENCY_EFFECT:+g} days/28 in all), each analysed both ways; nof1 "
        f"{nof1.__version__}; seed {args.seed}; {wall / 60:.1f} min on "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    )
    for label in ("when-asked", "every-day"):
        print(f"\n{label}:")
        print(summary([r for r in rows if r["analysis"] == label], 0.8))


if __name__ == "__main__":
    main()
