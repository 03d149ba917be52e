"""Buildings' locations as GeoJSON (RFC 7946): what a GIS opens as it is."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

PROPERTIES = ("building_id", "agency_id", "district", "name", "address", "gross_floor_area_m2")
"""What each building's Feature says beside its point (the building's registration, as recorded)."""


def building_feature(building: Mapping[str, Any]) -> dict[str, Any]:
    """One building as a Feature: a Point ``[longitude, latitude]`` in WGS-84 (RFC 7946 allows no other
    datum and puts longitude first), or ``geometry: null`` when its location was never given."""
    lon, lat = building.get("longitude"), building.get("latitude")
    geometry = None if lon is None or lat is None else {"type": "Point", "coordinates": [float(lon), float(lat)]}
    return {
        "type": "Feature",
        "id": str(building["building_id"]),
        "geometry": geometry,
        "properties": {key: building.get(key) for key in PROPERTIES},
    }


def buildings_collection(buildings: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Buildings as one FeatureCollection, in the order given; a building without a location stays in it
    (``geometry: null``) so the collection says which locations are still missing."""
    return {"type": "FeatureCollection", "features": [building_feature(b) for b in buildings]}
