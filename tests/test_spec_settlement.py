"""Settlement records, root and inclusion proofs (SET-01 .. SET-04), worked out by hand from the
rule book's section 9.10 and checked against ``spec.settlement``."""

from __future__ import annotations

import pytest
from _rules_plugin import rules

from spec.cbor import encode
from spec.crypto import TAG_MERKLE_LEAF, TAG_MERKLE_NODE, TAG_SETTLEMENT_RECORD, tagged_hash
from spec.errors import Rejected
from spec.settlement import (
    EMPTY_SETTLEMENT_ROOT,
    DemandRecord,
    MarketRecord,
    audit_path,
    decode_record,
    leaf_hash,
    record_to_cbor,
    root_from_path,
    settlement_root,
    verify_inclusion,
)
from spec.units import MilliSen, NodeId, PriceSenPerKwh, Slot, Wh

pytest_plugins = ("_rules_plugin",)


def _n(x: bytes) -> bytes:
    return tagged_hash(TAG_MERKLE_LEAF, x)


def _node(left: bytes, right: bytes) -> bytes:
    return tagged_hash(TAG_MERKLE_NODE, left + right)


MARKET = MarketRecord(
    NodeId(1), Slot(980_141), PriceSenPerKwh(2400), Wh(3000), MilliSen(7_200_000), MilliSen(300_000)
)
DEMAND = DemandRecord(bytes(range(32)), NodeId(1), Slot(980_141), Wh(2500), Wh(2000))


@rules("SET-02", "SET-03")
def test_a_record_encodes_as_section_9_10_says_and_its_leaf_is_the_tagged_hash() -> None:
    # Section 9.10: the market record is {0: 0, 1: zone, 2: slot, 3: price, 4: volume,
    # 5: volume x price, 6: fees}.
    assert record_to_cbor(MARKET) == {
        0: 0,
        1: 1,
        2: 980_141,
        3: 2400,
        4: 3000,
        5: 7_200_000,
        6: 300_000,
    }
    assert record_to_cbor(DEMAND) == {0: 3, 1: bytes(range(32)), 2: 1, 3: 980_141, 4: 2500, 5: 2000}
    expected = tagged_hash(TAG_SETTLEMENT_RECORD, encode(record_to_cbor(MARKET)))
    assert leaf_hash(MARKET) == expected
    assert decode_record(record_to_cbor(MARKET)) == MARKET
    assert decode_record(record_to_cbor(DEMAND)) == DEMAND


@rules("SET-02")
def test_malformed_records_are_typed_rejections() -> None:
    cases = [
        (7, "ENC-14"),
        ({1: 1}, "ENC-13"),
        ({**record_to_cbor(MARKET), 0: 9}, "ENC-15"),
        ({**record_to_cbor(MARKET), 7: 0}, "ENC-12"),
        ({**record_to_cbor(MARKET), 3: -1}, "ENC-15"),
    ]
    for value, rule_id in cases:
        with pytest.raises(Rejected) as caught:
            decode_record(value)  # type: ignore[arg-type]
        assert caught.value.rule.id == rule_id, value


@rules("SET-03")
def test_the_root_of_three_records_is_the_worked_example() -> None:
    leaves = [leaf_hash(MARKET), leaf_hash(DEMAND), leaf_hash(MARKET)]
    l0, l1, l2 = leaves
    tree = _node(_node(_n(l0), _n(l1)), _n(l2))
    assert settlement_root([MARKET, DEMAND, MARKET]) == _counted(3, tree)
    assert settlement_root([]) == EMPTY_SETTLEMENT_ROOT == _counted(0, _n(b""))
    assert audit_path(leaves, 0) == [_n(l1), _n(l2)]
    assert audit_path(leaves, 2) == [_node(_n(l0), _n(l1))]


@rules("SET-04")
def test_every_leaf_of_every_tree_up_to_17_verifies_and_nothing_else_does() -> None:
    for count in range(1, 18):
        leaves = [tagged_hash(b"test-leaf", bytes([i])) for i in range(count)]
        root = _root(leaves)
        for index in range(count):
            path = audit_path(leaves, index)
            assert root_from_path(leaves[index], index, count, path) == root
            # Another leaf, index or a changed sibling gives another root, a longer path none.
            # (Not every count is bound by the path: leaf 0 of 3 and of 4 have paths of one
            # shape. SET-03 binds the count into the settlement root, tested above.)
            other = leaves[(index + 1) % count]
            if count > 1:
                assert root_from_path(other, index, count, path) != root
                assert root_from_path(leaves[index], (index + 1) % count, count, path) != root
                flipped = [bytes([path[0][0] ^ 1]) + path[0][1:], *path[1:]]
                assert root_from_path(leaves[index], index, count, flipped) != root
            assert root_from_path(leaves[index], index, count, [*path, root]) is None
        assert root_from_path(leaves[0], count, count, []) is None


def _counted(count: int, tree: bytes) -> bytes:
    """SET-03 written out again: the count as 8 bytes big-endian, then the Merkle root."""
    return tagged_hash(b"kwhledger/settlement-root/v1", count.to_bytes(8, "big") + tree)


@rules("SET-03", "SET-04")
def test_a_count_with_a_path_of_the_same_shape_gives_another_settlement_root() -> None:
    """Leaf 5's audit path of 7 leaves leads to the same Merkle root as leaf 5 of 8 (the rule
    book's example); the settlement root differs, so the proof with the wrong count fails."""
    records = [MARKET, DEMAND] * 3 + [MARKET]
    leaves = [leaf_hash(r) for r in records]
    path = audit_path(leaves, 5)
    tree = root_from_path(leaves[5], 5, 7, path)
    assert tree is not None and root_from_path(leaves[5], 5, 8, path) == tree
    root = settlement_root(records)
    assert root == _counted(7, tree)
    assert verify_inclusion(records[5], 5, 7, path, root)
    assert not verify_inclusion(records[5], 5, 8, path, root)


def _root(leaves: list[bytes]) -> bytes:
    """Section 9.7's Merkle root, written out again here from the rule book's text."""
    if len(leaves) == 1:
        return _n(leaves[0])
    k = 1
    while 2 * k < len(leaves):
        k *= 2
    return _node(_root(leaves[:k]), _root(leaves[k:]))


@rules("SET-04")
def test_a_record_proves_its_inclusion_only_with_its_own_fields() -> None:
    records = [MARKET, DEMAND]
    root = settlement_root(records)
    leaves = [leaf_hash(r) for r in records]
    assert verify_inclusion(DEMAND, 1, 2, audit_path(leaves, 1), root)
    more = DemandRecord(DEMAND.account, DEMAND.zone, DEMAND.slot, Wh(2500), Wh(2001))
    assert not verify_inclusion(more, 1, 2, audit_path(leaves, 1), root)
