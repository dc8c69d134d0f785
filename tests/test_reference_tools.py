"""``kwhledger simulate`` and ``kwhledger bench`` end to end, on small workloads."""

from __future__ import annotations

import json
import xml.dom.minidom
from pathlib import Path

from kwhledger.cli import main
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
    assert set(figures["targets"]) == {
        "e2e_to_verify",
        "readings_per_second",
        "clear_100000_seconds",
        "memory_mib",
    }
