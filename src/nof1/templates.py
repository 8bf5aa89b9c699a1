"""The protocol templates shipped in ``protocols/``: where they are, their names, their lookup.

Stdlib only (``nof1 init`` and ``nof1 templates`` are on the fast path). A template is a
protocol TOML file whose first comment line describes it.
"""

from __future__ import annotations

from pathlib import Path

from nof1.errors import TemplateError

#: The first comment line of a template starts with this (left out of its description).
TEMPLATE_PREFIX = "N-of-1 trial template:"


def template_dirs() -> list[Path]:
    """Where templates are looked up: package data of an installed wheel, then the source tree."""
    package = Path(__file__).resolve().parent  # src/nof1 (or site-packages/nof1)
    return [package / "protocols", package.parents[1] / "protocols"]


def templates() -> dict[str, Path]:
    """Available templates by name (file name without ``.toml``), sorted by name."""
    found: dict[str, Path] = {}
    for folder in template_dirs():
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def template_description(path: Path) -> str:
    """The first comment line of a template, without the ``N-of-1 trial template:`` prefix."""
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.lstrip("#").strip()
        if line.startswith("#") and text:
            return text.removeprefix(TEMPLATE_PREFIX).strip()
    return ""


def find_template(template: str | Path) -> Path:
    """The file of a template given by name (see :func:`templates`) or as a path to a .toml file.

    Raises
    ------
    TemplateError
        When it is neither a known template nor an existing ``.toml`` file; the message lists
        the available templates.
    """
    found = templates()
    name = str(template)
    if name in found:
        return found[name]
    candidate = Path(template)
    if candidate.suffix == ".toml" and candidate.is_file():
        return candidate
    if not found:
        raise TemplateError(
            f"no templates found (looked in {', '.join(str(d) for d in template_dirs())})"
        )
    raise TemplateError(
        f"unknown template {name!r} (available: {', '.join(found)}; see `nof1 templates`)"
    )
