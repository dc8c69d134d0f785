"""The ledger's state as Z3 terms, and the only functions allowed to write summed tables.

An auditor reads this module beside ``spec/state.py``: every table of ``State`` is a family of Z3
arrays here, one array per record field, named ``<table>_<field>``. Keys are Z3 integers (account
ids, which are public keys in the spec, become abstract integers: nothing in the rules does
arithmetic on them). A missing row reads as its ``*_exists`` flag being false and its fields being
whatever the array holds; a missing demand row reads as zero import and zero claims, exactly as the
spec's ``state.demand.get(key, Demand(0, 0))``.

Unbounded quantities are Z3 ``Int`` (never bit-vectors, whose wrap-around would make conservation
hold modulo 2^64); the bounds of ``spec/units.py`` are explicit constraints (INV-07, INV-08).

Sums over all accounts or all orders cannot be written as terms. The model keeps *ghost totals*
instead (``balance_total``, ``escrow_total``, ``validator_count`` and a few per-key sums over
orders and demand) and updates them in exactly one place per summed table: ``write_balance``,
``write_validator``, ``write_order`` and ``write_demand`` store the new value and add
``new - old`` to every total the entry counts in, reading ``old`` from the array as it is at that
moment. This is the update lemma of a sum,
``sum(Store(f, k, v)) = sum(f) - f[k] + v`` (axiom SUM-UPDATE, checked on a bounded universe by the
``lemma`` obligations). Because each write reads the latest array, two writes to one key (a
self-transfer, a self-trade, two bids of one buyer) stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import z3

from spec.units import (
    COUNTER_MAX,
    ID_MAX,
    MONEY_MAX_MSEN,
    PRICE_MAX_SEN_PER_KWH,
    SLOT_SECONDS,
    TIME_MAX_S,
    WH_MAX,
)

Term = Any
"""A Z3 expression (z3's own classes are not typed precisely enough to be useful here)."""

INT = z3.IntSort()
BOOL = z3.BoolSort()

NONE = -1
"""Stands for ``None`` in an integer field (a root's parent, a bid's lot meter, an open price)."""

# Enum values, as in spec/state.py.
SUBSTATION, TRANSFORMER, SERVICE_POINT = 0, 1, 2
ASK, BID = 0, 1
OPEN, FILLED, PARTLY_FILLED, CANCELLED, EXPIRED = 0, 1, 2, 3, 4
MARKET_OPEN, MARKET_CLEARED = 0, 1
ENCUMBRANCE_NONE = 0

# Key arities of the tables (how many Int indices an array of the table takes).
_TABLE_ARITY = {
    "account": 1,
    "node": 1,
    "meter": 1,
    "reading": 2,
    "lot": 2,
    "demand": 3,
    "order": 1,
    "market": 2,
    "slot": 1,
    "trader": 3,
    "key": 1,
}


def slot_end(slot: Term) -> Term:
    """spec.units.slot_end."""
    return (slot + 1) * SLOT_SECONDS


def trading_close(s: Ledger, slot: Term) -> Term:
    """spec.state.trading_close."""
    return slot_end(slot) + s.trading_close_s


@dataclass(frozen=True)
class Ledger:
    """spec.state.State as Z3 terms (plus ghost fields, marked ``ghost``)."""

    # Parameters (ChainParams) and ledger scalars.
    attestation_window_s: Term
    trading_close_s: Term
    fee_account: Term
    time: Term
    next_order_id: Term
    money_outstanding: Term
    # ghost: sums kept by the write helpers.
    balance_total: Term
    """ghost: sum of all balances."""
    escrow_total: Term
    """ghost: sum of all orders' escrow."""
    node_count: Term
    """ghost: number of registered nodes (``len(state.nodes)``)."""
    clock_horizon: Term
    """ghost: the ``now`` of the clock advance in progress; equal to ``time`` between advances,
    which is when transactions are applied (BLK-12)."""
    # The validator set (spec/validators.py): the height and the one pending change (VAL-06).
    height: Term
    """The height of the last block applied (``State.height``)."""
    validator_count: Term
    """ghost: number of accounts holding the VALIDATOR role (``len(validators(state))``)."""
    pending_height: Term
    """``State.pending_validator.height`` (the first height the changed set signs), NONE when no
    change is pending."""
    pending_account: Term
    pending_power: Term
    pending_approvers: Term
    """ghost: how many distinct current validators validly approved the pending change."""
    pending_set_size: Term
    """ghost: how many validators the set had when the pending change was accepted."""
    pending_since: Term
    """ghost: the height of the state the pending change was accepted in (the block that carried
    it is the next one)."""
    # accounts
    account_registered: Term
    account_operator: Term
    account_attestor: Term
    account_trader: Term
    account_validator: Term
    account_nonce: Term
    account_balance: Term
    account_key: Term
    """The account's current key (keys are abstract integers, like account ids; KEY-05)."""
    account_key_valid: Term
    """ACC-02's or KEY-01's verdict on the current key when it was accepted (axiom KEY)."""
    key_holder: Term
    """ghost: the account that holds a key, as its id or as its current key, or NONE (INV-19);
    what spec.keys.key_in_use looks up."""
    # nodes
    node_registered: Term
    node_kind: Term
    node_parent: Term
    node_fee: Term
    node_zone: Term
    node_rank: Term
    """ghost: how many nodes were registered before this one (the root has rank 0)."""
    # meters
    meter_registered: Term
    meter_owner: Term
    meter_attestor: Term
    meter_node: Term
    meter_zone: Term
    meter_capacity: Term
    meter_encumbrance: Term
    meter_first_slot: Term
    meter_retired_from: Term
    """``NONE`` while in service (MTR-12)."""
    meter_change_from: Term
    """The scheduled encumbrance change's from_slot, ``NONE`` if none (MTR-13)."""
    meter_change_encumbrance: Term
    # readings, keyed (meter, slot)
    reading_exists: Term
    reading_exported: Term
    reading_imported: Term
    reading_encumbrance: Term
    reading_attested_at: Term
    """ghost: the ledger time at which the reading was accepted (INV-13)."""
    reading_corrections: Term
    # lots, keyed (meter, slot)
    lot_exists: Term
    lot_owner: Term
    lot_zone: Term
    lot_encumbrance: Term
    lot_minted: Term
    lot_unsold: Term
    lot_reserved: Term
    lot_sold: Term
    lot_expired: Term
    lot_open_ask_wh: Term
    """ghost: sum of the quantities of the lot's open asks (INV-03)."""
    lot_ask_fill_wh: Term
    """ghost: sum of the fills of the lot's asks (INV-03)."""
    lot_asks: Term
    """ghost: how many asks of any status name the lot (COR-03, INV-03)."""
    # demand, keyed (account, zone, slot)
    demand_imported: Term
    demand_claimed: Term
    demand_bid_fill_wh: Term
    """ghost: sum of the fills of the account's bids in the (zone, slot) market (INV-05)."""
    demand_reading_wh: Term
    """ghost: sum of the imported Wh of the readings of the account's meters in the (zone, slot)
    (INV-28), kept by ``write_reading_import``."""
    # orders, keyed by order id
    order_exists: Term
    order_side: Term
    order_owner: Term
    order_zone: Term
    order_slot: Term
    order_lot_meter: Term
    order_quantity: Term
    order_limit: Term
    order_fee: Term
    order_escrow: Term
    order_status: Term
    order_filled: Term
    # markets, keyed (zone, slot)
    market_exists: Term
    market_status: Term
    market_price: Term
    market_volume: Term
    market_ask_fill_wh: Term
    """ghost: sum of the fills of the market's asks (INV-09)."""
    market_bid_fill_wh: Term
    """ghost: sum of the fills of the market's bids (INV-09)."""
    # per slot
    slot_sold_wh: Term
    """ghost: sum of ask fills in the slot (INV-02)."""
    slot_bought_wh: Term
    """ghost: sum of bid fills in the slot (INV-02)."""
    slot_claimed_wh: Term
    """ghost: sum of demand claims in the slot (INV-02)."""
    # per (account, zone, slot): for ORD-03's has_open_order
    trader_open_asks: Term
    """ghost: number of the account's open asks in the (zone, slot) market."""
    trader_open_bids: Term
    """ghost: number of the account's open bids in the (zone, slot) market."""
    trader_open_bid_wh: Term
    """ghost: sum of the quantities of the account's open bids in the (zone, slot) market
    (BID-04)."""


_BOOL_FIELDS = {
    "account_registered",
    "account_operator",
    "account_attestor",
    "account_trader",
    "account_validator",
    "account_key_valid",
    "node_registered",
    "meter_registered",
    "reading_exists",
    "lot_exists",
    "order_exists",
    "market_exists",
}
SCALARS = (
    "attestation_window_s",
    "trading_close_s",
    "fee_account",
    "time",
    "next_order_id",
    "money_outstanding",
    "balance_total",
    "escrow_total",
    "node_count",
    "clock_horizon",
    "height",
    "validator_count",
    "pending_height",
    "pending_account",
    "pending_power",
    "pending_approvers",
    "pending_set_size",
    "pending_since",
)


def field_arity(name: str) -> int:
    """0 for a scalar, else the number of Int indices of the field's array."""
    if name in SCALARS:
        return 0
    return _TABLE_ARITY[name.split("_", 1)[0]]


def field_sort(name: str) -> z3.SortRef:
    """The Z3 sort of a field: a scalar Int, or an array from its key to Int or Bool. A key of
    two or three parts is an array of arrays (standard SMT-LIB arrays have one index, so the
    exported obligations stay readable by other solvers)."""
    sort: z3.SortRef = BOOL if name in _BOOL_FIELDS else INT
    for _ in range(field_arity(name)):
        sort = z3.ArraySort(INT, sort)
    return sort


def total(terms: list[Term] | tuple[Term, ...]) -> Term:
    """The sum of ``terms`` (0 for none; a single term as itself, since ``(+ x)`` with one
    argument is not standard SMT-LIB and other solvers reject it)."""
    if not terms:
        return z3.IntVal(0)
    if len(terms) == 1:
        return terms[0]
    return z3.Sum(*terms)


def constant_table(arity: int, value: Term) -> Term:
    """A table of ``arity`` key parts holding ``value`` everywhere (an empty table)."""
    term = value
    for _ in range(arity):
        term = z3.K(INT, term)
    return term


def table(keys: list[Term], body: Term) -> Term:
    """The table whose entry at ``keys`` is ``body`` (a nested lambda)."""
    term = body
    for k in reversed(keys):
        term = z3.Lambda([k], term)
    return term


def store(array: Term, key: tuple[Term, ...], value: Term) -> Term:
    """``array`` with the entry at ``key`` replaced (through every level of nesting)."""
    if len(key) == 1:
        return z3.Store(array, key[0], value)
    return z3.Store(array, key[0], store(z3.Select(array, key[0]), key[1:], value))


FIELD_NAMES = tuple(f.name for f in fields(Ledger))


def symbolic_ledger(prefix: str) -> Ledger:
    """A ledger whose every field is a fresh Z3 constant named ``prefix.field``."""
    return Ledger(**{n: z3.Const(f"{prefix}.{n}", field_sort(n)) for n in FIELD_NAMES})


def parameter_domain(s: Ledger) -> Term:
    """ChainParams' own constraint: 1 <= attestation window <= trading close <= TIME_MAX_S."""
    return z3.And(
        s.attestation_window_s >= 1,
        s.attestation_window_s <= s.trading_close_s,
        s.trading_close_s <= TIME_MAX_S,
        s.time >= 0,
        s.time <= TIME_MAX_S,
        s.fee_account >= 0,
    )


# --- Domains of transaction fields (the wire bounds, ENC-15) -----------------------------------


def wh(x: Term) -> Term:
    """0 <= x <= WH_MAX (units.Wh)."""
    return z3.And(x >= 0, x <= WH_MAX)


def price(x: Term) -> Term:
    """0 <= x <= PRICE_MAX_SEN_PER_KWH (units.PriceSenPerKwh)."""
    return z3.And(x >= 0, x <= PRICE_MAX_SEN_PER_KWH)


def money(x: Term) -> Term:
    """0 <= x <= MONEY_MAX_MSEN (units.MilliSen)."""
    return z3.And(x >= 0, x <= MONEY_MAX_MSEN)


def ident(x: Term) -> Term:
    """0 <= x <= ID_MAX (units.NodeId, MeterId)."""
    return z3.And(x >= 0, x <= ID_MAX)


def slot_id(x: Term) -> Term:
    """0 <= x <= TIME_MAX_S // SLOT_SECONDS (units.Slot)."""
    return z3.And(x >= 0, x <= TIME_MAX_S // SLOT_SECONDS)


def account_id(x: Term) -> Term:
    """Abstract account ids are non-negative integers."""
    return x >= 0


def counter(x: Term) -> Term:
    """0 <= x <= COUNTER_MAX (units.Nonce, OrderId)."""
    return z3.And(x >= 0, x <= COUNTER_MAX)


# --- Reading and writing ------------------------------------------------------------------------


def get(array: Term, *key: Term) -> Term:
    """``array[key]`` for a key of one, two or three parts."""
    for k in key:
        array = z3.Select(array, k)
    return array


def put(s: Ledger, name: str, key: tuple[Term, ...], value: Term) -> Ledger:
    """Store one field of one row of a table that no ghost total sums over."""
    assert name not in _SUMMED, f"{name} is summed: write it through its helper"
    return replace(s, **{name: store(getattr(s, name), key, value)})


def _bump(s: Ledger, name: str, key: tuple[Term, ...], delta: Term) -> Ledger:
    """Add ``delta`` to a ghost array entry, reading the entry as it is now."""
    array = getattr(s, name)
    return replace(s, **{name: store(array, key, get(array, *key) + delta)})


_SUMMED = {
    "account_balance",
    "account_validator",
    "demand_claimed",
    "reading_imported",
    *(n for n in FIELD_NAMES if n.startswith("order_")),
}


def write_balance(s: Ledger, account: Term, new: Term) -> Ledger:
    """Set one account's balance and keep ``balance_total`` its sum (SUM-UPDATE)."""
    old = get(s.account_balance, account)
    return replace(
        s,
        account_balance=store(s.account_balance, (account,), new),
        balance_total=s.balance_total - old + new,
    )


def write_validator(s: Ledger, account: Term, holds: Term) -> Ledger:
    """Give or take one account's VALIDATOR role and keep ``validator_count`` the number of
    validators (SUM-UPDATE over 0/1 terms)."""
    old = get(s.account_validator, account)
    return replace(
        s,
        account_validator=store(s.account_validator, (account,), holds),
        validator_count=s.validator_count - z3.If(old, 1, 0) + z3.If(holds, 1, 0),
    )


def write_demand(s: Ledger, key: tuple[Term, Term, Term], imported: Term, claimed: Term) -> Ledger:
    """Set one demand row and keep the per-slot claimed total (SUM-UPDATE)."""
    old = get(s.demand_claimed, *key)
    s = replace(
        s,
        demand_imported=store(s.demand_imported, key, imported),
        demand_claimed=store(s.demand_claimed, key, claimed),
    )
    return _bump(s, "slot_claimed_wh", (key[2],), claimed - old)


def write_reading_import(
    s: Ledger, key: tuple[Term, Term], owner: Term, zone: Term, imported: Term
) -> Ledger:
    """Set one reading's imported Wh and keep ``demand_reading_wh`` its owner's sum in the
    meter's zone and the slot (SUM-UPDATE; a reading that does not exist yet counts 0)."""
    old = z3.If(get(s.reading_exists, *key), get(s.reading_imported, *key), 0)
    s = replace(s, reading_imported=store(s.reading_imported, key, imported))
    return _bump(s, "demand_reading_wh", (owner, zone, key[1]), imported - old)


def encumbrance_at(s: Ledger, meter: Term, slot: Term) -> Term:
    """spec.meter_lifecycle.encumbrance_at (MTR-13)."""
    change = get(s.meter_change_from, meter)
    return z3.If(
        z3.And(change != NONE, slot >= change),
        get(s.meter_change_encumbrance, meter),
        get(s.meter_encumbrance, meter),
    )


def in_service(s: Ledger, meter: Term, slot: Term) -> Term:
    """spec.meter_lifecycle.in_service (MTR-11)."""
    retired = get(s.meter_retired_from, meter)
    return z3.And(slot >= get(s.meter_first_slot, meter), z3.Or(retired == NONE, slot < retired))


@dataclass(frozen=True)
class OrderRow:
    """One row of the orders table (spec.state.Order plus its existence flag)."""

    exists: Term
    side: Term
    owner: Term
    zone: Term
    slot: Term
    lot_meter: Term
    quantity: Term
    limit: Term
    fee: Term
    escrow: Term
    status: Term
    filled: Term


ORDER_FIELDS = tuple(f.name for f in fields(OrderRow))


def read_order(s: Ledger, order_id: Term) -> OrderRow:
    """The order row stored under ``order_id``."""
    return OrderRow(**{f: get(getattr(s, f"order_{f}"), order_id) for f in ORDER_FIELDS})


def _order_sums(s: Ledger, o: OrderRow, sign: int) -> Ledger:
    """Add (sign = 1) or remove (sign = -1) one order's share of every ghost total over orders."""
    is_ask = z3.And(o.exists, o.side == ASK)
    is_bid = z3.And(o.exists, o.side == BID)
    open_ask = z3.If(z3.And(is_ask, o.status == OPEN), o.quantity, 0)
    ask_fill = z3.If(is_ask, o.filled, 0)
    bid_fill = z3.If(is_bid, o.filled, 0)
    s = replace(s, escrow_total=s.escrow_total + sign * z3.If(o.exists, o.escrow, 0))
    s = _bump(s, "lot_open_ask_wh", (o.lot_meter, o.slot), sign * open_ask)
    s = _bump(s, "lot_ask_fill_wh", (o.lot_meter, o.slot), sign * ask_fill)
    s = _bump(s, "lot_asks", (o.lot_meter, o.slot), sign * z3.If(is_ask, 1, 0))
    s = _bump(s, "demand_bid_fill_wh", (o.owner, o.zone, o.slot), sign * bid_fill)
    s = _bump(s, "market_ask_fill_wh", (o.zone, o.slot), sign * ask_fill)
    s = _bump(s, "market_bid_fill_wh", (o.zone, o.slot), sign * bid_fill)
    s = _bump(s, "slot_sold_wh", (o.slot,), sign * ask_fill)
    s = _bump(s, "slot_bought_wh", (o.slot,), sign * bid_fill)
    market_key = (o.owner, o.zone, o.slot)
    s = _bump(
        s, "trader_open_asks", market_key, sign * z3.If(z3.And(is_ask, o.status == OPEN), 1, 0)
    )
    s = _bump(
        s,
        "trader_open_bid_wh",
        market_key,
        sign * z3.If(z3.And(is_bid, o.status == OPEN), o.quantity, 0),
    )
    return _bump(
        s, "trader_open_bids", market_key, sign * z3.If(z3.And(is_bid, o.status == OPEN), 1, 0)
    )


def write_order(s: Ledger, order_id: Term, new: OrderRow) -> Ledger:
    """Store an order row and move its share of every ghost total from the old row to the new."""
    s = _order_sums(s, read_order(s, order_id), -1)
    for f in ORDER_FIELDS:
        s = replace(
            s, **{f"order_{f}": z3.Store(getattr(s, f"order_{f}"), order_id, getattr(new, f))}
        )
    return _order_sums(s, new, +1)


# --- Transitions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """What a modelled transaction does: its checks in the spec's order, and the state after.

    ``guards`` are ``(rule id, condition)`` pairs; the transaction is accepted when all hold, and
    the first one that fails names the rejection (as ``spec.errors.require`` would). ``after`` is
    meaningful only when every guard holds; a rejected transaction leaves the state unchanged.
    """

    guards: tuple[tuple[str, Term], ...]
    after: Ledger

    @property
    def accepted(self) -> Term:
        return z3.And(*[g for _, g in self.guards]) if self.guards else z3.BoolVal(True)


class Checks:
    """Collects guards in order while a transition is built."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Term]] = []

    def require(self, condition: Term, rule_id: str) -> None:
        """spec.errors.require: the transition goes on only if ``condition`` holds."""
        self.items.append((rule_id, condition))

    def done(self, after: Ledger) -> Transition:
        return Transition(tuple(self.items), after)


def envelope(s: Ledger, sender: Term, nonce: Term, role: str | None, checks: Checks) -> None:
    """spec.transactions.execute, steps TX-03, TX-05 and TX-06 (TX-01 and TX-04 are assumed:
    axiom SIG, a valid signature on the right chain authenticates the sender)."""
    checks.require(get(s.account_registered, sender), "TX-03")
    checks.require(
        z3.And(nonce == get(s.account_nonce, sender), get(s.account_nonce, sender) < COUNTER_MAX),
        "TX-05",
    )
    if role is not None:
        checks.require(get(getattr(s, f"account_{role}"), sender), "TX-06")


def signed(s: Ledger, sender: Term, nonce: Term, role: str | None) -> Checks:
    """The checks of a signed transaction, its envelope first: every transition module starts
    so, as spec.transactions.execute checks the envelope before the kind's own function runs."""
    checks = Checks()
    envelope(s, sender, nonce, role, checks)
    return checks


def advance_nonce(s: Ledger, sender: Term) -> Ledger:
    """TX-07: the nonce moves last, from the account as the transition left it."""
    return put(s, "account_nonce", (sender,), get(s.account_nonce, sender) + 1)


# --- Obligations --------------------------------------------------------------------------------


@dataclass
class Obligation:
    """``hypotheses => goal``, with what an auditor needs to read a counterexample."""

    name: str
    rule_ids: tuple[str, ...]
    hypotheses: list[Term]
    goal: Term
    scope: str = "unbounded"
    """``unbounded``, or ``bounded: ...`` saying the bound."""
    show: dict[str, Any] = field(default_factory=dict)
    """Named terms to evaluate in a counterexample or witness (pre-state, transaction, post)."""
    about: tuple[str, ...] = ()
    """The rules whose property the goal states (empty: every rule of ``rule_ids``). The other
    ids of ``rule_ids`` are only cited: guards of the transition assumed in the hypotheses, or
    rules a lemma supports."""

    @property
    def goal_rules(self) -> tuple[str, ...]:
        return self.about or self.rule_ids
