"""The working calendar the anomaly detectors judge days by: public holidays (法定节假日) and make-up working
days (调休) from the platform's shared table (``services.common.kernel.holidays``), plus any the caller adds.

A year not yet in the shared table has weekends off only; ``detect_anomalies`` accepts extra holidays and
workdays for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from services.common.kernel.holidays import MAKE_UP_WORKDAYS, PUBLIC_HOLIDAYS

from .anomalies import WorkCalendar


def work_calendar(year: int, holidays: Iterable[date] = (), extra_workdays: Iterable[date] = ()) -> WorkCalendar:
    """The working calendar around ``year`` (its neighbours included: a baseline reaches back two weeks)."""
    years = (year - 1, year, year + 1)
    off = {d for y in years for d in PUBLIC_HOLIDAYS.get(y, ())} | set(holidays)
    on = {d for y in years for d in MAKE_UP_WORKDAYS.get(y, ())} | set(extra_workdays)
    return WorkCalendar(holidays=frozenset(off), extra_workdays=frozenset(on))
