"""Calibration of every outcome kind through the product path: coverage, false verdicts, bias.

Each simulated trial is drawn by an INDEPENDENT generator (``calibration_generator.py`` next to
this file: numpy only, written from issue 15's description, not ``nof1.simulate``) on the
design of the ``migraine-magnesium`` template (14-day run-in, 4 pairwise blocks of 28-day
periods, 7-day analytic washout), then analysed exactly as ``nof1 analyze`` analyses a trial
workspace:

* a real :class:`nof1.protocol.TrialProtocol` parsed from ``protocols/migraine-magnesium.toml``
  of the *running* nof1 (the template lookup of :mod:`nof1.templates`; this repository's copy
  if that finds none), with a per-trial ``design.seed`` so the schedule is randomized as in a
  real trial (the generator receives the product's sequence, and the day-by-day arms are
  checked to agree);
* the generator's days become :class:`nof1.record.Observation` / ``Adherence`` records and
  :func:`nof1.dataset.from_records` builds the ``OutcomeData`` (skip logic included);
* :func:`nof1.analysis.analyze_outcome` with the protocol's analysis settings
  (``autocorrelation``, ``trend``, ``decision_threshold``, ``min_days_per_period``), the
  product's default draws, retry and diagnostics policy, and the sensitivity analyses unless
  ``--no-sensitivity`` (primary fit only: the verdict, interval and withheld rate are the same,
  the sensitivity fits are skipped).

Kinds and what is analysed (the generator's docstring has the data-generating process):

``continuous`` a 0–100 score (MCID 10; effect −10 points), period shocks 15 % of the variance;
``binary``     ``headache_day`` (MCID 2 days/28; effect −3 days/28);
``count``      ``acute_med_days`` (MCID 2 doses/28; effect −3 doses/28);
``ordinal``    ``severity`` asked every day (MCID 0.5 categories; effect −0.3 categories);
``pain``       ``peak_pain`` as the template defines it, logged on headache days only; every
               pain trial has a headache-frequency effect of −3 days/28, and the intensity effect
               is −1.0 point or 0; the truth is the difference of peak pain on headache days.

Per kind it prints: trials, 95 % interval coverage with its Monte Carlo error (±1.96 SE), the
rate of false "meaningful benefit likely" and false "meaningful harm likely" verdicts under no
effect, the detection rate ("meaningful benefit likely") under the effect, mean bias of the
posterior mean and standardized bias (mean of (mean − truth) / posterior SD), the SD of those
z-scores (1 when intervals are the right width), the withheld rate (verdict withheld because
diagnostics failed after the retry), the median seconds per trial and the engine.
Coverage and bias are over every trial (a withheld verdict still has an interval); the false
verdict and detection rates count verdicts, so a withheld trial counts as neither.

Usage (any venv: it imports whichever ``nof1`` is installed in the Python that runs it)::

    .venv/bin/python benchmarks/calibration.py --kind binary --null 40 --effect 40
    .venv/bin/python benchmarks/calibration.py --kind all --null 200 --effect 200 \\
        --no-sensitivity --workers 2 --json calibration.json

Deterministic: the same ``--seed`` (and nof1 commit) gives the same trials and the same numbers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import multiprocessing as mp
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

# Pool workers are daemonic and may not start processes of their own: chains run one after the
# other in each worker (nof1.model CORES), and the pool gives the parallelism.
os.environ.setdefault("NOF1_CORES", "1")

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the sibling generator module, found next to this file
    sys.path.insert(0, str(HERE))

import calibration_generator as gen  # noqa: E402

TEMPLATE = "migraine-magnesium"
START = dt.date(2026, 1, 5)
KIND_INDEX = {kind: i for i, kind in enumerate(gen.KINDS)}
#: The outcome each kind analyses (the generator's name for it).
ANALYSED = {
    "continuous": "score",
    "binary": "headache_day",
    "count": "acute_med_days",
    "ordinal": "severity",
    "pain": "peak_pain",
}
CONTINUOUS_MCID = 10.0

# verdict strings, as nof1.verdict defines them (checked against it at start-up)
BENEFIT = "meaningful benefit likely"
HARM = "meaningful harm likely"
WITHHELD = "withheld"


# --------------------------------------------------------------------------------------------
# The product path
# --------------------------------------------------------------------------------------------


def protocol_path() -> Path:
    """The template of the running nof1 (its package data or source tree), else this repo's."""
    try:
        from nof1.templates import find_template

        return Path(find_template(TEMPLATE))
    except Exception:  # an older nof1 without the lookup, or no templates installed
        return HERE.parent / "protocols" / f"{TEMPLATE}.toml"


def make_protocol(design_seed: int) -> Any:
    """The template as a TrialProtocol, with a start date and this trial's seed."""
    from nof1.protocol import TrialProtocol, set_design_values

    text = protocol_path().read_text(encoding="utf-8")
    text = set_design_values(text, {"start_date": START, "seed": design_seed})
    return TrialProtocol.from_text(text)


def check_design(protocol: Any) -> None:
    """The template's design must be the one the generator simulates."""
    d = protocol.design
    found = (d.scheme, d.blocks, d.period_days, d.run_in_days, d.washout_days)
    want = ("pairwise", gen.BLOCKS, gen.PERIOD_DAYS, gen.RUN_IN_DAYS, 0)
    if found != want or d.analytic_washout_days != gen.ANALYTIC_WASHOUT_DAYS:
        raise SystemExit(
            f"Error: {protocol_path()} design {found} / analytic washout "
            f"{d.analytic_washout_days} differs from the generator's {want} / "
            f"{gen.ANALYTIC_WASHOUT_DAYS}: update calibration_generator.py"
        )


def outcome_spec(kind: str, protocol: Any) -> Any:
    """The OutcomeSpec analysed for ``kind`` (from the protocol where it has one)."""
    from attrs import evolve

    from nof1.protocol import OutcomeSpec

    if kind == "continuous":
        return OutcomeSpec(
            name="score",
            kind="continuous",
            question="Today's score (0-100)?",
            better="lower",
            mcid=CONTINUOUS_MCID,
            label="Score",
            units="points (0-100)",
            primary=True,
            minimum=gen.CONTINUOUS_RANGE[0],
            maximum=gen.CONTINUOUS_RANGE[1],
        )
    spec = protocol.outcome(ANALYSED[kind])
    if kind == "ordinal":  # asked every day here: an ungated 4-category outcome
        spec = evolve(spec, ask_if=None, skipped_value=None, analyse="every_day")
    if kind != "pain" and spec.kind != kind:
        raise SystemExit(f"Error: {ANALYSED[kind]} is {spec.kind!r} in the template, not {kind}")
    return spec


def records(trial: gen.Trial, schedule: Any) -> tuple[list[Any], list[Any]]:
    """The generator's days as Observation and Adherence records on the schedule's calendar."""
    from nof1.record import Adherence, Observation

    observations: list[Any] = []
    adherence: list[Any] = []
    for i, number in enumerate(trial.cal.day):
        date = schedule.start + dt.timedelta(days=int(number) - 1)
        day = schedule.day(date)
        want = trial.cal.arm[i] or None
        if day is None or day.arm != want or bool(day.analysed) != bool(trial.cal.analysed[i]):
            raise SystemExit(
                f"Error: generator day {number} ({want}) does not match the product's schedule "
                f"({None if day is None else (day.phase, day.arm, day.analysed)})"
            )
        logged = False
        for name, values in trial.values.items():
            if not math.isnan(values[i]):
                observations.append(Observation(date, name, float(values[i])))
                logged = True
        if logged and want is not None:
            adherence.append(Adherence(date, "yes" if trial.taken[i] else "no"))
    return observations, adherence


def settings_for(protocol: Any, sensitivity: bool, engine: str) -> Any:
    """Settings as analyze_workspace builds them from the protocol (default draws)."""
    import attrs

    from nof1.analysis import Settings

    a = protocol.analysis
    wanted = {
        "autocorrelation": a.autocorrelation,
        "trend": a.trend,
        "threshold": a.decision_threshold,
        "min_days_per_period": a.min_days_per_period,
        "seed": protocol.design.seed,
        "sensitivity": sensitivity,
        "engine": engine,
    }
    known = {f.name for f in attrs.fields(Settings)}
    return Settings(**{k: v for k, v in wanted.items() if k in known})


def trial_seed(seed: int, kind: str, scenario: str, index: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([seed, KIND_INDEX[kind], scenario == "effect", index])


def run_trial(job: tuple[str, str, int, int, bool, str]) -> dict[str, Any]:
    """Simulate and analyse one trial; returns one result row (see ``summarize``)."""
    from nof1.analysis import analyze_outcome
    from nof1.dataset import from_records
    from nof1.schedule import build_schedule

    kind, scenario, index, seed, sensitivity, engine = job
    logging.getLogger("pymc").setLevel(logging.WARNING)  # no per-fit sampling banner
    effect = gen.EFFECTS[kind] if scenario == "effect" else 0.0
    ss = trial_seed(seed, kind, scenario, index)
    design_seed = int(ss.generate_state(1)[0] % 2_000_000_000) + 1
    rng = np.random.default_rng(ss.spawn(1)[0])
    protocol = make_protocol(design_seed)
    schedule = build_schedule(protocol)
    trial = gen.simulate(kind, effect, schedule.sequence, rng)
    observations, adherence = records(trial, schedule)
    spec = outcome_spec(kind, protocol)
    data = from_records(
        spec, schedule, observations, adherence, protocol=protocol if kind == "pain" else None
    )
    start = time.perf_counter()
    result = analyze_outcome(
        data, settings_for(protocol, sensitivity, engine), design=protocol.design
    )
    seconds = time.perf_counter() - start
    e = result.effect
    return {
        "kind": kind,
        "scenario": scenario,
        "index": index,
        "design_seed": design_seed,
        "sequence": schedule.sequence,
        "rho": trial.rho,
        "truth": trial.truth,
        "mean": e.mean,
        "median": e.median,
        "sd": e.sd,
        "low": e.ci95[0],
        "high": e.ci95[1],
        "verdict": result.verdict,
        "engine": result.diagnostics.engine,
        "attempts": result.diagnostics.attempts,
        "n_analysed": result.n_analysed,
        "sensitivity": {s.label: s.verdict for s in result.sensitivity},
        "seconds": seconds,
    }


# --------------------------------------------------------------------------------------------
# Summary arithmetic (tested in tests/test_calibration_generator.py)
# --------------------------------------------------------------------------------------------


def rate(k: int, n: int) -> dict[str, float]:
    """A proportion with its Monte Carlo error: ``half`` = 1.96 × binomial SE."""
    if n == 0:
        return {"k": k, "n": 0, "p": float("nan"), "half": float("nan")}
    p = k / n
    return {"k": k, "n": n, "p": p, "half": 1.96 * math.sqrt(p * (1 - p) / n)}


def mean_with_error(values: Sequence[float]) -> dict[str, float]:
    """Mean, ``half`` = 1.96 × SE, and SD (ddof 1) of a sample."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return {"mean": float("nan"), "half": float("nan"), "sd": float("nan"), "n": 0}
    sd = float(np.std(x, ddof=1)) if x.size > 1 else float("nan")
    half = 1.96 * sd / math.sqrt(x.size) if x.size > 1 else float("nan")
    return {"mean": float(np.mean(x)), "half": half, "sd": sd, "n": int(x.size)}


def summarize(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Calibration figures of one kind's result rows (both scenarios)."""
    rows = list(rows)
    null = [r for r in rows if r["scenario"] == "null"]
    eff = [r for r in rows if r["scenario"] == "effect"]

    def covered(rs: list[dict[str, Any]]) -> int:
        return sum(r["low"] <= r["truth"] <= r["high"] for r in rs)

    def z(rs: list[dict[str, Any]]) -> list[float]:
        return [(r["mean"] - r["truth"]) / r["sd"] for r in rs if r["sd"] > 0]

    def bias(rs: list[dict[str, Any]]) -> list[float]:
        return [r["mean"] - r["truth"] for r in rs]

    return {
        "trials": len(rows),
        "null_trials": len(null),
        "effect_trials": len(eff),
        "coverage": rate(covered(rows), len(rows)),
        "coverage_null": rate(covered(null), len(null)),
        "coverage_effect": rate(covered(eff), len(eff)),
        "false_benefit": rate(sum(r["verdict"] == BENEFIT for r in null), len(null)),
        "false_harm": rate(sum(r["verdict"] == HARM for r in null), len(null)),
        "detection": rate(sum(r["verdict"] == BENEFIT for r in eff), len(eff)),
        "bias_null": mean_with_error(bias(null)),
        "bias_effect": mean_with_error(bias(eff)),
        "mean_estimate_effect": mean_with_error([r["mean"] for r in eff]),
        "truth_effect": float(eff[0]["truth"]) if eff else float("nan"),
        "z": mean_with_error(z(rows)),
        "z_null": mean_with_error(z(null)),
        "z_effect": mean_with_error(z(eff)),
        "withheld": rate(sum(r["verdict"] == WITHHELD for r in rows), len(rows)),
        "median_seconds": float(np.median([r["seconds"] for r in rows])) if rows else math.nan,
        "engines": sorted({r["engine"] for r in rows}),
    }


def _pct(r: dict[str, float]) -> str:
    if not r["n"]:
        return "—"
    return f"{r['p']:.3f} ± {r['half']:.3f} ({r['k']}/{r['n']})"


def _num(m: dict[str, float], digits: int = 2) -> str:
    if not m["n"]:
        return "—"
    return f"{m['mean']:+.{digits}f} ± {m['half']:.{digits}f}"


def report(kind: str, s: dict[str, Any]) -> str:
    """The printed block of one kind."""
    lines = [
        f"{kind}: {s['trials']} trials ({s['null_trials']} no effect, {s['effect_trials']} "
        f"effect {gen.EFFECTS[kind]:+g}); engine {', '.join(s['engines'])}",
        f"  95% interval coverage, all         {_pct(s['coverage'])}",
        f"    no effect / effect               {_pct(s['coverage_null'])} / "
        f"{_pct(s['coverage_effect'])}",
        f"  false 'meaningful benefit' (null)  {_pct(s['false_benefit'])}",
        f"  false 'meaningful harm' (null)     {_pct(s['false_harm'])}",
        f"  'meaningful benefit' under effect  {_pct(s['detection'])}",
        f"  mean estimate under effect         {_num(s['mean_estimate_effect'])} "
        f"(truth {s['truth_effect']:+.2f})",
        f"  bias (posterior mean − truth)      null {_num(s['bias_null'])}, "
        f"effect {_num(s['bias_effect'])}",
        f"  standardized bias (posterior SDs)  all {_num(s['z'])}, null {_num(s['z_null'])}, "
        f"effect {_num(s['z_effect'])}",
        f"  z-score SD (1 = right width)       {s['z']['sd']:.2f}",
        f"  withheld (diagnostics)             {_pct(s['withheld'])}",
        f"  median seconds per trial           {s['median_seconds']:.2f}",
    ]
    return "\n".join(lines)


def markdown(payload: dict[str, Any]) -> str:
    """Markdown of a ``--json`` result: its provenance, then one table row per kind.

    The rows are meant to be collected per kind in ``docs/methods-models.md`` (one row per run).
    """
    prov = payload["nof1"]
    commit = (prov.get("commit") or "unknown")[:7]
    src = (prov.get("src_commit") or "unknown")[:7]
    dirty = " + uncommitted changes" if prov.get("dirty") else ""
    args = payload["args"]
    fits = "primary fit only" if args.get("no_sensitivity") else "with sensitivity fits"
    date = payload["created_at"][:16].replace("T", " ")
    head = (
        f"{date} UTC, nof1 {prov['version']} (branch {prov.get('branch')}, commit {commit}, "
        f"src last changed in {src}{dirty}), seed {args['seed']}, {fits}, "
        f"workers {args['workers']}, wall {payload['wall_seconds'] / 60:.0f} min"
    )
    run = f"{date[:10]} {prov.get('branch')} @{src}{'+' if dirty else ''}"

    def pct(r: dict[str, Any]) -> str:
        return "—" if not r["n"] else f"{r['p']:.3f} ± {r['half']:.3f} ({r['k']}/{r['n']})"

    def num(m: dict[str, Any], digits: int = 2) -> str:
        return "—" if not m["n"] else f"{m['mean']:+.{digits}f} ± {m['half']:.{digits}f}"

    lines = [head]
    for kind in payload["kinds"]:
        s = payload["summaries"][kind]
        lines += [
            "",
            f"{kind}:",
            "",
            "| run | engine | trials (null + effect) | 95% coverage | false benefit (null) "
            "| false harm (null) | detection (effect) | mean estimate (truth) "
            "| bias null / effect | standardized bias | z-score SD | withheld | median s |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            f"| {run} | {', '.join(s['engines'])} | {s['null_trials']} + {s['effect_trials']} "
            f"| {pct(s['coverage'])} | {pct(s['false_benefit'])} | {pct(s['false_harm'])} "
            f"| {pct(s['detection'])} | {num(s['mean_estimate_effect'])} "
            f"({s['truth_effect']:+.2f}) | {num(s['bias_null'])} / {num(s['bias_effect'])} "
            f"| {num(s['z'])} | {s['z']['sd']:.2f} | {pct(s['withheld'])} "
            f"| {s['median_seconds']:.1f} |",
        ]
    return "\n".join(lines)


def nof1_provenance() -> dict[str, Any]:
    """Version, location and git commit of the nof1 that runs the analysis."""
    import nof1

    where = Path(nof1.__file__).resolve()
    info: dict[str, Any] = {"version": nof1.__version__, "path": str(where.parent)}
    root = where.parents[2]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "src", "protocols"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        branch = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--abbrev-ref", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        src = subprocess.run(  # the last commit that changed the analysis code or templates
            ["git", "-C", str(root), "log", "-1", "--format=%H", "--", "src", "protocols"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        info.update(commit=head, branch=branch, dirty=bool(dirty), src_commit=src)
    except (OSError, subprocess.SubprocessError):
        info.update(commit=None, branch=None, dirty=None, src_commit=None)
    return info


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--kind",
        action="append",
        choices=(*gen.KINDS, "all"),
        help="outcome kind (repeatable; default all)",
    )
    parser.add_argument("--null", type=int, default=40, help="trials with no effect, per kind")
    parser.add_argument("--effect", type=int, default=40, help="trials with the effect, per kind")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument(
        "--no-sensitivity",
        action="store_true",
        help="primary fit only (the sensitivity fits are skipped; verdicts are unchanged)",
    )
    parser.add_argument("--engine", choices=("auto", "nuts"), default="auto")
    parser.add_argument(
        "--stop-after",
        type=float,
        metavar="MINUTES",
        help="start no new trial after this many minutes; summarize the trials finished",
    )
    parser.add_argument("--json", type=Path, help="write every trial and the summaries here")
    parser.add_argument(
        "--markdown",
        type=Path,
        metavar="JSON",
        help="print the markdown table of an earlier --json result and exit (no trials run)",
    )
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads(args.markdown.read_text(encoding="utf-8"))))
        return
    if args.null < 0 or args.effect < 0 or args.workers < 1:
        parser.error("--null and --effect must be ≥ 0 and --workers ≥ 1")
    kinds = (
        list(gen.KINDS) if not args.kind or "all" in args.kind else list(dict.fromkeys(args.kind))
    )

    from nof1 import summary, verdict

    if (verdict.BENEFIT, verdict.HARM, summary.WITHHELD) != (BENEFIT, HARM, WITHHELD):
        raise SystemExit("Error: nof1's verdict strings changed: update calibration.py")
    check_design(make_protocol(1))
    prov = nof1_provenance()
    print(
        f"nof1 {prov['version']} at {prov['path']} (branch {prov.get('branch')}, commit "
        f"{prov.get('commit')}, src last changed in {prov.get('src_commit')}, "
        f"{'uncommitted changes' if prov.get('dirty') else 'clean'}); template {protocol_path()}; "
        f"{'primary fit only (--no-sensitivity)' if args.no_sensitivity else 'with sensitivity'}",
        flush=True,
    )
    sensitivity = not args.no_sensitivity
    # Interleaved (trial index, then kind, then scenario) so that a run stopped by
    # --stop-after has a balanced share of every kind and scenario.
    jobs = [
        (kind, scenario, i, args.seed, sensitivity, args.engine)
        for i in range(max(args.null, args.effect))
        for kind in kinds
        for scenario, n in (("null", args.null), ("effect", args.effect))
        if i < n
    ]
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    rows_file = None
    if args.json:  # every finished trial at once, so an interrupted run keeps its trials
        rows_file = args.json.with_name(args.json.name + ".rows.jsonl").open("w", encoding="utf-8")

    def done(row: dict[str, Any]) -> None:
        rows.append(row)
        if rows_file is not None:
            rows_file.write(json.dumps(row, default=float) + "\n")
            rows_file.flush()
        i = len(rows)
        if i % 10 == 0 or i == len(jobs):
            print(f"  {i}/{len(jobs)} trials ({time.perf_counter() - start:.0f} s)", flush=True)

    def out_of_time() -> bool:
        return args.stop_after is not None and time.perf_counter() - start > 60 * args.stop_after

    if args.workers == 1:
        for job in jobs:
            if out_of_time():
                break
            done(run_trial(job))
    else:
        with mp.get_context("spawn").Pool(args.workers) as pool:
            pending = iter(jobs)
            running = []
            for job in pending:  # keep at most `workers` trials in flight
                running.append(pool.apply_async(run_trial, (job,)))
                if len(running) >= args.workers:
                    done(running.pop(0).get())
                    if out_of_time():
                        break
            for result in running:
                done(result.get())
    if rows_file is not None:
        rows_file.close()
    stopped = len(rows) < len(jobs)
    if stopped:
        print(f"stopped after {args.stop_after} min (--stop-after): {len(rows)}/{len(jobs)} trials")
    order = {"null": 0, "effect": 1}
    rows.sort(key=lambda r: (KIND_INDEX[r["kind"]], order[r["scenario"]], r["index"]))
    summaries = {kind: summarize(r for r in rows if r["kind"] == kind) for kind in kinds}
    wall = time.perf_counter() - start
    print(
        f"\n{len(rows)} trials in {wall:.0f} s on "
        f"{dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; seed {args.seed}; "
        f"workers {args.workers}; load {os.getloadavg()[0]:.1f}\n"
    )
    for kind in kinds:
        print(report(kind, summaries[kind]) + "\n")
    if args.json:
        payload = {
            "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "nof1": prov,
            "template": str(protocol_path()),
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "kinds": kinds,
            "wall_seconds": wall,
            "stopped_early": stopped,
            "summaries": summaries,
            "trials": rows,
        }
        args.json.write_text(json.dumps(payload, indent=1, default=float) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
