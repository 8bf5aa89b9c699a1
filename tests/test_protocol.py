"""Protocol: every validation rule with its message, all problems at once, start rules, editing."""

from __future__ import annotations

import copy
import datetime as dt
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nof1.errors import ProtocolError
from nof1.protocol import (
    Analysis,
    Design,
    OutcomeSpec,
    StoppingRule,
    TrialProtocol,
    set_design_values,
)

ROOT = Path(__file__).resolve().parents[1]
MAGNESIUM = (ROOT / "protocols" / "migraine-magnesium.toml").read_text(encoding="utf-8")
BASE = tomllib.loads(MAGNESIUM)

Edit = Callable[[dict[str, Any]], None]


def problems_after(edit: Edit) -> list[str]:
    data = copy.deepcopy(BASE)
    edit(data)
    with pytest.raises(ProtocolError) as info:
        TrialProtocol.from_mapping(data)
    return info.value.problems


def set_(path: str, value: Any) -> Edit:
    """An edit setting ``a.b`` (or ``outcomes.1.kind``) to ``value``; ``...`` deletes the key."""

    def edit(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is ...:
            del node[int(last) if last.isdigit() else last]
        else:
            node[int(last) if last.isdigit() else last] = value

    return edit


def test_template_is_valid() -> None:
    protocol = TrialProtocol.from_mapping(BASE)
    assert protocol.trial_id == "migraine-magnesium"
    assert protocol.primary_outcome.name == "headache_day"


# --------------------------------------------------------------------------------------------
# one rule, one message
# --------------------------------------------------------------------------------------------

RULES = [
    (set_("design.period_days", 0), "design.period_days must be ≥ 1 (got 0)"),
    (set_("design.blocks", 51), "design.blocks must be ≤ 50 (got 51)"),
    (set_("design.blocks", "four"), "design.blocks must be a whole number (got 'four')"),
    (set_("design.blocks", True), "design.blocks must be a whole number (got True)"),
    (set_("design.run_in_days", -1), "design.run_in_days must be ≥ 0 (got -1)"),
    (set_("design.seed", -5), "design.seed must be ≥ 0 (got -5)"),
    (
        set_("design.scheme", "random"),
        "design.scheme must be one of pairwise, counterbalanced, restricted, fixed (got 'random')",
    ),
    (
        set_("design.analytic_washout_days", 28),
        "design.analytic_washout_days must be < design.period_days (28) so that some days of "
        "each period are analysed (got 28)",
    ),
    (
        set_("design.start_date", "2026-12-01"),
        "design.start_date must be a date without quotes, e.g. start_date = 2026-12-01 "
        "(got '2026-12-01')",
    ),
    (
        set_("design.scheme", "restricted"),
        "design.max_run is missing: scheme 'restricted' needs e.g. max_run = 2",
    ),
    (
        set_("design.colour", "blue"),
        "design.colour is not a known key: remove it or check the spelling (known: "
        "analytic_washout_days, blocks, max_run, period_days, run_in_days, scheme, seed, "
        "start_date, washout_days)",
    ),
    (
        set_("extra", {"a": 1}),
        "extra is not a known key: remove it or check the spelling (known: analysis, blinding, "
        "comparator, design, intervention, outcomes, planning, stopping_rules, supervision, "
        "trial)",
    ),
    (set_("trial.title", ...), 'trial.title is missing: add title = "..."'),
    (set_("trial.title", "  "), "trial.title must not be empty"),
    (set_("trial.title", 3), "trial.title must be text in quotes (got a number 3)"),
    (
        set_("trial.id", "my trial"),
        "trial.id must use letters, digits, '-', '_' or '.' only (got 'my trial')",
    ),
    (
        set_("trial.purpose", "research"),
        "trial.ethics_approval is empty but trial.purpose = 'research' needs one: add the ethics "
        'committee and reference, e.g. ethics_approval = "REC 26/LO/0123"',
    ),
    (
        set_("trial.concurrent_therapies", "none"),
        'trial.concurrent_therapies must be a list of texts, e.g. ["a", "b"] (got \'none\')',
    ),
    (set_("comparator", ...), "[comparator] table is missing: add a [comparator] section"),
    (set_("design", 5), "design must be a table like [design] (got a number)"),
    (
        set_("intervention.category", "herb"),
        "intervention.category must be one of lifestyle, supplement, otc_drug, "
        "prescription_drug, hormone, device, other (got 'herb')",
    ),
    (set_("supervision.required", "yes"), "supervision.required must be true or false (got 'yes')"),
    (
        set_("blinding.allocation_holder", ""),
        "blinding.allocation_holder is empty but blinding.blinded = true: name who holds the "
        'sealed allocation, e.g. allocation_holder = "Pharmacist at ..."',
    ),
    (
        set_("blinding.labels", ["Pack 1", "Pack 1"]),
        'blinding.labels must be two different non-empty codes, e.g. ["Pack 1", "Pack 2"] '
        "(got ['Pack 1', 'Pack 1'])",
    ),
    (set_("outcomes", ...), "[[outcomes]] is missing: add at least one [[outcomes]] table"),
    (set_("outcomes", []), "outcomes must be one or more [[outcomes]] tables"),
    (set_("outcomes.0.primary", False), "exactly one outcome must have primary = true (got 0)"),
    (
        set_("outcomes.1.primary", True),
        "exactly one outcome must have primary = true (got 2: headache_day, peak_pain)",
    ),
    (
        set_("outcomes.2.name", "headache_day"),
        "outcomes[2].name 'headache_day' is used twice: rename one",
    ),
    (
        set_("outcomes.2.name", "Attack severity"),
        "outcomes[2].name must be lower-case letters, digits and '_' starting with a letter, as "
        "it is typed in `nof1 log attack_severity=...` (got 'Attack severity')",
    ),
    (
        set_("outcomes.1.kind", "scale"),
        "outcomes[1].kind must be one of continuous, count, binary, ordinal (got 'scale')",
    ),
    (set_("outcomes.1.question", ...), 'outcomes[1].question is missing: add question = "..."'),
    (
        set_("outcomes.1.better", ...),
        'outcomes[1].better is missing: add better = "lower" or "higher"',
    ),
    (
        set_("outcomes.1.mcid", ...),
        "outcomes[1].mcid is missing: add the minimal clinically important difference",
    ),
    (set_("outcomes.1.mcid", 0), "outcomes[1].mcid must be > 0 (got 0)"),
    (set_("outcomes.1.mcid", "1"), "outcomes[1].mcid must be a number (got '1')"),
    (
        set_("outcomes.1.max", ...),
        "outcomes[1]: a continuous outcome needs its scale: add min = ... and max = ...",
    ),
    (set_("outcomes.1.min", 10), "outcomes[1].min must be < outcomes[1].max (got 10 and 10)"),
    (
        set_("outcomes.2.categories", ["none", "bad"]),
        "outcomes[2].categories must list at least 3 ordered categories for an ordinal outcome, "
        "best or worst first (got ['none', 'bad'])",
    ),
    (
        set_("outcomes.1.categories", ["a", "b", "c"]),
        "outcomes[1].categories is only for ordinal outcomes: remove it",
    ),
    (
        set_("outcomes.0.min", 0),
        "outcomes[0].min/max are not used for binary outcomes: remove them",
    ),
    (set_("outcomes.3.min", -1), "outcomes[3].min must be ≥ 0 for a count (got -1)"),
    (
        set_("outcomes.0.scale", "x"),
        "outcomes[0].scale is not a known key: remove it or check the spelling (known: "
        "analyse, ask_if, better, categories, kind, label, max, mcid, min, name, primary, "
        "question, skipped_value, units)",
    ),
    (
        set_("analysis.decision_threshold", 0.4),
        "analysis.decision_threshold must be between 0.5 and 1 (got 0.4)",
    ),
    (
        set_("analysis.trend", "quadratic"),
        "analysis.trend must be one of none, linear, spline (got 'quadratic')",
    ),
    (
        set_("analysis.min_days_per_period", 0),
        "analysis.min_days_per_period must be ≥ 1 (got 0)",
    ),
    (
        set_("stopping_rules.1.outcome", "mood"),
        "stopping_rules[1].outcome must name one of the outcomes (acute_med_days, headache_day, "
        "peak_pain, severity) (got 'mood')",
    ),
    (
        set_("stopping_rules.1.threshold", ...),
        "stopping_rules[1].threshold is missing: add the value that triggers the rule",
    ),
    (
        set_("stopping_rules.0.kind", "bad_day"),
        "stopping_rules[0].kind must be one of serious_adverse_event, adverse_events, "
        "outcome_threshold (got 'bad_day')",
    ),
    (set_("stopping_rules", {"kind": "x"}), "stopping_rules must be [[stopping_rules]] tables"),
]


@pytest.mark.parametrize(("edit", "message"), RULES, ids=[m[:50] for _, m in RULES])
def test_validation_rule_message(edit: Edit, message: str) -> None:
    assert problems_after(edit) == [message]


def test_counterbalanced_needs_even_blocks() -> None:
    def edit(data: dict[str, Any]) -> None:
        data["design"].update(scheme="counterbalanced", blocks=3)

    assert problems_after(edit) == [
        "design.blocks must be even for scheme 'counterbalanced' (ABBA/BAAB pairs of blocks; "
        "got 3): use 4 or 2"
    ]

    def one(data: dict[str, Any]) -> None:
        data["design"].update(scheme="counterbalanced", blocks=1)

    assert problems_after(one)[0].endswith("got 1): use 2")


def test_design_built_in_code_obeys_the_protocol_rules() -> None:
    """Invariants live on the value: attrs.evolve cannot bypass them as the planner once did."""
    with pytest.raises(ProtocolError, match="must be even for scheme 'counterbalanced'"):
        Design(scheme="counterbalanced", blocks=3)
    good = Design(scheme="counterbalanced", blocks=4)
    with pytest.raises(ProtocolError, match=r"got 5\): use 6 or 4 in the design$"):
        attrs.evolve(good, blocks=5)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"period_days": 0}, "design.period_days must be ≥ 1 (got 0)"),
        ({"blocks": 0}, "design.blocks must be ≥ 1 (got 0)"),
        ({"analytic_washout_days": -1}, "design.analytic_washout_days must be ≥ 0 (got -1)"),
        ({"analytic_washout_days": 14}, "analytic_washout_days must be < design.period_days"),
        ({"scheme": "random"}, "design.scheme must be one of pairwise, counterbalanced"),
    ],
)
def test_design_value_rejects_impossible_numbers(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ProtocolError, match=re.escape(message)):
        attrs.evolve(Design(), **changes)


def test_outcome_and_rule_fields_validate_against_the_vocabulary() -> None:
    pain = OutcomeSpec("pain", "continuous", "Pain?", "lower", 1.0)
    with pytest.raises(ValueError, match="OutcomeSpec.kind must be one of continuous, count"):
        attrs.evolve(pain, kind="scale")
    with pytest.raises(ValueError, match=r"OutcomeSpec.better must be one of lower, higher"):
        attrs.evolve(pain, better="up")
    with pytest.raises(ValueError, match="Analysis.trend must be one of none, linear, spline"):
        Analysis(trend="quadratic")
    with pytest.raises(ValueError, match="StoppingRule.severity must be one of mild, moderate"):
        StoppingRule(kind="adverse_events", severity="awful")


def test_all_problems_are_reported_at_once_with_the_file_name(tmp_path: Path) -> None:
    text = (
        MAGNESIUM.replace("period_days = 28", "period_days = 0")
        .replace('scheme = "pairwise"', 'scheme = "random"')
        .replace("mcid = 1.5", "mcid = -1.0")
        .replace("[analysis]", "[analysis]\ncolour = 1")
    )
    path = tmp_path / "protocol.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProtocolError) as info:
        TrialProtocol.from_toml(path)
    assert str(info.value) == (
        "4 problems in protocol.toml:\n"
        "  - design.scheme must be one of pairwise, counterbalanced, restricted, fixed "
        "(got 'random')\n"
        "  - design.period_days must be ≥ 1 (got 0)\n"
        "  - outcomes[1].mcid must be > 0 (got -1)\n"
        "  - analysis.colour is not a known key: remove it or check the spelling (known: "
        "autocorrelation, decision_threshold, min_days_per_period, trend)"
    )
    assert isinstance(info.value, ValueError)


def test_single_problem_message_names_the_file() -> None:
    with pytest.raises(
        ProtocolError, match=r"^design.period_days must be ≥ 1 \(got 0\) in x.toml$"
    ):
        TrialProtocol.from_text(MAGNESIUM.replace("period_days = 28", "period_days = 0"), "x.toml")


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError) as info:
        TrialProtocol.from_toml(tmp_path / "protocol.toml")
    assert str(info.value) == (
        f"file not found: {tmp_path / 'protocol.toml'} (create one with "
        "`nof1 init DIR --template NAME`) in protocol.toml"
    )


def test_invalid_toml() -> None:
    with pytest.raises(ProtocolError, match=r"^not valid TOML: .* in protocol.toml$"):
        TrialProtocol.from_text("[trial\ntitle = 1")


# --------------------------------------------------------------------------------------------
# start rules: supervision and sign-off
# --------------------------------------------------------------------------------------------


def with_design_values(data: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    data["design"].update(start_date=dt.date(2026, 12, 7), seed=1)
    return data


def test_ready_protocol_has_no_start_problems() -> None:
    assert TrialProtocol.from_mapping(with_design_values(BASE)).start_problems() == []


def test_start_needs_seed_and_start_date() -> None:
    assert TrialProtocol.from_mapping(BASE).start_problems() == [
        "design.start_date is missing: add e.g. start_date = 2026-12-01",
        "design.seed is missing: add a whole number, or re-create the workspace with `nof1 init` "
        "which draws one",
    ]


@pytest.mark.parametrize("category", ["hormone", "prescription_drug"])
def test_hormone_and_prescription_need_clinician_and_sign_off(category: str) -> None:
    data = with_design_values(BASE)
    data["intervention"]["category"] = category
    protocol = TrialProtocol.from_mapping(data)
    assert protocol.needs_supervision
    assert protocol.start_problems() == [
        f"supervision.clinician is empty but intervention.category = '{category}' needs a named "
        "supervising clinician: fill it in with them before starting",
        f"supervision.signed_off is missing but intervention.category = '{category}' needs the "
        "clinician's sign-off date: add e.g. signed_off = 2026-11-20 once they have reviewed the "
        "protocol",
    ]
    data["supervision"].update(clinician="Dr Jones", signed_off=dt.date(2026, 11, 20))
    assert TrialProtocol.from_mapping(data).start_problems() == []


def test_supervision_required_flag_needs_sign_off_for_any_category() -> None:
    data = with_design_values(BASE)
    data["supervision"].update(required=True, clinician="Dr Jones")
    assert TrialProtocol.from_mapping(data).start_problems() == [
        "supervision.signed_off is missing but supervision.required = true needs the clinician's "
        "sign-off date: add e.g. signed_off = 2026-11-20 once they have reviewed the protocol"
    ]


@pytest.mark.parametrize("category", ["supplement", "lifestyle", "otc_drug", "device", "other"])
def test_other_categories_do_not_need_supervision(category: str) -> None:
    data = with_design_values(BASE)
    data["intervention"]["category"] = category
    assert TrialProtocol.from_mapping(data).start_problems() == []


# --------------------------------------------------------------------------------------------
# set_design_values
# --------------------------------------------------------------------------------------------


def test_set_design_values_keeps_comments_and_adds_keys() -> None:
    text = set_design_values(MAGNESIUM, {"start_date": dt.date(2026, 12, 7), "seed": 99})
    assert text.count("#") == MAGNESIUM.count("#")
    for line in MAGNESIUM.splitlines():
        assert line in text
    assert "[design]\nseed = 99\nstart_date = 2026-12-07\n" in text
    design = TrialProtocol.from_text(text).design
    assert (design.start_date, design.seed) == (dt.date(2026, 12, 7), 99)


def test_set_design_values_replaces_existing_and_commented_lines_in_design_only() -> None:
    text = (
        "[trial]\n# seed = 3\n\n[design]   # the design\n# seed = 1\nblocks = 2\n"
        "[outcomes]\nseed = 5\n"
    )
    result = set_design_values(text, {"seed": 7, "blocks": 4})
    assert result == (
        "[trial]\n# seed = 3\n\n[design]   # the design\nseed = 7\nblocks = 4\n"
        "[outcomes]\nseed = 5\n"
    )


def test_set_design_values_without_design_table() -> None:
    with pytest.raises(ProtocolError, match=r"^\[design\] table is missing"):
        set_design_values("[trial]\n", {"seed": 1})


# --------------------------------------------------------------------------------------------
# fingerprints
# --------------------------------------------------------------------------------------------


def test_fingerprint_ignores_comments_and_layout() -> None:
    stripped = "\n".join(line.split("#")[0].rstrip() for line in MAGNESIUM.splitlines())
    a, b = TrialProtocol.from_text(MAGNESIUM), TrialProtocol.from_text(stripped)
    assert a.fingerprint() == b.fingerprint()
    assert a.locked_fingerprint() == b.locked_fingerprint()


def test_locked_fingerprint_ignores_unlocked_sections() -> None:
    a = TrialProtocol.from_text(MAGNESIUM)
    b = TrialProtocol.from_text(MAGNESIUM.replace('contact = ""', 'contact = "01234"'))
    c = TrialProtocol.from_text(MAGNESIUM.replace("blocks = 4", "blocks = 5"))
    assert a.fingerprint() != b.fingerprint()
    assert a.locked_fingerprint() == b.locked_fingerprint()
    assert a.changed_locked_sections(c) == ["design"]


# --------------------------------------------------------------------------------------------
# outcome values
# --------------------------------------------------------------------------------------------


def outcome(name: str) -> OutcomeSpec:
    return TrialProtocol.from_mapping(BASE).outcome(name)


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("headache_day", "yes", 1.0),
        ("headache_day", "0", 0.0),
        ("severity", "moderate", 2.0),
        ("severity", "3", 3.0),
        ("peak_pain", "6.5", 6.5),
        ("acute_med_days", "2", 2.0),
    ],
)
def test_parse_value_accepts_what_people_type(name: str, text: str, value: float) -> None:
    assert outcome(name).parse_value(text) == value


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("headache_day", "maybe", "headache_day must be yes or no (got 'maybe')"),
        (
            "severity",
            "4",
            "severity must be one of 0=none, 1=mild, 2=moderate, 3=severe (got '4')",
        ),
        ("peak_pain", "11", "peak_pain must be a number 0–10 (got 11)"),
        ("peak_pain", "nan", "peak_pain must be a number 0–10 (got 'nan')"),
        ("acute_med_days", "1.5", "acute_med_days must be a whole number 0–10 (got 1.5)"),
    ],
)
def test_parse_value_rejects_with_the_scale(name: str, text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        outcome(name).parse_value(text)
    assert str(info.value) == message


@given(st.floats(min_value=0, max_value=10, allow_nan=False))
def test_continuous_values_in_scale_round_trip(value: float) -> None:
    assert outcome("peak_pain").parse_value(repr(value)) == value


def test_unknown_outcome_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="unknown outcome 'mood'"):
        outcome("mood")
