"""The invariants of spec/rules.py (kind = invariant) as pointwise Z3 formulas.

Each invariant is a property of every row of some tables, ``forall key. clause(state, key)``. An
obligation never states the ``forall``: it assumes the clause at finitely many keys (the ones the
transition touches, the fresh keys and what they point to) and proves it in the post-state at fresh
keys, which are free constants and so stand for every key. Assuming the invariant at fewer keys is
a weaker hypothesis, so a proof stays sound; it keeps the obligations quantifier-free, which is
what makes a broken rule come back with a counterexample in milliseconds instead of ``unknown``.

State invariants relate one state to itself; step invariants (INV-11, INV-12, and the step halves
of INV-04, INV-16 and INV-17) relate a state to its successor. The comments name the spec check
each clause mirrors (``spec/invariants.py``). INV-15 (determinism) is a property of the clearing
algorithm and is proved in ``proofs/auction.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import z3

from proofs.model import (
    ASK,
    BID,
    MARKET_CLEARED,
    MARKET_OPEN,
    NONE,
    OPEN,
    SERVICE_POINT,
    SUBSTATION,
    Ledger,
    Term,
    encumbrance_at,
    get,
    in_service,
    read_order,
    slot_end,
    total,
    trading_close,
)
from proofs.transitions._common import Points
from spec.orders import MAX_OPEN_ORDERS_PER_MARKET
from spec.state import MAX_CORRECTIONS_PER_READING
from spec.units import (
    COUNTER_MAX,
    MONEY_MAX_MSEN,
    PRICE_MAX_SEN_PER_KWH,
    WH_MAX,
)


def _all(parts: list[Term]) -> Term:
    return z3.And(*parts) if parts else z3.BoolVal(True)


# --- State invariants ---------------------------------------------------------------------------


def inv01(s: Ledger, p: Points) -> Term:
    """INV-01: per lot, minted = unsold + reserved + sold + expired, all non-negative."""
    parts = []
    for k in p.readings:
        parts_of = [get(s.lot_unsold, *k), get(s.lot_reserved, *k), get(s.lot_sold, *k)]
        parts_of.append(get(s.lot_expired, *k))
        minted = get(s.lot_minted, *k)
        parts.append(
            z3.If(
                get(s.lot_exists, *k),
                z3.And(minted == total(parts_of), *[x >= 0 for x in parts_of]),
                z3.And(minted == 0, *[x == 0 for x in parts_of]),  # no row: nothing in it
            )
        )
    return _all(parts)


def inv02(s: Ledger, p: Points) -> Term:
    """INV-02: per slot, Wh sold by asks = Wh bought by bids = Wh claimed against demand."""
    return _all(
        [
            z3.And(
                get(s.slot_sold_wh, sl) == get(s.slot_bought_wh, sl),
                get(s.slot_bought_wh, sl) == get(s.slot_claimed_wh, sl),
            )
            for sl in p.slots
        ]
    )


def inv03(s: Ledger, p: Points) -> Term:
    """INV-03: a lot's reserved Wh = its open asks' quantities, its sold Wh = its asks' fills;
    every ask names an existing lot of its owner, zone and slot."""
    parts = []
    for k in p.readings:
        parts.append(get(s.lot_reserved, *k) == get(s.lot_open_ask_wh, *k))
        parts.append(get(s.lot_sold, *k) == get(s.lot_ask_fill_wh, *k))
        no_asks = get(s.lot_asks, *k) == 0
        parts.append(get(s.lot_asks, *k) >= 0)
        parts.append(
            z3.Implies(
                no_asks, z3.And(get(s.lot_open_ask_wh, *k) == 0, get(s.lot_ask_fill_wh, *k) == 0)
            )
        )
    for x in p.orders:
        o = read_order(s, x)
        lot = (o.lot_meter, o.slot)
        parts.append(
            z3.Implies(
                z3.And(o.exists, o.side == ASK),
                z3.And(
                    get(s.lot_exists, *lot),
                    get(s.lot_owner, *lot) == o.owner,
                    get(s.lot_zone, *lot) == o.zone,
                    get(s.lot_asks, *lot) >= 1,  # SUM-SUBSET: the ask counts in its lot's asks
                ),
            )
        )
    return _all(parts)


def inv04(s: Ledger, p: Points) -> Term:
    """INV-04: a reading comes from a registered meter; a lot exists exactly for a reading with
    export, and minted exactly that export (one lot per attested (meter, slot))."""
    parts = []
    for k in p.readings:
        reading = get(s.reading_exists, *k)
        exported = get(s.reading_exported, *k)
        parts.append(z3.Implies(reading, get(s.meter_registered, k[0])))
        parts.append(get(s.lot_exists, *k) == z3.And(reading, exported > 0))
        parts.append(z3.Implies(get(s.lot_exists, *k), get(s.lot_minted, *k) == exported))
    return _all(parts)


def inv05(s: Ledger, p: Points) -> Term:
    """INV-05: claimed Wh <= attested import, and claims are exactly the bids' fills."""
    parts = []
    for k in p.demands:
        claimed, imported = get(s.demand_claimed, *k), get(s.demand_imported, *k)
        parts.append(z3.And(claimed >= 0, claimed <= imported))
        parts.append(claimed == get(s.demand_bid_fill_wh, *k))
    return _all(parts)


def inv25(s: Ledger, p: Points) -> Term:
    """INV-25: per (account, zone, slot), open bid Wh + claimed <= imported."""
    parts = []
    for k in p.demands:
        open_wh = get(s.trader_open_bid_wh, *k)
        parts.append(open_wh + get(s.demand_claimed, *k) <= get(s.demand_imported, *k))
    return _all(parts)


def inv26(s: Ledger, p: Points) -> Term:
    """INV-26: per (account, zone, slot), at most MAX_OPEN_ORDERS_PER_MARKET open orders."""
    parts = []
    for k in p.demands:
        asks, bids = get(s.trader_open_asks, *k), get(s.trader_open_bids, *k)
        parts.append(asks + bids <= MAX_OPEN_ORDERS_PER_MARKET)
    return _all(parts)


def inv06(s: Ledger, p: Points) -> Term:
    """INV-06: balances + escrow = money outstanding (through the ghost totals)."""
    return s.balance_total + s.escrow_total == s.money_outstanding


def inv07(s: Ledger, p: Points) -> Term:
    """INV-07: no negative balance, escrow, energy amount or total; an unregistered account holds
    nothing; a missing order holds nothing."""
    parts = [
        s.money_outstanding >= 0,
        s.escrow_total >= 0,
        s.balance_total >= 0,
    ]
    for a in p.accounts:
        registered = get(s.account_registered, a)
        parts.append(get(s.account_balance, a) >= 0)
        parts.append(get(s.account_nonce, a) >= 0)
        parts.append(
            z3.Implies(
                z3.Not(registered),
                z3.And(
                    get(s.account_balance, a) == 0,
                    get(s.account_nonce, a) == 0,
                    z3.Not(get(s.account_operator, a)),
                    z3.Not(get(s.account_attestor, a)),
                    z3.Not(get(s.account_trader, a)),
                ),
            )
        )
    for x in p.orders:
        o = read_order(s, x)
        parts.append(
            z3.If(
                o.exists,
                z3.And(o.escrow >= 0, o.quantity >= 1, o.filled >= 0, o.filled <= o.quantity),
                z3.And(o.escrow == 0, o.filled == 0),
            )
        )
    return _all(parts)


def inv08(s: Ledger, p: Points) -> Term:
    """INV-08: every amount within the bound of its unit (spec/units.py)."""
    parts = [
        s.money_outstanding <= MONEY_MAX_MSEN,
        s.balance_total + s.escrow_total <= MONEY_MAX_MSEN,  # money in the ledger
        s.next_order_id >= 1,
        s.next_order_id <= COUNTER_MAX,
    ]
    # Each balance is within the bound because it is part of balance_total (corollary obligation
    # ``bounds/balance``), so the per-account clause is the nonce's.
    for a in p.accounts:
        parts.append(get(s.account_nonce, a) <= COUNTER_MAX)
    for m in p.meters:
        parts.append(z3.Implies(get(s.meter_registered, m), get(s.meter_capacity, m) <= WH_MAX))
    for k in p.readings:
        parts.append(z3.Implies(get(s.lot_exists, *k), get(s.lot_minted, *k) <= WH_MAX))
    for d in p.demands:
        parts.append(get(s.demand_imported, *d) <= WH_MAX)
    for x in p.orders:
        o = read_order(s, x)
        parts.append(
            z3.Implies(
                o.exists,
                z3.And(
                    o.quantity <= WH_MAX,
                    o.limit >= 0,
                    o.limit <= PRICE_MAX_SEN_PER_KWH,
                    o.fee >= 0,
                    o.fee <= PRICE_MAX_SEN_PER_KWH,
                    o.escrow <= MONEY_MAX_MSEN,
                ),
            )
        )
    for n in p.nodes:
        fee = get(s.node_fee, n)
        parts.append(
            z3.Implies(get(s.node_registered, n), z3.And(fee >= 0, fee <= PRICE_MAX_SEN_PER_KWH))
        )
    for k in p.markets:
        price = get(s.market_price, *k)
        parts.append(z3.Or(price == NONE, z3.And(price >= 0, price <= PRICE_MAX_SEN_PER_KWH)))
    return _all(parts)


def inv09(s: Ledger, p: Points) -> Term:
    """INV-09: an open market has no fills, price or volume; a cleared market's fills on both
    sides equal its volume, with a price if it traded; every filled bid's limit >= the price >=
    every filled ask's limit."""
    parts = []
    for k in p.markets:
        exists, status = get(s.market_exists, *k), get(s.market_status, *k)
        asks, bids = get(s.market_ask_fill_wh, *k), get(s.market_bid_fill_wh, *k)
        volume, price = get(s.market_volume, *k), get(s.market_price, *k)
        parts.append(
            z3.If(
                z3.And(exists, status == MARKET_CLEARED),
                z3.And(asks == volume, bids == volume, z3.Implies(volume > 0, price != NONE)),
                z3.And(asks == 0, bids == 0, volume == 0, z3.Implies(exists, price == NONE)),
            )
        )
        parts.append(z3.Implies(exists, z3.Or(status == MARKET_OPEN, status == MARKET_CLEARED)))
    for x in p.orders:
        o = read_order(s, x)
        k = (o.zone, o.slot)
        price = get(s.market_price, *k)
        parts.append(
            z3.Implies(
                z3.And(o.exists, o.filled > 0),
                z3.And(
                    get(s.market_exists, *k),
                    get(s.market_status, *k) == MARKET_CLEARED,
                    price != NONE,
                    z3.Implies(o.side == BID, o.limit >= price),
                    z3.Implies(o.side == ASK, o.limit <= price),
                ),
            )
        )
    return _all(parts)


def inv10(s: Ledger, p: Points) -> Term:
    """INV-10: an open bid's escrow = quantity x (limit + fee); every other order holds none; an
    open order has no fills."""
    parts = []
    for x in p.orders:
        o = read_order(s, x)
        open_bid = z3.And(o.exists, o.side == BID, o.status == OPEN)
        parts.append(z3.If(open_bid, o.escrow == o.quantity * (o.limit + o.fee), o.escrow == 0))
        parts.append(z3.Implies(z3.And(o.exists, o.status == OPEN), o.filled == 0))
        parts.append(z3.Implies(o.exists, z3.Or(o.side == ASK, o.side == BID)))
        parts.append(z3.Implies(z3.And(o.exists, o.side == ASK), o.fee == 0))
    return _all(parts)


def inv13(s: Ledger, p: Points) -> Term:
    """INV-13: every reading was attested inside its window; an open order sits in an open
    market; no market is open after its trading closed; a cleared market's lots hold no unsold
    or reserved Wh (that every lot has a market is INV-29). While the clock advances (the ghost
    horizon is ahead of the time) the markets due by the horizon are the ones being cleared."""
    parts = [s.time <= s.clock_horizon]
    for k in p.readings:
        at = get(s.reading_attested_at, *k)
        end = slot_end(k[1])
        parts.append(
            z3.Implies(
                get(s.reading_exists, *k),
                z3.And(end <= at, at < end + s.attestation_window_s, at <= s.time),
            )
        )
    for x in p.orders:
        o = read_order(s, x)
        k = (o.zone, o.slot)
        parts.append(
            z3.Implies(
                z3.And(o.exists, o.status == OPEN),
                z3.And(get(s.market_exists, *k), get(s.market_status, *k) == MARKET_OPEN),
            )
        )
    for k in p.markets:
        opened = z3.And(get(s.market_exists, *k), get(s.market_status, *k) == MARKET_OPEN)
        parts.append(z3.Implies(opened, s.time < trading_close(s, k[1])))
        cleared = z3.And(get(s.market_exists, *k), get(s.market_status, *k) == MARKET_CLEARED)
        parts.append(z3.Implies(cleared, trading_close(s, k[1]) <= s.clock_horizon))
    for k in p.readings:
        # Once a lot's market cleared, the lot holds nothing to sell (CLR-07).
        market = (get(s.lot_zone, *k), k[1])
        cleared = z3.And(
            get(s.market_exists, *market), get(s.market_status, *market) == MARKET_CLEARED
        )
        parts.append(
            z3.Implies(
                z3.And(get(s.lot_exists, *k), cleared),
                z3.And(get(s.lot_unsold, *k) == 0, get(s.lot_reserved, *k) == 0),
            )
        )
    return _all(parts)


def inv14(s: Ledger, p: Points) -> Term:
    """INV-14: the grid is a tree rooted at a substation, every node's zone its nearest
    substation. Tree-ness is carried by a ghost rank (registration order): every non-root node's
    parent is registered with a smaller rank, ranks are distinct, only rank 0 has no parent. The
    fee account is registered (spec/invariants.py checks it under this id)."""
    parts = [s.node_count >= 0, get(s.account_registered, s.fee_account)]
    for n in p.nodes:
        kind, parent, rank = get(s.node_kind, n), get(s.node_parent, n), get(s.node_rank, n)
        zone = get(s.node_zone, n)
        parts.append(z3.Implies(s.node_count == 0, z3.Not(get(s.node_registered, n))))
        parts.append(
            z3.Implies(
                get(s.node_registered, n),
                z3.And(
                    kind >= 0,
                    kind <= SERVICE_POINT,
                    rank >= 0,
                    rank < s.node_count,
                    (parent == NONE) == (rank == 0),
                    z3.Implies(rank == 0, kind == SUBSTATION),
                    z3.Implies(
                        parent != NONE,
                        z3.And(
                            get(s.node_registered, parent),
                            get(s.node_rank, parent) < rank,
                            get(s.node_kind, parent) != SERVICE_POINT,
                        ),
                    ),
                    zone == z3.If(kind == SUBSTATION, n, get(s.node_zone, parent)),
                    get(s.node_registered, zone),
                    get(s.node_kind, zone) == SUBSTATION,
                    z3.Implies(kind != SUBSTATION, get(s.node_fee, n) == 0),
                ),
            )
        )
    for i, n1 in enumerate(p.nodes):
        for n2 in p.nodes[i + 1 :]:
            both = z3.And(get(s.node_registered, n1), get(s.node_registered, n2), n1 != n2)
            parts.append(z3.Implies(both, get(s.node_rank, n1) != get(s.node_rank, n2)))
    return _all(parts)


def inv12_state(s: Ledger, p: Points) -> Term:
    """INV-12 (state part): orders are owned by registered accounts and live under ids below
    the next order id, so a new order never overwrites one (ORD-04)."""
    parts = [s.next_order_id >= 1]
    for x in p.orders:
        o = read_order(s, x)
        parts.append(
            z3.Implies(
                o.exists,
                z3.And(get(s.account_registered, o.owner), x >= 1, x < s.next_order_id),
            )
        )
    for k in p.readings:
        parts.append(
            z3.Implies(get(s.lot_exists, *k), get(s.account_registered, get(s.lot_owner, *k)))
        )
    for m in p.meters:
        parts.append(
            z3.Implies(
                get(s.meter_registered, m),
                z3.And(
                    get(s.account_registered, get(s.meter_owner, m)),
                    get(s.account_registered, get(s.meter_attestor, m)),
                ),
            )
        )
    return _all(parts)


def inv20(s: Ledger, p: Points) -> Term:
    """INV-20: no account is a trader and also an attestor or the operator (ROL-01); the fee
    account is no trader; no registered meter is attested by its owner."""
    parts = [z3.Not(get(s.account_trader, s.fee_account))]
    for a in p.accounts:
        trader = get(s.account_trader, a)
        parts.append(
            z3.Not(z3.And(trader, z3.Or(get(s.account_operator, a), get(s.account_attestor, a))))
        )
    for m in p.meters:
        parts.append(
            z3.Implies(
                get(s.meter_registered, m), get(s.meter_owner, m) != get(s.meter_attestor, m)
            )
        )
    return _all(parts)


def inv21(s: Ledger, p: Points) -> Term:
    """INV-21: every lot carries the encumbrance of its reading."""
    parts = []
    for k in p.readings:
        parts.append(
            z3.Implies(
                get(s.lot_exists, *k),
                get(s.lot_encumbrance, *k) == get(s.reading_encumbrance, *k),
            )
        )
    return _all(parts)


def inv27(s: Ledger, p: Points) -> Term:
    """INV-27: every reading lies in its meter's service; a reading whose window is open carries
    its meter's encumbrance for its slot."""
    parts = []
    for k in p.readings:
        exists = get(s.reading_exists, *k)
        parts.append(z3.Implies(exists, in_service(s, k[0], k[1])))
        open_window = s.time < slot_end(k[1]) + s.attestation_window_s
        parts.append(
            z3.Implies(
                z3.And(exists, open_window),
                get(s.reading_encumbrance, *k) == encumbrance_at(s, k[0], k[1]),
            )
        )
    return _all(parts)


def inv16(s: Ledger, p: Points) -> Term:
    """INV-16 (state part): the pending change, if any, was approved by at least two thirds of
    the set it changes (3 x distinct approving validators >= 2 x the set's size then), and the
    set has as many validators now as then (its step part: no step changed it meanwhile); only
    registered accounts are validators."""
    pending = s.pending_height != NONE
    parts = [
        s.validator_count >= 0,
        z3.Implies(
            pending,
            z3.And(
                3 * s.pending_approvers >= 2 * s.pending_set_size,
                s.pending_set_size == s.validator_count,
            ),
        ),
    ]
    for a in p.accounts:
        registered = get(s.account_registered, a)
        parts.append(z3.Implies(z3.Not(registered), z3.Not(get(s.account_validator, a))))
    a = s.pending_account
    not_registered = z3.And(pending, z3.Not(get(s.account_registered, a)))
    parts.append(z3.Implies(not_registered, z3.Not(get(s.account_validator, a))))
    return _all(parts)


def inv17(s: Ledger, p: Points) -> Term:
    """INV-17 (state part): at most one change is pending (the state has one place for it and
    VAL-06 never overwrites it); it adds a non-validator or removes a validator of a set of more
    than three (so one is less than a third, VAL-07); it was accepted in the block after height
    ``pending_since``, is effective from ``pending_since + 3`` (VAL-08: block since + 2 is still
    signed by the old set) and is never overdue."""
    pending = s.pending_height != NONE
    a = s.pending_account
    return z3.And(
        s.height >= 0,
        z3.Implies(
            pending,
            z3.And(
                s.validator_count > 3,
                z3.Or(s.pending_power == 0, s.pending_power == 1),
                get(s.account_validator, a) == (s.pending_power == 0),
                s.pending_height == s.pending_since + 3,
                s.pending_since <= s.height,
                s.height <= s.pending_since + 1,
            ),
        ),
    )


def inv19(s: Ledger, p: Points) -> Term:
    """INV-19: one key, one account. At each point ``a`` as an account: a registered account's
    key was found valid and is held by it, and so is its id. At ``a`` as a key: whoever holds it
    is registered and has it as key or id. Together these make ``key_holder`` exactly the
    inverse of (id, key), so no two accounts share a key and no account's key is another's id
    (``lemma/one-key-one-account``)."""
    parts = []
    for a in p.accounts:
        key = get(s.account_key, a)
        holder = get(s.key_holder, a)
        parts.append(
            z3.Implies(
                get(s.account_registered, a),
                z3.And(
                    a >= 0,  # an id is a key, never NONE
                    get(s.account_key_valid, a),
                    get(s.key_holder, key) == a,
                    holder == a,
                ),
            )
        )
        parts.append(
            z3.Implies(
                holder != NONE,
                z3.And(
                    get(s.account_registered, holder),
                    z3.Or(get(s.account_key, holder) == a, holder == a),
                ),
            )
        )
    # An account a pending change will admit is nobody's key meanwhile (KEY-07, KEY-02).
    newcomer = z3.And(
        s.pending_height != NONE, z3.Not(get(s.account_registered, s.pending_account))
    )
    free = z3.And(s.pending_account >= 0, get(s.key_holder, s.pending_account) == NONE)
    parts.append(z3.Implies(newcomer, free))
    return _all(parts)


def inv28(s: Ledger, p: Points) -> Term:
    """INV-28: a demand's import is the sum of its readings' import (the ghost sum kept by
    ``write_reading_import``); a reading's corrections are within their bound; a lot exists
    exactly for a reading with export and minted exactly that export (as INV-04)."""
    parts = []
    for d in p.demands:
        parts.append(get(s.demand_imported, *d) == get(s.demand_reading_wh, *d))
    for k in p.readings:
        exported = get(s.reading_exported, *k)
        corrections = get(s.reading_corrections, *k)
        parts.append(
            z3.Implies(
                get(s.reading_exists, *k),
                z3.And(corrections >= 0, corrections <= MAX_CORRECTIONS_PER_READING),
            )
        )
        parts.append(get(s.lot_exists, *k) == z3.And(get(s.reading_exists, *k), exported > 0))
        parts.append(z3.Implies(get(s.lot_exists, *k), get(s.lot_minted, *k) == exported))
    return _all(parts)


def inv29(s: Ledger, p: Points) -> Term:
    """INV-29: every lot's zone and slot has a market (so CLR-07 expires it when it clears)."""
    parts = []
    for k in p.readings:
        parts.append(
            z3.Implies(get(s.lot_exists, *k), get(s.market_exists, get(s.lot_zone, *k), k[1]))
        )
    return _all(parts)


@dataclass(frozen=True)
class StateInvariant:
    rule_id: str
    title: str
    holds: Callable[[Ledger, Points], Term]


PRUNED_INVARIANT: Final = "INV-24"
"""Proved by its own obligations (``proofs/obligations.py``: every transition, and the clock
advance with its pruning step), not with the other state invariants."""


def inv24(s: Ledger, p: Points) -> Term:
    """INV-24: no reading, lot, order or market of a slot whose trading close is at or before
    the time (spec.invariants.check_state, INV-24; demand rows are outside the model)."""
    parts = []
    for k in p.readings:
        stale = trading_close(s, k[1]) <= s.time
        parts.append(z3.Implies(stale, z3.Not(get(s.reading_exists, *k))))
        parts.append(z3.Implies(stale, z3.Not(get(s.lot_exists, *k))))
    for x in p.orders:
        o = read_order(s, x)
        parts.append(z3.Implies(trading_close(s, o.slot) <= s.time, z3.Not(o.exists)))
    for k in p.markets:
        stale = trading_close(s, k[1]) <= s.time
        parts.append(z3.Implies(stale, z3.Not(get(s.market_exists, *k))))
    return _all(parts)


STATE_INVARIANTS: tuple[StateInvariant, ...] = (
    StateInvariant("INV-01", "energy conservation per lot", inv01),
    StateInvariant("INV-02", "energy balance per slot", inv02),
    StateInvariant("INV-03", "no double-sell", inv03),
    StateInvariant("INV-04", "no double-attestation", inv04),
    StateInvariant("INV-05", "no double-claim", inv05),
    StateInvariant("INV-06", "money conservation", inv06),
    StateInvariant("INV-07", "no negative amount", inv07),
    StateInvariant("INV-08", "bounds", inv08),
    StateInvariant("INV-09", "price integrity", inv09),
    StateInvariant("INV-10", "escrow backs open bids", inv10),
    StateInvariant("INV-12", "ownership is well-formed", inv12_state),
    StateInvariant("INV-13", "time", inv13),
    StateInvariant("INV-14", "grid is a tree", inv14),
    StateInvariant("INV-19", "one key, one account", inv19),
    StateInvariant("INV-20", "separation of duties", inv20),
    StateInvariant("INV-21", "encumbrance follows the meter", inv21),
    StateInvariant("INV-25", "open bids are backed", inv25),
    StateInvariant("INV-26", "open orders are capped", inv26),
    StateInvariant("INV-16", "the validator set changes only with a quorum", inv16),
    StateInvariant("INV-17", "the validator set changes by one at a time", inv17),
    StateInvariant("INV-27", "readings follow the meter's schedule", inv27),
    StateInvariant("INV-28", "readings, lots and demand agree", inv28),
    StateInvariant("INV-29", "every lot has its market", inv29),
)


def all_state_invariants(s: Ledger, p: Points) -> Term:
    """The conjunction of every state invariant at the points ``p``."""
    return z3.And(*[inv.holds(s, p) for inv in STATE_INVARIANTS])


# --- Step invariants ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who caused a step: a transaction's sender and nonce, or nobody (clearing, the clock)."""

    sender: Term | None
    nonce: Term | None = None
    kind: str = ""


OPERATOR_KINDS = (
    "register_account",
    "register_node",
    "register_meter",
    "retire_meter",
    "set_meter_encumbrance",
)
METER_FIELDS = (
    "meter_registered",
    "meter_owner",
    "meter_attestor",
    "meter_node",
    "meter_zone",
    "meter_capacity",
    "meter_encumbrance",
    "meter_first_slot",
    "meter_retired_from",
    "meter_change_from",
    "meter_change_encumbrance",
)
END_BLOCK = "end_block"
"""The step that closes a block: the height moves, a due change of the validator set applies."""


def inv11(pre: Ledger, post: Ledger, p: Points, actor: Actor) -> Term:
    """INV-11: the sender's nonce grows by exactly one and was the transaction's nonce (so a
    replayed or reordered transaction is rejected); no other registered account's nonce moves;
    a new account starts at 0."""
    parts = []
    if actor.sender is not None:
        parts.append(actor.nonce == get(pre.account_nonce, actor.sender))
    for a in p.accounts:
        grew = 0 if actor.sender is None else z3.If(a == actor.sender, 1, 0)
        was = get(pre.account_registered, a)
        parts.append(
            z3.If(
                was,
                get(post.account_nonce, a) == get(pre.account_nonce, a) + grew,
                z3.Implies(get(post.account_registered, a), get(post.account_nonce, a) == 0),
            )
        )
    return _all(parts)


def _order_changed(pre: Ledger, post: Ledger, x: Term) -> Term:
    a, b = read_order(pre, x), read_order(post, x)
    return z3.Or(*[getattr(a, f) != getattr(b, f) for f in a.__dataclass_fields__])


def _lot_changed(pre: Ledger, post: Ledger, k: tuple[Term, Term]) -> Term:
    names = ("owner", "unsold", "reserved", "sold", "expired", "minted")
    return z3.Or(
        *[get(getattr(pre, f"lot_{n}"), *k) != get(getattr(post, f"lot_{n}"), *k) for n in names]
    )


def inv12(pre: Ledger, post: Ledger, p: Points, actor: Actor) -> Term:
    """INV-12: only an account's own transactions lower its balance, open or close its orders
    or change its lots; clearing touches only open orders and lowers no balance; only the
    operator registers (the end of a block registers only the account a pending addition to the
    validator set names, VAL-08); only a meter's attestor attests."""
    parts = []
    sender = actor.sender
    for a in p.accounts:
        lowered = get(post.account_balance, a) < get(pre.account_balance, a)
        parts.append(z3.Not(lowered) if sender is None else z3.Implies(lowered, a == sender))
    for x in p.orders:
        changed = _order_changed(pre, post, x)
        if sender is None:
            was_open = z3.And(read_order(pre, x).exists, read_order(pre, x).status == OPEN)
            parts.append(z3.Implies(changed, was_open))
        else:
            parts.append(z3.Implies(changed, read_order(post, x).owner == sender))
    for k in p.readings:
        if sender is not None and actor.kind == "correct_reading":
            # COR-06: the meter's attestor replaces a lot nobody has used (COR-03).
            changed = z3.And(get(pre.lot_exists, *k), _lot_changed(pre, post, k))
            untouched = get(pre.lot_asks, *k) == 0
            by_attestor = get(pre.meter_attestor, k[0]) == sender
            parts.append(z3.Implies(changed, z3.And(untouched, by_attestor)))
        elif sender is not None:
            changed = z3.And(get(pre.lot_exists, *k), _lot_changed(pre, post, k))
            parts.append(z3.Implies(changed, get(post.lot_owner, *k) == sender))
        new_reading = z3.And(z3.Not(get(pre.reading_exists, *k)), get(post.reading_exists, *k))
        if actor.kind == "attest":
            parts.append(z3.Implies(new_reading, get(pre.meter_attestor, k[0]) == sender))
        else:
            parts.append(z3.Not(new_reading))
    registered = [
        get(post.account_registered, a) != get(pre.account_registered, a) for a in p.accounts
    ]
    registered += [get(post.node_registered, n) != get(pre.node_registered, n) for n in p.nodes]
    registered += [
        z3.Or(*[get(getattr(post, f), m) != get(getattr(pre, f), m) for f in METER_FIELDS])
        for m in p.meters
    ]
    changed_registry = z3.Or(*registered) if registered else z3.BoolVal(False)
    if actor.kind in OPERATOR_KINDS:
        parts.append(z3.Implies(changed_registry, get(pre.account_operator, sender)))
    elif actor.kind == END_BLOCK:
        # VAL-08: the one account a pending addition names joins; no node or meter changes.
        for a in p.accounts:
            joined = get(post.account_registered, a) != get(pre.account_registered, a)
            admitted = z3.And(
                pre.pending_height != NONE, a == pre.pending_account, pre.pending_power == 1
            )
            parts.append(z3.Implies(joined, admitted))
        parts += [z3.Not(r) for r in registered[len(p.accounts) :]]
    else:
        parts.append(z3.Not(changed_registry))
    return _all(parts)


def inv04_step(pre: Ledger, post: Ledger, p: Points, actor: Actor) -> Term:
    """INV-04 (step part): an attested reading is never attested again: its row never changes,
    except by a correction of its meter's attestor (COR-06), which counts it and keeps it."""
    parts = []
    for k in p.readings:
        same = z3.And(
            *[
                get(getattr(pre, n), *k) == get(getattr(post, n), *k)
                for n in ("reading_exists", "reading_exported", "reading_imported")
            ]
        )
        was = get(pre.reading_exists, *k)
        if actor.kind == "correct_reading":
            counted = z3.And(
                get(post.reading_exists, *k),
                get(post.reading_corrections, *k) == get(pre.reading_corrections, *k) + 1,
                get(pre.meter_attestor, k[0]) == actor.sender,
            )
            parts.append(z3.Implies(was, z3.Or(same, counted)))
        else:
            parts.append(z3.Implies(was, same))
    return _all(parts)


def _validator_changed(pre: Ledger, post: Ledger, a: Term) -> Term:
    return get(pre.account_validator, a) != get(post.account_validator, a)


_PENDING = (
    "pending_height",
    "pending_account",
    "pending_power",
    "pending_approvers",
    "pending_set_size",
    "pending_since",
)


def inv16_step(pre: Ledger, post: Ledger, p: Points, actor: Actor) -> Term:
    """INV-16: no transaction, clearing or clock advance changes the validator set; the end of a
    block changes it only as the pending change says, and only if at least two thirds of the set
    it changes approved it (3 x distinct approving validators >= 2 x validators)."""
    parts = []
    for a in p.accounts:
        changed = _validator_changed(pre, post, a)
        if actor.kind != END_BLOCK:
            parts.append(z3.Not(changed))
            continue
        parts.append(
            z3.Implies(
                changed,
                z3.And(
                    pre.pending_height != NONE,
                    a == pre.pending_account,
                    get(post.account_validator, a) == (pre.pending_power == 1),
                    3 * pre.pending_approvers >= 2 * pre.validator_count,
                ),
            )
        )
    if actor.kind != END_BLOCK:
        parts.append(post.validator_count == pre.validator_count)
    return _all(parts)


def inv17_step(pre: Ledger, post: Ledger, p: Points, actor: Actor) -> Term:
    """INV-17: a step changes the set by at most one validator (the number of validators moves by
    at most one, and only the pending change's account changes), and only a set of more than
    three; a pending change is never replaced or dropped: it stays as it was accepted until the
    end of block ``pending_since + 2`` (the block after the one that carried it), and there it
    takes effect."""
    delta = post.validator_count - pre.validator_count
    pending = pre.pending_height != NONE
    same = z3.And(*[getattr(post, n) == getattr(pre, n) for n in _PENDING])
    parts = [
        z3.Or(delta == -1, delta == 0, delta == 1),
        z3.Implies(delta != 0, pre.validator_count > 3),
    ]
    on_time = post.height == pre.pending_since + 2
    for a in p.accounts:
        changed = _validator_changed(pre, post, a)
        parts.append(z3.Implies(changed, z3.And(pending, a == pre.pending_account, on_time)))
    if actor.kind == END_BLOCK:
        applied = z3.And(
            post.pending_height == NONE,
            get(post.account_validator, pre.pending_account) == (pre.pending_power == 1),
        )
        parts.append(z3.Implies(pending, z3.If(on_time, applied, same)))
    else:
        parts.append(z3.Implies(pending, same))
    return _all(parts)


def inv19_step(pre: Ledger, post: Ledger, p: Points, actor: Actor) -> Term:
    """INV-19 (step part): only the account's own transaction changes its key."""
    parts = []
    for a in p.accounts:
        changed = get(post.account_key, a) != get(pre.account_key, a)
        registered = get(pre.account_registered, a)
        if actor.sender is None:
            parts.append(z3.Implies(registered, z3.Not(changed)))
        else:
            parts.append(z3.Implies(z3.And(registered, changed), a == actor.sender))
    return _all(parts)


@dataclass(frozen=True)
class StepInvariant:
    rule_id: str
    title: str
    holds: Callable[[Ledger, Ledger, Points, Actor], Term]


STEP_INVARIANTS: tuple[StepInvariant, ...] = (
    StepInvariant("INV-04", "a reading is never re-attested", inv04_step),
    StepInvariant("INV-11", "nonce monotonicity", inv11),
    StepInvariant("INV-12", "authorization", inv12),
    StepInvariant("INV-16", "the validator set changes only with a quorum", inv16_step),
    StepInvariant("INV-17", "one validator at a time, on schedule", inv17_step),
    StepInvariant("INV-19", "only the account changes its key", inv19_step),
)
