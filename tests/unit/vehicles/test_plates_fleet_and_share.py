"""Plates, the agency's vehicle quota (编制), and the new-energy share of acquisitions (pure: no I/O)."""

from __future__ import annotations

import pytest

from services.common.kernel.errors import AlreadyExists, InvalidState
from services.vehicles.domain.fleet import AgencyFleet, NoQuotaYet, NotReplaceable, QuotaBelowFleet, QuotaExceeded
from services.vehicles.domain.new_energy import (
    AcquisitionLedger,
    AcquisitionRecord,
    NewEnergyPolicy,
    NewEnergyShareBelowTarget,
    NewEnergyShareFellBelowTarget,
    NewEnergyShareRestored,
    meets_target,
    new_energy_shares,
)
from services.vehicles.domain.plates import InvalidPlate, PlateDoesNotMatchEnergyType, PlateRegistration, validate_plate

REFUSE = NewEnergyPolicy(30, "refuse")
FLAG = NewEnergyPolicy(30, "flag")


@pytest.mark.parametrize(
    ("plate", "energy_type", "normal"),
    [
        ("苏D12345", "gasoline", "苏D12345"),
        ("苏d·a8b9c", "diesel", "苏DA8B9C"),
        ("苏D1234警", "gasoline", "苏D1234警"),
        ("苏DD12345", "battery_electric", "苏DD12345"),  # small new-energy, pure electric
        ("苏D A12345", "battery_electric", "苏DA12345"),
        ("苏DFA1234", "plug_in_hybrid", "苏DFA1234"),  # small new-energy, not pure electric
        ("苏D12345D", "battery_electric", "苏D12345D"),  # large new-energy
        ("苏D12345", "battery_electric", "苏D12345"),  # an electric car with a plate from before green plates
    ],
)
def test_conventional_and_eight_character_new_energy_plates_are_accepted(
    plate: str, energy_type: str, normal: str
) -> None:
    assert validate_plate(plate, energy_type) == normal


@pytest.mark.parametrize(
    "plate",
    ["苏D1234", "苏D123456789", "XD12345", "苏DI2345", "苏DO12345", "苏DD1234A", "苏D1234D5", "苏DX12345"],
)
def test_malformed_plates_are_refused(plate: str) -> None:
    with pytest.raises(InvalidPlate):
        validate_plate(plate, "battery_electric")


def test_a_new_energy_plate_must_fit_the_energy_type() -> None:
    with pytest.raises(PlateDoesNotMatchEnergyType):
        validate_plate("苏DD12345", "gasoline")
    with pytest.raises(PlateDoesNotMatchEnergyType):
        validate_plate("苏DF12345", "battery_electric")  # F: not pure electric


def test_a_plate_is_held_by_one_vehicle_until_it_is_released() -> None:
    plate = PlateRegistration("苏D12345")
    plate.assign("V1", "A1", "320402")
    with pytest.raises(AlreadyExists):
        plate.assign("V2", "A2", "320404")
    plate.release("V1")
    plate.assign("V2", "A2", "320404")
    assert (plate.vehicle_id, plate.district) == ("V2", "320404")


def _fleet(quota: int) -> AgencyFleet:
    fleet = AgencyFleet.establish("A1", "320402", quota, "2026年编制核定")
    fleet.mark_stored()
    return fleet


def test_a_vehicle_beyond_the_agencys_quota_is_refused() -> None:
    fleet = _fleet(2)
    fleet.admit("V1", "苏D11111")
    fleet.admit("V2", "苏D22222")
    with pytest.raises(QuotaExceeded) as refused:
        fleet.admit("V3", "苏D33333")
    assert refused.value.details == {"quota": 2, "vehicles": 2}


def test_nothing_is_registered_before_the_administration_sets_a_quota() -> None:
    with pytest.raises(NoQuotaYet):
        AgencyFleet("A1").admit("V1", "苏D11111")


def test_a_disposed_vehicle_leaves_the_quota_and_may_be_replaced_once() -> None:
    fleet = _fleet(1)
    fleet.admit("V1", "苏D11111")
    fleet.release("V1", "auction")
    with pytest.raises(NotReplaceable):
        fleet.admit("V2", "苏D22222", replaces_vehicle_id="V9")
    fleet.admit("V2", "苏D22222", replaces_vehicle_id="V1")
    fleet.release("V2", "scrap")
    with pytest.raises(NotReplaceable):
        fleet.admit("V3", "苏D33333", replaces_vehicle_id="V1")  # V1 was replaced already
    assert fleet.vehicles == {} and fleet.replaceable == {"V2": "苏D22222"}


def test_the_quota_cannot_go_below_the_vehicles_held() -> None:
    fleet = _fleet(2)
    fleet.admit("V1", "苏D11111")
    fleet.admit("V2", "苏D22222")
    with pytest.raises(QuotaBelowFleet):
        fleet.revise_quota(1, "压减")
    fleet.revise_quota(3, "增编")
    assert fleet.quota == 3


def _acquire(ledger: AcquisitionLedger, vehicle: str, energy_type: str, policy: NewEnergyPolicy) -> bool:
    return ledger.record("320402", 2026, vehicle, "A1", energy_type, "new", "2026-03-01", policy)


def test_a_conventional_acquisition_taking_the_district_below_30_percent_is_refused() -> None:
    ledger = AcquisitionLedger("320402-2026")
    with pytest.raises(NewEnergyShareBelowTarget):
        _acquire(ledger, "V1", "gasoline", REFUSE)  # 0 of 1
    _acquire(ledger, "E1", "battery_electric", REFUSE)
    _acquire(ledger, "V2", "gasoline", REFUSE)  # 1 of 2
    _acquire(ledger, "V3", "diesel", REFUSE)  # 1 of 3: 33 %
    with pytest.raises(NewEnergyShareBelowTarget) as refused:
        _acquire(ledger, "V4", "gasoline", REFUSE)  # 1 of 4: 25 %
    assert refused.value.details["share_after"] == 0.25
    assert (ledger.new_energy, ledger.total) == (1, 3)


def test_a_new_energy_acquisition_is_never_refused_and_hybrids_without_a_plug_are_not_new_energy() -> None:
    ledger = AcquisitionLedger("320402-2026")
    _acquire(ledger, "E1", "plug_in_hybrid", REFUSE)
    _acquire(ledger, "E2", "fuel_cell", REFUSE)
    with pytest.raises(NewEnergyShareBelowTarget):
        for n in range(10):
            _acquire(ledger, f"H{n}", "hybrid_electric", REFUSE)
    assert (ledger.new_energy, ledger.total) == (2, 6)  # 2 of 6 is 33 %, 2 of 7 would be 28 %


def test_in_flag_mode_the_acquisition_is_recorded_with_a_finding_that_closes_when_the_share_recovers() -> None:
    ledger = AcquisitionLedger("320402-2026")
    assert _acquire(ledger, "V1", "gasoline", FLAG) is True
    assert _acquire(ledger, "V2", "gasoline", FLAG) is True
    assert _acquire(ledger, "E1", "battery_electric", FLAG) is False  # 1 of 3
    kinds = [type(e) for e in ledger.pending_events]
    assert kinds.count(NewEnergyShareFellBelowTarget) == 1 and kinds[-1] is NewEnergyShareRestored


def test_the_share_is_exact_in_whole_vehicles() -> None:
    assert meets_target(3, 10) and not meets_target(2, 7) and meets_target(0, 0)


def test_queries_show_the_share_per_agency_district_and_city() -> None:
    records = [
        AcquisitionRecord("A1", "320402", "battery_electric", "2026-02-01"),
        AcquisitionRecord("A1", "320402", "gasoline", "2026-03-01"),
        AcquisitionRecord("A2", "320404", "gasoline", "2026-04-01"),
        AcquisitionRecord("A2", "320404", "gasoline", "2025-04-01"),
    ]
    agencies = new_energy_shares(records, "agency", 2026)
    assert (agencies["A1"].share, agencies["A1"].meets_target) == (0.5, True)
    assert (agencies["A2"].total, agencies["A2"].meets_target) == (1, False)
    assert new_energy_shares(records, "city", 2026)["city"].share == round(1 / 3, 4)
    assert new_energy_shares(records, "district")["320404"].total == 2


def test_an_established_fleet_cannot_be_used_before_it_exists() -> None:
    with pytest.raises(InvalidState):
        AgencyFleet("A1").revise_quota(3, "x")
