"""Schemathesis against the OpenAPI document, on the running platform: no operation answers 5xx.

The document is the one ``services.gateway.openapi`` generates, which the running gateway serves
(``test_openapi_served`` checks the two are the same; schemathesis' lazy ``from_fixture`` loader, which
would fetch it from the gateway, does not run on pytest 9). One test per operation. Bounded so it stays
quick: a fixed seed (``SCHEMATHESIS_SEED``), a few generated examples per operation (valid and invalid inputs;
``SCHEMATHESIS_MAX_EXAMPLES``, default 3), the examples and fuzzing phases (no coverage phase) and no
shrinking of a failure (its first example is reported); then a short stateful run that follows the document's
links (``test_no_sequence_of_linked_operations_answers_a_server_error``). Every case is sent with the token
of every writing or reading role, district operators of two districts included (docs/hostile-input.md: a 5xx that
only a district operator's scope checks reach must show too). The module ends by reading the gateway's
metrics and every service's log: a 5xx counted, or an unhandled error logged, anywhere in the session fails.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
import schemathesis
from hypothesis import Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.stateful import run_state_machine_as_test

from services.gateway import openapi
from tests.security.support import World
from tests.support import server_errors_counted

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "3"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20261123"))
"""The campaign's seed: the same cases on every run; a longer campaign picks another to reach new ones."""
CONFIG = f"""
seed = {SEED}
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
    for role in ROLES:
        case.call_and_validate(
            base_url=world.platform.gateway,
            headers={"Authorization": f"Bearer {world.tokens[role]}"},
            checks=[not_a_server_error],
            timeout=20,
        )


ROLES = ("city_admin", "operator_a", "operator_b", "viewer")
"""The tokens every case is sent with."""

STATEFUL_RUNS = int(os.environ.get("SCHEMATHESIS_STATEFUL_RUNS", "4"))
STATEFUL_STEPS = int(os.environ.get("SCHEMATHESIS_STATEFUL_STEPS", "8"))
stateful = schemathesis.openapi.from_dict(
    openapi.document(),
    config=SchemathesisConfig.from_str(f"seed = {SEED}\n[generation]\nmax-examples = {STATEFUL_RUNS}"),
)


@pytest.mark.parametrize("role", ("city_admin", "operator_a"))
def test_no_sequence_of_linked_operations_answers_a_server_error(world: World, role: str) -> None:
    """The stateful phase: sequences that follow the document's links from a record's creation to the acts on it
    (a trip requested, then dispatched, started, finished; an asset registered, then moved, handed in; a tender
    opened, then bid on), as the city administrator and as a district operator. Short (``STATEFUL_RUNS``
    sequences of up to ``STATEFUL_STEPS`` calls, derandomized); only a 5xx fails it."""
    headers = {"Authorization": f"Bearer {world.tokens[role]}"}
    done: list[tuple[str, int]] = []

    class Workflow(stateful.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"base_url": world.platform.gateway, "headers": headers, "timeout": 20}

        def validate_response(
            self, response: Any, case: schemathesis.Case, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            done.append((case.operation.label, response.status_code))
            case.validate_response(response, checks=[not_a_server_error], transport_kwargs=kwargs)

    run_state_machine_as_test(
        Workflow,
        settings=settings(
            max_examples=STATEFUL_RUNS,
            stateful_step_count=STATEFUL_STEPS,
            phases=[Phase.generate],
            deadline=None,
            database=None,
            derandomize=True,
        ),
    )
    assert any(200 <= status < 300 for _, status in done), done  # sequences ran, and some succeeded


UNHANDLED = re.compile(
    r'"event": "(unhandled_error|remote_error|district_message_failed|district_inbound_round_failed)"'
    r"|^(?!\(expected\)).*error handling worker",
    re.MULTILINE,
)
"""What a service logs for an error nobody meant: the gateway's 500/502 edge, the district consumer's
failures, and nameko's report of a worker that raised an exception it was not told to expect."""

SERVICES = ("gateway", "office_space", "vehicles", "assets", "procurement", "energy")


def test_zz_no_server_error_was_counted_or_unhandled_error_logged(world: World) -> None:
    """Run last in the module (pytest keeps file order): the whole session's requests and messages."""
    assert server_errors_counted(world.platform.gateway) == []
    logged = {name: [m.group(0)[:200] for m in UNHANDLED.finditer(world.platform.log(name))] for name in SERVICES}
    assert {name: found for name, found in logged.items() if found} == {}
