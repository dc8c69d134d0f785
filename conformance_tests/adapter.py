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
MAX_REQUEST_BYTES: Final = 256 * 1024 * 1024
"""The longest request an adapter takes in (a vector's pre-state is at most 64 MiB)."""
MAX_REQUEST_DEPTH: Final = 32
"""The deepest nesting of arrays and maps in a request."""
EXIT_BAD_REQUEST: Final = 2
"""The exit status after a malformed request (ADAPTER.md section 2.4)."""


class BadRequest(Exception):
    """A request that breaks the protocol; the message names the problem."""


class _RequestReader:
    """Reads one CBOR data item from a stream, checking that it is well-formed and definite-length
    before anything is decoded, and never reading or reserving more than ``limit`` bytes: a
    length or count that claims more than is sent is found when the input ends, not waited for."""

    def __init__(self, stream: _Chained, limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.raw = bytearray()

    def take(self, n: int) -> bytes:
        if len(self.raw) + n > self.limit:
            raise BadRequest(
                f"at byte {len(self.raw)}: an item claims {n} bytes, beyond the limit of "
                f"{self.limit} bytes per request"
            )
        start = len(self.raw)
        while len(self.raw) - start < n:
            chunk = self.stream.read(min(n - (len(self.raw) - start), 1 << 20))
            if not chunk:
                raise BadRequest(
                    f"truncated request: the input ended at byte {len(self.raw)} inside a data "
                    f"item that needs {n - (len(self.raw) - start)} more bytes"
                )
            self.raw += chunk
        return bytes(self.raw[start:])

    def item(self, depth: int) -> None:
        if depth > MAX_REQUEST_DEPTH:
            raise BadRequest(f"at byte {len(self.raw)}: nesting deeper than {MAX_REQUEST_DEPTH}")
        at = len(self.raw)
        initial = self.take(1)[0]
        major, info = initial >> 5, initial & 0x1F
        if info == 31:
            raise BadRequest(
                f"at byte {at}: an indefinite-length item (major type {major}); requests use "
                "definite lengths only"
            )
        if info in (28, 29, 30):
            raise BadRequest(f"at byte {at}: reserved additional information {info}")
        if major == 6:
            raise BadRequest(f"at byte {at}: a tag; requests carry no tags")
        argument = info if info < 24 else int.from_bytes(self.take(1 << (info - 24)), "big")
        if major == 7:
            if info not in (20, 21, 22):
                raise BadRequest(f"at byte {at}: a float or simple value {info}")
        elif major in (2, 3):
            self.take(argument)
        elif major == 4:
            for _ in range(argument):
                self.item(depth + 1)
        elif major == 5:
            for _ in range(argument):
                self.item(depth + 1)
                self.item(depth + 1)


def read_request(stream: BinaryIO, limit: int = MAX_REQUEST_BYTES) -> Any:
    """The next request, ``None`` at a clean end of input, or ``BadRequest``."""
    first = stream.read(1)
    if not first:
        return None
    reader = _RequestReader(_Chained(first, stream), limit)
    reader.item(0)
    try:
        return cbor2.loads(bytes(reader.raw))
    except Exception as problem:  # well-formed but not decodable (e.g. invalid UTF-8)
        raise BadRequest(f"undecodable request: {problem}") from None


class _Chained:
    """A stream that first gives back the byte already read, then the rest."""

    def __init__(self, first: bytes, rest: BinaryIO) -> None:
        self.first = first
        self.rest = rest

    def read(self, n: int) -> bytes:
        if self.first:
            head, self.first = self.first[:n], self.first[n:]
            return head
        return self.rest.read(n)


def parse_run(request: dict[Any, Any]) -> tuple[Any, bytes, list[Step], bool]:
    """(id, pre-state, steps, want_post_state) of a run request, or ``BadRequest``."""
    vector_id = request.get("id")
    if not isinstance(vector_id, str):
        raise BadRequest("a run request needs an id (text)")
    pre_state = request.get("pre_state")
    if not isinstance(pre_state, bytes):
        raise BadRequest(f"run {vector_id}: pre_state must be a byte string")
    raw_steps = request.get("steps")
    if not isinstance(raw_steps, list):
        raise BadRequest(f"run {vector_id}: steps must be an array, not {type(raw_steps).__name__}")
    steps = []
    for index, raw in enumerate(raw_steps):
        try:
            steps.append(Step.from_cbor(raw))
        except ValueError as problem:
            raise BadRequest(f"run {vector_id}: step {index}: {problem}") from None
    want = request.get("want_post_state", False)
    if not isinstance(want, bool):
        raise BadRequest(f"run {vector_id}: want_post_state must be a boolean")
    return vector_id, pre_state, steps, want


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
    settlement_root: bytes | None = None
    """For a block or tick step: the settlement root of what its clock advance pruned (the empty
    root when nothing, or when the step was rejected)."""


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
        if step.settlement_root is not None:
            item["settlement_root"] = step.settlement_root
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
    """Answer the runner until it says shutdown or closes our input; return the exit code.

    A malformed request (not well-formed CBOR, indefinite lengths, a length beyond what is sent,
    not a map, a run request whose fields have the wrong types) gets an error reply naming the
    problem, and the loop ends with ``EXIT_BAD_REQUEST``: after a framing error nothing that
    follows can be trusted. A vector the implementation cannot run gets an error reply and the
    loop goes on."""
    while True:
        try:
            request = read_request(stdin)
            if request is None:
                return 0
            if not isinstance(request, dict):
                raise BadRequest(f"a request is a map, not {type(request).__name__}")
            kind = request.get("msg")
            if kind not in ("hello", "run", "shutdown"):
                raise BadRequest(f"unknown message {kind!r}")
            run = parse_run(request) if kind == "run" else None
        except BadRequest as problem:
            _write(stdout, {"msg": "error", "id": None, "message": f"bad request: {problem}"})
            return EXIT_BAD_REQUEST
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
        elif run is not None:
            vector_id, pre_state, steps, want_post_state = run
            try:
                result = implementation.run_vector(pre_state, steps)
                reply = result_message(vector_id, result, want_post_state)
            except Exception as problem:  # report, stay up for the next vector
                detail = "".join(traceback.format_exception_only(problem)).strip()
                reply = {"msg": "error", "id": vector_id, "message": detail}
            _write(stdout, reply)
        else:
            _write(stdout, {"msg": "bye"})
            return 0
