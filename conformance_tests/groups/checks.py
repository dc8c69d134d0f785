"""The ``checks`` vectors: one input that breaks two rules, expecting the first in chapter 10.

Every vector here carries two faults A and B, where A comes before B in the rule book's order of
checks (chapter 10 and section 9.2), and expects A. The generator also applies a companion input
with only fault B (named in the description) and requires that it is rejected by B, so that each
vector really carries the second fault. For a list of checks, one such vector per pair of
neighbours pins the whole order: an implementation that checks in any other order inverts at
least one neighbouring pair, and reports B on that pair's vector.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from conformance_tests import edwards
from conformance_tests.adapter import Step
from conformance_tests.scenario import key_of, seed_of
from conformance_tests.spec_adapter import apply_step
from conformance_tests.suite import (
    GenerationError,
    Suite,
    block,
    envelope_entries,
    forge_block,
    market,
    must,
    raw_map,
    signed_with_any_kind,
    tx,
    village,
    with_validators,
)
from spec.blocks import MAX_BLOCK_TXS
from spec.cbor import MAX_DEPTH, decode, encode
from spec.state import Encumbrance, NodeKind, Role, Source, State, trading_close
from spec.transactions import MAX_TX_BYTES, Kind, make_transaction
from spec.units import COUNTER_MAX, Height, OrderId


def group_check_order(suite: Suite) -> None:
    """Pairs of neighbouring checks broken together."""

    def both(
        name: str,
        description: str,
        pre: State,
        step: Step,
        first: str,
        second_pre: State,
        second_step: Step,
        second: str,
        *flags: str,
        crafted: bool = False,
    ) -> None:
        _, outcome = apply_step(second_pre, second_step)
        if outcome.rule != second:
            raise GenerationError(
                f"checks/{name}: the companion gives {outcome.rule}, not {second}"
            )
        suite.add(
            f"checks/{first}-before-{second}/{name}",
            f"{description} Breaks {first} and {second}; chapter 10 checks {first} first. "
            f"(With only the second fault the input is rejected by {second}.)",
            pre,
            [step],
            expect=[first],
            rules=[first, second],
            flags=["check-order", *flags],
            crafted=crafted,
        )

    v = village()
    chain = v.state.params.chain_id
    deposit_body = {0: key_of("alice"), 1: 1}
    good_entries = envelope_entries(seed_of("operator"), chain, int(Kind.DEPOSIT), 0, deposit_body)

    # --- The strict decoder (section 9.2) ---------------------------------------------------
    both(
        "oversized-breaks",
        f"{MAX_TX_BYTES + 1} bytes of 0xff: the length is checked before any byte is read.",
        v.state,
        tx(b"\xff" * (MAX_TX_BYTES + 1)),
        "ENC-09",
        v.state,
        tx(b"\xff" * MAX_TX_BYTES),
        "ENC-01",
        "encoding",
        "resource",
    )
    both(
        "indefinite-tag-0xdf",
        "The byte 0xdf: major type 6 (a tag) with additional information 31; the tag is "
        "checked before the indefinite length (companion: 0xbf, an indefinite map).",
        v.state,
        tx(b"\xdf"),
        "ENC-07",
        v.state,
        tx(b"\xbf"),
        "ENC-03",
        "encoding",
    )
    both(
        "truncated-double-float",
        "0xfb 0x00: a float64 head with 1 of its 8 bytes; ENC-06 is reported without reading "
        "the bytes that would follow (companion: 0x1b 0x00, an 8-byte integer cut short).",
        v.state,
        tx(b"\xfb\x00"),
        "ENC-06",
        v.state,
        tx(b"\x1b\x00"),
        "ENC-01",
        "encoding",
        "truncation",
    )
    both(
        "truncated-simple-value",
        "0xf8 alone: a one-byte simple value whose byte is missing (companion: 0x18 alone).",
        v.state,
        tx(b"\xf8"),
        "ENC-06",
        v.state,
        tx(b"\x18"),
        "ENC-01",
        "encoding",
        "truncation",
    )
    depth = b"\x81" * MAX_DEPTH
    for name, data, first, companion, second, why in (
        ("tag-with-reserved-info", "dc", "ENC-07", "1c", "ENC-01",
         "0xdc: a tag (major type 6) with the reserved additional information 28"),
        ("break-in-major-7", "ff", "ENC-01", "f7", "ENC-06",
         "0xff: additional information 31 in major type 7 (a break) is ENC-01 before the simple "
         "values' ENC-06"),
        ("too-deep-and-count-beyond", (depth + b"\x98\x1e").hex(), "ENC-10",
         (depth[1:] + b"\x98\x1e").hex(), "ENC-01",
         f"{MAX_DEPTH} nested one-element arrays, then an array of 30 elements and no byte more: "
         "the nesting limit is checked before the count"),
        ("non-shortest-count-beyond", "9805", "ENC-02", "85", "ENC-01",
         "an array count of 5 in a 1-byte argument and no element: the head's ENC-02 comes "
         "before the count's ENC-01"),
        ("text-beyond-input-invalid-utf8", "63ff", "ENC-01", "61ff", "ENC-11",
         "a text string of 3 bytes with 1 byte left, 0xff: the length is checked before UTF-8"),
    ):  # fmt: skip
        both(
            name,
            f"The input {data}: {why} (companion: {companion}).",
            v.state,
            tx(bytes.fromhex(data)),
            first,
            v.state,
            tx(bytes.fromhex(companion)),
            second,
            "encoding",
        )
    unknown_key = raw_map([*good_entries, (encode(7), encode(0))])
    both(
        "trailing-byte-unknown-key",
        "The envelope with a key 7, then a trailing 0x00: the whole input is decoded (ENC-08) "
        "before any schema check (companion: without the trailing byte).",
        v.state,
        tx(unknown_key + b"\x00"),
        "ENC-08",
        v.state,
        tx(unknown_key),
        "ENC-12",
        "encoding",
        "schema",
    )
    text_a, text_b = encode("a"), encode("b")
    both(
        "bytes-key-out-of-order",
        "The envelope with two more keys after 5: \"a\", then the byte string h'' (0x40), "
        "which is not an integer or text and also sorts before 0x61 0x61 (companion: "
        '"b" then "a").',
        v.state,
        tx(raw_map([*good_entries, (text_a, encode(0)), (encode(b""), encode(0))])),
        "ENC-14",
        v.state,
        tx(raw_map([*good_entries, (text_b, encode(0)), (text_a, encode(0))])),
        "ENC-04",
        "encoding",
    )
    # --- The envelope's schema (section 9.3) ------------------------------------------------
    without_nonce = [e for i, e in enumerate(good_entries) if i != 3]
    both(
        "unknown-and-missing-key",
        "The envelope without its nonce (key 3) and with a key 7: unknown keys are checked "
        "before missing ones (companion: without the nonce only).",
        v.state,
        tx(raw_map([*without_nonce, (encode(7), encode(0))])),
        "ENC-12",
        v.state,
        tx(raw_map(without_nonce)),
        "ENC-13",
        "schema",
    )

    def replaced(index: int, value: Any, entries: list[tuple[bytes, bytes]]) -> list[Any]:
        return [(k, encode(value) if i == index else x) for i, (k, x) in enumerate(entries)]

    long_chain = replaced(0, "k" * 65, good_entries)
    both(
        "bound-of-field-0-type-of-field-1",
        "Chain id of 65 bytes (a bound, field 0) and kind as text (a type, field 1): fields are "
        "checked in key order, type then bound, not every type before any bound (companion: "
        "the kind as text only).",
        v.state,
        tx(raw_map(replaced(1, "deposit", long_chain))),
        "ENC-15",
        v.state,
        tx(raw_map(replaced(1, "deposit", good_entries))),
        "ENC-14",
        "schema",
        "boundary",
    )
    unknown_kind = signed_with_any_kind(seed_of("operator"), chain, 17, 0, deposit_body)
    unsigned = {k: x for k, x in enumerate(_values(unknown_kind)) if k != 5}
    both(
        "missing-signature-unknown-kind",
        "Kind 17 and no signature: the envelope's schema comes before TX-02 (companion: kind 17, "
        "signed).",
        v.state,
        tx(encode(unsigned)),
        "ENC-13",
        v.state,
        tx(unknown_kind),
        "TX-02",
        "schema",
    )
    bad_body = make_transaction(seed_of("operator"), chain, Kind.DEPOSIT, 0, "alice")
    values = _values(bad_body)
    values[1] = 17
    both(
        "unknown-kind-bad-body",
        'Kind 17 with the body "alice": the kind is checked before any body schema '
        "(companion: kind 8, DEPOSIT, with that body).",
        v.state,
        tx(encode(dict(enumerate(values)))),
        "TX-02",
        v.state,
        tx(bad_body),
        "ENC-14",
        "schema",
    )
    other = "kwhledger-other"
    extra_body = {0: key_of("alice"), 1: 1, 2: 0}
    both(
        "body-schema-before-chain",
        "Signed for another chain, with an unknown body key 2: the body's schema (step 4) comes "
        "before the chain id (TX-01, step 5) (companion: another chain, a good body).",
        v.state,
        tx(make_transaction(seed_of("operator"), other, Kind.DEPOSIT, 0, extra_body)),
        "ENC-12",
        v.state,
        tx(make_transaction(seed_of("operator"), other, Kind.DEPOSIT, 0, deposit_body)),
        "TX-01",
        "schema",
    )
    # --- Step 5: chain, sender, signature, nonce, role -----------------------------------------
    transfer = {0: key_of("bob"), 1: 1}
    both(
        "other-chain-unregistered-sender",
        "Ivan (not registered) signs for another chain (companion: Ivan on this chain).",
        v.state,
        tx(make_transaction(seed_of("ivan"), other, Kind.TRANSFER, 0, transfer)),
        "TX-01",
        v.state,
        tx(make_transaction(seed_of("ivan"), chain, Kind.TRANSFER, 0, transfer)),
        "TX-03",
    )
    both(
        "unregistered-sender-bad-signature",
        "Sender Ivan (not registered), signed by Bob (companion: sender Alice, signed by Bob).",
        v.state,
        tx(make_transaction(seed_of("bob"), chain, Kind.TRANSFER, 0, transfer, key_of("ivan"))),
        "TX-03",
        v.state,
        tx(make_transaction(seed_of("bob"), chain, Kind.TRANSFER, 0, transfer, key_of("alice"))),
        "TX-04",
        "signature",
    )
    both(
        "bad-signature-wrong-nonce",
        "Sender Alice with nonce 5 (hers is 0), signed by Bob: the signature is checked before "
        "the nonce (companion: Alice's own signature, nonce 5).",
        v.state,
        tx(make_transaction(seed_of("bob"), chain, Kind.TRANSFER, 5, transfer, key_of("alice"))),
        "TX-04",
        v.state,
        tx(make_transaction(seed_of("alice"), chain, Kind.TRANSFER, 5, transfer)),
        "TX-05",
        "signature",
        "replay",
    )
    both(
        "wrong-nonce-wrong-role",
        "Alice sends a DEPOSIT (operator only) with nonce 5 (companion: nonce 0).",
        v.state,
        tx(v.make("alice", Kind.DEPOSIT, deposit_body, nonce=5)),
        "TX-05",
        v.state,
        tx(v.make("alice", Kind.DEPOSIT, deposit_body)),
        "TX-06",
        "authorization",
    )
    zero_deposit = {0: key_of("alice"), 1: 0}
    both(
        "wrong-role-zero-amount",
        "Alice deposits 0 (companion: the operator deposits 0).",
        v.state,
        tx(v.make("alice", Kind.DEPOSIT, zero_deposit)),
        "TX-06",
        v.state,
        tx(v.make("operator", Kind.DEPOSIT, zero_deposit)),
        "MNY-02",
        "authorization",
    )
    _kind_pairs(both)
    _block_pairs(both)


def _values(data: bytes) -> list[Any]:
    envelope = decode(data, max_size=MAX_TX_BYTES)
    assert isinstance(envelope, dict)
    return [envelope[k] for k in range(6)]


def _kind_pairs(both: Any) -> None:
    """Neighbouring checks of each kind (step 6 of chapter 10)."""
    v = village()
    op = "operator"
    reg = Kind.REGISTER_ACCOUNT
    both(
        "small-order-key-roles-0",
        "Register the identity point with roles 0 (companion: a valid key, roles 0).",
        v.state,
        tx(v.make(op, reg, {0: edwards.IDENTITY_KEY, 1: 0})),
        "ACC-02",
        v.state,
        tx(v.make(op, reg, {0: key_of("ivan"), 1: 0})),
        "ACC-03",
        "ed25519",
    )
    both(
        "registered-key-roles-0",
        "Register Alice again with roles 0 (companion: Ivan, roles 0).",
        v.state,
        tx(v.make(op, reg, {0: key_of("alice"), 1: 0})),
        "ACC-01",
        v.state,
        tx(v.make(op, reg, {0: key_of("ivan"), 1: 0})),
        "ACC-03",
    )
    node = Kind.REGISTER_NODE
    sub, tr = int(NodeKind.SUBSTATION), int(NodeKind.TRANSFORMER)
    both(
        "node-twice-second-root",
        "Node 3 again, as a substation without a parent (companion: node 7 so).",
        v.state,
        tx(v.make(op, node, {0: 3, 1: sub, 2: None, 3: 0})),
        "GRD-01",
        v.state,
        tx(v.make(op, node, {0: 7, 1: sub, 2: None, 3: 0})),
        "GRD-03",
    )
    both(
        "no-parent-fee-on-transformer",
        "Transformer 7 without a parent and with a fee (companion: parent 1, with the fee).",
        v.state,
        tx(v.make(op, node, {0: 7, 1: tr, 2: None, 3: 10})),
        "GRD-03",
        v.state,
        tx(v.make(op, node, {0: 7, 1: tr, 2: 1, 3: 10})),
        "GRD-04",
        "fee",
    )
    both(
        "fee-on-transformer-unknown-parent",
        "Transformer 7 with a fee under the unknown node 99 (companion: no fee).",
        v.state,
        tx(v.make(op, node, {0: 7, 1: tr, 2: 99, 3: 10})),
        "GRD-04",
        v.state,
        tx(v.make(op, node, {0: 7, 1: tr, 2: 99, 3: 0})),
        "GRD-02",
        "fee",
    )
    meter = Kind.REGISTER_METER

    def meter_body(number: int, owner: str, attestor: str, at: int, capacity: int) -> Any:
        body = {0: number, 1: key_of(owner), 2: key_of(attestor), 3: at, 4: 1, 5: capacity}
        body[6] = 0  # a wind meter: alice's solar meter 103 is at node 3 (MTR-06)
        return body

    meter_pairs = [
        ("meter-twice-owner-not-trader", (103, "attestor", "attestor", 3, 1000), "MTR-01",
         (200, "attestor", "attestor", 3, 1000), "MTR-02"),
        ("owner-not-trader-attestor-not-attestor", (200, "attestor", "alice", 3, 1000), "MTR-02",
         (200, "alice", "alice", 3, 1000), "MTR-03"),
        ("attestor-not-attestor-at-substation", (200, "alice", "alice", 1, 1000), "MTR-03",
         (200, "alice", "attestor", 1, 1000), "MTR-04"),
        ("at-substation-zero-capacity", (200, "alice", "attestor", 1, 0), "MTR-04",
         (200, "alice", "attestor", 3, 0), "MTR-05"),
    ]  # fmt: skip
    for name, fields, first, companion, second in meter_pairs:
        both(
            name,
            f"REGISTER_METER {fields} (meter, owner, attestor, node, capacity); companion "
            f"{companion}.",
            v.state,
            tx(v.make(op, meter, meter_body(*fields))),
            first,
            v.state,
            tx(v.make(op, meter, meter_body(*companion))),
            second,
        )
    _attest_pairs(both)
    _order_pairs(both)


def _reading(meter: int, slot: int, exported: int, imported: int = 0, enc: int = 0) -> Any:
    return {0: meter, 1: slot, 2: exported, 3: imported, 4: enc}


def _attest_pairs(both: Any) -> None:
    w = village()
    must(w.register("attestor-2", Role.ATTESTOR))
    s = w.slot - 1
    att = Kind.ATTEST
    both(
        "other-attestor-current-slot",
        "Attestor-2 attests alice's meter 103 (not its meter) for the current slot (companion: "
        "the meter's own attestor, current slot).",
        w.state,
        tx(w.make("attestor-2", att, {0: [_reading(103, s + 1, 10)]})),
        "ATT-03",
        w.state,
        tx(w.make("attestor", att, {0: [_reading(103, s + 1, 10)]})),
        "ATT-04",
        "authorization",
        "time",
    )
    m = market()
    s = m.slot - 1
    late = m.state.time + 3 * 1800
    late_ledger = market()
    must_tick(late_ledger, late)
    both(
        "window-closed-already-attested",
        "Meter 103's slot-s reading again, after its attestation window closed (companion: "
        "again, inside the window).",
        late_ledger.state,
        tx(late_ledger.make("attestor", att, {0: [_reading(103, s, 10)]})),
        "ATT-05",
        m.state,
        tx(m.make("attestor", att, {0: [_reading(103, s, 10)]})),
        "ATT-06",
        "time",
        "double-spend",
    )
    both(
        "already-attested-over-capacity",
        "Meter 103's slot-s reading again, exporting capacity + 1 (companion: slot s - 1).",
        m.state,
        tx(m.make("attestor", att, {0: [_reading(103, s, 10_001)]})),
        "ATT-06",
        m.state,
        tx(m.make("attestor", att, {0: [_reading(103, s - 1, 10_001)]})),
        "ATT-07",
        "boundary",
    )
    both(
        "batch-order-over-rule-order",
        "Reading 1 exports capacity + 1 (ATT-07), reading 2 names the unknown meter 999 "
        "(ATT-02): readings are checked one after the other, each through all its rules "
        "(companion: reading 2 alone).",
        m.state,
        tx(m.make("attestor", att, {0: [_reading(103, s - 1, 10_001), _reading(999, s - 1, 10)]})),
        "ATT-07",
        m.state,
        tx(m.make("attestor", att, {0: [_reading(999, s - 1, 10)]})),
        "ATT-02",
        "atomicity",
    )


def must_tick(ledger: Any, time: int) -> None:
    if ledger.tick(time) is not None:
        raise GenerationError(f"tick to {time} rejected")


def _order_pairs(both: Any) -> None:
    m = market()
    s = m.slot - 1
    ask, bid, cancel = Kind.PLACE_ASK, Kind.PLACE_BID, Kind.CANCEL
    # An encumbered lot of alice's in slot s - 1.
    e = market()
    fit = Encumbrance.FEED_IN_TARIFF
    must(e.meter(211, "alice", 3, source=Source.WIND, encumbrance=fit))  # a feed-in-tariff meter
    must(e.attest([(211, s - 1, 500, 0, fit)]))
    both(
        "not-owner-encumbered-lot",
        "Bob offers alice's feed-in-tariff lot (companion: alice offers it).",
        e.state,
        tx(e.make("bob", ask, {0: 211, 1: s - 1, 2: 100, 3: 0})),
        "ASK-02",
        e.state,
        tx(e.make("alice", ask, {0: 211, 1: s - 1, 2: 100, 3: 0})),
        "ASK-03",
        "authorization",
    )
    both(
        "encumbered-lot-zero-quantity",
        "Alice offers 0 Wh of her feed-in-tariff lot (companion: 0 Wh of her free lot).",
        e.state,
        tx(e.make("alice", ask, {0: 211, 1: s - 1, 2: 0, 3: 0})),
        "ASK-03",
        e.state,
        tx(e.make("alice", ask, {0: 103, 1: s, 2: 0, 3: 0})),
        "ORD-01",
    )
    closed = market()
    must_tick(closed, trading_close(closed.state.params, s))
    # After the close slot s is pruned (PRN-01): an ask for its lot meets ASK-01 before ORD-01
    # and ORD-02; a bid names a zone, which remains, so the time checks are seen with bids.
    both(
        "zero-quantity-after-close",
        "Bob bids 0 Wh in zone 1 slot s after the close (companion: 1 Wh).",
        closed.state,
        tx(closed.make("bob", bid, {0: 1, 1: s, 2: 0, 3: 1000})),
        "ORD-01",
        closed.state,
        tx(closed.make("bob", bid, {0: 1, 1: s, 2: 1, 3: 1000})),
        "ORD-02",
        "time",
    )
    both(
        "after-close-over-import",
        "Bob bids for 100 000 Wh, far more than his import, in zone 1 slot s after the close "
        "(companion: before it).",
        closed.state,
        tx(closed.make("bob", bid, {0: 1, 1: s, 2: 100_000, 3: 1000})),
        "ORD-02",
        m.state,
        tx(m.make("bob", bid, {0: 1, 1: s, 2: 100_000, 3: 1000})),
        "BID-04",
        "time",
    )
    both(
        "after-close-lot-pruned",
        "Alice offers 1 Wh of her slot-s lot after the close: the lot left the state with its "
        "slot (companion: before the close, 4000 Wh of her 3000 Wh lot).",
        closed.state,
        tx(closed.make("alice", ask, {0: 103, 1: s, 2: 1, 3: 0})),
        "ASK-01",
        m.state,
        tx(m.make("alice", ask, {0: 103, 1: s, 2: 4000, 3: 0})),
        "ASK-04",
        "time",
    )
    with_bid = market()
    must(with_bid.bid("dave", 1, s, 100, 1000))  # dave imported 800 Wh in (1, s): BID-04 holds
    both(
        "over-unsold-own-bid",
        "Dave, holding an open bid in zone 1 slot s, offers 4000 Wh of his 1000 Wh lot there "
        "(companion: 100 Wh).",
        with_bid.state,
        tx(with_bid.make("dave", ask, {0: 106, 1: s, 2: 4000, 3: 0})),
        "ASK-04",
        with_bid.state,
        tx(with_bid.make("dave", ask, {0: 106, 1: s, 2: 100, 3: 0})),
        "ORD-03",
        "self-trade",
    )
    full = replace(with_bid.state, next_order_id=OrderId(COUNTER_MAX))
    full_no_bid = replace(m.state, next_order_id=OrderId(COUNTER_MAX))
    both(
        "own-bid-ids-exhausted",
        "As above with 100 Wh, the order ids exhausted (crafted; companion: without the bid).",
        full,
        tx(with_bid.make("dave", ask, {0: 106, 1: s, 2: 100, 3: 0})),
        "ORD-03",
        full_no_bid,
        tx(m.make("dave", ask, {0: 106, 1: s, 2: 100, 3: 0})),
        "ORD-05",
        "self-trade",
        crafted=True,
    )
    both(
        "unknown-zone-zero-quantity",
        "Bob bids 0 Wh in the unknown zone 99 (companion: zone 1).",
        m.state,
        tx(m.make("bob", bid, {0: 99, 1: s, 2: 0, 3: 1000})),
        "BID-01",
        m.state,
        tx(m.make("bob", bid, {0: 1, 1: s, 2: 0, 3: 1000})),
        "ORD-01",
    )
    both(
        "zero-quantity-closed-slot",
        "Bob bids 0 Wh for slot s - 10, long closed (companion: 1 Wh).",
        m.state,
        tx(m.make("bob", bid, {0: 1, 1: s - 10, 2: 0, 3: 1000})),
        "ORD-01",
        m.state,
        tx(m.make("bob", bid, {0: 1, 1: s - 10, 2: 1, 3: 1000})),
        "ORD-02",
        "time",
    )
    with_ask = market()
    must(with_ask.ask("alice", 103, s, 1000, 2000))
    balance = with_ask.state.accounts[key_of("alice")].balance
    too_much = balance // 1000 + 1  # Wh at 900 + fee 100 sen/kWh: escrow > balance
    both(
        "own-ask-bid-without-import",
        f"Alice, holding an open ask in zone 1 slot s, bids {too_much} Wh at 900 sen/kWh there, "
        "with no import to back it and more than her balance covers (companion: without the ask).",
        with_ask.state,
        tx(with_ask.make("alice", bid, {0: 1, 1: s, 2: too_much, 3: 900})),
        "ORD-03",
        m.state,
        tx(m.make("alice", bid, {0: 1, 1: s, 2: too_much, 3: 900})),
        "BID-04",
        "self-trade",
    )
    both(
        "over-import-ids-exhausted",
        f"Bob bids {too_much} Wh at 900 sen/kWh, more than his 2 500 Wh of import, the order ids "
        "exhausted (crafted; companion: 100 Wh).",
        full_no_bid,
        tx(m.make("bob", bid, {0: 1, 1: s, 2: too_much, 3: 900})),
        "BID-04",
        full_no_bid,
        tx(m.make("bob", bid, {0: 1, 1: s, 2: 100, 3: 900})),
        "ORD-05",
        crafted=True,
    )
    cancelled = market()
    must(cancelled.ask("alice", 103, s, 1000, 2000))
    must(cancelled.cancel("alice", 1))
    both(
        "not-owner-closed-order",
        "Bob cancels alice's cancelled ask (companion: alice cancels it again).",
        cancelled.state,
        tx(cancelled.make("bob", cancel, {0: 1})),
        "CAN-02",
        cancelled.state,
        tx(cancelled.make("alice", cancel, {0: 1})),
        "CAN-03",
        "authorization",
    )
    for kind, name, body, companion, sender in (
        (Kind.DEPOSIT, "deposit", {0: key_of("ivan"), 1: 0}, {0: key_of("bob"), 1: 0}, "operator"),
        (Kind.TRANSFER, "transfer", {0: key_of("ivan"), 1: 0}, {0: key_of("bob"), 1: 0}, "alice"),
    ):
        both(
            f"{name}-zero-to-unknown",
            f"{kind.name} of 0 to Ivan, who is not registered (companion: 0 to Bob).",
            m.state,
            tx(m.make(sender, kind, body)),
            "MNY-01",
            m.state,
            tx(m.make(sender, kind, companion)),
            "MNY-02",
        )


def _block_pairs(both: Any) -> None:
    """Neighbouring checks of apply_block (chapter 10)."""
    v = with_validators("validator-1", "validator-2", "validator-3")
    t = v.state.time + 60
    deposit = v.make("operator", Kind.DEPOSIT, {0: key_of("alice"), 1: 1})
    bad_tx = v.make("operator", Kind.DEPOSIT, {0: key_of("alice"), 1: 0})
    two = ("validator-1", "validator-2")
    many = [b""] * (MAX_BLOCK_TXS + 1)
    other = "kwhledger-other"
    wrong_height = Height(v.state.height + 2)
    wrong_parent = bytes(31) + b"\x01"
    back = v.state.time - 1

    def forged(txs: list[bytes] = [deposit], time: int = t, **changes: Any) -> Step:  # noqa: B006
        return block(forge_block(v.state, txs, time, **{"signers": two, **changes}))

    cases: list[tuple[str, str, Step, str, Step, str]] = [
        ("too-many-txs-other-chain", "MAX_BLOCK_TXS + 1 transactions under another chain's "
         "header: the count is read at the array's head, while decoding, before the chain id.",
         forged(many, chain_id=other), "BLK-11", forged(chain_id=other), "BLK-01"),
        ("too-many-txs-short-parent", "MAX_BLOCK_TXS + 1 transactions and a parent of 31 bytes: "
         "the count is read at the array's head, before the header's schema is checked.",
         forged(many, parent=bytes(31)), "BLK-11", forged(parent=bytes(31)), "ENC-15"),
        ("too-many-txs-wrong-height", "MAX_BLOCK_TXS + 1 transactions, height + 2.",
         forged(many, height=wrong_height), "BLK-11", forged(height=wrong_height), "BLK-02"),
        ("wrong-height-wrong-parent", "Height + 2 and a parent that is not the tip.",
         forged(height=wrong_height, parent=wrong_parent), "BLK-02",
         forged(parent=wrong_parent), "BLK-03"),
        ("wrong-parent-time-back", "A wrong parent and a timestamp before the ledger's time.",
         forged(time=back, parent=wrong_parent), "BLK-03", forged(time=back), "BLK-04"),
        ("time-back-trader-proposer", "A timestamp one second back, proposed by alice.",
         forged(time=back, proposer="alice"), "BLK-04", forged(proposer="alice"), "BLK-05"),
        ("trader-proposer-trader-signer", "Proposed by alice, with alice's vote among two.",
         forged(proposer="alice", signers=("validator-1", "alice")), "BLK-05",
         forged(signers=("validator-1", "alice")), "BLK-06"),
        ("trader-signer-no-quorum", "Alice's vote alone (not a validator, and no quorum).",
         forged(signers=("alice",)), "BLK-06", forged(signers=("validator-1",)), "BLK-07"),
        ("no-quorum-wrong-tx-root", "One vote of three and a tx root of zeros.",
         forged(signers=("validator-1",), tx_root=bytes(32)), "BLK-07",
         forged(tx_root=bytes(32)), "BLK-08"),
        ("wrong-tx-root-invalid-tx", "A tx root of zeros, and a deposit of 0 inside.",
         forged([bad_tx], tx_root=bytes(32)), "BLK-08", forged([bad_tx]), "BLK-09"),
        ("invalid-tx-wrong-state-root", "A deposit of 0 inside and a state root of zeros.",
         forged([bad_tx], state_root=bytes(32)), "BLK-09", forged(state_root=bytes(32)),
         "BLK-10"),
        ("schema-before-chain", "Another chain's header whose parent has 31 bytes.",
         forged(chain_id=other, parent=bytes(31)), "ENC-15", forged(chain_id=other), "BLK-01"),
    ]  # fmt: skip
    for name, description, step, first, companion, second in cases:
        both(name, description, v.state, step, first, v.state, companion, second, "block")
