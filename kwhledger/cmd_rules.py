"""``kwhledger rules [ID]``: print the rule book, or one rule in full.

With an id, the whole rule: its statement, kind, code, rationale and rule book section; the spec
functions that enforce it; the vectors that target it (expect its rejection or are filed under
its id) and how many exercise it; and the proof obligations about it. The obligations come from a
proof report of the current sources if there is one (``--proofs``, or ``out/proofs/proofs.json``
or ``out/audit/proofs.json`` of the clone), with their status; otherwise they are built from the
registry (a few seconds) and shown as not yet run.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from kwhledger.args import CliError, existing_file
from spec.rules import RULES, RULES_BY_ID


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "rules", help="print the rule book, or one rule in full (kwhledger rules ATT-04)"
    )
    parser.add_argument("id", nargs="?", help="a rule id: print that rule in full")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--proofs",
        type=existing_file,
        help="proof report (proofs.json) for the obligations' status "
        "(default: the clone's out/proofs or out/audit report, if current)",
    )
    parser.set_defaults(run=run)


def _row(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "title": r.title,
        "kind": r.kind.value,
        "code": r.code,
        "code_name": r.code_name,
        "statement": r.statement,
    }


def run(args: argparse.Namespace) -> int:
    if args.id is not None:
        return run_one(args)
    if args.json:
        json.dump([_row(r) for r in RULES], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"{'id':<7} {'kind':<9} {'code':>4} {'name':<26} title")
    for r in RULES:
        code = "" if r.code is None else str(r.code)
        print(f"{r.id:<7} {r.kind.value:<9} {code:>4} {r.code_name or '':<26} {r.title}")
    kinds = [r.kind.value for r in RULES]
    summary = ", ".join(f"{kinds.count(k)} {k}" for k in ("validity", "invariant", "procedure"))
    print(f"\n{len(RULES)} rules: {summary}; kwhledger rules ID prints one in full")
    return 0


def _current_report(explicit: Path | None) -> tuple[dict[str, Any], str]:
    """A proof report of the current sources, and where it came from ({} if none)."""
    from kwhledger.audit import PACKAGE_ROOT
    from proofs.runner import sources_digest

    candidates = (
        [explicit]
        if explicit
        else [
            PACKAGE_ROOT / "out" / "proofs" / "proofs.json",
            PACKAGE_ROOT / "out" / "audit" / "proofs.json",
        ]
    )
    digest = sources_digest()
    for path in candidates:
        try:
            report: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if report.get("summary", {}).get("sources_sha256") == digest:
            return report, str(path)
        if explicit:
            raise CliError(f"{path} is a report of other sources; run kwhledger prove again")
    return {}, ""


def _obligations_about(rule_id: str, report: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """The obligations whose goal is the rule, and how many more only cite it."""
    if report:
        about = [ob for ob in report["obligations"] if rule_id in (ob.get("about") or [])]
        cited = sum(
            1
            for ob in report["obligations"]
            if rule_id in ob["rule_ids"] and rule_id not in (ob.get("about") or [])
        )
        return about, cited
    from kwhledger.progress import heartbeat
    from proofs import obligations

    print("building the proof obligations (no current proof report) ...", file=sys.stderr)
    found, cited = [], 0
    with heartbeat("building"):
        for name in obligations.names():
            ob = obligations.build(name)
            if rule_id in ob.goal_rules:
                found.append({"name": name, "status": "not run", "scope": ob.scope})
            elif rule_id in ob.rule_ids:
                cited += 1
    return found, cited


def run_one(args: argparse.Namespace) -> int:
    from conformance_tests.runner import default_suite_dir
    from kwhledger.audit import PACKAGE_ROOT, vector_trace
    from kwhledger.rulebook import entries
    from kwhledger.trace import enforcing_functions
    from proofs.scope import outside_model

    rule_id = args.id.upper()
    if rule_id not in RULES_BY_ID:
        close = [r.id for r in RULES if r.id.split("-")[0] == rule_id.split("-")[0]]
        hint = f"; rules of that area: {', '.join(close)}" if close else ""
        raise CliError(f"no rule {args.id} in the rule book{hint}")
    r = RULES_BY_ID[rule_id]
    entry = entries().get(rule_id)
    enforced = enforcing_functions(PACKAGE_ROOT / "spec").get(rule_id, [])
    vectors = vector_trace(default_suite_dir())
    targets = vectors.targets.get(rule_id, [])
    report, source = _current_report(args.proofs)
    about, cited = _obligations_about(rule_id, report)
    outside = outside_model(rule_id)
    data = _row(r) | {
        "section": entry.section if entry else None,
        "rationale": entry.rationale if entry else None,
        "enforced_by": enforced,
        "target_vectors": targets,
        "exercised_by": vectors.exercised.get(rule_id, 0),
        "obligations": [
            {"name": ob["name"], "status": ob["status"], "scope": ob.get("scope", "")}
            for ob in about
        ],
        "cited_by_obligations": cited,
        "outside_model": outside,
        "proof_report": source or None,
    }
    if args.json:
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    wrap = textwrap.TextWrapper(width=96, initial_indent="  ", subsequent_indent="  ")
    code = f"rejects with {r.code} {r.code_name}" if r.code is not None else "rejects nothing"
    print(f"{r.id} — {r.title}")
    print(f"{r.kind.value} · {code}")
    if entry:
        print(f"rule book section {entry.section}, spec/RULEBOOK.md line {entry.line}")
    print("\nstatement:")
    print(wrap.fill(r.statement))
    if entry and entry.rationale:
        print("\nwhy:")
        print(wrap.fill(entry.rationale))
    print("\nenforced by:")
    print("\n".join(f"  {name}" for name in enforced) or "  -")
    print(
        f"\nvectors that target it: {len(targets)}; vectors that exercise it: "
        f"{data['exercised_by']}"
    )
    for vector_id in targets:
        print(f"  {vector_id}")
    status = f" (status from {source})" if source else " (not run: no current proof report)"
    print(f"\nproof obligations about it: {len(about)}{status if about else ''}")
    for ob in data["obligations"]:
        print(f"  {ob['name']:<40} {ob['status']:<9} {ob['scope']}")
    if cited:
        print(f"  and {cited} more cite it without proving it (a guard they assume)")
    if outside:
        print("\noutside the Z3 model:")
        print(wrap.fill(outside))
    return 0
