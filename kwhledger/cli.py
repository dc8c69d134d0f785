"""``kwhledger``: one program, one subcommand per job."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from spec.rules import RULES


def _rules(args: argparse.Namespace) -> int:
    if args.json:
        rows = [
            {
                "id": r.id,
                "title": r.title,
                "kind": r.kind.value,
                "code": r.code,
                "code_name": r.code_name,
                "statement": r.statement,
            }
            for r in RULES
        ]
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    width = max(len(r.title) for r in RULES)
    print(f"{'id':<7} {'kind':<9} {'code':>4} {'name':<26} {'title':<{width}}")
    for r in RULES:
        code = "" if r.code is None else str(r.code)
        print(f"{r.id:<7} {r.kind.value:<9} {code:>4} {r.code_name or '':<26} {r.title}")
    kinds = [r.kind.value for r in RULES]
    summary = ", ".join(f"{kinds.count(k)} {k}" for k in ("validity", "invariant", "procedure"))
    print(f"\n{len(RULES)} rules: {summary}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kwhledger", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rules = sub.add_parser("rules", help="print the rule book")
    rules.add_argument("--json", action="store_true", help="machine-readable output")
    rules.set_defaults(run=_rules)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
