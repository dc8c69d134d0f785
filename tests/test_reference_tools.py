"""``kwhledger simulate`` and ``kwhledger bench`` end to end, on small workloads."""

from __future__ import annotations

import json
import xml.dom.minidom
from pathlib import Path

import pytest

from kwhledger.cli import main
from kwhledger.cmd_bench import verdicts
from reference.simulate import run


def test_village_day_conserves_energy_and_money_and_survives_a_restart(tmp_path: Path) -> None:
    simulation = run(households_count=12, days=1, seed=4, db_path=tmp_path / "village.db")
    assert all(simulation.checks.values()), simulation.checks
    totals = simulation.totals()
    assert 0 < totals["traded_kwh"] <= min(totals["sellable_export_kwh"], totals["import_kwh"])
    assert simulation.blocks == 1 + 2 * 48 + 1
    # The same seed gives the same chain.
    again = run(households_count=12, days=1, seed=4, db_path=tmp_path / "again.db")
    assert again.ledger.tip_hash == simulation.ledger.tip_hash


def test_simulate_command_prints_checks_and_draws_svg(tmp_path: Path, capsys: object) -> None:
    plot = tmp_path / "day.svg"
    code = main(
        [
            "simulate",
            "--households",
            "8",
            "--seed",
            "2",
            "--db",
            str(tmp_path / "v.db"),
            "--plot",
            str(plot),
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    assert code == 0
    assert all(out["checks"].values()) and out["violations"] == []
    document = xml.dom.minidom.parse(str(plot))
    root = document.documentElement
    assert root is not None and root.tagName == "svg"
    assert len(document.getElementsByTagName("rect")) > 48


def test_bench_quick_reports_every_figure(capsys: object) -> None:
    assert main(["bench", "--quick", "--json", "--repeats", "1"]) == 0
    figures = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    assert figures["verify_per_second"] > 0
    assert figures["e2e_single"]["accepted"] == figures["e2e_single"]["transactions"] > 0
    assert figures["e2e_second_core"]["accepted"] == figures["e2e_single"]["accepted"]
    assert 0 < figures["ratios"]["e2e_single_to_verify"] < 1
    assert figures["readings"]["apply_per_second"] > 0
    assert figures["memory"]["readings"] == 48 * 1000
    assert figures["targets"] == {}  # small workloads judge no target


def test_bench_exits_non_zero_when_a_target_is_not_met(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import reference.bench
    from kwhledger.cmd_bench import TARGETS

    main(["bench", "--quick", "--json", "--repeats", "1"])
    figures = json.loads(capsys.readouterr().out)
    small = next(k for k in figures if k.startswith("clearing_"))
    figures["clearing_100000"] = dict(figures[small], clear_seconds=0.5)
    monkeypatch.setattr(reference.bench, "run_all", lambda **_: dict(figures))
    assert main(["bench", "--json"]) == (
        0 if all(row["met"] for row in verdicts(figures).values()) else 1
    )
    judged = json.loads(capsys.readouterr().out)["targets"]
    assert set(judged) == set(TARGETS)
    slow = dict(figures, readings=dict(figures["readings"], apply_per_second=1))
    monkeypatch.setattr(reference.bench, "run_all", lambda **_: dict(slow))
    assert main(["bench"]) == 1
    captured = capsys.readouterr()
    assert "NOT met" in captured.out and "targets not met" in captured.err
