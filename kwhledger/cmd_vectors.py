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
    show = actions.add_parser("show", help="print one vector in CBOR diagnostic notation")
    show.add_argument("id", help="vector id")
    show.add_argument("--dir", type=Path, default=None, help="suite directory (default: ours)")
    show.add_argument("--states", action="store_true", help="also print the pre- and post-state")
    show.set_defaults(run=run_show)


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


def run_show(args: argparse.Namespace) -> int:
    from conformance_tests.diag import diag
    from conformance_tests.runner import SuiteError, default_suite_dir, load_vectors
    from spec.cbor import decode

    directory = args.dir or default_suite_dir()
    try:
        found = [v for v in load_vectors(directory, [args.id]) if v.id == args.id]
    except SuiteError as problem:
        print(problem, file=sys.stderr)
        return 2
    if not found:
        print(f"no vector {args.id}", file=sys.stderr)
        return 2
    vector = found[0]
    print(f"id:          {vector.id}")
    print(f"description: {vector.description}")
    print(f"rules:       {' '.join(vector.rules)}")
    print(f"flags:       {' '.join(vector.flags)}")
    print(f"transitions: {' '.join(vector.transitions) or '-'}")
    if vector.twin:
        print(f"twin:        {vector.twin}")
    print(f"pre-state root:  {vector.pre_state_root.hex()}")
    for index, (step, outcome) in enumerate(vector.steps):
        what = f"time {step.time}" if step.kind == "tick" else diag(step.input, 24)
        verdict = "accepted" if outcome.code == 0 else f"rejected {outcome.code} {outcome.rule}"
        print(f"step {index}: {step.kind} {what}")
        print(f"    expect {verdict}, root {outcome.root.hex()}")
        if step.kind != "tick":
            assert step.input is not None
            try:
                print(f"    input  {diag(decode(step.input, max_size=2**26), 12, 8)}")
            except Exception as problem:  # malformed on purpose: say why it does not decode
                print(f"    input  does not decode: {problem}")
        if outcome.block_receipt is not None:
            print(f"    receipt {diag(outcome.block_receipt, 8)}")
    print(f"post-state root: {vector.post_state_root.hex()}")
    if args.states:
        for name, data in (("pre-state", vector.pre_state), ("post-state", vector.post_state)):
            print(f"{name}: {diag(decode(data, max_size=2**26), 12, 40, 8)}")
    return 0
