"""The reference node against the published conformance vectors, and its runtime independence.

The full suite runs with ``kwhledger conform --impl "kwhledger adapter reference"``; here every
fourth vector goes through the reference's adapter implementation in-process (each step's code,
rule and root, the block receipts, the post-state), which keeps the default test run short.
"""

from __future__ import annotations

import subprocess
import sys

from conformance_tests.runner import default_suite_dir, load_vectors
from reference.adapter import ReferenceImplementation


def test_reference_passes_a_sample_of_the_vectors() -> None:
    suite = default_suite_dir()  # the suite is committed: a missing one fails, never skips
    vectors = load_vectors(suite)[::4]
    assert len(vectors) > 100
    implementation = ReferenceImplementation()
    failures = []
    for vector in vectors:
        result = implementation.run_vector(vector.pre_state, [step for step, _ in vector.steps])
        for index, ((step, expected), got) in enumerate(
            zip(vector.steps, result.steps, strict=True)
        ):
            if (got.code, got.rule, got.root) != (expected.code, expected.rule, expected.root) or (
                step.kind == "block" and got.block_receipt != expected.block_receipt
            ):
                failures.append(f"{vector.id} step {index}")
        if result.post_state() != vector.post_state:
            failures.append(f"{vector.id} post-state")
    assert failures == []


def test_the_reference_runs_without_the_spec_in_the_process() -> None:
    """Importing the node, its adapter (with the protocol loop) and its tools loads no ``spec``."""
    code = (
        "import sys\n"
        "import reference.adapter, reference.node, reference.simulate, reference.bench, "
        "reference.plot, reference.devchain\n"
        "import conformance_tests.adapter\n"
        "loaded = [m for m in sys.modules if m == 'spec' or m.startswith('spec.')]\n"
        "assert loaded == [], loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
