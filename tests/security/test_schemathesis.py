"""Schemathesis against the OpenAPI document, on the running platform: no operation answers 5xx.

The document is the one ``services.gateway.openapi`` generates, which the running gateway serves
(``test_openapi_served`` checks the two are the same; schemathesis' lazy ``from_fixture`` loader, which
would fetch it from the gateway, does not run on pytest 9). One test per operation. Bounded so it stays
quick: a fixed seed, a few generated examples per operation (valid and invalid inputs;
``SCHEMATHESIS_MAX_EXAMPLES``, default 3), the examples and fuzzing phases only (no coverage or stateful
phase) and no shrinking of a failure (its first example is reported), every request as a city
administrator so inputs get past authentication to the services.
"""

from __future__ import annotations

import os

import schemathesis
from hypothesis import Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig

from services.gateway import openapi
from tests.security.support import World

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "3"))
CONFIG = f"""
seed = 20261123
[generation]
max-examples = {MAX_EXAMPLES}
[phases.coverage]
enabled = false
[phases.stateful]
enabled = false
"""

schema = schemathesis.openapi.from_dict(openapi.document(), config=SchemathesisConfig.from_str(CONFIG))


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, phases=[Phase.explicit, Phase.generate], deadline=None, database=None)
def test_no_operation_answers_a_server_error(case: schemathesis.Case, world: World) -> None:
    case.call_and_validate(
        base_url=world.platform.gateway,
        headers={"Authorization": f"Bearer {world.tokens['city_admin']}"},
        checks=[not_a_server_error],
        timeout=20,
    )
