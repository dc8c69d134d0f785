"""The committed conformance suite: intact, complete, reproducible, and passed by the spec.

The full byte-for-byte regeneration is ``kwhledger vectors check`` (about a minute); here the
cheap groups are regenerated and compared, and the rest is checked through the index, the
manifest and a sample run through the spec adapter over the protocol; every vector is replayed in
process by both implementations in ``test_conformance_every_vector.py``.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import cbor2
import pytest

from conformance_tests import generate
from conformance_tests.groups import clearing, scenario
from conformance_tests.runner import default_suite_dir, load_index, load_vectors, run_suite
from conformance_tests.vector import Vector, read_vector, vector_path
from spec.cbor import decode
from spec.lifecycles import edge_labels
from spec.rules import RULES, RuleKind
from spec.version import SPEC_VERSION

CLI = [sys.executable, "-m", "kwhledger.cli"]
SPEC_ADAPTER = f"{sys.executable} -m kwhledger.cli adapter spec"

SUITE = default_suite_dir()


@pytest.fixture(scope="module")
def vectors() -> list[Vector]:
    return load_vectors(SUITE)


def test_manifest_hashes_every_file_and_index_names_every_vector() -> None:
    manifest = decode((SUITE / "manifest.cbor").read_bytes(), max_size=2**24)
    assert isinstance(manifest, dict)
    files = manifest["files"]
    assert isinstance(files, dict)
    on_disk = {str(p.relative_to(SUITE)) for p in (SUITE / "vectors").rglob("*") if p.is_file()}
    documents = {"FORMAT.md", "ADAPTER.md", "vectors.cddl", "adapter.cddl"}
    assert on_disk | {"index.cbor"} | documents == set(files)
    for path, digest in files.items():
        assert hashlib.sha256((SUITE / str(path)).read_bytes()).digest() == digest, path
    index = load_index(SUITE)
    assert manifest["vector_count"] == len(index) >= 1000
    # The suite is the rule book's: a version bump without regenerating it is caught here.
    assert manifest["spec_version"] == SPEC_VERSION
    assert [e["file"] for e in index] == [vector_path(e["id"]) for e in index]
    sums = (SUITE / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == len(files) + 1  # and the manifest itself
    for line in sums:
        digest, path = line.split("  ")
        assert hashlib.sha256((SUITE / path).read_bytes()).hexdigest() == digest


def test_every_rule_code_and_lifecycle_edge_has_vectors(vectors: list[Vector]) -> None:
    rules = {r for v in vectors for r in v.rules}
    assert {r.id for r in RULES} <= rules
    expected_codes = {o.code for v in vectors for _, o in v.steps}
    for r in RULES:
        if r.kind is RuleKind.VALIDITY:
            assert r.code in expected_codes, r.id
            # ... and the code is the one reported for that rule somewhere.
            assert any(o.rule == r.id and o.code == r.code for v in vectors for _, o in v.steps)
    made = {t for v in vectors for t in v.transitions}
    assert made == set(edge_labels())  # every edge covered, and nothing outside the graphs


def test_every_invalid_vector_names_a_twin_that_passes_its_rule(vectors: list[Vector]) -> None:
    by_id = {v.id: v for v in vectors}
    invalid = [v for v in vectors if "invalid" in v.flags]
    assert len(invalid) > 400
    for v in invalid:
        assert v.twin in by_id, v.id
        claimed = v.steps[-1][1].rule
        twin = by_id[v.twin].steps[-1][1]
        assert claimed is not None and twin.rule != claimed, v.id
        assert "twin" in by_id[v.twin].flags, v.id  # FORMAT section 4: a twin says so


def test_cheap_groups_regenerate_byte_for_byte() -> None:
    expensive = {
        clearing.group_clearing,
        scenario.group_block_scenarios,
        scenario.group_village_day,
    }
    suite = generate.Suite({})
    for group in generate.GROUPS:
        if group not in expensive:
            group(suite)
    assert len(suite.vectors) > 550
    for vector_id, vector in suite.vectors.items():
        assert (SUITE / vector_path(vector_id)).read_bytes() == vector.encode(), vector_id


def test_vector_files_are_canonical_and_roots_match_states(vectors: list[Vector]) -> None:
    for v in vectors[::40]:
        data = (SUITE / vector_path(v.id)).read_bytes()
        assert read_vector(data).encode() == data


def test_spec_adapter_passes_a_sample_over_the_protocol(vectors: list[Vector]) -> None:
    sample = [v for v in vectors if "scenario" not in v.flags][3::25]
    report = run_suite(SPEC_ADAPTER, sample, jobs=1, timeout_s=60)
    assert report.implementation["name"] == "kwhledger-spec"
    assert [r.status for r in report.results] == ["pass"] * len(sample), [
        (r.id, r.details) for r in report.results if r.status != "pass"
    ]


def test_suite_stays_small() -> None:
    size = sum(p.stat().st_size for p in Path(SUITE, "vectors").rglob("*.cbor"))
    assert size < 30_000_000


def test_vectors_show_prints_a_vector_readably() -> None:
    import subprocess

    run = subprocess.run(
        [*CLI, "vectors", "show", "tx/TX-04/s-plus-l"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "expect rejected 204 TX-04" in run.stdout
    assert "twin:        tx/valid/transfer" in run.stdout
    missing = subprocess.run(
        [*CLI, "vectors", "show", "no/such/vector"],
        capture_output=True,
        check=False,
    )
    assert missing.returncode == 2


KIND = r"^\*(validity|invariant|procedure) · (?:rejects with (\d+) |rejects)"


def test_rules_sha256_is_reproducible_from_the_rule_book_text() -> None:
    """FORMAT.md section 6's recipe, applied to RULEBOOK.md alone (no use of spec.rules), with
    another CBOR encoder, gives the manifest's rules_sha256."""
    text = (Path(__file__).parents[1] / "spec" / "RULEBOOK.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    chapter = lines.index("## 11. The rules")
    end = next(i for i in range(chapter + 1, len(lines)) if lines[i].startswith("## "))
    table = []
    for number in range(chapter, end):
        heading = re.match(r"^#### ([A-Z]+-\d\d) — ", lines[number])
        if heading is None:
            continue
        following = [line for line in lines[number + 1 : number + 6] if line.strip()]
        kind = re.match(
            r"^\*(validity|invariant|procedure) · (?:rejects with (\d+) |rejects)", following[0]
        )
        assert kind is not None and following[1].startswith("> "), lines[number]
        code = int(kind[2]) if kind[2] else None
        table.append([heading[1], kind[1], code, following[1][2:]])
    assert len(table) >= 100
    digest = hashlib.sha256(cbor2.dumps(table)).digest()
    manifest = decode((SUITE / "manifest.cbor").read_bytes(), max_size=2**24)
    assert isinstance(manifest, dict)
    assert manifest["rules_sha256"] == digest
    assert generate.rules_digest() == digest.hex()
