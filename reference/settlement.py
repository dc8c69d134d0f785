"""Settlement records of the reference node: what a block emits when it prunes settled slots.

Written from the rule book (SET rules, section "Pruning and settlement"), not from the spec's
code. A record is a CBOR map with its type at key 0; its leaf is the tagged hash of its encoding,
and a block's ``settlement_root`` (header key 7, BLK-15) is the tagged hash of the record count
(8 bytes, big-endian) and the Merkle root of section 9.7 over the leaves in emission order.
``audit_path`` gives the RFC 6962 inclusion proof of one leaf, which is what the node serves
(``kwhledger settlement prove``).
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from reference.cbor import u

TAG_SETTLEMENT_RECORD: Final = b"kwhledger/settlement-record/v1\x00"
TAG_MERKLE_LEAF: Final = b"kwhledger/merkle-leaf/v1\x00"
TAG_MERKLE_NODE: Final = b"kwhledger/merkle-node/v1\x00"
TAG_SETTLEMENT_ROOT: Final = b"kwhledger/settlement-root/v1\x00"

MARKET, ORDER, LOT, DEMAND, READING = 0, 1, 2, 3, 4
"""The record types (key 0 of every record)."""


def _blake(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def _opt(value: int | None) -> bytes:
    return _NULL if value is None else u(value)


_NULL: Final = b"\xf6"


def market_record(zone: int, slot: int, price: int | None, volume: int, fees: int) -> bytes:
    """A cleared market: price (or null), volume, what buyers paid sellers, wheeling fees."""
    amount = volume * (price or 0)
    return b"".join(
        (b"\xa7\x00\x00\x01", u(zone), b"\x02", u(slot), b"\x03", _opt(price), b"\x04",
         u(volume), b"\x05", u(amount), b"\x06", u(fees))
    )  # fmt: skip


def order_record(order_id: int, order: tuple[Any, ...], price: int | None) -> bytes:
    """``order`` as the ledger keeps it (side, owner, zone, slot, lot meter, quantity, limit,
    fee rate, escrow, status, filled); ``price`` its market's clearing price. Its escrow, 0 once
    closed, is left out; the money it moved is filled x price, and filled x fee rate."""
    filled = order[10]
    return b"".join(
        (b"\xae\x00\x01\x01", u(order_id), b"\x02", u(order[0]), b"\x03\x58\x20", order[1],
         b"\x04", u(order[2]), b"\x05", u(order[3]), b"\x06", _opt(order[4]), b"\x07",
         u(order[5]), b"\x08", u(order[6]), b"\x09", u(order[7]), b"\x0a", u(order[9]),
         b"\x0b", u(filled), b"\x0c", u(filled * (price or 0)), b"\x0d", u(filled * order[7]))
    )  # fmt: skip


def lot_record(
    meter_id: int,
    slot: int,
    meter: tuple[Any, ...],
    encumbrance: int,
    minted: int,
    sold: int,
    expired: int,
) -> bytes:
    """A lot at its end, as clearing left it; ``meter`` as the ledger keeps it (owner, attestor,
    node, zone, source, ...)."""
    return b"".join(
        (b"\xab\x00\x02\x01", u(meter_id), b"\x02", u(slot), b"\x03\x58\x20", meter[0], b"\x04",
         u(meter[3]), b"\x05", u(meter[2]), b"\x06", u(meter[4]), b"\x07", u(encumbrance),
         b"\x08", u(minted), b"\x09", u(sold), b"\x0a", u(expired))
    )  # fmt: skip


def demand_record(account: bytes, zone: int, slot: int, imported: int, claimed: int) -> bytes:
    return b"".join(
        (b"\xa6\x00\x03\x01\x58\x20", account, b"\x02", u(zone), b"\x03", u(slot), b"\x04",
         u(imported), b"\x05", u(claimed))
    )  # fmt: skip


def reading_record(
    meter: int, slot: int, exported: int, imported: int, encumbrance: int, corrections: int
) -> bytes:
    return b"".join(
        (b"\xa7\x00\x04\x01", u(meter), b"\x02", u(slot), b"\x03", u(exported), b"\x04",
         u(imported), b"\x05", u(encumbrance), b"\x06", u(corrections))
    )  # fmt: skip


def leaf(record: bytes) -> bytes:
    """A record's leaf: the tagged hash of its encoding."""
    return _blake(TAG_SETTLEMENT_RECORD + record)


def _subtree_hashes(leaves: list[bytes]) -> list[list[bytes]]:
    """The tree of section 9.7 level by level (level 0: the hashed leaves); an unpaired last
    node goes up unchanged, which is RFC 6962's split at the largest power of two."""
    level = [_blake(TAG_MERKLE_LEAF + x) for x in leaves]
    levels = [level]
    while len(level) > 1:
        paired = [
            _blake(TAG_MERKLE_NODE + level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
        levels.append(level)
    return levels


def root(leaves: list[bytes]) -> bytes:
    """The Merkle root of section 9.7 over ``leaves`` (the empty list: the empty root)."""
    if not leaves:
        return _blake(TAG_MERKLE_LEAF)
    return _subtree_hashes(leaves)[-1][0]


def root_with_count(count: int, tree_root: bytes) -> bytes:
    """The settlement root: the record count bound to the tree's root."""
    return _blake(TAG_SETTLEMENT_ROOT + count.to_bytes(8, "big") + tree_root)


def records_root(records: list[bytes]) -> bytes:
    """A block's settlement root from its encoded records, in emission order."""
    return root_with_count(len(records), root([leaf(r) for r in records]))


def audit_path(leaves: list[bytes], index: int) -> list[bytes]:
    """RFC 6962 section 2.1.1 PATH(index, leaves): sibling hashes from the leaf up."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} of {len(leaves)}")
    path = []
    for level in _subtree_hashes(leaves)[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        index //= 2
    return path


def record_key(record: bytes) -> tuple[Any, ...]:
    """(type, the fields that name what a record settles): ``(MARKET, zone, slot)``,
    ``(ORDER, order id)``, ``(LOT, meter, slot)``, ``(DEMAND, account, zone, slot)``,
    ``(READING, meter, slot)``."""
    import cbor2

    value = cbor2.loads(record)
    kind = value[0]
    if kind == ORDER:
        return (kind, value[1])
    if kind == DEMAND:
        return (kind, value[1], value[2], value[3])
    return (kind, value[1], value[2])


def proof_file(header_bytes: bytes, records: list[bytes], index: int) -> bytes:
    """The inclusion proof of ``records[index]`` in the block whose header encodes as
    ``header_bytes``: ``{0: header, 1: record, 2: index, 3: count, 4: [sibling hashes]}``, the
    header and the record spliced in exactly as the chain encoded them."""
    from reference.cbor import bstr, u, uint_bytes

    path = audit_path([leaf(r) for r in records], index)
    return b"".join(
        (
            b"\xa5\x00",
            header_bytes,
            b"\x01",
            records[index],
            b"\x02",
            u(index),
            b"\x03",
            u(len(records)),
            b"\x04",
            uint_bytes(len(path), 4),
            *(bstr(h) for h in path),
        )
    )
