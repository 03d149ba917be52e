"""China's public holidays (法定节假日) and make-up working days (调休): the shared working calendar.

The State Council's General Office announces each year's arrangement in November of the year before
(2025: 国办发明电〔2024〕12号; 2026: 国办发明电〔2025〕7号). Add a year here when it is announced; a year
not listed has weekends off only. Pure data and functions (standard library only), so domain code may use it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final


def _span(first: date, days: int) -> frozenset[date]:
    return frozenset(first + timedelta(days=n) for n in range(days))


PUBLIC_HOLIDAYS: Final[dict[int, frozenset[date]]] = {
    2025: frozenset(
        {date(2025, 1, 1)}  # 元旦
        | _span(date(2025, 1, 28), 8)  # 春节
        | _span(date(2025, 4, 4), 3)  # 清明节
        | _span(date(2025, 5, 1), 5)  # 劳动节
        | _span(date(2025, 5, 31), 3)  # 端午节
        | _span(date(2025, 10, 1), 8)  # 国庆节、中秋节
    ),
    2026: frozenset(
        _span(date(2026, 1, 1), 3)  # 元旦
        | _span(date(2026, 2, 15), 9)  # 春节
        | _span(date(2026, 4, 4), 3)  # 清明节
        | _span(date(2026, 5, 1), 5)  # 劳动节
        | _span(date(2026, 6, 19), 3)  # 端午节
        | _span(date(2026, 9, 25), 3)  # 中秋节
        | _span(date(2026, 10, 1), 7)  # 国庆节
    ),
}
"""Days off by year, the weekend days inside a holiday included."""

MAKE_UP_WORKDAYS: Final[dict[int, frozenset[date]]] = {
    2025: frozenset({date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28), date(2025, 10, 11)}),
    2026: frozenset(
        {
            date(2026, 1, 4),
            date(2026, 2, 14),
            date(2026, 2, 28),
            date(2026, 5, 9),
            date(2026, 9, 20),
            date(2026, 10, 10),
        }
    ),
}
"""Weekend days that are working days by the same notices."""


def is_public_holiday(day: date) -> bool:
    """Whether ``day`` is a day off of a public holiday."""
    return day in PUBLIC_HOLIDAYS.get(day.year, frozenset())


def is_make_up_workday(day: date) -> bool:
    """Whether ``day`` is a weekend day worked in exchange for a holiday (调休上班)."""
    return day in MAKE_UP_WORKDAYS.get(day.year, frozenset())


def day_kind(day: date) -> str:
    """``holiday``, ``weekend`` or ``workday``: what kind of day ``day`` is by the announced calendar."""
    if is_public_holiday(day):
        return "holiday"
    if day.weekday() >= 5 and not is_make_up_workday(day):
        return "weekend"
    return "workday"


def is_workday(day: date) -> bool:
    """Whether ``day`` is a working day (Monday to Friday outside holidays, or a make-up day)."""
    return day_kind(day) == "workday"
