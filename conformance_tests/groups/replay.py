"""Vectors of who holds power, part 1: replay across geneses and forks (TX-08), validity horizons
(TX-09), the proposer among the signers (BLK-13) and one block per header (BLK-14).

Each attack of the rule book's trust model (chapter 13) that a rule stops has a vector here; the
vector ids are listed in the trust model's attack table.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from conformance_tests.scenario import (
    CHAIN_NAME,
    GENESIS_TIME,
    Ledger,
    key_of,
    seed_of,
    small_village,
)
from conformance_tests.suite import (
    GenerationError,
    Suite,
    block,
    forge_block,
    tick,
    tx,
    village,
    with_validators,
)
from spec.blocks import apply_block
from spec.cbor import decode, encode
from spec.clearing import advance_clock
from spec.state import State, derive_chain_id
from spec.transactions import Kind, make_transaction
from spec.units import TIME_MAX_S, Timestamp

DAY_S = 86_400


def _signed(
    ledger: Ledger, sender: str, kind: Kind, body: Any, valid_until: int | None = None
) -> bytes:
    """``sender``'s next transaction on ``ledger``'s chain, with an optional horizon."""
    return make_transaction(
        seed_of(sender),
        ledger.state.params.chain_id,
        kind,
        ledger.nonces.get(sender, 0),
        body,
        valid_until=valid_until,
    )


def _hard_fork(state: State) -> State:
    """The state restarted as the genesis of a new chain with the same name (TX-08)."""
    named = replace(state, params=replace(state.params, chain_id=CHAIN_NAME))
    return replace(named, params=replace(named.params, chain_id=derive_chain_id(named)))


def group_replay(suite: Suite) -> None:
    """TX-08 and TX-09: a signature is void on another genesis and after its horizon."""

    old = village()
    new = small_village(Ledger.new(time=GENESIS_TIME + 1800))
    if new.state.params.chain_id == old.state.params.chain_id:
        raise GenerationError("two geneses gave one chain id")
    deposit = {0: key_of("alice"), 1: 100}
    suite.negative(
        "replay/TX-01/same-name-new-genesis",
        "A deposit signed on one chain replayed onto a new chain with the same name, the same "
        "operator and the next nonce: its chain id carries the other genesis (TX-08).",
        new.state,
        tx(_signed(old, "operator", Kind.DEPOSIT, deposit)),
        tx(_signed(new, "operator", Kind.DEPOSIT, deposit)),
        "TX-01",
        flags=["replay", "authorization"],
    )
    history = [
        _signed(old, "operator", Kind.DEPOSIT, deposit),
        _signed(old, "alice", Kind.WITHDRAW, {0: 50}),
        _signed(old, "bob", Kind.TRANSFER, {0: key_of("carol"), 1: 7}),
    ]
    suite.add(
        "replay/TX-01/old-history-onto-new-genesis",
        "Three transactions of an old chain (a deposit, a withdrawal, a transfer) sent to a new "
        "chain of the same name: each is rejected and nothing changes.",
        new.state,
        [tx(data) for data in history],
        expect=["TX-01"] * len(history),
        rules=["TX-08"],
        flags=["replay", "authorization"],
    )
    fork = copy_with_state(old, _hard_fork(old.state))
    suite.negative(
        "replay/TX-01/onto-a-hard-fork",
        "The village restarted from its state as a new chain of the same name (a hard fork): a "
        "transfer signed for the old chain is void on the fork.",
        fork.state,
        tx(_signed(old, "alice", Kind.TRANSFER, {0: key_of("bob"), 1: 10})),
        tx(_signed(fork, "alice", Kind.TRANSFER, {0: key_of("bob"), 1: 10})),
        "TX-01",
        flags=["replay", "authorization"],
    )

    v = village()
    now = int(v.state.time)
    horizon = now + 3600
    withdraw = _signed(v, "alice", Kind.WITHDRAW, {0: 1000}, valid_until=horizon)
    at_horizon = advance_clock(v.state, horizon)
    suite.negative(
        "replay/TX-09/withdraw-one-second-late",
        "A withdrawal with a one-hour horizon, applied one second after it.",
        advance_clock(v.state, horizon + 1),
        tx(withdraw),
        tx(withdraw),
        "TX-09",
        twin_pre=at_horizon,
        flags=["replay", "time", "boundary"],
    )
    suite.add(
        "replay/TX-09/withdraw-withheld-30-days",
        "A withdrawal with a one-hour horizon, withheld for 30 days and then sent.",
        v.state,
        [tick(now + 30 * DAY_S), tx(withdraw)],
        expect=[None, "TX-09"],
        flags=["replay", "time"],
    )
    suite.add(
        "replay/valid/withdraw-before-horizon",
        "The same withdrawal sent at once: accepted.",
        v.state,
        [tx(withdraw)],
        expect=[None],
        flags=["valid", "time"],
    )
    envelope = decode(withdraw, max_size=len(withdraw))
    assert isinstance(envelope, dict)
    suite.negative(
        "replay/TX-04/horizon-moved",
        "The horizon of a signed withdrawal moved one day later: the signature covers it.",
        v.state,
        tx(encode({**envelope, 6: horizon + DAY_S})),
        tx(withdraw),
        "TX-04",
        flags=["replay", "signature"],
    )
    suite.negative(
        "replay/ENC-14/horizon-not-a-uint",
        "A horizon that is a text string.",
        v.state,
        tx(encode({**envelope, 6: "soon"})),
        tx(withdraw),
        "ENC-14",
        flags=["encoding"],
    )
    over = _signed(v, "alice", Kind.WITHDRAW, {0: 1000}, valid_until=TIME_MAX_S)
    suite.negative(
        "replay/ENC-15/horizon-past-time-max",
        "A horizon of TIME_MAX_S + 1.",
        v.state,
        tx(encode({**envelope, 6: TIME_MAX_S + 1})),
        tx(over),
        "ENC-15",
        flags=["encoding", "boundary"],
    )


def copy_with_state(ledger: Ledger, state: State) -> Ledger:
    return Ledger(state, dict(ledger.nonces))


def group_block_authority(suite: Suite) -> None:
    """BLK-13 (the proposer signs) and BLK-14 (a block is its header)."""

    v = with_validators("validator-1", "validator-2", "validator-3")
    t = v.state.time + 60
    deposit = v.make("operator", Kind.DEPOSIT, {0: key_of("alice"), 1: 1})
    two = ("validator-1", "validator-2")
    suite.negative(
        "block/BLK-13/proposer-not-among-signers",
        "A block naming validator 3 as its proposer, signed by validators 1 and 2 only.",
        v.state,
        block(forge_block(v.state, [deposit], t, proposer="validator-3", signers=two)),
        block(forge_block(v.state, [deposit], t, proposer="validator-2", signers=two)),
        "BLK-13",
        flags=["block", "authorization"],
    )
    three = (*two, "validator-3")
    two_of_three = forge_block(v.state, [deposit], t, signers=two)
    three_of_three = forge_block(v.state, [deposit], t, signers=three)
    after_two, first = apply_block(v.state, two_of_three)
    after_three, second = apply_block(v.state, three_of_three)
    if not (first.accepted and second.accepted) or after_two != after_three:
        raise GenerationError("two certificates of one header must give one state (BLK-14)")
    following = forge_block(after_two, [], Timestamp(t + 60), signers=two)
    for name, data in (("two-of-three", two_of_three), ("three-of-three", three_of_three)):
        suite.add(
            f"block/BLK-14/{name}-then-the-same-next-block",
            f"The deposit block signed {name.replace('-', ' ')}, then one next block whose bytes "
            "are the same after either certificate: a block is its header hash.",
            v.state,
            [block(data), block(following)],
            expect=[None, None],
            rules=["BLK-14"],
            flags=["block", "valid"],
        )
