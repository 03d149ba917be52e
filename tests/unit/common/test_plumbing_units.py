"""Pure units of the plumbing: aggregate replay and snapshots, upcasting, settings, scope, contracts."""

from __future__ import annotations

import dataclasses
import gc
import io
import json
import pickle
from dataclasses import dataclass
from typing import ClassVar

import pytest

from services.common.base import contracts
from services.common.base.settings import load_settings
from services.common.kernel.errors import ContractViolation, Forbidden, NotInScope, ValidationFailed
from services.common.kernel.events import Envelope, event_from_payload, register_upcaster, upcast
from services.common.read.progress import Progress
from services.gateway.auth import READERS, WRITERS, Principal
from tests.support import Counter, CounterIncremented, CounterOpened, ToyEvent


def test_an_aggregate_replays_to_the_state_its_commands_produced() -> None:
    counter = Counter.open("c")
    counter.increment(2)
    counter.increment(3)
    replayed = Counter.rehydrate("c", counter.pending_events)
    assert (replayed.total, replayed.version, replayed.loaded_version) == (5, 3, 3)
    assert (counter.version, counter.loaded_version) == (3, 0)


def test_a_snapshot_restores_the_state_and_later_events_apply_on_top() -> None:
    counter = Counter.open("c")
    counter.increment(4)
    restored = Counter.rehydrate("c", [CounterIncremented(1)], snapshot=(2, counter.snapshot_state()))
    assert (restored.total, restored.version) == (5, 3)


def test_an_event_without_a_handler_is_an_error_not_a_silent_skip() -> None:
    @dataclass(frozen=True)
    class CounterPainted(CounterOpened):
        colour: str = "red"

    with pytest.raises(NotImplementedError):
        Counter.rehydrate("c", [CounterPainted("c")])


@dataclass(frozen=True)
class UpcastEvent(ToyEvent):
    """Test event at version 3 whose earlier payloads are upcast."""

    schema_version: ClassVar[int] = 3
    full_name: str
    unit: str


@register_upcaster("testing", "UpcastEvent", 1)
def _v1_to_v2(payload: dict[str, object]) -> dict[str, object]:
    return {"full_name": payload.pop("name")}


@register_upcaster("testing", "UpcastEvent", 2)
def _v2_to_v3(payload: dict[str, object]) -> dict[str, object]:
    return {**payload, "unit": "kWh"}


def test_an_old_payload_is_upcast_step_by_step_to_the_current_version() -> None:
    event = event_from_payload("testing", "UpcastEvent", 1, {"name": "电表"})
    assert event == UpcastEvent(full_name="电表", unit="kWh")


def test_a_missing_upcaster_is_reported() -> None:
    with pytest.raises(LookupError):
        upcast("testing", "NoSuchEvent", 1, {}, 2)


def test_the_envelope_round_trips_through_its_published_form() -> None:
    example = json.loads((contracts.CONTRACTS_DIR / "envelope.v1.json").read_text())["examples"][0]
    assert Envelope.from_dict(example).to_dict() == example


def test_a_payload_violating_its_contract_names_the_fields() -> None:
    with pytest.raises(ContractViolation) as refused:
        contracts.validate_payload("office_space", "AgencyRegistered", 1, {"agency_id": "A", "district": "1"})
    assert {"district", "_schema"} <= set(refused.value.fields)


def test_an_event_type_without_a_contract_is_refused() -> None:
    with pytest.raises(ContractViolation):
        contracts.validate_payload("office_space", "NoSuchEvent", 1, {})


def test_settings_default_to_sqlite_files_under_var() -> None:
    config = load_settings({"VAR_DIR": "/srv/gov"})
    assert config.database_url("energy") == "sqlite:////srv/gov/energy.db"
    assert (config.kafka_bootstrap, config.port("gateway")) == ("127.0.0.1:9092", 8000)


def test_a_database_url_pattern_and_a_per_service_url_are_honoured() -> None:
    config = load_settings(
        {
            "DATABASE_URL": "postgresql+psycopg://db/gov_{service}",
            "DATABASE_URL_GATEWAY": "postgresql+psycopg://other/dc",
            "GATEWAY_PORT": "9000",
        }
    )
    assert config.database_url("vehicles") == "postgresql+psycopg://db/gov_vehicles"
    assert config.database_url("gateway") == "postgresql+psycopg://other/dc"
    assert config.port("gateway") == 9000


def test_a_district_operator_acts_only_in_its_own_district() -> None:
    operator = Principal("t1", "zhang", "district_operator", "320402")
    operator.require(WRITERS)
    operator.require_district("320402")
    with pytest.raises(NotInScope):
        operator.require_district("320404")
    assert operator.visible_district() == "320402"


def test_a_viewer_reads_the_whole_city_but_writes_nothing() -> None:
    viewer = Principal("t2", "li", "viewer", None)
    viewer.require(READERS)
    viewer.require_district("320404")
    assert viewer.visible_district() is None
    with pytest.raises(Forbidden):
        viewer.require(WRITERS)


def test_progress_reports_json_lines_when_not_on_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress("rebuild", total=10, stream=out, every=0)
    progress.advance(4)
    summary = progress.finish()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[-1]["done"] == 4 and lines[-1]["final"] is True and summary["done"] == 4


def test_a_command_losing_a_version_race_is_run_again_then_the_conflict_is_answered() -> None:
    from services.common.kernel.errors import VersionConflict
    from services.common.runtime.rpc import _run_with_retries

    attempts: list[int] = []

    def flaky(_service: object, _data: dict[str, object]) -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise VersionConflict("moved on")
        return "stored"

    assert _run_with_retries(flaky, None, {}, retries=2) == "stored" and len(attempts) == 3
    attempts.clear()
    with pytest.raises(VersionConflict):
        _run_with_retries(flaky, None, {}, retries=1)
    assert len(attempts) == 2


def test_a_district_scoped_caller_cannot_change_another_districts_aggregates() -> None:
    from services.common.kernel.scope import require_changes_in_scope
    from tests.support import new_agency

    own, other = new_agency("A1", district="320402"), new_agency("A2", district="320404")
    require_changes_in_scope("320402", (own,))
    require_changes_in_scope(None, (own, other))  # city-wide callers are not limited
    with pytest.raises(NotInScope) as refused:
        require_changes_in_scope("320402", (own, other))
    assert refused.value.details["outside"] == ["A2"]


def test_scope_is_checked_on_the_district_an_aggregate_had_before_the_command_and_after_it() -> None:
    """A district operator of 320404 may not take the warehouse's asset of 320402 (its district after the
    allocation would be 320404, its own: the check after the events alone let it through), nor give its
    own asset away to 320402; the city (no scope district) may move it either way."""
    from services.common.kernel.scope import require_changes_in_scope
    from tests.unit.assets.builders import TODAY, idle, in_warehouse

    taken = in_warehouse("as-9")  # kept by the warehouse in 320402
    taken.allocate_from_warehouse("wr-1", "ag-zl", "320404", "R1", TODAY)
    assert (taken.district_before, taken.district) == ("320402", "320404")
    with pytest.raises(NotInScope):
        require_changes_in_scope("320404", (taken,))
    require_changes_in_scope(None, (taken,))
    given = idle("as-8")  # 320402's own
    given.hand_in("wh-zl", "320404", "good", TODAY)
    with pytest.raises(NotInScope):
        require_changes_in_scope("320402", (given,))
    kept = idle("as-7")
    kept.hand_in("wh-tn", "320402", "good", TODAY)
    require_changes_in_scope("320402", (kept,))  # within the district: in scope
    kept.mark_stored()
    assert kept.district_before == "320402"  # nothing pending: the district it has


def test_kafka_security_is_plaintext_locally_and_sasl_ssl_with_credentials_in_production() -> None:
    assert load_settings({}).kafka_security == {"security_protocol": "PLAINTEXT"}
    production = load_settings(
        {
            "KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
            "KAFKA_SASL_USERNAME": "svc-energy",
            "KAFKA_SASL_PASSWORD": "secret",
            "KAFKA_SSL_CAFILE": "/etc/gov-affairs/kafka-ca.pem",
        }
    ).kafka_security
    assert production == {
        "security_protocol": "SASL_SSL",
        "ssl_cafile": "/etc/gov-affairs/kafka-ca.pem",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "svc-energy",
        "sasl_plain_password": "secret",
    }
    with pytest.raises(ValueError, match="KAFKA_SASL_PASSWORD"):
        load_settings({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "svc-energy"})
    with pytest.raises(ValueError, match="expected PLAINTEXT"):
        load_settings({"KAFKA_SECURITY_PROTOCOL": "TLS"})


@pytest.mark.parametrize(
    "moment",
    [
        "2026-11-23t08:00:00+00:00",
        "2026-11-23T08:00:00z",
        "2026-12-31T23:59:60+00:00",
        "2026-11-23T08:00:00." + "1" * 40,
    ],
)
def test_an_envelope_with_a_timestamp_the_platform_never_writes_is_refused(moment: str) -> None:
    """Such a timestamp would pass a lax date-time check and then break the projector's arithmetic."""
    envelope = json.loads((contracts.CONTRACTS_DIR / "envelope.v1.json").read_text(encoding="utf-8"))["examples"][0]
    contracts.validate_envelope(envelope)
    with pytest.raises(ContractViolation):
        contracts.validate_envelope({**envelope, "recorded_at": moment})


def test_a_command_with_a_nul_character_is_refused_however_it_arrives() -> None:
    """PostgreSQL cannot store NUL: a district's message or an RPC call is refused like an HTTP body is."""
    from services.common.kernel.schemas import load_command
    from services.office_space.schemas import RegisterAgencySchema

    agency = {"name": "天宁区\x00教育局", "district": "320402", "kind": "party_government"}
    agency |= {"admin_level": "county", "authorised_headcount": 4}
    with pytest.raises(ValidationFailed) as refused:
        load_command(RegisterAgencySchema, agency)
    assert refused.value.fields == {"name": ["contains NUL"]}


def test_a_stored_event_is_published_as_the_same_message_without_reencoding_its_payload() -> None:
    """The relay splices the stored payload text into the message; it reads as the envelope's own message."""
    from services.common.read.broker import envelope_message, stored_message

    example = json.loads((contracts.CONTRACTS_DIR / "envelope.v1.json").read_text(encoding="utf-8"))["examples"][0]
    env = Envelope.from_dict(example, position=7)
    row = {**example, "position": 7, "payload": json.dumps(example["payload"], ensure_ascii=False)}
    key, value, headers = stored_message(row)
    assert (key, headers) == envelope_message(env)[::2]
    assert json.loads(value) == json.loads(envelope_message(env)[1]) == example


def test_a_stored_events_envelope_is_written_as_json_dumps_writes_it_whatever_its_strings_hold() -> None:
    """The relay writes the envelope field by field; the bytes are those of ``json.dumps`` of the envelope (quotes,
    backslashes, control characters escaped; other characters as they are; None as null)."""
    from services.common.kernel.events import PUBLISHED_FIELDS
    from services.common.read.broker import stored_message

    example = json.loads((contracts.CONTRACTS_DIR / "envelope.v1.json").read_text(encoding="utf-8"))["examples"][0]
    awkward = {"actor": 'a "quoted"\\ actor\n\x01 天宁 \u2028 😀', "district": None, "causation_id": None}
    env = {**example, **awkward}
    row = {**env, "position": 7, "payload": json.dumps(env["payload"], ensure_ascii=False, separators=(",", ":"))}

    value = stored_message(row)[1]

    in_order = {name: env[name] for name in PUBLISHED_FIELDS if name != "payload"} | {"payload": env["payload"]}
    assert value == json.dumps(in_order, ensure_ascii=False, separators=(",", ":")).encode()


def test_an_envelope_read_from_its_valid_published_form_is_the_one_from_dict_reads() -> None:
    example = json.loads((contracts.CONTRACTS_DIR / "envelope.v1.json").read_text(encoding="utf-8"))["examples"][0]
    contracts.validate_envelope(example)

    assert Envelope.from_valid(example) == Envelope.from_dict(example)
    assert Envelope.from_valid(example).position is None
    assert type(Envelope.from_valid(example)) is Envelope  # read as an open twin, then become one
    assert Envelope.from_valid(example).to_dict() == Envelope.from_dict(example).to_dict()


def test_an_envelope_is_one_object_for_the_garbage_collector_and_stays_frozen() -> None:
    example = json.loads((contracts.CONTRACTS_DIR / "envelope.v1.json").read_text(encoding="utf-8"))["examples"][0]
    env = Envelope.from_valid(example)

    before = len(gc.get_objects())
    held = [Envelope.from_valid(example) for _ in range(1000)]
    assert len(gc.get_objects()) - before < 1100  # an object each (no ``__dict__`` beside it), and the list
    assert not hasattr(env, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        env.event_id = "another"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(env)) == env == held[0]
