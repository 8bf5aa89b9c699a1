"""nof1: run a randomized N-of-1 trial of one intervention and hand the result to your doctor.

The package is one pipeline whose imports flow one way::

    protocol -> schedule -> store -> model -> summary -> report -> cli

See ``docs/architecture.md``. Importing :mod:`nof1` is deliberately cheap (no numpy, no PyMC) so
that the daily ``nof1 log`` stays fast: even ``__version__`` is read from the installed package's
metadata only when asked for.
"""

from __future__ import annotations

from typing import Any

__all__ = ["__version__"]


def _installed_version() -> str:
    """The version of the installed distribution, set from git by hatch-vcs at install time.

    ``0.0.0+unknown`` when nof1 runs from a source tree that was never installed.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nof1")
    except PackageNotFoundError:
        return "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value = _installed_version()
        globals()["__version__"] = value  # computed once
        return value
    raise AttributeError(f"module 'nof1' has no attribute {name!r}")
