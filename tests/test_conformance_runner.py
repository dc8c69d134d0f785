"""The runner judges correctly: deliberately wrong adapters fail exactly the vectors they should.

Each wrong adapter is the spec adapter with one fault; the vectors that must fail are computed
from the vector files (what they expect), never from the faulty adapter.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conformance_tests.diag import diag, state_difference
from conformance_tests.runner import (
    default_suite_dir,
    junit_xml,
    load_vectors,
    results_json,
    run_suite,
)
from conformance_tests.vector import Vector

SUITE = default_suite_dir()
CLI = [sys.executable, "-m", "kwhledger.cli"]
SPEC_ADAPTER = f"{sys.executable} -m kwhledger.cli adapter spec"

WRAPPER = """
import sys
from dataclasses import replace
from conformance_tests.adapter import StepResult, VectorResult, serve
from conformance_tests.spec_adapter import SpecImplementation, apply_step, load_state
from conformance_tests.spec_adapter import state_bytes, state_root

class Wrong(SpecImplementation):
    def run_vector(self, pre_state, steps):
        result = super().run_vector(pre_state, steps)
{body}
        return result

sys.exit(serve(Wrong("wrong"), sys.stdin.buffer, sys.stdout.buffer))
"""


def adapter(tmp_path: Path, body: str) -> str:
    script = tmp_path / "wrong_adapter.py"
    script.write_text(WRAPPER.format(body=textwrap.indent(textwrap.dedent(body), " " * 8)))
    return f"{sys.executable} {script}"


@pytest.fixture(scope="module")
def sample() -> list[Vector]:
    """Money, clock and block vectors: small, and with rejections, ticks and blocks."""
    return load_vectors(SUITE, ["money/*", "clock/*", "block/BLK-0[4-7]/*", "lifecycle/*"])


def failed(report_results: list) -> set[str]:  # type: ignore[type-arg]
    return {r.id for r in report_results if r.status == "fail"}


def test_flipped_rejection_code_fails_exactly_the_vectors_expecting_it(
    tmp_path: Path, sample: list[Vector]
) -> None:
    command = adapter(
        tmp_path,
        """
        steps = tuple(
            replace(s, code=604, rule="MNY-04") if s.code == 603 else s for s in result.steps
        )
        result = replace(result, steps=steps)
        """,
    )
    report = run_suite(command, sample, jobs=2, timeout_s=30)
    expecting = {v.id for v in sample if any(o.code == 603 for _, o in v.steps)}
    assert expecting, "the sample must hold MNY-03 vectors"
    assert failed(report.results) == expecting
    detail = next(r for r in report.results if r.status == "fail").details[0]
    assert "expected rejected 603 MNY-03, got rejected 604 MNY-04" in detail


def test_corrupted_state_fails_exactly_the_ticks_and_shows_the_difference(
    tmp_path: Path, sample: list[Vector]
) -> None:

    # A node whose clock runs one second ahead after every tick.
    command = adapter(
        tmp_path,
        """
        if any(s.kind == "tick" for s in steps):
            state = load_state(pre_state)
            for step in steps:
                state, _ = apply_step(state, step)
            state = replace(state, time=state.time + 1)
            result = replace(
                result,
                post_state_root=state_root(state),
                post_state=lambda: state_bytes(state),
            )
        """,
    )
    report = run_suite(command, sample, jobs=1, timeout_s=30)
    ticking = {v.id for v in sample if any(s.kind == "tick" for s, _ in v.steps)}
    assert ticking and failed(report.results) == ticking
    details = "\n".join(d for r in report.results for d in r.details)
    assert "post-state root expected" in details
    assert "first state difference: ledger 1: expected" in details


def test_crash_hang_and_garbage_fail_only_their_vector(tmp_path: Path) -> None:
    vectors = load_vectors(SUITE, ["money/MNY-02/*"])
    crash, hang, garbage = (vectors[i].id for i in (0, 2, 4))
    command = adapter(
        tmp_path,
        f"""
        import os, time
        here = steps[0].input
        ids = {{v: k for k, v in {{
            "crash": {_input(vectors[0])!r},
            "hang": {_input(vectors[2])!r},
            "garbage": {_input(vectors[4])!r},
        }}.items()}}
        what = ids.get(here)
        if what == "crash":
            os._exit(3)
        if what == "hang":
            time.sleep(30)
        if what == "garbage":
            sys.stdout.buffer.write(b"\\xff\\xfe garbage")
            sys.stdout.buffer.flush()
        """,
    )
    report = run_suite(command, vectors, jobs=1, timeout_s=2)
    by_id = {r.id: r for r in report.results}
    assert by_id[crash].reason == "crash" and "exit status 3" in by_id[crash].details[0]
    assert by_id[hang].reason == "timeout"
    assert by_id[garbage].reason == "protocol"
    assert failed(report.results) == {crash, hang, garbage}
    assert report.count("pass") == len(vectors) - 3


def _input(vector: Vector) -> bytes:
    step = vector.steps[0][0]
    assert step.input is not None
    return step.input


def test_adapter_that_does_not_start_leaves_vectors_never_run(tmp_path: Path) -> None:
    vectors = load_vectors(SUITE, ["money/MNY-01/*"])
    report = run_suite(f"{sys.executable} -c 'import sys; sys.exit(1)'", vectors, timeout_s=5)
    assert [r.status for r in report.results] == ["not-run"] * len(vectors)
    assert results_json(report)["never_run"] == [v.id for v in vectors]
    assert not report.ok


def test_conform_cli_writes_junit_and_results_and_exits_by_outcome(tmp_path: Path) -> None:
    junit, results = tmp_path / "junit.xml", tmp_path / "results.json"
    run = subprocess.run(
        [
            *CLI,
            "conform",
            "--impl",
            SPEC_ADAPTER,
            "--select",
            "MNY-03",
            "--select",
            "clock/valid/*",
            "--junit",
            str(junit),
            "--results",
            str(results),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "vectors/s" in run.stdout and " 0 failed" in run.stdout
    assert "<testsuite" in junit.read_text() and 'failures="0"' in junit.read_text()
    assert '"failed": 0' in results.read_text()
    bad = subprocess.run(
        [
            *CLI,
            "conform",
            "--impl",
            "true",
            "--select",
            "money/MNY-01/*",
            "--timeout",
            "5",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    # An adapter that never says hello is one clear error, not a report of 0 passed.
    assert bad.returncode == 2 and bad.stdout == ""
    assert "adapter does not start" in bad.stderr


def test_junit_marks_failures() -> None:
    from conformance_tests.runner import Report, Result

    report = Report({}, [Result("a/b", "fail", "mismatch", ["x"]), Result("a/c", "pass")], 1.0)
    xml = junit_xml(report).decode()
    assert 'failures="1"' in xml and "<failure" in xml and 'name="b"' in xml


def test_diagnostic_notation() -> None:
    assert diag({0: b"\x00\xff", 1: [1, -2, 'a"b', None, True]}) == (
        '{0: h\'00ff\', 1: [1, -2, "a\\"b", null, true]}'
    )
    assert diag(bytes(40), max_bytes=2) == "h'0000...'(40 bytes)"
    expected = {1: [[b"\x01", {0: 1, 1: 5}]], 9: b"\x00"}
    actual = {1: [[b"\x01", {0: 1, 1: 6}]], 9: b"\x00"}
    assert state_difference(expected, actual) == "accounts h'01'[1]: expected 5, got 6"
    assert state_difference(expected, expected) is None
    assert "missing" in (state_difference(expected, {1: [], 9: b"\x00"}) or "")


def test_reference_adapter_command_exists() -> None:
    """``kwhledger adapter reference`` starts the reference node's adapter, or says why not."""
    run = subprocess.run(
        [*CLI, "adapter", "reference"],
        input=b"",
        capture_output=True,
        check=False,
    )
    assert run.returncode in (0, 2)
    if run.returncode == 2:
        assert b"reference.adapter.serve" in run.stderr


def test_an_adapter_that_stops_reading_times_out(tmp_path: Path) -> None:
    """A request larger than a pipe's buffer to a child that no longer reads is a hang too."""
    script = tmp_path / "deaf_adapter.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys, time, cbor2
            cbor2.CBORDecoder(sys.stdin.buffer).decode()
            hello = {"msg": "hello", "protocol": 1, "name": "deaf", "version": "0",
                     "capabilities": ["tx", "block", "tick"]}
            sys.stdout.buffer.write(cbor2.dumps(hello))
            sys.stdout.buffer.flush()
            time.sleep(60)
            """
        )
    )
    vectors = load_vectors(SUITE, ["scenario/village-day"])
    assert sum(len(s.input or b"") for s, _ in vectors[0].steps) > 1 << 17  # pipe: 64 KiB
    report = run_suite(f"{sys.executable} {script}", vectors, timeout_s=2)
    assert [(r.status, r.reason) for r in report.results] == [("fail", "timeout")]
    assert report.seconds < 20
