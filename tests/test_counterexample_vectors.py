"""A proof's counterexample under a seeded model bug becomes a conformance vector that the spec
passes and an implementation with the same slip fails.

Each seeded model bug here (``proofs/mutants.py``) drops one check; the reference node has the
same check dropped by a generated seeded bug (``conformance_tests/mutation.py``, family
``dropped-check``). The counterexample Z3 finds against the mutated model is made concrete
(``proofs/counterexample.py``), its expectations are the spec's, and the vector is replayed with
``kwhledger conform --vector`` against the reference with the analogous bug planted: it must fail
there, and pass the spec and the honest reference. Nothing here reads the expected outcome from
the implementation under test: the spec computes it, the honest reference confirms it.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conformance_tests import mutation
from conformance_tests.runner import judge_in_process
from conformance_tests.spec_adapter import SpecImplementation
from conformance_tests.vector import read_vector
from kwhledger.cli import main
from proofs import counterexample
from reference.adapter import ReferenceImplementation

ANALOGUES = {
    "withdraw-overdraft": ("withdraw/INV-07", "reference-drop-MNY-03-ledger-1", "MNY-03"),
    "ask-beyond-unsold": ("place_ask/INV-01", "reference-drop-ASK-04-ledger-1", "ASK-04"),
}
"""Seeded model bug -> (the obligation that catches it, the reference's analogous seeded bug,
the rule the spec rejects the counterexample by)."""


@pytest.mark.parametrize("model_bug", sorted(ANALOGUES))
def test_a_seeded_bugs_counterexample_is_a_vector_the_spec_passes_and_the_bug_fails(
    model_bug: str, tmp_path: Path
) -> None:
    obligation, reference_bug, rule_id = ANALOGUES[model_bug]
    case = counterexample.counterexample(obligation, model_bug, timeout_s=20)
    assert case.vector is not None, case.reason
    # The model without the bug agrees with the spec on the concrete case; the bug does not.
    assert case.model_differs == []
    assert case.spec is not None and (case.spec.accepted, case.spec.rule) == (False, rule_id)
    assert case.mutated is not None and case.mutated.accepted
    assert case.shows_bug and case.spec_passes
    # The written file is a vector in the suite's format, with real signatures on a crafted
    # pre-state that the loader accepts (PRE-01 .. PRE-09), and the honest reference passes it.
    (line,) = counterexample.write([case], tmp_path)
    path = tmp_path / counterexample.file_name(case)
    assert str(path) in line
    vector = read_vector(path.read_bytes())
    assert "crafted-pre-state" in vector.flags and "counterexample" in vector.flags
    assert vector.steps[0][1].rule == rule_id
    assert judge_in_process(SpecImplementation("test"), vector) == []
    assert judge_in_process(ReferenceImplementation(), vector) == []
    # Replayed by the CLI against the reference with the analogous bug planted, it fails.
    (bug,) = [
        m for m in mutation.all_mutants(families=("dropped-check",)) if m.name == reference_bug
    ]
    copy = tmp_path / "copy"
    mutation.make_copy(copy)
    mutation.apply_patch(copy, bug)
    adapter = f"{shlex.quote(sys.executable)} -P -m kwhledger.cli adapter reference"
    impl = ["--impl", adapter]
    replay = subprocess.run(
        [sys.executable, "-P", "-m", "kwhledger.cli", "conform", "--vector", str(path), *impl],
        cwd=copy,
        env=mutation._environment(copy),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert replay.returncode == 1, replay.stdout + replay.stderr
    # (The answer it gives instead is the bug's own: an acceptance, or a crash on the state.)
    assert f"FAIL {vector.id} " in replay.stderr
    assert main(["conform", "--quiet", "--vector", str(path), "--impl", adapter]) == 0


def test_a_counterexample_that_is_not_concrete_is_one_line_of_reasons() -> None:
    """Clearing obligations are about a whole market's book, not one transaction."""
    case = counterexample.counterexample("clear_market/INV-05", "clearing-forgets-claim")
    assert case.vector is None and not case.shows_bug
    assert "not about one transaction" in case.reason
    assert "\n" not in case.line() and case.line().startswith("clearing-forgets-claim: ")


def test_vectors_out_goes_with_mutants(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["prove", "--vectors-out", str(tmp_path), "--out", str(tmp_path)]) == 2
    assert "--vectors-out goes with --mutants" in capsys.readouterr().err


def test_counterexamples_of_a_run_without_failures_are_none(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "cex"
    command = ["prove", "--only", "withdraw/INV-07", "--jobs", "1", "--out", str(tmp_path)]
    assert main([*command, "--counterexamples", str(out)]) == 0
    assert "counterexamples of 0 failed obligations:\n(none)" in capsys.readouterr().out
    assert list(out.iterdir()) == []
    # An obligation that holds has no counterexample to write.
    assert counterexample.counterexample("withdraw/INV-07").reason == (
        "the solver finds no counterexample"
    )
