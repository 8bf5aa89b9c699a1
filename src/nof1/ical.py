"""The trial calendar as an RFC 5545 file (``.ics``) that common calendar apps import.

One all-day event for the run-in, for each treatment period and for each physical washout, plus
a daily logging reminder (a short timed event repeating every day until the trial ends, with an
alarm). All-day events use ``DTSTART;VALUE=DATE`` with an *exclusive* ``DTEND`` (the day after the
last day), as RFC 5545 and Google/Apple/Outlook calendars expect.

UIDs are derived from the trial id and the schedule fingerprint, so importing the file again
updates the same events instead of duplicating them, and a changed schedule gets new ones.

After an early stop (``stopped``) the calendar keeps the past and ends on the stop date: no
period, washout or reminder after it, and an all-day note on the stop date says not to take the
trial intervention and to contact the supervising clinician.

Blinded trials show only the blinding codes (``schedule.codes``): no arm name, trial title or
trial id appears anywhere in the file (the title and id often name the intervention).

Stdlib + attrs + icalendar only: this module is on the light daily path.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from icalendar import Alarm, Calendar, Event, vRecur

from nof1 import __version__
from nof1.protocol import TrialProtocol
from nof1.schedule import Schedule

PRODID = f"-//nof1//nof1 {__version__}//EN"
DEFAULT_REMINDER = dt.time(20, 0)


def calendar_uid(protocol: TrialProtocol, schedule: Schedule, item: str) -> str:
    """A stable UID for one calendar item (``item`` e.g. ``"period-3"``).

    Derived from the trial id and the schedule fingerprint through SHA-256, so it is stable
    across exports and names neither the trial nor the arms.
    """
    digest = hashlib.sha256(f"{protocol.trial_id}:{schedule.fingerprint()}".encode()).hexdigest()[
        :20
    ]
    return f"{item}-{digest}@nof1"


def calendar_name(protocol: TrialProtocol, schedule: Schedule) -> str:
    """The calendar's display name; generic when blinded (titles often name the intervention)."""
    if schedule.blinded:
        return f"N-of-1 trial: {protocol.condition} (blinded)"
    return f"N-of-1 trial: {protocol.title}"


def what_to_take(protocol: TrialProtocol, schedule: Schedule, arm: str) -> str:
    """What the person takes or does in a period of ``arm``, in patient-facing words.

    Blinded: only the code, plus the timing when both arms share it (a differing timing or dose
    would unblind).
    """
    if schedule.blinded:
        timing = protocol.comparator.timing
        same = timing and timing == protocol.intervention.timing
        return f"{schedule.codes[arm]} ({timing})" if same else schedule.codes[arm]
    return protocol.arm(arm).describe()


def build_calendar(
    protocol: TrialProtocol,
    schedule: Schedule,
    *,
    reminder: dt.time | None = DEFAULT_REMINDER,
    stamp: dt.datetime | None = None,
    stopped: dt.date | None = None,
) -> Calendar:
    """Build the trial calendar.

    Parameters
    ----------
    protocol, schedule
        The trial and its schedule (``build_schedule(protocol)`` or the locked one).
    reminder
        Local (floating) time of the daily logging reminder; ``None`` leaves it out.
    stamp
        ``DTSTAMP`` of every item (UTC); default: now. Pass a fixed value for identical files.
    stopped
        The last trial day of an early stop (``nof1 stop``): nothing is planned after it.

    Returns
    -------
    icalendar.Calendar
        Serialize with ``.to_ical()``.
    """
    stamp = (stamp or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    stamp = stamp.replace(microsecond=0)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", calendar_name(protocol, schedule))

    def all_day(item: str, first: dt.date, last: dt.date, summary: str, text: str) -> None:
        if stopped is not None:
            if first > stopped:
                return  # planned after the stop: left out
            if last > stopped:
                last = stopped
                summary = f"{summary} (stopped early)"
        event = Event()
        event.add("uid", calendar_uid(protocol, schedule, item))
        event.add("dtstamp", stamp)
        event.add("dtstart", first)
        event.add("dtend", last + dt.timedelta(days=1))  # exclusive end for all-day events
        event.add("summary", summary)
        event.add("description", text)
        event.add("transp", "TRANSPARENT")  # informational: does not block time as busy
        cal.add_component(event)

    if schedule.run_in_days:
        last = schedule.start + dt.timedelta(days=schedule.run_in_days - 1)
        all_day(
            "run-in",
            schedule.start,
            last,
            "N-of-1 run-in (baseline)",
            f"Baseline diary, {schedule.run_in_days} days: take neither "
            f"{'pack' if schedule.blinded else 'arm'} yet; answer the daily questions "
            "(nof1 log).",
        )
    periods = schedule.periods
    for period in periods:
        take = what_to_take(protocol, schedule, period.arm)
        label = schedule.codes[period.arm] if schedule.blinded else protocol.arm(period.arm).name
        lines = [
            f"Period {period.index} of {len(periods)} (block {period.block}): {take}.",
            f"Trial days {schedule.day_number(period.start)}-{schedule.day_number(period.end)}.",
        ]
        if schedule.analytic_washout_days:
            lines.append(
                f"The first {schedule.analytic_washout_days} days are an analytic washout: "
                "keep taking and logging as usual; they are left out of the main analysis."
            )
        lines.append("Log every day (nof1 log).")
        all_day(
            f"period-{period.index}",
            period.start,
            period.end,
            f"N-of-1 period {period.index}: {label}",
            "\n".join(lines),
        )
        if period.index < len(periods) and schedule.washout_days:
            first = period.end + dt.timedelta(days=1)
            all_day(
                f"washout-{period.index}",
                first,
                first + dt.timedelta(days=schedule.washout_days - 1),
                f"N-of-1 washout after period {period.index}",
                f"Washout, {schedule.washout_days} days: take neither "
                f"{'pack' if schedule.blinded else 'arm'}; keep logging every day (nof1 log).",
            )

    if stopped is not None:
        all_day(
            "stopped",
            stopped,
            stopped,
            "N-of-1 trial stopped",
            "The trial was stopped on this day. Do not take the trial intervention; contact your "
            "supervising clinician. Follow-up days can still be logged (nof1 log).",
        )

    if reminder is not None:
        event = Event()
        event.add("uid", calendar_uid(protocol, schedule, "reminder"))
        event.add("dtstamp", stamp)
        # Floating local time: the reminder follows the person across time zones.
        start = dt.datetime.combine(schedule.start, reminder)
        event.add("dtstart", start)
        event.add("duration", dt.timedelta(minutes=10))
        # UNTIL must have the same value type as DTSTART (floating local date-time, RFC 5545).
        last_day = schedule.end if stopped is None else min(stopped, schedule.end)
        until = dt.datetime.combine(last_day, dt.time(23, 59, 59))
        event.add("rrule", vRecur(freq="DAILY", until=until))
        event.add("summary", "N-of-1 diary: log today")
        event.add(
            "description",
            "Answer today's questions: nof1 log (or nof1 today to see what to take).",
        )
        event.add("transp", "TRANSPARENT")
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", "N-of-1 diary: log today")
        alarm.add("trigger", dt.timedelta(0))
        event.add_component(alarm)
        cal.add_component(event)
    return cal


def calendar_bytes(
    protocol: TrialProtocol,
    schedule: Schedule,
    *,
    reminder: dt.time | None = DEFAULT_REMINDER,
    stamp: dt.datetime | None = None,
    stopped: dt.date | None = None,
) -> bytes:
    """The calendar serialized as RFC 5545 text (CRLF line endings, folded lines)."""
    cal = build_calendar(protocol, schedule, reminder=reminder, stamp=stamp, stopped=stopped)
    return bytes(cal.to_ical())
