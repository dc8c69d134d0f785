"""Wire objects of the reference node: transactions and blocks, from bytes to plain tuples.

Schemas are small tuples interpreted by two parsers. The *strict* parser follows the rule book's
order exactly (map type ENC-14; first unknown key in encoded order ENC-12; lowest missing key
ENC-13; then each field in key order, its type ENC-14 before its bounds ENC-15) and raises the
first violation. The *fast* parser accepts only inputs it can vouch for and otherwise says
``None``, sending the input to the strict path; valid traffic never pays for the strict path.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from reference.cbor import decode_fast, decode_strict, u
from reference.errors import Rejected

MAX_TX_BYTES: Final = 65_536
MAX_BLOCK_BYTES: Final = 8 * 1024 * 1024
MAX_BLOCK_TXS: Final = 4096
MAX_BLOCK_ITEMS: Final = 65_536
MAX_BATCH_READINGS: Final = 1024
CHAIN_ID_MAX_BYTES: Final = 64
WH_MAX: Final = 10**12
PRICE_MAX: Final = 1_000_000
MONEY_MAX: Final = 2**63 - 1
TIME_MAX: Final = 2**40 - 1
SLOT_MAX: Final = TIME_MAX // 1800
COUNTER_MAX: Final = 2**63 - 1
ID_MAX: Final = 2**32 - 1
U64_MAX: Final = 2**64 - 1

TAG_TX_SIGNING: Final = b"kwhledger/tx-signing/v1"
TAG_TX_ID: Final = b"kwhledger/tx-id/v1"

# Field schemas: ("u", lo, hi) integer; ("e", count) enumeration 0..count-1; ("b", n) n bytes;
# ("B", n) at most n bytes; ("t", n) text of 1..n UTF-8 bytes; ("n", inner) null or inner;
# ("a", inner) array, ("a", inner, most, rule) one of at most ``most`` elements (checked at its
# head); ("p", inner...) fixed-length array; ("m", schema) map; ("*",) anything.
Schema = tuple[Any, ...]

ID = ("u", 0, ID_MAX)
SLOT = ("u", 0, SLOT_MAX)
WH = ("u", 0, WH_MAX)
PRICE = ("u", 0, PRICE_MAX)
MONEY = ("u", 0, MONEY_MAX)
KEY32 = ("b", 32)
ANY = ("*",)

READING: Final = ("m", (ID, SLOT, WH, WH, ("e", 4)))

KIND_NAMES: Final = {
    1: "REGISTER_ACCOUNT",
    2: "REGISTER_NODE",
    3: "REGISTER_METER",
    4: "ATTEST",
    5: "PLACE_ASK",
    6: "PLACE_BID",
    7: "CANCEL",
    8: "DEPOSIT",
    9: "WITHDRAW",
    10: "TRANSFER",
    11: "VALIDATOR_UPDATE",
    12: "ROTATE_KEY",
    13: "REVOKE_ROLE",
    14: "RETIRE_METER",
    15: "SET_METER_ENCUMBRANCE",
    16: "CORRECT_READING",
}
BODY_SCHEMAS: Final[dict[int, tuple[Schema, ...]]] = {
    1: (KEY32, ("u", 0, U64_MAX)),
    2: (ID, ("e", 3), ("n", ID), PRICE),
    3: (ID, KEY32, KEY32, ID, ("e", 4), WH, ("e", 4)),
    4: (("a", READING),),
    5: (ID, SLOT, WH, PRICE),
    6: (ID, SLOT, WH, PRICE),
    7: (("u", 1, COUNTER_MAX),),
    8: (KEY32, MONEY),
    9: (MONEY,),
    10: (KEY32, MONEY),
    11: (KEY32, ("u", 0, 1), ("a", ("p", KEY32, ("b", 64)))),
    12: (KEY32, ("b", 64)),
    13: (KEY32, ("u", 0, U64_MAX)),
    14: (ID, SLOT),
    15: (ID, SLOT, ("e", 4)),
    16: READING[1],
}
ENVELOPE: Final = (
    ("t", CHAIN_ID_MAX_BYTES),
    ("u", 0, U64_MAX),
    KEY32,
    ("u", 0, COUNTER_MAX),
    ANY,
    ("b", 64),
)
HEADER: Final = (
    ("t", CHAIN_ID_MAX_BYTES),
    ("u", 0, COUNTER_MAX),
    ("b", 32),
    ("u", 0, TIME_MAX),
    ("b", 32),
    ("b", 32),
    KEY32,
    ("b", 32),
)
BLOCK: Final = (
    ("m", HEADER),
    ("a", ("B", MAX_TX_BYTES), MAX_BLOCK_TXS, "BLK-11"),
    ("a", ("p", KEY32, ("u", 0, TIME_MAX), ("b", 64))),
)
"""A block: header, transactions, votes ``[validator, time, signature]``."""


def array_bounds(fields: tuple[Schema, ...]) -> dict[tuple[Any, ...], tuple[int, str]]:
    """The bounded arrays of a map schema, by their place, for the strict decoder."""
    return {(key,): (f[2], f[3]) for key, f in enumerate(fields) if f[0] == "a" and len(f) == 4}


BLOCK_ARRAY_BOUNDS: Final = array_bounds(BLOCK)


# --- The strict parser ----------------------------------------------------------------------------


def parse_strict(value: Any, schema: Schema) -> Any:
    """``value`` checked against ``schema`` in the rule book's order; a map gives a tuple."""
    kind = schema[0]
    if kind == "u":
        if type(value) is not int:
            raise Rejected("ENC-14", "expected an integer")
        if not schema[1] <= value <= schema[2]:
            raise Rejected("ENC-15", f"{value} outside [{schema[1]}, {schema[2]}]")
        return value
    if kind == "e":
        if type(value) is not int:
            raise Rejected("ENC-14", "expected an integer")
        if not 0 <= value < schema[1]:
            raise Rejected("ENC-15", f"{value} is not a member")
        return value
    if kind == "b" or kind == "B":
        if type(value) is not bytes:
            raise Rejected("ENC-14", "expected a byte string")
        if len(value) > schema[1] or (kind == "b" and len(value) != schema[1]):
            raise Rejected("ENC-15", f"byte string of {len(value)} bytes")
        return value
    if kind == "t":
        if type(value) is not str:
            raise Rejected("ENC-14", "expected a text string")
        if not 1 <= len(value.encode("utf-8")) <= schema[1]:
            raise Rejected("ENC-15", "text length")
        return value
    if kind == "n":
        return None if value is None else parse_strict(value, schema[1])
    if kind == "a":
        if type(value) is not list:
            raise Rejected("ENC-14", "expected an array")
        return tuple(parse_strict(item, schema[1]) for item in value)
    if kind == "p":
        if type(value) is not list:
            raise Rejected("ENC-14", "expected an array")
        if len(value) != len(schema) - 1:
            raise Rejected("ENC-15", f"array of {len(value)} elements")
        return tuple(parse_strict(item, part) for item, part in zip(value, schema[1:], strict=True))
    if kind == "m":
        return parse_map_strict(value, schema[1])
    return value


def parse_map_strict(value: Any, fields: tuple[Schema, ...]) -> tuple[Any, ...]:
    """A map with keys 0..len(fields)-1, as the tuple of its parsed values in key order."""
    if type(value) is not dict:
        raise Rejected("ENC-14", "expected a map")
    count = len(fields)
    for key in value:  # decoded maps iterate in encoded key order
        if type(key) is not int or not 0 <= key < count:
            raise Rejected("ENC-12", f"unknown key {key!r}")
    for key in range(count):
        if key not in value:
            raise Rejected("ENC-13", f"missing key {key}")
    return tuple(parse_strict(value[key], fields[key]) for key in range(count))


# --- The fast parser (valid inputs only) ----------------------------------------------------------

_KEYS: Final = [list(range(n)) for n in range(12)]


def _fast_map(value: Any, fields: tuple[Schema, ...]) -> tuple[Any, ...] | None:
    if type(value) is not dict or len(value) != len(fields):
        return None
    for key in value:
        if type(key) is not int:
            return None
    if list(value) != _KEYS[len(fields)]:
        return None
    out = []
    for key, schema in enumerate(fields):
        item = value[key]
        kind = schema[0]
        if kind == "u":
            if type(item) is not int or not schema[1] <= item <= schema[2]:
                return None
        elif kind == "e":
            if type(item) is not int or not 0 <= item < schema[1]:
                return None
        elif kind == "b":
            if type(item) is not bytes or len(item) != schema[1]:
                return None
        elif kind == "n":
            if item is not None:
                inner = schema[1]
                if type(item) is not int or not inner[1] <= item <= inner[2]:
                    return None
        elif kind == "t":
            if type(item) is not str or not 1 <= len(item.encode("utf-8")) <= schema[1]:
                return None
        elif kind == "*":
            pass
        elif kind == "a":
            if type(item) is not list:
                return None
            parsed = _fast_readings(item) if schema[1] is READING else None
            if parsed is None:
                return None
            item = parsed
        else:
            return None
        out.append(item)
    return tuple(out)


_READING_KEYS: Final = [0, 1, 2, 3, 4]


def _fast_readings(items: list[Any]) -> tuple[tuple[int, int, int, int, int], ...] | None:
    """An attestation's readings (the one array on the hot path), checked field by field."""
    out = []
    for element in items:
        if type(element) is not dict or len(element) != 5:
            return None
        for key in element:
            if type(key) is not int:
                return None
        # cbor2 keeps the input's key order and the re-encoding check compares bytes, so the
        # order (ENC-04) is checked here: exactly 0, 1, 2, 3, 4.
        if list(element) != _READING_KEYS:
            return None
        meter, slot, exported, imported, encumbrance = element.values()
        if (
            type(meter) is not int or type(slot) is not int or type(exported) is not int
            or type(imported) is not int or type(encumbrance) is not int
            or not 0 <= meter <= ID_MAX or not 0 <= slot <= SLOT_MAX
            or not 0 <= exported <= WH_MAX or not 0 <= imported <= WH_MAX
            or not 0 <= encumbrance <= 3
        ):  # fmt: skip
            return None
        out.append((meter, slot, exported, imported, encumbrance))
    return tuple(out)


# --- Transactions ---------------------------------------------------------------------------------


def _head_length(n: int) -> int:
    if n < 24:
        return 1
    if n < 0x100:
        return 2
    if n < 0x10000:
        return 3
    return 5 if n < 0x100000000 else 9


class Tx:
    """A decoded transaction; ``data`` is its canonical encoding."""

    __slots__ = (
        "body",
        "chain_id",
        "data",
        "id",
        "kind",
        "nonce",
        "sender",
        "signature",
        "valid_until",
    )

    def __init__(
        self,
        data: bytes,
        chain_id: str,
        kind: int,
        sender: bytes,
        nonce: int,
        body: tuple[Any, ...],
        signature: bytes,
        identifier: bytes | None = None,
        valid_until: int | None = None,
    ) -> None:
        self.data = data
        self.valid_until = valid_until
        """TX-09: the horizon (envelope key 6), or None."""
        self.chain_id = chain_id
        self.kind = kind
        self.sender = sender
        self.nonce = nonce
        self.body = body
        self.signature = signature
        self.id = tx_id(data) if identifier is None else identifier
        """HSH-02, computed once: the mempool, the block and the receipts all need it."""

    def signing_bytes(self) -> bytes:
        """The kind's tag and ``[chain_id, kind, sender, nonce, body]``, cut from the envelope.

        An accepted envelope is canonical, so its fields' encodings are slices of it: the map
        ``{0: c, 1: k, 2: s, 3: n, 4: b, 5: sig}`` becomes the array ``[c, k, s, n, b]`` by dropping
        the one-byte keys and the 67-byte signature field.
        """
        data = self.data
        layout = _SIGNING_LAYOUT.get((self.chain_id, self.kind))
        if layout is None:
            chain_bytes = len(self.chain_id.encode("utf-8"))
            chain_end = 2 + _head_length(chain_bytes) + chain_bytes
            tag = TAG_TX_SIGNING + b"/" + KIND_NAMES[self.kind].encode("ascii") + b"\x00\x85"
            layout = (tag, chain_end, chain_end + 1 + _head_length(self.kind))
            if len(_SIGNING_LAYOUT) < 1024:
                _SIGNING_LAYOUT[(self.chain_id, self.kind)] = layout
        tag, chain_end, kind_end = layout
        sender_end = kind_end + 1 + 34
        nonce_end = sender_end + 1 + _head_length(self.nonce)
        horizon = b""
        if self.valid_until is not None:  # {..., 5: sig, 6: h} signs [c, k, s, n, b, h]
            horizon = u(self.valid_until)
            tag = tag[:-1] + b"\x86"
        body_end = len(data) - 67 - (len(horizon) + 1 if horizon else 0)
        return b"".join(
            (
                tag,
                data[2:chain_end],
                data[chain_end + 1 : kind_end],
                data[kind_end + 1 : sender_end],
                data[sender_end + 1 : nonce_end],
                data[nonce_end + 1 : body_end],
                horizon,
            )
        )


_SIGNING_LAYOUT: dict[tuple[str, int], tuple[bytes, int, int]] = {}
"""Per (chain id, kind): the tag with the array head, and where the chain id and kind end."""


def tx_id(data: bytes) -> bytes:
    """HSH-02: BLAKE2b-256 under the transaction id tag."""
    return hashlib.blake2b(TAG_TX_ID + b"\x00" + data, digest_size=32).digest()


_ENVELOPE_KEYS: Final = [0, 1, 2, 3, 4, 5]


def _uint_at(data: bytes, pos: int) -> tuple[int, int]:
    """The shortest-form unsigned integer at ``pos`` and the position after it; raises
    ``ValueError`` for anything else (another major type, a longer form than needed, no room)."""
    head = data[pos]
    if head < 24:
        return head, pos + 1
    size = _UINT_SIZES.get(head)
    if size is None or pos + 1 + size > len(data):
        raise ValueError
    value = int.from_bytes(data[pos + 1 : pos + 1 + size], "big")
    if value < _UINT_FLOOR[size]:
        raise ValueError
    return value, pos + 1 + size


_UINT_SIZES: Final = {24: 1, 25: 2, 26: 4, 27: 8}
_UINT_FLOOR: Final = {1: 24, 2: 0x100, 4: 0x10000, 8: 0x100000000}
_SIG_HEAD: Final = b"\x05\x58\x40"


def _parse_direct(data: bytes, identifier: bytes | None) -> Tx | None:
    """A transaction with scalar body fields, parsed straight from its bytes, or None.

    Accepts only the exact canonical layout ``{0: chain, 1: kind, 2: sender, 3: nonce, 4: body,
    5: signature}`` with every field in range; anything else (including an attestation's array)
    goes to the cbor2 path or the strict parser, which name the rule.
    """
    try:
        if data[0] != 0xA6 or data[1] != 0x00:
            return None
        head = data[2]
        if 0x61 <= head <= 0x77:
            length, pos = head - 0x60, 3
        elif head == 0x78 and 24 <= data[3] <= CHAIN_ID_MAX_BYTES:
            length, pos = data[3], 4
        else:
            return None
        chain_id = data[pos : pos + length].decode("utf-8")
        pos += length
        if data[pos] != 0x01:
            return None
        kind, pos = _uint_at(data, pos + 1)
        fields = BODY_SCHEMAS.get(kind)
        if fields is None or kind == 4:
            return None
        if data[pos : pos + 3] != b"\x02\x58\x20" or data[pos + 35] != 0x03:
            return None
        sender = data[pos + 3 : pos + 35]
        nonce, pos = _uint_at(data, pos + 36)
        if nonce > COUNTER_MAX or data[pos] != 0x04 or data[pos + 1] != 0xA0 + len(fields):
            return None
        pos += 2
        body: list[Any] = []
        for key, schema in enumerate(fields):
            if data[pos] != key:
                return None
            pos += 1
            kind_of = schema[0]
            if kind_of == "n":
                if data[pos] == 0xF6:
                    body.append(None)
                    pos += 1
                    continue
                schema = schema[1]
                kind_of = schema[0]
            if kind_of == "u" or kind_of == "e":
                number = data[pos]
                if number < 24:  # the one-byte form, written out: most fields take it
                    pos += 1
                else:
                    number, pos = _uint_at(data, pos)
                if kind_of == "u":
                    if not schema[1] <= number <= schema[2]:
                        return None
                elif number >= schema[1]:
                    return None
                body.append(number)
            elif kind_of == "b" and schema[1] == 32:
                if data[pos] != 0x58 or data[pos + 1] != 0x20 or len(data) < pos + 34:
                    return None
                body.append(data[pos + 2 : pos + 34])
                pos += 34
            else:
                return None
        if data[pos : pos + 3] != _SIG_HEAD or len(data) != pos + 67:
            return None
    except (IndexError, ValueError):  # UnicodeDecodeError is a ValueError
        return None
    return Tx(data, chain_id, kind, sender, nonce, tuple(body), data[pos + 3 :], identifier)


def decode_tx(data: bytes, identifier: bytes | None = None) -> Tx:
    """Decode and schema-check a transaction (steps 1 and 2 of the rule book), or raise.

    ``identifier`` is the transaction's id if the caller has already computed it."""
    if len(data) > MAX_TX_BYTES:
        raise Rejected("ENC-09", f"{len(data)} bytes")
    data = bytes(data)
    direct = _parse_direct(data, identifier)
    if direct is not None:
        return direct
    value = decode_fast(data)
    if (
        type(value) is dict
        and len(value) == 6
        and all(type(key) is int for key in value)  # 1.0 == 1, but a float key is ENC-06
        and list(value) == _ENVELOPE_KEYS
    ):
        # The envelope by hand (the hot path); anything unexpected goes the strict way.
        chain_id, kind, sender, nonce, body, signature = value.values()
        if (
            type(chain_id) is str and type(kind) is int and kind in BODY_SCHEMAS
            and type(sender) is bytes and len(sender) == 32 and type(nonce) is int
            and 0 <= nonce <= COUNTER_MAX and type(signature) is bytes and len(signature) == 64
            and 1 <= len(chain_id.encode("utf-8")) <= CHAIN_ID_MAX_BYTES
        ):  # fmt: skip
            fields = _fast_map(body, BODY_SCHEMAS[kind])
            if fields is not None:
                return Tx(data, chain_id, kind, sender, nonce, fields, signature, identifier)
    value = decode_strict(data, MAX_TX_BYTES)
    horizon: Any = None
    if type(value) is dict and HORIZON_KEY in value:
        # The one optional key: checked after keys 0..5, as the schema's last field (TX-09).
        value = dict(value)
        horizon = value.pop(HORIZON_KEY)
        head = parse_map_strict(value, ENVELOPE)
        horizon = parse_strict(horizon, ("u", 0, TIME_MAX))
    else:
        head = parse_map_strict(value, ENVELOPE)
    kind = head[1]
    if kind not in BODY_SCHEMAS:
        raise Rejected("TX-02", f"kind {kind}")
    body = parse_map_strict(head[4], BODY_SCHEMAS[kind])
    return Tx(data, head[0], kind, head[2], head[3], body, head[5], identifier, horizon)


HORIZON_KEY: Final = 6
"""The envelope's optional key: a transaction's validity horizon (TX-09)."""


# --- Blocks ---------------------------------------------------------------------------------------


class Block:
    """A decoded block."""

    __slots__ = ("header", "header_bytes", "signatures", "txs")

    def __init__(
        self,
        header: tuple[Any, ...],
        txs: tuple[bytes, ...],
        signatures: tuple[tuple[bytes, int, bytes], ...],
    ) -> None:
        self.header = header
        self.txs = txs
        self.signatures = signatures
        self.header_bytes = encode_header(*header)


def encode_header(
    chain_id: str,
    height: int,
    parent: bytes,
    timestamp: int,
    tx_root: bytes,
    state_root: bytes,
    proposer: bytes,
    settlement_root: bytes,
) -> bytes:
    from reference.cbor import tstr

    return b"".join(
        (
            b"\xa8\x00",
            tstr(chain_id),
            b"\x01",
            u(height),
            b"\x02\x58\x20",
            parent,
            b"\x03",
            u(timestamp),
            b"\x04\x58\x20",
            tx_root,
            b"\x05\x58\x20",
            state_root,
            b"\x06\x58\x20",
            proposer,
            b"\x07\x58\x20",
            settlement_root,
        )
    )


def decode_block(data: bytes) -> Block:
    """Decode and schema-check a block, or raise.

    At most MAX_BLOCK_ITEMS items are read (ENC-16) and a transaction array claiming more than
    MAX_BLOCK_TXS is refused at its head (BLK-11); the transactions stay byte strings until the
    header and the quorum have passed."""
    value = decode_strict(
        data, MAX_BLOCK_BYTES, max_items=MAX_BLOCK_ITEMS, array_bounds=BLOCK_ARRAY_BOUNDS
    )
    header, txs, signatures = parse_map_strict(value, BLOCK)
    return Block(header, txs, signatures)
