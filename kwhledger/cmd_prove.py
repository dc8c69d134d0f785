"""``kwhledger prove``: discharge every Z3 proof obligation and write the reports.

Runs each obligation of ``proofs.obligations`` (in parallel), shows progress on stderr, prints a
table (obligation, rule ids, status, time), writes ``proofs.json``, ``proofs.md`` and one SMT-LIB 2
file per obligation under ``--out``, and exits 1 unless every obligation is proved with a
satisfiable vacuity witness. ``--mutants`` runs the seeded bugs instead and exits 1 unless each is
caught by some obligation with a counterexample; with ``--vectors-out DIR`` each caught bug's
counterexample is also written as a conformance vector (``proofs/counterexample.py``), and
``--counterexamples DIR`` does the same for the obligations a plain run finds failed.
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
        "--vectors-out",
        metavar="DIR",
        type=output_dir,
        help="with --mutants: write each caught bug's counterexample as a conformance vector "
        "(replay with kwhledger conform --vector FILE), and say whether the spec passes it and "
        "the seeded bug fails it",
    )
    parser.add_argument(
        "--counterexamples",
        metavar="DIR",
        type=output_dir,
        help="write the counterexample of each obligation that fails as a conformance vector",
    )
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
    if args.vectors_out and not args.mutants:
        raise CliError("--vectors-out goes with --mutants (use --counterexamples DIR otherwise)")
    if args.counterexamples and args.mutants:
        raise CliError("--counterexamples goes without --mutants (use --vectors-out DIR with it)")
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
    if args.counterexamples:
        from proofs import counterexample  # the spec's and the suite's tools: loaded when used

        failed = sorted(r.name for r in report.results if r.status == "failed")
        cases = [counterexample.counterexample(n, timeout_s=args.timeout) for n in failed]
        lines = counterexample.write(cases, Path(args.counterexamples))
        print(f"\ncounterexamples of {len(failed)} failed obligations:")
        print("\n".join(lines) or "(none)")
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
    if args.vectors_out:
        _mutant_vectors(results, Path(args.vectors_out), args.timeout)
    for m in results:
        if m["caught"]:
            first = m["caught_by"][0]
            print(f"\n{m['name']}: counterexample from {first}:")
            print(json.dumps(m["counterexample"], indent=1)[:1500])
    return 0 if not missed else 1


def _mutant_vectors(results: list[dict[str, Any]], out: Path, timeout_s: float) -> None:
    """Each caught bug's counterexample as a vector (or the reason it cannot be one)."""
    from proofs import counterexample  # the spec's and the suite's tools: loaded when used

    caught = [m for m in results if m["caught"]]
    cases = [counterexample.for_mutant(m["name"], m["caught_by"], timeout_s) for m in caught]
    lines = counterexample.write(cases, out)
    shown = sum(case.shows_bug and case.spec_passes for case in cases)
    print(f"\ncounterexamples as vectors in {out}:")
    print("\n".join(lines))
    print(
        f"{shown} of {len(caught)} caught bugs have a vector the spec passes and the bug fails; "
        f"the others say why not"
    )
