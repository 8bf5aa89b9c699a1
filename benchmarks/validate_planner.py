"""Validate the planner's fast posteriors (nof1.plan.approx) against full PyMC fits (nof1.model).

For each outcome kind of the magnesium template, simulate trials exactly as the planner does
(its design, default assumptions and effect), fit each with both methods, and print the
agreement: posterior mean and 95% limits (differences in units of the PyMC posterior SD),
P(meaningful benefit) (absolute difference) and verdict agreement.

Usage: python benchmarks/validate_planner.py [TRIALS_PER_KIND] [--outcomes A,B] [--json FILE]
       python benchmarks/validate_planner.py --from-logs STDERR_FILE...
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from nof1.model import ModelData, ModelSpec, fit
from nof1.plan.approx import posterior
from nof1.plan.planner import (
    _asked,
    _layout,
    _offset,
    _simulation_inputs,
    default_assumptions,
    design_of,
)
from nof1.prior import default_prior
from nof1.protocol import TrialProtocol
from nof1.simulate import simulate_outcome
from nof1.verdict import probabilities, verdict

OUTCOMES = ("peak_pain", "headache_day", "acute_med_days", "severity")


def summarize(rows: list[dict], kind: str) -> dict:
    """Agreement figures over the trials of one outcome."""
    return {
        "kind": kind,
        "trials": len(rows),
        "mean_abs_mean_diff_sd": float(np.mean([abs(r["mean_diff_sd"]) for r in rows])),
        "max_abs_mean_diff_sd": float(np.max([abs(r["mean_diff_sd"]) for r in rows])),
        "mean_abs_limit_diff_sd": float(
            np.mean([abs(r["low_diff_sd"]) for r in rows] + [abs(r["high_diff_sd"]) for r in rows])
        ),
        "median_sd_ratio": float(np.median([r["sd_ratio"] for r in rows])),
        "mean_abs_p_benefit_diff": float(np.mean([abs(r["p_benefit_diff"]) for r in rows])),
        "max_abs_p_benefit_diff": float(np.max([abs(r["p_benefit_diff"]) for r in rows])),
        "verdict_agreement": float(np.mean([r["same_verdict"] for r in rows])),
        "median_seconds_approx": float(np.median([r["seconds_approx"] for r in rows])),
        "median_seconds_pymc": float(np.median([r["seconds_pymc"] for r in rows])),
    }


def from_logs(paths: list[str]) -> None:
    """Summarize the per-trial lines this script printed to stderr (for interrupted runs)."""
    kinds = {
        "peak_pain": "continuous",
        "headache_day": "binary",
        "acute_med_days": "count",
        "severity": "ordinal",
    }
    rows: dict[str, list[dict]] = {}
    for path in paths:
        for line in open(path, encoding="utf-8"):
            name, _, rest = line.partition(" trial ")
            if name in kinds and ": {" in rest:
                row = eval(rest.split(": ", 1)[1], {"np": np})  # our own repr output
                rows.setdefault(name, []).append(row)
    for name, found in rows.items():
        print(name, json.dumps(summarize(found, kinds[name])))


def main() -> None:
    if "--from-logs" in sys.argv:
        from_logs(sys.argv[sys.argv.index("--from-logs") + 1 :])
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 20
    out = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    names = OUTCOMES
    if "--outcomes" in sys.argv:
        names = tuple(sys.argv[sys.argv.index("--outcomes") + 1].split(","))
    protocol = TrialProtocol.from_toml("protocols/migraine-magnesium.toml")
    analysis = protocol.analysis
    summary = {}
    for name in names:
        outcome = protocol.outcome(name)
        a = default_assumptions(protocol, outcome)
        kw = _simulation_inputs(outcome, a)
        rows = []
        for i in range(n):
            seed = 1000 + i
            time_, arm, analysed, knots = _layout(protocol, design_of(protocol.design), seed, {})
            rng = np.random.default_rng([seed, 2])
            # half the trials with the assumed effect, half with none (both verdict regions)
            effect_kw = kw if i % 2 == 0 else {**kw, "effect": 0.0}
            y = simulate_outcome(
                outcome.kind,
                arm,
                time_,
                rng=rng,
                rho=a.rho,
                missing_rate=a.missing_rate,
                lag_days=a.lag_days,
                **effect_kw,
            )
            # as the planner: only the days it is asked (severity, peak pain: headache days)
            keep = analysed & np.isfinite(y) & _asked(a, arm, time_, seed)
            # the prior reads stored categories; the model sees the analysed ones
            prior = default_prior(outcome, y[keep] + _offset(outcome))
            k = len(outcome.analysed_categories) or None
            t0 = time.perf_counter()
            approx = posterior(
                outcome.kind,
                y[keep],
                arm[keep],
                time_[keep],
                prior,
                autocorrelation=analysis.autocorrelation,
                trend=analysis.trend,
                knots=knots,
                n_categories=k,
                seed=seed,
            )
            t_approx = time.perf_counter() - t0
            data = ModelData(
                y=y[keep], arm=arm[keep], time=time_[keep], n_categories=k, knots=knots
            )
            spec = ModelSpec(
                kind=outcome.kind,
                autocorrelation=analysis.autocorrelation,
                trend=analysis.trend,
                prior=prior,
            )
            t0 = time.perf_counter()
            full = fit(data, spec, draws=1000, tune=1000, chains=2, seed=seed)
            t_full = time.perf_counter() - t0
            e = full.effect
            sd = float(np.std(e))
            lo, hi = np.quantile(e, [0.025, 0.975])
            alo, ahi = approx.ci95
            p_full = probabilities(e, outcome.mcid, outcome.better)
            p_appr = probabilities(approx.draws, outcome.mcid, outcome.better)
            rows.append(
                {
                    "mean_diff_sd": (approx.mean - float(np.mean(e))) / sd,
                    "low_diff_sd": (alo - lo) / sd,
                    "high_diff_sd": (ahi - hi) / sd,
                    "sd_ratio": approx.sd / sd,
                    "p_benefit_diff": p_appr["meaningful_benefit"] - p_full["meaningful_benefit"],
                    "same_verdict": verdict(p_appr, analysis.decision_threshold)
                    == verdict(p_full, analysis.decision_threshold),
                    "seconds_approx": t_approx,
                    "seconds_pymc": t_full,
                }
            )
            print(f"{name} trial {i + 1}/{n}: {rows[-1]}", file=sys.stderr, flush=True)
        summary[name + "_trials"] = rows
        summary[name] = summarize(rows, outcome.kind)
        print(name, json.dumps(summary[name]), flush=True)
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=2, default=float)


if __name__ == "__main__":
    main()
