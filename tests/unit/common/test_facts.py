"""Effective dates of facts brought in from the past: bounds, the future, and who may record the past."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.common.kernel.errors import DateInFuture, Forbidden, ValidationFailed
from services.common.kernel.facts import fact_day, fact_moment, require_right_to_backdate

TODAY = date(2026, 12, 6)


def test_a_past_day_is_kept_and_no_day_is_today() -> None:
    assert fact_day("added_on", date(1900, 1, 1), TODAY) == date(1900, 1, 1)
    assert fact_day("added_on", None, TODAY) == TODAY
    assert fact_day("end_on", date(2100, 12, 31), TODAY, planned=True) == date(2100, 12, 31)  # planned: ahead


def test_a_day_out_of_bounds_or_in_the_future_is_refused_with_its_field() -> None:
    with pytest.raises(ValidationFailed) as ancient:
        fact_day("added_on", date(1899, 12, 31), TODAY)
    assert ancient.value.fields == {"added_on": ["must be between 1900-01-01 and 2100-12-31"]}
    with pytest.raises(DateInFuture) as tomorrow:
        fact_day("added_on", date(2026, 12, 7), TODAY)
    assert tomorrow.value.fields == {"added_on": ["must not be in the future"]}
    now = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    assert fact_moment("opened_at", datetime(2025, 3, 1, tzinfo=UTC), now) == datetime(2025, 3, 1, tzinfo=UTC)
    with pytest.raises(DateInFuture) as later:
        fact_moment("opened_at", datetime(2026, 12, 6, 2, 1, tzinfo=UTC), now)
    assert list(later.value.fields) == ["opened_at"]


def test_only_the_city_administration_records_the_past() -> None:
    require_right_to_backdate({"lent_on": date(2026, 10, 8)}, None)  # a city administrator (no district scope)
    require_right_to_backdate({"lent_on": None}, "320402")  # a district operator acting today
    with pytest.raises(Forbidden) as district:
        require_right_to_backdate({"lent_on": date(2026, 10, 8), "due_on": None}, "320402")
    assert district.value.fields == {"lent_on": ["only a city administrator records a past fact"]}
