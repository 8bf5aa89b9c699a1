"""docs/cli-reference.md is generated from --help and must not go stale."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_cli_reference", DOCS / "gen_cli_reference.py")
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
