"""``kwhledger conform --impl COMMAND``: run the conformance suite against an implementation.

Ctrl-C or SIGTERM stops the run at once: every adapter process is ended, the results of what ran
are still written, and the exit status is 130 (143 for SIGTERM). After ``--max-failures``
crashes, timeouts or protocol errors the run stops too (an adapter that hangs on every vector
would otherwise cost the timeout times the whole suite).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from kwhledger.args import CliError, output_file, positive_float, positive_int, suite_dir


def register(sub: Any) -> None:
    from conformance_tests.runner import DEFAULT_MAX_FAILURES

    parser = sub.add_parser(
        "conform", help="run the conformance vectors against an implementation's adapter"
    )
    parser.add_argument(
        "--impl",
        required=True,
        help='command that starts the adapter, e.g. "kwhledger adapter spec"',
    )
    parser.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="SEL",
        help="vector id or glob, group prefix, rule id or flag (repeatable; default: all)",
    )
    parser.add_argument(
        "--jobs", type=positive_int, default=1, help="adapter processes in parallel"
    )
    parser.add_argument("--timeout", type=positive_float, default=60.0, help="seconds per vector")
    parser.add_argument(
        "--max-failures",
        type=int,
        default=DEFAULT_MAX_FAILURES,
        metavar="N",
        help="stop after N crashes, timeouts or protocol errors (0: never stop)",
    )
    parser.add_argument("--junit", type=output_file, help="write JUnit XML here")
    parser.add_argument(
        "--results", type=output_file, help="write machine-readable results (JSON) here"
    )
    parser.add_argument(
        "--vectors", type=suite_dir, help="suite directory (default: the bundled one)"
    )
    parser.add_argument(
        "--vector",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="run this vector file instead of a suite (repeatable; e.g. one kwhledger fuzz wrote)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.add_argument("--verbose", action="store_true", help="one PASS line per passing vector")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from conformance_tests import runner
    from conformance_tests.vector import FormatError, read_vector

    if args.max_failures < 0:
        raise CliError("--max-failures must be 0 (never stop) or more")
    suite = args.vectors or runner.default_suite_dir()
    try:
        if args.vector:
            vectors = [read_vector(path.read_bytes()) for path in args.vector]
        else:
            vectors = runner.load_vectors(suite, args.select)
    except (runner.SuiteError, FormatError, OSError) as problem:
        where = ", ".join(map(str, args.vector)) or f"the suite in {suite}"
        raise CliError(f"cannot load {where}: {problem}") from None
    if not vectors:
        raise CliError("no vector matches the selection (see kwhledger vectors list --select)")
    interactive = sys.stderr.isatty() and not args.quiet

    def progress(result: runner.Result, done: int, total: int) -> None:
        if result.status == "fail":
            print(("\r" if interactive else "") + runner.failures_text([result]), file=sys.stderr)
        elif args.verbose:
            line = f"{result.status.upper()} {result.id} ({result.seconds * 1000:.0f} ms)"
            print(("\r" if interactive else "") + line, file=sys.stderr)
        if interactive:
            print(f"\r{done}/{total} vectors", end="", file=sys.stderr, flush=True)
        elif not args.quiet and (done % 100 == 0 or done == total):
            print(f"{done}/{total} vectors", file=sys.stderr, flush=True)

    stop = threading.Event()
    received: list[int] = []

    def on_signal(number: int, _frame: Any) -> None:
        received.append(number)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        report = runner.run_suite(
            args.impl, vectors, args.jobs, args.timeout, progress, args.max_failures, stop
        )
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if interactive:
        print(file=sys.stderr)
    if not report.started and not received:
        error = report.implementation.get("error", "no adapter completed its handshake")
        raise CliError(f"{error} (command: {args.impl})")
    if args.junit:
        args.junit.write_bytes(runner.junit_xml(report))
    summary = runner.results_json(report)
    if args.results:
        args.results.write_text(json.dumps(summary, indent=1) + "\n")
    impl = report.implementation
    numbers = summary["summary"]
    print(
        f"{impl.get('name', '?')} {impl.get('version', '')}: {numbers['passed']} passed, "
        f"{numbers['failed']} failed, {numbers['not_run']} not run of {numbers['vectors']} "
        f"in {numbers['seconds']:.1f} s ({numbers['vectors_per_second']} vectors/s)"
    )
    if report.stopped:
        print(f"kwhledger conform: {report.stopped}; the rest were not run", file=sys.stderr)
    if received:
        return 128 + received[0]
    return 0 if report.ok else 1
