"""The executable spec's own figures for ``kwhledger bench --spec``: what one table write and one
state root cost as the state grows.

* ``set``: one ``FrozenMap.set`` on a table of n entries (median of several writes).
* ``root, first call``: ``state_root`` of a state with n accounts, seen for the first time.
* ``root, after one change``: ``state_root`` again after one account changed (what a block that
  touches one entry pays once the root of its parent state is known).
* ``root, from scratch``: ``state_root_from_scratch`` (HSH-01 as written, every entry expanded).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from spec.crypto import public_key_of
from spec.fmap import FrozenMap
from spec.state import Account, ChainParams, State, genesis
from spec.units import MilliSen, Nonce


def _key(i: int) -> bytes:
    return i.to_bytes(32, "big")


def _state(entries: int) -> State:
    operator = public_key_of(bytes(32))  # genesis asks for a valid key (ACC-02)
    params = ChainParams("kwhledger-bench", 1200, 1800, operator)
    state = genesis(params, {operator: 1}, 1_764_255_600)
    accounts = {_key(i): Account(8, Nonce(0), MilliSen(i), _key(i)) for i in range(entries)}
    accounts[operator] = state.accounts[operator]
    return replace(state, accounts=FrozenMap(accounts))


def _seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure(entries: int, writes: int = 7) -> dict[str, Any]:
    """Milliseconds of one write and of the root, on a state of ``entries`` accounts."""
    from spec import state as state_module

    state = _state(entries)
    table = state.accounts
    record = Account(8, Nonce(1), MilliSen(1), _key(1))
    set_ms = statistics.median(
        1000 * _seconds(lambda i=i: table.set(_key(i * 7919 % entries), record))  # type: ignore[misc]
        for i in range(writes)
    )
    out: dict[str, Any] = {"entries": entries, "set_ms": set_ms}
    out["root_first_ms"] = 1000 * _seconds(lambda: state_module.state_root(state))
    changed = replace(state, accounts=state.accounts.set(_key(entries // 2), record))
    out["root_after_one_change_ms"] = 1000 * _seconds(lambda: state_module.state_root(changed))
    scratch = getattr(state_module, "state_root_from_scratch", None)
    if scratch is not None:
        out["root_from_scratch_ms"] = 1000 * _seconds(lambda: scratch(changed))
    return out


def run(sizes: list[int], progress: Callable[[str], None] = lambda _: None) -> list[dict[str, Any]]:
    rows = []
    for size in sizes:
        progress(f"spec: a table of {size:,} entries")
        rows.append(measure(size))
    return rows
