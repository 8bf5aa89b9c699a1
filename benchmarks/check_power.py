"""How often the posterior predictive checks flag a misfit, and how often they flag a good fit.

Each scenario simulates trials of 4 pairwise blocks of 28-day periods with a 7-day analytic
washout (8 periods, 21 analysed days each, 5 % of days missing at random) and analyses them
through the product path, :func:`nof1.analysis.analyze_outcome` (default prior, no sensitivity
analyses), then reads the :class:`nof1.model.check.PredictiveCheck` of the result. It prints,
per scenario, the share of trials with any check flagged and the share per check, each with its
Monte Carlo standard error.

Scenarios (the data generator is written here, independently of ``nof1.simulate``):

``count-ok``
    negative binomial counts (1.5 a day, dispersion alpha = 4) with period intercepts
    N(0, 0.3²): the model fitted (NB, period random intercepts) is the generating one.
``count-zero-inflated``
    on half the days the count is a structural 0, on the others Poisson with rate 6 (and the
    same period intercepts): the NB model has no zero inflation. (With rate 4 its free
    dispersion reproduced the share of zeros well enough not to be flagged: not every zero
    inflation is a misfit the check can see; docs/methods-models.md.)
``count-no-zeros``
    every day has at least one event: 1 + Poisson(2) (with the same period intercepts), e.g. a
    daily baseline dose plus extra ones; the NB model (at best a Poisson) expects zero days.
``binary-ok``
    Bernoulli days (p = 0.3) with period intercepts N(0, 0.5²): the model is the generating one.
``continuous-ok``
    Gaussian days with AR(1) residuals (rho = 0.5), analysed with autocorrelation on.
``continuous-autocorrelated``
    Gaussian days with strong AR(1) residuals (rho = 0.7), analysed with autocorrelation off.
``continuous-semicontinuous``
    pain 0–10 that is 0 on headache-free days (60 % of days) and about 6 (SD 1.5, within 1–10)
    on headache days, analysed as a Gaussian outcome (the misfit issue 15 describes).

Usage (one process: NOF1_CORES=1 keeps the two chains of a NUTS fit in this process)::

    NOF1_CORES=1 .venv/bin/python benchmarks/check_power.py --trials 40
    NOF1_CORES=1 .venv/bin/python benchmarks/check_power.py --trials 40 --scenario count-ok
"""

from __future__ import annotations

import argparse
import math
import os
import time

os.environ.setdefault("NOF1_CORES", "1")

import numpy as np

PERIODS = 8
PERIOD_DAYS = 28
WASHOUT = 7
MISSING = 0.05
SCENARIOS = (
    "continuous-ok",
    "continuous-autocorrelated",
    "continuous-semicontinuous",
    "count-ok",
    "count-zero-inflated",
    "count-no-zeros",
    "binary-ok",
)


def _ar1(rng: np.random.Generator, n: int, rho: float) -> np.ndarray:
    e = np.empty(n)
    e[0] = rng.standard_normal()
    for t in range(1, n):
        e[t] = rho * e[t - 1] + math.sqrt(1 - rho**2) * rng.standard_normal()
    return e


def simulate(scenario: str, seed: int) -> tuple[object, bool]:
    """One trial's OutcomeData and whether to model autocorrelation."""
    from nof1.dataset import OutcomeData, PeriodSummary
    from nof1.protocol import OutcomeSpec

    rng = np.random.default_rng([seed, 20261201])
    sequence = "".join("AB" if rng.random() < 0.5 else "BA" for _ in range(PERIODS // 2))
    day = np.arange(PERIODS * PERIOD_DAYS)
    period = day // PERIOD_DAYS
    analysed = day % PERIOD_DAYS >= WASHOUT
    arm = np.array([sequence[p] == "B" for p in period], dtype=int)
    n = day.size
    kind = scenario.split("-")[0]
    autocorrelation = True
    shock = rng.standard_normal(PERIODS)[period]
    if kind == "count":
        mean = 1.5 * np.exp(0.3 * shock - 0.3**2 / 2)
        alpha = 4.0
        if scenario == "count-zero-inflated":
            y = np.where(rng.random(n) < 0.5, 0, rng.poisson(6.0 * mean / 1.5))
        elif scenario == "count-no-zeros":
            y = 1 + rng.poisson(2.0 * mean / 1.5)
        else:
            y = rng.poisson(rng.gamma(alpha, mean / alpha))
        spec = OutcomeSpec(name="doses", kind="count", question="Doses?", better="lower", mcid=2.0)
    elif kind == "binary":
        logit = math.log(0.3 / 0.7) + 0.5 * shock
        y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
        spec = OutcomeSpec(
            name="headache", kind="binary", question="Headache?", better="lower", mcid=2.0
        )
    elif scenario == "continuous-semicontinuous":
        headache = rng.random(n) < 0.4
        y = np.where(headache, np.clip(np.round(rng.normal(6, 1.5, n)), 1, 10), 0.0)
        spec = OutcomeSpec(
            name="pain",
            kind="continuous",
            question="Pain?",
            better="lower",
            mcid=1.0,
            minimum=0.0,
            maximum=10.0,
        )
    else:
        rho = 0.7 if scenario == "continuous-autocorrelated" else 0.5
        autocorrelation = scenario != "continuous-autocorrelated"
        y = 50 + 15 * _ar1(rng, n, rho)
        spec = OutcomeSpec(
            name="pain",
            kind="continuous",
            question="Pain?",
            better="lower",
            mcid=10.0,
            minimum=0.0,
            maximum=100.0,
        )
    keep = analysed & (rng.random(n) >= MISSING)
    periods = tuple(
        PeriodSummary(
            p + 1,
            p // 2 + 1,
            sequence[p],
            int((period == p).sum()),
            int((keep & (period == p)).sum()),
            float(y[keep & (period == p)].mean()) if (keep & (period == p)).any() else None,
        )
        for p in range(PERIODS)
    )
    knots = tuple(float(b * 2 * PERIOD_DAYS - 1) for b in range(1, PERIODS // 2))
    data = OutcomeData(
        outcome=spec,
        date=(None,) * int(keep.sum()),
        time=day[keep],
        y=y[keep],
        arm=arm[keep],
        period=period[keep] + 1,
        block=period[keep] // 2 + 1,
        adherent=np.ones(int(keep.sum()), dtype=bool),
        knots=knots,
        periods=periods,
        sequence=sequence,
        source="table",
    )
    return data, autocorrelation


def run(scenario: str, trials: int, draws: int) -> None:
    from nof1.analysis import Settings, analyze_outcome
    from nof1.model.check import CHECKS, FLAG_HIGH, FLAG_LOW

    flagged_any = 0
    per_check = dict.fromkeys(CHECKS, 0)
    ran = dict.fromkeys(CHECKS, 0)
    start = time.perf_counter()
    for i in range(trials):
        data, autocorrelation = simulate(scenario, i)
        settings = Settings(
            autocorrelation=autocorrelation,
            draws=draws,
            tune=draws,
            chains=2,
            seed=1000 + i,
            sensitivity=False,
        )
        result = analyze_outcome(data, settings)  # type: ignore[arg-type]
        pc = result.predictive_check
        assert pc is not None
        flagged_any += not pc.passed
        for c in pc.ran:
            ran[c.name] += 1
            per_check[c.name] += c.flagged
    seconds = time.perf_counter() - start

    def rate(k: int, n: int) -> str:
        if n == 0:
            return "not run"
        p = k / n
        return f"{k}/{n} = {p:.3f} ± {math.sqrt(p * (1 - p) / n):.3f}"

    print(f"{scenario}: {trials} trials, {seconds / trials:.1f} s per trial")
    print(f"  any check flagged (p < {FLAG_LOW} or > {FLAG_HIGH}): {rate(flagged_any, trials)}")
    for name in CHECKS:
        print(f"  {name:16s} {rate(per_check[name], ran[name])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--draws", type=int, default=500, help="draws (and warm-up) per chain")
    parser.add_argument("--scenario", choices=SCENARIOS, action="append")
    args = parser.parse_args()
    for scenario in args.scenario or SCENARIOS:
        run(scenario, args.trials, args.draws)


if __name__ == "__main__":
    main()
