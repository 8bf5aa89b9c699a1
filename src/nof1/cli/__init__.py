"""Command-line interface: ``nof1 COMMAND``. Parse, call the library, print, set the exit code.

Each area registers its commands on the shared :data:`app` from its own module.
"""

# Import order is the order of `nof1 --help`: set up, plan, run, analyse, report.
from nof1.cli import setup, plan, diary, analyze, report  # noqa: F401, I001  (registers commands)
from nof1.cli.app import app

__all__ = ["app"]
