"""A failed obligation's counterexample as a conformance vector anyone can replay.

``proofs.concrete`` turns spec states into model values; this module goes the other way. From
the Z3 model of ``hypotheses and not goal`` it reads the pre-state at the obligation's keys (and
at the keys those rows point to: a lot's meter, a meter's node, a node's parent and zone) and the
transaction's fields, and builds:

* a spec ``State`` holding exactly those rows (model account ids become the deterministic test
  keys ``key_of("account-<id>")``, so the transaction can be really signed);
* the transaction, encoded and signed by its sender's test key, on the state's chain.

The spec then runs the transaction on that state, and the vector records what the spec computes
(the correct behaviour, never the model's). The same concrete state and transaction go back
through the model (``proofs.concrete.encode``) twice: without the seeded bug the model must agree
with the spec (the counterexample is replayed through the code before it is shown), and with it
the model must not (the vector shows the planted divergence, which any implementation with the
same slip would show too).

A counterexample is not always concrete enough. The model leaves some things uninterpreted
(ACC-02's point check on a key, MTR-06's search of a service point, signatures), and a pointwise
pre-state need only satisfy the invariant at the obligation's keys: it may hold rows that break a
pre-state rule (PRE-01 .. PRE-09) or an invariant once it stands alone. Such a case is reported in
one line, with the reason, instead of a vector. Before giving up, the solver is asked once more
with the pre-state closed (its totals equal the sums of the rows the vector will hold), which
turns most counterexamples into loadable, invariant-satisfying states.

Only obligations about one transaction become vectors. Auction obligations are about the
auction's encoding on a book of orders, not about a ledger state; clearing obligations would need
the pre-state closed at a whole market's book, which was tried and is too heavy for the solver
(18 s and more per round); clock obligations have no concrete input. Each is reported in one line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import z3

from conformance_tests.adapter import Step
from conformance_tests.runner import judge_in_process
from conformance_tests.scenario import CHAIN_ID, key_of, seed_of
from conformance_tests.spec_adapter import SpecImplementation, apply_step, load_state, state_bytes
from conformance_tests.suite import GenerationError, Suite
from conformance_tests.vector import Vector
from proofs import concrete, obligations
from proofs import mutants as mutant_catalogue
from proofs.invariants import all_state_invariants
from proofs.model import (
    ASK,
    BID,
    NONE,
    OPEN,
    Ledger,
    Obligation,
    Term,
    Transition,
    field_arity,
    get,
    read_order,
    total,
)
from proofs.transitions import attest
from proofs.transitions._common import Points
from spec.crypto import HASH_BYTES, is_valid_public_key
from spec.errors import Rejected
from spec.fmap import FrozenMap
from spec.invariants import check_state
from spec.state import (
    Account,
    ChainParams,
    Demand,
    Encumbrance,
    GridNode,
    Lot,
    Market,
    MarketStatus,
    Meter,
    NodeKind,
    Order,
    OrderStatus,
    Reading,
    Role,
    Side,
    Source,
    State,
)
from spec.transactions import Kind, make_transaction
from spec.units import (
    COUNTER_MAX,
    ID_MAX,
    MONEY_MAX_MSEN,
    PRICE_MAX_SEN_PER_KWH,
    SLOT_SECONDS,
    TIME_MAX_S,
    WH_MAX,
    Height,
    MeterId,
    MilliSen,
    NodeId,
    Nonce,
    OrderId,
    PriceSenPerKwh,
    Slot,
    Timestamp,
    Wh,
)

SEEDS: Final = 4
"""How many first counterexamples (Z3 random seeds) are tried before a case is not concrete."""
CLOSING_ROUNDS: Final = 6
"""How many times the solver is asked again with the pre-state closed at the keys seen so far."""

KINDS: Final = {module.KIND: module for module in obligations.TX_KINDS}
"""The transaction kinds whose counterexamples can become vectors, by obligation prefix."""

WIRE_KIND: Final = {
    "register_account": Kind.REGISTER_ACCOUNT,
    "register_node": Kind.REGISTER_NODE,
    "register_meter": Kind.REGISTER_METER,
    "attest": Kind.ATTEST,
    "place_ask": Kind.PLACE_ASK,
    "place_bid": Kind.PLACE_BID,
    "cancel": Kind.CANCEL,
    "deposit": Kind.DEPOSIT,
    "withdraw": Kind.WITHDRAW,
    "transfer": Kind.TRANSFER,
}


def account_name(account: int) -> str:
    """The test key standing for model account ``account``."""
    return f"account-{account}"


class NotConcrete(Exception):
    """Why a counterexample cannot be a vector (one line)."""


# --- Reading the model ------------------------------------------------------------------------


@dataclass
class Reader:
    """Values of one Z3 model, read from the pre-state at concrete keys."""

    model: z3.ModelRef
    pre: Ledger

    def value(self, term: Term) -> Any:
        """The model's value of ``term``, as a Python int or bool."""
        try:
            return concrete.value(self.model.eval(term, model_completion=True))
        except ValueError:
            raise NotConcrete(f"the model leaves {term} without a value") from None

    def row(self, prefix: str, *key: int) -> dict[str, Any]:
        """Every field ``<prefix>_<column>`` of the pre-state at ``key``, by column."""
        out = {}
        for f in fields(Ledger):
            table, _, column = f.name.partition("_")
            if table == prefix and field_arity(f.name) == len(key):
                index = [z3.IntVal(k) for k in key]
                out[column] = self.value(get(getattr(self.pre, f.name), *index))
        return out


@dataclass
class Keys:
    """The concrete keys of every table the vector's pre-state may hold."""

    accounts: set[int] = field(default_factory=set)
    nodes: set[int] = field(default_factory=set)
    meters: set[int] = field(default_factory=set)
    lots: set[tuple[int, int]] = field(default_factory=set)
    demands: set[tuple[int, int, int]] = field(default_factory=set)
    orders: set[int] = field(default_factory=set)
    markets: set[tuple[int, int]] = field(default_factory=set)

    def union(self, other: Keys) -> Keys:
        return Keys(*(getattr(self, f.name) | getattr(other, f.name) for f in fields(Keys)))


def _keys(read: Reader, points: Points, tx: dict[str, int]) -> Keys:
    """The points' keys, the transaction's, and what their rows point to (to a fixed point)."""
    keys = Keys()
    keys.accounts |= {read.value(a) for a in points.accounts}
    keys.accounts.add(read.value(read.pre.fee_account))
    keys.nodes |= {read.value(n) for n in points.nodes}
    keys.meters |= {read.value(m) for m in points.meters}
    keys.lots |= {(read.value(m), read.value(s)) for m, s in points.readings}
    keys.demands |= {tuple(read.value(k) for k in d) for d in points.demands}
    keys.orders |= {read.value(o) for o in points.orders}
    keys.markets |= {(read.value(z), read.value(s)) for z, s in points.markets}
    for name in ("sender", "to", "account", "owner", "attestor"):
        if type(tx.get(f"tx.{name}")) is int:  # not REGISTER_ACCOUNT's role flags
            keys.accounts.add(tx[f"tx.{name}"])
    for name in ("node", "zone", "parent"):
        if f"tx.{name}" in tx:
            keys.nodes.add(tx[f"tx.{name}"])
    if "tx.meter" in tx:
        keys.meters.add(tx["tx.meter"])
        if "tx.slot" in tx:
            keys.lots.add((tx["tx.meter"], tx["tx.slot"]))
    if "tx.order" in tx:
        keys.orders.add(tx["tx.order"])
    index = 0
    while f"tx.readings[{index}].meter" in tx:
        meter, slot = tx[f"tx.readings[{index}].meter"], tx[f"tx.readings[{index}].slot"]
        keys.meters.add(meter)
        keys.lots.add((meter, slot))
        index += 1
    for _ in range(8):  # rows point to rows; a handful of rounds reaches the fixed point
        before = (len(keys.nodes), len(keys.meters), len(keys.accounts), len(keys.lots))
        for order_id in list(keys.orders):
            o = read.row("order", order_id)
            if o["exists"]:
                keys.accounts.add(o["owner"])
                keys.markets.add((o["zone"], o["slot"]))
                keys.nodes.add(o["zone"])
                if o["side"] == 0:
                    keys.lots.add((o["lot_meter"], o["slot"]))
                else:
                    keys.demands.add((o["owner"], o["zone"], o["slot"]))
        for meter, slot in list(keys.lots):
            keys.meters.add(meter)
            if read.value(get(read.pre.lot_exists, z3.IntVal(meter), z3.IntVal(slot))):
                keys.accounts.add(read.value(get(read.pre.lot_owner, meter, slot)))
            m = read.row("meter", meter)
            if m["registered"]:  # a reading's import is its owner's demand (INV-28)
                keys.demands.add((m["owner"], m["zone"], slot))
        for meter in list(keys.meters):
            m = read.row("meter", meter)
            if m["registered"]:
                keys.accounts |= {m["owner"], m["attestor"]}
                keys.nodes |= {m["node"], m["zone"]}
        for node in list(keys.nodes):
            n = read.row("node", node)
            if n["registered"]:
                keys.nodes |= {n["zone"]} | ({n["parent"]} if n["parent"] != NONE else set())
        for zone, _slot in keys.markets:
            keys.nodes.add(zone)
        keys.accounts |= {owner for owner, _zone, _slot in keys.demands}
        if before == (len(keys.nodes), len(keys.meters), len(keys.accounts), len(keys.lots)):
            break
    return keys


# --- Building the spec's pre-state --------------------------------------------------------------


def _key(account: int) -> bytes:
    if account < 0:
        raise NotConcrete(f"account id {account} is negative")
    return key_of(account_name(account))


def _state(read: Reader, keys: Keys) -> State:
    """The spec state holding exactly the rows at ``keys`` that exist in the model's pre-state."""
    s = read.pre
    accounts = {}
    for a in sorted(keys.accounts):
        row = read.row("account", a)
        if a >= 0 and row["registered"]:
            roles = (
                Role.OPERATOR * row["operator"]
                + Role.ATTESTOR * row["attestor"]
                + Role.TRADER * row["trader"]
            )
            if row["key"] != a:
                # A rotated key would need the seed behind an arbitrary model id (KEY-05).
                raise NotConcrete(f"account {a} signs with a rotated key")
            balance = MilliSen(row["balance"])
            accounts[_key(a)] = Account(int(roles), Nonce(row["nonce"]), balance, _key(a))
    nodes = {}
    for n in sorted(keys.nodes):
        row = read.row("node", n)
        if row["registered"]:
            parent = None if row["parent"] == NONE else NodeId(row["parent"])
            nodes[NodeId(n)] = GridNode(
                NodeKind(row["kind"]), parent, PriceSenPerKwh(row["fee"]), NodeId(row["zone"])
            )
    meters = {}
    for m in sorted(keys.meters):
        row = read.row("meter", m)
        if row["registered"]:
            meters[MeterId(m)] = Meter(
                _key(row["owner"]),
                _key(row["attestor"]),
                NodeId(row["node"]),
                NodeId(row["zone"]),
                Source.SOLAR,  # not modelled: every meter of a vector measures solar export
                Wh(row["capacity"]),
                Encumbrance(row["encumbrance"]),
            )
    readings, lots = {}, {}
    for meter, slot in sorted(keys.lots):
        key = (MeterId(meter), Slot(slot))
        row = read.row("reading", meter, slot)
        if row["exists"]:
            readings[key] = Reading(
                Wh(row["exported"]), Wh(row["imported"]), Encumbrance(row["encumbrance"])
            )
        row = read.row("lot", meter, slot)
        if row["exists"]:
            where = meters.get(MeterId(meter))
            node = where.node if where is not None else NodeId(0)
            lots[key] = Lot(
                _key(row["owner"]),
                NodeId(row["zone"]),
                node,
                Source.SOLAR,
                Encumbrance(row["encumbrance"]),
                *(Wh(row[n]) for n in ("minted", "unsold", "reserved", "sold", "expired")),
            )
    demand = {}
    for owner, zone, slot in sorted(keys.demands):
        row = read.row("demand", owner, zone, slot)
        if owner >= 0 and (row["imported"] or row["claimed"]):
            key3 = (_key(owner), NodeId(zone), Slot(slot))
            demand[key3] = Demand(Wh(row["imported"]), Wh(row["claimed"]))
    orders = {}
    for order_id in sorted(keys.orders):
        row = read.row("order", order_id)
        if row["exists"]:
            side = Side(row["side"])
            orders[OrderId(order_id)] = Order(
                side,
                _key(row["owner"]),
                NodeId(row["zone"]),
                Slot(row["slot"]),
                MeterId(row["lot_meter"]) if side is Side.ASK else None,
                Wh(row["quantity"]),
                PriceSenPerKwh(row["limit"]),
                PriceSenPerKwh(row["fee"]),
                MilliSen(row["escrow"]),
                OrderStatus(row["status"]),
                Wh(row["filled"]),
            )
    markets = {}
    for zone, slot in sorted(keys.markets):
        row = read.row("market", zone, slot)
        if row["exists"]:
            price = None if row["price"] == NONE else PriceSenPerKwh(row["price"])
            markets[(NodeId(zone), Slot(slot))] = Market(
                MarketStatus(row["status"]), price, Wh(row["volume"])
            )
    params = ChainParams(
        CHAIN_ID,
        read.value(s.attestation_window_s),
        read.value(s.trading_close_s),
        _key(read.value(s.fee_account)),
    )
    return State(
        params=params,
        time=Timestamp(read.value(s.time)),
        height=Height(1),
        tip_hash=bytes(HASH_BYTES),
        next_order_id=OrderId(read.value(s.next_order_id)),
        money_outstanding=MilliSen(read.value(s.money_outstanding)),
        accounts=FrozenMap(accounts),
        nodes=FrozenMap(nodes),
        meters=FrozenMap(meters),
        readings=FrozenMap(readings),
        lots=FrozenMap(lots),
        demand=FrozenMap(demand),
        orders=FrozenMap(orders),
        markets=FrozenMap(markets),
    )


# --- The transaction ----------------------------------------------------------------------------


def _roles(tx: dict[str, Any]) -> int:
    """The role bits a REGISTER_ACCOUNT body carries for the model's flags (ACC-03: an empty or
    unknown set is what ``roles_valid`` false stands for)."""
    bits = (
        Role.OPERATOR * tx["tx.operator"]
        + Role.ATTESTOR * tx["tx.attestor"]
        + Role.VALIDATOR * tx["tx.validator"]
        + Role.TRADER * tx["tx.trader"]
    )
    if tx["tx.roles_valid"]:
        if not bits:
            raise NotConcrete("ACC-03 valid roles with no role bit set")
        return int(bits)
    return int(bits) | 16 if bits else 0


def body_of(kind: str, tx: dict[str, Any]) -> dict[int, Any]:
    """The wire body (spec.transactions) of a model transaction with concrete fields."""
    if kind == "register_account":
        if not tx["tx.key_valid"]:
            raise NotConcrete("ACC-02's verdict on the key is uninterpreted (axiom KEY)")
        return {0: _key(tx["tx.account"]), 1: _roles(tx)}
    if kind == "register_node":
        parent = None if tx["tx.parent"] == NONE else tx["tx.parent"]
        return {0: tx["tx.node"], 1: tx["tx.kind"], 2: parent, 3: tx["tx.wheeling_fee"]}
    if kind == "register_meter":
        raise NotConcrete("MTR-06's search of the service point is uninterpreted (axiom POINT)")
    if kind == "attest":
        batch = []
        index = 0
        while f"tx.readings[{index}].meter" in tx:
            r = {n: tx[f"tx.readings[{index}].{n}"] for n in ("meter", "slot", "exported_wh")}
            r["imported_wh"] = tx[f"tx.readings[{index}].imported_wh"]
            r["encumbrance"] = tx[f"tx.readings[{index}].encumbrance"]
            batch.append(dict(enumerate(r.values())))
            index += 1
        return {0: batch}
    if kind == "place_ask":
        return {0: tx["tx.meter"], 1: tx["tx.slot"], 2: tx["tx.quantity_wh"], 3: tx["tx.min_price"]}
    if kind == "place_bid":
        return {0: tx["tx.zone"], 1: tx["tx.slot"], 2: tx["tx.quantity_wh"], 3: tx["tx.max_price"]}
    if kind == "cancel":
        return {0: tx["tx.order"]}
    if kind == "deposit":
        return {0: _key(tx["tx.account"]), 1: tx["tx.amount"]}
    if kind == "withdraw":
        return {0: tx["tx.amount"]}
    if kind == "transfer":
        return {0: _key(tx["tx.to"]), 1: tx["tx.amount"]}
    raise NotConcrete(f"no wire form for {kind}")


def signed_transaction(kind: str, tx: dict[str, Any], chain_id: str) -> bytes:
    """The transaction, signed by its sender's test key with the model's nonce."""
    sender = tx["tx.sender"]
    if sender < 0:
        raise NotConcrete(f"sender {sender} is not an account id")
    return make_transaction(
        seed_of(account_name(sender)), chain_id, WIRE_KIND[kind], tx["tx.nonce"], body_of(kind, tx)
    )


def model_tx(module: ModuleType, tx: dict[str, Any]) -> Any:
    """The module's ``Tx`` with concrete fields (uninterpreted verdicts computed concretely)."""

    def literal(name: str, value: Any) -> Term:
        return z3.BoolVal(value) if isinstance(value, bool) else z3.IntVal(value)

    values: dict[str, Any] = {}
    for f in fields(module.Tx):
        if f.name == "readings":
            readings = []
            index = 0
            while f"tx.readings[{index}].meter" in tx:
                prefix = f"tx.readings[{index}]."
                readings.append(
                    attest.MeterReading(
                        **{
                            r.name: literal(r.name, tx[prefix + r.name])
                            for r in fields(attest.MeterReading)
                        }
                    )
                )
                index += 1
            values["readings"] = tuple(readings)
        elif f.name == "key_valid":
            values[f.name] = z3.BoolVal(is_valid_public_key(_key(tx["tx.account"])))
        else:
            values[f.name] = literal(f.name, tx[f"tx.{f.name}"])
    return module.Tx(**values)


# --- Replaying ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """What one implementation of the rules does with the vector's transaction."""

    accepted: bool
    rule: str | None

    def __str__(self) -> str:
        return "accepted" if self.accepted else f"rejected {self.rule}"


def model_verdict(transition: Transition) -> Verdict:
    """The first guard that fails on concrete values, or acceptance."""
    for rule_id, guard in transition.guards:
        if not concrete.value(guard):
            return Verdict(False, rule_id)
    return Verdict(True, None)


def account_ids(accounts: Iterable[int]) -> concrete.AccountIds:
    """The numbering that gives every test key back its model id."""
    return concrete.AccountIds({_key(a): a for a in sorted(accounts) if a >= 0})


_UNOBSERVED: Final = {"node_rank", "reading_attested_at", "pending_approvers"}
"""Ghosts of the proofs only: the spec's state does not hold them."""


def _default(name: str) -> Any:
    if concrete._is_bool(name):
        return False
    return NONE if name in ("market_price", "key_holder") else 0


def differences(
    model_after: Ledger, spec_before: State, spec_after: State, ids: concrete.AccountIds
) -> list[str]:
    """Every field of every row either spec state holds, and every ghost total, on which the
    model's post-state differs from the spec's (``[]``: the same state)."""
    found = []
    want = concrete.scalars(spec_after, ids)
    for name, value in want.items():
        if name in _UNOBSERVED:
            continue
        got = concrete.read(model_after, name, ())
        if got != value:
            found.append(f"{name}: model {got}, spec {value}")
    before, after = concrete.tables(spec_before, ids), concrete.tables(spec_after, ids)
    for f in fields(Ledger):
        name = f.name
        if field_arity(name) == 0 or name in _UNOBSERVED:
            continue
        for key in sorted(set(before.get(name, {})) | set(after.get(name, {}))):
            expected = after.get(name, {}).get(key, _default(name))
            got = concrete.read(model_after, name, key)
            if concrete._is_bool(name):
                got, expected = bool(got), bool(expected)
            if got != expected:
                found.append(f"{name}{list(key)}: model {got}, spec {expected}")
    return found


# --- Closing the pre-state ---------------------------------------------------------------------


_RANGES: Final[dict[str, tuple[int, int]]] = {
    "account_nonce": (0, COUNTER_MAX),
    "account_balance": (0, MONEY_MAX_MSEN),
    "node_kind": (0, 2),
    "node_parent": (NONE, ID_MAX),
    "node_fee": (0, PRICE_MAX_SEN_PER_KWH),
    "node_zone": (0, ID_MAX),
    "meter_owner": (0, COUNTER_MAX),
    "meter_attestor": (0, COUNTER_MAX),
    "meter_node": (0, ID_MAX),
    "meter_zone": (0, ID_MAX),
    "meter_capacity": (0, WH_MAX),
    "meter_encumbrance": (0, 3),
    "reading_exported": (0, WH_MAX),
    "reading_imported": (0, WH_MAX),
    "reading_encumbrance": (0, 3),
    "lot_owner": (0, COUNTER_MAX),
    "lot_zone": (0, ID_MAX),
    "lot_encumbrance": (0, 3),
    **{f"lot_{n}": (0, WH_MAX) for n in ("minted", "unsold", "reserved", "sold", "expired")},
    "demand_imported": (0, WH_MAX),
    "demand_claimed": (0, WH_MAX),
    "order_side": (0, 1),
    "order_owner": (0, COUNTER_MAX),
    "order_zone": (0, ID_MAX),
    "order_slot": (0, TIME_MAX_S // SLOT_SECONDS),
    "order_lot_meter": (NONE, ID_MAX),
    "order_quantity": (0, WH_MAX),
    "order_limit": (0, PRICE_MAX_SEN_PER_KWH),
    "order_fee": (0, PRICE_MAX_SEN_PER_KWH),
    "order_escrow": (0, MONEY_MAX_MSEN),
    "order_status": (0, 4),
    "order_filled": (0, WH_MAX),
    "market_status": (0, 1),
    "market_price": (NONE, PRICE_MAX_SEN_PER_KWH),
    "market_volume": (0, WH_MAX),
}
"""The range of every field a vector's state carries (its unit's bounds, ``spec/units.py``)."""

_EXISTS: Final = {
    "account": "account_registered",
    "node": "node_registered",
    "meter": "meter_registered",
    "reading": "reading_exists",
    "lot": "lot_exists",
    "order": "order_exists",
    "market": "market_exists",
}


def _valid(keys: Keys) -> Keys:
    """The keys that can stand in a state at all (ids and slots within their bounds)."""
    slot_max = TIME_MAX_S // SLOT_SECONDS

    def ok(value: int, top: int = ID_MAX) -> bool:
        return 0 <= value <= top

    return Keys(
        {a for a in keys.accounts if ok(a, COUNTER_MAX)},
        {n for n in keys.nodes if ok(n)},
        {m for m in keys.meters if ok(m)},
        {(m, s) for m, s in keys.lots if ok(m) and ok(s, slot_max)},
        {(a, z, s) for a, z, s in keys.demands if ok(a, COUNTER_MAX) and ok(z) and ok(s, slot_max)},
        {o for o in keys.orders if ok(o, COUNTER_MAX)},
        {(z, s) for z, s in keys.markets if ok(z) and ok(s, slot_max)},
    )


def _points(keys: Keys) -> Points:
    """``keys`` as points of the invariants (the slots of every keyed row as slots)."""
    iv = z3.IntVal
    slots = {s for _, s in keys.lots} | {s for *_, s in keys.demands} | {s for _, s in keys.markets}
    return Points(
        accounts=[iv(a) for a in sorted(keys.accounts)],
        nodes=[iv(n) for n in sorted(keys.nodes)],
        meters=[iv(m) for m in sorted(keys.meters)],
        readings=[(iv(m), iv(s)) for m, s in sorted(keys.lots)],
        demands=[(iv(a), iv(z), iv(s)) for a, z, s in sorted(keys.demands)],
        orders=[iv(o) for o in sorted(keys.orders)],
        markets=[(iv(z), iv(s)) for z, s in sorted(keys.markets)],
        slots=[iv(s) for s in sorted(slots)],
    )


def _within(p: Points, keys: Keys) -> list[Term]:
    """Every key of the obligation's points is one of ``keys``, or no key a row can have (a
    bid's lot, whose meter is NONE)."""
    ids, slots, accounts = (0, ID_MAX), (0, TIME_MAX_S // SLOT_SECONDS), (0, COUNTER_MAX)
    domains = {
        "accounts": (accounts,),
        "nodes": (ids,),
        "meters": (ids,),
        "orders": (accounts,),
        "lots": (ids, slots),
        "demands": (accounts, ids, slots),
        "markets": (ids, slots),
    }

    def among(term: Any, options: Iterable[Any], domain: tuple[tuple[int, int], ...]) -> Term:
        parts = term if isinstance(term, tuple) else (term,)
        valid = z3.And(
            *[z3.And(t >= low, t <= high) for t, (low, high) in zip(parts, domain, strict=True)]
        )
        rows = [z3.And(*[t == v for t, v in zip(parts, o, strict=True)]) for o in options]
        return z3.Or(z3.Not(valid), *rows)

    facts = []
    for points_name, keys_name in (
        ("accounts", "accounts"),
        ("nodes", "nodes"),
        ("meters", "meters"),
        ("orders", "orders"),
        ("readings", "lots"),
        ("demands", "demands"),
        ("markets", "markets"),
    ):
        options = [o if isinstance(o, tuple) else (o,) for o in sorted(getattr(keys, keys_name))]
        if options:
            domain = domains[keys_name]
            facts += [among(t, options, domain) for t in getattr(p, points_name)]
    return facts


def _tx_within(s: Ledger, tx: dict[str, Term], keys: Keys) -> list[Term]:
    """The fee account and the transaction's accounts, nodes, meters and orders are among
    ``keys`` (where the keys hold any of that table)."""
    tables = {
        "accounts": (".sender", ".to", ".account", ".owner", ".attestor"),
        "nodes": (".node", ".zone", ".parent"),
        "meters": (".meter",),
        "orders": (".order",),
    }
    facts = [_one_of(s.fee_account, keys.accounts)]
    for table, suffixes in tables.items():
        options = getattr(keys, table)
        for name, term in tx.items():
            if name.endswith(suffixes) and options and z3.is_int(term):
                allowed = options | {NONE} if name.endswith(".parent") else options
                facts.append(_one_of(term, allowed))
    return facts


def _one_of(term: Term, options: Iterable[int]) -> Term:
    return z3.Or(*[term == v for v in sorted(options)], z3.BoolVal(False))


def _pair_of(first: Term, second: Term, options: Iterable[tuple[int, int]]) -> Term:
    return z3.Or(*[z3.And(first == a, second == b) for a, b in sorted(options)], z3.BoolVal(False))


def _pre_rules(s: Ledger, keys: Keys, orders: list[Any]) -> list[Term]:
    """PRE-01 .. PRE-09 at ``keys`` (spec/prestate.py): what a vector's pre-state must satisfy to
    be loaded, which the model's invariants need not say."""
    iv = z3.IntVal
    facts = []
    for m in sorted(keys.meters):
        owner, attestor = get(s.meter_owner, iv(m)), get(s.meter_attestor, iv(m))
        node = get(s.meter_node, iv(m))
        facts.append(
            z3.Implies(
                get(s.meter_registered, iv(m)),
                z3.And(
                    get(s.account_registered, owner),
                    get(s.account_registered, attestor),
                    get(s.node_registered, node),
                    get(s.node_zone, node) == get(s.meter_zone, iv(m)),
                ),
            )
        )
    for m, sl in sorted(keys.lots):
        at = (iv(m), iv(sl))
        facts.append(z3.Implies(get(s.reading_exists, *at), get(s.meter_registered, iv(m))))
        facts.append(
            z3.Implies(
                get(s.lot_exists, *at),
                z3.And(
                    get(s.reading_exists, *at),
                    get(s.lot_owner, *at) == get(s.meter_owner, iv(m)),
                    get(s.lot_zone, *at) == get(s.meter_zone, iv(m)),
                    get(s.lot_encumbrance, *at) == get(s.reading_encumbrance, *at),
                ),
            )
        )
    for o, order_id in zip(orders, sorted(keys.orders), strict=True):
        lot = (o.lot_meter, o.slot)
        facts.append(
            z3.Implies(
                o.exists,
                z3.And(
                    get(s.account_registered, o.owner),
                    order_id < s.next_order_id,
                    z3.If(
                        o.side == ASK,
                        z3.And(
                            get(s.lot_exists, *lot),
                            get(s.lot_owner, *lot) == o.owner,
                            get(s.lot_zone, *lot) == o.zone,
                        ),
                        o.lot_meter == NONE,
                    ),
                ),
            )
        )
    for a, z, sl in sorted(keys.demands):
        at3 = (iv(a), iv(z), iv(sl))
        some = z3.Or(get(s.demand_imported, *at3) != 0, get(s.demand_claimed, *at3) != 0)
        facts.append(z3.Implies(some, get(s.account_registered, iv(a))))
        facts.append(z3.Implies(some, _unsettled(s, iv(sl))))
        # INV-28 standing alone: the demand is the import of the readings the vector holds.
        held = [
            z3.If(
                z3.And(
                    get(s.reading_exists, iv(m), iv(sl)),
                    get(s.meter_owner, iv(m)) == iv(a),
                    get(s.meter_zone, iv(m)) == iv(z),
                ),
                get(s.reading_imported, iv(m), iv(sl)),
                0,
            )
            for m, r_slot in sorted(keys.lots)
            if r_slot == sl
        ]
        total = z3.Sum(held) if held else z3.IntVal(0)
        facts.append(get(s.demand_imported, *at3) == total)
        facts.append(get(s.demand_reading_wh, *at3) == total)
    # PRE-10: no row of a slot whose trading closed at or before the state's time.
    for m, sl in sorted(keys.lots):
        at = (iv(m), iv(sl))
        held = z3.Or(get(s.reading_exists, *at), get(s.lot_exists, *at))
        facts.append(z3.Implies(held, _unsettled(s, iv(sl))))
    for o in orders:
        facts.append(z3.Implies(o.exists, _unsettled(s, o.slot)))
    for z, sl in sorted(keys.markets):
        facts.append(z3.Implies(get(s.market_exists, iv(z), iv(sl)), _unsettled(s, iv(sl))))
    return facts


def _unsettled(s: Ledger, slot: Term) -> Term:
    """PRE-10: the slot's trading close lies after the state's time."""
    return (slot + 1) * SLOT_SECONDS + s.trading_close_s > s.time


def _references_closed(s: Ledger, keys: Keys, orders: list[Any]) -> list[Term]:
    """Every row at ``keys`` that exists points only to rows at ``keys``: a meter to its owner,
    attestor, node and zone; a node to its parent and zone; a lot to its owner and zone; an
    order to its owner, zone, market and (an ask) its lot."""
    iv = z3.IntVal
    facts = []
    for m in sorted(keys.meters):
        row = {
            c: get(getattr(s, f"meter_{c}"), iv(m)) for c in ("owner", "attestor", "node", "zone")
        }
        facts.append(
            z3.Implies(
                get(s.meter_registered, iv(m)),
                z3.And(
                    _one_of(row["owner"], keys.accounts),
                    _one_of(row["attestor"], keys.accounts),
                    _one_of(row["node"], keys.nodes),
                    _one_of(row["zone"], keys.nodes),
                ),
            )
        )
    for n in sorted(keys.nodes):
        parent, zone = get(s.node_parent, iv(n)), get(s.node_zone, iv(n))
        facts.append(
            z3.Implies(
                get(s.node_registered, iv(n)),
                z3.And(_one_of(parent, keys.nodes | {NONE}), _one_of(zone, keys.nodes)),
            )
        )
    for m, sl in sorted(keys.lots):
        at = (iv(m), iv(sl))
        facts.append(
            z3.Implies(
                get(s.lot_exists, *at),
                z3.And(
                    _one_of(get(s.lot_owner, *at), keys.accounts),
                    _one_of(get(s.lot_zone, *at), keys.nodes),
                ),
            )
        )
    for o in orders:
        facts.append(
            z3.Implies(
                o.exists,
                z3.And(
                    _one_of(o.owner, keys.accounts),
                    _one_of(o.zone, keys.nodes),
                    _pair_of(o.zone, o.slot, keys.markets),
                    z3.Implies(o.side == ASK, _pair_of(o.lot_meter, o.slot, keys.lots)),
                ),
            )
        )
    return facts


def closing(s: Ledger, keys: Keys) -> list[Term]:
    """Constraints under which the rows at ``keys`` are the whole pre-state: the invariant holds
    at each of them, every field is within its unit's bounds, and every ghost total is the sum of
    those rows (so the state a vector carries, which holds only them, is the model's state)."""
    iv = z3.IntVal
    facts = [all_state_invariants(s, _points(keys))]
    table_keys: dict[str, list[tuple[int, ...]]] = {
        "account": [(a,) for a in keys.accounts],
        "node": [(n,) for n in keys.nodes],
        "meter": [(m,) for m in keys.meters],
        "reading": sorted(keys.lots),
        "lot": sorted(keys.lots),
        "demand": sorted(keys.demands),
        "order": [(o,) for o in keys.orders],
        "market": sorted(keys.markets),
    }
    for name, (low, high) in _RANGES.items():
        table = name.split("_", 1)[0]
        for key in table_keys[table]:
            at = [iv(k) for k in key]
            value = get(getattr(s, name), *at)
            exists = get(getattr(s, _EXISTS[table]), *at) if table in _EXISTS else True
            facts.append(z3.Implies(exists, z3.And(value >= low, value <= high)))
    orders = [read_order(s, iv(o)) for o in sorted(keys.orders)]
    accounts = [iv(a) for a in sorted(keys.accounts)]
    facts += _references_closed(s, keys, orders)
    facts += _pre_rules(s, keys, orders)
    # Test keys sign the transaction, and the seed behind a model key id exists only for an id's
    # own key: every account of the vector holds the key it registered with (none rotated).
    facts += [
        z3.Implies(get(s.account_registered, iv(a)), get(s.account_key, iv(a)) == iv(a))
        for a in sorted(keys.accounts)
    ]

    def open_(o: Any, side: int) -> Term:
        return z3.And(o.exists, o.side == side, o.status == OPEN)

    def filled(o: Any, side: int) -> Term:
        return z3.If(z3.And(o.exists, o.side == side), o.filled, 0)

    facts.append(
        s.balance_total
        == total(
            [z3.If(get(s.account_registered, a), get(s.account_balance, a), 0) for a in accounts]
        )
    )
    facts += [
        z3.Implies(z3.Not(get(s.account_registered, a)), get(s.account_balance, a) == 0)
        for a in accounts
    ]
    facts.append(s.escrow_total == total([z3.If(o.exists, o.escrow, 0) for o in orders]))
    for m, sl in sorted(keys.lots):
        on = [z3.And(o.lot_meter == m, o.slot == sl) for o in orders]
        facts.append(
            get(s.lot_open_ask_wh, iv(m), iv(sl))
            == total(
                [
                    z3.If(z3.And(c, open_(o, ASK)), o.quantity, 0)
                    for c, o in zip(on, orders, strict=True)
                ]
            )
        )
        facts.append(
            get(s.lot_ask_fill_wh, iv(m), iv(sl))
            == total([z3.If(c, filled(o, ASK), 0) for c, o in zip(on, orders, strict=True)])
        )
    traders = set(keys.demands) | {(a, z, sl) for a in keys.accounts for z, sl in keys.markets}
    for a, z, sl in sorted(traders):
        key = (iv(a), iv(z), iv(sl))
        mine = [z3.And(o.owner == a, o.zone == z, o.slot == sl) for o in orders]
        facts.append(
            get(s.demand_bid_fill_wh, *key)
            == total([z3.If(c, filled(o, BID), 0) for c, o in zip(mine, orders, strict=True)])
        )
        for ghost, side, amount in (
            ("trader_open_asks", ASK, None),
            ("trader_open_bids", BID, None),
            ("trader_open_bid_wh", BID, "quantity"),
        ):
            facts.append(
                get(getattr(s, ghost), *key)
                == total(
                    [
                        z3.If(z3.And(c, open_(o, side)), getattr(o, amount) if amount else 1, 0)
                        for c, o in zip(mine, orders, strict=True)
                    ]
                )
            )
        if (a, z, sl) not in keys.demands:
            facts += [get(s.demand_imported, *key) == 0, get(s.demand_claimed, *key) == 0]
    for z, sl in sorted(keys.markets):
        here = [z3.And(o.zone == z, o.slot == sl) for o in orders]
        for ghost, side in (("market_ask_fill_wh", ASK), ("market_bid_fill_wh", BID)):
            facts.append(
                get(getattr(s, ghost), iv(z), iv(sl))
                == total([z3.If(c, filled(o, side), 0) for c, o in zip(here, orders, strict=True)])
            )
    slots = (
        {sl for _, sl in keys.lots}
        | {sl for *_, sl in keys.demands}
        | {sl for _, sl in keys.markets}
    )
    for sl in sorted(slots):
        mine = [o.slot == sl for o in orders]
        facts.append(
            get(s.slot_sold_wh, iv(sl))
            == total([z3.If(c, filled(o, ASK), 0) for c, o in zip(mine, orders, strict=True)])
        )
        facts.append(
            get(s.slot_bought_wh, iv(sl))
            == total([z3.If(c, filled(o, BID), 0) for c, o in zip(mine, orders, strict=True)])
        )
        claims = [
            get(s.demand_claimed, iv(a), iv(z), iv(dsl))
            for a, z, dsl in sorted(traders)
            if dsl == sl
        ]
        facts.append(get(s.slot_claimed_wh, iv(sl)) == total(claims))
    return facts


# --- From an obligation to a vector ---------------------------------------------------------------


@dataclass
class Case:
    """One counterexample and what became of it."""

    obligation: str
    mutant: str = ""
    vector: Vector | None = None
    reason: str = ""
    """Why there is no vector (empty when there is one)."""
    spec: Verdict | None = None
    model: Verdict | None = None
    """The model without the seeded bug, on the vector's state and transaction."""
    mutated: Verdict | None = None
    """The model with the seeded bug."""
    divergence: list[str] = field(default_factory=list)
    """How the seeded bug's outcome differs from the spec's (the outcome, or the state after)."""
    model_differs: list[str] = field(default_factory=list)
    """How the model without the bug differs from the spec: a finding in itself."""
    spec_breaks: list[str] = field(default_factory=list)
    """Invariants the spec's own post-state breaks (for a real failure: the spec's bug)."""
    spec_passes: bool = False
    """The spec, run as an implementation under test (``kwhledger adapter spec``), passes it."""

    @property
    def shows_bug(self) -> bool:
        """A vector the spec passes (by construction) and the seeded bug fails."""
        return self.vector is not None and bool(self.divergence) and not self.model_differs

    def line(self) -> str:
        who = f"{self.mutant}: " if self.mutant else ""
        if self.vector is None:
            return f"{who}{self.obligation}: no vector: {self.reason}"
        shown = (
            f"the seeded bug {self.mutated} and fails it ({self.divergence[0]})"
            if self.divergence
            else "the seeded bug behaves as the spec here"
        )
        model = f"; MODEL AND SPEC DIFFER: {self.model_differs[0]}" if self.model_differs else ""
        spec = "" if self.spec_passes else " (THE SPEC FAILS ITS OWN VECTOR)"
        if self.spec_breaks:
            spec += f" (the spec's post-state breaks {', '.join(self.spec_breaks)})"
        return f"{who}{self.obligation}: {self.vector.id}: spec {self.spec}{spec}, {shown}{model}"


def solve(ob: Obligation, extra: list[Term], timeout_s: float, seed: int = 0) -> z3.ModelRef | None:
    """A model of ``hypotheses and extra and not goal`` (None: unsat or unknown)."""
    solver = z3.Solver()
    solver.set("timeout", max(1, int(timeout_s * 1000)))
    solver.set("random_seed", seed)
    solver.add(*ob.hypotheses, *extra, z3.Not(ob.goal))
    return solver.model() if solver.check() == z3.sat else None


def build(name: str, mutant: str) -> Obligation:
    """The obligation ``name`` as the seeded bug ``mutant`` makes it."""
    obligations.forget_settings()
    try:
        with mutant_catalogue.applied(mutant):
            return obligations.build(name)
    finally:
        obligations.forget_settings()


def _tx_values(read: Reader, terms: dict[str, Term]) -> dict[str, Any]:
    return {name: read.value(term) for name, term in terms.items()}


def concretize(
    ob: Obligation, model: z3.ModelRef, closed: Keys | None = None
) -> tuple[State, dict[str, Any], set[int]]:
    """The spec pre-state and the transaction's fields a model of ``ob`` stands for, and the
    model account ids they use. The state holds the rows that exist at the ``closed`` keys (the
    model's pre-state is closed there), else at the keys the model reaches."""
    read = Reader(model, ob.show["pre"])
    tx = _tx_values(read, ob.show["tx"])
    keys = closed if closed else _keys(read, ob.show["points"], tx)
    try:
        state = _state(read, keys)
    except (OverflowError, ValueError) as problem:  # a value outside its unit's bounds
        raise NotConcrete(f"a pre-state value is outside the wire's bounds: {problem}") from None
    named = {v for k, v in tx.items() if k.endswith(_ACCOUNT_FIELDS) and type(v) is int}
    return state, tx, keys.accounts | named


_ACCOUNT_FIELDS: Final = (".sender", ".to", ".account", ".owner", ".attestor")


def vector_id(obligation: str, mutant: str) -> str:
    """``counterexample/<mutant or failure>/<obligation>`` with the obligation's ``/`` as ``.``."""
    return f"counterexample/{mutant or 'failure'}/{obligation.replace('/', '.')}"


_TABLES: Final = ("orders", "markets", "demand", "lots", "readings", "meters", "nodes", "accounts")
"""The tables a pre-state's rows are dropped from, in an order where a row goes before the rows
it points to."""


def judged(
    case: Case,
    pre: State,
    data: bytes,
    kind: str,
    tx: dict[str, Any],
    ids: concrete.AccountIds,
    spec: Verdict | None = None,
) -> Case:
    """``case`` with the verdicts of the spec, the model and the seeded bug on ``pre`` and the
    transaction ``data``; raises ``NotConcrete`` when ``pre`` cannot be loaded or is unsound, or
    the spec's verdict is not ``spec`` (when given)."""
    try:
        load_state(state_bytes(pre))
    except Rejected as rejection:
        raise NotConcrete(
            f"its pre-state breaks {rejection.rule.id} ({rejection.detail})"
        ) from None
    try:
        broken = check_state(pre)
    except LookupError as missing:  # check_state walks the grid tree, which PRE does not check
        raise NotConcrete(f"its grid is not a tree (no node {missing})") from None
    if broken:
        first = broken[0]
        raise NotConcrete(f"its pre-state, standing alone, breaks {first.rule_id}: {first.message}")
    after, outcome = apply_step(pre, Step("tx", input=data))
    case.spec = Verdict(outcome.code == 0, outcome.rule)
    if spec is not None and case.spec != spec:
        raise NotConcrete(f"the spec answers {case.spec}, not {spec}")
    module = KINDS[kind]
    encoded = concrete.encode(pre, ids)
    plain = module.step(encoded, model_tx(module, tx))
    case.model = model_verdict(plain)
    case.model_differs = _compare(case.model, case.spec, plain, pre, after, ids)
    with mutant_catalogue.applied(case.mutant):
        broken_step = module.step(encoded, model_tx(module, tx))
        case.mutated = model_verdict(broken_step)
    case.divergence = _compare(case.mutated, case.spec, broken_step, pre, after, ids)
    return case


def replay_case(
    ob: Obligation, model: z3.ModelRef, kind: str, mutant: str, closed: Keys | None = None
) -> Case:
    """Build the vector of one model of ``ob`` and judge it with the spec and the model."""
    pre, tx, accounts = concretize(ob, model, closed)
    ids = account_ids(accounts)
    data = signed_transaction(kind, tx, pre.params.chain_id)
    case = judged(Case(ob.name, mutant), pre, data, kind, tx, ids)
    # The closed state may hold rows the case does not need (keys from earlier rounds): drop
    # each row whose absence leaves a loadable, sound state on which the spec, the model and
    # the seeded bug answer as before.
    for table in _TABLES:
        for key in sorted(getattr(pre, table), key=repr):
            smaller = replace(pre, **{table: getattr(pre, table).remove(key)})
            try:
                other = judged(Case(ob.name, mutant), smaller, data, kind, tx, ids, case.spec)
            except NotConcrete:
                continue
            if (other.spec, other.mutated, bool(other.divergence), other.model_differs) == (
                case.spec,
                case.mutated,
                bool(case.divergence),
                case.model_differs,
            ):
                pre, case = smaller, other
    after, _ = apply_step(pre, Step("tx", input=data))
    description = (
        f"Counterexample of proof obligation {ob.name}"
        + (f" under the seeded model bug {mutant}" if mutant else "")
        + f", made concrete: a crafted pre-state and one {WIRE_KIND[kind].name} signed with test "
        "keys. Expectations are the executable spec's; "
        + (
            f"an implementation with the bug answers: {case.mutated}"
            + (f" ({case.divergence[0]})." if case.divergence else ".")
        )
    )
    try:
        case.vector = Suite({}).add(
            vector_id(ob.name, mutant),
            description,
            pre,
            [Step("tx", input=data)],
            rules=ob.goal_rules,
            flags=["counterexample"],
            crafted=True,
        )
    except GenerationError as problem:
        raise NotConcrete(f"the spec's run leaves a lifecycle: {problem}") from None
    case.spec_breaks = sorted({v.rule_id for v in check_state(after)})
    case.spec_passes = not judge_in_process(SpecImplementation("counterexample"), case.vector)
    return case


def _compare(
    got: Verdict,
    spec: Verdict,
    transition: Transition,
    pre: State,
    after: State,
    ids: concrete.AccountIds,
) -> list[str]:
    if got != spec:
        return [f"outcome: {got}, spec {spec}"]
    if not got.accepted:
        return []
    return differences(transition.after, pre, after, ids)


def counterexample(name: str, mutant: str = "", timeout_s: float = 30.0) -> Case:
    """The vector of obligation ``name``'s counterexample (under the seeded bug ``mutant``), or
    the reason there is none."""
    kind = name.split("/", 1)[0]
    if kind in KINDS and kind not in WIRE_KIND:
        return Case(name, mutant, reason=f"no wire form is known here for {kind}")
    if kind not in KINDS:
        return Case(
            name,
            mutant,
            reason=f"{kind} obligations are not about one transaction: "
            + (
                "closing the pre-state at a whole market's book is too heavy for the solver "
                "(tried: 18 s and more per round, then no closed counterexample)"
                if kind == "clear_market"
                else "the auction's encoding on a book of orders, not a ledger state"
            ),
        )
    ob = build(name, mutant)
    reason = "the solver finds no counterexample"
    for seed in range(SEEDS):
        model = solve(ob, [], timeout_s, seed)
        if model is None:
            break
        closed = close(ob, model, timeout_s)
        if closed is None:
            reason = (
                "its pre-state cannot be closed at the keys it names: its ghost totals stand "
                "for rows the counterexample does not show"
            )
            continue
        try:
            return replay_case(ob, closed[0], kind, mutant, closed[1])
        except NotConcrete as why:
            reason = str(why)
    return Case(name, mutant, reason=reason + (f" (first {SEEDS} counterexamples)" if seed else ""))


def close(ob: Obligation, model: z3.ModelRef, timeout_s: float) -> tuple[z3.ModelRef, Keys] | None:
    """A counterexample whose pre-state is closed at the keys it reaches, and those keys; found
    by asking again with the invariant, the bounds, the pre-state rules and the ghost totals
    pinned at every key seen so far, and the obligation's keys kept among them, until the keys
    stop growing. None: some round has no such counterexample."""
    pre, points = ob.show["pre"], ob.show["points"]
    keys = Keys()
    """The keys the current model is closed at (none yet)."""
    for _ in range(CLOSING_ROUNDS):
        read = Reader(model, pre)
        try:
            grown = keys.union(_valid(_keys(read, points, _tx_values(read, ob.show["tx"]))))
        except NotConcrete:
            return None
        if grown == keys:
            break
        inside = [*_within(points, grown), *_tx_within(pre, ob.show["tx"], grown)]
        closed = solve(ob, [*closing(pre, grown), *inside], timeout_s)
        if closed is None:
            return None
        model, keys = closed, grown
    return model, keys


# --- Many at once ---------------------------------------------------------------------------


def for_mutant(mutant: str, caught_by: Iterable[str], timeout_s: float = 30.0) -> Case:
    """The first of the obligations that caught ``mutant`` whose counterexample becomes a vector
    showing the bug (obligations about one transaction first); else the last reason."""
    names = sorted(caught_by, key=lambda n: n.split("/", 1)[0] not in KINDS)
    case = Case("", mutant, reason="no obligation caught it")
    for name in names:
        case = counterexample(name, mutant, timeout_s)
        if case.shows_bug:
            return case
    return case


def file_name(case: Case) -> str:
    """The vector's file in an output folder: its id with ``/`` as ``__``."""
    assert case.vector is not None
    return case.vector.id.replace("/", "__") + ".cbor"


def write(cases: Iterable[Case], out_dir: Path) -> list[str]:
    """Write every case's vector to ``out_dir``; return one line per case (the vector's file or
    why there is none)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for case in cases:
        if case.vector is not None:
            (out_dir / file_name(case)).write_bytes(case.vector.encode())
            lines.append(f"{case.line()} -> {out_dir / file_name(case)}")
        else:
            lines.append(case.line())
    return lines
