"""Time ``nof1 report`` of the demo workspace as a whole process: warm, on new data, and cold.

Builds the demo trial of ``make demo`` (migraine + magnesium, 238 days, four outcomes, blinded
then revealed) through the real command line, then times, as separate processes::

    nof1 report --trial DIR --quiet

* *warm*: the same workspace again, with nof1's compile directory already filled;
* *new data*: a workspace with another simulated diary (another seed) each run, compile
  directory warm — what a person sees when their own data change;
* *cold*: an empty compile directory each run (the first report after installing).

Each figure is the median of ``--runs`` runs (default 5) and is printed with the 1-minute load
average before and after the group: on a shared machine the load inflates every figure. The
per-fit timings (build / compile / draws) of one in-process report follow, by outcome and fit.

Usage: ``.venv/bin/python benchmarks/bench_report.py [--runs 5] [--cold-runs 3]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
NOF1 = [sys.executable, "-m", "nof1"]
DEMO_SEED = 20261201
EFFECTS = {"headache_day": -3.0, "peak_pain": -0.8, "severity": -0.3, "acute_med_days": -2.5}


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (1 min), {five:.2f} (5 min)"


def quiet_nof1(*args: str) -> None:
    subprocess.run([*NOF1, *args], check=True, capture_output=True)


def make_demo(folder: Path, seed: int) -> Path:
    """The workspace of ``examples/migraine_magnesium/run_demo.py``, diary seed ``seed``."""
    from example_support import record_events, write_simulated_diary

    start = dt.date.today() - dt.timedelta(days=238 + 3)
    trial = str(folder)
    quiet_nof1("init", trial, "--template", "migraine-magnesium", "--seed", str(DEMO_SEED),
               "--start", start.isoformat())  # fmt: skip
    quiet_nof1("start", "--trial", trial)
    diary = folder / "diary.csv"
    events = write_simulated_diary(folder, diary, seed=seed, effects=EFFECTS)
    quiet_nof1("import", str(diary), "--trial", trial)
    record_events(trial, events)
    quiet_nof1("allocation", "--reveal", "--by", "benchmark", "--reason", "end of trial",
               "--yes", "--trial", trial)  # fmt: skip
    return folder


def timed_report(folder: Path, compile_dir: Path) -> float:
    env = dict(os.environ, NOF1_COMPILE_DIR=str(compile_dir))
    env.pop("PYTENSOR_FLAGS", None)
    start = time.perf_counter()
    out = subprocess.run(
        [*NOF1, "report", "--trial", str(folder), "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"nof1 report failed:\n{out.stderr}")
    return seconds


def group(label: str, times: list[float], before: str) -> None:
    print(
        f"{label:9s} median {statistics.median(times):6.2f} s "
        f"(runs: {', '.join(f'{t:.1f}' for t in times)}); {before} → {load()}",
        flush=True,
    )


def per_fit(folder: Path, compile_dir: Path) -> None:
    """One report in this process, with each fit's seconds (needs the warm compile directory)."""
    os.environ["NOF1_COMPILE_DIR"] = str(compile_dir)
    os.environ.pop("PYTENSOR_FLAGS", None)
    t0 = time.perf_counter()
    from nof1 import analysis, model  # noqa: F401  (imports PyMC via nof1.model.sampling)

    import_seconds = time.perf_counter() - t0
    fits: list[tuple[str, str, str, dict[str, float]]] = []
    real_fit = analysis.sample_posterior

    def recording_fit(data, spec, **kwargs):  # type: ignore[no-untyped-def]
        result = real_fit(data, spec, **kwargs)
        fits.append((spec.kind, spec.prior.label, result.sampler, result.seconds))
        return result

    from nof1.report import write_report
    from nof1.report.context import TrialRecord
    from nof1.workspace import Workspace

    with Workspace.open(folder) as ws:
        t1 = time.perf_counter()
        result = analysis.analyze_workspace(ws, fit=recording_fit)
        t2 = time.perf_counter()
        write_report(ws, result, folder / "bench-out", record=TrialRecord.from_workspace(ws))
        t3 = time.perf_counter()
    print(f"\nin-process report of {folder.name} ({load()}): import {import_seconds:.2f} s, "
          f"analysis {t2 - t1:.2f} s, report files {t3 - t2:.2f} s")  # fmt: skip
    print("  kind        prior              engine      build  compile  draws   total")
    for kind, prior, engine, s in fits:
        print(
            f"  {kind:11s} {prior:18s} {engine:10s} {s['build']:5.2f}  {s['compile']:6.2f}  "
            f"{s['sample']:6.2f}  {s['total']:6.2f}"
        )
    for key in ("build", "compile", "sample", "total"):
        print(f"  sum {key:8s} {sum(s[key] for _k, _p, _e, s in fits):6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold-runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nof1-bench-report-"))
    print(f"building demo workspaces in {work} …", flush=True)
    demo = make_demo(work / "demo", DEMO_SEED)
    fresh = [make_demo(work / f"new-{i}", DEMO_SEED + 1 + i) for i in range(args.runs)]
    cold_copies = [work / f"cold-{i}" for i in range(args.cold_runs)]
    for copy in cold_copies:
        shutil.copytree(demo, copy)

    warm_dir = work / "compile-warm"
    before = load()
    timed_report(demo, warm_dir)  # fill the compile directory
    warm = [timed_report(demo, warm_dir) for _ in range(args.runs)]
    group("warm", warm, before)
    before = load()
    new = [timed_report(folder, warm_dir) for folder in fresh]
    group("new data", new, before)
    before = load()
    cold = [timed_report(copy, work / f"compile-cold-{i}") for i, copy in enumerate(cold_copies)]
    group("cold", cold, before)
    per_fit(demo, warm_dir)
    if fresh:
        per_fit(fresh[0], warm_dir)  # another diary: what "new data" costs, fit by fit
    shutil.rmtree(work, ignore_errors=True)
    sys.stdout.flush()
    os._exit(0)  # skip the interpreter's teardown of the PyMC stack (see nof1.cli.exit_now)


if __name__ == "__main__":
    main()
