"""Replay a chain through the executable spec: how the consortium settles a dispute.

A chain is its genesis state and its blocks, read from either

* a reference node's SQLite store (the genesis state, every block, and the receipts the node kept
  of the transactions it tried), opened read-only; or
* a CBOR sequence (RFC 8742) of byte strings: the genesis state's canonical encoding (section 9.9
  of the rule book) and then one block each, in height order. With ``genesis`` given separately,
  every item is a block. ``export_sequence`` writes one from a store.

Every block goes through ``spec.blocks.apply_block``, which checks its header, its quorum, every
transaction, the state root its header commits to (BLK-10) and its settlement root (BLK-15, the
Merkle root of the records of the slots its clock advance settled). Where the store kept the
settlement records the node emitted, they must give the same root; the reference node's own
settlement root is compared too. Where the store kept receipts, the
transactions the node reported accepted must be exactly the block's, in order. The first block
the spec rejects, or whose receipts differ, is a *divergence*: it is reported with the block's
height, the rule that rejected the block and, when one transaction is to blame, that
transaction's index, id and rule, and the first state entry that differs from what the chain
committed to (from the reference node's state after the block, or the store's final state when
the last block diverges).

The reference node (``reference.ledger``) replays the same blocks in the same run, so that the
spec's rate can be put next to the node's, measured on the same machine at the same moment.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cbor2

from conformance_tests.diag import state_difference
from spec.blocks import apply_block, decode_block
from spec.cbor import decode
from spec.clearing import advance_clock
from spec.errors import Rejected
from spec.rules import RULES_BY_ID
from spec.settlement import settlement_root as spec_settlement_root
from spec.state import State, Table, decode_state, encode_state
from spec.transactions import apply_transaction, tx_id
from spec.units import Height

MAX_STATE_BYTES = 1 << 31
SQLITE_MAGIC = b"SQLite format 3\x00"

StoredReceipt = tuple[bytes, int, str | None]
"""(transaction id, code, rule id) as the node stored it."""


@dataclass(frozen=True)
class ChainBlock:
    height: int
    data: bytes
    receipts: list[StoredReceipt] | None
    """What the node stored for the block (accepted and rejected tries), if it stored anything."""
    settlement: list[bytes] | None = None
    """The settlement records the node stored for the block, if it stored them."""


@dataclass
class Chain:
    """A chain to replay."""

    source: str
    genesis: bytes
    count: int
    blocks: Callable[[], Iterator[ChainBlock]]
    final_state: Callable[[], dict[int, Any]] | None = None
    """The canonical state (less its tip hash) the source holds after its last block, if any."""


def open_chain(path: Path, genesis_path: Path | None = None) -> Chain:
    """The chain in ``path`` (an SQLite store or a CBOR sequence), or ``ValueError``."""
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head == SQLITE_MAGIC:
        if genesis_path is not None:
            raise ValueError("a store holds its own genesis: leave out --genesis")
        return _sqlite_chain(path)
    return _sequence_chain(path, genesis_path)


def _sqlite_chain(path: Path) -> Chain:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT value FROM meta WHERE name = 'genesis'").fetchone()
    except sqlite3.DatabaseError as problem:
        raise ValueError(f"{path} is not a kwhledger store: {problem}") from None
    if row is None:
        raise ValueError(f"{path} holds no chain")
    genesis = bytes(row[0])
    count = int(db.execute("SELECT count(*) FROM blocks").fetchone()[0])

    def blocks() -> Iterator[ChainBlock]:
        query = (
            "SELECT b.height, b.data, r.data, s.data FROM blocks b LEFT JOIN receipts r "
            "ON r.height = b.height LEFT JOIN settlements s ON s.height = b.height "
            "ORDER BY b.height"
        )
        for height, data, receipts, settlement in db.execute(query):
            stored = None if receipts is None else _stored_receipts(bytes(receipts))
            records = None if settlement is None else list(cbor2.loads(bytes(settlement)))
            yield ChainBlock(int(height), bytes(data), stored, records)

    def final_state() -> dict[int, Any]:
        tables: dict[int, list[tuple[bytes, Any]]] = {int(t): [] for t in Table}
        for table, key, value in db.execute("SELECT tbl, k, v FROM entries"):
            rows = tables.setdefault(int(table), [])
            rows.append((bytes(key), [cbor2.loads(key), cbor2.loads(value)]))
        return {
            t: [row for _, row in sorted(rows, key=lambda r: r[0])] for t, rows in tables.items()
        }

    return Chain(str(path), genesis, count, blocks, final_state)


def _stored_receipts(data: bytes) -> list[StoredReceipt]:
    return [(bytes(r[0]), int(r[1]), r[2]) for r in cbor2.loads(data)]


def _sequence_items(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        decoder = cbor2.CBORDecoder(handle)
        while handle.peek(1):
            item = decoder.decode()
            if not isinstance(item, bytes):
                raise ValueError(f"{path}: every item of the sequence must be a byte string")
            yield item


def _sequence_chain(path: Path, genesis_path: Path | None) -> Chain:
    try:
        items = _sequence_items(path)
        genesis = genesis_path.read_bytes() if genesis_path is not None else next(items)
        count = sum(1 for _ in items)
    except (cbor2.CBORDecodeError, StopIteration) as problem:
        raise ValueError(f"{path} is not a CBOR sequence of byte strings: {problem}") from None
    skip = 0 if genesis_path is not None else 1

    def blocks() -> Iterator[ChainBlock]:
        for height, data in enumerate(_sequence_items(path), start=1 - skip):
            if height >= 1:
                yield ChainBlock(height, data, None)

    return Chain(str(path), genesis, count, blocks)


def export_sequence(chain: Chain, out: Path) -> int:
    """Write ``chain`` as a CBOR sequence (genesis first); returns the number of blocks."""
    count = 0
    with out.open("wb") as handle:
        handle.write(cbor2.dumps(chain.genesis))
        for block in chain.blocks():
            handle.write(cbor2.dumps(block.data))
            count += 1
    return count


# --- The replay ------------------------------------------------------------------------------


@dataclass
class Divergence:
    """The first place where the chain and the spec disagree."""

    height: int
    rule: str | None
    """The rule that rejected the block (None: the spec accepted it but something else differs)."""
    what: str
    tx_index: int | None = None
    tx_id: bytes | None = None
    tx_rule: str | None = None
    entry: str | None = None
    """The first differing state entry, in words and diagnostic notation."""

    def summary(self) -> str:
        parts = [f"block {self.height}"]
        if self.tx_index is not None:
            tx = f"transaction {self.tx_index}"
            if self.tx_id is not None:
                tx += f" (id {self.tx_id.hex()[:16]}..)"
            if self.tx_rule is not None:
                tx += f" rule {self.tx_rule}"
                if self.tx_rule in RULES_BY_ID:
                    tx += f" ({RULES_BY_ID[self.tx_rule].title})"
            parts.append(tx)
        if self.rule is not None:
            parts.append(f"block rule {self.rule}")
        return f"at {', '.join(parts)}: {self.what}"


@dataclass
class ReplayResult:
    source: str
    blocks: int = 0
    transactions: int = 0
    roots_checked: int = 0
    settlement_roots_checked: int = 0
    """Blocks whose settlement root the spec checked (BLK-15) and the reference node (and the
    store's records, where it kept them) gave alike."""
    settlement_records: int = 0
    stored_settlements_checked: int = 0
    """Blocks whose stored settlement records gave the header's settlement root."""
    receipts_checked: int = 0
    receipts_not_in_blocks: int = 0
    """Receipts of transactions the node tried and left out: not in the chain, not re-checkable."""
    spec_seconds: float = 0.0
    reference_seconds: float | None = None
    divergence: Divergence | None = None
    reference_disagrees: str | None = None
    notes: list[str] = field(default_factory=list)

    def rates(self) -> dict[str, float | None]:
        spec = self.blocks / self.spec_seconds if self.spec_seconds else None
        ref = self.reference_seconds
        reference = self.blocks / ref if ref else None
        return {
            "spec_blocks_per_second": spec,
            "spec_transactions_per_second": (
                self.transactions / self.spec_seconds if self.spec_seconds else None
            ),
            "reference_blocks_per_second": reference,
            "spec_to_reference": spec / reference if spec and reference else None,
        }


def replay(
    chain: Chain,
    with_reference: bool = True,
    progress: Callable[[str], None] = lambda _: None,
    progress_every_s: float = 2.0,
    max_blocks: int | None = None,
) -> ReplayResult:
    """Re-execute ``chain`` through the spec (and the reference node), stopping at the first
    divergence, or after ``max_blocks`` blocks. ``ValueError`` if its genesis state is not a
    valid state."""
    result = ReplayResult(chain.source)
    try:
        state = decode_state(decode(chain.genesis, max_size=MAX_STATE_BYTES))
    except Rejected as rejection:
        raise ValueError(f"the genesis state is not valid: {rejection.rule.id}") from None
    reference = _reference_genesis(chain.genesis) if with_reference else None
    if reference is not None:
        result.reference_seconds = 0.0
    last_report = time.monotonic()
    for block in chain.blocks():
        if max_blocks is not None and result.blocks >= max_blocks:
            result.notes.append(f"stopped after {max_blocks} blocks (--blocks)")
            break
        started = time.perf_counter()
        after, receipt = apply_block(state, block.data)
        result.spec_seconds += time.perf_counter() - started
        reference_after = None
        if reference is not None:
            started = time.perf_counter()
            outcome = reference.apply_block(block.data)
            assert result.reference_seconds is not None
            result.reference_seconds += time.perf_counter() - started
            if outcome.code == 0:
                reference_after = reference
            else:
                reference = None  # a rejected block leaves the reference where it was: stop
        if not receipt.accepted:
            result.divergence = _diagnose(state, block, receipt, reference_after, chain)
            return result
        mismatch = _check_receipts(block, receipt.receipts)
        if mismatch is not None:
            result.divergence = mismatch
            return result
        if block.receipts is not None:
            result.receipts_checked += len(receipt.receipts)
            result.receipts_not_in_blocks += sum(1 for r in block.receipts if r[1] != 0)
        if with_reference and reference_after is None and result.reference_disagrees is None:
            result.reference_disagrees = f"block {block.height}: the node rejects it"
        expected = spec_settlement_root(receipt.settlement)
        if (
            reference_after is not None
            and reference_after.settlement_root() != expected
            and result.reference_disagrees is None
        ):
            result.reference_disagrees = f"block {block.height}: another settlement root"
        if block.settlement is not None and _records_root(block.settlement) != expected:
            result.divergence = Divergence(
                block.height,
                None,
                "the settlement records the store kept do not give the block's settlement root",
            )
            return result
        if block.settlement is not None:
            result.stored_settlements_checked += 1
        state = after
        result.blocks += 1
        result.roots_checked += 1
        result.settlement_roots_checked += 1
        result.settlement_records += len(receipt.settlement)
        result.transactions += len(receipt.receipts)
        now = time.monotonic()
        if now - last_report >= progress_every_s:
            last_report = now
            rate = result.blocks / result.spec_seconds if result.spec_seconds else 0.0
            share = 100 * result.blocks / chain.count if chain.count else 100.0
            rates = result.rates()
            ratio = rates["spec_to_reference"]
            progress(
                f"block {block.height} of {chain.count} ({share:.0f} %), "
                f"{result.transactions:,} transactions, spec {rate:,.1f} blocks/s"
                + (
                    f", reference {rates['reference_blocks_per_second']:,.1f} blocks/s, "
                    f"spec / reference so far {ratio:.3f}; every root equal so far"
                    if ratio
                    else ""
                )
            )
    return result


def _records_root(records: list[bytes]) -> bytes:
    """The settlement root of stored record encodings (SET-03: the count and the Merkle root over
    the tagged hashes of the encodings)."""
    from spec.crypto import TAG_SETTLEMENT_RECORD, merkle_root, tagged_hash
    from spec.settlement import count_and_root

    leaves = [tagged_hash(TAG_SETTLEMENT_RECORD, r) for r in records]
    return count_and_root(len(records), merkle_root(leaves))


def _reference_genesis(genesis: bytes) -> Any:
    from reference.ledger import decode_state as reference_state

    return reference_state(cbor2.loads(genesis))


def _check_receipts(block: ChainBlock, receipts: Any) -> Divergence | None:
    """The stored receipts of accepted transactions must be the block's transactions, in order."""
    if block.receipts is None:
        return None
    stored = [r for r in block.receipts if r[1] == 0]
    replayed = [r.tx_id for r in receipts]
    for index, (ours, theirs) in enumerate(zip(replayed, stored, strict=False)):
        if ours != theirs[0]:
            return Divergence(
                block.height,
                None,
                "the stored receipt names another transaction",
                index,
                ours,
            )
    if len(stored) != len(replayed):
        return Divergence(
            block.height,
            None,
            f"the store reports {len(stored)} accepted transactions, the block holds "
            f"{len(replayed)}",
        )
    return None


def _diagnose(
    state: State, block: ChainBlock, receipt: Any, reference_after: Any, chain: Chain
) -> Divergence:
    """Why the spec rejected ``block``: its rule, the transaction to blame, the first differing
    state entry."""
    rule = receipt.rule_id
    what = RULES_BY_ID[rule].title if rule in RULES_BY_ID else "the spec rejects the block"
    divergence = Divergence(
        block.height, rule, what + (f" ({receipt.detail})" if receipt.detail else "")
    )
    stored_ids = [r[0] for r in block.receipts or [] if r[1] == 0]
    try:
        decoded = decode_block(block.data)
    except Rejected:
        return divergence
    # A transaction whose bytes are not those the node reported is named first.
    ids = [tx_id(tx) for tx in decoded.transactions]
    for index, identifier in enumerate(ids):
        if index < len(stored_ids) and stored_ids[index] != identifier:
            divergence.tx_index, divergence.tx_id = index, identifier
            divergence.what += "; its id is not the one the node stored for it"
            break
    # Run the block's transactions without its header checks: the first one the rules reject.
    try:
        after = advance_clock(state, decoded.header.timestamp)
    except Rejected as rejection:
        divergence.what += f"; its clock fails {rejection.rule.id}"
        return divergence
    for index, tx in enumerate(decoded.transactions):
        after, tx_receipt = apply_transaction(after, tx)
        if not tx_receipt.accepted:
            if divergence.tx_index in (None, index):
                divergence.tx_index, divergence.tx_id = index, ids[index]
                divergence.tx_rule = tx_receipt.rule_id
                if tx_receipt.detail:
                    divergence.what += f" ({tx_receipt.detail})"
            return divergence
    after = replace(after, height=Height(decoded.header.height))
    divergence.entry = _first_differing_entry(after, reference_after, chain, block.height)
    return divergence


def _first_differing_entry(
    state: State, reference_after: Any, chain: Chain, height: int
) -> str | None:
    """The first entry where the spec's state after the block differs from the chain's."""
    if reference_after is not None:
        from reference.ledger import encode_state as reference_encoding

        theirs = cbor2.loads(reference_encoding(reference_after))
    elif chain.final_state is not None and height == chain.count:
        theirs = chain.final_state()
    else:
        return None
    ours: Any = encode_state(state)
    tip = len(Table)
    ours.pop(tip, None)
    theirs.pop(tip, None)
    return state_difference(theirs, ours)
