"""``kwhledger adapter IMPL``: serve the conformance adapter protocol on stdin/stdout.

``spec`` is the executable spec; ``reference`` is the reference node, whose package provides
``reference.adapter.serve(stdin, stdout) -> int`` (see conformance_tests/ADAPTER.md).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "adapter", help="serve the conformance adapter protocol (for kwhledger conform --impl)"
    )
    parser.add_argument("implementation", choices=["spec", "reference"])
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.implementation == "spec":
        from conformance_tests.adapter import serve
        from conformance_tests.generate import spec_version
        from conformance_tests.spec_adapter import SpecImplementation

        return serve(SpecImplementation(spec_version()), sys.stdin.buffer, sys.stdout.buffer)
    try:
        module = importlib.import_module("reference.adapter")
        serve_reference = module.serve
    except (ImportError, AttributeError) as problem:
        print(
            "kwhledger adapter reference: the reference node has no adapter yet "
            f"(reference.adapter.serve(stdin, stdout) is missing: {problem})",
            file=sys.stderr,
        )
        return 2
    result: int = serve_reference(sys.stdin.buffer, sys.stdout.buffer)
    return result
