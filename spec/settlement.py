"""Settlement: what a pruned slot leaves behind, committed under a Merkle root (SET-01 .. SET-04).

Once a slot's markets are cleared its records leave the state (PRN-01, PRN-02). What households
and auditors need of them afterwards (each market's price and volume, each order's fill and
payment, each lot's sold and expired Wh, each demand row's claims, each reading) is written into
the block's *settlement*: one record per pruned state record, in a fixed order (SET-01). Each
record is a CBOR map with its type at key 0 (SET-02); its leaf is a tagged hash of its encoding.
The block header commits to one tagged hash of the record count and the RFC 6962 Merkle root of
the leaves (SET-03, header key 7, checked by BLK-15). An inclusion proof is the audit path of one
leaf (SET-04): with the header alone, anyone can check that the ledger settled an order, a lot or
a market as the record says, and how many records the block settled.

Worked example (a 3-leaf tree; ``L_i`` the leaf hashes, ``N(x) = H(TAG_MERKLE_LEAF, x)``):
the Merkle root is ``M = H(TAG_MERKLE_NODE, H(TAG_MERKLE_NODE, N(L_0) || N(L_1)) || N(L_2))``,
the settlement root ``H(TAG_SETTLEMENT_ROOT, uint64(3) || M)``, and the audit path of leaf 0 is
``[N(L_1), N(L_2)]``, lowest sibling first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any, ClassVar, Final

from spec import indexes, wire
from spec.cbor import CborKey, CborValue, encode
from spec.crypto import (
    HASH_BYTES,
    PUBLIC_KEY_BYTES,
    TAG_BLOCK_HEADER,
    TAG_MERKLE_LEAF,
    TAG_MERKLE_NODE,
    TAG_SETTLEMENT_RECORD,
    TAG_SETTLEMENT_ROOT,
    merkle_root,
    tagged_hash,
)
from spec.errors import Rejected
from spec.rules import implements
from spec.state import (
    MAX_CORRECTIONS_PER_READING,
    AccountId,
    Encumbrance,
    OrderStatus,
    Side,
    Source,
    State,
)
from spec.units import (
    COUNTER_MAX,
    MeterId,
    MilliSen,
    NodeId,
    OrderId,
    PriceSenPerKwh,
    Slot,
    Wh,
)


class RecordType(IntEnum):
    """Key 0 of every settlement record: what the record settles (SET-02)."""

    MARKET = 0
    ORDER = 1
    LOT = 2
    DEMAND = 3
    READING = 4


@dataclass(frozen=True)
class MarketRecord:
    """A cleared (zone, slot) market: its price and volume, and the money that moved in it."""

    TYPE: ClassVar[RecordType] = RecordType.MARKET
    zone: NodeId
    slot: Slot
    price: PriceSenPerKwh | None
    """The clearing price; ``None`` when nothing traded."""
    volume_wh: Wh
    amount_msen: MilliSen
    """volume x price: what the buyers paid the sellers (0 without a price)."""
    fees_msen: MilliSen
    """The wheeling fees the buyers paid the fee account: the sum of the bids' fees."""


@dataclass(frozen=True)
class OrderRecord:
    """A closed order and what it was paid or paid (the order's fields but its escrow, which is
    0 once closed)."""

    TYPE: ClassVar[RecordType] = RecordType.ORDER
    order_id: OrderId
    side: Side
    owner: AccountId
    zone: NodeId
    slot: Slot
    lot_meter: MeterId | None
    quantity_wh: Wh
    limit_price: PriceSenPerKwh
    fee: PriceSenPerKwh
    """The bid's wheeling fee rate (0 for asks)."""
    status: OrderStatus
    filled_wh: Wh
    amount_msen: MilliSen
    """filled x the market's clearing price: what the seller received or the buyer paid the
    seller."""
    fee_msen: MilliSen
    """filled x fee: the wheeling fee the buyer paid (0 for asks)."""


@dataclass(frozen=True)
class LotRecord:
    """A lot at its end, as its market's clearing left it: every minted Wh was sold or expired
    (INV-22 checks the record, so a clearing that skipped CLR-07 shows in the settlement)."""

    TYPE: ClassVar[RecordType] = RecordType.LOT
    meter: MeterId
    slot: Slot
    owner: AccountId
    zone: NodeId
    node: NodeId
    source: Source
    encumbrance: Encumbrance
    minted_wh: Wh
    sold_wh: Wh
    expired_wh: Wh
    """The lot's own expired Wh (CLR-07): what no ask sold went to the utility under the feed-in
    contract (SET-02)."""


@dataclass(frozen=True)
class DemandRecord:
    """An account's attested import in one (zone, slot) and how much of it bids claimed."""

    TYPE: ClassVar[RecordType] = RecordType.DEMAND
    account: AccountId
    zone: NodeId
    slot: Slot
    imported_wh: Wh
    claimed_wh: Wh


@dataclass(frozen=True)
class ReadingRecord:
    """An attested reading, and how many times its attestor corrected it (COR-06)."""

    TYPE: ClassVar[RecordType] = RecordType.READING
    meter: MeterId
    slot: Slot
    exported_wh: Wh
    imported_wh: Wh
    encumbrance: Encumbrance
    corrections: int


SettlementRecord = MarketRecord | OrderRecord | LotRecord | DemandRecord | ReadingRecord

_RECORD_CLASSES: Final[dict[RecordType, Any]] = {
    RecordType.MARKET: MarketRecord,
    RecordType.ORDER: OrderRecord,
    RecordType.LOT: LotRecord,
    RecordType.DEMAND: DemandRecord,
    RecordType.READING: ReadingRecord,
}


@implements("SET-02")
def record_to_cbor(record: SettlementRecord) -> dict[CborKey, CborValue]:
    """SET-02: ``{0: type, 1: first field, 2: second field, ...}``, fields in declaration order;
    enumerations as integers, an absent value as null."""
    out: dict[CborKey, CborValue] = {0: int(record.TYPE)}
    for number, record_field in enumerate(fields(record), start=1):
        value = getattr(record, record_field.name)
        out[number] = value if value is None or isinstance(value, bytes) else int(value)
    return out


# --- Records of one slot (SET-01, SET-02) --------------------------------------------------------


@implements("SET-01", "SET-02")
def slot_settlement(state: State, slot: int) -> tuple[SettlementRecord, ...]:
    """SET-01: the settlement records of every per-slot record of ``slot`` in ``state``: market
    records (ascending zone), order records (ascending id), lot records (ascending meter),
    demand records (ascending (account, zone)), reading records (ascending meter).

    ``state`` is the state after the slot's markets were cleared (CLR-01) and before its records
    are removed (PRN-02).
    """
    markets = sorted(indexes.slot_markets(state, slot).items())
    prices = {zone: market.price or 0 for (zone, _), market in markets}
    orders = [
        OrderRecord(
            order_id=order_id,
            side=order.side,
            owner=order.owner,
            zone=order.zone,
            slot=order.slot,
            lot_meter=order.lot_meter,
            quantity_wh=order.quantity_wh,
            limit_price=order.limit_price,
            fee=order.fee,
            status=order.status,
            filled_wh=order.filled_wh,
            amount_msen=MilliSen(order.filled_wh * prices.get(order.zone, 0)),
            fee_msen=MilliSen(order.filled_wh * order.fee),
        )
        for order_id, order in sorted(indexes.slot_orders(state, slot).items())
    ]
    market_records = [
        MarketRecord(
            zone=zone,
            slot=Slot(slot),
            price=market.price,
            volume_wh=market.volume_wh,
            amount_msen=MilliSen(market.volume_wh * (market.price or 0)),
            fees_msen=MilliSen(
                sum(o.fee_msen for o in orders if o.zone == zone and o.side is Side.BID)
            ),
        )
        for (zone, _), market in markets
    ]
    lots = [
        LotRecord(
            meter=meter,
            slot=Slot(slot),
            owner=lot.owner,
            zone=lot.zone,
            node=lot.node,
            source=lot.source,
            encumbrance=lot.encumbrance,
            minted_wh=lot.minted_wh,
            sold_wh=lot.sold_wh,
            expired_wh=lot.expired_wh,
        )
        for (meter, _), lot in sorted(indexes.slot_lots(state, slot).items())
    ]
    demand = [
        DemandRecord(
            account=account,
            zone=zone,
            slot=Slot(slot),
            imported_wh=row.imported_wh,
            claimed_wh=row.claimed_wh,
        )
        for (account, zone, _), row in sorted(indexes.slot_demand(state, slot).items())
    ]
    readings = [
        ReadingRecord(
            meter=meter,
            slot=Slot(slot),
            exported_wh=reading.exported_wh,
            imported_wh=reading.imported_wh,
            encumbrance=reading.encumbrance,
            corrections=reading.corrections,
        )
        for (meter, _), reading in sorted(indexes.slot_readings(state, slot).items())
    ]
    return (*market_records, *orders, *lots, *demand, *readings)


# --- Leaves, root and inclusion proofs (SET-03, SET-04) ------------------------------------------


@implements("SET-03")
def leaf_hash(record: SettlementRecord) -> bytes:
    """SET-03: ``H(TAG_SETTLEMENT_RECORD, encode(record))``."""
    return tagged_hash(TAG_SETTLEMENT_RECORD, encode(record_to_cbor(record)))


@implements("SET-03")
def count_and_root(count: int, tree_root: bytes) -> bytes:
    """SET-03: ``H(TAG_SETTLEMENT_ROOT, uint64_be(count) || tree_root)``. The count is bound so
    that a proof's ``count`` cannot be changed while the proof still verifies: RFC 6962's tree
    alone fixes the audit path's shape, not the number of leaves."""
    return tagged_hash(TAG_SETTLEMENT_ROOT, count.to_bytes(8, "big") + tree_root)


@implements("SET-03")
def settlement_root(records: Sequence[SettlementRecord]) -> bytes:
    """SET-03: the record count and the Merkle root of section 9.7 (``crypto.merkle_root``)
    over the records' leaves in emission order, under one tagged hash."""
    return count_and_root(len(records), merkle_root([leaf_hash(r) for r in records]))


EMPTY_SETTLEMENT_ROOT: Final = settlement_root(())
"""The settlement root of a block that pruned nothing."""


def _split(count: int) -> int:
    """The largest power of two strictly less than ``count`` (``count >= 2``)."""
    split = 1
    while split * 2 < count:
        split *= 2
    return split


@implements("SET-04")
def audit_path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """SET-04: the RFC 6962 section 2.1.1 audit path of leaf ``index``: the roots of the sibling
    subtrees from the leaf up to the root, lowest first."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"index {index} outside [0, {len(leaves)})")
    if len(leaves) == 1:
        return []
    split = _split(len(leaves))
    if index < split:
        return [*audit_path(leaves[:split], index), merkle_root(list(leaves[split:]))]
    return [*audit_path(leaves[split:], index - split), merkle_root(list(leaves[:split]))]


@implements("SET-04")
def root_from_path(leaf: bytes, index: int, count: int, path: Sequence[bytes]) -> bytes | None:
    """SET-04: the root that leaf ``index`` of ``count`` with audit path ``path`` implies, or
    ``None`` when the path's length does not fit ``index`` and ``count``."""
    if not 0 <= index < count:
        return None
    if count == 1:
        return tagged_hash(TAG_MERKLE_LEAF, leaf) if not path else None
    if not path:
        return None
    split = _split(count)
    if index < split:
        left = root_from_path(leaf, index, split, path[:-1])
        return None if left is None else tagged_hash(TAG_MERKLE_NODE, left + path[-1])
    right = root_from_path(leaf, index - split, count - split, path[:-1])
    return None if right is None else tagged_hash(TAG_MERKLE_NODE, path[-1] + right)


@implements("SET-04")
def verify_inclusion(
    record: SettlementRecord, index: int, count: int, path: Sequence[bytes], root: bytes
) -> bool:
    """SET-04: whether ``record`` is leaf ``index`` of a settlement of ``count`` records whose
    settlement root is ``root``."""
    tree_root = root_from_path(leaf_hash(record), index, count, path)
    return tree_root is not None and count_and_root(count, tree_root) == root


# --- Decoding a record and a proof file ---------------------------------------------------------

_account_id = wire.fixed_bytes(PUBLIC_KEY_BYTES)
_FIELD_PARSERS: Final[dict[RecordType, list[wire.Parser]]] = {
    RecordType.MARKET: [
        wire.uint(NodeId),
        wire.uint(Slot),
        wire.nullable(wire.uint(PriceSenPerKwh)),
        wire.uint(Wh),
        wire.uint(MilliSen),
        wire.uint(MilliSen),
    ],
    RecordType.ORDER: [
        wire.uint(OrderId),
        wire.enum(Side),
        _account_id,
        wire.uint(NodeId),
        wire.uint(Slot),
        wire.nullable(wire.uint(MeterId)),
        wire.uint(Wh),
        wire.uint(PriceSenPerKwh),
        wire.uint(PriceSenPerKwh),
        wire.enum(OrderStatus),
        wire.uint(Wh),
        wire.uint(MilliSen),
        wire.uint(MilliSen),
    ],
    RecordType.LOT: [
        wire.uint(MeterId),
        wire.uint(Slot),
        _account_id,
        wire.uint(NodeId),
        wire.uint(NodeId),
        wire.enum(Source),
        wire.enum(Encumbrance),
        wire.uint(Wh),
        wire.uint(Wh),
        wire.uint(Wh),
    ],
    RecordType.DEMAND: [
        _account_id,
        wire.uint(NodeId),
        wire.uint(Slot),
        wire.uint(Wh),
        wire.uint(Wh),
    ],
    RecordType.READING: [
        wire.uint(MeterId),
        wire.uint(Slot),
        wire.uint(Wh),
        wire.uint(Wh),
        wire.enum(Encumbrance),
        wire.plain_uint(MAX_CORRECTIONS_PER_READING),
    ],
}


def decode_record(value: CborValue) -> SettlementRecord:
    """The settlement record a CBOR map encodes (SET-02), or ``Rejected`` with an ENC rule."""
    if not isinstance(value, dict):
        raise Rejected("ENC-14", "a settlement record must be a map")
    kind = wire.enum(RecordType)(value.get(0)) if 0 in value else None
    if kind is None:
        raise Rejected("ENC-13", "a settlement record lacks key 0 (type)")
    cls = _RECORD_CLASSES[kind]
    names = [f.name for f in fields(cls)]
    schema = [wire.Field(0, "type", lambda v: v)] + [
        wire.Field(number, name, parse)
        for number, (name, parse) in enumerate(
            zip(names, _FIELD_PARSERS[kind], strict=True), start=1
        )
    ]
    parsed = wire.parse_map(value, schema, cls.__name__)
    del parsed["type"]
    record: SettlementRecord = cls(**parsed)
    return record


SETTLEMENT_ROOT_KEY: Final = 7
"""The header key of the settlement root (BLK-15)."""
MAX_PROOF_PATH: Final = 64
"""An audit path is at most log2 of the record count long; 64 covers any count a block can hold."""


@dataclass(frozen=True)
class InclusionProof:
    """A proof file: ``{0: header, 1: record, 2: index, 3: count, 4: [sibling hashes]}``."""

    header: dict[CborKey, CborValue]
    """The block header as its CBOR map (section 9.4); key 7 is the settlement root."""
    record: SettlementRecord
    index: int
    count: int
    path: tuple[bytes, ...]

    def to_cbor(self) -> dict[CborKey, CborValue]:
        return {
            0: self.header,
            1: record_to_cbor(self.record),
            2: self.index,
            3: self.count,
            4: list(self.path),
        }

    def header_hash(self) -> bytes:
        """The hash of the header the proof is against (what the chain names as the block)."""
        return tagged_hash(TAG_BLOCK_HEADER, encode(self.header))


def make_proof(
    header: dict[CborKey, CborValue], records: Sequence[SettlementRecord], index: int
) -> InclusionProof:
    """The inclusion proof of ``records[index]`` in a block whose header map is ``header``."""
    leaves = [leaf_hash(r) for r in records]
    return InclusionProof(
        header, records[index], index, len(records), tuple(audit_path(leaves, index))
    )


def _header_map(value: CborValue) -> dict[CborKey, CborValue]:
    from spec.blocks import parse_header  # blocks builds on this module

    parse_header(value)
    assert isinstance(value, dict)
    return value


_PROOF_FIELDS: Final = (
    wire.Field(0, "header", _header_map),
    wire.Field(1, "record", decode_record),
    wire.Field(2, "index", wire.plain_uint(COUNTER_MAX)),
    wire.Field(3, "count", wire.plain_uint(COUNTER_MAX)),
    wire.Field(4, "path", wire.array(wire.fixed_bytes(HASH_BYTES))),
)


def decode_proof(value: CborValue) -> InclusionProof:
    """A proof file's content, schema-checked (ENC rules), not yet verified."""
    return InclusionProof(**wire.parse_map(value, _PROOF_FIELDS, "settlement proof"))


@implements("SET-04")
def verify_proof(proof: InclusionProof, header_hash: bytes | None = None) -> bool:
    """SET-04: whether the proof's record is in the settlement its header commits to (key 7),
    and, if ``header_hash`` is given, whether the header is that block's."""
    if header_hash is not None and proof.header_hash() != header_hash:
        return False
    if len(proof.path) > MAX_PROOF_PATH:
        return False
    root = proof.header.get(SETTLEMENT_ROOT_KEY)
    if not isinstance(root, bytes):
        return False
    return verify_inclusion(proof.record, proof.index, proof.count, proof.path, root)
