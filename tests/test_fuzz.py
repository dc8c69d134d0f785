"""``kwhledger fuzz``: a planted divergence is found, shrunk and written as a vector that fails the
buggy adapter and passes the spec's; an honest adapter shows no divergence."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conformance_tests import fuzz, mutation, runner
from conformance_tests.vector import read_vector
from kwhledger.cli import main


def adapter_command(which: str, copy: Path | None = None) -> str:
    """An adapter as a child process; with ``copy``, the packages it imports come from there
    (``-P``: the working directory is not put ahead of PYTHONPATH)."""
    command = f"{shlex.quote(sys.executable)} -P -m kwhledger.cli adapter {which}"
    return f"env PYTHONPATH={shlex.quote(str(copy))} {command}" if copy else command


@pytest.fixture(scope="module")
def buggy_reference(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The reference node with one bug planted: cancelling an order leaves it in the index of
    open sides, so the owner's later bid in that market is refused as a self-trade (ORD-03)."""
    copy = tmp_path_factory.mktemp("buggy")
    mutation.make_copy(copy)
    (bug,) = [m for m in mutation.REFERENCE_MUTANTS if m.name == "ref-cancel-keeps-open-side"]
    mutation.apply_patch(copy, bug)
    return adapter_command("reference", copy)


def test_a_planted_divergence_is_found_shrunk_and_written_as_a_failing_vector(
    buggy_reference: str, tmp_path: Path
) -> None:
    out = tmp_path / "divergence.cbor"
    # In a child process: what a seed draws depends on the modules loaded so far (Hypothesis mixes
    # in constants from every imported local module), so only a fresh process makes the campaign
    # the one a user running this command gets.
    command = ["fuzz", "--impl", buggy_reference, "--seed", "0", "--count", "600", "--out"]
    found = subprocess.run(
        [sys.executable, "-m", "kwhledger.cli", *command, str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 1, f"the planted bug was not found: {found.stdout}{found.stderr}"
    vector = read_vector(out.read_bytes())
    assert vector.id == "fuzz/seed-0"
    # Shrunk: a cancel of an ask and its owner's bid in the same market are all it takes, plus
    # at most one earlier order that the shrinker keeps because the cancel names its order by id.
    assert len(vector.steps) <= 5
    assert runner.run_suite(buggy_reference, [vector]).count("fail") == 1
    assert runner.run_suite(adapter_command("spec"), [vector]).ok
    assert runner.run_suite(adapter_command("reference"), [vector]).ok
    # conform --vector replays it.
    assert main(["conform", "--quiet", "--vector", str(out), "--impl", buggy_reference]) == 1
    assert (
        main(["conform", "--quiet", "--vector", str(out), "--impl", adapter_command("spec")]) == 0
    )


def test_two_implementations_against_each_other(buggy_reference: str, tmp_path: Path) -> None:
    # A child process, for the reason given above.
    impls = ["--impl", buggy_reference, "--impl", adapter_command("spec")]
    budget = ["--seed", "4", "--count", "600", "--out", str(tmp_path / "divergence.cbor")]
    found = subprocess.run(
        [sys.executable, "-m", "kwhledger.cli", "fuzz", *impls, *budget],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 1, f"the planted bug was not found: {found.stdout}{found.stderr}"
    assert "impl2" in found.stdout + found.stderr


def test_the_honest_reference_shows_no_divergence() -> None:
    campaign = fuzz.fuzz([adapter_command("reference")], seed_value=0, max_examples=30)
    assert campaign.finding is None
    assert campaign.examples == 30
    # Scenarios lean towards acceptance: a good share of their steps is accepted.
    assert campaign.accepted_steps >= campaign.steps // 3 > 0


def test_shrinking_renumbers_nonces_of_later_transactions() -> None:
    """Removing an accepted transaction re-signs its sender's later ones with the nonce lowered,
    so they stay acceptable."""
    state = fuzz.base_states()[0]
    ledger_nonce = int(state.accounts[fuzz.key_of("bob")].nonce)
    steps = [fuzz.Step("tx", input=_transfer(state, "bob", ledger_nonce + i)) for i in range(3)]
    draft = fuzz.replay(state, steps)
    assert [o.code for _, o in draft.steps] == [0, 0, 0]
    shorter = fuzz.replay(state, fuzz.without(draft, 0, 1))
    assert [o.code for _, o in shorter.steps] == [0, 0]


def _transfer(state: fuzz.State, sender: str, nonce: int) -> bytes:
    body = {0: fuzz.key_of("alice"), 1: 1}
    return fuzz.make_transaction(
        fuzz.seed_of(sender), state.params.chain_id, fuzz.Kind.TRANSFER, nonce, body
    )
