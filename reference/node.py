"""The reference node: a ledger, its SQLite store, a mempool and block production for a dev chain.

* ``Node.create`` writes a genesis state to a new store; ``Node.open`` restarts from the store:
  the state is read back from the entry table, the LtHash lanes from ``meta``, and the root is
  checked against the last committed block's header (``verify=True`` also recomputes the root
  from every entry).
* ``submit`` admits a transaction to the mempool after the checks that do not need a block:
  decoding (ENC rules, TX-02), chain id (TX-01), signature (TX-03/TX-04 in the rule book's order)
  and replays (TX-05 for a nonce already used). The verdict of the signature check is kept, so
  block production does not verify twice.
* ``produce_block`` (single-node dev chain) applies the mempool in arrival order, leaves out what
  the rules reject (with its receipt stored), signs with the local validator keys and commits.
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
    verify,
)
from reference.lthash import LtHash
from reference.store import Store
from reference.verifier import Pending, SignatureChecker
from reference.wire import Tx, decode_block, decode_tx, tx_id


class Node:
    """A running node over one store."""

    def __init__(self, store: Store, ledger: Ledger, validator_seeds: list[bytes] | None = None):
        self.store = store
        self.ledger = ledger
        ledger.store_changes = {}
        self.validator_seeds = list(validator_seeds or [])
        self.mempool: dict[bytes, tuple[Tx, bool | None]] = {}
        """Admitted transactions by id, in arrival order, with their signature verdict."""

    # --- lifecycle -----------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | Path,
        genesis: Ledger,
        validator_seeds: list[bytes] | None = None,
        commit_pause_s: float = 0.0,
    ) -> Node:
        """A new chain in a new store (refuses a store that already holds one)."""
        store = Store(path, commit_pause_s)
        if store.meta("genesis") is not None:
            store.close()
            raise FileExistsError(f"{path} already holds a chain")
        genesis.checkpoint()
        store.initialise(encode_state(genesis), genesis.entries(), genesis.lthash.lanes())
        return cls(store, genesis, validator_seeds)

    @classmethod
    def open(
        cls,
        path: str | Path,
        validator_seeds: list[bytes] | None = None,
        verify_root: bool = False,
        commit_pause_s: float = 0.0,
    ) -> Node:
        """Restart from a store: the state of its last committed block."""
        store = Store(path, commit_pause_s)
        genesis = store.meta("genesis")
        if genesis is None:
            store.close()
            raise FileNotFoundError(f"{path} holds no chain")
        ledger = load_ledger(store, verify_root)
        return cls(store, ledger, validator_seeds)

    @classmethod
    def open_or_create(
        cls,
        path: str | Path,
        genesis: Ledger,
        validator_seeds: list[bytes] | None = None,
        commit_pause_s: float = 0.0,
    ) -> Node:
        if Path(path).exists():
            store = Store(path)
            known = store.meta("genesis") is not None
            store.close()
            if known:
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
        ledger = self.ledger
        if tx.chain_id != ledger.chain_id:
            raise Rejected("TX-01")
        account = ledger.accounts.get(tx.sender)
        if signature_ok is None:
            signature_ok = verify(tx.sender, tx.signing_bytes(), tx.signature)
        if not signature_ok:
            raise Rejected("TX-03" if account is None else "TX-04")
        # A committed transaction's nonce is below its sender's nonce, so a replay of one is
        # caught here without looking it up; a second copy in the mempool by its id.
        if account is not None and tx.nonce < account[1]:
            raise Rejected("TX-05", "replay of a used nonce")
        if identifier in self.mempool:
            raise Rejected("TX-05", "replay of a pending transaction")
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
        self._commit(block, included, receipts, produced=True)
        for receipt in receipts:
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

    def _commit(
        self, block: bytes, included: list[bytes], receipts: list[Receipt], produced: bool = False
    ) -> None:
        ledger = self.ledger
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
                [r.tx_id for r in receipts if r.code == 0]
                if produced
                else [tx_id(tx) for tx in included],
                encode_receipts(receipts),
                upserts,
                deletes,
                ledger.lthash.lanes(),
            )
        except BaseException:
            ledger.rollback()
            raise
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


def load_ledger(store: Store, verify_root: bool = False) -> Ledger:
    """The ledger a store holds (its entries are trusted: the node wrote them)."""
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
    height = store.height()
    if height:
        data = store.block_data(height)
        assert data is not None
        block = decode_block(data)
        if (
            ledger.state_root() != block.header[5]
            or blake(TAG_BLOCK_HEADER + block.header_bytes) != tip
        ):
            raise RuntimeError("the store's state does not match its last block")
    return ledger


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
