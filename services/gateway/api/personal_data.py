"""Personal data in the API (docs/personal-data.md): who sees a person's name in clear, erasure, the access record.

The stores, topics and projections hold personal values as tokens (``services.common.base.personal``); the
gateway decrypts them when it answers, with the platform's key store:

- a city administrator sees every value in clear; a district operator those of its own district's persons;
  any other reader (a viewer, an operator reading outside its district) sees ``***``;
- an erased subject reads 已删除 for everyone;
- every answer that showed a value in clear is recorded (``personal_data_reads``: who, when, which subject,
  which fields, which route), queryable by the city administrator.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from marshmallow import Schema, fields, validate
from sqlalchemy.engine import Engine
from werkzeug.wrappers import Request

from services.common.base.db import reader as reader_engine
from services.common.base.db import unavailable_when_store_fails
from services.common.base.log import get_logger
from services.common.base.personal import (
    ERASED_TEXT,
    MASKED_TEXT,
    SUBJECT_KINDS,
    KeyStore,
    Subject,
    platform_key_store,
    reveal,
    token_subject,
)
from services.common.kernel.clock import utc_now
from services.common.kernel.errors import NotFound
from services.common.kernel.schemas import load_command as validated
from services.common.kernel.validators import identifier
from services.common.runtime.rpc import rpc_proxy
from services.gateway.auth import CITY_ADMINS, READERS, Principal
from services.gateway.schemas import PageSchema
from services.gateway.web import agency_district, api, call, read_json, registered_district
from services.vehicles.read_model import track_feature, track_summary

log = get_logger()

metadata = sa.MetaData()
reads_table = sa.Table(
    "personal_data_reads",
    metadata,
    sa.Column("read_id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("read_at", sa.String(40), nullable=False),
    sa.Column("reader", sa.String(200), nullable=False),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("district", sa.String(6)),
    sa.Column("subject_kind", sa.String(20), nullable=False),
    sa.Column("subject_id", sa.String(200), nullable=False),
    sa.Column("fields", sa.String(200), nullable=False),
    sa.Column("route", sa.String(200), nullable=False),
)


def entitled(principal: Principal, district: str | None) -> bool:
    """Whether ``principal`` sees in clear a personal value of a subject of ``district``: a city administrator
    always, a district operator for its own district, nobody else (a viewer reads figures, not persons)."""
    if principal.role == "city_admin":
        return True
    return principal.role == "district_operator" and district is not None and principal.district == district


def record_reads(engine: Engine, principal: Principal, route: str, shown: dict[Subject, set[str]]) -> None:
    """Record that ``principal`` was shown these subjects' fields in clear, now, through ``route``."""
    if not shown:
        return
    now = utc_now().isoformat()
    rows = [
        {
            "read_at": now,
            "reader": principal.actor,
            "role": principal.role,
            "district": principal.district,
            "subject_kind": subject.kind,
            "subject_id": subject.id,
            "fields": ",".join(sorted(names)),
            "route": route,
        }
        for subject, names in shown.items()
    ]
    with engine.begin() as conn:
        conn.execute(reads_table.insert(), rows)


def reveal_rows(
    keys: KeyStore,
    principal: Principal,
    rows: list[dict[str, Any]],
    personal: tuple[str, ...],
    districts: tuple[str, ...] = ("district",),
) -> tuple[list[dict[str, Any]], dict[Subject, set[str]]]:
    """The rows with their ``personal`` fields as ``principal`` may see them (``reveal``, entitled by any of the
    row's ``districts``: a trip's and its vehicle's), and the subjects and fields shown in clear (for the access
    record)."""
    shown: dict[Subject, set[str]] = {}
    answered = []
    for row in rows:
        allowed = any(entitled(principal, row.get(name)) for name in districts)
        seen = dict(row)
        for name in personal:
            stored = row.get(name)
            seen[name] = reveal(keys, stored, name, allowed)
            subject = token_subject(stored)
            if allowed and subject is not None and seen[name] != stored and not keys.is_erased(subject):
                shown.setdefault(subject, set()).add(name)
        answered.append(seen)
    return answered, shown


def reveal_track(
    keys: KeyStore, principal: Principal, answer: dict[str, Any]
) -> tuple[dict[str, Any], dict[Subject, set[str]]]:
    """A trip's GeoJSON track (``vehicles.trip_track``'s answer: the trip and its stored batches) as
    ``principal`` may see it, and the subjects shown in clear (for the access record).

    The points are personal (subject: the track, by trip id): in clear for a city administrator and the
    operator of the trip's district or of its vehicle's; no geometry and ``masked: true`` for other readers;
    no geometry and ``erased: true`` (``track``: 已删除) once the track is erased or expired. The figures
    (point count, length, first and last fix) come from the batches' clear fields and never change."""
    trip, batches = answer["trip"], list(answer["batches"])
    summary = track_summary(batches)
    allowed = entitled(principal, trip.get("district")) or entitled(principal, trip.get("vehicle_district"))
    seen = [reveal(keys, b["points"], "points", allowed) for b in batches]
    erased = any(v == ERASED_TEXT for v in seen)
    masked = not erased and any(v == MASKED_TEXT for v in seen)
    if erased or masked:
        feature = track_feature(trip, [], summary)
        feature["properties"].update({"erased": erased, "masked": masked})
        if erased:
            feature["properties"]["track"] = ERASED_TEXT
        return feature, {}
    feature = track_feature(trip, seen, summary)
    feature["properties"].update({"erased": False, "masked": False})
    subject = Subject("track", str(trip["trip_id"]))
    shown = {subject: {"points"}} if any(token_subject(b["points"]) for b in batches) else {}
    return feature, shown


TRIP_DISTRICTS = ("district", "vehicle_district")
"""The districts whose operators see a trip's driver: the requester's and that of the vehicle serving it."""


def drivers_shown(db: Engine, principal: Principal, route: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Trips (of the vehicles service) with their ``driver`` as ``principal`` may see it, each clear read
    recorded: in clear for a city administrator and the operators of the trip's districts, ``***`` for other
    readers, 已删除 once the driver is erased."""
    if not any(row.get("driver") is not None for row in rows):
        return rows
    answered, shown = reveal_rows(platform_key_store(), principal, rows, ("driver",), TRIP_DISTRICTS)
    record_reads(db, principal, route, shown)
    return answered


class ErasureSchema(Schema):
    """POST /api/v1/personal-data/erasures: the data subject to erase (its kind and id, e.g. person P-0001)."""

    subject = fields.String(required=True, validate=validate.OneOf(sorted(SUBJECT_KINDS)))
    id = identifier()


class ReadsQuerySchema(PageSchema):
    """GET /api/v1/personal-data/reads: the access record, of one kind of subject (and one subject), of one
    reader (``reader``: an actor, ``role:name``)."""

    subject = fields.String(load_default=None, validate=validate.OneOf(sorted(SUBJECT_KINDS)))
    id = identifier(required=False)
    reader = fields.String(load_default=None, validate=validate.Length(min=1, max=200))


def reads_of(
    engine: Engine,
    *,
    limit: int,
    offset: int = 0,
    subject: str | None = None,
    id: str | None = None,
    reader: str | None = None,
) -> list[dict[str, Any]]:
    """The access record's rows, newest first, of a kind of subject, a subject and a reader when given: what
    ``/api/v1/personal-data/reads`` lists and ``/api/v1/audit`` shows of an actor."""
    t = reads_table
    select = sa.select(t).order_by(t.c.read_id.desc()).limit(limit).offset(offset)
    for column, value in ((t.c.subject_kind, subject), (t.c.subject_id, id), (t.c.reader, reader)):
        if value:
            select = select.where(column == value)
    with reader_engine(engine).connect() as conn:
        return [{**dict(row._mapping), "fields": row.fields.split(",")} for row in conn.execute(select)]


class PersonalDataApi:
    """The routes that show, erase and account for personal data."""

    db: Engine
    office_space = rpc_proxy("office_space")

    @api("GET", "/api/v1/agencies/<agency_id>/staff", roles=READERS, scope="resource", table="items")
    def staff_of_agency(self, request: Request, principal: Principal, agency_id: str) -> dict[str, Any]:
        """The persons on post at an agency with their ranks and names: in clear for a city administrator and
        the agency's district operator (each such answer is recorded), ``***`` for other readers, 已删除 for an
        erased person."""
        district = agency_district(self.db, agency_id, registered_district(self))
        if district is None:  # a read of one record: missing is 404, as another district's is (no oracle)
            raise NotFound(f"agency {agency_id} not found")
        principal.require_district(district)
        found = call(self.office_space.staff_on_post, {"agency_id": agency_id})
        rows, shown = reveal_rows(platform_key_store(), principal, list(found["items"]), ("name",))
        record_reads(self.db, principal, "GET /api/v1/agencies/<agency_id>/staff", shown)
        return {"items": rows}

    @api("POST", "/api/v1/personal-data/erasures", roles=CITY_ADMINS, body=ErasureSchema, scope="service")
    def erase_subject(self, request: Request, principal: Principal) -> dict[str, Any]:
        """Erase a data subject (crypto-shredding): its key is destroyed, so every copy of its personal values,
        in every store, topic, backup and projection, reads 已删除 from now on. Idempotent: erasing again
        answers the first erasure's time. The answer names the subject by id only."""
        loaded = validated(ErasureSchema, read_json(request))
        subject = Subject(loaded["subject"], loaded["id"])
        keys = platform_key_store()
        with unavailable_when_store_fails("the key store did not answer: ask again (an erasure is done once)"):
            first = keys.erase(subject)
            erased_at = keys.erased_at(subject)
        log.info("personal_data_erased", subject=subject.kind, id=subject.id, by=principal.actor, first=first)
        return {"subject": subject.kind, "id": subject.id, "erased_at": erased_at, "already_erased": not first}

    @api(
        "GET", "/api/v1/personal-data/reads", roles=CITY_ADMINS, query=ReadsQuerySchema, scope="service", table="items"
    )
    def personal_data_reads(self, request: Request, principal: Principal) -> dict[str, Any]:
        """The access record of personal data: who was shown which subject's fields in clear, when and through
        which route, newest first."""
        query = validated(ReadsQuerySchema, request.args.to_dict())
        rows = reads_of(
            self.db,
            limit=query["limit"],
            offset=query["offset"],
            subject=query["subject"],
            id=query["id"],
            reader=query["reader"],
        )
        return {"items": rows, "limit": query["limit"], "offset": query["offset"]}
