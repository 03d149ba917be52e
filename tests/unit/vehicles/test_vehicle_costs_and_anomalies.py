"""A vehicle's registration, costs, anomaly checks, sealing and disposal (pure: no I/O)."""

from __future__ import annotations

import pytest

from services.common.kernel.errors import NotPositive, RuleViolation
from services.vehicles.domain.anomalies import (
    DEFAULT_ANOMALY_RULES,
    AnomalyNotOpen,
    AnomalyRules,
    FuelConsumptionAboveNorm,
    FuelConsumptionMeasured,
    OdometerRollbackDetected,
    RefuelExceededCapacity,
    RepairHistory,
    consumption_per_100km,
    repair_outliers,
    robust_z_scores,
)
from services.vehicles.domain.base import VehicleBusy, VehicleIsDisposed, VehicleIsSealed, WrongEnergyCarrier
from services.vehicles.domain.costs import (
    ChargingRecorded,
    CostItem,
    FuelRecorded,
    cost_per_km,
    costs_by_kind,
    monthly_costs,
    year_window,
)
from services.vehicles.domain.vehicles import CapacityRequired, DuplicateRecord, OdometerReplaced, Vehicle
from tests.unit.vehicles.builders import electric_car, gasoline_car


def _fuel(vehicle: Vehicle, record: str, litres: float, km: float | None, **extra: object) -> list[str]:
    args: dict[str, object] = {
        "record_id": record,
        "fuel": "gasoline",
        "quantity": litres,
        "amount_fen": int(litres * 780),
        "station": "中石化龙城加油站",
        "designated": True,
        "odometer_km": km,
        "refuelled_at": "2026-03-02T09:00:00+08:00",
    } | extra
    return vehicle.record_fuel(**args)  # type: ignore[arg-type]


def test_a_vehicle_needs_the_capacity_of_what_it_takes_in() -> None:
    with pytest.raises(CapacityRequired):
        gasoline_car(tank_capacity=None)
    with pytest.raises(CapacityRequired):
        electric_car(battery_capacity_kwh=None)
    with pytest.raises(CapacityRequired):
        gasoline_car("P1", "苏DF12345", energy_type="plug_in_hybrid")  # has a tank, no battery


def test_a_replacement_names_the_vehicle_it_replaces() -> None:
    with pytest.raises(RuleViolation):
        gasoline_car(acquisition_kind="replacement")
    with pytest.raises(RuleViolation):
        gasoline_car(acquisition_kind="new", replaces_vehicle_id="V0")
    assert gasoline_car(acquisition_kind="replacement", replaces_vehicle_id="V0").acquisition_kind == "replacement"


def test_every_fuel_and_charging_record_carries_quantity_unit_and_energy_carrier() -> None:
    car, ev = gasoline_car(), electric_car()
    _fuel(car, "F1", 40, 10_100)
    ev.record_charging("C1", 45.0, 3600, "国网充电站", True, 300, "2026-03-02T20:00:00+08:00")
    fuel, charge = car.pending_events[0], ev.pending_events[0]
    assert isinstance(fuel, FuelRecorded) and isinstance(charge, ChargingRecorded)
    assert (fuel.energy_kind, fuel.quantity, fuel.unit, fuel.agency_id, fuel.district) == (
        "gasoline",
        40,
        "L",
        "A1",
        "320402",
    )
    assert (charge.energy_kind, charge.quantity, charge.unit) == ("electricity", 45.0, "kWh")


def test_a_vehicle_takes_only_its_own_energy_carriers() -> None:
    with pytest.raises(WrongEnergyCarrier):
        _fuel(gasoline_car(), "F1", 40, None, fuel="diesel")
    with pytest.raises(WrongEnergyCarrier):
        gasoline_car().record_charging("C1", 10, 100, "x", False, None, "2026-03-02T20:00:00+08:00")
    with pytest.raises(WrongEnergyCarrier):
        _fuel(electric_car(), "F1", 40, None)


def test_a_record_is_stored_once_and_needs_a_positive_quantity() -> None:
    car = gasoline_car()
    _fuel(car, "F1", 40, None)
    with pytest.raises(DuplicateRecord):
        _fuel(car, "F1", 40, None)
    with pytest.raises(NotPositive):
        _fuel(car, "F2", 0, None)


def test_a_refuel_larger_than_the_tank_is_an_anomaly_with_its_evidence() -> None:
    car = gasoline_car()
    assert _fuel(car, "F1", 57, None) == []  # 55 L + 5 % filler neck
    raised = _fuel(car, "F2", 80, None)
    event = car.pending_events[-1]
    assert raised == ["refuel_above_capacity:V1:F2"] and isinstance(event, RefuelExceededCapacity)
    assert (event.quantity, event.capacity, event.unit) == (80, 55.0, "L")
    assert car.open_anomalies == {"refuel_above_capacity:V1:F2": "refuel_above_capacity"}


def test_a_charge_larger_than_the_battery_allows_for_charger_losses() -> None:
    ev = electric_car()
    assert ev.record_charging("C1", 68, 100, "x", True, None, "2026-03-02T20:00:00+08:00") == []  # 60 + 15 %
    assert ev.record_charging("C2", 75, 100, "x", True, None, "2026-03-03T20:00:00+08:00") != []


def test_fuel_per_100km_above_the_norm_by_the_factor_is_an_anomaly() -> None:
    car = gasoline_car()  # norm 8 L/100 km, factor 1.3: above 10.4 is an anomaly
    assert _fuel(car, "F1", 30, 10_000) == []  # opens the window (the tank is full from here)
    assert _fuel(car, "F2", 20, 10_200) == []  # 200 km: too short to judge
    assert _fuel(car, "F3", 20, 10_400) == []  # 40 L over 400 km = 10 L/100 km: within 1.3 × 8
    measured = [e for e in car.pending_events if isinstance(e, FuelConsumptionMeasured)]
    assert [(m.from_km, m.to_km, m.quantity, m.per_100km) for m in measured] == [(10_000, 10_400, 40, 10.0)]
    assert _fuel(car, "F4", 50, 10_800) == ["consumption_above_norm:V1:F4"]  # 12.5 L/100 km
    flagged = car.pending_events[-1]
    assert isinstance(flagged, FuelConsumptionAboveNorm)
    assert (flagged.from_km, flagged.to_km, flagged.per_100km, flagged.norm_per_100km, flagged.factor) == (
        10_400,
        10_800,
        12.5,
        8.0,
        1.3,
    )


def test_the_consumption_factor_is_configurable() -> None:
    car, strict = gasoline_car(), AnomalyRules(consumption_factor=1.2)
    _fuel(car, "F1", 30, 10_000, rules=strict)
    assert _fuel(car, "F2", 40, 10_400, rules=strict) == ["consumption_above_norm:V1:F2"]  # 10 > 9.6


def test_refuels_without_odometer_count_towards_the_window() -> None:
    car = gasoline_car()
    _fuel(car, "F1", 30, 10_000)
    _fuel(car, "F2", 30, None)
    assert _fuel(car, "F3", 30, 10_500) == ["consumption_above_norm:V1:F3"]  # 60 L / 500 km = 12


def test_an_odometer_going_backwards_is_an_anomaly_and_never_lowers_the_odometer() -> None:
    car = gasoline_car()
    _fuel(car, "F1", 30, 10_500)
    raised = _fuel(car, "F2", 30, 9_800)
    rollback = next(e for e in car.pending_events if isinstance(e, OdometerRollbackDetected))
    assert raised == ["odometer_rollback:V1:F2"]
    assert (rollback.last_km, rollback.reported_km, rollback.source) == (10_500, 9_800, "fuel")
    assert car.odometer_km == 10_500
    assert car.record_repair("R1", "repair", "定点修理厂", True, 50_000, "刹车片", 10_400, "2026-03-05") == [
        "odometer_rollback:V1:R1"
    ]


def test_after_an_odometer_replacement_readings_go_on_from_the_new_one() -> None:
    car = gasoline_car()
    _fuel(car, "F1", 30, 10_400)
    car.replace_odometer("ODO-1", 10_450, 5, "2026-03-03", "仪表盘故障更换")
    assert car.pending_events[-1] == OdometerReplaced("V1", "A1", "ODO-1", 10_450, 5, "2026-03-03", "仪表盘故障更换")
    assert car.odometer_km == 5
    assert _fuel(car, "F2", 30, 120) == []  # below the old odometer's readings: no rollback
    assert _fuel(car, "F3", 30, 100) == ["odometer_rollback:V1:F3"]  # below the new one's last: still one
    # the consumption window restarted at F2 (the litres of F1 are not measured against the new scale)
    assert _fuel(car, "F4", 40, 520) == ["consumption_above_norm:V1:F4"]  # 70 L since F2 over 400 km
    measured = next(e for e in car.pending_events if isinstance(e, FuelConsumptionMeasured))
    assert (measured.from_km, measured.to_km) == (120, 520)


def test_an_odometer_is_replaced_with_its_last_reading_and_never_during_a_trip() -> None:
    car = gasoline_car()  # 10,000 km
    with pytest.raises(RuleViolation) as refused:
        car.replace_odometer("ODO-1", 9_990, 0, "2026-03-03", "更换")
    assert refused.value.fields == {"old_reading_km": ["must be >= 10000"]}
    car.depart("T1", 10_000, "2026-03-03T09:00:00+08:00")
    with pytest.raises(VehicleBusy):
        car.replace_odometer("ODO-1", 10_000, 0, "2026-03-03", "更换")
    car.return_from("T1", 10_020, 20, "2026-03-03T10:00:00+08:00")
    car.replace_odometer("ODO-1", 10_020, 0, "2026-03-03", "更换")
    with pytest.raises(DuplicateRecord):
        car.replace_odometer("ODO-1", 10_020, 0, "2026-03-03", "更换")


def test_an_anomaly_stays_open_until_resolved_with_a_note() -> None:
    car = gasoline_car()
    _fuel(car, "F1", 80, None)
    car.resolve_anomaly("refuel_above_capacity:V1:F1", "票据录入错误，实为 40 升", "2026-03-10")
    assert car.open_anomalies == {}
    with pytest.raises(AnomalyNotOpen):
        car.resolve_anomaly("refuel_above_capacity:V1:F1", "again", "2026-03-10")


def test_robust_statistics_use_the_median_and_mad() -> None:
    centre, mad, scores = robust_z_scores({"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0, "e": 100.0})
    assert (centre, mad) == (3.0, 1.0)
    assert scores["e"] == pytest.approx(97 / 1.4826)
    _, mad, scores = robust_z_scores({"a": 0.0, "b": 0.0, "c": 0.0, "d": 5.0})  # MAD 0: mean deviation stands in
    assert mad == 0 and scores["d"] == pytest.approx(5 / (1.2533 * 1.25)) and scores["a"] == 0


def test_repair_cost_or_frequency_far_above_the_fleet_is_an_outlier() -> None:
    fleet = {f"V{n}": RepairHistory(cost_fen=100_000 + n * 10_000, visits=1 + n % 2) for n in range(8)}
    fleet["V9"] = RepairHistory(cost_fen=2_000_000, visits=2)  # cost far above
    fleet["V10"] = RepairHistory(cost_fen=150_000, visits=9)  # frequency far above
    found = {(o.vehicle_id, o.metric) for o in repair_outliers(fleet)}
    assert found == {("V9", "cost"), ("V10", "frequency")}


def test_a_small_fleet_or_a_small_absolute_figure_is_no_outlier() -> None:
    assert repair_outliers({f"V{n}": RepairHistory(0, 0) for n in range(3)} | {"V9": RepairHistory(10**7, 9)}) == []
    quiet = {f"V{n}": RepairHistory(0, 0) for n in range(9)} | {"V9": RepairHistory(50_000, 1)}
    assert repair_outliers(quiet) == []  # one 500-yuan repair in a quiet month
    assert repair_outliers(quiet, AnomalyRules(min_outlier_visits=1, min_outlier_cost_fen=0))


def test_a_flagged_repair_outlier_is_recorded_once_per_metric_and_period() -> None:
    car = gasoline_car()
    fleet = {f"V{n}": RepairHistory(100_000, 1) for n in range(1, 9)} | {"V1": RepairHistory(5_000_000, 1)}
    (outlier,) = repair_outliers(fleet, DEFAULT_ANOMALY_RULES)
    assert car.flag_repair_outlier(outlier, "2026", "2027-01-02") == "repair_outlier:V1:cost:2026"
    assert car.flag_repair_outlier(outlier, "2026", "2027-01-03") is None


def test_costs_per_month_spread_a_premium_over_its_months_and_give_cost_per_km() -> None:
    items = [
        CostItem("fuel", 30_000, "2026-01-15"),
        CostItem("insurance", 120_000, "2026-01-01", "2026-01-01", "2026-12-31"),
        CostItem("toll", 5_000, "2026-02-03"),
        CostItem("repair", 80_000, "2025-12-20"),  # outside the window
    ]
    months = monthly_costs(items, "2026-01", "2026-03")
    assert list(months) == ["2026-01", "2026-02", "2026-03"]
    assert months["2026-01"]["insurance"] == 120_000 * 31 // 365 and months["2026-01"]["fuel"] == 30_000
    assert months["2026-02"]["toll"] == 5_000 and months["2026-03"]["repair"] == 0
    total = sum(sum(kinds.values()) for kinds in months.values())
    assert cost_per_km(months, 1000.0) == round(total / 100 / 1000, 4)
    assert cost_per_km(months, 0) is None
    year = monthly_costs(items[1:2], "2026-01", "2026-12")
    assert sum(m["insurance"] for m in year.values()) == 120_000  # nothing lost to rounding


def test_a_sealed_vehicle_cannot_be_dispatched_on_its_sealed_days() -> None:
    car = gasoline_car()
    car.seal("S1", "2026-10-01", "2026-10-07", "国庆节封存")
    car.require_dispatchable("2026-09-28", "2026-09-30")
    with pytest.raises(VehicleIsSealed):
        car.require_dispatchable("2026-09-30", "2026-10-01")
    car.unseal("S1", "2026-10-05")
    car.require_dispatchable("2026-10-05", "2026-10-07")
    with pytest.raises(VehicleIsSealed):
        car.require_dispatchable("2026-10-04", "2026-10-04")


def test_disposal_by_auction_records_its_proceeds_and_ends_the_vehicle() -> None:
    car = gasoline_car()
    with pytest.raises(RuleViolation):
        car.dispose("auction", 0, "2026-06-30", "常州市公共资源交易中心 2026-CL-018")
    car.dispose("auction", 3_560_000, "2026-06-30", "常州市公共资源交易中心 2026-CL-018")
    assert car.status == "disposed"
    _fuel(car, "F-late", 20, None, refuelled_at="2026-06-29T10:00:00+08:00")  # a bill from before disposal
    with pytest.raises(VehicleIsDisposed):
        _fuel(car, "F-after", 20, None, refuelled_at="2026-07-01T10:00:00+08:00")
    with pytest.raises(VehicleIsDisposed):
        car.seal("S1", "2026-10-01", "2026-10-07", "x")


def test_a_period_s_cost_by_kind_counts_only_the_months_a_premium_covers_in_it() -> None:
    items = [
        # 36,500 fen for 2025-12-01..2026-11-30 (365 days): 31 days fall in 2025, 334 in 2026
        CostItem("insurance", 36_500, "2025-11-28", "2025-12-01", "2026-11-30"),
        CostItem("fuel", 20_000, "2026-03-04"),
        CostItem("fuel", 9_900, "2027-01-02"),  # next year: left out
    ]
    assert year_window(2026) == ("2026-01", "2026-12")
    # 2026: insurance 36,500 × 334 / 365 = 33,400 (whole fen per month, the rounding on the last month) + fuel
    assert costs_by_kind(items, *year_window(2026)) == {"insurance": 33_400, "fuel": 20_000}
    # 2025: only December's 31 days: 36,500 × 31 / 365 = 3,100; a year without costs is empty, not zeros
    assert costs_by_kind(items, *year_window(2025)) == {"insurance": 3_100}
    assert costs_by_kind([], *year_window(2026)) == {}


def test_consumption_per_100km_is_weighted_by_the_measured_distance() -> None:
    # windows: 40 L over 500 km (8.0 L/100 km) and 10 L over 50 km (20.0 L/100 km)
    # (40 + 10) / (500 + 50) × 100 = 9.0909… → 9.09; the unweighted mean of windows would be 14.0
    assert consumption_per_100km([(40.0, 500.0), (10.0, 50.0)]) == 9.09
    assert consumption_per_100km([(45.0, 300.0)]) == 15.0  # 45 / 300 × 100
    assert consumption_per_100km([]) is None  # nothing measured: no figure, never 0


def test_a_fleet_is_brought_in_with_past_acquisitions_and_premiums_never_future_ones() -> None:
    from datetime import date

    from services.common.kernel.errors import DateInFuture, ValidationFailed

    today = date(2026, 12, 6)
    car = gasoline_car(stored=False, acquired_on="2009-03-01", today=today)  # bought long ago: accepted
    assert car.acquired_on == "2009-03-01"
    with pytest.raises(DateInFuture) as future:
        gasoline_car(stored=False, acquired_on="2026-12-07", today=today)
    assert future.value.fields == {"acquired_on": ["must not be in the future"]}
    # a premium paid last year for a cover running into next year is history; one paid tomorrow is not
    car.record_expense(
        "E1", "insurance", "人保财险", True, 36_500, "2025-12-20", "2026-01-01", "2026-12-31", today=today
    )
    car.record_expense(
        "E2", "insurance", "人保财险", True, 36_500, "2026-12-01", "2027-01-01", "2027-12-31", today=today
    )
    with pytest.raises(DateInFuture) as paid_later:
        car.record_expense("E3", "toll", "高速", None, 1_000, "2026-12-07", today=today)
    assert paid_later.value.fields == {"occurred_on": ["must not be in the future"]}
    with pytest.raises(ValidationFailed) as far:
        car.record_expense("E4", "insurance", "x", True, 1_000, "2026-12-01", "2026-12-01", "2101-01-01", today=today)
    assert far.value.fields == {"covers_to": ["must be between 1900-01-01 and 2100-12-31"]}
