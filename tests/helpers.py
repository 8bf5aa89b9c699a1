"""Plain helpers shared by the tests (fixtures live in ``conftest.py``).

Import with ``from helpers import ...`` (pytest puts ``tests/`` on the path).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import arviz_base as azb
import numpy as np
from typer.testing import CliRunner, Result

from nof1 import model
from nof1.simulate import simulate_trial


def invoke(*args: object, input: str | None = None) -> Result:  # noqa: A002
    """Run ``nof1 ARGS...`` in-process (typer's CliRunner); stdout and stderr kept apart."""
    from nof1.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], input=input)


def edit_protocol(folder: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must occur) by ``new`` in ``folder/protocol.toml``."""
    path = folder / "protocol.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


class FakeFits:
    """A fake fitter (the ``fit`` parameter of the analysis): good or bad posteriors in order."""

    def __init__(self, *quality: str, centre: float = -2.0) -> None:
        self.quality = list(quality)
        self.calls: list[dict[str, Any]] = []
        self.centre = centre

    def __call__(  # type: ignore[no-untyped-def]
        self, data, spec, *, draws, tune, chains, seed, target_accept=0.8
    ):
        self.calls.append(
            {
                "draws": draws,
                "tune": tune,
                "seed": seed,
                "target_accept": target_accept,
                "prior": spec.prior.label,
                "n": data.y.size,
            }
        )
        good = (self.quality.pop(0) if self.quality else "good") == "good"
        rng = np.random.default_rng(seed)
        effect = rng.normal(self.centre, 0.3, size=(chains, draws))
        if not good:
            effect[1] += 2.0  # chains disagree: R-hat fails
        post = {
            "effect": effect,
            "intercept": rng.normal(5, 0.1, size=(chains, draws)),
            "sigma": np.abs(rng.normal(1.5, 0.05, size=(chains, draws))),
            "rho": rng.uniform(0.3, 0.6, size=(chains, draws)),
            # SD of the continuous model's period intercepts (with the days' periods known)
            "latent_sd": np.abs(rng.normal(0.3, 0.05, size=(chains, draws))),
        }
        idata = azb.from_dict(
            {"posterior": post, "sample_stats": {"diverging": np.zeros((chains, draws), bool)}}
        )
        return model.Fit(
            idata=idata,
            effect=effect.reshape(-1),
            relative=None,
            latent=None,
            seconds={"total": 0.0},
        )


def fill(ws: Any, effect: float = -2.0) -> None:
    """Log a simulated trial (unlinked outcomes) into a workspace, up to yesterday."""
    through = dt.date.today() - dt.timedelta(days=1)
    trial = simulate_trial(
        ws.protocol,
        ws.schedule,
        seed=9,
        effects={"peak_pain": effect},
        linked=False,
        through=min(through, ws.schedule.end),
    )
    with ws.store.transaction("test fill") as store:
        for obs in trial.observations:
            store.add_entry(obs.date, obs.outcome, obs.value)
        for took in trial.adherence:
            store.add_adherence(took.date, took.took)
