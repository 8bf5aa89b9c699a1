"""Count, binary and ordinal posteriors by importance sampling from a Laplace approximation.

With their period intercepts integrated out (:mod:`nof1.model.marginal`) these models have three
to six parameters left (the effect, the intercept or cutpoints, the period SD, the count's
dispersion). Here *the PyMC model's own compiled log density* (priors, Jacobians and the
integrated likelihood, vectorised over a batch of points in one compiled call) is used to

1. **Locate.** Find the posterior mode by BFGS in the sampler's unconstrained coordinates. The
   period SD is carried signed (``latent_sd_signed``: the density is symmetric in its sign), so
   the search starts on the positive side;
2. **Propose.** Draw :data:`PROPOSALS` points from a multivariate Student-t (:data:`DF` degrees
   of freedom) centred on the mode with the inverse of the negative Hessian as its scale, mixed
   half and half with its mirror image in the signed SD (a posterior with two mirrored modes is
   covered; one with its mode at 0 gets the same Student-t twice);
3. **Weight.** Weight each point by posterior / proposal density, Pareto-smoothed (PSIS,
   Vehtari et al. 2024). The Pareto ``k̂`` of the weights says whether the estimate can be
   trusted (``k̂ <= 0.7``); the weights' effective sample size how precise it is. When ``k̂``
   exceeds :data:`ADAPT_ABOVE`, or the ESS is below :data:`ADAPT_ESS_SHARE` of the points, the
   proposal is moved to the weighted mean and covariance (signed SD folded) and drawn again (at
   most :data:`ADAPTATIONS` times; the best round is kept);
4. **Draw.** ``chains * draws`` points are resampled by weight (systematic resampling) and the
   model's constrained values and deterministics (``effect``, ``rate_ratio`` …) computed for
   them by a second compiled, vectorised function.

The draws are independent, so R-hat and NUTS's ESS do not apply; ``k̂`` and the importance ESS
take their place (:class:`~nof1.model.spec.ImportanceInfo`). The analysis falls back to NUTS when
they fail (:func:`nof1.analysis._fit_checked`). A test pins the answer against long NUTS runs
(``tests/test_model_importance.py``).
"""

from __future__ import annotations

import time as _time
from typing import Any

import numpy as np

from nof1.errors import DataError
from nof1.model.spec import Fit, ImportanceInfo, ModelData, ModelSpec, verdict_draws

#: Points drawn from the proposal.
PROPOSALS = 8000
#: Degrees of freedom of the Student-t proposal (heavier tails than the Laplace normal).
DF = 5.0
#: The Laplace covariance is inflated by this factor (squared) in the proposal's scale.
INFLATE = 1.2
#: Re-centre the proposal on the weighted moments when ``k̂`` is above this, or when the weights'
#: ESS is below ``ADAPT_ESS_SHARE`` of the points (the proposal is much wider than the posterior:
#: e.g. a period SD whose posterior is flat around 0, where the Laplace curvature is ~0).
ADAPT_ABOVE = 0.5
ADAPT_ESS_SHARE = 0.25
#: At most this many re-centred proposals.
ADAPTATIONS = 2
#: Points evaluated per compiled call (bounds the memory of the quadrature's (C, Q) arrays).
CHUNK = 2000
#: Step of the finite differences for the gradient and Hessian (unconstrained coordinates).
STEP = 1e-4
#: Name of the graph's signed period SD (the density is symmetric in its sign).
SIGNED = "latent_sd_signed"


class ImportanceFailed(RuntimeError):
    """The mode could not be found (non-finite density): the caller samples with NUTS."""


def importance_fit(
    data: ModelData,
    spec: ModelSpec,
    *,
    draws: int = 1000,
    chains: int = 2,
    seed: int = 20240601,
    proposals: int = PROPOSALS,
) -> Fit:
    """Posterior of a count/binary/ordinal outcome by importance sampling (module docstring).

    Raises
    ------
    ImportanceFailed
        When no finite mode is found (the analysis then samples with NUTS).
    """
    from nof1.model.graph import SIGNED_SD, sampled_model
    from nof1.model.grid import posterior_tree

    start = _time.perf_counter()
    cached = sampled_model(data, spec)
    compiled = "is_density" not in cached.cache
    density = _Density(cached)
    built = _time.perf_counter()
    compile_seconds = built - start if compiled else 0.0
    rng = np.random.default_rng([seed, 3])
    mode = _mode(density, _start(density, spec))
    cov = _laplace_covariance(density, mode)
    centre, scale = mode, cov * INFLATE**2
    best: tuple[tuple[bool, float], float, float, np.ndarray, np.ndarray] | None = None
    adaptations = 0
    for round_ in range(ADAPTATIONS + 1):
        points, log_q = _proposal(density, centre, scale, proposals, rng)
        log_p = density(points)
        log_w, khat = _smoothed_log_weights(log_p - log_q)
        w = np.exp(log_w)
        ess = float(1.0 / np.sum(w**2))
        # the best round: a trustworthy k̂ first, then the largest ESS
        rank = (khat <= ADAPT_ABOVE, ess if khat <= ADAPT_ABOVE else -khat)
        if best is None or rank > best[0]:
            best = (rank, khat, ess, points, log_w)
        if (khat <= ADAPT_ABOVE and ess >= ADAPT_ESS_SHARE * proposals) or round_ == ADAPTATIONS:
            break
        folded = density.fold(points)
        centre = w @ folded
        deviations = folded - centre
        scale = (deviations * w[:, None]).T @ deviations * INFLATE**2
        adaptations += 1
    assert best is not None
    _, khat, ess, points, log_w = best
    chosen = points[_systematic(np.exp(log_w), draws * chains, rng)]
    posterior = density.values(chosen)
    posterior.pop(SIGNED_SD, None)  # only |v| (latent_sd) is a parameter
    shaped = {
        name: value.reshape((chains, draws, *value.shape[1:])) for name, value in posterior.items()
    }
    idata = posterior_tree(shaped)
    done = _time.perf_counter()
    effect, relative, latent = verdict_draws(shaped)
    return Fit(
        idata=idata,
        effect=effect,
        relative=relative,
        latent=latent,
        seconds={
            "build": built - start - compile_seconds,
            "compile": compile_seconds,
            "sample": done - built,
            "total": done - start,
        },
        sampler="importance",
        importance=ImportanceInfo(
            parameters=tuple(density.names),
            proposals=int(proposals),
            khat=float(khat),
            ess=ess,
            adaptations=adaptations,
        ),
    )


class _Density:
    """The graph's log density and its values, compiled once per graph, on batches of points.

    A point is a row of the model's value variables (unconstrained) flattened in order.
    """

    def __init__(self, cached: Any) -> None:
        cache = cached.cache
        if "is_density" not in cache:
            cache["is_density"] = _compile(cached.model)
        self._logp, self._values, self.names, self._sizes, self._shapes = cache["is_density"]
        self.dim = int(sum(self._sizes))
        self._signed = [
            i
            for i, (name, size) in enumerate(zip(self.names, self._sizes, strict=True))
            if name == SIGNED and size == 1
        ]
        offsets = np.cumsum([0, *self._sizes])
        self._slices = [
            slice(int(a), int(b)) for a, b in zip(offsets[:-1], offsets[1:], strict=True)
        ]
        self._signed_column = [self._slices[i].start for i in self._signed]

    def _inputs(self, points: np.ndarray) -> list[np.ndarray]:
        points = np.asarray(points, dtype=float).reshape(-1, self.dim)
        return [
            points[:, s].reshape((points.shape[0], *shape))
            for s, shape in zip(self._slices, self._shapes, strict=True)
        ]

    def fold(self, points: np.ndarray) -> np.ndarray:
        """``points`` with the signed SD made non-negative (the density is symmetric in it)."""
        folded = np.array(points, dtype=float, ndmin=2)
        folded[:, self._signed_column] = np.abs(folded[:, self._signed_column])
        return folded

    def mirror(self, points: np.ndarray) -> np.ndarray:
        """``points`` with the sign of the signed SD flipped (same density)."""
        mirrored = np.array(points, dtype=float, ndmin=2)
        mirrored[:, self._signed_column] = -mirrored[:, self._signed_column]
        return mirrored

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Log density at each row of ``points`` (``-inf`` where it is not finite)."""
        points = np.array(points, dtype=float, ndmin=2)
        out = np.empty(points.shape[0])
        for lo in range(0, points.shape[0], CHUNK):
            inputs = self._inputs(points[lo : lo + CHUNK])
            out[lo : lo + CHUNK] = np.asarray(self._logp(*inputs), dtype=float)
        return np.where(np.isfinite(out), out, -np.inf)

    def values(self, points: np.ndarray) -> dict[str, np.ndarray]:
        """The model's constrained variables and deterministics at each row of ``points``."""
        names = self._values[1]
        parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
        for lo in range(0, points.shape[0], CHUNK):
            inputs = self._inputs(points[lo : lo + CHUNK])
            for name, value in zip(names, self._values[0](*inputs), strict=True):
                parts[name].append(np.asarray(value, dtype=float))
        return {name: np.concatenate(chunks) for name, chunks in parts.items()}

    def start_of(self, name: str) -> slice:
        return self._slices[self.names.index(name)]


def _compile(model: Any) -> tuple[Any, ...]:
    """Vectorised log density and value functions of the model's value variables."""
    import pytensor.tensor as pt
    from pytensor.compile.maker import function
    from pytensor.graph.replace import vectorize_graph

    value_vars = list(model.value_vars)
    shapes = [tuple(int(s) for s in v.type.shape) for v in value_vars]
    if any(s is None for shape in shapes for s in shape):
        raise ImportanceFailed("a parameter has no fixed shape")
    batch = [
        pt.tensor(f"{v.name}_batch", shape=(None, *shape))
        for v, shape in zip(value_vars, shapes, strict=True)
    ]
    replace = dict(zip(value_vars, batch, strict=True))
    logp = vectorize_graph(model.logp(), replace=replace)
    logp_fn = function(batch, logp, on_unused_input="ignore")
    # constrained free variables and deterministics; not the transformed coordinates (as pm.sample)
    transformed = {
        model.rvs_to_values[rv].name
        for rv, transform in model.rvs_to_transforms.items()
        if transform is not None
    }
    outputs = [v for v in model.unobserved_value_vars if v.name not in transformed]
    names = [str(v.name) for v in outputs]
    vectorized: list[Any] = list(vectorize_graph(outputs, replace=replace))
    # every output gets the batch axis, even one that does not depend on the parameters
    size = batch[0].shape[0]
    shaped: list[Any] = [
        v if v.ndim > o.ndim else pt.alloc(v, size, *v.shape)
        for o, v in zip(outputs, vectorized, strict=True)
    ]
    values_fn = function(batch, shaped, on_unused_input="ignore")
    sizes = [int(np.prod(shape)) if shape else 1 for shape in shapes]
    return logp_fn, (values_fn, names), [str(v.name) for v in value_vars], sizes, shapes


def _start(density: _Density, spec: ModelSpec) -> np.ndarray:
    """A starting point: the prior means of the effect, the intercept or cutpoints (in their
    ordered coordinates), half the period SD's prior scale, 0 for anything else."""
    x = np.zeros(density.dim)
    if "cutpoints_mid_ordered__" in density.names:
        from nof1.model.graph import _cutpoint_means

        where = density.start_of("cutpoints_mid_ordered__")
        mu = _cutpoint_means(spec.prior, where.stop - where.start + 1)
        mu = mu - spec.prior.effect_mu / 2.0
        x[where] = np.concatenate([mu[:1], np.log(np.maximum(np.diff(mu), 1e-6))])
    if "intercept_mid" in density.names:
        x[density.start_of("intercept_mid")] = spec.prior.intercept_mu + spec.prior.effect_mu / 2
    if "beta" in density.names:
        x[density.start_of("beta")] = spec.prior.effect_mu
    if SIGNED in density.names:
        x[density.start_of(SIGNED)] = spec.prior.latent_sigma_scale / 2.0
    return x


def _gradient(density: _Density, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Log density and its central-difference gradient, in one compiled call."""
    d = x.size
    steps = np.eye(d) * STEP
    batch = np.vstack([x[None, :], x + steps, x - steps])
    values = density(batch)
    return float(values[0]), (values[1 : d + 1] - values[d + 1 :]) / (2.0 * STEP)


def _mode(density: _Density, x0: np.ndarray) -> np.ndarray:
    from scipy.optimize import minimize

    if not np.isfinite(density(x0)[0]):
        raise ImportanceFailed("the log density is not finite at the starting point")

    def negative(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = _gradient(density, x)
        if not np.isfinite(value):
            return 1e300, np.zeros_like(x)
        return -value, -grad

    result = minimize(negative, x0, jac=True, method="BFGS", options={"gtol": 1e-5, "maxiter": 400})
    if not np.isfinite(result.fun) or result.fun >= 1e299:
        raise ImportanceFailed("no finite posterior mode was found")
    return np.asarray(result.x, dtype=float)


def _laplace_covariance(density: _Density, mode: np.ndarray) -> np.ndarray:
    """Inverse of the negative Hessian at the mode (central differences, one compiled call).

    Directions of non-negative curvature (a flat or saddle direction) get unit variance on the
    unconstrained scale: the proposal stays proper and the Pareto ``k̂`` judges it.
    """
    d = mode.size
    h = 1e-3
    eye = np.eye(d) * h
    rows = [mode]
    for i in range(d):
        rows += [mode + eye[i], mode - eye[i]]
    pairs = [(i, j) for i in range(d) for j in range(i + 1, d)]
    for i, j in pairs:
        rows += [mode + eye[i] + eye[j], mode + eye[i] - eye[j], mode - eye[i] + eye[j],
                 mode - eye[i] - eye[j]]  # fmt: skip
    f = density(np.vstack(rows))
    hess = np.empty((d, d))
    for i in range(d):
        hess[i, i] = (f[1 + 2 * i] - 2.0 * f[0] + f[2 + 2 * i]) / h**2
    base = 1 + 2 * d
    for k, (i, j) in enumerate(pairs):
        a, b, c, e = f[base + 4 * k : base + 4 * k + 4]
        hess[i, j] = hess[j, i] = (a - b - c + e) / (4.0 * h**2)
    if not np.all(np.isfinite(hess)):
        return np.eye(d)
    eigenvalues, vectors = np.linalg.eigh(-hess)
    precision = np.where(eigenvalues > 1e-8, eigenvalues, 1.0)
    return np.asarray((vectors / precision) @ vectors.T)


def _proposal(
    density: _Density, centre: np.ndarray, scale: np.ndarray, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``size`` draws of the proposal and their log densities.

    The proposal is an equal mixture of a multivariate Student-t at ``centre`` and its mirror
    image in the signed SD (the posterior is symmetric in that sign; with no signed SD, or
    ``centre`` on the mirror plane, both components are the same Student-t).
    """
    from scipy.stats import multivariate_t

    near = multivariate_t(loc=centre, shape=scale, df=DF)
    far = multivariate_t(loc=density.mirror(centre)[0], shape=scale, df=DF)
    points = np.asarray(near.rvs(size=size, random_state=rng), dtype=float).reshape(size, -1)
    flip = rng.random(size) < 0.5
    points[flip] = density.mirror(points[flip])
    log_q = np.logaddexp(near.logpdf(points), far.logpdf(points)) - np.log(2.0)
    return points, np.asarray(log_q, dtype=float).reshape(size)


def _smoothed_log_weights(log_ratio: np.ndarray) -> tuple[np.ndarray, float]:
    """Pareto-smoothed, normalised log weights and the Pareto ``k̂`` (arviz-stats' PSIS)."""
    from arviz_stats.base import array_stats

    finite = np.isfinite(log_ratio)
    if finite.sum() < 0.5 * log_ratio.size:
        raise DataError(
            "model data: the posterior density is not finite at most proposed points; "
            "analyse this outcome with --engine nuts"
        )
    ratio = np.where(finite, log_ratio, np.min(log_ratio[finite]) - 50.0)
    # arviz-stats smooths the weights exp(-ary) (its use is leave-one-out, ary = log-likelihood)
    log_w, khat = array_stats.psislw(-(ratio - ratio.max()))
    log_w = np.asarray(log_w, dtype=float)
    log_w = log_w - np.logaddexp.reduce(log_w)
    return log_w, float(khat)


def _systematic(weights: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Indices resampled by weight (systematic resampling), in random order."""
    positions = (rng.random() + np.arange(size)) / size
    cumulative = np.cumsum(weights)
    cumulative[-1] = 1.0
    index = np.searchsorted(cumulative, positions)
    return np.asarray(rng.permutation(index))
