"""Command-line interface: ``nof1 COMMAND``. Parse, call the library, print, set the exit code.

Each area registers its commands on the shared :data:`app` from its own module.
"""

from nof1.cli import analyze, diary, plan, report, setup  # noqa: F401  (registers commands)
from nof1.cli.app import app

__all__ = ["app"]
