"""The state root's cache changes no result: ``state_root`` (kept up to date entry by entry from
each table's remembered sum) equals ``state_root_from_scratch`` (HSH-01 as written) on random
states reached by random histories of table updates, and on a village's trading history.

The indexes (``spec/indexes.py``) give what the table walks they stand for give, on the same
histories. Also: ``FrozenMap`` behaves as a mapping under updates (old maps unchanged), its
``derived`` values follow updates, and ``tables`` covers every table ``entries`` walks.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import SERVICE_POINT, village

from conformance_tests.scenario import TRADING_CLOSE_S
from spec import indexes
from spec.clearing import clear_due_markets
from spec.fmap import MISSING, FrozenMap
from spec.state import (
    Account,
    Demand,
    Encumbrance,
    Lot,
    Market,
    MarketStatus,
    Order,
    OrderStatus,
    Side,
    Source,
    State,
    Table,
    entries,
    lthash_sum,
    lthash_update,
    state_root,
    state_root_from_scratch,
    tables,
)
from spec.units import MilliSen, Nonce, PriceSenPerKwh, Wh, slot_end

ZONES = (1, 10)


def _account_key(i: int) -> bytes:
    return bytes([i]) * 32


operations = st.lists(
    st.tuples(
        st.sampled_from(
            ["account", "demand", "market", "remove-demand", "many", "root", "order", "lot"]
        ),
        st.integers(0, 7),
        st.integers(0, 3),
        st.integers(0, 10**9),
    ),
    max_size=40,
)


def _apply(state: State, op: tuple[str, int, int, int]) -> State:
    kind, i, j, amount = op
    if kind == "account":
        record = Account(8, Nonce(j), MilliSen(amount), _account_key(i))
        return replace(state, accounts=state.accounts.set(_account_key(i), record))
    demand_key = (_account_key(i), ZONES[j % 2], 900_000 + j)
    if kind == "demand":
        record_d = Demand(Wh(amount % 10**6), Wh(0))
        return replace(state, demand=state.demand.set(demand_key, record_d))  # type: ignore[arg-type]
    if kind == "remove-demand":
        if demand_key not in state.demand:
            return state
        return replace(state, demand=state.demand.remove(demand_key))  # type: ignore[arg-type]
    if kind == "market":
        market = Market(MarketStatus(j % 2), PriceSenPerKwh(amount % 5000), Wh(amount % 777))
        return replace(state, markets=state.markets.set((ZONES[i % 2], j), market))  # type: ignore[arg-type]
    if kind == "order":
        order = Order(
            Side(j % 2),
            _account_key(i),
            ZONES[amount % 2],
            j,
            None,
            Wh(amount % 1000),
            PriceSenPerKwh(amount % 3000),
            PriceSenPerKwh(0),
            MilliSen(0),
            OrderStatus(amount % 5) if amount % 3 == 0 else OrderStatus.OPEN,
            Wh(0),
        )
        return replace(state, orders=state.orders.set(i % 3, order))  # type: ignore[arg-type]
    if kind == "lot":
        lot = Lot(
            _account_key(i),
            ZONES[amount % 2],
            3,
            Source.SOLAR,
            Encumbrance.NONE,
            *[Wh(amount % 100)] * 2,
            *[Wh(0)] * 3,
        )
        return replace(state, lots=state.lots.set((100 + i, j), lot))  # type: ignore[arg-type]
    if kind == "many":
        updates = {
            _account_key(k): Account(8, Nonce(k), MilliSen(amount + k), _account_key(k))
            for k in range(i + 1)
        }
        return replace(state, accounts=state.accounts.set_many(updates))
    assert kind == "root"
    state_root(state)  # remember the sums here: later roots start from them
    _assert_indexes_equal_scans(state)  # and the indexes
    return state


@settings(max_examples=100, deadline=None)
@given(operations, st.integers(0, 40))
def test_cached_root_equals_root_from_scratch_on_random_histories(
    ops: list[tuple[str, int, int, int]], branch_at: int
) -> None:
    start = village().state
    state = start
    history = [state]
    for op in ops:
        state = _apply(state, op)
        history.append(state)
    assert state_root(state) == state_root_from_scratch(state)
    _assert_indexes_equal_scans(state)
    # A state of the past, after its descendants' roots were asked: still its own root.
    past = history[min(branch_at, len(history) - 1)]
    assert state_root(past) == state_root_from_scratch(past)
    # A branch from that past state (a rejected block's sibling) as well.
    branch = _apply(past, ("account", 3, 1, 42))
    assert state_root(branch) == state_root_from_scratch(branch)
    _assert_indexes_equal_scans(past)


def _assert_indexes_equal_scans(state: State) -> None:
    """Each index gives what the walk over its table that it stands for gives."""
    for zone in ZONES:
        for slot in range(4):
            assert dict(indexes.open_orders(state, zone, slot)) == {
                k: o
                for k, o in state.orders.items()
                if o.zone == zone and o.slot == slot and o.status is OrderStatus.OPEN
            }
            assert dict(indexes.market_lots(state, zone, slot)) == {
                k: lot for k, lot in state.lots.items() if k[1] == slot and lot.zone == zone
            }
    assert dict(indexes.open_markets(state)) == {
        k: m for k, m in state.markets.items() if m.status is MarketStatus.OPEN
    }


def test_cached_root_follows_a_trading_history() -> None:
    ledger = village()
    slot = ledger.slot + 1
    ledger.tick((slot + 1) * 1800)
    readings = [(SERVICE_POINT[name] + 100, slot, 400, 300) for name in SERVICE_POINT]
    assert ledger.attest(readings).accepted
    assert state_root(ledger.state) == state_root_from_scratch(ledger.state)
    assert ledger.ask("alice", SERVICE_POINT["alice"] + 100, slot, 300, 1000).accepted
    assert ledger.bid("bob", 1, slot, 250, 2000).accepted
    assert ledger.bid("carol", 1, slot, 200, 1500).accepted
    assert state_root(ledger.state) == state_root_from_scratch(ledger.state)
    before = ledger.state
    close = slot_end(slot) + TRADING_CLOSE_S
    cleared = clear_due_markets(ledger.state, close)  # between clearing and pruning
    assert cleared.markets[(1, slot)].volume_wh > 0  # type: ignore[index]
    assert state_root(cleared) == state_root_from_scratch(cleared)
    assert state_root(before) == state_root_from_scratch(before) != state_root(cleared)
    ledger.tick(close)  # clears and prunes the slot: every one of its entries leaves the sums
    pruned = ledger.state
    assert not any(k[1] == slot for k in pruned.markets)
    assert state_root(pruned) == state_root_from_scratch(pruned) != state_root(cleared)


def test_tables_cover_every_table_entries_walks() -> None:
    state = village().state
    from_tables = {
        (int(table), len(rows)) for table, rows in tables(state) if table != Table.LEDGER
    }
    counted: dict[int, int] = {int(table): 0 for table, _ in tables(state)}
    for table, _, _ in entries(state):
        if table != Table.LEDGER:
            counted[int(table)] += 1
    assert from_tables == set(counted.items())
    assert {int(t) for t in Table} == {0} | set(counted)


def test_lthash_update_adds_and_removes() -> None:
    a, b, c = (bytes([k]) * 2048 for k in (1, 200, 255))
    both = lthash_sum([a, b, c])
    assert lthash_update(both, added=[], removed=[b]) == lthash_sum([a, c])
    assert lthash_update(lthash_sum([a]), added=[b, c], removed=[]) == both
    assert lthash_update(both, added=[], removed=[a, b, c]) == bytes(2048)


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 5), st.booleans()), max_size=60))
def test_frozen_map_updates_leave_old_maps_and_follow_derived_values(
    ops: list[tuple[int, int, bool]],
) -> None:
    def total(m: FrozenMap[int, int]) -> int:
        return m.derived("total", lambda whole: sum(whole.values()), _add_changes)

    fmap: FrozenMap[int, int] = FrozenMap({})
    model: dict[int, int] = {}
    snapshots: list[tuple[FrozenMap[int, int], dict[int, int]]] = []
    for key, value, remove in ops:
        if remove and key in model:
            fmap = fmap.remove(key)
            del model[key]
        elif key % 3 == 0:
            fmap = fmap.set_many({key: value, key + 1: value})
            model.update({key: value, key + 1: value})
        else:
            fmap = fmap.set(key, value)
            model[key] = value
        if value == 0:
            total(fmap)
        snapshots.append((fmap, dict(model)))
    for snapshot, expected in snapshots:
        assert dict(snapshot) == expected
        assert len(snapshot) == len(expected)
        assert total(snapshot) == sum(expected.values())


def _add_changes(base: int, changes: list[tuple[Any, Any, Any]]) -> int:
    for _, old, new in changes:
        base += (0 if new is MISSING else new) - (0 if old is MISSING else old)
    return base
