"""Speed of the design planner: 500 simulated trials of one design, all cores.

Each simulated trial is analysed twice (with the assumed effect and without), so 500 trials are
1,000 approximate posterior fits. Prints the median wall-clock time of several runs per
outcome kind of the magnesium template (its 4 × 2 × 28-day design).

Usage: python benchmarks/bench_plan.py [RUNS] [SIMULATIONS]
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from nof1.plan import _pool, default_assumptions, design_of, simulate_design
from nof1.protocol import TrialProtocol

OUTCOMES = ("headache_day", "peak_pain", "acute_med_days", "severity")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    sims = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    protocol = TrialProtocol.from_toml("protocols/migraine-magnesium.toml")
    workers = os.cpu_count() or 1
    print(f"{sims} simulated trials per design, {workers} worker processes, {runs} runs")
    with _pool(workers) as pool:
        for name in OUTCOMES:
            outcome = protocol.outcome(name)
            a = default_assumptions(protocol, outcome)
            times = []
            for run in range(runs):
                start = time.perf_counter()
                result = simulate_design(
                    protocol,
                    outcome,
                    design_of(protocol.design),
                    a,
                    simulations=sims,
                    seed=run,
                    jobs=workers,
                    pool=pool,
                )
                times.append(time.perf_counter() - start)
            print(
                f"{name:<15} {outcome.kind:<10} median {statistics.median(times):5.1f} s "
                f"(runs: {', '.join(f'{t:.1f}' for t in times)}); "
                f"assurance {result.assurance:.2f}, false benefit {result.false_benefit:.2f}",
                flush=True,
            )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"1-minute load average at the end: {load:.1f} (other work on the machine slows this)")


if __name__ == "__main__":
    main()
