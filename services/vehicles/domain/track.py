"""A trip's GPS track as GeoJSON (RFC 7946), for GIS tools and the dashboard's map.

The track is stored as the trip's GPS batches (``GpsBatchRecorded``, sealed; ``GpsPointsRecorded`` before),
``[at, latitude, longitude]`` in WGS-84 (the terminals' fixes, never converted). RFC 7946 fixes WGS-84 as GeoJSON's only coordinate reference
system and orders a position **longitude first**, so the one thing this module does beyond copying is to
swap the order. Converting to GCJ-02 (the offset Chinese web maps draw in) is a display matter: a map that
needs it converts on its side; the export stays WGS-84.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from services.vehicles.domain.trips import track_km


def track_summary(batches: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A track's figures from the clear fields of its batches (``count``, ``first_at``, ``last_at``,
    ``distance_km``), never from the points: they stay the same once the points are erased or expired. The
    length is the sum of the batches' lengths (the read model's ``gps_km``)."""
    listed = list(batches)
    return {
        "points": sum(int(b["count"]) for b in listed),
        "distance_km": round(sum(float(b["distance_km"]) for b in listed), 3),
        "first_at": min((str(b["first_at"]) for b in listed), default=None),
        "last_at": max((str(b["last_at"]) for b in listed), default=None),
    }


def track_feature(
    trip: Mapping[str, Any],
    batches: Iterable[Sequence[Sequence[str | float]]],
    summary: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The GeoJSON Feature of a trip's track: a LineString of every recorded point in time order (a Point
    for a single fix, no geometry before any), with the trip's ids, the time of each position
    (``properties.times``, parallel to the coordinates), the point count and the track's length in km (from
    ``summary`` when given: the figures of ``track_summary``, which outlive the points)."""
    # canonical ISO UTC times (``Trip.record_gps``) sort as text; batches may arrive out of order
    fixes = sorted(((str(at), float(lat), float(lon)) for batch in batches for at, lat, lon in batch), key=_time)
    points: list[list[str | float]] = [[at, lat, lon] for at, lat, lon in fixes]
    coordinates = [[lon, lat] for _, lat, lon in fixes]
    geometry: dict[str, Any] | None = None
    if len(coordinates) == 1:
        geometry = {"type": "Point", "coordinates": coordinates[0]}
    elif coordinates:
        geometry = {"type": "LineString", "coordinates": coordinates}
    return {
        "type": "Feature",
        "id": str(trip["trip_id"]),
        "geometry": geometry,
        "properties": {
            "trip_id": trip["trip_id"],
            "agency_id": trip.get("agency_id"),
            "district": trip.get("district"),
            "vehicle_id": trip.get("vehicle_id"),
            "vehicle_district": trip.get("vehicle_district"),
            "status": trip.get("status"),
            "started_at": trip.get("started_at"),
            "finished_at": trip.get("finished_at"),
            "points": len(points),
            "distance_km": track_km(points),
            "times": [at for at, _, _ in fixes],
            **(dict(summary) if summary is not None else {}),
        },
    }


def _time(fix: tuple[str, float, float]) -> str:
    return fix[0]
