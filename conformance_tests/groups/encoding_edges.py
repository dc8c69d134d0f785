"""More ``encoding`` vectors: every head width at its boundary, a byte-order mark in text, and
a map's count read as pairs.

- Widths (section 9.2 item 2.6): for each argument width of 1, 2, 4 and 8 bytes, the largest value
  that fits a shorter head written in that width (ENC-02), and the smallest value that needs the
  width (accepted). A parser that checks "shortest" for some widths only fails one of them.
- U+FEFF (section 9.1: a text string is UTF-8, nothing is stripped): a chain id that begins with a
  byte-order mark is another chain id (TX-01, BLK-01), and its 3 bytes count towards 1..64. A
  decoder that strips a leading BOM, as some platforms' default UTF-8 decoders do, fails these.
- A map's count is its number of pairs (section 9.2 item 4): compared with the bytes remaining as
  it is, not doubled; the vectors below have enough bytes for the pairs' count but not for
  twice it, and another fault inside the map that only a pairs reading reaches.
"""

from __future__ import annotations

from conformance_tests.scenario import CHAIN_ID, seed_of
from conformance_tests.suite import (
    Suite,
    block,
    envelope_entries,
    forge_block,
    head,
    raw_map,
    tx,
    village,
    with_validators,
)
from spec.cbor import encode
from spec.transactions import Kind, make_transaction

BOM = "\ufeff"


def group_encoding_edges(suite: Suite) -> None:
    """Head widths, byte-order marks, map counts."""
    v = village()
    chain = v.state.params.chain_id

    def withdraw(amount: int, argument: bytes) -> bytes:
        """Alice's WITHDRAW of ``amount``, the amount written as ``argument`` (the signature is
        over the value)."""
        entries = envelope_entries(seed_of("alice"), chain, int(Kind.WITHDRAW), 0, {0: amount})
        entries[4] = (entries[4][0], raw_map([(encode(0), argument)]))
        return raw_map(entries)

    for width, largest_shorter, smallest in ((1, 23, 24), (2, 255, 256), (4, 65_535, 65_536),
                                             (8, 2**32 - 1, 2**32)):  # fmt: skip
        exact = f"encoding/width/{smallest}-in-{width}-bytes"
        suite.add(
            exact,
            f"Alice withdraws {smallest} milli-sen, the smallest amount whose shortest head has "
            f"a {width}-byte argument: accepted.",
            v.state,
            [tx(withdraw(smallest, head(0, smallest, width)))],
            expect=[None],
            flags=["valid", "boundary", "encoding"],
        )
        suite.negative(
            f"encoding/width/{largest_shorter}-in-{width}-bytes",
            f"The amount {largest_shorter}, which fits a shorter head, written with a "
            f"{width}-byte argument (ENC-02). The twin writes it in its shortest form.",
            v.state,
            tx(withdraw(largest_shorter, head(0, largest_shorter, width))),
            tx(withdraw(largest_shorter, encode(largest_shorter))),
            "ENC-02",
            flags=["encoding", "non-canonical", "boundary"],
        )
    suite.negative(
        "encoding/width/65536-in-8-bytes",
        "The amount 65 536 (shortest: a 4-byte argument) written with an 8-byte argument: "
        "ENC-02 for every value below 2^32 in 8 bytes, not only below 2^16.",
        v.state,
        tx(withdraw(65_536, head(0, 65_536, 8))),
        None,
        "ENC-02",
        twin_id="encoding/width/65536-in-4-bytes",
        flags=["encoding", "non-canonical", "boundary"],
    )
    suite.negative(
        "encoding/width/negative-65536-in-4-bytes",
        "The amount -65 536 (major type 1, argument 65 535) written with a 4-byte argument: "
        "the decoder's ENC-02 comes before the schema's ENC-15. The twin, in shortest form, "
        "passes ENC-02 and fails ENC-15.",
        v.state,
        tx(withdraw(-65_536, head(1, 65_535, 4))),
        tx(withdraw(-65_536, head(1, 65_535))),
        "ENC-02",
        twin_rule="ENC-15",
        flags=["encoding", "non-canonical", "boundary"],
    )
    # Byte-order marks.
    body = {0: 1}
    suite.negative(
        "encoding/bom/chain-id-with-bom",
        "Alice's withdrawal signed for the chain id U+FEFF followed by this chain's id: another "
        "chain (TX-01), since text is compared as its UTF-8 bytes and nothing is stripped.",
        v.state,
        tx(make_transaction(seed_of("alice"), BOM + chain, Kind.WITHDRAW, 0, body)),
        tx(make_transaction(seed_of("alice"), chain, Kind.WITHDRAW, 0, body)),
        "TX-01",
        flags=["encoding", "edge-case", "domain-separation"],
    )
    suite.negative(
        "encoding/bom/chain-id-62-chars-and-bom",
        "A chain id of U+FEFF and 62 letters: 3 + 62 = 65 bytes of UTF-8, over the 64-byte bound "
        "(ENC-15). The twin, the 62 letters alone, passes ENC-15 and fails TX-01.",
        v.state,
        tx(make_transaction(seed_of("alice"), BOM + "k" * 62, Kind.WITHDRAW, 0, body)),
        tx(make_transaction(seed_of("alice"), "k" * 62, Kind.WITHDRAW, 0, body)),
        "ENC-15",
        twin_rule="TX-01",
        flags=["encoding", "edge-case", "boundary"],
    )
    w = with_validators("validator-1", "validator-2", "validator-3")
    two = ("validator-1", "validator-2")
    t = w.state.time + 60
    assert w.state.params.chain_id == CHAIN_ID
    suite.negative(
        "encoding/bom/block-chain-id-with-bom",
        "A block whose header's chain id is U+FEFF followed by this chain's id (BLK-01).",
        w.state,
        block(forge_block(w.state, [], t, signers=two, chain_id=BOM + CHAIN_ID)),
        block(forge_block(w.state, [], t, signers=two)),
        "BLK-01",
        flags=["block", "encoding", "edge-case"],
    )
    # A map's count is a count of pairs.
    for name, data, rule, why in (
        ("three-pairs-in-three-bytes", bytes.fromhex("a3010000"), "ENC-04",
         "a map of 3 pairs with 3 bytes left: the pairs' count fits, so the decoder reads key 1, "
         "value 0, then key 0, which sorts before key 1"),
        ("two-pairs-in-three-bytes", bytes.fromhex("a2000000"), "ENC-05",
         "a map of 2 pairs with 3 bytes left: key 0, value 0, then key 0 again"),
    ):  # fmt: skip
        suite.add(
            f"encoding/map-count/{name}",
            f"The input {data.hex()}: {why} ({rule}). Reading the count as items (2 per pair) "
            "would report ENC-01 at the head.",
            v.state,
            [tx(data)],
            expect=[rule],
            flags=["encoding", "edge-case", "truncation"],
        )
