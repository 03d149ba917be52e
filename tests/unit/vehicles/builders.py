"""Builders shared by the vehicle rule tests (pure: no I/O)."""

from __future__ import annotations

from typing import Any

from services.vehicles.domain.vehicles import Vehicle


def gasoline_car(vehicle_id: str = "V1", plate: str = "苏D12345", stored: bool = True, **extra: Any) -> Vehicle:
    """A gasoline sedan of agency A1 in 320402: 8 L/100 km, a 55 L tank, 10,000 km on the clock (its
    registration already stored unless ``stored`` is False)."""
    args: dict[str, Any] = {
        "vehicle_id": vehicle_id,
        "plate": plate,
        "agency_id": "A1",
        "district": "320402",
        "energy_type": "gasoline",
        "use_category": "general",
        "model": "大众帕萨特 1.4T",
        "acquisition_kind": "existing",
        "acquired_on": "2020-05-01",
        "norm_per_100km": 8.0,
        "tank_capacity": 55.0,
        "odometer_km": 10_000.0,
    } | extra
    vehicle = Vehicle.register(**args)
    if stored:
        vehicle.mark_stored()
    return vehicle


def electric_car(vehicle_id: str = "E1", plate: str = "苏DD12345", **extra: Any) -> Vehicle:
    """A stored battery-electric car: 15 kWh/100 km, a 60 kWh battery."""
    args: dict[str, Any] = {
        "energy_type": "battery_electric",
        "model": "比亚迪秦 EV",
        "norm_per_100km": 15.0,
        "tank_capacity": None,
        "battery_capacity_kwh": 60.0,
        "odometer_km": 0.0,
    } | extra
    return gasoline_car(vehicle_id, plate, **args)
