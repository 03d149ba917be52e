"""Every range is bounded (docs/hostile-input.md), checked by walking every marshmallow schema of every service: a date
or timestamp is a ``Day``/``Moment`` (within 1900-01-01..2100-12-31), every number has a minimum and a
maximum, every free text a maximum length, every period (a pair of fields such as ``start_on``/``end_on``) a
``bounded_period``; and the bounds refuse what is outside them, with the field's reason."""

from __future__ import annotations

import importlib
import inspect
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields, validate

from services.common.kernel.validators import EARLIEST_DAY, LATEST_DAY, Day, Moment, periods_of

MODULES = [f"services.{name}.schemas" for name in ("assets", "energy", "office_space", "procurement", "vehicles")]
MODULES += ["services.gateway.schemas", "services.common.kernel.schemas"]

PERIOD_PAIRS = [
    ("start_on", "end_on"),
    ("planned_start", "planned_end"),
    ("since", "until"),
    ("date_from", "date_to"),
    ("covers_from", "covers_to"),
    ("sealed_from", "sealed_until"),
]
"""Field pairs that make a period; a schema with both fields must bound it."""


def _schemas() -> list[type[Schema]]:
    found = []
    for name in MODULES:
        module = importlib.import_module(name)
        found += [
            cls
            for cls in vars(module).values()
            if inspect.isclass(cls) and issubclass(cls, Schema) and cls.__module__ == name
        ]
    return found


def _leaves(field: fields.Field, path: str) -> list[tuple[str, fields.Field]]:
    if isinstance(field, fields.List):
        return [(path, field), *_leaves(field.inner, f"{path}[]")]
    if isinstance(field, fields.Nested):
        nested = field.schema
        return [leaf for name, inner in nested.fields.items() for leaf in _leaves(inner, f"{path}.{name}")]
    return [(path, field)]


def _every_field() -> list[tuple[str, fields.Field]]:
    return [
        (f"{schema.__module__}.{schema.__name__}.{path}", leaf)
        for schema in _schemas()
        for name, field in schema().fields.items()
        for path, leaf in _leaves(field, name)
    ]


def test_there_are_schemas_to_walk() -> None:
    assert len(_schemas()) > 100 and len(_every_field()) > 400


def test_every_date_and_timestamp_is_within_the_window() -> None:
    loose = [where for where, f in _every_field() if isinstance(f, fields.DateTime) and not isinstance(f, Day | Moment)]
    assert loose == []


def test_every_number_has_a_minimum_and_a_maximum() -> None:
    def bounded(field: fields.Field) -> bool:
        ranges = [v for v in field.validators if isinstance(v, validate.Range)]
        return any(r.min is not None and r.max is not None for r in ranges) or any(
            isinstance(v, validate.OneOf) for v in field.validators
        )

    loose = [where for where, f in _every_field() if isinstance(f, fields.Number) and not bounded(f)]
    assert loose == []


def test_every_text_has_a_maximum_length() -> None:
    def bounded(field: fields.Field) -> bool:
        return any(
            (isinstance(v, validate.Length) and v.max is not None) or isinstance(v, validate.OneOf | validate.Regexp)
            for v in field.validators
        )

    loose = [where for where, f in _every_field() if type(f) is fields.String and not bounded(f)]
    assert loose == []


def test_every_list_has_a_maximum_length() -> None:
    def bounded(field: fields.Field) -> bool:
        return any(isinstance(v, validate.Length) and v.max is not None for v in field.validators)

    loose = [where for where, f in _every_field() if isinstance(f, fields.List) and not bounded(f)]
    assert loose == [], "a list in a command is bounded by its schema or by its route's batch limit"


def test_every_period_has_a_maximum_length() -> None:
    missing = []
    for schema in _schemas():
        names = set(schema().fields)
        declared = {(start, end) for start, end, _ in periods_of(schema)}
        missing += [
            f"{schema.__name__}: {pair}" for pair in PERIOD_PAIRS if set(pair) <= names and pair not in declared
        ]
    assert missing == []


@given(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_a_day_outside_the_window_is_refused_and_one_inside_is_kept(day: date) -> None:
    field = Day()
    if EARLIEST_DAY <= day <= LATEST_DAY:
        assert field.deserialize(day.isoformat()) == day
    else:
        with pytest.raises(ValidationError, match="between 1900-01-01 and 2100-12-31"):
            field.deserialize(day.isoformat())


def test_a_timestamp_outside_the_window_is_refused() -> None:
    with pytest.raises(ValidationError):
        Moment().deserialize("9999-12-31T23:59:59+08:00")
    with pytest.raises(ValidationError):
        Moment().deserialize("0001-01-01T00:00:00+00:00")
    assert Moment().deserialize("2026-03-02T09:00:00+08:00").year == 2026


def _trip(days: int) -> dict[str, Any]:
    start = date(2026, 3, 2)
    end = start + timedelta(days=days)
    return {
        "agency_id": "A1",
        "purpose": "调研",
        "destination": "金坛",
        "planned_start": f"{start.isoformat()}T09:00:00+08:00",
        "planned_end": f"{end.isoformat()}T09:00:00+08:00",
    }


def test_a_period_longer_than_its_maximum_is_refused_on_its_end_field() -> None:
    from services.energy.schemas import ConsumptionQuerySchema
    from services.vehicles.schemas import RecordExpenseSchema, RequestTripSchema

    RequestTripSchema().load(_trip(31))  # 31 days: the longest trip
    assert RequestTripSchema().validate(_trip(32)) == {"planned_end": ["must be at most 31 days after planned_start"]}
    expense = {
        "vehicle_id": "V1",
        "kind": "insurance",
        "payee": "人保",
        "amount_fen": 300000,
        "occurred_on": "2026-01-05",
    }
    # 2026-01-01 + 1830 days = 2031-01-05 (365 × 5 + 5); one day more is refused
    RecordExpenseSchema().load({**expense, "covers_from": "2026-01-01", "covers_to": "2031-01-05"})
    refused = RecordExpenseSchema().validate({**expense, "covers_from": "2026-01-01", "covers_to": "2031-01-06"})
    assert refused == {"covers_to": ["must be at most 1830 days after covers_from"]}
    query = {"period": "day", "by": "agency", "from": "1900-01-01", "to": "2100-12-31"}
    assert ConsumptionQuerySchema().validate(query) == {"to": ["must be at most 3660 days after date_from"]}
