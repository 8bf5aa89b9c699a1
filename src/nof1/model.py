"""PyMC models per outcome kind; the only module that calls the sampler.

A model knows nothing about trial designs: it sees daily outcomes ``y``, the arm of each day
(0 = comparator A, 1 = intervention B), the day index ``time`` (gaps allowed), and knots for a
spline trend. :func:`build_model` returns the PyMC graph (no sampling); :func:`fit` samples it and
returns a :class:`Fit` whose ``effect`` draws are on the verdict scale (B minus A):

* continuous — difference in means, outcome units;
* count — difference in events per ``exposure_days`` (28), at the trend's centre;
* binary — difference in days per ``exposure_days``;
* ordinal — difference in expected category.

Day-level clustering (``autocorrelation=True``): the continuous model has gap-exact AR(1)
residuals; the other kinds get a latent process on the linear predictor (see
``docs/methods-models.md`` for what was measured and chosen). Verdict-scale effects average over
that latent variation (population-averaged over days), computed by Gauss–Hermite quadrature.
"""

from __future__ import annotations

import os
import time as _time
from typing import Any

import numpy as np
from attrs import field, frozen

from nof1.errors import DataError
from nof1.prior import PriorSpec

KINDS = ("continuous", "count", "binary", "ordinal")
TRENDS = ("none", "linear", "spline")
SAMPLERS = ("nutpie", "pymc")
#: Chains run in parallel processes, one per core (the CI machine has 2); ``NOF1_CORES`` overrides.
CORES = max(1, int(os.environ.get("NOF1_CORES", "0")) or min(2, os.cpu_count() or 1))
#: How the non-Gaussian kinds model day-level clustering when autocorrelation is on.
LATENT = ("ar", "period")


def _frozen_array(value: Any, dtype: type) -> np.ndarray:
    out: np.ndarray = np.array(value, dtype=dtype)
    out.setflags(write=False)
    return out


def _float_array(value: Any) -> np.ndarray:
    return _frozen_array(value, float)


def _int_array(value: Any) -> np.ndarray:
    return _frozen_array(value, int)


def _float_tuple(values: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def _optional_int_array(value: Any) -> np.ndarray | None:
    return None if value is None else _int_array(value)


@frozen(eq=False)
class ModelData:
    """The arrays a model needs, for the analysed days only.

    Parameters
    ----------
    y : numpy.ndarray
        Daily outcome (finite). Count: non-negative integers; binary: 0/1; ordinal: 0..K-1.
    arm : numpy.ndarray
        0 for comparator A, 1 for intervention B.
    time : numpy.ndarray
        Day index, strictly increasing; gaps (missing days) allowed.
    n_categories : int, optional
        Number of ordinal categories (ordinal outcomes only).
    knots : tuple of float
        Block-end times, the knots of a spline trend.
    exposure_days : float
        Days the count/binary verdict scale refers to (28).
    period : numpy.ndarray, optional
        Period index of each day (0-based or any integers); used by ``latent="period"``.
    """

    y: np.ndarray = field(converter=_float_array)
    arm: np.ndarray = field(converter=_int_array)
    time: np.ndarray = field(converter=_float_array)
    n_categories: int | None = None
    knots: tuple[float, ...] = field(default=(), converter=_float_tuple)
    exposure_days: float = 28.0
    period: np.ndarray | None = field(default=None, converter=_optional_int_array)

    def __attrs_post_init__(self) -> None:
        problems = []
        n = self.y.size
        if self.y.ndim != 1 or n < 4:
            problems.append(f"y must be a 1-D array of at least 4 days (got shape {self.y.shape})")
        for name in ("arm", "time") + (("period",) if self.period is not None else ()):
            size = getattr(self, name).size
            if size != n:
                problems.append(f"{name} must have one value per day of y ({n}; got {size})")
        if not np.all(np.isfinite(self.y)):
            problems.append("y must be finite: drop missing days (time may have gaps)")
        if not np.isin(self.arm, (0, 1)).all():
            problems.append("arm must be 0 (comparator A) or 1 (intervention B)")
        elif self.arm.size == n and len(np.unique(self.arm)) < 2:
            problems.append("arm must contain days of both arms (0 and 1) to estimate an effect")
        if self.time.size == n and not np.all(np.diff(self.time) > 0):
            problems.append("time must be strictly increasing (one row per day, sorted)")
        if self.n_categories is not None and self.n_categories < 3:
            problems.append(f"n_categories must be ≥ 3 (got {self.n_categories})")
        if not self.exposure_days > 0:
            problems.append(f"exposure_days must be > 0 (got {self.exposure_days})")
        if problems:
            raise DataError("model data: " + "; ".join(problems))


@frozen
class ModelSpec:
    """What to fit: the outcome kind, autocorrelation, trend and priors.

    Parameters
    ----------
    kind : {"continuous", "count", "binary", "ordinal"}
    autocorrelation : bool
        Model day-to-day dependence (AR(1) residuals, or latent clustering for non-Gaussian kinds).
    trend : {"none", "linear", "spline"}
    prior : PriorSpec
        Must be for the same kind.
    latent : {"ar", "period"}
        Clustering structure for count/binary/ordinal with autocorrelation: a gap-exact latent
        AR(1) on the linear predictor, or period-level random intercepts (needs
        ``ModelData.period``).
    """

    kind: str = field()
    autocorrelation: bool
    trend: str = field()
    prior: PriorSpec = field()
    latent: str = field(default="ar")

    @kind.validator
    def _check_kind(self, _attr: Any, value: str) -> None:
        if value not in KINDS:
            raise ValueError(f"ModelSpec.kind must be one of {', '.join(KINDS)} (got {value!r})")

    @trend.validator
    def _check_trend(self, _attr: Any, value: str) -> None:
        if value not in TRENDS:
            raise ValueError(f"ModelSpec.trend must be one of {', '.join(TRENDS)} (got {value!r})")

    @prior.validator
    def _check_prior(self, _attr: Any, value: PriorSpec) -> None:
        if value.kind != self.kind:
            raise ValueError(
                f"ModelSpec.prior is for a {value.kind} outcome but kind is {self.kind!r}: "
                "build it with default_prior(outcome) for this outcome"
            )

    @latent.validator
    def _check_latent(self, _attr: Any, value: str) -> None:
        if value not in LATENT:
            raise ValueError(f"ModelSpec.latent must be one of {', '.join(LATENT)} (got {value!r})")

    def describe(self) -> str:
        """A sentence naming the model, for reports."""
        likelihood = {
            "continuous": "normal",
            "count": "negative binomial (log link)",
            "binary": "logistic",
            "ordinal": "ordered logistic",
        }[self.kind]
        parts = [f"Bayesian {likelihood} model"]
        if self.autocorrelation:
            if self.kind == "continuous":
                parts.append("AR(1) residuals (gap-exact)")
            elif self.latent == "ar":
                parts.append("latent AR(1) day effects")
            else:
                parts.append("period random intercepts")
        if self.trend != "none":
            parts.append(f"{self.trend} time trend")
        return ", ".join(parts) + f"; {self.prior.describe()}"


@frozen(eq=False)
class Fit:
    """A fitted model: the posterior and the effect draws on the verdict scale.

    Attributes
    ----------
    idata : arviz.InferenceData
    effect : numpy.ndarray
        1-D draws of B minus A on the verdict scale (chains concatenated).
    relative : numpy.ndarray or None
        Rate ratio (count) or odds ratio (binary) draws.
    latent : numpy.ndarray or None
        Ordinal latent-scale effect draws.
    seconds : dict
        ``build``, ``compile`` (for PyMC: all of ``pm.sample`` but its draw loop — compiling,
        chain initialisation, worker start-up), ``sample``, ``total`` wall-clock seconds.
    sampler : str
    """

    idata: Any
    effect: np.ndarray
    relative: np.ndarray | None
    latent: np.ndarray | None
    seconds: dict[str, float]
    sampler: str = "pymc"


# --------------------------------------------------------------------------------------------
# graph
# --------------------------------------------------------------------------------------------


def build_model(data: ModelData, spec: ModelSpec) -> Any:
    """Build the full PyMC model (no sampling).

    Every kind has ``effect`` (verdict scale) as a Deterministic, plus ``rate_ratio`` (count),
    ``odds_ratio`` (binary) or ``latent_effect`` (ordinal). The continuous model here keeps its
    linear coefficients as free variables; :func:`fit` samples an equivalent collapsed form.

    Raises
    ------
    DataError
        When ``y`` does not suit the kind (e.g. a negative count, a category out of range).
    """
    _check_y(data, spec)
    import pymc as pm

    from nof1 import model_terms as terms

    prior = spec.prior
    basis, hinges = terms.trend_basis(data.time, spec.trend, data.knots)
    coords = {"day": np.arange(data.y.size)}
    with pm.Model(coords=coords) as model:
        trend = _trend_term(pm, basis, hinges, prior)
        beta = pm.Normal("beta", mu=prior.effect_mu, sigma=prior.effect_sigma)
        arm = data.arm.astype(float)
        if spec.kind == "continuous":
            alpha = pm.Normal("intercept", mu=prior.intercept_mu, sigma=prior.intercept_sigma)
            sigma = pm.HalfNormal("sigma", sigma=prior.sigma_scale)
            mu = alpha + beta * arm + trend
            if spec.autocorrelation:
                rho = pm.Beta("rho", alpha=prior.rho_alpha, beta=prior.rho_beta)
                a, c = terms.ar_coefficients(rho, terms.gaps(data.time))
                prev = np.concatenate([[0.0], data.y[:-1]])
                mu_prev = _shift(mu)
                cond_mu = mu + a * (prev - mu_prev)
                pm.Normal("y", mu=cond_mu, sigma=sigma * c, observed=data.y, dims="day")
            else:
                pm.Normal("y", mu=mu, sigma=sigma, observed=data.y, dims="day")
            pm.Deterministic("effect", beta)
            return model
        latent, latent_sd = _latent_term(pm, terms, data, spec)
        if spec.kind == "count":
            alpha = pm.Normal("intercept", mu=prior.intercept_mu, sigma=prior.intercept_sigma)
            inv_alpha = pm.HalfNormal("inv_dispersion", sigma=prior.dispersion_scale)
            eta = alpha + beta * arm + trend + latent
            pm.NegativeBinomial(
                "y", mu=pm.math.exp(eta), alpha=1.0 / inv_alpha, observed=data.y, dims="day"
            )
            shift = 0.0 if latent_sd is None else latent_sd**2 / 2.0
            rate_a = pm.math.exp(alpha + shift)
            rate_b = pm.math.exp(alpha + beta + shift)
            pm.Deterministic("effect", data.exposure_days * (rate_b - rate_a))
            pm.Deterministic("rate_ratio", pm.math.exp(beta))
        elif spec.kind == "binary":
            alpha = pm.Normal("intercept", mu=prior.intercept_mu, sigma=prior.intercept_sigma)
            eta = alpha + beta * arm + trend + latent
            pm.Bernoulli("y", logit_p=eta, observed=data.y, dims="day")
            p_a = terms.expected_over_latent(pm.math.sigmoid, alpha, latent_sd)
            p_b = terms.expected_over_latent(pm.math.sigmoid, alpha + beta, latent_sd)
            pm.Deterministic("effect", data.exposure_days * (p_b - p_a))
            pm.Deterministic("odds_ratio", pm.math.exp(beta))
        else:
            k = int(data.n_categories or 0)
            cut_mu = np.asarray(prior.cutpoint_mu)
            if cut_mu.size != k - 1:
                from nof1.prior import _equal_probability_cutpoints

                cut_mu = np.asarray(_equal_probability_cutpoints(k))
            cutpoints = pm.Normal(
                "cutpoints",
                mu=cut_mu,
                sigma=prior.cutpoint_sigma,
                shape=k - 1,
                transform=pm.distributions.transforms.ordered,
                initval=cut_mu,
            )
            eta = beta * arm + trend + latent
            pm.OrderedLogistic(
                "y",
                eta=eta,
                cutpoints=cutpoints,
                observed=data.y.astype(int),
                compute_p=False,
                dims="day",
            )

            def expected(e: Any) -> Any:
                return pm.math.sum(pm.math.sigmoid(e[..., None] - cutpoints), axis=-1)

            e_a = terms.expected_over_latent(expected, pm.math.constant(0.0), latent_sd)
            e_b = terms.expected_over_latent(expected, beta, latent_sd)
            pm.Deterministic("effect", e_b - e_a)
            pm.Deterministic("latent_effect", beta)
    return model


def _trend_term(pm: Any, basis: np.ndarray, hinges: int, prior: PriorSpec) -> Any:
    if basis.shape[1] == 0:
        return 0.0
    slope = pm.Normal("trend_slope", mu=0.0, sigma=prior.trend_sigma)
    trend = slope * basis[:, 0]
    if hinges:
        tau = pm.HalfNormal("trend_tau", sigma=prior.trend_sigma)
        z = pm.Normal("trend_knot_z", 0.0, 1.0, shape=hinges)
        knots = pm.Deterministic("trend_knots", tau * z)
        trend = trend + pm.math.dot(basis[:, 1:], knots)
    return trend


def _latent_term(pm: Any, terms: Any, data: ModelData, spec: ModelSpec) -> tuple[Any, Any]:
    """Day-level clustering on the linear predictor: (term, its stationary SD) or (0, None)."""
    if not spec.autocorrelation:
        return 0.0, None
    prior = spec.prior
    sd = pm.HalfNormal("latent_sd", sigma=prior.latent_sigma_scale)
    if spec.latent == "period":
        if data.period is None:
            raise DataError(
                "model data: period is missing but ModelSpec.latent = 'period' needs the "
                "period index of each day (or use latent = 'ar')"
            )
        _, index = np.unique(data.period, return_inverse=True)
        z = pm.Normal("period_z", 0.0, 1.0, shape=int(index.max()) + 1)
        return sd * z[index], sd
    rho = pm.Beta("latent_rho", alpha=prior.rho_alpha, beta=prior.rho_beta)
    z = pm.Normal("latent_z", 0.0, 1.0, dims="day")
    chol = terms.latent_ar_matrix(rho, data.time)
    return sd * pm.math.dot(chol, z), sd


def _shift(x: Any) -> Any:
    import pytensor.tensor as pt

    x = pt.as_tensor_variable(x)
    return pt.concatenate([pt.zeros((1,)), x[:-1]])


def _check_y(data: ModelData, spec: ModelSpec) -> None:
    y = data.y
    if spec.kind == "count" and (np.any(y < 0) or np.any(y != np.round(y))):
        raise DataError("model data: a count outcome needs whole numbers ≥ 0 in y")
    if spec.kind == "binary" and not np.isin(y, (0.0, 1.0)).all():
        raise DataError("model data: a binary outcome needs y values 0 or 1")
    if spec.kind == "ordinal":
        k = data.n_categories
        if k is None:
            raise DataError("model data: n_categories is missing for an ordinal outcome")
        if np.any(y != np.round(y)) or np.any(y < 0) or np.any(y > k - 1):
            raise DataError(f"model data: an ordinal outcome needs y in 0..{k - 1}")


# --------------------------------------------------------------------------------------------
# fitting
# --------------------------------------------------------------------------------------------


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
) -> Fit:
    """Sample the posterior and return the effect on the verdict scale.

    The continuous model is sampled in its collapsed form (linear coefficients integrated out,
    then drawn exactly; see :mod:`nof1.model_continuous`); the other kinds sample the graph of
    :func:`build_model`. Sampler trouble is recorded in ``idata.sample_stats``, not raised.

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

    Returns
    -------
    Fit
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)} (got {sampler!r})")
    start = _time.perf_counter()
    _check_y(data, spec)
    collapsed = spec.kind == "continuous"
    if collapsed:
        from nof1.model_continuous import build_marginal_model

        model = build_marginal_model(data, spec)
    else:
        model = build_model(data, spec)
    built = _time.perf_counter()
    from threadpoolctl import threadpool_limits

    # The graphs are small: multi-threaded BLAS only adds thread wake-ups (costly on a busy
    # machine), so sampling runs with one BLAS thread per process.
    with threadpool_limits(limits=1):
        idata, compile_seconds = _sample(model, draws, tune, chains, seed, sampler, target_accept)
    sampled = _time.perf_counter()
    if collapsed:
        _add_coefficients(idata, data, spec, seed)
    seconds = {
        "build": built - start,
        "compile": compile_seconds,
        "sample": sampled - built - compile_seconds,
    }
    seconds["total"] = _time.perf_counter() - start
    post = idata.posterior
    relative = None
    for name in ("rate_ratio", "odds_ratio"):
        if name in post:
            relative = post[name].values.reshape(-1)
    latent = post["latent_effect"].values.reshape(-1) if "latent_effect" in post else None
    return Fit(
        idata=idata,
        effect=post["effect"].values.reshape(-1),
        relative=relative,
        latent=latent,
        seconds=seconds,
        sampler=sampler,
    )


def _sample(
    model: Any,
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
    with model:
        idata = pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=CORES,
            random_seed=seed,
            target_accept=target_accept,
            progressbar=False,
            compute_convergence_checks=False,
            blas_cores=None,
        )
    # PyMC records how long its draw loop took; the rest of pm.sample is compiling the model's
    # functions, initialising the chains and starting the worker processes.
    loop = float(idata.posterior.attrs.get("sampling_time", 0.0))
    return idata, max(_time.perf_counter() - t0 - loop, 0.0)


def _add_coefficients(idata: Any, data: ModelData, spec: ModelSpec, seed: int) -> None:
    """Draw the collapsed linear coefficients and add them (and ``effect``) to the posterior."""
    from nof1.model_continuous import draw_coefficients

    post = idata.posterior
    names = ["sigma"] + [n for n in ("rho", "trend_tau") if n in post]
    values = {n: post[n].values for n in names}
    rng = np.random.default_rng([seed, 1])
    coefficients = draw_coefficients(data, spec, values, rng)
    dims = ("chain", "draw")
    for name, array in coefficients.items():
        post[name] = (dims, array)
    post["beta"] = (dims, coefficients["effect"])
