"""The clock and the city's calendar: the one home of "now", of a moment's ISO text and of Beijing-time dates.

Three ideas, each with its own name:

- the current moment: ``utc_now`` (the one place the platform reads the clock);
- a moment as ISO text in UTC: ``iso`` (to the microsecond, as envelopes and records keep it),
  ``iso_seconds`` (to the whole second, as readings and comparable text keep it) and ``iso_seconds_of``
  (the same for a moment that is already ISO text with an offset); ``iso_as_given`` keeps the moment's own
  offset instead (a trip's times as the client gave them);
- the city's calendar (Beijing time, UTC+8, no daylight saving): ``china_today`` and ``china_date``.

Standard library only, so domain code may use it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Final

CHINA_STANDARD_TIME: Final = timezone(timedelta(hours=8), "CST")
"""Beijing time (UTC+8, no daylight saving): the time days and working hours are judged in."""


def utc_now() -> datetime:
    """The current time in UTC (the one place the plumbing reads the clock)."""
    return datetime.now(UTC)


_LAST_SECOND: tuple[tuple[int, ...], str] = ((), "")
"""The whole second ``iso`` last wrote (its fields, from the second up) and its text up to the seconds."""


def iso(moment: datetime) -> str:
    """An aware datetime as ISO-8601 in UTC to the microsecond.

    A moment already in UTC with a fraction (``utc_now``'s, all but one in a million) is written as ``isoformat``
    without arguments writes it, its date and time to the second as ``isoformat`` wrote them for the last moment of
    the same second (``isoformat`` formats every field through ``printf``: two fifths of the cost of an append's
    stamp, which every append writes)."""
    global _LAST_SECOND
    if moment.tzinfo is UTC and moment.microsecond:
        second = (moment.second, moment.minute, moment.hour, moment.day, moment.month, moment.year)
        last, text = _LAST_SECOND  # one tuple, read and replaced whole: threads see a second and its own text
        if second != last:
            text = moment.isoformat()[:19]
            _LAST_SECOND = (second, text)
        return f"{text}.{moment.microsecond:06d}+00:00"
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def iso_seconds(moment: datetime) -> str:
    """An aware datetime as ISO-8601 in UTC to the whole second (the canonical string of readings)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def iso_seconds_of(moment: str) -> str:
    """An ISO datetime with offset as ISO-8601 in UTC to the whole second (comparable as text)."""
    return iso_seconds(datetime.fromisoformat(moment))


def iso_as_given(moment: datetime) -> str:
    """An aware datetime as ISO-8601 at its own offset, to its own precision (not moved to UTC)."""
    return moment.isoformat()


def china_today() -> date:
    """Today in Beijing time: the city's calendar, which every date the platform records or counts from is in
    (from 00:00 to 08:00 there, the UTC date is still yesterday's)."""
    return utc_now().astimezone(CHINA_STANDARD_TIME).date()


def china_date(moment: str) -> str:
    """The Beijing-time ISO date of an ISO timestamp (an envelope's ``recorded_at``, say)."""
    return datetime.fromisoformat(moment).astimezone(CHINA_STANDARD_TIME).date().isoformat()
