"""A trip's GPS track as GeoJSON (``services.vehicles.domain.track``), checked with the ``geojson`` package."""

from __future__ import annotations

import json

import geojson

from services.vehicles.domain.track import track_feature

TRIP = {"trip_id": "TR-1", "agency_id": "A1", "district": "320402", "vehicle_id": "VH-1", "status": "completed"}


def _valid(feature: dict[str, object]) -> bool:
    parsed = geojson.loads(json.dumps(feature))
    return bool(parsed.is_valid)


def test_a_track_is_a_valid_linestring_longitude_first_in_time_order_across_batches() -> None:
    # the second batch arrived first: the track is still in time order
    later = [["2026-03-02T01:10:00Z", 31.78, 119.95]]
    earlier = [["2026-03-02T01:00:00Z", 31.77, 119.94], ["2026-03-02T01:05:00Z", 31.775, 119.945]]
    feature = track_feature(TRIP, [later, earlier])
    assert _valid(feature)
    assert feature["geometry"] == {
        "type": "LineString",
        "coordinates": [[119.94, 31.77], [119.945, 31.775], [119.95, 31.78]],  # [longitude, latitude] (RFC 7946)
    }
    properties = feature["properties"]
    assert properties["times"] == ["2026-03-02T01:00:00Z", "2026-03-02T01:05:00Z", "2026-03-02T01:10:00Z"]
    assert properties["points"] == 3
    # each leg: 0.005° of latitude (0.556 km) and 0.005° of longitude at 31.77° N (0.556·cos 31.77° = 0.473 km):
    # √(0.556² + 0.473²) ≈ 0.730 km; two legs ≈ 1.46 km
    assert 1.45 < properties["distance_km"] < 1.47


def test_one_fix_is_a_point_and_no_fix_a_feature_without_geometry() -> None:
    one = track_feature(TRIP, [[["2026-03-02T01:00:00Z", 31.77, 119.94]]])
    assert one["geometry"] == {"type": "Point", "coordinates": [119.94, 31.77]} and _valid(one)
    none = track_feature(TRIP, [])
    assert none["geometry"] is None and none["properties"]["points"] == 0 and _valid(none)
