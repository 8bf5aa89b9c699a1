"""Importance sampling from a Laplace approximation: count, binary and ordinal posteriors."""

from __future__ import annotations

from typing import Any

import arviz_stats as azs
import numpy as np
import pytest
from attrs import evolve
from scipy import stats

from nof1 import analysis
from nof1.errors import DataError
from nof1.model import ModelData, ModelSpec, fit
from nof1.model import importance as im
from nof1.model.graph import sampled_model
from nof1.prior import default_prior
from nof1.protocol import OutcomeSpec
from nof1.simulate import simulate_outcome

N_DAYS = 112
TIME = np.arange(N_DAYS, dtype=float)
ARM = np.repeat([0, 1, 1, 0, 1, 0, 0, 1], 14)
PERIOD = np.repeat(np.arange(8), 14)
SETTINGS: dict[str, dict[str, Any]] = {
    "count": dict(baseline=8.0, effect=-3.0, dispersion=2.0),
    "binary": dict(baseline=8.0, effect=-4.0),
    "ordinal": dict(baseline=0.0, effect=-0.8, n_categories=4),
}


def trial(kind: str, seed: int = 1) -> tuple[ModelData, ModelSpec]:
    rng = np.random.default_rng(seed)
    y = simulate_outcome(kind, ARM, TIME, rng=rng, rho=0.5, **SETTINGS[kind])
    extra: dict[str, Any] = dict(categories=("a", "b", "c", "d")) if kind == "ordinal" else {}
    outcome = OutcomeSpec(name="x", kind=kind, question="?", better="lower", mcid=1.0, **extra)  # type: ignore[arg-type]
    data = ModelData(
        y=y,
        arm=ARM,
        time=TIME,
        period=PERIOD,
        n_categories=4 if kind == "ordinal" else None,
    )
    spec = ModelSpec(
        kind=kind,  # type: ignore[arg-type]
        autocorrelation=True,
        trend="none",
        prior=default_prior(outcome, y),
        latent="period",
    )
    return data, spec


@pytest.mark.sampling
@pytest.mark.parametrize("kind", ["binary", "count", "ordinal"])
def test_importance_matches_long_nuts_within_monte_carlo_error(kind: str) -> None:
    data, spec = trial(kind)
    imp = fit(data, spec, draws=10_000, chains=2, seed=1)
    nuts = fit(data, spec, draws=10_000, tune=1000, chains=2, seed=2, engine="nuts")
    assert imp.sampler == "importance" and imp.importance is not None
    assert imp.importance.khat <= 0.7
    g, n = imp.effect, nuts.effect
    sd = float(np.std(g))
    ess_is = imp.importance.ess
    ess_mean = float(azs.ess(nuts.idata, var_names=["effect"], method="mean")["effect"])
    assert abs(g.mean() - n.mean()) < 4 * np.sqrt(sd**2 / ess_mean + sd**2 / ess_is)
    assert abs(np.std(n) / sd - 1) < 0.08
    for prob in (0.025, 0.975):
        ess = float(
            azs.ess(nuts.idata, var_names=["effect"], method="quantile", prob=prob)["effect"]
        )
        density = stats.gaussian_kde(g)(np.quantile(g, prob))[0]
        mcse = np.sqrt(prob * (1 - prob) * (1 / ess + 1 / ess_is)) / density
        assert abs(np.quantile(g, prob) - np.quantile(n, prob)) < 4 * mcse


@pytest.mark.sampling
@pytest.mark.parametrize("kind", ["binary", "count", "ordinal"])
def test_importance_posterior_has_the_variables_a_nuts_fit_has(kind: str) -> None:
    data, spec = trial(kind, seed=2)
    imp = fit(data, spec, draws=200, chains=2, seed=1)
    nuts = fit(data, spec, draws=100, tune=100, chains=2, seed=1, engine="nuts")
    assert set(imp.idata.posterior.data_vars) == set(nuts.idata.posterior.data_vars)
    assert imp.idata.posterior["effect"].shape == (2, 200)
    assert imp.seconds["total"] >= imp.seconds["sample"] > 0


@pytest.mark.sampling
def test_importance_same_seed_same_draws_other_seed_other_draws() -> None:
    data, spec = trial("binary", seed=3)
    a = fit(data, spec, draws=300, chains=2, seed=5)
    b = fit(data, spec, draws=300, chains=2, seed=5)
    c = fit(data, spec, draws=300, chains=2, seed=6)
    assert np.array_equal(a.effect, b.effect)
    assert not np.array_equal(a.effect, c.effect)


def test_vectorised_density_equals_the_models_own_log_density() -> None:
    """The batch density is the PyMC model's logp (the signed SD as is, both signs equal)."""
    data, spec = trial("count", seed=4)
    cached = sampled_model(data, spec)
    density = im._Density(cached)
    logp = cached.model.compile_logp()
    rng = np.random.default_rng(0)
    points = rng.normal(0.0, 0.5, size=(5, density.dim))
    batch = density(points)
    names = [v.name for v in cached.model.value_vars]
    for row, value in zip(points, batch, strict=True):
        point = {name: row[density.start_of(name)].reshape(()) for name in names}
        assert value == pytest.approx(float(logp(point)), rel=1e-9, abs=1e-8)
    assert np.allclose(density(density.mirror(points)), batch)


def test_smoothed_weights_of_a_good_proposal_have_a_small_khat() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_t(5, size=8000)
    log_ratio = stats.norm.logpdf(x) - stats.t.logpdf(x, 5)
    log_w, khat = im._smoothed_log_weights(log_ratio)
    assert khat < 0.5
    assert np.exp(log_w).sum() == pytest.approx(1.0)


def test_a_proposal_narrower_than_the_posterior_gets_a_large_khat() -> None:
    """The diagnostic can fail: a N(0, 0.3²) proposal for a Cauchy posterior."""
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 0.3, size=8000)
    log_ratio = stats.cauchy.logpdf(x) - stats.norm.logpdf(x, 0.0, 0.3)
    _, khat = im._smoothed_log_weights(log_ratio)
    assert khat > 0.7


def test_density_not_finite_at_most_points_is_a_data_error() -> None:
    log_ratio = np.full(100, -np.inf)
    log_ratio[:10] = 0.0
    with pytest.raises(DataError, match="--engine nuts"):
        im._smoothed_log_weights(log_ratio)


def test_systematic_resampling_follows_the_weights() -> None:
    weights = np.array([0.5, 0.25, 0.25, 0.0])
    index = im._systematic(weights, 4000, np.random.default_rng(2))
    counts = np.bincount(index, minlength=4)
    assert list(counts) == [2000, 1000, 1000, 0]


def test_a_day_level_latent_is_never_importance_sampled(monkeypatch: pytest.MonkeyPatch) -> None:
    """``latent = "ar"`` has a parameter per day: fit goes straight to NUTS."""
    data, spec = trial("binary")
    called: list[str] = []
    monkeypatch.setattr(im, "importance_fit", lambda *a, **k: called.append("is"))
    from nof1.model import sampling

    monkeypatch.setattr(sampling, "_sample", _stop)
    with pytest.raises(_Stopped):
        fit(data, evolve(spec, latent="ar"), draws=10, tune=10)
    assert called == []


def test_no_finite_mode_falls_back_to_nuts(monkeypatch: pytest.MonkeyPatch) -> None:
    data, spec = trial("binary")

    def fail(*_a: object, **_k: object) -> None:
        raise im.ImportanceFailed("no finite posterior mode was found")

    monkeypatch.setattr(im, "importance_fit", fail)
    from nof1.model import sampling

    monkeypatch.setattr(sampling, "_sample", _stop)
    with pytest.raises(_Stopped):  # reached NUTS
        fit(data, spec, draws=10, tune=10)


class _Stopped(Exception):
    pass


def _stop(*_a: object, **_k: object) -> None:
    raise _Stopped


def test_unreliable_weights_make_the_analysis_sample_with_nuts() -> None:
    """k̂ > 0.7 on the first fit: the analysis asks for NUTS, says so, and keeps NUTS's answer."""
    from nof1.model.spec import Fit, ImportanceInfo

    data, spec = trial("binary")
    good = fit(data, spec, draws=1000, chains=2, seed=1)
    calls: list[dict[str, Any]] = []

    def fake(md: ModelData, s: ModelSpec, **kwargs: Any) -> Fit:
        calls.append(kwargs)
        if kwargs.get("engine") == "nuts":
            return evolve(good, sampler="pymc", importance=None)
        info = ImportanceInfo(
            parameters=("beta",), proposals=8000, khat=0.93, ess=40.0, adaptations=2
        )
        return evolve(good, importance=info)

    said: list[str] = []
    outcome = OutcomeSpec(name="hd", kind="binary", question="?", better="lower", mcid=1.0)
    od = _outcome_data(outcome, data)
    settings = analysis.Settings(draws=250, tune=250, chains=2, seed=1)
    result, diag = analysis._fit_checked(
        od, spec, settings, "default", fit=fake, progress=said.append
    )
    assert [c.get("engine") for c in calls] == [None, "nuts"]
    assert "Pareto k̂ 0.93 > 0.7" in said[0] and "sampling with NUTS" in said[0]
    assert diag.engine == "nuts" and result.importance is None


def _outcome_data(outcome: OutcomeSpec, data: ModelData) -> Any:
    from nof1.dataset import OutcomeData

    n = data.y.size
    return OutcomeData(
        outcome=outcome,
        date=(None,) * n,
        time=data.time,
        y=data.y,
        arm=data.arm,
        period=np.asarray(data.period) + 1,
        block=(np.asarray(data.period) // 2) + 1,
        adherent=np.ones(n, dtype=bool),
    )
