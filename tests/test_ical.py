"""The .ics calendar: parses with icalendar, all-day periods, washouts, the daily reminder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import icalendar
import pytest

from nof1.ical import build_calendar, calendar_bytes
from nof1.protocol import TrialProtocol, set_design_values
from nof1.schedule import Schedule, build_schedule

ROOT = Path(__file__).resolve().parents[1]
START = dt.date(2026, 12, 7)
STAMP = dt.datetime(2026, 11, 1, 9, 30, tzinfo=dt.UTC)


def load(template: str, seed: int = 20261201) -> tuple[TrialProtocol, Schedule]:
    text = (ROOT / "protocols" / f"{template}.toml").read_text(encoding="utf-8")
    protocol = TrialProtocol.from_text(set_design_values(text, {"start_date": START, "seed": seed}))
    return protocol, build_schedule(protocol)


def parse(protocol: TrialProtocol, schedule: Schedule, **kwargs: object) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(calendar_bytes(protocol, schedule, stamp=STAMP, **kwargs))


def all_day_events(cal: icalendar.Calendar) -> list[icalendar.Event]:
    return [e for e in cal.walk("VEVENT") if "RRULE" not in e]


def test_calendar_has_the_required_properties() -> None:
    cal = parse(*load("migraine-magnesium"))
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["PRODID"]).startswith("-//nof1//")
    for event in cal.walk("VEVENT"):
        assert event["UID"] and event["DTSTAMP"].dt == STAMP
        assert event["SUMMARY"]


def test_one_event_per_period_and_the_run_in_without_washout() -> None:
    protocol, schedule = load("migraine-magnesium")
    events = all_day_events(parse(protocol, schedule))
    assert len(events) == 8 + 1  # 8 periods + run-in, no physical washout
    assert len(parse(protocol, schedule).walk("VEVENT")) == 10  # + the reminder


def test_physical_washouts_get_their_own_events() -> None:
    protocol, schedule = load("migraine-pregnenolone")
    events = all_day_events(parse(protocol, schedule))
    washouts = [e for e in events if "washout after" in str(e["SUMMARY"])]
    assert len(events) == 6 + 5 + 1
    assert len(washouts) == 5
    first = washouts[0]
    assert first["DTSTART"].dt == schedule.periods[0].end + dt.timedelta(days=1)
    assert first["DTEND"].dt == schedule.periods[1].start  # exclusive end


def test_all_day_events_are_dates_with_exclusive_end() -> None:
    protocol, schedule = load("migraine-magnesium")
    events = all_day_events(parse(protocol, schedule))
    periods = [e for e in events if str(e["SUMMARY"]).startswith("N-of-1 period")]
    for event, period in zip(periods, schedule.periods, strict=True):
        start, end = event["DTSTART"].dt, event["DTEND"].dt
        assert type(start) is dt.date and type(end) is dt.date
        assert start == period.start
        assert end == period.end + dt.timedelta(days=1)
    run_in = next(e for e in events if "run-in" in str(e["SUMMARY"]))
    assert run_in["DTSTART"].dt == START
    assert run_in["DTEND"].dt == schedule.periods[0].start


def test_daily_reminder_repeats_until_the_end_with_an_alarm() -> None:
    protocol, schedule = load("migraine-magnesium")
    cal = parse(protocol, schedule, reminder=dt.time(21, 15))
    reminder = next(e for e in cal.walk("VEVENT") if "RRULE" in e)
    rule = reminder["RRULE"]
    assert rule["FREQ"] == ["DAILY"]
    assert rule["UNTIL"][0] == dt.datetime.combine(schedule.end, dt.time(23, 59, 59))
    assert reminder["DTSTART"].dt == dt.datetime.combine(START, dt.time(21, 15))
    alarms = reminder.walk("VALARM")
    assert len(alarms) == 1 and str(alarms[0]["ACTION"]) == "DISPLAY"


def test_reminder_can_be_left_out() -> None:
    cal = parse(*load("migraine-magnesium"), reminder=None)
    assert all("RRULE" not in e for e in cal.walk("VEVENT"))


def test_uids_are_stable_unique_and_change_with_the_schedule() -> None:
    protocol, schedule = load("migraine-magnesium")
    uids = [str(e["UID"]) for e in parse(protocol, schedule).walk("VEVENT")]
    assert len(set(uids)) == len(uids)
    again = [str(e["UID"]) for e in parse(protocol, schedule).walk("VEVENT")]
    assert again == uids
    other = [str(e["UID"]) for e in parse(*load("migraine-magnesium", seed=1)).walk("VEVENT")]
    assert not set(other) & set(uids)


def test_same_stamp_gives_byte_identical_files() -> None:
    protocol, schedule = load("migraine-sleep")
    assert calendar_bytes(protocol, schedule, stamp=STAMP) == calendar_bytes(
        protocol, schedule, stamp=STAMP
    )


@pytest.mark.parametrize("template", ["migraine-magnesium", "migraine-pregnenolone"])
def test_blinded_calendar_shows_codes_never_arm_names(template: str) -> None:
    protocol, schedule = load(template)
    text = calendar_bytes(protocol, schedule, stamp=STAMP).decode()
    unfolded = text.replace("\r\n ", "")
    for word in (protocol.comparator.name, protocol.intervention.name, protocol.title):
        assert word.lower() not in unfolded.lower()
    periods = [
        e
        for e in all_day_events(icalendar.Calendar.from_ical(text))
        if str(e["SUMMARY"]).startswith("N-of-1 period")
    ]
    for event, period in zip(periods, schedule.periods, strict=True):
        assert str(event["SUMMARY"]).endswith(schedule.codes[period.arm])


def test_open_calendar_names_the_arms() -> None:
    protocol, schedule = load("migraine-sleep")
    periods = [
        e
        for e in all_day_events(parse(protocol, schedule))
        if str(e["SUMMARY"]).startswith("N-of-1 period")
    ]
    for event, period in zip(periods, schedule.periods, strict=True):
        assert str(event["SUMMARY"]).endswith(protocol.arm(period.arm).name)
        assert protocol.arm(period.arm).name in str(event["DESCRIPTION"])


def test_lines_are_crlf_and_folded_to_75_octets() -> None:
    data = calendar_bytes(*load("migraine-sleep"), stamp=STAMP)
    lines = data.split(b"\r\n")
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in lines)


def test_build_calendar_defaults_dtstamp_to_now_in_utc() -> None:
    cal = build_calendar(*load("migraine-sleep"))
    stamp = cal.walk("VEVENT")[0]["DTSTAMP"].dt
    assert stamp.tzinfo is not None and stamp.utcoffset() == dt.timedelta(0)
