"""The proof runner's hygiene: proofs are real, bugs are caught, vacuity and timeouts never pass.

Small and fast on purpose: a handful of obligations, one seeded bug, and hand-made obligations
that must be flagged (vacuous hypotheses, a tautology, a problem the solver cannot finish).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import z3

from kwhledger.cli import main
from proofs import obligations, runner
from proofs.model import Obligation


@pytest.mark.parametrize(
    "name", ["init/INV-06", "transfer/INV-06", "cancel/INV-03", "lemma/refund"]
)
def test_obligations_prove_with_a_witness_and_an_smt_file(name: str, tmp_path: Path) -> None:
    result = runner.discharge(name, timeout_s=30, out_dir=str(tmp_path))
    assert (result.status, result.vacuity) == ("proved", "sat"), result.detail
    assert result.witness is not None
    text = (tmp_path / result.smt2_file).read_text(encoding="utf-8")
    assert "(set-logic ALL)" in text and "(check-sat)" in text
    assert hashlib.sha256(text.encode()).hexdigest() == result.smt2_sha256


def test_a_seeded_bug_is_caught_with_a_readable_counterexample() -> None:
    result = runner.discharge(
        "transfer/INV-06", timeout_s=30, mutant="self-transfer-reads-pre-state", hygiene=False
    )
    assert result.status == "failed"
    assert result.counterexample is not None
    tx = result.counterexample["transaction"]
    # The bug only shows when the recipient is the sender: the counterexample must say so.
    assert tx["tx.to"] == tx["tx.sender"]
    assert "balance_total" in result.counterexample["post-state changes"]
    # And without the bug the same obligation proves (the patch was undone).
    assert runner.discharge("transfer/INV-06", timeout_s=30, hygiene=False).status == "proved"


def test_a_ranking_without_tie_break_is_caught_on_a_tie() -> None:
    name = "auction/ranking-unique-asks-4"
    result = runner.discharge(name, timeout_s=30, mutant="ranking-without-id", hygiene=False)
    assert result.status == "failed" and result.counterexample is not None
    tx = result.counterexample["transaction"]
    first = [tx[f"first[{t}]"] for t in range(4)]
    second = [tx[f"second[{t}]"] for t in range(4)]
    # Two different arrangements, differing only in how orders at one limit are placed.
    assert first != second and sorted(first) == sorted(second) == [0, 1, 2, 3]
    limits = [tx[f"ask[{k}].limit"] for k in range(4)]
    assert [limits[k] for k in first] == [limits[k] for k in second]
    assert runner.discharge(name, timeout_s=30).status == "proved"


def _register(monkeypatch: pytest.MonkeyPatch, ob: Obligation) -> None:
    monkeypatch.setitem(obligations.BUILDERS, ob.name, lambda: ob)


def test_vacuous_obligations_are_flagged_not_proved(monkeypatch: pytest.MonkeyPatch) -> None:
    x = z3.Int("x")
    _register(monkeypatch, Obligation("test/vacuous", ("INV-06",), [x > 1, x < 0], x == 7))
    result = runner.discharge("test/vacuous", timeout_s=10)
    assert result.status == "vacuous"
    assert result.vacuity == "unsat"
    report = runner.Report([result], 0.0, 1, 10)
    assert not report.all_proved
    assert report.to_json()["invariant_map"]["INV-06"] == []


def test_a_tautology_is_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    x = z3.Int("x")
    _register(monkeypatch, Obligation("test/tautology", ("INV-01",), [x > 1], z3.Or(x > 0, x <= 0)))
    result = runner.discharge("test/tautology", timeout_s=10)
    assert result.tautology


def test_a_timeout_is_never_reported_as_proved(monkeypatch: pytest.MonkeyPatch) -> None:
    # A Fermat-style cubic: Z3 cannot settle it, certainly not within 50 ms.
    x, y, z = z3.Ints("x y z")
    hard = Obligation(
        "test/hard",
        ("INV-07",),
        [x > 0, y > 0, z > 0],
        x * x * x + y * y * y != z * z * z,
    )
    _register(monkeypatch, hard)
    result = runner.discharge("test/hard", timeout_s=0.05)
    assert result.status == "unknown"
    assert not runner.Report([result], 0.0, 1, 0.05).all_proved


def test_kwhledger_prove_reports_and_exits_zero_on_a_proved_subset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_file = tmp_path / "report.json"
    code = main(
        ["prove", "--only", "lemma/sum", "--out", str(tmp_path), "--json", str(report_file)]
    )
    assert code == 0
    data = json.loads(report_file.read_text(encoding="utf-8"))
    names = [o["name"] for o in data["obligations"]]
    assert names == ["lemma/sum-subset", "lemma/sum-update"]
    assert all(o["status"] == "proved" for o in data["obligations"])
    assert (tmp_path / "proofs.md").read_text(encoding="utf-8").startswith("# kwhledger proof")
    assert "lemma/sum-update" in capsys.readouterr().out
