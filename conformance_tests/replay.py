"""Replay the suite through the executable spec in this process (for coverage measurement).

``coverage run --branch --source=spec -m conformance_tests.replay [SELECTOR ...]`` runs every
(selected) vector's steps with ``spec_adapter.apply_step`` and exits non-zero at the first
outcome that differs from the vector. The protocol, processes and parallelism of
``kwhledger conform`` are left out so that coverage sees the spec itself.
"""

from __future__ import annotations

import sys
import time

from conformance_tests.runner import default_suite_dir, load_vectors
from conformance_tests.spec_adapter import apply_step, load_state, state_root


def main(selectors: list[str]) -> int:
    started = time.perf_counter()
    vectors = load_vectors(default_suite_dir(), selectors)
    for vector in vectors:
        state = load_state(vector.pre_state)
        for index, (step, expected) in enumerate(vector.steps):
            state, outcome = apply_step(state, step)
            if outcome != expected:
                print(f"{vector.id} step {index}: expected {expected}, got {outcome}")
                return 1
        if state_root(state) != vector.post_state_root:
            print(f"{vector.id}: post-state root differs")
            return 1
    elapsed = time.perf_counter() - started
    print(f"{len(vectors)} vectors replayed in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
