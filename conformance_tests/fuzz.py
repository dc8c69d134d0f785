"""Differential fuzzing of any implementation through the adapter protocol (``kwhledger fuzz``).

Hypothesis draws scenarios on a small village (``conformance_tests.random_scenarios``, the
strategy the reference node's differential test uses too): a pre-state and a sequence of steps
(signed transactions of every kind, mostly plausible so that most are accepted; now and then a
bad nonce, mutated bytes or an absurd value; clock advances; blocks, good and spoiled), each
drawn from the state the executable spec reached so far. The scenario is sent to the
implementation under test as one ``run`` request (ADAPTER.md); every step's code, rule id,
state root and block receipt, and the post-state root, are compared with the spec's (default)
or with a second implementation's answer.

A divergence is shrunk by Hypothesis to a minimal scenario and written as a vector file in the
suite's format (FORMAT.md), its expectations computed by the executable spec (never copied from an
implementation under test), so that ``kwhledger conform --vector FILE --impl CMD`` replays it.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis.errors import Flaky, HypothesisWarning

from conformance_tests.adapter import Step
from conformance_tests.random_scenarios import (
    NAMES,
    Draft,
    base_states,
    replay,
    scenarios,
    vector_of,
)
from conformance_tests.runner import AdapterFailure, AdapterProcess
from conformance_tests.scenario import key_of, seed_of
from conformance_tests.spec_adapter import state_bytes, state_root
from conformance_tests.vector import Vector
from spec.cbor import decode
from spec.errors import Rejected
from spec.transactions import Kind, make_transaction

__all__ = ["Draft", "base_states", "fuzz", "replay", "scenarios", "shrink", "without"]

SPEC: Final = "spec"


# --- Comparing answers --------------------------------------------------------------------------


class Divergence(AssertionError):
    """Two answers to one scenario differ."""


def _request(draft: Draft, vector_id: str) -> dict[str, Any]:
    return {
        "msg": "run",
        "id": vector_id,
        "pre_state": state_bytes(draft.pre_state),
        "steps": [step.to_cbor() for step, _ in draft.steps],
        "want_post_state": False,
    }


def _spec_answer(draft: Draft) -> list[tuple[Any, ...]]:
    rows = [
        (o.code, o.rule, o.root, o.block_receipt if s.kind == "block" else None)
        for s, o in draft.steps
    ]
    return [*rows, ("post", state_root(draft.state))]


def _adapter_answer(reply: dict[str, Any], draft: Draft) -> list[tuple[Any, ...]]:
    if reply.get("msg") != "result":
        raise Divergence(f"the adapter could not run the scenario: {reply.get('message')}")
    steps = reply.get("steps")
    if not isinstance(steps, list) or len(steps) != len(draft.steps):
        raise Divergence("the adapter did not return one result per step")
    rows = [
        (
            item.get("code"),
            item.get("rule"),
            item.get("root"),
            item.get("block_receipt") if s.kind == "block" else None,
        )
        for item, (s, _) in zip(steps, draft.steps, strict=True)
    ]
    return [*rows, ("post", reply.get("post_state_root"))]


def first_difference(
    draft: Draft, left: list[tuple[Any, ...]], right: list[tuple[Any, ...]], names: tuple[str, str]
) -> str | None:
    """The first step at which two answers differ, in words."""
    for index, (a, b) in enumerate(zip(left, right, strict=True)):
        if a == b:
            continue
        if a[0] == "post":
            return (
                f"post-state roots differ ({names[0]} {a[1].hex()[:16]}, {names[1]} {b[1]!r:.40})"
            )
        kind = draft.steps[index][0].kind
        what = "outcome" if a[:2] != b[:2] else ("root" if a[2] != b[2] else "block receipt")
        return (
            f"step {index} ({kind}): {what} differs: {names[0]} {_outcome(a)}, "
            f"{names[1]} {_outcome(b)}"
        )
    return None


def _outcome(row: tuple[Any, ...]) -> str:
    return "accepted" if row[0] == 0 else f"rejected {row[0]} {row[1]}"


# --- Shrinking ------------------------------------------------------------------------------------


SEEDS_BY_KEY: Final = {key_of(name): seed_of(name) for name in (*NAMES, "grace", "heidi")}


def _fields(step: Step) -> dict[int, Any] | None:
    """The fields of a well-formed transaction step with a 32-byte sender, else ``None``."""
    if step.kind != "tx" or step.input is None:
        return None
    try:
        tx: Any = decode(step.input, max_size=1 << 16)
    except Rejected:
        return None
    if not isinstance(tx, dict) or set(tx) != {0, 1, 2, 3, 4, 5} or not isinstance(tx[2], bytes):
        return None
    return tx


def _renonce(step: Step, senders: dict[bytes, int]) -> Step:
    """``step`` with its nonce lowered by the number of accepted transactions of its sender that
    were removed before it, and signed again (a step that is not a plain named-key transaction is
    returned unchanged)."""
    tx = _fields(step)
    if tx is None:
        return step
    lower = senders.get(tx[2], 0)
    seed_bytes = SEEDS_BY_KEY.get(tx[2])
    if not lower or seed_bytes is None or not isinstance(tx[3], int) or tx[3] < lower:
        return step
    try:
        again = make_transaction(seed_bytes, tx[0], Kind(tx[1]), tx[3] - lower, tx[4])
    except (ValueError, TypeError):
        return step
    return Step("tx", input=again)


def without(draft: Draft, start: int, size: int) -> list[Step]:
    """The steps of ``draft`` less ``size`` of them from ``start``; later transactions of the
    senders whose accepted transactions were removed get their nonces renumbered."""
    removed: dict[bytes, int] = {}
    for step, outcome in draft.steps[start : start + size]:
        tx = _fields(step)
        if tx is not None and outcome.code == 0:
            removed[tx[2]] = removed.get(tx[2], 0) + 1
    kept = [step for step, _ in draft.steps[:start]]
    later = [step for step, _ in draft.steps[start + size :]]
    return kept + [_renonce(step, removed) for step in later]


def shrink(
    draft: Draft, diverges: Callable[[Draft], str | None], message: str
) -> tuple[Draft, str, int]:
    """Remove steps while the scenario still diverges: first everything after the first
    difference, then chunks of 8, 4, 2 and 1 steps from the end, until nothing more goes.
    Returns the smallest diverging scenario, its difference and the number of attempts."""
    attempts = 0
    first = re.search(r"^step (\d+)", message)
    if first and int(first.group(1)) + 1 < len(draft.steps):
        candidate = replay(draft.pre_state, [s for s, _ in draft.steps[: int(first.group(1)) + 1]])
        attempts += 1
        found = diverges(candidate)
        if found:
            draft, message = candidate, found
    progress = True
    while progress:
        progress = False
        for size in (8, 4, 2, 1):
            start = len(draft.steps) - size
            while start >= 0:
                candidate = replay(draft.pre_state, without(draft, start, size))
                attempts += 1
                found = diverges(candidate)
                if found:
                    draft, message, progress = candidate, found, True
                start = min(start, len(draft.steps) - size) - 1
    return draft, message, attempts


# --- The campaign --------------------------------------------------------------------------------


@dataclass
class Finding:
    """A divergence, shrunk: the scenario and what differed."""

    draft: Draft
    message: str
    examples: int
    """Scenarios tried until the divergence was found."""
    found_with: int = 0
    """Steps of the scenario as found, before shrinking."""
    shrink_attempts: int = 0

    def vector(self, vector_id: str, description: str) -> Vector:
        """The scenario as a vector; expectations are the executable spec's."""
        return vector_of(self.draft, vector_id, description)


class _Adapter:
    """An adapter process that is restarted after it crashed or hung."""

    def __init__(self, command: str, timeout_s: float) -> None:
        self.command, self.timeout_s = command, timeout_s
        self.process: AdapterProcess | None = None
        self.hello: dict[str, Any] = {}

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.process is None:
            self.process = AdapterProcess(self.command, self.timeout_s)
            self.hello = self.process.handshake()
        try:
            return self.process.exchange(request)
        except AdapterFailure as failure:
            self.process.kill()
            self.process = None
            raise Divergence(f"{self.command}: {failure}") from None

    def close(self) -> None:
        if self.process is not None:
            self.process.close()
            self.process = None


@dataclass
class Campaign:
    """What a fuzzing run did."""

    examples: int = 0
    accepted_steps: int = 0
    steps: int = 0
    seconds: float = 0.0
    finding: Finding | None = None
    implementations: list[dict[str, Any]] = field(default_factory=list)


def fuzz(
    commands: Sequence[str],
    seed_value: int = 0,
    max_examples: int | None = 500,
    max_seconds: float | None = None,
    max_steps: int = 24,
    timeout_s: float = 30.0,
    batch: int = 50,
    progress: Callable[[Campaign], None] | None = None,
    hypothesis_shrink: bool = False,
) -> Campaign:
    """Fuzz ``commands[0]`` against the spec, or against ``commands[1]`` when there are two.

    Examples run in batches of ``batch`` with seeds ``seed_value``, ``seed_value + 1``, ... until
    ``max_examples`` examples ran or ``max_seconds`` passed (checked between batches). The first
    divergence stops the campaign; it is shrunk by removing steps (``shrink``), after
    Hypothesis's own shrinking if ``hypothesis_shrink`` (slower: it replays whole scenarios, and
    steps drawn from the state shift meaning as earlier ones go).
    """
    if not 1 <= len(commands) <= 2:
        raise ValueError("one implementation (against the spec) or two (against each other)")
    adapters = [_Adapter(command, timeout_s) for command in commands]
    names = ("impl", "impl2") if len(commands) == 2 else ("impl", SPEC)
    campaign = Campaign()
    started = time.monotonic()
    last: list[tuple[Draft, str]] = []

    def diverges(draft: Draft) -> str | None:
        request = _request(draft, "fuzz/scenario")
        try:
            answers = [_adapter_answer(adapter.run(request), draft) for adapter in adapters]
        except Divergence as failure:  # a crash, a hang or garbage is a divergence too
            return str(failure)
        if len(answers) == 1:
            answers.append(_spec_answer(draft))
        return first_difference(draft, answers[0], answers[1], names)

    counted = {"n": 0}
    try:
        round_number = 0
        while True:
            left = None if max_examples is None else max_examples - campaign.examples
            if left is not None and left <= 0:
                break
            if max_seconds is not None and time.monotonic() - started >= max_seconds:
                break
            size = batch if left is None else min(batch, left)
            counted["n"] = 0

            @seed(seed_value + round_number)
            @settings(
                max_examples=size,
                database=None,
                deadline=None,
                derandomize=False,
                verbosity=Verbosity.quiet,
                phases=[Phase.generate, Phase.shrink] if hypothesis_shrink else [Phase.generate],
                suppress_health_check=list(HealthCheck),
                report_multiple_bugs=False,
            )
            @given(scenarios(max_steps))
            def probe(draft: Draft) -> None:
                counted["n"] += 1
                campaign.steps += len(draft.steps)
                campaign.accepted_steps += sum(1 for _, o in draft.steps if o.code == 0)
                difference = diverges(draft)
                if difference is not None:
                    last.append((draft, difference))
                    raise Divergence(difference)

            try:
                with warnings.catch_warnings():  # scenarios are large; their repr is not shown
                    warnings.simplefilter("ignore", HypothesisWarning)
                    probe()
            except (Divergence, Flaky):
                draft, message = last[-1]
                campaign.examples += counted["n"]
                found_with = len(draft.steps)
                draft, message, attempts = shrink(draft, diverges, message)
                campaign.finding = Finding(draft, message, campaign.examples, found_with, attempts)
                break
            campaign.examples += counted["n"]
            round_number += 1
            campaign.seconds = time.monotonic() - started
            if progress is not None:
                progress(campaign)
        campaign.implementations = [a.hello for a in adapters]
    finally:
        for adapter in adapters:
            adapter.close()
    campaign.seconds = time.monotonic() - started
    return campaign
