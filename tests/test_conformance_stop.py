"""``kwhledger conform`` stops when asked: Ctrl-C and SIGTERM end it and its adapters at once,
repeated adapter failures end the run, and an adapter that cannot start is one clear error."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conformance_tests.runner import default_suite_dir, load_vectors, run_suite

SUITE = default_suite_dir()
CONFORM = [sys.executable, "-m", "kwhledger.cli", "conform"]

# An adapter that says hello, records its pid, then never answers a vector.
HANGS_AFTER_HELLO = """
import os, sys, time, cbor2
open(sys.argv[1], "a").write(f"{os.getpid()}\\n")
cbor2.CBORDecoder(sys.stdin.buffer).decode()
hello = {"msg": "hello", "protocol": 1, "name": "hangs", "version": "0",
         "capabilities": ["tx", "block", "tick"]}
sys.stdout.buffer.write(cbor2.dumps(hello))
sys.stdout.buffer.flush()
time.sleep(600)
"""


def _adapter(tmp_path: Path, source: str) -> tuple[str, Path]:
    script, pids = tmp_path / "adapter.py", tmp_path / "pids"
    script.write_text(textwrap.dedent(source))
    return f"{sys.executable} {script} {pids}", pids


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return status != "Z"


def _wait_for_pids(pids: Path, count: int, within_s: float = 20.0) -> list[int]:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if pids.exists() and len(pids.read_text().split()) >= count:
            return [int(x) for x in pids.read_text().split()]
        time.sleep(0.05)
    raise AssertionError("the adapters did not start")


@pytest.mark.parametrize(("sent", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_conform_within_two_seconds_and_ends_its_adapters(
    tmp_path: Path, sent: signal.Signals, status: int
) -> None:
    command, pids = _adapter(tmp_path, HANGS_AFTER_HELLO)
    results = tmp_path / "results.json"
    conform = subprocess.Popen(
        [*CONFORM, "--impl", command, "--jobs", "2", "--timeout", "300", "--results", str(results)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    children = _wait_for_pids(pids, 2)
    time.sleep(0.3)  # both are inside a vector now
    sent_at = time.monotonic()
    conform.send_signal(sent)
    out, err = conform.communicate(timeout=10)
    assert time.monotonic() - sent_at < 2.0
    assert conform.returncode == status
    assert "Traceback" not in err and "interrupted" in err
    assert "0 passed" in out and results.is_file()  # what ran is still reported
    assert not [pid for pid in children if _alive(pid)]


def test_an_adapter_that_hangs_in_its_handshake_is_stopped_too(tmp_path: Path) -> None:
    command, pids = _adapter(
        tmp_path,
        'import os, sys, time\nopen(sys.argv[1], "a").write(f"{os.getpid()}\\n")\n'
        "time.sleep(600)\n",
    )
    conform = subprocess.Popen(
        [sys.executable, "-m", "kwhledger.cli", "conform", "--impl", command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    children = _wait_for_pids(pids, 1)
    sent_at = time.monotonic()
    conform.send_signal(signal.SIGINT)
    _, err = conform.communicate(timeout=10)
    assert time.monotonic() - sent_at < 2.0 and conform.returncode == 130
    assert "Traceback" not in err
    assert not [pid for pid in children if _alive(pid)]


def test_repeated_timeouts_stop_the_run_after_max_failures(tmp_path: Path) -> None:
    command, _ = _adapter(tmp_path, HANGS_AFTER_HELLO)
    vectors = load_vectors(SUITE, ["money/*"])
    assert len(vectors) > 3
    started = time.monotonic()
    report = run_suite(command, vectors, jobs=1, timeout_s=0.3, max_failures=2)
    assert time.monotonic() - started < 15
    reasons = [r.reason for r in report.results]
    assert reasons.count("timeout") == 2
    assert reasons.count("never-run") == len(vectors) - 2
    assert "stopped after 2" in report.stopped


def test_an_adapter_that_cannot_start_is_one_clear_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kwhledger.cli", "conform", "--impl", str(tmp_path / "nothing")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stdout == ""  # no "0 passed ... vectors/s", no list of ids
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "adapter does not start" in lines[0]


def test_no_child_is_left_when_the_run_finishes(tmp_path: Path) -> None:
    command, pids = _adapter(tmp_path, HANGS_AFTER_HELLO)
    run_suite(command, load_vectors(SUITE, ["money/MNY-01/*"]), timeout_s=0.3, max_failures=1)
    assert not [pid for pid in _wait_for_pids(pids, 1) if _alive(pid)]
