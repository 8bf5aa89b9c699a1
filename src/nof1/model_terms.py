"""Building blocks of the outcome models: trend bases, gap-exact AR(1) algebra, quadrature.

Pure numpy (trend basis, quadrature nodes) and pytensor (AR(1) terms) helpers shared by
:mod:`nof1.model` and :mod:`nof1.model_continuous`. Nothing here samples.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor.shape import shape_padright
from pytensor.tensor.variable import TensorVariable as _TensorVariable

TensorVariable = _TensorVariable[Any, Any]

#: Gauss–Hermite nodes and weights for E[f(Z)], Z ~ N(0, 1) (probabilists' Hermite).
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(21)
GH_NODES = _GH_NODES
GH_WEIGHTS = _GH_WEIGHTS / np.sqrt(2.0 * np.pi)


def scaled_time(time: np.ndarray) -> np.ndarray:
    """Time centred at mid-trial and scaled to [-1, 1] (so the level is the mid-trial level)."""
    t = np.asarray(time, dtype=float)
    mid = (t.min() + t.max()) / 2.0
    half = max((t.max() - t.min()) / 2.0, 1.0)
    return (t - mid) / half


def trend_basis(time: np.ndarray, trend: str, knots: tuple[float, ...]) -> tuple[np.ndarray, int]:
    """Columns of the trend and how many of them are spline hinges.

    Parameters
    ----------
    time : numpy.ndarray
        Day index of each observation.
    trend : {"none", "linear", "spline"}
    knots : tuple of float
        Block-end times; only those strictly inside the observed time range become hinges.

    Returns
    -------
    basis : numpy.ndarray, shape (n, p)
        ``linear``: scaled time. ``spline``: scaled time plus one hinge ``(t - k)_+`` per
        interior knot, each shifted so it is 0 at mid-trial (the trend is centred: the level
        parameter is the mid-trial level, where the effect is evaluated).
    n_hinges : int
    """
    t = np.asarray(time, dtype=float)
    n = t.size
    if trend == "none":
        return np.zeros((n, 0)), 0
    s = scaled_time(t)
    columns = [s]
    hinges = 0
    if trend == "spline":
        mid = (t.min() + t.max()) / 2.0
        half = max((t.max() - t.min()) / 2.0, 1.0)
        for k in sorted(set(knots)):
            if t.min() < k < t.max():
                ks = (k - mid) / half
                column = np.maximum(s - ks, 0.0) - max(0.0 - ks, 0.0)
                columns.append(column)
                hinges += 1
    return np.column_stack(columns), hinges


def gaps(time: np.ndarray) -> np.ndarray:
    """Gap in days before each observation (the first gets 1, unused)."""
    t = np.asarray(time, dtype=float)
    return np.concatenate([[1.0], np.diff(t)])


def ar_coefficients(rho: TensorVariable, gap: np.ndarray) -> tuple[TensorVariable, ...]:
    """``a_i = rho**g_i`` and innovation scale ``c_i = sqrt(1 - rho**(2 g_i))`` (c_1 = 1, a_1 = 0).

    Written with ``expm1`` so the gradient stays finite as ``rho`` approaches 1.
    """
    log_rho = pt.log(rho)
    g = pt.as_tensor_variable(gap)
    a = pt.exp(g * log_rho)
    c = pt.sqrt(-pt.expm1(2.0 * g * log_rho))
    first = np.zeros(len(gap), dtype=bool)
    first[0] = True
    a = pt.where(first, 0.0, a)
    c = pt.where(first, 1.0, c)
    return a, c


def whiten(values: TensorVariable, a: TensorVariable, c: TensorVariable) -> TensorVariable:
    """Map an AR(1) series to independent unit-variance innovations: ``(v_i - a_i v_{i-1}) / c_i``.

    ``values`` may be a vector (n,) or a matrix (n, p) whose columns are whitened alike.
    """
    prev = pt.concatenate([pt.zeros_like(values[:1]), values[:-1]], axis=0)
    if values.ndim == 2:
        return (values - a[:, None] * prev) / c[:, None]
    return (values - a * prev) / c


def latent_ar_matrix(rho: TensorVariable, time: np.ndarray) -> TensorVariable:
    """Lower-triangular ``L``: ``L @ z`` is a stationary, gap-exact AR(1) for ``z ~ N(0, I)``.

    ``L[i, j] = c_j * rho**(t_i - t_j)`` for ``j <= i``: the closed form of the recursion
    ``u_i = rho**g_i u_{i-1} + c_i z_i``, so no scan is needed at sampling time.
    """
    t = np.asarray(time, dtype=float)
    diff = t[:, None] - t[None, :]
    lower = np.tril(np.ones_like(diff, dtype=bool))
    distance = np.where(lower, diff, 0.0)
    log_rho = pt.log(rho)
    _, c = ar_coefficients(rho, gaps(t))
    powers = pt.exp(pt.as_tensor_variable(distance) * log_rho)
    return pt.where(lower, powers, 0.0) * c[None, :]


def expected_over_latent(f, eta: TensorVariable, sd: TensorVariable | None):  # type: ignore[no-untyped-def]
    """``E[f(eta + sd * Z)]`` with Z ~ N(0, 1) by 21-point Gauss–Hermite (``f(eta)`` if no sd)."""
    if sd is None:
        return f(eta)
    nodes = pt.as_tensor_variable(GH_NODES)
    weights = pt.as_tensor_variable(GH_WEIGHTS)
    values = f(shape_padright(eta) + sd * nodes)
    return pt.sum(values * weights, axis=-1)
