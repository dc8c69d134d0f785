"""The runner side of the adapter protocol (ADAPTER.md): drive an implementation, judge it.

``run_suite`` starts the implementation's adapter as a child process (one per job), sends each
selected vector's pre-state and steps, and compares the answers with the expectations: every
step's code, rule id and state root, every block receipt, and the post-state root. When a root
differs and the implementation can return its post-state, the vector is run once more asking for
it, and the first differing state entry is shown in CBOR diagnostic notation.

Crash, hang and garbage are defined outcomes, not runner failures: the vector in flight fails
(``crash``, ``timeout``, ``protocol``), the child is ended and a fresh one started for the next
vector. A child that cannot even complete the handshake twice in a row ends that job; the vectors
it did not run are reported as never run.

A run stops early, leaving the rest never run, when ``stop`` is set (Ctrl-C or SIGTERM in the
command) or after ``max_failures`` crashes, timeouts and protocol errors (an adapter that hangs on
every vector would otherwise cost the timeout times the whole suite). Stopping ends every adapter
process at once.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import io
import os
import queue
import select
import shlex
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import cbor2

from conformance_tests.adapter import PROTOCOL_VERSION, Implementation, result_message
from conformance_tests.diag import diag, state_difference
from conformance_tests.vector import SETTLING_KINDS, FormatError, Vector, read_vector
from spec.cbor import decode

DEFAULT_TIMEOUT_S: Final = 60.0
DEFAULT_MAX_FAILURES: Final = 10
"""Crashes, timeouts and protocol errors after which a run stops (0: never)."""
HANDSHAKE_TIMEOUT_S: Final = 30.0
MAX_MESSAGE_BYTES: Final = 256 * 1024 * 1024


def default_suite_dir() -> Path:
    """The suite committed beside this module."""
    return Path(__file__).resolve().parent


class SuiteError(Exception):
    """The suite on disk is not what its index says."""


def load_index(suite_dir: Path) -> list[dict[str, Any]]:
    """The index entries of a suite directory (index.cbor)."""
    value: Any = decode((suite_dir / "index.cbor").read_bytes(), max_size=MAX_MESSAGE_BYTES)
    if not isinstance(value, dict) or not isinstance(value.get("vectors"), list):
        raise SuiteError("index.cbor has no vectors list")
    entries: list[dict[str, Any]] = value["vectors"]
    return entries


def selected(entry: dict[str, Any], selectors: Sequence[str]) -> bool:
    """Whether an index entry matches any selector: an id or id glob, a group prefix, a rule id
    or a flag."""
    if not selectors:
        return True
    vector_id = entry["id"]
    for selector in selectors:
        if fnmatch.fnmatchcase(vector_id, selector) or vector_id.startswith(
            selector.rstrip("/") + "/"
        ):
            return True
        if selector in entry["rules"] or selector in entry["flags"]:
            return True
    return False


def load_vectors(suite_dir: Path, selectors: Sequence[str] = ()) -> list[Vector]:
    """The selected vectors, each checked against the hash the index gives for its file."""
    vectors = []
    for entry in load_index(suite_dir):
        if not selected(entry, selectors):
            continue
        data = (suite_dir / entry["file"]).read_bytes()
        if hashlib.sha256(data).digest() != entry["sha256"]:
            raise SuiteError(f"{entry['file']}: content does not match index.cbor")
        try:
            vector = read_vector(data)
        except FormatError as problem:
            raise SuiteError(f"{entry['file']}: {problem}") from None
        if vector.id != entry["id"]:
            raise SuiteError(f"{entry['file']}: holds {vector.id}, index says {entry['id']}")
        vectors.append(vector)
    return vectors


# --- Talking to one child ---------------------------------------------------------------------


class AdapterFailure(Exception):
    """The child crashed, hung or spoke garbage; ``kind`` is crash, timeout or protocol."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class AdapterProcess:
    """One running adapter: a child process and a CBOR sequence each way."""

    def __init__(self, command: str, timeout_s: float) -> None:
        self.command = command
        self.timeout_s = timeout_s
        # Kept open for the child's whole life, closed in kill(): not a with-block's lifetime.
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self.process = subprocess.Popen(
            shlex.split(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            start_new_session=True,
        )
        self.buffer = bytearray()
        self.hello: dict[str, Any] = {}

    def handshake(self) -> dict[str, Any]:
        reply = self.exchange({"msg": "hello", "protocol": PROTOCOL_VERSION}, HANDSHAKE_TIMEOUT_S)
        if reply.get("msg") != "hello" or reply.get("protocol") != PROTOCOL_VERSION:
            raise AdapterFailure("protocol", f"bad hello reply {diag(reply)}")
        for key, kind in (("name", str), ("version", str), ("capabilities", list)):
            if not isinstance(reply.get(key), kind):
                raise AdapterFailure("protocol", f"hello reply lacks {key}")
        self.hello = reply
        return reply

    def exchange(self, message: dict[str, Any], timeout_s: float | None = None) -> dict[str, Any]:
        """Send one message and read one reply, all before the deadline."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        self._send(cbor2.dumps(message), deadline)
        return self._read(deadline)

    def _send(self, data: bytes, deadline: float) -> None:
        """Write without blocking past the deadline: a child that stops reading is a hang."""
        assert self.process.stdin is not None
        fd = self.process.stdin.fileno()
        os.set_blocking(fd, False)
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AdapterFailure("timeout", "the adapter stopped reading its input")
            _, writable, _ = select.select([], [fd], [], left)
            if not writable:
                continue
            try:
                written = os.write(fd, view[: 1 << 16])
            except BlockingIOError:
                continue
            except OSError:  # EPIPE: the child is gone
                raise AdapterFailure("crash", self._exit_description()) from None
            view = view[written:]

    def _read(self, deadline: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while True:
            if self.buffer:
                stream = io.BytesIO(bytes(self.buffer))
                try:
                    value = cbor2.CBORDecoder(stream).decode()
                except cbor2.CBORDecodeEOF:
                    pass
                except Exception as problem:  # any other decoding failure is garbage
                    raise AdapterFailure("protocol", f"undecodable output: {problem}") from None
                else:
                    del self.buffer[: stream.tell()]
                    if not isinstance(value, dict):
                        raise AdapterFailure("protocol", f"a message is a map, got {diag(value)}")
                    return value
            if len(self.buffer) > MAX_MESSAGE_BYTES:
                raise AdapterFailure("protocol", "message larger than the runner accepts")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AdapterFailure("timeout", "no complete reply before the deadline")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                self.process.wait(timeout=5)
                raise AdapterFailure("crash", self._exit_description())
            self.buffer += chunk

    def _exit_description(self) -> str:
        code = self.process.poll()
        self.stderr.seek(0)
        tail = self.stderr.read()[-800:].decode("utf-8", "replace").strip()
        status = "still running" if code is None else f"exit status {code}"
        return f"adapter ended ({status})" + (f"; stderr: {tail}" if tail else "")

    def close(self) -> None:
        """Ask for shutdown; end the child's process group if it does not go."""
        try:
            if self.process.poll() is None:
                self.exchange({"msg": "shutdown"}, 5)
                self.process.wait(timeout=5)
        except (AdapterFailure, subprocess.TimeoutExpired):
            pass
        self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self.stderr.close()


# --- Judging one vector -----------------------------------------------------------------------


@dataclass
class Result:
    """The verdict on one vector."""

    id: str
    status: str
    """pass, fail, or not-run."""
    reason: str = ""
    """For a failure: mismatch, adapter-error, crash, timeout or protocol."""
    details: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _outcome_text(code: Any, rule: Any) -> str:
    return "accepted" if code == 0 else f"rejected {code} {rule}"


def judge(vector: Vector, reply: dict[str, Any]) -> list[str]:
    """Every way ``reply`` differs from what ``vector`` expects (empty when it passes)."""
    if reply.get("msg") == "error":
        return [f"adapter could not run the vector: {reply.get('message')}"]
    if reply.get("msg") != "result" or reply.get("id") != vector.id:
        raise AdapterFailure("protocol", f"expected the result of {vector.id}, got {diag(reply)}")
    steps = reply.get("steps")
    if not isinstance(steps, list) or len(steps) != len(vector.steps):
        raise AdapterFailure("protocol", f"{vector.id}: one step result per step expected")
    problems = []
    for index, ((step, expected), actual) in enumerate(zip(vector.steps, steps, strict=True)):
        if not isinstance(actual, dict):
            raise AdapterFailure("protocol", f"step {index} result is not a map")
        where = f"step {index} ({step.kind})"
        code, rule = actual.get("code"), actual.get("rule")
        if (code, rule) != (expected.code, expected.rule):
            problems.append(
                f"{where}: expected {_outcome_text(expected.code, expected.rule)}, got "
                f"{_outcome_text(code, rule)}"
            )
        if step.kind == "block" and actual.get("block_receipt") != expected.block_receipt:
            problems.append(
                f"{where}: block receipt expected {diag(expected.block_receipt)}, got "
                f"{diag(actual.get('block_receipt'))}"
            )
        if (
            step.kind in SETTLING_KINDS
            and actual.get("settlement_root") != expected.settlement_root
        ):
            problems.append(
                f"{where}: settlement root expected {diag(expected.settlement_root, 8)}, got "
                f"{diag(actual.get('settlement_root'), 8)}"
            )
        if actual.get("root") != expected.root:
            problems.append(
                f"{where}: state root expected {diag(expected.root, 8)}, got "
                f"{diag(actual.get('root'), 8)}"
            )
    if reply.get("post_state_root") != vector.post_state_root:
        problems.append(
            f"post-state root expected {diag(vector.post_state_root, 8)}, got "
            f"{diag(reply.get('post_state_root'), 8)}"
        )
    return problems


def judge_in_process(implementation: Implementation, vector: Vector) -> list[str]:
    """``judge`` of an implementation run in this process, on the message its adapter would send
    (through a CBOR round trip, as on the wire), and its post-state compared byte for byte."""
    result = implementation.run_vector(vector.pre_state, [step for step, _ in vector.steps])
    reply = cbor2.loads(cbor2.dumps(result_message(vector.id, result, want_post_state=True)))
    problems = judge(vector, reply)
    actual = reply.get("post_state")
    if actual != vector.post_state:
        decoded = cbor2.loads(actual) if isinstance(actual, bytes) else actual
        difference = state_difference(cbor2.loads(vector.post_state), decoded)
        problems.append(f"post-state differs: {difference}")
    return problems


def _state_diff(vector: Vector, adapter: AdapterProcess) -> str | None:
    """Run the vector again asking for the post-state; describe its first difference."""
    if "post_state" not in adapter.hello.get("capabilities", []):
        return None
    reply = adapter.exchange(_request(vector, want_post_state=True))
    post = reply.get("post_state")
    if not isinstance(post, bytes):
        return "adapter returned no post_state"
    try:
        actual = cbor2.loads(post)
    except Exception as problem:  # the adapter's state encoding is itself broken
        return f"post_state is not CBOR: {problem}"
    expected = decode(vector.post_state, max_size=MAX_MESSAGE_BYTES)
    difference = state_difference(expected, actual)
    if difference is None and post != vector.post_state:
        return "post-state decodes equal but its bytes differ (non-canonical encoding)"
    return difference


def _request(vector: Vector, want_post_state: bool = False) -> dict[str, Any]:
    return {
        "msg": "run",
        "id": vector.id,
        "pre_state": vector.pre_state,
        "steps": [step.to_cbor() for step, _ in vector.steps],
        "want_post_state": want_post_state,
    }


# --- Running a suite --------------------------------------------------------------------------


@dataclass
class Report:
    """Everything a run found."""

    implementation: dict[str, Any]
    results: list[Result]
    seconds: float
    stopped: str = ""
    """Why the run stopped before the end (empty if it did not)."""

    @property
    def started(self) -> bool:
        """Whether any adapter completed its handshake."""
        return "name" in self.implementation

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        return self.count("pass") == len(self.results)


def run_suite(
    command: str,
    vectors: Sequence[Vector],
    jobs: int = 1,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    progress: Callable[[Result, int, int], None] | None = None,
    max_failures: int = DEFAULT_MAX_FAILURES,
    stop: threading.Event | None = None,
) -> Report:
    """Run ``vectors`` against the adapter started by ``command`` with ``jobs`` children.

    Setting ``stop`` (from another thread or a signal handler) ends every child at once and
    returns what ran; so does the ``max_failures``-th crash, timeout or protocol error."""
    started = time.perf_counter()
    stop = stop or threading.Event()
    work: queue.Queue[Vector] = queue.Queue()
    # Longest vectors first, so that one long scenario does not start last and run alone.
    for vector in sorted(vectors, key=lambda v: -len(v.steps)):
        work.put(vector)
    results: dict[str, Result] = {}
    hello: dict[str, Any] = {}
    lock = threading.Lock()
    live: set[AdapterProcess] = set()
    adapter_failures = 0
    why_stopped: list[str] = []

    def halt(reason: str) -> None:
        with lock:
            if not why_stopped:
                why_stopped.append(reason)
            stop.set()
            for child in list(live):
                with contextlib.suppress(ProcessLookupError, OSError):
                    os.killpg(child.process.pid, signal.SIGKILL)

    def record(result: Result) -> None:
        nonlocal adapter_failures
        with lock:
            if stop.is_set() and result.reason in ADAPTER_FAILURES:
                return  # ended by the stop, not by the adapter: never run
            results[result.id] = result
            if result.reason in ADAPTER_FAILURES:
                adapter_failures += 1
            if progress is not None:
                progress(result, len(results), len(vectors))
            limit_hit = max_failures and adapter_failures >= max_failures
        if limit_hit:
            halt(f"stopped after {adapter_failures} crashes, timeouts or protocol errors")

    def start_adapter() -> AdapterProcess:
        adapter = AdapterProcess(command, timeout_s)
        with lock:
            live.add(adapter)
        if stop.is_set():
            halt("")
        return adapter

    def end(adapter: AdapterProcess, politely: bool) -> None:
        with lock:
            live.discard(adapter)
        if politely and not stop.is_set():
            adapter.close()
        else:
            adapter.kill()

    def worker() -> None:
        adapter: AdapterProcess | None = None
        failed_starts = 0
        while not stop.is_set():
            try:
                vector = work.get_nowait()
            except queue.Empty:
                break
            if adapter is None:
                try:
                    adapter = start_adapter()
                    reply = adapter.handshake()
                    with lock:
                        hello.update(reply)
                    failed_starts = 0
                except (AdapterFailure, OSError) as problem:
                    if adapter is not None:
                        end(adapter, politely=False)
                    adapter = None
                    failed_starts += 1
                    work.put(vector)
                    if failed_starts >= 2:
                        with lock:
                            hello.setdefault("error", f"adapter does not start: {problem}")
                        break
                    continue
            unsupported = {step.kind for step, _ in vector.steps} - set(
                adapter.hello["capabilities"]
            )
            if unsupported:
                record(Result(vector.id, "not-run", "unsupported", sorted(unsupported)))
                continue
            began = time.perf_counter()
            try:
                problems = judge(vector, adapter.exchange(_request(vector)))
                if problems and any("root" in p for p in problems):
                    difference = _state_diff(vector, adapter)
                    if difference:
                        problems.append(f"first state difference: {difference}")
                reason = "adapter-error" if problems and "could not run" in problems[0] else ""
                status = "fail" if problems else "pass"
                record(
                    Result(
                        vector.id,
                        status,
                        reason or ("mismatch" if problems else ""),
                        problems,
                        time.perf_counter() - began,
                    )
                )
            except (AdapterFailure, OSError, ValueError) as failure:
                kind = failure.kind if isinstance(failure, AdapterFailure) else "crash"
                message = failure.message if isinstance(failure, AdapterFailure) else str(failure)
                record(Result(vector.id, "fail", kind, [message], time.perf_counter() - began))
                end(adapter, politely=False)
                adapter = None
        if adapter is not None:
            end(adapter, politely=True)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, jobs))]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():  # short waits, so that a signal is handled at once
                thread.join(0.1)
                if stop.is_set() and not why_stopped:
                    halt("interrupted")
    except BaseException:
        halt("interrupted")
        _join(threads)
        raise
    if stop.is_set():
        halt("interrupted")
        _join(threads)
    ordered = []
    for vector in vectors:
        ordered.append(
            results.get(vector.id)
            or Result(
                vector.id,
                "not-run",
                "never-run",
                [hello.get("error") or (why_stopped[0] if why_stopped else "not reached")],
            )
        )
    implementation: dict[str, Any] = {
        k: hello[k] for k in ("name", "version", "capabilities") if k in hello
    }
    if "error" in hello:
        implementation["error"] = hello["error"]
    stopped = why_stopped[0] if why_stopped else ""
    return Report(implementation, ordered, time.perf_counter() - started, stopped)


ADAPTER_FAILURES: Final = ("crash", "timeout", "protocol")


def _join(threads: list[threading.Thread], within_s: float = 1.5) -> None:
    """Wait a little for workers whose children were killed (they are daemons either way)."""
    deadline = time.monotonic() + within_s
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


# --- Reports ------------------------------------------------------------------------------------


def junit_xml(report: Report) -> bytes:
    """The report as JUnit XML: one testcase per vector, classname = its group."""
    from xml.etree import ElementTree as ET

    suite = ET.Element(
        "testsuite",
        name="kwhledger-conformance",
        tests=str(len(report.results)),
        failures=str(report.count("fail")),
        skipped=str(report.count("not-run")),
        time=f"{report.seconds:.3f}",
    )
    for result in report.results:
        group, _, name = result.id.rpartition("/")
        case = ET.SubElement(
            suite, "testcase", classname=group, name=name, time=f"{result.seconds:.4f}"
        )
        if result.status == "fail":
            failure = ET.SubElement(case, "failure", message=f"{result.reason}", type=result.reason)
            failure.text = "\n".join(result.details)
        elif result.status == "not-run":
            ET.SubElement(case, "skipped", message=f"{result.reason}: {' '.join(result.details)}")
    return bytes(ET.tostring(suite, encoding="utf-8", xml_declaration=True))


def results_json(report: Report) -> dict[str, Any]:
    """The report as plain data for tools (written as JSON by the CLI)."""
    return {
        "implementation": report.implementation,
        "summary": {
            "vectors": len(report.results),
            "passed": report.count("pass"),
            "failed": report.count("fail"),
            "not_run": report.count("not-run"),
            "seconds": round(report.seconds, 3),
            "vectors_per_second": round(len(report.results) / report.seconds, 1)
            if report.seconds
            else None,
        },
        "never_run": [r.id for r in report.results if r.status == "not-run"],
        "vectors": [
            {
                "id": r.id,
                "status": r.status,
                "reason": r.reason,
                "details": r.details,
                "seconds": round(r.seconds, 4),
            }
            for r in report.results
        ],
    }


def failures_text(results: Iterable[Result]) -> str:
    """Readable blocks for every failed vector."""
    blocks = []
    for r in results:
        if r.status != "fail":
            continue
        lines = [f"FAIL {r.id} ({r.reason})"] + [f"    {d}" for d in r.details]
        blocks.append("\n".join(lines))
    return "\n".join(blocks)
