"""The conformance files and the adapter's messages match their CDDL schemas.

``vectors.cddl`` and ``adapter.cddl`` use names from ``spec/kwhledger.cddl`` (``state``,
``block-receipt``, ``hash``), so each is validated concatenated with it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import cbor2
import pytest

import spec
from conformance_tests.adapter import serve
from conformance_tests.runner import default_suite_dir, load_index, load_vectors
from conformance_tests.spec_adapter import SpecImplementation
from conformance_tests.vector import vector_path
from spec.cbor import decode, encode

try:  # a missing validator is a failure of this test module, never a silent skip
    import cddl_verifier
except ImportError as missing:
    raise ImportError(
        "cddl-verifier is missing: install the test tools, pip install -e '.[test]'"
    ) from missing

SUITE = default_suite_dir()
WIRE = Path(spec.__file__).with_name("kwhledger.cddl")


def validator(tmp_path_factory: pytest.TempPathFactory, name: str) -> Any:
    combined = tmp_path_factory.mktemp("cddl") / name
    combined.write_text((SUITE / name).read_text() + "\n" + WIRE.read_text())
    return cddl_verifier.Validator(combined)


@pytest.fixture(scope="module")
def vectors_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return validator(tmp_path_factory, "vectors.cddl")


@pytest.fixture(scope="module")
def adapter_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return validator(tmp_path_factory, "adapter.cddl")


def problems(schema: Any, data: bytes, root: str) -> list[str]:
    result = schema.validate(data, root_type=root)
    return [] if result.valid else [f"{d.path_text}: {d.message}" for d in result.diagnostics]


def test_index_manifest_and_a_sample_of_vectors_match_the_schema(vectors_schema: Any) -> None:
    assert problems(vectors_schema, (SUITE / "index.cbor").read_bytes(), "index") == []
    assert problems(vectors_schema, (SUITE / "manifest.cbor").read_bytes(), "manifest") == []
    entries = load_index(SUITE)
    for entry in entries[::23]:
        data = (SUITE / entry["file"]).read_bytes()
        assert problems(vectors_schema, data, "vector") == [], entry["id"]


def test_the_schema_refuses_a_broken_vector(vectors_schema: Any) -> None:
    entry = load_index(SUITE)[0]
    value = decode((SUITE / vector_path(entry["id"])).read_bytes(), max_size=2**26)
    assert isinstance(value, dict)
    for broken in (
        {**value, "format": 2},
        {**value, "steps": []},
        {k: v for k, v in value.items() if k != "post_state_root"},
        {**value, "pre_state": b"\x00"},
    ):
        assert problems(vectors_schema, encode(broken), "vector") != []


def test_adapter_messages_match_the_schema(adapter_schema: Any) -> None:
    vector = load_vectors(SUITE, ["block/valid/two-of-three"])[0]
    requests = [
        {"msg": "hello", "protocol": 1},
        {
            "msg": "run",
            "id": vector.id,
            "pre_state": vector.pre_state,
            "steps": [s.to_cbor() for s, _ in vector.steps],
            "want_post_state": True,
        },
        {
            "msg": "run",
            "id": "broken",
            "pre_state": b"\x00",
            "steps": [{"kind": "tick", "time": 0}],
            "want_post_state": False,
        },
        {"msg": "shutdown"},
    ]
    for request in requests:
        assert problems(adapter_schema, cbor2.dumps(request), "runner-message") == []
    out = io.BytesIO()
    stdin = io.BytesIO(b"".join(cbor2.dumps(r) for r in requests))
    assert serve(SpecImplementation("test"), stdin, out) == 0
    out.seek(0)
    decoder = cbor2.CBORDecoder(out)
    replies = [decoder.decode() for _ in requests]
    assert [r["msg"] for r in replies] == ["hello", "result", "error", "bye"]
    assert replies[1]["post_state_root"] == vector.post_state_root
    for reply in replies:
        assert problems(adapter_schema, cbor2.dumps(reply), "adapter-message") == []
