"""nof1: run a randomized N-of-1 trial of one intervention and hand the result to your doctor.

The package is one pipeline whose imports flow one way::

    protocol -> schedule -> store -> model -> summary -> report -> cli

See ``docs/architecture.md``. Importing :mod:`nof1` is deliberately cheap (no numpy, no PyMC) so
that the daily ``nof1 log`` stays fast.
"""

__version__ = "0.1.0"
