"""What the Z3 model leaves out, and what covers those rules instead.

The model (``proofs/transitions/``) works on decoded transactions and abstract states: it has no
bytes, no hashes and no signatures. Rules about those are outside it, and so is determinism across
implementations, which is a property of code, not of one transition. The proof report and the audit
show each rule below as *outside the model* with the reason, never as proved; an invariant listed
here is not counted as an invariant without a proof.

Each entry is a rule id or an area prefix (``ENC-``) and the sentence saying what covers it.
"""

from __future__ import annotations

from typing import Final

OUTSIDE_MODEL: Final[tuple[tuple[str, str], ...]] = (
    (
        "ENC-",
        "Byte-level encoding is outside the model (it reasons about decoded values). Covered by "
        "the strict decoder's tests (tests/test_cbor.py, tests/test_spec_encoding.py), the CDDL "
        "check (tests/test_cddl.py) and the vectors that target each ENC rule.",
    ),
    (
        "SIG-",
        "Signature validity is outside the model (it assumes an accepted transaction's sender "
        "signed it). Covered by tests/test_spec_crypto.py and the vectors flagged ed25519.",
    ),
    (
        "TX-04",
        "Signature validity is outside the model (it assumes an accepted transaction's sender "
        "signed it). Covered by tests/test_spec_crypto.py and the vectors flagged ed25519.",
    ),
    (
        "TX-01",
        "The envelope's chain id and kind are checked before the model's transitions begin. "
        "Covered by the spec's tests and the vectors that target the rule.",
    ),
    (
        "TX-02",
        "The envelope's chain id and kind are checked before the model's transitions begin. "
        "Covered by the spec's tests and the vectors that target the rule.",
    ),
    (
        "HSH-",
        "Hashes and roots are outside the model (it has no bytes). Covered by the state roots "
        "every vector fixes step by step, run against two implementations.",
    ),
    (
        "BLK-",
        "Block headers, votes and roots are outside the model, which proves each transaction "
        "and the clock advance (BLK-04, BLK-12 are cited where they bound a transition). Covered "
        "by tests/test_spec_blocks.py and the vectors that target each BLK rule.",
    ),
    (
        "KEY-03",
        "The new key's proof of possession is a signature check, outside the model like TX-04 "
        "(an accepted rotation is assumed proved by the new key). Covered by the vectors "
        "keys/KEY-03/* (proofs for another nonce, account or chain, and keys not held) and "
        "tests/test_spec_keys.py.",
    ),
    (
        "KEY-04",
        "The model does not hold the validator set or its pending changes; it accepts every "
        "rotation KEY-04 would refuse, so its proofs cover the spec's rotations too. Covered by "
        "the vectors keys/KEY-04/* and tests/test_spec_keys.py.",
    ),
    (
        "KEY-06",
        "Which key verifies a validator's block votes is a matter of blocks and votes, outside "
        "the model like BLK-06. Covered by the vectors keys/KEY-06/* and "
        "keys/valid/validator-rotation-across-blocks, and tests/test_spec_keys.py.",
    ),
    (
        "MTR-14",
        "A new meter's first slot (the last retirement slot of the retired meters of its source "
        "at its service point) is an opaque input of the model, as MTR-06's search is (axiom "
        "POINT): a new meter has no readings, so INV-27 holds whatever it is. Covered by the "
        "vectors meter_lifecycle/MTR-14/* and meter_lifecycle/MTR-06/replacement-before-"
        "retirement, tests/test_spec_meter_lifecycle.py and the stateful test, which checks the "
        "first slot of every replacement it registers.",
    ),
    (
        "PRN-01",
        "The model prunes at the end of a clock advance (proofs/transitions/clock.py, prune) for "
        "INV-24 only, proved for every transition and the advance (obligations */INV-24); which "
        "slots are due and their ascending order are covered by tests/test_spec_pruning.py and "
        "the settlement vectors, whose post-state roots and settlement roots run against two "
        "implementations.",
    ),
    (
        "PRN-02",
        "The model clears the exists flags of a pruned slot's readings, lots, orders and markets "
        "(INV-24); demand rows have no flag in the model, and that nothing else changes is a "
        "statement about whole states. Covered by tests/test_spec_pruning.py (the pruned state "
        "equals the cleared state without the slot's rows), check_state after every step of "
        "tests/test_spec_stateful.py and the settlement vectors.",
    ),
    (
        "SET-",
        "Settlement records, their leaves, root and inclusion proofs are bytes and hashes, "
        "outside the model. Covered by tests/test_spec_settlement.py (the worked example of "
        "RULEBOOK 9.10, every audit path of trees of 1 to 17 leaves), tests/test_cddl.py and "
        "the settlement root every tick and block step of a vector pins.",
    ),
    (
        "INV-22",
        "Stated over the settlement records a clock advance emits, which the model does not "
        "build; it follows from INV-01 and INV-03 (proved) at the state the records are made "
        "from. Checked by spec.invariants.check_settlement after every clock advance of "
        "tests/test_spec_stateful.py and of every conformance vector as it is generated, and "
        "by the seeded bug settlement-expires-only-unsold (tests/spec_mutants.py).",
    ),
    (
        "INV-23",
        "Stated over the settlement records, which the model does not build; it follows from "
        "INV-09 and CLR-06 (proved) at the cleared state the records are made from. Checked by "
        "spec.invariants.check_settlement after every clock advance of "
        "tests/test_spec_stateful.py and of every conformance vector as it is generated, and "
        "by tests/test_spec_pruning.py on corrupted records.",
    ),
    (
        "INV-15",
        "Determinism across implementations is a property of code, not of one transition: it "
        "is NOT proved. Covered by the vectors, which fix every output byte and state root and "
        "run against two independent implementations, and by the differential check. The model "
        "proves parts of it about the auction (the result does not depend on arrival order or "
        "on ids beyond ties), in the obligations that cite INV-15.",
    ),
)


def outside_model(rule_id: str) -> str | None:
    """Why ``rule_id`` is outside the model and what covers it, or None if it is inside."""
    exact = [why for key, why in OUTSIDE_MODEL if key == rule_id]
    if exact:
        return exact[0]
    for key, why in OUTSIDE_MODEL:
        if key.endswith("-") and rule_id.startswith(key):
            return why
    return None
