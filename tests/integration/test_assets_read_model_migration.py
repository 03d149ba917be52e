"""as0002 gives ledger rows projected before it the depreciation life their AssetRegistered v1 event reads with
(the 2017 table by category; otherwise the minimum service life, under a version that says so)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

import services.assets.read_model  # noqa: F401  (registers the assets_views tree)
from services.common.base.db import migrate


def test_rows_projected_before_the_depreciation_table_get_their_life_and_version(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'assets.db'}")
    migrate(engine, "assets_views", revision="as0001")
    with engine.begin() as connection:
        row = {"agency_id": "A1", "district": "320402", "name": "x", "location": "R1", "status": "in_use"}
        row |= {"condition": "good", "original_value_cents": 100, "acquired_on": "2020-01-01"}
        for asset_id, category, life in (("d1", "furniture", 15), ("p1", "computers", 6), ("l1", "lab", 8)):
            connection.execute(
                sa.text(
                    "INSERT INTO as_assets (asset_id, agency_id, district, category, name, location, status,"
                    " condition, original_value_cents, acquired_on, min_service_life_years) VALUES (:asset_id,"
                    " :agency_id, :district, :category, :name, :location, :status, :condition,"
                    " :original_value_cents, :acquired_on, :life)"
                ),
                row | {"asset_id": asset_id, "category": category, "life": life},
            )
    migrate(engine, "assets_views")
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT asset_id, depreciation_life_years, depreciation_life_version FROM as_assets ORDER BY 1")
        ).all()
    assert [tuple(r) for r in rows] == [("d1", 15, "2017"), ("l1", 8, "service-life"), ("p1", 6, "2017")]
