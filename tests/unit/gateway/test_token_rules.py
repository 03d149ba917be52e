"""Making tokens (docs/hostile-input.md): the CLI and ``create_token`` refuse an unknown district, a lifetime of 0 days
(which used to mean "never expires") or beyond ten years, and a name its role and district already have."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.common.base.db import create_db_engine
from services.common.kernel.clock import utc_now
from services.common.kernel.errors import AlreadyExists, ValidationFailed
from services.gateway import tokens
from services.gateway.auth import create_token, revoke_token, tokens_table
from services.gateway.views import prepare_database


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path}/gateway.db")
    prepare_database(engine)
    yield engine
    engine.dispose()


def test_an_unknown_district_is_refused(engine: Engine) -> None:
    with pytest.raises(ValidationFailed) as refused:
        create_token(engine, "zhang", "district_operator", "999999")
    assert "320402" in refused.value.fields["district"][0]
    assert create_token(engine, "zhang", "district_operator", "320402").startswith("gov_")


@pytest.mark.parametrize("days", [0, -1, 3651])
def test_a_lifetime_outside_one_to_3650_days_is_refused(engine: Engine, days: int) -> None:
    with pytest.raises(ValidationFailed) as refused:
        create_token(engine, "li", "viewer", days=days)
    assert refused.value.fields == {"days": ["between 1 and 3650"]}


def test_a_one_day_token_expires_in_a_day_and_one_without_days_never(engine: Engine) -> None:
    create_token(engine, "short", "viewer", days=1)
    create_token(engine, "forever", "viewer")
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.select(tokens_table.c.name, tokens_table.c.expires_at)).all())
    left = datetime.fromisoformat(rows["short"]) - utc_now()
    assert 86_300 < left.total_seconds() <= 86_400  # one day (24 × 3600 s), less the test's own seconds
    assert rows["forever"] is None


def test_a_name_is_unique_per_role_and_district_even_once_revoked(engine: Engine) -> None:
    first = create_token(engine, "zhang", "district_operator", "320402")
    with pytest.raises(AlreadyExists):
        create_token(engine, "zhang", "district_operator", "320402")
    assert revoke_token(engine, first.split("_")[1])
    with pytest.raises(AlreadyExists):  # the audit trail's actor district_operator:zhang stays one token
        create_token(engine, "zhang", "district_operator", "320402")
    create_token(engine, "zhang", "district_operator", "320404")  # another district
    create_token(engine, "zhang", "viewer")  # another role
    with pytest.raises(ValidationFailed):
        create_token(engine, "bad\x1bname", "viewer")


def test_the_cli_says_why_it_refuses_before_touching_the_database() -> None:
    for argv in (
        ["create", "--name", "x", "--role", "district_operator", "--district", "999999"],
        ["create", "--name", "x", "--role", "viewer", "--days", "0"],
    ):
        with pytest.raises(SystemExit) as refused:
            tokens.main(argv)
        assert str(refused.value.code).startswith("refused: "), argv
