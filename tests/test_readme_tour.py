"""The README's five-minute tour runs as written, line by line, in an empty folder, today.

The tour's code block is read from README.md (so the test follows the README, not a copy) and
each command runs in bash with the virtual environment's ``nof1`` on the PATH; each must exit 0.
Two lines are not run, and only these two: ``source .venv/bin/activate`` (the test puts the same
bin folder first on PATH, which is all activation does) and ``$EDITOR protocol.toml``
(interactive). ``cd`` lines change the folder the next lines run in. The tour must never unblind:
no line reveals the allocation, and nothing printed names an arm.

The `plan` line simulates designs (slow), so the whole tour is a ``sampling`` test.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent
NOT_RUN = {("source", ".venv/bin/activate"), ("$EDITOR", "protocol.toml")}
ARM_WORDS = ("magnesium", "placebo")


def code_block(after_heading: str, *, index: int = 0) -> list[str]:
    """The commands of the ``index``-th bash block after a heading: comments and blank lines
    dropped, backslash continuations joined."""
    text = README.read_text(encoding="utf-8")
    start = text.index(after_heading)
    blocks = re.findall(r"```bash\n(.*?)```", text[start:], flags=re.S)
    joined = blocks[index].replace("\\\n", " ")
    commands = []
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        commands.append(line)
    return commands


def tokens(line: str) -> tuple[str, ...]:
    """The words of a command line, its trailing ``# comment`` dropped (quotes respected)."""
    return tuple(shlex.split(line, comments=True))


#: Commands whose output a patient reads while blinded: none may name an arm.
PATIENT_FACING = {"today", "status", "schedule", "log", "calendar", "allocation", "start"}


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOF1")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(home)  # nothing may touch the real home folder
    env["MPLBACKEND"] = "Agg"
    return env


def run_line(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


def test_tour_block_is_found_and_never_unblinds() -> None:
    tour = code_block("## A five-minute tour")
    assert tour[0] == "source .venv/bin/activate"
    commands = [tokens(line) for line in tour]
    assert ("nof1", "init", "my-trial", "--template", "migraine-magnesium", "--start", "today") in (
        commands
    )
    assert not [c for c in commands if "--reveal" in c]
    assert NOT_RUN <= set(commands)


def test_tokens_keep_quoted_hashes() -> None:
    assert tokens("nof1 log --note 'a # b'   # comment") == ("nof1", "log", "--note", "a # b")


@pytest.mark.sampling
def test_readme_tour_runs_line_by_line_in_an_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    env = environment(tmp_path)
    cwd = folder
    ran = 0
    printed = []
    for line in code_block("## A five-minute tour"):
        words = tokens(line)
        if words in NOT_RUN:
            continue
        if words[0] == "cd":
            cwd = (cwd / words[1]).resolve()
            assert cwd.is_dir(), f"README tour: `{line}` — no such folder"
            continue
        done = run_line(line, cwd, env)  # as written: bash drops the comment itself
        assert done.returncode == 0, (
            f"README tour line failed (exit {done.returncode}): {line}\n"
            f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        )
        if words[0] == "nof1" and words[1] in PATIENT_FACING:
            printed.append(done.stdout + done.stderr)
        ran += 1
    assert ran >= 9
    trial = folder / "my-trial"
    assert (trial / "nof1.sqlite").exists() and (trial / "trial.ics").exists()
    seen = "\n".join(printed).lower() + (trial / "trial.ics").read_text(encoding="utf-8").lower()
    for word in ARM_WORDS:  # the tour never unblinds
        assert word not in seen.replace("migraine-magnesium", "")


@pytest.mark.sampling
def test_readme_analyze_example_runs(tmp_path: Path) -> None:
    [command] = code_block("Data collected elsewhere can be analysed without a workspace")
    done = run_line(command, ROOT, environment(tmp_path))
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    assert "mood" in done.stdout
