"""``kwhledger audit``: every check an auditor needs, one command, one report.

The audit runs the steps of ``STEPS`` in order (the proofs with their vacuity checks, the vector
generator against the committed suite byte for byte, the suite against the executable spec and
against the reference node, the differential check between the two with a fixed budget, a
simulated village day), then builds the traceability matrix and writes ``audit.json``,
``audit.md`` and a self-contained, printable ``audit.html`` into the output folder.

The matrix is derived, never listed by hand: the rules from ``spec.rules``; the spec functions
that enforce each one from the syntax tree of ``spec/`` (``kwhledger.trace``); the obligations
*about* each rule, and the rules outside the Z3 model, from the proof report the first step
writes; the tests that claim each rule from their ``@rules`` marks (read, not imported); the
vectors that target each rule (expect its rejection, or are filed under its id) and how many
exercise it from the suite. The exit code is 0 only if every step ran and passed and no rule has a
gap. A step that cannot run (a missing tool, no clone) is a failed step, never a skipped one.

To add a step, write a function ``Context -> Step`` and add it to ``STEPS``.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import conformance_tests
import spec
from kwhledger import rulebook
from kwhledger.trace import enforcing_functions, find_clone, test_claims
from proofs.scope import outside_model
from spec.rules import RULES, RuleKind
from spec.version import SPEC_VERSION

PACKAGE_ROOT = Path(spec.__file__).resolve().parent.parent
SHOWN_GAPS = 20
"""Gaps listed on the terminal; the report lists them all."""
HEARTBEAT_S = 15.0
"""A running step reports its elapsed time and last progress line this often."""


@dataclass(frozen=True)
class Context:
    """Where the audit runs: the clone (None outside one) and the report folder."""

    clone: Path | None
    out: Path

    @property
    def spec_dir(self) -> Path:
        return (self.clone or PACKAGE_ROOT) / "spec"

    @property
    def suite_dir(self) -> Path:
        if self.clone is not None:
            return self.clone / "conformance_tests"
        return Path(conformance_tests.__file__).resolve().parent

    @property
    def tests_dir(self) -> Path | None:
        return None if self.clone is None else self.clone / "tests"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.clone is not None:  # the clone's code, whatever is installed
            env["PYTHONPATH"] = os.pathsep.join(
                [str(self.clone), *filter(None, [env.get("PYTHONPATH")])]
            )
        return env


@dataclass
class Step:
    """One check of the audit and how it went."""

    name: str
    command: list[str]
    needs_clone: bool = False
    """The step needs the clone's tests/ (an installed package does not carry them)."""
    status: str = "not run"
    """passed, failed or not run (which fails the audit too)."""
    seconds: float = 0.0
    summary: str = ""
    log_file: str = ""


def kwhledger_command(*args: str) -> list[str]:
    """Run a subcommand with the same interpreter as the audit itself."""
    return [sys.executable, "-m", "kwhledger.cli", *args]


PROOF_TIMEOUT_S = 120
"""The audit's limit per solver call: on a busy machine a hard obligation can need more than
``kwhledger prove``'s default of 30 s to be decided; an undecided one still fails."""


def proofs_step(ctx: Context) -> Step:
    out = ctx.out
    return Step(
        "proofs",
        kwhledger_command(
            "prove",
            "--json",
            str(out / "proofs.json"),
            "--out",
            str(out / "proofs"),
            "--timeout",
            str(PROOF_TIMEOUT_S),
        ),
    )


def vectors_step(ctx: Context) -> Step:
    return Step(
        "vectors match the generator",
        kwhledger_command("vectors", "check", "--dir", str(ctx.suite_dir)),
    )


def _conformance(impl: str) -> Callable[[Context], Step]:
    def build(ctx: Context) -> Step:
        return Step(
            f"conformance: {impl}",
            kwhledger_command(
                "conform",
                "--impl",
                f"{sys.executable} -m kwhledger.cli adapter {impl}",
                "--vectors",
                str(ctx.suite_dir),
                "--jobs",
                "2",
                "--results",
                str(ctx.out / f"conform-{impl}.json"),
                "--junit",
                str(ctx.out / f"conform-{impl}.xml"),
            ),
        )

    build.__name__ = f"conformance_{impl}_step"
    return build


def differential_step(ctx: Context) -> Step:
    tests = ctx.tests_dir or Path("tests")
    return Step(
        "differential: spec vs reference",
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            str(tests / "test_reference_differential.py"),
            "--hypothesis-profile=audit",
        ],
        needs_clone=True,
    )


def village_step(ctx: Context) -> Step:
    return Step(
        "village day",
        kwhledger_command(
            "simulate",
            "--days",
            "1",
            "--db",
            str(ctx.out / "village.sqlite"),
            "--plot",
            str(ctx.out / "village.svg"),
        ),
    )


def seeded_bugs_step(ctx: Context) -> Step:
    """Seeded bugs in spec/ and reference/ against the whole suite (``kwhledger mutants``)."""
    return Step(
        "seeded bugs",
        kwhledger_command("mutants", "--jobs", "2", "--json", str(ctx.out / "mutants.json")),
    )


STEPS: list[Callable[[Context], Step]] = [
    proofs_step,
    vectors_step,
    _conformance("spec"),
    _conformance("reference"),
    seeded_bugs_step,
    differential_step,
    village_step,
]
"""The audit's steps, in order."""


def plan(ctx: Context) -> list[Step]:
    return [build(ctx) for build in STEPS]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _last_line(path: Path) -> str:
    try:
        lines = [x for x in path.read_text(errors="replace").splitlines() if x.strip()]
    except OSError:
        return ""
    return lines[-1].strip()[:160] if lines else ""


def run_step(step: Step, ctx: Context, say: Callable[[str], None]) -> None:
    """Run one step, keep its output in a log file, report progress, and summarize it."""
    if step.needs_clone and ctx.clone is None:
        step.status = "not run"
        step.summary = "needs a kwhledger clone's tests/ folder: run the audit inside a clone"
        say(f"[audit] {step.name}: NOT RUN - {step.summary}")
        return
    logs = ctx.out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    out_log, err_log = logs / f"{_slug(step.name)}.out", logs / f"{_slug(step.name)}.log"
    say(f"[audit] {step.name} ...")
    start = time.monotonic()
    with out_log.open("w") as stdout, err_log.open("w") as stderr:
        stderr.write(f"$ {' '.join(step.command)}\n\n")
        stderr.flush()
        process = subprocess.Popen(
            step.command,
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            cwd=ctx.clone or Path.cwd(),
            env=ctx.env(),
            start_new_session=True,
        )
        try:
            next_beat = start + HEARTBEAT_S
            while process.poll() is None:
                time.sleep(0.2)
                if time.monotonic() >= next_beat:
                    next_beat += HEARTBEAT_S
                    newest = max((out_log, err_log), key=lambda p: p.stat().st_mtime)
                    latest = _last_line(newest)
                    say(f"[audit] {step.name}: {time.monotonic() - start:.0f} s ... {latest}")
        except BaseException:  # Ctrl-C or SIGTERM: end the step's whole process group
            _end(process)
            raise
    step.seconds = round(time.monotonic() - start, 1)
    step.log_file = str(err_log.relative_to(ctx.out))
    step.status = "passed" if process.returncode == 0 else "failed"
    # Commands print progress on stderr and their verdict last on stdout.
    step.summary = _last_line(out_log) or _last_line(err_log)
    if step.status == "failed" and process.returncode != 1:
        step.summary = f"exit status {process.returncode}: {step.summary}"
    # Keep one log per step: the verdict after the progress.
    with err_log.open("a") as combined:
        combined.write("\n--- stdout ---\n" + out_log.read_text(errors="replace"))
    out_log.unlink()
    say(f"[audit] {step.name}: {step.status} in {step.seconds} s - {step.summary}")


def _end(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=2)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- The traceability matrix -----------------------------------------------------------------


def obligation_anchor(name: str) -> str:
    return "ob-" + re.sub(r"[^A-Za-z0-9_-]", ".", name)


@dataclass
class MatrixRow:
    """The traceability of one rule."""

    rule_id: str
    anchor: str
    title: str
    kind: str
    code: int | None
    code_name: str | None
    statement: str
    rulebook_section: str
    rulebook_line: int
    rationale: str
    enforced_by: list[str] = field(default_factory=list)
    proof: str = ""
    """proved, not proved, outside the model, or no obligation."""
    outside_model: str = ""
    """Why the rule is outside the Z3 model and what covers it instead."""
    obligations: list[dict[str, str]] = field(default_factory=list)
    """The obligations whose goal is about this rule: name, status, scope."""
    cited_by: int = 0
    """Other obligations that only cite the rule (a guard they assume, a lemma's use)."""
    tests: list[str] = field(default_factory=list)
    target_vectors: list[str] = field(default_factory=list)
    exercised_by: int = 0
    gaps: list[str] = field(default_factory=list)


@dataclass
class Vectors:
    targets: dict[str, list[str]]
    exercised: dict[str, int]
    ids: set[str]


def vector_trace(suite_dir: Path) -> Vectors:
    """Which vectors target each rule (a step expects its rejection, or the vector is filed
    under the rule's id) and how many exercise it (the index's ``rules``)."""
    from conformance_tests.runner import load_vectors

    known = {r.id for r in RULES}
    targets: dict[str, set[str]] = defaultdict(set)
    exercised: dict[str, int] = defaultdict(int)
    ids = set()
    for vector in load_vectors(suite_dir):
        ids.add(vector.id)
        for rule_id in vector.rules:
            exercised[rule_id] += 1
        for _, outcome in vector.steps:
            if outcome.rule is not None:
                targets[outcome.rule].add(vector.id)
        for segment in vector.id.split("/")[:-1]:
            if segment in known:
                targets[segment].add(vector.id)
    return Vectors({k: sorted(v) for k, v in targets.items()}, dict(exercised), ids)


def load_proofs(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data


def build_matrix(ctx: Context, proofs: dict[str, Any]) -> tuple[list[MatrixRow], list[str]]:
    """One row per rule with its gaps, and the problems that concern no single rule."""
    problems: list[str] = []
    enforced = enforcing_functions(ctx.spec_dir)
    if ctx.tests_dir is not None:
        claims = test_claims(ctx.tests_dir)
        problems += [f"test marker: {p}" for p in claims.problems]
        tests = claims.by_rule()
    else:
        tests = {}
        problems.append("tests not read: no clone, so no tests/ folder")
    try:
        vectors = vector_trace(ctx.suite_dir)
    except Exception as problem:  # a broken suite is a finding of the audit, not a crash
        problems.append(f"vectors not read: {problem}")
        vectors = Vectors({}, {}, set())
    if not proofs:
        problems.append("no proof report (proofs.json): the proofs step did not write one")
    about: dict[str, list[dict[str, str]]] = defaultdict(list)
    cited: dict[str, int] = defaultdict(int)
    for ob in proofs.get("obligations", []):
        goal = ob.get("about") or ob.get("rule_ids", [])
        entry = {"name": ob["name"], "status": ob["status"], "scope": ob.get("scope", "")}
        for rule_id in goal:
            about[rule_id].append(entry)
        for rule_id in set(ob.get("rule_ids", [])) - set(goal):
            cited[rule_id] += 1
    outside = proofs.get("outside_model") or {
        r.id: why for r in RULES if (why := outside_model(r.id)) is not None
    }
    book = rulebook.entries(ctx.spec_dir / "RULEBOOK.md")
    rows = []
    for r in RULES:
        documented = book.get(r.id)
        row = MatrixRow(
            rule_id=r.id,
            anchor=f"rule-{r.id}",
            title=r.title,
            kind=r.kind.value,
            code=r.code,
            code_name=r.code_name,
            statement=r.statement,
            rulebook_section=documented.section if documented else "",
            rulebook_line=documented.line if documented else 0,
            rationale=documented.rationale if documented else "",
            enforced_by=enforced.get(r.id, []),
            outside_model=outside.get(r.id, ""),
            obligations=about.get(r.id, []),
            cited_by=cited.get(r.id, 0),
            tests=tests.get(r.id, []),
            target_vectors=vectors.targets.get(r.id, []),
            exercised_by=vectors.exercised.get(r.id, 0),
        )
        if row.obligations:
            not_proved = [o["name"] for o in row.obligations if o["status"] != "proved"]
            row.proof = "not proved" if not_proved else "proved"
            for name in not_proved:
                row.gaps.append(f"obligation {name} not proved")
        elif row.outside_model:
            row.proof = "outside the model"
        else:
            row.proof = "no obligation"
            if r.kind is RuleKind.INVARIANT:
                row.gaps.append("invariant without a proved obligation")
        if documented is None:
            row.gaps.append("no rule book entry")
        if not row.tests and ctx.tests_dir is not None:  # (no tests/ at all is one problem)
            row.gaps.append("no test")
        if r.kind is RuleKind.VALIDITY and not row.target_vectors:
            row.gaps.append("no vector targets it")
        if not row.exercised_by:
            row.gaps.append("no vector")
        if r.kind is RuleKind.VALIDITY and not row.enforced_by:
            row.gaps.append("no enforcing spec function")
        rows.append(row)
    return rows, problems


# --- Reports ---------------------------------------------------------------------------------


@dataclass
class Audit:
    """What the audit found, as it goes into the reports."""

    ctx: Context
    steps: list[Step]
    rows: list[MatrixRow]
    problems: list[str]
    proofs: dict[str, Any]
    seconds: float = 0.0

    @property
    def gaps(self) -> list[MatrixRow]:
        return [row for row in self.rows if row.gaps]

    @property
    def ok(self) -> bool:
        return (
            all(step.status == "passed" for step in self.steps)
            and not self.gaps
            and not self.problems
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "spec_version": SPEC_VERSION,
            "result": "passed" if self.ok else "failed",
            "clone": self.ctx.clone is not None,
            "seconds": round(self.seconds, 1),
            "steps": [asdict(step) for step in self.steps],
            "problems": self.problems,
            "rules": len(self.rows),
            "rules_with_gaps": [row.rule_id for row in self.gaps],
            "matrix": [asdict(row) for row in self.rows],
        }


def write_reports(audit: Audit) -> None:
    out = audit.ctx.out
    (out / "audit.json").write_text(json.dumps(audit.to_json(), indent=2) + "\n")
    (out / "audit.md").write_text(markdown(audit))
    (out / "audit.html").write_text(page(audit))


def _proof_text(row: MatrixRow) -> str:
    if row.obligations:
        proved = sum(1 for o in row.obligations if o["status"] == "proved")
        return f"{row.proof}: {proved}/{len(row.obligations)} obligations"
    return row.proof


def markdown(audit: Audit) -> str:
    verdict = "PASSED" if audit.ok else "FAILED"
    lines = [
        f"# kwhledger audit (rule book {SPEC_VERSION}): {verdict}",
        "",
        "## Steps",
        "",
        "| step | status | seconds | summary |",
        "| --- | --- | ---: | --- |",
    ]
    for step in audit.steps:
        summary = step.summary.replace("|", "/")
        lines.append(f"| {step.name} | {step.status} | {step.seconds} | {summary} |")
    if audit.problems:
        lines += ["", "## Problems", ""] + [f"- {p}" for p in audit.problems]
    lines += [
        "",
        "## Traceability matrix",
        "",
        "| rule | kind | sentence | enforced by | proof | tests | target vectors | "
        "exercised by | gaps |",
        "| --- | --- | --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for row in audit.rows:
        enforced = ", ".join(f"`{name}`" for name in row.enforced_by) or "-"
        lines.append(
            f"| {row.rule_id} | {row.kind} | {row.statement.replace('|', '/')} | {enforced} | "
            f"{_proof_text(row)} | {len(row.tests)} | {len(row.target_vectors)} | "
            f"{row.exercised_by} | {', '.join(row.gaps) or 'none'} |"
        )
    lines += ["", "The HTML report (audit.html) names every obligation, test and vector."]
    return "\n".join(lines) + "\n"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; line-height: 1.35; }
table { border-collapse: collapse; margin-bottom: 2em; font-size: 0.85em; width: 100%; }
td, th { border: 1px solid #ccc; padding: 0.3em 0.5em; vertical-align: top; text-align: left; }
th { background: #eee; } td.n { text-align: right; }
tr.failed td, tr.gap td { background: #fde2e2; } tr.not-run td { background: #fff0c2; }
.verdict { font-size: 1.4em; font-weight: bold; }
.passed-verdict { color: #1a7f37; } .failed-verdict { color: #c00; }
code { font-size: 0.95em; } ul { margin: 0; padding-left: 1.2em; }
.ids { column-width: 22em; } .ids code { font-size: 0.85em; }
.note { color: #555; font-size: 0.9em; }
section.entry { border-top: 1px solid #ddd; padding: 0.4em 0; }
pre { white-space: pre-wrap; font-size: 0.8em; background: #f6f6f6; padding: 0.4em; }
@media print {
  body { margin: 0.5cm; font-size: 9pt; }
  a { color: inherit; text-decoration: none; }
  tr, section.entry { break-inside: avoid; }
  details > pre { display: block; }
  .svg { break-inside: avoid; }
}
"""


def _status_class(status: str) -> str:
    return "passed" if status == "passed" else ("not-run" if status == "not run" else "failed")


def page(audit: Audit) -> str:
    """The self-contained HTML report: no external file, script or style sheet."""
    e = html.escape
    ctx, rows = audit.ctx, audit.rows
    verdict = "PASSED" if audit.ok else "FAILED"
    obligations = {ob["name"]: ob for ob in audit.proofs.get("obligations", [])}
    step_rows = "".join(
        f"<tr class='{_status_class(s.status)}'><td>{e(s.name)}</td><td>{e(s.status)}</td>"
        f"<td class='n'>{s.seconds}</td><td>{e(s.summary)}"
        + (f" <span class='note'>(log: {e(s.log_file)})</span>" if s.log_file else "")
        + "</td></tr>"
        for s in audit.steps
    )
    problems = (
        "<h2>Problems</h2><ul>" + "".join(f"<li>{e(p)}</li>" for p in audit.problems) + "</ul>"
        if audit.problems
        else ""
    )

    def rule_row(r: MatrixRow) -> str:
        enforced = "<ul>" + "".join(f"<li><code>{e(n)}</code></li>" for n in r.enforced_by)
        enforced = enforced + "</ul>" if r.enforced_by else "-"
        proof = f"<b>{e(r.proof)}</b>"
        if r.obligations:
            proof += (
                "<ul>"
                + "".join(
                    f"<li><a href='#{obligation_anchor(o['name'])}'>{e(o['name'])}</a> "
                    f"{e(o['status'])}</li>"
                    for o in r.obligations
                )
                + "</ul>"
            )
        if r.outside_model:
            proof += f"<br><span class='note'>{e(r.outside_model)}</span>"
        if r.cited_by:
            proof += (
                f"<br><span class='note'>{r.cited_by} more obligations assume it (a guard or "
                "step of their transition) without proving it</span>"
            )
        tests = "<ul>" + "".join(f"<li><code>{e(t)}</code></li>" for t in r.tests) + "</ul>"
        tests = tests if r.tests else "-"
        targets = (
            "<div class='ids'>"
            + " ".join(f"<code class='vector'>{e(v)}</code>" for v in r.target_vectors)
            + "</div>"
            if r.target_vectors
            else "-"
        )
        code = f"{r.code} {e(r.code_name or '')}" if r.code is not None else ""
        return (
            f"<tr id='{e(r.anchor)}' class='{'gap' if r.gaps else 'passed'}'>"
            f"<td><b>{e(r.rule_id)}</b><br>{e(r.title)}<br><span class='note'>{e(r.kind)} "
            f"{code}</span><br><a href='#rb-{e(r.rule_id)}'>rule book §"
            f"{e(r.rulebook_section.split(' ')[0])}</a></td>"
            f"<td>{e(r.statement)}</td><td>{enforced}</td><td>{proof}</td><td>{tests}</td>"
            f"<td>{targets}</td><td class='n'>{r.exercised_by}</td>"
            f"<td>{e(', '.join(r.gaps) or 'none')}</td></tr>"
        )

    matrix = "".join(rule_row(r) for r in rows)
    book_file = "spec/RULEBOOK.md"
    book_href = os.path.relpath(ctx.clone / book_file, ctx.out) if ctx.clone is not None else None
    book = "".join(
        f"<section class='entry' id='rb-{e(r.rule_id)}'><h3>{e(r.rule_id)} — {e(r.title)}</h3>"
        f"<p class='note'>rule book section {e(r.rulebook_section)}, "
        + (
            f"<a href='{e(book_href)}'>{book_file}</a> line {r.rulebook_line}"
            if book_href
            else f"{book_file} line {r.rulebook_line}"
        )
        + f"; <a href='#{e(r.anchor)}'>back to the matrix</a></p>"
        f"<blockquote>{e(r.statement)}</blockquote><p><i>Why.</i> {e(r.rationale)}</p></section>"
        for r in rows
    )

    def obligation_entry(ob: dict[str, Any]) -> str:
        goal = ob.get("about") or ob.get("rule_ids", [])
        cited = [x for x in ob.get("rule_ids", []) if x not in goal]
        links = ", ".join(f"<a href='#rule-{e(x)}'>{e(x)}</a>" for x in goal)
        witness = ob.get("witness")
        smt2 = ob.get("smt2_file") or ""
        return (
            f"<section class='entry' id='{obligation_anchor(ob['name'])}'>"
            f"<h3>{e(ob['name'])}: {e(ob['status'])}</h3><ul>"
            f"<li>about: {links or '-'}</li>"
            f"<li>hypotheses: {ob.get('hypotheses', '?')} assertions, all in the SMT-LIB file"
            + (f"; they assume the rules {e(' '.join(cited))}" if cited else "")
            + "</li>"
            f"<li>bound: {e(ob.get('scope', ''))}</li>"
            f"<li>vacuity: {e(ob.get('vacuity', ''))}"
            + (" (the hypotheses have a witness)" if ob.get("vacuity") == "sat" else "")
            + (" <b>tautology</b>" if ob.get("tautology") else "")
            + "</li>"
            "<li>SMT-LIB: "
            + (
                f"<a href='{e('proofs/' + smt2)}'>proofs/{e(smt2)}</a> "
                f"sha256 <code>{e(ob.get('smt2_sha256', ''))}</code>"
                if smt2
                else "not written"
            )
            + f"</li><li>time: {ob.get('seconds', 0)} s</li>"
            + (f"<li>detail: {e(ob['detail'])}</li>" if ob.get("detail") else "")
            + "</ul>"
            + (
                f"<details open><summary>vacuity witness</summary><pre>"
                f"{e(json.dumps(witness, indent=1))}</pre></details>"
                if witness
                else ""
            )
            + (
                f"<details open><summary>counterexample</summary><pre>"
                f"{e(json.dumps(ob['counterexample'], indent=1))}</pre></details>"
                if ob.get("counterexample")
                else ""
            )
            + "</section>"
        )

    proof_entries = "".join(obligation_entry(ob) for ob in obligations.values())
    summary = audit.proofs.get("summary", {})
    limit = summary.get("timeout_s_per_obligation", "?")
    svg_file = ctx.out / "village.svg"
    svg = (
        f"<div class='svg'>{svg_file.read_text()}</div>"
        if svg_file.is_file()
        else "<p>(no village picture)</p>"
    )
    where = (
        f"clone at {e(str(ctx.clone))}"
        if ctx.clone
        else "<b>not inside a kwhledger clone</b>: the tests, and the steps that need them, "
        "were not run"
    )
    gap_list = "".join(
        f"<li><a href='#{e(r.anchor)}'>{e(r.rule_id)}</a>: {e(', '.join(r.gaps))}</li>"
        for r in audit.gaps
    )
    proved = sum(1 for r in rows if r.proof == "proved")
    outside = sum(1 for r in rows if r.proof == "outside the model")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kwhledger audit {e(SPEC_VERSION)}</title>
<style>{_STYLE}</style></head><body>
<h1>kwhledger audit, rule book {e(SPEC_VERSION)}</h1>
<p class="verdict {"passed" if audit.ok else "failed"}-verdict">{verdict}</p>
<p>{where}; {audit.seconds:.0f} s. Contents: <a href="#steps">steps</a>,
<a href="#matrix">traceability matrix</a>, <a href="#rulebook">rule book entries</a>,
<a href="#obligations">proof obligations</a>, <a href="#village">a village day</a>.</p>
<h2 id="steps">Steps</h2>
<table><tr><th>step</th><th>status</th><th>seconds</th><th>summary</th></tr>{step_rows}</table>
{problems}
<h2 id="matrix">Traceability matrix ({len(rows)} rules)</h2>
<p>{proved} rules are the goal of proved obligations; {outside} are outside the Z3 model (each
says what covers it); {len(audit.gaps)} have gaps{":" if gap_list else "."}</p>
{"<ul>" + gap_list + "</ul>" if gap_list else ""}
<p class="note"><b>enforced by</b>: spec functions that raise the rule (<code>require</code>,
<code>Rejected</code>, the invariant checks' <code>fail</code>) or carry its
<code>@implements</code> mark, read from the source. <b>proof</b>: the obligations whose goal is
the rule; obligations that only assume it as a guard are counted, not listed.
<b>tests</b>: tests whose <code>@rules</code> mark claims it. <b>target vectors</b>: vectors that
expect its rejection or are filed under its id; <b>exercised by</b>: vectors whose index entry
lists it.</p>
<table><tr><th>rule</th><th>normative sentence</th><th>enforced by</th><th>proof</th>
<th>tests</th><th>target vectors</th><th>exercised by</th><th>gaps</th></tr>{matrix}</table>
<h2 id="rulebook">Rule book entries</h2>{book}
<h2 id="obligations">Proof obligations ({len(obligations)})</h2>
<p>{e(str(summary.get("obligations", 0)))} obligations, {e(str(summary.get("by_status", {})))},
Z3 {e(str(summary.get("z3_version", "?")))}, {e(str(limit))} s limit each.
Every SMT-LIB file expects <code>unsat</code>.</p>
{proof_entries}
<h2 id="village">A village day</h2>{svg}
</body></html>
"""


def clear_previous_village(out: Path) -> None:
    """Remove the village chain an earlier audit left in ``out`` (the simulation refuses to
    overwrite a store, and each audit simulates its own day from genesis)."""
    for suffix in ("", "-wal", "-shm"):
        (out / f"village.sqlite{suffix}").unlink(missing_ok=True)


def context(out: Path | None, start: Path) -> Context:
    """The clone around ``start`` (if any) and the report folder (default: the clone's
    ``out/audit``, or ``out/audit`` under ``start`` outside a clone)."""
    clone = find_clone(start)
    if out is None:
        out = (clone or start) / "out" / "audit"
    return Context(clone, out.resolve())


def run_audit(ctx: Context, say: Callable[[str], None], steps: bool = True) -> Audit:
    """Run every step (none if ``steps`` is false: the report of what is in ``ctx.out``) and
    write the reports."""
    ctx.out.mkdir(parents=True, exist_ok=True)
    plan_ = plan(ctx)
    start = time.monotonic()
    if steps:
        clear_previous_village(ctx.out)
        for step in plan_:
            run_step(step, ctx, say)
    else:
        for step in plan_:
            step.summary = "report only: not run"
    say("[audit] traceability matrix ...")
    proofs = load_proofs(ctx.out / "proofs.json")
    rows, problems = build_matrix(ctx, proofs)
    audit = Audit(ctx, plan_, rows, problems, proofs, time.monotonic() - start)
    for problem in problems:
        say(f"[audit] problem: {problem}")
    for row in audit.gaps[:SHOWN_GAPS]:
        say(f"[audit] gap: {row.rule_id} {', '.join(row.gaps)}")
    if len(audit.gaps) > SHOWN_GAPS:
        say(f"[audit] ... and {len(audit.gaps) - SHOWN_GAPS} more rules with gaps (audit.html)")
    write_reports(audit)
    say(
        f"[audit] {'PASSED' if audit.ok else 'FAILED'} in {audit.seconds:.0f} s: "
        f"{sum(s.status == 'passed' for s in plan_)}/{len(plan_)} steps passed, "
        f"{len(rows) - len(audit.gaps)}/{len(rows)} rules fully traced"
    )
    return audit
