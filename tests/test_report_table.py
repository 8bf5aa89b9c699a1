"""The report of CSV data (``nof1.report.table``): same page 1, protocol details not recorded."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from helpers import FakeFits
from nof1 import analysis
from nof1.dataset import TableSpec
from nof1.errors import OutputError
from nof1.randomization import StatedScheme
from nof1.report import write_table_report
from nof1.report.table import UNKNOWN, build_table_view
from nof1.report.view import Facts, Figure

ROOT = Path(__file__).resolve().parents[1]
#: The real 70-day series (MIT, © Miura Meng; the licence is in examples/melatonin/LICENSE.md).
MELATONIN = ROOT / "examples" / "melatonin" / "melatonin_ema.csv"


def result(*quality: str, scheme: StatedScheme | None = None):
    specs = [
        TableSpec("mood", "melatonin", "study_day", control="0", better="higher", mcid=5.0),
        TableSpec("agency", "melatonin", "study_day", control="0", better="higher", mcid=5.0),
    ]
    return analysis.analyze_table(
        MELATONIN, specs, randomized_by=scheme, sensitivity=False, fit=FakeFits(*quality)
    )


def all_facts(view) -> dict[str, str]:
    rows: dict[str, str] = {}
    for section in view.sections:
        for block in section.blocks:
            if isinstance(block, Facts):
                rows.update(dict(block.rows))
    return rows


def test_protocol_details_a_csv_cannot_hold_are_not_recorded():
    view = build_table_view(result(), source="melatonin_ema.csv")
    facts = all_facts(view)
    for label in UNKNOWN:
        assert facts[label] == "not recorded"
    assert view.front.adherence.startswith("Not recorded")
    assert view.front.serious_events.startswith("Not recorded")
    assert "not recorded" in view.front.design
    assert view.metadata["patient"] == "not recorded"


def test_page_one_names_the_arms_by_the_treatment_values():
    view = build_table_view(result(), source="melatonin_ema.csv")
    assert view.front.title == "Analysis of melatonin_ema.csv: “1” vs “0”"
    assert "“1”" in view.front.headline.verdict and "“0”" in view.front.headline.verdict
    assert [o[0] for o in view.front.other_outcomes] == ["agency"]


def test_unstated_scheme_is_on_page_one_and_in_the_outcome_section():
    view = build_table_view(result(), source="melatonin_ema.csv")
    assert "randomization not stated (no randomization test)" in view.front.design
    assert all_facts(view)["Randomization test"].startswith("not run: how the treatments")


def test_stated_scheme_is_reported_with_its_p_value():
    view = build_table_view(result(scheme=StatedScheme("day", 2)), source="m.csv")
    assert "randomization as stated: time unit-level, restricted (max run 2)" in view.front.design
    assert all_facts(view)["Randomization test"].startswith("p = ")


def test_withheld_primary_has_no_probability_bar():
    view = build_table_view(result("bad", "bad"), source="m.csv")
    assert view.front.headline.bar is None
    assert view.front.headline.verdict.startswith("No verdict (withheld) for mood")


def test_no_figure_is_referenced_unless_drawn():
    view = build_table_view(result(), source="m.csv")
    blocks = [b for s in view.sections for b in s.blocks]
    assert not any(isinstance(b, Figure) for b in blocks)
    drawn = build_table_view(result(), source="m.csv", figures={"posterior-mood"})
    keys = [b.key for s in drawn.sections for b in s.blocks if isinstance(b, Figure)]
    assert keys == ["posterior-mood"]


def test_table_report_never_writes_onto_the_data_file(tmp_path):
    data = tmp_path / "m-report.json"  # a data file unluckily named like the report's JSON
    data.write_text("x\n", encoding="utf-8")
    renamed = attrs.evolve(result(), trial_id="m")
    with pytest.raises(OutputError):
        write_table_report(renamed, tmp_path, source="m.csv", protected=(data,), force=True)
    assert data.read_text(encoding="utf-8") == "x\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-report.json"]  # nothing written
