"""Every template in protocols/ loads, has the outcomes a headache clinician expects, and starts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from nof1.errors import LockError, TemplateError
from nof1.protocol import TrialProtocol, set_design_values
from nof1.schedule import build_schedule
from nof1.templates import find_template, template_description, templates
from nof1.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = sorted((ROOT / "protocols").glob("*.toml"))
NAMES = [p.stem for p in TEMPLATES]
START = dt.date(2026, 12, 7)
EXPECTED_OUTCOMES = {
    "headache_day": "binary",
    "peak_pain": "continuous",
    "severity": "ordinal",
    "acute_med_days": "count",
}


def workspace_from(template: Path, folder: Path, text: str | None = None) -> Path:
    folder.mkdir()
    text = template.read_text(encoding="utf-8") if text is None else text
    text = set_design_values(text, {"start_date": START, "seed": 20261201})
    (folder / "protocol.toml").write_text(text, encoding="utf-8")
    return folder


def test_the_three_required_templates_exist() -> None:
    assert {"migraine-magnesium", "migraine-sleep", "migraine-pregnenolone"} <= set(NAMES)


@pytest.mark.parametrize("path", TEMPLATES, ids=NAMES)
def test_template_loads_and_builds_a_schedule(path: Path) -> None:
    protocol = TrialProtocol.from_toml(path)
    assert protocol.trial_id == path.stem
    text = set_design_values(path.read_text(encoding="utf-8"), {"start_date": START, "seed": 1})
    schedule = build_schedule(TrialProtocol.from_text(text))
    assert len(schedule.periods) == 2 * protocol.design.blocks


@pytest.mark.parametrize("path", TEMPLATES, ids=NAMES)
def test_template_has_the_headache_outcomes_with_justified_mcids(path: Path) -> None:
    protocol = TrialProtocol.from_toml(path)
    kinds = {o.name: o.kind for o in protocol.outcomes}
    assert kinds == EXPECTED_OUTCOMES
    assert protocol.primary_outcome.name == "headache_day"
    assert protocol.outcome("peak_pain").minimum == 0
    assert protocol.outcome("peak_pain").maximum == 10
    assert len(protocol.outcome("severity").categories) == 4  # 0-3
    text = path.read_text(encoding="utf-8")
    assert "MCID" in text  # the comments justify the MCIDs
    assert text.startswith("# N-of-1 trial template:")  # the line `nof1 templates` shows


@pytest.mark.parametrize("path", TEMPLATES, ids=NAMES)
def test_template_stops_on_a_serious_adverse_event(path: Path) -> None:
    kinds = [r.kind for r in TrialProtocol.from_toml(path).stopping_rules]
    assert "serious_adverse_event" in kinds


@pytest.mark.parametrize("path", TEMPLATES, ids=NAMES)
def test_template_never_recommends_a_dose(path: Path) -> None:
    protocol = TrialProtocol.from_toml(path)
    for arm in (protocol.comparator, protocol.intervention):
        assert not any(unit in arm.dose.lower() for unit in (" mg", " g ", "µg", " iu"))


@pytest.mark.parametrize("name", ["migraine-magnesium", "migraine-sleep"])
def test_unsupervised_templates_start(name: str, tmp_path: Path) -> None:
    folder = workspace_from(ROOT / "protocols" / f"{name}.toml", tmp_path / name)
    with Workspace.open(folder) as ws:
        ws.start()
        assert ws.is_locked


def test_sleep_template_is_open_and_says_why() -> None:
    path = ROOT / "protocols" / "migraine-sleep.toml"
    protocol = TrialProtocol.from_toml(path)
    assert not protocol.blinding.blinded
    assert protocol.intervention.category == "lifestyle"
    assert "cannot be hidden" in path.read_text(encoding="utf-8")


def test_pregnenolone_is_a_supervised_hormone() -> None:
    path = ROOT / "protocols" / "migraine-pregnenolone.toml"
    protocol = TrialProtocol.from_toml(path)
    assert protocol.intervention.category == "hormone"
    assert protocol.supervision.required and protocol.needs_supervision
    assert protocol.supervision.clinician == "" and protocol.supervision.signed_off is None
    text = path.read_text(encoding="utf-8").lower()
    for topic in ("supervision", "hormone-sensitive", "pregnancy", "never recommends a dose"):
        assert topic in text
    kinds = [r.kind for r in protocol.stopping_rules]
    assert "adverse_events" in kinds


def test_pregnenolone_refuses_to_start_until_clinician_and_sign_off(tmp_path: Path) -> None:
    template = ROOT / "protocols" / "migraine-pregnenolone.toml"
    folder = workspace_from(template, tmp_path / "before")
    with Workspace.open(folder) as ws:
        with pytest.raises(LockError) as info:
            ws.start()
        assert not ws.is_locked
    message = str(info.value)
    assert message.startswith("cannot start: fix 2 problems in protocol.toml first:")
    assert "supervision.clinician is empty but intervention.category = 'hormone'" in message
    assert "supervision.signed_off is missing" in message

    filled = (
        template.read_text(encoding="utf-8")
        .replace(
            'clinician = ""                    # REQUIRED', 'clinician = "Dr A. Jones"  # REQUIRED'
        )
        .replace("# signed_off = 2026-11-20", "signed_off = 2026-11-20")
    )
    folder = workspace_from(template, tmp_path / "after", filled)
    with Workspace.open(folder) as ws:
        ws.start()
        assert ws.is_locked
        assert ws.protocol.supervision.clinician == "Dr A. Jones"


def test_templates_module_lists_the_shipped_templates() -> None:
    assert list(templates()) == NAMES
    for name in NAMES:
        assert find_template(name) == templates()[name]
        assert template_description(templates()[name])


def test_find_template_accepts_a_path_to_a_toml_file() -> None:
    assert find_template(TEMPLATES[0]) == TEMPLATES[0]


@pytest.mark.parametrize("name", ["migraine-coffee", "", "../protocols/migraine-sleep"])
def test_find_template_refuses_an_unknown_name(name: str) -> None:
    with pytest.raises(TemplateError) as caught:
        find_template(name)
    assert str(caught.value) == (
        f"unknown template {name!r} (available: {', '.join(NAMES)}; see `nof1 templates`)"
    )
