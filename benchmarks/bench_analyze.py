"""Time ``nof1 analyze`` on a 16-week daily AR(1) trial: whole process, warm and cold.

Builds a finished trial workspace (4 pairwise blocks of 14-day periods = 16 weeks, simulated
with AR(1) rho = 0.5 and 5% missing days) and times, as separate processes::

    nof1 analyze --trial DIR --outcome peak_pain --json

which fits the continuous outcome with all three priors (default, sceptical, vague) and on the
adherent days only. *warm*: nof1's compile directory (``NOF1_COMPILE_DIR``) filled by an earlier
run; *cold*: an empty one for each run. Medians of ``--runs`` runs (default 5), each group with
the 1-minute load average before and after it (a shared machine inflates every figure). Then one
run broken down into import / build / compile / draws / the rest of the analysis, the time the
process takes to exit, and the grid's diagnostics (or, with ``--engine nuts``, R-hat and ESS).

Usage: ``.venv/bin/python benchmarks/bench_analyze.py [--runs 5] [--primary-only]
[--engine nuts]``
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOF1 = [sys.executable, "-m", "nof1"]


def make_trial(folder: Path) -> Path:
    from nof1.protocol import set_design_values
    from nof1.simulate import simulate_trial
    from nof1.workspace import Workspace

    text = (ROOT / "protocols" / "migraine-magnesium.toml").read_text(encoding="utf-8")
    # an ungated pain outcome (linked=False below): asked every day, no skip logic
    text = re.sub(r"^(ask_if|skipped_value|analyse) = .*\n", "", text, flags=re.M)
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


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (1 min), {five:.2f} (5 min)"


def compile_env(directory: Path) -> dict[str, str]:
    env = dict(os.environ, NOF1_COMPILE_DIR=str(directory))
    env.pop("PYTENSOR_FLAGS", None)
    return env


def timed_process(args: list[str], env: dict[str, str]) -> tuple[float, dict]:
    start = time.perf_counter()
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"nof1 analyze failed:\n{out.stderr}")
    return seconds, json.loads(out.stdout)


def breakdown(folder: Path, full: bool, engine: str) -> None:
    t0 = time.perf_counter()
    import pymc  # noqa: F401

    from nof1 import analysis
    from nof1.model import grid, sampling  # noqa: F401  (PyMC, PyTensor)
    from nof1.workspace import Workspace

    imported = time.perf_counter() - t0
    fits: list[dict[str, float]] = []
    real_fit = analysis.sample_posterior

    def recording_fit(*args, **kwargs):  # type: ignore[no-untyped-def]
        fit = real_fit(*args, **kwargs)
        fits.append(fit.seconds)
        return fit

    t1 = time.perf_counter()
    with Workspace.open(folder) as ws:
        result = analysis.analyze_workspace(
            ws, "peak_pain", sensitivity=full, fit=recording_fit, engine=engine
        )
    total = time.perf_counter() - t1
    build = sum(f.get("build", 0.0) for f in fits)
    compile_ = sum(f.get("compile", 0.0) for f in fits)
    sample = sum(f.get("sample", 0.0) for f in fits)
    fit_total = sum(f.get("total", 0.0) for f in fits)
    o = result.outcome("peak_pain")
    print(f"\nin-process breakdown ({len(fits)} fit(s), engine {engine}; {load()})")
    print(f"  import (nof1, pymc, pytensor): {imported:6.2f} s")
    print(f"  model build (set data):        {build:6.2f} s")
    print(f"  compile:                       {compile_:6.2f} s")
    print(f"  grid / draw loop:              {sample:6.2f} s")
    print(f"  rest of fit:                   {fit_total - build - compile_ - sample:6.2f} s")
    print(f"  summary/checks/randomization:  {total - fit_total:6.2f} s")
    d = o.diagnostics
    effect = f"effect {o.effect.median:.3f} ({o.effect.ci95[0]:.3f} to {o.effect.ci95[1]:.3f})"
    if d.engine == "grid":
        print(
            f"  {effect}; grid {d.grid_points} points, change {d.grid_change:.1e} SD, "
            f"edge mass {d.grid_edge_mass:.1e}, attempts {d.attempts}"
        )
    else:
        print(
            f"  {effect}; effect R-hat {d.effect_rhat:.4f}, bulk ESS {d.effect_ess_bulk:.0f}; "
            f"worst R-hat {d.rhat:.4f}, bulk ESS {d.ess_bulk:.0f}, tail ESS {d.ess_tail:.0f}; "
            f"divergences {d.divergences}, attempts {d.attempts}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--primary-only", action="store_true", help="no sensitivity fits")
    parser.add_argument("--engine", default="auto", choices=("auto", "nuts"))
    args = parser.parse_args()
    full = not args.primary_only
    work = Path(tempfile.mkdtemp(prefix="nof1-bench-"))
    folder = make_trial(work / "trial")
    command = [*NOF1, "analyze", "--trial", str(folder), "--outcome", "peak_pain", "--json"]
    command += ["--engine", args.engine]
    if not full:
        command.append("--no-sensitivity")
    print(f"workspace: {folder}; command: nof1 {' '.join(command[3:])}")

    warm_dir = work / "compile-warm"
    before = load()
    timed_process(command, compile_env(warm_dir))  # fill the compile directory
    warm = []
    for i in range(args.runs):
        seconds, data = timed_process(command, compile_env(warm_dir))
        warm.append(seconds)
        print(f"  warm run {i + 1}: {seconds:6.2f} s", flush=True)
    print(f"warm median {statistics.median(warm):.2f} s; {before} → {load()}", flush=True)
    before = load()
    cold = []
    for i in range(args.cold_runs):
        seconds, _ = timed_process(command, compile_env(work / f"compile-cold-{i}"))
        cold.append(seconds)
        print(f"  cold run {i + 1}: {seconds:6.2f} s", flush=True)
    print(f"cold median {statistics.median(cold):.2f} s; {before} → {load()}", flush=True)
    diag = data["outcomes"]["peak_pain"]["diagnostics"]
    fits = 1 + (len(data["outcomes"]["peak_pain"]["sensitivity"]) if full else 0)
    print(
        f"\nnof1 analyze, whole process, up to {fits} fits: warm median "
        f"{statistics.median(warm):.2f} s ({args.runs} runs), cold median "
        f"{statistics.median(cold):.2f} s ({args.cold_runs} runs); engine {diag['engine']}"
    )
    # The floor under any PyMC analysis: starting Python and importing PyMC.
    floor = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import pymc"], check=True)
        floor.append(time.perf_counter() - start)
    print(f"  floor: python -c 'import pymc': median {statistics.median(floor):.2f} s")
    os.environ["NOF1_COMPILE_DIR"] = str(warm_dir)
    os.environ.pop("PYTENSOR_FLAGS", None)
    breakdown(folder, full, args.engine)
    shutil.rmtree(work, ignore_errors=True)
    sys.stdout.flush()
    os._exit(0)  # skip the interpreter's teardown of the PyMC stack (see nof1.cli.exit_now)


if __name__ == "__main__":
    main()
