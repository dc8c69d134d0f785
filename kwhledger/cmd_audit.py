"""``kwhledger audit``: run every check and write the audit report."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from kwhledger.args import output_dir
from kwhledger.audit import PACKAGE_ROOT, STEPS, context, run_audit


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "audit",
        help="run proofs, vectors, conformance, differential check and a village day; "
        "write the audit report with the traceability matrix",
        description="Run every check of the clone around the current folder and write "
        "audit.html, audit.md and audit.json. Steps: "
        + ", ".join(build.__name__.removesuffix("_step") for build in STEPS)
        + ". Several minutes on a 2-core machine (the README gives measured times).",
    )
    parser.add_argument(
        "--out",
        type=output_dir,
        default=None,
        help="report folder (default: out/audit in the clone's root)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="run no step: rebuild the report from what the folder holds (never passes)",
    )
    parser.set_defaults(run=run)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _interrupt(number: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {number}")


def run(args: argparse.Namespace) -> int:
    # SIGTERM stops the audit as Ctrl-C does: the running step's processes are ended with it.
    signal.signal(signal.SIGTERM, _interrupt)
    ctx = context(args.out, Path.cwd())
    if ctx.clone is not None and ctx.clone != PACKAGE_ROOT:
        # The installed package is another copy: audit the clone's own code.
        env = dict(os.environ, PYTHONPATH=str(ctx.clone))
        command = [sys.executable, "-m", "kwhledger.cli", "audit", "--out", str(ctx.out)]
        command += ["--report-only"] if args.report_only else []
        return subprocess.run(command, cwd=ctx.clone, env=env, check=False).returncode
    if ctx.clone is None:
        _say(
            "[audit] not inside a kwhledger clone (no pyproject.toml with spec/ and tests/ at "
            "or above this folder). It can run the proofs, the vectors check, both conformance "
            "runs and the village day on the installed package; it cannot run the differential "
            "check or read the tests' rule claims, which need the clone's tests/. Those are "
            "reported as not run and the audit fails: run it inside a clone for a full audit."
        )
    _say(f"[audit] report folder: {ctx.out}")
    audit = run_audit(ctx, _say, steps=not args.report_only)
    print(f"audit {'passed' if audit.ok else 'FAILED'}: {ctx.out / 'audit.html'}")
    return 0 if audit.ok else 1
