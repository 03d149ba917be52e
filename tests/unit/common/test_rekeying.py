"""The re-keying's rules without a store: which event versions it rewrites into which sealed form, and the
driver ids of v1 dispatches (docs/personal-data.md, "Re-keying a store that ran before sealing")."""

from __future__ import annotations

import pytest

from services.common.base.settings import SERVICES
from services.common.write import rekeying
from services.common.write.rekeying import DriverIds, forms


def test_every_marked_version_has_a_sealed_form() -> None:
    assert forms("office_space") == {("StaffPosted", 1): ("StaffPosted", 1)}
    assert forms("vehicles") == {
        ("TripDispatched", 1): ("TripDispatched", 2),
        ("TripDispatched", 2): ("TripDispatched", 2),
        ("GpsPointsRecorded", 1): ("GpsBatchRecorded", 1),
        ("GpsBatchRecorded", 1): ("GpsBatchRecorded", 1),
    }
    for service in ("assets", "procurement", "energy"):
        assert forms(service) == {}
    assert set(SERVICES) == {"office_space", "vehicles", "assets", "procurement", "energy"}


def test_a_marked_version_without_a_sealed_form_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rekeying, "SEALED_FORMS", {("vehicles", "TripDispatched", 1): ("TripDispatched", 2)})
    with pytest.raises(ValueError, match=r"GpsPointsRecorded\.v1 has marked fields and no sealed form"):
        forms("vehicles")


def test_pseudonymous_ids_are_numbered_per_district_in_order_of_first_appearance() -> None:
    drivers = DriverIds()
    assigned = [
        drivers.assign(d, n) for d, n in [("320402", "王"), ("320402", "李"), ("320412", "王"), ("320402", "王")]
    ]
    assert assigned == ["D-320402-L0001", "D-320402-L0002", "D-320412-L0001", "D-320402-L0001"]


def test_recalled_ids_come_back_and_numbering_goes_on_after_the_highest() -> None:
    drivers = DriverIds()
    drivers.recall("D-320402-L0003", "王")
    drivers.recall("D-320402-L0007", None)  # erased since: its number is still taken
    drivers.recall("D-0012", "赵")  # a district's own id: not the re-keying's
    assert drivers.assign("320402", "王") == "D-320402-L0003"
    assert drivers.assign("320402", "赵") == "D-320402-L0008"


def test_a_mapping_file_gives_the_districts_ids_by_district_or_for_every_district() -> None:
    drivers = DriverIds.from_csv(["district,name,driver_id", "320402,王,D-0012", ",李,D-0099"])
    assert drivers.assign("320402", "王") == "D-0012"
    assert drivers.assign("320412", "王") == "D-320412-L0001"  # mapped in 320402 only
    assert drivers.assign("320412", "李") == "D-0099"
    assert drivers.mapping_csv() == (
        "district,name,driver_id\n320402,王,D-0012\n320412,李,D-0099\n320412,王,D-320412-L0001\n"
    )


def test_a_mapping_file_is_refused_without_its_columns_or_with_an_id_that_is_not_one() -> None:
    with pytest.raises(ValueError, match="columns name, driver_id"):
        DriverIds.from_csv(["name,id", "王,D-1"])
    with pytest.raises(ValueError, match="not a driver id"):
        DriverIds.from_csv(["name,driver_id", "王,D 1"])


def test_the_mapping_quotes_a_name_with_a_comma() -> None:
    drivers = DriverIds()
    drivers.assign("320402", 'Li, "Jr"')
    assert drivers.mapping_csv() == 'district,name,driver_id\n320402,"Li, ""Jr""",D-320402-L0001\n'


def test_a_name_starting_as_a_formula_stays_text_in_the_mapping_and_reads_back_as_it_was() -> None:
    """The district opens its mapping in a spreadsheet: a name recorded as ``=HYPERLINK(…)`` (or an id starting
    with ``-``) must not run there, and the file handed back must map the same names to the same ids."""
    drivers = DriverIds({(None, "-D1"): "-D1"})
    drivers.assign("320402", '=HYPERLINK("http://x","y")')
    drivers.assign("320402", "@SUM(A1)")
    drivers.assign("320402", "-D1")
    written = drivers.mapping_csv()
    assert written.splitlines() == [
        "district,name,driver_id",
        "320402,'-D1,'-D1",
        r"""320402,"'=HYPERLINK(""http://x"",""y"")",D-320402-L0001""",  # quoted: it holds a comma and quotes
        "320402,'@SUM(A1),D-320402-L0002",
    ]
    back = DriverIds.from_csv(written.splitlines())
    assert back.given == {
        ("320402", "-D1"): "-D1",
        ("320402", '=HYPERLINK("http://x","y")'): "D-320402-L0001",
        ("320402", "@SUM(A1)"): "D-320402-L0002",
    }
