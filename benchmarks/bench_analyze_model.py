"""Sampler-only timings of nof1.model.fit: a 16-week daily trial (112 days, 8 periods), AR(1) on.

Usage: ``python benchmarks/bench_analyze_model.py [KIND ...] [--engine auto|nuts]
[--sampler pymc|nutpie] [--chains N] [--repeats N]``. Prints, per kind, the first fit (cold in
this process) and the median of the following fits (warm), split into build / compile / sample
seconds, with the effect's R-hat and bulk ESS (for a grid fit: its change and edge mass). Import
time of PyMC is not included. ``NOF1_CORES=1`` runs the NUTS chains in this process.
"""

from __future__ import annotations

import argparse
import statistics
import time

import arviz_stats as azs
import numpy as np

from nof1.model import ModelData, ModelSpec, fit
from nof1.prior import default_prior
from nof1.protocol import OutcomeSpec
from nof1.simulate import simulate_outcome

SETTINGS = {
    "continuous": dict(baseline=5.0, effect=-1.0, sd=1.5, minimum=0.0, maximum=10.0),
    "count": dict(baseline=8.0, effect=-3.0, dispersion=2.0),
    "binary": dict(baseline=8.0, effect=-4.0),
    "ordinal": dict(baseline=0.0, effect=-0.8, n_categories=4),
}


def trial(kind: str, seed: int = 1) -> tuple[ModelData, OutcomeSpec]:
    time_ = np.arange(112, dtype=float)
    arm = np.repeat([0, 1, 1, 0, 0, 1, 1, 0], 14)
    y = simulate_outcome(
        kind, arm, time_, rng=np.random.default_rng(seed), rho=0.5, **SETTINGS[kind]
    )  # type: ignore[arg-type]
    extra: dict[str, object] = {}
    if kind == "continuous":
        extra = dict(minimum=0.0, maximum=10.0)
    if kind == "ordinal":
        extra = dict(categories=("a", "b", "c", "d"))
    outcome = OutcomeSpec(name="x", kind=kind, question="?", better="lower", mcid=1.0, **extra)  # type: ignore[arg-type]
    data = ModelData(
        y=y,
        arm=arm,
        time=time_,
        knots=(27.5, 55.5, 83.5),
        n_categories=4 if kind == "ordinal" else None,
        period=np.repeat(np.arange(8), 14),
    )
    return data, outcome


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kinds", nargs="*", default=list(SETTINGS))
    parser.add_argument("--sampler", default="pymc")
    parser.add_argument("--engine", default="auto", choices=("auto", "nuts"))
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--trend", default="none")
    parser.add_argument("--latent", default="ar")
    args = parser.parse_args()
    for kind in args.kinds:
        data, outcome = trial(kind)
        spec = ModelSpec(
            kind=kind,
            autocorrelation=True,
            trend=args.trend,
            prior=default_prior(outcome, data.y),
            latent=args.latent,
        )
        rows = []
        for repeat in range(1 + args.repeats):
            start = time.perf_counter()
            result = fit(
                data,
                spec,
                chains=args.chains,
                seed=repeat,
                sampler=args.sampler,
                engine=args.engine,
            )
            wall = time.perf_counter() - start
            if result.grid is not None:  # independent draws: the grid's own diagnostics
                rhat, ess, div = result.grid.change, result.grid.edge_mass, 0
            else:
                rhat = float(azs.rhat(result.idata, var_names=["effect"])["effect"])
                ess = float(azs.ess(result.idata, var_names=["effect"])["effect"])
                div = int(result.idata.sample_stats["diverging"].sum())
            rows.append((wall, result.seconds, rhat, ess, div))
            s = result.seconds
            print(
                f"{kind:10s} {args.sampler} chains={args.chains} run {repeat}: wall {wall:6.2f}s "
                f"(build {s['build']:.2f} compile {s['compile']:.2f} sample {s['sample']:.2f}) "
                + (
                    f"grid change {rhat:.1e} SD, edge mass {ess:.1e}"
                    if result.grid is not None
                    else f"rhat {rhat:.4f} ess {ess:.0f} divergences {div}"
                ),
                flush=True,
            )
        warm = [r[0] for r in rows[1:]] or [rows[0][0]]
        print(
            f"{kind:10s} cold {rows[0][0]:.2f}s  warm median {statistics.median(warm):.2f}s",
            flush=True,
        )


if __name__ == "__main__":
    main()
