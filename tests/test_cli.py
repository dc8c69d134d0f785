"""The command line's front door: one clear line for every error, found before any work starts;
``--version``; defaults in ``--help``; ``kwhledger rules ID`` and ``kwhledger vectors list``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance_tests.runner import default_suite_dir, load_index, load_vectors
from kwhledger.cli import main
from spec.rules import RULES_BY_ID
from spec.version import SPEC_VERSION

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "kwhledger.cli"]


def _run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=60)


ERRORS = [
    (("conform", "--impl", "x", "--results", "/missing/dir/r.json"), "/missing/dir"),
    (("conform", "--impl", "x", "--junit", "/missing/dir/j.xml"), "/missing/dir"),
    (("conform", "--impl", "x", "--jobs", "0"), "--jobs"),
    (("conform", "--impl", "x", "--max-failures", "-1"), "--max-failures"),
    (("conform", "--impl", "x", "--select", "NOSUCH-99"), "no vector matches"),
    (("simulate", "--plot", "/missing/x.svg"), "/missing"),
    (("simulate", "--days", "0"), "--days"),
    (("vectors", "generate", "--out", "pyproject.toml"), "is a file"),
    (("vectors", "check", "--dir", "/nonexistent"), "/nonexistent"),
    (("vectors", "show", "no/such/vector"), "no vector"),
    (("vectors", "list", "--select", "NOSUCH-99"), "no vector matches"),
    (("prove", "--only", "nosuch"), "no obligation name starts with 'nosuch'"),
    (("prove", "--jobs", "0"), "--jobs"),
    (("prove", "--json", "/missing/dir/p.json"), "/missing/dir"),
    (("bench", "--repeats", "0"), "--repeats"),
    (("rules", "NOSUCH-01"), "no rule NOSUCH-01"),
    (("release", "verify", "/missing.tar", "--public-key", "00" * 32), "/missing.tar"),
    (("release", "verify", "pyproject.toml", "--public-key", "zz"), "not hex"),
    (("release", "--key", "/missing.key"), "/missing.key"),
    (("release", "--out", "o"), "--key is required"),
    (("audit", "--out", "pyproject.toml"), "pyproject.toml"),
]


@pytest.mark.parametrize(("args", "says"), ERRORS, ids=[" ".join(a) for a, _ in ERRORS])
def test_every_error_is_one_line_on_stderr_with_a_non_zero_exit(
    args: tuple[str, ...],
    says: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(REPO)
    started = time.monotonic()
    try:
        code = main(list(args))
    except SystemExit as exit_:  # argparse refuses an argument by exiting
        code = exit_.code  # type: ignore[assignment]
    captured = capsys.readouterr()
    assert code not in (0, None)
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert says in lines[0]
    assert lines[0].startswith(f"kwhledger {args[0]}")
    assert time.monotonic() - started < 20  # refused before the work, not after it


def test_an_error_in_a_process_of_its_own_is_one_line_without_traceback() -> None:
    done = _run("vectors", "check", "--dir", "/nonexistent")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_simulate_refuses_an_existing_store_before_simulating(tmp_path: Path) -> None:
    store = tmp_path / "village.sqlite"
    store.write_bytes(b"")
    done = _run("simulate", "--db", str(store))
    assert done.returncode == 2 and done.stderr.strip().endswith("exists; give a new path")


def test_an_unexpected_error_is_one_line_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import kwhledger.cmd_rules

    def broken(_: object) -> int:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(kwhledger.cmd_rules, "run", broken)
    monkeypatch.delenv("KWHLEDGER_DEBUG", raising=False)
    # main() looks the function up through set_defaults, bound when the parser is built.
    assert main(["rules"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "kwhledger rules: internal error: ZeroDivisionError: a bug "
        "(KWHLEDGER_DEBUG=1 shows the traceback)\n"
    )


def test_version_names_the_package_and_the_rule_book() -> None:
    done = _run("--version")
    assert done.returncode == 0 and f"(rule book {SPEC_VERSION})" in done.stdout


def test_help_shows_the_defaults() -> None:
    text = _run("conform", "--help").stdout
    assert "(default: 60.0)" in text and "(default: 10)" in text
    assert "(default: 5)" in _run("bench", "--help").stdout


def test_rules_id_prints_the_whole_rule(tmp_path: Path) -> None:
    report = tmp_path / "proofs.json"
    prove = [*CLI, "prove", "--only", "init/", "--jobs", "1", "--out", str(tmp_path)]
    subprocess.run([*prove, "--json", str(report)], check=True, capture_output=True, cwd=REPO)
    done = _run("rules", "inv-01", "--json", "--proofs", str(report))
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    rule = RULES_BY_ID["INV-01"]
    assert shown["statement"] == rule.statement and shown["rationale"]
    assert shown["section"].startswith("11.")
    assert "spec.invariants.check_state" in shown["enforced_by"]
    assert {"name": "init/INV-01", "status": "proved", "scope": "unbounded"} in shown["obligations"]
    text = _run("rules", "ATT-04", "--proofs", str(report)).stdout
    expecting = {
        v.id
        for v in load_vectors(default_suite_dir(), ["ATT-04"])
        if any(outcome.rule == "ATT-04" for _, outcome in v.steps)
    }
    assert expecting and all(vector_id in text for vector_id in expecting)
    assert RULES_BY_ID["ATT-04"].statement in text.replace("\n  ", " ")


def test_vectors_list_selects_like_conform() -> None:
    done = _run("vectors", "list", "--select", "MNY-01")
    listed = [line.split()[0] for line in done.stdout.splitlines()]
    index = load_index(default_suite_dir())
    assert listed == [e["id"] for e in index if "MNY-01" in e["rules"]]
    assert done.stderr.strip() == f"{len(listed)} vectors"
