"""``kwhledger fuzz --impl CMD [--impl CMD2]``: differential fuzzing through the adapters."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "fuzz",
        help="drive an implementation's adapter with random scenarios and compare every receipt "
        "and root with the spec (or with a second implementation); a divergence is shrunk and "
        "written as a vector",
    )
    parser.add_argument(
        "--impl",
        action="append",
        required=True,
        metavar="CMD",
        help="command that starts an adapter; once: compared with the spec; twice: with each other",
    )
    parser.add_argument("--seed", type=int, default=0, help="first Hypothesis seed (default 0)")
    parser.add_argument("--count", type=int, help="scenarios to try (default 500 without --time)")
    parser.add_argument("--time", type=float, metavar="SECONDS", help="time budget")
    parser.add_argument("--steps", type=int, default=24, help="most steps per scenario")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per scenario")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("fuzz-divergence.cbor"),
        help="where to write the shrunk divergence as a vector (default fuzz-divergence.cbor)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from conformance_tests import fuzz

    if len(args.impl) > 2:
        print("give one --impl (against the spec) or two (against each other)", file=sys.stderr)
        return 2
    count = args.count if args.count is not None else (None if args.time else 500)

    def progress(campaign: fuzz.Campaign) -> None:
        if not args.quiet:
            print(
                f"{campaign.examples} scenarios, {campaign.steps} steps "
                f"({campaign.accepted_steps} accepted), {campaign.seconds:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    campaign = fuzz.fuzz(
        args.impl,
        seed_value=args.seed,
        max_examples=count,
        max_seconds=args.time,
        max_steps=args.steps,
        timeout_s=args.timeout,
        progress=progress,
    )
    against = args.impl[1] if len(args.impl) == 2 else "the spec"
    share = campaign.accepted_steps / campaign.steps if campaign.steps else 0.0
    summary = (
        f"{campaign.examples} scenarios ({campaign.steps} steps, {share:.0%} accepted) in "
        f"{campaign.seconds:.1f} s, seed {args.seed}, {args.impl[0]} against {against}"
    )
    if campaign.finding is None:
        print(f"no divergence: {summary}")
        return 0
    finding = campaign.finding
    vector = finding.vector(
        f"fuzz/seed-{args.seed}",
        f"Found by kwhledger fuzz --seed {args.seed} ({args.impl[0]} against {against}), shrunk "
        f"to {len(finding.draft.steps)} steps: {finding.message}. Expectations are the "
        "executable spec's.",
    )
    args.out.write_bytes(vector.encode())
    print(f"DIVERGENCE: {finding.message}")
    print(f"shrunk to {len(finding.draft.steps)} steps; vector written to {args.out}")
    print(f"replay: kwhledger conform --vector {args.out} --impl '{args.impl[0]}'")
    print(summary)
    return 1
