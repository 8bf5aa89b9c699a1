"""Time ``nof1 analyze`` on a 16-week daily AR(1) trial: whole process, cold and warm.

Builds a finished trial workspace (4 pairwise blocks of 14-day periods = 16 weeks, simulated
with AR(1) rho = 0.5 and 5% missing days) and times, as separate processes::

    nof1 analyze --trial DIR --outcome peak_pain --no-sensitivity --json

*cold*: a fresh PyTensor compile directory for each run; *warm*: the same directory reused.
Prints the medians, then one in-process run broken down into import / model build / compile /
sampling / summary (the rest of the analysis: diagnostics, predictive check, randomization test),
and the effect's R-hat and bulk ESS.

Usage: ``.venv/bin/python benchmarks/bench_analyze.py [--runs 3] [--full]`` (``--full`` also
times the analysis with its three sensitivity fits).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOF1 = [sys.executable, "-m", "nof1"]


def make_trial(folder: Path) -> Path:
    from nof1.protocol import set_design_values
    from nof1.simulate import simulate_trial
    from nof1.workspace import Workspace

    text = (ROOT / "protocols" / "migraine-magnesium.toml").read_text(encoding="utf-8")
    # an ungated pain outcome (linked=False below): asked every day, no skip logic
    text = re.sub(r"^(ask_if|skipped_value) = .*\n", "", text, flags=re.M)
    text = (
        text.replace("blocks = 4 ", "blocks = 4 ")
        .replace("period_days = 28 ", "period_days = 14 ")
        .replace("run_in_days = 14 ", "run_in_days = 0 ")
        .replace("analytic_washout_days = 7 ", "analytic_washout_days = 0 ")
    )
    start = dt.date.today() - dt.timedelta(days=16 * 7 + 3)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "protocol.toml").write_text(
        set_design_values(text, {"start_date": start, "seed": 4242}), encoding="utf-8"
    )
    with Workspace.open(folder) as ws:
        ws.start()
        trial = simulate_trial(
            ws.protocol,
            ws.schedule,
            seed=7,
            effects={"peak_pain": -1.0},
            rho=0.5,
            missing_rate=0.05,
            linked=False,
        )
        with ws.store.transaction("benchmark") as store:
            for obs in trial.observations:
                store.add_entry(obs.date, obs.outcome, obs.value)
            for took in trial.adherence:
                store.add_adherence(took.date, took.took)
        # the template is blinded: analysis needs the reveal
        ws.record_reveal("benchmark", "benchmark run", early=True)
    return folder


def timed_process(args: list[str], env: dict[str, str]) -> tuple[float, dict]:
    start = time.perf_counter()
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"nof1 analyze failed:\n{out.stderr}")
    return seconds, json.loads(out.stdout)


def breakdown(folder: Path, full: bool) -> None:
    t0 = time.perf_counter()
    import arviz_stats  # noqa: F401
    import pymc  # noqa: F401

    from nof1 import analysis, model
    from nof1.workspace import Workspace

    imported = time.perf_counter() - t0
    fits: list[dict[str, float]] = []
    real_fit = model.fit

    def recording_fit(*args, **kwargs):  # type: ignore[no-untyped-def]
        fit = real_fit(*args, **kwargs)
        fits.append(fit.seconds)
        return fit

    t1 = time.perf_counter()
    with Workspace.open(folder) as ws:
        result = analysis.analyze_workspace(ws, "peak_pain", sensitivity=full, fit=recording_fit)
    total = time.perf_counter() - t1
    build = sum(f.get("build", 0.0) for f in fits)
    compile_ = sum(f.get("compile", 0.0) for f in fits)
    sample = sum(f.get("sample", 0.0) for f in fits)
    fit_total = sum(f.get("total", 0.0) for f in fits)
    o = result.outcome("peak_pain")
    print(
        f"\nin-process breakdown ({len(fits)} fit(s), sampler {getattr(real_fit, '__name__', '')})"
    )
    print(f"  import (nof1, pymc, arviz):   {imported:6.2f} s")
    print(f"  model build:                  {build:6.2f} s")
    print(f"  compile, chain start-up:      {compile_:6.2f} s")
    print(f"  sampling (the draw loop):     {sample:6.2f} s")
    print(f"  rest of fit (draw β, idata):  {fit_total - build - compile_ - sample:6.2f} s")
    print(f"  summary/checks/randomization: {total - fit_total:6.2f} s")
    d = o.diagnostics
    print(
        f"  effect {o.effect.median:.2f} ({o.effect.ci95[0]:.2f} to {o.effect.ci95[1]:.2f}); "
        f"effect R-hat {d.effect_rhat:.4f}, bulk ESS {d.effect_ess_bulk:.0f}; worst parameter "
        f"R-hat {d.rhat:.4f}, bulk ESS {d.ess_bulk:.0f}, tail ESS {d.ess_tail:.0f}; "
        f"divergences {d.divergences}, attempts {d.attempts}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--full", action="store_true", help="include the sensitivity fits")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nof1-bench-"))
    folder = make_trial(work / "trial")
    command = [*NOF1, "analyze", "--trial", str(folder), "--outcome", "peak_pain", "--json"]
    if not args.full:
        command.append("--no-sensitivity")
    print(f"workspace: {folder}; command: nof1 {' '.join(command[3:])}")

    cold, warm = [], []
    warm_dir = work / "compiledir-warm"
    for i in range(args.runs):
        env = dict(os.environ, PYTENSOR_FLAGS=f"compiledir={work / f'compiledir-cold-{i}'}")
        seconds, data = timed_process(command, env)
        cold.append(seconds)
        print(f"  cold run {i + 1}: {seconds:6.2f} s")
    env = dict(os.environ, PYTENSOR_FLAGS=f"compiledir={warm_dir}")
    timed_process(command, env)  # fill the cache
    for i in range(args.runs):
        seconds, data = timed_process(command, env)
        warm.append(seconds)
        print(f"  warm run {i + 1}: {seconds:6.2f} s")
    diag = data["outcomes"]["peak_pain"]["diagnostics"]
    print(
        f"\nnof1 analyze, whole process: cold median {statistics.median(cold):.2f} s, "
        f"warm median {statistics.median(warm):.2f} s ({args.runs} runs each)"
    )
    eff = diag["effect"]
    print(
        f"  effect: R-hat {eff['rhat']:.4f}, bulk ESS {eff['ess_bulk']:.0f}, tail ESS "
        f"{eff['ess_tail']:.0f}; worst parameter: R-hat {diag['rhat']:.4f}, bulk ESS "
        f"{diag['ess_bulk']:.0f}"
    )
    # The floor under any PyMC analysis: starting Python and importing PyMC and ArviZ (which
    # JIT-compiles its numba helpers at import when numba, a PyTensor dependency, is present).
    floor = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import pymc, arviz_stats"], env=env, check=True)
        floor.append(time.perf_counter() - start)
    print(f"  floor: python -c 'import pymc, arviz_stats': median {statistics.median(floor):.2f} s")
    os.environ["PYTENSOR_FLAGS"] = f"compiledir={warm_dir}"
    breakdown(folder, args.full)
    # PyTensor checks at exit that the modules it loaded are still on disk: not after this.
    warnings.filterwarnings("ignore", message="A module that was loaded by this ModuleCache")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
