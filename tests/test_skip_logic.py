"""Skip logic: ``ask_if`` / ``skipped_value`` in the protocol, the diary and the analysis data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import attrs
import pytest

from conftest import MakeWorkspace, template_text
from nof1 import diary
from nof1.dataset import from_records, from_workspace
from nof1.errors import EntryError, ProtocolError
from nof1.protocol import TrialProtocol, set_design_values
from nof1.record import Observation
from nof1.schedule import build_schedule
from nof1.simulate import simulate_trial
from nof1.workspace import Workspace

PAIN_IF = 'ask_if = "headache_day == yes"   # asked only on headache days'
PAIN_PART = (
    'analyse = "when_asked"            # intensity when present: analysed on headache days only'
)
PAIN_SKIPPED = (
    "skipped_value = 0                 # for the diary and the stopping rule: a headache-free "
    "day has"
)


def every_day_text(name: str = "migraine-magnesium") -> str:
    """A template whose peak pain is analysed every day, 0 on headache-free days (the form
    protocols had before ``analyse`` existed)."""
    text = template_text(name)
    assert PAIN_PART in text
    return text.replace(PAIN_PART + "\n", "", 1)


def protocol_with(old: str, new: str) -> TrialProtocol:
    text = template_text()
    assert old in text, old
    return TrialProtocol.from_text(text.replace(old, new, 1))


def problems(old: str, new: str) -> list[str]:
    with pytest.raises(ProtocolError) as info:
        protocol_with(old, new)
    return list(info.value.problems)


# -- the protocol --------------------------------------------------------------------------


def test_templates_ask_pain_and_severity_only_on_headache_days() -> None:
    for name in ("migraine-magnesium", "migraine-sleep", "migraine-pregnenolone"):
        p = TrialProtocol.from_text(template_text(name))
        conditional = {o.name: o for o in p.outcomes if o.ask_if is not None}
        assert set(conditional) == {"peak_pain", "severity"}
        for spec in conditional.values():
            assert spec.ask_if is not None
            assert (spec.ask_if.outcome, spec.ask_if.operator, spec.ask_if.value) == (
                "headache_day",
                "==",
                1.0,
            )
            assert spec.skipped_value == 0.0
        assert p.outcome("peak_pain").when_asked  # intensity when present
        assert p.outcome("peak_pain").analyse == "when_asked"
        severity = p.outcome("severity")  # severity when present, without "none"
        assert severity.when_asked and severity.analyse == "when_asked"
        assert severity.analysed_categories == ("mild", "moderate", "severe")
        assert severity.category_offset == 1


def test_skipped_and_effective_values() -> None:
    p = TrialProtocol.from_text(template_text())
    assert p.skipped({"headache_day": 0}) == {"peak_pain", "severity"}
    assert p.skipped({"headache_day": 1}) == set()
    assert p.skipped({}) == set()  # the condition is unknown: nothing is known to be skipped
    assert p.effective({"headache_day": 0, "peak_pain": 7}) == {
        "headache_day": 0,
        "peak_pain": 0.0,  # a value logged before the condition was corrected does not count
        "severity": 0.0,
    }


def test_ask_if_rejects_unknown_outcome() -> None:
    assert problems(PAIN_IF, 'ask_if = "migraine == yes"') == [
        "outcomes[1].ask_if names unknown outcome 'migraine' (this protocol has: headache_day, "
        "peak_pain, severity, acute_med_days) (got 'migraine == yes')"
    ]


def test_ask_if_rejects_bad_operator() -> None:
    assert problems(PAIN_IF, 'ask_if = "headache_day = yes"') == [
        "outcomes[1].ask_if operator '=' is not known: use one of ==, !=, >=, <=, >, <, e.g. "
        "ask_if = \"headache_day == yes\" (got 'headache_day = yes')"
    ]


def test_ask_if_rejects_a_value_not_on_the_outcome_scale() -> None:
    assert problems(PAIN_IF, 'ask_if = "headache_day == often"') == [
        "outcomes[1].ask_if: 'often' is not a value of headache_day: headache_day must be yes "
        "or no (got 'often')"
    ]


def test_ask_if_rejects_text_that_is_not_a_condition() -> None:
    assert problems(PAIN_IF, 'ask_if = "when it hurts"') == [
        "outcomes[1].ask_if must be 'outcome operator value', e.g. ask_if = \"headache_day == "
        "yes\" (got 'when it hurts')"
    ]


def test_ask_if_rejects_a_condition_on_itself() -> None:
    assert problems(PAIN_IF, 'ask_if = "peak_pain >= 1"') == [
        "outcomes[1].ask_if refers to 'peak_pain' itself: a question can only depend on "
        "another outcome's answer (got 'peak_pain >= 1')"
    ]


def test_ask_if_rejects_a_cycle() -> None:
    text = template_text().replace(
        'question = "Did you have a headache today?"',
        'question = "Did you have a headache today?"\nask_if = "peak_pain >= 1"\nskipped_value = 0',
    )
    with pytest.raises(ProtocolError) as info:
        TrialProtocol.from_text(text)
    assert info.value.problems[0] == (
        "outcomes[0].ask_if: the conditions form a cycle (headache_day → peak_pain → "
        "headache_day), so none of them could ever be asked: make one of them unconditional"
    )


def test_ask_if_rejects_a_condition_on_a_later_outcome() -> None:
    assert problems(PAIN_IF, 'ask_if = "acute_med_days >= 1"') == [
        "outcomes[1].ask_if refers to 'acute_med_days', which is declared after 'peak_pain': "
        "move the [[outcomes]] table of 'peak_pain' below it (a question is asked after the "
        "answer it depends on)"
    ]


def test_ask_if_needs_a_skipped_value() -> None:
    assert problems(PAIN_PART + "\n" + PAIN_SKIPPED, "#") == [
        "outcomes[1].skipped_value is missing: with ask_if, say what a skipped day means for "
        "the analysis, e.g. skipped_value = 0 (pain 0 on a headache-free day), or add "
        'analyse = "when_asked" to analyse only the days it was asked (intensity when present)'
    ]


def test_when_asked_needs_no_skipped_value() -> None:
    p = protocol_with(PAIN_SKIPPED, "#")
    spec = p.outcome("peak_pain")
    assert spec.when_asked and spec.skipped_value is None
    # on a headache-free day pain has no value at all (not 0)
    assert p.effective({"headache_day": 0, "peak_pain": 7}) == {"headache_day": 0, "severity": 0}


def test_analyse_rejects_an_unknown_value() -> None:
    assert problems(PAIN_PART, 'analyse = "headache_days"') == [
        'outcomes[1].analyse must be "when_asked" (only the days the question was asked: '
        'intensity when present, e.g. pain on headache days) or "every_day" (every day, a '
        "skipped day counting as skipped_value) (got 'headache_days')"
    ]


def test_analyse_rejects_a_value_that_is_not_text() -> None:
    assert problems(PAIN_PART, "analyse = true")[0].endswith("(got true/false)")
    assert problems(PAIN_PART, "analyse = [1, 2]")[0].endswith("(got a list)")


def test_analyse_rejects_control_characters_and_shows_them_escaped() -> None:
    found = problems(PAIN_PART, 'analyse = "when_asked\\u0007\\u001b[2J"')
    assert len(found) == 1
    assert found[0].endswith("(got 'when_asked\\x07\\x1b[2J')")
    assert "\x1b" not in found[0] and "\x07" not in found[0]  # nothing reaches a terminal raw


def test_analyse_rejects_a_huge_value_and_shows_only_its_start() -> None:
    found = problems(PAIN_PART, f'analyse = "{"x" * 5000}"')
    assert len(found) == 1 and len(found[0]) < 400
    assert found[0].endswith(f"(got {'x' * 40!r}…)")


def test_analyse_without_ask_if_is_refused() -> None:
    assert problems(PAIN_IF + "\n", "") == [
        "outcomes[1].skipped_value and analyse are only used with ask_if: add ask_if = "
        '"headache_day == yes" or remove skipped_value and analyse'
    ]
    only = problems(PAIN_IF + "\n" + PAIN_PART + "\n" + PAIN_SKIPPED, PAIN_PART + "\n#")
    assert only == [
        'outcomes[1].analyse is only used with ask_if: add ask_if = "headache_day == yes" or '
        "remove analyse"
    ]


def test_analyse_every_day_is_the_default_and_keeps_the_fingerprint() -> None:
    implicit = TrialProtocol.from_text(every_day_text())
    explicit = TrialProtocol.from_text(
        every_day_text().replace(PAIN_IF, PAIN_IF + '\nanalyse = "every_day"', 1)
    )
    assert implicit.outcome("peak_pain").analyse == "every_day"
    assert not implicit.outcome("peak_pain").when_asked
    assert explicit.locked_fingerprint() == implicit.locked_fingerprint()
    assert "analyse" not in implicit.normalized()["outcomes"][1]
    when_asked = TrialProtocol.from_text(template_text())
    assert when_asked.normalized()["outcomes"][1]["analyse"] == "when_asked"
    assert when_asked.locked_fingerprint() != implicit.locked_fingerprint()


def test_skipped_value_must_be_on_the_outcome_scale() -> None:
    assert problems('skipped_value = "none"', 'skipped_value = "awful"') == [
        "outcomes[2].skipped_value is not a value of severity: severity must be one of "
        "0=none, 1=mild, 2=moderate, 3=severe (got 'awful')"
    ]


def test_skipped_value_without_ask_if_is_refused() -> None:
    text = every_day_text().replace(PAIN_IF + "\n", "", 1)
    with pytest.raises(ProtocolError) as info:
        TrialProtocol.from_text(text)
    assert info.value.problems[0].startswith("outcomes[1].skipped_value is only used with ask_if")


def test_protocols_without_skip_logic_keep_their_fingerprint() -> None:
    plain = template_text()
    for line in (PAIN_IF, 'ask_if = "headache_day == yes"'):
        plain = plain.replace(line + "\n", "", 1)
    plain = "\n".join(
        x for x in plain.splitlines() if not x.startswith(("skipped_value", "analyse"))
    )
    protocol = TrialProtocol.from_text(plain)
    assert "ask_if" not in protocol.normalized()["outcomes"][1]
    with_skip = TrialProtocol.from_text(template_text())
    assert with_skip.normalized()["outcomes"][1]["ask_if"] == "headache_day == yes"
    assert protocol.locked_fingerprint() != with_skip.locked_fingerprint()


# -- the diary -------------------------------------------------------------------------------


def _ws(started: Path) -> Workspace:
    return Workspace.open(started)


def test_log_day_skips_pain_on_a_headache_free_day(started: Path) -> None:
    with _ws(started) as ws:
        result = diary.log_day(ws, dt.date.today(), {"headache_day": "no", "acute_med_days": 0},
                               took="yes")  # fmt: skip
        assert result.values == {"headache_day": 0.0, "acute_med_days": 0.0}


def test_log_day_still_needs_pain_on_a_headache_day(started: Path) -> None:
    with _ws(started) as ws, pytest.raises(EntryError) as info:
        diary.log_day(ws, dt.date.today(), {"headache_day": "yes", "acute_med_days": 0},
                      took="yes")  # fmt: skip
    assert str(info.value).startswith("missing values for peak_pain, severity")


def test_log_day_refuses_a_value_for_a_skipped_question_and_writes_nothing(started: Path) -> None:
    with _ws(started) as ws:
        before = ws.store.count("audit")
        with pytest.raises(EntryError, match="severity is not asked when headache_day is no"):
            diary.log_day(
                ws,
                dt.date.today(),
                {"headache_day": "no", "severity": "mild", "acute_med_days": 0},
                took="yes",
            )
        assert ws.store.count("audit") == before


def test_correcting_the_condition_to_yes_needs_the_new_answers(started: Path) -> None:
    today = dt.date.today()
    with _ws(started) as ws:
        diary.log_day(ws, today, {"headache_day": "no", "acute_med_days": 0}, took="yes")
        with pytest.raises(EntryError) as info:
            diary.log_day(ws, today, {"headache_day": "yes"}, correct=True, reason="forgot")
        assert str(info.value) == (
            f"this correction makes peak_pain, severity asked on {today} (it had been skipped): "
            "give them too, e.g. peak_pain=5 severity=mild"
        )
        diary.log_day(ws, today, {"headache_day": "yes", "peak_pain": 6, "severity": "moderate"},
                      correct=True, reason="forgot")  # fmt: skip
        assert {e.outcome for e in ws.store.day_entries(today)} == {
            "headache_day", "peak_pain", "severity", "acute_med_days"
        }  # fmt: skip


def test_correcting_the_condition_to_no_drops_old_pain_and_severity(
    started: Path,
) -> None:
    today = dt.date.today()
    with _ws(started) as ws:
        diary.log_day(
            ws,
            today,
            {"headache_day": "yes", "peak_pain": 6, "severity": "moderate", "acute_med_days": 1},
            took="yes",
        )
        diary.log_day(ws, today, {"headache_day": "no"}, correct=True, reason="it was a tooth")
        data = from_workspace(ws, "peak_pain")  # intensity when present: no longer a pain day
        assert [d.value for d in data.all_days if d.date == today] == []
        severity = from_workspace(ws, "severity")  # severity when present: not asked now
        assert [d.value for d in severity.all_days if d.date == today] == []
        # an outcome analysed every day reads the corrected day as "none"
        every_day = attrs.evolve(ws.protocol.outcome("severity"), analyse="every_day")
        assert [d.value for d in from_workspace(ws, every_day).all_days if d.date == today] == [0.0]


# -- the analysis data ----------------------------------------------------------------------


def test_dataset_reads_a_skipped_answer_as_its_skipped_value(started: Path) -> None:
    today = dt.date.today()
    yesterday = today - dt.timedelta(days=1)
    with _ws(started) as ws:
        diary.log_day(ws, yesterday, {"headache_day": "yes", "peak_pain": 7, "severity": 2,
                                      "acute_med_days": 1}, took="yes")  # fmt: skip
        diary.log_day(ws, today, {"headache_day": "no", "acute_med_days": 0}, took="yes")
        pain = {d.date: d.value for d in from_workspace(ws, "peak_pain").all_days}
        severity = {d.date: d.value for d in from_workspace(ws, "severity").all_days}
    assert pain == {yesterday: 7.0}  # analyse = "when_asked": headache days only
    assert severity == {yesterday: 2.0}  # severity when present too


def test_dataset_fills_pain_with_zero_for_an_every_day_protocol() -> None:
    p = TrialProtocol.from_text(set_design_values(every_day_text(), {
        "start_date": dt.date(2026, 1, 5), "seed": 1}))  # fmt: skip
    schedule = build_schedule(p)
    first = schedule.periods[0].start
    obs = [
        Observation(first, "headache_day", 1.0),
        Observation(first, "peak_pain", 6.0),
        Observation(first + dt.timedelta(days=1), "headache_day", 0.0),
    ]
    data = from_records(p.outcome("peak_pain"), schedule, obs, protocol=p)
    assert [d.value for d in data.all_days] == [6.0, 0.0]
    assert data.part == ""


def test_dataset_leaves_a_day_missing_when_the_condition_is_missing() -> None:
    p = TrialProtocol.from_text(set_design_values(template_text(), {
        "start_date": dt.date(2026, 1, 5), "seed": 1}))  # fmt: skip
    schedule = build_schedule(p)
    day = schedule.start + dt.timedelta(days=20)
    obs = [Observation(day, "acute_med_days", 0.0)]  # headache_day not logged
    data = from_records(p.outcome("peak_pain"), schedule, obs, protocol=p)
    assert data.all_days == ()


def test_simulated_diary_and_analysis_agree_with_the_skip_logic() -> None:
    p = TrialProtocol.from_text(set_design_values(template_text(), {
        "start_date": dt.date(2026, 1, 5), "seed": 1}))  # fmt: skip
    schedule = build_schedule(p)
    trial = simulate_trial(p, schedule, seed=7, linked=True)
    headache_free = {o.date for o in trial.observations if o.outcome == "headache_day" and
                     o.value == 0}  # fmt: skip
    assert headache_free
    assert not [o for o in trial.observations if o.outcome == "peak_pain" and
                o.date in headache_free]  # fmt: skip
    headache = {o.date for o in trial.observations if o.outcome == "headache_day" and
                o.value == 1}  # fmt: skip
    data = from_records(p.outcome("peak_pain"), schedule, trial.observations, protocol=p)
    pain_days = {d.date for d in data.all_days}
    assert pain_days and pain_days <= headache  # intensity when present: headache days only
    assert all(d.value >= 1 for d in data.all_days)  # a headache day has some pain
    severity = from_records(p.outcome("severity"), schedule, trial.observations, protocol=p)
    assert {d.date for d in severity.all_days} <= headache  # severity when present
    assert {d.value for d in severity.all_days} <= {1.0, 2.0, 3.0}  # never "none"
    assert severity.n_categories == 3 and set(severity.model_y) <= {0.0, 1.0, 2.0}


def test_make_workspace_fixture_has_skip_logic(make_workspace: MakeWorkspace) -> None:
    folder = make_workspace()
    with Workspace.open(folder) as ws:
        assert ws.protocol.outcome("peak_pain").ask_if is not None


def test_a_skipped_day_ends_a_run_of_bad_days_for_a_threshold_rule(started: Path) -> None:
    """Pain 9 or worse on 3 logged days in a row: a headache-free day between has pain 0."""
    from nof1 import diary_safety

    today = dt.date.today()
    bad = {"headache_day": "yes", "peak_pain": 9, "severity": "severe", "acute_med_days": 2}
    free = {"headache_day": "no", "acute_med_days": 0}
    with _ws(started) as ws:
        for back, values in ((4, bad), (3, bad), (2, free), (1, bad)):
            diary.log_day(ws, today - dt.timedelta(days=back), values, took="yes")
        assert not [m for m in diary_safety.current(ws) if m.rule.kind == "outcome_threshold"]
        diary.log_day(ws, today, bad, took="yes")
        diary.log_day(ws, today - dt.timedelta(days=2), {"headache_day": "yes", "peak_pain": 9,
                      "severity": "severe"}, correct=True, reason="it was a headache")  # fmt: skip
        met = [m for m in diary_safety.current(ws) if m.rule.kind == "outcome_threshold"]
        assert met and met[0].met_on == today - dt.timedelta(days=2)


# -- values typed on the phone or in the terminal ---------------------------------------------


@pytest.mark.parametrize("text", ["0\x1f", "\x1c5", "yes\x00", "3\x7f"])
def test_values_with_control_characters_are_refused(text: str) -> None:
    p = TrialProtocol.from_text(template_text())
    for name in ("peak_pain", "headache_day"):
        with pytest.raises(ValueError, match=f"{name} contains control characters"):
            p.outcome(name).parse_value(text)


def test_ask_if_that_is_not_text_is_one_problem() -> None:
    assert problems(PAIN_IF, "ask_if = 3") == [
        "outcomes[1].ask_if must be text in quotes (got a number 3)"
    ]


def test_dataset_builds_pain_from_the_asked_days_only_and_says_so() -> None:
    p = TrialProtocol.from_text(set_design_values(template_text(), {
        "start_date": dt.date(2026, 1, 5), "seed": 1}))  # fmt: skip
    schedule = build_schedule(p)
    trial = simulate_trial(p, schedule, seed=11, missing_rate=0.0)
    headache = {o.date for o in trial.observations if o.outcome == "headache_day" and
                o.value == 1}  # fmt: skip
    data = from_records(p.outcome("peak_pain"), schedule, trial.observations, protocol=p)
    analysed = {d for d in headache if (day := schedule.day(d)) is not None and day.analysed}
    assert data.n == len(analysed) > 0
    assert set(data.date) == analysed
    assert data.part == (
        f"intensity when present: analysed only on the {data.n} days it was asked "
        "(headache_day == yes); how often that happens is the outcome headache_day"
    )
    assert data.part in data.notes
    # the every-day form reads every analysed day, 0 on headache-free ones
    q = TrialProtocol.from_text(set_design_values(every_day_text(), {
        "start_date": dt.date(2026, 1, 5), "seed": 1}))  # fmt: skip
    filled = from_records(q.outcome("peak_pain"), schedule, trial.observations, protocol=q)
    assert filled.n > data.n and float((filled.y == 0).sum()) == filled.n - data.n


def test_a_skipped_day_ends_a_run_of_bad_days_without_a_skipped_value() -> None:
    """analyse = "when_asked" without skipped_value: a headache-free day has no pain value,
    yet it still ends a run of pain 9/10 days (the stopping rule errs on no side)."""
    from nof1.diary_safety import rules_met

    p = protocol_with(PAIN_SKIPPED, "#")
    assert p.outcome("peak_pain").skipped_value is None
    day0 = dt.date(2026, 3, 2)

    def diary_of(pattern: str) -> list[Observation]:
        obs = []
        for i, kind in enumerate(pattern):
            date = day0 + dt.timedelta(days=i)
            obs.append(Observation(date, "headache_day", 1.0 if kind == "9" else 0.0))
            if kind == "9":
                obs.append(Observation(date, "peak_pain", 9.0))
        return obs

    def threshold_met(pattern: str) -> list[dt.date]:
        met = rules_met(p, diary_of(pattern), [])
        return [m.met_on for m in met if m.rule.kind == "outcome_threshold"]

    assert threshold_met("99-9") == []
    assert threshold_met("9-999") == [day0 + dt.timedelta(days=4)]


def test_a_bad_skipped_value_with_when_asked_is_one_problem() -> None:
    assert problems(
        "skipped_value = 0                 # for the diary", "skipped_value = 11 #"
    ) == [
        "outcomes[1].skipped_value is not a value of peak_pain: peak_pain must be a number "
        "0–10 (got 11)"
    ]
