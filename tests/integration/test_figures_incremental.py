"""The data center's figures after new events, kept per agency and gathered again only where the events changed
them (``services/gateway/figures.py``), are those a full computation gives: random event sequences — every
handled event type's contract examples, new agencies, and a meter's readings of this year — are applied by the
projector's own transaction (rows, offsets and the change stamps together), and after each batch the city, the
agencies, the scorecard, the findings with filters, the energy trend and an agency's profile, read through the routes (answers
kept until the offsets move) and through a ``KeptFigures`` that lives across the batches, are compared with
the same figures computed from scratch."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.common.base.db import reader
from services.common.kernel.clock import CHINA_STANDARD_TIME, china_today
from services.common.kernel.districts import DEFAULT_DISTRICTS
from services.common.kernel.events import Envelope
from services.common.read.projector import decoded
from services.common.runtime.responses import encoded
from services.gateway import datacenter as dc
from services.gateway.figures import KeptFigures, figures_of
from services.gateway.scorecard import load_scorecard
from tests import city
from tests.city import agency_envelopes

DISTRICTS = sorted(code for code in DEFAULT_DISTRICTS if code != "320400")[:2]
HEAD = ("as_of", "freshness")


class Town(city.Town):
    """A gateway database, its projector, a city administrator's token, and the meters' last readings."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder, "city_admin")
        self.meters: dict[str, tuple[datetime, float]] = {}
        """Each fed meter's last reading: when, and the register's value."""

    def apply(self, envelopes: list[Envelope]) -> None:
        """Apply ``envelopes`` as the projector applies a batch (an event a projection refuses is left out, as it
        would be dead-lettered)."""
        records = self.records(envelopes)
        items = [decoded(r) for r in records]
        refused = self.projector._commit_batch(records, items, isolate=True, dry_run=True)
        ids = {letter.event_id or "" for _, letter in refused}
        self.projector._commit_batch(records, items, isolate=True, refused=ids)

    def readings(self, seq: int, district: str, rng: random.Random) -> Envelope:
        """A batch of this year's readings of agency ``seq``'s main electricity meter (its first copy's)."""
        meter = f"BENCH{seq:05d}"
        start = datetime.combine(china_today(), time(0, 5), CHINA_STANDARD_TIME) - timedelta(days=3)
        at, value = self.meters.get(meter, (start, 2000.0))
        made = []
        for _ in range(rng.randint(1, 4)):
            at += timedelta(minutes=rng.choice((5, 15, 60)))
            used = round(rng.uniform(1, 50), 1)
            value = round(value + used / 40, 4)
            made.append([at.astimezone(UTC).isoformat(), value, used])
        self.meters[meter] = (at, value)
        return city.readings(seq, made, district)

    def get(self, route: str, path: str, agency_id: str | None = None, **query: str) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.answer(route, path, agency_id, **query))
        return {k: v for k, v in body.items() if k not in HEAD}


@pytest.fixture
def town(tmp_path: Path) -> Iterator[Town]:
    made = Town(tmp_path)
    yield made
    made.engine.dispose()


def _plain(value: Any) -> Any:
    """``value`` as its JSON answer reads back."""
    return json.loads(encoded(value))


FINDINGS = ({}, {"system": "energy"}, {"system": "vehicles", "min_age_days": "30"}, {"kind": "overdue_loan"})


def _from_scratch(town: Town, agency: str) -> dict[str, Any]:
    """Every compared answer computed in full (no kept figures)."""
    today = china_today()
    scope, card = dc.Scope(today.year, today), load_scorecard(None)
    found: dict[str, Any] = {}
    with reader(town.engine).connect() as conn:
        judged = dc.judge(conn, scope, card)
        found["rows"] = judged.rows
        found["city"] = dc.city(conn, scope, card, judged)
        found["agencies"] = {"year": today.year, "items": judged.agencies}
        found["district"] = {
            "year": today.year,
            "items": dc.agencies(conn, dc.Scope(today.year, today, DISTRICTS[1]), card),
        }
        for n, query in enumerate(FINDINGS):
            filters = (query.get("kind"), query.get("system"), int(query.get("min_age_days", 0)))
            found[f"findings{n}"] = {"items": dc.open_items(conn, scope, *filters)}
        found["trend"] = {"items": dc.energy_trend(conn, scope, 12)}
        one = dc.Scope(today.year, today, None, agency)
        rows = dc.agencies(conn, one, card)
        found["profile"] = {**rows[0], "findings": dc.open_items(conn, one), "trend": dc.energy_trend(conn, one, 12)}
    return found


def _kept(town: Town, agency: str, figures: KeptFigures) -> dict[str, Any]:
    """The same answers through the routes, and the rows of ``figures`` (kept across batches)."""
    today = china_today()
    found: dict[str, Any] = {}
    with reader(town.engine).connect() as conn:
        found["rows"] = figures.judge(conn, dc.Scope(today.year, today), load_scorecard(None), None).rows
    found["city"] = town.get("city", "/api/v1/datacenter/city")
    found["agencies"] = town.get("agencies", "/api/v1/datacenter/agencies")
    found["district"] = town.get("agencies", "/api/v1/datacenter/agencies", district=DISTRICTS[1])
    for n, query in enumerate(FINDINGS):
        found[f"findings{n}"] = town.get("findings", "/api/v1/datacenter/findings", **query)
    found["trend"] = town.get("energy_trend", "/api/v1/datacenter/energy-trend", months="12")
    found["profile"] = town.get("agency_profile", f"/api/v1/datacenter/agencies/{agency}", agency)
    return found


def _examples(seq: int, copy: int, rng: random.Random) -> list[Envelope]:
    """Some of agency ``seq``'s example events (a ``copy`` > 0: things of its own), in their order."""
    every = list(agency_envelopes(seq, DISTRICTS[seq % 2], copy))
    return [env for env in every if rng.random() < 0.15]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_figures_kept_after_random_batches_are_those_computed_from_scratch(town: Town, seed: int) -> None:
    rng = random.Random(seed)
    agencies = 3
    for seq in range(agencies):
        town.apply(list(agency_envelopes(seq, DISTRICTS[seq % 2])))
    figures = KeptFigures()
    for round_ in range(8):
        batch: list[Envelope] = []
        choice = rng.random()
        if choice < 0.4:
            batch += _examples(rng.randrange(agencies), rng.randint(1, 3), rng)
        elif choice < 0.5:
            batch += list(agency_envelopes(agencies, DISTRICTS[agencies % 2]))  # a new agency and its things
            agencies += 1
        for _ in range(rng.randint(1, 3)):  # readings, anywhere in the batch
            seq = rng.randrange(agencies)
            batch.insert(rng.randint(0, len(batch)), town.readings(seq, DISTRICTS[seq % 2], rng))
        town.apply(batch)
        agency = f"BENCH{rng.randrange(agencies):05d}"
        kept, afresh = _kept(town, agency, figures), _from_scratch(town, agency)
        for name, answer in afresh.items():
            assert _plain(kept[name]) == _plain(answer), f"round {round_}: {name}"
    assert figures.gathered.get("energy:agency", 0) > 0  # some batches gathered only their agencies' energy
    assert figures_of(town.engine).gathered.get("trend:agency", 0) > 0  # and only their agencies' months


def test_a_batch_of_readings_gathers_and_derives_again_only_its_agency(town: Town) -> None:
    for seq in range(3):
        town.apply(list(agency_envelopes(seq, DISTRICTS[seq % 2])))
    figures = figures_of(town.engine)
    before = town.get("agencies", "/api/v1/datacenter/agencies")
    gathered, derived = dict(figures.gathered), figures.derived
    assert derived == 3  # each agency derived once

    town.apply([town.readings(1, DISTRICTS[1], random.Random(5))])

    after = town.get("agencies", "/api/v1/datacenter/agencies")
    # only BENCH00001's energy gathered again (one agency's), and only it derived again
    assert figures.gathered == {**gathered, "energy:agency": gathered.get("energy:agency", 0) + 1}
    assert figures.derived == derived + 1
    changed = [a["agency_id"] for a, b in zip(before["items"], after["items"], strict=True) if a != b]
    assert changed == ["BENCH00001"]

    gathered = dict(figures.gathered)
    town.apply([city.headcount_changed(2, 77)])  # an office-space event of one agency

    again = town.get("agencies", "/api/v1/datacenter/agencies")
    # only BENCH00002's office-space row gathered again (one agency's), and only it derived again
    assert figures.gathered == {**gathered, "space:agency": gathered.get("space:agency", 0) + 1}
    assert figures.derived == derived + 2
    headcounts = {a["agency_id"]: a["authorised_headcount"] for a in again["items"]}
    assert headcounts == {"BENCH00000": 90, "BENCH00001": 90, "BENCH00002": 77}  # the examples' 90, and the new 77
