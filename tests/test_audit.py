"""``kwhledger audit``: its report stage, the report's links, where it runs, its steps."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import cbor2
import pytest

from kwhledger.audit import Context, clear_previous_village, context, plan
from kwhledger.trace import enforcing_functions, find_clone
from spec.rules import RULES

REPO = Path(__file__).resolve().parent.parent
TEST_EXTRA = ("cddl_verifier", "ruff", "mypy", "coverage")

# Runs the report stage with the test extra's packages, and any test module, made unimportable:
# what a fresh `pip install -e .` has.
WITHOUT_TEST_EXTRA = textwrap.dedent(
    f"""
    import importlib.abc, sys
    BLOCKED = {TEST_EXTRA!r}
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            top = name.split(".")[0]
            if top in BLOCKED or top.startswith("test_") or top in ("conftest", "_rules_plugin"):
                raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)")
            return None
    sys.meta_path.insert(0, Block())
    from kwhledger.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report built by the report stage, without the test extra, from a small proof run."""
    out = tmp_path_factory.mktemp("audit")
    prove = [sys.executable, "-m", "kwhledger.cli", "prove", "--only", "init/", "--jobs", "1"]
    prove += ["--out", str(out / "proofs"), "--json", str(out / "proofs.json")]
    subprocess.run(prove, cwd=REPO, check=True, capture_output=True)
    command = [sys.executable, "-P", "-c", WITHOUT_TEST_EXTRA, "audit", "--report-only"]
    done = subprocess.run(
        [*command, "--out", str(out)], cwd=REPO / "spec", capture_output=True, text=True
    )
    # Report only: never a pass, but a clean verdict, not a crash.
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.strip() == f"audit FAILED: {out / 'audit.html'}"
    return out


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []
        self.rule_rows: set[str] = set()
        self.vectors: list[str] = []
        self._a: str | None = None
        self._vector = False
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            assert a["id"] not in self.ids, f"duplicate id {a['id']}"
            self.ids.add(str(a["id"]))
        if tag == "tr" and str(a.get("id", "")).startswith("rule-"):
            self.rule_rows.add(str(a["id"]).removeprefix("rule-"))
        if tag == "a" and a.get("href"):
            self._a, self._text = str(a["href"]), []
        if tag == "code" and a.get("class") == "vector":
            self._vector, self._text = True, []

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._a is not None:
            self.links.append((self._a, "".join(self._text)))
            self._a = None
        if tag == "code" and self._vector:
            self.vectors.append("".join(self._text))
            self._vector = False


def test_the_report_stage_runs_without_the_test_extra(report: Path) -> None:
    for name in ("audit.html", "audit.md", "audit.json"):
        assert (report / name).stat().st_size > 0
    data = json.loads((report / "audit.json").read_text())
    assert data["result"] == "failed"
    assert {s["status"] for s in data["steps"]} == {"not run"}
    assert data["problems"] == []  # tests read, vectors read, proof report read


def test_every_rule_row_and_link_of_the_html_report_resolves(report: Path) -> None:
    page = Page()
    page.feed((report / "audit.html").read_text())
    assert page.rule_rows == {r.id for r in RULES}
    internal = [(href, text) for href, text in page.links if href.startswith("#")]
    assert internal
    unresolved = [href for href, _ in internal if href[1:] not in page.ids]
    assert unresolved == []
    hrefs = {href for href, _ in internal}
    assert {f"#rb-{r.id}" for r in RULES} <= hrefs  # each row links to its rule book entry
    proofs = {ob["name"] for ob in json.loads((report / "proofs.json").read_text())["obligations"]}
    named = [text for href, text in internal if href.startswith("#ob-")]
    assert named and set(named) <= proofs
    index = cbor2.loads((REPO / "conformance_tests" / "index.cbor").read_bytes())
    assert page.vectors and set(page.vectors) <= {v["id"] for v in index["vectors"]}
    files = [href for href, _ in page.links if not href.startswith("#")]
    assert all((report / href).exists() for href in files), files


def test_obligations_are_listed_under_the_rules_they_are_about(report: Path) -> None:
    data = json.loads((report / "audit.json").read_text())
    rows = {row["rule_id"]: row for row in data["matrix"]}
    proofs = json.loads((report / "proofs.json").read_text())["obligations"]
    for ob in proofs:
        for rule_id in ob["about"]:
            assert ob["name"] in [o["name"] for o in rows[rule_id]["obligations"]]
        for rule_id in set(ob["rule_ids"]) - set(ob["about"]):
            assert ob["name"] not in [o["name"] for o in rows[rule_id]["obligations"]]
    # Determinism is outside the model and never shown as proved.
    assert rows["INV-15"]["proof"] == "outside the model"
    assert "NOT proved" in rows["INV-15"]["outside_model"]
    assert rows["ENC-01"]["proof"] == "outside the model"


def test_enforcing_functions_are_the_ones_that_raise_or_carry_the_mark() -> None:
    found = enforcing_functions(REPO / "spec")
    assert found["CLR-06"] == ["spec.clearing.clear_market"]
    assert found["CLR-01"] == ["spec.clearing.clear_due_markets"]
    assert found["ATT-04"] == ["spec.attestation.attest", "spec.corrections.correct_reading"]
    assert "spec.state.genesis" not in {f for fs in found.values() for f in fs}


def test_the_audit_finds_the_clone_from_a_subfolder_and_writes_there() -> None:
    assert find_clone(REPO / "spec") == REPO
    ctx = context(None, REPO / "conformance_tests" / "vectors")
    assert ctx.clone == REPO and ctx.out == REPO / "out" / "audit"


def test_outside_a_clone_the_steps_that_need_it_are_not_run(tmp_path: Path) -> None:
    from kwhledger.audit import run_step

    ctx = context(None, tmp_path)
    assert ctx.clone is None and ctx.out == tmp_path / "out" / "audit"
    needing = [step for step in plan(ctx) if step.needs_clone]
    assert needing
    said: list[str] = []
    run_step(needing[0], ctx, said.append)
    assert needing[0].status == "not run" and "clone" in said[0]


def test_a_second_audit_starts_its_village_from_an_empty_store(tmp_path: Path) -> None:
    village = next(step for step in plan(Context(REPO, tmp_path)) if step.name == "village day")
    store = tmp_path / "village.sqlite"
    assert str(store) in village.command  # the step writes the store the cleanup removes
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").write_bytes(b"an earlier audit's chain")
    (tmp_path / "proofs.json").write_text("{}")
    clear_previous_village(tmp_path)
    assert not any(Path(f"{store}{suffix}").exists() for suffix in ("", "-wal", "-shm"))
    assert (tmp_path / "proofs.json").exists()  # nothing else is touched


def test_sigterm_ends_the_audit_and_the_step_it_runs(tmp_path: Path) -> None:
    import signal
    import time

    audit = subprocess.Popen(
        [sys.executable, "-m", "kwhledger.cli", "audit", "--out", str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def step_processes() -> list[str]:
        pattern = f"prove --json {tmp_path}"
        found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
        return found.stdout.split()

    deadline = time.monotonic() + 60
    while not step_processes() and time.monotonic() < deadline:
        time.sleep(0.1)  # until the proofs step runs
    assert step_processes()
    time.sleep(0.5)
    audit.send_signal(signal.SIGTERM)
    _, err = audit.communicate(timeout=10)
    assert audit.returncode == 130 and "interrupted" in err and "Traceback" not in err
    time.sleep(0.5)
    assert step_processes() == []
