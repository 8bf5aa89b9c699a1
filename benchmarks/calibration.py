"""Calibration of the continuous analysis on simulated trials: interval coverage, false verdicts.

Simulates trials with the project's own simulator (``nof1.simulate``) — AR(1) errors with
rho = 0.5, a slow linear drift, 5% of days missing — from the magnesium template's design
(14-day run-in, 4 pairwise blocks of 28-day periods, 7-day analytic washout), with the
continuous outcome on a 0–100 scale (SD 15, MCID 10). Each trial is analysed as the product does
(default prior, AR(1), linear trend) and the script prints:

* the coverage of the 95% credible interval of the effect (target 0.93–0.97), over all trials;
* the rate of "meaningful benefit likely" verdicts when the true effect is 0 (target ≤ 5%).

Two engines compute the same posterior:

``--engine sampler`` (default)
    The full product path, :func:`nof1.analysis.analyze_outcome` (``nof1.model.fit``: since
    issue 14 the grid integration of ``nof1.model.grid`` for this continuous outcome, with its
    diagnostics and retry; the compiled model is reused across trials of a worker).
``--engine grid``
    The same model and priors integrated deterministically: the continuous model's linear
    coefficients are integrated out in closed form (as ``nof1.model.continuous`` does), the two
    remaining parameters (sigma, rho) on a 80 × 60 grid, then the coefficients drawn exactly with
    ``nof1.model.continuous.draw_coefficients``. It isolates the statistics (model, priors,
    verdict rule) from the sampler and runs hundreds of trials in a minute.

Usage::

    .venv/bin/python benchmarks/calibration.py --engine grid --null 300 --effect 150
    .venv/bin/python benchmarks/calibration.py --engine sampler --null 120 --effect 80 --workers 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import multiprocessing as mp
import os
import re
import time
from typing import Any

import numpy as np

MCID = 10.0
EFFECT = -10.0  # one MCID of benefit (lower is better)
RHO = 0.5
TREND_PER_DAY = 0.004  # SD per day: about one SD of drift over the 266-day trial
MISSING = 0.05
DRAWS = 1000


def _protocol() -> Any:
    from pathlib import Path

    from nof1.protocol import TrialProtocol, set_design_values

    root = Path(__file__).resolve().parents[1]
    text = (root / "protocols" / "migraine-magnesium.toml").read_text(encoding="utf-8")
    # an ungated pain outcome (linked=False below): asked every day, no skip logic
    text = re.sub(r"^(ask_if|skipped_value) = .*\n", "", text, flags=re.M)
    text = text.replace("mcid = 1.0\nmin = 0\nmax = 10", f"mcid = {MCID}\nmin = 0\nmax = 100")
    text = set_design_values(text, {"start_date": dt.date(2026, 1, 5), "seed": 1})
    return TrialProtocol.from_text(text)


def simulate(seed: int, effect: float) -> Any:
    """One simulated trial's ``OutcomeData`` for the 0–100 pain outcome."""
    from nof1.dataset import from_records
    from nof1.schedule import build_schedule
    from nof1.simulate import simulate_trial

    protocol = _protocol()
    schedule = build_schedule(protocol)
    trial = simulate_trial(
        protocol,
        schedule,
        seed=seed,
        effects={"peak_pain": effect},
        rho=RHO,
        missing_rate=MISSING,
        adherence=1.0,
        trend_per_day=TREND_PER_DAY,
        linked=False,
    )
    spec = protocol.outcome("peak_pain")
    return from_records(spec, schedule, trial.observations, trial.adherence), protocol


def run_sampler(job: tuple[int, float]) -> dict[str, Any]:
    from nof1.analysis import Settings, analyze_outcome

    seed, effect = job
    data, protocol = simulate(seed, effect)
    start = time.perf_counter()
    result = analyze_outcome(
        data,
        Settings(
            autocorrelation=True,
            trend="linear",
            draws=DRAWS,
            tune=DRAWS,
            seed=seed,
            sensitivity=False,
        ),
        design=protocol.design,
    )
    return {
        "seed": seed,
        "effect": effect,
        "low": result.effect.ci95[0],
        "high": result.effect.ci95[1],
        "verdict": result.verdict,
        "passed": result.diagnostics.passed,
        "seconds": time.perf_counter() - start,
    }


def run_grid(job: tuple[int, float]) -> dict[str, Any]:
    from scipy import stats

    from nof1 import summary
    from nof1 import verdict as verdict_rule
    from nof1.analysis import Settings, _model_spec, model_data
    from nof1.model.continuous import draw_coefficients
    from nof1.model.terms import design
    from nof1.prior import default_prior

    seed, effect = job
    data, protocol = simulate(seed, effect)
    start = time.perf_counter()
    prior = default_prior(data.outcome)
    spec = _model_spec(data, Settings(trend="linear"), prior)
    md = model_data(data)
    dm = design(md, spec)
    x, m, sds, hinges = dm.x, dm.means, dm.sds, dm.hinges
    assert hinges == 0
    y = md.y
    n, p = x.shape
    g = np.concatenate([[1.0], np.diff(md.time)])

    resid_sd = float(np.std(y - x @ np.linalg.lstsq(x, y, rcond=None)[0]))
    sig = np.exp(np.linspace(np.log(resid_sd * 0.5), np.log(resid_sd * 2.5), 80))
    rho = (np.arange(60) + 0.5) / 60
    ss, rr = np.meshgrid(sig, rho, indexing="ij")
    ss, rr = ss.ravel(), rr.ravel()
    a = rr[:, None] ** g[None, :]
    a[:, 0] = 0.0
    c = np.sqrt(1.0 - a**2)
    c[:, 0] = 1.0
    yprev = np.concatenate([[0.0], y[:-1]])
    xprev = np.concatenate([np.zeros((1, p)), x[:-1]])
    yw = (y[None, :] - a * yprev[None, :]) / c
    xw = (x[None] - a[:, :, None] * xprev[None]) / c[:, :, None]
    s2 = ss**2
    r = yw - np.einsum("dnp,p->dn", xw, m)
    gram = np.einsum("dnp,dnq->dpq", xw, xw)
    b = np.einsum("dnp,dn->dp", xw, r)
    prec = gram / s2[:, None, None]
    prec[:, np.arange(p), np.arange(p)] += 1.0 / sds**2
    chol = np.linalg.cholesky(prec)
    half = np.linalg.solve(chol, b[..., None])[..., 0] / s2[:, None]
    logdet = (
        n * np.log(s2)
        + np.sum(np.log(sds**2))
        + 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(1)
    )
    quad = (r * r).sum(1) / s2 - (half * half).sum(1)
    loglik = -0.5 * (logdet + quad) - np.log(c).sum(1)
    logprior = stats.halfnorm.logpdf(ss, scale=prior.sigma_scale) + stats.beta.logpdf(
        rr, prior.rho_alpha, prior.rho_beta
    )
    logpost = loglik + logprior + np.log(ss)  # log-spaced sigma grid: Jacobian
    w = np.exp(logpost - logpost.max())
    w /= w.sum()
    rng = np.random.default_rng([seed, 99])
    pick = rng.choice(w.size, size=4000, p=w)
    # jitter within the grid cell so the draws are continuous
    dlog = np.log(sig[1] / sig[0])
    sigma_draws = ss[pick] * np.exp(rng.uniform(-dlog / 2, dlog / 2, pick.size))
    rho_draws = np.clip(rr[pick] + rng.uniform(-0.5 / 60, 0.5 / 60, pick.size), 1e-4, 1 - 1e-4)
    coef = draw_coefficients(
        md, spec, {"sigma": sigma_draws[None, :], "rho": rho_draws[None, :]}, rng
    )
    draws = coef["effect"].reshape(-1)
    s = summary.summarize_draws(draws, "difference")
    v = verdict_rule.verdict(
        verdict_rule.probabilities(draws, data.outcome.mcid, data.outcome.better),
        protocol.analysis.decision_threshold,
    )
    return {
        "seed": seed,
        "effect": effect,
        "low": s.ci95[0],
        "high": s.ci95[1],
        "verdict": v,
        "passed": True,
        "seconds": time.perf_counter() - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=("sampler", "grid"), default="sampler")
    parser.add_argument("--null", type=int, default=120, help="trials with no effect")
    parser.add_argument("--effect", type=int, default=80, help="trials with effect = -MCID")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1000)
    args = parser.parse_args()

    from nof1 import verdict

    jobs = [(args.seed + i, 0.0) for i in range(args.null)]
    jobs += [(args.seed + 100_000 + i, EFFECT) for i in range(args.effect)]
    worker = run_sampler if args.engine == "sampler" else run_grid
    start = time.perf_counter()
    results: list[dict[str, Any]] = []
    # Pool workers are daemonic and may not start processes of their own: each runs its chains
    # one after the other (nof1.model.CORES), and the pool gives the parallelism.
    os.environ["NOF1_CORES"] = "1"
    with mp.get_context("spawn").Pool(args.workers) as pool:
        for i, res in enumerate(pool.imap_unordered(worker, jobs), start=1):
            results.append(res)
            if i % 20 == 0 or i == len(jobs):
                print(f"  {i}/{len(jobs)} trials ({time.perf_counter() - start:.0f} s)", flush=True)
    covered = [r["low"] <= r["effect"] <= r["high"] for r in results]
    null = [r for r in results if r["effect"] == 0.0]
    false_benefit = [r["verdict"] == verdict.BENEFIT for r in null]
    eff = [r for r in results if r["effect"] != 0.0]
    power = [r["verdict"] == verdict.BENEFIT for r in eff]
    withheld = sum(not r["passed"] for r in results)

    def ci(k: int, n: int) -> str:
        p = k / n
        half = 1.96 * math.sqrt(max(p * (1 - p), 1e-9) / n)
        return f"{p:.3f} (± {half:.3f}, {k}/{n})"

    print(
        f"\nengine: {args.engine}; {len(results)} trials; AR(1) rho = {RHO}, drift "
        f"{TREND_PER_DAY} SD/day, {MISSING:.0%} missing days; model AR(1) + linear trend"
    )
    print(f"95% interval coverage (all trials):        {ci(sum(covered), len(covered))}")
    null_covered = sum(c for c, r in zip(covered, results, strict=True) if r["effect"] == 0.0)
    print(f"  under no effect:                         {ci(null_covered, len(null))}")
    print(f"false 'meaningful benefit' (no effect):    {ci(sum(false_benefit), len(null))}")
    if eff:
        print(f"'meaningful benefit' when effect = MCID:   {ci(sum(power), len(eff))}")
    print(f"diagnostics failed after retry (withheld): {withheld}")
    print(
        f"median seconds per trial: {np.median([r['seconds'] for r in results]):.2f}; "
        f"wall {time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
