"""What the route registry itself promises (no platform needed): every route is in the matrix, viewers
write nothing, every district operator's command names how its district is checked."""

from __future__ import annotations

from tests.security.support import ROUTES

AUTHENTICATED = [(attr, spec) for attr, spec in ROUTES if spec.roles is not None]
PUBLIC = [(attr, spec) for attr, spec in ROUTES if spec.roles is None]


def test_the_matrix_covers_every_route() -> None:
    assert len(AUTHENTICATED) > 50
    assert {spec.url for _, spec in PUBLIC} >= {"/health", "/metrics", "/api/v1/openapi.json"}


def test_the_policy_viewers_never_write_and_every_write_names_its_district_scope() -> None:
    for attr, spec in AUTHENTICATED:
        if spec.method != "GET":
            assert "viewer" not in spec.roles, f"{attr}: viewers write nothing"
            if "district_operator" in spec.roles and spec.kind == "command":
                assert spec.scope in ("agency_id", "district", "service"), attr
