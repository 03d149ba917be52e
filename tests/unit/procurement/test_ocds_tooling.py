"""The OCDS export checked with the standard's own tooling from PyPI, offline: lib-cove-ocds (the library behind
the OCDS Data Review Tool) validates release and record packages against the vendored OCDS 1.1.5 schema and
codelists, and OCDS Kit (ocdsmerge) compiles the releases into the records the platform serves.

No test reaches the network (``offline``: the socket is closed to connections): the standard is given to
lib-cove-ocds as a ZIP built from ``contracts/ocds/1__1__5`` (its ``standard_zip`` setting) and the standard's
schema URLs it dereferences are answered from the same files; ocdskit is given the release schema itself.
"""

from __future__ import annotations

import io
import json
import socket
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jsonref
import pytest
from libcoveocds.api import ocds_json_output
from libcoveocds.config import LibCoveOCDSConfig
from ocdsextensionregistry import extension_version
from ocdskit.combine import merge

from services.procurement.domain.ocds import record_package, release_package, tender_release
from tests.unit.procurement.test_ocds import CONTRACT, SCHEMAS, TENDER

PUBLISHED = "2026-03-21T00:00:00+00:00"


STANDARD_URL = "https://standard.open-contracting.org/schema/1__1__5/"


class VendoredStandard:
    """What jsonref fetches with ``requests.get``: the standard's schema URLs answered from the vendored copy
    (lib-cove-ocds dereferences a record package's ``versionedRelease`` by its URL), nothing else."""

    def __init__(self, url: str) -> None:
        if not url.startswith(STANDARD_URL):
            raise OSError(f"the OCDS tooling tests run offline: {url}")
        self.path = SCHEMAS / url.removeprefix(STANDARD_URL)

    @classmethod
    def get(cls, url: str) -> VendoredStandard:
        return cls(url)

    def raise_for_status(self) -> None:
        """Found: the vendored file exists (else reading it fails)."""

    def json(self, **kwargs: Any) -> Any:
        return json.loads(self.path.read_text(encoding="utf-8"), **kwargs)


BIDS_ARCHIVE = "https://github.com/open-contracting-extensions/ocds_bid_extension/archive/v1.1.5.zip"
BIDS = SCHEMAS.parent / "extensions" / "bids-v1.1.5"


def _vendored_extension(url: str) -> zipfile.ZipFile:
    """What ocdsextensionregistry downloads for the bids extension (GitHub's archive of its tag), from the
    vendored copy; any other download fails."""
    if url != BIDS_ARCHIVE:
        raise OSError(f"the OCDS tooling tests run offline: {url}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ocds_bid_extension-1.1.5/", "")
        for file in sorted(BIDS.rglob("*")):
            if file.is_file():
                archive.write(file, f"ocds_bid_extension-1.1.5/{file.relative_to(BIDS).as_posix()}")
    return zipfile.ZipFile(buffer)


def _refuse(*args: Any, **kwargs: Any) -> None:
    raise OSError("the OCDS tooling tests run offline")


@contextmanager
def offline() -> Iterator[None]:
    """Any connection attempt fails: the tools must work from the vendored standard alone."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _refuse)
        patch.setattr(jsonref, "requests", VendoredStandard)
        patch.setattr(extension_version, "_resolve_zip", _vendored_extension)
        yield


def standard_zip(directory: Path) -> str:
    """A ``file://`` URL of the standard's ZIP as lib-cove-ocds reads it (``<top>/schema/…``), from the vendored
    schemas and codelists."""
    path = directory / "standard-1__1__5.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("standard-1__1__5/", "")
        for file in sorted(SCHEMAS.rglob("*")):
            if file.is_file():
                archive.write(file, f"standard-1__1__5/schema/{file.relative_to(SCHEMAS).as_posix()}")
    return f"file://{path}"


def cove(package: dict[str, Any], directory: Path) -> dict[str, Any]:
    """lib-cove-ocds's report on a release or record package (its API context: raises on an unknown version)."""
    config = LibCoveOCDSConfig({"standard_zip": standard_zip(directory), "context": "api"})
    with offline():
        report: dict[str, Any] = ocds_json_output(str(directory), json_data=package, lib_cove_ocds_config=config)
    return report


def _release() -> dict[str, Any]:
    return tender_release("ocds-abc123", TENDER, [CONTRACT], "2026-03-20T03:00:00+00:00")


def test_lib_cove_ocds_finds_a_release_package_valid_with_only_our_classification_scheme_outside_the_codelists(
    tmp_path: Path,
) -> None:
    package = release_package([_release()], "https://example.gov.cn/ocds/TD-1.json", PUBLISHED)
    report = cove(package, tmp_path)
    assert report["version_used"] == "1.1" and report["validation_errors"] == []
    assert report["extensions"]["invalid_extension"] == {} and report["extensions"]["is_extended_schema"]
    assert not report["additional_fields"] and report["additional_closed_codelist_values"] == {}
    # the one open-codelist value of our own: the government procurement catalogue (not CPV), as documented
    (extra,) = report["additional_open_codelist_values"].values()
    assert (extra["codelist"], extra["values"]) == ("itemClassificationScheme.csv", ["x_CN_GPC"])


def test_lib_cove_ocds_reports_a_broken_release(tmp_path: Path) -> None:
    release = _release()
    del release["ocid"]
    release["tender"]["status"] = "awarded"  # not in the closed tenderStatus codelist
    report = cove(release_package([release], "https://example.gov.cn/ocds/TD-1.json", PUBLISHED), tmp_path)
    errors = [(e["path"], e["description"]) for e in report["validation_errors"]]
    assert ("releases/0", "'ocid' is missing but required") in errors, errors
    assert report["additional_closed_codelist_values"]["releases/tender/status"]["values"] == ["awarded"]


def test_lib_cove_ocds_finds_the_record_package_valid(tmp_path: Path) -> None:
    package = record_package([_release()], "https://example.gov.cn/ocds/records.json", PUBLISHED)
    report = cove(package, tmp_path)
    assert report["validation_errors"] == [] and report["additional_closed_codelist_values"] == {}


def test_ocdskit_compiles_our_release_into_the_compiled_release_of_our_record() -> None:
    release = _release()
    package = release_package([release], "https://example.gov.cn/ocds/TD-1.json", PUBLISHED)
    schema = json.loads((SCHEMAS / "release-schema.json").read_text(encoding="utf-8"))
    with offline():
        (compiled,) = merge([package], schema=schema)
    (ours,) = record_package([release], "https://example.gov.cn/ocds/records.json", PUBLISHED)["records"]
    # ocdsmerge names a compiled release by ocid and date and tags it "compiled"; the rest must be ours exactly
    assert compiled["tag"] == ["compiled"] and compiled["id"] == f"{release['ocid']}-{release['date']}"
    unnamed = {k: v for k, v in ours["compiledRelease"].items() if k not in ("id", "tag")}
    assert {k: v for k, v in compiled.items() if k not in ("id", "tag")} == unnamed
