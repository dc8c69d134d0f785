"""Wire rules (ENC-01 .. ENC-15) provoked in transaction position through ``apply_transaction``:
each malformed envelope is rejected with its code and rule, and the state stays as it was."""

from __future__ import annotations

import pytest
from _rules_plugin import claimed_rule_ids, rules
from strategies import accept_tx, raw_transaction, reject_tx, village

from conformance_tests.scenario import CHAIN_ID, key_of
from spec.cbor import MAX_DEPTH, encode
from spec.transactions import MAX_TX_BYTES, Kind
from spec.units import MONEY_MAX_MSEN, WH_MAX

pytest_plugins = ("_rules_plugin",)


def envelope(raw_body: bytes, kind: Kind = Kind.WITHDRAW, nonce: int = 0) -> bytes:
    """An envelope whose body is the given raw bytes, spliced in between keys 4 and 5 (the map's
    keys are small integers, so their bytewise order is numeric order)."""
    return (
        b"\xa6"
        + encode(0) + encode(CHAIN_ID)
        + encode(1) + encode(int(kind))
        + encode(2) + encode(key_of("alice"))
        + encode(3) + encode(nonce)
        + encode(4) + raw_body
        + encode(5) + encode(bytes(64))
    )  # fmt: skip


def valid_withdrawal() -> bytes:
    return village().make("alice", Kind.WITHDRAW, {0: 1})


def test_envelope_splice_matches_the_encoder() -> None:
    """The splice helper writes exactly what the encoder writes for the same fields."""
    expected = encode(
        {0: CHAIN_ID, 1: int(Kind.WITHDRAW), 2: key_of("alice"), 3: 0, 4: {0: 1}, 5: bytes(64)}
    )
    assert envelope(encode({0: 1})) == expected


# Each case: (name, transaction bytes, rule). Malformations sit in the body so that the envelope
# around them is otherwise perfect: the decoder must find them in place, not stop early.
MALFORMED: list[tuple[str, bytes, str]] = [
    ("truncated", valid_withdrawal()[:-1], "ENC-01"),
    ("body count beyond input", envelope(b"\xbb" + bytes([0xFF] * 8)), "ENC-01"),
    ("reserved head in body", envelope(b"\xa1\x00\x1c"), "ENC-01"),
    ("stray break in body", envelope(b"\xa1\x00\xff"), "ENC-01"),
    ("non-shortest amount", envelope(b"\xa1\x00\x18\x01"), "ENC-02"),
    ("non-shortest map length", envelope(b"\xb8\x01\x00\x01"), "ENC-02"),
    ("indefinite body map", envelope(b"\xbf\x00\x01\xff"), "ENC-03"),
    ("indefinite byte string", envelope(b"\xa1\x00\x5f\x41\x00\xff"), "ENC-03"),
    ("unsorted body keys", encode({0: 1}), "ENC-04"),  # placeholder, replaced below
    ("duplicate body key", envelope(b"\xa2\x00\x01\x00\x01"), "ENC-05"),
    ("float amount", envelope(b"\xa1\x00\xfb\x3f\xf0\x00\x00\x00\x00\x00\x00"), "ENC-06"),
    ("undefined amount", envelope(b"\xa1\x00\xf7"), "ENC-06"),
    ("tagged amount", envelope(b"\xa1\x00\xc2\x41\x01"), "ENC-07"),
    ("trailing byte", valid_withdrawal() + b"\x00", "ENC-08"),
    ("too large", envelope(encode({0: b"\x00" * MAX_TX_BYTES})), "ENC-09"),
    ("too deep", envelope(b"\xa1\x00" + b"\x81" * MAX_DEPTH + b"\x00"), "ENC-10"),
    ("invalid UTF-8 text", envelope(b"\xa1\x00\x62\xc3\x28"), "ENC-11"),
    ("unknown body key", envelope(encode({0: 1, 1: 1})), "ENC-12"),
    ("missing body key", envelope(encode({})), "ENC-13"),
    ("text amount", envelope(encode({0: "1"})), "ENC-14"),
    ("boolean amount", envelope(encode({0: True})), "ENC-14"),
    ("body not a map", envelope(encode([1])), "ENC-14"),
    ("negative amount", envelope(encode({0: -1})), "ENC-15"),
    ("amount above MONEY_MAX_MSEN", envelope(encode({0: MONEY_MAX_MSEN + 1})), "ENC-15"),
]
# Unsorted keys need a body with two keys: a TRANSFER body {1: amount, 0: to} written out of order.
MALFORMED[8] = (
    "unsorted body keys",
    envelope(b"\xa2\x01\x01\x00" + encode(key_of("bob")), Kind.TRANSFER),
    "ENC-04",
)


# Literal ids: claims are read from the source without importing it (kwhledger.trace); the test
# below keeps this list equal to the rules of MALFORMED.
@rules("ENC-01", "ENC-02", "ENC-03", "ENC-04", "ENC-05", "ENC-06", "ENC-07", "ENC-08")
@rules("ENC-09", "ENC-10", "ENC-11", "ENC-12", "ENC-13", "ENC-14", "ENC-15")
@pytest.mark.parametrize(
    ("tx", "rule_id"), [(tx, r) for _, tx, r in MALFORMED], ids=[n for n, _, _ in MALFORMED]
)
def test_malformed_transaction_is_rejected_with_its_rule(tx: bytes, rule_id: str) -> None:
    reject_tx(village().state, tx, rule_id)


def test_malformed_cases_claim_exactly_their_rules() -> None:
    claimed = claimed_rule_ids(test_malformed_transaction_is_rejected_with_its_rule)
    assert claimed == {rule_id for _, _, rule_id in MALFORMED}


@rules("ENC-09")
def test_size_limit_edge() -> None:
    """A transaction of exactly MAX_TX_BYTES is decoded (and fails later, on its schema); one byte
    more is refused by size before anything else is read."""
    state = village().state
    padding = MAX_TX_BYTES - len(envelope(encode({0: b""})))
    # A byte string of n >= 65536 bytes has a 5-byte head instead of 3; adjust by hand.
    body = encode({0: b"\x00" * (padding - 2)})
    at_limit = envelope(body)
    assert len(at_limit) == MAX_TX_BYTES
    reject_tx(state, at_limit, "ENC-14")  # a byte string is not an amount: decoded, then refused
    reject_tx(state, at_limit + b"\x00", "ENC-09")


@rules("ENC-10")
def test_nesting_limit_edge() -> None:
    """The envelope is depth 1 and the body map depth 2, so MAX_DEPTH - 2 nested arrays inside the
    body still decode (and fail the schema); one more is too deep."""
    state = village().state
    fits = envelope(b"\xa1\x00" + b"\x81" * (MAX_DEPTH - 2) + b"\x00")
    reject_tx(state, fits, "ENC-14")
    too_deep = envelope(b"\xa1\x00" + b"\x81" * (MAX_DEPTH - 1) + b"\x00")
    reject_tx(state, too_deep, "ENC-10")


@rules("ENC-12", "ENC-13", "ENC-14", "ENC-15")
@pytest.mark.parametrize(
    ("fields", "rule_id"),
    [
        ({0: CHAIN_ID, 1: 9, 2: key_of("alice"), 3: 0, 4: {0: 1}, 5: bytes(64), 6: 0}, "ENC-12"),
        ({0: CHAIN_ID, 1: 9, 2: key_of("alice"), 3: 0, 4: {0: 1}}, "ENC-13"),
        ({0: CHAIN_ID, 1: 9, 2: key_of("alice"), 4: {0: 1}, 5: bytes(64)}, "ENC-13"),
        ({0: 7, 1: 9, 2: key_of("alice"), 3: 0, 4: {0: 1}, 5: bytes(64)}, "ENC-14"),
        ({0: CHAIN_ID, 1: 9, 2: "alice", 3: 0, 4: {0: 1}, 5: bytes(64)}, "ENC-14"),
        ({0: CHAIN_ID, 1: False, 2: key_of("alice"), 3: 0, 4: {0: 1}, 5: bytes(64)}, "ENC-14"),
        ({0: "", 1: 9, 2: key_of("alice"), 3: 0, 4: {0: 1}, 5: bytes(64)}, "ENC-15"),
        ({0: "c" * 65, 1: 9, 2: key_of("alice"), 3: 0, 4: {0: 1}, 5: bytes(64)}, "ENC-15"),
        ({0: CHAIN_ID, 1: 9, 2: key_of("alice")[:31], 3: 0, 4: {0: 1}, 5: bytes(64)}, "ENC-15"),
        ({0: CHAIN_ID, 1: 9, 2: key_of("alice"), 3: 2**63, 4: {0: 1}, 5: bytes(64)}, "ENC-15"),
        ({0: CHAIN_ID, 1: 9, 2: key_of("alice"), 3: 0, 4: {0: 1}, 5: bytes(65)}, "ENC-15"),
        ([CHAIN_ID, 9], "ENC-14"),
    ],
)
def test_envelope_schema(fields: object, rule_id: str) -> None:
    reject_tx(village().state, encode(fields), rule_id)


@rules("ENC-15")
@pytest.mark.parametrize(
    ("kind", "body"),
    [
        (Kind.REGISTER_NODE, {0: 50, 1: 3, 2: 1, 3: 0}),  # node kind 3 does not exist
        (Kind.REGISTER_NODE, {0: 2**32, 1: 1, 2: 1, 3: 0}),  # node id above ID_MAX
        (Kind.REGISTER_NODE, {0: 50, 1: 1, 2: 1, 3: 1_000_001}),  # fee above PRICE_MAX
        (Kind.PLACE_ASK, {0: 103, 1: 1, 2: WH_MAX + 1, 3: 0}),
        (Kind.ATTEST, {0: [{0: 103, 1: 1, 2: 0, 3: 0, 4: 4}]}),  # encumbrance 4 does not exist
        (Kind.CANCEL, {0: 0}),  # order ids start at 1
    ],
)
def test_body_field_bounds(kind: Kind, body: object) -> None:
    ledger = village()
    tx = raw_transaction(signer="operator", kind=int(kind), nonce=0, body=body, chain_id=CHAIN_ID)
    reject_tx(ledger.state, tx, "ENC-15")


@rules("ENC-15")
def test_amount_bounds_edge() -> None:
    """MONEY_MAX_MSEN itself is a well-formed amount (refused later as an overdraft)."""
    ledger = village()
    at_max = ledger.make("alice", Kind.WITHDRAW, {0: MONEY_MAX_MSEN})
    reject_tx(ledger.state, at_max, "MNY-03")
    accept_tx(ledger.state, ledger.make("alice", Kind.WITHDRAW, {0: 1}))
