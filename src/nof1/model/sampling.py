"""Fitting: the only place nof1 calls the sampler. :func:`fit` returns a :class:`Fit`.

The continuous model is integrated in its collapsed form (:mod:`nof1.model.continuous`) on a
grid (:mod:`nof1.model.grid`); the other kinds are importance-sampled from a Laplace
approximation of the graph of :func:`nof1.model.graph.sampled_model`
(:mod:`nof1.model.importance`); every kind is sampled with NUTS on request (``engine="nuts"``)
and the non-Gaussian kinds when importance sampling cannot be used. Graphs take
their data and priors as ``pm.Data`` and are cached per structure, and so is each graph's
compiled NUTS sampler: an outcome's later fits (other priors, the adherent days) compile nothing.
"""

from __future__ import annotations

import time as _time
from typing import Any

import numpy as np

from nof1.model.spec import (
    CORES,
    ENGINES,
    SAMPLERS,
    Fit,
    ModelData,
    ModelSpec,
    check_y,
    verdict_draws,
)


def fit(
    data: ModelData,
    spec: ModelSpec,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int = 20240601,
    sampler: str = "pymc",
    target_accept: float = 0.9,
    engine: str = "auto",
    grid_max_points: int | None = None,
) -> Fit:
    """Sample the posterior and return the effect on the verdict scale.

    The continuous model is sampled in its collapsed form (linear coefficients integrated out,
    then drawn exactly; see :mod:`nof1.model.continuous`); the other kinds sample the graph of
    :func:`nof1.model.graph.build_model`. Sampler trouble is recorded in ``idata.sample_stats``,
    not raised.

    Parameters
    ----------
    data : ModelData
    spec : ModelSpec
    draws, tune, chains : int
        Per chain.
    seed : int
        Makes the result reproducible (same seed, same draws).
    sampler : {"nutpie", "pymc"}
        ``nutpie`` (Rust NUTS on a numba-compiled graph) or PyMC's own NUTS.
    target_accept : float
        NUTS target acceptance; the analysis raises it when a first fit had divergences.
    engine : {"auto", "nuts"}
        ``auto``: continuous outcomes are integrated on a grid (:mod:`nof1.model.grid`, exact
        up to a measured grid error; ``draws * chains`` independent draws), the other kinds by
        importance sampling from a Laplace approximation (:mod:`nof1.model.importance`,
        diagnosed by the Pareto k̂; the analysis samples with NUTS when it fails), or with NUTS
        when they have a day-level latent AR(1) or no finite mode is found. ``nuts``: every
        kind with NUTS.
    grid_max_points : int, optional
        Cap on the grid's points per axis (the analysis' retry raises it).

    Returns
    -------
    Fit
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)} (got {sampler!r})")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)} (got {engine!r})")
    start = _time.perf_counter()
    check_y(data, spec)
    collapsed = spec.kind == "continuous"
    if collapsed and engine == "auto":
        from nof1.model.grid import grid_fit

        return grid_fit(
            data, spec, draws=draws, chains=chains, seed=seed, max_points=grid_max_points
        )
    if engine == "auto" and not (spec.autocorrelation and spec.latent == "ar"):
        # a day-level latent AR(1) has a parameter per day: only NUTS can sample it
        from nof1.model.importance import ImportanceFailed, importance_fit

        try:
            return importance_fit(data, spec, draws=draws, chains=chains, seed=seed)
        except ImportanceFailed:
            pass  # no finite mode: NUTS below, diagnosed as usual
    cached: Any
    if collapsed:
        from nof1.model.continuous import collapsed_model

        cached = collapsed_model(data, spec)
    else:
        from nof1.model.graph import sampled_model

        cached = sampled_model(data, spec)
    model = cached.model
    built = _time.perf_counter()
    from threadpoolctl import threadpool_limits

    # The graphs are small: multi-threaded BLAS only adds thread wake-ups (costly on a busy
    # machine), so sampling runs with one BLAS thread per process.
    with threadpool_limits(limits=1):
        idata, compile_seconds = _sample(
            model, cached.cache, draws, tune, chains, seed, sampler, target_accept
        )
    sampled = _time.perf_counter()
    if collapsed:
        _add_coefficients(idata, data, spec, seed)
    else:
        from nof1.model.graph import SIGNED_SD

        if SIGNED_SD in idata.posterior:
            # only |v| (latent_sd) is a parameter: the sign is symmetric noise, never diagnosed
            del idata.posterior[SIGNED_SD]
    seconds = {
        "build": built - start,
        "compile": compile_seconds,
        "sample": sampled - built - compile_seconds,
    }
    seconds["total"] = _time.perf_counter() - start
    effect, relative, latent = verdict_draws(idata.posterior)
    return Fit(
        idata=idata,
        effect=effect,
        relative=relative,
        latent=latent,
        seconds=seconds,
        sampler=sampler,
    )


def _sample(
    model: Any,
    cache: dict[Any, Any],
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    sampler: str,
    target_accept: float,
) -> tuple[Any, float]:
    if sampler == "nutpie":
        import nutpie

        t0 = _time.perf_counter()
        compiled = nutpie.compile_pymc_model(model)
        compile_seconds = _time.perf_counter() - t0
        idata = nutpie.sample(
            compiled,
            draws=draws,
            tune=tune,
            chains=chains,
            cores=min(chains, 2),
            seed=seed,
            progress_bar=False,
            save_warmup=False,
            target_accept=target_accept,
        )
        return idata, compile_seconds
    import pymc as pm

    t0 = _time.perf_counter()
    step = _nuts_step(model, cache, target_accept)
    with model:
        idata = pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=CORES,
            step=step,
            random_seed=seed,
            progressbar=False,
            compute_convergence_checks=False,
            blas_cores=None,
            nuts_sampler="pymc",
        )
    # PyMC records how long its draw loop took; the rest of pm.sample is compiling the model's
    # functions, initialising the chains and starting the worker processes.
    loop = float(idata.posterior.attrs.get("sampling_time", 0.0))
    return idata, max(_time.perf_counter() - t0 - loop, 0.0)


def _nuts_step(model: Any, cache: dict[Any, Any], target_accept: float) -> Any:
    """The graph's NUTS sampler, compiled once and reset to its fresh state for every fit.

    Building ``pm.NUTS`` compiles the model's log density and gradient; the graph's data and
    prior numbers are ``pm.Data`` inputs, so the same compiled sampler serves every fit of the
    outcome. Its fresh state (step size, mass-matrix adaptation) is restored before each fit,
    so a reused sampler starts exactly as a new one would.
    """
    import pymc as pm

    key = ("nuts", float(target_accept))
    if key not in cache:
        with model:
            step = pm.NUTS(target_accept=target_accept)
        # The leapfrog integrator passes one float64 vector per call: skip PyTensor's input
        # checks (PyMC 6 sets ``trust_input`` on its wrapper, which does not reach the compiled
        # function; the checks were ~8 % of a count fit's draw loop).
        inner = getattr(getattr(step, "_logp_dlogp_func", None), "_pytensor_function", None)
        if inner is not None:
            inner.trust_input = True
        cache[key] = (step, step.sampling_state)
    step, fresh = cache[key]
    step.sampling_state = fresh
    return step


def _add_coefficients(idata: Any, data: ModelData, spec: ModelSpec, seed: int) -> None:
    """Draw the collapsed linear coefficients and add them (and ``effect``) to the posterior."""
    from nof1.model.continuous import draw_coefficients

    post = idata.posterior
    names = ["sigma"] + [n for n in ("rho", "trend_tau", "latent_sd") if n in post]
    values = {n: post[n].values for n in names}
    rng = np.random.default_rng([seed, 1])
    coefficients = draw_coefficients(data, spec, values, rng)
    import xarray as xr

    dims = ("chain", "draw")
    for name, array in coefficients.items():
        post[name] = xr.DataArray(array, dims=dims)
    post["beta"] = xr.DataArray(coefficients["effect"], dims=dims)
