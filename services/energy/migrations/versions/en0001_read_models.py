"""Energy read models: meters, hourly and daily use per meter, gaps, flat runs, anomalies, quotas, floor areas.

Revision ID: en0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "en0001"
down_revision = None
branch_labels = None
depends_on = None

_DIMENSIONS = (
    ("kind", 20),
    ("agency_id", 64),
    ("building_id", 64),
    ("district", 6),
    ("sub_item", 20),
)


def _dimensions() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column(name, sa.String(length), nullable=False) for name, length in _DIMENSIONS]


def upgrade() -> None:
    """Create the read-model tables."""
    op.create_table(
        "en_meters",
        sa.Column("meter_id", sa.String(64), primary_key=True),
        sa.Column("serial_no", sa.String(64), nullable=False),
        sa.Column("unit", sa.String(10), nullable=False),
        *_dimensions(),
        sa.Column("multiplier", sa.Float(), nullable=False),
        sa.Column("installed_at", sa.String(40), nullable=False),
        sa.Column("replaced_at", sa.String(40)),
    )
    op.create_index("ix_en_meters_agency", "en_meters", ["agency_id"])
    op.create_table(
        "en_hourly",
        sa.Column("meter_id", sa.String(64), primary_key=True),
        sa.Column("hour", sa.String(13), primary_key=True),
        *_dimensions(),
        sa.Column("consumption", sa.Float(), nullable=False),
    )
    op.create_index("ix_en_hourly_hour", "en_hourly", ["hour"])
    op.create_table(
        "en_daily",
        sa.Column("meter_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        *_dimensions(),
        sa.Column("consumption", sa.Float(), nullable=False),
    )
    op.create_index("ix_en_daily_day", "en_daily", ["day"])
    op.create_index("ix_en_daily_agency_day", "en_daily", ["agency_id", "day"])
    op.create_table(
        "en_gaps",
        sa.Column("meter_id", sa.String(64), primary_key=True),
        sa.Column("gap_from", sa.String(40), primary_key=True),
        sa.Column("gap_to", sa.String(40), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("district", sa.String(6), nullable=False),
    )
    op.create_index("ix_en_gaps_to", "en_gaps", ["gap_to"])
    op.create_table(
        "en_flat_runs",
        sa.Column("meter_id", sa.String(64), primary_key=True),
        sa.Column("run_start", sa.String(40), primary_key=True),
        sa.Column("run_end", sa.String(40), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("readings", sa.Text(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_en_flat_runs_open", "en_flat_runs", ["meter_id", "closed"])
    op.create_table(
        "en_anomalies",
        sa.Column("anomaly_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("meter_id", sa.String(64), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("district", sa.String(6), nullable=False),
        sa.Column("building_id", sa.String(64), nullable=False),
        sa.Column("period_start", sa.String(40), nullable=False),
        sa.Column("period_end", sa.String(40), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("raised_at", sa.String(40), nullable=False),
        sa.Column("acknowledged_by", sa.String(200)),
        sa.Column("acknowledged_at", sa.String(40)),
        sa.Column("note", sa.String(1000)),
        sa.Column("resolved_by", sa.String(200)),
        sa.Column("resolved_at", sa.String(40)),
        sa.Column("resolution", sa.String(1000)),
    )
    op.create_index("ix_en_anomalies_raised", "en_anomalies", ["raised_at"])
    op.create_table(
        "en_quotas",
        sa.Column("quota_id", sa.String(100), primary_key=True),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("district", sa.String(6), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(20), nullable=False),
        sa.Column("quota_limit", sa.Float(), nullable=False),
        sa.Column("alert_open", sa.Boolean(), nullable=False),
        sa.Column("last_alert", sa.Text()),
    )
    op.create_table(
        "en_floor_areas",
        sa.Column("building_id", sa.String(64), primary_key=True),
        sa.Column("agency_id", sa.String(64), nullable=False, index=True),
        sa.Column("gross_floor_area_m2", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    """Drop the read-model tables."""
    for table in (
        "en_floor_areas",
        "en_quotas",
        "en_anomalies",
        "en_flat_runs",
        "en_gaps",
        "en_daily",
        "en_hourly",
        "en_meters",
    ):
        op.drop_table(table)
