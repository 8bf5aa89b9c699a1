"""The shared vocabulary: one definition per closed set, used by every stage."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from attrs import field, frozen

from nof1 import vocab
from nof1.model import ModelSpec
from nof1.prior import default_prior
from nof1.protocol import OutcomeSpec

SRC = Path(__file__).resolve().parents[1] / "src" / "nof1"


def test_closed_sets_are_defined_only_in_vocab() -> None:
    """No module spells out a closed set of the vocabulary again (the copies drifted once)."""
    sets = {vocab.KINDS, vocab.TRENDS, vocab.DIRECTIONS, vocab.SEVERITIES, vocab.TOOK}
    copies = []
    for path in SRC.rglob("*.py"):
        if path.name == "vocab.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Tuple) and all(isinstance(e, ast.Constant) for e in node.elts):
                values = tuple(e.value for e in node.elts if isinstance(e, ast.Constant))
                if values in sets:
                    copies.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not copies, "import these from nof1.vocab instead: " + ", ".join(copies)


def test_one_of_names_class_field_value_and_choices() -> None:
    @frozen
    class Thing:
        kind: str = field(validator=vocab.one_of(vocab.KINDS))

    assert Thing("count").kind == "count"
    with pytest.raises(ValueError) as caught:
        Thing("rating")
    assert str(caught.value) == (
        "Thing.kind must be one of continuous, count, binary, ordinal (got 'rating')"
    )


def test_model_spec_validates_against_the_vocabulary() -> None:
    pain = OutcomeSpec("pain", "continuous", "Pain?", "lower", 1.0, minimum=0, maximum=10)
    prior = default_prior(pain)
    with pytest.raises(ValueError, match="ModelSpec.trend must be one of none, linear, spline"):
        ModelSpec(kind="continuous", autocorrelation=True, trend="cubic", prior=prior)


@pytest.mark.parametrize("kind", vocab.KINDS)
def test_every_kind_has_its_scale_wording(kind: str) -> None:
    assert "(B − A)" in vocab.SCALES[kind]
    per = kind in vocab.PER_EXPOSURE_KINDS
    assert vocab.exposure_factor(kind) == (28.0 if per else 1.0)
    assert ("per 28 days" in vocab.SCALES[kind]) == per


def test_words_reads_like_a_sentence() -> None:
    assert vocab.words(vocab.TRENDS) == "none, linear or spline"
    assert vocab.words(("only",)) == "only"
