"""The ``encoding`` vectors: the strict deterministic-CBOR decoder (ENC-01 .. ENC-15)."""

from __future__ import annotations

from typing import Any

from conformance_tests.scenario import Ledger, key_of, seed_of, small_village
from conformance_tests.suite import (
    GenerationError,
    Suite,
    envelope_entries,
    head,
    market,
    raw_map,
    tx,
    village,
)
from spec.cbor import encode
from spec.state import (
    Source,
)
from spec.transactions import (
    MAX_TX_BYTES,
    Kind,
)
from spec.units import (
    PRICE_MAX_SEN_PER_KWH,
    WH_MAX,
)


def group_encoding(suite: Suite) -> None:
    """ENC-01 .. ENC-15: malformed and non-deterministic CBOR, each with its code."""
    v = village()
    chain = v.state.params.chain_id
    seed = seed_of("alice")
    body = {0: 1}
    entries = envelope_entries(seed, chain, int(Kind.WITHDRAW), 0, body)
    good = raw_map(entries)
    assert good == v.make("alice", Kind.WITHDRAW, body)
    base = "encoding/valid/withdraw"
    suite.add(
        base,
        "Alice withdraws 1 milli-sen: the base of the encoding vectors.",
        v.state,
        [tx(good)],
        expect=[None],
        flags=["valid"],
    )

    def bad(name: str, data: bytes, rule_id: str, description: str, *flags: str) -> None:
        suite.negative(
            f"encoding/{rule_id}/{name}",
            description,
            v.state,
            tx(data),
            None,
            rule_id,
            twin_id=base,
            flags=["encoding", *flags],
        )

    def replaced(index: int, value: bytes) -> bytes:
        return raw_map([(k, value if i == index else v_) for i, (k, v_) in enumerate(entries)])

    for cut in range(len(good)):
        bad(
            f"truncated-at-{cut:03d}",
            good[:cut],
            "ENC-01",
            f"The base transaction cut after {cut} of its {len(good)} bytes.",
            "truncation",
        )
    for initial in (0x1C, 0x1D, 0x1E, 0x3C, 0x5C, 0x7C, 0x9C, 0xBC, 0xFC, 0xFD, 0xFE):
        bad(
            f"reserved-head-{initial:02x}",
            replaced(3, bytes([initial])),
            "ENC-01",
            f"The nonce is the reserved head 0x{initial:02x}.",
        )
    bad("break-as-item", replaced(3, b"\xff"), "ENC-01", "A lone break code as the nonce.")
    bad(
        "count-beyond-input",
        replaced(4, b"\x9b" + (2**63).to_bytes(8, "big")),
        "ENC-01",
        "The body is an array declaring 2^63 items.",
        "resource",
    )
    for width, arg_name in ((1, "1-byte"), (2, "2-byte"), (4, "4-byte"), (8, "8-byte")):
        bad(
            f"nonce-non-shortest-{arg_name}",
            replaced(3, head(0, 0, width)),
            "ENC-02",
            f"The nonce 0 written with a {arg_name} argument.",
            "non-canonical",
        )
    bad(
        "length-non-shortest",
        replaced(5, head(2, 64, 2) + entries[5][1][2:]),
        "ENC-02",
        "The 64-byte signature's length written in 2 bytes.",
        "non-canonical",
    )
    bad(
        "map-count-non-shortest",
        head(5, 6, 1) + b"".join(k + v_ for k, v_ in entries),
        "ENC-02",
        "The envelope map's count 6 written with a 1-byte argument.",
        "non-canonical",
    )
    bad(
        "boundary-23-as-1-byte",
        replaced(4, raw_map([(b"\x00", head(0, 23, 1))])),
        "ENC-02",
        "The amount 23, the largest one-byte head, written with a 1-byte argument.",
        "non-canonical",
        "boundary",
    )
    bad(
        "boundary-255-as-2-bytes",
        replaced(4, raw_map([(b"\x00", head(0, 255, 2))])),
        "ENC-02",
        "The amount 255 written with a 2-byte argument.",
        "non-canonical",
        "boundary",
    )
    bad(
        "indefinite-body-map",
        replaced(4, raw_map([(b"\x00", b"\x01")], indefinite=True)),
        "ENC-03",
        "The body as an indefinite-length map.",
        "non-canonical",
    )
    sig = entries[5][1][2:]
    bad(
        "indefinite-signature",
        replaced(5, b"\x5f" + head(2, 32) + sig[:32] + head(2, 32) + sig[32:] + b"\xff"),
        "ENC-03",
        "The signature as an indefinite-length byte string of two chunks.",
        "non-canonical",
    )
    chain_raw = chain.encode()
    bad(
        "indefinite-chain-id",
        replaced(0, b"\x7f" + head(3, len(chain_raw)) + chain_raw + b"\xff"),
        "ENC-03",
        "The chain id as an indefinite-length text string.",
        "non-canonical",
    )
    swapped = [entries[1], entries[0], *entries[2:]]
    bad("keys-swapped", raw_map(swapped), "ENC-04", "Envelope keys 1 before 0.", "non-canonical")
    last_first = [entries[5], *entries[:5]]
    bad("key-5-first", raw_map(last_first), "ENC-04", "Key 5 first.", "non-canonical")
    bad(
        "duplicate-nonce",
        raw_map([*entries[:4], entries[3], *entries[4:]]),
        "ENC-05",
        "Key 3 (the nonce, same value) twice.",
    )
    bad(
        "duplicate-body-key",
        replaced(4, raw_map([(b"\x00", b"\x01"), (b"\x00", b"\x01")])),
        "ENC-05",
        "The body's key 0 twice.",
    )
    for name, raw in (
        ("half-float", b"\xf9\x00\x00"),
        ("single-float", b"\xfa\x00\x00\x00\x00"),
        ("double-float", b"\xfb" + bytes(8)),
        ("undefined", b"\xf7"),
        ("simple-16", b"\xf0"),
        ("simple-32", b"\xf8\x20"),
        ("false-in-two-bytes", b"\xf8\x14"),
    ):
        bad(f"nonce-{name}", replaced(3, raw), "ENC-06", f"The nonce is {name}.")
    for name, index, tag in (
        ("sender-tag-24", 2, b"\xd8\x18"),
        ("nonce-bignum-tag", 3, b"\xc2"),
        ("chain-tag-0", 0, b"\xc0"),
        ("self-describe-tag", None, b"\xd9\xd9\xf7"),
    ):
        data = tag + good if index is None else replaced(index, tag + entries[index][1])
        bad(name, data, "ENC-07", f"A tag ({tag.hex()}) where none is allowed.")
    bad("trailing-zero", good + b"\x00", "ENC-08", "One 0x00 byte after the transaction.")
    bad("two-transactions", good + good, "ENC-08", "The transaction twice, back to back.")

    # ENC-09: no valid transaction can reach MAX_TX_BYTES, so the twin is the same padded
    # input one byte shorter, which passes the size check and fails the schema (ENC-12).
    def padded(total: int) -> bytes:
        for pad in range(total, 0, -1):
            extra = (encode(6), encode(bytes(pad)))
            data = raw_map([*entries, extra])
            if len(data) == total:
                return data
        raise GenerationError("cannot pad")

    suite.negative(
        "encoding/ENC-09/one-over-max-tx-bytes",
        f"A transaction of MAX_TX_BYTES + 1 = {MAX_TX_BYTES + 1} bytes (an unknown field pads "
        "it): the size is checked before anything else.",
        v.state,
        tx(padded(MAX_TX_BYTES + 1)),
        tx(padded(MAX_TX_BYTES)),
        "ENC-09",
        twin_rule="ENC-12",
        flags=["encoding", "boundary", "resource"],
    )

    def nested(levels: int) -> bytes:
        return b"\x81" * (levels - 1) + b"\x80"

    # The envelope is level 1 and the body level 2, so 14 arrays nest to level 16.
    suite.negative(
        "encoding/ENC-10/seventeen-levels",
        "The amount is 15 nested arrays: level 17 exceeds MAX_DEPTH = 16.",
        v.state,
        tx(replaced(4, raw_map([(b"\x00", nested(15))]))),
        tx(replaced(4, raw_map([(b"\x00", nested(14))]))),
        "ENC-10",
        twin_rule="ENC-14",
        flags=["encoding", "boundary", "resource"],
    )
    for name, raw in (
        ("invalid-byte-ff", b"kwhledger-tes\xff"),
        ("overlong-slash", b"kwhledger-te\xc0\xaf"),
        ("surrogate", b"kwhledger-t\xed\xa0\x80"),
        ("truncated-sequence", b"kwhledger-te\xe2\x82"),
    ):
        assert len(raw) == len(chain_raw)
        bad(name, replaced(0, head(3, len(raw)) + raw), "ENC-11", f"Chain id with {name} UTF-8.")

    # Schema rules: a valid signature over whatever body is sent, so only the schema is wrong.
    def signed_body(any_body: Any, kind: Kind = Kind.WITHDRAW) -> bytes:
        return raw_map(envelope_entries(seed, chain, int(kind), 0, any_body))

    bad(
        "unknown-envelope-key",
        raw_map([*entries, (encode(6), encode(0))]),
        "ENC-12",
        "The envelope has a key 6.",
    )
    bad("unknown-body-key", signed_body({0: 1, 1: 1}), "ENC-12", "The body has a key 1.")
    bad("text-body-key", signed_body({0: 1, "memo": "hi"}), "ENC-12", 'A text key "memo".')
    bad("missing-signature", raw_map(entries[:5]), "ENC-13", "The envelope has no key 5.")
    bad("missing-nonce", raw_map(entries[:3] + entries[4:]), "ENC-13", "No nonce (key 3).")
    bad("empty-body", signed_body({}), "ENC-13", "The body lacks the amount.")
    bad(
        "bytes-map-key",
        raw_map([*entries, (encode(b"\x00"), encode(0))]),
        "ENC-14",
        "A byte string as a map key.",
    )
    bad("body-is-array", signed_body([1]), "ENC-14", "The body is an array, not a map.")
    bad("amount-is-bool", signed_body({0: True}), "ENC-14", "The amount is true.")
    bad("amount-is-text", signed_body({0: "1"}), "ENC-14", 'The amount is "1".')
    bad(
        "amount-is-negative",
        signed_body({0: -1}),
        "ENC-15",
        "The amount is -1: an integer, but below the unit's bound 0.",
        "boundary",
    )
    bad("nonce-is-null", replaced(3, b"\xf6"), "ENC-14", "The nonce is null.")
    bad("amount-is-false", signed_body({0: False}), "ENC-14", "The amount is false.")
    bad("chain-id-is-integer", replaced(0, encode(7)), "ENC-14", "The chain id is 7.")
    bad("kind-is-negative", replaced(1, encode(-1)), "ENC-15", "The kind is -1.", "boundary")
    suite.negative(
        "encoding/ENC-15/roles-negative",
        "Registering an account with roles -1.",
        v.state,
        tx(v.make("operator", Kind.REGISTER_ACCOUNT, {0: key_of("ivan"), 1: -1})),
        None,
        "ENC-15",
        twin_id="account/ACC-03/roles-0-repaired",
        flags=["encoding", "boundary"],
    )
    bad("envelope-is-array", encode([0, 1]), "ENC-14", "The transaction is an array.")
    bad("sender-is-text", replaced(2, encode("alice")), "ENC-14", "The sender is text.")
    bad(
        "sender-31-bytes",
        replaced(2, encode(key_of("alice")[:31])),
        "ENC-15",
        "A 31-byte sender.",
        "boundary",
    )
    bad(
        "signature-65-bytes",
        replaced(5, encode(sig + b"\x00")),
        "ENC-15",
        "A 65-byte signature.",
        "boundary",
    )
    bad(
        "amount-2-pow-63",
        signed_body({0: 2**63}),
        "ENC-15",
        "The amount MONEY_MAX_MSEN + 1.",
        "boundary",
    )
    bad(
        "nonce-2-pow-64-minus-1",
        replaced(3, encode(2**64 - 1)),
        "ENC-15",
        "Nonce 2^64 - 1 is beyond COUNTER_MAX.",
        "boundary",
    )
    bad("empty-chain-id", replaced(0, encode("")), "ENC-15", "An empty chain id.", "boundary")
    # Bounds with an accepted twin, on other kinds.
    m = market()
    s = m.slot - 1
    suite.negative(
        "encoding/ENC-15/price-over-max",
        "A bid's max price PRICE_MAX_SEN_PER_KWH + 1; the maximum itself is accepted.",
        m.state,
        tx(m.make("bob", Kind.PLACE_BID, {0: 1, 1: s, 2: 1, 3: PRICE_MAX_SEN_PER_KWH + 1})),
        tx(m.make("bob", Kind.PLACE_BID, {0: 1, 1: s, 2: 1, 3: PRICE_MAX_SEN_PER_KWH})),
        "ENC-15",
        flags=["encoding", "boundary"],
    )
    for field_name, index, over, at in (
        ("source", 4, len(Source), len(Source) - 1),
        ("capacity", 5, WH_MAX + 1, WH_MAX),
        ("meter-id", 0, 2**32, 2**32 - 1),
    ):
        base_body = {0: 200, 1: key_of("alice"), 2: key_of("attestor"), 3: 3, 4: 0, 5: 1000}
        bad_body, good_body = dict(base_body), dict(base_body)
        bad_body[index], good_body[index] = over, at
        suite.negative(
            f"encoding/ENC-15/meter-{field_name}-over",
            f"A meter's {field_name} one past its bound.",
            v.state,
            tx(v.make("operator", Kind.REGISTER_METER, bad_body)),
            tx(v.make("operator", Kind.REGISTER_METER, good_body)),
            "ENC-15",
            flags=["encoding", "boundary"],
        )
    suite.negative(
        "encoding/ENC-15/node-kind-3",
        "Node kind 3 does not exist.",
        v.state,
        tx(v.make("operator", Kind.REGISTER_NODE, {0: 7, 1: 3, 2: 2, 3: 0})),
        tx(v.make("operator", Kind.REGISTER_NODE, {0: 7, 1: 2, 2: 2, 3: 0})),
        "ENC-15",
        flags=["encoding", "boundary"],
    )
    suite.negative(
        "encoding/ENC-15/encumbrance-4",
        "Encumbrance 4 does not exist.",
        v.state,
        tx(v.make("attestor", Kind.ATTEST, {0: [{0: 103, 1: s, 2: 1, 3: 0, 4: 4}]})),
        tx(v.make("attestor", Kind.ATTEST, {0: [{0: 103, 1: s, 2: 1, 3: 0, 4: 3}]})),
        "ENC-15",
        flags=["encoding", "boundary"],
    )
    long_chain = "c" * 64
    lc = small_village(Ledger.new(chain_id=long_chain))
    too_long = raw_map(
        envelope_entries(seed_of("alice"), long_chain + "c", int(Kind.WITHDRAW), 0, body)
    )
    suite.negative(
        "encoding/ENC-15/chain-id-65-bytes",
        "On a chain whose id has the longest allowed 64 bytes, a chain id of 65 bytes.",
        lc.state,
        tx(too_long),
        tx(lc.make("alice", Kind.WITHDRAW, body)),
        "ENC-15",
        flags=["encoding", "boundary"],
    )
