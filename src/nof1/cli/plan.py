"""CLI commands: plan (being written)."""

from nof1.cli.app import app  # noqa: F401
