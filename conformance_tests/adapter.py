"""The implementation side of the adapter protocol (ADAPTER.md): a loop any Python node can reuse.

An implementation under test provides an object with ``name``, ``version``, ``capabilities`` and
``run_vector(pre_state, steps)``; ``serve(implementation, stdin, stdout)`` then speaks the
protocol: it answers the runner's hello, runs one vector per request and replies, and returns on
shutdown or end of input. This module imports nothing from ``spec``, so that a node that must stay
independent of the executable spec (``reference/``) can use it; it needs only ``cbor2``.

A node written in another language implements the same few messages itself; ADAPTER.md is the
contract, this file one rendering of it.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Final, Protocol

import cbor2

PROTOCOL_VERSION: Final = 1
STEP_KINDS: Final = ("tx", "block", "tick")


@dataclass(frozen=True)
class Step:
    """One input to apply: a transaction, a block (their bytes) or a clock advance (a time)."""

    kind: str
    """``"tx"``, ``"block"`` or ``"tick"``."""
    input: bytes | None = None
    """The transaction or block bytes; ``None`` for a tick."""
    time: int | None = None
    """The time a tick advances the clock to; ``None`` otherwise."""

    def to_cbor(self) -> dict[str, Any]:
        """The step as the protocol and the vector files carry it (without its expectation)."""
        if self.kind == "tick":
            return {"kind": "tick", "time": self.time}
        return {"kind": self.kind, "input": self.input}

    @staticmethod
    def from_cbor(value: Any) -> Step:
        if not isinstance(value, dict) or value.get("kind") not in STEP_KINDS:
            raise ValueError("a step is a map with kind tx, block or tick")
        if value["kind"] == "tick":
            time = value.get("time")
            if isinstance(time, bool) or not isinstance(time, int) or time < 0:
                raise ValueError("a tick needs an unsigned time")
            return Step("tick", time=time)
        data = value.get("input")
        if not isinstance(data, bytes):
            raise ValueError("a tx or block step needs input bytes")
        return Step(value["kind"], input=data)


@dataclass(frozen=True)
class StepResult:
    """What the implementation did with one step."""

    code: int
    """0 if accepted, else the rejection code of the rule book."""
    rule: str | None
    """The rule id of the rejection (``None`` when accepted)."""
    root: bytes
    """The state root after the step (the unchanged root when the step was rejected)."""
    block_receipt: Any = None
    """For a block step: the block receipt's wire form ``{0: code, 1: rule, 2: [receipts]}``."""


@dataclass(frozen=True)
class VectorResult:
    """The outcome of a whole vector."""

    steps: tuple[StepResult, ...]
    post_state_root: bytes
    post_state: bytes | Callable[[], bytes] | None = None
    """The canonical post-state encoding, or a function computing it (called only on request)."""


class Implementation(Protocol):
    """What a node provides to be tested."""

    name: str
    version: str
    capabilities: Sequence[str]
    """Some of ``tx``, ``block``, ``tick``, ``post_state``."""

    def run_vector(self, pre_state: bytes, steps: Sequence[Step]) -> VectorResult:
        """Load ``pre_state`` (canonical state encoding), apply ``steps`` in order, report."""
        ...


def _write(stdout: BinaryIO, message: dict[str, Any]) -> None:
    stdout.write(cbor2.dumps(message, canonical=True))
    stdout.flush()


def result_message(vector_id: Any, result: VectorResult, want_post_state: bool) -> dict[str, Any]:
    steps = []
    for step in result.steps:
        item: dict[str, Any] = {"code": step.code, "rule": step.rule, "root": step.root}
        if step.block_receipt is not None:
            item["block_receipt"] = step.block_receipt
        steps.append(item)
    message: dict[str, Any] = {
        "msg": "result",
        "id": vector_id,
        "steps": steps,
        "post_state_root": result.post_state_root,
    }
    if want_post_state and result.post_state is not None:
        post = result.post_state
        message["post_state"] = post() if callable(post) else post
    return message


def serve(implementation: Implementation, stdin: BinaryIO, stdout: BinaryIO) -> int:
    """Answer the runner until it says shutdown or closes our input; return the exit code."""
    decoder = cbor2.CBORDecoder(stdin)
    while True:
        try:
            request = decoder.decode()
        except cbor2.CBORDecodeEOF:
            return 0
        except cbor2.CBORDecodeError as problem:
            _write(stdout, {"msg": "error", "id": None, "message": f"bad request: {problem}"})
            return 1
        if not isinstance(request, dict):
            _write(stdout, {"msg": "error", "id": None, "message": "a request is a map"})
            continue
        kind = request.get("msg")
        if kind == "hello":
            _write(
                stdout,
                {
                    "msg": "hello",
                    "protocol": PROTOCOL_VERSION,
                    "name": implementation.name,
                    "version": implementation.version,
                    "capabilities": list(implementation.capabilities),
                },
            )
        elif kind == "run":
            vector_id = request.get("id")
            try:
                steps = [Step.from_cbor(step) for step in request["steps"]]
                result = implementation.run_vector(request["pre_state"], steps)
                reply = result_message(vector_id, result, bool(request.get("want_post_state")))
            except Exception as problem:  # report, stay up for the next vector
                detail = "".join(traceback.format_exception_only(problem)).strip()
                reply = {"msg": "error", "id": vector_id, "message": detail}
            _write(stdout, reply)
        elif kind == "shutdown":
            _write(stdout, {"msg": "bye"})
            return 0
        else:
            _write(stdout, {"msg": "error", "id": None, "message": f"unknown message {kind!r}"})
