"""Peak pain: the old fill-0 analysis against intensity on headache days, on the same trials.

Every trial comes from the independent calibration generator (``calibration_generator.py``, kind
``pain``: headache days with a frequency effect of −3 days/28 in EVERY trial, peak pain 1–10
logged on headache days only, intensity effect −1.0 point or 0) on the ``migraine-magnesium``
design, and goes through the product path twice (``calibration.py`` supplies the protocol, the
records and the settings):

``intensity`` the template as shipped: ``analyse = "when_asked"``: peak pain analysed on the
              days it was asked (headache days). Truth: the difference of expected peak pain
              on headache days (B − A), the generator's estimand. MCID 1.5 (the template's).
``fill-0``    the same outcome with ``analyse = "every_day"``: every analysed day, 0 on
              headache-free days (the templates before this change). Truth: the difference of
              the expected pain over ALL analysed days (headache share × intensity), computed
              from the generator's own marginal means. MCID 1.0 (the old template's).

Per analysis it prints the 95 % coverage with its Monte Carlo error, the z-score SD, the
standardized bias, and how often the pain verdict is "meaningful benefit likely" when only
the headache frequency changed (intensity effect 0): for ``fill-0`` that is the frequency effect
counted a second time as "less pain".

Usage (``calibration.py`` and its generator are read from this folder, or from the folder
named by ``NOF1_CALIBRATION_DIR``)::

    .venv/bin/python benchmarks/pain_two_part.py --null 200 --effect 200 --workers 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import math
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("NOF1_CORES", "1")
#: Where calibration.py and calibration_generator.py are: next to this file, unless
#: NOF1_CALIBRATION_DIR names another folder (e.g. a worktree that has the newer harness).
HERE = Path(os.environ.get("NOF1_CALIBRATION_DIR") or Path(__file__).resolve().parent)
sys.path.insert(0, str(HERE))

import calibration as cal  # noqa: E402
import calibration_generator as gen  # noqa: E402

OLD_MCID = 1.0  # the fill-0 templates' MCID for mean pain over every day


def all_days_truth(effect: float) -> float:
    """B − A of the expected pain over every analysed day (0 on headache-free days)."""
    p = gen.parameters("pain", effect)
    f_sd = gen.total_sd("binary")
    pain_sd = math.sqrt(gen.total_sd("pain") ** 2 + gen.PAIN_NOISE_SD**2)
    low, high = gen.PAIN_RANGE
    h_not = gen.latent_mean(gen.sigmoid, p.freq_intercept, f_sd)
    h_taken = gen.latent_mean(gen.sigmoid, p.freq_intercept + p.freq_beta, f_sd)
    base = gen.rounded_clipped_mean(p.intercept, pain_sd, low, high)
    treated = gen.rounded_clipped_mean(p.intercept + p.beta, pain_sd, low, high)
    a = h_not * base
    b = gen.ADHERENCE * h_taken * treated + (1 - gen.ADHERENCE) * h_not * base
    return float(b - a)


def run_trial(job: tuple[str, int, int]) -> list[dict[str, Any]]:
    from attrs import evolve

    from nof1.analysis import analyze_outcome
    from nof1.dataset import from_records
    from nof1.schedule import build_schedule

    scenario, index, seed = job
    logging.getLogger("pymc").setLevel(logging.WARNING)
    effect = gen.EFFECTS["pain"] if scenario == "effect" else 0.0
    ss = cal.trial_seed(seed, "pain", scenario, index)
    design_seed = int(ss.generate_state(1)[0] % 2_000_000_000) + 1
    rng = cal.np.random.default_rng(ss.spawn(1)[0])
    protocol = cal.make_protocol(design_seed)
    schedule = build_schedule(protocol)
    trial = gen.simulate("pain", effect, schedule.sequence, rng)
    observations, adherence = cal.records(trial, schedule)
    intensity = protocol.outcome("peak_pain")
    if not intensity.when_asked:
        raise SystemExit("Error: the template's peak_pain is not analyse = 'when_asked'")
    filled = evolve(intensity, analyse="every_day", skipped_value=0.0, mcid=OLD_MCID)
    settings = cal.settings_for(protocol, False, "auto")
    rows = []
    for label, spec, truth in (
        ("intensity", intensity, trial.truth),
        ("fill-0", filled, all_days_truth(effect)),
    ):
        data = from_records(spec, schedule, observations, adherence, protocol=protocol)
        start = time.perf_counter()
        result = analyze_outcome(data, settings, design=protocol.design)
        e = result.effect
        rows.append(
            {
                "analysis": label,
                "scenario": scenario,
                "truth": truth,
                "mean": e.mean,
                "sd": e.sd,
                "low": e.ci95[0],
                "high": e.ci95[1],
                "verdict": result.verdict,
                "n": data.n,
                "seconds": time.perf_counter() - start,
                "engine": result.diagnostics.engine,
            }
        )
    return rows


def summary(rows: list[dict[str, Any]]) -> str:
    s = cal.summarize(rows)
    null = [r for r in rows if r["scenario"] == "null"]
    days = cal.np.median([r["n"] for r in rows])
    return "\n".join(
        [
            f"  analysed days per trial (median)   {days:.0f}",
            f"  truth no effect / effect           {null[0]['truth']:+.3f} / "
            f"{s['truth_effect']:+.3f}",
            f"  95% interval coverage, all         {cal._pct(s['coverage'])}",
            f"    no effect / effect               {cal._pct(s['coverage_null'])} / "
            f"{cal._pct(s['coverage_effect'])}",
            f"  z-score SD (1 = right width)       {s['z']['sd']:.2f}",
            f"  standardized bias (posterior SDs)  {cal._num(s['z'])}",
            "  'meaningful benefit' for pain when only headache frequency changed  "
            f"{cal._pct(s['false_benefit'])}",
            f"  'meaningful benefit' under the intensity effect  {cal._pct(s['detection'])}",
            f"  engine {', '.join(s['engines'])}; median seconds {s['median_seconds']:.2f}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--null", type=int, default=40)
    parser.add_argument("--effect", type=int, default=40)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1000)
    args = parser.parse_args()
    jobs = [("null", i, args.seed) for i in range(args.null)]
    jobs += [("effect", i, args.seed) for i in range(args.effect)]
    start = time.perf_counter()
    if args.workers > 1:
        with mp.get_context("fork").Pool(args.workers) as pool:
            results = pool.map(run_trial, jobs, chunksize=4)
    else:
        results = [run_trial(job) for job in jobs]
    rows = [row for trial in results for row in trial]
    wall = time.perf_counter() - start
    import nof1

    print(
        f"{len(jobs)} trials ({args.null} no intensity effect, {args.effect} intensity effect "
        f"{gen.EFFECTS['pain']:+g}; headache frequency {gen.PAIN_FREQUENCY_EFFECT:+g} days/28 in "
        f"all), each analysed both ways; nof1 {nof1.__version__}; seed {args.seed}; "
        f"{wall / 60:.1f} min on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    )
    for label in ("intensity", "fill-0"):
        print(f"\n{label}:")
        print(summary([r for r in rows if r["analysis"] == label]))


if __name__ == "__main__":
    main()
