"""The continuous model integrated on a grid: exact up to a grid error that is measured.

After its linear coefficients are integrated out (:mod:`nof1.model.continuous`) the continuous
model has one to four parameters left: ``sigma``, ``rho`` (autocorrelation), ``trend_tau``
(spline trend) and ``latent_sd`` (SD of the period intercepts). Here *the PyMC model's own
compiled log density* (priors, Jacobians and the collapsed likelihood, in the sampler's
unconstrained coordinates ``log sigma``, ``logit rho``, ``log trend_tau``, ``log latent_sd``)
is evaluated on a grid, vectorised in one compiled call:

1. **Locate.** A wide grid around the model's initial point is zoomed onto the region whose log
   density is within :data:`LOG_DENSITY_SPAN` of the highest point.
2. **Refine.** The grid over that box is refined (:data:`GROWTH` times the points per axis)
   until the effect's posterior mean and SD (a mixture of the exact Gaussian conditionals of
   ``beta``) move by less than :data:`CHANGE_TOL` posterior SDs; the box grows while more than
   :data:`EDGE_TOL` of the mass sits on its edge.
3. **Draw.** Grid cells are drawn by their mass, a point uniformly inside each drawn cell, then
   the coefficients exactly from their Gaussian conditional (as after NUTS).

The draws are independent, so R-hat and ESS do not apply; the grid's own diagnostics (the last
refinement's change, the edge mass, the number of points) take their place
(:class:`~nof1.model.spec.GridInfo`).
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from typing import Any

import numpy as np

from nof1.errors import DataError
from nof1.model.continuous import CollapsedModel, collapsed_model, conditional_effect
from nof1.model.spec import Fit, GridInfo, ModelData, ModelSpec

#: The answer (effect mean and SD) must move by less than this many posterior SDs when the grid
#: is refined (points per axis times :data:`GROWTH`).
CHANGE_TOL = 0.002
#: Each refinement multiplies the points per axis by this. The midpoint rule converges fast on
#: these smooth, rapidly decaying densities, so 1.5 settles at the same tolerance as doubling
#: with 3.4 times fewer points on a three-parameter grid.
GROWTH = 1.5
#: At most this share of the posterior mass may lie on the edge of the grid's box.
EDGE_TOL = 1e-6
#: The box covers the log density down to this far below its highest point (e^-25 ~ 1e-11).
LOG_DENSITY_SPAN = 25.0
#: Points per axis of the first refined grid, and the most the refinement may reach.
START_POINTS = {1: 64, 2: 32, 3: 16, 4: 10}
MAX_POINTS = {1: 4096, 2: 320, 3: 80, 4: 40}
#: Points per axis of the locating grids.
LOCATE_POINTS = {1: 33, 2: 33, 3: 17, 4: 11}
#: The grid never leaves |u| <= BOUND in any unconstrained coordinate (sigma and the SDs within
#: e^±30, logit rho within ±30): beyond, the algebra underflows; mass pressed against this bound
#: shows as edge mass and fails the diagnostics.
BOUND = 30.0
#: Grid points whose weight is below this fraction of the largest are left out of the mixture.
NEGLIGIBLE = 1e-14


def _expit(u: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-u)))


def _exp(u: np.ndarray) -> np.ndarray:
    return np.asarray(np.exp(u))


#: Back-transforms from the unconstrained coordinates, by parameter name.
_BACKWARD: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigma": _exp,
    "trend_tau": _exp,
    "latent_sd": _exp,
    "rho": _expit,
}


def grid_fit(
    data: ModelData,
    spec: ModelSpec,
    *,
    draws: int = 1000,
    chains: int = 2,
    seed: int = 20240601,
    max_points: int | None = None,
) -> Fit:
    """Posterior of the continuous model by grid integration, with ``chains * draws`` draws.

    ``max_points`` caps the points per axis (default :data:`MAX_POINTS`); the retry of the
    analysis raises it. The draws are stored as ``chains`` rows so the posterior has the same
    layout as a NUTS fit.
    """
    start = _time.perf_counter()
    cm = collapsed_model(data, spec)
    names = [_name(v) for v in cm.model.value_vars]
    compiled = "grid_density" not in cm.cache
    density = _density(cm)
    built = _time.perf_counter()
    compile_seconds = built - start if compiled else 0.0
    dim = len(names)
    cap = max_points or MAX_POINTS[dim]
    lower, upper = _locate(density, _initial(data, spec, names))
    n = START_POINTS[dim]
    previous: tuple[float, float] | None = None
    change = float("inf")
    refinements = 0
    while True:
        axes, logw = _evaluate(density, lower, upper, n)
        weights = np.exp(logw - logw.max())
        weights /= weights.sum()
        edge = _edge_mass(weights)
        if edge > EDGE_TOL and refinements < 12:
            lower, upper = _widen(lower, upper, weights)
            refinements += 1
            previous = None
            continue
        answer = _effect_moments(data, spec, names, axes, weights)
        if previous is not None:
            change = max(abs(answer[0] - previous[0]), abs(answer[1] - previous[1])) / answer[1]
        if (change <= CHANGE_TOL and edge <= EDGE_TOL) or np.ceil(n * GROWTH) > cap:
            break
        previous = answer
        n = int(np.ceil(n * GROWTH))
        refinements += 1
    rng = np.random.default_rng([seed, 2])
    total = draws * chains
    values = _draw_cells(axes, weights, total, rng)
    posterior = {
        name: _BACKWARD[name](values[:, j]).reshape(chains, draws) for j, name in enumerate(names)
    }
    from nof1.model.continuous import draw_coefficients

    coefficients = draw_coefficients(data, spec, posterior, np.random.default_rng([seed, 1]))
    posterior |= coefficients
    posterior["beta"] = coefficients["effect"]
    idata = posterior_tree(posterior)
    done = _time.perf_counter()
    info = GridInfo(
        parameters=tuple(names),
        points=int(weights.size),
        points_per_axis=n,
        change=float(change),
        edge_mass=float(edge),
        refinements=refinements,
    )
    return Fit(
        idata=idata,
        effect=coefficients["effect"].reshape(-1),
        relative=None,
        latent=None,
        seconds={
            "build": built - start - compile_seconds,
            "compile": compile_seconds,  # only the fit that compiled the graph's density
            "sample": done - built,
            "total": done - start,
        },
        sampler="grid",
        grid=info,
    )


def _name(value_var: Any) -> str:
    name = str(value_var.name)
    for base in _BACKWARD:
        if name.startswith(base + "_"):
            return base
    raise ValueError(f"grid integration: unexpected parameter {name!r}")


def _density(cm: CollapsedModel) -> Any:
    """The model's log density, compiled once per graph and evaluated on a whole grid at once.

    Each parameter gets its own broadcastable axis (shape ``(n, 1, 1)``, ``(1, n, 1)``, …), so
    the compiled function returns the log density on the product grid while every term is
    computed only over the axes it depends on (the whitened sums only over ``rho``, say).
    """
    fn = cm.cache.get("grid_density")
    if fn is not None:
        return fn
    import pytensor.tensor as pt
    from pytensor.compile.maker import function
    from pytensor.graph.replace import vectorize_graph

    model = cm.model
    logp = model.logp()
    dim = len(model.value_vars)
    batch = [
        pt.tensor(f"{v.name}_axis", shape=tuple(None if k == j else 1 for k in range(dim)))
        for j, v in enumerate(model.value_vars)
    ]
    out = vectorize_graph(logp, replace=dict(zip(model.value_vars, batch, strict=True)))
    full = pt.broadcast_to(out, pt.broadcast_shape(*batch))
    fn = function(batch, full, on_unused_input="ignore")
    cm.cache["grid_density"] = fn
    return fn


def posterior_tree(posterior: dict[str, np.ndarray]) -> Any:
    """ArviZ 1's container (an ``xarray.DataTree``) of (chain, draw, ...) arrays, as PyMC returns.

    A variable with values per draw (e.g. the cutpoints) gets dimensions ``<name>_dim_0``, …
    """
    import xarray as xr

    first = next(iter(posterior.values()))
    variables = {
        name: (("chain", "draw", *(f"{name}_dim_{k}" for k in range(value.ndim - 2))), value)
        for name, value in posterior.items()
    }
    dataset = xr.Dataset(
        variables,
        coords={"chain": np.arange(first.shape[0]), "draw": np.arange(first.shape[1])},
    )
    return xr.DataTree.from_dict({"posterior": dataset})


def _initial(data: ModelData, spec: ModelSpec, names: list[str]) -> np.ndarray:
    """Centre of the first search (unconstrained): the data's SD, rho = 1/2, the SD priors.

    Computed, not compiled (``Model.initial_point`` would compile a function per process).
    """
    sd = float(np.std(data.y)) or float(spec.prior.sigma_scale)
    centre = {
        "sigma": np.log(sd),
        "rho": 0.0,
        "trend_tau": np.log(spec.prior.trend_sigma),
        "latent_sd": np.log(spec.prior.latent_sigma_scale),
    }
    return np.array([centre[name] for name in names])


def _evaluate(
    density: Any, lower: np.ndarray, upper: np.ndarray, n: int
) -> tuple[list[np.ndarray], np.ndarray]:
    """Cell midpoints per axis and the log density on their product, shape (n,) * dim."""
    axes = [lo + (np.arange(n) + 0.5) * (hi - lo) / n for lo, hi in zip(lower, upper, strict=True)]
    dim = len(axes)
    shaped = [
        axis.reshape(tuple(n if k == j else 1 for k in range(dim))) for j, axis in enumerate(axes)
    ]
    logp = np.asarray(density(*shaped), dtype=float)
    logp = np.where(np.isfinite(logp), logp, -np.inf).reshape((n,) * dim)
    return axes, logp


def _locate(density: Any, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A box holding the region within :data:`LOG_DENSITY_SPAN` of the highest log density."""
    dim = centre.size
    lower = np.maximum(centre - 8.0, -BOUND)
    upper = np.minimum(centre + 8.0, BOUND)
    n = LOCATE_POINTS[dim]
    for _ in range(8):
        axes, logp = _evaluate(density, lower, upper, n)
        top = logp.max()
        if not np.isfinite(top):
            raise DataError(
                "model data: the continuous model's log density is not finite anywhere on the "
                "grid (does the outcome vary at all?); analyse it with --engine nuts to see "
                "the sampler's view"
            )
        keep = logp >= top - LOG_DENSITY_SPAN
        step = (upper - lower) / n
        new_lower, new_upper = lower.copy(), upper.copy()
        for j in range(dim):
            other = tuple(k for k in range(dim) if k != j)
            inside = np.flatnonzero(keep.any(axis=other) if other else keep)
            # one cell of margin beyond the last point kept on each side
            new_lower[j] = axes[j][inside[0]] - 1.5 * step[j]
            new_upper[j] = axes[j][inside[-1]] + 1.5 * step[j]
        new_lower, new_upper = np.maximum(new_lower, -BOUND), np.minimum(new_upper, BOUND)
        if np.all(new_upper - new_lower > 0.5 * (upper - lower)):
            return new_lower, new_upper  # the kept region spans many cells: resolved
        lower, upper = new_lower, new_upper
    return lower, upper


def _edge_mass(weights: np.ndarray) -> float:
    """Share of the mass in the outermost cells of the box (any face)."""
    inner = weights[tuple(slice(1, -1) for _ in range(weights.ndim))]
    return float(max(0.0, 1.0 - inner.sum()))


def _widen(lower: np.ndarray, upper: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, ...]:
    """Grow the box by half its width on each side that holds mass at its edge."""
    lower, upper = lower.copy(), upper.copy()
    width = upper - lower
    for j in range(weights.ndim):
        marginal = weights.sum(axis=tuple(k for k in range(weights.ndim) if k != j))
        if marginal[0] > EDGE_TOL / (2 * weights.ndim):
            lower[j] -= 0.5 * width[j]
        if marginal[-1] > EDGE_TOL / (2 * weights.ndim):
            upper[j] += 0.5 * width[j]
    return np.maximum(lower, -BOUND), np.minimum(upper, BOUND)


def _effect_moments(
    data: ModelData,
    spec: ModelSpec,
    names: list[str],
    axes: list[np.ndarray],
    weights: np.ndarray,
) -> tuple[float, float]:
    """Posterior mean and SD of the effect: the grid-weighted mixture of exact conditionals."""
    mesh = np.meshgrid(*axes, indexing="ij")
    keep = weights.reshape(-1) > NEGLIGIBLE * weights.max()
    w = weights.reshape(-1)[keep]
    w = w / w.sum()
    values = {name: _BACKWARD[name](mesh[j].reshape(-1)[keep]) for j, name in enumerate(names)}
    mu, var = conditional_effect(data, spec, values)
    m = float(w @ mu)
    return m, float(np.sqrt(max(w @ (var + mu**2) - m**2, 0.0)))


def _draw_cells(
    axes: list[np.ndarray], weights: np.ndarray, size: int, rng: np.random.Generator
) -> np.ndarray:
    """Points drawn by cell mass, uniform within each cell: shape (size, dim)."""
    flat = weights.reshape(-1)
    cells = rng.choice(flat.size, size=size, p=flat / flat.sum())
    index = np.unravel_index(cells, weights.shape)
    out = np.empty((size, len(axes)))
    for j, axis in enumerate(axes):
        step = axis[1] - axis[0]
        out[:, j] = axis[index[j]] + (rng.random(size) - 0.5) * step
    return out
