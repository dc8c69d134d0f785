"""The invariants (INV-01 .. INV-14, INV-16, INV-17, INV-19 .. INV-28) as executable checks.

``check_state`` evaluates every invariant that a single state can show; ``check_step`` the ones
that relate a state to its successor (nonces, authorization, rejection changes nothing);
``check_settlement`` the ones that carry conservation across pruning, on the settlement records a
clock advance emitted (INV-02, INV-05, INV-09, INV-22, INV-23). Tests run
them after every step, the conformance generator after every vector, the reference node's
differential tests after every block. A check returns the violations it found; an empty list means
the state is sound.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import networkx as nx

from spec.crypto import is_valid_public_key
from spec.grid import grid_graph, nearest_substation
from spec.meter_lifecycle import encumbrance_at, in_service
from spec.orders import MAX_OPEN_ORDERS_PER_MARKET
from spec.settlement import (
    DemandRecord,
    LotRecord,
    MarketRecord,
    OrderRecord,
    SettlementRecord,
)
from spec.state import (
    MarketStatus,
    NodeKind,
    OrderStatus,
    Role,
    Side,
    State,
    role_conflict,
    trading_close,
)
from spec.transactions import Kind, Transaction
from spec.units import MONEY_MAX_MSEN, MeterId, NodeId, Slot, slot_end
from spec.validators import ACTIVATION_DELAY, validators


@dataclass(frozen=True)
class Violation:
    """An invariant that does not hold, and where."""

    rule_id: str
    message: str


STATE_INVARIANTS: Final = (
    "INV-01",
    "INV-02",
    "INV-03",
    "INV-04",
    "INV-05",
    "INV-06",
    "INV-07",
    "INV-08",
    "INV-09",
    "INV-10",
    "INV-13",
    "INV-14",
    "INV-17",
    "INV-19",
    "INV-20",
    "INV-21",
    "INV-24",
    "INV-25",
    "INV-26",
    "INV-27",
    "INV-28",
)
STEP_INVARIANTS: Final = ("INV-11", "INV-12", "INV-16", "INV-17", "INV-19")
SETTLEMENT_INVARIANTS: Final = ("INV-02", "INV-05", "INV-09", "INV-22", "INV-23")


def check_state(state: State) -> list[Violation]:
    """Every violation of a state invariant in ``state``."""
    found: list[Violation] = []

    def fail(rule_id: str, message: str) -> None:
        found.append(Violation(rule_id, message))

    # INV-01, INV-03: per lot, conservation and reservations backed by open asks.
    reserved: dict[tuple[int, int], int] = defaultdict(int)
    sold: dict[tuple[int, int], int] = defaultdict(int)
    for order in state.orders.values():
        if order.side is Side.ASK:
            assert order.lot_meter is not None
            ask_lot = (int(order.lot_meter), int(order.slot))
            if order.status is OrderStatus.OPEN:
                reserved[ask_lot] += order.quantity_wh
            sold[ask_lot] += order.filled_wh
    for lot_key in sorted(state.lots):
        lot = state.lots[lot_key]
        parts = (lot.unsold_wh, lot.reserved_wh, lot.sold_wh, lot.expired_wh)
        if min(parts) < 0 or lot.minted_wh != sum(parts):
            fail("INV-01", f"lot {lot_key}: minted {lot.minted_wh} != sum of {parts}")
        if lot.reserved_wh != reserved[lot_key]:
            fail("INV-03", f"lot {lot_key}: reserved {lot.reserved_wh} != open asks")
        if lot.sold_wh != sold[lot_key]:
            fail("INV-03", f"lot {lot_key}: sold {lot.sold_wh} != ask fills {sold[lot_key]}")
    for ask_lot in sorted(set(reserved) | set(sold)):
        if ask_lot not in state.lots:
            fail("INV-03", f"asks on missing lot {ask_lot}")

    # INV-02: per slot, claimed by buyers = sold by sellers; and claims = bid fills.
    sold_per_slot: dict[int, int] = defaultdict(int)
    bought_per_slot: dict[int, int] = defaultdict(int)
    claimed_per_key: dict[tuple[bytes, int, int], int] = defaultdict(int)
    for order in state.orders.values():
        if order.side is Side.ASK:
            sold_per_slot[order.slot] += order.filled_wh
        else:
            bought_per_slot[order.slot] += order.filled_wh
            claimed_per_key[(order.owner, order.zone, order.slot)] += order.filled_wh
    claimed_per_slot: dict[int, int] = defaultdict(int)
    for (_owner, _zone, demand_slot), demand in state.demand.items():
        claimed_per_slot[demand_slot] += demand.claimed_wh
    for slot in sorted(set(sold_per_slot) | set(claimed_per_slot) | set(bought_per_slot)):
        if not sold_per_slot[slot] == bought_per_slot[slot] == claimed_per_slot[slot]:
            fail(
                "INV-02",
                f"slot {slot}: sold {sold_per_slot[slot]}, bought {bought_per_slot[slot]}, "
                f"claimed {claimed_per_slot[slot]}",
            )

    # INV-04: one reading per (meter, slot) by construction of the table; a lot needs a reading
    # with that export, from a registered meter.
    for lot_key in sorted(state.lots):
        reading = state.readings.get(lot_key)
        if reading is None or reading.exported_wh != state.lots[lot_key].minted_wh:
            fail("INV-04", f"lot {lot_key} does not match one attested reading")
    for meter, slot in sorted(state.readings):
        if meter not in state.meters:
            fail("INV-04", f"reading of unregistered meter {meter} slot {slot}")
        if state.readings[(meter, slot)].exported_wh > 0 and (meter, slot) not in state.lots:
            fail("INV-04", f"export of meter {meter} slot {slot} minted no lot")

    # INV-05: claims never exceed attested import; and claims are exactly what bids filled.
    for demand_key in sorted(state.demand):
        demand = state.demand[demand_key]
        if demand.claimed_wh > demand.imported_wh:
            fail("INV-05", f"demand {demand_key!r}: claimed {demand.claimed_wh} > imported")
        if demand.claimed_wh != claimed_per_key.get(demand_key, 0):
            fail("INV-05", f"demand {demand_key!r}: claimed {demand.claimed_wh} != bid fills")

    # INV-25: open bids are backed by import no clearing has claimed.
    # INV-26: no account holds more than MAX_OPEN_ORDERS_PER_MARKET open orders in one market.
    open_bid_wh: dict[tuple[bytes, NodeId, Slot], int] = defaultdict(int)
    open_count: dict[tuple[bytes, NodeId, Slot], int] = defaultdict(int)
    for order in state.orders.values():
        if order.status is OrderStatus.OPEN:
            trader = (order.owner, order.zone, order.slot)
            open_count[trader] += 1
            if order.side is Side.BID:
                open_bid_wh[trader] += order.quantity_wh
    for trader in sorted(open_bid_wh):
        backed = state.demand.get(trader)
        backing = backed.imported_wh - backed.claimed_wh if backed is not None else 0
        if open_bid_wh[trader] > backing:
            fail("INV-25", f"open bids of {trader!r}: {open_bid_wh[trader]} Wh > {backing} Wh")
    for trader in sorted(open_count):
        if open_count[trader] > MAX_OPEN_ORDERS_PER_MARKET:
            fail("INV-26", f"{trader!r} holds {open_count[trader]} open orders")

    # INV-06: money conservation.
    balances = sum(a.balance for a in state.accounts.values())
    escrow = sum(o.escrow for o in state.orders.values())
    if balances + escrow != state.money_outstanding:
        fail(
            "INV-06",
            f"balances {balances} + escrow {escrow} != outstanding {state.money_outstanding}",
        )

    # INV-07, INV-08: non-negative and bounded (the unit types enforce this when constructed;
    # checked again here so a state built around them is caught too).
    if state.money_outstanding < 0:
        fail("INV-07", "more withdrawn than deposited")
    if balances + escrow > MONEY_MAX_MSEN:
        fail("INV-08", "money in the ledger exceeds MONEY_MAX_MSEN")
    for account_key, account in sorted(state.accounts.items()):
        if not 0 <= account.balance <= MONEY_MAX_MSEN:
            fail("INV-07", f"account {account_key.hex()[:8]} balance {account.balance}")

    # INV-09: price integrity in cleared markets.
    for market_key in sorted(state.markets):
        market = state.markets[market_key]
        zone, slot = market_key
        filled = [
            o
            for o in state.orders.values()
            if o.zone == zone and o.slot == slot and o.filled_wh > 0
        ]
        if market.status is MarketStatus.OPEN:
            if filled or market.price is not None or market.volume_wh:
                fail("INV-09", f"open market {market_key} has fills or a price")
            continue
        volume_sold = sum(o.filled_wh for o in filled if o.side is Side.ASK)
        volume_bought = sum(o.filled_wh for o in filled if o.side is Side.BID)
        if not volume_sold == volume_bought == market.volume_wh:
            fail("INV-09", f"market {market_key}: volume {market.volume_wh} != fills")
        if market.volume_wh and market.price is None:
            fail("INV-09", f"market {market_key} traded without a price")
        for o in filled:
            price = market.price if market.price is not None else -1
            if o.side is Side.BID and o.limit_price < price:
                fail("INV-09", f"market {market_key}: bid limit {o.limit_price} < price {price}")
            if o.side is Side.ASK and o.limit_price > price:
                fail("INV-09", f"market {market_key}: ask limit {o.limit_price} > price {price}")

    # INV-10: escrow backs exactly the open bids.
    for order_id in sorted(state.orders):
        o = state.orders[order_id]
        expected = (
            o.quantity_wh * (o.limit_price + o.fee)
            if o.side is Side.BID and o.status is OrderStatus.OPEN
            else 0
        )
        if o.escrow != expected:
            fail("INV-10", f"order {order_id}: escrow {o.escrow}, expected {expected}")
        if o.status is OrderStatus.OPEN and o.filled_wh:
            fail("INV-10", f"open order {order_id} has fills")

    # INV-13: nothing stays open after its market's trading closed; open orders sit in open
    # markets.
    for order_id in sorted(state.orders):
        o = state.orders[order_id]
        if o.status is OrderStatus.OPEN:
            order_market = state.markets.get((o.zone, o.slot))
            if order_market is None or order_market.status is not MarketStatus.OPEN:
                fail("INV-13", f"open order {order_id} outside an open market")
    for market_key in sorted(state.markets):
        market = state.markets[market_key]
        closes = trading_close(state.params, market_key[1])
        if market.status is MarketStatus.OPEN and closes <= state.time:
            fail("INV-13", f"market {market_key} still open at {state.time} (closed {closes})")
    # ... and a cleared market's lots have nothing left to sell (CLR-07 expired it).
    for lot_key in sorted(state.lots):
        lot = state.lots[lot_key]
        lot_market = state.markets.get((lot.zone, lot_key[1]))
        if lot_market is None:
            fail("INV-13", f"lot {lot_key} outside any market")
        elif lot_market.status is MarketStatus.CLEARED and (lot.unsold_wh or lot.reserved_wh):
            fail("INV-13", f"lot {lot_key} still holds energy after its market cleared")

    # INV-14: the grid is a tree rooted at a substation; zones are nearest substations.
    if state.nodes:
        graph = grid_graph(state)
        if not nx.is_arborescence(graph):
            fail("INV-14", "grid is not a tree")
        else:
            (root,) = (n for n in graph.nodes if graph.in_degree(n) == 0)
            if state.nodes[root].kind is not NodeKind.SUBSTATION:
                fail("INV-14", "grid root is not a substation")
            else:
                for node_id in sorted(state.nodes):
                    if state.nodes[node_id].zone != nearest_substation(graph, node_id):
                        fail("INV-14", f"node {node_id} has the wrong zone")
    if state.params.fee_account not in state.accounts:
        fail("INV-14", "the fee account is not registered")

    # INV-19: one key, one account.
    holders: dict[bytes, bytes] = {}
    for account_key, account in sorted(state.accounts.items()):
        if not is_valid_public_key(account.key):
            fail("INV-19", f"account {account_key.hex()[:8]} has an invalid key")
        if account.key in holders:
            fail("INV-19", f"accounts {account_key.hex()[:8]} and another share a key")
        if account.key != account_key and account.key in state.accounts:
            fail("INV-19", f"account {account_key.hex()[:8]} signs with another account's id")
        holders[account.key] = account_key
    pending_key = state.pending_key
    if pending_key is not None:
        previous = pending_key.previous_key
        if previous in holders or (previous != pending_key.account and previous in state.accounts):
            fail("INV-19", "a validator's previous key is in use")

    # INV-20: separation of duties.
    for account_key, account in sorted(state.accounts.items()):
        conflict = role_conflict(account.roles)
        if conflict is not None:
            fail("INV-20", f"account {account_key.hex()[:8]} holds {conflict}")
    fee = state.accounts.get(state.params.fee_account)
    if fee is not None and fee.roles & Role.TRADER:
        fail("INV-20", "the fee account holds the trader role")
    for meter_id, registered in sorted(state.meters.items()):
        if registered.owner == registered.attestor:
            fail("INV-20", f"meter {meter_id} is attested by its owner")

    # INV-21: lots carry their reading's encumbrance.
    for lot_key, lot in sorted(state.lots.items()):
        lot_reading = state.readings.get(lot_key)
        if lot_reading is not None and lot.encumbrance is not lot_reading.encumbrance:
            fail("INV-21", f"lot {lot_key}: {lot.encumbrance.name}")

    # INV-27: readings lie in their meter's service and, while their window is open, carry the
    # meter's encumbrance for their slot.
    window = state.params.attestation_window_s
    for (meter_id, slot), reading in sorted(state.readings.items()):
        source_meter = state.meters.get(meter_id)
        if source_meter is None:
            continue  # INV-04 reports it
        if not in_service(source_meter, slot):
            fail("INV-27", f"reading {meter_id} slot {slot} outside the meter's service")
        scheduled = encumbrance_at(source_meter, slot)
        if state.time < slot_end(slot) + window and reading.encumbrance is not scheduled:
            fail("INV-27", f"reading {meter_id} slot {slot}: {reading.encumbrance.name}")

    # INV-28: demand is the sum of its readings' import (lots: INV-04).
    import_sum: dict[tuple[bytes, int, int], int] = defaultdict(int)
    for (meter_id, slot), reading in state.readings.items():
        source_meter = state.meters.get(meter_id)
        if source_meter is not None:
            import_sum[(source_meter.owner, source_meter.zone, slot)] += reading.imported_wh
    for sum_key in sorted(set(import_sum) | set(state.demand)):
        recorded = state.demand.get(sum_key)  # type: ignore[arg-type]
        imported = 0 if recorded is None else recorded.imported_wh
        measured = import_sum.get(sum_key, 0)
        if imported != measured:
            fail("INV-28", f"demand {sum_key!r}: {imported} Wh, its readings {measured} Wh")

    # INV-17: the one pending change of the validator set is a real change of a set of more
    # than three, effective two heights after the block that carried it, and not overdue.
    pending = state.pending_validator
    if pending is not None:
        current = validators(state)
        if (pending.account in current) != (pending.power == 0):
            fail("INV-17", f"the pending change (power {pending.power}) changes nothing")
        if len(current) <= 3:
            fail("INV-17", f"a change is pending for a set of {len(current)}")
        if (
            not state.height + ACTIVATION_DELAY
            <= pending.height
            <= state.height + 1 + ACTIVATION_DELAY
        ):
            fail("INV-17", f"pending change for height {pending.height} at height {state.height}")

    # INV-24: no record of a slot whose trading has closed (it was pruned with its slot).
    stale = [
        *(("reading", k, k[1]) for k in state.readings),
        *(("lot", k, k[1]) for k in state.lots),
        *(("demand", k, k[2]) for k in state.demand),
        *(("order", k, o.slot) for k, o in state.orders.items()),
        *(("market", k, k[1]) for k in state.markets),
    ]
    for table, key, slot in sorted(stale, key=repr):
        if trading_close(state.params, slot) <= state.time:
            fail("INV-24", f"{table} {key!r} of slot {slot}, closed by {state.time}")
    return found


def check_settlement(records: Sequence[SettlementRecord]) -> list[Violation]:
    """Every violation of a settlement invariant by the records of one clock advance."""
    found: list[Violation] = []

    def fail(rule_id: str, message: str) -> None:
        found.append(Violation(rule_id, message))

    orders = [r for r in records if isinstance(r, OrderRecord)]
    # INV-22: a settled lot balances, and its sales are its asks' fills.
    ask_fills: dict[tuple[int, int], int] = defaultdict(int)
    for o in orders:
        if o.side is Side.ASK and o.lot_meter is not None:
            ask_fills[(o.lot_meter, o.slot)] += o.filled_wh
    sold_per_slot: dict[int, int] = defaultdict(int)
    for lot in (r for r in records if isinstance(r, LotRecord)):
        if lot.sold_wh + lot.expired_wh != lot.minted_wh:
            fail("INV-22", f"lot {lot.meter} slot {lot.slot}: sold + expired != minted")
        if lot.sold_wh != ask_fills[(lot.meter, lot.slot)]:
            fail("INV-22", f"lot {lot.meter} slot {lot.slot}: sold != its asks' fills")
        sold_per_slot[lot.slot] += lot.sold_wh
    # INV-02, INV-05 on the pruned demand rows.
    claimed_per_slot: dict[int, int] = defaultdict(int)
    for demand in (r for r in records if isinstance(r, DemandRecord)):
        if demand.claimed_wh > demand.imported_wh:
            fail("INV-05", f"demand of slot {demand.slot}: claimed > imported")
        claimed_per_slot[demand.slot] += demand.claimed_wh
    for slot in sorted(set(sold_per_slot) | set(claimed_per_slot)):
        if sold_per_slot[slot] != claimed_per_slot[slot]:
            fail(
                "INV-02",
                f"settled slot {slot}: sold {sold_per_slot[slot]}, claimed "
                f"{claimed_per_slot[slot]}",
            )
    # INV-23 (and INV-09): a settled market's fills, money and prices.
    for market in (r for r in records if isinstance(r, MarketRecord)):
        mine = [o for o in orders if (o.zone, o.slot) == (market.zone, market.slot)]
        price = market.price or 0
        for side in (Side.ASK, Side.BID):
            own = [o for o in mine if o.side is side]
            if sum(o.filled_wh for o in own) != market.volume_wh:
                fail("INV-23", f"market {market.zone}/{market.slot}: {side.name} fills != volume")
            if sum(o.amount_msen for o in own) != market.volume_wh * price:
                fail("INV-23", f"market {market.zone}/{market.slot}: {side.name} amounts")
        if market.amount_msen != market.volume_wh * price:
            fail("INV-23", f"market {market.zone}/{market.slot}: amount != volume x price")
        bid_fees = sum(o.fee_msen for o in mine if o.side is Side.BID)
        if bid_fees != market.fees_msen:
            fail("INV-23", f"market {market.zone}/{market.slot}: fees {market.fees_msen}")
        if market.volume_wh and market.price is None:
            fail("INV-09", f"market {market.zone}/{market.slot} traded without a price")
        for o in mine:
            if o.filled_wh and o.side is Side.BID and o.limit_price < price:
                fail("INV-09", f"order {o.order_id}: bid limit below the price")
            if o.filled_wh and o.side is Side.ASK and o.limit_price > price:
                fail("INV-09", f"order {o.order_id}: ask limit above the price")
    return found


def check_step(
    before: State, after: State, tx: Transaction | None, accepted: bool
) -> list[Violation]:
    """Violations of the step invariants by one transaction (``tx``) or clock advance (None)."""
    found: list[Violation] = []

    def fail(rule_id: str, message: str) -> None:
        found.append(Violation(rule_id, message))

    if not accepted:
        if after != before:
            fail("INV-12", "a rejected input changed the state")
        return found
    # INV-11: nonces never decrease; exactly the sender's grows by one.
    for key in sorted(before.accounts):
        old = before.accounts[key].nonce
        new = after.accounts[key].nonce
        grew = 1 if tx is not None and key == tx.sender else 0
        if new != old + grew:
            fail("INV-11", f"account {key.hex()[:8]} nonce {old} -> {new}")
    for key in sorted(set(after.accounts) - set(before.accounts)):
        if after.accounts[key].nonce != 0:
            fail(
                "INV-11", f"new account {key.hex()[:8]} starts at nonce {after.accounts[key].nonce}"
            )
    # INV-12: authorization.
    sender = tx.sender if tx is not None else None
    # INV-19: only the account's own transaction changes its key.
    for key in sorted(before.accounts):
        if after.accounts[key].key != before.accounts[key].key and key != sender:
            fail("INV-19", f"key of {key.hex()[:8]} changed by another account")
    for key in sorted(before.accounts):
        if after.accounts[key].balance < before.accounts[key].balance and key != sender:
            fail("INV-12", f"balance of {key.hex()[:8]} lowered by another account")
    for order_id in sorted(after.orders):
        new_order = after.orders[order_id]
        old_order = before.orders.get(order_id)
        if old_order == new_order:
            continue
        if tx is None:
            if old_order is None or old_order.status is not OrderStatus.OPEN:
                fail("INV-12", f"clearing touched order {order_id} that was not open")
        elif new_order.owner != sender:
            fail("INV-12", f"order {order_id} changed by a transaction of another account")
    for lot_key in sorted(after.lots):
        old_lot = before.lots.get(lot_key)
        new_lot = after.lots[lot_key]
        if old_lot is None or old_lot == new_lot or tx is None:
            continue
        corrected = tx.kind is Kind.CORRECT_READING and _attestor_of(after, lot_key) == sender
        if new_lot.owner != sender and not corrected:
            fail("INV-12", f"lot {lot_key} changed by a transaction of another account")
    registries = ("nodes", "meters")
    operator_kinds = (
        Kind.REGISTER_ACCOUNT,
        Kind.REGISTER_NODE,
        Kind.REGISTER_METER,
        Kind.RETIRE_METER,
        Kind.SET_METER_ENCUMBRANCE,
    )
    changed_registry = any(getattr(after, n) != getattr(before, n) for n in registries)
    new_accounts = set(after.accounts) != set(before.accounts)
    pending = before.pending_validator
    if tx is None and pending is not None and pending.power == 1:
        # VAL-08: the end of a block registers the validator the validators admitted.
        admitted = {pending.account}
        new_accounts = set(after.accounts) - admitted != set(before.accounts) - admitted
    if (changed_registry or new_accounts) and (tx is None or tx.kind not in operator_kinds):
        fail("INV-12", "a registry changed outside an operator's registration")
    registered = changed_registry or new_accounts
    if registered and tx is not None and not before.accounts[tx.sender].roles & Role.OPERATOR:
        fail("INV-12", "a registry changed by a non-operator")
    for reading_key in sorted(after.readings):
        if before.readings.get(reading_key) == after.readings[reading_key]:
            continue
        if tx is None or _attestor_of(after, reading_key) != tx.sender:
            fail("INV-12", f"reading {reading_key} not attested by the meter's attestor")
    found += _validator_set_step(before, after, tx)
    return found


def _validator_set_step(before: State, after: State, tx: Transaction | None) -> list[Violation]:
    """INV-16, INV-17: only the end of a block (``tx`` None and the height one up) changes the
    validator set, by the pending change alone and at its height; a pending change stays as it
    is until then. (That two thirds of the set approved it is checked when it is accepted,
    VAL-05; the state does not keep the approvals, so the proofs carry that half.)"""
    found: list[Violation] = []
    old, new = set(validators(before)), set(validators(after))
    pending = before.pending_validator
    changed = old ^ new
    ended = tx is None and after.height == before.height + 1
    if changed:
        due = pending is not None and ended and pending.height <= after.height + 1
        if not due or pending is None or changed != {pending.account}:
            found.append(Violation("INV-16", f"the validator set changed by {len(changed)}"))
        elif (pending.account in new) != (pending.power == 1):
            found.append(Violation("INV-16", "the set changed against the pending change"))
        if len(old) <= 3 or len(changed) > 1:
            found.append(Violation("INV-17", f"{len(changed)} of {len(old)} validators changed"))
    if pending is not None and after.pending_validator != pending:
        applied = after.pending_validator is None and ended
        if not applied or pending.height > after.height + 1:
            found.append(Violation("INV-17", "the pending change was replaced or dropped"))
    return found


def _attestor_of(state: State, reading_key: tuple[int, int]) -> bytes | None:
    meter = state.meters.get(MeterId(reading_key[0]))
    return None if meter is None else meter.attestor
