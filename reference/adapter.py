"""The reference node behind the conformance adapter protocol (``kwhledger adapter reference``).

``ReferenceImplementation.run_vector`` loads a vector's pre-state with the reference's own strict
decoder, applies its steps (transactions, blocks, clock advances) with the reference ledger and
reports each step's code, rule and state root. The protocol loop itself is the conformance
suite's reusable one (``conformance_tests.adapter.serve``), which depends on cbor2 only; nothing
here or there imports the executable spec.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, BinaryIO, Final

from reference.cbor import decode_strict, encode
from reference.errors import Rejected
from reference.ledger import Ledger, decode_state, encode_state
from reference.lthash import LtHash
from reference.settlement import records_root

EMPTY_SETTLEMENT_ROOT: Final = records_root([])
SETTLING_KINDS: Final = ("block", "tick")
"""The steps that advance the clock, and so report the settlement root of what they pruned."""

NAME: Final = "kwhledger-reference"
VERSION: Final = "2.0.0"
MAX_STATE_BYTES: Final = 64 * 1024 * 1024
MAX_STATE_ITEMS: Final = 2**22
"""The item budget of a state encoding (ENC-16), as the rule book gives it."""


def rows_root(value: Any) -> bytes:
    """HSH-01 over the rows of a decoded state encoding, without loading them into a ledger."""
    lthash = LtHash()
    for table in range(9):
        for key, record in value[table]:
            lthash.add(encode([table, key, record]))
    return lthash.root()


def load_state(data: bytes) -> Ledger:
    """A vector's pre-state (canonical state encoding)."""
    return decode_state(decode_strict(data, MAX_STATE_BYTES, max_items=MAX_STATE_ITEMS))


def apply_step(ledger: Ledger, kind: str, data: bytes | None, time: int | None) -> tuple[Any, ...]:
    """One step: (code, rule id, root after, block receipt or None, settlement root or None).

    A block or tick reports the settlement root of what its clock advance settled (the empty
    root when it settled nothing or was rejected); a transaction reports none."""
    if kind == "tx":
        assert data is not None
        receipt = ledger.apply_tx(data)
        return receipt.code, receipt.rule_id, ledger.state_root(), None, None
    if kind == "block":
        assert data is not None
        result = ledger.apply_block(data)  # a rejected block's records are rolled back
        block_receipt = {
            0: result.code,
            1: result.rule_id,
            2: [{0: r.tx_id, 1: r.code, 2: r.rule_id} for r in result.receipts],
        }
        settled = ledger.settlement_root()
        return result.code, result.rule_id, ledger.state_root(), block_receipt, settled
    if kind != "tick" or time is None:
        raise ValueError(f"unknown step {kind!r}")
    ledger.settlement = []
    try:
        ledger.advance_clock(time)
    except Rejected as rejection:
        return rejection.code, rejection.rule_id, ledger.state_root(), None, EMPTY_SETTLEMENT_ROOT
    return 0, None, ledger.state_root(), None, ledger.settlement_root()


class ReferenceImplementation:
    """``conformance_tests.adapter.Implementation`` backed by the reference ledger."""

    name: str = NAME
    version: str = VERSION
    capabilities: Sequence[str] = ("tx", "block", "tick", "post_state")

    def run_vector(self, pre_state: bytes, steps: Sequence[Any]) -> Any:
        from conformance_tests.adapter import StepResult, VectorResult

        try:
            ledger = load_state(pre_state)
        except Rejected as rejection:
            if not rejection.rule_id.startswith("PRE-"):
                raise
            # Not loaded (FORMAT.md section 3.2): every step reports the rule; the root stays
            # the pre-state's, computed from its rows as they are.
            root = rows_root(decode_strict(pre_state, MAX_STATE_BYTES, max_items=MAX_STATE_ITEMS))
            refused = tuple(
                StepResult(
                    rejection.code,
                    rejection.rule_id,
                    root,
                    settlement_root=EMPTY_SETTLEMENT_ROOT if step.kind in SETTLING_KINDS else None,
                )
                for step in steps
            )
            return VectorResult(refused, root, lambda: pre_state)
        results = []
        for step in steps:
            code, rule, root, block_receipt, settled = apply_step(
                ledger, step.kind, step.input, step.time
            )
            results.append(StepResult(code, rule, root, block_receipt, settled))
        return VectorResult(tuple(results), ledger.state_root(), lambda: encode_state(ledger))


def serve(stdin: BinaryIO, stdout: BinaryIO) -> int:
    """Speak the adapter protocol on ``stdin``/``stdout`` until shutdown or end of input."""
    from conformance_tests.adapter import serve as protocol_loop

    return protocol_loop(ReferenceImplementation(), stdin, stdout)
