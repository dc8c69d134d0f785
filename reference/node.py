"""The reference node: a ledger, its SQLite store, a mempool and block production for a dev chain.

* ``Node.create`` writes a genesis state to a new store; ``Node.open`` restarts from the store,
  checking what it loads in time that follows the state's size, not the chain's length: every
  row's checksum, the tip witness (``reference/store.py``), and the state root recomputed from
  the loaded entries against the last committed header (``verify_root=False`` trusts the stored
  LtHash lanes instead: the plain open the default is measured against). ``check_store(path,
  full=True)`` also checks every stored block. Anything that does not match is a ``StoreError``
  with a one-line message.
* ``submit`` admits a transaction to the bounded mempool after the checks that do not need a
  block: decoding (ENC rules, TX-02), chain id (TX-01), sender registered (TX-03), signature
  (TX-04), and the nonce (TX-05: not already used, and within ``NONCE_WINDOW`` of the sender's
  next one). The verdict of the signature check is kept, so block production does not verify
  twice. A full mempool (``MAX_MEMPOOL``) refuses with ``MempoolFull``, a node policy, not a rule.
* ``produce_block`` (single-node dev chain) applies the mempool in arrival order, leaves out what
  the rules reject (its receipt is returned, not stored: only included transactions have stored
  receipts), signs with the local validator keys and commits.
* ``import_block`` validates and applies a block made elsewhere; a rejected block leaves the
  ledger and the store as they were.

A block is first applied in memory, then committed in one SQLite transaction; if the commit fails
the in-memory ledger is rolled back to the previous block, so memory never runs ahead of disk.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import cbor2

from reference.cbor import tstr, u, uint_bytes
from reference.errors import Rejected
from reference.ledger import (
    TAG_BLOCK_HEADER,
    BlockResult,
    Ledger,
    Receipt,
    blake,
    decode_state,
    encode_state,
    merkle_root,
    verify,
)
from reference.lthash import LtHash
from reference.settlement import records_root
from reference.store import Store, StoreError
from reference.verifier import Pending, SignatureChecker
from reference.wire import Tx, decode_block, decode_tx, tx_id

MAX_MEMPOOL: Final = 16 * 4096
"""Transactions the mempool holds at most: sixteen full blocks."""
NONCE_WINDOW: Final = 4096
"""How far ahead of its sender's next nonce a transaction may be and still wait in the mempool."""


class MempoolFull(Exception):
    """The mempool holds MAX_MEMPOOL transactions; the transaction was not admitted."""


class Node:
    """A running node over one store."""

    def __init__(self, store: Store, ledger: Ledger, validator_seeds: list[bytes] | None = None):
        self.store = store
        self.ledger = ledger
        ledger.store_changes = {}
        self.validator_seeds = list(validator_seeds or [])
        self.mempool: dict[bytes, tuple[Tx, bool | None]] = {}
        """Admitted transactions by id, in arrival order, with their signature verdict."""
        self.last_settlement: list[bytes] = []
        """The settlement records of the last block committed (also kept in the store)."""

    # --- lifecycle -----------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | Path,
        genesis: Ledger,
        validator_seeds: list[bytes] | None = None,
        commit_pause_s: float = 0.0,
    ) -> Node:
        """A new chain in a new store (refuses a file that is there already)."""
        if Path(path).exists():
            raise StoreError(f"{path}: exists already (a new chain needs a new file)")
        store = Store(path, commit_pause_s)
        genesis.checkpoint()
        store.initialise(encode_state(genesis), genesis.entries(), genesis.lthash.lanes())
        return cls(store, genesis, validator_seeds)

    @classmethod
    def open(
        cls,
        path: str | Path,
        validator_seeds: list[bytes] | None = None,
        verify_root: bool = True,
        commit_pause_s: float = 0.0,
    ) -> Node:
        """Restart from a store: its last committed block's state, checked (``load_ledger``)."""
        store = Store(path, commit_pause_s, create=False)
        try:
            store.check_witness()
            if store.meta("genesis") is None:
                raise StoreError(f"{path}: holds no chain")
            ledger = load_ledger(store, verify_root)
        except BaseException:
            store.close()
            raise
        return cls(store, ledger, validator_seeds)

    @classmethod
    def open_or_create(
        cls,
        path: str | Path,
        genesis: Ledger,
        validator_seeds: list[bytes] | None = None,
        commit_pause_s: float = 0.0,
    ) -> Node:
        """Open the chain at ``path``, or create one if there is no file (any file that is there
        must hold a chain: a 0-byte or foreign file is refused, never overwritten)."""
        if Path(path).exists():
            return cls.open(path, validator_seeds, commit_pause_s=commit_pause_s)
        return cls.create(path, genesis, validator_seeds, commit_pause_s)

    def close(self) -> None:
        self.store.close()

    # --- mempool -------------------------------------------------------------------------------

    def submit(self, data: bytes, signature_ok: bool | None = None) -> Receipt:
        """Admit a transaction, or reject it with the rule book's code for what can be known now."""
        identifier = tx_id(data)
        try:
            tx = decode_tx(data, identifier)
            self._admit(tx, identifier, signature_ok)
        except Rejected as rejection:
            return Receipt(identifier, rejection.code, rejection.rule_id, rejection.detail)
        return Receipt(identifier, 0, None)

    def prepare(self, datas: list[bytes], checker: SignatureChecker | None = None) -> Prepared:
        """Start the signature checks of ``datas`` on ``checker``'s worker processes;
        ``submit_prepared`` admits them later. A pipeline: the checks of the next block run on
        other cores while this process applies and commits the current one."""
        return Prepared(datas, checker.check(datas) if checker is not None else None)

    def submit_prepared(self, prepared: Prepared) -> list[Receipt]:
        """Admit prepared transactions in order, with the verdicts their checks gave (the
        decoding is done again here: the mempool keeps decoded transactions)."""
        verdicts = (
            prepared.pending.result()
            if prepared.pending is not None
            else [None] * len(prepared.datas)
        )
        return [self.submit(data, ok) for data, ok in zip(prepared.datas, verdicts, strict=True)]

    def _admit(self, tx: Tx, identifier: bytes, signature_ok: bool | None) -> None:
        """The rule book's order (chapter 10, step 5) for what the current state can tell."""
        ledger = self.ledger
        if tx.chain_id != ledger.chain_id:
            raise Rejected("TX-01")
        account = ledger.accounts.get(tx.sender)
        if account is None:
            raise Rejected("TX-03", "the sender is not registered")
        key = account[3]
        if signature_ok is None or key != tx.sender:  # a worker's verdict is about the id
            signature_ok = verify(key, tx.signing_bytes(), tx.signature)
        if not signature_ok:
            raise Rejected("TX-04")
        # A committed transaction's nonce is below its sender's nonce, so a replay of one is
        # caught here without looking it up; a second copy in the mempool by its id.
        if tx.nonce < account[1]:
            raise Rejected("TX-05", "replay of a used nonce")
        if tx.nonce >= account[1] + NONCE_WINDOW:
            raise Rejected("TX-05", f"nonce more than {NONCE_WINDOW} ahead of the sender's")
        if identifier in self.mempool:
            raise Rejected("TX-05", "replay of a pending transaction")
        if len(self.mempool) >= MAX_MEMPOOL:
            raise MempoolFull(f"the mempool holds {MAX_MEMPOOL} transactions")
        self.mempool[identifier] = (tx, signature_ok)

    # --- blocks --------------------------------------------------------------------------------

    def produce_block(
        self, timestamp: int, proposer_seed: bytes | None = None
    ) -> tuple[bytes, list[Receipt]]:
        """Make, sign and commit the next block from the mempool (dev chain, local validators)."""
        if not self.validator_seeds:
            raise ValueError("this node has no validator keys")
        pool = list(self.mempool.values())
        block, receipts, included = self.ledger.build_block(
            [tx for tx, _ in pool],
            timestamp,
            proposer_seed or self.validator_seeds[0],
            self.validator_seeds,
            [ok for _, ok in pool],
        )
        self._commit(block, included, [r for r in receipts if r.code == 0])
        for receipt in receipts:  # included or rejected, each leaves the mempool
            self.mempool.pop(receipt.tx_id, None)
        return block, receipts

    def import_block(self, data: bytes) -> BlockResult:
        """Validate and apply a block made elsewhere; commit it if it is accepted."""
        result = self.ledger.apply_block(data)
        if result.accepted:
            block = decode_block(data)
            self._commit(data, list(block.txs), result.receipts)
            for receipt in result.receipts:
                self.mempool.pop(receipt.tx_id, None)
        return result

    def _commit(self, block: bytes, included: list[bytes], receipts: list[Receipt]) -> None:
        """Store a block the ledger has applied; if the store fails, memory returns to the
        store's height (the ledger rolls back to its last checkpoint) and the failure propagates.
        ``receipts`` are those of the included transactions, in block order."""
        ledger = self.ledger
        settlement = ledger.settlement
        upserts: list[tuple[int, bytes, bytes]] = []
        deletes: list[tuple[int, bytes]] = []
        for (table, _), (key, value) in (ledger.store_changes or {}).items():
            if value is None:
                deletes.append((table, key))
            else:
                upserts.append((table, key, value))
        try:
            self.store.commit_block(
                ledger.height,
                ledger.tip_hash,
                block,
                [r.tx_id for r in receipts],
                encode_receipts(receipts),
                upserts,
                deletes,
                ledger.lthash.lanes(),
                settlement,
            )
        except BaseException:
            ledger.rollback()
            raise
        self.last_settlement = settlement
        ledger.checkpoint()

    def state_root(self) -> bytes:
        return self.ledger.state_root()


class Prepared:
    """Transactions whose signature checks ``Node.prepare`` has started."""

    __slots__ = ("datas", "pending")

    def __init__(self, datas: list[bytes], pending: Pending | None) -> None:
        self.datas = datas
        self.pending = pending


def encode_receipts(receipts: list[Receipt]) -> bytes:
    """``[[tx id, code, rule id or null], ...]`` in canonical CBOR."""
    parts = [uint_bytes(len(receipts), 4)]
    for r in receipts:
        rule = b"\xf6" if r.rule_id is None else tstr(r.rule_id)
        parts.append(b"\x83\x58\x20" + r.tx_id + u(r.code) + rule)
    return b"".join(parts)


def _parse_row(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_parse_row(v) for v in value)
    if isinstance(value, dict):
        return tuple(_parse_row(value[i]) for i in range(len(value)))
    return value


def load_ledger(store: Store, verify_root: bool = True) -> Ledger:
    """The ledger a store holds, or a ``StoreError`` saying in one line what does not match.

    Checks, in time that follows the state's size and not the chain's length: the tip witness
    (no committed block missing), every entry's row checksum, the state root recomputed from the
    loaded entries (``verify_root``; else from the stored lanes) against the last block's header,
    and that header's hash against the stored tip. At height 0 the entries must be the genesis
    state's."""
    store.check_witness()
    try:
        ledger_values: dict[int, Any] = {}
        tables: dict[int, list[tuple[Any, Any]]] = {}
        for table, key, value in store.entries():
            key_value = _parse_row(cbor2.loads(key))
            record = _parse_row(cbor2.loads(value))
            if table == 0:
                ledger_values[key_value] = record
            else:
                tables.setdefault(table, []).append((key_value, record))
        tip = store.meta("tip") or bytes(32)
        lanes = store.meta("lanes")
        ledger = Ledger.from_rows(
            ledger_values,
            tables,
            tip,
            None if verify_root or lanes is None else LtHash.from_lanes(lanes),
        )
    except StoreError:
        raise
    except Exception as problem:  # a row that checks but does not parse: written by no node
        raise StoreError(f"{store.path}: the stored state does not load ({problem!r})") from None
    height = store.height()
    if ledger.height != height:
        raise StoreError(
            f"{store.path}: the state is at height {ledger.height}, blocks at {height}"
        )
    if height:
        data = store.block_data(height)
        assert data is not None
        try:
            block = decode_block(data)
        except Rejected as rejection:
            raise StoreError(
                f"{store.path}: block {height} does not decode ({rejection})"
            ) from None
        if blake(TAG_BLOCK_HEADER + block.header_bytes) != tip:
            raise StoreError(f"{store.path}: the stored tip is not the hash of block {height}")
        if ledger.state_root() != block.header[5]:
            raise StoreError(f"{store.path}: the state root differs from block {height}'s header")
        _check_settlement(store, height, block.header[7])
    else:
        genesis = store.meta("genesis")
        assert genesis is not None
        if decode_state(cbor2.loads(genesis)).state_root() != ledger.state_root():
            raise StoreError(f"{store.path}: the state at height 0 is not the genesis state")
    return ledger


def check_store(path: str | Path, full: bool = False) -> str:
    """Check a store as opening it does (``full``: and every stored block); return a summary
    line, or raise ``StoreError``. Nothing is written (the tip witness is only read)."""
    node = Node.open(path)
    try:
        store = node.store
        height = store.height()
        if full:
            check_blocks(store)
        return f"{path}: ok, height {height}, state root {node.state_root().hex()}" + (
            f", {height} blocks checked" if full else ""
        )
    finally:
        node.close()


def check_blocks(store: Store) -> None:
    """Every stored block: its row checksum, its height, the header chain from genesis, its
    transaction root, its receipts' checksum, and the transaction index; then SQLite's own
    ``quick_check`` of the file."""
    genesis = store.meta("genesis")
    assert genesis is not None
    previous = decode_state(cbor2.loads(genesis)).tip_hash
    expected_index = []
    for expected_height, (height, data) in enumerate(store.blocks(), start=1):
        if height != expected_height:
            raise StoreError(f"{store.path}: block {expected_height} is missing")
        try:
            block = decode_block(data)
        except Rejected as rejection:
            raise StoreError(
                f"{store.path}: block {height} does not decode ({rejection})"
            ) from None
        header_hash = blake(TAG_BLOCK_HEADER + block.header_bytes)
        if block.header[1] != height or store.block_hash(height) != header_hash:
            raise StoreError(f"{store.path}: block {height}'s header is not the one stored")
        if block.header[2] != previous:
            raise StoreError(f"{store.path}: block {height} does not follow block {height - 1}")
        ids = [tx_id(tx) for tx in block.txs]
        if block.header[4] != merkle_root(ids):
            raise StoreError(f"{store.path}: block {height}'s transaction root does not match")
        _check_settlement(store, height, block.header[7])
        if store.receipts(height) is None:
            raise StoreError(f"{store.path}: block {height} has no receipts")
        expected_index += [
            (int.from_bytes(i[:8], "big", signed=True), height, p) for p, i in enumerate(ids)
        ]
        previous = header_hash
    if (store.meta("tip") or bytes(32)) != previous:
        raise StoreError(f"{store.path}: the stored tip is not the last block's hash")
    rows = store._sql(lambda: store.db.execute("SELECT count(*) FROM settlements").fetchone()[0])
    if rows != store.height():  # one row per block, each checked above
        raise StoreError(f"{store.path}: the settlements table holds rows of no stored block")
    query = "SELECT prefix, height, position FROM transactions"
    index = store._sql(lambda: store.db.execute(query).fetchall())
    if sorted(tuple(row) for row in index) != sorted(expected_index):
        raise StoreError(f"{store.path}: the transaction index does not match the blocks")
    verdict = store._sql(lambda: store.db.execute("PRAGMA quick_check").fetchone()[0])
    if verdict != "ok":
        raise StoreError(f"{store.path}: SQLite quick_check: {verdict}")


def settlement_proof(store: Store, height: int, wanted: tuple[Any, ...] | int) -> bytes:
    """The proof file of one settlement record of block ``height``: the record whose
    ``record_key`` is ``wanted``, or the record at index ``wanted``. ``LookupError`` (one line)
    when the block or the record is not there."""
    from reference.settlement import proof_file, record_key

    data = store.block_data(height)
    records = store.settlement(height)
    if data is None or records is None:
        raise LookupError(f"{store.path} holds no block {height}")
    if isinstance(wanted, int):
        if not 0 <= wanted < len(records):
            raise LookupError(f"block {height} emitted {len(records)} settlement records")
        index = wanted
    else:
        found = [i for i, record in enumerate(records) if record_key(record) == wanted]
        if not found:
            raise LookupError(f"block {height} settled no such record")
        index = found[0]
    return proof_file(decode_block(data).header_bytes, records, index)


def _check_settlement(store: Store, height: int, settlement_root: bytes) -> None:
    """Block ``height``'s stored settlement records give its header's settlement root."""
    records = store.settlement(height)
    if records is None:
        raise StoreError(f"{store.path}: block {height} has no settlement records")
    if records_root(records) != settlement_root:
        raise StoreError(
            f"{store.path}: block {height}'s settlement records do not give its settlement root"
        )


def replay(store: Store) -> Ledger:
    """The ledger a replay of every stored block from genesis gives (full validation)."""
    genesis = store.meta("genesis")
    assert genesis is not None
    ledger = decode_state(cbor2.loads(genesis))
    for height, block in store.blocks():
        result = ledger.apply_block(block)
        if not result.accepted:
            raise RuntimeError(f"stored block {height} is rejected on replay: {result.rule_id}")
    return ledger


def genesis_ledger(
    chain_id: str,
    time: int,
    accounts: Iterable[tuple[bytes, int]],
    fee_account: bytes,
    attestation_window_s: int = 3600,
    trading_close_s: int = 5400,
) -> Ledger:
    """A genesis state: the given accounts with their roles, nothing else.

    ``chain_id`` is the chain's name; the ledger's chain id is the name, ``:`` and 40 hex digits
    of the genesis state's hash (TX-08).
    """
    roles = dict(accounts)
    start = Ledger(chain_id, attestation_window_s, trading_close_s, fee_account, time, roles)
    digest = blake(TAG_GENESIS + encode_state(start))[:20].hex()
    return Ledger(
        f"{chain_id}:{digest}", attestation_window_s, trading_close_s, fee_account, time, roles
    )


TAG_GENESIS: Final = b"kwhledger/genesis/v1\x00"
