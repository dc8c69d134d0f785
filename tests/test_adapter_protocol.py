"""The adapter protocol fails loudly: a malformed request gets an error reply that names the
problem and a non-zero exit, in the shared loop and through both adapters' command lines."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import cbor2
import pytest

from conformance_tests.adapter import EXIT_BAD_REQUEST, Step, VectorResult, serve

HELLO = cbor2.dumps({"msg": "hello", "protocol": 1})


class Recorder:
    """An implementation that runs nothing: it fails every vector, or records its steps."""

    name = "recorder"
    version = "0"
    capabilities: Sequence[str] = ("tx", "block", "tick")

    def __init__(self) -> None:
        self.runs: list[tuple[bytes, Sequence[Step]]] = []

    def run_vector(self, pre_state: bytes, steps: Sequence[Step]) -> VectorResult:
        self.runs.append((pre_state, steps))
        if pre_state == b"unloadable":
            raise ValueError("cannot load this pre-state")
        return VectorResult((), bytes(32))


def talk(data: bytes) -> tuple[int, list[Any], Recorder]:
    implementation = Recorder()
    stdout = io.BytesIO()
    status = serve(implementation, io.BytesIO(data), stdout)
    stdout.seek(0)
    replies = []
    decoder = cbor2.CBORDecoder(stdout)
    while stdout.tell() < len(stdout.getvalue()):
        replies.append(decoder.decode())
    return status, replies, implementation


def run_request(**fields: Any) -> bytes:
    return cbor2.dumps({"msg": "run", "id": "v/1", "pre_state": b"", "steps": [], **fields})


MALFORMED = {
    "length-beyond-limit": (b"\xa1\x63msg\x5b" + (2**63).to_bytes(8, "big"), "beyond the limit"),
    "length-beyond-input": (b"\xa1\x63msg\x58\x64abc", "truncated request"),
    "count-beyond-input": (
        b"\xa2\x63msg\x63run\x65steps\x9b" + (2**40).to_bytes(8, "big"),
        "truncated",
    ),
    "unterminated-indefinite-map": (b"\xbf\x63msg\x65hello", "indefinite-length"),
    "indefinite-steps": (run_request()[:-1] + b"\x9f\xff", "indefinite-length"),
    "steps-as-a-map": (run_request(steps={}), "steps must be an array"),
    "step-without-input": (run_request(steps=[{"kind": "tx"}]), "step 0"),
    "not-a-map": (cbor2.dumps([1, 2]), "a request is a map"),
    "unknown-message": (cbor2.dumps({"msg": "launch"}), "unknown message"),
    "pre-state-as-text": (run_request(pre_state="00"), "pre_state must be a byte string"),
    "a-float": (cbor2.dumps({"msg": 1.5}), "float"),
    "a-tag": (b"\xc1\x00", "tag"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_request_gets_an_error_naming_it_and_ends_the_loop(name: str) -> None:
    data, problem = MALFORMED[name]
    status, replies, implementation = talk(HELLO + data + HELLO)
    assert status == EXIT_BAD_REQUEST
    assert replies[0]["msg"] == "hello"
    assert len(replies) == 2 and replies[1]["msg"] == "error"  # nothing after the bad request
    assert problem in replies[1]["message"], replies[1]["message"]
    assert implementation.runs == []


def test_a_vector_that_cannot_run_is_an_error_reply_and_the_loop_goes_on() -> None:
    data = run_request(pre_state=b"unloadable") + run_request() + cbor2.dumps({"msg": "shutdown"})
    status, replies, implementation = talk(data)
    assert status == 0
    assert [r["msg"] for r in replies] == ["error", "result", "bye"]
    assert replies[0]["id"] == "v/1" and "cannot load" in replies[0]["message"]
    assert len(implementation.runs) == 2


def test_end_of_input_between_requests_is_a_clean_end() -> None:
    assert talk(HELLO)[0] == 0
    assert talk(b"")[0] == 0


@pytest.mark.parametrize("implementation", ["spec", "reference"])
def test_both_adapters_exit_non_zero_on_a_malformed_request(implementation: str) -> None:
    data, problem = MALFORMED["length-beyond-limit"]
    done = subprocess.run(
        [sys.executable, "-m", "kwhledger.cli", "adapter", implementation],
        input=HELLO + data,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == EXIT_BAD_REQUEST
    decoder = cbor2.CBORDecoder(io.BytesIO(done.stdout))
    assert decoder.decode()["msg"] == "hello"
    assert problem in decoder.decode()["message"]
