"""Discharge obligations: prove, check vacuity, flag tautologies, export SMT-LIB, report.

For each obligation ``hypotheses => goal`` the runner asks Z3 three questions, each under the
per-obligation time limit:

1. ``hypotheses and not goal``: unsat means proved, sat gives a counterexample, anything else is
   ``unknown`` (never proved: a timeout proves nothing);
2. ``hypotheses``: must be sat, and its model is kept as the witness that the proof is not vacuous;
   unsat makes the obligation ``vacuous``, which is a failure;
3. ``not goal`` alone: unsat means the goal is a tautology, which proves nothing about the rules;
   it is flagged in the report (a step that does not touch an invariant's fields gives one).

The obligation is also written as an SMT-LIB 2 file (``(set-logic ALL)`` first, then Z3's
``to_smt2``; the expected answer is ``unsat``) whose SHA-256 goes into the report, so that another
solver can re-check it. Counterexamples and witnesses are shown as the rows of the pre-state at the
obligation's keys, the transaction's fields and the post-state rows that changed.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import z3

from proofs import mutants as mutant_catalogue
from proofs import obligations
from proofs.model import FIELD_NAMES, SCALARS, Ledger, Obligation, Term, field_arity, get
from proofs.scope import outside_model
from proofs.transitions._common import Points
from spec.rules import RULES, RuleKind

AXIOMS: tuple[tuple[str, str], ...] = (
    (
        "SUM-UPDATE",
        "A ghost total kept by write_balance / write_validator / write_order / write_demand / "
        "write_reading_import equals the sum it "
        "stands for: sum(Store(f, k, v)) = sum(f) - f[k] + v. Checked on 8 keys by "
        "lemma/sum-update; no other code stores into a summed field (model.put refuses).",
    ),
    (
        "SUM-SUBSET",
        "In a state whose terms are all non-negative (INV-07), terms at distinct keys add up to at "
        "most the total. Checked on 8 keys by lemma/sum-subset; used in pre-states only (for "
        "corrections: a reading's import, alone or with one other reading of its owner, zone "
        "and slot, is at most their sum; an account's open bid Wh is not negative).",
    ),
    (
        "SUM-COMPLETE",
        "When the keys of every term of a sum are known (the book lists every open order of the "
        "market: BOOK), the total is the sum of those terms. Used in clearing pre-states for the "
        "open-ask total of the market's lots.",
    ),
    (
        "SIG",
        "A valid signature on the ledger's chain authenticates the sender: TX-01 and TX-04 are "
        "not modelled, nor is the CBOR layer (ENC rules) beyond the field bounds of ENC-15.",
    ),
    (
        "KEY",
        "ACC-02 (the public key is a point of the prime-order subgroup) is an opaque predicate.",
    ),
    (
        "POINT",
        "MTR-06 (no meter of the same source in service at the service point) is an opaque "
        "predicate and MTR-14's first slot an opaque value: the model keeps no index of meters "
        "by service point and source.",
    ),
    (
        "BLK-12",
        "Transactions run between clock advances (the ghost horizon equals the time), as "
        "apply_block does: the clock first, then the transactions.",
    ),
    (
        "APPROVALS",
        "A VALIDATOR_UPDATE's approvals are modelled by what VAL-04 and VAL-05 count: the pairs "
        "listed, whether their ids strictly ascend, how many are a current validator's valid "
        "signature (SIG), and how many distinct validators those name (at most the valid pairs, "
        "exactly as many when the ids ascend). That an approval is bound to one chain, sender "
        "and nonce is VAL-04's byte layout, outside the model. Checked against the spec on "
        "concrete approval lists by tests/test_proofs_model_vs_spec.py.",
    ),
    (
        "BOOK",
        "Clearing obligations cover markets of up to 3 open asks and 3 open bids and take the "
        "auction's result through its contract, proved for the spec's algorithm on books of 3 + 3 "
        "and 4 + 4 orders in ranking order (auction/contract, auction/contract-3x3).",
    ),
    (
        "RANKED",
        "The auction properties are proved for books presented in ranking order (4 + 4). "
        "spec.clearing.call_auction and eligible_bids first sort each side by a strict total "
        "order (asks (limit, id), bids (-limit, id); ids unique), then read only the sorted lists, "
        "and return fills as a map by id. auction/ranking-unique-asks-4 and -bids-4 prove that "
        "two arrangements of 4 orders both sorted by that key (auction.ask_before / bid_before, "
        "checked against the spec's sort keys by tests/test_proofs_model_vs_spec.py) are equal "
        "position by position, so every arrival order of a 4 + 4 book gives the same ranked book "
        "and the same result, the one the ranked obligations are about (the ranked encoding, "
        "auction.call_auction(ranked=True), reads positions, limits, quantities, owners and "
        "demand but no order id: a function of the ranked lists, checked on its terms by "
        "tests/test_proofs_model_vs_spec.py). auction/arrival-order and "
        "auction/tie-break prove the same directly on the unranked encoding for 2 + 2 books; the "
        "model-against-code tests check the encodings on concrete books of up to 6 + 6.",
    ),
    (
        "PRO-RATA",
        "In auction obligations each pro-rata division rest*q/total is replaced by an integer "
        "bound by lemma/pro-rata-term (unbounded) and lemma/pro-rata-sum (4 orders at the "
        "margin), plus congruence; this keeps the obligations linear.",
    ),
)


@dataclass
class Result:
    """The outcome of one obligation, as it goes into the reports."""

    name: str
    rule_ids: list[str]
    """Every rule the obligation cites (``about`` first)."""
    scope: str
    status: str
    """proved, failed, unknown, vacuous or error."""
    seconds: float
    vacuity: str
    """sat (a witness exists), unsat (vacuous) or unknown."""
    tautology: bool
    witness: dict[str, Any] | None = None
    counterexample: dict[str, Any] | None = None
    smt2_file: str = ""
    smt2_sha256: str = ""
    detail: str = ""
    mutant: str = ""
    prove_seconds: float = 0.0
    """Time of the proof question alone (``seconds`` adds building, vacuity, tautology, SMT-LIB)."""
    vacuity_seconds: float = 0.0
    about: list[str] = field(default_factory=list)
    """The rules whose property the goal states; the rest of ``rule_ids`` is only cited."""
    hypotheses: int = 0
    """How many assertions the hypotheses are (the SMT-LIB file has them all)."""


# --- Rendering models -----------------------------------------------------------------------------


def _value(model: z3.ModelRef, term: Term) -> Any:
    v = model.eval(term, model_completion=True)
    if z3.is_true(v):
        return True
    if z3.is_false(v):
        return False
    if z3.is_int_value(v):
        return v.as_long()
    return str(v)


_TABLE_OF_POINTS = {
    "accounts": "account",
    "nodes": "node",
    "meters": "meter",
    "readings": ("reading", "lot"),
    "demands": "demand",
    "orders": "order",
    "markets": "market",
    "slots": "slot",
}


def _rows(model: z3.ModelRef, s: Ledger, points: Points) -> dict[str, dict[str, Any]]:
    """Rows of ``s`` at the (evaluated) keys of ``points``: ``{"order 3": {"side": 1, ...}}``."""
    rows: dict[str, dict[str, Any]] = {}
    for attr, tables in _TABLE_OF_POINTS.items():
        prefixes = tables if isinstance(tables, tuple) else (tables,)
        for key in getattr(points, attr):
            key_terms = key if isinstance(key, tuple) else (key,)
            concrete = tuple(_value(model, k) for k in key_terms)
            label = f"{prefixes[-1]} {concrete[0] if len(concrete) == 1 else concrete}"
            if label in rows:
                continue
            row: dict[str, Any] = {}
            for name in FIELD_NAMES:
                table, _, column = name.partition("_")
                if table in prefixes and field_arity(name) == len(concrete):
                    index = [z3.IntVal(c) for c in concrete]
                    row[name if len(prefixes) > 1 else column] = _value(
                        model, get(getattr(s, name), *index)
                    )
            rows[label] = row
    return rows


_PRESENCE = ("registered", "exists", "reading_exists", "lot_exists")


def _present(row: dict[str, Any]) -> bool:
    """A row worth showing: it exists, or (ghost-only tables) holds a non-zero number."""
    flags = [row[f] for f in _PRESENCE if f in row]
    if flags:
        return any(flags)
    return any(v not in (0, False) for v in row.values())


def render(model: z3.ModelRef, show: dict[str, Any]) -> dict[str, Any]:
    """A counterexample or witness in the ledger's words: the transaction's fields, the
    pre-state's scalars and the rows at the obligation's keys that exist before or after, and
    what the step changed. (Rows that exist in neither state are left out: they are noise.)"""
    out: dict[str, Any] = {}
    out["transaction"] = {k: _value(model, v) for k, v in show.get("tx", {}).items()}
    pre: Ledger | None = show.get("pre")
    if pre is None:
        return out
    points: Points = show["points"]
    post: Ledger | None = show.get("post")
    before = {n: _value(model, getattr(pre, n)) for n in SCALARS}
    before_rows = _rows(model, pre, points)
    after_rows = _rows(model, post, points) if post is not None else {}
    for key, row in before_rows.items():
        if _present(row) or _present(after_rows.get(key, {})):
            before[key] = row
    out["pre-state"] = before
    if post is not None:
        after = {n: _value(model, getattr(post, n)) for n in SCALARS}
        after.update(after_rows)
        changed: dict[str, Any] = {}
        for key, value in after.items():
            if isinstance(value, dict):
                if key not in before:
                    continue  # exists in neither state
                diff = {c: v for c, v in value.items() if before_rows[key].get(c) != v}
                if diff:
                    changed[key] = diff
            elif before.get(key) != value:
                changed[key] = value
        out["post-state changes"] = changed
    return out


# --- Discharging ----------------------------------------------------------------------------------


FIRST_TRY_S = 4.0
"""The limit of a solver call's first try; see ``_check``."""


def _check(
    assertions: list[Term], timeout_s: float, seed: int
) -> tuple[z3.CheckSatResult, z3.ModelRef | None, str]:
    """One question to Z3 within ``timeout_s`` in all. Z3's time on these problems is heavy
    tailed: most seeds answer in well under a second, an unlucky one (or an unlucky history of
    the worker process) can run past the limit. So a try that times out is restarted with the
    next random seed and twice the limit, until the time is used up. Any sat or unsat answer is
    as good as any other; only unknown is retried, and it stays unknown when time runs out."""
    deadline = time.perf_counter() + timeout_s
    limit = min(FIRST_TRY_S, timeout_s)
    attempt = 0
    while True:
        left = deadline - time.perf_counter()
        solver = z3.Solver()
        solver.set("timeout", max(1, int(min(limit, left) * 1000)))
        solver.set("random_seed", seed + attempt)
        solver.add(*assertions)
        answer = solver.check()
        if answer != z3.unknown:
            return answer, solver.model() if answer == z3.sat else None, ""
        reason = solver.reason_unknown()
        retry = reason in ("timeout", "canceled") and deadline - time.perf_counter() > 0.1
        if not retry:
            return answer, None, reason
        attempt += 1
        limit *= 2


def smt2_text(ob: Obligation) -> str:
    """The obligation as an SMT-LIB 2 script whose expected answer is unsat."""
    solver = z3.Solver()
    solver.add(*ob.hypotheses)
    solver.add(z3.Not(ob.goal))
    header = f"; obligation {ob.name}\n; rules {' '.join(ob.rule_ids)}\n; expected: unsat\n"
    return header + "(set-logic ALL)\n" + str(solver.to_smt2())


_SETTINGS_MUTANT = ""
"""The seeded bug the cached settings of this process were built with."""


def discharge(
    name: str,
    timeout_s: float,
    out_dir: str | None = None,
    mutant: str = "",
    seed: int = 0,
    hygiene: bool = True,
) -> Result:
    """Prove one obligation (with a seeded bug applied when ``mutant`` names one)."""
    global _SETTINGS_MUTANT
    start = time.perf_counter()
    try:
        if mutant != _SETTINGS_MUTANT:
            obligations.forget_settings()
            _SETTINGS_MUTANT = mutant
        with mutant_catalogue.applied(mutant):
            ob = obligations.build(name)
        asked = time.perf_counter()
        answer, model, reason = _check([*ob.hypotheses, z3.Not(ob.goal)], timeout_s, seed)
        prove_seconds = time.perf_counter() - asked
        result = Result(
            name, list(ob.rule_ids), ob.scope, "unknown", 0.0, "not checked", False, mutant=mutant
        )
        result.prove_seconds = round(prove_seconds, 3)
        result.about = list(ob.goal_rules)
        result.hypotheses = len(ob.hypotheses)
        if answer == z3.unsat:
            result.status = "proved"
        elif answer == z3.sat:
            assert model is not None
            result.status = "failed"
            result.counterexample = render(model, ob.show)
        else:
            result.detail = f"solver: {reason or 'unknown'} (limit {timeout_s:g} s)"
        if hygiene:
            asked = time.perf_counter()
            vacuity, witness, why = _check(list(ob.hypotheses), timeout_s, seed)
            result.vacuity_seconds = round(time.perf_counter() - asked, 3)
            if vacuity == z3.sat:
                assert witness is not None
                result.vacuity = "sat"
                result.witness = render(witness, ob.show)
            elif vacuity == z3.unsat:
                result.vacuity = "unsat"
                result.status = "vacuous"
            else:
                result.vacuity = "unknown"
                result.detail += f" vacuity check: {why}"
                if result.status == "proved":
                    result.status = "unknown"
            taut, _, _ = _check([z3.Not(ob.goal)], timeout_s, seed)
            result.tautology = taut == z3.unsat
        if out_dir is not None:
            text = smt2_text(ob)
            target = Path(out_dir) / "smt2" / (name.replace("/", "__") + ".smt2")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            result.smt2_file = str(target.relative_to(out_dir))
            result.smt2_sha256 = hashlib.sha256(text.encode()).hexdigest()
    except Exception as problem:  # a broken obligation is reported, not a crash of the run
        result = Result(name, [], "", "error", 0.0, "not checked", False, mutant=mutant)
        result.detail = f"{type(problem).__name__}: {problem}"
    result.seconds = round(time.perf_counter() - start, 3)
    return result


@dataclass(frozen=True)
class Task:
    name: str
    timeout_s: float
    out_dir: str | None
    mutant: str = ""
    hygiene: bool = True
    seed: int = 0


def _run_task(task: Task) -> Result:
    return discharge(
        task.name, task.timeout_s, task.out_dir, task.mutant, task.seed, hygiene=task.hygiene
    )


def run_tasks(tasks: list[Task], jobs: int) -> Iterator[Result]:
    """Results as they finish, ``jobs`` processes at a time."""
    if jobs <= 1:
        yield from map(_run_task, tasks)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(jobs, maxtasksperchild=64) as pool:
        yield from pool.imap_unordered(_run_task, tasks)


# --- Reports --------------------------------------------------------------------------------------


def sources_digest() -> str:
    """SHA-256 over the source of ``spec/`` and ``proofs/`` (paths and bytes, sorted): a report
    carries it so that a release can tell a report of the current obligations from a stale one."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for folder in ("spec", "proofs"):
        for path in sorted((root / folder).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\x00")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def invariant_map(results: list[Result]) -> dict[str, list[str]]:
    """Every invariant rule id of the rule book -> the proved obligations that cite it."""
    out: dict[str, list[str]] = {}
    for rule in RULES:
        if rule.kind is RuleKind.INVARIANT and outside_model(rule.id) is None:
            out[rule.id] = sorted(
                r.name for r in results if r.status == "proved" and rule.id in r.about
            )
    return out


@dataclass
class Report:
    results: list[Result]
    seconds: float
    jobs: int
    timeout_s: float
    mutants: list[dict[str, Any]] = field(default_factory=list)
    seed: int = 0

    @property
    def all_proved(self) -> bool:
        return bool(self.results) and all(
            r.status == "proved" and r.vacuity == "sat" for r in self.results
        )

    def to_json(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        mapping = invariant_map(self.results)
        return {
            "summary": {
                "obligations": len(self.results),
                "by_status": counts,
                "all_proved": self.all_proved,
                "tautologies": sorted(r.name for r in self.results if r.tautology),
                "seconds": round(self.seconds, 2),
                "jobs": self.jobs,
                "timeout_s_per_obligation": self.timeout_s,
                "z3_version": z3.get_version_string(),
                "z3_random_seed": self.seed,
                "invariants_without_proof": sorted(k for k, v in mapping.items() if not v),
                "sources_sha256": sources_digest(),
            },
            "axioms": [{"id": a, "statement": s} for a, s in AXIOMS],
            "outside_model": {r.id: why for r in RULES if (why := outside_model(r.id)) is not None},
            "invariant_map": mapping,
            "obligations": [asdict(r) for r in sorted(self.results, key=lambda r: r.name)],
            "mutants": self.mutants,
        }

    def to_markdown(self) -> str:
        data = self.to_json()
        summary = data["summary"]
        lines = [
            "# kwhledger proof report",
            "",
            f"{summary['obligations']} obligations, {summary['by_status']}, "
            f"{summary['seconds']} s with {self.jobs} processes, "
            f"{self.timeout_s:g} s limit each, Z3 {summary['z3_version']}.",
            "",
            "## Invariants and the obligations that prove them",
            "",
            "| invariant | proved obligations |",
            "|---|---|",
        ]
        for rule_id, names in data["invariant_map"].items():
            shown = ", ".join(f"`{n}`" for n in names[:8])
            more = f" and {len(names) - 8} more" if len(names) > 8 else ""
            lines.append(f"| {rule_id} | {shown or '**none**'}{more} |")
        lines += ["", "## Rules outside the model (not proved here)", ""]
        lines += [f"- **{k}**: {v}" for k, v in data["outside_model"].items()]
        lines += ["", "## Axioms and assumptions", ""]
        lines += [f"- **{a['id']}**: {a['statement']}" for a in data["axioms"]]
        lines += [
            "",
            "## Obligations",
            "",
            "| obligation | rules | scope | status | vacuity | time (s) |",
            "|---|---|---|---|---|---|",
        ]
        for r in sorted(self.results, key=lambda r: r.name):
            flag = " (tautology)" if r.tautology else ""
            lines.append(
                f"| `{r.name}` | {' '.join(r.rule_ids)} | {r.scope} | {r.status}{flag} | "
                f"{r.vacuity} | {r.seconds:.2f} |"
            )
        failed = [r for r in self.results if r.status != "proved"]
        if failed:
            lines += ["", "## Not proved", ""]
            for r in failed:
                lines += [f"### `{r.name}`: {r.status}", "", r.detail, ""]
                if r.counterexample:
                    lines += ["```json", json.dumps(r.counterexample, indent=2), "```", ""]
        if self.mutants:
            lines += [
                "",
                "## Seeded bugs",
                "",
                "| bug | targets | caught by |",
                "|---|---|---|",
            ]
            for m in self.mutants:
                caught = ", ".join(f"`{n}`" for n in m["caught_by"]) or "**not caught**"
                lines.append(f"| `{m['name']}`: {m['description']} | {m['targets']} | {caught} |")
        return "\n".join(lines) + "\n"


HEAVY = ("auction/", "clear_market/", "lemma/pro-rata")
"""Obligations that take seconds: started first, so that they do not finish last."""


def _heavy_first(name: str) -> tuple[int, int]:
    """Sort key: heavy obligations first, then the registry's order (kinds together)."""
    order = obligations.names()
    return (0 if name.startswith(HEAVY) else 1, order.index(name))


def prove_all(
    names: list[str],
    jobs: int,
    timeout_s: float,
    out_dir: str | None,
    progress: Callable[[int, int, Result], None] | None = None,
    seed: int = 0,
) -> Report:
    """Discharge ``names``; ``progress`` hears about each result as it arrives."""
    start = time.perf_counter()
    ordered = sorted(names, key=_heavy_first)
    tasks = [Task(n, timeout_s, out_dir, seed=seed) for n in ordered]
    results = []
    for done, result in enumerate(run_tasks(tasks, jobs), 1):
        results.append(result)
        if progress is not None:
            progress(done, len(tasks), result)
    return Report(results, time.perf_counter() - start, jobs, timeout_s, seed=seed)


def run_mutants(
    jobs: int,
    timeout_s: float,
    progress: Callable[[int, int, Result], None] | None = None,
) -> list[dict[str, Any]]:
    """Each seeded bug against the obligations it could break; caught = some obligation fails
    with a counterexample (unknown does not count)."""
    tasks = [
        Task(n, timeout_s, None, m.name, hygiene=False)
        for m in mutant_catalogue.MUTANTS
        for n in m.candidates(obligations.names())
    ]
    by_mutant: dict[str, list[Result]] = {m.name: [] for m in mutant_catalogue.MUTANTS}
    for done, result in enumerate(run_tasks(tasks, jobs), 1):
        by_mutant[result.mutant].append(result)
        if progress is not None:
            progress(done, len(tasks), result)
    out = []
    for m in mutant_catalogue.MUTANTS:
        results = sorted(by_mutant[m.name], key=lambda r: r.name)
        caught = [r for r in results if r.status == "failed"]
        out.append(
            {
                "name": m.name,
                "description": m.description,
                "targets": m.targets,
                "caught": bool(caught),
                "caught_by": [r.name for r in caught],
                "counterexample": caught[0].counterexample if caught else None,
                "not_decided": [r.name for r in results if r.status not in ("proved", "failed")],
            }
        )
    return out
