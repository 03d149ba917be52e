"""Effective dates of facts recorded after they happened (a city bringing its history in).

A command that records a fact may carry the day the fact happened (a unit added in 2020, a tenancy vacated in
June, a loan issued last month). The day is the fact's, ``recorded_at`` on the envelope is the day it was
typed in; figures and the ages of findings count from the fact's day. One rule for every such date, here:

- it lies between ``EARLIEST_FACT_DAY`` and ``LATEST_FACT_DAY`` (a year 0026 or 9999 is a typo, not history);
- a fact that has happened is not in the future (Beijing date); only a planned fact (a tenancy's end, a loan's
  due date, a cover period) may be.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

from services.common.kernel.errors import DateInFuture, Forbidden, ValidationFailed, require_not_future

EARLIEST_FACT_DAY: Final = date(1900, 1, 1)
"""The first day a fact may carry: nothing the platform records is older."""

LATEST_FACT_DAY: Final = date(2100, 12, 31)
"""The last day a planned fact may carry (leases and plans run decades ahead at most)."""


def fact_day(field: str, day: date | None, today: date, planned: bool = False) -> date:
    """The effective day of a fact: ``day`` when given, else ``today`` (the fact happens now).

    Refused (422 with the field's reason) outside 1900..2100 (``validation_failed``), and after ``today``
    unless the fact is ``planned`` (``date_in_future``, ``services.common.kernel.errors.require_not_future``)."""
    if day is None:
        return today
    if not EARLIEST_FACT_DAY <= day <= LATEST_FACT_DAY:
        bounds = f"must be between {EARLIEST_FACT_DAY.isoformat()} and {LATEST_FACT_DAY.isoformat()}"
        raise ValidationFailed(f"{field} {day.isoformat()} is out of range", fields={field: [bounds]})
    if not planned:
        require_not_future(field, day, today)  # the platform's one rule for a fact dated after today
    return day


def fact_moment(field: str, moment: datetime | None, now: datetime) -> datetime:
    """The effective time of a fact that has happened: ``moment`` when given (an aware datetime), else ``now``.

    Refused (422 with the field's reason) when its date is outside 1900..2100 or it lies after ``now``."""
    if moment is None:
        return now
    fact_day(field, moment.date(), now.date(), planned=True)
    if moment > now:
        raise DateInFuture(
            f"{field} {moment.isoformat()} is after now ({now.isoformat()})",
            fields={field: ["must not be in the future"]},
            details={field: moment.isoformat(), "now": now.isoformat()},
        )
    return moment


def require_right_to_backdate(fields: dict[str, object], scope_district: str | None) -> None:
    """Recording the past is the city administration's right (a city administrator, or a migration token with
    that role): a caller acting for one district only (``scope_district``) may not give an effective date or
    time (403 ``forbidden``, naming the fields). The fact's day and the envelope's ``recorded_at`` and actor
    then say who brought which past in, and when."""
    given = sorted(name for name, value in fields.items() if value is not None)
    if given and scope_district is not None:
        raise Forbidden(
            "recording a past fact is the city administration's right",
            fields={name: ["only a city administrator records a past fact"] for name in given},
        )
