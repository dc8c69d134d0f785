"""The reference's decoders, rule table, root and independence, checked against the spec.

Every CBOR and wire rejection must name the same rule as the spec for the same bytes (the first
violation, in the rule book's order); the fast path (cbor2 plus re-encoding) must never accept what
the strict path rejects; the incremental LtHash root must equal the spec's from-scratch root; and
no module of ``reference/`` may import ``spec`` (checked on the source with ``ast``).
"""

from __future__ import annotations

import ast
import pathlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference
from conformance_tests.scenario import Ledger as SpecLedger
from conformance_tests.scenario import small_village
from reference.cbor import decode_strict
from reference.cbor import encode as reference_encode
from reference.errors import RULE_CODES
from reference.errors import Rejected as ReferenceRejected
from reference.lthash import LtHash
from reference.wire import decode_tx
from spec.cbor import decode, encode
from spec.errors import Rejected
from spec.rules import RULES
from spec.state import entry_lanes, lthash_sum
from spec.transactions import Kind, decode_transaction, make_transaction

# --- a generator of nearly-deterministic CBOR ---------------------------------------------------


@st.composite
def head(draw: Any, major: int, argument: int) -> Any:
    """A head for ``argument``, usually shortest, sometimes longer than needed."""
    widths = [w for w in (0, 1, 2, 4, 8) if argument < (24 if w == 0 else 1 << (8 * w))]
    width = widths[0] if draw(st.integers(0, 5)) else draw(st.sampled_from(widths))
    if width == 0:
        return bytes([major << 5 | argument])
    info = {1: 24, 2: 25, 4: 26, 8: 27}[width]
    return bytes([major << 5 | info]) + argument.to_bytes(width, "big")


@st.composite
def dirty_item(draw: Any, depth: int = 0) -> Any:
    """An item of the wire subset, or one with a defect of any ENC kind somewhere inside it."""
    choice = draw(st.integers(0, 12 if depth < 18 else 4))
    if choice == 0:
        return bytes(
            draw(head(0, draw(st.sampled_from([0, 5, 23, 24, 255, 256, 2**32, 2**64 - 1]))))
        )
    if choice == 1:
        return bytes(draw(head(1, draw(st.integers(0, 300)))))
    if choice == 2:
        data = draw(st.binary(max_size=5))
        return bytes(draw(head(2, len(data)))) + data
    if choice == 3:
        text = draw(st.one_of(st.text(max_size=4).map(lambda t: t.encode()), st.binary(max_size=4)))
        return bytes(draw(head(3, len(text)))) + text
    if choice == 4:
        return draw(
            st.sampled_from(
                [
                    b"\xf4",
                    b"\xf5",
                    b"\xf6",
                    b"\xf7",
                    b"\xf8\x20",
                    b"\xf9\x3c\x00",
                    b"\xe0",
                    b"\xfb" + bytes(8),
                    b"\xff",
                    b"\x1c",
                    b"\x5e",
                ]
            )
        )
    if choice == 5:
        return bytes([0xC0 | draw(st.integers(0, 27))]) + bytes(draw(dirty_item(depth + 1)))
    if choice in (6, 7):
        items = draw(st.lists(dirty_item(depth + 1), max_size=3))
        count = len(items) + draw(st.sampled_from([0, 0, 0, 0, 1]))
        return bytes(draw(head(4, count))) + b"".join(items)
    if choice in (8, 9, 10):
        keys = draw(
            st.lists(
                st.one_of(
                    st.integers(0, 30).map(encode),
                    st.sampled_from([encode("a"), encode("b"), b"\x80", b"\xf5", encode(-1)]),
                ),
                max_size=4,
            )
        )
        if draw(st.booleans()):
            keys.sort()
        values = [draw(dirty_item(depth + 1)) for _ in keys]
        body = b"".join(k + v for k, v in zip(keys, values, strict=True))
        return bytes(draw(head(5, len(keys)))) + body
    if choice == 11:
        return bytes([draw(st.sampled_from([0x5F, 0x7F, 0x9F, 0xBF]))]) + draw(
            dirty_item(depth + 1)
        )
    nested = draw(dirty_item(depth + 1))
    return b"\x81" * draw(st.integers(1, 17)) + nested


def _spec_outcome(call: Any) -> Any:
    try:
        return ("ok", call())
    except Rejected as rejection:
        return ("rejected", rejection.rule.id)


def _reference_outcome(call: Any) -> Any:
    try:
        return ("ok", call())
    except ReferenceRejected as rejection:
        return ("rejected", rejection.rule_id)


@settings(max_examples=4 * settings().max_examples)
@given(dirty_item(), st.binary(max_size=2), st.sampled_from([8, 64, 4096]))
def test_strict_decoder_names_the_spec_rule_for_any_bytes(
    item: bytes, tail: bytes, max_size: int
) -> None:
    data = item + tail
    expected = _spec_outcome(lambda: decode(data, max_size=max_size))
    assert _reference_outcome(lambda: decode_strict(data, max_size)) == expected


@given(st.binary(max_size=24))
def test_strict_decoder_agrees_on_random_bytes(data: bytes) -> None:
    expected = _spec_outcome(lambda: decode(data, max_size=64))
    assert _reference_outcome(lambda: decode_strict(data, 64)) == expected


SEED = bytes(range(32))
VALID_BODIES: dict[Kind, Any] = {
    Kind.REGISTER_ACCOUNT: {0: bytes(32), 1: 8},
    Kind.REGISTER_NODE: {0: 1, 1: 0, 2: None, 3: 100},
    Kind.REGISTER_METER: {0: 1, 1: bytes(32), 2: bytes(32), 3: 3, 4: 0, 5: 10, 6: 0},
    Kind.ATTEST: {0: [{0: 1, 1: 2, 2: 3, 3: 4, 4: 0}]},
    Kind.PLACE_ASK: {0: 1, 1: 2, 2: 3, 3: 4},
    Kind.PLACE_BID: {0: 1, 1: 2, 2: 3, 3: 4},
    Kind.CANCEL: {0: 1},
    Kind.DEPOSIT: {0: bytes(32), 1: 5},
    Kind.WITHDRAW: {0: 5},
    Kind.TRANSFER: {0: bytes(32), 1: 5},
    Kind.VALIDATOR_UPDATE: {0: bytes(32), 1: 1, 2: [[bytes(32), bytes(64)]]},
    Kind.ROTATE_KEY: {0: bytes(32), 1: bytes(64)},
    Kind.REVOKE_ROLE: {0: bytes(32), 1: 8},
    Kind.RETIRE_METER: {0: 1, 1: 2},
    Kind.SET_METER_ENCUMBRANCE: {0: 1, 1: 2, 2: 1},
    Kind.CORRECT_READING: {0: 1, 1: 2, 2: 3, 3: 4, 4: 0},
}
odd_values: st.SearchStrategy[Any] = st.sampled_from(
    [
        0,
        1,
        2**32,
        2**40,
        2**63,
        2**64 - 1,
        -1,
        True,
        None,
        "",
        "x" * 65,
        b"",
        bytes(32),
        bytes(64),
        [],
        [{}],
        {},
        {0: 1},
        10**12 + 1,
        1_000_001,
        11,
    ]
)


@st.composite
def envelopes(draw: Any) -> Any:
    """A transaction, then its envelope or body bent: keys dropped, added, retyped."""
    kind = draw(st.sampled_from(list(Kind)))
    body = dict(VALID_BODIES[kind])
    envelope: dict[Any, Any] = {0: "kwhledger-test", 1: int(kind), 2: bytes(32), 3: 0, 4: body}
    envelope[5] = bytes(64)
    for _ in range(draw(st.integers(0, 2))):
        target = draw(st.sampled_from([envelope, body]))
        action = draw(st.integers(0, 2))
        key = draw(st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, "k"]))
        if action == 0 and key in target and key != 4:
            del target[key]
        elif action == 1:
            target[key] = draw(odd_values)
        elif kind is Kind.ATTEST and target is body:
            body[0] = [{0: 1, 1: 2, 2: 3, 3: draw(odd_values), 4: draw(odd_values)}] * draw(
                st.integers(0, 2)
            )
    if draw(st.booleans()):
        return make_transaction(SEED, "kwhledger-test", kind, 0, body)
    return encode(envelope)


@settings(max_examples=5 * settings().max_examples)
@given(envelopes())
def test_transaction_decoding_names_the_spec_rule(data: bytes) -> None:
    expected = _spec_outcome(lambda: decode_transaction(data).kind)
    got = _reference_outcome(lambda: decode_tx(data).kind)
    assert got == expected


def test_oversized_transactions_are_rejected_before_decoding() -> None:
    data = b"\xff" * 65_537
    assert _reference_outcome(lambda: decode_tx(data)) == _spec_outcome(
        lambda: decode_transaction(data)
    )


def test_signing_bytes_are_the_spec_signing_bytes() -> None:
    from spec.transactions import signing_bytes

    for kind, body in VALID_BODIES.items():
        data = make_transaction(SEED, "kwhledger-test-é" * 3, kind, 2**40, body)
        tx = decode_tx(data)
        assert tx.signing_bytes() == signing_bytes(tx.chain_id, kind, tx.sender, 2**40, body)


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**64), 2**64 - 1)
        | st.binary(max_size=4)
        | st.text(max_size=4),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.integers(0, 30) | st.text(max_size=2), inner, max_size=3)
        ),
        max_leaves=8,
    )
)
def test_encoder_matches_the_spec_encoder(value: Any) -> None:
    assert reference_encode(value) == encode(value)


def test_rule_codes_are_the_rule_books() -> None:
    assert {r.id: r.code for r in RULES if r.code is not None} == RULE_CODES


def test_reference_does_not_import_the_spec() -> None:
    """An independent implementation: not one ``import spec`` in ``reference/``."""
    package = pathlib.Path(reference.__file__).parent
    offenders = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
                names = [getattr(arg, "value", "") for arg in node.args[:1]]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "spec"]
    assert len(list(package.rglob("*.py"))) >= 5
    assert offenders == []


@given(st.lists(st.binary(min_size=1, max_size=8), min_size=1, max_size=12), st.data())
def test_lthash_add_and_remove_equal_a_fresh_sum(entries: list[bytes], data: st.DataObject) -> None:
    """Removing entries from a sum gives the sum of the rest (lane-wise modulo 2^16)."""
    keep = [data.draw(st.booleans()) for _ in entries]
    incremental = LtHash()
    for entry in entries:
        incremental.add(entry)
    for entry, kept in zip(entries, keep, strict=True):
        if not kept:
            incremental.remove(entry)
    expected = lthash_sum(
        iter(
            [entry_lanes(0, 0, 0)][:0]
            + [_expansion(e) for e, kept in zip(entries, keep, strict=True) if kept]
        )
    )
    assert incremental.lanes() == expected


def _expansion(entry: bytes) -> bytes:
    from spec.crypto import TAG_STATE_ENTRY, expand

    return expand(TAG_STATE_ENTRY, entry, 2048)


def test_lthash_folds_without_losing_lanes() -> None:
    """61 000 copies of one entry (past the fold threshold) sum like the spec's sum."""
    lthash = LtHash()
    for _ in range(61_000):
        lthash.add(b"x")
    assert lthash.lanes() == lthash_sum(iter([_expansion(b"x")] * 61_000))


@pytest.mark.parametrize("memo_size", [20_000, 3, 0])
def test_incremental_root_is_the_spec_root_after_every_transaction(memo_size: int) -> None:
    """Also with a memo of expansions so small that it drops entries every transaction."""
    from reference.ledger import Ledger
    from spec.state import state_root

    spec_ledger = SpecLedger.new()
    params = spec_ledger.state.params
    ledger = Ledger(
        params.chain_id,
        params.attestation_window_s,
        params.trading_close_s,
        params.fee_account,
        spec_ledger.state.time,
        {key: account.roles for key, account in spec_ledger.state.accounts.items()},
    )
    ledger.expansion_cache_size = memo_size
    original = spec_ledger.submit
    roots: list[tuple[bytes, bytes]] = []

    def submit(tx: bytes, sender: str | None = None) -> Any:
        receipt = original(tx, sender)
        ledger.apply_tx(tx)
        roots.append((ledger.state_root(), state_root(spec_ledger.state)))
        return receipt

    spec_ledger.submit = submit  # type: ignore[method-assign]
    small_village(spec_ledger)
    assert len(roots) > 20
    assert all(mine == theirs for mine, theirs in roots)
    assert len(ledger.expansions) <= memo_size


@given(st.permutations([0, 1, 2, 3, 4]), st.sampled_from([0, 1, 2]), st.data())
def test_reading_maps_out_of_order_or_retyped_name_the_spec_rule(
    order: list[int], position: int, data: st.DataObject
) -> None:
    """The attestation fast path must not accept a reading the strict path rejects."""
    values = [7, 9, 100, 200, 0]
    if data.draw(st.booleans()):
        values[data.draw(st.integers(0, 4))] = data.draw(odd_values)
    reading = b"\xa5" + b"".join(encode(k) + encode(values[k]) for k in order)
    readings = [encode({0: 1, 1: 2, 2: 3, 3: 4, 4: 0})] * 2
    readings.insert(position, reading)
    body = b"\xa1\x00" + bytes([0x80 + len(readings)]) + b"".join(readings)
    tx = (
        b"\xa6\x00"
        + encode("kwhledger-test")
        + b"\x01\x04\x02"
        + encode(bytes(32))
        + b"\x03\x00"
        + b"\x04"
        + body
        + b"\x05"
        + encode(bytes(64))
    )
    expected = _spec_outcome(lambda: decode_transaction(tx).body)
    got = _reference_outcome(lambda: decode_tx(tx).body)
    assert got[0] == expected[0]
    if expected[0] == "rejected":
        assert got == expected


@given(st.data())
def test_state_decoding_names_the_spec_rule(data: st.DataObject) -> None:
    """Pre-states (as vectors carry them) bent at the ledger rows, a table or the tip hash."""
    from reference.ledger import decode_state as reference_decode_state
    from spec.state import decode_state, encode_state

    value = encode_state(small_village().state)
    assert isinstance(value, dict)
    what = data.draw(
        st.sampled_from(["ledger-swap", "ledger-dup", "ledger-drop", "table", "tip", "row", "none"])
    )
    ledger = list(value[0])  # type: ignore[arg-type]
    if what == "ledger-swap":
        i = data.draw(st.integers(0, len(ledger) - 2))
        ledger[i], ledger[i + 1] = ledger[i + 1], ledger[i]
    elif what == "ledger-dup":
        ledger.insert(
            data.draw(st.integers(0, len(ledger))),
            ledger[data.draw(st.integers(0, len(ledger) - 1))],
        )
    elif what == "ledger-drop":
        del ledger[data.draw(st.integers(0, len(ledger) - 1))]
    value[0] = ledger
    if what == "table":
        value[data.draw(st.integers(1, 8))] = data.draw(odd_values)
    elif what == "tip":
        value[9] = data.draw(odd_values)
    elif what == "row":
        table = data.draw(st.integers(1, 8))
        rows = list(value[table])  # type: ignore[arg-type]
        if rows:
            rows[data.draw(st.integers(0, len(rows) - 1))] = data.draw(odd_values)
        value[table] = rows
    data_bytes = encode(value)
    expected = _spec_outcome(lambda: decode_state(decode(data_bytes, max_size=1 << 24)).height)
    got = _reference_outcome(
        lambda: reference_decode_state(decode_strict(data_bytes, 1 << 24)).height
    )
    assert got == expected


@given(
    st.permutations([0, 1, 2, 3, 4, 5]),
    st.sampled_from([None, b"\xf9\x3c\x00", b"\xf5"]),
    st.sampled_from(list(VALID_BODIES)),
)
def test_envelope_keys_out_of_order_or_not_integers_name_the_spec_rule(
    order: list[int], odd_key: bytes | None, kind: Kind
) -> None:
    """The envelope fast path must check key order and key types, not only byte equality."""
    fields = {0: "kwhledger-test", 1: int(kind), 2: bytes(32), 3: 0, 4: VALID_BODIES[kind]}
    fields[5] = bytes(64)
    keys = [encode(k) for k in order]
    if odd_key is not None:
        keys[order.index(1)] = odd_key  # key 1 written as 1.0 or true
    tx = b"\xa6" + b"".join(key + encode(fields[k]) for key, k in zip(keys, order, strict=True))
    expected = _spec_outcome(lambda: decode_transaction(tx).kind)
    assert _reference_outcome(lambda: decode_tx(tx).kind) == expected


@given(st.lists(st.binary(min_size=32, max_size=32), max_size=70))
def test_merkle_root_level_by_level_is_the_spec_split(leaves: list[bytes]) -> None:
    """The node builds the tree bottom-up; the spec splits at the largest power of two."""
    from reference.ledger import merkle_root as reference_root
    from spec.crypto import merkle_root as spec_root

    assert reference_root(leaves) == spec_root(leaves)


# ROTATE_KEY's proof is a 64-byte string, which the byte-level path leaves to the decoder.
NOT_SCALAR = (Kind.ATTEST, Kind.VALIDATOR_UPDATE, Kind.ROTATE_KEY)
SCALAR_KINDS = [kind for kind in Kind if kind not in NOT_SCALAR]


@st.composite
def mutated_transactions(draw: Any) -> bytes:
    """A valid transaction of a scalar kind, then up to three bytes changed, cut or inserted."""
    kind = draw(st.sampled_from(SCALAR_KINDS))
    chain = draw(st.sampled_from(["kwhledger-test", "k" * 23, "k" * 24, "村の電力" * 5]))
    data = bytearray(
        make_transaction(SEED, chain, kind, draw(st.integers(0, 2**40)), VALID_BODIES[kind])
    )
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.integers(0, 2))
        if action == 0:
            data[at] = draw(st.integers(0, 255))
        elif action == 1:
            del data[at:]
            if not data:
                data.append(0)
        else:
            data.insert(at, draw(st.integers(0, 255)))
    return bytes(data)


@settings(max_examples=10 * settings().max_examples)
@given(mutated_transactions())
def test_parsing_straight_from_bytes_agrees_with_the_strict_path(data: bytes) -> None:
    """The node's byte-level parser of scalar transactions accepts exactly what the spec accepts,
    with the same fields as the reference's own strict parser; what it refuses still gets the
    spec's rule."""
    from reference.wire import BODY_SCHEMAS, ENVELOPE, _parse_direct, parse_map_strict

    expected = _spec_outcome(lambda: decode_transaction(data).kind)
    got = _reference_outcome(lambda: decode_tx(data).kind)
    assert got == expected
    direct = _parse_direct(data, None)
    if direct is not None:
        head = parse_map_strict(decode_strict(data, 65_536), ENVELOPE)
        body = parse_map_strict(head[4], BODY_SCHEMAS[head[1]])
        fields = (direct.chain_id, direct.kind, direct.sender, direct.nonce, direct.signature)
        assert fields == (head[0], head[1], head[2], head[3], head[5])
        assert direct.body == body


def test_valid_scalar_transactions_take_the_byte_level_path() -> None:
    """So the agreement above is about a parser that runs."""
    from reference.wire import _parse_direct

    for kind in SCALAR_KINDS:
        data = make_transaction(SEED, "kwhledger-test", kind, 7, VALID_BODIES[kind])
        assert _parse_direct(data, None) is not None, kind
