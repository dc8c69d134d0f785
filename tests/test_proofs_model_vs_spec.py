"""The Z3 model against the executable spec, on concrete states.

A proof about a model nobody runs proves nothing about the ledger. Here Hypothesis builds small
states through the spec (``conformance_tests.scenario``), draws a transaction of each kind with
fields at the edges that matter (a lot's unsold Wh +- 1, a balance +- 1, a window's last second,
a wrong nonce, an unregistered sender), applies it with the spec, evaluates the model's
transition on the same concrete values (``z3.simplify`` on Store chains), and checks that:

* the model rejects with the same rule as the spec, and accepts exactly when the spec accepts;
* after an accepted transaction, every field of every row the spec's states hold (and every
  ghost total, recomputed from the spec's state) has the same value in the model's post-state.

Clock advances are compared the same way (the spec's ``advance_clock`` against the model's start,
one ``clear_market`` per due market with the auction's encoding, and finish), and the auction's
encoding is compared with ``spec.clearing.call_auction`` on books with ties and pro-rata
remainders, in any presentation order.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance_tests import edwards
from conformance_tests.scenario import Ledger, key_of, seed_of, small_village
from proofs import auction, concrete
from proofs.counterexample import differences
from proofs.model import Ledger as ModelLedger
from proofs.transitions import (
    attest,
    cancel,
    clearing,
    clock,
    correct_reading,
    deposit,
    place_ask,
    place_bid,
    register_account,
    register_meter,
    register_node,
    retire_meter,
    revoke_role,
    rotate_key,
    set_meter_encumbrance,
    transfer,
    validator_update,
    withdraw,
)
from spec.accounts import signing_key
from spec.clearing import (
    AuctionOrder,
    call_auction,
    clear_due_markets,
    eligible_bids,
    ranked_asks,
    ranked_bids,
)
from spec.crypto import is_valid_public_key, sign, verify
from spec.keys import rotation_bytes
from spec.state import ALL_ROLES, Demand, MarketStatus, NodeKind, OrderStatus, Role, Side, State
from spec.transactions import Kind
from spec.units import SLOT_SECONDS, Height, Timestamp, Wh, slot_end
from spec.validators import approval_bytes, end_block, validators


def iv(value: int) -> Any:
    """A Z3 integer literal of a (possibly unit-typed) Python int."""
    return z3.IntVal(int(value))


# --- Situations: small states built through the spec -----------------------------------------


@cache
def _village() -> tuple[State, dict[str, int], int]:
    """The village after one slot's readings and a few orders in both zones."""
    ledger = small_village()
    slot = ledger.slot - 1
    ledger.attest(
        [
            (103, slot, 3000, 0),
            (104, slot, 0, 2500),
            (105, slot, 200, 1000),
            (106, slot, 0, 400),
            (112, slot, 2000, 0),
            (113, slot, 0, 800),
        ]
    )
    ledger.ask("alice", 103, slot, 1000, 2000)
    ledger.ask("alice", 103, slot, 1000, 2400)
    ledger.ask("carol", 105, slot, 200, 2400)
    ledger.bid("bob", 1, slot, 1500, 2500)
    ledger.bid("bob", 1, slot, 500, 2400)
    ledger.bid("dave", 1, slot, 300, 2400)
    ledger.ask("erin", 112, slot, 1500, 1500)
    ledger.bid("frank", 10, slot, 800, 1500)
    assert all(r.accepted for r in ledger.receipts), ledger.receipts
    return ledger.state, dict(ledger.nonces), slot


def fresh_ledger() -> tuple[Ledger, int]:
    state, nonces, slot = _village()
    return Ledger(state, dict(nonces)), slot


PEOPLE = ("alice", "bob", "carol", "dave", "erin", "frank", "operator", "attestor", "mallory")
"""Senders: the traders, the operator, the attestor, and an account that was never registered."""


@st.composite
def situations(draw: st.DrawFn) -> tuple[Ledger, int]:
    """The village, possibly after a clock advance to an edge of the slot's windows."""
    ledger, slot = fresh_ledger()
    end = slot_end(slot)
    params = ledger.state.params
    times = [
        ledger.state.time,
        end + params.attestation_window_s - 1,
        end + params.attestation_window_s,
        end + params.trading_close_s - 1,
        end + params.trading_close_s,
        end + params.trading_close_s + 1,
    ]
    now = draw(mostly(*times))
    if now > ledger.state.time:
        assert ledger.tick(now) is None
    return ledger, slot


def mostly(good: Any, *others: Any) -> st.SearchStrategy[Any]:
    """``good`` four times out of five or so (an input the spec accepts, if the rest is right),
    else one of ``others``: enough accepted examples to compare states after acceptance."""
    return st.sampled_from([good, good, good, good, *others])


def near(values: list[int], low: int = 0, high: int = 2**40) -> st.SearchStrategy[int]:
    """One of ``values`` or a neighbour (v - 1, v + 1), clamped to [low, high]; the values
    themselves come first, which is what Hypothesis tries most."""
    ordered = [*values, *(v + d for d in (-1, 1) for v in values)]
    return st.sampled_from(list(dict.fromkeys(min(high, max(low, v)) for v in ordered)))


# --- Comparing states -------------------------------------------------------------------------


def assert_same_state(
    model_after: ModelLedger, spec_before: State, spec_after: State, ids: concrete.AccountIds
) -> None:
    """Every field of every row either spec state holds, and every ghost, agrees (account ids
    numbered by ``ids``, the numbering the model's pre-state was built with)."""
    assert differences(model_after, spec_before, spec_after, ids) == []


@dataclass
class Outcome:
    accepted: bool
    rule_id: str | None


def model_outcome(transition: Any) -> Outcome:
    """The first guard that fails (the rejection), or acceptance."""
    for rule_id, guard in transition.guards:
        if not concrete.value(guard):
            return Outcome(False, rule_id)
    return Outcome(True, None)


def ids_for(state: State) -> concrete.AccountIds:
    """The same numbering the model state of ``state`` gets (sorted registered keys first)."""
    ids = concrete.AccountIds()
    for key in sorted(state.accounts):
        ids(key)
    return ids


def compare(
    ledger: Ledger,
    sender: str,
    kind: Kind,
    body: dict[int, Any],
    module: Any,
    make_tx: Any,
    nonce_offset: int = 0,
) -> Outcome:
    """Apply ``body`` with the spec and the model; check they agree; return the outcome."""
    before = ledger.state
    ids = ids_for(before)
    nonce = ledger.nonces.get(sender, 0) + nonce_offset
    receipt = ledger.submit(ledger.make(sender, kind, body, nonce=max(0, nonce)), sender)
    model_state = concrete.encode(before, ids)
    tx = make_tx(ids, ids(key_of(sender)), max(0, nonce))
    transition = module.step(model_state, tx)
    outcome = model_outcome(transition)
    assert outcome.rule_id == receipt.rule_id, (kind.name, body, outcome, receipt)
    assert outcome.accepted == receipt.accepted
    if receipt.accepted:
        assert_same_state(transition.after, before, ledger.state, ids)
    return outcome


ACCEPTED: dict[str, int] = {}
"""Accepted examples per kind across the run (a test that accepts nothing checks nothing)."""


def _count(kind: str, outcome: Outcome) -> None:
    ACCEPTED[kind] = ACCEPTED.get(kind, 0) + int(outcome.accepted)


SMALL = settings(max_examples=25)


# --- One test per kind ------------------------------------------------------------------------


@SMALL
@given(situations(), st.data())
def test_money_transfers_match_the_spec(situation: tuple[Ledger, int], data: st.DataObject) -> None:
    ledger, _ = situation
    sender = data.draw(st.sampled_from(PEOPLE))
    to = data.draw(st.sampled_from(PEOPLE))
    balance = ledger.state.accounts.get(key_of(sender))
    amount = data.draw(near([1, balance.balance if balance else 5, 0]))
    offset = data.draw(mostly(0, 1, -1))
    for which in ["transfer", "withdraw", "deposit"]:

        def tx_transfer(ids: Any, s: int, n: int) -> transfer.Tx:
            return transfer.Tx(iv(s), iv(n), iv(ids(key_of(to))), iv(amount))

        def tx_withdraw(ids: Any, s: int, n: int) -> withdraw.Tx:
            return withdraw.Tx(iv(s), iv(n), iv(amount))

        def tx_deposit(ids: Any, s: int, n: int) -> deposit.Tx:
            return deposit.Tx(iv(s), iv(n), iv(ids(key_of(to))), iv(amount))

        if which == "transfer":
            body = {0: key_of(to), 1: amount}
            outcome = compare(ledger, sender, Kind.TRANSFER, body, transfer, tx_transfer, offset)
        elif which == "withdraw":
            outcome = compare(
                ledger, sender, Kind.WITHDRAW, {0: amount}, withdraw, tx_withdraw, offset
            )
        else:
            body = {0: key_of(to), 1: amount}
            outcome = compare(ledger, "operator", Kind.DEPOSIT, body, deposit, tx_deposit, offset)
        _count(which, outcome)


def test_self_transfer_matches_the_spec() -> None:
    """The aliasing case on purpose: a transfer to oneself changes nothing but the nonce."""
    ledger, _ = fresh_ledger()
    amount = ledger.state.accounts[key_of("alice")].balance

    def tx(ids: Any, s: int, n: int) -> transfer.Tx:
        return transfer.Tx(iv(s), iv(n), iv(s), iv(amount))

    body = {0: key_of("alice"), 1: amount}
    assert compare(ledger, "alice", Kind.TRANSFER, body, transfer, tx).accepted


def open_bid_room(state: State, owner: bytes, zone: int, slot: int) -> int:
    """The sender's import in the market not yet claimed or held by its open bids (BID-04)."""
    demand = state.demand.get((owner, zone, slot))  # type: ignore[call-overload]
    held = sum(
        o.quantity_wh
        for o in state.orders.values()
        if o.status is OrderStatus.OPEN
        and o.side is Side.BID
        and (o.owner, o.zone, o.slot) == (owner, zone, slot)
    )
    return max(0, (demand.imported_wh - demand.claimed_wh if demand else 0) - held)


@SMALL
@given(situations(), st.data())
def test_orders_match_the_spec(situation: tuple[Ledger, int], data: st.DataObject) -> None:
    ledger, slot = situation
    state = ledger.state
    sender = data.draw(st.sampled_from(PEOPLE))
    for which in ["ask", "bid", "cancel"]:
        offset = data.draw(mostly(0, -1, 1))
        limit = data.draw(near([2400, 1500, 0, 10**6], 0, 10**6))
        if which == "ask":
            meter = data.draw(mostly(103, 104, 105, 112, 999))
            lot_slot = data.draw(mostly(slot, slot + 1))
            lot = state.lots.get((meter, lot_slot))
            if lot is not None and data.draw(st.integers(0, 3)) > 0:  # mostly the lot's owner
                sender = next(p for p in PEOPLE if key_of(p) == lot.owner)
            unsold = lot.unsold_wh if lot else 10
            # Quantities the wire can carry: the model has no decoder, so a negative quantity
            # (ENC-15 in the spec) is not one of its inputs.
            edges = (unsold, 1, min(unsold + 1, Wh.MAX), max(unsold - 1, 0), 0)
            quantity = data.draw(mostly(*edges))
            body = {0: meter, 1: lot_slot, 2: quantity, 3: limit}

            def tx_ask(
                ids: Any, s: int, n: int, v: Any = (meter, lot_slot, quantity, limit)
            ) -> place_ask.Tx:
                return place_ask.Tx(iv(s), iv(n), *map(iv, v))

            outcome = compare(ledger, sender, Kind.PLACE_ASK, body, place_ask, tx_ask, offset)
        elif which == "bid":
            sender = data.draw(mostly("bob", "frank", "dave", *PEOPLE))
            zone = data.draw(mostly(1, 10, 2, 77))
            balance = state.accounts.get(key_of(sender))
            fee = state.nodes[zone].wheeling_fee if zone in state.nodes else 0
            affordable = (balance.balance if balance else 0) // max(1, limit + fee)
            most = min(affordable, Wh.MAX)
            # BID-04: what the sender's import in the market still backs, and one more
            backed = open_bid_room(state, key_of(sender), zone, slot)
            quantity = data.draw(mostly(min(backed, most), most, most + 1, backed + 1, 1, 0))
            body = {0: zone, 1: slot, 2: quantity, 3: limit}

            def tx_bid(
                ids: Any, s: int, n: int, v: Any = (zone, slot, quantity, limit)
            ) -> place_bid.Tx:
                return place_bid.Tx(iv(s), iv(n), *map(iv, v))

            outcome = compare(ledger, sender, Kind.PLACE_BID, body, place_bid, tx_bid, offset)
        else:
            order = data.draw(st.integers(1, state.next_order_id))
            owner = state.orders[order].owner if order in state.orders else None  # type: ignore[index]
            if owner is not None and data.draw(st.integers(0, 3)) > 0:  # mostly the owner
                sender = next(p for p in PEOPLE if key_of(p) == owner)

            def tx_cancel(ids: Any, s: int, n: int, order: int = order) -> cancel.Tx:
                return cancel.Tx(iv(s), iv(n), iv(order))

            outcome = compare(ledger, sender, Kind.CANCEL, {0: order}, cancel, tx_cancel, offset)
        _count(which, outcome)


@settings(max_examples=40)
@given(situations(), st.data())
def test_attestation_matches_the_spec(situation: tuple[Ledger, int], data: st.DataObject) -> None:
    ledger, slot = situation
    sender = data.draw(mostly("attestor", "alice"))
    count = data.draw(mostly(1, 2, 3))
    readings = []
    for _ in range(count):
        meter = data.draw(mostly(103, 104, 106, 113, 999))
        reading_slot = data.draw(mostly(slot - 1, slot - 2, slot, slot + 1))
        exported = data.draw(mostly(700, 0, 1, 9_999, 10_000, 10_001))
        imported = data.draw(mostly(800, 0, 1, 10_000, 10_001))
        encumbrance = data.draw(st.integers(0, 3))
        readings.append((meter, reading_slot, exported, imported, encumbrance))
    body = {0: [{0: m, 1: s, 2: e, 3: i, 4: c} for m, s, e, i, c in readings]}

    def tx(ids: Any, s: int, n: int) -> attest.Tx:
        model_readings = tuple(attest.MeterReading(*map(iv, reading)) for reading in readings)
        return attest.Tx(iv(s), iv(n), model_readings)

    _count("attest", compare(ledger, sender, Kind.ATTEST, body, attest, tx))


@SMALL
@given(situations(), st.data())
def test_registrations_match_the_spec(situation: tuple[Ledger, int], data: st.DataObject) -> None:
    ledger, _ = situation
    operator = data.draw(mostly("operator", "alice"))
    for which in ["account", "node", "meter"]:
        if which == "account":
            name = data.draw(mostly("newcomer", "bob", "another"))
            key = key_of(name) if data.draw(mostly(True, False)) else bytes(32)
            roles = data.draw(mostly(8, 1, 2, 15, 0, 16, 9))
            body: dict[int, Any] = {0: key, 1: roles}

            def tx_account(
                ids: Any, s: int, n: int, roles: int = roles, key: bytes = key
            ) -> register_account.Tx:
                valid = roles != 0 and roles & ~ALL_ROLES == 0
                flags = [
                    bool(roles & r)
                    for r in (Role.OPERATOR, Role.ATTESTOR, Role.TRADER, Role.VALIDATOR)
                ]
                return register_account.Tx(
                    iv(s),
                    iv(n),
                    iv(ids(key)),
                    z3.BoolVal(is_valid_public_key(key)),
                    z3.BoolVal(valid),
                    *map(z3.BoolVal, flags),
                )

            outcome = compare(
                ledger, operator, Kind.REGISTER_ACCOUNT, body, register_account, tx_account
            )
        elif which == "node":
            node = data.draw(mostly(20, 7, 1, 2, 21))
            kind = data.draw(mostly(NodeKind.TRANSFORMER, *NodeKind))
            parent = data.draw(mostly(2, 1, 10, 3, 99, None))
            fee = data.draw(mostly(0, 70))
            body = {0: node, 1: int(kind), 2: parent, 3: fee}

            v = (node, int(kind), -1 if parent is None else parent, fee)

            def tx_node(ids: Any, s: int, n: int, v: Any = v) -> register_node.Tx:
                return register_node.Tx(iv(s), iv(n), *map(iv, v))

            outcome = compare(ledger, operator, Kind.REGISTER_NODE, body, register_node, tx_node)
        else:
            meter = data.draw(mostly(150, 103))
            owner = data.draw(mostly("alice", "attestor", "mallory"))
            attestor = data.draw(mostly("attestor", "bob"))
            node = data.draw(mostly(3, 13, 2, 40))
            capacity = data.draw(mostly(5000, 1, 0))
            encumbrance = data.draw(mostly(0, 1))
            source = data.draw(mostly(1, 0))  # the village's meters are solar (MTR-06)
            body = {0: meter, 1: key_of(owner), 2: key_of(attestor), 3: node, 4: source}
            body[5], body[6] = capacity, encumbrance
            twins = [
                m for m in ledger.state.meters.values() if (m.node, m.source) == (node, source)
            ]
            point_free = all(m.retired_from is not None for m in twins)
            first_slot = max((m.retired_from or 0 for m in twins), default=0)

            people = (owner, attestor)
            numbers = (meter, node, capacity, encumbrance, first_slot)

            def tx_meter(
                ids: Any,
                s: int,
                n: int,
                people: Any = people,
                numbers: Any = numbers,
                free: bool = point_free,
            ) -> register_meter.Tx:
                meter, node, capacity, encumbrance, first = numbers
                owner, attestor = (ids(key_of(p)) for p in people)
                v = (meter, owner, attestor, node, capacity, encumbrance)
                return register_meter.Tx(iv(s), iv(n), *map(iv, v), z3.BoolVal(free), iv(first))

            outcome = compare(ledger, operator, Kind.REGISTER_METER, body, register_meter, tx_meter)
        _count(which, outcome)


# --- The validator set: validator_update and the end of a block ------------------------------

COUNCIL = ("validator-1", "validator-2", "validator-3", "validator-4")


@cache
def _council(size: int) -> tuple[State, dict[str, int]]:
    """The village governed by the first ``size`` validators of the council (four is the fewest
    that can change by one, VAL-07)."""
    ledger = small_village(Ledger.new(validators=COUNCIL[:size]))
    return ledger.state, dict(ledger.nonces)


def approvals_drawn(
    data: st.DataObject, ledger: Ledger, sender: str, account: bytes, power: int
) -> list[tuple[bytes, bytes]]:
    """Approvals around VAL-04 and VAL-05: two thirds of the council or one fewer, a trader's,
    one listed twice, out of order, or signed for another nonce."""
    nonce = ledger.nonces.get(sender, 0) + data.draw(mostly(0, 1))
    chain = ledger.state.params.chain_id
    names = data.draw(mostly(COUNCIL[:3], COUNCIL, COUNCIL[:2], (*COUNCIL[:2], "alice"), ()))
    message = approval_bytes(chain, key_of(sender), nonce, account, power)
    pairs = sorted((key_of(name), sign(seed_of(name), message)) for name in names)
    how = data.draw(mostly("as is", "twice", "reversed"))
    if how == "twice" and pairs:
        pairs = sorted([*pairs, pairs[0]])
    elif how == "reversed":
        pairs.reverse()
    return pairs


def update_tx(
    state: State, sender: str, account: bytes, power: int, pairs: list[tuple[bytes, bytes]]
) -> Any:
    """The model's transaction: what VAL-04 and VAL-05 count of the approvals listed."""
    current = set(validators(state))
    nonce = state.accounts[key_of(sender)].nonce if key_of(sender) in state.accounts else 0
    message = approval_bytes(state.params.chain_id, key_of(sender), nonce, account, power)
    good = [k for k, sig in pairs if k in current and verify(signing_key(state, k), message, sig)]
    ids = [k for k, _ in pairs]

    def make(ids_of: Any, s: int, n: int) -> validator_update.Tx:
        return validator_update.Tx(
            iv(s),
            iv(n),
            iv(ids_of(account)),
            iv(power),
            z3.BoolVal(is_valid_public_key(account)),
            iv(len(pairs)),
            z3.BoolVal(ids == sorted(set(ids))),
            iv(len(good)),
            iv(len(set(good))),
        )

    return make


def model_end_block(before: State) -> ModelLedger:
    result = validator_update.end_block(concrete.encode(before, ids_for(before)))
    assert model_outcome(result).accepted
    return result.after


@settings(max_examples=60)
@given(st.data())
def test_validator_updates_and_block_ends_match_the_spec(data: st.DataObject) -> None:
    state, nonces = _council(data.draw(mostly(4, 3)))
    ledger = Ledger(state, dict(nonces))
    if len(validators(state)) > 3 and data.draw(mostly(False, True)):  # pending: VAL-06
        removal = ledger.validator_update("validator-2", key_of("validator-4"), 0, COUNCIL[:3])
        assert ledger.submit(removal, "validator-2").accepted
    sender = data.draw(mostly("validator-1", "validator-3", "alice", "mallory"))
    account = data.draw(
        mostly(key_of("validator-5"), key_of("validator-2"), key_of("alice"), bytes(32))
    )
    power = data.draw(mostly(0 if account in ledger.state.accounts else 1, 1, 0))
    if account in validators(ledger.state):
        power = data.draw(mostly(0, 1))
    pairs = approvals_drawn(data, ledger, sender, account, power)
    body = {0: account, 1: power, 2: [list(p) for p in pairs]}
    make = update_tx(ledger.state, sender, account, power, pairs)
    outcome = compare(ledger, sender, Kind.VALIDATOR_UPDATE, body, validator_update, make)
    _count("validator_update", outcome)
    # Two block ends: the change is not due after the first, takes effect after the second.
    for _ in range(2):
        before = ledger.state
        ledger.state = end_block(replace(before, height=Height(before.height + 1)))
        assert_same_state(model_end_block(before), before, ledger.state, ids_for(before))
        changed = set(validators(before)) ^ set(validators(ledger.state))
        ACCEPTED["end_block"] = ACCEPTED.get("end_block", 0) + int(bool(changed))


@SMALL
@given(situations(), st.data())
def test_meter_changes_match_the_spec(situation: tuple[Ledger, int], data: st.DataObject) -> None:
    """Two encumbrance changes (replacing, folding or refused by MTR-10, with a clock advance
    between them or not), then a retirement, each compared with the model."""
    ledger, _ = situation
    sender = data.draw(mostly("operator", "alice"))
    window = ledger.state.params.attestation_window_s
    for which in ["encumbrance", "encumbrance", "retire"]:
        now = ledger.slot
        meter = data.draw(mostly(103, 112, 999))
        from_slot = data.draw(mostly(now, now + 1, now - 1, now + 3))
        if which == "retire":
            body: dict[int, Any] = {0: meter, 1: from_slot}

            def tx_retire(ids: Any, s: int, n: int, v: Any = (meter, from_slot)) -> retire_meter.Tx:
                return retire_meter.Tx(iv(s), iv(n), *map(iv, v))

            outcome = compare(ledger, sender, Kind.RETIRE_METER, body, retire_meter, tx_retire)
        else:
            encumbrance = data.draw(mostly(1, 0, 2))
            body = {0: meter, 1: from_slot, 2: encumbrance}

            def tx_change(
                ids: Any, s: int, n: int, v: Any = (meter, from_slot, encumbrance)
            ) -> set_meter_encumbrance.Tx:
                return set_meter_encumbrance.Tx(iv(s), iv(n), *map(iv, v))

            outcome = compare(
                ledger, sender, Kind.SET_METER_ENCUMBRANCE, body, set_meter_encumbrance, tx_change
            )
            if data.draw(st.booleans()):  # past the window of the slots before the change
                assert ledger.tick(ledger.state.time + 3 * SLOT_SECONDS + window) is None
        _count(which, outcome)


@SMALL
@given(situations(), st.data())
def test_key_rotation_and_revocation_match_the_spec(
    situation: tuple[Ledger, int], data: st.DataObject
) -> None:
    """ROTATE_KEY to fresh, used and invalid keys (every proof made by the new key: KEY-03 is
    outside the model), then REVOKE_ROLE of every role by the operator or a trader."""
    ledger, _ = situation
    sender = data.draw(mostly("alice", "bob", "operator", "validator-1"))
    new = data.draw(mostly("fresh-key", "bob", sender, "order-4"))
    nonce = ledger.nonces.get(sender, 0)
    if new == "order-4":
        key, proof = edwards.ORDER_4_KEY, bytes(64)
    else:
        key = key_of(new)
        message = rotation_bytes(ledger.state.params.chain_id, key_of(sender), nonce, key)
        proof = sign(seed_of(new), message)

    def tx_rotate(ids: Any, s: int, n: int) -> rotate_key.Tx:
        return rotate_key.Tx(iv(s), iv(n), iv(ids(key)), z3.BoolVal(is_valid_public_key(key)))

    body: dict[int, Any] = {0: key, 1: proof}
    outcome = compare(ledger, sender, Kind.ROTATE_KEY, body, rotate_key, tx_rotate)
    _count("rotate", outcome)
    revoker = data.draw(mostly("operator", "alice"))
    if ledger.state.accounts[key_of(revoker)].key != key_of(revoker):
        return  # it rotated: its name's key signs no more (TX-04, outside the model)
    account = data.draw(mostly("bob", "attestor", "ivan", "operator", "validator-1"))
    role = data.draw(mostly(int(Role.TRADER), int(Role.ATTESTOR), 4, 1, 0))
    revoke_body: dict[int, Any] = {0: key_of(account), 1: role}

    def tx_revoke(ids: Any, s: int, n: int) -> revoke_role.Tx:
        return revoke_role.Tx(iv(s), iv(n), iv(ids(key_of(account))), iv(role))

    outcome = compare(ledger, revoker, Kind.REVOKE_ROLE, revoke_body, revoke_role, tx_revoke)
    _count("revoke", outcome)


@SMALL
@given(situations(), st.data())
def test_corrections_match_the_spec(situation: tuple[Ledger, int], data: st.DataObject) -> None:
    """Two corrections in a row (the second may correct the first), compared with the model."""
    ledger, slot = situation
    sender = data.draw(mostly("attestor", "alice"))
    for _ in range(2):
        meter = data.draw(mostly(104, 106, 113, 103, 999))  # 103's lot has asks (COR-03)
        reading_slot = data.draw(mostly(slot, slot - 1, slot + 1))
        exported = data.draw(mostly(700, 0, 3000, 10_001))
        imported = data.draw(mostly(400, 0, 2500, 1999, 10_001))
        encumbrance = data.draw(mostly(0, 1))
        v = (meter, reading_slot, exported, imported, encumbrance)
        body = dict(enumerate(v))

        def tx(ids: Any, s: int, n: int, v: Any = v) -> correct_reading.Tx:
            return correct_reading.Tx(iv(s), iv(n), *map(iv, v))

        outcome = compare(ledger, sender, Kind.CORRECT_READING, body, correct_reading, tx)
        _count("correct", outcome)


# --- Clearing: advance_clock against start, clear_market per due market, finish ------------


def model_advance(before: State, now: int) -> ModelLedger:
    """The model's advance_clock on a concrete state: the auction's encoding decides each due
    market's outcome, settlement applies it."""
    ids = ids_for(before)
    s = concrete.encode(before, ids)
    started = clock.start(s, clock.Tx(iv(now)))
    assert model_outcome(started).accepted
    s = started.after
    due = sorted(
        (slot, zone)
        for (zone, slot), market in before.markets.items()
        if market.status is MarketStatus.OPEN
        and slot_end(slot) + before.params.trading_close_s <= now
    )
    for slot, zone in due:
        open_orders = sorted(
            (k, o)
            for k, o in before.orders.items()
            if o.zone == zone and o.slot == slot and o.status is OrderStatus.OPEN
        )
        asks = [(k, o) for k, o in open_orders if o.side is Side.ASK]
        bids = [(k, o) for k, o in open_orders if o.side is Side.BID]

        def unclaimed(owner: bytes, zone: int = zone, slot: int = slot) -> int:
            d = before.demand.get((owner, zone, slot), Demand(Wh(0), Wh(0)))  # type: ignore[arg-type]
            return d.imported_wh - d.claimed_wh

        result = auction.call_auction(
            [auction.AuctionOrder(iv(k), iv(o.limit_price), iv(o.quantity_wh)) for k, o in asks],
            [
                auction.AuctionOrder(
                    iv(k),
                    iv(o.limit_price),
                    iv(o.quantity_wh),
                    iv(ids(o.owner)),
                    iv(unclaimed(o.owner)),
                )
                for k, o in bids
            ],
        )
        book = clearing.Book(
            iv(zone),
            iv(slot),
            tuple(iv(k) for k, _ in asks),
            tuple(iv(k) for k, _ in bids),
        )
        outcome = clearing.Outcome(result.price, result.eligible, result.fills)
        step = clearing.step(s, book, outcome)
        assert model_outcome(step).accepted
        s = step.after
    markets = [(iv(z), iv(sl)) for z, sl in sorted(before.markets)]
    finished = clock.finish(s, markets)
    assert model_outcome(finished).accepted
    return finished.after


@settings(max_examples=12)
@given(st.data())
def test_clearing_matches_the_spec(data: st.DataObject) -> None:
    ledger, slot = fresh_ledger()
    # A few more orders at the margin, to reach ties and pro-rata remainders.
    for name, zone, quantity, limit in data.draw(
        st.lists(
            st.tuples(
                st.sampled_from(["bob", "dave", "frank"]),
                st.sampled_from([1, 10]),
                st.integers(1, 700),
                st.sampled_from([1500, 2000, 2400, 2500]),
            ),
            max_size=3,
        )
    ):
        ledger.bid(name, zone, slot, quantity, limit)
    if data.draw(st.booleans()):
        ledger.cancel("alice", 1)
    before = ledger.state
    close = slot_end(slot) + before.params.trading_close_s
    now = data.draw(st.sampled_from([close - 1, close, close + SLOT_SECONDS]))
    assert ledger.tick(now) is None
    # The model's finish is the advance without its pruning step: compare it with the spec's
    # cleared state at the new time, then the model's prune with what the spec kept (every
    # reading, lot, order and market; demand rows are outside the model's prune).
    cleared = replace(clear_due_markets(before, now), time=Timestamp(now))
    finished = model_advance(before, now)
    assert_same_state(finished, before, cleared, ids_for(before))
    pruned = clock.prune(finished, iv(now))
    for name, rows, kept in (
        ("reading_exists", before.readings, ledger.state.readings),
        ("lot_exists", before.lots, ledger.state.lots),
        ("market_exists", before.markets, ledger.state.markets),
    ):
        for key in rows:
            assert bool(concrete.read(pruned, name, tuple(key))) == (key in kept), (name, key)
    for order_id in before.orders:
        got = bool(concrete.read(pruned, "order_exists", (order_id,)))
        assert got == (order_id in ledger.state.orders), order_id
    ACCEPTED["clearing"] = ACCEPTED.get("clearing", 0) + int(now >= close)


# --- The auction's encoding against spec.clearing.call_auction -------------------------------


books = st.lists(
    st.tuples(
        st.sampled_from([1000, 1500, 2000, 2400]),  # few prices: many ties
        st.integers(0, 12),  # small quantities: pro-rata remainders
        st.integers(0, 2),  # the buyer
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=60)
@given(books, books, st.lists(st.integers(0, 15), min_size=3, max_size=3), st.randoms())
def test_auction_encoding_matches_the_spec(
    ask_rows: list[tuple[int, int, int]],
    bid_rows: list[tuple[int, int, int]],
    demand: list[int],
    shuffler: Any,
) -> None:
    ids = list(range(1, len(ask_rows) + len(bid_rows) + 1))
    shuffler.shuffle(ids)
    asks = [AuctionOrder(ids[k], limit, q) for k, (limit, q, _) in enumerate(ask_rows)]
    bid_ids = ids[len(ask_rows) :]
    owners = {bid_ids[k]: buyer for k, (_, _, buyer) in enumerate(bid_rows)}
    bids_raw = [AuctionOrder(bid_ids[k], limit, q) for k, (limit, q, _) in enumerate(bid_rows)]

    @dataclass
    class Market:  # what eligible_bids reads of a state
        demand: dict[tuple[Any, int, int], Demand]

    @dataclass
    class BidOrder:  # what eligible_bids reads of an order
        owner: Any
        zone: int
        slot: int
        limit_price: int
        quantity_wh: int

    market = Market({(b, 1, 1): Demand(Wh(demand[b]), Wh(0)) for b in range(3)})
    eligible = eligible_bids(
        market,  # type: ignore[arg-type]
        [
            (b.order_id, BidOrder(owners[b.order_id], 1, 1, b.limit, b.quantity_wh))  # type: ignore[misc]
            for b in bids_raw
        ],
    )
    expected = call_auction(asks, eligible)
    model_bids = [
        auction.AuctionOrder(
            b.order_id, b.limit, b.quantity_wh, owners[b.order_id], demand[owners[b.order_id]]
        )
        for b in bids_raw
    ]
    model_asks = [auction.AuctionOrder(a.order_id, a.limit, a.quantity_wh) for a in asks]
    for presentation in (0, 1):
        if presentation:  # the same book in another order
            shuffler.shuffle(model_asks)
            shuffler.shuffle(model_bids)
        result = auction.call_auction(model_asks, model_bids)
        price = concrete.value(result.price)
        assert concrete.value(result.volume_wh) == expected.volume_wh
        assert price == (-1 if expected.price is None else expected.price)
        orders = [*model_asks, *model_bids]
        got = {o.order_id: concrete.value(f) for o, f in zip(orders, result.fills, strict=True)}
        assert got == expected.fills
        want_eligible = {e.order_id: e.quantity_wh for e in eligible}
        got_eligible = {
            b.order_id: concrete.value(e)
            for b, e in zip(model_bids, result.eligible[len(model_asks) :], strict=True)
        }
        assert got_eligible == want_eligible
    # The ranked encoding (the one the auction obligations use) on the ranked presentation.
    ranked_asks = sorted(model_asks, key=lambda o: (o.limit, o.order_id))
    ranked_bids = sorted(model_bids, key=lambda o: (-o.limit, o.order_id))
    ranked = auction.call_auction(ranked_asks, ranked_bids, ranked=True)
    orders = [*ranked_asks, *ranked_bids]
    got = {o.order_id: concrete.value(f) for o, f in zip(orders, ranked.fills, strict=True)}
    assert got == expected.fills
    assert concrete.value(ranked.price) == (-1 if expected.price is None else expected.price)


@settings(max_examples=40)
@given(
    st.lists(st.sampled_from([1000, 1500, 2000]), min_size=2, max_size=6),
    st.randoms(),
)
def test_ranking_predicates_are_the_spec_sort_keys(limits: list[int], shuffler: Any) -> None:
    """auction/ranking-unique-* and the ranked auction obligations rank by ``ask_before`` and
    ``bid_before``: the spec's ranked_asks / ranked_bids must put every order strictly before
    the next one under them (same limits, many ties, ids in arrival order shuffled)."""
    ids = list(range(1, len(limits) + 1))
    shuffler.shuffle(ids)
    orders = [AuctionOrder(i, limit, 1) for i, limit in zip(ids, limits, strict=True)]
    for ranking, before in ((ranked_asks, auction.ask_before), (ranked_bids, auction.bid_before)):
        ranked = ranking(orders)
        for x, y in itertools.pairwise(ranked):
            mx, my = (auction.AuctionOrder(o.order_id, o.limit, 1) for o in (x, y))
            assert concrete.value(before(mx, my)) is True
            assert concrete.value(before(my, mx)) is False


def _constants(terms: list[Any]) -> set[str]:
    """Names of the free constants in ``terms``."""
    seen: set[int] = set()
    names: set[str] = set()
    stack = list(terms)
    while stack:
        t = stack.pop()
        if t.get_id() in seen:
            continue
        seen.add(t.get_id())
        if z3.is_const(t) and t.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            names.add(t.decl().name())
        stack.extend(t.children())
    return names


def test_the_ranked_encoding_is_a_function_of_the_ranked_sequence() -> None:
    """The arrival-order argument (axiom RANKED): the ranked auction obligations are about a
    function of the ranked lists alone. Their result terms read positions, limits, quantities,
    owners and demand, but no order id (ids act only through the ranking, which
    auction/ranking-unique-* shows to be unique); the unranked encoding does read ids."""
    asks, bids, _ = auction.symbolic_book("book")
    ranked = auction.call_auction(asks, bids, "ranked", ranked=True)
    terms = [*ranked.fills, ranked.price, ranked.volume_wh, *ranked.eligible, *ranked.definitions]
    read = _constants(terms)
    assert {"book.ask0.limit", "book.bid3.quantity", "book.bid0.owner"} <= read
    assert not {n for n in read if n.endswith(".id")}
    unranked = auction.call_auction(asks, bids, "unranked")
    assert {n for n in _constants([*unranked.fills, *unranked.definitions]) if n.endswith(".id")}


def test_every_kind_was_accepted_at_least_once() -> None:
    """Runs last in this module (pytest keeps file order): the comparisons above were not all
    rejections."""
    for kind in ("transfer", "withdraw", "deposit", "ask", "bid", "cancel", "attest"):
        assert ACCEPTED.get(kind, 0) > 0, (kind, ACCEPTED)
    for kind in (
        *("account", "node", "meter", "clearing", "encumbrance", "retire", "correct"),
        *("validator_update", "end_block", "rotate", "revoke"),
    ):
        assert ACCEPTED.get(kind, 0) > 0, (kind, ACCEPTED)
