"""A rural village trading its solar surplus with neighbours, slot by slot, through the node.

Two hamlets (two substations, hence two market zones) of households, about half with rooftop PV
(some still under a feed-in tariff, whose export cannot be sold). For every 30-minute slot:

1. just after the slot ends, the attestor posts one signed batch with every household's export
   and import of the slot (a block);
2. five minutes later, producers offer their surplus at their reserve price and consumers bid for
   their import at what they are willing to pay (a second block);
3. the slot's markets clear at the first block after trading closes (the next slot's first block).

Everything goes through ``reference.node.Node`` (mempool, rules, root, SQLite). Seeded and
deterministic: the same arguments give the same chain, block for block.
"""

from __future__ import annotations

import random
import re
import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cbor2

from reference.client import (
    ATTEST,
    DEPOSIT,
    PLACE_ASK,
    PLACE_BID,
    REGISTER_ACCOUNT,
    REGISTER_METER,
    REGISTER_NODE,
    Signer,
    seed_for,
)
from reference.ledger import (
    ASK,
    ATTESTOR,
    BID,
    M40,
    OPEN,
    OPERATOR,
    ORDER_FEE_MSEN,
    SERVICE_POINT,
    SLOT_SECONDS,
    SUBSTATION,
    TRADER,
    TRANSFORMER,
    VALIDATOR,
    Ledger,
)
from reference.node import Node, genesis_ledger, replay
from reference.village import Household, consumption_wh, day_weather, households, pv_wh
from reference.wire import tx_id

CHAIN_ID = "kwhledger-village"
START = 1_764_255_600
"""2025-11-28 00:00 JST (a slot boundary)."""
ATTESTATION_WINDOW_S = 1200
TRADING_CLOSE_S = 1800
ZONES = {1: 200, 10: 150}
"""Substation -> wheeling fee in sen per kWh (2.00 and 1.50 yen/kWh)."""
ZONE_NAMES = {1: "upper hamlet", 10: "lower hamlet"}
"""What a person calls each zone (the market zone of a meter is its substation's node id)."""
DEPOSIT_MSEN = 30_000 * 100_000
"""30 000 yen per household."""
MSEN_PER_YEN = 100_000


@dataclass
class SlotFigures:
    """What happened in one slot, village-wide."""

    slot: int
    pv_wh: int = 0
    consumption_wh: int = 0
    export_wh: int = 0
    sellable_wh: int = 0
    import_wh: int = 0
    traded_wh: int = 0
    paid_msen: int = 0
    fees_msen: int = 0
    order_fees_msen: int = 0
    prices: dict[int, int | None] = field(default_factory=dict)
    """Clearing price per zone (None: nothing traded)."""


@dataclass
class DayFigures:
    """What one simulated day cost the process (the village's own work and the node's)."""

    day: int
    seconds: float
    """Wall-clock time of the day's 96 blocks, clients' signing included."""
    cpu_seconds: float
    """CPU time of this process over the same day (steadier than wall-clock time on a machine
    shared with other work)."""
    peak_rss_mib: float
    """Peak resident memory during the day (see ``memory_method``)."""
    rss_mib: float
    """Resident memory at the end of the day."""
    state_entries: int
    """Entries of the node's state at the end of the day."""


def memory_method() -> str:
    """How ``DayFigures.peak_rss_mib`` is measured on this machine."""
    if _reset_peak_rss():
        return "peak RSS per day (Linux VmHWM, reset at the start of each day)"
    return "peak RSS since the process started (getrusage ru_maxrss: never reset)"


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux >= 4.0); False where it can't."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def _rss_kib() -> tuple[float, float]:
    """(peak since the last reset, current) resident memory in KiB."""
    try:
        with open("/proc/self/status") as handle:
            status = handle.read()
        peak = re.search(r"VmHWM:\s+(\d+)", status)
        now = re.search(r"VmRSS:\s+(\d+)", status)
        if peak and now:
            return float(peak.group(1)), float(now.group(1))
    except OSError:
        pass
    peak_kib = float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return peak_kib, peak_kib


@dataclass
class Simulation:
    """The outcome: per-slot figures, the node's store and the checks."""

    households: int
    days: int
    seed: int
    db_path: Path
    weather: list[str]
    slots: list[SlotFigures]
    blocks: int
    transactions: int
    rejected: int
    checks: dict[str, bool]
    ledger: Ledger
    days_figures: list[DayFigures] = field(default_factory=list)

    def totals(self) -> dict[str, Any]:
        def total(name: str) -> int:
            return sum(getattr(s, name) for s in self.slots)

        traded = total("traded_wh")
        imported = total("import_wh")
        sellable = total("sellable_wh")
        paid = total("paid_msen")
        prices = [p for s in self.slots for p in s.prices.values() if p is not None]
        return {
            "pv_kwh": total("pv_wh") / 1000,
            "consumption_kwh": total("consumption_wh") / 1000,
            "export_kwh": total("export_wh") / 1000,
            "sellable_export_kwh": sellable / 1000,
            "import_kwh": imported / 1000,
            "traded_kwh": traded / 1000,
            "share_of_demand_met_by_neighbours": traded / imported if imported else 0.0,
            "share_of_sellable_export_sold": traded / sellable if sellable else 0.0,
            "average_price_yen_per_kwh": paid / traded / 100 if traded else None,
            "min_price_yen_per_kwh": min(prices) / 100 if prices else None,
            "max_price_yen_per_kwh": max(prices) / 100 if prices else None,
            "paid_to_sellers_yen": paid / MSEN_PER_YEN,
            "wheeling_fees_yen": total("fees_msen") / MSEN_PER_YEN,
            "order_fees_yen": total("order_fees_msen") / MSEN_PER_YEN,
        }


def _reserve_prices(homes: list[Household], rng: random.Random) -> dict[str, tuple[int, int]]:
    """Each home's (ask floor, bid ceiling) in sen/kWh: above the post-FIT buy-back of about
    8 yen, below the retail price of about 31 yen less the wheeling fee."""
    return {h.name: (rng.randint(800, 1400), rng.randint(1700, 2700)) for h in homes}


def run(
    households_count: int = 40,
    days: int = 1,
    seed: int = 1,
    db_path: str | Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
    on_settlement: Callable[[list[bytes]], None] = lambda _: None,
) -> Simulation:
    """Simulate ``days`` days of a village of ``households_count`` households.

    ``on_settlement`` sees the encoded settlement records of every block (for a second opinion
    on them: ``kwhledger simulate`` hands them to the executable spec's invariant checker)."""
    rng = random.Random(seed)
    homes = households(households_count, rng)
    prices = _reserve_prices(homes, rng)
    operator = Signer(seed_for("operator", CHAIN_ID))
    attestor = Signer(seed_for("attestor", CHAIN_ID))
    validator_seeds = [seed_for(f"validator-{i}", CHAIN_ID) for i in (1, 2)]
    traders = {h.name: Signer(seed_for(h.name, CHAIN_ID)) for h in homes}
    accounts = [(operator.account, OPERATOR), (attestor.account, ATTESTOR)]
    accounts += [(Signer(s).account, VALIDATOR) for s in validator_seeds]
    genesis = genesis_ledger(
        CHAIN_ID, START, accounts, operator.account, ATTESTATION_WINDOW_S, TRADING_CLOSE_S
    )
    chain = genesis.chain_id
    if db_path is None:
        db_path = Path(tempfile.mkdtemp(prefix="kwhledger-village-")) / "village.db"
    db_path = Path(db_path)
    node = Node.create(db_path, genesis, validator_seeds)
    ledger = node.ledger
    counts = {"blocks": 0, "txs": 0, "rejected": 0}
    by_slot: dict[int, SlotFigures] = {}
    settled = Settled()

    def block(txs: list[bytes], timestamp: int) -> list[Any]:
        for tx in txs:
            receipt = node.submit(tx)
            if receipt.code:
                counts["rejected"] += 1
        _, receipts = node.produce_block(timestamp)
        counts["blocks"] += 1
        counts["txs"] += sum(1 for r in receipts if r.code == 0)
        counts["rejected"] += sum(1 for r in receipts if r.code)
        settled.add(node.last_settlement, by_slot)
        if node.last_settlement:
            on_settlement(node.last_settlement)
        return list(receipts)

    # The grid, the households, their meters and money.
    zone_of: dict[str, int] = {}
    meter_of: dict[str, int] = {}
    setup = []
    for zone, fee in ZONES.items():
        parent = None if zone == 1 else 1
        setup.append(
            operator.sign(chain, REGISTER_NODE, {0: zone, 1: SUBSTATION, 2: parent, 3: fee})
        )
        setup.append(
            operator.sign(chain, REGISTER_NODE, {0: zone + 1, 1: TRANSFORMER, 2: zone, 3: 0})
        )
    for i, home in enumerate(homes):
        zone = 1 if i % 2 == 0 else 10
        service_point = 100 + i
        zone_of[home.name], meter_of[home.name] = zone, 1000 + i
        account = traders[home.name].account
        setup += [
            operator.sign(
                chain, REGISTER_NODE, {0: service_point, 1: SERVICE_POINT, 2: zone + 1, 3: 0}
            ),
            operator.sign(chain, REGISTER_ACCOUNT, {0: account, 1: TRADER}),
            operator.sign(
                chain,
                REGISTER_METER,
                {
                    0: 1000 + i,
                    1: account,
                    2: attestor.account,
                    3: service_point,
                    4: 0,
                    5: 20_000,
                    6: 1 if home.feed_in_tariff else 0,  # the meter's encumbrance (ATT-11)
                },
            ),
            operator.sign(chain, DEPOSIT, {0: account, 1: DEPOSIT_MSEN}),
        ]
    block(setup, START + 10)

    figures: list[SlotFigures] = []
    weather: list[str] = []
    first_slot = START // SLOT_SECONDS
    days_figures: list[DayFigures] = []
    for day in range(days):
        _reset_peak_rss()
        day_started = time.perf_counter()
        cpu_started = time.process_time()
        name, percent = day_weather(rng)
        weather.append(name)
        progress(f"day {day + 1}: {name}")
        for period in range(48):
            slot = first_slot + day * 48 + period
            end = (slot + 1) * SLOT_SECONDS
            stats = by_slot[slot] = SlotFigures(slot)
            readings = []
            asks: list[tuple[Signer, dict[int, int]]] = []
            bids: list[tuple[Signer, dict[int, int]]] = []
            for home in homes:
                produced = pv_wh(home, period, percent, rng)
                used = consumption_wh(home, period, rng)
                export, imported = max(produced - used, 0), max(used - produced, 0)
                stats.pv_wh += produced
                stats.consumption_wh += used
                stats.export_wh += export
                stats.import_wh += imported
                meter = meter_of[home.name]
                readings.append(
                    {0: meter, 1: slot, 2: export, 3: imported, 4: 1 if home.feed_in_tariff else 0}
                )
                floor, ceiling = prices[home.name]
                if export and not home.feed_in_tariff:
                    stats.sellable_wh += export
                    asks.append((traders[home.name], {0: meter, 1: slot, 2: export, 3: floor}))
                if imported:
                    bid = {0: zone_of[home.name], 1: slot, 2: imported, 3: ceiling}
                    bids.append((traders[home.name], bid))
            figures.append(stats)
            # Block A: the attestation (and, by its timestamp, the clearing of the slot before).
            block([attestor.sign(chain, ATTEST, {0: readings})], end + 60)
            # Block B: the orders.
            orders = [s.sign(chain, PLACE_ASK, body) for s, body in asks]
            bid_txs = [s.sign(chain, PLACE_BID, body) for s, body in bids]
            bid_ids = {tx_id(tx) for tx in bid_txs}
            receipts = block(orders + bid_txs, end + 300)
            placed = sum(1 for r in receipts if r.code == 0 and r.tx_id in bid_ids)
            stats.order_fees_msen += placed * ORDER_FEE_MSEN  # BID-06
        peak_kib, rss_kib = _rss_kib()
        days_figures.append(
            DayFigures(
                day + 1,
                time.perf_counter() - day_started,
                time.process_time() - cpu_started,
                peak_kib / 1024,
                rss_kib / 1024,
                sum(len(rows) for rows in ledger.tables) + 6,
            )
        )
        f = days_figures[-1]
        progress(
            f"day {day + 1} done in {f.seconds:.1f} s ({f.cpu_seconds:.1f} s CPU), peak RSS "
            f"{f.peak_rss_mib:,.0f} MiB, "
            f"{f.state_entries:,} state entries"
        )
    last_end = (first_slot + days * 48) * SLOT_SECONDS
    block([], last_end + TRADING_CLOSE_S + 60)  # clears the last slot

    checks = settled.checks()
    checks.update(conservation_checks(ledger))
    root = node.state_root()
    checks["replay of the stored blocks gives the same root"] = (
        replay(node.store).state_root() == root
    )
    node.close()
    reopened = Node.open(db_path, verify_root=True)
    checks["restart from the store gives the same root"] = reopened.state_root() == root
    reopened.close()
    return Simulation(
        households_count,
        days,
        seed,
        db_path,
        weather,
        figures,
        counts["blocks"],
        counts["txs"],
        counts["rejected"],
        checks,
        ledger,
        days_figures,
    )


class Settled:
    """What the settlement records of the blocks said, summed as they come (the state forgets a
    slot once it is settled, so the village's figures and conservation checks are read from
    the records its blocks emitted, PRN and SET rules); nothing here grows with the days."""

    def __init__(self) -> None:
        self.records = 0
        self.lots_ok = True
        self.claims_ok = True
        self.closed_ok = True
        self.sold = self.claimed = self.volume = self.asks_filled = self.bids_filled = 0

    def add(self, records: list[bytes], by_slot: dict[int, SlotFigures]) -> None:
        for data in records:
            record = cbor2.loads(data)
            self.records += 1
            kind = record[0]
            if kind == 0:  # market: zone, slot, price, volume, amount, fees
                self.volume += record[4]
                stats = by_slot.get(record[2])
                if stats is not None:
                    stats.prices[record[1]] = record[3]
                    stats.traded_wh += record[4]
                    stats.paid_msen += record[5]
                    stats.fees_msen += record[6]
            elif kind == 1:  # order: ..., side 2, status 10, filled 11
                self.closed_ok &= record[10] != OPEN
                if record[2] == ASK:
                    self.asks_filled += record[11]
                else:
                    self.bids_filled += record[11]
            elif kind == 2:  # lot: ..., minted 8, sold 9, expired 10
                self.lots_ok &= record[8] == record[9] + record[10]
                self.sold += record[9]
            elif kind == 3:  # demand: ..., imported 4, claimed 5
                self.claims_ok &= record[5] <= record[4]
                self.claimed += record[5]

    def checks(self) -> dict[str, bool]:
        return {
            "every settled lot: minted = sold + expired": self.lots_ok,
            "energy sold by sellers = energy claimed by buyers = cleared volume": (
                self.sold == self.claimed == self.volume == self.asks_filled == self.bids_filled
            ),
            "no buyer claimed more than its attested import": self.claims_ok,
            "every settled order was closed": self.closed_ok,
        }


def conservation_checks(ledger: Ledger) -> dict[str, bool]:
    """The ledger's conservation laws on the final state, computed from its tables (after the
    last slot is settled, its records are in the settlement records, ``Settled``)."""
    lots_ok = True
    sold_total = 0
    for lot in ledger.lots.values():
        minted, unsold, reserved = lot & M40, (lot >> 40) & M40, (lot >> 80) & M40
        sold, expired = (lot >> 120) & M40, lot >> 160
        lots_ok &= minted == unsold + reserved + sold + expired
        sold_total += sold
    claimed_total = 0
    claims_ok = True
    for value in ledger.demand.values():
        imported, claimed = value & M40, value >> 40
        claims_ok &= claimed <= imported
        claimed_total += claimed
    volume_total = sum(market[2] for market in ledger.markets.values())
    balances = sum(account[2] for account in ledger.accounts.values())
    escrow = sum(order[8] for order in ledger.orders.values() if order[0] == BID)
    open_orders = sum(1 for order in ledger.orders.values() if order[9] == OPEN)
    asks_filled = sum(o[10] for o in ledger.orders.values() if o[0] == ASK)
    bids_filled = sum(o[10] for o in ledger.orders.values() if o[0] == BID)
    return {
        "final state: every lot: minted = unsold + reserved + sold + expired": lots_ok,
        "final state: energy sold = energy claimed = cleared volume": (
            sold_total == claimed_total == volume_total == asks_filled == bids_filled
        ),
        "final state: no buyer claimed more than its attested import": claims_ok,
        "balances + escrow = deposits - withdrawals": (
            balances + escrow == ledger.money_outstanding
        ),
        "every order closed after the last clearing": open_orders == 0,
    }
