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


def iso(moment: datetime) -> str:
    """An aware datetime as ISO-8601 in UTC to the microsecond.

    A moment already in UTC with a fraction (``utc_now``'s, all but one in a million) is written by ``isoformat``
    without arguments, which writes the same text at half the cost (every append stamps its events with one)."""
    if moment.tzinfo is UTC and moment.microsecond:
        return moment.isoformat()
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
