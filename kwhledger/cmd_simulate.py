"""``kwhledger simulate``: a rural village trading its solar surplus for a day or more.

The village runs on the reference node (blocks in SQLite); at the end its final state is also
handed to the executable spec's invariant checker, an independent second opinion on the
conservation laws.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kwhledger.args import CliError, output_file, positive_int


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "simulate", help="simulate a village trading energy through the reference node"
    )
    parser.add_argument("--households", type=positive_int, default=40, help="number of homes")
    parser.add_argument("--days", type=positive_int, default=1, help="days to simulate")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument(
        "--db", type=output_file, help="new SQLite file for the chain (default: a temp dir)"
    )
    parser.add_argument("--plot", type=output_file, metavar="FILE.svg", help="draw the days as SVG")
    parser.add_argument("--json", action="store_true", help="machine-readable summary")
    parser.set_defaults(run=run)


def spec_invariants(simulation: Any) -> list[str]:
    """Violations the spec's invariant checker finds in the final state (empty: none)."""
    from reference.ledger import encode_state
    from spec.cbor import decode
    from spec.invariants import check_state
    from spec.state import decode_state

    state = decode_state(decode(encode_state(simulation.ledger), max_size=1 << 30))
    return [f"{v.rule_id}: {v.message}" for v in check_state(state)]


def growth_line(figures: list[Any]) -> str:
    """Day 3 against the last day: peak memory and time (issue targets: within 20 %)."""
    first, last = figures[2], figures[-1]

    def change(a: float, b: float) -> str:
        return f"{100 * (b - a) / a:+.1f} %" if a else "n/a"

    return (
        f"day {last.day} against day 3: peak RSS {change(first.peak_rss_mib, last.peak_rss_mib)}, "
        f"wall-clock time {change(first.seconds, last.seconds)}, CPU time "
        f"{change(first.cpu_seconds, last.cpu_seconds)}, state entries "
        f"{change(first.state_entries, last.state_entries)}"
    )


def run(args: argparse.Namespace) -> int:
    from reference.simulate import memory_method
    from reference.simulate import run as simulate

    if args.db is not None and args.db.exists():
        raise CliError(f"{args.db} exists; give a new path")

    def progress(message: str) -> None:
        # On stderr even with --json: a run of an hour must show that it is alive, and the
        # JSON document on stdout stays clean.
        print(f"... {message}", file=sys.stderr, flush=True)

    settlement_violations: list[str] = []

    def check_records(records: list[bytes]) -> None:
        """The spec's settlement invariants on one block's records (INV-02, 05, 09, 22, 23)."""
        from spec.cbor import decode
        from spec.invariants import check_settlement
        from spec.settlement import decode_record

        decoded = [decode_record(decode(r, max_size=1 << 16)) for r in records]
        settlement_violations.extend(f"{v.rule_id}: {v.message}" for v in check_settlement(decoded))

    simulation = simulate(
        args.households, args.days, args.seed, args.db, progress, on_settlement=check_records
    )
    totals = simulation.totals()
    checks = dict(simulation.checks)
    violations = spec_invariants(simulation)
    checks["the spec's invariant checker finds nothing in the final state"] = not violations
    checks[
        "the spec's settlement invariants hold for every block's records (INV-02, INV-05, "
        "INV-09, INV-22, INV-23)"
    ] = not settlement_violations
    violations += settlement_violations[:20]
    if args.plot is not None:
        from reference.plot import render

        args.plot.write_text(render(simulation))
    ok = all(checks.values())
    if args.json:
        out = {
            "households": simulation.households,
            "days": simulation.days,
            "seed": simulation.seed,
            "weather": simulation.weather,
            "blocks": simulation.blocks,
            "transactions": simulation.transactions,
            "rejected": simulation.rejected,
            "db": str(simulation.db_path),
            "totals": totals,
            "checks": checks,
            "violations": violations,
            "memory_method": memory_method(),
            "days_figures": [f.__dict__ for f in simulation.days_figures],
        }
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0 if ok else 1
    t = totals
    print(
        f"village: {simulation.households} households, {simulation.days} "
        f"{'day' if simulation.days == 1 else 'days'}, seed "
        f"{simulation.seed}, weather {', '.join(simulation.weather)}"
    )
    print(
        f"chain:   {simulation.blocks} blocks, {simulation.transactions} transactions "
        f"({simulation.rejected} rejected), stored in {simulation.db_path}"
    )
    print()
    print(f"PV generated                     {t['pv_kwh']:>10,.1f} kWh")
    print(f"consumed                         {t['consumption_kwh']:>10,.1f} kWh")
    print(
        f"exported to the grid             {t['export_kwh']:>10,.1f} kWh "
        f"({t['sellable_export_kwh']:,.1f} kWh sellable, the rest under feed-in tariffs)"
    )
    print(f"imported from the grid           {t['import_kwh']:>10,.1f} kWh")
    print(f"traded locally (neighbours)      {t['traded_kwh']:>10,.1f} kWh")
    print(f"share of demand met by neighbours {t['share_of_demand_met_by_neighbours']:>9.1%}")
    print(f"share of sellable export sold    {t['share_of_sellable_export_sold']:>10.1%}")
    if t["average_price_yen_per_kwh"] is not None:
        print(
            f"average clearing price           {t['average_price_yen_per_kwh']:>10.2f} yen/kWh "
            f"(from {t['min_price_yen_per_kwh']:.2f} to {t['max_price_yen_per_kwh']:.2f})"
        )
    print(f"paid by buyers to sellers        {t['paid_to_sellers_yen']:>10,.0f} yen")
    print(f"wheeling fees to the operator    {t['wheeling_fees_yen']:>10,.0f} yen")
    print(f"order fees to the operator       {t['order_fees_yen']:>10,.0f} yen")
    print()
    print(
        f"per day ({memory_method()}; time is wall-clock and this process's CPU time, "
        "clients' signing included):"
    )
    print("  day   seconds   CPU seconds   peak RSS MiB   RSS at end MiB   state entries")
    for f in simulation.days_figures:
        print(
            f"  {f.day:>3}  {f.seconds:>8.1f}  {f.cpu_seconds:>12.1f}  {f.peak_rss_mib:>13,.0f}  "
            f"{f.rss_mib:>15,.0f}  {f.state_entries:>14,}"
        )
    figures = simulation.days_figures
    if len(figures) >= 3:
        print(growth_line(figures))
    print()
    print("checks:")
    for name, held in checks.items():
        print(f"  [{'ok' if held else 'FAILED'}] {name}")
    for violation in violations:
        print(f"    {violation}")
    if args.plot is not None:
        print(f"\npicture: {args.plot}")
    return 0 if ok else 1
