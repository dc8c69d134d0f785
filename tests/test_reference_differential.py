"""Differential fuzzing: the same random inputs through the executable spec and the reference node.

Hypothesis draws sequences of steps (valid and invalid transactions of every kind, mutated bytes,
clock advances, blocks good and bad) on a small village; each step goes through
``spec.transactions.apply_transaction`` / ``spec.clearing.advance_clock`` /
``spec.blocks.apply_block`` and through ``reference.ledger.Ledger``, and every receipt (code, rule
id) and every state root must agree; at the end the canonical state encodings must be equal byte
for byte. The default profile is modest; ``--hypothesis-profile=heavy`` runs thousands of
sequences.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import cbor2
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance_tests.scenario import Ledger as SpecLedger
from conformance_tests.scenario import key_of, seed_of, small_village
from reference.ledger import Ledger, decode_state
from reference.ledger import encode_state as reference_encoding
from spec.blocks import Header, vote_bytes
from spec.cbor import encode
from spec.clearing import advance_clock, advance_clock_settling
from spec.crypto import merkle_root, sign
from spec.errors import Rejected
from spec.settlement import SettlementRecord, settlement_root
from spec.state import NodeKind, Role, State, encode_state, state_root
from spec.transactions import Kind, apply_transaction, make_transaction, tx_id
from spec.units import SLOT_SECONDS, Height, MilliSen, Nonce, OrderId, Timestamp
from spec.validators import end_block

VALIDATORS = ("validator-1", "validator-2", "validator-3")
TRADERS = ("alice", "bob", "carol", "dave", "erin", "frank")
NAMES = (*TRADERS, "operator", "attestor", "validator-1", "stranger")
METERS = (103, 104, 105, 106, 112, 113, 999)
STATISTICS: Counter[str] = Counter()


def _base() -> SpecLedger:
    ledger = small_village(SpecLedger.new(validators=VALIDATORS))
    ledger.state = advance_clock(ledger.state, ledger.state.time + 3 * SLOT_SECONDS)
    slot = ledger.slot - 1
    readings = [
        (103, slot, 3000, 0),
        (104, slot, 0, 2500),
        (105, slot, 500, 1000),
        (106, slot, 2000, 10),
        (112, slot, 1500, 0),
        (113, slot, 0, 3000),
    ]
    ledger.attest(readings)
    ledger.ask("alice", 103, slot, 2000, 2000)
    ledger.bid("bob", 1, slot, 2000, 2500)
    ledger.bid("frank", 10, slot, 1000, 1900)
    assert all(receipt.accepted for receipt in ledger.receipts)
    return ledger


BASE = _base()


def _edge(ledger: SpecLedger) -> tuple[State, dict[str, int]]:
    """The base village pushed to its counters' edges: order ids and a nonce about to run out,
    deposits about to reach MONEY_MAX_MSEN (withdrawals raised alike, so money still balances)."""
    state = ledger.state
    alice = key_of("alice")
    nonce = Nonce(2**63 - 3)
    accounts = state.accounts.set(alice, replace(state.accounts[alice], nonce=nonce))
    headroom = 2**63 - 1 - 5000 - state.money_outstanding
    alice_now = accounts[alice]
    accounts = accounts.set(alice, replace(alice_now, balance=alice_now.balance + headroom))
    state = replace(
        state,
        accounts=accounts,
        next_order_id=OrderId(2**63 - 3),
        money_outstanding=MilliSen(state.money_outstanding + headroom),
    )
    return state, {**ledger.nonces, "alice": int(nonce)}


EDGE_STATE, EDGE_NONCES = _edge(BASE)
BASES = [
    (BASE.state, encode(encode_state(BASE.state)), dict(BASE.nonces)),
    (EDGE_STATE, encode(encode_state(EDGE_STATE)), EDGE_NONCES),
]


@dataclass
class Pair:
    """The spec's state and the reference's ledger, driven in lockstep."""

    spec: State
    reference: Ledger
    nonces: dict[str, int] = field(default_factory=dict)
    pending: list[bytes] = field(default_factory=list)

    def check_root(self) -> None:
        assert self.reference.state_root() == state_root(self.spec)


def _pair(base: int) -> Pair:
    state, encoding, nonces = BASES[base]
    return Pair(state, decode_state(cbor2.loads(encoding)), dict(nonces))


# --- the steps ----------------------------------------------------------------------------------

amounts = st.one_of(st.integers(0, 3000), st.integers(0, 2**63 + 5), st.sampled_from([2**63 - 1]))
prices = st.one_of(st.integers(0, 5000), st.sampled_from([1_000_000, 1_000_001]))
slots_back = st.integers(-2, 6)


KIND_WEIGHTS = (
    [Kind.ATTEST] * 3
    + [Kind.PLACE_ASK] * 3
    + [Kind.PLACE_BID] * 3
    + [
        Kind.CANCEL,
        Kind.CANCEL,
        Kind.DEPOSIT,
        Kind.WITHDRAW,
        Kind.TRANSFER,
        Kind.REGISTER_ACCOUNT,
        Kind.REGISTER_NODE,
        Kind.REGISTER_METER,
    ]
)
OWNER_OF_METER = {103: "alice", 104: "bob", 105: "carol", 106: "dave", 112: "erin", 113: "frank"}


def _pick(draw: Any, options: list[Any], fallback: Any) -> Any:
    """One of ``options`` most of the time, else the fallback (an arbitrary, likely bad value)."""
    if options and draw(st.integers(0, 3)):
        return options[draw(st.integers(0, len(options) - 1))]
    return fallback


@st.composite
def transactions(draw: Any, pair: Pair) -> tuple[str, int, dict[int, Any]]:
    """(sender name, kind, body) of any kind, mostly plausible, sometimes absurd."""
    kind = KIND_WEIGHTS[draw(st.integers(0, len(KIND_WEIGHTS) - 1))]
    trader = draw(st.sampled_from(TRADERS))
    slot = pair.spec.time // SLOT_SECONDS - draw(slots_back)
    state = pair.spec
    if kind is Kind.ATTEST:
        readings = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(METERS),
                    st.sampled_from([slot - 1, slot - 1, slot - 2, slot, slot + 1]),
                    st.one_of(st.integers(0, 4000), st.sampled_from([10_000, 10_001])),
                    st.one_of(st.integers(0, 4000), st.sampled_from([10_000, 10_001])),
                    st.integers(0, 3),
                ),
                min_size=draw(st.sampled_from([1, 1, 1, 0])),
                max_size=4,
            )
        )
        body: dict[int, Any] = {0: [dict(enumerate(r)) for r in readings]}
        return draw(st.sampled_from(["attestor", "attestor", "operator"])), int(kind), body
    if kind is Kind.PLACE_ASK:
        meter, lot_slot = _pick(draw, sorted(state.lots), (draw(st.sampled_from(METERS)), slot))
        lot = state.lots.get((meter, lot_slot))
        quantity = draw(st.integers(0, 4000 if lot is None else lot.unsold_wh + 2))
        body = {0: meter, 1: lot_slot, 2: quantity, 3: draw(prices)}
        owner = _pick(draw, [OWNER_OF_METER.get(meter, trader)], trader)
        return owner, int(kind), body
    if kind is Kind.PLACE_BID:
        zone, bid_slot = _pick(
            draw, sorted(state.markets), (draw(st.sampled_from([1, 10, 2, 77])), slot)
        )
        quantity = draw(st.integers(0, 4000))
        return trader, int(kind), {0: zone, 1: bid_slot, 2: quantity, 3: draw(prices)}
    if kind is Kind.CANCEL:
        order = _pick(draw, sorted(state.orders), draw(st.integers(1, 12)))
        owner = state.orders[order].owner if order in state.orders else None
        names = [n for n in TRADERS if key_of(n) == owner]
        return _pick(draw, names, trader), int(kind), {0: order}
    if kind is Kind.DEPOSIT:
        who = draw(st.sampled_from(NAMES))
        return (
            draw(st.sampled_from(["operator", trader])),
            int(kind),
            {0: key_of(who), 1: draw(amounts)},
        )
    if kind is Kind.WITHDRAW:
        return trader, int(kind), {0: draw(amounts)}
    if kind is Kind.TRANSFER:
        return trader, int(kind), {0: key_of(draw(st.sampled_from(NAMES))), 1: draw(amounts)}
    if kind is Kind.REGISTER_ACCOUNT:
        who = draw(st.sampled_from([*NAMES, "grace", "heidi"]))
        account = draw(st.sampled_from([key_of(who), bytes(32), bytes([1]) + bytes(31)]))
        roles = draw(st.sampled_from([int(Role.TRADER), 0, 16, 15, int(Role.VALIDATOR)]))
        return "operator", int(kind), {0: account, 1: roles}
    if kind is Kind.REGISTER_NODE:
        node = draw(st.sampled_from([1, 3, 20, 21, 22]))
        parent = draw(st.sampled_from([None, 1, 2, 3, 20, 50]))
        return (
            "operator",
            int(kind),
            {0: node, 1: draw(st.integers(0, 2)), 2: parent, 3: draw(st.sampled_from([0, 0, 30]))},
        )
    meter = draw(st.sampled_from([103, 150, 151]))
    body = {
        0: meter,
        1: key_of(draw(st.sampled_from(NAMES))),
        2: key_of(draw(st.sampled_from(["attestor", "alice"]))),
        3: draw(st.sampled_from([3, 2, 21, 88])),
        4: draw(st.integers(0, 3)),
        5: draw(st.sampled_from([0, 1, 5000])),
    }
    return "operator", int(kind), body


def _sign(pair: Pair, sender: str, kind: int, body: dict[int, Any], nonce_shift: int) -> bytes:
    nonce = max(pair.nonces.get(sender, 0) + nonce_shift, 0)
    return make_transaction(seed_of(sender), pair.spec.params.chain_id, Kind(kind), nonce, body)


@st.composite
def mutations(draw: Any, tx: bytes) -> bytes:
    """Bytes near a valid transaction: flipped, cut, extended or re-headed."""
    how = draw(st.sampled_from(["flip", "cut", "append", "byte", "wrap", "sig"]))
    if how == "flip":
        at = draw(st.integers(0, len(tx) - 1))
        return tx[:at] + bytes([tx[at] ^ (1 << draw(st.integers(0, 7)))]) + tx[at + 1 :]
    if how == "cut":
        return tx[: draw(st.integers(0, len(tx) - 1))]
    if how == "append":
        return tx + bytes(draw(st.binary(min_size=1, max_size=3)))
    if how == "byte":
        at = draw(st.integers(0, len(tx) - 1))
        return tx[:at] + bytes([draw(st.integers(0, 255))]) + tx[at + 1 :]
    if how == "wrap":
        return bytes([draw(st.sampled_from([0x81, 0xC1, 0xA1, 0x9F, 0xBF]))]) + tx
    return bytes(tx[:-64] + bytes(64))


def _apply_tx(pair: Pair, tx: bytes, sender: str | None) -> None:
    pair.spec, expected = apply_transaction(pair.spec, tx)
    got = pair.reference.apply_tx(tx)
    assert (got.code, got.rule_id) == (expected.code, expected.rule_id), (tx.hex(), expected)
    STATISTICS[expected.rule_id or "accepted"] += 1
    if expected.accepted and sender is not None:
        pair.nonces[sender] = pair.nonces.get(sender, 0) + 1


def _apply_clock(pair: Pair, delta: int) -> None:
    now = pair.spec.time + delta
    try:
        pair.spec = advance_clock(pair.spec, now)
        expected = None
    except Rejected as rejection:
        expected = rejection.rule.id
    got = None
    try:
        pair.reference.advance_clock(now)
    except Exception as rejection:  # the reference's own Rejected
        got = getattr(rejection, "rule_id", repr(rejection))
    assert got == expected
    STATISTICS["clock"] += 1


SPOILS = (
    "none",
    "height",
    "none",
    "parent",
    "root",
    "none",
    "proposer",
    "quorum",
    "none",
    "signature",
    "order",
    "chain",
    "txroot",
)


def _block(pair: Pair, draw: Any) -> None:
    """A block over the pending transactions, possibly spoiled in one way."""
    state = pair.spec
    txs = list(pair.pending)
    pair.pending.clear()
    timestamp = state.time + draw(st.sampled_from([0, 60, SLOT_SECONDS, 2 * SLOT_SECONDS, -1]))
    spoil = SPOILS[draw(st.integers(0, len(SPOILS) - 1))]
    after = state
    settlement: tuple[SettlementRecord, ...] = ()
    with contextlib.suppress(Rejected):
        after, settlement = advance_clock_settling(after, max(timestamp, state.time))
    for tx in txs:
        after, _ = apply_transaction(after, tx)
    after = end_block(replace(after, height=Height(state.height + 1)))
    header = Header(
        chain_id="other-chain" if spoil == "chain" else state.params.chain_id,
        height=Height(state.height + (2 if spoil == "height" else 1)),
        parent=bytes(32) if spoil == "parent" else state.tip_hash,
        timestamp=Timestamp(max(timestamp, 0)),
        tx_root=merkle_root([tx_id(tx) for tx in txs[: -1 if spoil == "txroot" else None]]),
        state_root=bytes(32) if spoil == "root" else state_root(after),
        proposer=key_of("alice" if spoil == "proposer" else "validator-2"),
        settlement_root=settlement_root(settlement),
    )
    signers = list(VALIDATORS[: 1 if spoil == "quorum" else 2])
    vote = vote_bytes(header.hash())
    pairs = sorted((key_of(v), sign(seed_of(v), vote)) for v in signers)
    if spoil == "signature":
        pairs[0] = (pairs[0][0], bytes(64))
    if spoil == "order":
        pairs.reverse()
    block = encode({0: header.to_cbor(), 1: txs, 2: [list(p) for p in pairs]})
    from spec.blocks import apply_block

    pair.spec, expected = apply_block(state, block)
    got = pair.reference.apply_block(block)
    assert (got.code, got.rule_id) == (expected.code, expected.rule_id), (spoil, expected)
    assert [(r.code, r.rule_id) for r in got.receipts] == [
        (r.code, r.rule_id) for r in expected.receipts
    ]
    STATISTICS[f"block {expected.rule_id or 'accepted'}"] += 1
    if expected.accepted:
        for tx in txs:  # nonces of accepted transactions moved
            decoded = cbor2.loads(tx)
            for name in NAMES:
                if key_of(name) == decoded[2]:
                    pair.nonces[name] = decoded[3] + 1


STEPS = ["tx"] * 6 + ["mutant", "clock", "block", "queue", "queue", "nonce"]


@st.composite
def steps(draw: Any, pair: Pair) -> None:
    """Run one step on the pair (drawing lets each step depend on the state so far)."""
    what = STEPS[draw(st.integers(0, len(STEPS) - 1))]
    if what == "clock":
        _apply_clock(
            pair, draw(st.sampled_from([0, 1, 600, SLOT_SECONDS, 3 * SLOT_SECONDS, -5, 2**40]))
        )
    elif what == "block":
        _block(pair, draw)
    else:
        sender, kind, body = draw(transactions(pair))
        shift = draw(st.sampled_from([-1, 1])) if what == "nonce" else 0
        tx = _sign(pair, sender, kind, body, shift)
        if what == "mutant":
            _apply_tx(pair, draw(mutations(tx)), None)
        elif what == "queue":
            pair.pending.append(tx)
        else:
            _apply_tx(pair, tx, sender)
    pair.check_root()


@settings(max_examples=2 * settings().max_examples)
@given(st.data())
def test_reference_agrees_with_the_spec_on_random_sequences(data: st.DataObject) -> None:
    pair = _pair(data.draw(st.sampled_from([0, 0, 0, 1]), label="base"))
    pair.check_root()
    for _ in range(data.draw(st.integers(1, 30), label="length")):
        data.draw(steps(pair))
    assert reference_encoding(pair.reference) == encode(encode_state(pair.spec))
    STATISTICS["markets cleared with trades"] += sum(
        1 for market in pair.spec.markets.values() if market.price is not None
    )


def test_reference_replays_the_village_setup_with_the_same_receipts() -> None:
    """Registration of accounts, nodes and meters and deposits, through the reference itself."""
    spec_ledger = SpecLedger.new(validators=VALIDATORS)
    params = spec_ledger.state.params
    reference = Ledger(
        params.chain_id,
        params.attestation_window_s,
        params.trading_close_s,
        params.fee_account,
        spec_ledger.state.time,
        {key: account.roles for key, account in spec_ledger.state.accounts.items()},
    )
    assert reference.state_root() == state_root(spec_ledger.state)
    submitted: list[bytes] = []
    original = spec_ledger.submit

    def submit(tx: bytes, sender: str | None = None) -> Any:
        submitted.append(tx)
        return original(tx, sender)

    spec_ledger.submit = submit  # type: ignore[method-assign]
    small_village(spec_ledger)
    spec_ledger.node(30, NodeKind.SERVICE_POINT, 99)
    for tx, expected in zip(submitted, spec_ledger.receipts, strict=True):
        got = reference.apply_tx(tx)
        assert (got.code, got.rule_id) == (expected.code, expected.rule_id)
    assert reference.state_root() == state_root(spec_ledger.state)
    assert spec_ledger.receipts[-1].rule_id == "GRD-02"
