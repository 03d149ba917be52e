"""The security suite runs against the e2e ``platform`` (a real platform as processes), on SQLite only.

The fixture is the one of ``tests/e2e/conftest.py``, imported here so this directory sees it; every module
of the suite that uses it gets the SQLite one (``pytest_generate_tests`` below). ``world`` adds what the tests need on
top: tokens of every role (and broken ones), and an agency in each of two districts.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Platform, platform  # noqa: F401  (the shared platform fixture)
from tests.security.support import SQLITE_ONLY, World, make_world


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test of the suite that uses the platform uses the SQLite one (the fixture's other parameter,
    PostgreSQL, is left to tests/e2e: the matrix is about the gateway, not the store)."""
    if "platform" in metafunc.fixturenames:
        metafunc.definition.add_marker(SQLITE_ONLY)


@pytest.fixture(scope="session")
def world(platform: Platform) -> World:  # noqa: F811
    """Tokens of every role, broken tokens, and agencies in two districts, on the running platform."""
    return make_world(platform)
