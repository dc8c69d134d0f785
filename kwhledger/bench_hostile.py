"""``kwhledger bench --section hostile`` and ``--section store``: what hostile input and a store's
checks cost.

Every case runs in a fresh Python process (``python -m kwhledger.bench_hostile CASE``), which first
builds its input, then measures one call. Memory is the peak resident set *above the process's
own baseline*: just before the call the process resets its peak (Linux: writing ``5`` to
``/proc/self/clear_refs``) and reads its resident size (``VmRSS``); after the call it reads the
peak (``VmHWM``). Where the reset is not allowed, the peak since start is reported and marked.
Time is wall-clock around the one call (``time.perf_counter``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BLOCK_CASES = ("block-empty-maps", "block-empty-byte-strings", "block-one-array-of-zeros")
STATE_CASES = ("pre-state-64mib-zeros", "pre-state-64mib-empty-maps")


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def measure(call: Callable[[], Any]) -> dict[str, Any]:
    """Run ``call`` once; its outcome, seconds and peak resident MiB above the baseline."""
    reset = _reset_peak()
    baseline = _status_kib("VmRSS")
    start = time.perf_counter()
    outcome = call()
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    return {
        "outcome": outcome,
        "seconds": seconds,
        "peak_above_baseline_mib": (peak - baseline) / 1024,
        "baseline_mib": baseline / 1024,
        "peak_reset": reset,
    }


def _hostile_block(case: str) -> tuple[Any, bytes]:
    """A valid header and quorum, and 8 MiB of one-byte items where the transactions go: as
    many empty maps or empty byte strings, or one array of zeros (within MAX_BLOCK_TXS, so that
    only the item budget stops it)."""
    from conformance_tests.groups.hostile import with_raw_transactions
    from conformance_tests.suite import head, with_validators
    from spec.blocks import MAX_BLOCK_BYTES

    v = with_validators("validator-1", "validator-2", "validator-3")
    count = MAX_BLOCK_BYTES - 1024
    if case == "block-one-array-of-zeros":
        raw = head(4, 1) + head(4, count) + b"\x00" * count
    else:
        raw = head(4, count) + (b"\xa0" if case == "block-empty-maps" else b"\x40") * count
    return v.state, with_raw_transactions(v.state, v.state.time + 60, raw)


def _hostile_state(element: bytes) -> bytes:
    from conformance_tests.spec_adapter import MAX_STATE_BYTES

    count = MAX_STATE_BYTES - 16
    return b"\xa1\x01\x9a" + count.to_bytes(4, "big") + element * count


def child(case: str, implementation: str, store: str | None) -> dict[str, Any]:
    """One case, measured in this process."""
    if case in BLOCK_CASES:
        state, block = _hostile_block(case)
        if implementation == "reference":
            import tempfile

            from conformance_tests.spec_adapter import state_bytes
            from reference.adapter import load_state
            from reference.node import Node

            directory = Path(tempfile.mkdtemp(prefix="kwhledger-hostile-"))
            node = Node.create(directory / "node.db", load_state(state_bytes(state)))
            result = measure(lambda: node.import_block(block).rule_id)
            node.close()
        else:
            from spec.blocks import apply_block

            result = measure(lambda: apply_block(state, block)[1].rule_id)
        result["input_bytes"] = len(block)
        return result
    if case in STATE_CASES:
        data = _hostile_state(b"\x00" if case == "pre-state-64mib-zeros" else b"\xa0")
        if implementation == "reference":
            from reference.adapter import load_state as load
            from reference.errors import Rejected as Refused
        else:
            from conformance_tests.spec_adapter import load_state as load  # type: ignore[assignment]
            from spec.errors import Rejected as Refused  # type: ignore[assignment]

        def attempt() -> str:
            try:
                load(data)
            except Refused as rejection:
                return str(rejection).split(":")[0].split()[0]
            return "loaded"

        result = measure(attempt)
        result["input_bytes"] = len(data)
        return result
    assert store is not None
    from reference.node import Node, check_store

    def open_and_close(verify_root: bool) -> str:
        node = Node.open(store, verify_root=verify_root)
        height = node.ledger.height
        node.close()
        return f"height {height}"

    if case == "store-open-plain":
        result = measure(lambda: open_and_close(False))
    elif case == "store-open-checked":
        result = measure(lambda: open_and_close(True))
    else:
        result = measure(lambda: check_store(store, full=True).split(", ")[1])
    result["input_bytes"] = Path(store).stat().st_size
    return result


def run_case(case: str, implementation: str, store: str | None = None) -> dict[str, Any]:
    """One case in a fresh process."""
    command = [sys.executable, "-m", "kwhledger.bench_hostile", case, implementation]
    if store is not None:
        command.append(store)
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=3600)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def hostile(progress: Callable[[str], None]) -> list[dict[str, Any]]:
    rows = []
    for case in (*BLOCK_CASES, *STATE_CASES):
        for implementation in ("reference", "spec"):
            progress(f"{case} ({implementation})")
            rows.append(
                {"case": case, "implementation": implementation, **run_case(case, implementation)}
            )
    return rows


def store_section(store: str, progress: Callable[[str], None]) -> list[dict[str, Any]]:
    rows = []
    for case in ("store-open-plain", "store-open-checked", "store-check-full"):
        progress(f"{case} {store}")
        rows.append(
            {"case": case, "implementation": "reference", **run_case(case, "reference", store)}
        )
    return rows


def print_rows(rows: list[dict[str, Any]]) -> None:
    print(f"{'case':<30} {'implementation':<10} {'outcome':<10} {'seconds':>10} {'peak MiB':>9}")
    for row in rows:
        if "error" in row:
            print(f"{row['case']:<30} {row['implementation']:<10} error: {row['error']}")
            continue
        mark = "" if row["peak_reset"] else " (peak since start)"
        print(
            f"{row['case']:<30} {row['implementation']:<10} {row['outcome']:<10} "
            f"{row['seconds']:>10.4f} {row['peak_above_baseline_mib']:>9.1f}{mark}"
        )
    print(
        "peak MiB: peak resident set above the process's baseline (VmHWM after a reset through "
        "/proc/self/clear_refs), one fresh process per case; blocks go to a reference node with "
        "its store (Node.import_block) and to the spec's apply_block; pre-states to each "
        "adapter's load_state"
    )


if __name__ == "__main__":
    arguments = sys.argv[1:]
    figures = child(arguments[0], arguments[1], arguments[2] if len(arguments) > 2 else None)
    json.dump(figures, sys.stdout)
