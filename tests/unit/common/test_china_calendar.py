"""The platform's calendar is Beijing time: from 00:00 to 08:00 there, the UTC date is still yesterday's."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from services.common.base.db import create_db_engine, migrate
from services.common.kernel import clock
from services.common.kernel.clock import china_date, china_today
from services.common.kernel.events import Envelope
from services.office_space.read_model import OfficeSpaceViews, findings

EARLY_MORNING_IN_BEIJING = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)  # 01:30 on the 24th in Beijing


def test_today_is_beijings_date_even_while_utc_is_still_on_yesterday(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "utc_now", lambda: EARLY_MORNING_IN_BEIJING)
    assert china_today() == date(2026, 11, 24)
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2026, 11, 23, 15, 59, tzinfo=UTC))  # 23:59 there
    assert china_today() == date(2026, 11, 23)


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        ("2026-11-23T17:30:00+00:00", "2026-11-24"),
        ("2026-11-23T15:59:59.999999+00:00", "2026-11-23"),
        ("2026-11-24T01:30:00+08:00", "2026-11-24"),
        ("2026-12-31T16:00:00+00:00", "2027-01-01"),
    ],
)
def test_a_recorded_moment_falls_on_its_beijing_date(moment: str, day: str) -> None:
    assert china_date(moment) == day


def test_a_finding_recorded_early_in_the_beijing_morning_is_opened_on_that_day() -> None:
    engine = create_db_engine("sqlite://")
    migrate(engine, "office_space_views")
    env = Envelope(
        event_id="e-1",
        event_type="InspectionFindingRecorded",
        schema_version=1,
        stream_type="Inspection",
        stream_id="I-1",
        stream_version=2,
        occurred_at=EARLY_MORNING_IN_BEIJING.isoformat(),
        recorded_at=EARLY_MORNING_IN_BEIJING.isoformat(),
        district="320402",
        agency_id="AG-1",
        actor="test",
        correlation_id="c-1",
        causation_id=None,
        payload={
            "inspection_id": "I-1",
            "finding_id": "F-1",
            "kind": "safety",
            "description": "消防通道堆放杂物",
            "deadline": "2026-12-01",
        },
        domain="office_space",
    )
    with engine.begin() as conn:
        OfficeSpaceViews().apply(conn, env)
        opened = conn.execute(sa.select(findings.c.opened_on)).scalar_one()
    assert opened == "2026-11-24"
