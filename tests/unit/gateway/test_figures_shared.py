"""The agencies' entries share their equal nested figures (``KeptFigures.shared``), never two that answer
differently."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.common.runtime.responses import encoded
from services.gateway.figures import KeptFigures


def test_equal_nested_figures_are_kept_once() -> None:
    kept = KeptFigures()
    first = kept.shared({"agency_id": "a", "methods": {"factors": "v1"}, "verdicts": [1.5, None]})
    second = kept.shared({"agency_id": "b", "methods": {"factors": "v1"}, "verdicts": [1.5, None]})
    assert second["methods"] is first["methods"]
    assert second["verdicts"] is first["verdicts"]
    assert second["agency_id"] == "b"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (1, 1.0),
        (1, True),
        (0.0, -0.0),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
        ({1: "x"}, {1.0: "x"}),
        ([1], (1,)),
        (date(2026, 1, 2), "2026-01-02"),
    ],
)
def test_figures_equal_in_python_but_not_in_json_are_not_shared(one: Any, other: Any) -> None:
    kept = KeptFigures()
    kept.shared({"figure": {"value": one}})
    found = kept.shared({"figure": {"value": other}})
    assert found["figure"]["value"] is other
    assert encoded(found) == encoded({"figure": {"value": other}})
