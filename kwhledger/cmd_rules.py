"""``kwhledger rules``: print the rule book."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from spec.rules import RULES


def register(sub: Any) -> None:
    parser = sub.add_parser("rules", help="print the rule book (--json for tools)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
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
    print(f"{'id':<7} {'kind':<9} {'code':>4} {'name':<26} title")
    for r in RULES:
        code = "" if r.code is None else str(r.code)
        print(f"{r.id:<7} {r.kind.value:<9} {code:>4} {r.code_name or '':<26} {r.title}")
    kinds = [r.kind.value for r in RULES]
    summary = ", ".join(f"{kinds.count(k)} {k}" for k in ("validity", "invariant", "procedure"))
    print(f"\n{len(RULES)} rules: {summary}")
    return 0
