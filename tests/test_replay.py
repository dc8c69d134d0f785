"""``kwhledger replay``: a simulated chain replays clean through the spec; a chain with one byte of
one stored block changed, or a spec that disagrees with the node that made the chain, is reported
with the block, the transaction, the rule and the first differing state entry."""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kwhledger.cli import main
from kwhledger.replay import open_chain, replay
from reference.simulate import run as simulate
from reference.wire import decode_block
from spec import transactions
from spec.state import State, with_account
from spec.transactions import Kind


@pytest.fixture(scope="module")
def chain_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("replay") / "village.db"
    simulation = simulate(households_count=4, days=1, seed=3, db_path=path)
    assert all(simulation.checks.values())
    return path


def _order_block(db: Path) -> tuple[int, bytes]:
    """The height and bytes of the first stored block with at least three transactions."""
    with sqlite3.connect(db) as connection:
        for height, data in connection.execute("SELECT height, data FROM blocks ORDER BY height"):
            if height > 1 and len(decode_block(bytes(data)).txs) >= 3:
                return int(height), bytes(data)
    raise AssertionError("no block with three transactions")


def test_a_simulated_chain_replays_clean(
    chain_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(chain_db)]) == 0
    out = capsys.readouterr().out
    blocks = open_chain(chain_db).count
    assert f"every one of {blocks} state roots and {blocks} settlement roots equal" in out
    assert f"the same root for {blocks} blocks" in out  # the store's settlement records
    assert "spec rate / reference rate" in out


def test_a_changed_stored_settlement_record_is_a_divergence(
    chain_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The store's settlement records are what the node serves proofs from: replay checks that
    they give the settlement root each header commits to."""
    import cbor2

    spoiled = tmp_path / "spoiled-settlement.db"
    shutil.copy(chain_db, spoiled)
    with sqlite3.connect(spoiled) as connection:
        height, data = next(
            (int(h), bytes(d))
            for h, d in connection.execute("SELECT height, data FROM settlements ORDER BY height")
            if cbor2.loads(bytes(d))
        )
        records = cbor2.loads(data)
        records[0] = records[0][:-1] + bytes([records[0][-1] ^ 1])
        connection.execute(
            "UPDATE settlements SET data = ? WHERE height = ?", (cbor2.dumps(records), height)
        )
    assert main(["replay", str(spoiled)]) == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith(f"replay: DIVERGED at block {height}: ")
    assert "settlement records the store kept" in last


def test_the_cbor_sequence_of_a_chain_replays_clean(chain_db: Path, tmp_path: Path) -> None:
    sequence = tmp_path / "chain.cbor"
    assert main(["replay", str(chain_db), "--export", str(sequence)]) == 0
    result = replay(open_chain(sequence), with_reference=False)
    assert result.divergence is None
    assert result.blocks == result.roots_checked == open_chain(chain_db).count


def test_one_changed_byte_names_the_block_the_transaction_and_the_rule(
    chain_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spoiled = tmp_path / "spoiled.db"
    shutil.copy(chain_db, spoiled)
    height, data = _order_block(spoiled)
    tx = decode_block(data).txs[1]
    offset = data.index(tx) + len(tx) - 1  # the last byte of transaction 1's signature
    changed = data[:offset] + bytes([data[offset] ^ 0x01]) + data[offset + 1 :]
    with sqlite3.connect(spoiled) as connection:
        connection.execute("UPDATE blocks SET data = ? WHERE height = ?", (changed, height))
    assert main(["replay", str(spoiled)]) == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith(f"replay: DIVERGED at block {height}, ")
    assert "transaction 1 " in last
    assert "rule TX-04" in last  # the changed signature no longer verifies
    assert "block rule BLK-08" in last  # and the header's transaction root no longer matches


def test_a_spec_that_disagrees_with_the_node_names_the_differing_entry(
    chain_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dispute: the node made the chain, the spec (here with a seeded bug: a deposit credits
    one milli-sen too many) computes another root. The replay names the block, BLK-10 and the
    account whose balance differs."""
    rule = transactions.KINDS[Kind.DEPOSIT]

    def generous(state: State, sender: bytes, body: Any) -> State:
        after = rule.apply(state, sender, body)
        balance = after.accounts[body.account].balance
        return with_account(after, body.account, balance=balance + 1)

    monkeypatch.setitem(transactions.KINDS, Kind.DEPOSIT, replace(rule, apply=generous))
    result = replay(open_chain(chain_db))
    divergence = result.divergence
    assert divergence is not None
    assert divergence.height == 1  # the block of registrations and deposits
    assert divergence.rule == "BLK-10"
    assert divergence.entry is not None and divergence.entry.startswith("accounts h'")
    assert "balance" in divergence.entry or "[2]" in divergence.entry


def test_a_chain_that_is_not_one_is_refused_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage = tmp_path / "garbage.cbor"
    garbage.write_bytes(b"\x41\x00")  # one byte string holding one zero byte: no state
    assert main(["replay", str(garbage), "--no-reference"]) == 2
    assert "genesis state is not valid" in capsys.readouterr().err
    assert main(["replay", str(tmp_path / "missing.db")]) == 2


def test_a_prefix_of_the_chain_replays_with_its_rates(
    chain_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(chain_db), "--blocks", "5"]) == 0
    out = capsys.readouterr().out
    assert "note: stopped after 5 blocks (--blocks)" in out
    assert "every one of 5 state roots and 5 settlement roots equal" in out
    assert "spec rate / reference rate" in out
