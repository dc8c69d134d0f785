"""``kwhledger conform --impl COMMAND``: run the conformance suite against an implementation."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
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
    parser.add_argument("--jobs", type=int, default=1, help="adapter processes in parallel")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per vector")
    parser.add_argument("--junit", type=Path, help="write JUnit XML here")
    parser.add_argument("--results", type=Path, help="write machine-readable results (JSON) here")
    parser.add_argument("--vectors", type=Path, help="suite directory (default: the bundled one)")
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

    suite_dir = args.vectors or runner.default_suite_dir()
    try:
        if args.vector:
            vectors = [read_vector(path.read_bytes()) for path in args.vector]
        else:
            vectors = runner.load_vectors(suite_dir, args.select)
    except (runner.SuiteError, FormatError, OSError) as problem:
        print(f"cannot load the vectors: {problem}", file=sys.stderr)
        return 2
    if not vectors:
        print("no vector matches the selection", file=sys.stderr)
        return 2
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

    report = runner.run_suite(args.impl, vectors, args.jobs, args.timeout, progress)
    if interactive:
        print(file=sys.stderr)
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
    if "error" in impl:
        print(impl["error"], file=sys.stderr)
    never = summary["never_run"]
    if never:
        shown = ", ".join(never[:10]) + (" ..." if len(never) > 10 else "")
        print(f"never run: {len(never)} ({shown})")
    return 0 if report.ok else 1
