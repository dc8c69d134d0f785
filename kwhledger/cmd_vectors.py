"""``kwhledger vectors``: list, show, generate or check the conformance suite.

The committed suite is the folder ``conformance_tests/`` of the clone: after a rule change,
``kwhledger vectors generate --out conformance_tests`` rewrites it (vectors, index, manifest,
sums) and ``kwhledger vectors check`` compares a fresh generation with it byte for byte.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from kwhledger.args import CliError, output_dir, suite_dir
from kwhledger.progress import heartbeat


def register(sub: Any) -> None:
    parser = sub.add_parser("vectors", help="list, show, generate or check the conformance vectors")
    actions = parser.add_subparsers(dest="vectors_command", required=True)
    listing = actions.add_parser("list", help="list the vectors: id, steps, flags")
    listing.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="SEL",
        help="vector id or glob, group prefix, rule id or flag (repeatable; default: all)",
    )
    listing.add_argument("--dir", type=suite_dir, help="suite directory (default: ours)")
    listing.set_defaults(run=run_list)
    generate = actions.add_parser(
        "generate",
        help="write the whole suite into a directory (the committed one: --out conformance_tests)",
    )
    generate.add_argument(
        "--out",
        required=True,
        type=output_dir,
        help="suite directory to write; in a clone, conformance_tests updates the committed suite",
    )
    generate.set_defaults(run=run_generate)
    check = actions.add_parser(
        "check", help="regenerate in memory and compare with a directory, byte for byte"
    )
    check.add_argument("--dir", type=suite_dir, help="suite directory (default: ours)")
    check.set_defaults(run=run_check)
    show = actions.add_parser("show", help="print one vector in CBOR diagnostic notation")
    show.add_argument("id", help="vector id")
    show.add_argument("--dir", type=suite_dir, help="suite directory (default: ours)")
    show.add_argument("--states", action="store_true", help="also print the pre- and post-state")
    show.set_defaults(run=run_show)


def run_generate(args: argparse.Namespace) -> int:
    from conformance_tests.generate import GenerationError, generate

    started = time.perf_counter()
    try:
        with heartbeat("generating the vectors"):
            files = generate(args.out)
    except GenerationError as problem:
        raise CliError(f"generation failed: {problem}") from None
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
    with tempfile.TemporaryDirectory() as scratch, heartbeat("generating the vectors"):
        files = generate(Path(scratch))
    differing = [
        path
        for path, data in sorted(files.items())
        if not (directory / path).is_file() or (directory / path).read_bytes() != data
    ]
    committed = {str(p.relative_to(directory)) for p in (directory / "vectors").rglob("*.cbor")}
    extra = sorted(committed - set(files))
    for path in differing[:20]:
        print(f"differs: {path}")
    for path in extra[:20]:
        print(f"not generated: {path}")
    if len(differing) > 20 or len(extra) > 20:
        print("... (20 of each shown)")
    if differing or extra:
        print(
            f"{len(differing)} of {len(files)} files differ from a fresh generation, "
            f"{len(extra)} are not generated: regenerate with "
            f"kwhledger vectors generate --out {directory}"
        )
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
        raise CliError(str(problem)) from None
    if not found:
        raise CliError(f"no vector {args.id} (see kwhledger vectors list)")
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


def run_list(args: argparse.Namespace) -> int:
    from conformance_tests.runner import SuiteError, default_suite_dir, load_index, selected

    directory = args.dir or default_suite_dir()
    try:
        entries = [e for e in load_index(directory) if selected(e, args.select)]
    except (SuiteError, OSError) as problem:
        raise CliError(f"cannot read the suite in {directory}: {problem}") from None
    if not entries:
        raise CliError("no vector matches the selection")
    width = max(len(e["id"]) for e in entries)
    for e in entries:
        print(f"{e['id']:<{width}}  {e['steps']:>3} steps  {' '.join(e['flags'])}")
    print(f"{len(entries)} vectors", file=sys.stderr)
    return 0
