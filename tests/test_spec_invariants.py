"""The invariant checks (INV-01 .. INV-15) themselves: a sound traded state passes, and each
invariant, when a state or a step is corrupted in exactly its way, is reported by its rule id.
(The stateful test runs the same checks after every random step.)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from _rules_plugin import rules
from strategies import METER, ZONE, village

from conformance_tests.scenario import Ledger, key_of, small_village
from spec.cbor import decode, encode
from spec.clearing import clear_due_markets
from spec.fmap import FrozenMap
from spec.invariants import check_state, check_step
from spec.orders import MAX_OPEN_ORDERS_PER_MARKET
from spec.state import (
    Encumbrance,
    State,
    decode_state,
    encode_state,
    trading_close,
    with_account,
)
from spec.transactions import Kind, apply_transaction, decode_transaction
from spec.units import (
    MONEY_MAX_MSEN,
    MilliSen,
    NodeId,
    Nonce,
    OrderId,
    PriceSenPerKwh,
    Timestamp,
    Wh,
)

pytest_plugins = ("_rules_plugin",)


def traded() -> tuple[State, int]:
    """A village after one cleared market (a trade at a price) and one market still open.

    A cleared market leaves the state at the clock advance that clears it (PRN-01), so this is
    the state between clearing and pruning, its clock one second before the close."""
    ledger = village()
    slot = ledger.slot - 1
    readings = [(103, slot, 1000, 0), (104, slot, 0, 800), (105, slot, 300, 0)]
    assert ledger.attest(readings).accepted
    assert ledger.ask("alice", METER["alice"], slot, 600, 1500).accepted  # order 1
    assert ledger.bid("bob", ZONE["bob"], slot, 500, 2500).accepted  # order 2
    close = trading_close(ledger.state.params, slot)
    ledger.state = replace(clear_due_markets(ledger.state, close), time=Timestamp(close - 1))
    later = ledger.slot - 1
    assert ledger.attest([(105, later, 50, 0), (104, later, 0, 40)]).accepted
    assert ledger.ask("carol", METER["carol"], later, 50, 1000).accepted  # order 3, open
    assert ledger.bid("bob", 1, later, 40, 3000).accepted  # order 4, open
    return ledger.state, slot


def test_traded_state_is_sound() -> None:
    state, slot = traded()
    assert check_state(state) == []
    assert state.markets[(NodeId(1), slot)].volume_wh == 500  # type: ignore[index]


def bump_lot(state: State, slot: int, **changes: int) -> State:
    key = (METER["alice"], slot)
    lot = state.lots[key]  # type: ignore[index]
    fields = {name: Wh(getattr(lot, name) + delta) for name, delta in changes.items()}
    return replace(state, lots=state.lots.set(key, replace(lot, **fields)))  # type: ignore[arg-type]


def order(state: State, order_id: int, **changes: object) -> State:
    old = state.orders[order_id]  # type: ignore[index]
    return replace(state, orders=state.orders.set(order_id, replace(old, **changes)))  # type: ignore[arg-type]


def plus_balance(state: State, name: str, delta: int) -> State:
    key = key_of(name)
    return with_account(state, key, balance=MilliSen(state.accounts[key].balance + delta))


CORRUPTIONS: list[tuple[str, Callable[[State, int], State]]] = [
    ("INV-01", lambda s, slot: bump_lot(s, slot, expired_wh=1)),
    ("INV-02", lambda s, slot: order(s, 1, filled_wh=Wh(501))),
    ("INV-03", lambda s, slot: bump_lot(s, slot, sold_wh=1, expired_wh=-1)),
    ("INV-04", lambda s, slot: replace(s, readings=FrozenMap({}))),
    (
        "INV-05",
        lambda s, slot: replace(
            s,
            demand=s.demand.set(
                (key_of("bob"), NodeId(1), slot),  # type: ignore[arg-type]
                replace(s.demand[(key_of("bob"), 1, slot)], imported_wh=Wh(499)),  # type: ignore[index]
            ),
        ),
    ),
    ("INV-06", lambda s, slot: plus_balance(s, "carol", 1)),
    ("INV-07", lambda s, slot: with_account(s, key_of("carol"), balance=-1)),
    (
        "INV-08",
        lambda s, slot: plus_balance(
            plus_balance(s, "carol", MONEY_MAX_MSEN // 2), "dave", MONEY_MAX_MSEN // 2
        ),
    ),
    (
        "INV-09",
        lambda s, slot: replace(
            s,
            markets=s.markets.set(
                (NodeId(1), slot),  # type: ignore[arg-type]
                replace(s.markets[(1, slot)], price=PriceSenPerKwh(2501)),  # type: ignore[index]
            ),
        ),
    ),
    ("INV-10", lambda s, slot: order(s, 4, escrow=MilliSen(1))),
    (
        "INV-21",
        lambda s, slot: replace(
            s,
            lots=s.lots.set(
                (METER["alice"], slot),  # type: ignore[arg-type]
                replace(
                    s.lots[(METER["alice"], slot)],  # type: ignore[index]
                    encumbrance=Encumbrance.FEED_IN_TARIFF,
                ),
            ),
        ),
    ),
    ("INV-13", lambda s, slot: replace(s, time=Timestamp(trading_close(s.params, slot + 5)))),
    (
        "INV-14",
        lambda s, slot: replace(
            s, nodes=s.nodes.set(NodeId(3), replace(s.nodes[NodeId(3)], zone=NodeId(10)))
        ),
    ),
    (
        "INV-14",
        lambda s, slot: replace(
            s, accounts=FrozenMap({k: v for k, v in s.accounts.items() if k != key_of("operator")})
        ),
    ),
    ("INV-24", lambda s, slot: replace(s, time=Timestamp(trading_close(s.params, slot)))),
    ("INV-25", lambda s, slot: less_import_under_open_bid(s)),
    ("INV-26", lambda s, slot: copies_of_open_ask(s, MAX_OPEN_ORDERS_PER_MARKET)),
]


def less_import_under_open_bid(state: State) -> State:
    """Bob's open bid 4 holds 40 Wh of his 40 Wh import; make the import 39."""
    bid = state.orders[4]  # type: ignore[index]
    key = (bid.owner, bid.zone, bid.slot)
    demand = replace(state.demand[key], imported_wh=Wh(39))
    return replace(state, demand=state.demand.set(key, demand))


def copies_of_open_ask(state: State, copies: int) -> State:
    """Carol's open ask 3 and ``copies`` more like it: one over MAX_OPEN_ORDERS_PER_MARKET."""
    orders = state.orders
    for extra in range(copies):
        orders = orders.set(OrderId(100 + extra), state.orders[3])  # type: ignore[index]
    return replace(state, orders=orders)


@rules("INV-01", "INV-02", "INV-03", "INV-04", "INV-05", "INV-06", "INV-07", "INV-08")
@rules("INV-09", "INV-10", "INV-13", "INV-14", "INV-21", "INV-24", "INV-25", "INV-26")
@pytest.mark.parametrize(("rule_id", "corrupt"), CORRUPTIONS, ids=[r for r, _ in CORRUPTIONS])
def test_each_state_invariant_reports_its_corruption(
    rule_id: str, corrupt: Callable[[State, int], State]
) -> None:
    state, slot = traded()
    found = {v.rule_id for v in check_state(corrupt(state, slot))}
    assert rule_id in found, found


@rules("INV-11", "INV-12", "TX-07")
def test_step_invariants_report_broken_steps() -> None:
    ledger = village()
    before = ledger.state
    tx_bytes = ledger.make("alice", Kind.TRANSFER, {0: key_of("bob"), 1: 10})
    after, receipt = apply_transaction(before, tx_bytes)
    tx = decode_transaction(tx_bytes)
    assert receipt.accepted and check_step(before, after, tx, True) == []
    alice, carol = key_of("alice"), key_of("carol")
    no_nonce = with_account(after, alice, nonce=before.accounts[alice].nonce)
    assert "INV-11" in {v.rule_id for v in check_step(before, no_nonce, tx, True)}
    two = with_account(after, alice, nonce=Nonce(before.accounts[alice].nonce + 2))
    assert "INV-11" in {v.rule_id for v in check_step(before, two, tx, True)}
    stolen = plus_balance(after, "carol", -1)
    assert "INV-12" in {v.rule_id for v in check_step(before, stolen, tx, True)}
    # a rejected input that changed anything at all
    assert "INV-12" in {v.rule_id for v in check_step(before, after, tx, False)}
    assert check_step(before, before, tx, False) == []
    # a clock advance that touches an account's nonce
    ticked = with_account(before, carol, nonce=Nonce(1))
    assert "INV-11" in {v.rule_id for v in check_step(before, ticked, None, True)}


def scripted_run() -> tuple[bytes, list[tuple[int, str | None]]]:
    """One fixed scenario from genesis, built without any cache: its final state bytes and every
    receipt."""
    ledger = small_village(Ledger.new())
    slot = ledger.slot - 1
    ledger.attest([(103, slot, 900, 0), (104, slot, 0, 700), (106, slot, 0, 700)])
    ledger.ask("alice", 103, slot, 900, 1200)
    ledger.bid("bob", 1, slot, 400, 2000)
    ledger.bid("dave", 1, slot, 400, 1900)
    ledger.transfer("carol", "carol", 5)
    ledger.withdraw("erin", 10**12)  # refused: overdraft
    ledger.block([], trading_close(ledger.state.params, slot))
    return encode(encode_state(ledger.state)), [(r.code, r.rule_id) for r in ledger.receipts]


@rules("INV-15")
def test_same_inputs_give_the_same_bytes() -> None:
    first, second = scripted_run(), scripted_run()
    assert first == second
    state_bytes, receipts = first
    assert (603, "MNY-03") in receipts
    # the canonical encoding decodes to a state that encodes to the same bytes
    decoded = decode_state(decode(state_bytes, max_size=len(state_bytes)))
    assert encode(encode_state(decoded)) == state_bytes
