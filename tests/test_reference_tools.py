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
    captured = capsys.readouterr()  # type: ignore[attr-defined]
    out = json.loads(captured.out)  # stdout holds the JSON document alone
    assert code == 0
    assert all(out["checks"].values()) and out["violations"] == []
    assert "... day 1 done in " in captured.err  # progress still shows, on stderr
    document = xml.dom.minidom.parse(str(plot))
    root = document.documentElement
    assert root is not None and root.tagName == "svg"
    assert len(document.getElementsByTagName("rect")) > 48
    _every_quantity_is_visible(document, out)


def _every_quantity_is_visible(document: xml.dom.minidom.Document, summary: dict) -> None:
    """Bars of one slot sit side by side (import is never drawn under another bar), the zones
    are named, and days are labelled with their dates."""
    from reference.plot import slot_time, zone_label
    from reference.simulate import START, ZONE_NAMES

    bars: dict[str, list[tuple[float, float, str]]] = {}
    for rect in document.getElementsByTagName("rect"):
        titles = rect.getElementsByTagName("title")
        if titles:
            text = titles[0].firstChild.data  # type: ignore[union-attr]
            when, what = text.split(" JST ")
            left = float(rect.getAttribute("x"))
            bars.setdefault(when, []).append((left, left + float(rect.getAttribute("width")), what))
    assert bars
    imported = 0.0
    for drawn in bars.values():
        columns = {(a, b) for a, b, _ in drawn}
        for a, b in columns:  # two bars overlap only if they are the same column (a stack)
            # (coordinates are written to 0.1 px)
            assert all(b2 <= a + 0.2 or a2 >= b - 0.2 or (a2, b2) == (a, b) for a2, b2 in columns)
        imports = [w for _, _, w in drawn if w.startswith("import")]
        assert len(imports) <= 1
        imported += sum(float(w.split(": ")[1].split()[0]) for w in imports)
    assert abs(imported - summary["totals"]["import_kwh"]) < 0.1 * len(bars)
    texts = " ".join(
        node.firstChild.data  # type: ignore[union-attr]
        for node in document.getElementsByTagName("text")
        if node.firstChild is not None
    )
    assert all(zone_label(zone) in texts for zone in ZONE_NAMES)
    assert slot_time(START // 1800).strftime("%d %b %Y") in texts


@pytest.fixture(scope="module")
def quick_bench() -> tuple[int, dict]:
    """``kwhledger bench --quick --json`` run once: its exit code and figures."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["bench", "--quick", "--json", "--repeats", "1"])
    return code, json.loads(out.getvalue())


def test_bench_quick_reports_every_figure(quick_bench: tuple[int, dict]) -> None:
    code, figures = quick_bench
    assert code == 0
    assert figures["verify_per_second"] > 0
    assert figures["e2e_single"]["accepted"] == figures["e2e_single"]["transactions"] > 0
    assert figures["e2e_second_core"]["accepted"] == figures["e2e_single"]["accepted"]
    assert 0 < figures["ratios"]["e2e_single_to_verify"] < 1
    assert figures["readings"]["apply_per_second"] > 0
    assert figures["memory"]["readings"] == 48 * 1000
    assert figures["targets"] == {}  # small workloads judge no target


def test_bench_exits_non_zero_when_a_target_is_not_met(
    quick_bench: tuple[int, dict],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import reference.bench
    from kwhledger.cmd_bench import TARGETS

    figures = dict(quick_bench[1])
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
