"""The ledger's state: frozen records in immutable tables, their canonical encoding and root.

The state is a set of *entries* ``[table, key, value]``. Its canonical encoding (used in
conformance vectors) is a map from table number to the array of ``[key, value]`` pairs of that
table, sorted by the bytewise order of the encoded keys. Its root (HSH-01) is a multiset hash of the
entries, so that a fast node can update it entry by entry instead of re-hashing the whole state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import IntEnum, IntFlag
from itertools import chain, takewhile
from typing import Any, Final

from spec import wire
from spec.cbor import CborKey, CborValue, encode
from spec.crypto import (
    HASH_BYTES,
    PUBLIC_KEY_BYTES,
    TAG_GENESIS,
    TAG_STATE_ENTRY,
    TAG_STATE_ROOT,
    expand,
    is_valid_public_key,
    tagged_hash,
)
from spec.errors import Rejected
from spec.fmap import MISSING, FrozenMap
from spec.rules import implements
from spec.units import (
    TIME_MAX_S,
    Height,
    MeterId,
    MilliSen,
    NodeId,
    Nonce,
    OrderId,
    PriceSenPerKwh,
    Slot,
    Timestamp,
    Wh,
    slot_end,
)

AccountId = bytes
"""An account is its Ed25519 public key (32 bytes)."""

MAX_CORRECTIONS_PER_READING: Final = 3
"""How many times one reading may be corrected (COR-05)."""

CHAIN_ID_MAX_BYTES: Final = 64
CHAIN_NAME_MAX_BYTES: Final = 23
"""The free-text part of a chain id; the rest is ``:`` and the genesis digest (TX-08)."""
GENESIS_DIGEST_BYTES: Final = 20
"""Bytes of the genesis hash a chain id carries, as 40 lowercase hex digits (TX-08)."""


class Role(IntFlag):
    """What an account may do (TX-06)."""

    OPERATOR = 1
    """Registers accounts, grid nodes and meters; credits deposits; collects wheeling fees."""
    ATTESTOR = 2
    """Signs meter readings for the meters it is registered for."""
    VALIDATOR = 4
    """Signs blocks."""
    TRADER = 8
    """Owns meters and lots, places and cancels orders."""


ALL_ROLES: Final = int(Role.OPERATOR | Role.ATTESTOR | Role.VALIDATOR | Role.TRADER)

INCOMPATIBLE_ROLES: Final = (
    (Role.ATTESTOR, Role.TRADER),
    (Role.OPERATOR, Role.TRADER),
)
"""Role pairs that never meet in one account (ROL-01): whoever measures energy or runs the
market and its gateway must not also trade on it."""


def role_conflict(roles: int) -> tuple[Role, Role] | None:
    """The first incompatible pair that ``roles`` holds (ROL-01), or ``None``."""
    for first, second in INCOMPATIBLE_ROLES:
        if roles & first and roles & second:
            return first, second
    return None


class NodeKind(IntEnum):
    """A node of the distribution grid."""

    SUBSTATION = 0
    TRANSFORMER = 1
    SERVICE_POINT = 2


class Source(IntEnum):
    """The renewable source behind a meter's export."""

    SOLAR = 0
    WIND = 1
    HYDRO = 2
    BIOMASS = 3


class Encumbrance(IntEnum):
    """Whether an export already carries its environmental value elsewhere (ASK-03)."""

    NONE = 0
    FEED_IN_TARIFF = 1
    J_CREDIT = 2
    NON_FOSSIL_CERTIFICATE = 3


class Side(IntEnum):
    """Which side of the market an order is on."""

    ASK = 0
    BID = 1


class OrderStatus(IntEnum):
    """Where an order is in its lifecycle; only OPEN is not final."""

    OPEN = 0
    FILLED = 1
    PARTLY_FILLED = 2
    CANCELLED = 3
    EXPIRED = 4


class MarketStatus(IntEnum):
    """A (zone, slot) market is open until its clearing (CLR-01)."""

    OPEN = 0
    CLEARED = 1


@dataclass(frozen=True)
class ChainParams:
    """Named parameters of one chain, fixed at genesis."""

    chain_id: str
    """Carried by every transaction and block (TX-01, BLK-01)."""
    attestation_window_s: int
    """Readings of a slot may be attested for this many seconds after the slot ends (ATT-05)."""
    trading_close_s: int
    """Orders for a slot are taken until this many seconds after the slot ends (ORD-02)."""
    fee_account: AccountId
    """The operator's account that receives wheeling fees (CLR-06)."""

    def __post_init__(self) -> None:
        if not 1 <= self.attestation_window_s <= self.trading_close_s <= TIME_MAX_S:
            raise ValueError("need 1 <= attestation_window_s <= trading_close_s")


@dataclass(frozen=True)
class Account:
    """A registered participant."""

    roles: int
    """Bit set of ``Role``."""
    nonce: Nonce
    """Number of accepted transactions sent by this account; the next must carry it (TX-05)."""
    balance: MilliSen
    """Spendable money."""
    key: bytes
    """The Ed25519 public key that signs for the account now (TX-04, VAL-04, BLK-06): its id
    when it is registered, another key after a rotation (KEY-05). No other account has it as id or
    key (INV-19)."""


@dataclass(frozen=True)
class GridNode:
    """A node of the distribution grid tree."""

    kind: NodeKind
    parent: NodeId | None
    """``None`` for the root substation only (GRD-03)."""
    wheeling_fee: PriceSenPerKwh
    """Sen per kWh a buyer pays the operator for energy bought in this zone (substations only)."""
    zone: NodeId
    """The nearest substation ancestor, itself for a substation (INV-14)."""


@dataclass(frozen=True)
class EncumbranceChange:
    """An encumbrance the operator set for a meter from a slot on (SET_METER_ENCUMBRANCE)."""

    from_slot: Slot
    encumbrance: Encumbrance


@dataclass(frozen=True)
class Meter:
    """A registered export/import meter at a service point."""

    owner: AccountId
    attestor: AccountId
    node: NodeId
    zone: NodeId
    source: Source
    capacity_wh: Wh
    """Largest export or import one reading may report (ATT-07)."""
    encumbrance: Encumbrance
    """Set at registration: whether the meter's export already carries its environmental value
    elsewhere. Every reading of the meter must say what its schedule says for the reading's slot
    (ATT-11, MTR-13): this, or ``encumbrance_change`` from that change's slot on."""
    first_slot: Slot = Slot(0)  # noqa: RUF009 (an int, immutable)
    """The first slot the meter may be attested for (MTR-11): 0, or for a meter that replaces
    retired meters at its service point, the last of their retirement slots (MTR-14)."""
    retired_from: Slot | None = None
    """The first slot the meter may no longer be attested for (MTR-11, MTR-12); ``None``: in
    service."""
    encumbrance_change: EncumbranceChange | None = None
    """The one scheduled change of the encumbrance, if any (MTR-10, MTR-13)."""


@dataclass(frozen=True)
class Reading:
    """An attested reading of one meter for one slot (at most one, INV-04)."""

    exported_wh: Wh
    imported_wh: Wh
    encumbrance: Encumbrance
    corrections: int = 0
    """How many times the meter's attestor corrected the reading (COR-05, COR-06)."""


@dataclass(frozen=True)
class Lot:
    """Energy minted from one exported reading; conserved: minted = unsold + reserved + sold +
    expired (INV-01)."""

    owner: AccountId
    zone: NodeId
    node: NodeId
    source: Source
    encumbrance: Encumbrance
    minted_wh: Wh
    unsold_wh: Wh
    reserved_wh: Wh
    sold_wh: Wh
    expired_wh: Wh


@dataclass(frozen=True)
class Demand:
    """A trader's attested import in one (zone, slot) and how much of it bids have claimed."""

    imported_wh: Wh
    claimed_wh: Wh


@dataclass(frozen=True)
class Order:
    """An ask or a bid in one (zone, slot) market."""

    side: Side
    owner: AccountId
    zone: NodeId
    slot: Slot
    lot_meter: MeterId | None
    """The meter of the offered lot (asks only; the lot is ``(lot_meter, slot)``)."""
    quantity_wh: Wh
    limit_price: PriceSenPerKwh
    """An ask's minimum or a bid's maximum price."""
    fee: PriceSenPerKwh
    """A bid's wheeling fee rate, fixed when placed; 0 for asks."""
    escrow: MilliSen
    """Money held for an open bid: quantity x (limit + fee) (INV-10)."""
    status: OrderStatus
    filled_wh: Wh


@dataclass(frozen=True)
class Market:
    """One (zone, slot) call auction."""

    status: MarketStatus
    price: PriceSenPerKwh | None
    """The clearing price; ``None`` while open or when nothing traded."""
    volume_wh: Wh


@dataclass(frozen=True)
class PendingValidator:
    """A change of the validator set, approved and waiting for its height (VAL-08)."""

    height: Height
    """The first block height the changed set signs."""
    account: AccountId
    power: int
    """1: the account joins the set; 0: it leaves."""


@dataclass(frozen=True)
class PendingKey:
    """A validator's rotated key that still signs its block votes until a height (KEY-06)."""

    height: Height
    """The first block height whose votes the validator signs with its new key."""
    account: AccountId
    previous_key: bytes
    """The key it signed with before the rotation: its votes for blocks below ``height``."""


@dataclass(frozen=True)
class State:
    """Everything the ledger knows. Tables are keyed as their field docs say."""

    params: ChainParams
    time: Timestamp
    """The ledger's clock: the timestamp of its last block (or clock advance)."""
    height: Height
    tip_hash: bytes
    """Hash of the last block header. Not part of the state root: the next header commits to it."""
    next_order_id: OrderId
    money_outstanding: MilliSen
    """Deposits minus withdrawals: the money the ledger holds for its accounts (MNY-04, INV-06)."""
    accounts: FrozenMap[AccountId, Account] = field(default_factory=FrozenMap)
    nodes: FrozenMap[NodeId, GridNode] = field(default_factory=FrozenMap)
    meters: FrozenMap[MeterId, Meter] = field(default_factory=FrozenMap)
    readings: FrozenMap[tuple[MeterId, Slot], Reading] = field(default_factory=FrozenMap)
    """Keyed by (meter, slot)."""
    lots: FrozenMap[tuple[MeterId, Slot], Lot] = field(default_factory=FrozenMap)
    """Keyed by (meter, slot): a lot is the export of one reading."""
    demand: FrozenMap[tuple[AccountId, NodeId, Slot], Demand] = field(default_factory=FrozenMap)
    """Keyed by (account, zone, slot)."""
    orders: FrozenMap[OrderId, Order] = field(default_factory=FrozenMap)
    markets: FrozenMap[tuple[NodeId, Slot], Market] = field(default_factory=FrozenMap)
    """Keyed by (zone, slot)."""
    pending_validator: PendingValidator | None = None
    """The one change of the validator set that waits for its height, if any (VAL-06, VAL-08)."""
    pending_key: PendingKey | None = None
    """The one validator key rotation whose votes wait for their height, if any (KEY-04, KEY-06)."""


def trading_close(params: ChainParams, slot: int) -> int:
    """First second at which a slot's markets no longer take orders and are cleared."""
    return slot_end(slot) + params.trading_close_s


def genesis(
    params: ChainParams,
    accounts: Mapping[AccountId, int],
    time: int,
) -> State:
    """The state at height 0: the given accounts with their roles, no money, an empty grid.

    ``params.chain_id`` is the chain's free-text name; the state's chain id is derived from it and
    from the genesis state (TX-08, ``derive_chain_id``). The fee account must be one of the
    accounts: clearing credits wheeling fees to it (CLR-06).
    No account may hold an incompatible pair of roles (ROL-01), the fee account may not trade
    (INV-20), and every account id must be a valid public key (ACC-02, so INV-19 holds from the
    start): a genesis that breaks any of these is refused.
    """
    if params.fee_account not in accounts:
        raise ValueError("the fee account must be a genesis account")
    for key, roles in accounts.items():
        if not is_valid_public_key(key):
            raise ValueError(f"account {key.hex()[:16]} is not a valid public key (ACC-02)")
        if role_conflict(roles) is not None:
            raise ValueError(f"account {key.hex()[:16]} holds incompatible roles {roles}")
    if accounts[params.fee_account] & Role.TRADER:
        raise ValueError("the fee account must not hold the trader role")
    start = _genesis_state(params, accounts, time)
    return replace(start, params=replace(params, chain_id=derive_chain_id(start)))


@implements("TX-08")
def derive_chain_id(start: State) -> str:
    """TX-08: a chain's id is its name, ``:`` and the hex of the first GENESIS_DIGEST_BYTES of
    the hash of its first state, whose chain id field holds the bare name.

    Every transaction and block carries and signs the chain id (TX-01, TX-04, BLK-01), so a
    signature made for one genesis is void on any other, even one with the same name.
    """
    name = start.params.chain_id
    if not 1 <= len(name.encode("utf-8")) <= CHAIN_NAME_MAX_BYTES or ":" in name:
        raise ValueError(f"a chain name has 1 to {CHAIN_NAME_MAX_BYTES} bytes and no ':'")
    digest = tagged_hash(TAG_GENESIS, encode(encode_state(start)))[:GENESIS_DIGEST_BYTES]
    return f"{name}:{digest.hex()}"


def _genesis_state(params: ChainParams, accounts: Mapping[AccountId, int], time: int) -> State:
    return State(
        params=params,
        time=Timestamp(time),
        height=Height(0),
        tip_hash=bytes(HASH_BYTES),
        next_order_id=OrderId(1),
        money_outstanding=MilliSen(0),
        accounts=FrozenMap(
            {key: Account(roles, Nonce(0), MilliSen(0), key) for key, roles in accounts.items()}
        ),
    )


def with_account(state: State, key: AccountId, **changes: Any) -> State:
    """The state with some fields of one account replaced."""
    return replace(state, accounts=state.accounts.set(key, replace(state.accounts[key], **changes)))


# --- Canonical encoding --------------------------------------------------------------------------
#
# Table numbers, and the CBOR of each record: a map from field number to value, field numbers
# following the order of the dataclass fields. Enums and roles encode as integers, None as null.


class Table(IntEnum):
    """Numbers of the state's tables in its encoding and its root."""

    LEDGER = 0
    ACCOUNTS = 1
    NODES = 2
    METERS = 3
    READINGS = 4
    LOTS = 5
    DEMAND = 6
    ORDERS = 7
    MARKETS = 8


class LedgerKey(IntEnum):
    """Keys of the singleton entries of the ledger table."""

    PARAMS = 0
    TIME = 1
    HEIGHT = 2
    NEXT_ORDER_ID = 3
    MONEY_OUTSTANDING = 4
    PENDING_VALIDATOR = 5
    PENDING_KEY = 8


def record_to_cbor(record: object) -> dict[CborKey, CborValue]:
    """A record as a map from field number (declaration order) to value."""
    out: dict[CborKey, CborValue] = {}
    for number, name in enumerate(record.__dataclass_fields__):  # type: ignore[attr-defined]
        value = getattr(record, name)
        out[number] = _scalar(value)
    return out


def _scalar(value: object) -> CborValue:
    if value is None or isinstance(value, (bytes, str, bool)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, tuple):
        return [_scalar(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return record_to_cbor(value)
    raise TypeError(f"no encoding for {type(value).__name__}")


def entries(state: State) -> Iterator[tuple[Table, CborValue, CborValue]]:
    """Every entry of the state as (table, key, value), tables in order (HSH-01)."""
    ledger: dict[int, CborValue] = {
        LedgerKey.PARAMS: record_to_cbor(state.params),
        LedgerKey.TIME: int(state.time),
        LedgerKey.HEIGHT: int(state.height),
        LedgerKey.NEXT_ORDER_ID: int(state.next_order_id),
        LedgerKey.MONEY_OUTSTANDING: int(state.money_outstanding),
        LedgerKey.PENDING_VALIDATOR: _scalar(state.pending_validator),
        LedgerKey.PENDING_KEY: _scalar(state.pending_key),
    }
    for key, value in ledger.items():
        yield Table.LEDGER, int(key), value
    tables: list[tuple[Table, FrozenMap[Any, Any]]] = [
        (Table.ACCOUNTS, state.accounts),
        (Table.NODES, state.nodes),
        (Table.METERS, state.meters),
        (Table.READINGS, state.readings),
        (Table.LOTS, state.lots),
        (Table.DEMAND, state.demand),
        (Table.ORDERS, state.orders),
        (Table.MARKETS, state.markets),
    ]
    for table, rows in tables:
        for key, record in rows.items():
            yield table, _scalar(key), record_to_cbor(record)


def encode_state(state: State) -> CborValue:
    """The canonical encoding: table number -> [[key, value], ...] sorted by encoded key."""
    grouped: dict[int, list[tuple[bytes, CborValue]]] = {int(t): [] for t in Table}
    for table, key, value in entries(state):
        grouped[int(table)].append((encode(key), [key, value]))
    out: dict[CborKey, CborValue] = {}
    for table_number, rows in grouped.items():
        rows.sort(key=lambda row: row[0])
        out[table_number] = [row[1] for row in rows]
    out[len(Table)] = state.tip_hash
    return out


# --- State root: LtHash-16 over the entries (HSH-01) ---------------------------------------------
#
# Each entry's encoding ``[table, key, value]`` is expanded (``crypto.expand``) to 2048 bytes, read
# as 1024 little-endian 16-bit lanes; the state's multiset hash is the lane-wise sum of all entries
# modulo 2^16 (the lattice hash of Bellare and Micciancio, as used by LtHash). Adding or removing an
# entry adds or subtracts its lanes, so a node can maintain the sum incrementally. The root is
# BLAKE2b-256 over the root tag and the 2048 bytes of the sum.

LTHASH_LANES: Final = 1024
LTHASH_BYTES: Final = 2 * LTHASH_LANES


def entry_lanes(table: int, key: CborValue, value: CborValue) -> bytes:
    """The 2048-byte LtHash expansion of one entry."""
    return expand(TAG_STATE_ENTRY, encode([table, key, value]), LTHASH_BYTES)


def lthash_sum(expansions: Iterable[bytes]) -> bytes:
    """Lane-wise sum modulo 2^16 of 2048-byte expansions, as 2048 little-endian bytes."""
    return lthash_update(bytes(LTHASH_BYTES), added=expansions, removed=())


def lthash_update(lanes: bytes, added: Iterable[bytes], removed: Iterable[bytes]) -> bytes:
    """``lanes`` plus every expansion of ``added`` minus every one of ``removed``, lane-wise
    modulo 2^16: how a sum follows entries that come and go."""
    # Each 16-bit lane is widened to 32 bits inside one big integer, so Python's integer addition
    # adds all lanes at once without carries crossing lanes (up to 65 535 terms between folds). A
    # removed expansion x is added as 2^16 - x in every lane, which is -x modulo 2^16 and never
    # borrows from the next lane.
    total = _widen(lanes)
    pending = 1
    terms = chain(
        (_widen(expansion) for expansion in added),
        (_NEGATE_BASE - _widen(expansion) for expansion in removed),
    )
    for term in terms:
        total += term
        pending += 1
        if pending == 65_535:
            total, pending = _fold(total), 1
    folded = total.to_bytes(2 * LTHASH_BYTES + 8, "little")
    out = bytearray(LTHASH_BYTES)
    out[0::2] = folded[0 : 2 * LTHASH_BYTES : 4]
    out[1::2] = folded[1 : 2 * LTHASH_BYTES : 4]
    return bytes(out)


def _widen(lanes: bytes) -> int:
    """2048 bytes of 16-bit lanes as one integer of 32-bit lanes."""
    widened = bytearray(2 * LTHASH_BYTES)
    widened[0::4] = lanes[0::2]
    widened[1::4] = lanes[1::2]
    return int.from_bytes(widened, "little")


_NEGATE_BASE: Final = int.from_bytes(b"\x00\x00\x01\x00" * LTHASH_LANES, "little")
"""2^16 in every 32-bit lane."""


def _fold(total: int) -> int:
    """Reduce every 32-bit lane modulo 2^16."""
    raw = total.to_bytes(2 * LTHASH_BYTES + 8, "little")
    widened = bytearray(2 * LTHASH_BYTES)
    widened[0::4] = raw[0 : 2 * LTHASH_BYTES : 4]
    widened[1::4] = raw[1 : 2 * LTHASH_BYTES : 4]
    return int.from_bytes(widened, "little")


@implements("HSH-01")
def state_root_from_scratch(state: State) -> bytes:
    """HSH-01 as written: the root committed to by block headers, every entry expanded."""
    lanes = lthash_sum(entry_lanes(int(t), k, v) for t, k, v in entries(state))
    return tagged_hash(TAG_STATE_ROOT, lanes)


# --- The state root kept up to date (a cache: it changes no result) ------------------------------
#
# The sum of a table's entries is remembered by the table (``FrozenMap.derived``); the sum of a
# table made by updates is its origin's sum minus the expansions of the entries the updates
# replaced or removed plus those of the entries they wrote. So a root costs one expansion per
# entry changed since the last root, not one per entry of the state. ``state_root`` equals
# ``state_root_from_scratch`` on every state (tests/test_spec_root_cache.py).


def tables(state: State) -> list[tuple[Table, FrozenMap[Any, Any]]]:
    """Every table of the state but the ledger's singletons: the field named like the table."""
    return [(table, getattr(state, table.name.lower())) for table in Table if table != Table.LEDGER]


def table_lanes(table: Table, rows: FrozenMap[Any, Any]) -> bytes:
    """The LtHash sum of one table's entries, kept up to date by the table's cache."""

    def expansion(key: Any, record: Any) -> bytes:
        return entry_lanes(int(table), _scalar(key), record_to_cbor(record))

    def compute(whole: FrozenMap[Any, Any]) -> bytes:
        return lthash_sum(expansion(key, record) for key, record in whole.items())

    def update(lanes: bytes, changes: list[tuple[Any, Any, Any]]) -> bytes:
        # Only each key's first old and last new value count: what lies between was added and
        # removed again.
        net: dict[Any, list[Any]] = {}
        for key, old, new in changes:
            if key in net:
                net[key][1] = new
            else:
                net[key] = [old, new]
        changed = [(key, old, new) for key, (old, new) in net.items() if old is not new]
        added = [expansion(k, new) for k, old, new in changed if new is not MISSING]
        removed = [expansion(k, old) for k, old, new in changed if old is not MISSING]
        return lthash_update(lanes, added, removed)

    return rows.derived(("lthash", int(table)), compute, update)


@implements("HSH-01")
def state_root(state: State) -> bytes:
    """HSH-01: the root committed to by block headers (``state_root_from_scratch``, computed
    from the tables' remembered sums)."""
    singletons = takewhile(lambda entry: entry[0] == Table.LEDGER, entries(state))
    ledger = [entry_lanes(int(t), k, v) for t, k, v in singletons]
    sums = [table_lanes(table, rows) for table, rows in tables(state)]
    return tagged_hash(TAG_STATE_ROOT, lthash_sum([*ledger, *sums]))


# --- Decoding a state (for conformance vectors) ---------------------------------------------------

_account_id = wire.fixed_bytes(PUBLIC_KEY_BYTES)


def _record(cls: type[Any], parsers: list[wire.Parser]) -> wire.Parser:
    """A parser for a record encoded by ``record_to_cbor``."""
    names = list(cls.__dataclass_fields__)
    fields = [wire.Field(i, n, p) for i, (n, p) in enumerate(zip(names, parsers, strict=True))]

    def parse(value: CborValue) -> Any:
        parsed = wire.parse_map(value, fields, cls.__name__)
        try:
            return cls(**parsed)
        except ValueError as problem:
            raise Rejected("ENC-15", f"{cls.__name__}: {problem}") from None

    return parse


_roles = wire.plain_uint(ALL_ROLES)
_params = _record(
    ChainParams,
    [
        wire.text(CHAIN_ID_MAX_BYTES),
        wire.plain_uint(TIME_MAX_S),
        wire.plain_uint(TIME_MAX_S),
        _account_id,
    ],
)
_account = _record(Account, [_roles, wire.uint(Nonce), wire.uint(MilliSen), _account_id])
_node = _record(
    GridNode,
    [
        wire.enum(NodeKind),
        wire.nullable(wire.uint(NodeId)),
        wire.uint(PriceSenPerKwh),
        wire.uint(NodeId),
    ],
)
_meter = _record(
    Meter,
    [
        _account_id,
        _account_id,
        wire.uint(NodeId),
        wire.uint(NodeId),
        wire.enum(Source),
        wire.uint(Wh),
        wire.enum(Encumbrance),
        wire.uint(Slot),
        wire.nullable(wire.uint(Slot)),
        wire.nullable(_record(EncumbranceChange, [wire.uint(Slot), wire.enum(Encumbrance)])),
    ],
)
_reading = _record(
    Reading,
    [
        wire.uint(Wh),
        wire.uint(Wh),
        wire.enum(Encumbrance),
        wire.plain_uint(MAX_CORRECTIONS_PER_READING),
    ],
)
_lot = _record(
    Lot,
    [
        _account_id,
        wire.uint(NodeId),
        wire.uint(NodeId),
        wire.enum(Source),
        wire.enum(Encumbrance),
        *[wire.uint(Wh)] * 5,
    ],
)
_demand = _record(Demand, [wire.uint(Wh), wire.uint(Wh)])
_order = _record(
    Order,
    [
        wire.enum(Side),
        _account_id,
        wire.uint(NodeId),
        wire.uint(Slot),
        wire.nullable(wire.uint(MeterId)),
        wire.uint(Wh),
        wire.uint(PriceSenPerKwh),
        wire.uint(PriceSenPerKwh),
        wire.uint(MilliSen),
        wire.enum(OrderStatus),
        wire.uint(Wh),
    ],
)
_market = _record(
    Market,
    [wire.enum(MarketStatus), wire.nullable(wire.uint(PriceSenPerKwh)), wire.uint(Wh)],
)

_pending_validator = wire.nullable(
    _record(PendingValidator, [wire.uint(Height), _account_id, wire.plain_uint(1)])
)
_pending_key = wire.nullable(_record(PendingKey, [wire.uint(Height), _account_id, _account_id]))

_TABLE_SCHEMAS: Final[dict[Table, tuple[str, Callable[[CborValue], Any], Callable[..., Any]]]] = {
    Table.ACCOUNTS: ("accounts", _account_id, _account),
    Table.NODES: ("nodes", wire.uint(NodeId), _node),
    Table.METERS: ("meters", wire.uint(MeterId), _meter),
    Table.READINGS: ("readings", wire.tuple_of(wire.uint(MeterId), wire.uint(Slot)), _reading),
    Table.LOTS: ("lots", wire.tuple_of(wire.uint(MeterId), wire.uint(Slot)), _lot),
    Table.DEMAND: (
        "demand",
        wire.tuple_of(_account_id, wire.uint(NodeId), wire.uint(Slot)),
        _demand,
    ),
    Table.ORDERS: ("orders", wire.uint(OrderId), _order),
    Table.MARKETS: ("markets", wire.tuple_of(wire.uint(NodeId), wire.uint(Slot)), _market),
}


MAX_STATE_ITEMS: Final = 2**22
"""The item budget (ENC-16) for decoding a canonical state encoding, such as a vector's pre-state:
about 150 000 rows of the largest record, and at most some 400 MB of decoded values in Python,
however the input is shaped (a 64 MiB input of one-byte items would otherwise make 64 million)."""


def decode_state(value: CborValue, *, consistency: bool = True) -> State:
    """The state a canonical encoding describes, or a rejection with an ENC rule, or with the
    first PRE rule it breaks (``spec.prestate``; ``consistency=False`` skips those, for tools
    that must show what an inconsistent state holds, such as its root)."""
    if not isinstance(value, dict):
        raise Rejected("ENC-14", "state must be a map")
    ledger_fields = [
        wire.Field(LedgerKey.PARAMS, "params", _params),
        wire.Field(LedgerKey.TIME, "time", wire.uint(Timestamp)),
        wire.Field(LedgerKey.HEIGHT, "height", wire.uint(Height)),
        wire.Field(LedgerKey.NEXT_ORDER_ID, "next_order_id", wire.uint(OrderId)),
        wire.Field(LedgerKey.MONEY_OUTSTANDING, "money_outstanding", wire.uint(MilliSen)),
        wire.Field(LedgerKey.PENDING_VALIDATOR, "pending_validator", _pending_validator),
        wire.Field(LedgerKey.PENDING_KEY, "pending_key", _pending_key),
    ]
    top = [wire.Field(int(t), t.name.lower(), wire.array(lambda v: v)) for t in Table]
    top.append(wire.Field(len(Table), "tip_hash", wire.fixed_bytes(HASH_BYTES)))
    parsed = wire.parse_map(value, top, "state")
    pairs = wire.tuple_of(wire.plain_uint(max(LedgerKey)), lambda v: v)
    ledger_map = {pairs(row)[0]: pairs(row)[1] for row in parsed["ledger"]}
    ledger_keys = [pairs(row)[0] for row in parsed["ledger"]]
    if ledger_keys != sorted(ledger_map):
        raise Rejected("ENC-15", "ledger rows must be sorted by key, each key once")
    ledger = wire.parse_map(ledger_map, ledger_fields, "ledger")
    tables: dict[str, Any] = {}
    for table, (name, parse_key, parse_value) in _TABLE_SCHEMAS.items():
        rows: dict[Any, Any] = {}
        previous: bytes | None = None
        for row in parsed[table.name.lower()]:
            key_value, record = wire.tuple_of(lambda v: v, lambda v: v)(row)
            encoded_key = encode(key_value)
            if previous is not None and encoded_key <= previous:
                raise Rejected("ENC-15", f"{name} rows must be sorted by key, each key once")
            previous = encoded_key
            row_key = parse_key(key_value)  # the key's checks before the record's
            rows[row_key] = parse_value(record)
        tables[name] = FrozenMap(rows)
    if ledger["params"].fee_account not in tables["accounts"]:
        raise Rejected("ENC-15", "the fee account is not a registered account")
    state = State(tip_hash=parsed["tip_hash"], **ledger, **tables)
    if consistency:
        from spec.prestate import check_pre_state  # it builds on this module

        check_pre_state(state)  # PRE-01 .. PRE-10
    return state
