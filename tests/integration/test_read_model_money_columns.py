"""as0003, pr0002 and veh0002 rename the read models' money columns ``*_cents`` to ``*_fen`` in place: the
values a projection wrote before stay, under the new name."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import sqlalchemy as sa

import services.assets.read_model
import services.procurement.read_model
import services.vehicles.read_model  # noqa: F401  (register the three trees)
from services.common.base.db import migrate

CASES = [
    ("assets", "assets_views", "as0002", "services.assets.migrations.versions.as0003_money_in_fen"),
    ("procurement", "procurement_views", "pr0001", "services.procurement.migrations.versions.pr0002_money_in_fen"),
    ("vehicles", "vehicles_views", "veh0001", "services.vehicles.migrations.versions.veh0002_money_in_fen"),
]


def _columns(engine: sa.Engine, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns(table)}


@pytest.mark.parametrize(("service", "tree", "before", "module"), CASES)
def test_every_money_column_is_renamed_to_fen(
    tmp_path: Path, service: str, tree: str, before: str, module: str
) -> None:
    renamed = importlib.import_module(module).RENAMED
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'views.db'}")
    migrate(engine, tree, revision=before)
    assert all(former in _columns(engine, table) for table, former, _ in renamed)
    migrate(engine, tree)
    for table, former, column in renamed:
        assert column in _columns(engine, table)
        assert former not in _columns(engine, table)
    assert not any(c.endswith("_cents") for table, _, _ in renamed for c in _columns(engine, table))


def test_an_amount_projected_before_keeps_its_value(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'assets.db'}")
    migrate(engine, "assets_views", revision="as0002")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO as_assets (asset_id, agency_id, district, category, name, location, status, condition,"
                " original_value_cents, acquired_on, min_service_life_years) VALUES ('d1', 'A1', '320402',"
                " 'furniture', 'x', 'R1', 'in_use', 'good', 12345, '2020-01-01', 15)"
            )
        )
    migrate(engine, "assets_views")
    with engine.connect() as connection:
        value = connection.execute(sa.text("SELECT original_value_fen FROM as_assets WHERE asset_id = 'd1'")).scalar()
    assert value == 12345
