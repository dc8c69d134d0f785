"""Reading corrections (COR-01 .. COR-06, with the attestation rules a correction shares, and
INV-28: readings, lots and demand agree).

The village's clock stands at the start of slot ``now``; slot ``ended = now - 1`` has just ended
and stays inside its attestation window for two more slots. Expected results are worked out from
the rule book.
"""

from __future__ import annotations

from _rules_plugin import rules
from hypothesis import given
from hypothesis import strategies as st
from strategies import METER, accept_tx, around, row, send, village

from conformance_tests.scenario import Ledger, key_of
from spec.invariants import check_state
from spec.state import MAX_CORRECTIONS_PER_READING, Encumbrance, Role, Source
from spec.transactions import Kind
from spec.units import slot_end

pytest_plugins = ("_rules_plugin",)

ALICE, BOB = METER["alice"], METER["bob"]


def must(ledger: Ledger, sender: str, kind: Kind, body: object) -> Ledger:
    ledger.state = accept_tx(ledger.state, ledger.make(sender, kind, body))
    ledger.nonces[sender] = ledger.nonces.get(sender, 0) + 1
    return ledger


def reading(meter: int, slot: int, exported: int, imported: int = 0, enc: int = 0) -> dict:
    return {0: meter, 1: slot, 2: exported, 3: imported, 4: enc}


def attested(*readings: dict, base: Ledger | None = None) -> tuple[Ledger, int]:
    ledger = village() if base is None else base
    ended = ledger.slot - 1
    batch = [{**r, 1: ended} for r in readings]
    return must(ledger, "attestor", Kind.ATTEST, {0: batch}), ended


@rules("COR-06", "ATT-06", "INV-28")
def test_a_zero_reading_is_corrected_to_the_true_one() -> None:
    """The issue's case: a first reading of 0 Wh no longer blocks the true reading."""
    ledger, ended = attested(reading(ALICE, 0, 0))
    true = reading(ALICE, ended, 3000)
    send(ledger, "attestor", Kind.ATTEST, {0: [true]}, "ATT-06")
    must(ledger, "attestor", Kind.CORRECT_READING, true)
    assert row(ledger.state.readings, (ALICE, ended)) == (3000, 0, Encumbrance.NONE, 1)
    lot = ledger.state.lots[(ALICE, ended)]
    assert (lot.minted_wh, lot.unsold_wh, lot.reserved_wh) == (3000, 3000, 0)
    assert (1, ended) in ledger.state.markets  # MKT-01: the lot's market now exists
    must(ledger, "alice", Kind.PLACE_ASK, {0: ALICE, 1: ended, 2: 3000, 3: 2000})
    assert check_state(ledger.state) == []


@rules("COR-06", "INV-28", "INV-01")
@given(exported=around(3000, 0, 10_000), imported=around(500, 0, 10_000))
def test_a_correction_makes_the_state_of_the_corrected_reading(
    exported: int, imported: int
) -> None:
    """After a correction the reading, the lot and the demand are what attesting the corrected
    reading in the first place would have made (the correction count and market aside)."""
    batch = (reading(ALICE, 0, 3000, 500), reading(211, 0, 0, 300))
    first, ended = attested(*batch, base=two_meters())
    corrected = reading(ALICE, ended, exported, imported)
    if (exported, imported) == (3000, 500):
        send(first, "attestor", Kind.CORRECT_READING, corrected, "COR-04")
        return
    must(first, "attestor", Kind.CORRECT_READING, corrected)
    batch = (reading(ALICE, 0, exported, imported), reading(211, 0, 0, 300))
    direct, _ = attested(*batch, base=two_meters())
    assert first.state.lots == direct.state.lots
    assert first.state.demand == direct.state.demand
    assert first.state.readings[(ALICE, ended)].corrections == 1
    assert check_state(first.state) == []


def two_meters() -> Ledger:
    """Alice with a second meter (wind, 211) at her point: her import in zone 1 adds up."""
    ledger = village()
    body = {0: 211, 1: key_of("alice"), 2: key_of("attestor"), 3: 3, 4: int(Source.WIND)}
    body[5], body[6] = 10_000, 0
    return must(ledger, "operator", Kind.REGISTER_METER, body)


@rules("COR-06", "INV-28")
def test_a_correction_moves_demand_by_the_difference() -> None:
    ledger = two_meters()
    ended = ledger.slot - 1
    batch = [reading(ALICE, ended, 0, 400), reading(211, ended, 0, 300)]
    must(ledger, "attestor", Kind.ATTEST, {0: batch})
    must(ledger, "attestor", Kind.CORRECT_READING, reading(ALICE, ended, 0, 100))
    assert row(ledger.state.demand, (key_of("alice"), 1, ended)) == (400, 0)  # 100 + 300
    must(ledger, "attestor", Kind.CORRECT_READING, reading(211, ended, 0, 0))
    assert row(ledger.state.demand, (key_of("alice"), 1, ended)) == (100, 0)
    must(ledger, "attestor", Kind.CORRECT_READING, reading(ALICE, ended, 0, 0))
    assert (key_of("alice"), 1, ended) not in ledger.state.demand  # as ATT-09: no 0 Wh record
    assert check_state(ledger.state) == []


@rules("COR-01")
def test_only_an_attested_reading_is_corrected() -> None:
    ledger, ended = attested(reading(ALICE, 0, 100))
    send(ledger, "attestor", Kind.CORRECT_READING, reading(BOB, ended, 100), "COR-01")


@rules("COR-02")
def test_a_reading_is_corrected_at_most_max_times() -> None:
    ledger, ended = attested(reading(ALICE, 0, 100))
    for n in range(MAX_CORRECTIONS_PER_READING):
        must(ledger, "attestor", Kind.CORRECT_READING, reading(ALICE, ended, 200 + n))
    assert ledger.state.readings[(ALICE, ended)].corrections == MAX_CORRECTIONS_PER_READING
    send(ledger, "attestor", Kind.CORRECT_READING, reading(ALICE, ended, 50), "COR-02")


@rules("COR-03")
@given(cancel=st.booleans(), exported=st.sampled_from([0, 2500, 3000, 3500]))
def test_a_lot_once_offered_is_never_corrected(cancel: bool, exported: int) -> None:
    ledger, ended = attested(reading(ALICE, 0, 3000))
    must(ledger, "alice", Kind.PLACE_ASK, {0: ALICE, 1: ended, 2: 1000, 3: 2000})
    if cancel:
        must(ledger, "alice", Kind.CANCEL, {0: 1})
    send(ledger, "attestor", Kind.CORRECT_READING, reading(ALICE, ended, exported), "COR-03")


@rules("COR-04")
def test_a_correction_changes_something() -> None:
    ledger, ended = attested(reading(ALICE, 0, 3000, 20))
    send(ledger, "attestor", Kind.CORRECT_READING, reading(ALICE, ended, 3000, 20), "COR-04")


@rules("COR-05", "INV-25")
@given(imported=around(2000, 0, 2500))
def test_import_keeps_backing_the_open_bids(imported: int) -> None:
    ledger, ended = attested(reading(BOB, 0, 0, 2500))
    must(ledger, "bob", Kind.PLACE_BID, {0: 1, 1: ended, 2: 2000, 3: 2500})
    corrected = reading(BOB, ended, 0, imported)
    if imported < 2000:
        send(ledger, "attestor", Kind.CORRECT_READING, corrected, "COR-05")
    elif imported == 2500:
        send(ledger, "attestor", Kind.CORRECT_READING, corrected, "COR-04")
    else:
        must(ledger, "attestor", Kind.CORRECT_READING, corrected)
        assert check_state(ledger.state) == []


@rules("ATT-02", "ATT-03", "ATT-04", "ATT-05", "ATT-07", "ATT-11")
def test_a_correction_is_checked_as_an_attestation() -> None:
    ledger, ended = attested(reading(ALICE, 0, 3000))
    must(ledger, "operator", Kind.REGISTER_ACCOUNT, {0: key_of("attestor-2"), 1: Role.ATTESTOR})
    fix = reading(ALICE, ended, 2000)
    send(ledger, "attestor", Kind.CORRECT_READING, reading(999, ended, 1), "ATT-02")
    send(ledger, "attestor-2", Kind.CORRECT_READING, fix, "ATT-03")
    send(ledger, "attestor", Kind.CORRECT_READING, reading(ALICE, ended + 1, 1), "ATT-04")
    send(ledger, "attestor", Kind.CORRECT_READING, reading(ALICE, ended, 10_001), "ATT-07")
    send(ledger, "attestor", Kind.CORRECT_READING, reading(ALICE, ended, 1, enc=1), "ATT-11")
    window = ledger.state.params.attestation_window_s
    assert ledger.tick(slot_end(ended) + window) is None
    send(ledger, "attestor", Kind.CORRECT_READING, fix, "ATT-05")
