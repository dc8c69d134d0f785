"""``kwhledger prove``: discharge every Z3 proof obligation and write the reports.

Runs each obligation of ``proofs.obligations`` (in parallel), shows progress on stderr, prints a
table (obligation, rule ids, status, time), writes ``proofs.json``, ``proofs.md`` and one SMT-LIB 2
file per obligation under ``--out``, and exits 1 unless every obligation is proved with a
satisfiable vacuity witness. ``--mutants`` runs the seeded bugs instead and exits 1 unless each is
caught by some obligation with a counterexample.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from kwhledger.args import CliError, output_dir, output_file, positive_float, positive_int
from proofs import obligations, runner


def register(sub: Any) -> None:
    parser = sub.add_parser("prove", help="discharge the Z3 proof obligations (proofs/)")
    parser.add_argument(
        "--json", metavar="FILE", type=output_file, help="also write the JSON report here"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=output_dir,
        default=Path("out/proofs"),
        help="report and SMT-LIB directory",
    )
    parser.add_argument("--mutants", action="store_true", help="run the seeded bugs instead")
    parser.add_argument(
        "--jobs", type=positive_int, default=min(2, os.cpu_count() or 1), help="worker processes"
    )
    parser.add_argument(
        "--timeout", type=positive_float, default=30.0, help="seconds per solver call"
    )
    parser.add_argument("--only", metavar="PREFIX", help="only obligations whose name starts so")
    parser.add_argument(
        "--seed", type=int, default=0, help="Z3 random seed (try several to see timing spread)"
    )
    parser.set_defaults(run=run)


def _progress(done: int, total: int, result: runner.Result) -> None:
    label = f"{result.mutant} " if result.mutant else ""
    sys.stderr.write(
        f"[{done:>4}/{total}] {result.status:<8} {label}{result.name} ({result.seconds:.2f} s)\n"
    )


def _table(results: list[runner.Result]) -> str:
    width = max((len(r.name) for r in results), default=10)
    lines = [f"{'obligation':<{width}}  {'rules':<34} {'status':<9} {'time':>7}"]
    for r in sorted(results, key=lambda r: r.name):
        rules = " ".join(r.rule_ids[:4]) + (" ..." if len(r.rule_ids) > 4 else "")
        status = r.status + ("*" if r.tautology else "")
        lines.append(f"{r.name:<{width}}  {rules:<34} {status:<9} {r.seconds:>6.2f}s")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    names = obligations.names()
    if args.only:
        names = [n for n in names if n.startswith(args.only)]
        if not names:
            prefixes = sorted({n.split("/")[0] + "/" for n in obligations.names()})
            raise CliError(
                f"no obligation name starts with {args.only!r}; names start with "
                + ", ".join(prefixes)
            )
    out.mkdir(parents=True, exist_ok=True)
    if args.mutants:
        return _run_mutants(args, out)
    report = runner.prove_all(
        names, max(1, args.jobs), args.timeout, str(out), _progress, seed=args.seed
    )
    data = report.to_json()
    text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    (out / "proofs.json").write_text(text, encoding="utf-8")
    (out / "proofs.md").write_text(report.to_markdown(), encoding="utf-8")
    if args.json:
        Path(args.json).write_text(text, encoding="utf-8")
    print(_table(report.results))
    summary = data["summary"]
    print(
        f"\n{summary['obligations']} obligations: {summary['by_status']} in "
        f"{summary['seconds']} s ({args.jobs} processes); * = tautology flagged; "
        f"reports in {out}"
    )
    for r in report.results:
        if r.status != "proved":
            print(f"\nNOT PROVED {r.name}: {r.status} {r.detail}")
            if r.counterexample:
                print(json.dumps(r.counterexample, indent=2))
    # A partial run (--only) is not expected to cover every invariant.
    missing = [] if args.only else summary["invariants_without_proof"]
    if missing:
        print(f"invariants without a proved obligation: {', '.join(missing)}")
    return 0 if report.all_proved and not missing else 1


def _run_mutants(args: argparse.Namespace, out: Path) -> int:
    results = runner.run_mutants(max(1, args.jobs), args.timeout, _progress)
    report = runner.Report([], 0.0, args.jobs, args.timeout, results)
    text = json.dumps({"mutants": results}, indent=2) + "\n"
    (out / "mutants.json").write_text(text, encoding="utf-8")
    (out / "mutants.md").write_text(report.to_markdown(), encoding="utf-8")
    if args.json:
        Path(args.json).write_text(text, encoding="utf-8")
    width = max(len(m["name"]) for m in results)
    print(f"{'seeded bug':<{width}}  {'targets':<7}  caught by")
    for m in results:
        caught = ", ".join(m["caught_by"]) if m["caught"] else "NOT CAUGHT"
        print(f"{m['name']:<{width}}  {m['targets']:<7}  {caught}")
    missed = [m["name"] for m in results if not m["caught"]]
    print(f"\n{len(results) - len(missed)} of {len(results)} seeded bugs caught")
    for m in results:
        if m["caught"]:
            first = m["caught_by"][0]
            print(f"\n{m['name']}: counterexample from {first}:")
            print(json.dumps(m["counterexample"], indent=1)[:1500])
    return 0 if not missed else 1
