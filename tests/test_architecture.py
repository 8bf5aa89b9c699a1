"""The pipeline of docs/architecture.md, enforced on the imports parsed with ``ast``.

A module imports only from modules to its left (plus ``errors`` and ``record``); nothing imports
``cli``; no two modules import each other, even inside one package; the daily path stays free of
numpy/PyMC/ArviZ/matplotlib; every command has help text.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "nof1"
DOC = ROOT / "docs" / "architecture.md"

#: The pipeline line of docs/architecture.md, left to right. "diary / tidy" is read in order too
#: (tidy may use diary), as written. ``test_pipeline_matches_the_doc`` keeps the two in step.
PIPELINE: list[str] = [
    "vocab",
    "files",
    "protocol",
    "templates",
    "schedule",
    "record",
    "simulate",
    "store",
    "workspace",
    "integrity",
    "diary",
    "tidy",
    "ical",
    "dataset",
    "prior",
    "model",
    "verdict",
    "summary",
    "randomization",
    "analysis",
    "plan",
    "report",
    "cli",
    "web",
]
IN_TABLE_ONLY: set[str] = set()
RANK = {name: rank for rank, name in enumerate(PIPELINE)}
ANYONE_MAY_IMPORT = {"errors", "record", "nof1"}  # "nof1": the package itself (__version__)
HEAVY = {"numpy", "scipy", "pymc", "pytensor", "arviz", "matplotlib", "nutpie", "pandas", "xarray"}
#: The web stack: only `nof1 serve` loads it, inside its command function.
WEB_STACK = {"starlette", "uvicorn", "segno", "multipart", "python_multipart"}
LIGHT = {
    "vocab",
    "files",
    "protocol",
    "templates",
    "schedule",
    "record",
    "store",
    "workspace",
    "integrity",
    "diary",
    "tidy",
    "ical",
}


def concept(parts: tuple[str, ...]) -> str | None:
    """The pipeline concept of module ``nof1.<parts>`` (``None`` when the doc does not place it).

    Packages (``model/``, ``plan/``, ``report/``, ``cli/``) belong to their concept; a file
    ``<concept>_<part>.py`` belongs to ``<concept>`` (one concept split into files).
    """
    if not parts or parts == ("__init__",):
        return "nof1"
    if parts == ("__main__",):
        return "cli"  # `python -m nof1` is the command line
    head = parts[0]
    if head in RANK or head == "errors":
        return head
    prefix = head.split("_")[0]
    return prefix if prefix in RANK else None


def source_files() -> list[tuple[tuple[str, ...], Path]]:
    files = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        files.append((parts, path))
    return files


def nof1_imports(
    parts: tuple[str, ...], path: Path, *, top_level: bool = False
) -> list[tuple[str, ...]]:
    """Modules of nof1 imported by a file (as part tuples), all or only at module level."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level else list(ast.walk(tree))
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    found: list[tuple[str, ...]] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                names = alias.name.split(".")
                if names[0] == "nof1":
                    found.append(tuple(names[1:]))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                module = (*base, *(node.module.split(".") if node.module else ()))
            elif node.module and node.module.split(".")[0] == "nof1":
                module = tuple(node.module.split(".")[1:])
            else:
                continue
            submodules = [
                a.name
                for a in node.names
                if (SRC.joinpath(*module, a.name)).exists()
                or SRC.joinpath(*module, f"{a.name}.py").exists()
            ]
            found.extend((*module, name) for name in submodules)
            if len(submodules) < len(node.names):
                found.append(module)
    return found


def third_party_imports(path: Path, *, top_level: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names


FILES = source_files()
IDS = [".".join(p) for p, _ in FILES]


def test_pipeline_matches_the_doc() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"```\n(vocab →.*?)```", text, re.S)
    assert block, "the pipeline code block is missing from docs/architecture.md"
    names = [name.strip() for name in re.split(r"[→/]", block.group(1))]
    assert names == [name for name in PIPELINE if name not in IN_TABLE_ONLY]
    for name in IN_TABLE_ONLY:
        assert f"| `{name}` |" in text


def test_every_module_is_placed_in_the_pipeline() -> None:
    unplaced = [".".join(p) for p, _ in FILES if concept(p) is None]
    assert not unplaced, (
        f"modules not placed in docs/architecture.md: {', '.join(unplaced)} — add each to the "
        "pipeline (or name it <concept>_<part>.py when it is part of one concept)"
    )


def violations(parts: tuple[str, ...], path: Path) -> list[str]:
    """Imports of file ``path`` (module ``nof1.<parts>``) that break the pipeline order."""
    me = concept(parts)
    assert me is not None
    wrong = []
    for target_parts in nof1_imports(parts, path):
        target = concept(target_parts)
        if target == me or target in ANYONE_MAY_IMPORT:
            continue
        if target is None and me not in ("errors", "nof1"):
            continue  # reported once by test_every_module_is_placed_in_the_pipeline
        if me in ("errors", "nof1"):
            wrong.append(f"{'.'.join(target_parts)} ({me} imports nothing from nof1)")
        elif target == "cli":
            wrong.append(f"{'.'.join(target_parts)} (nothing imports cli)")
        elif target == "web":
            if parts != ("cli", "serve"):
                wrong.append(f"{'.'.join(target_parts)} (nothing imports web but `nof1 serve`)")
        elif target is None or RANK[target] >= RANK[me]:
            wrong.append(f"{'.'.join(target_parts)} (not to the left of {me})")
    return wrong


@pytest.mark.parametrize(("parts", "path"), FILES, ids=IDS)
def test_imports_flow_one_way(parts: tuple[str, ...], path: Path) -> None:
    if concept(parts) is None:
        pytest.skip("not placed in the pipeline (see test_every_module_is_placed_in_the_pipeline)")
    wrong = violations(parts, path)
    assert not wrong, f"nof1.{'.'.join(parts)} imports " + "; ".join(wrong)


def test_the_checker_catches_backward_and_cli_imports(tmp_path: Path) -> None:
    path = tmp_path / "schedule.py"
    path.write_text(
        "import nof1.errors\nfrom nof1.protocol import Design\nfrom nof1 import record\n"
        "from nof1.store import Store\n\ndef f():\n    from nof1.cli.app import app\n",
        encoding="utf-8",
    )
    assert violations(("schedule",), path) == [
        "store (not to the left of schedule)",
        "cli.app (nothing imports cli)",
    ]


def module_of(parts: tuple[str, ...]) -> tuple[str, ...] | None:
    """The source module an import target names: a file, a package's ``__init__``, or None."""
    if SRC.joinpath(*parts).with_suffix(".py").is_file():
        return parts
    if SRC.joinpath(*parts, "__init__.py").is_file():
        return (*parts, "__init__")
    return None


def import_graph(files: list[tuple[tuple[str, ...], Path]]) -> dict[str, set[str]]:
    """Module -> the nof1 modules it imports anywhere (module level, functions, TYPE_CHECKING).

    Importing a submodule (``nof1.report.fmt``) is an edge to that file only, not to the
    package's ``__init__``.
    """
    graph: dict[str, set[str]] = {}
    for parts, path in files:
        targets = {module_of(t) for t in nof1_imports(parts, path)}
        graph[".".join(parts)] = {".".join(t) for t in targets if t is not None and t != parts}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle, each once, as the list of modules around it (Tarjan's SCCs)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_even_inside_a_package() -> None:
    found = cycles(import_graph(FILES))
    assert not found, "import cycles (break each by moving what both need to one side): " + (
        "; ".join(" <-> ".join(c) for c in found)
    )


def test_the_cycle_checker_catches_a_cycle_inside_a_package(tmp_path: Path) -> None:
    (tmp_path / "context.py").write_text(
        "def view():\n    from nof1.report.sections import build\n", encoding="utf-8"
    )
    (tmp_path / "sections.py").write_text(
        "from nof1.report.context import TrialRecord\n", encoding="utf-8"
    )
    files = [(("report", "context"), tmp_path / "context.py")]
    files.append((("report", "sections"), tmp_path / "sections.py"))
    assert cycles(import_graph(files)) == [["report.context", "report.sections"]]
    acyclic = cycles({"a": {"b"}, "b": {"c"}, "c": set()})
    assert acyclic == []


@pytest.mark.parametrize(
    ("parts", "path"),
    [(p, f) for p, f in FILES if concept(p) in LIGHT | {"errors", "nof1"}],
    ids=[
        i for (p, _), i in zip(FILES, IDS, strict=True) if concept(p) in LIGHT | {"errors", "nof1"}
    ],
)
def test_daily_path_modules_are_light(parts: tuple[str, ...], path: Path) -> None:
    heavy = third_party_imports(path, top_level=False) & (HEAVY | WEB_STACK)
    assert not heavy, f"nof1.{'.'.join(parts)} imports {', '.join(sorted(heavy))}"
    heavy_nof1 = {
        ".".join(t)
        for t in nof1_imports(parts, path)
        if concept(t) not in LIGHT | ANYONE_MAY_IMPORT
    }
    assert not heavy_nof1, f"nof1.{'.'.join(parts)} imports {', '.join(sorted(heavy_nof1))}"


@pytest.mark.parametrize(
    ("parts", "path"),
    [(p, f) for p, f in FILES if p[0] == "cli"],
    ids=[i for (p, _), i in zip(FILES, IDS, strict=True) if p[0] == "cli"],
)
def test_cli_modules_import_heavy_modules_only_inside_commands(
    parts: tuple[str, ...], path: Path
) -> None:
    heavy = third_party_imports(path, top_level=True) & (HEAVY | WEB_STACK)
    heavy_nof1 = {
        ".".join(t)
        for t in nof1_imports(parts, path, top_level=True)
        if concept(t) not in LIGHT | ANYONE_MAY_IMPORT | {"cli"}
    }
    assert not heavy and not heavy_nof1, (
        f"nof1.{'.'.join(parts)} imports {', '.join(sorted(heavy | heavy_nof1))} at module level: "
        "import it inside the command function"
    )


def test_importing_the_cli_loads_no_scientific_stack() -> None:
    stack = sorted(HEAVY | WEB_STACK)
    code = f"import sys, nof1.cli; print(sorted(m for m in {stack!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"


@pytest.mark.parametrize(
    ("parts", "path"),
    [(p, f) for p, f in FILES if p[0] == "web"],
    ids=[i for (p, _), i in zip(FILES, IDS, strict=True) if p[0] == "web"],
)
def test_web_is_a_peer_of_cli_without_statistics(parts: tuple[str, ...], path: Path) -> None:
    """web/ parses HTTP and calls the daily-path library, like cli/: no scientific stack, no
    model or analysis of its own, never the CLI."""
    heavy = third_party_imports(path, top_level=False) & HEAVY
    assert not heavy, f"nof1.{'.'.join(parts)} imports {', '.join(sorted(heavy))}"
    beyond = {
        ".".join(t)
        for t in nof1_imports(parts, path)
        if concept(t) not in LIGHT | ANYONE_MAY_IMPORT | {"web"}
    }
    assert not beyond, f"nof1.{'.'.join(parts)} imports {', '.join(sorted(beyond))}"


def test_nothing_imports_web_but_the_serve_command() -> None:
    importers = [
        ".".join(p)
        for p, f in FILES
        if p[0] != "web" and any(t and t[0] == "web" for t in nof1_imports(p, f))
    ]
    assert importers == ["cli.serve"]


def test_every_command_has_help_text() -> None:
    from nof1.cli import app

    commands = app.registered_commands
    assert commands
    missing = []
    for command in commands:
        name = command.name or (command.callback.__name__ if command.callback else "?")
        doc = command.help or (command.callback.__doc__ if command.callback else None) or ""
        if not doc.strip():
            missing.append(name)
    assert not missing, f"commands without help text: {', '.join(missing)}"
    for group in app.registered_groups:
        assert group.help or (group.typer_instance and group.typer_instance.info.help)
