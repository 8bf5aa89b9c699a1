"""docs/cli-reference.md is generated from --help and must not go stale."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "gen_cli_reference", DOCS / "gen_cli_reference.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_up_to_date() -> None:
    committed = (DOCS / "cli-reference.md").read_text(encoding="utf-8")
    assert committed == _generator().render(), (
        "docs/cli-reference.md is stale: run `make docs` and commit it"
    )


def test_every_command_is_in_the_reference() -> None:
    text = (DOCS / "cli-reference.md").read_text(encoding="utf-8")
    for name in _generator().command_names():
        assert f"## nof1 {name}\n" in text


def test_every_command_maps_to_the_module_that_defines_it() -> None:
    """`nof1 CMD` imports only COMMAND_AREA[CMD]: the map must name every command correctly."""
    import typer.main

    from nof1.cli import COMMAND_AREA, app

    defined = {}
    for info in app.registered_commands:
        name = info.name or typer.main.get_command_name(info.callback.__name__)
        defined[name] = info.callback.__module__.rsplit(".", 1)[-1]
    assert defined == COMMAND_AREA


def test_every_command_runs_through_the_real_entry_point() -> None:
    """`nof1 CMD` loads only CMD's module; each must still parse as a subcommand."""
    import subprocess
    import sys

    from nof1.cli import COMMAND_AREA

    for name in COMMAND_AREA:
        done = subprocess.run(
            [sys.executable, "-m", "nof1", name, "--help"], capture_output=True, text=True
        )
        assert done.returncode == 0, f"nof1 {name} --help: {done.stderr}"
        assert done.stdout.startswith(f"Usage: nof1 {name} "), done.stdout[:200]
