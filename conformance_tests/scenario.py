"""A driver for building ledgers by hand: named keys, automatic nonces, one call per transaction.

Not part of the rules: tests, the vector generator, the simulator and the benchmarks use it to
write scenarios briefly. Every call goes through the executable spec's entry points
(``apply_transaction``, ``advance_clock``, ``build_block``/``apply_block``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from spec.blocks import BlockReceipt, apply_block, build_block
from spec.clearing import advance_clock
from spec.crypto import public_key_of
from spec.errors import Rejected
from spec.state import ChainParams, Encumbrance, NodeKind, Role, Source, State, genesis
from spec.transactions import Kind, Receipt, apply_transaction, make_transaction
from spec.units import SLOT_SECONDS

CHAIN_ID = "kwhledger-test"
GENESIS_TIME = 1_764_255_600  # 2025-11-28 00:00 JST
ATTESTATION_WINDOW_S = 3600
TRADING_CLOSE_S = 5400


def seed_of(name: str) -> bytes:
    """A deterministic 32-byte key seed for a name (test keys only, never for real use)."""
    return hashlib.sha256(b"kwhledger test key/" + name.encode()).digest()


def key_of(name: str) -> bytes:
    """The account id of a named test key."""
    return public_key_of(seed_of(name))


@dataclass
class Ledger:
    """A state plus the bookkeeping a client does: nonces and names."""

    state: State
    nonces: dict[str, int] = field(default_factory=dict)
    receipts: list[Receipt] = field(default_factory=list)

    @classmethod
    def new(
        cls,
        chain_id: str = CHAIN_ID,
        time: int = GENESIS_TIME,
        validators: tuple[str, ...] = ("validator-1",),
        attestation_window_s: int = ATTESTATION_WINDOW_S,
        trading_close_s: int = TRADING_CLOSE_S,
    ) -> Ledger:
        """Genesis with an operator (also the fee account), one attestor and the validators."""
        params = ChainParams(chain_id, attestation_window_s, trading_close_s, key_of("operator"))
        accounts = {key_of("operator"): int(Role.OPERATOR), key_of("attestor"): int(Role.ATTESTOR)}
        for name in validators:
            accounts[key_of(name)] = int(Role.VALIDATOR)
        return cls(genesis(params, accounts, time))

    # --- raw transactions -------------------------------------------------------------------

    def make(self, sender: str, kind: Kind, body: object, nonce: int | None = None) -> bytes:
        """Sign a transaction by ``sender`` with its next nonce (or the one given)."""
        use = self.nonces.get(sender, 0) if nonce is None else nonce
        return make_transaction(seed_of(sender), self.state.params.chain_id, kind, use, body)

    def submit(self, tx: bytes, sender: str | None = None) -> Receipt:
        """Apply a transaction; on acceptance advance the named sender's nonce."""
        self.state, receipt = apply_transaction(self.state, tx)
        self.receipts.append(receipt)
        if receipt.accepted and sender is not None:
            self.nonces[sender] = self.nonces.get(sender, 0) + 1
        return receipt

    def send(self, sender: str, kind: Kind, body: object) -> Receipt:
        """Sign with the next nonce and apply."""
        return self.submit(self.make(sender, kind, body), sender)

    def must(self, sender: str, kind: Kind, body: object) -> Receipt:
        """Like ``send`` but raise if the transaction is rejected (for setting up scenarios)."""
        receipt = self.send(sender, kind, body)
        if not receipt.accepted:
            raise AssertionError(f"{kind.name} by {sender} rejected: {receipt}")
        return receipt

    # --- the transaction kinds, with friendly arguments -------------------------------------

    def register(self, name: str, roles: int = Role.TRADER) -> Receipt:
        return self.send("operator", Kind.REGISTER_ACCOUNT, {0: key_of(name), 1: int(roles)})

    def node(self, node: int, kind: NodeKind, parent: int | None, fee: int = 0) -> Receipt:
        return self.send("operator", Kind.REGISTER_NODE, {0: node, 1: int(kind), 2: parent, 3: fee})

    def meter(
        self,
        meter: int,
        owner: str,
        node: int,
        capacity_wh: int = 10_000,
        attestor: str = "attestor",
        source: Source = Source.SOLAR,
    ) -> Receipt:
        body = {0: meter, 1: key_of(owner), 2: key_of(attestor), 3: node, 4: int(source)}
        body[5] = capacity_wh
        return self.send("operator", Kind.REGISTER_METER, body)

    def deposit(self, name: str, amount: int) -> Receipt:
        return self.send("operator", Kind.DEPOSIT, {0: key_of(name), 1: amount})

    def attest(
        self,
        readings: list[tuple[int, int, int, int]] | list[tuple[int, int, int, int, Encumbrance]],
        attestor: str = "attestor",
    ) -> Receipt:
        """Readings as (meter, slot, exported Wh, imported Wh[, encumbrance])."""
        batch: list[dict[int, int]] = []
        for reading in readings:
            meter, slot, exported, imported = reading[:4]
            encumbrance = reading[4] if len(reading) == 5 else Encumbrance.NONE
            batch.append({0: meter, 1: slot, 2: exported, 3: imported, 4: int(encumbrance)})
        return self.send(attestor, Kind.ATTEST, {0: batch})

    def ask(self, name: str, meter: int, slot: int, quantity_wh: int, min_price: int) -> Receipt:
        return self.send(name, Kind.PLACE_ASK, {0: meter, 1: slot, 2: quantity_wh, 3: min_price})

    def bid(self, name: str, zone: int, slot: int, quantity_wh: int, max_price: int) -> Receipt:
        return self.send(name, Kind.PLACE_BID, {0: zone, 1: slot, 2: quantity_wh, 3: max_price})

    def cancel(self, name: str, order: int) -> Receipt:
        return self.send(name, Kind.CANCEL, {0: order})

    def withdraw(self, name: str, amount: int) -> Receipt:
        return self.send(name, Kind.WITHDRAW, {0: amount})

    def transfer(self, name: str, to: str, amount: int) -> Receipt:
        return self.send(name, Kind.TRANSFER, {0: key_of(to), 1: amount})

    # --- time and blocks ----------------------------------------------------------------------

    def tick(self, now: int) -> Rejected | None:
        """Advance the clock (clearing what is due); return the rejection if time would go back."""
        try:
            self.state = advance_clock(self.state, now)
        except Rejected as rejection:
            return rejection
        return None

    def block(
        self,
        txs: list[bytes],
        timestamp: int,
        validators: tuple[str, ...] = ("validator-1",),
        proposer: str = "validator-1",
    ) -> tuple[bytes, BlockReceipt]:
        """Build a block of ``txs`` signed by ``validators`` and apply it."""
        block, _ = build_block(
            self.state, txs, timestamp, seed_of(proposer), [seed_of(v) for v in validators]
        )
        self.state, receipt = apply_block(self.state, block)
        return block, receipt

    @property
    def slot(self) -> int:
        """The slot the ledger's clock is in."""
        return self.state.time // SLOT_SECONDS


def small_village(ledger: Ledger | None = None) -> Ledger:
    """A ready grid: substation 1 (fee 100 sen/kWh) > transformer 2 > service points 3..6;
    substation 10 (fee 50) > transformer 11 > service points 12, 13. Traders alice, bob, carol,
    dave (zone 1) and erin, frank (zone 10), each with a meter at their own service point
    (meter id = node id + 100) and 100 000 yen deposited."""
    ledger = ledger or Ledger.new()
    ledger.node(1, NodeKind.SUBSTATION, None, 100)
    ledger.node(2, NodeKind.TRANSFORMER, 1)
    ledger.node(10, NodeKind.SUBSTATION, 1, 50)
    ledger.node(11, NodeKind.TRANSFORMER, 10)
    homes = {"alice": 3, "bob": 4, "carol": 5, "dave": 6, "erin": 12, "frank": 13}
    for name, node in homes.items():
        ledger.node(node, NodeKind.SERVICE_POINT, 2 if node < 10 else 11)
        ledger.register(name)
        ledger.meter(node + 100, name, node)
        ledger.deposit(name, 100_000 * 100_000)
    for receipt in ledger.receipts:
        if not receipt.accepted:
            raise AssertionError(f"small village setup failed: {receipt}")
    return ledger
