"""The conformance suite generator: every vector, computed by the executable spec.

Run it with ``kwhledger vectors generate --out DIR``. The output is a pure function of this file
and the spec: no clock, no unseeded randomness (``SEED`` feeds every random choice), so two runs
give identical bytes.

Completeness is built in, not hoped for:

- every negative vector is made by ``Suite.negative`` from a defective input and its *twin*, the
  same input with that one defect repaired; the generator checks that the defective input is
  rejected by exactly the rule claimed and that the twin is accepted (or, where no accepted twin
  can exist, passes that rule and is rejected by a later one in the rule book's check order);
- after generation, ``check_completeness`` fails unless every rule id, every rejection code and
  every lifecycle edge (``spec.lifecycles``) is exercised by some vector;
- every reachable post-state passes ``spec.invariants.check_state``.

The shared machinery (``Suite``, builders of inputs and pre-states) is in
``conformance_tests.suite``; each group of vectors is a module of ``conformance_tests.groups``
named after the area of ``vectors/`` it writes, registered by one line in ``GROUPS``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final

from conformance_tests.groups import (
    account_grid_meter,
    attest,
    block,
    block_time,
    checks,
    claim_cap,
    clearing,
    clearing_price,
    clock,
    corrections,
    encoding,
    encoding_edges,
    hostile,
    keys,
    lifecycle,
    meter_encumbrance,
    meter_lifecycle,
    money,
    order,
    order_cost,
    outstanding,
    pre,
    roles,
    scenario,
    schema,
    sequence,
    signature,
    tx,
    witnesses,
)
from conformance_tests.groups import replay as replay_group
from conformance_tests.groups import settlement as settlement_group
from conformance_tests.groups import settlement_order as settlement_order_group
from conformance_tests.groups import time_bound as time_group
from conformance_tests.groups import validators as validators_group
from conformance_tests.suite import SEED, GenerationError, Suite
from conformance_tests.vector import FORMAT_VERSION, Vector, vector_path
from spec.cbor import encode
from spec.lifecycles import edge_labels
from spec.rules import RULES, RuleKind
from spec.version import SPEC_VERSION

__all__ = ["GROUPS", "GenerationError", "Suite", "build_suite", "generate", "write_suite"]

SUITE_NAME: Final = "kwhledger-conformance"
SUITE_VERSION: Final = "2.0.0"


# --- Suite assembly, completeness, files -------------------------------------------------------

GROUPS: Final[tuple[Callable[[Suite], None], ...]] = (
    tx.group_transactions,
    account_grid_meter.group_accounts_grid_meters,
    attest.group_attestation,
    order.group_orders,
    order_cost.group_orders_cost,
    money.group_money,
    encoding.group_encoding,
    schema.group_schemas,
    block.group_blocks,
    clock.group_clock,
    clearing.group_clearing,
    claim_cap.group_claim_cap,
    claim_cap.group_fee_account_buyer,
    lifecycle.group_lifecycles,
    scenario.group_block_scenarios,
    scenario.group_village_day,
    roles.group_roles,
    outstanding.group_outstanding,
    meter_encumbrance.group_meters,
    meter_lifecycle.group_meter_lifecycle,
    corrections.group_corrections,
    checks.group_check_order,
    signature.group_signatures,
    sequence.group_sequences,
    settlement_group.group_settlement,
    settlement_order_group.group_settlement_order,
    encoding_edges.group_encoding_edges,
    clearing_price.group_clearing_price,
    witnesses.group_witnesses,
    hostile.group_hostile,
    pre.group_prestate,
    replay_group.group_replay,
    replay_group.group_block_authority,
    validators_group.group_validators,
    time_group.group_time_bound,
    block_time.group_block_time,
    keys.group_keys,
    keys.group_revoke,
)


def build_suite() -> Suite:
    """Every vector, checked one by one and then for completeness."""
    suite = Suite({})
    for group in GROUPS:
        group(suite)
    check_completeness(suite.vectors.values())
    return suite


def check_completeness(vectors: Iterable[Vector]) -> None:
    """Raise unless every rule, every rejection code and every lifecycle edge is exercised."""
    vectors = list(vectors)
    rules = {r for v in vectors for r in v.rules}
    codes = {o.code for v in vectors for _, o in v.steps}
    edges = {t for v in vectors for t in v.transitions}
    missing_rules = [r.id for r in RULES if r.id not in rules]
    missing_codes = [r.id for r in RULES if r.kind is RuleKind.VALIDITY and r.code not in codes]
    missing_edges = [e for e in edge_labels() if e not in edges]
    problems = []
    if missing_rules:
        problems.append(f"rules without vectors: {missing_rules}")
    if missing_codes:
        problems.append(f"rejection codes without vectors: {missing_codes}")
    if missing_edges:
        problems.append(f"lifecycle edges without vectors: {missing_edges}")
    twins = {v.id: v for v in vectors}
    for v in vectors:
        if v.twin is not None and v.twin not in twins:
            problems.append(f"{v.id}: twin {v.twin} missing")
    if problems:
        raise GenerationError("; ".join(problems))


def spec_version() -> str:
    """The rule book's version, from the spec itself (not from the installed package's metadata,
    which an editable install leaves at whatever version it was installed with)."""
    return SPEC_VERSION


DOCUMENTS: Final = ("ADAPTER.md", "FORMAT.md", "adapter.cddl", "vectors.cddl")
"""The documents of the suite, hashed in the manifest with the vectors (FORMAT.md section 2)."""


def rules_digest() -> str:
    """SHA-256 of the rule book as ``[[id, kind, code, statement], ...]`` (FORMAT.md section 6)."""
    table = [[r.id, r.kind.value, r.code, r.statement] for r in RULES]
    return hashlib.sha256(encode(table)).hexdigest()


def index_entry(vector: Vector, data: bytes) -> dict[str, Any]:
    return {
        "id": vector.id,
        "file": vector_path(vector.id),
        "sha256": hashlib.sha256(data).digest(),
        "rules": list(vector.rules),
        "flags": list(vector.flags),
        "steps": len(vector.steps),
        "transitions": list(vector.transitions),
    }


def write_suite(suite: Suite, out: Path) -> dict[str, bytes]:
    """Write vectors, index.cbor, manifest.cbor and SHA256SUMS under ``out``; return the files.

    Files of an earlier suite under ``out/vectors`` that are no longer generated are removed,
    so that the directory holds exactly the suite.
    """
    files: dict[str, bytes] = {}
    index = []
    for vector_id in sorted(suite.vectors):
        vector = suite.vectors[vector_id]
        data = vector.encode()
        files[vector_path(vector_id)] = data
        index.append(index_entry(vector, data))
    files["index.cbor"] = encode({"format": FORMAT_VERSION, "vectors": index})
    for name in DOCUMENTS:
        files[name] = (Path(__file__).parent / name).read_bytes()
    manifest = {
        "suite": SUITE_NAME,
        "suite_version": SUITE_VERSION,
        "format": FORMAT_VERSION,
        "spec_version": spec_version(),
        "rules_sha256": bytes.fromhex(rules_digest()),
        "seed": SEED,
        "vector_count": len(index),
        "files": {path: hashlib.sha256(data).digest() for path, data in sorted(files.items())},
    }
    files["manifest.cbor"] = encode(manifest)
    sums = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {path}\n" for path, data in sorted(files.items())
    )
    files["SHA256SUMS"] = sums.encode()
    wanted = {out / path for path in files}
    vectors_dir = out / "vectors"
    if vectors_dir.exists():
        for stale in sorted(vectors_dir.rglob("*.cbor")):
            if stale not in wanted:
                stale.unlink()
    for path, data in files.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
    return files


def generate(out: Path) -> dict[str, bytes]:
    """Build and write the whole suite."""
    return write_suite(build_suite(), out)
