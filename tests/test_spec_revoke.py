"""Role revocation (ROL-02 .. ROL-05): the operator takes TRADER or ATTESTOR back; nothing else
changes, and TX-06 refuses what the role allowed."""

from __future__ import annotations

from dataclasses import replace

import pytest
from _rules_plugin import rules
from strategies import accept_tx, reject_tx, send, village

from conformance_tests.scenario import key_of
from conformance_tests.suite import market
from spec.clearing import advance_clock_settling
from spec.invariants import check_state
from spec.settlement import OrderRecord
from spec.state import OrderStatus, Role, trading_close
from spec.transactions import Kind

pytest_plugins = ("_rules_plugin",)


def revoke(account: str, role: int) -> dict[int, object]:
    return {0: key_of(account), 1: role}


@rules("ROL-02")
@pytest.mark.parametrize(
    ("account", "role"),
    [("validator-1", 4), ("operator", 1), ("bob", 0), ("bob", 10), ("bob", 16), ("bob", 2**64 - 1)],
)
def test_only_trader_and_attestor_are_revocable(account: str, role: int) -> None:
    send(village(), "operator", Kind.REVOKE_ROLE, revoke(account, role), "ROL-02")


@rules("ROL-03", "ROL-04", "TX-06")
def test_revocation_needs_the_operator_a_registered_account_and_a_held_role() -> None:
    v = village()
    send(v, "operator", Kind.REVOKE_ROLE, revoke("ivan", 8), "ROL-03")
    send(v, "operator", Kind.REVOKE_ROLE, revoke("alice", 2), "ROL-04")
    send(v, "alice", Kind.REVOKE_ROLE, revoke("bob", 8), "TX-06")
    send(v, "attestor", Kind.REVOKE_ROLE, revoke("bob", 8), "TX-06")


@rules("ROL-05", "TX-06")
def test_a_revoked_trader_keeps_its_money_and_orders_but_places_no_more() -> None:
    m = market()
    slot = m.slot - 1
    assert m.ask("alice", 103, slot, 1000, 2000).accepted
    assert m.bid("bob", 1, slot, 800, 2500).accepted
    bob = key_of("bob")
    before = m.state
    after = accept_tx(before, m.make("operator", Kind.REVOKE_ROLE, revoke("bob", 8)))
    m.nonces["operator"] += 1
    assert after.accounts[bob] == replace(before.accounts[bob], roles=0)
    assert (after.orders, after.lots, after.demand) == (before.orders, before.lots, before.demand)
    assert check_state(after) == []
    m.state = after
    reject_tx(m.state, m.make("bob", Kind.PLACE_BID, {0: 1, 1: slot, 2: 1, 3: 2500}), "TX-06")
    reject_tx(m.state, m.make("bob", Kind.CANCEL, {0: 2}), "TX-06")
    m.state = accept_tx(m.state, m.make("bob", Kind.WITHDRAW, {0: 1000}))
    # The bid clears as placed; its slot is then settled, so its fill is read from the settlement.
    _, settlement = advance_clock_settling(m.state, trading_close(m.state.params, slot))
    (bid,) = [r for r in settlement if isinstance(r, OrderRecord) and r.order_id == 2]
    assert bid.owner == bob
    assert bid.status is OrderStatus.FILLED
    assert bid.filled_wh == 800


@rules("ROL-05", "TX-06")
def test_a_revoked_attestor_attests_nothing() -> None:
    v = village()
    v.state = accept_tx(v.state, v.make("operator", Kind.REVOKE_ROLE, revoke("attestor", 2)))
    assert v.state.accounts[key_of("attestor")].roles == 0
    reading = {0: 103, 1: v.slot - 1, 2: 10, 3: 0, 4: 0}
    reject_tx(v.state, v.make("attestor", Kind.ATTEST, {0: [reading]}), "TX-06")
    assert v.state.meters[103].attestor == key_of("attestor")  # the meter keeps its record


@rules("ROL-05", "INV-20")
def test_revocation_never_creates_an_incompatible_pair() -> None:
    v = village()
    for name, role in (("alice", Role.TRADER), ("attestor", Role.ATTESTOR)):
        v.state = accept_tx(v.state, v.make("operator", Kind.REVOKE_ROLE, revoke(name, role)))
        v.nonces["operator"] += 1
        assert check_state(v.state) == []
