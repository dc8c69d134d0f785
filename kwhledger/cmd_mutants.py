"""``kwhledger mutants``: seeded bugs in spec/ and reference/, scored against the suite."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "mutants",
        help="plant seeded bugs in copies of the spec and the reference node, run the whole "
        "conformance suite (and optionally the tests) against each, print the score",
    )
    parser.add_argument(
        "--impl",
        choices=["spec", "reference"],
        action="append",
        help="only this implementation's mutants (repeatable)",
    )
    parser.add_argument(
        "--family",
        choices=["catalogue", "dropped-check"],
        action="append",
        help="only this family (repeatable; default both)",
    )
    parser.add_argument(
        "--only", action="append", default=[], metavar="NAME", help="only this mutant (repeatable)"
    )
    parser.add_argument(
        "--tests",
        action="store_true",
        help="also run the implementation's pytest files on each mutant (slow; needs a clone)",
    )
    parser.add_argument(
        "--all-vectors",
        action="store_true",
        help="name every catching vector instead of stopping at the first",
    )
    parser.add_argument("--jobs", type=int, default=1, help="mutants judged in parallel")
    parser.add_argument("--vectors", type=Path, help="suite directory (default: the bundled one)")
    parser.add_argument(
        "--json", type=Path, metavar="FILE", help="write the full score as JSON here"
    )
    parser.add_argument(
        "--strict", action="store_true", help="fail on a surviving dropped check too"
    )
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from conformance_tests import mutation, runner

    mutants = mutation.all_mutants(families=args.family or ("catalogue", "dropped-check"))
    mutants = [
        m for m in mutants
        if (not args.impl or m.impl in args.impl) and (not args.only or m.name in args.only)
    ]  # fmt: skip
    if not mutants:
        print("no mutant matches", file=sys.stderr)
        return 2
    if args.list:
        for m in mutants:
            print(f"{m.name}\t{m.impl}\t{m.family}\t{m.breaks}")
        return 0

    def progress(verdict: mutation.Verdict, done: int, total: int) -> None:
        caught_by = (verdict.vectors or verdict.tests or ["-"])[0]
        print(
            f"[{done}/{total}] {verdict.name}: {verdict.status} ({caught_by}) {verdict.seconds} s",
            file=sys.stderr,
            flush=True,
        )

    score = mutation.run(
        mutants,
        args.vectors or runner.default_suite_dir(),
        with_tests=args.tests,
        stop_after=None if args.all_vectors else 1,
        jobs=args.jobs,
        progress=progress,
    )
    if args.json:
        args.json.write_text(json.dumps(score.to_json(), indent=1) + "\n")
    print(mutation.markdown(score))
    figures = score.summary()
    planted = sum(f["planted"] for f in figures.values())
    caught = sum(f["caught"] for f in figures.values())
    print(f"{caught} of {planted} seeded bugs caught in {score.seconds:.0f} s")
    return 0 if (score.strictly_ok if args.strict else score.ok) else 1
