"""The outcome models: what a model sees, its PyMC graph, fitting, and predictive checks.

=======================  ==================================================================
:mod:`.spec`             :class:`ModelData`, :class:`ModelSpec`, :class:`Fit`, diagnostics (attrs)
:mod:`.terms`            numpy terms shared with the planner: trend basis, design matrix,
                         the per-gap sums of the AR(1) algebra (:class:`~.terms.GapMoments`)
:mod:`.graph`            the PyMC graph of every kind and its PyTensor terms (no sampling)
:mod:`.continuous`       the continuous model with its coefficients integrated out
:mod:`.grid`             that model's posterior by grid integration (the default engine)
:mod:`.importance`       count, binary and ordinal posteriors by importance sampling from a
                         Laplace approximation (their default engine; NUTS when it fails)
:mod:`.sampling`         :func:`fit`: the only place nof1 calls the sampler
:mod:`.check`            posterior predictive checks: replicates of every kind, statistics,
                         p-values, the :class:`~.check.PredictiveCheck` result
:mod:`.compiledir`       nof1's private, bounded PyTensor compile directory
=======================  ==================================================================

This ``__init__`` stays light: ``nof1.model.terms`` is imported by the planner's worker
processes, which must not load PyTensor, so :func:`fit` and :func:`build_model` are imported
from their modules only when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nof1.model import compiledir
from nof1.model.spec import CORES, ENGINES, LATENT, SAMPLERS, Fit, GridInfo, ModelData, ModelSpec

# Before any submodule imports PyTensor: nof1's own, bounded compile directory.
compiledir.configure()

if TYPE_CHECKING:
    from nof1.model.graph import build_model
    from nof1.model.sampling import fit

__all__ = [
    "CORES",
    "ENGINES",
    "LATENT",
    "SAMPLERS",
    "Fit",
    "GridInfo",
    "ModelData",
    "ModelSpec",
    "build_model",
    "fit",
]


def __getattr__(name: str) -> Any:
    value: Any
    if name == "fit":
        from nof1.model.sampling import fit as value
    elif name == "build_model":
        from nof1.model.graph import build_model as value
    else:
        raise AttributeError(f"module 'nof1.model' has no attribute {name!r}")
    globals()[name] = value  # imported once
    return value
