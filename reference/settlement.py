"""Settlement records of the reference node: what a block emits when it prunes settled slots.

Written from the rule book (SET rules, section "Pruning and settlement"), not from the spec's
code. A record is a CBOR map with its type at key 0; its leaf is the tagged hash of its encoding,
and a block's ``settlement_root`` (header key 7, BLK-15) is the Merkle root of section 9.7 over
the leaves in emission order. ``audit_path`` gives the RFC 6962 inclusion proof of one leaf, which
is what the node serves (``kwhledger settlement prove``).
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from reference.cbor import encode

TAG_SETTLEMENT_RECORD: Final = b"kwhledger/settlement-record/v1\x00"
TAG_MERKLE_LEAF: Final = b"kwhledger/merkle-leaf/v1\x00"
TAG_MERKLE_NODE: Final = b"kwhledger/merkle-node/v1\x00"

MARKET, ORDER, LOT, DEMAND, READING = 0, 1, 2, 3, 4
"""The record types (key 0 of every record)."""


def _blake(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def market_record(zone: int, slot: int, price: int | None, volume: int, fees: int) -> bytes:
    """A cleared market: price (or null), volume, what buyers paid sellers, wheeling fees."""
    amount = volume * (price or 0)
    return encode({0: MARKET, 1: zone, 2: slot, 3: price, 4: volume, 5: amount, 6: fees})


def order_record(order_id: int, order: tuple[Any, ...], price: int | None) -> bytes:
    """``order`` as the ledger keeps it (side, owner, zone, slot, lot meter, quantity, limit,
    fee rate, escrow, status, filled); ``price`` its market's clearing price. Its escrow, 0 once
    closed, is left out; the money it moved is filled x price, and filled x fee rate."""
    filled = order[10]
    return encode(
        {
            0: ORDER,
            1: order_id,
            2: order[0],
            3: order[1],
            4: order[2],
            5: order[3],
            6: order[4],
            7: order[5],
            8: order[6],
            9: order[7],
            10: order[9],
            11: filled,
            12: filled * (price or 0),
            13: filled * order[7],
        }
    )


def lot_record(
    meter_id: int,
    slot: int,
    meter: tuple[Any, ...],
    encumbrance: int,
    minted: int,
    sold: int,
) -> bytes:
    """A lot at its end; ``meter`` as the ledger keeps it (owner, attestor, node, zone, source,
    ...). Whatever was not sold expired."""
    return encode(
        {
            0: LOT,
            1: meter_id,
            2: slot,
            3: meter[0],
            4: meter[3],
            5: meter[2],
            6: meter[4],
            7: encumbrance,
            8: minted,
            9: sold,
            10: minted - sold,
        }
    )


def demand_record(account: bytes, zone: int, slot: int, imported: int, claimed: int) -> bytes:
    return encode({0: DEMAND, 1: account, 2: zone, 3: slot, 4: imported, 5: claimed})


def reading_record(meter: int, slot: int, exported: int, imported: int, encumbrance: int) -> bytes:
    return encode({0: READING, 1: meter, 2: slot, 3: exported, 4: imported, 5: encumbrance})


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


def records_root(records: list[bytes]) -> bytes:
    """A block's settlement root from its encoded records, in emission order."""
    return root([leaf(r) for r in records])


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


def record_key(record: bytes) -> tuple[int, Any, ...]:
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
