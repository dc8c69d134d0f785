"""Random scenarios on a small village, for differential testing (one strategy, two users).

Hypothesis draws a pre-state (the village with readings and open orders, or the same pushed to
its counters' edges) and a sequence of steps: signed transactions of every kind, mostly
plausible so that most are accepted, now and then a bad nonce, mutated bytes or an absurd value;
clock advances; blocks, good and spoiled in one way. Each step is drawn from the state the
executable spec reached so far (``Draft``), so that a scenario stays plausible while Hypothesis
shrinks it, and each step's expected outcome is the spec's.

``kwhledger fuzz`` (``conformance_tests.fuzz``) sends these scenarios to any implementation through
the adapter protocol; ``tests/test_reference_differential.py`` runs them through the reference
node in-process. Values are drawn at the edges on purpose (a lot's unsold Wh and one more, the
order id and nonce space about to run out, money near MONEY_MAX_MSEN).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, Final

from hypothesis import strategies as st

from conformance_tests.adapter import Step
from conformance_tests.scenario import Ledger, key_of, seed_of, small_village
from conformance_tests.spec_adapter import apply_step, state_bytes, state_root
from conformance_tests.vector import Outcome, Vector
from spec.blocks import Header, vote_bytes
from spec.cbor import encode
from spec.clearing import advance_clock, advance_clock_settling
from spec.crypto import merkle_root, public_key_of, sign
from spec.errors import Rejected
from spec.keys import rotation_bytes
from spec.settlement import SettlementRecord, settlement_root
from spec.state import OrderStatus, Role, State
from spec.transactions import Kind, apply_transaction, make_transaction, tx_id
from spec.units import SLOT_SECONDS, Height, MilliSen, Nonce, OrderId, Timestamp
from spec.validators import end_block

VALIDATORS: Final = ("validator-1", "validator-2", "validator-3")
TRADERS: Final = ("alice", "bob", "carol", "dave", "erin", "frank")
NAMES: Final = (*TRADERS, "operator", "attestor", "validator-1", "stranger")
METERS: Final = (103, 104, 105, 106, 112, 113, 999)
OWNER_OF_METER: Final = {
    103: "alice",
    104: "bob",
    105: "carol",
    106: "dave",
    112: "erin",
    113: "frank",
}


# --- Pre-states --------------------------------------------------------------------------------


@cache
def base_states() -> tuple[State, State]:
    """The pre-states a scenario starts from: the village with readings and open orders, and the
    same pushed to its counters' edges (a nonce, the order ids and the deposits near their
    bounds)."""
    ledger = small_village(Ledger.new(validators=VALIDATORS))
    ledger.state = advance_clock(ledger.state, ledger.state.time + 3 * SLOT_SECONDS)
    slot = ledger.slot - 1
    ledger.attest(
        [
            (103, slot, 3000, 0),
            (104, slot, 0, 2500),
            (105, slot, 500, 1000),
            (106, slot, 2000, 10),
            (112, slot, 1500, 0),
            (113, slot, 0, 3000),
        ]
    )
    ledger.ask("alice", 103, slot, 2000, 2000)
    ledger.bid("bob", 1, slot, 2000, 2500)
    ledger.bid("frank", 10, slot, 1000, 1900)
    assert all(receipt.accepted for receipt in ledger.receipts)
    state = ledger.state
    alice = key_of("alice")
    edge_nonce = Nonce(2**63 - 3)
    headroom = 2**63 - 1 - 5000 - state.money_outstanding
    rich = replace(
        state.accounts[alice],
        nonce=edge_nonce,
        balance=MilliSen(state.accounts[alice].balance + headroom),
    )
    edge = replace(
        state,
        accounts=state.accounts.set(alice, rich),
        next_order_id=OrderId(2**63 - 3),
        money_outstanding=MilliSen(state.money_outstanding + headroom),
    )
    return state, edge


# --- Drawing a scenario ------------------------------------------------------------------------


@dataclass
class Draft:
    """A scenario being drawn: the spec's state so far and the steps with their outcomes."""

    pre_state: State
    state: State
    steps: list[tuple[Step, Outcome]] = field(default_factory=list)
    pending: list[bytes] = field(default_factory=list)
    queued: dict[str, int] = field(default_factory=dict)
    focus: str = TRADERS[0]
    """The trader most steps act for."""
    """Transactions per sender waiting in ``pending`` for the next block."""
    seeds: dict[str, bytes] = field(default_factory=dict)
    """The seed of each name's current key, once a rotation of it was accepted (KEY-05)."""
    next_seed: bytes = b""
    """The seed of the key the last drawn ROTATE_KEY rotates to."""

    def apply(self, step: Step) -> Outcome:
        self.state, outcome = apply_step(self.state, step)
        self.steps.append((step, outcome))
        return outcome


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` about seven times in eight, else ``bad``: scenarios lean towards acceptance, and
    shrinking (towards small numbers) leans towards ``good``."""
    return st.integers(0, 7).flatmap(lambda n: bad if n == 7 else good)


amounts = mostly(
    st.integers(1, 3000),
    st.one_of(st.sampled_from([0, 2**63 - 1, 2**63 + 5, 10**9]), st.integers(0, 2**63 + 5)),
)
prices = mostly(
    st.integers(1000, 3000),
    st.one_of(st.sampled_from([0, 1, 1_000_000, 1_000_001]), st.integers(0, 5000)),
)
wh = mostly(
    st.integers(0, 3000), st.one_of(st.sampled_from([4000, 10_000, 10_001]), st.integers(0, 4000))
)

KIND_WEIGHTS: Final = (
    [Kind.ATTEST] * 3
    + [Kind.PLACE_ASK] * 4
    + [Kind.PLACE_BID] * 4
    + [Kind.CANCEL] * 3
    + [Kind.DEPOSIT] * 2
    + [Kind.WITHDRAW, Kind.TRANSFER, Kind.TRANSFER]
    + [Kind.REGISTER_ACCOUNT, Kind.REGISTER_NODE, Kind.REGISTER_METER]
    + [Kind.REVOKE_ROLE, Kind.ROTATE_KEY]
)


def _pick(draw: Any, options: Sequence[Any], fallback: Any) -> Any:
    """One of ``options`` most of the time, else the fallback (an arbitrary, likely bad value)."""
    if options and draw(st.integers(0, 5)) < 5:
        return options[draw(st.integers(0, len(options) - 1))]
    return fallback


@st.composite
def transactions(draw: Any, draft: Draft) -> tuple[str, int, dict[int, Any]]:
    """(sender name, kind, body) of any kind, mostly plausible, sometimes absurd."""
    kind = KIND_WEIGHTS[draw(st.integers(0, len(KIND_WEIGHTS) - 1))]
    # Half the time the scenario's focus: one trader's asks, cancels and bids meet in one market.
    trader = draft.focus if draw(st.booleans()) else draw(st.sampled_from(TRADERS))
    state = draft.state
    now_slot = state.time // SLOT_SECONDS
    slot = now_slot - draw(mostly(st.just(1), st.integers(-2, 6)))
    if kind is Kind.ATTEST:
        fresh = [
            (meter, back)
            for meter in METERS[:-1]
            for back in (now_slot - 1, now_slot - 2)
            if (meter, back) not in state.readings
        ]
        where = st.tuples(
            st.sampled_from(METERS), st.sampled_from([slot - 1, slot - 2, slot, slot + 1])
        )
        readings = draw(
            st.lists(
                st.tuples(
                    mostly(st.sampled_from(fresh), where) if fresh else where,
                    wh,
                    wh,
                    mostly(st.just(0), st.integers(0, 3)),
                ).map(lambda r: (*r[0], *r[1:])),
                min_size=draw(mostly(st.just(1), st.just(0))),
                max_size=4,
                unique_by=(lambda r: (r[0], r[1]))
                if draw(mostly(st.just(True), st.just(False)))
                else None,
            )
        )
        body: dict[int, Any] = {0: [dict(enumerate(r)) for r in readings]}
        return draw(st.sampled_from(["attestor"] * 5 + ["operator"])), int(kind), body
    if kind is Kind.PLACE_ASK:
        open_lots = sorted(k for k, lot in state.lots.items() if lot.unsold_wh > 0)
        own_lots = [k for k in open_lots if OWNER_OF_METER.get(k[0]) == trader]
        open_lots = own_lots if own_lots and draw(st.booleans()) else open_lots
        open_lots = open_lots if draw(mostly(st.just(True), st.just(False))) else sorted(state.lots)
        meter, lot_slot = _pick(draw, open_lots, (draw(st.sampled_from(METERS)), slot))
        lot = state.lots.get((meter, lot_slot))
        top = 4000 if lot is None else lot.unsold_wh + 1
        quantity = draw(mostly(st.integers(1, max(top - 1, 1)), st.sampled_from([0, top, top + 1])))
        body = {0: meter, 1: lot_slot, 2: quantity, 3: draw(prices)}
        return _pick(draw, [OWNER_OF_METER.get(meter, trader)], trader), int(kind), body
    if kind is Kind.PLACE_BID:
        # Often a market where the trader has (or had) an order, or someone who has one in the
        # chosen market: the self-trade rule and the indexes behind it get exercised.
        markets = sorted(state.markets)
        own_markets = sorted(
            {(o.zone, o.slot) for o in state.orders.values() if o.owner == key_of(trader)}
            & set(markets)
        )
        markets = own_markets if own_markets and draw(st.booleans()) else markets
        zone, bid_slot = _pick(draw, markets, (draw(st.sampled_from([1, 10, 2, 77])), slot))
        quantity = draw(
            mostly(st.integers(1, 3000), st.one_of(st.just(0), st.integers(3001, 4000)))
        )
        here = {o.owner for o in state.orders.values() if (o.zone, o.slot) == (zone, bid_slot)}
        bidder = trader if key_of(trader) in here else None
        bidder = bidder or _pick(draw, [n for n in TRADERS if key_of(n) in here], trader)
        return bidder, int(kind), {0: zone, 1: bid_slot, 2: quantity, 3: draw(prices)}
    if kind is Kind.CANCEL:
        open_orders = sorted(
            k for k, order in state.orders.items() if order.status is OrderStatus.OPEN
        )
        own_orders = [k for k in open_orders if state.orders[k].owner == key_of(trader)]
        open_orders = own_orders if own_orders and draw(st.booleans()) else open_orders
        if not draw(mostly(st.just(True), st.just(False))):  # a closed order now and then
            open_orders = sorted(state.orders)
        order_id = _pick(draw, open_orders or sorted(state.orders), draw(st.integers(1, 12)))
        owner = state.orders[order_id].owner if order_id in state.orders else None
        names = [n for n in TRADERS if key_of(n) == owner]
        return _pick(draw, names, trader), int(kind), {0: order_id}
    if kind is Kind.DEPOSIT:
        who = draw(st.sampled_from(NAMES))
        sender = _pick(draw, ["operator"], trader)
        return sender, int(kind), {0: key_of(who), 1: draw(amounts)}
    if kind is Kind.WITHDRAW:
        return trader, int(kind), {0: draw(amounts)}
    if kind is Kind.TRANSFER:
        return trader, int(kind), {0: key_of(draw(st.sampled_from(NAMES))), 1: draw(amounts)}
    if kind is Kind.REGISTER_ACCOUNT:
        who = draw(st.sampled_from([*NAMES, "grace", "heidi"]))
        account = draw(st.sampled_from([key_of(who), bytes(32), bytes([1]) + bytes(31)]))
        roles = draw(st.sampled_from([int(Role.TRADER), 0, 16, 15, int(Role.VALIDATOR)]))
        return "operator", int(kind), {0: account, 1: roles}
    if kind is Kind.ROTATE_KEY:
        # Mostly a fresh key with its proof; else a key in use (KEY-02) or a proof by the old key
        # (KEY-03). Later transactions of the name sign with the new key once it is accepted.
        account = state.accounts.get(key_of(trader))
        nonce = 0 if account is None else int(account.nonce)
        new_name = st.just(f"{trader}/key-{len(draft.steps)}")
        draft.next_seed = seed_of(draw(mostly(new_name, st.sampled_from(NAMES))))
        key = public_key_of(draft.next_seed)
        signer = draw(mostly(st.just(draft.next_seed), st.just(seed_of(trader))))
        proof = sign(signer, rotation_bytes(state.params.chain_id, key_of(trader), nonce, key))
        return trader, int(kind), {0: key, 1: proof}
    if kind is Kind.REVOKE_ROLE:
        who = draw(st.sampled_from([*NAMES, "grace"]))
        role = draw(st.sampled_from([int(Role.ATTESTOR), int(Role.TRADER), 4, 1]))
        return _pick(draw, ["operator"], trader), int(kind), {0: key_of(who), 1: role}
    if kind is Kind.REGISTER_NODE:
        node = draw(st.sampled_from([1, 3, 20, 21, 22]))
        parent = draw(st.sampled_from([None, 1, 2, 3, 20, 50]))
        fee = draw(st.sampled_from([0, 0, 30]))
        return "operator", int(kind), {0: node, 1: draw(st.integers(0, 2)), 2: parent, 3: fee}
    body = {
        0: draw(st.sampled_from([103, 150, 151])),
        1: key_of(draw(st.sampled_from(NAMES))),
        2: key_of(draw(st.sampled_from(["attestor", "alice"]))),
        3: draw(st.sampled_from([3, 2, 21, 88])),
        4: draw(st.integers(0, 3)),
        5: draw(st.sampled_from([0, 1, 5000])),
    }
    return "operator", int(kind), body


def heads(data: bytes) -> list[tuple[int, int]]:
    """(offset, argument) of every integer, length and count head of a well-formed CBOR item
    whose argument is written in the head's own bytes (not simple values)."""
    found: list[tuple[int, int]] = []

    def item(pos: int) -> int:
        major, info = data[pos] >> 5, data[pos] & 0x1F
        width = 0 if info < 24 else 1 << (info - 24)
        argument = info if info < 24 else int.from_bytes(data[pos + 1 : pos + 1 + width], "big")
        if major != 7:
            found.append((pos, argument))
        pos += 1 + width
        if major in (2, 3):
            return pos + argument
        if major == 4:
            for _ in range(argument):
                pos = item(pos)
        if major == 5:
            for _ in range(2 * argument):
                pos = item(pos)
        return pos

    item(0)
    return found


def widened(data: bytes, offset: int, argument: int, width: int) -> bytes:
    """``data`` with the head at ``offset`` rewritten with a ``width``-byte argument (a
    non-shortest encoding of the same value, ENC-02)."""
    info = data[offset] & 0x1F
    old_width = 0 if info < 24 else 1 << (info - 24)
    head = bytes([(data[offset] & 0xE0) | (24 + width.bit_length() - 1)])
    return data[:offset] + head + argument.to_bytes(width, "big") + data[offset + 1 + old_width :]


@st.composite
def mutated(draw: Any, tx: bytes) -> bytes:
    """Bytes near a valid transaction: flipped, cut, extended, re-headed, a head widened, or the
    signature zeroed."""
    how = draw(st.sampled_from(["flip", "cut", "append", "byte", "wrap", "sig", "widen"]))
    at = draw(st.integers(0, len(tx) - 1))
    if how == "widen":
        found = heads(tx)
        large = [head for head in found if head[1] >= 256]  # ids, slots, amounts
        offset, argument = draw(mostly(st.sampled_from(large or found), st.sampled_from(found)))
        fits = [w for w in (8, 4, 2, 1) if argument < 1 << (8 * w)]
        return widened(tx, offset, argument, draw(st.sampled_from(fits)))
    if how == "flip":
        return tx[:at] + bytes([tx[at] ^ (1 << draw(st.integers(0, 7)))]) + tx[at + 1 :]
    if how == "cut":
        return tx[:at]
    if how == "append":
        return tx + bytes(draw(st.binary(min_size=1, max_size=3)))
    if how == "byte":
        return tx[:at] + bytes([draw(st.integers(0, 255))]) + tx[at + 1 :]
    if how == "wrap":
        return bytes([draw(st.sampled_from([0x81, 0xC1, 0xA1, 0x9F, 0xBF]))]) + tx
    return tx[:-64] + bytes(64)


SPOILS: Final = ("none",) * 8 + (
    *("height", "parent", "root", "proposer", "quorum", "signature"),
    *("order", "chain", "txroot", "votetime"),
)
"""How a block is spoiled: one header field, the quorum, a signature, the signatures' order, the
votes' time."""


def _block(draft: Draft, draw: Any) -> Step:
    """A block over the queued transactions, now and then spoiled in one way."""
    state = draft.state
    txs = list(draft.pending)
    draft.pending.clear()
    timestamp = state.time + draw(
        mostly(
            st.sampled_from([0, 60, SLOT_SECONDS, 2 * SLOT_SECONDS, 3 * SLOT_SECONDS]), st.just(-1)
        )
    )
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
    signers = VALIDATORS[: 1 if spoil == "quorum" else 2]
    # Honest votes carry the header's time; "votetime" votes an hour later (TIM-02).
    at = int(header.timestamp) + (3600 if spoil == "votetime" else 0)
    vote = vote_bytes(header.hash(), at)
    pairs = sorted((key_of(v), at, sign(seed_of(v), vote)) for v in signers)
    if spoil == "signature":
        pairs[0] = (pairs[0][0], at, bytes(64))
    if spoil == "order":
        pairs.reverse()
    return Step("block", input=encode({0: header.to_cbor(), 1: txs, 2: [list(p) for p in pairs]}))


STEP_WEIGHTS: Final = (
    ["tx"] * 10 + ["queue"] * 3 + ["block"] * 2 + ["clock", "clock", "bad-nonce", "bytes"]
)
CLOCK_MOVES: Final = mostly(
    st.sampled_from([600, SLOT_SECONDS, 3 * SLOT_SECONDS, 1]), st.sampled_from([0, -5, 2**40])
)


@st.composite
def scenarios(draw: Any, max_steps: int = 24) -> Draft:
    """A pre-state and a sequence of steps, each drawn from the state the spec reached."""
    state = base_states()[draw(st.sampled_from([0, 0, 0, 1]))]
    draft = Draft(state, state, focus=draw(st.sampled_from(TRADERS)))
    for _ in range(draw(st.integers(1, max_steps))):
        what = STEP_WEIGHTS[draw(st.integers(0, len(STEP_WEIGHTS) - 1))]
        if what == "clock":
            draft.apply(Step("tick", time=max(0, draft.state.time + draw(CLOCK_MOVES))))
            continue
        if what == "block":
            draft.apply(_block(draft, draw))
            draft.queued.clear()
            continue
        sender, kind, body = draw(transactions(draft))
        account = draft.state.accounts.get(key_of(sender))
        nonce = 0 if account is None else int(account.nonce)
        if what == "queue":
            nonce += draft.queued.get(sender, 0)
            draft.queued[sender] = draft.queued.get(sender, 0) + 1
        elif what == "bad-nonce" or (what == "bytes" and draw(st.integers(0, 3)) == 3):
            nonce = max(nonce + draw(st.sampled_from([-1, 1])), 0)
        seed = draft.seeds.get(sender, seed_of(sender))
        chain = draft.state.params.chain_id
        tx = make_transaction(seed, chain, Kind(kind), nonce, body, sender=key_of(sender))
        if what == "queue":
            draft.pending.append(tx)
            continue
        if what == "bytes":
            tx = draw(mutated(tx))
        outcome = draft.apply(Step("tx", input=tx))
        if kind == Kind.ROTATE_KEY and outcome.code == 0:
            draft.seeds[sender] = draft.next_seed
    return draft


def replay(pre_state: State, steps: Sequence[Step]) -> Draft:
    """A scenario from concrete steps, its outcomes computed by the spec."""
    draft = Draft(pre_state, pre_state)
    for step in steps:
        draft.apply(step)
    return draft


def vector_of(draft: Draft, vector_id: str, description: str) -> Vector:
    """A drawn scenario as a vector; its expectations are the executable spec's."""
    steps = tuple(draft.steps)
    rejected = sorted({o.rule for _, o in steps if o.rule is not None})
    flags = ["negative" if rejected else "positive", "random"]
    return Vector(
        id=vector_id,
        description=description,
        rules=tuple(rejected),
        flags=tuple(sorted(flags)),
        pre_state=state_bytes(draft.pre_state),
        pre_state_root=state_root(draft.pre_state),
        steps=steps,
        post_state=state_bytes(draft.state),
        post_state_root=state_root(draft.state),
    )
