"""Shared fixtures: a per-test random generator, and trial workspaces in ``tmp_path``.

``rng`` is a NumPy generator seeded from the test's own id: each test gets the same numbers on
every run, whatever other tests ran before it (no shared module-level generator).

``make_workspace(...)`` builds a folder with ``protocol.toml`` (seed and start date filled in);
``workspace`` is an unlocked one, ``started`` a locked one (``nof1 start`` done). By default the
trial started 20 days ago, so today is in period 1 (after the 14-day run-in).
"""

from __future__ import annotations

import datetime as dt
import os
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

# PyTensor's compiled code goes to a cache inside the repository, not the user's home directory
# (kept between test runs so the compiled samplers are reused). Set before anything imports it.
os.environ.setdefault(
    "NOF1_COMPILE_DIR", str(Path(__file__).resolve().parents[1] / ".pytest_cache" / "pytensor")
)
import nof1.model  # noqa: E402,F401  (points PyTensor at that cache before a test imports it)
from nof1.protocol import set_design_values

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "protocols" / "migraine-magnesium.toml"
SEED = 20240611
DAYS_AGO = 20

MakeWorkspace = Callable[..., Path]


def template_text(name: str = "migraine-magnesium") -> str:
    return (ROOT / "protocols" / f"{name}.toml").read_text(encoding="utf-8")


#: ``make_workspace(replace=NO_SKIP_LOGIC)``: every question asked every day, for tests that
#: simulate independent outcomes (``simulate_trial(linked=False)``) and must get them back.
NO_SKIP_LOGIC = [
    ('ask_if = "headache_day == yes"   # asked only on headache days\n', ""),
    (
        'analyse = "when_asked"            # intensity when present: analysed on headache days '
        "only\n",
        "",
    ),
    (
        "skipped_value = 0                 # for the diary and the stopping rule: a headache-free "
        "day has\n",
        "",
    ),  # fmt: skip
    ('ask_if = "headache_day == yes"\n', ""),
    (
        'analyse = "when_asked"            # severity when present: analysed on headache days '
        "only\n",
        "",
    ),
    ('skipped_value = "none"            # a headache-free day is severity "none"\n', ""),
]


def without_skip_logic(text: str) -> str:
    for old, new in NO_SKIP_LOGIC:
        text = text.replace(old, new)
    return text


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator of its own for each test, seeded from the test's id (reproducible)."""
    return np.random.default_rng([SEED, zlib.crc32(request.node.nodeid.encode("utf-8"))])


@pytest.fixture
def today() -> dt.date:
    return dt.date.today()


@pytest.fixture
def make_workspace(tmp_path: Path) -> MakeWorkspace:
    """Factory: ``make_workspace(name="trial", start=..., seed=..., template=..., replace=...)``.

    ``replace`` is a list of ``(old, new)`` text substitutions applied to the template (to vary
    blinding, outcomes, ...). Returns the workspace folder.
    """

    def make(
        name: str = "trial",
        *,
        start: dt.date | None = None,
        seed: int | None = SEED,
        template: str = "migraine-magnesium",
        replace: list[tuple[str, str]] | None = None,
        start_trial: bool = False,
    ) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        text = template_text(template)
        for old, new in replace or []:
            assert old in text, f"{old!r} not in template"
            text = text.replace(old, new)
        values: dict[str, int | dt.date] = {
            "start_date": start or dt.date.today() - dt.timedelta(days=DAYS_AGO)
        }
        if seed is not None:
            values["seed"] = seed
        (folder / "protocol.toml").write_text(set_design_values(text, values), encoding="utf-8")
        (folder / "reports").mkdir()
        if start_trial:
            from nof1.workspace import Workspace

            with Workspace.open(folder) as ws:
                ws.start()
        return folder

    return make


@pytest.fixture
def workspace(make_workspace: MakeWorkspace) -> Path:
    """An unlocked workspace folder (protocol ready to start)."""
    return make_workspace()


@pytest.fixture
def started(make_workspace: MakeWorkspace) -> Path:
    """A locked workspace folder: `nof1 start` done, trial began 20 days ago."""
    return make_workspace(start_trial=True)


@pytest.fixture
def open_started(started: Path) -> Iterator[object]:
    """The started workspace, opened (closed after the test)."""
    from nof1.workspace import Workspace

    ws = Workspace.open(started)
    yield ws
    ws.close()
