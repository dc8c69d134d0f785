"""Vectors: pre-states that break the consistency rules (PRE-01 .. PRE-09, rule book 11.18).

Each starts from one consistent state (the village after a slot's readings, with an ask of
alice's and a bid of bob's) and breaks one thing, or two to pin the check order. A pre-state that
breaks a PRE rule is not loaded: its one step (a clock tick to the state's own time) reports the
rule, and the root stays the pre-state's (FORMAT.md section 3.2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Final

from conformance_tests.scenario import key_of
from conformance_tests.spec_adapter import SpecImplementation, state_bytes
from conformance_tests.spec_adapter import state_root as cached_state_root
from conformance_tests.suite import GenerationError, Suite, market, must, tick
from conformance_tests.vector import Outcome, Vector
from spec.fmap import FrozenMap
from spec.state import Encumbrance, State
from spec.units import MeterId, NodeId, OrderId, Wh

BASE: Final = "pre/valid/market-with-orders"
STRANGER: Final = key_of("stranger")
M103, M112, M999 = MeterId(103), MeterId(112), MeterId(999)


def _base() -> State:
    ledger = market()
    must(ledger.ask("alice", 103, ledger.slot - 1, 1000, 2000))
    must(ledger.bid("bob", 1, ledger.slot - 1, 800, 2500))
    return ledger.state


def _without(table: FrozenMap, key: object) -> FrozenMap:  # type: ignore[type-arg]
    return FrozenMap({k: v for k, v in table.items() if k != key})


def refused_vector(suite: Suite, vector_id: str, description: str, pre: State, rule: str) -> None:
    """Record a vector whose pre-state breaks ``rule`` (the spec must say so, or generation
    stops)."""
    step = tick(pre.time)
    data = state_bytes(pre)
    result = SpecImplementation("generator").run_vector(data, [step])
    outcome = result.steps[0]
    if outcome.rule != rule:
        raise GenerationError(f"{vector_id}: expected {rule}, got {outcome.rule}")
    root = cached_state_root(pre)
    if outcome.root != root or result.post_state_root != root:
        raise GenerationError(f"{vector_id}: a refused pre-state must keep its root")
    if vector_id in suite.vectors:
        raise GenerationError(f"duplicate id {vector_id}")
    single = not vector_id.startswith("pre/order/")
    suite.vectors[vector_id] = Vector(
        id=vector_id,
        description=description,
        rules=(rule,),
        flags=tuple(
            sorted({"negative", "crafted-pre-state", "invalid" if single else "edge-case"})
        ),
        pre_state=data,
        pre_state_root=root,
        steps=(
            (
                step,
                Outcome(outcome.code, outcome.rule, outcome.root, None, outcome.settlement_root),
            ),
        ),
        post_state=data,
        post_state_root=root,
        twin=BASE if single else None,
    )


def group_prestate(suite: Suite) -> None:
    """PRE-01 .. PRE-09, one defect each, and two defects that pin the order of the checks."""
    base = _base()
    slot = min(base.lots)[1]
    suite.add(
        BASE,
        "The consistent pre-state the PRE vectors break: lots of alice, dave and erin, alice's "
        "ask on her lot, bob's bid, demand. It loads, and a tick to its own time changes nothing.",
        base,
        [tick(base.time)],
        expect=[None],
        flags=["valid", "twin", "crafted-pre-state"],
    )
    meter_103 = base.meters[M103]
    lot_112 = base.lots[(M112, slot)]
    ask_id, ask = next((i, o) for i, o in base.orders.items() if o.lot_meter is not None)
    bid_id, bid = next((i, o) for i, o in base.orders.items() if o.lot_meter is None)
    some_demand = min(base.demand.items())
    cases: list[tuple[str, str, Callable[[State], State], str]] = [
        (
            "pre/PRE-01/meter-owner-unregistered",
            "Meter 103's owner is a key no account has.",
            lambda s: replace(s, meters=s.meters.set(M103, replace(meter_103, owner=STRANGER))),
            "PRE-01",
        ),
        (
            "pre/PRE-01/meter-zone-not-its-nodes",
            "Meter 103 says zone 10, its node is in zone 1 (its lot, too, then differs: PRE-04 "
            "comes later).",
            lambda s: replace(s, meters=s.meters.set(M103, replace(meter_103, zone=NodeId(10)))),
            "PRE-01",
        ),
        (
            "pre/PRE-02/reading-without-meter",
            "A reading of meter 999, which is not registered.",
            lambda s: replace(s, readings=s.readings.set((M999, slot), s.readings[(M103, slot)])),
            "PRE-02",
        ),
        (
            "pre/PRE-03/lot-without-reading",
            "Alice's lot stays, its reading is gone.",
            lambda s: replace(s, readings=_without(s.readings, (M103, slot))),
            "PRE-03",
        ),
        (
            "pre/PRE-03/lot-without-meter",
            "A copy of erin's lot under meter 999, with no meter and no reading.",
            lambda s: replace(s, lots=s.lots.set((M999, slot), lot_112)),
            "PRE-03",
        ),
        (
            "pre/PRE-04/lot-owner-not-meters",
            "Erin's lot says bob owns it; its meter says erin.",
            lambda s: replace(
                s, lots=s.lots.set((M112, slot), replace(lot_112, owner=key_of("bob")))
            ),
            "PRE-04",
        ),
        (
            "pre/PRE-04/lot-encumbrance-not-readings",
            "Erin's lot is encumbered by another scheme; its reading says it is not.",
            lambda s: replace(
                s,
                lots=s.lots.set(
                    (M112, slot), replace(lot_112, encumbrance=Encumbrance(3 - lot_112.encumbrance))
                ),
            ),
            "PRE-04",
        ),
        (
            "pre/PRE-05/lot-energy-short",
            "Erin's lot has one Wh less unsold than minted minus the rest.",
            lambda s: replace(
                s,
                lots=s.lots.set(
                    (M112, slot), replace(lot_112, unsold_wh=Wh(lot_112.unsold_wh - 1))
                ),
            ),
            "PRE-05",
        ),
        (
            "pre/PRE-06/dangling-ask",
            "Alice's ask names meter 105's lot, which was never minted (no export).",
            lambda s: replace(s, orders=s.orders.set(ask_id, replace(ask, lot_meter=MeterId(105)))),
            "PRE-06",
        ),
        (
            "pre/PRE-06/bid-names-a-lot",
            "Bob's bid names alice's lot.",
            lambda s: replace(s, orders=s.orders.set(bid_id, replace(bid, lot_meter=M103))),
            "PRE-06",
        ),
        (
            "pre/PRE-07/reservation-without-ask",
            "Erin's lot has 100 Wh reserved (taken from unsold, so it adds up) and no ask.",
            lambda s: replace(
                s,
                lots=s.lots.set(
                    (M112, slot),
                    replace(
                        lot_112,
                        unsold_wh=Wh(lot_112.unsold_wh - 100),
                        reserved_wh=Wh(lot_112.reserved_wh + 100),
                    ),
                ),
            ),
            "PRE-07",
        ),
        (
            "pre/PRE-08/order-id-not-below-next",
            "The next order id is the id of the last order placed.",
            lambda s: replace(s, next_order_id=OrderId(max(s.orders))),
            "PRE-08",
        ),
        (
            "pre/PRE-09/demand-of-stranger",
            "A demand row of a key no account has.",
            lambda s: replace(
                s, demand=s.demand.set((STRANGER, *some_demand[0][1:]), some_demand[1])
            ),
            "PRE-09",
        ),
        (
            "pre/order/PRE-02-before-PRE-04",
            "Two defects: a reading of an unregistered meter (PRE-02) and a lot whose owner is not "
            "its meter's (PRE-04). Rules are checked in id order: PRE-02.",
            lambda s: replace(
                s,
                readings=s.readings.set((M999, slot), s.readings[(M103, slot)]),
                lots=s.lots.set((M112, slot), replace(lot_112, owner=key_of("bob"))),
            ),
            "PRE-02",
        ),
        (
            "pre/order/PRE-08-before-PRE-09",
            "Two defects in the opposite order of their tables: a stranger's demand (table 6, "
            "PRE-09) and an order id not below the next (table 7, PRE-08). The rule's id decides: "
            "PRE-08.",
            lambda s: replace(
                s,
                next_order_id=OrderId(max(s.orders)),
                demand=s.demand.set((STRANGER, *some_demand[0][1:]), some_demand[1]),
            ),
            "PRE-08",
        ),
    ]
    for vector_id, description, breaks, rule in cases:
        refused_vector(suite, vector_id, description, breaks(base), rule)
