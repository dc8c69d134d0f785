"""Shared Hypothesis strategies and small builders for tests of the executable spec.

Two kinds of things live here:

* **Strategies that draw boundaries on purpose.** Generic random integers almost never land on the
  second a window closes or on the last Wh of a lot; an off-by-one there survives thousands of
  examples (see PROOFS.md). So every strategy that draws a time, an amount or a quantity mixes the
  edge values (``edge - 1``, ``edge``, ``edge + 1``, the unit's bounds) with ordinary values.
* **Builders** for the test village, for raw transaction envelopes (fields a client would never
  send), for forged blocks, and the assertion helpers that route every rejected input through one
  check: *rejected => the state is exactly as it was*.

Nothing here computes an expected value of a rule: tests compute those by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import astuple, replace
from functools import cache
from typing import Any

from hypothesis import strategies as st

from conformance_tests.scenario import (
    ATTESTATION_WINDOW_S,
    TRADING_CLOSE_S,
    Ledger,
    key_of,
    seed_of,
    small_village,
)
from spec.blocks import BlockReceipt, Header, apply_block, vote_bytes
from spec.cbor import encode
from spec.clearing import advance_clock, advance_clock_settling
from spec.crypto import merkle_root, public_key_of, sign
from spec.errors import Rejected
from spec.rules import RULES_BY_CODE, rule
from spec.settlement import settlement_root
from spec.state import State, state_root
from spec.transactions import Kind, Receipt, apply_transaction, signing_bytes, tx_id
from spec.units import (
    MONEY_MAX_MSEN,
    PRICE_MAX_SEN_PER_KWH,
    SLOT_SECONDS,
    WH_MAX,
    Height,
    Timestamp,
    slot_end,
)
from spec.validators import end_block

# --- The test village (conformance_tests.scenario.small_village) ------------------------------

TRADERS: tuple[str, ...] = ("alice", "bob", "carol", "dave", "erin", "frank")
"""The village's traders; alice .. dave live in zone 1, erin and frank in zone 10."""
SERVICE_POINT: dict[str, int] = {
    "alice": 3,
    "bob": 4,
    "carol": 5,
    "dave": 6,
    "erin": 12,
    "frank": 13,
}
METER: dict[str, int] = {name: node + 100 for name, node in SERVICE_POINT.items()}
"""Each trader's own meter (meter id = service point + 100)."""
ZONE: dict[str, int] = {name: 1 if node < 10 else 10 for name, node in SERVICE_POINT.items()}
WHEELING_FEE: dict[int, int] = {1: 100, 10: 50}
"""Wheeling fee of each zone in sen/kWh, as small_village registers them."""
METER_CAPACITY_WH = 10_000
"""Every village meter's capacity (the scenario default)."""
START_BALANCE_MSEN = 100_000 * 100_000
"""Each trader's deposit: 100 000 yen in milli-sen."""


@cache
def _village_state() -> tuple[State, tuple[tuple[str, int], ...]]:
    ledger = small_village()
    return ledger.state, tuple(sorted(ledger.nonces.items()))


def village() -> Ledger:
    """A fresh ledger holding the small village (built once; states are immutable)."""
    state, nonces = _village_state()
    return Ledger(state=state, nonces=dict(nonces))


def entry(table: Mapping[Any, Any], key: object) -> Any:
    """The record of a state table under a plain-int key (tables are typed by unit newtypes)."""
    return table[key]


def lookup(table: Mapping[Any, Any], key: object) -> Any:
    """The record under a plain-int key, or None."""
    return table.get(key)


def row(table: Mapping[Any, Any], key: object) -> tuple[Any, ...]:
    """A record's fields as a plain tuple, to compare with values written out by hand."""
    return astuple(table[key])


def last_slot(ledger: Ledger) -> int:
    """The slot that ended most recently: its readings can be attested right now."""
    return ledger.slot - 1


# --- Boundary strategies --------------------------------------------------------------------------


def around(edge: int, low: int = 0, high: int | None = None) -> st.SearchStrategy[int]:
    """``edge - 1``, ``edge`` or ``edge + 1``, kept inside ``[low, high]``."""
    values = [v for v in (edge - 1, edge, edge + 1) if v >= low and (high is None or v <= high)]
    return st.sampled_from(values)


def bounded_ints(maximum: int, minimum: int = 0) -> st.SearchStrategy[int]:
    """Integers of a unit: its bounds, the values next to them, small values and anything."""
    edges = {minimum, minimum + 1, maximum - 1, maximum}
    return st.one_of(
        st.sampled_from(sorted(v for v in edges if minimum <= v <= maximum)),
        st.integers(minimum, min(maximum, minimum + 10_000)),
        st.integers(minimum, maximum),
    )


def money_amounts() -> st.SearchStrategy[int]:
    """Milli-sen amounts at and around 0, 1 and MONEY_MAX_MSEN."""
    return bounded_ints(MONEY_MAX_MSEN)


def wh_amounts() -> st.SearchStrategy[int]:
    """Wh amounts at and around 0, 1 and WH_MAX."""
    return bounded_ints(WH_MAX)


def prices() -> st.SearchStrategy[int]:
    """Prices in sen/kWh at and around 0 and PRICE_MAX_SEN_PER_KWH."""
    return bounded_ints(PRICE_MAX_SEN_PER_KWH)


def attestation_edges(slot: int, window_s: int = ATTESTATION_WINDOW_S) -> list[int]:
    """Clock values around both edges of a slot's attestation window: the slot's end (first
    second allowed, ATT-04) and the window's end (first second refused, ATT-05)."""
    opens = slot_end(slot)
    closes = opens + window_s
    return [opens - 1, opens, opens + 1, closes - 1, closes, closes + 1]


def trading_edges(slot: int, close_s: int = TRADING_CLOSE_S) -> list[int]:
    """Clock values around a slot's trading close (first second refused, ORD-02; clearing)."""
    closes = slot_end(slot) + close_s
    return [closes - 1, closes, closes + 1]


def boundary_times(slot: int) -> st.SearchStrategy[int]:
    """A clock value at or next to an edge of the slot's windows, or anywhere within them."""
    edges = attestation_edges(slot) + trading_edges(slot)
    return st.one_of(
        st.sampled_from(edges),
        st.integers(slot_end(slot) - SLOT_SECONDS, slot_end(slot) + TRADING_CLOSE_S + 60),
    )


def quantities_around(available: int) -> st.SearchStrategy[int]:
    """A quantity at ``available``, ``available - 1``, 1, ``available + 1`` or 0.

    Listed with the acceptable values first: Hypothesis favours the first elements, and a run
    that mostly draws refused quantities exercises little beyond the refusal."""
    values = [available, available - 1, 1, available + 1, 0]
    return st.sampled_from(list(dict.fromkeys(v for v in values if 0 <= v <= WH_MAX)))


def reading_bodies(
    meters: Sequence[int], slots: Sequence[int], capacity_wh: int = METER_CAPACITY_WH
) -> st.SearchStrategy[dict[int, int]]:
    """One reading as its wire map, export and import around the meter's capacity."""
    energy = st.one_of(around(capacity_wh), st.integers(0, capacity_wh), st.just(0))
    return st.fixed_dictionaries(
        {
            0: st.sampled_from(list(meters)),
            1: st.sampled_from(list(slots)),
            2: energy,
            3: energy,
            4: st.sampled_from([0, 0, 0, 1]),  # mostly unencumbered
        }
    )


def ask_bodies(
    meters: Sequence[int], slots: Sequence[int], available: int
) -> st.SearchStrategy[dict[int, int]]:
    """A PLACE_ASK body whose quantity sits around what the lot has unsold."""
    return st.fixed_dictionaries(
        {
            0: st.sampled_from(list(meters)),
            1: st.sampled_from(list(slots)),
            2: quantities_around(available),
            3: st.integers(1_000, 3_000),
        }
    )


def bid_bodies(zones: Sequence[int], slots: Sequence[int]) -> st.SearchStrategy[dict[int, int]]:
    """A PLACE_BID body: a zone (maybe not a substation), a slot, a quantity and a price."""
    return st.fixed_dictionaries(
        {
            0: st.sampled_from(list(zones)),
            1: st.sampled_from(list(slots)),
            2: st.one_of(st.integers(0, 3_000), st.just(1)),
            3: st.integers(1_000, 3_000),
        }
    )


# --- Raw envelopes and forged blocks ------------------------------------------------------------


def raw_transaction(
    *,
    signer: str,
    kind: int,
    nonce: int,
    body: object,
    chain_id: str,
    sender: bytes | None = None,
    sign_kind: Kind | None = None,
) -> bytes:
    """A transaction envelope built field by field, for inputs no client would send.

    ``kind`` may be a number no ``Kind`` has; the signature is then made as if for ``sign_kind``
    (default: ``kind`` itself when it is known, else REGISTER_ACCOUNT).
    """
    who = key_of(signer) if sender is None else sender
    if sign_kind is None:
        sign_kind = Kind(kind) if kind in Kind._value2member_map_ else Kind.REGISTER_ACCOUNT
    signature = sign(seed_of(signer), signing_bytes(chain_id, sign_kind, who, nonce, body))
    return encode({0: chain_id, 1: kind, 2: who, 3: nonce, 4: body, 5: signature})


def forge_block(
    state: State,
    transactions: Sequence[bytes],
    timestamp: int,
    *,
    proposer: str = "validator-1",
    signers: Sequence[str] = ("validator-1",),
    **header_changes: object,
) -> bytes:
    """A block whose header is computed honestly and then changed by ``header_changes``
    (``chain_id``, ``height``, ``parent``, ``timestamp``, ``tx_root``, ``state_root``,
    ``proposer``), signed by ``signers`` in ascending order of their ids.

    The honest state root is computed by running the transactions; if one is rejected the root of
    the state before it is used (the block is then invalid anyway).
    """
    # An honest root needs the clock advanced; for a timestamp in the past, use the state as is.
    after, settlement = advance_clock_settling(state, max(timestamp, state.time))
    for tx in transactions:
        after, receipt = apply_transaction(after, tx)
        if not receipt.accepted:
            break
    after = end_block(replace(after, height=Height(state.height + 1)))
    header = Header(
        chain_id=state.params.chain_id,
        height=Height(state.height + 1),
        parent=state.tip_hash,
        timestamp=Timestamp(timestamp),
        tx_root=merkle_root([tx_id(tx) for tx in transactions]),
        state_root=state_root(after),
        proposer=key_of(proposer),
        settlement_root=settlement_root(settlement),
    )
    header = replace(header, **header_changes)  # type: ignore[arg-type]
    at = int(header.timestamp)
    vote = vote_bytes(header.hash(), at)
    pairs = sorted(
        (public_key_of(seed_of(name)), at, sign(seed_of(name), vote)) for name in signers
    )
    return encode({0: header.to_cbor(), 1: list(transactions), 2: [list(p) for p in pairs]})


# --- "Rejected => unchanged" ----------------------------------------------------------------------


def assert_known_rejection(code: int, rule_id: str | None) -> None:
    """A rejection names a registered validity rule and that rule's own code."""
    assert rule_id is not None, "a rejection must name its rule"
    assert code in RULES_BY_CODE, f"unknown rejection code {code}"
    assert RULES_BY_CODE[code].id == rule_id, f"code {code} does not belong to {rule_id}"


def reject_tx(state: State, tx: bytes, rule_id: str) -> Receipt:
    """Apply ``tx``; assert it is rejected by ``rule_id`` with that rule's code and that the state,
    root included, is unchanged."""
    after, receipt = apply_transaction(state, tx)
    assert (receipt.code, receipt.rule_id) == (rule(rule_id).code, rule_id), receipt
    assert_known_rejection(receipt.code, receipt.rule_id)
    assert after == state
    assert state_root(after) == state_root(state)
    return receipt


def accept_tx(state: State, tx: bytes) -> State:
    """Apply ``tx``; assert it is accepted; return the new state."""
    after, receipt = apply_transaction(state, tx)
    assert receipt.accepted, receipt
    return after


def reject_block(state: State, block: bytes, rule_id: str) -> BlockReceipt:
    """Apply ``block``; assert it is rejected by ``rule_id`` and the state is unchanged."""
    after, receipt = apply_block(state, block)
    assert (receipt.code, receipt.rule_id) == (rule(rule_id).code, rule_id), receipt
    assert_known_rejection(receipt.code, receipt.rule_id)
    assert after == state
    return receipt


def reject_clock(state: State, now: int, rule_id: str) -> None:
    """``advance_clock`` refuses ``now`` with ``rule_id``; the state object is untouched."""
    before = state_root(state)
    try:
        advance_clock(state, now)
    except Rejected as rejection:
        assert rejection.rule.id == rule_id, rejection
        assert rejection.code == rule(rule_id).code
    else:
        raise AssertionError(f"advance_clock({now}) was not rejected")
    assert state_root(state) == before


def send(ledger: Ledger, sender: str, kind: Kind, body: object, rule_id: str) -> Receipt:
    """Sign ``body`` as ``sender`` with its next nonce and expect rejection by ``rule_id``."""
    return reject_tx(ledger.state, ledger.make(sender, kind, body), rule_id)
