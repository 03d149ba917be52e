"""The district scope rule (``services.common.kernel.scope``) worked by hand, and its one home: no module but
``services/common/kernel/scope.py`` compares a caller's scope district with a record's district itself."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from services.common.kernel.errors import NotInScope
from services.common.kernel.events import Metadata
from services.common.kernel.scope import (
    aggregate_in_scope,
    in_scope,
    refusal,
    require_addressed_in_scope,
    require_changes_in_scope,
    require_in_scope,
    within,
)
from services.common.runtime.rpc import DomainService
from services.gateway.auth import Principal
from tests.support import new_agency
from tests.unit.assets.builders import TODAY, idle, in_warehouse

TIANNING, WUJIN = "320402", "320412"


# -- the predicate --------------------------------------------------------------------------------------


def test_a_district_sees_its_own_records_and_no_other_districts() -> None:
    assert in_scope(TIANNING, TIANNING) is True
    assert in_scope(TIANNING, WUJIN) is False


def test_the_city_sees_every_record_even_one_without_a_district() -> None:
    assert in_scope(None, TIANNING) is True
    assert in_scope(None, WUJIN) is True
    assert in_scope(None, None) is True


def test_a_record_without_a_district_is_the_citys_alone() -> None:
    assert in_scope(TIANNING, None) is False


def test_a_record_shared_with_a_district_is_in_its_scope_too() -> None:
    # a trip of Wujin served by a Tianning vehicle: both districts', no third
    assert in_scope(TIANNING, WUJIN, (TIANNING,)) is True
    assert in_scope(WUJIN, WUJIN, (TIANNING,)) is True
    assert in_scope("320411", WUJIN, (TIANNING,)) is False
    assert in_scope(TIANNING, WUJIN, (None,)) is False  # a trip no vehicle serves yet


def test_within_keeps_the_records_in_scope_in_their_order() -> None:
    rows = [{"id": 1, "district": WUJIN}, {"id": 2, "district": TIANNING}, {"id": 3}, {"id": 4, "district": WUJIN}]
    assert [r["id"] for r in within(WUJIN, rows)] == [1, 4]
    assert [r["id"] for r in within(None, rows)] == [1, 2, 3, 4]


# -- the refusal --------------------------------------------------------------------------------------------


def test_the_refusal_is_not_in_scope_403_saying_whose_district_the_caller_acts_for() -> None:
    error = refusal(TIANNING)
    assert isinstance(error, NotInScope)
    assert (error.code, error.http_status) == ("not_in_scope", 403)
    assert error.message == "the caller acts for district 320402 only"
    assert (error.fields, error.details) == ({}, {})


def test_require_in_scope_raises_the_refusal_with_what_the_caller_names() -> None:
    require_in_scope(TIANNING, TIANNING)
    require_in_scope(None, WUJIN)
    with pytest.raises(NotInScope) as refused:
        require_in_scope(TIANNING, WUJIN, message="vehicle V1 is not of district 320402", fields={"vehicle": ["x"]})
    assert refused.value.message == "vehicle V1 is not of district 320402"
    assert refused.value.fields == {"vehicle": ["x"]}


# -- aggregates: before and after, addressed, following -----------------------------------------------------


def test_an_aggregate_is_in_scope_only_as_it_was_before_the_command_and_as_it_is_after() -> None:
    taken = in_warehouse("as-9")  # the warehouse's, in Tianning
    taken.allocate_from_warehouse("wr-1", "ag-zl", WUJIN, "R1", TODAY)
    assert (taken.district_before, taken.district) == (TIANNING, WUJIN)
    assert aggregate_in_scope(WUJIN, taken) is False  # Wujin may not take Tianning's asset
    assert aggregate_in_scope(TIANNING, taken) is False  # nor Tianning give it away
    assert aggregate_in_scope(None, taken) is True  # the city moves it


def test_only_changed_aggregates_are_checked_and_the_refusal_names_those_outside_sorted() -> None:
    own, other, another = (new_agency(a, district=d) for a, d in (("A1", TIANNING), ("B2", WUJIN), ("B1", WUJIN)))
    require_changes_in_scope(TIANNING, (own,))
    require_changes_in_scope(None, (own, other, another))
    with pytest.raises(NotInScope) as refused:
        require_changes_in_scope(TIANNING, (other, own, another))
    assert refused.value.details == {"scope_district": TIANNING, "outside": ["B1", "B2"]}
    other.mark_stored()
    another.mark_stored()
    require_changes_in_scope(TIANNING, (own, other, another))  # unchanged ones are not the command's


def test_the_aggregate_a_command_addresses_is_refused_naming_it_even_unchanged() -> None:
    kept = idle("as-7")  # Tianning's, nothing pending
    require_addressed_in_scope(TIANNING, kept)
    require_addressed_in_scope(None, kept)
    with pytest.raises(NotInScope) as refused:
        require_addressed_in_scope(WUJIN, kept)
    assert refused.value.details == {"scope_district": WUJIN, "outside": ["as-7"]}


class _Store:
    def __init__(self) -> None:
        self.saved: list[str] = []

    def save_all(self, aggregates: tuple[Any, ...], meta: Metadata, command: Any) -> list[Any]:
        self.saved = [a.id for a in aggregates]
        return []


class _Relay:
    def wake(self) -> None:
        pass


def _service(scope: str | None) -> Any:
    service: Any = object.__new__(DomainService)
    service.context = lambda: Metadata(scope_district=scope)
    service.store, service.relay = _Store(), _Relay()
    return service


def test_following_aggregates_of_another_district_are_saved_without_a_scope_check() -> None:
    own, theirs = new_agency("A1", district=TIANNING), new_agency("B1", district=WUJIN)
    service = _service(TIANNING)
    service.save(own, following=(theirs,))
    assert service.store.saved == ["A1", "B1"]
    with pytest.raises(NotInScope):
        service.save(own, theirs)


# -- the gateway's principal ---------------------------------------------------------------------------------


def test_a_district_operator_acts_in_its_own_district_and_city_roles_everywhere() -> None:
    operator = Principal("t1", "zl", "district_operator", TIANNING)
    operator.require_district(TIANNING)
    with pytest.raises(NotInScope) as refused:
        operator.require_district(WUJIN)
    assert refused.value.message == "zl acts for district 320402 only"
    assert refused.value.fields == {"district": ["outside your district 320402"]}
    with pytest.raises(NotInScope):
        operator.require_district(None)
    for role in ("city_admin", "viewer", "ops"):
        city = Principal("t2", "c", role, None)
        assert city.visible_district() is None
        city.require_district(WUJIN)
        city.require_district(None)


# -- one home -------------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "services" / "common" / "scope.py"
COMPARING = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)


def _is_source(node: ast.AST) -> bool:
    """A caller's scope district read: ``….scope_district``, a ``scope_district`` name, ``….visible_district()``."""
    return (
        (isinstance(node, ast.Attribute) and node.attr == "scope_district")
        or (isinstance(node, ast.Name) and node.id == "scope_district")
        or (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "visible_district"
        )
    )


def _scope_value(node: ast.AST, tainted: set[str]) -> bool:
    """Whether ``node`` evaluates to a scope district (or a collection holding one); a call it is passed to
    does not."""
    if _is_source(node) or (isinstance(node, ast.Name) and node.id in tainted):
        return True
    if isinstance(node, ast.BoolOp):
        return any(_scope_value(value, tainted) for value in node.values)
    if isinstance(node, ast.IfExp):
        return _scope_value(node.body, tainted) or _scope_value(node.orelse, tainted)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_scope_value(element, tainted) for element in node.elts)
    return False


def _names_holding_a_scope(body: ast.AST) -> set[str]:
    """The names assigned a scope district in ``body`` (to a fixpoint: a name assigned such a name holds one)."""
    tainted: set[str] = set()
    while True:
        more = set(tainted)
        for node in ast.walk(body):
            if isinstance(node, ast.Assign | ast.AnnAssign | ast.NamedExpr) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if _scope_value(node.value, tainted):
                    more |= {t.id for t in targets if isinstance(t, ast.Name)}
        if more == tainted:
            return tainted
        tainted = more


def hand_comparisons(source: str) -> list[int]:
    """Lines where a scope district (read directly, or through a name it was assigned to in the same
    function, alone or as an ``or``'s alternative) is compared (==, !=, in, not in) with anything: the rule
    written by hand. ``is None`` (is the caller the city?) and passing the value on compare no districts."""
    found: set[int] = set()
    tree = ast.parse(source)
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    module_level = [n for n in tree.body if not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    for statements in [module_level, *(f.body for f in functions)]:
        body = ast.Module(body=list(statements), type_ignores=[])
        tainted = _names_holding_a_scope(body)
        for node in ast.walk(body):
            if not isinstance(node, ast.Compare) or not any(isinstance(op, COMPARING) for op in node.ops):
                continue
            if any(_scope_value(operand, tainted) for operand in [node.left, *node.comparators]):
                found.add(node.lineno)
    return sorted(found)


def test_the_detector_finds_the_rule_written_by_hand_and_lets_the_value_pass() -> None:
    by_hand = (
        "def f(self, meter):\n"
        "    meta = self.context()\n"
        "    if meter is None or (meta.scope_district and meter.district != meta.scope_district):\n"
        "        pass\n"
        "    scope = self.context().scope_district\n"
        "    stock = [a for a in stock if a.district == scope]\n"
        "    visible = principal.visible_district()\n"
        "    if visible is not None and visible not in (trip['district'], trip['vehicle_district']):\n"
        "        pass\n"
    )
    assert hand_comparisons(by_hand) == [3, 6, 8]
    passed_on = (
        "def g(self, principal):\n"
        "    scope = self.context().scope_district\n"
        "    if scope is None:\n"
        "        return\n"
        "    require_in_scope(scope, record.district)\n"
        "    district = principal.visible_district() or query['district']\n"
        "    stock = within(self.context().scope_district, stock)\n"
        "    kept = [a for a in stock if a.id in allocated]\n"
        "    return {'scope_district': principal.visible_district()}\n"
    )
    assert hand_comparisons(passed_on) == []


def test_no_module_but_the_rules_own_compares_a_scope_district_by_hand() -> None:
    offenders = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / "services").rglob("*.py"))
        if path != HOME and (lines := hand_comparisons(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, f"compare through services.common.kernel.scope, not by hand: {offenders}"
