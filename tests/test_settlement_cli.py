"""Settlement proofs end to end: the reference node settles a simulated day, keeps what each block
emitted in its store, and serves inclusion proofs that the executable spec verifies against the
block's header; a proof changed anywhere fails; a store whose settlement rows were altered is
refused by ``--full``."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import cbor2
import pytest
from _rules_plugin import rules

from kwhledger.cli import main
from kwhledger.cmd_settlement import check_proof
from reference.node import Node, check_store, settlement_proof
from reference.settlement import LOT, MARKET, ORDER, record_key
from reference.simulate import run as simulate
from reference.store import StoreError, encode_records, row_sum
from spec.settlement import decode_record, leaf_hash, root_from_path

pytest_plugins = ("_rules_plugin",)


@pytest.fixture(scope="module")
def village(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding one simulated day of 12 households (every slot settled)."""
    path = tmp_path_factory.mktemp("settlement") / "village.db"
    simulation = simulate(12, 1, 5, path)
    assert all(simulation.checks.values()), simulation.checks
    return path


def stored(path: Path) -> list[tuple[int, bytes, list[bytes]]]:
    """(height, header hash, settlement records) of every block of the store."""
    node = Node.open(path)
    try:
        store = node.store
        out = []
        for height in range(1, store.height() + 1):
            header_hash = store.block_hash(height)
            records = store.settlement(height)
            assert header_hash is not None and records is not None
            out.append((height, header_hash, records))
        return out
    finally:
        node.close()


def a_proof(path: Path, height: int, wanted: Any) -> bytes:
    node = Node.open(path)
    try:
        return settlement_proof(node.store, height, wanted)
    finally:
        node.close()


@rules("SET-04", "BLK-15")
def test_every_fill_of_a_simulated_day_has_a_proof_that_verifies(village: Path) -> None:
    fills = lots_sold = markets = 0
    for height, header_hash, records in stored(village):
        for record in records:
            value = cbor2.loads(record)
            key = record_key(record)
            if key[0] == ORDER and value[11] > 0:  # filled_wh
                fills += 1
            elif key[0] == LOT and value[9] > 0:  # sold_wh
                lots_sold += 1
            elif key[0] == MARKET and value[4] > 0:  # volume_wh
                markets += 1
            else:
                continue
            proof = a_proof(village, height, key)
            ok, line = check_proof(proof, header_hash)
            assert ok, (height, key, line)
            assert cbor2.loads(proof)[1] == value
    # The day traded: a proof test over no fill would prove nothing.
    assert fills > 10 and lots_sold > 5 and markets > 2, (fills, lots_sold, markets)


def first_fill(village: Path) -> tuple[int, bytes, Any]:
    for height, header_hash, records in stored(village):
        for record in records:
            if record_key(record)[0] == ORDER and cbor2.loads(record)[11] > 0:
                return height, header_hash, record_key(record)
    raise AssertionError("the day has no fill")


@rules("SET-04")
def test_a_proof_changed_anywhere_fails(village: Path) -> None:
    height, header_hash, key = first_fill(village)
    proof = a_proof(village, height, key)
    assert check_proof(proof, header_hash)[0]
    value = cbor2.loads(proof)
    assert len(value[4]) >= 3  # a path worth tampering with
    # Every single-bit change of every byte is refused against the trusted header hash, the
    # count's (key 3) included: an RFC 6962 path of leaf i fits every count whose tree has the
    # same shape around i (38 and 39 records, say, both split at 32), so SET-03 binds the count
    # into the settlement root.
    tried = 0
    for position in range(len(proof)):
        for bit in (0x01, 0x80):
            changed = bytearray(proof)
            changed[position] ^= bit
            ok, line = check_proof(bytes(changed), header_hash)
            assert "\n" not in line
            assert not ok, (position, bit, line)
            tried += 1
    assert tried == 2 * len(proof)


@rules("SET-03", "SET-04")
def test_a_count_whose_tree_has_the_same_shape_fails(village: Path) -> None:
    """The count alone changed to every other value: the audit path may still lead to the same
    Merkle root (the shapes agree), but the settlement root binds the count."""
    height, header_hash, key = first_fill(village)
    value = cbor2.loads(a_proof(village, height, key))
    index, count, path = value[2], value[3], [bytes(h) for h in value[4]]
    leaf = leaf_hash(decode_record(value[1]))
    same_shape = [
        other
        for other in range(index + 1, 2 * count + 2)
        if other != count and root_from_path(leaf, index, other, path) is not None
    ]
    tree_root = root_from_path(leaf, index, count, path)
    assert any(root_from_path(leaf, index, o, path) == tree_root for o in same_shape), same_shape
    for other in same_shape:
        changed = dict(value)
        changed[3] = other
        assert not check_proof(cbor2.dumps(changed, canonical=True), header_hash)[0], other


@rules("SET-04")
def test_a_changed_record_path_index_or_settlement_root_fails_without_a_trusted_hash(
    village: Path,
) -> None:
    """Changes that keep the file well formed: the audit path no longer leads to key 7."""
    height, _, key = first_fill(village)
    value = cbor2.loads(a_proof(village, height, key))

    def refused(changed: dict[int, Any]) -> str:
        ok, line = check_proof(cbor2.dumps(changed, canonical=True), None)
        assert not ok
        return line

    record = dict(value[1])
    record[11] += 1  # filled_wh
    refused({**value, 1: record})
    path = list(value[4])
    path[1] = bytes([path[1][0] ^ 1]) + path[1][1:]
    refused({**value, 4: path})
    refused({**value, 2: value[2] ^ 1})
    refused({**value, 4: path[:-1]})
    header = dict(value[0])
    header[7] = bytes(32)
    refused({**value, 0: header})
    # A header changed elsewhere still carries the root: only the trusted hash catches it.
    header = dict(value[0])
    header[3] += 1  # timestamp
    assert check_proof(cbor2.dumps({**value, 0: header}, canonical=True), None)[0]


def test_the_commands_prove_verify_and_list(
    village: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    height, header_hash, key = first_fill(village)
    out = tmp_path / "fill.proof"
    assert main(["settlement", "prove", str(village), "--height", str(height), "--order",
                 str(key[1]), "--out", str(out)]) == 0  # fmt: skip
    assert main(["settlement", "verify", str(out), "--header-hash", header_hash.hex()]) == 0
    assert "verified: order" in capsys.readouterr().out
    assert main(["settlement", "verify", str(out), "--header-hash", "00" * 32]) == 1
    assert "FAILED" in capsys.readouterr().err
    flipped = bytearray(out.read_bytes())
    flipped[-1] ^= 1
    out.write_bytes(bytes(flipped))
    assert main(["settlement", "verify", str(out)]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "FAILED" in error
    lot = next(
        record_key(r) for _, _, records in stored(village) for r in records
        if record_key(r)[0] == LOT
    )  # fmt: skip
    lot_height = next(
        h for h, _, records in stored(village) for r in records if record_key(r) == lot
    )
    lot_proof = tmp_path / "lot.proof"
    assert main(["settlement", "prove", str(village), "--height", str(lot_height), "--lot",
                 f"{lot[1]}:{lot[2]}", "--out", str(lot_proof)]) == 0  # fmt: skip
    assert main(["settlement", "verify", str(lot_proof)]) == 0
    # Without --height the settling block is found from the slot: the same proof.
    found = tmp_path / "lot-found.proof"
    assert main(["settlement", "prove", str(village), "--lot", f"{lot[1]}:{lot[2]}",
                 "--out", str(found)]) == 0  # fmt: skip
    assert found.read_bytes() == lot_proof.read_bytes()
    assert main(["settlement", "prove", str(village), "--order", "1"]) == 1
    assert "give --height" in capsys.readouterr().err
    assert main(["settlement", "list", str(village), "--height", str(lot_height)]) == 0
    assert "lot (meter=" in capsys.readouterr().out
    assert main(["settlement", "prove", str(village), "--height", "1", "--order", "1"]) == 1
    assert "settled no such record" in capsys.readouterr().err


def test_the_store_check_covers_the_settlement_records(village: Path, tmp_path: Path) -> None:
    height, _, _ = first_fill(village)
    copy = tmp_path / "copy.db"
    source = sqlite3.connect(str(village))
    target = sqlite3.connect(str(copy))
    source.backup(target)
    source.close()
    target.close()
    (tmp_path / "copy.db.tip").write_bytes((village.parent / "village.db.tip").read_bytes())
    assert "ok" in check_store(copy, full=True)
    db = sqlite3.connect(str(copy))
    data = bytes(
        db.execute("SELECT data FROM settlements WHERE height = ?", (height,)).fetchone()[0]
    )
    # A record dropped, its row's checksum made to match: the root no longer does.
    node = Node.open(village)
    records = node.store.settlement(height)
    node.close()
    assert records is not None
    forged = encode_records(records[1:])
    db.execute(
        "UPDATE settlements SET data = ?, sum = ? WHERE height = ?",
        (forged, row_sum("settlement", height, forged), height),
    )
    db.commit()
    with pytest.raises(StoreError, match="settlement records do not give its settlement root"):
        check_store(copy, full=True)
    # The bytes changed without the checksum: refused as a damaged row.
    db.execute(
        "UPDATE settlements SET data = ?, sum = ? WHERE height = ?",
        (data[:-1] + bytes([data[-1] ^ 1]), row_sum("settlement", height, data), height),
    )
    db.commit()
    with pytest.raises(StoreError, match="fail their checksum"):
        check_store(copy, full=True)
    # A block without its row.
    db.execute("DELETE FROM settlements WHERE height = ?", (height,))
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="has no settlement records"):
        check_store(copy, full=True)


@rules("PRN-01")
def test_the_state_does_not_grow_with_days(tmp_path: Path) -> None:
    """Three days of the village: the state at the end of each day holds the same kinds of
    entries, settled slots gone; its size does not follow the number of days."""
    simulation = simulate(12, 3, 2, tmp_path / "three.db")
    sizes = [f.state_entries for f in simulation.days_figures]
    assert max(sizes) <= min(sizes) * 1.2, sizes
    # The last block settled the last slot: no per-slot record is left.
    ledger = simulation.ledger
    assert not (ledger.readings or ledger.lots or ledger.demand or ledger.orders or ledger.markets)
    assert not ledger.slot_records and not ledger.settle_heap
    # Nor any index, cache or log of the node: each is empty or within its bound.
    assert not (ledger.market_orders or ledger.open_sides or ledger.open_bid_wh)
    assert not (ledger.market_lots or ledger.open_slots or ledger.slot_heap or ledger.lot_asks)
    assert not (ledger.log or ledger.settlement or ledger.pruned_readings)
    assert len(ledger.expansions) <= ledger.expansion_cache_size
    assert len(ledger.shared_ints) <= 4096


@rules("SET-02", "SET-03")
def test_the_reference_encodes_records_and_roots_as_the_spec_does() -> None:
    """The reference's hand-built record encodings and Merkle root against the spec's, on
    random values at and inside the bounds (the spec is the definition)."""
    import random

    from reference import settlement as ref
    from spec.cbor import encode
    from spec.crypto import merkle_root
    from spec.settlement import (
        DemandRecord,
        LotRecord,
        MarketRecord,
        OrderRecord,
        ReadingRecord,
        record_to_cbor,
        settlement_root,
    )
    from spec.state import Encumbrance, OrderStatus, Side, Source

    rng = random.Random(13)

    def number(bits: int) -> int:
        return rng.choice(
            [0, 1, 23, 24, 255, 256, 65535, 65536, 2**bits - 1, rng.randrange(2**bits)]
        )

    for _ in range(500):
        zone, slot, meter = number(32), number(30), number(32)
        owner = rng.randbytes(32)
        price = rng.choice([None, number(20) % 1_000_001])
        volume, fees = number(40), number(50)
        spec_records: list[Any] = []
        ours: list[bytes] = []
        market = MarketRecord(zone, slot, price, volume, volume * (price or 0), fees)  # type: ignore[arg-type]
        spec_records.append(market)
        ours.append(ref.market_record(zone, slot, price, volume, fees))
        side, status = rng.randrange(2), rng.randrange(5)
        lot_meter = None if side else meter
        quantity, limit, rate, filled = number(40), number(19), number(19), number(40)
        order = (side, owner, zone, slot, lot_meter, quantity, limit, rate, 0, status, filled)
        spec_records.append(
            OrderRecord(  # type: ignore[arg-type]
                7, Side(side), owner, zone, slot, lot_meter, quantity, limit, rate,
                OrderStatus(status), filled, filled * (price or 0), filled * rate,
            )
        )  # fmt: skip
        ours.append(ref.order_record(7, order, price))
        node, source, encumbrance = number(32), rng.randrange(4), rng.randrange(4)
        minted = number(40)
        sold = rng.randrange(minted + 1)
        expired = rng.choice([minted - sold, number(40)])
        spec_records.append(
            LotRecord(  # type: ignore[arg-type]
                meter, slot, owner, zone, node, Source(source), Encumbrance(encumbrance),
                minted, sold, expired,
            )
        )  # fmt: skip
        meter_row = (owner, owner, node, zone, source, 1, encumbrance)
        ours.append(ref.lot_record(meter, slot, meter_row, encumbrance, minted, sold, expired))
        spec_records.append(DemandRecord(owner, zone, slot, minted, sold))  # type: ignore[arg-type]
        ours.append(ref.demand_record(owner, zone, slot, minted, sold))
        corrections = rng.randrange(4)
        spec_records.append(
            ReadingRecord(meter, slot, minted, sold, Encumbrance(encumbrance), corrections)  # type: ignore[arg-type]
        )
        ours.append(ref.reading_record(meter, slot, minted, sold, encumbrance, corrections))
        for theirs, mine in zip(spec_records, ours, strict=True):
            assert encode(record_to_cbor(theirs)) == mine
            assert leaf_hash(theirs) == ref.leaf(mine)
        count = rng.randrange(len(ours) + 1)
        assert settlement_root(spec_records[:count]) == ref.records_root(ours[:count])
        leaves = [ref.leaf(r) for r in ours[:count]]
        assert merkle_root(leaves) == ref.root(leaves)
