"""Lifecycles of a lot, an order and an account's nonce, as graphs the spec must never leave.

Each lifecycle is a directed graph (networkx) whose nodes are the states a record can be in and
whose edges are the only changes the rules may make; every edge names the rule that makes it.
A pseudo-state ``ABSENT`` stands for "no such record yet". The state of a record is a pure
function of the record (``classify_lot``, ``classify_order``, ``classify_nonce``), so a test can
drive the spec through any scenario, classify every record before and after each step, and check
that each change is an edge (``observed_transitions``, ``illegal_transitions``); the conformance
generator uses the same functions to prove that its vectors cover every edge.

Lot (derived from its amounts, INV-01: minted = unsold + reserved + sold + expired):

- ATTESTED: minted and untouched, all of it unsold;
- OFFERED: some Wh reserved by open asks, nothing sold or expired yet;
- SOLD, PARTLY_SOLD, EXPIRED: final, after its market cleared (CLR-07 leaves nothing unsold or
  reserved): all sold, some sold and the rest expired, nothing sold.

While a lot is ATTESTED its meter's attestor may correct its reading (COR-06): the lot is minted
again with the corrected amounts (ATTESTED to ATTESTED) or, corrected to 0 Wh, removed (to ABSENT).

Before its market clears a lot can sell nothing (fills happen only in clearing), which is why
"partly sold" is final: it is the lot whose market sold part of it.

Order: its ``status`` field (OPEN, then one of FILLED, PARTLY_FILLED, CANCELLED, EXPIRED).

Lots and orders end in the pseudo-state SETTLED: at the clock advance that clears their market
they leave the state with their slot (PRN-02), into settlement records. A block or tick that
clears and prunes is two stages of their life (cleared, then pruned), as a block's transactions
are.

Nonce: FRESH (0, registered and never sent), ACTIVE (0 < nonce < COUNTER_MAX), EXHAUSTED
(nonce = COUNTER_MAX: TX-05 rejects every further transaction of the account).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

import networkx as nx

from spec.state import Account, Lot, Order, OrderStatus, State, trading_close
from spec.units import COUNTER_MAX

ABSENT: Final = "ABSENT"
"""The pseudo-state of a record that does not exist yet."""
SETTLED: Final = "SETTLED"
"""The pseudo-state of a record that has left the state with its slot (PRN-02): its content is
in a settlement record (SET-01), and it never comes back (INV-24)."""


class LotState(Enum):
    """Where a lot is in its life."""

    ATTESTED = "ATTESTED"
    OFFERED = "OFFERED"
    PARTLY_SOLD = "PARTLY_SOLD"
    SOLD = "SOLD"
    EXPIRED = "EXPIRED"


class NonceState(Enum):
    """Where an account's nonce is in its life."""

    FRESH = "FRESH"
    ACTIVE = "ACTIVE"
    EXHAUSTED = "EXHAUSTED"


class UnclassifiableRecord(ValueError):
    """A record whose fields fit no lifecycle state: itself a broken invariant (INV-01)."""


def classify_lot(lot: Lot) -> LotState:
    """The lifecycle state of a lot, from its amounts alone."""
    if lot.unsold_wh + lot.reserved_wh + lot.sold_wh + lot.expired_wh != lot.minted_wh:
        raise UnclassifiableRecord("lot amounts do not add up (INV-01)")
    settled = lot.sold_wh + lot.expired_wh
    if settled == 0:
        return LotState.OFFERED if lot.reserved_wh > 0 else LotState.ATTESTED
    if lot.unsold_wh or lot.reserved_wh:
        raise UnclassifiableRecord("a lot with sold or expired Wh must have nothing else left")
    if lot.sold_wh == lot.minted_wh:
        return LotState.SOLD
    return LotState.PARTLY_SOLD if lot.sold_wh else LotState.EXPIRED


def classify_order(order: Order) -> OrderStatus:
    """The lifecycle state of an order: its status."""
    return order.status


def classify_nonce(account: Account) -> NonceState:
    """The lifecycle state of an account's nonce."""
    if account.nonce == 0:
        return NonceState.FRESH
    return NonceState.EXHAUSTED if account.nonce == COUNTER_MAX else NonceState.ACTIVE


def _graph(name: str, edges: list[tuple[str, str, str]]) -> nx.DiGraph:
    graph = nx.DiGraph(name=name)
    for source, target, cause in edges:
        graph.add_edge(source, target, rule=cause)
    return graph


_L, _O, _N = LotState, OrderStatus, NonceState

LOT_LIFECYCLE: Final = _graph(
    "lot",
    [
        (ABSENT, _L.ATTESTED.value, "ATT-08"),
        (_L.ATTESTED.value, _L.ATTESTED.value, "COR-06"),  # corrected to other amounts
        (_L.ATTESTED.value, ABSENT, "COR-06"),  # corrected to 0 Wh of export
        (_L.ATTESTED.value, _L.OFFERED.value, "ASK-05"),
        (_L.OFFERED.value, _L.OFFERED.value, "ASK-05"),  # another ask, or cancel of one of two
        (_L.OFFERED.value, _L.ATTESTED.value, "CAN-04"),
        (_L.ATTESTED.value, _L.EXPIRED.value, "CLR-07"),
        (_L.OFFERED.value, _L.EXPIRED.value, "CLR-07"),
        (_L.OFFERED.value, _L.PARTLY_SOLD.value, "CLR-05"),
        (_L.OFFERED.value, _L.SOLD.value, "CLR-05"),
        (_L.SOLD.value, SETTLED, "PRN-02"),
        (_L.PARTLY_SOLD.value, SETTLED, "PRN-02"),
        (_L.EXPIRED.value, SETTLED, "PRN-02"),
        # No edge ATTESTED -> SETTLED: every lot has its market (INV-29, PRE-12), which expires
        # it (CLR-07) before its slot is pruned.
    ],
)
"""Lot lifecycle; edge attribute ``rule`` names the rule that makes the change."""

ORDER_LIFECYCLE: Final = _graph(
    "order",
    [
        (ABSENT, _O.OPEN.name, "ORD-04"),
        (_O.OPEN.name, _O.CANCELLED.name, "CAN-04"),
        (_O.OPEN.name, _O.FILLED.name, "CLR-07"),
        (_O.OPEN.name, _O.PARTLY_FILLED.name, "CLR-07"),
        (_O.OPEN.name, _O.EXPIRED.name, "CLR-07"),
        (_O.FILLED.name, SETTLED, "PRN-02"),
        (_O.PARTLY_FILLED.name, SETTLED, "PRN-02"),
        (_O.EXPIRED.name, SETTLED, "PRN-02"),
        (_O.CANCELLED.name, SETTLED, "PRN-02"),
    ],
)
"""Order lifecycle: open until cancelled or its market clears; every other status is final
until the order leaves the state with its slot (SETTLED)."""

NONCE_LIFECYCLE: Final = _graph(
    "nonce",
    [
        (ABSENT, _N.FRESH.value, "ACC-01"),
        (_N.FRESH.value, _N.ACTIVE.value, "TX-07"),
        (_N.ACTIVE.value, _N.ACTIVE.value, "TX-07"),
        (_N.ACTIVE.value, _N.EXHAUSTED.value, "TX-07"),
    ],
)
"""Nonce lifecycle; EXHAUSTED has no way out (TX-05)."""

LIFECYCLES: Final[Mapping[str, nx.DiGraph]] = {
    "lot": LOT_LIFECYCLE,
    "order": ORDER_LIFECYCLE,
    "nonce": NONCE_LIFECYCLE,
}


@dataclass(frozen=True)
class Transition:
    """One record changing lifecycle state (or changing within one) between two states."""

    lifecycle: str
    key: Any
    """The record's key in its table."""
    source: str
    target: str

    @property
    def edge(self) -> tuple[str, str]:
        return (self.source, self.target)

    def label(self) -> str:
        """``lifecycle:SOURCE->TARGET``, as conformance vectors list covered edges."""
        return f"{self.lifecycle}:{self.source}->{self.target}"


def edge_labels() -> list[str]:
    """Every edge of every lifecycle as a label, sorted."""
    return sorted(
        f"{name}:{source}->{target}"
        for name, graph in LIFECYCLES.items()
        for source, target in graph.edges
    )


def _changes(
    name: str,
    before: Mapping[Any, Any],
    after: Mapping[Any, Any],
    classify: Any,
    project: Any,
    settled: Any = lambda key, record: False,
) -> Iterator[Transition]:
    for key in sorted(set(before) | set(after), key=repr):
        old, new = before.get(key), after.get(key)
        if old is not None and new is not None and project(old) == project(new):
            continue
        if new is None:  # deleted: pruned with its slot (PRN-02), else a lot corrected to 0 Wh
            gone = SETTLED if settled(key, old) else ABSENT
            yield Transition(name, key, _state_name(classify(old)), gone)
            continue
        source = ABSENT if old is None else _state_name(classify(old))
        yield Transition(name, key, source, _state_name(classify(new)))


def _state_name(state: Enum) -> str:
    return state.name if isinstance(state, OrderStatus) else str(state.value)


def observed_transitions(before: State, after: State) -> list[Transition]:
    """Every lot, order and nonce that changed from ``before`` to ``after``.

    A lot or an order counts as changed when its record differs; an account only when its nonce
    differs (a balance change is no step of the nonce's life).
    """

    def closed(slot: int) -> bool:
        return trading_close(after.params, slot) <= after.time

    return [
        *_changes(
            "lot", before.lots, after.lots, classify_lot, lambda lot: lot, lambda k, _: closed(k[1])
        ),
        *_changes(
            "order",
            before.orders,
            after.orders,
            classify_order,
            lambda order: order,
            lambda _, order: closed(order.slot),
        ),
        *_changes("nonce", before.accounts, after.accounts, classify_nonce, lambda a: int(a.nonce)),
    ]


def illegal_transitions(before: State, after: State) -> list[Transition]:
    """The observed transitions that are not edges of their lifecycle (empty when all is well)."""
    return [
        t
        for t in observed_transitions(before, after)
        if not LIFECYCLES[t.lifecycle].has_edge(t.source, t.target)
    ]
