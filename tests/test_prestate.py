"""Pre-state consistency (PRE-01 .. PRE-09): no pre-state, however inconsistent, crashes either
implementation; both load it, or both refuse it with the same typed rejection."""

from __future__ import annotations

import copy
from typing import Any

from _rules_plugin import rules
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance_tests.groups.pre import _base
from conformance_tests.scenario import key_of
from conformance_tests.spec_adapter import SpecImplementation, state_bytes
from conformance_tests.spec_adapter import load_state as spec_load
from reference.adapter import ReferenceImplementation
from reference.adapter import load_state as reference_load
from reference.errors import Rejected as ReferenceRejected
from spec.cbor import decode, encode
from spec.errors import Rejected
from spec.state import trading_close

pytest_plugins = ("_rules_plugin",)

_BASE = _base()
_BASE_VALUE: Any = decode(state_bytes(_BASE), max_size=1 << 24)
_KEYS = [key_of(name) for name in ("alice", "bob", "erin", "operator", "stranger")]

_field_values = st.one_of(
    st.integers(0, 3),
    st.sampled_from([0, 1, 2, 3, 10, 11, 103, 112, 999, 2**32, 2**40]),
    st.sampled_from(_KEYS),
    st.none(),
    st.binary(min_size=31, max_size=33),
)


def _outcome(load: Any, data: bytes) -> tuple[str, Any]:
    try:
        loaded = load(data)
    except Rejected as rejection:
        return "rejected", rejection.rule.id
    except ReferenceRejected as rejection:
        return "rejected", rejection.rule_id
    return "loaded", loaded


@st.composite
def mutated_pre_states(draw: st.DrawFn) -> bytes:
    value = copy.deepcopy(_BASE_VALUE)
    for _ in range(draw(st.integers(1, 3))):
        table = draw(st.integers(1, 8))
        rows = value[table]
        if not rows:
            continue
        index = draw(st.integers(0, len(rows) - 1))
        key, record = rows[index]
        action = draw(st.sampled_from(["field", "delete", "copy", "key"]))
        if action == "delete":
            del rows[index]
        elif action == "field" and isinstance(record, dict):
            field = draw(st.sampled_from(sorted(record)))
            record[field] = draw(_field_values)
        elif action in ("copy", "key"):
            parts = list(key) if isinstance(key, list) else [key]
            position = draw(st.integers(0, len(parts) - 1))
            parts[position] = draw(_field_values)
            new_key = parts if isinstance(key, list) else parts[0]
            if action == "key":
                del rows[index]
            rows.append([new_key, copy.deepcopy(record)])
        if draw(st.booleans()):  # keep the rows canonical, so that the PRE rules are reached
            unique = {encode(k): [k, r] for k, r in rows}
            value[table] = [unique[k] for k in sorted(unique)]
    if draw(st.integers(0, 9)) == 0:
        value[0][1][1] = draw(_field_values)  # the clock
    return encode(value)


@rules("PRE-01", "PRE-02", "PRE-03", "PRE-04", "PRE-05", "PRE-06", "PRE-07", "PRE-08", "PRE-09")
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=mutated_pre_states())
def test_mutated_pre_states_are_refused_alike_or_run_alike(data: bytes) -> None:
    spec_side = _outcome(spec_load, data)
    reference_side = _outcome(reference_load, data)
    assert spec_side[0] == reference_side[0], (spec_side, reference_side)
    if spec_side[0] == "rejected":
        assert spec_side[1] == reference_side[1]
        return
    # Both loaded: clearing every market (the step that crashed on dangling asks) agrees too.
    from conformance_tests.adapter import Step

    state = spec_side[1]
    ticks = [Step("tick", time=state.time)]
    if state.markets:
        ticks.append(
            Step("tick", time=max(trading_close(state.params, k[1]) for k in state.markets))
        )
    expected = SpecImplementation("test").run_vector(data, ticks)
    actual = ReferenceImplementation().run_vector(data, ticks)
    assert [(s.code, s.rule, s.root) for s in expected.steps] == [
        (s.code, s.rule, s.root) for s in actual.steps
    ]


def test_state_schema_checks_tables_before_the_tip_hash_in_both() -> None:
    """ENC-14 (table 3 not an array) before ENC-15 (a tip hash of 31 bytes), in both."""
    value = copy.deepcopy(_BASE_VALUE)
    value[3] = {}
    value[9] = bytes(31)
    data = encode(value)
    assert _outcome(spec_load, data) == _outcome(reference_load, data) == ("rejected", "ENC-14")


def test_a_huge_pre_state_is_refused_by_the_item_budget_in_both() -> None:
    """2^22 + 1 one-byte items: ENC-16, not millions of values (the bench measures the cost)."""
    data = b"\x9a" + (2**22 + 8).to_bytes(4, "big") + b"\x00" * (2**22 + 8)
    assert _outcome(spec_load, data) == _outcome(reference_load, data) == ("rejected", "ENC-16")
