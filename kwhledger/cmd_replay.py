"""``kwhledger replay CHAIN``: re-execute a chain through the executable spec."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kwhledger.args import positive_int


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "replay",
        help="re-execute a chain (a node's SQLite store or a CBOR sequence of blocks) through "
        "the executable spec, checking every state root and receipt",
        description="Re-execute a chain through the executable spec: every block's header, "
        "quorum, transactions and state root, and the receipts the node stored. Reports the "
        "first divergence (block, transaction, rule, first differing state entry) and exits 1; "
        "exits 0 when every root is equal. The reference node replays the same blocks in the "
        "same run, and both rates are printed.",
    )
    parser.add_argument("chain", type=Path, help="SQLite store of a node, or a CBOR sequence")
    parser.add_argument(
        "--genesis",
        type=Path,
        help="genesis state (canonical CBOR) when the sequence holds blocks only",
    )
    parser.add_argument(
        "--no-reference", action="store_true", help="do not replay through the reference node"
    )
    parser.add_argument(
        "--export", type=Path, metavar="FILE", help="write the chain as a CBOR sequence and stop"
    )
    parser.add_argument(
        "--blocks",
        type=positive_int,
        metavar="N",
        help="replay only the first N blocks (a long chain's rates, measured on a prefix)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable summary")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from kwhledger.replay import export_sequence, open_chain, replay

    try:
        chain = open_chain(args.chain, args.genesis)
    except (OSError, ValueError) as problem:
        print(f"replay: {problem}", file=sys.stderr)
        return 2
    if args.export is not None:
        count = export_sequence(chain, args.export)
        print(f"wrote genesis and {count} blocks to {args.export}")
        return 0

    def progress(message: str) -> None:
        print(f"... {message}", file=sys.stderr, flush=True)

    try:
        result = replay(
            chain,
            with_reference=not args.no_reference,
            progress=progress,
            max_blocks=args.blocks,
        )
    except ValueError as problem:
        print(f"replay: {problem}", file=sys.stderr)
        return 2
    rates = result.rates()
    divergence = result.divergence
    failed = divergence is not None or result.reference_disagrees is not None
    if args.json:
        out = {
            "chain": result.source,
            "blocks": result.blocks,
            "transactions": result.transactions,
            "roots_checked": result.roots_checked,
            "settlement_roots_checked": result.settlement_roots_checked,
            "settlement_records": result.settlement_records,
            "stored_settlements_checked": result.stored_settlements_checked,
            "receipts_checked": result.receipts_checked,
            "receipts_not_in_blocks": result.receipts_not_in_blocks,
            "spec_seconds": result.spec_seconds,
            "reference_seconds": result.reference_seconds,
            **rates,
            "divergence": None
            if divergence is None
            else divergence.__dict__
            | {
                "tx_id": None if divergence.tx_id is None else divergence.tx_id.hex(),
                "summary": divergence.summary(),
            },
            "reference_disagrees": result.reference_disagrees,
            "notes": result.notes,
        }
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 1 if failed else 0
    print(f"chain: {result.source} ({chain.count} blocks)")
    for note in result.notes:
        print(f"note: {note}")
    print(
        f"spec:  {result.blocks} blocks, {result.transactions:,} transactions, "
        f"{result.roots_checked} state roots equal, {result.receipts_checked:,} receipts equal "
        f"({result.receipts_not_in_blocks:,} receipts of transactions left out of blocks)"
    )
    print(
        f"       {result.settlement_roots_checked} settlement roots equal "
        f"({result.settlement_records:,} settlement records; the records the store kept give "
        f"the same root for {result.stored_settlements_checked} blocks)"
    )
    if rates["spec_blocks_per_second"] is not None:
        print(
            f"spec replay       {result.spec_seconds:>9.1f} s  "
            f"{rates['spec_blocks_per_second']:>9.2f} blocks/s  "
            f"{rates['spec_transactions_per_second']:>10,.0f} transactions/s"
        )
    if result.reference_seconds is not None and rates["reference_blocks_per_second"]:
        print(
            f"reference replay  {result.reference_seconds:>9.1f} s  "
            f"{rates['reference_blocks_per_second']:>9.2f} blocks/s"
        )
        print(
            f"spec rate / reference rate: {rates['spec_to_reference']:.3f} "
            f"(1/{1 / rates['spec_to_reference']:.1f}), measured in this run"
            if rates["spec_to_reference"]
            else "spec rate / reference rate: n/a"
        )
    if divergence is not None:
        if divergence.entry is not None:
            print(
                "first differing state entry (expected: the chain's, as the node holds it; "
                f"got: the spec's): {divergence.entry}"
            )
        print(f"replay: DIVERGED {divergence.summary()}")
        return 1
    if result.reference_disagrees is not None:
        print(
            f"replay: the chain follows the spec, but the reference node disagrees at "
            f"{result.reference_disagrees}"
        )
        return 1
    print(
        f"replay: OK, every one of {result.roots_checked} state roots and "
        f"{result.settlement_roots_checked} settlement roots equal"
    )
    return 0
