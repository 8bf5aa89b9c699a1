"""Speed of the design planner: 500 simulated trials of one design, all cores.

Each simulated trial is analysed twice (with the assumed effect and without), so 500 trials are
1,000 approximate posterior fits. Prints the median wall-clock time of several runs per
outcome kind of the magnesium template (its 4 × 2 × 28-day design).

Because the machine is shared, it also measures the CPU time of one simulated trial in this
process (``time.process_time``, which other users' load does not inflate much) and projects the
wall-clock time of the 500 trials on 2 otherwise idle cores.

Usage: python benchmarks/bench_plan.py [RUNS] [SIMULATIONS] [--cpu-only]
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from nof1.plan.planner import _Job, _pool, _run, default_assumptions, design_of, simulate_design
from nof1.protocol import TrialProtocol

OUTCOMES = ("headache_day", "peak_pain", "acute_med_days", "severity")
CPU_TRIALS = 40


def main() -> None:
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    runs = int(numbers[0]) if numbers else 3
    sims = int(numbers[1]) if len(numbers) > 1 else 500
    protocol = TrialProtocol.from_toml("protocols/migraine-magnesium.toml")
    workers = os.cpu_count() or 1
    print(f"CPU time per simulated trial (2 fits), {CPU_TRIALS} trials in one process:")
    for name in OUTCOMES:
        outcome = protocol.outcome(name)
        job = _Job(
            protocol,
            outcome,
            design_of(protocol.design),
            default_assumptions(protocol, outcome),
            tuple(range(CPU_TRIALS)),
        )
        _run(_Job(job.protocol, job.outcome, job.option, job.assumptions, (0,)))  # warm up
        start = time.process_time()
        _run(job)
        per_trial = (time.process_time() - start) / CPU_TRIALS
        print(
            f"{name:<15} {outcome.kind:<10} {1000 * per_trial:6.1f} ms CPU per trial -> "
            f"{sims} trials on 2 idle cores ≈ {sims * per_trial / 2:5.1f} s"
        )
    if "--cpu-only" in sys.argv:
        return
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
