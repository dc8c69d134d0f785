"""Second witnesses for validity rules that rested on one vector each: ATT-10 reached by
transactions alone, CAN-01 at the next order id, GRD-02 with a parent that is a meter's id."""

from __future__ import annotations

from conformance_tests.suite import Suite, market, must, tx, village
from spec.state import NodeKind
from spec.transactions import Kind
from spec.units import WH_MAX


def group_witnesses(suite: Suite) -> None:
    """One more vector each for ATT-10, CAN-01 and GRD-02."""
    v = village()
    s = v.slot - 1
    # Alice gets two meters of the largest capacity at her service point 3 (zone 1).
    for meter in (300, 301):
        must(v.meter(meter, "alice", 3, capacity_wh=WH_MAX))

    def readings(second: int) -> bytes:
        batch = [
            {0: 300, 1: s, 2: 0, 3: WH_MAX, 4: 0},
            {0: 301, 1: s, 2: 0, 3: second, 4: 0},
        ]
        return v.make("attestor", Kind.ATTEST, {0: batch})

    suite.negative(
        "attest/ATT-10/two-meters-in-one-batch",
        "Two of alice's meters in zone 1 import WH_MAX and 1 Wh in the same slot, in one batch: "
        "her demand for that zone and slot would be WH_MAX + 1 (ATT-10), a state reached by "
        "transactions alone. With 0 Wh for the second meter the batch is accepted.",
        v.state,
        tx(readings(1)),
        tx(readings(0)),
        "ATT-10",
        flags=["boundary", "overflow", "atomicity"],
    )
    m = market()
    must(m.ask("alice", 103, s, 1000, 2000))
    next_id = int(m.state.next_order_id)
    suite.negative(
        "order/CAN-01/next-order-id",
        f"Bob cancels order {next_id}, the id the next order will get: no such order yet. "
        f"Alice's cancel of order {next_id - 1}, her ask, is accepted.",
        m.state,
        tx(m.make("bob", Kind.CANCEL, {0: next_id})),
        tx(m.make("alice", Kind.CANCEL, {0: next_id - 1})),
        "CAN-01",
        flags=["boundary"],
    )
    w = village()
    assert 103 not in w.state.nodes and 103 in w.state.meters
    sp = int(NodeKind.SERVICE_POINT)
    suite.negative(
        "grid/GRD-02/parent-is-a-meter-id",
        "A service point whose parent is 103, the id of a meter but not of a node (ids of "
        "nodes and meters are separate). Under transformer 2 it is accepted.",
        w.state,
        tx(w.make("operator", Kind.REGISTER_NODE, {0: 7, 1: sp, 2: 103, 3: 0})),
        tx(w.make("operator", Kind.REGISTER_NODE, {0: 7, 1: sp, 2: 2, 3: 0})),
        "GRD-02",
    )
