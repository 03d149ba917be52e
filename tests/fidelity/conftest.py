"""The reference-city suites: a small city written by hand, loaded through the public API of a running
platform, every figure checked against a value worked out by hand in the test (the arithmetic in a comment).

They run on the e2e ``platform`` (SQLite stores; the figures are computed the same way on PostgreSQL, which
tests/e2e covers). Each module builds its own city with ids of its own, so modules do not see each other's
agencies in their agency-level figures; district- and city-level figures are checked in a district of the
module's own (see ``DISTRICT`` in each module).
"""

from __future__ import annotations

import os

import pytest

from tests.e2e.conftest import Platform, platform  # noqa: F401  (the shared platform fixture)

FIDELITY_PLATFORM = pytest.mark.parametrize(
    "platform", os.environ.get("FIDELITY_PLATFORM", "sqlite").split(","), indirect=True
)
"""The suite runs on the SQLite platform by default; FIDELITY_PLATFORM=sqlite,postgres runs it on both."""


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every fidelity test that uses the platform uses the one(s) FIDELITY_PLATFORM names."""
    if "platform" in metafunc.fixturenames:
        metafunc.definition.add_marker(FIDELITY_PLATFORM)
