"""The reference ledger: mutable indexed state, every rule, clearing, blocks, incremental root.

Written for speed, not for reading (the readable version is the executable specification, which
this package must not import; agreement is checked by differential tests and the conformance
vectors). Design:

* **Tables** are dicts of tuples or of packed integers. The three tables that grow with every slot
  (readings, lots, demand) use integer keys and packed integer values (40-bit fields: every Wh is
  at most 10^12 < 2^40), which keeps a day of a 100 000-meter village well inside a gigabyte.
  A lot's static fields (owner, zone, node, source) are its meter's and its encumbrance is its
  reading's, so they are not stored twice.
* **Indexes** (open orders per market, open order counts per (owner, market, side), lots per
  market, open markets per slot with a heap of slots, validators) make every rule and every
  clearing cost what it touches, never the size of the state.
* **Undo log**: every write records (table, key, previous value). A rejected transaction never
  writes (each kind checks everything first); a rejected block is undone from the log and the
  indexes are rebuilt.
* **Incremental root**: the log also says which entries changed since the root was last
  computed; only those are removed (old encoding) and added (new encoding) to the LtHash sum.
* **Settlement**: a per-slot index of every record of a slot (its readings' meters, order ids,
  demand keys, market zones) and a heap of those slots; when the clock passes a slot's trading
  close, after its markets are cleared, the slot's records leave the tables and the encoded
  settlement records (``reference/settlement.py``) are appended to ``settlement``, whose Merkle
  root is the block header's key 7. The state, every index and every cache then hold participants
  and open slots only, never history.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
from collections.abc import Iterable, Iterator
from typing import Any, Final

from nacl.bindings import crypto_core_ed25519_is_valid_point, crypto_sign_open
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey

from reference.cbor import encode as cbor_encode
from reference.cbor import tstr, u, uint_bytes
from reference.errors import Rejected
from reference.lthash import TAG_STATE_ENTRY, LtHash, expand, lane_sums, seed_of
from reference.settlement import (
    demand_record,
    lot_record,
    market_record,
    order_record,
    reading_record,
    records_root,
)
from reference.wire import (
    CHAIN_ID_MAX_BYTES,
    COUNTER_MAX,
    MAX_BATCH_READINGS,
    MAX_BLOCK_TXS,
    MONEY_MAX,
    TIME_MAX,
    WH_MAX,
    Block,
    Tx,
    decode_block,
    decode_tx,
    encode_header,
    parse_map_strict,
    parse_strict,
    tx_id,
)

SLOT_SECONDS: Final = 1800
MAX_OPEN_ORDERS_PER_MARKET: Final = 8
ORDER_FEE_MSEN: Final = 10_000
M40: Final = (1 << 40) - 1
OPERATOR, ATTESTOR, VALIDATOR, TRADER = 1, 2, 4, 8
ALL_ROLES: Final = 15
SUBSTATION, TRANSFORMER, SERVICE_POINT = 0, 1, 2
ASK, BID = 0, 1
OPEN, FILLED, PARTLY_FILLED, CANCELLED, EXPIRED = 0, 1, 2, 3, 4
CLEARED = 1

# Table numbers of the state's entries.
T_LEDGER, T_ACCOUNTS, T_NODES, T_METERS, T_READINGS, T_LOTS, T_DEMAND, T_ORDERS, T_MARKETS = range(
    9
)

KIND_ROLE: Final = {
    1: OPERATOR,
    2: OPERATOR,
    3: OPERATOR,
    4: ATTESTOR,
    5: TRADER,
    6: TRADER,
    7: TRADER,
    8: OPERATOR,
    9: 0,
    10: 0,
    11: VALIDATOR,
    12: 0,
    13: OPERATOR,
    14: OPERATOR,
    15: OPERATOR,
    16: ATTESTOR,
}
LEDGER_KEYS: Final = (0, 1, 2, 3, 4, 5, 8)
"""The ledger table's keys, in the order of ``_ledger_values``."""
MAX_CORRECTIONS: Final = 3
"""COR-02: how many times one reading may be corrected."""

TAG_MERKLE_LEAF: Final = b"kwhledger/merkle-leaf/v1\x00"
TAG_MERKLE_NODE: Final = b"kwhledger/merkle-node/v1\x00"
TAG_BLOCK_HEADER: Final = b"kwhledger/block-header/v1\x00"
TAG_BLOCK_VOTE: Final = b"kwhledger/block-vote/v2\x00"
TAG_VALIDATOR_APPROVAL: Final = b"kwhledger/validator-approval/v1\x00"
TAG_KEY_ROTATION: Final = b"kwhledger/key-rotation/v1\x00"
MAX_BLOCK_JUMP_S: Final = 86_400
"""TIM-01: the largest step of the clock in one block."""
MAX_VOTE_SKEW_S: Final = 60
"""TIM-02: how far a block's timestamp may lie from the lower median of its votes' times."""

_MISSING: Final = object()
_SHARED_MAX: Final = 1_000_000
_NULL: Final = b"\xf6"


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """SIG-01: libsodium's verdict on an Ed25519 signature."""
    try:
        crypto_sign_open(signature + message, public_key)
    except (BadSignatureError, ValueError):
        return False
    return True


def blake(tagged: bytes) -> bytes:
    return hashlib.blake2b(tagged, digest_size=32).digest()


def merkle_root(leaves: list[bytes]) -> bytes:
    """HSH-02: RFC 6962 style, leaves and nodes under different tags.

    Built level by level: adjacent pairs are hashed and a last unpaired node goes up as it is,
    which gives the same tree as RFC 6962's split at the largest power of two below the count.
    """
    if not leaves:
        return blake(TAG_MERKLE_LEAF)
    level = [blake(TAG_MERKLE_LEAF + leaf) for leaf in leaves]
    while len(level) > 1:
        paired = [
            blake(TAG_MERKLE_NODE + level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def market_key(zone: int, slot: int) -> int:
    return zone << 30 | slot


class Receipt:
    """A transaction's outcome: code 0 and no rule, or the rejection."""

    __slots__ = ("code", "detail", "rule_id", "tx_id")

    def __init__(self, tx_id: bytes, code: int, rule_id: str | None, detail: str = "") -> None:
        self.tx_id = tx_id
        self.code = code
        self.rule_id = rule_id
        self.detail = detail

    @property
    def accepted(self) -> bool:
        return self.code == 0

    def __repr__(self) -> str:
        return f"Receipt({self.tx_id.hex()[:8]}, {self.code}, {self.rule_id})"


class BlockResult:
    """A block's outcome, with the receipts of the transactions that were tried."""

    __slots__ = ("code", "detail", "receipts", "rule_id")

    def __init__(
        self, code: int, rule_id: str | None, receipts: list[Receipt], detail: str = ""
    ) -> None:
        self.code = code
        self.rule_id = rule_id
        self.receipts = receipts
        self.detail = detail

    @property
    def accepted(self) -> bool:
        return self.code == 0


class Ledger:
    """The whole state of one chain, with its indexes, undo log and root."""

    def __init__(
        self,
        chain_id: str,
        attestation_window_s: int,
        trading_close_s: int,
        fee_account: bytes,
        time: int,
        accounts: dict[bytes, int] | None = None,
    ) -> None:
        self.chain_id = chain_id
        self.attestation_window_s = attestation_window_s
        self.trading_close_s = trading_close_s
        self.fee_account = fee_account
        self.time = time
        self.height = 0
        self.tip_hash = bytes(32)
        self.next_order_id = 1
        self.money_outstanding = 0
        self.pending_validator: tuple[int, bytes, int] | None = None
        """VAL-08: (height, account, power) of the change of the set waiting, or None."""
        self.pending_key: tuple[int, bytes, bytes] | None = None
        """KEY-06: (height, validator, previous key) of a rotated validator key, or None."""
        self.accounts: dict[bytes, tuple[int, int, int, bytes]] = {}
        self.nodes: dict[int, tuple[int, int | None, int, int]] = {}
        self.meters: dict[int, tuple[Any, ...]] = {}
        """(owner, attestor, node, zone, source, capacity, encumbrance, first slot, retired from
        or None, scheduled (from slot, encumbrance) or None)."""
        self.readings: dict[int, int] = {}
        self.lots: dict[int, int] = {}
        self.demand: dict[int, int] = {}
        self.orders: dict[int, tuple[Any, ...]] = {}
        self.markets: dict[int, tuple[int, int | None, int]] = {}
        self.tables: list[dict[Any, Any]] = [
            {},
            self.accounts,
            self.nodes,
            self.meters,
            self.readings,
            self.lots,
            self.demand,
            self.orders,
            self.markets,
        ]
        self.account_index: dict[bytes, int] = {}
        self.account_ids: list[bytes] = []
        self.log: list[tuple[int, Any, Any]] = []
        self.root_pos = 0
        self.lthash = LtHash()
        self.ledger_entries: list[bytes] = []
        self.store_changes: dict[tuple[int, Any], tuple[bytes, bytes | None]] | None = None
        self.hash_pool: Any = None
        """A ``multiprocessing`` pool that shares the hashing of large root updates, or None."""
        self.hash_workers = 0
        self.expansions: dict[tuple[int, Any], tuple[Any, Any, int]] = {}
        """Expansions of recently added entries, by (table, key): the value they were computed
        for, and the array and row that hold the expansion (see ``_fold_root``)."""
        self.expansion_cache_size = 20_000
        self.shared_ints: dict[int, int] = {}
        """One object per distinct reading or demand value (flyweights: a day of a large village
        repeats the same few thousand values millions of times); emptied when settling leaves it
        much larger than the tables it serves, so it never grows with history."""
        self.settlement: list[bytes] = []
        """The encoded settlement records emitted since ``begin_settlement`` (PRN, SET rules):
        those of the block being applied or built."""
        self.pruned_readings: dict[int, int] = {}
        """Readings settled since the root was last folded: a settled lot's old encoding needs
        its reading's encumbrance (``_encode_lot``)."""
        self._clear_indexes()
        for key, roles in (accounts or {}).items():
            self.accounts[key] = (roles, 0, 0, key)
            self._index_account(key, roles)
            self.key_holder[key] = key
        self.recompute_root()
        self._snapshot = self._take_snapshot()

    # --- indexes -------------------------------------------------------------------------------

    def _clear_indexes(self) -> None:
        self.validators: set[bytes] = set()
        self.key_holder: dict[bytes, bytes] = {}
        """Current key -> the account it signs for."""
        self.market_orders: dict[int, dict[int, None]] = {}
        self.open_sides: dict[tuple[bytes, int, int], int] = {}
        self.open_bid_wh: dict[tuple[bytes, int], int] = {}
        self.market_lots: dict[int, list[int]] = {}
        self.lot_asks: dict[int, int] = {}
        """COR-03: how many asks (of any status) name each lot."""
        self.open_slots: dict[int, set[int]] = {}
        self.slot_heap: list[int] = []
        self.slot_records: dict[int, tuple[list[int], list[int], set[int], set[int]]] = {}
        """Per slot with records: its readings' meters (lots share their keys), its order ids,
        its demand keys and its market zones; what settling the slot removes (PRN)."""
        self.settle_heap: list[int] = []
        """The slots of ``slot_records``, as a heap."""

    def _slot(self, slot: int) -> tuple[list[int], list[int], set[int], set[int]]:
        """The records index of ``slot``, made on first use."""
        entry = self.slot_records.get(slot)
        if entry is None:
            entry = self.slot_records[slot] = ([], [], set(), set())
            heapq.heappush(self.settle_heap, slot)
        return entry

    def _index_account(self, key: bytes, roles: int) -> None:
        if key not in self.account_index:
            self.account_index[key] = len(self.account_ids)
            self.account_ids.append(key)
        if roles & VALIDATOR:
            self.validators.add(key)

    def _index_open_market(self, zone: int, slot: int) -> None:
        zones = self.open_slots.get(slot)
        if zones is None:
            self.open_slots[slot] = {zone}
            heapq.heappush(self.slot_heap, slot)
        else:
            zones.add(zone)

    def rebuild_indexes(self) -> None:
        """Derive every index from the tables (after loading or undoing a block)."""
        self._clear_indexes()
        for key, account in self.accounts.items():
            self._index_account(key, account[0])
            self.key_holder[account[3]] = key
        for mkey, market in self.markets.items():
            if market[0] == OPEN:
                self._index_open_market(mkey >> 30, mkey & ((1 << 30) - 1))
            self._slot(mkey & ((1 << 30) - 1))[3].add(mkey >> 30)
        for reading_key in self.readings:
            self._slot(reading_key & ((1 << 30) - 1))[0].append(reading_key >> 30)
        for demand_key in self.demand:
            self._slot(demand_key & ((1 << 30) - 1))[2].add(demand_key)
        for oid in sorted(self.orders):
            order = self.orders[oid]
            if order[0] == ASK:
                lot_key = order[4] << 30 | order[3]
                self.lot_asks[lot_key] = self.lot_asks.get(lot_key, 0) + 1
            self._slot(order[3])[1].append(oid)
            if order[9] == OPEN:
                mkey = market_key(order[2], order[3])
                self.market_orders.setdefault(mkey, {})[oid] = None
                side_key = (order[1], mkey, order[0])
                self.open_sides[side_key] = self.open_sides.get(side_key, 0) + 1
                if order[0] == BID:
                    bid_key = (order[1], mkey)
                    self.open_bid_wh[bid_key] = self.open_bid_wh.get(bid_key, 0) + order[5]
        for lot_key in self.lots:
            meter = self.meters[lot_key >> 30]
            mkey = market_key(meter[3], lot_key & ((1 << 30) - 1))
            if self.markets.get(mkey, (CLEARED,))[0] == OPEN:
                self.market_lots.setdefault(mkey, []).append(lot_key)

    # --- undo log, snapshots -------------------------------------------------------------------

    def _take_snapshot(self) -> tuple[Any, ...]:
        return (
            self.time,
            self.height,
            self.tip_hash,
            self.next_order_id,
            self.money_outstanding,
            self.pending_validator,
            self.pending_key,
            self.lthash.copy(),
            list(self.ledger_entries),
        )

    def checkpoint(self) -> None:
        """Make the current state the one ``rollback`` returns to, and forget the undo log (and
        the settlement records emitted so far: a node stores them before this)."""
        self._fold_root()
        self.settlement = []
        self.log = []
        self.root_pos = 0
        self._snapshot = self._take_snapshot()
        if self.store_changes is not None:
            self.store_changes = {}

    def rollback(self) -> None:
        """Undo every write since the last checkpoint."""
        tables = self.tables
        for table, key, old in reversed(self.log):
            if old is _MISSING:
                del tables[table][key]
            else:
                tables[table][key] = old
        (
            self.time,
            self.height,
            self.tip_hash,
            self.next_order_id,
            self.money_outstanding,
            self.pending_validator,
            self.pending_key,
            lthash,
            entries,
        ) = self._snapshot
        self.lthash = lthash.copy()
        self.expansions = {}
        self.settlement = []
        self.pruned_readings = {}
        self.ledger_entries = list(entries)
        self.log = []
        self.root_pos = 0
        if self.store_changes is not None:
            self.store_changes = {}
        self.rebuild_indexes()

    # --- entries and the root ------------------------------------------------------------------

    def _ledger_values(self) -> list[bytes]:
        params = b"".join(
            (
                b"\xa4\x00",
                tstr(self.chain_id),
                b"\x01",
                u(self.attestation_window_s),
                b"\x02",
                u(self.trading_close_s),
                b"\x03\x58\x20",
                self.fee_account,
            )
        )
        return [
            params,
            u(self.time),
            u(self.height),
            u(self.next_order_id),
            u(self.money_outstanding),
            _encode_pending(self.pending_validator),
            _encode_pending_key(self.pending_key),
        ]

    def encode_key(self, table: int, key: Any) -> bytes:
        """The canonical encoding of a table key."""
        if table == T_ACCOUNTS:
            return b"\x58\x20" + bytes(key)
        if table in (T_NODES, T_METERS, T_ORDERS, T_LEDGER):
            return u(int(key))
        if table == T_DEMAND:
            account: bytes = self.account_ids[key >> 62]
            return b"\x83\x58\x20" + account + u((key >> 30) & 0xFFFFFFFF) + u(key & 0x3FFFFFFF)
        return b"\x82" + u(key >> 30) + u(key & 0x3FFFFFFF)

    def _encode_account(self, key: Any, v: Any) -> bytes:
        return b"".join(
            (b"\xa4\x00", u(v[0]), b"\x01", u(v[1]), b"\x02", u(v[2]), b"\x03\x58\x20", v[3])
        )

    def _encode_reading(self, key: Any, v: Any) -> bytes:
        return b"".join(
            (
                b"\xa4\x00",
                u(v & M40),
                b"\x01",
                u((v >> 40) & M40),
                b"\x02",
                u((v >> 80) & 3),
                b"\x03",
                u(v >> 82),
            )
        )

    def _encode_lot(self, key: Any, v: Any) -> bytes:
        meter = self.meters[key >> 30]
        reading = self.readings.get(key)
        enc = ((self.pruned_readings[key] if reading is None else reading) >> 80) & 3
        return b"".join(
            (
                b"\xaa\x00\x58\x20",
                meter[0],
                b"\x01",
                u(meter[3]),
                b"\x02",
                u(meter[2]),
                b"\x03",
                u(meter[4]),
                b"\x04",
                u(enc),
                b"\x05",
                u(v & M40),
                b"\x06",
                u((v >> 40) & M40),
                b"\x07",
                u((v >> 80) & M40),
                b"\x08",
                u((v >> 120) & M40),
                b"\x09",
                u(v >> 160),
            )
        )

    def _encode_demand(self, key: Any, v: Any) -> bytes:
        return b"\xa2\x00" + u(v & M40) + b"\x01" + u(v >> 40)

    def _encode_order(self, key: Any, v: Any) -> bytes:
        return b"".join(
            (
                b"\xab\x00",
                u(v[0]),
                b"\x01\x58\x20",
                v[1],
                b"\x02",
                u(v[2]),
                b"\x03",
                u(v[3]),
                b"\x04",
                _NULL if v[4] is None else u(v[4]),
                b"\x05",
                u(v[5]),
                b"\x06",
                u(v[6]),
                b"\x07",
                u(v[7]),
                b"\x08",
                u(v[8]),
                b"\x09",
                u(v[9]),
                b"\x0a",
                u(v[10]),
            )
        )

    def _encode_market(self, key: Any, v: Any) -> bytes:
        return b"".join(
            (b"\xa3\x00", u(v[0]), b"\x01", _NULL if v[1] is None else u(v[1]), b"\x02", u(v[2]))
        )

    def _encode_node(self, key: Any, v: Any) -> bytes:
        return b"".join(
            (
                b"\xa4\x00",
                u(v[0]),
                b"\x01",
                _NULL if v[1] is None else u(v[1]),
                b"\x02",
                u(v[2]),
                b"\x03",
                u(v[3]),
            )
        )

    def _encode_meter(self, key: Any, v: Any) -> bytes:
        return b"".join(
            (
                b"\xaa\x00\x58\x20",
                v[0],
                b"\x01\x58\x20",
                v[1],
                b"\x02",
                u(v[2]),
                b"\x03",
                u(v[3]),
                b"\x04",
                u(v[4]),
                b"\x05",
                u(v[5]),
                b"\x06",
                u(v[6]),
                b"\x07",
                u(v[7]),
                b"\x08",
                _NULL if v[8] is None else u(v[8]),
                b"\x09",
                _NULL if v[9] is None else b"\xa2\x00" + u(v[9][0]) + b"\x01" + u(v[9][1]),
            )
        )

    def _records(self) -> Iterator[tuple[int, Any, Any, bytes, bytes]]:
        """Every entry as (table, key, value, encoded key, encoded value); the ledger table's
        keys are the row numbers and its values their encodings."""
        for number, value in zip(LEDGER_KEYS, self._ledger_values(), strict=True):
            yield T_LEDGER, number, value, u(number), value
        # Lots read their encumbrance from readings, so readings come first here as well.
        for table in range(1, 9):
            encoder: Any = _VALUE_ENCODERS[table]
            for key, value in self.tables[table].items():
                yield table, key, value, self.encode_key(table, key), encoder(self, key, value)

    def entries(self) -> Iterator[tuple[int, bytes, bytes]]:
        """Every entry as (table, encoded key, encoded value)."""
        for table, _, _, key_bytes, value_bytes in self._records():
            yield table, key_bytes, value_bytes

    def _entry_rows(self) -> Iterator[tuple[tuple[int, Any], Any, bytes]]:
        """Every entry as ((table, key), value, the seed of its expansion)."""
        for table, key, value, key_bytes, value_bytes in self._records():
            yield (table, key), value, seed_of(_ENTRY_HEADS[table] + key_bytes + value_bytes)

    def recompute_root(self) -> bytes:
        """The root from scratch (at genesis and after loading a state).

        Every entry is expanded here anyway, so the memo of ``_fold_root`` keeps the first
        ``expansion_cache_size`` of them: the first change of such an entry then costs no hashing
        for its old value.
        """
        lthash = LtHash()
        self.expansions = {}
        self._expand_in_chunks(self._entry_rows(), lthash, remember=True)
        self.lthash = lthash
        self.ledger_entries = self._ledger_values()
        self.root_pos = len(self.log)
        return lthash.root()

    def _expand_in_chunks(
        self,
        rows: Iterator[tuple[tuple[int, Any], Any, bytes]],
        lthash: LtHash | None,
        remember: bool,
    ) -> None:
        """Expand entries 4096 at a time, adding them to ``lthash`` and, while there is room,
        remembering them."""
        memo = self.expansions
        while True:
            chunk = list(itertools.islice(rows, 4096))
            if not chunk:
                return
            expanded = expand([seed for _, _, seed in chunk])
            if lthash is not None:
                lthash.add_rows(expanded)
            if remember:
                room = self.expansion_cache_size - len(memo)
                for i, (slot, value, _) in enumerate(chunk[: max(room, 0)]):
                    memo[slot] = (value, expanded, i)

    def fill_expansion_memo(self) -> int:
        """Fill the expansion memo to its bound from the current entries, as ``recompute_root``
        leaves it after a load (for measuring a loaded node's memory); returns its size."""
        room = self.expansion_cache_size - len(self.expansions)
        self._expand_in_chunks(itertools.islice(self._entry_rows(), room), None, remember=True)
        return len(self.expansions)

    def _fold_root(self) -> None:
        """Bring the LtHash sum up to date with the writes logged since it was last computed.

        Only entries written since then are touched: the old value's expansion is removed and
        the new one's added. Expansions of recently added entries are remembered (a bounded memo
        keyed by table and key, holding the value they were computed for), so removing a value
        added a little earlier (an account's previous balance, an order being closed) costs no
        hashing. New values are expanded together, into one array, and summed in one call.
        Large updates can be hashed with the worker processes of ``hash_pool``.
        """
        log = self.log
        # The old value of each (table, key) is the one its first write saw: going backwards,
        # the first write comes last and wins.
        first = {(table, key): old for table, key, old in reversed(log[self.root_pos :])}
        self.root_pos = len(log)
        changes = self.store_changes
        memo = self.expansions
        memo_pop = memo.pop
        tables = self.tables
        encode_key = self.encode_key
        blake2b = hashlib.blake2b
        to_pool = self.hash_pool is not None and len(first) >= 256
        new_entries: list[bytes] = []  # for the worker processes
        seeds: list[bytes] = []  # the new values' expansion keys, when hashed here
        added: list[tuple[tuple[int, Any], Any]] = []  # their (table, key) and value
        old_entries: list[bytes] = []  # old values not remembered
        gone: list[tuple[Any, int]] = []  # remembered expansions of old values: (rows, index)
        # A lot's encoding uses its reading and meter, which never change once written, so equal
        # lot values have equal encodings.
        for slot, old in first.items():
            table, key = slot
            new = tables[table].get(key, _MISSING)
            if new == old:
                continue
            key_bytes = encode_key(table, key)
            encoder: Any = _VALUE_ENCODERS[table]
            if old is not _MISSING:
                known = memo_pop(slot, None)
                if known is not None and known[0] == old:
                    gone.append((known[1], known[2]))
                else:
                    old_entries.append(_ENTRY_HEADS[table] + key_bytes + encoder(self, key, old))
            if new is _MISSING:
                if changes is not None:
                    changes[slot] = (key_bytes, None)
                continue
            value = encoder(self, key, new)
            if changes is not None:
                changes[slot] = (key_bytes, value)
            if to_pool:
                new_entries.append(_ENTRY_HEADS[table] + key_bytes + value)
            else:
                seeds.append(
                    blake2b(_HASH_HEADS[table] + key_bytes + value, digest_size=32).digest()
                )
                added.append((slot, new))
        values = self._ledger_values()
        for number, old_value, new_value in zip(
            LEDGER_KEYS, self.ledger_entries, values, strict=True
        ):
            if old_value != new_value:
                prefix = b"\x83\x00" + u(number)
                known = memo_pop((0, number), None)
                if known is not None and known[0] == old_value:
                    gone.append((known[1], known[2]))
                else:
                    old_entries.append(prefix + old_value)
                seeds.append(seed_of(prefix + new_value))
                added.append(((0, number), new_value))
                if changes is not None:
                    changes[(0, number)] = (u(number), new_value)
        self.ledger_entries = values
        lthash = self.lthash
        lthash.remove_indexed(gone)
        if new_entries or (to_pool and old_entries):
            self._hash_in_workers(new_entries, old_entries)
        elif old_entries:
            lthash.remove_rows(expand([seed_of(entry) for entry in old_entries]))
        if seeds:
            rows = expand(seeds)
            lthash.add_rows(rows)
            self._remember(added, rows)
        self.pruned_readings.clear()

    def _remember(self, added: list[tuple[tuple[int, Any], Any]], rows: Any) -> None:
        """Keep the newest expansions in the memo, dropping the oldest past its bound.

        The oldest are dropped in one pass over the memo's first keys: deleting keys one at a
        time from the front of a dict makes each later lookup of the front skip the holes.
        """
        memo = self.expansions
        size = self.expansion_cache_size
        start = max(0, len(added) - size)  # of a huge update only the newest can be kept
        excess = len(memo) + len(added) - start - size
        if excess > 0:
            for slot in list(itertools.islice(iter(memo), excess)):
                del memo[slot]
        for i in range(start, len(added)):
            slot, value = added[i]
            memo[slot] = (value, rows, i)

    def _hash_in_workers(self, adds: list[bytes], removes: list[bytes]) -> None:
        """Share the expansion of a large update between this process and the workers."""
        pool = self.hash_pool
        parts = self.hash_workers + 1  # the workers and this process
        jobs = [(adds[i::parts], removes[i::parts]) for i in range(1, parts)]
        results = pool.starmap_async(lane_sums, jobs)
        self.lthash.add_lanes(lane_sums(adds[::parts], removes[::parts]))
        for partial in results.get():
            self.lthash.add_lanes(partial)

    def state_root(self) -> bytes:
        """HSH-01, updated from the entries written since the last call."""
        self._fold_root()
        return self.lthash.root()

    # --- transactions --------------------------------------------------------------------------

    def apply_tx(self, data: bytes | Tx, signature_ok: bool | None = None) -> Receipt:
        """Apply one transaction at the ledger's time; a rejection changes nothing.

        ``data`` is the transaction's bytes, or the transaction already decoded (by the mempool).
        ``signature_ok`` is the verdict of a signature check already done elsewhere (a worker
        process); it is used at the TX-04 step, so the order of the checks does not change.
        """
        if isinstance(data, Tx):
            identifier = data.id
            try:
                self.execute(data, signature_ok)
            except Rejected as rejection:
                return Receipt(identifier, rejection.code, rejection.rule_id, rejection.detail)
            return Receipt(identifier, 0, None)
        identifier = tx_id(data)
        try:
            self.execute(decode_tx(data), signature_ok)
        except Rejected as rejection:
            return Receipt(identifier, rejection.code, rejection.rule_id, rejection.detail)
        return Receipt(identifier, 0, None)

    def execute(self, tx: Tx, signature_ok: bool | None = None) -> None:
        if tx.chain_id != self.chain_id:
            raise Rejected("TX-01")
        sender = tx.sender
        account = self.accounts.get(sender)
        if account is None:
            raise Rejected("TX-03")
        key = account[3]
        if signature_ok is None or key != sender:  # a verdict given from outside is about the id
            signature_ok = verify(key, tx.signing_bytes(), tx.signature)
        if not signature_ok:
            raise Rejected("TX-04")
        if tx.nonce != account[1] or account[1] >= COUNTER_MAX:
            raise Rejected("TX-05")
        if tx.valid_until is not None and self.time > tx.valid_until:
            raise Rejected("TX-09")
        role = KIND_ROLE[tx.kind]
        if role and not account[0] & role:
            raise Rejected("TX-06")
        _HANDLERS[tx.kind](self, sender, tx.body)
        # TX-07: the nonce moves last, from the account as the transition left it.
        account = self.accounts[sender]
        self.log.append((T_ACCOUNTS, sender, account))
        self.accounts[sender] = (account[0], account[1] + 1, account[2], account[3])

    def signing_key(self, account: bytes) -> bytes:
        """The key that signs for ``account`` now (KEY-05): the one lookup every signature check
        of an account's transactions and approvals goes through."""
        return self.accounts[account][3]

    def vote_key(self, validator: bytes) -> bytes:
        """KEY-06: the key of ``validator``'s votes for the next block."""
        pending = self.pending_key
        if pending is not None and pending[1] == validator:
            return pending[2]
        return self.accounts[validator][3]

    def key_in_use(self, key: bytes) -> bool:
        """An account's id or current key, or a validator's previous key still voting."""
        if key in self.accounts or key in self.key_holder:
            return True
        return self.pending_key is not None and self.pending_key[2] == key

    def _set_balance(self, key: bytes, delta: int) -> None:
        account = self.accounts[key]
        self.log.append((T_ACCOUNTS, key, account))
        self.accounts[key] = (account[0], account[1], account[2] + delta, account[3])

    def register_account(self, sender: bytes, body: tuple[Any, ...]) -> None:
        account, roles = body
        if account in self.accounts:
            raise Rejected("ACC-01")
        if self.key_in_use(account):
            raise Rejected("KEY-07")
        if not crypto_core_ed25519_is_valid_point(account):
            raise Rejected("ACC-02")
        if roles == 0 or roles & ~ALL_ROLES:
            raise Rejected("ACC-03")
        if roles & VALIDATOR:
            raise Rejected("VAL-01")
        if roles & TRADER and roles & (ATTESTOR | OPERATOR):
            raise Rejected("ROL-01")
        self.log.append((T_ACCOUNTS, account, _MISSING))
        self.accounts[account] = (roles, 0, 0, account)
        self._index_account(account, roles)
        self.key_holder[account] = account

    def register_node(self, sender: bytes, body: tuple[Any, ...]) -> None:
        node, kind, parent, fee = body
        nodes = self.nodes
        if node in nodes:
            raise Rejected("GRD-01")
        if not nodes:
            if not (parent is None and kind == SUBSTATION):
                raise Rejected("GRD-03", "root")
        elif parent is None:
            raise Rejected("GRD-03", "only the first node has no parent")
        if kind != SUBSTATION and fee != 0:
            raise Rejected("GRD-04")
        if parent is None:
            zone = node
        else:
            parent_node = nodes.get(parent)
            if parent_node is None:
                raise Rejected("GRD-02")
            if parent_node[0] == SERVICE_POINT:
                raise Rejected("GRD-05")
            zone = node if kind == SUBSTATION else parent_node[3]
        self.log.append((T_NODES, node, _MISSING))
        nodes[node] = (kind, parent, fee, zone)

    def register_meter(self, sender: bytes, body: tuple[Any, ...]) -> None:
        meter, owner, attestor, node, source, capacity, encumbrance = body
        if meter in self.meters:
            raise Rejected("MTR-01")
        owner_account = self.accounts.get(owner)
        if owner_account is None or not owner_account[0] & TRADER:
            raise Rejected("MTR-02")
        attestor_account = self.accounts.get(attestor)
        if attestor_account is None or not attestor_account[0] & ATTESTOR:
            raise Rejected("MTR-03")
        grid_node = self.nodes.get(node)
        if grid_node is None or grid_node[0] != SERVICE_POINT:
            raise Rejected("MTR-04")
        if capacity < 1:
            raise Rejected("MTR-05")
        first = 0
        for other in self.meters.values():
            if other[2] == node and other[4] == source:
                if other[8] is None:
                    raise Rejected("MTR-06")
                first = max(first, other[8])  # MTR-14: after every retired twin
        self.log.append((T_METERS, meter, _MISSING))
        self.meters[meter] = (
            owner,
            attestor,
            node,
            grid_node[3],
            source,
            capacity,
            encumbrance,
            first,
            None,
            None,
        )

    def _meter_to_change(self, meter_id: int, from_slot: int) -> tuple[Any, ...]:
        meter = self.meters.get(meter_id)
        if meter is None:
            raise Rejected("MTR-07")
        if meter[8] is not None:
            raise Rejected("MTR-08")
        if from_slot < self.time // SLOT_SECONDS:
            raise Rejected("MTR-09")
        return meter

    def retire_meter(self, sender: bytes, body: tuple[Any, ...]) -> None:
        meter_id, from_slot = body
        meter = self._meter_to_change(meter_id, from_slot)
        self.log.append((T_METERS, meter_id, meter))
        self.meters[meter_id] = (*meter[:8], from_slot, meter[9])

    def set_meter_encumbrance(self, sender: bytes, body: tuple[Any, ...]) -> None:
        meter_id, from_slot, encumbrance = body
        meter = self._meter_to_change(meter_id, from_slot)
        base, change = meter[6], meter[9]
        if change is not None and change[0] < from_slot:
            if self.time < change[0] * SLOT_SECONDS + self.attestation_window_s:
                raise Rejected("MTR-10")
            base = change[1]
        self.log.append((T_METERS, meter_id, meter))
        self.meters[meter_id] = (*meter[:6], base, meter[7], meter[8], (from_slot, encumbrance))

    def correct_reading(self, sender: bytes, body: tuple[Any, ...]) -> None:
        meter_id, slot, exported, imported, encumbrance = body
        meter = self.meters.get(meter_id)
        if meter is None:
            raise Rejected("ATT-02")
        if meter[1] != sender:
            raise Rejected("ATT-03")
        end = (slot + 1) * SLOT_SECONDS
        if self.time < end:
            raise Rejected("ATT-04")
        if self.time >= end + self.attestation_window_s:
            raise Rejected("ATT-05")
        key = meter_id << 30 | slot
        old = self.readings.get(key)
        if old is None:
            raise Rejected("COR-01")
        corrections = old >> 82
        if corrections >= MAX_CORRECTIONS:
            raise Rejected("COR-02")
        lot = self.lots.get(key)
        if self.lot_asks.get(key):
            raise Rejected("COR-03")
        if exported > meter[5]:
            raise Rejected("ATT-07", "export")
        if imported > meter[5]:
            raise Rejected("ATT-07", "import")
        change = meter[9]
        scheduled = change[1] if change is not None and slot >= change[0] else meter[6]
        if encumbrance != scheduled:
            raise Rejected("ATT-11")
        old_exported, old_imported = old & M40, (old >> 40) & M40
        if exported == old_exported and imported == old_imported:
            raise Rejected("COR-04")
        zone = meter[3]
        mkey = zone << 30 | slot
        owner = meter[0]
        demand_key = self.account_index[owner] << 62 | mkey
        demand_value = self.demand.get(demand_key)
        claimed = 0 if demand_value is None else demand_value >> 40
        total = (0 if demand_value is None else demand_value & M40) - old_imported + imported
        if total < claimed + self.open_bid_wh.get((owner, mkey), 0):
            raise Rejected("COR-05")
        if total > WH_MAX:
            raise Rejected("ATT-10")
        log = self.log
        log.append((T_READINGS, key, old))
        self.readings[key] = exported | imported << 40 | encumbrance << 80 | (corrections + 1) << 82
        if lot is not None:
            log.append((T_LOTS, key, lot))
            if exported:
                self.lots[key] = exported | exported << 40
            else:
                del self.lots[key]
                self.market_lots[mkey].remove(key)
        elif exported:
            log.append((T_LOTS, key, _MISSING))
            self.lots[key] = exported | exported << 40
            if mkey not in self.markets:
                log.append((T_MARKETS, mkey, _MISSING))
                self.markets[mkey] = (OPEN, None, 0)
                self._index_open_market(zone, slot)
            self.market_lots.setdefault(mkey, []).append(key)
        if total != (0 if demand_value is None else demand_value & M40):
            log.append((T_DEMAND, demand_key, _MISSING if demand_value is None else demand_value))
            if total == 0 and claimed == 0:
                del self.demand[demand_key]
            else:
                self.demand[demand_key] = total | claimed << 40

    def attest(self, sender: bytes, body: tuple[Any, ...]) -> None:
        """All readings are checked before the first is written: a batch is all or nothing."""
        (readings,) = body
        if not 1 <= len(readings) <= MAX_BATCH_READINGS:
            raise Rejected("ATT-01", f"{len(readings)}")
        now = self.time
        window = self.attestation_window_s
        meters = self.meters
        recorded = self.readings
        demand = self.demand
        account_index = self.account_index
        batch: set[int] = set()
        imports: dict[int, int] = {}
        for meter_id, slot, exported, imported, encumbrance in readings:
            meter = meters.get(meter_id)
            if meter is None:
                raise Rejected("ATT-02", f"meter {meter_id}")
            if meter[1] != sender:
                raise Rejected("ATT-03", f"meter {meter_id}")
            end = (slot + 1) * SLOT_SECONDS
            if now < end:
                raise Rejected("ATT-04", f"slot {slot}")
            if now >= end + window:
                raise Rejected("ATT-05")
            if slot < meter[7] or (meter[8] is not None and slot >= meter[8]):
                raise Rejected("MTR-11", f"slot {slot}")
            key = meter_id << 30 | slot
            if key in recorded or key in batch:
                raise Rejected("ATT-06")
            batch.add(key)
            capacity = meter[5]
            if exported > capacity:
                raise Rejected("ATT-07", "export")
            if imported > capacity:
                raise Rejected("ATT-07", "import")
            change = meter[9]
            if encumbrance != (change[1] if change is not None and slot >= change[0] else meter[6]):
                raise Rejected("ATT-11")
            if imported:
                demand_key = account_index[meter[0]] << 62 | meter[3] << 30 | slot
                before = imports.get(demand_key)
                if before is None:
                    before = demand.get(demand_key, 0) & M40
                total = before + imported
                if total > WH_MAX:
                    raise Rejected("ATT-10")
                imports[demand_key] = total
        log = self.log
        lots = self.lots
        markets = self.markets
        shared = self.shared_ints
        for meter_id, slot, exported, imported, encumbrance in readings:
            key = meter_id << 30 | slot
            log.append((T_READINGS, key, _MISSING))
            self._slot(slot)[0].append(meter_id)
            value = exported | imported << 40 | encumbrance << 80
            recorded[key] = shared.setdefault(value, value) if len(shared) < _SHARED_MAX else value
            if exported:
                meter = meters[meter_id]
                log.append((T_LOTS, key, _MISSING))
                lots[key] = exported | exported << 40
                zone = meter[3]
                mkey = zone << 30 | slot
                if mkey not in markets:
                    log.append((T_MARKETS, mkey, _MISSING))
                    markets[mkey] = (OPEN, None, 0)
                    self._index_open_market(zone, slot)
                    self._slot(slot)[3].add(zone)
                lot_list = self.market_lots.get(mkey)
                if lot_list is None:
                    self.market_lots[mkey] = [key]
                else:
                    lot_list.append(key)
        for demand_key, total in imports.items():
            old = demand.get(demand_key)
            log.append((T_DEMAND, demand_key, _MISSING if old is None else old))
            if old is None:
                self._slot(demand_key & 0x3FFFFFFF)[2].add(demand_key)
            claimed = 0 if old is None else old >> 40
            value = total | claimed << 40
            demand[demand_key] = (
                shared.setdefault(value, value) if len(shared) < _SHARED_MAX else value
            )

    def apply_raw_reading(
        self, meter_id: int, slot: int, exported: int, imported: int, encumbrance: int = 0
    ) -> None:
        """Record a reading as an accepted attestation would, without checks and without the undo
        log (for building large states in benchmarks; call ``recompute_root`` afterwards)."""
        meter = self.meters[meter_id]
        key = meter_id << 30 | slot
        shared = self.shared_ints
        value = exported | imported << 40 | encumbrance << 80
        self.readings[key] = shared.setdefault(value, value) if len(shared) < _SHARED_MAX else value
        records = self._slot(slot)
        records[0].append(meter_id)
        zone = meter[3]
        mkey = zone << 30 | slot
        if exported:
            self.lots[key] = exported | exported << 40
            if mkey not in self.markets:
                self.markets[mkey] = (OPEN, None, 0)
                self._index_open_market(zone, slot)
                records[3].add(zone)
            self.market_lots.setdefault(mkey, []).append(key)
        if imported:
            demand_key = self.account_index[meter[0]] << 62 | mkey
            records[2].add(demand_key)
            value = self.demand.get(demand_key, 0) + imported
            self.demand[demand_key] = (
                shared.setdefault(value, value) if len(shared) < _SHARED_MAX else value
            )

    def _add_order(self, order: tuple[Any, ...], mkey: int) -> None:
        oid = self.next_order_id
        self.log.append((T_ORDERS, oid, _MISSING))
        self.orders[oid] = order
        self.next_order_id = oid + 1
        records = self._slot(order[3])
        records[1].append(oid)
        if mkey not in self.markets:
            self.log.append((T_MARKETS, mkey, _MISSING))
            self.markets[mkey] = (OPEN, None, 0)
            self._index_open_market(order[2], order[3])
            records[3].add(order[2])
        orders = self.market_orders.get(mkey)
        if orders is None:
            self.market_orders[mkey] = {oid: None}
        else:
            orders[oid] = None
        side_key = (order[1], mkey, order[0])
        self.open_sides[side_key] = self.open_sides.get(side_key, 0) + 1
        if order[0] == BID:
            bid_key = (order[1], mkey)
            self.open_bid_wh[bid_key] = self.open_bid_wh.get(bid_key, 0) + order[5]

    def place_ask(self, sender: bytes, body: tuple[Any, ...]) -> None:
        meter_id, slot, quantity, min_price = body
        key = meter_id << 30 | slot
        lot = self.lots.get(key)
        if lot is None:
            raise Rejected("ASK-01")
        meter = self.meters[meter_id]
        if meter[0] != sender:
            raise Rejected("ASK-02")
        if (self.readings[key] >> 80) & 3:
            raise Rejected("ASK-03")
        if quantity < 1:
            raise Rejected("ORD-01")
        end = (slot + 1) * SLOT_SECONDS
        if self.time >= end + self.trading_close_s:
            raise Rejected("ORD-02")
        if end > self.time or end + self.trading_close_s > TIME_MAX:
            raise Rejected("ORD-06")
        unsold = (lot >> 40) & M40
        if quantity > unsold:
            raise Rejected("ASK-04")
        zone = meter[3]
        mkey = zone << 30 | slot
        if self.open_sides.get((sender, mkey, BID)):
            raise Rejected("ORD-03")
        if self.open_sides.get((sender, mkey, ASK), 0) >= MAX_OPEN_ORDERS_PER_MARKET:
            raise Rejected("ORD-07")
        if self.next_order_id >= COUNTER_MAX:
            raise Rejected("ORD-05")
        self.log.append((T_LOTS, key, lot))
        # unsold -= q, reserved += q
        self.lots[key] = lot - (quantity << 40) + (quantity << 80)
        order = (ASK, sender, zone, slot, meter_id, quantity, min_price, 0, 0, OPEN, 0)
        self._add_order(order, mkey)
        self.lot_asks[key] = self.lot_asks.get(key, 0) + 1

    def place_bid(self, sender: bytes, body: tuple[Any, ...]) -> None:
        zone, slot, quantity, max_price = body
        node = self.nodes.get(zone)
        if node is None or node[0] != SUBSTATION:
            raise Rejected("BID-01")
        if quantity < 1:
            raise Rejected("ORD-01")
        end = (slot + 1) * SLOT_SECONDS
        if self.time >= end + self.trading_close_s:
            raise Rejected("ORD-02")
        if end > self.time or end + self.trading_close_s > TIME_MAX:
            raise Rejected("ORD-06")
        mkey = zone << 30 | slot
        if self.open_sides.get((sender, mkey, ASK)):
            raise Rejected("ORD-03")
        if self.open_sides.get((sender, mkey, BID), 0) >= MAX_OPEN_ORDERS_PER_MARKET:
            raise Rejected("ORD-07")
        d = self.demand.get(self.account_index[sender] << 62 | mkey, 0)
        if quantity > (d & M40) - (d >> 40) - self.open_bid_wh.get((sender, mkey), 0):
            raise Rejected("BID-04")
        fee = node[2]
        escrow = quantity * (max_price + fee)
        balance = self.accounts[sender][2]
        if escrow > balance:
            raise Rejected("BID-02")
        if escrow + ORDER_FEE_MSEN > balance:
            raise Rejected("BID-05")
        if self.next_order_id >= COUNTER_MAX:
            raise Rejected("ORD-05")
        self._set_balance(sender, -escrow - ORDER_FEE_MSEN)
        self._set_balance(self.fee_account, ORDER_FEE_MSEN)
        self._add_order(
            (BID, sender, zone, slot, None, quantity, max_price, fee, escrow, OPEN, 0), mkey
        )

    def cancel(self, sender: bytes, body: tuple[Any, ...]) -> None:
        (oid,) = body
        order = self.orders.get(oid)
        if order is None:
            raise Rejected("CAN-01")
        if order[1] != sender:
            raise Rejected("CAN-02")
        if order[9] != OPEN:
            raise Rejected("CAN-03")
        quantity = order[5]
        if order[0] == ASK:
            key = order[4] << 30 | order[3]
            lot = self.lots[key]
            self.log.append((T_LOTS, key, lot))
            self.lots[key] = lot + (quantity << 40) - (quantity << 80)
        else:
            self._set_balance(sender, order[8])
        self.log.append((T_ORDERS, oid, order))
        self.orders[oid] = (*order[:8], 0, CANCELLED, order[10])
        mkey = order[2] << 30 | order[3]
        if order[0] == BID:
            bid_key = (sender, mkey)
            left = self.open_bid_wh[bid_key] - quantity
            if left:
                self.open_bid_wh[bid_key] = left
            else:
                del self.open_bid_wh[bid_key]
        del self.market_orders[mkey][oid]
        side_key = (sender, mkey, order[0])
        count = self.open_sides[side_key] - 1
        if count:
            self.open_sides[side_key] = count
        else:
            del self.open_sides[side_key]

    def deposit(self, sender: bytes, body: tuple[Any, ...]) -> None:
        account, amount = body
        if account not in self.accounts:
            raise Rejected("MNY-01")
        if amount < 1:
            raise Rejected("MNY-02")
        if self.money_outstanding + amount > MONEY_MAX:
            raise Rejected("MNY-04", "money outstanding")
        self._set_balance(account, amount)
        self.money_outstanding += amount

    def withdraw(self, sender: bytes, body: tuple[Any, ...]) -> None:
        (amount,) = body
        if amount < 1:
            raise Rejected("MNY-02")
        if amount > self.accounts[sender][2]:
            raise Rejected("MNY-03")
        self._set_balance(sender, -amount)
        self.money_outstanding -= amount

    def transfer(self, sender: bytes, body: tuple[Any, ...]) -> None:
        to, amount = body
        if to not in self.accounts:
            raise Rejected("MNY-01")
        if amount < 1:
            raise Rejected("MNY-02")
        if amount > self.accounts[sender][2]:
            raise Rejected("MNY-03")
        self._set_balance(sender, -amount)
        self._set_balance(to, amount)

    # --- clearing ------------------------------------------------------------------------------

    def validator_update(self, sender: bytes, body: tuple[Any, ...]) -> None:
        """VAL-02 .. VAL-07: schedule one change of the set, two heights on (VAL-08)."""
        account, power, approvals = body
        current = self.validators
        if account not in self.accounts:
            if not crypto_core_ed25519_is_valid_point(account):
                raise Rejected("VAL-02")
            if self.key_in_use(account):
                raise Rejected("KEY-07")
        if (account in current) == (power == 1):
            raise Rejected("VAL-03")
        if self.pending_validator is not None:
            raise Rejected("VAL-06")
        if len(current) <= 3:
            raise Rejected("VAL-07")
        signers = [validator for validator, _ in approvals]
        if signers != sorted(set(signers)):
            raise Rejected("VAL-04")
        message = TAG_VALIDATOR_APPROVAL + cbor_encode(
            [self.chain_id, sender, self.accounts[sender][1], account, power]
        )
        for validator, signature in approvals:
            if validator not in current:
                raise Rejected("VAL-04")
            if not verify(self.accounts[validator][3], message, signature):
                raise Rejected("VAL-04")
        if 3 * len(signers) < 2 * len(current):
            raise Rejected("VAL-05")
        self.pending_validator = (self.height + 3, account, power)

    def rotate_key(self, sender: bytes, body: tuple[Any, ...]) -> None:
        """KEY-01 .. KEY-05; a validator's votes follow two heights on (KEY-06)."""
        key, proof = body
        if not crypto_core_ed25519_is_valid_point(key):
            raise Rejected("KEY-01")
        change = self.pending_validator
        if self.key_in_use(key) or (change is not None and change[1] == key):
            raise Rejected("KEY-02")
        account = self.accounts[sender]
        message = TAG_KEY_ROTATION + cbor_encode([self.chain_id, sender, account[1], key])
        if not verify(key, message, proof):
            raise Rejected("KEY-03")
        if change is not None and change[1] == sender:
            raise Rejected("KEY-04", "its validator change is pending")
        if account[0] & VALIDATOR:
            if self.pending_key is not None:
                raise Rejected("KEY-04", "a validator key rotation is pending")
            self.pending_key = (self.height + 3, sender, account[3])
        self.log.append((T_ACCOUNTS, sender, account))
        self.accounts[sender] = (account[0], account[1], account[2], key)
        del self.key_holder[account[3]]
        self.key_holder[key] = sender

    def revoke_role(self, sender: bytes, body: tuple[Any, ...]) -> None:
        """ROL-02 .. ROL-05: the operator takes TRADER or ATTESTOR back, nothing else changes."""
        target, role = body
        if role != TRADER and role != ATTESTOR:
            raise Rejected("ROL-02")
        account = self.accounts.get(target)
        if account is None:
            raise Rejected("ROL-03")
        if not account[0] & role:
            raise Rejected("ROL-04")
        self.log.append((T_ACCOUNTS, target, account))
        self.accounts[target] = (account[0] & ~role, account[1], account[2], account[3])

    def end_block(self) -> None:
        """KEY-06 and VAL-08: a validator's rotated key and the pending change of the set due at
        the next height take effect."""
        if self.pending_key is not None and self.pending_key[0] <= self.height + 1:
            self.pending_key = None
        pending = self.pending_validator
        if pending is None or pending[0] > self.height + 1:
            return
        self.pending_validator = None
        _, key, power = pending
        account = self.accounts.get(key)
        self.log.append((T_ACCOUNTS, key, _MISSING if account is None else account))
        if account is None:
            self.accounts[key] = (VALIDATOR, 0, 0, key)
        elif power == 1:
            self.accounts[key] = (account[0] | VALIDATOR, account[1], account[2], account[3])
        else:
            self.accounts[key] = (account[0] & ~VALIDATOR, account[1], account[2], account[3])
        self.rebuild_indexes()

    def advance_clock(self, now: int) -> None:
        """Move the clock to ``now``, clearing every market whose trading closed (CLR-01), then
        settling every slot whose trading closed (PRN): its records leave the state and its
        settlement records are appended to ``settlement``."""
        if now < self.time:
            raise Rejected("BLK-04", f"{now} < {self.time}")
        if now > TIME_MAX:  # a clock beyond its unit is a typed rejection, never an overflow
            raise Rejected("ENC-15", f"{now} > TIME_MAX")
        heap = self.slot_heap
        close = self.trading_close_s
        while heap and (heap[0] + 1) * SLOT_SECONDS + close <= now:
            slot = heapq.heappop(heap)
            zones = self.open_slots.pop(slot, None)
            for zone in sorted(zones or ()):
                self.clear_market(zone, slot)
        settle = self.settle_heap
        while settle and (settle[0] + 1) * SLOT_SECONDS + close <= now:
            self.settle_slot(heapq.heappop(settle))
        self.time = now

    def settle_slot(self, slot: int) -> None:
        """Remove a closed slot's records from the state and emit its settlement records:
        markets by zone, orders by id, lots by meter, demand by (account, zone), readings by
        meter (SET)."""
        meter_ids, order_ids, demand_keys, zones = self.slot_records.pop(slot)
        out = self.settlement
        log = self.log
        markets, orders, lots, demand, readings = (
            self.markets,
            self.orders,
            self.lots,
            self.demand,
            self.readings,
        )
        # A market's record sums its bids' wheeling fees, so the orders are read first.
        order_ids.sort()
        popped = [(oid, orders.pop(oid)) for oid in order_ids]
        log.extend((T_ORDERS, oid, order) for oid, order in popped)
        fees: dict[int, int] = {}
        for _, order in popped:
            if order[0] == BID:
                fees[order[2]] = fees.get(order[2], 0) + order[10] * order[7]
        prices: dict[int, int | None] = {}
        for zone in sorted(zones):
            mkey = zone << 30 | slot
            market = markets.pop(mkey)
            log.append((T_MARKETS, mkey, market))
            prices[zone] = market[1]
            out.append(market_record(zone, slot, market[1], market[2], fees.get(zone, 0)))
        for oid, order in popped:
            out.append(order_record(oid, order, prices.get(order[2])))
        meter_ids.sort()
        meters = self.meters
        lot_asks = self.lot_asks
        for meter_id in meter_ids:
            key = meter_id << 30 | slot
            lot_asks.pop(key, None)  # the lot's asks left with the slot's orders above
            lot = lots.pop(key, None)
            if lot is not None:
                log.append((T_LOTS, key, lot))
                out.append(
                    lot_record(
                        meter_id,
                        slot,
                        meters[meter_id],
                        (readings[key] >> 80) & 3,
                        lot & M40,
                        (lot >> 120) & M40,
                        lot >> 160,
                    )
                )
        account_ids = self.account_ids
        for demand_key in sorted(
            demand_keys, key=lambda k: (account_ids[k >> 62], (k >> 30) & 0xFFFFFFFF)
        ):
            value = demand.pop(demand_key)
            log.append((T_DEMAND, demand_key, value))
            out.append(
                demand_record(
                    account_ids[demand_key >> 62],
                    (demand_key >> 30) & 0xFFFFFFFF,
                    slot,
                    value & M40,
                    value >> 40,
                )
            )
        pruned = self.pruned_readings
        for meter_id in meter_ids:
            key = meter_id << 30 | slot
            value = readings.pop(key)
            log.append((T_READINGS, key, value))
            pruned[key] = value
            imported = (value >> 40) & M40
            encumbrance = (value >> 80) & 3
            out.append(
                reading_record(meter_id, slot, value & M40, imported, encumbrance, value >> 82)
            )
        shared = self.shared_ints
        if len(shared) > 4096 + 2 * (len(readings) + len(demand)):
            shared.clear()  # flyweights only: values already stored keep their objects

    def settlement_root(self) -> bytes:
        """The Merkle root of the settlement records emitted since the last checkpoint."""
        return records_root(self.settlement)

    def clear_market(self, zone: int, slot: int) -> None:
        """CLR-02 .. CLR-08 for one market."""
        mkey = zone << 30 | slot
        orders = self.orders
        log = self.log
        oids = list(self.market_orders.pop(mkey, {}))
        asks = []
        bids = []
        for oid in oids:
            order = orders[oid]
            if order[0] == ASK:
                asks.append((order[6], oid, order[5]))
            else:
                bids.append((-order[6], oid, order))
        # CLR-02: eligible quantities, best-ranked bids first, capped by unclaimed demand.
        bids.sort()
        left: dict[bytes, int] = {}
        demand = self.demand
        account_index = self.account_index
        buy = []
        for negative_limit, oid, order in bids:
            owner = order[1]
            remaining = left.get(owner)
            if remaining is None:
                d = demand.get(account_index[owner] << 62 | mkey, 0)
                remaining = (d & M40) - (d >> 40)
            quantity = order[5] if order[5] < remaining else remaining
            left[owner] = remaining - quantity
            if quantity > 0:
                buy.append((-negative_limit, oid, quantity))
        asks.sort()
        sell = asks
        fills, volume, price = call_auction(sell, buy)
        settle_price = price or 0
        lots = self.lots
        # Money, lots and claims move by sums per account, lot and buyer: each is written once.
        money: dict[bytes, int] = {}
        lot_moves: dict[int, int] = {}
        claims: dict[int, int] = {}
        fees = 0
        sides = set()
        for oid in oids:
            order = orders[oid]
            filled = fills.get(oid, 0)
            owner = order[1]
            quantity = order[5]
            if order[0] == ASK:
                key = order[4] << 30 | slot
                # reserved -= q, sold += filled, unsold += q - filled (fields of a packed lot)
                move = ((quantity - filled) << 40) - (quantity << 80) + (filled << 120)
                lot_moves[key] = lot_moves.get(key, 0) + move
                if filled:
                    money[owner] = money.get(owner, 0) + filled * settle_price
            else:
                fee = filled * order[7]
                refund = order[8] - filled * settle_price - fee
                if refund:
                    money[owner] = money.get(owner, 0) + refund
                fees += fee
                if filled:
                    demand_key = account_index[owner] << 62 | mkey
                    claims[demand_key] = claims.get(demand_key, 0) + filled
            status = FILLED if filled == quantity else (PARTLY_FILLED if filled else EXPIRED)
            log.append((T_ORDERS, oid, order))
            orders[oid] = (*order[:8], 0, status, filled)
            sides.add((owner, order[0]))
        for key, move in lot_moves.items():
            lot = lots[key]
            log.append((T_LOTS, key, lot))
            lots[key] = lot + move
        for owner, amount in money.items():
            self._set_balance(owner, amount)
        if fees:
            self._set_balance(self.fee_account, fees)
        for demand_key, filled in claims.items():
            d = demand[demand_key]
            log.append((T_DEMAND, demand_key, d))
            demand[demand_key] = d + (filled << 40)
        for owner, side in sides:  # every open order of the market is closed now
            del self.open_sides[(owner, mkey, side)]
            if side == BID:
                self.open_bid_wh.pop((owner, mkey), None)
        # CLR-07: what a lot did not sell expires.
        for key in self.market_lots.pop(mkey, ()):
            lot = lots[key]
            unsold = (lot >> 40) & M40
            if unsold:
                log.append((T_LOTS, key, lot))
                lots[key] = lot - (unsold << 40) + (unsold << 160)
        log.append((T_MARKETS, mkey, self.markets[mkey]))
        self.markets[mkey] = (CLEARED, price, volume)

    # --- blocks --------------------------------------------------------------------------------

    def validator_list(self) -> list[bytes]:
        return sorted(self.validators)

    def check_header(self, block: Block) -> bytes:
        """BLK-01 .. BLK-08, BLK-13, TIM-01 and TIM-02 in the rule book's order (BLK-11 is the
        decoder's); the header hash."""
        chain_id, height, parent, timestamp, root_of_txs, _, proposer, _ = block.header
        if chain_id != self.chain_id:
            raise Rejected("BLK-01")
        if height != self.height + 1:
            raise Rejected("BLK-02")
        if parent != self.tip_hash:
            raise Rejected("BLK-03")
        if timestamp < self.time:
            raise Rejected("BLK-04")
        if timestamp > self.time + MAX_BLOCK_JUMP_S:
            raise Rejected("TIM-01")
        voters = self.validators
        if proposer not in voters:
            raise Rejected("BLK-05")
        header_hash = blake(TAG_BLOCK_HEADER + block.header_bytes)
        message = TAG_BLOCK_VOTE + header_hash
        signers = [vote[0] for vote in block.signatures]
        if signers != sorted(set(signers)):
            raise Rejected("BLK-06", "signers must be ascending and distinct")
        for validator, at, signature in block.signatures:
            if validator not in voters:
                raise Rejected("BLK-06", "not a validator")
            if not verify(self.vote_key(validator), message + at.to_bytes(8, "big"), signature):
                raise Rejected("BLK-06", "bad signature")
        if 3 * len(signers) < 2 * len(voters):
            raise Rejected("BLK-07")
        if proposer not in signers:
            raise Rejected("BLK-13")
        # TIM-02: near the lower median of the votes' times, or catching up after a halt.
        times = sorted(vote[1] for vote in block.signatures)
        middle = times[(len(times) - 1) // 2]
        floor = min(middle, self.time + MAX_BLOCK_JUMP_S) - MAX_VOTE_SKEW_S
        if timestamp > middle + MAX_VOTE_SKEW_S or timestamp < floor:
            raise Rejected("TIM-02", f"{timestamp}, median of the votes {middle}")
        if root_of_txs != merkle_root([tx_id(tx) for tx in block.txs]):
            raise Rejected("BLK-08")
        return header_hash

    def apply_block(
        self, data: bytes, signature_ok: list[bool | None] | None = None
    ) -> BlockResult:
        """Apply a whole block or nothing of it (BLK-12)."""
        self.checkpoint()
        receipts: list[Receipt] = []
        try:
            block = decode_block(data)
            header_hash = self.check_header(block)
            self.advance_clock(block.header[3])
            for index, tx in enumerate(block.txs):
                receipt = self.apply_tx(tx, None if signature_ok is None else signature_ok[index])
                receipts.append(receipt)
                if receipt.code:
                    raise Rejected("BLK-09", f"transaction {index}: {receipt.rule_id}")
            self.height = block.header[1]
            self.end_block()
            if self.state_root() != block.header[5]:
                raise Rejected("BLK-10")
            if self.settlement_root() != block.header[7]:
                raise Rejected("BLK-15")
        except Rejected as rejection:
            self.rollback()
            return BlockResult(rejection.code, rejection.rule_id, receipts, rejection.detail)
        self.tip_hash = header_hash
        return BlockResult(0, None, receipts)

    def build_block(
        self,
        txs: Iterable[bytes | Tx],
        timestamp: int,
        proposer_seed: bytes,
        validator_seeds: list[bytes],
        signature_ok: list[bool | None] | None = None,
    ) -> tuple[bytes, list[Receipt], list[bytes]]:
        """Make and apply a block of the transactions that are accepted, in order.

        Returns the block, the receipts of every transaction tried, and the included ones.
        Rejected transactions are left out (they changed nothing).
        """
        self.checkpoint()
        self.advance_clock(timestamp)
        receipts = []
        included: list[bytes] = []
        included_ids: list[bytes] = []
        for index, tx in enumerate(txs):
            if len(included) == MAX_BLOCK_TXS:
                break
            receipt = self.apply_tx(tx, None if signature_ok is None else signature_ok[index])
            receipts.append(receipt)
            if receipt.code == 0:
                included.append(tx.data if isinstance(tx, Tx) else tx)
                included_ids.append(receipt.tx_id)
        self.height += 1
        self.end_block()
        header_bytes = encode_header(
            self.chain_id,
            self.height,
            self.tip_hash,
            timestamp,
            merkle_root(included_ids),
            self.state_root(),
            bytes(SigningKey(proposer_seed).verify_key),
            self.settlement_root(),
        )
        header_hash = blake(TAG_BLOCK_HEADER + header_bytes)
        vote = TAG_BLOCK_VOTE + header_hash + timestamp.to_bytes(8, "big")
        signatures = sorted(
            (bytes(key.verify_key), bytes(key.sign(vote).signature))
            for key in (SigningKey(seed) for seed in validator_seeds)
        )
        at = u(timestamp)
        block = b"".join(
            (
                b"\xa3\x00",
                header_bytes,
                b"\x01",
                _array(len(included)),
                *(_bytes_item(tx) for tx in included),
                b"\x02",
                _array(len(signatures)),
                *(b"\x83\x58\x20" + key + at + b"\x58\x40" + sig for key, sig in signatures),
            )
        )
        self.tip_hash = header_hash
        return block, receipts, included

    # --- loading -------------------------------------------------------------------------------

    @classmethod
    def from_rows(
        cls,
        ledger: dict[int, Any],
        tables: dict[int, list[tuple[Any, Any]]],
        tip_hash: bytes,
        lthash: LtHash | None = None,
    ) -> Ledger:
        """A ledger from decoded entries (already checked): ledger values by key, table rows.

        ``lthash`` is the entries' lane sum if it is known (a store keeps it); else it is computed.
        """
        params = ledger[0]
        self = cls(params[0], params[1], params[2], params[3], ledger[1])
        self.accounts.clear()
        self.account_index.clear()
        self.account_ids.clear()
        self.height = ledger[2]
        self.next_order_id = ledger[3]
        self.money_outstanding = ledger[4]
        self.pending_validator = ledger[5]
        self.pending_key = ledger[8]
        self.tip_hash = tip_hash
        # Accounts first: demand keys name accounts by their index.
        for key, v in tables.get(T_ACCOUNTS, []):
            self.accounts[key] = (v[0], v[1], v[2], v[3])
            self._index_account(key, v[0])
        for key, v in tables.get(T_NODES, []):
            self.nodes[key] = (v[0], v[1], v[2], v[3])
        for key, v in tables.get(T_METERS, []):
            self.meters[key] = (*v[:9], None if v[9] is None else tuple(v[9]))
        for (meter, slot), v in tables.get(T_READINGS, []):
            self.readings[meter << 30 | slot] = v[0] | v[1] << 40 | v[2] << 80 | v[3] << 82
        for (meter, slot), v in tables.get(T_LOTS, []):
            self.lots[meter << 30 | slot] = (
                v[5] | v[6] << 40 | v[7] << 80 | v[8] << 120 | v[9] << 160
            )
        for (account, zone, slot), v in tables.get(T_DEMAND, []):
            if account not in self.account_index:
                self._index_account(account, 0)
            self.demand[self.account_index[account] << 62 | zone << 30 | slot] = v[0] | v[1] << 40
        for key, v in tables.get(T_ORDERS, []):
            self.orders[key] = tuple(v)
        for (zone, slot), v in tables.get(T_MARKETS, []):
            self.markets[zone << 30 | slot] = (v[0], v[1], v[2])
        self.rebuild_indexes()
        if lthash is None:
            self.recompute_root()
        else:
            self.lthash = lthash
            self.ledger_entries = self._ledger_values()
            self.root_pos = len(self.log)
        self.checkpoint()
        return self

    def lot_record(self, key: int) -> tuple[Any, ...]:
        """A lot with all its fields, in the rule book's field order (for tools and tests)."""
        v = self.lots[key]
        meter = self.meters[key >> 30]
        return (
            meter[0],
            meter[3],
            meter[2],
            meter[4],
            (self.readings[key] >> 80) & 3,
            v & M40,
            (v >> 40) & M40,
            (v >> 80) & M40,
            (v >> 120) & M40,
            v >> 160,
        )


_VALUE_ENCODERS: Final = (
    None,
    Ledger._encode_account,
    Ledger._encode_node,
    Ledger._encode_meter,
    Ledger._encode_reading,
    Ledger._encode_lot,
    Ledger._encode_demand,
    Ledger._encode_order,
    Ledger._encode_market,
)
"""Each table's record encoder, by table number."""
_ENTRY_HEADS: Final = tuple(b"\x83" + bytes((table,)) for table in range(9))
"""``[table, ...`` : the first two bytes of every entry's encoding."""
_HASH_HEADS: Final = tuple(TAG_STATE_ENTRY + b"\x00" + head for head in _ENTRY_HEADS)
"""What the expansion's seed hash reads before an entry's key and value."""


def _array(n: int) -> bytes:
    return uint_bytes(n, 4)


def _bytes_item(data: bytes) -> bytes:
    return uint_bytes(len(data), 2) + data


def call_auction(
    sell: list[tuple[int, int, int]], buy: list[tuple[int, int, int]]
) -> tuple[dict[int, int], int, int | None]:
    """CLR-03 .. CLR-05 on ranked (limit, id, eligible Wh > 0) lists: fills, volume, price."""
    volume = 0
    i = j = 0
    nb, ns = len(buy), len(sell)
    left_bid = buy[0][2] if buy else 0
    left_ask = sell[0][2] if sell else 0
    marginal_bid = marginal_ask = 0
    while i < nb and j < ns and buy[i][0] >= sell[j][0]:
        step = left_bid if left_bid < left_ask else left_ask
        volume += step
        marginal_bid, marginal_ask = buy[i][0], sell[j][0]
        left_bid -= step
        left_ask -= step
        if left_bid == 0:
            i += 1
            left_bid = buy[i][2] if i < nb else 0
        if left_ask == 0:
            j += 1
            left_ask = sell[j][2] if j < ns else 0
    if volume == 0:
        return {}, 0, None
    lo = marginal_ask if i == nb else max(marginal_ask, buy[i][0])
    hi = marginal_bid if j == ns else min(marginal_bid, sell[j][0])
    fills: dict[int, int] = {}
    _ration(buy, volume, marginal_bid, fills)
    _ration(sell, volume, marginal_ask, fills)
    return fills, volume, (lo + hi) // 2


def _ration(
    ranked: list[tuple[int, int, int]], volume: int, marginal: int, fills: dict[int, int]
) -> None:
    """Orders better than the marginal limit fill fully; those at it share the rest pro rata."""
    rest = volume
    at_margin = []
    for limit, oid, quantity in ranked:
        if limit == marginal:
            at_margin.append((oid, quantity))
        elif not at_margin:
            fills[oid] = quantity
            rest -= quantity
        else:
            break  # ranked: past the margin, nothing more fills
    at_margin.sort()
    total = sum(q for _, q in at_margin)
    given = 0
    for oid, quantity in at_margin:
        share = rest * quantity // total
        fills[oid] = share
        given += share
    for oid, _ in at_margin[: rest - given]:
        fills[oid] += 1


_HANDLERS: Final = {
    1: Ledger.register_account,
    2: Ledger.register_node,
    3: Ledger.register_meter,
    4: Ledger.attest,
    5: Ledger.place_ask,
    6: Ledger.place_bid,
    7: Ledger.cancel,
    8: Ledger.deposit,
    9: Ledger.withdraw,
    10: Ledger.transfer,
    11: Ledger.validator_update,
    12: Ledger.rotate_key,
    13: Ledger.revoke_role,
    14: Ledger.retire_meter,
    15: Ledger.set_meter_encumbrance,
    16: Ledger.correct_reading,
}


def _encode_pending(pending: tuple[int, bytes, int] | None) -> bytes:
    if pending is None:
        return b"\xf6"
    height, account, power = pending
    return b"".join((b"\xa3\x00", u(height), b"\x01\x58\x20", account, b"\x02", u(power)))


def _encode_pending_key(pending: tuple[int, bytes, bytes] | None) -> bytes:
    if pending is None:
        return b"\xf6"
    height, account, previous = pending
    return b"".join((b"\xa3\x00", u(height), b"\x01\x58\x20", account, b"\x02\x58\x20", previous))


# --- the canonical state encoding (conformance vectors) -------------------------------------------

_TABLE_SCHEMAS: Final[dict[int, tuple[Any, Any]]] = {
    T_ACCOUNTS: (
        ("b", 32),
        ("m", (("u", 0, ALL_ROLES), ("u", 0, COUNTER_MAX), ("u", 0, MONEY_MAX), ("b", 32))),
    ),
    T_NODES: (
        ("u", 0, 2**32 - 1),
        ("m", (("e", 3), ("n", ("u", 0, 2**32 - 1)), ("u", 0, 1_000_000), ("u", 0, 2**32 - 1))),
    ),
    T_METERS: (
        ("u", 0, 2**32 - 1),
        (
            "m",
            (
                ("b", 32),
                ("b", 32),
                ("u", 0, 2**32 - 1),
                ("u", 0, 2**32 - 1),
                ("e", 4),
                ("u", 0, WH_MAX),
                ("e", 4),
                ("u", 0, TIME_MAX // 1800),
                ("n", ("u", 0, TIME_MAX // 1800)),
                ("n", ("m", (("u", 0, TIME_MAX // 1800), ("e", 4)))),
            ),
        ),
    ),
    T_READINGS: (
        ("p", ("u", 0, 2**32 - 1), ("u", 0, TIME_MAX // 1800)),
        ("m", (("u", 0, WH_MAX), ("u", 0, WH_MAX), ("e", 4), ("u", 0, MAX_CORRECTIONS))),
    ),
    T_LOTS: (
        ("p", ("u", 0, 2**32 - 1), ("u", 0, TIME_MAX // 1800)),
        (
            "m",
            (
                ("b", 32),
                ("u", 0, 2**32 - 1),
                ("u", 0, 2**32 - 1),
                ("e", 4),
                ("e", 4),
                *[("u", 0, WH_MAX)] * 5,
            ),
        ),
    ),
    T_DEMAND: (
        ("p", ("b", 32), ("u", 0, 2**32 - 1), ("u", 0, TIME_MAX // 1800)),
        ("m", (("u", 0, WH_MAX), ("u", 0, WH_MAX))),
    ),
    T_ORDERS: (
        ("u", 1, COUNTER_MAX),
        (
            "m",
            (
                ("e", 2),
                ("b", 32),
                ("u", 0, 2**32 - 1),
                ("u", 0, TIME_MAX // 1800),
                ("n", ("u", 0, 2**32 - 1)),
                ("u", 0, WH_MAX),
                ("u", 0, 1_000_000),
                ("u", 0, 1_000_000),
                ("u", 0, MONEY_MAX),
                ("e", 5),
                ("u", 0, WH_MAX),
            ),
        ),
    ),
    T_MARKETS: (
        ("p", ("u", 0, 2**32 - 1), ("u", 0, TIME_MAX // 1800)),
        ("m", (("e", 2), ("n", ("u", 0, 1_000_000)), ("u", 0, WH_MAX))),
    ),
}
_PARAMS: Final = (
    "m",
    (("t", CHAIN_ID_MAX_BYTES), ("u", 0, TIME_MAX), ("u", 0, TIME_MAX), ("b", 32)),
)
_LEDGER_FIELDS: Final = (
    _PARAMS,
    ("u", 0, TIME_MAX),
    ("u", 0, COUNTER_MAX),
    ("u", 1, COUNTER_MAX),
    ("u", 0, MONEY_MAX),
    ("n", ("m", (("u", 0, COUNTER_MAX), ("b", 32), ("u", 0, 1)))),
    ("n", ("m", (("u", 0, COUNTER_MAX), ("b", 32), ("b", 32)))),
)


def decode_state(value: Any) -> Ledger:
    """A ledger from the canonical state encoding, with the rule book's checks and their order."""
    from reference.cbor import encode

    # Each table's type in key order, then the tip hash (as the schema check's order says).
    top = parse_map_strict(value, (*[("a", ("*",))] * 9, ("b", 32)))
    ledger_rows: dict[int, Any] = {}
    numbers = []
    for row in top[0]:
        number, item = parse_strict(row, ("p", ("u", 0, LEDGER_KEYS[-1]), ("*",)))
        ledger_rows[number] = item
        numbers.append(number)
    if numbers != sorted(ledger_rows):
        raise Rejected("ENC-15", "ledger rows must be sorted by key, each key once")
    for number in numbers:
        if number not in LEDGER_KEYS:
            raise Rejected("ENC-12", f"unknown key {number}")
    positions = {
        index: ledger_rows[key] for index, key in enumerate(LEDGER_KEYS) if key in ledger_rows
    }
    fields = parse_map_strict(positions, _LEDGER_FIELDS)
    _chain_id, window, close, _ = fields[0]
    if not 1 <= window <= close <= TIME_MAX:
        raise Rejected("ENC-15", "need 1 <= attestation_window_s <= trading_close_s")
    tables: dict[int, list[tuple[Any, Any]]] = {}
    for table in range(1, 9):
        key_schema, value_schema = _TABLE_SCHEMAS[table]
        rows = []
        previous: bytes | None = None
        for row in top[table]:
            key_value, record = parse_strict(row, ("p", ("*",), ("*",)))
            encoded_key = encode(key_value)
            if previous is not None and encoded_key <= previous:
                raise Rejected("ENC-15", "rows must be sorted by key, each key once")
            previous = encoded_key
            rows.append((parse_strict(key_value, key_schema), parse_strict(record, value_schema)))
        tables[table] = rows
    if fields[0][3] not in {key for key, _ in tables[T_ACCOUNTS]}:
        raise Rejected("ENC-15", "the fee account is not a registered account")
    from reference.prestate import check_keys, check_lot_markets, check_rows, check_unsettled

    check_rows(fields[3], tables)
    check_unsettled(fields[1], close, tables)
    check_keys(tables, fields[6])
    check_lot_markets(tables)
    return Ledger.from_rows(dict(zip(LEDGER_KEYS, fields, strict=True)), tables, top[9])


def encode_state(ledger: Ledger) -> bytes:
    """The canonical state encoding (rows of each table sorted by encoded key)."""
    from reference.cbor import uint_bytes

    grouped: list[list[tuple[bytes, bytes]]] = [[] for _ in range(9)]
    for table, key, value in ledger.entries():
        grouped[table].append((key, value))
    out = [uint_bytes(10, 5)]
    for table, rows in enumerate(grouped):
        rows.sort()
        out.append(u(table))
        out.append(uint_bytes(len(rows), 4))
        out.extend(b"\x82" + key + value for key, value in rows)
    out.append(b"\x09\x58\x20" + ledger.tip_hash)
    return b"".join(out)
