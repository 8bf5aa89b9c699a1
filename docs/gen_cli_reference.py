"""Generate docs/cli-reference.md from the commands' own ``--help`` text.

Run ``make docs`` (or ``python docs/gen_cli_reference.py``) after changing a command;
``tests/test_cli_reference.py`` fails while the committed file is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from typer.testing import CliRunner

from nof1.cli import app

OUT = Path(__file__).resolve().parent / "cli-reference.md"
WIDTH = 100


def help_text(*args: str) -> str:
    result = CliRunner().invoke(
        app, [*args, "--help"], prog_name="nof1", terminal_width=WIDTH, env={"COLUMNS": str(WIDTH)}
    )
    if result.exit_code != 0:
        raise RuntimeError(f"`nof1 {' '.join(args)} --help` failed: {result.output}")
    return result.output.rstrip() + "\n"


def command_names() -> list[str]:
    import typer.main

    group = typer.main.get_command(app)
    return list(group.commands)  # type: ignore[attr-defined]


def render() -> str:
    parts = [
        "# CLI reference\n",
        "Generated from `--help` by `docs/gen_cli_reference.py` (`make docs`); do not edit by "
        "hand. A test fails when this file is stale.\n",
        "## nof1\n",
        "```text\n" + help_text() + "```\n",
    ]
    for name in command_names():
        parts.append(f"## nof1 {name}\n")
        parts.append("```text\n" + help_text(name) + "```\n")
    return "\n".join(parts)


def main() -> None:
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
