"""Quiet by default: the stack's messages go to the workspace log; the heavy commands' fast exit."""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from nof1.cli.progress import LOG_FILE, FitProgress, captured_messages


def test_sampler_messages_and_warnings_go_to_the_workspace_log_not_the_screen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with captured_messages(tmp_path, verbose=False) as path:
        logging.getLogger("pymc").info("Sequential sampling (2 chains in 1 job)")
        logging.getLogger("pytensor.configdefaults").warning("Using NumPy C-API for BLAS")
        warnings.warn("overflow encountered in exp", RuntimeWarning, stacklevel=1)
    assert path == tmp_path / LOG_FILE
    text = path.read_text(encoding="utf-8")
    for message in ("Sequential sampling", "BLAS", "overflow encountered in exp"):
        assert message in text
    assert (path.stat().st_mode & 0o777) == 0o600
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_verbose_shows_the_messages_and_still_logs_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with captured_messages(tmp_path, verbose=True):
        logging.getLogger("pymc").info("NUTS: [sigma, rho]")
    assert "NUTS: [sigma, rho]" in capsys.readouterr().err
    assert "NUTS: [sigma, rho]" in (tmp_path / LOG_FILE).read_text(encoding="utf-8")


def test_a_log_file_left_readable_by_others_is_made_owner_only(tmp_path: Path) -> None:
    log = tmp_path / LOG_FILE
    log.write_text("old run\n", encoding="utf-8")
    log.chmod(0o644)
    with captured_messages(tmp_path, verbose=False):
        logging.getLogger("pymc").info("again")
    assert (log.stat().st_mode & 0o777) == 0o600
    assert log.read_text(encoding="utf-8").startswith("old run\n")  # appended, not replaced


def test_logging_is_restored_after_the_analysis(tmp_path: Path) -> None:
    logger = logging.getLogger("pymc")
    before = (list(logger.handlers), logger.propagate, logger.level)
    with pytest.raises(RuntimeError), captured_messages(tmp_path, verbose=False):
        raise RuntimeError("a failing fit")
    assert (list(logger.handlers), logger.propagate, logger.level) == before


def test_progress_off_a_terminal_prints_plain_step_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    progress = FitProgress(lines=True)
    progress("pain: fitting (default prior)")
    progress.close()
    assert capsys.readouterr().err == "pain: fitting (default prior)\n"
    quiet = FitProgress(enabled=False, lines=True)
    quiet("nothing")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["analyze", "--trial", "no-such-folder"], "Error: trial folder not found: no-such-folder"),
        (["report", "--engine", "gibbs"], "Error: --engine must be auto or nuts (got 'gibbs')"),
    ],
)
def test_heavy_command_keeps_its_exit_status_and_message_through_the_fast_exit(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "nof1", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 1
    assert out.stderr.startswith(message)


def test_heavy_command_help_exits_zero_with_its_text(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "nof1", "analyze", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 0 and "--engine" in out.stdout and "--verbose" in out.stdout
