"""How posteriors are computed: grid integration (continuous), compile once, the compile cache."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import arviz_stats as azs
import numpy as np
import pytest
from attrs import evolve
from scipy import stats

from nof1 import summary
from nof1.model import ModelData, ModelSpec, compiledir, fit
from nof1.model.continuous import collapsed_model
from nof1.model.graph import sampled_model
from nof1.prior import default_prior
from nof1.protocol import OutcomeSpec
from nof1.simulate import simulate_outcome

N_DAYS = 112  # 8 periods of 14 days: the reference trial's length
TIME = np.arange(N_DAYS, dtype=float)
ARM = np.repeat([0, 1, 1, 0, 1, 0, 0, 1], 14)
PERIOD = np.repeat(np.arange(8), 14)


def continuous_data(seed: int = 5) -> ModelData:
    rng = np.random.default_rng(seed)
    y = simulate_outcome(
        "continuous", ARM, TIME, rng=rng, rho=0.5, baseline=5.0, effect=-1.2, sd=1.5
    )
    return ModelData(y=y, arm=ARM, time=TIME, period=PERIOD)


def period_shock_data(seed: int = 5, shock_sd: float = 0.7) -> ModelData:
    """The reference trial with a level shock per period on top of the AR(1) days."""
    rng = np.random.default_rng(seed)
    y = simulate_outcome(
        "continuous", ARM, TIME, rng=rng, rho=0.5, baseline=5.0, effect=-1.2, sd=1.5
    )
    shock = np.random.default_rng([seed, 9]).normal(0.0, shock_sd, 8)
    return ModelData(y=y + shock[PERIOD], arm=ARM, time=TIME, period=PERIOD)


def count_data(seed: int = 5) -> ModelData:
    rng = np.random.default_rng(seed)
    y = simulate_outcome("count", ARM, TIME, rng=rng, rho=0.3, baseline=10.0, effect=-4.0)
    return ModelData(y=y, arm=ARM, time=TIME, period=PERIOD)


def spec(kind: str, **prior: float) -> ModelSpec:
    """The analysis' default prior for a 0–10 scale (continuous) or a count, with overrides."""
    extra: dict[str, object] = dict(minimum=0.0, maximum=10.0) if kind == "continuous" else {}
    outcome = OutcomeSpec(name="x", kind=kind, question="?", better="lower", mcid=1.0, **extra)  # type: ignore[arg-type]
    return ModelSpec(
        kind=kind,
        autocorrelation=True,
        trend="none",
        prior=evolve(default_prior(outcome), **prior),
        latent="period",
    )


# --------------------------------------------------------------------------------------------
# grid integration
# --------------------------------------------------------------------------------------------


@pytest.mark.sampling
@pytest.mark.parametrize("latent", ["ar", "period"])
def test_grid_matches_long_nuts_within_monte_carlo_error(latent: str) -> None:
    """Without (``ar``) and with period intercepts: the grid and long NUTS agree."""
    data = period_shock_data() if latent == "period" else continuous_data()
    s = evolve(spec("continuous", sigma_scale=3.0), latent=latent)
    grid = fit(data, s, draws=20_000, chains=2, seed=1)
    nuts = fit(data, s, draws=10_000, tune=1000, chains=2, seed=2, engine="nuts")
    assert grid.sampler == "grid" and grid.grid is not None and nuts.grid is None
    g, n = grid.effect, nuts.effect
    sd = float(np.std(g))
    ess_mean = float(azs.ess(nuts.idata, var_names=["effect"], method="mean")["effect"])
    assert abs(g.mean() - n.mean()) < 4 * np.sqrt(sd**2 / ess_mean + sd**2 / g.size)
    for prob in (0.025, 0.975):
        ess = float(
            azs.ess(nuts.idata, var_names=["effect"], method="quantile", prob=prob)["effect"]
        )
        density = stats.gaussian_kde(g)(np.quantile(g, prob))[0]
        mcse = np.sqrt(prob * (1 - prob) * (1 / ess + 1 / g.size)) / density
        assert abs(np.quantile(g, prob) - np.quantile(n, prob)) < 4 * mcse


@pytest.mark.sampling
def test_grid_reports_a_settled_answer_and_negligible_edge_mass() -> None:
    result = fit(continuous_data(), spec("continuous"), draws=500, chains=2, seed=3)
    info = result.grid
    assert info is not None and info.parameters == ("sigma", "rho", "latent_sd")
    assert info.change <= 0.002 and info.edge_mass <= 1e-6
    assert result.effect.shape == (1000,)
    assert set(result.seconds) == {"build", "compile", "sample", "total"}
    post = result.idata.posterior
    assert {"sigma", "rho", "latent_sd", "intercept", "effect", "beta"} <= set(post.data_vars)
    assert not any(name.startswith("period_") for name in post.data_vars)


@pytest.mark.sampling
def test_grid_with_a_spline_trend_integrates_three_parameters() -> None:
    data = evolve(continuous_data(8), knots=(27.5, 55.5, 83.5))
    s = evolve(spec("continuous"), trend="spline", latent="ar")
    result = fit(data, s, draws=500, chains=2, seed=3)
    assert result.grid is not None and result.grid.parameters == ("sigma", "rho", "trend_tau")
    low, high = np.quantile(result.effect, [0.025, 0.975])
    assert low < -1.2 < high


@pytest.mark.sampling
def test_grid_on_a_constant_outcome_fails_its_diagnostics_instead_of_crashing() -> None:
    data = ModelData(y=np.full(N_DAYS, 5.0), arm=ARM, time=TIME, period=PERIOD)
    result = fit(data, spec("continuous"), draws=200, chains=2, seed=1)
    assert result.grid is not None and result.grid.edge_mass > 1e-4  # sigma pressed to zero
    assert np.all(np.isfinite(result.effect))
    diag = summary.grid_diagnostics(
        points=result.grid.points,
        change=result.grid.change,
        edge_mass=result.grid.edge_mass,
        draws=result.effect.size,
    )
    assert not diag.passed and summary.withheld_reason(diag) is not None


@pytest.mark.sampling
@pytest.mark.parametrize("scale", [1e-6, 1e6])
def test_grid_follows_an_outcome_on_a_tiny_or_huge_scale(scale: float) -> None:
    rng = np.random.default_rng(0)
    y = scale * (rng.normal(size=N_DAYS) + ARM)
    prior = evolve(
        spec("continuous").prior,
        intercept_mu=0.0,
        intercept_sigma=10 * scale,
        effect_sigma=5 * scale,
        sigma_scale=5 * scale,
        latent_sigma_scale=2.5 * scale,
    )
    s = evolve(spec("continuous"), prior=prior)
    result = fit(ModelData(y=y, arm=ARM, time=TIME, period=PERIOD), s, draws=200, seed=1)
    assert result.grid is not None
    assert result.grid.change <= 0.002 and result.grid.edge_mass <= 1e-6
    assert np.all(np.isfinite(result.effect))


@pytest.mark.sampling
def test_period_intercepts_widen_the_interval_under_period_shocks() -> None:
    data = period_shock_data()
    with_periods = fit(data, spec("continuous"), draws=1000, seed=4)
    without = fit(data, evolve(spec("continuous"), latent="ar"), draws=1000, seed=4)
    assert with_periods.grid is not None and with_periods.grid.change <= 0.002
    assert with_periods.grid.edge_mass <= 1e-6
    assert np.std(with_periods.effect) > 1.15 * np.std(without.effect)


@pytest.mark.sampling
def test_period_model_with_one_period_per_arm_settles_on_a_wide_interval() -> None:
    """Two periods (A then B): the period intercepts span the arm contrast entirely, so only
    their prior separates a period shock from the effect. The grid still settles; the interval
    is honestly wide instead of the AR(1)-only model's narrow one."""
    arm = np.repeat([0, 1], 28)
    time = np.arange(56.0)
    y = simulate_outcome(
        "continuous",
        arm,
        time,
        rng=np.random.default_rng(2),
        rho=0.3,
        baseline=5.0,
        effect=0.0,
        sd=1.0,
    )
    data = ModelData(y=y, arm=arm, time=time, period=np.repeat([0, 1], 28))
    result = fit(data, spec("continuous"), draws=1000, seed=2)
    narrow = fit(data, evolve(spec("continuous"), latent="ar"), draws=1000, seed=2)
    assert result.grid is not None and result.grid.change <= 0.002
    assert result.grid.edge_mass <= 1e-6 and np.all(np.isfinite(result.effect))
    assert np.std(result.effect) > 2 * np.std(narrow.effect)


@pytest.mark.sampling
def test_period_model_with_all_days_in_one_period_matches_the_model_without() -> None:
    """One label for every day: the single period intercept only shifts the level, so the
    effect's posterior is the one without a period term, and the grid still settles (its
    ``latent_sd`` axis stays at the prior)."""
    data = continuous_data()
    one = evolve(data, period=np.zeros(N_DAYS, dtype=int))
    result = fit(one, spec("continuous"), draws=4000, seed=6)
    reference = fit(data, evolve(spec("continuous"), latent="ar"), draws=4000, seed=6)
    assert result.grid is not None and result.grid.parameters[-1] == "latent_sd"
    assert result.grid.change <= 0.002 and result.grid.edge_mass <= 1e-6
    sd = float(np.std(reference.effect))
    assert abs(np.mean(result.effect) - np.mean(reference.effect)) < 0.05 * sd
    assert abs(np.std(result.effect) - sd) < 0.03 * sd


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="engine must be one of auto, nuts"):
        fit(continuous_data(), spec("continuous"), engine="gibbs")


# --------------------------------------------------------------------------------------------
# compile once
# --------------------------------------------------------------------------------------------


def test_another_prior_or_a_subset_reuses_the_collapsed_graph() -> None:
    data = continuous_data()
    first = collapsed_model(data, spec("continuous"))
    keep = np.ones(N_DAYS, dtype=bool)
    keep[[3, 4, 40, 77]] = False
    subset = ModelData(y=data.y[keep], arm=ARM[keep], time=TIME[keep], period=PERIOD[keep])
    again = collapsed_model(subset, spec("continuous", effect_sigma=0.5, sigma_scale=9.0))
    assert again is first
    assert float(first.model["n_days"].get_value()) == keep.sum()


def test_another_prior_reuses_the_count_graph() -> None:
    first = sampled_model(count_data(), spec("count"))
    again = sampled_model(count_data(seed=6), spec("count", effect_sigma=0.3))
    assert again is first
    assert float(first.model["effect_sigma"].get_value()) == 0.3


@pytest.mark.sampling
def test_a_reused_sampler_gives_the_draws_of_a_fresh_one() -> None:
    data, default, sceptical = count_data(), spec("count"), spec("count", effect_sigma=0.2)
    kwargs = dict(draws=150, tune=150, chains=2, seed=9, engine="nuts")
    first = fit(data, default, **kwargs)  # type: ignore[arg-type]
    other = fit(data, sceptical, **kwargs)  # type: ignore[arg-type]
    again = fit(data, default, **kwargs)  # type: ignore[arg-type]
    assert np.array_equal(first.effect, again.effect)
    assert not np.array_equal(first.effect, other.effect)
    # one compiled NUTS sampler served all three fits (no timing comparison: the machine is shared)
    samplers = [key for key in sampled_model(data, default).cache if key[0] == "nuts"]
    assert samplers == [("nuts", 0.9)]


# --------------------------------------------------------------------------------------------
# the compile directory
# --------------------------------------------------------------------------------------------


@pytest.fixture
def fresh_pytensor(monkeypatch: pytest.MonkeyPatch) -> None:
    """``configure`` as before PyTensor is imported (the environment is restored after)."""
    monkeypatch.delitem(sys.modules, "pytensor", raising=False)
    monkeypatch.delenv("PYTENSOR_FLAGS", raising=False)


def test_compile_dir_is_private_owner_only_and_given_to_pytensor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_pytensor: None
) -> None:
    monkeypatch.setenv("NOF1_COMPILE_DIR", str(tmp_path / "cache"))
    root = compiledir.configure()
    assert root == tmp_path / "cache"
    assert (root.stat().st_mode & 0o777) == 0o700
    assert f"base_compiledir={root}" in os.environ["PYTENSOR_FLAGS"]


def test_compile_dir_defaults_to_the_user_cache_not_the_shared_pytensor_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOF1_COMPILE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert compiledir.default_dir() == tmp_path / "nof1" / "pytensor"


def test_compile_dir_respects_a_base_compiledir_the_user_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_pytensor: None
) -> None:
    monkeypatch.setenv("PYTENSOR_FLAGS", "base_compiledir=/somewhere/else")
    monkeypatch.setenv("NOF1_COMPILE_DIR", str(tmp_path / "cache"))
    assert compiledir.configure() is None
    assert os.environ["PYTENSOR_FLAGS"] == "base_compiledir=/somewhere/else"
    assert not (tmp_path / "cache").exists()


def test_compile_dir_with_a_comma_in_its_path_is_not_passed_to_pytensor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_pytensor: None
) -> None:
    monkeypatch.setenv("NOF1_COMPILE_DIR", str(tmp_path / "a,b=c"))
    assert compiledir.configure() is None
    assert "PYTENSOR_FLAGS" not in os.environ


def test_compile_dir_in_an_unwritable_place_does_not_stop_the_analysis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_pytensor: None
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NOF1_COMPILE_DIR", str(blocker / "cache"))
    assert compiledir.configure() is None


def test_compile_dir_is_pruned_oldest_first_to_its_bound(tmp_path: Path) -> None:
    for i in range(10):
        path = tmp_path / f"module{i}.so"
        path.write_bytes(b"x" * 1000)
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    removed = compiledir.prune(tmp_path, max_bytes=5000, target_bytes=3000)
    assert removed == 7000
    assert sorted(p.name for p in tmp_path.glob("*.so")) == [
        "module7.so",
        "module8.so",
        "module9.so",
    ]
    # checked at most once a day: a second call right after removes nothing
    (tmp_path / "more.so").write_bytes(b"x" * 10_000)
    assert compiledir.prune(tmp_path, max_bytes=5000, target_bytes=3000) == 0
