"""Seeded bugs in copies of the spec and the reference node, scored against the suite and the tests.

A seeded bug (a *mutant*) is one small edit of one file of ``spec/`` or ``reference/``. For each
mutant this module copies the Python packages to a temporary directory, applies the edit to the
*copy* (the real tree is never touched), and runs, in a child Python whose ``import spec`` and
``import reference`` resolve to the copy (checked before anything is counted):

- the whole conformance suite in-process against the mutated implementation (the spec through
  ``conformance_tests.spec_adapter``, the reference through ``reference.adapter``), judged by the
  runner's own ``judge``; vectors that name a rule the mutant breaks run first, and the run stops
  after ``stop_after`` failing vectors (``None``: every vector runs, so every catching vector is
  named); a mutant no vector catches has run the whole suite;
- optionally the implementation's pytest files (``-x``: the first failing test is named).

Three families of mutants:

``catalogue``
    hand-written realistic bugs: the spec's in ``tests/spec_mutants.py`` (read when the tests
    folder is present, that is in a clone) and the reference's in ``REFERENCE_MUTANTS`` below;
``dropped-check``
    generated: every ``require(condition, "RULE")`` and every ``if condition: raise
    Rejected("RULE")`` of the spec and of the reference files the adapter runs, with the
    condition made vacuous (a forgotten check). They measure, rule by rule, whether some vector notices the check is gone.

A baseline (no edit) runs first and must pass every vector, or the score would mean nothing.
"""

# The patches quote lines of the reference verbatim, so some are longer than the line limit.
# ruff: noqa: E501

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

REPO: Final = Path(__file__).resolve().parent.parent
PACKAGES: Final = ("spec", "reference", "conformance_tests", "kwhledger")
RULE_ID: Final = re.compile(r"\b[A-Z]{2,3}-\d{2}\b")
CHILD_TIMEOUT_S: Final = 900.0
IMPLS: Final = ("spec", "reference")


@dataclass(frozen=True)
class Mutant:
    """One seeded bug: which implementation, which rule it breaks, and the edit."""

    name: str
    impl: str
    """``spec`` or ``reference``."""
    breaks: str
    """The rule or invariant broken, in words (rule ids in it are read by ``rules``)."""
    file: str
    """The edited file, relative to the repository root."""
    patch: tuple[tuple[str, str], ...]
    """(old, new) replacements; each ``old`` must occur exactly once in ``file``."""
    family: str = "catalogue"
    also: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    """Edits of further files, as (file, replacements), for a bug that spans two files."""

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(RULE_ID.findall(self.breaks)))


def _ref(name: str, breaks: str, file: str, *patch: tuple[str, str]) -> Mutant:
    return Mutant(name, "reference", breaks, f"reference/{file}", tuple(patch))


REFERENCE_MUTANTS: Final[tuple[Mutant, ...]] = (
    _ref(
        "ref-rotation-to-current-key",
        "KEY-02: only ids count as in use, so an account rotates to another account's current key",
        "ledger.py",
        (
            "        if key in self.accounts or key in self.key_holder:\n",
            "        if key in self.accounts:\n",
        ),
    ),
    _ref(
        "ref-votes-switch-at-once",
        "KEY-06: a rotated validator's votes are checked against its new key in the next block",
        "ledger.py",
        (
            "        if pending is not None and pending[1] == validator:\n            return pending[2]\n",
            "",
        ),
    ),
    _ref(
        "ref-operator-revokes-validator",
        "ROL-02: the operator may revoke VALIDATOR",
        "ledger.py",
        (
            "        if role != TRADER and role != ATTESTOR:\n",
            "        if role not in (TRADER, ATTESTOR, VALIDATOR):\n",
        ),
    ),
    _ref(
        "ref-text-decoding-lenient",
        "ENC-11: invalid UTF-8 in text is replaced instead of rejected",
        "cbor.py",
        ('return raw.decode("utf-8"), pos', 'return raw.decode("utf-8", "replace"), pos'),
    ),
    _ref(
        "ref-undefined-read-as-null",
        "ENC-06: the simple value undefined (0xf7) is read as null",
        "cbor.py",
        (
            "if info == 22:\n                return None, pos",
            "if info in (22, 23):\n                return None, pos",
        ),
    ),
    _ref(
        "ref-tx-size-one-over",
        "ENC-09: a transaction one byte over the size limit is read",
        "wire.py",
        ("MAX_TX_BYTES: Final = 65_536", "MAX_TX_BYTES: Final = 65_537"),
    ),
    _ref(
        "ref-cancel-keeps-open-side",
        "ORD-03 (CAN-04): a cancelled order stays in the open-sides index",
        "ledger.py",
        (
            "        count = self.open_sides[side_key] - 1\n",
            "        count = self.open_sides[side_key]\n",
        ),
    ),
    _ref(
        "ref-rollback-keeps-indexes",
        "BLK-12 all or nothing: a rejected block's rollback restores tables, not indexes",
        "ledger.py",
        (
            "            self.store_changes = {}\n        self.rebuild_indexes()\n",
            "            self.store_changes = {}\n",
        ),
    ),
    _ref(
        "ref-non-shortest-8-byte-head",
        "ENC-02: an 8-byte head holding a value in [2^16, 2^32) is accepted",
        "cbor.py",
        (
            "if argument < (24 if width == 1 else 1 << (4 * width)):",
            "if argument < (24 if width == 1 else 1 << (4 * min(width, 4))):",
        ),
    ),
    _ref(
        "ref-nonce-before-signature",
        "TX-04 before TX-05: the nonce is checked before the signature",
        "ledger.py",
        (
            "        key = account[3]\n"
            "        if signature_ok is None or key != sender:  # a verdict given from outside is about the id\n"
            "            signature_ok = verify(key, tx.signing_bytes(), tx.signature)\n"
            "        if not signature_ok:\n"
            '            raise Rejected("TX-04")\n'
            "        if tx.nonce != account[1] or account[1] >= COUNTER_MAX:\n"
            '            raise Rejected("TX-05")\n',
            "        if tx.nonce != account[1] or account[1] >= COUNTER_MAX:\n"
            '            raise Rejected("TX-05")\n'
            "        key = account[3]\n"
            "        if signature_ok is None or key != sender:  # a verdict given from outside is about the id\n"
            "            signature_ok = verify(key, tx.signing_bytes(), tx.signature)\n"
            "        if not signature_ok:\n"
            '            raise Rejected("TX-04")\n',
        ),
    ),
    _ref(
        "ref-escrow-before-self-trade",
        "ORD-03 before BID-02: the escrow is checked before the self-trade rule",
        "ledger.py",
        (
            "        mkey = zone << 30 | slot\n"
            "        if self.open_sides.get((sender, mkey, ASK)):\n"
            '            raise Rejected("ORD-03")\n',
            "        mkey = zone << 30 | slot\n"
            "        if quantity * (max_price + node[2]) > self.accounts[sender][2]:\n"
            '            raise Rejected("BID-02")\n'
            "        if self.open_sides.get((sender, mkey, ASK)):\n"
            '            raise Rejected("ORD-03")\n',
        ),
    ),
    _ref(
        "ref-bid-window-off-by-one",
        "ORD-02: a bid is accepted one second after trading closed",
        "ledger.py",
        (
            '        if self.time >= end + self.trading_close_s:\n            raise Rejected("ORD-02")\n        if end > self.time or end + self.trading_close_s > TIME_MAX:\n            raise Rejected("ORD-06")\n        mkey = zone << 30 | slot',
            '        if self.time > end + self.trading_close_s:\n            raise Rejected("ORD-02")\n        if end > self.time or end + self.trading_close_s > TIME_MAX:\n            raise Rejected("ORD-06")\n        mkey = zone << 30 | slot',
        ),
    ),
    # "ref-ask-window-off-by-one" (an ask one second after trading closed) is withdrawn in 1.0.0
    # as equivalent: at the trading close the lot has left the state (PRN-01, PRE-10 for loaded
    # states), so ASK-01 refuses such an ask before ORD-02 is reached.
    _ref(
        "ref-batch-duplicates-forgotten",
        "ATT-06: a reading repeated inside one batch is not noticed",
        "ledger.py",
        ("            if key in recorded or key in batch:", "            if key in recorded:"),
    ),
    _ref(
        "ref-attest-one-second-early",
        "ATT-04: a reading is accepted in the last second of its slot",
        "ledger.py",
        ("            if now < end:", "            if now < end - 1:"),
    ),
    _ref(
        "ref-attest-window-inclusive",
        "ATT-05: a reading is accepted at the first second after its window",
        "ledger.py",
        ("            if now >= end + window:", "            if now > end + window:"),
    ),
    _ref(
        "ref-signer-not-validator-counted",
        "BLK-06: a signature by an account that is not a validator is accepted",
        "ledger.py",
        (
            "            if validator not in voters:\n"
            '                raise Rejected("BLK-06", "not a validator")\n',
            "",
        ),
    ),
    _ref(
        "ref-vote-time-upper-median",
        "TIM-02: the upper middle of an even number of vote times instead of the lower",
        "ledger.py",
        (
            "middle = times[(len(times) - 1) // 2]",
            "middle = times[len(times) // 2]",
        ),
    ),
    _ref(
        "ref-quorum-strict",
        "BLK-07: a quorum needs more than two thirds (strict) instead of at least",
        "ledger.py",
        (
            "if 3 * len(signers) < 2 * len(voters):",
            "if 3 * len(signers) <= 2 * len(voters):",
        ),
    ),
    _ref(
        "ref-txs-before-clock",
        "BLK-12: a block's transactions are applied before its clock advance",
        "ledger.py",
        (
            "            self.advance_clock(block.header[3])\n"
            "            for index, tx in enumerate(block.txs):\n"
            "                receipt = self.apply_tx(tx, None if signature_ok is None else signature_ok[index])\n"
            "                receipts.append(receipt)\n"
            "                if receipt.code:\n"
            '                    raise Rejected("BLK-09", f"transaction {index}: {receipt.rule_id}")\n',
            "            for index, tx in enumerate(block.txs):\n"
            "                receipt = self.apply_tx(tx, None if signature_ok is None else signature_ok[index])\n"
            "                receipts.append(receipt)\n"
            "                if receipt.code:\n"
            '                    raise Rejected("BLK-09", f"transaction {index}: {receipt.rule_id}")\n'
            "            self.advance_clock(block.header[3])\n",
        ),
    ),
    _ref(
        "ref-chain-id-65-bytes",
        "ENC-15: a 65-byte chain id passes the schema",
        "wire.py",
        ("CHAIN_ID_MAX_BYTES: Final = 64", "CHAIN_ID_MAX_BYTES: Final = 65"),
    ),
    _ref(
        "ref-clearing-price-rounds-up",
        "CLR-04: the clearing price rounds (lo + hi) / 2 up",
        "ledger.py",
        ("return fills, volume, (lo + hi) // 2", "return fills, volume, (lo + hi + 1) // 2"),
    ),
    _ref(
        "ref-ration-remainder-to-last",
        "CLR-05: the rationing remainder goes to the largest ids instead of the smallest",
        "ledger.py",
        (
            "    for oid, _ in at_margin[: rest - given]:",
            "    for oid, _ in at_margin[len(at_margin) - (rest - given) :]:",
        ),
    ),
    _ref(
        "ref-claim-not-capped",
        "CLR-02: a bid fills beyond the buyer's unclaimed import",
        "ledger.py",
        (
            "            quantity = order[5] if order[5] < remaining else remaining",
            "            quantity = order[5]",
        ),
    ),
    _ref(
        "ref-refund-keeps-fee",
        "CLR-06: an unfilled bid's refund keeps back the wheeling fee",
        "ledger.py",
        (
            "                refund = order[8] - filled * settle_price - fee",
            "                refund = order[8] - filled * settle_price - fee - order[7]",
        ),
    ),
    _ref(  # withdrawn in 1.0.0 as equivalent, restored in 2.0.0 (see the spec's "expiry-skipped")
        "ref-expiry-skipped",
        "CLR-07: what a lot did not sell does not expire",
        "ledger.py",
        (
            "                lots[key] = lot - (unsold << 40) + (unsold << 160)",
            "                lots[key] = lot",
        ),
    ),
    _ref(
        "ref-block-one-transaction-too-many",
        "BLK-11: a block may hold MAX_BLOCK_TXS + 1 transactions (the bound off by one)",
        "wire.py",
        (
            '("a", ("B", MAX_TX_BYTES), MAX_BLOCK_TXS, "BLK-11")',
            '("a", ("B", MAX_TX_BYTES), MAX_BLOCK_TXS + 1, "BLK-11")',
        ),
    ),
    _ref(
        "ref-clock-clears-at-close-minus-one",
        "CLR-01: a market clears one second before trading closes",
        "ledger.py",
        (
            "while heap and (heap[0] + 1) * SLOT_SECONDS + close <= now:",
            "while heap and (heap[0] + 1) * SLOT_SECONDS + close <= now + 1:",
        ),
    ),
    _ref(
        "ref-deposit-total-not-kept",
        "MNY-04: deposits are not added to the money outstanding",
        "ledger.py",
        (
            "        self._set_balance(account, amount)\n        self.money_outstanding += amount\n",
            "        self._set_balance(account, amount)\n",
        ),
    ),
    _ref(
        "ref-transfer-overdraft-off-by-one",
        "MNY-03: a transfer may overdraw by one milli-sen",
        "ledger.py",
        (
            '        if amount > self.accounts[sender][2]:\n            raise Rejected("MNY-03")\n        self._set_balance(sender, -amount)\n        self._set_balance(to, amount)',
            '        if amount > self.accounts[sender][2] + 1:\n            raise Rejected("MNY-03")\n        self._set_balance(sender, -amount)\n        self._set_balance(to, amount)',
        ),
    ),
    _ref(
        "ref-substation-takes-parent-zone",
        "GRD-02 zones: a substation under another takes its parent's zone",
        "ledger.py",
        (
            "            zone = node if kind == SUBSTATION else parent_node[3]",
            "            zone = parent_node[3]",
        ),
    ),
    _ref(
        "ref-import-total-unbounded",
        "ATT-10: an import total above WH_MAX is accepted",
        "ledger.py",
        ("                if total > WH_MAX:", "                if total > WH_MAX + 1:"),
    ),
    _ref(
        "ref-ask-escrow-on-encumbered",
        "ASK-03: an ask on encumbered energy is accepted",
        "ledger.py",
        ('        if (self.readings[key] >> 80) & 3:\n            raise Rejected("ASK-03")\n', ""),
    ),
    _ref(
        "ref-duplicate-key-allowed",
        "ENC-05: a duplicate map key is read as out of order",
        "cbor.py",
        (
            "if encoded_key == previous:\n"
            '                    raise Rejected("ENC-05", f"duplicate key at byte {key_start}")\n'
            "                if encoded_key < previous:",
            "if encoded_key <= previous:",
        ),
    ),
    _ref(
        "ref-retired-meter-still-attested",
        "MTR-11: a retired meter is attested for slots after its retirement",
        "ledger.py",
        (
            "            if slot < meter[7] or (meter[8] is not None and slot >= meter[8]):",
            "            if slot < meter[7]:",
        ),
    ),
    _ref(
        "ref-attestation-ignores-schedule",
        "ATT-11: a reading is compared with the meter's encumbrance, not its schedule",
        "ledger.py",
        (
            "            if encumbrance != (change[1] if change is not None and slot >= change[0] else meter[6]):",
            "            if encumbrance != meter[6]:",
        ),
    ),
    _ref(
        "ref-encumbrance-change-backdated",
        "MTR-09: a change may start a slot before the current one",
        "ledger.py",
        (
            "        if from_slot < self.time // SLOT_SECONDS:",
            "        if from_slot < self.time // SLOT_SECONDS - 1:",
        ),
    ),
    _ref(
        "ref-correction-of-offered-lot",
        "COR-03: a lot that an ask named is corrected",
        "ledger.py",
        ('        if self.lot_asks.get(key):\n            raise Rejected("COR-03")\n', ""),
    ),
    _ref(
        "ref-correction-sets-demand-to-the-reading",
        "COR-06: the owner's demand becomes the corrected reading's import",
        "ledger.py",
        (
            "        total = (0 if demand_value is None else demand_value & M40) - old_imported + imported",
            "        total = imported",
        ),
    ),
    _ref(
        "ref-replacement-measures-from-slot-zero",
        "MTR-14: a replacement meter is attested for slots its retired twin measured",
        "ledger.py",
        ("                first = max(first, other[8])  # MTR-14: after every retired twin\n", ""),
    ),
    _ref(
        "ref-settle-before-clearing",
        "PRN-01: a closed slot is settled before its markets are cleared (records of open orders)",
        "ledger.py",
        (
            "        settle = self.settle_heap\n"
            "        while settle and (settle[0] + 1) * SLOT_SECONDS + close <= now:\n"
            "            self.settle_slot(heapq.heappop(settle))\n",
            "",
        ),
        (
            "        heap = self.slot_heap\n        close = self.trading_close_s\n",
            "        heap = self.slot_heap\n        close = self.trading_close_s\n"
            "        settle = self.settle_heap\n"
            "        while settle and (settle[0] + 1) * SLOT_SECONDS + close <= now:\n"
            "            self.settle_slot(heapq.heappop(settle))\n",
        ),
    ),
    _ref(
        "ref-settle-one-slot-late",
        "PRN-01: a slot is settled only once the clock is past its trading close, not at it",
        "ledger.py",
        (
            "while settle and (settle[0] + 1) * SLOT_SECONDS + close <= now:",
            "while settle and (settle[0] + 1) * SLOT_SECONDS + close < now:",
        ),
    ),
    _ref(
        "ref-settlement-root-unchecked",
        "BLK-15: a block's settlement root is not compared with what it settled",
        "ledger.py",
        (
            "            if self.settlement_root() != block.header[7]:\n"
            '                raise Rejected("BLK-15")\n',
            "",
        ),
    ),
    _ref(
        "ref-demand-records-by-index",
        "SET-01: demand records in the order of the node's account numbers, not of account ids",
        "ledger.py",
        (
            "demand_keys, key=lambda k: (account_ids[k >> 62], (k >> 30) & 0xFFFFFFFF)",
            "demand_keys",
        ),
    ),
    _ref(
        "ref-settled-record-loaded",
        "PRE-10: a pre-state row of a slot whose trading closed exactly at the state's time loads",
        "prestate.py",
        (
            "return (slot + 1) * 1800 + trading_close_s <= now",
            "return (slot + 1) * 1800 + trading_close_s < now",
        ),
    ),
)


# --- The catalogue -----------------------------------------------------------------------------


def spec_catalogue(repo: Path = REPO) -> tuple[Mutant, ...]:
    """The spec's hand-written mutants, from ``tests/spec_mutants.py`` (empty without tests/)."""
    path = repo / "tests" / "spec_mutants.py"
    if not path.is_file():
        return ()
    loaded = importlib.util.spec_from_file_location("_kwh_spec_mutants", path)
    assert loaded is not None and loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    sys.modules[loaded.name] = module  # dataclasses look their module up while it loads
    try:
        loaded.loader.exec_module(module)
    finally:
        del sys.modules[loaded.name]
    return tuple(
        Mutant(m.name, "spec", m.breaks, m.file, tuple(m.patch), also=tuple(m.also))
        for m in module.MUTANTS
    )


def _offsets(source: str) -> list[int]:
    """The offset of each line's start (for turning AST positions into string offsets)."""
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _dropped(
    source: str, edits: Iterable[tuple[str, int, int, str]], impl: str, file: str
) -> list[Mutant]:
    """Mutants from (rule id, begin, end, replacement) edits of ``source``, numbered per rule.

    A patch is text to find and replace, so the replaced text is extended line by line with what
    follows it until it occurs once in the file (two identical checks in two functions)."""
    out: list[Mutant] = []
    seen: dict[str, int] = {}
    for rule_id, begin, end, replacement in sorted(edits, key=lambda edit: edit[1]):
        stop = end
        while source.count(source[begin:stop]) != 1 and stop < len(source):
            stop = source.find("\n", stop + 1)
            stop = len(source) if stop < 0 else stop
        old = source[begin:stop]
        if source.count(old) != 1:
            continue
        seen[rule_id] = seen.get(rule_id, 0) + 1
        out.append(
            Mutant(
                f"{impl}-drop-{rule_id}-{Path(file).stem}-{seen[rule_id]}",
                impl,
                f"{rule_id} check dropped ({file})",
                file,
                ((old, replacement + source[end:stop]),),
                "dropped-check",
            )
        )
    return out


def _raise_edits(source: str, tree: ast.AST) -> list[tuple[str, int, int, str]]:
    """``if condition: raise Rejected("RULE", ...)`` -> ``if False: ...``."""
    starts = _offsets(source)
    edits = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.If) and not node.orelse and len(node.body) == 1):
            continue
        raised = node.body[0]
        if not (
            isinstance(raised, ast.Raise)
            and isinstance(raised.exc, ast.Call)
            and isinstance(raised.exc.func, ast.Name)
            and raised.exc.func.id == "Rejected"
            and raised.exc.args
            and isinstance(raised.exc.args[0], ast.Constant)
            and isinstance(raised.exc.args[0].value, str)
        ):
            continue
        begin = starts[node.test.lineno - 1] + node.test.col_offset
        end = starts[node.test.end_lineno - 1] + node.test.end_col_offset  # type: ignore[operator]
        edits.append((raised.exc.args[0].value, begin, end, "False"))
    return edits


def _require_edits(source: str, tree: ast.AST) -> list[tuple[str, int, int, str]]:
    """``require(condition, "RULE")`` -> ``require(True, "RULE")``."""
    starts = _offsets(source)
    edits = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "require"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and not (isinstance(node.args[0], ast.Constant) and node.args[0].value is True)
        ):
            condition = node.args[0]
            begin = starts[condition.lineno - 1] + condition.col_offset
            end = starts[condition.end_lineno - 1] + condition.end_col_offset  # type: ignore[operator]
            edits.append((node.args[1].value, begin, end, "True"))
    return edits


REFERENCE_CHECKED_FILES: Final = ("cbor.py", "wire.py", "ledger.py")
"""The reference files the adapter runs; the node's mempool and tools are outside the suite."""


def _dropped_checks(repo: Path, impl: str) -> list[Mutant]:
    mutants: list[Mutant] = []
    for path in sorted((repo / impl).glob("*.py")):
        if impl == "reference" and path.name not in REFERENCE_CHECKED_FILES:
            continue
        source = path.read_text()
        tree = ast.parse(source)
        edits = _require_edits(source, tree) + _raise_edits(source, tree)
        mutants += _dropped(source, edits, impl, f"{impl}/{path.name}")
    return mutants


def all_mutants(
    repo: Path = REPO, families: Sequence[str] = ("catalogue", "dropped-check")
) -> list[Mutant]:
    """Every mutant of the chosen families, catalogue first."""
    mutants: list[Mutant] = []
    if "catalogue" in families:
        mutants += [*spec_catalogue(repo), *REFERENCE_MUTANTS]
    if "dropped-check" in families:
        mutants += [*_dropped_checks(repo, "spec"), *_dropped_checks(repo, "reference")]
    return mutants


# --- Copies and patches ------------------------------------------------------------------------


def make_copy(destination: Path, repo: Path = REPO, with_tests: bool = False) -> None:
    """The Python packages (without the vector files) and, if asked, the tests folder."""
    ignore = shutil.ignore_patterns("__pycache__", "vectors", "*.cbor", "SHA256SUMS")
    for package in PACKAGES:
        shutil.copytree(repo / package, destination / package, ignore=ignore)
    shutil.copy2(repo / "pyproject.toml", destination / "pyproject.toml")
    if with_tests and (repo / "tests").is_dir():
        shutil.copytree(repo / "tests", destination / "tests", ignore=ignore)
        with (destination / "tests" / "conftest.py").open("a") as conftest:
            conftest.write(_CONFTEST_TAIL)


_CONFTEST_TAIL: Final = """

# --- added by conformance_tests/mutation.py to this temporary copy only ---
import pathlib as _pathlib

import reference as _reference
import spec as _spec
from hypothesis import Phase as _Phase

_COPY = _pathlib.Path(__file__).resolve().parent.parent
for _package in (_spec, _reference):
    assert _pathlib.Path(_package.__file__).resolve().is_relative_to(_COPY), _package.__file__
settings.register_profile(
    "seeded-bugs",
    parent=settings.get_profile("ci"),
    phases=[_Phase.explicit, _Phase.reuse, _Phase.generate],
)
"""


class PatchError(LookupError):
    """A mutant's edit does not apply to the current source."""


def apply_patch(copy: Path, mutant: Mutant) -> None:
    for file, patch in ((mutant.file, mutant.patch), *mutant.also):
        path = copy / file
        text = path.read_text()
        for old, new in patch:
            count = text.count(old)
            if count != 1:
                raise PatchError(
                    f"{mutant.name}: the text to replace occurs {count} times in {file}"
                )
            text = text.replace(old, new)
        path.write_text(text)


def _environment(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy)
    env.pop("PYTEST_ADDOPTS", None)
    return env


# --- The child: the suite in-process against the copy -----------------------------------------


def run_vectors_here(
    impl: str, suite_dir: Path, first_rules: Sequence[str], stop_after: int | None
) -> dict[str, Any]:
    """Run the suite against ``impl`` as imported in this process; return the failing ids.

    Called in the child (``python -m conformance_tests.mutation --child``), where ``spec`` and
    ``reference`` are the mutated copy.
    """
    import reference
    import spec
    from conformance_tests import runner
    from conformance_tests.adapter import result_message

    started = time.monotonic()
    vectors = runner.load_vectors(suite_dir)
    relevant = set(first_rules)
    vectors.sort(key=lambda v: (not relevant.intersection(v.rules), len(v.steps)))
    implementation: Any
    if impl == "spec":
        from conformance_tests.spec_adapter import SpecImplementation

        implementation = SpecImplementation("mutant")
    else:
        from reference.adapter import ReferenceImplementation

        implementation = ReferenceImplementation()
    failed: list[dict[str, str]] = []
    ran = 0
    for vector in vectors:
        ran += 1
        try:
            result = implementation.run_vector(vector.pre_state, [s for s, _ in vector.steps])
            problems = runner.judge(vector, result_message(vector.id, result, False))
        except Exception as problem:  # a crash of the mutated code is a caught bug
            problems = [f"{type(problem).__name__}: {problem}"[:200]]
        if problems:
            failed.append({"id": vector.id, "why": problems[0][:200]})
            if stop_after is not None and len(failed) >= stop_after:
                break
    return {
        "impl": impl,
        "loaded_from": [spec.__file__, reference.__file__],
        "vectors": len(vectors),
        "ran": ran,
        "failed": failed,
        "seconds": round(time.monotonic() - started, 2),
    }


def _child_vectors(
    copy: Path, impl: str, suite_dir: Path, rules: Sequence[str], stop_after: int | None
) -> dict[str, Any]:
    command = [
        sys.executable, "-m", "conformance_tests.mutation", "--child", impl, str(suite_dir),
        ",".join(rules), "all" if stop_after is None else str(stop_after),
    ]  # fmt: skip
    try:
        result = subprocess.run(
            command, cwd=copy, env=_environment(copy), capture_output=True, text=True,
            timeout=CHILD_TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {
            "failed": [{"id": "(timeout)", "why": f"no verdict in {CHILD_TIMEOUT_S:.0f} s"}],
            "ran": 0,
        }
    if result.returncode != 0:
        tail = (result.stderr or result.stdout)[-300:]
        return {"failed": [{"id": "(crash)", "why": tail}], "ran": 0, "error": tail}
    report: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    for loaded in report["loaded_from"]:
        if not Path(loaded).resolve().is_relative_to(copy.resolve()):
            raise RuntimeError(f"the copy is not what the child imported: {loaded}")
    return report


def _test_files(copy: Path, impl: str) -> list[str]:
    prefix = "test_spec_" if impl == "spec" else "test_reference_"
    return sorted(f"tests/{p.name}" for p in (copy / "tests").glob(f"{prefix}*.py"))


def _child_tests(copy: Path, impl: str) -> dict[str, Any]:
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-x", "-rfE", "-p", "no:cacheprovider",
            "--hypothesis-profile=seeded-bugs", *_test_files(copy, impl),
        ],
        cwd=copy, env=_environment(copy), capture_output=True, text=True, check=False,
        timeout=CHILD_TIMEOUT_S,
    )  # fmt: skip
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", result.stdout, flags=re.MULTILINE)
    if result.returncode not in (0, 1):
        failed.append(
            f"pytest exit {result.returncode}: {result.stdout[-200:]}{result.stderr[-200:]}"
        )
    return {
        "failed": failed,
        "code": result.returncode,
        "seconds": round(time.monotonic() - started, 1),
    }


# --- Scoring -------------------------------------------------------------------------------------


@dataclass
class Verdict:
    """How one mutant fared."""

    name: str
    impl: str
    family: str
    breaks: str
    rules: list[str]
    status: str = "not run"
    """caught, survived or patch-failed."""
    vectors: list[str] = field(default_factory=list)
    """Ids of catching vectors (the first ``stop_after`` of them)."""
    vector_detail: str = ""
    vectors_run: int = 0
    tests: list[str] = field(default_factory=list)
    tests_run: bool = False
    seconds: float = 0.0


def judge_mutant(
    mutant: Mutant,
    scratch: Path,
    suite_dir: Path,
    with_tests: bool,
    stop_after: int | None,
) -> Verdict:
    verdict = Verdict(mutant.name, mutant.impl, mutant.family, mutant.breaks, list(mutant.rules))
    started = time.monotonic()
    copy = Path(tempfile.mkdtemp(prefix=f"{mutant.name[:40]}-", dir=scratch))
    try:
        make_copy(copy, with_tests=with_tests)
        try:
            apply_patch(copy, mutant)
        except PatchError as problem:
            verdict.status, verdict.vector_detail = "patch-failed", str(problem)
            return verdict
        report = _child_vectors(copy, mutant.impl, suite_dir, mutant.rules, stop_after)
        verdict.vectors = [item["id"] for item in report["failed"]]
        verdict.vector_detail = report["failed"][0]["why"] if report["failed"] else ""
        verdict.vectors_run = report.get("ran", 0)
        if with_tests:
            verdict.tests_run = True
            verdict.tests = _child_tests(copy, mutant.impl)["failed"]
        verdict.status = "caught" if verdict.vectors or verdict.tests else "survived"
    finally:
        shutil.rmtree(copy, ignore_errors=True)
        verdict.seconds = round(time.monotonic() - started, 1)
    return verdict


@dataclass
class Score:
    """The whole run."""

    verdicts: list[Verdict]
    baseline: dict[str, Any]
    seconds: float
    vectors_in_suite: int
    stop_after: int | None
    with_tests: bool

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for impl in IMPLS:
            for family in ("catalogue", "dropped-check"):
                mine = [v for v in self.verdicts if v.impl == impl and v.family == family]
                if not mine:
                    continue
                out[f"{impl} {family}"] = {
                    "planted": len(mine),
                    "caught": sum(v.status == "caught" for v in mine),
                    "caught_by_vectors": sum(bool(v.vectors) for v in mine),
                    "caught_by_tests": sum(bool(v.tests) for v in mine),
                    "survivors": [v.name for v in mine if v.status == "survived"],
                    "patch_failed": [v.name for v in mine if v.status == "patch-failed"],
                }
        return out

    def rules_without_caught_mutant(self) -> list[str]:
        """Rejecting rules for which no mutant that a vector catches names the rule."""
        from spec.rules import RULES

        covered = {r for v in self.verdicts if v.vectors for r in v.rules}
        return sorted(rule.id for rule in RULES if rule.code is not None and rule.id not in covered)

    @property
    def ok(self) -> bool:
        """Every hand-written bug caught and every patch applied. A dropped check that survives is
        reported (its rule lacks a catching vector) without failing: some checks are defence in
        depth that an earlier check makes unreachable, and dropping them changes nothing."""
        return all(
            v.status == "caught" or (v.family == "dropped-check" and v.status == "survived")
            for v in self.verdicts
        )

    @property
    def strictly_ok(self) -> bool:
        return all(v.status == "caught" for v in self.verdicts)

    def to_json(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 1),
            "vectors_in_suite": self.vectors_in_suite,
            "stop_after": self.stop_after,
            "tests_run": self.with_tests,
            "baseline": self.baseline,
            "summary": self.summary(),
            "rules_without_a_vector_caught_mutant": self.rules_without_caught_mutant(),
            "mutants": [vars(v) for v in self.verdicts],
        }


def run(
    mutants: Sequence[Mutant],
    suite_dir: Path,
    with_tests: bool = False,
    stop_after: int | None = 3,
    jobs: int = 1,
    progress: Callable[[Verdict, int, int], None] | None = None,
    baseline: bool = True,
) -> Score:
    """Judge every mutant, after a baseline (the unmutated copy) that must pass every vector on
    each implementation concerned; ``baseline=False`` skips it where the suite is known to pass
    (the tests run it anyway)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kwh-seeded-") as scratch_name:
        scratch = Path(scratch_name)
        base = scratch / "baseline"
        make_copy(base)
        checked: dict[str, Any] = {}
        for impl in sorted({m.impl for m in mutants}) if baseline else ():
            report = _child_vectors(base, impl, suite_dir, (), None)
            if report["failed"] or not report.get("ran"):
                raise RuntimeError(f"the unmutated {impl} fails the suite: {report['failed'][:3]}")
            checked[impl] = {"vectors": report["ran"], "seconds": report.get("seconds")}
        shutil.rmtree(base)
        verdicts: list[Verdict] = []

        def one(mutant: Mutant) -> Verdict:
            verdict = judge_mutant(mutant, scratch, suite_dir, with_tests, stop_after)
            verdicts.append(verdict)
            if progress is not None:
                progress(verdict, len(verdicts), len(mutants))
            return verdict

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            ordered = list(pool.map(one, mutants))
    vectors = next(iter(checked.values()))["vectors"] if checked else 0
    return Score(ordered, checked, time.monotonic() - started, vectors, stop_after, with_tests)


def markdown(score: Score) -> str:
    """The score as a short report: figures per implementation and family, then every mutant."""
    lines = [
        f"Seeded bugs against {score.vectors_in_suite} vectors"
        + (" and the implementation's tests" if score.with_tests else "")
        + f", {score.seconds:.0f} s.",
        "",
        "| implementation, family | caught / planted | by vectors | by tests | survivors |",
        "|---|---|---|---|---|",
    ]
    for key, figures in score.summary().items():
        lines.append(
            f"| {key} | {figures['caught']} / {figures['planted']} | {figures['caught_by_vectors']} | "
            f"{figures['caught_by_tests'] if score.with_tests else '-'} | "
            f"{', '.join(figures['survivors'] + figures['patch_failed']) or 'none'} |"
        )
    missing = score.rules_without_caught_mutant()
    lines += [
        "",
        f"Rejecting rules without a seeded bug (among those run) that a vector catches: {', '.join(missing) or 'none'}.",
        "",
    ]
    lines += ["| mutant | breaks | caught | first catching vectors / tests |", "|---|---|---|---|"]
    for v in score.verdicts:
        caught_by = (
            ", ".join(v.vectors + [t.split("::")[-1] for t in v.tests][:3]) or v.vector_detail
        )
        lines.append(f"| {v.name} | {v.breaks} | {v.status} | {caught_by} |")
    return "\n".join(lines) + "\n"


def _child_main(argv: Sequence[str]) -> int:
    impl, suite, rules, stop = argv
    report = run_vectors_here(
        impl, Path(suite), [r for r in rules.split(",") if r], None if stop == "all" else int(stop)
    )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] != ["--child"]:
        raise SystemExit("internal entry point: use `kwhledger mutants`")
    raise SystemExit(_child_main(sys.argv[2:]))
