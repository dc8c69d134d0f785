"""Separation of duties (ROL-01, INV-20) and the one signing-key lookup."""

from __future__ import annotations

from dataclasses import replace

import pytest
from _rules_plugin import rules
from strategies import accept_tx, send, village

from conformance_tests.scenario import key_of
from spec.accounts import signing_key
from spec.invariants import check_state
from spec.state import Account, ChainParams, NodeKind, Role, genesis, role_conflict
from spec.transactions import Kind
from spec.units import Nonce

pytest_plugins = ("_rules_plugin",)

TRADER, ATTESTOR, OPERATOR, VALIDATOR = Role.TRADER, Role.ATTESTOR, Role.OPERATOR, Role.VALIDATOR


@rules("ROL-01")
@pytest.mark.parametrize("roles", [9, 10, 11])
def test_incompatible_roles_are_refused_at_registration(roles: int) -> None:
    body = {0: key_of("gina"), 1: roles}
    send(village(), "operator", Kind.REGISTER_ACCOUNT, body, "ROL-01")


@rules("ROL-01", "VAL-01")
@pytest.mark.parametrize("roles", [13, 14, 15])
def test_an_incompatible_set_with_the_validator_role_is_refused_by_val01_first(roles: int) -> None:
    """REGISTER_ACCOUNT checks VAL-01 before ROL-01 (chapter 10)."""
    body = {0: key_of("gina"), 1: roles}
    send(village(), "operator", Kind.REGISTER_ACCOUNT, body, "VAL-01")


@rules("ROL-01")
@pytest.mark.parametrize(
    "roles", [r for r in range(1, 16) if r not in (9, 10, 11) and not r & VALIDATOR]
)
def test_every_other_non_empty_role_set_is_accepted(roles: int) -> None:
    ledger = village()
    accept_tx(
        ledger.state, ledger.make("operator", Kind.REGISTER_ACCOUNT, {0: key_of("gina"), 1: roles})
    )


def test_role_conflict_names_the_pair() -> None:
    assert role_conflict(int(ATTESTOR | TRADER)) == (ATTESTOR, TRADER)
    assert role_conflict(int(OPERATOR | TRADER)) == (OPERATOR, TRADER)
    assert role_conflict(int(OPERATOR | ATTESTOR | VALIDATOR)) is None
    assert role_conflict(int(VALIDATOR | TRADER)) is None


def _params(fee: bytes) -> ChainParams:
    return ChainParams("kwhledger-test", 3600, 5400, fee)


@rules("ROL-01", "INV-20")
def test_genesis_refuses_incompatible_roles_and_a_trading_fee_account() -> None:
    operator, fees = key_of("operator"), key_of("fees")
    with pytest.raises(ValueError, match="incompatible"):
        genesis(_params(operator), {operator: int(OPERATOR | TRADER)}, 0)
    with pytest.raises(ValueError, match="fee account"):
        genesis(_params(fees), {operator: int(OPERATOR), fees: int(TRADER)}, 0)
    accepted = genesis(_params(fees), {operator: int(OPERATOR), fees: int(VALIDATOR)}, 0)
    assert check_state(accepted) == []


@rules("INV-20", "TX-06")
def test_the_fee_account_cannot_bid() -> None:
    ledger = village()
    assert ledger.state.params.fee_account == key_of("operator")
    send(ledger, "operator", Kind.PLACE_BID, {0: 1, 1: ledger.slot, 2: 100, 3: 2000}, "TX-06")


@rules("INV-20", "MTR-02")
def test_the_fee_account_cannot_own_a_meter() -> None:
    ledger = village()
    ledger.node(7, NodeKind.SERVICE_POINT, 2)
    body = {0: 107, 1: key_of("operator"), 2: key_of("attestor"), 3: 7, 4: 0, 5: 1000, 6: 0}
    send(ledger, "operator", Kind.REGISTER_METER, body, "MTR-02")


@rules("INV-20")
def test_check_state_sees_each_breach_of_separation() -> None:
    state = village().state
    assert check_state(state) == []
    alice = key_of("alice")
    both = replace(state.accounts[alice], roles=int(ATTESTOR | TRADER))
    crafted = replace(state, accounts=state.accounts.set(alice, both))
    assert {v.rule_id for v in check_state(crafted)} == {"INV-20"}
    fee = state.params.fee_account
    trading_fee = Account(int(TRADER), Nonce(0), state.accounts[fee].balance, fee)
    crafted = replace(state, accounts=state.accounts.set(fee, trading_fee))
    assert "INV-20" in {v.rule_id for v in check_state(crafted)}
    meter = state.meters[103]
    crafted = replace(state, meters=state.meters.set(103, replace(meter, attestor=meter.owner)))
    assert "INV-20" in {v.rule_id for v in check_state(crafted)}


@rules("TX-04")
def test_signing_key_is_the_account_id_until_a_rotation() -> None:
    state = village().state
    for account in state.accounts:
        assert signing_key(state, account) == account
