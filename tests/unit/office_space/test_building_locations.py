"""Buildings' locations: given at registration in WGS-84 (both coordinates or neither), read back from v1
events as unknown, and served as a GeoJSON FeatureCollection checked with the ``geojson`` package."""

from __future__ import annotations

import json

import geojson
import pytest

from services.common.kernel.errors import RuleViolation
from services.common.kernel.events import upcast
from services.office_space.domain.buildings import Building, BuildingRegistered
from services.office_space.domain.locations import buildings_collection

ROW = {
    "building_id": "B1",
    "agency_id": "A1",
    "district": "320400",
    "name": "市行政中心1号楼",
    "address": "龙城大道1280号",
    "gross_floor_area_m2": 24000.0,
}


def _valid(collection: dict[str, object]) -> bool:
    return bool(geojson.loads(json.dumps(collection)).is_valid)


def test_a_building_registered_with_its_location_records_both_coordinates() -> None:
    building = Building.register(
        building_id="B1",
        agency_id="A1",
        district="320400",
        name="1号楼",
        address="龙城大道1280号",
        gross_floor_area_m2=1000.0,
        longitude=119.9741,
        latitude=31.8112,
    )
    (event,) = building.pending_events
    assert isinstance(event, BuildingRegistered) and event.schema_version == 2
    assert (event.longitude, event.latitude) == (119.9741, 31.8112)


@pytest.mark.parametrize(
    ("longitude", "latitude", "field"),
    [(119.97, None, "latitude"), (None, 31.81, "longitude"), (181.0, 31.81, "longitude"), (119.97, -90.5, "latitude")],
)
def test_a_location_is_both_coordinates_within_their_ranges(
    longitude: float | None, latitude: float | None, field: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        Building.register(
            building_id="B1",
            agency_id="A1",
            district="320400",
            name="1号楼",
            address="",
            gross_floor_area_m2=1000.0,
            longitude=longitude,
            latitude=latitude,
        )
    assert field in refused.value.fields


def test_a_v1_registration_reads_as_a_building_without_location() -> None:
    v1 = dict(ROW)
    assert upcast("office_space", "BuildingRegistered", 1, v1, 2) == {**ROW, "longitude": None, "latitude": None}


def test_buildings_are_a_valid_feature_collection_of_points_longitude_first() -> None:
    located = {**ROW, "longitude": 119.9741, "latitude": 31.8112}
    unknown = {**ROW, "building_id": "B2", "longitude": None, "latitude": None}
    collection = buildings_collection([located, unknown])
    assert _valid(collection)
    first, second = collection["features"]
    assert first == {
        "type": "Feature",
        "id": "B1",
        "geometry": {"type": "Point", "coordinates": [119.9741, 31.8112]},  # [longitude, latitude] (RFC 7946)
        "properties": ROW,
    }
    assert second["geometry"] is None and second["id"] == "B2"
