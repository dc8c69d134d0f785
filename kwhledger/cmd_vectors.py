"""``kwhledger vectors``: generate or check the conformance suite."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser("vectors", help="generate or check the conformance vectors")
    actions = parser.add_subparsers(dest="vectors_command", required=True)
    generate = actions.add_parser("generate", help="write the whole suite into a directory")
    generate.add_argument("--out", required=True, type=Path, help="directory to write")
    generate.set_defaults(run=run_generate)
    check = actions.add_parser(
        "check", help="regenerate in memory and compare with a directory, byte for byte"
    )
    check.add_argument("--dir", type=Path, default=None, help="suite directory (default: ours)")
    check.set_defaults(run=run_check)


def run_generate(args: argparse.Namespace) -> int:
    from conformance_tests.generate import GenerationError, generate

    started = time.perf_counter()
    try:
        files = generate(args.out)
    except GenerationError as problem:
        print(f"generation failed: {problem}", file=sys.stderr)
        return 1
    vectors = sum(1 for path in files if path.startswith("vectors/"))
    size = sum(len(data) for data in files.values())
    elapsed = time.perf_counter() - started
    print(f"{vectors} vectors, {len(files)} files, {size / 1e6:.1f} MB in {elapsed:.1f} s")
    return 0


def run_check(args: argparse.Namespace) -> int:
    import tempfile

    from conformance_tests.generate import generate
    from conformance_tests.runner import default_suite_dir

    directory = args.dir or default_suite_dir()
    with tempfile.TemporaryDirectory() as scratch:
        files = generate(Path(scratch))
    differing = [
        path
        for path, data in sorted(files.items())
        if not (directory / path).is_file() or (directory / path).read_bytes() != data
    ]
    committed = {str(p.relative_to(directory)) for p in (directory / "vectors").rglob("*.cbor")}
    extra = sorted(committed - set(files))
    for path in differing:
        print(f"differs: {path}")
    for path in extra:
        print(f"not generated: {path}")
    if differing or extra:
        return 1
    print(f"{len(files)} files identical to a fresh generation")
    return 0
