"""The version comes from git through the installed metadata (hatch-vcs), never a literal."""

from __future__ import annotations

import importlib.metadata
import re

from typer.testing import CliRunner

import nof1
from nof1.cli import app


def test_version_is_the_installed_build() -> None:
    assert nof1.__version__ == importlib.metadata.version("nof1")
    # a git build: PEP 440 with the commit in the local part unless HEAD is exactly a tag
    assert re.fullmatch(r"\d+(\.\d+)*(\.dev\d+)?(\+[0-9a-z.]+)?", nof1.__version__)


def test_version_option_prints_the_build() -> None:
    result = CliRunner().invoke(app, ["--version"], prog_name="nof1")
    assert result.exit_code == 0
    assert result.output == f"nof1 {nof1.__version__}\n"


def test_unknown_package_attribute_raises() -> None:
    try:
        nof1.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("nof1.no_such_thing did not raise")
