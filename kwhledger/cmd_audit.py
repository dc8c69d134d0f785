"""``kwhledger audit``: run every check and write the audit report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kwhledger.audit import run_audit


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "audit",
        help="run proofs, vectors, conformance, differential check and a village day; "
        "write the audit report with the traceability matrix",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("out/audit"), help="report folder (default out/audit)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    ok = run_audit(args.out, lambda line: print(line, file=sys.stderr, flush=True))
    print(f"audit {'passed' if ok else 'FAILED'}: {args.out / 'audit.html'}")
    return 0 if ok else 1
