"""Every published vector against both implementations, in this process: what ``kwhledger
conform`` checks (each step's code, rule id and state root, every block receipt, the post-state
root) plus the post-state byte for byte, for the executable spec and for the reference node.

A sample would let a bug that only some vectors catch pass the default test run; the whole suite
costs about half a minute here, most of it the spec's full state-root computations in the
``scenario`` and ``clearing`` vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from conformance_tests.adapter import Implementation, Step, VectorResult
from conformance_tests.generate import spec_version
from conformance_tests.runner import default_suite_dir, judge_in_process, load_vectors
from conformance_tests.spec_adapter import SpecImplementation
from conformance_tests.vector import Vector
from reference.adapter import ReferenceImplementation


@pytest.fixture(scope="module")
def vectors() -> list[Vector]:
    return load_vectors(default_suite_dir())


@pytest.mark.parametrize("name", ["spec", "reference"])
def test_implementation_passes_every_vector(name: str, vectors: list[Vector]) -> None:
    implementation: Implementation = (
        SpecImplementation(spec_version()) if name == "spec" else ReferenceImplementation()
    )
    assert len(vectors) >= 1000
    failures = {}
    for vector in vectors:
        problems = judge_in_process(implementation, vector)
        if problems:
            failures[vector.id] = problems
    assert failures == {}


class _Skewed:
    """The reference node with one defect: every step's reported rule id is replaced."""

    name = "skewed"
    capabilities = ("tx", "block", "tick", "post_state")

    def __init__(self) -> None:
        self.inner = ReferenceImplementation()

    def run_vector(self, pre_state: bytes, steps: Sequence[Step]) -> VectorResult:
        result = self.inner.run_vector(pre_state, steps)
        skewed = tuple(replace(step, rule="TX-99") for step in result.steps)
        return replace(result, steps=skewed)


def test_a_wrong_rule_id_fails_the_in_process_judge(vectors: list[Vector]) -> None:
    vector = next(v for v in vectors if v.id == "tx/TX-04/s-plus-l")
    assert judge_in_process(ReferenceImplementation(), vector) == []
    problems = judge_in_process(_Skewed(), vector)
    assert problems and "TX-99" in problems[0]
