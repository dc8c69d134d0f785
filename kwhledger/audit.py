"""``kwhledger audit``: every check an auditor needs, one command, one report.

The audit runs, in order: the proofs (with their vacuity checks), the vector generator against the
committed suite byte for byte, the suite against the executable spec and against the reference
node, the differential check between the two with a fixed budget, and a simulated village day. It
then builds the traceability matrix (rule -> sentence -> enforcing spec function -> proof
obligations -> tests -> vectors) and writes ``audit.md``, ``audit.json`` and a self-contained
``audit.html`` into the output folder. The exit code is 0 only if every step passed and the matrix
has no gap: an invariant without a proved obligation, or a rule without a vector or a test.
"""

from __future__ import annotations

import ast
import html
import importlib
import json
import re
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cbor2

import conformance_tests
import spec
from spec.rules import RULES, RuleKind
from spec.version import SPEC_VERSION

SPEC_DIR = Path(spec.__file__).parent
SUITE_DIR = Path(conformance_tests.__file__).parent
REPO_DIR = SPEC_DIR.parent
TESTS_DIR = REPO_DIR / "tests"
RULE_ID = re.compile(r"\b[A-Z]{2,3}-\d{2}\b")


@dataclass
class Step:
    """One check of the audit and how it went."""

    name: str
    command: list[str]
    status: str = "not run"
    """passed, failed or skipped."""
    seconds: float = 0.0
    summary: str = ""
    log_file: str = ""


@dataclass
class MatrixRow:
    """The traceability of one rule."""

    rule_id: str
    title: str
    kind: str
    code: int | None
    statement: str
    enforced_by: list[str] = field(default_factory=list)
    obligations: list[dict[str, str]] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)
    vectors: int = 0
    gaps: list[str] = field(default_factory=list)


def kwhledger_command(*args: str) -> list[str]:
    """Run a subcommand with the same interpreter as the audit itself."""
    return [sys.executable, "-m", "kwhledger.cli", *args]


def plan(out: Path) -> list[Step]:
    """The audit's steps, in order."""
    steps = [
        Step(
            "proofs",
            kwhledger_command(
                "prove", "--json", str(out / "proofs.json"), "--out", str(out / "proofs")
            ),
        ),
        Step("vectors match the generator", kwhledger_command("vectors", "check")),
    ]
    for impl in ("spec", "reference"):
        steps.append(
            Step(
                f"conformance: {impl}",
                kwhledger_command(
                    "conform",
                    "--impl",
                    f"{sys.executable} -m kwhledger.cli adapter {impl}",
                    "--jobs",
                    "2",
                    "--quiet",
                    "--results",
                    str(out / f"conform-{impl}.json"),
                    "--junit",
                    str(out / f"conform-{impl}.xml"),
                ),
            )
        )
    steps.append(seeded_bugs_step(out))
    differential = TESTS_DIR / "test_reference_differential.py"
    steps.append(
        Step(
            "differential: spec vs reference",
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                str(differential),
                "--hypothesis-profile=audit",
            ],
        )
    )
    steps.append(
        Step(
            "village day",
            kwhledger_command(
                "simulate",
                "--days",
                "1",
                "--db",
                str(out / "village.sqlite"),
                "--plot",
                str(out / "village.svg"),
            ),
        )
    )
    return steps


def seeded_bugs_step(out: Path) -> Step:
    """Seeded bugs in spec/ and reference/ against the whole suite (``kwhledger mutants``)."""
    return Step(
        "seeded bugs",
        kwhledger_command("mutants", "--jobs", "2", "--json", str(out / "mutants.json")),
    )


def run_step(step: Step, out: Path, say: Callable[[str], None]) -> None:
    """Run one step, keep its output in a log file, and summarize it."""
    if step.name.startswith("differential") and not TESTS_DIR.is_dir():
        step.status, step.summary = "skipped", "no tests/ folder (run the audit from a clone)"
        return
    log = out / "logs" / (re.sub(r"[^a-z0-9]+", "-", step.name.lower()).strip("-") + ".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    say(f"[audit] {step.name} ...")
    start = time.monotonic()
    result = subprocess.run(step.command, capture_output=True, text=True, check=False, cwd=REPO_DIR)
    step.seconds = round(time.monotonic() - start, 1)
    log.write_text(f"$ {' '.join(step.command)}\n\n{result.stdout}\n{result.stderr}")
    step.log_file = str(log.relative_to(out))
    step.status = "passed" if result.returncode == 0 else "failed"
    # Commands print progress on stderr and their verdict last on stdout.
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    lines = lines or [line for line in result.stderr.splitlines() if line.strip()]
    step.summary = lines[-1].strip() if lines else ""
    say(f"[audit] {step.name}: {step.status} in {step.seconds} s - {step.summary}")


# --- The traceability matrix -----------------------------------------------------------------


def enforcing_functions() -> dict[str, list[str]]:
    """Rule id -> spec functions that raise it (validity) or mention it (other kinds)."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted(SPEC_DIR.glob("*.py")):
        if path.name == "rules.py":
            continue
        source = path.read_text()
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            name = f"spec.{path.stem}.{node.name}"
            segment = ast.get_source_segment(source, node) or ""
            for rule_id in RULE_ID.findall(segment):
                found[rule_id].add(name)
    return {rule_id: sorted(names) for rule_id, names in found.items()}


def test_claims() -> dict[str, list[str]]:
    """Rule id -> tests that claim it with the ``rules`` marker (empty if tests/ is absent)."""
    if not TESTS_DIR.is_dir():
        return {}
    sys.path.insert(0, str(TESTS_DIR))
    try:
        coverage = importlib.import_module("test_spec_coverage_of_rules")
        claims: dict[str, set[str]] = coverage.all_claims()
    finally:
        sys.path.remove(str(TESTS_DIR))
    by_rule: dict[str, list[str]] = defaultdict(list)
    for test, ids in sorted(claims.items()):
        for rule_id in sorted(ids):
            by_rule[rule_id].append(test)
    return dict(by_rule)


def vector_counts() -> dict[str, int]:
    """Rule id -> number of vectors whose index entry names it."""
    index = cbor2.loads((SUITE_DIR / "index.cbor").read_bytes())
    counts: dict[str, int] = defaultdict(int)
    for entry in index["vectors"]:
        for rule_id in entry["rules"]:
            counts[rule_id] += 1
    return dict(counts)


def proof_obligations(report: Path) -> dict[str, list[dict[str, str]]]:
    """Rule id -> obligations (name, status) from the proof report, if it was written."""
    if not report.is_file():
        return {}
    data = json.loads(report.read_text())
    by_rule: dict[str, list[dict[str, str]]] = defaultdict(list)
    for obligation in data.get("obligations", []):
        for rule_id in obligation.get("rule_ids", []):
            by_rule[rule_id].append(
                {"name": str(obligation.get("name")), "status": str(obligation.get("status"))}
            )
    return dict(by_rule)


def build_matrix(out: Path) -> list[MatrixRow]:
    """One row per rule, with the gaps that fail the audit."""
    enforced = enforcing_functions()
    tests = test_claims()
    vectors = vector_counts()
    proofs = proof_obligations(out / "proofs.json")
    rows = []
    for r in RULES:
        row = MatrixRow(
            rule_id=r.id,
            title=r.title,
            kind=r.kind.value,
            code=r.code,
            statement=r.statement,
            enforced_by=enforced.get(r.id, []),
            obligations=proofs.get(r.id, []),
            tests=tests.get(r.id, []),
            vectors=vectors.get(r.id, 0),
        )
        if r.kind is RuleKind.INVARIANT and not any(
            o["status"] == "proved" for o in row.obligations
        ):
            row.gaps.append("no proved obligation")
        if not row.tests:
            row.gaps.append("no test")
        if not row.vectors:
            row.gaps.append("no vector")
        if r.kind is RuleKind.VALIDITY and not row.enforced_by:
            row.gaps.append("no enforcing spec function")
        rows.append(row)
    return rows


# --- Reports ---------------------------------------------------------------------------------


def write_reports(out: Path, steps: list[Step], rows: list[MatrixRow], ok: bool) -> None:
    gaps = [row for row in rows if row.gaps]
    data = {
        "spec_version": SPEC_VERSION,
        "result": "passed" if ok else "failed",
        "steps": [asdict(step) for step in steps],
        "rules": len(rows),
        "rules_with_gaps": [row.rule_id for row in gaps],
        "matrix": [asdict(row) for row in rows],
    }
    (out / "audit.json").write_text(json.dumps(data, indent=2) + "\n")
    (out / "audit.md").write_text(markdown(steps, rows, ok))
    (out / "audit.html").write_text(page(out, steps, rows, ok))


def _obligation_text(row: MatrixRow) -> str:
    if not row.obligations:
        return "-"
    proved = sum(1 for o in row.obligations if o["status"] == "proved")
    return f"{proved}/{len(row.obligations)} proved"


def markdown(steps: list[Step], rows: list[MatrixRow], ok: bool) -> str:
    lines = [
        f"# kwhledger audit (rule book {SPEC_VERSION}): {'PASSED' if ok else 'FAILED'}",
        "",
        "## Steps",
        "",
        "| step | status | seconds | summary |",
        "| --- | --- | ---: | --- |",
    ]
    for step in steps:
        summary = step.summary.replace("|", "/")
        lines.append(f"| {step.name} | {step.status} | {step.seconds} | {summary} |")
    lines += [
        "",
        "## Traceability matrix",
        "",
        "| rule | kind | sentence | enforced by | proofs | tests | vectors | gaps |",
        "| --- | --- | --- | --- | --- | ---: | ---: | --- |",
    ]
    for row in rows:
        enforced = ", ".join(f"`{name}`" for name in row.enforced_by) or "-"
        lines.append(
            f"| {row.rule_id} | {row.kind} | {row.statement.replace('|', '/')} | {enforced} | "
            f"{_obligation_text(row)} | {len(row.tests)} | {row.vectors} | "
            f"{', '.join(row.gaps) or 'none'} |"
        )
    return "\n".join(lines) + "\n"


def page(out: Path, steps: list[Step], rows: list[MatrixRow], ok: bool) -> str:
    """A self-contained HTML report: no external file, script or style sheet."""
    e = html.escape
    verdict = "PASSED" if ok else "FAILED"
    step_rows = "".join(
        f"<tr class='{e(s.status)}'><td>{e(s.name)}</td><td>{e(s.status)}</td>"
        f"<td class='n'>{s.seconds}</td><td>{e(s.summary)}</td></tr>"
        for s in steps
    )
    matrix_rows = "".join(
        f"<tr class='{'failed' if r.gaps else 'passed'}'><td><b>{e(r.rule_id)}</b><br>"
        f"{e(r.title)}</td><td>{e(r.kind)}</td><td>{e(r.statement)}</td>"
        f"<td>{'<br>'.join(e(n) for n in r.enforced_by) or '-'}</td>"
        f"<td>{e(_obligation_text(r))}</td>"
        f"<td class='n' title='{e(chr(10).join(r.tests))}'>{len(r.tests)}</td>"
        f"<td class='n'>{r.vectors}</td><td>{e(', '.join(r.gaps) or 'none')}</td></tr>"
        for r in rows
    )
    svg_file = out / "village.svg"
    svg = svg_file.read_text() if svg_file.is_file() else "<p>(no village picture)</p>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kwhledger audit {e(SPEC_VERSION)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 2em; font-size: 0.9em; }}
td, th {{ border: 1px solid #ccc; padding: 0.3em 0.5em; vertical-align: top; }}
th {{ background: #eee; }} td.n {{ text-align: right; }}
tr.failed td {{ background: #fde2e2; }} tr.skipped td {{ background: #fff6d5; }}
.verdict {{ font-size: 1.4em; font-weight: bold; color: {"#1a7f37" if ok else "#c00"}; }}
</style></head><body>
<h1>kwhledger audit, rule book {e(SPEC_VERSION)}</h1>
<p class="verdict">{verdict}</p>
<h2>Steps</h2>
<table><tr><th>step</th><th>status</th><th>seconds</th><th>summary</th></tr>{step_rows}</table>
<h2>A village day</h2>{svg}
<h2>Traceability matrix ({len(rows)} rules)</h2>
<table><tr><th>rule</th><th>kind</th><th>normative sentence</th><th>enforced by</th>
<th>proofs</th><th>tests</th><th>vectors</th><th>gaps</th></tr>{matrix_rows}</table>
</body></html>
"""


def clear_previous_village(out: Path) -> None:
    """Remove the village chain an earlier audit left in ``out`` (the simulation refuses to
    overwrite a store, and each audit simulates its own day from genesis)."""
    for suffix in ("", "-wal", "-shm"):
        (out / f"village.sqlite{suffix}").unlink(missing_ok=True)


def run_audit(out: Path, say: Callable[[str], None]) -> bool:
    """Run every step and write the reports; whether everything held."""
    out.mkdir(parents=True, exist_ok=True)
    clear_previous_village(out)
    steps = plan(out)
    start = time.monotonic()
    for step in steps:
        run_step(step, out, say)
    say("[audit] traceability matrix ...")
    rows = build_matrix(out)
    gaps = [row for row in rows if row.gaps]
    for row in gaps:
        say(f"[audit] gap: {row.rule_id} {', '.join(row.gaps)}")
    ok = all(step.status in ("passed", "skipped") for step in steps) and not gaps
    write_reports(out, steps, rows, ok)
    say(
        f"[audit] {'PASSED' if ok else 'FAILED'} in {time.monotonic() - start:.0f} s: "
        f"{sum(s.status == 'passed' for s in steps)}/{len(steps)} steps passed, "
        f"{len(rows) - len(gaps)}/{len(rows)} rules fully traced; reports in {out}"
    )
    return ok
