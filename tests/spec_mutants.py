"""Seeded bugs in a copy of the spec: does some test of the suite catch each one?

Run from the repository root::

    python tests/spec_mutants.py            # every mutant
    python tests/spec_mutants.py --only nonce-check-removed --keep

For each mutant the script copies the spec, the scenario driver and the spec's test files to a
temporary directory, applies a textual patch to the *copy* of ``spec/`` (the real ``spec/`` is
never touched), and runs pytest there with ``PYTHONPATH`` pointing at the copy. Before the run it
checks, in a child Python with the same environment, that ``import spec`` resolves to the copy; a
``conftest`` line added to the copy asserts the same inside pytest. The baseline (no patch) must
pass first, or the table would mean nothing.

The copy runs the Hypothesis ``ci`` profile minus shrinking (profile ``mutants``, added to the
copy's conftest only): a mutant is caught by the first failing example, and shrinking it would
only cost time. The table lists every failing test.

A patch is a list of (old, new) replacements, each ``old`` occurring exactly once in its file, so
a patch that no longer applies to a changed spec is reported as such instead of silently testing
nothing. Not collected by pytest (its name does not start with ``test_``).
"""

# The patches quote lines of the spec verbatim, so some are longer than the line limit.
# ruff: noqa: E501

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = sorted(
    p.name
    for p in (ROOT / "tests").glob("test_spec_*.py")
    if p.name != "test_spec_coverage_of_rules.py"
)
SUPPORT = ["conftest.py", "_rules_plugin.py", "strategies.py", "chacha20.py"]

CONFTEST_TAIL = """

# --- added by tests/spec_mutants.py to this temporary copy only ---
import pathlib as _pathlib

import spec as _spec
from hypothesis import Phase as _Phase

_COPY = _pathlib.Path(__file__).resolve().parent.parent
assert _pathlib.Path(_spec.__file__).resolve().is_relative_to(_COPY), _spec.__file__
settings.register_profile(
    "mutants",
    parent=settings.get_profile("ci"),
    phases=[_Phase.explicit, _Phase.reuse, _Phase.generate],
)
"""


@dataclass(frozen=True)
class Mutant:
    """One seeded bug: which rule or invariant it breaks and how."""

    name: str
    breaks: str
    file: str
    patch: tuple[tuple[str, str], ...]
    also: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    """Patches of further files, for a bug that takes two slips in two places."""


VALIDATOR_SET_MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "validator-set-re-adds-a-validator",
        "VAL-03 a real change (an addition of a current validator is accepted)",
        "spec/validators.py",
        (
            (
                'require(is_validator != (body.power == 1), "VAL-03",',
                'require(is_validator or body.power == 1, "VAL-03",',
            ),
        ),
    ),
    Mutant(
        "validator-approvals-counted-with-duplicates",
        "VAL-04 approvals listed once (one validator's approval counts as often as it is listed), INV-16",
        "spec/validators.py",
        (
            (
                'require(signers == sorted(set(signers)), "VAL-04", "approvals must be ascending, distinct")',
                'require(signers == sorted(signers), "VAL-04", "approvals must be ascending, distinct")',
            ),
        ),
    ),
    Mutant(
        "validator-quorum-one-half",
        "VAL-05 approval quorum (half of the validators instead of two thirds), INV-16",
        "spec/validators.py",
        (
            (
                'require(3 * len(signers) >= 2 * len(current), "VAL-05",',
                'require(2 * len(signers) >= len(current), "VAL-05",',
            ),
        ),
    ),
    Mutant(
        "validator-change-replaces-pending",
        "VAL-06 one change at a time (a change of another account replaces the pending one), INV-17",
        "spec/validators.py",
        (
            (
                'require(state.pending_validator is None, "VAL-06", "a change is already pending")',
                'require(state.pending_validator is None or state.pending_validator.account != body.account, "VAL-06")',
            ),
        ),
    ),
    Mutant(
        "validator-set-of-three-changes",
        "VAL-07 less than a third at once (a set of three changes by one), INV-17",
        "spec/validators.py",
        (
            (
                'require(len(current) > 3, "VAL-07",',
                'require(len(current) >= 3, "VAL-07",',
            ),
        ),
    ),
    Mutant(
        "validator-change-one-height-early",
        "VAL-08 effective two heights later (the block after the one carrying it is already signed by the new set), INV-17",
        "spec/validators.py",
        (("ACTIVATION_DELAY: Final = 2", "ACTIVATION_DELAY: Final = 1"),),
    ),
    Mutant(
        "validator-change-one-height-late",
        "VAL-08 effective two heights later (the change applies a block late)",
        "spec/validators.py",
        (
            (
                "if pending is None or pending.height > state.height + 1:",
                "if pending is None or pending.height > state.height:",
            ),
        ),
    ),
    Mutant(
        "validator-removal-keeps-the-role",
        "VAL-08 a removed validator leaves the set (it keeps signing), INV-16",
        "spec/validators.py",
        (
            (
                "roles=account.roles & ~Role.VALIDATOR)",
                "roles=account.roles)",
            ),
        ),
    ),
)

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "rotation-proof-by-current-key",
        "KEY-03 proof of possession: the proof is checked against the sender's current key, so an account rotates to a key it does not hold",
        "spec/keys.py",
        (
            (
                'require(verify(body.key, message, body.proof), "KEY-03", "not signed by the new key")',
                'require(verify(account.key, message, body.proof), "KEY-03", "not signed by the new key")',
            ),
        ),
    ),
    Mutant(
        "rotation-to-another-accounts-key",
        "KEY-02 and INV-19: only ids count as in use, so an account rotates to another account's current key",
        "spec/keys.py",
        (
            (
                "if key in state.accounts or key in accounts_by_key(state):",
                "if key in state.accounts:",
            ),
        ),
    ),
    Mutant(
        "validator-votes-switch-at-once",
        "KEY-06: a validator's votes use its new key in the very next block, which CometBFT still signs with the old one",
        "spec/keys.py",
        (
            (
                "    if pending is not None and pending.account == validator:\n        return pending.previous_key\n",
                "",
            ),
        ),
    ),
    Mutant(
        "pending-vote-key-never-dropped",
        "KEY-06: the previous key of a validator keeps signing its votes after its height",
        "spec/keys.py",
        (("    return replace(state, pending_key=None)\n", "    return state\n"),),
    ),
    Mutant(
        "operator-revokes-validator",
        "ROL-02: the operator takes the VALIDATOR role away, which only the validators may do",
        "spec/roles.py",
        (
            (
                "REVOCABLE_ROLES: Final = (Role.TRADER, Role.ATTESTOR)",
                "REVOCABLE_ROLES: Final = (Role.TRADER, Role.ATTESTOR, Role.VALIDATOR)",
            ),
        ),
    ),
    Mutant(
        "cancel-releases-twice",
        "INV-01 energy conservation (CAN-04)",
        "spec/orders.py",
        (
            (
                "unsold_wh=Wh(lot.unsold_wh + order.quantity_wh),",
                "unsold_wh=Wh(lot.unsold_wh + 2 * order.quantity_wh),",
            ),
        ),
    ),
    Mutant(
        "sold-not-matching-claims",
        "INV-02 energy balance per slot (CLR-05)",
        "spec/clearing.py",
        (
            (
                "fills.update(_ration(sell, volume, marginal_ask))",
                "fills.update(_ration(sell, volume - 1, marginal_ask))",
            ),
        ),
    ),
    Mutant(
        "ask-reserves-nothing",
        "INV-03 no double-sell (ASK-05)",
        "spec/orders.py",
        (
            ("reserved_wh=Wh(lot.reserved_wh + body.quantity_wh),", "reserved_wh=lot.reserved_wh,"),
            ("unsold_wh=Wh(lot.unsold_wh - body.quantity_wh),", "unsold_wh=lot.unsold_wh,"),
        ),
    ),
    Mutant(
        "duplicate-attestation",
        "INV-04 no double-attestation (ATT-06)",
        "spec/attestation.py",
        (("key not in state.readings and key not in readings,", "True,"),),
    ),
    Mutant(
        "claim-not-capped-by-import",
        "INV-05 no double-claim (CLR-02)",
        "spec/clearing.py",
        (("quantity = min(order.quantity_wh, left[order.owner])", "quantity = order.quantity_wh"),),
    ),
    Mutant(
        "claim-not-recorded",
        "INV-05 no double-claim (CLR-08)",
        "spec/clearing.py",
        (
            (
                "demand[key] = replace(claimed, claimed_wh=Wh(claimed.claimed_wh + filled))",
                "demand[key] = claimed",
            ),
        ),
    ),
    Mutant(
        "self-transfer-reads-pre-state",
        "INV-06 money conservation (MNY transfer)",
        "spec/money.py",
        (
            (
                "    # Read each balance after the previous write",
                "    before = state\n    # Read each balance after the previous write",
            ),
            (
                "balance=MilliSen(state.accounts[body.to].balance + body.amount)",
                "balance=MilliSen(before.accounts[body.to].balance + body.amount)",
            ),
        ),
    ),
    Mutant(
        "deposit-not-totalled",
        "INV-06 money conservation (deposit)",
        "spec/money.py",
        (
            (
                "return replace(state, money_outstanding=MilliSen(outstanding))",
                "return state",
            ),
        ),
    ),
    Mutant(
        "transfer-overdraft",
        "INV-07 no overdraft (MNY-03)",
        "spec/money.py",
        (
            (
                '    require(body.amount <= state.accounts[sender].balance, "MNY-03")\n'
                "    # Read each balance",
                "    # Read each balance",
            ),
        ),
    ),
    Mutant(
        "deposit-total-unbounded",
        "INV-08 bounds (MNY-04)",
        "spec/money.py",
        (
            (
                'require(outstanding <= MONEY_MAX_MSEN, "MNY-04", f"money outstanding {outstanding}")',
                'require(True, "MNY-04")',
            ),
        ),
    ),
    Mutant(
        "withdrawal-stays-outstanding",
        "MNY-04 on money outstanding, INV-06 money conservation (withdraw)",
        "spec/money.py",
        (
            (
                "return replace(state, money_outstanding=MilliSen(state.money_outstanding - body.amount))",
                "return state",
            ),
        ),
    ),
    Mutant(
        "clearing-pays-bid-price",
        "INV-09 price integrity (CLR-04)",
        "spec/clearing.py",
        (("price = (lo + hi) // 2", "price = marginal_bid"),),
    ),
    Mutant(
        "price-above-hi",
        "INV-09 price integrity (price outside [lo, hi])",
        "spec/clearing.py",
        (("price = (lo + hi) // 2", "price = hi + 1"),),
    ),
    Mutant(
        "escrow-fee-omitted",
        "INV-10 escrow backs open bids (BID-02)",
        "spec/orders.py",
        (
            (
                "escrow = body.quantity_wh * (body.max_price + zone.wheeling_fee)",
                "escrow = body.quantity_wh * body.max_price",
            ),
        ),
    ),
    Mutant(
        "nonce-check-removed",
        "INV-11 nonce monotonicity / replay (TX-05)",
        "spec/transactions.py",
        (
            (
                'require(tx.nonce == account.nonce and account.nonce < COUNTER_MAX, "TX-05")',
                'require(account.nonce < COUNTER_MAX, "TX-05")',
            ),
        ),
    ),
    Mutant(
        "nonce-grows-by-two",
        "INV-11 nonce monotonicity (TX-07)",
        "spec/transactions.py",
        (
            (
                "nonce=Nonce(after.accounts[tx.sender].nonce + 1)",
                "nonce=Nonce(after.accounts[tx.sender].nonce + 2)",
            ),
        ),
    ),
    Mutant(
        "non-operator-registers",
        "INV-12 authorization (TX-06)",
        "spec/transactions.py",
        (
            (
                "RegisterAccount, REGISTER_ACCOUNT_FIELDS, Role.OPERATOR, register_account",
                "RegisterAccount, REGISTER_ACCOUNT_FIELDS, None, register_account",
            ),
        ),
    ),
    Mutant(
        "cancel-by-anyone",
        "INV-12 authorization (CAN-02)",
        "spec/orders.py",
        (('require(order.owner == sender, "CAN-02")', 'require(True, "CAN-02")'),),
    ),
    Mutant(
        "attestation-one-second-early",
        "INV-13 time (ATT-04)",
        "spec/attestation.py",
        (
            (
                'require(state.time >= end, "ATT-04", f"slot {reading.slot}")',
                'require(state.time >= end - 1, "ATT-04", f"slot {reading.slot}")',
            ),
        ),
    ),
    Mutant(
        "attestation-window-inclusive",
        "INV-13 time (ATT-05)",
        "spec/attestation.py",
        (
            (
                'require(state.time < end + state.params.attestation_window_s, "ATT-05")',
                'require(state.time <= end + state.params.attestation_window_s, "ATT-05")',
            ),
        ),
    ),
    # Withdrawn in 1.0.0 as equivalent (the lot record's expired was minted - sold), restored in
    # 2.0.0: the lot record carries the lot's own expired (SET-02), so a skipped expiry changes
    # the settlement root.
    Mutant(
        "expiry-skipped",
        "INV-13 / CLR-07 expiry",
        "spec/clearing.py",
        (
            (
                "lots[lot_key] = replace(lot, expired_wh=Wh(lot.expired_wh + lot.unsold_wh), unsold_wh=Wh(0))",
                "lots[lot_key] = lot",
            ),
        ),
    ),
    Mutant(
        "block-one-transaction-too-many",
        "BLK-11 a block may hold MAX_BLOCK_TXS + 1 transactions (the bound off by one)",
        "spec/blocks.py",
        (
            (
                'wire.BoundedArray(wire.any_bytes(MAX_TX_BYTES), MAX_BLOCK_TXS, "BLK-11")',
                'wire.BoundedArray(wire.any_bytes(MAX_TX_BYTES), MAX_BLOCK_TXS + 1, "BLK-11")',
            ),
        ),
    ),
    Mutant(
        "substation-takes-parent-zone",
        "INV-14 grid is a tree of zones",
        "spec/grid.py",
        (
            (
                "zone = body.node if body.kind is NodeKind.SUBSTATION else parent.zone",
                "zone = parent.zone",
            ),
        ),
    ),
    Mutant(
        "self-trade-allowed",
        "ORD-03 no self-trade",
        "spec/orders.py",
        (
            (
                'require(not has_open_order(state, sender, body.zone, body.slot, Side.ASK), "ORD-03")',
                'require(True, "ORD-03")',
            ),
        ),
    ),
    Mutant(
        "attestor-may-trade",
        "ROL-01 / INV-20 separation of duties",
        "spec/accounts.py",
        (('require(conflict is None, "ROL-01"', 'require(True, "ROL-01"'),),
    ),
    Mutant(
        "fee-account-trades-with-stale-refund",
        "INV-20 and INV-06: the fee account may trade, and clearing reads its balance before "
        "writing its refund",
        "spec/state.py",
        (
            (
                "    if accounts[params.fee_account] & Role.TRADER:\n"
                '        raise ValueError("the fee account must not hold the trader role")\n',
                "",
            ),
        ),
        also=(
            (
                "spec/clearing.py",
                (
                    (
                        "            buyer = state.accounts[order.owner]\n",
                        "            buyer = state.accounts[order.owner]\n"
                        "            collector = state.accounts[state.params.fee_account]\n",
                    ),
                    (
                        "            collector = state.accounts[state.params.fee_account]\n"
                        "            state = with_account(\n",
                        "            state = with_account(\n",
                    ),
                ),
            ),
        ),
    ),
    Mutant(
        "bid-without-import",
        "INV-25 open bids are backed (BID-04)",
        "spec/orders.py",
        (
            (
                'require(body.quantity_wh <= unbacked, "BID-04", f"{unbacked} Wh of import not yet bid for")',
                'require(True, "BID-04")',
            ),
        ),
    ),
    Mutant(
        "order-fee-to-nobody",
        "INV-06 money conservation (BID-06)",
        "spec/orders.py",
        (
            (
                "state, fee_account, balance=MilliSen(collector.balance + ORDER_FEE_MSEN)",
                "state, fee_account, balance=collector.balance",
            ),
        ),
    ),
    Mutant(
        "ninth-open-ask",
        "INV-26 open orders are capped (ORD-07)",
        "spec/orders.py",
        (
            (
                "open_orders_in_market(state, sender, lot.zone, body.slot) < MAX_OPEN_ORDERS_PER_MARKET,",
                "open_orders_in_market(state, sender, lot.zone, body.slot) <= MAX_OPEN_ORDERS_PER_MARKET,",
            ),
        ),
    ),
    Mutant(
        "orders-for-a-running-slot",
        "ORD-06 slot horizon",
        "spec/orders.py",
        (
            (
                "slot_end(slot) <= state.time and trading_close(state.params, slot) <= TIME_MAX_S,",
                "trading_close(state.params, slot) <= TIME_MAX_S,",
            ),
        ),
    ),
    Mutant(
        "quorum-one-third",
        "BLK-07 quorum",
        "spec/blocks.py",
        (
            (
                "require(3 * len(signers) >= 2 * len(voters)",
                "require(3 * len(signers) >= len(voters)",
            ),
        ),
    ),
    Mutant(
        "vote-time-no-catch-up",
        "TIM-02 catch-up after a halt",
        "spec/time.py",
        (
            (
                "return min(median, ledger_time + MAX_BLOCK_JUMP_S) - MAX_VOTE_SKEW_S",
                "return median - MAX_VOTE_SKEW_S",
            ),
        ),
    ),
    # Check order, window edges and bounds: bugs an independent implementation made.
    Mutant(
        "nonce-before-signature",
        "TX-04 before TX-05 (check order)",
        "spec/transactions.py",
        (
            (
                '    require(verify(signing_key(state, tx.sender), message, tx.signature), "TX-04")\n'
                '    require(tx.nonce == account.nonce and account.nonce < COUNTER_MAX, "TX-05")\n',
                '    require(tx.nonce == account.nonce and account.nonce < COUNTER_MAX, "TX-05")\n'
                '    require(verify(signing_key(state, tx.sender), message, tx.signature), "TX-04")\n',
            ),
        ),
    ),
    Mutant(
        "escrow-before-self-trade",
        "ORD-03 before BID-02 (check order)",
        "spec/orders.py",
        (
            (
                '    require(not has_open_order(state, sender, body.zone, body.slot, Side.ASK), "ORD-03")\n',
                "    escrow = body.quantity_wh * (body.max_price + zone.wheeling_fee)\n"
                "    balance = state.accounts[sender].balance\n"
                '    require(escrow <= balance, "BID-02", f"escrow {escrow}, balance {balance}")\n'
                '    require(not has_open_order(state, sender, body.zone, body.slot, Side.ASK), "ORD-03")\n',
            ),
        ),
    ),
    Mutant(
        "bid-after-trading-close",
        "ORD-02 window edge (a bid one second late)",
        "spec/orders.py",
        (
            (
                '    require(state.time < trading_close(state.params, body.slot), "ORD-02")\n'
                "    _check_horizon(state, body.slot)\n"
                '    require(not has_open_order(state, sender, body.zone, body.slot, Side.ASK), "ORD-03")\n',
                '    require(state.time <= trading_close(state.params, body.slot), "ORD-02")\n'
                "    _check_horizon(state, body.slot)\n"
                '    require(not has_open_order(state, sender, body.zone, body.slot, Side.ASK), "ORD-03")\n',
            ),
        ),
    ),
    Mutant(
        "block-txs-before-clock",
        "BLK-12 order (transactions before the clock advance)",
        "spec/blocks.py",
        (
            (
                "        after, settlement = advance_clock_settling(state, block.header.timestamp)\n"
                "        for index, tx in enumerate(block.transactions):\n"
                "            after, receipt = apply_transaction(after, tx)\n"
                "            receipts.append(receipt)\n"
                '            require(receipt.accepted, "BLK-09", f"transaction {index}: {receipt.rule_id}")\n',
                "        after = state\n"
                "        for index, tx in enumerate(block.transactions):\n"
                "            after, receipt = apply_transaction(after, tx)\n"
                "            receipts.append(receipt)\n"
                '            require(receipt.accepted, "BLK-09", f"transaction {index}: {receipt.rule_id}")\n'
                "        after, settlement = advance_clock_settling(after, block.header.timestamp)\n",
            ),
        ),
    ),
    Mutant(
        "text-decoding-lenient",
        "ENC-11 invalid UTF-8 replaced instead of rejected",
        "spec/cbor.py",
        (('return raw.decode("utf-8")\n', 'return raw.decode("utf-8", "replace")\n'),),
    ),
    Mutant(
        "undefined-read-as-null",
        "ENC-06 the simple value undefined read as null",
        "spec/cbor.py",
        (
            (
                "            if info == 22:\n                return None",
                "            if info in (22, 23):\n                return None",
            ),
        ),
    ),
    Mutant(
        "tx-size-one-over",
        "ENC-09 a transaction one byte over the size limit is read",
        "spec/transactions.py",
        (("MAX_TX_BYTES: Final = 65_536", "MAX_TX_BYTES: Final = 65_537"),),
    ),
    Mutant(
        "chain-id-65-bytes",
        "ENC-15 chain id bound (65 bytes accepted)",
        "spec/state.py",
        (("CHAIN_ID_MAX_BYTES: Final = 64", "CHAIN_ID_MAX_BYTES: Final = 65"),),
    ),
    Mutant(
        "retired-meter-still-attested",
        "INV-27 readings follow the meter's schedule (MTR-11)",
        "spec/attestation.py",
        (
            (
                'require(in_service(meter, reading.slot), "MTR-11", f"slot {reading.slot}")',
                'require(True, "MTR-11", f"slot {reading.slot}")',
            ),
        ),
    ),
    Mutant(
        "prune-forgets-demand",
        "PRN-02 pruning leaves the slot's demand rows in the state",
        "spec/pruning.py",
        (
            (
                "        demand=state.demand.remove_many(indexes.slot_demand(state, slot)),\n",
                "",
            ),
        ),
    ),
    Mutant(
        "attestation-ignores-schedule",
        "INV-27 readings follow the meter's schedule (ATT-11, MTR-13)",
        "spec/attestation.py",
        (("scheduled = encumbrance_at(meter, reading.slot)", "scheduled = meter.encumbrance"),),
    ),
    Mutant(
        "encumbrance-change-backdated",
        "INV-27 readings follow the meter's schedule (MTR-09)",
        "spec/meter_lifecycle.py",
        (('require(from_slot >= now, "MTR-09",', 'require(from_slot >= now - 1, "MTR-09",'),),
    ),
    Mutant(
        "scheduled-change-folded-a-second-early",
        "INV-27 readings follow the meter's schedule (MTR-10)",
        "spec/meter_lifecycle.py",
        (("state.time >= closed_at,", "state.time >= closed_at - 1,"),),
    ),
    Mutant(
        "replacement-measures-from-slot-zero",
        "INV-27 one meter per slot of a point (MTR-14)",
        "spec/meters.py",
        (
            (
                "return Slot(max((r.retired_from or 0 for r in retired_twins), default=0))",
                "return Slot(0)",
            ),
        ),
    ),
    Mutant(
        "settlement-expires-only-unsold",
        "SET-02 a lot record's expired is the lot's unsold Wh at pruning, not its expired Wh",
        "spec/settlement.py",
        (
            (
                "            expired_wh=lot.expired_wh,\n",
                "            expired_wh=lot.unsold_wh,\n",
            ),
        ),
    ),
    Mutant(
        "correction-of-offered-lot",
        "INV-03 / PRE-06 every ask names its lot (COR-03)",
        "spec/corrections.py",
        (('require(not asks, "COR-03",', 'require(True, "COR-03",'),),
    ),
    Mutant(
        "correction-sets-demand-to-the-reading",
        "INV-28 demand is the sum of its readings (COR-06)",
        "spec/corrections.py",
        (
            (
                "imported = demand.imported_wh - old.imported_wh + body.imported_wh",
                "imported = body.imported_wh",
            ),
        ),
    ),
    Mutant(
        "settlement-root-unchecked",
        "BLK-15 the header's settlement root is not compared",
        "spec/blocks.py",
        (
            (
                '        require(settlement_root(settlement) == block.header.settlement_root, "BLK-15")\n',
                "",
            ),
        ),
    ),
    Mutant(
        "correction-ignores-open-bids",
        "INV-25 open bids are backed (COR-05)",
        "spec/corrections.py",
        (
            (
                "held = demand.claimed_wh + open_bid_wh(state, meter.owner, meter.zone, body.slot)",
                "held = demand.claimed_wh",
            ),
        ),
    ),
    Mutant(
        "stale-slot-loaded",
        "PRE-10 a pre-state holding records of a closed slot is loaded",
        "spec/prestate.py",
        (
            (
                "                trading_close(state.params, slot) > state.time,\n",
                "                True,\n",
            ),
        ),
    ),
)
MUTANTS = MUTANTS + VALIDATOR_SET_MUTANTS


def make_copy(destination: Path) -> None:
    """The spec, the scenario driver and the spec's tests, as they are in the working tree."""
    for package in ("spec", "kwhledger", "conformance_tests"):
        shutil.copytree(
            ROOT / package,
            destination / package,
            ignore=shutil.ignore_patterns("__pycache__", "vectors", "*.cbor", "SHA256SUMS"),
        )
    shutil.copy2(ROOT / "pyproject.toml", destination / "pyproject.toml")
    (destination / "tests").mkdir()
    for name in [*SUPPORT, *TESTS]:
        shutil.copy2(ROOT / "tests" / name, destination / "tests" / name)
    with (destination / "tests" / "conftest.py").open("a") as conftest:
        conftest.write(CONFTEST_TAIL)


def apply_patch(copy: Path, mutant: Mutant) -> None:
    for file, patch in ((mutant.file, mutant.patch), *mutant.also):
        path = copy / file
        text = path.read_text()
        for old, new in patch:
            count = text.count(old)
            if count != 1:
                raise LookupError(f"{mutant.name}: {old!r} occurs {count} times in {file}")
            text = text.replace(old, new)
        path.write_text(text)


def environment(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy)
    env.pop("PYTEST_ADDOPTS", None)
    return env


def verify_import(copy: Path) -> None:
    """``import spec`` in the copy's environment must load the copy, not the installed tree."""
    probe = (
        "import spec, conformance_tests.scenario; "
        "print(spec.__file__); print(conformance_tests.scenario.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=copy,
        env=environment(copy),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for loaded in out:
        if not Path(loaded).resolve().is_relative_to(copy.resolve()):
            raise RuntimeError(f"the copy is not what is imported: {loaded}")


def run_tests(copy: Path) -> tuple[int, list[str], float]:
    """Run the copied spec tests; return pytest's exit code, the failing tests and the time."""
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider",
            "--continue-on-collection-errors",
            "--hypothesis-profile=mutants", *[f"tests/{name}" for name in TESTS],
        ],
        cwd=copy,
        env=environment(copy),
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", result.stdout, flags=re.MULTILINE)
    if result.returncode not in (0, 1):
        failed.append(
            f"pytest exit {result.returncode}: {result.stdout[-300:]}{result.stderr[-300:]}"
        )
    return result.returncode, failed, time.monotonic() - started


def short(test_id: str) -> str:
    """``tests/test_spec_money.py::test_x[param]`` -> ``money::test_x``; a module that could not
    even be collected -> ``money (collection)``."""
    module, _, name = test_id.partition("::")
    area = Path(module).stem.removeprefix("test_spec_")
    return f"{area}::{name.split('[')[0]}" if name else f"{area} (collection)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", help="run just this mutant (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copies")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if not args.only or m.name in args.only]
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="kwh-mutants-") as scratch:
        base = Path(scratch) / "baseline"
        make_copy(base)
        verify_import(base)
        code, failed, seconds = run_tests(base)
        print(f"baseline: pytest exit {code} in {seconds:.0f} s", flush=True)
        if code != 0:
            print("the unmutated copy fails; fix that first:", *failed, sep="\n  ")
            return 2
        for mutant in chosen:
            copy = Path(scratch) / mutant.name
            make_copy(copy)
            try:
                apply_patch(copy, mutant)
            except LookupError as problem:
                rows.append((mutant.name, mutant.breaks, "PATCH FAILED", str(problem)))
                continue
            verify_import(copy)
            code, failed, seconds = run_tests(copy)
            caught = "yes" if failed else "NO"
            names = sorted({short(t) for t in failed})
            shown = ", ".join(names[:6]) + (f" (+{len(names) - 6} more)" if len(names) > 6 else "")
            rows.append((mutant.name, mutant.breaks, caught, shown))
            print(f"{mutant.name}: caught {caught} in {seconds:.0f} s", flush=True)
            if not args.keep:
                shutil.rmtree(copy)
        if args.keep:
            kept = Path(tempfile.mkdtemp(prefix="kwh-mutants-kept-"))
            shutil.copytree(scratch, kept, dirs_exist_ok=True)
            print(f"copies kept in {kept}")
    print()
    print("| mutant | invariant / rule broken | caught | failing tests |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    missed = [r[0] for r in rows if r[2] != "yes"]
    print(f"\n{len(rows) - len(missed)} of {len(rows)} mutants caught")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
