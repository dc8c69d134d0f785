"""The lifecycle graphs of spec/lifecycles.py: classification, shape, and that the spec never
leaves them while it is driven through random scenarios."""

from __future__ import annotations

import itertools
from dataclasses import replace

import networkx as nx
from hypothesis import given
from hypothesis import strategies as st

from conformance_tests.scenario import Ledger, small_village
from spec.clearing import clear_due_markets
from spec.lifecycles import (
    ABSENT,
    LIFECYCLES,
    SETTLED,
    LotState,
    NonceState,
    UnclassifiableRecord,
    classify_lot,
    classify_nonce,
    edge_labels,
    illegal_transitions,
    observed_transitions,
)
from spec.state import Account, Encumbrance, Lot, OrderStatus, Source
from spec.units import COUNTER_MAX, MilliSen, NodeId, Nonce, OrderId, Wh


def lot(unsold: int, reserved: int, sold: int, expired: int) -> Lot:
    minted = unsold + reserved + sold + expired
    return Lot(
        b"\x01" * 32,
        NodeId(1),
        NodeId(3),
        Source.SOLAR,
        Encumbrance.NONE,
        *(Wh(x) for x in (minted, unsold, reserved, sold, expired)),
    )


def test_lot_states_follow_from_the_amounts() -> None:
    assert classify_lot(lot(10, 0, 0, 0)) is LotState.ATTESTED
    assert classify_lot(lot(4, 6, 0, 0)) is LotState.OFFERED
    assert classify_lot(lot(0, 10, 0, 0)) is LotState.OFFERED
    assert classify_lot(lot(0, 0, 10, 0)) is LotState.SOLD
    assert classify_lot(lot(0, 0, 3, 7)) is LotState.PARTLY_SOLD
    assert classify_lot(lot(0, 0, 0, 10)) is LotState.EXPIRED


def test_a_lot_both_settled_and_open_fits_no_state() -> None:
    for broken in (lot(1, 0, 9, 0), lot(0, 1, 0, 9)):
        try:
            classify_lot(broken)
        except UnclassifiableRecord:
            continue
        raise AssertionError(f"{broken} was classified")


def test_nonce_states() -> None:
    def account(nonce: int) -> Account:
        return Account(8, Nonce(nonce), MilliSen(0), bytes(32))

    assert classify_nonce(account(0)) is NonceState.FRESH
    assert classify_nonce(account(1)) is NonceState.ACTIVE
    assert classify_nonce(account(COUNTER_MAX - 1)) is NonceState.ACTIVE
    assert classify_nonce(account(COUNTER_MAX)) is NonceState.EXHAUSTED


def test_graphs_start_at_absent_and_final_states_have_no_way_out() -> None:
    # Settled records leave the state (PRN-02): a final state's only way is to SETTLED.
    finals = {
        "lot": {"SOLD", "PARTLY_SOLD", "EXPIRED"},
        "order": {"FILLED", "PARTLY_FILLED", "CANCELLED", "EXPIRED"},
        "nonce": {"EXHAUSTED"},
    }
    for name, graph in LIFECYCLES.items():
        # Only a correction to 0 Wh of export takes a record back to ABSENT: an untouched lot.
        back = [(source, data["rule"]) for source, _, data in graph.in_edges(ABSENT, data=True)]
        assert back == ([("ATTESTED", "COR-06")] if name == "lot" else [])
        assert set(nx.descendants(graph, ABSENT)) == set(graph.nodes) - {ABSENT}
        for state in finals[name]:
            assert set(graph.successors(state)) <= {SETTLED}, (name, state)
        if SETTLED in graph:
            assert graph.out_degree(SETTLED) == 0
            assert all(graph.edges[e]["rule"] == "PRN-02" for e in graph.in_edges(SETTLED))
            # Only a final record is pruned: clearing closed it first (CLR-07; a lot's market
            # always exists, INV-29).
            assert set(graph.predecessors(SETTLED)) == finals[name], name
        assert all("rule" in data for _, _, data in graph.edges(data=True))
    assert len(edge_labels()) == 26


def test_a_transition_outside_the_graph_is_reported() -> None:
    ledger = small_village()
    slot = ledger.slot - 1
    assert ledger.attest([(103, slot, 100, 0)]).accepted
    assert ledger.ask("alice", 103, slot, 100, 2000).accepted
    before = ledger.state
    order = before.orders[OrderId(1)]
    reopened = replace(
        before, orders=before.orders.set(OrderId(1), replace(order, status=OrderStatus.FILLED))
    )
    back = illegal_transitions(reopened, before)
    assert [t.label() for t in back] == ["order:FILLED->OPEN"]


# --- Driving the spec: every observed change must be an edge -----------------------------------

ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["attest", "ask", "bid", "cancel", "tick", "register", "withdraw"]),
        st.integers(0, 5),
        st.integers(0, 3000),
        st.integers(1500, 2600),
    ),
    min_size=1,
    max_size=25,
)
TRADERS = ["alice", "bob", "carol", "dave", "erin", "frank"]


def _step(ledger: Ledger, action: str, who: int, amount: int, price: int) -> None:
    name = TRADERS[who]
    meter = [103, 104, 105, 106, 112, 113][who]
    zone = 1 if who < 4 else 10
    slot = ledger.slot - 1
    if action == "attest":
        ledger.attest([(meter, slot, amount, 3000 - amount)])
    elif action == "ask":
        ledger.ask(name, meter, slot, amount, price)
    elif action == "bid":
        ledger.bid(name, zone, slot, amount, price)
    elif action == "cancel":
        ledger.cancel(name, amount % 8 + 1)
    elif action == "tick":
        ledger.tick(ledger.state.time + amount * 3)
    elif action == "register":
        ledger.register(f"new-{amount}")
    else:
        ledger.withdraw(name, amount)


@given(ACTIONS)
def test_the_spec_stays_on_its_lifecycle_graphs(actions: list[tuple[str, int, int, int]]) -> None:
    ledger = small_village()
    seen = set()
    for action in actions:
        before = ledger.state
        _step(ledger, *action)
        # A clock advance clears (CLR-01), then prunes (PRN-01): two stages of a record's life,
        # observed apart as the suite observes them.
        stages = [before, ledger.state]
        if action[0] == "tick" and ledger.state is not before:
            stages.insert(1, clear_due_markets(before, ledger.state.time))
        for earlier, later in itertools.pairwise(stages):
            assert illegal_transitions(earlier, later) == []
            seen |= {t.label() for t in observed_transitions(earlier, later)}
    assert seen <= set(edge_labels())
