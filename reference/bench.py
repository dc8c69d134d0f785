"""Throughput of the reference node on realistic workloads (``kwhledger bench``).

Each figure is measured in this run, next to the raw Ed25519 verification rate of PyNaCl on this
machine, so that ratios mean something on any hardware. Setups that are not being measured
(registering 100 000 meters, funding traders) write the tables directly; every measured path goes
through the same code the node runs: decoding, verification, the rules, the root, SQLite.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nacl.bindings import crypto_sign_open
from nacl.signing import SigningKey

from reference.client import PLACE_ASK, PLACE_BID, TRANSFER, Signer, make_tx, seed_for
from reference.ledger import (
    ATTESTOR,
    MAX_OPEN_ORDERS_PER_MARKET,
    OPERATOR,
    SERVICE_POINT,
    SLOT_SECONDS,
    SUBSTATION,
    TRADER,
    VALIDATOR,
    Ledger,
)
from reference.node import Node
from reference.verifier import SignatureChecker
from reference.village import consumption_wh, households, pv_wh

CHAIN_ID = "kwhledger-bench"
T0 = 1_764_255_600  # 2025-11-28 00:00 JST, a slot boundary
ZONE = 1


def _median_rate(count: int, runs: list[float]) -> float:
    return count / statistics.median(runs)


# --- raw verification -----------------------------------------------------------------------------


def signed_samples(samples: int) -> tuple[bytes, list[bytes]]:
    """A public key and ``samples`` signed 150-byte messages (what ``verify_rate`` checks)."""
    key = SigningKey(seed_for("bench-verify"))
    rng = random.Random(1)
    return bytes(key.verify_key), [bytes(key.sign(rng.randbytes(150))) for _ in range(samples)]


def _verify_seconds(public: bytes, signed: list[bytes]) -> float:
    """Seconds PyNaCl takes to verify every signed message in ``signed``."""
    start = time.perf_counter()
    for item in signed:
        crypto_sign_open(item, public)
    return time.perf_counter() - start


def verify_rate(samples: int = 3000, repeats: int = 3) -> float:
    """PyNaCl (libsodium) Ed25519 verifications per second on one core."""
    public, signed = signed_samples(samples)
    return _median_rate(samples, [_verify_seconds(public, signed) for _ in range(repeats)])


class Baseline:
    """The raw verification rate measured in slices between the blocks of a run, so that it is
    the rate in force while the run itself was measured (on a machine whose speed drifts)."""

    def __init__(self, per_slice: int) -> None:
        self.public, self.signed = signed_samples(per_slice)
        self.seconds = 0.0
        self.count = 0

    def measure_slice(self) -> None:
        self.seconds += _verify_seconds(self.public, self.signed)
        self.count += len(self.signed)

    def rate(self) -> float:
        return self.count / self.seconds


# --- a ledger set up for trading ------------------------------------------------------------------


def trading_ledger(traders: int, slot: int, wh: int = 50_000) -> tuple[Ledger, list[Signer], bytes]:
    """Zone 1 with ``traders`` traders, each with a meter, a lot and demand of ``wh`` in ``slot``,
    and money; tables are written directly (setup, not measured)."""
    operator = Signer(seed_for("operator"))
    attestor = Signer(seed_for("attestor"))
    validator = seed_for("validator-1")
    accounts = {operator.account: OPERATOR, attestor.account: ATTESTOR}
    accounts[bytes(SigningKey(validator).verify_key)] = VALIDATOR
    now = (slot + 1) * SLOT_SECONDS + 60
    ledger = Ledger(CHAIN_ID, 3600, 5400, operator.account, now, accounts)
    ledger.nodes[ZONE] = (SUBSTATION, None, 200, ZONE)
    people = [Signer(seed_for(f"trader-{i}")) for i in range(traders)]
    for i, person in enumerate(people):
        node = 1000 + i
        ledger.accounts[person.account] = (TRADER, 0, 10**15, person.account)
        ledger._index_account(person.account, TRADER)
        ledger.nodes[node] = (SERVICE_POINT, ZONE, 0, ZONE)
        meter = (person.account, attestor.account, node, ZONE, 0, 10**9, 0, 0, None, None)
        ledger.meters[node] = meter
        ledger.apply_raw_reading(node, slot, wh, wh)
    ledger.money_outstanding = traders * 10**15
    ledger.recompute_root()
    ledger.checkpoint()
    return ledger, people, validator


# --- signed transactions end to end ---------------------------------------------------------------


def _workload(people: list[Signer], slot: int, count: int, rng: random.Random) -> list[bytes]:
    """Asks by the first half of the traders, bids by the second (at most
    MAX_OPEN_ORDERS_PER_MARKET each, ORD-07), transfers by anyone."""
    half = len(people) // 2
    txs = []
    orders = [0] * len(people)
    for _ in range(count):
        choice = rng.random()
        i = rng.randrange(half)
        if choice < 0.3 and orders[i] < MAX_OPEN_ORDERS_PER_MARKET:  # ORD-07
            orders[i] += 1
            body = {0: 1000 + i, 1: slot, 2: rng.randint(1, 40), 3: rng.randint(800, 1500)}
            txs.append(people[i].sign(CHAIN_ID, PLACE_ASK, body))
        elif 0.3 <= choice < 0.6 and orders[half + i] < MAX_OPEN_ORDERS_PER_MARKET:
            orders[half + i] += 1
            buyer = people[half + i]
            body = {0: ZONE, 1: slot, 2: rng.randint(1, 40), 3: rng.randint(1500, 2800)}
            txs.append(buyer.sign(CHAIN_ID, PLACE_BID, body))
        else:
            sender = people[rng.randrange(len(people))]
            to = people[rng.randrange(len(people))].account
            txs.append(sender.sign(CHAIN_ID, TRANSFER, {0: to, 1: rng.randint(1, 10_000)}))
    return txs


def end_to_end(
    count: int, block_size: int, workers: int, directory: Path, baseline_slice: int = 300
) -> dict[str, Any]:
    """Signed transactions per second: decode, verify, apply, root, SQLite commit, per block.

    ``workers == 0``: everything in this one process and thread, transaction by transaction
    through ``Node.submit``. Otherwise ``workers`` worker processes check the signatures of the
    next block while this process applies and commits the current one (``Node.prepare``). The raw
    verification rate is measured in slices of ``baseline_slice`` between blocks (``Baseline``).
    """
    slot = T0 // SLOT_SECONDS
    ledger, people, validator = trading_ledger(1000, slot)
    txs = _workload(people, slot, count, random.Random(7))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"e2e-{workers}.db"
    node = Node.create(path, ledger, [validator])
    blocks = [txs[i : i + block_size] for i in range(0, len(txs), block_size)]
    accepted = 0
    baseline = Baseline(baseline_slice)
    elapsed = 0.0
    gc.collect()
    if workers == 0:
        for number, chunk in enumerate(blocks):
            start = time.perf_counter()
            for tx in chunk:
                node.submit(tx)
            _, receipts = node.produce_block(ledger.time + number)
            elapsed += time.perf_counter() - start
            accepted += sum(1 for r in receipts if r.code == 0)
            baseline.measure_slice()
    else:
        # A pipeline cannot pause between blocks (the next block's checks are under way), so its
        # baseline is measured in as many slices, half right before the run and half right after.
        for _ in range(len(blocks) // 2):
            baseline.measure_slice()
        with SignatureChecker(workers) as checker:
            start = time.perf_counter()
            pending = node.prepare(blocks[0], checker)
            for number in range(len(blocks)):
                current = pending
                if number + 1 < len(blocks):
                    pending = node.prepare(blocks[number + 1], checker)
                node.submit_prepared(current)
                _, receipts = node.produce_block(ledger.time + number)
                accepted += sum(1 for r in receipts if r.code == 0)
            elapsed = time.perf_counter() - start
        for _ in range(len(blocks) - len(blocks) // 2):
            baseline.measure_slice()
    node.close()
    return {
        "transactions": count,
        "accepted": accepted,
        "seconds": elapsed,
        "per_second": count / elapsed,
        "block_size": block_size,
        "verify_workers": workers,
        "baseline_verify_per_second": baseline.rate(),
        "ratio_to_verify": count / elapsed / baseline.rate(),
    }


# --- attested readings ----------------------------------------------------------------------------


def attestation(meters: int, directory: Path, workers: int = 2) -> dict[str, Any]:
    """Readings per second in signed batches of 1024, applied alone and through the node."""
    slot = T0 // SLOT_SECONDS
    operator = Signer(seed_for("operator"))
    attestor = Signer(seed_for("attestor"))
    validator = seed_for("validator-1")

    def fresh() -> Ledger:
        accounts = {operator.account: OPERATOR, attestor.account: ATTESTOR}
        accounts[bytes(SigningKey(validator).verify_key)] = VALIDATOR
        ledger = Ledger(CHAIN_ID, 3600, 5400, operator.account, (slot + 2) * SLOT_SECONDS, accounts)
        ledger.nodes[ZONE] = (SUBSTATION, None, 200, ZONE)
        homes = households(meters, random.Random(3))
        owners = [Signer(seed_for(f"home-{i}")).account for i in range(min(meters, 500))]
        for owner in owners:
            ledger.accounts[owner] = (TRADER, 0, 0, owner)
            ledger._index_account(owner, TRADER)
        for i in range(meters):
            node = 10_000 + i
            ledger.nodes[node] = (SERVICE_POINT, ZONE, 0, ZONE)
            ledger.meters[node] = (
                owners[i % len(owners)],
                attestor.account,
                node,
                ZONE,
                0,
                10**6,
                0,
                0,
                None,
                None,
            )
        ledger.recompute_root()
        ledger.checkpoint()
        del homes
        return ledger

    rng = random.Random(5)
    homes = households(meters, rng)
    batches = []
    signer = SigningKey(seed_for("attestor"))
    for s in (slot, slot + 1):
        period = (s * SLOT_SECONDS + 9 * 3600) // SLOT_SECONDS % 48 + 20  # a sunny afternoon
        readings = []
        for i, home in enumerate(homes):
            produced = pv_wh(home, period % 48, 100, rng)
            used = consumption_wh(home, period % 48, rng)
            readings.append(
                {0: 10_000 + i, 1: s, 2: max(produced - used, 0), 3: max(used - produced, 0), 4: 0}
            )
        for i in range(0, len(readings), 1024):
            batches.append(readings[i : i + 1024])
    txs = [make_tx(signer, CHAIN_ID, 4, nonce, {0: b}) for nonce, b in enumerate(batches)]
    total = sum(len(b) for b in batches)

    ledger = fresh()
    gc.collect()
    start = time.perf_counter()
    for tx in txs:
        receipt = ledger.apply_tx(tx)
        assert receipt.code == 0, receipt
    applied = time.perf_counter() - start
    start = time.perf_counter()
    ledger.state_root()
    rooted = time.perf_counter() - start

    def through_node(hash_workers: int) -> float:
        """Seconds to take every batch through a node (blocks of 8 batches, 8 192 readings)."""
        ledger = fresh()
        directory.mkdir(parents=True, exist_ok=True)
        node = Node.create(directory / f"readings-{hash_workers}.db", ledger, [validator])
        pool = multiprocessing.get_context("fork").Pool(hash_workers) if hash_workers else None
        try:
            ledger.hash_pool, ledger.hash_workers = pool, hash_workers
            gc.collect()
            start = time.perf_counter()
            for i in range(0, len(txs), 8):
                for tx in txs[i : i + 8]:
                    node.submit(tx)
                _, receipts = node.produce_block(ledger.time)
                assert all(r.code == 0 for r in receipts)
            return time.perf_counter() - start
        finally:
            ledger.hash_pool = None
            if pool is not None:
                pool.close()
                pool.join()
            node.close()

    one_process = through_node(0)
    with_workers = through_node(workers)
    return {
        "readings": total,
        "batches": len(txs),
        "apply_per_second": total / applied,
        "apply_and_root_per_second": total / (applied + rooted),
        "node_per_second": total / one_process,
        "node_with_hash_workers_per_second": total / with_workers,
        "node_hash_workers": workers,
    }


# --- clearing -------------------------------------------------------------------------------------


def clearing(orders: int, workers: int = 2) -> dict[str, Any]:
    """Time to clear one (zone, slot) holding ``orders`` open orders (half asks, half bids)."""
    slot = T0 // SLOT_SECONDS
    traders = 2000
    ledger, people, _ = trading_ledger(traders, slot, wh=10**7)
    rng = random.Random(11)
    half = traders // 2
    for n in range(orders):
        if n % 2 == 0:
            i = rng.randrange(half)
            body = (1000 + i, slot, rng.randint(1, 2000), rng.randint(500, 2500))
            ledger.place_ask(people[i].account, body)
        else:
            buyer = people[half + rng.randrange(half)]
            ledger.place_bid(
                buyer.account, (ZONE, slot, rng.randint(1, 2000), rng.randint(1000, 3000))
            )
    ledger.state_root()
    ledger.checkpoint()
    gc.collect()
    close = (slot + 1) * SLOT_SECONDS + ledger.trading_close_s
    # The clock advance clears the market, then settles the slot (PRN): the two are timed
    # apart, the settlement held back while the clearing is measured.
    settle_heap, ledger.settle_heap = ledger.settle_heap, []
    start = time.perf_counter()
    ledger.advance_clock(close)
    cleared = time.perf_counter() - start
    market = ledger.markets[ZONE << 30 | slot]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        ledger.hash_pool, ledger.hash_workers = pool, workers
        start = time.perf_counter()
        ledger.state_root()
        rooted = time.perf_counter() - start
        ledger.hash_pool = None
    ledger.settle_heap = settle_heap
    start = time.perf_counter()
    ledger.advance_clock(close)  # the same time again: nothing left to clear, the slot settles
    settled = time.perf_counter() - start
    return {
        "orders": orders,
        "clear_seconds": cleared,
        "root_seconds": rooted,
        "root_hash_workers": workers,
        "settle_seconds": settled,
        "settlement_records": len(ledger.settlement),
        "volume_wh": market[2],
        "price_sen_per_kwh": market[1],
    }


# --- memory ---------------------------------------------------------------------------------------


def _memory_child(meters: int, queue: Any) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ledger = village_day_state(meters)
    held = ledger.fill_expansion_memo()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put(
        {
            "meters": meters,
            "readings": len(ledger.readings),
            "lots": len(ledger.lots),
            "demand": len(ledger.demand),
            "expansions_held": held,
            "rss_kib_before": before,
            "rss_kib_after": after,
        }
    )


def village_day_state(meters: int) -> Ledger:
    """``meters`` households with a meter each and one day of attested readings: a lot for every
    period with export, demand for every period with import (written directly: a setup)."""
    operator = bytes(SigningKey(seed_for("operator")).verify_key)
    attestor = bytes(SigningKey(seed_for("attestor")).verify_key)
    ledger = Ledger(CHAIN_ID, 3600, 5400, operator, T0 + 86_400, {operator: OPERATOR})
    ledger.nodes[ZONE] = (SUBSTATION, None, 200, ZONE)
    rng = random.Random(21)
    homes = households(meters, rng)
    first = T0 // SLOT_SECONDS
    for i, home in enumerate(homes):
        owner = i.to_bytes(4, "big") * 8  # distinct 32-byte account ids (not keys: a setup)
        ledger.accounts[owner] = (TRADER, 0, 0, owner)
        ledger._index_account(owner, TRADER)
        node = 100_000 + i
        ledger.nodes[node] = (SERVICE_POINT, ZONE, 0, ZONE)
        ledger.meters[node] = (owner, attestor, node, ZONE, 0, 10**6, 0, 0, None, None)
        for period in range(48):
            produced = pv_wh(home, period, 100, rng)
            used = consumption_wh(home, period, rng)
            ledger.apply_raw_reading(
                node, first + period, max(produced - used, 0), max(used - produced, 0)
            )
    return ledger


def memory(meters: int) -> dict[str, Any]:
    """Resident memory of a fresh process holding ``village_day_state(meters)``."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_memory_child, args=(meters, queue))
    child.start()
    result: dict[str, Any] = queue.get()
    child.join()
    result["rss_mib"] = result["rss_kib_after"] / 1024
    return result


# --- all of it ------------------------------------------------------------------------------------


def _median_run(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The run with the median ``key``, with every run's figure alongside."""
    ordered = sorted(runs, key=lambda run: run[key])
    chosen = dict(ordered[len(ordered) // 2])
    chosen[f"{key}_runs"] = [run[key] for run in runs]
    return chosen


def run_all(
    quick: bool = False, progress: Callable[[str], None] = lambda _: None, repeats: int = 3
) -> dict[str, Any]:
    """Every figure of ``kwhledger bench`` (``quick`` shrinks the workloads for tests).

    Each end-to-end ratio is taken against the raw verification rate measured in slices between
    that run's blocks (``Baseline``), so that a machine whose speed drifts during the bench still
    gives comparable ratios; figures are the medians of ``repeats`` rounds.
    """
    out: dict[str, Any] = {"cpu_count": os.cpu_count(), "repeats": repeats}
    verify_runs: list[float] = []
    single_runs: list[dict[str, Any]] = []
    second_core_runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        count = 400 if quick else 12_000
        block_size = 200 if quick else 1000
        for round_number in range(repeats):
            tag = f"round {round_number + 1}/{repeats}"
            progress(f"{tag}: raw Ed25519 verification, one core")
            verify_runs.append(verify_rate(500 if quick else 3000))
            progress(f"{tag}: signed transactions, one process")
            single_runs.append(end_to_end(count, block_size, 0, directory / f"s{round_number}"))
            # One verifying process: with the node's own that makes two, one per core here.
            progress(f"{tag}: signed transactions, +1 verifying process")
            second_core_runs.append(
                end_to_end(count, block_size, 1, directory / f"t{round_number}")
            )
        progress("attested readings in batches of 1024")
        out["readings"] = _median_run(
            [attestation(1024 if quick else 20_480, directory / f"r{i}") for i in range(repeats)],
            "apply_per_second",
        )
    out["verify_per_second"] = statistics.median(verify_runs)
    out["verify_per_second_runs"] = verify_runs
    out["e2e_single"] = _median_run(single_runs, "per_second")
    out["e2e_second_core"] = _median_run(second_core_runs, "per_second")
    ratios = {
        "e2e_single_to_verify": [run["ratio_to_verify"] for run in single_runs],
        "e2e_second_core_to_verify": [run["ratio_to_verify"] for run in second_core_runs],
    }
    out["ratios"] = {name: statistics.median(values) for name, values in ratios.items()}
    out["ratio_runs"] = ratios
    for orders in (1000,) if quick else (10_000, 100_000):
        progress(f"clearing one market of {orders} orders")
        out[f"clearing_{orders}"] = _median_run(
            [clearing(orders) for _ in range(repeats)], "clear_seconds"
        )
    progress("memory: meters and one day of readings, lots and demand")
    out["memory"] = memory(1000 if quick else 100_000)
    return out


# --- days: memory and time per day of a long run ------------------------------------------------


def _rss_kib() -> tuple[int, int]:
    """(peak since the last reset, current) resident memory of this process in KiB (Linux)."""
    peak = now = 0
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                now = int(line.split()[1])
    return peak, now


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def _attest_tx(key: SigningKey, nonce: int, readings: list[tuple[int, int, int, int]]) -> bytes:
    """A signed ATTEST of ``(meter, slot, exported, imported)`` readings (encumbrance 0),
    encoded by hand: what ``make_tx`` gives, at a fraction of its cost (the bench measures the
    node, not a client's encoder)."""
    from reference.cbor import bstr, tstr, u, uint_bytes
    from reference.wire import KIND_NAMES, TAG_TX_SIGNING

    items = b"".join(
        b"\xa5\x00" + u(m) + b"\x01" + u(s) + b"\x02" + u(e) + b"\x03" + u(i) + b"\x04\x00"
        for m, s, e, i in readings
    )
    body = b"\xa1\x00" + uint_bytes(len(readings), 4) + items
    sender = bytes(key.verify_key)
    head = (tstr(CHAIN_ID), b"\x04", bstr(sender), u(nonce))
    tag = TAG_TX_SIGNING + b"/" + KIND_NAMES[4].encode("ascii") + b"\x00"
    signature = bytes(key.sign(tag + b"\x85" + b"".join(head) + body).signature)
    return b"".join(
        (b"\xa6\x00", head[0], b"\x01", head[1], b"\x02", head[2], b"\x03", head[3], b"\x04",
         body, b"\x05", bstr(signature))
    )  # fmt: skip


def days(
    meters: int,
    day_count: int,
    directory: Path,
    traders: int = 200,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """A village of ``meters`` meters through the node for ``day_count`` days: per slot one block
    of signed attestation batches (1024 readings each, every meter's export and import), and one
    block of asks and bids by ``traders`` of the households; markets clear and slots are settled
    as the clock passes their trading close. Per day: seconds, resident memory at its end and its
    peak, state entries, settlement records emitted, the store's size.

    Setup (accounts, grid, meters, money) writes the tables directly; everything of the days
    goes through ``Node``: decoding, signatures, rules, clearing, settlement, root, SQLite."""
    slot0 = T0 // SLOT_SECONDS
    operator = Signer(seed_for("operator"))
    attestor = Signer(seed_for("attestor"))
    validator = seed_for("validator-1")
    accounts = {operator.account: OPERATOR, attestor.account: ATTESTOR}
    accounts[bytes(SigningKey(validator).verify_key)] = VALIDATOR
    ledger = Ledger(CHAIN_ID, 1200, 1800, operator.account, T0, accounts)
    ledger.nodes[ZONE] = (SUBSTATION, None, 200, ZONE)
    rng = random.Random(31)
    homes = households(meters, rng)
    people = [Signer(seed_for(f"day-trader-{i}")) for i in range(min(traders, meters))]
    for i in range(meters):
        owner = people[i].account if i < len(people) else (i + 1).to_bytes(4, "big") * 8
        ledger.accounts[owner] = (TRADER, 0, 10**12 if i < len(people) else 0, owner)
        ledger._index_account(owner, TRADER)
        point = 100_000 + i
        ledger.nodes[point] = (SERVICE_POINT, ZONE, 0, ZONE)
        ledger.meters[point] = (owner, attestor.account, point, ZONE, 0, 10**6, 0, 0, None, None)
    ledger.money_outstanding = len(people) * 10**12
    ledger.recompute_root()
    ledger.checkpoint()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"days-{meters}.db"
    node = Node.create(path, ledger, [validator])
    signer = SigningKey(seed_for("attestor"))
    nonce = 0
    rows: list[dict[str, Any]] = []
    try:
        for day in range(day_count):
            gc.collect()
            _reset_peak()
            started = time.perf_counter()
            cpu_started = time.process_time()
            records = 0
            percent = (100, 75, 40, 15)[rng.randrange(4)]
            for period in range(48):
                slot = slot0 + day * 48 + period
                end = (slot + 1) * SLOT_SECONDS
                readings = []
                asks = []
                bids = []
                for i, home in enumerate(homes):
                    produced = pv_wh(home, period, percent, rng)
                    used = consumption_wh(home, period, rng)
                    export, imported = max(produced - used, 0), max(used - produced, 0)
                    readings.append((100_000 + i, slot, export, imported))
                    if i < len(people):
                        if export:
                            asks.append((i, {0: 100_000 + i, 1: slot, 2: export, 3: 1000}))
                        elif imported:
                            bids.append((i, {0: ZONE, 1: slot, 2: imported, 3: 2000}))
                for start in range(0, len(readings), 1024):
                    node.submit(_attest_tx(signer, nonce, readings[start : start + 1024]))
                    nonce += 1
                node.produce_block(end + 60)
                records += len(node.last_settlement)
                for i, body in asks:
                    node.submit(people[i].sign(CHAIN_ID, PLACE_ASK, body))
                for i, body in bids:
                    node.submit(people[i].sign(CHAIN_ID, PLACE_BID, body))
                node.produce_block(end + 300)
                records += len(node.last_settlement)
            seconds = time.perf_counter() - started
            cpu_seconds = time.process_time() - cpu_started
            gc.collect()
            peak, now = _rss_kib()
            row = {
                "day": day + 1,
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "rss_mib": now / 1024,
                "peak_rss_mib": peak / 1024,
                "state_entries": sum(len(t) for t in ledger.tables) + 6,
                "settlement_records": records,
                "store_mib": path.stat().st_size / 2**20,
            }
            rows.append(row)
            progress(
                f"day {day + 1}: {seconds:.0f} s ({cpu_seconds:.0f} s CPU), RSS "
                f"{row['rss_mib']:,.0f} MiB (peak "
                f"{row['peak_rss_mib']:,.0f}), {row['state_entries']:,} state entries, "
                f"{records:,} settlement records"
            )
    finally:
        node.close()
    return {"meters": meters, "traders": len(people), "days": rows}
